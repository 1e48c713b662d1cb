"""Live streams: `posctl watch` (events), `posctl scan` (scanner data), `posctl weigh` (the
scale). They run until Ctrl-C or --count events."""

from __future__ import annotations

import argparse
import sys
from typing import Any

import trio

from clients.cli.commands import command
from clients.cli.connection import Session
from clients.cli.failure import EXIT_CONNECT, EXIT_ERROR, EXIT_OK, Failure
from clients.cli.output import clock, dumps, err, out


def format_event(event: dict[str, Any], limit: int = 240) -> str:
    data = dumps(event.get("data", {}))
    if limit and len(data) > limit:
        data = data[: limit - 1] + "…"
    return f"{clock()}  {event.get('topic', '?'):<16} #{event.get('seq', '?'):<6} {data}"


async def _stream(gw: Any, args: argparse.Namespace, topics: list[str], on_event) -> int:
    """Subscribe and hand each event to `on_event` until Ctrl-C or --count events."""
    with trio.fail_after(args.timeout):
        await gw.subscribe(topics)
    seen = 0
    async for event in gw.events():
        if event.get("type") == "error":
            err(f"{event.get('code')}: {event.get('message')}")
            continue
        if on_event(event):
            seen += 1
            if args.count and seen >= args.count:
                break
    else:
        raise Failure(EXIT_CONNECT, "connection lost")
    return EXIT_OK


def cmd_watch(args: argparse.Namespace) -> Any:
    s = Session(args)
    topics = args.topics or ["*"]

    def show(event):
        out(dumps(event) if args.json else format_event(event, 0 if args.full else 240))
        return True

    async def body(gw):
        if not args.json:
            err(f"watching {' '.join(topics)} on {s.url} (Ctrl-C to stop)")
        return await _stream(gw, args, topics, show)

    return s.run(body)


def cmd_scan(args: argparse.Namespace) -> Any:
    s = Session(args)

    def show(event):
        if event.get("topic") != "scanner.data":
            return False
        data = event.get("data", {})
        if args.json:
            out(dumps(data))
        else:
            sym = f"  [{data['symbology']}]" if data.get("symbology") else ""
            out(f"{clock()}  {data.get('device', '?')}  {data.get('data', '')}{sym}")
        return True

    async def body(gw):
        if not args.json:
            err("scan something (Ctrl-C to stop)")
        return await _stream(gw, args, ["scanner"], show)

    return s.run(body)


def format_weight(data: dict[str, Any]) -> str:
    grams = data.get("grams", 0) or 0
    flags = []
    if data.get("over"):
        flags.append("OVER")
    elif data.get("under"):
        flags.append("UNDER")
    flags.append("stable" if data.get("stable") else "moving")
    if data.get("zero"):
        flags.append("zero")
    tare = data.get("tare_grams")
    if tare:
        flags.append(f"tare {tare} g")
    sign = "-" if grams < 0 else ""
    kg = f"{sign}{abs(grams) // 1000}.{abs(grams) % 1000:03d} kg"
    return f"{data.get('device', 'scale')}: {kg:>11}  {' '.join(flags)}"


def cmd_weigh(args: argparse.Namespace) -> Any:
    s = Session(args)
    live = sys.stdout.isatty() and not args.json

    def show(event):
        if event.get("topic") != "scale.reading":
            return False
        data = event.get("data", {})
        if args.json:
            out(dumps(data))
        elif live:
            out("\r\x1b[K" + format_weight(data), end="")
        else:
            out(f"{clock()}  {format_weight(data)}")
        return True

    async def body(gw):
        # A scale at rest sends no new readings: start from the current status.
        listing = await s.call(gw, "devices.list")
        scales = [d for d in listing.get("devices", []) if d.get("kind") == "scale"]
        if not scales:
            raise Failure(EXIT_ERROR, "not_found: no scale is configured")
        for d in scales:
            status = d.get("status") or {}
            if d.get("state") != "online":
                err(f"{d['id']}: {d.get('state')} {d.get('error') or ''}".rstrip())
            elif "grams" in status and not args.json:
                line = format_weight({"device": d["id"], **status})
                out("\r\x1b[K" + line if live else f"{clock()}  {line}", end="" if live else "\n")
        try:
            return await _stream(gw, args, ["scale"], show)
        finally:
            if live:
                out()

    return s.run(body)



def register(sub: Any) -> None:
    for name, fn, help_, examples, topics in (
        ("watch", cmd_watch, "print live events (all topics by default)",
         ["posctl watch", "posctl watch sale devices --count 5 --json"], True),
        ("scan", cmd_scan, "print scans as they come",
         ["posctl scan --count 1"], False),
        ("weigh", cmd_weigh, "live weight from the scale",
         ["posctl weigh", "posctl weigh --count 3 --json"], False),
    ):
        w = command(sub, name, help=help_, examples=examples)
        if topics:
            w.add_argument("topics", nargs="*", metavar="TOPIC",
                           help="topics, e.g. sale devices scale.reading (default *)")
            w.add_argument("--full", action="store_true", help="do not shorten event data")
        w.add_argument("--count", type=int, default=0, help="exit after N events")
        w.set_defaults(fn=fn)
