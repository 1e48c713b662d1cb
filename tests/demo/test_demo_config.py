"""`gatewayd demo --config FILE`: the file is merged over the demo's defaults, and the example
shop in demo/shop.toml does what its comments say (promotions, 抹零, tiers, rewards)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import trio

from clients.python.client import connect
from gatewayd import demo as demo_mod
from gatewayd.app import App
from gatewayd.config import ConfigError
from tests.conftest import Daemon, open_shift, started

ROOT = Path(__file__).resolve().parents[2]
SHOP = ROOT / "demo" / "shop.toml"


def test_a_file_merges_over_the_demo_defaults(tmp_path):
    file = tmp_path / "mine.toml"
    file.write_text(
        '[till]\nstore = "S777"\n[server]\nlisten = "127.0.0.1:0"\n'
        '[sale]\ncash_rounding = "drop_jiao"\n'
        '[devices.scale]\nkind = "scale"\ndriver = "cas"\ntransport = "tcp:127.0.0.1:9"\n'
    )
    cfg = demo_mod.prepare(tmp_path / "data", None, file)
    assert cfg.till.store == "S777" and cfg.till.till == "T01"  # merged key by key
    assert cfg.server.listen == "127.0.0.1:0"
    assert cfg.sale.cash_rounding == "drop_jiao"
    # the file's scale replaces the simulated one whole; the other devices stay simulated
    assert cfg.devices["scale"].driver == "cas"
    assert cfg.devices["scale"].transport == "tcp:127.0.0.1:9"
    assert cfg.devices["scale"].serial is None or cfg.devices["scale"].serial.baudrate == 9600
    assert set(cfg.devices) == {"scanner", "scale", "printer", "drawer", "display", "label"}
    assert cfg.devices["printer"].transport.startswith("serial:")
    # the command line wins over the file
    assert demo_mod.prepare(tmp_path / "data", "127.0.0.1:8799", file).server.listen.endswith(
        ":8799")


def test_a_bad_file_is_refused_naming_the_key(tmp_path):
    file = tmp_path / "bad.toml"
    file.write_text('[till]\nbogus = 1\n')
    with pytest.raises(ConfigError, match=r"till.bogus: Extra inputs are not permitted"):
        demo_mod.prepare(tmp_path / "data", None, file)
    file.write_text('[sale]\ncash_rounding = "sometimes"\n')
    run = subprocess.run(
        [sys.executable, "-m", "gatewayd", "--config", str(file), "demo", "--data",
         str(tmp_path / "d2"), "--listen", "127.0.0.1:0"],
        capture_output=True, text=True, timeout=60,
    )
    assert run.returncode == 78, run.stderr
    assert "cash_rounding" in run.stderr


@pytest.fixture
async def shop(tmp_path, nursery):
    cfg = demo_mod.prepare(tmp_path / "demo", "127.0.0.1:0", SHOP)
    app = App(cfg, demo=True)
    stop = await started(nursery, app)
    d = Daemon(app)
    d.admin = demo_mod.read_token(cfg.data_dir)
    yield d
    await stop()


async def add(gw, sku: str, n: int = 1):
    return await gw.call("sale.add", {"sku": sku, "qty": n * 1000})


async def test_the_example_shop_promotions_rounding_tiers_and_rewards(shop):
    async with connect(shop.url, shop.admin) as gw:
        await gw.call("auth.login", {"operator": "1001", "pin": "1234"})
        await open_shift(gw)

        # 农夫山泉 3 for ¥5: three at ¥2.00 cost ¥5.00, explained on the line
        sale = await add(gw, "100001", 3)
        assert sale["total"] == 500
        assert "water3" in [p["id"] for p in sale["lines"][0]["promo"]]
        # any 2 snacks for ¥10: 奥利奥 6.90 + 旺旺雪饼 5.80 = 12.70 -> 10.00
        await add(gw, "200002")
        sale = await add(gw, "200003")
        assert sale["total"] == 500 + 1000
        # buy 2 get 1 free: three cans of beer at 6.50 cost 13.00
        sale = await add(gw, "100009", 3)
        assert sale["total"] == 500 + 1000 + 1300
        # 抹零 drop_fen: 1.235 kg of apples at ¥12.80 is ¥15.81 (half up); in cash the basket
        # drops its fen, kept as the sale's rounding
        sale = await gw.call("sale.add", {"sku": "700001", "qty": 1235})
        assert sale["lines"][-1]["amount"] == 1581
        assert sale["total"] == 2800 + 1581
        assert sale["cash_due"] == 2800 + 1580
        done = await gw.call("sale.tender", {"method": "cash"})
        assert done["state"] == "completed"
        assert done["rounding"] == 1 and done["paid"] == 4380 and done["change"] == 0

        # a member: topped up ¥100 -> ¥110 (充100送10); a ¥55 sale makes them silver
        member = await gw.call("member.register", {"phone": "13800138000", "name": "演示"})
        assert member["tier"] == "normal"
        topup = await gw.call("member.topup", {"code": "13800138000", "amount": 10000})
        assert (await gw.call("member.get", {"code": "13800138000"}))["balance"] == 11000, topup
        await gw.call("sale.member", {"code": "13800138000"})
        for _ in range(10):
            await add(gw, "100003")  # 可口可乐 ¥3.00 (member price ¥2.80)
        await add(gw, "200004", 3)  # 德芙 ¥9.90 (member ¥8.90)
        sale = await gw.call("sale.current")
        assert sale["total"] >= 5000
        await gw.call("sale.tender", {"method": "cash", "amount": 10000})
        member = await gw.call("member.get", {"code": "13800138000"})
        assert member["tier"] == "silver" and member["discount_bp"] == 500
        assert member["points"] >= 50

        # the silver tier's 5 % competes with the promotions on the next sale
        await gw.call("sale.member", {"code": "13800138000"})
        sale = await add(gw, "100005")  # 康师傅冰红茶 ¥3.50, member price ¥3.00
        assert sale["lines"][0]["amount"] - sale["lines"][0]["discount"] <= 300
        await gw.call("sale.void", {"reason": "demo", "approve": {"operator": "9001",
                                                                  "pin": "9999"}})

        # 50 points buy a ¥5 coupon
        points = member["points"]
        reward = await gw.call("member.redeem", {"code": "13800138000", "reward": "coupon5"})
        assert reward["points"] == 50 and reward["points_after"] == points - 50
        coupon = await gw.call("coupon.get", {"code": reward["coupon"]})
        assert coupon["amount"] == 500 and not coupon["used"]


async def test_the_demo_command_takes_the_config(tmp_path):
    """The real command line: the file's till name shows in system.info."""
    proc = await trio.lowlevel.open_process(
        [sys.executable, "-m", "gatewayd", "--config", str(SHOP), "demo", "--data",
         str(tmp_path / "d"), "--listen", "127.0.0.1:0"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    try:
        text = b""
        with trio.fail_after(60):
            while b"checkout:" not in text:
                chunk = await proc.stdout.receive_some()
                assert chunk, text.decode()
                text += chunk
        url = text.decode().split("gatewayd demo on ", 1)[1].split()[0]
        ws = url.replace("http://", "ws://").rstrip("/") + "/ws"
        token = (tmp_path / "d" / "demo.token").read_text().strip()
        async with connect(ws, token) as gw:
            assert (await gw.call("system.info"))["name"] == "演示便利店 Demo Mart"
    finally:
        proc.terminate()
        await proc.wait()
