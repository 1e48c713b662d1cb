"""Tax rates, payment settings and central till config from head office (issue 15 item 1), on
both backends: checked whole at HQ by the till's own config rules before they get a version,
applied at the till in the master version's transaction, used by the till's sale from then on
(HQ wins over the till's config file for what it sent), held until `effective_at`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from clients.python.client import GatewayError, connect
from gatewayd.hq import master
from tests.conftest import open_shift
from tests.hq.conftest import enroll_till, start_till
from tests.hq.test_master import journal_kinds, wait_for

FOOD = [{"sku": "3001", "name": "大米 5kg", "price": 3990, "tax_rate_bp": 1300,
         "category": "食品"},
        {"sku": "3002", "name": "洗衣液", "price": 199, "tax_rate_bp": 1300,
         "category": "日化"}]


async def linked_till(hq, tmp_path, nursery, **hq_cfg):
    d = await start_till(nursery, tmp_path / "till", **hq_cfg)
    await enroll_till(hq, d)
    await wait_for(lambda: d.app.replicator.state == "online")
    return d


async def test_a_category_tax_rate_from_hq_is_what_the_till_sells_at(hq, tmp_path, nursery):
    d = await linked_till(hq, tmp_path, nursery)
    async with connect(d.url, d.token("admin")) as gw, \
            connect(hq.url, hq.token("manager")) as client:
        await gw.call("catalog.upsert", {"items": FOOD})  # the till's own items
        got = await client.call("hq.tax.upsert", {"rates": [
            {"category": "食品", "rate_bp": 900, "name": "农产品 9%"}]})
        assert got == {"version": 1, "count": 1, "effective_at": None}
        await wait_for(lambda: d.app.master.version() == 1)
        assert journal_kinds(d, "master.applied")[-1]["kinds"] == {"tax": 1}
        item = (await gw.call("catalog.lookup", {"sku": "3001"}))["item"]
        assert item["tax_rate_bp"] == 900  # the category's, not the item's own 1300
        assert (await gw.call("catalog.lookup", {"sku": "3002"}))["item"]["tax_rate_bp"] == 1300
        await gw.call("auth.login", {"operator": "1001", "pin": "1234"})
        await open_shift(gw)
        await gw.call("sale.add", {"sku": "3001"})
        sale = await gw.call("sale.add", {"sku": "3002"})
        assert {ln["sku"]: ln["tax_rate_bp"] for ln in sale["lines"]} == {"3001": 900,
                                                                        "3002": 1300}
        assert {t["rate_bp"] for t in sale["tax"]} == {900, 1300}
        nine = next(t for t in sale["tax"] if t["rate_bp"] == 900)
        assert nine["tax"] == 329  # ¥39.90 inclusive of 9 %
        await gw.call("sale.tender", {"method": "cash", "amount": 5000})
        # a return without a receipt is at the category's rate too
        ref = await gw.call("sale.refund", {"no_receipt": True, "approve": {
            "operator": "9001", "pin": "9999"}, "lines": [{"sku": "3001", "qty": 1000}]})
        assert [ln["tax_rate_bp"] for ln in ref["lines"]] == [900]
        health = await gw.call("system.health")
        assert health["replication"]["master"]["central"] == {"settings": [],
                                                              "tax_categories": ["食品"]}
        assert (await client.call("hq.tax.list"))["rates"] == [{
            "category": "食品", "rate_bp": 900, "name": "农产品 9%", "active": True,
            "version": 1, "effective_at": None}]
        # withdrawn: the items' own rates again (the scan cache let go of the old one)
        await client.call("hq.tax.upsert", {"rates": [
            {"category": "食品", "rate_bp": 900, "active": False}]})
        await wait_for(lambda: d.app.master.version() == 2)
        assert d.app.catalog.get("3001").tax_rate_bp == 1300
        assert (await gw.call("sale.add", {"sku": "3001"}))["lines"][0]["tax_rate_bp"] == 1300


async def test_bad_tax_rates_or_settings_are_refused_whole_before_they_are_versioned(hq):
    async with connect(hq.url, hq.token("admin")) as client:
        with pytest.raises(GatewayError) as err:
            await client.call("hq.tax.upsert", {"rates": [
                {"category": "食品", "rate_bp": 900}, {"category": "烟草", "rate_bp": 20000},
                {"category": "食品", "rate_bp": 1300}]})
        assert err.value.code == "invalid_params"
        assert [(e["row"], e["field"]) for e in err.value.details["errors"]] == [
            (1, "rate_bp"), (2, "category")]
        with pytest.raises(GatewayError) as err:
            await client.call("hq.payment.set", {"settings": {
                "cash_rounding": "drop_jiao", "tenders": ["cash", "bitcoin"],
                "offline_coupons": 5, "tip": 1}})
        errors = err.value.details["errors"]
        assert [e["id"] for e in errors] == ["tenders", "offline_coupons", "tip"]
        assert "not a central payment setting" in errors[2]["error"]
        with pytest.raises(GatewayError) as err:
            await client.call("hq.config.set", {"settings": {
                "receipt_header": "not a list", "max_cashier_discount_percent": 101}})
        assert err.value.details["error_count"] == 2
        assert hq.app.store.read_sync(master.head) == 0  # nothing versioned
        for kind in ("tax", "payment", "config"):
            assert hq.app.store.read_sync(lambda tx, k=kind: master.current(tx, k)) == []
        # a manager edits tax and till config; payment settings are the admin's
        async with connect(hq.url, hq.token("manager")) as mgr:
            with pytest.raises(GatewayError) as err:
                await mgr.call("hq.payment.set", {"settings": {"cash_rounding": "none"}})
            assert err.value.code in ("forbidden", "approval_required")


async def test_payment_settings_from_hq_refuse_a_disabled_tender_and_round_cash(
        hq, tmp_path, nursery):
    d = await linked_till(hq, tmp_path, nursery)
    async with connect(d.url, d.token("admin")) as gw, \
            connect(hq.url, hq.token("admin")) as client:
        await gw.call("catalog.upsert", {"items": FOOD})
        await client.call("hq.payment.set", {"settings": {
            "tenders": ["cash", "wechat"], "cash_rounding": "drop_jiao",
            "offline_stored_value": 5000}})
        # laid over the till's config once the version's transaction has committed
        await wait_for(lambda: d.app.sales.cfg.tenders == ["cash", "wechat"])
        assert d.app.master.version() == 1
        assert d.app.config.sale.tenders is None  # the file's config is left as it was
        # what the checkout reads to show only these tenders' buttons
        assert await gw.call("sale.tenders") == {"tenders": ["cash", "wechat"], "source": "hq"}
        await gw.call("auth.login", {"operator": "1001", "pin": "1234"})
        await open_shift(gw)
        sale = await gw.call("sale.add", {"sku": "3002"})  # ¥1.99
        with pytest.raises(GatewayError) as err:
            await gw.call("sale.tender", {"method": "card"})
        assert err.value.code == "invalid_params"
        assert err.value.details["tenders"] == ["cash", "wechat"]
        paid = await gw.call("sale.tender", {"method": "cash", "amount": 500})
        # 抹零 drop_jiao: ¥1.99 is paid as ¥1
        assert (paid["state"], paid["rounding"], paid["change"]) == ("completed", 99, 400)
        health = await gw.call("system.health")
        assert health["member_tenders"]["offline_stored_value"] == 5000
        assert health["replication"]["master"]["central"]["settings"] == [
            "payment.cash_rounding", "payment.offline_stored_value", "payment.tenders"]
        assert [s["key"] for s in (await client.call("hq.payment.get"))["settings"]] == [
            "cash_rounding", "offline_stored_value", "tenders"]
        # given back: the till's own config again (every tender, no rounding)
        await client.call("hq.payment.set", {"settings": {"tenders": None,
                                                          "cash_rounding": None}})
        await wait_for(lambda: (d.app.sales.cfg.tenders, d.app.sales.cfg.cash_rounding)
                       == (None, "none"))
        assert d.app.master.version() == 2
        assert (await gw.call("sale.tenders"))["tenders"] == [
            "cash", "card", "mobile", "alipay", "wechat", "stored_value", "voucher", "points"]
        await gw.call("sale.add", {"sku": "3002"})
        paid = await gw.call("sale.tender", {"method": "card"})
        assert (paid["state"], paid["rounding"]) == ("completed", 0)
        assert [s["key"] for s in (await client.call("hq.payment.get"))["settings"]] == [
            "offline_stored_value"]
    assert sale["lines"][0]["sku"] == "3002"


async def test_central_config_from_hq_prints_its_header_and_a_scheduled_one_goes_in_on_time(
        hq, tmp_path, nursery):
    d = await linked_till(hq, tmp_path, nursery)
    async with connect(d.url, d.token("admin")) as gw, \
            connect(hq.url, hq.token("manager")) as client:
        await gw.call("catalog.upsert", {"items": FOOD})
        await client.call("hq.config.set", {"settings": {
            "receipt_header": ["示例连锁 欢迎光临"], "require_shift": False}})
        at = datetime.now(UTC) + timedelta(seconds=2)
        await client.call("hq.config.set", {"settings": {"receipt_footer": ["周末见"]},
                                            "effective_at": at})
        await wait_for(lambda: d.app.master.version() == 2)
        assert d.app.master.held() == 1
        await gw.call("auth.login", {"operator": "1001", "pin": "1234"})
        await gw.call("sale.add", {"sku": "3002"})  # no shift open: HQ said none is needed
        sale = await gw.call("sale.tender", {"method": "cash", "amount": 199})
        assert sale["state"] == "completed"
        receipt = repr(d.app.sales.receipt_document(sale))
        assert "示例连锁 欢迎光临" in receipt and "周末见" not in receipt
        await wait_for(lambda: d.app.sales.cfg.receipt_footer == ["周末见"], timeout=10)
        assert journal_kinds(d, "master.effective")[-1]["kinds"] == {"config": 1}
        assert "周末见" in repr(d.app.sales.receipt_document(sale))
        got = (await client.call("hq.config.get"))["settings"]
        assert [(s["key"], s["value"]) for s in got] == [
            ("receipt_footer", ["周末见"]), ("receipt_header", ["示例连锁 欢迎光临"]),
            ("require_shift", False)]


async def test_central_settings_are_laid_over_the_file_again_when_the_daemon_starts(
        hq, tmp_path, nursery):
    """What a starting daemon does (App._build_services): the file's sections, copied, with
    the stored central settings laid over them."""
    from gatewayd.replication.central import CentralSettings
    from tests.hq.conftest import till_config

    d = await linked_till(hq, tmp_path, nursery)
    async with connect(hq.url, hq.token("admin")) as client:
        await client.call("hq.payment.set", {"settings": {"cash_rounding": "drop_fen"}})
    await wait_for(lambda: d.app.sales.tender_config.cash_rounding == "drop_fen")
    file = till_config(tmp_path / "till")  # says nothing of rounding
    central = CentralSettings(d.app.store, file.sale, file.members)
    assert central.load() == {"payment": {"cash_rounding": "drop_fen"}}
    assert (central.sale.cash_rounding, file.sale.cash_rounding) == ("drop_fen", "none")


async def test_a_scheduled_tax_rate_goes_in_on_time_and_the_scanned_item_follows(
        hq, tmp_path, nursery):
    """Held until its time like a scheduled price; the scan cache lets go of the old rate."""
    d = await linked_till(hq, tmp_path, nursery)
    rice = {**FOOD[0], "barcodes": ["6901234567892"]}
    async with connect(d.url, d.token("admin")) as gw:
        await gw.call("catalog.upsert", {"items": [rice]})
    assert d.app.catalog.by_barcode("6901234567892").tax_rate_bp == 1300  # cached now
    async with connect(hq.url, hq.token("manager")) as client:
        at = datetime.now(UTC) + timedelta(seconds=2)
        await client.call("hq.tax.upsert", {"rates": [{"category": "食品", "rate_bp": 900}],
                                            "effective_at": at})
    await wait_for(lambda: d.app.master.version() == 1)
    assert d.app.master.held() == 1
    assert d.app.catalog.by_barcode("6901234567892").tax_rate_bp == 1300  # not yet
    await wait_for(lambda: d.app.catalog.by_barcode("6901234567892").tax_rate_bp == 900,
                   timeout=10)
    assert journal_kinds(d, "master.effective")[-1]["kinds"] == {"tax": 1}


# -- member tiers and rules (`hq.members.set`) ---------------------------------------------------
TIERS = [{"id": "normal", "name": "普通", "min_spend": 0},
         {"id": "vip", "name": "贵宾", "min_spend": 3000, "discount_bp": 1000,
          "points_multiplier_bp": 20000}]
MEMBER = "13812345678"


async def member_sale(gw, sku: str = "3001") -> dict:
    await gw.call("sale.add", {"sku": sku})
    await gw.call("sale.member", {"code": MEMBER})
    sale = await gw.call("sale.tender", {"method": "cash", "amount": 10000})
    assert sale["state"] == "completed"
    return sale


async def test_member_tiers_and_rules_from_hq_retier_a_member_and_set_discount_and_points(
        hq, tmp_path, nursery):
    d = await linked_till(hq, tmp_path, nursery)
    async with connect(d.url, d.token("admin")) as gw, \
            connect(hq.url, hq.token("manager")) as client:
        await gw.call("catalog.upsert", {"items": FOOD})
        await gw.call("auth.login", {"operator": "9001", "pin": "9999"})
        member = (await gw.call("member.register", {"phone": MEMBER, "name": "王芳"}))["id"]
        await open_shift(gw)
        # the till's own rules: ¥39.90 at the lowest tier earns 39 points (1 per yuan)
        sale = await member_sale(gw)
        assert (sale["total"], sale["member_info"]["points_earned"]) == (3990, 39)
        got = await gw.call("member.get", {"code": MEMBER})
        assert (got["tier"], got["points"]) == ("normal", 39)
        with pytest.raises(GatewayError) as err:
            await gw.call("member.redeem", {"code": MEMBER, "reward": "c5"})
        assert err.value.code == "not_found"
        got = await client.call("hq.members.set", {"settings": {
            "tiers": TIERS, "points_per_yuan": 2,
            "rewards": [{"id": "c5", "name": "5元券", "points": 50,
                         "coupon": {"amount": 500, "valid_days": 30}}]}})
        assert (got["count"], got["effective_at"]) == (3, None)
        version = got["version"]  # after the member's record (kind `member`) head office sent
        # laid over the till's [members] without a restart, and the member re-tiered at once
        # by the new table (¥39.90 spent is over vip's ¥30)
        await wait_for(lambda: d.app.members.config.points_per_yuan == 2)
        await wait_for(lambda: d.app.store.scalar(
            "SELECT tier FROM members WHERE id=?", (member,)) == "vip")
        assert journal_kinds(d, "member.tier")[-1]["after"] == "vip"
        assert d.app.config.members.points_per_yuan == 1  # the file's config is left as it was
        got = await gw.call("member.get", {"code": MEMBER})
        assert (got["tier"], got["tier_name"], got["discount_bp"]) == ("vip", "贵宾", 1000)
        # the tier's 10 % off, and 2 points per yuan x2 on what is paid (¥35.91): 143
        sale = await member_sale(gw)
        assert (sale["total"], sale["member_info"]["points_earned"]) == (3591, 143)
        # head office's reward is redeemable at the till
        got = await gw.call("member.redeem", {"code": MEMBER, "reward": "c5"})
        assert (got["points"], got["points_after"]) == (50, 39 + 143 - 50)
        assert got["coupon"]
        health = await gw.call("system.health")
        assert health["replication"]["master"]["central"]["settings"] == [
            "members.points_per_yuan", "members.rewards", "members.tiers"]
        held = (await client.call("hq.members.get"))["settings"]
        assert [(s["key"], s["version"]) for s in held] == [
            ("points_per_yuan", version), ("rewards", version), ("tiers", version)]
        assert held[2]["value"][1]["discount_bp"] == 1000
        # the tier table given back: the file's three tiers again, vip is gone (its members
        # fall to the lowest tier) and a sale earns 1 point per yuan again
        await client.call("hq.members.set", {"settings": {"tiers": None,
                                                          "points_per_yuan": None}})
        await wait_for(lambda: d.app.members.config.points_per_yuan == 1)
        await wait_for(lambda: d.app.store.scalar(
            "SELECT tier FROM members WHERE id=?", (member,)) == "normal")
        sale = await member_sale(gw)
        assert (sale["total"], sale["member_info"]["points_earned"]) == (3990, 39)


async def test_a_bad_tier_table_or_member_rule_is_refused_whole_before_it_is_versioned(hq):
    async with connect(hq.url, hq.token("manager")) as client:
        bad = [
            ({"tiers": [{"id": "normal", "name": "普通", "min_spend": 100}],
              "points_per_yuan": 2}, "tiers", "the first (lowest) tier must have min_spend 0"),
            ({"tiers": [*TIERS, {"id": "vip", "name": "金卡", "min_spend": 9000}]}, "tiers",
             "tiers: ids must be unique"),
            ({"tiers": [TIERS[0], {**TIERS[1], "discount_bp": 20000}]}, "tiers",
             "tiers.1.discount_bp: "),
            ({"tiers": [TIERS[1], TIERS[0]]}, "tiers", "min_spend 0"),
            ({"rewards": [{"id": "r", "name": "R", "points": 10}] * 2}, "rewards",
             "rewards: ids must be unique"),
            ({"point_value": 0, "referral_coupon": {"amount": 100}}, "point_value",
             "greater than or equal to 1"),
            ({"qr_prefix": "X:"}, "qr_prefix", "not a central members setting"),
        ]
        for settings, key, error in bad:
            with pytest.raises(GatewayError) as err:
                await client.call("hq.members.set", {"settings": settings})
            assert err.value.code == "invalid_params"
            errors = err.value.details["errors"]
            assert [e["id"] for e in errors] == [key], errors
            assert error in errors[0]["error"], errors
        assert hq.app.store.read_sync(master.head) == 0  # nothing versioned
        assert hq.app.store.read_sync(lambda tx: master.current(tx, "members")) == []
    async with connect(hq.url, hq.token("viewer")) as viewer:
        with pytest.raises(GatewayError) as err:
            await viewer.call("hq.members.set", {"settings": {"points_per_yuan": 2}})
        assert err.value.code in ("forbidden", "approval_required")


async def test_a_scheduled_tier_table_goes_in_on_time_and_retiers_the_members(
        hq, tmp_path, nursery):
    d = await linked_till(hq, tmp_path, nursery)
    async with connect(d.url, d.token("admin")) as gw:
        await gw.call("catalog.upsert", {"items": FOOD})
        await gw.call("auth.login", {"operator": "9001", "pin": "9999"})
        member = (await gw.call("member.register", {"phone": MEMBER, "name": "王芳"}))["id"]
        await open_shift(gw)
        await member_sale(gw)
        async with connect(hq.url, hq.token("manager")) as client:
            at = datetime.now(UTC) + timedelta(seconds=2)
            got = await client.call("hq.members.set", {"settings": {"tiers": TIERS},
                                                       "effective_at": at})
        await wait_for(lambda: d.app.master.version() == got["version"])
        assert d.app.master.held() == 1
        got = await gw.call("member.get", {"code": MEMBER})
        assert (got["tier"], got["discount_bp"]) == ("normal", 0)  # not yet
        await wait_for(lambda: d.app.store.scalar(
            "SELECT tier FROM members WHERE id=?", (member,)) == "vip", timeout=10)
        assert datetime.now(UTC) >= at
        assert journal_kinds(d, "master.effective")[-1]["kinds"] == {"members": 1}
        sale = await member_sale(gw)
        assert sale["total"] == 3591  # the new tier's 10 % off
