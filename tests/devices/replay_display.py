"""Replay plugin for tests/devices/logs/display/ (see logs/README.md).

A customer display never answers: its logs hold the bytes the HOST sent to the display
(driver `cd5220` or `epson`, option `"encoding": "gb18030"` for a Chinese display), replayed
through drivers.sim.display.DisplaySim. Golden: the screen `{"lines": [row1, row2]}` after every
chunk that changed it, then the counters.
"""

from __future__ import annotations

from typing import Any

from drivers.sim.display import DisplaySim


def _replayer(command_set: str) -> Any:
    def replay(chunks: list[bytes], options: dict[str, Any]) -> list[dict[str, Any]]:
        sim = DisplaySim(command_set, options.get("encoding"))
        out: list[dict[str, Any]] = []
        last = sim.lines()
        for chunk in chunks:
            sim.feed(chunk)
            if sim.lines() != last:
                last = sim.lines()
                out.append({"lines": last})
        counters = {"garbage_bytes": sim.garbage_bytes, "pending_bytes": sim.pending_bytes}
        return [*out, {"counters": counters}]

    return replay


REPLAYERS = {"cd5220": _replayer("cd5220"), "epson": _replayer("epson")}
