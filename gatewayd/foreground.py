"""What the till is doing for a person right now, for background work to keep out of its way.

The replicator (gatewayd/replication/replicator.py) catches up a backlog on the till's own
CPU, GIL and store writer; a cashier's call must not wait behind it. `Foreground` is told of
every client call (the Session, around each dispatch) and watches the bus for sales
(`sale.updated`: a sale open is a customer at the till). Background work asks it:

- `quiet(settle_s, max_wait_s)`: wait until no call is in flight and none ended in the last
  `settle_s` (a client's next call of the same action comes right after the answer), or
  `max_wait_s` at most, so that the work still goes on under a till that is never quiet;
- `selling`: a sale is open, so the work should come in small pieces.

It is the `Foreground` port (gatewayd/ports.py); a till without clients passes nothing.
"""

from __future__ import annotations

import math

import trio

from gatewayd.bus import BusEvent

OPEN_STATES = frozenset({"open", "tendering"})  # protocol/methods/sale.py: Sale.state


class Foreground:
    def __init__(self) -> None:
        self.calls = 0  # in flight
        self._ended = -math.inf  # trio time the last call ended
        self._changed = trio.Event()  # set when the last call in flight ends
        self._open: set[str] = set()  # sale ids open, as the bus said

    # -- told by the server and the bus ----------------------------------------------------
    def call_started(self) -> None:
        self.calls += 1

    def call_ended(self) -> None:
        self.calls -= 1
        self._ended = trio.current_time()
        if self.calls == 0:
            self._changed.set()
            self._changed = trio.Event()

    def offer(self, event: BusEvent) -> None:
        """A bus subscriber: `sale.updated` carries the sale's state."""
        if event.topic != "sale.updated":
            return
        sale_id, state = event.data.get("id"), event.data.get("state")
        if not isinstance(sale_id, str):
            return
        if state in OPEN_STATES:
            self._open.add(sale_id)
        else:
            self._open.discard(sale_id)

    # -- asked by background work ------------------------------------------------------------
    @property
    def selling(self) -> bool:
        return bool(self._open)

    @property
    def busy(self) -> bool:
        return self.calls > 0

    async def quiet(self, settle_s: float, max_wait_s: float) -> None:
        """Return once no call is in flight and none ended within `settle_s`, or after
        `max_wait_s` whatever the till is doing."""
        with trio.move_on_after(max_wait_s):
            while True:
                if self.calls:
                    await self._changed.wait()
                    continue
                left = self._ended + settle_s - trio.current_time()
                if left <= 0:
                    return
                await trio.sleep(left)
