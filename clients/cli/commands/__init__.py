"""posctl's commands, one module per subject. Each module's `register(sub)` adds its
subcommands with `command()`, which gives every one the same man-style help: what it does,
its options, and at least one example."""

from __future__ import annotations

import argparse
from typing import Any


def command(sub: Any, name: str, *, help: str, examples: list[str],
            description: str | None = None, **kw: Any) -> argparse.ArgumentParser:
    """A subcommand parser whose --help ends with worked examples. `--json` is accepted after
    the subcommand too (`posctl sale current --json`), not only before it."""
    epilog = "examples:\n" + "\n".join(f"  {line}" for line in examples)
    parser = sub.add_parser(
        name, help=help, description=description or help[:1].upper() + help[1:] + ".",
        epilog=epilog, formatter_class=argparse.RawDescriptionHelpFormatter, **kw,
    )
    parser.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                        help="machine-readable JSON output")
    return parser


def group(sub: Any, name: str, *, help: str, examples: list[str]) -> Any:
    """A subcommand with its own subcommands (`posctl sale add`)."""
    parser = command(sub, name, help=help, examples=examples)
    return parser.add_subparsers(dest=f"{name}_command", required=True, metavar="COMMAND")


def approve_param(args: argparse.Namespace) -> dict[str, Any]:
    """`--approve OPERATOR:PIN` as the `approve` param of a call that needs a higher role."""
    if not getattr(args, "approve", None):
        return {}
    operator, _, pin = args.approve.partition(":")
    return {"approve": {"operator": operator, "pin": pin}}


def add_approve(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--approve", metavar="OPERATOR:PIN",
                        help="approval by someone with a higher role (e.g. 9001:9999)")
