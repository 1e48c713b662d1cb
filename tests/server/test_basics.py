import pytest

from clients.python import GatewayError, connect


async def test_hello_info_and_health(daemon):
    async with connect(daemon.url, daemon.token("admin")) as gw:
        assert gw.welcome["protocol"] == 1
        assert gw.welcome["role"] == "admin"
        info = await gw.call("system.info")
        assert info["protocol"] == 1 and info["till"] == {"store": "S001", "till": "T01"}
        health = await gw.call("system.health")
        assert health["store"]["ok"] is True


async def test_unknown_method_and_invalid_params(daemon):
    async with connect(daemon.url, daemon.token("admin")) as gw:
        with pytest.raises(GatewayError) as err:
            await gw.call("no.such.method")
        assert err.value.code == "unknown_method"
        with pytest.raises(GatewayError) as err:
            await gw.call("subscribe", {"topics": "sale"})
        assert err.value.code == "invalid_params"
        assert err.value.details["errors"][0]["field"] == "topics"
        with pytest.raises(GatewayError) as err:
            await gw.call("sim.scan", {"data": "123"})
        assert err.value.code == "unknown_method"  # demo only
