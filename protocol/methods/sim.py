"""Demo simulators (`gatewayd demo` only): `sim.*` drives the device end of a simulator."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, StrictBool, StrictInt, StrictStr

from protocol.methods.base import NoParams, Params, method


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


