"""What the demo's tests share."""

from __future__ import annotations

import trio


async def wait_for(gw, topic, pred, timeout=5.0):
    """The first event on `topic` whose data `pred` accepts, within `timeout` seconds."""
    with trio.fail_after(timeout):
        while True:
            event = await gw.next_event(topic, timeout=timeout)
            if pred(event["data"]):
                return event
