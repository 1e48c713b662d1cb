"""A till's journal reaches head office exactly once, on SQLite and on PostgreSQL: enrollment,
the replicator's status on the till, HQ's methods over gatewayd.v1, /healthz and /metrics."""

from __future__ import annotations

import json
import urllib.request

import trio

from clients.python.client import GatewayError, connect
from tests.hq.conftest import ITEMS, enroll_and_sell, enroll_till, sell, start_till


async def http_get(url: str) -> tuple[int, bytes]:
    return await trio.to_thread.run_sync(_get, url)


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


async def test_sales_reach_hq_once_with_lines_and_tenders(hq, tmp_path, nursery, posctl):
    d = await start_till(nursery, tmp_path / "till")
    assert d.app.replicator.status()["state"] == "disabled"
    await enroll_till(hq, d)
    async with connect(d.url, d.token("admin")) as gw:
        await gw.call("catalog.upsert", {"items": ITEMS})
        await gw.call("auth.login", {"operator": "1001", "pin": "1234"})
        sales = await sell(gw, 3)
        head = d.app.store.last_seq
        row = await hq.wait_acked("S001", "T01", head)
        assert row["online"] and row["lag_events"] == 0 and not row["revoked"]
        with trio.fail_after(5):
            while (health := await gw.call("system.health"))["replication"]["acked_seq"] < head:
                await trio.sleep(0.05)
        rep = health["replication"]
        assert rep["state"] == "online" and rep["lag_events"] == 0 and rep["lag_s"] == 0
        assert rep["head_seq"] >= head and rep["last_contact"] is not None
    r = await posctl("--url", d.url, "--token", d.token("viewer"), "info")
    assert r.rc == 0 and "head office" in r.out and "online, acked" in r.out, r.out
    async with connect(hq.url, hq.token("viewer")) as client:
        got = await client.call("hq.sales", {"store": "S001"})
        assert got["count"] == 3
        assert {s["receipt_no"] for s in got["sales"]} == {s["receipt_no"] for s in sales}
        one = await client.call("hq.sale.get", {"receipt_no": sales[0]["receipt_no"]})
        assert one["total"] == sales[0]["total"] == 350
        assert [(ln["sku"], ln["qty"]) for ln in one["lines"]] == [("1001", 1000)]
        assert one["tenders"] == [{"method": "cash", "amount": 10000}] or one["tenders"][0][
            "method"] == "cash"
        tills = (await client.call("hq.tills"))["tills"]
        assert [(t["store"], t["till"]) for t in tills] == [("S001", "T01")]
        assert tills[0]["acked_seq"] >= head
        try:
            await client.call("hq.till.add", {"store": "S9", "till": "T9"})
            raise AssertionError("a viewer added a till")
        except GatewayError as exc:
            assert exc.code == "forbidden"
    # every event once, nothing else
    head = d.app.store.last_seq
    await hq.wait_acked("S001", "T01", head)
    n = hq.app.store.read_sync(lambda tx: tx.one(
        "SELECT COUNT(*) AS n, MIN(seq) AS lo, MAX(seq) AS hi FROM events"))
    assert (n["n"], n["lo"], n["hi"]) == (head, 1, head)
    status, body = await http_get(hq.http + "/healthz")
    health = json.loads(body)
    assert status == 200 and health["store"]["ok"] and health["links"] == 1
    status, body = await http_get(hq.http + "/metrics")
    assert b"gatewayd_hq_events_applied_total" in body and b"gatewayd_hq_links 1" in body
    status, body = await http_get(d.http + "/metrics")
    assert b"gatewayd_replication_lag_events 0" in body
    assert b"gatewayd_replication_lag_seconds 0" in body


async def test_a_push_whose_rows_are_there_already_is_applied_not_wedged(hq, tmp_path, nursery,
                                                                          caplog):
    """The events above the acked seq are new by construction, so PostgreSQL loads them by
    COPY, which a row already there would fail. Rows put there by hand must not wedge the
    link: the push is applied again with ON CONFLICT, and acked."""
    from bench.hq import sale_events
    from protocol.codec import pack

    d = await start_till(nursery, tmp_path / "till")
    await enroll_and_sell(hq, d)

    def plant(tx) -> None:  # in the writer's transaction: nothing is applied meanwhile
        row = tx.one("SELECT epoch, acked_seq FROM till_epochs WHERE store='S001'")
        for seq in range(row["acked_seq"] + 1, row["acked_seq"] + 201):
            tx.execute("INSERT INTO events(store, till, epoch, seq, at, kind, data)"
                       " VALUES (?,?,?,?,?,?,?)",
                       ("S001", "T01", row["epoch"], seq, 0, "planted", pack({})))

    hq.app.store.write_sync(plant)
    # 20 sales in one transaction: one push, big enough to be loaded by COPY
    d.app.store.write_sync(lambda tx: [tx.append(e["kind"], e["data"])
                                       for e in sale_events(1, 0, 140)])
    await hq.wait_acked("S001", "T01", d.app.store.last_seq)
    async with connect(hq.url, hq.token("viewer")) as client:
        assert (await client.call("hq.sales", {"store": "S001"}))["count"] == 21
    if hq.app.store.name == "postgresql":
        assert "applied again with ON CONFLICT" in caplog.text


def test_a_sale_held_already_or_given_twice_in_a_push_counts_once(tmp_path, hq_dsn):
    """A push's sales go in with one statement that says which are new; only those get their
    lines and tenders and a share of the report sums: a sale head office holds under an
    earlier epoch counts once, and a sale given twice in one push has its lines once."""
    from bench.hq import sale_events
    from gatewayd.hq import ingest
    from gatewayd.hq.db import HqStore, open_backend
    from protocol import repl
    from protocol.codec import pack

    store = HqStore(open_backend(tmp_path / "hq", hq_dsn))
    code = store.write_sync(lambda tx: ingest.add_till(tx, "S001", "T01"))
    cred = store.write_sync(lambda tx: ingest.enroll(tx, repl.Enroll(
        code=code, store="S001", till="T01", epoch="e1")))

    def push(epoch: str, events: list[dict]) -> None:
        lk = store.write_sync(lambda tx: ingest.hello(tx, repl.Hello(
            store="S001", till="T01", epoch=epoch, credential=cred, head_seq=events[-1]["seq"])))
        _, frame = repl.take_push(epoch, [(e["seq"], e["at"], e["kind"], pack(e["data"]))
                                          for e in events], 1000, 1 << 30)
        p = repl.decode(frame, repl.Side.TILL)
        ack = store.write_sync(lambda tx: ingest.apply_push(tx, lk, p, frame))
        assert ack == repl.Ack(seq=events[-1]["seq"])

    def count(sql: str) -> int:
        return store.read_sync(lambda tx: tx.one(sql))["n"]

    try:
        a, b, c = (sale_events(1, 0, 7) for _ in range(3))  # a sale each: 3 lines, a tender
        push("e1", a)
        # under a new epoch: a again (held), b new
        push("e2", [{**e, "seq": i + 1} for i, e in enumerate([*a, *b])])
        assert count("SELECT COUNT(*) AS n FROM sales") == 2
        assert count("SELECT COUNT(*) AS n FROM sales WHERE epoch='e1'") == 1
        assert count("SELECT COUNT(*) AS n FROM sale_lines") == 6
        assert count("SELECT COUNT(*) AS n FROM sale_tenders") == 2
        sums = store.read_sync(lambda tx: tx.one(
            "SELECT SUM(sales) AS n, SUM(amount) AS amount FROM agg_sales"))
        assert (sums["n"], sums["amount"]) == (2, 2 * 1053)
        # c given twice in one push (the second completion saying other sums): its row,
        # lines and tenders once, the first's, and the report sums follow those rows
        again = [{**e, "data": {**e["data"], "total": 999, "lines": [
            {**ln, "net": 300} for ln in e["data"]["lines"]]}}
            if e["kind"] == "sale.completed" else e for e in c]
        push("e2", [{**e, "seq": 15 + i} for i, e in enumerate([*c, *again])])
        assert count("SELECT COUNT(*) AS n FROM sales") == 3
        assert count("SELECT COUNT(*) AS n FROM sale_lines") == 9
        assert count("SELECT COUNT(*) AS n FROM sale_tenders") == 3
        assert count("SELECT COUNT(*) AS n FROM events") == 7 + 14 + 14
        rows = store.read_sync(lambda tx: tx.one(
            "SELECT (SELECT SUM(total) FROM sales) AS total,"
            " (SELECT SUM(amount) FROM sale_lines) AS lines,"
            " (SELECT SUM(amount) FROM sale_tenders) AS paid"))
        sums = store.read_sync(lambda tx: tx.one(
            "SELECT (SELECT SUM(sales) FROM agg_sales) AS n,"
            " (SELECT SUM(amount) FROM agg_sales) AS total,"
            " (SELECT SUM(amount) FROM agg_items_day) AS lines,"
            " (SELECT SUM(lines) FROM agg_items_day) AS n_lines,"
            " (SELECT SUM(count) FROM agg_tenders) AS n_paid"))
        assert rows["total"] == 3 * 1053
        assert (sums["n"], sums["total"], sums["lines"], sums["n_lines"], sums["n_paid"]) == (
            3, rows["total"], rows["lines"], 9, 3)
    finally:
        store.close()
