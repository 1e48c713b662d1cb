"""Every method declares the model of its answer (protocol/methods), and the tests hold the
daemon to it: with GATEWAYD_CHECK_RESULTS=1 (tests/conftest.py) an answer off its model is an
`internal` error, so every answer of the test suite has been checked."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError

from clients.python import GatewayError, connect
from protocol.methods import SPECS, Result, check_result


def test_every_method_declares_its_result():
    assert [name for name, spec in SPECS.items() if spec.result is None] == []
    assert all(issubclass(spec.result, Result) for spec in SPECS.values())


def _sale(**extra):
    line = {"line_id": "l1", "sku": "1001", "name": "可乐", "qty": 1000, "unit": "pc",
            "unit_price": 350, "price_override": None, "amount": 350, "discount": 0,
            "net": 350, "tax": 40, "tax_rate_bp": 1300, "voided": False, "promo": [],
            "explain": []}
    return {"id": "s1", "kind": "sale", "receipt_no": None, "state": "open", "lines": [line],
            "member": None, "subtotal": 350, "discount": 0, "total": 350,
            "tax": [{"rate_bp": 1300, "net": 350, "tax": 40, "base": 310}], "tax_total": 40,
            "explain": [], "rounding": 0, "tenders": [{"method": "cash", "amount": 100}],
            "paid": 100, "due": 250, "cash_due": 250, "change": 0, "operator": "1001",
            "version": 2, "payment": None,
            "opened_at": dt.datetime(2026, 5, 1, 2, 3, 4, tzinfo=dt.UTC), **extra}


def test_check_result_holds_an_answer_to_its_model_exactly():
    spec = SPECS["sale.add"]
    check_result(spec, _sale(added="l1"))
    with pytest.raises(ValidationError):  # a key the contract does not have
        check_result(spec, _sale(colour="red"))
    with pytest.raises(ValidationError):  # a key the contract always has
        check_result(spec, {k: v for k, v in _sale().items() if k != "due"})
    with pytest.raises(ValidationError):  # money is integer fen on the wire
        check_result(spec, _sale(total="3.50"))
    with pytest.raises(ValidationError):
        check_result(spec, _sale(state="lost"))


async def test_the_daemon_refuses_an_answer_off_its_model(daemon, monkeypatch):
    assert daemon.app.registry.get("system.info") is not None
    spec, handler = daemon.app.registry.get("system.info")

    async def off_contract(ctx, p):
        return {**await handler(ctx, p), "secret": "leaked"}

    monkeypatch.setitem(daemon.app.registry.handlers, "system.info", (spec, off_contract))
    async with connect(daemon.url, daemon.token("admin")) as gw:
        with pytest.raises(GatewayError) as err:
            await gw.call("system.info")
        assert err.value.code == "internal"
        assert (await gw.call("system.health"))["store"]["ok"] is True
