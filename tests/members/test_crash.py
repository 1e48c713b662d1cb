"""kill -9 during member operations (issue 6, extending the sale crash test).

`gatewayd run` is a real subprocess on a temp data dir. Each cycle starts it, scripts member
operations through the client (top-ups with bonus, member sales paid partly with stored value
and points, completions that earn points, voids that give tenders back, refunds that reverse
points) and SIGKILLs it at a random moment, often with a call in flight. After every kill:

* points and balances in the projection equal what the journal says: `ledger.replay` of the
  journal's member events (each with delta, before, after) gives exactly the `members` rows;
* the journal is gap-free, every member's move chain (member_moves) runs before -> after
  without a hole and ends at the projection, and the open point lots add up to the points;
* when no change was in flight or unconfirmed, every member is exactly as last
  acknowledged (member.get).

MEMBER_CRASH_KILLS (default 30) kills.
"""

from __future__ import annotations

import os
import random
import sqlite3
from pathlib import Path

import pytest
import trio
from websockets.exceptions import WebSocketException

from clients.python.client import ConnectionLost, GatewayError, connect
from gatewayd import auth
from gatewayd.members import ledger
from gatewayd.members.config import parse_members_config
from gatewayd.sales.catalog import upsert
from gatewayd.store.db import JournalEvent, Store
from protocol.codec import unpack
from tests.conftest import open_shift
from tests.crashkit import live_once
from tests.daemon.test_process import free_port

KILLS = int(os.environ.get("MEMBER_CRASH_KILLS", "30"))
SEED = int(os.environ.get("MEMBER_CRASH_SEED", "20250611"))
ITEMS = [{"sku": f"s{i}", "name": f"商品{i}", "price": 500 + 137 * i,
          "member_price": 450 + 137 * i if i % 2 else None} for i in range(6)]
PHONES = ["13800000001", "13800000002", "13800000003"]
MANAGER = {"operator": "9001", "pin": "9999"}
READ_ONLY = ("member.get", "sale.current")
LOST = (ConnectionLost, OSError, WebSocketException)  # the daemon was killed under us
pytestmark = pytest.mark.slow


class Till:
    def __init__(self, root: Path, rng: random.Random):
        self.dir = root
        self.rng = rng
        self.port = free_port()
        self.cfg = root / "gatewayd.toml"
        self.cfg.write_text(f'data_dir = "{root}"\n[server]\nlisten = "127.0.0.1:{self.port}"\n')
        store = Store(root / "gatewayd.db")
        (_, self.token), _ = store.write_sync(lambda tx: auth.add_token(tx, "crash", "admin"))
        store.write_sync(lambda tx: auth.add_operator(tx, "1001", "Li", "cashier", "1234"))
        store.write_sync(lambda tx: auth.add_operator(tx, "9001", "Wang", "manager", "9999"))
        store.write_sync(lambda tx: upsert(tx, ITEMS))
        cfg = parse_members_config({})
        for phone in PHONES:
            store.write_sync(lambda tx, p=phone: ledger.register(tx, cfg, p, "会员"))
        store.close()
        self.acked: dict[str, tuple[int, int]] = {}  # phone -> (points, balance)
        self.in_flight: str | None = None
        self.stale = True
        self.exact_checks = 0
        self.kills = self.ops = self.in_flight_kills = 0
        self.completed: list[str] = []  # receipt numbers of member sales

    async def cycle(self) -> None:
        async def setup(gw) -> None:
            await gw.call("auth.login", {"operator": "1001", "pin": "1234"})
            await open_shift(gw)
            self.in_flight = None

        await live_once(self.cfg, self.port, self.token, setup, self.script,
                        lambda: self.rng.uniform(0.05, 0.6), LOST)
        self.kills += 1
        if self.in_flight and self.in_flight not in READ_ONLY:
            self.in_flight_kills += 1
        self.check_store()

    async def call(self, gw, method: str, params: dict) -> dict:
        self.in_flight = method
        if method not in READ_ONLY:
            self.stale = True  # acked no longer describes the store until refresh() ends
        out = await gw.call(method, params)
        self.in_flight = None
        self.ops += 1
        return out

    async def refresh(self, gw) -> None:
        for phone in PHONES:
            m = await self.call(gw, "member.get", {"code": phone})
            self.acked[phone] = (m["points"], m["balance"])
        self.stale = False

    async def script(self, gw) -> None:
        rng = self.rng
        await self.refresh(gw)
        cur = await self.call(gw, "sale.current", {})
        if cur["state"] in ("open", "tendering") and cur["lines"]:
            await self.call(gw, "sale.void", {"reason": "crash test", "approve": MANAGER})
            await self.refresh(gw)
        while True:
            phone = rng.choice(PHONES)
            roll = rng.random()
            try:
                if roll < 0.25:
                    await self.call(gw, "member.topup",
                                    {"code": phone, "amount": rng.choice([1000, 20000, 50000])})
                elif roll < 0.35 and self.completed:
                    async with connect(f"ws://127.0.0.1:{self.port}/ws", self.token,
                                       reconnect=False) as mgr:
                        await mgr.call("auth.login", MANAGER)
                        receipt = self.completed.pop(rng.randrange(len(self.completed)))
                        self.in_flight = "sale.refund"
                        self.stale = True
                        await mgr.call("sale.refund", {"receipt_no": receipt})
                        self.in_flight = None
                else:
                    await self.member_sale(gw, phone)
            except GatewayError as exc:
                # refused cleanly (not enough points/balance, points already spent, ...)
                assert exc.code in ("conflict", "payment_declined"), exc
                self.in_flight = None
                cur = await self.call(gw, "sale.current", {})
                if cur["state"] in ("open", "tendering") and cur["lines"]:
                    await self.call(gw, "sale.void", {"reason": "refused", "approve": MANAGER})
            await self.refresh(gw)
            if rng.random() < 0.5:
                await trio.sleep(0.2)  # idle moments: kills between calls too

    async def member_sale(self, gw, phone: str) -> None:
        rng = self.rng
        for _ in range(rng.randint(1, 3)):
            await self.call(gw, "sale.add", {"sku": rng.choice(ITEMS)["sku"],
                                             "qty": 1000 * rng.randint(1, 4)})
        sale = await self.call(gw, "sale.member", {"code": phone})
        points, balance = self.acked[phone]
        if balance and rng.random() < 0.6:
            sale = await self.call(gw, "sale.tender", {
                "method": "stored_value", "amount": min(balance, max(1, sale["due"] // 2))})
        if points and sale["due"] and rng.random() < 0.5:
            sale = await self.call(gw, "sale.tender", {
                "method": "points", "amount": min(points, sale["due"])})
        if rng.random() < 0.15:
            await self.call(gw, "sale.void", {"reason": "changed mind", "approve": MANAGER})
            return
        if sale["due"]:
            sale = await self.call(gw, "sale.tender", {"method": "cash", "amount": sale["due"]})
        assert sale["state"] == "completed"
        self.completed.append(sale["receipt_no"])

    def check_store(self) -> None:
        conn = sqlite3.connect(self.dir / "gatewayd.db")
        conn.row_factory = sqlite3.Row
        try:
            seqs = [r[0] for r in conn.execute("SELECT seq FROM journal ORDER BY seq")]
            assert seqs == list(range(1, len(seqs) + 1)), "journal has a gap"
            events = [JournalEvent(r["seq"], r["at"], r["kind"], unpack(r["data"]))
                      for r in conn.execute("SELECT * FROM journal WHERE kind LIKE 'member.%'"
                                            " ORDER BY seq")]
            members = {r["id"]: dict(r) for r in conn.execute("SELECT * FROM members")}
            assert ledger.replay(events) == {
                mid: {"points": m["points"], "balance": m["balance"]}
                for mid, m in members.items()}
            for mid, m in members.items():
                for what in ("points", "balance"):
                    chain = conn.execute("SELECT before, after FROM member_moves WHERE"
                                         " member_id = ? AND what = ? ORDER BY id",
                                         (mid, what)).fetchall()
                    run = 0
                    for before, after in chain:
                        assert before == run
                        run = after
                    assert run == m[what]
                lots = conn.execute("SELECT COALESCE(SUM(remaining), 0) FROM member_point_lots"
                                    " WHERE member_id = ?", (mid,)).fetchone()[0]
                assert lots == m["points"]
            if not self.stale:
                by_phone = {m["phone"]: (m["points"], m["balance"]) for m in members.values()}
                assert by_phone == self.acked
                self.exact_checks += 1
        finally:
            conn.close()


async def test_kill_minus_nine_keeps_points_and_balances_equal_to_the_journal(tmp_path):
    till = Till(tmp_path, random.Random(SEED))
    for _ in range(KILLS):
        await till.cycle()
    assert till.kills == KILLS
    print(f"\n{KILLS} kills, {till.ops} acknowledged operations, "
          f"{till.in_flight_kills} kills with a call in flight, {till.exact_checks} restarts "
          "compared with the acknowledged state")
    assert till.ops > KILLS  # the script did get work done between kills
