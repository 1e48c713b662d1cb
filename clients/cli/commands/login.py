"""`posctl login`, `logout`, `whoami`: the operator the following commands of this shell (or
profile) act as. The daemon keeps the session (auth.login with keep); posctl keeps only its
secret, never the PIN (see clients/cli/profile.py)."""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

from clients.cli import profile
from clients.cli.commands import command
from clients.cli.connection import Session
from clients.cli.failure import EXIT_USAGE, Failure
from clients.cli.output import dumps, err, out


def read_secret(prompt: str, from_stdin: bool) -> str:
    """Asked on the terminal without echo, or the first line of stdin (scripts, pipes)."""
    if from_stdin or not sys.stdin.isatty():
        line = sys.stdin.readline().strip()
        if not line:
            raise Failure(EXIT_USAGE, f"expected the {prompt.rstrip(': ')} on stdin")
        return line
    return getpass.getpass(prompt)


def cmd_login(args: argparse.Namespace) -> Any:
    s = Session(args, resume=False)
    operator = args.operator or input("operator: ").strip()
    pin = read_secret("PIN: ", args.pin_stdin)

    async def body(gw):
        result = await s.call(gw, "auth.login", {"operator": operator, "pin": pin, "keep": True})
        path = profile.save(s.profile, profile.Login(
            url=s.url, operator=result["operator"], name=result["name"], role=result["role"],
            session=result.pop("session")))
        if args.json:
            out(dumps({**result, "profile": s.profile}))
            return
        out(f"logged in as {result['operator']} {result['name']} ({result['role']}; this "
            f"connection acts as {result['effective_role']})")
        err(f"kept for profile {s.profile} in {path}; `posctl logout` ends it")

    return s.run(body)


def cmd_logout(args: argparse.Namespace) -> Any:
    s = Session(args)

    async def body(gw):
        was = s.operator
        if was is not None:
            await s.call(gw, "auth.logout")
        profile.forget(s.profile)
        if args.json:
            out(dumps({"logged_out": was["operator"] if was else None}))
        else:
            out(f"logged out {was['operator']}" if was else "nobody was logged in")

    return s.run(body)


def cmd_whoami(args: argparse.Namespace) -> Any:
    s = Session(args)

    async def body(gw):
        if args.json:
            out(dumps({"operator": s.operator, "role": (s.operator or {}).get(
                "effective_role", gw.welcome.get("role")), "profile": s.profile}))
        elif s.operator:
            out(f"{s.operator['operator']} {s.operator['name']} ({s.operator['role']}), "
                f"profile {s.profile}")
        else:
            out(f"no operator (the token's role: {gw.welcome.get('role')}); `posctl login`")

    return s.run(body)


def register(sub: Any) -> None:
    lg = command(
        sub, "login", help="log an operator in for the following commands of this shell",
        description="Log OPERATOR in with their PIN (asked without echo, or the first line of "
        "stdin) and keep the login for the following posctl commands of this shell, or of "
        "--profile NAME / $POSCTL_PROFILE, until `posctl logout`, 12 hours, or a daemon "
        "restart. Only a session secret is kept (a 0600 file), never the PIN.",
        examples=["posctl login 1001", "echo 1234 | posctl login 1001 --pin-stdin",
                  "POSCTL_PROFILE=lane3 posctl login 1001"],
    )
    lg.add_argument("operator", nargs="?", help="operator id (asked if not given)")
    lg.add_argument("--pin-stdin", action="store_true", help="read the PIN from stdin")
    lg.set_defaults(fn=cmd_login)
    command(sub, "logout", help="end the kept operator login",
            examples=["posctl logout"]).set_defaults(fn=cmd_logout)
    command(sub, "whoami", help="the operator the commands of this shell act as",
            examples=["posctl whoami", "posctl whoami --json"]).set_defaults(fn=cmd_whoami)
