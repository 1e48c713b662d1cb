"""TCP transport (network receipt printers on port 9100, serial-over-LAN servers)."""

from __future__ import annotations

import socket

import trio

from drivers.base import TransportError
from drivers.transports.stream import StreamTransport


class TcpTransport(StreamTransport):
    eof_message = "connection closed by peer"

    def __init__(self, stream: trio.SocketStream, where: str):
        super().__init__(stream, where)
        self.where = where

    @classmethod
    async def open(cls, host: str, port: int, timeout: float = 5.0) -> TcpTransport:
        where = f"{host}:{port}"
        try:
            with trio.fail_after(timeout):
                stream = await trio.open_tcp_stream(host, port)
        except trio.TooSlowError as exc:
            raise TransportError(f"connect to {where} timed out after {timeout} s") from exc
        except OSError as exc:
            raise TransportError(f"connect to {where} failed: {exc}") from exc
        try:
            # A printer that is switched off never sends a FIN: keepalive notices eventually.
            stream.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        except OSError:
            pass
        return cls(stream, where)

