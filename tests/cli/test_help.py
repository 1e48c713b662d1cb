"""Man-style help and shell completion for both command-line tools: every subcommand's --help
ends with an example of itself, and bash and zsh complete commands from the same parsers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from clients.cli.main import build_parser as posctl_parser
from gatewayd.cli import build_parser as gatewayd_parser
from gatewayd.cli_help import subcommands

BIN = Path(sys.executable).parent


@pytest.mark.parametrize("prog, build", [("posctl", posctl_parser), ("gatewayd", gatewayd_parser)])
def test_every_subcommand_help_shows_an_example_of_itself(prog, build):
    leaves = list(subcommands(build()))
    assert len(leaves) > 10
    for words, parser in leaves:
        text = parser.format_help()
        assert "examples:\n" in text, f"`{prog} {' '.join(words)} --help` has no example"
        examples = text.split("examples:\n", 1)[1]
        # the example runs this very subcommand (global options may come first)
        assert any(f"{prog} " in line and " ".join(words) in line
                   for line in examples.splitlines()), (prog, words, examples)


def shell_env() -> dict[str, str]:
    return {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}"}


BASH = """
source <({prog} completion bash)
COMP_LINE="{line}"; COMP_POINT=${{#COMP_LINE}}
read -ra COMP_WORDS <<< "$COMP_LINE"; COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))
fn=$(complete -p {prog} | sed 's/.*-F \\([^ ]*\\).*/\\1/')
$fn {prog} "${{COMP_WORDS[-1]}}" "${{COMP_WORDS[-2]}}"
printf '%s\\n' "${{COMPREPLY[@]}}"
"""

# The zsh script ends in _describe (the completion system's menu); standing in for it prints
# what the script offers, so the script itself runs as zsh runs it.
ZSH = """
autoload -U compinit; compinit -u -D
source <({prog} completion zsh)
[[ $_comps[{prog}] == _python_argcomplete ]] || {{ print "not registered"; exit 1 }}
_describe() {{ print -l -- "${{(@P)2}}" }}
BUFFER="{line}"; CURSOR=${{#BUFFER}}; words=(${{=BUFFER}})
_python_argcomplete
"""


@pytest.mark.parametrize("prog, line, expected", [
    ("posctl", "posctl sa", "sale"),
    ("posctl", "posctl sale t", "tender"),
    ("posctl", "posctl shift ", "close"),
    ("gatewayd", "gatewayd tok", "token"),
    ("gatewayd", "gatewayd operator a", "add"),
])
@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_shell_completion(shell, prog, line, expected):
    script = (BASH if shell == "bash" else ZSH).format(prog=prog, line=line)
    run = subprocess.run([shell, "-c" if shell == "bash" else "-fc", script], env=shell_env(),
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    offered = [w.split(":", 1)[0].strip() for w in run.stdout.split()]
    assert expected in offered, run.stdout
