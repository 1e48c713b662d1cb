"""Every query of the sale path reads by index (issue 18): the statements the daemon really
runs for `sale.current`, the reprint of the last receipt, a catalog lookup, a member lookup
and an item's stock are traced off its connections and each one's `EXPLAIN QUERY PLAN` must
show no full scan of a table and no sort in a temporary b-tree. A plan that scans is what
turned `sale.current` into 370-544 ms at 1.6M sales."""

from __future__ import annotations

import re

import pytest

from clients.python.client import GatewayError, connect
from gatewayd.inventory.stock import set_threshold
from tests.conftest import open_shift

ITEMS = [{"sku": "1001", "name": "可口可乐 330ml", "price": 350, "barcodes": ["6901234567892"],
          "plu": "1001"},
         {"sku": "1002", "name": "农夫山泉 550ml", "price": 200}]


class Traced:
    """Collects the SQL run on the store's read and write connections and its reader
    threads' meanwhile."""

    def __init__(self, store):
        self.store = store
        self.sql: list[str] = []

    def _conns(self):
        return [self.store._r, self.store._w, *self.store.readers._idle]

    def __enter__(self) -> Traced:
        for conn in self._conns():
            conn.set_trace_callback(self.sql.append)
        readers = self.store.readers
        self._connect = readers._connect

        def connect(*args, **kw):  # a reader connection opened meanwhile is traced too
            conn = self._connect(*args, **kw)
            conn.set_trace_callback(self.sql.append)
            return conn

        readers._connect = connect
        return self

    def __exit__(self, *exc) -> None:
        self.store.readers._connect = self._connect
        for conn in self._conns():
            conn.set_trace_callback(None)

    def queries(self) -> list[str]:
        return [s for s in self.sql if s.lstrip().upper().startswith("SELECT")]


# tables of one row (the store's own state, made by its migration): a scan reads that row
ONE_ROW = {"totals_state"}


def bad_steps(store, sql: str) -> list[str]:
    """The plan's full scans and temp-b-tree sorts (a scan of a constant row, of a one-row
    table or of a subquery's own result is not a table scan)."""
    plan = [r[3] for r in store._r.execute("EXPLAIN QUERY PLAN " + sql).fetchall()]
    bad = []
    for step in plan:
        scan = re.match(r"SCAN (?!CONSTANT ROW)(\w+)", step)
        if scan and scan.group(1) not in ONE_ROW and " USING INTEGER PRIMARY KEY" \
                not in step and not step.startswith("SCAN (subquery"):
            bad.append(step)
        if "TEMP B-TREE" in step:
            bad.append(step)
    return bad


def assert_indexed(store, traced: Traced, what: str) -> None:
    queries = traced.queries()
    assert queries, f"{what}: no query was traced (the test would check nothing)"
    for sql in queries:
        assert not bad_steps(store, sql), f"{what}: {sql!r} -> {bad_steps(store, sql)}"


@pytest.fixture
async def till(daemon):
    daemon.operator("1001", "cashier", "1234")
    async with connect(daemon.url, daemon.token("admin")) as gw:
        await gw.call("catalog.upsert", {"items": ITEMS})
        await gw.call("auth.login", {"operator": "1001", "pin": "1234"})
        await open_shift(gw)
        for _ in range(3):  # some history, so that "the last" has something to choose from
            await gw.call("sale.add", {"sku": "1001"})
            await gw.call("sale.tender", {"method": "cash", "amount": 1000})
        gw.daemon = daemon
        yield gw


async def test_the_last_sale_and_the_last_receipt_are_indexed(till):
    store = till.daemon.app.store
    with Traced(store) as t:  # no open sale: the till's last finished one
        assert (await till.call("sale.current"))["state"] == "completed"
    assert_indexed(store, t, "sale.current (no open sale)")
    await till.call("sale.add", {"sku": "1002"})
    with Traced(store) as t:
        assert (await till.call("sale.current"))["state"] == "open"
    assert_indexed(store, t, "sale.current (open sale)")
    with Traced(store) as t:
        with pytest.raises(GatewayError):  # no printer here: after finding the last receipt
            await till.call("receipt.reprint", {})
    assert any("receipt_no IS NOT NULL" in q for q in t.queries())
    assert_indexed(store, t, "receipt.reprint (last receipt)")


async def test_catalog_member_and_stock_lookups_are_indexed(till):
    store = till.daemon.app.store
    for params in ({"barcode": "6901234567892"}, {"barcode": "1001"}):
        with Traced(store) as t:
            await till.call("catalog.lookup", params)
        assert_indexed(store, t, f"catalog.lookup {params}")
    member = await till.call("member.register", {"phone": "13812345678", "name": "王芳",
                                                 "card": "88001234"})
    for code in ("13812345678", "88001234", member["qr"]):
        with Traced(store) as t:
            await till.call("member.get", {"code": code})
        assert_indexed(store, t, f"member.get {code}")
    with Traced(store) as t:
        await till.call("stock.get", {"sku": "1001"})
    assert_indexed(store, t, "stock.get")


async def test_histories_that_grow_are_read_by_index(till):
    """member.history, stock.moves and stock.low read a page by index, whatever the
    history (and on a reader thread: the traced statements come from there too)."""
    store = till.daemon.app.store
    await till.call("member.register", {"phone": "13812345678", "name": "王芳"})
    await till.call("member.topup", {"code": "13812345678", "amount": 5000, "method": "cash"})
    store.write_sync(lambda tx: set_threshold(tx, "1001", 100000))  # a cashier may not
    for method, params in (("member.history", {"code": "13812345678"}),
                           ("stock.moves", {"sku": "1001"}), ("stock.low", {})):
        with Traced(store) as t:
            got = await till.call(method, params)
        if method == "stock.low":
            assert [i["sku"] for i in got["items"]] == ["1001"]
        assert_indexed(store, t, method)


async def test_a_refund_reads_by_index(till):
    """A refund reads the sale's earlier refund plans inside its write transaction."""
    store = till.daemon.app.store
    till.daemon.operator("9001", "manager", "9999")
    await till.call("auth.login", {"operator": "9001", "pin": "9999"})
    last = await till.call("sale.current")
    with Traced(store) as t:
        refund = await till.call("sale.refund", {"receipt_no": last["receipt_no"]})
    assert refund["state"] == "completed"
    assert any("FROM pending_refunds WHERE sale_id" in q for q in t.queries())
    assert_indexed(store, t, "sale.refund")


async def test_print_jobs_are_listed_by_index_newest_first_off_the_event_loop(till):
    """printer.jobs: each state's jobs by index, whatever the history of printed receipts,
    merged newest first across the states asked, on a reader thread."""
    store = till.daemon.app.store
    jobs = [(f"j{n}", printer, state, 1_000 + n)  # created in n's order
            for n, (printer, state) in enumerate(
                [("printer", "done")] * 40 + [("kitchen", "done")] * 5
                + [("printer", "held"), ("kitchen", "queued"), ("printer", "queued"),
                   ("printer", "cancelled"), ("printer", "printing"), ("kitchen", "held")])]
    store.write_sync(lambda tx: tx.executemany(
        "INSERT INTO print_jobs(id, printer, kind, ref, document, state, created_at, updated_at)"
        " VALUES (?, ?, 'receipt', NULL, x'90', ?, ?, ?)",
        [(job, printer, state, at, at) for job, printer, state, at in jobs]))
    newest = [j for j in reversed(jobs)]
    cases = [({}, [j[0] for j in newest if j[2] in ("queued", "printing", "held")]),
             ({"device": "printer"}, [j[0] for j in newest if j[1] == "printer"
                                      and j[2] in ("queued", "printing", "held")]),
             ({"state": "done", "limit": 3}, ["j44", "j43", "j42"]),
             ({"state": "done", "device": "printer", "limit": 2}, ["j39", "j38"]),
             ({"limit": 2}, ["j50", "j49"])]
    main = []  # what ran on the event loop's own connections
    for conn in (store._r, store._w):
        conn.set_trace_callback(main.append)
    try:
        for params, want in cases:
            with Traced(store) as t:
                got = (await till.call("printer.jobs", params))["jobs"]
            assert [j["job_id"] for j in got] == want, params
            assert_indexed(store, t, f"printer.jobs {params}")
            assert all("print_jobs_state" in " ".join(
                r[3] for r in store._r.execute("EXPLAIN QUERY PLAN " + q)) for q in t.queries()
                if "FROM print_jobs" in q), params
    finally:
        for conn in (store._r, store._w):
            conn.set_trace_callback(None)
    assert not [q for q in main if "FROM print_jobs" in q]  # all on reader threads


def test_the_checker_sees_a_scan(tmp_path):
    """The check above can fail: an unindexed filter and a sort are reported."""
    from gatewayd.store.db import Store

    store = Store(tmp_path / "t.db")
    try:
        assert bad_steps(store, "SELECT id FROM sales WHERE total > 5")
        assert bad_steps(store, "SELECT id FROM sales WHERE till='T01' ORDER BY total")
        assert not bad_steps(store, "SELECT id FROM sales WHERE id='x'")
    finally:
        store.close()


def test_retention_reads_by_index(tmp_path):
    """Retention's first run on a store of years walks 1.6M print jobs and 1.2M sales in
    batches: a batch that scans or sorts what is left (print_jobs by state, then sorted by
    rowid: 8 s a batch of 200 at 1.6M jobs) makes that run take hours."""
    import time
    from zoneinfo import ZoneInfo

    from bench.bigstore import make_store
    from gatewayd.store import retention
    from gatewayd.store.db import Store

    path = tmp_path / "gatewayd.db"
    make_store(path, 300, per_day=10)
    store = Store(path)
    try:
        policy = retention.Policy(keep_days=10, journal_days=7, print_days=7,
                                  return_window_days=5, max_store_bytes=1 << 40)
        with Traced(store) as traced:
            out = retention.run(store, tmp_path / "archive", policy,
                                ZoneInfo("Asia/Shanghai"), time.time_ns() // 1000,
                                acked_seq=store.journal_seq())
        assert out.sales and out.journal and out.print_jobs  # every batch kind ran
        assert_indexed(store, traced, "retention")
    finally:
        store.close()
