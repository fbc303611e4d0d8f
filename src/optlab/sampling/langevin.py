r"""Langevin samplers for a target ``π ∝ exp(−f)`` (chapter 19): the unadjusted Langevin
algorithm (ULA) and its Metropolis correction (MALA), run on ``C`` chains at once.

ULA is the Euler–Maruyama discretisation of the Langevin SDE ``dX = −∇f(X) dt + √2 dW``,

``x_{k+1} = x_k − h ∇f(x_k) + √(2h) ξ_k``,   ``ξ_k ~ N(0, I)``,

whose law follows the Wasserstein gradient flow of ``KL(· ‖ π)`` up to an ``O(h)`` bias: its
stationary law ``π_h`` is not ``π``.  MALA uses the ULA step as a proposal ``y`` and accepts
it with probability ``min(1, π(y) q(x | y) / (π(x) q(y | x)))``, ``q(y | x) ∝
exp(−‖y − x + h∇f(x)‖² / (4h))``, which makes ``π`` exactly invariant; the ratio is formed in
log space, so that no density is ever exponentiated.

References: Roberts & Tweedie (1996) "Exponential convergence of Langevin distributions and
their discrete approximations"; Dalalyan (2017) "Theoretical guarantees for approximate
sampling from smooth and log-concave densities"; Durmus & Moulines (2017) "Nonasymptotic
convergence analysis for the unadjusted Langevin algorithm".
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp

from .._checks import as_nonempty_float_array, require_int, require_key, require_static_callable
from .._types import Array, ArrayLike, Float, PRNGKeyArray
from ._common import _positive_scalar

__all__ = ["LangevinOutput", "mala", "unadjusted_langevin"]


class LangevinOutput(NamedTuple):
    """Result of :func:`unadjusted_langevin` and :func:`mala`.

    Attributes:
      params: the chains' last states ``x_K``, ``C × d`` (one chain per row).
      iterates: ``(K+1, C, d)``, ``x_0 … x_K``, or ``None`` when ``return_iterates=False``.
      acceptance_rates: ``(K,)``, the fraction of the ``C`` chains whose proposal was accepted
        at each step (MALA); ``None`` for ULA, which accepts every step.
    """

    params: Float[Array, "C d"]
    iterates: Float[Array, "K+1 C d"] | None
    acceptance_rates: Float[Array, " K"] | None

    def mean(self) -> Float[Array, " d"]:
        """The mean of the last states over the chains, ``(1/C) Σ_c x_K^c``.

        Returns:
          A vector of length ``d``.
        """
        return jnp.mean(self.params, axis=0)

    def covariance(self) -> Float[Array, "d d"]:
        """The covariance of the last states over the chains (divisor ``C − 1``).

        Returns:
          A ``d × d`` matrix.
        """
        return jnp.atleast_2d(jnp.cov(self.params, rowvar=False))


def _check(f, x0, learning_rate, num_steps, key):
    require_static_callable("f", f)
    x0 = as_nonempty_float_array("x0", x0, ndim=2)
    lr = _positive_scalar("learning_rate", learning_rate)
    require_int("num_steps", num_steps, minimum=1)
    require_key("key", key)
    return x0, jnp.asarray(lr, x0.dtype)


def unadjusted_langevin(
    f: Callable,
    x0: Float[ArrayLike, "C d"],
    *,
    learning_rate: float | Float[Array, ""],
    num_steps: int,
    key: PRNGKeyArray,
    return_iterates: bool = True,
) -> LangevinOutput:
    """The unadjusted Langevin algorithm ``x_{k+1} = x_k − h∇f(x_k) + √(2h) ξ_k`` on ``C``
    independent chains.  Compiled once per ``(f, num_steps, return_iterates)`` and shape; the
    step ``h`` is traced.  Two calls with the same ``key`` draw the same noise ``ξ_k``: their
    chains are synchronously coupled.

    Args:
      f: the potential, ``π ∝ exp(−f)`` (a hashable callable of a vector returning a scalar).
      x0: the starting states, ``C × d`` (one chain per row).
      learning_rate: the step ``h > 0``.
      num_steps: ``K ≥ 1``.
      key: a PRNG key (``jax.random.key``).
      return_iterates: record ``x_0 … x_K`` (``(K+1) C d`` numbers).

    Returns:
      A :class:`LangevinOutput` (``acceptance_rates`` is ``None``).

    Raises:
      TypeError: ``f`` not callable/hashable, ``num_steps`` not an int, ``key`` not a key.
      ValueError: ``x0`` not a finite ``C × d`` array, ``h ≤ 0``, ``num_steps < 1``.
    """
    x0, lr = _check(f, x0, learning_rate, num_steps, key)
    return _ula(f, num_steps, bool(return_iterates), x0, lr, key)


@functools.partial(jax.jit, static_argnums=(0, 1, 2))
def _ula(f, num_steps, return_iterates, x0, lr, key):
    grad = jax.vmap(jax.grad(f))

    # region: ula-step
    def body(x, k):
        xi = jax.random.normal(jax.random.fold_in(key, k), x.shape, x.dtype)
        x_new = x - lr * grad(x) + jnp.sqrt(2.0 * lr) * xi  # Euler–Maruyama step of the Langevin SDE
        return x_new, (x_new if return_iterates else None)

    # endregion: ula-step

    x, xs = jax.lax.scan(body, x0, jnp.arange(num_steps))
    iterates = jnp.concatenate([x0[None], xs]) if return_iterates else None
    return LangevinOutput(x, iterates, None)


def mala(
    f: Callable,
    x0: Float[ArrayLike, "C d"],
    *,
    learning_rate: float | Float[Array, ""],
    num_steps: int,
    key: PRNGKeyArray,
    return_iterates: bool = True,
) -> LangevinOutput:
    """The Metropolis-adjusted Langevin algorithm on ``C`` independent chains: propose
    ``y = x − h∇f(x) + √(2h) ξ`` and accept with probability ``min(1, e^{log α})``,

    ``log α = f(x) − f(y) + (‖y − x + h∇f(x)‖² − ‖x − y + h∇f(y)‖²) / (4h)``,

    computed in log space (a NaN or ``+∞`` potential at ``y`` rejects).  ``π ∝ exp(−f)`` is
    exactly invariant for every ``h > 0``.  Compiled once per ``(f, num_steps,
    return_iterates)`` and shape; ``h`` is traced.

    Args:
      f: the potential, ``π ∝ exp(−f)`` (a hashable callable of a vector returning a scalar).
      x0: the starting states, ``C × d`` (one chain per row).
      learning_rate: the step ``h > 0``.
      num_steps: ``K ≥ 1``.
      key: a PRNG key (``jax.random.key``).
      return_iterates: record ``x_0 … x_K`` (``(K+1) C d`` numbers).

    Returns:
      A :class:`LangevinOutput` with the per-step ``acceptance_rates``.

    Raises:
      TypeError: ``f`` not callable/hashable, ``num_steps`` not an int, ``key`` not a key.
      ValueError: ``x0`` not a finite ``C × d`` array, ``h ≤ 0``, ``num_steps < 1``.
    """
    x0, lr = _check(f, x0, learning_rate, num_steps, key)
    return _mala(f, num_steps, bool(return_iterates), x0, lr, key)


@functools.partial(jax.jit, static_argnums=(0, 1, 2))
def _mala(f, num_steps, return_iterates, x0, lr, key):
    value_and_grad = jax.vmap(jax.value_and_grad(f))
    noise_scale = jnp.sqrt(2.0 * lr)

    # region: mala-step
    def body(carry, k):
        x, fx, gx = carry
        k_noise, k_accept = jax.random.split(jax.random.fold_in(key, k))
        y = x - lr * gx + noise_scale * jax.random.normal(k_noise, x.shape, x.dtype)
        fy, gy = value_and_grad(y)
        forward = jnp.sum((y - x + lr * gx) ** 2, axis=-1)  # −4h log q(y | x), up to a constant
        backward = jnp.sum((x - y + lr * gy) ** 2, axis=-1)  # −4h log q(x | y)
        log_alpha = fx - fy + (forward - backward) / (4.0 * lr)
        log_alpha = jnp.where(jnp.isnan(log_alpha), -jnp.inf, log_alpha)
        log_u = jnp.log(jax.random.uniform(k_accept, fx.shape, x.dtype))
        accept = log_u < log_alpha
        x_new = jnp.where(accept[:, None], y, x)
        carry = (x_new, jnp.where(accept, fy, fx), jnp.where(accept[:, None], gy, gx))
        return carry, (x_new if return_iterates else None, jnp.mean(accept.astype(x.dtype)))

    # endregion: mala-step

    f0, g0 = value_and_grad(x0)
    (x, _, _), (xs, rates) = jax.lax.scan(body, (x0, f0, g0), jnp.arange(num_steps))
    iterates = jnp.concatenate([x0[None], xs]) if return_iterates else None
    return LangevinOutput(x, iterates, rates)
