"""`gatewayd run | demo | schema | config check`: the daemon, and what it starts from."""

from __future__ import annotations

import os
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

    from gatewayd.app import App, StartupError
    from gatewayd.store import lock

    try:
        check_data_dir(cfg.store_path.parent)
        lock.acquire(cfg.store_path)
    except (StartupError, lock.StoreInUse) as exc:
        return die(str(exc))
    _convert_if_small(cfg.store_path)
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
    except BaseExceptionGroup as group:  # the port is taken, say: one line, no traceback
        startup, rest = group.split(StartupError)
        if startup is None or rest is not None:
            raise
        return die("; ".join(str(exc) for exc in _leaves(startup)))
    finally:
        app.close()
    return EXIT_OK


def _convert_if_small(path: Path) -> None:
    """A small store from before incremental vacuum is converted before it opens (seconds
    at most); a big one waits for `gatewayd vacuum` (gatewayd/store/vacuum.py)."""
    import logging

    from gatewayd.store import vacuum

    log = logging.getLogger("gatewayd.store")
    if not vacuum.needs_conversion(path):
        return
    if path.stat().st_size >= vacuum.SMALL_BYTES:
        log.warning("%s is from before incremental vacuum: retention cannot give the pages it "
                    "frees back; run `gatewayd vacuum` once with the daemon stopped", path)
        return
    try:
        done = vacuum.convert(path)
    except (vacuum.VacuumError, OSError) as exc:
        log.warning("converting %s to incremental vacuum failed (%s); it runs as it was",
                    path, exc)
        return
    log.info("%s converted to incremental vacuum in %.1f s", path, done.seconds)


def _leaves(group: BaseException) -> list[BaseException]:
    if isinstance(group, BaseExceptionGroup):
        return [leaf for exc in group.exceptions for leaf in _leaves(exc)]
    return [group]


def check_data_dir(path: Path) -> None:
    """The store's directory exists (made 0700 if not), is a directory, and this user may
    read and write it: else one line saying which and why, not a traceback from SQLite."""
    from gatewayd.app import StartupError

    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    except FileExistsError:
        raise StartupError(f"data directory {path} is not a directory") from None
    except OSError as exc:
        raise StartupError(f"cannot create the data directory {path}: {exc.strerror}") from None
    if not path.is_dir():
        raise StartupError(f"data directory {path} is not a directory")
    if not os.access(path, os.R_OK | os.X_OK):
        raise StartupError(f"data directory {path} is not readable by this user")
    if not os.access(path, os.W_OK):
        raise StartupError(f"data directory {path} is read-only for this user")


def cmd_demo(args) -> int:
    from gatewayd import demo

    cfg = demo.prepare(Path(args.data) if args.data else None, args.listen,
                       Path(args.config) if args.config else None)

    def ready(app) -> None:
        url = f"http://{app.config.server.host}:{app.port}/"
        print(f"gatewayd demo on {url}  (data: {app.config.data_dir})", flush=True)
        # The admin token stays in its file (0600), out of scrollback and terminal logs.
        token_file = app.config.data_dir / "demo.token"
        print(f"  checkout:     {url}  (a new browser shows a pairing code: gatewayd "
              f"--data-dir {app.config.data_dir} pair approve CODE --role cashier)", flush=True)
        print(f"  admin token:  in {token_file}; open {url}#token=<that token> to skip "
              "pairing", flush=True)
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
