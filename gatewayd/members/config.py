"""The `[members]` table of the TOML config, validated (a bad key is named in the error).

    [members]
    qr_prefix = "GWM1:"                 # member QR payload = prefix + the member's qr token
    points_per_yuan = 1                 # points per whole yuan paid, before the tier multiplier
    point_value = 1                     # fen one point is worth when redeemed as a tender
    points_excluded_categories = ["烟草"] # lines of these categories earn no points
    points_no_earn_methods = ["points", "voucher"]  # what is paid this way earns no points
    points_expire_days = 365            # 0: points never expire; else FIFO lots expire
    tier_window_days = 365              # spend over this many days decides the tier
    birthday_benefit = true             # false: no birthday coupon
    birthday_coupon = { amount = 2000, min_spend = 0, valid_days = 30 }
    referral_points = 200               # to the referrer on the referred member's 1st purchase
    referral_coupon = { amount = 1000, min_spend = 5000, valid_days = 30 }  # to the new member

    # an enrolled till asks head office before it takes stored value, points or a coupon
    # (DESIGN §8); when head office cannot be reached:
    offline_stored_value = "refuse"     # or fen per member per day this till may take
    offline_points = "refuse"           # or points per member per day
    offline_coupons = "refuse"          # or "allow" (a coupon may then be spent twice)

    [[members.tiers]]                   # lowest first; the first has min_spend 0
    id = "normal"                       # (these three tiers are the default)
    name = "普通"
    min_spend = 0
    [[members.tiers]]
    id = "silver"
    name = "银卡"
    min_spend = 200000                  # fen spent over the window
    discount_bp = 200                   # 2 % off (competes with promotions, best price wins)
    points_multiplier_bp = 12000        # x1.2 points
    [[members.tiers]]
    id = "gold"
    name = "金卡"
    min_spend = 1000000
    discount_bp = 500
    points_multiplier_bp = 15000

    [[members.topup_bonus]]             # 充500送50: the largest rule with min <= amount applies
    min = 50000
    bonus = 5000

    [[members.rewards]]                 # points redeemed for a reward (member.redeem)
    id = "coupon10"
    name = "10元券"
    points = 1000
    coupon = { amount = 1000, valid_days = 90 }  # omitted: a goods reward, only recorded

Money is int fen, percentages basis points (DESIGN §3).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

OfflineLimit = Literal["refuse"] | Annotated[int, Field(ge=0)]


class MembersConfigError(ValueError):
    pass


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Tier(_M):
    id: str = Field(min_length=1, max_length=32)
    name: str = Field(min_length=1, max_length=32)
    min_spend: int = Field(default=0, ge=0)  # fen over the window
    discount_bp: int = Field(default=0, ge=0, le=10000)
    member_price: bool = True
    points_multiplier_bp: int = Field(default=10000, ge=0, le=100000)  # 10000 = x1

    def as_wire(self) -> dict[str, Any]:
        return self.model_dump()


class TopupBonus(_M):
    min: int = Field(gt=0)
    bonus: int = Field(ge=0)


class CouponTemplate(_M):
    amount: int = Field(gt=0)
    min_spend: int = Field(default=0, ge=0)
    valid_days: int = Field(default=30, ge=1, le=3660)


class Reward(_M):
    id: str = Field(min_length=1, max_length=40)
    name: str = Field(min_length=1, max_length=60)
    points: int = Field(gt=0)
    coupon: CouponTemplate | None = None  # None: a goods reward, recorded and journaled


DEFAULT_TIERS = (
    Tier(id="normal", name="普通", min_spend=0),
    Tier(id="silver", name="银卡", min_spend=200_000, discount_bp=200,
         points_multiplier_bp=12_000),
    Tier(id="gold", name="金卡", min_spend=1_000_000, discount_bp=500,
         points_multiplier_bp=15_000),
)


class MembersConfig(_M):
    qr_prefix: str = Field(default="GWM1:", min_length=1, max_length=16)
    points_per_yuan: int = Field(default=1, ge=0, le=1000)
    point_value: int = Field(default=1, ge=1, le=10000)  # fen per point
    points_excluded_categories: list[str] = Field(default_factory=list)
    points_no_earn_methods: list[str] = Field(default_factory=lambda: ["points", "voucher"])
    points_expire_days: int = Field(default=0, ge=0, le=36600)
    tier_window_days: int = Field(default=365, ge=1, le=36600)
    tiers: list[Tier] = Field(default_factory=lambda: list(DEFAULT_TIERS))
    topup_bonus: list[TopupBonus] = Field(
        default_factory=lambda: [TopupBonus(min=50_000, bonus=5_000)]
    )
    max_topup: int = Field(default=10_000_000, gt=0)  # ¥100,000: above is a typo
    birthday_benefit: bool = True
    birthday_coupon: CouponTemplate | None = Field(
        default_factory=lambda: CouponTemplate(amount=2000, min_spend=0, valid_days=30)
    )
    referral_points: int = Field(default=200, ge=0)
    referral_coupon: CouponTemplate | None = None
    rewards: list[Reward] = Field(default_factory=list)
    offline_stored_value: OfflineLimit = "refuse"
    offline_points: OfflineLimit = "refuse"
    offline_coupons: Literal["refuse", "allow"] = "refuse"

    def offline_policy(self, ledger: str) -> str | int:
        """What an enrolled till does without head office: "refuse", "allow" (coupons) or
        how much it may take per member per day (fen of stored value, points)."""
        return {"balance": self.offline_stored_value, "points": self.offline_points,
                "coupon": self.offline_coupons}[ledger]

    @model_validator(mode="after")
    def _check(self) -> MembersConfig:
        if not self.tiers:
            raise ValueError("tiers: at least one tier")
        if self.tiers[0].min_spend != 0:
            raise ValueError("tiers: the first (lowest) tier must have min_spend 0")
        spends = [t.min_spend for t in self.tiers]
        if spends != sorted(spends) or len(set(spends)) != len(spends):
            raise ValueError("tiers: min_spend must increase strictly, lowest tier first")
        ids = [t.id for t in self.tiers]
        if len(set(ids)) != len(ids):
            raise ValueError("tiers: ids must be unique")
        rids = [r.id for r in self.rewards]
        if len(set(rids)) != len(rids):
            raise ValueError("rewards: ids must be unique")
        return self

    def tier(self, tier_id: str) -> Tier:
        for t in self.tiers:
            if t.id == tier_id:
                return t
        return self.tiers[0]  # a tier removed from the config falls back to the lowest

    def reward(self, reward_id: str) -> Reward | None:
        return next((r for r in self.rewards if r.id == reward_id), None)


def parse_members_config(data: dict[str, Any] | None) -> MembersConfig:
    try:
        return MembersConfig.model_validate(data or {})
    except ValidationError as exc:
        msgs = []
        for err in exc.errors(include_url=False):
            key = ".".join(str(p) for p in err["loc"])
            msgs.append(f"members.{key}: {err['msg']}" if key else f"members: {err['msg']}")
        raise MembersConfigError("; ".join(msgs)) from None
