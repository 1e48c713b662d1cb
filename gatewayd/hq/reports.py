"""Head office's consolidated reports (`hq.report.*`), read from the aggregates the apply keeps
(gatewayd/hq/aggregates.py), never from the sale lines: a range costs O(store-days) for the
sales, tender and hour figures and O(store-months + edge store-days) for the item rankings.

Every report is a `gatewayd.reports.Table` (the till's report shape: the page charts it,
`hq.report.export` writes it as CSV or XLSX with the till's exporters). Ranges are business
days `from`..`to` inclusive (YYYY-MM-DD, default the last 7 days to today, chain time);
refunds count negative. Figures:
    sales       receipts (customer traffic); refunds: refund receipts
    amount      what customers paid, tax included, less refunds
    avg_ticket  amount / sales, half-up
    cost        the goods at HQ's moving-average cost; `uncosted` the amount of lines whose
                item had no cost at HQ yet (their cost is not in `cost`)
    profit      amount - tax - cost;  margin_bp = profit / (amount - tax)
    member_*    sales with a member attached, and their share of the amount
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from gatewayd.hq import stock as hq_stock
from gatewayd.hq.aggregates import CHAIN_TZ, unit_costs
from gatewayd.hq.db import HqTx
from gatewayd.reports import WEEKDAYS, ReportError, Table, day_range
from gatewayd.sales.money import div_round
from protocol.codec import unpack

LAPSED_DAYS = 90
SALES_BY = ("store", "day", "week", "month", "hour", "item", "category", "tender")
_SUMS = ("SUM(sales) AS sales, SUM(refunds) AS refunds, SUM(amount) AS amount,"
         " SUM(discount) AS discount, SUM(tax) AS tax, SUM(cost) AS cost,"
         " SUM(uncosted) AS uncosted, SUM(member_sales) AS member_sales,"
         " SUM(member_amount) AS member_amount")
FIGURES = [("sales", "客流 sales", "int"), ("refunds", "退货 refunds", "int"),
           ("amount", "销售额 amount", "money"), ("avg_ticket", "客单价 avg ticket", "money"),
           ("discount", "折扣 discount", "money"), ("cost", "成本 cost", "money"),
           ("profit", "毛利 profit", "money"), ("margin_bp", "毛利率 margin", "bp"),
           ("uncosted", "无成本 uncosted", "money"), ("member_sales", "会员单 member sales", "int"),
           ("member_share_bp", "会员占比 member share", "bp"), ("share_bp", "占比 share", "bp")]


def _bd(day: dt.date) -> str:
    return day.strftime("%Y%m%d")


def _share(part: int, whole: int) -> int:
    return div_round(part * 10_000, whole) if whole else 0


def _where(start: dt.date, end: dt.date, store: str | None,
           col: str = "day") -> tuple[str, list[Any]]:
    cond, args = f"{col} BETWEEN ? AND ?", [_bd(start), _bd(end)]
    if store is not None:
        cond += " AND store=?"
        args.append(store)
    return cond, args


def figures(r: dict[str, Any], whole: int) -> dict[str, Any]:
    """A bucket's sums -> its figures (every derived one computed here, once)."""
    out = {k: int(r.get(k) or 0) for k in ("sales", "refunds", "amount", "discount", "cost",
                                           "uncosted", "member_sales")}
    tax, member_amount = int(r.get("tax") or 0), int(r.get("member_amount") or 0)
    revenue = out["amount"] - tax
    out["avg_ticket"] = div_round(out["amount"], out["sales"]) if out["sales"] else 0
    out["profit"] = revenue - out["cost"]
    out["margin_bp"] = _share(out["profit"], revenue)
    out["member_share_bp"] = _share(member_amount, out["amount"])
    out["share_bp"] = _share(out["amount"], whole)
    return out


def _table(by: str, title: str, start: dt.date, end: dt.date) -> Table:
    return Table(f"hq_sales_by_{by}", title, [], day_from=start.isoformat(),
                 day_to=end.isoformat(), tz=str(CHAIN_TZ))


def sales(tx: HqTx, by: str, day_from: str | None = None, day_to: str | None = None,
          store: str | None = None, limit: int = 1000, today: dt.date | None = None) -> Table:
    if by not in SALES_BY:
        raise ReportError(f"unknown grouping {by!r}: one of {', '.join(SALES_BY)}")
    start, end = day_range(CHAIN_TZ, day_from, day_to, today)
    title = f"Sales by {by}" + (f" · {store}" if store else " · chain")
    t = _table(by, title, start, end)
    if by == "item":
        return _items(tx, t, start, end, store, limit)
    if by == "category":
        return _categories(tx, t, start, end, store, limit)
    if by == "tender":
        return _tenders(tx, t, start, end, store)
    cond, args = _where(start, end, store)
    whole = tx.one(f"SELECT {_SUMS} FROM agg_sales WHERE {cond}", args) or {}
    t.totals = figures(whole, int(whole.get("amount") or 0))
    total = t.totals["amount"]
    del t.totals["share_bp"]
    if by in ("store", "hour"):
        rows = tx.all(f"SELECT {by} AS k, {_SUMS} FROM agg_sales WHERE {cond} GROUP BY {by}"
                      f" ORDER BY {by}", args)
        out = [{by: r["k"] if by == "store" else f"{r['k']:02d}:00", **figures(r, total)}
               for r in rows]
        t.columns = [(by, "门店 store" if by == "store" else "时段 hour", "text"), *FIGURES]
        if by == "hour" and out:
            t.totals["peak_hour"] = max(out, key=lambda b: (b["amount"], b["sales"]))["hour"]
        t.rows = out[:limit]
        return t
    rows = tx.all(f"SELECT day AS k, {_SUMS} FROM agg_sales WHERE {cond} GROUP BY day"
                  f" ORDER BY day", args)
    if by == "day":
        t.rows = []
        for r in rows:
            day = dt.date(int(r["k"][:4]), int(r["k"][4:6]), int(r["k"][6:]))
            t.rows.append({"day": day.isoformat(), "weekday": WEEKDAYS[day.weekday()],
                           **figures(r, total)})
        t.columns = [("day", "日期 day", "text"), ("weekday", "周 weekday", "text"), *FIGURES]
    else:
        buckets: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for r in rows:
            day = dt.date(int(r["k"][:4]), int(r["k"][4:6]), int(r["k"][6:]))
            if by == "week":
                y, w, _ = day.isocalendar()
                key = f"{y}-W{w:02d}"
            else:
                key = day.strftime("%Y-%m")
            for k, v in r.items():
                if k != "k":
                    buckets[key][k] += int(v or 0)
        t.rows = [{by: k, **figures(v, total)} for k, v in sorted(buckets.items())]
        t.columns = [(by, "周 week" if by == "week" else "月 month", "text"), *FIGURES]
    t.rows = t.rows[:limit]
    return t


def _months(start: dt.date, end: dt.date) -> tuple[list[str], list[tuple[dt.date, dt.date]]]:
    """The whole months inside start..end, and the day ranges left at its edges."""
    months, edges = [], []
    first = start if start.day == 1 else (start.replace(day=1) + dt.timedelta(days=32)).replace(
        day=1)
    if first > end:
        return [], [(start, end)]
    if start < first:
        edges.append((start, first - dt.timedelta(days=1)))
    m = first
    while True:
        after = (m + dt.timedelta(days=32)).replace(day=1)
        if after - dt.timedelta(days=1) > end:
            break
        months.append(m.strftime("%Y%m"))
        m = after
    if m <= end:
        edges.append((m, end))
    return months, edges


def item_sums(tx: HqTx, start: dt.date, end: dt.date,
               store: str | None) -> dict[str, list[int]]:
    """sku -> [qty, amount, cost, lines] between start and end: whole months from the monthly
    sums (the chain's own for the chain), the days at the edges from the daily ones."""
    months, edges = _months(start, end)
    sums: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    parts: list[tuple[str, list[Any]]] = []
    if months:
        cond = f"month IN ({', '.join('?' * len(months))})"
        args: list[Any] = list(months)
        table = "agg_items_chain"  # the chain's months: every store summed already
        if store is not None:
            cond, args, table = cond + " AND store=?", [*args, store], "agg_items_month"
        parts.append((f"SELECT sku, SUM(qty) AS qty, SUM(amount) AS amount, SUM(cost) AS cost,"
                      f" SUM(lines) AS lines FROM {table} WHERE {cond} GROUP BY sku", args))
    for a, b in edges:
        cond, args = _where(a, b, store)
        parts.append((f"SELECT sku, SUM(qty) AS qty, SUM(amount) AS amount, SUM(cost) AS cost,"
                      f" SUM(lines) AS lines FROM agg_items_day WHERE {cond} GROUP BY sku", args))
    for sql, args in parts:
        for r in tx.all(sql, args):
            _add_item(sums[r["sku"]], r)
    return sums


def _catalog(tx: HqTx, skus: list[str] | None = None) -> dict[str, dict[str, Any]]:
    """Items as head office's catalog holds them (name, category), those asked or all."""
    sql = "SELECT key, data FROM master_current WHERE kind='item' AND scope=''"
    args: list[Any] = []
    if skus is not None:
        if not skus:
            return {}
        sql += f" AND key IN ({', '.join('?' * len(skus))})"
        args = skus
    return {r["key"]: unpack(bytes(r["data"])) for r in tx.all(sql, args)}


def _items(tx: HqTx, t: Table, start: dt.date, end: dt.date, store: str | None,
           limit: int) -> Table:
    sums = item_sums(tx, start, end, store)
    total = sum(v[1] for v in sums.values())
    ranked = sorted(sums.items(), key=lambda kv: (-kv[1][1], kv[0]))[:limit]
    names = _catalog(tx, [sku for sku, _ in ranked])
    t.rows = [{"rank": i, "sku": sku, "name": names.get(sku, {}).get("name"), "qty": qty,
               "amount": amount, "cost": cost, "profit": amount - cost, "lines": lines,
               "share_bp": _share(amount, total)}
              for i, (sku, (qty, amount, cost, lines)) in enumerate(ranked, 1)]
    t.totals = {"amount": total, "cost": sum(v[2] for v in sums.values()), "items": len(sums)}
    t.columns = [("rank", "#", "int"), ("sku", "商品 sku", "text"), ("name", "名称 name", "text"),
                 ("qty", "数量 qty", "qty"), ("amount", "销售额 amount", "money"),
                 ("cost", "成本 cost", "money"), ("profit", "毛利(含税) profit", "money"),
                 ("lines", "行 lines", "int"), ("share_bp", "占比 share", "bp")]
    t.title = "Top items" + t.title[len("Sales by item"):]
    return t


def _categories(tx: HqTx, t: Table, start: dt.date, end: dt.date, store: str | None,
                limit: int) -> Table:
    """Items summed by their category in head office's catalog ('-': not in it, or none)."""
    catalog = _catalog(tx)
    by: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    items: dict[str, int] = defaultdict(int)
    for sku, v in item_sums(tx, start, end, store).items():
        cat = catalog.get(sku, {}).get("category") or "-"
        for i in range(4):
            by[cat][i] += v[i]
        items[cat] += 1
    total = sum(v[1] for v in by.values())
    ranked = sorted(by.items(), key=lambda kv: (-kv[1][1], kv[0]))[:limit]
    t.rows = [{"rank": i, "category": cat, "items": items[cat], "amount": amount, "cost": cost,
               "profit": amount - cost, "lines": lines, "share_bp": _share(amount, total)}
              for i, (cat, (_, amount, cost, lines)) in enumerate(ranked, 1)]
    t.totals = {"amount": total, "cost": sum(v[2] for v in by.values())}
    t.columns = [("rank", "#", "int"), ("category", "品类 category", "text"),
                 ("items", "商品数 items", "int"), ("amount", "销售额 amount", "money"),
                 ("cost", "成本 cost", "money"), ("profit", "毛利(含税) profit", "money"),
                 ("lines", "行 lines", "int"), ("share_bp", "占比 share", "bp")]
    t.title = "Top categories" + t.title[len("Sales by category"):]
    return t


def _add_item(acc: list[int], r: dict[str, Any]) -> None:
    for i, k in enumerate(("qty", "amount", "cost", "lines")):
        acc[i] += int(r[k] or 0)


def _tenders(tx: HqTx, t: Table, start: dt.date, end: dt.date, store: str | None) -> Table:
    cond, args = _where(start, end, store)
    rows = tx.all(f"SELECT method, SUM(count) AS count, SUM(amount) AS amount FROM agg_tenders"
                  f" WHERE {cond} GROUP BY method", args)
    total = sum(int(r["amount"]) for r in rows)
    rows.sort(key=lambda r: (-int(r["amount"]), r["method"]))
    t.rows = [{"method": r["method"], "count": int(r["count"]), "amount": int(r["amount"]),
               "share_bp": _share(int(r["amount"]), total)} for r in rows]
    t.totals = {"amount": total}
    t.columns = [("method", "支付方式 method", "text"), ("count", "笔数 count", "int"),
                 ("amount", "金额 amount", "money"), ("share_bp", "占比 share", "bp")]
    t.title = "Payment mix" + t.title[len("Sales by tender"):]
    return t


def members(tx: HqTx, day_from: str | None = None, day_to: str | None = None,
            store: str | None = None, today: dt.date | None = None) -> Table:
    """Members by tier: registered (all time), new (registered in the range), active (bought
    in the months the range touches), lapsed (registered, no purchase in the last
    LAPSED_DAYS days before `to`); and what they bought in those months."""
    start, end = day_range(CHAIN_TZ, day_from, day_to, today)
    t = Table("hq_members", "Members" + (f" · {store}" if store else " · chain"), [],
              day_from=start.isoformat(), day_to=end.isoformat(), tz=str(CHAIN_TZ))
    where, args = ("WHERE m.store=?", [store]) if store else ("", [])
    tiers: dict[str, dict[str, int]] = defaultdict(
        lambda: dict.fromkeys(("members", "new", "active", "lapsed", "purchases", "amount"), 0))
    lapsed_before = _bd(end - dt.timedelta(days=LAPSED_DAYS))
    for r in tx.all(
            "SELECT tier, COUNT(*) AS members,"
            " SUM(CASE WHEN registered BETWEEN ? AND ? THEN 1 ELSE 0 END) AS new,"
            " SUM(CASE WHEN registered <= ? AND (last_day IS NULL OR last_day < ?) THEN 1"
            " ELSE 0 END) AS lapsed"
            f" FROM hq_members m {where} GROUP BY tier",
            [_bd(start), _bd(end), lapsed_before, lapsed_before, *args]):
        row = tiers[r["tier"]]
        row.update(members=int(r["members"]), new=int(r["new"]), lapsed=int(r["lapsed"]))
    first, last = start.strftime("%Y%m"), end.strftime("%Y%m")
    cond = "a.month BETWEEN ? AND ?" + (" AND a.store=?" if store else "")
    for r in tx.all(
            "SELECT COALESCE(m.tier, '-') AS tier, COUNT(DISTINCT a.member) AS active,"
            " SUM(a.purchases) AS purchases, SUM(a.amount) AS amount FROM agg_members_month a"
            f" LEFT JOIN hq_members m ON m.member=a.member WHERE {cond}"
            " GROUP BY COALESCE(m.tier, '-')", [first, last, *([store] if store else [])]):
        tiers[r["tier"]].update(active=int(r["active"]), purchases=int(r["purchases"]),
                                amount=int(r["amount"]))
    t.rows = [{"tier": k, **v} for k, v in sorted(tiers.items())]
    t.totals = {k: sum(r[k] for r in t.rows) for k in ("members", "new", "lapsed", "purchases",
                                                         "amount")}
    t.columns = [("tier", "等级 tier", "text"), ("members", "会员 members", "int"),
                 ("new", "新增 new", "int"), ("active", "活跃 active", "int"),
                 ("lapsed", "流失 lapsed", "int"), ("purchases", "消费笔数 purchases", "int"),
                 ("amount", "消费额 amount", "money")]
    return t


def export(table: Table, fmt: str) -> bytes:
    """The table as a CSV (UTF-8 with BOM) or XLSX file's bytes, by the till's exporters."""
    import tempfile
    from pathlib import Path

    from gatewayd.reports import export as write

    with tempfile.TemporaryDirectory(prefix="gatewayd-hq-export-") as tmp:
        path = Path(tmp) / f"report.{fmt}"
        write(table, path, fmt)
        return path.read_bytes()


def _ratio(part: int, whole: int) -> int | None:
    """part / whole in hundredths (the `ratio` column type), half-up; None without a whole."""
    return div_round(part * 100, whole) if whole > 0 else None


def stock(tx: HqTx, day_from: str | None = None, day_to: str | None = None,
          store: str | None = None, today: dt.date | None = None) -> Table:
    """Stock and turnover: by store (the chain), or by item (one store). Value is on-hand at
    HQ's moving-average cost; turnover = cost of goods sold in the range / stock value now;
    days of cover = on-hand / the range's average daily sales."""
    start, end = day_range(CHAIN_TZ, day_from, day_to, today)
    days = (end - start).days + 1
    t = Table("hq_stock", "Stock and turnover" + (f" · {store}" if store else " · chain"), [],
              day_from=start.isoformat(), day_to=end.isoformat(), tz=str(CHAIN_TZ))
    cond, args = ("WHERE s.store=?", [store]) if store else ("", [])
    levels = tx.all("SELECT s.store, s.sku, s.on_hand, c.cost FROM agg_stock s LEFT JOIN"
                    f" item_costs c ON c.store=s.store AND c.sku=s.sku {cond}", args)
    if store:
        sold = item_sums(tx, start, end, store)
        rows = []
        for r in levels:
            qty, _, cogs, _ = sold.get(r["sku"], (0, 0, 0, 0))
            value = div_round(r["on_hand"] * r["cost"], 1000) if r["cost"] is not None else None
            rows.append({"sku": r["sku"], "on_hand": int(r["on_hand"]), "value": value,
                         "sold": qty, "cogs": cogs,
                         "turnover": _ratio(cogs, value or 0),
                         "cover_days": _ratio(int(r["on_hand"]) * days, qty)})
        rows.sort(key=lambda x: (-(x["value"] or 0), x["sku"]))
        t.rows = rows
        t.columns = [("sku", "商品 sku", "text"), ("on_hand", "库存 on hand", "qty"),
                     ("value", "库存金额 value", "money"), ("sold", "销量 sold", "qty"),
                     ("cogs", "销售成本 cogs", "money"), ("turnover", "周转率 turnover", "ratio"),
                     ("cover_days", "可售天数 days of cover", "ratio")]
    else:
        by_store: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for r in levels:
            b = by_store[r["store"]]
            b["items"] += 1 if r["on_hand"] > 0 else 0
            if r["cost"] is None:
                b["uncosted"] += 1
            else:
                b["value"] += div_round(int(r["on_hand"]) * r["cost"], 1000)
        cond, args = _where(start, end, None)
        for r in tx.all(f"SELECT store, SUM(cost) AS cogs FROM agg_sales WHERE {cond}"
                        " GROUP BY store", args):
            by_store[r["store"]]["cogs"] += int(r["cogs"] or 0)
        t.rows = [{"store": s, "items": b["items"], "value": b["value"], "cogs": b["cogs"],
                   "turnover": _ratio(b["cogs"], b["value"]),
                   "cover_days": _ratio(b["value"] * days, b["cogs"]),
                   "uncosted": b["uncosted"]} for s, b in sorted(by_store.items())]
        t.columns = [("store", "门店 store", "text"), ("items", "有货商品 items", "int"),
                     ("value", "库存金额 value", "money"), ("cogs", "销售成本 cogs", "money"),
                     ("turnover", "周转率 turnover", "ratio"),
                     ("cover_days", "可售天数 days of cover", "ratio"),
                     ("uncosted", "无成本商品 uncosted items", "int")]
    t.totals = {"value": sum(r["value"] or 0 for r in t.rows),
                "cogs": sum(r["cogs"] for r in t.rows)}
    return t


def _differing(found: dict[str, Any]) -> list[dict[str, Any]]:
    """A transfer's lines the report shows: all of them while in transit; once received,
    those whose count differs from what was sent (by sku, as `hq.transfers` has them)."""
    if found["state"] != "received":
        return list(hq_stock.transfer_view(found)["lines"])
    if found.get("differing") is not None:  # kept by the apply when it matched the receipt
        return list(unpack(bytes(found["differing"])))
    sent, got = unpack(found["lines"]), unpack(found["received"])
    skus = [ln["sku"] for ln in sent]
    if skus == [ln["sku"] for ln in got] and len(set(skus)) == len(skus):
        # the same items in the same order (a till confirms the lines it was sent): compare
        # them pairwise, without the per-sku sums a year of deliveries would cost
        return sorted(({"sku": a["sku"], "sent": a["qty"], "received": b["qty"],
                        "difference": b["qty"] - a["qty"]}
                       for a, b in zip(sent, got, strict=True) if a["qty"] != b["qty"]),
                      key=lambda ln: ln["sku"])
    return [ln for ln in hq_stock.transfer_view(found)["lines"] if ln["difference"]]


def transfer_differences(tx: HqTx, day_from: str | None = None, day_to: str | None = None,
                         store: str | None = None, today: dt.date | None = None) -> Table:
    """Transfers and deliveries sent in the range (to or from `store`), one row per item:
    sent, received (once the receiving store confirmed), the difference and its value at the
    receiving store's cost; only the lines that differ, and those not yet received."""
    start, end = day_range(CHAIN_TZ, day_from, day_to, today)
    lo = int(dt.datetime.combine(start, dt.time(), CHAIN_TZ).timestamp() * 1_000_000)
    hi = int(dt.datetime.combine(end + dt.timedelta(days=1), dt.time(),
                                 CHAIN_TZ).timestamp() * 1_000_000)
    t = Table("hq_transfers", "Transfer differences" + (f" · {store}" if store else " · chain"),
              [], day_from=start.isoformat(), day_to=end.isoformat(), tz=str(CHAIN_TZ))
    rows = []
    # a transfer received with no line counted differently (`differing` is an empty list,
    # or, received before that column, the same packed bytes) is left out in SQL, and the
    # lines sent and received are read only for those received before it: a year of a
    # chain's deliveries is not read, let alone unpacked
    cond, args = ("(from_store=? OR to_store=?) AND ", [store, store]) if store else ("", [])
    shown = [(found, _differing(found)) for found in tx.all(
        "SELECT no, kind, from_store, to_store, sent_at, state, received_no, received_till,"
        " received_at, confirmations, differing, CASE WHEN differing IS NULL THEN lines END"
        " AS lines, CASE WHEN differing IS NULL THEN received END AS received FROM transfers"
        f" WHERE {cond}sent_at >= ? AND sent_at < ? AND (state <> 'received' OR (differing IS"
        " NULL AND received <> lines) OR length(differing) > 1) ORDER BY sent_at DESC",
        [*args, lo, hi])]
    wanted: dict[str, set[str]] = defaultdict(set)  # costs read once per receiving store
    for found, lines in shown:
        wanted[found["to_store"]].update(ln["sku"] for ln in lines)
    store_costs = {s: unit_costs(tx, s, skus) for s, skus in wanted.items()}
    for found, lines in shown:
        costs = store_costs[found["to_store"]]
        sent_at = dt.datetime.fromtimestamp(found["sent_at"] / 1e6, CHAIN_TZ)
        for ln in lines:
            diff = ln.get("difference")
            unit = costs.get(ln["sku"])
            rows.append({"no": found["no"], "kind": found["kind"],
                         "from_store": found["from_store"], "to_store": found["to_store"],
                         "state": found["state"], "sent_at": sent_at.strftime("%Y-%m-%d %H:%M"),
                         "sku": ln["sku"], "sent": ln["sent"], "received": ln.get("received"),
                         "difference": diff,
                         "value": div_round(diff * unit, 1000) if diff and unit is not None
                         else None})
    t.rows = rows
    t.totals = {"value": sum(r["value"] or 0 for r in rows),
                "in_transit": len({r["no"] for r in rows if r["state"] == "in_transit"})}
    t.columns = [("no", "单号 no", "text"), ("kind", "类型 kind", "text"),
                 ("from_store", "调出 from", "text"), ("to_store", "调入 to", "text"),
                 ("state", "状态 state", "text"), ("sent_at", "发出 sent", "text"),
                 ("sku", "商品 sku", "text"), ("sent", "发出数 sent", "qty"),
                 ("received", "实收数 received", "qty"), ("difference", "差异 difference", "qty"),
                 ("value", "差异金额 value", "money")]
    return t
