"""The sale's states and the transitions between them, as one table (`TRANSITIONS`).

A sale is born `open` (a refund document is born `completed`: gatewayd/sales/returns.py).
`drop` is an empty open sale given up when a suspended one is resumed. Every change of a
sale's state goes through `move`, which refuses what the table does not list; the service
checks its own preconditions first, with the messages a cashier needs.
"""

from __future__ import annotations

from typing import Any, Literal

from protocol.errors import ProtocolError

SaleState = Literal["open", "tendering", "completed", "voided", "suspended"]
ACTIVE: tuple[SaleState, ...] = ("open", "tendering")  # the till's current sale

TRANSITIONS: dict[tuple[SaleState, str], SaleState] = {
    ("open", "tender"): "tendering",  # the first tender taken
    ("tendering", "tender"): "tendering",  # another one
    ("tendering", "complete"): "completed",  # the tenders cover the total
    ("open", "suspend"): "suspended",
    ("suspended", "resume"): "open",
    ("open", "void"): "voided",
    ("tendering", "void"): "voided",  # the provider payments are reversed first
    ("open", "drop"): "voided",
}


def move(sale: dict[str, Any], action: str) -> SaleState:
    """Set ``sale["state"]`` to where `action` leads from it; ``conflict`` if nowhere."""
    state = sale["state"]
    to = TRANSITIONS.get((state, action))
    if to is None:
        raise ProtocolError("conflict", f"a {state} sale cannot {action}",
                            {"state": state, "action": action})
    sale["state"] = to
    return to
