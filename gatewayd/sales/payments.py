"""Payment providers: a small async interface, and a simulator that implements all of it.

    class PaymentProvider(Protocol):
        name: str
        async def charge(key, method, amount, code=None) -> PaymentResult
        async def query(key) -> PaymentResult
        async def cancel(key) -> PaymentResult          # cancel / reverse a charge
        async def refund(key, original, amount) -> PaymentResult

Every call is keyed by an idempotency key the caller made and stored before calling
(`{sale_id}:{n}`): charging the same key twice charges once and answers the first charge's
state, so a retry after a crash, a timeout or a lost answer never charges twice. `refund`
takes its own key and the key of the `original` charge; refunds are bounded by what the
original charge approved.

Result states: ``approved``, ``declined``, ``user_paying`` (the customer is confirming in the
wallet app: poll ``query`` until it settles, ``cancel`` on timeout), ``cancelled``,
``not_found`` (``query`` of a key the provider never saw: nothing was charged).
A provider that cannot be reached raises ``ProviderUnavailable``: the outcome of the call is
unknown and the caller must ``query`` the same key before deciding.

`SimulatedProvider` keeps a ledger of every charge, cancel and refund. With a `path`, the
ledger is appended (fsync'd) to a JSON-lines file and re-read on start, so a simulated
provider survives the daemon's kill -9 like a real one would (the crash test relies on it).
Outcomes come from `[sale.payment_sim]` or `script(...)` (one outcome per next charge):

    approve       approved at once
    decline       declined
    user_paying   user_paying, then approved after `polls` queries
    timeout       user_paying for ever (the caller cancels after its timeout)
    error         raises ProviderUnavailable before charging (a network error)
"""

from __future__ import annotations

import json
import os
import uuid
from collections import deque
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

State = Literal["approved", "declined", "user_paying", "cancelled", "not_found"]
OUTCOMES = ("approve", "decline", "user_paying", "timeout", "error")


class ProviderUnavailable(Exception):
    """The provider could not be reached: the call's outcome is unknown; query the key."""


@dataclass(frozen=True)
class PaymentResult:
    state: State
    provider_ref: str | None = None
    amount: int = 0
    message: str = ""


class PaymentProvider(Protocol):
    name: str

    async def charge(
        self, key: str, method: str, amount: int, code: str | None = None
    ) -> PaymentResult: ...

    async def query(self, key: str) -> PaymentResult: ...

    async def cancel(self, key: str) -> PaymentResult: ...

    async def refund(self, key: str, original: str, amount: int) -> PaymentResult: ...


@dataclass
class SimCharge:
    key: str
    method: str
    amount: int
    code: str | None
    outcome: str
    state: str
    ref: str
    polls_left: int = 0
    refunded: int = 0


@dataclass
class SimulatedProvider:
    """A provider with controllable outcomes and a ledger of everything it did."""

    outcome: str = "approve"
    polls: int = 1
    path: Path | None = None
    name: str = "sim"
    charges: dict[str, SimCharge] = field(default_factory=dict)
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    ledger: list[dict[str, Any]] = field(default_factory=list)  # every operation, in order
    _script: deque[str] = field(default_factory=deque)

    def __post_init__(self) -> None:
        if self.outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {OUTCOMES}")
        if self.path is not None:
            self.path = Path(self.path)
            self._replay()

    # -- control ----------------------------------------------------------------------
    def script(self, *outcomes: str) -> None:
        """The next charges' outcomes, in order; then `outcome` again."""
        for o in outcomes:
            if o not in OUTCOMES:
                raise ValueError(f"outcome must be one of {OUTCOMES}")
        self._script.extend(outcomes)

    def set(self, outcome: str | None = None, polls: int | None = None) -> None:
        if outcome is not None:
            if outcome not in OUTCOMES:
                raise ValueError(f"outcome must be one of {OUTCOMES}")
            self.outcome = outcome
        if polls is not None:
            self.polls = polls
        self._script.clear()

    def charged(self) -> dict[str, int]:
        """key -> amount actually taken from the customer (approved, not cancelled)."""
        return {k: c.amount for k, c in self.charges.items() if c.state == "approved"}

    # -- the provider interface -------------------------------------------------------
    async def charge(
        self, key: str, method: str, amount: int, code: str | None = None
    ) -> PaymentResult:
        existing = self.charges.get(key)
        if existing is not None:  # idempotent: the same key is the same charge
            self._record("charge_repeat", key=key)
            return self._result(existing)
        outcome = self._script.popleft() if self._script else self.outcome
        if outcome == "error":
            raise ProviderUnavailable("simulated network error")
        if amount <= 0:
            return PaymentResult("declined", message="amount must be > 0")
        state = {"approve": "approved", "decline": "declined"}.get(outcome, "user_paying")
        charge = SimCharge(key, method, amount, code, outcome, state, f"SIM{uuid.uuid4().hex[:16]}",
                           polls_left=self.polls if outcome == "user_paying" else -1)
        self.charges[key] = charge
        self._record("charge", **asdict(charge))
        return self._result(charge)

    async def query(self, key: str) -> PaymentResult:
        charge = self.charges.get(key)
        if charge is None:
            return PaymentResult("not_found", message="no such charge")
        if charge.state == "user_paying" and charge.outcome == "user_paying":
            charge.polls_left -= 1
            if charge.polls_left <= 0:
                charge.state = "approved"
                self._record("settled", key=key, state="approved")
        return self._result(charge)

    async def cancel(self, key: str) -> PaymentResult:
        charge = self.charges.get(key)
        if charge is None:
            # Cancel of an unknown key: remember it so a late charge with it is refused.
            charge = SimCharge(key, "?", 0, None, "cancelled", "cancelled", "")
            self.charges[key] = charge
        elif charge.state in ("user_paying", "approved"):
            charge.state = "cancelled"  # a reversal gives an approved charge back too
        self._record("cancel", key=key, state=charge.state)
        return self._result(charge)

    async def refund(self, key: str, original: str, amount: int) -> PaymentResult:
        if key in self.refunds:
            self._record("refund_repeat", key=key)
            r = self.refunds[key]
            return PaymentResult(r["state"], r["ref"], r["amount"])
        charge = self.charges.get(original)
        if charge is None or charge.state != "approved":
            return PaymentResult("declined", message="original charge is not approved")
        if amount <= 0 or charge.refunded + amount > charge.amount:
            return PaymentResult("declined", message="refund exceeds the original charge")
        charge.refunded += amount
        ref = f"SIMR{uuid.uuid4().hex[:12]}"
        self.refunds[key] = {"state": "approved", "ref": ref, "amount": amount,
                             "original": original}
        self._record("refund", key=key, original=original, amount=amount, ref=ref)
        return PaymentResult("approved", ref, amount)

    # -- internals --------------------------------------------------------------------
    def _result(self, c: SimCharge) -> PaymentResult:
        return PaymentResult(c.state, c.ref or None, c.amount)  # type: ignore[arg-type]

    def _record(self, op: str, **data: Any) -> None:
        entry = {"op": op, **data}
        self.ledger.append(entry)
        if self.path is not None:
            with open(self.path, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(entry) + "\n")
                fh.flush()
                os.fsync(fh.fileno())

    def _replay(self) -> None:
        assert self.path is not None
        if not self.path.exists():
            return
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                e = json.loads(line)
            except ValueError:
                continue  # a torn last line: that operation never answered
            self.ledger.append(e)
            op = e["op"]
            if op == "charge":
                fields = {k: e[k] for k in SimCharge.__dataclass_fields__ if k in e}
                self.charges[e["key"]] = SimCharge(**fields)
            elif op == "settled" and e["key"] in self.charges:
                self.charges[e["key"]].state = e["state"]
            elif op == "cancel":
                c = self.charges.setdefault(
                    e["key"], SimCharge(e["key"], "?", 0, None, "cancelled", "cancelled", ""))
                c.state = e["state"]
            elif op == "refund":
                self.refunds[e["key"]] = {"state": "approved", "ref": e["ref"],
                                          "amount": e["amount"], "original": e["original"]}
                if e["original"] in self.charges:
                    self.charges[e["original"]].refunded += e["amount"]
