"""(kind, driver) -> the class that drives it, imported lazily so an unused driver costs nothing."""

from __future__ import annotations

import importlib

from drivers.base import Device

DRIVERS: dict[tuple[str, str], str] = {
    ("scanner", "serial"): "drivers.scanner.device:SerialScanner",
    ("scanner", "hidpos"): "drivers.scanner.device:HidPosScanner",
    ("scanner", "wedge"): "drivers.scanner.device:WedgeScanner",
    ("scale", "toledo8217"): "drivers.scale.device:Toledo8217Scale",
    ("scale", "cas"): "drivers.scale.device:CasScale",
    ("scale", "aclas"): "drivers.scale.device:AclasScale",
    ("printer", "escpos"): "drivers.printer.device:EscposPrinter",
    ("drawer", "printer"): "drivers.drawer.device:PrinterKickDrawer",
    ("drawer", "serial"): "drivers.drawer.device:SerialDrawer",
    ("display", "cd5220"): "drivers.display.device:CD5220Display",
    ("display", "epson"): "drivers.display.device:EpsonDisplay",
    ("label", "tspl"): "drivers.label.device:TsplLabelPrinter",
}


def driver_class(kind: str, driver: str) -> type[Device]:
    try:
        target = DRIVERS[(kind, driver)]
    except KeyError:
        known = sorted(d for k, d in DRIVERS if k == kind)
        raise ValueError(f"unknown {kind} driver {driver!r}; known: {', '.join(known)}") from None
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)
