"""Demo simulators (`gatewayd demo` only): `sim.*` drives the device end of a simulator."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, StrictBool, StrictInt, StrictStr

from protocol.methods.base import NoParams, Ok, Params, Result, method


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


class SimLabelParams(Params):
    paper: Literal["ok", "empty"] | None = None
    head: Literal["open", "closed"] | None = None


class SimLabelState(Result):
    ok: Literal[True]
    paper: StrictBool = Field(description="paper in the printer")
    head_open: StrictBool


class SimLabel(Result):
    size: StrictStr = Field(description="the SIZE of the label, e.g. 40 mm x 30 mm")
    lines: list[StrictStr] = Field(
        description="its elements in reading order: texts, [BARCODE type:data], [QR:data]")


class SimLabels(Result):
    labels: list[SimLabel]
    count: StrictInt = Field(description="labels printed in all")


_demo = {"demo_only": True}
class SimPrinterResult(Result):
    ok: Literal[True]
    paper: Literal["ok", "near_end", "empty"] | None = None
    cover_open: StrictBool | None = None


class SimLine(Result):
    text: StrictStr
    bold: Literal[True] | None = Field(default=None, description="absent: not bold")
    size: StrictStr | None = Field(default=None, description="e.g. 2x2; absent: 1x1")


class SimReceipt(Result):
    lines: list[SimLine] = Field(description="the rendering of what was printed")
    cut: Literal["full", "partial"] | None
    complete: StrictBool = Field(description="ended by a cut (not by paper running out)")
    raw: bytes = Field(description="the bytes the printer simulator received")


class SimReceipts(Result):
    receipts: list[SimReceipt]
    count: StrictInt = Field(description="receipts received in all")


class SimDisplay(Result):
    lines: list[StrictStr]


method(
    "sim.scan",
    SimScanParams,
    "cashier",
    "Simulated scanner sends a code.",
    **_demo,
    example={"params": {"data": "6901028068123"}, "result": {"ok": True}},
    result=Ok,
)
method(
    "sim.weigh",
    SimWeighParams,
    "cashier",
    "Put a weight on the simulated scale.",
    **_demo,
    example={"params": {"grams": 1235, "stable": True}, "result": {"ok": True}},
    result=Ok,
)
method(
    "sim.printer",
    SimPrinterParams,
    "cashier",
    "Paper or cover state of the simulated printer.",
    **_demo,
    example={"params": {"paper": "empty"}, "result": {"ok": True}},
    result=SimPrinterResult,
)
method(
    "sim.drawer",
    SimDrawerParams,
    "cashier",
    "Open/close the simulated drawer sensor.",
    **_demo,
    example={"params": {"open": False}, "result": {"ok": True}},
    result=Ok,
)
method(
    "sim.receipts",
    SimReceiptsParams,
    "viewer",
    "What the printer simulator received: each receipt's raw bytes and rendered lines.",
    **_demo,
    example={
        "params": {"last": 1},
        "result": {"receipts": [{"lines": [{"text": "测试 test"}], "cut": "partial",
                                 "complete": True, "raw": b"\x1b@..."}], "count": 1},
    },
    result=SimReceipts,
)
method(
    "sim.display",
    NoParams,
    "viewer",
    "What the simulated pole display shows.",
    **_demo,
    example={"params": {}, "result": {"lines": ["苹果          ¥3.50", "合计        ¥12.00"]}},
    result=SimDisplay,
)
method(
    "sim.unplug",
    SimDeviceParams,
    "cashier",
    "Unplug a simulated device.",
    **_demo,
    example={"params": {"device": "scale"}, "result": {"ok": True}},
    result=Ok,
)
method(
    "sim.plug",
    SimDeviceParams,
    "cashier",
    "Plug a simulated device back in.",
    **_demo,
    example={"params": {"device": "scale"}, "result": {"ok": True}},
    result=Ok,
)
method(
    "sim.label",
    SimLabelParams,
    "cashier",
    "Paper or print head of the simulated label printer.",
    **_demo,
    example={"params": {"paper": "empty"}, "result": {"ok": True, "paper": False,
                                                      "head_open": False}},
    result=SimLabelState,
)
method(
    "sim.labels",
    SimReceiptsParams,
    "viewer",
    "What the simulated label printer printed: each label's size and rendered lines.",
    **_demo,
    example={"params": {"last": 1},
             "result": {"labels": [{"size": "40 mm x 30 mm", "lines": [
                 "可口可乐330ml罐装", "¥3.00", "/件", "[BARCODE EAN13:6928804011142]"]}],
                        "count": 1}},
    result=SimLabels,
)
