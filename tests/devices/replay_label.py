"""Replay plugin for tests/devices/logs/label/ (see logs/README.md).

Two kinds of tspl logs:
- printer replies (the default): the status bytes a printer sent for `<ESC>!?`, decoded by
  drivers.label.codec.StatusDecoder; option `"requests": n` says how many requests were
  outstanding (bytes beyond them are garbage). Golden: one decoded status a line, then the
  counters.
- host streams, first line `#! {"host": true}`: the TSPL bytes a host sent, replayed through
  the label printer simulator (printing as it receives); `"run_out_after": n` ends the roll
  after n labels. Golden: one line per printed label (size, lines), what the printer
  answered (hex: `<ESC>!?` status bytes) and the labels lost or still queued, then the
  counters.
"""

from __future__ import annotations

from typing import Any

from drivers.label.codec import StatusDecoder
from drivers.sim.label import TsplLabelPrinterSim


def replay_tspl(chunks: list[bytes], options: dict[str, Any]) -> list[dict[str, Any]]:
    if options.get("host"):
        sim = TsplLabelPrinterSim(labels_per_s=None)
        if "run_out_after" in options:
            sim.run_out_after(int(options["run_out_after"]))
        answers = bytearray()
        for chunk in chunks:
            sim.feed(chunk)
            answers += sim.read_output()
        snap = sim.snapshot()
        out: list[dict[str, Any]] = [{"size": lb["size"], "gap": lb["gap"], "lines": lb["lines"]}
                                     for lb in sim.labels]
        out.append({"answers": answers.hex(), "lost_labels": snap["lost_labels"],
                    "queued": snap["queued"], "unknown_commands": snap["unknown_commands"]})
        counters = {"overflow_bytes": snap["overflow_bytes"],
                    "buffered_bytes": snap["buffered_bytes"]}
        return [*out, {"counters": counters}]
    codec = StatusDecoder()
    for _ in range(int(options.get("requests", 0))):
        codec.request()
    out = []
    for chunk in chunks:
        out.extend(s.as_dict() for s in codec.feed(chunk))
    counters = {"garbage_bytes": codec.garbage_bytes, "pending_bytes": codec.pending_bytes}
    return [*out, {"counters": counters}]


REPLAYERS = {"tspl": replay_tspl}
