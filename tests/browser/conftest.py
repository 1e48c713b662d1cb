"""Real-browser tests: `gatewayd demo` as a subprocess, Debian's chromium driven by Playwright.

    demo     a fresh demo daemon (sample catalog loaded) on a free port; .call() drives it
             through the Python client (sim.*, sale.current, ...); .restart() kills and
             starts it again on the same port and data directory; .open_shift() opens the
             cashier's shift (a sale is paid only in one) for a test about something else
    browser  one headless chromium for the session (never downloaded: /usr/bin/chromium)
    page     a new browser context per test; its end state is saved as
             tests/artifacts/<test>.png
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import trio

from bench.harness import open_shift
from clients.python.client import GatewayError, connect

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = Path(os.environ.get("GATEWAYD_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
GATEWAYD = [sys.executable, "-m", "gatewayd"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Demo:
    """`config`: a TOML file merged over the demo's defaults (`gatewayd --config F demo`),
    e.g. another store's `[till]`; the CLI commands run against it too."""

    def __init__(self, data: Path, port: int, config: Path | None = None):
        self.data = data
        self.port = port
        self.config = config
        self.proc: subprocess.Popen | None = None
        self.log = data.parent / f"{data.name}.log"
        self.token = ""

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str = "/", token: bool = True) -> str:
        return f"{self.http}{path}" + (f"#token={self.token}" if token else "")

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [*GATEWAYD, *self.config_args, "--data-dir", str(self.data), *args],
            capture_output=True, text=True, timeout=60, cwd=ROOT)

    @property
    def config_args(self) -> list[str]:
        return ["--config", str(self.config)] if self.config else []

    def start(self) -> None:
        self.data.mkdir(parents=True, exist_ok=True)
        if not (self.data / "gatewayd.db").exists():
            loaded = self.cli("catalog", "sample")
            assert loaded.returncode == 0, loaded.stderr
        self.spawn()
        deadline = time.monotonic() + 30
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gatewayd demo exited: {self.log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{self.http}/healthz", timeout=2) as r:
                    health = json.loads(r.read())
                if health["status"] == "ok":
                    break
            except OSError as exc:
                health = getattr(exc, "read", lambda: b"")()
            if time.monotonic() > deadline:
                raise RuntimeError(f"demo not healthy in 30 s: {health!r}")
            time.sleep(0.1)
        self.token = (self.data / "demo.token").read_text().strip()

    def spawn(self) -> None:
        """Start the demo process on this port and data, without waiting for it."""
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [*GATEWAYD, *self.config_args, "demo", "--listen", f"127.0.0.1:{self.port}",
                 "--data", str(self.data)],
                stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def call(self, method: str, params: dict | None = None, *,
             login: tuple[str, str] | None = None):
        """One call through the Python client (a fresh connection, admin token)."""

        async def run():
            async with connect(f"ws://127.0.0.1:{self.port}/ws", self.token, name="browser-test",
                               reconnect=False) as gw:
                if login:
                    await gw.call("auth.login", {"operator": login[0], "pin": login[1]})
                return await gw.call(method, params or {})

        return trio.run(run)

    def open_shift(self) -> None:
        """The till's shift, opened by the demo cashier unless one is open: a sale is paid
        only in an open shift (the checkout's own shift dialog: test_checkout.py)."""
        async def run():
            async with connect(f"ws://127.0.0.1:{self.port}/ws", self.token, name="browser-test",
                               reconnect=False) as gw:
                await gw.call("auth.login", {"operator": "1001", "pin": "1234"})
                await open_shift(gw)

        trio.run(run)


@pytest.fixture
def demo(tmp_path):
    d = Demo(tmp_path / "demo", free_port())
    d.start()
    yield d
    d.stop()


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} not found: the browser tests drive Debian's chromium; "
                    "run `make browser-deps` (apt-get install chromium fonts-noto-cjk)",
                    pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, request):
    ctx = browser.new_context(viewport={"width": 1366, "height": 800}, locale="zh-CN")
    pg = ctx.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.set_default_timeout(10_000)
    yield pg
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    try:
        pg.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"))
    finally:
        ctx.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def login(page, operator: str = "1001", pin: str = "1234") -> None:
    """Log in by keyboard, as a cashier would."""
    page.get_by_test_id("login-operator").wait_for()
    page.keyboard.type(operator)
    page.keyboard.press("Enter")
    page.keyboard.type(pin)
    page.keyboard.press("Enter")
    page.get_by_test_id("operator").wait_for()


def yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    return f"{sign}¥{abs(fen) // 100}.{abs(fen) % 100:02d}"


__all__ = ["Demo", "GatewayError", "login", "yuan"]
