"""Attack class: a configuration or a machine state that would crash the daemon at a bad
moment (issue 13 item 9). `config check` finds what `run` would crash on; `run` itself says
in one line what is wrong with the port or the data directory, never a traceback."""

from __future__ import annotations

import os
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

GATEWAYD = [sys.executable, "-m", "gatewayd"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def gatewayd(cfg: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*GATEWAYD, "--config", str(cfg), *args], capture_output=True,
                          text=True, timeout=60)


def config(tmp_path: Path, body: str, port: int | None = None, data: Path | None = None) -> Path:
    path = tmp_path / "gatewayd.toml"
    path.write_text(f'data_dir = "{data or tmp_path}"\n{body}\n'
                    f'[server]\nlisten = "127.0.0.1:{port or free_port()}"\n')
    return path


@pytest.mark.parametrize("body, key, words", [
    ('[till]\ntimezone = "Asia/Shangai"', "till.timezone", "unknown timezone"),
    ('[devices.scale]\nkind = "scale"\ndriver = "toledo9999"\ntransport = "serial:/dev/x"',
     "devices.scale", "unknown scale driver 'toledo9999'"),
    ('[devices.printer]\nkind = "printer"\ndriver = "escpos"\ntransport = "parallel:/dev/lp0"',
     "devices.printer", "transport"),
    ('[auth.require]\n"drawer.opne" = "supervisor"', "auth.require", "drawer.opne"),
])
def test_config_check_catches_what_run_would_crash_on(tmp_path, body, key, words):
    cfg = config(tmp_path, body)
    checked = gatewayd(cfg, "config", "check")
    assert checked.returncode == 78, checked
    assert key in checked.stderr and words in checked.stderr, checked.stderr
    run = gatewayd(cfg, "run")
    assert run.returncode == 78 and key in run.stderr and "Traceback" not in run.stderr


def test_a_port_in_use_is_one_clear_line(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        run = gatewayd(config(tmp_path, "", port=port), "run")
    assert run.returncode == 1, run
    assert "Traceback" not in run.stderr
    lines = [ln for ln in run.stderr.splitlines() if ln.startswith("gatewayd:")]
    assert len(lines) == 1 and f"127.0.0.1:{port}" in lines[0] and "in use" in lines[0], lines


@pytest.fixture
def open_dir():
    """A directory anyone may enter: the daemon may run as `nobody` below."""
    path = Path(tempfile.mkdtemp(prefix="gatewayd-datadir-"))
    path.chmod(0o755)
    yield path
    for sub in path.iterdir():
        if sub.is_dir():
            sub.chmod(0o755)
    shutil.rmtree(path)


@pytest.mark.parametrize("how", ["read_only", "unreadable", "a_file"])
def test_a_bad_data_directory_is_one_clear_line(open_dir, how):
    data = open_dir / "data"
    if how == "a_file":
        data.write_text("not a directory")
    else:
        data.mkdir()
        data.chmod(stat.S_IRUSR | stat.S_IXUSR | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH
                   | stat.S_IXOTH if how == "read_only" else 0)
    # root ignores permission bits: run the daemon as nobody when we are root
    user = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] \
        if os.geteuid() == 0 else []
    cfg = config(open_dir, "", data=data)
    cfg.chmod(0o644)
    run = subprocess.run([*user, *GATEWAYD, "--config", str(cfg), "run"], capture_output=True,
                         text=True, timeout=60, env={**os.environ, "HOME": str(open_dir)})
    assert run.returncode == 1, run
    assert "Traceback" not in run.stderr, run.stderr
    lines = [ln for ln in run.stderr.splitlines() if ln.startswith("gatewayd:")]
    assert len(lines) == 1 and str(data) in lines[0] and "data directory" in lines[0], run.stderr
