"""Device simulators: the device end of a real byte protocol, sans-I/O.

A simulator is fed the bytes the host wrote and queues the bytes the device answers;
`drivers.sim.runner` couples it to a pty or TCP socket so the daemon's real transport and
driver talk to it. Actions (a scan, a new weight, paper out) change state and may queue
unsolicited output; the runner flushes after every feed, every action and every tick.

History is bounded: what a simulator keeps for tests and `sim.*` views (receipts, kicks,
scans, scale commands, display screens) is a ring of the last `history` entries, so a demo
that runs for days stays flat in memory.
"""

from __future__ import annotations

from typing import Any

HISTORY = 200


def remember(ring: list[Any], item: Any, size: int = HISTORY) -> None:
    """Append to a bounded history list, dropping the oldest entries beyond `size`."""
    ring.append(item)
    if len(ring) > size:
        del ring[: len(ring) - size]


class SimDevice:
    kind: str = ""
    # Seconds between ticks, for devices that stream on their own (CAS continuous); None: no ticks.
    tick_interval: float | None = None

    def __init__(self) -> None:
        self._out = bytearray()

    def feed(self, data: bytes) -> None:
        """Bytes the host sent to the device."""

    def tick(self) -> None:
        """Called every `tick_interval` seconds by the runner."""

    def send(self, data: bytes) -> None:
        """Queue bytes from the device to the host."""
        self._out += data

    def read_output(self) -> bytes:
        out, self._out = bytes(self._out), bytearray()
        return out

    def snapshot(self) -> dict[str, Any]:
        """What a test or `sim.*` method wants to see of the device's state."""
        return {}
