"""Cash drawer codec (sans-I/O): the kick command and the drawer sensor.

Byte layout follows the Epson ESC/POS reference:
- ESC p m t1 t2 (1B 70 m t1 t2): "generate pulse" on the drawer kick-out connector.
  m = 0 (or 48) drives pin 2, m = 1 (or 49) drives pin 5. The pulse is ON for t1 x 2 ms and
  OFF for t2 x 2 ms (0 <= t1, t2 <= 255; a printer treats t2 < t1 as t2 = t1).
- DLE EOT 1 response bit 2 / ASB first byte bit 2: "drawer kick-out connector pin 3" level.
  Whether HIGH means open depends on the drawer's switch wiring, hence `open_when_high`.
"""

from __future__ import annotations

ESC = 0x1B

PIN_TO_M = {2: 0, 5: 1}


def pulse_units(ms: int) -> int:
    """Milliseconds -> the 2 ms units ESC p counts in, clamped to one byte."""
    if ms < 0:
        raise ValueError("pulse time must be >= 0 ms")
    return min(255, (ms + 1) // 2)


def kick_command(pin: int = 2, on_ms: int = 100, off_ms: int = 200) -> bytes:
    """ESC p m t1 t2 for drawer kick-out connector `pin` (2 or 5)."""
    try:
        m = PIN_TO_M[pin]
    except KeyError:
        raise ValueError(f"drawer pin must be 2 or 5, not {pin!r}") from None
    return bytes([ESC, ord("p"), m, pulse_units(on_ms), pulse_units(off_ms)])


def parse_kick(cmd: bytes) -> tuple[int, int, int]:
    """(pin, on_ms, off_ms) of an ESC p command (inverse of `kick_command`)."""
    if len(cmd) != 5 or cmd[0] != ESC or cmd[1] != ord("p"):
        raise ValueError(f"not an ESC p command: {cmd.hex(' ')}")
    m = cmd[2]
    if m in (0, 48):
        pin = 2
    elif m in (1, 49):
        pin = 5
    else:
        raise ValueError(f"ESC p: bad connector m={m}")
    return pin, cmd[3] * 2, cmd[4] * 2


def is_open(pin3_high: bool, open_when_high: bool = True) -> bool:
    """Drawer open/closed from the pin-3 sensor level and the configured polarity."""
    return pin3_high == open_when_high


def parse_bytes_option(value: str | bytes | list[int] | None, default: bytes) -> bytes:
    """A byte string from config: bytes, a list of ints, or a hex string ("1b 70 00 32 64")."""
    if value is None:
        return default
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    if isinstance(value, list):
        return bytes(value)
    return bytes.fromhex(str(value).replace(" ", "").replace(":", ""))
