"""gatewayd hq serve | till | token | tills | enroll | demo (gatewayd/hq/cli.py)."""

from __future__ import annotations

from typing import Any


def add(sub: Any) -> None:
    from gatewayd.hq.cli import add_cli

    add_cli(sub)
