"""Tokens, pairing, operators, PIN login with lockout, and approvals.

Every function that changes state takes a `Tx` so the daemon (through `Store.write`) and the
CLI (through `Store.write_sync`) share one code path and one journal.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import time
import uuid
from collections import deque
from dataclasses import dataclass

from gatewayd.store.db import Store, Tx
from protocol.errors import ProtocolError
from protocol.roles import ROLES, at_least

SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}
PAIR_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L


def now_s() -> int:
    return int(time.time())


def hash_token(token: str) -> bytes:
    # Tokens are 256-bit random: a fast hash is enough, no salt needed.
    return hashlib.sha256(token.encode()).digest()


def new_token() -> str:
    return "gw_" + secrets.token_urlsafe(32)


def hash_pin(pin: str, salt: bytes) -> bytes:
    return hashlib.scrypt(pin.encode(), salt=salt, **SCRYPT)


def check_role(role: str) -> str:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; one of: {', '.join(ROLES)}")
    return role


# -- tokens ----------------------------------------------------------------------------------
def add_token(tx: Tx, name: str, role: str) -> tuple[str, str]:
    check_role(role)
    token_id, token = uuid.uuid4().hex[:12], new_token()
    tx.execute(
        "INSERT INTO tokens(id, name, role, hash, created_at) VALUES (?,?,?,?,?)",
        (token_id, name, role, hash_token(token), now_s()),
    )
    tx.append("token.added", {"id": token_id, "name": name, "role": role})
    return token_id, token


def revoke_token(tx: Tx, ref: str) -> int:
    n = tx.execute(
        "UPDATE tokens SET revoked_at=? WHERE (id=? OR name=?) AND revoked_at IS NULL",
        (now_s(), ref, ref),
    ).rowcount
    if n:
        tx.append("token.revoked", {"ref": ref, "count": n})
    return n


def list_tokens(store: Store) -> list[dict]:
    rows = store.all(
        "SELECT id, name, role, created_at, revoked_at FROM tokens ORDER BY created_at"
    )
    return [dict(r) for r in rows]


def token_role(store: Store, token: str) -> tuple[str, str] | None:
    """(token id, role) of a live token, or None."""
    row = store.one(
        "SELECT id, role FROM tokens WHERE hash=? AND revoked_at IS NULL", (hash_token(token),)
    )
    return (row["id"], row["role"]) if row else None


# -- pairing ---------------------------------------------------------------------------------
class RateLimit:
    """At most `limit` events per `window_s` seconds for each key (a sliding window). Keys
    are client addresses, or one key for everybody; memory is bounded by `max_keys`."""

    def __init__(self, limit: int, window_s: float, max_keys: int = 4096):
        self.limit, self.window_s, self.max_keys = limit, window_s, max_keys
        self.seen: dict[str, deque[float]] = {}

    def take(self, key: str, now: float) -> float:
        """0 when the event may happen (and is counted), else the seconds until it may."""
        times = self.seen.get(key)
        if times is None:
            if len(self.seen) >= self.max_keys:
                self._forget(now)
            times = self.seen[key] = deque()
        while times and times[0] <= now - self.window_s:
            times.popleft()
        if len(times) >= self.limit:
            return times[0] + self.window_s - now
        times.append(now)
        return 0

    def _forget(self, now: float) -> None:
        for key, times in list(self.seen.items()):
            if not times or times[-1] <= now - self.window_s:
                del self.seen[key]
        while len(self.seen) >= self.max_keys:
            del self.seen[next(iter(self.seen))]


class PairingLimits:
    """`pair.request` needs no token, so it is what a stranger on the LAN can reach: bounded
    per client address, overall, and in the number of requests pending at once."""

    def __init__(self, per_peer: int, overall: int, max_pending: int, clock=time.monotonic):
        self.per_peer = RateLimit(per_peer, 60)
        self.overall = RateLimit(overall, 60)
        self.max_pending = max_pending
        self.clock = clock

    def admit(self, peer: str) -> None:
        now = self.clock()
        wait = self.per_peer.take(peer, now) or self.overall.take("*", now)
        if wait:
            raise ProtocolError(
                "conflict", f"too many pairing requests; try again in {math.ceil(wait)} s",
                {"retry_s": math.ceil(wait)},
            )


def pair_request(tx: Tx, name: str, kind: str, minutes: int, max_pending: int = 20) -> dict:
    pending = tx.scalar(
        "SELECT count(*) FROM pair_requests WHERE status='pending' AND expires_at>=?",
        (now_s(),),
    )
    if pending >= max_pending:
        raise ProtocolError(
            "conflict", f"{pending} pairing requests are waiting for an admin; try later",
            {"retry_s": 60},
        )
    request_id = secrets.token_hex(16)
    for _ in range(20):
        code = "".join(secrets.choice(PAIR_ALPHABET) for _ in range(6))
        if not tx.one("SELECT 1 FROM pair_requests WHERE code=?", (code,)):
            break
    now = now_s()
    tx.execute(
        "INSERT INTO pair_requests(id, code, name, kind, status, created_at, expires_at)"
        " VALUES (?,?,?,?, 'pending', ?, ?)",
        (request_id, code, name, kind, now, now + minutes * 60),
    )
    tx.append("pair.requested", {"code": code, "name": name, "kind": kind})
    return {"code": code, "request_id": request_id, "expires_s": minutes * 60}


def pair_decide(tx: Tx, code: str, role: str | None) -> dict:
    """Approve (role given) or deny (role None) a pending request by its code."""
    row = tx.one("SELECT * FROM pair_requests WHERE code=?", (code.upper(),))
    if row is None:
        raise LookupError(f"no pairing request with code {code}")
    if row["status"] != "pending" or row["expires_at"] < now_s():
        raise ValueError(f"pairing request {code} is {_pair_state(row)}, not pending")
    status = "approved" if role else "denied"
    if role:
        check_role(role)
    tx.execute("UPDATE pair_requests SET status=?, role=? WHERE id=?", (status, role, row["id"]))
    tx.append(f"pair.{status}", {"code": row["code"], "name": row["name"], "role": role})
    return {"code": row["code"], "name": row["name"], "status": status, "role": role}


def _pair_state(row) -> str:
    if row["status"] == "pending" and row["expires_at"] < now_s():
        return "expired"
    return row["status"]


def pair_collect(tx: Tx, request_id: str) -> dict:
    """The client's poll: once approved, mint its token and hand it over exactly once."""
    row = tx.one("SELECT * FROM pair_requests WHERE id=?", (request_id,))
    if row is None:
        raise ProtocolError("not_found", "no such pairing request")
    state = _pair_state(row)
    if state != "approved":
        return {"status": state, "code": row["code"]}
    _, token = add_token(tx, f"paired:{row['name']}", row["role"])
    tx.execute("UPDATE pair_requests SET status='collected' WHERE id=?", (request_id,))
    tx.append("pair.collected", {"code": row["code"], "name": row["name"]})
    return {"status": "approved", "token": token, "role": row["role"]}


def list_pair_requests(store: Store) -> list[dict]:
    rows = store.all("SELECT * FROM pair_requests ORDER BY created_at DESC LIMIT 50")
    return [
        {
            "code": r["code"],
            "name": r["name"],
            "kind": r["kind"],
            "status": _pair_state(r),
            "role": r["role"],
        }
        for r in rows
    ]


# -- operators ------------------------------------------------------------------------------
def add_operator(tx: Tx, op_id: str, name: str, role: str, pin: str) -> None:
    check_role(role)
    if not (pin.isdigit() and 4 <= len(pin) <= 12):
        raise ValueError("a PIN is 4 to 12 digits")
    if tx.one("SELECT 1 FROM operators WHERE id=?", (op_id,)):
        raise ValueError(f"operator {op_id} exists")
    salt = secrets.token_bytes(16)
    pin_hash = hash_pin(pin, salt)
    tx.execute(
        "INSERT INTO operators(id, name, role, pin_hash, pin_salt) VALUES (?,?,?,?,?)",
        (op_id, name, role, pin_hash, salt),
    )
    # the hash travels with the event so a till restored from head office keeps its PINs
    tx.append("operator.added", {"id": op_id, "name": name, "role": role,
                                 "pin_hash": pin_hash.hex(), "pin_salt": salt.hex()})


def list_operators(store: Store) -> list[dict]:
    rows = store.all(
        "SELECT o.id, o.name, o.role, o.active, a.locked_until FROM operators o"
        " LEFT JOIN pin_attempts a ON a.operator = o.id ORDER BY o.id"
    )
    return [dict(r) for r in rows]


@dataclass(frozen=True)
class Operator:
    id: str
    name: str
    role: str


# A kept operator session (`auth.login` with keep) lasts a long shift at most. Sessions live in
# the daemon's memory only: a restart ends them, so a stolen session file is worth little, and
# nothing about them needs to survive in the store.
KEPT_SESSION_S = 12 * 3600


@dataclass(frozen=True)
class KeptSession:
    operator: Operator
    token_id: str | None  # it resumes only on connections made with the same token
    expires_at: float


@dataclass(frozen=True)
class Caller:
    """Who tries a PIN: the client's address (the unit of per-peer throttling), the role of
    its token (a viewer or display token may not try PINs at all) and its name."""

    peer: str
    token_role: str | None
    client: str = "?"


# What an unknown operator's PIN is checked against, so it costs one scrypt like a known one.
_NOBODY_SALT = secrets.token_bytes(16)
_NOBODY_HASH = secrets.token_bytes(SCRYPT["dklen"])
LOCK_CAP_S = 24 * 3600  # exponential lock back-off stops doubling at a day


@dataclass
class _Peer:
    failures: int = 0  # reserved attempts that have not turned out good
    blocked_until: int = 0
    last_at: int = 0
    flooding: bool = False  # its flood alert was raised for this episode


class PeerThrottle:
    """Wrong PINs per client address, counted when an attempt starts (before its PIN is
    hashed, so parallel guesses are all counted). The first `free` attempts go through;
    after that each further attempt must wait twice as long as the previous one (1 s, 2 s,
    4 s ... up to `cap_s`). A peer is forgiven after `forget_s` without a failure. This runs
    before an operator's own count is touched: a stranger can lock one or two operators, not
    all of them."""

    MAX_PEERS = 4096

    def __init__(self, free: int, cap_s: int, forget_s: int):
        self.free, self.cap_s, self.forget_s = free, cap_s, forget_s
        self.peers: dict[str, _Peer] = {}

    def reserve(self, peer: str, now: int) -> tuple[int, bool]:
        """(seconds to wait, 0 when the attempt may go ahead and is now counted; whether this
        attempt starts a flood episode)."""
        state = self.peers.get(peer)
        if state is None or now - state.last_at > self.forget_s:
            self._make_room(now)
            state = self.peers[peer] = _Peer()
        if now < state.blocked_until:
            return state.blocked_until - now, False
        state.failures += 1
        state.last_at = now
        over = state.failures - self.free
        starts_flood = over > 0 and not state.flooding
        if over > 0:
            state.blocked_until = now + min(2 ** (over - 1), self.cap_s)
            state.flooding = True
        return 0, starts_flood

    def refund(self, peer: str) -> None:
        """The attempt was a good PIN: it does not count against the peer."""
        state = self.peers.get(peer)
        if state is not None and state.failures:
            state.failures -= 1

    def _make_room(self, now: int) -> None:
        if len(self.peers) < self.MAX_PEERS:
            return
        for peer, state in list(self.peers.items()):
            if now - state.last_at > self.forget_s:
                del self.peers[peer]
        while len(self.peers) >= self.MAX_PEERS:  # the oldest entries go first
            del self.peers[next(iter(self.peers))]


@dataclass(frozen=True)
class _Reservation:
    operator: Operator | None  # None: no such (active) operator; the PIN cannot be good
    pin_hash: bytes
    pin_salt: bytes


class Auth:
    """The daemon's view: PIN checks with lockout, and approvals, all journaled.

    A PIN attempt is reserved before its PIN is hashed: in one write transaction the id's
    attempts in progress go up, and none is let in while failures plus attempts in progress
    reach `lock_after` (so 40 parallel guesses get exactly `lock_after` PINs checked between
    them). Each attempt then settles: a wrong PIN becomes a failure, and the failure that
    reaches `lock_after` locks the id; a good PIN clears the failures unless a lock is in
    force. Locks double in length each time (`lock_minutes`, then twice that, ...) until a
    good PIN after a lock. An attempt cut short by a crash is not a failure: a daemon that
    starts has none in progress. Unknown ids are counted, hashed, answered and locked exactly
    like known ones, so neither the answer nor its time tells them apart. Before any of that
    the caller's address goes through PeerThrottle."""

    def __init__(
        self,
        store: Store,
        lock_after: int = 5,
        lock_minutes: int = 5,
        clock=now_s,
        *,
        peer_free: int = 10,
        peer_cap_s: int = 3600,
        peer_forget_s: int = 900,
        alert=None,
    ):
        self.store = store
        self.lock_after = lock_after
        self.lock_s = lock_minutes * 60
        self.clock = clock
        self.kept: dict[bytes, KeptSession] = {}  # hash of the session secret -> session
        self.peers = PeerThrottle(peer_free, peer_cap_s, peer_forget_s)
        # alert(kind, message, details): a staff alert (App.raise_alert)
        self.alert = alert or (lambda kind, message, details: None)
        if store is not None:  # (safe mode has no store, and no PIN checks)
            store.write_sync(lambda tx: tx.execute("UPDATE pin_attempts SET pending=0"))

    async def verify(
        self, op_id: str, pin: str, purpose: str, caller: Caller, extra: dict | None = None
    ) -> Operator:
        """Check a PIN; journal the outcome; lock after too many failures."""
        import trio  # scrypt takes tens of ms: keep it off the event loop

        if caller.token_role is None or not at_least(caller.token_role, "cashier"):
            raise ProtocolError(
                "forbidden", "a viewer or display connection cannot try operator PINs"
            )
        now = self.clock()
        wait_s, flood = self.peers.reserve(caller.peer, now)
        if flood:
            await self._journal("auth.flood", {"peer": caller.peer, "client": caller.client})
            self.alert(
                "auth_flood",
                f"many wrong PINs from {caller.peer} ({caller.client}); slowing it down",
                {"peer": caller.peer, "client": caller.client},
            )
        if wait_s:
            await self._journal(
                f"{purpose}.failed",
                {"operator": op_id, "reason": "throttled", "peer": caller.peer, **(extra or {})},
            )
            raise ProtocolError(
                "forbidden",
                f"too many wrong PINs from this device; try again in {wait_s} s",
                {"retry_s": wait_s},
            )
        reservation, _ = await self.store.write(lambda tx: self._reserve(tx, op_id, now))
        if isinstance(reservation, ProtocolError):  # locked, or its budget is in use
            await self._journal(f"{purpose}.failed", {
                "operator": op_id, "reason": (reservation.details or {}).get("reason"),
                **(extra or {})})
            raise reservation
        # Reserved: the hash and its settling run to the end even if the call is cancelled
        # (a client that hangs up mid-check must neither leak the reservation nor escape
        # the count). Only a crash cuts an attempt short, and start-up forgets those.
        with trio.CancelScope(shield=True):
            digest = await trio.to_thread.run_sync(hash_pin, pin, reservation.pin_salt)
            good = hmac.compare_digest(digest, reservation.pin_hash)
            if good and reservation.operator is not None:
                self.peers.refund(caller.peer)
                await self.store.write(lambda tx: self._settle(tx, op_id, True))
                return reservation.operator

            def fail(tx: Tx) -> int | None:
                reason = "pin" if reservation.operator is not None else "unknown"
                tx.append(f"{purpose}.failed",
                          {"operator": op_id, "reason": reason, **(extra or {})})
                locked_until = self._settle(tx, op_id, False)
                if locked_until is not None:
                    tx.append("auth.locked", {"operator": op_id, "until": locked_until})
                return locked_until

            locked_until, _ = await self.store.write(fail)
        if locked_until is not None:
            self.alert(
                "auth_locked",
                f"operator {op_id} locked after {self.lock_after} wrong PINs",
                {"operator": op_id, "until": locked_until, "peer": caller.peer},
            )
        raise ProtocolError("unauthenticated", "unknown operator or wrong PIN")

    def _reserve(self, tx: Tx, op_id: str, now: int) -> _Reservation | ProtocolError:
        """Count this attempt as in progress, or say why it may not start."""
        row = tx.one("SELECT * FROM pin_attempts WHERE operator=?", (op_id,))
        if row is not None and row["locked_until"] and row["locked_until"] > now:
            return self._locked_error(op_id, row["locked_until"] - now)
        if row is not None and row["failures"] + row["pending"] >= self.lock_after:
            return ProtocolError(
                "forbidden",
                f"operator {op_id} has {self.lock_after} PIN attempts under way or failed; "
                "try again in a moment",
                {"retry_s": 1, "reason": "busy"},
            )
        tx.execute(
            "INSERT INTO pin_attempts(operator, pending, last_at) VALUES (?, 1, ?)"
            " ON CONFLICT(operator) DO UPDATE SET pending=pending+1, last_at=excluded.last_at",
            (op_id, now),
        )
        op = tx.one("SELECT * FROM operators WHERE id=? AND active", (op_id,))
        if op is None:
            return _Reservation(None, _NOBODY_HASH, _NOBODY_SALT)
        return _Reservation(
            Operator(op["id"], op["name"], op["role"]), op["pin_hash"], op["pin_salt"]
        )

    def _settle(self, tx: Tx, op_id: str, good: bool) -> int | None:
        """The attempt is over: good (clears the failures unless a lock is in force) or
        wrong (a failure; the one that reaches lock_after locks the id: returns until when)."""
        now = self.clock()
        row = tx.row("SELECT * FROM pin_attempts WHERE operator=?", (op_id,))  # reserved
        pending = max(row["pending"] - 1, 0)
        failures, locks, locked_until = row["failures"], row["locks"], row["locked_until"]
        in_force = bool(locked_until and locked_until > now)
        new_lock = None
        if good and not in_force:
            failures, locks = 0, 0
        elif not good:
            failures += 1
            if failures >= self.lock_after and not in_force:
                new_lock = locked_until = now + min(self.lock_s * 2**locks, LOCK_CAP_S)
                failures, locks = 0, locks + 1
        tx.execute(
            "UPDATE pin_attempts SET pending=?, failures=?, locks=?, locked_until=?"
            " WHERE operator=?", (pending, failures, locks, locked_until, op_id),
        )
        return new_lock

    def _locked_error(self, op_id: str, left_s: int) -> ProtocolError:
        return ProtocolError(
            "forbidden",
            f"operator {op_id} is locked for {left_s} s after {self.lock_after} wrong PINs",
            {"locked_s": left_s, "reason": "locked"},
        )

    async def login(self, op_id: str, pin: str, caller: Caller) -> Operator:
        op = await self.verify(op_id, pin, "auth.login", caller, {"client": caller.client})
        await self._journal(
            "auth.login", {"operator": op.id, "role": op.role, "client": caller.client}
        )
        return op

    async def logout(self, op: Operator, client: str) -> None:
        await self._journal("auth.logout", {"operator": op.id, "client": client})

    def keep(self, op: Operator, token_id: str | None) -> str:
        """A secret that resumes `op` on a later connection with the same token."""
        now = self.clock()
        self.kept = {h: k for h, k in self.kept.items() if k.expires_at > now}
        secret = "gws_" + secrets.token_urlsafe(24)
        self.kept[hash_token(secret)] = KeptSession(op, token_id, now + KEPT_SESSION_S)
        return secret

    def resume(self, secret: str, token_id: str | None) -> Operator:
        """The operator of a kept session, as the store has it now (a locked, removed or
        demoted operator does not come back with the old role)."""
        kept = self.kept.get(hash_token(secret))
        if kept is None or kept.expires_at <= self.clock() or kept.token_id != token_id:
            raise ProtocolError("unauthenticated", "no such session (expired, logged out, "
                                "or the daemon restarted); log in again")
        row = self.store.one(
            "SELECT o.id, o.name, o.role, o.active, a.locked_until FROM operators o"
            " LEFT JOIN pin_attempts a ON a.operator = o.id WHERE o.id = ?", (kept.operator.id,))
        if row is None or not row["active"] or (
            row["locked_until"] and row["locked_until"] > self.clock()
        ):
            self.end(secret)
            raise ProtocolError("unauthenticated", f"operator {kept.operator.id} may not log "
                                "in now; log in again")
        return Operator(row["id"], row["name"], row["role"])

    def end(self, secret: str) -> None:
        self.kept.pop(hash_token(secret), None)

    async def approve(
        self,
        op_id: str,
        pin: str,
        action: str,
        required: str,
        on_behalf: str | None,
        caller: Caller,
    ) -> Operator:
        op = await self.verify(op_id, pin, "auth.approval", caller, {"action": action})
        if not at_least(op.role, required):
            await self._journal(
                "auth.denied",
                {"operator": op.id, "action": action, "role": op.role, "required": required},
            )
            raise ProtocolError(
                "forbidden",
                f"{op.id} ({op.role}) cannot approve {action}; needs {required}",
                {"action": action, "role": required},
            )
        await self._journal(
            "auth.approved",
            {"operator": op.id, "action": action, "for": on_behalf, "role": op.role},
        )
        return op

    async def denied(self, action: str, role: str, required: str, who: str | None) -> None:
        await self._journal(
            "auth.denied", {"action": action, "role": role, "required": required, "operator": who}
        )

    async def _journal(self, kind: str, data: dict) -> None:
        await self.store.write(lambda tx: tx.append(kind, data))
