"""The README and docs/ stand alone: every relative link or path they point a reader to is a
file of this project (nothing outside it, such as a design note only the authors have)."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def test_links_point_inside_the_project():
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        assert "../shared" not in text, f"{page.name} points outside the project"
        for target in LINK.findall(text):
            if re.match(r"[a-z]+:", target) or target.startswith("#"):
                continue  # a web address or an anchor on the page
            path = (page.parent / target.split("#", 1)[0]).resolve()
            assert path.is_relative_to(ROOT), f"{page.name}: {target} leaves the project"
            assert path.exists(), f"{page.name}: {target} does not exist"


def test_architecture_is_linked_from_the_readme():
    assert "](docs/architecture.md)" in (ROOT / "README.md").read_text(encoding="utf-8")
