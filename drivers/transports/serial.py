"""Serial transport: pyserial configures the port, a trio FdStream does the I/O.

pyserial is only used for what it is good at: opening the port with `exclusive=True`
(flock, so a second daemon or a stray `screen` cannot share it) and applying the termios
settings (baud, 7E1, ...). The bytes then travel through a `trio.lowlevel.FdStream` on a
dup of its file descriptor, so reads and writes are non-blocking and cancellable.

Works on real ttys, on `/dev/serial/by-id/...` and `/dev/pos/...` symlinks, and on a pty
slave (the simulators): the modem-control ioctls a pty does not support (TIOCMBIS for
DTR/RTS) are already tolerated by pyserial; anything else it raises becomes TransportError.
"""

from __future__ import annotations

import errno
import os
import termios

import serial  # pyserial
import trio

from drivers.base import TransportError
from drivers.config import SerialSettings
from drivers.transports.stream import StreamTransport

_PARITY = {
    "N": serial.PARITY_NONE,
    "E": serial.PARITY_EVEN,
    "O": serial.PARITY_ODD,
    "M": serial.PARITY_MARK,
    "S": serial.PARITY_SPACE,
}


def _describe(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.errno is not None:
        return f"{errno.errorcode.get(exc.errno, exc.errno)}: {exc.strerror or exc}"
    return str(exc) or type(exc).__name__


class SerialTransport(StreamTransport):
    send_verb = "write"
    receive_verb = "read"  # EIO: a pty whose master closed, an unplugged USB-serial adapter
    eof_message = "end of file (device gone)"

    def __init__(self, port: serial.Serial, stream: trio.lowlevel.FdStream, path: str):
        super().__init__(stream, path)
        self._port = port
        self.path = path

    def describe(self, exc: BaseException) -> str:
        return _describe(exc)

    @classmethod
    async def open(
        cls, path: str | os.PathLike[str], settings: SerialSettings | None = None
    ) -> SerialTransport:
        settings = settings or SerialSettings()
        path = os.fspath(path)
        port = serial.Serial()
        port.port = path
        port.baudrate = settings.baudrate
        port.bytesize = settings.bytesize
        port.parity = _PARITY[settings.parity]
        port.stopbits = settings.stopbits
        port.rtscts = settings.rtscts
        port.xonxoff = settings.xonxoff
        port.exclusive = True
        port.timeout = 0
        try:
            port.open()
        except (serial.SerialException, OSError, ValueError) as exc:
            where = path if not os.path.islink(path) else f"{path} -> {os.path.realpath(path)}"
            raise TransportError(f"cannot open {where}: {_describe(exc)}") from exc
        try:
            # pyserial leaves VMIN=0/VTIME=0 (it polls with select), and a non-blocking read
            # then returns 0 bytes when nothing is waiting, which a stream takes for EOF.
            # VMIN=1 makes "nothing yet" EAGAIN, so 0 bytes again means hang-up only.
            attrs = termios.tcgetattr(port.fileno())
            attrs[6][termios.VMIN] = 1
            attrs[6][termios.VTIME] = 0
            termios.tcsetattr(port.fileno(), termios.TCSANOW, attrs)
            fd = os.dup(port.fileno())
            stream = trio.lowlevel.FdStream(fd)
        except (OSError, termios.error) as exc:
            port.close()
            raise TransportError(f"cannot open {path}: {_describe(exc)}") from exc
        await trio.lowlevel.checkpoint()
        return cls(port, stream, path)

    async def aclose(self) -> None:
        if self._closed:
            return
        try:
            await super().aclose()
        finally:
            try:
                self._port.close()
            except (OSError, serial.SerialException):
                pass
