"""Replay plugin for tests/devices/logs/printer/ (see logs/README.md).

Two kinds of escpos logs:
- printer replies (the default): bytes the printer sent - DLE EOT replies and GS a ASB frames -
  decoded by drivers.printer.status.StatusDecoder. A DLE EOT reply does not say which request
  it answers, so the log says which requests were outstanding: option `"expect": [1, 2, ...]`
  (in order), default the driver's poll cycle 1, 2, 3, 4 repeated, and how many GS r 1
  (job completion) requests were: option `"paper_requests": n`. Process ID responses
  (`37 22 d1..d4 00`) need no request. Golden: one decoded reply per line
  (`StatusReport.as_dict()`), then the counters.
- host streams, first line `#! {"host": true, "width": 32|48}`: the ESC/POS bytes the host sent
  (a rendered receipt), replayed through the printer simulator. Golden: one line per receipt
  (rendered lines, cut, complete), the drawer kicks and what the printer answered (hex: DLE
  EOT replies, GS r / GS ( H completion answers), then the counters.
"""

from __future__ import annotations

from typing import Any

from drivers.printer.status import StatusDecoder
from drivers.sim.printer import EscposPrinterSim


def replay_escpos(chunks: list[bytes], options: dict[str, Any]) -> list[dict[str, Any]]:
    if options.get("host"):
        sim = EscposPrinterSim(width=int(options.get("width", 48)), lines_per_s=None)
        answers = bytearray()
        for chunk in chunks:
            sim.feed(chunk)
            answers += sim.read_output()
        out: list[dict[str, Any]] = []
        for r in sim.receipts + ([sim.current] if sim.current else []):
            out.append({"lines": [ln.as_dict() for ln in r.lines], "cut": r.cut,
                        "complete": r.complete})
        out.append({"kicks": sim.kicks, "status_requests": sim.status_requests,
                    "answers": answers.hex()})
        counters = {"garbage_bytes": sim.garbage_bytes, "pending_bytes": sim.pending_bytes}
        return [*out, {"counters": counters}]
    codec = StatusDecoder()
    codec.expect(list(options.get("expect", [1, 2, 3, 4] * 256)))
    codec.paper_requests = int(options.get("paper_requests", 0))
    out = []
    for chunk in chunks:
        out.extend(r.as_dict() for r in codec.feed(chunk))
    counters = {"garbage_bytes": codec.garbage_bytes, "pending_bytes": codec.pending_bytes}
    return [*out, {"counters": counters}]


REPLAYERS = {"escpos": replay_escpos}
