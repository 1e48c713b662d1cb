"""`[sale] scale`: a self-checkout kiosk has a bagging-area scale and a weighing scale; a
weighed item is weighed on the one the config names, whatever order the devices are in."""

from __future__ import annotations

import pytest
import trio

from clients.python.client import connect
from drivers.sim.runner import PtySim
from drivers.sim.scale import Toledo8217Sim
from gatewayd import config as config_mod
from gatewayd.app import App
from tests.conftest import Daemon, make_config

APPLES = {"sku": "2001", "name": "红富士苹果", "price": 1280, "unit": "kg", "plu": "20001"}


def scale_device(pty: PtySim) -> dict:
    return {"kind": "scale", "driver": "toledo8217", "transport": pty.transport_spec,
            "serial": {"baudrate": 9600, "bytesize": 7, "parity": "E"},
            "options": {"poll_hz": 10}}


async def settled(app: App, device: str, grams: int) -> None:
    """Until the driver's last poll of `device` shows `grams`."""
    scale = app.devices.get(device)
    with trio.fail_after(5):
        while not (scale.latest and scale.latest.grams == grams and scale.latest.stable):
            await trio.sleep(0.02)


async def test_a_kiosk_weighs_on_the_scale_the_config_names(nursery, tmp_path):
    bagging, weighing = Toledo8217Sim(), Toledo8217Sim()
    bag_pty = await nursery.start(PtySim(bagging, tmp_path / "bagging").run)
    weigh_pty = await nursery.start(PtySim(weighing, tmp_path / "weighing").run)
    # the bagging scale comes first: without [sale] scale it is the one a sale would use
    cfg = make_config(tmp_path, devices={"bagging": scale_device(bag_pty),
                                         "weighing": scale_device(weigh_pty)},
                      sale={"scale": "weighing"})
    assert list(cfg.devices) == ["bagging", "weighing"] and cfg.sale.scale == "weighing"
    app = App(cfg)
    await nursery.start(app.run)
    daemon = Daemon(app)
    for dev in ("bagging", "weighing"):
        with trio.fail_after(5):
            await app.devices.get(dev).online.wait()
    daemon.operator("8001", "cashier", "8001")
    bagging.set_weight(2_000)  # the customer's bag
    weighing.set_weight(1_235)  # the apples
    bag_pty.poke()
    weigh_pty.poke()
    await settled(app, "bagging", 2_000)
    await settled(app, "weighing", 1_235)
    async with connect(daemon.url, daemon.token("admin")) as gw:
        await gw.call("catalog.upsert", {"items": [APPLES]})
    async with connect(daemon.url, daemon.token("cashier")) as gw:
        await gw.call("auth.login", {"operator": "8001", "pin": "8001"})
        sale = await gw.call("sale.add", {"sku": "2001"})
    line = sale["lines"][0]
    assert line["qty"] == 1_235 and line["amount"] == 1_581  # 1.235 kg x ¥12.80 = 15.808
    app.close()


def test_sale_scale_must_name_a_configured_scale(tmp_path):
    with pytest.raises(config_mod.ConfigError, match=r"sale\.scale.*'weigh'"):
        config_mod.load(None, data_dir=str(tmp_path), sale={"scale": "weigh"})
    path = tmp_path / "gatewayd.toml"
    path.write_text('[sale]\nscale = "scale"\n[devices.scale]\nkind = "scale"\n'
                    'driver = "toledo8217"\ntransport = "serial:/dev/ttyUSB1"\n'
                    '[devices.drawer]\nkind = "drawer"\ndriver = "serial"\n'
                    'transport = "serial:/dev/ttyUSB2"\n', encoding="utf-8")
    assert config_mod.load(path).sale.scale == "scale"
    path.write_text(path.read_text(encoding="utf-8").replace('scale = "scale"',
                                                             'scale = "drawer"'))
    with pytest.raises(config_mod.ConfigError, match=r"sale\.scale.*drawer"):
        config_mod.load(path)
