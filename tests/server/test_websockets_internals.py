"""The fan-out fast path (gatewayd/server/session.py) writes frames to the socket itself and
shares websockets' write buffer and send lock, so it depends on websockets internals; the
dependency is pinned to one major version (pyproject: websockets>=17,<18). These tests fail
if an upgrade changes what the fast path relies on (the end-to-end behaviour is
test_fanout.py's)."""

from __future__ import annotations

import importlib.metadata
import os

import pytest
import trio
from websockets.frames import Frame, Opcode
from websockets.trio.server import ServerConnection

from clients.python import connect
from gatewayd.bus import websocket_binary


def test_the_installed_websockets_is_the_pinned_major():
    assert importlib.metadata.version("websockets").split(".")[0] == "17"


@pytest.mark.parametrize("size", [0, 1, 125, 126, 65535, 65536, 70000])
def test_our_frame_is_the_frame_websockets_would_send(size):
    payload = os.urandom(size)
    assert websocket_binary(payload) == Frame(Opcode.BINARY, payload).serialize(mask=False)


async def test_a_server_connection_has_what_the_fast_path_uses(daemon):
    async with connect(daemon.url, daemon.token("viewer")):
        with trio.fail_after(5):
            while not daemon.app.sessions:
                await trio.sleep(0.01)
        session = next(iter(daemon.app.sessions))
        ws = session.ws
        assert isinstance(ws, ServerConnection)
        assert isinstance(ws.stream, trio.SocketStream) and ws.stream.socket.fileno() >= 0
        assert ws.protocol.extensions == [] and ws.protocol.debug in (True, False)
        assert isinstance(ws.protocol.writes, list)  # the buffer websockets flushes
        assert ws.send_lock.locked() is False and ws.send_in_progress is None
        async with ws.send_context():  # flushes protocol.writes; the writer task uses it
            pass
        assert session.direct, "plain TCP without extensions takes the fast path"
