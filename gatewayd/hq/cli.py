"""`gatewayd hq ...`: head office's commands (DESIGN §8), and the till's `hq enroll`.

    gatewayd hq serve --listen HOST:PORT --data DIR [--db postgresql://...] [--cert --key]
    gatewayd hq --data DIR [--db DSN] till add STORE TILL      (code alone on the last line)
    gatewayd hq --data DIR [--db DSN] till revoke STORE TILL
    gatewayd hq --data DIR [--db DSN] till restore-code STORE TILL   (code alone on the last line)
    gatewayd hq --data DIR [--db DSN] token add NAME --role ROLE
    gatewayd hq --data DIR [--db DSN] tills
    gatewayd hq --data DIR [--db DSN] catalog import FILE [--effective-at ISO] [--dry-run]
    gatewayd --data-dir TILLDIR hq enroll URL CODE [--ca-file PEM]      (on the till)

The admin commands open the database directly (SQLite in WAL mode or PostgreSQL), so they
work while `hq serve` runs on the same data.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from gatewayd.config import default_data_dir

EXIT_OK, EXIT_ERROR = 0, 1


def _die(message: str) -> int:
    print(f"gatewayd hq: {message}", file=sys.stderr)
    return EXIT_ERROR


def _data(args) -> Path:
    return Path(args.data) if args.data else default_data_dir() / "hq"


def _store(args):
    from gatewayd.hq.db import HqStore, open_backend

    return HqStore(open_backend(_data(args), args.db))


def cmd_serve(args) -> int:
    import trio

    from gatewayd.hq.service import HqApp

    hq = HqApp(_data(args), args.db, listen=args.listen,
               cert=Path(args.cert) if args.cert else None,
               key=Path(args.key) if args.key else None, db_wait_s=args.db_wait)

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            await nursery.start(hq.run)
            scheme = "wss" if hq.tls else "ws"
            print(f"gatewayd hq on {scheme}://{hq.config.server.host}:{hq.port}  "
                  f"({hq.store.backend.describe()})", flush=True)

    try:
        trio.run(main)
    except KeyboardInterrupt:
        pass
    finally:
        hq.close()
    return EXIT_OK


def cmd_till_add(args) -> int:
    from gatewayd.hq import ingest

    code = _store(args).write_sync(lambda tx: ingest.add_till(tx, args.store, args.till))
    print(f"till {args.store}/{args.till}: enroll it within {ingest.CODE_HOURS} hours with\n"
          f"  gatewayd hq enroll ws://HQ-HOST:PORT CODE\non the till; the code:",
          file=sys.stderr)
    print(code, flush=True)
    return EXIT_OK


def cmd_till_revoke(args) -> int:
    from gatewayd.hq import ingest

    if not _store(args).write_sync(lambda tx: ingest.revoke_till(tx, args.store, args.till)):
        return _die(f"no enrolled, unrevoked till {args.store}/{args.till}")
    print(f"till {args.store}/{args.till} revoked")
    return EXIT_OK


def cmd_till_restore_code(args) -> int:
    from gatewayd.hq import ingest, restore

    try:
        code = _store(args).write_sync(
            lambda tx: restore.restore_code(tx, args.store, args.till))
    except LookupError as exc:
        return _die(str(exc.args[0]))
    print(f"till {args.store}/{args.till}: rebuild it within {ingest.CODE_HOURS} hours with\n"
          f"  gatewayd restore --from-hq ws://HQ-HOST:PORT CODE\non the replacement till; "
          f"the code:", file=sys.stderr)
    print(code, flush=True)
    return EXIT_OK


def cmd_token_add(args) -> int:
    from gatewayd.hq.tokens import add_token

    token_id, token = _store(args).write_sync(lambda tx: add_token(tx, args.name, args.role))
    print(token)
    print(f"token {token_id} for {args.name} ({args.role}); it is shown only once",
          file=sys.stderr)
    return EXIT_OK


def cmd_tills(args) -> int:
    from gatewayd.hq.methods import tills

    rows = _store(args).read_sync(tills)
    print(f"{'store':<8} {'till':<6} {'state':<9} {'acked':>8} {'head':>8} {'lag':>6} "
          f"{'lag_s':>8} {'master':>7}  {'epoch':<8} last contact")
    for r in rows:
        state = "revoked" if r["revoked"] else "online" if r["online"] else (
            "offline" if r["epoch"] else "enrolling" if not r["enrolled"] else "offline")
        last = r["last_contact"].strftime("%Y-%m-%d %H:%M:%S") if r["last_contact"] else "-"
        print(f"{r['store']:<8} {r['till']:<6} {state:<9} {r['acked_seq']:>8} "
              f"{r['head_seq']:>8} {r['lag_events']:>6} {r['lag_s']:>8.1f} "
              f"{r['master_version']:>7}  "
              f"{(r['epoch'] or '-')[:8]:<8} {last}")
    return EXIT_OK


def cmd_catalog_import(args) -> int:
    """A CSV or XLSX catalog file as one master version (tills get it on their link)."""
    from datetime import datetime

    from gatewayd.hq import master

    def progress(message: str) -> None:
        print(f"gatewayd hq: {message}", file=sys.stderr, flush=True)

    effective = None
    if args.effective_at:
        try:
            at = datetime.fromisoformat(args.effective_at)
        except ValueError:
            return _die(f"--effective-at {args.effective_at!r}: give an ISO time, "
                        "e.g. 2026-05-16T00:00+08:00")
        if at.tzinfo is None:
            return _die("--effective-at needs a UTC offset (…+08:00 or …Z)")
        effective = int(at.timestamp() * 1_000_000)
    path = Path(args.file)
    try:
        data = path.read_bytes()
    except OSError as exc:
        return _die(f"cannot read {path}: {exc.strerror}")
    progress(f"reading {path.name} ({len(data) // 1024} KiB)")
    try:
        version, count = _store(args).write_sync(lambda tx: master.import_file(
            tx, data, path.name, effective, "cli", args.dry_run, progress))
    except master.MasterError as err:
        for e in err.errors[:50]:
            print(f"  row {e['row']}: {e.get('field') or '-'}: {e['error']}", file=sys.stderr)
        if err.count > 50:
            print(f"  ... {err.count - 50} more", file=sys.stderr)
        return _die(str(err))
    if version is None:
        print(f"{count} items checked; nothing versioned (--dry-run)")
    else:
        print(f"{count} items as master version {version}; connected tills get it within "
              f"a second, the others when they connect")
    return EXIT_OK


def cmd_enroll(args) -> int:
    """On the till: exchange the code for this till's credential, keep it in the store."""
    import trio

    from gatewayd import config as config_mod
    from gatewayd.replication.enroll import EnrollError, enroll

    cfg = config_mod.load(Path(args.config) if args.config else None, data_dir=args.data_dir)
    ca = str(Path(args.ca_file).resolve()) if args.ca_file else None
    try:
        result = trio.run(enroll, cfg, args.url, args.code, ca)
    except EnrollError as exc:
        return _die(str(exc))
    print(f"till {cfg.till.store}/{cfg.till.till} enrolled at {args.url}: head office holds "
          f"{result.acked_seq} of its {result.head_seq} journal events; a running daemon "
          f"starts replicating within seconds")
    return EXIT_OK


def cmd_demo(args) -> int:
    from gatewayd.hq.demo import run_demo

    return run_demo(Path(args.data) if args.data else None, args.listen)


def add_cli(sub) -> None:
    from protocol.roles import ROLES

    def db_options(p, top: bool) -> None:
        default = None if top else argparse.SUPPRESS
        p.add_argument("--data", default=default,
                       help="head office's data directory (its SQLite database: hq.db)")
        p.add_argument("--db", default=os.environ.get("GATEWAYD_HQ_DB") if top else default,
                       help="postgresql://... to keep head office in PostgreSQL")

    hq = sub.add_parser("hq", help="head office: serve, tills, tokens; enroll a till")
    db_options(hq, top=True)
    cmds = hq.add_subparsers(dest="hq_command", required=True)

    s = cmds.add_parser("serve", help="run the head-office service")
    db_options(s, top=False)
    s.add_argument("--listen", default="127.0.0.1:8760")
    s.add_argument("--cert", help="TLS certificate chain (PEM): serve wss://")
    s.add_argument("--key", help="the certificate's private key (PEM)")
    s.add_argument("--db-wait", type=float, default=120.0, metavar="SECONDS",
                   help="at start-up, wait this long for a database that is not reachable "
                   "yet, trying again with a warning (default 120)")
    s.set_defaults(fn=cmd_serve)

    t = cmds.add_parser("till", help="tills").add_subparsers(dest="hq_till", required=True)
    ta = t.add_parser("add", help="register a till; prints a one-time enrollment code")
    tr = t.add_parser("revoke", help="revoke a till's credential at once")
    tc = t.add_parser("restore-code", help="a one-time code to rebuild a lost till from head "
                      "office's copy of its journal (gatewayd restore --from-hq)")
    for p, fn in ((ta, cmd_till_add), (tr, cmd_till_revoke), (tc, cmd_till_restore_code)):
        db_options(p, top=False)
        p.add_argument("store")
        p.add_argument("till")
        p.set_defaults(fn=fn)

    k = cmds.add_parser("token", help="HQ client tokens").add_subparsers(dest="hq_token",
                                                                         required=True)
    ka = k.add_parser("add", help="create a token (printed once)")
    db_options(ka, top=False)
    ka.add_argument("name")
    ka.add_argument("--role", choices=ROLES, required=True)
    ka.set_defaults(fn=cmd_token_add)

    ls = cmds.add_parser("tills", help="every till and its replication state")
    db_options(ls, top=False)
    ls.set_defaults(fn=cmd_tills)

    c = cmds.add_parser("catalog", help="master data: the chain's catalog").add_subparsers(
        dest="hq_catalog", required=True)
    ci = c.add_parser("import", help="import a CSV or XLSX catalog as one master version")
    db_options(ci, top=False)
    ci.add_argument("file", help="CSV (the till's import columns) or .xlsx (same columns)")
    ci.add_argument("--effective-at", help="when the tills switch it in (ISO time with offset)")
    ci.add_argument("--dry-run", action="store_true", help="check every row, version nothing")
    ci.set_defaults(fn=cmd_catalog_import)

    e = cmds.add_parser("enroll", help="(on the till) enroll this till at head office")
    e.add_argument("url", help="head office's base URL: ws://HOST:PORT or wss://HOST:PORT")
    e.add_argument("code", help="the code `gatewayd hq till add` printed")
    e.add_argument("--ca-file", help="CA certificate (PEM) to trust for wss://")
    e.set_defaults(fn=cmd_enroll)

    d = cmds.add_parser("demo", help="head office with two demo tills of two stores selling")
    d.add_argument("--listen", default="127.0.0.1:8760")
    d.add_argument("--data", help="data directory (default: per-user gatewayd-hq-demo)")
    d.set_defaults(fn=cmd_demo)
