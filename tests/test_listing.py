"""optlab.viz.listing: chapters show library code through public names and marked regions."""

from __future__ import annotations

import pytest

from optlab import first_order
from optlab.viz import listing


def test_a_public_function_is_shown_whole_with_or_without_its_docstring():
    full = listing.source_text(first_order.gd)
    assert full.startswith("def gd(") and '"""Gradient descent' in full and "return _tagged(" in full
    bare = listing.source_text(first_order.gd, docstring=False)
    assert bare.startswith("def gd(") and '"""' not in bare and "return _tagged(" in bare


def test_private_names_are_refused_with_the_way_out():
    with pytest.raises(ValueError, match="must be public.*region"):
        listing.source_text(first_order._momentum_method)


def test_objects_outside_optlab_and_non_code_are_refused():
    import math

    with pytest.raises(ValueError, match="optlab"):
        listing.source_text(pytest.raises)
    with pytest.raises(TypeError, match="obj must be"):
        listing.source_text(3)
    with pytest.raises((ValueError, TypeError)):
        listing.source_text(math)


def test_a_region_is_cut_at_its_markers(tmp_path, monkeypatch):
    pkg = tmp_path / "optlab_fake"
    (tmp_path / "optlab").mkdir()
    del pkg
    src = tmp_path / "optlab" / "demo_region.py"
    src.write_text(
        "def public():\n"
        "    x = 1\n"
        "    # region: the-core\n"
        "    y = x + 1\n"
        "    # endregion: the-core\n"
        "    return y\n"
        "# region: twice\n# endregion: twice\n# region: twice\n# endregion: twice\n"
    )
    import importlib.util

    spec = importlib.util.spec_from_file_location("optlab.demo_region", src)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert listing.source_text(module, region="the-core") == "y = x + 1\n"
    with pytest.raises(ValueError, match="exactly once"):
        listing.source_text(module, region="twice")
    with pytest.raises(ValueError, match="exactly once"):
        listing.source_text(module, region="absent")
    with pytest.raises(TypeError, match="region must be a string"):
        listing.source_text(module, region=3)


def test_show_source_is_a_fenced_python_block():
    md = listing.show_source(first_order.gd, docstring=False)
    assert md.data.startswith("```python\ndef gd(") and md.data.endswith("\n```")


def test_every_region_a_notebook_shows_is_marked_once():
    """Notebooks call show_source(..., region=...) only for regions marked once (nbval runs them too)."""
    import json
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    marked = {}
    for path in (root / "src" / "optlab").rglob("*.py"):
        for m in re.finditer(r"# region: ([A-Za-z0-9_.-]+)", path.read_text()):
            marked[m.group(1)] = marked.get(m.group(1), 0) + 1
    for nb in [*root.glob("book/*.ipynb"), *root.glob("labs/*/*.ipynb")]:
        for cell in json.loads(nb.read_text())["cells"]:
            for m in re.finditer(r"region=\"([A-Za-z0-9_.-]+)\"", "".join(cell["source"])):
                assert marked.get(m.group(1)) == 1, (
                    f"{nb.name}: region {m.group(1)!r} marked {marked.get(m.group(1), 0)} times"
                )
