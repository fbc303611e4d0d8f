"""Argument checks shared by the modules of :mod:`optlab.dynamics`."""

from __future__ import annotations

from typing import Any

from .. import _checks


def check_scalar(name: str, value: Any, *, positive: bool = True) -> None:
    """One finite real number, positive (or non-negative); traced values pass."""
    if isinstance(value, bool):
        raise TypeError(f"{name} must be a number, got bool")
    _checks.as_float_array(name, value, ndim=0)
    if positive:
        _checks.require_positive(name, value)
    else:
        _checks.require_nonnegative(name, value)


def check_learning_rate(learning_rate: Any) -> None:
    """A positive number, or a schedule (a callable)."""
    if callable(learning_rate):
        return
    check_scalar("learning_rate", learning_rate)
