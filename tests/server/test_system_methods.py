"""system.methods: what the daemon serves and the roles it takes, so clients need neither
probe calls nor a copy of the role ranks."""

from clients.python.client import connect
from protocol.methods import SPECS
from protocol.roles import ROLES


async def test_lists_served_methods_with_site_roles(daemon):
    daemon.app.config.auth.require["drawer.open"] = "supervisor"
    async with connect(daemon.url, daemon.token("viewer")) as gw:
        answer = await gw.call("system.methods")
    assert answer["roles"] == list(ROLES)
    served = {m["name"]: m for m in answer["methods"]}
    assert served["drawer.open"]["role"] == "supervisor"  # raised at this site
    assert served["sale.add"] == {"name": "sale.add", "role": "cashier", "needs_operator": True}
    assert served["system.methods"]["role"] == "viewer"
    assert not any(name.startswith("sim.") for name in served)  # demo only
    assert set(served) == {n for n, s in SPECS.items() if not s.demo_only} & set(
        daemon.app.registry.handlers)


async def test_the_demo_lists_its_simulator_methods(demo):
    async with connect(demo.url, demo.admin) as gw:
        names = {m["name"] for m in (await gw.call("system.methods"))["methods"]}
    assert {"sim.scan", "sim.weigh", "sim.receipts"} <= names
