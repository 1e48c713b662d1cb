"""Device paths users feel (issue 3 targets):

scan: from the scanner simulator's last byte to a subscribed client's `scanner.data`,
      through the pty, the serial transport, the driver, the bus and the socket; the
      baseline is a raw websockets echo of a frame of the same size in the same run.
      Target: the daemon adds < 1 ms at p99 (subject p99 - baseline p99).
fanout: a 20 Hz weight stream (the Toledo simulator changes weight at every poll) to 50
      clients of which one never reads, vs the same stream to a single client, and vs 50
      clients that all read; latency is publish -> client receive. Target: the others' p99
      within 1.5x of the single client.
"""

from __future__ import annotations

import tempfile
import time
from contextlib import AsyncExitStack
from functools import partial
from pathlib import Path

import trio
from websockets.trio.client import connect as ws_connect
from websockets.trio.server import serve

from bench.harness import Row, Timing, time_async
from protocol.codec import pack, unpack
from protocol.version import SUBPROTOCOL

SCANS = 300
FANOUT_CLIENTS = 50
FANOUT_SECONDS = 6


def _connect(url: str):
    return ws_connect(url, subprotocols=[SUBPROTOCOL], compression=None, max_size=None,
                      max_queue=1)


async def _client(stack: AsyncExitStack, url: str, token: str, topics: list[str]):
    ws = await stack.enter_async_context(_connect(url))
    await ws.send(pack({"type": "hello", "token": token, "client": {"name": "b", "kind": "b"}}))
    unpack(await ws.recv())
    await ws.send(pack({"type": "call", "id": 1, "method": "subscribe",
                        "params": {"topics": topics}}))
    while unpack(await ws.recv()).get("type") != "result":
        pass
    return ws


async def _echo(ws) -> None:
    async for message in ws:
        await ws.send(message)


async def _scan(app, token: str, nursery) -> list[Row]:
    runner = app.sims.runners["scanner"]
    async with AsyncExitStack() as stack:
        ws = await _client(stack, f"ws://127.0.0.1:{app.port}/ws", token, ["scanner"])
        listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
        await nursery.start(partial(serve, _echo, listeners=listeners,
                                    subprotocols=[SUBPROTOCOL], compression=None))
        echo = await stack.enter_async_context(
            _connect(f"ws://127.0.0.1:{listeners[0].socket.getsockname()[1]}/"))
        samples, size = [], 0
        for i in range(SCANS):
            code = f"69{i:011d}"
            t0 = time.perf_counter()
            runner.sim.scan(code)
            runner.poke()
            while True:
                frame = await ws.recv()
                event = unpack(frame)
                if event.get("topic") == "scanner.data" and event["data"]["data"] == code:
                    break
            samples.append(time.perf_counter() - t0)
            size = len(frame)
            await trio.sleep(0.002)
        payload = pack({"pad": "x" * max(0, size - 10)})

        async def roundtrip():
            await echo.send(payload)
            await echo.recv()

        baseline = await time_async(roundtrip, SCANS, warmup=20)
    subject = Timing.of(samples)
    added = (subject.p99 - baseline.p99) * 1e3
    return [Row("scan.to_client", subject, baseline,
                note=f"daemon adds {added:.2f} ms at p99 (target < 1 ms); baseline = raw "
                     f"websockets echo of a {size} B frame")]


async def _fanout(app, token: str, n_clients: int, stalled: int) -> Timing:
    """Latency publish -> receive of scale.reading, pooled over the reading clients."""
    published: dict[int, float] = {}
    bus_publish = app.bus.publish

    def timed_publish(topic, data):
        event = bus_publish(topic, data)
        if topic == "scale.reading":
            published[event.seq] = time.perf_counter()
        return event

    app.bus.publish = timed_publish
    app.devices.get("scale").emit = app.emit  # devices emit through app.emit -> bus.publish
    samples: list[float] = []
    sim, runner = app.sims.runners["scale"].sim, app.sims.runners["scale"]
    url = f"ws://127.0.0.1:{app.port}/ws"
    try:
        async with AsyncExitStack() as stack:
            readers = [await _client(stack, url, token, ["scale"]) for _ in range(n_clients)]
            nursery = await stack.enter_async_context(trio.open_nursery())

            async def stalled_client(task_status=trio.TASK_STATUS_IGNORED):
                # Subscribed, never reads; torn down by cancellation (no close handshake,
                # which a peer that never reads could not finish).
                async with AsyncExitStack() as own:
                    await _client(own, url, token, ["scale"])
                    task_status.started()
                    await trio.sleep_forever()

            for _ in range(stalled):
                await nursery.start(stalled_client)

            async def read(ws):
                while True:
                    event = unpack(await ws.recv())
                    at = published.get(event.get("seq"))
                    if at is not None:
                        samples.append(time.perf_counter() - at)

            for ws in readers:
                nursery.start_soon(read, ws)
            end = trio.current_time() + FANOUT_SECONDS
            grams = 1000
            while trio.current_time() < end:  # a new weight at every 20 Hz poll
                grams += 1
                sim.set_weight(grams)
                runner.poke()
                await trio.sleep(0.05)
            await trio.sleep(0.3)
            nursery.cancel_scope.cancel()
    finally:
        app.bus.publish = bus_publish
    return Timing.of(samples)


async def _measure() -> list[Row]:
    from gatewayd import demo
    from gatewayd.app import App

    with tempfile.TemporaryDirectory(prefix="gatewayd-bench-") as tmp:
        cfg = demo.prepare(Path(tmp), "127.0.0.1:0")
        cfg.devices["scale"].options["poll_hz"] = 20
        app = App(cfg, demo=True)
        token = demo.read_token(cfg.data_dir)
        try:
            async with trio.open_nursery() as nursery:
                await nursery.start(app.run)
                with trio.fail_after(10):
                    while any(d["state"] != "online" for d in app.devices.list()):
                        await trio.sleep(0.05)
                rows = await _scan(app, token, nursery)
                single = await _fanout(app, token, 1, 0)
                healthy = await _fanout(app, token, FANOUT_CLIENTS, 0)
                stalled = await _fanout(app, token, FANOUT_CLIENTS - 1, 1)
                rows.append(Row(f"fanout.20hz.{FANOUT_CLIENTS}clients_1stalled", stalled,
                                single, target=1.5,
                                note="baseline: the same stream to one client (the clients "
                                     "run in the daemon's process and share its CPU)"))
                rows.append(Row("fanout.stalled_vs_healthy", stalled, healthy, target=1.5,
                                note=f"baseline: {FANOUT_CLIENTS} clients that all read: "
                                     "what one stalled client costs the others"))
                nursery.cancel_scope.cancel()
        finally:
            app.close()
    return rows


def run() -> list[Row]:
    return trio.run(_measure)
