"""`gatewayd backup | restore | vacuum | journal tail`: the store, opened directly."""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from gatewayd.cli.common import EXIT_OK, die, load_config, open_store


def add(sub: Any) -> None:
    b = sub.add_parser("backup", help="online backup of the store")
    b.add_argument("path")
    b.add_argument("--deadline", type=float, default=3600.0, metavar="SECONDS",
                   help="stop (and remove the partial copy) if not done by then")
    b.set_defaults(fn=cmd_backup)
    r = sub.add_parser("restore", help="replace the store (daemon must be stopped)")
    r.add_argument("--force", action="store_true",
                   help="restore a store whose receipts are another till's")
    r.add_argument("path")
    r.add_argument("--deadline", type=float, default=600.0, metavar="SECONDS",
                   help="give up the integrity check if not done by then")
    r.set_defaults(fn=cmd_restore)
    v = sub.add_parser("vacuum", help="convert a store from before incremental vacuum "
                       "(daemon must be stopped)")
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


def _new_epoch(target: Path) -> str:
    """A restored journal is rewound: it replicates under a new epoch (DESIGN §8)."""
    from gatewayd.replication.link import new_epoch
    from gatewayd.store.db import Store

    Store(target).close()  # brings an old backup's schema up to date first
    return new_epoch(target)


def cmd_vacuum(args) -> int:
    """Rewrite a store from before incremental vacuum once (gatewayd/store/vacuum.py), so
    retention gives the pages it frees back to the file system."""
    from gatewayd.store import lock, vacuum

    cfg = load_config(args)
    path = cfg.store_path
    if not vacuum.needs_conversion(path):
        print(f"{path} already gives freed pages back (incremental vacuum): nothing to do",
              file=sys.stderr)
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
    print(f"\n{path}: incremental vacuum on; {done.bytes_before >> 20} MB -> "
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
