"""Scale simulators: the device end of the Toledo 8217, CAS and Aclas OS2X protocols.

Each keeps a platter: `set_weight(grams, stable=True)` puts a load whose gross reading (above
the current zero) is `grams`; `set_unstable()` makes it wobble; `set_overload()` goes over
capacity; `set_silent()` stops answering (a cut cable on a serial line). Zero and tare follow
the usual rules: zero only when stable, untared and within the capture range (±2 % of
capacity); tare only when stable and loaded; the display shows net = gross - tare.
"""

from __future__ import annotations

from typing import Any

from drivers.scale.aclas import ACK, DC1, ENQ, FLAG2_RANGE, FLAG2_TARE, FLAG2_ZERO, bcc
from drivers.scale.toledo8217 import CR, STX, Toledo8217Status
from drivers.sim.base import SimDevice, remember


class ScaleSim(SimDevice):
    kind = "scale"

    def __init__(self, capacity_grams: int = 15_000):
        super().__init__()
        self.capacity = capacity_grams
        self.gross = 0
        self.tare_grams = 0
        self.stable = True
        self.overload = False
        self.silent = False
        self.commands: list[str] = []  # what the host asked, the last HISTORY, for tests

    # -- actions -----------------------------------------------------------------------------
    def set_weight(self, grams: int, stable: bool = True) -> None:
        self.gross = int(grams)
        self.stable = stable
        self.overload = False

    def set_unstable(self) -> None:
        self.stable = False

    def set_overload(self) -> None:
        self.overload = True

    def set_silent(self, silent: bool = True) -> None:
        self.silent = silent

    # -- state -------------------------------------------------------------------------------
    @property
    def display(self) -> int:
        return self.gross - self.tare_grams

    @property
    def over(self) -> bool:
        return self.overload or self.gross > self.capacity

    @property
    def under(self) -> bool:
        return not self.over and self.display < 0

    def do_zero(self) -> bool:
        if self.stable and not self.over and not self.tare_grams:
            if abs(self.gross) <= self.capacity // 50:
                self.gross = 0
                return True
        return False

    def do_tare(self) -> bool:
        if self.stable and not self.over and self.gross > 0:
            self.tare_grams = self.gross
            return True
        return False

    def do_clear_tare(self) -> bool:
        if self.stable:
            self.tare_grams = 0
            return True
        return False

    def snapshot(self) -> dict[str, Any]:
        return {
            "gross": self.gross,
            "tare": self.tare_grams,
            "display": self.display,
            "stable": self.stable,
            "over": self.over,
            "under": self.under,
            "silent": self.silent,
        }

    def send(self, data: bytes) -> None:
        if not self.silent:
            super().send(data)


def _kg_text(grams: int, width: int) -> str:
    """1234 -> '01.234' (width 6) — the scale's fixed-width kg field, sign excluded."""
    g = abs(grams)
    return f"{g // 1000:0{width - 4}d}.{g % 1000:03d}"


LB_GRAMS = 453.59237  # the international avoirdupois pound


class Toledo8217Sim(ScaleSim):
    """The 8217 command set as the Mettler Toledo and Brecknell service manuals list it:
    W, H (x10 resolution), Z, T / Twwwww (preset, thousandths of the scale's unit), C, A,
    E ... F echo mode, and `STX ? status CR` for any other command (B included).

    `unit` is the unit the scale is set to (its calibration setting, not a command): "kg"
    answers W as WW.WWW kg, "lb" as WW.WWW lb, and a preset tare's five digits are read as
    thousandths of that unit. The platter itself stays in grams."""

    def __init__(self, capacity_grams: int = 15_000, unit: str = "kg"):
        if unit not in ("kg", "lb"):
            raise ValueError("unit must be kg or lb")
        super().__init__(capacity_grams)
        self.unit = unit
        self._tare_cmd: bytearray | None = None  # collecting "T[wwwww]<CR>"
        self.echo = False

    def status(self) -> Toledo8217Status:
        return Toledo8217Status(
            raw=0,
            motion=not self.stable,
            over_capacity=self.over,
            under_zero=self.under,
            outside_zero_capture=False,
            center_of_zero=not self.over and self.display == 0,
            net=self.tare_grams > 0,
        )

    def _send_status(self) -> None:
        self.send(bytes([STX, ord("?"), self.status().to_byte(), CR]))

    @property
    def _unit_grams(self) -> float:
        return 1000.0 if self.unit == "kg" else LB_GRAMS

    def _weight_text(self, grams: int, decimals: int) -> str:
        """WW.WWW (W; H has one more decimal) in the scale's unit."""
        scale = 10 ** decimals
        units = round(abs(grams) * scale / self._unit_grams)
        return f"{units // scale:02d}.{units % scale:0{decimals}d}"

    def feed(self, data: bytes) -> None:
        for byte in data:
            c = chr(byte & 0x7F)
            if self.echo:
                if c == "F":
                    self.echo = False
                    remember(self.commands, "F")
                    self.send(bytes([STX, ord("F"), CR]))
                else:
                    self.send(bytes([byte & 0x7F]))
                continue
            if self._tare_cmd is not None:
                if c.isdigit():
                    self._tare_cmd.append(byte)
                    continue
                self._finish_tare()
                if c == "\r":
                    continue
            self._command(c)

    def _finish_tare(self) -> None:
        digits, self._tare_cmd = bytes(self._tare_cmd or b""), None
        remember(self.commands, "T" + digits.decode())
        if digits:
            if self.stable and not self.over:
                self.tare_grams = round(int(digits) * self._unit_grams / 1000)
        else:
            self.do_tare()
        self._send_status()

    def _command(self, c: str) -> None:
        if c in "\r\n":
            return
        if c == "T":
            self._tare_cmd = bytearray()
            return
        remember(self.commands, c)
        if c == "W":
            st = self.status()
            if st.motion or st.over_capacity or st.under_zero:
                self._send_status()
            else:
                text = self._weight_text(self.display, 3) + ("N" if st.net else "")
                self.send(bytes([STX]) + text.encode() + bytes([CR]))
        elif c == "Z":
            self.do_zero()
            self._send_status()
        elif c == "C":
            self.do_clear_tare()
            self._send_status()
        elif c == "H":
            st = self.status()
            if st.motion or st.over_capacity or st.under_zero:
                self._send_status()
            else:
                text = self._weight_text(self.display, 4) + ("N" if st.net else "")
                self.send(bytes([STX]) + text.encode() + bytes([CR]))
        elif c == "A":
            self.send(bytes([STX, CR]))
        elif c == "E":
            self.echo = True
            self.send(bytes([STX, ord("E"), CR]))
        else:
            self._send_status()


class CasSim(ScaleSim):
    """Streams one frame per tick. frame=22 (with device id and lamp byte) or 18; unit kg|g."""

    tick_interval = 0.1

    def __init__(self, capacity_grams: int = 15_000, frame: int = 22, unit: str = "kg",
                 device_id: int = 1):
        super().__init__(capacity_grams)
        if frame not in (18, 22) or unit not in ("kg", "g"):
            raise ValueError("frame must be 18 or 22, unit kg or g")
        self.frame_size = frame
        self.unit = unit
        self.device_id = device_id

    def frame(self) -> bytes:
        h1 = b"OL" if self.over else (b"ST" if self.stable else b"US")
        h2 = b"NT" if self.tare_grams else b"GS"
        sign = "-" if self.display < 0 else "+"
        if self.unit == "kg":
            g = abs(self.display)
            data = sign + f"{g // 1000}.{g % 1000:03d}".rjust(7)
            unit = b"kg"
        else:
            data = f"{sign}{abs(self.display):7d}"
            unit = b" g"
        if h1 == b"OL":
            data = sign + " " * 7
        data_b = data.encode()[:8].rjust(8)
        if self.frame_size == 18:
            return h1 + b"," + h2 + b"," + data_b + unit.strip().rjust(2) + b"\r\n"
        lamp = (0x80 | 0x20 | (0x40 if self.stable else 0) | (0 if self.tare_grams else 0x04)
                | (0x02 if self.tare_grams else 0) | (0x01 if self.display == 0 else 0))
        ident = bytes([0x30 + self.device_id, lamp])
        return h1 + b"," + h2 + b"," + ident + b"," + data_b + b" " + unit + b"\r\n"

    def tick(self) -> None:
        self.send(self.frame())


class AclasSim(ScaleSim):
    """Passive by default (ENQ/ACK, DC1 -> frame); "<PB>\\t" switches to streaming each tick."""

    tick_interval = 0.1

    def __init__(self, capacity_grams: int = 15_000, active: bool = False):
        super().__init__(capacity_grams)
        self.active = active
        self._cmd = bytearray()

    def frame(self) -> bytes:
        """15 bytes answering DC1; 16 in active mode, with Flag2 (zero, tare, range)."""
        sta = b"F" if self.over else (b"S" if self.stable else b"U")
        sign = b"-" if self.display < 0 else b" "
        weight = _kg_text(self.display, 6).encode()
        body = bytes([0x01, 0x02]) + sta + sign + weight + b"kg"
        frame = body + bytes([bcc(body), 0x03, 0x04])
        if not self.active:
            return frame
        flag2 = ((FLAG2_ZERO if self.display == 0 and not self.over else 0)
                 | (FLAG2_TARE if self.tare_grams else 0) | (FLAG2_RANGE if self.over else 0))
        return frame + bytes([flag2])

    def feed(self, data: bytes) -> None:
        for b in data:
            if self._cmd or b == ord("<"):
                self._cmd.append(b)
                if b == 0x09 or len(self._cmd) > 8:
                    self._bracket(bytes(self._cmd))
                    self._cmd.clear()
            elif b == ENQ:
                remember(self.commands, "ENQ")
                self.send(bytes([ACK]))
            elif b == DC1:
                remember(self.commands, "DC1")
                self.send(self.frame())

    def _bracket(self, cmd: bytes) -> None:
        name = cmd.strip(b"<>\t").decode("latin-1")
        remember(self.commands, name)
        if name == "TK":
            self.do_tare()
        elif name == "ZK":
            self.do_zero()
        elif name == "PB":
            self.active = True
        elif name == "AL":
            self.active = False

    def tick(self) -> None:
        if self.active:
            self.send(self.frame())
