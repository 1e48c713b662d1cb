"""The printer simulator answers as a TM printer does (issue 17 items 1, 7 and 10): DLE EOT at
once, ahead of the buffered receipt; GS r and GS ( H only once what precedes them is printed;
status after the paper ran out N lines into a receipt; a kick after the cut starting no
empty receipt; and our status decoder tolerant of clones that set one bit of a pair."""

from __future__ import annotations

import pytest

from drivers.printer.receipt import Cut, DrawerKick, Text, render
from drivers.printer.status import (
    PAPER_STATUS_REQUEST,
    StatusDecoder,
    apply_eot,
    encode_paper_status,
    process_id_request,
)
from drivers.sim.printer import EscposPrinterSim

JOB = render([Text(f"line {i}") for i in range(10)] + [Cut()], 32)


def _ticks(sim: EscposPrinterSim, n: int) -> None:
    for _ in range(n):
        sim.tick()


def test_dle_eot_is_answered_before_the_buffered_receipt_prints() -> None:
    sim = EscposPrinterSim(width=32)  # 40 lines/s, 2 lines a tick
    dec = StatusDecoder()
    sim.feed(JOB + PAPER_STATUS_REQUEST + dec.request(1))
    reports = dec.feed(sim.read_output())
    assert [r.source for r in reports] == ["eot1"]  # at once; GS r waits its turn
    assert sim.receipts == [] and sim.buffered_bytes > 0
    dec.paper_requests = 1
    _ticks(sim, 3)
    assert dec.feed(sim.read_output()) == [] and sim.receipts == []  # still printing
    _ticks(sim, 5)
    assert [r.source for r in dec.feed(sim.read_output())] == ["paper"]
    assert sim.receipts[0].complete and sim.buffered_bytes == 0


def test_process_id_answer_only_after_printing_and_not_from_a_clone() -> None:
    sim = EscposPrinterSim(width=32)
    sim.feed(JOB + process_id_request("0042"))
    assert sim.read_output() == b""
    sim.print_buffered()
    assert sim.read_output() == b"\x37\x220042\x00"
    clone = EscposPrinterSim(width=32, process_id=False)
    clone.feed(JOB + process_id_request("0042"))
    clone.print_buffered()
    assert clone.read_output() == b"" and clone.receipts[0].complete


def test_status_after_the_paper_ran_out_n_lines_into_a_receipt() -> None:
    """A printer that clears its buffer on paper out (resume_after_recovery=False); the
    Epson TM that resumes is the next test."""
    sim = EscposPrinterSim(width=32, resume_after_recovery=False)
    sim.feed(b"\x1da\x0f")  # ASB on: the first frame says all is well
    dec = StatusDecoder()
    assert dec.feed(sim.read_output())[-1].status.paper == "ok"
    sim.run_out_after(4)
    sim.feed(JOB + PAPER_STATUS_REQUEST)
    dec.paper_requests = 1
    sim.print_buffered()
    asb = dec.feed(sim.read_output())
    # the printer told by itself (ASB): offline, paper end; the GS r never came
    assert [r.source for r in asb] == ["asb"] and asb[0].status.paper == "empty"
    assert not asb[0].status.online
    (torn,) = sim.receipts
    assert torn.text() == [f"line {i}" for i in range(4)] and not torn.complete
    assert sim.buffered_bytes == 0 and sim.dropped_bytes > 0
    # DLE EOT answers as the Epson reference lays the bits out
    sim.feed(b"".join(dec.request(n) for n in (1, 2, 3, 4)))
    raw = sim.read_output()
    assert raw == bytes([0x1A, 0x32, 0x12, 0x7E])  # offline; paper end stop; -; near end+end
    assert dec.feed(raw)[-1].status.not_ready_reason == "paper_empty"
    # a new roll: printing resumes with what comes next, the torn job is not finished
    sim.set_paper("ok")
    sim.feed(render([Text("again"), Cut()], 32))
    sim.print_buffered()
    assert sim.receipts[-1].text() == ["again"] and sim.receipts[-1].complete


def test_an_epson_tm_resumes_its_buffer_after_a_new_roll() -> None:
    """Epson TM: paper out stops the engine but keeps the receive buffer; on a new roll the
    torn job's tail (and its GS r) are printed and answered."""
    sim = EscposPrinterSim(width=32)
    sim.run_out_after(4)
    sim.feed(JOB + PAPER_STATUS_REQUEST)
    sim.print_buffered()
    (torn,) = sim.receipts
    assert len(torn.lines) == 4 and not torn.complete
    assert sim.buffered_bytes > 0 and sim.dropped_bytes == 0 and sim.read_output() == b""
    sim.set_paper("ok")
    sim.print_buffered()
    tail = sim.receipts[-1]
    assert tail.complete and tail.text() == [f"line {i}" for i in range(4, 10)]
    assert sim.read_output() == bytes([encode_paper_status("ok")])  # the late GS r answer


def test_clear_buffers_while_out_of_paper_drops_the_tail() -> None:
    """DLE DC4 fn=8 is real-time: executed while offline, it empties the receive buffer and
    answers the clear response 37 25 00, so the new roll prints nothing of the torn job."""
    sim = EscposPrinterSim(width=32)
    sim.run_out_after(4)
    sim.feed(JOB + PAPER_STATUS_REQUEST)
    sim.print_buffered()
    buffered = sim.buffered_bytes
    sim.feed(bytes([0x10, 0x14, 0x08, 0x01, 0x03, 0x14, 0x01, 0x06, 0x02, 0x08]))
    assert sim.read_output() == b"\x37\x25\x00"
    assert sim.buffered_bytes == 0 and sim.dropped_bytes == buffered
    sim.set_paper("ok")
    sim.print_buffered()
    assert sim.receipt_count == 1 and sim.read_output() == b""


def test_a_kick_after_the_cut_starts_no_empty_receipt() -> None:
    sim = EscposPrinterSim(width=32, lines_per_s=None)
    sim.feed(render([Text("paid"), Cut()], 32) + render([DrawerKick()], 32))
    assert len(sim.receipts) == 1 and sim.current is None and len(sim.kicks) == 1
    assert sim.snapshot()["current"] == []


@pytest.mark.parametrize(("n", "byte", "strict", "tolerant"), [
    (4, 0x12 | 0x04, "ok", "near_end"),  # a clone that sets one near-end bit of DLE EOT 4
    (4, 0x12 | 0x20, "ok", "empty"),  # one paper-end bit
    (4, 0x12 | 0x0C, "near_end", "near_end"),
    (4, 0x12 | 0x6C, "empty", "empty"),
])
def test_paper_sensor_pairs_strict_and_tolerant(n, byte, strict, tolerant) -> None:
    from drivers.printer.status import PrinterStatus

    assert apply_eot(PrinterStatus(), n, byte).paper == strict
    assert apply_eot(PrinterStatus(), n, byte, tolerant=True).paper == tolerant
    dec = StatusDecoder(tolerant_paper=True)
    dec.expect([n])
    assert dec.feed(bytes([byte]))[-1].status.paper == tolerant


def test_asb_and_gs_r_pairs_are_tolerant_too() -> None:
    dec = StatusDecoder(tolerant_paper=True)
    assert dec.feed(bytes([0x10, 0x00, 0x01, 0x00]))[-1].status.paper == "near_end"
    dec.paper_requests = 1
    assert dec.feed(b"\x04")[-1].status.paper == "empty"
    strict = StatusDecoder()
    assert strict.feed(bytes([0x10, 0x00, 0x01, 0x00]))[-1].status.paper == "ok"


async def test_the_driver_reads_a_one_bit_clone_with_the_tolerant_setting(events) -> None:
    import trio

    from drivers.base import DeviceInfo
    from drivers.printer.device import EscposPrinter
    from drivers.printer.status import encode_eot
    from drivers.sim.loopback import LoopbackTransport

    class OneBitClone(EscposPrinterSim):
        """Reports near end on DLE EOT 4 with one bit of the pair only."""

        def _realtime(self, cmd: bytes) -> None:
            if cmd[1] == 0x04 and cmd[2] == 4 and self.paper == "near_end":
                self.send(bytes([0x12 | 0x04]))
                return
            super()._realtime(cmd)

    for setting, seen in (("strict", "ok"), ("tolerant", "near_end")):
        sim = OneBitClone(width=32)
        sim.set_paper("near_end")
        dev = EscposPrinter(DeviceInfo("p", "printer", "escpos", "loopback"), events.emit,
                            {"width": 32, "asb": False, "poll_s": 0.05,
                             "paper_sensor": setting})
        async with trio.open_nursery() as nursery:
            nursery.start_soon(dev.run, LoopbackTransport(sim))
            with trio.fail_after(10):
                while dev.printer_status is None:
                    await trio.sleep(0.02)
            await trio.sleep(0.2)
            assert dev.printer_status.paper == seen, setting
            nursery.cancel_scope.cancel()
    assert encode_eot(4, dev.printer_status) == 0x12 | 0x0C  # what an Epson would say


@pytest.mark.parametrize("impl", ["bitImageRaster", "bitImageColumn", "graphics"])
def test_every_bit_image_command_is_kept_as_an_image_marker(impl: str) -> None:
    """GS v 0, ESC * (24-dot bands) and GS ( L (store + print) as python-escpos sends them."""
    from escpos.printer import Dummy
    from PIL import Image, ImageDraw

    img = Image.new("1", (64, 48), 1)
    ImageDraw.Draw(img).rectangle((8, 8, 56, 40), fill=0)
    p = Dummy()
    p.image(img, impl=impl, center=False)
    p.cut()
    sim = EscposPrinterSim(width=48, lines_per_s=None)
    sim.feed(p.output)
    (r,) = sim.receipts
    markers = [ln for ln in r.text() if ln.strip().startswith("[IMAGE")]
    assert markers and sim.garbage_bytes == 0
    if impl == "bitImageColumn":  # one marker per 24-dot band
        assert [m.strip() for m in markers] == ["[IMAGE 64x24]"] * 2
    else:
        assert [m.strip() for m in markers] == ["[IMAGE 64x48]"]
