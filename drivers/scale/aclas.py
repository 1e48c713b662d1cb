"""Aclas (顶尖, "Pinnacle") OS2X checkout-scale protocol, sans-I/O.

Layout follows the Pinnacle/Aclas OS2 user manual, "Communication protocol" (the same frame
CAS documents for its SW-II and Gram for its ZFOC "read current weight"):

    SOH(01) STX(02) STA SIGN WEIGHT(6) UNIT(2) BCC ETX(03) EOT(04)     15 bytes

STA: 'S' stable, 'U' unstable, 'F' out of range / not zeroed at power-on. SIGN: '-' or ' '.
WEIGHT: ASCII digits, '.', spaces. UNIT: "kg", "g", "lb", "SJ" (jin). BCC: XOR of the 12
bytes before it (SOH..UNIT) per the OS2 manual; the CAS/Gram documents compute it from STA
on, so both are accepted.

Passive mode (default): host sends ENQ (05), scale answers ACK (06); host sends DC1 (11), scale
answers one frame. Active mode: the scale streams ~10 frames/s. Commands are framed
'<' CMD CMD '>' TAB: "<TK>\\t" tare, "<ZK>\\t" zero, "<PB>\\t" active mode, "<AL>\\t" passive.
"""

from __future__ import annotations

import re

from drivers.scale.reading import Reading, to_grams

SOH, STX, ETX, EOT, ENQ, ACK, DC1 = 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x11
FRAME = 15

_NUMBER = re.compile(rb"^ *(\d+(?:\.\d*)?|\.\d+) *$")
_UNITS = {b"kg": "kg", b"g": "g", b"lb": "lb", b"sj": "jin"}


def bcc(data: bytes) -> int:
    x = 0
    for b in data:
        x ^= b
    return x


class AclasCodec:
    def __init__(self) -> None:
        self.garbage_bytes = 0
        self.frames = 0
        self.acks = 0
        self._buf = bytearray()

    @property
    def pending_bytes(self) -> int:
        return len(self._buf)

    # -- host commands ---------------------------------------------------------------
    def handshake(self) -> bytes:
        return bytes([ENQ])

    def request_weight(self) -> bytes:
        return bytes([DC1])

    def tare(self) -> bytes:
        return b"<TK>\t"

    def zero(self) -> bytes:
        return b"<ZK>\t"

    def active_mode(self) -> bytes:
        return b"<PB>\t"

    def passive_mode(self) -> bytes:
        return b"<AL>\t"

    # -- decoding ----------------------------------------------------------------------
    def feed(self, data: bytes) -> list[Reading]:
        out: list[Reading] = []
        buf = self._buf
        buf += data
        while buf:
            if buf[0] != SOH:
                if buf[0] == ACK:
                    self.acks += 1
                    self.frames += 1
                else:
                    self.garbage_bytes += 1
                del buf[0]
                continue
            if len(buf) >= 2 and buf[1] != STX:
                self.garbage_bytes += 1
                del buf[0]
                continue
            if len(buf) < FRAME:
                break
            reading = self._decode(bytes(buf[:FRAME]))
            if reading is None:  # not a frame after all: drop SOH, rescan the rest
                self.garbage_bytes += 1
                del buf[0]
                continue
            del buf[:FRAME]
            self.frames += 1
            out.append(reading)
        return out

    @staticmethod
    def _decode(f: bytes) -> Reading | None:
        if f[13] != ETX or f[14] != EOT or f[12] not in (bcc(f[:12]), bcc(f[2:12])):
            return None
        sta, sign, number, unit = f[2:3], f[3:4], f[4:10], f[10:12]
        if sta not in (b"S", b"U", b"F") or sign not in (b"-", b" "):
            return None
        u = _UNITS.get(unit.strip().lower())
        if u is None:
            return None
        negative = sign == b"-"
        if sta == b"F":
            return Reading(grams=0, stable=False, over=not negative, under=negative)
        m = _NUMBER.match(number)
        if m is None:
            return None
        grams = to_grams(m.group(1).decode(), u)
        if negative:
            grams = -grams
        return Reading(grams=grams, stable=sta == b"S", zero=grams == 0, under=grams < 0)
