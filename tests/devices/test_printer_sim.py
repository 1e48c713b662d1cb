"""The ESC/POS printer simulator: parsing under any chunking, status answers, paper out."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.printer.receipt import QR, Barcode, Columns, Cut, DrawerKick, Rule, Text, render
from drivers.printer.status import StatusDecoder
from drivers.sim.printer import EscposPrinterSim

DOC = [
    Text("小票 Receipt", align="center", bold=True, double_width=True),
    Columns("苹果 Apple", "3.00"),
    Rule(),
    QR("q"),
    Barcode("ABC-123"),
    DrawerKick(pin=5),
    Cut(partial=False),
]


def _run(chunks: list[bytes]) -> tuple[dict, bytes]:
    sim = EscposPrinterSim(width=32)
    out = bytearray()
    for c in chunks:
        sim.feed(c)
        out += sim.read_output()
    sim.print_buffered()
    out += sim.read_output()
    return sim.snapshot(), bytes(out)


@st.composite
def jobs(draw: st.DrawFn) -> tuple[bytes, list[int]]:
    parts = []
    for _ in range(draw(st.integers(1, 4))):
        parts.append(draw(st.sampled_from([
            render(DOC, 32),
            b"\x10\x04\x01",
            b"\x1da\x0f",
            b"\x10\x04\x04",
            render([Text("中文测试 GB18030"), Cut()], 32),
            b"\x1b\x99\x07",  # unknown command + a BEL: garbage
        ])))
    data = b"".join(parts)
    cuts = sorted(draw(st.lists(st.integers(0, len(data)), max_size=12)))
    return data, cuts


@settings(max_examples=150, deadline=None)
@given(jobs())
def test_any_chunking_gives_the_same_receipts_and_answers(case: tuple[bytes, list[int]]) -> None:
    data, cuts = case
    bounds = [0, *cuts, len(data)]
    whole = _run([data])
    assert _run([data[a:b] for a, b in itertools.pairwise(bounds)]) == whole
    assert _run([bytes([b]) for b in data]) == whole


def test_renders_receipt_markers_and_kick() -> None:
    sim = EscposPrinterSim(width=32)
    sim.feed(render(DOC, 32))
    sim.print_buffered()
    (r,) = sim.receipts
    assert r.cut == "full" and r.complete
    text = r.text()
    assert text[0].strip() == "小票 Receipt" and r.lines[0].bold and r.lines[0].size == (2, 1)
    assert text[1] == "苹果 Apple" + " " * 18 + "3.00"
    assert "[QR:q]" in text[3] and "[BARCODE CODE128:ABC-123]" in "".join(text)
    assert sim.kicks == [{"pin": 5, "on_ms": 100, "off_ms": 200}]
    assert bytes(r.raw) == render(DOC, 32)


def test_answers_dle_eot_and_sends_asb_on_change() -> None:
    sim = EscposPrinterSim()
    dec = StatusDecoder()
    sim.feed(dec.request(1) + dec.request(4))
    reports = dec.feed(sim.read_output())
    assert [r.source for r in reports] == ["eot1", "eot4"] and reports[-1].status.online
    sim.set_paper("near_end")
    assert sim.read_output() == b""  # ASB not enabled yet
    sim.feed(b"\x1da\x0f")
    assert dec.feed(sim.read_output())[-1].status.paper == "near_end"  # first ASB frame
    sim.set_cover(True)
    s = dec.feed(sim.read_output())[-1].status
    assert s.cover_open and not s.online
    sim.set_cover(False)
    sim.set_drawer(True)
    reports = dec.feed(sim.read_output())
    assert reports[-1].status.drawer_pin3_high and reports[-1].status.online


def test_paper_out_drops_the_rest_of_the_job() -> None:
    """A printer that clears its buffer on paper out (resume_after_recovery=False)."""
    sim = EscposPrinterSim(width=32, resume_after_recovery=False)
    job = render([Text(f"line {i}") for i in range(6)] + [Cut()], 32)
    sim.run_out_after(2)
    sim.feed(job)
    sim.print_buffered()
    assert sim.paper == "empty" and sim.current is None
    (torn,) = sim.receipts
    assert torn.text() == ["line 0", "line 1"] and not torn.complete and torn.cut is None
    assert sim.dropped_bytes > 0
    # Status is still answered while out of paper.
    dec = StatusDecoder()
    sim.feed(dec.request(4))
    assert dec.feed(sim.read_output())[-1].status.paper == "empty"
    sim.set_paper("ok")
    sim.feed(job)
    sim.print_buffered()
    assert sim.receipts[-1].text() == [f"line {i}" for i in range(6)]
    assert sim.receipts[-1].complete


def test_drawer_sensor_polarity_and_realtime_pulse() -> None:
    sim = EscposPrinterSim(drawer_open_when_high=False, kick_opens_drawer=False)
    dec = StatusDecoder()
    sim.feed(dec.request(1))
    assert dec.feed(sim.read_output())[-1].status.drawer_pin3_high  # closed = high here
    sim.set_drawer(True)
    sim.feed(dec.request(1))
    assert not dec.feed(sim.read_output())[-1].status.drawer_pin3_high
    sim.set_paper("empty")
    sim.feed(b"\x1bp\x00\x32\x64")  # buffered kick: not executed while offline
    sim.feed(b"\x10\x14\x01\x00\x02")  # real-time pulse: executed
    assert sim.kicks == [{"pin": 2, "on_ms": 200, "off_ms": 200}]


def test_gb18030_four_byte_and_cp437() -> None:
    sim = EscposPrinterSim(width=32)
    sim.feed(b"\x1c&" + "𠀀中".encode("gb18030") + b"\x1c.\x82\n")
    sim.print_buffered()
    assert sim.current.text() == ["𠀀中é"]
