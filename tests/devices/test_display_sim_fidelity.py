"""The CD5220 simulator speaks the whole CD5220 command list (the display's manual, table
"CD5220 standard mode command list"), as pole-display clients other than ours send it:
cursor moves (ESC [ D/C/A/B/H/L/R/K, BS, HT, HOM, US variants), ESC W (horizontal-scroll
window), ESC c (font), user-defined characters (ESC & define, ESC % select, ESC ? delete),
without counting any of it as garbage."""

from __future__ import annotations

from drivers.sim.display import USER_CHAR, DisplaySim


def _sim(data: bytes) -> DisplaySim:
    sim = DisplaySim("cd5220")
    sim.feed(data)
    return sim


def test_cursor_moves() -> None:
    sim = _sim(b"\x1b@" + b"ABCDE" + b"\x1b[D\x1b[D" + b"x" + b"\x08" + b"y"
               + b"\x1b[B" + b"z" + b"\x1b[A" + b"\x1b[L" + b"1" + b"\x1b[R" + b"9"
               + b"\x1b[K" + b"\x1b[C" + b"k" + b"\x1b[H" + b"h" + b"\x1fB" + b"\x1f\r" + b"e")
    assert sim.lines() == ["hBCyE              9", " k  z              e"]
    assert sim.garbage_bytes == 0


def test_vertical_cursor_moves_and_home_with_us_commands() -> None:
    sim = _sim(b"\x1b@" + b"\x1b[B" + b"low" + b"\x1f\n" + b"up" + b"\x0b" + b"H")
    assert sim.lines() == ["H  up" + " " * 15, "low" + " " * 17]
    assert sim.garbage_bytes == 0


def test_window_and_font_commands_are_understood() -> None:
    sim = _sim(b"\x1b@\x1bW\x01\x01\x0a\x01\x1bW\x00\x01\x14\x01\x1bc\x00Hi")
    assert sim.lines()[0].startswith("Hi") and sim.garbage_bytes == 0
    assert sim.snapshot()["window"] is None  # set, then cancelled


def test_user_defined_characters() -> None:
    glyph = bytes([5, 0x7F, 0x41, 0x41, 0x41, 0x7F])  # a = 5 columns, a box
    define = b"\x1b&\x01\x41\x42" + glyph + glyph  # 'A'..'B' redefined
    sim = _sim(b"\x1b@" + define + b"AB" + b"\x1b%\x01" + b"AB" + b"\x1b?\x41" + b"AB"
               + b"\x1b%\x00" + b"AB")
    assert sim.lines()[0] == "AB" + USER_CHAR * 2 + "A" + USER_CHAR + "AB" + " " * 12
    assert sim.snapshot()["user_chars"] == [0x42]
    assert sim.garbage_bytes == 0


def test_a_split_user_character_definition_waits_for_its_bytes() -> None:
    glyph = bytes([5, 1, 2, 3, 4, 5])
    data = b"\x1b@\x1b&\x01\x30\x31" + glyph + glyph + b"\x1b%\x010"
    sim = DisplaySim("cd5220")
    for b in data:
        sim.feed(bytes([b]))
    assert sim.lines()[0] == USER_CHAR + " " * 19 and sim.garbage_bytes == 0
