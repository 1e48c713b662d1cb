"""The method catalogue: for each method its params model, minimum role and documentation.

This is the contract the server binds handlers to and docs/protocol.md is generated from.
Params models are strict: a string where an integer belongs is `invalid_params`, never coerced.
Money is integer fen, quantities integer thousandths (DESIGN §3).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

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


# -- session -------------------------------------------------------------------------------
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


# -- auth ------------------------------------------------------------------------------------
class LoginParams(Params):
    operator: StrictStr
    pin: StrictStr


class PairStatusParams(Params):
    request_id: StrictStr


class PairRequestParams(Params):
    name: StrictStr | None = None


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
)
method(
    "auth.logout",
    NoParams,
    "viewer",
    "Log the operator out of this connection.",
    example={"params": {}, "result": {"ok": True}},
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
)


# -- devices ---------------------------------------------------------------------------------
class DeviceIdParams(Params):
    id: StrictStr


class OptionalDeviceParams(Params):
    device: StrictStr | None = None


class ScaleReadParams(OptionalDeviceParams):
    timeout_ms: StrictInt = Field(default=3000, ge=0, le=30000)


class PrintParams(OptionalDeviceParams):
    lines: list[StrictStr] | None = None
    receipt: list[dict[str, Any]] | None = None  # drivers.printer.receipt items as dicts


class DisplayShowParams(OptionalDeviceParams):
    lines: list[StrictStr] = Field(min_length=1, max_length=2)


method(
    "devices.list",
    NoParams,
    "viewer",
    "Every configured device with state and status.",
    example={
        "params": {},
        "result": {
            "devices": [
                {
                    "id": "scale",
                    "kind": "scale",
                    "state": "online",
                    "status": {"stable": True, "grams": 0},
                }
            ]
        },
    },
)
method(
    "devices.get",
    DeviceIdParams,
    "viewer",
    "One device.",
    errors=("not_found",),
    example={
        "params": {"id": "printer"},
        "result": {
            "id": "printer",
            "kind": "printer",
            "state": "online",
            "status": {"paper": "ok", "cover_open": False},
        },
    },
)
method(
    "scale.read",
    ScaleReadParams,
    "cashier",
    "The current stable weight, or wait for one up to `timeout_ms`.",
    errors=("device_offline", "not_found"),
    example={
        "params": {"timeout_ms": 2000},
        "result": {"device": "scale", "grams": 1235, "stable": True},
    },
)
method(
    "scale.zero",
    OptionalDeviceParams,
    "cashier",
    "Zero the scale.",
    errors=("device_offline", "device_busy"),
    example={"params": {}, "result": {"ok": True}},
)
method(
    "scale.tare",
    OptionalDeviceParams,
    "cashier",
    "Tare the scale.",
    errors=("device_offline", "device_busy"),
    example={"params": {}, "result": {"ok": True}},
)
method(
    "printer.print",
    PrintParams,
    "cashier",
    "Queue a print job (plain `lines`, or a `receipt` document); the job is persistent "
    "and survives paper-out, cover-open, offline and restarts.",
    errors=("invalid_params", "not_found"),
    example={"params": {"lines": ["测试 test"]}, "result": {"job_id": "6c0e…"}},
)
method(
    "printer.status",
    OptionalDeviceParams,
    "viewer",
    "Printer status and queued jobs.",
    errors=("not_found",),
    example={
        "params": {},
        "result": {"device": "printer", "state": "online", "status": {"paper": "ok"}, "jobs": []},
    },
)
method(
    "drawer.open",
    OptionalDeviceParams,
    "cashier",
    "Open the cash drawer (a no-sale open; needs approval when configured).",
    errors=("device_offline", "approval_required"),
    example={"params": {}, "result": {"ok": True}},
)
method(
    "drawer.status",
    OptionalDeviceParams,
    "viewer",
    "Whether the drawer is open.",
    example={"params": {}, "result": {"device": "drawer", "open": False}},
)
method(
    "display.show",
    DisplayShowParams,
    "cashier",
    "Show two lines on the customer display.",
    errors=("device_offline",),
    example={"params": {"lines": ["欢迎光临", "Welcome"]}, "result": {"ok": True}},
)


# -- demo simulators ------------------------------------------------------------------------
class SimScanParams(Params):
    data: StrictStr = Field(min_length=1)
    device: StrictStr | None = None


class SimWeighParams(Params):
    grams: StrictInt
    stable: StrictBool = True
    device: StrictStr | None = None


class SimPrinterParams(Params):
    paper: Literal["ok", "near_end", "empty"] | None = None
    cover: Literal["open", "closed"] | None = None


class SimDrawerParams(Params):
    open: StrictBool


class SimDeviceParams(Params):
    device: StrictStr


class SimReceiptsParams(Params):
    last: StrictInt | None = Field(default=None, ge=1)


_demo = {"demo_only": True}
method(
    "sim.scan",
    SimScanParams,
    "cashier",
    "Simulated scanner sends a code.",
    **_demo,
    example={"params": {"data": "6901234567892"}, "result": {"ok": True}},
)
method(
    "sim.weigh",
    SimWeighParams,
    "cashier",
    "Put a weight on the simulated scale.",
    **_demo,
    example={"params": {"grams": 1235, "stable": True}, "result": {"ok": True}},
)
method(
    "sim.printer",
    SimPrinterParams,
    "cashier",
    "Paper or cover state of the simulated printer.",
    **_demo,
    example={"params": {"paper": "empty"}, "result": {"ok": True}},
)
method(
    "sim.drawer",
    SimDrawerParams,
    "cashier",
    "Open/close the simulated drawer sensor.",
    **_demo,
    example={"params": {"open": False}, "result": {"ok": True}},
)
method(
    "sim.receipts",
    SimReceiptsParams,
    "viewer",
    "What the printer simulator received: each receipt's raw bytes and rendered lines.",
    **_demo,
    example={
        "params": {"last": 1},
        "result": {"receipts": [{"lines": ["..."], "raw": b"\x1b@..."}]},
    },
)
method(
    "sim.display",
    NoParams,
    "viewer",
    "What the simulated pole display shows.",
    **_demo,
    example={"params": {}, "result": {"lines": ["苹果          ¥3.50", "合计        ¥12.00"]}},
)
method(
    "sim.unplug",
    SimDeviceParams,
    "cashier",
    "Unplug a simulated device.",
    **_demo,
    example={"params": {"device": "scale"}, "result": {"ok": True}},
)
method(
    "sim.plug",
    SimDeviceParams,
    "cashier",
    "Plug a simulated device back in.",
    **_demo,
    example={"params": {"device": "scale"}, "result": {"ok": True}},
)
