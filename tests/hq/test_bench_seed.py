"""The chain-scale report benchmark's seed (bench/hqreports.py), tiny: what it writes straight
into HQ's tables is what the apply would hold — every aggregate equals the GROUP BY of the
sales, lines and stock moves it sums — and every report it times answers over it (both
backends). `make bench-hq-reports` runs it at the issue's size."""

from __future__ import annotations

from bench import hqreports
from gatewayd.hq import reports
from gatewayd.hq import stock as hq_stock
from tests.hq.test_projections import rows


async def test_the_seeded_chain_reports_exactly(hq):
    store = hq.app.store
    chain = hqreports.Chain(stores=3, days=45, lines=6000)
    made = hqreports.seed(store, chain, progress=lambda m: None)
    [n] = rows(hq, "SELECT COUNT(*) AS n FROM sale_lines")
    assert made == n["n"] >= 5000
    by_day = {(r["store"], r["day"], r["sku"]): (r["qty"], r["amount"], r["cost"])
              for r in rows(hq, "SELECT store, day, sku, qty, amount, cost FROM agg_items_day")}
    from_lines = {(r["store"], r["day"], r["sku"]): (r["qty"], r["amount"]) for r in rows(
        hq, "SELECT s.store, s.business_day AS day, l.sku, SUM(l.qty) AS qty,"
            " SUM(l.amount) AS amount FROM sale_lines l JOIN sales s ON s.store=l.store AND"
            " s.sale_id=l.sale_id GROUP BY s.store, s.business_day, l.sku")}
    assert {k: v[:2] for k, v in by_day.items()} == from_lines
    sums = {(r["store"], r["day"]): (r["sales"], r["refunds"], r["amount"], r["member_amount"])
            for r in rows(hq, "SELECT store, day, SUM(sales) AS sales, SUM(refunds) AS refunds,"
                              " SUM(amount) AS amount, SUM(member_amount) AS member_amount"
                              " FROM agg_sales GROUP BY store, day")}
    from_sales = {(r["store"], r["day"]): (r["sales"], r["refunds"], r["amount"], r["m"])
                  for r in rows(hq, "SELECT store, business_day AS day, SUM(CASE WHEN kind="
                                    "'sale' THEN 1 ELSE 0 END) AS sales, SUM(CASE WHEN kind="
                                    "'refund' THEN 1 ELSE 0 END) AS refunds, SUM(total) AS"
                                    " amount, SUM(CASE WHEN member IS NOT NULL THEN total ELSE"
                                    " 0 END) AS m FROM sales GROUP BY store, business_day")}
    assert sums == from_sales
    # stock: the on-hand is the sum of the moves; each sale and refund line moved its item
    on_hand = {(r["store"], r["sku"]): r["on_hand"]
               for r in rows(hq, "SELECT store, sku, on_hand FROM agg_stock")}
    moved = {(r["store"], r["sku"]): r["q"] for r in rows(
        hq, "SELECT store, sku, SUM(qty) AS q FROM stock_moves GROUP BY store, sku")}
    assert on_hand == moved and len(on_hand) == 3 * hqreports.SKUS
    [sold] = rows(hq, "SELECT COUNT(*) AS n, SUM(qty) AS q FROM stock_moves WHERE"
                      " kind='stock.sold'")
    [lines] = rows(hq, "SELECT SUM(qty) AS q FROM sale_lines")
    assert sold["n"] == made and sold["q"] == -lines["q"]
    kinds = {r["kind"] for r in rows(hq, "SELECT DISTINCT kind FROM stock_moves")}
    assert kinds == {"stock.counted", "stock.sold", "stock.received", "stock.transferred"}
    assert chain.stats["moves"] == rows(hq, "SELECT COUNT(*) AS n FROM stock_moves")[0]["n"]
    # transfers: every one seeded; the report lists the lines counted differently and those
    # still in transit, exactly as reading every transfer would
    kinds = {r["kind"]: r["n"] for r in rows(
        hq, "SELECT kind, COUNT(*) AS n FROM transfers GROUP BY kind")}
    assert set(kinds) == {"delivery", "purchase", "transfer"}
    assert sum(kinds.values()) == chain.stats["transfers"]
    first, last = chain.days[0].isoformat(), chain.days[-1].isoformat()
    table = store.read_sync(lambda tx: reports.transfer_differences(tx, first, last))
    every = store.read_sync(lambda tx: hq_stock.transfers(tx, limit=10 ** 6))
    expected = sorted((tr["no"], ln["sku"], ln["sent"], ln.get("received"))
                      for tr in every for ln in tr["lines"]
                      if tr["state"] != "received" or ln["difference"])
    assert sorted((r["no"], r["sku"], r["sent"], r["received"]) for r in table.rows) == expected
    assert sum(1 for r in table.rows if r["state"] == "received") == (
        chain.stats["differences"]) > 0
    measured = hqreports.measure(store, chain, hq.app.store.name, month_runs=2, year_runs=1)
    names = {r.name.split(".", 2)[2] for r in measured}
    assert {f"month_store.sales.{by}" for by in ("store", "item", "tender")} <= names
    assert "year_chain.members" in names and "items_vs_raw" in names
    assert all((r.value is not None and r.value > 0) or r.subject for r in measured)
    [check] = [r for r in measured if r.name.endswith("items_vs_raw")]
    assert check.note.endswith("equal"), check.note  # every item, however many


async def test_the_raw_check_compares_every_item_past_a_ranking_limit(hq):
    chain = hqreports.Chain(stores=1, days=31, lines=40000)  # > 1000 items sold in a month
    hqreports.seed(hq.app.store, chain, progress=lambda m: None)
    [n] = rows(hq, "SELECT COUNT(DISTINCT sku) AS n FROM agg_items_month")
    assert n["n"] > 1000
    import random

    row = hqreports._items_vs_raw(hq.app.store, chain, hq.app.store.name, random.Random(1))
    assert row.note.endswith("equal"), row.note


def test_a_received_transfer_differs_by_sku_whatever_the_order_of_its_lines():
    from protocol.codec import pack

    def row(sent, got):
        return {"no": "TRO-1", "kind": "transfer", "from_store": "S1", "to_store": "S2",
                "state": "received", "sent_at": 0, "received_no": "TRI-1",
                "received_till": "T01", "received_at": 1, "confirmations": 1,
                "lines": pack([{"sku": s, "qty": q} for s, q in sent]),
                "received": pack([{"sku": s, "qty": q} for s, q in got])}

    same_order = row([("B", 2000), ("A", 1000)], [("B", 1000), ("A", 1000)])
    assert reports._differing(same_order) == [
        {"sku": "B", "sent": 2000, "received": 1000, "difference": -1000}]
    # counted in another order, one item on two lines, one not counted at all
    other = row([("A", 1000), ("B", 2000), ("C", 1000)], [("B", 1000), ("A", 1000), ("B", 1000)])
    assert [(ln["sku"], ln["difference"]) for ln in reports._differing(other)] == [
        ("C", -1000)]
    extra = row([("A", 1000)], [("A", 1000), ("D", 500)])
    assert [(ln["sku"], ln["sent"], ln["received"]) for ln in reports._differing(extra)] == [
        ("D", 0, 500)]
