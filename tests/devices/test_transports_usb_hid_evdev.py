"""KeyDecoder against input_event streams, the evdev transport on a pipe, and the
USB/HID transports against fake pyusb / hid device objects."""

from __future__ import annotations

import errno
import os
from types import SimpleNamespace

import pytest
import trio
import usb.core
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.base import TransportError
from drivers.transports import evdev as evdev_mod
from drivers.transports import usb as usb_mod
from drivers.transports.evdev import EV_KEY, EV_MSC, EV_SYN, EVENT, EVENT_SIZE, KeyDecoder
from drivers.transports.hid import HidTransport
from drivers.transports.usb import Endpoints, UsbTransport, select_endpoints

# -- input_event streams as the Linux HID layer reports a keyboard-wedge scanner -----------
# Per key transition: EV_MSC/MSC_SCAN (the HID usage), EV_KEY, EV_SYN/SYN_REPORT, same time.

MSC_SCAN = 4
SHIFT = 42

# US layout: char -> (keycode, shifted)
_US: dict[str, tuple[int, bool]] = {}
for first, plain, shifted in (
    (2, "1234567890-=", "!@#$%^&*()_+"),
    (16, "qwertyuiop[]", "QWERTYUIOP{}"),
    (30, "asdfghjkl;'`", 'ASDFGHJKL:"~'),
    (43, "\\zxcvbnm,./", "|ZXCVBNM<>?"),
):
    for i, (p, s) in enumerate(zip(plain, shifted, strict=True)):
        _US[p] = (first + i, False)
        _US[s] = (first + i, True)
_US[" "] = (57, False)
_US["\n"] = (28, False)


class Recorder:
    def __init__(self, sec: int = 1_700_000_000, usec: int = 0):
        self.sec, self.usec = sec, usec
        self.data = bytearray()

    def _tick(self) -> None:
        self.usec += 4000  # a scanner types a key every few ms
        if self.usec >= 1_000_000:
            self.sec, self.usec = self.sec + 1, self.usec - 1_000_000

    def key(self, code: int, value: int) -> None:
        self._tick()
        for etype, ecode, evalue in (
            (EV_MSC, MSC_SCAN, 0x70000 + code),
            (EV_KEY, code, value),
            (EV_SYN, 0, 0),
        ):
            self.data += EVENT.pack(self.sec, self.usec, etype, ecode, evalue)

    def tap(self, code: int) -> None:
        self.key(code, 1)
        self.key(code, 0)

    def type_us(self, text: str) -> bytes:
        for ch in text:
            code, shifted = _US[ch]
            if shifted:
                self.key(SHIFT, 1)
            self.tap(code)
            if shifted:
                self.key(SHIFT, 0)
        return bytes(self.data)


def us(text: str) -> bytes:
    return Recorder().type_us(text)


def test_decodes_digits_and_enter():
    assert KeyDecoder().feed(us("4006381333931\n")) == b"4006381333931\n"


def test_shift_and_symbols():
    text = "Code-128: ABC/xyz+{1}!\n"
    assert KeyDecoder().feed(us(text)) == text.encode()


def test_capslock_inverts_letters_only():
    r = Recorder()
    r.tap(58)  # Caps Lock on
    r.type_us("ab1")
    r.key(SHIFT, 1)
    r.tap(30)  # Shift+a with Caps Lock -> a
    r.key(SHIFT, 0)
    assert KeyDecoder().feed(bytes(r.data)) == b"AB1a"


def test_ctrl_gives_control_codes_for_gs1():
    r = Recorder()
    r.type_us("01")
    r.key(29, 1)
    r.tap(27)  # Ctrl+] = GS (FNC1 separator)
    r.key(29, 0)
    r.type_us("10")
    assert KeyDecoder().feed(bytes(r.data)) == b"01\x1d10"


def test_alt_keypad_decimal_code():
    r = Recorder()
    r.key(56, 1)
    for code in (82, 81, 71):  # keypad 0 3 7 -> 037 '%'
        r.tap(code)
    r.key(56, 0)
    assert KeyDecoder().feed(bytes(r.data)) == b"%"


def test_unmapped_keys_are_counted_not_typed():
    r = Recorder()
    r.tap(59)  # F1
    r.type_us("7")
    d = KeyDecoder()
    assert d.feed(bytes(r.data)) == b"7"
    assert d.garbage_bytes == EVENT_SIZE  # the F1 press; its release is not counted
    assert d.pending_bytes == 0


def test_autorepeat_is_ignored():
    r = Recorder()
    r.key(2, 1)
    r.key(2, 2)
    r.key(2, 0)
    assert KeyDecoder().feed(bytes(r.data)) == b"1"


def test_german_layout_swaps_y_and_z_and_altgr():
    # The same key codes a US-layout recording makes for "yz" read as "zy" on QWERTZ.
    r = Recorder()
    r.type_us("yz")
    r.key(100, 1)
    r.tap(16)  # AltGr+q -> @
    r.key(100, 0)
    assert KeyDecoder("de").feed(bytes(r.data)) == b"zy@"


def test_layout_overrides_and_unknown_layout():
    d = KeyDecoder("us", overrides={2: ("x", "X")})
    assert d.feed(us("1")) == b"x"
    with pytest.raises(ValueError, match="unknown keyboard layout"):
        KeyDecoder("klingon")


def test_partial_event_is_kept_for_next_feed():
    data = us("42")
    d = KeyDecoder()
    assert d.feed(data[:37]) == b""
    assert d.pending_bytes == 37 - EVENT_SIZE
    assert d.feed(data[37:]) == b"42"
    assert d.pending_bytes == 0


@settings(max_examples=60, deadline=None)
@given(
    text=st.text(alphabet="0123456789ABCXYZabcxyz-./+ ", max_size=30),
    cuts=st.lists(st.integers(min_value=0, max_value=2000), max_size=12),
)
def test_any_chunking_decodes_the_same(text, cuts):
    data = us(text + "\n")
    whole = KeyDecoder().feed(data)
    assert whole == (text + "\n").encode()
    d = KeyDecoder()
    got = b""
    prev = 0
    for cut in [*sorted({c % (len(data) + 1) for c in cuts}), len(data)]:
        got += d.feed(data[prev:cut])
        prev = cut
    assert got == whole
    assert d.pending_bytes == 0


def test_event_layout_is_24_bytes_64bit():
    assert EVENT_SIZE == 24
    one = EVENT.pack(1, 2, EV_KEY, 30, 1)
    assert one[16:18] == b"\x01\x00" and one[18:20] == b"\x1e\x00" and one[20:] == b"\x01\0\0\0"
    assert (EV_SYN, EV_MSC) == (0, 4)


async def test_evdev_transport_reads_decoded_text_from_a_pipe(monkeypatch):
    r, w = os.pipe()
    os.set_blocking(r, False)
    t = evdev_mod.EvdevTransport(r, "/dev/input/event-test", KeyDecoder(), grabbed=False)
    data = us("123\n")
    os.write(w, data[:50])
    os.write(w, data[50:])
    got = b""
    with trio.fail_after(2):
        while not got.endswith(b"\n"):
            got += await t.receive()
    assert got == b"123\n"
    with pytest.raises(TransportError, match="cannot be written"):
        await t.send(b"x")
    os.close(w)  # the device node went away
    with trio.fail_after(2), pytest.raises(TransportError):
        await t.receive()
    await t.aclose()


async def test_evdev_open_missing_and_grab_failure(tmp_path, monkeypatch):
    with pytest.raises(TransportError, match="cannot open"):
        await evdev_mod.EvdevTransport.open(str(tmp_path / "event99"))
    node = tmp_path / "event0"
    node.write_bytes(b"")
    calls = []

    def busy_ioctl(fd, req, arg):
        calls.append((req, arg))
        raise OSError(errno.EBUSY, "Device or resource busy")

    monkeypatch.setattr(evdev_mod.fcntl, "ioctl", busy_ioctl)
    with pytest.raises(TransportError, match="grabbed by another program"):
        await evdev_mod.EvdevTransport.open(str(node))
    assert calls == [(evdev_mod.EVIOCGRAB, 1)]


# -- USB ------------------------------------------------------------------------------


def ep(addr: int, attrs: int = 0x02) -> SimpleNamespace:
    return SimpleNamespace(bEndpointAddress=addr, bmAttributes=attrs)


class FakeIntf(list):
    def __init__(self, number, cls, eps, alt=0):
        super().__init__(eps)
        self.bInterfaceNumber = number
        self.bInterfaceClass = cls
        self.bAlternateSetting = alt


def test_select_endpoints_prefers_printer_class_bulk():
    cfg = [
        FakeIntf(0, 0xFF, [ep(0x81, 0x03), ep(0x02)]),  # vendor: interrupt IN + bulk OUT
        FakeIntf(1, 7, [ep(0x83), ep(0x81, 0x03), ep(0x04)]),  # printer: bulk IN 0x83, OUT 4
    ]
    assert select_endpoints(cfg) == Endpoints(interface=1, alternate=0, out=0x04, in_=0x83)


def test_select_endpoints_write_only_and_none():
    assert select_endpoints([FakeIntf(0, 7, [ep(0x01)])]) == Endpoints(0, 0, 0x01, None)
    with pytest.raises(TransportError, match="bulk OUT"):
        select_endpoints([FakeIntf(0, 3, [ep(0x81, 0x03)])])


class FakeUsbDevice:
    def __init__(self, cfg, kernel_driver=True):
        self.cfg = cfg
        self.kernel_driver = kernel_driver
        self.calls: list = []
        self.reads: list = []  # bytes, or exceptions to raise
        self.written = bytearray()
        self.write_error: Exception | None = None

    def get_active_configuration(self):
        return self.cfg

    def is_kernel_driver_active(self, intf):
        return self.kernel_driver

    def detach_kernel_driver(self, intf):
        self.calls.append(("detach", intf))
        self.kernel_driver = False

    def attach_kernel_driver(self, intf):
        self.calls.append(("attach", intf))

    def write(self, addr, data, timeout):
        if self.write_error:
            raise self.write_error
        self.written += data[:3]  # a device that takes at most 3 bytes per transfer
        return min(3, len(data))

    def read(self, addr, size, timeout):
        if not self.reads:
            raise usb.core.USBTimeoutError("timeout", errno=errno.ETIMEDOUT)
        item = self.reads.pop(0)
        if isinstance(item, Exception):
            raise item
        return bytearray(item)


@pytest.fixture
def fake_util(monkeypatch):
    calls = []
    util = SimpleNamespace(
        claim_interface=lambda dev, i: calls.append(("claim", i)),
        release_interface=lambda dev, i: calls.append(("release", i)),
        dispose_resources=lambda dev: calls.append(("dispose",)),
    )
    monkeypatch.setattr(usb_mod, "_util", lambda: util)
    return calls


async def test_usb_claims_detaches_usblp_and_releases(fake_util):
    dev = FakeUsbDevice([FakeIntf(0, 7, [ep(0x81), ep(0x01)])])
    t = await UsbTransport.from_device(dev, poll_ms=5)
    assert dev.calls == [("detach", 0)]
    assert fake_util == [("claim", 0)]
    await t.send(b"\x1b@hello")  # partial transfers are continued
    assert bytes(dev.written) == b"\x1b@hello"
    dev.reads = [b"\x12"]
    with trio.fail_after(2):
        assert await t.receive() == b"\x12"  # after timeouts were retried
    await t.aclose()
    assert fake_util[1:] == [("release", 0), ("dispose",)]
    assert dev.calls[-1] == ("attach", 0)  # usblp gets the printer back


async def test_usb_errors_become_transport_errors(fake_util):
    dev = FakeUsbDevice([FakeIntf(0, 7, [ep(0x81), ep(0x01)])], kernel_driver=False)
    t = await UsbTransport.from_device(dev, poll_ms=5)
    assert dev.calls == []
    dev.reads = [usb.core.USBError("No such device", errno=errno.ENODEV)]
    with trio.fail_after(2), pytest.raises(TransportError, match="read failed"):
        await t.receive()
    dev.write_error = usb.core.USBTimeoutError("timeout", errno=errno.ETIMEDOUT)
    with pytest.raises(TransportError, match="write timed out"):
        await t.send(b"x")
    dev.write_error = usb.core.USBError("I/O error", errno=errno.EIO)
    with pytest.raises(TransportError, match="write failed"):
        await t.send(b"x")
    await t.aclose()
    with pytest.raises(TransportError, match="closed"):
        await t.send(b"x")


async def test_usb_read_is_cancellable_promptly(fake_util):
    dev = FakeUsbDevice([FakeIntf(0, 7, [ep(0x81), ep(0x01)])])
    t = await UsbTransport.from_device(dev, poll_ms=10)
    with trio.move_on_after(0.1) as scope:
        await t.receive()  # only timeouts: loops until cancelled
    assert scope.cancelled_caught
    await t.aclose()


async def test_usb_claim_failure_is_transport_error(fake_util):
    with pytest.raises(TransportError, match="bulk OUT"):
        await UsbTransport.from_device(FakeUsbDevice([FakeIntf(0, 3, [ep(0x81, 0x03)])]))


# -- HID ------------------------------------------------------------------------------


class FakeHidDevice:
    def __init__(self, reports):
        self.reports = list(reports)
        self.closed = False
        self.written: list[bytes] = []

    def read(self, size, timeout=None):
        if self.closed:
            raise RuntimeError("use after close")
        if not self.reports:
            return b""  # hidapi timeout
        item = self.reports.pop(0)
        if isinstance(item, Exception):
            raise item
        return item[:size]

    def write(self, data):
        self.written.append(data)
        return len(data)

    def close(self):
        self.closed = True


async def test_hid_reports_pass_through_and_errors_map():
    dev = FakeHidDevice([b"\x02\x0d4006381333931", OSError("read error")])
    opened = {}

    def factory(**kw):
        opened.update(kw)
        return dev

    t = await HidTransport.open(0x0C2E, 0x0B61, device_factory=factory, poll_ms=5)
    assert opened == {"vid": 0x0C2E, "pid": 0x0B61, "serial": None}
    assert t.name == "hid:0c2e:0b61"
    with trio.fail_after(2):
        assert await t.receive() == b"\x02\x0d4006381333931"
        with pytest.raises(TransportError, match="read error"):
            await t.receive()
    await t.send(b"\x01")
    assert dev.written == [b"\x01"]
    await t.aclose()
    assert dev.closed
    with pytest.raises(TransportError):
        await t.receive()


async def test_hid_read_loop_is_cancellable():
    dev = FakeHidDevice([])
    t = await HidTransport.open(1, 2, device_factory=lambda **kw: dev, poll_ms=5)
    with trio.move_on_after(0.1) as scope:
        await t.receive()
    assert scope.cancelled_caught
    await t.aclose()
    assert dev.closed


async def test_hid_open_failure_and_missing_library(monkeypatch):
    def broken(**kw):
        raise OSError("unable to open device")

    with pytest.raises(TransportError, match="cannot open"):
        await HidTransport.open(1, 2, device_factory=broken)
    import builtins

    real_import = builtins.__import__

    def no_hid(name, *args, **kwargs):
        if name == "hid":
            raise ImportError("Unable to load any of the following libraries")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_hid)
    with pytest.raises(TransportError, match="libhidapi"):
        await HidTransport.open(1, 2)
