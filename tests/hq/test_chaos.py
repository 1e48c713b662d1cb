"""Tills and head office over a link that fails every way, with processes killed -9.

Real daemons as processes (`gatewayd run`, `gatewayd hq serve`), each till linked to HQ
through tests/hq/faultproxy.py, which drops connections, cuts them in the middle of a frame,
delays and partitions. Meanwhile tills and HQ are killed -9 at random and restarted, and
HQ's PostgreSQL is stopped hard (`pg_ctl stop -m immediate`, a crash as the database sees it)
and started again: a server of the test's own (tests/hq/pgserver.py), so nothing else that
uses the machine's server is disturbed. Where no server binaries are installed, the test
falls back to a database on the shared server and cuts HQ's connections to it instead, and
says so. Afterwards the
set of sales at HQ equals the union of the tills' sets, exactly, every event is stored once,
and every store-day at HQ is complete and equals the sum of its Z reports.

Size knob: GATEWAYD_SOAK_TILLS x GATEWAYD_SOAK_SALES (small here; `make soak` runs 20 x 500).
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import trio

from clients.python.client import ConnectionLost, GatewayError, connect
from gatewayd.hq import methods as hq_methods
from gatewayd.hq.db import HqStore, open_backend
from tests.conftest import open_shift
from tests.daemon.test_process import free_port
from tests.hq import pgserver
from tests.hq.conftest import ITEMS, PgDatabase, pg_server, require_pg

TILLS = int(os.environ.get("GATEWAYD_SOAK_TILLS", "3"))
SALES = int(os.environ.get("GATEWAYD_SOAK_SALES", "15"))
SEED = int(os.environ.get("GATEWAYD_SOAK_SEED", str(int(time.time()))))
GATEWAYD = [sys.executable, "-m", "gatewayd"]
LINK = ('[hq]\npoll_s = 0.02\nbackoff_min_s = 0.05\nbackoff_max_s = 1.0\nsave_ack_s = 0.2\n'
        'batch_events = 50\n')


def run(*args: str, stdin: str | None = None) -> str:
    out = subprocess.run([*GATEWAYD, *args], input=stdin, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, (args, out.stderr)
    return out.stdout


async def arun(*args: str, stdin: str | None = None) -> str:
    """`run` off the event loop: the proxy in this loop must keep serving meanwhile."""
    return await trio.to_thread.run_sync(lambda: run(*args, stdin=stdin))


def _tail(log: Path, lines: int = 40) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:]) if log.exists() else ""


class Proc:
    """A daemon process that can be killed -9 and started again the same way."""

    def __init__(self, argv: list[str], log: Path):
        self.argv, self.log = argv, log
        self.proc: subprocess.Popen | None = None
        self.kills = 0

    def start(self) -> None:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(self.argv, stdout=log, stderr=log)

    def kill9(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            self.kills += 1

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill9()


class Till:
    def __init__(self, root: Path, n: int, proxy_port: int):
        self.store_id = f"S{1 + n % 2:03d}"
        self.till_id = f"T{n:02d}"
        self.dir = root / f"till{n}"
        self.dir.mkdir()
        self.port = free_port()
        self.cfg = self.dir / "gatewayd.toml"
        self.cfg.write_text(
            f'data_dir = "{self.dir}"\n[till]\nstore = "{self.store_id}"\n'
            f'till = "{self.till_id}"\n[server]\nlisten = "127.0.0.1:{self.port}"\n{LINK}')
        self.proc = Proc([*GATEWAYD, "--config", str(self.cfg), "run"], self.dir / "log")
        self.hq_url = f"ws://127.0.0.1:{proxy_port}"
        self.token = ""
        self.sold = 0

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    async def setup(self, code: str) -> None:
        self.token = (await arun("--config", str(self.cfg), "token", "add", "soak", "--role",
                                 "admin")).strip()
        for op, role, pin in (("1001", "cashier", "1234"), ("9001", "manager", "9999")):
            await arun("--config", str(self.cfg), "operator", "add", op, "--name", op,
                       "--role", role, "--pin-stdin", stdin=pin + "\n")
        self.code = code

    def sales(self) -> set[str]:
        db = sqlite3.connect(f"file:{self.dir / 'gatewayd.db'}?mode=ro", uri=True)
        try:
            return {r[0] for r in db.execute(
                "SELECT id FROM sales WHERE state='completed' AND kind='sale'")}
        finally:
            db.close()

    def head(self) -> tuple[str, int]:
        db = sqlite3.connect(f"file:{self.dir / 'gatewayd.db'}?mode=ro", uri=True)
        try:
            epoch = db.execute("SELECT epoch FROM replication").fetchone()[0]
            return epoch, db.execute("SELECT MAX(seq) FROM journal").fetchone()[0]
        finally:
            db.close()


async def wait_port(port: int, timeout: float = 30) -> None:
    with trio.fail_after(timeout):
        while True:
            try:
                s = await trio.open_tcp_stream("127.0.0.1", port)
                await s.aclose()
                return
            except OSError:
                await trio.sleep(0.05)


async def sell_through_kills(till: Till, n: int) -> None:
    """Sell until the till's store holds `n` completed sales, whatever happens to it."""
    while len(till.sales()) < n:
        try:
            await wait_port(till.port)
            async with connect(till.url, till.token) as gw:
                await gw.call("auth.login", {"operator": "1001", "pin": "1234"})
                await open_shift(gw)
                while len(till.sales()) < n:
                    await gw.call("sale.add", {"sku": "1001", "qty": 1000})
                    await gw.call("sale.tender", {"method": "cash", "amount": 10000})
        except (ConnectionLost, GatewayError, OSError, trio.BrokenResourceError,
                trio.TooSlowError) as exc:
            if isinstance(exc, GatewayError) and exc.code not in ("conflict", "internal"):
                raise
            await trio.sleep(0.1)  # killed mid-sale: it comes back; the open sale goes on


async def close_day(till: Till) -> str:
    async with connect(till.url, till.token) as gw:
        await gw.call("auth.login", {"operator": "9001", "pin": "9999"})
        current = await gw.call("sale.current")
        if current.get("state") in ("open", "tendering") and current.get("lines"):
            await gw.call("sale.tender", {"method": "cash", "amount": 100000})
        shift = (await gw.call("shift.current"))["shift"]
        if shift is not None:  # a blind close: what was counted does not matter here
            await gw.call("shift.close", {"counted": shift["float"]})
        z = await gw.call("day.close", {})
        return z["day"]


@pytest.fixture(params=["sqlite", "postgresql"])
def chaos_db(request):
    """(dsn, server): (None, None) for SQLite; a private PostgreSQL server that the test may
    stop and start; or, with no server binaries here, a database on the shared server (whose
    connections the test cuts instead of restarting it) and None."""
    if request.param == "sqlite":
        yield None, None
        return
    why = pgserver.unavailable()
    if why is None:
        server = pgserver.PrivatePostgres()
        try:
            yield server.dsn, server
        finally:
            server.close()
        return
    require_pg()
    print(f"soak: {why}: HQ's database connections are cut instead of restarting it")
    db = PgDatabase()
    try:
        yield db.dsn, None
    finally:
        db.drop()


def kill_db_connections(dsn: str) -> None:
    import psycopg

    name = dsn.rsplit("/", 1)[1]
    with psycopg.connect(pg_server(), autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname=%s"
                     " AND pid <> pg_backend_pid()", (name,))


async def test_every_sale_once_through_cuts_kills_and_partitions(tmp_path, chaos_db, nursery):
    from tests.hq.faultproxy import FaultProxy

    hq_dsn, pg = chaos_db
    rng = random.Random(SEED)
    started = time.monotonic()
    print(f"soak: {TILLS} tills x {SALES} sales, seed {SEED}, "
          f"{'PostgreSQL' if hq_dsn else 'SQLite'}")
    hq_port = free_port()
    hq_data = tmp_path / "hq"
    db = ["--db", hq_dsn] if hq_dsn else []
    hq = Proc([*GATEWAYD, "hq", "serve", "--listen", f"127.0.0.1:{hq_port}",
               "--data", str(hq_data), *db], tmp_path / "hq.log")
    proxy = FaultProxy(hq_port)
    await nursery.start(proxy.run)
    tills = [Till(tmp_path, n, proxy.port) for n in range(1, TILLS + 1)]
    try:
        hq.start()
        await wait_port(hq_port)
        for t in tills:
            code = (await arun("hq", "--data", str(hq_data), *db, "till", "add", t.store_id,
                               t.till_id)).strip().splitlines()[-1]
            await t.setup(code)
            t.proc.start()
            await wait_port(t.port)
            async with connect(t.url, t.token) as gw:
                await gw.call("catalog.upsert", {"items": ITEMS})
            await arun("--config", str(t.cfg), "hq", "enroll", t.hq_url, code)

        db_kills: list[int] = []  # one per restart (or cut)

        async def strike(victim: str) -> None:
            with trio.CancelScope(shield=True):  # the end of the run waits for a restart
                await _strike(victim)

        async def _strike(victim: str) -> None:
            if victim == "hq":
                hq.kill9()
                await trio.sleep(rng.uniform(0, 0.5))
                hq.start()
            elif victim == "till":
                t = rng.choice(tills)
                t.proc.kill9()
                await trio.sleep(rng.uniform(0, 0.3))
                t.proc.start()
            elif pg is not None:  # the database crashes and comes back
                await trio.to_thread.run_sync(pg.stop, "immediate")
                await trio.sleep(rng.uniform(0, 1.0))
                await trio.to_thread.run_sync(pg.start)
                db_kills.append(1)
            elif hq_dsn:  # no server of our own: every connection of HQ's is cut
                await trio.to_thread.run_sync(kill_db_connections, hq_dsn)
                db_kills.append(1)

        first_round = trio.Event()

        async def chaos() -> None:
            async with trio.open_nursery() as n:
                n.start_soon(proxy.chaos, rng, 0.3, 1.0)
                # each kind of kill at least once, however small the run, then at random
                for victim in ("till", "hq", "db"):
                    await trio.sleep(rng.uniform(0.3, 1.0))
                    await strike(victim)
                proxy.cut_mid_frame()
                first_round.set()
                while True:
                    await trio.sleep(rng.uniform(0.3, 2.0))
                    await strike(rng.choice(["hq", "till", "till", "db"]))

        with trio.CancelScope() as chaos_scope:
            async with trio.open_nursery() as n:
                n.start_soon(chaos)
                async with trio.open_nursery() as sellers:
                    for t in tills:
                        sellers.start_soon(sell_through_kills, t, SALES)
                await first_round.wait()  # a small run may sell faster than that
                chaos_scope.cancel()
        proxy.heal()
        if hq.proc.poll() is not None:
            hq.start()
        for t in tills:
            if t.proc.proc.poll() is not None:
                t.proc.start()
        days = {}
        for t in tills:
            await wait_port(t.port)
            days[t.store_id] = await close_day(t)
        # every till catches up
        admin = HqStore(open_backend(hq_data, hq_dsn))
        try:
            row = None
            try:
                with trio.fail_after(120):
                    for t in tills:
                        epoch, head = t.head()
                        while True:
                            row = admin.read_sync(lambda tx, t=t, e=epoch: tx.one(
                                "SELECT acked_seq FROM till_epochs WHERE store=? AND till=?"
                                " AND epoch=?", (t.store_id, t.till_id, e)))
                            if row and row["acked_seq"] >= head:
                                break
                            await trio.sleep(0.1)
            except trio.TooSlowError:
                # say which till is behind and what it and head office last logged
                raise AssertionError(
                    f"{t.store_id}/{t.till_id} not caught up in 120 s: head office holds "
                    f"{row}, the till's head is {head}\n-- till log:\n{_tail(t.proc.log)}"
                    f"\n-- head office log:\n{_tail(hq.log)}") from None
            held = admin.read_sync(lambda tx: {r["sale_id"] for r in tx.all(
                "SELECT sale_id FROM sales WHERE kind='sale'")})
            union: set[str] = set()
            for t in tills:
                mine = t.sales()
                assert len(mine) >= SALES
                assert not (mine & union)
                union |= mine
            assert held == union  # exactly: nothing lost, nothing extra
            for t in tills:
                epoch, head = t.head()
                got = admin.read_sync(lambda tx, t=t, e=epoch: tx.one(
                    "SELECT COUNT(*) AS n, COUNT(DISTINCT seq) AS k, MIN(seq) AS lo,"
                    " MAX(seq) AS hi FROM events WHERE store=? AND till=? AND epoch=?",
                    (t.store_id, t.till_id, e)))
                assert got == {"n": head, "k": head, "lo": 1, "hi": head}
            for store, day in days.items():
                report = admin.read_sync(lambda tx, s=store, d=day: hq_methods.day(tx, s, d))
                assert report["complete"], report
                assert all(x["z_net"] == x["hq_net"] for x in report["tills"]), report
        finally:
            admin.close()
        events = sum(t.head()[1] for t in tills)
        restart = "restarts" if pg is not None or not hq_dsn else "connection cuts"
        print(f"soak: passed in {time.monotonic() - started:.0f} s: {len(union)} sales, "
              f"{events} events at HQ; link faults {proxy.faults}, hq kills {hq.kills}, "
              f"till kills {sum(t.proc.kills for t in tills)}, database {restart} "
              f"{len(db_kills)}")
    finally:
        for t in tills:
            t.proc.stop()
        hq.stop()
