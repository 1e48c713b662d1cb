"""`python -m bench NAME [NAME ...]` or `python -m bench all` (what `make bench` runs).

Each benchmark module has `run() -> list[Row]`; rows from all of them are printed as one
table. Benchmarks print figures and never fail on them.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time

from bench.harness import print_table

BENCHMARKS = {
    "roundtrip": "bench.roundtrip",
    "journal": "bench.journal",
    "startup": "bench.startup",
    "devices": "bench.devices",
    "catalog": "bench.catalog",
    "sale": "bench.sale",
    "stock": "bench.stock",
    "members": "bench.members",
    "hq": "bench.hq",
    "hq_members": "bench.hq_members",
    "master": "bench.master",
}
# Not in `all`: they generate multi-GB stores (make bench-growth, make bench-hq-reports),
# or two indexes of millions of rows (ids)
EXTRA = {"growth": "bench.growth", "hqreports": "bench.hqreports", "ids": "bench.ids"}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("names", nargs="+", metavar="NAME",
                   help=f"all, or some of: {', '.join([*BENCHMARKS, *EXTRA])}")
    args = p.parse_args(argv)
    names = list(BENCHMARKS) if "all" in args.names else args.names
    known = {**BENCHMARKS, **EXTRA}
    unknown = [n for n in names if n not in known]
    if unknown:
        p.error(f"unknown benchmark {', '.join(unknown)}; known: {', '.join(known)}")
    rows = []
    started = time.monotonic()
    for name in names:
        t0 = time.monotonic()
        print(f"running {name} ...", file=sys.stderr, flush=True)
        rows += importlib.import_module(known[name]).run()
        print(f"  {name}: {time.monotonic() - t0:.1f} s", file=sys.stderr, flush=True)
    print_table(rows)
    print(f"\n{len(names)} benchmark(s) in {time.monotonic() - started:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
