"""Attack class: opening the cash drawer without the right to (issue 13 item 5).

`drawer.open` may need a supervisor at a site (`[auth] require`); a `drawer_kick` element
in a `printer.print` document reaches the same kick bytes, so it follows the same rule. The
cash sale's own kick is the sale's business and stays automatic.
"""

from __future__ import annotations

import pytest
import trio

from clients.python import GatewayError, connect
from tests.conftest import open_shift

KICK = [{"type": "text", "text": "no sale"}, {"type": "drawer_kick"}, {"type": "cut"}]


async def wait_journal(app, kind: str, after: int, timeout: float = 10) -> list[dict]:
    with trio.fail_after(timeout):
        while True:
            found = [e.data for e in app.store.journal(after=after) if e.kind == kind]
            if found:
                return found
            await trio.sleep(0.05)


async def test_a_drawer_kick_in_a_print_job_needs_what_drawer_open_needs(demo):
    app = demo.app
    app.config.auth.require["drawer.open"] = "supervisor"
    async with connect(demo.url, demo.token("cashier")) as gw:
        await gw.call("auth.login", operator="1001", pin="1234")
        with pytest.raises(GatewayError) as err:
            await gw.call("drawer.open")
        assert err.value.code == "approval_required"
        with pytest.raises(GatewayError) as err:  # the same kick, through the printer
            await gw.call("printer.print", receipt=KICK)
        assert err.value.code == "approval_required"
        assert err.value.details == {"action": "drawer.open", "role": "supervisor"}
        assert not [e for e in app.store.journal() if e.kind == "print.queued"]
        # a print job without a kick needs nothing more than printer.print
        assert (await gw.call("printer.print", lines=["hello"]))["job_id"]
        start = app.store.journal_seq()
        job = await gw.call("printer.print", receipt=KICK,
                            approve={"operator": "9001", "pin": "9999"})
        assert job["job_id"]
    approved = [e.data for e in app.store.journal(after=start) if e.kind == "auth.approved"]
    assert approved == [{"operator": "9001", "action": "drawer.open", "for": "1001",
                         "role": "manager"}]


async def test_a_viewer_cannot_kick_the_drawer_through_the_printer(demo):
    async with connect(demo.url, demo.token("viewer")) as gw:
        with pytest.raises(GatewayError) as err:
            await gw.call("printer.print", receipt=KICK)
    assert err.value.code == "forbidden"


async def test_the_cash_sale_still_opens_the_drawer_by_itself(demo):
    app = demo.app
    app.config.auth.require["drawer.open"] = "manager"
    async with connect(demo.url, demo.token("cashier")) as gw:
        await gw.call("auth.login", operator="1001", pin="1234")
        await open_shift(gw)  # its float opens the drawer too: before `start`
        start = app.store.journal_seq()
        await gw.call("sale.add", barcode="6921168509256")
        done = await gw.call("sale.tender", method="cash", amount=100_000)
        assert done["state"] == "completed"
    opened = await wait_journal(app, "drawer.opened", start)
    assert opened[0]["receipt_no"] == done["receipt_no"]
