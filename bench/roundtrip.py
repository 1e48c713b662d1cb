"""Call round trip: `system.info` through an in-process gatewayd vs a raw `websockets.trio`
echo of a frame of the same size, with 1 and with 20 concurrent clients (target <= 1.5x).

Both sides use the same raw websockets client and the same msgpack work per round trip
(pack a frame, send, receive, unpack), so the ratio is what the daemon adds: decoding,
validation, auth, dispatch and the result frame. Baseline and subject run in alternating
rounds in one trio loop, so drift on a shared machine hits both alike.
"""

from __future__ import annotations

import tempfile
from functools import partial
from pathlib import Path

import trio
from websockets.trio.client import connect as ws_connect
from websockets.trio.server import serve

from bench.harness import Row, Timing, merge, time_async, time_concurrent
from protocol.codec import pack, unpack
from protocol.version import SUBPROTOCOL

ROUNDS = 8
N_SINGLE = 8000  # round trips with one client (over all rounds)
N_EACH = 400  # round trips per client with 20 clients (over all rounds)
CLIENTS = 20


def _config(data_dir: Path):
    from gatewayd.config import Config

    return Config.model_validate({"server": {"listen": "127.0.0.1:0"}, "data_dir": str(data_dir)})


async def _echo(ws) -> None:
    async for message in ws:
        await ws.send(message)


def _connect(url: str):
    return ws_connect(url, subprotocols=[SUBPROTOCOL], compression=None, max_size=None)


class GatewayCaller:
    def __init__(self, ws):
        self.ws = ws
        self.next_id = 0

    async def __call__(self) -> None:
        self.next_id += 1
        await self.ws.send(
            pack({"type": "call", "id": self.next_id, "method": "system.info", "params": {}})
        )
        frame = unpack(await self.ws.recv())
        if frame.get("type") != "result":
            raise RuntimeError(f"system.info failed: {frame}")


class EchoCaller:
    def __init__(self, ws, size: int):
        self.ws = ws
        self.size = size
        self.next_id = 0

    async def __call__(self) -> None:
        # A call-like map padded so the encoded frame is as big as the daemon's result frame.
        self.next_id += 1
        frame = {"type": "call", "id": self.next_id, "method": "echo", "params": {"p": ""}}
        pad = self.size - len(pack(frame))
        frame["params"]["p"] = "x" * max(0, pad)
        unpack(await self._roundtrip(pack(frame)))

    async def _roundtrip(self, data: bytes) -> bytes:
        await self.ws.send(data)
        return await self.ws.recv()


async def _hello(ws, token: str) -> None:
    await ws.send(pack({"type": "hello", "token": token, "client": {"name": "bench",
                                                                    "kind": "bench"}}))
    frame = unpack(await ws.recv())
    if frame.get("type") != "welcome":
        raise RuntimeError(f"hello refused: {frame}")


async def _measure() -> list[Row]:
    from gatewayd import auth
    from gatewayd.app import App

    with tempfile.TemporaryDirectory(prefix="gatewayd-bench-") as tmp:
        app = App(_config(Path(tmp)))
        (_, token), _ = app.store.write_sync(lambda tx: auth.add_token(tx, "bench", "viewer"))
        try:
            async with trio.open_nursery() as nursery:
                await nursery.start(app.run)
                listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
                echo_port = listeners[0].socket.getsockname()[1]
                await nursery.start(
                    partial(serve, _echo, listeners=listeners, subprotocols=[SUBPROTOCOL],
                            compression=None, max_size=None)
                )
                gw_url = f"ws://127.0.0.1:{app.port}/ws"
                echo_url = f"ws://127.0.0.1:{echo_port}/"
                rows = await _compare(gw_url, echo_url, token)
                nursery.cancel_scope.cancel()
        finally:
            app.close()
    return rows


async def _open_many(url: str, n: int, token: str | None, stack) -> list:
    conns = []
    for _ in range(n):
        ws = await stack.enter_async_context(_connect(url))
        if token is not None:
            await _hello(ws, token)
        conns.append(ws)
    return conns


async def _compare(gw_url: str, echo_url: str, token: str) -> list[Row]:
    from contextlib import AsyncExitStack

    async with AsyncExitStack() as stack:
        gw_conns = await _open_many(gw_url, CLIENTS, token, stack)
        echo_conns = await _open_many(echo_url, CLIENTS, None, stack)
        # The size of the daemon's answer, so the echo moves a frame of the same size.
        probe = GatewayCaller(gw_conns[0])
        await probe.ws.send(pack({"type": "call", "id": 0, "method": "system.info",
                                  "params": {}}))
        size = len(await probe.ws.recv())

        gw = [GatewayCaller(ws) for ws in gw_conns]
        echo = [EchoCaller(ws, size) for ws in echo_conns]
        single: dict[str, list[Timing]] = {"gw": [], "echo": []}
        many: dict[str, list[Timing]] = {"gw": [], "echo": []}
        await time_async(gw[0], 200)  # warm-up, both paths
        await time_async(echo[0], 200)
        for _ in range(ROUNDS):
            single["echo"].append(await time_async(echo[0], N_SINGLE // ROUNDS))
            single["gw"].append(await time_async(gw[0], N_SINGLE // ROUNDS))
            many["echo"].append(await time_concurrent(echo, N_EACH // ROUNDS))
            many["gw"].append(await time_concurrent(gw, N_EACH // ROUNDS))
    note = (f"system.info result frame {size} B; echo of a {size} B frame; "
            f"{ROUNDS} alternating rounds")
    return [
        Row("roundtrip.1client", merge(single["gw"]), merge(single["echo"]), target=1.5,
            note=note),
        Row(f"roundtrip.{CLIENTS}clients", merge(many["gw"]), merge(many["echo"]), target=1.5),
    ]


def run() -> list[Row]:
    return trio.run(_measure)
