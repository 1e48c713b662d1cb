"""Man-style help for `gatewayd`: every subcommand's --help ends with a worked example, and
`gatewayd completion bash|zsh` prints the shell completion script.

The examples live here, keyed by the command's words, so the parser code (gatewayd/cli/)
stays about options. A subcommand that
sets its own epilog with an example keeps it. tests/cli/test_help.py fails for a subcommand
without one: add it to EXAMPLES.
"""

from __future__ import annotations

import argparse
import sys

EXAMPLES: dict[str, list[str]] = {
    "run": ["gatewayd --config /etc/gatewayd/gatewayd.toml run"],
    "demo": ["gatewayd demo --data .demo",
             "gatewayd --config demo/shop.toml demo --data /tmp/shop-demo"],
    "schema": ["gatewayd schema --out docs/protocol.schema.json"],
    "config check": ["gatewayd --config /etc/gatewayd/gatewayd.toml config check"],
    "token add": ["gatewayd token add checkout-3 --role cashier"],
    "token list": ["gatewayd token list"],
    "token revoke": ["gatewayd token revoke checkout-3"],
    "pair": ["gatewayd pair list", "gatewayd pair approve K7Q4M2 --role cashier"],
    "operator add": ["gatewayd operator add 1001 --name '李娜' --role cashier",
                     "echo 1234 | gatewayd operator add 1002 --name Wang --role cashier "
                     "--pin-stdin"],
    "operator list": ["gatewayd operator list"],
    "backup": ["gatewayd backup /var/backups/till-$(date +%F).db"],
    "restore": ["systemctl stop gatewayd && gatewayd restore /var/backups/till.db",
                "gatewayd --data-dir /var/lib/gatewayd restore --from-hq "
                "wss://hq.example:8760 K7QM-3HWT-PX9C"],
    "vacuum": ["systemctl stop gatewayd && gatewayd vacuum && systemctl start gatewayd"],
    "journal tail": ["gatewayd --data-dir .demo journal tail -n 50 -f"],
    "catalog import": ["gatewayd catalog import items.csv --dry-run"],
    "catalog export": ["gatewayd --data-dir .demo catalog export /tmp/catalog.csv"],
    "catalog sample": ["gatewayd catalog sample"],
    "report": ["gatewayd report daily --from 2026-05-01 --to 2026-05-31 --out may.xlsx"],
    "hq serve": ["gatewayd hq serve --listen 0.0.0.0:8760 --data /var/lib/gatewayd-hq",
                 "gatewayd hq serve --listen 0.0.0.0:8760 --data DIR "
                 "--db postgresql://gatewayd@db/hq --cert hq.pem --key hq.key"],
    "hq till add": ["gatewayd hq --data /var/lib/gatewayd-hq till add S002 T01"],
    "hq till revoke": ["gatewayd hq --data /var/lib/gatewayd-hq till revoke S002 T01"],
    "hq till restore-code": ["gatewayd hq --data /var/lib/gatewayd-hq till restore-code "
                             "S002 T01"],
    "hq token add": ["gatewayd hq --data /var/lib/gatewayd-hq token add backoffice "
                     "--role viewer"],
    "hq tills": ["gatewayd hq --data /var/lib/gatewayd-hq tills"],
    "hq catalog import": ["gatewayd hq --data /var/lib/gatewayd-hq catalog import chain.xlsx",
                          "gatewayd hq --data /var/lib/gatewayd-hq catalog import prices.csv "
                          "--effective-at 2026-05-16T00:00+08:00"],
    "hq enroll": ["gatewayd --data-dir /var/lib/gatewayd hq enroll wss://hq.example:8760 "
                  "K7QM-3HWT-PX9C --ca-file hq-ca.pem"],
    "hq demo": ["gatewayd hq demo --listen 127.0.0.1:8760 --data .demo-chain"],
    "completion": ["source <(gatewayd completion bash)        # in ~/.bashrc",
                   "gatewayd completion zsh > ~/.zfunc/_gatewayd  # with fpath+=~/.zfunc"],
}


def subcommands(parser: argparse.ArgumentParser, words: tuple[str, ...] = ()):
    """(words, parser) of every leaf subcommand, depth first."""
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not actions:
        yield words, parser
        return
    for name, child in actions[0].choices.items():
        yield from subcommands(child, (*words, name))


def annotate(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Give each leaf subcommand its examples as the help's epilog."""
    for words, child in subcommands(parser):
        examples = EXAMPLES.get(" ".join(words))
        if examples and "example" not in (child.epilog or ""):
            child.epilog = "examples:\n" + "\n".join(f"  {line}" for line in examples)
            child.formatter_class = argparse.RawDescriptionHelpFormatter
    return parser


def add_completion(sub) -> None:
    c = sub.add_parser("completion", help="print the bash or zsh completion script")
    c.add_argument("shell", choices=["bash", "zsh"])
    c.set_defaults(fn=_cmd_completion)


def _cmd_completion(args) -> int:
    import argcomplete

    sys.stdout.write(argcomplete.shellcode(["gatewayd"], shell=args.shell))
    return 0


def complete(parser: argparse.ArgumentParser) -> None:
    """Answer a completing shell (argcomplete exits when it did); a no-op otherwise."""
    import argcomplete

    argcomplete.autocomplete(parser)
