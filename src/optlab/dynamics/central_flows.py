r"""The central flow of gradient descent at the edge of stability (Cohen, Damian, Talwalkar,
Kolter & Lee 2025, "Understanding optimization in deep learning with central flows").

Notation (chapter 20).  ``L`` a loss of a parameter pytree ``w`` with ``P`` parameters (flattened in
``ravel_pytree`` order), ``η`` the step of gradient descent, ``S(w) = λ_max(∇²L(w))`` the sharpness
with unit eigenvector ``u``, and ``∇S(w) = ∇_w(uᵀ∇²L(w)u)`` with ``u`` held fixed (the derivative
of a simple eigenvalue).  Time ``t`` is counted in steps of gradient descent.  The central flow of
gradient descent (one eigenvalue at the edge) is

    dw/dt = −η [∇L(w) + ½ σ²(t) ∇S(w)],   σ²(t) = max(0, 2⟨−∇L, ∇S⟩/‖∇S‖²) where S(w) = 2/η,

and ``σ² = 0`` (gradient flow) while ``S(w) < 2/η``: the projection of ``−η∇L`` onto the tangent
space of ``{S = 2/η}`` whenever gradient flow would leave it.  ``σ²(t)`` predicts the mean square of
gradient descent's oscillation along ``u``, and ``L(w) + ½σ²S(w)`` its time-averaged loss.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree

from .. import _checks
from .._types import Array, Float, PRNGKeyArray

__all__ = ["CentralFlow", "central_flow", "gradient_flow"]


class CentralFlow(NamedTuple):
    """The central flow (or gradient flow) sampled at integer times ``t = 0, 1, …, T``.

    Attributes:
      params: ``w(T)``, the pytree of the start.
      iterates: ``w(t)``, the pytree of the start with a leading axis of ``T + 1`` rows.
      losses: ``L(w(t))``, shape ``(T+1,)``.
      sharpness: ``S(w(t))`` by power iteration, shape ``(T+1,)``.
      variances: ``σ²(t)``, the predicted mean square of the oscillation along ``u`` (zero for
        gradient flow), shape ``(T+1,)``.
      eigenvectors: ``u(t)`` flattened, shape ``(T+1, P)``.
    """

    params: Any
    iterates: Any
    losses: Float[Array, " T+1"]
    sharpness: Float[Array, " T+1"]
    variances: Float[Array, " T+1"]
    eigenvectors: Float[Array, "T+1 P"]

    def mean_losses(self) -> Float[Array, " T+1"]:
        """``L(w(t)) + ½σ²(t)S(w(t))``: the predicted time average of gradient descent's loss
        (``L + σ²/η`` on the edge ``S = 2/η``)."""
        return self.losses + 0.5 * self.variances * self.sharpness


# region: central-flow-step
def _sharpness_and_gradient(loss_flat, w, u, power_num_steps):
    def hvp(v):
        return jax.jvp(jax.grad(loss_flat), (w,), (v,))[1]

    def power(v, _):
        hv = hvp(v)
        return hv / jnp.linalg.norm(hv), None

    u, _ = jax.lax.scan(power, u, None, length=power_num_steps)
    u = jax.lax.stop_gradient(u)
    # S(w) = uᵀ∇²L(w)u with u fixed; its gradient is ∇S for a simple top eigenvalue
    S, dS = jax.value_and_grad(lambda x: jnp.vdot(u, jax.jvp(jax.grad(loss_flat), (x,), (u,))[1]))(w)
    return S, dS, u


def _sigma2(g, S, dS, learning_rate, h):
    # choose σ² ≥ 0 so that the linearised S after the step w − hη(g + ½σ²∇S) is at most 2/η:
    # S − hη(⟨∇S, g⟩ + ½σ²‖∇S‖²) = 2/η, i.e. the projection of −g on the tangent space, plus a
    # restoring term (S − 2/η)/(hη) that vanishes on the edge and keeps the discrete flow on it
    excess = (S - 2.0 / learning_rate) / (h * learning_rate)
    num = 2.0 * (excess - jnp.vdot(dS, g))
    return jnp.maximum(num / jnp.maximum(jnp.vdot(dS, dS), jnp.finfo(g.dtype).tiny), 0.0)


# endregion: central-flow-step


@functools.partial(jax.jit, static_argnames=("loss_fn", "num_steps", "substeps", "power_num_steps"))
def _flow(loss_fn, params, learning_rate, key, num_steps, substeps, power_num_steps, central):
    # one compilation serves both flows: ``central`` is a traced 0/1 factor on σ²
    flat, unravel = ravel_pytree(params)

    def loss_flat(w):
        return loss_fn(unravel(w))

    grad = jax.grad(loss_flat)
    h = 1.0 / substeps
    u0 = jax.random.normal(key, flat.shape, flat.dtype)
    _, _, u0 = _sharpness_and_gradient(loss_flat, flat, u0 / jnp.linalg.norm(u0), 8 * power_num_steps)

    def euler(carry, _):
        w, u = carry
        g = grad(w)
        S, dS, u = _sharpness_and_gradient(loss_flat, w, u, power_num_steps)
        sigma2 = central * _sigma2(g, S, dS, learning_rate, h)
        w = w - h * learning_rate * (g + 0.5 * sigma2 * dS)
        return (w, u), (S, u, sigma2)

    def unit(carry, _):
        # record w(t) with the S, u and σ² of the first Euler step from it, then advance to t + 1
        w = carry[0]
        carry, (S, us, sig) = jax.lax.scan(euler, carry, None, length=substeps)
        return carry, (w, loss_flat(w), S[0], us[0], sig[0])

    _, (ws, losses, S, us, sig) = jax.lax.scan(unit, (flat, u0), None, length=num_steps + 1)
    return CentralFlow(
        params=unravel(ws[-1]),
        iterates=jax.vmap(unravel)(ws),
        losses=losses,
        sharpness=S,
        variances=sig,
        eigenvectors=us,
    )


def _validate(loss_fn, params, learning_rate, num_steps, key, substeps, power_num_steps):
    _checks.require_loss_params(loss_fn, params)
    _checks.require_key("key", key)
    _checks.require_positive_scalar("learning_rate", learning_rate)
    _checks.require_int("num_steps", num_steps, minimum=1)
    _checks.require_int("substeps", substeps, minimum=1)
    _checks.require_int("power_num_steps", power_num_steps, minimum=1)


def central_flow(
    loss_fn: Callable[[Any], Array],
    params: Any,
    *,
    learning_rate: float | Float[Array, ""],
    num_steps: int,
    key: PRNGKeyArray,
    substeps: int = 2,
    power_num_steps: int = 2,
) -> CentralFlow:
    """The central flow of gradient descent with step ``η`` (Cohen et al. 2025), one eigenvalue at
    the edge: ``dw/dt = −η[∇L + ½σ²∇S]`` with ``σ² ≥ 0`` the smallest value that keeps
    ``S(w) ≤ 2/η`` (gradient flow while the sharpness is below ``2/η``).  Integrated by Euler steps
    of ``1/substeps`` of a gradient-descent step, each choosing ``σ²`` so that the linearised
    sharpness after it is at most ``2/η``; the top eigenvector is tracked by ``power_num_steps``
    warm-started power iterations per Euler step (it is the eigenvalue of largest modulus: the
    sharpness whenever ``λ_max > |λ_min|``).  ``learning_rate`` may be traced; compiled once per
    ``loss_fn`` (static, hashed by identity), shapes and integer configuration.

    Args:
      loss_fn: the scalar loss ``L`` of a parameter pytree.
      params: the start ``w(0)``, a pytree of finite floating arrays.
      learning_rate: gradient descent's step ``η > 0`` (keyword-only).
      num_steps: the horizon ``T``, in steps of gradient descent (keyword-only).
      key: a JAX PRNG key for the first power-iteration vector (keyword-only).
      substeps: Euler steps per unit of time, ``>= 1``.
      power_num_steps: power iterations per Euler step, ``>= 1``.

    Returns:
      A :class:`CentralFlow` sampled at ``t = 0, …, T``.

    Raises:
      TypeError: ``loss_fn`` not callable, integer seed, non-integer counts.
      ValueError: empty or non-finite ``params``, ``learning_rate ≤ 0``, counts below 1.
    """
    _validate(loss_fn, params, learning_rate, num_steps, key, substeps, power_num_steps)
    return _flow(loss_fn, params, learning_rate, key, num_steps, substeps, power_num_steps, 1.0)


def gradient_flow(
    loss_fn: Callable[[Any], Array],
    params: Any,
    *,
    learning_rate: float | Float[Array, ""],
    num_steps: int,
    key: PRNGKeyArray,
    substeps: int = 2,
    power_num_steps: int = 2,
) -> CentralFlow:
    """Gradient flow ``dw/dt = −η∇L(w)`` (time in steps of gradient descent with step ``η``),
    integrated and recorded as :func:`central_flow` (same Euler steps, sharpness by power
    iteration), with ``σ² ≡ 0``: the flow that gradient descent follows below the edge of stability.

    Args:
      loss_fn: the scalar loss ``L`` of a parameter pytree.
      params: the start ``w(0)``, a pytree of finite floating arrays.
      learning_rate: the step ``η > 0`` that sets the time scale (keyword-only).
      num_steps: the horizon ``T``, in steps of gradient descent (keyword-only).
      key: a JAX PRNG key for the first power-iteration vector (keyword-only).
      substeps: Euler steps per unit of time, ``>= 1``.
      power_num_steps: power iterations per Euler step, ``>= 1``.

    Returns:
      A :class:`CentralFlow` with ``variances`` all zero.

    Raises:
      TypeError: ``loss_fn`` not callable, integer seed, non-integer counts.
      ValueError: empty or non-finite ``params``, ``learning_rate ≤ 0``, counts below 1.
    """
    _validate(loss_fn, params, learning_rate, num_steps, key, substeps, power_num_steps)
    return _flow(loss_fn, params, learning_rate, key, num_steps, substeps, power_num_steps, 0.0)
