r"""Particle gradient descent (chapter 19) on an energy of probability measures on ``R^d``,

``F(μ) = ∫V dμ + ½∬W(x − y) dμ(x) dμ(y)``,

represented by ``n`` particles, ``μ = (1/n) Σ_i δ_{x_i}``:

``F_n(x) = (1/n) Σ_i V(x_i) + (1/(2n²)) Σ_{i,j} W(x_i − x_j)``,
``x_i ← x_i − h [∇V(x_i) + (1/n) Σ_j ∇W(x_i − x_j)]``  (``= x_i − h n ∂F_n/∂x_i`` for even ``W``).

This is gradient descent on ``F_n`` in the particle metric ``(1/n)‖·‖²``, the time
discretisation of the Wasserstein gradient flow of ``F`` restricted to ``n``-atom measures.

Reference: Daneshmand, Lee & Jin (2023) "Efficient displacement convex optimization with
particle gradient descent".
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

__all__ = ["ParticleDescentOutput", "interaction_energy", "particle_gradient_descent"]


class ParticleDescentOutput(NamedTuple):
    """Result of :func:`particle_gradient_descent`.

    Attributes:
      params: the particles after ``K`` steps, ``n × d``.
      iterates: ``(K+1, n, d)``, the particles at steps ``0 … K``, or ``None`` when
        ``return_iterates=False``.
      values: ``(K+1,)``, the energy ``F_n`` at steps ``0 … K``.
    """

    params: Float[Array, "n d"]
    iterates: Float[Array, "K+1 n d"] | None
    values: Float[Array, " K+1"]


# region: particle-energy
def _energy(V, W, x):
    n = x.shape[0]
    diffs = x[:, None, :] - x[None, :, :]
    pair = jax.vmap(jax.vmap(W))(diffs)
    return jnp.sum(jax.vmap(V)(x)) / n + 0.5 * jnp.sum(pair) / (n * n)


# endregion: particle-energy


def _check(V: object, W: object, x: object, name: str) -> jax.Array:
    require_static_callable("V", V)
    require_static_callable("W", W)
    return as_nonempty_float_array(name, x, ndim=2)


def interaction_energy(V: Callable, W: Callable, particles: Float[ArrayLike, "n d"]) -> Float[Array, ""]:
    """``F_n(x) = (1/n) Σ_i V(x_i) + (1/(2n²)) Σ_{i,j} W(x_i − x_j)``, the energy of the
    empirical measure of the particles.

    Args:
      V: the confinement potential, a callable of a vector of length ``d`` returning a scalar.
      W: the interaction potential, a callable of a vector of length ``d`` returning a scalar.
      particles: ``n × d``.

    Returns:
      ``F_n``, a scalar.

    Raises:
      TypeError: ``V`` or ``W`` not callable/hashable, non-numeric ``particles``.
      ValueError: ``particles`` not a finite non-empty ``n × d`` array.
    """
    x = _check(V, W, particles, "particles")
    return _energy_jit(V, W, x)


@functools.partial(jax.jit, static_argnums=(0, 1))
def _energy_jit(V, W, x):
    return _energy(V, W, x)


def particle_gradient_descent(
    V: Callable,
    W: Callable,
    x0: Float[ArrayLike, "n d"],
    *,
    learning_rate: float | Float[Array, ""],
    num_steps: int,
    return_iterates: bool = True,
) -> ParticleDescentOutput:
    """Particle gradient descent ``x ← x − h n ∇F_n(x)`` on the energy of
    :func:`interaction_energy` (Daneshmand, Lee & Jin, 2023).  Compiled once per
    ``(V, W, num_steps, return_iterates)`` and shape, ``h`` traced.

    Args:
      V: the confinement potential, a hashable callable of a vector of length ``d``.
      W: the interaction potential, a hashable callable of a vector of length ``d`` (even,
        ``W(−z) = W(z)``, for the update to be the descent step stated above).
      x0: the initial particles, ``n × d``.
      learning_rate: the step ``h > 0``.
      num_steps: ``K ≥ 1``.
      return_iterates: record the particles at every step.

    Returns:
      A :class:`ParticleDescentOutput`.

    Raises:
      TypeError: ``V`` or ``W`` not callable/hashable, ``num_steps`` not an int, non-numeric arguments.
      ValueError: bad ``x0``, ``h ≤ 0`` or ``num_steps < 1``.
    """
    x = _check(V, W, x0, "x0")
    lr = jnp.asarray(_positive_scalar("learning_rate", learning_rate), x.dtype)
    require_int("num_steps", num_steps, minimum=1)
    return _pgd(V, W, num_steps, bool(return_iterates), x, lr)


@functools.partial(jax.jit, static_argnums=(0, 1, 2, 3))
def _pgd(V, W, num_steps, return_iterates, x0, lr):
    n = x0.shape[0]
    value_and_grad = jax.value_and_grad(functools.partial(_energy, V, W))

    # region: pgd-step
    def body(x, _):
        value, g = value_and_grad(x)
        x_new = x - lr * n * g  # x_i − h[∇V(x_i) + (1/n) Σ_j ∇W(x_i − x_j)]
        return x_new, (x_new if return_iterates else None, value)

    # endregion: pgd-step
    x, (xs, values) = jax.lax.scan(body, x0, None, length=num_steps)
    values = jnp.concatenate([values, _energy(V, W, x)[None]])
    iterates = jnp.concatenate([x0[None], xs]) if return_iterates else None
    return ParticleDescentOutput(x, iterates, values)
