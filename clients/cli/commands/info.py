"""`posctl info` (who and what the daemon is), `posctl backup` (one now, with its progress)
and `posctl call` (any protocol method)."""

from __future__ import annotations

import argparse
from typing import Any

import trio

from clients.cli.commands import command
from clients.cli.connection import Session
from clients.cli.output import dumps, err, key_values, out
from clients.cli.params import parse_params


def cmd_info(args: argparse.Namespace) -> Any:
    s = Session(args)

    async def body(gw):
        info = await s.call(gw, "system.info")
        health = await s.call(gw, "system.health")
        role = (s.operator or {}).get("effective_role") or gw.welcome.get("role")
        if args.json:
            out(dumps({"info": info, "health": health, "role": role,
                       "operator": s.operator}))
            return
        till = info.get("till") or {}
        rows = [
            ("daemon", f"{info.get('name')} {info.get('version')}"),
            ("protocol", str(info.get("protocol"))),
            ("url", s.url),
            ("till", f"{till.get('store')}/{till.get('till')}"),
            ("timezone", str(info.get("timezone"))),
            ("role", str(role)),
            ("operator", f"{s.operator['operator']} {s.operator['name']}" if s.operator
             else "none (posctl login)"),
            ("uptime", f"{info.get('uptime_s')} s"),
            ("event seq", str(info.get("seq"))),
            ("health", str(health.get("status"))),
        ]
        store = health.get("store") or {}
        if store.get("ok"):
            rows.append(("store", f"ok, journal seq {store.get('journal_seq')}"))
        elif store:
            rows.append(("store", f"ERROR {store.get('error')}"))
        for dev, state in (health.get("devices") or {}).items():
            rows.append((f"device {dev}", str(state)))
        rep = health.get("replication")
        if rep:  # the link to head office (DESIGN §8)
            line = (f"{rep.get('state')}, acked {rep.get('acked_seq')}/{rep.get('head_seq')}, "
                    f"lag {rep.get('lag_events')} events {rep.get('lag_s')} s")
            rows.append(("head office", line + (f" ({rep['error']})" if rep.get("error") else "")))
        for name, line in (("backup", _backup_line(health.get("backup"))),
                           ("retention", _retention_line(health.get("retention")))):
            if line:
                rows.append((name, line))
        out(key_values(rows))

    return s.run(body)


def _backup_line(b: dict[str, Any] | None) -> str | None:
    if not b:
        return None
    if b.get("state") == "running":
        return f"running, {b.get('done')}/{b.get('total')} pages"
    if b.get("last_error"):
        return f"FAILED {b['last_error']}"
    if b.get("last_ok_at"):
        return f"last {b.get('last_path')} (journal seq {b.get('last_seq')})"
    return "none yet"


def _retention_line(r: dict[str, Any] | None) -> str | None:
    if not r:
        return None
    p = r.get("progress")
    if r.get("state") == "running" and p:  # a store of years: minutes, shown as it goes
        return (f"running: {p['phase']}; archived {p['sales']} sales, {p['journal']} events,"
                f" {p['print_jobs']} print jobs; {p['freed_mb']} MB given back")
    if r.get("last_error"):
        return f"FAILED {r['last_error']}"
    if r.get("last_archived"):
        a = r["last_archived"]
        line = (f"last run archived {a['sales']} sales, {a['journal']} events, "
                f"{a['print_jobs']} print jobs; live store {r.get('live_mb')} MB")
        if r.get("compact"):  # the daemon says when the free pages are worth a rewrite
            line += f", {r.get('free_mb')} MB free (gatewayd vacuum gives it back at once)"
        return line
    return "not run yet"


def cmd_call(args: argparse.Namespace) -> Any:
    s = Session(args)
    params = parse_params(args.params, args.method)

    async def body(gw):
        await s.show(gw, await s.call(gw, args.method, params))

    return s.run(body)


def cmd_backup(args: argparse.Namespace) -> Any:
    """system.backup, its `backup.progress` events shown as they come (a big store takes
    minutes: no call timeout, the progress shows it is alive)."""
    s = Session(args)

    async def body(gw):
        from clients.python.client import GatewayError

        with trio.fail_after(args.timeout):
            await gw.subscribe(["backup"])
        result: Any = None
        failed: GatewayError | None = None

        async def progress() -> None:
            async for event in gw.events():
                data = event.get("data") or {}
                if event.get("topic") == "backup.progress" and data.get("total"):
                    err(f"backup: {data['done']}/{data['total']} pages "
                        f"({100 * data['done'] // data['total']} %)")

        async with trio.open_nursery() as nursery:
            if not args.json:
                nursery.start_soon(progress)
            try:
                result = await gw.call("system.backup")
            except GatewayError as exc:  # raised after the nursery, not in a group
                failed = exc
            nursery.cancel_scope.cancel()
        if failed is not None:
            raise failed
        await s.show(gw, result)

    return s.run(body)


def register(sub: Any) -> None:
    command(sub, "info", help="the daemon, the till, its health and who you are",
            examples=["posctl info", "posctl info --json | jq .health.status"],
            ).set_defaults(fn=cmd_info)
    command(sub, "backup", help="take a backup now, showing its progress (a manager's)",
            description="Take a backup now into the daemon's [backup] dir, as the daily one "
            "(rotated to `keep`), while the till sells. Progress in pages goes to stderr; the "
            "result names the file and the journal seq it holds.",
            examples=["posctl backup", "posctl backup --json | jq -r .path"],
            ).set_defaults(fn=cmd_backup)
    c = command(
        sub, "call", help="call any protocol method (docs/protocol.md lists them)",
        description="Call METHOD with key=value params. Values are JSON when they parse "
        "(qty=1000 is an int, 'lines=[\"a\"]' a list), else strings; fields the method "
        "declares as strings stay strings. a.b=1 nests; key:=JSON forces JSON. Times in "
        "the result are shown in the store's timezone.",
        examples=["posctl call sim.scan data=6901028068123",
                  "posctl call catalog.lookup query=hfsp",
                  "posctl call drawer.open approve.operator=9001 approve.pin=9999",
                  "posctl call display.show 'lines=[\"欢迎光临\",\"Welcome\"]'"],
    )
    c.add_argument("method")
    c.add_argument("params", nargs="*", metavar="key=value")
    c.set_defaults(fn=cmd_call)
