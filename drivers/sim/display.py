"""Customer display simulator: a 2x20 VFD that renders CD5220 or Epson DM-D command bytes.

`snapshot()` gives {"lines": [row1, row2], "brightness", "cursor": [col, row] (1-based)}.
With `encoding="gb18030"` (a Chinese display) a GB double-byte character takes two cells;
otherwise bytes >= 0x80 show as '?'. Writing past column 20 moves to the start of the
other row (overwrite mode); CD5220 vertical scroll mode (ESC DC2) scrolls instead.
Commands it does not know are skipped as 2-byte sequences and counted in `garbage_bytes`.

The CD5220 set is the whole "CD5220 standard mode command list" of the display's manual, as
other pole-display clients send it: cursor moves (ESC [ A/B/C/D/H/L/R/K, BS, HT, LF, CR, HOM,
and the US forms US LF up, US CR right-most, US B bottom), ESC W (horizontal-scroll window),
ESC c (font), ESC f (international set), ESC = (peripheral), ESC s / ESC d (EEPROM), and
user-defined characters: ESC & 1 n m [a p1..pa]... defines codes n..m, ESC % 1 / 0 selects
or cancels them, ESC ? n deletes one. A defined character shows as USER_CHAR while selected.
"""

from __future__ import annotations

from typing import Any

from drivers.printer.cjk import char_width
from drivers.sim.base import SimDevice, remember

COLS, ROWS = 20, 2
ESC, US = 0x1B, 0x1F
_WIDE_TAIL = ""  # the cell covered by the right half of a wide character
USER_CHAR = "\u2592"  # how a user-defined (downloaded) character is shown

# Parameter counts after the 2-byte prefix.
_CD5220 = {"@": 0, "l": 2, "*": 1, "\x11": 0, "\x12": 0, "\x13": 0, "_": 1, "f": 1, "%": 1,
           "?": 1, "s": 1, "d": 1, "=": 1, "t": 1, "R": 1, "W": 4, "c": 1}
_CD5220_US = {"\x01": 0, "\x02": 0, "\x03": 0, "\n": 0, "\r": 0, "B": 0, "@": 0, "E": 1}
_EPSON = {"\x01": 0, "\x02": 0, "\x03": 0, "$": 2, "X": 1, "C": 1, "E": 1, "r": 1, "B": 0,
          "\n": 0, "\r": 0, "v": 1, "@": 0, "T": 2, "U": 0}
_EPSON_ESC = {"@": 0, "=": 1, "t": 1, "R": 1, "%": 1, "?": 1}


class DisplaySim(SimDevice):
    kind = "display"

    def __init__(self, command_set: str = "cd5220", encoding: str | None = None):
        super().__init__()
        if command_set not in ("cd5220", "epson"):
            raise ValueError(command_set)
        self.command_set = command_set
        self.encoding = None if encoding in (None, "", "ascii") else encoding
        self.garbage_bytes = 0
        self.scroll = False
        self.screens: list[list[str]] = []  # the last HISTORY screens shown, oldest first
        self.screen_count = 0
        self._buf = bytearray()
        self._reset()

    def _reset(self) -> None:
        self.cells = [[" "] * COLS for _ in range(ROWS)]
        self.col = 0
        self.row = 0
        self.brightness = 4
        self.scroll = False
        self._line_mode: int | None = None  # CD5220 ESC Q A/B: row being written
        self.user_chars: dict[int, bytes] = {}  # CD5220 ESC &: code -> 5-column pattern
        self.user_selected = False
        self.window: tuple[int, int, int] | None = None  # ESC W: (x1, x2, row)

    @property
    def pending_bytes(self) -> int:
        return len(self._buf)

    def snapshot(self) -> dict[str, Any]:
        return {"lines": self.lines(), "brightness": self.brightness,
                "cursor": [self.col + 1, self.row + 1], "window": self.window,
                "user_chars": sorted(self.user_chars)}

    def lines(self) -> list[str]:
        return ["".join(c for c in row if c != _WIDE_TAIL) for row in self.cells]

    def feed(self, data: bytes) -> None:
        self._buf += data
        while self._buf:
            n = self._step()
            if n == 0:
                break
            del self._buf[:n]
        shown = self.lines()
        if not self.screens or self.screens[-1] != shown:
            remember(self.screens, shown)
            self.screen_count += 1

    # -- screen ---------------------------------------------------------------------------
    def _clear(self) -> None:
        self.cells = [[" "] * COLS for _ in range(ROWS)]
        self.col = self.row = 0
        self._line_mode = None

    def _newline(self) -> None:
        if self.row == 0:
            self.row = 1
        elif self.scroll:
            self.cells = [self.cells[1], [" "] * COLS]
        else:
            self.row = 0

    def _put(self, ch: str, width: int | None = None) -> None:
        w = width or (char_width(ch) if self.encoding else 1)
        if self.col + w > COLS:
            if w == 2 and self.col < COLS:
                self.cells[self.row][self.col] = " "
            self.col = 0
            self._newline()
        row = self.cells[self.row]
        # Overwriting half of a wide character blanks its other half.
        if row[self.col] == _WIDE_TAIL and self.col > 0:
            row[self.col - 1] = " "
        end = self.col + w
        if end < COLS and row[end] == _WIDE_TAIL:
            row[end] = " "
        row[self.col] = ch
        if w == 2:
            row[self.col + 1] = _WIDE_TAIL
        self.col += w

    def _move(self, x: int, y: int) -> None:
        if 1 <= x <= COLS and 1 <= y <= ROWS:
            self.col, self.row = x - 1, y - 1
        else:
            self.garbage_bytes += 1

    # -- parsing --------------------------------------------------------------------------
    def _step(self) -> int:
        buf = self._buf
        b = buf[0]
        if b == ESC or b == US:
            if len(buf) < 2:
                return 0
            c = chr(buf[1])
            if b == US and self.command_set == "cd5220":
                return self._cd5220_us(c)
            if b == ESC and self.command_set == "cd5220" and c == "Q":
                return self._cd5220_q()
            if b == ESC and self.command_set == "cd5220" and c == "&":
                return self._cd5220_define()
            if b == ESC and self.command_set == "cd5220" and c == "[":
                if len(buf) < 3:
                    return 0
                self._cd5220_bracket(chr(buf[2]))
                return 3
            table = _EPSON if b == US else _EPSON_ESC if self.command_set == "epson" else _CD5220
            if c not in table:
                self.garbage_bytes += 2
                return 2
            n = 2 + table[c]
            if len(buf) < n:
                return 0
            self._command(b, c, bytes(buf[2:n]))
            return n
        if b < 0x20:
            self._control(b)
            return 1
        if b < 0x80:
            if self.user_selected and b in self.user_chars:
                self._put(USER_CHAR, 1)
            else:
                self._put(chr(b))
            return 1
        if self.encoding is None:
            self._put("?")
            return 1
        if len(buf) < 2:
            return 0
        n = 4 if 0x30 <= buf[1] <= 0x39 else 2
        if len(buf) < n:
            return 0
        self._put(bytes(buf[:n]).decode(self.encoding, errors="replace")[:1])
        return n

    def _control(self, b: int) -> None:
        if b == 0x0C:
            self._clear()
        elif b == 0x0B:
            self.col = self.row = 0
        elif b == 0x0D:
            self.col = 0
        elif b == 0x0A:
            self._newline()
        elif b == 0x08:
            self.col = max(0, self.col - 1)
        elif b == 0x09:
            self.col = min(COLS - 1, self.col + 1)
        elif b == 0x18:
            self.cells[self.row] = [" "] * COLS
            self.col = 0
        else:
            self.garbage_bytes += 1

    def _command(self, prefix: int, c: str, p: bytes) -> None:
        if c == "@" and (prefix == ESC or self.command_set == "cd5220"):
            self._reset()
        elif prefix == ESC and self.command_set == "cd5220":
            if c == "l":
                self._move(p[0], p[1])
            elif c == "*":
                self.brightness = min(4, max(1, p[0]))
            elif c == "\x12":
                self.scroll = True
            elif c in "\x11\x13":
                self.scroll = False
            elif c == "W":  # s x1 x2 y: the horizontal-scroll window, s=0 cancels it
                self.window = (p[1], p[2], p[3]) if p[0] & 1 else None
            elif c == "%":
                self.user_selected = bool(p[0] & 1)
            elif c == "?":
                self.user_chars.pop(p[0], None)
        elif prefix == US:
            if c == "$":
                self._move(p[0], p[1])
            elif c == "X":
                self.brightness = min(4, max(1, p[0]))
            elif c == "\x02":
                self.scroll = True
            elif c in "\x01\x03":
                self.scroll = False
            elif c == "B":
                self.row = ROWS - 1
            elif c == "\r":
                self.col = COLS - 1
            elif c == "\n":
                self.row = 0

    def _cd5220_bracket(self, c: str) -> None:
        if c == "H":
            self.col = self.row = 0
        elif c == "L":
            self.col = 0
        elif c == "R":
            self.col = COLS - 1
        elif c == "A":
            self.row = 0
        elif c == "B":
            self.row = ROWS - 1
        elif c == "C":
            self.col = min(COLS - 1, self.col + 1)
        elif c == "D":
            self.col = max(0, self.col - 1)
        elif c == "K":
            self.col, self.row = 0, ROWS - 1
        else:
            self.garbage_bytes += 3

    def _cd5220_us(self, c: str) -> int:
        """US forms of the CD5220 list: modes, cursor up / right-most / bottom, self test,
        blink."""
        if c not in _CD5220_US:
            self.garbage_bytes += 2
            return 2
        n = 2 + _CD5220_US[c]
        if len(self._buf) < n:
            return 0
        if c == "\x02":
            self.scroll = True
        elif c in "\x01\x03":
            self.scroll = False
        elif c == "\n":
            self.row = 0
        elif c == "\r":
            self.col = COLS - 1
        elif c == "B":
            self.row = ROWS - 1
        return n

    def _cd5220_define(self) -> int:
        """ESC & s n m, then for each code n..m: a (pattern columns) and a pattern bytes."""
        buf = self._buf
        if len(buf) < 5:
            return 0
        first, last = buf[3], buf[4]
        at, patterns = 5, {}
        for code in range(first, last + 1):
            if len(buf) <= at:
                return 0
            a = buf[at]
            if len(buf) < at + 1 + a:
                return 0
            patterns[code] = bytes(buf[at + 1 : at + 1 + a])
            at += 1 + a
        if first > last or not 0x20 <= first:
            self.garbage_bytes += at
            return at
        self.user_chars.update(patterns)
        return at

    def _cd5220_q(self) -> int:
        """ESC Q A|B text CR: write a whole row; ESC Q D text CR: scroll message on row 1
        (shown here as its first 20 columns)."""
        buf = self._buf
        if len(buf) < 3:
            return 0
        which = chr(buf[2])
        end = buf.find(0x0D, 3)
        if end < 0:
            return 0 if len(buf) < 3 + 45 else self._bad(3)
        if which not in "ABD":
            return self._bad(end + 1)
        row = 1 if which == "B" else 0
        self.cells[row] = [" "] * COLS
        self.col, self.row = 0, row
        for ch in self._decode(bytes(buf[3:end])):
            if self.col + (char_width(ch) if self.encoding else 1) > COLS:
                break
            self._put(ch)
        return end + 1

    def _decode(self, data: bytes) -> str:
        if self.encoding is None:
            return "".join(chr(b) if 0x20 <= b < 0x7F else "?" for b in data)
        return data.decode(self.encoding, errors="replace")

    def _bad(self, n: int) -> int:
        self.garbage_bytes += n
        return n
