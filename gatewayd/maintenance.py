"""The daemon's housekeeping while the till sells: the daily backup (and its rotation) and
the daily retention run.

Two owned tasks (started by app.py) each sleep until their store time. The backup copies the
store from a read snapshot on a worker thread (gatewayd/store/backup.py), so the event loop
and the writer never wait for it; `[backup] at`. Retention (gatewayd/store/retention.py)
archives what may leave the live store, on a worker thread too, its deletes going through
the store's writer in short transactions between the sales; `[retention] at`. Progress and
the last outcomes are in `system.health` (`backup`, `retention`); a backup's progress and
end are published on topic `backup` (`backup.progress`, `backup.done`, `backup.failed`;
`system.backup` takes one at once); a failure is published on `alerts` too
(`alerts.backup_failed`, `alerts.retention_failed`) and retried the next day.
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
from gatewayd.store import retention, vacuum

if TYPE_CHECKING:
    from pathlib import Path

    from gatewayd.config import BackupConfig, RetentionConfig
    from gatewayd.ports import Publish
    from gatewayd.store.db import Store

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


class RetentionError(Exception):
    pass


class BackupRunning(backups.BackupError):
    """A backup was asked for while one runs."""


PROGRESS_S = 1.0  # between two backup.progress events


def _at(text: str) -> dt.time:
    hours, minutes = text.split(":")
    return dt.time(int(hours), int(minutes))


@dataclass
class RetentionStatus:
    state: str = "idle"  # idle | running
    last_run_at: float | None = None  # unix time
    last_archived: dict[str, int] | None = None  # {sales, journal, print_jobs}
    live_mb: float | None = None  # the store in use after the last run
    free_mb: float | None = None  # free pages left in the file (the next run goes on)
    compact: bool = False  # so many that `gatewayd vacuum` is worth running (vacuum.py)
    last_error: str | None = None


class Maintenance:
    _retention_running: retention.Outcome | None  # the run under way, counted as it goes

    def __init__(self, store: Store, backup: BackupConfig, retention: RetentionConfig, *,
                 backup_dir: Path, archive_dir: Path, timezone: str, publish: Publish):
        self.store = store
        self.backup_cfg, self.retention_cfg = backup, retention
        self.backup_dir, self.archive_dir = backup_dir, archive_dir
        self.publish = publish
        self.tz = ZoneInfo(timezone)
        self.backup_status = BackupStatus()
        self._retention_running = None
        self.retention_status = RetentionStatus()

    async def _daily(self, at: str, job) -> None:
        while True:
            now = dt.datetime.now(self.tz)
            due = backups.next_run(now, _at(at))
            await trio.sleep((due - now).total_seconds())
            try:
                await job()
            except (backups.BackupError, RetentionError):
                pass  # reported by the job; tomorrow's run tries again

    async def run(self) -> None:
        async with trio.open_nursery() as nursery:
            if self.backup_cfg.enabled:
                nursery.start_soon(self._daily, self.backup_cfg.at, self.backup_now,
                                   name="backup")
            if self.retention_cfg.enabled:
                nursery.start_soon(self._daily, self.retention_cfg.at,
                                   self.retention_now, name="retention")

    async def backup_now(self) -> backups.BackupResult:
        """One backup into `[backup] dir` (the daily one, or `system.backup`), then the
        rotation. Its progress goes to topic `backup` about once a second, its end as
        `backup.done` or `backup.failed`."""
        cfg = self.backup_cfg
        directory = self.backup_dir
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        target = directory / backups.backup_name(dt.datetime.now(self.tz))
        status = self.backup_status
        if status.state == "running":
            raise BackupRunning("a backup is already running")
        status.state, status.done, status.total = "running", 0, 0
        abandoned = False

        published = 0.0

        def progress(done: int, total: int) -> None:
            nonlocal published
            status.done, status.total = done, total
            if time.monotonic() - published >= PROGRESS_S or done == total:
                published = time.monotonic()
                try:  # the bus is the event loop's: published there
                    trio.from_thread.run_sync(self.publish, "backup.progress", {
                        "path": str(target), "done": done, "total": total})
                except trio.RunFinishedError:
                    pass

        def work() -> backups.BackupResult:
            return backups.backup(self.store.path, target, progress,
                                  deadline_s=cfg.deadline_s, stop=lambda: abandoned)

        try:
            result = await trio.to_thread.run_sync(work, abandon_on_cancel=True)
        except trio.Cancelled:
            abandoned = True  # the thread stops at its next step and removes the partial copy
            raise
        except Exception as exc:
            status.last_error = f"{type(exc).__name__}: {exc}"
            log.error("backup to %s failed: %s", target, status.last_error)
            self.publish("backup.failed", {"path": str(target), "error": status.last_error})
            self.publish("alerts.backup_failed", {"path": str(target),
                                                   "error": status.last_error})
            raise backups.BackupError(status.last_error) from exc
        finally:
            status.state = "idle"
        status.last_ok_at, status.last_path = time.time(), str(result.path)
        status.last_seq, status.last_seconds = result.journal_seq, round(result.seconds, 3)
        status.last_error = None
        self.publish("backup.done", {"path": str(result.path), "journal_seq": result.journal_seq,
                                     "pages": result.pages,
                                     "seconds": round(result.seconds, 3)})
        removed = await trio.to_thread.run_sync(backups.rotate, directory, cfg.keep)
        log.info("backup %s: journal seq %s, %d pages in %.1f s; %d old one(s) removed",
                 result.path, result.journal_seq, result.pages, result.seconds, len(removed))
        return result

    async def retention_now(self, now_us: int | None = None) -> retention.Outcome:
        """One retention run on a worker thread (its writes go through the store's writer
        in short transactions, between the sales)."""
        cfg = self.retention_cfg
        status = self.retention_status
        if status.state == "running":
            raise RetentionError("retention is already running")
        policy = retention.Policy(cfg.keep_days, cfg.journal_days, cfg.print_days,
                                  cfg.return_window_days, cfg.max_store_bytes)
        store = self.store
        when = now_us if now_us is not None else time.time_ns() // 1000
        abandoned = False

        out = self._retention_running = retention.Outcome()

        def work() -> retention.Outcome:
            return retention.run(store, self.archive_dir, policy, self.tz, when,
                                 retention.hq_acked_seq(store), lambda: abandoned, out)

        status.state = "running"
        try:
            out = await trio.to_thread.run_sync(work, abandon_on_cancel=True)
        except trio.Cancelled:
            abandoned = True  # stops after the batch in hand, which it finishes
            raise
        except Exception as exc:
            status.last_error = f"{type(exc).__name__}: {exc}"
            log.exception("retention failed")
            self.publish("alerts.retention_failed", {"error": status.last_error})
            raise RetentionError(status.last_error) from exc
        finally:
            status.state = "idle"
            self._retention_running = None
        status.last_run_at, status.last_error = time.time(), None
        status.last_archived = {"sales": out.sales, "journal": out.journal,
                                "print_jobs": out.print_jobs}
        status.live_mb = round(out.live_bytes / 1e6, 1)
        status.free_mb = round(out.free_bytes / 1e6, 1)
        status.compact = vacuum.worth_compacting(
            out.free_bytes / ((out.free_bytes + out.live_bytes) or 1))
        return out

    def health(self) -> dict[str, Any]:
        retention_health = asdict(self.retention_status)
        out = self._retention_running
        if out is not None:  # counted by the run's thread as it goes
            retention_health["progress"] = {
                "phase": out.phase, "sales": out.sales, "journal": out.journal,
                "print_jobs": out.print_jobs, "freed_mb": round(out.freed_bytes / 1e6, 1)}
        return {"backup": asdict(self.backup_status), "retention": retention_health}
