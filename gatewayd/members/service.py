"""MemberService: lookups on the store's read connection (one indexed SELECT each), writes
through `store.write` (one transaction each, see ledger.py), and the views.

Views: `view(row, own=True)` is the member's own detail view (the full phone, the QR payload);
everything else — events, journal data, sale/receipt/display data, history, lists — carries
`mask_phone(phone)` only.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import trio

from gatewayd.members import core, ledger
from gatewayd.members.config import MembersConfig, parse_members_config
from gatewayd.members.ledger import MemberError
from gatewayd.ports import HqUnavailable
from gatewayd.sales.pricing import Member as PricingMember
from protocol import repl

if TYPE_CHECKING:
    import sqlite3

    from gatewayd.ports import HeadOffice
    from gatewayd.store.db import Store, Tx
    from gatewayd.store.reader import Reads

log = logging.getLogger("gatewayd.members")
_COLS = "id, phone, name, birthday, card, qr, tier, active, points, balance, referred_by," \
        " first_sale, created_at, updated_at"


class MemberService:
    def __init__(self, store: Store, config: MembersConfig | dict[str, Any] | None = None,
                 timezone: str = "Asia/Shanghai", emit=None, *,
                 cash_taken: Callable[[Tx, int, str, str | None], Any] | None = None,
                 hq: HeadOffice | None = None):
        self.store = store
        self.config = (config if isinstance(config, MembersConfig)
                       else parse_members_config(config))
        self.tz = ZoneInfo(timezone)
        self.emit = emit or (lambda topic, data: None)
        # (tx, amount, reason, operator): cash taken into the drawer (the shift's paid-in)
        self.cash_taken = cash_taken
        # the link to head office (an enrolled till): members of other tills, online holds
        self.hq = hq
        self._record_changed = trio.Event()
        self._rules_changed = trio.Event()  # run_daily recomputes the tiers at once

    # -- reads ------------------------------------------------------------------------------
    def find(self, code: str) -> sqlite3.Row | None:
        """By phone, card barcode or QR payload (or member id)."""
        kind, key = core.code_kind(code, self.config.qr_prefix)
        if kind == "qr":
            return self.store.one(f"SELECT {_COLS} FROM members WHERE qr = ?", (key,))
        if kind == "phone":
            row = self.store.one(f"SELECT {_COLS} FROM members WHERE phone = ?", (key,))
            if row is not None:
                return row
        row = self.store.one(f"SELECT {_COLS} FROM members WHERE card = ?", (code.strip(),))
        if row is None and len(key) == 36:
            row = self.store.one(f"SELECT {_COLS} FROM members WHERE id = ?", (key,))
        return row

    def require(self, code: str) -> sqlite3.Row:
        row = self.find(code)
        if row is None:
            raise MemberError("not_found", "no member with that phone, card or QR code")
        return row

    async def resolve(self, code: str) -> sqlite3.Row:
        """`require`, on an enrolled till with head office's figures: a member known here is
        refreshed from head office (what it may spend across the chain), and one this till
        does not know (registered at another till, not yet here with master data) is asked
        of it and cached. Offline, a member already known keeps working with the figures it
        had; an unknown one is not_found, saying why."""
        row = self.find(code)
        if self.hq is None or not self.hq.enrolled:
            return row if row is not None else self.require(code)
        if row is not None:
            await self.refresh(row["id"])
            return self.by_id(row["id"])
        _kind, key = core.code_kind(code, self.config.qr_prefix)
        try:
            reply = await self.hq.request(repl.Lookup(id=str(uuid.uuid4()), code=key.strip()))
        except HqUnavailable as exc:
            raise MemberError("not_found", "no member with that phone, card or QR code on "
                              f"this till, and head office cannot be asked: {exc}",
                              {"offline": True}) from None
        if not reply.ok or reply.result is None:
            raise MemberError(reply.code or "not_found", reply.message or "no such member")
        snapshot = reply.result
        member_id = await self.write(lambda tx: ledger.import_member(tx, snapshot))
        self.emit("members.synced", {"member": member_id,
                                     "phone": core.mask_phone(snapshot["member"]["phone"])})
        return self.by_id(member_id)

    async def run_registry(self, idle_s: float = 2.0) -> None:
        """A task of the daemon: members registered or edited here go to head office's
        registry (a `member` request each), oldest first, whenever the link is up."""
        while True:
            sent = await self._send_records()
            if not sent:
                with trio.move_on_after(idle_s):
                    await self._record_changed.wait()
                self._record_changed = trio.Event()

    async def _send_records(self, batch: int = 100) -> int:
        if self.hq is None or not self.hq.online:
            return 0
        rows = self.store.all(
            f"SELECT {_COLS}, record_at FROM members WHERE record_at IS NOT NULL AND"
            " (hq_record_at IS NULL OR hq_record_at < record_at) ORDER BY record_at LIMIT ?",
            (batch,))
        for row in rows:
            record = repl.MemberRecord(
                id=row["id"], phone=row["phone"], name=row["name"], birthday=row["birthday"],
                card=row["card"], qr=row["qr"], tier=row["tier"], active=bool(row["active"]),
                referred_by=row["referred_by"], updated_at=row["record_at"])
            try:
                reply = await self.hq.request(repl.PutMember(id=str(uuid.uuid4()),
                                                             record=record))
            except HqUnavailable:
                return 0
            if not reply.ok:  # a record head office cannot take: not sent again and again
                log.warning("head office refused member %s: %s", row["id"], reply.message)
            await self.store.write(partial(_record_sent, member_id=row["id"],
                                           record_at=row["record_at"]))
        return len(rows)

    def authorization_status(self) -> dict[str, Any]:
        """Who authorizes stored value, points and coupons now (system.health)."""
        cfg = self.config
        if self.hq is None or not self.hq.enrolled:
            mode = "local"
        else:
            mode = "hq" if self.hq.online else "offline"
        return {"mode": mode, "offline_stored_value": cfg.offline_stored_value,
                "offline_points": cfg.offline_points, "offline_coupons": cfg.offline_coupons}

    async def refresh(self, member_id: str) -> None:
        """The member's figures from head office (what it may spend across the chain, and
        coupons issued elsewhere); nothing changes when head office cannot be asked."""
        if self.hq is None or not self.hq.enrolled:
            return
        try:
            reply = await self.hq.request(repl.Lookup(id=str(uuid.uuid4()), code=member_id))
        except HqUnavailable:
            return
        if reply.ok and reply.result is not None:
            snapshot = reply.result
            try:
                await self.write(lambda tx: ledger.import_member(tx, snapshot))
            except MemberError as exc:  # another member here has its phone: the till's stays
                log.warning("member %s not refreshed: %s", member_id, exc.message)

    def get(self, member_id: str) -> sqlite3.Row | None:
        return self.store.one(f"SELECT {_COLS} FROM members WHERE id = ?", (member_id,))

    def by_id(self, member_id: str) -> sqlite3.Row:
        """A member this service has just written (not_found if it is gone)."""
        row = self.get(member_id)
        if row is None:
            raise MemberError("not_found", "no such member")
        return row

    def is_member_code(self, code: str) -> bool:
        """For the scan router: a member QR payload, or a known member card."""
        c = code.strip()
        if c.startswith(self.config.qr_prefix):
            return True
        return self.store.one("SELECT 1 FROM members WHERE card = ?", (c,)) is not None

    def pricing_member(self, member_id: str | None) -> PricingMember | None:
        """The member as pricing sees it (tier discount, member price), or None."""
        if member_id is None:
            return None
        row = self.get(member_id)
        if row is None or not row["active"]:
            return None
        tier = self.config.tier(row["tier"])
        return PricingMember(id=row["id"], discount_bp=tier.discount_bp,
                             member_price=tier.member_price)

    def today(self):
        return datetime.now(self.tz).date()

    # -- views ------------------------------------------------------------------------------
    def view(self, row: sqlite3.Row, own: bool = False) -> dict[str, Any]:
        tier = self.config.tier(row["tier"])
        out = {
            "id": row["id"],
            "phone": row["phone"] if own else core.mask_phone(row["phone"]),
            "name": row["name"],
            "tier": tier.id,
            "tier_name": tier.name,
            "discount_bp": tier.discount_bp,
            "member_price": tier.member_price,
            "points_multiplier_bp": tier.points_multiplier_bp,
            "points": row["points"],
            "points_value": row["points"] * self.config.point_value,
            "balance": row["balance"],
            "active": bool(row["active"]),
        }
        if own:
            out.update({
                "birthday": row["birthday"],
                "card": row["card"],
                "qr": self.config.qr_prefix + row["qr"],
                "referred_by": row["referred_by"],
                "created_at": ts(row["created_at"]),
            })
        return out

    def sale_view(self, member_id: str | None) -> dict[str, Any] | None:
        """The `member` field of the sale on the wire and the display (phone masked)."""
        if member_id is None:
            return None
        row = self.get(member_id)
        if row is None:
            return None
        v = self.view(row)
        return {k: v[k] for k in ("id", "phone", "name", "tier", "tier_name", "points",
                                  "balance", "discount_bp")}

    # -- writes -----------------------------------------------------------------------------
    async def write(self, fn):
        result, _events = await self.store.write(fn)
        return result

    async def register(self, phone: str, name: str, birthday: str | None = None,
                       card: str | None = None, referrer: str | None = None) -> dict[str, Any]:
        try:
            phone = core.normalize_phone(phone)
            if birthday is not None:
                birthday = core.check_birthday(birthday)
        except ValueError as exc:
            raise MemberError("invalid_params", str(exc)) from None
        ref_id = None
        if referrer is not None:
            ref_row = await self.resolve(referrer)
            ref_id = ref_row["id"]
        await self._not_in_chain(phone)
        member_id = await self.write(lambda tx: ledger.register(
            tx, self.config, phone, name, birthday, card, ref_id))
        self._record_changed.set()
        self.emit("members.registered", {"member": member_id, "phone": core.mask_phone(phone)})
        return self.view(self.by_id(member_id), own=True)

    async def _not_in_chain(self, phone: str) -> None:
        """A phone registered at another till is that member (conflict), when head office
        can be asked; offline the till's own check is all there is."""
        if self.hq is None or not self.hq.enrolled or self.find(phone) is not None:
            return
        try:
            reply = await self.hq.request(repl.Lookup(id=str(uuid.uuid4()), code=phone))
        except HqUnavailable:
            return
        if reply.ok:
            raise MemberError("conflict", f"phone {core.mask_phone(phone)} is already a member "
                              "(registered at another till of the chain)")

    async def update(self, member_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        try:
            if fields.get("phone") is not None:
                fields["phone"] = core.normalize_phone(fields["phone"])
            if fields.get("birthday") is not None:
                fields["birthday"] = core.check_birthday(fields["birthday"])
        except ValueError as exc:
            raise MemberError("invalid_params", str(exc)) from None
        changed = await self.write(lambda tx: ledger.update(tx, member_id, fields))
        self._record_changed.set()
        return {"member": self.view(self.by_id(member_id), own=True), "changed": changed}

    async def topup(self, member_id: str, amount: int, method: str,
                    ref: str | None = None, operator: str | None = None) -> dict[str, Any]:
        def fn(tx: Tx) -> dict[str, Any]:
            out = ledger.topup(tx, self.config, member_id, amount, method, ref)
            if method == "cash" and self.cash_taken is not None:
                # the cash goes in the drawer: the shift's expected cash must know
                self.cash_taken(tx, amount, f"会员充值 top-up {out['ref']}", operator)
            return out

        out = await self.write(fn)
        row = self.by_id(member_id)
        self.emit("members.balance", {"member": member_id, "phone": core.mask_phone(row["phone"]),
                                      "balance": row["balance"]})
        return {**out, "member": self.view(row)}

    async def run_daily(self, hour: int = 3, first_after_s: float = 60.0,
                        task_status=None) -> None:
        """The owned task that keeps tiers and points honest for members who stop buying:
        spend ages out of the tier window and points expire without any sale. Runs once a
        minute after start (start-up stays fast), then every day at `hour` local time, and
        at once when the tier rules change (`rules_changed`)."""
        if task_status is not None:
            task_status.started()
        await self._until_rules_change(first_after_s)
        while True:
            result = await self.recompute()
            self.emit("members.recomputed", result)
            await self._until_rules_change(seconds_until(datetime.now(self.tz), hour))

    def rules_changed(self) -> None:
        """The tiers or the tier window changed (head office's `members` settings): every
        member's tier is recomputed now, not at the next daily run."""
        self._rules_changed.set()

    async def _until_rules_change(self, seconds: float) -> None:
        with trio.move_on_after(seconds):
            await self._rules_changed.wait()
        self._rules_changed = trio.Event()

    async def recompute(self, member_id: str | None = None, batch: int = 2000) -> dict[str, Any]:
        """Expire due points and recompute tiers: one member, or all in batches of `batch`
        (one transaction per batch, so the till keeps selling meanwhile)."""
        changed = expired = seen = 0

        def step(ids: list[str]):
            def fn(tx: Tx):
                c = e = 0
                for mid in ids:
                    e += ledger.expire_points(tx, mid)
                    before = tx.scalar("SELECT tier FROM members WHERE id = ?", (mid,))
                    if ledger.recompute_tier(tx, self.config, mid) != before:
                        c += 1
                return c, e
            return fn

        if member_id is not None:
            changed, expired = await self.write(step([member_id]))
            return {"members": 1, "tier_changes": changed, "points_expired": expired}
        last = ""
        while True:
            ids = [r[0] for r in self.store.all(
                "SELECT id FROM members WHERE id > ? ORDER BY id LIMIT ?", (last, batch))]
            if not ids:
                break
            c, e = await self.write(step(ids))
            changed += c
            expired += e
            seen += len(ids)
            last = ids[-1]
        return {"members": seen, "tier_changes": changed, "points_expired": expired}

    async def issue_coupons(self, amount: int, min_spend: int, valid_from: int | None,
                            valid_to: int | None, valid_days: int | None,
                            member_id: str | None, count: int, codes: list[str] | None,
                            batch: str | None) -> list[str]:
        def fn(tx: Tx):
            start = valid_from if valid_from is not None else tx.at
            end = valid_to if valid_to is not None else start + (valid_days or 30) * ledger.DAY_US
            return ledger.issue_coupons(tx, amount, min_spend, start, end, "issue", member_id,
                                        count, batch, codes)
        return await self.write(fn)

    def coupon(self, code: str) -> dict[str, Any] | None:
        row = self.store.one("SELECT * FROM coupons WHERE code = ?", (code,))
        if row is None:
            return None
        return coupon_view(row)

    async def redeem_reward(self, member_id: str, reward_id: str) -> dict[str, Any]:
        return await self.write(lambda tx: ledger.redeem_reward(tx, self.config, member_id,
                                                                reward_id))

    def history(self, member_id: str, limit: int = 50,
                reads: Reads | None = None) -> dict[str, Any]:
        """The newest `limit` of each of a member's histories, by index
        (0019_history_indexes.sql). A member's history grows without bound: the protocol
        runs this on a reader thread (`reads`, gatewayd/store/reader.py)."""
        store = reads or self.store
        purchases = [_at(r) for r in store.all(
            "SELECT sale_id, kind, refund_of, receipt_no, amount, points, at"
            " FROM member_purchases WHERE member_id = ? ORDER BY at DESC LIMIT ?",
            (member_id, limit))]
        moves: dict[str, list[dict[str, Any]]] = {"points": [], "balance": []}
        for what in moves:
            moves[what] = [_at(r) for r in store.all(
                "SELECT delta, before, after, reason, sale_id, ref, seq, at FROM member_moves"
                " WHERE member_id = ? AND what = ? ORDER BY id DESC LIMIT ?",
                (member_id, what, limit))]
        coupons = [coupon_view(r) for r in store.all(
            "SELECT * FROM coupons WHERE member_id = ? ORDER BY created_at DESC LIMIT ?",
            (member_id, limit))]
        return {"purchases": purchases, "points": moves["points"],
                "balance": moves["balance"], "coupons": coupons}


def _record_sent(tx: Tx, member_id: str, record_at: int) -> None:
    tx.execute("UPDATE members SET hq_record_at = ? WHERE id = ?", (record_at, member_id))


def ts(us: int | None) -> datetime | None:
    """Microseconds since the epoch -> an aware UTC datetime (a msgpack timestamp)."""
    return datetime.fromtimestamp(us / 1e6, UTC) if us is not None else None


def _at(row) -> dict[str, Any]:
    out = dict(row)
    out["at"] = ts(out["at"])
    return out


def coupon_view(row) -> dict[str, Any]:
    return {
        "code": row["code"],
        "member": row["member_id"],
        "amount": row["amount"],
        "min_spend": row["min_spend"],
        "valid_from": ts(row["valid_from"]),
        "valid_to": ts(row["valid_to"]),
        "source": row["source"],
        "batch": row["batch"],
        "used": row["used_sale"] is not None,
        "used_sale": row["used_sale"],
        "used_at": ts(row["used_at"]),
    }


def seconds_until(now: datetime, hour: int) -> float:
    """Seconds from `now` (aware) to the next `hour`:00 on its wall clock."""
    target = now.replace(hour=hour, minute=0, second=0, microsecond=0)
    if target <= now:
        target = (target + timedelta(days=1)).replace(hour=hour)
    return (target - now).total_seconds()
