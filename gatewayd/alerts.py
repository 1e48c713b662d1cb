"""`alert.raise`: a client asks for attention (a kiosk's call-for-help button, a bagging-area
mismatch). The alert is journaled and published as `alerts.raised`, which every checkout and
back office subscribed to `alerts` shows (with a beep)."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gatewayd.app import App
    from gatewayd.server.registry import CallContext


def bind(app: App) -> None:
    @app.registry.method("alert.raise")
    async def alert_raise(ctx: CallContext, p) -> dict[str, Any]:
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
        _, journaled = await app.store.write(lambda tx: tx.append("alert.raised", data))
        app.emit("alerts.raised", data)
        return {"id": data["id"], "seq": journaled[-1].seq}
