"""Members through the protocol on a real daemon (tests/conftest.py), with the sale service."""

from __future__ import annotations

import pytest

from clients.python.client import GatewayError, connect
from gatewayd.members import ledger

ITEMS = [
    {"sku": "1001", "name": "可口可乐 330ml", "price": 350, "member_price": 300,
     "barcodes": ["6901234567892"], "category": "饮料"},
    {"sku": "3001", "name": "大米 5kg", "price": 4990, "category": "粮油"},
    {"sku": "9001", "name": "香烟", "price": 2500, "category": "烟草"},
]
MEMBERS = {"points_excluded_categories": ["烟草"], "point_value": 1,
           "topup_bonus": [{"min": 50000, "bonus": 5000}], "referral_points": 100,
           "rewards": [{"id": "c5", "name": "5元券", "points": 200,
                        "coupon": {"amount": 500, "valid_days": 10}}]}
MANAGER = {"operator": "9001", "pin": "9999"}


@pytest.fixture
async def till(tmp_path, nursery):
    from gatewayd.app import App
    from tests.conftest import Daemon, make_config, open_shift

    app = App(make_config(tmp_path, members=MEMBERS))
    await nursery.start(app.run)
    daemon = Daemon(app)
    daemon.operator("1001", "cashier", "1234")
    daemon.operator("8001", "supervisor", "8888")
    daemon.operator("9001", "manager", "9999")
    admin = daemon.token("admin")
    async with connect(daemon.url, admin) as gw:
        await gw.call("catalog.upsert", {"items": ITEMS})
    async with connect(daemon.url, daemon.token("cashier")) as gw:
        await gw.call("auth.login", {"operator": "1001", "pin": "1234"})
        await open_shift(gw)
        gw.daemon = daemon
        gw.admin = admin
        yield gw
    app.close()


async def err(coro) -> GatewayError:
    with pytest.raises(GatewayError) as exc:
        await coro
    return exc.value


def journal_since(gw, seq):
    return gw.daemon.app.store.journal(after=seq, limit=10_000)


def seq(gw):
    return gw.daemon.app.store.journal_seq()


async def test_register_find_update_deactivate(till):
    gw = till
    m = await gw.call("member.register", {"phone": "138 1234 5678", "name": "王芳",
                                          "birthday": "1990-05-17", "card": "88001234"})
    assert m["phone"] == "13812345678" and m["tier"] == "normal" and m["points"] == 0
    assert m["balance"] == 0 and m["qr"].startswith("GWM1:")
    by_phone = await gw.call("member.get", {"code": "13812345678"})
    by_card = await gw.call("member.get", {"code": "88001234"})
    by_qr = await gw.call("member.get", {"code": m["qr"]})
    assert by_phone["id"] == by_card["id"] == by_qr["id"] == m["id"]
    assert by_phone["phone"] == "13812345678"  # the caller gave the phone
    assert by_card["phone"] == by_qr["phone"] == "138****5678" and "qr" not in by_card
    assert (await err(gw.call("member.get", {"code": "99999999"}))).code == "not_found"
    assert (await err(gw.call("member.register", {"phone": "13812345678", "name": "x"}))
            ).code == "conflict"
    assert (await err(gw.call("member.register", {"phone": "23812345678", "name": "x"}))
            ).code == "invalid_params"
    up = await gw.call("member.update", {"code": "88001234", "name": "王芳芳"})
    assert up["changed"] == ["name"] and up["member"]["name"] == "王芳芳"
    e = await err(gw.call("member.update", {"code": "88001234", "active": False}))
    assert e.code == "approval_required" and e.details["role"] == "supervisor"
    up = await gw.call("member.update", {"code": "88001234", "active": False,
                                         "approve": {"operator": "8001", "pin": "8888"}})
    assert up["member"]["active"] is False
    assert (await err(gw.call("sale.member", {"code": "88001234"}))).code == "conflict"
    for ev in journal_since(gw, 0):
        assert "13812345678" not in repr(ev.data), ev


async def test_sale_with_member_price_stored_value_points_and_receipt(till):
    gw = till
    m = await gw.call("member.register", {"phone": "13812345678", "name": "王芳"})
    top = await gw.call("member.topup", {"code": "13812345678", "amount": 50000})
    assert top["bonus"] == 5000 and top["balance"] == 55000
    await gw.call("sale.add", {"sku": "1001", "qty": 2000})
    await gw.call("sale.add", {"sku": "9001"})
    sale = await gw.call("sale.member", {"code": m["qr"]})
    assert sale["member"] == m["id"] and sale["member_info"]["phone"] == "138****5678"
    assert sale["total"] == 600 + 2500  # the member price of the cola
    sale = await gw.call("sale.tender", {"method": "stored_value", "amount": 1000})
    assert sale["state"] == "tendering" and sale["due"] == 2100
    got = await gw.call("member.get", {"code": "13812345678"})
    assert got["balance"] == 54000
    done = await gw.call("sale.tender", {"method": "cash", "amount": 2100})
    assert done["state"] == "completed"
    # 31 yuan paid, 25 of them for tobacco (excluded): 6 points
    assert done["member_info"]["points_earned"] == 6 and done["member_info"]["points"] == 6
    got = await gw.call("member.get", {"code": "13812345678"})
    assert got["points"] == 6 and got["balance"] == 54000
    doc = gw.daemon.app.sales.receipt_document(done)
    texts = [d.get("text", "") for d in doc]
    assert any("138****5678" in t for t in texts) and any("+6" in t for t in texts)
    assert not any("13812345678" in t for t in texts)
    hist = await gw.call("member.history", {"code": "13812345678"})
    assert hist["purchases"][0]["sale_id"] == done["id"] and hist["purchases"][0]["points"] == 6
    assert [b["reason"] for b in hist["balance"]] == ["tender", "bonus", "topup"]
    assert hist["member"]["phone"] == "138****5678"


async def test_points_tender_and_faults_change_nothing(till):
    gw = till
    await gw.call("member.register", {"phone": "13812345678", "name": "王芳"})
    gw.daemon.app.store.write_sync(lambda tx: ledger.move_points(
        tx, gw.daemon.app.members.config, gw.daemon.app.members.find("13812345678")["id"],
        300, "adjust"))
    await gw.call("member.topup", {"code": "13812345678", "amount": 1000})
    await gw.call("sale.add", {"sku": "3001"})
    # no member on the sale yet
    assert (await err(gw.call("sale.tender", {"method": "points", "amount": 100}))
            ).code == "conflict"
    await gw.call("sale.member", {"code": "13812345678"})
    before = (seq(gw), await gw.call("sale.current"),
              await gw.call("member.get", {"code": "13812345678"}))
    e = await err(gw.call("sale.tender", {"method": "stored_value", "amount": 1001}))
    assert e.code == "conflict" and "balance" in e.message
    e = await err(gw.call("sale.tender", {"method": "points", "amount": 301}))
    assert e.code == "conflict" and "points" in e.message
    after = (seq(gw), await gw.call("sale.current"),
             await gw.call("member.get", {"code": "13812345678"}))
    assert after == before
    sale = await gw.call("sale.tender", {"method": "points"})  # all the points: 300 fen
    assert sale["tenders"] == [{"method": "points", "amount": 300}] and sale["due"] == 4690
    sale = await gw.call("sale.tender", {"method": "stored_value"})  # the whole balance
    assert sale["due"] == 3690
    voided = await gw.call("sale.void", {"reason": "customer left", "approve": MANAGER})
    assert voided["state"] == "voided"
    got = await gw.call("member.get", {"code": "13812345678"})
    assert got["points"] == 300 and got["balance"] == 1000


async def test_coupons_issue_redeem_once_and_release_on_void(till):
    gw = till
    async with connect(gw.daemon.url, gw.admin) as admin:
        out = await admin.call("coupon.issue", {"amount": 500, "min_spend": 1000, "count": 3,
                                                "batch": "spring"})
    assert out["count"] == 3 and len(set(out["codes"])) == 3
    code = out["codes"][0]
    assert (await gw.call("coupon.get", {"code": code}))["used"] is False
    assert (await err(gw.call("coupon.issue", {"amount": 500}))).code in (
        "forbidden", "approval_required")
    await gw.call("sale.add", {"sku": "1001"})
    e = await err(gw.call("sale.coupon", {"code": code}))
    assert e.code == "conflict" and "at least" in e.message  # 3.50 < min spend 10.00
    await gw.call("sale.add", {"sku": "3001"})
    sale = await gw.call("sale.coupon", {"code": code})
    assert sale["tenders"] == [{"method": "voucher", "amount": 500, "ref": code}]
    before = (seq(gw), await gw.call("sale.current"))
    e = await err(gw.call("sale.coupon", {"code": code}))
    assert e.code == "conflict" and "already used" in e.message
    assert (seq(gw), await gw.call("sale.current")) == before
    await gw.call("sale.void", {"reason": "x", "approve": MANAGER})
    assert (await gw.call("coupon.get", {"code": code}))["used"] is False
    await gw.call("sale.add", {"sku": "3001"})
    await gw.call("sale.coupon", {"code": code})
    done = await gw.call("sale.tender", {"method": "cash", "amount": 4490})
    assert done["state"] == "completed"
    got = await gw.call("coupon.get", {"code": code})
    assert got["used"] is True and got["used_sale"] == done["id"]


async def test_rewards_referral_tiers_and_recompute(till):
    gw = till
    ref = await gw.call("member.register", {"phone": "13900000000", "name": "推荐人"})
    new = await gw.call("member.register", {"phone": "13812345678", "name": "新人",
                                            "referrer": "13900000000"})
    assert new["referred_by"] == ref["id"]
    await gw.call("sale.add", {"sku": "3001", "qty": 41000})  # 41 x 49.90 = 2045.90
    await gw.call("sale.member", {"code": "13812345678"})
    done = await gw.call("sale.tender", {"method": "cash", "amount": 204590})
    assert done["member_info"]["tier"] == "silver" and done["member_info"]["points_earned"] == 2045
    assert done["member_info"]["referral"]["points"] == 100
    assert (await gw.call("member.get", {"code": "13900000000"}))["points"] == 100
    r = await gw.call("member.redeem", {"code": "13812345678", "reward": "c5"})
    assert r["points_after"] == 1845 and r["coupon"]
    assert (await gw.call("coupon.get", {"code": r["coupon"]}))["member"] == new["id"]
    e = await err(gw.call("member.redeem", {"code": "13900000000", "reward": "c5"}))
    assert e.code == "conflict"
    # silver: the next sale is priced with the 2 % tier discount
    await gw.call("sale.add", {"sku": "3001"})
    sale = await gw.call("sale.member", {"code": "13812345678"})
    assert sale["total"] == 4990 - 100
    await gw.call("sale.member", {"code": None})
    assert (await gw.call("sale.current"))["total"] == 4990
    # the spend leaves the window: recompute downgrades
    gw.daemon.app.store.write_sync(lambda tx: tx.execute(
        "UPDATE member_purchases SET at = at - 400 * 86400000000"))
    async with connect(gw.daemon.url, gw.admin) as admin:
        out = await admin.call("members.recompute", {})
    assert out == {"members": 2, "tier_changes": 1, "points_expired": 0}
    assert (await gw.call("member.get", {"code": "13812345678"}))["tier"] == "normal"


async def test_scanning_a_member_qr_attaches_the_member(till):
    gw = till
    m = await gw.call("member.register", {"phone": "13812345678", "name": "王芳",
                                          "card": "M-0001"})
    await gw.call("sale.add", {"sku": "1001"})
    router = gw.daemon.app.scan_router
    await router.route({"data": m["qr"], "device": "scanner"})
    assert (await gw.call("sale.current"))["member"] == m["id"]
    await gw.call("sale.member", {"code": None})
    await router.route({"data": "M-0001", "device": "scanner"})
    sale = await gw.call("sale.current")
    assert sale["member"] == m["id"] and len(sale["lines"]) == 1


async def test_refund_reverses_points_and_pays_back_stored_value(till):
    gw = till
    await gw.call("member.register", {"phone": "13812345678", "name": "王芳"})
    await gw.call("member.topup", {"code": "13812345678", "amount": 3000})
    await gw.call("sale.add", {"sku": "3001", "qty": 2000})  # 99.80
    await gw.call("sale.member", {"code": "13812345678"})
    await gw.call("sale.tender", {"method": "stored_value", "amount": 3000})
    done = await gw.call("sale.tender", {"method": "cash", "amount": 6980})
    assert done["member_info"]["points_earned"] == 99
    got = await gw.call("member.get", {"code": "13812345678"})
    assert (got["points"], got["balance"]) == (99, 0)
    line = done["lines"][0]["line_id"]
    async with connect(gw.daemon.url, gw.admin) as admin:
        await admin.call("auth.login", {"operator": "9001", "pin": "9999"})
        ref = await admin.call("sale.refund", {"receipt_no": done["receipt_no"],
                                               "lines": [{"line_id": line, "qty": 1000}]})
    # half the goods back: half the points reversed, the stored-value part paid back
    got = await gw.call("member.get", {"code": "13812345678"})
    sv = [t for t in ref["tenders"] if t["method"] == "stored_value"]
    assert sv and got["balance"] == -sv[0]["amount"]
    assert got["points"] == 99 - 99 * 4990 // 9980
    hist = await gw.call("member.history", {"code": "13812345678"})
    assert hist["purchases"][0]["kind"] == "refund"
    assert ref["member_info"]["points"] == got["points"]
    slip = gw.daemon.app.sales.receipt_document(ref)
    assert any("138****5678" in d.get("text", "") and "积分 -" in d.get("text", "")
               for d in slip)


async def test_refund_that_would_push_points_negative_is_refused(till):
    gw = till
    await gw.call("member.register", {"phone": "13812345678", "name": "王芳"})
    await gw.call("sale.add", {"sku": "3001", "qty": 5000})  # 249.50 -> 249 points
    await gw.call("sale.member", {"code": "13812345678"})
    done = await gw.call("sale.tender", {"method": "cash", "amount": 24950})
    assert done["member_info"]["points"] == 249
    r = await gw.call("member.redeem", {"code": "13812345678", "reward": "c5"})  # -200
    assert r["points_after"] == 49
    store = gw.daemon.app.store
    before = ([tuple(x) for x in store.all("SELECT * FROM members")],
              [tuple(x) for x in store.all("SELECT id, returned_qty FROM sale_lines")],
              store.one("SELECT COUNT(*) FROM sales WHERE kind = 'refund'")[0])
    async with connect(gw.daemon.url, gw.admin) as admin:
        await admin.call("auth.login", {"operator": "9001", "pin": "9999"})
        e = await err(admin.call("sale.refund", {"receipt_no": done["receipt_no"]}))
    assert e.code == "conflict" and "below zero" in e.message
    after = ([tuple(x) for x in store.all("SELECT * FROM members")],
             [tuple(x) for x in store.all("SELECT id, returned_qty FROM sale_lines")],
             store.one("SELECT COUNT(*) FROM sales WHERE kind = 'refund'")[0])
    assert after == before
    assert (await gw.call("member.get", {"code": "13812345678"}))["points"] == 49


async def test_birthday_coupon_on_the_first_visit_of_the_birthday_month(till):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    other = 1 + today.month % 12
    await gw_register(till, "13812345678", f"{today.month:02d}-01")
    await gw_register(till, "13900000000", f"1990-{other:02d}-01")
    gw = till
    await gw.call("sale.add", {"sku": "1001"})
    sale = await gw.call("sale.member", {"code": "13900000000"})
    assert "birthday_coupon" not in sale  # not their month
    sale = await gw.call("sale.member", {"code": "13812345678"})
    code = sale["birthday_coupon"]
    c = await gw.call("coupon.get", {"code": code})
    assert c["source"] == "birthday" and c["member"] == sale["member"] and c["amount"] == 2000
    again = await gw.call("sale.member", {"code": "13812345678"})
    assert "birthday_coupon" not in again  # once a year
    ev = [e for e in journal_since(gw, 0) if e.kind == "sale.member"]
    assert ev[-2].data["birthday_coupon"] == code
    assert all(e.data["phone"] in (None, "138****5678", "139****0000") for e in ev)


async def gw_register(gw, phone: str, birthday: str) -> dict:
    return await gw.call("member.register", {"phone": phone, "name": "寿星",
                                             "birthday": birthday})
