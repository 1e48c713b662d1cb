"""EscposPrinter over LoopbackTransport against the simulator."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import trio

from drivers.base import DeviceInfo, DeviceOffline, TransportError
from drivers.printer.device import POLL_SET, EscposPrinter, PrinterNotReady
from drivers.printer.receipt import Columns, Cut, Text, render
from drivers.sim.loopback import LoopbackTransport
from drivers.sim.printer import EscposPrinterSim

DOC = [Text("欢迎光临", align="center")] + [Columns(f"商品 {i}", f"{i}.00") for i in range(8)] + [
    Cut()
]


class MutableSim(EscposPrinterSim):
    """A printer that can stop answering (hung firmware, wrong baud rate)."""

    muted = False

    def send(self, data: bytes) -> None:
        if not self.muted:
            super().send(data)


async def until(pred: Callable[[], bool]) -> None:
    with trio.fail_after(30):
        while not pred():
            await trio.sleep(0.01)


async def start(nursery: trio.Nursery, events, sim=None, **options):
    sim = sim or MutableSim(width=options.get("width", 32))
    transport = LoopbackTransport(sim)
    dev = EscposPrinter(DeviceInfo("printer", "printer", "escpos", "loopback"), events.emit,
                        {"width": 32, "chunk_size": 24, **options})
    nursery.start_soon(dev.run, transport)
    await until(lambda: dev.info.state == "online")
    return dev, sim, transport


def _rendering(data: bytes) -> list[str]:
    ref = EscposPrinterSim(width=32, lines_per_s=None)
    ref.feed(data)
    return ref.receipts[0].text()


@pytest.mark.parametrize("asb", [True, False])
async def test_prints_a_receipt(events, asb: bool) -> None:
    async with trio.open_nursery() as nursery:
        dev, sim, _ = await start(nursery, events, asb=asb)
        assert sim.asb_mask == (0x0F if asb else 0)
        await dev.print_receipt(DOC)
        (r,) = sim.receipts
        assert r.complete and r.text() == _rendering(render(DOC, 32))
        assert bytes(r.raw) == render(DOC, 32)
        nursery.cancel_scope.cancel()
    first = events.of("printer.status")[0]
    assert first["device"] == "printer" and first["online"] and first["paper"] == "ok"


@pytest.mark.parametrize("asb", [True, False])
async def test_paper_out_mid_job_then_whole_reprint(events, asb: bool) -> None:
    async with trio.open_nursery() as nursery:
        dev, sim, transport = await start(nursery, events, asb=asb)
        sim.run_out_after(4)
        with pytest.raises(PrinterNotReady) as exc:
            await dev.print_receipt(DOC)
        assert exc.value.reason == "paper_empty"
        (torn,) = sim.receipts
        assert not torn.complete and len(torn.lines) == 4
        # Nothing more can be printed until the paper is replaced; nothing reaches the sim.
        with pytest.raises(PrinterNotReady) as exc:
            await dev.print_receipt(DOC)
        assert exc.value.reason == "paper_empty"
        sim.set_paper("ok")
        transport.flush()
        await until(lambda: dev.printer_status.paper == "ok")
        await dev.print_receipt(DOC)  # the queue's reprint
        assert len(sim.receipts) == 2
        again = sim.receipts[1]
        assert again.complete and again.text() == _rendering(render(DOC, 32))
        nursery.cancel_scope.cancel()
    papers = [e["paper"] for e in events.of("printer.status")]
    assert papers == ["ok", "empty", "ok"]


async def test_cover_open_refuses_before_sending(events) -> None:
    async with trio.open_nursery() as nursery:
        dev, sim, transport = await start(nursery, events)
        sim.set_cover(True)
        transport.flush()
        await until(lambda: dev.printer_status.cover_open)
        with pytest.raises(PrinterNotReady) as exc:
            await dev.print_bytes(b"hello\n")
        assert exc.value.reason == "cover_open"
        assert sim.receipts == [] and sim.current is None and sim.dropped_bytes == 0
        status = events.of("printer.status")[-1]
        assert status["cover_open"] and not status["online"]
        assert dev.info.status["cover_open"] is True
        nursery.cancel_scope.cancel()


async def test_near_end_still_prints_and_is_reported(events) -> None:
    async with trio.open_nursery() as nursery:
        dev, sim, _transport = await start(nursery, events, asb=False, poll_s=0.05)
        sim.set_paper("near_end")  # no ASB: seen by the next poll
        await until(lambda: dev.printer_status.paper == "near_end")
        await dev.print_bytes(b"x\n\x1dVB\x00")
        assert sim.receipts[0].text() == ["x"]
        assert events.of("printer.status")[-1]["paper"] == "near_end"
        nursery.cancel_scope.cancel()


async def test_silent_printer_goes_error_then_recovers(events, autojump_clock) -> None:
    async with trio.open_nursery() as nursery:
        dev, sim, _transport = await start(nursery, events, poll_s=1.0)
        sim.muted = True
        await trio.sleep(3.5)  # three unanswered polls: not yet
        assert dev.info.state == "online"
        await trio.sleep(2)
        assert dev.info.state == "error"
        assert events.of("printer.status")[-1]["online"] is False
        with pytest.raises(DeviceOffline):
            await dev.print_bytes(b"x")
        sim.muted = False
        await trio.sleep(1.5)
        assert dev.info.state == "online"
        assert events.of("printer.status")[-1]["online"] is True
        await dev.print_bytes(b"back\n")
        nursery.cancel_scope.cancel()


async def test_job_without_status_confirmation_must_be_reprinted(events, autojump_clock) -> None:
    async with trio.open_nursery() as nursery:
        dev, sim, _transport = await start(nursery, events, poll_s=10.0)
        sim.muted = True
        with pytest.raises(PrinterNotReady) as exc:
            await dev.print_bytes(b"job\n")
        assert exc.value.reason == "offline"
        nursery.cancel_scope.cancel()


async def test_kick_drawer_escp_and_realtime_when_offline(events) -> None:
    async with trio.open_nursery() as nursery:
        dev, sim, transport = await start(nursery, events)
        await dev.kick_drawer(pin=5, on_ms=60, off_ms=120)
        await until(lambda: sim.kicks)  # ESC p is buffered: done when the engine reaches it
        assert sim.kicks == [{"pin": 5, "on_ms": 60, "off_ms": 120}]
        sim.set_paper("empty")
        transport.flush()
        await until(lambda: dev.printer_status.paper == "empty")
        await dev.kick_drawer()
        assert sim.kicks[-1] == {"pin": 2, "on_ms": 100, "off_ms": 100}
        nursery.cancel_scope.cancel()


async def test_transport_error_propagates_bare(events) -> None:
    sim = MutableSim()
    transport = LoopbackTransport(sim)
    dev = EscposPrinter(DeviceInfo("printer", "printer", "escpos", "loopback"), events.emit, {})
    async with trio.open_nursery() as nursery:
        async def unplug() -> None:
            await until(lambda: dev.info.state == "online")
            transport.unplug()

        nursery.start_soon(unplug)
        with pytest.raises(TransportError):
            await dev.run(transport)


def test_options_are_validated(events) -> None:
    info = DeviceInfo("printer", "printer", "escpos", "loopback")
    with pytest.raises(ValueError):
        EscposPrinter(info, events.emit, {"width": 40})
    with pytest.raises(ValueError):
        EscposPrinter(info, events.emit, {"poll_s": 0})


class SlowAnsweringSim(EscposPrinterSim):
    """Holds its status replies until released: a printer busy with its buffer answers
    late, so replies to an earlier poll can arrive while a job is being sent."""

    held = False

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.backlog = bytearray()

    def send(self, data: bytes) -> None:
        if self.held:
            self.backlog += data
        else:
            super().send(data)

    def release(self) -> None:
        self.held = False
        out, self.backlog = bytes(self.backlog), bytearray()
        super().send(out)


async def test_late_poll_replies_do_not_confirm_a_job(events) -> None:
    """Status replies, however late, never confirm a job: only the completion answer does."""
    sim = SlowAnsweringSim(width=32)
    async with trio.open_nursery() as nursery:
        dev, sim, transport = await start(nursery, events, sim=sim, asb=False, poll_s=0.05)
        sim.held = True
        await until(lambda: len(dev.codec.pending) > 0)  # a poll is waiting for replies
        done = trio.Event()

        async def job():
            await dev.print_receipt(DOC)
            done.set()

        nursery.start_soon(job)
        await until(lambda: len(sim.receipts) == 1)  # printed, but its answer is held
        await trio.sleep(0.2)
        assert not done.is_set()
        sim.release()
        transport.flush()
        await until(lambda: done.is_set())
        (r,) = sim.receipts
        assert r.complete
        nursery.cancel_scope.cancel()


# -- issue 17: "printed" means printed --------------------------------------------------------
@pytest.mark.parametrize("asb", [True, False])
async def test_paper_out_after_n_lines_leaves_the_job_unconfirmed(events, asb: bool) -> None:
    """The printer answers DLE EOT at once, before the buffered receipt prints: a status
    reply after the job must not confirm it; the roll ending mid-receipt leaves it unconfirmed."""
    async with trio.open_nursery() as nursery:
        dev, sim, _ = await start(nursery, events, asb=asb, poll_s=0.05)
        sim.run_out_after(3)
        with pytest.raises(PrinterNotReady) as exc:
            await dev.print_receipt(DOC)
        assert exc.value.reason == "paper_empty"
        (torn,) = sim.receipts
        assert len(torn.lines) == 3 and not torn.complete
        nursery.cancel_scope.cancel()


@pytest.mark.parametrize("fault", ["paper", "cover"])
async def test_recovery_does_not_print_the_torn_tail_before_the_reprint(events, fault) -> None:
    """An Epson TM keeps the unprinted tail of a torn job in its buffer and prints it once the
    paper is replaced (or the cover closed); the driver clears the buffers (DLE DC4 fn=8)
    when the job fails, so only the whole reprint comes out: never the tail twice."""
    sim = MutableSim(width=32, resume_after_recovery=True)
    async with trio.open_nursery() as nursery:
        dev, sim, transport = await start(nursery, events, sim=sim, poll_s=0.05)
        if fault == "paper":
            sim.run_out_after(3)
        else:
            sim.lines_per_s = 1.0  # slow enough to open the cover mid-receipt
            nursery.start_soon(_open_cover_after_a_line, sim)
        with pytest.raises(PrinterNotReady) as exc:
            await dev.print_receipt(DOC)
        assert exc.value.reason == ("paper_empty" if fault == "paper" else "cover_open")
        sim.lines_per_s = 40.0
        if fault == "paper":
            sim.set_paper("ok")
        else:
            sim.set_cover(False)
        transport.flush()
        await until(lambda: dev.printer_status.not_ready_reason is None)
        await trio.sleep(0.5)  # a resuming printer would print the tail now
        assert await dev.print_receipt(DOC) == "printed"
        torn, again = sim.receipts  # no third receipt: the tail was not printed
        assert not torn.complete and again.complete
        assert again.text() == _rendering(render(DOC, 32))
        nursery.cancel_scope.cancel()


async def _open_cover_after_a_line(sim: EscposPrinterSim) -> None:
    await until(lambda: sim.current is not None and len(sim.current.lines) >= 1)
    sim.set_cover(True)


async def test_process_id_completion(events) -> None:
    async with trio.open_nursery() as nursery:
        dev, sim, _transport = await start(nursery, events, completion="process_id")
        assert await dev.print_receipt(DOC) == "printed"
        assert await dev.print_receipt(DOC) == "printed"
        assert [r.complete for r in sim.receipts] == [True, True]
        raw = bytes(sim.receipts[1].raw)  # the first job's request, received after its cut
        assert raw.startswith(b"\x1d(H\x06\x000\x30" + b"0000")
        nursery.cancel_scope.cancel()


async def test_process_id_on_a_model_without_it_is_never_confirmed(events, autojump_clock):
    """Why the default completion is GS r 1: a GP/Xprinter-class model ignores GS ( H, so
    every job would stay unconfirmed and be reprinted."""
    sim = MutableSim(width=32, process_id=False)
    async with trio.open_nursery() as nursery:
        dev, sim, _ = await start(nursery, events, sim=sim, completion="process_id")
        with pytest.raises(PrinterNotReady) as exc:
            await dev.print_receipt(DOC)
        assert exc.value.reason == "offline" and sim.receipts[0].complete
        dev.completion = "gs_r"
        assert await dev.print_receipt(DOC) == "printed"
        nursery.cancel_scope.cancel()


async def test_a_printer_without_status_prints_and_kicks(events, autojump_clock) -> None:
    """A printer that never answers (usblp without read-back): after `no_status_after`
    unanswered polls it runs without status, with an alert; jobs are sent, not printed."""
    sim = EscposPrinterSim(width=32, status_channel=False)
    transport = LoopbackTransport(sim)
    dev = EscposPrinter(DeviceInfo("printer", "printer", "escpos", "loopback"), events.emit,
                        {"width": 32, "poll_s": 1.0})
    async with trio.open_nursery() as nursery:
        nursery.start_soon(dev.run, transport)
        await trio.sleep(3.5)
        assert dev.info.state != "online"
        await until(lambda: dev.info.state == "online")
        assert trio.current_time() < 10
        assert dev.info.status["status_channel"] == "none"
        (alert,) = events.of("alerts.raised")
        assert alert["kind"] == "printer_no_status" and alert["device"] == "printer"
        assert await dev.print_receipt(DOC) == "sent"
        await dev.kick_drawer()
        await until(lambda: sim.kicks and sim.receipts)
        assert sim.receipts[0].complete and sim.kicks == [{"pin": 2, "on_ms": 100,
                                                           "off_ms": 200}]
        requests = sim.status_requests
        await trio.sleep(120)  # rare polls only, into a printer that never answers
        assert sim.status_requests - requests <= 2 * len(POLL_SET)
        nursery.cancel_scope.cancel()


async def test_status_none_setting_never_polls_before_printing(events) -> None:
    sim = EscposPrinterSim(width=32, status_channel=False)
    transport = LoopbackTransport(sim)
    dev = EscposPrinter(DeviceInfo("printer", "printer", "escpos", "loopback"), events.emit,
                        {"width": 32, "status": "none", "asb": False})
    async with trio.open_nursery() as nursery:
        nursery.start_soon(dev.run, transport)
        await until(lambda: dev.info.state == "online")
        assert await dev.print_bytes(b"no status\n\x1dVB\x00") == "sent"
        assert events.of("alerts.raised") == []  # configured, not discovered
        nursery.cancel_scope.cancel()


async def test_no_polling_into_a_full_buffer_while_offline(events, autojump_clock) -> None:
    """A clone that keeps real-time commands in its 4 KB receive buffer while its cover is
    open: half an hour of polling must leave room for the drawer kick, which then runs when
    the cover closes."""
    sim = MutableSim(width=32, buffer_size=4096, realtime_when_offline=False,
                     kick_opens_drawer=False)
    async with trio.open_nursery() as nursery:
        dev, sim, transport = await start(nursery, events, sim=sim, asb=False, poll_s=1.0)
        sim.set_cover(True)
        await until(lambda: dev.info.state == "error" or (
            dev.printer_status is not None and dev.printer_status.cover_open))
        await trio.sleep(30 * 60)
        await dev.kick_drawer()
        assert sim.overflow_bytes == 0 and sim.buffered_bytes < 1024
        sim.set_cover(False)
        transport.flush()
        assert sim.kicks == [{"pin": 2, "on_ms": 100, "off_ms": 100}]
        await until(lambda: dev._ready())
        nursery.cancel_scope.cancel()


def test_options_name_the_bad_key(events) -> None:
    info = DeviceInfo("printer", "printer", "escpos", "loopback")
    with pytest.raises(ValueError, match=r"options\.widht: unknown option"):
        EscposPrinter(info, events.emit, {"widht": 42})
    with pytest.raises(ValueError, match=r"options\.completion"):
        EscposPrinter(info, events.emit, {"completion": "eot"})
    for width in (32, 35, 42, 48, 56):
        assert EscposPrinter(info, events.emit, {"width": width}).width == width
