"""kill -9 at random points of scripted sales (DESIGN §7 fault tests, issue 4).

`gatewayd run` is a real subprocess on a temp data dir. Each cycle: start it, check what the
previous life left behind, script sale operations through the client, and SIGKILL it at a
random moment (often while a call is in flight). After every restart:

* the open sale equals the last acknowledged state — or, when a call was in flight at the
  kill, exactly one change further (the commit may have landed before the answer was lost);
* every completed sale is intact (the same lines, totals, tenders, change, receipt number);
* the journal is gap-free (seq 1..n);
* no tender was applied twice: one tender per provider attempt, every key charged at most
  once by the (persistent) simulated provider, and in the end every approved charge is a
  tender of its sale exactly once.

CRASH_KILLS (default 200) kills in total, spread over CRASH_LANES (default 2) tills that run
side by side, so the test stays well under three minutes.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import trio

from clients.python.client import ConnectionLost, GatewayError, connect
from gatewayd import auth
from gatewayd.sales.catalog import upsert
from gatewayd.sales.payments import SimulatedProvider
from gatewayd.store.db import Store
from tests.conftest import open_shift
from tests.crashkit import live_once, wait_ready
from tests.daemon.test_process import free_port

KILLS = int(os.environ.get("CRASH_KILLS", "200"))
LANES = int(os.environ.get("CRASH_LANES", "2"))
SEED = int(os.environ.get("CRASH_SEED", "20250301"))
ITEMS = [
    {"sku": f"s{i}", "name": f"商品{i}", "price": 100 + 37 * i, "tax_rate_bp": 1300 if i % 2
     else 900} for i in range(8)
]
VOLATILE = ("payment", "added", "reprints")
pytestmark = pytest.mark.slow


def same(a: dict, b: dict) -> bool:
    return {k: v for k, v in a.items() if k not in VOLATILE} == {
        k: v for k, v in b.items() if k not in VOLATILE}


class Till:
    def __init__(self, root: Path, lane: int, rng: random.Random):
        self.dir = root / f"till{lane}"
        self.dir.mkdir()
        self.rng = rng
        self.port = free_port()
        self.cfg = self.dir / "gatewayd.toml"
        self.cfg.write_text(
            f'data_dir = "{self.dir}"\n[server]\nlisten = "127.0.0.1:{self.port}"\n'
            "[sale]\npayment_poll_s = 0.01\npayment_timeout_s = 0.2\n"
        )
        store = Store(self.dir / "gatewayd.db")
        (_, self.token), _ = store.write_sync(lambda tx: auth.add_token(tx, "crash", "admin"))
        store.write_sync(lambda tx: auth.add_operator(tx, "1001", "Li", "cashier", "1234"))
        store.write_sync(lambda tx: upsert(tx, ITEMS))
        store.close()
        self.acked: dict | None = None  # the open sale as last acknowledged
        self.receipts: dict[str, dict] = {}  # completed sales as acknowledged
        self.in_flight: str | None = None
        self.kills = 0
        self.ops = 0
        self.in_flight_kills = 0
        self.codes = 0

    # -- one life ------------------------------------------------------------------------
    async def cycle(self) -> None:
        async def setup(gw) -> None:
            await self.check(gw)
            await gw.call("auth.login", {"operator": "1001", "pin": "1234"})
            await open_shift(gw)

        await live_once(self.cfg, self.port, self.token, setup, self.script, self.kill_delay,
                        (ConnectionLost, OSError))
        self.kills += 1
        self.check_store()

    def kill_delay(self) -> float:
        return self.rng.uniform(0.0, 0.12)

    # -- the script ------------------------------------------------------------------------
    async def script(self, gw) -> None:
        rng = self.rng
        while True:
            sale = self.acked
            lines = [ln for ln in sale["lines"] if not ln["voided"]] if sale else []
            roll = rng.random()
            if sale is None or (sale["state"] == "open" and (len(lines) < 2 or roll < 0.45)):
                op, params = "sale.add", {"sku": rng.choice(ITEMS)["sku"],
                                          "qty": rng.randint(1, 3) * 1000}
            elif sale["state"] == "open" and roll < 0.55:
                op, params = "sale.set_qty", {"line_id": rng.choice(lines)["line_id"],
                                              "qty": rng.randint(1, 5) * 1000}
            elif sale["state"] == "open" and roll < 0.62:
                op, params = "sale.discount", {"line_id": rng.choice(lines)["line_id"],
                                               "percent": 500, "reason": "test"}
            elif sale["state"] == "open" and roll < 0.67:
                op, params = "sale.void_line", {"line_id": rng.choice(lines)["line_id"]}
            elif sale["due"] > 1 and roll < 0.8:
                self.codes += 1
                code = f"28{self.dir.name[-1]}{self.codes:015d}"
                op, params = "sale.tender", {"method": "alipay", "code": code,
                                             "amount": max(1, sale["due"] // 2)}
            elif sale["due"] > 1 and roll < 0.88:
                op, params = "sale.tender", {"method": "card", "amount": max(1, sale["due"] // 3)}
            else:
                op, params = "sale.tender", {"method": "cash",
                                             "amount": sale["cash_due"] + rng.choice([0, 50])}
            self.in_flight = op
            try:
                result = await gw.call(op, params)
            except ConnectionLost:
                self.in_flight_kills += 1
                raise
            except GatewayError as exc:
                if exc.code in ("conflict", "invalid_params", "payment_declined"):
                    self.in_flight = None
                    continue  # refused: nothing changed (checked at the next restart)
                raise
            self.in_flight = None
            self.ops += 1
            self.ack(result)

    def ack(self, wire: dict) -> None:
        if wire["state"] in ("open", "tendering"):
            self.acked = wire
        elif wire["state"] == "completed":
            self.receipts[wire["receipt_no"]] = wire
            self.acked = None
        else:
            self.acked = None

    # -- the checks after a restart -------------------------------------------------------
    async def check(self, gw) -> None:
        with trio.fail_after(10):  # payment attempts left pending are recovered at start
            while (cur := await gw.call("sale.current"))["payment"] is not None:
                await trio.sleep(0.02)
        active = cur if cur["id"] and cur["state"] in ("open", "tendering") else None
        acked, flight = self.acked, self.in_flight
        if acked is None:
            if active is not None:  # only an add in flight may have opened a sale
                assert flight == "sale.add" and active["version"] == 1, (flight, active)
            elif cur["id"] is not None and cur["state"] == "completed" \
                    and cur["receipt_no"] not in self.receipts:
                raise AssertionError(f"a sale completed that nobody paid: {cur}")
        elif active is None:
            # the acknowledged open sale may only have completed by a tender in flight
            assert flight == "sale.tender", (flight, cur)
            got = await gw.call("sale.get", {"id": acked["id"]})
            assert got["state"] == "completed" and got["version"] == acked["version"] + 1
            self.receipts[got["receipt_no"]] = got
        else:
            assert active["id"] == acked["id"], (acked, active)
            if active["version"] == acked["version"]:
                assert same(active, acked), {  # what differs, acknowledged vs restarted
                    k: (acked.get(k), active.get(k)) for k in set(acked) | set(active)
                    if acked.get(k) != active.get(k)}
            else:
                assert flight is not None and active["version"] == acked["version"] + 1, (
                    flight, acked, active)
        self.acked = active
        if active is None and cur["state"] == "completed":
            self.receipts.setdefault(cur["receipt_no"], cur)
        for receipt_no, wire in self.receipts.items():
            got = await gw.call("sale.get", {"receipt_no": receipt_no})
            assert same(got, wire), (wire, got)
        self.in_flight = None

    def check_store(self) -> None:
        db = sqlite3.connect(f"file:{self.dir / 'gatewayd.db'}?mode=ro", uri=True)
        try:
            n, lo, hi = db.execute("SELECT COUNT(*), MIN(seq), MAX(seq) FROM journal").fetchone()
            assert lo == 1 and n == hi, f"journal has gaps: {n} events, seq {lo}..{hi}"
            twice = db.execute("SELECT attempt_id FROM sale_tenders WHERE attempt_id IS NOT "
                               "NULL GROUP BY attempt_id HAVING COUNT(*) > 1").fetchall()
            assert twice == []
            bad = db.execute(
                "SELECT s.receipt_no FROM sales s WHERE s.state='completed' AND s.paid - "
                "s.change + s.rounding != s.total").fetchall()
            assert bad == [], bad
            counters = db.execute("SELECT business_day, last FROM receipt_counters").fetchall()
            for day, last in counters:
                ns = [r[0] for r in db.execute(
                    "SELECT receipt_n FROM sales WHERE business_day=? AND receipt_n IS NOT NULL "
                    "ORDER BY receipt_n", (day,))]
                assert ns == list(range(1, last + 1)), "receipt numbers are not gap-free"
        finally:
            db.close()
        charges: dict[str, int] = {}
        ledger = self.dir / "payment-sim.jsonl"
        if ledger.exists():
            for line in ledger.read_text().splitlines():
                e = json.loads(line)
                if e["op"] == "charge":
                    charges[e["key"]] = charges.get(e["key"], 0) + 1
        assert all(n == 1 for n in charges.values()), charges

    def final_ledger_check(self) -> None:
        charged = SimulatedProvider(path=self.dir / "payment-sim.jsonl").charged()
        db = sqlite3.connect(f"file:{self.dir / 'gatewayd.db'}?mode=ro", uri=True)
        try:
            tenders = dict(db.execute("SELECT attempt_id, amount FROM sale_tenders WHERE "
                                      "attempt_id IS NOT NULL").fetchall())
        finally:
            db.close()
        assert tenders == charged, (tenders, charged)


async def test_kill_minus_nine_at_random_points(tmp_path):
    rng = random.Random(SEED)
    tills = [Till(tmp_path, lane, random.Random(rng.random())) for lane in range(LANES)]
    per_lane = [KILLS // LANES + (1 if i < KILLS % LANES else 0) for i in range(LANES)]

    async def lane(till: Till, kills: int) -> None:
        for _ in range(kills):
            await till.cycle()

    async with trio.open_nursery() as nursery:
        for till, kills in zip(tills, per_lane, strict=True):
            nursery.start_soon(lane, till, kills)
    # one last clean life: recovery settles every attempt; then every approved charge is
    # exactly one tender
    for till in tills:
        proc = subprocess.Popen([sys.executable, "-m", "gatewayd", "--config", str(till.cfg),
                                 "run"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            await wait_ready(proc, till.port)
            async with connect(f"ws://127.0.0.1:{till.port}/ws", till.token,
                               reconnect=False) as gw:
                await till.check(gw)
        finally:
            proc.send_signal(signal.SIGTERM)
            await trio.to_thread.run_sync(proc.wait)
        till.final_ledger_check()
    assert sum(t.kills for t in tills) == KILLS
    total_ops = sum(t.ops for t in tills)
    completed = sum(len(t.receipts) for t in tills)
    in_flight = sum(t.in_flight_kills for t in tills)
    print(f"\n{KILLS} kills, {total_ops} acknowledged operations, {completed} completed sales, "
          f"{in_flight} kills with a call in flight")
    assert completed > 0 and total_ops > KILLS and in_flight > 0
