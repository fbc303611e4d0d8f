r"""Marginals and potentials (chapter 6): checking a pair of marginals, the plan
``P_ij = exp((f_i + g_j − C_ij)/ε)`` of a pair of potentials and its marginal error.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from .._checks import (
    _as_numpy,
    as_float_array,
    is_concrete,
    require_finite,
    require_positive,
)
from .._types import Array, ArrayLike, Float
from .geometry import Geometry, _as_geometry, _GeometryBase, _require_no_nan

__all__ = [
    "plan_from_potentials",
    "marginal_error",
    "check_marginals",
]


def check_marginals(
    geom: _GeometryBase,
    a: Float[ArrayLike, " n"] | None,
    b: Float[ArrayLike, " m"] | None,
    *,
    rtol: float = 1e-5,
) -> tuple[Float[Array, " n"], Float[Array, " m"]]:
    """Validate ``a``, ``b`` against the geometry; return them as arrays.

    Args:
      geom: a :class:`Geometry`, :class:`PointCloud` or an ``n × m`` cost matrix.
      a, b: marginals of shapes ``(n,)`` and ``(m,)``, or ``None`` for uniform ones
        (lists and integer arrays are converted to floats).
      rtol: relative tolerance on the equality of the total masses (> 0).

    Returns:
      ``(a, b)`` as floating arrays.

    Raises:
      TypeError: non-numeric ``a``, ``b``, ``geom`` or ``rtol``.
      ValueError: wrong shapes, negative or non-finite weights, zero mass, or
        unequal total masses.
    """
    geom = _as_geometry(geom)
    require_positive("rtol", rtol)
    n, m = geom.shape
    dt = _geom_dtype(geom)
    a = jnp.full((n,), 1.0 / n, dt) if a is None else as_float_array("a", a, ndim=1, finite=False)
    b = jnp.full((m,), 1.0 / m, dt) if b is None else as_float_array("b", b, ndim=1, finite=False)
    if jnp.shape(a)[0] != n or jnp.shape(b)[0] != m:
        raise ValueError(
            f"shape mismatch: cost is {n}×{m} but a has shape {tuple(jnp.shape(a))} "
            f"and b has shape {tuple(jnp.shape(b))}"
        )
    if is_concrete((a, b)):
        an, bn = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
        for name, v in (("a", an), ("b", bn)):
            if not np.all(np.isfinite(v)):
                raise ValueError(f"{name} contains NaN or infinite entries")
            if np.any(v < 0):
                raise ValueError(f"marginal {name} must be non-negative, got a minimum of {v.min()!r}")
            if v.sum() <= 0:
                raise ValueError(f"marginal {name} must have positive mass, got {v.sum()!r}")
        if abs(an.sum() - bn.sum()) > rtol * max(an.sum(), bn.sum()):
            raise ValueError(
                f"marginals must have the same total mass, got sum(a)={an.sum()!r} and sum(b)={bn.sum()!r}"
            )
    return a, b


def _check_eps(eps):
    if eps is None or isinstance(eps, (str, bytes)):
        raise TypeError(f"eps must be a positive number, got {type(eps).__name__}")
    if is_concrete(eps):
        arr = _as_numpy(eps, "eps")
        if arr.ndim != 0:
            raise ValueError(f"eps must be a scalar (vmap over several values), got shape {arr.shape}")
        if not np.all(np.isfinite(arr)) or not np.all(arr > 0):
            raise ValueError(f"eps must be positive and finite, got {eps!r}")


def _check_geometry(geom):
    if isinstance(geom, Geometry):
        require_finite("cost_matrix", geom._cost)


def _geom_dtype(geom):
    raw = geom._cost if isinstance(geom, Geometry) else geom.x
    return jnp.result_type(jnp.asarray(raw).dtype if is_concrete(raw) else raw.dtype, float)


def plan_from_potentials(
    geom: _GeometryBase, f: Float[Array, " n"], g: Float[Array, " m"], eps: float | Float[Array, ""]
) -> Float[Array, "n m"]:
    """``P_ij = exp((f_i + g_j − C_ij)/ε)`` (materialised).

    Args:
      geom: a :class:`Geometry`, :class:`PointCloud` or an ``n × m`` cost matrix.
      f, g: potentials of shapes ``(n,)`` and ``(m,)``; ``−∞`` marks a zero-weight
        row/column (as the solvers return), NaN and ``+∞`` are refused.
      eps: ``ε > 0``.

    Returns:
      The ``n × m`` plan.

    Raises:
      TypeError, ValueError: invalid arguments (named in the message).
    """
    geom = _as_geometry(geom)
    n, m = geom.shape
    f = as_float_array("f", f, ndim=1, finite=False)
    g = as_float_array("g", g, ndim=1, finite=False)
    if f.shape[0] != n or g.shape[0] != m:
        raise ValueError(
            f"f and g must have shapes ({n},) and ({m},) for a {n}×{m} cost, got {f.shape} and {g.shape}"
        )
    _require_no_nan("f", f)
    _require_no_nan("g", g)
    _check_eps(eps)
    return geom.plan(f, g, eps)


def marginal_error(P: Float[Array, "n m"], a: Float[Array, " n"], b: Float[Array, " m"]) -> Float[Array, ""]:
    """L1 marginal error ``‖P1 − a‖₁ + ‖Pᵀ1 − b‖₁``.

    Args:
      P: ``n × m`` plan (finite).
      a, b: target marginals of shapes ``(n,)`` and ``(m,)`` (finite).

    Returns:
      A scalar.

    Raises:
      TypeError, ValueError: non-numeric input, wrong shapes, NaN/inf.
    """
    P = as_float_array("P", P, ndim=2)
    a = as_float_array("a", a, ndim=1)
    b = as_float_array("b", b, ndim=1)
    if a.shape[0] != P.shape[0] or b.shape[0] != P.shape[1]:
        raise ValueError(
            f"a and b must have shapes ({P.shape[0]},) and ({P.shape[1]},) for a "
            f"plan P of shape {P.shape}, got {a.shape} and {b.shape}"
        )
    return jnp.sum(jnp.abs(P.sum(1) - a)) + jnp.sum(jnp.abs(P.sum(0) - b))


def _safe_log(a):
    return jnp.where(a > 0, jnp.log(jnp.where(a > 0, a, 1.0)), -jnp.inf)


def _costs(geom, a, b, f, g, eps):
    """(regularised cost, transport cost) from potentials.

    Regularised cost = dual value for ``⟨C,P⟩ + ε KL(P‖a⊗b)``:
    ``Σ a_i(f_i − ε log a_i) + Σ b_j(g_j − ε log b_j) − ε(Σ P − Σa Σb)``.
    """
    # In the shifted potentials f̃ = f − ε log a, g̃ = g − ε log b of the ``KL(P‖a⊗b)``
    # dual.  On a zero-weight row (f_i = −∞) f̃_i is the c-transform
    # ``−ε LSE_j((g_j − C_ij)/ε)``, which is finite: then ∂/∂a_i is the one-sided
    # derivative f̃_i − ε + ε Σb (Danskin), as on rows with a_i > 0.  Every log is of a
    # positive number and the zero-valued terms ``−ε Σ_{a_i=0} a_i`` supply the −ε of
    # the mass term on zero rows/columns, so the gradient has no 0·∞ = NaN.
    pos_a, pos_b = a > 0, b > 0
    la = jnp.log(jnp.where(pos_a, a, 1.0))
    lb = jnp.log(jnp.where(pos_b, b, 1.0))
    lr = geom.lse_rows(g, eps)  # LSE_j((g_j − C_ij)/ε)
    ft = jnp.where(pos_a, jnp.where(pos_a, f, 0.0) - eps * la, -eps * lr)
    gt = jnp.where(pos_b, jnp.where(pos_b, g, 0.0) - eps * lb, -eps * geom.lse_cols(f, eps))
    mass_p = jnp.sum(jnp.exp(f / eps + lr))
    zero_mass = jnp.sum(jnp.where(pos_a, 0.0, a)) + jnp.sum(jnp.where(pos_b, 0.0, b))
    reg = jnp.sum(a * ft) + jnp.sum(b * gt) - eps * (mass_p - jnp.sum(a) * jnp.sum(b)) - eps * zero_mass
    return reg, geom.transport_cost(f, g, eps)
