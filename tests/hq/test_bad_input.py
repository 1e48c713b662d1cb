"""Every bad input on the replication link is refused (or handled) with a clear error and
nothing written: wrong or revoked credentials, forged identities, gaps, replays, oversize
batches, a skewed clock, a rewound journal, and enrollment codes used wrongly."""

from __future__ import annotations

from contextlib import asynccontextmanager

import pytest
import trio
from websockets.exceptions import ConnectionClosed
from websockets.trio.client import connect

from protocol import repl
from protocol.codec import pack
from protocol.repl import REPL_SUBPROTOCOL, ReplConnection, Side

DAY_US = 86_400 * 1_000_000


def ev(seq: int, pad: int = 0) -> repl.JournalRecord:
    return repl.JournalRecord(seq=seq, at=1_800_000_000_000_000 + seq, kind="note",
                          data={"n": seq, "pad": "x" * pad})


def push(start: int, n: int, epoch: str = "e1", pad: int = 0) -> repl.Push:
    return repl.Push(epoch=epoch, from_seq=start, events=[ev(s, pad) for s in range(start,
                                                                                   start + n)])


class Raw:
    """A hand-driven till end of a link."""

    def __init__(self, ws):
        self.ws = ws
        self.conn = ReplConnection(Side.TILL)

    async def send(self, frame) -> None:
        await self.ws.send(self.conn.send(frame))

    async def send_raw(self, data: bytes) -> None:
        await self.ws.send(data)

    async def recv(self):
        with trio.fail_after(10):
            return self.conn.receive(await self.ws.recv())

    async def closed(self) -> bool:
        with trio.fail_after(10):
            try:
                await self.ws.recv()
            except ConnectionClosed:
                return True
        return False


@asynccontextmanager
async def link(hq):
    async with connect(hq.base + "/repl", subprotocols=[REPL_SUBPROTOCOL],
                       compression=None, proxy=None, max_size=16 << 20) as ws:
        yield Raw(ws)


async def enrolled(hq, store="S001", till="T01", epoch="e1") -> str:
    code = hq.add_till(store, till)
    async with link(hq) as lk:
        await lk.send(repl.Enroll(code=code, store=store, till=till, epoch=epoch))
        got = await lk.recv()
    assert isinstance(got, repl.Enrolled)
    return got.credential


def hello(credential: str, store="S001", till="T01", epoch="e1", head=100, **kw):
    return repl.Hello(store=store, till=till, epoch=epoch, credential=credential,
                      head_seq=head, **kw)


def stored(hq) -> int:
    return hq.app.store.read_sync(lambda tx: tx.one("SELECT COUNT(*) AS n FROM events"))["n"]



@asynccontextmanager
async def open_stream(hq, credential: str, **kw):
    async with link(hq) as lk:
        await lk.send(hello(credential, **kw))
        welcome = await lk.recv()
        assert isinstance(welcome, repl.Welcome), welcome
        lk.welcome = welcome
        yield lk


async def refused(lk: Raw, code: str, says: str) -> None:
    got = await lk.recv()
    assert isinstance(got, repl.Error), got
    assert got.code == code and says in got.message, got
    assert await lk.closed()


async def test_wrong_credential_unknown_till_and_forged_identity_are_refused(hq):
    cred = await enrolled(hq)
    await enrolled(hq, till="T02", epoch="e2")
    for frame, says in [
        (hello("gwt_wrong"), "wrong credential"),
        (hello(cred, till="T02"), "wrong credential"),  # T01's credential posing as T02
        (hello(cred, store="S999"), "not known"),
    ]:
        async with link(hq) as lk:
            await lk.send(frame)
            await refused(lk, "unauthenticated", says)
    assert stored(hq) == 0


async def test_a_push_for_another_epoch_is_refused_with_nothing_written(hq):
    cred = await enrolled(hq)
    async with open_stream(hq, cred) as lk:
        await lk.send(push(1, 3, epoch="someone-else"))
        await refused(lk, "forbidden", "epoch someone-else")
    assert stored(hq) == 0


async def test_gap_is_answered_with_resend_and_nothing_written(hq):
    cred = await enrolled(hq)
    async with open_stream(hq, cred) as lk:
        await lk.send(push(1, 3))
        assert await lk.recv() == repl.Ack(seq=3)
        await lk.send(push(7, 2))
        assert await lk.recv() == repl.Resend(from_seq=4)
        assert stored(hq) == 3
        await lk.send(push(4, 5))  # the link stays usable
        assert await lk.recv() == repl.Ack(seq=8)
    assert stored(hq) == 8


async def test_a_replayed_batch_is_acknowledged_and_ignored(hq):
    cred = await enrolled(hq)
    async with open_stream(hq, cred) as lk:
        await lk.send(push(1, 5))
        assert await lk.recv() == repl.Ack(seq=5)
    before = hq.app.store.read_sync(lambda tx: tx.all("SELECT * FROM events ORDER BY seq"))
    async with open_stream(hq, cred) as lk:
        assert lk.welcome.acked_seq == 5
        await lk.send(push(1, 5))
        assert await lk.recv() == repl.Ack(seq=5)
        await lk.send(push(3, 4))  # half old, half new
        assert await lk.recv() == repl.Ack(seq=6)
    after = hq.app.store.read_sync(lambda tx: tx.all("SELECT * FROM events ORDER BY seq"))
    assert after[:5] == before and len(after) == 6


async def test_oversize_batches_are_refused_with_nothing_written(hq):
    cred = await enrolled(hq)
    limits = hq.app.limits
    async with open_stream(hq, cred) as lk:
        await lk.send(push(1, limits.max_push_events + 1))
        await refused(lk, "bad_frame", f"at most {limits.max_push_events}")
    async with open_stream(hq, cred) as lk:
        big = push(1, 2, pad=limits.max_push_bytes // 2 + 10)
        await lk.send(big)
        await refused(lk, "bad_frame", "bytes; at most")
    assert stored(hq) == 0


async def test_malformed_frames_on_a_live_link_are_refused(hq):
    cred = await enrolled(hq)
    async with open_stream(hq, cred) as lk:
        await lk.send_raw(pack({"type": "push", "epoch": "e1", "from_seq": 1, "events": [
            {"seq": 1, "at": "yesterday", "kind": "x", "data": {}}]}))
        await refused(lk, "bad_frame", "malformed push")
    assert stored(hq) == 0


async def test_a_revoked_till_is_refused_at_once_even_mid_link(hq):
    from gatewayd.hq import ingest

    cred = await enrolled(hq)
    async with open_stream(hq, cred) as lk:
        await lk.send(push(1, 2))
        assert await lk.recv() == repl.Ack(seq=2)
        hq.app.store.write_sync(lambda tx: ingest.revoke_till(tx, "S001", "T01"))
        await lk.send(push(3, 2))
        await refused(lk, "unauthenticated", "revoked")
    async with link(hq) as lk:
        await lk.send(hello(cred))
        await refused(lk, "unauthenticated", "revoked")
    assert stored(hq) == 2


async def test_a_clock_three_days_off_is_accepted_and_raises_an_alert(hq):
    cred = await enrolled(hq)
    from gatewayd.hq.db import now_us

    async with open_stream(hq, cred, clock=now_us() + 3 * DAY_US) as lk:
        await lk.send(push(1, 2))
        assert await lk.recv() == repl.Ack(seq=2)
    alerts = hq.app.store.read_sync(lambda tx: tx.all("SELECT kind, message FROM alerts"))
    assert [a["kind"] for a in alerts] == ["clock_skew"]
    assert "+72.0 h" in alerts[0]["message"]
    ats = hq.app.store.read_sync(lambda tx: tx.all("SELECT at FROM events ORDER BY seq"))
    assert [a["at"] for a in ats] == [ev(1).at, ev(2).at]  # the till's own times, kept


async def test_a_journal_rewound_without_a_new_epoch_is_refused(hq):
    cred = await enrolled(hq)
    async with open_stream(hq, cred) as lk:
        await lk.send(push(1, 5))
        assert await lk.recv() == repl.Ack(seq=5)
    async with link(hq) as lk:
        await lk.send(hello(cred, head=3))
        await refused(lk, "conflict", "rewound without a new epoch")


async def test_a_restored_till_under_a_new_epoch_names_the_events_it_lost(hq):
    cred = await enrolled(hq)
    async with open_stream(hq, cred, head=9) as lk:
        await lk.send(push(1, 9))
        assert await lk.recv() == repl.Ack(seq=9)
    previous = repl.PreviousEpoch(epoch="e1", seq=6)
    async with open_stream(hq, cred, epoch="e2", head=6, base_seq=4, previous=previous) as lk:
        assert lk.welcome.acked_seq == 4
        await lk.send(push(5, 3, epoch="e2"))
        assert await lk.recv() == repl.Ack(seq=7)
    alerts = hq.app.store.read_sync(lambda tx: tx.all("SELECT kind, message FROM alerts"))
    assert [a["kind"] for a in alerts] == ["events_lost"]
    assert "events 7..9" in alerts[0]["message"]


async def test_enrollment_codes_wrong_till_reuse_and_failed_attempts(hq):
    code = hq.add_till("S001", "T01")
    for frame, code_, says in [
        (repl.Enroll(code="AAAA-BBBB-CCCC", store="S001", till="T01", epoch="e"),
         "unauthenticated", "unknown enrollment code"),
        (repl.Enroll(code=code, store="S001", till="T02", epoch="e"),
         "forbidden", "enrolls till S001/T01"),
    ]:
        async with link(hq) as lk:
            await lk.send(frame)
            await refused(lk, code_, says)
    # an enrollment whose answer was lost: the code still works, the first credential not
    async with link(hq) as lk:
        await lk.send(repl.Enroll(code=code.lower(), store="S001", till="T01", epoch="e1"))
        lost = await lk.recv()
    async with link(hq) as lk:
        await lk.send(repl.Enroll(code=code, store="S001", till="T01", epoch="e1"))
        kept = await lk.recv()
    assert lost.credential != kept.credential
    async with open_stream(hq, kept.credential):
        pass  # the first hello uses the code up
    async with link(hq) as lk:
        await lk.send(hello(lost.credential))
        await refused(lk, "unauthenticated", "wrong credential")
    async with link(hq) as lk:
        await lk.send(repl.Enroll(code=code, store="S001", till="T01", epoch="e1"))
        await refused(lk, "unauthenticated", "used already")
    creds = hq.app.store.read_sync(lambda tx: tx.all("SELECT * FROM enrollments"))
    assert all(kept.credential.encode() not in bytes(c["pending_hash"]) for c in creds)


@pytest.mark.parametrize("path, protocol", [("/repl", "gatewayd.v1"), ("/ws", REPL_SUBPROTOCOL)])
async def test_the_wrong_subprotocol_on_a_path_is_closed(hq, path, protocol):
    async with connect(hq.base + path, subprotocols=[protocol], proxy=None) as ws:
        with trio.fail_after(5), pytest.raises(ConnectionClosed):
            await ws.recv()
