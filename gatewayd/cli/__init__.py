"""`gatewayd`: run the daemon, the demo, and the administration commands an IT person needs.

Administration commands open the store directly and go through the same service functions
(and the same journal) as the daemon's protocol methods. One module per group of commands:

    daemon.py   run, demo, schema, config check
    admin.py    token, pair, operator
    store.py    backup, restore, journal tail
    catalog.py  catalog import | export | sample
    report.py   report NAME
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from gatewayd import config as config_mod
from gatewayd.cli import admin, catalog, daemon, hq, report, store
from gatewayd.cli.common import EXIT_CONFIG, die
from gatewayd.cli_help import add_completion, annotate, complete

COMMANDS = (daemon, admin, store, catalog, report, hq)  # each adds its subcommands, in this order


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="gatewayd", description="The till gateway daemon.")
    p.add_argument("--config", help="TOML config (default /etc/gatewayd/gatewayd.toml if present)")
    p.add_argument("--data-dir", help="data directory (overrides the config's data_dir; "
                   "e.g. .demo for the demo's store)")
    p.add_argument("--log-level", default=os.environ.get("GATEWAYD_LOG", "INFO"))
    sub = p.add_subparsers(dest="command", required=True)

    for group in COMMANDS:
        group.add(sub)
    add_completion(sub)
    return annotate(p)  # every subcommand's --help ends with an example (cli_help.py)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    complete(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if args.command == "pair" and args.action != "list" and not args.code:
        parser.error("pair approve/deny needs a CODE")
    try:
        return args.fn(args)
    except config_mod.ConfigError as exc:
        return die(str(exc), EXIT_CONFIG)


if __name__ == "__main__":
    sys.exit(main())
