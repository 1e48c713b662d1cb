"""Price labels (价签): what a shelf label says about an item, and printing them.

Functional core (pure, tested without a printer):

    offer_now(item, promotions, now) -> Offer | None   the price of one unit now, when a
                                                        live promotion makes it lower
    price_label(item, offer, size, copies) -> Label    the layout, in printer dots

A label shows the item's name (cut to the label's width), its price in yuan per unit
("￥3.50 /件", "￥12.80 /kg": the fullwidth ￥ of GB2312, which the printer's font has),
while a promotion is live for a non-member buying one unit (a time price; "3 for ¥10"
needs three, so it is not the price of one) the promotion price in large type with the
list price and the promotion's name small ("原价 ￥3.50 ..."), and a barcode: the item's
EAN-13 when it has one, else the sku as CODE128.

`LabelService.print(skus, copies, device)` looks every sku up first (one unknown: nothing
is printed), then prints the labels on the label printer in batches of `BATCH` skus,
publishing `label.progress {device, done, total}` after each, so a shelf of 300 items shows
how far it got; a batch the printer refuses or does not confirm stops there with the skus
confirmed so far in the error.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any, cast

from drivers.base import DeviceBusy, DeviceOffline
from drivers.label.codec import DOTS_PER_MM, Barcode, Element, Label, Text
from gatewayd.devices import pick
from gatewayd.sales.barcodes import ean13_check_digit
from gatewayd.sales.money import format_yuan
from gatewayd.sales.promotions import PromoLine, Promotion, apply_promotions
from protocol.errors import ProtocolError

if TYPE_CHECKING:
    from drivers.label.device import TsplLabelPrinter
    from gatewayd.ports import Devices, Publish
    from gatewayd.sales.catalog import Catalog
    from gatewayd.sales.catalog.repository import Item

BATCH = 20
UNITS = {"pc": "件", "kg": "kg"}
FONT_DOTS = 24  # TSS24.BF2: 24x24 dots for a Chinese character, 12 wide for ASCII


@dataclass(frozen=True)
class Offer:
    price: int  # fen per unit under the promotion
    label: str  # the promotion's name


@dataclass(frozen=True)
class LabelSize:
    width_mm: int = 40
    height_mm: int = 30
    gap_mm: int = 2


def offer_now(item: Item, promotions: Sequence[Promotion], now: datetime) -> Offer | None:
    """The per-unit price a customer without a membership pays for one unit now, when a
    promotion makes it lower than the list price."""
    line = PromoLine("label", item.sku, item.category, item.unit, item.price, 1000)
    applied = apply_promotions([line], promotions, now=now, member=False)["label"]
    if applied.discount <= 0 or not applied.applied:
        return None
    return Offer(item.price - applied.discount, applied.applied[0].label)


def text_dots(text: str) -> int:
    return sum(FONT_DOTS if ord(ch) > 0x7F else FONT_DOTS // 2 for ch in text)


def fit(text: str, dots: int, mul: int = 1) -> str:
    """`text` cut to `dots` wide in the Chinese font at `mul` times its size."""
    out, used = [], 0
    for ch in text:
        w = (FONT_DOTS if ord(ch) > 0x7F else FONT_DOTS // 2) * mul
        if used + w > dots:
            break
        out.append(ch)
        used += w
    return "".join(out)


def label_barcode(item: Item) -> tuple[str, str]:
    """(type, data): the item's EAN-13 if it has a valid one, else its sku as CODE128."""
    for code in item.barcodes:
        if len(code) == 13 and code.isdigit() and ean13_check_digit(code[:12]) == int(code[12]):
            return "EAN13", code
    return "128", item.sku


def price_label(item: Item, offer: Offer | None, size: LabelSize = LabelSize(),
                copies: int = 1) -> Label:
    width, height = size.width_mm * DOTS_PER_MM, size.height_mm * DOTS_PER_MM
    margin = 2 * DOTS_PER_MM
    inner = width - 2 * margin
    unit = f"/{UNITS.get(item.unit, item.unit)}"
    els: list[Element] = [Text(margin, margin, fit(item.name, inner))]
    y = margin + FONT_DOTS + 6
    shown = offer.price if offer else item.price
    price = f"￥{format_yuan(shown)}"
    mul = 2 if text_dots(price + unit) * 2 <= inner else 1
    els.append(Text(margin, y, price, mul=mul))
    els.append(Text(margin + text_dots(price) * mul + 4, y + (FONT_DOTS * (mul - 1)), unit))
    y += FONT_DOTS * mul + 4
    if offer is not None:
        els.append(Text(margin, y, fit(f"原价 ￥{format_yuan(item.price)} {offer.label}",
                                       inner)))
        y += FONT_DOTS + 4
    kind, data = label_barcode(item)
    bar_h = max(24, height - y - margin - FONT_DOTS - 4)
    els.append(Barcode(margin, y, data, type=kind, height=min(bar_h, 64)))  # type: ignore[arg-type]
    return Label(size.width_mm, size.height_mm, tuple(els), gap_mm=size.gap_mm, copies=copies)


class LabelService:
    """Price labels from the catalog on the till's label printer (`devices`, kind label)."""

    def __init__(self, catalog: Catalog, devices: Devices, *, publish: Publish,
                 promotions: Callable[[], Sequence[Promotion]], tz: tzinfo):
        self.catalog = catalog
        self.devices = devices
        self.publish = publish
        self.promotions = promotions
        self.tz = tz

    def labels(self, skus: Sequence[str], copies: int, size: LabelSize) -> list[Label]:
        items = {sku: self.catalog.get(sku) for sku in dict.fromkeys(skus)}
        missing = [sku for sku, item in items.items() if item is None]
        if missing:
            raise ProtocolError("not_found", f"no item {', '.join(missing)} in the catalog",
                                {"skus": missing})
        now = datetime.now(self.tz)
        promos = self.promotions()
        return [price_label(cast("Item", items[sku]),
                            offer_now(cast("Item", items[sku]), promos, now), size, copies)
                for sku in skus]

    async def print(self, skus: Sequence[str], copies: int,
                    device: str | None) -> dict[str, Any]:
        dev = cast("TsplLabelPrinter", pick(self.devices, "label", device))
        width, height, gap = dev.label_size
        labels = self.labels(skus, copies, LabelSize(width, height, gap))
        done: list[str] = []
        result = "printed"
        for start in range(0, len(labels), BATCH):
            batch = labels[start:start + BATCH]
            try:
                result = await dev.print_labels(batch)
            except DeviceOffline as exc:
                raise ProtocolError("device_offline", str(exc),
                                    {"device": dev.info.id, "printed": done}) from None
            except DeviceBusy as exc:
                reason = getattr(exc, "reason", "busy")
                raise ProtocolError(
                    "device_busy", f"{exc}; printed before it: {len(done)} of {len(skus)}",
                    {"device": dev.info.id, "reason": reason, "printed": done}) from None
            done.extend(skus[start:start + BATCH])
            self.publish("label.progress", {"device": dev.info.id, "done": len(done),
                                            "total": len(skus)})
        return {"device": dev.info.id, "skus": done, "labels": len(done) * copies,
                "result": result}
