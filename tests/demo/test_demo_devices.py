"""The demo's devices end to end: simulator on a pty -> serial transport -> driver -> bus ->
client, and the faults of issue 3 (unplug, paper out, garbage, a silent scale)."""

from __future__ import annotations

import urllib.request

import pytest
import trio

from clients.python import GatewayError, connect
from tests.demo.conftest import wait_for


async def test_every_device_online_and_listed(demo):
    async with connect(demo.url, demo.admin) as gw:
        devices = {d["id"]: d for d in (await gw.call("devices.list"))["devices"]}
        assert set(devices) == {"scanner", "scale", "printer", "drawer", "display", "label"}
        assert all(d["state"] == "online" for d in devices.values())
        assert devices["printer"]["status"]["paper"] == "ok"


async def test_scan_travels_the_real_path(demo):
    async with connect(demo.url, demo.admin) as gw:
        await gw.subscribe(["scanner"])
        await gw.call("sim.scan", data="6901234567892")
        event = await gw.next_event("scanner.data")
        assert event["data"]["data"] == "6901234567892"
        assert event["data"]["device"] == "scanner"


async def test_weigh_then_read_same_weight_twice(demo):
    async with connect(demo.url, demo.admin) as gw:
        await gw.call("sim.weigh", grams=1235)
        first = await gw.call("scale.read", timeout_ms=3000)
        assert first["grams"] == 1235 and first["stable"] is True
        second = await gw.call("scale.read", timeout_ms=3000)  # already lying there
        assert second["grams"] == 1235
        await gw.call("sim.weigh", grams=500, stable=False)
        with pytest.raises(GatewayError) as err:
            await gw.call("scale.read", timeout_ms=500)
        assert err.value.code in ("device_busy", "device_offline")


async def test_print_lines_reach_the_printer_simulator(demo):
    async with connect(demo.url, demo.admin) as gw:
        await gw.subscribe(["printer"])
        job = await gw.call("printer.print", lines=["测试 test 打印", "第二行"])
        await wait_for(gw, "printer.job",
                       lambda d: d["job_id"] == job["job_id"] and d["state"] == "done")
        receipts = (await gw.call("sim.receipts", last=1))["receipts"]
        text = [line["text"] for line in receipts[0]["lines"]]
        assert "测试 test 打印" in text and "第二行" in text
        assert receipts[0]["complete"] and receipts[0]["raw"].startswith(b"\x1b@")


async def test_paper_out_mid_receipt_reprints_whole_and_marked(demo):
    printer_sim = demo.app.sims.sim("printer")
    async with connect(demo.url, demo.admin) as gw:
        await gw.subscribe(["printer", "alerts"])
        printer_sim.run_out_after(3)  # the roll ends three lines into the next job
        lines = [f"第{i}行 line {i}" for i in range(12)]
        job = await gw.call("printer.print", lines=lines)
        alert = await wait_for(gw, "alerts.raised", lambda d: d["kind"].startswith("printer"))
        assert alert["data"]["kind"] == "printer_paper_empty"
        status = await gw.call("printer.status")
        assert status["status"]["paper"] == "empty"
        assert [j["id"] for j in status["jobs"]] == [job["job_id"]]
        await gw.call("sim.printer", paper="ok")
        await wait_for(gw, "printer.job",
                       lambda d: d["job_id"] == job["job_id"] and d["state"] == "done",
                       timeout=10)
    receipts = printer_sim.receipts
    assert not receipts[-2].complete  # the torn first attempt
    reprint = receipts[-1].text()
    assert reprint[0].strip() == "*** 重打印 REPRINT ***"
    assert [ln for ln in reprint if "行 line" in ln] == lines  # whole, once
    done = [e for e in demo.app.store.journal(limit=10**5) if e.kind == "print.done"]
    assert [e.data["job_id"] for e in done].count(job["job_id"]) == 1


@pytest.mark.parametrize("device", ["scanner", "scale", "printer", "display", "label"])
async def test_unplug_and_plug_every_device(demo, device):
    async with connect(demo.url, demo.admin) as gw:
        await gw.subscribe(["devices"])
        # issue 3: offline within 1 s of the unplug, online within 2 s of the plug
        await gw.call("sim.unplug", device=device)
        await wait_for(gw, "devices.status",
                       lambda d: d["id"] == device and d["state"] != "online", timeout=1.0)
        await gw.call("sim.plug", device=device)
        await wait_for(gw, "devices.status",
                       lambda d: d["id"] == device and d["state"] == "online", timeout=2.0)


async def test_silent_scale_read_ends_in_device_offline(demo):
    scale_sim = demo.app.sims.sim("scale")
    async with connect(demo.url, demo.admin) as gw:
        scale_sim.set_silent(True)
        await trio.sleep(1.2)  # the last answer is no longer "now" (fresh_s)
        with trio.fail_after(8):
            with pytest.raises(GatewayError) as err:
                await gw.call("scale.read", timeout_ms=3000)
        assert err.value.code == "device_offline"
        scale_sim.set_silent(False)


async def test_garbage_on_serial_lines_is_counted_in_metrics(demo):
    runners = demo.app.sims.runners
    for name in ("scanner", "scale", "printer", "display", "label"):
        runners[name]._queue(b"\xff\xfe garbage \x00\x13\x37" * 4)
    async with connect(demo.url, demo.admin) as gw:
        await trio.sleep(1.0)
        devices = {d["id"]: d for d in (await gw.call("devices.list"))["devices"]}
        assert all(devices[n]["state"] == "online" for n in ("scanner", "scale", "printer"))
    text = await trio.to_thread.run_sync(
        lambda: urllib.request.urlopen(demo.http + "/metrics", timeout=5).read().decode())
    garbage = {line.split('"')[1]: float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("gatewayd_device_garbage_bytes{")}
    assert garbage["scale"] > 0 and garbage["printer"] > 0 and garbage["label"] > 0
