"""The `[sale]` table and `[[promotions]]` of the TOML config, validated.

    [sale]
    cash_rounding = "drop_fen"          # none | drop_fen | drop_jiao | half_up_jiao (抹零)
    tenders = ["cash", "wechat", "alipay"]  # the tender methods taken here (default: all)
    tax_mode = "inclusive"              # inclusive (default) | exclusive
    max_cashier_discount_percent = 10   # WHOLE percent; above it a supervisor approves
    max_qty = 999000                    # thousandths: 999 pieces (or 999 kg) per line
    max_unit_price = 10000000           # fen: ¥100,000 per unit; above is invalid_params
    max_change = 100000                 # fen: cash change above ¥1,000 is refused
    require_shift = true                # a sale is paid only while a shift is open
    scale_layouts = ["21{I:5}{W:5}C", "20{I:5}{P:5}C"]   # default: catalog.DEFAULT_SCALE_LAYOUTS
    scale = "scale"                     # the weighing scale's device id (default: the first
                                        # scale; name it when a kiosk also has a bagging scale)
    scale_timeout_ms = 2000
    store_name = "示例超市"
    receipt_footer = ["谢谢惠顾", "Thank you"]
    display_idle_s = 5
    payment_timeout_s = 30               # "user is paying" is polled this long, then cancelled
    payment_poll_s = 2
    payment_recheck_s = 30               # an attempt left pending is asked about this often

    [sale.payment_sim]                   # the simulated provider (the default provider)
    outcome = "approve"                  # approve | decline | user_paying | timeout | error
    polls = 1                            # user_paying: queries before it succeeds

    [[promotions]]
    id = "apples3"
    kind = "qty_tier"
    skus = ["1001"]
    qty = 3
    price = 1000

Percent *parameters* on the wire (`sale.discount {percent}`) are basis points (1000 = 10 %),
like everywhere in the money code; only this one config key is whole percent, as its name
says. A bad key is named in the error (`sale.max_qty: ...`, `promotions[0].qty: ...`).
`SaleConfig` and `Promotions` are the sections gatewayd/config.py composes.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator

from gatewayd.sales.catalog.repository import DEFAULT_SCALE_LAYOUTS, compile_scale_layouts
from gatewayd.sales.promotions import Promotion, PromotionError, parse_promotions


class SaleConfigError(ValueError):
    pass


class PaymentSimConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    outcome: Literal["approve", "decline", "user_paying", "timeout", "error"] = "approve"
    polls: int = Field(default=1, ge=0, le=1000)


TenderMethod = Literal["cash", "card", "mobile", "alipay", "wechat", "stored_value", "voucher",
                       "points"]
TENDER_METHODS: tuple[str, ...] = get_args(TenderMethod)


def tenders_taken(cfg: SaleConfig) -> list[str]:
    """The tender methods `cfg` takes, in TENDER_METHODS' order (no `tenders`: every one)."""
    return [m for m in TENDER_METHODS if cfg.tenders is None or m in cfg.tenders]


class SaleConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    cash_rounding: Literal["none", "drop_fen", "drop_jiao", "half_up_jiao"] = "none"
    # the tender methods this till takes (None: every one); another is refused at sale.tender
    tenders: list[TenderMethod] | None = None
    tax_mode: Literal["inclusive", "exclusive"] = "inclusive"
    rounding: Literal["half_up", "half_even", "down", "up"] = "half_up"
    max_cashier_discount_percent: int = Field(default=10, ge=0, le=100)
    max_qty: int = Field(default=999_000, ge=1)
    max_unit_price: int = Field(default=10_000_000, ge=1)
    max_change: int | None = Field(default=100_000, ge=0)
    max_lines: int = Field(default=500, ge=1)
    # the most one voucher.issue may be worth (fen): a manager's slip cannot mint ¥1,000,000
    max_voucher: int = Field(default=100_000, ge=1)
    # a sale is paid only while a shift is open on the till (shift.open), so every sale's
    # cash is in a shift's count; a site without shifts (a card-only kiosk) turns it off
    require_shift: bool = True
    scale_layouts: list[str] = Field(default_factory=lambda: list(DEFAULT_SCALE_LAYOUTS))
    scale: str | None = None  # device id of the scale items are weighed on; default: the first
    scale_timeout_ms: int = Field(default=2000, ge=0, le=30_000)
    store_name: str = "gatewayd"
    receipt_header: list[str] = Field(default_factory=list)
    receipt_footer: list[str] = Field(default_factory=lambda: ["谢谢惠顾 欢迎再次光临"])
    receipt_qr: str = "{receipt_no}"  # QR content; {receipt_no} is replaced
    printer: str | None = None  # device id; default: the first printer
    drawer: str | None = None
    display: str | None = None
    display_idle_s: float = Field(default=5.0, ge=0)
    payment_provider: Literal["sim"] = "sim"
    payment_timeout_s: float = Field(default=30.0, gt=0)
    payment_poll_s: float = Field(default=2.0, gt=0)
    payment_recheck_s: float = Field(default=30.0, gt=0)
    payment_sim: PaymentSimConfig = Field(default_factory=PaymentSimConfig)

    @field_validator("scale_layouts")
    @classmethod
    def _layouts(cls, v: list[str]) -> list[str]:
        compile_scale_layouts(v)  # ValueError names the problem
        return v


def load_sale_config(raw: dict[str, Any]) -> SaleConfig:
    try:
        return SaleConfig.model_validate(raw or {})
    except ValidationError as exc:
        lines = []
        for err in exc.errors(include_url=False):
            key = ".".join(str(p) for p in err["loc"]) or "(table)"
            lines.append(f"sale.{key}: {err['msg'].removeprefix('Value error, ')}")
        raise SaleConfigError("; ".join(lines)) from None


def _check_promotions(raw: list[dict[str, Any]]) -> list[dict[str, Any]]:
    load_promotions(raw)  # SaleConfigError (a ValueError) names each bad key
    return raw


# `[[promotions]]`: the raw tables, checked whole; the sale service parses them
Promotions = Annotated[list[dict[str, Any]], AfterValidator(_check_promotions)]


def load_promotions(raw: list[dict[str, Any]]) -> tuple[Promotion, ...]:
    try:
        return parse_promotions(raw or [])
    except PromotionError as exc:
        raise SaleConfigError(
            "; ".join(f"promotions{e['field']}: {e['message']}" for e in exc.errors)
        ) from None
