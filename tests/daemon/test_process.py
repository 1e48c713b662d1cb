"""The daemon as a process: sd_notify, SIGTERM closing clients with 1001, and the admin CLI."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import trio
from websockets.exceptions import ConnectionClosed
from websockets.trio.client import connect as ws_connect

from protocol.codec import pack, unpack
from protocol.version import SUBPROTOCOL

GATEWAYD = [sys.executable, "-m", "gatewayd"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_config(tmp_path: Path, port: int, extra: str = "") -> Path:
    cfg = tmp_path / "gatewayd.toml"
    cfg.write_text(f'data_dir = "{tmp_path}"\n[server]\nlisten = "127.0.0.1:{port}"\n{extra}')
    return cfg


def cli(cfg: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*GATEWAYD, "--config", str(cfg), *args], input=stdin,
                          capture_output=True, text=True, timeout=60)


def test_admin_cli_round_trip(tmp_path):
    cfg = write_config(tmp_path, free_port())
    assert "ok: till S001/T01" in cli(cfg, "config", "check").stdout
    added = cli(cfg, "token", "add", "backoffice", "--role", "manager")
    assert added.returncode == 0 and added.stdout.startswith("gw_")
    listed = cli(cfg, "token", "list").stdout
    assert "backoffice" in listed and "active" in listed and added.stdout.strip() not in listed
    assert cli(cfg, "token", "revoke", "backoffice").returncode == 0
    assert "revoked" in cli(cfg, "token", "list").stdout
    assert cli(cfg, "token", "revoke", "nobody").returncode == 1
    op = cli(cfg, "operator", "add", "1001", "--name", "Li", "--role", "cashier",
             "--pin-stdin", stdin="1234\n")
    assert op.returncode == 0, op.stderr
    bad = cli(cfg, "operator", "add", "1002", "--name", "X", "--role", "cashier",
              "--pin-stdin", stdin="12\n")
    assert bad.returncode == 1 and "4 to 12 digits" in bad.stderr
    assert "1001" in cli(cfg, "operator", "list").stdout
    tail = cli(cfg, "journal", "tail", "-n", "10").stdout
    assert "token.added" in tail and "operator.added" in tail and "1234" not in tail
    assert cli(cfg, "pair", "approve", "ZZZZZZ").returncode == 1


def test_config_errors_name_the_key(tmp_path):
    cfg = write_config(tmp_path, 8750, '[till]\nstore = "S1"\nbogus = 1\n[server.x]\n')
    out = cli(cfg, "config", "check")
    assert out.returncode == 78
    assert "till.bogus: Extra inputs are not permitted" in out.stderr
    cfg.write_text('[server]\nlisten = "nowhere"\n')
    out = cli(cfg, "config", "check")
    assert "server.listen" in out.stderr and "HOST:PORT" in out.stderr
    cfg.write_text("[server\n")
    assert "not valid TOML" in cli(cfg, "config", "check").stderr
    # the sale, member and inventory tables are checked too, and name their keys
    cfg.write_text('[sale]\ncash_rounding = "sometimes"\n[inventory]\nallow_negative = "x"\n'
                   '[members]\npoints_per_yuan = -1\n[[promotions]]\nkind = "qty_tier"\n')
    out = cli(cfg, "config", "check")
    assert out.returncode == 78
    for key in ("sale.cash_rounding", "inventory", "allow_negative", "points_per_yuan",
                "promotions[0]"):
        assert key in out.stderr, (key, out.stderr)
    # and the daemon refuses to start on them, with the same message, no traceback
    run = cli(cfg, "run")
    assert run.returncode == 78 and "sale.cash_rounding" in run.stderr
    assert "Traceback" not in run.stderr


def _notify_socket(tmp_path: Path) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(tmp_path / "notify"))
    sock.settimeout(20)
    return sock


async def test_sigterm_closes_clients_with_1001_after_ready(tmp_path):
    port = free_port()
    cfg = write_config(tmp_path, port)
    token = cli(cfg, "token", "add", "t", "--role", "admin").stdout.strip()
    notify = _notify_socket(tmp_path)
    env = {**os.environ, "NOTIFY_SOCKET": str(tmp_path / "notify")}
    proc = subprocess.Popen([*GATEWAYD, "--config", str(cfg), "run"], env=env,
                            stderr=subprocess.PIPE, text=True)
    try:
        ready = await trio.to_thread.run_sync(notify.recv, 100)
        assert ready == b"READY=1"
        # a second daemon on the same store is refused
        second = cli(cfg, "run")
        assert second.returncode == 1 and "in use" in second.stderr
        restore = cli(cfg, "restore", str(tmp_path / "gatewayd.db"))
        assert restore.returncode == 1 and "stop it first" in restore.stderr
        backup = cli(cfg, "backup", str(tmp_path / "backup.db"))
        assert backup.returncode == 0, backup.stderr
        async with ws_connect(f"ws://127.0.0.1:{port}/ws", subprotocols=[SUBPROTOCOL]) as ws:
            await ws.send(pack({"type": "hello", "token": token,
                                "client": {"name": "t", "kind": "t"}}))
            assert unpack(await ws.recv())["type"] == "welcome"
            proc.send_signal(signal.SIGTERM)
            assert await trio.to_thread.run_sync(notify.recv, 100) == b"STOPPING=1"
            with pytest.raises(ConnectionClosed) as closed:
                await ws.recv()
            assert closed.value.rcvd.code == 1001
        assert await trio.to_thread.run_sync(proc.wait, 20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    # stopped: restore now works and keeps the old store aside
    restored = cli(cfg, "restore", str(tmp_path / "backup.db"))
    assert restored.returncode == 0, restored.stderr
    assert list(tmp_path.glob("gatewayd.db.before-restore-*"))
