"""The fan-out benchmark's receiving end, in a process of its own (bench/devices.py starts it).

    python -m bench.fanout_client ws HOST PORT TOKEN READERS STALLED
    python -m bench.fanout_client raw HOST PORT READERS

ws:  READERS + STALLED WebSocket clients, each doing the real opening handshake (subprotocol
     gatewayd.v1), `hello` with TOKEN and `subscribe {"topics": ["scale"]}`. The stalled ones
     also subscribe to `bench` (so the bench can fill their pipes with `bench.fill` events)
     and then never read a byte again.
raw: READERS plain TCP connections to a listener of the bench, which writes WebSocket frames
     to them itself (the raw floor).

Prints `ready` once every client is connected (and subscribed), then reads with epoll. On a
line on stdin it prints one JSON object and exits:

    {"arrivals": [[client, seq, ts_ns], ...], "closed": [client, ...],
     "shared_reads": int, "no_kernel_ts": int}

`ts_ns` is the kernel's receive timestamp of the segment that completed the frame
(SO_TIMESTAMPNS, CLOCK_REALTIME, taken when the segment reached the socket), not the time
this single process got round to reading it, so its own serial processing of 50 sockets
does not count. Stamp the send side with time.time_ns(), the same clock. `shared_reads`
counts reads that completed more than one event frame (their first frames get the later
stamp); it should stay 0 at 20 Hz.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import select
import socket
import struct
import sys
import time

from protocol.codec import pack, unpack
from protocol.version import SUBPROTOCOL

SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)  # Linux; SCM_TIMESTAMPNS is the same
_TS = struct.Struct("qq")  # struct timespec
_ANC = socket.CMSG_SPACE(_TS.size)
_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 1, 2, 8, 9, 10


def client_frame(opcode: int, payload: bytes) -> bytes:
    """A masked frame, as a client must send it (RFC 6455 §5.2)."""
    mask = os.urandom(4)
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
    elif n < 65536:
        head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
    key = int.from_bytes((mask * (n // 4 + 1))[:n], "big")
    masked = (int.from_bytes(payload, "big") ^ key).to_bytes(n, "big")
    return head + mask + masked


def parse_frames(buf: bytearray) -> list[tuple[int, bytes]]:
    """Take every complete (unmasked, unfragmented) frame off the front of `buf`."""
    out = []
    while len(buf) >= 2:
        b0, b1 = buf[0], buf[1]
        if b1 & 0x80:
            raise ValueError("a server frame must not be masked")
        if not b0 & 0x80:
            raise ValueError("fragmented frames are not expected")
        n, head = b1 & 0x7F, 2
        if n == 126:
            if len(buf) < 4:
                break
            n, head = struct.unpack_from("!H", buf, 2)[0], 4
        elif n == 127:
            if len(buf) < 10:
                break
            n, head = struct.unpack_from("!Q", buf, 2)[0], 10
        if len(buf) < head + n:
            break
        out.append((b0 & 0x0F, bytes(buf[head:head + n])))
        del buf[:head + n]
    return out


class Client:
    def __init__(self, index: int, sock: socket.socket):
        self.index = index
        self.sock = sock
        self.buf = bytearray()
        self.frames: list[tuple[int, bytes]] = []  # parsed during setup, not yet taken
        self.closed = False

    # -- blocking setup ----------------------------------------------------------------
    def recv_frame(self) -> tuple[int, bytes]:
        while True:
            self.frames += parse_frames(self.buf)
            if self.frames:
                return self.frames.pop(0)
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("closed during setup")
            self.buf += data

    def recv_message(self) -> dict:
        while True:
            opcode, payload = self.recv_frame()
            if opcode == OP_PING:
                self.sock.sendall(client_frame(OP_PONG, payload))
            elif opcode == OP_CLOSE:
                raise ConnectionError(f"closed during setup: {payload[2:]!r}")
            elif opcode == OP_BINARY:
                return unpack(payload)

    def handshake(self, host: str, port: int) -> None:
        key = base64.b64encode(os.urandom(16))
        self.sock.sendall(
            b"GET /ws HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
            b"Sec-WebSocket-Protocol: %s\r\n\r\n" % (host.encode(), port, key, SUBPROTOCOL.encode())
        )
        while b"\r\n\r\n" not in self.buf:
            data = self.sock.recv(4096)
            if not data:
                raise ConnectionError("closed during the opening handshake")
            self.buf += data
        head, _, rest = bytes(self.buf).partition(b"\r\n\r\n")
        self.buf = bytearray(rest)
        lines = head.split(b"\r\n")
        if not lines[0].startswith(b"HTTP/1.1 101"):
            raise ConnectionError(f"handshake refused: {lines[0]!r}")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip()
        accept = base64.b64encode(hashlib.sha1(key + _GUID).digest())
        if headers.get(b"sec-websocket-accept") != accept:
            raise ConnectionError("bad Sec-WebSocket-Accept")
        if headers.get(b"sec-websocket-protocol") != SUBPROTOCOL.encode():
            raise ConnectionError("subprotocol not agreed")

    def call(self, call_id: int, method: str, params: dict) -> dict:
        self.sock.sendall(client_frame(OP_BINARY, pack(
            {"type": "call", "id": call_id, "method": method, "params": params})))
        while True:
            msg = self.recv_message()
            if msg.get("type") in ("result", "error") and msg.get("id") == call_id:
                if msg["type"] == "error":
                    raise ConnectionError(f"{method}: {msg}")
                return msg["result"]

    # -- measuring -----------------------------------------------------------------------
    def on_readable(self, arrivals: list, stats: dict) -> None:
        while True:
            try:
                data, anc, _flags, _addr = self.sock.recvmsg(65536, _ANC)
            except BlockingIOError:
                return
            except OSError:
                self.closed = True
                return
            if not data:
                self.closed = True
                return
            ts = None
            for level, kind, cdata in anc:
                if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                    sec, nsec = _TS.unpack(cdata[:_TS.size])
                    ts = sec * 1_000_000_000 + nsec
            if ts is None:
                stats["no_kernel_ts"] += 1
                ts = time.time_ns()
            self.buf += data
            events = 0
            for opcode, payload in parse_frames(self.buf):
                if opcode == OP_BINARY:
                    msg = unpack(payload)
                    if msg.get("type") == "event" and msg.get("topic") == "scale.reading":
                        arrivals.append((self.index, msg["seq"], ts))
                        events += 1
                elif opcode == OP_PING:
                    try:
                        self.sock.send(client_frame(OP_PONG, payload))
                    except OSError:
                        pass
                elif opcode == OP_CLOSE:
                    self.closed = True
                    return
            if events > 1:
                stats["shared_reads"] += 1


def _open(host: str, port: int) -> socket.socket:
    sock = socket.create_connection((host, port), timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    return sock


def connect_ws(host: str, port: int, token: str, readers: int, stalled: int) -> list[Client]:
    clients = []
    for i in range(readers + stalled):
        client = Client(i, _open(host, port))
        client.handshake(host, port)
        name = "stalled" if i >= readers else f"reader-{i}"
        client.sock.sendall(client_frame(OP_BINARY, pack(
            {"type": "hello", "token": token, "client": {"name": name, "kind": "bench"}})))
        welcome = client.recv_message()
        if welcome.get("type") != "welcome":
            raise ConnectionError(f"no welcome: {welcome}")
        topics = ["scale", "bench"] if i >= readers else ["scale"]
        client.call(1, "subscribe", {"topics": topics})
        clients.append(client)
    return clients


def main(argv: list[str]) -> int:
    mode = argv[0]
    if mode == "ws":
        host, port, token, readers, stalled = argv[1], int(argv[2]), argv[3], *map(int, argv[4:6])
        clients = connect_ws(host, port, token, readers, stalled)
    elif mode == "raw":
        host, port, readers = argv[1], int(argv[2]), int(argv[3])
        clients = [Client(i, _open(host, port)) for i in range(readers)]
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    reading = clients[:readers]
    ep = select.epoll()
    by_fd = {}
    for client in reading:
        client.sock.setblocking(False)
        by_fd[client.sock.fileno()] = client
        ep.register(client.sock.fileno(), select.EPOLLIN)
    stdin = sys.stdin.fileno()
    ep.register(stdin, select.EPOLLIN)
    print("ready", flush=True)
    arrivals: list[tuple[int, int, int]] = []
    stats = {"shared_reads": 0, "no_kernel_ts": 0}
    running = True
    while running:
        for fd, _mask in ep.poll():
            if fd == stdin:
                running = False
                continue
            client = by_fd[fd]
            client.on_readable(arrivals, stats)
            if client.closed:
                ep.unregister(fd)
                del by_fd[fd]
    result = {"arrivals": arrivals, "closed": [c.index for c in reading if c.closed], **stats}
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
