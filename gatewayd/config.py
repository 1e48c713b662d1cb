"""TOML config -> one pydantic model tree. `gatewayd config check` validates a file.

Each domain owns its section's model (`sales/config.py`: `[sale]`, `[[promotions]]`;
`members/config.py`: `[members]`; `inventory/config.py`: `[inventory]`;
`replication/config.py`: `[hq]`; `drivers/config.py`: `[devices.*]`) and `Config` composes
them, so loading a file checks every table of it.

With no file at all the defaults start a development daemon: 127.0.0.1:8750, the store in
the per-user data directory, no devices.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from drivers.config import DeviceConfig, check_options
from gatewayd.inventory.config import InventoryConfig
from gatewayd.members.config import MembersConfig
from gatewayd.replication.config import LinkConfig
from gatewayd.sales.config import Promotions, SaleConfig
from gatewayd.till import TillConfig

DEFAULT_CONFIG = Path("/etc/gatewayd/gatewayd.toml")


def default_data_dir() -> Path:
    # systemd's StateDirectory= sets STATE_DIRECTORY; otherwise the XDG per-user location.
    if state := os.environ.get("STATE_DIRECTORY"):
        return Path(state.split(":")[0])
    base = os.environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share")
    return Path(base) / "gatewayd"


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ServerConfig(Section):
    listen: str = "127.0.0.1:8750"
    # Browser pages from other origins must not reach the daemon (a page could open the drawer).
    # The daemon's own origin (http://LISTEN) is always allowed; add kiosks' origins here.
    allowed_origins: list[str] = Field(default_factory=list)
    max_frame_bytes: int = Field(default=1 << 20, ge=1024)
    client_queue: int = Field(default=256, ge=8, description="frames buffered per client")
    replay_buffer: int = Field(default=4096, ge=16)
    max_calls_in_flight: int = Field(default=16, ge=1)
    # A connection must send `hello` within this; one whose hello had no token (it may only
    # pair) is closed once idle this long. Neither costs a legitimate client anything.
    hello_timeout_s: float = Field(default=5, gt=0)
    unpaired_idle_s: float = Field(default=5, gt=0)
    # Open connections (including ones still in their handshake); None: the process's file
    # descriptor limit less a reserve for the store, devices and logs.
    max_connections: int | None = Field(default=None, ge=1)
    # /metrics and /healthz answer a Host header that is an IP address, localhost or one of
    # these names (DNS rebinding); /metrics also wants `Authorization: Bearer TOKEN` if set.
    allowed_hosts: list[str] = Field(default_factory=list)
    metrics_token: str | None = Field(default=None, min_length=16)
    web_root: Path | None = None

    @field_validator("listen")
    @classmethod
    def _listen(cls, v: str) -> str:
        host, sep, port = v.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 <= int(port) < 65536:
            raise ValueError(
                "listen must be HOST:PORT, e.g. 127.0.0.1:8750 (port 0: any free port)"
            )
        return v

    @property
    def host(self) -> str:
        return self.listen.rpartition(":")[0].strip("[]")

    @property
    def port(self) -> int:
        return int(self.listen.rpartition(":")[2])


class StoreConfig(Section):
    path: Path | None = None  # default: DATA_DIR/gatewayd.db
    # Reports, exports and lists run on reader threads with their own connections
    # (gatewayd/store/reader.py); a read still running at its deadline is stopped.
    readers: int = Field(default=2, ge=1, le=16)
    read_deadline_s: float = Field(default=30.0, gt=0)
    # PRAGMA quick_check at start-up stops after this on a very large store (then logged)
    check_seconds: float = Field(default=10, gt=0)


class BackupConfig(Section):
    """A daily backup taken while the till sells (gatewayd/store/backup.py)."""

    dir: Path | None = None  # default: DATA_DIR/backups
    enabled: bool = True
    at: str = Field(default="03:30", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")  # store time
    keep: int = Field(default=7, ge=1)  # the newest N scheduled backups are kept
    deadline_s: float = Field(default=3600.0, gt=0)


class RetentionConfig(Section):
    """What leaves the live store for the monthly archive, and when
    (gatewayd/store/retention.py). With head office, only what it has acknowledged."""

    enabled: bool = True
    at: str = Field(default="04:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")  # store time
    # completed sales and refunds older than this are archived; without head office, the
    # journal too
    keep_days: int = Field(default=400, ge=1)
    journal_days: int = Field(default=7, ge=1)  # with head office: acknowledged journal
    print_days: int = Field(default=7, ge=1)  # finished print jobs (receipt documents)
    return_window_days: int = Field(default=90, ge=1)  # a returnable sale stays live
    # past it, older sales go sooner; MB of 10^6 bytes, so the default is 1 GB = 10^9 bytes
    max_store_mb: int = Field(default=1000, ge=16)
    archive_dir: Path | None = None  # default: DATA_DIR/archive

    @property
    def max_store_bytes(self) -> int:
        return self.max_store_mb * 1_000_000


class AuthConfig(Section):
    lock_after_failures: int = Field(default=5, ge=1)
    lock_minutes: int = Field(default=5, ge=1)  # the first lock; each next one is twice as long
    # Wrong PINs one client address may try before each further try waits twice as long as
    # the one before (1 s, 2 s, ... up to peer_backoff_max_s); forgiven after a quiet while.
    peer_free_failures: int = Field(default=10, ge=1)
    peer_backoff_max_s: int = Field(default=3600, ge=1)
    peer_forget_minutes: int = Field(default=15, ge=1)
    pair_code_minutes: int = Field(default=10, ge=1)
    # pair.request needs no token: per client address and overall per minute, and pending
    pair_requests_per_peer_minute: int = Field(default=3, ge=1)
    pair_requests_per_minute: int = Field(default=20, ge=1)
    pair_max_pending: int = Field(default=20, ge=1)
    # Methods that need another role than their catalogue's at this site, e.g.
    # {"drawer.open" = "supervisor"} makes a no-sale drawer open need approval, and
    # {"sale.refund" = "cashier"} lets cashiers refund (only down to a method's lowest_role).
    require: dict[str, Literal["cashier", "supervisor", "manager", "admin"]] = Field(
        default_factory=dict
    )

    @field_validator("require")
    @classmethod
    def _require_names_methods(cls, v: dict[str, str]) -> dict[str, str]:
        from protocol.methods import SPECS

        unknown = sorted(name for name in v if name not in SPECS)
        if unknown:
            raise ValueError(
                f"no such method: {', '.join(unknown)} (method names as in docs/protocol.md)"
            )
        too_low = [f"{name} needs at least {SPECS[name].site_role(role)}"
                   for name, role in sorted(v.items()) if SPECS[name].site_role(role) != role]
        if too_low:
            raise ValueError(f"a site cannot lower this far: {'; '.join(too_low)}")
        return v


class Config(Section):
    till: TillConfig = Field(default_factory=TillConfig)
    server: ServerConfig = Field(default_factory=ServerConfig)
    store: StoreConfig = Field(default_factory=StoreConfig)
    auth: AuthConfig = Field(default_factory=AuthConfig)
    backup: BackupConfig = Field(default_factory=BackupConfig)
    retention: RetentionConfig = Field(default_factory=RetentionConfig)
    devices: dict[str, DeviceConfig] = Field(default_factory=dict)
    sale: SaleConfig = Field(default_factory=SaleConfig)
    promotions: Promotions = Field(default_factory=list)
    inventory: InventoryConfig = Field(default_factory=InventoryConfig)
    members: MembersConfig = Field(default_factory=MembersConfig)
    hq: LinkConfig = Field(default_factory=LinkConfig)  # the link to head office
    data_dir: Path = Field(default_factory=default_data_dir)

    @field_validator("devices")
    @classmethod
    def _device_options(cls, devices: dict[str, DeviceConfig]) -> dict[str, DeviceConfig]:
        """Each driver's options against its model (drivers/config.py check_options)."""
        for dev_id, device in devices.items():
            check_options(dev_id, device)
        return devices

    @model_validator(mode="after")
    def _sale_scale(self) -> Config:
        wanted = self.sale.scale
        if wanted is not None and (wanted not in self.devices
                                   or self.devices[wanted].kind != "scale"):
            scales = [k for k, d in self.devices.items() if d.kind == "scale"]
            raise ValueError(f"sale.scale: {wanted!r} is not a configured scale (scales: "
                             f"{', '.join(scales) or 'none'})")
        return self

    @field_validator("devices")
    @classmethod
    def _devices_have_known_drivers(cls, v: dict[str, DeviceConfig]) -> dict[str, DeviceConfig]:
        from drivers.registry import DRIVERS
        from drivers.transports import parse_transport

        problems = []
        for dev_id, dev in v.items():
            if (dev.kind, dev.driver) not in DRIVERS:
                known = ", ".join(sorted(d for k, d in DRIVERS if k == dev.kind))
                problems.append(
                    f"devices.{dev_id}: unknown {dev.kind} driver {dev.driver!r}; known: {known}"
                )
            try:
                parse_transport(dev.transport)
            except ValueError as exc:
                problems.append(f"devices.{dev_id}: {exc}")
        if problems:
            raise ValueError("; ".join(problems))
        return v

    @property
    def store_path(self) -> Path:
        return self.store.path or self.data_dir / "gatewayd.db"

    @property
    def backup_dir(self) -> Path:
        return self.backup.dir or self.data_dir / "backups"

    @property
    def archive_dir(self) -> Path:
        return self.retention.archive_dir or self.data_dir / "archive"


class ConfigError(Exception):
    pass


def format_errors(exc: ValidationError, source: str) -> str:
    lines = [f"{source}: {exc.error_count()} error(s)"]
    for err in exc.errors(include_url=False):
        key = ".".join(str(p) for p in err["loc"]) or "(top level)"
        lines.append(f"  {key}: {err['msg'].removeprefix('Value error, ')}")
    return "\n".join(lines)


def read_toml(path: Path) -> dict[str, Any]:
    """A config file's tables as they are, before validation."""
    try:
        return tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


def load(path: Path | None = None, **overrides: Any) -> Config:
    """Load `path` (or the default file if it exists, else pure defaults)."""
    data: dict[str, Any] = {}
    source = "defaults"
    if path is None and DEFAULT_CONFIG.exists():
        path = DEFAULT_CONFIG
    if path is not None:
        source = str(path)
        data = read_toml(path)
    for key, value in overrides.items():
        if value is not None:
            data[key] = value
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_errors(exc, source)) from None
