"""A freshly started daemon: time from exec to ready, and idle RSS once ready.

Starts `python -m gatewayd --config CFG run` (the same entry point as the `gatewayd` script)
with a temporary config and data directory, polls GET /healthz until it answers (any HTTP
status: the daemon is listening), then reads VmRSS from /proc/PID/status and sends SIGTERM.
Targets: start to ready < 1 s, idle RSS < 60 MB.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.harness import Row

RUNS = 5


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _healthz(port: int) -> bool:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=0.5)
        conn.request("GET", "/healthz")
        conn.getresponse().read()
        conn.close()
        return True
    except OSError:
        return False


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def start_once(tmp: Path) -> tuple[float, float]:
    """(seconds from exec to /healthz answering, RSS in MB once ready and idle)."""
    port = _free_port()
    data = tmp / f"data-{port}"
    cfg = tmp / f"gatewayd-{port}.toml"
    cfg.write_text(f'data_dir = "{data}"\n\n[server]\nlisten = "127.0.0.1:{port}"\n')
    env = {**os.environ, "GATEWAYD_LOG": "WARNING"}
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "gatewayd", "--config", str(cfg), "run"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        while not _healthz(port):
            if proc.poll() is not None:
                err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
                raise RuntimeError(f"gatewayd exited {proc.returncode}: {err[-400:]}")
            if time.perf_counter() - t0 > 30:
                raise RuntimeError("gatewayd not ready within 30 s")
            time.sleep(0.005)
        ready = time.perf_counter() - t0
        time.sleep(0.5)  # idle
        rss = _rss_kb(proc.pid) / 1024
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return ready, rss


def run() -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="gatewayd-bench-") as tmp:
        start_once(Path(tmp))  # warm the page cache: a till boots its daemon from disk once
        results = [start_once(Path(tmp)) for _ in range(RUNS)]
    ready = sorted(r for r, _ in results)
    rss = sorted(m for _, m in results)
    return [
        Row("startup.ready", value=ready[len(ready) // 2], value_p99=ready[-1], unit="s",
            limit=1.0, note=f"median and max of {RUNS} starts (fresh data dir each), after one "
            "warm-up start"),
        Row("startup.idle_rss", value=rss[len(rss) // 2], value_p99=rss[-1], unit="MB",
            limit=60.0, note="VmRSS 0.5 s after ready, no devices configured"),
    ]
