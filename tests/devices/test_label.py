"""The TSPL label printer: the codec, the simulator (written from the TSPL manual) and the
driver against it, in memory and over a real pty. Golden byte logs: test_replay.py."""

from __future__ import annotations

import pytest
import trio
from hypothesis import given
from hypothesis import strategies as st

from drivers.base import DeviceInfo, DeviceOffline
from drivers.config import DeviceConfig, check_options
from drivers.label.codec import (
    STATUS_REQUEST,
    Barcode,
    Label,
    LabelStatus,
    QrCode,
    StatusDecoder,
    Text,
    encode_label,
)
from drivers.label.device import LabelPrinterNotReady, TsplLabelPrinter
from drivers.manager import DeviceManager
from drivers.sim.label import TsplLabelPrinterSim
from drivers.sim.loopback import LoopbackTransport
from drivers.sim.runner import PtySim, TcpSim

LABEL = Label(40, 30, (Text(16, 16, "可口可乐"), Text(16, 46, "￥3.00", mul=2),
                       Barcode(16, 98, "6928804011142", type="EAN13")), copies=2)


# -- codec ----------------------------------------------------------------------------------
def test_a_label_is_tspl_text_in_gb18030():
    data = encode_label(Label(40, 30, (Text(8, 8, '苹果 "红"\n'), QrCode(200, 8, "x,y"),
                                       Barcode(8, 100, "6928804011142", type="EAN13"),
                                       Barcode(8, 160, "A-1")), copies=3))
    assert data.decode("gb18030").split("\r\n") == [
        "SIZE 40 mm,30 mm", "GAP 2 mm,0 mm", "DIRECTION 1,0", "CLS",
        'TEXT 8,8,"TSS24.BF2",0,1,1,"苹果 \\["]红\\["] "',  # a quote escaped, a LF a space
        'QRCODE 200,8,M,4,A,0,"x,y"',
        'BARCODE 8,100,"EAN13",48,1,0,2,2,"692880401114"',  # the printer adds the check
        'BARCODE 8,160,"128",48,1,0,2,2,"A-1"', "PRINT 1,3", ""]
    assert "苹果".encode("gb18030") in data


@pytest.mark.parametrize("bad", [
    Barcode(0, 0, "69288040111", type="EAN13"), Barcode(0, 0, "69288O401114", type="EAN13"),
    Barcode(0, 0, "条码"), Text(0, 0, "x", mul=11), QrCode(0, 0, "x", cell=0)])
def test_what_a_printer_cannot_print_is_refused_before_sending(bad):
    with pytest.raises(ValueError):
        encode_label(Label(40, 30, (bad,)))
    with pytest.raises(ValueError, match="copies"):
        encode_label(Label(40, 30, (), copies=0))


def test_every_status_bit_of_the_manual():
    assert LabelStatus.from_byte(0) == LabelStatus()
    assert LabelStatus.from_byte(0).not_ready_reason is None
    printing = LabelStatus.from_byte(0x20)
    assert printing.printing and printing.not_ready_reason is None
    for byte, reason in ((0x01, "head_open"), (0x02, "paper_jam"), (0x04, "paper_empty"),
                         (0x08, "ribbon_out"), (0x10, "paused"), (0x40, "cover_open"),
                         (0x80, "error"), (0x05, "head_open"), (0x24, "paper_empty")):
        assert LabelStatus.from_byte(byte).not_ready_reason == reason, hex(byte)


@given(st.binary(max_size=64), st.integers(0, 64))
def test_status_decoder_takes_one_byte_per_request(data, requests):
    codec = StatusDecoder()
    for _ in range(requests):
        assert codec.request() == STATUS_REQUEST
    got = codec.feed(data)
    assert len(got) == min(requests, len(data))
    assert codec.garbage_bytes == max(0, len(data) - requests)
    assert got == [LabelStatus.from_byte(b) for b in data[:len(got)]]


# -- the simulator (the manual's behaviour) ---------------------------------------------------
def test_commands_after_print_wait_for_the_batch_and_status_is_answered_meanwhile():
    sim = TsplLabelPrinterSim(labels_per_s=20)
    sim.feed(encode_label(LABEL) + b'CLS\r\nTEXT 0,0,"3",0,1,1,"NEXT"\r\nPRINT 1\r\n')
    sim.feed(STATUS_REQUEST)
    assert sim.read_output() == bytes([0x20])  # printing
    for _ in range(20):
        sim.tick()
    assert [lb["lines"][0] for lb in sim.labels] == ["可口可乐", "可口可乐", "NEXT"]
    assert sim.labels[0]["lines"][-1] == "[BARCODE EAN13:6928804011142]"
    sim.feed(STATUS_REQUEST)
    assert sim.read_output() == b"\x00"


def test_a_stopped_printer_drops_what_overflows_its_buffer_but_answers_status():
    sim = TsplLabelPrinterSim(labels_per_s=None, buffer_size=200)
    sim.set_head(True)
    sim.feed(encode_label(LABEL))  # parsed; the batch waits for the head to close
    sim.feed(b"CLS\r\n" + b'TEXT 0,0,"3",0,1,1,"' + b"X" * 400 + b'"\r\n')
    assert sim.overflow_bytes > 0
    sim.feed(STATUS_REQUEST)
    assert sim.read_output() == b"\x01"  # head opened, not printing
    sim.set_head(False)
    sim.print_buffered()
    assert sim.label_count == 2  # the batch resumes; the torn command is gone


def test_a_printer_that_does_not_resume_drops_the_rest_of_the_batch():
    sim = TsplLabelPrinterSim(labels_per_s=None, resume_after_recovery=False)
    sim.run_out_after(1)
    sim.feed(encode_label(Label(40, 30, (Text(0, 0, "x"),), copies=4)))
    assert (sim.label_count, sim.lost_labels, sim.dropped_labels) == (1, 1, 2)
    assert not sim.paper


def test_history_is_a_bounded_ring():
    sim = TsplLabelPrinterSim(labels_per_s=None, history=3)
    sim.feed(encode_label(Label(40, 30, (Text(0, 0, "x"),), copies=10)))
    assert sim.label_count == 10 and len(sim.labels) == 3


# -- the driver ---------------------------------------------------------------------------------
def printer(**options) -> tuple[TsplLabelPrinter, list]:
    events: list = []
    dev = TsplLabelPrinter(DeviceInfo("label", "label", "tspl", "loop"),
                           lambda topic, data: events.append((topic, data)),
                           {"poll_s": 0.1, **options})  # the loopback ticks the sim
    # only while the host waits longer than its tick (0.05 s) for an answer
    return dev, events


async def online(dev) -> None:
    with trio.fail_after(5):
        while dev.info.state != "online" or dev.status is None:
            await trio.sleep(0.01)


async def test_a_batch_is_printed_confirmed_and_a_head_open_refuses_the_next(nursery):
    sim = TsplLabelPrinterSim(labels_per_s=40)
    dev, events = printer()
    link = LoopbackTransport(sim)
    nursery.start_soon(dev.run, link)
    await online(dev)
    assert await dev.print_labels([LABEL, LABEL]) == "printed"
    assert sim.label_count == 4
    sim.set_head(True)
    link.flush()
    with trio.fail_after(5):
        while not dev.status.head_open:
            await trio.sleep(0.01)
    assert ("label.status", {"device": "label", **LabelStatus(head_open=True).as_dict()}) in events
    assert dev.info.status["head_open"] is True
    received = sim.status_requests, sim.label_count
    with pytest.raises(LabelPrinterNotReady) as err:
        await dev.print_labels([LABEL])
    assert err.value.reason == "head_open" and not err.value.sent
    assert sim.label_count == received[1] and not sim.snapshot()["queued"]  # nothing sent


async def test_paper_out_mid_batch_is_not_confirmed(nursery):
    sim = TsplLabelPrinterSim(labels_per_s=40)
    sim.run_out_after(1)
    dev, _ = printer()
    nursery.start_soon(dev.run, LoopbackTransport(sim))
    await online(dev)
    with pytest.raises(LabelPrinterNotReady) as err:
        await dev.print_labels([Label(40, 30, (Text(0, 0, "x"),), copies=3)])
    assert err.value.reason == "paper_empty" and err.value.sent
    assert sim.label_count == 1 and sim.lost_labels == 1


async def test_a_printer_that_stops_answering_is_an_error_and_comes_back(nursery):
    sim = TsplLabelPrinterSim()
    silent = {"on": False}
    sim_send = sim.send
    sim.send = lambda data: None if silent["on"] else sim_send(data)  # type: ignore[method-assign]
    dev, _ = printer()
    nursery.start_soon(dev.run, LoopbackTransport(sim))
    await online(dev)
    silent["on"] = True
    with trio.fail_after(5):
        while dev.info.state != "error":
            await trio.sleep(0.01)
    with pytest.raises(DeviceOffline, match="label is error"):
        await dev.print_labels([LABEL])
    silent["on"] = False
    await online(dev)


async def test_without_a_status_channel_a_batch_is_sent(nursery):
    sim = TsplLabelPrinterSim(labels_per_s=None)
    dev, _ = printer(status="none")
    nursery.start_soon(dev.run, LoopbackTransport(sim))
    await online_without_status(dev)
    assert await dev.print_labels([LABEL]) == "sent"
    assert sim.label_count == 2 and sim.status_requests == 0


async def online_without_status(dev) -> None:
    with trio.fail_after(5):
        while dev.info.state != "online":
            await trio.sleep(0.01)


async def test_offline_device_refuses(nursery):
    dev, _ = printer()
    with pytest.raises(DeviceOffline):
        await dev.print_labels([LABEL])


def test_options_are_checked_by_name():
    cfg = DeviceConfig(kind="label", driver="tspl", transport="tcp:10.0.0.9:9100",
                       options={"widht_mm": 40})
    with pytest.raises(ValueError, match=r"devices\.label\.options\.widht_mm: unknown option"):
        check_options("label", cfg)


async def test_through_a_pty_and_the_manager_unplugged_and_back(tmp_path, nursery):
    sim = TsplLabelPrinterSim(labels_per_s=40)
    runner = PtySim(sim, tmp_path / "label")
    await nursery.start(runner.run)
    cfg = DeviceConfig(kind="label", driver="tspl", transport=f"serial:{tmp_path}/label",
                       options={"poll_s": 0.05})
    manager = DeviceManager({"label": cfg}, emit=lambda topic, data: None)
    await nursery.start(manager.run)
    dev = manager.get("label")
    await online(dev)
    assert await dev.print_labels([LABEL]) == "printed"
    runner.unplug()
    with trio.fail_after(5):
        while dev.info.state == "online":
            await trio.sleep(0.01)
    runner.plug()
    await online(dev)
    assert await dev.print_labels([LABEL]) == "printed"
    assert sim.label_count == 4


async def test_a_network_label_printer_on_port_9100(nursery):
    sim = TsplLabelPrinterSim(labels_per_s=40)
    tcp = await nursery.start(TcpSim(sim).run)
    cfg = DeviceConfig(kind="label", driver="tspl", transport=tcp.transport_spec,
                       options={"poll_s": 0.05})
    manager = DeviceManager({"label": cfg}, emit=lambda topic, data: None)
    await nursery.start(manager.run)
    dev = manager.get("label")
    await online(dev)
    assert await dev.print_labels([LABEL]) == "printed"
    sim.set_paper(False)
    with trio.fail_after(5):
        while not dev.status.paper_out:
            await trio.sleep(0.01)
    with pytest.raises(LabelPrinterNotReady) as err:
        await dev.print_labels([LABEL])
    assert err.value.reason == "paper_empty" and sim.label_count == 2

