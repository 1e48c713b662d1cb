"""Shifts, cash and the business day: shift.*, report.x, report.z, day.close, day.reopen
(gatewayd/sales/shifts.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from protocol.methods import (
    DayParams,
    NoParams,
    ReportXParams,
    ShiftCashParams,
    ShiftCloseParams,
    ShiftOpenParams,
)

if TYPE_CHECKING:
    from gatewayd.sales.shifts import ShiftService
    from gatewayd.server.registry import CallContext, Registry


def register(reg: Registry, svc: ShiftService) -> None:
    @reg.method("shift.open")
    async def shift_open(ctx: CallContext, p: ShiftOpenParams) -> dict[str, Any]:
        return await svc.open(ctx.operator_id, p.float)

    @reg.method("shift.cash")
    async def shift_cash(ctx: CallContext, p: ShiftCashParams) -> dict[str, Any]:
        return await svc.cash(ctx.operator_id, p.amount, p.reason)

    @reg.method("shift.close")
    async def shift_close(ctx: CallContext, p: ShiftCloseParams) -> dict[str, Any]:
        return await svc.close(ctx.operator_id, p.counted)

    @reg.method("shift.current")
    async def shift_current(ctx: CallContext, p: NoParams) -> dict[str, Any]:
        return svc.current()

    @reg.method("report.x")
    async def report_x(ctx: CallContext, p: ReportXParams) -> dict[str, Any]:
        return svc.report_x(p.shift_id)

    @reg.method("report.z")
    async def report_z(ctx: CallContext, p: DayParams) -> dict[str, Any]:
        return svc.report_z(p.day)

    @reg.method("day.close")
    async def day_close(ctx: CallContext, p: DayParams) -> dict[str, Any]:
        return await svc.close_day(ctx.actor, p.day)

    @reg.method("day.reopen")
    async def day_reopen(ctx: CallContext, p: DayParams) -> dict[str, Any]:
        # the method needs a manager (protocol/methods.py): the approver, or the operator
        # when a manager is logged in, reopens it
        manager = ctx.approver.id if ctx.approver else ctx.actor
        return await svc.reopen_day(ctx.actor, manager, p.day)
