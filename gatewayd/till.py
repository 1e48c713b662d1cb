"""`[till]`: who this till is. Its own module because the domain services take it too
(receipt numbers, the business day's timezone) and gatewayd/config.py composes it."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class TillConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    store: str = "S001"
    till: str = "T01"
    name: str = "gatewayd"
    timezone: str = "Asia/Shanghai"
    currency: str = "CNY"
