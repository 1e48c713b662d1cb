"""Scale codecs: decoding details, command bytes, and chunking invariance (hypothesis)."""

from __future__ import annotations

import itertools
from functools import reduce

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.scale.aclas import AclasCodec
from drivers.scale.cas import CasCodec
from drivers.scale.reading import Reading, to_grams
from drivers.scale.toledo8217 import Toledo8217Codec, Toledo8217Status

from .test_replay import LOGS, parse_log

# -- units ------------------------------------------------------------------------------------


def test_to_grams_is_exact_and_rounds_half_up() -> None:
    assert to_grams("1.234", "kg") == 1234
    assert to_grams("0.0005", "kg") == 1  # half up, not banker's rounding
    assert to_grams("0.0004", "kg") == 0
    assert to_grams("1", "lb") == 454  # 453.59237
    assert to_grams("2", "jin") == 1000
    with pytest.raises(ValueError):
        to_grams("1.2.3", "kg")
    with pytest.raises(ValueError):
        to_grams("1", "stone")


# -- Toledo 8217 -------------------------------------------------------------------------------


@pytest.mark.parametrize("bit", range(6))
def test_toledo_status_decodes_every_bit(bit: int) -> None:
    st_ = Toledo8217Status.from_byte(0x40 | (1 << bit))
    flags = [
        st_.motion,
        st_.over_capacity,
        st_.under_zero,
        st_.outside_zero_capture,
        st_.center_of_zero,
        st_.net,
    ]
    assert flags == [i == bit for i in range(6)]
    assert st_.to_byte() == 0x40 | (1 << bit)


def test_toledo_status_ignores_parity_bit() -> None:
    assert Toledo8217Status.from_byte(0xC1) == Toledo8217Status.from_byte(0x41)


def test_toledo_commands() -> None:
    c = Toledo8217Codec()
    assert (c.request_weight(), c.zero(), c.tare(), c.clear_tare()) == (b"W", b"Z", b"T\r", b"C")
    assert c.preset_tare(1234) == b"T01234\r"


def test_toledo_status_reply_updates_status_without_inventing_a_weight() -> None:
    c = Toledo8217Codec()
    assert c.feed(b"\x02?@\r") == []  # stable, in range, off zero: weight unknown
    assert c.status is not None and not c.status.motion
    assert c.frames == 1


def test_toledo_pound_scale_converts_to_grams() -> None:
    assert Toledo8217Codec(unit="lb").feed(b"\x0201.00\r") == [Reading(454, stable=True)]


# -- CAS -------------------------------------------------------------------------------------


def test_cas_lamp_zero_bit_is_used_in_22_byte_frames() -> None:
    # weight 0.000 but the lamp says "not at zero point" (e.g. within a division): trust lamp
    [r] = CasCodec().feed(b"ST,GS,1\xe4,+  0.000 kg\r\n")
    assert r.zero is False and r.grams == 0


def test_cas_has_no_host_commands() -> None:
    c = CasCodec()
    assert not hasattr(c, "zero") and not hasattr(c, "tare")


# -- Aclas -----------------------------------------------------------------------------------


def _aclas(sta: bytes, sign: bytes, weight: bytes, unit: bytes = b"kg") -> bytes:
    body = b"\x01\x02" + sta + sign + weight + unit
    return body + bytes([reduce(lambda a, b: a ^ b, body, 0)]) + b"\x03\x04"


def test_aclas_commands() -> None:
    c = AclasCodec()
    assert c.handshake() == b"\x05" and c.request_weight() == b"\x11"
    assert c.tare() == b"<TK>\t" and c.zero() == b"<ZK>\t"


def test_aclas_ack_is_counted_not_garbage() -> None:
    c = AclasCodec()
    assert c.feed(b"\x06") == []
    assert (c.acks, c.frames, c.garbage_bytes) == (1, 1, 0)


# -- chunking invariance ---------------------------------------------------------------------


def _feed_all(codec, chunks: list[bytes]) -> tuple[list[Reading], int, int]:
    out: list[Reading] = []
    for chunk in chunks:
        out.extend(codec.feed(chunk))
    return out, codec.garbage_bytes, codec.pending_bytes


@st.composite
def _cuts(draw: st.DrawFn, data: bytes) -> list[bytes]:
    points = sorted(draw(st.sets(st.integers(0, len(data)), max_size=max(1, len(data) // 2))))
    bounds = [0, *points, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds) if b > a]


_noise = st.binary(max_size=6)
_grams = st.integers(0, 99_999)


def _toledo_frames() -> st.SearchStrategy[bytes]:
    weight = _grams.map(lambda g: b"\x02%02d.%03d\r" % divmod(g, 1000))
    status = st.integers(0, 63).map(lambda bits: bytes([2, 0x3F, 0x40 | bits, 13]))
    return st.one_of(weight, status, _noise)


def _cas_frames() -> st.SearchStrategy[bytes]:
    def frame(g: int, long: bool, head: bytes) -> bytes:
        data = b"+%7s" % (b"%d.%03d" % divmod(g, 1000))
        if long:
            return head + b",1\xe4," + data + b" kg\r\n"
        return head + b"," + data + b"kg\r\n"

    heads = st.sampled_from([b"ST,GS", b"US,GS", b"ST,NT", b"OL,GS"])
    return st.one_of(st.builds(frame, st.integers(0, 9_999_999), st.booleans(), heads), _noise)


def _aclas_frames() -> st.SearchStrategy[bytes]:
    def frame(g: int, sta: bytes) -> bytes:
        return _aclas(sta, b" ", b"%02d.%03d" % divmod(g, 1000))

    return st.one_of(
        st.builds(frame, _grams, st.sampled_from([b"S", b"U", b"F"])),
        st.just(b"\x06"),
        _noise,
    )


@pytest.mark.parametrize(
    ("factory", "frames"),
    [(Toledo8217Codec, _toledo_frames()), (CasCodec, _cas_frames()), (AclasCodec, _aclas_frames())],
    ids=["toledo8217", "cas", "aclas"],
)
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_any_chunking_decodes_the_same(factory, frames, data: st.DataObject) -> None:
    stream = b"".join(data.draw(st.lists(frames, max_size=12)))
    chunks = data.draw(_cuts(stream))
    assert _feed_all(factory(), chunks) == _feed_all(factory(), [stream])
    assert _feed_all(factory(), chunks) == _feed_all(factory(), [bytes([b]) for b in stream])


_SCALE_LOGS = {
    name: b"".join(parse_log((LOGS / "scale" / f"{name}.log").read_bytes())[0])
    for name in sorted(p.stem for p in (LOGS / "scale").glob("*.log"))
}
_FACTORIES = {"toledo8217": Toledo8217Codec, "cas": CasCodec, "aclas": AclasCodec}


@pytest.mark.parametrize("name", sorted(_SCALE_LOGS))
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_recorded_logs_decode_the_same_in_any_chunks(name: str, data: st.DataObject) -> None:
    factory = _FACTORIES[name.split("-")[0]]
    stream = _SCALE_LOGS[name]
    assert _feed_all(factory(), data.draw(_cuts(stream))) == _feed_all(factory(), [stream])
