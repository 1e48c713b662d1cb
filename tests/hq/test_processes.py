"""Several `gatewayd hq serve` processes on one database (DESIGN §8): tills split between
two processes; one process killed -9 mid-stream and its tills moved to the other; every
event stored once, every sale once."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from urllib.parse import urlsplit, urlunsplit

import trio

from clients.python.client import connect
from gatewayd.hq import ingest
from gatewayd.hq.db import HqStore, open_backend
from gatewayd.replication import link
from gatewayd.replication.enroll import enroll
from tests.hq.conftest import ITEMS, PgDatabase, require_pg, sell, start_till
from tests.hq.faultproxy import FaultProxy
from tests.hq.test_link import http_get


class HqProcess:
    def __init__(self, data, dsn, stderr=subprocess.DEVNULL):
        cmd = [sys.executable, "-m", "gatewayd", "hq", "serve", "--listen", "127.0.0.1:0",
               "--data", str(data)]
        if dsn:
            cmd += ["--db", dsn]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=stderr, text=True)
        self.base = ""

    async def started(self) -> str:
        line = await trio.to_thread.run_sync(self.proc.stdout.readline)
        match = re.search(r"ws://127\.0\.0\.1:(\d+)", line)
        assert match, f"hq serve said {line!r}"
        self.base = f"ws://127.0.0.1:{match.group(1)}"
        return self.base

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()


async def test_two_processes_share_one_database_and_one_dies(tmp_path, hq_dsn, nursery):
    data = tmp_path / "hq"
    admin = HqStore(open_backend(data, hq_dsn))  # the admin commands' way in
    a, b = HqProcess(data, hq_dsn), HqProcess(data, hq_dsn)
    try:
        base_a, base_b = await a.started(), await b.started()
        tills = []
        for i, base in enumerate([base_a, base_a, base_b, base_b], 1):
            d = await start_till(nursery, tmp_path / f"t{i}", store=f"S00{1 + i % 2}",
                                 till=f"T0{i}")
            code = admin.write_sync(lambda tx, d=d: ingest.add_till(
                tx, d.app.config.till.store, d.app.config.till.till))
            await enroll(d.app.config, base, code, None)
            tills.append(d)

        async def sell_at(d, n):
            async with connect(d.url, d.token("admin")) as gw:
                await gw.call("catalog.upsert", {"items": ITEMS})
                await gw.call("auth.login", {"operator": "1001", "pin": "1234"})
                await sell(gw, n)

        async with trio.open_nursery() as n:
            for d in tills:
                n.start_soon(sell_at, d, 5)
        a.kill()  # mid-stream: its tills are probably not all acknowledged yet
        for d in tills[:2]:  # the load balancer sends them to the other process
            d.app.store.write_sync(lambda tx: tx.execute(
                "UPDATE replication SET url=? WHERE id=1", (base_b,)))
        async with trio.open_nursery() as n:
            for d in tills:
                n.start_soon(sell_at, d, 3)
        with trio.fail_after(60):
            for d in tills:
                key = (d.app.config.till.store, d.app.config.till.till)
                while True:
                    row = admin.read_sync(lambda tx, k=key: tx.one(
                        "SELECT MAX(acked_seq) AS a FROM till_epochs WHERE store=? AND till=?",
                        k))
                    if row["a"] is not None and row["a"] >= d.app.store.last_seq:
                        break
                    await trio.sleep(0.05)
        for d in tills:
            cfg = d.app.config.till
            epoch = link.read(d.app.store).epoch
            got = admin.read_sync(lambda tx, c=cfg, e=epoch: tx.one(
                "SELECT COUNT(*) AS n, COUNT(DISTINCT seq) AS k, MAX(seq) AS hi FROM events"
                " WHERE store=? AND till=? AND epoch=?", (c.store, c.till, e)))
            assert got["n"] == got["k"] == got["hi"]  # seqs 1..hi, each once
            sold = admin.read_sync(lambda tx, c=cfg: tx.one(
                "SELECT COUNT(*) AS n FROM sales WHERE store=? AND till=?", (c.store, c.till)))
            assert sold["n"] == 8
    finally:
        a.kill()
        b.kill()
        admin.close()


async def test_serve_waits_for_a_database_that_is_not_up_yet(tmp_path, nursery):
    """Head office and its database booting together: `hq serve` started while PostgreSQL
    refuses every connection keeps trying, says so in its log, and serves once the database
    answers (before, it exited at once and every till's link stayed down)."""
    require_pg()
    db = PgDatabase()
    proxy = FaultProxy(int(urlsplit(db.dsn).port or 5432))
    proxy.partitioned = True  # every connection to the database is closed at once
    await nursery.start(proxy.run)
    dsn = urlunsplit(urlsplit(db.dsn)._replace(netloc=f"postgres@127.0.0.1:{proxy.port}"))
    log = tmp_path / "hq.log"
    with log.open("w") as err:
        hq = HqProcess(tmp_path / "hq", dsn, stderr=err)
    try:
        with trio.fail_after(20):
            while "not reachable" not in log.read_text():
                assert hq.proc.poll() is None, log.read_text()
                await trio.sleep(0.1)
        await trio.sleep(1.0)  # a few more attempts, all refused
        assert hq.proc.poll() is None, log.read_text()
        assert log.read_text().count("not reachable") >= 2
        proxy.heal()
        with trio.fail_after(30):
            base = await hq.started()
        status, body = await http_get(base.replace("ws://", "http://") + "/healthz")
        assert status == 200 and json.loads(body)["store"]["ok"], body
    finally:
        hq.kill()
        db.drop()
