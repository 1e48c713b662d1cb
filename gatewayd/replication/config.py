"""The `[hq]` section of the till's config: the link's tuning, and optionally its URL, CA and
credential (enrollment stores URL and credential in the store; those win)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


class LinkConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str | None = None  # ws://HOST:PORT or wss://HOST:PORT
    credential: str | None = None
    ca_file: Path | None = None  # CA bundle to trust for wss:// (else the system's)
    batch_events: int = Field(default=500, ge=1, le=2000)
    batch_bytes: int = Field(default=512 << 10, ge=1024, le=4 << 20)
    window: int = Field(default=4, ge=1, le=64, description="pushes in flight unacknowledged")
    backoff_min_s: float = Field(default=0.5, gt=0)
    backoff_max_s: float = Field(default=30.0, gt=0)
    poll_s: float = Field(default=0.05, gt=0, description="how often new journal events are "
                          "looked for while the link is up")
    local_items: bool = Field(default=False, description="allow catalog.upsert here although "
                              "head office sends the items (local items beside the chain's)")
    request_timeout_s: float = Field(default=3.0, gt=0, le=60, description="how long a "
                                     "request (a stored-value hold) waits for head office "
                                     "before the offline policy applies")
    save_ack_s: float = Field(default=1.0, gt=0, description="how often the acked cursor is "
                              "written to the store")
    selling_events: int = Field(default=100, ge=1, le=2000, description="while a sale is "
                                "open: events a push takes, and in flight at most")
    yield_settle_s: float = Field(default=0.005, ge=0, description="a push waits until no "
                                  "client call has been in flight for this long")
    yield_max_s: float = Field(default=0.05, ge=0, description="and waits at most this "
                               "long for that, then goes anyway (a till that is never quiet "
                               "still catches up)")

