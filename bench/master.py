"""Master data down to the tills (issue 15's targets).

- master.visible: 50 tills (a real till store, the real replicator and master applier each)
  linked to `gatewayd hq` in the same process; CHANGES price changes made one after another
  through `hq.catalog.upsert` on `gatewayd.v1`; per change and till, the time from the call
  to the till's commit of that version. Target p99 < 2 s. The baseline beside it is the
  same client's `hq.tills` round trip (a read at HQ, no till involved).
- master.download: a till with a small catalog enrolls to a head office (`gatewayd hq
  serve` in its own process, as in a chain) holding ITEMS items in one version (a first
  download): the time until the whole catalog is switched in.
- master.download.sale: sale.add + sale.tender through the protocol on that till while the
  download is received, staged and switched in, a sale every 10 ms, vs the same till idle
  just before, its sales paced alike (IDLE_SALES of them). Target <= 1.2x.
- master.download.floor: the same till's sales, not enrolled, while another till's daemon
  (`gatewayd run` in a process of its own, with its download's process) downloads the same
  version from the same head office, between the idle sales and the till's own download:
  what sharing the machine costs the till, none of the download in its process, store or
  write lock. The sale row's note gives ours: its ratios over the floor's.

Size knobs: GATEWAYD_BENCH_MASTER_ITEMS (default 200000), GATEWAYD_BENCH_MASTER_CHANGES
(default 40), GATEWAYD_BENCH_MASTER_TILLS (default 50).
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from types import SimpleNamespace

import trio

from bench.harness import Row, Timing
from bench.hq import OTHER_TILL, HqProgress, OtherTill, enroll_store, paced_sale, timed_sale

N_TILLS = int(os.environ.get("GATEWAYD_BENCH_MASTER_TILLS", "50"))
CHANGES = int(os.environ.get("GATEWAYD_BENCH_MASTER_CHANGES", "40"))
ITEMS = int(os.environ.get("GATEWAYD_BENCH_MASTER_ITEMS", "200000"))
IDLE_SALES = 500  # the idle baseline: some 9 s of sales paced as during the download


# -- a change at HQ, visible at every connected till ---------------------------------------------
async def _visible(tmp: Path) -> tuple[Timing, Timing]:
    from clients.python.client import connect
    from gatewayd.config import TillConfig
    from gatewayd.hq.service import HqApp
    from gatewayd.hq.tokens import add_token
    from gatewayd.replication.config import LinkConfig
    from gatewayd.replication.master import MasterData
    from gatewayd.replication.replicator import Replicator
    from gatewayd.store.db import Store

    hq = HqApp(tmp / "hq", None, listen="127.0.0.1:0")
    _, token = hq.store.write_sync(lambda tx: add_token(tx, "bench", "admin"))
    seen: dict[int, list[float]] = {}  # version -> when each till committed it
    stores: list[Store] = []
    samples: list[float] = []
    rtt: list[float] = []
    async with trio.open_nursery() as nursery:
        await nursery.start(hq.run)
        reps = []
        for i in range(N_TILLS):
            till = TillConfig(store=f"S{i % 10:03d}", till=f"T{i:02d}")
            store = Store(tmp / f"till{i}" / "gatewayd.db")
            stores.append(store)
            enroll_store(hq, store, till)
            md = MasterData(store, lambda *a: None)
            md.changed = lambda kinds, md=md: seen.setdefault(md.version(), []).append(
                time.perf_counter())
            rep = Replicator(store, till, LinkConfig(poll_s=0.05), lambda *a: None, md)
            reps.append(rep)
            nursery.start_soon(rep.run)
        with trio.fail_after(60):
            while any(r.state != "online" for r in reps):
                await trio.sleep(0.05)
        async with connect(f"ws://127.0.0.1:{hq.port}/ws", token, reconnect=False) as client:
            for n in range(CHANGES):
                t0 = time.perf_counter()
                await client.call("hq.tills")
                rtt.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                got = await client.call("hq.catalog.upsert", {"items": [
                    {"sku": "1001", "name": "可乐", "price": 300 + n}]})
                with trio.fail_after(30):
                    while len(seen.get(got["version"], ())) < N_TILLS:
                        await trio.sleep(0.005)
                samples += [t - t0 for t in seen[got["version"]]]
        nursery.cancel_scope.cancel()
    for s in stores:
        s.close()
    hq.close()
    return Timing.of(samples), Timing.of(rtt)


# -- a first download of a big catalog while the till sells ----------------------------------------
@dataclass
class DownloadRun:
    idle: Timing  # the till's sales, nothing else running
    floor: Timing  # the same, while another till's daemon downloads the version
    busy: Timing  # the same, while the till downloads it itself
    took: float  # the till's download
    floor_took: float  # the other till's


async def _download(tmp: Path) -> DownloadRun:
    """Head office runs as `gatewayd hq serve` in its own process, as in a chain (its work of
    reading and sending the version is not the till's); the till is measured in this one.
    The floor's till is `gatewayd run` in a process of its own: the same download on the same
    machine, with none of it in the measured till's process, store or write lock."""
    import socket
    import subprocess
    import sys

    from clients.python.client import connect
    from gatewayd import auth
    from gatewayd.app import App
    from gatewayd.config import Config
    from gatewayd.hq import master
    from gatewayd.hq.db import HqStore, open_backend
    from gatewayd.sales.catalog.validation import ItemIn

    hq_store = HqStore(open_backend(tmp / "hq", None))
    items = [ItemIn(sku=f"{690000000 + i}", name=f"商品 {i}", price=100 + i % 900,
                    barcodes=[f"{690000000 + i}"]) for i in range(ITEMS - 1)]
    items.append(ItemIn(sku="1001", name="可乐", price=350))
    hq_store.write_sync(partial(master.commit, changes=[
        master.Change("item", it.sku, it.model_dump()) for it in items], actor="bench",
        source="bench"))
    del items
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "gatewayd", "hq", "serve", "--listen", f"127.0.0.1:{port}",
         "--data", str(tmp / "hq")], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        text=True)
    assert server.stdout is not None
    server.stdout.readline()  # "gatewayd hq on ws://...": listening
    # what enroll_store uses of head office (store, port) and _other_till (data)
    hq = SimpleNamespace(store=hq_store, port=port, data=tmp / "hq")
    cfg = Config.model_validate({"server": {"listen": "127.0.0.1:0"},
                                 "data_dir": str(tmp / "till"), "hq": {"poll_s": 0.02}})
    app = App(cfg)
    app.store.write_sync(lambda tx: auth.add_operator(tx, "1001", "Li", "cashier", "1234"))
    (_, token), _ = app.store.write_sync(lambda tx: auth.add_token(tx, "bench", "admin"))
    other = _other_till(tmp / "other", hq)
    idle: list[float] = []
    floor: list[float] = []
    busy: list[float] = []
    clock = time.perf_counter
    try:
        async with trio.open_nursery() as nursery:
            await nursery.start(app.run)
            async with connect(f"ws://127.0.0.1:{app.port}/ws", token, reconnect=False) as gw:
                sale = await timed_sale(gw)
                paced = partial(paced_sale, sale)  # idle and busy alike
                for _ in range(20):
                    await paced()  # warm-up
                for _ in range(IDLE_SALES):
                    idle.append(await paced())
                started = clock()
                proc = OtherTill(tmp / "other", None)  # not pinned: it shares the till's CPUs
                try:
                    with trio.fail_after(1800):
                        while other.master_applied() < 1:
                            floor.append(await paced())
                finally:
                    proc.stop()
                floor_took = clock() - started
                started = clock()
                enroll_store(hq, app.store, cfg.till)
                with trio.fail_after(1800):
                    while app.master.version() < 1:
                        busy.append(await paced())
                took = clock() - started
                assert app.catalog.count() == ITEMS
            nursery.cancel_scope.cancel()
    finally:
        server.terminate()
        server.wait(timeout=30)
        app.close()
        other.close()
        hq_store.close()
    return DownloadRun(Timing.of(idle), Timing.of(floor), Timing.of(busy), took, floor_took)


def _other_till(data: Path, hq: SimpleNamespace) -> HqProgress:
    """The floor's till store, made and enrolled at `hq` (its daemon not started yet)."""
    from gatewayd.config import TillConfig
    from gatewayd.store.db import Store

    store = Store(data / "gatewayd.db")
    try:
        enroll_store(hq, store, TillConfig(store=OTHER_TILL[0], till=OTHER_TILL[1]))
    finally:
        store.close()
    return HqProgress(hq.data, *OTHER_TILL)


def run() -> list[Row]:
    base = os.environ.get("GATEWAYD_BENCH_DIR")
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="gatewayd-bench-master-", dir=base) as tmp:
        root = Path(tmp)
        visible, rtt = trio.run(_visible, root / "visible")
        rows.append(Row("master.visible", value=visible.p50, value_p99=visible.p99, unit="s",
                        limit=2.0,
                        note=f"{CHANGES} changes via hq.catalog.upsert, each until all "
                             f"{N_TILLS} connected tills committed it ({visible.n} samples; "
                             f"target p99 < 2 s); the client's hq.tills round trip p50 "
                             f"{rtt.p50 * 1000:.1f} ms = "
                             f"{visible.p50 / rtt.p50:.0f}x of it"))
        got = trio.run(_download, root / "download")
        rows.append(Row("master.download", value=got.took, unit="s",
                        note=f"a first download of {ITEMS} items in one version: received, "
                             f"staged beside the catalog, switched in (the floor's till: "
                             f"{got.floor_took:.1f} s)"))
        busy, floor, idle = got.busy, got.floor, got.idle
        rows.append(Row("master.download.sale", busy, idle, target=1.2,
                        note=f"sale.add + sale.tender during that download ({busy.n} sales) "
                             f"vs the same till idle just before; ours, over the floor: "
                             f"{busy.p50 / floor.p50:.2f}x p50, {busy.p99 / floor.p99:.2f}x p99"))
        rows.append(Row("master.download.floor", floor, idle,
                        note=f"the same till's sales ({floor.n}), not enrolled, while another"
                             f" till's daemon (a process of its own, with its download's) "
                             f"downloads the same version: what the machine's sharing costs"))
    return rows
