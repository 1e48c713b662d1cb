"""python-escpos as an independent oracle for the bytes our receipt renderer writes.

For the same content, our barcode, QR, cut, drawer-kick and raster-image commands must be the
bytes python-escpos (a separate implementation of the Epson reference) writes, or differ only
where a test below says why. python-escpos is also the printer *host* in the simulator
fidelity test at the end: its output must render on our simulator as it would on a printer.
"""

from __future__ import annotations

import pytest
from escpos.printer import Dummy
from PIL import Image, ImageDraw

from drivers.printer.receipt import QR, Barcode, Cut, DrawerKick, Logo, render
from drivers.sim.printer import EscposPrinterSim

INIT = b"\x1b@"
CENTER = b"\x1ba\x01"


def _ours(*items) -> bytes:
    """Our bytes for `items`, without the ESC @ our renderer starts every job with and the
    ESC a 0 it ends one with (a job leaves the printer's modes as it found them)."""
    data = render(list(items), 48)
    assert data.startswith(INIT)
    return data[len(INIT):].removesuffix(b"\x1ba\x00")


def _theirs(fn) -> bytes:
    p = Dummy()
    fn(p)
    return p.output


@pytest.mark.parametrize("ec", ["L", "M", "Q", "H"])
@pytest.mark.parametrize("data", ["https://example.com/r/S001-T01-20250301-0042", "收据 42"])
def test_qr_is_the_oracles_native_qr(data: str, ec: str) -> None:
    from escpos import constants

    level = {"L": constants.QR_ECLEVEL_L, "M": constants.QR_ECLEVEL_M,
             "Q": constants.QR_ECLEVEL_Q, "H": constants.QR_ECLEVEL_H}[ec]
    theirs = _theirs(lambda p: p.qr(data, ec=level, size=6, model=constants.QR_MODEL_2,
                                    native=True))
    # Ours centres the symbol and ends the line (python-escpos leaves both to the caller).
    assert _ours(QR(data, size=6, ec=ec)) == CENTER + theirs + b"\n"


@pytest.mark.parametrize(("ours", "code", "kind"), [
    (Barcode("ABC-123", kind="CODE128"), "{BABC-123", "CODE128"),
    (Barcode("6901234567892", kind="EAN13"), "690123456789", "EAN13"),
])
def test_barcodes_are_the_oracles(ours: Barcode, code: str, kind: str) -> None:
    theirs = _theirs(lambda p: p.barcode(code, kind, height=80, width=2, pos="BELOW",
                                         font="A", align_ct=True, function_type="B",
                                         check=False))
    # The one difference: python-escpos also sends GS f 0 (HRI font A), which is the
    # printer's default after ESC @, so ours leaves it out.
    assert theirs.replace(b"\x1df\x00", b"") + b"\n" == _ours(ours)


def test_cut_is_the_oracles() -> None:
    # GS V 66 0: feed to the cutting position, then cut partially (function B).
    assert _ours(Cut(partial=True)) == _theirs(lambda p: p.cut(mode="PART", feed=False))
    # A full cut differs on purpose: python-escpos feeds six lines (ESC d 6) and sends GS V 0
    # (function A, cut where the paper is); ours sends GS V 65 0 (function B), which feeds
    # exactly to the cutter, so the last line is not cut through and no paper is wasted.
    assert _theirs(lambda p: p.cut(mode="FULL")) == b"\x1bd\x06\x1dV\x00"
    assert _ours(Cut(partial=False)) == b"\x1dVA\x00"


@pytest.mark.parametrize("pin", [2, 5])
def test_drawer_kick_is_the_oracles(pin: int) -> None:
    m = 0 if pin == 2 else 1
    assert _ours(DrawerKick(pin, 100, 200)) == _theirs(
        lambda p: p.cashdraw([0x1B, 0x70, m, 50, 100]))
    # python-escpos's preset pulse is ESC p m 50 50 (100 ms on, 100 ms off); ours waits
    # 200 ms off by default: drawers wired to cheap 24 V solenoids need the longer rest.
    assert _theirs(lambda p: p.cashdraw(pin)) == bytes([0x1B, 0x70, m, 50, 50])


def _logo() -> Image.Image:
    """A transparent-background logo, as PNG logos usually are: black text on alpha 0."""
    img = Image.new("RGBA", (100, 40), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    draw.rectangle((10, 10, 60, 30), fill=(0, 0, 0, 255))
    draw.ellipse((70, 5, 95, 35), fill=(200, 30, 30, 255))
    return img


def test_raster_image_is_the_oracles() -> None:
    img = _logo()
    theirs = _theirs(lambda p: p.image(img, impl="bitImageRaster", center=False))
    ours = _ours(Logo.from_image(img))
    assert ours == CENTER + theirs + b"\n"
    # and the transparent background prints white, not as a black box
    logo = Logo.from_image(img)
    assert sum(bin(b).count("1") for b in logo.data) < logo.width * logo.height // 2


def test_the_oracle_as_host_renders_on_the_simulator() -> None:
    """python-escpos drives our simulator as it would drive a printer: code pages for
    accents, Cyrillic and the euro sign, a barcode, a QR code, an image and a cut."""
    p = Dummy()
    p.set(align="center", bold=True)
    p.text("Café €5 Привет\n")
    p.set(align="left", bold=False)
    p.barcode("{BABC-123", "CODE128", function_type="B", check=False)
    p.qr("hello", native=True)
    p.image(_logo(), impl="bitImageRaster", center=False)
    p.cut()
    sim = EscposPrinterSim(width=48, lines_per_s=None)
    sim.feed(p.output)
    (r,) = sim.receipts
    text = r.text()
    assert text[0].strip() == "Café €5 Привет" and r.lines[0].bold
    assert "[BARCODE CODE128:ABC-123]" in "\n".join(text)
    assert "[QR:hello]" in "\n".join(text)
    assert "[IMAGE 104x40]" in "\n".join(text)
    assert r.complete and sim.garbage_bytes == 0
