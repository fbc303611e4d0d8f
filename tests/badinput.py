"""The bad-input sweep's harness (see ``tests/bad_inputs/README.md``).

A :class:`Bad` case is a clearly invalid call of one public function.  It passes
when the call raises ``ValueError`` or ``TypeError`` *and* the message names the
offending argument.  Any other outcome is classified, so that a failure says what
went wrong: a cryptic error (another exception type, or a message that does not
name the argument), finite garbage (a result came back), or NaN (a result with
NaN/inf in it).

A :class:`Coerce` case calls a function once with lists / integer arrays and once
with float arrays: both must succeed with the same finite answer (the library's
policy is to convert numeric input, see ``optlab._checks.as_float_array``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import jax
import numpy as np

CLEAR = "clear error"
CRYPTIC = "cryptic error"
GARBAGE = "finite garbage"
NAN = "NaN"


@dataclass(frozen=True)
class Bad:
    """``call()`` is invalid because of argument ``arg`` (the message must contain it)."""

    func: str  # public name, e.g. "ot.sinkhorn"
    arg: str  # the argument the error message must name
    call: Callable[[], Any]
    why: str = ""  # what is wrong, for the test id

    @property
    def id(self) -> str:
        return f"{self.func}:{self.arg}:{self.why}"


@dataclass(frozen=True)
class Coerce:
    """``coerced()`` (lists / ints) must equal ``reference()`` (float arrays), finite."""

    func: str
    coerced: Callable[[], Any]
    reference: Callable[[], Any]
    why: str = "lists and integer arrays"
    rtol: float = 1e-5
    atol: float = 1e-6
    extra: dict = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.func}:coerce:{self.why}"


def _leaves(out: Any) -> list[np.ndarray]:
    leaves = []
    for leaf in jax.tree_util.tree_leaves(out):
        try:
            arr = np.asarray(leaf)
        except Exception:  # noqa: BLE001 - opaque leaves (keys, callables)
            continue
        if np.issubdtype(arr.dtype, np.number):
            leaves.append(arr)
    return leaves


def classify(case: Bad) -> tuple[str, str]:
    """Run ``case`` and return (outcome, detail)."""
    try:
        out = case.call()
        jax.block_until_ready(out) if _leaves(out) else None
    except (ValueError, TypeError) as err:
        msg = str(err)
        if case.arg in msg:
            return CLEAR, msg
        return CRYPTIC, f"{type(err).__name__} does not name {case.arg!r}: {msg[:300]}"
    except Exception as err:  # noqa: BLE001 - anything else is cryptic by definition
        return CRYPTIC, f"{type(err).__name__}: {str(err)[:300]}"
    if any(np.issubdtype(a.dtype, np.inexact) and not np.all(np.isfinite(a)) for a in _leaves(out)):
        return NAN, "returned NaN or inf"
    return GARBAGE, "returned a result instead of raising"


def check_coerce(case: Coerce) -> None:
    got = case.coerced()
    want = case.reference()
    g, w = _leaves(got), _leaves(want)
    assert len(g) == len(w), f"{case.func}: different result structure"
    for a, b in zip(g, w):
        assert np.all(np.isfinite(a)), f"{case.func}: non-finite result from coerced input"
        np.testing.assert_allclose(a, b, rtol=case.rtol, atol=case.atol)
