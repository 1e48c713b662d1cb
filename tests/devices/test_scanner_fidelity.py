"""Scanners as the real ones present themselves (issue 17 item 6): a HID POS scanner is one
interface among several of its vid:pid (a keyboard interface usually comes first), and a
keyboard-wedge scanner types characters beyond ASCII as Alt+keypad decimal codes in a code
page, as Windows defines them: Alt+nnn in the OEM code page (GBK for Chinese scanners, whose
codes are the GBK double-byte value in decimal), Alt+0nnn in the ANSI code page (cp1252)."""

from __future__ import annotations

import pytest
import trio

from drivers.base import TransportError
from drivers.transports.evdev import KeyDecoder
from drivers.transports.hid import HID_POS_USAGE_PAGE, HidTransport

from .test_transports_usb_hid_evdev import FakeHidDevice, Recorder

KEYPAD_CODES = {"0": 82, "1": 79, "2": 80, "3": 81, "4": 75, "5": 76, "6": 77, "7": 71,
                "8": 72, "9": 73}
LEFT_ALT = 56


def _interfaces(*usage_pages: int) -> list[dict]:
    return [{"path": f"/dev/hidraw{i}".encode(), "vendor_id": 0x0C2E, "product_id": 0x0B61,
             "serial_number": "S1", "usage_page": page, "interface_number": i}
            for i, page in enumerate(usage_pages)]


async def test_hid_opens_the_hid_pos_interface_not_the_first() -> None:
    opened: list[dict] = []

    def factory(**kw):
        opened.append(kw)
        return FakeHidDevice([])

    t = await HidTransport.open(0x0C2E, 0x0B61, device_factory=factory,
                                enumerate=lambda vid, pid: _interfaces(0x01, 0x8C, 0xFF00))
    assert HID_POS_USAGE_PAGE == 0x8C
    assert opened == [{"path": b"/dev/hidraw1"}]
    await t.aclose()


async def test_hid_serial_picks_among_several_scanners() -> None:
    opened: list[dict] = []
    two = _interfaces(0x01, 0x8C) + [{**i, "serial_number": "S2", "path": i["path"] + b"b"}
                                     for i in _interfaces(0x01, 0x8C)]

    def factory(**kw):
        opened.append(kw)
        return FakeHidDevice([])

    t = await HidTransport.open(0x0C2E, 0x0B61, "S2", device_factory=factory,
                                enumerate=lambda vid, pid: two)
    assert opened == [{"path": b"/dev/hidraw1b"}]
    await t.aclose()


async def test_hid_without_a_pos_interface_says_so() -> None:
    with pytest.raises(TransportError, match="usage page 0x8C"):
        await HidTransport.open(0x0C2E, 0x0B61, device_factory=lambda **kw: FakeHidDevice([]),
                                enumerate=lambda vid, pid: _interfaces(0x01, 0x0C))
    with trio.fail_after(1):  # a lone interface that does not report its usage page is used
        t = await HidTransport.open(
            1, 2, device_factory=lambda **kw: FakeHidDevice([]),
            enumerate=lambda vid, pid: [{"path": b"/dev/hidraw9", "usage_page": 0,
                                         "serial_number": ""}])
        await t.aclose()


def _alt(code: str) -> bytes:
    r = Recorder()
    r.key(LEFT_ALT, 1)
    for digit in code:
        r.tap(KEYPAD_CODES[digit])
    r.key(LEFT_ALT, 0)
    return bytes(r.data)


@pytest.mark.parametrize(("codes", "codepage", "text"), [
    (["54992", "47610"], "gbk", "中国"),  # 0xD6D0 0xB9FA: GBK decimals, as Chinese wedges type
    (["0128", "0233"], "cp437", "€é"),  # Alt+0nnn: the ANSI code page (cp1252) whatever the OEM
    (["130", "156"], "cp437", "é£"),  # Alt+nnn: the OEM code page (cp437 on a US Windows)
    (["037"], "gbk", "%"),  # ASCII is the same everywhere
])
def test_alt_keypad_codes_decode_in_the_devices_code_page(codes, codepage, text) -> None:
    decoder = KeyDecoder(alt_codepage=codepage)
    assert decoder.feed(b"".join(_alt(c) for c in codes)).decode("utf-8") == text
    assert decoder.garbage_bytes == 0


def test_an_alt_code_outside_the_code_page_is_garbage_not_a_character() -> None:
    decoder = KeyDecoder(alt_codepage="gbk")
    assert decoder.feed(_alt("65535")) == b""  # 0xFFFF is no GBK character
    assert decoder.garbage_bytes > 0
