"""Attack class: reading the till's /metrics and /healthz from a web page (issue 13 item 10).

A page on evil.example whose name is made to resolve to 127.0.0.1 (DNS rebinding) may read
anything its browser can fetch from "its own" origin: so /metrics and /healthz answer only
when the Host header names the till (an IP address, localhost, or a configured name), and
/metrics may ask for a token. The demo no longer prints the admin token on every start.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import trio

from gatewayd import demo as demo_mod
from tests.conftest import make_config


def get(port: int, path: str, host: str, headers: dict | None = None) -> tuple[int, bytes]:
    extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n{extra}\r\n".encode())
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


async def fetch(port, path, host, headers=None):
    return await trio.to_thread.run_sync(get, port, path, host, headers)


@pytest.mark.parametrize("path", ["/metrics", "/healthz"])
async def test_a_foreign_host_name_is_refused(daemon, path):
    port = daemon.app.port
    for host in ("evil.example", f"evil.example:{port}", "localhost.evil.example"):
        status, body = await fetch(port, path, host)
        assert status == 421, (host, status)
        assert b"gatewayd_" not in body and b"journal_seq" not in body
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", "localhost", f"[::1]:{port}",
                 f"192.168.1.20:{port}"):
        status, _ = await fetch(port, path, host)
        assert status in (200, 503), (host, status)  # 503: /healthz of a till without devices


async def test_configured_host_names_are_allowed(tmp_path, nursery):
    from gatewayd.app import App

    app = App(make_config(tmp_path, server={"listen": "127.0.0.1:0",
                                            "allowed_hosts": ["till3.shop.lan"]}))
    await nursery.start(app.run)
    try:
        assert (await fetch(app.port, "/metrics", f"till3.shop.lan:{app.port}"))[0] == 200
        assert (await fetch(app.port, "/metrics", "till4.shop.lan"))[0] == 421
    finally:
        app.close()


async def test_metrics_can_ask_for_a_token(tmp_path, nursery):
    from gatewayd.app import App

    app = App(make_config(tmp_path, server={"listen": "127.0.0.1:0",
                                            "metrics_token": "s3cret-metrics-token"}))
    await nursery.start(app.run)
    try:
        host = f"127.0.0.1:{app.port}"
        status, body = await fetch(app.port, "/metrics", host)
        assert status == 401 and b"gatewayd_" not in body
        wrong = {"Authorization": "Bearer nope"}
        assert (await fetch(app.port, "/metrics", host, wrong))[0] == 401
        good = {"Authorization": "Bearer s3cret-metrics-token"}
        status, body = await fetch(app.port, "/metrics", host, good)
        assert status == 200 and b"gatewayd_connections" in body
        assert (await fetch(app.port, "/healthz", host))[0] in (200, 503)  # not behind it
    finally:
        app.close()


def test_the_demo_does_not_print_the_admin_token(tmp_path):
    data = tmp_path / "demo"
    proc = subprocess.Popen(
        [sys.executable, "-m", "gatewayd", "demo", "--listen", "127.0.0.1:0", "--data",
         str(data)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    lines = []
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "operators:" in line:
                break
    finally:
        proc.terminate()
        proc.wait(20)
    out = "".join(lines)
    token = demo_mod.read_token(data)
    assert "operators:" in out, out
    assert token not in out
    assert str(Path(data) / "demo.token") in out
