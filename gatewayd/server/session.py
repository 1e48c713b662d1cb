"""One client connection: hello, dispatch, and its own bounded outbox.

The reader runs calls concurrently up to `max_calls_in_flight` (a flooding client then
waits on its own socket, never on the others). Events reach the outbox through `offer`,
which never blocks the bus: snapshot topics are coalesced to the latest, and a client
whose queue of other events overflows is closed with a reason.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from typing import TYPE_CHECKING, Any

import trio
from pydantic import ValidationError
from websockets.exceptions import ConnectionClosed

from drivers.base import DeviceBusy, DeviceOffline
from gatewayd.bus import SNAPSHOT_TOPICS, BusEvent, matches
from gatewayd.server.registry import CallContext
from protocol.codec import decode_client_frame, frame_id, pack, validation_details
from protocol.errors import ProtocolError
from protocol.frames import Call, Hello
from protocol.roles import ROLES, at_least, rank
from protocol.version import PROTOCOL_VERSION

if TYPE_CHECKING:
    from websockets.trio.server import ServerConnection

    from gatewayd.app import App
    from gatewayd.auth import Operator

log = logging.getLogger("gatewayd.session")
HELLO_TIMEOUT_S = 10
CLOSE_POLICY = 1008


class Outbox:
    def __init__(self, limit: int):
        self.limit = limit
        self.frames: deque[bytes] = deque()
        self.snapshots: dict[tuple[str, str], bytes] = {}
        self.wake = trio.Event()
        self.overflowed = False

    def put(self, frame: bytes) -> None:
        self.frames.append(frame)
        self.wake.set()

    def offer_event(self, event: BusEvent) -> bool:
        if event.topic in SNAPSHOT_TOPICS:
            key = (event.topic, str(event.data.get("device") or event.data.get("id") or ""))
            self.snapshots.pop(key, None)  # keep insertion order = newest last
            self.snapshots[key] = event.frame
        elif len(self.frames) >= self.limit:
            self.overflowed = True
        else:
            self.frames.append(event.frame)
        self.wake.set()
        return not self.overflowed

    def drain(self) -> list[bytes]:
        out = list(self.frames)
        self.frames.clear()
        out.extend(self.snapshots.values())
        self.snapshots.clear()
        self.wake = trio.Event()
        return out


class Session:
    def __init__(self, app: App, ws: ServerConnection):
        self.app = app
        self.ws = ws
        cfg = app.config.server
        self.outbox = Outbox(cfg.client_queue)
        self.limiter = trio.Semaphore(cfg.max_calls_in_flight)  # released by the call task
        self.topics: set[str] = set()
        self.token_role: str | None = None
        self.token_id: str | None = None
        self.operator: Operator | None = None
        self.client_name = "?"
        self.client_kind = "?"
        self.pending_since: int | None = None  # hello's `since`, used by the first subscribe
        self.closed = trio.Event()
        self.overflow = trio.Event()

    # -- bus subscriber ----------------------------------------------------------------
    def offer(self, event: BusEvent) -> None:
        if self.topics and matches(self.topics, event.topic):
            if not self.outbox.offer_event(event):
                self.app.metrics.inc("gatewayd_events_dropped_total", reason="slow_client")
                self.overflow.set()

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
            self.app.bus.attach(self)
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._writer)
                nursery.start_soon(self._drop_when_too_slow, nursery.cancel_scope)
                await self._reader(nursery)
                nursery.cancel_scope.cancel()
        except ConnectionClosed:
            pass
        finally:
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
        with trio.move_on_after(HELLO_TIMEOUT_S):
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
            await self._send_now(
                {
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
            )
            return True
        await self._refuse("unauthenticated", "no hello within 10 s")
        return False

    async def _writer(self) -> None:
        while True:
            await self.outbox.wake.wait()
            for frame in self.outbox.drain():
                await self.ws.send(frame)

    async def _drop_when_too_slow(self, scope: trio.CancelScope) -> None:
        """A client that cannot keep up is closed; its writer may be stuck in send()."""
        await self.overflow.wait()
        self.app.metrics.inc("gatewayd_slow_clients_closed_total")
        with trio.move_on_after(1):
            await self.ws.aclose(CLOSE_POLICY, "client too slow: event queue overflowed")
        scope.cancel()  # the handler returns and websockets closes the TCP connection

    async def _reader(self, nursery: trio.Nursery) -> None:
        async for raw in self.ws:
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
            await self.limiter.acquire()
            nursery.start_soon(self._call, frame)

    def _refuse_bad_frame(self, call_id: int | None, exc: ProtocolError) -> None:
        # Calls are bounded by the semaphore; answers to bad frames are not, so a client
        # that floods garbage without reading its answers is closed as too slow.
        if len(self.outbox.frames) >= self.outbox.limit:
            self.overflow.set()
            return
        self._error(call_id, exc)

    def _error(self, call_id: int | None, exc: ProtocolError) -> None:
        frame = {"type": "error", "id": call_id, "code": exc.code, "message": exc.message}
        if exc.details:
            frame["details"] = exc.details
        self.outbox.put(pack(frame))

    async def _call(self, call: Call) -> None:
        started = time.perf_counter()
        outcome = "ok"
        try:
            result = await self.dispatch(call)
            self.outbox.put(pack({"type": "result", "id": call.id, "result": result}))
        except ProtocolError as exc:
            outcome = exc.code
            self._error(call.id, exc)
        except DeviceOffline as exc:
            outcome = "device_offline"
            self._error(call.id, ProtocolError("device_offline", str(exc)))
        except DeviceBusy as exc:
            outcome = "device_busy"
            self._error(call.id, ProtocolError("device_busy", str(exc)))
        except Exception:
            outcome = "internal"
            log.exception("call %s failed", call.method)
            self._error(call.id, ProtocolError("internal", f"{call.method} failed; see the log"))
        finally:
            self.limiter.release()
            metrics = self.app.metrics
            known = call.method if call.method in self.app.registry.handlers else "(unknown)"
            metrics.inc("gatewayd_calls_total", method=known, outcome=outcome)
            metrics.observe_latency(time.perf_counter() - started, method=known)

    async def dispatch(self, call: Call) -> Any:
        app = self.app
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
                params.approve.operator, params.approve.pin, call.method, required, ctx.actor
            )
        if spec.needs_operator and self.operator is None:
            raise ProtocolError(
                "unauthenticated", "log in first (auth.login)", {"login_required": True}
            )
        return await handler(ctx, params)
