"""Mettler Toledo 8217 ("ECR" weight-only) protocol, sans-I/O.

Byte layout follows the Mettler Toledo DIVA service manual, section "8217 protocol" (as
printed in the PSC Magellan 8500 service manual), cross-checked with Odoo's hw_scale
Toledo 8217 driver:

- Line: 9600 baud, 7 data bits, even parity, 1 stop bit. Bit 7 of every byte is masked off
  here, so a port opened 8N1 by mistake still decodes.
- Host -> scale: ``W`` weight, ``Z`` zero, ``T<CR>`` tare the load, ``Twwwww<CR>`` preset
  tare (five digits, WW.WWW in the scale's unit: kg, or lb on a scale set to pounds),
  ``C`` clear tare, ``H`` weight at ten times the resolution, ``E`` echo mode (answers
  ``STX E CR``, then echoes every byte until ``F``, answered ``STX F CR``; Odoo's IoT box
  probes for an 8217 scale this way), ``A`` confidence test; any other command (``B``
  included) answers with the status.
- Scale -> host: ``STX weight [N] CR`` (e.g. ``\\x0201.234\\r``, ``N`` = net) when the
  weight is valid, else ``STX ? status CR``. ``Z``/``T``/``C`` always answer with the status.
- Status byte: bit0 in motion, bit1 over capacity, bit2 under zero, bit3 outside zero
  capture range, bit4 centre of zero, bit5 net weight, bit6 always 1, bit7 parity.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from drivers.scale.reading import UNIT_GRAMS, Reading, to_grams

STX = 0x02
CR = 0x0D
MAX_BODY = 16  # longest legal body is ~9 bytes ("WWW.WWWN" + unit); anything longer is noise

_WEIGHT = re.compile(rb"^ *(\d+(?:\.\d*)?|\.\d+) *(N?) *(KG|kg|LB|lb|G|g)? *$")


@dataclass(frozen=True)
class Toledo8217Status:
    raw: int
    motion: bool
    over_capacity: bool
    under_zero: bool
    outside_zero_capture: bool
    center_of_zero: bool
    net: bool

    @classmethod
    def from_byte(cls, b: int) -> Toledo8217Status:
        return cls(
            raw=b & 0x7F,
            motion=bool(b & 0x01),
            over_capacity=bool(b & 0x02),
            under_zero=bool(b & 0x04),
            outside_zero_capture=bool(b & 0x08),
            center_of_zero=bool(b & 0x10),
            net=bool(b & 0x20),
        )

    def to_byte(self) -> int:
        return (
            0x40
            | self.motion * 0x01
            | self.over_capacity * 0x02
            | self.under_zero * 0x04
            | self.outside_zero_capture * 0x08
            | self.center_of_zero * 0x10
            | self.net * 0x20
        )

    def as_reading(self) -> Reading | None:
        """What a status-only answer says about the weight, or None when it does not say.

        A stable, in-range, off-zero status (the answer to T or C with a load on) carries no
        weight: the caller polls W again. Outside the zero capture range the scale refuses
        to weigh, so it is reported as not stable.
        """
        if self.motion or self.over_capacity or self.under_zero or self.outside_zero_capture:
            return Reading(
                grams=0,
                stable=not (self.motion or self.outside_zero_capture),
                zero=self.center_of_zero,
                over=self.over_capacity,
                under=self.under_zero,
                net=self.net,
            )
        if self.center_of_zero:
            return Reading(grams=0, stable=True, zero=True, net=self.net)
        return None


class Toledo8217Codec:
    """Feed it what the scale sent; get readings. Tolerates split frames, noise, resyncs on STX."""

    def __init__(self, unit: str = "kg"):
        self.unit = unit  # the unit the scale is set to when its answer carries none
        self.garbage_bytes = 0
        self.frames = 0  # valid frames seen (weights, statuses, bare acknowledgements)
        self.status: Toledo8217Status | None = None  # last status byte received
        self._body: bytearray | None = None  # bytes after STX, None outside a frame

    @property
    def pending_bytes(self) -> int:
        return 0 if self._body is None else 1 + len(self._body)

    # -- host commands ---------------------------------------------------------------
    def request_weight(self) -> bytes:
        return b"W"

    def zero(self) -> bytes:
        return b"Z"

    def tare(self) -> bytes:
        return b"T\r"

    def preset_tare(self, grams: int) -> bytes:
        """T + five digits: thousandths of the scale's unit (kg: grams; lb: 0.001 lb)."""
        thousandths = int((Decimal(grams) * 1000 / UNIT_GRAMS[self.unit]).quantize(
            Decimal(1), rounding=ROUND_HALF_UP))
        if not 0 <= thousandths <= 99_999:
            raise ValueError(f"preset tare must be 0..99.999 {self.unit}")
        return b"T%05d\r" % thousandths

    def clear_tare(self) -> bytes:
        return b"C"

    # -- decoding ----------------------------------------------------------------------
    def feed(self, data: bytes) -> list[Reading]:
        out: list[Reading] = []
        for byte in data:
            b = byte & 0x7F
            body = self._body
            if body is None:
                if b == STX:
                    self._body = bytearray()
                else:
                    self.garbage_bytes += 1
            elif b == STX:  # a new frame starts: the unfinished one was noise
                self.garbage_bytes += 1 + len(body)
                self._body = bytearray()
            elif b == CR:
                self._body = None
                self._frame(bytes(body), out)
            else:
                body.append(b)
                if len(body) > MAX_BODY:
                    self.garbage_bytes += 1 + len(body)
                    self._body = None
        return out

    def _frame(self, body: bytes, out: list[Reading]) -> None:
        if body == b"" or body == b"?":
            # STX CR answers A (confidence test); STX ? CR answers an unknown command
            self.frames += 1
            return
        if body[:1] == b"?" and len(body) == 2:
            self.frames += 1
            self.status = Toledo8217Status.from_byte(body[1])
            reading = self.status.as_reading()
            if reading is not None:
                out.append(reading)
            return
        m = _WEIGHT.match(body)
        if m is None:
            self.garbage_bytes += len(body) + 2
            return
        unit = (m.group(3) or self.unit.encode()).decode().lower()
        grams = to_grams(m.group(1).decode(), unit)
        self.frames += 1
        out.append(Reading(grams=grams, stable=True, zero=grams == 0, net=m.group(2) == b"N"))
