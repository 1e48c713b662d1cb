"""report.sales, report.profit and report.inventory: the tables of gatewayd/reports.py."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from gatewayd import reports
from gatewayd.reports import ReportError
from protocol.errors import ProtocolError
from protocol.methods import ReportInventoryParams, ReportProfitParams, ReportSalesParams

if TYPE_CHECKING:
    from gatewayd.server.registry import CallContext, Registry
    from gatewayd.store.db import Store


def register(reg: Registry, store: Store, tz: ZoneInfo) -> None:
    async def guard(fn: Callable[..., Any], *args: Any, **kw: Any) -> dict[str, Any]:
        """A report reads history: on a reader thread (gatewayd/store/reader.py), never on
        the event loop."""
        try:
            return await store.read(lambda snap: fn(snap, tz, *args, **kw).as_wire())
        except ReportError as exc:
            raise ProtocolError("invalid_params", str(exc)) from None

    @reg.method("report.sales")
    async def report_sales(ctx: CallContext, p: ReportSalesParams) -> dict[str, Any]:
        return await guard(reports.sales_report, p.by, p.from_, p.to, p.limit)

    @reg.method("report.profit")
    async def report_profit(ctx: CallContext, p: ReportProfitParams) -> dict[str, Any]:
        return await guard(reports.profit_report, p.by, p.from_, p.to, p.limit)

    @reg.method("report.inventory")
    async def report_inventory(ctx: CallContext, p: ReportInventoryParams) -> dict[str, Any]:
        return await guard(reports.inventory_report, p.from_, p.to, slow_days=p.slow_days,
                           slow_only=p.slow_only, limit=p.limit)
