"""Head office tests run twice: on embedded SQLite and on PostgreSQL, each PostgreSQL run in a
database of its own, created here and dropped afterwards.

The server is GATEWAYD_TEST_PG (a postgresql:// URL of a database we may CREATE DATABASE
from) or the machine's 127.0.0.1:5432 as user postgres. With no server the PostgreSQL half
is skipped and the summary says so loudly; GATEWAYD_REQUIRE_PG=1 (set by .ci/run) turns that
skip into a failure.
"""

from __future__ import annotations

import os
import uuid
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import trio

from clients.python.client import connect
from gatewayd import config as config_mod
from gatewayd.app import App
from gatewayd.hq import ingest
from gatewayd.hq.service import HqApp, Limits
from gatewayd.hq.tokens import add_token
from gatewayd.replication.enroll import enroll
from tests.cli.conftest import posctl  # noqa: F401  (the fixture, for `posctl info`)
from tests.conftest import Daemon, make_config, open_shift

PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_SKIP = "PostgreSQL half skipped"


def pg_server() -> str:
    return os.environ.get("GATEWAYD_TEST_PG", PG_DEFAULT)


@cache
def pg_unavailable() -> str | None:
    try:
        import psycopg

        with psycopg.connect(pg_server(), connect_timeout=3, autocommit=True) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:
        return f"{type(exc).__name__}: {str(exc).strip()[:200]}"
    return None


def with_database(dsn: str, name: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path="/" + name))


class PgDatabase:
    """A database of its own for one test, on the test server."""

    def __init__(self) -> None:
        import psycopg

        self.psycopg = psycopg
        self.name = f"gwtest_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(pg_server(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.name}"')
        self.dsn = with_database(pg_server(), self.name)

    def drop(self) -> None:
        with self.psycopg.connect(pg_server(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def require_pg() -> None:
    why = pg_unavailable()
    if why is None:
        return
    message = (f"{PG_SKIP}: no PostgreSQL at {pg_server()} ({why}); start one or set "
               f"GATEWAYD_TEST_PG=postgresql://USER@HOST:PORT/DB")
    if os.environ.get("GATEWAYD_REQUIRE_PG"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(params=["sqlite", "postgresql"])
def hq_dsn(request):
    """None for SQLite (hq.db in the data directory), else a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield None
        return
    require_pg()
    db = PgDatabase()
    try:
        yield db.dsn
    finally:
        db.drop()


class Hq:
    def __init__(self, app: HqApp):
        self.app = app

    @property
    def base(self) -> str:
        scheme = "wss" if self.app.tls else "ws"
        return f"{scheme}://127.0.0.1:{self.app.port}"

    @property
    def url(self) -> str:
        return self.base + "/ws"

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.app.port}"

    def add_till(self, store: str, till: str) -> str:
        return self.app.store.write_sync(lambda tx: ingest.add_till(tx, store, till))

    def token(self, role: str = "admin") -> str:
        return self.app.store.write_sync(lambda tx: add_token(tx, f"test-{role}", role))[1]

    async def tills(self) -> dict[tuple[str, str], dict]:
        from gatewayd.hq.methods import tills

        rows = await self.app.store.read(tills)
        return {(r["store"], r["till"]): r for r in rows}

    async def wait_acked(self, store: str, till: str, seq: int, timeout: float = 20) -> dict:
        with trio.fail_after(timeout):
            while True:
                row = (await self.tills()).get((store, till))
                if row and row["acked_seq"] >= seq:
                    return row
                await trio.sleep(0.05)


async def start_hq(nursery, data: Path, dsn: str | None, **kw) -> Hq:
    app = HqApp(data, dsn, listen="127.0.0.1:0", **kw)
    await nursery.start(app.run)
    return Hq(app)


@pytest.fixture
async def hq(tmp_path, hq_dsn, nursery):
    h = await start_hq(nursery, tmp_path / "hq", hq_dsn, limits=Limits(max_push_events=1000))
    yield h
    h.app.close()


FAST_LINK = {"poll_s": 0.02, "backoff_min_s": 0.05, "backoff_max_s": 0.5, "save_ack_s": 0.1}
ITEMS = [
    {"sku": "1001", "name": "可口可乐 330ml", "price": 350, "tax_rate_bp": 1300},
    {"sku": "1002", "name": "农夫山泉 550ml", "price": 199, "tax_rate_bp": 1300},
]


def till_config(path: Path, store: str = "S001", till: str = "T01", **hq_cfg):
    return make_config(path, till={"store": store, "till": till},
                       hq={**FAST_LINK, **hq_cfg})


async def start_till(nursery, path: Path, store: str = "S001", till: str = "T01",
                     **hq_cfg) -> Daemon:
    app = App(till_config(path, store, till, **hq_cfg))
    await nursery.start(app.run)
    d = Daemon(app)
    d.operator("1001", "cashier", "1234")
    d.operator("9001", "manager", "9999")
    return d


async def enroll_till(hq: Hq, d: Daemon, ca_file: str | None = None) -> None:
    cfg: config_mod.Config = d.app.config
    code = hq.add_till(cfg.till.store, cfg.till.till)
    await enroll(cfg, hq.base, code, ca_file)


async def sell(gw, n: int, sku: str = "1001") -> list[dict]:
    """`n` cash sales by the operator logged in on `gw`, in the till's shift (opened if none
    is)."""
    await open_shift(gw)
    out = []
    for _ in range(n):
        await gw.call("sale.add", {"sku": sku, "qty": 1000})
        sale = await gw.call("sale.tender", {"method": "cash", "amount": 10000})
        assert sale["state"] == "completed", sale
        out.append(sale)
    return out


async def enroll_and_sell(hq: Hq, d: Daemon, n: int = 1) -> list[dict]:
    """Enroll till `d` at `hq`, sell `n` (the ITEMS catalog, cashier 1001, who must exist,
    logged in; a shift opened) and wait until head office has acknowledged the whole
    journal: the setup of every test that needs a till with sales at head office."""
    await enroll_till(hq, d)
    async with connect(d.url, d.token("admin")) as gw:
        await gw.call("catalog.upsert", {"items": ITEMS})
        await gw.call("auth.login", {"operator": "1001", "pin": "1234"})
        sold = await sell(gw, n)
    till = d.app.config.till
    await hq.wait_acked(till.store, till.till, d.app.store.last_seq)
    return sold


def pytest_terminal_summary(terminalreporter):
    skipped = terminalreporter.stats.get("skipped", [])
    if any(PG_SKIP in str(getattr(r, "longrepr", "")) for r in skipped):
        bar = "!" * 78
        terminalreporter.write_line(bar, red=True, bold=True)
        terminalreporter.write_line(
            f"  {PG_SKIP}: the head-office tests ran on SQLite only.", red=True, bold=True)
        terminalreporter.write_line(
            "  Start PostgreSQL (trust auth on 127.0.0.1:5432) or set GATEWAYD_TEST_PG, then "
            "rerun: .venv/bin/python -m pytest tests/hq", red=True, bold=True)
        terminalreporter.write_line(bar, red=True, bold=True)
