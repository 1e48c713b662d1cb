"""USB bulk transport via pyusb (USB receipt printers without a serial/usblp node).

Open: find the device by vid:pid[:serial], pick the interface that has a bulk OUT endpoint
(the printer class, 7, first), detach the kernel driver (usblp) if it holds that interface,
claim it, and remember the bulk OUT/IN endpoint addresses. Every blocking libusb call runs
in `trio.to_thread.run_sync`; reads use a short timeout (`poll_ms`) in a loop so a cancelled
reader returns within that time. Every USBError (and a write timeout) is a TransportError.
"""

from __future__ import annotations

import errno
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import trio

from drivers.base import Transport, TransportError

PRINTER_CLASS = 7
_DIR_IN = 0x80
_TYPE_MASK = 0x03
_TYPE_BULK = 0x02
_LIBUSB_ERROR_TIMEOUT = -7


@dataclass(frozen=True)
class Endpoints:
    interface: int
    alternate: int
    out: int
    in_: int | None


def select_endpoints(configuration: Iterable[Any]) -> Endpoints:
    """Pick the interface and bulk endpoints to use from a pyusb Configuration.

    Iterating a pyusb Configuration yields Interfaces; iterating an Interface yields Endpoints
    (with `bEndpointAddress` and `bmAttributes`). Printer-class interfaces win over others;
    among equals the first in descriptor order. Raises TransportError when none has bulk OUT.
    """
    candidates: list[tuple[int, Endpoints]] = []
    for intf in configuration:
        out = in_ = None
        for ep in intf:
            if ep.bmAttributes & _TYPE_MASK != _TYPE_BULK:
                continue
            if ep.bEndpointAddress & _DIR_IN:
                in_ = ep.bEndpointAddress if in_ is None else in_
            else:
                out = ep.bEndpointAddress if out is None else out
        if out is None:
            continue
        rank = 0 if getattr(intf, "bInterfaceClass", None) == PRINTER_CLASS else 1
        eps = Endpoints(intf.bInterfaceNumber, getattr(intf, "bAlternateSetting", 0), out, in_)
        candidates.append((rank, eps))
    if not candidates:
        raise TransportError("no interface with a bulk OUT endpoint")
    return min(candidates, key=lambda c: c[0])[1]


def _is_timeout(exc: BaseException) -> bool:
    import usb.core

    if isinstance(exc, getattr(usb.core, "USBTimeoutError", ())):
        return True
    return getattr(exc, "errno", None) == errno.ETIMEDOUT or (
        getattr(exc, "backend_error_code", None) == _LIBUSB_ERROR_TIMEOUT
    )


class UsbTransport(Transport):
    def __init__(
        self,
        dev: Any,
        endpoints: Endpoints,
        *,
        detached: bool = False,
        name: str = "usb",
        poll_ms: int = 100,
        write_timeout_ms: int = 5000,
    ):
        self.dev = dev
        self.endpoints = endpoints
        self.name = name
        self._detached = detached
        self._poll_ms = poll_ms
        self._write_timeout_ms = write_timeout_ms
        self._closed = False
        # One libusb call per direction at a time; reader and writer may overlap.
        self._write_lock = trio.Lock()
        self._read_lock = trio.Lock()

    @classmethod
    async def open(
        cls, vid: int, pid: int, serial: str | None = None, **kwargs: Any
    ) -> UsbTransport:
        name = f"usb:{vid:04x}:{pid:04x}" + (f":{serial}" if serial else "")
        try:
            dev = await trio.to_thread.run_sync(_find, vid, pid, serial)
        except Exception as exc:
            raise TransportError(f"{name}: {exc}") from exc
        if dev is None:
            raise TransportError(f"{name}: no such USB device")
        return await cls.from_device(dev, name=name, **kwargs)

    @classmethod
    async def from_device(cls, dev: Any, *, name: str = "usb", **kwargs: Any) -> UsbTransport:
        """Claim a pyusb-like device object (the unit tests pass a fake one)."""
        try:
            endpoints, detached = await trio.to_thread.run_sync(_claim, dev)
        except TransportError:
            raise
        except Exception as exc:  # usb.core.USBError, NotImplementedError, ValueError
            raise TransportError(f"{name}: cannot claim: {exc}") from exc
        return cls(dev, endpoints, detached=detached, name=name, **kwargs)

    async def send(self, data: bytes) -> None:
        if self._closed:
            raise TransportError(f"{self.name}: closed")
        async with self._write_lock:
            view = memoryview(bytes(data))
            while view:
                try:
                    n = await trio.to_thread.run_sync(
                        self.dev.write, self.endpoints.out, view.tobytes(), self._write_timeout_ms
                    )
                except Exception as exc:
                    kind = "write timed out" if _is_timeout(exc) else "write failed"
                    raise TransportError(f"{self.name}: {kind}: {exc}") from exc
                if not n:
                    raise TransportError(f"{self.name}: device accepted no data")
                view = view[n:]

    async def receive(self, max_bytes: int = 4096) -> bytes:
        if self.endpoints.in_ is None:
            # Write-only device: nothing will ever arrive; wait until cancelled or closed.
            while not self._closed:
                await trio.sleep(self._poll_ms / 1000)
            raise TransportError(f"{self.name}: closed")
        async with self._read_lock:
            while True:
                if self._closed:
                    raise TransportError(f"{self.name}: closed")
                try:
                    data = await trio.to_thread.run_sync(
                        self.dev.read, self.endpoints.in_, max_bytes, self._poll_ms
                    )
                except Exception as exc:
                    if _is_timeout(exc):
                        continue  # the loop is the cancellation point
                    raise TransportError(f"{self.name}: read failed: {exc}") from exc
                if data is not None and len(data):
                    return bytes(data)
                await trio.lowlevel.checkpoint()

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        # Wait for in-flight calls (each bounded by its timeout) before releasing.
        async with self._read_lock, self._write_lock:
            await trio.to_thread.run_sync(_release, self.dev, self.endpoints, self._detached)


def _util() -> Any:
    """`usb.util` (claim/release live there, not on the device); tests substitute a fake."""
    import usb.util

    return usb.util


def _find(vid: int, pid: int, serial: str | None) -> Any:
    import usb.core
    import usb.util

    def match(dev: Any) -> bool:
        if serial is None:
            return True
        try:
            return usb.util.get_string(dev, dev.iSerialNumber) == serial
        except (usb.core.USBError, ValueError):
            return False

    return usb.core.find(idVendor=vid, idProduct=pid, custom_match=match)


def _claim(dev: Any) -> tuple[Endpoints, bool]:
    import usb.core

    try:
        cfg = dev.get_active_configuration()
    except usb.core.USBError:
        dev.set_configuration()
        cfg = dev.get_active_configuration()
    eps = select_endpoints(cfg)
    detached = False
    try:
        if dev.is_kernel_driver_active(eps.interface):
            dev.detach_kernel_driver(eps.interface)  # usblp holds printers by default
            detached = True
    except NotImplementedError:
        pass  # not on Linux/libusb backends that cannot tell
    _util().claim_interface(dev, eps.interface)
    return eps, detached


def _release(dev: Any, eps: Endpoints, detached: bool) -> None:
    util = _util()
    for step in (
        lambda: util.release_interface(dev, eps.interface),
        lambda: dev.attach_kernel_driver(eps.interface) if detached else None,
        lambda: util.dispose_resources(dev),
    ):
        try:
            step()
        except Exception:  # the device may be gone already: nothing left to release
            pass
