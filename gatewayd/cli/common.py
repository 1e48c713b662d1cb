"""What every `gatewayd` command shares: the exit codes, the config, the store, an error."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gatewayd import config as config_mod

if TYPE_CHECKING:
    from gatewayd.store.db import Store

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_CONFIG = 0, 1, 2, 78


def load_config(args: Any) -> config_mod.Config:
    data_dir = getattr(args, "data_dir", None)
    return config_mod.load(Path(args.config) if args.config else None, data_dir=data_dir)


def open_store(args: Any) -> Store:
    from gatewayd.store.db import Store

    return Store(load_config(args).store_path)


def die(message: str, code: int = EXIT_ERROR) -> int:
    print(f"gatewayd: {message}", file=sys.stderr)
    return code
