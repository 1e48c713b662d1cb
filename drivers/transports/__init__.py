"""Transports: byte streams to devices, each a `drivers.base.Transport`.

`open_transport(config)` turns a device's `transport` string into an open transport:

    serial:/dev/pos/scale          SerialTransport (config.serial gives baud, 7E1, ...)
    tcp:192.168.1.50:9100          TcpTransport ("tcp:[fe80::1]:9100" for IPv6)
    usb:04b8:0202[:SERIAL]         UsbTransport (hex vendor:product, optional serial number)
    hid:0c2e:0b61[:SERIAL]         HidTransport (hex vendor:product)
    evdev:/dev/input/by-id/...     EvdevTransport (options: layout="us", grab=true)
    peer:printer                   no transport of its own: the device works through another
                                   device (a cash drawer on the receipt printer's kick-out port)

The transport modules are imported only when used, so a till without libhidapi or libusb
can still run its serial devices.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from drivers.base import Transport, TransportError
from drivers.config import DeviceConfig

SCHEMES = ("serial", "tcp", "usb", "hid", "evdev", "peer")


@dataclass(frozen=True)
class TransportSpec:
    scheme: str
    path: str | None = None  # serial, evdev
    host: str | None = None  # tcp
    port: int | None = None  # tcp
    vid: int | None = None  # usb, hid
    pid: int | None = None  # usb, hid
    serial: str | None = None  # usb, hid (optional)
    peer: str | None = None  # peer: the id of the device this one works through

    @property
    def device_path(self) -> Path | None:
        """The filesystem node this transport opens, if any (the manager polls it)."""
        return Path(self.path) if self.path else None


def _hex_id(text: str, spec: str) -> int:
    try:
        value = int(text, 16)
    except ValueError:
        raise ValueError(f"bad transport {spec!r}: {text!r} is not a hex USB id") from None
    if not 0 <= value <= 0xFFFF or not text:
        raise ValueError(f"bad transport {spec!r}: {text!r} is not a 16-bit USB id")
    return value


def parse_transport(spec: str) -> TransportSpec:
    """Parse a transport string; a malformed one raises ValueError naming it."""
    scheme, sep, rest = spec.partition(":")
    if not sep or scheme not in SCHEMES or not rest:
        raise ValueError(
            f"bad transport {spec!r}: expected one of "
            "serial:PATH, tcp:HOST:PORT, usb:VID:PID[:SERIAL], hid:VID:PID[:SERIAL], evdev:PATH, "
            "peer:DEVICE"
        )
    if scheme == "peer":
        return TransportSpec(scheme, peer=rest)
    if scheme in ("serial", "evdev"):
        if not rest.startswith("/"):
            raise ValueError(f"bad transport {spec!r}: the path must be absolute")
        return TransportSpec(scheme, path=rest)
    if scheme == "tcp":
        if rest.startswith("["):
            host, _, tail = rest[1:].partition("]")
            port_text = tail[1:] if tail.startswith(":") else ""
        else:
            host, _, port_text = rest.rpartition(":")
        if not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise ValueError(f"bad transport {spec!r}: expected tcp:HOST:PORT")
        return TransportSpec(scheme, host=host, port=int(port_text))
    parts = rest.split(":")
    if len(parts) not in (2, 3) or (len(parts) == 3 and not parts[2]):
        raise ValueError(f"bad transport {spec!r}: expected {scheme}:VID:PID[:SERIAL]")
    return TransportSpec(
        scheme,
        vid=_hex_id(parts[0], spec),
        pid=_hex_id(parts[1], spec),
        serial=parts[2] if len(parts) == 3 else None,
    )


async def open_transport(config: DeviceConfig) -> Transport:
    """Open the transport a device config names (raises TransportError if it cannot)."""
    spec = parse_transport(config.transport)
    opts = config.options
    # parse_transport sets the fields each scheme needs; the asserts say so to the type checker
    if spec.scheme == "peer":
        raise TransportError(f"{config.transport}: a peer device has no transport of its own")
    if spec.scheme == "serial":
        from drivers.transports.serial import SerialTransport

        assert spec.path is not None
        return await SerialTransport.open(spec.path, config.serial)
    if spec.scheme == "tcp":
        from drivers.transports.tcp import TcpTransport

        assert spec.host is not None and spec.port is not None
        return await TcpTransport.open(
            spec.host, spec.port, timeout=float(opts.get("connect_timeout", 5.0))
        )
    if spec.scheme == "usb":
        from drivers.transports.usb import UsbTransport

        assert spec.vid is not None and spec.pid is not None
        return await UsbTransport.open(spec.vid, spec.pid, spec.serial)
    if spec.scheme == "hid":
        from drivers.transports.hid import HidTransport

        assert spec.vid is not None and spec.pid is not None
        return await HidTransport.open(spec.vid, spec.pid, spec.serial)
    from drivers.transports.evdev import EvdevTransport

    assert spec.path is not None
    return await EvdevTransport.open(
        spec.path, layout=str(opts.get("layout", "us")), grab=bool(opts.get("grab", True)),
        alt_codepage=str(opts.get("alt_codepage", "cp437")),
    )
