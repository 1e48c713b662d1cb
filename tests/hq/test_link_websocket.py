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


async def test_the_reader_reads_on_while_its_own_flush_is_blocked():
    """No send holds the lock (the till's pushes wait for acks) but the socket toward the peer
    is full (head office reads nothing until its acks, queued behind the part it is sending,
    go out): a ping read then made websockets' reader send the pong itself, take the free
    lock and block in the socket, and it read nothing more, so the part head office was
    sending never went through. Here the till's transport blocks every send until released,
    standing in for the full socket: the reader must still read the frames behind the ping."""
    got: list[bytes] = []
    release, full_now = trio.Event(), trio.Event()

    async def head_office(ws):
        await full_now.wait()
        await ws.ping()
        for i in range(3):
            await ws.send(b"part %d" % i)
        await release.wait()
        await ws.recv()

    async with trio.open_nursery() as nursery:
        server = await nursery.start(lambda task_status: serve(
            head_office, 0, host="127.0.0.1", create_connection=LinkServerConnection,
            ping_interval=None, task_status=task_status))
        port = server.listeners[0].socket.getsockname()[1]
        async with connect(f"ws://127.0.0.1:{port}", ping_interval=None,
                           create_connection=LinkClientConnection) as ws:
            real_send_all = ws.stream.send_all

            async def full(data):  # the socket toward head office: full until released
                await release.wait()
                await real_send_all(data)

            ws.stream.send_all = full
            full_now.set()
            try:
                with trio.move_on_after(10):
                    for _ in range(3):
                        got.append(await ws.recv())
            finally:
                release.set()  # else the close would wait on the full socket for good
            ws.stream.send_all = real_send_all
            await ws.send(b"push")
        nursery.cancel_scope.cancel()
    assert got == [b"part 0", b"part 1", b"part 2"]
