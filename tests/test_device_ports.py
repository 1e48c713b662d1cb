"""gatewayd/devices.py types each kind of device by the port the daemon calls (Scale,
Drawer, Display, Printer) and trusts the kind: every registered driver of that kind must have
what its port names."""

from __future__ import annotations

import pytest

from drivers.registry import DRIVERS, driver_class
from gatewayd import devices

PORTS = {"scale": devices.Scale, "drawer": devices.Drawer, "display": devices.Display,
         "printer": devices.Printer}
INSTANCE_ATTRS = {"info", "latest"}  # set in __init__, not on the class


@pytest.mark.parametrize("kind,driver", sorted(k for k in DRIVERS if k[0] in PORTS))
def test_every_driver_has_what_its_port_names(kind, driver):
    cls = driver_class(kind, driver)
    port = PORTS[kind]
    names = {n for n in vars(port) if not n.startswith("_")} | set(port.__annotations__)
    missing = [n for n in sorted(names - INSTANCE_ATTRS) if not hasattr(cls, n)]
    assert not missing, f"{cls.__name__} lacks {missing} of {port.__name__}"
    assert names >= {"info"}


def test_a_device_of_another_kind_is_refused():
    class Info:
        id, kind, driver = "printer", "printer", "escpos"

    class Dev:
        info = Info()

    with pytest.raises(devices.ProtocolError) as err:
        devices.as_scale(Dev())  # type: ignore[arg-type]
    assert err.value.code == "invalid_params"
