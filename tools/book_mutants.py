"""Book mutation testing: every chapter's checks must catch a wrong library.

Each chapter ``book/NN_name.ipynb`` has ``book/mutants/NN_name.yml``, a list of
deliberate bugs in the library code the chapter teaches (a wrong constant, a dropped
term, an off-by-one, a wrong sign, a missing safeguard)::

    - name: gd-step-off-by-a-factor
      file: src/optlab/first_order.py
      replace:
        - old: "return -learning_rate * g"     # must occur exactly once in the file
          new: "return -0.5 * learning_rate * g"

For each mutant this command copies ``src/optlab`` to a temporary folder, applies the
replacements there (the checkout is never touched), and executes the chapter with that
copy first on ``PYTHONPATH``.  The mutant is *killed* when a cell of the chapter raises
``AssertionError``; any other exception is reported as an error (not a kill: a check
that fails by crashing is not a check), and a chapter that runs to the end lets the
mutant *survive*.  Execution stops at the first failing cell.

    python tools/book_mutants.py                  # every chapter
    python tools/book_mutants.py 01_gradient_descent 06_optimal_transport
    python tools/book_mutants.py --write          # and record book/mutants/results.md

``--write`` rewrites the rows of the chapters it ran in ``book/mutants/results.md``
(shown on the book's execution-status page).  ``tests/test_project.py`` checks that
every chapter has at least four mutants, that every ``old`` text still occurs exactly
once in its file, and that the recorded results name exactly the current mutants.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"
MUTANTS = BOOK / "mutants"
RESULTS = MUTANTS / "results.md"
MIN_MUTANTS = 4


def chapters() -> list[str]:
    return sorted(p.stem for p in BOOK.glob("[0-9][0-9]_*.ipynb"))


def load(chapter: str) -> list[dict]:
    path = MUTANTS / f"{chapter}.yml"
    if not path.exists():
        return []
    return yaml.safe_load(path.read_text()) or []


def check_mutant(mutant: dict) -> list[str]:
    """Problems with one mutant's definition (empty when it applies cleanly)."""
    problems = []
    for key in ("name", "file", "replace"):
        if key not in mutant:
            problems.append(f"missing {key!r}")
    if problems:
        return problems
    path = ROOT / mutant["file"]
    if not path.is_file() or not str(mutant["file"]).startswith("src/optlab/"):
        return [f"{mutant['name']}: file {mutant['file']} is not a library file"]
    text = path.read_text()
    for rep in mutant["replace"]:
        n = text.count(rep["old"])
        if n != 1:
            problems.append(f"{mutant['name']}: {rep['old']!r} occurs {n} times in {mutant['file']}")
        if rep["old"] == rep["new"]:
            problems.append(f"{mutant['name']}: a replacement that changes nothing")
    return problems


def apply(mutant: dict, root: Path) -> None:
    """Apply ``mutant`` to the copy of the library under ``root`` (``root/optlab``)."""
    path = root / Path(mutant["file"]).relative_to("src")
    text = path.read_text()
    for rep in mutant["replace"]:
        assert text.count(rep["old"]) == 1, (mutant["name"], rep["old"])
        text = text.replace(rep["old"], rep["new"])
    path.write_text(text)


def execute(chapter: str, pythonpath: Path, timeout: int = 300) -> tuple[str, str]:
    """Run the chapter with ``pythonpath`` first; return (outcome, detail)."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(BOOK / f"{chapter}.ipynb", as_version=4)
    env_before = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = str(pythonpath) + (os.pathsep + env_before if env_before else "")
    try:
        client = NotebookClient(
            nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(BOOK)}}
        )
        # The first cell proves the kernel imports the mutated copy, not the checkout.
        probe = nbformat.v4.new_code_cell(
            "import optlab, pathlib\n"
            f"assert pathlib.Path(optlab.__file__).resolve().is_relative_to({str(pythonpath.resolve())!r}), "
            "optlab.__file__"
        )
        nb.cells.insert(0, probe)
        try:
            client.execute()
        except CellExecutionError as err:
            ename = getattr(err, "ename", "") or ""
            index = next(
                (
                    i
                    for i, c in enumerate(nb.cells)
                    if c.get("outputs") and any(o.get("output_type") == "error" for o in c["outputs"])
                ),
                None,
            )
            where = f"cell {index - 1}" if index else "?"
            if index == 0:
                return "error", "the mutated library was not the one imported"
            if ename == "AssertionError":
                return "killed", where
            return "error", f"{ename} in {where}"
        except Exception as err:  # a cell timeout or a dead kernel: recorded, not fatal
            return "error", f"{type(err).__name__}: {str(err).splitlines()[0][:80] if str(err) else ''}"
    finally:
        if env_before is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = env_before
    return "survived", ""


def run_chapter(chapter: str) -> list[tuple[str, str, str, float]]:
    rows = []
    for mutant in load(chapter):
        problems = check_mutant(mutant)
        if problems:
            raise SystemExit("; ".join(problems))
        with tempfile.TemporaryDirectory(prefix="optlab-mutant-") as tmp:
            root = Path(tmp)
            shutil.copytree(ROOT / "src" / "optlab", root / "optlab")
            apply(mutant, root)
            start = time.perf_counter()
            outcome, detail = execute(chapter, root)
            seconds = time.perf_counter() - start
        print(f"{chapter}  {mutant['name']:<45} {outcome:<9} {detail}  ({seconds:.0f} s)", flush=True)
        rows.append((mutant["name"], outcome, detail, seconds))
    return rows


def read_results() -> dict[str, str]:
    """chapter -> its table row, from results.md."""
    rows = {}
    if RESULTS.exists():
        for line in RESULTS.read_text().splitlines():
            if line.startswith("| {doc}`"):
                rows[line.split("`")[1]] = line
    return rows


def row(chapter: str, results: list[tuple[str, str, str, float]]) -> str:
    killed = [n for n, o, _, _ in results if o == "killed"]
    others = [
        f"{n} ({o}{': ' + d if d and o != 'killed' else ''})" for n, o, d, _ in results if o != "killed"
    ]
    date = _dt.date.today().isoformat()
    names = ", ".join(n for n, *_ in results)
    return (
        f"| {{doc}}`{chapter}` | {len(killed)}/{len(results)} | "
        f"{'; '.join(others) if others else 'none'} | {names} | {date} |"
    )


def write(rows: dict[str, str]) -> None:
    header = "| chapter | killed | not killed | mutants | run on |\n| --- | --- | --- | --- | --- |\n"
    body = "\n".join(rows[c] for c in chapters() if c in rows)
    RESULTS.write_text(
        "<!-- written by `make book-mutants` (tools/book_mutants.py --write); do not edit -->\n"
        + header
        + body
        + "\n"
    )


@contextlib.contextmanager
def _locked():
    import fcntl

    with open(MUTANTS / ".results.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("chapters", nargs="*", help="notebook stems (default: every chapter)")
    parser.add_argument("--write", action="store_true", help="record the results in book/mutants/results.md")
    args = parser.parse_args(argv)
    todo = args.chapters or chapters()
    unknown = sorted(set(todo) - set(chapters()))
    if unknown:
        raise SystemExit(f"unknown chapters: {unknown}")
    survivors = 0
    for chapter in todo:
        results = run_chapter(chapter)
        if not results:
            print(f"{chapter}: no mutants (book/mutants/{chapter}.yml)")
            continue
        survivors += sum(o != "killed" for _, o, _, _ in results)
        if args.write:
            with _locked():  # several chapters may be recorded at once
                recorded = read_results()
                recorded[chapter] = row(chapter, results)
                write(recorded)
    print(f"book mutants: {survivors} not killed")
    return 1 if survivors else 0


if __name__ == "__main__":
    sys.exit(main())
