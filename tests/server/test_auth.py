import pytest
import trio

from clients.python import GatewayError, connect
from gatewayd import auth


def kinds(daemon, after=0):
    return [e.kind for e in daemon.app.store.journal(after=after)]


async def test_login_logout_and_journal(daemon):
    daemon.operator("1001", "cashier", "1234", "Li Na")
    token = daemon.token("manager")
    start = daemon.app.store.journal_seq()
    async with connect(daemon.url, token) as gw:
        me = await gw.call("auth.login", operator="1001", pin="1234")
        assert me == {
            "operator": "1001",
            "name": "Li Na",
            "role": "cashier",
            "effective_role": "cashier",
        }
        assert (await gw.call("system.info"))["operator"] == "1001"
        await gw.call("auth.logout")
    assert kinds(daemon, start) == ["auth.login", "auth.logout"]


async def test_five_wrong_pins_lock_the_operator(daemon):
    daemon.operator("1001", "cashier", "1234")
    token = daemon.token("cashier")
    start = daemon.app.store.journal_seq()
    async with connect(daemon.url, token) as gw:
        for _ in range(5):
            with pytest.raises(GatewayError) as err:
                await gw.call("auth.login", operator="1001", pin="0000")
            assert err.value.code == "unauthenticated"
        with pytest.raises(GatewayError) as err:  # even the right PIN now
            await gw.call("auth.login", operator="1001", pin="1234")
        assert err.value.code == "forbidden" and 0 < err.value.details["locked_s"] <= 300
    assert kinds(daemon, start) == ["auth.login.failed"] * 5 + ["auth.locked", "auth.login.failed"]
    # five minutes later the lock is gone
    daemon.app.auth.clock = lambda: auth.now_s() + 301
    async with connect(daemon.url, daemon.token("cashier")) as gw:
        assert (await gw.call("auth.login", operator="1001", pin="1234"))["operator"] == "1001"


async def test_approval_by_a_higher_role(daemon):
    daemon.operator("1001", "cashier", "1234")
    daemon.operator("9001", "manager", "9999")
    daemon.operator("2001", "supervisor", "5555")
    daemon.app.config.auth.require["drawer.status"] = "manager"
    token = daemon.token("manager")
    start = daemon.app.store.journal_seq()
    async with connect(daemon.url, token) as gw:
        await gw.call("auth.login", operator="1001", pin="1234")
        with pytest.raises(GatewayError) as err:
            await gw.call("drawer.status")
        assert err.value.code == "approval_required"
        assert err.value.details == {"action": "drawer.status", "role": "manager"}
        with pytest.raises(GatewayError) as err:  # a supervisor is not enough
            await gw.call("drawer.status", approve={"operator": "2001", "pin": "5555"})
        assert err.value.code == "forbidden"
        with pytest.raises(GatewayError) as err:  # wrong PIN
            await gw.call("drawer.status", approve={"operator": "9001", "pin": "1111"})
        assert err.value.code == "unauthenticated"
        with pytest.raises(GatewayError) as err:  # approved, then: no drawer configured
            await gw.call("drawer.status", approve={"operator": "9001", "pin": "9999"})
        assert err.value.code == "not_found"
    assert kinds(daemon, start) == [
        "auth.login",
        "auth.denied",
        "auth.denied",
        "auth.approval.failed",
        "auth.approved",
    ]


async def test_viewer_token_is_forbidden_not_offered_approval(daemon):
    async with connect(daemon.url, daemon.token("viewer")) as gw:
        with pytest.raises(GatewayError) as err:
            await gw.call("scale.read")
        assert err.value.code == "forbidden"


async def test_pairing_flow_token_returned_once(daemon):
    async with connect(daemon.url, "", name="tablet 2", kind="checkout") as gw:
        assert gw.welcome["role"] == "unpaired"
        with pytest.raises(GatewayError) as err:
            await gw.call("system.info")
        assert err.value.code == "unauthenticated"
        req = await gw.call("pair.request")
        assert len(req["code"]) == 6
        assert (await gw.call("pair.status", request_id=req["request_id"]))["status"] == "pending"
        daemon.app.store.write_sync(lambda tx: auth.pair_decide(tx, req["code"], "cashier"))
        got = await gw.call("pair.status", request_id=req["request_id"])
        assert got["status"] == "approved" and got["role"] == "cashier"
        again = await gw.call("pair.status", request_id=req["request_id"])
        assert again == {"status": "collected", "code": req["code"]}
        with pytest.raises(GatewayError) as err:
            await gw.call("pair.status", request_id="0" * 32)
        assert err.value.code == "not_found"
    async with connect(daemon.url, got["token"]) as gw:
        assert gw.welcome["role"] == "cashier"


async def test_token_secret_is_not_stored(daemon):
    token = daemon.token("admin", name="secret-check")
    dump = "\n".join(daemon.app.store._r.iterdump())
    assert token not in dump and "secret-check" in dump


async def test_operator_pin_rules(daemon):
    with pytest.raises(ValueError):
        daemon.operator("1", "cashier", "12")
    daemon.operator("1002", "cashier", "123456")
    with pytest.raises(ValueError):
        daemon.operator("1002", "cashier", "123456")
    row = daemon.app.store.one("SELECT pin_hash, pin_salt FROM operators WHERE id='1002'")
    assert row["pin_hash"] != b"123456" and len(row["pin_salt"]) == 16


async def test_scrypt_runs_off_the_event_loop(daemon):
    """Logins are slow on purpose; other clients' calls still answer meanwhile."""
    daemon.operator("1001", "cashier", "1234")
    token = daemon.token()
    async with connect(daemon.url, token) as a, connect(daemon.url, token) as b:
        async with trio.open_nursery() as n:
            for _ in range(4):
                n.start_soon(a.call, "auth.login", {"operator": "1001", "pin": "1234"})
            for _ in range(10):
                await b.call("system.info")
