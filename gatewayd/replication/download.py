"""A master download's process: the heavy Python of a big master version, off the daemon.

A first download of 200k items was decoded, checked, staged and switched in by the daemon's
own process, in steps between sales; each step's Python still met the sale on the GIL (sale
p50 1.63x of idle, p99 3.2x, docs/bench.md). Here the daemon hands the version's parts, as
the bytes head office sent, to a child process (`python -m gatewayd.replication.download
STORE`) that does all of that through its own SQLite
connection, as `gatewayd catalog import` does; the daemon only does the switch.

    daemon (Download)                         child (this module's `main`)
    ["part", bytes]                     ->    decoded and checked (repl.decode), its changes
                                              into master_incoming, SMALL_CHUNK a transaction
                                        <-    ["staged"]
    ["apply", version, now]             ->    the version read back, sorted (due, held), its
                                              items checked (ItemIn) and staged beside the
                                              catalog (import_items), SMALL_CHUNK a transaction
                                        <-    ["small"]: under STAGE_ITEMS items due: the
                                              daemon applies it in one transaction itself
                                        <-    ["ready", {catalog, items, due, kinds, others,
                                              held}]: the daemon switches it in, in one
                                              transaction with the version's other changes and
                                              `master.applied` (MasterData._switch_in)
    ["switched"] / ["changed"]          ->    the old tables and the parts let go of (in
                                              short transactions) / staged again (the catalog
                                              moved meanwhile)
                                        <-    ["cleaned"]
    every write transaction of the child:
                                        <-    ["go", last step's seconds]
    after Store.make_way_async (the till between sales, then a rest of 3x the child's last
    transaction), the daemon lends its write lock (Store.lend: its own writes wait for
    ["done"], not in SQLite's busy handler)
    ["go"]                              ->    BEGIN IMMEDIATE ... COMMIT
                                        <-    ["done"]
    errors                              <-    ["error", "frame" | "master", message]

Messages are msgpack, each after its length (4 bytes, big-endian), on the child's stdin and
stdout. Every guarantee of the in-process path holds: the parts are in master_incoming
(a cut download resumes from them; `staged` in the hello), nothing reaches the catalog
before the switch, the switch is one transaction of the daemon's. The child holds the
version's objects (200k items), not the daemon; it ends with the version, or when its
stdin closes (the daemon went, the link dropped: killed then).
"""

from __future__ import annotations

import gc
import os
import struct
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, TypeVar

import trio

from gatewayd.store.db import Store, Tx
from gatewayd.store.stage import SMALL_CHUNK, Changed, Staging
from protocol import repl
from protocol.codec import pack, unpack
from protocol.repl import ReplProtocolError, Side

T = TypeVar("T")
_LEN = struct.Struct(">I")
EXIT_S = 5.0  # a finished child's exit (its store closed), before it is killed


class DownloadError(Exception):
    """The download process could not stage or apply the version (its message says why)."""


# -- the daemon's end ----------------------------------------------------------------------------
class Download:
    """One child process for one master version (see the module doc)."""

    def __init__(self, store: Store, version: int, proc: trio.Process):
        self.store = store
        self.version = version
        self._proc = proc
        self._buf = bytearray()
        self._back: Callable[[], None] | None = None  # the lent write lock's return
        self._lent_at = 0.0
        self._window = 0.0  # seconds the lock was lent last time

    @classmethod
    async def start(cls, store: Store, version: int) -> Download:
        proc = await trio.lowlevel.open_process(
            [sys.executable, "-m", "gatewayd.replication.download", str(store.path)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        return cls(store, version, proc)

    async def ask(self, msg: list[Any], *answers: str) -> list[Any]:
        """Send `msg`; serve the child's writes until it answers one of `answers`."""
        await self._send(msg)
        while True:
            got = await self._recv()
            kind = got[0]
            if kind == "go":  # a write transaction of the child's, when the till allows
                # resting 3x the time the lock was lent last (the child's transaction and
                # both messages' trips: what a sale could have waited for), not only the
                # transaction's own
                await self.store.make_way_async(max(got[1], self._window))
                self._back = self.store.lend()
                self._lent_at = time.monotonic()
                await self._send(["go"])
            elif kind == "done":
                self._window = time.monotonic() - self._lent_at
                self._give_back()
            elif kind == "error":
                self._give_back()
                if got[1] == "frame":
                    raise ReplProtocolError("bad_frame", got[2])
                raise DownloadError(got[2])
            elif kind in answers:
                return got
            else:
                raise DownloadError(f"the download process said {kind!r} out of turn")

    async def close(self, finished: bool = False) -> None:
        """The child ended, the write lock given back: `finished` (it answered its last),
        told by the end of its stdin; else (the link dropped, an error) killed at once."""
        with trio.CancelScope(shield=True):
            self._give_back()
            if finished and self._proc.stdin is not None:
                with trio.move_on_after(EXIT_S):
                    await self._proc.stdin.aclose()
                    await self._proc.wait()
            if self._proc.returncode is None:
                self._proc.kill()
            await self._proc.wait()

    def _give_back(self) -> None:
        if self._back is not None:
            self._back()
            self._back = None

    async def _send(self, msg: list[Any]) -> None:
        body = pack(msg)
        assert self._proc.stdin is not None
        try:
            await self._proc.stdin.send_all(_LEN.pack(len(body)) + body)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            raise DownloadError(self._ended()) from None

    async def _recv(self) -> list[Any]:
        assert self._proc.stdout is not None
        while True:
            if len(self._buf) >= _LEN.size:
                (n,) = _LEN.unpack_from(self._buf)
                if len(self._buf) >= _LEN.size + n:
                    body = bytes(self._buf[_LEN.size:_LEN.size + n])
                    del self._buf[:_LEN.size + n]
                    return unpack(body)
            data = await self._proc.stdout.receive_some(1 << 16)
            if not data:
                self._give_back()  # its transaction, if any, rolled back with it
                raise DownloadError(self._ended())
            self._buf += data

    def _ended(self) -> str:
        return (f"the master download's process ended (exit code {self._proc.poll()}); "
                "see the daemon's log")


# -- the child's end -----------------------------------------------------------------------------
class _Pipe:
    def __init__(self, inp: IO[bytes], out: IO[bytes]):
        self.inp, self.out = inp, out

    def send(self, msg: list[Any]) -> None:
        body = pack(msg)
        self.out.write(_LEN.pack(len(body)) + body)
        self.out.flush()

    def recv(self) -> list[Any] | None:
        head = self.inp.read(_LEN.size)
        if len(head) < _LEN.size:
            return None  # the daemon closed our stdin: it went, or the link dropped
        (n,) = _LEN.unpack(head)
        body = self.inp.read(n)
        if len(body) < n:
            return None
        return unpack(body)

    def expect(self, *kinds: str) -> list[Any]:
        msg = self.recv()
        if msg is None:
            raise SystemExit(0)
        if msg[0] not in kinds:
            raise DownloadError(f"the daemon said {msg[0]!r}, expected {kinds}")
        return msg


class LentStore(Store):
    """The till's store as the child writes it: each transaction waits for the daemon's
    lent write lock (["go"]) and gives it back after its commit (["done"]). Its staging runs
    in Staging's chunks of SMALL_CHUNK, paced by the daemon."""

    def __init__(self, path: Path, pipe: _Pipe):
        super().__init__(path, readers=1)
        # No fsync of its own commits: what it writes (parts, staged tables) is head
        # office's to send again, a commit is still all or nothing (WAL), and the daemon's
        # next commit, the switch at the latest, syncs the log they are in. On a till's
        # disk (1-10 ms a sync) the sale's commit would queue behind each of them.
        self._w.execute("PRAGMA synchronous=NORMAL")
        # Its pages are copied back into the database by the child itself, after each of
        # its transactions (`checkpoint`), never by a commit: SQLite's automatic checkpoint
        # runs in whichever commit finds 1000+ pages in the log, and with the download's
        # pages there that would often be a sale's.
        self._w.execute("PRAGMA wal_autocheckpoint=0")
        self.pipe = pipe
        self._last = 0.0  # the last transaction's seconds: the daemon rests 3x that

    def write_sync(self, fn: Callable[[Tx], T], *, durable: bool = True
                   ) -> tuple[T, list[Any]]:
        # `durable` or not, never synced here (synchronous=NORMAL above)
        self.pipe.send(["go", self._last])
        self.pipe.expect("go")
        began = time.monotonic()
        try:
            return super().write_sync(fn)
        finally:
            self._last = time.monotonic() - began
            self.pipe.send(["done"])
            self.checkpoint()

    def make_way(self, quiet_s: float = 0.0, patience_s: float = 0.0) -> bool:
        return True  # paced by the daemon before each transaction (write_sync)


def _stage_part(store: LentStore, raw: bytes) -> list[Any]:
    frame = repl.decode(raw, Side.HQ)
    if not isinstance(frame, repl.Master):
        raise ReplProtocolError("bad_frame", f"a {frame.type} frame handed to the download")
    for i in range(0, len(frame.changes), SMALL_CHUNK):  # in pos order: `staged` a prefix
        # packed before the transaction: the daemon's writes wait while it is open
        rows = [(frame.version, c["pos"], pack(c)) for c in frame.changes[i:i + SMALL_CHUNK]]

        def stage(tx: Tx, rows: list[tuple[int, int, bytes]] = rows) -> None:
            tx.execute("DELETE FROM master_incoming WHERE version<? OR version>?",
                       (frame.version, frame.version))
            tx.executemany("INSERT OR REPLACE INTO master_incoming(version, pos, change)"
                           " VALUES (?,?,?)", rows)

        store.write_sync(stage)
    return ["staged"]


def _apply(store: LentStore, version: int, now: int) -> list[Any]:
    """The version staged beside the catalog; the daemon switches it in (["ready"])."""
    from gatewayd.replication.master import STAGE_ITEMS, MasterData
    from gatewayd.sales.catalog_stage import import_items

    big = MasterData(store, lambda *a: None).read_paced(version, now)
    if len(big.items) < STAGE_ITEMS:
        return ["small"]
    ready = {"items": len(big.items), "due": big.due, "kinds": dict(big.kinds),
             "others": big.others, "held": big.held}

    def switch(staging: Staging, _fn: Any) -> None:
        store.pipe.send(["ready", {**ready, "catalog": staging.version}])
        if store.pipe.expect("switched", "changed")[0] == "changed":
            raise Changed

    import_items(store, big.items, range(len(big.items)), f"hq:{version}", journal=False,
                 switch=switch)
    del big
    while True:  # the download's parts, let go of in short transactions like the import's
        (n, _) = store.write_sync(lambda tx: tx.execute(
            "DELETE FROM master_incoming WHERE (version, pos) IN (SELECT version, pos FROM"
            " master_incoming LIMIT ?)", (SMALL_CHUNK * 5,)).rowcount)
        if n == 0:
            return ["cleaned"]


def main(argv: list[str]) -> int:
    # Not niced: the daemon's writes wait while it holds the lent lock, and a niced child
    # preempted in its transaction made them wait longer (writes that met a lent lock: p99
    # 43 ms niced at 10, 11 ms not; docs/bench.md).
    # no cyclic collections while 200k items live: they hold no cycles (see master.py)
    gc.disable()
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # a stray print goes to the log, never between the messages
    pipe = _Pipe(sys.stdin.buffer, out)
    store = LentStore(Path(argv[0]), pipe)
    try:
        while (msg := pipe.recv()) is not None:
            try:
                if msg[0] == "part":
                    pipe.send(_stage_part(store, msg[1]))
                elif msg[0] == "apply":
                    pipe.send(_apply(store, msg[1], msg[2]))
                else:
                    raise DownloadError(f"the daemon said {msg[0]!r}")
            except ReplProtocolError as exc:
                pipe.send(["error", "frame", exc.message])
            except SystemExit:
                raise
            except Exception as exc:
                pipe.send(["error", "master", (str(exc) or type(exc).__name__)[:300]])
    except (BrokenPipeError, SystemExit):
        pass  # the daemon went: what is committed stays staged, the rest rolled back
    finally:
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
