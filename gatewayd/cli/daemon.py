"""`gatewayd run | demo | schema | config check`: the daemon, and what it starts from."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gatewayd.cli.common import EXIT_OK, die, load_config
from gatewayd.config import Config


def add(sub: Any) -> None:
    sub.add_parser("run", help="run the daemon").set_defaults(fn=cmd_run)
    d = sub.add_parser("demo", help="the daemon with simulated devices and sample data; "
                       "--config FILE is merged over the demo's defaults")
    d.add_argument("--listen", help="HOST:PORT (default: the file's, else 127.0.0.1:8750)")
    d.add_argument("--data", help="data directory (default: per-user gatewayd-demo)")
    d.set_defaults(fn=cmd_demo)
    s = sub.add_parser("schema", help="write docs/protocol.schema.json")
    s.add_argument("--out", default="docs/protocol.schema.json")
    s.set_defaults(fn=cmd_schema)
    c = sub.add_parser("config", help="configuration").add_subparsers(dest="sub", required=True)
    c.add_parser("check", help="validate the config").set_defaults(fn=cmd_config_check)


def cmd_run(args) -> int:
    cfg = load_config(args)
    return _serve(cfg, demo=False)


def _serve(cfg: Config, demo: bool, on_ready=None) -> int:
    import trio

    from gatewayd.app import App
    from gatewayd.store import lock

    try:
        lock.acquire(cfg.store_path)
    except lock.StoreInUse as exc:
        return die(str(exc))
    app = App(cfg, demo=demo)

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            await nursery.start(app.run)
            if on_ready:
                on_ready(app)

    try:
        trio.run(main)
    except KeyboardInterrupt:
        pass
    finally:
        app.close()
    return EXIT_OK


def cmd_demo(args) -> int:
    from gatewayd import demo

    cfg = demo.prepare(Path(args.data) if args.data else None, args.listen,
                       Path(args.config) if args.config else None)

    def ready(app) -> None:
        url = f"http://{app.config.server.host}:{app.port}/"
        print(f"gatewayd demo on {url}  (data: {app.config.data_dir})", flush=True)
        print(f"  checkout:     {url}#token={demo.read_token(app.config.data_dir)}", flush=True)
        print(f"  admin token:  {app.config.data_dir / 'demo.token'}", flush=True)
        print("  operators:    1001/1234 (cashier), 9001/9999 (manager)", flush=True)

    return _serve(cfg, demo=True, on_ready=ready)


def cmd_schema(args) -> int:
    from gatewayd.schema import write_schema

    path = write_schema(Path(args.out))
    print(f"wrote {path}")
    return EXIT_OK


def cmd_config_check(args) -> int:
    cfg = load_config(args)  # every table of the file is validated: ConfigError names the keys
    print(
        f"ok: till {cfg.till.store}/{cfg.till.till}, listen {cfg.server.listen}, "
        f"store {cfg.store_path}, {len(cfg.devices)} device(s)"
    )
    return EXIT_OK
