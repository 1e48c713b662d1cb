"""The README's tour is a test: every command of "A five-minute tour" and "A few more things
to try" runs, as written, against a fresh `make demo`, and its output is checked for what the
README's comment says it shows. A command added to the README without a check here fails.

The commands run in one bash script in a scratch directory (`.venv` links to this checkout's,
`.demo` is the demo's data, HOME is scratch so `posctl login` keeps its session there), as a
user's terminal would run them; the PIN `posctl login` asks for comes on stdin. Between some
commands the script waits for what the README promises will happen by itself (the printer
coming back), so the check is of the promise, not of a race.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
BARCODE = "6901028068123"  # 青岛啤酒经典500ml罐装 in the sample catalog


def tour_commands() -> list[str]:
    """The shell lines of the tour section's code blocks, comments dropped."""
    text = README.read_text(encoding="utf-8")
    section = text.split("## A five-minute tour", 1)[1].split("\n## ", 1)[0]
    lines = []
    for block in re.findall(r"```sh\n(.*?)```", section, re.S):
        for line in block.splitlines():
            command = line.split(" #", 1)[0].strip()
            if command:
                lines.append(command)
    return lines


@dataclass
class Ran:
    rc: int
    out: str
    err: str


def ok_json(r: Ran) -> None:
    assert json.loads(r.out) == {"ok": True}


def online(r: Ran) -> None:
    rows = {line.split()[0]: line.split()[2] for line in r.out.splitlines()[1:]}
    assert rows == dict.fromkeys(["scanner", "scale", "printer", "drawer", "display", "label"],
                                 "online"), r.out


def watched_the_scan(r: Ran) -> None:
    scans = [line for line in r.out.splitlines() if "scanner.data" in line]
    assert scans and BARCODE in scans[0], r.out


def journal(r: Ran) -> None:
    events = [line for line in r.out.splitlines() if re.match(r"\s*\d+ \d{4}-\d\d-\d\d ", line)]
    assert len(events) >= 5, r.out
    kinds = {line.split()[3] for line in events}
    assert {"print.queued", "print.done"} <= kinds, kinds  # the test receipt's job


def exported(r: Ran, home: Path) -> None:
    csv = (home / "catalog.csv").read_text(encoding="utf-8-sig").splitlines()
    assert csv[0].startswith("sku,name,barcodes") and len(csv) > 40
    assert any(BARCODE in row for row in csv)


def receipt_printed(r: Ran) -> None:
    receipts = json.loads(r.out)["receipts"]
    texts = [line["text"] for line in receipts[0]["lines"]]
    assert any("打印测试" in t for t in texts) and receipts[0]["complete"], texts


def shows(*patterns: str) -> Callable[[Ran], None]:
    """A check that the output shows each regex."""
    def check(r: Ran) -> None:
        for pattern in patterns:
            assert re.search(pattern, r.out, re.M), (pattern, r.out, r.err)
    return check


def scale_read(r: Ran) -> None:
    reading = json.loads(r.out)
    assert (reading["device"], reading["grams"]) == ("scale", 1235), reading


def found_by_pinyin(r: Ran) -> None:
    assert "红富士苹果" in [item["name"] for item in json.loads(r.out)["items"]], r.out


CHECKS: dict[str, Callable[..., None]] = {
    ".venv/bin/posctl info": shows(r"^till\s+S001/T01$", r"^health\s+ok$"),
    ".venv/bin/posctl devices": online,
    ".venv/bin/posctl watch": watched_the_scan,
    f".venv/bin/posctl call sim.scan data={BARCODE}": ok_json,  # the watch shows it
    ".venv/bin/posctl call sim.weigh grams=1235": ok_json,
    ".venv/bin/posctl call scale.read": scale_read,
    ".venv/bin/posctl print-test": shows("^test receipt queued"),
    ".venv/bin/posctl call sim.receipts last=1": receipt_printed,
    ".venv/bin/posctl call sim.unplug device=printer": ok_json,
    ".venv/bin/posctl call sim.plug device=printer": ok_json,
    ".venv/bin/gatewayd --data-dir .demo journal tail -f": journal,
    ".venv/bin/posctl call catalog.lookup query=hfsp": found_by_pinyin,
    ".venv/bin/gatewayd --data-dir .demo catalog export ~/catalog.csv": exported,
    ".venv/bin/posctl login 1001": shows(r"^logged in as 1001 "),
    ".venv/bin/posctl shift open 500": shows(r"^state\s+open$", r"^float\s+500\.00$"),
    f".venv/bin/posctl sale add {BARCODE} --qty 2": shows("青岛啤酒经典500ml罐装",
                                                           r"^total\s+13\.00$"),
    ".venv/bin/posctl sale tender cash 20": shows("completed", r"^change\s+7\.00$"),
    ".venv/bin/posctl logout": shows(r"^logged out 1001$"),
    ".venv/bin/posctl report hourly": shows("Asia/Shanghai", r"13\.00"),
    ".venv/bin/posctl label print 100003 700001": shows(r"^2 labels of 2 items printed on label$"),
}
GAVE_UP = "gave up waiting after: "
NOT_RUN_HERE = {"make demo"}  # the test starts it itself (on a free port)
WAIT_AFTER = {
    # what the README says happens by itself; the script waits for it before going on
    ".venv/bin/posctl watch": "until grep -q watching {err}; do sleep 0.1; done",
    ".venv/bin/posctl print-test": (
        "until .venv/bin/posctl --json call sim.receipts | grep -q '\"count\":1'; "
        "do sleep 0.2; done"),
    ".venv/bin/posctl call sim.unplug device=printer": (
        "until .venv/bin/posctl devices | grep -q '^printer .*offline'; do sleep 0.2; done"),
    ".venv/bin/posctl call sim.plug device=printer": (
        "until .venv/bin/posctl devices | grep -q '^printer .*online'; do sleep 0.2; done"),
    ".venv/bin/posctl sale tender cash 20": (  # "the receipt prints": the second receipt
        "until .venv/bin/posctl --json call sim.receipts | grep -q '\"count\":2'; "
        "do sleep 0.2; done"),
}


def test_every_tour_command_has_a_check():
    commands = tour_commands()
    assert f"call sim.scan data={BARCODE}" in " ".join(commands)
    unchecked = [c for c in commands if c not in CHECKS and c not in NOT_RUN_HERE
                 and not c.startswith("export ")]
    assert not unchecked, f"README tour commands without a check in {__file__}: {unchecked}"
    assert set(CHECKS) <= set(commands), set(CHECKS) - set(commands)


def test_the_barcode_is_in_the_sample_catalog():
    catalog = (ROOT / "gatewayd" / "sales" / "sample_catalog.csv").read_text(encoding="utf-8")
    assert BARCODE in catalog


def script(commands: list[str], out: Path) -> tuple[str, dict[int, str]]:
    """The bash script that runs the tour; which output files belong to which command."""
    lines = ["set -u", "set -m"]  # job control: a background job takes Ctrl-C (SIGINT)
    background = []
    files = {}
    for n, command in enumerate(commands):
        if command in NOT_RUN_HERE:
            continue
        files[n] = command
        o, e, rc = out / f"{n}.out", out / f"{n}.err", out / f"{n}.rc"
        if command.startswith("export "):
            lines.append(command)
            continue
        if command == ".venv/bin/posctl watch":
            lines.append(f"{command} >{o} 2>{e} </dev/null & pid{n}=$!")
            background.append(n)
        elif command.endswith(" -f"):  # follows until Ctrl-C: ^C once it is following
            # (a fixed delay sent ^C to a program still importing on a loaded machine)
            following = shlex.quote(f"until [ -s {o} ]; do sleep 0.1; done")
            lines.append(f"{command} >{o} 2>{e} & pid{n}=$!; timeout 30 bash -c {following}; "
                         f"sleep 0.5; kill -INT $pid{n}; wait $pid{n}; echo $? >{rc}")
        else:
            lines.append(f"{command} >{o} 2>{e}; echo $? >{rc}")
        if command in WAIT_AFTER:
            wait = shlex.quote(WAIT_AFTER[command].format(err=e))
            lines.append(f"timeout 30 bash -c {wait} || echo {shlex.quote(GAVE_UP + command)} >&2")
    for n in background:
        lines.append(f"kill -INT $pid{n}; wait $pid{n}; echo $? >{out / f'{n}.rc'}")
    return "\n".join(lines) + "\n", files


def demo_url(log: Path, demo: subprocess.Popen) -> str:
    """The URL `make demo` prints once it listens."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for line in log.read_text().splitlines():
            if line.startswith("gatewayd demo on http://"):
                return line.split()[3]
        assert demo.poll() is None, log.read_text()
        time.sleep(0.1)
    raise AssertionError(f"make demo printed no URL: {log.read_text()}")


def test_the_tour_runs_as_written(tmp_path):
    home = tmp_path / "home"
    work = tmp_path / "work"
    outputs = tmp_path / "out"
    for d in (home, work, outputs):
        d.mkdir()
    (work / ".venv").symlink_to(ROOT / ".venv")
    env = {**os.environ, "HOME": str(home)}
    env.pop("POSCTL_TOKEN", None)
    env.pop("POSCTL_PROFILE", None)
    env.pop("XDG_STATE_HOME", None)
    log = tmp_path / "demo.log"
    with log.open("w") as sink:
        demo = subprocess.Popen(
            ["make", "-s", "-C", str(ROOT), "demo", "LISTEN=127.0.0.1:0",
             f"DATA={work / '.demo'}"],
            stdout=sink, stderr=subprocess.STDOUT, env=env, start_new_session=True,
        )
    try:
        url = demo_url(log, demo)
        env["POSCTL_URL"] = url.replace("http://", "ws://").rstrip("/") + "/ws"
        commands = tour_commands()
        text, files = script(commands, outputs)
        run = subprocess.run(["bash", "-c", text], cwd=work, env=env, input="1234\n",
                             text=True, capture_output=True, timeout=300)
        assert run.returncode == 0, run.stderr
        assert GAVE_UP not in run.stderr, run.stderr  # what the README promises did happen
        for n, command in files.items():
            if command.startswith("export "):
                continue
            ran = Ran(int((outputs / f"{n}.rc").read_text()),
                      (outputs / f"{n}.out").read_text(), (outputs / f"{n}.err").read_text())
            assert ran.rc == 0, (command, ran)
            check = CHECKS[command]
            if check is exported:
                check(ran, home)
            else:
                check(ran)
    finally:
        os.killpg(demo.pid, 2)
        demo.wait(timeout=30)


if __name__ == "__main__":  # pragma: no cover - print the script, for a look
    sys.stdout.write(script(tour_commands(), Path("out"))[0])
