"""`[till]`: who this till is. Its own module because the domain services take it too
(receipt numbers, the business day's timezone) and gatewayd/config.py composes it."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, field_validator


class TillConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    store: str = "S001"
    till: str = "T01"
    name: str = "gatewayd"
    timezone: str = "Asia/Shanghai"
    currency: str = "CNY"

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown timezone {v!r}: an IANA name such as Asia/Shanghai"
            ) from None
        return v
