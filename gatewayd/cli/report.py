"""`gatewayd report NAME [--from D] [--to D] [--format table|csv|xlsx] [--out FILE]`: the
reports of gatewayd/reports.py, printed or exported."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from gatewayd.cli.common import load_config, open_store
from gatewayd.reports import ReportError, export, format_table, run_named


def add(sub: Any) -> None:
    from protocol.methods import REPORTS

    r = sub.add_parser("report", help="sales, profit and inventory reports (print or export)")
    r.add_argument("name", choices=list(REPORTS), help="the report")
    r.add_argument("--from", dest="day_from", help="first business day YYYY-MM-DD")
    r.add_argument("--to", "--until", dest="day_to", help="last business day YYYY-MM-DD")
    r.add_argument("--format", choices=("table", "csv", "xlsx"), default=None,
                   help="default: from --out's suffix, else a table on stdout")
    r.add_argument("--out", help="the file to write (csv or xlsx)")
    r.set_defaults(fn=_cmd_report)


def _cmd_report(args: Any) -> int:
    fmt = args.format or (Path(args.out).suffix.lstrip(".").lower() if args.out else "table")
    if fmt not in ("table", "csv", "xlsx"):
        print(f"gatewayd: cannot tell the format of {args.out}: give --format csv|xlsx",
              file=sys.stderr)
        return 2
    if fmt != "table" and not args.out:
        print("gatewayd: --out FILE is needed for csv and xlsx", file=sys.stderr)
        return 2
    from gatewayd.sales.running_totals import ensure_built

    tz = ZoneInfo(load_config(args).till.timezone)
    store = open_store(args)
    try:
        ensure_built(store, tz)  # a store no daemon has opened since the totals came
        t = store.readers.run_sync(
            lambda snap: run_named(snap, tz, args.name, args.day_from, args.day_to))
    except ReportError as exc:
        print(f"gatewayd: {exc}", file=sys.stderr)
        return 2
    finally:
        store.close()
    if fmt == "table":
        print(format_table(t))
        return 0
    n = export(t, args.out, fmt)
    print(f"wrote {n} row(s) of {args.name} ({t.day_from} .. {t.day_to}) to {args.out}")
    return 0
