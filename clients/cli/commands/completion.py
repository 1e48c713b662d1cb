"""`posctl completion bash|zsh`: the shell completion script (argcomplete drives it from the
same parser as --help, so completion cannot fall behind the commands)."""

from __future__ import annotations

import argparse
from typing import Any

from clients.cli.commands import command
from clients.cli.output import out


def cmd_completion(args: argparse.Namespace) -> int:
    import argcomplete

    out(argcomplete.shellcode(["posctl"], shell=args.shell), end="")
    return 0


def register(sub: Any) -> None:
    c = command(sub, "completion", help="print the bash or zsh completion script",
                examples=["source <(posctl completion bash)       # in ~/.bashrc",
                          "posctl completion zsh > ~/.zfunc/_posctl  # with fpath+=~/.zfunc"])
    c.add_argument("shell", choices=["bash", "zsh"])
    c.set_defaults(fn=cmd_completion)
