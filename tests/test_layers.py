"""The import rules of DESIGN §1, read from the source (every import statement, those inside
functions and under TYPE_CHECKING included), so the layering cannot erode unnoticed."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# package (a dotted prefix) -> the prefixes of ours it must not import
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "protocol": ("gatewayd", "drivers", "clients"),
    "drivers": ("gatewayd", "clients"),
    "clients": ("gatewayd", "drivers"),
    "gatewayd.sales": ("gatewayd.server", "gatewayd.api", "gatewayd.app"),
    "gatewayd.members": ("gatewayd.server", "gatewayd.api", "gatewayd.app"),
    "gatewayd.inventory": ("gatewayd.server", "gatewayd.api", "gatewayd.app"),
}
# The one deliberate exception: `posctl probe` runs the drivers' serial/USB probe on the
# machine it is typed on (no daemon involved), importing them lazily in that command only.
EXCEPTIONS: dict[str, tuple[str, ...]] = {"clients.cli": ("drivers.base", "drivers.probe")}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path, module: str | None = None) -> set[str]:
    """Every module the file imports, absolute (relative imports resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = (module or module_name(path)).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([*package[: len(package) - node.level + 1], *filter(None, [base])])
            found.add(base)
            # `from gatewayd import api` imports the module gatewayd.api
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def excepted(module: str, name: str) -> bool:
    return any(within(module, where) and any(within(name, ok) for ok in allowed)
               for where, allowed in EXCEPTIONS.items())


def sources(prefix: str) -> list[Path]:
    top = ROOT.joinpath(*prefix.split("."))
    return sorted(top.rglob("*.py")) if top.is_dir() else [top.with_suffix(".py")]


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_layer_imports_only_what_design_allows(package: str) -> None:
    files = sources(package)
    assert files, f"no sources under {package}"
    broken = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in files
        for name in sorted(imports_of(path))
        if any(within(name, bad) for bad in FORBIDDEN[package])
        and not excepted(module_name(path), name)
    ]
    assert not broken, "DESIGN §1 import rules broken:\n" + "\n".join(broken)


def test_the_rules_see_a_violation(tmp_path: Path) -> None:
    """The reader catches every form of import, or the test above could not fail."""
    probe = tmp_path / "probe.py"
    probe.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from gatewayd.server.registry import CallContext\n"
        "def f():\n    from gatewayd import api\n    import gatewayd.server.session\n"
        "from ..server import http\n",
        encoding="utf-8",
    )
    seen = imports_of(probe, "gatewayd.sales.probe")
    assert {"gatewayd.server.registry", "gatewayd.api", "gatewayd.server.session",
            "gatewayd.server.http"} <= seen
    assert not excepted("gatewayd.sales.probe", "gatewayd.api")
