"""The event bus: per-daemon seq, a replay ring, and non-blocking fan-out.

`publish` never awaits and never blocks on a subscriber: each subscriber owns a bounded
outbox and decides itself what to do when it is full (server/session.py). Every subscriber
sees events in seq order, also when a subscriber publishes from inside `offer` (the scan
router does): such an event waits until the one being fanned out has reached everybody.
"""

from __future__ import annotations

import struct
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

from protocol.codec import pack

# Topics whose events are snapshots: a slow client gets the latest, not every one.
SNAPSHOT_TOPICS = frozenset({"scale.reading", "devices.status", "printer.status", "drawer.status"})


@dataclass(frozen=True, slots=True)
class BusEvent:
    seq: int
    topic: str
    data: dict[str, Any]
    frame: bytes  # the encoded event frame, shared by every subscriber
    _wire: bytes | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def group(self) -> str:
        return self.topic.split(".", 1)[0]

    @property
    def wire(self) -> bytes:
        """`frame` as one WebSocket binary message, built once for all the clients."""
        wire = self._wire
        if wire is None:
            wire = websocket_binary(self.frame)
            object.__setattr__(self, "_wire", wire)
        return wire


class Buffered(NamedTuple):
    """What the replay ring keeps of an event: its encoded frame, not its data. A ring of
    4096 whole sale dicts would be a few hundred thousand live objects for every full
    garbage collection to walk (a pause of 100 ms and more on a till PC)."""

    seq: int
    topic: str
    frame: bytes


def websocket_binary(payload: bytes) -> bytes:
    """An unfragmented binary WebSocket frame as a server sends it: unmasked, no extension
    (RFC 6455 §5.2; the server runs with compression off)."""
    n = len(payload)
    if n < 126:
        return bytes((0x82, n)) + payload
    if n < 65536:
        return struct.pack("!BBH", 0x82, 126, n) + payload
    return struct.pack("!BBQ", 0x82, 127, n) + payload


class Subscriber(Protocol):
    def offer(self, event: BusEvent) -> None: ...


def matches(topics: Iterable[str], event_topic: str) -> bool:
    group = event_topic.split(".", 1)[0]
    return any(t == "*" or t == group or t == event_topic for t in topics)


class Bus:
    def __init__(self, replay: int = 4096):
        self.seq = 0
        self._ring: deque[Buffered] = deque(maxlen=replay)
        self._subscribers: set[Subscriber] = set()
        self.published = 0
        self._fanout: deque[BusEvent] = deque()  # published, not yet offered to everybody
        self._fanning = False

    def publish(self, topic: str, data: dict[str, Any]) -> BusEvent:
        self.seq += 1
        frame = pack({"type": "event", "topic": topic, "seq": self.seq, "data": data})
        event = BusEvent(self.seq, topic, data, frame)
        self._ring.append(Buffered(self.seq, topic, frame))
        self.published += 1
        self._fanout.append(event)
        if not self._fanning:  # else a subscriber published from its offer: queued above
            self._fanning = True
            try:
                while self._fanout:
                    queued = self._fanout.popleft()
                    for sub in tuple(self._subscribers):
                        sub.offer(queued)
            finally:
                self._fanning = False
        return event

    def attach(self, sub: Subscriber) -> None:
        self._subscribers.add(sub)

    def detach(self, sub: Subscriber) -> None:
        self._subscribers.discard(sub)

    def since(self, seq: int) -> tuple[list[Buffered], bool]:
        """Buffered events after `seq`, and whether some were already dropped (a gap)."""
        events = [e for e in self._ring if e.seq > seq]
        oldest = self._ring[0].seq if self._ring else self.seq + 1
        return events, seq + 1 < oldest and seq < self.seq
