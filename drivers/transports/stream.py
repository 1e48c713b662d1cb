"""A Transport over a trio byte stream (an FdStream on a tty or input device, a socket):
the one place that turns a stream's failures and its end of file into TransportError."""

from __future__ import annotations

import trio

from drivers.base import Transport, TransportError

STREAM_ERRORS = (OSError, trio.BrokenResourceError, trio.ClosedResourceError)


class StreamTransport(Transport):
    # How failures read in the error a device shows: "write failed", "end of file", ...
    send_verb = "send"
    receive_verb = "receive"
    eof_message = "end of file"

    def __init__(self, stream: trio.abc.Stream, name: str):
        self._stream = stream
        self.name = name
        self._closed = False

    def describe(self, exc: BaseException) -> str:
        return str(exc) or type(exc).__name__

    def _check_open(self) -> None:
        if self._closed:
            raise TransportError(f"{self.name}: closed")

    async def send(self, data: bytes) -> None:
        self._check_open()
        try:
            await self._stream.send_all(data)
        except STREAM_ERRORS as exc:
            raise TransportError(
                f"{self.name}: {self.send_verb} failed: {self.describe(exc)}") from exc

    async def receive(self, max_bytes: int = 4096) -> bytes:
        self._check_open()
        try:
            data = await self._stream.receive_some(max_bytes)
        except STREAM_ERRORS as exc:
            raise TransportError(
                f"{self.name}: {self.receive_verb} failed: {self.describe(exc)}") from exc
        if not data:
            raise TransportError(f"{self.name}: {self.eof_message}")
        return bytes(data)  # the same object when the stream gave bytes (it may give bytearray)

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self._stream.aclose()
