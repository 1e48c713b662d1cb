"""`gatewayd restore --from-hq URL CODE`: rebuild a till whose store is lost from head
office's copy of its journal (DESIGN §8, 数据回卷).

    1. restore {code, store, till}  -> restoring {epoch, acked_seq, head_seq, credential}
    2. fetch/page until the staged store's journal holds seqs 1..acked_seq, verbatim
       (STORE.from-hq beside the store; a cut link leaves it there and a rerun resumes it)
    3. the tables derived from that journal (rebuild.py), in the staged store, with head
       office's central settings as the till had them (`restoring` carries them: the
       journal does not), so the members' point lots follow the rules the till used
    4. the staged store gets a NEW epoch whose base is acked_seq (those seqs are at head office
       already, under the old epoch: nothing is sent again), the new credential, and a
       `store.restored` event naming what could not be restored; then it is renamed over
       the store. Nothing is left half-restored under the store's name.
    5. one hello proves the credential (the code is used up then, the lost till's credential
       stops working, and head office raises `events_lost` for events it never received).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import trio
from websockets.trio.client import connect
from websockets.typing import Subprotocol

from gatewayd.config import Config
from gatewayd.replication import central, link
from gatewayd.replication.central import SETTING_KINDS
from gatewayd.replication.enroll import EnrollError, exchange, explain
from gatewayd.replication.rebuild import Report, rebuild_tables
from gatewayd.replication.replicator import first_failure
from gatewayd.store import lock
from gatewayd.store.db import Store, Tx, now_us
from protocol import repl
from protocol.repl import REPL_SUBPROTOCOL, ReplConnection, Side

PAGE_EVENTS = 1000
FRAME_TIMEOUT_S = 30
MAX_FRAME = 8 << 20
# rows the migrations seed: kept (and reset) when the tables are derived again
SEEDED = ("journal", "replication", "totals_state", "catalog_version", "master_state")
Progress = Callable[[int, int], None]


class RestoreError(Exception):
    pass


@dataclass
class Restored:
    epoch: str  # the till's new epoch
    previous_epoch: str
    seq: int  # the journal's last seq, as downloaded
    head_seq: int  # how far head office last heard the till's journal went
    report: Report
    aside: Path | None  # the store that was there before (--force)
    hello_error: str | None  # why the first hello failed, when it did


def staging_path(store_path: Path) -> Path:
    return store_path.with_name(store_path.name + ".from-hq")


def _meta_path(staging: Path) -> Path:
    return staging.with_name(staging.name + ".json")


async def restore_from_hq(cfg: Config, url: str, code: str, ca_file: str | None, *,
                          force: bool = False, progress: Progress | None = None) -> Restored:
    target = cfg.store_path
    try:
        fd = lock.acquire(target)
    except lock.StoreInUse as exc:
        raise RestoreError(f"{exc}; stop it first (systemctl stop gatewayd)") from None
    try:
        if target.exists() and not force:
            raise RestoreError(
                f"{target} exists (a store, {_head(target)}); a restore "
                "from head office replaces it: give --force to keep it aside and go on")
        staging = staging_path(target)
        plan, credential = await _download(cfg, url, code, ca_file, staging, progress)
        try:
            report = await trio.to_thread.run_sync(_derive, staging, cfg, plan.central)
        except Exception as exc:  # a journal this gatewayd cannot make sense of
            raise RestoreError(
                f"the tables could not be rebuilt from the journal ({type(exc).__name__}: "
                f"{exc}); nothing was restored, the download is kept in {staging}") from exc
        epoch = await trio.to_thread.run_sync(_install_settings, staging, plan, url,
                                              credential, ca_file, report)
        aside = _swap(staging, target)
    finally:
        os.close(fd)
    hello_error = await _prove(cfg, url, ca_file)
    return Restored(epoch, plan.epoch, plan.acked_seq, plan.head_seq, report, aside,
                    hello_error)


def _head(path: Path) -> str:
    """What the store in the way holds, read without touching it."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            return f"journal seq {conn.execute('SELECT MAX(seq) FROM journal').fetchone()[0]}"
        finally:
            conn.close()
    except sqlite3.Error as exc:  # damaged or not a store: --force replaces it all the same
        return f"unreadable: {exc}"


# -- 1, 2: the download --------------------------------------------------------------------
async def _download(cfg: Config, url: str, code: str, ca: str | None, staging: Path,
                    progress: Progress | None) -> tuple[repl.Restoring, str]:
    try:
        return await _download_once(cfg, url, code, ca, staging, progress)
    except BaseExceptionGroup as group:  # websockets' connect may wrap its failure
        raise _failed(url, staging, first_failure(group)) from None
    except Exception as exc:
        raise _failed(url, staging, exc) from None


def _failed(url: str, staging: Path, exc: BaseException) -> BaseException:
    if isinstance(exc, RestoreError):
        return exc
    why = explain(url, exc)
    if not isinstance(why, EnrollError):
        return exc
    held = _staged_seq(staging) if staging.exists() else 0
    kept = (f"; the {held} events downloaded are kept in {staging} and the same command "
            "resumes from there") if held else ""
    return RestoreError(f"{why}{kept}")


async def _download_once(cfg: Config, url: str, code: str, ca: str | None, staging: Path,
                         progress: Progress | None) -> tuple[repl.Restoring, str]:
    conn = ReplConnection(Side.TILL)
    async with connect(link.repl_url(url), subprotocols=[Subprotocol(REPL_SUBPROTOCOL)],
                       ssl=link.ssl_context(url, ca), compression=None, proxy=None,
                       max_size=MAX_FRAME, open_timeout=FRAME_TIMEOUT_S) as ws:
        await ws.send(conn.send(repl.Restore(code=code, store=cfg.till.store,
                                             till=cfg.till.till)))
        with trio.fail_after(FRAME_TIMEOUT_S):
            plan = conn.receive(await ws.recv())
        if isinstance(plan, repl.Error):
            raise RestoreError(f"head office refused ({plan.code}): {plan.message}")
        assert isinstance(plan, repl.Restoring)
        store = _open_staging(staging, plan)
        try:
            held = store.journal_seq()
            while held < plan.acked_seq:
                if progress:
                    progress(held, plan.acked_seq)
                await ws.send(conn.send(repl.Fetch(
                    after=held, limit=min(PAGE_EVENTS, plan.acked_seq - held))))
                with trio.fail_after(FRAME_TIMEOUT_S):
                    page = conn.receive(await ws.recv())
                if isinstance(page, repl.Error):
                    raise RestoreError(f"head office failed mid-download ({page.code}): "
                                       f"{page.message}; run the command again to resume")
                assert isinstance(page, repl.Page)
                held = await trio.to_thread.run_sync(_keep_page, store, held, page)
            if progress:
                progress(held, plan.acked_seq)
        finally:
            store.close()
    return plan, plan.credential


def _open_staging(staging: Path, plan: repl.Restoring) -> Store:
    """The staged store, resumed when it holds the same till's same epoch, else begun anew."""
    meta_path = _meta_path(staging)
    meta = {"store": plan.store, "till": plan.till, "epoch": plan.epoch}
    try:
        same = json.loads(meta_path.read_text()) == meta
    except (OSError, ValueError):
        same = False
    if not same:
        for p in (staging, Path(f"{staging}-wal"), Path(f"{staging}-shm")):
            p.unlink(missing_ok=True)
        meta_path.write_text(json.dumps(meta))
    return Store(staging)


def _staged_seq(staging: Path) -> int:
    store = Store(staging)
    try:
        return store.journal_seq()
    finally:
        store.close()


def _keep_page(store: Store, held: int, page: repl.Page) -> int:
    """Append a page to the staged journal, verbatim; it must follow `held` without a gap."""
    from protocol.codec import pack

    if not page.events:
        raise RestoreError(f"head office sent nothing after seq {held}: its copy of the "
                           "journal ends early; nothing was restored")
    for i, ev in enumerate(page.events):
        if ev.seq != held + 1 + i:
            raise RestoreError(f"head office sent seq {ev.seq} where {held + 1 + i} was "
                               "due; nothing was restored")

    def put(tx: Tx) -> None:
        tx.executemany("INSERT INTO journal(seq, at, kind, data) VALUES (?,?,?,?)",
                       [(ev.seq, ev.at, ev.kind, pack(ev.data)) for ev in page.events])

    store.write_sync(put)
    return page.events[-1].seq


# -- 3, 4: the tables, the new epoch, the swap ---------------------------------------------
def _derive(staging: Path, cfg: Config,
            settings: Sequence[repl.CentralValue] = ()) -> Report:
    store = Store(staging)
    try:
        def clear(tx: Tx) -> None:  # a rerun after a failed rebuild starts from the journal
            tx.execute("PRAGMA defer_foreign_keys = ON")  # all empty by the commit
            for (table,) in tx.execute("SELECT name FROM sqlite_schema WHERE type='table' AND"
                                       " name NOT LIKE 'sqlite_%'").fetchall():
                if table not in SEEDED:
                    tx.execute(f'DELETE FROM "{table}"')
            tx.execute("UPDATE totals_state SET built = 0")
            # head office's settings as the till had them: the rebuild replays the members'
            # point lots by those rules, and the restored till sells by them until it links
            for s in settings:
                if s.kind in SETTING_KINDS:  # a newer head office's other kinds: not here
                    central.apply_setting(tx, s.kind, {"key": s.key, "value": s.value})

        store.write_sync(clear)
    finally:
        store.close()
    return rebuild_tables(staging, cfg)


def _install_settings(staging: Path, plan: repl.Restoring, url: str, credential: str,
                      ca_file: str | None, report: Report) -> str:
    epoch = secrets.token_hex(16)
    store = Store(staging)
    try:
        def install(tx: Tx) -> None:
            last_at = tx.scalar("SELECT COALESCE(MAX(at), 0) FROM journal")
            tx.execute(
                "UPDATE replication SET epoch=?, base_seq=?, previous_epoch=?, previous_seq=?,"
                " url=?, credential=?, ca_file=?, store=?, till=?, enrolled_at=?, acked_seq=?,"
                " acked_at=? WHERE id=1",
                (epoch, plan.acked_seq, plan.epoch, plan.acked_seq, url, credential, ca_file,
                 plan.store, plan.till, now_us(), plan.acked_seq, last_at))
            tx.append("store.restored", {"source": "hq", "previous_epoch": plan.epoch,
                                         "seq": plan.acked_seq, "missing": report.missing})

        store.write_sync(install)
    finally:
        store.close()  # the last connection: the WAL is checkpointed into the file
    with open(staging, "rb") as fh:
        os.fsync(fh.fileno())
    return epoch


def _swap(staging: Path, target: Path) -> Path | None:
    aside = None
    if target.exists():
        aside = target.with_name(f"{target.name}.before-restore-{int(time.time())}")
        shutil.move(target, aside)
    for suffix in ("-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    os.replace(staging, target)
    dir_fd = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    _meta_path(staging).unlink(missing_ok=True)
    return aside


# -- 5: the first hello -------------------------------------------------------------------
async def _prove(cfg: Config, url: str, ca: str | None) -> str | None:
    store = Store(cfg.store_path)
    try:
        settings = link.read(store)
        assert settings.credential is not None
        hello = link.hello(settings, cfg.till.store, cfg.till.till, settings.credential,
                           store.journal_seq(), 0)  # master version 0: head office sends all
    finally:
        store.close()
    try:
        await exchange(url, ca, hello)
    except EnrollError as exc:
        return str(exc)
    return None
