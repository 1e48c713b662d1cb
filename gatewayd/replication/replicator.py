"""The replicator: a task of the daemon that sends the journal to head office.

    Replicator.run            reads the settings; not enrolled: waits (a `gatewayd hq enroll`
      │                       by another process is picked up within `poll` seconds)
      └─ one link at a time:  hello {master_version, staged} -> welcome {acked_seq}; then
           ├─ sender          journal events after the cursor, in pushes bounded by count and
           │                  bytes, at most `window` in flight; read and framed on a worker
           │                  thread with its own read connection, so a backlog of a week
           │                  never holds the event loop. It keeps out of the sales' way
           │                  (gatewayd/foreground.py): a push waits while a client's call
           │                  is in flight (`yield_max_s` at most, then goes anyway), and while
           │                  a sale is open pushes are small (`selling_events`), one at a time
           ├─ receiver        ack -> cursor forward; resend -> cursor back; reply -> the request
           │                  waiting for it (`request`); error -> close;
           │                  master -> handed to the master task
           ├─ master          each `master` part to MasterData (gatewayd/replication/
           │                  master.py), and `applied {version}` once a version is in
           └─ saver           the acked cursor into the store at most once a second, riding
                              in the next write's transaction (a sale's): a commit of its own
                              would put an fsync ahead of the sale's; alone only after a
                              second in which the till wrote nothing
On any failure the link is dropped and opened again after a backoff (doubling, jittered).

The till never waits for head office: a sale commits to the local store and this task
follows the journal. What must be decided online (a stored-value hold, a member this till
does not know) is asked with `request`, on the same link, answered by a `reply` of the
same id; with no link up it raises HqUnavailable at once, so a caller never waits for a
head office that is away. The status (state, acked_seq, head_seq, lag) is in system.health and
/metrics, and each state change is published on the `replication` topic.
"""

from __future__ import annotations

import logging
import random
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import trio
from websockets.exceptions import ConnectionClosed, InvalidHandshake
from websockets.trio.client import connect
from websockets.typing import Subprotocol

from gatewayd.config import TillConfig
from gatewayd.ports import Foreground, HqUnavailable
from gatewayd.replication import link
from gatewayd.replication.config import LinkConfig
from gatewayd.replication.master import MasterData
from gatewayd.replication.websocket import LinkClientConnection
from gatewayd.store.db import Store, Tx, now_us
from protocol import repl
from protocol.repl import REPL_SUBPROTOCOL, Cursor, ReplConnection, ReplProtocolError, Side

log = logging.getLogger("gatewayd.replication")
SETTINGS_POLL_S = 2.0
class MasterRefused(Exception):
    """A master version this till cannot apply (see MasterData.error)."""


# What a bad link raises: each is met by dropping the link and trying again after a backoff.
LINK_FAILURES = (OSError, ConnectionClosed, InvalidHandshake, ReplProtocolError,
                 trio.TooSlowError, trio.BrokenResourceError, ValueError, MasterRefused)
DECODE_OFF_LOOP = 16 << 10  # frames bigger than this are decoded on a worker thread
MASTER_QUEUE = 4  # master parts received and not yet staged (then the receiver waits)
OPEN_TIMEOUT_S = 10
ACK_RIDER = "replication.acked"  # Store.ride key of the acked cursor


@dataclass
class _Waiting:
    """A request sent, its reply not yet received."""

    done: trio.Event = field(default_factory=trio.Event)
    reply: repl.Reply | None = None


class Refused(Exception):
    """Head office answered `error`: a wrong or revoked credential, a conflict."""

    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class Replicator:
    def __init__(self, store: Store, till: TillConfig, cfg: LinkConfig,
                 publish: Callable[[str, dict[str, Any]], None], master: MasterData,
                 foreground: Foreground | None = None):
        self.store = store
        self.foreground = foreground  # None: nothing to keep out of the way of
        self.master = master
        self.till = till
        self.cfg = cfg
        self.publish = publish
        self.state = "disabled"  # disabled | connecting | online | offline | refused
        self.error: str | None = None
        self.last_contact: int | None = None  # µs
        self.url: str | None = None
        settings = link.read(store)
        self.acked = settings.acked_seq
        self._saved = self.acked
        self._reader: sqlite3.Connection | None = None
        self._read_limit = trio.CapacityLimiter(1)
        self._wake = trio.Event()
        self._live: tuple[Any, ReplConnection] | None = None  # (ws, conn) while online
        self._send_lock = trio.Lock()
        self._waiting: dict[str, _Waiting] = {}

    @property
    def enrolled(self) -> bool:
        return self.state != "disabled"

    @property
    def online(self) -> bool:
        return self.state == "online"

    # -- requests (HeadOffice, gatewayd/ports.py) -------------------------------------------
    async def request(self, frame: repl.TillRequest) -> repl.Reply:
        live = self._live
        if live is None or self.state != "online":
            raise HqUnavailable(f"head office is not connected ({self.state}"
                                f"{': ' + self.error if self.error else ''})")
        if frame.id in self._waiting:
            raise HqUnavailable(f"request {frame.id} is already waiting for its reply")
        waiting = self._waiting[frame.id] = _Waiting()
        try:
            with trio.fail_after(self.cfg.request_timeout_s):
                await self._send(live[0], live[1], frame)
                await waiting.done.wait()
        except trio.TooSlowError:
            raise HqUnavailable(f"head office did not answer within "
                                f"{self.cfg.request_timeout_s} s") from None
        except LINK_FAILURES as exc:
            raise HqUnavailable(_describe(exc)) from None
        finally:
            del self._waiting[frame.id]
        if waiting.reply is None:
            raise HqUnavailable("the link to head office dropped before it answered")
        return waiting.reply

    async def _send(self, ws, conn: ReplConnection, frame: repl.Frame,
                    encoded: bytes | None = None) -> None:
        async with self._send_lock:  # the sender's pushes and the requests share the link
            await ws.send(conn.send(frame, encoded))

    def _link_down(self) -> None:
        self._live = None
        for waiting in self._waiting.values():
            waiting.done.set()  # reply None: the link dropped

    # -- status ---------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        head = self.store.last_seq
        lag_events = max(0, head - self.acked)
        lag_s = 0.0
        if lag_events:
            row = self.store.one("SELECT at FROM journal WHERE seq > ? ORDER BY seq LIMIT 1",
                                 (self.acked,))
            if row is not None:
                lag_s = max(0.0, (now_us() - row["at"]) / 1e6)
        out = {"state": self.state, "acked_seq": self.acked, "head_seq": head,
               "lag_events": lag_events, "lag_s": round(lag_s, 3),
               "last_contact": _ts(self.last_contact), "master": self.master.status()}
        if self.url:
            out["url"] = self.url
        if self.error:
            out["error"] = self.error
        return out

    def _set_state(self, state: str, error: str | None = None) -> None:
        if (state, error) == (self.state, self.error):
            return
        self.state, self.error = state, error
        log.info("replication %s%s", state, f": {error}" if error else "")
        self.publish("replication.state", self.status())

    # -- the task ---------------------------------------------------------------------------
    async def run(self) -> None:
        backoff = self.cfg.backoff_min_s
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._saver)
                while True:
                    settings = link.read(self.store)
                    url, credential = self._target(settings)
                    if not (url and credential):
                        self._set_state("disabled")
                        await trio.sleep(SETTINGS_POLL_S)
                        continue
                    self.url = url
                    try:
                        try:
                            await self._link(settings, url, credential)
                        except BaseExceptionGroup as group:  # websockets' connect wraps some
                            raise first_failure(group) from None
                        self._set_state("offline", "head office closed the link")
                        backoff = self.cfg.backoff_min_s
                    except Refused as exc:
                        self._set_state("refused", exc.message)
                        backoff = self.cfg.backoff_max_s  # a person must act; keep trying slowly
                    except LINK_FAILURES as exc:
                        self._set_state("offline", _describe(exc))
                    await trio.sleep(backoff * random.uniform(0.7, 1.3))
                    backoff = min(backoff * 2, self.cfg.backoff_max_s)
        finally:
            if self._reader is not None:
                self._reader.close()

    def _target(self, settings: link.LinkSettings) -> tuple[str | None, str | None]:
        if settings.enrolled:
            return settings.url, settings.credential
        return self.cfg.url, self.cfg.credential

    async def _link(self, settings: link.LinkSettings, url: str, credential: str) -> None:
        self._set_state("connecting", self.error)
        ca = settings.ca_file or (str(self.cfg.ca_file) if self.cfg.ca_file else None)
        conn = ReplConnection(Side.TILL)
        async with connect(
            link.repl_url(url), subprotocols=[Subprotocol(REPL_SUBPROTOCOL)],
            ssl=link.ssl_context(url, ca),
            open_timeout=OPEN_TIMEOUT_S, compression=None, proxy=None, max_size=1 << 20,
            create_connection=LinkClientConnection,
            logger=logging.getLogger("gatewayd.replication.ws"),
        ) as ws:
            hello = link.hello(settings, self.till.store, self.till.till, credential,
                               self.store.last_seq, self.master.version(),
                               self.master.staged())
            await ws.send(conn.send(hello))
            with trio.fail_after(OPEN_TIMEOUT_S):
                welcome = conn.receive(await ws.recv())
            if isinstance(welcome, repl.Error):
                raise Refused(welcome.code, welcome.message)
            assert isinstance(welcome, repl.Welcome)
            self._contact()
            # HQ's word is the truth: a lower acked_seq (its database restored) is resent.
            self.acked = welcome.acked_seq
            cursor = Cursor(acked=welcome.acked_seq)
            self._live = (ws, conn)
            self._set_state("online")
            sending = self._send_lock  # pushes, `applied` and requests share the link
            to_master, master_frames = trio.open_memory_channel[repl.Master | repl.RawMaster](
                MASTER_QUEUE)
            try:
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(self._sender, ws, conn, cursor, settings.epoch, sending)
                    nursery.start_soon(self._master, ws, conn, master_frames, sending)
                    await self._receiver(ws, conn, cursor, to_master)
                    nursery.cancel_scope.cancel()
            except BaseExceptionGroup as group:  # the link's failure, as run() expects it
                raise first_failure(group) from None
            finally:
                self._link_down()

    def _contact(self) -> None:
        self.last_contact = now_us()

    async def _receiver(self, ws, conn: ReplConnection, cursor: Cursor,
                        to_master: trio.MemorySendChannel[repl.Master | repl.RawMaster]) -> None:
        async for raw in ws:
            frame: repl.Frame | repl.RawMaster | None = None
            if len(raw) > DECODE_OFF_LOOP:
                # a master part: not decoded here (its version and `more` read, the changes
                # skipped in C); the download's process or a worker thread decodes it
                frame = conn.receive_master(raw)
                if frame is None:
                    frame = await trio.to_thread.run_sync(conn.receive, raw)
            else:
                frame = conn.receive(raw)
            self._contact()
            if isinstance(frame, repl.Ack):
                if cursor.on_ack(frame.seq):
                    self.acked = cursor.acked
            elif isinstance(frame, repl.Resend):
                cursor.on_resend(frame.from_seq)
                log.info("head office asks again from seq %d", frame.from_seq)
            elif isinstance(frame, repl.Master | repl.RawMaster):
                await to_master.send(frame)
            elif isinstance(frame, repl.Reply):
                waiting = self._waiting.get(frame.id)
                if waiting is not None:  # else its caller gave up waiting: nothing to do
                    waiting.reply = frame
                    waiting.done.set()
            elif isinstance(frame, repl.Error):
                raise Refused(frame.code, frame.message)
            self._kick()

    async def _master(self, ws, conn: ReplConnection,
                      frames: trio.MemoryReceiveChannel[repl.Master | repl.RawMaster],
                      sending: trio.Lock) -> None:
        try:
            async for frame in frames:
                try:
                    version = await self.master.receive(frame)
                except repl.ReplProtocolError:
                    raise  # a bad frame: the link is dropped, as for any other
                except Exception as exc:  # kept staged; the link is dropped and tried again
                    raise MasterRefused(str(exc)) from exc
                if version is not None:
                    async with sending:
                        await ws.send(conn.send(repl.Applied(version=version)))
                    self.publish("replication.master", self.master.status())
        finally:  # a download cut with the link: its process ends, its parts stay staged
            await self.master.stop_download()

    def _kick(self) -> None:
        self._wake.set()
        self._wake = trio.Event()

    async def _sender(self, ws, conn: ReplConnection, cursor: Cursor, epoch: str,
                      sending: trio.Lock) -> None:
        cfg = self.cfg
        while True:
            if cursor.sent < self.store.last_seq and cursor.in_flight() < self._room():
                deadline = trio.current_time() + cfg.yield_max_s
                await self._yield(deadline)
                selling = self.foreground is not None and self.foreground.selling
                if cursor.in_flight() >= self._room():
                    continue  # a sale opened while it waited: one push at a time
                framed = await trio.to_thread.run_sync(
                    self._read_batch, epoch, cursor.sent,
                    cfg.selling_events if selling else cfg.batch_events,
                    limiter=self._read_limit)
                if framed is not None:
                    await self._yield(deadline)  # a call that came while it was read first
                    async with sending:
                        await ws.send(conn.send_push(framed))
                    cursor.on_sent(framed.last_seq)
                    continue
            with trio.move_on_after(cfg.poll_s):
                await self._wake.wait()

    def _room(self) -> int:
        """Events that may be in flight: one small push while a sale is open."""
        if self.foreground is not None and self.foreground.selling:
            return self.cfg.selling_events
        return self.cfg.window * self.cfg.batch_events

    async def _yield(self, deadline: float) -> None:
        """Wait while a client's call is in flight (a cashier waits for it), until `deadline`
        at the latest (`yield_max_s` a push): the catch-up goes on under a till that is
        never quiet."""
        if self.foreground is not None:
            left = deadline - trio.current_time()
            if left > 0:
                await self.foreground.quiet(self.cfg.yield_settle_s, left)

    def _read_batch(self, epoch: str, after: int, max_events: int) -> repl.FramedPush | None:
        """On a worker thread: the next push after `after`, framed."""
        if self._reader is None:
            self._reader = sqlite3.connect(f"file:{self.store.path}?mode=ro", uri=True,
                                           check_same_thread=False)
        rows = self._reader.execute(
            "SELECT seq, at, kind, data FROM journal WHERE seq > ? ORDER BY seq LIMIT ?",
            (after, max_events)).fetchall()
        return repl.frame_push(epoch, rows, max_events, self.cfg.batch_bytes)

    async def _saver(self) -> None:
        """The acked cursor into the store, coalesced: the journal may be pruned up to it. It
        rides in the next write (Store.ride); when a second went by and nothing wrote, the
        till is quiet, and it is written alone."""
        while True:
            await trio.sleep(self.cfg.save_ack_s)
            seq = self.acked
            if seq <= self._saved:
                continue
            if self.store.riding(ACK_RIDER):
                await self.store.write(partial(self._save_ack, seq=seq))
            else:
                self.store.ride(ACK_RIDER, partial(self._save_ack, seq=seq))

    def _save_ack(self, tx: Tx, seq: int) -> None:
        link.save_ack(tx, seq)
        tx.on_commit(partial(self._ack_saved, seq))

    def _ack_saved(self, seq: int) -> None:
        self._saved = max(self._saved, seq)


def _ts(us: int | None):
    from datetime import UTC, datetime

    return datetime.fromtimestamp(us / 1e6, UTC) if us is not None else None


def first_failure(group: BaseExceptionGroup) -> BaseException:
    leaves: list[BaseException] = []
    todo: list[BaseException] = [group]
    while todo:
        exc = todo.pop()
        if isinstance(exc, BaseExceptionGroup):
            todo.extend(exc.exceptions)
        else:
            leaves.append(exc)
    failures = [e for e in leaves if not isinstance(e, trio.Cancelled)]
    return failures[0] if failures else group


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ConnectionClosed):
        return f"link closed ({exc.rcvd.code if exc.rcvd else 'no close frame'})"
    if isinstance(exc, trio.TooSlowError):
        return "head office did not answer in time"
    return f"{type(exc).__name__}: {exc}"[:200]
