"""The devices: `posctl devices` (a table), `print-test`, `drawer`, `display`, `label print`."""

from __future__ import annotations

import argparse
import datetime as dt
from typing import Any

from clients.cli.commands import add_approve, approve_param, command, group
from clients.cli.connection import Session
from clients.cli.failure import EXIT_DEVICE
from clients.cli.output import dumps, out, table

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
            out(dumps(result))
            return
        if not devices:
            out("no devices configured")
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
        out(table(["ID", "KIND", "STATE", "STATUS", "ERROR"], rows))
        if any(d.get("state") != "online" for d in devices):
            return EXIT_DEVICE if args.strict else None

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
            out(dumps(result))
        else:
            job = result.get("job_id") if isinstance(result, dict) else None
            out(f"test receipt queued{f' as job {job}' if job else ''}")

    return s.run(body)


def _ok_command(method: str, params: dict[str, Any], message: str):
    def run(args: argparse.Namespace) -> Any:
        s = Session(args)
        p = dict(params)
        if getattr(args, "device", None):
            p["device"] = args.device

        async def body(gw):
            result = await s.call(gw, method, p)
            out(dumps(result) if args.json else message)

        return s.run(body)

    return run


def cmd_drawer(args: argparse.Namespace) -> Any:
    params: dict[str, Any] = approve_param(args)
    if args.action == "open":
        return _ok_command("drawer.open", params, "drawer opened")(args)
    s = Session(args)

    async def body(gw):
        p = {**params, "device": args.device} if args.device else params
        result = await s.call(gw, "drawer.status", p)
        if args.json:
            out(dumps(result))
        else:
            out(f"{result.get('device')}: {'open' if result.get('open') else 'closed'}")

    return s.run(body)


def cmd_display(args: argparse.Namespace) -> Any:
    lines = [args.line1] + ([args.line2] if args.line2 is not None else [])
    return _ok_command("display.show", {"lines": lines}, "shown")(args)


def cmd_label_print(args: argparse.Namespace) -> Any:
    s = Session(args)
    params: dict[str, Any] = {"skus": args.skus, "copies": args.copies}
    if args.device:
        params["device"] = args.device

    async def body(gw):
        result = await s.call(gw, "label.print", params)
        if args.json:
            out(dumps(result))
        else:
            n = len(result["skus"])
            out(f"{result['labels']} labels of {n} item{'s' if n != 1 else ''} "
                f"{result['result']} on {result['device']}")

    return s.run(body)


def register(sub: Any) -> None:
    d = command(sub, "devices", help="a table of devices, their state and status",
                examples=["posctl devices", "posctl devices --strict || echo 'a device is down'"])
    d.add_argument("--strict", action="store_true", help="exit 5 when a device is not online")
    d.set_defaults(fn=cmd_devices)

    pt = command(sub, "print-test", help="print a test receipt (Chinese, QR, barcode, ruler)",
                 examples=["posctl print-test", "posctl print-test --device printer --lines"])
    pt.add_argument("--device", help="printer id (default: the first printer)")
    pt.add_argument("--lines", action="store_true", help="send plain lines, not a document")
    pt.set_defaults(fn=cmd_print_test)

    dr = command(sub, "drawer", help="open the cash drawer, or show its state",
                 examples=["posctl drawer status", "posctl drawer open --approve 9001:9999"])
    dr.add_argument("action", choices=["open", "status"])
    dr.add_argument("--device", help="drawer id")
    add_approve(dr)
    dr.set_defaults(fn=cmd_drawer)

    ds = command(sub, "display", help="show one or two lines on the customer display",
                 examples=["posctl display 欢迎光临 Welcome"])
    ds.add_argument("line1")
    ds.add_argument("line2", nargs="?")
    ds.add_argument("--device", help="display id")
    ds.set_defaults(fn=cmd_display)

    lb = group(sub, "label", help="price labels (价签) on the label printer",
               examples=["posctl label print 100003 700001 --copies 2"])
    lp = command(lb, "print", help="print the price labels of items, by sku",
                 examples=["posctl label print 100003 700001 --copies 2",
                           "posctl label print 100003 --device label2 --json"])
    lp.add_argument("skus", nargs="+", metavar="SKU")
    lp.add_argument("--copies", type=int, default=1, help="labels of each item (default 1)")
    lp.add_argument("--device", help="label printer id (default: the first)")
    lp.set_defaults(fn=cmd_label_print)
