"""Members: lookup with 1,000,000 members, and points + stored value in the sale's
transaction (issue 6 targets: member lookup p99 < 1 ms; points in the sale's transaction
add < 25 % to a sale's commit time).

1. lookup. A fresh store (the real migrations) gets BENCH_MEMBERS (default 1,000,000)
   members with executemany in ONE transaction (the time it took is printed). Then random
   codes, a third each phone, card barcode and QR payload, are looked up with
   `MemberService.find` (the service the protocol handler calls: code classification + one
   indexed SELECT on the store's read connection). Baseline, same file, same run: a raw
   sqlite3 connection doing `SELECT * FROM members WHERE phone = ?` on the same keys.
   Also `member.get` over the real WebSocket (one cashier client) against the protocol's
   own round trip (`system.info`) on the same connection.
2. sale. A daemon in-process, one cashier over the WebSocket, the sale bench's five items.
   Sales alternate (interleaved against drift): member ON (sale.member, a stored-value
   tender of 1.00, then the completing cash tender that earns points, records the purchase
   and recomputes the tier in its transaction) and OFF (no member: a 1.00 cash tender, then
   the completing cash tender). Timed: the completing tender (the commit the points join),
   the partial tender (stored value vs cash), and the whole sale. Then the completion hook
   alone inside a rolled-back transaction vs that transaction empty.
"""

from __future__ import annotations

import os
import random
import secrets
import sqlite3
import tempfile
import time
import uuid
from pathlib import Path

import trio

from bench.harness import Row, Timing, hook_cost, open_shift, time_sync

MEMBERS = int(os.environ.get("BENCH_MEMBERS", "1000000"))
LOOKUPS = int(os.environ.get("BENCH_LOOKUPS", "20000"))
SALES = int(os.environ.get("BENCH_SALES", "200"))
ITEMS = [
    {"sku": f"10{i}", "name": f"商品 {i}", "price": 150 + 90 * i, "tax_rate_bp": 1300,
     "barcodes": [code]}
    for i, code in enumerate(
        ["6901234567892", "6921168509256", "4006381333931", "5901234123457", "9780201379624"])
]


def generate(store, n: int) -> tuple[float, list[tuple[str, str, str]]]:
    """n members in one transaction; returns the seconds it took and every 50th key."""
    t0 = time.perf_counter()
    keys: list[tuple[str, str, str]] = []
    now = int(time.time() * 1e6)

    def rows():
        for i in range(n):
            phone = f"1{30 + i % 70:02d}{i:08d}"
            card = f"8{i:011d}"
            qr = secrets.token_hex(12)
            if i % 50 == 0:
                keys.append((phone, card, qr))
            yield (str(uuid.uuid4()), phone, f"会员{i}", card, qr, "normal", now, now)

    def fn(tx):
        # random keys (uuid, QR token) land all over three unique indexes: give the page
        # cache room for them (256 MB for this transaction, then back to the default)
        tx.execute("PRAGMA cache_size = -262144")
        tx.executemany("INSERT INTO members(id, phone, name, card, qr, tier, created_at,"
                       " updated_at) VALUES (?,?,?,?,?,?,?,?)", rows())
        tx.append("bench.members_generated", {"count": n})
        tx.execute("PRAGMA cache_size = -2000")

    store.write_sync(fn)
    return time.perf_counter() - t0, keys


async def _lookup(root: Path) -> tuple[dict[str, Timing], float]:
    from clients.python.client import connect
    from gatewayd import auth
    from gatewayd.app import App
    from gatewayd.config import Config

    cfg = Config.model_validate({"server": {"listen": "127.0.0.1:0"}, "data_dir": str(root)})
    app = App(cfg)
    gen_s, keys = generate(app.store, MEMBERS)
    print(f"  generated {MEMBERS:,} members in one transaction: {gen_s:.1f} s",
          flush=True)
    svc = app.members
    prefix = svc.config.qr_prefix
    rng = random.Random(6)
    codes = []
    for i in range(LOOKUPS):
        phone, card, qr = rng.choice(keys)
        codes.append((phone, (phone, card, prefix + qr)[i % 3]))
    it = iter(codes)

    def subject():
        _, code = next(it)
        assert svc.find(code) is not None

    raw = sqlite3.connect(str(app.store.path))
    it_raw = iter(codes)

    def baseline():
        phone, _ = next(it_raw)
        assert raw.execute("SELECT * FROM members WHERE phone = ?", (phone,)).fetchone()

    out = {"find": time_sync(subject, LOOKUPS - 500, warmup=500),
           "raw": time_sync(baseline, LOOKUPS - 500, warmup=500)}
    raw.close()
    clock = time.perf_counter
    async with trio.open_nursery() as nursery:
        await nursery.start(app.run)
        (_, token), _ = app.store.write_sync(lambda tx: auth.add_token(tx, "bench", "cashier"))
        async with connect(f"ws://127.0.0.1:{app.port}/ws", token, reconnect=False) as gw:
            get, info = [], []
            for i, (_, code) in enumerate(codes[:2000]):
                a = clock()
                await gw.call("member.get", {"code": code})
                b = clock()
                await gw.call("system.info")
                if i >= 100:
                    get.append(b - a)
                    info.append(clock() - b)
        nursery.cancel_scope.cancel()
    app.close()
    out["get"], out["info"] = Timing.of(get), Timing.of(info)
    return out, gen_s


async def _sale(root: Path, n: int) -> dict[str, Timing]:
    from clients.python.client import connect
    from gatewayd import auth
    from gatewayd.app import App
    from gatewayd.config import Config

    cfg = Config.model_validate({"server": {"listen": "127.0.0.1:0"}, "data_dir": str(root),
                                 "sale": {"printer": "printer"}})
    app = App(cfg)
    clock = time.perf_counter
    names = ("complete", "partial", "sale")
    out: dict[str, list[float]] = {f"{k}.{t}": [] for k in names for t in ("on", "off")}
    async with trio.open_nursery() as nursery:
        await nursery.start(app.run)
        app.store.write_sync(lambda tx: auth.add_operator(tx, "1001", "Li", "cashier", "1234"))
        (_, token), _ = app.store.write_sync(lambda tx: auth.add_token(tx, "bench", "admin"))
        async with connect(f"ws://127.0.0.1:{app.port}/ws", token, reconnect=False) as gw:
            await gw.call("catalog.upsert", {"items": ITEMS})
            await gw.call("auth.login", {"operator": "1001", "pin": "1234"})
            await open_shift(gw)
            m = await gw.call("member.register", {"phone": "13812345678", "name": "王芳"})
            await gw.call("member.topup", {"code": m["phone"], "amount": 10_000_000})
            for i in range(2 * n + 20):
                on = i % 2 == 0
                t0 = clock()
                for item in ITEMS:
                    await gw.call("sale.add", {"barcode": item["barcodes"][0]})
                if on:
                    await gw.call("sale.member", {"code": m["qr"]})
                a = clock()
                await gw.call("sale.tender", {"method": "stored_value" if on else "cash",
                                              "amount": 100})
                b = clock()
                done = await gw.call("sale.tender", {"method": "cash", "amount": 5000})
                c = clock()
                assert done["state"] == "completed"
                if i >= 20:
                    tag = "on" if on else "off"
                    out[f"partial.{tag}"].append(b - a)
                    out[f"complete.{tag}"].append(c - b)
                    out[f"sale.{tag}"].append(c - t0)
        earned = app.store.one("SELECT COUNT(*) FROM member_purchases")[0]
        assert earned == n + 10, earned  # exactly the "on" sales earned points
        sale_id = app.store.one("SELECT sale_id FROM member_purchases LIMIT 1")[0]
        wire = app.sales.get_wire(sale_id)
        hook = next(h for h in app.sales.on_complete if h.__qualname__.endswith("on_complete")
                    and "members" in h.__module__)

        def hook_once(tx) -> None:
            # as if the sale had not completed yet
            tx.execute("DELETE FROM member_purchases WHERE sale_id = ?", (sale_id,))
            hook(tx, dict(wire))

        out["hook.on"], out["hook.off"] = (list(t.samples) for t in
                                           hook_cost(app.store, hook_once, n))
        nursery.cancel_scope.cancel()
    app.close()
    return {k: Timing.of(v) for k, v in out.items()}


def run() -> list[Row]:
    base = os.environ.get("GATEWAYD_BENCH_DIR")
    with tempfile.TemporaryDirectory(prefix="gatewayd-bench-members-", dir=base) as tmp:
        look, gen_s = trio.run(_lookup, Path(tmp) / "lookup")
    with tempfile.TemporaryDirectory(prefix="gatewayd-bench-members-", dir=base) as tmp:
        t = trio.run(_sale, Path(tmp), SALES)
    pct = {k: (t[f"{k}.on"].p50 / t[f"{k}.off"].p50 - 1) * 100
           for k in ("complete", "partial", "sale")}
    hook_us = (t["hook.on"].p50 - t["hook.off"].p50) * 1e6
    return [
        Row("members.lookup", look["find"], look["raw"],
            note=f"MemberService.find (phone/card/QR) with {MEMBERS:,} members vs raw sqlite3 "
                 f"indexed SELECT by phone; p99 {look['find'].p99 * 1e3:.3f} ms (target < 1 ms)"
                 f"; generating them (executemany, one transaction) took {gen_s:.1f} s"),
        Row("members.lookup_limit", value=look["find"].p99, unit="s", limit=1e-3,
            note="p99 of the lookup above against the 1 ms target"),
        Row("members.get_ws", look["get"], look["info"],
            note="member.get over the WebSocket vs system.info on the same connection"),
        Row("members.sale_commit", t["complete.on"], t["complete.off"], target=1.25,
            note=f"the completing tender with points earned in its transaction vs a sale "
                 f"without member: {pct['complete']:+.1f} % at p50 (target < 25 %), "
                 f"{SALES} sales each, interleaved"),
        Row("members.sv_tender", t["partial.on"], t["partial.off"],
            note=f"a stored-value tender (balance move journaled) vs a cash tender of the "
                 f"same 1.00: {pct['partial']:+.1f} % at p50"),
        Row("members.sale_whole", t["sale.on"], t["sale.off"],
            note=f"5 scans (+ sale.member) + 2 tenders: {pct['sale']:+.1f} % at p50"),
        Row("members.hook_alone", t["hook.on"], t["hook.off"],
            note=f"the members' on_complete inside a rolled-back transaction: "
                 f"{hook_us:.0f} us of work at p50"),
    ]


if __name__ == "__main__":
    from bench.harness import print_table

    print_table(run())
