"""Stock movement inside the sale's commit vs the same sale without it (issue 6 target:
stock in the sale's transaction adds < 25 % to a sale's commit time).

One daemon in-process on a temp store, one cashier over the real WebSocket, the sale bench's
five items (each received, with a low-stock threshold, so every completion reads and updates
five stock rows, inserts five moves and journals one `stock.sold`). Sales alternate: the
inventory hook on (subject) and off (baseline: `sales.on_complete` without it), so both
run in the same process, on the same file, interleaved against drift. Timed: the cash
tender that completes the sale (the commit the stock joins) and the whole sale (5 scans +
tender). Then the hook alone: `on_sale_complete` inside a bare transaction vs that
transaction empty, to show what the stock part costs by itself.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import trio

from bench.harness import Row, Timing, hook_cost, open_shift
from bench.sale import ITEMS

SALES = int(os.environ.get("BENCH_SALES", "200"))


async def _subject(root: Path, n: int) -> dict[str, Timing]:
    from clients.python.client import connect
    from gatewayd import auth
    from gatewayd.app import App
    from gatewayd.config import Config

    cfg = Config.model_validate({"server": {"listen": "127.0.0.1:0"}, "data_dir": str(root),
                                 "sale": {"printer": "printer"}})
    app = App(cfg)
    inv = app.inventory
    hook = inv.on_complete  # the sale participant's hook (InventoryService)
    clock = time.perf_counter
    out: dict[str, list[float]] = {"tender.on": [], "tender.off": [], "sale.on": [],
                                   "sale.off": []}
    async with trio.open_nursery() as nursery:
        await nursery.start(app.run)
        app.store.write_sync(lambda tx: auth.add_operator(tx, "1001", "Li", "cashier", "1234"))
        (_, token), _ = app.store.write_sync(lambda tx: auth.add_token(tx, "bench", "admin"))
        url = f"ws://127.0.0.1:{app.port}/ws"
        async with connect(url, token, reconnect=False) as gw:
            await gw.call("catalog.upsert", {"items": ITEMS})
            await gw.call("stock.receive", {"lines": [
                {"sku": it["sku"], "qty": 10_000_000, "cost": it["price"] // 2}
                for it in ITEMS]})
            for it in ITEMS:
                await gw.call("stock.threshold", {"sku": it["sku"], "threshold": 1000})
            await gw.call("auth.login", {"operator": "1001", "pin": "1234"})
            await open_shift(gw)
            for i in range(2 * n + 20):
                on = i % 2 == 0
                hooks = app.sales.on_complete
                if on and hook not in hooks:
                    hooks.append(hook)
                elif not on and hook in hooks:
                    hooks.remove(hook)
                t0 = clock()
                for item in ITEMS:
                    await gw.call("sale.add", {"barcode": item["barcodes"][0]})
                a = clock()
                done = await gw.call("sale.tender", {"method": "cash", "amount": 5000})
                t_tender = clock() - a
                assert done["state"] == "completed"
                if i >= 20:
                    tag = "on" if on else "off"
                    out[f"tender.{tag}"].append(t_tender)
                    out[f"sale.{tag}"].append(clock() - t0)
        moved = app.store.one("SELECT COUNT(DISTINCT ref) FROM stock_moves WHERE kind='sale'")[0]
        assert moved == n + 10, moved  # exactly the "on" sales moved stock
        # the hook alone in a bare transaction (then rolled back) vs the bare transaction
        sale_id = app.store.one("SELECT ref FROM stock_moves WHERE kind='sale' LIMIT 1")[0]
        wire = app.sales.get_wire(sale_id)

        def hook_once(tx) -> None:
            # as if the sale had not completed yet
            tx.execute("DELETE FROM stock_moves WHERE ref = ?", (sale_id,))
            inv.on_sale_complete(tx, wire)

        out["hook.on"], out["hook.off"] = (list(t.samples) for t in
                                           hook_cost(app.store, hook_once, n))
        nursery.cancel_scope.cancel()
    app.close()
    return {k: Timing.of(v) for k, v in out.items()}


def run() -> list[Row]:
    base = os.environ.get("GATEWAYD_BENCH_DIR")
    with tempfile.TemporaryDirectory(prefix="gatewayd-bench-stock-", dir=base) as tmp:
        t = trio.run(_subject, Path(tmp), SALES)
    added = (t["tender.on"].p50 / t["tender.off"].p50 - 1) * 100
    added_sale = (t["sale.on"].p50 / t["sale.off"].p50 - 1) * 100
    hook_us = (t["hook.on"].p50 - t["hook.off"].p50) * 1e6
    return [
        Row("stock.sale_commit", t["tender.on"], t["tender.off"], target=1.25,
            note=f"the completing tender with stock in its transaction vs without: "
                 f"+{added:.1f} % at p50 (target < 25 %), {SALES} sales each, interleaved"),
        Row("stock.sale_whole", t["sale.on"], t["sale.off"], target=1.25,
            note=f"5 scans + cash tender: +{added_sale:.1f} % at p50"),
        Row("stock.hook_alone", t["hook.on"], t["hook.off"],
            note=f"on_sale_complete (5 lines) inside a rolled-back transaction: "
                 f"{hook_us:.0f} us of work at p50"),
    ]


if __name__ == "__main__":
    from bench.harness import print_table

    print_table(run())
