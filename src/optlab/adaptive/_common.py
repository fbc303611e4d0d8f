"""Helpers shared by :mod:`optlab.adaptive`'s modules."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from .. import _checks
from ..first_order import (
    _check_in_unit_interval,
    _check_nonnegative_scalar,
)

_tmap = jax.tree_util.tree_map


def _sqnorm(tree):
    return sum(jnp.vdot(x, x).real for x in jax.tree_util.tree_leaves(tree))


def _check_beta(name, value):
    if callable(value):
        raise TypeError(f"{name} must be a number, got a callable")
    _check_in_unit_interval(name, value)


def _check_nonneg(name, value):
    _check_nonnegative_scalar(name, value)


def _is_zero(value):
    return _checks.is_concrete(value) and float(value) == 0.0


def _step(eta, d, g):
    return (-eta * d).astype(g.dtype)
