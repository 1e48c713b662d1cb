"""Attack class: guessing operator PINs (issue 13 item 1).

The review's attack: 40 connections x 16 guesses in parallel against a manager's 4-digit PIN
evaluated 603 guesses, because the lock was read before scrypt ran and a correct PIN cleared
it. Here every attempt is counted before its PIN is hashed, per operator id and per client
address, and nothing about an unknown id differs from a known one.
"""

from __future__ import annotations

import pytest
import trio

from clients.python import GatewayError, connect
from gatewayd import auth


def failed(daemon, reason: str, after: int = 0) -> list[dict]:
    return [e.data for e in daemon.app.store.journal(after=after)
            if e.kind.endswith(".failed") and e.data.get("reason") == reason]


def locked_until(daemon, op_id: str) -> int | None:
    row = daemon.app.store.one("SELECT locked_until FROM pin_attempts WHERE operator=?",
                               (op_id,))
    return row["locked_until"] if row else None


async def try_login(gw, op_id: str, pin: str) -> str:
    """The outcome of one login: 'ok' or the error code."""
    try:
        await gw.call("auth.login", operator=op_id, pin=pin)
    except GatewayError as exc:
        return exc.code
    return "ok"


async def test_parallel_guesses_are_counted_before_the_pin_is_hashed(daemon):
    daemon.app.auth.peers.free = 10_000  # this test is about the operator's own count
    daemon.operator("9001", "manager", "9999")
    start = daemon.app.store.journal_seq()
    outcomes: list[str] = []
    # 40 connections x 16 guesses at once; the right PIN is every connection's last guess.
    guesses = [f"{n:04d}" for n in range(1000, 1015)] + ["9999"]

    async def attacker(n: int) -> None:
        async with connect(daemon.url, daemon.token("cashier", f"attacker-{n}")) as gw:
            for pin in guesses:
                outcomes.append(await try_login(gw, "9001", pin))

    async with trio.open_nursery() as nursery:
        for n in range(40):
            nursery.start_soon(attacker, n)
    # Exactly lock_after PINs were hashed and compared; every other guess met the lock.
    assert len(failed(daemon, "pin", start)) == 5
    assert outcomes.count("unauthenticated") == 5
    assert outcomes.count("forbidden") == 40 * 16 - 5
    assert "ok" not in outcomes
    kinds = [e.kind for e in daemon.app.store.journal(after=start)]
    assert kinds.count("auth.locked") == 1 and "auth.login" not in kinds


async def test_a_correct_pin_during_a_lock_does_not_lift_it_and_locks_double(daemon):
    daemon.app.auth.peers.free = 10_000  # this test is about the operator's own count
    daemon.operator("1001", "cashier", "1234")
    clock = {"now": auth.now_s()}
    daemon.app.auth.clock = lambda: clock["now"]
    async with connect(daemon.url, daemon.token("cashier")) as gw:
        for _ in range(5):
            assert await try_login(gw, "1001", "0000") == "unauthenticated"
        first = locked_until(daemon, "1001")
        assert first == clock["now"] + 300
        clock["now"] += 100
        for _ in range(3):  # the right PIN, tried during the lock, changes nothing
            with pytest.raises(GatewayError) as err:
                await gw.call("auth.login", operator="1001", pin="1234")
            assert err.value.code == "forbidden"
            assert err.value.details == {"locked_s": 200, "reason": "locked"}
        assert locked_until(daemon, "1001") == first
        clock["now"] = first + 1  # the lock is over: five more wrong PINs lock for twice as long
        for _ in range(5):
            assert await try_login(gw, "1001", "0000") == "unauthenticated"
        assert locked_until(daemon, "1001") == clock["now"] + 600
        clock["now"] += 601  # a good PIN after the lock ends the doubling
        assert await try_login(gw, "1001", "1234") == "ok"
        for _ in range(5):
            assert await try_login(gw, "1001", "0000") == "unauthenticated"
        assert locked_until(daemon, "1001") == clock["now"] + 300


async def test_the_fifth_attempt_may_be_the_right_one(daemon):
    daemon.operator("1001", "cashier", "1234")
    async with connect(daemon.url, daemon.token("cashier")) as gw:
        for _ in range(4):
            assert await try_login(gw, "1001", "0000") == "unauthenticated"
        assert await try_login(gw, "1001", "1234") == "ok"
        assert await try_login(gw, "1001", "1234") == "ok"  # and no lock was left behind
    assert "auth.locked" not in [e.kind for e in daemon.app.store.journal()]


async def test_a_viewer_token_cannot_try_pins(daemon, monkeypatch):
    daemon.operator("9001", "manager", "9999")
    hashed: list[str] = []
    real = auth.hash_pin
    monkeypatch.setattr(auth, "hash_pin", lambda pin, salt: hashed.append(pin) or real(pin, salt))
    token = daemon.token("viewer")
    start = daemon.app.store.journal_seq()
    async with connect(daemon.url, token, kind="display") as gw:
        with pytest.raises(GatewayError) as err:  # even with the right PIN
            await gw.call("auth.login", operator="9001", pin="9999")
        assert err.value.code == "forbidden"
        assert (await gw.call("system.info"))["operator"] is None
    # Every path to a PIN check (login, `approve` in params, a handler's ctx.require) goes
    # through Auth.verify, which refuses a viewer's or a token-less connection's attempt.
    for role in ("viewer", None):
        with pytest.raises(auth.ProtocolError) as refused:
            await daemon.app.auth.approve("9001", "9999", "sale.refund", "manager", None,
                                          auth.Caller("10.0.0.9", role, "display"))
        assert refused.value.code == "forbidden"
    assert hashed == []
    assert [e.kind for e in daemon.app.store.journal(after=start)] == []


async def test_unknown_and_known_operators_answer_alike(daemon, monkeypatch):
    daemon.app.auth.peers.free = 10_000  # this test is about the operator's own count
    now = auth.now_s()
    daemon.app.auth.clock = lambda: now  # both ids are answered in the same second
    daemon.operator("1001", "cashier", "1234")
    hashed: list[str] = []
    real = auth.hash_pin
    monkeypatch.setattr(auth, "hash_pin", lambda pin, salt: hashed.append(pin) or real(pin, salt))
    answers = {}
    async with connect(daemon.url, daemon.token("cashier")) as gw:
        for op_id in ("1001", "1002"):
            seen = []
            for _ in range(6):
                try:
                    await gw.call("auth.login", operator=op_id, pin="0000")
                except GatewayError as exc:
                    message = exc.message.replace(op_id, "ID")
                    seen.append((exc.code, message, exc.details or None))
            answers[op_id] = seen
    assert answers["1001"] == answers["1002"]
    assert answers["1001"][0] == ("unauthenticated", "unknown operator or wrong PIN", None)
    assert answers["1001"][5][0] == "forbidden"  # the unknown id is locked like a known one
    assert len(hashed) == 10  # each counted attempt costs one scrypt, known id or not


async def test_a_stranger_cannot_lock_everyone_out(daemon):
    ops = [f"10{n:02d}" for n in range(10)]
    for op_id in ops:
        daemon.operator(op_id, "cashier", "1234")
    now = auth.now_s()
    daemon.app.auth.clock = lambda: now  # the attack takes no time at all
    async with connect(daemon.url, daemon.token("manager"), name="back office") as office:
        await office.subscribe(["alerts"])
        outcomes = []
        async with connect(daemon.url, daemon.token("cashier"), name="stranger") as gw:
            for op_id in ops:  # five wrong PINs for each operator, as fast as it can
                for _ in range(5):
                    outcomes.append(await try_login(gw, op_id, "0000"))
        events = [await office.next_event("alerts", timeout=2) for _ in range(3)]
    locked = [op_id for op_id in ops if locked_until(daemon, op_id)]
    # The address's ten free attempts locked two operators; the 11th went through and was
    # followed by a wait, so everything after it answered `forbidden` with retry_s.
    assert locked == ops[:2]
    assert outcomes[:11] == ["unauthenticated"] * 11
    assert outcomes[11:] == ["forbidden"] * (50 - 11)
    assert [e["data"]["kind"] for e in events] == ["auth_locked", "auth_locked", "auth_flood"]
    assert events[2]["data"]["details"]["peer"] == "127.0.0.1"
    assert "auth.flood" in [e.kind for e in daemon.app.store.journal()]
    # A cashier at the till is not locked out by the stranger's guesses.
    daemon.app.auth.peers.peers.clear()  # (the till's own address: here the same 127.0.0.1)
    async with connect(daemon.url, daemon.token("cashier")) as gw:
        assert await try_login(gw, ops[5], "1234") == "ok"


async def test_wrong_pin_answer_has_no_failure_count(daemon):
    daemon.operator("1001", "cashier", "1234")
    async with connect(daemon.url, daemon.token("cashier")) as gw:
        with pytest.raises(GatewayError) as err:
            await gw.call("auth.login", operator="1001", pin="0000")
    assert not err.value.details


async def test_an_attempt_cut_short_is_not_a_failure(daemon, monkeypatch):
    daemon.operator("9001", "manager", "9999")
    app = daemon.app
    # 1. a call cancelled while its PIN is being hashed still settles its reservation
    hashing = trio.Event()
    real = auth.hash_pin

    def slow_hash(pin, salt):
        trio.from_thread.run_sync(hashing.set)
        return real(pin, salt)

    monkeypatch.setattr(auth, "hash_pin", slow_hash)
    caller = auth.Caller("10.0.0.5", "cashier", "till")
    for _ in range(6):
        hashing = trio.Event()
        with trio.CancelScope() as scope:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(app.auth.login, "9001", "9999", caller)
                await hashing.wait()
                scope.cancel()
    row = app.store.one("SELECT pending, failures FROM pin_attempts WHERE operator='9001'")
    assert (row["pending"], row["failures"]) == (0, 0)
    # 2. attempts in progress when the daemon died (kill -9) do not count once it restarts
    app.store.write_sync(lambda tx: tx.execute(
        "UPDATE pin_attempts SET pending=5 WHERE operator='9001'"))
    with pytest.raises(auth.ProtocolError) as busy:
        await app.auth.login("9001", "9999", caller)
    assert busy.value.code == "forbidden" and busy.value.details["reason"] == "busy"
    restarted = auth.Auth(app.store)
    assert (await restarted.login("9001", "9999", caller)).id == "9001"
