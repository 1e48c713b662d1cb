"""Attack class: bytes built to break the parser (issue 13 item 3).

Deeply nested msgpack is refused as `bad_frame` without recursion (the review's 400 levels in
a 1.8 KB frame closed the connection with 1011 and logged 100 KB of traceback); a NUL in an
HTTP path is a 400.
"""

from __future__ import annotations

import logging
import socket

import msgpack
import pytest
import trio
from websockets.exceptions import ConnectionClosed

from protocol.codec import MAX_DEPTH, decode_client_frame, unpack
from protocol.errors import ProtocolError
from tests.security.wire import call, hello, raw


def nested(levels: int, leaf=None, container=dict) -> bytes:
    """A call frame whose params nest `levels` maps (or lists) deep, built as bytes (msgpack's
    own packer stops at a few hundred levels; an attacker's does not)."""
    hole = msgpack.packb("@hole@")
    frame = msgpack.packb(
        {"type": "call", "id": 5, "method": "system.info", "params": {"x": "@hole@"}}
    )
    one_level = b"\x81\xa1a" if container is dict else b"\x91"  # {"a": ...} or [...]
    return frame.replace(hole, one_level * levels + msgpack.packb(leaf))


@pytest.mark.parametrize("levels", [MAX_DEPTH, 400, 900, 5000])
@pytest.mark.parametrize("container", [dict, list])
def test_the_decoder_refuses_deep_nesting_as_bad_frame(levels, container):
    frame = nested(levels, 1, container)
    with pytest.raises(ProtocolError) as refused:
        decode_client_frame(frame)
    assert refused.value.code == "bad_frame"


def test_the_decoder_walks_without_recursion(monkeypatch):
    import sys

    assert decode_client_frame(nested(MAX_DEPTH - 3, 1)).params["x"]["a"]["a"]
    monkeypatch.setattr(sys, "getrecursionlimit", lambda: 50)
    sys.setrecursionlimit(120)  # far below the depth a recursive walk would need
    try:
        with pytest.raises(ProtocolError):
            decode_client_frame(nested(400, 1.5))
    finally:
        sys.setrecursionlimit(1000)


async def test_deep_nesting_before_hello_is_refused_cleanly(daemon, caplog):
    caplog.set_level(logging.DEBUG)
    frame = nested(400)
    assert len(frame) < 2000
    async with raw(daemon) as ws:
        await ws.send(frame)
        answer = unpack(await ws.recv())
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
    assert answer["code"] == "unauthenticated" and "nested deeper" in answer["message"]
    assert closed.value.rcvd.code == 1008  # not 1011
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


async def test_deep_nesting_after_hello_is_bad_frame_and_the_connection_lives(daemon):
    async with raw(daemon) as ws:
        await hello(ws, daemon.token("cashier"))
        await ws.send(nested(400))
        answer = unpack(await ws.recv())
        assert answer["code"] == "bad_frame" and answer["id"] == 5
        assert (await call(ws, 6, "system.info"))["result"]["role"] == "cashier"


async def test_a_nul_in_the_http_path_is_a_400(daemon):
    def get(path: bytes) -> bytes:
        with socket.create_connection(("127.0.0.1", daemon.app.port)) as s:
            s.sendall(b"GET " + path + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            return s.recv(200)

    for path in (b"/\x00", b"/index.html\x00.js", b"/js/\x07"):
        status = (await trio.to_thread.run_sync(get, path)).split(b"\r\n")[0]
        assert status == b"HTTP/1.1 400 Bad Request", (path, status)
    ok = (await trio.to_thread.run_sync(get, b"/healthz")).split(b"\r\n")[0]
    assert ok.startswith(b"HTTP/1.1 ")
