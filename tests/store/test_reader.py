"""Reads off the event loop (issue 18 item 1): the reader pool's deadline and cancel, and
clients served while a report runs on a large store."""

from __future__ import annotations

import os
import threading

import pytest
import trio

from bench.bigstore import make_store
from clients.python.client import connect
from gatewayd.app import App
from gatewayd.store.db import Store
from gatewayd.store.reader import ReadTimeout
from tests.conftest import Daemon, make_config

FOREVER = ("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c)"
           " SELECT COUNT(*) FROM c")  # never ends unless stopped
BIG_SALES = int(os.environ.get("GATEWAYD_TEST_BIG_SALES", "6000"))  # make soak: more


async def test_a_read_past_its_deadline_is_stopped(tmp_path):
    store = Store(tmp_path / "t.db")
    try:
        with pytest.raises(ReadTimeout, match="deadline"):
            await store.read(lambda snap: snap.one(FOREVER), deadline_s=0.2)
        assert store.readers.running == 0
        assert (await store.read(lambda snap: snap.one("SELECT 41 + 1")))[0] == 42
    finally:
        store.close()


async def test_a_cancelled_read_stops_its_query_and_gives_its_connection_back(tmp_path):
    store = Store(tmp_path / "t.db", read_deadline_s=3600)
    started = threading.Event()

    def forever(snap):
        started.set()
        return snap.one(FOREVER)

    try:
        with trio.move_on_after(30) as scope:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(store.read, forever)
                await trio.to_thread.run_sync(started.wait)
                nursery.cancel_scope.cancel()  # the caller goes away mid-query
            # the worker stops the query by itself and hands its connection back
            while not store.readers._idle:
                await trio.sleep(0.01)
        assert not scope.cancelled_caught, "the cancelled query kept running"
        assert store.readers.running == 0
    finally:
        store.close()


@pytest.fixture(scope="module")
def big_store(tmp_path_factory):
    path = tmp_path_factory.mktemp("big") / "gatewayd.db"
    make_store(path, BIG_SALES, per_day=300)
    return path


@pytest.fixture
async def big_daemon(big_store, tmp_path, nursery):
    app = App(make_config(tmp_path, store={"path": str(big_store)}))
    await nursery.start(app.run)
    yield Daemon(app)
    app.close()


async def test_clients_are_served_while_a_report_runs(big_daemon, monkeypatch):
    """The report over all of the big store's history is held on its reader thread until
    20 `system.info` calls of another client have been answered: were the report on the
    event loop, none of them could be, and the report would finish first."""
    from gatewayd import reports

    gate = threading.Event()
    real = reports.profit_report
    order: list[str] = []

    def held(*args, **kw):
        gate.wait(30)
        return real(*args, **kw)

    monkeypatch.setattr(reports, "profit_report", held)
    token = big_daemon.token("admin")
    async with connect(big_daemon.url, token) as manager, connect(big_daemon.url, token) as gw:
        async def report() -> None:
            table = await manager.call("report.profit", {"by": "item", "from": "2000-01-01"})
            order.append("report")
            assert table["totals"]["amount"] != 0  # the real report, over real sales

        async with trio.open_nursery() as nursery:
            nursery.start_soon(report)
            with trio.fail_after(30):  # the report is on a reader thread, not on the loop
                while big_daemon.app.store.readers.running == 0:
                    await trio.sleep(0.001)
            for _ in range(20):
                await gw.call("system.info")
                order.append("info")
            gate.set()
    assert order == ["info"] * 20 + ["report"]


async def test_a_report_of_all_history_on_the_big_store_is_right(big_daemon):
    """The big store's report over everything counts every generated sale."""
    async with connect(big_daemon.url, big_daemon.token("admin")) as gw:
        table = await gw.call("report.sales", {"by": "day", "from": "2000-01-01"})
    store = big_daemon.app.store
    n_sales = store.one("SELECT COUNT(*) FROM sales WHERE state='completed' AND kind='sale'")[0]
    assert table["totals"]["sales"] == n_sales and n_sales > BIG_SALES * 0.8
