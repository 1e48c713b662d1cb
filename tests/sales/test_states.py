"""The sale's state table (gatewayd/sales/states.py) against the states the wire carries."""

from __future__ import annotations

from typing import get_args

import pytest

from gatewayd.sales.states import ACTIVE, TRANSITIONS, SaleState, move
from protocol.errors import ProtocolError


def test_the_table_covers_the_wire_states_and_every_one_is_reachable():
    states = set(get_args(SaleState))
    assert states == {"open", "tendering", "completed", "voided", "suspended"}  # DESIGN §4
    assert {s for s, _ in TRANSITIONS} | set(TRANSITIONS.values()) == states
    reached, todo = {"open"}, ["open"]
    while todo:
        here = todo.pop()
        for (frm, _), to in TRANSITIONS.items():
            if frm == here and to not in reached:
                reached.add(to)
                todo.append(to)
    assert reached == states
    # the ends are ends: nothing leaves a completed or voided sale
    assert not [key for key in TRANSITIONS if key[0] in ("completed", "voided")]
    assert set(ACTIVE) == {"open", "tendering"}


def test_move_follows_the_table_and_refuses_the_rest():
    sale = {"state": "open"}
    assert move(sale, "tender") == "tendering" == sale["state"]
    assert move(sale, "complete") == "completed"
    with pytest.raises(ProtocolError) as refused:
        move(sale, "void")
    assert refused.value.code == "conflict" and sale["state"] == "completed"
    assert refused.value.details == {"state": "completed", "action": "void"}
    with pytest.raises(ProtocolError):
        move({"state": "open"}, "complete")  # paid only through a tender
    with pytest.raises(ProtocolError):
        move({"state": "tendering"}, "suspend")  # a sale with tenders is not put aside
