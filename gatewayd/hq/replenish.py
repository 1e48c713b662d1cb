"""Replenishment (自动补货) at head office (issue 15): per store and item, a suggested order
from the sales rate, the store's on-hand, what is in transit to it, and the item's rule; a
suggestion becomes a purchase order the store receives against.

    rate       units sold per day over the last `window_days` business days to today, chain
               time (sales less refunds, from head office's item aggregates)
    position   on_hand + in_transit (transfers, deliveries and open purchase orders to the
               store)
    rule       per store and item, or for every store (`store = "*"`); with `default_cover`
               (the `hq.report.replenish` view), an item sold in the window without a rule
               is taken as `days_of_cover = default_cover`:
                 min/max         position <= min: order up to max
                 days_of_cover   position < rate x (days_of_cover + the supplier's lead
                                 time): order up to that
    suggested  rounded up to the supplier's pack (`pack_qty`; no supplier: whole units),
               never below 0

`hq.replenish.suggest` and the report `hq.report.replenish` (`report`, a Table the HQ page
charts and exports) are both this one computation.

A purchase order is a `transfers` row of kind `purchase` from the supplier to the store, so
the store sees it with its pending receipts (`stock.incoming`) and receives it with
`stock.receive {supplier, ref: the order's no, lines}`; head office matches what was received
(`hq.transfers`), and the order counts as in transit until then.
"""

from __future__ import annotations

import datetime as dt
import math
import secrets
from collections import defaultdict
from typing import Any

from gatewayd.hq import stock
from gatewayd.hq.aggregates import CHAIN_TZ
from gatewayd.hq.db import HqTx, now_us
from gatewayd.hq.reports import item_sums
from gatewayd.reports import Table
from gatewayd.sales.money import div_round
from protocol.codec import pack

WHOLE_UNITS = 1000  # the pack of an item no supplier supplies (one piece, or one kg)


class ReplenishError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


# -- suppliers and rules --------------------------------------------------------------------------
def upsert_suppliers(tx: HqTx, suppliers: list[dict[str, Any]]) -> int:
    now = now_us()
    for s in suppliers:
        tx.execute(
            "INSERT INTO suppliers(id, name, contact, lead_time_days, updated_at)"
            " VALUES (?,?,?,?,?) ON CONFLICT (id) DO UPDATE SET name=excluded.name,"
            " contact=excluded.contact, lead_time_days=excluded.lead_time_days,"
            " updated_at=excluded.updated_at",
            (s["id"], s["name"], s.get("contact"), s["lead_time_days"], now))
        if s.get("items") is not None:  # the supplier's items, as given: all of them
            tx.execute("DELETE FROM supplier_items WHERE supplier=?", (s["id"],))
            tx.executemany(
                "INSERT INTO supplier_items(supplier, sku, cost, pack_qty) VALUES (?,?,?,?)",
                [(s["id"], i["sku"], i.get("cost"), i.get("pack_qty", 1000))
                 for i in s["items"]])
    return len(suppliers)


def suppliers(tx: HqTx) -> list[dict[str, Any]]:
    items: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in tx.all("SELECT supplier, sku, cost, pack_qty FROM supplier_items ORDER BY sku"):
        items[r["supplier"]].append({"sku": r["sku"], "cost": r["cost"],
                                     "pack_qty": r["pack_qty"]})
    return [{"id": r["id"], "name": r["name"], "contact": r["contact"],
             "lead_time_days": r["lead_time_days"], "items": items.get(r["id"], [])}
            for r in tx.all("SELECT * FROM suppliers ORDER BY id")]


def set_rules(tx: HqTx, rules: list[dict[str, Any]]) -> int:
    for r in rules:
        if r.get("min") is None and r.get("max") is None and r.get("days_of_cover") is None:
            tx.execute("DELETE FROM replenish_rules WHERE store=? AND sku=?",
                       (r["store"], r["sku"]))
            continue
        tx.execute(
            "INSERT INTO replenish_rules(store, sku, min_qty, max_qty, days_of_cover)"
            " VALUES (?,?,?,?,?) ON CONFLICT (store, sku) DO UPDATE SET"
            " min_qty=excluded.min_qty, max_qty=excluded.max_qty,"
            " days_of_cover=excluded.days_of_cover",
            (r["store"], r["sku"], r.get("min"), r.get("max"), r.get("days_of_cover")))
    return len(rules)


# -- suggestions ----------------------------------------------------------------------------------
def _supply(tx: HqTx) -> dict[str, dict[str, Any]]:
    """Per sku the supplier to order from: the one with the shortest lead time."""
    out: dict[str, dict[str, Any]] = {}
    for r in tx.all("SELECT i.sku, i.supplier, i.cost, i.pack_qty, s.lead_time_days"
                    " FROM supplier_items i JOIN suppliers s ON s.id=i.supplier"
                    " ORDER BY s.lead_time_days DESC, i.supplier DESC"):
        out[r["sku"]] = dict(r)
    return out


def order_qty(position: int, rate: float, rule: dict[str, Any], lead_days: int,
              pack: int) -> tuple[int, str]:
    """(qty to order, why) for one item: pure, in the item's qty units."""
    if rule["min_qty"] is not None and rule["max_qty"] is not None:
        if position > rule["min_qty"]:
            return 0, f"position {position} above min {rule['min_qty']}"
        want, why = rule["max_qty"] - position, f"at or below min {rule['min_qty']}: up to " \
                                                 f"max {rule['max_qty']}"
    elif rule["days_of_cover"] is not None:
        target = math.ceil(rate * (rule["days_of_cover"] + lead_days))
        if position >= target:
            return 0, f"covers {rule['days_of_cover']}+{lead_days} days"
        want, why = target - position, (f"{rule['days_of_cover']} days of cover + {lead_days} "
                                        f"days lead time at {rate:.0f}/day: {target}")
    else:
        return 0, "no rule"
    pack = max(1, pack)
    return math.ceil(want / pack) * pack, why


def suggest(tx: HqTx, store: str, window_days: int, default_cover: int | None = None,
            today: dt.date | None = None) -> list[dict[str, Any]]:
    """Per item with a rule (and, with `default_cover`, per item sold in the window), the
    store's position, rate and suggested order, sorted by sku."""
    rules: dict[str, dict[str, Any]] = {}
    for r in tx.all("SELECT * FROM replenish_rules WHERE store IN ('*', ?)"
                    " ORDER BY CASE WHEN store='*' THEN 0 ELSE 1 END", (store,)):
        rules[r["sku"]] = r  # the store's own rule wins over the chain's
    if not rules and default_cover is None:
        return []
    end = today or dt.datetime.now(CHAIN_TZ).date()
    sold = {sku: max(0, sums[0]) for sku, sums in item_sums(
        tx, end - dt.timedelta(days=window_days - 1), end, store).items()}
    if default_cover is not None:
        for sku, qty in sold.items():
            if qty > 0 and sku not in rules:
                rules[sku] = {"min_qty": None, "max_qty": None, "days_of_cover": default_cover}
    skus = sorted(rules)
    marks = ",".join("?" * len(skus))
    on_hand = {r["sku"]: int(r["on_hand"]) for r in tx.all(
        f"SELECT sku, on_hand FROM agg_stock WHERE store=? AND sku IN ({marks})",
        (store, *skus))} if skus else {}
    transit = stock.in_transit(tx, store)
    supply = _supply(tx)
    out = []
    for sku in skus:
        src = supply.get(sku)
        lead = src["lead_time_days"] if src else 0
        rate = sold.get(sku, 0) / window_days
        position = on_hand.get(sku, 0) + transit.get(sku, 0)
        qty, why = order_qty(position, rate, rules[sku], lead,
                             src["pack_qty"] if src else WHOLE_UNITS)
        out.append({"sku": sku, "on_hand": on_hand.get(sku, 0),
                    "in_transit": transit.get(sku, 0), "sold": sold.get(sku, 0),
                    "rate_per_day": round(rate, 3),
                    "min": rules[sku]["min_qty"], "max": rules[sku]["max_qty"],
                    "days_of_cover": rules[sku]["days_of_cover"],
                    "supplier": src["supplier"] if src else None, "lead_time_days": lead,
                    "cost": src["cost"] if src else None, "suggested": qty, "why": why})
    return out


def report(tx: HqTx, store: str, days: int = 28, cover_days: int = 14,
           today: dt.date | None = None) -> Table:
    """补货建议 (`hq.report.replenish`): `suggest` over the last `days` days with
    `cover_days` as the days of cover of an item without a rule; the items to order."""
    end = today or dt.datetime.now(CHAIN_TZ).date()
    t = Table("hq_replenish", f"Replenishment · {store}", [],
              day_from=(end - dt.timedelta(days=days - 1)).isoformat(), day_to=end.isoformat(),
              tz=str(CHAIN_TZ))
    t.rows = [{"sku": s["sku"], "daily": div_round(s["sold"], days), "on_hand": s["on_hand"],
               "in_transit": s["in_transit"], "suggest": s["suggested"],
               "supplier": s["supplier"], "why": s["why"]}
              for s in suggest(tx, store, days, cover_days, end) if s["suggested"] > 0]
    t.rows.sort(key=lambda r: (-r["suggest"], r["sku"]))
    t.totals = {"items": len(t.rows)}
    t.columns = [("sku", "商品 sku", "text"), ("daily", "日均销量 daily", "qty"),
                 ("on_hand", "库存 on hand", "qty"), ("in_transit", "在途 in transit", "qty"),
                 ("suggest", "建议补货 suggest", "qty"), ("supplier", "供应商 supplier", "text"),
                 ("why", "依据 why", "text")]
    return t


# -- purchase orders ------------------------------------------------------------------------------
def create_order(tx: HqTx, store: str, supplier: str, lines: list[dict[str, Any]] | None,
                 window_days: int) -> dict[str, Any]:
    """A purchase order to `supplier` for `store`: the lines given, or the store's
    suggestions that this supplier supplies."""
    if tx.one("SELECT 1 FROM suppliers WHERE id=?", (supplier,)) is None:
        raise ReplenishError("not_found", f"no supplier {supplier}")
    if lines is None:
        lines = [{"sku": s["sku"], "qty": s["suggested"]}
                 for s in suggest(tx, store, window_days)
                 if s["supplier"] == supplier and s["suggested"] > 0]
        if not lines:
            raise ReplenishError("conflict", f"nothing to order from {supplier} for {store}: "
                                 "no suggestion above zero")
    now = now_us()
    day = dt.datetime.fromtimestamp(now / 1e6, dt.UTC).strftime("%Y%m%d")
    no = f"PO-{day}-{secrets.token_hex(3).upper()}"
    tx.execute(
        "INSERT INTO transfers(no, kind, from_store, to_store, sent_at, lines, state)"
        " VALUES (?,?,?,?,?,?,'in_transit')",
        (no, "purchase", supplier, store, now, pack(lines)))
    row = tx.one("SELECT * FROM transfers WHERE no=?", (no,))
    assert row is not None
    return stock.transfer_view(row)
