"""HQ client tokens: the till's token scheme (gatewayd/auth.py) in head office's store."""

from __future__ import annotations

import uuid

from gatewayd import auth
from gatewayd.hq.db import HqTx


def add_token(tx: HqTx, name: str, role: str) -> tuple[str, str]:
    auth.check_role(role)
    token_id, token = uuid.uuid4().hex[:12], auth.new_token()
    tx.execute("INSERT INTO tokens(id, name, role, hash, created_at) VALUES (?,?,?,?,?)",
               (token_id, name, role, auth.hash_token(token), auth.now_s()))
    return token_id, token
