"""Issue 13 item 4, no poison print job: one cashier call must not stop every later receipt.

The attack on the old daemon: `printer.print` with a receipt element whose text is not a
string was queued, failed to render on every try, and, being the oldest job, blocked every
receipt behind it, across restarts. Now a document is validated completely at the call
(`invalid_params`, nothing queued); a job that still cannot be rendered (queued by an older
version, or a printer reconfigured since) is moved aside after a bounded number of tries with
an alert, listed by `printer.jobs` and cancelled by a supervisor with `printer.job_cancel`.
"""

from __future__ import annotations

import uuid

import pytest
import trio

from clients.python import GatewayError, connect
from gatewayd import demo as demo_mod
from gatewayd.app import App
from gatewayd.printing import MAX_RENDER_FAILURES
from gatewayd.store.db import now_us
from protocol.codec import pack

BAD_DOCUMENTS = [
    [{"type": "text", "text": 123}],
    [{"type": "text"}],
    [{"type": "text", "text": "ok", "bold": "yes"}],
    [{"type": "text", "text": "ok", "align": "justify"}],
    [{"type": "columns", "left": "可乐", "right": 350}],
    [{"type": "row", "cells": ["a", 1]}],
    [{"type": "qr", "data": "x", "size": "6"}],
    [{"type": "qr", "data": "x" * 3000, "ec": "H"}],  # over the byte-mode capacity at H
    [{"type": "barcode", "data": "12345", "kind": "EAN13"}],
    [{"type": "barcode", "data": "6901234567890", "kind": "EAN13"}],  # wrong check digit
    [{"type": "feed", "n": "3"}],
    [{"type": "cut", "partial": 1}],
    [{"type": "logo", "data": b"\x00"}],
    [{"type": "nope"}],
    ["text"],
    [{"type": "text", "text": "ok", "extra": True}],
]


@pytest.mark.parametrize("document", BAD_DOCUMENTS)
async def test_a_bad_document_is_refused_at_the_call_and_nothing_is_queued(demo, document):
    async with connect(demo.url, demo.token("cashier")) as gw:
        with pytest.raises(GatewayError) as exc:
            await gw.call("printer.print", receipt=document)
        assert exc.value.code == "invalid_params"
        assert (await gw.call("printer.status"))["jobs"] == []


def _queue_poison(app: App, printer: str = "printer") -> str:
    """A job whose document cannot be rendered, as an older version could queue it."""
    job_id = str(uuid.uuid4())

    def insert(tx) -> None:
        now = now_us()
        tx.execute(
            "INSERT INTO print_jobs(id, printer, kind, ref, document, state, created_at,"
            " updated_at) VALUES (?,?,?,?,?, 'queued', ?, ?)",
            (job_id, printer, "receipt", "manual:poison",
             pack([{"type": "text", "text": 123}]), now, now))

    app.store.write_sync(insert)
    return job_id


async def _wait_receipt(sim, text: str, timeout: float = 20) -> None:
    with trio.fail_after(timeout):
        while not any(text in line for r in sim.receipts for line in r.text()):
            await trio.sleep(0.05)


async def test_a_poison_job_is_moved_aside_and_never_blocks_later_receipts(demo):
    app = demo.app
    sim = app.sims.sim("printer")
    poison = _queue_poison(app)
    app.printing.wake()
    async with connect(demo.url, demo.token("cashier")) as gw, \
            connect(demo.url, demo.token("supervisor")) as sup:
        await gw.subscribe(["alerts", "printer"])
        await gw.call("printer.print", lines=["after the poison 1"])
        await _wait_receipt(sim, "after the poison 1")
        alert = await gw.next_event("alerts.raised", timeout=20)
        assert alert["data"]["kind"] == "printer_job_failed"
        assert alert["data"]["job_id"] == poison
        jobs = (await gw.call("printer.jobs", state="held"))["jobs"]
        assert [(j["job_id"], j["state"], j["failures"]) for j in jobs] == [
            (poison, "held", MAX_RENDER_FAILURES)]
        assert "text" in jobs[0]["last_error"]
        # a held job stays aside: later receipts print at once
        await gw.call("printer.print", lines=["after the poison 2"])
        await _wait_receipt(sim, "after the poison 2")
        # a cashier may not cancel it; a supervisor may
        with pytest.raises(GatewayError) as exc:
            await gw.call("printer.job_cancel", job_id=poison)
        assert exc.value.code in ("forbidden", "approval_required")
        assert (await sup.call("printer.job_cancel", job_id=poison)) == {
            "job_id": poison, "state": "cancelled"}
        assert (await gw.call("printer.jobs", state="held"))["jobs"] == []
        with pytest.raises(GatewayError) as exc:
            await sup.call("printer.job_cancel", job_id=poison)  # already cancelled
        assert exc.value.code == "conflict"
        with pytest.raises(GatewayError) as exc:
            await sup.call("printer.job_cancel", job_id=str(uuid.uuid4()))
        assert exc.value.code == "not_found"


async def test_a_held_job_stays_aside_across_restarts(tmp_path):
    cfg = demo_mod.prepare(tmp_path / "demo", "127.0.0.1:0")

    async def run_once(body) -> None:
        app = App(cfg, demo=True)
        try:
            async with trio.open_nursery() as nursery:
                await nursery.start(app.run)
                with trio.fail_after(10):
                    while app.devices.get("printer").info.state != "online":
                        await trio.sleep(0.05)
                await body(app)
                nursery.cancel_scope.cancel()
        finally:
            app.close()

    poison: list[str] = []

    async def first(app: App) -> None:
        poison.append(_queue_poison(app))
        app.printing.wake()
        with trio.fail_after(30):
            while app.printing.job(poison[0])["state"] != "held":
                await trio.sleep(0.05)

    async def second(app: App) -> None:
        assert app.printing.job(poison[0])["state"] == "held"
        token = demo_mod.read_token(cfg.data_dir)
        async with connect(f"ws://127.0.0.1:{app.port}/ws", token) as gw:
            await gw.call("printer.print", lines=["after a restart"])
            await _wait_receipt(app.sims.sim("printer"), "after a restart")
        assert app.printing.job(poison[0])["failures"] == MAX_RENDER_FAILURES

    await run_once(first)
    await run_once(second)
