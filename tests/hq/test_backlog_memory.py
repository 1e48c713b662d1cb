"""A till offline for a week catches up without head office's memory growing with the
backlog: HQ (a `gatewayd hq serve` process) takes one till's backlog, then another's five
times as big; its peak RSS (VmHWM) after the big one is within a bound of what it was after
the small one, though the big backlog alone is several times that bound. HQ holds one push
of a link at a time (and the till sends a window of them), never the backlog.

Size knob: GATEWAYD_TEST_BACKLOG events in the big backlog, a multiple of 35 (make soak:
245,000, about 56 MB of journal).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import trio

from bench.hq import sale_events
from gatewayd.hq import ingest
from gatewayd.hq.db import HqStore, open_backend
from gatewayd.replication.enroll import enroll
from tests.hq.conftest import start_till
from tests.hq.test_processes import HqProcess

BACKLOG = int(os.environ.get("GATEWAYD_TEST_BACKLOG", "49000"))  # a multiple of 7 x 5
BOUND_MB = 4  # what a few pushes in flight may cost HQ, whatever the backlog


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
async def test_hq_memory_does_not_grow_with_a_tills_backlog(tmp_path, hq_dsn, nursery):
    hq = HqProcess(tmp_path / "hq", hq_dsn)
    admin = HqStore(open_backend(tmp_path / "hq", hq_dsn))
    try:
        base = await hq.started()

        async def catch_up(till: str, n: int) -> float:
            """The MB of journal the till had to send."""
            d = await start_till(nursery, tmp_path / till, store="S001", till=till)
            events = sale_events(1, 0, n)  # whole sales, as a till journals them offline
            for i in range(0, n, 5000):
                d.app.store.write_sync(lambda tx, chunk=events[i:i + 5000]: [
                    tx.append(e["kind"], e["data"]) for e in chunk])
            head = d.app.store.last_seq
            size = d.app.store.one("SELECT SUM(LENGTH(data)) AS b FROM journal")["b"]
            code = admin.write_sync(lambda tx: ingest.add_till(tx, "S001", till))
            await enroll(d.app.config, base, code, None)
            with trio.fail_after(600):
                while True:
                    row = admin.read_sync(lambda tx: tx.one(
                        "SELECT MAX(acked_seq) AS a FROM till_epochs WHERE till=?", (till,)))
                    if row and (row["a"] or 0) >= head:
                        break
                    await trio.sleep(0.2)
            return size / 2**20

        await catch_up("T01", BACKLOG // 5)
        after_small = peak_rss_mb(hq.proc.pid)
        big = await catch_up("T02", BACKLOG)
        after_big = peak_rss_mb(hq.proc.pid)
        held = admin.read_sync(lambda tx: tx.one("SELECT COUNT(*) AS n FROM sales"))["n"]
        assert held == (BACKLOG // 5 + BACKLOG) // 7
        print(f"HQ peak RSS {after_small:.1f} MB after {BACKLOG // 5} events, "
              f"{after_big:.1f} MB after {BACKLOG} more ({big:.1f} MB of journal)")
        assert big > 2 * BOUND_MB  # the backlog would not fit in the bound
        assert after_big - after_small < BOUND_MB
    finally:
        admin.close()
        hq.kill()
