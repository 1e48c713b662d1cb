"""The method catalogue: for each method its params model, minimum role and documentation.

This is the contract the server binds handlers to and docs/protocol.md is generated from.
Params models are strict: a string where an integer belongs is `invalid_params`, never coerced.
Money is integer fen, quantities integer thousandths (DESIGN §3).

One module per domain registers its methods in the one `SPECS` registry (protocol.methods.base);
they are imported here in the order the documentation lists them, and every name they define
is importable from `protocol.methods` as before the split.
"""

# The order of these imports is the order of SPECS and of docs/protocol.md.
# isort: off
from protocol.methods.base import *  # noqa: F403
from protocol.methods.session import *  # noqa: F403
from protocol.methods.auth import *  # noqa: F403
from protocol.methods.devices import *  # noqa: F403
from protocol.methods.sim import *  # noqa: F403
from protocol.methods.catalog import *  # noqa: F403
from protocol.methods.sale import *  # noqa: F403
from protocol.methods.members import *  # noqa: F403
from protocol.methods.inventory import *  # noqa: F403
from protocol.methods.shifts import *  # noqa: F403
from protocol.methods.alerts import *  # noqa: F403
from protocol.methods.hq import *  # noqa: F403
# isort: on
