"""The base of the method catalogue: `MethodSpec`, the `SPECS` registry, `Params`.

This is the contract the server binds handlers to and docs/protocol.md is generated from.
Params models are strict: a string where an integer belongs is `invalid_params`, never coerced.
Money is integer fen, quantities integer thousandths (DESIGN §3).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from protocol.roles import Role

Fen = Annotated[StrictInt, Field(description="money in fen (0.01 CNY)")]
Qty = Annotated[StrictInt, Field(description="thousandths of the item's unit (grams for kg items)")]


class Approve(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    operator: StrictStr
    pin: StrictStr


class Params(BaseModel):
    """Base of every params model: strict, no unknown keys, optional manager approval."""

    model_config = ConfigDict(extra="forbid", strict=True)
    approve: Approve | None = None


class NoParams(Params):
    pass


@dataclass(frozen=True)
class MethodSpec:
    name: str
    params: type[Params]
    role: Role
    summary: str
    errors: tuple[str, ...] = ()
    example: dict[str, Any] = field(default_factory=dict)  # {"params": ..., "result": ...}
    needs_operator: bool = False  # a cashier must be logged in (auth.login) on this connection
    demo_only: bool = False
    token_optional: bool = False  # may be called by a pairing client before it has a token


SPECS: dict[str, MethodSpec] = {}


def method(name: str, params: type[Params], role: Role, summary: str, **kw: Any) -> MethodSpec:
    spec = MethodSpec(name, params, role, summary, **kw)
    SPECS[name] = spec
    return spec


