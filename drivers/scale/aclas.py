"""Aclas (顶尖, "Pinnacle") OS2X checkout-scale protocol, sans-I/O.

Layout follows the Pinnacle/Aclas OS2 user manual, "Communication protocol" (the same frame
CAS documents for its SW-II and Gram for its ZFOC "read current weight"):

    SOH(01) STX(02) STA SIGN WEIGHT(6) UNIT(2) BCC ETX(03) EOT(04)     15 bytes

STA: 'S' stable, 'U' unstable, 'F' out of range / not zeroed at power-on. SIGN: '-' or ' '.
WEIGHT: ASCII digits, '.', spaces. UNIT: "kg", "g", "lb", "SJ" (jin). BCC: XOR of the 12
bytes before it (SOH..UNIT) per the OS2 manual; the CAS/Gram documents compute it from STA
on, so both are accepted.

Passive mode (default): host sends ENQ (05), scale answers ACK (06); host sends DC1 (11), scale
answers one frame. Active mode: the scale streams ~10 frames/s, and each frame is 16 bytes: the
15 above and a trailing Flag2 byte (bit4 weight is zero, bit5 tare mode, bit6 out of range or
not zeroed at power-on; the OS2 manual: "just miss Flag2" for the passive answer). Commands are
framed '<' CMD CMD '>' TAB: "<TK>\\t" tare, "<ZK>\\t" zero, "<PB>\\t" active mode, "<AL>\\t"
passive.

CAS PD-II: in ECR type 6 it answers the same frame (use this driver); it signals overload with
SIGN 'F' and WEIGHT "FFFFFF", reported here as over capacity.
"""

from __future__ import annotations

import re
from dataclasses import replace

from drivers.scale.reading import Reading, to_grams

SOH, STX, ETX, EOT, ENQ, ACK, DC1 = 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x11
FRAME = 15  # passive; an active-mode frame has one more byte, Flag2
FLAG2_ZERO, FLAG2_TARE, FLAG2_RANGE = 0x10, 0x20, 0x40

_NUMBER = re.compile(rb"^ *(\d+(?:\.\d*)?|\.\d+) *$")
_UNITS = {b"kg": "kg", b"g": "g", b"lb": "lb", b"sj": "jin"}


def bcc(data: bytes) -> int:
    x = 0
    for b in data:
        x ^= b
    return x


def _is_flag2(b: int) -> bool:
    return b & 0x8F == 0


class AclasCodec:
    """`active`: the scale streams 16-byte frames, so a frame is complete only with its
    Flag2. Passive (default): 15-byte frames (a stray 16th byte counts as garbage)."""

    def __init__(self, active: bool = False) -> None:
        self.active = active
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
            if len(buf) < FRAME or (self.active and len(buf) < FRAME + 1):
                break
            reading = self._decode(bytes(buf[:FRAME]))
            if reading is None:  # not a frame after all: drop SOH, rescan the rest
                self.garbage_bytes += 1
                del buf[0]
                continue
            size = FRAME
            if self.active and _is_flag2(buf[FRAME]):
                reading = self._with_flag2(reading, buf[FRAME])
                size += 1
            del buf[:size]
            self.frames += 1
            out.append(reading)
        return out

    @staticmethod
    def _with_flag2(r: Reading, flag2: int) -> Reading:
        out_of_range = bool(flag2 & FLAG2_RANGE)
        return replace(
            r, net=bool(flag2 & FLAG2_TARE), zero=bool(flag2 & FLAG2_ZERO) or r.zero,
            over=r.over or (out_of_range and not r.under), stable=r.stable and not out_of_range)

    @staticmethod
    def _decode(f: bytes) -> Reading | None:
        if f[13] != ETX or f[14] != EOT or f[12] not in (bcc(f[:12]), bcc(f[2:12])):
            return None
        sta, sign, number, unit = f[2:3], f[3:4], f[4:10], f[10:12]
        if sta not in (b"S", b"U", b"F") or sign not in (b"-", b" ", b"F"):
            return None
        if sign == b"F" or number == b"FFFFFF":  # CAS PD-II (ECR type 6) overload
            return Reading(grams=0, stable=False, over=True)
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
