"""Keyboard-wedge scanners read from /dev/input/eventN, grabbed so scans never type.

`KeyDecoder` is the sans-I/O part: fed raw `struct input_event` bytes, it returns the text
the key presses spell in a keyboard layout (US by default), with Shift, Caps Lock, AltGr,
Ctrl+letter control codes (GS1 FNC1 as Ctrl+] = 0x1D) and Alt+keypad decimal codes.
Enter gives b"\\n", Tab b"\\t". `EvdevTransport.receive()` returns that decoded text.

Layout of struct input_event on 64-bit Linux (linux/input.h): struct timeval (two longs,
8 bytes each), __u16 type, __u16 code, __s32 value = 24 bytes, little-endian on x86_64 and
aarch64. Key codes follow linux/input-event-codes.h.
"""

from __future__ import annotations

import errno
import fcntl
import os
import struct
from typing import Any

import trio

from drivers.base import TransportError
from drivers.transports.stream import StreamTransport

EVENT = struct.Struct("<qqHHi")
EVENT_SIZE = EVENT.size  # 24
EV_SYN, EV_KEY, EV_MSC = 0x00, 0x01, 0x04
# _IOW('E', 0x90, int): dir=1 (write) << 30 | size 4 << 16 | 'E' << 8 | 0x90
EVIOCGRAB = 0x40044590

KEY_ESC = 1
KEY_BACKSPACE = 14
KEY_TAB = 15
KEY_ENTER = 28
KEY_LEFTCTRL = 29
KEY_LEFTSHIFT = 42
KEY_RIGHTSHIFT = 54
KEY_LEFTALT = 56
KEY_SPACE = 57
KEY_CAPSLOCK = 58
KEY_KPENTER = 96
KEY_RIGHTCTRL = 97
KEY_RIGHTALT = 100

# Keypad: code -> digit (Num Lock assumed on, as wedge scanners expect).
KEYPAD = {71: "7", 72: "8", 73: "9", 75: "4", 76: "5", 77: "6", 79: "1", 80: "2", 81: "3", 82: "0"}
KEYPAD_OTHER = {55: "*", 74: "-", 78: "+", 83: ".", 98: "/"}


def _rows(*rows: tuple[int, str, str]) -> dict[int, tuple[str, str]]:
    table: dict[int, tuple[str, str]] = {}
    for first, plain, shifted in rows:
        assert len(plain) == len(shifted)
        for i, (p, s) in enumerate(zip(plain, shifted, strict=True)):
            table[first + i] = (p, s)
    return table


# code -> (plain, shifted). US QWERTY.
US = _rows(
    (2, "1234567890-=", "!@#$%^&*()_+"),
    (16, "qwertyuiop[]", "QWERTYUIOP{}"),
    (30, "asdfghjkl;'`", 'ASDFGHJKL:"~'),
    (43, "\\zxcvbnm,./", "|ZXCVBNM<>?"),
    (57, " ", " "),
    (86, "\\", "|"),
)
# German QWERTZ (dead keys ´ ` ^ give their own character).
DE = _rows(
    (2, "1234567890ß´", '!"§$%&/()=?`'),
    (16, "qwertzuiopü+", "QWERTZUIOPÜ*"),
    (30, "asdfghjklöä^", "ASDFGHJKLÖÄ°"),
    (43, "#yxcvbnm,.-", "'YXCVBNM;:_"),
    (57, " ", " "),
    (86, "<", ">"),
)
DE_ALTGR = {16: "@", 8: "{", 9: "[", 10: "]", 11: "}", 12: "\\", 27: "~", 86: "|", 18: "€"}

LAYOUTS: dict[str, tuple[dict[int, tuple[str, str]], dict[int, str]]] = {
    "us": (US, {}),
    "de": (DE, DE_ALTGR),
}


class KeyDecoder:
    """input_event bytes -> text bytes (UTF-8), keeping partial events and modifier state."""

    def __init__(
        self,
        layout: str = "us",
        overrides: dict[int, tuple[str, str]] | None = None,
        encoding: str = "utf-8",
        alt_codepage: str = "cp437",
        ansi_codepage: str = "cp1252",
    ):
        try:
            base, altgr = LAYOUTS[layout]
        except KeyError:
            known = ", ".join(sorted(LAYOUTS))
            raise ValueError(f"unknown keyboard layout {layout!r}; known: {known}") from None
        self.keys = {**base, **(overrides or {})}
        self.altgr = altgr
        self.encoding = encoding
        # Alt+nnn types a character of the OEM code page (cp437 on a US Windows; GBK on a
        # Chinese one, where nnn is the double-byte value in decimal: 54992 = 0xD6D0 = 中);
        # Alt+0nnn one of the ANSI code page (cp1252), whatever the OEM one.
        self.alt_codepage = alt_codepage
        self.ansi_codepage = ansi_codepage
        self._buf = bytearray()
        self._shift: set[int] = set()
        self._ctrl: set[int] = set()
        self._alt = False
        self._altgr = False
        self._caps = False
        self._alt_digits = ""
        self.garbage_bytes = 0  # bytes of key presses that spell nothing (F-keys, Esc, ...)

    @property
    def pending_bytes(self) -> int:
        """Bytes of an incomplete input_event kept for the next feed."""
        return len(self._buf)

    def feed(self, data: bytes) -> bytes:
        self._buf += data
        out: list[str] = []
        n = len(self._buf) // EVENT_SIZE * EVENT_SIZE
        for _sec, _usec, etype, code, value in EVENT.iter_unpack(bytes(self._buf[:n])):
            if etype == EV_KEY:
                text = self._key(code, value)
                if text is None:
                    self.garbage_bytes += EVENT_SIZE
                else:
                    out.append(text)
        del self._buf[:n]
        return "".join(out).encode(self.encoding, errors="replace")

    def _alt_char(self, digits: str) -> str | None:
        """The character an Alt+keypad code types, None if the code page has none."""
        value = int(digits)
        page = self.ansi_codepage if digits.startswith("0") else self.alt_codepage
        if value >= 0x10000:
            return None
        raw = bytes([value]) if value < 0x100 else value.to_bytes(2, "big")
        try:
            text = raw.decode(page)
        except UnicodeDecodeError:
            return None
        return text if len(text) == 1 else None

    def _key(self, code: int, value: int) -> str | None:
        down = value != 0
        if code in (KEY_LEFTSHIFT, KEY_RIGHTSHIFT):
            (self._shift.add if down else self._shift.discard)(code)
            return ""
        if code in (KEY_LEFTCTRL, KEY_RIGHTCTRL):
            (self._ctrl.add if down else self._ctrl.discard)(code)
            return ""
        if code == KEY_RIGHTALT:
            self._altgr = down
            return ""
        if code == KEY_LEFTALT:
            self._alt = down
            if not down and self._alt_digits:
                digits, self._alt_digits = self._alt_digits, ""
                return self._alt_char(digits)
            return ""
        if value != 1:  # release or autorepeat of an ordinary key
            return ""
        if code == KEY_CAPSLOCK:
            self._caps = not self._caps
            return ""
        if self._alt and code in KEYPAD:
            self._alt_digits += KEYPAD[code]
            return ""
        if code in (KEY_ENTER, KEY_KPENTER):
            return "\n"
        if code == KEY_TAB:
            return "\t"
        if code in KEYPAD:
            return KEYPAD[code]
        if code in KEYPAD_OTHER:
            return KEYPAD_OTHER[code]
        if self._altgr and code in self.altgr:
            return self.altgr[code]
        pair = self.keys.get(code)
        if pair is None:
            return None  # Esc, F-keys, arrows: nothing a barcode contains
        plain, shifted = pair
        shift = bool(self._shift)
        if self._caps and plain.isalpha():
            shift = not shift
        ch = shifted if shift else plain
        if self._ctrl:
            c = ch.upper()
            if "@" <= c <= "_":  # Ctrl+A..Z, Ctrl+[ \ ] ^ _ -> 0x01..0x1F
                return chr(ord(c) - 0x40)
            return None
        return ch


class EvdevTransport(StreamTransport):
    receive_verb = "read"  # ENODEV when the scanner is unplugged
    eof_message = "end of file (device gone)"
    # The base's aclose closes the fd, which also releases the exclusive grab.

    def __init__(self, fd: int, path: str, decoder: KeyDecoder, grabbed: bool):
        super().__init__(trio.lowlevel.FdStream(fd), path)
        self.path = path
        self.decoder = decoder
        self.grabbed = grabbed

    @classmethod
    async def open(
        cls, path: str, layout: str = "us", grab: bool = True, **decoder_kw: Any
    ) -> EvdevTransport:
        """`decoder_kw`: KeyDecoder's overrides, encoding, alt_codepage, ansi_codepage."""
        decoder = KeyDecoder(layout, **decoder_kw)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError as exc:
            raise TransportError(f"cannot open {path}: {exc.strerror}") from exc
        if grab:
            try:
                fcntl.ioctl(fd, EVIOCGRAB, 1)
            except OSError as exc:
                os.close(fd)
                why = "grabbed by another program" if exc.errno == errno.EBUSY else exc.strerror
                raise TransportError(f"cannot grab {path}: {why}") from exc
        await trio.lowlevel.checkpoint()
        return cls(fd, path, decoder, grab)

    async def send(self, data: bytes) -> None:
        raise TransportError(f"{self.path}: a keyboard-wedge device cannot be written to")

    async def receive(self, max_bytes: int = 4096) -> bytes:
        while True:
            text = self.decoder.feed(await super().receive(EVENT_SIZE * 64))
            if text:
                return text
