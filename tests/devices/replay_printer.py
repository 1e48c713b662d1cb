"""Replay plugin for tests/devices/logs/printer/ (see logs/README.md).

Two kinds of escpos logs:
- printer replies (the default): bytes the printer sent - DLE EOT replies and GS a ASB frames -
  decoded by drivers.printer.status.StatusDecoder. A DLE EOT reply does not say which request
  it answers, so the log says which requests were outstanding: option `"expect": [1, 2, ...]`
  (in order), default the driver's poll cycle 1, 2, 3, 4 repeated. Golden: one decoded reply
  per line (`StatusReport.as_dict()`), then the counters.
- host streams, first line `#! {"host": true, "width": 32|48}`: the ESC/POS bytes the host sent
  (a rendered receipt), replayed through the printer simulator. Golden: one line per receipt
  (rendered lines, cut, complete), the drawer kicks, then the counters.
"""

from __future__ import annotations

from typing import Any

from drivers.printer.status import StatusDecoder
from drivers.sim.printer import EscposPrinterSim


def replay_escpos(chunks: list[bytes], options: dict[str, Any]) -> list[dict[str, Any]]:
    if options.get("host"):
        sim = EscposPrinterSim(width=int(options.get("width", 48)), lines_per_s=None)
        for chunk in chunks:
            sim.feed(chunk)
        out: list[dict[str, Any]] = []
        for r in sim.receipts + ([sim.current] if sim.current else []):
            out.append({"lines": [ln.as_dict() for ln in r.lines], "cut": r.cut,
                        "complete": r.complete})
        out.append({"kicks": sim.kicks, "status_requests": sim.status_requests})
        counters = {"garbage_bytes": sim.garbage_bytes, "pending_bytes": sim.pending_bytes}
        return [*out, {"counters": counters}]
    codec = StatusDecoder()
    codec.expect(list(options.get("expect", [1, 2, 3, 4] * 256)))
    out = []
    for chunk in chunks:
        out.extend(r.as_dict() for r in codec.feed(chunk))
    counters = {"garbage_bytes": codec.garbage_bytes, "pending_bytes": codec.pending_bytes}
    return [*out, {"counters": counters}]


REPLAYERS = {"escpos": replay_escpos}
