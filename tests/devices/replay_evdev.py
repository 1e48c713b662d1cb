"""Replay plugin for keyboard-wedge logs (tests/devices/logs/evdev/<layout>-<case>.log).

The log holds raw `struct input_event` bytes (24 bytes each); the driver part of the name is
the keyboard layout given to KeyDecoder. Items: one `{"text"}` per LF-terminated line the
key presses spell; text left without a LF gives a last `{"text", "terminated": false}`.
"""

from __future__ import annotations

from typing import Any

from drivers.transports.evdev import KeyDecoder


def _replayer(layout: str):
    def replay(chunks: list[bytes], options: dict[str, Any]) -> list[dict[str, Any]]:
        decoder = KeyDecoder(layout, **options)
        text = b"".join(decoder.feed(chunk) for chunk in chunks).decode("utf-8")
        *lines, rest = text.split("\n")
        items: list[dict[str, Any]] = [{"text": line} for line in lines]
        if rest:
            items.append({"text": rest, "terminated": False})
        counters = {"garbage_bytes": decoder.garbage_bytes, "pending_bytes": decoder.pending_bytes}
        return [*items, {"counters": counters}]

    return replay


REPLAYERS = {"us": _replayer("us"), "de": _replayer("de")}
