"""A TCP proxy between tills and head office that breaks the link on purpose: drops every
connection, cuts one in the middle of a frame, delays traffic, or partitions (refuses and
drops everything for a while). The tills and HQ talk through it unaware."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import trio


@dataclass(eq=False)
class _Pair:
    scope: trio.CancelScope = field(default_factory=trio.CancelScope)
    cut_next: bool = False  # forward half of the next chunk, then close both ends


class FaultProxy:
    def __init__(self, target_port: int):
        self.target_port = target_port
        self.port: int | None = None
        self.delay_s = 0.0
        self.partitioned = False
        self.pairs: set[_Pair] = set()
        self.faults: dict[str, int] = {}

    async def run(self, task_status=trio.TASK_STATUS_IGNORED) -> None:
        listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
        self.port = listeners[0].socket.getsockname()[1]
        async with trio.open_nursery() as nursery:
            await nursery.start(trio.serve_listeners, self._handle, listeners)
            task_status.started(self.port)

    async def _handle(self, client: trio.SocketStream) -> None:
        pair = _Pair()
        try:
            if self.partitioned:
                return
            try:
                server = await trio.open_tcp_stream("127.0.0.1", self.target_port)
            except OSError:
                return  # head office is down: the till sees the connection closed
            self.pairs.add(pair)
            with pair.scope:
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(self._pump, pair, client, server, nursery.cancel_scope)
                    nursery.start_soon(self._pump, pair, server, client, nursery.cancel_scope)
            await server.aclose()
        finally:
            self.pairs.discard(pair)
            await trio.aclose_forcefully(client)

    async def _pump(self, pair: _Pair, src, dst, scope: trio.CancelScope) -> None:
        try:
            while data := await src.receive_some(65536):
                if self.delay_s:
                    await trio.sleep(self.delay_s)
                if pair.cut_next and len(data) > 1:
                    await dst.send_all(data[: len(data) // 2])
                    break
                await dst.send_all(data)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass
        scope.cancel()

    # -- faults -------------------------------------------------------------------------------
    def _count(self, name: str) -> None:
        self.faults[name] = self.faults.get(name, 0) + 1

    def drop_all(self) -> None:
        self._count("drop")
        for pair in list(self.pairs):
            pair.scope.cancel()

    def cut_mid_frame(self) -> None:
        self._count("cut")
        for pair in list(self.pairs):
            pair.cut_next = True

    async def delay(self, seconds: float, for_s: float) -> None:
        self._count("delay")
        self.delay_s = seconds
        await trio.sleep(for_s)
        self.delay_s = 0.0

    async def partition(self, for_s: float) -> None:
        self._count("partition")
        self.partitioned = True
        self.drop_all()
        await trio.sleep(for_s)
        self.partitioned = False

    async def chaos(self, rng: random.Random, every_s: float, partition_s: float) -> None:
        """Random faults until cancelled."""
        while True:
            await trio.sleep(rng.uniform(0.2, 1.8) * every_s)
            fault = rng.choice(["drop", "cut", "cut", "delay", "partition"])
            if fault == "drop":
                self.drop_all()
            elif fault == "cut":
                self.cut_mid_frame()
            elif fault == "delay":
                await self.delay(rng.uniform(0.01, 0.2), every_s)
            else:
                await self.partition(partition_s)

    def heal(self) -> None:
        self.delay_s = 0.0
        self.partitioned = False
