"""Replays every recorded device log through its codec and compares with the golden output.

Format and update procedure: tests/devices/logs/README.md. GOLDEN_UPDATE=1 rewrites goldens.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from drivers.scale.aclas import AclasCodec
from drivers.scale.cas import CasCodec
from drivers.scale.toledo8217 import Toledo8217Codec
from drivers.scanner.codec import HidPosDecoder, TextScanDecoder, parse_suffix

LOGS = Path(__file__).parent / "logs"
UPDATE = os.environ.get("GOLDEN_UPDATE") == "1"

Replayer = Callable[[list[bytes], dict[str, Any]], list[dict[str, Any]]]

_ESCAPE = re.compile(rb"\\(x[0-9a-fA-F]{2}|r|n|t|\\)")
_SIMPLE = {b"r": b"\r", b"n": b"\n", b"t": b"\t", b"\\": b"\\"}


def _unescape(line: bytes) -> bytes:
    def sub(m: re.Match[bytes]) -> bytes:
        code = m.group(1)
        return bytes([int(code[1:], 16)]) if code[:1] == b"x" else _SIMPLE[code]

    return _ESCAPE.sub(sub, line)


def parse_log(text: bytes) -> tuple[list[bytes], dict[str, Any]]:
    """A .log file -> (chunks, codec options)."""
    chunks: list[bytes] = []
    options: dict[str, Any] = {}
    for n, line in enumerate(text.split(b"\n")):
        line = line.removesuffix(b"\r")
        if n == 0 and line.startswith(b"#!"):
            options = json.loads(line[2:])
            continue
        if not line or line.startswith(b"#"):
            continue
        chunks.append(_unescape(line))
    return chunks, options


def escape_log(data: bytes) -> str:
    """Bytes -> one .log line (used to write new logs)."""
    out = []
    for b in data:
        if b == 0x5C:
            out.append("\\\\")
        elif 0x20 <= b < 0x7F:
            out.append(chr(b))
        else:
            out.append({0x0D: "\\r", 0x0A: "\\n", 0x09: "\\t"}.get(b, f"\\x{b:02x}"))
    return "".join(out)


def _counters(codec: Any) -> dict[str, Any]:
    counters = {"garbage_bytes": codec.garbage_bytes, "pending_bytes": codec.pending_bytes}
    return {"counters": counters}


def _scale(factory: Callable[..., Any]) -> Replayer:
    def replay(chunks: list[bytes], options: dict[str, Any]) -> list[dict[str, Any]]:
        codec = factory(**options)
        out: list[dict[str, Any]] = []
        for chunk in chunks:
            out.extend(r.as_wire() for r in codec.feed(chunk))
        return [*out, _counters(codec)]

    return replay


def _text_scanner(chunks: list[bytes], options: dict[str, Any]) -> list[dict[str, Any]]:
    codec = TextScanDecoder(
        prefix=options.get("prefix", "").encode("latin-1"),
        suffix=parse_suffix(options.get("suffix", "CR")),
        aim=options.get("aim", False),
    )
    out: list[dict[str, Any]] = []
    for chunk in chunks:
        out.extend(s.as_wire() for s in codec.feed(chunk))
    return [*out, _counters(codec)]


def _hidpos(chunks: list[bytes], options: dict[str, Any]) -> list[dict[str, Any]]:
    codec = HidPosDecoder(**options)
    out: list[dict[str, Any]] = []
    for chunk in chunks:
        out.extend({**s.as_wire(), "aim": s.aim} for s in codec.feed(chunk))
    return [*out, _counters(codec)]


REPLAYERS: dict[tuple[str, str], Replayer] = {
    ("scale", "toledo8217"): _scale(Toledo8217Codec),
    ("scale", "cas"): _scale(CasCodec),
    ("scale", "aclas"): _scale(AclasCodec),
    ("scanner", "serial"): _text_scanner,
    ("scanner", "wedge"): lambda chunks, opts: _text_scanner(chunks, {**opts, "suffix": "LF"}),
    ("scanner", "hidpos"): _hidpos,
}


def _load_plugins() -> None:
    for path in sorted(Path(__file__).parent.glob("replay_*.py")):
        device = path.stem.removeprefix("replay_")
        spec = importlib.util.spec_from_file_location(f"_replay_{device}", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        for driver, fn in module.REPLAYERS.items():
            REPLAYERS[(device, driver)] = fn


_load_plugins()


def replayer_for(log: Path) -> Replayer:
    device = log.parent.name
    driver = log.stem.split("-", 1)[0]
    try:
        return REPLAYERS[(device, driver)]
    except KeyError:
        raise LookupError(f"no replayer for {device}/{driver} ({log.name})") from None


def replay_file(log: Path) -> list[dict[str, Any]]:
    chunks, options = parse_log(log.read_bytes())
    return replayer_for(log)(chunks, options)


def read_golden(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


ALL_LOGS = sorted(LOGS.glob("*/*.log"))


@pytest.mark.parametrize("log", ALL_LOGS, ids=[f"{p.parent.name}/{p.stem}" for p in ALL_LOGS])
def test_replay_matches_golden(log: Path) -> None:
    got = replay_file(log)
    golden = log.with_suffix(".golden")
    if UPDATE:
        golden.write_text("".join(json.dumps(item, sort_keys=True) + "\n" for item in got))
        return
    assert golden.exists(), f"{golden} missing: run with GOLDEN_UPDATE=1 and review it"
    assert got == read_golden(golden)


def test_log_format_round_trips() -> None:
    data = bytes(range(256)) + b"\\x41 #"
    assert parse_log(escape_log(data).encode())[0] == [data]
    assert parse_log(b'#! {"aim": true}\n# comment\n\nab\\r\n\\x23c\n') == (
        [b"ab\r", b"#c"],
        {"aim": True},
    )
