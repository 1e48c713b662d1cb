"""`gatewayd demo`: the daemon on an embedded store with sample data and simulated devices.

The simulators speak the device side of the real protocols on ptys under DATA/dev, and the
daemon reaches them through its real serial transports and drivers; the `sim.*` methods
act on the simulators' device end (DESIGN §4).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from gatewayd import auth
from gatewayd.config import Config, default_data_dir
from gatewayd.store.db import Store

if TYPE_CHECKING:
    from gatewayd.app import App

DEMO_OPERATORS = (
    ("1001", "李娜 Li Na", "cashier", "1234"),
    ("9001", "王强 Wang Qiang", "manager", "9999"),
)


def default_demo_dir() -> Path:
    return default_data_dir().with_name("gatewayd-demo")


def read_token(data_dir: Path) -> str:
    return (data_dir / "demo.token").read_text().strip()


def seed(store: Store, data_dir: Path) -> None:
    """Operators, the admin token; idempotent, so a restarted demo keeps its data."""
    for op_id, name, role, pin in DEMO_OPERATORS:
        if not store.one("SELECT 1 FROM operators WHERE id=?", (op_id,)):
            store.write_sync(lambda tx, a=(op_id, name, role, pin): auth.add_operator(tx, *a))
    token_file = data_dir / "demo.token"
    if token_file.exists() and auth.token_role(store, read_token(data_dir)):
        return
    (_, token), _ = store.write_sync(lambda tx: auth.add_token(tx, "demo admin", "admin"))
    fd = os.open(token_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(token + "\n")


def prepare(data_dir: Path | None, listen: str) -> Config:
    data_dir = (data_dir or default_demo_dir()).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    cfg = Config.model_validate(
        {
            "server": {"listen": listen},
            "data_dir": str(data_dir),
            "devices": sim_devices(data_dir),
        }
    )
    store = Store(cfg.store_path)
    try:
        seed(store, data_dir)
    finally:
        store.close()
    return cfg


def sim_devices(data_dir: Path) -> dict:
    """Device configs pointing at the simulators' ptys (filled in by the devices work)."""
    return {}


def bind(app: App) -> None:
    """The sim.* methods (answer unknown_method until simulators are wired)."""
