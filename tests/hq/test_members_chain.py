"""Members across the chain (issue 15), real tills and a real head office over the link, on
both backends: a member registered at T01 is used at T02; stored value, points and coupons
are held online by head office, so two tills racing for the last of a balance or for one
coupon get one yes and one no; with head office unreachable the offline policy bounds what
is taken (refused by default; a limit per member per day; coupons allowed only if
configured, and a double spend is then named at head office); a void releases the hold; a
retried hold is held once."""

from __future__ import annotations

import uuid

import pytest
import trio

from clients.python.client import GatewayError, connect
from gatewayd.app import App
from gatewayd.hq import members as hq_members
from protocol import repl
from tests.conftest import Daemon, make_config, open_shift
from tests.hq.conftest import FAST_LINK, ITEMS, Hq, enroll_till, start_hq

PHONE = "13812345678"
CASHIER = {"operator": "1001", "pin": "1234"}
MANAGER = {"operator": "9001", "pin": "9999"}


async def start(nursery, path, till: str, **members) -> Daemon:
    app = App(make_config(path, till={"store": "S001", "till": till}, hq=FAST_LINK,
                          members={"topup_bonus": [], **members}))
    await nursery.start(app.run)
    d = Daemon(app)
    d.operator("1001", "cashier", "1234")
    d.operator("9001", "manager", "9999")
    return d


async def chain(hq: Hq, nursery, tmp_path, **members) -> tuple[Daemon, Daemon]:
    tills = []
    for name in ("T01", "T02"):
        d = await start(nursery, tmp_path / name, name, **members)
        await enroll_till(hq, d)
        async with connect(d.url, d.token("admin")) as gw:
            await gw.call("catalog.upsert", {"items": ITEMS})
        tills.append(d)
    for d in tills:
        with trio.fail_after(20):
            while not d.app.replicator.online:
                await trio.sleep(0.02)
    return tills[0], tills[1]


async def synced(hq: Hq, d: Daemon) -> None:
    """Everything the till journaled and registered so far is at head office."""
    cfg = d.app.config.till
    await hq.wait_acked(cfg.store, cfg.till, d.app.store.last_seq)
    with trio.fail_after(20):
        while d.app.store.one("SELECT 1 FROM members WHERE record_at IS NOT NULL AND"
                              " (hq_record_at IS NULL OR hq_record_at < record_at)"):
            await trio.sleep(0.02)


async def hq_available(hq: Hq, member: str, ledger: str = "balance") -> int:
    return await hq.app.store.read(lambda tx: hq_members.available(tx, member, ledger))


async def member_with_balance(hq: Hq, t1: Daemon, amount: int) -> str:
    async with connect(t1.url, t1.token("manager")) as gw:
        await gw.call("auth.login", MANAGER)
        m = await gw.call("member.register", {"phone": PHONE, "name": "王芳"})
        await gw.call("member.topup", {"code": PHONE, "amount": amount, "method": "card"})
    await synced(hq, t1)
    return m["id"]


async def err(coro) -> GatewayError:
    with pytest.raises(GatewayError) as exc:
        await coro
    return exc.value


async def test_a_member_registered_at_t01_pays_with_stored_value_at_t02(hq, tmp_path, nursery):
    t1, t2 = await chain(hq, nursery, tmp_path)
    member = await member_with_balance(hq, t1, 1000)
    assert await hq_available(hq, member) == 1000
    async with connect(t2.url, t2.token("cashier")) as gw:
        got = await gw.call("member.get", {"code": PHONE})  # unknown here: from head office
        assert got["id"] == member and got["balance"] == 1000 and got["name"] == "王芳"
        await gw.call("auth.login", CASHIER)
        await open_shift(gw)
        await gw.call("sale.add", {"sku": "1001"})
        await gw.call("sale.member", {"code": PHONE})
        sale = await gw.call("sale.tender", {"method": "stored_value", "amount": 350})
        assert sale["state"] == "completed"
        auth = sale["authorization"]
        assert auth["mode"] == "hq" and auth["ledger"] == "balance" and auth["amount"] == 350
        assert sale["tenders"] == [{"method": "stored_value", "amount": 350,
                                    "ref": f"hq:{auth['id']}"}]
        health = await gw.call("system.health")
        assert health["member_tenders"]["mode"] == "hq"
    assert await hq_available(hq, member) == 650  # the hold counts before the entry arrives
    await synced(hq, t2)
    assert await hq_available(hq, member) == 650  # and the entry settles it: counted once
    hold = await hq.app.store.read(lambda tx: tx.one(
        "SELECT state FROM member_holds WHERE id=?", (auth["id"],)))
    assert hold == {"state": "debited"}
    # back at T01, the member's figure is the chain's once the member is at a sale
    async with connect(t1.url, t1.token("cashier")) as gw:
        await gw.call("auth.login", CASHIER)
        await open_shift(gw)
        await gw.call("sale.add", {"sku": "1002"})
        sale = await gw.call("sale.member", {"code": PHONE})
        assert sale["member_info"]["balance"] == 650
    # and head office answers hq.member.get with the registry, the figures and the ledger
    async with connect(hq.url, hq.token("viewer")) as gw:
        view = await gw.call("hq.member.get", {"code": PHONE})
        assert view["member"]["id"] == member and view["balance"] == 650
        assert view["member"]["store"] == "S001"
        entries = (await gw.call("hq.member.ledger", {"code": PHONE}))["entries"]
        assert sorted(e["delta"] for e in entries if e["what"] == "balance") == [-350, 1000]


async def test_two_tills_race_for_the_last_of_the_balance(hq, tmp_path, nursery):
    t1, t2 = await chain(hq, nursery, tmp_path)
    member = await member_with_balance(hq, t1, 500)
    outcomes: list[str] = []

    async def pay(d: Daemon) -> None:
        async with connect(d.url, d.token("cashier")) as gw:
            await gw.call("auth.login", CASHIER)
            await open_shift(gw)
            await gw.call("sale.add", {"sku": "1001"})
            await gw.call("sale.member", {"code": PHONE})
            try:
                sale = await gw.call("sale.tender", {"method": "stored_value", "amount": 350})
                outcomes.append(sale["state"])
            except GatewayError as exc:
                assert exc.code == "payment_declined" and "not enough" in exc.message
                outcomes.append("declined")

    async with trio.open_nursery() as race:
        race.start_soon(pay, t1)
        race.start_soon(pay, t2)
    assert sorted(outcomes) == ["completed", "declined"]
    await synced(hq, t1)
    await synced(hq, t2)
    assert await hq_available(hq, member) == 150  # 500 - 350, never below zero


async def test_a_void_releases_the_hold(hq, tmp_path, nursery):
    t1, t2 = await chain(hq, nursery, tmp_path)
    member = await member_with_balance(hq, t1, 1000)
    async with connect(t2.url, t2.token("cashier")) as gw:
        await gw.call("auth.login", CASHIER)
        await open_shift(gw)
        await gw.call("sale.add", {"sku": "1001"})
        await gw.call("sale.add", {"sku": "1001"})
        await gw.call("sale.member", {"code": PHONE})
        sale = await gw.call("sale.tender", {"method": "stored_value", "amount": 300})
        assert sale["state"] == "tendering"
        hold_id = sale["authorization"]["id"]
        assert await hq_available(hq, member) == 700
        # the till's figure is the chain's, whether or not its tender reached head office
        assert (await gw.call("member.get", {"code": PHONE}))["balance"] == 700
        async with connect(t1.url, t1.token("manager")) as gw1:
            await gw1.call("auth.login", MANAGER)
            await gw1.call("member.topup", {"code": PHONE, "amount": 500, "method": "card"})
            # at once: head office may not hold the top-up yet; T01 adds its own entries
            assert (await gw1.call("member.get", {"code": PHONE}))["balance"] == 1200
        await gw.call("sale.void", {"reason": "customer left", "approve": MANAGER})
        assert (await gw.call("member.get", {"code": PHONE}))["balance"] in (1000, 1500)
    await synced(hq, t1)
    await synced(hq, t2)
    assert await hq_available(hq, member) == 1500
    row = await hq.app.store.read(lambda tx: tx.one(
        "SELECT state FROM member_holds WHERE id=?", (hold_id,)))
    assert row == {"state": "released"}


async def test_a_retried_hold_is_held_once(hq, tmp_path, nursery):
    t1, _t2 = await chain(hq, nursery, tmp_path)
    member = await member_with_balance(hq, t1, 1000)
    rep = t1.app.replicator
    frame = repl.Hold(id=str(uuid.uuid4()), member=member, ledger="balance", amount=400,
                      sale_id=str(uuid.uuid4()))
    first = await rep.request(frame)
    again = await rep.request(frame)  # the reply was lost, the till asks again: same id
    assert first.ok and again.ok and again.result is not None
    assert again.result["repeated"] is True and again.result["amount"] == 400
    assert await hq_available(hq, member) == 600
    other = await rep.request(frame.model_copy(update={"amount": 300}))
    assert not other.ok and other.code == "conflict"  # the key reused for another tender
    released = await rep.request(repl.Release(id=frame.id))
    assert released.ok and released.result == {"id": frame.id, "state": "released"}
    assert (await rep.request(repl.Release(id=frame.id))).result == {
        "id": frame.id, "state": "released"}
    assert await hq_available(hq, member) == 1000


async def test_one_coupon_at_two_tills_is_spent_once(hq, tmp_path, nursery):
    t1, t2 = await chain(hq, nursery, tmp_path)
    for d in (t1, t2):  # a chain-wide campaign: the same printed code loaded at both tills
        async with connect(d.url, d.token("manager")) as gw:
            await gw.call("auth.login", MANAGER)
            await gw.call("coupon.issue", {"amount": 100, "codes": ["SPRING2026"]})
    outcomes: list[str] = []

    async def spend(d: Daemon) -> None:
        async with connect(d.url, d.token("cashier")) as gw:
            await gw.call("auth.login", CASHIER)
            await open_shift(gw)
            await gw.call("sale.add", {"sku": "1001"})
            try:
                sale = await gw.call("sale.coupon", {"code": "SPRING2026"})
                assert sale["authorization"]["mode"] == "hq"
                outcomes.append("spent")
            except GatewayError as exc:
                assert exc.code == "conflict" and "already used" in exc.message
                outcomes.append("refused")

    async with trio.open_nursery() as race:
        race.start_soon(spend, t1)
        race.start_soon(spend, t2)
    assert sorted(outcomes) == ["refused", "spent"]
    uses = await hq.app.store.read(lambda tx: tx.all("SELECT code FROM coupon_uses"))
    assert uses == [{"code": "SPRING2026"}]


async def test_with_head_office_unreachable_the_offline_limit_bounds_the_loss(
        tmp_path, hq_dsn, nursery):
    with trio.CancelScope() as hq_scope:
        async with trio.open_nursery() as inner:
            hq = await start_hq(inner, tmp_path / "hq", hq_dsn)
            t1, t2 = await chain(hq, nursery, tmp_path, offline_stored_value=300)
            member = await member_with_balance(hq, t1, 500)
            async with connect(t2.url, t2.token("cashier")) as gw:
                assert (await gw.call("member.get", {"code": PHONE}))["balance"] == 500
            hq_scope.cancel()  # head office goes away
    hq.app.close()
    for d in (t1, t2):
        with trio.fail_after(10):
            while d.app.replicator.online:
                await trio.sleep(0.02)
    taken = 0
    for d in (t1, t2):
        async with connect(d.url, d.token("cashier")) as gw:
            health = await gw.call("system.health")
            assert health["member_tenders"]["mode"] == "offline"
            assert health["member_tenders"]["offline_stored_value"] == 300
            await gw.call("auth.login", CASHIER)
            await open_shift(gw)
            await gw.call("sale.add", {"sku": "1001"})
            await gw.call("sale.member", {"code": PHONE})
            sale = await gw.call("sale.tender", {"method": "stored_value", "amount": 300})
            assert sale["authorization"]["mode"] == "offline"
            assert sale["authorization"]["policy"] == 300
            taken += 300
            e = await err(gw.call("sale.tender", {"method": "stored_value", "amount": 50}))
            assert e.code == "payment_declined" and "offline limit" in e.message
            assert e.details["offline"] is True and e.details["taken"] == 300
    assert taken <= 500 + 300  # never more than the balance plus the offline limit
    assert t1.app.members.by_id(member)["balance"] == 200


async def test_offline_refuse_is_the_default(tmp_path, hq_dsn, nursery):
    with trio.CancelScope() as hq_scope:
        async with trio.open_nursery() as inner:
            hq = await start_hq(inner, tmp_path / "hq", hq_dsn)
            t1, _ = await chain(hq, nursery, tmp_path)
            await member_with_balance(hq, t1, 500)
            hq_scope.cancel()
    hq.app.close()
    with trio.fail_after(10):
        while t1.app.replicator.online:
            await trio.sleep(0.02)
    async with connect(t1.url, t1.token("cashier")) as gw:
        await gw.call("auth.login", CASHIER)
        await open_shift(gw)
        await gw.call("sale.add", {"sku": "1001"})
        await gw.call("sale.member", {"code": PHONE})  # known here: works offline
        before = t1.app.store.last_seq
        e = await err(gw.call("sale.tender", {"method": "stored_value", "amount": 100}))
        assert e.code == "payment_declined" and "refused offline" in e.message
        assert e.details["policy"] == "refuse"
        assert t1.app.store.last_seq == before  # nothing journaled
        e = await err(gw.call("member.get", {"code": "13900000000"}))
        assert e.code == "not_found" and "head office cannot be asked" in e.message


async def test_one_coupon_at_two_tills_with_head_office_unreachable(tmp_path, hq_dsn, nursery):
    """Offline, the coupon policy decides: refused by default; with "allow" both tills take
    it, and head office names the double spend when the tills catch up."""
    with trio.CancelScope() as hq_scope:
        async with trio.open_nursery() as inner:
            hq = await start_hq(inner, tmp_path / "hq", hq_dsn)
            port = hq.app.port
            t1, t2 = await chain(hq, nursery, tmp_path, offline_coupons="allow")
            for d in (t1, t2):
                async with connect(d.url, d.token("manager")) as gw:
                    await gw.call("auth.login", MANAGER)
                    await gw.call("coupon.issue", {"amount": 100, "codes": ["SPRING2026"]})
            hq_scope.cancel()
    hq.app.close()
    for d in (t1, t2):
        with trio.fail_after(10):
            while d.app.replicator.online:
                await trio.sleep(0.02)
        async with connect(d.url, d.token("cashier")) as gw:
            await gw.call("auth.login", CASHIER)
            await open_shift(gw)
            await gw.call("sale.add", {"sku": "1001"})
            sale = await gw.call("sale.coupon", {"code": "SPRING2026"})
            assert sale["authorization"]["mode"] == "offline"
            assert sale["authorization"]["policy"] == "allow"
            await gw.call("sale.tender", {"method": "cash", "amount": 1000})
    # head office back on the same port and data: both redemptions arrive, one is flagged
    from gatewayd.hq.service import HqApp

    app = HqApp(tmp_path / "hq", hq_dsn, listen=f"127.0.0.1:{port}")
    await nursery.start(app.run)
    hq.app = app
    async with connect(hq.url, hq.token("viewer")) as client:
        await client.subscribe(["hq.alert"], since=0)  # from this process's first event
        await synced(hq, t1)
        await synced(hq, t2)
        alerts = await app.store.read(lambda tx: tx.all(
            "SELECT till, message FROM alerts WHERE kind='coupon_spent_twice'"))
        assert len(alerts) == 1 and "SPRING2026" in alerts[0]["message"]
        while True:  # published on hq.alert like every other head-office alert
            ev = await client.next_event("hq.alert", timeout=10)
            if ev["data"]["kind"] == "coupon_spent_twice":
                break
        assert ev["data"]["message"] == alerts[0]["message"]
        assert ev["data"]["till"] == alerts[0]["till"]
    app.close()


async def test_offline_coupons_are_refused_by_default(tmp_path, hq_dsn, nursery):
    with trio.CancelScope() as hq_scope:
        async with trio.open_nursery() as inner:
            hq = await start_hq(inner, tmp_path / "hq", hq_dsn)
            t1, _ = await chain(hq, nursery, tmp_path)
            async with connect(t1.url, t1.token("manager")) as gw:
                await gw.call("auth.login", MANAGER)
                await gw.call("coupon.issue", {"amount": 100, "codes": ["SPRING2026"]})
            hq_scope.cancel()
    hq.app.close()
    with trio.fail_after(10):
        while t1.app.replicator.online:
            await trio.sleep(0.02)
    async with connect(t1.url, t1.token("cashier")) as gw:
        await gw.call("auth.login", CASHIER)
        await open_shift(gw)
        await gw.call("sale.add", {"sku": "1001"})
        e = await err(gw.call("sale.coupon", {"code": "SPRING2026"}))
        assert e.code == "payment_declined" and e.details["policy"] == "refuse"
        assert (await gw.call("coupon.get", {"code": "SPRING2026"}))["used"] is False


async def test_points_are_held_online_like_stored_value(hq, tmp_path, nursery):
    t1, t2 = await chain(hq, nursery, tmp_path, point_value=10)
    async with connect(t1.url, t1.token("manager")) as gw:
        await gw.call("auth.login", MANAGER)
        await open_shift(gw)
        await gw.call("member.register", {"phone": PHONE, "name": "王芳"})
        await gw.call("sale.member", {"code": PHONE})
        for _ in range(30):
            await gw.call("sale.add", {"sku": "1001"})  # ¥105: 105 points
        assert (await gw.call("sale.tender", {"method": "cash"}))["state"] == "completed"
    await synced(hq, t1)
    member = t1.app.members.find(PHONE)["id"]
    assert await hq_available(hq, member, "points") == 105
    async with connect(t2.url, t2.token("cashier")) as gw:
        await gw.call("auth.login", CASHIER)
        await open_shift(gw)
        await gw.call("sale.add", {"sku": "1001"})
        await gw.call("sale.member", {"code": PHONE})
        sale = await gw.call("sale.tender", {"method": "points", "amount": 350})  # 35 points
        assert sale["state"] == "completed"
        assert sale["authorization"] == {"id": sale["authorization"]["id"], "ledger": "points",
                                         "amount": 35, "mode": "hq"}
    assert await hq_available(hq, member, "points") == 70
    async with connect(t1.url, t1.token("cashier")) as gw:
        await gw.call("auth.login", CASHIER)
        await open_shift(gw)
        for _ in range(30):
            await gw.call("sale.add", {"sku": "1001"})
        await gw.call("sale.member", {"code": PHONE})
        e = await err(gw.call("sale.tender", {"method": "points", "amount": 800}))  # 80 > 70
        assert e.code == "payment_declined" and e.details["available"] == 70


async def test_a_member_reaches_every_till_with_master_data_and_works_offline(
        tmp_path, hq_dsn, nursery):
    with trio.CancelScope() as hq_scope:
        async with trio.open_nursery() as inner:
            hq = await start_hq(inner, tmp_path / "hq", hq_dsn)
            t1, t2 = await chain(hq, nursery, tmp_path)
            member = await member_with_balance(hq, t1, 1000)
            # the record is a master change: T02 has the member without asking for it
            with trio.fail_after(20):
                while t2.app.members.get(member) is None:
                    await trio.sleep(0.02)
            version = await hq.app.store.read(lambda tx: tx.one(
                "SELECT version FROM master_changes WHERE kind='member' AND key=?", (member,)))
            assert version is not None and t2.app.master.version() >= version["version"]
            hq_scope.cancel()  # and then head office goes away
    hq.app.close()
    with trio.fail_after(10):
        while t2.app.replicator.online:
            await trio.sleep(0.02)
    async with connect(t2.url, t2.token("cashier")) as gw:
        assert (await gw.call("member.get", {"code": PHONE}))["id"] == member
        await gw.call("auth.login", CASHIER)
        await open_shift(gw)
        await gw.call("sale.add", {"sku": "1001"})
        sale = await gw.call("sale.member", {"code": PHONE})
        assert sale["member"] == member
        sale = await gw.call("sale.tender", {"method": "cash", "amount": 1000})
        assert sale["state"] == "completed" and sale["member_info"]["points"] == 3


async def test_the_last_of_a_balance_raced_through_two_head_office_processes(
        tmp_path, hq_dsn, nursery):
    """Two head-office processes on one database (a load balancer sent T01 to one and T02
    to the other): the member's ledger lock is the database's, so still one yes, one no."""
    a = await start_hq(nursery, tmp_path / "hq", hq_dsn)
    b = await start_hq(nursery, tmp_path / "hq", hq_dsn)
    tills = []
    for name, hq in (("T01", a), ("T02", b)):
        d = await start(nursery, tmp_path / name, name)
        await enroll_till(hq, d)
        tills.append(d)
    for d in tills:
        with trio.fail_after(20):
            while not d.app.replicator.online:
                await trio.sleep(0.02)
    t1, t2 = tills
    async with connect(t1.url, t1.token("admin")) as gw:
        await gw.call("catalog.upsert", {"items": ITEMS})
    async with connect(t2.url, t2.token("admin")) as gw:
        await gw.call("catalog.upsert", {"items": ITEMS})
    member = await member_with_balance(a, t1, 500)
    outcomes: list[str] = []

    async def pay(d: Daemon) -> None:
        async with connect(d.url, d.token("cashier")) as gw:
            await gw.call("auth.login", CASHIER)
            await open_shift(gw)
            await gw.call("sale.add", {"sku": "1001"})
            await gw.call("sale.member", {"code": PHONE})
            try:
                await gw.call("sale.tender", {"method": "stored_value", "amount": 350})
                outcomes.append("paid")
            except GatewayError as exc:
                assert exc.code == "payment_declined"
                outcomes.append("declined")

    async with trio.open_nursery() as race:
        race.start_soon(pay, t1)
        race.start_soon(pay, t2)
    assert sorted(outcomes) == ["declined", "paid"]
    await synced(a, t1)
    await synced(b, t2)
    assert await hq_available(a, member) == 150
    a.app.close()
    b.app.close()
