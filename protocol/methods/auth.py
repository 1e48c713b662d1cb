"""Authentication: operator login, operators, pairing."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, StrictBool, StrictInt, StrictStr

from protocol.methods.base import NoParams, Ok, OperatorId, Params, Pin, Result, method


class LoginParams(Params):
    operator: OperatorId
    pin: Pin
    keep: StrictBool = Field(
        default=False,
        description="also answer a `session` that `auth.resume` accepts on later connections "
        "made with the same token (posctl keeps the operator between commands this way)",
    )


class ResumeParams(Params):
    session: StrictStr


class OperatorListParams(Params):
    include_inactive: StrictBool = False


class PairStatusParams(Params):
    request_id: StrictStr = Field(max_length=64)


class PairRequestParams(Params):
    name: StrictStr | None = Field(default=None, min_length=1, max_length=64)


class LoginResult(Result):
    operator: StrictStr
    name: StrictStr
    role: StrictStr = Field(description="the operator's role")
    effective_role: StrictStr = Field(description="the connection's role now: the lower of "
                                      "the token's and the operator's")
    session: StrictStr | None = Field(default=None, description="with `keep`: the secret "
                                      "`auth.resume` takes; shown once")


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
    "Log an operator in on this connection (a viewer or display token may not: "
    "`forbidden`). Five wrong PINs lock the operator id for five minutes, each next lock "
    "twice as long; one client address past ten wrong PINs waits 1 s, 2 s, 4 s ... "
    "(`forbidden` with `retry_s`). Every login, failure and lock is journaled. With "
    "`keep`, the result also carries a `session` for `auth.resume`.",
    errors=("unauthenticated", "forbidden"),
    example={
        "params": {"operator": "1001", "pin": "1234", "keep": True},
        "result": {"operator": "1001", "name": "Li Na", "role": "cashier",
                   "effective_role": "cashier", "session": "gws_…"},
    },
    result=LoginResult,
)
method(
    "auth.resume",
    ResumeParams,
    "viewer",
    "Log in the operator of a session that `auth.login` with `keep` answered, on a new "
    "connection made with the same token. A kept session ends after 12 hours, at "
    "`auth.logout` on any connection that uses it, when its operator is locked or removed, "
    "and when the daemon restarts.",
    errors=("unauthenticated",),
    example={
        "params": {"session": "gws_…"},
        "result": {"operator": "1001", "name": "Li Na", "role": "cashier",
                   "effective_role": "cashier"},
    },
    result=LoginResult,
)
method(
    "auth.logout",
    NoParams,
    "viewer",
    "Log the operator out of this connection, and end its kept session if it has one.",
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
    "`gatewayd pair approve CODE --role ROLE`. Limited per client address and overall, "
    "and so is the number of requests pending at once (`conflict` with `retry_s`).",
    token_optional=True,
    errors=("conflict", "invalid_params"),
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


