"""Exit codes, and how what went wrong is told: the code, the message and readable details."""

from __future__ import annotations

import datetime as dt
from typing import Any

import trio

from clients.cli.output import dumps, local_time

EXIT_OK = 0
EXIT_ERROR = 1  # the daemon answered an error
EXIT_USAGE = 2
EXIT_CONNECT = 3  # cannot connect
EXIT_AUTH = 4  # unauthenticated / forbidden / approval required
EXIT_DEVICE = 5  # device offline / busy
EXIT_INTERRUPTED = 130

AUTH_CODES = {"unauthenticated", "forbidden", "approval_required"}
DEVICE_CODES = {"device_offline", "device_busy"}

EXIT_CODES_HELP = """\
exit codes:
  0  ok
  1  the daemon answered an error (printed as `code: message` and its details)
  2  usage error
  3  cannot connect to the daemon
  4  unauthenticated, forbidden or approval required (log in, check the token or role)
  5  device offline or busy
"""


class Failure(Exception):
    """Ends the command with an exit code and a message on stderr."""

    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.exit_code = code
        self.message = message


def leaves(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        out: list[BaseException] = []
        for sub in exc.exceptions:
            out += leaves(sub)
        return out
    return [exc]


def detail_text(value: Any, tz: dt.tzinfo | None) -> str:
    """A detail value as people read it: times in the store's timezone, maps as JSON."""
    if isinstance(value, dt.datetime):
        return local_time(value, tz)
    if isinstance(value, (dict, list)):
        return dumps(value)
    return str(value)


def error_message(code: str, message: str, details: dict[str, Any] | None,
                  tz: dt.tzinfo | None = None) -> str:
    """`code: message`, then one indented line per detail: a validation error names its
    field, an approval says how to retry, anything else is `key: value`."""
    lines = [f"{code}: {message}"]
    details = details or {}
    if code == "approval_required" and details:
        lines.append(f"  needs a {details.get('role')} to approve {details.get('action')}; "
                     "retry with --approve OPERATOR:PIN (posctl call: approve.operator=ID "
                     "approve.pin=PIN)")
        return "\n".join(lines)
    for err in details.get("errors") or []:
        if isinstance(err, dict):
            lines.append(f"  {err.get('field') or '(params)'}: {err.get('error')}")
    for key, value in details.items():
        if key != "errors":
            lines.append(f"  {key}: {detail_text(value, tz)}")
    if details.get("login_required"):
        lines.append("  (log in with `posctl login`)")
    if details.get("reason") == "no_shift":
        lines.append("  (open one with `posctl shift open FLOAT`)")
    return "\n".join(lines)


def gateway_failure(exc: Any, tz: dt.tzinfo | None = None) -> Failure:
    """A GatewayError (an `error` frame) as a Failure with the matching exit code."""
    if exc.code in AUTH_CODES:
        code = EXIT_AUTH
    elif exc.code in DEVICE_CODES:
        code = EXIT_DEVICE
    else:
        code = EXIT_ERROR
    return Failure(code, error_message(exc.code, exc.message, exc.details, tz))


def classify(exc: BaseException) -> Failure | None:
    """Map what the client library raised to an exit code; None: not ours."""
    from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

    from clients.python.client import ConnectionLost, GatewayError

    for leaf in leaves(exc):
        if isinstance(leaf, Failure):
            return leaf
        if isinstance(leaf, GatewayError):
            return gateway_failure(leaf)
        if isinstance(leaf, InvalidURI):
            return Failure(EXIT_USAGE, f"bad --url: {leaf}")
        if isinstance(leaf, trio.TooSlowError):
            return Failure(EXIT_CONNECT, "timed out waiting for the daemon")
        if isinstance(leaf, (OSError, InvalidHandshake)):
            return Failure(EXIT_CONNECT, f"cannot connect: {leaf}")
        if isinstance(leaf, (ConnectionClosed, ConnectionLost)):
            return Failure(EXIT_CONNECT, f"connection lost: {leaf}")
    return None
