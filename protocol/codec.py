"""The msgpack codec: one map per binary frame, string keys, UTC timestamps as ext -1.

Pure functions over bytes; the server and the clients are thin shells around them.
Floats are refused on the way in: money and quantities are integers (DESIGN §3).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgpack
from pydantic import ValidationError

from protocol.errors import ProtocolError
from protocol.frames import Call, Hello, client_frame


def _default(obj: Any) -> Any:
    if isinstance(obj, dt.datetime):
        if obj.tzinfo is None:
            raise TypeError("naive datetime on the wire; use UTC-aware datetimes")
        return msgpack.Timestamp.from_datetime(obj)
    if hasattr(obj, "model_dump"):
        return obj.model_dump(mode="python", exclude_none=True)
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    raise TypeError(f"cannot encode {type(obj).__name__}")


def pack(obj: Any) -> bytes:
    return msgpack.packb(obj, default=_default, datetime=True, use_bin_type=True)


def unpack(data: bytes) -> Any:
    return msgpack.unpackb(data, raw=False, timestamp=3, strict_map_key=True)


MAX_DEPTH = 32  # maps and arrays inside a frame; a receipt document needs about five


def _refuse_floats_and_depth(obj: Any) -> None:
    """Walk a decoded frame with an explicit stack (never Python recursion, so 400 nested
    maps in a 1.8 KB frame cost a loop, not a RecursionError): too deep, or a float
    anywhere, is `bad_frame`."""
    stack = [(obj, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, float):
            raise ProtocolError(
                "bad_frame", "floats are not accepted; money and quantities are integers"
            )
        if isinstance(item, (dict, list)):
            if depth > MAX_DEPTH:
                raise ProtocolError("bad_frame", f"nested deeper than {MAX_DEPTH} levels")
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)


def decode_client_frame(data: bytes | str) -> Hello | Call:
    """bytes -> a validated client frame, or ProtocolError('bad_frame', ...)."""
    if isinstance(data, str):
        raise ProtocolError("bad_frame", "text frames are not accepted; send binary msgpack")
    try:
        obj = unpack(data)
    except Exception as exc:
        raise ProtocolError("bad_frame", f"not msgpack: {exc.__class__.__name__}") from None
    if not isinstance(obj, dict):
        raise ProtocolError("bad_frame", f"a frame is a msgpack map, got {type(obj).__name__}")
    _refuse_floats_and_depth(obj)
    try:
        return client_frame.validate_python(obj)
    except ValidationError as exc:
        raise ProtocolError("bad_frame", "malformed frame", {"errors": _errors(exc)}) from None


def _errors(exc: ValidationError) -> list[dict[str, str]]:
    return [
        {"field": ".".join(str(p) for p in e["loc"]), "error": e["msg"]}
        for e in exc.errors(include_url=False)
    ]


def validation_details(exc: ValidationError) -> dict[str, Any]:
    return {"errors": _errors(exc)}


def frame_id(data: bytes) -> int | None:
    """Best effort: the id of a call frame that failed validation, so its error can name it."""
    try:
        obj = unpack(data)
    except Exception:
        return None
    if isinstance(obj, dict) and isinstance(obj.get("id"), int) and not isinstance(obj["id"], bool):
        return obj["id"]
    return None
