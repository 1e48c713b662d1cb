"""Session and system: subscriptions, `system.info`, `system.health`."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, StrictBool, StrictInt, StrictStr

from protocol.methods.base import NoParams, Params, Result, method


class SubscribeParams(Params):
    topics: list[StrictStr] = Field(min_length=1)
    since: StrictInt | None = None


class UnsubscribeParams(Params):
    topics: list[StrictStr] = Field(min_length=1)


class SubscribeResult(Result):
    topics: list[StrictStr] = Field(description="every topic the connection now receives")
    seq: StrictInt = Field(description="the daemon's current event seq")
    replayed: StrictInt = Field(description="buffered events sent first")
    gap: StrictBool = Field(description="some events after `since` were gone from the buffer")


class TopicsResult(Result):
    topics: list[StrictStr]


class TillId(Result):
    store: StrictStr
    till: StrictStr


class SystemInfo(Result):
    name: StrictStr
    version: StrictStr
    protocol: StrictInt
    till: TillId
    timezone: StrictStr = Field(description="the store's timezone (IANA name): business days "
                                "and hours, and times shown to people")
    seq: StrictInt = Field(description="the current event seq")
    journal_seq: StrictInt | None = Field(description="nil in safe mode (no store is open)")
    uptime_s: StrictInt
    demo: StrictBool = Field(description="running as `gatewayd demo` (sim.* methods exist)")
    role: StrictStr | None = Field(description="the connection's effective role")
    operator: StrictStr | None = Field(description="the operator logged in, if any")


class StoreHealth(Result):
    ok: StrictBool
    journal_seq: StrictInt | None = Field(default=None, description="absent when not ok")
    schema_: StrictInt | None = Field(default=None, alias="schema",
                                      description="the store's migration version")
    error: StrictStr | None = Field(default=None, description="present when not ok")
    safe_mode: StrictBool | None = Field(
        default=None, description="true when the store failed its start-up check: the daemon "
        "runs without it and refuses sales (docs/security.md)")


class SystemHealth(Result):
    status: Literal["ok", "degraded", "failing"] = Field(
        description="failing: safe mode, the store failed its start-up check (HTTP 503)")
    version: StrictStr
    uptime_s: StrictInt
    store: StoreHealth
    devices: dict[StrictStr, StrictStr] = Field(description="device id -> its state")
    clients: StrictInt = Field(description="open connections")
    replication: dict[StrictStr, Any] | None = Field(
        default=None, description="the link to head office (DESIGN §8): state, acked_seq, "
        "head_seq, lag_events, lag_s, last_contact; absent on a till not enrolled")
    member_tenders: dict[StrictStr, Any] | None = Field(
        default=None, description="who authorizes stored value, points and coupons now: "
        "mode `local` (a till on its own), `hq` (head office, online) or `offline` (head "
        "office unreachable: the policies offline_stored_value, offline_points, "
        "offline_coupons apply)")
    backup: dict[StrictStr, Any] | None = Field(
        default=None, description="the daily backup: state (idle|running), done and total "
        "(pages of the running one), last_ok_at, last_path, last_seq, last_seconds, last_error")
    retention: dict[StrictStr, Any] | None = Field(
        default=None, description="the daily retention run: state (idle|running), "
        "last_run_at, last_archived {sales, journal, print_jobs}, live_mb, free_mb (left "
        "in the file: the vacuum stops after 30 min, the next run goes on), compact (true "
        "when they are a quarter of the file or more: `gatewayd vacuum` gives them back at "
        "once), last_error; while "
        "it runs, progress {phase (journal|print_jobs|sales|vacuum|done), sales, journal, "
        "print_jobs, freed_mb}")


class BackupResult(Result):
    path: StrictStr = Field(description="the backup file (in `[backup] dir`)")
    journal_seq: StrictInt = Field(description="the last journal event the copy holds")
    pages: StrictInt
    seconds: float


class ServedMethod(Result):
    name: StrictStr
    role: StrictStr = Field(description="the lowest role that may call it at this site")
    needs_operator: StrictBool = Field(description="a logged-in operator is needed")


class SystemMethods(Result):
    methods: list[ServedMethod] = Field(description="every method this daemon serves, by name")
    roles: list[StrictStr] = Field(description="the roles, lowest first")


method(
    "subscribe",
    SubscribeParams,
    "viewer",
    "Receive events whose topic's first segment is one of `topics` (`*` for all). With "
    "`since`, first replays buffered events after that seq; `gap` is true when some were "
    "already gone from the buffer.",
    example={
        "params": {"topics": ["sale", "devices"], "since": 41},
        "result": {"topics": ["devices", "sale"], "seq": 57, "replayed": 16, "gap": False},
    },
    result=SubscribeResult,
)
method(
    "unsubscribe",
    UnsubscribeParams,
    "viewer",
    "Stop receiving the named topics.",
    example={"params": {"topics": ["scale"]}, "result": {"topics": ["sale"]}},
    result=TopicsResult,
)
method(
    "system.info",
    NoParams,
    "viewer",
    "Daemon name, version, protocol, till identity, the store's timezone (for showing "
    "times and business days), uptime and current event seq.",
    example={
        "params": {},
        "result": {
            "name": "gatewayd",
            "version": "0.1.0",
            "protocol": 1,
            "till": {"store": "S001", "till": "T01"},
            "timezone": "Asia/Shanghai",
            "seq": 57,
            "uptime_s": 3600,
        },
    },
    result=SystemInfo,
)
method(
    "system.health",
    NoParams,
    "viewer",
    "Overall status (`ok` or `degraded`) with the store and every device's state, and the "
    "daily backup's progress and last outcome (`backup`) and the daily retention run's "
    "(`retention`).",
    example={
        "params": {},
        "result": {"status": "ok", "store": {"ok": True, "journal_seq": 1200}, "devices": {}},
    },
    result=SystemHealth,
)
method(
    "system.backup",
    NoParams,
    "manager",
    "Take a backup now, as the daily one does (`[backup] dir`, rotated to `keep`): a copy "
    "of one read snapshot while the till sells, answered when it is complete. Its progress "
    "is published on topic `backup`: `backup.progress {path, done, total}` (pages, about "
    "once a second), then `backup.done {path, journal_seq, pages, seconds}` or "
    "`backup.failed {path, error}` (and `alerts.backup_failed`); the daily backup publishes "
    "the same. `conflict` while another backup runs.",
    errors=("conflict", "internal"),
    example={"params": {}, "result": {"path": "/var/lib/gatewayd/backups/"
                                      "gatewayd-20261206-040000.db", "journal_seq": 81234,
                                      "pages": 25600, "seconds": 3.2}},
    result=BackupResult,
)
method(
    "system.methods",
    NoParams,
    "viewer",
    "The methods this daemon serves, each with the role it needs at this site (`auth.require` "
    "raises some) and whether it needs a logged-in operator, and the roles lowest first. A "
    "client shows or hides what it offers from this list instead of trying calls; `sim.*` "
    "methods are listed only by `gatewayd demo`.",
    example={
        "params": {},
        "result": {
            "methods": [
                {"name": "sale.add", "role": "cashier", "needs_operator": True},
                {"name": "system.info", "role": "viewer", "needs_operator": False},
            ],
            "roles": ["viewer", "cashier", "supervisor", "manager", "admin"],
        },
    },
    result=SystemMethods,
)
