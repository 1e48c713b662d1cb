import json
import urllib.request

import pytest
import trio
from websockets.exceptions import ConnectionClosed
from websockets.trio.client import connect as ws_connect

from clients.python import connect
from protocol.codec import pack, unpack
from protocol.version import SUBPROTOCOL


async def test_subscribe_topic_matching(daemon):
    async with connect(daemon.url, daemon.token()) as gw:
        await gw.subscribe(["sale"])
        daemon.app.emit("scanner.data", {"data": "1"})
        daemon.app.emit("sale.updated", {"id": "s1"})
        event = await gw.next_event(timeout=2)
        assert event["topic"] == "sale.updated" and event["data"] == {"id": "s1"}
        await gw.call("unsubscribe", topics=["sale"])
        await gw.subscribe(["*"])
        daemon.app.emit("alerts.raised", {"kind": "x"})
        assert (await gw.next_event(timeout=2))["topic"] == "alerts.raised"


async def test_replay_since_after_reconnect(daemon):
    token = daemon.token()
    async with connect(daemon.url, token, reconnect=False) as gw:
        await gw.subscribe(["sale"])
        daemon.app.emit("sale.updated", {"n": 1})
        first = await gw.next_event()
    seen = first["seq"]
    for n in (2, 3, 4):  # published while the client is away
        daemon.app.emit("sale.updated", {"n": n})
    daemon.app.emit("devices.status", {"id": "x"})  # another topic: not replayed
    async with connect(daemon.url, token) as gw:
        result = await gw.subscribe(["sale"], since=seen)
        assert result["replayed"] == 3 and result["gap"] is False
        got = [(await gw.next_event())["data"]["n"] for _ in range(3)]
        assert got == [2, 3, 4]


async def test_replay_reports_a_gap_when_the_ring_overflowed(daemon):
    daemon.app.bus._ring = type(daemon.app.bus._ring)(maxlen=4)
    for n in range(10):
        daemon.app.emit("sale.updated", {"n": n})
    async with connect(daemon.url, daemon.token()) as gw:
        result = await gw.subscribe(["sale"], since=1)
        assert result["gap"] is True and result["replayed"] == 4


async def test_client_reconnects_and_resubscribes(daemon):
    async with connect(daemon.url, daemon.token()) as gw:
        await gw.subscribe(["sale"])
        for session in list(daemon.app.sessions):
            await session.ws.aclose()
        daemon.app.emit("sale.updated", {"n": "while away"})
        event = await gw.next_event(timeout=5)
        assert event["data"] == {"n": "while away"}
        assert gw.reconnects == 1


async def test_slow_client_is_closed_and_does_not_slow_others(daemon):
    token = daemon.token()
    daemon.app.config.server.client_queue = 200
    async with (
        ws_connect(
            daemon.url, subprotocols=[SUBPROTOCOL], compression=None, max_queue=1
        ) as stalled,
        connect(daemon.url, token) as fast,
    ):
        await stalled.send(
            pack({"type": "hello", "token": token, "client": {"name": "stalled", "kind": "t"}})
        )
        unpack(await stalled.recv())
        await stalled.send(
            pack(
                {
                    "type": "call",
                    "id": 1,
                    "method": "subscribe",
                    "params": {"topics": ["sale", "scale"]},
                }
            )
        )
        await fast.subscribe(["sale"])
        await trio.sleep(0.2)
        got = 0
        big = {"pad": "x" * 50_000}
        for n in range(600):  # the stalled client never reads; paced for the fast one
            daemon.app.emit("sale.updated", {"n": n, **big})
            daemon.app.emit("scale.reading", {"device": "scale", "grams": n})  # coalesced
            await trio.sleep(0.002)
        with trio.fail_after(10):
            while got < 600:
                event = await fast.next_event("sale")
                assert event["data"]["n"] == got
                got += 1
        with trio.fail_after(10):
            while len(daemon.app.sessions) > 1:
                await trio.sleep(0.05)
        assert daemon.app.metrics.get("gatewayd_slow_clients_closed_total") == 1
        assert fast.reconnects == 0
        try:
            while True:
                await stalled.recv()
        except ConnectionClosed as closed:
            # A stalled peer may never get the close frame through its full buffers; if it
            # does, it says why.
            if closed.rcvd is not None:
                assert closed.rcvd.code == 1008 and "too slow" in closed.rcvd.reason


async def test_snapshot_topics_are_coalesced(daemon):
    from gatewayd.bus import Bus
    from gatewayd.server.session import Outbox

    bus, box = Bus(), Outbox(limit=4)
    for grams in range(100):
        box.offer_event(bus.publish("scale.reading", {"device": "scale", "grams": grams}))
    frames = box.drain()
    assert [unpack(f)["data"]["grams"] for f in frames] == [99]
    assert not box.overflowed


def _get(url):
    with urllib.request.urlopen(url, timeout=5) as resp:
        return resp.status, resp.headers.get("Content-Type"), resp.read().decode()


async def test_healthz_and_metrics(daemon):
    async with connect(daemon.url, daemon.token()) as gw:
        await gw.call("system.info")
        status, ctype, body = await trio.to_thread.run_sync(_get, daemon.http + "/healthz")
        health = json.loads(body)
        assert status == 200 and ctype == "application/json"
        assert health["status"] == "ok" and health["store"]["ok"] and health["clients"] == 1
        _, ctype, text = await trio.to_thread.run_sync(_get, daemon.http + "/metrics")
        assert ctype.startswith("text/plain")
        assert 'gatewayd_calls_total{method="system.info",outcome="ok"} 1' in text
        assert "gatewayd_connections 1" in text
        assert 'gatewayd_call_seconds_count{method="system.info"} 1' in text
        assert "gatewayd_events_published" in text


async def test_a_call_in_flight_when_the_link_drops_fails_with_connection_lost(daemon):
    from clients.python.client import ConnectionLost

    spec, _ = daemon.app.registry.handlers["system.info"]
    started = trio.Event()

    async def never_answers(ctx, p):
        started.set()
        await trio.sleep_forever()

    daemon.app.registry.handlers["system.info"] = (spec, never_answers)
    async with connect(daemon.url, daemon.token(), reconnect=False) as gw:
        async with trio.open_nursery() as nursery:
            async def drop():
                await started.wait()
                for session in list(daemon.app.sessions):
                    await session.ws.aclose()
            nursery.start_soon(drop)
            with trio.fail_after(5), pytest.raises(ConnectionLost):
                await gw.call("system.info")
