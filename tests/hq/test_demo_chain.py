"""`gatewayd hq demo`: head office and two demo tills of two stores, enrolled and selling
through their simulators; the sales arrive at head office."""

from __future__ import annotations

import trio

from clients.python.client import connect
from gatewayd.hq.demo import Chain


async def test_the_demo_chain_sells_at_two_stores_and_hq_sees_it(tmp_path, nursery):
    chain = Chain(tmp_path, "127.0.0.1:0", sale_every_s=(0.1, 0.3))
    try:
        await nursery.start(chain.run)
        token = chain.token_file.read_text().strip()
        async with connect(f"ws://127.0.0.1:{chain.hq.port}/ws", token) as client:
            with trio.fail_after(60):
                while True:
                    sales = (await client.call("hq.sales", {}))["sales"]
                    if {s["store"] for s in sales} == {"S001", "S002"}:
                        break
                    await trio.sleep(0.2)
            tills = (await client.call("hq.tills"))["tills"]
            assert [(t["store"], t["till"], t["online"]) for t in tills] == [
                ("S001", "T01", True), ("S002", "T01", True)]
            one = await client.call("hq.sale.get", {"receipt_no": sales[0]["receipt_no"]})
            assert one["lines"] and one["tenders"][0]["method"] == "cash"
    finally:
        chain.close()
