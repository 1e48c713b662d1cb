"""Pure member rules: no I/O, no clock (the caller passes `now`).

    mask_phone("13812345678") -> "138****5678"
    code_kind(code, qr_prefix) -> ("qr", token) | ("phone", phone) | ("card", card)
    tier_for(spend, tiers) -> Tier                  the highest tier whose min_spend <= spend
    points_for(base_fen, points_per_yuan, multiplier_bp) -> int
        floor(base_fen / 100 * points_per_yuan * multiplier_bp / 10000): whole points only
    points_base(lines, excluded_categories, total, points_tender) -> int
        fen that earn points: the nets of lines outside the excluded categories, less what
        was paid with points (points do not earn points), never below 0
    topup_bonus(amount, rules) -> int               the largest rule with min <= amount
    birthday_month(birthday) -> int | None          from "YYYY-MM-DD" or "MM-DD"
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from gatewayd.members.config import Tier, TopupBonus

PHONE = re.compile(r"1\d{10}")
BIRTHDAY = re.compile(r"(?:(\d{4})-)?(\d{2})-(\d{2})")


def mask_phone(phone: str | None) -> str | None:
    """138****5678: the first three and last four digits; anything else keeps only its
    last four characters visible."""
    if phone is None:
        return None
    p = phone.strip()
    if len(p) >= 11:
        return p[:3] + "*" * (len(p) - 7) + p[-4:]
    if len(p) > 4:
        return "*" * (len(p) - 4) + p[-4:]
    return "*" * len(p)


def normalize_phone(phone: str) -> str:
    """Strip spaces, dashes and a +86 / 0086 prefix; must then be a mainland mobile number."""
    p = re.sub(r"[\s\-]", "", phone)
    for prefix in ("+86", "0086"):
        if p.startswith(prefix):
            p = p[len(prefix):]
    if not PHONE.fullmatch(p):
        raise ValueError(f"{mask_phone(p)!s} is not an 11-digit mobile number starting with 1")
    return p


def check_birthday(birthday: str) -> str:
    m = BIRTHDAY.fullmatch(birthday.strip())
    if not m:
        raise ValueError("birthday must be YYYY-MM-DD or MM-DD")
    year, month, day = m.group(1), int(m.group(2)), int(m.group(3))
    if not 1 <= month <= 12 or not 1 <= day <= 31:
        raise ValueError("birthday has no such month or day")
    if year is not None and not 1900 <= int(year) <= 2100:
        raise ValueError("birthday year out of range")
    return birthday.strip()


def birthday_month(birthday: str | None) -> int | None:
    if not birthday:
        return None
    m = BIRTHDAY.fullmatch(birthday)
    return int(m.group(2)) if m else None


def code_kind(code: str, qr_prefix: str) -> tuple[str, str]:
    c = code.strip()
    if c.startswith(qr_prefix):
        return "qr", c[len(qr_prefix):]
    digits = re.sub(r"[\s\-]", "", c)
    if PHONE.fullmatch(digits) or (digits.startswith("+86") and PHONE.fullmatch(digits[3:])):
        return "phone", normalize_phone(digits)
    return "card", c


def tier_for(spend: int, tiers: Sequence[Tier]) -> Tier:
    best = tiers[0]
    for t in tiers:
        if spend >= t.min_spend:
            best = t
    return best


def points_for(base_fen: int, points_per_yuan: int, multiplier_bp: int) -> int:
    if base_fen <= 0:
        return 0
    return base_fen * points_per_yuan * multiplier_bp // (100 * 10_000)


def points_base(
    lines: Iterable[Mapping[str, Any]],
    excluded_categories: Iterable[str],
    points_tender: int = 0,
) -> int:
    """Fen of the sale that earn points. `lines` carry `net` (or `gross`), `category`,
    `voided`; the points-tender amount is taken off (it does not earn)."""
    excluded = set(excluded_categories)
    base = 0
    for line in lines:
        if line.get("voided"):
            continue
        if line.get("category") in excluded:
            continue
        base += int(line.get("gross", line.get("net", 0)) or 0)
    return max(0, base - max(0, points_tender))


def topup_bonus(amount: int, rules: Sequence[TopupBonus]) -> int:
    best = 0
    best_min = -1
    for r in rules:
        if amount >= r.min and r.min > best_min:
            best, best_min = r.bonus, r.min
    return best


def spread(total: int, weights: Sequence[int]) -> list[int]:
    """Split `total` over `weights` proportionally (floor, then largest remainders)."""
    s = sum(weights)
    if s <= 0 or total == 0:
        return [0] * len(weights)
    shares = [total * w // s for w in weights]
    rest = total - sum(shares)
    order = sorted(range(len(weights)), key=lambda i: (-(total * weights[i] % s), i))
    for i in order[:rest]:
        shares[i] += 1
    return shares
