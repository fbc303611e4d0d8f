"""Every public function and class of optlab (but optlab.viz) has Google-style sections.

Functions: ``Args:`` (when they take arguments) and ``Returns:`` or ``Yields:``; classes:
``Args:`` or ``Attributes:``. ``python tools/check_docstrings.py`` lists what is missing.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("check_docstrings", ROOT / "tools" / "check_docstrings.py")
check_docstrings = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(check_docstrings)


def test_the_checker_sees_every_public_module():
    modules = check_docstrings.modules()
    assert "optlab.second_order" in modules and "optlab.constrained.sets" in modules
    assert not any(m.startswith("optlab.viz") for m in modules)


def test_the_checker_flags_a_bare_function_and_class():
    def bare(x):
        """No sections."""
        return x

    class Bare:
        """No sections."""

        def __init__(self, x):
            self.x = x

    class NoArguments:
        """Nothing to document: the constructor takes no arguments."""

    def check(x) -> None:
        """Raise unless ``x`` is fine.

        Args:
          x: the value.
        """

    assert check_docstrings.problems_of(bare) == ["Args", "Returns"]
    assert check_docstrings.problems_of(Bare) == ["Args/Attributes"]
    assert check_docstrings.problems_of(NoArguments) == []
    assert check_docstrings.problems_of(check) == []  # annotated -> None: no Returns needed


def test_every_public_callable_has_args_and_returns():
    missing = {m: names for m, names in check_docstrings.missing().items() if names}
    assert not missing, "\n".join(f"{m}: {', '.join(names)}" for m, names in missing.items())
