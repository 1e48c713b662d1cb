"""Issue 17 item 4: any paper width (32, 35, 42, 48, 56 columns) with Chinese counted as two
columns, text normalised to NFC, zero-width characters and variation selectors dropped rather
than printed as '?', and a QR payload over the byte-mode capacity of its error level refused."""

from __future__ import annotations

import pytest

from drivers.printer.cjk import sanitize, text_width
from drivers.printer.receipt import QR, QR_BYTE_CAPACITY, WIDTHS, Columns, Row, Rule, Text, render
from drivers.sim.printer import EscposPrinterSim

DOC = [Text("某某超市 Supermarket", align="center", bold=True),
       Columns("可口可乐 Coca-Cola 330ml 罐装 x12", "42.00"),
       Row(["苹果 Apple", "2.000kg", "¥13.60"], widths=[3, 1, 1]),
       Rule()]


@pytest.mark.parametrize("width", WIDTHS)
def test_every_width_lines_up_with_chinese_as_two_columns(width: int) -> None:
    sim = EscposPrinterSim(width=width, lines_per_s=None)
    sim.feed(render(DOC, width))
    lines = sim.current.text()
    assert lines[-1] == "-" * width  # the rule fills the paper exactly
    columns = [ln for ln in lines if ln.endswith("42.00")]
    assert columns and text_width(columns[0]) == width
    row = next(ln for ln in lines if "苹果" in ln)
    assert text_width(row) == width and row.endswith("13.60")
    assert all(text_width(ln) <= width for ln in lines)


def test_text_is_nfc_and_invisible_characters_are_dropped() -> None:
    assert sanitize("Cafe\u0301") == sanitize("Café")  # one é, not e + '?'
    assert sanitize("zero\u200bwidth\u200d joiner\ufeff") == "zerowidth joiner"
    assert sanitize("好\ufe0f评") == "好评"  # a variation selector takes no column
    assert sanitize("👍\ufe0f") == "?"  # the emoji cannot print; its selector is not a 2nd '?'
    assert sanitize("\U000e0101中") == "中"


@pytest.mark.parametrize("ec", ["L", "M", "Q", "H"])
def test_qr_payload_over_its_capacity_is_refused(ec: str) -> None:
    capacity = QR_BYTE_CAPACITY[ec]
    render([QR("x" * capacity, ec=ec)], 48)
    with pytest.raises(ValueError, match=f"at most {capacity}"):
        render([QR("x" * (capacity + 1), ec=ec)], 48)
    with pytest.raises(ValueError):
        render([QR("码" * (capacity // 3 + 1), ec=ec)], 48)  # UTF-8: 3 bytes a character
