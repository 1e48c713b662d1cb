"""CAS continuous output ("CAS 22 bytes" and the short 18-byte form), sans-I/O.

Layout follows the CAS indicator manuals (CI-400 / CI-600D / NT-200 / PDS "CAS protocol
(22 bytes)"):

    22 bytes: H1 H2 ',' H3 H4 ',' ID LAMP ',' DATA(8) ' ' UNIT(2) CR LF
    18 bytes: H1 H2 ',' H3 H4 ',' DATA(8) UNIT(2) CR LF        e.g. "ST,GS,+  1.234kg\\r\\n"

H1H2: ST stable, US unstable, OL overload (sign '-' = under). H3H4: GS gross, NT net.
ID: device number as ASCII. LAMP: bit7 1, bit6 stable, bit4 hold, bit3 printer, bit2 gross,
bit1 tare, bit0 zero point. DATA: weight with optional sign, spaces or leading zeros.
UNIT: "kg", " g"/"g ", "lb", "t". The stream is continuous: there are no host commands.

A frame is recognised at the tail of each LF-terminated line, so noise glued in front of a
frame costs only the noise; a line with no frame at its end is counted as garbage.
"""

from __future__ import annotations

import re

from drivers.scale.reading import Reading, to_grams

MAX_LINE = 64

_DATA = re.compile(rb"^ *([+-])? *(\d+(?:\.\d*)?|\.\d+) *$")
_HEAD = re.compile(rb"^(ST|US|OL),(GS|NT),$")
_UNITS = {b"kg": "kg", b"g": "g", b"lb": "lb", b"t": "t"}


class CasCodec:
    def __init__(self) -> None:
        self.garbage_bytes = 0
        self.frames = 0
        self._buf = bytearray()

    @property
    def pending_bytes(self) -> int:
        return len(self._buf)

    def feed(self, data: bytes) -> list[Reading]:
        out: list[Reading] = []
        self._buf += data
        while True:
            end = self._buf.find(b"\n")
            if end < 0:
                if len(self._buf) > MAX_LINE:  # only the tail can hold a frame
                    drop = len(self._buf) - MAX_LINE
                    self.garbage_bytes += drop
                    del self._buf[:drop]
                return out
            line = bytes(self._buf[:end])
            del self._buf[: end + 1]
            used = 1  # the LF
            if line.endswith(b"\r"):
                line = line[:-1]
                used += 1
            reading, size = self._tail(line)
            if reading is None:
                self.garbage_bytes += len(line) + used
                continue
            self.frames += 1
            self.garbage_bytes += len(line) - size
            out.append(reading)

    def _tail(self, line: bytes) -> tuple[Reading | None, int]:
        # 22-byte form: 20 bytes before CR LF
        t = line[-20:]
        if len(t) == 20 and t[8:9] == b"," and t[17:18] == b" " and _HEAD.match(t[:6]):
            r = self._decode(t[0:2], t[3:5], t[9:17], t[18:20], lamp=t[7])
            if r is not None:
                return r, 20
        t = line[-16:]
        if len(t) == 16 and _HEAD.match(t[:6]):
            r = self._decode(t[0:2], t[3:5], t[6:14], t[14:16], lamp=None)
            if r is not None:
                return r, 16
        return None, 0

    @staticmethod
    def _decode(h1: bytes, h2: bytes, data: bytes, unit: bytes, lamp: int | None) -> Reading | None:
        u = _UNITS.get(unit.strip().lower())
        if u is None:
            return None
        m = _DATA.match(data)
        if h1 == b"OL":
            # overload frames often carry blanks or dashes instead of a number
            negative = b"-" in data
            return Reading(grams=0, stable=False, over=not negative, under=negative,
                           net=h2 == b"NT")
        if m is None:
            return None
        grams = to_grams(m.group(2).decode(), u)
        if m.group(1) == b"-":
            grams = -grams
        zero = bool(lamp & 0x01) if lamp is not None else grams == 0
        return Reading(grams=grams, stable=h1 == b"ST", zero=zero, under=grams < 0,
                       net=h2 == b"NT")
