"""Head office's tax rates and central settings (DESIGN §8), shared by head office (which checks
a batch with `check_setting` / `check_tax_rate` before versioning it) and the till (which
stores what head office sent and lays it over its own config file).

Four master kinds:

    tax       key: an item category; data {category, rate_bp, name?, active}. Every item of
              that category sells at `rate_bp` at every till, whatever the item's own
              `tax_rate_bp` says; `active: false` withdraws it (the items' own rates again).
    payment   key: a setting of CENTRAL["payment"]; data {key, value}
    config    key: a setting of CENTRAL["config"]; data {key, value}
    members   key: a setting of CENTRAL["members"] (member tiers and rules); data {key, value}

A setting's value is checked by the till's own config model (`[sale]`, `[members]`), so head
office refuses what a till's config file would refuse: each as a whole section (the other
fields the model's defaults), so the section's rules hold too (a tier table's first tier has
min_spend 0, its ids are unique). `value: nil` gives the setting back to each till's config
file. On the till, head office's value wins over the file's for every setting it sent
(`CentralSettings.load`, at start and after each master version or held change that brings
one).
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, ValidationError

from gatewayd.members.config import MembersConfig
from gatewayd.sales.config import SaleConfig
from protocol.codec import pack, unpack

log = logging.getLogger("gatewayd.replication.central")

# kind -> setting -> (the till's config section, its field there)
CENTRAL: dict[str, dict[str, tuple[str, str]]] = {
    "payment": {
        "tenders": ("sale", "tenders"),
        "cash_rounding": ("sale", "cash_rounding"),
        "max_change": ("sale", "max_change"),
        "offline_stored_value": ("members", "offline_stored_value"),
        "offline_points": ("members", "offline_points"),
        "offline_coupons": ("members", "offline_coupons"),
    },
    "config": {
        "receipt_header": ("sale", "receipt_header"),
        "receipt_footer": ("sale", "receipt_footer"),
        "receipt_qr": ("sale", "receipt_qr"),
        "require_shift": ("sale", "require_shift"),
        "max_cashier_discount_percent": ("sale", "max_cashier_discount_percent"),
        "max_voucher": ("sale", "max_voucher"),
    },
    # member tiers and rules: the member service reads them at each use (a member's tier
    # discount, the points a sale earns, a reward); a new tier table re-tiers the members
    "members": {key: ("members", key) for key in (
        "tiers", "points_per_yuan", "point_value", "points_excluded_categories",
        "points_no_earn_methods", "points_expire_days", "tier_window_days",
        "birthday_benefit", "birthday_coupon", "referral_points", "referral_coupon",
        "topup_bonus", "rewards")},
}
SETTING_KINDS = frozenset(CENTRAL)
_MODELS: dict[str, type[BaseModel]] = {"sale": SaleConfig, "members": MembersConfig}


def check_setting(kind: str, key: str, value: Any) -> Any:
    """`value` as the till's config model takes it, as it is sent (plain data; None: back to
    each till's file); ValueError says what is wrong."""
    checked = _checked(kind, key, value)
    if isinstance(checked, list):
        return [_plain(v) for v in checked]
    return _plain(checked)


def _checked(kind: str, key: str, value: Any) -> Any:
    """`value` as the till's config model holds it (models for tiers, rewards, coupons)."""
    if key not in CENTRAL[kind]:
        raise ValueError(f"{key!r} is not a central {kind} setting; one of "
                         f"{', '.join(CENTRAL[kind])}")
    if value is None:
        return None
    section, field = CENTRAL[kind][key]
    try:
        model = _MODELS[section].model_validate({field: value}, strict=True)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        msg = err["msg"].removeprefix("Value error, ")
        if len(err["loc"]) > 1:  # where in a list or table: tiers.1.discount_bp
            msg = f"{'.'.join(map(str, err['loc']))}: {msg}"
        raise ValueError(msg) from None
    return getattr(model, field)


def _plain(value: Any) -> Any:
    return value.model_dump() if isinstance(value, BaseModel) else value


class TaxRateIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    category: StrictStr = Field(min_length=1, max_length=64)
    rate_bp: StrictInt = Field(ge=0, le=10000)
    name: StrictStr | None = Field(default=None, max_length=64)
    active: StrictBool = True


def check_tax_rate(raw: Any) -> dict[str, Any]:
    """A tax rate as the till applies it; pydantic's ValidationError on a bad one."""
    return TaxRateIn.model_validate(raw).model_dump()


# -- on the till ---------------------------------------------------------------------------
def apply_tax(tx: Any, data: dict[str, Any]) -> None:
    if data.get("active", True):
        tx.execute("INSERT INTO tax_rates(category, rate_bp, name) VALUES (?,?,?)"
                   " ON CONFLICT(category) DO UPDATE SET rate_bp=excluded.rate_bp,"
                   " name=excluded.name", (data["category"], data["rate_bp"], data.get("name")))
    else:
        tx.execute("DELETE FROM tax_rates WHERE category=?", (data["category"],))


def apply_setting(tx: Any, kind: str, data: dict[str, Any]) -> None:
    if data["value"] is None:
        tx.execute("DELETE FROM central_settings WHERE kind=? AND key=?", (kind, data["key"]))
    else:
        tx.execute("INSERT OR REPLACE INTO central_settings(kind, key, value) VALUES (?,?,?)",
                   (kind, data["key"], pack(data["value"])))


class CentralSettings:
    """The `[sale]` and `[members]` sections the till's services share: copies of the config
    file's, with head office's settings laid over them. `load()` lays them again (a setting
    head office gave back returns to the file's value)."""

    def __init__(self, store: Any, sale: SaleConfig, members: MembersConfig):
        self.store = store
        self.file = {"sale": sale, "members": members}
        self.sale = sale.model_copy(deep=True)
        self.members = members.model_copy(deep=True)
        self.sections: dict[str, BaseModel] = {"sale": self.sale, "members": self.members}
        self.from_hq: dict[str, dict[str, Any]] = {}

    def load(self) -> dict[str, dict[str, Any]]:
        return self.lay(self.store.all("SELECT kind, key, value FROM central_settings"))

    def lay(self, rows: Any) -> dict[str, dict[str, Any]]:
        """Lay the central_settings `rows` over the file's sections (what `load` reads)."""
        held = {(r["kind"], r["key"]): unpack(r["value"]) for r in rows}
        out: dict[str, dict[str, Any]] = {}
        for kind, settings in CENTRAL.items():
            for key, (section, field) in settings.items():
                own = getattr(self.file[section], field)
                if (kind, key) in held:
                    try:
                        value = _checked(kind, key, held[(kind, key)])
                    except ValueError as exc:  # a newer head office's value: keep the file's
                        log.error("head office's %s.%s cannot be used here (%s); the config "
                                  "file's stays", kind, key, exc)
                        value = own
                    else:
                        out.setdefault(kind, {})[key] = value
                        if value != own:
                            log.info("%s.%s from head office (%r) wins over the config "
                                     "file's [%s] %s (%r)", kind, key, value, section, field,
                                     own)
                else:
                    value = own
                setattr(self.sections[section], field, value)
        self.from_hq = out
        return out

    def source(self, kind: str, key: str) -> str:
        """Where the setting in force comes from: `hq` (head office sent it) or `config`."""
        return "hq" if key in self.from_hq.get(kind, {}) else "config"


def summary(store: Any) -> dict[str, Any] | None:
    """What head office sets on this till (nil: nothing): its settings and the categories it
    gave a tax rate."""
    settings = [f"{r['kind']}.{r['key']}" for r in store.all(
        "SELECT kind, key FROM central_settings ORDER BY kind, key")]
    taxes = [r["category"] for r in store.all("SELECT category FROM tax_rates ORDER BY category")]
    if not settings and not taxes:
        return None
    return {"settings": settings, "tax_categories": taxes}
