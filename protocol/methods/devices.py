"""Devices: the list, the scale, the printer, the drawer, the customer display."""

from __future__ import annotations

from typing import Any

from pydantic import Field, StrictInt, StrictStr

from protocol.methods.base import NoParams, Params, method


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


