"""The daemon's housekeeping: the daily backup (and its rotation) while the till sells.

One owned task (`maintenance`, started by app.py) sleeps until the configured store time
(`[backup] at`), then copies the store from a read snapshot on a worker thread
(gatewayd/store/backup.py), so the event loop and the writer never wait for it. Progress and
the last outcome are in `system.health` (`backup`); a failure is published on `alerts`
(`alerts.backup_failed`) and retried at the next day's time.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import trio

from gatewayd.store import backup as backups

if TYPE_CHECKING:
    from gatewayd.app import App

log = logging.getLogger("gatewayd.maintenance")


@dataclass
class BackupStatus:
    state: str = "idle"  # idle | running
    done: int = 0  # pages copied of `total` in the running backup
    total: int = 0
    last_ok_at: float | None = None  # unix time
    last_path: str | None = None
    last_seq: int | None = None  # the journal seq the last backup holds
    last_seconds: float | None = None
    last_error: str | None = None


def _at(text: str) -> dt.time:
    hours, minutes = text.split(":")
    return dt.time(int(hours), int(minutes))


class Maintenance:
    def __init__(self, app: App):
        self.app = app
        self.tz = ZoneInfo(app.config.till.timezone)
        self.backup_status = BackupStatus()

    async def run(self) -> None:
        cfg = self.app.config.backup
        if not cfg.enabled:
            return
        while True:
            now = dt.datetime.now(self.tz)
            due = backups.next_run(now, _at(cfg.at))
            await trio.sleep((due - now).total_seconds())
            try:
                await self.backup_now()
            except backups.BackupError:
                pass  # reported in backup_now; tomorrow's run tries again

    async def backup_now(self) -> backups.BackupResult:
        """One scheduled backup into `[backup] dir`, then the rotation."""
        cfg = self.app.config.backup
        directory = self.app.config.backup_dir
        directory.mkdir(parents=True, exist_ok=True)
        target = directory / backups.backup_name(dt.datetime.now(self.tz))
        status = self.backup_status
        if status.state == "running":
            raise backups.BackupError("a backup is already running")
        status.state, status.done, status.total = "running", 0, 0
        abandoned = False

        def progress(done: int, total: int) -> None:
            status.done, status.total = done, total

        def work() -> backups.BackupResult:
            return backups.backup(self.app.store.path, target, progress,
                                  deadline_s=cfg.deadline_s, stop=lambda: abandoned)

        try:
            result = await trio.to_thread.run_sync(work, abandon_on_cancel=True)
        except trio.Cancelled:
            abandoned = True  # the thread stops at its next step and removes the partial copy
            raise
        except Exception as exc:
            status.last_error = f"{type(exc).__name__}: {exc}"
            log.error("backup to %s failed: %s", target, status.last_error)
            self.app.emit("alerts.backup_failed", {"path": str(target),
                                                   "error": status.last_error})
            raise backups.BackupError(status.last_error) from exc
        finally:
            status.state = "idle"
        status.last_ok_at, status.last_path = time.time(), str(result.path)
        status.last_seq, status.last_seconds = result.journal_seq, round(result.seconds, 3)
        status.last_error = None
        removed = await trio.to_thread.run_sync(backups.rotate, directory, cfg.keep)
        log.info("backup %s: journal seq %s, %d pages in %.1f s; %d old one(s) removed",
                 result.path, result.journal_seq, result.pages, result.seconds, len(removed))
        return result

    def health(self) -> dict[str, Any]:
        return {"backup": asdict(self.backup_status)}
