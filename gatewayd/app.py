"""The composition root: one place that shows what the daemon is made of and who owns
which task.

    App.run  (nursery)
      ├─ devices.run      every configured device, each supervised in its own task
      ├─ server           websockets' trio server; one Session task per connection
      ├─ services         background owners (print queue, ...), each started here
      └─ watchdog         systemd WATCHDOG=1
"""

from __future__ import annotations

import logging
import signal
import time
from collections.abc import Awaitable, Callable
from functools import partial
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import trio
from websockets.trio.server import serve

from gatewayd import auth, systemd
from gatewayd.auth import Auth
from gatewayd.bus import Bus
from gatewayd.config import Config
from gatewayd.metrics import Metrics
from gatewayd.server.http import make_process_request
from gatewayd.server.registry import Registry
from gatewayd.server.session import Session
from gatewayd.store.db import Store
from protocol.methods import MethodSpec
from protocol.roles import rank
from protocol.version import SUBPROTOCOL

log = logging.getLogger("gatewayd")
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
        self.store = Store(config.store_path)
        self.bus = Bus(config.server.replay_buffer)
        self.auth = Auth(self.store, config.auth.lock_after_failures, config.auth.lock_minutes)
        self.registry = Registry()
        self.sessions: set[Session] = set()
        self.web_root = config.server.web_root or (WEB_ROOT if WEB_ROOT.is_dir() else None)
        self.server = None
        self.printing = None  # gatewayd.printing.PrintQueue, set by printing.bind
        self.sims = None  # gatewayd.demo.SimSet in the demo
        # Background tasks that services need, started in run()'s nursery: (name, fn).
        self.tasks: list[tuple[str, Callable[..., Awaitable[Any]]]] = []
        self.listening = trio.Event()
        self.port: int | None = None

        from drivers.manager import DeviceManager

        self.devices = DeviceManager(config.devices, self.emit)
        self._bind_services()
        self._metrics_gauges()

    def _bind_services(self) -> None:
        """Build each service (it registers its owned tasks), then bind its protocol methods
        (gatewayd/api/)."""
        from gatewayd import api, inventory, members, printing
        from gatewayd.sales import catalog, returns, shifts
        from gatewayd.sales import service as sale_service

        reg = self.registry
        api.system.register(reg, self)
        api.devices.register(reg, self.devices, self.store)
        api.catalog.register(reg, catalog.bind(self), self.store, self.emit)
        api.printing.register(reg, printing.bind(self), self.devices, self.store)
        api.sales.register(reg, sale_service.bind(self))
        api.alerts.register(reg, self.store, self.emit)
        # after the sale service: business day, shift stamps
        api.shifts.register(reg, shifts.bind(self))
        api.returns.register(reg, returns.bind(self))
        # after the sale service: hooks into it
        self.members, self.member_checkout = members.bind(self)
        api.members.register(reg, self.members, self.member_checkout)
        api.inventory.register(reg, inventory.bind(self))
        api.reports.register(reg, self.store, ZoneInfo(self.config.till.timezone))
        if self.demo:
            from gatewayd import demo

            api.demo.register(reg, demo.bind(self), self.devices)

    # -- shared helpers -------------------------------------------------------------------
    def emit(self, topic: str, data: dict[str, Any]) -> None:
        self.bus.publish(topic, data)

    def token_role(self, token: str) -> tuple[str, str] | None:
        return auth.token_role(self.store, token)

    def required_role(self, spec: MethodSpec) -> str:
        site = self.config.auth.require.get(spec.name)
        return site if site and rank(site) > rank(spec.role) else spec.role

    def health(self) -> dict[str, Any]:
        devices = {d["id"]: d["state"] for d in self.devices.list()}
        ok = all(state == "online" for state in devices.values())
        try:
            seq = self.store.journal_seq()
            store = {"ok": True, "journal_seq": seq, "schema": self.store.schema_version}
        except Exception as exc:  # a broken store is the one thing worse than a broken device
            store, ok = {"ok": False, "error": str(exc)}, False
        return {
            "status": "ok" if ok else "degraded",
            "version": self.version,
            "uptime_s": int(time.monotonic() - self.started),
            "store": store,
            "devices": devices,
            "clients": len(self.sessions),
        }

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
        m.gauge("gatewayd_journal_seq", "Last journal seq.", lambda: [({}, self.store.last_seq)])

    # -- running ----------------------------------------------------------------------------
    def _origins(self) -> list[str | None]:
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
        return [*dict.fromkeys([*own, *cfg.allowed_origins]), None]

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
            listeners = await trio.open_tcp_listeners(cfg.port, host=cfg.host)
            self.port = listeners[0].socket.getsockname()[1]
            origins = self._origins()
            self.server = await nursery.start(
                partial(
                    serve,
                    self._handle,
                    listeners=listeners,
                    subprotocols=[SUBPROTOCOL],
                    origins=origins,
                    process_request=make_process_request(self),
                    max_size=cfg.max_frame_bytes,
                    compression=None,
                    ping_interval=20,
                    logger=logging.getLogger("gatewayd.ws"),
                )
            )
            nursery.start_soon(systemd.watchdog)
            nursery.start_soon(self._signals, nursery.cancel_scope)
            self.listening.set()
            systemd.notify("READY=1")
            log.info("gatewayd %s listening on %s:%s", self.version, cfg.host, self.port)
            task_status.started(self)

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
        self.store.close()


def _wants_status(fn: Callable[..., Any]) -> bool:
    import inspect

    return "task_status" in inspect.signature(fn).parameters
