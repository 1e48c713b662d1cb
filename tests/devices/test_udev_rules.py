"""Syntax sanity of udev/60-gatewayd.rules (udevadm is not available in CI containers)."""

from __future__ import annotations

import re
from pathlib import Path

RULES = Path(__file__).resolve().parents[2] / "udev" / "60-gatewayd.rules"

TOKEN = re.compile(
    r'^(?P<key>[A-Z_]+)(?:\{(?P<attr>[^}]+)\})?(?P<op>==|!=|\+=|:=|=)"(?P<value>[^"]*)"$'
)
MATCH_KEYS = {"ACTION", "SUBSYSTEM", "KERNEL", "ATTR", "ATTRS", "ENV", "SUBSYSTEMS", "DRIVERS"}
ASSIGN_KEYS = {"SYMLINK", "GROUP", "MODE", "ENV", "GOTO", "LABEL", "TAG"}


def split_rule(line: str) -> list[str]:
    """Split on commas outside double quotes."""
    parts, cur, quoted = [], "", False
    for ch in line:
        if ch == '"':
            quoted = not quoted
        if ch == "," and not quoted:
            parts.append(cur.strip())
            cur = ""
        else:
            cur += ch
    assert not quoted, f"unbalanced quotes: {line}"
    parts.append(cur.strip())
    return parts


def rules() -> list[list[re.Match[str]]]:
    out = []
    for n, raw in enumerate(RULES.read_text().splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        assert not line.endswith("\\"), f"line {n}: keep each rule on one line"
        tokens = []
        for part in split_rule(line):
            m = TOKEN.match(part)
            assert m, f"line {n}: bad token {part!r}"
            key, op = m["key"], m["op"]
            is_match = op in ("==", "!=")
            assert key in (MATCH_KEYS if is_match else ASSIGN_KEYS), f"line {n}: {key}{op}"
            tokens.append(m)
        out.append(tokens)
    return out


def test_every_device_rule_matches_a_subsystem_and_sets_group_and_mode():
    device_rules = [r for r in rules() if not {t["key"] for t in r} & {"GOTO", "LABEL"}]
    assert len(device_rules) >= 20
    for rule in device_rules:
        keys = {(t["key"], t["op"]) for t in rule}
        text = ", ".join(t.group(0) for t in rule)
        assert ("SUBSYSTEM", "==") in keys, text
        assert keys & {("ATTRS", "=="), ("ATTR", "==")}, text
        values = {t["key"]: t["value"] for t in rule if t["op"] == "="}
        assert values.get("GROUP") == "pos" and values.get("MODE") == "0660", text
        for t in rule:
            if t["key"] == "SYMLINK":
                assert t["op"] == "+=" and t["value"].startswith("pos/"), text
            if t["attr"] in ("idVendor", "idProduct"):
                assert re.fullmatch(r"[0-9a-f]{4}", t["value"]), text


def test_goto_has_its_label_and_ttys_are_kept_from_modemmanager():
    all_rules = rules()
    gotos = {t["value"] for r in all_rules for t in r if t["key"] == "GOTO"}
    labels = {t["value"] for r in all_rules for t in r if t["key"] == "LABEL"}
    assert gotos and gotos <= labels
    tty_rules = [r for r in all_rules if any(t.group(0) == 'SUBSYSTEM=="tty"' for t in r)]
    assert tty_rules
    for r in tty_rules:
        if any(t["key"] == "SYMLINK" and t["value"].startswith("pos/ftdi-") for t in r):
            continue  # the extra link rule for an adapter already covered by the one above
        assert any(t.group(0) == 'ENV{ID_MM_DEVICE_IGNORE}="1"' for t in r), r


def test_the_listed_vendors_are_covered():
    vendors = {t["value"] for r in rules() for t in r if t["attr"] == "idVendor"}
    for vid in (
        "0c2e",
        "05e0",
        "05f9",
        "1eab",
        "04b8",
        "0519",
        "0416",
        "1fc9",
        "0403",
        "067b",
        "1a86",
    ):
        assert vid in vendors, vid
    links = {t["value"] for r in rules() for t in r if t["key"] == "SYMLINK"}
    assert {"pos/scanner", "pos/printer", "pos/scanner-wedge", "pos/scanner-hidpos"} <= links
