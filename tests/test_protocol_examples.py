"""Every example exchange of docs/protocol.md is executed against a demo: the example's params
are sent as written, and the daemon's answer must have the example result's shape (every key
the example shows exists, with a value of the same kind; kinds and states are the same). A
copied example that does not work, or that shows a result the method does not give, fails.

The examples run in the catalogue's order, as one session at one till, against
`gatewayd demo --config demo/shop.toml` (the demo with the example shop's promotions, tiers
and points reward). References that only exist once something happened (a line id, a
receipt number, a session, a coupon code) are written with `…` or as a plausible number in
the examples; they are learnt from the answers of the examples before them, where the
example result shows the same placeholder. A few examples need the till in a state the
examples before them do not leave it in; PREPARE does that through the protocol, and says why.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import trio

from clients.python.client import connect
from gatewayd import demo as demo_mod
from gatewayd.app import App
from protocol.methods import SPECS, MethodSpec
from protocol.roles import rank
from tests.conftest import Daemon, open_shift, started

ROOT = Path(__file__).resolve().parent.parent
SHOP = ROOT / "demo" / "shop.toml"
MANAGER = {"operator": "9001", "pin": "9999"}
CASHIER = {"operator": "1001", "pin": "1234"}

# Strings in examples that stand for something made at run time.
REFERENCE = re.compile(
    r".*…|S001-T01-\d{8}-R?\d{4}|S001-T01-[A-Z]{3}-\d{6}|GWM1:.*|gws_.*"
)
BUSINESS_DAY = re.compile(r"20\d{6}")
# Keys whose value is part of the shape: an example must show the kind of thing it answers.
LITERAL_KEYS = {"kind", "unit", "direction"}


def learn(example: Any, actual: Any, learned: dict[str, Any], in_list: bool = False) -> None:
    """Record what each placeholder of `example` stands for in `actual`. Items of a list pair
    up by position only, so they never replace what a placeholder already stands for (the
    first line of a sale may be a voided one)."""
    if isinstance(example, dict) and isinstance(actual, dict):
        for key, value in example.items():
            if key in actual:
                learn(value, actual[key], learned, in_list)
    elif isinstance(example, list) and isinstance(actual, list):
        for e, a in zip(example, actual, strict=False):
            learn(e, a, learned, in_list=True)
    elif isinstance(example, str) and isinstance(actual, str) and REFERENCE.fullmatch(example):
        if not (in_list and example in learned):
            learned[example] = actual


def substitute(params: Any, learned: dict[str, Any], today: str) -> Any:
    if isinstance(params, dict):
        return {k: substitute(v, learned, today) for k, v in params.items()}
    if isinstance(params, list):
        return [substitute(v, learned, today) for v in params]
    if isinstance(params, str):
        if params in learned:
            return learned[params]
        if BUSINESS_DAY.fullmatch(params):
            return today
    return params


def shape_problems(example: Any, actual: Any, path: str = "result",
                   literal: bool = True) -> list[str]:
    """Where `actual` does not have the shape `example` shows. The items of a list are compared
    with the answer's item of the same `id` (else its first item), for their shape only: a
    list may mix kinds and states."""
    if example is None or actual is None:
        return []  # an optional value: null in one case, set in another
    if isinstance(example, str) and example[:1] in "<{" and example[-1:] in ">}":
        if example == "<timestamp>" and not isinstance(actual, dt.datetime):
            return [f"{path}: a timestamp in the example, {actual!r} in the answer"]
        return []  # a described value ("{X report}")
    if isinstance(example, dict):
        if not isinstance(actual, dict):
            return [f"{path}: a map in the example, {type(actual).__name__} in the answer"]
        problems = []
        for key, value in example.items():
            if "…" in key:  # a key made at run time (a sale id): any of the answer's keys
                if actual:
                    problems += shape_problems(value, next(iter(actual.values())),
                                               f"{path}.{key}", literal)
            elif key not in actual:
                problems.append(f"{path}.{key}: in the example, not in the answer "
                                f"(it has {sorted(actual)})")
            elif literal and key in LITERAL_KEYS and value != actual[key]:
                problems.append(f"{path}.{key}: {value!r} in the example, {actual[key]!r}")
            else:
                problems += shape_problems(value, actual[key], f"{path}.{key}", literal)
        return problems
    if isinstance(example, list):
        if not isinstance(actual, list):
            return [f"{path}: a list in the example, {type(actual).__name__} in the answer"]
        if not (example and actual):
            return []
        item = example[0]
        same = [a for a in actual if isinstance(item, dict) and isinstance(a, dict)
                and "id" in item and a.get("id") == item["id"]]
        return shape_problems(item, (same or actual)[0], f"{path}[0]", literal=False)
    if isinstance(example, bool) or isinstance(actual, bool):
        ok = isinstance(example, bool) and isinstance(actual, bool)
    elif isinstance(example, int):
        ok = isinstance(actual, int)
    elif isinstance(example, str):
        ok = isinstance(actual, (str, dt.datetime))  # an ISO time may stand for a timestamp
    else:
        ok = type(example) is type(actual)
    if ok:
        return []
    return [f"{path}: {example!r} in the example, {actual!r} in the answer"]


class Till:
    """The demo under test, and connections to it as the examples need them."""

    def __init__(self, daemon: Daemon):
        self.daemon = daemon
        self.learned: dict[str, Any] = {}
        tz = zoneinfo.ZoneInfo(daemon.app.config.till.timezone)
        self.today = dt.datetime.now(tz).strftime("%Y%m%d")

    def session(self, operator: dict[str, str] | None = None):
        return _Session(self.daemon, operator)

    async def call(self, method: str, params: dict[str, Any],
                   operator: dict[str, str] | None = CASHIER) -> Any:
        async with self.session(operator) as gw:
            return await gw.call(method, params)

    async def completed_sale(self, *skus: str) -> dict[str, Any]:
        async with self.session(CASHIER) as gw:
            for sku in skus:
                await gw.call("sale.add", {"sku": sku})
            return await gw.call("sale.tender", {"method": "cash"})


class _Session:
    def __init__(self, daemon: Daemon, operator: dict[str, str] | None):
        self.daemon, self.operator = daemon, operator

    async def __aenter__(self):
        self._cm = connect(self.daemon.url, self.daemon.admin)
        gw = await self._cm.__aenter__()
        if self.operator:
            await gw.call("auth.login", self.operator)
        return gw

    async def __aexit__(self, *exc):
        return await self._cm.__aexit__(*exc)


def operator_for(spec: MethodSpec, params: dict[str, Any]) -> dict[str, str] | None:
    """Who is logged in when the example runs: nobody unless the method needs an operator;
    then a cashier, or a manager when the method needs more and the example brings no
    approval."""
    if not spec.needs_operator:
        return None
    if rank(spec.role) > rank("cashier") and "approve" not in params:
        return MANAGER
    return CASHIER


# -- the state some examples need ---------------------------------------------------------------
async def _pairing_approved(till: Till) -> None:
    """An admin approves the request of `pair.request`, as `gatewayd pair approve CODE`."""
    from gatewayd import auth

    store = till.daemon.app.store
    code = store.one("SELECT code FROM pair_requests WHERE id=?",
                     (till.learned["9b1f…"],))["code"]
    await store.write(lambda tx: auth.pair_decide(tx, code, "cashier"))


async def _a_shift(till: Till) -> None:
    await till.call("shift.open", {"float": 10000})


async def _close_the_shift(till: Till) -> None:
    shift = await till.call("shift.current", {}, None)
    await till.call("shift.close", {"counted": shift["shift"]["float"]})


async def _a_line(till: Till) -> None:
    """An open sale with a live line, learnt as the examples' line `5e1a…`."""
    sale = await till.call("sale.add", {"sku": "100003"})
    till.learned["5e1a…"] = sale["added"]


async def _a_sale_to_park(till: Till) -> None:
    await till.call("sale.add", {"sku": "100003"})


async def _paper_back(till: Till) -> None:
    await till.call("sim.printer", {"paper": "ok"}, None)


async def _label_paper_back(till: Till) -> None:
    await till.call("sim.label", {"paper": "ok"}, None)


async def _member_active(till: Till) -> None:
    await till.call("member.update", {"code": "13812345678", "active": True}, None)


async def _points_to_redeem(till: Till) -> None:
    """The member earns the reward's points with a purchase."""
    async with till.session(CASHIER) as gw:
        await gw.call("sale.member", {"code": "13812345678"})
        await gw.call("sale.add", {"sku": "200004", "qty": 10_000})  # ten 德芙, about ¥90
        await gw.call("sale.tender", {"method": "cash"})


async def _a_coupon_sale(till: Till) -> None:
    """`sale.member` (the example before) opened a sale; the coupon needs ¥50 spent."""
    await till.call("sale.add", {"sku": "200004", "qty": 6000})


async def _pay_the_rest(till: Till) -> None:
    await till.call("sale.tender", {"method": "cash"})


async def _a_count_sheet(till: Till) -> None:
    sheet = await till.call("stock.count", {"lines": [{"sku": "700001", "counted": 12_000}]})
    till.learned["S001-T01-CNT-000001"] = sheet["no"]


async def _a_receipt_to_refund(till: Till) -> None:
    sale = await till.completed_sale("100003", "100003")
    till.learned["S001-T01-20260512-0007"] = sale["receipt_no"]
    till.learned["c41b…"] = sale["lines"][0]["line_id"]


async def _refund_mode_off(till: Till) -> None:
    await till.call("sale.refund_mode", {"enabled": False})


PREPARE: dict[str, Callable[[Till], Awaitable[None]]] = {
    "pair.status": _pairing_approved,
    "sale.discount": _a_line,  # the example before voided the line
    "sale.suspend": _a_sale_to_park,  # the sale before was paid
    "member.redeem": _points_to_redeem,
    "sale.coupon": _a_coupon_sale,
    "stock.count": _a_count_sheet,
    "sale.refund": _a_receipt_to_refund,
    "shift.open": _close_the_shift,  # the one the sales before were paid in
    "report.x": _a_shift,  # the shift of the examples before is closed
}
AFTERWARDS: dict[str, Callable[[Till], Awaitable[None]]] = {
    "sim.printer": _paper_back,  # the example empties the paper
    "sim.label": _label_paper_back,  # so does this one, the label printer's
    "member.update": _member_active,  # the example deactivates the member
    "sale.coupon": _pay_the_rest,
    "sale.refund_mode": _refund_mode_off,
    "report.x": _close_the_shift,  # day.close refuses while a shift is open
}


@pytest.fixture
async def till(tmp_path, nursery):
    cfg = demo_mod.prepare(tmp_path / "demo", "127.0.0.1:0", SHOP)
    app = App(cfg, demo=True)
    stop = await started(nursery, app)
    daemon = Daemon(app)
    daemon.admin = demo_mod.read_token(cfg.data_dir)
    with trio.fail_after(10):
        while any(dev["state"] != "online" for dev in app.devices.list()):
            await trio.sleep(0.05)
    till = Till(daemon)
    async with till.session(CASHIER) as gw:
        await open_shift(gw)  # the examples' sales are paid in it
    yield till
    await stop()


def test_every_method_has_an_example():
    assert [name for name, spec in SPECS.items() if not spec.example] == []


async def test_every_example_runs_and_answers_its_shape(till):
    from clients.python.client import GatewayError

    problems: list[str] = []
    for name, spec in SPECS.items():
        if name.startswith("hq."):
            continue  # head office's methods: served by `gatewayd hq`, not a till (tests/hq)
        if name in PREPARE:
            await PREPARE[name](till)
        params = substitute(spec.example["params"], till.learned, till.today)
        try:
            result = await till.call(name, params, operator_for(spec, params))
        except GatewayError as exc:
            problems.append(f"{name} {params}: {exc.code}: {exc.message} {exc.details}")
            continue
        problems += [f"{name}: {p}" for p in shape_problems(spec.example["result"], result)]
        learn(spec.example["result"], result, till.learned)
        if name in AFTERWARDS:
            await AFTERWARDS[name](till)
    assert not problems, "examples in protocol/methods.py that do not hold:\n" + "\n".join(
        problems)


def test_a_wrong_example_is_caught():
    """The check itself: a receiving document shown as a transfer's answer fails."""
    receive = {"no": "S001-T01-RCV-000001", "kind": "receive", "state": "posted"}
    transfer = {"no": "S001-T01-TRO-000001", "kind": "transfer_out", "state": "posted"}
    assert shape_problems(receive, transfer) == [
        "result.kind: 'receive' in the example, 'transfer_out'"]
    assert shape_problems({"rows": [{"id": 2, "n": 1}]}, {"rows": [{"id": 1, "n": 1},
                                                                   {"id": 2, "n": "x"}]}) == [
        "result.rows[0].n: 1 in the example, 'x' in the answer"]
    assert shape_problems({"ok": True}, {"done": True}) == [
        "result.ok: in the example, not in the answer (it has ['done'])"]
    assert shape_problems({"n": 1}, {"n": "1"}) == ["result.n: 1 in the example, '1' in the answer"]
