"""Issue 18, nothing grows without bound: a printer that is away (unplugged, out of paper,
cover open) makes its oldest job fail at every retry and every wake of the print queue. That
failure is journaled once per job and cause, not at every retry; the job stays queued with
its last error in `printer.jobs`, and prints (once, not as a reprint: nothing was sent) when
the printer is back."""

from __future__ import annotations

import trio

from clients.python import connect
from gatewayd import demo as demo_mod
from gatewayd import printing
from gatewayd.app import App
from gatewayd.printing import REPRINT_MARK
from tests.demo.conftest import wait_for


def _count_retries(app) -> list[str]:
    """The reasons the print queue met, one per failed try (the queue's own hook)."""
    seen: list[str] = []
    failed = app.printing._failed

    async def spy(job, reason: str) -> None:
        seen.append(reason)
        await failed(job, reason)

    app.printing._failed = spy
    return seen


async def _retries(seen: list[str], n: int) -> None:
    with trio.fail_after(15):
        while len(seen) < n:
            await trio.sleep(0.02)


def _events(app, job_id: str) -> list[tuple[str, dict]]:
    return [(e.kind, e.data) for e in app.store.journal(limit=10**5)
            if e.kind.startswith("print.") and e.data.get("job_id") == job_id]


async def _printed_once(app, gw, job_id: str, line: str) -> None:
    await wait_for(gw, "printer.job",
                   lambda d: d["job_id"] == job_id and d["state"] == "done", timeout=15)
    receipts = [r.text() for r in app.sims.sim("printer").receipts
                if any(line in t for t in r.text())]
    assert len(receipts) == 1 and REPRINT_MARK not in receipts[0][0]
    kinds = [k for k, _ in _events(app, job_id)]
    assert kinds[-2:] == ["print.started", "print.done"]
    assert kinds.count("print.started") == 1  # nothing was tried while the printer was away


async def test_ten_retries_offline_journal_one_failure_and_the_job_prints_on_return(
        demo, monkeypatch):
    monkeypatch.setattr(printing, "RETRY_S", 0.05)
    app = demo.app
    seen = _count_retries(app)
    async with connect(demo.url, demo.admin) as gw:
        await gw.subscribe(["devices", "printer"])
        await gw.call("sim.unplug", device="printer")
        await wait_for(gw, "devices.status",
                       lambda d: d["id"] == "printer" and d["state"] != "online")
        job = (await gw.call("printer.print", lines=["while away"]))["job_id"]
        await _retries(seen, 10)
        for _ in range(5):  # wakes (a sale, a reprint) are retries too
            app.printing.wake()
            await trio.sleep(0)
        await _retries(seen, 15)
        assert set(seen) == {"offline"}
        assert _events(app, job) == [
            ("print.queued", _events(app, job)[0][1]),
            ("print.failed", {"job_id": job, "reason": "offline"})]
        # the job is visible and waiting, with why
        jobs = (await gw.call("printer.jobs"))["jobs"]
        assert [(j["job_id"], j["state"], j["last_error"], j["attempts"]) for j in jobs] == [
            (job, "queued", "offline", 0)]
        await gw.call("sim.plug", device="printer")
        await _printed_once(app, gw, job, "while away")
        assert (await gw.call("printer.jobs"))["jobs"] == []


async def test_a_changed_cause_is_journaled_again_and_nothing_is_attempted_meanwhile(
        demo, monkeypatch):
    monkeypatch.setattr(printing, "RETRY_S", 0.05)
    app = demo.app
    seen = _count_retries(app)
    async with connect(demo.url, demo.admin) as gw:
        await gw.subscribe(["printer"])
        await gw.call("sim.printer", paper="empty", cover="open")
        with trio.fail_after(5):
            while (await gw.call("printer.status"))["status"]["paper"] != "empty":
                await trio.sleep(0.05)
        job = (await gw.call("printer.print", lines=["paper and cover"]))["job_id"]
        await _retries(seen, 10)
        await gw.call("sim.printer", paper="ok")  # the cover is still open
        with trio.fail_after(5):
            while seen[-1] != "cover_open":
                await trio.sleep(0.02)
        await _retries(seen, len(seen) + 10)
        failed = [d["reason"] for k, d in _events(app, job) if k == "print.failed"]
        assert failed == ["paper_empty", "cover_open"]
        assert (await gw.call("printer.jobs"))["jobs"][0]["last_error"] == "cover_open"
        await gw.call("sim.printer", cover="closed")
        await _printed_once(app, gw, job, "paper and cover")


async def test_a_restart_with_the_printer_still_away_journals_no_second_failure(
        tmp_path, monkeypatch):
    """The cause is kept with the job in the store, so a restart does not journal it again."""
    monkeypatch.setattr(printing, "RETRY_S", 0.05)
    cfg = demo_mod.prepare(tmp_path / "demo", "127.0.0.1:0")
    job: list[str] = []

    async def run_once(body) -> None:
        app = App(cfg, demo=True)
        assert app.sims is not None
        app.sims.sim("printer").set_paper("empty")  # out of paper from the start
        try:
            async with trio.open_nursery() as nursery:
                await nursery.start(app.run)
                seen = _count_retries(app)
                await body(app, seen)
                nursery.cancel_scope.cancel()
        finally:
            app.close()

    def failures(app) -> list[str]:
        return [d["reason"] for k, d in _events(app, job[0]) if k == "print.failed"]

    async def first(app, seen) -> None:
        job.append((await app.store.write(lambda tx: printing.enqueue(
            tx, "printer", printing.lines_document(["across a restart"]))))[0])
        app.printing.wake()
        await _retries(seen, 5)
        assert set(seen) == {"paper_empty"} and failures(app) == ["paper_empty"]

    async def second(app, seen) -> None:
        await _retries(seen, 5)
        assert set(seen) == {"paper_empty"} and failures(app) == ["paper_empty"]
        assert app.printing.job(job[0])["state"] == "queued"
        app.sims.sim("printer").set_paper("ok")
        app.sims.runners["printer"].poke()
        with trio.fail_after(15):
            while app.printing.job(job[0])["state"] != "done":
                await trio.sleep(0.05)
        kinds = [k for k, _ in _events(app, job[0])]
        assert kinds == ["print.queued", "print.failed", "print.started", "print.done"]

    await run_once(first)
    await run_once(second)
