"""The event fan-out's fast path (server/session.py) never corrupts or reorders frames: events
written straight to the socket interleave with call answers, websockets' own pongs and the
writer task's frames, through short writes into a tiny receive buffer, and while a slow
client is closed with 1008. Every frame is read back by websockets' own (strict) client."""

from __future__ import annotations

import os
import socket
import weakref
from contextlib import AsyncExitStack

import pytest
import trio
from websockets.exceptions import ConnectionClosed
from websockets.trio.client import connect as ws_connect

import gatewayd.server.session as session_mod
from gatewayd.bus import Bus, websocket_binary
from protocol.codec import pack, unpack
from protocol.version import SUBPROTOCOL


class CountingOs:
    """Stands in for `os` in session.py: counts the fast path's writes, short and refused."""

    def __init__(self):
        self.writes = self.short = self.refused = 0

    def write(self, fd: int, data: bytes) -> int:
        try:
            sent = os.write(fd, data)
        except BlockingIOError:
            self.refused += 1
            raise
        self.writes += 1
        if sent < len(data):
            self.short += 1
        return sent


@pytest.fixture
def direct(monkeypatch):
    counter = CountingOs()
    monkeypatch.setattr(session_mod, "os", counter)
    return counter


async def run_together(timeout: float, *tasks) -> None:
    with trio.fail_after(timeout):
        async with trio.open_nursery() as nursery:
            for task in tasks:
                nursery.start_soon(task)


async def open_client(stack: AsyncExitStack, daemon, token: str, topics: list[str],
                      rcvbuf: int | None = None, **kw):
    stream = None
    if rcvbuf is not None:  # set before connect, so the window stays small
        sock = trio.socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        await sock.connect(("127.0.0.1", daemon.app.port))
        stream = trio.SocketStream(sock)
    ws = await stack.enter_async_context(ws_connect(
        daemon.url, stream=stream, subprotocols=[SUBPROTOCOL], compression=None,
        max_size=None, **kw))
    await ws.send(pack({"type": "hello", "token": token, "client": {"name": "t", "kind": "t"}}))
    assert unpack(await ws.recv())["type"] == "welcome"
    await ws.send(pack({"type": "call", "id": 0, "method": "subscribe",
                        "params": {"topics": topics}}))
    while unpack(await ws.recv())["type"] != "result":
        pass
    return ws


SIZES = [0, 1, 100, 110, 125, 126, 127, 1000, 65_400, 65_535, 65_536, 70_000]


async def test_events_answers_and_pongs_interleave_intact_and_in_order(daemon, direct):
    token = daemon.token()
    daemon.app.config.server.client_queue = 100_000
    events, calls, pings = 1500, 200, 100
    async with AsyncExitStack() as stack:
        ws = await open_client(stack, daemon, token, ["sale"])
        results: set[int] = set()
        got = 0

        async def read():
            nonlocal got
            last_seq = 0
            while got < events or len(results) < calls:
                msg = unpack(await ws.recv())
                if msg["type"] == "event":
                    assert msg["topic"] == "sale.updated"
                    assert msg["data"]["n"] == got, "an event lost or out of order"
                    assert len(msg["data"]["pad"]) == SIZES[got % len(SIZES)]
                    assert msg["seq"] > last_seq
                    last_seq = msg["seq"]
                    got += 1
                else:
                    assert msg["type"] == "result", msg
                    assert msg["id"] not in results
                    results.add(msg["id"])

        async def publish():
            for n in range(events):
                daemon.app.emit("sale.updated", {"n": n, "pad": "x" * SIZES[n % len(SIZES)]})
                # in bursts, mostly paced for the reader (the fast path serves a client that
                # keeps up; one that falls behind is served by the writer until it catches up)
                await trio.sleep(0.001 if n % 4 == 0 else 0)

        async def call():
            for i in range(1, calls + 1):
                await ws.send(pack({"type": "call", "id": i, "method": "system.info",
                                    "params": {}}))
                if i % 3 == 0:
                    await trio.sleep(0)

        async def ping():
            for _ in range(pings):  # websockets answers these itself, with its own writes
                pong = await ws.ping()
                with trio.fail_after(10):
                    await pong.wait()

        await run_together(60, read, publish, call, ping)
        assert got == events and results == set(range(1, calls + 1))
    # the fast path carried a good part of the traffic (how much depends on how well the
    # reader keeps up: half of it on a quiet machine, a third on 2 cores at load 10)
    assert direct.writes > events // 10


async def test_short_writes_into_a_tiny_receive_buffer_stay_intact(daemon, direct):
    token = daemon.token()
    daemon.app.config.server.client_queue = 100_000
    events, calls, pings = 150, 60, 30
    async with AsyncExitStack() as stack:
        # max_queue=1: websockets stops reading the socket while a message waits, so our
        # slow recv() below is what empties the (tiny) window.
        ws = await open_client(stack, daemon, token, ["sale", "scale"], rcvbuf=4096,
                               max_queue=1)
        results: set[int] = set()
        got, grams_seen = 0, []

        async def read():
            nonlocal got
            last_seq = 0
            while got < events or len(results) < calls or grams_seen[-1:] != [events - 1]:
                msg = unpack(await ws.recv())
                if msg["type"] == "event" and msg["topic"] == "sale.updated":
                    assert msg["data"]["n"] == got, "an event lost or out of order"
                    assert msg["data"]["pad"] == "y" * 30_000
                    assert msg["seq"] > last_seq
                    last_seq = msg["seq"]
                    got += 1
                elif msg["type"] == "event":
                    assert msg["topic"] == "scale.reading"
                    # coalesced for a slow client, but never an older one after a newer one
                    assert not grams_seen or msg["data"]["grams"] > grams_seen[-1]
                    grams_seen.append(msg["data"]["grams"])
                else:
                    assert msg["type"] == "result", msg
                    results.add(msg["id"])
                await trio.sleep(0.001)

        async def publish():
            for n in range(events):
                daemon.app.emit("sale.updated", {"n": n, "pad": "y" * 30_000})
                daemon.app.emit("scale.reading", {"device": "scale", "grams": n})
                await trio.sleep(0)

        async def call():
            for i in range(1, calls + 1):
                await ws.send(pack({"type": "call", "id": i, "method": "system.info",
                                    "params": {}}))
                await trio.sleep(0.002)

        async def ping():
            for _ in range(pings):
                pong = await ws.ping()
                with trio.fail_after(20):
                    await pong.wait()
                await trio.sleep(0.005)

        await run_together(90, read, publish, call, ping)
        assert got == events and results == set(range(1, calls + 1))
    assert direct.short > 0  # the kernel took part of a frame: the case under test happened
    assert not daemon.app.metrics.get("gatewayd_slow_clients_closed_total")


async def test_a_slow_client_is_closed_with_1008_while_others_receive_in_order(daemon, direct):
    token = daemon.token()
    daemon.app.config.server.client_queue = 32
    events = 300
    async with AsyncExitStack() as stack:
        stalled = await open_client(stack, daemon, token, ["sale"], rcvbuf=4096, max_queue=1)
        readers = [await open_client(stack, daemon, token, ["sale"]) for _ in range(3)]

        async def read(ws):
            last_seq = 0
            for n in range(events):
                msg = unpack(await ws.recv())
                assert msg["topic"] == "sale.updated" and msg["data"]["n"] == n
                assert msg["seq"] > last_seq
                last_seq = msg["seq"]

        async def publish():
            for n in range(events):
                daemon.app.emit("sale.updated", {"n": n, "pad": "z" * 20_000})
                await trio.sleep(0.001)

        with trio.fail_after(60):
            async with trio.open_nursery() as nursery:
                for ws in readers:
                    nursery.start_soon(read, ws)
                nursery.start_soon(publish)
        with trio.fail_after(10):
            while len(daemon.app.sessions) > 3:
                await trio.sleep(0.05)
        assert daemon.app.metrics.get("gatewayd_slow_clients_closed_total") == 1
        # What the stalled client does get is whole frames, in order, up to the close.
        n = 0
        with trio.fail_after(20):
            try:
                while True:
                    msg = unpack(await stalled.recv())
                    assert msg["data"]["n"] == n
                    n += 1
            except ConnectionClosed as closed:
                if closed.rcvd is not None:
                    assert closed.rcvd.code == 1008 and "too slow" in closed.rcvd.reason
        assert n < events
        for ws in readers:  # still open and served
            await ws.send(pack({"type": "call", "id": 9, "method": "system.info",
                                "params": {}}))
            assert unpack(await ws.recv())["id"] == 9


async def test_an_unsubscribed_topic_stops_at_once(daemon):
    """The per-session match cache is reset by every change of topics."""
    token = daemon.token()
    async with AsyncExitStack() as stack:
        ws = await open_client(stack, daemon, token, ["sale", "alerts"])
        daemon.app.emit("sale.updated", {"n": 1})
        assert unpack(await ws.recv())["topic"] == "sale.updated"
        await ws.send(pack({"type": "call", "id": 1, "method": "unsubscribe",
                            "params": {"topics": ["sale"]}}))
        assert unpack(await ws.recv())["result"] == {"topics": ["alerts"]}
        daemon.app.emit("sale.updated", {"n": 2})
        daemon.app.emit("alerts.raised", {"kind": "x"})
        assert unpack(await ws.recv())["topic"] == "alerts.raised"


def test_every_subscriber_sees_seq_order_when_a_subscriber_publishes():
    bus = Bus()

    class Echo:
        def offer(self, event):
            if event.topic == "scanner.data":
                bus.publish("scanner.error", {"data": event.data["data"]})

    class Record:
        def __init__(self):
            self.seqs = []

        def offer(self, event):
            self.seqs.append(event.seq)

    recorders = [Record() for _ in range(20)]
    bus.attach(Echo())
    for r in recorders:
        bus.attach(r)
    for i in range(5):
        bus.publish("scanner.data", {"data": str(i)})
    for r in recorders:
        assert r.seqs == list(range(1, 11))


def test_the_replay_ring_keeps_frames_not_the_events_data():
    """A ring of whole sale dicts would keep hundreds of thousands of objects alive for the
    garbage collector to walk; the replay needs only the encoded frame."""

    class Data(dict):  # a dict that can be weakly referenced
        pass

    bus = Bus(replay=8)
    data = Data(id="s1", lines=[{"sku": "100"}])
    alive = weakref.ref(data)
    bus.publish("sale.updated", data)
    del data
    assert alive() is None
    (replayed,), gap = bus.since(0)
    assert not gap and replayed.topic == "sale.updated"
    assert unpack(replayed.frame)["data"] == {"id": "s1", "lines": [{"sku": "100"}]}


@pytest.mark.parametrize("n", [0, 5, 125, 126, 65_535, 65_536, 100_000])
def test_websocket_binary_frames(n):
    from websockets.frames import Frame
    from websockets.streams import StreamReader

    payload = os.urandom(n)
    reader = StreamReader()
    reader.feed_data(websocket_binary(payload))
    parser = Frame.parse(reader.read_exact, mask=False)
    try:
        next(parser)
    except StopIteration as done:
        frame = done.value
    else:
        raise AssertionError("incomplete frame")
    assert frame.opcode.name == "BINARY" and frame.fin and frame.data == payload


# -- the fast path's guards, one by one, on a real socket ------------------------------------
class FakeConnection:
    """What Session uses of websockets' Connection, around a real loopback TCP socket."""

    def __init__(self, sock: trio.socket.SocketType):
        from websockets.protocol import OPEN
        from websockets.server import ServerProtocol

        self.protocol = ServerProtocol()
        self.protocol.state = OPEN
        self.send_lock = trio.Lock()
        self.send_in_progress = None
        self.stream = trio.SocketStream(sock)


@pytest.fixture
async def pair(daemon):
    """(session, peer): a Session on the daemon's app whose connection is a loopback socket,
    ready for the fast path, and the peer's (non-blocking, stdlib) socket."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    peer = socket.create_connection(listener.getsockname())
    ours, _ = listener.accept()
    listener.close()
    ours.setblocking(False)
    peer.setblocking(False)
    session = session_mod.Session(daemon.app, FakeConnection(trio.socket.from_stdlib_socket(ours)))
    session.topics = {"sale"}
    session.direct = True
    yield session, peer
    peer.close()
    session.ws.stream.socket.close()


def peer_bytes(peer: socket.socket) -> bytes:
    out = b""
    while True:
        try:
            chunk = peer.recv(1 << 20)
        except BlockingIOError:
            return out
        if not chunk:
            return out
        out += chunk


def event(bus: Bus, n: int, size: int = 10):
    return bus.publish("sale.updated", {"n": n, "pad": "p" * size})


async def test_the_fast_path_writes_the_whole_frame_at_once(daemon, pair):
    session, peer = pair
    ev = event(daemon.app.bus, 1)
    session.offer(ev)
    await trio.sleep(0.01)
    assert peer_bytes(peer) == ev.wire
    assert not session.outbox.frames and not session.outbox.snapshots
    assert not session.ws.protocol.writes


@pytest.mark.parametrize("guard", ["queued", "writes", "lock", "closing", "fragment", "closed"])
async def test_every_guard_alone_keeps_the_frame_off_the_socket(daemon, pair, guard):
    from websockets.protocol import CLOSING

    session, peer = pair
    ws = session.ws
    if guard == "queued":  # something already waits in the outbox
        session.outbox.put(b"earlier")
    elif guard == "writes":  # websockets has bytes of its own to write first
        ws.protocol.writes.append(b"pong")
    elif guard == "lock":  # a send_all is under way, perhaps part way through a frame
        await ws.send_lock.acquire()
    elif guard == "closing":
        ws.protocol.state = CLOSING
    elif guard == "fragment":
        ws.send_in_progress = trio.Event()
    elif guard == "closed":
        ws.stream.socket.close()
    ev = event(daemon.app.bus, 1)
    session.offer(ev)
    if guard == "lock":
        ws.send_lock.release()
    await trio.sleep(0.01)
    if guard != "closed":
        assert peer_bytes(peer) == b""
    assert session.outbox.frames[-1] == ev.frame  # queued for the writer task, in order


async def test_a_short_write_leaves_the_rest_first_in_websockets_buffer(daemon, pair):
    session, peer = pair
    big = event(daemon.app.bus, 1, size=8 << 20)  # more than any socket buffer here
    session.offer(big)
    writes = session.ws.protocol.writes
    assert len(writes) == 1 and 0 < len(writes[0]) < len(big.wire)
    assert session._wakeup.is_set()  # the writer task is told to flush it
    nxt = event(daemon.app.bus, 2)
    session.offer(nxt)  # must not overtake the rest of `big`
    assert session.outbox.frames == deque_of(nxt.frame)
    got = peer_bytes(peer)
    assert got + writes[0] == big.wire


async def test_a_refused_write_queues_and_stays_queued_once_there_is_room(daemon, pair):
    session, peer = pair
    sock = session.ws.stream.socket
    filler = b"f" * 65536
    while True:  # fill the pipe behind the session's back
        try:
            os.write(sock.fileno(), filler)
        except BlockingIOError:
            break
    first = event(daemon.app.bus, 1)
    session.offer(first)
    assert list(session.outbox.frames) == [first.frame]
    while peer_bytes(peer):  # room again, but `first` still waits for the writer task
        await trio.sleep(0.01)
    second = event(daemon.app.bus, 2)
    session.offer(second)
    assert list(session.outbox.frames) == [first.frame, second.frame]
    assert peer_bytes(peer) == b""


async def test_a_failed_write_turns_the_fast_path_off(daemon, pair):
    session, peer = pair
    peer.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    peer.close()  # with linger 0: a reset
    await trio.sleep(0.05)
    ev = event(daemon.app.bus, 1)
    session.offer(ev)
    assert session.direct is False
    assert list(session.outbox.frames) == [ev.frame]


def deque_of(*frames: bytes):
    from collections import deque

    return deque(frames)
