"""One till's replication link at head office (`/repl`, `gatewayd-repl.v1`): the I/O shell
around protocol/repl.py's state machine and gatewayd/hq/ingest.py's transactions.

The link reads one frame at a time and answers it only after the transaction it caused has
committed: an `ack` always names events HQ holds. Beside it, `_send_master` sends the
master versions the till lacks (after its hello's `master_version`, going on after a part
it holds staged), then each new one as it is made; the till's `applied` is recorded.
Anything wrong (a bad frame, a revoked credential, a push for another epoch, an oversize
batch) is answered with `error` and the link is closed, with nothing written.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

import trio
from websockets.exceptions import ConnectionClosed

from gatewayd.hq import ingest, master, members, restore, stock
from gatewayd.hq.db import RowsExist
from gatewayd.replication.replicator import first_failure
from protocol import repl
from protocol.codec import pack
from protocol.repl import ReplConnection, ReplProtocolError, Side

if TYPE_CHECKING:
    from websockets.trio.server import ServerConnection

    from gatewayd.hq.db import HqTx
    from gatewayd.hq.service import HqApp

log = logging.getLogger("gatewayd.hq.link")
HELLO_TIMEOUT_S = 10
CLOSE_POLICY = 1008


@dataclass
class LiveLink:
    store: str
    till: str
    epoch: str
    connected_at: float
    pushes: int = 0


async def serve_link(hq: HqApp, ws: ServerConnection) -> None:
    conn = ReplConnection(Side.HQ)
    live: LiveLink | None = None
    try:
        with trio.move_on_after(HELLO_TIMEOUT_S) as timeout:
            first = conn.receive(await ws.recv())
        if timeout.cancelled_caught:
            raise ReplProtocolError("unauthenticated", f"no hello within {HELLO_TIMEOUT_S} s")
        if isinstance(first, repl.Enroll):
            credential = await hq.store.write(lambda tx: ingest.enroll(tx, first))
            hq.metrics.inc("gatewayd_hq_enrollments_total")
            await ws.send(conn.send(repl.Enrolled(store=first.store, till=first.till,
                                                  credential=credential)))
            return
        if isinstance(first, repl.Restore):
            await _serve_restore(hq, ws, conn, first)
            return
        assert isinstance(first, repl.Hello)
        link = await hq.store.write(lambda tx: ingest.hello(tx, first))
        for alert in link.alerts:
            hq.alert(alert)
        live = LiveLink(link.store, link.till, link.epoch, time.time())
        hq.link_opened(live)
        await ws.send(conn.send(repl.Welcome(acked_seq=link.acked,
                                             master_head=hq.master_head)))
        sending = trio.Lock()  # two tasks send: the answers to pushes, and master data
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(_send_master, hq, ws, conn, link, first, sending)
                await _stream(hq, ws, conn, link, live, sending)
                nursery.cancel_scope.cancel()
        except BaseExceptionGroup as group:  # the link's failure, as the handlers below take it
            raise first_failure(group) from None
    except ReplProtocolError as exc:
        hq.metrics.inc("gatewayd_hq_link_errors_total", code=exc.code)
        log.info("link %s refused: %s", _who(live, ws), exc.message)
        try:
            await ws.send(conn.send(repl.error(exc.code, exc.message)))
            await ws.aclose(CLOSE_POLICY, exc.message[:100])
        except (ConnectionClosed, ReplProtocolError):
            pass
    except ConnectionClosed:
        pass
    except Exception:  # the database went away mid-apply: nothing was acknowledged
        log.exception("link %s failed", _who(live, ws))
        hq.metrics.inc("gatewayd_hq_link_errors_total", code="internal")
        try:
            await ws.send(conn.send(repl.error("internal", "head office failed; retry later")))
            await ws.aclose(1011, "internal error")
        except (ConnectionClosed, ReplProtocolError):
            pass
    finally:
        if live is not None:
            hq.link_closed(live)


async def _stream(hq: HqApp, ws: ServerConnection, conn: ReplConnection, link: ingest.Link,
                  live: LiveLink, sending: trio.Lock) -> None:
    limits = hq.limits
    async for raw in ws:
        if len(raw) > limits.max_push_bytes:
            raise ReplProtocolError(
                "bad_frame", f"push of {len(raw)} bytes; at most {limits.max_push_bytes}")
        frame = conn.receive(raw)
        if isinstance(frame, repl.Applied):
            await hq.store.write(partial(master.record_applied, store=link.store,
                                         till=link.till, epoch=link.epoch,
                                         version=frame.version))
            hq.metrics.inc("gatewayd_hq_master_applied_total")
            continue
        if isinstance(frame, repl.TillRequest):
            reply = await _answer(hq, link, frame)
            async with sending:
                await ws.send(conn.send(reply))
            continue
        assert isinstance(frame, repl.Push) and isinstance(raw, bytes)
        repl.check_push(frame, link.epoch, limits.max_push_events)
        try:
            answer, alerts = await hq.store.write(partial(_apply_push, link=link, push=frame,
                                                          raw=raw))
        except RowsExist as exc:  # not new after all (a row put there by hand?): rolled back
            log.warning("link %s: push from %d applied again with ON CONFLICT: %s",
                        _who(live, ws), frame.from_seq, exc)
            answer, alerts = await hq.store.write(partial(_apply_push, link=link, push=frame,
                                                          raw=raw, fresh=False))
        for alert in alerts:  # raised by the projections (a coupon or transfer twice)
            hq.alert(alert)
        live.pushes += 1
        if isinstance(answer, repl.Resend):
            hq.metrics.inc("gatewayd_hq_resends_total")
        else:
            applied = answer.seq - link.acked
            if applied > 0:
                hq.metrics.inc("gatewayd_hq_events_applied_total", applied)
                link.acked = answer.seq
                hq.till_changed(link.store, link.till)
        async with sending:
            await ws.send(conn.send(answer))


def _apply_push(tx: HqTx, link: ingest.Link, push: repl.Push, raw: bytes,
                fresh: bool = True) -> tuple[repl.Ack | repl.Resend, list[ingest.Alert]]:
    return ingest.apply_push(tx, link, push, raw, fresh), tx.alerts


async def _send_master(hq: HqApp, ws: ServerConnection, conn: ReplConnection,
                       link: ingest.Link, hello: repl.Hello, sending: trio.Lock) -> None:
    sent = hello.master_version
    staged = hello.staged
    scopes = await hq.store.read(lambda tx: master.scopes(tx, link.store))
    while True:
        changed = hq.master_changed
        while sent < hq.master_head:
            versions = await hq.store.read(partial(master.versions_after, after=sent))
            if not versions:
                break
            for version in versions:
                after = staged.pos if staged is not None and staged.version == version else -1
                newest = version == versions[-1]
                await _send_version(hq, ws, conn, version, after, scopes, newest, sending)
                sent = version
            staged = None
        await changed.wait()


async def _send_version(hq: HqApp, ws: ServerConnection, conn: ReplConnection, version: int,
                        after: int, scopes: list[str], newest: bool,
                        sending: trio.Lock) -> None:
    """One version's changes for this till, in parts bounded in bytes; a version with none
    for it is sent (empty) only when it is the newest, so the till's version moves on, or
    when the till holds it staged already (it applies what it holds on the last part)."""
    parts = 1 if after >= 0 else 0
    while True:
        rows = await hq.store.read(partial(master.read_part, version=version, after_pos=after,
                                           store_scopes=scopes))
        last_page = len(rows) < master.PART_CHANGES
        if rows:
            after = rows[-1]["pos"]
        chunks = _by_bytes(rows)
        if last_page and not chunks and (parts or newest):
            chunks = [[]]
        for i, chunk in enumerate(chunks):
            frame = repl.Master(version=version, changes=chunk,
                                more=not (last_page and i == len(chunks) - 1))
            async with sending:
                await ws.send(conn.send(frame))
            parts += 1
        if last_page:
            return


def _by_bytes(rows: list[dict]) -> list[list[dict]]:
    out: list[list[dict]] = []
    size = master.PART_BYTES
    for row in rows:
        n = len(pack(row))
        if size + n > master.PART_BYTES:
            out.append([])
            size = 0
        out[-1].append(row)
        size += n
    return out


async def _answer(hq: HqApp, link: ingest.Link, frame: repl.TillRequest) -> repl.Reply:
    """A request answered after its commit; a refusal is a reply, the link stays up."""
    try:
        if isinstance(frame, repl.StockQuery):
            result = await hq.store.read(partial(
                stock.answer, store=link.store, till=link.till, epoch=link.epoch, frame=frame))
        else:
            result = await hq.store.write(partial(
                members.answer, store=link.store, till=link.till, epoch=link.epoch,
                frame=frame, ttl_s=hq.limits.hold_ttl_s))
    except members.Refusal as exc:
        hq.metrics.inc("gatewayd_hq_requests_total", type=frame.type, outcome=exc.code)
        return repl.Reply(id=frame.id, ok=False, code=exc.code, message=exc.message,
                          result=exc.details or None)
    hq.metrics.inc("gatewayd_hq_requests_total", type=frame.type, outcome="ok")
    if result.get("version"):  # a member record became a master version: every link sends it
        hq.master_committed(result["version"])
    return repl.Reply(id=frame.id, ok=True, result=result)


async def _serve_restore(hq: HqApp, ws: ServerConnection, conn: ReplConnection,
                         frame: repl.Restore) -> None:
    """A lost till downloads its journal: one `restoring`, then a page per fetch. The till
    paces the download; a cut link leaves nothing here to clean up."""
    plan = await hq.store.write(lambda tx: restore.begin(tx, frame))
    hq.metrics.inc("gatewayd_hq_restores_total")
    log.info("till %s/%s restoring from head office: seqs 1..%d", frame.store, frame.till,
             plan.frame.acked_seq)
    await ws.send(conn.send(plan.frame))
    async for raw in ws:
        fetch = conn.receive(raw)
        assert isinstance(fetch, repl.Fetch)
        page = await hq.store.read(partial(restore.page, store=frame.store, till=frame.till,
                                           segs=plan.segments, fetch=fetch))
        await ws.send(conn.send(page))


def _who(live: LiveLink | None, ws: ServerConnection) -> str:
    if live is not None:
        return f"{live.store}/{live.till}"
    return str(ws.remote_address)
