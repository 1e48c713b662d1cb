"""Authentication: operator login, operators, pairing."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, StrictBool, StrictInt, StrictStr

from protocol.methods.base import NoParams, Ok, Params, Result, method


class LoginParams(Params):
    operator: StrictStr
    pin: StrictStr


class OperatorListParams(Params):
    include_inactive: StrictBool = False


class PairStatusParams(Params):
    request_id: StrictStr


class PairRequestParams(Params):
    name: StrictStr | None = None


class LoginResult(Result):
    operator: StrictStr
    name: StrictStr
    role: StrictStr = Field(description="the operator's role")
    effective_role: StrictStr = Field(description="the connection's role now: the lower of "
                                      "the token's and the operator's")


class OperatorEntry(Result):
    id: StrictStr
    name: StrictStr
    role: StrictStr
    active: StrictBool
    locked: StrictBool


class OperatorList(Result):
    operators: list[OperatorEntry]


class PairRequestResult(Result):
    code: StrictStr = Field(description="show it to the user")
    request_id: StrictStr = Field(description="secret: poll pair.status with it")
    expires_s: StrictInt


class PairStatusResult(Result):
    status: Literal["pending", "approved", "collected", "expired", "denied"]
    code: StrictStr | None = Field(default=None, description="absent when approved")
    token: StrictStr | None = Field(default=None, description="approved: the token, once")
    role: StrictStr | None = Field(default=None, description="approved: the token's role")


method(
    "auth.login",
    LoginParams,
    "viewer",
    "Log an operator in on this connection. Five wrong PINs lock the operator for five "
    "minutes. Every login, failure and lock is journaled.",
    errors=("unauthenticated", "forbidden"),
    example={
        "params": {"operator": "1001", "pin": "1234"},
        "result": {"operator": "1001", "name": "Li Na", "role": "cashier"},
    },
    result=LoginResult,
)
method(
    "auth.logout",
    NoParams,
    "viewer",
    "Log the operator out of this connection.",
    example={"params": {}, "result": {"ok": True}},
    result=Ok,
)
method(
    "operator.list",
    OperatorListParams,
    "supervisor",
    "The till's operators (id, name, role, active, locked); never a PIN. Operators are added "
    "with `gatewayd operator add`.",
    example={"params": {}, "result": {"operators": [
        {"id": "1001", "name": "李娜 Li Na", "role": "cashier", "active": True,
         "locked": False}]}},
    result=OperatorList,
)
method(
    "pair.request",
    PairRequestParams,
    "viewer",
    "Ask to be paired (no token needed: send hello with an empty token). Returns a short "
    "code to show the user and a secret request id; an admin runs "
    "`gatewayd pair approve CODE --role ROLE`.",
    token_optional=True,
    example={
        "params": {"name": "checkout tablet 2"},
        "result": {"code": "K7Q4M2", "request_id": "9b1f…", "expires_s": 600},
    },
    result=PairRequestResult,
)
method(
    "pair.status",
    PairStatusParams,
    "viewer",
    "Poll a pairing request: `pending`, `approved` (with the token, returned exactly once), "
    "`collected`, `expired` or `denied`.",
    token_optional=True,
    errors=("not_found",),
    example={
        "params": {"request_id": "9b1f…"},
        "result": {"status": "approved", "token": "gw_…", "role": "cashier"},
    },
    result=PairStatusResult,
)


