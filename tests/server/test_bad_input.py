"""Every bad input of issue 2 gets the contract's error or a clean close; others keep being
served and nothing is written to the store."""

from __future__ import annotations

import base64
import os

import msgpack
import pytest
import trio
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.trio.client import connect as ws_connect

from clients.python import GatewayError, connect
from protocol.codec import pack, unpack
from protocol.version import SUBPROTOCOL


def raw(daemon, origin=None):
    headers = {"Origin": origin} if origin else None
    return ws_connect(
        daemon.url, subprotocols=[SUBPROTOCOL], additional_headers=headers, compression=None
    )


async def hello(ws, token):
    await ws.send(pack({"type": "hello", "token": token, "client": {"name": "t", "kind": "t"}}))
    return unpack(await ws.recv())


async def expect_error(ws, frame: bytes | str, code: str):
    await ws.send(frame)
    answer = unpack(await ws.recv())
    assert answer["type"] == "error", answer
    assert answer["code"] == code, answer
    return answer


async def test_garbage_frames_get_bad_frame_and_connection_survives(daemon):
    token = daemon.token()
    seq_before = daemon.app.store.journal_seq()
    async with raw(daemon) as ws:
        assert (await hello(ws, token))["type"] == "welcome"
        await expect_error(ws, os.urandom(64) + b"\xc1", "bad_frame")  # 0xc1: never valid
        await expect_error(ws, "a text frame", "bad_frame")
        await expect_error(ws, msgpack.packb([1, 2, 3]), "bad_frame")
        await expect_error(ws, msgpack.packb({"type": "call", "id": "x", "method": 5}), "bad_frame")
        err = await expect_error(
            ws,
            msgpack.packb({"type": "call", "id": 7, "method": "x", "params": {"a": 1.5}}),
            "bad_frame",
        )
        assert err["id"] == 7
        await expect_error(
            ws, pack({"type": "call", "id": 8, "method": "nope", "params": {}}), "unknown_method"
        )
        err = await expect_error(
            ws,
            pack(
                {"type": "call", "id": 9, "method": "scale.read", "params": {"timeout_ms": "3000"}}
            ),
            "invalid_params",
        )
        assert err["details"]["errors"][0]["field"] == "timeout_ms"
        await ws.send(pack({"type": "call", "id": 10, "method": "system.info", "params": {}}))
        ok = unpack(await ws.recv())
        assert ok["type"] == "result" and ok["id"] == 10
    assert daemon.app.store.journal_seq() == seq_before
    assert daemon.app.metrics.get("gatewayd_bad_frames_total") == 5


@pytest.mark.parametrize(
    "first",
    [
        pack({"type": "call", "id": 1, "method": "system.info", "params": {}}),
        b"\x00\x01garbage",
    ],
)
async def test_call_before_hello_is_unauthenticated_and_closed(daemon, first):
    async with raw(daemon) as ws:
        await ws.send(first)
        answer = unpack(await ws.recv())
        assert answer["code"] == "unauthenticated"
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
        assert closed.value.rcvd.code == 1008


async def test_bad_and_revoked_tokens(daemon):
    from gatewayd import auth

    async with raw(daemon) as ws:
        answer = await hello(ws, "gw_not-a-token")
        assert answer["code"] == "unauthenticated"
        with pytest.raises(ConnectionClosed):
            await ws.recv()
    token = daemon.token("cashier", name="till-2")
    async with connect(daemon.url, token, reconnect=False) as gw:
        assert (await gw.call("system.info"))["role"] == "cashier"
    daemon.app.store.write_sync(lambda tx: auth.revoke_token(tx, "till-2"))
    with pytest.raises(GatewayError) as err:
        async with connect(daemon.url, token, reconnect=False):
            pass
    assert err.value.code == "unauthenticated"


async def test_disallowed_origin_is_refused_at_handshake(daemon):
    token = daemon.token()
    with pytest.raises(InvalidStatus) as err:
        async with raw(daemon, origin="http://evil.example"):
            pass
    assert err.value.response.status_code == 403
    async with raw(daemon, origin=f"http://127.0.0.1:{daemon.app.port}") as ws:
        assert (await hello(ws, token))["type"] == "welcome"


async def test_oversized_frame_closes_with_1009(daemon):
    token = daemon.token()
    async with raw(daemon) as ws:
        await hello(ws, token)
        await ws.send(
            pack(
                {
                    "type": "call",
                    "id": 1,
                    "method": "system.info",
                    "params": {"pad": "x" * (1 << 20)},
                }
            )
        )
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
        assert (
            closed.value.rcvd is None
            or closed.value.rcvd.code == 1009
            or closed.value.sent.code == 1009
        )


async def test_flooding_client_does_not_starve_others(daemon):
    """One client sends 10,000 frames as fast as it can; another's calls keep answering."""
    token = daemon.token()
    frame = pack({"type": "call", "id": 1, "method": "system.info", "params": {}})
    latencies = []

    async def flood():
        async with raw(daemon) as ws:
            await hello(ws, token)
            async with trio.open_nursery() as n:

                async def drain():
                    with trio.move_on_after(30):
                        for _ in range(10_000):
                            await ws.recv()

                n.start_soon(drain)
                for _ in range(10_000):
                    await ws.send(frame)

    async with connect(daemon.url, token) as gw:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(flood)
            for _ in range(20):
                t0 = trio.current_time()
                with trio.fail_after(10):
                    await gw.call("system.info")
                latencies.append(trio.current_time() - t0)
                await trio.sleep(0.01)
    assert len(latencies) == 20


def ws_frame(payload: bytes) -> bytes:
    """A masked binary WebSocket frame, as a client sends it (RFC 6455 §5.2)."""
    mask = os.urandom(4)
    n = len(payload)
    head = b"\x82" + (bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + n.to_bytes(2, "big"))
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


async def _raw_client(daemon, token: str, rcvbuf: int | None = None) -> trio.SocketStream:
    """A TCP connection that has said hello, for a client that misbehaves at the byte level."""
    sock = trio.socket.socket()
    if rcvbuf is not None:  # small windows: the daemon's writes back up after a few frames
        sock.setsockopt(trio.socket.SOL_SOCKET, trio.socket.SO_RCVBUF, rcvbuf)
    await sock.connect(("127.0.0.1", daemon.app.port))
    stream = trio.SocketStream(sock)
    key = base64.b64encode(os.urandom(16)).decode()
    await stream.send_all((
        f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
        f"Sec-WebSocket-Protocol: {SUBPROTOCOL}\r\n\r\n").encode())
    response = b""
    while b"\r\n\r\n" not in response:
        response += await stream.receive_some(4096)
    assert response.startswith(b"HTTP/1.1 101")
    await stream.send_all(ws_frame(pack({"type": "hello", "token": token,
                                         "client": {"name": "raw", "kind": "t"}})))
    return stream


async def test_a_client_that_does_not_read_its_answers_is_held_back_and_loses_none(daemon):
    """Answers wait in the outbox holding their call's slot: a client that keeps calling
    without reading has at most max_calls_in_flight answers queued, its further calls wait
    in its own socket, others are served, and once it reads it gets every answer in order."""
    limit = daemon.app.config.server.max_calls_in_flight
    stream = await _raw_client(daemon, daemon.token(), rcvbuf=4096)
    sent = 0
    async with connect(daemon.url, daemon.token()) as other:
        with trio.move_on_after(3):  # until its own sends block, and then some
            while True:
                sent += 1
                await stream.send_all(ws_frame(pack({"type": "call", "id": sent,
                                                     "method": "system.info", "params": {}})))
        session = next(s for s in daemon.app.sessions if s.client_name == "raw")
        assert len(session.outbox.frames) <= limit
        assert daemon.app.metrics.get("gatewayd_slow_clients_closed_total") == 0
        assert (await other.call("system.info"))["protocol"] == 1
    # now read: every call is answered, in order (welcome first)
    buf, frames = b"", []
    with trio.fail_after(60):
        while len(frames) < sent:  # the last call may be half sent: not counted below
            buf += await stream.receive_some(1 << 16)
            while len(buf) >= 2:
                n, head = buf[1] & 0x7F, 2
                if n == 126:
                    n, head = int.from_bytes(buf[2:4], "big"), 4
                if len(buf) < head + n:
                    break
                frames.append(unpack(buf[head:head + n]))
                buf = buf[head + n:]
    ids = [f["id"] for f in frames if f.get("type") == "result"]
    assert ids[:sent - 1] == list(range(1, sent))
    await stream.aclose()


async def test_garbage_flood_from_a_client_that_never_reads_is_closed(daemon):
    """Answers to bad frames are bounded too: a client that floods garbage and never reads
    its answers is closed as too slow, and other clients keep being served."""
    token = daemon.token()
    daemon.app.config.server.client_queue = 64
    stream = await _raw_client(daemon, token)
    garbage = ws_frame(b"\xc1 not msgpack" * 30)
    async with connect(daemon.url, token) as other:
        with trio.move_on_after(15):  # never reads a byte of the answers
            try:
                for _ in range(50_000):
                    await stream.send_all(garbage)
                    if daemon.app.metrics.get("gatewayd_slow_clients_closed_total"):
                        break
            except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
                pass
        assert daemon.app.metrics.get("gatewayd_slow_clients_closed_total") == 1
        with trio.fail_after(10):
            while len(daemon.app.sessions) > 1:
                await trio.sleep(0.05)
        assert (await other.call("system.info"))["protocol"] == 1
    await stream.aclose()
