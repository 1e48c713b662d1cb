"""The RPC handlers, one module per domain: typed params in, a call on a service out.

Each module has ``register(registry, <the services and ports it calls>)``; the composition
root (gatewayd/app.py) calls them once the services are built. The domain packages never
import this layer (DESIGN §1; checked by tests/test_layers.py)."""

from gatewayd.api import (
    alerts,
    backup,
    catalog,
    demo,
    devices,
    inventory,
    labels,
    members,
    printing,
    reports,
    returns,
    sales,
    shifts,
    system,
)

__all__ = ["alerts", "backup", "catalog", "demo", "devices", "inventory", "labels",
           "members", "printing", "reports", "returns", "sales", "shifts", "system"]
