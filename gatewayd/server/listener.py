"""The TCP listener with a cap on open connections, below the file-descriptor limit.

A stranger on the LAN can open connections faster than handshakes time out. Without a cap
the daemon runs out of file descriptors, and then the store, a device or a log file fails to
open; with it, the connection past the cap is closed the moment it is accepted and the
daemon says so in one log line (repeated at most once a minute while it lasts).
"""

from __future__ import annotations

import logging
import resource
import time

import trio

log = logging.getLogger("gatewayd.server")
FD_RESERVE = 64  # the store and its WAL, devices, ptys, log files, the pipe to the writer
LOG_EVERY_S = 60


def fd_limit() -> int:
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def connection_cap(configured: int | None, nofile: int | None = None) -> int:
    """The configured cap, never above the fd limit less FD_RESERVE (at least 1)."""
    nofile = fd_limit() if nofile is None else nofile
    ceiling = max(1, nofile - FD_RESERVE) if nofile != resource.RLIM_INFINITY else 1 << 20
    if configured is None:
        return ceiling
    if configured > ceiling:
        log.warning(
            "server.max_connections %d is above the file-descriptor limit %d less %d "
            "reserved; using %d (raise LimitNOFILE to allow more)",
            configured, nofile, FD_RESERVE, ceiling,
        )
        return ceiling
    return configured


class CappedListener(trio.abc.Listener[trio.SocketStream]):
    """Accepts like the wrapped SocketListener; past `cap` open connections, closes the new
    one at once. A connection counts until its socket is closed, handshake included."""

    def __init__(self, inner: trio.SocketListener, cap: int, on_refused=lambda: None):
        self.inner = inner
        self.socket = inner.socket  # websockets logs the listening address from it
        self.cap = cap
        self.on_refused = on_refused
        self.open: set[trio.SocketStream] = set()
        self._last_log = float("-inf")

    async def accept(self) -> trio.SocketStream:
        while True:
            stream = await self.inner.accept()
            self.open = {s for s in self.open if s.socket.fileno() != -1}
            if len(self.open) < self.cap:
                self.open.add(stream)
                return stream
            self.on_refused()
            now = time.monotonic()
            if now - self._last_log >= LOG_EVERY_S:
                self._last_log = now
                log.warning(
                    "connection limit reached: %d open (server.max_connections %d, "
                    "file-descriptor limit %d); refusing new connections",
                    len(self.open), self.cap, fd_limit(),
                )
            await trio.aclose_forcefully(stream)

    async def aclose(self) -> None:
        await self.inner.aclose()
