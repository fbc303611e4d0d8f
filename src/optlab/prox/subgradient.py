r"""The subgradient method ``x_{k+1} = x_k − γ_k g_k``, ``g_k ∈ ∂f(x_k)`` (chapter 18).

For a convex ``f`` with subgradients bounded by ``G`` along the run and ``R = ‖x_0 − x*‖``,

``min_{k<K} f(x_k) − f* ≤ (R² + Σ_k γ_k²‖g_k‖²) / (2 Σ_k γ_k)``,

and the same bound holds for the weighted average ``x̄_K = Σ γ_k x_k / Σ γ_k``.  The constant
step ``γ = R/(G√K)`` gives ``RG/√K``, which no method that moves in the span of the
subgradients can beat by more than a factor of about two (Nesterov 2004, Thm 3.2.1).
The method is not a descent method: the last iterate need not be the best.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp

from .._checks import require_int, require_static_callable
from .._types import Array, ArrayLike, Float
from ._common import _array, _scalar

__all__ = ["SubgradientOutput", "subgradient_method"]


class SubgradientOutput(NamedTuple):
    """Result of :func:`subgradient_method`.

    Attributes:
      params: the last iterate ``x_K``.
      values: ``values[k] = f(x_k)``, ``k = 0 … K``.
      subgrad_norms: ``‖g_k‖``, ``k = 0 … K−1``.
      learning_rates: ``γ_k``, ``k = 0 … K−1``.
      iterates: ``(K+1, d)``, ``x_0 … x_K``.
    """

    params: Float[Array, " d"]
    values: Float[Array, " K+1"]
    subgrad_norms: Float[Array, " K"]
    learning_rates: Float[Array, " K"]
    iterates: Float[Array, "K+1 d"]

    def best_values(self) -> Float[Array, " K+1"]:
        """``min_{j ≤ k} f(x_j)`` for ``k = 0 … K`` (the best value so far).

        Returns:
          The running minimum of ``values``.
        """
        return jax.lax.cummin(self.values)

    def average(self) -> Float[Array, " d"]:
        """The weighted average ``x̄_K = Σ_{k<K} γ_k x_k / Σ_{k<K} γ_k``, the point the
        bound is stated for.

        Returns:
          ``x̄_K``, the shape of ``params``.
        """
        w = self.learning_rates / jnp.sum(self.learning_rates)
        return jnp.tensordot(w, self.iterates[:-1], axes=1)

    def bound(self, distance: float) -> Float[Array, ""]:
        """The guarantee ``(R² + Σ_{k<K} γ_k²‖g_k‖²) / (2 Σ_{k<K} γ_k)`` on
        ``min_{k<K} f(x_k) − f*`` and ``f(x̄_K) − f*`` for ``R ≥ ‖x_0 − x*‖``.

        Args:
          distance: ``R``.

        Returns:
          The bound, a scalar.
        """
        g2 = jnp.sum(self.learning_rates**2 * self.subgrad_norms**2)
        return (jnp.asarray(distance) ** 2 + g2) / (2.0 * jnp.sum(self.learning_rates))


def subgradient_method(
    f: Callable,
    x0: Float[ArrayLike, " d"],
    *,
    learning_rate: float | Callable,
    num_steps: int,
    subgradient: Callable | None = None,
) -> SubgradientOutput:
    """Run ``x_{k+1} = x_k − γ_k g_k`` for ``K = num_steps`` steps.  Compiled once per
    ``(f, subgradient, schedule, num_steps)`` and shape.

    Args:
      f: the objective (a hashable callable of a vector returning a scalar).
      x0: the start, a vector (finite).
      learning_rate: a constant ``γ > 0`` or a schedule ``k ↦ γ_k`` (an optax schedule or
        any hashable callable of the step index ``k = 0, 1, …``).
      num_steps: ``K ≥ 1``.
      subgradient: ``x ↦ g ∈ ∂f(x)``; default ``jax.grad(f)`` (a subgradient wherever JAX's
        derivative rules pick one, e.g. ``sign(0) = 0`` for ``|x|``).

    Returns:
      A :class:`SubgradientOutput`.

    Raises:
      TypeError: ``f``, ``subgradient`` or a schedule not callable/hashable, ``num_steps``
        not an int.
      ValueError: bad ``x0``, a constant ``learning_rate ≤ 0``, ``num_steps < 1``.
    """
    require_static_callable("f", f)
    if subgradient is not None:
        require_static_callable("subgradient", subgradient)
    x0 = _array("x0", x0, ndim=1)
    require_int("num_steps", num_steps, minimum=1)
    if callable(learning_rate):
        require_static_callable("learning_rate", learning_rate)
        schedule, lr = learning_rate, jnp.zeros((), x0.dtype)
    else:
        schedule, lr = None, _scalar("learning_rate", learning_rate, positive=True)
    return _run(f, subgradient, schedule, x0, lr, num_steps)


@functools.partial(jax.jit, static_argnames=("f", "subgradient", "schedule", "num_steps"))
def _run(f, subgradient, schedule, x0, lr, num_steps):
    sub = jax.grad(f) if subgradient is None else subgradient

    def body(x, k):
        g = sub(x)
        gam = jnp.asarray(schedule(k) if schedule is not None else lr, x.dtype)
        xn = x - gam * g
        return xn, (xn, jnp.sqrt(jnp.sum(g * g)), gam)

    x, (xs, gn, gams) = jax.lax.scan(body, x0, jnp.arange(num_steps))
    xs = jnp.concatenate([x0[None], xs])
    return SubgradientOutput(x, jax.vmap(f)(xs), gn, gams, xs)
