"""Alerts: a client asks staff for attention (gatewayd/alerts.py)."""

from __future__ import annotations

from pydantic import Field, StrictInt, StrictStr

from protocol.methods.base import Params, Result, method


class AlertRaiseParams(Params):
    kind: StrictStr = Field(min_length=1, max_length=40, pattern=r"^[a-z][a-z0-9_]*$")
    message: StrictStr = Field(default="", max_length=200)
    device: StrictStr | None = Field(default=None, max_length=40)


class AlertRaised(Result):
    id: StrictStr
    seq: StrictInt = Field(description="the journal seq of `alert.raised`")


method(
    "alert.raise",
    AlertRaiseParams,
    "cashier",
    "Ask staff for attention: a kiosk's call-for-help (`kind` help) or a bagging-area "
    "mismatch (`bagging_mismatch`, with the `device`). Journaled (`alert.raised`) and "
    "published as `alerts.raised {id, kind, message, device?, source {client, kind, "
    "operator}}`.",
    example={"params": {"kind": "help", "message": "kiosk 2: customer needs help"},
             "result": {"id": "3f2a9c0d11e4", "seq": 233}},
    result=AlertRaised,
)
