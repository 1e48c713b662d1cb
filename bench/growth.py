"""A till that has sold for years vs a fresh one (issue 18), each figure against a floor
measured in the same run on the same machine.

The big store is bench/bigstore.py's: `BENCH_GROWTH_SALES` sales (default 200,000; `make
bench-growth` sets 1,600,000: three years at 1,500 a day), generated once into
`BENCH_GROWTH_DIR` (default a temp dir; set it to keep the store between runs).
`BENCH_GROWTH_ROWS` (a comma list: sale, current, reprint, report, rtt, import, backup)
measures only those rows.

    growth.sale            a sale (5 sale.add + cash tender) on the big store vs a fresh
                           store, BENCH_GROWTH_SALE_ROUNDS (1000) each, so that the p99 is
                           the tenth slowest, not the second (200 made it swing 0.97-1.34x
                           run to run)                                           <= 1.1x
    growth.sale.current    sale.current with no open sale, big store             < 2 ms
                           (.vs_fresh: against the same call on the fresh store)
    growth.reprint         receipt.reprint of the last receipt, big store        < 2 ms
                           (.vs_fresh: likewise)
    growth.write.floor     a one-event commit through the writer: what any write (the
                           reprint is one) pays before its own work (.vs_floor: the
                           reprint against it, rounds alternating)
    growth.report.max      the slowest report (every sales/profit grouping, all history)
                                                                                 < 200 ms
    growth.rtt.reporting   system.info round trip while a client in another process
                           (bench/report_client.py) runs reports back to back vs idle
                                                                                 <= 1.5x
    growth.backup.selling  a backup of the big store while a client sells one sale a
                           second vs the same backup quiet                       <= 2x
    growth.import.selling  a sale while `gatewayd catalog import` (another process) stages
                           200,000 items into the big store vs sales just before and after
                                                                                 <= 2x
    growth.import.failed   calls that failed meanwhile                           0
    growth.live_store      the big store's live size after retention, head office having
                           acknowledged everything                               <= 1 GB
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import trio

from bench.bigstore import ITEMS, make_store
from bench.harness import Row, Timing, open_shift, render_table, time_async

SALES = int(os.environ.get("BENCH_GROWTH_SALES", "200000"))
SALE_ROUNDS = int(os.environ.get("BENCH_GROWTH_SALE_ROUNDS", "1000"))
# 0: skip the retention row (on 1.6M sales its incremental vacuum takes hours here: the live
# size is known when the archiving ends, the file shrinks long after; docs/bench.md)
RETENTION = os.environ.get("BENCH_GROWTH_RETENTION", "1") != "0"
# 0: skip the backup row (two backups of the whole big store: minutes at 1.6M sales)
BACKUP = os.environ.get("BENCH_GROWTH_BACKUP", "1") != "0"
# 0: skip the import rows (writing and importing 200,000 items: a minute or two)
IMPORT = os.environ.get("BENCH_GROWTH_IMPORT", "1") != "0"
# a comma list of the rows to measure (sale, current, reprint, report, rtt, import, backup;
# default all of them): a change to one path re-measured without the others' minutes
ROWS = set(os.environ.get("BENCH_GROWTH_ROWS", "sale,current,reprint,report,rtt,import,"
                          "backup").split(","))
RTT_CALLS = 1000  # system.info calls idle and as many while reporting: enough for a p99
IMPORT_IDLE = 150  # sales before the import and as many after it: the baseline
PRINTER = {"printer": {"kind": "printer", "driver": "escpos", "transport": "tcp:127.0.0.1:9"}}
REPORTS = [("report.sales", {"by": by}) for by in
           ("hour", "day", "week", "cashier", "member", "item", "category")] + \
          [("report.profit", {"by": by}) for by in ("day", "item", "category")]


def _log(msg: str) -> None:
    print(f"  growth: {msg}", file=sys.stderr, flush=True)


def _stores(base: Path) -> tuple[Path, Path]:
    big = base / f"big-{SALES}.db"
    if not big.exists():
        _log(f"generating a store of {SALES} sales (once; BENCH_GROWTH_DIR keeps it)")
        tmp = base / "generating.db"
        for f in base.glob("generating.db*"):
            f.unlink()
        info = make_store(tmp, SALES, progress=True)
        tmp.rename(big)
        _log(f"generated in {info.seconds:.0f} s, {big.stat().st_size / 1e9:.2f} GB")
    fresh = base / "fresh.db"
    if not fresh.exists():
        make_store(fresh, 1)
    return big, fresh


async def _daemon(path: Path, data: Path, nursery):
    from clients.python.client import connect
    from gatewayd import auth
    from gatewayd.app import App
    from gatewayd.config import Config

    cfg = Config.model_validate({"server": {"listen": "127.0.0.1:0"}, "data_dir": str(data),
                                 "store": {"path": str(path)}, "devices": PRINTER,
                                 "backup": {"enabled": False},
                                 "retention": {"enabled": False},
                                 "till": {"timezone": "Asia/Shanghai"}})
    app = App(cfg)
    await nursery.start(app.run)
    (_, token), _ = app.store.write_sync(lambda tx: auth.add_token(tx, "bench", "admin"))
    url = f"ws://127.0.0.1:{app.port}/ws"
    gw = await nursery.start(_client, connect, url, token)
    return app, gw, lambda: connect(url, token)


async def _client(connect, url, token, task_status=trio.TASK_STATUS_IGNORED):
    async with connect(url, token) as gw:
        await gw.call("auth.login", {"operator": "1001", "pin": "1234"})
        await open_shift(gw)
        task_status.started(gw)
        await trio.sleep_forever()


async def _sale(gw, i: int) -> None:
    for k in range(5):
        await gw.call("sale.add", {"sku": ITEMS[(i * 7 + k) % len(ITEMS)]["sku"]})
    sale = await gw.call("sale.current")
    await gw.call("sale.tender", {"method": "cash", "amount": sale["due"] + 1000})


async def _sales(gw, n: int) -> Timing:
    out = []
    for i in range(n):
        t0 = time.perf_counter()
        await _sale(gw, i)
        out.append(time.perf_counter() - t0)
    return Timing.of(out)


async def _measure(big: Path, fresh: Path, work: Path) -> list[Row]:
    rows: list[Row] = []
    async with trio.open_nursery() as nursery:
        _, fresh_gw, _ = await _daemon(fresh, work / "fresh", nursery)
        app, gw, _ = await _daemon(big, work / "big", nursery)
        await _sales(gw, 10)  # warm both
        await _sales(fresh_gw, 10)
        if "sale" in ROWS:
            rows.append(await _sale_vs_fresh(gw, fresh_gw))
        if "current" in ROWS:
            rows += await _current(gw, fresh_gw)
        if "reprint" in ROWS:
            rows += await _reprint(app, gw, fresh_gw)
        if "report" in ROWS:
            rows.append(await _reports(gw))
        if "rtt" in ROWS:
            idle = await time_async(lambda: gw.call("system.info"), RTT_CALLS, warmup=20)
            reporting, rate = await _rtt_while_reporting(app, gw)
            rows.append(Row("growth.rtt.reporting", reporting, idle, target=1.5,
                            note=f"system.info while another process runs reports vs idle;"
                                 f" {rate}"))
        if IMPORT and "import" in ROWS:
            rows += await _import_while_selling(app, gw, work)
        if BACKUP and "backup" in ROWS:
            quiet, selling = await _backups(app, gw, work)
            rows.append(Row("growth.backup.selling", value=selling / quiet, unit="x", limit=2,
                            note=f"quiet {quiet:.1f} s, selling 1/s {selling:.1f} s"))
        nursery.cancel_scope.cancel()
    return rows


async def _sale_vs_fresh(gw, fresh_gw) -> Row:
    big_t, fresh_t = [], []
    for _ in range(SALE_ROUNDS // 20):  # interleaved rounds: both see the same load
        big_t += (await _sales(gw, 10)).samples
        fresh_t += (await _sales(fresh_gw, 10)).samples
    return Row("growth.sale", Timing.of(big_t), Timing.of(fresh_t), target=1.1,
               note=f"{SALES} sales vs fresh")


async def _current(gw, fresh_gw) -> list[Row]:
    current = await time_async(lambda: gw.call("sale.current"), 500, warmup=20)
    current_fresh = await time_async(lambda: fresh_gw.call("sale.current"), 500, warmup=20)
    return [Row("growth.sale.current", value=current.p50 * 1e3, value_p99=current.p99 * 1e3,
                unit="ms", limit=2),
            Row("growth.sale.current.vs_fresh", current, current_fresh,
                note="the same call on the fresh store, same run")]


async def _reprint(app, gw, fresh_gw) -> list[Row]:
    # the reprint and the floor alternate: both meet the same load (the VM is shared)
    reprint_t: list[float] = []
    floor_t: list[float] = []
    for _ in range(310):  # the first 10 of each warm up
        t0 = time.perf_counter()
        await gw.call("receipt.reprint", {})
        t1 = time.perf_counter()
        await app.store.write(lambda tx: tx.append("bench.noop", {}))
        reprint_t.append(t1 - t0)
        floor_t.append(time.perf_counter() - t1)
    reprint, floor = Timing.of(reprint_t[10:]), Timing.of(floor_t[10:])
    reprint_fresh = await time_async(lambda: fresh_gw.call("receipt.reprint", {}), 300,
                                     warmup=10)
    return [Row("growth.reprint", value=reprint.p50 * 1e3, value_p99=reprint.p99 * 1e3,
                unit="ms", limit=2,
                note="one write: copies the receipt's job, queues it, journals (the bench's"
                     " printer is away: the job waits)"),
            Row("growth.reprint.vs_fresh", reprint, reprint_fresh,
                note="the same call on the fresh store, same run"),
            Row("growth.reprint.vs_floor", reprint, floor,
                note="against growth.write.floor, rounds alternating"),
            Row("growth.write.floor", value=floor.p50 * 1e3, value_p99=floor.p99 * 1e3,
                unit="ms",
                note="one-event commit through the writer (fsync): any write's floor")]


async def _reports(gw) -> Row:
    slowest, name = 0.0, ""
    for method, params in REPORTS:
        t = await time_async(lambda m=method, p=params: gw.call(
            m, {**p, "from": "2000-01-01"}), 5, warmup=1)
        if t.p99 > slowest:
            slowest, name = t.p99, f"{method} {params['by']}"
    return Row("growth.report.max", value=slowest * 1e3, unit="ms", limit=200,
               note=f"all history; slowest: {name}")


async def _rtt_while_reporting(app, gw) -> tuple[Timing, str]:
    """system.info while bench/report_client.py, a process of its own as the back office's
    browser is, runs the reports back to back: what the daemon's reports cost its other
    clients, not what a client in this process pays to unpack their answers."""
    from gatewayd import auth

    (_, token), _ = app.store.write_sync(lambda tx: auth.add_token(tx, "reports", "admin"))
    proc = await trio.lowlevel.open_process(
        [sys.executable, "-m", "bench.report_client", f"ws://127.0.0.1:{app.port}/ws", token],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=Path(__file__).resolve().parents[1])
    assert proc.stdin is not None and proc.stdout is not None
    try:
        out = b""
        while b"ready\n" not in out:
            got = await proc.stdout.receive_some()
            if not got:
                raise RuntimeError("bench.report_client exited before it was ready")
            out += got
        await trio.sleep(0.2)
        t = await time_async(lambda: gw.call("system.info"), RTT_CALLS)
        await proc.stdin.send_all(b"\n")
        while got := await proc.stdout.receive_some():
            out += got
        await proc.wait()
    finally:
        if proc.returncode is None:
            proc.kill()
    done = json.loads(out.decode().strip().splitlines()[-1])
    if done["failed"]:
        raise RuntimeError(f"reports failed: {done['failed']}")
    return t, f"{done['reports'] / done['seconds']:.0f} reports/s"


async def _import_while_selling(app, gw, work: Path) -> list[Row]:
    """`gatewayd catalog import` of 200,000 items (bench/catalog.py's file) in another
    process, into the big store while a cashier sells without pause; the baseline is the
    same sales just before and just after it."""
    from bench.catalog import N_ITEMS, _write_csv

    src = work / "items.csv"
    _write_csv(src, random.Random(42))
    data = work / "import"
    data.mkdir(exist_ok=True)
    cfg = data / "gatewayd.toml"
    cfg.write_text(f'data_dir = "{data}"\n[store]\npath = "{app.store.path}"\n',
                   encoding="utf-8")
    idle = (await _sales(gw, IMPORT_IDLE)).samples
    during, failed = [], []
    log = open(data / "import.log", "wb")
    t0 = time.perf_counter()
    proc = await trio.lowlevel.open_process(
        [sys.executable, "-m", "gatewayd", "--config", str(cfg), "catalog", "import", str(src)],
        stdout=log, stderr=subprocess.STDOUT)
    i = 0
    while proc.poll() is None:
        i += 1
        s0 = time.perf_counter()
        try:
            await _sale(gw, i)
            during.append(time.perf_counter() - s0)
        except Exception as exc:  # GatewayError or a dropped connection: a failed call
            failed.append(f"{type(exc).__name__}: {exc}")  # the next sale goes on with it
    seconds = time.perf_counter() - t0
    log.close()
    if proc.returncode != 0:
        raise RuntimeError("catalog import failed: "
                           + (data / "import.log").read_text(encoding="utf-8")[-2000:])
    idle += (await _sales(gw, IMPORT_IDLE)).samples
    return [Row("growth.import.selling", Timing.of(during), Timing.of(idle), target=2.0,
                note=f"{len(during)} sales during a {seconds:.0f} s import of {N_ITEMS}"
                     f" items vs {len(idle)} just before and after"),
            Row("growth.import.failed", value=len(failed), unit="calls", limit=1,
                note="; ".join(failed[:3]) or "calls that failed during the import")]


async def _backups(app, gw, work: Path) -> tuple[float, float]:
    from gatewayd.store.backup import backup

    async def one(name: str) -> float:
        target = work / name
        target.unlink(missing_ok=True)
        t0 = time.perf_counter()
        await trio.to_thread.run_sync(backup, app.store.path, target)
        seconds = time.perf_counter() - t0
        target.unlink()
        return seconds

    quiet = await one("quiet.db")
    done = trio.Event()

    async def sell() -> None:
        i = 0
        while not done.is_set():
            await _sale(gw, i)
            i += 1
            await trio.sleep(1)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(sell)
        selling = await one("selling.db")
        done.set()
    return quiet, selling


def _retention(big: Path, work: Path) -> Row:
    """Retention with head office having acknowledged everything, on a copy."""
    from zoneinfo import ZoneInfo

    from gatewayd.config import RetentionConfig
    from gatewayd.store import retention
    from gatewayd.store.db import Store

    copy = work / "retained.db"
    shutil.copyfile(big, copy)
    store = Store(copy)
    try:
        cfg = RetentionConfig()
        policy = retention.Policy(cfg.keep_days, cfg.journal_days, cfg.print_days,
                                  cfg.return_window_days, cfg.max_store_bytes)
        before = retention.live_bytes(store._r)
        t0 = time.monotonic()
        out = retention.run(store, work / "archive", policy, ZoneInfo("Asia/Shanghai"),
                            time.time_ns() // 1000, acked_seq=store.journal_seq())
        seconds = time.monotonic() - t0
        archive = sum(p.stat().st_size for p in (work / "archive").glob("*.db"))
    finally:
        store.close()
    size = copy.stat().st_size
    copy.unlink()
    return Row("growth.live_store", value=out.live_bytes / 1e9, unit="GB", limit=1.0,
               note=f"{before / 1e9:.2f} GB before, file {size / 1e9:.2f} GB after; "
                    f"{out.sales} sales, {out.journal} events, {out.print_jobs} print jobs "
                    f"to {archive / 1e9:.2f} GB of archive in {seconds:.0f} s")


def run() -> list[Row]:
    base = Path(os.environ.get("BENCH_GROWTH_DIR") or tempfile.mkdtemp(prefix="growth-"))
    base.mkdir(parents=True, exist_ok=True)
    big, fresh = _stores(base)
    work = Path(tempfile.mkdtemp(prefix="growth-run-", dir=base))
    try:
        run_big, run_fresh = work / "big.db", work / "fresh.db"
        shutil.copyfile(big, run_big)  # the runs sell into copies: the store stays as made
        shutil.copyfile(fresh, run_fresh)
        rows = trio.run(_measure, run_big, run_fresh, work)
        # the figures so far, in case the long retention run below is cut short
        _log("measured:\n" + render_table(rows))
        if RETENTION:
            _log("retention on the big store (head office acknowledged everything)")
            rows.append(_retention(big, work))
        return rows
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if not os.environ.get("BENCH_GROWTH_DIR"):
            shutil.rmtree(base, ignore_errors=True)
