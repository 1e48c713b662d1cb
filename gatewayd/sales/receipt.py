"""The receipt document of a completed sale: a list of drivers/printer/receipt.py item dicts
(text/columns/row/rule/qr/barcode/feed/cut), queued with `printing.enqueue`. Pure.

    receipt_document(wire_sale, sale_config, till_config, tz, reprint=0) -> list[dict]

Chinese, with the store name, every line (qty x price, promotions and discounts explained),
subtotal / discount / total, the tax per rate, the tenders, the cash rounding (抹零), the
change, a QR code and a CODE128 barcode of the receipt number (scanned back in refund
mode). A reprint (`reprint` > 0) is headed 重打印 with its count.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from gatewayd.sales.money import format_percent, format_yuan

METHOD_NAMES = {
    "cash": "现金 Cash",
    "card": "银行卡 Card",
    "alipay": "支付宝 Alipay",
    "wechat": "微信支付 WeChat",
    "mobile": "移动支付 Mobile",
    "voucher": "代金券 Voucher",
    "stored_value": "储值卡 Stored value",
    "points": "积分 Points",
}


def _qty(qty: int, unit: str) -> str:
    if unit == "kg":
        return f"{qty / 1000:.3f}kg"  # display only: grams as kg
    return str(qty // 1000) if qty % 1000 == 0 else f"{qty / 1000:g}"


def reprint_mark(count: int) -> dict[str, Any]:
    """The first item of a reprint: 重打印 with its count."""
    return {"type": "text", "text": f"*** 重打印 REPRINT ({count}) ***", "align": "center",
            "bold": True}


def receipt_document(sale: dict[str, Any], cfg: Any, till: Any, tz: tzinfo,
                     reprint: int = 0) -> list[dict[str, Any]]:
    doc: list[dict[str, Any]] = []

    def text(t: str, **kw: Any) -> None:
        doc.append({"type": "text", "text": t, **kw})

    def cols(left: str, right: str, **kw: Any) -> None:
        doc.append({"type": "columns", "left": left, "right": right, **kw})

    def rule(ch: str = "-") -> None:
        doc.append({"type": "rule", "char": ch})

    if reprint:
        doc.append(reprint_mark(reprint))
    text(cfg.store_name, align="center", bold=True, double_width=True)
    for line in cfg.receipt_header:
        text(line, align="center")
    refund = sale.get("kind") == "refund"
    if refund:
        text("退货单 REFUND", align="center", bold=True)
    rule("=")
    text(f"单号 No.: {sale['receipt_no']}")
    at = sale.get("completed_at") or sale.get("opened_at")
    if isinstance(at, datetime):
        text(f"时间 Time: {at.astimezone(tz):%Y-%m-%d %H:%M:%S}")
    text(f"门店 {till.store}  收银台 {till.till}  收银员 {sale.get('operator') or '-'}")
    if sale.get("refund_of"):
        text(f"原单 Original: {sale['refund_of']}")
    rule()
    doc.append({"type": "row", "cells": ["品名 Item", "数量 Qty", "金额 Amt"],
                "widths": [3, 1, 1]})
    count = 0
    for ln in sale["lines"]:
        if ln["voided"]:
            continue
        count += 1
        cols(ln["name"], format_yuan(ln["amount"]))
        unit = "/kg" if ln["unit"] == "kg" else ""
        text(f"  {_qty(ln['qty'], ln['unit'])} x {format_yuan(ln['unit_price'])}{unit}")
        for p in ln.get("promo", []):
            if p["discount"]:
                cols(f"  促销 {p['label']}", f"-{format_yuan(p['discount'])}")
        other = ln["discount"] - sum(p["discount"] for p in ln.get("promo", []))
        if other:
            cols("  折扣 Discount", f"-{format_yuan(other)}")
    rule()
    cols(f"件数 Items: {count}", "")
    cols("小计 Subtotal", format_yuan(sale["subtotal"]))
    if sale["discount"]:
        cols("优惠 Discount", f"-{format_yuan(sale['discount'])}")
    for note in sale.get("explain", []):
        text(f"  {note}")
    cols("合计 Total", format_yuan(sale["total"]), bold=True)
    for t in sale.get("tax", []):
        if t["rate_bp"]:
            cols(f"  税率 {format_percent(t['rate_bp'])} 税额 Tax", format_yuan(t["tax"]))
    if sale.get("tax_mode") == "inclusive" and sale.get("tax_total"):
        text("  (价格含税 prices include tax)")
    rule()
    for t in sale["tenders"]:
        cols(METHOD_NAMES.get(t["method"], t["method"]), format_yuan(t["amount"]))
    if sale["rounding"]:
        cols("抹零 Rounding", f"-{format_yuan(sale['rounding'])}")
    if sale["change"]:
        cols("找零 Change", format_yuan(sale["change"]), bold=True)
    rule()
    for line in sale.get("receipt_extra", []):  # from completion hooks (members: points)
        text(line)
    if sale.get("receipt_extra"):
        rule()
    qr = cfg.receipt_qr.replace("{receipt_no}", sale["receipt_no"] or "")
    doc.append({"type": "qr", "data": qr, "size": 5})
    doc.append({"type": "barcode", "data": sale["receipt_no"] or "", "kind": "CODE128",
                "height": 60, "module": 2, "hri": True})
    for line in cfg.receipt_footer:
        text(line, align="center")
    doc.append({"type": "feed", "n": 3})
    doc.append({"type": "cut"})
    return doc
