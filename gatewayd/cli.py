"""`gatewayd`: run the daemon, the demo, and the administration commands an IT person needs.

Administration commands open the store directly and go through the same service functions
(and the same journal) as the daemon's protocol methods.
"""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import os
import shutil
import sys
import time
from pathlib import Path

from gatewayd import config as config_mod

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_CONFIG = 0, 1, 2, 78


def _load(args) -> config_mod.Config:
    data_dir = getattr(args, "data_dir", None)
    return config_mod.load(Path(args.config) if args.config else None, data_dir=data_dir)


def _store(args):
    from gatewayd.store.db import Store

    return Store(_load(args).store_path)


def _die(message: str, code: int = EXIT_ERROR) -> int:
    print(f"gatewayd: {message}", file=sys.stderr)
    return code


# -- daemon ---------------------------------------------------------------------------------
def cmd_run(args) -> int:
    cfg = _load(args)
    return _serve(cfg, demo=False)


def _serve(cfg: config_mod.Config, demo: bool, on_ready=None) -> int:
    import trio

    from gatewayd.app import App
    from gatewayd.store import lock

    try:
        lock.acquire(cfg.store_path)
    except lock.StoreInUse as exc:
        return _die(str(exc))
    app = App(cfg, demo=demo)

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            await nursery.start(app.run)
            if on_ready:
                on_ready(app)

    try:
        trio.run(main)
    except KeyboardInterrupt:
        pass
    finally:
        app.close()
    return EXIT_OK


def cmd_demo(args) -> int:
    from gatewayd import demo

    cfg = demo.prepare(Path(args.data) if args.data else None, args.listen)

    def ready(app) -> None:
        url = f"http://{app.config.server.host}:{app.port}/"
        print(f"gatewayd demo on {url}  (data: {app.config.data_dir})", flush=True)
        print(f"  checkout:     {url}#token={demo.read_token(app.config.data_dir)}", flush=True)
        print(f"  admin token:  {app.config.data_dir / 'demo.token'}", flush=True)
        print("  operators:    1001/1234 (cashier), 9001/9999 (manager)", flush=True)

    return _serve(cfg, demo=True, on_ready=ready)


def cmd_schema(args) -> int:
    from gatewayd.schema import write_schema

    path = write_schema(Path(args.out))
    print(f"wrote {path}")
    return EXIT_OK


def cmd_config_check(args) -> int:
    cfg = _load(args)  # every table of the file is validated: ConfigError names the keys
    print(
        f"ok: till {cfg.till.store}/{cfg.till.till}, listen {cfg.server.listen}, "
        f"store {cfg.store_path}, {len(cfg.devices)} device(s)"
    )
    return EXIT_OK


# -- tokens, pairing, operators -------------------------------------------------------------
def cmd_token_add(args) -> int:
    from gatewayd import auth

    store = _store(args)
    (token_id, token), _ = store.write_sync(lambda tx: auth.add_token(tx, args.name, args.role))
    print(token)
    print(f"token {token_id} for {args.name} ({args.role}); it is shown only once", file=sys.stderr)
    return EXIT_OK


def cmd_token_list(args) -> int:
    from gatewayd import auth

    rows = auth.list_tokens(_store(args))
    for r in rows:
        state = "revoked" if r["revoked_at"] else "active"
        print(f"{r['id']}  {r['role']:<10} {state:<8} {r['name']}")
    return EXIT_OK


def cmd_token_revoke(args) -> int:
    from gatewayd import auth

    n, _ = _store(args).write_sync(lambda tx: auth.revoke_token(tx, args.ref))
    if not n:
        return _die(f"no active token with id or name {args.ref!r}")
    print(f"revoked {n} token(s)")
    return EXIT_OK


def cmd_pair(args) -> int:
    from gatewayd import auth

    store = _store(args)
    if args.action == "list":
        for r in auth.list_pair_requests(store):
            print(f"{r['code']}  {r['status']:<9} {r['kind']:<10} {r['name']}")
        return EXIT_OK
    role = args.role if args.action == "approve" else None
    try:
        result, _ = store.write_sync(lambda tx: auth.pair_decide(tx, args.code, role))
    except (LookupError, ValueError) as exc:
        return _die(str(exc))
    print(
        f"{result['code']} ({result['name']}): {result['status']}" + (f" as {role}" if role else "")
    )
    return EXIT_OK


def _read_pin(args) -> str:
    if args.pin_stdin or not sys.stdin.isatty():
        return sys.stdin.readline().strip()
    pin = getpass.getpass("PIN: ")
    if getpass.getpass("PIN again: ") != pin:
        raise ValueError("the PINs differ")
    return pin


def cmd_operator_add(args) -> int:
    from gatewayd import auth

    try:
        pin = _read_pin(args)
        _store(args).write_sync(
            lambda tx: auth.add_operator(tx, args.id, args.name, args.role, pin)
        )
    except ValueError as exc:
        return _die(str(exc))
    print(f"operator {args.id} ({args.name}, {args.role}) added")
    return EXIT_OK


def cmd_operator_list(args) -> int:
    from gatewayd import auth

    for r in auth.list_operators(_store(args)):
        locked = " locked" if r["locked_until"] and r["locked_until"] > time.time() else ""
        print(f"{r['id']:<8} {r['role']:<10} {r['name']}{locked}")
    return EXIT_OK


# -- store ----------------------------------------------------------------------------------
def cmd_backup(args) -> int:
    store = _store(args)
    target = Path(args.path)
    if target.exists():
        return _die(f"{target} exists; refusing to overwrite")

    def progress(done: int, total: int) -> None:
        print(f"\rbackup: {done}/{total} pages", end="", file=sys.stderr)

    store.backup(target, progress)
    print(f"\nbackup written to {target} (journal seq {store.journal_seq()})", file=sys.stderr)
    return EXIT_OK


def cmd_restore(args) -> int:
    import sqlite3

    from gatewayd.store import lock

    cfg = _load(args)
    source = Path(args.path)
    try:
        check = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        ok = check.execute("PRAGMA integrity_check").fetchone()[0]
        check.close()
    except sqlite3.DatabaseError as exc:
        return _die(f"{source} is not a gatewayd store: {exc}")
    if ok != "ok":
        return _die(f"{source} failed its integrity check: {ok}")
    try:
        fd = lock.acquire(cfg.store_path)
    except lock.StoreInUse as exc:
        return _die(f"{exc}; stop it first (systemctl stop gatewayd)")
    try:
        target = cfg.store_path
        if target.exists():
            aside = target.with_name(f"{target.name}.before-restore-{int(time.time())}")
            shutil.move(target, aside)
            print(f"previous store kept as {aside}", file=sys.stderr)
        for suffix in ("-wal", "-shm"):
            Path(str(target) + suffix).unlink(missing_ok=True)
        shutil.copyfile(source, target)
    finally:
        os.close(fd)
    print(f"restored {target} from {source}")
    return EXIT_OK


def cmd_journal_tail(args) -> int:
    store = _store(args)
    last = max(0, store.journal_seq() - args.n)
    try:
        while True:
            for ev in store.journal(after=last):
                at = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ev.at / 1e6))
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


def build_parser() -> argparse.ArgumentParser:
    from protocol.roles import ROLES

    p = argparse.ArgumentParser(prog="gatewayd", description="The till gateway daemon.")
    p.add_argument("--config", help="TOML config (default /etc/gatewayd/gatewayd.toml if present)")
    p.add_argument("--data-dir", help="data directory (overrides the config's data_dir; "
                   "e.g. .demo for the demo's store)")
    p.add_argument("--log-level", default=os.environ.get("GATEWAYD_LOG", "INFO"))
    sub = p.add_subparsers(dest="command", required=True)

    sub.add_parser("run", help="run the daemon").set_defaults(fn=cmd_run)
    d = sub.add_parser("demo", help="the daemon with simulated devices and sample data")
    d.add_argument("--listen", default="127.0.0.1:8750")
    d.add_argument("--data", help="data directory (default: per-user gatewayd-demo)")
    d.set_defaults(fn=cmd_demo)
    s = sub.add_parser("schema", help="write docs/protocol.schema.json")
    s.add_argument("--out", default="docs/protocol.schema.json")
    s.set_defaults(fn=cmd_schema)
    c = sub.add_parser("config", help="configuration").add_subparsers(dest="sub", required=True)
    c.add_parser("check", help="validate the config").set_defaults(fn=cmd_config_check)

    t = sub.add_parser("token", help="API tokens").add_subparsers(dest="sub", required=True)
    ta = t.add_parser("add", help="create a token (printed once)")
    ta.add_argument("name")
    ta.add_argument("--role", choices=ROLES, required=True)
    ta.set_defaults(fn=cmd_token_add)
    t.add_parser("list").set_defaults(fn=cmd_token_list)
    tr = t.add_parser("revoke")
    tr.add_argument("ref", help="token id or name")
    tr.set_defaults(fn=cmd_token_revoke)

    pr = sub.add_parser("pair", help="approve client pairing requests")
    pr.add_argument("action", choices=["approve", "deny", "list"])
    pr.add_argument("code", nargs="?")
    pr.add_argument("--role", choices=ROLES, default="cashier")
    pr.set_defaults(fn=cmd_pair)

    o = sub.add_parser("operator", help="operators").add_subparsers(dest="sub", required=True)
    oa = o.add_parser("add", help="add an operator (PIN asked twice, or read from stdin)")
    oa.add_argument("id")
    oa.add_argument("--name", required=True)
    oa.add_argument("--role", choices=ROLES[1:], required=True)
    oa.add_argument("--pin-stdin", action="store_true")
    oa.set_defaults(fn=cmd_operator_add)
    o.add_parser("list").set_defaults(fn=cmd_operator_list)

    b = sub.add_parser("backup", help="online backup of the store")
    b.add_argument("path")
    b.set_defaults(fn=cmd_backup)
    r = sub.add_parser("restore", help="replace the store (daemon must be stopped)")
    r.add_argument("path")
    r.set_defaults(fn=cmd_restore)
    j = sub.add_parser("journal", help="the journal").add_subparsers(dest="sub", required=True)
    jt = j.add_parser("tail", help="print the last events")
    jt.add_argument("-n", type=int, default=20)
    jt.add_argument("-f", "--follow", action="store_true")
    jt.set_defaults(fn=cmd_journal_tail)
    for extra in _extensions():
        extra(sub)
    return p


def _extensions():
    """Subcommands owned by other modules (catalog import/export, reports)."""
    from gatewayd import cli_ext

    return cli_ext.EXTENSIONS


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if args.command == "pair" and args.action != "list" and not args.code:
        parser.error("pair approve/deny needs a CODE")
    try:
        return args.fn(args)
    except config_mod.ConfigError as exc:
        return _die(str(exc), EXIT_CONFIG)


if __name__ == "__main__":
    sys.exit(main())
