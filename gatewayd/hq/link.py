"""One till's replication link at head office (`/repl`, `gatewayd-repl.v1`): the I/O shell
around protocol/repl.py's state machine and gatewayd/hq/ingest.py's transactions.

The link reads one frame at a time and answers it only after the transaction it caused has
committed: an `ack` always names events HQ holds. Anything wrong (a bad frame, a revoked
credential, a push for another epoch, an oversize batch) is answered with `error` and the
link is closed, with nothing written.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

import trio
from websockets.exceptions import ConnectionClosed

from gatewayd.hq import ingest
from protocol import repl
from protocol.repl import ReplConnection, ReplProtocolError, Side

if TYPE_CHECKING:
    from websockets.trio.server import ServerConnection

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
        assert isinstance(first, repl.Hello)
        link = await hq.store.write(lambda tx: ingest.hello(tx, first))
        for alert in link.alerts:
            hq.alert(alert)
        live = LiveLink(link.store, link.till, link.epoch, time.time())
        hq.link_opened(live)
        await ws.send(conn.send(repl.Welcome(acked_seq=link.acked, master_head=0)))
        await _stream(hq, ws, conn, link, live)
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
                  live: LiveLink) -> None:
    limits = hq.limits
    async for raw in ws:
        if len(raw) > limits.max_push_bytes:
            raise ReplProtocolError(
                "bad_frame", f"push of {len(raw)} bytes; at most {limits.max_push_bytes}")
        frame = conn.receive(raw)
        if isinstance(frame, repl.Applied):
            continue  # master data is part 2's; nothing is sent down yet
        assert isinstance(frame, repl.Push)
        repl.check_push(frame, link.epoch, limits.max_push_events)
        answer = await hq.store.write(partial(ingest.apply_push, link=link, push=frame))
        live.pushes += 1
        if isinstance(answer, repl.Resend):
            hq.metrics.inc("gatewayd_hq_resends_total")
        else:
            applied = answer.seq - link.acked
            if applied > 0:
                hq.metrics.inc("gatewayd_hq_events_applied_total", applied)
                link.acked = answer.seq
        await ws.send(conn.send(answer))


def _who(live: LiveLink | None, ws: ServerConnection) -> str:
    if live is not None:
        return f"{live.store}/{live.till}"
    return str(ws.remote_address)
