"""Foreground (gatewayd/foreground.py): what background work (the replicator) keeps out of
the way of: a client's call in flight, the moments right after it, and an open sale."""

from __future__ import annotations

import trio

from gatewayd.bus import Bus
from gatewayd.foreground import Foreground


async def _quiet_after(fg: Foreground, settle: float, most: float) -> float:
    t0 = trio.current_time()
    await fg.quiet(settle, most)
    return trio.current_time() - t0


async def test_quiet_waits_for_the_calls_in_flight_and_a_settle_after_them(autojump_clock):
    fg = Foreground()
    assert await _quiet_after(fg, 0.005, 1.0) == 0  # nothing going on: at once
    fg.call_started()
    fg.call_started()
    async with trio.open_nursery() as nursery:
        waited: list[float] = []

        async def waiter() -> None:
            waited.append(await _quiet_after(fg, 0.005, 10.0))

        nursery.start_soon(waiter)
        await trio.sleep(2.0)
        fg.call_ended()
        await trio.sleep(1.0)
        assert not waited  # one call is still in flight
        fg.call_ended()
    assert abs(waited[0] - 3.005) < 1e-6  # after the last call, and its settle
    assert await _quiet_after(fg, 0.005, 1.0) == 0  # the settle has passed


async def test_quiet_gives_up_after_its_longest_wait(autojump_clock):
    fg = Foreground()
    fg.call_started()  # and never ends: a till that is never quiet
    assert abs(await _quiet_after(fg, 0.005, 0.05) - 0.05) < 1e-6


def test_an_open_sale_is_seen_on_the_bus():
    bus, fg = Bus(), Foreground()
    bus.attach(fg)
    assert not fg.selling
    bus.publish("sale.updated", {"id": "a", "state": "open"})
    bus.publish("sale.updated", {"id": "b", "state": "tendering"})
    bus.publish("shift.updated", {"id": "a", "state": "closed"})  # not a sale
    assert fg.selling
    bus.publish("sale.updated", {"id": "a", "state": "completed"})
    assert fg.selling  # b is still open
    bus.publish("sale.updated", {"id": "b", "state": "voided"})
    assert not fg.selling
