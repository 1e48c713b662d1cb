"""Stored value authorized online (issue 15's target): a `hold` round trip till -> head office
-> till against the replication link's raw round trip, measured in the same run.

- subject: `Replicator.request(hold)` on a real till's link to `gatewayd hq` (SQLite, same
  process): the frame out, head office's decision under the member's ledger lock and its
  commit, the `reply` back to the waiting caller.
- baseline: the link's raw round trip on the same head office: a `push` of one journal event
  on a raw `gatewayd-repl.v1` WebSocket and its `ack` (also one commit at head office).

Samples alternate between the two so both see the same machine. Target: subject <= 1.5x.
"""

from __future__ import annotations

import os
import secrets
import tempfile
import time
import uuid
from pathlib import Path

import trio

from bench.harness import Row, Timing

SAMPLES = int(os.environ.get("GATEWAYD_BENCH_HOLDS", "300"))


async def _measure(tmp: Path) -> tuple[Timing, Timing]:
    from websockets.trio.client import connect as ws_connect
    from websockets.typing import Subprotocol

    from gatewayd.config import TillConfig
    from gatewayd.hq import ingest
    from gatewayd.hq.service import HqApp
    from gatewayd.replication import link
    from gatewayd.replication.config import LinkConfig
    from gatewayd.replication.master import MasterData
    from gatewayd.replication.replicator import Replicator
    from gatewayd.store.db import Store, now_us
    from protocol import repl

    hq = HqApp(tmp / "hq", None, listen="127.0.0.1:0")
    store = Store(tmp / "till" / "gatewayd.db")
    member = str(uuid.uuid4())
    # the member's stored value, as a top-up journaled at the till and replicated
    store.write_sync(lambda tx: tx.append("member.balance", {
        "member": member, "delta": 10**12, "before": 0, "after": 10**12, "reason": "topup"}))
    holds: list[float] = []
    raw: list[float] = []
    clock = time.perf_counter
    async with trio.open_nursery() as nursery:
        await nursery.start(hq.run)
        base = f"ws://127.0.0.1:{hq.port}"

        def enroll(t: TillConfig, epoch: str) -> str:
            code = hq.store.write_sync(lambda tx: ingest.add_till(tx, t.store, t.till))
            return hq.store.write_sync(lambda tx: ingest.enroll(tx, repl.Enroll(
                code=code, store=t.store, till=t.till, epoch=epoch)))

        till = TillConfig(store="S001", till="T01")
        cred = enroll(till, link.read(store).epoch)
        store.write_sync(lambda tx: link.save_enrollment(tx, base, cred, None, "S001", "T01"))
        rep = Replicator(store, till, LinkConfig(poll_s=0.02), lambda *a: None,
                         MasterData(store, lambda *a: None))
        nursery.start_soon(rep.run)
        raw_till, raw_epoch = TillConfig(store="S001", till="T99"), secrets.token_hex(16)
        raw_cred = enroll(raw_till, raw_epoch)
        with trio.fail_after(30):
            while rep.acked < store.last_seq:
                await trio.sleep(0.01)
        async with ws_connect(base + "/repl", subprotocols=[Subprotocol(repl.REPL_SUBPROTOCOL)],
                              compression=None) as ws:
            conn = repl.ReplConnection(repl.Side.TILL)
            await ws.send(conn.send(repl.Hello(store="S001", till="T99", epoch=raw_epoch,
                                               credential=raw_cred, head_seq=0)))
            conn.receive(await ws.recv())

            async def push(seq: int) -> float:
                ev = repl.JournalRecord(seq=seq, at=now_us(), kind="drawer.opened",
                                        data={"reason": "no_sale", "operator": "1001"})
                t0 = clock()
                await ws.send(conn.send(repl.Push(epoch=raw_epoch, from_seq=seq, events=[ev])))
                conn.receive(await ws.recv())
                return clock() - t0

            async def hold() -> float:
                t0 = clock()
                reply = await rep.request(repl.Hold(
                    id=str(uuid.uuid4()), member=member, ledger="balance", amount=100,
                    sale_id=str(uuid.uuid4())))
                assert reply.ok, reply
                return clock() - t0

            seq = 0
            for _ in range(20):  # warm-up
                seq += 1
                await push(seq)
                await hold()
            for _ in range(SAMPLES):
                seq += 1
                raw.append(await push(seq))
                holds.append(await hold())
        nursery.cancel_scope.cancel()
    store.close()
    hq.close()
    return Timing.of(holds), Timing.of(raw)


def run() -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="gatewayd-bench-hqm-",
                                     dir=os.environ.get("GATEWAYD_BENCH_DIR")) as tmp:
        holds, raw = trio.run(_measure, Path(tmp))
    return [Row("hq.members.hold", holds, raw, target=1.5,
                note=f"{holds.n} stored-value holds till -> HQ (SQLite) -> till vs the "
                     "link's raw round trip (push of one event -> ack), alternating "
                     "(target <= 1.5x)")]
