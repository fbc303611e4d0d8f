r"""The JKO scheme in one dimension (chapter 19): the proximal point method of the relative
entropy ``KL(ρ ‖ π)``, ``π ∝ exp(−f)``, for the Wasserstein-2 distance,

``ρ_{k+1} = argmin_ρ KL(ρ ‖ π) + W_2²(ρ, ρ_k)/(2τ)``.

On the line, ``W_2`` is the ``L²`` distance between quantile functions, and ``∫ρ log ρ =
−∫_0^1 log Q'(u) du`` for the quantile function ``Q`` of ``ρ``.  Representing ``ρ`` by ``N``
quantiles ``x_1 < … < x_N`` (at ``u_i = (i − ½)/N``) turns each step into the strictly convex
problem (for convex ``f``)

``min_x (1/N) Σ_i f(x_i) − (1/N) Σ_{i<N} log(x_{i+1} − x_i) + (1/(2τN)) Σ_i (x_i − x_i^k)²``,

solved by damped Newton steps (the Hessian is tridiagonal) that keep the points ordered.  As
``τ → 0`` the steps follow the Fokker–Planck equation ``∂_tρ = ∇·(ρ∇f) + Δρ``.

Reference: Jordan, Kinderlehrer & Otto (1998) "The variational formulation of the
Fokker–Planck equation".
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .._checks import as_nonempty_float_array, is_concrete, require_int, require_static_callable
from .._types import Array, ArrayLike, Float
from ._common import _positive_scalar

__all__ = ["JKOOutput", "jko_1d"]


class JKOOutput(NamedTuple):
    """Result of :func:`jko_1d`.

    Attributes:
      params: the quantiles ``x_1 < … < x_N`` of ``ρ_K``, shape ``(N,)``.
      iterates: ``(K+1, N)``, the quantiles of ``ρ_0 … ρ_K``, or ``None`` when
        ``return_iterates=False``.
      grad_norms: ``(K,)``, the norm of the gradient of each step's objective at the returned
        point (how exactly the proximal problems were solved).
    """

    params: Float[Array, " N"]
    iterates: Float[Array, "K+1 N"] | None
    grad_norms: Float[Array, " K"]


def jko_1d(
    f: Callable,
    x0: Float[ArrayLike, " N"],
    *,
    learning_rate: float | Float[Array, ""],
    num_steps: int,
    inner_num_steps: int = 20,
    return_iterates: bool = True,
) -> JKOOutput:
    """``K`` JKO steps of time ``τ`` for ``π ∝ exp(−f)`` on the line, on ``N`` quantiles.
    Compiled once per ``(f, num_steps, inner_num_steps, return_iterates)`` and shape; ``τ`` is
    traced.

    Args:
      f: the potential, a hashable callable of a scalar returning a scalar (convex for the
        steps to be well posed at every ``τ``).
      x0: the quantiles of ``ρ_0`` at ``u_i = (i − ½)/N``, strictly increasing, ``N ≥ 2``.
      learning_rate: the time step ``τ > 0``.
      num_steps: ``K ≥ 1``.
      inner_num_steps: damped Newton steps per JKO step (``≥ 1``).
      return_iterates: record the quantiles after every step.

    Returns:
      A :class:`JKOOutput`.

    Raises:
      TypeError: ``f`` not callable/hashable, a count not an int.
      ValueError: ``x0`` not a finite, strictly increasing vector of length ``≥ 2``, ``τ ≤ 0``,
        a count below 1.
    """
    require_static_callable("f", f)
    x0 = as_nonempty_float_array("x0", x0, ndim=1)
    if x0.shape[0] < 2:
        raise ValueError(f"x0 must hold at least 2 quantiles, got {x0.shape[0]}")
    if is_concrete(x0) and not np.all(np.diff(np.asarray(x0)) > 0):
        raise ValueError("x0 must be strictly increasing (quantiles)")
    tau = jnp.asarray(_positive_scalar("learning_rate", learning_rate), x0.dtype)
    require_int("num_steps", num_steps, minimum=1)
    require_int("inner_num_steps", inner_num_steps, minimum=1)
    return _jko(f, num_steps, inner_num_steps, bool(return_iterates), x0, tau)


# region: jko-step
def _objective(f, x, y, tau):
    n = x.shape[0]
    gaps = x[1:] - x[:-1]
    return (jnp.sum(jax.vmap(f)(x)) - jnp.sum(jnp.log(gaps)) + jnp.sum((x - y) ** 2) / (2.0 * tau)) / n


def _newton(f, y, tau, inner_num_steps):
    """Damped Newton on the step's objective from ``y``, keeping the points ordered."""
    n = y.shape[0]
    d2f = jax.vmap(jax.grad(jax.grad(f)))

    def body(x, _):
        gaps = x[1:] - x[:-1]
        g = jax.grad(_objective, argnums=1)(f, x, y, tau) * n
        w = 1.0 / gaps**2  # curvature of −log(gap)
        diag = (
            d2f(x)
            + 1.0 / tau
            + jnp.concatenate([w, jnp.zeros(1, x.dtype)])
            + jnp.concatenate([jnp.zeros(1, x.dtype), w])
        )
        H = jnp.diag(diag) - jnp.diag(w, 1) - jnp.diag(w, -1)
        dx = -jnp.linalg.solve(H, g)
        dgap = dx[1:] - dx[:-1]
        shrink = jnp.where(dgap < 0, -0.9 * gaps / jnp.where(dgap < 0, dgap, -1.0), jnp.inf)
        return x + jnp.minimum(1.0, jnp.min(shrink)) * dx, None

    x, _ = jax.lax.scan(body, y, None, length=inner_num_steps)
    return x


# endregion: jko-step


@functools.partial(jax.jit, static_argnums=(0, 1, 2, 3))
def _jko(f, num_steps, inner_num_steps, return_iterates, x0, tau):
    def step(y, _):
        x = _newton(f, y, tau, inner_num_steps)
        gnorm = jnp.linalg.norm(jax.grad(_objective, argnums=1)(f, x, y, tau))
        return x, (x if return_iterates else None, gnorm)

    x, (xs, gnorms) = jax.lax.scan(step, x0, None, length=num_steps)
    iterates = jnp.concatenate([x0[None], xs]) if return_iterates else None
    return JKOOutput(x, iterates, gnorms)
