"""Project hygiene: dependency files agree, notebooks are stripped and listed, CI calls make test."""

import json
import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _norm(req: str) -> str:
    req = req.strip().lower().replace("_", "-")
    return re.sub(r"\s+", "", req)


def _pyproject_requirements():
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    reqs = set(map(_norm, data["project"]["dependencies"]))
    for extra in ("book", "test", "labs"):
        reqs |= set(map(_norm, data["project"]["optional-dependencies"][extra]))
    return reqs


def test_environment_yml_matches_pyproject():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    conda_reqs = {_norm(r) for r in pip if not r.startswith("-e")}
    py = _pyproject_requirements()
    assert conda_reqs == py, f"only in environment.yml: {conda_reqs - py}; only in pyproject: {py - conda_reqs}"


def test_jupyter_book_is_pinned_below_2():
    assert "jupyter-book>=1.0.4.post1,<2" in _pyproject_requirements()


def _notebooks():
    return sorted((ROOT / "book").glob("*.ipynb")) + sorted((ROOT / "labs").glob("*/*.ipynb"))


def test_notebooks_are_stripped_and_have_a_kernelspec():
    for path in _notebooks():
        nb = json.loads(path.read_text())
        assert nb["metadata"].get("kernelspec", {}).get("name") == "python3", path
        for cell in nb["cells"]:
            if cell["cell_type"] == "code":
                assert not cell.get("outputs") and cell.get("execution_count") is None, \
                    f"{path.relative_to(ROOT)} has outputs committed"


# A code cell that shows plotly figures: it uses optlab.viz (``from optlab import viz``,
# ``from optlab.viz import ot``, ``optlab.viz.…``) or plotly itself.
_SHOWS_PLOTLY = re.compile(
    r"\boptlab\.viz\b|^\s*from\s+optlab\s+import\s+[^\n#]*\bviz\b|^\s*(?:import|from)\s+plotly\b",
    flags=re.M,
)


def test_notebooks_with_figures_opt_in_to_the_book_renderer():
    """Importing ``optlab.viz`` leaves plotly's default renderer alone, so every chapter or lab that
    shows plotly figures calls ``viz.use_book_renderer()`` in its first code cell: without it the
    book gets plotly's own renderer (no CDN-free HTML, no JSON for JupyterLab)."""
    with_figures, missing = [], []
    for path in _notebooks():
        nb = json.loads(path.read_text())
        code = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
        if not any(_SHOWS_PLOTLY.search(src) for src in code):
            continue
        with_figures.append(path)
        if not re.search(r"\buse_book_renderer\(\s*\)", code[0]):
            missing.append(str(path.relative_to(ROOT)))
    assert with_figures, "no notebook shows plotly figures: is _SHOWS_PLOTLY out of date?"
    assert not missing, f"call viz.use_book_renderer() in the first code cell of: {missing}"


def test_every_chapter_is_in_the_toc():
    toc = (ROOT / "_toc.yml").read_text()
    for path in sorted((ROOT / "book").glob("*.ipynb")):
        assert f"book/{path.stem}" in toc, f"{path.name} is not listed in _toc.yml"


def test_ci_runs_exactly_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in ci
    assert "make test" in (ROOT / "README.md").read_text()


def test_display_math_starts_its_own_paragraph():
    """``$$`` glued to a sentence is parsed as inline text by MyST (see tools/fix_display_math.py)."""
    import sys

    sys.path.insert(0, str(ROOT / "tools"))
    from fix_display_math import fix

    for path in _notebooks():
        nb = json.loads(path.read_text())
        for cell in nb["cells"]:
            if cell["cell_type"] == "markdown":
                src = "".join(cell["source"])
                assert fix(src) == src, f"{path.relative_to(ROOT)}: run tools/fix_display_math.py"


def test_bibliography_files_are_wired_and_keys_unique():
    """Every bib/*.bib is in _config.yml, and no key is defined twice (bibtex drops the rest of a file)."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    listed = set(config["bibtex_bibfiles"])
    files = {"references.bib"} | {f"bib/{p.name}" for p in (ROOT / "bib").glob("*.bib")}
    assert listed == files, f"not wired: {files - listed}; missing: {listed - files}"
    keys = []
    for f in sorted(files):
        keys += re.findall(r"^@\w+\{([^,\s]+),", (ROOT / f).read_text(), flags=re.M)
    dups = {k for k in keys if keys.count(k) > 1}
    assert not dups, f"duplicate bibtex keys: {dups}"


def test_launch_buttons_point_at_the_repository(tmp_path):
    """`make book REPOSITORY_URL=...` config: a one-page book gets Binder and JupyterHub launch
    links to the chapter's notebook in JupyterLab, and a download button."""
    import subprocess
    import sys

    sys.path.insert(0, str(ROOT / "tools"))
    from book_config import build_config

    repo = "https://github.com/optlab-example/optlab"
    config = build_config(repository_url=repo, branch="main", jupyterhub_url="https://hub.example.edu")
    assert build_config()["launch_buttons"].get("binderhub_url") is None  # the committed config has none
    config["execute"]["execute_notebooks"] = "off"
    (tmp_path / "book").mkdir()
    nb = {"cells": [{"cell_type": "markdown", "metadata": {}, "source": "# A chapter\n\nText."},
                    {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
                     "source": "1 + 1"}],
          "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
          "nbformat": 4, "nbformat_minor": 5}
    (tmp_path / "book" / "ch.ipynb").write_text(json.dumps(nb))
    (tmp_path / "_config.yml").write_text(yaml.safe_dump(config, allow_unicode=True))
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: book/ch\n")
    jb = Path(sys.executable).parent / "jupyter-book"
    out = subprocess.run([str(jb), "build", str(tmp_path), "-W", "--keep-going"], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    html = (tmp_path / "_build" / "html" / "book" / "ch.html").read_text()
    assert "https://mybinder.org/v2/gh/optlab-example/optlab/main?urlpath=lab/tree/book/ch.ipynb" in html
    assert "https://hub.example.edu/hub/user-redirect/git-pull?repo=https%3A//github.com/optlab-example/optlab" in html
    assert "urlpath=lab/tree/optlab/book/ch.ipynb&branch=main" in html
    assert "ch.ipynb" in html and "download" in html.lower()
    assert f'href="{repo}"' in html


def test_no_module_switches_float64_on_at_import():
    """Readers run float32: tests ask for float64 per test (the ``x64`` fixture), never globally."""
    offenders = []
    for path in sorted((ROOT / "tests").glob("*.py")) + sorted((ROOT / "src").rglob("*.py")):
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if re.match(r"""^jax\.config\.update\(\s*["']jax_enable_x64["']\s*,\s*True""", line):
                offenders.append(f"{path.relative_to(ROOT)}:{n}")
    assert not offenders, f"module-level float64 switch: {offenders}"


def test_property_tests_are_derandomized_by_default():
    from hypothesis import settings

    assert settings.default.derandomize, "make test must run hypothesis derandomized (tests/conftest.py)"
    assert settings.default.database is None


def _book_mutants():
    import importlib.util

    spec = importlib.util.spec_from_file_location("book_mutants", ROOT / "tools" / "book_mutants.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_chapter_has_book_mutants_that_apply():
    """Every chapter has book/mutants/<chapter>.yml (issue 16): at least four mutants that still apply."""
    bm = _book_mutants()
    for chapter in bm.chapters():
        mutants = bm.load(chapter)
        assert len(mutants) >= bm.MIN_MUTANTS, f"{chapter}: {len(mutants)} mutants, at least {bm.MIN_MUTANTS}"
        names = [m["name"] for m in mutants]
        assert len(set(names)) == len(names), f"{chapter}: duplicate mutant names"
        for mutant in mutants:
            assert not bm.check_mutant(mutant), bm.check_mutant(mutant)


def test_book_mutant_results_are_recorded_for_the_current_mutants():
    """book/mutants/results.md (shown on the execution page) names exactly each chapter's mutants."""
    bm = _book_mutants()
    recorded = bm.read_results()
    for chapter in bm.chapters():
        mutants = [m["name"] for m in bm.load(chapter)]
        if not mutants:  # a row recorded before its mutants file is committed is not checked
            continue
        assert chapter in recorded, f"run make book-mutants CHAPTERS={chapter}"
        names = recorded[chapter].split(" | ")[3].split(", ")
        assert names == mutants, f"{chapter}: results.md is stale, run make book-mutants CHAPTERS={chapter}"


def test_book_mutant_tool_applies_a_mutant_to_a_copy_only(tmp_path):
    import shutil

    bm = _book_mutants()
    mutant = bm.load("01_gradient_descent")[0]
    before = (ROOT / mutant["file"]).read_text()
    shutil.copytree(ROOT / "src" / "optlab", tmp_path / "optlab")
    bm.apply(mutant, tmp_path)
    copy = (tmp_path / mutant["file"].removeprefix("src/")).read_text()
    assert copy != before and mutant["replace"][0]["new"] in copy
    assert (ROOT / mutant["file"]).read_text() == before


# A chapter or a lab shows a live widget (issue 17): a code cell builds a viz.Explorer, directly
# or through one of optlab.viz's ``*_explorer`` builders (each tested in tests/test_explorers_*).
_BUILDS_EXPLORER = re.compile(r"\bExplorer\(|\b\w+_explorer\(")


def test_every_chapter_and_lab_has_a_live_explorer():
    missing = []
    for path in _notebooks():
        nb = json.loads(path.read_text())
        code = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
        if not any(_BUILDS_EXPLORER.search(src) for src in code):
            missing.append(str(path.relative_to(ROOT)))
    assert not missing, f"no viz.Explorer in: {missing}"


def test_no_module_is_named_after_a_function_it_holds():
    """``optlab.<package>.<name>`` is always one thing: a subpackage's module is never named after a
    public function or class of the package (CONTRIBUTING.md, "One home per helper")."""
    import importlib
    import pkgutil
    import types

    import optlab

    clashes = []
    for info in pkgutil.iter_modules(optlab.__path__):
        if not info.ispkg or info.name.startswith("_"):
            continue
        package = importlib.import_module(f"optlab.{info.name}")
        for sub in pkgutil.iter_modules(package.__path__):
            held = getattr(package, sub.name, None)  # None: a package that imports its modules lazily
            if held is not None and not isinstance(held, types.ModuleType):
                clashes.append(f"optlab.{info.name}.{sub.name}")
    assert not clashes, clashes


def _optlab_names() -> set[str]:
    import importlib
    import pkgutil

    import optlab

    names: set[str] = set()
    for info in pkgutil.walk_packages(optlab.__path__, "optlab."):
        names |= set(vars(importlib.import_module(info.name)))
    return names


def _lab_code(path: Path) -> str:
    nb = json.loads(path.read_text())
    return "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")


def test_lab_guards_name_private_functions_that_exist():
    """A hidden test that forbids the library's shortcuts lists private names too (the jitted
    cores behind the public functions). If the library renames one, the guard silently stops
    guarding it: every quoted private name in a lab must still be defined in some optlab module."""
    names = _optlab_names()
    missing = {}
    for path in sorted((ROOT / "labs").glob("*/lab*.ipynb")):
        quoted = set(re.findall(r"[\"'](_[a-z][a-z0-9_]*)[\"']", _lab_code(path)))
        if gone := sorted(quoted - names):
            missing[path.parent.name] = gone
    assert not missing, f"lab guards name private functions that no optlab module defines: {missing}"


def test_labs_import_public_library_names_only():
    """Labs (solutions and hidden tests) use the public API; private names appear only as the
    strings of a guard's forbidden list."""
    imports = re.compile(r"from (optlab[\w.]*) import (?:\(([^)]*)\)|([^\n(]+))")
    attributes = re.compile(r"\boptlab(?:\.\w+)*\._[a-z]\w*")
    offenders = {}
    for path in sorted((ROOT / "labs").glob("*/lab*.ipynb")):
        code = _lab_code(path)
        hits = set(attributes.findall(code))
        for module, in_parentheses, on_the_line in imports.findall(code):
            names = (in_parentheses or on_the_line).split("#")[0]
            imported = (n.split(" as ")[0].strip() for n in names.split(","))
            hits |= {f"{module}.{n}" for n in imported if n.startswith("_")}
        if hits:
            offenders[path.parent.name] = sorted(hits)
    assert not offenders, f"labs reach into private library names: {offenders}"


def _bib_keys() -> set[str]:
    files = [ROOT / "references.bib", *sorted((ROOT / "bib").glob("*.bib"))]
    return {m for f in files for m in re.findall(r"@\w+\{([^,\s]+),", f.read_text())}


def test_chapter_citations_glue_and_labels_resolve():
    """What the book build with -W would reject, found without building: a {cite} key missing
    from the .bib files, a {glue:...} role whose name the same notebook never glues, and a
    {ref}/{prf:ref} to a label defined nowhere in the book."""
    keys = _bib_keys()
    chapters = sorted((ROOT / "book").glob("*.ipynb"))
    texts = {p: json.loads(p.read_text()) for p in chapters}
    labels = set()
    for path in [*chapters, *sorted((ROOT / "book").rglob("*.md"))]:
        text = path.read_text()
        labels |= set(re.findall(r"^\(([\w-]+)\)=", text if path.suffix == ".md" else "", re.M))
    for nb in texts.values():
        for cell in nb["cells"]:
            src = "".join(cell["source"])
            labels |= set(re.findall(r"^\(([\w-]+)\)=", src, re.M))
            labels |= set(re.findall(r"^:label:\s*([\w-]+)", src, re.M))
    problems = []
    for path, nb in texts.items():
        md = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
        code = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
        for group in re.findall(r"\{cite(?::[pt])?\}`([^`]+)`", md):
            problems += [f"{path.name}: cite {k}" for k in group.split(",") if k.strip() not in keys]
        glued = set(re.findall(r"glue\(\s*[\"']([\w-]+)[\"']", code))
        for name in re.findall(r"\{glue(?::\w+)?\}`([\w-]+)", md):
            if name not in glued and not re.search(r"glue\(\s*f[\"']", code):  # f-string names: the build checks
                problems.append(f"{path.name}: glue {name}")
        for name in re.findall(r"\{(?:prf:)?ref\}`(?:[^`<]*<)?([\w-]+)>?`", md):
            if name not in labels:
                problems.append(f"{path.name}: ref {name}")
    assert not problems, problems


def test_prose_speaks_of_the_papers_not_of_how_they_were_gathered():
    """The developers' guide: never "seed paper", "digest" or "scraped" in what readers see
    ("seed" alone is a random seed)."""
    pattern = re.compile(r"\bseed papers?\b|\bdigests?\b|\bscraped\b", re.I)
    hits = []
    for path in [*sorted((ROOT / "book").glob("*.ipynb")), *sorted((ROOT / "labs").glob("*/lab*.ipynb"))]:
        for cell in json.loads(path.read_text())["cells"]:
            if cell["cell_type"] == "markdown":
                hits += [f"{path.name}: {m}" for m in pattern.findall("".join(cell["source"]))]
    for path in sorted((ROOT / "book").rglob("*.md")):
        hits += [f"{path.name}: {m}" for m in pattern.findall(path.read_text())]
    assert not hits, hits


MAX_CODE_CELL_LINES = 40


def test_chapter_code_cells_are_short():
    """A chapter reads as a book: no code cell longer than 40 lines (the review found cells of
    up to 56 lines); a long computation is split into setup, run, checks and glue cells."""
    long_cells = []
    for path in _notebooks():
        if not path.parent.name == "book":
            continue
        cells = json.loads(path.read_text())["cells"]
        for i, cell in enumerate(cells):
            n = len("".join(cell["source"]).rstrip("\n").split("\n"))
            if cell["cell_type"] == "code" and n > MAX_CODE_CELL_LINES:
                long_cells.append(f"{path.name} cell {i}: {n} lines")
    assert not long_cells, long_cells
