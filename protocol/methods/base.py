"""The base of the method catalogue: `MethodSpec`, the `SPECS` registry, `Params`.

This is the contract the server binds handlers to and docs/protocol.md is generated from.
Params models are strict: a string where an integer belongs is `invalid_params`, never coerced.
Money is integer fen, quantities integer thousandths (DESIGN §3).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from protocol.codec import pack, unpack
from protocol.roles import Role, rank

Fen = Annotated[StrictInt, Field(description="money in fen (0.01 CNY)")]
Qty = Annotated[StrictInt, Field(description="thousandths of the item's unit (grams for kg items)")]


OperatorId = Annotated[StrictStr, Field(min_length=1, max_length=32)]
Pin = Annotated[StrictStr, Field(max_length=32)]


class Approve(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    operator: OperatorId
    pin: Pin


class Params(BaseModel):
    """Base of every params model: strict, no unknown keys, optional manager approval."""

    model_config = ConfigDict(extra="forbid", strict=True)
    approve: Approve | None = None


class NoParams(Params):
    pass


class Result(BaseModel):
    """Base of every result model: what the method answers, every key declared.

    A field without a default is always in the answer (its value may be nil when the type
    allows it); a field with a default may be absent, as its description says. Results are
    not validated on the way out in production (they are built by the daemon, not received);
    the tests check every answer against its model (`check_result`, GATEWAYD_CHECK_RESULTS)."""

    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=True)


class Ok(Result):
    ok: Literal[True]


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
    result: type[Result] | None = None  # the model of the answer (docs, typedefs, checks)
    # A site may lower `role` down to this in `[auth] require` (a refund is a supervisor's
    # unless the store lets cashiers refund); None: `role` is a floor, only raised.
    lowest_role: Role | None = None

    def site_role(self, configured: str | None) -> str:
        """The role this method needs at a site whose `[auth] require` names `configured`
        for it: raised freely, lowered no further than `lowest_role`."""
        floor = self.lowest_role or self.role
        if configured is None:
            return self.role
        return configured if rank(configured) >= rank(floor) else floor


SPECS: dict[str, MethodSpec] = {}


def method(name: str, params: type[Params], role: Role, summary: str, **kw: Any) -> MethodSpec:
    spec = MethodSpec(name, params, role, summary, **kw)
    SPECS[name] = spec
    return spec


def check_result(spec: MethodSpec, result: Any) -> None:
    """Validate an answer as the client will decode it (packed, unpacked) against the
    method's result model, and require the exact round trip: the model neither drops nor
    adds a key. Raises ValueError or pydantic.ValidationError."""
    if spec.result is None:
        raise ValueError(f"{spec.name} declares no result model")
    data = unpack(pack(result))
    again = spec.result.model_validate(data).model_dump(exclude_unset=True, by_alias=True)
    if again != data:
        raise ValueError(f"{spec.name}: the result model does not round-trip the answer "
                         f"(sent {data!r}, model gives {again!r})")


