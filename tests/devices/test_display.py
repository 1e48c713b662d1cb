"""Customer displays: codecs, simulator, drivers over LoopbackTransport."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest
import trio
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.base import DeviceInfo, DeviceOffline
from drivers.display.codec import CD5220Codec, EpsonDisplayCodec
from drivers.display.device import CD5220Display, EpsonDisplay
from drivers.printer.cjk import text_width
from drivers.sim.display import DisplaySim
from drivers.sim.loopback import LoopbackTransport


async def until(pred: Callable[[], bool]) -> None:
    with trio.fail_after(30):
        while not pred():
            await trio.sleep(0.01)


def test_command_bytes() -> None:
    c, e = CD5220Codec(), EpsonDisplayCodec()
    assert c.init() == b"\x1b@\x1b\x11" and e.init() == b"\x1b@\x1f\x01"
    assert c.clear() == e.clear() == b"\x0c" and c.home() == b"\x0b"
    assert c.line2() == b"\x1bl\x01\x02" and e.line2() == b"\x1f$\x01\x02"
    assert c.brightness(9) == b"\x1b*\x04" and e.brightness(0) == b"\x1fX\x01"
    assert c.frame(["A", "B"]) == b"\x1bl\x01\x01A" + b" " * 19 + b"\x1bl\x01\x02B" + b" " * 19


def test_fit_counts_cjk_as_two_and_replaces_on_ascii_displays() -> None:
    cn, ascii_ = CD5220Codec("gb18030"), CD5220Codec()
    assert cn.fit_line("可口可乐可口可乐可口可乐") == "可口可乐可口可乐可口"
    assert cn.fit_line("合计 ¥12.50") == "合计 ￥12.50" + " " * 8
    assert ascii_.fit_line("可乐 Cola ¥3.50") == "?? Cola Y3.50" + " " * 7
    assert cn.text("可") == "可".encode("gb18030")


NAMES = st.text(st.one_of(st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5),
                          st.characters(min_codepoint=0x20, max_codepoint=0x7E)), max_size=30)


@settings(max_examples=100, deadline=None)
@given(lines=st.lists(NAMES, max_size=3), command_set=st.sampled_from(["cd5220", "epson"]),
       cuts=st.lists(st.integers(0, 200), max_size=6))
def test_sim_shows_exactly_what_the_codec_fitted(lines, command_set, cuts) -> None:
    codec = (CD5220Codec if command_set == "cd5220" else EpsonDisplayCodec)("gb18030")
    fitted = codec.fit_lines(lines)
    assert all(text_width(line) == 20 for line in fitted)
    data = codec.init() + codec.clear() + codec.frame(lines)
    whole = DisplaySim(command_set, "gb18030")
    whole.feed(data)
    assert whole.lines() == fitted
    # Any chunking renders the same screen.
    chunked = DisplaySim(command_set, "gb18030")
    bounds = [0, *sorted(min(c, len(data)) for c in cuts), len(data)]
    for a, b in itertools.pairwise(bounds):
        chunked.feed(data[a:b])
    assert chunked.snapshot() == whole.snapshot() and chunked.garbage_bytes == 0


def test_sim_cd5220_modes_and_wrap() -> None:
    sim = DisplaySim("cd5220")
    sim.feed(b"\x0c" + b"x" * 25)  # overwrite mode wraps to the lower line
    assert sim.lines() == ["x" * 20, "xxxxx" + " " * 15]
    sim.feed(b"\x1b\x12\x0c" + b"a" * 20 + b"b" * 20 + b"c")  # vertical scroll
    assert sim.lines() == ["b" * 20, "c" + " " * 19]
    sim.feed(b"\x1bQBhello\r")
    assert sim.lines()[1] == "hello" + " " * 15
    sim.feed(b"\x1b*\x02")
    assert sim.snapshot()["brightness"] == 2


def test_sim_epson_cursor_and_can() -> None:
    sim = DisplaySim("epson")
    sim.feed(b"\x0cTOP\x1f$\x05\x02mid\x1f$\x01\x01\x18")
    assert sim.lines() == [" " * 20, "    mid" + " " * 13]
    sim.feed(b"\x1f\x99")
    assert sim.garbage_bytes == 2


@pytest.mark.parametrize("cls,command_set", [(CD5220Display, "cd5220"), (EpsonDisplay, "epson")])
async def test_show_and_idle(events, cls, command_set) -> None:
    sim = DisplaySim(command_set, "gb18030")
    dev = cls(DeviceInfo("display", "display", command_set, "loopback"), events.emit,
              {"encoding": "gb18030", "idle": ["欢迎光临", "Welcome"], "brightness": 2})
    with pytest.raises(DeviceOffline):
        await dev.show(["x"])
    async with trio.open_nursery() as nursery:
        nursery.start_soon(dev.run, LoopbackTransport(sim))
        await until(lambda: dev.info.state == "online" and dev.lines)
        assert sim.lines() == ["欢迎光临" + " " * 12, "Welcome" + " " * 13]
        assert sim.snapshot()["brightness"] == 2
        shown = await dev.show(["农夫山泉饮用天然水550ml", "合计 ¥2.00"])
        assert shown == ["农夫山泉饮用天然水55", "合计 ￥2.00" + " " * 9]
        assert sim.lines() == shown
        await dev.show(["only one line"])
        assert sim.lines()[1] == " " * 20
        await dev.idle()
        assert sim.lines()[0].startswith("欢迎光临")
        nursery.cancel_scope.cancel()
    shown_events = events.of("display.shown")
    assert [e["lines"][0].strip() for e in shown_events] == [
        "欢迎光临", "农夫山泉饮用天然水55", "only one line", "欢迎光临"]
    assert all(e["device"] == "display" for e in shown_events)


async def test_ascii_display_default_idle(events) -> None:
    sim = DisplaySim("cd5220")
    dev = CD5220Display(DeviceInfo("display", "display", "cd5220", "loopback"), events.emit, {})
    async with trio.open_nursery() as nursery:
        nursery.start_soon(dev.run, LoopbackTransport(sim))
        await until(lambda: dev.lines)
        assert sim.lines() == ["Welcome" + " " * 13, " " * 20]
        await dev.show(["可乐", "3.50"])
        assert sim.lines()[0] == "??" + " " * 18
        nursery.cancel_scope.cancel()
