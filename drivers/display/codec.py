"""Customer (pole) display codecs for a 2x20 VFD: the CD5220 and Epson DM-D command sets.

CD5220 (Partner Tech CD5220 user's manual; same bytes as LCDproc's serialPOS_cd5220.c):
  ESC @ 1B 40 init | CLR 0C clear + home | HOM 0B home | CR 0D start of line | LF 0A down
  ESC l x y  1B 6C x y   cursor to column x (1..20), row y (1..2)
  ESC * n    1B 2A n     brightness 1..4 (25 % steps)
  ESC DC1    1B 11       overwrite mode (default)
Epson DM-D / ESC/POS customer display (Epson DM-D command reference; as in node-escpos
"screen" commands):
  ESC @ 1B 40 init | CLR 0C | HOM 0B | CR 0D | LF 0A
  US $ x y   1F 24 x y   cursor to column x (1..20), row y (1..2)
  US X n     1F 58 n     brightness 1..4
  US MD1     1F 01       overwrite mode

Text: a Chinese display (option encoding="gb18030") takes GB double-byte characters
directly, two cells each; otherwise the display gets ASCII, anything else replaced.
`frame(lines)` pads / truncates each line to exactly 20 columns (CJK counting 2) and writes
both rows at absolute positions, so what is on screen never depends on earlier output.
"""

from __future__ import annotations

from drivers.printer.cjk import fit, sanitize

COLS, ROWS = 20, 2
ESC, US = 0x1B, 0x1F


class DisplayCodec:
    name = ""

    def __init__(self, encoding: str | None = None, cols: int = COLS):
        # encoding None / "ascii": ASCII only; else a GB codec for a Chinese display.
        self.encoding = None if encoding in (None, "", "ascii") else encoding
        self.cols = cols

    # -- command set specific -----------------------------------------------------------
    def move(self, col: int, row: int) -> bytes:
        raise NotImplementedError

    def brightness(self, level: int) -> bytes:
        raise NotImplementedError

    def overwrite_mode(self) -> bytes:
        raise NotImplementedError

    # -- common ---------------------------------------------------------------------------
    def init(self) -> bytes:
        return bytes([ESC, ord("@")]) + self.overwrite_mode()

    def clear(self) -> bytes:
        return b"\x0c"

    def home(self) -> bytes:
        return b"\x0b"

    def line2(self) -> bytes:
        return self.move(1, 2)

    def fit_line(self, text: str) -> str:
        """The exact 20-column text a line will show."""
        return fit(sanitize(text, self.encoding), self.cols)

    def text(self, text: str) -> bytes:
        """Bytes of already-fitted text."""
        if self.encoding is None:
            return text.encode("ascii", errors="replace")
        return text.encode(self.encoding, errors="replace")

    def fit_lines(self, lines: list[str]) -> list[str]:
        rows = [*lines[:ROWS], *[""] * (ROWS - len(lines))]
        return [self.fit_line(r) for r in rows]

    def frame(self, lines: list[str]) -> bytes:
        """Show `lines` (2 rows) as a whole screen."""
        out = bytearray()
        for row, text in enumerate(self.fit_lines(lines), start=1):
            out += self.move(1, row) + self.text(text)
        return bytes(out)


class CD5220Codec(DisplayCodec):
    name = "cd5220"

    def move(self, col: int, row: int) -> bytes:
        return bytes([ESC, ord("l"), col, row])

    def brightness(self, level: int) -> bytes:
        return bytes([ESC, ord("*"), min(4, max(1, level))])

    def overwrite_mode(self) -> bytes:
        return bytes([ESC, 0x11])


class EpsonDisplayCodec(DisplayCodec):
    name = "epson"

    def move(self, col: int, row: int) -> bytes:
        return bytes([US, ord("$"), col, row])

    def brightness(self, level: int) -> bytes:
        return bytes([US, ord("X"), min(4, max(1, level))])

    def overwrite_mode(self) -> bytes:
        return bytes([US, 0x01])


CODECS: dict[str, type[DisplayCodec]] = {"cd5220": CD5220Codec, "epson": EpsonDisplayCodec}
