"""`gatewayd demo`: the daemon on an embedded store with sample data and simulated devices.

The simulators speak the device side of the real protocols on ptys under DATA/dev, and the
daemon reaches them through its real serial transports and drivers; the `sim.*` methods
act on the simulators' device end (DESIGN §4).
"""

from __future__ import annotations

import os
from functools import partial
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from gatewayd import auth
from gatewayd.config import Config, ConfigError, default_data_dir
from gatewayd.store.db import Store

DEMO_OPERATORS = (
    ("1001", "李娜 Li Na", "cashier", "1234"),
    ("9001", "王强 Wang Qiang", "manager", "9999"),
    ("8001", "自助收银机 Kiosk", "cashier", "8001"),  # logged in by the self-checkout kiosk
)


def default_demo_dir() -> Path:
    return default_data_dir().with_name("gatewayd-demo")


def read_token(data_dir: Path) -> str:
    return (data_dir / "demo.token").read_text().strip()


def seed(store: Store, data_dir: Path) -> None:
    """Sample catalog, operators, the admin token; idempotent, so a restarted demo keeps
    its data."""
    from gatewayd.sales.catalog.csvfile import load_sample

    load_sample(store)  # only into an empty catalog
    for op_id, name, role, pin in DEMO_OPERATORS:
        if not store.one("SELECT 1 FROM operators WHERE id=?", (op_id,)):
            store.write_sync(partial(auth.add_operator, op_id=op_id, name=name, role=role,
                                     pin=pin))
    token_file = data_dir / "demo.token"
    if token_file.exists() and auth.token_role(store, read_token(data_dir)):
        return
    (_, token), _ = store.write_sync(lambda tx: auth.add_token(tx, "demo admin", "admin"))
    fd = os.open(token_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(token + "\n")


DEFAULT_LISTEN = "127.0.0.1:8750"


def merged(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """`over` on top of `base`: tables merge key by key, anything else (a value, a list such
    as `[[promotions]]`) replaces. A device table replaces that device whole: a real scale's
    transport must not inherit the simulator's serial settings."""
    out = dict(base)
    for key, value in over.items():
        if key == "devices" and isinstance(value, dict):
            out[key] = {**base.get(key, {}), **value}
        elif isinstance(value, dict) and isinstance(base.get(key), dict):
            out[key] = merged(base[key], value)
        else:
            out[key] = value
    return out


def prepare(data_dir: Path | None, listen: str | None, config_file: Path | None = None) -> Config:
    """The demo's config: a config file (if given) merged over the demo's defaults, so it can
    set promotions, 抹零 rounding, member tiers and rewards while every device stays simulated
    unless the file configures it. `data_dir` and `listen` given on the command line win over
    the file; then the demo store is seeded."""
    from gatewayd.config import format_errors, read_toml

    file = read_toml(config_file) if config_file else {}
    data_dir = Path(data_dir or file.get("data_dir") or default_demo_dir()).resolve()
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    defaults = {
        "server": {"listen": DEFAULT_LISTEN},
        "data_dir": str(data_dir),
        "devices": sim_devices(data_dir),
    }
    data = merged(defaults, {**file, "data_dir": str(data_dir)})
    if listen:
        data["server"] = {**data["server"], "listen": listen}
    try:
        cfg = Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_errors(exc, str(config_file or "demo defaults"))) from None
    store = Store(cfg.store_path)
    try:
        seed(store, data_dir)
    finally:
        store.close()
    return cfg


def sim_devices(data_dir: Path) -> dict:
    """Device configs that reach the simulators through their pty links under DATA/dev."""
    dev = data_dir / "dev"
    return {
        "scanner": {"kind": "scanner", "driver": "serial", "transport": f"serial:{dev}/scanner",
                    "serial": {"baudrate": 9600}, "options": {"suffix": "CR"}},
        "scale": {"kind": "scale", "driver": "toledo8217", "transport": f"serial:{dev}/scale",
                  "serial": {"baudrate": 9600, "bytesize": 7, "parity": "E"},
                  "options": {"poll_hz": 10}},
        "printer": {"kind": "printer", "driver": "escpos", "transport": f"serial:{dev}/printer",
                    "serial": {"baudrate": 115200}, "options": {"width": 48, "poll_s": 0.5}},
        "drawer": {"kind": "drawer", "driver": "printer", "transport": "peer:printer",
                   "options": {"printer": "printer", "open_alert_s": 30}},
        "display": {"kind": "display", "driver": "cd5220", "transport": f"serial:{dev}/display",
                    "serial": {"baudrate": 9600},
                    "options": {"idle": "欢迎光临 Welcome", "encoding": "gb18030"}},
        "label": {"kind": "label", "driver": "tspl", "transport": f"serial:{dev}/label",
                  "serial": {"baudrate": 115200}, "options": {"width_mm": 40, "height_mm": 30}},
    }


class SimSet:
    """The demo's simulators, each behind a pty the daemon opens as a serial port."""

    def __init__(self, data_dir: Path):
        from drivers.sim.display import DisplaySim
        from drivers.sim.label import TsplLabelPrinterSim
        from drivers.sim.printer import EscposPrinterSim
        from drivers.sim.runner import PtySim
        from drivers.sim.scale import Toledo8217Sim
        from drivers.sim.scanner import SerialScannerSim

        dev = data_dir / "dev"
        dev.mkdir(parents=True, exist_ok=True)
        self.runners = {
            "scanner": PtySim(SerialScannerSim(suffix=b"\r"), dev / "scanner"),
            "scale": PtySim(Toledo8217Sim(), dev / "scale"),
            "printer": PtySim(EscposPrinterSim(width=48), dev / "printer"),
            "display": PtySim(DisplaySim("cd5220", encoding="gb18030"), dev / "display"),
            "label": PtySim(TsplLabelPrinterSim(), dev / "label"),
        }

    def sim(self, name: str):
        return self.runners[name].sim

    async def run(self, task_status=None) -> None:
        import trio

        from drivers.sim.runner import run_sims

        await run_sims(self.runners, task_status=task_status or trio.TASK_STATUS_IGNORED)
