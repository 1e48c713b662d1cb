"""One connection per command: the token, the kept operator login, the store's timezone, and
daemon errors turned into readable failures."""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import zoneinfo
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import trio

from clients.cli import profile
from clients.cli.failure import EXIT_CONNECT, EXIT_OK, EXIT_USAGE, Failure, gateway_failure
from clients.cli.output import dumps, err, in_timezone, out

DEFAULT_URL = "ws://127.0.0.1:8750/ws"


def resolve_token(args: argparse.Namespace) -> str:
    if args.token:
        return args.token
    file = args.token_file or os.environ.get("POSCTL_TOKEN_FILE")
    if args.token_file is None and os.environ.get("POSCTL_TOKEN"):
        return os.environ["POSCTL_TOKEN"]
    if file:
        try:
            return Path(file).read_text().strip()
        except OSError as exc:
            raise Failure(EXIT_USAGE, f"cannot read token file {file}: {exc.strerror}") from None
    return ""


def _has_time(obj: Any) -> bool:
    if isinstance(obj, dt.datetime):
        return True
    if isinstance(obj, dict):
        return any(_has_time(v) for v in obj.values())
    if isinstance(obj, list):
        return any(_has_time(v) for v in obj)
    return False


class Session:
    """One command's connection, with the global options at hand. `resume`: log in the
    operator the profile keeps (see profile.py) before the command runs."""

    def __init__(self, args: argparse.Namespace, *, resume: bool = True):
        self.args = args
        self.url = args.url
        self.token = resolve_token(args)
        self.profile = profile.profile_name(getattr(args, "profile", None))
        self.resume = resume
        self.operator: dict[str, Any] | None = None  # who is logged in, once resumed
        self._tz: dt.tzinfo | None = None

    async def run(self, body: Callable[[Any], Awaitable[Any]]) -> int:
        from clients.python.client import GatewayError, connect

        # The timeout bounds connecting and the hello; once welcomed the command runs freely.
        with trio.CancelScope(deadline=trio.current_time() + self.args.timeout) as scope:
            async with connect(
                self.url, self.token, name="posctl", kind="cli", reconnect=False
            ) as client:
                scope.deadline = math.inf
                try:
                    if self.resume:
                        await self._resume(client)
                    result = await body(client)
                except GatewayError as exc:
                    tz = await self.timezone(client) if _has_time(exc.details) else None
                    raise gateway_failure(exc, tz) from None
                return EXIT_OK if result is None else result
        raise Failure(EXIT_CONNECT, f"cannot connect: no answer within {self.args.timeout:g} s")

    async def call(self, client: Any, method: str, params: dict[str, Any] | None = None) -> Any:
        with trio.fail_after(self.args.timeout):
            return await client.call(method, params or {})

    async def timezone(self, client: Any) -> dt.tzinfo | None:
        """The store's timezone (system.info), for showing times as the till's clock does."""
        if self._tz is None:
            name = (await self.call(client, "system.info")).get("timezone")
            try:
                self._tz = zoneinfo.ZoneInfo(name) if name else dt.UTC
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                self._tz = dt.UTC
        return self._tz

    async def local(self, client: Any, result: Any) -> Any:
        """`result` with every timestamp in the store's timezone."""
        return in_timezone(result, await self.timezone(client)) if _has_time(result) else result

    async def show(self, client: Any, result: Any) -> None:
        """Print a result as JSON: one line with --json, indented for people otherwise."""
        out(dumps(await self.local(client, result), pretty=not self.args.json))

    async def _resume(self, client: Any) -> None:
        from clients.python.client import GatewayError

        login = profile.load(self.profile)
        if login is None or login.url != self.url:
            return
        try:
            self.operator = await self.call(client, "auth.resume", {"session": login.session})
        except GatewayError as exc:
            if exc.code != "unauthenticated":
                raise
            profile.forget(self.profile)
            err(f"posctl: the login of operator {login.operator} has ended ({exc.message}); "
                "run `posctl login` again")
