"""protocol/repl.py without I/O: frames, the transition table, plan_push, the till's cursor
and batching."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol import repl
from protocol.codec import pack
from protocol.repl import Cursor, ReplConnection, ReplProtocolError, Side, State


def ev(seq: int, size: int = 0) -> dict:
    return {"seq": seq, "at": 1_700_000_000_000_000 + seq, "kind": "sale.completed",
            "data": {"sale_id": f"s{seq}", "pad": "x" * size}}


def push(start: int, n: int, epoch: str = "e1") -> repl.Push:
    return repl.Push(epoch=epoch, from_seq=start,
                     events=[repl.JournalRecord(**ev(s)) for s in range(start, start + n)])


HELLO = repl.Hello(store="S001", till="T01", epoch="e1", credential="c", head_seq=9)


def test_a_link_goes_hello_welcome_then_streams_and_both_ends_agree():
    till, hq = ReplConnection(Side.TILL), ReplConnection(Side.HQ)
    assert hq.receive(till.send(HELLO)) == HELLO
    assert till.state is hq.state is State.HELLO_SENT
    assert till.receive(hq.send(repl.Welcome(acked_seq=3))) == repl.Welcome(acked_seq=3)
    assert till.state is hq.state is State.STREAMING
    p = push(4, 2)
    assert hq.receive(till.send(p)) == p
    till.receive(hq.send(repl.Ack(seq=5)))
    till.receive(hq.send(repl.Resend(from_seq=6)))
    till.receive(hq.send(repl.error("unauthenticated", "revoked")))
    assert till.state is hq.state is State.CLOSED


@pytest.mark.parametrize("frames", [
    [push(1, 1)],  # a push before hello
    [HELLO, HELLO],  # hello twice
    [repl.Enroll(code="X", store="S", till="T", epoch="e"), push(1, 1)],
])
def test_frames_out_of_order_are_refused_by_the_receiver(frames):
    till_free = ReplConnection(Side.HQ)
    with pytest.raises(ReplProtocolError) as err:
        for f in frames:
            till_free.receive(repl.encode(f))
    assert err.value.code == "bad_frame"


def test_a_till_may_not_send_hq_frames_nor_hq_till_frames():
    with pytest.raises(ReplProtocolError):
        ReplConnection(Side.HQ).receive(repl.encode(repl.Welcome(acked_seq=0)))
    with pytest.raises(ReplProtocolError):
        ReplConnection(Side.TILL).receive(repl.encode(HELLO))
    with pytest.raises(ReplProtocolError):
        ReplConnection(Side.TILL).send(repl.Ack(seq=1))


@pytest.mark.parametrize("raw, says", [
    (b"\xc1", "not msgpack"),
    (pack([1, 2]), "msgpack map"),
    ("text", "text frames"),
    (pack({"type": "hello", "store": "S"}), "malformed hello"),
    (pack({"type": "nope"}), "malformed"),
    (pack({**HELLO.model_dump(), "head_seq": "9"}), "head_seq"),
    (pack({**HELLO.model_dump(), "head_seq": -1}), "head_seq"),
    (pack({**HELLO.model_dump(), "extra": 1}), "extra"),
])
def test_bad_frames_get_a_clear_bad_frame(raw, says):
    with pytest.raises(ReplProtocolError) as err:
        ReplConnection(Side.HQ).receive(raw)
    assert err.value.code == "bad_frame" and says in err.value.message


def test_check_push_refuses_another_epoch_too_many_events_and_holes():
    repl.check_push(push(1, 3), "e1", 10)
    with pytest.raises(ReplProtocolError, match="epoch e2"):
        repl.check_push(push(1, 3, epoch="e2"), "e1", 10)
    with pytest.raises(ReplProtocolError, match="at most 2"):
        repl.check_push(push(1, 3), "e1", 2)
    holey = repl.Push(epoch="e1", from_seq=1,
                      events=[repl.JournalRecord(**ev(1)), repl.JournalRecord(**ev(3))])
    with pytest.raises(ReplProtocolError, match="not contiguous"):
        repl.check_push(holey, "e1", 10)


def test_plan_push_new_duplicate_overlap_and_gap():
    assert [e.seq for e in repl.plan_push(0, push(1, 3)).new] == [1, 2, 3]
    replay = repl.plan_push(3, push(1, 3))
    assert replay.new == [] and replay.duplicates == 3 and replay.resend_from is None
    overlap = repl.plan_push(2, push(1, 4))
    assert [e.seq for e in overlap.new] == [3, 4] and overlap.duplicates == 2
    gap = repl.plan_push(2, push(5, 2))
    assert gap.new == [] and gap.resend_from == 3


@given(st.lists(st.tuples(st.integers(1, 40), st.integers(1, 8)), max_size=40))
def test_any_order_of_pushes_applies_each_seq_once_and_contiguously(pushes):
    held, applied = 0, []
    for start, n in pushes:
        plan = repl.plan_push(held, push(start, n))
        if plan.resend_from is not None:
            assert start > held + 1 and plan.resend_from == held + 1
            continue
        applied += [e.seq for e in plan.new]
        held = plan.held_after or held
    assert applied == list(range(1, held + 1))


def test_cursor_moves_on_acks_rewinds_on_resend_and_rejects_nonsense():
    c = Cursor(acked=5)
    assert c.sent == 5 and c.in_flight() == 0
    c.on_push(push(6, 4))
    assert c.sent == 9 and c.in_flight() == 4
    assert c.on_ack(7) and c.acked == 7
    assert not c.on_ack(6)  # old ack: nothing moves
    c.on_resend(8)
    assert c.sent == 7
    with pytest.raises(ReplProtocolError):
        c.on_ack(9)  # beyond what was sent since the rewind
    with pytest.raises(ReplProtocolError):
        c.on_resend(7)  # HQ asking again for what it acknowledged


def test_take_push_is_bounded_by_count_and_bytes_but_never_empty():
    events = [ev(s, 1000) for s in range(1, 101)]
    rows = [(e["seq"], e["at"], e["kind"], pack(e["data"])) for e in events]
    p, frame = repl.take_push("e1", rows, 10, 1 << 20)
    assert [e.seq for e in p.events] == list(range(1, 11))
    p, frame = repl.take_push("e1", rows, 100, 5000)
    assert 1 <= len(p.events) < 5 and len(frame) <= 5000
    huge = [(1, 1, "sale.completed", pack(ev(1, 10_000)["data"]))]
    assert len(repl.take_push("e1", huge, 10, 5000)[0].events) == 1
    assert repl.take_push("e1", [], 10, 5000) is None
    # the frame, made without decoding the events, is the push with every event whole
    again = repl.decode(frame, Side.TILL)
    assert again == repl.Push(epoch="e1", from_seq=1,
                              events=[repl.JournalRecord(**e) for e in events[:len(p.events)]])
    assert frame == repl.encode(again)
    # frame_push, what the replicator sends: the same frame, no model per event
    framed = repl.frame_push("e1", rows, 100, 5000)
    assert framed is not None and framed.frame == frame
    assert (framed.from_seq, framed.last_seq, framed.count) == (1, len(p.events), len(p.events))
    ten = repl.frame_push("e1", rows[20:], 10, 1 << 20)
    assert ten is not None and (ten.from_seq, ten.last_seq, ten.count) == (21, 30, 10)
    till = ReplConnection(Side.TILL)
    with pytest.raises(ReplProtocolError):
        till.send_push(ten)  # a push before the link says hello


def test_push_data_is_each_events_data_as_the_till_sent_it():
    events = [ev(s, s) for s in range(1, 21)]
    rows = [(e["seq"], e["at"], e["kind"], pack(e["data"])) for e in events]
    _, frame = repl.take_push("e1", rows, 100, 1 << 20)
    assert repl.push_data(frame) == [r[3] for r in rows]
    # the bytes as they came, not packed again: a longer encoding than msgpack's shortest
    odd = b"\x81\xa7sale_id\xd9\x02s1"  # {"sale_id": "s1"} with "s1" as a str8
    _, frame = repl.take_push("e1", [(1, 1, "sale.completed", odd)], 10, 1 << 20)
    assert repl.decode(frame, Side.TILL).events[0].data == {"sale_id": "s1"}
    assert repl.push_data(frame) == [odd] and pack({"sale_id": "s1"}) != odd
    # a key given twice: the last one, as decoding takes it
    twice = b"".join([b"\x84", *map(pack, ["type", "push", "epoch", "e1", "from_seq", 1,
                                          "events"]), b"\x91\x85",
                      *map(pack, ["seq", 1, "at", 1, "kind", "k", "data", {}, "data", {"a": 1}])])
    assert repl.decode(twice, Side.TILL).events[0].data == {"a": 1}
    assert repl.push_data(twice) == [b"\x81\xa1a\x01"]
    events_twice = b"".join([b"\x85", *map(pack, [
        "type", "push", "epoch", "e1", "from_seq", 1,
        "events", [{"seq": 1, "at": 1, "kind": "k", "data": {"a": 1}}],
        "events", [{"seq": 1, "at": 1, "kind": "k", "data": {"b": 2}}]])])
    assert repl.decode(events_twice, Side.TILL).events[0].data == {"b": 2}
    assert repl.push_data(events_twice) == [pack({"b": 2})]
    for not_a_push in (pack([1]), pack({"events": 1}), pack({"events": [1]}), b"\xc1", b""):
        assert repl.push_data(not_a_push) is None
    # framed otherwise than frame_push does (its kind a str8, its keys in another order, its
    # seq a uint64) after events that are: each event's data all the same
    long_kind = "k" * 40
    rows = [(1, 1, "sale.completed", pack({"a": 1})), (2, 2, long_kind, pack({"b": 2}))]
    mixed = repl.frame_push("e1", rows, 10, 1 << 20)
    assert mixed is not None
    other = b"".join([b"\x84", *map(pack, ["data", {"c": 3}, "kind", "k", "at", 3, "seq"]),
                      b"\xcf" + (3).to_bytes(8, "big")])
    frame = mixed.frame.replace(b"\x92", b"\x93", 1) + other
    assert [e.data for e in repl.decode(frame, Side.TILL).events] == [{"a": 1}, {"b": 2},
                                                                      {"c": 3}]
    assert repl.push_data(mixed.frame) == [r[3] for r in rows]
    assert repl.push_data(frame) == [r[3] for r in rows] + [pack({"c": 3})]
