"""Who takes part in a sale: the extension points of the sale service, typed, given to it
whole when it is built (gatewayd/app.py composes them; nothing is patched in later).

    participants  services whose records follow the sale's (shifts, members, inventory):
                  on_complete / on_void / on_refund run INSIDE the sale's transaction, so
                  what they write commits or rolls back with it; in the order given
    policy        the decisions the sale asks of others, frozen: the business day of a
                  completion, whether a sale may open, the shift, the stock guard, the
                  member's prices. Every field is given; `SalePolicy.standalone` is the
                  policy of a till with no shifts, stock or members (tests, tools)
    tenders       tender methods paid from another service's ledger, by method (members:
                  stored_value, points); the sale runs the payment flow, the provider
                  decides the amount and records it. A provider that is also an
                  AuthorizedTender is asked to `authorize` the amount first, outside the
                  sale's transaction (head office, online), and records exactly that
    required      participant names the composition must include: a missing one is an
                  error when the daemon starts, not a hook that silently never runs

An on_complete may add ``wire["receipt_extra"]`` (lines printed on the receipt).
Scan routes (codes the scan router hands to a service) are gatewayd/sales/scan.py's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from gatewayd.sales.pricing import Member
    from gatewayd.sales.records import Loaded
    from gatewayd.store.db import Tx

Hook = Callable[["Tx", dict[str, Any]], None]
# the tenders the sale service takes itself; a provider may not claim them
OWN_TENDERS = frozenset({"cash", "card", "alipay", "wechat", "mobile", "voucher"})


class SalePartsError(ValueError):
    """The sale's composition is incomplete or inconsistent (raised at start-up)."""


@runtime_checkable
class SaleParticipant(Protocol):
    name: str

    def on_complete(self, tx: Tx, wire: dict[str, Any]) -> None: ...

    def on_void(self, tx: Tx, wire: dict[str, Any]) -> None: ...

    def on_refund(self, tx: Tx, wire: dict[str, Any]) -> None: ...


@runtime_checkable
class TenderProvider(Protocol):
    def amount(self, tx: Tx, st: Loaded, method: str, requested: int | None, due: int) -> int:
        """How much of `method` to take (requested, or what the customer has, up to due);
        raises ProtocolError to refuse."""
        ...

    def take(self, tx: Tx, st: Loaded, method: str, amount: int) -> None:
        """Record the tender on the provider's side, in the sale's transaction."""
        ...


@runtime_checkable
class AuthorizedTender(Protocol):
    """A tender whose money can be spent at more than one till (DESIGN §8): authorized
    before the sale's transaction (it may wait on head office; the sale's writer never
    does), then recorded by the provider `authorize` returned, which takes exactly what was
    authorized. `release` gives the authorization back when that transaction failed."""

    async def authorize(self, st: Loaded, method: str, amount: int) -> TenderProvider: ...

    async def release(self, bound: TenderProvider) -> None: ...


@dataclass(frozen=True)
class SalePolicy:
    business_day: Callable[[Tx], str]  # YYYYMMDD of a completion; raises on a closed day
    open_guard: Callable[[Tx], Any]  # a sale opens or resumes: raises to refuse
    pay_guard: Callable[[Tx], Any]  # a tender is taken (the sale may complete): raises to refuse
    shift_of: Callable[[Tx, str | None], str | None]  # the open shift of an operator
    # (sku, qty, qty of the item on the sale's other lines): raises to refuse
    qty_guard: Callable[[str, int, int], Any]
    member_pricing: Callable[[Tx, str | None], Member | None]  # the member's benefits

    @classmethod
    def standalone(cls, timezone: str) -> SalePolicy:
        """A till with no shifts, stock or members: the local date is the business day."""
        tz = ZoneInfo(timezone)
        return cls(business_day=lambda tx: datetime.fromtimestamp(tx.at / 1e6, tz)
                   .strftime("%Y%m%d"),
                   open_guard=lambda tx: None, pay_guard=lambda tx: None,
                   shift_of=lambda tx, operator: None,
                   qty_guard=lambda sku, qty, in_sale: None,
                   member_pricing=lambda tx, member: None)


@dataclass(frozen=True)
class SaleParts:
    participants: tuple[SaleParticipant, ...]
    policy: SalePolicy
    tenders: Mapping[str, TenderProvider]
    required: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        names = []
        for p in self.participants:
            if not isinstance(p, SaleParticipant):
                raise SalePartsError(f"{p!r} is not a sale participant: it needs a name and "
                                     "on_complete, on_void and on_refund")
            names.append(p.name)
        if len(set(names)) != len(names):
            raise SalePartsError(f"a sale participant is listed twice: {names}")
        missing = [n for n in self.required if n not in names]
        if missing:
            raise SalePartsError(f"the sale has no {', '.join(missing)} participant; "
                                 f"it has: {', '.join(names) or 'none'}")
        for method, provider in self.tenders.items():
            if method in OWN_TENDERS:
                raise SalePartsError(f"tender {method!r} is the sale's own")
            if not isinstance(provider, TenderProvider):
                raise SalePartsError(f"tender {method!r}: {provider!r} has no amount/take")

    @classmethod
    def standalone(cls, timezone: str) -> SaleParts:
        return cls(participants=(), policy=SalePolicy.standalone(timezone), tenders={})

