"""`gatewayd token | pair | operator`: who may connect and who sells."""

from __future__ import annotations

import getpass
import sys
import time
from typing import Any

from gatewayd.cli.common import EXIT_OK, die, open_store


def add(sub: Any) -> None:
    from protocol.roles import ROLES

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


def cmd_token_add(args) -> int:
    from gatewayd import auth

    store = open_store(args)
    (token_id, token), _ = store.write_sync(lambda tx: auth.add_token(tx, args.name, args.role))
    print(token)
    print(f"token {token_id} for {args.name} ({args.role}); it is shown only once", file=sys.stderr)
    return EXIT_OK


def cmd_token_list(args) -> int:
    from gatewayd import auth

    rows = auth.list_tokens(open_store(args))
    for r in rows:
        state = "revoked" if r["revoked_at"] else "active"
        print(f"{r['id']}  {r['role']:<10} {state:<8} {r['name']}")
    return EXIT_OK


def cmd_token_revoke(args) -> int:
    from gatewayd import auth

    n, _ = open_store(args).write_sync(lambda tx: auth.revoke_token(tx, args.ref))
    if not n:
        return die(f"no active token with id or name {args.ref!r}")
    print(f"revoked {n} token(s)")
    return EXIT_OK


def cmd_pair(args) -> int:
    from gatewayd import auth

    store = open_store(args)
    if args.action == "list":
        for r in auth.list_pair_requests(store):
            print(f"{r['code']}  {r['status']:<9} {r['kind']:<10} {r['name']}")
        return EXIT_OK
    role = args.role if args.action == "approve" else None
    try:
        result, _ = store.write_sync(lambda tx: auth.pair_decide(tx, args.code, role))
    except (LookupError, ValueError) as exc:
        return die(str(exc))
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
        open_store(args).write_sync(
            lambda tx: auth.add_operator(tx, args.id, args.name, args.role, pin)
        )
    except ValueError as exc:
        return die(str(exc))
    print(f"operator {args.id} ({args.name}, {args.role}) added")
    return EXIT_OK


def cmd_operator_list(args) -> int:
    from gatewayd import auth

    for r in auth.list_operators(open_store(args)):
        locked = " locked" if r["locked_until"] and r["locked_until"] > time.time() else ""
        print(f"{r['id']:<8} {r['role']:<10} {r['name']}{locked}")
    return EXIT_OK
