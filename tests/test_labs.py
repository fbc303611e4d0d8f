"""Every lab's autograder gives full marks to the solution and fails wrong or empty answers.

For each ``labs/<lab>/<lab>.ipynb`` master: ``otter assign`` builds the student and
autograder versions; the autograder (``otter run``, no container) then grades the
solution notebook (full marks), the untouched student notebook (at most a quarter of the
points) and every mutant in ``labs/<lab>/mutants.yml`` (must lose points; with
``max_fraction`` at most that fraction; with ``lost`` those questions below full marks).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import labs as labtools  # noqa: E402

LABS = labtools.lab_names()


def _mutants(lab):
    path = ROOT / "labs" / lab / "mutants.yml"
    return yaml.safe_load(path.read_text()) if path.exists() else []


def _params():
    out = []
    for lab in LABS:
        out.append(pytest.param(lab, None, id=f"{lab}-student"))
        for m in _mutants(lab):
            out.append(pytest.param(lab, m["name"], id=f"{lab}-mutant-{m['name']}"))
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
    assert LABS, "no labs found"
    for lab in LABS:
        assert _mutants(lab), f"labs/{lab}/mutants.yml is missing or empty"


@pytest.mark.parametrize("lab", LABS)
def test_solution_gets_full_marks(lab, assigned):
    dist = assigned(lab)
    scores = labtools.grade_one(labtools.autograder_zip(dist), dist / "autograder" / f"{lab}.ipynb")
    got, possible = _total(scores)
    assert possible > 0
    assert got == possible, f"solution scored {scores}"


@pytest.mark.parametrize("lab,mutant", _params())
def test_wrong_or_empty_answers_lose_marks(lab, mutant, assigned, tmp_path):
    dist = assigned(lab)
    zip_path = labtools.autograder_zip(dist)
    if mutant is None:
        scores = labtools.grade_one(zip_path, dist / "student" / f"{lab}.ipynb")
        got, possible = _total(scores)
        assert got <= 0.25 * possible, f"the untouched student notebook scored {scores}"
        return
    spec = next(m for m in _mutants(lab) if m["name"] == mutant)
    nb = json.loads((dist / "autograder" / f"{lab}.ipynb").read_text())
    for rep in spec["replace"]:
        hits = [c for c in nb["cells"] if c["cell_type"] == "code" and rep["old"] in "".join(c["source"])]
        assert len(hits) == 1, f"mutant {mutant}: {rep['old']!r} found in {len(hits)} cells"
        src = "".join(hits[0]["source"]).replace(rep["old"], rep["new"])
        hits[0]["source"] = src
    sub = tmp_path / f"{lab}.ipynb"
    sub.write_text(json.dumps(nb))
    scores = labtools.grade_one(zip_path, sub)
    got, possible = _total(scores)
    assert got < possible, f"mutant {mutant} kept full marks: {scores}"
    if "max_fraction" in spec:
        assert got <= spec["max_fraction"] * possible, f"mutant {mutant} scored {scores}"
    for q in spec.get("lost", []):
        assert scores[q][0] < scores[q][1], f"mutant {mutant} did not lose points on {q}: {scores}"
