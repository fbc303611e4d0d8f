"""Zeroth-order descent with any estimator (chapter 14)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from .._checks import (
    require_int,
    require_key,
    require_nonnegative,
    require_positive,
)
from .._types import Array, Float, Int, PRNGKeyArray
from ._common import _check_directions, _check_point, _check_scalar, _check_smoothing, _dtype_scalar
from .estimators import _CORES, ESTIMATORS, evaluations_per_step

# ---------------------------------------------------------------------------
# zeroth-order descent
# ---------------------------------------------------------------------------


class ZOResult(NamedTuple):
    """Output of :func:`zo_descent`.

    Attributes:
      params: the final iterate ``x_T``, ``(d,)``.
      iterates: ``(T + 1, d)`` iterates ``x_0 … x_T``.
      values: ``f`` at the iterates, ``(T + 1,)``.
      evaluations: cumulative oracle calls after each step, ``(T + 1,)``.
    """

    params: Float[Array, " d"]
    iterates: Float[Array, "T+1 d"]
    values: Float[Array, " T+1"]
    evaluations: Int[Array, " T+1"]


def zo_descent(
    f: Callable,
    x0: Float[Array, " d"],
    *,
    key: PRNGKeyArray,
    learning_rate: Any,
    num_steps: int,
    estimator: str = "gaussian",
    num_directions: int = 1,
    smoothing: Any = 1e-3,
    perturbation: Any = 0.0,
) -> ZOResult:
    r"""Descent with a gradient estimator, inside ``lax.scan``:

    ``x_{k+1} = x_k − η (ĝ(x_k) + r ξ_k)``, ``ξ_k ∼ N(0, I_d/d)`` (so ``E‖rξ_k‖² = r²``).

    ``estimator`` is a key of :data:`ESTIMATORS` (``"exact"`` is plain gradient
    descent).  ``perturbation = r > 0`` adds the isotropic perturbation with which
    two-point methods provably escape strict saddles (Ren, Tang & Li 2023).
    ``learning_rate``, ``smoothing``, ``perturbation`` and ``key`` may be traced
    (``vmap`` over them); ``num_steps``, ``estimator`` and ``num_directions`` are static.
    The loop is compiled once per ``(f, estimator, num_directions, num_steps)`` and shape.

    Args:
      f: scalar function of a ``(d,)`` array.
      x0: ``(d,)`` start (lists and integer arrays are converted to float).
      key: a JAX PRNG key; an integer seed is refused.
      learning_rate: ``η > 0``.
      num_steps: ``T ≥ 1``.
      estimator: a key of :data:`ESTIMATORS`.
      num_directions: ``m ≥ 1``.
      smoothing: ``μ > 0`` (ignored by ``"forward"`` and ``"exact"``).
      perturbation: ``r ≥ 0``.

    Returns:
      :class:`ZOResult`.

    Raises:
      TypeError: ``f`` not callable, ``key`` not a PRNG key, non-numeric arguments.
      ValueError: unknown estimator, wrong shapes, non-finite ``x0``, invalid hyper-parameters.
    """
    if not isinstance(estimator, str) or estimator not in ESTIMATORS:
        raise ValueError(f"estimator must be one of {sorted(ESTIMATORS)}, got {estimator!r}")
    x0 = _check_point(f, x0, "x0")
    require_key("key", key)
    _check_scalar("learning_rate", learning_rate)
    require_positive("learning_rate", learning_rate)
    require_int("num_steps", num_steps, minimum=1)
    _check_directions(num_directions)
    if estimator not in ("forward", "exact"):
        _check_smoothing(smoothing)
    else:
        smoothing = 0.0 if smoothing is None else smoothing
        _check_scalar("smoothing", smoothing)
    _check_scalar("perturbation", perturbation)
    require_nonnegative("perturbation", perturbation)
    dt = x0.dtype
    return _zo_descent(
        f,
        estimator,
        num_directions,
        num_steps,
        x0,
        key,
        _dtype_scalar(learning_rate, dt),
        _dtype_scalar(smoothing, dt),
        _dtype_scalar(perturbation, dt),
    )


@functools.partial(jax.jit, static_argnums=(0, 1, 2, 3))
def _zo_descent(f, estimator, num_directions, num_steps, x0, key, learning_rate, smoothing, perturbation):
    est = _CORES[estimator]
    d = x0.shape[0]
    per_step = evaluations_per_step(estimator, d, num_directions)

    def step(x, k):
        k_est, k_noise = jax.random.split(k)
        g = est(f, x, k_est, num_directions, smoothing)
        xi = jax.random.normal(k_noise, x.shape, dtype=x.dtype) / jnp.sqrt(d).astype(x.dtype)
        x_new = x - learning_rate * (g + perturbation * xi)
        return x_new, (x_new, f(x_new))

    keys = jax.random.split(key, num_steps)
    xT, (xs, fs) = jax.lax.scan(step, x0, keys)
    iterates = jnp.concatenate([x0[None], xs])
    values = jnp.concatenate([jnp.reshape(f(x0), (1,)).astype(fs.dtype), fs])
    evals = per_step * jnp.arange(num_steps + 1)
    return ZOResult(xT, iterates, values, evals)
