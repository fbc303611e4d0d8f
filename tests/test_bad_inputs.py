"""The bad-input sweep: every public function of optlab, called with clearly invalid
input (wrong shapes, NaN/inf, negative or zero hyper-parameters, empty arrays, wrong
dtypes and types, integer PRNG keys), raises ``ValueError``/``TypeError`` naming the
argument, before any compute; lists and integer arrays are converted.

Cases live in ``tests/bad_inputs/cases_<module>.py``; see the README there.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections import Counter
from pathlib import Path

import pytest

import badinput

HERE = Path(__file__).resolve().parent / "bad_inputs"
CASE_FILES = sorted(HERE.glob("cases_*.py"))


def _load(path: Path):
    spec = importlib.util.spec_from_file_location(f"bad_inputs_{path.stem}", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


MODULES = {p.stem.removeprefix("cases_"): _load(p) for p in CASE_FILES}
BAD = [c for m in MODULES.values() for c in m.CASES if isinstance(c, badinput.Bad)]
COERCE = [c for m in MODULES.values() for c in m.CASES if isinstance(c, badinput.Coerce)]


_OUTCOMES: dict[str, tuple[str, str]] = {}


def _outcome(case):
    if case.id not in _OUTCOMES:
        _OUTCOMES[case.id] = badinput.classify(case)
    return _OUTCOMES[case.id]


@pytest.mark.parametrize("case", BAD, ids=[c.id for c in BAD])
def test_invalid_input_gets_a_clear_error(case):
    outcome, detail = _outcome(case)
    assert outcome == badinput.CLEAR, f"{case.func} ({case.why}): {outcome}: {detail}"


@pytest.mark.parametrize("case", COERCE, ids=[c.id for c in COERCE])
def test_numeric_input_is_converted(case):
    badinput.check_coerce(case)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_every_public_name_is_swept(module):
    lib = importlib.import_module(f"optlab.{module}")
    cases = MODULES[module]
    exempt = getattr(cases, "EXEMPT", {})
    covered = {c.func.split(".", 1)[1] for c in cases.CASES}
    public = set(getattr(lib, "__all__", []))
    missing = sorted(n for n in public if n not in covered and n not in exempt)
    assert not missing, f"optlab.{module}: no bad-input case or exemption for {missing}"
    stale = sorted(set(exempt) - public)
    assert not stale, f"optlab.{module}: exemptions for names that are not public: {stale}"


def test_sweep_summary():
    """The headline number: the share of invalid calls that get a clear error."""
    tally = Counter(_outcome(c)[0] for c in BAD)
    total = sum(tally.values())
    assert total >= 1
    share = tally[badinput.CLEAR] / total
    print(f"bad-input sweep: {total} calls, {dict(tally)}, clear {share:.1%}")
    assert tally[badinput.GARBAGE] == 0 and tally[badinput.NAN] == 0, dict(tally)
    assert share >= 0.98, dict(tally)
