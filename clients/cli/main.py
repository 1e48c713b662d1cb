"""`posctl`: the hardware diagnostics and scripting CLI of gatewayd.

Built on the trio client (clients/python) and the protocol package only: everything it
does goes through the daemon's WebSocket protocol, like any other client. The one
exception is `posctl probe`, which runs with the daemon stopped and talks to a serial port
itself (drivers are imported lazily, only by that command).

This module assembles the parser from the command modules and maps what went wrong to an
exit code; each command lives in clients/cli/commands/.
"""

from __future__ import annotations

import argparse
import inspect
import os
import sys

import trio

from clients.cli.commands import completion, devices, info, live, login, probe, report, sale
from clients.cli.connection import DEFAULT_URL
from clients.cli.failure import (
    EXIT_CODES_HELP,
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    classify,
    leaves,
)
from clients.cli.output import err

COMMAND_MODULES = (info, login, sale, live, devices, report, probe, completion)
STREAMING = {"watch", "scan", "weigh"}

EPILOG = EXIT_CODES_HELP + """
environment:
  POSCTL_URL         daemon URL (default ws://127.0.0.1:8750/ws)
  POSCTL_TOKEN       API token (`gatewayd token add NAME --role ROLE` prints one)
  POSCTL_TOKEN_FILE  file holding the token (e.g. the demo's DATA/demo.token)
  POSCTL_PROFILE     where `posctl login` keeps the operator (default: this shell)
  POSCTL_STATE_DIR   the directory of those logins (default ~/.local/state/posctl)

examples:
  posctl info
  posctl login 1001 && posctl sale add 6901028068123 && posctl sale tender cash 20
  posctl call drawer.open approve.operator=9001 approve.pin=9999
  posctl watch sale devices
  posctl COMMAND --help      # each command's options and examples
"""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="posctl",
        description="Diagnose and drive a gatewayd till from the command line.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--url", default=os.environ.get("POSCTL_URL", DEFAULT_URL),
                   help="daemon WebSocket URL (env POSCTL_URL; default %(default)s)")
    p.add_argument("--token", help="API token (env POSCTL_TOKEN)")
    p.add_argument("--token-file", help="read the token from a file (env POSCTL_TOKEN_FILE)")
    p.add_argument("--profile", help="the login profile (env POSCTL_PROFILE; default: this "
                   "shell)")
    p.add_argument("--json", action="store_true", help="machine-readable JSON output")
    p.add_argument("--timeout", type=float, default=10.0,
                   help="seconds to wait for the connection and each call (default 10)")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.register(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        import argcomplete

        argcomplete.autocomplete(parser)  # answers a completing shell and exits; else nothing
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2)
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE

    async def run() -> int:
        result = args.fn(args)
        return await result if inspect.isawaitable(result) else result

    try:
        return trio.run(run) or EXIT_OK
    except BaseException as exc:
        if any(isinstance(leaf, KeyboardInterrupt) for leaf in leaves(exc)):
            if args.command in STREAMING:
                return EXIT_OK
            err("interrupted")
            return EXIT_INTERRUPTED
        failure = classify(exc)
        if failure is None:
            raise
        err(failure.message if failure.exit_code == EXIT_ERROR else f"posctl: {failure.message}")
        return failure.exit_code


if __name__ == "__main__":
    sys.exit(main())
