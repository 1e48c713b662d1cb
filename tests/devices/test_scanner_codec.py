"""Scanner codecs: framing, AIM identifiers, HID POS reassembly; chunking invariance."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.scanner.codec import (
    HidPosDecoder,
    SuffixFramer,
    TextScanDecoder,
    aim_symbology,
    hidpos_reports,
    parse_suffix,
    symbology_aim,
)

from .test_replay import LOGS, parse_log


def test_parse_suffix() -> None:
    assert [parse_suffix(s) for s in ("CR", "lf", "CRLF")] == [b"\r", b"\n", b"\r\n"]
    with pytest.raises(ValueError):
        parse_suffix("TAB")


@pytest.mark.parametrize(
    ("aim", "data", "name"),
    [
        ("]E0", "6901234567892", "ean13"),
        ("]E0", "036000291452", "upca"),
        ("]E0", "01234565", "upce"),
        ("]E4", "96385074", "ean8"),
        ("]E3", "690123456789212", "ean13_addon"),
        ("]C0", "ABC", "code128"),
        ("]C1", "0109501234567890", "gs1_128"),
        ("]Q1", "x", "qr"),
        ("]Q3", "x", "gs1_qr"),
        ("]d1", "x", "datamatrix"),
        ("]d2", "x", "gs1_datamatrix"),
        ("]e0", "x", "gs1_databar"),
        ("]A0", "x", "code39"),
        ("]I1", "x", "itf"),
        ("]L2", "x", "pdf417"),
    ],
)
def test_aim_symbology(aim: str, data: str, name: str) -> None:
    assert aim_symbology(aim, data) == name


def test_aim_rejects_non_identifiers() -> None:
    assert aim_symbology("E0x") is None
    assert aim_symbology("]E") is None
    assert aim_symbology("]?0") is None


def test_symbology_aim_round_trip() -> None:
    for name in ("ean13", "ean8", "gs1_128", "qr", "gs1_datamatrix", "code39"):
        assert aim_symbology(symbology_aim(name), "6901234567892") in (name, "ean13")
    assert symbology_aim("]Q1") == "]Q1"
    with pytest.raises(ValueError):
        symbology_aim("nonsense")


def test_aim_not_stripped_unless_asked() -> None:
    [scan] = TextScanDecoder(aim=False).feed(b"]E06901234567892\r")
    assert (scan.data, scan.symbology) == ("]E06901234567892", None)


def test_overlong_frame_is_garbage_and_framing_recovers() -> None:
    framer = SuffixFramer(suffix=b"\r\n", max_len=8)
    assert framer.feed(b"0123456789ABCDEF") == []
    assert framer.feed(b"\r\nok\r\n") == [b"ok"]
    assert framer.garbage_bytes == 16


def test_hidpos_report_layout() -> None:
    [report] = hidpos_reports(b"6901234567892", "]E0")
    assert len(report) == 64
    assert report[0] == 0x02 and report[1] == 13 and report[2:5] == b"]E0"
    assert report[5:18] == b"6901234567892" and report[63] == 0
    reports = hidpos_reports(b"x" * 120, "]Q1")
    assert [r[1] for r in reports] == [56, 56, 8]
    assert [r[63] & 1 for r in reports] == [1, 1, 0]


def test_hidpos_multi_report_code_is_one_scan() -> None:
    decoder = HidPosDecoder()
    data = ("é" * 70).encode()  # 140 bytes of UTF-8, split mid-character across reports
    scans = [s for r in hidpos_reports(data, "]Q1") for s in decoder.feed(r)]
    assert [(s.data, s.symbology) for s in scans] == [("é" * 70, "qr")]
    assert decoder.reports == 3


# -- chunking invariance ---------------------------------------------------------------------


@st.composite
def _cuts(draw: st.DrawFn, data: bytes) -> list[bytes]:
    points = sorted(draw(st.sets(st.integers(0, len(data)), max_size=max(1, len(data) // 2))))
    return [data[a:b] for a, b in itertools.pairwise([0, *points, len(data)]) if b > a]


def _feed_all(codec, chunks: list[bytes]):
    out = []
    for chunk in chunks:
        out.extend(codec.feed(chunk))
    return out, codec.garbage_bytes, codec.pending_bytes


_code = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=20)
_aim = st.sampled_from(["", "]E0", "]C1", "]Q1", "]d2"])


@pytest.mark.parametrize(
    ("prefix", "suffix"),
    [(b"", b"\r"), (b"", b"\n"), (b"", b"\r\n"), (b"\x02", b"\r"), (b"PFX", b"\r\n")],
)
@settings(max_examples=80, deadline=None)
@given(data=st.data())
def test_text_scanner_any_chunking(prefix: bytes, suffix: bytes, data: st.DataObject) -> None:
    frames = st.builds(lambda a, c: prefix + (a + c).encode() + suffix, _aim, _code)
    parts = data.draw(st.lists(st.one_of(frames, st.binary(max_size=4)), max_size=10))
    stream = b"".join(parts)

    def make() -> TextScanDecoder:
        return TextScanDecoder(prefix=prefix, suffix=suffix, aim=True)

    assert _feed_all(make(), data.draw(_cuts(stream))) == _feed_all(make(), [stream])


@settings(max_examples=80, deadline=None)
@given(data=st.data())
def test_suffix_framer_overflow_any_chunking(data: st.DataObject) -> None:
    stream = data.draw(st.binary(max_size=80).map(lambda b: b.replace(b"\r", b"\r" * 2)))
    stream += data.draw(st.sampled_from([b"", b"\r\n", b"abc\r\n"]))

    def make() -> SuffixFramer:
        return SuffixFramer(suffix=b"\r\n", max_len=10)

    assert _feed_all(make(), data.draw(_cuts(stream))) == _feed_all(make(), [stream])


@settings(max_examples=80, deadline=None)
@given(data=st.data())
def test_hidpos_any_chunking(data: st.DataObject) -> None:
    scans = st.builds(
        lambda text, aim: b"".join(hidpos_reports(text.encode(), aim or None)),
        st.text(max_size=150),
        _aim,
    )
    stream = b"".join(data.draw(st.lists(st.one_of(scans, st.binary(max_size=3)), max_size=5)))
    assert _feed_all(HidPosDecoder(), data.draw(_cuts(stream))) == _feed_all(
        HidPosDecoder(), [stream]
    )


def _log(name: str) -> bytes:
    return b"".join(parse_log((LOGS / "scanner" / f"{name}.log").read_bytes())[0])


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_recorded_hidpos_logs_any_chunking(data: st.DataObject) -> None:
    for name in ("hidpos-multi", "hidpos-noise", "hidpos-disconnect"):
        stream = _log(name)
        assert _feed_all(HidPosDecoder(), data.draw(_cuts(stream))) == _feed_all(
            HidPosDecoder(), [stream]
        )
