"""Handlers of the hq.* methods (protocol/hq.py): typed params in, a read or a write of
head office's store out."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from gatewayd.hq import ingest
from gatewayd.hq.db import HqTx, now_us
from protocol.errors import ProtocolError

if TYPE_CHECKING:
    from gatewayd.hq.service import HqApp
    from gatewayd.server.registry import CallContext, Registry


def _ts(us: int | None) -> datetime | None:
    return datetime.fromtimestamp(us / 1e6, UTC) if us is not None else None


def tills(tx: HqTx, live: Collection[tuple[str, str]] = ()) -> list[dict[str, Any]]:
    """Every till with its latest epoch's link state (the `tills` command prints the same)."""
    rows = tx.all(
        "SELECT t.store, t.till, t.revoked_at, t.enrolled_at, e.epoch, e.acked_seq, e.head_seq,"
        " e.acked_at, e.last_contact, e.master_version, e.clock_skew_us FROM tills t"
        " LEFT JOIN till_epochs e ON e.store=t.store AND e.till=t.till AND e.last_contact ="
        " (SELECT MAX(last_contact) FROM till_epochs x WHERE x.store=t.store AND x.till=t.till)"
        " ORDER BY t.store, t.till")
    now = now_us()
    out = []
    for r in rows:
        acked, head = r["acked_seq"] or 0, r["head_seq"] or 0
        lag_events = max(0, head - acked)
        lag_s = 0.0
        if lag_events and r["acked_at"] is not None:
            lag_s = max(0.0, (now + (r["clock_skew_us"] or 0) - r["acked_at"]) / 1e6)
        online = (r["store"], r["till"]) in live or (
            r["last_contact"] is not None and now - r["last_contact"] < 60_000_000)
        out.append({
            "store": r["store"], "till": r["till"], "epoch": r["epoch"],
            "online": bool(online and r["revoked_at"] is None),
            "acked_seq": acked, "head_seq": head, "lag_events": lag_events,
            "lag_s": round(lag_s, 3), "last_contact": _ts(r["last_contact"]),
            "master_version": r["master_version"] or 0, "revoked": r["revoked_at"] is not None,
            "enrolled": r["enrolled_at"] is not None})
    return out


def _sale_row(r: dict[str, Any]) -> dict[str, Any]:
    return {"store": r["store"], "till": r["till"], "epoch": r["epoch"], "seq": r["seq"],
            "sale_id": r["sale_id"], "kind": r["kind"], "receipt_no": r["receipt_no"],
            "business_day": r["business_day"], "total": r["total"],
            "rounding": r["rounding"], "operator": r["operator"], "at": _ts(r["at"])}


def sales(tx: HqTx, store: str | None, till: str | None, day: str | None, limit: int,
          offset: int) -> dict[str, Any]:
    where, args = [], []
    for col, val in (("store", store), ("till", till), ("business_day", day)):
        if val is not None:
            where.append(f"{col}=?")
            args.append(val)
    cond = (" WHERE " + " AND ".join(where)) if where else ""
    found = tx.one(f"SELECT COUNT(*) AS n FROM sales{cond}", args)
    count = found["n"] if found else 0
    rows = tx.all(f"SELECT * FROM sales{cond} ORDER BY at DESC, seq DESC LIMIT ? OFFSET ?",
                  [*args, limit, offset])
    return {"sales": [_sale_row(r) for r in rows], "count": count}


def sale_get(tx: HqTx, receipt_no: str) -> dict[str, Any] | None:
    r = tx.one("SELECT * FROM sales WHERE receipt_no=? ORDER BY at DESC LIMIT 1", (receipt_no,))
    if r is None:
        return None
    key = (r["store"], r["sale_id"])
    lines = tx.all("SELECT line_id, sku, qty, amount FROM sale_lines WHERE store=? AND"
                   " sale_id=? ORDER BY pos", key)
    tenders = tx.all("SELECT method, amount, ref FROM sale_tenders WHERE store=? AND"
                     " sale_id=? ORDER BY pos", key)
    return {**_sale_row(r), "subtotal": r["subtotal"], "discount": r["discount"],
            "tax": r["tax"], "paid": r["paid"], "change": r["change_due"],
            "refund_of": r["refund_of"], "shift_id": r["shift_id"], "lines": lines,
            "tenders": [{k: v for k, v in t.items() if v is not None} for t in tenders]}


def day(tx: HqTx, store: str, day: str) -> dict[str, Any]:
    """Store-day completeness: every till of the store closed the day, and what HQ holds of
    its sales equals its Z report (both nets: takings less rounding less refunds)."""
    till_rows = tx.all("SELECT till FROM tills WHERE store=? AND revoked_at IS NULL"
                       " ORDER BY till", (store,))
    closes = {r["till"]: r for r in tx.all(
        "SELECT till, state, closes, net FROM till_days WHERE store=? AND day=?", (store, day))}
    held = {r["till"]: r for r in tx.all(
        "SELECT till, SUM(CASE WHEN kind='sale' THEN total - rounding ELSE total END) AS net,"
        " SUM(CASE WHEN kind='sale' THEN 1 ELSE 0 END) AS sales,"
        " SUM(CASE WHEN kind='refund' THEN 1 ELSE 0 END) AS refunds"
        " FROM sales WHERE store=? AND business_day=? GROUP BY till", (store, day))}
    out, complete = [], bool(till_rows)
    for r in till_rows:
        c, h = closes.get(r["till"]), held.get(r["till"])
        closed = c is not None and c["state"] == "closed"
        hq_net = int(h["net"]) if h else 0
        z_net = c["net"] if c is not None and closed else None
        ok = closed and z_net == hq_net
        complete = complete and ok
        out.append({"till": r["till"], "closed": closed, "closes": c["closes"] if c else 0,
                    "z_net": z_net, "hq_net": hq_net, "matches": ok,
                    "sales": int(h["sales"]) if h else 0,
                    "refunds": int(h["refunds"]) if h else 0})
    return {"store": store, "day": day, "complete": complete,
            "net": sum(t["hq_net"] for t in out), "tills": out}


def bind(registry: Registry, hq: HqApp) -> None:
    store = hq.store

    @registry.method("hq.tills")
    async def hq_tills(ctx: CallContext, p) -> dict[str, Any]:
        live = set(hq.links)
        return {"tills": await store.read(lambda tx: tills(tx, live))}

    @registry.method("hq.till.add")
    async def hq_till_add(ctx: CallContext, p) -> dict[str, Any]:
        code = await store.write(lambda tx: ingest.add_till(tx, p.store, p.till))
        return {"store": p.store, "till": p.till, "code": code}

    @registry.method("hq.till.revoke")
    async def hq_till_revoke(ctx: CallContext, p) -> dict[str, Any]:
        if not await store.write(lambda tx: ingest.revoke_till(tx, p.store, p.till)):
            raise ProtocolError("not_found", f"no enrolled, unrevoked till {p.store}/{p.till}")
        hq.emit("hq.till", {"store": p.store, "till": p.till, "revoked": True})
        return {"store": p.store, "till": p.till, "revoked": True}

    @registry.method("hq.sales")
    async def hq_sales(ctx: CallContext, p) -> dict[str, Any]:
        return await store.read(lambda tx: sales(tx, p.store, p.till, p.day, p.limit, p.offset))

    @registry.method("hq.sale.get")
    async def hq_sale_get(ctx: CallContext, p) -> dict[str, Any]:
        found = await store.read(lambda tx: sale_get(tx, p.receipt_no))
        if found is None:
            raise ProtocolError("not_found", f"no sale {p.receipt_no} at head office")
        return found

    @registry.method("hq.day")
    async def hq_day(ctx: CallContext, p) -> dict[str, Any]:
        return await store.read(lambda tx: day(tx, p.store, p.day))

