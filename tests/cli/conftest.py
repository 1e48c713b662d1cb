"""posctl against a real in-process daemon: the blocking `main(argv)` runs in a worker thread
(its own trio.run) while the daemon runs in the test's trio loop."""

from __future__ import annotations

import socket
from dataclasses import dataclass

import pytest
import trio

from clients.cli.main import main
from gatewayd.app import App
from tests.conftest import Daemon, make_config


@dataclass
class Run:
    rc: int
    out: str
    err: str


@pytest.fixture
def posctl(capsys):
    async def run(*argv: str) -> Run:
        capsys.readouterr()  # drop whatever came before
        rc = await trio.to_thread.run_sync(main, list(argv))
        captured = capsys.readouterr()
        return Run(rc, captured.out, captured.err)

    return run


@pytest.fixture
async def till(tmp_path, nursery):
    """A daemon with an offline scale (its TCP port refuses): devices, state and errors."""
    devices = {
        "scale": {
            "kind": "scale",
            "driver": "toledo8217",
            "transport": f"tcp:127.0.0.1:{free_port()}",
        }
    }
    app = App(make_config(tmp_path, devices=devices))
    await nursery.start(app.run)
    yield Daemon(app)
    app.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(autouse=True)
def posctl_state(tmp_path, monkeypatch):
    """posctl's kept logins go to a directory of the test's own, never the developer's."""
    state = tmp_path / "posctl-state"
    monkeypatch.setenv("POSCTL_STATE_DIR", str(state))
    monkeypatch.delenv("POSCTL_PROFILE", raising=False)
    return state


@pytest.fixture
def stdin(monkeypatch):
    """Feed posctl's stdin (a PIN for `login --pin-stdin`)."""
    import io
    import sys

    def feed(text: str) -> None:
        monkeypatch.setattr(sys, "stdin", io.StringIO(text))

    return feed
