r"""Online-to-nonconvex conversion (Cutkosky, Mehta & Orabona 2023), chapter 18.

For a nonsmooth, nonconvex ``F`` the subgradient norm need not shrink near a minimiser, so
stationarity is measured à la Goldstein: ``x`` is ``(δ, ε)``-stationary when some convex
combination of gradients at points within ``δ`` of ``x`` has norm at most ``ε``.  The
conversion moves by increments ``Δ_n`` chosen by an online learner (here the online gradient
descent of chapter 10 on the ball ``‖Δ‖ ≤ D``, ``D = δ/T``), queries the gradient at a uniformly
random point of the segment,

``x_n = x_{n−1} + Δ_n``,  ``w_n = x_{n−1} + s_n Δ_n``,  ``s_n ~ U[0, 1]``,  ``g_n = ∇F(w_n)``,

and feeds the learner the linear loss ``ℓ_n(Δ) = ⟨g_n, Δ⟩``.  Because
``E_s⟨∇F(x + sΔ), Δ⟩ = F(x + Δ) − F(x)``, regret against ``u_k = −D S_k/‖S_k‖``
(``S_k = Σ_{n∈k} g_n`` over epoch ``k`` of ``T`` steps) turns into decrease of ``F``:

``D Σ_k ‖S_k‖ = F(x_0) − F(x_N) − M_N + Σ_k Reg_k(u_k)``

with ``M_N = Σ_n ⟨g_n, Δ_n⟩ − (F(x_n) − F(x_{n−1}))`` a zero-mean martingale.  Every ``w_n`` of
epoch ``k`` lies within ``T·D = δ`` of the epoch's average ``w̄_k``, so ``‖S_k‖/T`` certifies
``(δ, ‖S_k‖/T)``-stationarity of ``w̄_k``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp

from .._checks import require_int, require_key, require_static_callable
from .._types import Array, ArrayLike, Float, PRNGKeyArray
from ._common import _array, _scalar

__all__ = ["ConversionOutput", "online_to_nonconvex"]


class ConversionOutput(NamedTuple):
    """Result of :func:`online_to_nonconvex` (``N = K·T`` steps in ``K`` epochs of ``T``).

    Attributes:
      params: ``w̄_K``, the average of the last epoch's query points.
      averages: ``(K, d)``, the epoch averages ``w̄_k`` of the query points ``w_n``.
      certificates: ``(K,)``, ``‖S_k‖/T``, the norm of epoch ``k``'s average gradient: ``w̄_k`` is
        ``(δ, certificates[k])``-stationary.
      iterates: ``(N+1, d)``, ``x_0 … x_N``.
      values: ``(N+1,)``, ``F(x_n)``.
      increments: ``(N, d)``, the learner's plays ``Δ_n`` (``‖Δ_n‖ ≤ D``).
      gradients: ``(N, d)``, ``g_n = ∇F(w_n)``.
      queries: ``(N, d)``, the query points ``w_n``.
    """

    params: Float[Array, " d"]
    averages: Float[Array, "K d"]
    certificates: Float[Array, " K"]
    iterates: Float[Array, "N+1 d"]
    values: Float[Array, " N+1"]
    increments: Float[Array, "N d"]
    gradients: Float[Array, "N d"]
    queries: Float[Array, "N d"]

    def regret_bound(self, learning_rate: float, radius: float) -> Float[Array, ""]:
        """The projected-OGD regret bound summed over epochs, ``Σ_k (2D)²/(2η) + (η/2)Σ_{n∈k}‖g_n‖²``
        (any comparator in the ball, any epoch: the ball's diameter is ``2D``).

        Args:
          learning_rate: the learner's step ``η`` used for the run.
          radius: the ball radius ``D = δ/T`` used for the run.

        Returns:
          The bound, a scalar.
        """
        num_epochs = self.averages.shape[0]
        g2 = jnp.sum(self.gradients**2)
        return num_epochs * (2.0 * radius) ** 2 / (2.0 * learning_rate) + 0.5 * learning_rate * g2


def online_to_nonconvex(
    f: Callable,
    x0: Float[ArrayLike, " d"],
    *,
    delta: float,
    epoch_length: int,
    num_steps: int,
    learning_rate: float,
    key: PRNGKeyArray,
    gradient: Callable | None = None,
) -> ConversionOutput:
    """Run the online-to-nonconvex conversion with projected online gradient descent.

    The learner plays ``Δ_{n+1} = Π_{‖Δ‖≤D}(Δ_n − η g_n)`` from ``Δ_1 = 0`` with
    ``D = δ/T``; see the module docstring for the update and what the output certifies.
    Compiled once per ``(f, gradient, T, N)`` and shape.

    Args:
      f: the objective ``F`` (a hashable callable of a vector returning a scalar).
      x0: the start, a vector (finite).
      delta: ``δ > 0``, the radius of the stationarity certificate.
      epoch_length: ``T ≥ 1``, steps per epoch.
      num_steps: ``N = K·T``, a positive multiple of ``epoch_length``.
      learning_rate: the learner's step ``η > 0`` (``2D/(G√T)`` balances the regret bound
        for gradients bounded by ``G``).
      key: a PRNG key for the uniform ``s_n``.
      gradient: ``x ↦ ∇F(x)``; default ``jax.grad(f)`` (almost every ``w_n`` is a point of
        differentiability, since ``s_n`` is drawn uniformly).

    Returns:
      A :class:`ConversionOutput`.

    Raises:
      TypeError: ``f`` or ``gradient`` not callable/hashable, ``epoch_length`` or
        ``num_steps`` not an int, ``key`` not a PRNG key.
      ValueError: bad ``x0``, ``delta ≤ 0``, ``learning_rate ≤ 0``, ``epoch_length < 1``,
        ``num_steps`` not a positive multiple of ``epoch_length``.
    """
    require_static_callable("f", f)
    if gradient is not None:
        require_static_callable("gradient", gradient)
    x0 = _array("x0", x0, ndim=1)
    delta = _scalar("delta", delta, positive=True)
    require_int("epoch_length", epoch_length, minimum=1)
    require_int("num_steps", num_steps, minimum=1)
    if num_steps % epoch_length:
        raise ValueError(f"num_steps must be a multiple of epoch_length ({epoch_length}), got {num_steps}")
    lr = _scalar("learning_rate", learning_rate, positive=True)
    require_key("key", key)
    radius = jnp.asarray(delta, x0.dtype) / epoch_length
    lr = jnp.asarray(lr, x0.dtype)
    return _run(f, gradient, x0, radius, lr, key, epoch_length, num_steps // epoch_length)


@functools.partial(jax.jit, static_argnames=("f", "gradient", "epoch_length", "num_epochs"))
def _run(f, gradient, x0, radius, lr, key, epoch_length, num_epochs):
    grad = jax.grad(f) if gradient is None else gradient
    n = epoch_length * num_epochs
    s = jax.random.uniform(key, (n,), x0.dtype)

    # region: online-to-nonconvex-step
    def body(carry, s_n):
        x, delta = carry  # x_{n-1} and the learner's play Δ_n
        w = x + s_n * delta  # a uniform point of the segment [x_{n-1}, x_n]
        g = grad(w)
        x_new = x + delta
        step = delta - lr * g  # OGD on the linear loss <g_n, Δ>, projected on ‖Δ‖ ≤ D
        norm = jnp.sqrt(jnp.sum(step * step))
        delta_new = step * jnp.minimum(1.0, radius / jnp.maximum(norm, jnp.finfo(x.dtype).tiny))
        return (x_new, delta_new), (x_new, delta, g, w)

    # endregion: online-to-nonconvex-step

    _, (xs, deltas, gs, ws) = jax.lax.scan(body, (x0, jnp.zeros_like(x0)), s)
    xs = jnp.concatenate([x0[None], xs])
    d = x0.shape[0]
    averages = jnp.mean(ws.reshape(num_epochs, epoch_length, d), axis=1)
    mean_grads = jnp.mean(gs.reshape(num_epochs, epoch_length, d), axis=1)
    certificates = jnp.sqrt(jnp.sum(mean_grads**2, axis=1))
    return ConversionOutput(averages[-1], averages, certificates, xs, jax.vmap(f)(xs), deltas, gs, ws)
