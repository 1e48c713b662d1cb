"""The chain-scale report benchmark's seed (bench/hqreports.py), tiny: what it writes straight
into HQ's tables is what the apply would hold — every aggregate equals the GROUP BY of the
sales and lines it sums — and every report it times answers over it (both backends).
`make bench-hq-reports` runs it at the issue's size."""

from __future__ import annotations

from bench import hqreports
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
