"""Devices: the list, the scale, the printer, the drawer, the customer display, the label
printer."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, StrictBool, StrictInt, StrictStr

from protocol.methods.base import NoParams, Ok, Params, Result, method


class DeviceIdParams(Params):
    id: StrictStr


class OptionalDeviceParams(Params):
    device: StrictStr | None = None


class ScaleReadParams(OptionalDeviceParams):
    timeout_ms: StrictInt = Field(default=3000, ge=0, le=30000)


class PrintParams(OptionalDeviceParams):
    lines: list[StrictStr] | None = None
    receipt: list[dict[str, Any]] | None = None  # drivers.printer.receipt items as dicts


class PrintJobsParams(OptionalDeviceParams):
    state: Literal["queued", "printing", "held", "done", "sent", "cancelled"] | None = Field(
        default=None, description="only jobs in this state; default queued, printing and held")
    limit: StrictInt = Field(default=100, ge=1, le=1000)


class PrintJobParams(Params):
    job_id: StrictStr = Field(min_length=1, max_length=64)


class DisplayShowParams(OptionalDeviceParams):
    lines: list[StrictStr] = Field(min_length=1, max_length=2)


class LabelPrintParams(OptionalDeviceParams):
    skus: list[StrictStr] = Field(min_length=1, max_length=1000,
                                  description="the items, one label design each, in order")
    copies: StrictInt = Field(default=1, ge=1, le=99, description="labels of each item")


class LabelPrinted(Result):
    device: StrictStr
    skus: list[StrictStr] = Field(description="the items printed, in order")
    labels: StrictInt = Field(description="labels printed in all (skus x copies)")
    result: Literal["printed", "sent"] = Field(
        description="printed: the printer said so; sent: a printer without status")


DeviceState = Literal["offline", "online", "error"]


class Device(Result):
    """A configured device (DESIGN §6)."""

    id: StrictStr
    kind: StrictStr = Field(description="scanner, scale, printer, drawer, display, label")
    driver: StrictStr = Field(description="the codec, e.g. toledo8217, escpos, cd5220")
    transport: StrictStr = Field(description="e.g. serial:/dev/pos/scale, tcp:10.0.0.9:9100")
    state: DeviceState
    status: dict[StrictStr, Any] = Field(
        description="kind-specific (UnifiedPOS meanings, docs/devices.md): printer paper and "
        "cover_open, drawer open, scale stable/zero/over/under, scanner enabled")
    error: StrictStr | None = Field(description="the last error while not online")
    counters: dict[StrictStr, StrictInt] = Field(description="e.g. garbage_bytes")


class DeviceList(Result):
    devices: list[Device]


class ScaleReading(Result):
    device: StrictStr
    grams: StrictInt = Field(description="the displayed weight (net when `net`); 0 when the "
                             "scale reported status only")
    stable: StrictBool = Field(description="the weight has settled")
    zero: StrictBool = Field(description="at centre of zero")
    over: StrictBool = Field(description="over capacity")
    under: StrictBool = Field(description="below zero")
    tare_grams: StrictInt | None = Field(description="the tare, when the protocol says it")
    net: StrictBool = Field(description="the weight is net of a tare")


class PrintQueued(Result):
    job_id: StrictStr


class PrintJob(Result):
    id: StrictStr
    kind: StrictStr = Field(description="receipt, lines, report, ...")
    ref: StrictStr | None
    state: Literal["queued", "printing"]
    attempts: StrictInt
    last_error: StrictStr | None
    created_at: StrictInt = Field(description="microseconds since the epoch, UTC")


JobState = Literal["queued", "printing", "held", "done", "sent", "cancelled"]


class PrintJobEntry(Result):
    job_id: StrictStr
    printer: StrictStr
    kind: StrictStr = Field(description="receipt, lines, report, ...")
    ref: StrictStr | None
    state: JobState = Field(description="held: set aside after its own failures; sent: "
                            "printed on a printer without status, unconfirmed")
    attempts: StrictInt = Field(description="print attempts (the printer's faults)")
    failures: StrictInt = Field(description="the job's own failures (it could not be "
                                "rendered or printed); held after 3")
    last_error: StrictStr | None
    created_at: StrictInt = Field(description="microseconds since the epoch, UTC")
    updated_at: StrictInt = Field(description="microseconds since the epoch, UTC")


class PrintJobs(Result):
    jobs: list[PrintJobEntry] = Field(description="newest first")


class PrintJobCancelled(Result):
    job_id: StrictStr
    state: Literal["cancelled"]


class PrinterStatus(Device):
    device: StrictStr = Field(description="the printer's id (as `id`)")
    jobs: list[PrintJob] = Field(description="queued and printing jobs, oldest first")


class DrawerStatus(Result):
    device: StrictStr
    state: DeviceState
    open: StrictBool


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
    result=DeviceList,
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
    result=Device,
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
    result=ScaleReading,
)
method(
    "scale.zero",
    OptionalDeviceParams,
    "cashier",
    "Zero the scale.",
    errors=("device_offline", "device_busy"),
    example={"params": {}, "result": {"ok": True}},
    result=Ok,
)
method(
    "scale.tare",
    OptionalDeviceParams,
    "cashier",
    "Tare the scale.",
    errors=("device_offline", "device_busy"),
    example={"params": {}, "result": {"ok": True}},
    result=Ok,
)
method(
    "printer.print",
    PrintParams,
    "cashier",
    "Queue a print job (plain `lines`, or a `receipt` document); the job is persistent "
    "and survives paper-out, cover-open, offline and restarts.",
    errors=("invalid_params", "not_found"),
    example={"params": {"lines": ["测试 test"]}, "result": {"job_id": "6c0e…"}},
    result=PrintQueued,
)
method(
    "printer.jobs",
    PrintJobsParams,
    "cashier",
    "Print jobs, newest first: those waiting (`queued`, `printing`) and those set aside "
    "(`held`: the job itself failed 3 times and no longer blocks the queue), or any `state`. "
    "`failures` counts the job's own failures, `attempts` its print attempts; a job on a "
    "printer without status ends `sent`, not `done`.",
    errors=("invalid_params",),
    example={"params": {"state": "held"}, "result": {"jobs": [
        {"job_id": "6c0e…", "printer": "printer", "kind": "receipt", "ref": "manual",
         "state": "held", "attempts": 0, "failures": 3, "last_error": "ValueError: ...",
         "created_at": 1767225600000000, "updated_at": 1767225603000000}]}},
    result=PrintJobs,
)
method(
    "printer.job_cancel",
    PrintJobParams,
    "supervisor",
    "Cancel a print job that has not printed (queued, held aside or interrupted).",
    errors=("not_found", "conflict"),
    example={"params": {"job_id": "6c0e…"}, "result": {"job_id": "6c0e…", "state": "cancelled"}},
    result=PrintJobCancelled,
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
    result=PrinterStatus,
)
method(
    "drawer.open",
    OptionalDeviceParams,
    "cashier",
    "Open the cash drawer (a no-sale open; needs approval when configured).",
    errors=("device_offline", "approval_required"),
    example={"params": {}, "result": {"ok": True}},
    result=Ok,
)
method(
    "drawer.status",
    OptionalDeviceParams,
    "viewer",
    "Whether the drawer is open.",
    example={"params": {}, "result": {"device": "drawer", "open": False}},
    result=DrawerStatus,
)
method(
    "display.show",
    DisplayShowParams,
    "cashier",
    "Show two lines on the customer display.",
    errors=("device_offline",),
    example={"params": {"lines": ["欢迎光临", "Welcome"]}, "result": {"ok": True}},
    result=Ok,
)
method(
    "label.print",
    LabelPrintParams,
    "cashier",
    "Print price labels (价签) on the label printer (TSPL): per item its name, price in "
    "yuan per unit, the promotion price while one is live (with the list price), and its "
    "barcode (EAN-13, else the sku as CODE128); `copies` of each. Every sku is looked up "
    "first: an unknown one is `not_found` {skus} and nothing prints. Batches of 20 items; "
    "`label.progress` {device, done, total} is published after each. A printer with its "
    "head open or out of paper refuses a batch (`device_busy` {reason, printed}: the skus "
    "confirmed before it); `device_offline` likewise.",
    errors=("not_found", "device_busy", "device_offline", "invalid_params"),
    example={"params": {"skus": ["100003", "700001"], "copies": 2},
             "result": {"device": "label", "skus": ["100003", "700001"], "labels": 4,
                        "result": "printed"}},
    result=LabelPrinted,
)
