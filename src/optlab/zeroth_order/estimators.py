"""Zeroth-order gradient estimators: Gaussian smoothing, two-point sphere, forward gradients,
coordinates (chapter 14)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from .._checks import (
    require_int,
    require_key,
)
from .._types import Array, Float, PRNGKeyArray
from ._common import _check_directions, _check_point, _check_smoothing, _dtype_scalar

# ---------------------------------------------------------------------------
# gradient estimators
# ---------------------------------------------------------------------------


def gaussian_smoothing_grad(
    f: Callable,
    x: Float[Array, " d"],
    *,
    key: PRNGKeyArray,
    num_directions: int = 1,
    smoothing: float | Float[Array, ""] = 1e-3,
    central: bool = False,
) -> Float[Array, " d"]:
    r"""Gaussian-smoothing gradient estimate ``ĝ`` of ``∇f_μ(x)``, ``f_μ = E f(x + μu)``.

    One-sided: ``ĝ = (1/m) Σ_j (f(x + μu_j) − f(x))/μ · u_j`` (``m + 1`` evaluations);
    ``central=True``: ``(f(x + μu_j) − f(x − μu_j))/(2μ) · u_j`` (``2m`` evaluations).
    Both are unbiased for ``∇f_μ(x)`` (Nesterov & Spokoiny 2017).

    Args:
      f: scalar function of a ``(d,)`` array.
      x: ``(d,)`` point (lists and integer arrays are converted to float).
      key: a JAX PRNG key (``jax.random.key(seed)``); an integer seed is refused.
      num_directions: ``m ≥ 1``.
      smoothing: ``μ > 0`` (scalar, may be traced).
      central: two-sided differences.

    Returns:
      ``(d,)`` estimate ``ĝ``.

    Raises:
      TypeError: ``f`` not callable, ``key`` not a PRNG key, non-numeric ``x``.
      ValueError: wrong shapes, non-finite ``x``, ``m < 1`` or ``μ ≤ 0``.
    """
    x = _check_point(f, x)
    require_key("key", key)
    _check_directions(num_directions)
    _check_smoothing(smoothing)
    return _gaussian_core(f, num_directions, bool(central), x, key, _dtype_scalar(smoothing, x.dtype))


# region: zo-gaussian-core
@functools.partial(jax.jit, static_argnums=(0, 1, 2))
def _gaussian_core(f, num_directions, central, x, key, smoothing):
    u = jax.random.normal(key, (num_directions,) + x.shape, dtype=x.dtype)
    fp = jax.vmap(f)(x + smoothing * u)
    if central:
        fm = jax.vmap(f)(x - smoothing * u)
        coef = (fp - fm) / (2 * smoothing)
    else:
        coef = (fp - f(x)) / smoothing
    return jnp.mean(coef[:, None] * u, axis=0)


# endregion: zo-gaussian-core


def sphere_two_point_grad(
    f: Callable,
    x: Float[Array, " d"],
    *,
    key: PRNGKeyArray,
    num_directions: int = 1,
    smoothing: float | Float[Array, ""] = 1e-3,
) -> Float[Array, " d"]:
    r"""Two-point estimator with directions uniform on the unit sphere (``2m`` evaluations):
    ``ĝ = (1/m) Σ_j d/(2μ) (f(x + μu_j) − f(x − μu_j)) u_j``, unbiased for the gradient of
    the ball smoothing ``E_{w∼Unif(B)} f(x + μw)`` (Ren, Tang & Li 2023).

    Args:
      f: scalar function of a ``(d,)`` array.
      x: ``(d,)`` point (lists and integer arrays are converted to float).
      key: a JAX PRNG key (``jax.random.key(seed)``); an integer seed is refused.
      num_directions: ``m ≥ 1``.
      smoothing: ``μ > 0`` (scalar, may be traced).

    Returns:
      ``(d,)`` estimate ``ĝ``.

    Raises:
      TypeError: ``f`` not callable, ``key`` not a PRNG key, non-numeric ``x``.
      ValueError: ``x`` not a non-empty finite vector, ``f`` not returning a scalar at ``x``,
        ``m < 1`` or ``μ ≤ 0``.
    """
    x = _check_point(f, x)
    require_key("key", key)
    _check_directions(num_directions)
    _check_smoothing(smoothing)
    return _sphere_core(f, num_directions, x, key, _dtype_scalar(smoothing, x.dtype))


# region: zo-sphere-core
@functools.partial(jax.jit, static_argnums=(0, 1))
def _sphere_core(f, num_directions, x, key, smoothing):
    d = x.shape[0]
    u = jax.random.normal(key, (num_directions, d), dtype=x.dtype)
    u = u / jnp.linalg.norm(u, axis=1, keepdims=True)
    diff = jax.vmap(f)(x + smoothing * u) - jax.vmap(f)(x - smoothing * u)
    return jnp.mean((d * diff / (2 * smoothing))[:, None] * u, axis=0)


# endregion: zo-sphere-core


def forward_gradient(
    f: Callable, x: Float[Array, " d"], *, key: PRNGKeyArray, num_directions: int = 1, smoothing: Any = None
) -> Float[Array, " d"]:
    r"""Forward gradient ``ĝ = (1/m) Σ_j (∇f(x)·v_j) v_j``, ``v_j ∼ N(0, I)``: one
    ``jax.jvp`` (a forward-mode pass, no backpropagation) per direction; unbiased for
    ``∇f(x)`` (Baydin, Pearlmutter, Syme, Wood & Torr 2022).  ``smoothing`` is
    accepted for a uniform estimator signature and ignored (the derivative is exact).

    Args:
      f: scalar function of a ``(d,)`` array, JAX-differentiable.
      x: ``(d,)`` point (lists and integer arrays are converted to float).
      key: a JAX PRNG key (``jax.random.key(seed)``); an integer seed is refused.
      num_directions: ``m ≥ 1``.
      smoothing: ignored (not checked).

    Returns:
      ``(d,)`` estimate ``ĝ``.

    Raises:
      TypeError: ``f`` not callable, ``key`` not a PRNG key, non-numeric ``x``.
      ValueError: ``x`` not a non-empty finite vector, ``f`` not returning a scalar at ``x``,
        ``m < 1``.
    """
    x = _check_point(f, x)
    require_key("key", key)
    _check_directions(num_directions)
    return _forward_core(f, num_directions, x, key)


# region: zo-forward-core
@functools.partial(jax.jit, static_argnums=(0, 1))
def _forward_core(f, num_directions, x, key):
    v = jax.random.normal(key, (num_directions,) + x.shape, dtype=x.dtype)
    dirderiv = jax.vmap(lambda vi: jax.jvp(f, (x,), (vi,))[1])(v)
    return jnp.mean(dirderiv[:, None] * v, axis=0)


# endregion: zo-forward-core


def coordinate_grad(
    f: Callable,
    x: Float[Array, " d"],
    *,
    key: PRNGKeyArray | None = None,
    num_directions: int = 1,
    smoothing: float | Float[Array, ""] = 1e-3,
) -> Float[Array, " d"]:
    r"""Deterministic central differences along the ``d`` coordinate axes (``2d``
    evaluations): ``ĝ_i = (f(x + μe_i) − f(x − μe_i))/(2μ)``.  ``key`` and
    ``num_directions`` are ignored (uniform signature).

    Args:
      f: scalar function of a ``(d,)`` array.
      x: ``(d,)`` point (lists and integer arrays are converted to float).
      key: ignored, but checked to be a PRNG key when given (may be ``None``).
      num_directions: ignored (not checked).
      smoothing: ``μ > 0`` (scalar, may be traced).

    Returns:
      ``(d,)`` estimate ``ĝ``.

    Raises:
      TypeError: ``f`` not callable, ``key`` not a PRNG key, non-numeric ``x``.
      ValueError: ``x`` not a non-empty finite vector, ``f`` not returning a scalar at ``x``,
        ``μ ≤ 0``.
    """
    x = _check_point(f, x)
    if key is not None:
        require_key("key", key)
    _check_smoothing(smoothing)
    return _coordinate_core(f, x, _dtype_scalar(smoothing, x.dtype))


@functools.partial(jax.jit, static_argnums=(0,))
def _coordinate_core(f, x, smoothing):
    E = jnp.eye(x.shape[0], dtype=x.dtype) * smoothing
    return (jax.vmap(f)(x + E) - jax.vmap(f)(x - E)) / (2 * smoothing)


def _exact_grad(f, x, *, key=None, num_directions=1, smoothing=None):
    return jax.grad(f)(x)


# unvalidated cores with the uniform signature (f, x, key, m, mu), for use inside jit
_CORES = {
    "gaussian": lambda f, x, k, m, mu: _gaussian_core(f, m, False, x, k, mu),
    "central": lambda f, x, k, m, mu: _gaussian_core(f, m, True, x, k, mu),
    "sphere": lambda f, x, k, m, mu: _sphere_core(f, m, x, k, mu),
    "forward": lambda f, x, k, m, mu: _forward_core(f, m, x, k),
    "coordinate": lambda f, x, k, m, mu: _coordinate_core(f, x, mu),
    "exact": lambda f, x, k, m, mu: jax.grad(f)(x),
}


# the public estimators with the uniform signature ``(f, x, *, key, num_directions, smoothing)``
ESTIMATORS = {
    "gaussian": gaussian_smoothing_grad,
    "central": functools.partial(gaussian_smoothing_grad, central=True),
    "sphere": sphere_two_point_grad,
    "forward": forward_gradient,
    "coordinate": coordinate_grad,
    "exact": _exact_grad,
}


def evaluations_per_step(estimator: str, d: int, num_directions: int) -> int:
    """Oracle calls of one estimate: function values (a ``jvp`` counts as one
    forward-mode evaluation, ``"exact"`` as one gradient).

    Args:
      estimator: a key of :data:`ESTIMATORS`.
      d: the dimension (integer ``≥ 1``).
      num_directions: ``m ≥ 1``.

    Returns:
      the number of oracle calls (int).

    Raises:
      TypeError / ValueError: unknown estimator, non-integer or non-positive ``d`` / ``m``.
    """
    if not isinstance(estimator, str):
        raise TypeError(f"estimator must be a string, got {type(estimator).__name__}")
    require_int("d", d, minimum=1)
    _check_directions(num_directions)
    m = num_directions
    table = {
        "gaussian": m + 1,
        "central": 2 * m,
        "sphere": 2 * m,
        "forward": m,
        "coordinate": 2 * d,
        "exact": 1,
    }
    if estimator not in table:
        raise ValueError(f"estimator must be one of {sorted(table)}, got {estimator!r}")
    return table[estimator]
