"""`posctl report NAME`: a report of gatewayd/reports.py as a table."""

from __future__ import annotations

import argparse
from typing import Any

from clients.cli.commands import add_approve, approve_param, command
from clients.cli.connection import Session
from clients.cli.output import dumps, out, table


def report_cell(value: Any, kind: str) -> str:
    """A report cell as people read it: money in yuan, qty in units, bp as percent."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else ""
    if isinstance(value, int) and kind in ("money", "qty", "bp", "ratio"):
        places = 3 if kind == "qty" else 2
        sign, mag = ("-" if value < 0 else ""), abs(value)
        text = f"{sign}{mag // 10 ** places}.{mag % 10 ** places:0{places}d}"
        return text + ("%" if kind == "bp" else "")
    return str(value)


def cmd_report(args: argparse.Namespace) -> Any:
    from protocol.methods import REPORTS

    method, params = REPORTS[args.name]
    params = {**params, **{k: v for k, v in (("from", args.day_from), ("to", args.day_to))
                           if v}}
    params.update(approve_param(args))
    s = Session(args)

    async def body(gw):
        t = await s.call(gw, method, params)
        if args.json:
            out(dumps(t))
            return
        cols = t["columns"]
        rows = [[report_cell(r.get(c["key"]), c["type"]) for c in cols] for r in t["rows"]]
        out(f"{t['title']}  {t['from']} .. {t['to']}  ({t['tz']})")
        out(table([c["title"] for c in cols], rows))
        types = {c["key"]: c["type"] for c in cols}
        if t.get("totals"):
            out("totals: " + ", ".join(f"{k} {report_cell(v, types.get(k, 'int'))}"
                                        for k, v in t["totals"].items()))

    return s.run(body)


def register(sub: Any) -> None:
    from protocol.methods import REPORTS

    r = command(sub, "report", help="a sales, profit or inventory report as a table",
                examples=["posctl report hourly",
                          "posctl report daily --from 2026-05-01 --until 2026-05-31 --json"])
    r.add_argument("name", choices=list(REPORTS))
    r.add_argument("--from", dest="day_from", metavar="YYYY-MM-DD", help="first business day")
    # not --to: it would be an ambiguous abbreviation of the global --token
    r.add_argument("--until", dest="day_to", metavar="YYYY-MM-DD",
                   help="last business day (the report's `to`)")
    add_approve(r)
    r.set_defaults(fn=cmd_report)
