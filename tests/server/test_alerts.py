"""alert.raise: journaled, published on `alerts`, validated."""

import pytest

from clients.python import connect
from clients.python.client import GatewayError


async def test_alert_raise_publishes_and_journals(daemon):
    # a kiosk sells, so its token is a cashier's (a viewer may not raise alerts)
    async with connect(daemon.url, daemon.token("cashier"), name="kiosk 2", kind="kiosk") as gw:
        await gw.subscribe(["alerts"])
        result = await gw.call("alert.raise", {"kind": "help", "message": "顾客需要帮助"})
        event = await gw.next_event("alerts", timeout=2)
    assert event["topic"] == "alerts.raised"
    data = event["data"]
    assert data["id"] == result["id"] and data["kind"] == "help"
    assert data["message"] == "顾客需要帮助"
    assert data["source"] == {"client": "kiosk 2", "kind": "kiosk", "operator": None}
    row = daemon.app.store.one("SELECT kind, data FROM journal WHERE seq=?", (result["seq"],))
    assert row["kind"] == "alert.raised"
    assert [e.data["id"] for e in daemon.app.store.journal(result["seq"] - 1, 1)] == [result["id"]]


@pytest.mark.parametrize("params", [{"kind": "Help!"}, {"kind": ""}, {"message": "x"},
                                    {"kind": "help", "message": "x" * 201}])
async def test_alert_raise_rejects_bad_params(daemon, params):
    async with connect(daemon.url, daemon.token("cashier")) as gw:
        with pytest.raises(GatewayError) as err:
            await gw.call("alert.raise", params)
    assert err.value.code == "invalid_params"
