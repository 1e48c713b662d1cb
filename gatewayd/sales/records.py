"""The sale as one transaction reads it (`Loaded`), shared by the sale service's modules,
and their error and payment-code helpers."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from protocol.codec import pack, unpack
from protocol.errors import ProtocolError

_EMPTY_LIST = pack([])


def sale_error(error: str, message: str, **details: Any) -> ProtocolError:
    return ProtocolError(error, message, details or None)  # type: ignore[arg-type]


def code_hash(code: str) -> str:
    return hashlib.sha256(code.strip().encode()).hexdigest()


@dataclass
class Loaded:
    """A sale as read inside a transaction."""

    sale: dict[str, Any]
    lines: list[dict[str, Any]]
    tenders: list[dict[str, Any]]
    settlement: Any = None  # tenders.Settlement after _reprice
    stored: tuple[str, int] = field(init=False)  # (state, tender_n) as read

    def __post_init__(self) -> None:
        self.stored = (self.sale["state"], self.sale["tender_n"])

    def changed_columns(self) -> str:
        """The SET clause for the state and tender count, when they changed: an UPDATE that
        names `state` rewrites the sale's entries in the indexes on it (WAL pages)."""
        sets = ""
        if self.sale["state"] != self.stored[0]:
            sets += ", state=:state"
        if self.sale["tender_n"] != self.stored[1]:
            sets += ", tender_n=:tender_n"
        return sets

    @property
    def live_lines(self) -> list[dict[str, Any]]:
        return [ln for ln in self.lines if not ln["voided"]]


def pack_list(items: Any) -> bytes:
    """A line's promotions or explanation as stored (the empty list packed once)."""
    return pack(list(items)) if items else _EMPTY_LIST


def unpack_list(blob: bytes | None) -> list[Any]:
    return unpack(blob) if blob and blob != _EMPTY_LIST else []
