"""Helpers shared by :mod:`optlab.accel`'s modules."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from .. import _checks
from ..first_order import (
    _require_scalar,
)

_tmap = jax.tree_util.tree_map


def _vdot(a, b):
    return sum(
        jnp.vdot(x, y).real
        for x, y in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b), strict=False)
    )


def _check_L_mu(L, mu):
    _require_scalar("L", L)
    _require_scalar("mu", mu)
    _checks.require_positive("L", L)
    _checks.require_positive("mu", mu)
    if _checks.is_concrete((L, mu)) and float(mu) > float(L):
        raise ValueError(f"mu must not exceed L, got mu={mu!r} > L={L!r}")
