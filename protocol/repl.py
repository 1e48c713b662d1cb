"""The replication subprotocol `gatewayd-repl.v1` (DESIGN §8, contract), sans-I/O.

Frames are small typed models; `ReplConnection` is the state of one link as both ends see
it, driven by one transition table (the h11 way: the caller moves bytes, this module says
whether a frame may be sent or received now and what state the link is in after it). The
two pure cores beside it decide what each end does with a frame:

- `plan_push` (head office): given the highest contiguous seq it holds for (store, till,
  epoch) and a `push`, which events are new, how many are duplicates, or which seq to ask
  for again when the push leaves a gap;
- `Cursor` and `frame_push` (the till): what to send next, bounded by count and bytes, and
  what an `ack` or a `resend` does to that.

Enrollment rides the same subprotocol: `enroll {code, store, till, epoch}` answered by
`enrolled {store, till, credential}` (an extension of the contract, so the till needs one
URL for everything). So does a restore from head office (`gatewayd restore --from-hq`):
`restore {code, store, till}` answered by `restoring {epoch, acked_seq, head_seq, credential}`,
then `fetch {after, limit}` / `page {events}` until the till holds seqs 1..acked_seq.

Requests ride it too (extensions, while streaming): money that can be spent at more than one
till is authorized online (DESIGN §8). The till sends `hold {id, member, ledger, amount,
sale_id, code?, pending}` (the id is the idempotency key: a retry gets the same answer and
never a second hold), `release {id}`, `lookup {id, code}` (a member this till does not
know), `member {id, record}` (a member registered or edited here, for the registry) and
`stock {id, skus}` (the store's stock and what is on its way to it);
head office answers each with `reply {id, ok, result?, code?, message?}` after its commit.
A refused request is a `reply` with ok false and a §4 error code, never `error` (which
closes the link).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

import msgpack
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    TypeAdapter,
    ValidationError,
)

from protocol.codec import pack, unpack
from protocol.errors import ErrorCode, ProtocolError
from protocol.journal import JournalRecord  # an event as the journal holds it (DESIGN §8)

REPL_SUBPROTOCOL = "gatewayd-repl.v1"
REPL_PATH = "/repl"

Seq = Annotated[StrictInt, Field(ge=0)]
MAX_PAGE_EVENTS = 2000  # a restore page, at most (HQ also bounds it in bytes)
Ident = Annotated[StrictStr, Field(min_length=1, max_length=64)]


class _Frame(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class StagedMaster(_Frame):
    """A `master` version the till holds part of (a download cut mid-way): its changes up to
    `pos` are staged, so head office goes on after it."""

    version: Annotated[StrictInt, Field(ge=1)]
    pos: Seq


class PreviousEpoch(_Frame):
    """Sent by a restored till: the epoch it replaced and the last journal seq it kept."""

    epoch: Ident
    seq: Seq


# -- till -> head office -------------------------------------------------------------------
class Hello(_Frame):
    type: Literal["hello"] = "hello"
    store: Ident
    till: Ident
    epoch: Ident
    credential: Annotated[StrictStr, Field(min_length=1, max_length=256)]
    head_seq: Seq
    master_version: Seq = 0
    # Extensions: journal seqs up to base_seq were sent under an earlier epoch (a restore);
    # `clock` is the till's wall clock (µs) when it said hello, so HQ can see a skewed clock.
    base_seq: Seq = 0
    previous: PreviousEpoch | None = None
    clock: StrictInt | None = None
    staged: StagedMaster | None = None


class Push(_Frame):
    type: Literal["push"] = "push"
    epoch: Ident
    from_seq: Annotated[StrictInt, Field(ge=1)]
    events: Annotated[list[JournalRecord], Field(min_length=1)]


class Applied(_Frame):
    type: Literal["applied"] = "applied"
    version: Seq


class PendingEntry(_Frame):
    """One of the till's own ledger entries head office may not hold yet."""

    seq: Seq
    delta: StrictInt


Ledger = Literal["balance", "points", "coupon"]
RequestId = Annotated[StrictStr, Field(min_length=1, max_length=64)]


class Hold(_Frame):
    """Authorize a stored-value, points or coupon tender: `amount` is fen of stored value,
    points, or the coupon's fen; `code` the coupon's code. `pending`: the till's own
    `member.balance`/`member.points` entries of this member after the seq it knows acked."""

    type: Literal["hold"] = "hold"
    id: RequestId
    member: StrictStr | None
    ledger: Ledger
    amount: Annotated[StrictInt, Field(gt=0)]
    sale_id: Ident
    code: Annotated[StrictStr, Field(min_length=1, max_length=64)] | None = None
    pending: Annotated[list[PendingEntry], Field(max_length=1000)] = []


class Release(_Frame):
    type: Literal["release"] = "release"
    id: RequestId


class MemberRecord(_Frame):
    """A member's registry row as head office keeps it for the chain. It travels over the
    link (TLS in production), not in the journal, which carries masked phones only."""

    id: Ident
    phone: Annotated[StrictStr, Field(min_length=1, max_length=32)]
    name: Annotated[StrictStr, Field(max_length=200)]
    birthday: StrictStr | None
    card: StrictStr | None
    qr: Ident
    tier: Ident
    active: StrictBool
    referred_by: StrictStr | None
    updated_at: StrictInt = Field(description="when the till changed the record, µs")


class PutMember(_Frame):
    """A member registered or edited at this till, for the chain's registry."""

    type: Literal["member"] = "member"
    id: RequestId
    record: MemberRecord


class StockQuery(_Frame):
    """The till's store's stock as head office has it (all skus when `skus` is empty), and
    the transfers and deliveries on their way to the store."""

    type: Literal["stock"] = "stock"
    id: RequestId
    skus: Annotated[list[Ident], Field(max_length=1000)] = []
    on_hand: StrictBool = True  # false: only the transfers (incoming, `transfer`)
    transfer: Ident | None = None  # also this transfer's or delivery's state, by its number


class Lookup(_Frame):
    type: Literal["lookup"] = "lookup"
    id: RequestId
    code: Annotated[StrictStr, Field(min_length=1, max_length=64)]


class Enroll(_Frame):
    type: Literal["enroll"] = "enroll"
    code: Annotated[StrictStr, Field(min_length=1, max_length=64)]
    store: Ident
    till: Ident
    epoch: Ident


class Restore(_Frame):
    """Instead of hello: rebuild a till whose store is lost from head office's copy of its
    journal, with a one-time restore code (`gatewayd hq till restore-code`)."""

    type: Literal["restore"] = "restore"
    code: Annotated[StrictStr, Field(min_length=1, max_length=64)]
    store: Ident
    till: Ident


class Fetch(_Frame):
    """During a restore: the events after `after`, at most `limit` of them."""

    type: Literal["fetch"] = "fetch"
    after: Seq
    limit: Annotated[StrictInt, Field(ge=1, le=MAX_PAGE_EVENTS)]


# -- head office -> till -------------------------------------------------------------------
class Welcome(_Frame):
    type: Literal["welcome"] = "welcome"
    acked_seq: Seq
    master_head: Seq = 0


class Ack(_Frame):
    type: Literal["ack"] = "ack"
    seq: Seq


class Resend(_Frame):
    type: Literal["resend"] = "resend"
    from_seq: Annotated[StrictInt, Field(ge=1)]


class Master(_Frame):
    """One version of master data, or a part of it. Each change is a map
    `{pos, kind, key, data, effective_at?}` (`kind` names the entity: item, price, promo,
    operator, ...; `pos` its place in the version). Extension: `more` says further parts of
    this version follow (a big batch is sent in parts bounded in bytes; the till applies the
    version once the last part is in)."""

    type: Literal["master"] = "master"
    version: Seq
    changes: list[dict[str, Any]]
    more: bool = False


class Reply(_Frame):
    """The answer to a request of the same id: `result` when ok, else `code` and `message`."""

    type: Literal["reply"] = "reply"
    id: RequestId
    ok: StrictBool
    result: dict[str, Any] | None = None
    code: ErrorCode | None = None
    message: StrictStr | None = None


class Enrolled(_Frame):
    type: Literal["enrolled"] = "enrolled"
    store: Ident
    till: Ident
    credential: StrictStr


class CentralValue(_Frame):
    """A central setting as head office sent it to the till (gatewayd/replication/central.py):
    kind payment, config or members; its key; its value as the till's config takes it."""

    kind: Ident
    key: Ident
    value: Any


class Restoring(_Frame):
    """The restore code was good: the till's journal at head office is seqs 1..acked_seq of
    its latest epoch (and the epochs before it); `head_seq` is how far the till last said its
    journal went. `credential` replaces the lost till's once the restored till says hello."""

    type: Literal["restoring"] = "restoring"
    store: Ident
    till: Ident
    epoch: Ident
    acked_seq: Seq
    head_seq: Seq
    credential: StrictStr
    # extension: the central settings the till had in force (its applied master version),
    # which its journal does not carry; laid into the restored store before the rebuild
    central: list[CentralValue] = []


class Page(_Frame):
    """Events after the fetch's `after`, contiguous, in seq order; empty past acked_seq."""

    type: Literal["page"] = "page"
    events: list[JournalRecord]


class Error(_Frame):
    type: Literal["error"] = "error"
    code: ErrorCode
    message: StrictStr


TillFrame = (Hello | Push | Applied | Enroll | Hold | Release | Lookup | PutMember | StockQuery
             | Restore | Fetch)
TillRequest = Hold | Release | Lookup | PutMember | StockQuery
HqFrame = Welcome | Ack | Resend | Master | Reply | Enrolled | Restoring | Page | Error
Frame = TillFrame | HqFrame
_TILL_FRAMES = TypeAdapter(Annotated[TillFrame, Field(discriminator="type")])
_HQ_FRAMES = TypeAdapter(Annotated[HqFrame, Field(discriminator="type")])


class Side(enum.Enum):
    TILL = "till"
    HQ = "hq"


class State(enum.Enum):
    IDLE = "idle"  # connected, nothing said yet
    HELLO_SENT = "hello_sent"  # the till said hello; HQ checks it
    STREAMING = "streaming"  # pushes up, acks/resends/master down
    ENROLLING = "enrolling"  # the till presented a code
    RESTORE_ASKED = "restore_asked"  # the till presented a restore code
    RESTORING = "restoring"  # fetches up, pages down
    CLOSED = "closed"  # after `enrolled` or any `error`: nothing more may pass


# (side that sends, state, frame type) -> the state after it. Anything else is a protocol
# error. `error` may be sent by head office in any state but CLOSED.
TRANSITIONS: dict[tuple[Side, State, str], State] = {
    (Side.TILL, State.IDLE, "hello"): State.HELLO_SENT,
    (Side.TILL, State.IDLE, "enroll"): State.ENROLLING,
    (Side.HQ, State.HELLO_SENT, "welcome"): State.STREAMING,
    (Side.HQ, State.ENROLLING, "enrolled"): State.CLOSED,
    (Side.TILL, State.IDLE, "restore"): State.RESTORE_ASKED,
    (Side.HQ, State.RESTORE_ASKED, "restoring"): State.RESTORING,
    (Side.TILL, State.RESTORING, "fetch"): State.RESTORING,
    (Side.HQ, State.RESTORING, "page"): State.RESTORING,
    (Side.TILL, State.STREAMING, "push"): State.STREAMING,
    (Side.TILL, State.STREAMING, "applied"): State.STREAMING,
    (Side.HQ, State.STREAMING, "ack"): State.STREAMING,
    (Side.HQ, State.STREAMING, "resend"): State.STREAMING,
    (Side.HQ, State.STREAMING, "master"): State.STREAMING,
    **{(Side.TILL, State.STREAMING, t): State.STREAMING for t in ("hold", "release", "lookup",
                                                                  "member", "stock")},
    (Side.HQ, State.STREAMING, "reply"): State.STREAMING,
    **{(Side.HQ, s, "error"): State.CLOSED for s in State if s is not State.CLOSED},
}


class ReplProtocolError(ProtocolError):
    """A frame that cannot be decoded or may not be sent/received now."""


def decode(raw: bytes | str, sender: Side) -> Frame:
    """One WebSocket message from `sender` -> a validated frame (or ReplProtocolError)."""
    if isinstance(raw, str):
        raise ReplProtocolError("bad_frame", "text frames are not accepted; send binary msgpack")
    try:
        obj = unpack(raw)
    except Exception as exc:
        raise ReplProtocolError("bad_frame", f"not msgpack: {exc.__class__.__name__}") from None
    if not isinstance(obj, dict):
        raise ReplProtocolError("bad_frame", f"a frame is a msgpack map, got {type(obj).__name__}")
    adapter = _TILL_FRAMES if sender is Side.TILL else _HQ_FRAMES
    try:
        return adapter.validate_python(obj)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ReplProtocolError(
            "bad_frame", f"malformed {obj.get('type', 'frame')!s:.20}: {where}: {first['msg']}"
        ) from None


def encode(frame: Frame) -> bytes:
    return pack(frame.model_dump(mode="python"))


class ReplConnection:
    """One link's state, kept identically by both ends. `send` and `receive` move it along
    TRANSITIONS and refuse a frame that may not pass now."""

    def __init__(self, our_side: Side):
        self.our_side = our_side
        self.their_side = Side.HQ if our_side is Side.TILL else Side.TILL
        self.state = State.IDLE

    def _advance(self, side: Side, frame: Frame | _Typed | RawMaster) -> None:
        nxt = TRANSITIONS.get((side, self.state, frame.type))
        if nxt is None:
            raise ReplProtocolError(
                "bad_frame", f"{side.value} may not send {frame.type} while {self.state.value}"
            )
        self.state = nxt

    def send(self, frame: Frame, encoded: bytes | None = None) -> bytes:
        """The bytes to send for `frame` (`encoded`: already made off the event loop)."""
        self._advance(self.our_side, frame)
        return encoded if encoded is not None else encode(frame)

    def send_push(self, framed: FramedPush) -> bytes:
        """The bytes of a push framed off the event loop (`frame_push`)."""
        self._advance(self.our_side, _PUSH_TYPE)
        return framed.frame

    def receive(self, raw: bytes | str) -> Frame:
        frame = decode(raw, self.their_side)
        self._advance(self.their_side, frame)
        return frame

    def receive_master(self, raw: bytes) -> RawMaster | None:
        """`raw` as an undecoded `master` frame (`master_head`), the link's state moved as
        `receive` would; None when it is not one (then `receive` it)."""
        head = master_head(raw)
        if head is not None:
            self._advance(self.their_side, head)
        return head


@dataclass(frozen=True)
class RawMaster:
    """A `master` frame as received, its changes not decoded: `version` and `more` read
    from the map, the bytes kept for the process that decodes and checks them whole
    (`decode`, in the till's download process: gatewayd/replication/download.py)."""

    version: int
    more: bool
    raw: bytes
    type: str = "master"


def master_head(raw: bytes) -> RawMaster | None:
    """A `master` frame's version and `more`, its changes skipped, not decoded (a part of a
    download: 500 changes a frame, walked in C). None when `raw` is not a map of type
    `master` with a valid version and `more`: `decode` says what is wrong with it."""
    unpacker = msgpack.Unpacker(raw=False, strict_map_key=False, max_buffer_size=len(raw) + 1)
    unpacker.feed(raw)
    head: dict[str, Any] = {}
    try:
        for _ in range(unpacker.read_map_header()):
            key = unpacker.unpack()
            if key in ("type", "version", "more"):
                head[key] = unpacker.unpack()
            else:
                unpacker.skip()
    except (ValueError, msgpack.UnpackException):
        return None
    version, more = head.get("version"), head.get("more", False)
    if head.get("type") != "master" or type(version) is not int or version < 0 or \
            type(more) is not bool:
        return None
    return RawMaster(version=version, more=more, raw=raw)


# -- head office: what a push means -----------------------------------------------------------
@dataclass(frozen=True)
class PushPlan:
    new: list[JournalRecord]  # to store, in seq order, all after `held`
    duplicates: int  # events HQ holds already (a replayed batch, a resend overlap)
    resend_from: int | None  # set when the push leaves a gap: nothing is stored

    @property
    def held_after(self) -> int | None:
        """The highest contiguous seq once `new` is stored (None on a gap)."""
        return self.new[-1].seq if self.new else None


def check_push(push: Push, epoch: str, max_events: int) -> None:
    """What a push must be whatever HQ holds: this link's epoch, at most `max_events`,
    contiguous from `from_seq`. A violation is refused with nothing written."""
    if push.epoch != epoch:
        raise ReplProtocolError(
            "forbidden", f"push for epoch {push.epoch} on a link that said hello as {epoch}"
        )
    if len(push.events) > max_events:
        raise ReplProtocolError(
            "bad_frame", f"push of {len(push.events)} events; at most {max_events} per push"
        )
    for i, ev in enumerate(push.events):
        if ev.seq != push.from_seq + i:
            raise ReplProtocolError(
                "bad_frame",
                f"push is not contiguous: event {i} has seq {ev.seq}, expected "
                f"{push.from_seq + i}",
            )


def plan_push(held: int, push: Push) -> PushPlan:
    """`held`: HQ's highest contiguous seq for this (store, till, epoch). The push must be
    checked (`check_push`) first."""
    if push.from_seq > held + 1:
        return PushPlan([], 0, resend_from=held + 1)
    skip = held + 1 - push.from_seq
    return PushPlan(push.events[skip:], min(skip, len(push.events)), None)


# An event as `frame_push` frames it, up to its data: {seq: int, at: int, kind: str (fixstr),
# data: ...} in that order. An exact grammar (each msgpack int and fixstr form spelled out),
# so where it matches, the data is what follows it to the end of the event's map.
_INT = rb"(?:[\x00-\x7f\xe0-\xff]|[\xcc\xd0].|[\xcd\xd1]..|[\xce\xd2].{4}|[\xcf\xd3].{8})"
_FIXSTR = b"(?:" + b"|".join(bytes([0xa0 + n]) + b".{%d}" % n for n in range(32)) + b")"
_EVENT_HEAD = re.compile(rb"\x84\xa3seq" + _INT + rb"\xa2at" + _INT + rb"\xa4kind" + _FIXSTR
                         + rb"\xa4data", re.DOTALL)


def push_data(raw: bytes) -> list[bytes] | None:
    """Each event's `data` in a push frame `raw` (one that `decode` accepted), in order, as
    the bytes the till sent: its journal's msgpack (`frame_push`). HQ stores those instead of
    packing the decoded data again. The frame is walked, not decoded (about half the CPU of
    packing the events again); None when it is not a map holding an `events` array of maps.

    A frame as `frame_push` makes it (events last, each event's keys in its order) is walked
    an event at a time: its head matched, the event skipped whole (two calls into msgpack an
    event, not eleven: 0.4 of the CPU); any other is walked key by key."""
    unpacker = msgpack.Unpacker(raw=False, strict_map_key=False, max_buffer_size=len(raw) + 1)
    unpacker.feed(raw)
    try:
        keys = unpacker.read_map_header()
        for i in range(keys):
            if unpacker.unpack() == "events":
                if i == keys - 1:  # the last key: no later one overrides it
                    framed = _framed_data(raw, unpacker)
                    if framed is not None:
                        return framed
                break
            unpacker.skip()
    except (ValueError, msgpack.UnpackException):  # not what decode accepted
        return None
    return _walk_data(raw)


def _framed_data(raw: bytes, unpacker: msgpack.Unpacker) -> list[bytes] | None:
    """`push_data` of the events array `unpacker` is at, each event as `frame_push` frames it;
    None at the first that is not."""
    out: list[bytes] = []
    append, match, skip, tell = out.append, _EVENT_HEAD.match, unpacker.skip, unpacker.tell
    count = unpacker.read_array_header()
    at = tell()
    for _ in range(count):
        head = match(raw, at)
        if head is None:
            return None
        skip()
        end = tell()
        append(raw[head.end():end])
        at = end
    return out


def _walk_data(raw: bytes) -> list[bytes] | None:
    unpacker = msgpack.Unpacker(raw=False, strict_map_key=False, max_buffer_size=len(raw) + 1)
    unpacker.feed(raw)
    key, skip, tell, map_header = unpacker.unpack, unpacker.skip, unpacker.tell, \
        unpacker.read_map_header
    out = None
    try:
        for _ in range(map_header()):  # a key given twice: the last wins, as in decode
            if key() != "events":
                skip()
                continue
            out = []
            for _ in range(unpacker.read_array_header()):
                start = end = 0
                for _ in range(map_header()):
                    if key() == "data":
                        start = tell()
                        skip()
                        end = tell()
                    else:
                        skip()
                if not end:
                    return None
                out.append(raw[start:end])
    except (ValueError, msgpack.UnpackException):  # not what decode accepted
        return None
    return out


# -- the till: what to send next ------------------------------------------------------------
@dataclass
class Cursor:
    """The till's view of one link. `acked`: HQ has committed everything up to it; `sent`:
    pushed up to it (acked <= sent). A resend rewinds `sent`; an ack moves `acked`."""

    acked: int
    sent: int = field(default=-1)

    def __post_init__(self) -> None:
        if self.sent < self.acked:
            self.sent = self.acked

    def in_flight(self) -> int:
        return self.sent - self.acked

    def on_ack(self, seq: int) -> bool:
        """True when the ack moves the cursor (an old or repeated ack changes nothing). An
        ack beyond what was sent is a broken peer."""
        if seq > self.sent:
            raise ReplProtocolError("bad_frame", f"ack {seq} beyond the last seq sent {self.sent}")
        if seq <= self.acked:
            return False
        self.acked = seq
        return True

    def on_resend(self, from_seq: int) -> None:
        if from_seq <= self.acked:
            raise ReplProtocolError(
                "bad_frame", f"resend from {from_seq} at or before the acked seq {self.acked}"
            )
        self.sent = min(self.sent, from_seq - 1)

    def on_push(self, push: Push) -> None:
        self.sent = push.events[-1].seq

    def on_sent(self, last_seq: int) -> None:
        self.sent = last_seq


_PACKB = msgpack.Packer(use_bin_type=True, datetime=True).pack


@dataclass(frozen=True)
class FramedPush:
    """A push's frame made from journal rows as they are (`frame_push`), with what the
    sender's cursor needs to know of it."""

    frame: bytes
    from_seq: int
    last_seq: int
    count: int


@dataclass(frozen=True)
class _Typed:
    type: str


_PUSH_TYPE = _Typed("push")


def frame_push(
    epoch: str, rows: list[tuple[int, int, str, bytes]], max_events: int, max_bytes: int
) -> FramedPush | None:
    """The frame of the push of the longest prefix of journal `rows` (seq, at, kind, data: the
    msgpack the journal holds) within both bounds. The first event always goes, even alone
    over `max_bytes` (it cannot be split; HQ's limit is set above it).

    The events are not decoded, nor is a model made of each: each one's data goes into the
    frame as the journal holds it, so reading a week's backlog costs the till little CPU (the
    replicator's worker thread shares the GIL, and the CPU, with the sales)."""
    chunks: list[bytes] = []
    size = 64  # the frame's own keys
    last = 0
    for seq, at, kind, data in rows[:max_events]:
        chunk = b"".join((b"\x84\xa3seq", _PACKB(seq), b"\xa2at", _PACKB(at), b"\xa4kind",
                          _PACKB(kind), b"\xa4data", data))
        if chunks and size + len(chunk) > max_bytes:
            break
        chunks.append(chunk)
        size += len(chunk)
        last = seq
    if not chunks:
        return None
    first = rows[0][0]
    head = {"type": "push", "epoch": epoch, "from_seq": first}
    frame = b"".join((b"\x84", *(_PACKB(k) + _PACKB(v) for k, v in head.items()),
                      _PACKB("events"), msgpack.Packer().pack_array_header(len(chunks)),
                      *chunks))
    return FramedPush(frame, first, last, len(chunks))


def take_push(
    epoch: str, rows: list[tuple[int, int, str, bytes]], max_events: int, max_bytes: int
) -> tuple[Push, bytes] | None:
    """`frame_push`, with a Push naming the events (seq, at, kind; their data is in the
    bytes only)."""
    framed = frame_push(epoch, rows, max_events, max_bytes)
    if framed is None:
        return None
    taken = [JournalRecord.model_construct(seq=seq, at=at, kind=kind, data={})
             for seq, at, kind, _ in rows[:framed.count]]
    return Push.model_construct(epoch=epoch, from_seq=framed.from_seq, events=taken), framed.frame


def error(code: ErrorCode, message: str) -> Error:
    return Error(code=code, message=message)
