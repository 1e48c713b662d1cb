"""Pure member rules and the [members] config."""

from __future__ import annotations

import textwrap
import tomllib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gatewayd.members import config as mconfig
from gatewayd.members import core
from gatewayd.members.config import MembersConfigError, TopupBonus, parse_members_config


def test_mask_phone():
    assert core.mask_phone("13812345678") == "138****5678"
    assert core.mask_phone("8613812345678") == "861******5678"
    assert core.mask_phone("12345") == "*2345"
    assert core.mask_phone(None) is None


@given(st.from_regex(r"1[3-9]\d{9}", fullmatch=True))
def test_mask_phone_hides_the_middle(phone):
    masked = core.mask_phone(phone)
    assert len(masked) == 11 and masked[3:7] == "****"
    assert masked[:3] == phone[:3] and masked[-4:] == phone[-4:]
    assert phone[3:7] not in masked[3:7]


def test_normalize_phone_and_code_kinds():
    assert core.normalize_phone("+86 138-1234-5678") == "13812345678"
    with pytest.raises(ValueError) as exc:
        core.normalize_phone("2381234567")
    assert "2381234567" not in str(exc.value)  # even a bad number is not logged in full
    assert core.code_kind("GWM1:abc", "GWM1:") == ("qr", "abc")
    assert core.code_kind("13812345678", "GWM1:") == ("phone", "13812345678")
    assert core.code_kind("88001234", "GWM1:") == ("card", "88001234")


def test_birthday():
    assert core.check_birthday("1990-05-17") == "1990-05-17"
    assert core.birthday_month("05-17") == 5
    for bad in ("1990-13-01", "17/05/1990", "05-32"):
        with pytest.raises(ValueError):
            core.check_birthday(bad)


def test_tiers_points_and_bonus():
    cfg = parse_members_config({})
    assert [core.tier_for(s, cfg.tiers).id for s in (0, 199_999, 200_000, 10**6)] == [
        "normal", "normal", "silver", "gold"]
    assert core.points_for(12_345, 1, 10_000) == 123  # whole yuan only
    assert core.points_for(12_345, 1, 15_000) == 185
    assert core.points_for(-5, 1, 10_000) == 0
    rules = [TopupBonus(min=50_000, bonus=5_000), TopupBonus(min=100_000, bonus=15_000)]
    assert [core.topup_bonus(a, rules) for a in (49_999, 50_000, 99_999, 200_000)] == [
        0, 5_000, 5_000, 15_000]
    lines = [{"net": 1000, "category": "烟草"}, {"net": 2050, "category": "饮料"},
             {"net": 500, "voided": True}]
    assert core.points_base(lines, ["烟草"], 0) == 2050
    assert core.points_base(lines, ["烟草"], 3000) == 0


def test_config_doc_example_parses_and_bad_config_is_named():
    block = mconfig.__doc__.split("\n\n", 1)[1].split("Money is int")[0]
    data = tomllib.loads(textwrap.dedent(block))["members"]
    cfg = parse_members_config(data)
    assert [t.name for t in cfg.tiers] == ["普通", "银卡", "金卡"]
    assert cfg.reward("coupon10").coupon.amount == 1000
    with pytest.raises(MembersConfigError, match=r"members\.point_value"):
        parse_members_config({"point_value": 0})
    with pytest.raises(MembersConfigError, match="min_spend must increase"):
        parse_members_config({"tiers": [{"id": "a", "name": "A"},
                                        {"id": "b", "name": "B", "min_spend": 0}]})
