"""ESC/POS status codec: DLE EOT replies, ASB frames, garbage, any chunking."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from drivers.printer.status import (
    PrinterStatus,
    StatusDecoder,
    apply_asb,
    apply_eot,
    asb_enable_bytes,
    encode_asb,
    encode_eot,
    request_bytes,
)


def test_request_bytes() -> None:
    assert request_bytes(1) == b"\x10\x04\x01"
    assert request_bytes(4) == b"\x10\x04\x04"
    assert asb_enable_bytes() == b"\x1da\x0f"
    dec = StatusDecoder()
    assert dec.request(2) == b"\x10\x04\x02" and list(dec.pending) == [2]


def test_paper_out_replies_as_in_the_reference() -> None:
    # DLE EOT 1, 2, 4 replies of a printer out of paper: offline, stopped by paper end,
    # roll-end sensor (values as in the ESC/POS reference tables).
    dec = StatusDecoder()
    dec.expect([1, 2, 4])
    reports = dec.feed(b"\x1a\x32\x7e")
    assert [r.source for r in reports] == ["eot1", "eot2", "eot4"]
    s = reports[-1].status
    assert not s.online and s.paper == "empty" and s.not_ready_reason == "paper_empty"
    assert dec.garbage_bytes == 0


def test_each_status_bit() -> None:
    base = PrinterStatus()
    assert apply_eot(base, 1, 0x16).drawer_pin3_high
    assert apply_eot(base, 2, 0x16).cover_open
    assert apply_eot(base, 3, 0x1A).cutter_error and apply_eot(base, 3, 0x1A).error
    assert apply_eot(base, 3, 0x32).unrecoverable_error
    assert apply_eot(base, 4, 0x1E).paper == "near_end"
    assert apply_eot(apply_eot(base, 2, 0x32), 2, 0x12).paper == "ok"
    asb = apply_asb(base, b"\x38\x08\x0f\x00")
    assert asb.cover_open and not asb.online and asb.cutter_error and asb.paper == "empty"
    assert asb.not_ready_reason == "paper_empty"
    assert apply_asb(base, b"\x38\x00\x00\x00").not_ready_reason == "cover_open"
    assert apply_asb(base, b"\x10\x00\x03\x00").not_ready_reason is None


def test_unsolicited_replies_and_broken_frames_are_garbage() -> None:
    dec = StatusDecoder()
    # A DLE EOT reply nobody asked for, a byte with bit 7, a frame cut short by another.
    reports = dec.feed(b"\x12\x80\x10\x00\x10\x00\x03\x00")
    assert [r.source for r in reports] == ["asb"]
    assert reports[0].status.paper == "near_end"
    assert dec.garbage_bytes == 4
    assert dec.feed(b"\x10\x00") == [] and dec.pending_bytes == 2
    dec.expect([1])
    dec.drop_pending()
    # The reply-looking byte breaks the open frame and, unrequested, is garbage too.
    assert dec.feed(b"\x12") == [] and dec.garbage_bytes == 7 and dec.pending_bytes == 0


STATUSES = st.builds(
    PrinterStatus,
    online=st.booleans(),
    paper=st.sampled_from(["ok", "near_end", "empty"]),
    cover_open=st.booleans(),
    drawer_pin3_high=st.booleans(),
    cutter_error=st.booleans(),
    mechanical_error=st.booleans(),
    unrecoverable_error=st.booleans(),
    recoverable_error=st.booleans(),
)


@given(STATUSES)
def test_device_side_encoding_round_trips(s: PrinterStatus) -> None:
    any_error = s.cutter_error or s.mechanical_error or s.unrecoverable_error or s.recoverable_error
    s = PrinterStatus(**{**s.as_dict(), "error": any_error})
    got = apply_asb(PrinterStatus(), encode_asb(s))
    assert got == s
    dec = StatusDecoder()
    dec.expect([1, 2, 3, 4])
    reports = dec.feed(bytes(encode_eot(n, s) for n in (1, 2, 3, 4)))
    assert reports[-1].status == s


def _stream(draw: st.DrawFn) -> tuple[bytes, list[int]]:
    parts: list[bytes] = []
    expect: list[int] = []
    for _ in range(draw(st.integers(0, 12))):
        kind = draw(st.sampled_from(["asb", "eot", "garbage"]))
        s = draw(STATUSES)
        if kind == "asb":
            parts.append(encode_asb(s))
        elif kind == "eot":
            n = draw(st.integers(1, 4))
            expect.append(n)
            parts.append(bytes([encode_eot(n, s)]))
        else:
            parts.append(draw(st.binary(max_size=5)))
    return b"".join(parts), expect


@st.composite
def streams_and_cuts(draw: st.DrawFn) -> tuple[bytes, list[int], list[int]]:
    data, expect = _stream(draw)
    cuts = sorted(draw(st.lists(st.integers(0, len(data)), max_size=10)))
    return data, expect, cuts


def _decode(chunks: list[bytes], expect: list[int]) -> tuple[list[dict], int, int]:
    dec = StatusDecoder()
    dec.expect(expect)
    out: list[dict] = []
    for c in chunks:
        out.extend(r.as_dict() for r in dec.feed(c))
    return out, dec.garbage_bytes, dec.pending_bytes


@given(streams_and_cuts())
def test_any_chunking_decodes_the_same(case: tuple[bytes, list[int], list[int]]) -> None:
    data, expect, cuts = case
    bounds = [0, *cuts, len(data)]
    chunks = [data[a:b] for a, b in itertools.pairwise(bounds)]
    whole = _decode([data], expect)
    assert _decode(chunks, expect) == whole
    assert _decode([bytes([b]) for b in data], expect) == whole
