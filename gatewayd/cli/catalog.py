"""`gatewayd catalog import FILE [--dry-run] | export FILE | sample` (gatewayd/sales/catalog/)."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from gatewayd.cli.common import load_config, open_store
from gatewayd.replication.master import MasterData
from gatewayd.sales.catalog.csvfile import export_csv, import_csv, load_sample
from gatewayd.sales.catalog.validation import CatalogError
from gatewayd.store.db import Store
from protocol.errors import ProtocolError


def add(sub: Any) -> None:
    """``gatewayd catalog import FILE [--dry-run] | export FILE | sample``: the store is opened
    directly (works with the daemon stopped or running; the write waits for the daemon's)."""
    c = sub.add_parser("catalog", help="the item catalog").add_subparsers(dest="sub", required=True)
    ci = c.add_parser("import", help="import a CSV: all rows or none")
    ci.add_argument("file")
    ci.add_argument("--dry-run", action="store_true", help="validate only, change nothing")
    ci.set_defaults(fn=_cmd_import)
    ce = c.add_parser("export", help="export the catalog as CSV (UTF-8 with BOM)")
    ce.add_argument("file")
    ce.add_argument("--encoding", default="utf-8-sig", help="e.g. gb18030 for old Excel")
    ce.set_defaults(fn=_cmd_export)
    c.add_parser("sample", help="load the demo catalog if the catalog is empty").set_defaults(
        fn=_cmd_sample
    )


def _cmd_import(args: Any) -> int:
    def progress(msg: str) -> None:
        print(f"catalog import: {msg}", file=sys.stderr, flush=True)

    path = Path(args.file)
    if not path.is_file():
        print(f"gatewayd: {path}: no such file", file=sys.stderr)
        return 1
    cfg = load_config(args)
    store = Store(cfg.store_path)
    started = time.monotonic()
    try:
        if not args.dry_run:  # head office's items are read-only here once it sent them
            MasterData(store, lambda *a: None, local_items=cfg.hq.local_items).guard_local(
                "item", "the items")
        report = import_csv(store, path, dry_run=args.dry_run, progress=progress)
    except ProtocolError as exc:
        print(f"gatewayd: {path}: {exc.message}", file=sys.stderr)
        return 1
    except CatalogError as exc:
        print(f"gatewayd: {path}: {exc.count} error(s); nothing was imported", file=sys.stderr)
        print("row\tsku\tfield\terror", file=sys.stderr)
        for e in exc.errors:
            print(f"{e['row']}\t{e['sku'] or ''}\t{e['field']}\t{e['error']}", file=sys.stderr)
        if exc.count > len(exc.errors):
            print(f"... and {exc.count - len(exc.errors)} more", file=sys.stderr)
        return 1
    finally:
        store.close()
    took = time.monotonic() - started
    verb = "would import" if args.dry_run else "imported"
    print(
        f"{verb} {report['count']} item(s) from {path} ({report['encoding']}): "
        f"{report.get('inserted', 0)} new, {report.get('updated', 0)} updated, "
        f"{report.get('barcodes_moved', 0)} barcode(s) moved, in {took:.1f} s"
    )
    for m in report.get("moved", [])[:20]:
        print(f"  barcode {m['code']} moved from {m['from']} to {m['to']}")
    return 0


def _cmd_export(args: Any) -> int:
    store = open_store(args)
    try:
        n = export_csv(store, args.file, args.encoding)
    finally:
        store.close()
    print(f"exported {n} item(s) to {args.file}")
    return 0


def _cmd_sample(args: Any) -> int:
    store = open_store(args)
    try:
        n = load_sample(store)
    finally:
        store.close()
    print(f"loaded {n} sample item(s)" if n else "the catalog is not empty; nothing loaded")
    return 0
