"""TCP transport (network receipt printers on port 9100, serial-over-LAN servers)."""

from __future__ import annotations

import socket

import trio

from drivers.base import Transport, TransportError


class TcpTransport(Transport):
    def __init__(self, stream: trio.SocketStream, where: str):
        self._stream = stream
        self.where = where
        self._closed = False

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

    async def send(self, data: bytes) -> None:
        if self._closed:
            raise TransportError(f"{self.where}: closed")
        try:
            await self._stream.send_all(data)
        except (OSError, trio.BrokenResourceError, trio.ClosedResourceError) as exc:
            raise TransportError(f"{self.where}: send failed: {exc}") from exc

    async def receive(self, max_bytes: int = 4096) -> bytes:
        if self._closed:
            raise TransportError(f"{self.where}: closed")
        try:
            data = await self._stream.receive_some(max_bytes)
        except (OSError, trio.BrokenResourceError, trio.ClosedResourceError) as exc:
            raise TransportError(f"{self.where}: receive failed: {exc}") from exc
        if not data:
            raise TransportError(f"{self.where}: connection closed by peer")
        return data

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self._stream.aclose()
