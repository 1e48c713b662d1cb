"""Shared fixtures: a real daemon in-process on an ephemeral port with a fresh store."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
import trio

from bench.harness import open_shift  # noqa: F401  (tests and benchmarks open shifts alike)
from gatewayd import auth
from gatewayd.app import App
from gatewayd.config import Config

# Every use of the sale service's in-memory open sale is compared with a fresh read of the
# store, in-process and in the daemons the tests start (they inherit the environment).
os.environ["GATEWAYD_CHECK_SALE_CACHE"] = "1"
# Every event appended to a journal, in-process and in those daemons, is validated against its
# kind's model in protocol/journal.py (the replication schema) before it is stored.
os.environ["GATEWAYD_CHECK_JOURNAL"] = "1"
# Every answer to a call is checked against its method's result model in protocol/methods
# (an answer off the contract becomes an `internal` error, which fails the test).
os.environ["GATEWAYD_CHECK_RESULTS"] = "1"
# A command run without a data_dir uses the per-user default (XDG_DATA_HOME): never the real
# user's, which another checkout may have migrated to a schema this one does not know.
os.environ["XDG_DATA_HOME"] = tempfile.mkdtemp(prefix="gatewayd-test-xdg-")


def make_config(tmp_path: Path, **extra) -> Config:
    data = {"server": {"listen": "127.0.0.1:0"}, "data_dir": str(tmp_path)}
    for key, value in extra.items():
        data[key] = value
    return Config.model_validate(data)


class Daemon:
    def __init__(self, app: App):
        self.app = app

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.app.port}/ws"

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.app.port}"

    def token(self, role: str = "admin", name: str | None = None) -> str:
        (_, token), _ = self.app.store.write_sync(
            lambda tx: auth.add_token(tx, name or f"test-{role}", role)
        )
        return token

    def operator(self, op_id: str, role: str, pin: str = "1234", name: str = "Test") -> None:
        self.app.store.write_sync(lambda tx: auth.add_operator(tx, op_id, name, role, pin))


@pytest.fixture
async def daemon(tmp_path, nursery):
    app = App(make_config(tmp_path))
    await nursery.start(app.run)
    yield Daemon(app)
    app.close()


@pytest.fixture
def run_trio():
    return trio.run


@pytest.fixture
async def demo(tmp_path, nursery):
    """`gatewayd demo` in-process: simulators on ptys, real serial transports and drivers."""
    from gatewayd import demo as demo_mod

    cfg = demo_mod.prepare(tmp_path / "demo", "127.0.0.1:0")
    app = App(cfg, demo=True)
    stop = await started(nursery, app)
    d = Daemon(app)
    d.admin = demo_mod.read_token(cfg.data_dir)
    with trio.fail_after(10):
        while any(dev["state"] != "online" for dev in app.devices.list()):
            await trio.sleep(0.05)
    yield d
    await stop()


async def started(nursery, app: App):
    """Start `app.run` in `nursery`; the returned `stop()` cancels it, waits until every task
    of the app has ended, and only then closes the store (a device going offline at the end
    wakes the print queue, which must not meet a closed store)."""
    scope = trio.CancelScope()
    ended = trio.Event()

    async def run(task_status=trio.TASK_STATUS_IGNORED):
        try:
            with scope:
                await app.run(task_status=task_status)
        finally:
            ended.set()

    await nursery.start(run)

    async def stop() -> None:
        scope.cancel()
        await ended.wait()
        app.close()

    return stop
