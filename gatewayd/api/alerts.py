"""`alert.raise`: a client asks for attention (a kiosk's call-for-help button, a bagging-area
mismatch). The alert is journaled and published as `alerts.raised`, which every checkout and
back office subscribed to `alerts` shows (with a beep)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from protocol.methods import AlertRaiseParams

if TYPE_CHECKING:
    from gatewayd.server.registry import CallContext, Registry
    from gatewayd.store.db import Store


def register(reg: Registry, store: Store, publish: Callable[[str, dict[str, Any]], None]) -> None:
    @reg.method("alert.raise")
    async def alert_raise(ctx: CallContext, p: AlertRaiseParams) -> dict[str, Any]:
        session = ctx.session
        data: dict[str, Any] = {
            "id": uuid.uuid4().hex[:12],
            "kind": p.kind,
            "message": p.message,
            "source": {"client": session.client_name, "kind": session.client_kind,
                       "operator": ctx.actor},
        }
        if p.device is not None:
            data["device"] = p.device
        _, journaled = await store.write(lambda tx: tx.append("alert.raised", data))
        publish("alerts.raised", data)
        return {"id": data["id"], "seq": journaled[-1].seq}
