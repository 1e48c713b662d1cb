"""Receipt model -> ESC/POS bytes: golden bytes, Chinese encoding, column math."""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.printer.cjk import char_width, fit, sanitize, text_width, truncate, wrap
from drivers.printer.receipt import (
    QR,
    Barcode,
    Columns,
    Cut,
    DrawerKick,
    Feed,
    Logo,
    Row,
    Rule,
    Text,
    columns_lines,
    encode_text,
    item_from_dict,
    render,
)
from drivers.sim.printer import EscposPrinterSim
from tests.devices.test_replay import escape_log, parse_log

LOGS = Path(__file__).parent / "logs" / "printer"
UPDATE = os.environ.get("GOLDEN_UPDATE") == "1"

CHINESE_RECEIPT = [
    Text("好又多超市 (南京东路店)", align="center", bold=True, double_width=True),
    Text("收银员: 张三   POS: 01   单号: 0001-01-20240501-17", align="center"),
    Rule(),
    Row(["商品", "数量", "金额"], widths=(4, 1, 2)),
    Rule(),
    Columns("可口可乐 330ml ×2", "7.00"),
    Columns("Organic bananas 有机香蕉 1.234kg @ 9.98/kg", "12.32"),
    Columns("农夫山泉饮用天然水550ml 特价促销装", "2.00"),
    Columns("Tissue", "-0.50"),
    Rule("="),
    Text("合计 ¥20.82", align="right", bold=True, double_width=True, double_height=True),
    Columns("微信支付", "20.82"),
    Feed(1),
    Text("谢谢惠顾, 欢迎再来!", align="center"),
    QR("https://example.com/r/0001-01-20240501-17"),
    Barcode("0001012024050117"),
    Barcode("690123456789", kind="EAN13"),
    DrawerKick(),
    Feed(2),
    Cut(),
]


def _log_path(width: int) -> Path:
    return LOGS / f"escpos-receipt_cn_{width}.log"


def _write_log(path: Path, data: bytes, width: int) -> None:
    # One chunk per printed line, as a host would write it.
    chunks = [c + b"\n" for c in data.split(b"\n")]
    chunks[-1] = chunks[-1][:-1]
    lines = [f'#! {{"host": true, "width": {width}}}',
             f"# render(CHINESE_RECEIPT, width_cols={width}) from test_printer_receipt.py"]
    lines += [escape_log(c) for c in chunks if c]
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("width", [32, 48])
def test_chinese_receipt_bytes_match_golden_log(width: int) -> None:
    data = render(CHINESE_RECEIPT, width_cols=width)
    path = _log_path(width)
    if UPDATE:
        _write_log(path, data, width)
    chunks, options = parse_log(path.read_bytes())
    assert options == {"host": True, "width": width}
    assert b"".join(chunks) == data


@pytest.mark.parametrize("width", [32, 48])
def test_chinese_receipt_rendering(width: int) -> None:
    sim = EscposPrinterSim(width=width, lines_per_s=None)
    sim.feed(render(CHINESE_RECEIPT, width_cols=width))
    assert sim.current is None and len(sim.receipts) == 1
    receipt = sim.receipts[0]
    assert receipt.complete and receipt.cut == "partial"
    text = receipt.text()
    # Every single-size text line fits the paper exactly as the column math says.
    for line in receipt.lines:
        if line.size == (1, 1) and not line.text.lstrip().startswith("["):
            assert text_width(line.text) <= width
    assert "-" * width in text and "=" * width in text
    cola = next(t for t in text if t.startswith("可口可乐"))
    assert cola.endswith("7.00") and text_width(cola) == width
    assert any("[QR:https://example.com/r/0001-01-20240501-17]" in t for t in text)
    assert any("[BARCODE CODE128:0001012024050117]" in t for t in text)
    assert any("[BARCODE EAN13:6901234567892]" in t for t in text)
    assert sim.kicks == [{"pin": 2, "on_ms": 100, "off_ms": 200}]
    assert sim.garbage_bytes == 0


def test_cjk_runs_are_wrapped_in_kanji_mode_and_gb_encoded() -> None:
    assert encode_text("ab中文c") == b"ab\x1c&" + "中文".encode("gb18030") + b"\x1c.c"
    assert encode_text("可乐") == b"\x1c&\xbf\xc9\xc0\xd6\x1c."
    assert encode_text("plain") == b"plain"
    data = render([Text("合计")], 32)
    assert data.startswith(b"\x1b@")
    assert b"\x1c&\xba\xcf\xbc\xc6\x1c.\n" in data


def test_item_names_cannot_inject_commands() -> None:
    data = render([Columns("evil\x1bp\x00\x19\xfa\x1dV\x00name", "1.00")], 32)
    assert b"\x1bp" not in data and b"\x1dV" not in data
    assert sanitize("a\x1b@b\nc") == "a @b c"


def test_text_styles_and_double_width_wrap() -> None:
    data = render([Text("ABCDEFGHIJKLMNOPQRST", align="center", bold=True, double_width=True,
                        double_height=True)], 32)
    assert b"\x1ba\x01" in data and b"\x1bE\x01" in data and b"\x1d!\x11" in data
    sim = EscposPrinterSim(width=32, lines_per_s=None)
    sim.feed(data)
    # 16 double-width columns per line on 32-column paper.
    assert [ln.text.strip() for ln in sim.current.lines] == ["ABCDEFGHIJKLMNOP", "QRST"]
    assert sim.current.lines[0].bold and sim.current.lines[0].size == (2, 2)
    # Modes are reset at the end so the next job starts plain.
    assert data.endswith(b"\x1ba\x00\x1bE\x00\x1d!\x00")


def test_qr_barcode_cut_kick_bytes() -> None:
    qr = render([QR("hi", size=4, ec="H")], 32)
    assert b"\x1d(k\x04\x001A2\x00" in qr
    assert b"\x1d(k\x03\x001C\x04" in qr and b"\x1d(k\x03\x001E3" in qr
    assert b"\x1d(k\x05\x001P0hi" in qr and b"\x1d(k\x03\x001Q0" in qr
    code128 = render([Barcode("A{1")], 32)
    assert b"\x1dkI\x06{BA{{1" in code128
    ean = render([Barcode("6901234567892", kind="EAN13")], 32)
    assert b"\x1dH\x02" in ean and b"\x1dkC\x0c690123456789" in ean
    with pytest.raises(ValueError):
        render([Barcode("6901234567891", kind="EAN13")], 32)
    with pytest.raises(ValueError):
        render([Barcode("中文")], 32)
    assert render([Cut(partial=False)], 32).endswith(b"\x1dVA\x00")
    assert render([Cut()], 32).endswith(b"\x1dVB\x00")
    assert b"\x1bp\x00\x32\x64" in render([DrawerKick()], 32)
    assert b"\x1bp\x01\x19\x19" in render([DrawerKick(pin=5, on_ms=50, off_ms=50)], 32)


def test_logo_raster_and_feed() -> None:
    logo = Logo(bytes([0xFF, 0x00]) * 4, width=16, height=4)
    data = render([Logo(logo.data, 16, 4), Feed(3)], 32)
    assert b"\x1dv0\x00\x02\x00\x04\x00" + logo.data in data
    sim = EscposPrinterSim(width=32, lines_per_s=None)
    sim.feed(data)
    # Centered marker, the LF after the image, then the three fed lines.
    assert sim.current.text() == [" " * 10 + "[IMAGE 16x4]", "", "", "", ""]
    with pytest.raises(ValueError):
        Logo(b"\x00", width=16, height=4)


def test_item_from_dict() -> None:
    assert item_from_dict({"type": "text", "text": "x", "align": "center"}) == Text("x", "center")
    assert item_from_dict({"type": "columns", "left": "a", "right": "b"}) == Columns("a", "b")
    with pytest.raises(ValueError):
        item_from_dict({"type": "nope"})


def test_wrap_never_splits_wide_chars() -> None:
    assert wrap("中文字符串", 5) == ["中文", "字符", "串"]
    assert truncate("中文", 3) == "中"
    assert fit("中文", 3) == "中 "
    assert fit("中", 5, "right") == "   中"


# -- alignment property --------------------------------------------------------------------
CJK = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5)
ASCII = st.characters(min_codepoint=0x20, max_codepoint=0x7E)
NAMES = st.text(st.one_of(CJK, ASCII, st.sampled_from("×¥·é")), max_size=60)
PRICES = st.integers(min_value=-10**7, max_value=10**9).map(lambda f: f"{f / 100:.2f}")


@settings(max_examples=300, deadline=None)
@given(name=NAMES, price=PRICES, width=st.sampled_from([32, 48]), wrap_left=st.booleans())
def test_every_columns_row_is_exactly_the_paper_width(name, price, width, wrap_left) -> None:
    left, right = sanitize(name), sanitize(price)
    lines = columns_lines(left, right, width, wrap_left)
    assert all(text_width(line) == width for line in lines)
    assert lines[0].endswith(right)
    if wrap_left:  # nothing of the name is lost, only spaces at the breaks
        parts = [lines[0][: -(len(right) + 1)], *lines[1:]]
        assert "".join(parts).replace(" ", "") == left.replace(" ", "")
    # And the printer agrees: the simulator renders each row at the same width.
    sim = EscposPrinterSim(width=width, lines_per_s=None)
    sim.feed(render([Columns(name, price, wrap=wrap_left)], width))
    rendered = sim.current.text()
    assert rendered == [line.rstrip(" ") for line in lines]


@given(st.text(st.one_of(CJK, ASCII), max_size=80), st.integers(min_value=2, max_value=48))
def test_wrap_lines_fit(text, width) -> None:
    lines = wrap(text, width)
    assert all(text_width(line) <= width for line in lines)


@given(st.text(max_size=40))
def test_sanitized_text_widths_follow_east_asian_width(text) -> None:
    for ch in sanitize(text):
        assert ord(ch) >= 0x20
        eaw = unicodedata.east_asian_width(ch)
        assert char_width(ch) == (1 if ord(ch) < 0x80 else 2)
        if ord(ch) >= 0x80:
            assert eaw in ("W", "F", "A")
            assert len(ch.encode("gb18030")) == 2
