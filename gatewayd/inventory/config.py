"""The `[inventory]` table of the TOML config.

    [inventory]
    allow_negative = true               # false: a sale may not take stock below zero
    slow_days = 30                      # unsold this many days with stock on hand: a slow mover
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class InventoryConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    allow_negative: bool = True
    slow_days: int = Field(default=30, ge=1, le=3650)
