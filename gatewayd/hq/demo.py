"""`gatewayd hq demo` (`make demo-chain`): head office with a sample chain — two demo tills of
two stores (S001/T01, S002/T01), each the full `gatewayd demo` (simulated devices), enrolled
at head office the real way (a code, `enroll`) and selling: a shopper task per till scans
through the till's scanner simulator (`sim.scan`: the bytes travel the serial link and the
driver) and pays cash, every few seconds. Watch the sales arrive with `hq.sales`, or with
`gatewayd hq --data DATA/hq tills` in another terminal.
"""

from __future__ import annotations

import logging
import random
from pathlib import Path

import trio

from gatewayd import demo as till_demo
from gatewayd.config import Config, TillConfig, default_data_dir
from gatewayd.hq import ingest
from gatewayd.hq.service import HqApp
from gatewayd.hq.tokens import add_token
from gatewayd.replication import link
from gatewayd.replication.enroll import enroll
from gatewayd.store.db import Store

log = logging.getLogger("gatewayd.hq.demo")
TILLS = (("S001", "T01"), ("S002", "T01"))
SALE_EVERY_S = (3.0, 8.0)


def till_config(root: Path, store: str, till: str, listen: str) -> Config:
    cfg = till_demo.prepare(root / f"{store}-{till}", listen)
    return cfg.model_copy(update={
        "till": TillConfig(store=store, till=till, name=f"demo {store}/{till}")})


async def enroll_once(hq: HqApp, cfg: Config) -> None:
    store = Store(cfg.store_path)
    try:
        if link.read(store).enrolled:
            return  # a restarted demo keeps its enrollment
    finally:
        store.close()
    code = await hq.store.write(lambda tx: ingest.add_till(tx, cfg.till.store, cfg.till.till))
    await enroll(cfg, f"ws://127.0.0.1:{hq.port}", code, None)


async def shopper(app, token: str, seed: int,
                  every_s: tuple[float, float] = SALE_EVERY_S) -> None:
    """Sales through the simulators, for ever."""
    from clients.python.client import GatewayError, connect

    rng = random.Random(seed)
    barcodes = [r[0] for r in app.store.all("SELECT code FROM barcodes LIMIT 40")]
    url = f"ws://127.0.0.1:{app.port}/ws"
    async with connect(url, token) as gw:
        await gw.call("auth.login", {"operator": "1001", "pin": "1234"})
        if (await gw.call("shift.current"))["shift"] is None:  # sales are paid in a shift
            await gw.call("shift.open", {"float": 50_000})
        while True:
            await trio.sleep(rng.uniform(*every_s))
            try:
                for code in rng.sample(barcodes, rng.randint(1, 4)):
                    await gw.call("sim.scan", {"data": code})
                    await trio.sleep(0.3)
                sale = await gw.call("sale.current")
                if sale.get("state") == "open" and sale.get("lines"):
                    await gw.call("sale.tender", {"method": "cash",
                                                  "amount": sale["total"] + 1000})
            except GatewayError as exc:  # the demo goes on; the log says what happened
                log.info("demo sale: %s", exc)


class Chain:
    """Head office and the demo tills, run in one trio nursery."""

    def __init__(self, root: Path, listen: str, sale_every_s: tuple[float, float] = SALE_EVERY_S):
        self.root = root
        self.hq = HqApp(root / "hq", None, listen=listen)
        self.token_file = root / "hq.token"
        if not self.token_file.exists():
            token = self.hq.store.write_sync(lambda tx: add_token(tx, "demo admin", "admin"))[1]
            self.token_file.write_text(token + "\n")
            self.token_file.chmod(0o600)
        self.configs = [till_config(root, s, t, "127.0.0.1:0") for s, t in TILLS]
        self.apps: list = []
        self.sale_every_s = sale_every_s

    async def run(self, task_status=trio.TASK_STATUS_IGNORED) -> None:
        from gatewayd.app import App

        async with trio.open_nursery() as nursery:
            await nursery.start(self.hq.run)
            for i, cfg in enumerate(self.configs):
                app = App(cfg, demo=True)
                self.apps.append(app)
                await nursery.start(app.run)
                await enroll_once(self.hq, cfg)
                nursery.start_soon(shopper, app, till_demo.read_token(cfg.data_dir), i,
                                   self.sale_every_s)
            task_status.started(self)

    def close(self) -> None:
        for app in self.apps:
            app.close()
        self.hq.close()


def run_demo(data: Path | None, listen: str) -> int:
    root = (data or default_data_dir().with_name("gatewayd-hq-demo")).resolve()
    chain = Chain(root, listen)

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            await nursery.start(chain.run)
            hq = chain.hq
            print(f"gatewayd hq demo: head office on ws://{hq.config.server.host}:{hq.port}"
                  f"  (data: {root})", flush=True)
            print(f"  HQ admin token: {chain.token_file}", flush=True)
            print(f"  head office's pages: http://127.0.0.1:{hq.port}/"
                  f"#token={chain.token_file.read_text().strip()}", flush=True)
            for app in chain.apps:
                till = app.config.till
                print(f"  till {till.store}/{till.till}: http://127.0.0.1:{app.port}/"
                      f"#token={till_demo.read_token(app.config.data_dir)}", flush=True)
            print(f"  watch: gatewayd hq --data {root / 'hq'} tills", flush=True)

    try:
        trio.run(main)
    except KeyboardInterrupt:
        pass
    finally:
        chain.close()
    return 0
