"""The web client's layout holds: a small shared library (clients/web/lib) and one folder per
page with its HTML shell and its one boot module; every import resolves to a file that
exports the names asked for (there is no build step to catch it); pages share code only
through lib/; what the daemon serves and how roles rank come from the daemon, not from copies
in the pages; and the addresses users know serve the pages."""

from __future__ import annotations

import re
import urllib.request
from pathlib import Path

import trio

WEB = Path(__file__).resolve().parent.parent / "clients" / "web"
PAGES = ("checkout", "kiosk", "backoffice", "hq")
IMPORT = re.compile(r"^import\s+(?:\{([^}]*)\}|(\w+))\s+from\s+'([^']+)';", re.M)
EXPORT = re.compile(
    r"^export\s+(?:async\s+)?(?:function|const|class|let)\s+(\w+)|^export\s+\{([^}]*)\}", re.M)


def modules() -> list[Path]:
    return sorted(p for d in ("lib", *PAGES) for p in (WEB / d).rglob("*.js"))


def exports(module: Path) -> set[str]:
    names: set[str] = set()
    for single, group in EXPORT.findall(module.read_text(encoding="utf-8")):
        names |= {single} if single else {n.strip() for n in group.split(",") if n.strip()}
    return names


def test_every_import_resolves_to_an_export():
    assert modules(), "no modules found"
    for module in modules():
        for names, default, source in IMPORT.findall(module.read_text(encoding="utf-8")):
            if not source.startswith("."):
                assert source in ("preact", "preact/hooks", "htm", "@msgpack/msgpack"), source
                continue
            target = (module.parent / source).resolve()
            assert target.is_file(), f"{module.relative_to(WEB)} imports missing {source}"
            wanted = {n.strip() for n in names.split(",") if n.strip()}
            missing = wanted - exports(target)
            assert not missing, f"{module.relative_to(WEB)}: {source} does not export {missing}"
            assert not default, f"{module.relative_to(WEB)}: lib modules have named exports"


def test_one_folder_per_page_with_its_shell_and_boot():
    for page in PAGES:
        shell = (WEB / page / "index.html").read_text(encoding="utf-8")
        assert f'<script type="module" src="/{page}/boot.js"></script>' in shell
        assert shell.count('<script type="module"') == 1
        # what the shells share is written once, in lib/shell.js, loaded before the module
        assert shell.index('<script src="/lib/shell.js"></script>') < shell.index(
            '<script type="module"')
        assert "importmap" not in shell
    for module in modules():
        text = module.read_text(encoding="utf-8")
        for _, _, source in IMPORT.findall(text):
            target = (module.parent / source).resolve() if source.startswith(".") else None
            if target is None:
                continue
            home = module.relative_to(WEB).parts[0]
            there = target.relative_to(WEB).parts[0]
            # a page imports lib/ (and its own folder); lib imports only lib
            assert there in ("lib", home), f"{module.relative_to(WEB)} imports {source}"


def test_the_import_map_names_the_vendored_modules():
    text = (WEB / "lib" / "shell.js").read_text(encoding="utf-8")
    targets = re.findall(r"'(/vendor/[^']+)'", text)
    assert len(targets) == 4, targets
    for target in targets:
        assert (WEB / target.lstrip("/")).is_file(), target


def test_pages_ask_the_daemon_what_it_serves_and_how_roles_rank():
    for module in modules():
        text = module.read_text(encoding="utf-8")
        assert "__probe" not in text, module
        assert not re.search(r"'viewer',\s*'cashier'|'supervisor',\s*'manager',\s*'admin'",
                             text), f"{module.relative_to(WEB)} copies the role ranks"
    gateway = (WEB / "lib" / "gateway.js").read_text(encoding="utf-8")
    assert "'system.methods'" in gateway


async def test_the_known_addresses_serve_the_pages(daemon):
    def get(address: str) -> tuple[str, str]:
        with urllib.request.urlopen(daemon.http + address) as answer:
            return answer.headers["Content-Type"], answer.read().decode()

    for address, page in (("/", "checkout"), ("/index.html", "checkout"),
                          ("/kiosk.html", "kiosk"), ("/backoffice.html", "backoffice"),
                          ("/checkout/", "checkout"), ("/kiosk/", "kiosk")):
        _, body = await trio.to_thread.run_sync(get, address)
        assert f"/{page}/boot.js" in body, address
    ctype, _ = await trio.to_thread.run_sync(get, "/lib/gateway.js")
    assert ctype.startswith(("application/javascript", "text/javascript")), ctype
