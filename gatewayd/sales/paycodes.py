"""Classify a scanned mobile payment code (the customer's 付款码). Pure.

    classify_paycode(code) -> "alipay" | "wechat" | None

Rules (the published code ranges of the two wallets):

* Alipay 付款码: digits only, 16 to 24 long, starting with 25, 26, 27, 28, 29 or 30.
* WeChat Pay 付款码: digits only, exactly 18 long, starting with 10, 11, 12, 13, 14 or 15.

Surrounding whitespace (a scanner's CR/LF suffix) is ignored; anything else that is not an
ASCII digit makes the code unclassified. A product barcode (8/12/13 digits) never matches.
"""

from __future__ import annotations

__all__ = ["ALIPAY", "WECHAT", "classify_paycode", "is_paycode"]

ALIPAY = "alipay"
WECHAT = "wechat"


def classify_paycode(code: str) -> str | None:
    """``"alipay"``, ``"wechat"`` or ``None``."""
    if not isinstance(code, str):
        return None
    code = code.strip()
    if not code.isascii() or not code.isdigit():
        return None
    prefix = int(code[:2]) if len(code) >= 2 else -1
    if 25 <= prefix <= 30 and 16 <= len(code) <= 24:
        return ALIPAY
    if 10 <= prefix <= 15 and len(code) == 18:
        return WECHAT
    return None


def is_paycode(code: str) -> bool:
    return classify_paycode(code) is not None
