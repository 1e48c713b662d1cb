"""HID transport via the `hid` package (ctypes binding of hidapi), for HID POS scanners.

`hid` loads libhidapi when imported, so it is imported only when a HID device is opened:
a till without libhidapi loses this transport only, with a message saying what to install.
Reads run in a worker thread with a short timeout (`poll_ms`, 100 ms) in a loop, so a
cancelled reader returns promptly; each HID input report is returned as bytes, unchanged.

A scanner is one USB device with several HID interfaces (a keyboard for keyboard-wedge mode,
a vendor interface, ...): the transport enumerates those of the vid:pid (and serial, when
given) and opens the one whose usage page is 0x8C, HID Point of Sale. A device that lists a
single interface without saying its usage page is opened as it is; one whose interfaces say
they are something else is refused (it is in keyboard mode: switch it to HID POS).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import trio

from drivers.base import Transport, TransportError

REPORT_SIZE = 64  # the largest full-speed interrupt report; hidapi truncates to the buffer
HID_POS_USAGE_PAGE = 0x8C


def _load_hid() -> Any:
    try:
        import hid
    except ImportError as exc:  # hid raises ImportError when no libhidapi*.so can be loaded
        raise TransportError(
            "HID transport unavailable: libhidapi not found "
            "(install libhidapi-hidraw0, e.g. `apt install libhidapi-hidraw0`)"
        ) from exc
    return hid


def _pos_interface(found: list[dict[str, Any]], serial: str | None, name: str) -> bytes | None:
    """The path of the HID POS interface among `found` (hidapi's enumerate entries), None
    to open by vid:pid (nothing listed, or one interface that does not say its usage page)."""
    if serial:
        found = [i for i in found if i.get("serial_number") == serial]
    pos = [i for i in found if i.get("usage_page") == HID_POS_USAGE_PAGE]
    if pos:
        return pos[0]["path"]
    if len(found) <= 1 and not any(i.get("usage_page") for i in found):
        return found[0]["path"] if found else None
    pages = ", ".join(f"0x{i.get('usage_page', 0):X}" for i in found)
    raise TransportError(f"{name}: no HID POS interface (usage page 0x8C) among its "
                         f"interfaces ({pages}): set the scanner to USB HID POS mode")


class HidTransport(Transport):
    def __init__(self, dev: Any, name: str = "hid", poll_ms: int = 100):
        self.dev = dev
        self.name = name
        self._poll_ms = poll_ms
        self._closed = False
        self._busy = 0  # worker threads currently inside hidapi with this handle
        self._close_pending = False

    @classmethod
    async def open(
        cls,
        vid: int,
        pid: int,
        serial: str | None = None,
        *,
        device_factory: Callable[..., Any] | None = None,
        enumerate: Callable[[int, int], list[dict[str, Any]]] | None = None,
        poll_ms: int = 100,
    ) -> HidTransport:
        name = f"hid:{vid:04x}:{pid:04x}" + (f":{serial}" if serial else "")
        if device_factory is None:
            hid = _load_hid()
            device_factory, enumerate = hid.Device, enumerate or hid.enumerate
        path = None
        if enumerate is not None:
            found = await trio.to_thread.run_sync(lambda: list(enumerate(vid, pid)))
            path = _pos_interface(found, serial, name)
        try:
            if path is not None:
                dev = await trio.to_thread.run_sync(lambda: device_factory(path=path))
            else:
                dev = await trio.to_thread.run_sync(
                    lambda: device_factory(vid=vid, pid=pid, serial=serial)
                )
        except Exception as exc:  # hid.HIDException, OSError
            raise TransportError(f"{name}: cannot open: {exc}") from exc
        return cls(dev, name=name, poll_ms=poll_ms)

    async def _call(self, fn: Callable[..., Any], *args: Any) -> Any:
        if self._closed:
            raise TransportError(f"{self.name}: closed")
        self._busy += 1
        try:
            return await trio.to_thread.run_sync(fn, *args)
        except Exception as exc:
            raise TransportError(f"{self.name}: {exc or type(exc).__name__}") from exc
        finally:
            self._busy -= 1
            if self._close_pending and not self._busy:
                self._close_now()

    async def send(self, data: bytes) -> None:
        n = await self._call(self.dev.write, bytes(data))
        if n is not None and n < 0:
            raise TransportError(f"{self.name}: write failed")

    async def receive(self, max_bytes: int = 4096) -> bytes:
        size = max(1, min(max_bytes, REPORT_SIZE))
        while True:
            data = await self._call(self.dev.read, size, self._poll_ms)
            if data:
                return bytes(data)
            # b'' is hidapi's "timed out": loop, and let cancellation in here.
            await trio.lowlevel.checkpoint()

    def _close_now(self) -> None:
        self._close_pending = False
        try:
            self.dev.close()
        except Exception:
            pass

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._busy:
            self._close_pending = True  # the last worker thread closes the handle
        else:
            self._close_now()
        await trio.lowlevel.checkpoint()
