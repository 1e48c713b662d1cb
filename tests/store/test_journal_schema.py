"""The journal is a declared schema (protocol/journal.py): every kind the code appends has a
model, every model is appended somewhere, and the store refuses an event off its model while
GATEWAYD_CHECK_JOURNAL is on (tests/conftest.py turns it on, so every event stored by the
whole test suite, in-process and in the daemons the tests start, has been validated)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from pydantic import ValidationError

from gatewayd.store.db import Store
from protocol import journal

ROOT = Path(__file__).resolve().parents[2]

# A kind built at run time: the f-string as written at its site -> every kind it can make.
# A new f-string site fails test_every_appended_kind_has_a_model until it is listed here.
DYNAMIC = {
    'f"pair.{status}"': {"pair.approved", "pair.denied"},
    'f"payment.{state}"': {"payment.declined", "payment.cancelled", "payment.failed"},
    'f"{purpose}.failed"': {"auth.login.failed", "auth.approval.failed"},
    'f"member.{what}"': {"member.points", "member.balance"},
}
# The helpers that take a kind as their first argument (or as `event=`) and append it.
APPENDERS = {"append", "_journal"}


def appended_kinds() -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """(literal kind -> sites, f-string source -> sites) over gatewayd/."""
    literal: dict[str, list[str]] = {}
    dynamic: dict[str, list[str]] = {}
    for path in sorted((ROOT / "gatewayd").rglob("*.py")):
        src = path.read_text(encoding="utf-8")
        for node in ast.walk(ast.parse(src)):
            if not isinstance(node, ast.Call):
                continue
            args = []
            if isinstance(node.func, ast.Attribute) and node.func.attr in APPENDERS and node.args:
                args.append(node.args[0])
            args += [k.value for k in node.keywords if k.arg == "event"]
            site = f"{path.relative_to(ROOT)}:{node.lineno}"
            for arg in args:
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str) \
                        and "." in arg.value and " " not in arg.value:
                    literal.setdefault(arg.value, []).append(site)
                elif isinstance(arg, ast.JoinedStr) and _is_kind_like(arg):
                    dynamic.setdefault(ast.get_source_segment(src, arg), []).append(site)
    return literal, dynamic


def _is_kind_like(node: ast.JoinedStr) -> bool:
    """An f-string like f"payment.{state}" (not a log line or a message)."""
    text = "".join(v.value for v in node.values if isinstance(v, ast.Constant))
    return "." in text and " " not in text and ":" not in text


def test_the_scan_finds_the_known_sites():
    literal, dynamic = appended_kinds()
    assert "sale.completed" in literal and "stock.received" in literal  # append and event=
    assert "auth.login" in literal  # via AuthService._journal
    assert set(dynamic) == set(DYNAMIC), "a new f-string kind: list its kinds in DYNAMIC"


def test_every_appended_kind_has_a_model():
    literal, dynamic = appended_kinds()
    missing = {k: sites for k, sites in literal.items() if k not in journal.EVENTS}
    for source, sites in dynamic.items():
        for kind in DYNAMIC.get(source, ()):
            if kind not in journal.EVENTS:
                missing[kind] = sites
    assert not missing, f"journal kinds without a model in protocol/journal.py: {missing}"


def test_every_model_is_appended_somewhere():
    literal, _ = appended_kinds()
    made = set(literal).union(*DYNAMIC.values())
    assert sorted(set(journal.EVENTS) - made) == [], "a model for a kind nothing appends"


def test_schema_version_and_changes_are_declared():
    assert journal.JOURNAL_SCHEMA_VERSION >= 1
    assert journal.JOURNAL_SCHEMA_VERSION in journal.SCHEMA_CHANGES


def test_the_test_suite_checks_every_stored_event(tmp_path):
    store = Store(tmp_path / "till.db")
    try:
        assert store.check_schema, "tests/conftest.py sets GATEWAYD_CHECK_JOURNAL=1"
    finally:
        store.close()


def test_the_store_refuses_an_event_off_its_model_and_keeps_nothing(tmp_path):
    store = Store(tmp_path / "till.db")
    try:
        ok = {"job_id": "j1", "attempt": 1}
        store.write_sync(lambda tx: tx.append("print.done", ok))
        with pytest.raises(journal.UnknownKind):
            store.write_sync(lambda tx: tx.append("print.exploded", ok))
        with pytest.raises(ValidationError):  # a string where the model says int
            store.write_sync(lambda tx: tx.append("print.done", {"job_id": "j1",
                                                                 "attempt": "1"}))
        with pytest.raises(ValidationError):  # a key the model does not declare
            store.write_sync(lambda tx: tx.append("print.done", {**ok, "colour": "red"}))
        with pytest.raises(ValidationError):  # a required key missing
            store.write_sync(lambda tx: tx.append("print.done", {"job_id": "j1"}))
        assert [(e.kind, e.data) for e in store.journal()] == [("print.done", ok)]
    finally:
        store.close()


def test_optional_keys_round_trip_exactly():
    absent = {"device": "drawer", "reason": "sale", "operator": "1001", "error": None,
              "receipt_no": "S-T-1", "sale_id": "s1"}
    journal.check("drawer.opened", absent)  # approver/shift_id absent stay absent
    parsed = journal.parse("auth.approved", {"operator": "9", "action": "sale.void",
                                             "for": "1001", "role": "manager"})
    assert parsed.for_ == "1001"  # type: ignore[attr-defined]
    journal.check("auth.approved", {"operator": "9", "action": "sale.void", "for": None,
                                    "role": "manager"})


def test_journal_record_is_the_replicated_row():
    row = journal.JournalRecord.model_validate(
        {"seq": 1, "at": 1_700_000_000_000_000, "kind": "print.done",
         "data": {"job_id": "j", "attempt": 1}})
    assert isinstance(journal.parse(row.kind, row.data), journal.PrintDone)
