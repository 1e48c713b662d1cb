"""Handlers of the hq.* methods (protocol/hq.py): typed params in, a read or a write of
head office's store out."""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import trio
from pydantic import ValidationError

from gatewayd.hq import ingest, master, members, replenish, reports, stock
from gatewayd.hq.db import HqStore, HqTx, now_us
from gatewayd.members.core import mask_phone
from gatewayd.reports import ReportError, Table
from protocol.errors import ProtocolError
from protocol.methods import SPECS
from protocol.roles import at_least

if TYPE_CHECKING:
    from gatewayd.hq.service import HqApp
    from gatewayd.server.registry import CallContext, Registry


def _ts(us: int | None) -> datetime | None:
    return datetime.fromtimestamp(us / 1e6, UTC) if us is not None else None


def tills(tx: HqTx, live: Collection[tuple[str, str]] = (),
          only: Collection[tuple[str, str]] | None = None) -> list[dict[str, Any]]:
    """Every till (or those in `only`) with its latest epoch's link state and what the live
    view shows: the sale open there, its last device alert, its last business day's state
    (the `tills` command prints the same)."""
    rows = tx.all(
        "SELECT t.store, t.till, t.revoked_at, t.enrolled_at, e.epoch, e.acked_seq, e.head_seq,"
        " e.acked_at, e.last_contact, e.closed_at, e.master_version, e.clock_skew_us,"
        " l.open_sale, l.open_since, l.alert, l.alert_at, d.day, d.state AS day_state"
        " FROM tills t"
        " LEFT JOIN till_epochs e ON e.store=t.store AND e.till=t.till AND e.last_contact ="
        " (SELECT MAX(last_contact) FROM till_epochs x WHERE x.store=t.store AND x.till=t.till)"
        " LEFT JOIN till_live l ON l.store=t.store AND l.till=t.till"
        " LEFT JOIN till_days d ON d.store=t.store AND d.till=t.till AND d.day ="
        " (SELECT MAX(day) FROM till_days y WHERE y.store=t.store AND y.till=t.till)"
        " ORDER BY t.store, t.till")
    now = now_us()
    out = []
    for r in rows:
        if only is not None and (r["store"], r["till"]) not in only:
            continue
        acked, head = r["acked_seq"] or 0, r["head_seq"] or 0
        lag_events = max(0, head - acked)
        lag_s = 0.0
        if lag_events and r["acked_at"] is not None:
            lag_s = max(0.0, (now + (r["clock_skew_us"] or 0) - r["acked_at"]) / 1e6)
        contact, closed = r["last_contact"], r["closed_at"]
        online = (r["store"], r["till"]) in live or (
            contact is not None and now - contact < 60_000_000
            and (closed is None or closed < contact))
        out.append({
            "store": r["store"], "till": r["till"], "epoch": r["epoch"],
            "online": bool(online and r["revoked_at"] is None),
            "acked_seq": acked, "head_seq": head, "lag_events": lag_events,
            "lag_s": round(lag_s, 3), "last_contact": _ts(r["last_contact"]),
            "master_version": r["master_version"] or 0, "revoked": r["revoked_at"] is not None,
            "enrolled": r["enrolled_at"] is not None,
            "open_sale": r["open_sale"], "open_since": _ts(r["open_since"]),
            "alert": r["alert"], "alert_at": _ts(r["alert_at"]),
            "day": r["day"], "day_state": r["day_state"]})
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


async def _report(store: HqStore, name: str, params: dict[str, Any]) -> Table:
    rng = {"day_from": params.get("from"), "day_to": params.get("to"),
           "store": params.get("store")}
    run = {
        "sales": lambda tx: reports.sales(tx, params["by"], limit=params["limit"], **rng),
        "members": lambda tx: reports.members(tx, **rng),
        "stock": lambda tx: reports.stock(tx, **rng),
        "transfers": lambda tx: reports.transfer_differences(tx, **rng),
        "replenish": lambda tx: replenish.report(tx, params["store"], params["days"],
                                                    params["cover_days"]),
    }[name]
    try:
        return await store.read(run)
    except ReportError as exc:
        raise ProtocolError("invalid_params", str(exc)) from None


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

    @registry.method("hq.report.sales")
    async def hq_report_sales(ctx: CallContext, p) -> dict[str, Any]:
        return (await _report(store, "sales", p.model_dump(by_alias=True))).as_wire()

    def report_method(report: str) -> None:  # the other reports: their params as they are
        @registry.method(f"hq.report.{report}")
        async def answer(ctx: CallContext, p) -> dict[str, Any]:
            return (await _report(store, report, p.model_dump(by_alias=True))).as_wire()

    for report in ("members", "stock", "transfers", "replenish"):
        report_method(report)

    @registry.method("hq.report.export")
    async def hq_report_export(ctx: CallContext, p) -> dict[str, Any]:
        spec = SPECS[f"hq.report.{p.report}"]
        try:
            params = spec.params.model_validate(p.params).model_dump(by_alias=True)
        except ValidationError as exc:
            raise ProtocolError("invalid_params", f"hq.report.{p.report}: {exc}") from None
        table = await _report(store, p.report, params)
        data = await trio.to_thread.run_sync(reports.export, table, p.format)
        where = params.get("store") or "chain"
        return {"name": f"{table.name}_{where}_{table.day_from}_{table.day_to}.{p.format}",
                "format": p.format, "rows": len(table.rows), "data": data}

    @registry.method("hq.day")
    async def hq_day(ctx: CallContext, p) -> dict[str, Any]:
        return await store.read(lambda tx: day(tx, p.store, p.day))

    bind_master(registry, hq)



def _us(at: datetime | None) -> int | None:
    return int(at.timestamp() * 1_000_000) if at is not None else None


def _entry(e: dict[str, Any]) -> dict[str, Any]:
    return {"scope": e["scope"], "version": e["version"], "effective_at": _ts(e["effective_at"]),
            "data": e["data"]}


def bind_master(registry: Registry, hq: HqApp) -> None:
    """hq.catalog.*, hq.promo.*, hq.operator.*, hq.tax.*, hq.payment.*, hq.config.*,
    hq.members.* (member tiers and rules): batches versioned in gatewayd/hq/master.py, then
    every link of this process is woken to send them (the others' within a poll)."""
    store = hq.store

    def actor(ctx: CallContext) -> str:
        return f"token:{ctx.session.token_id}"

    async def versioned(ctx: CallContext, make: Callable[[HqTx], list[master.Change]],
                        effective_at: datetime | None, source: str = "api") -> dict[str, Any]:
        def fn(tx: HqTx) -> tuple[int, int]:
            changes = make(tx)
            return master.commit(tx, changes, actor(ctx), source), len(changes)

        try:
            version, count = await store.write(fn)
        except master.MasterError as err:
            raise _refused(err) from None
        hq.master_committed(version)
        return {"version": version, "count": count, "effective_at": effective_at}

    @registry.method("hq.catalog.upsert")
    async def hq_catalog_upsert(ctx: CallContext, p) -> dict[str, Any]:
        at = _us(p.effective_at)
        return await versioned(ctx, lambda tx: master.item_changes(tx, p.items, at),
                               p.effective_at)

    @registry.method("hq.catalog.price")
    async def hq_catalog_price(ctx: CallContext, p) -> dict[str, Any]:
        if (p.store is None) == (p.zone is None):
            raise ProtocolError("invalid_params", "give exactly one of store, zone")
        scope = f"store:{p.store}" if p.store is not None else f"zone:{p.zone}"
        at = _us(p.effective_at)
        return await versioned(ctx, lambda tx: master.price_changes(tx, p.prices, scope, at),
                               p.effective_at)

    @registry.method("hq.catalog.zone")
    async def hq_catalog_zone(ctx: CallContext, p) -> dict[str, Any]:
        stores = await store.write(lambda tx: master.set_zone(tx, p.zone, p.stores))
        return {"zone": p.zone, "stores": stores}

    @registry.method("hq.catalog.get")
    async def hq_catalog_get(ctx: CallContext, p) -> dict[str, Any]:
        def fn(tx: HqTx) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
            return master.current(tx, "item", p.sku), master.current(tx, "price", p.sku)

        items, prices = await store.read(fn)
        if not items:
            raise ProtocolError("not_found", f"no item {p.sku!r} at head office")
        return {"sku": p.sku, "item": _entry(items[0]), "prices": [_entry(e) for e in prices]}

    @registry.method("hq.catalog.import")
    async def hq_catalog_import(ctx: CallContext, p) -> dict[str, Any]:
        data = p.data.encode() if isinstance(p.data, str) else p.data
        at = _us(p.effective_at)

        def fn(tx: HqTx) -> tuple[int | None, int]:
            return master.import_file(tx, data, p.filename, at, actor(ctx), p.dry_run)

        try:
            version, count = await store.write(fn)
        except master.MasterError as err:
            raise _refused(err) from None
        if p.dry_run:
            return {"version": None, "count": count, "effective_at": p.effective_at,
                    "dry_run": True}
        assert version is not None
        hq.master_committed(version)
        return {"version": version, "count": count, "effective_at": p.effective_at}

    @registry.method("hq.promo.upsert")
    async def hq_promo_upsert(ctx: CallContext, p) -> dict[str, Any]:
        at = _us(p.effective_at)
        return await versioned(ctx, lambda tx: master.promo_changes(p.promotions, at),
                               p.effective_at)

    @registry.method("hq.promo.list")
    async def hq_promo_list(ctx: CallContext, p) -> dict[str, Any]:
        rows = await store.read(lambda tx: master.current(tx, "promo"))
        return {"promotions": [_entry(e) for e in rows]}

    @registry.method("hq.operator.upsert")
    async def hq_operator_upsert(ctx: CallContext, p) -> dict[str, Any]:
        return await versioned(ctx, lambda tx: master.operator_changes(tx, p.operators), None)

    @registry.method("hq.operator.list")
    async def hq_operator_list(ctx: CallContext, p) -> dict[str, Any]:
        rows = await store.read(lambda tx: master.current(tx, "operator"))
        return {"operators": [{"id": e["key"], "name": e["data"]["name"],
                               "role": e["data"]["role"], "active": e["data"]["active"],
                               "version": e["version"]} for e in rows]}

    @registry.method("hq.tax.upsert")
    async def hq_tax_upsert(ctx: CallContext, p) -> dict[str, Any]:
        at = _us(p.effective_at)
        return await versioned(ctx, lambda tx: master.tax_changes(p.rates, at), p.effective_at)

    @registry.method("hq.tax.list")
    async def hq_tax_list(ctx: CallContext, p) -> dict[str, Any]:
        rows = await store.read(lambda tx: master.current(tx, "tax"))
        return {"rates": [{**e["data"], "version": e["version"],
                           "effective_at": _ts(e["effective_at"])} for e in rows]}

    def settings_methods(kind: str) -> None:
        @registry.method(f"hq.{kind}.set")
        async def hq_settings_set(ctx: CallContext, p) -> dict[str, Any]:
            at = _us(p.effective_at)
            return await versioned(ctx, lambda tx: master.setting_changes(kind, p.settings, at),
                                   p.effective_at)

        @registry.method(f"hq.{kind}.get")
        async def hq_settings_get(ctx: CallContext, p) -> dict[str, Any]:
            rows = await store.read(lambda tx: master.current(tx, kind))
            return {"settings": [{"key": e["key"], "value": e["data"]["value"],
                                  "version": e["version"],
                                  "effective_at": _ts(e["effective_at"])}
                                 for e in rows if e["data"]["value"] is not None]}

    settings_methods("payment")
    settings_methods("config")
    settings_methods("members")

    @registry.method("hq.member.get")
    async def hq_member_get(ctx: CallContext, p) -> dict[str, Any]:
        found = await store.read(lambda tx: members.view(tx, p.code))
        if found is None:
            raise ProtocolError("not_found", "no member with that id, phone, card or QR code "
                                "in the chain")
        if not at_least(ctx.session.role or "viewer", "supervisor"):
            found["member"]["phone"] = mask_phone(found["member"]["phone"])
        return found

    @registry.method("hq.member.ledger")
    async def hq_member_ledger(ctx: CallContext, p) -> dict[str, Any]:
        def read(tx: HqTx) -> dict[str, Any] | None:
            row = members.find(tx, p.code)
            if row is None:
                return None
            return {"member": row["id"], "entries": members.ledger(tx, row["id"], p.limit)}

        found = await store.read(read)
        if found is None:
            raise ProtocolError("not_found", "no member with that id, phone, card or QR code "
                                "in the chain")
        return found

    @registry.method("hq.stock")
    async def hq_stock(ctx: CallContext, p) -> dict[str, Any]:
        return await store.read(lambda tx: stock.store_stock(tx, p.store, p.sku))

    @registry.method("hq.transfers")
    async def hq_transfers(ctx: CallContext, p) -> dict[str, Any]:
        return {"transfers": await store.read(lambda tx: stock.transfers(
            tx, store=p.store, state=p.state, limit=p.limit))}

    @registry.method("hq.delivery.create")
    async def hq_delivery_create(ctx: CallContext, p) -> dict[str, Any]:
        lines = [{"sku": ln.sku, "qty": ln.qty} for ln in p.lines]
        try:
            return await store.write(lambda tx: stock.create_delivery(
                tx, p.from_store, p.to_store, lines, p.ref))
        except stock.TransferError as exc:
            raise ProtocolError("conflict", exc.message) from None

    @registry.method("hq.supplier.upsert")
    async def hq_supplier_upsert(ctx: CallContext, p) -> dict[str, Any]:
        rows = [s.model_dump(exclude={"approve"}) for s in p.suppliers]
        return {"count": await store.write(lambda tx: replenish.upsert_suppliers(tx, rows))}

    @registry.method("hq.supplier.list")
    async def hq_supplier_list(ctx: CallContext, p) -> dict[str, Any]:
        return {"suppliers": await store.read(replenish.suppliers)}

    @registry.method("hq.replenish.rules")
    async def hq_replenish_rules(ctx: CallContext, p) -> dict[str, Any]:
        rules = [r.model_dump(exclude={"approve"}) for r in p.rules]
        return {"count": await store.write(lambda tx: replenish.set_rules(tx, rules))}

    @registry.method("hq.replenish.suggest")
    async def hq_replenish_suggest(ctx: CallContext, p) -> dict[str, Any]:
        found = await store.read(lambda tx: replenish.suggest(tx, p.store, p.window_days))
        return {"store": p.store, "window_days": p.window_days, "suggestions": found}

    @registry.method("hq.po.create")
    async def hq_po_create(ctx: CallContext, p) -> dict[str, Any]:
        lines = None if p.lines is None else [{"sku": ln.sku, "qty": ln.qty} for ln in p.lines]
        try:
            return await store.write(lambda tx: replenish.create_order(
                tx, p.store, p.supplier, lines, p.window_days))
        except replenish.ReplenishError as exc:
            raise ProtocolError(exc.code, exc.message) from None  # type: ignore[arg-type]


def _refused(err: master.MasterError) -> ProtocolError:
    return ProtocolError("invalid_params", str(err),
                         {"errors": err.errors, "error_count": err.count})
