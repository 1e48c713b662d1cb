"""Head office's consolidated reports from a real till's events: every figure of
`hq.report.sales` (by store, day, week, month, hour, item, tender) equals what the sales and
their lines at HQ add up to, so the aggregates the apply keeps are exact; member analytics;
the export opened as a spreadsheet; and the live view of a till (`hq.tills`, `hq.till`)."""

from __future__ import annotations

import io
from decimal import Decimal

import trio
from openpyxl import load_workbook

from clients.python.client import connect
from gatewayd.hq import reports
from tests.conftest import open_shift, started
from tests.hq.conftest import ITEMS, enroll_till, sell, start_till, till_config
from tests.hq.test_projections import MANAGER, rows


async def test_reports_equal_the_sales_they_sum(hq, tmp_path, nursery):
    d = await start_till(nursery, tmp_path / "till")
    await enroll_till(hq, d)
    async with connect(d.url, d.token("admin")) as gw:
        await gw.call("catalog.upsert", {"items": ITEMS})
        await gw.call("auth.login", MANAGER)
        await open_shift(gw)
        await gw.call("stock.receive", {"lines": [{"sku": "1001", "qty": 10000, "cost": 200}]})
        await gw.call("stock.receive", {"lines": [{"sku": "1001", "qty": 10000, "cost": 301}]})
        await gw.call("member.register", {"phone": "13812345678", "name": "王芳"})
        await gw.call("sale.member", {"code": "13812345678"})
        await gw.call("sale.add", {"sku": "1001", "qty": 2000})
        member_sale = await gw.call("sale.tender", {"method": "cash", "amount": 1000})
        plain = await sell(gw, 2)
        await gw.call("sale.add", {"sku": "1002", "qty": 1000})
        await gw.call("sale.tender", {"method": "cash", "amount": 1000})
        await gw.call("sale.refund", {"receipt_no": plain[0]["receipt_no"]})
        await gw.call("sale.add", {"sku": "1002", "qty": 1000})  # left open at the till
    await hq.wait_acked("S001", "T01", d.app.store.last_seq)
    day = member_sale["business_day"]
    iso = f"{day[:4]}-{day[4:6]}-{day[6:]}"
    rng = {"from": iso, "to": iso}
    # what HQ holds, summed from the sales and their lines themselves
    [held] = rows(hq, "SELECT SUM(total) AS amount, SUM(CASE WHEN kind='sale' THEN 1 ELSE 0"
                      " END) AS sales, SUM(CASE WHEN member IS NOT NULL THEN total ELSE 0 END)"
                      " AS member_amount FROM sales WHERE business_day=?", (day,))
    assert held["amount"] == 2 * 350 + 2 * 350 + 199 - 350
    items = {r["sku"]: (r["qty"], r["amount"]) for r in rows(
        hq, "SELECT l.sku, SUM(l.qty) AS qty, SUM(l.amount) AS amount FROM sale_lines l JOIN"
            " sales s ON s.store=l.store AND s.sale_id=l.sale_id WHERE s.business_day=?"
            " GROUP BY l.sku", (day,))}
    async with connect(hq.url, hq.token("viewer")) as client:
        async def report(by, **kw):
            return await client.call("hq.report.sales", {"by": by, **rng, **kw})

        by_store = await report("store")
        [s1] = by_store["rows"]
        assert s1["store"] == "S001"
        assert (s1["sales"], s1["refunds"], s1["amount"]) == (4, 1, held["amount"])
        assert s1["avg_ticket"] == (held["amount"] * 2 + 4) // 8  # half-up of amount / 4
        # cost: 1001 at the moving average of both receipts, 2+2 sold less 1 back; 1002 none
        avg = (200 * 10 + 301 * 10 + 10) // 20
        assert s1["cost"] == 3 * avg and s1["uncosted"] == 199
        assert s1["member_sales"] == 1
        assert s1["member_share_bp"] == (held["member_amount"] * 10000 * 2 + 1249) // 2498
        for by in ("day", "week", "month", "hour"):
            got = await report(by)
            assert len(got["rows"]) == 1, by
            assert {k: got["rows"][0][k] for k in ("sales", "amount", "cost")} == {
                k: s1[k] for k in ("sales", "amount", "cost")}, by
        assert (await report("hour"))["totals"]["peak_hour"].endswith(":00")
        by_item = await report("item")
        assert {r["sku"]: (r["qty"], r["amount"]) for r in by_item["rows"]} == items
        assert [r["sku"] for r in by_item["rows"]] == ["1001", "1002"]  # ranked by amount
        tenders = await report("tender")
        assert [(r["method"], r["count"], r["amount"]) for r in tenders["rows"]] == [
            ("cash", 4, held["amount"])]
        assert (await report("store", store="S002"))["rows"] == []

        members = await client.call("hq.report.members", rng)
        [tier] = members["rows"]
        assert (tier["members"], tier["new"], tier["active"], tier["purchases"]) == (1, 1, 1, 1)
        assert tier["amount"] == member_sale["total"]

        xlsx = await client.call("hq.report.export", {
            "report": "sales", "params": {"by": "day", **rng, "store": "S001"},
            "format": "xlsx"})
        assert xlsx["name"] == f"hq_sales_by_day_S001_{iso}_{iso}.xlsx" and xlsx["rows"] == 1
        sheet = load_workbook(io.BytesIO(xlsx["data"])).active
        header = [c.value for c in sheet[2]]
        row = dict(zip(header, [c.value for c in sheet[3]], strict=True))
        assert row["日期 day"] == iso and row["客流 sales"] == 4
        assert Decimal(str(row["销售额 amount"])) == Decimal(held["amount"]).scaleb(-2)
        csv = await client.call("hq.report.export", {
            "report": "sales", "params": {"by": "tender", **rng}, "format": "csv"})
        text = csv["data"].decode("utf-8-sig").splitlines()
        assert text[0].startswith("支付方式 method") and text[1].startswith("cash,4,12.49")

        [till] = (await client.call("hq.tills"))["tills"]
        assert till["online"] and till["open_sale"] is not None


async def test_the_aggregates_are_the_sums_of_many_sales(hq, tmp_path, nursery):
    """Many pushes, sales of several items in several hours: each aggregate row equals the
    GROUP BY of the rows it sums (exactness, whatever the batching)."""
    d = await start_till(nursery, tmp_path / "till", batch_events=7)
    await enroll_till(hq, d)
    async with connect(d.url, d.token("admin")) as gw:
        await gw.call("catalog.upsert", {"items": ITEMS})
        await gw.call("auth.login", MANAGER)
        await open_shift(gw)
        for i in range(12):
            await gw.call("sale.add", {"sku": ITEMS[i % 2]["sku"], "qty": 1000 * (1 + i % 3)})
            await gw.call("sale.tender", {"method": "cash", "amount": 10000})
    await hq.wait_acked("S001", "T01", d.app.store.last_seq)
    day_sums = {(r["day"], r["sku"]): (r["qty"], r["amount"], r["lines"]) for r in rows(
        hq, "SELECT day, sku, qty, amount, lines FROM agg_items_day")}
    base = {(r["day"], r["sku"]): (r["qty"], r["amount"], r["lines"]) for r in rows(
        hq, "SELECT s.business_day AS day, l.sku, SUM(l.qty) AS qty, SUM(l.amount) AS amount,"
            " COUNT(*) AS lines FROM sale_lines l JOIN sales s ON s.store=l.store AND"
            " s.sale_id=l.sale_id GROUP BY s.business_day, l.sku")}
    assert day_sums == base
    month = {r["sku"]: (r["qty"], r["amount"]) for r in rows(
        hq, "SELECT sku, qty, amount FROM agg_items_month")}
    assert month == {sku: (q, a) for (_, sku), (q, a, _) in base.items()}
    chain = {r["sku"]: (r["qty"], r["amount"]) for r in rows(
        hq, "SELECT sku, qty, amount FROM agg_items_chain")}
    assert chain == month  # one store: the chain's months are its months
    [agg] = rows(hq, "SELECT SUM(sales) AS n, SUM(amount) AS a FROM agg_sales")
    [raw] = rows(hq, "SELECT COUNT(*) AS n, SUM(total) AS a FROM sales")
    assert (agg["n"], agg["a"]) == (raw["n"], raw["a"]) == (12, agg["a"])


async def test_the_live_view_follows_a_till_going_offline(hq, tmp_path, nursery):
    from gatewayd.app import App

    app = App(till_config(tmp_path / "till"))
    stop = await started(nursery, app)
    code = hq.add_till("S001", "T01")
    from gatewayd.replication.enroll import enroll

    await enroll(app.config, hq.base, code, None)
    async with connect(hq.url, hq.token("viewer")) as client:
        await client.subscribe(["hq.till"])
        with trio.fail_after(20):
            while True:
                ev = await client.next_event("hq.till", timeout=20)
                if ev["data"]["online"]:
                    break
        await stop()
        with trio.fail_after(20):
            while True:
                ev = await client.next_event("hq.till", timeout=20)
                if not ev["data"]["online"]:
                    break
        assert ev["data"]["store"] == "S001" and ev["data"]["till"] == "T01"
        [till] = (await client.call("hq.tills"))["tills"]
        assert till["online"] is False  # closed cleanly: offline at once, not after a minute


def test_whole_months_and_edge_days():
    import datetime as dt

    d = dt.date
    assert reports._months(d(2026, 1, 15), d(2026, 4, 10)) == (
        ["202602", "202603"], [(d(2026, 1, 15), d(2026, 1, 31)), (d(2026, 4, 1), d(2026, 4, 10))])
    assert reports._months(d(2026, 1, 1), d(2026, 12, 31)) == (
        [f"2026{m:02d}" for m in range(1, 13)], [])
    assert reports._months(d(2026, 3, 5), d(2026, 3, 9)) == ([], [(d(2026, 3, 5), d(2026, 3, 9))])
    assert reports._months(d(2026, 2, 1), d(2026, 2, 27)) == ([], [(d(2026, 2, 1), d(2026, 2, 27))])


async def test_head_office_serves_its_own_pages_at_the_root(hq):
    import urllib.request

    def get(address: str) -> str:
        with urllib.request.urlopen(hq.http + address) as answer:
            return answer.read().decode()

    page = await trio.to_thread.run_sync(get, "/")
    assert '<script type="module" src="/hq/boot.js"></script>' in page
    assert "export function LineChart" in await trio.to_thread.run_sync(
        get, "/lib/components/chart.js")


async def test_stock_turnover_transfer_differences_and_replenishment(hq, tmp_path, nursery):
    from tests.hq.test_store_stock import start

    a = await start(hq, nursery, tmp_path / "a", "S001", "T01")
    b = await start(hq, nursery, tmp_path / "b", "S002", "T01")
    async with connect(a.url, a.token("manager")) as gw:
        await gw.call("auth.login", MANAGER)
        await gw.call("stock.receive", {"lines": [{"sku": "1001", "qty": 20000, "cost": 200}]})
        sold = await sell(gw, 4)
        sent = await gw.call("stock.transfer", {"direction": "out", "peer": "S002", "lines": [
            {"sku": "1001", "qty": 10000}]})
    await hq.wait_acked("S001", "T01", a.app.store.last_seq)
    async with connect(b.url, b.token("manager")) as gw:
        await gw.call("auth.login", MANAGER)
        await gw.call("stock.transfer", {"direction": "in", "peer": "S001", "ref": sent["no"],
                                         "lines": [{"sku": "1001", "qty": 9000}]})
    await hq.wait_acked("S002", "T01", b.app.store.last_seq)
    day = sold[0]["business_day"]
    iso = f"{day[:4]}-{day[4:6]}-{day[6:]}"
    [moved] = rows(hq, "SELECT SUM(qty) AS q FROM stock_moves WHERE store='S001' AND sku='1001'")
    assert moved["q"] == 20000 - 4000 - 10000
    async with connect(hq.url, hq.token("viewer")) as client:
        chain = await client.call("hq.report.stock", {"from": iso, "to": iso})
        s1 = next(r for r in chain["rows"] if r["store"] == "S001")
        assert s1["value"] == 6 * 200 and s1["cogs"] == 4 * 200  # 6 on hand, 4 sold at ¥2
        assert s1["turnover"] == 4 * 100 // 6 + 1  # 0.67 (hundredths, half-up)
        items = await client.call("hq.report.stock", {"from": iso, "to": iso, "store": "S001"})
        [it] = [r for r in items["rows"] if r["sku"] == "1001"]
        assert (it["on_hand"], it["sold"], it["cover_days"]) == (6000, 4000, 150)  # 1.5 days

        diffs = await client.call("hq.report.transfers", {"from": iso, "to": iso})
        [line] = diffs["rows"]
        assert (line["no"], line["sent"], line["received"], line["difference"]) == (
            sent["no"], 10000, 9000, -1000)
        assert line["value"] is None  # S002 holds no cost for 1001 (it received, not bought)

        plan = await client.call("hq.report.replenish", {"store": "S001", "days": 1,
                                                         "cover_days": 3})
        [want] = plan["rows"]  # 4 a day, 3 days: 12 needed, 6 on hand
        assert (want["sku"], want["daily"], want["on_hand"], want["suggest"]) == (
            "1001", 4000, 6000, 6000)
        csv = await client.call("hq.report.export", {
            "report": "replenish", "params": {"store": "S001", "days": 1, "cover_days": 3},
            "format": "csv"})
        assert csv["data"].decode("utf-8-sig").splitlines()[1].startswith("1001,4.000,6.000")


async def test_an_item_never_received_costs_what_the_hq_catalog_says(hq, tmp_path, nursery):
    d = await start_till(nursery, tmp_path / "till")
    await enroll_till(hq, d)
    async with connect(hq.url, hq.token("admin")) as client:
        await client.call("hq.catalog.upsert", {"items": [
            {"sku": "1002", "name": "农夫山泉 550ml", "price": 199, "cost": 120,
             "tax_rate_bp": 1300, "category": "饮料"}]})
    async with connect(d.url, d.token("admin")) as gw:
        await gw.call("catalog.upsert", {"items": ITEMS[:1]})
        await gw.call("auth.login", MANAGER)
        with trio.fail_after(20):  # head office's item reaches the till
            while not (await gw.call("catalog.lookup", {"query": "1002"}))["items"]:
                await trio.sleep(0.1)
        await sell(gw, 2, sku="1002")
        await sell(gw, 1, sku="1001")
    await hq.wait_acked("S001", "T01", d.app.store.last_seq)
    [agg] = rows(hq, "SELECT SUM(cost) AS cost, SUM(uncosted) AS uncosted FROM agg_sales")
    assert (agg["cost"], agg["uncosted"]) == (2 * 120, 350)  # 1001: no receipt, no HQ cost
    # rankings carry what head office's catalog says: names, categories
    by_item = hq.app.store.read_sync(lambda tx: reports.sales(tx, "item"))
    assert [(r["sku"], r["name"]) for r in by_item.rows] == [("1002", "农夫山泉 550ml"),
                                                            ("1001", None)]
    by_cat = hq.app.store.read_sync(lambda tx: reports.sales(tx, "category"))
    assert [(r["category"], r["items"], r["amount"]) for r in by_cat.rows] == [
        ("饮料", 1, 2 * 199), ("-", 1, 350)]
