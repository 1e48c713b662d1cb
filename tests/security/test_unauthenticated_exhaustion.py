"""Attack class: wearing the daemon down without a token (issue 13 item 3).

What a stranger on the LAN can reach without a token: the TCP port, the handshake, `hello`
and `pair.request`. Each is bounded: pairing per address, overall and in pending requests;
a silent connection and a token-less idle one are closed; connections are capped below the
file-descriptor limit with one clear log line.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import trio
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from gatewayd.server.listener import FD_RESERVE, connection_cap
from protocol.errors import ProtocolError
from tests.security.wire import call, hello, raw

ROOT = Path(__file__).resolve().parents[2]


async def test_pair_request_is_limited_per_address(daemon):
    start = daemon.app.store.journal_seq()
    async with raw(daemon) as ws:
        assert (await hello(ws, ""))["role"] == "unpaired"
        for n in range(3):
            assert "code" in (await call(ws, n, "pair.request", name=f"tablet {n}"))["result"]
        refused = await call(ws, 9, "pair.request", name="tablet 4")
    assert refused["code"] == "conflict" and 0 < refused["details"]["retry_s"] <= 60
    kinds = [e.kind for e in daemon.app.store.journal(after=start)]
    assert kinds == ["pair.requested"] * 3  # the refused request wrote nothing


async def test_pair_request_is_limited_overall(daemon):
    limits = daemon.app.pairing
    for n in range(20):  # twenty addresses, once each: the overall limit
        limits.admit(f"10.0.0.{n}")
    with pytest.raises(ProtocolError) as refused:
        limits.admit("10.0.1.1")
    assert refused.value.code == "conflict"
    async with raw(daemon) as ws:
        await hello(ws, "")
        assert (await call(ws, 1, "pair.request"))["code"] == "conflict"


async def test_pending_pair_requests_are_capped(daemon):
    daemon.app.pairing.max_pending = 2
    daemon.app.pairing.per_peer.limit = 100
    async with raw(daemon) as ws:
        await hello(ws, "")
        assert "code" in (await call(ws, 1, "pair.request"))["result"]
        assert "code" in (await call(ws, 2, "pair.request"))["result"]
        refused = await call(ws, 3, "pair.request")
    assert refused["code"] == "conflict" and "waiting for an admin" in refused["message"]


@pytest.mark.parametrize("params", [{"name": "x" * 65}, {"name": ""}])
async def test_pair_request_fields_are_bounded(daemon, params):
    async with raw(daemon) as ws:
        await hello(ws, "")
        assert (await call(ws, 1, "pair.request", **params))["code"] == "invalid_params"
        long_id = await call(ws, 2, "pair.status", request_id="x" * 65)
        assert long_id["code"] == "invalid_params"


async def test_hello_fields_are_bounded(daemon):
    async with raw(daemon) as ws:
        answer = await hello(ws, "", name="x" * 65)
        assert answer["code"] == "unauthenticated"
        with pytest.raises(ConnectionClosed):
            await ws.recv()


async def test_a_connection_without_hello_is_closed_within_seconds(daemon):
    assert daemon.app.config.server.hello_timeout_s <= 5
    daemon.app.config.server.hello_timeout_s = 0.3
    async with raw(daemon) as ws:
        with trio.fail_after(5):
            answer = await ws.recv()
            with pytest.raises(ConnectionClosed) as closed:
                await ws.recv()
    assert b"no hello within" in answer
    assert closed.value.rcvd.code == 1008


async def test_a_token_less_connection_is_closed_once_idle(daemon):
    assert daemon.app.config.server.unpaired_idle_s <= 5
    daemon.app.config.server.unpaired_idle_s = 0.3
    token = daemon.token("cashier")
    async with raw(daemon) as unpaired, raw(daemon) as paired:
        await hello(unpaired, "")
        await hello(paired, token)
        for n in range(3):  # polling keeps it open
            await trio.sleep(0.15)
            assert "code" in (await call(unpaired, n, "pair.request"))["result"]
        with trio.fail_after(5), pytest.raises(ConnectionClosed) as closed:
            await unpaired.recv()
        assert closed.value.rcvd.code == 1008
        assert closed.value.rcvd.reason == "idle without a token"
        await trio.sleep(0.5)  # a connection with a token may idle as long as it likes
        assert (await call(paired, 1, "system.info"))["result"]["role"] == "cashier"


async def test_connections_are_capped_with_one_log_line(tmp_path, nursery, caplog):
    from gatewayd.app import App
    from tests.conftest import Daemon, make_config

    app = App(make_config(tmp_path, server={"listen": "127.0.0.1:0", "max_connections": 3}))
    await nursery.start(app.run)
    daemon = Daemon(app)
    caplog.set_level(logging.WARNING, logger="gatewayd.server")
    try:
        async with raw(daemon) as a, raw(daemon) as b, raw(daemon) as c:
            for ws in (a, b, c):
                assert (await hello(ws, ""))["role"] == "unpaired"
            for _ in range(2):
                with pytest.raises((InvalidHandshake, ConnectionClosed, OSError)):
                    async with raw(daemon) as ws:
                        await hello(ws, "")
        lines = [r.getMessage() for r in caplog.records if "connection limit" in r.getMessage()]
        assert len(lines) == 1, lines  # one line, not one per refused connection
        assert "server.max_connections 3" in lines[0] and "file-descriptor limit" in lines[0]
        assert app.metrics.get("gatewayd_connections_refused_total", reason="limit") == 2
        with trio.fail_after(5):  # the closed ones no longer count
            while True:
                try:
                    async with raw(daemon) as ws:
                        assert (await hello(ws, ""))["role"] == "unpaired"
                        break
                except (InvalidHandshake, ConnectionClosed, OSError):
                    await trio.sleep(0.05)
    finally:
        app.close()


def test_the_connection_cap_stays_below_the_file_descriptor_limit(caplog):
    assert connection_cap(None, nofile=1024) == 1024 - FD_RESERVE
    assert connection_cap(100, nofile=1024) == 100
    with caplog.at_level(logging.WARNING, logger="gatewayd.server"):
        assert connection_cap(5000, nofile=1024) == 1024 - FD_RESERVE
    assert "raise LimitNOFILE" in caplog.text


def test_the_systemd_unit_sets_its_file_descriptor_limit():
    unit = (ROOT / "systemd" / "gatewayd.service").read_text()
    limits = [line for line in unit.splitlines() if line.startswith("LimitNOFILE=")]
    assert len(limits) == 1 and int(limits[0].split("=")[1]) >= 4096
