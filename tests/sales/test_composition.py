"""The sale service built the way head office or a tool builds it: a store, a config section,
a publish callback and the ports it needs; no daemon, no socket. And what its composition
refuses at start-up (gatewayd/sales/parts.py)."""

from __future__ import annotations

import pytest

from gatewayd.inventory.config import InventoryConfig
from gatewayd.inventory.service import InventoryService
from gatewayd.members.checkout import MemberParticipant
from gatewayd.members.service import MemberService
from gatewayd.sales import catalog
from gatewayd.sales.config import SaleConfig
from gatewayd.sales.parts import SaleParts, SalePartsError, SalePolicy
from gatewayd.sales.payments import SimulatedProvider
from gatewayd.sales.service import SaleService
from gatewayd.store.db import Store
from gatewayd.till import TillConfig
from protocol.errors import ProtocolError

ITEMS = [{"sku": "A", "name": "可乐", "price": 350, "cost": 200},
         {"sku": "B", "name": "大米", "price": 4990}]


@pytest.fixture
def store(tmp_path):
    store = Store(tmp_path / "till.db")
    store.write_sync(lambda tx: catalog.upsert(tx, ITEMS))
    yield store
    store.close()


def sale_service(store: Store, parts: SaleParts, events: list) -> SaleService:
    return SaleService(store, SaleConfig(), TillConfig(), catalog=catalog.Catalog(store),
                       provider=SimulatedProvider(), parts=parts,
                       publish=lambda topic, data: events.append((topic, data)))


async def test_a_sale_with_no_daemon_and_no_participants(store):
    events: list = []
    sales = sale_service(store, SaleParts.standalone("Asia/Shanghai"), events)
    await sales.add("1001", sku="A", qty=2000)
    done = await sales.tender("1001", "cash", 1000)
    assert done["state"] == "completed" and done["total"] == 700 and done["change"] == 300
    assert done["receipt_no"].startswith("S001-T01-")
    assert [t for t, _ in events] == ["sale.updated"] * 2
    assert events[-1][1]["receipt_no"] == done["receipt_no"]
    # no printer among the (absent) devices: no receipt job
    assert store.one("SELECT COUNT(*) FROM print_jobs")[0] == 0


async def test_participants_take_part_in_the_sales_transaction(store):
    events: list = []
    inventory = InventoryService(store, "S001", "T01", InventoryConfig(allow_negative=False),
                                 publish=lambda topic, data: events.append((topic, data)))
    members = MemberParticipant(MemberService(store))
    policy = SalePolicy.standalone("Asia/Shanghai")
    parts = SaleParts(participants=(members, inventory),
                      policy=SalePolicy(business_day=policy.business_day,
                                        open_guard=policy.open_guard,
                                        pay_guard=policy.pay_guard,
                                        shift_of=policy.shift_of,
                                        qty_guard=inventory.check_available,
                                        member_pricing=members.pricing),
                      tenders={"stored_value": members, "points": members},
                      required=("members", "inventory"))
    sales = sale_service(store, parts, events)
    goods = [{"sku": "A", "qty": 3000, "cost": 200}, {"sku": "B", "qty": 1000, "cost": 4000}]
    await inventory.write(lambda tx: inventory.receive(tx, goods))
    with pytest.raises(ProtocolError, match="not enough stock"):  # the policy's stock guard
        await sales.add("1001", sku="A", qty=4000)
    await sales.add("1001", sku="A", qty=3000)
    await sales.tender("1001", "cash", None)
    assert inventory.stock_row("A")["on_hand"] == 0  # moved out in the completing transaction
    await sales.add("1001", sku="B")
    with pytest.raises(ProtocolError) as refused:  # the members' tender provider decides
        await sales.tender("1001", "points", None)
    assert refused.value.code == "conflict" and "member" in refused.value.message


class OnlyComplete:
    name = "loyalty"

    def on_complete(self, tx, wire) -> None:
        pass


def test_the_composition_is_checked_at_start_up():
    policy = SalePolicy.standalone("Asia/Shanghai")
    with pytest.raises(SalePartsError, match="no members participant"):
        SaleParts(participants=(), policy=policy, tenders={}, required=("members",))
    with pytest.raises(SalePartsError, match="on_refund"):
        SaleParts(participants=(OnlyComplete(),), policy=policy, tenders={})
    members = MemberParticipant.__new__(MemberParticipant)
    with pytest.raises(SalePartsError, match="listed twice"):
        SaleParts(participants=(members, members), policy=policy, tenders={})
    with pytest.raises(SalePartsError, match="'cash' is the sale's own"):
        SaleParts(participants=(), policy=policy, tenders={"cash": members})
    with pytest.raises(TypeError):  # the policy has no defaults: every decision is given
        SalePolicy(business_day=policy.business_day)  # type: ignore[call-arg]
