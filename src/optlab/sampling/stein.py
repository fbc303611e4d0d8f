r"""Stein variational gradient descent (chapter 19): ``n`` particles moved along the steepest
descent direction of ``KL(· ‖ π)``, ``π ∝ exp(−f)``, in the unit ball of an RKHS,

``x_i ← x_i + h φ(x_i)``,   ``φ(x) = (1/n) Σ_j [k(x_j, x)(−∇f(x_j)) + ∇_{x_j} k(x_j, x)]``,

with the RBF kernel ``k(x, y) = exp(−‖x − y‖²/ℓ)``.  The first term drives the particles
towards high density (kernel-smoothed gradient flow), the second repels them from each other.
The bandwidth ``ℓ`` is a number or, by the median heuristic, ``ℓ = med²/log(n + 1)``, with
``med²`` the median squared pairwise distance of the current particles (recomputed every step).

Reference: Liu & Wang (2016) "Stein variational gradient descent: a general purpose Bayesian
inference algorithm".
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp

from .._checks import as_nonempty_float_array, require_int, require_static_callable
from .._types import Array, ArrayLike, Float
from ._common import _positive_scalar

__all__ = ["SVGDOutput", "median_bandwidth", "svgd", "svgd_direction"]

_HIGHEST = jax.lax.Precision.HIGHEST


class SVGDOutput(NamedTuple):
    """Result of :func:`svgd`.

    Attributes:
      params: the particles after ``K`` steps, ``n × d`` (one particle per row).
      iterates: ``(K+1, n, d)``, the particles at steps ``0 … K``, or ``None`` when
        ``return_iterates=False``.
      direction_norms: ``(K,)``, the root-mean-square norm of ``φ`` over the particles at each step.
    """

    params: Float[Array, "n d"]
    iterates: Float[Array, "K+1 n d"] | None
    direction_norms: Float[Array, " K"]

    def mean(self) -> Float[Array, " d"]:
        """The particle mean.

        Returns:
          A vector of length ``d``.
        """
        return jnp.mean(self.params, axis=0)

    def covariance(self) -> Float[Array, "d d"]:
        """The particle covariance (divisor ``n − 1``).

        Returns:
          A ``d × d`` matrix.
        """
        return jnp.atleast_2d(jnp.cov(self.params, rowvar=False))


def _sq_dists(x):
    sq = jnp.sum(x * x, axis=-1)
    d2 = sq[:, None] + sq[None, :] - 2.0 * jnp.matmul(x, x.T, precision=_HIGHEST)
    return jnp.maximum(d2, 0.0)


def _median_bandwidth(x):
    n = x.shape[0]
    d2 = _sq_dists(x)
    iu = jnp.triu_indices(n, k=1)
    med2 = jnp.median(d2[iu])
    return med2 / jnp.log(n + 1.0)


def median_bandwidth(particles: Float[ArrayLike, "n d"]) -> Float[Array, ""]:
    """The median heuristic ``ℓ = med²/log(n + 1)`` of Liu & Wang (2016), where ``med²`` is the
    median of the squared pairwise distances ``‖x_i − x_j‖²``, ``i < j``.

    Args:
      particles: ``n × d`` (``n ≥ 2``).

    Returns:
      ``ℓ``, a scalar.

    Raises:
      TypeError: non-numeric ``particles``.
      ValueError: ``particles`` not a finite ``n × d`` array with ``n ≥ 2``.
    """
    x = as_nonempty_float_array("particles", particles, ndim=2)
    if x.shape[0] < 2:
        raise ValueError(f"particles must hold at least 2 rows, got {x.shape[0]}")
    return _median_bandwidth(x)


# region: svgd-direction
def _phi(grad, x, ell):
    """``φ(x_i)`` for every particle ``x_i``, with ``grad`` the batched ``∇f``."""
    n = x.shape[0]
    K = jnp.exp(-_sq_dists(x) / ell)  # K[j, i] = k(x_j, x_i)
    drive = -jnp.matmul(K, grad(x), precision=_HIGHEST)  # Σ_j k(x_j, x_i)(−∇f(x_j))
    # ∇_{x_j} k(x_j, x_i) = −(2/ℓ)(x_j − x_i) k(x_j, x_i); summed over j:
    repulse = (2.0 / ell) * (jnp.sum(K, axis=0)[:, None] * x - jnp.matmul(K, x, precision=_HIGHEST))
    return (drive + repulse) / n


# endregion: svgd-direction


def svgd_direction(
    f: Callable,
    particles: Float[ArrayLike, "n d"],
    *,
    bandwidth: float | Float[Array, ""] | str = "median",
) -> Float[Array, "n d"]:
    """The SVGD direction ``φ(x_i) = (1/n) Σ_j [k(x_j, x_i)(−∇f(x_j)) + ∇_{x_j} k(x_j, x_i)]``
    at every particle, for ``k(x, y) = exp(−‖x − y‖²/ℓ)``.

    Args:
      f: the potential, ``π ∝ exp(−f)`` (a callable of a vector returning a scalar).
      particles: ``n × d`` (``n ≥ 2``).
      bandwidth: ``ℓ > 0``, or ``"median"`` for :func:`median_bandwidth`.

    Returns:
      ``φ`` at the particles, ``n × d``.

    Raises:
      TypeError: ``f`` not callable/hashable, non-numeric ``particles`` or ``bandwidth``.
      ValueError: bad ``particles``, ``ℓ ≤ 0`` or an unknown rule.
    """
    require_static_callable("f", f)
    x = as_nonempty_float_array("particles", particles, ndim=2)
    if x.shape[0] < 2:
        raise ValueError(f"particles must hold at least 2 rows, got {x.shape[0]}")
    median, ell = _bandwidth(bandwidth, x.dtype)
    return _direction(f, median, x, ell)


@functools.partial(jax.jit, static_argnums=(0, 1))
def _direction(f, median, x, ell):
    ell = _median_bandwidth(x) if median else ell
    return _phi(jax.vmap(jax.grad(f)), x, ell)


def _bandwidth(bandwidth, dtype):
    if isinstance(bandwidth, str):
        if bandwidth != "median":
            raise ValueError(f"bandwidth must be a positive number or 'median', got {bandwidth!r}")
        return True, jnp.ones((), dtype)
    return False, jnp.asarray(_positive_scalar("bandwidth", bandwidth), dtype)


def svgd(
    f: Callable,
    x0: Float[ArrayLike, "n d"],
    *,
    learning_rate: float | Float[Array, ""],
    num_steps: int,
    bandwidth: float | Float[Array, ""] | str = "median",
    return_iterates: bool = True,
) -> SVGDOutput:
    """Stein variational gradient descent ``x_i ← x_i + h φ(x_i)`` (see
    :func:`svgd_direction`) for ``K`` steps, deterministic given the start.  Compiled once per
    ``(f, num_steps, bandwidth rule, return_iterates)`` and shape; ``h`` and a numeric ``ℓ``
    are traced.

    Args:
      f: the potential, ``π ∝ exp(−f)`` (a hashable callable of a vector returning a scalar).
      x0: the initial particles, ``n × d`` (``n ≥ 2``).
      learning_rate: the step ``h > 0``.
      num_steps: ``K ≥ 1``.
      bandwidth: ``ℓ > 0``, or ``"median"`` (the median heuristic, recomputed every step).
      return_iterates: record the particles at every step.

    Returns:
      An :class:`SVGDOutput`.

    Raises:
      TypeError: ``f`` not callable/hashable, ``num_steps`` not an int, non-numeric arguments.
      ValueError: bad ``x0``, ``h ≤ 0``, ``num_steps < 1``, ``ℓ ≤ 0`` or an unknown rule.
    """
    require_static_callable("f", f)
    x0 = as_nonempty_float_array("x0", x0, ndim=2)
    if x0.shape[0] < 2:
        raise ValueError(f"x0 must hold at least 2 particles, got {x0.shape[0]}")
    lr = jnp.asarray(_positive_scalar("learning_rate", learning_rate), x0.dtype)
    require_int("num_steps", num_steps, minimum=1)
    median, ell = _bandwidth(bandwidth, x0.dtype)
    return _svgd(f, num_steps, median, bool(return_iterates), x0, lr, ell)


@functools.partial(jax.jit, static_argnums=(0, 1, 2, 3))
def _svgd(f, num_steps, median, return_iterates, x0, lr, ell):
    grad = jax.vmap(jax.grad(f))

    def body(x, _):
        phi = _phi(grad, x, _median_bandwidth(x) if median else ell)
        x_new = x + lr * phi
        return x_new, (x_new if return_iterates else None, jnp.sqrt(jnp.mean(jnp.sum(phi * phi, axis=-1))))

    x, (xs, norms) = jax.lax.scan(body, x0, None, length=num_steps)
    iterates = jnp.concatenate([x0[None], xs]) if return_iterates else None
    return SVGDOutput(x, iterates, norms)
