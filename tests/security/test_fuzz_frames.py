"""Attack class: whatever bytes a client can send, at volume (issue 13, the fuzzer target).

Hypothesis builds frames of four kinds: random bytes; random msgpack values; call frames
that name a real method (each method of protocol/methods.py in turn) with params that the
method's own params model refuses (its example with one field replaced by a random value, or
random values under its field names, or an unknown key); and first frames that are not a
valid hello. They go over real WebSocket connections to one real daemon with an admin token.
Every frame must get the contract's answer (never `internal`), the connection must stay
open (after hello) and nothing may be written to the store.

The size knob is GATEWAYD_FUZZ_FRAMES: a small run in `make test`, 100 000 in `make soak`.
The count of frames sent is printed (pytest -s) and checked.
"""

from __future__ import annotations

import math
import os
import sqlite3

import msgpack
import trio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect as sync_connect

from protocol.codec import unpack
from protocol.errors import ERROR_CODES
from protocol.methods import SPECS
from protocol.version import SUBPROTOCOL

FRAMES = int(os.environ.get("GATEWAYD_FUZZ_FRAMES", "3000"))
BATCH = 50  # frames per hypothesis example, sent on one connection, then all answers read
METHODS = sorted(SPECS)

# -- strategies -----------------------------------------------------------------------------
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.floats(allow_nan=True), st.text(max_size=40), st.binary(max_size=40),
    st.sampled_from(["", "0", "-1", "1001", "cash", "S001-T01-20260512-0001", "\x00", "=1+1"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def refused_by(method: str, params) -> bool:
    try:
        SPECS[method].params.model_validate(params)
    except ValidationError:
        return True
    return False


@st.composite
def bad_params(draw, method: str):
    spec = SPECS[method]
    example = dict(spec.example.get("params") or {})
    fields = [*spec.params.model_fields, "approve"]
    how = draw(st.sampled_from(["replace", "random", "unknown"]))
    if how == "replace" and example:
        example[draw(st.sampled_from(sorted(example)))] = draw(values)
        params = example
    elif how == "random":
        params = draw(st.dictionaries(st.sampled_from(fields), values, min_size=1, max_size=4))
    else:
        params = {**example, draw(st.text(min_size=1, max_size=12).filter(
            lambda k: k not in fields)): draw(values)}
    return params


@st.composite
def call_frames(draw):
    method = draw(st.sampled_from(METHODS))
    params = draw(bad_params(method))
    if not refused_by(method, params):  # a valid call may legitimately write: not ours
        params = {**params, "\x00unknown": 1}
    frame = {"type": "call", "id": draw(st.integers(0, 2**31)), "method": method,
             "params": params}
    return msgpack.packb(frame, use_bin_type=True)


def nested_bytes(levels: int) -> bytes:
    return b"\x81\xa4type" + b"\x91" * levels + b"\xc0"


frames = st.one_of(
    st.binary(max_size=200),
    values.map(lambda v: msgpack.packb(v, use_bin_type=True)),
    call_frames(),
    call_frames(),
    call_frames(),
    st.integers(33, 3000).map(nested_bytes),
    st.builds(lambda k, v: msgpack.packb({"type": "call", "id": 1, k: v}, use_bin_type=True),
              st.text(max_size=10), values),
)


# -- the run: hypothesis drives a sync client in a worker thread; the daemon runs in the test's
# trio loop (it needs the main thread for its signal handling) -----------------------------
def _hello(token: str) -> bytes:
    return msgpack.packb({"type": "hello", "token": token,
                          "client": {"name": "fuzz", "kind": "fuzz"}})


class Fuzzer:
    def __init__(self, url: str, token: str, store_path):
        self.url, self.token = url, token
        # the fuzzer's own reader of the store (made here, read in the worker thread)
        self.probe = sqlite3.connect(store_path, check_same_thread=False)
        self.sent = 0

    def connect(self):
        return sync_connect(self.url, subprotocols=[SUBPROTOCOL], compression=None,
                            max_size=None, open_timeout=10)

    def store_state(self) -> tuple[int, int]:
        """(journal seq, data_version): data_version moves whenever another connection (the
        daemon's writer) commits anything at all."""
        seq = self.probe.execute("SELECT COALESCE(MAX(seq), 0) FROM journal").fetchone()[0]
        return seq, self.probe.execute("PRAGMA data_version").fetchone()[0]

    def first_frame(self, frame: bytes) -> None:
        """A fuzzed first frame: never a welcome (it is not a valid hello); a clean close."""
        with self.connect() as ws:
            ws.send(frame)
            self.sent += 1
            try:
                answer = unpack(ws.recv(timeout=10))
                assert answer["type"] == "error" and answer["code"] == "unauthenticated", answer
                ws.recv(timeout=10)
                raise AssertionError("the connection stayed open after a bad first frame")
            except ConnectionClosed as closed:
                assert closed.rcvd is None or closed.rcvd.code == 1008, closed

    def batch(self, frames: list[bytes]) -> None:
        """After a good hello: one error per frame, none internal; the connection lives."""
        with self.connect() as ws:
            ws.send(_hello(self.token))
            assert unpack(ws.recv(timeout=10))["type"] == "welcome"
            for frame in frames:
                ws.send(frame)
            self.sent += len(frames)
            for _ in frames:
                answer = unpack(ws.recv(timeout=30))
                assert answer["type"] == "error", answer
                assert answer["code"] in ERROR_CODES and answer["code"] != "internal", answer
            ws.send(msgpack.packb({"type": "call", "id": 1, "method": "system.info"}))
            assert unpack(ws.recv(timeout=10))["result"]["role"] == "admin"


async def test_no_frame_crashes_the_daemon_or_writes_the_store(daemon):
    fuzzer = Fuzzer(daemon.url, daemon.token("admin", "fuzzer"), daemon.app.config.store_path)
    before = fuzzer.store_state()

    @settings(max_examples=math.ceil(FRAMES / (BATCH + 1)), deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(batch=st.lists(frames, min_size=BATCH, max_size=BATCH), first=frames)
    def fuzz(batch, first):
        fuzzer.first_frame(first)
        fuzzer.batch(batch)
        assert fuzzer.store_state() == before

    try:
        await trio.to_thread.run_sync(fuzz)
    finally:
        fuzzer.probe.close()
    assert fuzzer.sent >= FRAMES
    assert daemon.app.metrics.get("gatewayd_calls_total", method="(unknown)",
                                  outcome="internal") == 0
    print(f"\nfuzzer: {fuzzer.sent} frames, no crash, no store write")
