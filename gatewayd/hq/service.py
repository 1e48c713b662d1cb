"""`gatewayd hq serve`: head office's composition root.

    HqApp.run  (nursery)
      ├─ server      websockets' trio server on one port:
      │                /repl  gatewayd-repl.v1, one link task per till (gatewayd/hq/link.py)
      │                /ws    gatewayd.v1 for HQ clients: the till's Session, HQ's methods
      │                /healthz, /metrics, /  plain HTTP
      ├─ publish     the `hq.till` topic: a changed till's row of `hq.tills`, twice a second
      │              at most (the live view of the HQ pages)
      ├─ heartbeat   keeps `last_contact` of this process's live links fresh in the database,
      │              so `hq.tills` answers `online` alike from every process of the chain
      ├─ master      watches the chain's master version (a poll of one row, so a version
      │              made by another process sharing the database is seen within
      │              MASTER_POLL_S) and wakes every link to send what is new
      └─ database    checks the database every few seconds for /healthz

The process keeps no state that another process needs: the database is the truth, so a
load balancer may send a till to any process and a killed process loses nothing acked.
"""

from __future__ import annotations

import json
import logging
import signal
import ssl
import time
from dataclasses import dataclass
from functools import partial
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import trio
from websockets.trio.server import serve
from websockets.typing import Subprotocol

from gatewayd import auth
from gatewayd.api import system as core_methods
from gatewayd.bus import Bus
from gatewayd.config import Config
from gatewayd.hq import ingest, master
from gatewayd.hq.db import HqStore, HqTx, now_us, open_backend
from gatewayd.hq.link import LiveLink, serve_link
from gatewayd.metrics import Metrics
from gatewayd.replication.websocket import LinkServerConnection
from gatewayd.server.http import response, static_file
from gatewayd.server.registry import Registry
from gatewayd.server.session import Session
from protocol.errors import ProtocolError
from protocol.methods import MethodSpec
from protocol.repl import REPL_PATH, REPL_SUBPROTOCOL
from protocol.version import SUBPROTOCOL

log = logging.getLogger("gatewayd.hq")
HEARTBEAT_S = 15
DB_CHECK_S = 5
DB_CHECK_TIMEOUT_S = 10
ONLINE_WITHIN_US = 60 * 1_000_000
MASTER_POLL_S = 0.25
PUBLISH_TILLS_S = 0.5
WEB_ROOT = Path(__file__).resolve().parent.parent.parent / "clients" / "web"
HQ_PAGES = {"/": "hq/index.html", "/index.html": "hq/index.html"}  # HQ's own back office


@dataclass(frozen=True)
class Limits:
    max_push_events: int = 2000
    max_push_bytes: int = 4 << 20
    # a stored-value/points/coupon hold that no entry, void or release has settled by then
    # stops counting (its sale never reached head office)
    hold_ttl_s: int = 86_400


class HqAuth:
    """What a Session asks of `app.auth`: HQ clients authenticate by token only (their role
    is the token's); operator PINs and approvals are a till's."""

    def __init__(self, hq: HqApp):
        self.hq = hq

    async def denied(self, action: str, role: str, required: str, who: str | None) -> None:
        self.hq.metrics.inc("gatewayd_hq_denied_total")
        log.info("denied %s: %s needs %s", action, role, required)

    async def approve(self, *args: Any) -> Any:
        raise ProtocolError("forbidden", "head office takes no PIN approvals: use a token "
                            "with the role (gatewayd hq token add NAME --role ROLE)")


class HqApp:
    def __init__(self, data_dir: Path, dsn: str | None = None, *,
                 listen: str = "127.0.0.1:8760", cert: Path | None = None,
                 key: Path | None = None, limits: Limits | None = None,
                 db_wait_s: float = 0.0):
        self.data_dir = Path(data_dir)
        self.config = Config.model_validate({
            "server": {"listen": listen},
            "till": {"store": "HQ", "till": "HQ", "name": "gatewayd hq"},
            "data_dir": str(self.data_dir)})
        self.store = HqStore(open_backend(self.data_dir, dsn), wait_s=db_wait_s)
        self.version = _version()
        self.started = time.monotonic()
        self.limits = limits or Limits()
        self.tls = _tls_context(cert, key) if cert else None
        self.metrics = Metrics()
        self.bus = Bus(self.config.server.replay_buffer)
        self.registry = Registry()
        self.sessions: set[Session] = set()
        self.demo = False
        self.auth = HqAuth(self)
        self.links: dict[tuple[str, str], LiveLink] = {}
        self.changed_tills: set[tuple[str, str]] = set()
        self.closed_links: list[tuple[int, str, str, str]] = []
        self.tills_changed = trio.Event()
        self.db_error: str | None = None
        # the chain's master version as this process last saw it; links wait on the event
        self.master_head = self.store.read_sync(master.head)
        self.master_changed = trio.Event()
        # A till's store start-up check (App.safe_mode) has no HQ counterpart: the state of
        # HQ's database is db_error, in /healthz.
        self.safe_mode: str | None = None
        self.server = None
        self.port: int | None = None
        self.web_root = WEB_ROOT if WEB_ROOT.is_dir() else None
        core_methods.register_session(self.registry, self.bus)  # system.*, auth.*: a till's
        core_methods.register_served(self.registry, self)  # system.methods: the pages ask it
        from gatewayd.hq import methods

        methods.bind(self.registry, self)
        self._gauges()

    # -- what a Session needs -------------------------------------------------------------
    def token_role(self, token: str) -> tuple[str, str] | None:
        row = self.store.read_sync(lambda tx: tx.one(
            "SELECT id, role FROM tokens WHERE hash=? AND revoked_at IS NULL",
            (auth.hash_token(token),)))
        return (row["id"], row["role"]) if row else None

    def refuse_in_safe_mode(self, method: str) -> None:
        """Nothing to refuse: HQ has no safe mode (see `safe_mode`)."""

    def required_role(self, spec: MethodSpec) -> str:
        return spec.role

    def emit(self, topic: str, data: dict[str, Any]) -> None:
        self.bus.publish(topic, data)

    # -- links ----------------------------------------------------------------------------
    def link_opened(self, live: LiveLink) -> None:
        self.links[(live.store, live.till)] = live
        self.till_changed(live.store, live.till)

    def link_closed(self, live: LiveLink) -> None:
        if self.links.get((live.store, live.till)) is live:
            del self.links[(live.store, live.till)]
            self.closed_links.append((now_us(), live.store, live.till, live.epoch))
            self.till_changed(live.store, live.till)

    def till_changed(self, store: str, till: str) -> None:
        """The till's row in `hq.tills` may have changed (a link opened or closed, a push
        applied): `_publish_tills` sends it on the `hq.till` topic, at most every
        PUBLISH_TILLS_S per till however fast it pushes."""
        self.changed_tills.add((store, till))
        self.tills_changed.set()

    async def _publish_tills(self) -> None:
        from gatewayd.hq.methods import tills

        while True:
            await self.tills_changed.wait()
            self.tills_changed = trio.Event()
            closed, self.closed_links = self.closed_links, []
            changed, self.changed_tills = self.changed_tills, set()
            try:
                if closed:
                    await self.store.write(partial(_closed, rows=closed))
                rows = await self.store.read(partial(tills, live=set(self.links), only=changed))
                for row in rows:
                    self.emit("hq.till", row)
            except Exception:  # the database is away: /healthz says so; the next change retries
                log.exception("cannot publish the tills' state")
                self.changed_tills |= changed
                self.closed_links.extend(closed)
            await trio.sleep(PUBLISH_TILLS_S)

    def alert(self, alert: ingest.Alert) -> None:
        log.warning("alert %s: %s", alert.kind, alert.message)
        self.emit("hq.alert", {"kind": alert.kind, "store": alert.store, "till": alert.till,
                               "message": alert.message})

    def master_committed(self, version: int) -> None:
        """A master version is in the database (made here, or seen by the poll): every link
        sends it."""
        if version > self.master_head:
            self.master_head = version
            self.master_changed.set()
            self.master_changed = trio.Event()

    async def _watch_master(self) -> None:
        while True:
            await trio.sleep(MASTER_POLL_S)
            try:
                self.master_committed(await self.store.read(master.head))
            except Exception:  # the database is away: /healthz says so; the next poll retries
                log.debug("master: cannot read the version head", exc_info=True)

    async def _heartbeat(self) -> None:
        while True:
            await trio.sleep(HEARTBEAT_S)
            live = [(now_us(), lk.store, lk.till, lk.epoch) for lk in self.links.values()]
            if not live:
                continue
            try:
                await self.store.write(partial(_touch, rows=live))
            except Exception:  # the database is away; the links show it, the next beat retries
                log.exception("heartbeat: cannot record live links")

    # -- health -----------------------------------------------------------------------------
    async def _watch_database(self) -> None:
        """The database's state for /healthz, checked off the event loop every few seconds
        (a health probe must not block the loop on a database that hangs)."""
        while True:
            try:
                with trio.fail_after(DB_CHECK_TIMEOUT_S):
                    await self.store.read(lambda tx: tx.one("SELECT COUNT(*) AS n FROM tills"))
                self.db_error = None
            except Exception as exc:  # trio.TooSlowError included: a hung database
                self.db_error = f"{type(exc).__name__}: {exc}"[:200]
            await trio.sleep(DB_CHECK_S)

    def health(self) -> dict[str, Any]:
        db: dict[str, Any] = {"ok": self.db_error is None, "backend": self.store.name,
                              "schema": self.store.schema_version}
        if self.db_error:
            db["error"] = self.db_error
        return {
            "status": "ok" if db["ok"] else "degraded",
            "version": self.version,
            "role": "hq",
            "uptime_s": int(time.monotonic() - self.started),
            "store": db,
            "links": len(self.links),
            "clients": len(self.sessions),
        }

    def _gauges(self) -> None:
        m = self.metrics
        m.gauge("gatewayd_hq_links", "Till links open to this process.",
                lambda: [({}, len(self.links))])
        m.gauge("gatewayd_connections", "Open HQ client connections.",
                lambda: [({}, len(self.sessions))])

    # -- serving ------------------------------------------------------------------------------
    def _process_request(self, connection, request):
        path = request.path.split("?", 1)[0]
        if path in ("/ws", REPL_PATH):
            return None
        if path == "/healthz":
            health = self.health()
            body = json.dumps(health, ensure_ascii=False).encode()
            return response(200 if health["status"] == "ok" else 503, body, "application/json")
        if path == "/metrics":
            return response(200, self.metrics.render().encode(), "text/plain; version=0.0.4")
        if self.web_root is None:
            return response(404, b"no web pages installed\n", "text/plain; charset=utf-8")
        return static_file(self.web_root, path, HQ_PAGES)

    @staticmethod
    def _select_subprotocol(connection, offered):
        want = REPL_SUBPROTOCOL if connection.request.path.startswith(REPL_PATH) else SUBPROTOCOL
        return want if want in offered else None

    async def _handle(self, ws) -> None:
        path = ws.request.path.split("?", 1)[0]
        want = REPL_SUBPROTOCOL if path == REPL_PATH else SUBPROTOCOL
        if ws.subprotocol != want:
            await ws.aclose(1002, f"{path} speaks the {want} subprotocol only")
            return
        if path == REPL_PATH:
            await serve_link(self, ws)
        else:
            await Session(self, ws).run()  # type: ignore[arg-type]

    async def run(self, task_status=trio.TASK_STATUS_IGNORED) -> None:
        cfg = self.config.server
        async with trio.open_nursery() as nursery:
            listeners = await trio.open_tcp_listeners(cfg.port, host=cfg.host)
            self.port = listeners[0].socket.getsockname()[1]
            self.server = await nursery.start(partial(
                serve, self._handle, listeners=listeners, ssl=self.tls,
                subprotocols=[Subprotocol(SUBPROTOCOL), Subprotocol(REPL_SUBPROTOCOL)],
                select_subprotocol=self._select_subprotocol,
                process_request=self._process_request,
                # a push may be up to the limit; the link refuses it above that, clearly
                max_size=max(cfg.max_frame_bytes, 2 * self.limits.max_push_bytes),
                compression=None, ping_interval=20, create_connection=LinkServerConnection,
                logger=logging.getLogger("gatewayd.hq.ws")))
            nursery.start_soon(self._heartbeat)
            nursery.start_soon(self._publish_tills)
            nursery.start_soon(self._watch_database)
            nursery.start_soon(self._watch_master)
            nursery.start_soon(self._signals, nursery.cancel_scope)
            scheme = "wss" if self.tls else "ws"
            log.info("gatewayd hq %s on %s://%s:%s (%s)", self.version, scheme, cfg.host,
                     self.port, self.store.backend.describe())
            task_status.started(self)

    async def _signals(self, scope: trio.CancelScope) -> None:
        with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
            async for _ in signals:
                with trio.CancelScope(shield=True), trio.move_on_after(5):
                    if self.server is not None:
                        await self.server.aclose()
                scope.cancel()
                return

    def close(self) -> None:
        self.store.close()


def _closed(tx: HqTx, rows: list[tuple[int, str, str, str]]) -> None:
    tx.executemany("UPDATE till_epochs SET closed_at=? WHERE store=? AND till=? AND epoch=?",
                   rows)


def _touch(tx: HqTx, rows: list[tuple[int, str, str, str]]) -> None:
    tx.executemany("UPDATE till_epochs SET last_contact=? WHERE store=? AND till=? AND epoch=?",
                   rows)


def _tls_context(cert: Path, key: Path | None) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(str(cert), str(key) if key else None)
    return ctx


def _version() -> str:
    try:
        return version("gatewayd")
    except PackageNotFoundError:
        return "0.0.0+local"
