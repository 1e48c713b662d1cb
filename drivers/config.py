"""Device configuration: one `[devices.ID]` table per device in gatewayd.toml."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

DeviceKind = Literal["scanner", "scale", "printer", "drawer", "display"]


class SerialSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    baudrate: int = 9600
    bytesize: Literal[5, 6, 7, 8] = 8
    parity: Literal["N", "E", "O", "M", "S"] = "N"
    stopbits: Literal[1, 2] = 1
    rtscts: bool = False
    xonxoff: bool = False


class DeviceConfig(BaseModel):
    """`transport` is a URI-like string:
    serial:/dev/pos/scale | tcp:HOST:PORT | usb:VID:PID[:SERIAL] | hid:VID:PID
    | evdev:/dev/input/... | peer:DEVICE
    """

    model_config = ConfigDict(extra="forbid")
    kind: DeviceKind
    driver: str
    transport: str
    enabled: bool = True
    serial: SerialSettings = Field(default_factory=SerialSettings)
    # Driver-specific settings (scanner suffix, scale poll_hz, printer width, drawer pin, ...).
    options: dict[str, Any] = Field(default_factory=dict)
