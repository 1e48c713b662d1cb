"""Attack class: a token that should no longer work (issue 13 item 2).

A token revoked while its connection is open loses that connection within a second, closed
with the reason; calls cut short by a disconnect are counted as `cancelled`, not `ok`.
"""

from __future__ import annotations

import pytest
import trio
from websockets.exceptions import ConnectionClosed

from clients.python import connect
from gatewayd import auth
from gatewayd.store.db import Store
from tests.security.wire import call, hello, raw


async def test_a_token_revoked_by_the_cli_loses_its_open_connection(daemon):
    token = daemon.token("cashier", name="lost-tablet")
    other = daemon.token("cashier", name="till-2")
    async with raw(daemon) as ws, raw(daemon) as ws_other:
        assert (await hello(ws, token))["role"] == "cashier"
        assert (await hello(ws_other, other))["role"] == "cashier"
        cli = Store(daemon.app.config.store_path)  # `gatewayd token revoke`: another process
        try:
            cli.write_sync(lambda tx: auth.revoke_token(tx, "lost-tablet"))
        finally:
            cli.close()
        with trio.fail_after(2), pytest.raises(ConnectionClosed) as closed:  # polled at 0.5 s
            await ws.recv()
        assert closed.value.rcvd.code == 1008 and closed.value.rcvd.reason == "token revoked"
        # the other token's connection is untouched
        assert (await call(ws_other, 1, "system.info"))["result"]["role"] == "cashier"
    metrics = daemon.app.metrics
    assert metrics.get("gatewayd_connections_closed_total", reason="token_revoked") == 1


async def test_calls_cut_short_by_a_disconnect_are_counted_as_cancelled(daemon):
    spec, _ = daemon.app.registry.handlers["system.info"]
    started = trio.Event()

    async def slow(ctx, params):  # stands for a long call (scale.read waiting for weight)
        started.set()
        await trio.sleep_forever()

    daemon.app.registry.handlers["system.info"] = (spec, slow)
    async with connect(daemon.url, daemon.token("cashier"), reconnect=False) as gw:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(gw.call, "system.info")
            await started.wait()
            nursery.cancel_scope.cancel()
    metrics = daemon.app.metrics
    with trio.fail_after(5):
        while not metrics.get("gatewayd_calls_total", method="system.info", outcome="cancelled"):
            await trio.sleep(0.02)
    assert metrics.get("gatewayd_calls_total", method="system.info", outcome="ok") == 0
    assert 'outcome="cancelled"' in daemon.app.metrics.render()
