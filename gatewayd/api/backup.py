"""system.backup: a backup now, as the daily one (gatewayd/maintenance.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gatewayd.maintenance import BackupRunning
from gatewayd.store.backup import BackupError
from protocol.errors import ProtocolError
from protocol.methods import NoParams

if TYPE_CHECKING:
    from gatewayd.maintenance import Maintenance
    from gatewayd.server.registry import CallContext, Registry


def register(reg: Registry, maintenance: Maintenance) -> None:
    @reg.method("system.backup")
    async def system_backup(ctx: CallContext, p: NoParams) -> dict[str, Any]:
        try:
            done = await maintenance.backup_now()
        except BackupRunning as exc:
            raise ProtocolError("conflict", str(exc)) from None
        except BackupError as exc:
            raise ProtocolError("internal", f"the backup failed: {exc}") from None
        return {"path": str(done.path), "journal_seq": done.journal_seq, "pages": done.pages,
                "seconds": round(done.seconds, 3)}
