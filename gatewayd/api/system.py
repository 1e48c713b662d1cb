"""Handlers of the session, system, auth and pairing methods."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Protocol

from gatewayd import auth
from gatewayd.bus import matches
from protocol.methods import (
    LoginParams,
    NoParams,
    OperatorListParams,
    PairRequestParams,
    PairStatusParams,
    ResumeParams,
    SubscribeParams,
    UnsubscribeParams,
)
from protocol.roles import ROLES
from protocol.version import PROTOCOL_VERSION

if TYPE_CHECKING:
    from gatewayd.auth import Auth, PairingLimits
    from gatewayd.bus import Bus
    from gatewayd.config import Config
    from gatewayd.server.registry import CallContext, Registry
    from gatewayd.store.db import Store
    from protocol.methods import MethodSpec


class Daemon(Protocol):
    """What the system methods describe and use of the daemon they run in (gatewayd.app.App):
    its identity, its bus, its operators' sign-in and pairing, its health and its methods."""

    config: Config
    version: str
    started: float
    demo: bool
    bus: Bus
    store: Store  # None in safe mode (App.safe_mode)
    auth: Auth
    pairing: PairingLimits
    registry: Registry

    def health(self) -> dict[str, Any]: ...

    def required_role(self, spec: MethodSpec) -> str: ...


def register_session(registry: Registry, bus: Bus) -> None:
    """subscribe / unsubscribe: a connection's topics, with replay from the bus (a till's
    and head office's alike)."""

    @registry.method("subscribe")
    async def subscribe(ctx: CallContext, p: SubscribeParams) -> dict[str, Any]:
        session = ctx.session
        since = p.since if p.since is not None else session.pending_since
        session.pending_since = None
        new = set(p.topics) - session.topics
        replayed, gap = 0, False
        if since is not None:
            events, gap = bus.since(since)
            for event in events:
                if matches(new, event.topic) and not matches(session.topics, event.topic):
                    session.outbox.put(event.frame)
                    replayed += 1
        session.topics |= new
        return {
            "topics": sorted(session.topics),
            "seq": bus.seq,
            "replayed": replayed,
            "gap": gap,
        }

    @registry.method("unsubscribe")
    async def unsubscribe(ctx: CallContext, p: UnsubscribeParams) -> dict[str, Any]:
        ctx.session.topics -= set(p.topics)
        return {"topics": sorted(ctx.session.topics)}


class Serves(Protocol):
    """What `system.methods` lists: the methods of a till or of head office."""

    demo: bool
    registry: Registry

    def required_role(self, spec: MethodSpec) -> str: ...


def register_served(registry: Registry, app: Serves) -> None:
    """system.methods: what this process serves, with the role each needs here (the pages
    read it at every connect; a till's and head office's alike)."""

    @registry.method("system.methods")
    async def system_methods(ctx: CallContext, p: NoParams) -> dict[str, Any]:
        served = [
            {"name": spec.name, "role": app.required_role(spec),
             "needs_operator": spec.needs_operator}
            for _, (spec, _handler) in sorted(app.registry.handlers.items())
            if app.demo or not spec.demo_only
        ]
        return {"methods": served, "roles": list(ROLES)}


def register(registry: Registry, app: Daemon) -> None:
    """The session methods and system.methods, then system.*, auth.*, operator.list and
    pair.*."""
    register_session(registry, app.bus)
    register_served(registry, app)

    @registry.method("system.info")
    async def system_info(ctx: CallContext, p: NoParams) -> dict[str, Any]:
        return {
            "name": app.config.till.name,
            "version": app.version,
            "protocol": PROTOCOL_VERSION,
            "till": {"store": app.config.till.store, "till": app.config.till.till},
            "timezone": app.config.till.timezone,
            "seq": app.bus.seq,
            "journal_seq": app.store.last_seq if app.store else None,
            "uptime_s": int(time.monotonic() - app.started),
            "demo": app.demo,
            "role": ctx.session.role,
            "operator": ctx.operator.id if ctx.operator else None,
        }

    @registry.method("system.health")
    async def system_health(ctx: CallContext, p: NoParams) -> dict[str, Any]:
        return app.health()

    def logged_in(session, op: auth.Operator) -> dict[str, Any]:
        session.operator = op
        return {"operator": op.id, "name": op.name, "role": op.role,
                "effective_role": session.role}

    @registry.method("auth.login")
    async def login(ctx: CallContext, p: LoginParams) -> dict[str, Any]:
        op = await app.auth.login(p.operator, p.pin, ctx.session.caller)
        ctx.session.kept = None
        result = logged_in(ctx.session, op)
        if p.keep:
            ctx.session.kept = result["session"] = app.auth.keep(op, ctx.session.token_id)
        return result

    @registry.method("auth.resume")
    async def resume(ctx: CallContext, p: ResumeParams) -> dict[str, Any]:
        op = app.auth.resume(p.session, ctx.session.token_id)
        ctx.session.kept = p.session
        return logged_in(ctx.session, op)

    @registry.method("auth.logout")
    async def logout(ctx: CallContext, p: NoParams) -> dict[str, Any]:
        if ctx.session.kept is not None:
            app.auth.end(ctx.session.kept)
            ctx.session.kept = None
        if ctx.session.operator is not None:
            await app.auth.logout(ctx.session.operator, ctx.session.client_name)
            ctx.session.operator = None
        return {"ok": True}

    @registry.method("operator.list")
    async def operator_list(ctx: CallContext, p: OperatorListParams) -> dict[str, Any]:
        now = time.time()
        return {"operators": [
            {"id": r["id"], "name": r["name"], "role": r["role"], "active": bool(r["active"]),
             "locked": bool(r["locked_until"] and r["locked_until"] > now)}
            for r in auth.list_operators(app.store) if r["active"] or p.include_inactive]}

    @registry.method("pair.request")
    async def pair_request(ctx: CallContext, p: PairRequestParams) -> dict[str, Any]:
        app.pairing.admit(ctx.session.peer)
        name = p.name or ctx.session.client_name
        minutes = app.config.auth.pair_code_minutes
        result, _ = await app.store.write(
            lambda tx: auth.pair_request(
                tx, name, ctx.session.client_kind, minutes, app.pairing.max_pending
            )
        )
        app.bus.publish("alerts.pairing", {"code": result["code"], "name": name})
        return result

    @registry.method("pair.status")
    async def pair_status(ctx: CallContext, p: PairStatusParams) -> dict[str, Any]:
        result, _ = await app.store.write(lambda tx: auth.pair_collect(tx, p.request_id))
        return result

