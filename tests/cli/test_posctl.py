import json
from pathlib import Path

import trio

from clients.cli.params import parse_params
from tests.cli.conftest import free_port


async def test_info_human_and_json(daemon, posctl):
    token = daemon.token("viewer")
    r = await posctl("--url", daemon.url, "--token", token, "info")
    assert r.rc == 0, r.err
    assert "gatewayd" in r.out and "S001/T01" in r.out and "viewer" in r.out
    assert "backup" in r.out and "not run yet" in r.out  # retention
    r = await posctl("--url", daemon.url, "--token", token, "--json", "info")
    assert r.rc == 0
    data = json.loads(r.out)
    assert data["role"] == "viewer"
    assert data["info"]["till"] == {"store": "S001", "till": "T01"}
    assert data["health"]["status"] == "ok"


async def test_backup_shows_progress_and_names_the_file(daemon, posctl, monkeypatch):
    from gatewayd import maintenance
    from gatewayd.store import backup

    monkeypatch.setattr(maintenance, "PROGRESS_S", 0.0)
    monkeypatch.setattr(backup, "PAGES_PER_STEP", 8)
    token = daemon.token("manager")
    r = await posctl("--url", daemon.url, "--token", token, "backup")
    assert r.rc == 0, r.err
    assert "backup: " in r.err and " pages (100 %)" in r.err
    path = json.loads(r.out)["path"]
    assert path.startswith(str(daemon.app.config.backup_dir)) and Path(path).exists()
    r = await posctl("--url", daemon.url, "--token", daemon.token("viewer"), "backup")
    assert r.rc == 4 and "forbidden" in r.err


async def test_url_and_token_file_from_environment(daemon, posctl, tmp_path, monkeypatch):
    token_file = tmp_path / "posctl.token"
    token_file.write_text(daemon.token("admin") + "\n")
    monkeypatch.setenv("POSCTL_URL", daemon.url)
    monkeypatch.setenv("POSCTL_TOKEN_FILE", str(token_file))
    monkeypatch.delenv("POSCTL_TOKEN", raising=False)
    r = await posctl("--json", "info")
    assert r.rc == 0, r.err
    assert json.loads(r.out)["role"] == "admin"


async def test_bad_token_exits_4(daemon, posctl):
    daemon.token("admin")
    r = await posctl("--url", daemon.url, "--token", "gw_not_a_token", "info")
    assert r.rc == 4
    assert "unauthenticated" in r.err and r.out == ""


async def test_unreachable_exits_3(posctl):
    r = await posctl("--url", f"ws://127.0.0.1:{free_port()}/ws", "--token", "x", "info")
    assert r.rc == 3
    assert "cannot connect" in r.err


async def test_unknown_method_exits_1_with_code_and_message(daemon, posctl):
    r = await posctl("--url", daemon.url, "--token", daemon.token(), "call", "no.such.method")
    assert r.rc == 1
    assert r.err.startswith("unknown_method: ")


async def test_usage_error_exits_2(posctl):
    assert (await posctl("frobnicate")).rc == 2
    assert (await posctl("call", "system.info", "novalue")).rc == 2


async def test_call_sends_typed_params(daemon, posctl):
    args = ("--url", daemon.url, "--token", daemon.token(), "--json", "call", "subscribe")
    # a JSON list and an int: the strict params model accepts them as they are
    r = await posctl(*args, 'topics=["sale","devices"]', "since=0")
    assert r.rc == 0, r.err
    result = json.loads(r.out)
    assert result["topics"] == ["devices", "sale"] and result["gap"] is False
    # a bare word is a string, which `topics` (a list) refuses
    r = await posctl(*args, "topics=sale")
    assert r.rc == 1 and r.err.startswith("invalid_params: ")


def test_parse_params_types_and_nesting():
    p = parse_params(
        ["qty=1000", 'lines=["a"]', "approve.operator=9001", "approve.pin=0042", "note=hi",
         "flag=true", "raw:=\"7\""],
        "printer.print",
    )
    assert p == {
        "qty": 1000,
        "lines": ["a"],
        # declared as strings in the params model: kept as typed, leading zeros and all
        "approve": {"operator": "9001", "pin": "0042"},
        "note": "hi",
        "flag": True,
        "raw": "7",
    }
    # a string field keeps digits as text; an int field parses them
    assert parse_params(["id=42"], "devices.get") == {"id": "42"}
    assert parse_params(["timeout_ms=250"], "scale.read") == {"timeout_ms": 250}


async def test_approval_required_exits_4_and_approve_passes(daemon, posctl):
    daemon.operator("9001", "manager", "9999")
    daemon.app.config.auth.require["drawer.status"] = "manager"
    base = ("--url", daemon.url, "--token", daemon.token("cashier"))
    r = await posctl(*base, "drawer", "status")
    assert r.rc == 4
    assert "approval_required" in r.err and "manager" in r.err
    # approved: past the role check, then no drawer is configured here
    r = await posctl(*base, "drawer", "status", "--approve", "9001:9999")
    assert r.rc == 1 and r.err.startswith("not_found: ")


async def test_devices_table_and_offline_device_exits_5(till, posctl):
    base = ("--url", till.url, "--token", till.token())
    with trio.fail_after(5):
        while till.app.devices.get("scale").info.state != "offline" or not (
            till.app.devices.get("scale").info.error
        ):
            await trio.sleep(0.02)
    r = await posctl(*base, "devices")
    assert r.rc == 0, r.err
    header, row = r.out.splitlines()
    assert header.split() == ["ID", "KIND", "STATE", "STATUS", "ERROR"]
    assert row.split()[:3] == ["scale", "scale", "offline"]
    assert till.app.devices.get("scale").info.error in row
    assert (await posctl(*base, "devices", "--strict")).rc == 5
    r = await posctl(*base, "call", "scale.read", "timeout_ms=100")
    assert r.rc == 5 and "device_offline" in r.err


async def _run_streaming(daemon, posctl, argv, publish):
    """Start a streaming posctl command, publish once it has subscribed, return its Run."""
    result = {}

    async def run():
        result["run"] = await posctl(*argv)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(run)
        with trio.fail_after(10):
            while not any(s.topics for s in daemon.app.sessions):
                await trio.sleep(0.01)
            await publish()
    return result["run"]


async def drained(daemon):
    """Until every session has written out what it was offered (so snapshot topics, which
    are coalesced for a client that has not caught up, are not merged)."""
    while any(s.outbox.frames or s.outbox.snapshots for s in daemon.app.sessions):
        await trio.sleep(0.005)


async def test_watch_prints_matching_events_one_line_each(daemon, posctl):
    argv = ("--url", daemon.url, "--token", daemon.token(), "watch", "sale", "--count", "2")

    async def publish():
        daemon.app.emit("scale.reading", {"grams": 5})  # not subscribed: not shown
        daemon.app.emit("sale.updated", {"id": "s1", "total": 350})
        daemon.app.emit("sale.completed", {"id": "s1", "receipt_no": "S001-T01-1"})

    r = await _run_streaming(daemon, posctl, argv, publish)
    assert r.rc == 0, r.err
    lines = r.out.splitlines()
    assert len(lines) == 2
    assert "sale.updated" in lines[0] and '{"id":"s1","total":350}' in lines[0]
    assert "sale.completed" in lines[1] and "S001-T01-1" in lines[1]
    assert lines[0][:2].isdigit() and lines[0][2] == ":"  # starts with a time


async def test_scan_prints_scanner_data(daemon, posctl):
    argv = ("--url", daemon.url, "--token", daemon.token(), "scan", "--count", "1")

    async def publish():
        daemon.app.emit("scanner.data", {"device": "scanner", "data": "6901234567892",
                                         "symbology": "EAN-13"})

    r = await _run_streaming(daemon, posctl, argv, publish)
    assert r.rc == 0, r.err
    assert r.out.rstrip().endswith("scanner  6901234567892  [EAN-13]")


async def test_weigh_prints_readings(till, posctl):
    argv = ("--url", till.url, "--token", till.token(), "weigh", "--count", "2")

    async def publish():
        base = {"device": "scale", "zero": False, "over": False, "under": False}
        till.app.emit("scale.reading", {**base, "grams": 1235, "stable": False})
        await drained(till)
        till.app.emit("scale.reading", {**base, "grams": 1240, "stable": True})

    r = await _run_streaming(till, posctl, argv, publish)
    assert r.rc == 0, r.err
    lines = r.out.splitlines()
    assert "1.235 kg" in lines[0] and "moving" in lines[0]
    assert "1.240 kg" in lines[1] and "stable" in lines[1]


async def test_print_test_sends_a_receipt_document(daemon, posctl):
    seen = {}

    @daemon.app.registry.method("printer.print")
    async def fake_print(ctx, p):  # the printer service is not what this test is about
        seen["params"] = p
        return {"job_id": "job-1"}

    r = await posctl("--url", daemon.url, "--token", daemon.token(), "print-test", "--device", "p")
    assert r.rc == 0, r.err
    assert "job-1" in r.out
    p = seen["params"]
    assert p.device == "p" and p.lines is None
    texts = [i.get("text", "") for i in p.receipt]
    assert "0123456789" * 3 + "01" in texts and ("0123456789" * 5)[:48] in texts
    assert any("中文" in t for t in texts)
    assert {i["type"] for i in p.receipt} >= {"qr", "barcode", "cut"}


async def test_help_lists_exit_codes(posctl):
    r = await posctl("--help")
    assert r.rc == 0
    assert "exit codes:" in r.out and "5  device offline or busy" in r.out


def test_print_test_receipt_renders_with_the_printer_driver():
    from clients.cli.commands.devices import test_receipt_items
    from drivers.printer.receipt import receipt_from_dicts, render

    for width in (32, 48):
        data = render(receipt_from_dicts(test_receipt_items()), width_cols=width)
        assert ("0123456789" * 4)[:width].encode() in data
        assert "中文".encode("gb18030") in data


def test_devices_status_is_compact():
    from clients.cli.commands.devices import _status_text

    printer = {"online": True, "paper": "near_end", "cover_open": False, "cutter_error": False,
               "jobs": [1]}
    assert _status_text(printer) == "online paper=near_end cover_open=no"
    assert _status_text({"stable": False, "zero": False, "grams": 1235}) == "stable=no grams=1235"
