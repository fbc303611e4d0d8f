"""Every lab's autograder gives full marks to the solution and fails wrong or empty answers.

For each ``labs/<lab>/<lab>.ipynb`` master: ``otter assign`` builds the student and
autograder versions; the autograder (``otter run``, no container) then grades the
solution notebook (full marks), the untouched student notebook and every mutant in
``labs/<lab>/mutants.yml`` (must lose points; with ``max_fraction`` at most that fraction of
the total; with ``lost`` those questions below full marks; with ``question: qN`` (issue 15)
question qN scores at most ``max_question_fraction`` (default 0.5) of its points).
The untouched student notebook scores at most 10% of the points in a lab rebuilt to
issue 15 (its mutants name their ``question``), at most 25% in the others.

The solution and the student notebook are graded as students' submissions are, each in a
fresh kernel (``grade_one``).  A lab's mutants are graded in one kernel
(``tools/labs.py grade_many``: the same otter grading, a kernel reset between submissions),
about three times faster; ``test_one_kernel_grading_agrees_with_fresh_kernels`` checks on
every lab that this gives the same scores: the solution graded first and last in that
kernel, and the student notebook, score exactly as in a fresh kernel.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import labs as labtools  # noqa: E402

ALL_LABS = labtools.lab_names()


def _mutants(lab):
    path = ROOT / "labs" / lab / "mutants.yml"
    return yaml.safe_load(path.read_text()) if path.exists() else []


def _shard(labs, spec):
    """``OPTLAB_LAB_SHARD=i/n`` (``make test`` runs n shards as parallel jobs): the labs of
    shard i of n, by a greedy split that balances the number of mutants (the cost)."""
    if not spec:
        return labs
    i, n = (int(v) for v in spec.split("/"))
    if not 1 <= i <= n:
        raise ValueError(f"OPTLAB_LAB_SHARD must be i/n with 1 <= i <= n, got {spec!r}")
    loads, groups = [0] * n, [[] for _ in range(n)]
    for lab in sorted(labs, key=lambda lab: (-len(_mutants(lab)), lab)):
        k = loads.index(min(loads))
        groups[k].append(lab)
        loads[k] += len(_mutants(lab)) + 4  # + the solution, student, Run All and assign
    return sorted(groups[i - 1])


LABS = _shard(ALL_LABS, os.environ.get("OPTLAB_LAB_SHARD", ""))


def _only_if_in_shard(lab):
    if lab not in LABS:
        pytest.skip(f"{lab} is graded in another shard (OPTLAB_LAB_SHARD)")


def _rebuilt(lab):
    """Rebuilt to issue 15: its mutants name the question they break."""
    return any("question" in m for m in _mutants(lab))


def _params():
    out = []
    for lab in LABS:
        group = pytest.mark.xdist_group(lab)  # one lab's tests share a worker (and its otter assign)
        out.append(pytest.param(lab, None, id=f"{lab}-student", marks=group))
        for m in _mutants(lab):
            out.append(pytest.param(lab, m["name"], id=f"{lab}-mutant-{m['name']}", marks=group))
    return out


@pytest.fixture(scope="module")
def assigned(tmp_path_factory):
    cache = {}

    def get(lab):
        if lab not in cache:
            out = tmp_path_factory.mktemp(lab) / "dist"
            labtools.assign(lab, out, run_tests=False)
            cache[lab] = out
        return cache[lab]

    return get


def _total(scores):
    return sum(s for s, _ in scores.values()), sum(m for _, m in scores.values())


def test_every_lab_has_mutants():
    assert ALL_LABS, "no labs found"
    for lab in ALL_LABS:
        assert _mutants(lab), f"labs/{lab}/mutants.yml is missing or empty"


# The six kinds of wrong solution of issue 15, with the spellings the labs use.
MUTANT_KINDS = {
    "hard-coded answer": "hard-coded answer",
    "forbidden call": "forbidden call",
    "visible inputs only": "visible inputs only",
    "unstable": "unstable",
    "numerically unstable": "unstable",
    "forgotten term": "forgotten term / off-by-one",
    "off-by-one": "forgotten term / off-by-one",
    "off-by-one count": "forgotten term / off-by-one",
    "forgotten term / off-by-one": "forgotten term / off-by-one",
    "wrong default": "wrong default",
}


@pytest.mark.parametrize("lab", [lab for lab in LABS if _rebuilt(lab)])
def test_rebuilt_lab_has_eight_mutants_of_all_six_kinds(lab):
    """Issue 15: at least 8 wrong solutions per lab, each naming its question and one of the
    six kinds, and every kind present."""
    mutants = _mutants(lab)
    assert len(mutants) >= 8, f"{lab}: {len(mutants)} mutants, at least 8 needed"
    for m in mutants:
        assert m.get("question"), f"{lab}: mutant {m['name']} names no question"
        assert m.get("kind") in MUTANT_KINDS, f"{lab}: mutant {m['name']} has unknown kind {m.get('kind')!r}"
    missing = set(MUTANT_KINDS.values()) - {MUTANT_KINDS[m["kind"]] for m in mutants}
    assert not missing, f"{lab}: no mutant of kind {sorted(missing)}"


def _mutated(solution: Path, spec) -> dict:
    """The solution notebook with the mutant's replacements (each must match one code cell)."""
    nb = json.loads(solution.read_text())
    for rep in spec["replace"]:
        hits = [c for c in nb["cells"] if c["cell_type"] == "code" and rep["old"] in "".join(c["source"])]
        assert len(hits) == 1, f"mutant {spec['name']}: {rep['old']!r} found in {len(hits)} cells"
        hits[0]["source"] = "".join(hits[0]["source"]).replace(rep["old"], rep["new"])
    return nb


@pytest.fixture(scope="module")
def fresh(assigned):
    """``fresh(lab, "solution" | "student")``: its scores, graded in a fresh kernel (cached)."""
    cache = {}

    def get(lab, which):
        if (lab, which) not in cache:
            dist = assigned(lab)
            folder = {"solution": "autograder", "student": "student"}[which]
            notebook = dist / folder / f"{lab}.ipynb"
            cache[lab, which] = labtools.grade_one(labtools.autograder_zip(dist), notebook)
        return cache[lab, which]

    return get


@pytest.fixture(scope="module")
def one_kernel(assigned, tmp_path_factory):
    """``one_kernel(lab)``: ``{name: scores}`` for every mutant of the lab, graded in one
    kernel, with ``"solution-first"``, ``"student"`` and ``"solution-last"`` beside them
    (cached: the lab's first test grades the whole batch)."""
    cache = {}

    def get(lab):
        if lab not in cache:
            dist = assigned(lab)
            folder = tmp_path_factory.mktemp(f"{lab}-submissions")
            solution = dist / "autograder" / f"{lab}.ipynb"
            batch = {"solution-first": solution, "student": dist / "student" / f"{lab}.ipynb"}
            same_as = {}  # a mutant whose notebook equals an earlier one's is graded once
            seen: dict[str, str] = {}
            for spec in _mutants(lab):
                text = json.dumps(_mutated(solution, spec), sort_keys=True)
                if text in seen:
                    same_as[spec["name"]] = seen[text]
                    continue
                seen[text] = spec["name"]
                path = folder / f"mutant-{spec['name']}.ipynb"
                path.write_text(text)
                batch[spec["name"]] = path
            batch["solution-last"] = solution
            scores = labtools.grade_many(labtools.autograder_zip(dist), list(batch.values()))
            cache[lab] = dict(zip(batch, scores, strict=True))
            cache[lab].update({name: cache[lab][first] for name, first in same_as.items()})
        return cache[lab]

    return get


@pytest.mark.parametrize("lab", [pytest.param(lab, marks=pytest.mark.xdist_group(lab)) for lab in LABS])
def test_solution_gets_full_marks(lab, fresh):
    scores = fresh(lab, "solution")
    got, possible = _total(scores)
    assert possible > 0
    assert got == possible, f"solution scored {scores}"


@pytest.mark.parametrize("lab", [pytest.param(lab, marks=pytest.mark.xdist_group(lab)) for lab in LABS])
def test_one_kernel_grading_agrees_with_fresh_kernels(lab, fresh, one_kernel):
    batch = one_kernel(lab)
    solution = fresh(lab, "solution")
    assert batch["solution-first"] == solution, f"one kernel {batch['solution-first']}, fresh {solution}"
    assert batch["solution-last"] == solution, (
        f"after the mutants, the solution scored {batch['solution-last']} (fresh: {solution}):"
        " a submission leaked state into the next"
    )
    assert batch["student"] == fresh(lab, "student")


@pytest.mark.parametrize("lab", [pytest.param(lab, marks=pytest.mark.xdist_group(lab)) for lab in LABS])
def test_student_notebook_runs_to_the_end(lab, assigned):
    """Run All on the fresh student notebook reaches the end without raising (issue 15):
    unanswered questions hold placeholders that fail their checks, not the kernel, and the
    experiment says which question to finish first instead of a traceback."""
    import nbformat
    from nbclient import NotebookClient

    folder = assigned(lab) / "student"
    nb = nbformat.read(folder / f"{lab}.ipynb", as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(folder)}}).execute()
    errors = [
        f"cell {i}: {o['ename']}: {o['evalue'][:300]}"
        for i, cell in enumerate(nb.cells) if cell.cell_type == "code"
        for o in cell.get("outputs", []) if o["output_type"] == "error"
    ]
    assert not errors, f"Run All on the student notebook raised: {errors}"


@pytest.mark.parametrize("lab,mutant", _params())
def test_wrong_or_empty_answers_lose_marks(lab, mutant, fresh, one_kernel):
    if mutant is None:
        scores = fresh(lab, "student")
        got, possible = _total(scores)
        ceiling = 0.10 if _rebuilt(lab) else 0.25
        assert got <= ceiling * possible, f"the untouched student notebook scored {scores} (> {ceiling:.0%})"
        return
    spec = next(m for m in _mutants(lab) if m["name"] == mutant)
    scores = one_kernel(lab)[mutant]
    got, possible = _total(scores)
    assert got < possible, f"mutant {mutant} kept full marks: {scores}"
    if "max_fraction" in spec:
        assert got <= spec["max_fraction"] * possible, f"mutant {mutant} scored {scores}"
    for q in spec.get("lost", []):
        assert scores[q][0] < scores[q][1], f"mutant {mutant} did not lose points on {q}: {scores}"
    if "question" in spec:
        q, fraction = spec["question"], spec.get("max_question_fraction", 0.5)
        assert q in scores, f"mutant {mutant} names {q!r}; the autograder scores {sorted(scores)}"
        assert scores[q][0] <= fraction * scores[q][1], (
            f"mutant {mutant} kept more than {fraction:.0%} of {q}'s points: {scores}"
        )


@pytest.mark.xdist_group("lab17_smoothing")
def test_a_submission_that_never_returns_is_interrupted(assigned, tmp_path, monkeypatch):
    """A cell that runs longer than the grading limit (``OPTLAB_GRADING_CELL_TIMEOUT``) is
    interrupted and grading goes on: a q1 cell that loops forever before defining its
    functions costs q1 its points instead of hanging the grader, and the next submission in
    the same kernel (the solution) still gets full marks."""
    lab = "lab17_smoothing"
    _only_if_in_shard(lab)
    dist = assigned(lab)
    solution = dist / "autograder" / f"{lab}.ipynb"
    spec = {"name": "never-returns", "replace": [{
        "old": "def clopper_pearson_lower(k, n, alpha):",
        "new": "while True:  # a submission that never returns\n    pass\n\n\ndef clopper_pearson_lower(k, n, alpha):",
    }]}
    hangs = tmp_path / "never-returns.ipynb"
    hangs.write_text(json.dumps(_mutated(solution, spec)))
    monkeypatch.setenv(labtools.CELL_TIMEOUT_ENV, "10")
    hung, after = labtools.grade_many(labtools.autograder_zip(dist), [hangs, solution])
    assert hung["q1"][0] == 0, f"the submission that never returns kept points on q1: {hung}"
    got, possible = _total(after)
    assert got == possible, f"the solution graded after it in the same kernel scored {after}"


def _code(source):
    return {"cell_type": "code", "metadata": {}, "source": source, "outputs": [], "execution_count": None}


def _raw(source):
    return {"cell_type": "raw", "metadata": {}, "source": source}


def _question(name, solution, test):
    return [{"cell_type": "markdown", "metadata": {}, "source": f"## Question {name[1:]}\n"},
            _raw(f"# BEGIN QUESTION\nname: {name}\npoints: 1\n"), _raw("# BEGIN SOLUTION"),
            _code(solution), _raw("# END SOLUTION"), _raw("# BEGIN TESTS"), _code(test),
            _raw("# END TESTS"), _raw("# END QUESTION")]


@pytest.fixture(scope="module")
def tiny_lab(tmp_path_factory):
    """A two-question otter lab (q1 defines ``double``, q2 ``triple``; one point each),
    assigned without running its tests: its ``dist`` folder.  A kernel runs it in seconds,
    against about a minute for a real lab.  Its tests run once, in shard 1 of ``make test``
    (they grade no real lab, so every shard would repeat them)."""
    import subprocess

    spec = os.environ.get("OPTLAB_LAB_SHARD", "")
    if spec and not spec.startswith("1/"):
        pytest.skip("the tiny lab's tests run in shard 1 (OPTLAB_LAB_SHARD)")

    import nbformat

    folder = tmp_path_factory.mktemp("tiny")
    config = ("# ASSIGNMENT CONFIG\nname: tiny\ninit_cell: true\ncheck_all_cell: false\nexport_cell: false\n"
              "run_tests: false\ngenerate: true\ntests:\n  files: false\n")
    cells = [_raw(config), {"cell_type": "markdown", "metadata": {}, "source": "# A tiny lab\n"},
             *_question("q1", "def double(x):\n    # BEGIN SOLUTION\n    return 2 * x\n    # END SOLUTION\n",
                        "assert double(3) == 6\n"),
             *_question("q2", "def triple(x):\n    # BEGIN SOLUTION\n    return 3 * x\n    # END SOLUTION\n",
                        "assert triple(3) == 9\n")]
    for i, cell in enumerate(cells):
        cell["id"] = f"cell-{i}"
    nb = nbformat.from_dict({"cells": cells, "nbformat": 4, "nbformat_minor": 5, "metadata": {
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}})
    master = folder / "tiny.ipynb"
    nbformat.write(nb, master)
    dist = folder / "dist"
    subprocess.run([*labtools.OTTER, "assign", str(master), str(dist), "--no-run-tests"],
                   check=True, cwd=folder, capture_output=True, text=True)
    return dist


KILLS = {  # where the tiny lab's solution kills the kernel, as running out of memory does
    "in-its-cell": "import os\nos.kill(os.getpid(), 9)  # triple is never defined\n\n\ndef triple(x):",
    "in-the-tests": "def triple(x):\n    import os\n    os.kill(os.getpid(), 9)  # when q2's tests call it",
}


def _kills_its_kernel(dist, tmp_path, where="in-its-cell"):
    """The tiny lab's solution whose q2 kills the kernel: its cell, or ``triple`` when q2's
    test (``grader.check``, then otter's final cell) calls it."""
    spec = {"name": f"kills-its-kernel-{where}", "replace": [{"old": "def triple(x):", "new": KILLS[where]}]}
    path = tmp_path / f"kills-its-kernel-{where}.ipynb"
    path.write_text(json.dumps(_mutated(dist / "autograder" / "tiny.ipynb", spec)))
    return path


def _within(seconds, fn, *args):
    """``fn(*args)``, failing the test if it has not returned after ``seconds`` (it runs in a
    daemon thread, left behind if it hangs: the grading that hung is abandoned, not stopped)."""
    import threading

    box = {}

    def target():
        try:
            box["value"] = fn(*args)
        except BaseException as e:  # noqa: BLE001 (re-raised in the test's thread)
            box["error"] = e

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"{fn.__name__} was still running after {seconds} s: it hangs"
    if "error" in box:
        raise box["error"]
    return box["value"]


KILLED_KERNEL_DEADLINE_S = 180  # about 15 s on 2 idle cores; without the fix it never returns


@pytest.mark.parametrize("where", list(KILLS))
def test_a_submission_that_kills_its_kernel_keeps_what_ran_before(tiny_lab, tmp_path, monkeypatch, where):
    """A submission that kills the kernel (``os.kill``, or out of memory) in the shared
    grading kernel, in q2's cell or in q2's tests: it keeps the point of q1, before the kill,
    and loses q2's; the kernel is restarted, and the next submission (the solution) gets full
    marks, all in bounded time (the grader hung here: nbclient's blocking reads on the
    synchronous client never saw the kernel die, and the watchdog interrupted the dead kernel
    forever)."""
    killer = _kills_its_kernel(tiny_lab, tmp_path, where)
    solution = tiny_lab / "autograder" / "tiny.ipynb"
    monkeypatch.setenv(labtools.CELL_TIMEOUT_ENV, "10")
    zip_path = labtools.autograder_zip(tiny_lab)
    killed, after = _within(KILLED_KERNEL_DEADLINE_S, labtools.grade_many, zip_path, [killer, solution])
    assert killed == {"q1": (1.0, 1.0), "q2": (0.0, 1.0)}, f"the kernel's killer scored {killed}"
    assert after == {"q1": (1.0, 1.0), "q2": (1.0, 1.0)}, f"the solution graded after it scored {after}"


def test_a_submission_that_kills_a_fresh_kernel_keeps_what_ran_before(tiny_lab, tmp_path, monkeypatch):
    """The same submission graded as students' are (``grade_one``, a fresh kernel): the
    question before the kill keeps its point instead of the whole grading raising
    ``DeadKernelError``."""
    killer = _kills_its_kernel(tiny_lab, tmp_path)
    monkeypatch.setenv(labtools.CELL_TIMEOUT_ENV, "10")
    killed = _within(KILLED_KERNEL_DEADLINE_S, labtools.grade_one, labtools.autograder_zip(tiny_lab), killer)
    assert killed == {"q1": (1.0, 1.0), "q2": (0.0, 1.0)}, f"the kernel's killer scored {killed}"


@pytest.mark.xdist_group("lab01_gd")
def test_grading_command_scores_a_folder_into_csv(tmp_path, assigned):
    """The instructors' command: a correct, a partial and a wrong submission, one CSV."""
    import csv
    import subprocess

    lab = "lab01_gd"
    _only_if_in_shard(lab)
    dist = assigned(lab)
    folder = tmp_path / "submissions"
    folder.mkdir()
    solution = json.loads((dist / "autograder" / f"{lab}.ipynb").read_text())
    (folder / "correct.ipynb").write_text(json.dumps(solution))
    partial = json.loads(json.dumps(solution))
    search = "f_new < fx and f_new <= fx - c * eta * grad_sq"
    replaced = 0
    for cell in partial["cells"]:
        src = "".join(cell["source"])
        if search in src:
            cell["source"] = src.replace(search, "f_new <= fx - c * eta * grad_sq")  # no strict decrease
            replaced += 1
    assert replaced == 1, "the partial submission's edit no longer matches the lab01 solution"
    (folder / "partial.ipynb").write_text(json.dumps(partial))
    (folder / "wrong.ipynb").write_text((dist / "student" / f"{lab}.ipynb").read_text())

    subprocess.run([sys.executable, str(ROOT / "tools" / "labs.py"), "grade", lab, str(folder), str(dist)],
                   check=True, capture_output=True, text=True)
    rows = {r["submission"]: r for r in csv.DictReader((folder / "scores.csv").open())}
    assert set(rows) == {"correct.ipynb", "partial.ipynb", "wrong.ipynb"}
    total = {k: float(r["total"]) for k, r in rows.items()}
    possible = float(rows["correct.ipynb"]["possible"])
    assert total["correct.ipynb"] == possible == 12.0  # q4 (3 points) is graded by hand
    assert 0.0 < total["partial.ipynb"] < possible
    assert float(rows["partial.ipynb"]["q1"]) == 4.0 and float(rows["partial.ipynb"]["q2"]) < 4.0
    assert total["wrong.ipynb"] == 0.0


@pytest.mark.xdist_group("lab06_sinkhorn")
def test_written_answers_are_exported_for_hand_grading(tmp_path, assigned):
    """tools/labs.py collects each submission's hand-graded answers, by question (issue 15)."""
    import subprocess

    lab = "lab06_sinkhorn"
    _only_if_in_shard(lab)
    student = json.loads((assigned(lab) / "student" / f"{lab}.ipynb").read_text())
    answer_cells = [c for c in student["cells"] if c["cell_type"] == "markdown"
                    and "otter_answer_cell" in c.get("metadata", {}).get("tags", [])]
    assert answer_cells, f"{lab}'s student notebook has no written-answer cell"
    folder = tmp_path / "submissions"
    folder.mkdir()
    (folder / "blank.ipynb").write_text(json.dumps(student))
    answer_cells[0]["source"] = "Iterations grow like 1/eps because the kernel exp(-C/eps) contracts less."
    (folder / "answered.ipynb").write_text(json.dumps(student))
    subprocess.run([sys.executable, str(ROOT / "tools" / "labs.py"), "manual", str(folder)],
                   check=True, capture_output=True, text=True)
    text = (folder / "manual_answers.md").read_text()
    assert "## Question 4" in text, text[:500]
    assert "### answered.ipynb" in text and "kernel exp(-C/eps) contracts less" in text
    assert "### blank.ipynb" in text and "*(unanswered)*" in text
