"""The trio client of wire protocol v1, used by posctl, the tests and the benchmarks.

    async with connect(url, token) as gw:
        info = await gw.call("system.info")
        await gw.subscribe(["sale", "devices"])
        async for event in gw.events():
            ...

If the connection drops, the client reconnects with backoff, says `hello` with the last
seq it saw, and re-subscribes with `since`, so no buffered event is lost. Calls in flight
when the link drops fail with ConnectionLost; the caller decides whether to retry.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import trio
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
from websockets.trio.client import ClientConnection
from websockets.trio.client import connect as ws_connect

from protocol.codec import pack, unpack
from protocol.version import SUBPROTOCOL


class GatewayError(Exception):
    """An `error` frame answered a call."""

    def __init__(self, code: str, message: str, details: dict | None = None):
        super().__init__(f"{code}: {message}")
        self.code, self.message, self.details = code, message, details or {}


class ConnectionLost(Exception):
    pass


class _Answer:
    """One call's answer slot: the reader fills `frame` (None: the link dropped) and sets
    `done`. Lighter than a memory channel per call."""

    __slots__ = ("done", "frame")

    def __init__(self) -> None:
        self.done = trio.Event()
        self.frame: dict[str, Any] | None = None

    def give(self, frame: dict[str, Any] | None) -> None:
        if not self.done.is_set():  # an answer that came before the link dropped stands
            self.frame = frame
            self.done.set()


class Client:
    def __init__(
        self, url: str, token: str, name: str, kind: str, reconnect: bool, origin: str | None = None
    ):
        self.url, self.token, self.name, self.kind = url, token, name, kind
        self.reconnect = reconnect
        self.origin = origin
        self.welcome: dict[str, Any] = {}
        self.last_seq: int | None = None  # the last event seq seen; None before welcome
        self.topics: set[str] = set()
        self._ids = itertools.count(1)
        self._pending: dict[int, _Answer] = {}
        self._events_send, self._events_recv = trio.open_memory_channel(math.inf)
        self._ws: ClientConnection | None = None  # set once connected
        self._connected = trio.Event()
        self.reconnects = 0
        self.closed = False

    # -- public API -----------------------------------------------------------------------
    async def call(self, method: str, params: dict[str, Any] | None = None, /, **kw: Any) -> Any:
        if not self._connected.is_set():  # (send and the answer are checkpoints anyway)
            await self._connected.wait()
        call_id = next(self._ids)
        answer = self._pending[call_id] = _Answer()
        assert self._ws is not None  # connected (waited for above)
        try:
            await self._ws.send(
                pack(
                    {
                        "type": "call",
                        "id": call_id,
                        "method": method,
                        "params": {**(params or {}), **kw},
                    }
                )
            )
            await answer.done.wait()
        except ConnectionClosed:
            raise ConnectionLost(f"connection lost during {method}") from None
        finally:
            self._pending.pop(call_id, None)
        frame = answer.frame
        if frame is None:
            raise ConnectionLost(f"connection lost during {method}")
        if frame["type"] == "error":
            raise GatewayError(frame["code"], frame["message"], frame.get("details"))
        return frame["result"]

    async def subscribe(self, topics: list[str], since: int | None = None) -> dict[str, Any]:
        self.topics |= set(topics)
        params: dict[str, Any] = {"topics": list(topics)}
        if since is not None:
            params["since"] = since
        return await self.call("subscribe", params)

    async def events(self) -> AsyncIterator[dict[str, Any]]:
        async for event in self._events_recv:
            yield event

    async def next_event(self, topic: str | None = None, timeout: float = 5.0) -> dict[str, Any]:
        """The next event (whose topic starts with `topic`, if given)."""
        with trio.fail_after(timeout):
            async for event in self._events_recv:
                if (
                    topic is None
                    or event["topic"] == topic
                    or event["topic"].startswith(topic + ".")
                ):
                    return event
        raise ConnectionLost("event stream ended")

    # -- internals --------------------------------------------------------------------------
    def _ws_connect(self):
        headers = {"Origin": self.origin} if self.origin else None
        return ws_connect(
            self.url,
            subprotocols=[SUBPROTOCOL],
            compression=None,
            additional_headers=headers,
            max_size=None,
        )

    async def _hello(self, ws) -> None:
        hello: dict[str, Any] = {
            "type": "hello",
            "token": self.token,
            "client": {"name": self.name, "kind": self.kind},
        }
        if self.last_seq is not None:
            hello["since"] = self.last_seq
        await ws.send(pack(hello))
        frame = unpack(await ws.recv())
        if frame.get("type") != "welcome":
            raise GatewayError(frame.get("code", "bad_frame"), frame.get("message", str(frame)))
        self.welcome = frame
        if self.last_seq is None:
            self.last_seq = frame["seq"]

    async def _run(self, task_status=trio.TASK_STATUS_IGNORED) -> None:
        first, delay = True, 0.1
        while True:
            try:
                async with self._ws_connect() as ws:
                    await self._hello(ws)
                    self._ws = ws
                    self._connected.set()
                    if first:
                        first = False
                        task_status.started()
                    else:
                        self.reconnects += 1
                    delay = 0.1
                    async with trio.open_nursery() as nursery:
                        nursery.start_soon(self._reader)
                        if self.topics and self.reconnects:
                            nursery.start_soon(self._resubscribe)
            except (OSError, InvalidHandshake, InvalidStatus, ConnectionClosed):
                if first:
                    raise
            # The link is gone: fail the calls in flight, then reconnect (or stop).
            self._connected = trio.Event()
            for answer in self._pending.values():
                answer.give(None)
            if not self.reconnect or self.closed:
                self._events_send.close()
                return
            await trio.sleep(delay)
            delay = min(delay * 2, 2.0)

    async def _resubscribe(self) -> None:
        await self.call("subscribe", {"topics": sorted(self.topics), "since": self.last_seq})

    async def _reader(self) -> None:
        try:
            assert self._ws is not None  # the reader runs on a connection
            async for raw in self._ws:
                if isinstance(raw, str):  # gatewayd.v1 is binary frames only: not ours
                    continue
                frame = unpack(raw)
                kind = frame.get("type")
                if kind == "event":
                    self.last_seq = max(self.last_seq or 0, frame["seq"])
                    self._events_send.send_nowait(frame)
                elif kind in ("result", "error"):
                    answer = self._pending.get(frame.get("id"))
                    if answer is not None:
                        answer.give(frame)
                    elif kind == "error":
                        self._events_send.send_nowait(frame)
        except ConnectionClosed:
            pass

    async def aclose(self) -> None:
        self.closed = True
        if self._ws is not None:
            await self._ws.aclose()


@asynccontextmanager
async def connect(
    url: str,
    token: str,
    *,
    name: str = "python",
    kind: str = "client",
    reconnect: bool = True,
    origin: str | None = None,
) -> AsyncIterator[Client]:
    client = Client(url, token, name, kind, reconnect, origin)
    try:
        async with trio.open_nursery() as nursery:
            await nursery.start(client._run)
            try:
                yield client
            finally:
                await client.aclose()
                nursery.cancel_scope.cancel()
    except BaseExceptionGroup as group:
        # Callers should see `GatewayError`/`OSError`, not our nurseries' wrapping.
        leaves = _leaves(group)
        if len(leaves) == 1:
            raise leaves[0] from None
        raise


def _leaves(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for sub in exc.exceptions for leaf in _leaves(sub)]
    return [exc]
