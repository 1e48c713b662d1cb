"""The composition root: one place that shows what the daemon is made of and who owns
which task.

    App.run  (nursery)
      ├─ devices.run      every configured device, each supervised in its own task
      ├─ server           websockets' trio server; one Session task per connection
      ├─ services         background owners (print queue, ...), each started here
      └─ watchdog         systemd WATCHDOG=1
"""

from __future__ import annotations

import errno
import logging
import signal
import time
import uuid
from collections.abc import Awaitable, Callable
from functools import partial
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import trio
from websockets.trio.server import serve
from websockets.typing import Origin, Subprotocol

from drivers.manager import DeviceManager
from gatewayd import api, auth, systemd
from gatewayd.auth import Auth
from gatewayd.bus import Bus
from gatewayd.config import Config
from gatewayd.demo import SimSet
from gatewayd.foreground import Foreground
from gatewayd.inventory.service import InventoryService
from gatewayd.maintenance import Maintenance
from gatewayd.members.checkout import MemberCheckout, MemberParticipant
from gatewayd.members.ledger import TENDER_METHODS as MEMBER_TENDERS
from gatewayd.members.service import MemberService
from gatewayd.metrics import Metrics
from gatewayd.printing import PrintQueue
from gatewayd.replication.central import SETTING_KINDS, CentralSettings
from gatewayd.replication.master import MasterData
from gatewayd.replication.replicator import Replicator
from gatewayd.sales.catalog.repository import Catalog, compile_scale_layouts
from gatewayd.sales.config import load_promotions
from gatewayd.sales.parts import SaleParts, SalePolicy
from gatewayd.sales.payments import SimulatedProvider
from gatewayd.sales.price_labels import LabelService
from gatewayd.sales.returns import ReturnsService
from gatewayd.sales.running_totals import RunningTotals
from gatewayd.sales.scan import ScanRouter, paycode_route
from gatewayd.sales.service import SaleService
from gatewayd.sales.shifts import ShiftService
from gatewayd.server.http import make_process_request
from gatewayd.server.listener import CappedListener, connection_cap
from gatewayd.server.registry import Registry
from gatewayd.server.session import Session
from gatewayd.store.check import check_store
from gatewayd.store.db import Store
from protocol.errors import ProtocolError
from protocol.methods import SPECS, MethodSpec
from protocol.version import SUBPROTOCOL

log = logging.getLogger("gatewayd")
# the services every sale of a till involves (gatewayd/sales/parts.py)
SALE_PARTICIPANTS = ("shifts", "members", "inventory")
SAFE_MODE_METHODS = {"subscribe", "unsubscribe", "system.info", "system.health"}
REVOKE_POLL_S = 0.5  # a revoked token's connections end within a second
WEB_ROOT = Path(__file__).resolve().parent.parent / "clients" / "web"


def _version() -> str:
    try:
        return version("gatewayd")
    except PackageNotFoundError:
        return "0.0.0+local"


class App:
    def __init__(self, config: Config, *, demo: bool = False):
        self.config = config
        self.demo = demo
        self.version = _version()
        self.started = time.monotonic()
        self.metrics = Metrics()
        # Safe mode: the store failed its start-up check. The daemon stays up (so /healthz,
        # the log and every client can say why) but never opens the store: no method that
        # reads or writes it is served, a sale least of all.
        self.safe_mode = check_store(config.store_path, config.store.check_seconds)
        self.store: Store = None if self.safe_mode else Store(  # type: ignore[assignment]
            config.store_path, readers=config.store.readers,
            read_deadline_s=config.store.read_deadline_s, archive_dir=config.archive_dir)
        self.bus = Bus(config.server.replay_buffer)
        # calls in flight and sales open, for background work to keep out of their way
        self.foreground = Foreground()
        self.bus.attach(self.foreground)
        a = config.auth
        self.auth = Auth(
            self.store, a.lock_after_failures, a.lock_minutes,
            peer_free=a.peer_free_failures, peer_cap_s=a.peer_backoff_max_s,
            peer_forget_s=a.peer_forget_minutes * 60, alert=self.raise_alert,
        )
        self.pairing = auth.PairingLimits(
            a.pair_requests_per_peer_minute, a.pair_requests_per_minute, a.pair_max_pending
        )
        self.registry = Registry()
        self.sessions: set[Session] = set()
        self.web_root = config.server.web_root or (WEB_ROOT if WEB_ROOT.is_dir() else None)
        self.server = None
        self.listening = trio.Event()
        self.port: int | None = None
        self.devices = DeviceManager(config.devices, self.emit)
        self.sims: SimSet | None = None
        self.tasks: list[tuple[str, Callable[..., Awaitable[Any]]]] = []
        if self.safe_mode:  # session and system methods only: see refuse_in_safe_mode
            api.system.register(self.registry, self)
        else:
            self._build_services()
            self._register_methods()
        self._metrics_gauges()

    def _build_services(self) -> None:
        """Every service, each given what it uses, in the order they depend on each other;
        then the background tasks they own, started in run()'s nursery in this order."""
        cfg, store, publish, devices = self.config, self.store, self.emit, self.devices
        till = cfg.till
        # the [sale] and [members] the services share: the file's, with head office's central
        # settings laid over them (gatewayd/replication/central.py); laid again as they change
        self.central = CentralSettings(store, cfg.sale, cfg.members)
        self.central.load()
        sale_cfg, members_cfg = self.central.sale, self.central.members
        self.sims = SimSet(cfg.data_dir) if self.demo else None
        self.catalog = Catalog(store, compile_scale_layouts(cfg.sale.scale_layouts))
        self.printing = PrintQueue(store, devices, publish)
        self.shifts = ShiftService(store, till, sale_cfg, publish=publish, devices=devices,
                                   printing=self.printing)
        # master data from head office: applied as it comes, held changes at their time
        self.master = MasterData(store, publish, local_items=cfg.hq.local_items,
                                 changed=self._master_changed)
        # the journal up to head office, once enrolled (DESIGN §8); never in a sale's way.
        # Members and stock ask it online (a stored-value hold, the store's figures).
        self.replicator = Replicator(store, till, cfg.hq, publish, self.master,
                                     foreground=self.foreground)
        self.members = MemberService(store, members_cfg, till.timezone, publish,
                                     cash_taken=self.shifts.cash_taken, hq=self.replicator)
        member_sale = MemberParticipant(self.members)
        self.inventory = InventoryService(store, till.store, till.till, cfg.inventory,
                                          publish=publish, hq=self.replicator)
        # the reports' running totals, after inventory: its stock moves value the lines
        self.running_totals = RunningTotals(store, ZoneInfo(till.timezone))
        # who takes part in a sale: a missing one is an error here, at start-up
        parts = SaleParts(
            participants=(self.shifts, member_sale, self.inventory,
                          self.running_totals),
            policy=SalePolicy(business_day=self.shifts.ensure_day_open,
                              open_guard=self.shifts.ensure_day_open,
                              pay_guard=self.shifts.ensure_shift_open,
                              shift_of=self.shifts.shift_of,
                              qty_guard=self.inventory.check_available,
                              member_pricing=member_sale.pricing),
            tenders={method: member_sale for method in MEMBER_TENDERS},
            required=SALE_PARTICIPANTS)
        sim = cfg.sale.payment_sim
        provider = SimulatedProvider(sim.outcome, sim.polls,
                                     path=cfg.data_dir / "payment-sim.jsonl")
        self.sales = SaleService(store, sale_cfg, till, catalog=self.catalog, provider=provider,
                                 parts=parts, publish=publish, devices=devices,
                                 printing=self.printing,
                                 promotions=load_promotions(cfg.promotions),
                                 session_operator=self._session_operator)
        self.returns = ReturnsService(store, self.sales, publish=publish, devices=devices,
                                      printing=self.printing)
        self.member_checkout = MemberCheckout(self.members, self.sales)
        sales = self.sales
        self.labels = LabelService(self.catalog, devices, publish=publish,
                                   promotions=lambda: sales.promotions,
                                   tz=ZoneInfo(till.timezone))
        # what a scanned code is, in this order; anything else is an item (sale.add)
        self.scan_router = ScanRouter(self.sales, self.bus, publish, routes=(
            self.returns.scan_route, paycode_route(self.sales), self.member_checkout.scan_route))
        self.tasks = [
            ("store.checkpoints", store.checkpoints),  # the WAL, out of the sales' commits
            ("print-queue", self.printing.run),
            ("sales", self.sales.run),
            ("scan-router", self.scan_router.run),
            ("members.daily", self.members.run_daily),
            ("members.registry", self.members.run_registry),
            ("inventory.alerts", self.inventory.run),
            ("replication", self.replicator.run),
            ("master.held", self.master.run),
        ]
        if self.sims is not None:  # the simulators first: the devices open them
            self.tasks.insert(0, ("simulators", self.sims.run))
        # the daily backup and retention
        self.maintenance = Maintenance(store, cfg.backup, cfg.retention,
                                       backup_dir=cfg.backup_dir, archive_dir=cfg.archive_dir,
                                       timezone=till.timezone, publish=publish)
        self.tasks.append(("maintenance", self.maintenance.run))

    def _register_methods(self) -> None:
        """Each protocol method's handler (gatewayd/api/), bound to the services it calls."""
        reg, store, publish, devices = self.registry, self.store, self.emit, self.devices
        api.system.register(reg, self)
        api.devices.register(reg, devices, store)
        api.catalog.register(reg, self.catalog, store, publish, self.master.guard_local)
        api.printing.register(reg, self.printing, devices, store)
        api.sales.register(reg, self.sales, self.master.guard_local, self.central)
        api.alerts.register(reg, store, publish)
        api.shifts.register(reg, self.shifts)
        api.returns.register(reg, self.returns)
        api.members.register(reg, self.members, self.member_checkout)
        api.inventory.register(reg, self.inventory)
        api.labels.register(reg, self.labels)
        api.reports.register(reg, store, ZoneInfo(self.config.till.timezone))
        api.backup.register(reg, self.maintenance)
        if self.sims is not None:
            api.demo.register(reg, self.sims, devices)

    def _master_changed(self, kinds: set[str]) -> None:
        """Head office's changes are in the store: what is read once and kept, read again."""
        if "promo" in kinds:
            self.sales.reload_promotions()
        if kinds & SETTING_KINDS:
            before = (self.central.members.tiers, self.central.members.tier_window_days)
            self.central.load()
            self.sales.settings_changed()
            if (self.central.members.tiers, self.central.members.tier_window_days) != before:
                self.members.rules_changed()  # members re-tiered by the new table

    def _session_operator(self) -> str | None:
        """The operator logged in on a connection to this till, for scans to act for."""
        for session in self.sessions:
            if session.operator is not None and session.role not in (None, "viewer"):
                return session.operator.id
        return None

    def refuse_in_safe_mode(self, method: str) -> None:
        """In safe mode every method but SAFE_MODE_METHODS answers `conflict` with why."""
        if self.safe_mode is not None and method in SPECS and method not in SAFE_MODE_METHODS:
            raise ProtocolError(
                "conflict", f"safe mode, sales are refused: {self.safe_mode}",
                {"safe_mode": True, "reason": self.safe_mode},
            )

    # -- shared helpers -------------------------------------------------------------------
    def emit(self, topic: str, data: dict[str, Any]) -> None:
        self.bus.publish(topic, data)

    def raise_alert(self, kind: str, message: str, details: dict[str, Any]) -> None:
        """An alert the daemon raises itself (a PIN lock, a flood of wrong PINs), published
        as `alerts.raised` like a client's `alert.raise`, so the checkout and the back office
        show it to the manager. What caused it is journaled by the caller (`auth.locked`,
        `auth.flood`)."""
        self.emit("alerts.raised", {
            "id": uuid.uuid4().hex[:12], "kind": kind, "message": message,
            "source": {"client": "gatewayd", "kind": "daemon", "operator": None},
            "details": details,
        })

    def token_role(self, token: str) -> tuple[str, str] | None:
        if self.safe_mode:  # no store to check it against: enough to read why, no more
            return ("safe-mode", "viewer")
        return auth.token_role(self.store, token)

    def required_role(self, spec: MethodSpec) -> str:
        return spec.site_role(self.config.auth.require.get(spec.name))

    def health(self) -> dict[str, Any]:
        devices = {d["id"]: d["state"] for d in self.devices.list()}
        ok = all(state == "online" for state in devices.values())
        failing = self.safe_mode is not None
        if failing:
            store: dict[str, Any] = {"ok": False, "safe_mode": True, "error": self.safe_mode}
        else:
            try:
                seq = self.store.journal_seq()
                store = {"ok": True, "journal_seq": seq, "schema": self.store.schema_version}
                if self.store.write_error:  # a full disk, say: degraded until a write works
                    store, ok = {**store, "ok": False, "error": self.store.write_error}, False
            except Exception as exc:  # a broken store is the one thing worse than a device
                store, ok = {"ok": False, "error": str(exc)}, False
        out = {
            "status": "failing" if failing else "ok" if ok else "degraded",
            "version": self.version,
            "uptime_s": int(time.monotonic() - self.started),
            "store": store,
            "devices": devices,
            "clients": len(self.sessions),
        }
        if not failing:  # safe mode has no store: no backups, no replication
            out.update(self.maintenance.health())
            out["replication"] = self.replicator.status()
            out["member_tenders"] = self.members.authorization_status()
        return out

    def _metrics_gauges(self) -> None:
        m = self.metrics
        m.gauge(
            "gatewayd_connections", "Open client connections.", lambda: [({}, len(self.sessions))]
        )
        m.gauge(
            "gatewayd_events_published",
            "Events published on the bus since start.",
            lambda: [({}, self.bus.published)],
        )
        m.gauge(
            "gatewayd_device_online",
            "1 when the device is online.",
            lambda: [
                ({"device": d["id"]}, 1 if d["state"] == "online" else 0)
                for d in self.devices.list()
            ],
        )
        m.gauge(
            "gatewayd_device_garbage_bytes",
            "Bytes a device sent that its codec rejected.",
            lambda: [
                ({"device": d["id"]}, d["counters"].get("garbage_bytes", 0))
                for d in self.devices.list()
            ],
        )
        m.gauge("gatewayd_journal_seq", "Last journal seq.",
                lambda: [({}, self.store.last_seq)] if self.store else [])
        m.gauge("gatewayd_safe_mode", "1 when the store failed its start-up check.",
                lambda: [({}, 1 if self.safe_mode else 0)])
        if self.safe_mode:  # no store: no replication, reads or backups to report on
            return
        m.gauge("gatewayd_replication_lag_events",
                "Journal events head office has not acknowledged yet.",
                lambda: [({}, self.replicator.status()["lag_events"])])
        m.gauge("gatewayd_replication_lag_seconds",
                "Age of the oldest journal event head office has not acknowledged.",
                lambda: [({}, self.replicator.status()["lag_s"])])
        m.gauge("gatewayd_store_reads_running", "Reads running on the reader threads.",
                lambda: [({}, self.store.readers.running)])
        m.gauge("gatewayd_backup_last_success_seconds",
                "Unix time of the last completed backup (0: none since start).",
                lambda: [({}, self.maintenance.backup_status.last_ok_at or 0)])

    # -- running ----------------------------------------------------------------------------
    def _origins(self) -> list[Origin | None]:
        cfg = self.config.server
        own = [
            f"http://{cfg.listen}",
            f"http://localhost:{cfg.port}",
            f"http://127.0.0.1:{cfg.port}",
        ]
        if self.port and self.port != cfg.port:
            own += [
                f"http://{cfg.host}:{self.port}",
                f"http://localhost:{self.port}",
                f"http://127.0.0.1:{self.port}",
            ]
        # None admits clients that send no Origin (posctl, the Python client): not browsers.
        return [*(Origin(o) for o in dict.fromkeys([*own, *cfg.allowed_origins])), None]

    async def _handle(self, ws) -> None:
        await Session(self, ws).run()

    async def run(self, task_status=trio.TASK_STATUS_IGNORED) -> None:
        cfg = self.config.server
        async with trio.open_nursery() as nursery:
            # Owned tasks first (in the demo, the simulators the devices will open), then
            # the devices themselves.
            for name, fn in self.tasks:
                if _wants_status(fn):
                    await nursery.start(fn, name=name)
                else:
                    nursery.start_soon(fn, name=name)
            await nursery.start(self.devices.run)
            cap = connection_cap(cfg.max_connections)
            try:
                sockets = await trio.open_tcp_listeners(cfg.port, host=cfg.host)
            except OSError as exc:
                raise StartupError(_listen_error(cfg.listen, exc)) from None
            listeners = [
                CappedListener(listener, cap, partial(
                    self.metrics.inc, "gatewayd_connections_refused_total", reason="limit"))
                for listener in sockets
            ]
            self.port = listeners[0].socket.getsockname()[1]
            origins = self._origins()
            self.server = await nursery.start(
                partial(
                    serve,
                    self._handle,
                    listeners=listeners,  # type: ignore[arg-type]  # a Listener is enough
                    subprotocols=[Subprotocol(SUBPROTOCOL)],
                    origins=origins,
                    process_request=make_process_request(self),
                    max_size=cfg.max_frame_bytes,
                    compression=None,
                    ping_interval=20,
                    logger=logging.getLogger("gatewayd.ws"),
                )
            )
            nursery.start_soon(systemd.watchdog)
            nursery.start_soon(self._drop_revoked_tokens)
            nursery.start_soon(self._signals, nursery.cancel_scope)
            self.listening.set()
            if self.safe_mode:
                log.error("SAFE MODE, sales are refused: %s", self.safe_mode)
                self.raise_alert("store_damaged", f"safe mode, sales are refused: "
                                 f"{self.safe_mode}", {"reason": self.safe_mode})
            systemd.notify("READY=1")
            log.info("gatewayd %s listening on %s:%s", self.version, cfg.host, self.port)
            task_status.started(self)

    async def _drop_revoked_tokens(self) -> None:
        """Tokens are revoked by `gatewayd token revoke`, another process writing the store:
        look twice a second whether a connected client's token is among them."""
        while self.store is not None:
            await trio.sleep(REVOKE_POLL_S)
            live = {s.token_id for s in self.sessions if s.token_id is not None}
            if not live:
                continue
            marks = ",".join("?" * len(live))
            revoked = {row["id"] for row in self.store.all(
                f"SELECT id FROM tokens WHERE revoked_at IS NOT NULL AND id IN ({marks})",
                tuple(live),
            )}
            for session in list(self.sessions):
                if session.token_id in revoked:
                    session.revoked.set()

    async def shutdown(self, scope: trio.CancelScope) -> None:
        """Close clients with 1001, let in-flight store writes finish, then stop everything."""
        systemd.notify("STOPPING=1")
        with trio.CancelScope(shield=True), trio.move_on_after(5):
            if self.server is not None:
                await self.server.aclose()
        scope.cancel()

    async def _signals(self, scope: trio.CancelScope) -> None:
        with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
            async for _ in signals:
                log.info("stopping")
                await self.shutdown(scope)
                return

    def close(self) -> None:
        if self.store is not None:
            self.store.close()


class StartupError(Exception):
    """The daemon cannot start for a reason the operator must fix: one line, no traceback."""


def _listen_error(listen: str, exc: OSError) -> str:
    if exc.errno == errno.EADDRINUSE:
        return f"cannot listen on {listen}: the address is in use (another gatewayd?)"
    if exc.errno == errno.EACCES:
        return f"cannot listen on {listen}: permission denied (a port below 1024?)"
    if exc.errno == errno.EADDRNOTAVAIL:
        return f"cannot listen on {listen}: no such address on this machine"
    return f"cannot listen on {listen}: {exc.strerror or exc}"


def _wants_status(fn: Callable[..., Any]) -> bool:
    import inspect

    return "task_status" in inspect.signature(fn).parameters
