"""`posctl sale add|tender|void|current|refund` and `posctl shift open|close`: the common
flow of a till as an operator (log in first with `posctl login`). The daemon computes every
amount; posctl converts what people type (yuan, pieces, kg) to fen and thousandths and
shows what the daemon answers."""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Callable
from typing import Any

from clients.cli.commands import add_approve, approve_param, command, group
from clients.cli.connection import Session
from clients.cli.failure import EXIT_USAGE, Failure
from clients.cli.output import key_values, local_time, out, table
from clients.cli.units import parse_qty, parse_yuan, qty_text, yuan

TENDER_METHODS = ("cash", "card", "alipay", "wechat", "voucher", "stored_value", "points")


def sale_text(sale: dict[str, Any]) -> str:
    """The sale as the till shows it: its lines, then the totals."""
    head = f"sale {sale.get('receipt_no') or sale.get('id')}  {sale.get('state')}"
    if sale.get("member"):
        head += f"  member {sale['member'].get('code') or sale['member'].get('id')}"
    rows = [
        [line.get("name", ""), qty_text(line["qty"], line.get("unit", "pc")),
         yuan(line.get("unit_price")), yuan(line.get("amount")),
         f"-{yuan(line['discount'])}" if line.get("discount") else "",
         "voided" if line.get("voided") else "", line.get("line_id", "")]
        for line in sale.get("lines") or []
    ]
    parts = [head]
    if rows:
        parts.append(table(["ITEM", "QTY", "PRICE", "AMOUNT", "DISCOUNT", "", "LINE"], rows))
    totals = [("subtotal", yuan(sale.get("subtotal"))), ("discount", yuan(sale.get("discount"))),
              ("rounding", yuan(sale.get("rounding"))), ("total", yuan(sale.get("total")))]
    for tender in sale.get("tenders") or []:
        totals.append((f"paid {tender.get('method')}", yuan(tender.get("amount"))))
    totals += [("due", yuan(sale.get("due"))), ("change", yuan(sale.get("change")))]
    parts.append(key_values(totals))
    return "\n".join(parts)


def _amount(text: str | None) -> int | None:
    try:
        return parse_yuan(text) if text is not None else None
    except ValueError as exc:
        raise Failure(EXIT_USAGE, str(exc)) from None


def _qty(text: str | None) -> int | None:
    try:
        return parse_qty(text) if text is not None else None
    except ValueError as exc:
        raise Failure(EXIT_USAGE, str(exc)) from None


def calling(method: str, params: Callable[[argparse.Namespace], dict[str, Any]],
            show: Callable[[dict[str, Any]], str] = sale_text):
    """A command that makes one call as the logged-in operator and shows its result."""
    def run(args: argparse.Namespace) -> Any:
        s = Session(args)
        p = {k: v for k, v in params(args).items() if v is not None}
        p.update(approve_param(args))

        async def body(gw):
            result = await s.call(gw, method, p)
            if args.json:
                await s.show(gw, result)
            else:
                out(show(await s.local(gw, result)))

        return s.run(body)

    return run


def _add_params(args: argparse.Namespace) -> dict[str, Any]:
    if sum(x is not None for x in (args.code, args.sku, args.plu)) != 1:
        raise Failure(EXIT_USAGE, "give a BARCODE, or --sku SKU, or --plu PLU")
    return {"barcode": args.code, "sku": args.sku, "plu": args.plu, "qty": _qty(args.qty)}


def _refund_params(args: argparse.Namespace) -> dict[str, Any]:
    lines = []
    for spec in args.line or []:
        line_id, sep, qty = spec.partition(":")
        if not sep or not line_id:
            raise Failure(EXIT_USAGE, f"--line wants LINE_ID:QTY, got {spec!r}")
        lines.append({"line_id": line_id, "qty": _qty(qty)})
    return {"receipt_no": args.receipt_no, "lines": lines or None,
            "exchange": args.exchange or None}


def shift_text(shift: dict[str, Any]) -> str:
    rows = [("shift", str(shift.get("id"))), ("state", str(shift.get("state"))),
            ("operator", str(shift.get("operator"))),
            ("business day", str(shift.get("business_day")))]
    for key in ("opened_at", "closed_at"):
        if isinstance(shift.get(key), dt.datetime):
            rows.append((key.replace("_at", ""), local_time(shift[key], None)))
    for key in ("float", "counted", "expected", "variance"):
        if shift.get(key) is not None:
            rows.append((key, yuan(shift[key])))
    return key_values(rows)


def register(sub: Any) -> None:
    sale = group(sub, "sale", help="the open sale, as the logged-in operator",
                 examples=["posctl login 1001", "posctl sale add 6901028068123",
                           "posctl sale tender cash 20", "posctl sale current"])

    a = command(sale, "add", help="add an item by barcode, SKU or PLU",
                examples=["posctl sale add 6901028068123", "posctl sale add 6901028068123 "
                          "--qty 3", "posctl sale add --plu 1001 --qty 1.235"])
    a.add_argument("code", nargs="?", metavar="BARCODE")
    a.add_argument("--sku")
    a.add_argument("--plu")
    a.add_argument("--qty", help="pieces, or kg for weighed items (1.235); default 1, "
                   "or the scale's weight")
    a.set_defaults(fn=calling("sale.add", _add_params))

    t = command(sale, "tender", help="take a payment; the sale completes when nothing is due",
                description="Take a payment of METHOD. AMOUNT is in yuan (cash: what the "
                "customer hands over; default what is due, after 抹零 rounding).",
                examples=["posctl sale tender cash 20", "posctl sale tender card",
                          "posctl sale tender alipay --code 284912345678901234"])
    t.add_argument("method", choices=TENDER_METHODS)
    t.add_argument("amount", nargs="?", metavar="AMOUNT", help="yuan, e.g. 20 or 12.50")
    t.add_argument("--code", help="payment code, voucher or coupon code")
    t.add_argument("--ref", help="a reference to keep with the tender")
    t.set_defaults(fn=calling("sale.tender", lambda a: {
        "method": a.method, "amount": _amount(a.amount), "code": a.code, "ref": a.ref}))

    v = command(sale, "void", help="void the whole open sale (needs a manager)",
                examples=["posctl sale void --reason 'customer left' --approve 9001:9999"])
    v.add_argument("--reason", required=True)
    add_approve(v)
    v.set_defaults(fn=calling("sale.void", lambda a: {"reason": a.reason}))

    command(sale, "current", help="the open sale, or an empty one",
            examples=["posctl sale current", "posctl sale current --json | jq .total"],
            ).set_defaults(fn=calling("sale.current", lambda a: {}))

    r = command(sale, "refund", help="refund a completed sale, whole or some lines",
                examples=["posctl sale refund S001-T01-20260512-0007",
                          "posctl sale refund S001-T01-20260512-0007 --line 5e1a…:1"])
    r.add_argument("receipt_no", metavar="RECEIPT_NO")
    r.add_argument("--line", action="append", metavar="LINE_ID:QTY",
                   help="refund only this much of a line (repeatable)")
    r.add_argument("--exchange", action="store_true",
                   help="give the credit as a voucher for an exchange")
    add_approve(r)
    r.set_defaults(fn=calling("sale.refund", _refund_params))

    shift = group(sub, "shift", help="open and close the till's shift",
                  examples=["posctl shift open 500", "posctl shift close 947.00"])
    o = command(shift, "open", help="open the shift with a cash float (yuan)",
                examples=["posctl shift open 500"])
    o.add_argument("float", metavar="FLOAT")
    o.set_defaults(fn=calling("shift.open", lambda a: {"float": _amount(a.float)}, shift_text))
    c = command(shift, "close", help="blind close: the counted cash (yuan); shows the variance",
                examples=["posctl shift close 947.00"])
    c.add_argument("counted", metavar="COUNTED")
    c.set_defaults(fn=calling("shift.close", lambda a: {"counted": _amount(a.counted)},
                              shift_text))
