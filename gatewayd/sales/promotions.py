"""Promotions: models (parsed from plain dicts) and the best-price evaluation. Pure.

Promotions come from TOML or a ``promo.upsert`` call as plain dicts, one pydantic model per
``kind``. Common fields (all kinds)::

    id            str, unique, also the tie-breaker (see below)
    kind          "qty_tier" | "mix_match" | "buy_x_get_y" | "time_price"
    name          optional label shown on the line instead of the generated one
    active        bool, default true
    members_only  bool, default false: only when a member is on the sale
    valid_from / valid_until   optional aware datetimes, [from, until)
    skus / categories          which items it applies to (an item matches if its sku is in
                               ``skus`` or its category in ``categories``); one is required

Kinds (money in fen, percentages in basis points: 10000 = 100 %)::

    qty_tier     qty, price        "3 for ¥10": every complete group of ``qty`` pieces of the
                                   *same* sku costs ``price``
    mix_match    qty, price        "any 3 for ¥20": any ``qty`` pieces from the set cost ``price``
    buy_x_get_y  buy, get, percent_bp=10000, get_skus, get_categories
                                   buy ``buy`` pieces, get ``get`` pieces ``percent_bp`` off
                                   (10000 = free). Without get_skus/get_categories the reward
                                   comes from the same set: pieces are sorted by price, highest
                                   first, cut into groups of buy+get, and the cheapest ``get``
                                   of each group are the reward. With a separate get set, each
                                   group takes the cheapest ``get`` pieces of the get set as
                                   the reward and ``buy`` pieces of the buy set as qualifiers.
    time_price   weekdays=[1..7], start="00:00", end=None, price | percent_bp
                                   a per-unit price (fen per piece or per kg) or a percent off
                                   while ``now`` is inside the window. ISO weekdays (1=Mon).
                                   ``end`` is exclusive, None = midnight; ``end < start`` wraps
                                   past midnight and the late part belongs to the start day.

Member benefits are not configured kinds. The catalog item's ``member_price`` (offered
under the id ``"member_price"``, label "member price") and the member tier's percent off
(id ``"member_discount"``, label "member -5%") are per-unit offers the caller passes on the
line (``PromoLine.member_price`` / ``member_discount_bp``) only when the customer may have
them. They compete with the promotions like any offer, so a member never ends up worse off
because a promotion exists.

    parse_promotion(data) -> Promotion       # PromotionError naming the bad field
    parse_promotions(items) -> tuple[Promotion, ...]   # + duplicate id check
    apply_promotions(lines, promotions, *, now, member, rounding="half_up")
        -> dict[line_id, LinePromotions]

The best-price rule (exact, deterministic, independent of the order of lines and
promotions):

1. *Per-unit offers.* For each line, every live ``time_price`` promotion that matches it,
   its member price and the member tier discount are offers. The line's offer is the one
   with the largest discount on the whole line; ties go to the lower promotion id
   ("member_discount" and "member_price" compare as ids too). The offer's per-unit price
   is the line's *baseline* price.
2. *Group promotions* (qty_tier, mix_match, buy_x_get_y) work on whole pieces of "pc" lines
   (weighed items and fractions of a piece never take part). They compete in rounds: in
   each round every group promotion not yet used is applied as fully as it can to the
   pieces still free, counting only groups that cost at least one fen less than the same
   pieces at their baseline price; its saving is measured against that baseline. The
   promotion with the largest saving wins the round (ties: fewer pieces, then lower
   promotion id), takes its pieces, and is used up. Rounds repeat until no promotion
   saves anything.
3. Whatever is left of each line (free pieces, fractions, weighed quantities) gets the
   line's per-unit offer.

A piece gets at most one promotion. The rule is greedy, not an exhaustive optimum: the
customer pays no more than with the per-unit offers alone (up to one fen of re-rounding per
line when a percent offer is split), and the first round is the single best promotion.
Pieces with equal keys are ordered by line id, so shuffling the lines changes nothing. A
group's discount is spread over the lines of its rewarded pieces in proportion to their list
amount (largest remainder, ties by line id). A line that only qualified a buy-x-get-y
(paid in full) still lists it, with a discount of 0. Cost: about O(P^2 x pieces) for P group
promotions on the sale's whole pieces (1-2 ms for 50 lines and 10 promotions); a caller
should cap absurd quantities before pricing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Annotated, Any, Literal, NamedTuple

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from .money import QTY_ONE, allocate, format_percent, format_yuan, line_amount, percent_of

__all__ = [
    "MEMBER_DISCOUNT_ID",
    "MEMBER_IDS",
    "MEMBER_PRICE_ID",
    "Applied",
    "BuyXGetY",
    "LinePromotions",
    "MixMatch",
    "PromoLine",
    "Promotion",
    "PromotionError",
    "QtyTier",
    "TimePrice",
    "apply_promotions",
    "parse_promotion",
    "parse_promotions",
]

MEMBER_PRICE_ID = "member_price"
_SCALE = 10000  # baselines are kept in 1/10000 fen so percent offers stay exact
MEMBER_DISCOUNT_ID = "member_discount"
MEMBER_IDS = (MEMBER_DISCOUNT_ID, MEMBER_PRICE_ID)

Fen = Annotated[StrictInt, Field(ge=0, le=10**11)]
Percent = Annotated[StrictInt, Field(ge=1, le=10000)]


class _Promo(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1, max_length=64)
    name: str | None = None
    active: StrictBool = True
    members_only: StrictBool = False
    valid_from: AwareDatetime | None = None
    valid_until: AwareDatetime | None = None
    skus: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _common(self) -> _Promo:
        if not self.skus and not self.categories:
            raise ValueError("skus or categories: at least one is required")
        if self.valid_from and self.valid_until and self.valid_until <= self.valid_from:
            raise ValueError("valid_until: must be after valid_from")
        return self

    def matches(self, sku: str, category: str | None) -> bool:
        return sku in self.skus or (category is not None and category in self.categories)

    def live(self, now: datetime, is_member: bool) -> bool:
        """Active, inside its validity dates, and allowed for this customer at ``now``."""
        if not self.active or (self.members_only and not is_member):
            return False
        if self.valid_from is not None and now < self.valid_from:
            return False
        return not (self.valid_until is not None and now >= self.valid_until)

    @property
    def label(self) -> str:
        return self.name or self._auto_label()

    def _auto_label(self) -> str:  # pragma: no cover - overridden
        return self.id


class QtyTier(_Promo):
    kind: Literal["qty_tier"] = "qty_tier"
    qty: StrictInt = Field(ge=2, le=1000)
    price: Fen

    def _auto_label(self) -> str:
        return f"{self.qty} for ¥{format_yuan(self.price)}"


class MixMatch(_Promo):
    kind: Literal["mix_match"] = "mix_match"
    qty: StrictInt = Field(ge=2, le=1000)
    price: Fen

    def _auto_label(self) -> str:
        return f"any {self.qty} for ¥{format_yuan(self.price)}"


class BuyXGetY(_Promo):
    kind: Literal["buy_x_get_y"] = "buy_x_get_y"
    buy: StrictInt = Field(ge=1, le=1000)
    get: StrictInt = Field(ge=1, le=1000)
    percent_bp: Percent = 10000
    get_skus: tuple[str, ...] = ()
    get_categories: tuple[str, ...] = ()

    @property
    def mixed(self) -> bool:
        return bool(self.get_skus or self.get_categories)

    def rewards(self, sku: str, category: str | None) -> bool:
        if not self.mixed:
            return self.matches(sku, category)
        return sku in self.get_skus or (category is not None and category in self.get_categories)

    def _auto_label(self) -> str:
        text = f"buy {self.buy} get {self.get}"
        if self.percent_bp != 10000:
            text += f" at {format_percent(self.percent_bp)} off"
        return text


class TimePrice(_Promo):
    kind: Literal["time_price"] = "time_price"
    weekdays: tuple[StrictInt, ...] = (1, 2, 3, 4, 5, 6, 7)
    start: time = time(0, 0)
    end: time | None = None
    price: Fen | None = None
    percent_bp: Percent | None = None

    @field_validator("weekdays")
    @classmethod
    def _weekdays(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        if not v:
            raise ValueError("at least one weekday (1=Monday .. 7=Sunday) is required")
        for d in v:
            if not 1 <= d <= 7:
                raise ValueError(f"weekday {d} is not in 1..7 (1=Monday)")
        return tuple(sorted(set(v)))

    @field_validator("start", "end")
    @classmethod
    def _naive(cls, v: time | None) -> time | None:
        if v is not None and v.tzinfo is not None:
            raise ValueError("a local wall-clock time without a timezone is expected")
        return v

    @model_validator(mode="after")
    def _one_price(self) -> TimePrice:
        if (self.price is None) == (self.percent_bp is None):
            raise ValueError("price or percent_bp: exactly one is required")
        if self.end is not None and self.end == self.start:
            raise ValueError("end: must differ from start (leave it out to end at midnight)")
        return self

    def in_window(self, now: datetime) -> bool:
        t = now.time()
        day = now.isoweekday()
        if self.end is None or self.start < self.end:
            inside = t >= self.start and (self.end is None or t < self.end)
            return inside and day in self.weekdays
        # wraps past midnight: [start, 24:00) on the day, [00:00, end) on the next day
        if t >= self.start:
            return day in self.weekdays
        if t < self.end:
            return (now - timedelta(days=1)).isoweekday() in self.weekdays
        return False

    def live(self, now: datetime, is_member: bool) -> bool:
        return super().live(now, is_member) and self.in_window(now)

    def _auto_label(self) -> str:
        end = self.end.strftime("%H:%M") if self.end else "24:00"
        window = f"{self.start.strftime('%H:%M')}-{end}"
        if self.price is not None:
            return f"¥{format_yuan(self.price)} {window}"
        return f"{format_percent(self.percent_bp or 0)} off {window}"


Promotion = Annotated[QtyTier | MixMatch | BuyXGetY | TimePrice, Field(discriminator="kind")]
_ADAPTER: TypeAdapter[Any] = TypeAdapter(Promotion)
KINDS = ("qty_tier", "mix_match", "buy_x_get_y", "time_price")


class PromotionError(ValueError):
    """Invalid promotion data. ``errors`` is a list of ``{"field", "message"}``."""

    def __init__(self, errors: list[dict[str, str]]):
        self.errors = errors
        super().__init__("; ".join(f"{e['field']}: {e['message']}" for e in errors))


def _field_errors(exc: ValidationError, prefix: str = "") -> list[dict[str, str]]:
    out = []
    for err in exc.errors():
        loc = list(err["loc"])
        if loc and loc[0] in KINDS:  # the discriminated union puts the tag first
            loc = loc[1:]
        if err["type"] in ("union_tag_not_found", "union_tag_invalid"):
            loc = ["kind"]
            message = f"must be one of {', '.join(KINDS)}"
        else:
            message = err["msg"].removeprefix("Value error, ")
            # model-level checks name their fields in the message ("skus or categories: ...")
            head, sep, rest = message.partition(": ")
            if not loc and sep and " " not in head.replace(" or ", "_"):
                loc, message = [head], rest
        name = ".".join(str(p) for p in loc) or "promotion"
        out.append({"field": f"{prefix}{name}", "message": message})
    return out


def parse_promotion(data: Mapping[str, Any]) -> Promotion:
    """Validate one promotion dict; ``PromotionError`` names each bad field."""
    if not isinstance(data, Mapping):
        raise PromotionError([{"field": "promotion", "message": "expected a table/map"}])
    try:
        return _ADAPTER.validate_python(dict(data))
    except ValidationError as exc:
        raise PromotionError(_field_errors(exc)) from None


def parse_promotions(items: Iterable[Mapping[str, Any]]) -> tuple[Promotion, ...]:
    """Validate a list of promotion dicts: all or none. Fields are named ``[i].field``."""
    out: list[Promotion] = []
    errors: list[dict[str, str]] = []
    seen: dict[str, int] = {}
    for i, item in enumerate(items):
        try:
            promo = parse_promotion(item)
        except PromotionError as exc:
            errors += [
                {"field": f"[{i}].{e['field']}", "message": e["message"]} for e in exc.errors
            ]
            continue
        if promo.id in seen:
            errors.append({"field": f"[{i}].id", "message": f"duplicate id {promo.id!r}"})
        seen[promo.id] = i
        out.append(promo)
    if errors:
        raise PromotionError(errors)
    return tuple(out)


# --------------------------------------------------------------------------- evaluation


class PromoLine(NamedTuple):
    """What promotion evaluation needs to know about one (non-voided) line."""

    line_id: str
    sku: str
    category: str | None
    unit: str  # "pc" | "kg"
    unit_price: int  # list price in fen per unit
    qty: int  # thousandths
    member_price: int | None = None  # set only when this customer may have the member price
    member_discount_bp: int = 0  # the member tier's percent off, when a member is on the sale


@dataclass(frozen=True)
class Applied:
    """One promotion on one line: ``discount`` fen of it landed on this line."""

    promo_id: str
    label: str
    discount: int


@dataclass(frozen=True)
class LinePromotions:
    line_id: str
    discount: int  # total promotional discount on the line, 0 <= discount <= list amount
    applied: tuple[Applied, ...]


@dataclass(frozen=True)
class _Offer:
    promo_id: str
    label: str
    price: int | None  # fixed per-unit price, or
    percent_bp: int | None  # percent off

    def discount(self, unit_price: int, qty: int, rounding: str) -> int:
        gross = line_amount(unit_price, qty, rounding)
        if self.price is not None:
            return max(0, gross - line_amount(self.price, qty, rounding))
        return percent_of(gross, self.percent_bp or 0, rounding)

    def unit_value(self, unit_price: int) -> int:
        """The per-unit price under this offer, in 1/10000 fen (exact for percents)."""
        if self.price is not None:
            return min(unit_price, self.price) * _SCALE
        return unit_price * (10000 - (self.percent_bp or 0))


@dataclass
class _Group:
    pieces: list[int]  # line indices, one per piece taken
    rewarded: list[int]  # line indices of the pieces the discount lands on
    discount: int  # vs list price


@dataclass
class _Candidate:
    promo: Any
    saving: int  # vs baseline, in 1/10000 fen
    groups: list[_Group]

    @property
    def size(self) -> int:
        return sum(len(g.pieces) for g in self.groups)


def apply_promotions(
    lines: Sequence[PromoLine],
    promotions: Iterable[Promotion],
    *,
    now: datetime,
    member: bool,
    rounding: str = "half_up",
) -> dict[str, LinePromotions]:
    """Choose and apply promotions (the rule is in the module docstring)."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be an aware datetime")
    live = sorted((p for p in promotions if p.live(now, member)), key=lambda p: p.id)
    n = len(lines)

    # 1. per-unit offers and baselines
    offers: list[_Offer | None] = []
    baseline: list[int] = []  # per-unit baseline price in 1/10000 fen
    for ln in lines:
        cands: list[_Offer] = []
        if ln.member_price is not None:
            cands.append(_Offer(MEMBER_PRICE_ID, "member price", ln.member_price, None))
        if ln.member_discount_bp:
            label = f"member -{format_percent(ln.member_discount_bp)}"
            cands.append(_Offer(MEMBER_DISCOUNT_ID, label, None, ln.member_discount_bp))
        for p in live:
            if isinstance(p, TimePrice) and p.matches(ln.sku, ln.category):
                cands.append(_Offer(p.id, p.label, p.price, p.percent_bp))
        best: _Offer | None = None
        best_d = 0
        for c in sorted(cands, key=lambda o: o.promo_id):
            d = c.discount(ln.unit_price, ln.qty, rounding)
            if d > best_d:
                best, best_d = c, d
        offers.append(best)
        baseline.append(best.unit_value(ln.unit_price) if best else ln.unit_price * _SCALE)

    # 2. group promotions over whole pieces
    avail = [ln.qty // QTY_ONE if ln.unit == "pc" else 0 for ln in lines]
    by_id = sorted(range(n), key=lambda i: lines[i].line_id)
    applied: list[list[Applied]] = [[] for _ in range(n)]
    promo_disc = [0] * n
    taken = [0] * n
    group_promos = [p for p in live if not isinstance(p, TimePrice)]
    reach = {p.id: {i for i in range(n) if _touches(p, lines[i])} for p in group_promos}
    cache: dict[str, _Candidate | None] = {}
    while group_promos:
        best_c: _Candidate | None = None
        for p in group_promos:
            if p.id not in cache:
                cache[p.id] = _evaluate(p, lines, avail, baseline, by_id, rounding)
            cand = cache[p.id]
            if cand is None or cand.saving <= 0:
                continue
            if best_c is None or (-cand.saving, cand.size, cand.promo.id) < (
                -best_c.saving,
                best_c.size,
                best_c.promo.id,
            ):
                best_c = cand
        if best_c is None:
            break
        group_promos.remove(best_c.promo)
        per_line = [0] * n
        touched: set[int] = set()
        for g in best_c.groups:
            for i in g.pieces:
                avail[i] -= 1
                taken[i] += 1
                touched.add(i)
            order = sorted(set(g.rewarded), key=lambda i: lines[i].line_id)
            weights = [lines[i].unit_price * g.rewarded.count(i) for i in order]
            for i, share in zip(order, allocate(g.discount, weights), strict=True):
                per_line[i] += share
        for i in sorted(touched, key=lambda i: lines[i].line_id):
            applied[i].append(Applied(best_c.promo.id, best_c.promo.label, per_line[i]))
            promo_disc[i] += per_line[i]
        for p in group_promos:  # only promotions that share pieces need a new look
            if reach[p.id] & touched:
                cache.pop(p.id, None)

    # 3. what is left of each line gets its per-unit offer
    result: dict[str, LinePromotions] = {}
    for i, ln in enumerate(lines):
        rest = ln.qty - taken[i] * QTY_ONE
        offer = offers[i]
        if offer is not None and rest > 0:
            d = offer.discount(ln.unit_price, rest, rounding)
            if d > 0:
                applied[i].append(Applied(offer.promo_id, offer.label, d))
                promo_disc[i] += d
        result[ln.line_id] = LinePromotions(ln.line_id, promo_disc[i], tuple(applied[i]))
    return result


def _touches(promo: Any, line: PromoLine) -> bool:
    if line.unit != "pc" or line.qty < QTY_ONE:
        return False
    if promo.matches(line.sku, line.category):
        return True
    return isinstance(promo, BuyXGetY) and promo.rewards(line.sku, line.category)


def _pieces(idx: Iterable[int], avail: Sequence[int]) -> list[int]:
    out: list[int] = []
    for i in idx:
        out.extend([i] * avail[i])
    return out


def _evaluate(
    promo: Any,
    lines: Sequence[PromoLine],
    avail: Sequence[int],
    baseline: Sequence[int],
    by_id: Sequence[int],
    rounding: str,
) -> _Candidate | None:
    groups: list[_Group] = []
    saving = 0
    price = [ln.unit_price for ln in lines]

    def rank_by_baseline(i: int) -> tuple[int, int, str]:
        return (-baseline[i], -price[i], lines[i].line_id)

    if isinstance(promo, QtyTier | MixMatch):
        eligible = [i for i in by_id if avail[i] and promo.matches(lines[i].sku, lines[i].category)]
        if isinstance(promo, QtyTier):
            pools: dict[str, list[int]] = {}
            for i in eligible:
                pools.setdefault(lines[i].sku, []).append(i)
            pool_list = [pools[k] for k in sorted(pools)]
        else:
            pool_list = [eligible]
        for pool in pool_list:
            pieces = sorted(_pieces(pool, avail), key=rank_by_baseline)
            for k in range(0, len(pieces) - promo.qty + 1, promo.qty):
                chunk = pieces[k : k + promo.qty]
                s = sum(baseline[i] for i in chunk) - promo.price * _SCALE
                if s >= _SCALE:
                    groups.append(_Group(chunk, chunk, sum(price[i] for i in chunk) - promo.price))
                    saving += s
    elif isinstance(promo, BuyXGetY):
        if not promo.mixed:
            pool = [i for i in by_id if avail[i] and promo.matches(lines[i].sku, lines[i].category)]
            pieces = sorted(_pieces(pool, avail), key=lambda i: (-price[i], lines[i].line_id))
            size = promo.buy + promo.get
            for k in range(0, len(pieces) - size + 1, size):
                chunk = pieces[k : k + size]
                reward = chunk[promo.buy :]
                got = _bxgy_saving(promo, chunk, reward, price, baseline, rounding)
                if got is not None:
                    groups.append(got[1])
                    saving += got[0]
        else:
            left = list(avail)
            skip = [0] * len(lines)  # pieces per line not worth rewarding
            while True:
                rewards = _cheapest(promo, lines, left, skip, price)
                if rewards is None:
                    break
                spare = list(left)
                for i in rewards:
                    spare[i] -= 1
                quals = _qualifiers(promo, lines, spare, price, baseline)
                if quals is None:
                    break
                got = _bxgy_saving(promo, quals + rewards, rewards, price, baseline, rounding)
                if got is None:
                    # these rewards are not worth it; the next group tries dearer ones
                    for i in rewards:
                        skip[i] += 1
                    continue
                groups.append(got[1])
                saving += got[0]
                for i in quals + rewards:
                    left[i] -= 1
                    skip[i] = min(skip[i], left[i])
    if not groups:
        return None
    return _Candidate(promo, saving, groups)


def _bxgy_saving(
    promo: BuyXGetY,
    chunk: list[int],
    reward: list[int],
    price: Sequence[int],
    baseline: Sequence[int],
    rounding: str,
) -> tuple[int, _Group] | None:
    discount = percent_of(sum(price[i] for i in reward), promo.percent_bp, rounding)
    cost = sum(price[i] for i in chunk) - discount
    s = sum(baseline[i] for i in chunk) - cost * _SCALE
    if s < _SCALE:
        return None
    return s, _Group(list(chunk), list(reward), discount)


def _cheapest(
    promo: BuyXGetY,
    lines: Sequence[PromoLine],
    left: Sequence[int],
    skip: Sequence[int],
    price: Sequence[int],
) -> list[int] | None:
    """The ``get`` cheapest free pieces of the reward set (mixed buy-x-get-y)."""
    pieces: list[tuple[int, str, int]] = []
    for i, ln in enumerate(lines):
        count = left[i] - skip[i]
        if count > 0 and promo.rewards(ln.sku, ln.category):
            pieces.extend([(price[i], ln.line_id, i)] * count)
    pieces.sort()
    if len(pieces) < promo.get:
        return None
    return [i for _, _, i in pieces[: promo.get]]


def _qualifiers(
    promo: BuyXGetY,
    lines: Sequence[PromoLine],
    spare: Sequence[int],
    price: Sequence[int],
    baseline: Sequence[int],
) -> list[int] | None:
    """``buy`` qualifying pieces: those outside the reward set first, then the ones losing
    the least baseline saving, then the cheapest."""
    pieces: list[tuple[bool, int, int, str, int]] = []
    for i, ln in enumerate(lines):
        if spare[i] > 0 and promo.matches(ln.sku, ln.category):
            loss = price[i] * _SCALE - baseline[i]
            key = (promo.rewards(ln.sku, ln.category), loss, price[i])
            pieces.extend([(*key, ln.line_id, i)] * spare[i])
    pieces.sort()
    if len(pieces) < promo.buy:
        return None
    return [p[-1] for p in pieces[: promo.buy]]
