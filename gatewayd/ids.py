"""Row ids: UUIDs whose first 48 bits are the time in milliseconds (RFC 9562, version 7).

Ids born one after another sort one after another, so a store's id indexes (sales, lines,
tenders, print jobs, shifts, members' entries; head office's copies of them) grow at their
right edge, as rowids do: a sale's inserts touch the few index pages already in cache. With
uuid4 every insert lands on a random page of each index, and after three years of sales
those pages are mostly not in memory.
"""

from __future__ import annotations

import os
import time
import uuid

_VERSION = 0x7 << 76
_VARIANT = 0b10 << 62


def new_id() -> str:
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")  # 80 bits: 12 for rand_a, 62 for rand_b
    rand_a, rand_b = (rand >> 62) & 0xFFF, rand & ((1 << 62) - 1)
    return str(uuid.UUID(int=(ms & ((1 << 48) - 1)) << 80 | _VERSION | rand_a << 64
                         | _VARIANT | rand_b))
