"""Tokens, pairing, operators, PIN login with lockout, and approvals.

Every function that changes state takes a `Tx` so the daemon (through `Store.write`) and the
CLI (through `Store.write_sync`) share one code path and one journal.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
import uuid
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
def pair_request(tx: Tx, name: str, kind: str, minutes: int) -> dict:
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
    tx.execute(
        "INSERT INTO operators(id, name, role, pin_hash, pin_salt) VALUES (?,?,?,?,?)",
        (op_id, name, role, hash_pin(pin, salt), salt),
    )
    tx.append("operator.added", {"id": op_id, "name": name, "role": role})


def list_operators(store: Store) -> list[dict]:
    rows = store.all("SELECT id, name, role, active, locked_until FROM operators ORDER BY id")
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


class Auth:
    """The daemon's view: PIN checks with lockout, and approvals, all journaled."""

    def __init__(self, store: Store, lock_after: int = 5, lock_minutes: int = 5, clock=now_s):
        self.store = store
        self.lock_after = lock_after
        self.lock_s = lock_minutes * 60
        self.clock = clock
        self.kept: dict[bytes, KeptSession] = {}  # hash of the session secret -> session

    async def verify(
        self, op_id: str, pin: str, purpose: str, extra: dict | None = None
    ) -> Operator:
        """Check a PIN; journal the outcome; lock after too many failures."""
        row = self.store.one("SELECT * FROM operators WHERE id=?", (op_id,))
        now = self.clock()
        if row is None or not row["active"]:
            await self._journal(f"{purpose}.failed", {"operator": op_id, "reason": "unknown"})
            raise ProtocolError("unauthenticated", "unknown operator or wrong PIN")
        if row["locked_until"] and row["locked_until"] > now:
            await self._journal(f"{purpose}.failed", {"operator": op_id, "reason": "locked"})
            raise ProtocolError(
                "forbidden",
                f"operator {op_id} is locked for {row['locked_until'] - now} s after "
                f"{self.lock_after} wrong PINs",
                {"locked_s": row["locked_until"] - now},
            )
        import trio  # scrypt takes tens of ms: keep it off the event loop

        digest = await trio.to_thread.run_sync(hash_pin, pin, row["pin_salt"])
        if hmac.compare_digest(digest, row["pin_hash"]):
            if row["failures"]:
                await self.store.write(
                    lambda tx: tx.execute(
                        "UPDATE operators SET failures=0, locked_until=NULL WHERE id=?", (op_id,)
                    )
                )
            return Operator(row["id"], row["name"], row["role"])

        def fail(tx: Tx) -> int:
            failures = tx.scalar("SELECT failures FROM operators WHERE id=?", (op_id,)) + 1
            locked = now + self.lock_s if failures >= self.lock_after else None
            tx.execute(
                "UPDATE operators SET failures=?, locked_until=? WHERE id=?",
                (0 if locked else failures, locked, op_id),
            )
            tx.append(f"{purpose}.failed", {"operator": op_id, "reason": "pin", **(extra or {})})
            if locked:
                tx.append("auth.locked", {"operator": op_id, "until": locked})
            return failures

        failures, _ = await self.store.write(fail)
        raise ProtocolError(
            "unauthenticated", "unknown operator or wrong PIN", {"failures": failures}
        )

    async def login(self, op_id: str, pin: str, client: str) -> Operator:
        op = await self.verify(op_id, pin, "auth.login", {"client": client})
        await self._journal("auth.login", {"operator": op.id, "role": op.role, "client": client})
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
        row = self.store.one("SELECT * FROM operators WHERE id=?", (kept.operator.id,))
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
        self, op_id: str, pin: str, action: str, required: str, on_behalf: str | None
    ) -> Operator:
        op = await self.verify(op_id, pin, "auth.approval", {"action": action})
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
