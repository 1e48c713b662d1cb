"""The replication link's WebSocket connections keep reading while a send is blocked
(gatewayd/replication/websocket.py): head office sending master parts faster than a till
stages them, and the till pushing its journal meanwhile, must not freeze the link."""

from __future__ import annotations

import trio
from websockets.trio.client import connect
from websockets.trio.server import serve

from gatewayd.replication.websocket import LinkClientConnection, LinkServerConnection

PARTS = 60
PART = b"m" * (256 << 10)  # 15 MB each way: more than the loopback's socket buffers hold


async def test_both_ends_sending_much_at_once_do_not_deadlock():
    got = {"hq": 0, "till": 0}

    async def head_office(ws):
        async with trio.open_nursery() as nursery:
            async def parts():
                for _ in range(PARTS):
                    await ws.send(PART)  # the master parts, as fast as it can

            nursery.start_soon(parts)
            for _ in range(PARTS):
                await ws.recv()  # the till's pushes, read at once
                got["hq"] += 1

    async with trio.open_nursery() as nursery:
        server = await nursery.start(lambda task_status: serve(
            head_office, 0, host="127.0.0.1", create_connection=LinkServerConnection,
            max_size=1 << 20, compression=None, task_status=task_status))
        port = server.listeners[0].socket.getsockname()[1]
        with trio.fail_after(60):  # websockets' own connections freeze here for good
            async with connect(f"ws://127.0.0.1:{port}", max_size=1 << 20, compression=None,
                               create_connection=LinkClientConnection) as ws:
                async with trio.open_nursery() as till:
                    async def pushes():
                        for _ in range(PARTS):
                            await ws.send(PART)  # the journal, pushed meanwhile

                    till.start_soon(pushes)
                    for _ in range(PARTS):
                        await ws.recv()
                        got["till"] += 1
                        await trio.sleep(0.01)  # staging a part is slower than sending it
        nursery.cancel_scope.cancel()
    assert got == {"hq": PARTS, "till": PARTS}
