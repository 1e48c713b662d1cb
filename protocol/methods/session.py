"""Session and system: subscriptions, `system.info`, `system.health`."""

from __future__ import annotations

from pydantic import Field, StrictInt, StrictStr

from protocol.methods.base import NoParams, Params, method


class SubscribeParams(Params):
    topics: list[StrictStr] = Field(min_length=1)
    since: StrictInt | None = None


class UnsubscribeParams(Params):
    topics: list[StrictStr] = Field(min_length=1)


method(
    "subscribe",
    SubscribeParams,
    "viewer",
    "Receive events whose topic's first segment is one of `topics` (`*` for all). With "
    "`since`, first replays buffered events after that seq; `gap` is true when some were "
    "already gone from the buffer.",
    example={
        "params": {"topics": ["sale", "devices"], "since": 41},
        "result": {"topics": ["devices", "sale"], "seq": 57, "replayed": 16, "gap": False},
    },
)
method(
    "unsubscribe",
    UnsubscribeParams,
    "viewer",
    "Stop receiving the named topics.",
    example={"params": {"topics": ["scale"]}, "result": {"topics": ["sale"]}},
)
method(
    "system.info",
    NoParams,
    "viewer",
    "Daemon name, version, protocol, till identity, uptime and current event seq.",
    example={
        "params": {},
        "result": {
            "name": "gatewayd",
            "version": "0.1.0",
            "protocol": 1,
            "till": {"store": "S001", "till": "T01"},
            "seq": 57,
            "uptime_s": 3600,
        },
    },
)
method(
    "system.health",
    NoParams,
    "viewer",
    "Overall status (`ok` or `degraded`) with the store and every device's state.",
    example={
        "params": {},
        "result": {"status": "ok", "store": {"ok": True, "journal_seq": 1200}, "devices": {}},
    },
)


