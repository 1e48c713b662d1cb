"""`gatewayd backup | restore | vacuum | journal tail`: the store, opened directly."""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from functools import partial
from pathlib import Path
from typing import Any

from gatewayd.cli.common import EXIT_OK, EXIT_USAGE, die, load_config, open_store


def add(sub: Any) -> None:
    b = sub.add_parser("backup", help="online backup of the store")
    b.add_argument("path")
    b.add_argument("--deadline", type=float, default=3600.0, metavar="SECONDS",
                   help="stop (and remove the partial copy) if not done by then")
    b.set_defaults(fn=cmd_backup)
    r = sub.add_parser("restore", help="replace the store from a backup, or rebuild it from "
                       "head office (--from-hq); the daemon must be stopped")
    r.add_argument("--force", action="store_true",
                   help="restore a store whose receipts are another till's; with --from-hq: "
                   "replace an existing store (it is kept aside)")
    r.add_argument("path", nargs="?", help="the backup file")
    r.add_argument("--from-hq", nargs=2, metavar=("URL", "CODE"),
                   help="rebuild this till from head office's copy of its journal, with a "
                   "code from `gatewayd hq till restore-code STORE TILL`")
    r.add_argument("--ca-file", help="with --from-hq: CA certificate (PEM) to trust for wss://")
    r.add_argument("--deadline", type=float, default=600.0, metavar="SECONDS",
                   help="give up the integrity check if not done by then")
    r.set_defaults(fn=cmd_restore)
    v = sub.add_parser("vacuum", help="convert a store from before incremental vacuum, or "
                       "compact one that is mostly free pages (daemon must be stopped)")
    v.set_defaults(fn=cmd_vacuum)
    j = sub.add_parser("journal", help="the journal").add_subparsers(dest="sub", required=True)
    jt = j.add_parser("tail", help="print the last events")
    jt.add_argument("-n", type=int, default=20)
    jt.add_argument("-f", "--follow", action="store_true")
    jt.set_defaults(fn=cmd_journal_tail)


def cmd_backup(args) -> int:
    """A copy of one read snapshot, while the daemon sells (gatewayd/store/backup.py)."""
    import sqlite3

    from gatewayd.store.backup import BackupError, backup

    cfg = load_config(args)
    target = Path(args.path)

    def progress(done: int, total: int) -> None:
        print(f"\rbackup: {done}/{total} pages", end="", file=sys.stderr)

    try:
        done = backup(cfg.store_path, target, progress, deadline_s=args.deadline)
    except BackupError as exc:
        return die(str(exc))
    except sqlite3.Error as exc:
        return die(f"cannot read the store {cfg.store_path}: {exc}")
    print(f"\nbackup written to {target} (journal seq {done.journal_seq}, "
          f"{done.seconds:.1f} s)", file=sys.stderr)
    return EXIT_OK


def cmd_restore(args) -> int:
    import sqlite3

    from gatewayd.store import lock
    from gatewayd.store.backup import BackupError, check
    from gatewayd.store.check import StoreRefused, identify
    from gatewayd.store.db import private_file

    cfg = load_config(args)
    if args.from_hq:
        if args.path:
            return die("give a backup file or --from-hq, not both", EXIT_USAGE)
        url, code = args.from_hq
        return _restore_from_hq(cfg, url, code, args.ca_file, args.force)
    if not args.path:
        return die("restore what? give a backup file, or --from-hq URL CODE", EXIT_USAGE)
    source = Path(args.path)

    def progress(done: int, total: int) -> None:
        print(f"\rchecking {source}: {done}/{total} tables", end="", file=sys.stderr)

    try:
        problems = check(source, progress, deadline_s=args.deadline)
    except sqlite3.DatabaseError as exc:
        return die(f"{source} is not a gatewayd store: {exc}; nothing was restored")
    except BackupError as exc:
        return die(f"{source}: {exc}; nothing was restored")
    print(file=sys.stderr)
    if problems:
        return die(f"{source} failed its integrity check: {'; '.join(problems[:5])}; "
                   "nothing was restored")
    try:
        found = identify(source)  # a gatewayd store of a schema we know
    except StoreRefused as exc:
        return die(f"{exc}; nothing was restored")
    mine = (cfg.till.store, cfg.till.till)
    if found.till is not None and found.till != mine and not args.force:
        return die(f"{source} is the store of till {'/'.join(found.till)}, not of "
                   f"{'/'.join(mine)} (its last receipt {found.last_receipt}); restore it "
                   "here only on purpose, with --force")
    try:
        fd = lock.acquire(cfg.store_path)
    except lock.StoreInUse as exc:
        return die(f"{exc}; stop it first (systemctl stop gatewayd)")
    try:
        target = cfg.store_path
        if target.exists():
            aside = target.with_name(f"{target.name}.before-restore-{int(time.time())}")
            shutil.move(target, aside)
            print(f"previous store kept as {aside}", file=sys.stderr)
        for suffix in ("-wal", "-shm"):
            Path(str(target) + suffix).unlink(missing_ok=True)
        private_file(target)
        shutil.copyfile(source, target)
        epoch = _new_epoch(target)
    finally:
        os.close(fd)
    print(f"restored {target} from {source}: schema {found.schema}, journal seq "
          f"{found.journal_seq}, last receipt {found.last_receipt or '(none)'}; new "
          f"replication epoch {epoch}")
    return EXIT_OK


def _restore_from_hq(cfg: Any, url: str, code: str, ca_file: str | None, force: bool) -> int:
    """Rebuild this till from head office's copy of its journal (gatewayd/replication/
    restore.py): download with progress, derive the tables, swap in, say what is missing."""
    import trio

    from gatewayd.replication.restore import RestoreError, restore_from_hq

    def progress(done: int, total: int) -> None:
        print(f"\rdownloading the journal from head office: {done}/{total} events", end="",
              file=sys.stderr, flush=True)

    ca = str(Path(ca_file).resolve()) if ca_file else None
    try:
        done = trio.run(partial(restore_from_hq, cfg, url, code, ca, force=force,
                                progress=progress))
    except RestoreError as exc:
        print(file=sys.stderr)
        return die(f"{exc}")
    print(file=sys.stderr)
    if done.aside is not None:
        print(f"previous store kept as {done.aside}", file=sys.stderr)
    counts = ", ".join(f"{n} {what}" for what, n in done.report.restored.items() if n)
    print(f"restored {cfg.store_path} from head office: journal seqs 1..{done.seq} of epoch "
          f"{done.previous_epoch} ({counts}); new replication epoch {done.epoch}")
    if done.head_seq > done.seq:
        print(f"LOST: the till had journaled up to seq {done.head_seq} (at least) but head "
              f"office only received up to {done.seq}: events {done.seq + 1}..{done.head_seq} "
              "are gone (head office raises an events_lost alert)")
    for line in done.report.missing:
        print(f"NOT RESTORED: {line}")
    if done.hello_error is not None:
        print(f"head office was not reached after the restore ({done.hello_error}); the "
              "daemon says hello when it starts", file=sys.stderr)
    return EXIT_OK


def _new_epoch(target: Path) -> str:
    """A restored journal is rewound: it replicates under a new epoch (DESIGN §8)."""
    from gatewayd.replication.link import new_epoch
    from gatewayd.store.db import Store

    Store(target).close()  # brings an old backup's schema up to date first
    return new_epoch(target)


def cmd_vacuum(args) -> int:
    """Rewrite a store from before incremental vacuum once, so retention gives the pages it
    frees back to the file system; or one that is mostly free pages, at once
    (gatewayd/store/vacuum.py)."""
    from gatewayd.store import lock, vacuum

    cfg = load_config(args)
    path = cfg.store_path
    converting = vacuum.needs_conversion(path)
    free = vacuum.free_share(path)
    if not converting and not vacuum.worth_compacting(free):
        print(f"{path} already gives freed pages back (incremental vacuum) and {free:.0%} of "
              "it is free: nothing to do", file=sys.stderr)
        return EXIT_OK
    try:
        fd = lock.acquire(path)
    except lock.StoreInUse as exc:
        return die(f"{exc}; stop it first (systemctl stop gatewayd)")

    def progress(done: int, total: int) -> None:
        print(f"\rvacuum: {done >> 20}/{total >> 20} MB", end="", file=sys.stderr)

    try:
        done = vacuum.convert(path, progress)
    except (vacuum.VacuumError, OSError) as exc:
        return die(f"{exc}; the store is as it was")
    finally:
        os.close(fd)
    what = "incremental vacuum on" if converting else f"compacted ({free:.0%} was free)"
    print(f"\n{path}: {what}; {done.bytes_before >> 20} MB -> "
          f"{done.bytes_after >> 20} MB in {done.seconds:.1f} s", file=sys.stderr)
    return EXIT_OK


def cmd_journal_tail(args) -> int:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(load_config(args).till.timezone)  # the store's clock, as receipts show it
    store = open_store(args)
    last = max(0, store.journal_seq() - args.n)
    try:
        while True:
            for ev in store.journal(after=last):
                at = datetime.fromtimestamp(ev.at / 1e6, tz).strftime("%Y-%m-%d %H:%M:%S")
                print(
                    f"{ev.seq:>8} {at} {ev.kind:<22} "
                    f"{json.dumps(ev.data, ensure_ascii=False, default=str)}",
                    flush=True,
                )
                last = ev.seq
            if not args.follow:
                return EXIT_OK
            time.sleep(0.5)
    except KeyboardInterrupt:
        return EXIT_OK
