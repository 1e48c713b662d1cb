"""Device configuration: one `[devices.ID]` table per device in gatewayd.toml."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

DeviceKind = Literal["scanner", "scale", "printer", "drawer", "display", "label"]


class SerialSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    baudrate: int = 9600
    bytesize: Literal[5, 6, 7, 8] = 8
    parity: Literal["N", "E", "O", "M", "S"] = "N"
    stopbits: Literal[1, 2] = 1
    rtscts: bool = False
    xonxoff: bool = False


# Line settings a protocol defines, used for whatever `serial` leaves out: the Toledo 8217
# protocol is 9600 baud 7E1 (sent 8N1, W/T/C reach the scale with a wrong parity bit).
SERIAL_DEFAULTS: dict[tuple[str, str], dict[str, Any]] = {
    ("scale", "toledo8217"): {"baudrate": 9600, "bytesize": 7, "parity": "E", "stopbits": 1},
}


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

    @model_validator(mode="after")
    def _protocol_line_defaults(self) -> DeviceConfig:
        defaults = SERIAL_DEFAULTS.get((self.kind, self.driver))
        if defaults:
            given = self.serial.model_fields_set
            for key, value in defaults.items():
                if key not in given:
                    setattr(self.serial, key, value)
        return self


def check_options(dev_id: str, config: DeviceConfig) -> None:
    """Refuse an unknown driver, an unknown option or a bad value, naming the key
    (`devices.printer.options.widht: unknown option`): what `gatewayd config check` and
    start-up report, before any device is opened."""
    from drivers.base import validate_options
    from drivers.registry import driver_class

    try:
        cls = driver_class(config.kind, config.driver)
    except ValueError as exc:
        raise ValueError(f"devices.{dev_id}.driver: {exc}") from None
    if cls.options_model is not None:
        validate_options(cls.options_model, config.options, f"devices.{dev_id}.options")

