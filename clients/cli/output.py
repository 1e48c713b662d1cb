"""What posctl prints: JSON for scripts, aligned tables for people (CJK takes two columns),
times in the store's timezone."""

from __future__ import annotations

import datetime as dt
import json
import sys
import unicodedata
from typing import Any


def out(text: str = "", end: str = "\n") -> None:
    sys.stdout.write(text + end)
    sys.stdout.flush()


def err(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
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
        return json.dumps(jsonable(obj), ensure_ascii=False, indent=2)
    return json.dumps(jsonable(obj), ensure_ascii=False, separators=(",", ":"))


def in_timezone(obj: Any, tz: dt.tzinfo | None) -> Any:
    """Every timestamp in `obj` moved to `tz` (the wire carries UTC; DESIGN §3)."""
    if tz is None:
        return obj
    if isinstance(obj, dt.datetime):
        return obj.astimezone(tz)
    if isinstance(obj, dict):
        return {k: in_timezone(v, tz) for k, v in obj.items()}
    if isinstance(obj, list):
        return [in_timezone(v, tz) for v in obj]
    return obj


def local_time(at: dt.datetime, tz: dt.tzinfo | None) -> str:
    """`2026-05-12 14:03:07 +08:00`: the store's wall clock, its offset shown."""
    local = at.astimezone(tz) if tz else at
    offset = local.strftime("%z")
    return local.strftime("%Y-%m-%d %H:%M:%S") + (f" {offset[:3]}:{offset[3:]}" if offset else "")


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


def key_values(rows: list[tuple[str, str]]) -> str:
    width = max(text_width(k) for k, _ in rows)
    return "\n".join(f"{pad(k, width)}  {v}" for k, v in rows)


def clock() -> str:
    now = dt.datetime.now()
    return now.strftime("%H:%M:%S.") + f"{now.microsecond // 1000:03d}"
