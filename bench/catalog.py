"""Catalog with 200,000 items: lookup latency vs a raw sqlite3 indexed SELECT, the import, and
what the items cost the daemon at start-up.

- ``catalog.lookup.barcode``: ``Catalog.lookup(ean13)`` (one JOIN on the barcodes primary key,
  the row turned into an ``Item`` with its barcodes) vs ``SELECT * FROM barcodes JOIN items``
  on a plain ``sqlite3`` connection to the same file (target <= 3x, and well under 1 ms).
- ``catalog.lookup.scale_label``: a weight label (barcode miss, layout decode, PLU index) vs
  the raw PLU SELECT.
- ``catalog.lookup.unknown``: a code found nowhere (barcode, label, PLU, sku all tried) vs one
  raw barcode SELECT.
- ``catalog.search.pinyin``: ``search("hfsp")`` over 200k names (plain figure).
- ``catalog.import.200k``: ``import_csv`` of a 200,000-row CSV, one transaction (plain figure).
- ``catalog.store_open``: ``Store(path)`` on the 200k file vs on an empty store: nothing is
  loaded at start-up, so the ratio stays near 1.

Files live in a temporary directory (GATEWAYD_BENCH_DIR to choose the disk).
"""

from __future__ import annotations

import csv
import os
import random
import sqlite3
import tempfile
import time
from pathlib import Path

from bench.harness import Row, Timing, time_sync
from gatewayd.sales.barcodes import gtin_check_digit
from gatewayd.sales.catalog import Catalog, import_csv
from gatewayd.store.db import Store

N_ITEMS = 200_000
N_LOOKUPS = 5000
CHARS = "红富士苹果香蕉农夫山泉可口乐牛奶面包饼干薯片花生油大米酸奶啤酒巧克力坚果鸡蛋猪肉"


def gtin(body: str) -> str:
    return body + str(gtin_check_digit(body))


def _write_csv(path: Path, rnd: random.Random) -> None:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["sku", "name", "barcodes", "unit", "price", "tax_rate", "plu"])
        for i in range(N_ITEMS):
            name = "".join(rnd.choice(CHARS) for _ in range(6)) + f"{i}g"
            w.writerow([f"S{i:07d}", name, gtin(f"69{i:010d}"), "kg" if i < 5000 else "pc",
                        f"{rnd.randint(1, 99999) / 100:.2f}", "13", i if i < 5000 else ""])
    # one item a pinyin search finds
    with open(path, "a", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerow(["APPLE", "红富士苹果", "", "kg", "12.80", "9", ""])


def _sampler(codes: list[str]):
    it = iter(codes * 4)
    return lambda: next(it)


def run() -> list[Row]:
    rnd = random.Random(42)
    base = os.environ.get("GATEWAYD_BENCH_DIR")
    with tempfile.TemporaryDirectory(dir=base) as tmp:
        tmp_path = Path(tmp)
        src = tmp_path / "items.csv"
        _write_csv(src, rnd)
        store = Store(tmp_path / "big.db")
        t0 = time.perf_counter()
        report = import_csv(store, src)
        import_s = time.perf_counter() - t0
        cat = Catalog(store)
        raw = sqlite3.connect(str(tmp_path / "big.db"), isolation_level=None)
        raw.execute("PRAGMA query_only=ON")

        picks = rnd.sample(range(N_ITEMS), N_LOOKUPS)
        codes = [gtin(f"69{i:010d}") for i in picks]
        labels = [gtin(f"21{i % 5000:05d}{rnd.randint(1, 99999):05d}") for i in picks]
        plus = [str(i % 5000) for i in picks]
        unknown = [gtin(f"68{i:010d}") for i in picks]

        def timed(fn, inputs) -> Timing:
            nxt = _sampler(inputs)
            return time_sync(lambda: fn(nxt()), N_LOOKUPS, warmup=200)

        raw_barcode = "SELECT i.* FROM barcodes b JOIN items i ON i.sku = b.sku WHERE b.code = ?"
        rows = [
            Row("catalog.lookup.barcode",
                timed(cat.lookup, codes),
                timed(lambda c: raw.execute(raw_barcode, (c,)).fetchone(), codes),
                target=3.0),
            Row("catalog.lookup.scale_label",
                timed(cat.lookup, labels),
                timed(lambda p: raw.execute("SELECT * FROM items WHERE plu = ?", (p,))
                      .fetchone(), plus),
                target=8.0, note="barcode miss + layout decode + PLU index vs the PLU SELECT"),
            Row("catalog.lookup.unknown",
                timed(cat.lookup, unknown),
                timed(lambda c: raw.execute(raw_barcode, (c,)).fetchone(), unknown),
                target=8.0, note="barcode, scale label, PLU and sku all tried vs one SELECT"),
        ]
        search = time_sync(lambda: cat.search("hfsp"), 50, warmup=2)
        rows.append(Row("catalog.search.pinyin", value=search.p50, value_p99=search.p99,
                        unit="s", limit=0.2, note="prefix on the pinyin index, then substring"))
        rows.append(Row("catalog.import.200k", value=import_s, unit="s", limit=60,
                        note=f"{report['count']} rows, one transaction, "
                             f"{report['count'] / import_s:,.0f} rows/s"))
        raw.close()
        store.close()

        empty_path = tmp_path / "empty.db"
        Store(empty_path).close()

        def open_close(path: Path):
            return lambda: Store(path).close()

        rows.append(Row("catalog.store_open", time_sync(open_close(tmp_path / "big.db"), 200, 5),
                        time_sync(open_close(empty_path), 200, 5), target=2.0,
                        note="Store() on 200k items vs an empty store: nothing is preloaded"))
    return rows


if __name__ == "__main__":
    from bench.harness import print_table

    print_table(run())
