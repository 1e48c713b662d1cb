"""A cash top-up is cash in the drawer: the shift expects it. And the daily recompute task
that ages tiers and expires points for members who stop buying."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import trio

from clients.python import connect
from gatewayd.members.service import MemberService, seconds_until


async def test_cash_topup_is_a_paid_in_of_the_open_shift(daemon):
    daemon.operator("1001", "cashier", "1234")
    async with connect(daemon.url, daemon.token("admin")) as gw:
        await gw.call("auth.login", operator="1001", pin="1234")
        await gw.call("member.register", phone="13812345678", name="张三")
        # no shift open: the top-up is taken, nothing is expected in a drawer
        await gw.call("member.topup", code="13812345678", amount=10_000)
        await gw.call("shift.open", float=20_000)
        topped = await gw.call("member.topup", code="13812345678", amount=50_000)
        assert topped["bonus"] == 5_000  # 充500送50
        await gw.call("member.topup", code="13812345678", amount=3_000, method="alipay")
        closed = await gw.call("shift.close", counted=70_000)
        # only the cash top-up during the shift is expected in the drawer
        assert closed["expected"] == 20_000 + 50_000 and closed["variance"] == 0
        assert closed["report"]["cash"]["paid_in"] == 50_000
    moves = [e.data for e in daemon.app.store.journal(limit=10_000) if e.kind == "shift.cash"]
    assert len(moves) == 1 and moves[0]["amount"] == 50_000
    assert moves[0]["operator"] == "1001" and "top-up" in moves[0]["reason"]


def test_seconds_until_the_next_run():
    tz = ZoneInfo("Asia/Shanghai")
    assert seconds_until(datetime(2026, 11, 23, 2, 30, tzinfo=tz), 3) == 1800
    assert seconds_until(datetime(2026, 11, 23, 3, 0, tzinfo=tz), 3) == 86400
    assert seconds_until(datetime(2026, 11, 23, 23, 0, tzinfo=tz), 3) == 4 * 3600


async def test_daily_task_recomputes_after_start_then_daily(daemon, autojump_clock):
    events = []
    svc = MemberService(daemon.app.store, None, "Asia/Shanghai",
                        lambda topic, data: events.append((topic, data)))
    async with trio.open_nursery() as nursery:
        await nursery.start(svc.run_daily)
        await trio.sleep(61)  # the first run, a minute after start
        assert [t for t, _ in events] == ["members.recomputed"]
        await trio.sleep(86400)  # and at least once more within a day
        assert len(events) >= 2
        nursery.cancel_scope.cancel()
