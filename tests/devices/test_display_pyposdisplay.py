"""The display simulator driven by a third-party pole-display client, not by our driver:
pyposdisplay (Akretion's library behind Odoo's posbox customer display), writing to a real
serial port (a pseudo-terminal) whose other end feeds the simulator.

Its drivers send: Labau LD240 (a CD5220-class display) `US MD1` overwrite mode (1F 01), CLR
(0C), the text, LF CR to go down a line; Bixolon BCD and Epson DM-D (the Epson command set)
`US C 0` cursor off (1F 43 00), CLR, the text, `US $ x y` (1F 24) to move the cursor."""

from __future__ import annotations

import os
import pty
import tty
from collections.abc import Iterator

import pytest
from pyposdisplay import pyposdisplay

from drivers.sim.display import DisplaySim


@pytest.fixture
def port() -> Iterator[tuple[int, str]]:
    master, slave = pty.openpty()
    tty.setraw(slave)  # bytes through unchanged (no LF -> CR LF), as on a real serial line
    name = os.ttyname(slave)
    try:
        yield master, name
    finally:
        os.close(slave)
        os.close(master)


def _received(master: int) -> bytes:
    os.set_blocking(master, False)
    out = bytearray()
    while True:
        try:
            chunk = os.read(master, 4096)
        except BlockingIOError:
            return bytes(out)
        if not chunk:
            return bytes(out)
        out += chunk


def _shown(port: tuple[int, str], driver: str, command_set: str, lines: list[str]) -> DisplaySim:
    master, name = port
    client = pyposdisplay.Driver({"customer_display_device_name": name}, use_driver_name=driver)
    client.send_text(lines)
    sim = DisplaySim(command_set)
    sim.feed(_received(master))
    return sim


@pytest.mark.parametrize("lines", [
    ["Total", "12.50 EUR"],
    ["Cafe creme x2", "Bienvenue!"],
])
def test_labau_client_on_the_cd5220_simulator(port, lines: list[str]) -> None:
    sim = _shown(port, "labau", "cd5220", lines)
    assert sim.lines() == [line.ljust(20) for line in lines]
    assert sim.garbage_bytes == 0 and not sim.scroll


def test_labau_client_writes_unidecoded_ascii(port) -> None:
    """The client transliterates (unidecode) before writing ASCII: what the display shows."""
    sim = _shown(port, "labau", "cd5220", ["Crème brûlée", "À bientôt"])
    assert sim.lines() == ["Creme brulee".ljust(20), "A bientot".ljust(20)]
    assert sim.garbage_bytes == 0


@pytest.mark.parametrize("driver", ["bixolon", "epson"])
def test_epson_command_set_clients(port, driver: str) -> None:
    sim = _shown(port, driver, "epson", ["Subtotal", "3 items   9.90"])
    assert sim.lines() == ["Subtotal".ljust(20), "3 items   9.90".ljust(20)]
    assert sim.garbage_bytes == 0
    assert sim.snapshot()["cursor"] == [15, 2]


def test_a_full_line_then_the_next(port) -> None:
    """20 characters fill the row; the client's LF CR then starts row 2 at column 1 (a
    display in overwrite mode must not wrap twice)."""
    sim = _shown(port, "labau", "cd5220", ["A" * 20, "B" * 20])
    assert sim.lines() == ["A" * 20, "B" * 20]
