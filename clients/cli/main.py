"""`posctl`: the hardware diagnostics and scripting CLI of gatewayd.

Built on the trio client (clients/python) and the protocol package only: everything it
does goes through the daemon's WebSocket protocol, like any other client. The one
exception is `posctl probe`, which runs with the daemon stopped and talks to a serial port
itself (drivers are imported lazily, only by that command).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import sys
import types
import typing
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

import trio

DEFAULT_URL = "ws://127.0.0.1:8750/ws"

EXIT_OK = 0
EXIT_ERROR = 1  # the daemon answered an error
EXIT_USAGE = 2
EXIT_CONNECT = 3  # cannot connect
EXIT_AUTH = 4  # unauthenticated / forbidden / approval required
EXIT_DEVICE = 5  # device offline / busy

AUTH_CODES = {"unauthenticated", "forbidden", "approval_required"}
DEVICE_CODES = {"device_offline", "device_busy"}

EPILOG = """\
exit codes:
  0  ok
  1  the daemon answered an error (printed as `code: message`)
  2  usage error
  3  cannot connect to the daemon
  4  unauthenticated, forbidden or approval required (check the token / role)
  5  device offline or busy

environment:
  POSCTL_URL         daemon URL (default ws://127.0.0.1:8750/ws)
  POSCTL_TOKEN       API token (`gatewayd token add NAME --role ROLE` prints one)
  POSCTL_TOKEN_FILE  file holding the token (e.g. the demo's DATA/demo.token)

examples:
  posctl info
  posctl call sale.add barcode=6901234567892 qty=1000
  posctl call drawer.open approve.operator=9001 approve.pin=9999
  posctl call display.show 'lines=["欢迎光临","Welcome"]'
  posctl watch sale devices
"""


class Failure(Exception):
    """Ends the command with an exit code and a message on stderr."""

    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.exit_code = code
        self.message = message


# -- output helpers ---------------------------------------------------------------------------
def _out(text: str = "", end: str = "\n") -> None:
    sys.stdout.write(text + end)
    sys.stdout.flush()


def _err(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (bytes, bytearray)):
        try:
            return bytes(obj).decode("ascii")
        except UnicodeDecodeError:
            return bytes(obj).hex(" ")
    if isinstance(obj, dt.datetime):
        return obj.isoformat()
    if isinstance(obj, float | int | str | bool) or obj is None:
        return obj
    return str(obj)


def dumps(obj: Any, *, pretty: bool = False) -> str:
    if pretty:
        return json.dumps(_jsonable(obj), ensure_ascii=False, indent=2)
    return json.dumps(_jsonable(obj), ensure_ascii=False, separators=(",", ":"))


def text_width(text: str) -> int:
    """Terminal columns: East Asian wide/fullwidth characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def pad(text: str, width: int) -> str:
    return text + " " * max(0, width - text_width(text))


def table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [text_width(h) for h in headers]
    for row in rows:
        widths = [max(w, text_width(c)) for w, c in zip(widths, row, strict=True)]
    lines = ["  ".join(pad(c, w) for c, w in zip(r, widths, strict=True)).rstrip()
             for r in [headers, *rows]]
    return "\n".join(lines)


def clock() -> str:
    now = dt.datetime.now()
    return now.strftime("%H:%M:%S.") + f"{now.microsecond // 1000:03d}"


# -- key=value params -------------------------------------------------------------------------
def _unwrap(annotation: Any) -> list[Any]:
    """The concrete types an annotation admits (Optional/Union/Annotated unwrapped)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin is typing.Union or origin is types.UnionType:
        out: list[Any] = []
        for arg in typing.get_args(annotation):
            out += _unwrap(arg)
        return out
    return [annotation]


def _field_types(model: Any, path: list[str]) -> list[Any] | None:
    """Types of the params field at `path` in a pydantic model, or None when unknown."""
    from pydantic import BaseModel

    current: Any = model
    types_: list[Any] | None = None
    for key in path:
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        field = current.model_fields.get(key)
        if field is None:
            return None
        types_ = [t for t in _unwrap(field.annotation) if t is not type(None)]
        models = [t for t in types_ if isinstance(t, type) and issubclass(t, BaseModel)]
        current = models[0] if models else None
    return types_


def _wants_string(types_: list[Any] | None) -> bool:
    if not types_:
        return False
    for t in types_:
        if t is str:
            continue
        if typing.get_origin(t) is typing.Literal and all(
            isinstance(a, str) for a in typing.get_args(t)
        ):
            continue
        return False
    return True


def parse_value(raw: str, types_: list[Any] | None = None) -> Any:
    """JSON when it parses (`1000` int, `true`, `'["a"]'` a list), else the string itself.
    A field the method's params model declares as a string keeps the raw text, so
    `approve.operator=9001` sends "9001"."""
    if _wants_string(types_):
        return raw
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def params_model(method: str) -> Any:
    """The method's params model from the local catalogue; for a method this posctl does not
    know (a newer daemon), the base model, which still knows `approve`."""
    try:
        from protocol.methods import SPECS, Params
    except ImportError:  # pragma: no cover - protocol ships with the client
        return None
    spec = SPECS.get(method)
    return spec.params if spec else Params


def parse_params(pairs: list[str], method: str | None = None) -> dict[str, Any]:
    """`key=value` words -> a params map; `a.b=1` nests; `key:=JSON` always parses JSON."""
    model = params_model(method) if method else None
    params: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        force_json = key.endswith(":")
        key = key.rstrip(":")
        if not sep or not key:
            raise Failure(EXIT_USAGE, f"expected key=value, got {pair!r}")
        path = key.split(".")
        if any(not part for part in path):
            raise Failure(EXIT_USAGE, f"bad key {key!r}")
        if force_json:
            try:
                value = json.loads(raw)
            except ValueError as exc:
                raise Failure(EXIT_USAGE, f"{key}:= needs JSON: {exc}") from None
        else:
            value = parse_value(raw, _field_types(model, path) if model else None)
        node = params
        for part in path[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise Failure(EXIT_USAGE, f"{part} is both a value and a map")
            node = child
        node[path[-1]] = value
    return params


# -- connecting ---------------------------------------------------------------------------------
def resolve_token(args: argparse.Namespace) -> str:
    if args.token:
        return args.token
    file = args.token_file or os.environ.get("POSCTL_TOKEN_FILE")
    if args.token_file is None and os.environ.get("POSCTL_TOKEN"):
        return os.environ["POSCTL_TOKEN"]
    if file:
        try:
            return Path(file).read_text().strip()
        except OSError as exc:
            raise Failure(EXIT_USAGE, f"cannot read token file {file}: {exc.strerror}") from None
    return ""


def _leaves(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        out: list[BaseException] = []
        for sub in exc.exceptions:
            out += _leaves(sub)
        return out
    return [exc]


def classify(exc: BaseException) -> Failure | None:
    """Map what the client library raised to an exit code; None: not ours."""
    from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

    from clients.python.client import ConnectionLost, GatewayError

    for leaf in _leaves(exc):
        if isinstance(leaf, Failure):
            return leaf
        if isinstance(leaf, GatewayError):
            if leaf.code in AUTH_CODES:
                code = EXIT_AUTH
            elif leaf.code in DEVICE_CODES:
                code = EXIT_DEVICE
            else:
                code = EXIT_ERROR
            message = f"{leaf.code}: {leaf.message}"
            if leaf.code == "approval_required" and leaf.details:
                message += (
                    f" (action {leaf.details.get('action')}, role {leaf.details.get('role')};"
                    " retry with approve.operator=ID approve.pin=PIN)"
                )
            elif leaf.details:
                for err in leaf.details.get("errors") or []:
                    if isinstance(err, dict):
                        message += f"\n  {err.get('field')}: {err.get('error')}"
                rest = {k: v for k, v in leaf.details.items() if k != "errors"}
                if rest:
                    message += f"\n  {dumps(rest)}"
            return Failure(code, message)
        if isinstance(leaf, InvalidURI):
            return Failure(EXIT_USAGE, f"bad --url: {leaf}")
        if isinstance(leaf, trio.TooSlowError):
            return Failure(EXIT_CONNECT, "timed out waiting for the daemon")
        if isinstance(leaf, (OSError, InvalidHandshake)):
            return Failure(EXIT_CONNECT, f"cannot connect: {leaf}")
        if isinstance(leaf, (ConnectionClosed, ConnectionLost)):
            return Failure(EXIT_CONNECT, f"connection lost: {leaf}")
    return None


class Session:
    """One connection for one command, with the global options at hand."""

    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.url = args.url
        self.token = resolve_token(args)

    async def run(self, body: Callable[[Any], Any]) -> int:
        from clients.python.client import connect

        # The timeout bounds connecting and the hello; once welcomed the command runs freely.
        with trio.CancelScope(deadline=trio.current_time() + self.args.timeout) as scope:
            async with connect(
                self.url, self.token, name="posctl", kind="cli", reconnect=False
            ) as client:
                scope.deadline = math.inf
                result = await body(client)
                return EXIT_OK if result is None else result
        raise Failure(EXIT_CONNECT, f"cannot connect: no answer within {self.args.timeout:g} s")

    async def call(self, client: Any, method: str, params: dict[str, Any] | None = None) -> Any:
        with trio.fail_after(self.args.timeout):
            return await client.call(method, params or {})


# -- commands ------------------------------------------------------------------------------------
def cmd_info(args: argparse.Namespace) -> Any:
    s = Session(args)

    async def body(gw):
        info = await s.call(gw, "system.info")
        health = await s.call(gw, "system.health")
        if args.json:
            _out(dumps({"info": info, "health": health, "role": gw.welcome.get("role")}))
            return
        till = info.get("till") or {}
        rows = [
            ("daemon", f"{info.get('name')} {info.get('version')}"),
            ("protocol", str(info.get("protocol"))),
            ("url", s.url),
            ("till", f"{till.get('store')}/{till.get('till')}"),
            ("role", str(gw.welcome.get("role"))),
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
        width = max(len(k) for k, _ in rows)
        for key, value in rows:
            _out(f"{key.ljust(width)}  {value}")

    return s.run(body)


def cmd_call(args: argparse.Namespace) -> Any:
    s = Session(args)
    params = parse_params(args.params, args.method)

    async def body(gw):
        result = await s.call(gw, args.method, params)
        _out(dumps(result) if args.json else dumps(result, pretty=True))

    return s.run(body)


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
            _err(f"{event.get('code')}: {event.get('message')}")
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
        _out(dumps(event) if args.json else format_event(event, 0 if args.full else 240))
        return True

    async def body(gw):
        if not args.json:
            _err(f"watching {' '.join(topics)} on {s.url} (Ctrl-C to stop)")
        return await _stream(gw, args, topics, show)

    return s.run(body)


# Flags worth showing even when false (a closed drawer, a moving scale, a disabled scanner).
SHOW_FALSE = {"stable", "open", "enabled", "online", "cover_open"}


def _status_text(status: dict[str, Any]) -> str:
    """Compact status: values as key=value, true flags by name, false flags only when they
    matter (SHOW_FALSE), so a printer's dozen error bits do not fill the line."""
    parts = []
    for key, value in status.items():
        if isinstance(value, (dict, list)):
            continue
        if isinstance(value, bool):
            if value:
                parts.append(key)
            elif key in SHOW_FALSE:
                parts.append(f"{key}=no")
            continue
        parts.append(f"{key}={value}")
    return " ".join(parts)


def cmd_devices(args: argparse.Namespace) -> Any:
    s = Session(args)

    async def body(gw):
        result = await s.call(gw, "devices.list")
        devices = result.get("devices", [])
        if args.json:
            _out(dumps(result))
            return
        if not devices:
            _out("no devices configured")
            return
        rows = [
            [
                str(d.get("id", "")),
                str(d.get("kind", "")),
                str(d.get("state", "")),
                _status_text(d.get("status") or {}),
                str(d.get("error") or ""),
            ]
            for d in devices
        ]
        _out(table(["ID", "KIND", "STATE", "STATUS", "ERROR"], rows))
        if any(d.get("state") != "online" for d in devices):
            return EXIT_DEVICE if args.strict else None

    return s.run(body)


def cmd_scan(args: argparse.Namespace) -> Any:
    s = Session(args)

    def show(event):
        if event.get("topic") != "scanner.data":
            return False
        data = event.get("data", {})
        if args.json:
            _out(dumps(data))
        else:
            sym = f"  [{data['symbology']}]" if data.get("symbology") else ""
            _out(f"{clock()}  {data.get('device', '?')}  {data.get('data', '')}{sym}")
        return True

    async def body(gw):
        if not args.json:
            _err("scan something (Ctrl-C to stop)")
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
            _out(dumps(data))
        elif live:
            _out("\r\x1b[K" + format_weight(data), end="")
        else:
            _out(f"{clock()}  {format_weight(data)}")
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
                _err(f"{d['id']}: {d.get('state')} {d.get('error') or ''}".rstrip())
            elif "grams" in status and not args.json:
                line = format_weight({"device": d["id"], **status})
                _out("\r\x1b[K" + line if live else f"{clock()}  {line}", end="" if live else "\n")
        try:
            return await _stream(gw, args, ["scale"], show)
        finally:
            if live:
                _out()

    return s.run(body)


# The receipt document posctl print-test sends. Items follow drivers/printer/receipt.py
# (`item_from_dict`: {"type": "text"|"columns"|"row"|"rule"|"qr"|"barcode"|"feed"|"cut", ...});
# the `printer.print` `receipt` param is the list of them (protocol PrintParams). Switch with
# --lines to the plain-lines form if a printer path does not take documents yet.
RULER = "0123456789" * 5


def test_receipt_items(width: int | None = None) -> list[dict[str, Any]]:
    now = dt.datetime.now().strftime("%Y-%m-%d %H:%M:%S")
    items: list[dict[str, Any]] = [
        {"type": "text", "text": "gatewayd 打印测试", "align": "center", "bold": True,
         "double_width": True},
        {"type": "text", "text": "中文打印测试 Chinese print test", "align": "center"},
        {"type": "text", "text": now, "align": "center"},
        {"type": "rule"},
        {"type": "columns", "left": "可口可乐 330ml", "right": "3.50"},
        {"type": "columns", "left": "红富士苹果 1.235kg × 12.80", "right": "15.81"},
        {"type": "row", "cells": ["商品", "数量", "金额"], "widths": [3, 1, 1]},
        {"type": "rule", "char": "="},
        {"type": "columns", "left": "合计 TOTAL", "right": "19.31", "bold": True},
        {"type": "rule"},
        {"type": "text", "text": "32 columns (58 mm):"},
        {"type": "text", "text": RULER[:32]},
        {"type": "text", "text": "48 columns (80 mm):"},
        {"type": "text", "text": RULER[:48]},
        {"type": "text", "text": "宽字符对齐：一二三四五六七八九十一二三四五六"},
        {"type": "qr", "data": "https://example.com/gatewayd/print-test"},
        {"type": "barcode", "data": "6901234567892", "kind": "EAN13"},
        {"type": "barcode", "data": "GW-TEST-0001", "kind": "CODE128"},
        {"type": "feed", "n": 2},
        {"type": "cut"},
    ]
    return items


def test_lines() -> list[str]:
    return [
        "gatewayd 打印测试",
        "中文打印测试 Chinese print test",
        dt.datetime.now().strftime("%Y-%m-%d %H:%M:%S"),
        "32 columns (58 mm):",
        RULER[:32],
        "48 columns (80 mm):",
        RULER[:48],
        "宽字符对齐：一二三四五六七八九十一二三四五六",
        "可口可乐 330ml            3.50",
    ]


def cmd_print_test(args: argparse.Namespace) -> Any:
    s = Session(args)
    params: dict[str, Any] = {}
    if args.lines:
        params["lines"] = test_lines()
    else:
        params["receipt"] = test_receipt_items()
    if args.device:
        params["device"] = args.device

    async def body(gw):
        result = await s.call(gw, "printer.print", params)
        if args.json:
            _out(dumps(result))
        else:
            job = result.get("job_id") if isinstance(result, dict) else None
            _out(f"test receipt queued{f' as job {job}' if job else ''}")

    return s.run(body)


def _ok_command(method: str, params: dict[str, Any], message: str):
    def run(args: argparse.Namespace) -> Any:
        s = Session(args)
        p = dict(params)
        if getattr(args, "device", None):
            p["device"] = args.device

        async def body(gw):
            result = await s.call(gw, method, p)
            _out(dumps(result) if args.json else message)

        return s.run(body)

    return run


def cmd_drawer(args: argparse.Namespace) -> Any:
    params: dict[str, Any] = {}
    if args.approve:
        operator, _, pin = args.approve.partition(":")
        params["approve"] = {"operator": operator, "pin": pin}
    if args.action == "open":
        return _ok_command("drawer.open", params, "drawer opened")(args)
    s = Session(args)

    async def body(gw):
        p = {**params, "device": args.device} if args.device else params
        result = await s.call(gw, "drawer.status", p)
        if args.json:
            _out(dumps(result))
        else:
            _out(f"{result.get('device')}: {'open' if result.get('open') else 'closed'}")

    return s.run(body)


def cmd_display(args: argparse.Namespace) -> Any:
    lines = [args.line1] + ([args.line2] if args.line2 is not None else [])
    return _ok_command("display.show", {"lines": lines}, "shown")(args)


def cmd_probe(args: argparse.Namespace) -> Any:
    async def body() -> int:
        try:
            from drivers.base import TransportError
            from drivers.probe import probe
        except ImportError as exc:
            raise Failure(EXIT_ERROR, f"probe needs the drivers package: {exc}") from None
        _err(f"probing {args.port} (listening, then asking; nothing is changed on the device)")
        try:
            findings = await probe(args.port)
        except TransportError as exc:
            raise Failure(
                EXIT_CONNECT,
                f"cannot open {args.port}: {exc} (is the daemon still running and holding it?)",
            ) from None
        if args.json:
            _out(dumps([f.as_dict() for f in findings]))
        elif not findings:
            _out(f"{args.port}: nothing answered")
        else:
            for f in findings:
                s = f.settings
                _out(f"{args.port}: {f.kind} ({f.driver or 'unknown driver'}) at "
                     f"{s.baudrate} {s.bytesize}{s.parity}{getattr(s, 'stopbits', 1)}")
                _out(f"  {f.detail}")
                if f.answer:
                    _out(f"  answer: {f.answer[:32].hex(' ')}")
                if f.driver:
                    _out("  config:\n" + "".join(
                        f"    {line}\n" for line in f.config_toml(args.port).splitlines()
                    ).rstrip("\n"))
        known = [f for f in findings if f.driver]
        return EXIT_OK if known else EXIT_DEVICE

    return body()


# -- the parser ------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="posctl",
        description="Diagnose and drive a gatewayd till from the command line.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--url", default=os.environ.get("POSCTL_URL", DEFAULT_URL),
                   help="daemon WebSocket URL (env POSCTL_URL; default %(default)s)")
    p.add_argument("--token", help="API token (env POSCTL_TOKEN)")
    p.add_argument("--token-file", help="read the token from a file (env POSCTL_TOKEN_FILE)")
    p.add_argument("--json", action="store_true", help="machine-readable JSON output")
    p.add_argument("--timeout", type=float, default=10.0,
                   help="seconds to wait for the connection and each call (default 10)")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sub.add_parser("info", help="daemon, till and health").set_defaults(fn=cmd_info)

    c = sub.add_parser(
        "call", help="call any protocol method",
        description="Call METHOD with key=value params. Values are JSON when they parse "
        "(qty=1000 is an int, 'lines=[\"a\"]' a list), else strings; fields the method "
        "declares as strings stay strings. a.b=1 nests; key:=JSON forces JSON.",
    )
    c.add_argument("method")
    c.add_argument("params", nargs="*", metavar="key=value")
    c.set_defaults(fn=cmd_call)

    for name, fn, help_, topics in (
        ("watch", cmd_watch, "print live events (all topics by default)", True),
        ("scan", cmd_scan, "print scans as they come", False),
        ("weigh", cmd_weigh, "live weight from the scale", False),
    ):
        w = sub.add_parser(name, help=help_)
        if topics:
            w.add_argument("topics", nargs="*", metavar="TOPIC",
                           help="topics, e.g. sale devices scale.reading (default *)")
            w.add_argument("--full", action="store_true", help="do not shorten event data")
        w.add_argument("--count", type=int, default=0, help="exit after N events")
        w.set_defaults(fn=fn)

    d = sub.add_parser("devices", help="a table of devices, their state and status")
    d.add_argument("--strict", action="store_true", help="exit 5 when a device is not online")
    d.set_defaults(fn=cmd_devices)

    pt = sub.add_parser("print-test", help="print a test receipt (Chinese, QR, barcode, ruler)")
    pt.add_argument("--device", help="printer id (default: the first printer)")
    pt.add_argument("--lines", action="store_true", help="send plain lines, not a document")
    pt.set_defaults(fn=cmd_print_test)

    dr = sub.add_parser("drawer", help="open the cash drawer, or show its state")
    dr.add_argument("action", choices=["open", "status"])
    dr.add_argument("--device", help="drawer id")
    dr.add_argument("--approve", metavar="OPERATOR:PIN", help="approval by a higher role")
    dr.set_defaults(fn=cmd_drawer)

    ds = sub.add_parser("display", help="show one or two lines on the customer display")
    ds.add_argument("line1")
    ds.add_argument("line2", nargs="?")
    ds.add_argument("--device", help="display id")
    ds.set_defaults(fn=cmd_display)

    pr = sub.add_parser("probe", help="find out what is on a serial port (daemon stopped)")
    pr.add_argument("port", help="e.g. /dev/ttyUSB0 or /dev/pos/scale")
    pr.set_defaults(fn=cmd_probe)
    add_report_parser(sub)
    return p


# -- report NAME (gatewayd/reports.py tables) -----------------------------------------------
def report_cell(value: Any, kind: str) -> str:
    """A report cell as people read it: money in yuan, qty in units, bp as percent."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else ""
    if isinstance(value, int) and kind in ("money", "qty", "bp", "ratio"):
        places = 3 if kind == "qty" else 2
        sign, mag = ("-" if value < 0 else ""), abs(value)
        text = f"{sign}{mag // 10 ** places}.{mag % 10 ** places:0{places}d}"
        return text + ("%" if kind == "bp" else "")
    return str(value)


def cmd_report(args: argparse.Namespace) -> Any:
    from protocol.methods import REPORTS

    method, params = REPORTS[args.name]
    params = {**params, **{k: v for k, v in (("from", args.day_from), ("to", args.day_to))
                           if v}}
    if args.approve:
        operator, _, pin = args.approve.partition(":")
        params["approve"] = {"operator": operator, "pin": pin}
    s = Session(args)

    async def body(gw):
        t = await s.call(gw, method, params)
        if args.json:
            _out(dumps(t))
            return
        cols = t["columns"]
        rows = [[report_cell(r.get(c["key"]), c["type"]) for c in cols] for r in t["rows"]]
        _out(f"{t['title']}  {t['from']} .. {t['to']}  ({t['tz']})")
        _out(table([c["title"] for c in cols], rows))
        types = {c["key"]: c["type"] for c in cols}
        if t.get("totals"):
            _out("totals: " + ", ".join(f"{k} {report_cell(v, types.get(k, 'int'))}"
                                        for k, v in t["totals"].items()))

    return s.run(body)


def add_report_parser(sub: Any) -> None:
    from protocol.methods import REPORTS

    r = sub.add_parser("report", help="a sales, profit or inventory report as a table")
    r.add_argument("name", choices=list(REPORTS))
    r.add_argument("--from", dest="day_from", metavar="YYYY-MM-DD", help="first business day")
    # not --to: it would be an ambiguous abbreviation of the global --token
    r.add_argument("--until", dest="day_to", metavar="YYYY-MM-DD",
                   help="last business day (the report's `to`)")
    r.add_argument("--approve", metavar="OPERATOR:PIN", help="approval by a higher role")
    r.set_defaults(fn=cmd_report)


STREAMING = {"watch", "scan", "weigh"}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2)
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    async def run() -> int:
        return await args.fn(args)

    try:
        return trio.run(run) or EXIT_OK
    except BaseException as exc:
        if any(isinstance(leaf, KeyboardInterrupt) for leaf in _leaves(exc)):
            if args.command in STREAMING:
                return EXIT_OK
            _err("interrupted")
            return 130
        failure = classify(exc)
        if failure is None:
            raise
        _err(failure.message if failure.exit_code == EXIT_ERROR else f"posctl: {failure.message}")
        return failure.exit_code

if __name__ == "__main__":
    sys.exit(main())
