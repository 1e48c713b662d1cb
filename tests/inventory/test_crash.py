"""The sale crash test (tests/sales/test_crash.py) extended to stock: kill -9 at random
points of scripted sales, with goods received at the start of every life, and after every
restart on-hand equals what the journal says (the `moves` of the stock events replayed) and
every completed sale moved exactly its lines' quantities out, once.

STOCK_CRASH_KILLS (default 30) kills, over CRASH_LANES tills side by side."""

from __future__ import annotations

import os
import random
import sqlite3
from collections import Counter

import pytest
import trio

from gatewayd.inventory.stock import STOCK_EVENTS
from protocol.codec import unpack
from tests.sales import test_crash as sale_crash

KILLS = int(os.environ.get("STOCK_CRASH_KILLS", "30"))
pytestmark = pytest.mark.slow


class StockTill(sale_crash.Till):
    received = 0
    checks = 0

    async def check(self, gw) -> None:
        await super().check(gw)
        sku = self.rng.choice(sale_crash.ITEMS)["sku"]
        doc = await gw.call("stock.receive", {"lines": [{"sku": sku, "qty": 5000,
                                                         "cost": self.rng.randint(50, 90)}]})
        assert doc["moves"][0]["sku"] == sku
        self.received += 1

    def kill_delay(self) -> float:
        # longer lives than the sale test's: more sales complete between the kills
        return self.rng.uniform(0.0, 0.5)

    def check_store(self) -> None:
        super().check_store()
        db = sqlite3.connect(f"file:{self.dir / 'gatewayd.db'}?mode=ro", uri=True)
        try:
            replayed: Counter[str] = Counter()
            marks = ",".join("?" * len(STOCK_EVENTS))
            for (data,) in db.execute(f"SELECT data FROM journal WHERE kind IN ({marks})"
                                      " ORDER BY seq", STOCK_EVENTS):
                for m in unpack(data)["moves"]:
                    replayed[m["sku"]] += m["qty"]
            table = dict(db.execute("SELECT sku, on_hand FROM stock").fetchall())
            assert {k: v for k, v in replayed.items()} == table, (replayed, table)
            moved = dict(db.execute("SELECT sku, SUM(qty) FROM stock_moves GROUP BY sku"))
            assert moved == table
            # every completed sale moved its live lines out exactly once; nothing else did
            sold = Counter()
            for sku, qty in db.execute(
                "SELECT l.sku, l.qty FROM sales s JOIN sale_lines l ON l.sale_id = s.id"
                " WHERE s.state = 'completed' AND s.kind = 'sale' AND l.voided = 0"):
                sold[sku] += qty
            out = Counter({sku: -q for sku, q in db.execute(
                "SELECT sku, SUM(qty) FROM stock_moves WHERE kind = 'sale' GROUP BY sku")})
            assert +out == +sold, (out, sold)
            refs = db.execute("SELECT COUNT(DISTINCT ref) FROM stock_moves WHERE kind='sale'"
                              ).fetchone()[0]
            completed = db.execute("SELECT COUNT(*) FROM sales WHERE state='completed' AND"
                                   " kind='sale' AND EXISTS (SELECT 1 FROM sale_lines l WHERE"
                                   " l.sale_id = sales.id AND l.voided = 0)").fetchone()[0]
            assert refs == completed
            events = db.execute("SELECT COUNT(*) FROM journal WHERE kind='stock.sold'"
                                ).fetchone()[0]
            assert events == completed
        finally:
            db.close()
        self.checks += 1


async def test_stock_survives_kill_minus_nine(tmp_path):
    rng = random.Random(sale_crash.SEED + 7)
    lanes = sale_crash.LANES
    tills = [StockTill(tmp_path, lane, random.Random(rng.random())) for lane in range(lanes)]
    per_lane = [KILLS // lanes + (1 if i < KILLS % lanes else 0) for i in range(lanes)]

    async def lane(till: StockTill, kills: int) -> None:
        for _ in range(kills):
            await till.cycle()

    async with trio.open_nursery() as nursery:
        for till, kills in zip(tills, per_lane, strict=True):
            nursery.start_soon(lane, till, kills)
    assert sum(t.checks for t in tills) == KILLS
    completed = sum(len(t.receipts) for t in tills)
    print(f"\n{KILLS} kills, {sum(t.received for t in tills)} receipts of goods, "
          f"{completed} completed sales; stock equal to the journal after every restart")
    assert completed > 0 and sum(t.received for t in tills) > 0
