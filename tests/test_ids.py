"""Row ids are RFC 9562 version-7 UUIDs: valid UUIDs, unique, and sorted in birth order
across milliseconds (what keeps a store's id indexes growing at their right edge)."""

from __future__ import annotations

import time
import uuid

from gatewayd.ids import new_id


def test_ids_are_version_7_uuids_with_the_time_in_front():
    before = time.time_ns() // 1_000_000
    ids = [new_id() for _ in range(10_000)]
    after = time.time_ns() // 1_000_000
    assert len(set(ids)) == len(ids)
    for s in ids[:100]:
        u = uuid.UUID(s)
        assert str(u) == s and u.version == 7 and u.variant == uuid.RFC_4122
        assert before <= u.int >> 80 <= after


def test_ids_born_in_later_milliseconds_sort_after():
    born = []
    for _ in range(50):
        born.append(new_id())
        time.sleep(0.002)
    assert sorted(born) == born
