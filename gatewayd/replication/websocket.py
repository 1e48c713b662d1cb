"""The replication link's WebSocket connections: a reader that never waits for a send.

websockets' trio connection (17.x) reads in one task, and after every read that task takes
the connection's send lock to flush what the protocol has to answer (a pong, a close). When
another task's `send` holds that lock because the peer's buffers are full, the reader waits
for it and stops reading. On a link where both sides send much at once this deadlocks: head
office sends master parts faster than a till stages them, its send blocks and its reader
stops reading the till's pushes; the till's push then blocks once head office's buffers are
full, and the till's reader waits on the till's lock. Neither side reads again, and the
keepalive ping waits on the same lock, so the link never comes back (seen in a 200k-item
download at 81,500, 88,000 and 166,000 changes; docs/bench.md).

Here the reader never sends. What the protocol has to answer (a pong, a close) is flushed by
a task of its own, after any send that holds the lock, while the reader keeps reading, so
the peer's sends go through. Flushing only when the lock was taken was not enough: with no
send under way (the till's pushes waiting for acks) but the socket toward the peer full
(head office reading nothing until its acks, queued behind the part it was sending, went
out), the reader took the free lock for a pong, blocked in the socket and read no more
(tests/hq/test_link_websocket.py; two 200k downloads that stopped for good looked like it).
Once the protocol is closed the reader sends as websockets' does: only the end of the
stream, after which it closes the connection.
"""

from __future__ import annotations

import trio
from websockets.protocol import State
from websockets.trio.client import ClientConnection
from websockets.trio.server import ServerConnection


class _ReadsWhileSending:
    """Mixed into a websockets trio connection, before it."""

    send_lock: trio.Lock
    nursery: trio.Nursery
    _reader: trio.lowlevel.Task | None = None
    _flushing = False
    _again = False  # the reader has queued something since the flush began

    async def recv_events(self) -> None:
        self._reader = trio.lowlevel.current_task()
        await super().recv_events()  # type: ignore[misc]

    async def send_data(self) -> None:
        if (trio.lowlevel.current_task() is self._reader
                and self.protocol.state is not State.CLOSED):  # type: ignore[attr-defined]
            # the reader reads on; a task of its own flushes (a pong, a close), after the
            # send that holds the lock if any, as the reader would have
            self._again = True
            if not self._flushing:
                self._flushing = True
                try:
                    self.nursery.start_soon(self._flush)
                except RuntimeError:  # the connection's nursery is closing: nothing to flush to
                    self._flushing = False
            return
        await super().send_data()  # type: ignore[misc]

    async def _flush(self) -> None:
        try:
            while self._again:  # what the reader queued while this one was sending, too
                self._again = False
                await super().send_data()  # type: ignore[misc]
        except Exception as exc:  # as the reader does with a failed send: the link is gone
            self.set_connection_exc(exc)  # type: ignore[attr-defined]
        finally:
            self._flushing = False


class LinkClientConnection(_ReadsWhileSending, ClientConnection):
    """The till's end (`connect(..., create_connection=LinkClientConnection)`)."""


class LinkServerConnection(_ReadsWhileSending, ServerConnection):
    """Head office's end (`serve(..., create_connection=LinkServerConnection)`)."""
