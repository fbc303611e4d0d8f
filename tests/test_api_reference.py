"""The API reference (book/api/) is in step with the library and linked both ways."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import optlab

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("api_pages", ROOT / "tools" / "api_pages.py")
api_pages = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(api_pages)


def test_every_public_module_has_a_page():
    assert set(api_pages.MODULES) == set(optlab._SUBMODULES)


def test_pages_are_up_to_date():
    stale = [
        str(p.relative_to(ROOT))
        for p, text in api_pages.expected().items()
        if not p.exists() or p.read_text() != text
    ]
    assert not stale, f"run python tools/api_pages.py: {stale}"


def test_pages_are_in_the_table_of_contents():
    toc = (ROOT / "_toc.yml").read_text()
    for module in api_pages.MODULES:
        assert f"file: book/api/{module}\n" in toc, module
    assert "file: book/api/index" in toc


def test_each_chapter_links_to_the_reference_of_the_modules_it_teaches():
    labels = {}
    for module, (_, chapter) in api_pages.MODULES.items():
        labels.setdefault(chapter, []).append(f"api-{module.replace('_', '-')}")
    for path in sorted((ROOT / "book").glob("[0-9][0-9]_*.ipynb")):
        cells = json.loads(path.read_text())["cells"]
        first = "".join(cells[0]["source"])
        chapter = first.split("\n", 1)[0].strip("()=")
        text = "".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
        for label in labels.get(chapter, []):
            assert label in text, f"{path.name} does not link to {{ref}}`{label}`"
