"""How a sale is paid: `PaymentFlow`, the tender side of the sale service
(gatewayd/sales/service.py; its module doc has the three-step provider flow).

Cash and vouchers are taken in one transaction; card, Alipay and WeChat Pay go through the
payment provider (the attempt is committed before the call, the outcome after); a tender
provider of another service (members: stored value, points, coupons) decides its amount
and records it in the sale's transaction (`tender_from`)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from functools import partial
from typing import TYPE_CHECKING, Any

import trio

from gatewayd.ids import new_id
from gatewayd.sales import paycodes
from gatewayd.sales.config import SaleConfig
from gatewayd.sales.parts import AuthorizedTender, SalePolicy, TenderProvider
from gatewayd.sales.payments import (
    PaymentProvider,
    PaymentResult,
    ProviderUnavailable,
)
from gatewayd.sales.records import Loaded, code_hash
from gatewayd.sales.records import sale_error as _err
from gatewayd.sales.states import ACTIVE, move
from gatewayd.sales.tenders import (
    CASH,
    Tender,
    TenderConfig,
    TenderError,
    TenderState,
    apply_tender,
    settle,
)
from gatewayd.store.db import Tx
from protocol.errors import ProtocolError

if TYPE_CHECKING:
    from gatewayd.store.db import Store


log = logging.getLogger("gatewayd.sales")

PROVIDER_METHODS = ("card", "alipay", "wechat", "mobile")


class PaymentFlow:
    store: Store
    cfg: SaleConfig
    provider: PaymentProvider
    tenders: dict[str, TenderProvider]
    tender_config: TenderConfig
    policy: SalePolicy
    _pay_lock: trio.Lock

    if TYPE_CHECKING:
        # What this mixin uses of its host, SaleService (gatewayd/sales/service.py) and
        # SaleWire (gatewayd/sales/wire.py); seen by the type checker only.
        @staticmethod
        def load(tx: Tx, sale_id: str, row: Any = None) -> Loaded | None: ...
        def _require_active(self, tx: Tx) -> Loaded: ...
        def _settle(self, tx: Tx, st: Loaded) -> None: ...
        def _complete(self, tx: Tx, st: Loaded, operator: str | None) -> dict[str, Any]: ...
        def _wire_of(self, tx: Tx, st: Loaded) -> dict[str, Any]: ...
        def wire_from_tx(self, tx: Tx, sale_id: str) -> dict[str, Any]: ...
        def _published(self, wire: dict[str, Any], *, display: bool = True) -> None: ...
        async def _after(self, wire: dict[str, Any]) -> None: ...

    async def tender(self, operator: str | None, method: str | None, amount: int | None = None,
                     code: str | None = None, ref: str | None = None) -> dict[str, Any]:
        if method is None:
            if code is None:
                raise _err("invalid_params", "give a method, or a payment code to classify")
            method = paycodes.classify_paycode(code)
            if method is None:
                raise _err("invalid_params", "not an Alipay or WeChat Pay payment code",
                           field="code")
        if amount is not None and amount <= 0:
            raise _err("invalid_params", "amount must be > 0", field="amount")
        enabled = self.cfg.tenders  # [sale] tenders, or head office's payment settings
        if enabled is not None and method not in enabled:
            raise _err("invalid_params", f"{method} is not taken at this till (tenders "
                       f"taken: {', '.join(enabled) or 'none'})", field="method",
                       method=method, tenders=list(enabled))
        if method in ("alipay", "wechat"):
            if code is None:
                raise _err("invalid_params", f"{method} needs the customer's payment code")
            kind = paycodes.classify_paycode(code)
            if kind != method:
                raise _err("invalid_params", f"that code is not a {method} payment code",
                           field="code", classified=kind)
        if method in PROVIDER_METHODS:
            return await self._provider_tender(operator, method, amount, code, ref)
        if method == "voucher":
            if code is None:
                raise _err("invalid_params", "a voucher tender needs the voucher code")
            return await self._voucher_tender(operator, code, amount)
        if method in self.tenders:
            return await self.tender_from(self.tenders[method], operator, method, amount, ref)
        if method != CASH:
            raise _err("invalid_params", f"unknown tender method {method!r}")
        async with self._pay_lock:
            return await self._local_tender(operator, CASH, amount, ref)

    def _take(self, tx: Tx, st: Loaded, method: str, amount: int | None,
              ref: str | None) -> Tender:
        """A new tender, checked: the sale has lines and may be paid now (policy.pay_guard:
        an open shift). An approved provider charge is recorded without it: the money is
        taken by then."""
        if not st.live_lines:
            raise _err("conflict", "the sale is empty: nothing to pay")
        self.policy.pay_guard(tx)
        state = TenderState(st.sale["total"],
                            tuple(Tender(t["method"], t["amount"]) for t in st.tenders))
        try:
            result = apply_tender(state, method, amount, self.tender_config, ref)
        except TenderError as exc:
            raise _err(exc.code, str(exc)) from None
        return result.tender

    def _insert_tender(self, tx: Tx, st: Loaded, tender: Tender, operator: str | None,
                       attempt_id: str | None = None) -> None:
        row = {"id": new_id(), "sale_id": st.sale["id"], "pos": len(st.tenders),
               "method": tender.method, "amount": tender.amount, "ref": tender.ref,
               "attempt_id": attempt_id, "operator": operator, "at": tx.at}
        row = dict(tx.row(
            "INSERT INTO sale_tenders(id, sale_id, pos, method, amount, ref, attempt_id,"
            " operator, at) VALUES (:id,:sale_id,:pos,:method,:amount,:ref,:attempt_id,"
            ":operator,:at) RETURNING *", row))
        st.tenders.append(row)
        move(st.sale, "tender")
        self._settle(tx, st)
        tx.append("sale.tendered", {"sale_id": st.sale["id"], "tender_id": row["id"],
                                    "method": tender.method, "amount": tender.amount,
                                    "ref": tender.ref, "attempt_id": attempt_id,
                                    "operator": operator, "version": st.sale["version"]})

    def _finish(self, tx: Tx, st: Loaded, operator: str | None) -> dict[str, Any]:
        if st.settlement.complete:
            return self._complete(tx, st, operator)
        return self._wire_of(tx, st)

    async def tender_from(self, provider: TenderProvider, operator: str | None, method: str,
                          amount: int | None, ref: str | None) -> dict[str, Any]:
        """A tender paid from another service's ledger: the provider decides how much (and
        may refuse) and records it, in the same transaction as the tender. An
        AuthorizedTender's amount is authorized first (head office), and given back if the
        transaction then fails."""
        async with self._pay_lock:
            def due_of(st: Loaded) -> int:
                return settle(st.sale["total"],
                              [Tender(t["method"], t["amount"]) for t in st.tenders],
                              self.cfg.cash_rounding).due

            bound = provider
            if isinstance(provider, AuthorizedTender):
                def plan(tx: Tx) -> tuple[Loaded, int]:
                    st = self._require_active(tx)
                    take = provider.amount(tx, st, method, amount, due_of(st))
                    self._take(tx, st, method, take, ref)  # refused here, before head office
                    return st, take

                (st, take), _ = await self.store.write(plan)
                bound = await provider.authorize(st, method, take)

            def fn(tx: Tx) -> dict[str, Any]:
                st = self._require_active(tx)
                take = bound.amount(tx, st, method, amount, due_of(st))
                tender = self._take(tx, st, method, take,
                                    getattr(bound, "tender_ref", None) or ref)
                bound.take(tx, st, method, tender.amount)
                self._insert_tender(tx, st, tender, operator)
                return self._finish(tx, st, operator)

            try:
                wire, _ = await self.store.write(fn)
            except BaseException:
                if bound is not provider:
                    assert isinstance(provider, AuthorizedTender)
                    with trio.CancelScope(shield=True):
                        await provider.release(bound)
                raise
            authorization = getattr(bound, "authorization", None)
            if authorization is not None:
                wire["authorization"] = authorization
        await self._after(wire)
        return wire

    async def _local_tender(self, operator: str | None, method: str, amount: int | None,
                            ref: str | None) -> dict[str, Any]:
        def fn(tx: Tx) -> dict[str, Any]:
            st = self._require_active(tx)
            tender = self._take(tx, st, method, amount, ref)
            self._insert_tender(tx, st, tender, operator)
            return self._finish(tx, st, operator)

        wire, _ = await self.store.write(fn)
        await self._after(wire)
        return wire

    async def _voucher_tender(self, operator: str | None, code: str,
                              amount: int | None) -> dict[str, Any]:
        async with self._pay_lock:
            def fn(tx: Tx) -> dict[str, Any]:
                st = self._require_active(tx)
                v = tx.one("SELECT * FROM vouchers WHERE code=?", (code,))
                if v is None:
                    raise _err("not_found", "unknown voucher", code=code)
                if v["used_sale"] is not None:
                    raise _err("conflict", "this voucher was already redeemed", code=code,
                               sale_id=v["used_sale"])
                due = settle(st.sale["total"],
                             [Tender(t["method"], t["amount"]) for t in st.tenders],
                             self.cfg.cash_rounding).due
                take = min(v["amount"], due if amount is None else amount)
                if amount is not None and amount > v["amount"]:
                    raise _err("invalid_params", "more than the voucher is worth")
                tender = self._take(tx, st, "voucher", take, code)
                tx.execute("UPDATE vouchers SET used_sale=?, used_at=? WHERE code=?",
                           (st.sale["id"], tx.at, code))
                self._insert_tender(tx, st, tender, operator)
                return self._finish(tx, st, operator)

            wire, _ = await self.store.write(fn)
        await self._after(wire)
        return wire

    async def _provider_call(self, fn: Callable[..., Awaitable[PaymentResult]],
                             *args: Any) -> PaymentResult:
        """A provider call with a bounded number of retries of an unreachable provider."""
        for attempt in range(3):
            try:
                with trio.fail_after(self.cfg.payment_poll_s * 5):
                    return await fn(*args)
            except (ProviderUnavailable, trio.TooSlowError):
                if attempt == 2:
                    raise
                await trio.sleep(0.2 * (attempt + 1))
        raise AssertionError("unreachable")

    async def _provider_tender(self, operator: str | None, method: str, amount: int | None,
                               code: str | None, ref: str | None) -> dict[str, Any]:
        async with self._pay_lock:
            hashed = code_hash(code) if code is not None else None

            def start(tx: Tx) -> tuple[dict[str, Any], bool]:
                st = self._require_active(tx)
                if hashed is not None:
                    seen = tx.one("SELECT * FROM payment_attempts WHERE code_hash=?", (hashed,))
                    if seen is not None:
                        if seen["state"] in ("pending", "user_paying") and \
                                seen["sale_id"] == st.sale["id"]:
                            return dict(seen), True  # the same attempt: carry on with it
                        raise _err("conflict", "this payment code was already used "
                                   f"({seen['state']}); ask the customer to refresh it",
                                   key=seen["id"], state=seen["state"])
                tender = self._take(tx, st, method, amount, ref)
                n = st.sale["tender_n"] + 1
                key = f"{st.sale['id']}:{n}"
                st.sale["tender_n"] = n
                tx.execute("UPDATE sales SET tender_n=? WHERE id=?", (n, st.sale["id"]))
                att = {"id": key, "sale_id": st.sale["id"], "n": n, "method": method,
                       "provider": self.provider.name, "amount": tender.amount,
                       "code_hash": hashed, "state": "pending", "created_at": tx.at,
                       "updated_at": tx.at}
                tx.execute("INSERT INTO payment_attempts(id, sale_id, n, method, provider,"
                           " amount, code_hash, state, created_at, updated_at) VALUES (:id,"
                           ":sale_id,:n,:method,:provider,:amount,:code_hash,:state,"
                           ":created_at,:updated_at)", att)
                tx.append("payment.started", {"key": key, "sale_id": st.sale["id"],
                                              "method": method, "amount": tender.amount,
                                              "operator": operator})
                return att, False

            (att, resumed), _ = await self.store.write(start)
            try:
                if resumed:
                    result = await self._provider_call(self.provider.query, att["id"])
                else:
                    result = await self._provider_call(
                        self.provider.charge, att["id"], att["method"], att["amount"], code)
            except (ProviderUnavailable, trio.TooSlowError):
                # the outcome is unknown: keep the attempt pending; recover() asks again
                raise _err("payment_declined", "the payment provider cannot be reached; "
                           "the attempt is kept and will be checked", key=att["id"],
                           reason="provider_unavailable") from None
            if result.state == "user_paying":
                result = await self._wait_user(att)
            return await self._settle_attempt(att, result, operator)

    async def _wait_user(self, att: dict[str, Any]) -> PaymentResult:
        """The customer confirms in the wallet: poll until settled; cancel on timeout."""
        key = att["id"]

        def mark(tx: Tx) -> dict[str, Any]:
            tx.execute("UPDATE payment_attempts SET state='user_paying', updated_at=? "
                       "WHERE id=? AND state='pending'", (tx.at, key))
            tx.append("payment.user_paying", {"key": key, "sale_id": att["sale_id"]})
            return self.wire_from_tx(tx, att["sale_id"])

        wire, _ = await self.store.write(mark)
        self._published(wire, display=False)
        deadline = trio.current_time() + self.cfg.payment_timeout_s
        result = PaymentResult("user_paying")
        while trio.current_time() < deadline:
            await trio.sleep(min(self.cfg.payment_poll_s, max(0.0, deadline -
                                                              trio.current_time())))
            try:
                result = await self._provider_call(self.provider.query, key)
            except (ProviderUnavailable, trio.TooSlowError):
                continue
            if result.state != "user_paying":
                return result
        try:
            cancelled = await self._provider_call(self.provider.cancel, key)
        except (ProviderUnavailable, trio.TooSlowError):
            raise _err("payment_declined", "the customer did not confirm in time and the "
                       "provider cannot be reached to cancel; the attempt is kept and will "
                       "be checked", key=key, reason="timeout") from None
        if cancelled.state == "approved":  # it went through just before the cancel
            return cancelled
        return PaymentResult("cancelled", message="timed out waiting for the customer")

    async def _settle_attempt(self, att: dict[str, Any], result: PaymentResult,
                              operator: str | None) -> dict[str, Any]:
        key = att["id"]
        if result.state == "approved":
            def ok(tx: Tx) -> dict[str, Any]:
                return self._apply_approved(tx, att, result, operator)

            wire, _ = await self.store.write(ok)
            await self._after(wire)
            return wire
        state = {"declined": "declined", "cancelled": "cancelled"}.get(result.state, "failed")

        def failed(tx: Tx) -> dict[str, Any]:
            tx.execute("UPDATE payment_attempts SET state=?, error=?, updated_at=? WHERE id=?",
                       (state, result.message or result.state, tx.at, key))
            tx.append(f"payment.{state}", {"key": key, "sale_id": att["sale_id"],
                                           "reason": result.message or result.state})
            return self.wire_from_tx(tx, att["sale_id"])

        wire, _ = await self.store.write(failed)
        self._published(wire, display=False)
        reason = "timeout" if state == "cancelled" else result.state
        raise _err("payment_declined",
                   f"{att['method']} payment {state}: {result.message or result.state}",
                   key=key, reason=reason)

    def _apply_approved(self, tx: Tx, att: dict[str, Any], result: PaymentResult,
                        operator: str | None) -> dict[str, Any]:
        key = att["id"]
        cur = tx.one("SELECT state FROM payment_attempts WHERE id=?", (key,))
        applied = tx.one("SELECT 1 FROM sale_tenders WHERE attempt_id=?", (key,))
        tx.execute("UPDATE payment_attempts SET state='approved', provider_ref=?, updated_at=?"
                   " WHERE id=?", (result.provider_ref, tx.at, key))
        if cur is not None and cur["state"] != "approved":
            tx.append("payment.approved", {"key": key, "sale_id": att["sale_id"],
                                           "amount": att["amount"],
                                           "provider_ref": result.provider_ref})
        st = self.load(tx, att["sale_id"])
        assert st is not None
        if applied is None and st.sale["state"] in ACTIVE:
            tender = Tender(att["method"], att["amount"], result.provider_ref)
            self._insert_tender(tx, st, tender, operator, attempt_id=key)
            return self._finish(tx, st, operator)
        return self.wire_from_tx(tx, att["sale_id"])

    async def keep_settling(self) -> None:
        """Attempts whose outcome is unknown (the daemon died mid-call, or the provider
        could not be reached and the attempt was kept) are asked about at start and then
        every `payment_recheck_s`: one is applied, or reversed once its sale is gone, within
        minutes rather than at the next restart."""
        while True:
            await self.recover()
            await trio.sleep(self.cfg.payment_recheck_s)

    async def recover(self) -> None:
        """Settle the attempts left pending: ask the provider about each key. Under the
        payment lock: a tender in flight holds its own attempt pending meanwhile."""
        async with self._pay_lock:
            await self._recover()

    async def _recover(self) -> None:
        # (refund attempts are the returns service's: it re-sends them with the same key)
        rows = self.store.all("SELECT * FROM payment_attempts WHERE kind='charge' AND "
                                  "state IN ('pending','user_paying') ORDER BY created_at")
        for row in rows:
            att = dict(row)
            try:
                res = await self._provider_call(self.provider.query, att["id"])
                if res.state in ("user_paying", "not_found"):
                    # fence the key (a late charge with it is refused), then see what stuck
                    res = await self._provider_call(self.provider.cancel, att["id"])
            except (ProviderUnavailable, trio.TooSlowError):
                log.warning("payment attempt %s: provider unreachable; left pending", att["id"])
                continue
            sale = self.store.one("SELECT state FROM sales WHERE id=?", (att["sale_id"],))
            if res.state == "approved" and (sale is None or sale["state"] not in ACTIVE):
                res = await self._provider_call(self.provider.cancel, att["id"])
            try:
                if res.state == "approved":
                    wire, _ = await self.store.write(
                        partial(self._apply_approved, att=att, result=res, operator=None))
                    await self._after(wire)
                else:
                    await self._settle_attempt(att, res, None)
            except ProtocolError:
                pass
            log.info("payment attempt %s recovered: %s", att["id"], res.state)
