"""The till's replicator against a real head office: it never blocks a sale, catches up
after HQ was away, shows its state (system.health, the `replication` topic), is refused at
once when revoked, and runs over TLS with a certificate made here."""

from __future__ import annotations

import trio

from clients.python.client import connect
from gatewayd.hq import ingest
from tests.conftest import open_shift
from tests.hq.conftest import ITEMS, enroll_and_sell, enroll_till, sell, start_hq, start_till


async def test_sales_go_on_while_hq_is_away_and_arrive_after(tmp_path, hq_dsn, nursery):
    with trio.CancelScope() as first_run:
        hq_nursery = nursery
        async with trio.open_nursery() as inner:
            hq = await start_hq(inner, tmp_path / "hq", hq_dsn)
            port = hq.app.port
            d = await start_till(nursery, tmp_path / "till")
            await enroll_and_sell(hq, d, 2)
            first_run.cancel()  # head office goes away
    hq.app.close()
    rep = d.app.replicator
    async with connect(d.url, d.token("admin")) as gw:
        await gw.call("subscribe", {"topics": ["replication"]})
        await gw.call("auth.login", {"operator": "1001", "pin": "1234"})
        with trio.fail_after(10):
            while rep.state == "online":
                await trio.sleep(0.02)
        await sell(gw, 5)  # the till sells on, HQ or not
        status = (await gw.call("system.health"))["replication"]
        assert status["state"] in ("offline", "connecting")
        assert status["lag_events"] > 0 and status["lag_s"] >= 0
        head = d.app.store.last_seq
        # head office back on the same port and data: the till catches up by itself
        from gatewayd.hq.service import HqApp

        app = HqApp(tmp_path / "hq", hq_dsn, listen=f"127.0.0.1:{port}")
        await hq_nursery.start(app.run)
        hq.app = app
        await hq.wait_acked("S001", "T01", head)
        seen = []
        with trio.fail_after(10):
            while "online" not in seen:
                event = await gw.next_event("replication.state")
                seen.append(event["data"]["state"])
    got = await app.store.read(lambda tx: tx.one("SELECT COUNT(*) AS n FROM sales"))
    assert got["n"] == 7
    app.close()


async def test_a_revoked_till_shows_refused_and_keeps_selling(hq, tmp_path, nursery):
    d = await start_till(nursery, tmp_path / "till")
    await enroll_till(hq, d)
    rep = d.app.replicator
    with trio.fail_after(10):
        while rep.state != "online":
            await trio.sleep(0.02)
    hq.app.store.write_sync(lambda tx: ingest.revoke_till(tx, "S001", "T01"))
    async with connect(d.url, d.token("admin")) as gw:
        await gw.call("catalog.upsert", {"items": ITEMS})  # a push: refused at once
        await gw.call("auth.login", {"operator": "1001", "pin": "1234"})
        await sell(gw, 1)
        with trio.fail_after(10):
            while rep.state != "refused":
                await trio.sleep(0.02)
        assert "revoked" in rep.status()["error"]


async def test_replication_over_tls_with_a_certificate_made_here(tmp_path, hq_dsn, nursery):
    import trustme

    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    ca_pem = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_pem))
    chain, key = tmp_path / "hq.pem", tmp_path / "hq.key"
    cert.cert_chain_pems[0].write_to_path(str(chain))
    for extra in cert.cert_chain_pems[1:]:
        extra.write_to_path(str(chain), append=True)
    cert.private_key_pem.write_to_path(str(key))
    hq = await start_hq(nursery, tmp_path / "hq", hq_dsn, cert=chain, key=key)
    assert hq.base.startswith("wss://")
    d = await start_till(nursery, tmp_path / "till")
    from gatewayd.replication.enroll import EnrollError

    code = hq.add_till("S001", "T01")
    from gatewayd.replication.enroll import enroll

    try:  # without the CA the certificate is not trusted, and the code is not used up
        await enroll(d.app.config, hq.base, code, None)
        raise AssertionError("enrolled over an untrusted certificate")
    except EnrollError as exc:
        assert "CERTIFICATE_VERIFY_FAILED" in str(exc) or "certificate" in str(exc)
    await enroll(d.app.config, hq.base, code, str(ca_pem))
    async with connect(d.url, d.token("admin")) as gw:
        await gw.call("catalog.upsert", {"items": ITEMS})
        await gw.call("auth.login", {"operator": "1001", "pin": "1234"})
        await sell(gw, 2)
    await hq.wait_acked("S001", "T01", d.app.store.last_seq)
    assert d.app.replicator.status()["url"].startswith("wss://")
    hq.app.close()


async def test_a_week_offline_catches_up_in_bounded_pushes_while_selling(hq, tmp_path,
                                                                         nursery):
    d = await start_till(nursery, tmp_path / "till", batch_events=100, window=2)
    backlog = [("print.failed", {"job_id": f"job-{i}", "reason": "x" * 200}) for i in range(4000)]
    d.app.store.write_sync(lambda tx: [tx.append(k, v) for k, v in backlog])
    pushes = []
    real_read = d.app.replicator._read_batch

    def spy(epoch, after, max_events):
        framed = real_read(epoch, after, max_events)
        if framed is not None:
            pushes.append((framed.count, len(framed.frame)))
        return framed

    d.app.replicator._read_batch = spy
    await enroll_till(hq, d)
    rep = d.app.replicator
    async with connect(d.url, d.token("admin")) as gw:
        await gw.call("catalog.upsert", {"items": ITEMS})
        await gw.call("auth.login", {"operator": "1001", "pin": "1234"})
        sold_while_behind = 0
        with trio.fail_after(60):
            while rep.status()["lag_events"] > 200:
                await sell(gw, 1)
                sold_while_behind += 1
    assert sold_while_behind >= 1
    await hq.wait_acked("S001", "T01", d.app.store.last_seq)
    assert max(n for n, _ in pushes) <= 100
    assert max(b for _, b in pushes) <= d.app.replicator.cfg.batch_bytes
    assert len(pushes) >= 40


async def test_the_catch_up_keeps_out_of_a_call_and_an_open_sale_and_still_finishes(
        hq, tmp_path, nursery):
    """A push waits while a client's call is in flight; while a sale is open pushes are
    small and one at a time; between sales it sends at full size; it finishes the backlog."""
    d = await start_till(nursery, tmp_path / "till", batch_events=400, window=4,
                         selling_events=50, yield_max_s=30)
    backlog = [("print.failed", {"job_id": f"job-{i}", "reason": "x"}) for i in range(3000)]
    d.app.store.write_sync(lambda tx: [tx.append(k, v) for k, v in backlog])
    rep, fg = d.app.replicator, d.app.foreground
    reads = []
    real_read = rep._read_batch

    def spy(epoch, after, max_events):
        in_flight = after - rep.acked
        framed = real_read(epoch, after, max_events)
        if framed is not None:
            reads.append((max_events, framed.count, in_flight))
        return framed

    rep._read_batch = spy
    async with connect(d.url, d.token("admin")) as gw:
        await gw.call("catalog.upsert", {"items": ITEMS})
        await gw.call("auth.login", {"operator": "1001", "pin": "1234"})
        await open_shift(gw)
        fg.call_started()  # a cashier's call that takes its time (a card terminal, say)
        await enroll_till(hq, d)
        with trio.fail_after(10):
            while rep.state != "online":
                await trio.sleep(0.01)
        await trio.sleep(0.5)
        assert reads == [] and rep.acked == 0  # nothing read or sent while it ran
        await gw.call("sale.add", {"sku": "1001", "qty": 1000})  # a customer at the till
        fg.call_ended()
        with trio.fail_after(20):
            while rep.acked < 500:
                await trio.sleep(0.01)
        assert reads and all(n == 50 and c <= 50 and f == 0 for n, c, f in reads)  # small,
        # and one at a time
        sale = await gw.call("sale.tender", {"method": "cash", "amount": 1000})
        assert sale["state"] == "completed"
    await hq.wait_acked("S001", "T01", d.app.store.last_seq)
    assert reads[-1][0] == 400 and max(c for _, c, _ in reads) == 400  # full size between
    assert max(f for _, _, f in reads) > 0  # sales, several in flight


async def test_a_till_that_is_never_quiet_still_catches_up(hq, tmp_path, nursery):
    d = await start_till(nursery, tmp_path / "till", batch_events=200, yield_max_s=0.02)
    backlog = [("print.failed", {"job_id": f"job-{i}", "reason": "x"}) for i in range(2000)]
    d.app.store.write_sync(lambda tx: [tx.append(k, v) for k, v in backlog])
    d.app.foreground.call_started()  # and never ends
    await enroll_till(hq, d)
    await hq.wait_acked("S001", "T01", d.app.store.last_seq, timeout=20)
