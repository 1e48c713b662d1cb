"""docs/protocol.md and docs/protocol.schema.json are generated from protocol/: regenerate
into a temp dir and compare, so a change to the catalogue without new docs fails here."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIX = "run `python tools/gen_protocol_docs.py` and commit docs/"


def load_generator():
    spec = importlib.util.spec_from_file_location(
        "gen_protocol_docs", ROOT / "tools" / "gen_protocol_docs.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_docs_are_up_to_date(tmp_path):
    gen = load_generator()
    for fresh in gen.generate(tmp_path):
        committed = ROOT / "docs" / fresh.name
        assert committed.exists(), f"docs/{fresh.name} is missing: {FIX}"
        assert committed.read_text(encoding="utf-8") == fresh.read_text(encoding="utf-8"), (
            f"docs/{fresh.name} is stale relative to protocol/: {FIX}"
        )


def test_every_method_is_documented_with_role_params_and_example(tmp_path):
    from protocol.errors import ERROR_CODES
    from protocol.methods import SPECS

    gen = load_generator()
    text = gen.render_md()
    for name, spec in SPECS.items():
        start = text.index(f"### `{name}`\n")
        end = text.find("\n### ", start + 1)
        section = text[start:end if end != -1 else None]
        assert f"minimum role **{spec.role}**" in section, name
        for field, info in spec.params.model_fields.items():
            if field != "approve":
                assert f"| `{info.alias or field}` |" in section, (name, field)
        if spec.example:
            assert f'"method": "{name}"' in section and '"type": "result"' in section, name
    for code in ERROR_CODES:
        assert f"| `{code}` |" in text


def test_generator_handles_a_new_method_generically(monkeypatch):
    from typing import Literal

    from pydantic import Field

    from protocol import methods

    class FrobParams(methods.Params):
        level: Literal["low", "high"] = "low"
        amount: methods.Fen = Field(ge=0)
        tags: list[str] = Field(default_factory=list)
        nested: methods.Approve | None = None

    spec = methods.MethodSpec(
        "frob.it", FrobParams, "supervisor", "Frobnicate.", errors=("conflict",),
        needs_operator=True,
        example={"params": {"amount": 100, "at": b"\x01\x02"}, "result": {"ok": True}},
    )
    monkeypatch.setitem(methods.SPECS, "frob.it", spec)
    text = load_generator().render_md()
    section = text[text.index("### `frob.it`"):]
    assert "minimum role **supervisor**" in section
    assert "needs a logged-in operator" in section and "`conflict`" in section
    assert '| `level` | `"low" \\| "high"` | `"low"` |' in section
    assert "| `amount` | `int` | required | money in fen (0.01 CNY) ≥ 0 |" in section
    assert "| `tags` | `list[str]` | `[]` |" in section
    assert '{"$bin": "0102"}' in section
    assert "[`frob.it`](#frobit)" in text


def test_web_typedefs_are_up_to_date():
    gen = load_generator()
    assert gen.DTS_PATH.exists(), f"{gen.DTS_PATH} is missing: {FIX}"
    assert gen.DTS_PATH.read_text(encoding="utf-8") == gen.render_dts(), (
        f"{gen.DTS_PATH} is stale relative to protocol/: {FIX}")


def test_typedefs_declare_every_method_with_its_params_and_result():
    from protocol.methods import SPECS

    text = load_generator().render_dts()
    for name, spec in SPECS.items():
        result = spec.result.__name__ if spec.result else "unknown"
        assert f'"{name}": {{ params: {spec.params.__name__}; result: {result} }};' in text
        assert f"export interface {spec.params.__name__} {{" in text
        if spec.result:
            assert f"export interface {spec.result.__name__} {{" in text


def test_typedef_types_follow_the_wire():
    from datetime import datetime
    from typing import Literal

    from pydantic import Field

    from protocol import methods

    class Thing(methods.Result):
        n: int
        when: datetime | None
        raw: bytes = b""
        tags: list[Literal["a", "b"]] = Field(default_factory=list, description="the tags")
        by: dict[str, int] = Field(default_factory=dict, alias="for")

    text = "\n".join(load_generator().ts_interface(Thing))
    assert "  n: number;" in text and "  when: Date | null;" in text
    assert "  raw?: Uint8Array;" in text and '  tags?: ("a" | "b")[];' in text
    assert "  /** the tags */" in text and "  for?: Record<string, number>;" in text
