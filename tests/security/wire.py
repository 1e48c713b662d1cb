"""Raw WebSocket helpers for the attack tests: no client library between the test and the
bytes the daemon receives."""

from __future__ import annotations

from websockets.trio.client import connect as ws_connect

from protocol.codec import pack, unpack
from protocol.version import SUBPROTOCOL


def raw(daemon, origin: str | None = None):
    headers = {"Origin": origin} if origin else None
    return ws_connect(
        daemon.url, subprotocols=[SUBPROTOCOL], additional_headers=headers, compression=None
    )


async def hello(ws, token: str, name: str = "t", kind: str = "t") -> dict:
    await ws.send(pack({"type": "hello", "token": token, "client": {"name": name, "kind": kind}}))
    return unpack(await ws.recv())


async def call(ws, call_id: int, method: str, **params) -> dict:
    await ws.send(pack({"type": "call", "id": call_id, "method": method, "params": params}))
    return unpack(await ws.recv())
