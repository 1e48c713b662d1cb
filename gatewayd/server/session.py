"""One client connection: hello, dispatch, and its own bounded outbox.

The reader runs calls concurrently up to `max_calls_in_flight` (a flooding client then
waits on its own socket, never on the others). A call keeps its slot until its answer is
out of the outbox, so a client that calls without reading holds back only itself, with
nothing lost and at most that many answers queued. Events reach the client through `offer`,
which never blocks or awaits: snapshot topics are coalesced to the latest, and a client
whose queue of other events overflows is closed with a reason.

The fast path. A client that keeps up has nothing queued, so `offer` (and the answer to a
call) writes the frame straight to its socket with one non-blocking write, inside the
bus's loop: no task switch, no lock, and an event's WebSocket frame is built once for all
clients (BusEvent.wire). It writes only when nothing can be ahead of the frame or half
written: our outbox is empty and the writer task holds no frame taken from it; websockets'
write buffer is empty and nobody holds its send lock (so no send_all is part way through a
frame); the connection is OPEN with no fragmented message in progress; the socket is open.
All of that is checked in the same synchronous step as the write, so no other task can
run in between. What the kernel does not take at once goes into websockets' own write
buffer, ahead of anything websockets adds later (a pong, a close frame), and the writer
task flushes it through websockets' send path; every frame after it waits in the outbox.
A client that does not keep up (the kernel takes part of a frame or none) is served by the
writer task alone, as before, until its outbox and buffers are empty again. The fast path
is off for good once the session starts to end or a write fails, and for a stream that
is not plain TCP, has an extension, or logs every frame.
"""

from __future__ import annotations

import logging
import os
import time
from collections import deque
from collections.abc import Callable
from os import environ  # not os.environ: the fan-out tests stand in for `os` here
from typing import TYPE_CHECKING, Any

import trio
from pydantic import ValidationError
from websockets.exceptions import ConnectionClosed
from websockets.protocol import OPEN

from drivers.base import DeviceBusy, DeviceOffline
from gatewayd.auth import Caller
from gatewayd.bus import SNAPSHOT_TOPICS, BusEvent, matches, websocket_binary
from gatewayd.foreground import Foreground
from gatewayd.server.registry import CallContext
from gatewayd.store.reader import ReadTimeout
from protocol.codec import decode_client_frame, frame_id, pack, validation_details
from protocol.errors import ProtocolError
from protocol.frames import Call, Hello
from protocol.methods import check_result
from protocol.roles import ROLES, at_least, rank
from protocol.version import PROTOCOL_VERSION

if TYPE_CHECKING:
    from websockets.trio.server import ServerConnection

    from gatewayd.app import App
    from gatewayd.auth import Operator

log = logging.getLogger("gatewayd.session")
CLOSE_POLICY = 1008


def _nothing() -> None:
    pass


class Outbox:
    """What a client has not been sent yet: frames in order (bounded) and the latest of each
    snapshot. `wake` is called whenever something is queued."""

    def __init__(self, limit: int, wake: Callable[[], None] = _nothing):
        self.limit = limit
        self.frames: deque[bytes] = deque()
        self.snapshots: dict[tuple[str, str], bytes] = {}
        self.wake = wake
        self.overflowed = False

    def put(self, frame: bytes) -> None:
        self.frames.append(frame)
        self.wake()

    def offer_event(self, event: BusEvent) -> bool:
        if event.topic in SNAPSHOT_TOPICS:
            key = (event.topic, str(event.data.get("device") or event.data.get("id") or ""))
            self.snapshots.pop(key, None)  # keep insertion order = newest last
            self.snapshots[key] = event.frame
        elif len(self.frames) >= self.limit:
            self.overflowed = True
        else:
            self.frames.append(event.frame)
        self.wake()
        return not self.overflowed

    def drain(self) -> list[bytes]:
        out = list(self.frames)
        self.frames.clear()
        out.extend(self.snapshots.values())
        self.snapshots.clear()
        return out


class _QueuedAnswer(bytes):
    """An answer frame in the outbox. Its call holds a `max_calls_in_flight` slot until the
    writer has sent it: a client that does not read its answers has at most that many
    queued, and its further calls wait in its own socket (websockets stops reading)."""


def _error_frame(call_id: int | None, exc: ProtocolError) -> bytes:
    frame: dict[str, Any] = {"type": "error", "id": call_id, "code": exc.code,
                             "message": exc.message}
    if exc.details:
        frame["details"] = exc.details
    return pack(frame)


def _peer_of(ws: ServerConnection) -> str:
    """The client's address without its port: what PIN throttling and pairing count by."""
    try:
        address = ws.remote_address
    except Exception:  # not a socket (a test's in-memory stream)
        return "?"
    return str(address[0]) if isinstance(address, tuple) else str(address)


def _plain_tcp(ws: ServerConnection) -> bool:
    """Whether the fast path may write to this connection's socket itself."""
    return (
        isinstance(ws.stream, trio.SocketStream)
        and not ws.protocol.extensions
        and not ws.protocol.debug  # websockets logs every frame it sends: let it
    )


class Session:
    def __init__(self, app: App, ws: ServerConnection):
        self.app = app
        # The tests check every answer against its method's result model (GATEWAYD_CHECK_RESULTS,
        # set by tests/conftest.py): an answer off the contract is then an `internal` error.
        self.check_results = environ.get("GATEWAYD_CHECK_RESULTS") == "1"
        self.ws = ws
        cfg = app.config.server
        self._wakeup = trio.Event()  # the writer sleeps on it when there is nothing to send
        self.outbox = Outbox(cfg.client_queue, self._kick)
        self.direct = False  # the fast path (module docstring); on between hello and the end
        # Something waits for the writer task: queued in the outbox, taken from it and not yet
        # sent, or the rest of a short write. Set whenever something is queued (_kick);
        # cleared by the writer only when it has sent it all and goes back to sleep.
        self._behind = False
        self._protocol = ws.protocol
        self._send_lock = ws.send_lock
        self._socket = ws.stream.socket if isinstance(ws.stream, trio.SocketStream) else None
        # a call's slot: released by its task, or by the writer once its queued answer is sent
        self.limiter = trio.Semaphore(cfg.max_calls_in_flight)
        # told of each call, for background work to keep out of its way (gatewayd/foreground.py)
        self.foreground: Foreground | None = getattr(app, "foreground", None)
        self.topics = set()
        self.token_role: str | None = None
        self.token_id: str | None = None
        self.operator: Operator | None = None
        self.kept: str | None = None  # the kept-session secret the operator came with, if any
        self.client_name = "?"
        self.client_kind = "?"
        self.peer = _peer_of(ws)
        self.pending_since: int | None = None  # hello's `since`, used by the first subscribe
        self.closed = trio.Event()
        self.overflow = trio.Event()
        self.revoked = trio.Event()  # set by App when this connection's token is revoked

    # -- bus subscriber ----------------------------------------------------------------
    @property
    def topics(self) -> set[str]:
        """What the client subscribed to. Assign a new set (`topics |= {...}` does), never
        change it in place: the setter resets the per-topic match cache."""
        return self._topics

    @topics.setter
    def topics(self, topics: set[str]) -> None:
        self._topics = topics
        self._matched: dict[str, bool] = {}  # event topic -> matches(topics, it)

    def offer(self, event: BusEvent) -> None:
        matched = self._matched.get(event.topic)
        if matched is None:
            if len(self._matched) > 1024:  # topics are a few dozen names; just in case
                self._matched.clear()
            matched = self._matched[event.topic] = matches(self._topics, event.topic)
        if not matched:
            return
        if self.direct and self._write_now(event.wire):
            return
        if not self.outbox.offer_event(event):
            self.app.metrics.inc("gatewayd_events_dropped_total", reason="slow_client")
            self.overflow.set()

    def _answer(self, frame: bytes) -> bool:
        """A call's answer: straight out when nothing is ahead of it (False), else queued in
        order (True), and then the call's slot stays taken until the writer has sent it."""
        if self.direct and self._write_now(websocket_binary(frame)):
            return False
        self.outbox.put(_QueuedAnswer(frame))
        return True

    def _write_now(self, wire: bytes) -> bool:
        """The fast path: write one whole WebSocket frame to the socket now, if nothing can
        be ahead of it. True when the frame is taken care of; False to queue it instead."""
        if self._behind:
            return False
        protocol = self._protocol
        if (
            protocol.writes
            or self._send_lock.locked()
            or protocol.state is not OPEN
            or self.ws.send_in_progress is not None
        ):
            return False
        sock = self._socket
        if sock is None:  # not plain TCP: `direct` is never set then
            return False
        fd = sock.fileno()
        if fd < 0 or sock.did_shutdown_SHUT_WR:
            return False
        try:
            sent = os.write(fd, wire)  # the socket is non-blocking (trio made it so)
        except BlockingIOError:
            return False  # the client is behind: queue, the writer waits for it
        except OSError:  # a reset peer: EPIPE, ECONNRESET (Python starts with SIGPIPE ignored)
            self.direct = False  # websockets' own send meets the error and closes
            return False
        if sent < len(wire):
            # The rest goes first in websockets' write buffer, so whatever it writes later
            # (a pong, a close frame, our queued frames) comes after the whole frame.
            protocol.writes.append(wire[sent:])
            self._kick()
        return True

    def _kick(self) -> None:
        self._behind = True
        self._wakeup.set()

    @property
    def caller(self) -> Caller:
        """Who this connection is, for PIN attempts (gatewayd.auth.Caller)."""
        return Caller(self.peer, self.token_role, self.client_name)

    @property
    def role(self) -> str | None:
        if self.token_role is None:
            return None
        if self.operator is None:
            return self.token_role
        return ROLES[min(rank(self.token_role), rank(self.operator.role))]

    # -- lifecycle -------------------------------------------------------------------------
    async def run(self) -> None:
        metrics = self.app.metrics
        metrics.inc("gatewayd_connections_total")
        self.app.sessions.add(self)
        try:
            if not await self._hello():
                return
            self.direct = _plain_tcp(self.ws)
            self.app.bus.attach(self)
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._writer)
                nursery.start_soon(self._drop_when_too_slow, nursery.cancel_scope)
                nursery.start_soon(self._drop_when_revoked, nursery.cancel_scope)
                await self._reader(nursery)
                self.direct = False
                nursery.cancel_scope.cancel()
        except* ConnectionClosed:
            pass  # the client went away, with or without a close frame: nothing to report
        finally:
            self.direct = False
            self.app.bus.detach(self)
            self.app.sessions.discard(self)
            self.closed.set()

    async def _send_now(self, obj: dict[str, Any]) -> None:
        await self.ws.send(pack(obj))

    async def _refuse(self, code: str, message: str, call_id: int | None = None) -> None:
        self.app.metrics.inc("gatewayd_auth_failures_total", reason=code)
        try:
            await self._send_now({"type": "error", "id": call_id, "code": code, "message": message})
            await self.ws.aclose(CLOSE_POLICY, message[:100])
        except ConnectionClosed:
            pass

    async def _hello(self) -> bool:
        timeout = self.app.config.server.hello_timeout_s
        with trio.move_on_after(timeout):
            raw = await self.ws.recv()
            try:
                frame = decode_client_frame(raw)
            except ProtocolError as exc:
                await self._refuse("unauthenticated", f"expected hello: {exc.message}")
                return False
            if not isinstance(frame, Hello):
                await self._refuse("unauthenticated", "the first frame must be hello", frame.id)
                return False
            self.client_name, self.client_kind = frame.client.name, frame.client.kind
            if frame.token:
                found = self.app.token_role(frame.token)
                if found is None:
                    await self._refuse("unauthenticated", "unknown or revoked token")
                    return False
                self.token_id, self.token_role = found
            if frame.since is not None:
                self.pending_since = frame.since
            welcome = {
                "type": "welcome",
                "protocol": PROTOCOL_VERSION,
                "server": {"name": self.app.config.till.name, "version": self.app.version},
                "till": {
                    "store": self.app.config.till.store,
                    "till": self.app.config.till.till,
                },
                "role": self.role or "unpaired",
                "seq": self.app.bus.seq,
            }
            if self.app.safe_mode:
                welcome["safe_mode"] = self.app.safe_mode
            await self._send_now(welcome)
            return True
        await self._refuse("unauthenticated", f"no hello within {timeout:g} s")
        return False

    async def _writer(self) -> None:
        """Sends what waits in the outbox, one frame per `ws.send` as ever (a client that
        floods garbage outruns it and is closed: see _refuse_bad_frame), after the rest of
        a short direct write, if any."""
        ws = self.ws
        try:
            while True:
                frames = self.outbox.drain()
                if frames:
                    for frame in frames:
                        await ws.send(frame)  # flushes websockets' write buffer first
                        if type(frame) is _QueuedAnswer:
                            self.limiter.release()
                elif ws.protocol.writes:
                    async with ws.send_context():
                        pass  # flush the rest of a short direct write
                else:
                    self._behind = False  # all sent: the fast path may write again
                    await self._wakeup.wait()
                    self._wakeup = trio.Event()
        finally:
            self.direct = False  # cancelled or failed, perhaps part way through a frame

    async def _drop_when_too_slow(self, scope: trio.CancelScope) -> None:
        """A client that cannot keep up is closed; its writer may be stuck in send()."""
        await self.overflow.wait()
        self.direct = False
        self.app.metrics.inc("gatewayd_slow_clients_closed_total")
        with trio.move_on_after(1):
            await self.ws.aclose(CLOSE_POLICY, "client too slow: event queue overflowed")
        scope.cancel()  # the handler returns and websockets closes the TCP connection

    async def _drop_when_revoked(self, scope: trio.CancelScope) -> None:
        """A revoked token loses its connection at once, with the reason."""
        await self.revoked.wait()
        self.direct = False
        self.app.metrics.inc("gatewayd_connections_closed_total", reason="token_revoked")
        with trio.move_on_after(1):
            await self.ws.aclose(CLOSE_POLICY, "token revoked")
        scope.cancel()

    async def _reader(self, nursery: trio.Nursery) -> None:
        while True:
            raw = await self._next_frame()
            if raw is None:
                return
            try:
                frame = decode_client_frame(raw)
            except ProtocolError as exc:
                self.app.metrics.inc("gatewayd_bad_frames_total")
                fid = frame_id(raw) if isinstance(raw, bytes) else None
                self._refuse_bad_frame(fid, exc)
                continue
            if isinstance(frame, Hello):
                self._refuse_bad_frame(
                    None, ProtocolError("bad_frame", "hello was already received")
                )
                continue
            try:  # receiving the frame was the checkpoint; a free slot needs no second one
                self.limiter.acquire_nowait()
            except trio.WouldBlock:
                await self.limiter.acquire()
            nursery.start_soon(self._call, frame)

    async def _next_frame(self) -> bytes | str | None:
        """The next frame; None once a connection without a token has been idle too long
        (it may only pair, and a pairing client polls every second or two)."""
        if self.token_role is not None:
            return await self.ws.recv()
        with trio.move_on_after(self.app.config.server.unpaired_idle_s):
            return await self.ws.recv()  # cancelling recv loses nothing (websockets)
        self.app.metrics.inc("gatewayd_connections_closed_total", reason="unpaired_idle")
        with trio.move_on_after(1):
            await self.ws.aclose(CLOSE_POLICY, "idle without a token")
        return None

    def _refuse_bad_frame(self, call_id: int | None, exc: ProtocolError) -> None:
        # Calls are bounded by the semaphore; answers to bad frames are not, so a client
        # that floods garbage without reading its answers is closed as too slow. They always
        # take the queue, never the fast path: the bound is `client_queue` answers in the
        # outbox, not however much the kernel's socket buffers take (tens of MB here).
        if len(self.outbox.frames) >= self.outbox.limit:
            self.overflow.set()
            return
        self.outbox.put(_error_frame(call_id, exc))

    async def _call(self, call: Call) -> None:
        started = time.perf_counter()
        outcome = "ok"
        answer: bytes | None = None  # None: cancelled before it had one
        foreground = self.foreground
        if foreground is not None:
            foreground.call_started()
        try:
            result = await self.dispatch(call)
            answer = pack({"type": "result", "id": call.id, "result": result})
        except ProtocolError as exc:
            outcome = exc.code
            answer = _error_frame(call.id, exc)
        except DeviceOffline as exc:
            outcome = "device_offline"
            answer = _error_frame(call.id, ProtocolError("device_offline", str(exc)))
        except DeviceBusy as exc:
            outcome = "device_busy"
            answer = _error_frame(call.id, ProtocolError("device_busy", str(exc)))
        except trio.Cancelled:
            outcome = "cancelled"  # the connection ended while the call ran
            raise
        except ReadTimeout as exc:  # a report over too much history: say so, not "see the log"
            outcome = "internal"
            answer = _error_frame(call.id, ProtocolError("internal", str(exc),
                                                         {"reason": "read_deadline"}))
        except Exception:
            outcome = "internal"
            log.exception("call %s failed", call.method)
            answer = _error_frame(
                call.id, ProtocolError("internal", f"{call.method} failed; see the log"))
        finally:
            if answer is None or not self._answer(answer):
                self.limiter.release()  # else the writer releases it once the answer is sent
            if foreground is not None:
                foreground.call_ended()
            metrics = self.app.metrics
            known = call.method if call.method in self.app.registry.handlers else "(unknown)"
            metrics.inc("gatewayd_calls_total", method=known, outcome=outcome)
            metrics.observe_latency(time.perf_counter() - started, method=known)

    async def dispatch(self, call: Call) -> Any:
        app = self.app
        app.refuse_in_safe_mode(call.method)
        bound = app.registry.get(call.method)
        if bound is None or (bound[0].demo_only and not app.demo):
            raise ProtocolError("unknown_method", f"no method {call.method!r}")
        spec, handler = bound
        if self.token_role is None and not spec.token_optional:
            raise ProtocolError("unauthenticated", "this connection has no token; pair first")
        try:
            params = spec.params.model_validate(call.params)
        except ValidationError as exc:
            raise ProtocolError(
                "invalid_params", f"bad params for {call.method}", validation_details(exc)
            ) from None
        ctx = CallContext(self, call.method, self.operator, params=params)
        required = app.required_role(spec)
        role = self.role or "viewer"
        if not at_least(role, required):
            if self.token_role == "viewer" or self.token_role is None:
                await app.auth.denied(call.method, role, required, ctx.actor)
                raise ProtocolError(
                    "forbidden", f"{call.method} needs {required}; this connection is {role}"
                )
            if params.approve is None:
                await app.auth.denied(call.method, role, required, ctx.actor)
                raise ProtocolError(
                    "approval_required",
                    f"{call.method} needs approval by a {required}",
                    {"action": call.method, "role": required},
                )
            ctx.approver = await app.auth.approve(
                params.approve.operator, params.approve.pin, call.method, required, ctx.actor,
                self.caller,
            )
        if spec.needs_operator and self.operator is None:
            raise ProtocolError(
                "unauthenticated", "log in first (auth.login)", {"login_required": True}
            )
        result = await handler(ctx, params)
        if self.check_results:
            check_result(spec, result)
        return result
