r"""Mirrored Stein variational gradient descent (chapter 19) on the probability simplex
``Δ = {θ ∈ R^{d+1}: θ_i > 0, Σ_i θ_i = 1}`` with the entropic mirror map
``ψ(θ) = Σ_{i≤d+1} θ_i log θ_i`` restricted to the first ``d`` coordinates.

The dual (mirror) coordinates ``η = ∇ψ(θ) = (log(θ_i/θ_{d+1}))_{i≤d}`` range over all of ``R^d`` and
``θ = ∇ψ*(η) = softmax(η, 0)``.  The particles move in the dual space,

``η_i ← η_i + h φ(η_i)``,   ``φ(η) = (1/n) Σ_j [k(η_j, η)(−∇f_ψ(η_j)) + ∇_{η_j} k(η_j, η)]``,

with the RBF kernel ``k`` on the dual points and ``f_ψ(η) = f(θ) − Σ_{i≤d+1} log θ_i``: the
mirrored Stein operator ``g ↦ gᵀ∇²ψ⁻¹∇log π + ∇·(∇²ψ⁻¹g)`` applied to the kernel
``k(∇ψ(θ'), ∇ψ(θ))`` gives this direction, ``log det ∇²ψ⁻¹ = Σ_i log θ_i``.  Every iterate
``θ = ∇ψ*(η)`` lies in the open simplex.

Reference: Shi, Liu & Mackey (2022) "Sampling with mirrored Stein operators".
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp

from .._checks import as_nonempty_float_array, is_concrete, require_int, require_static_callable
from .._types import Array, ArrayLike, Float
from ._common import _positive_scalar
from .stein import _bandwidth, _median_bandwidth, _phi

__all__ = ["MirroredSVGDOutput", "entropic_dual", "entropic_primal", "mirrored_svgd"]


class MirroredSVGDOutput(NamedTuple):
    """Result of :func:`mirrored_svgd`.

    Attributes:
      params: the particles on the simplex after ``K`` steps, ``n × (d+1)`` (rows sum to 1).
      duals: the dual particles ``η = ∇ψ(θ)`` after ``K`` steps, ``n × d``.
      iterates: ``(K+1, n, d+1)``, the simplex particles at steps ``0 … K``, or ``None`` when
        ``return_iterates=False``.
      direction_norms: ``(K,)``, the root-mean-square norm of ``φ`` over the particles at each step.
    """

    params: Float[Array, "n d+1"]
    duals: Float[Array, "n d"]
    iterates: Float[Array, "K+1 n d+1"] | None
    direction_norms: Float[Array, " K"]


# region: entropic-mirror
def _primal(eta):
    """``∇ψ*(η) = softmax(η, 0)``: a point of the open simplex."""
    z = jnp.concatenate([eta, jnp.zeros(eta.shape[:-1] + (1,), eta.dtype)], axis=-1)
    return jax.nn.softmax(z, axis=-1)


def _dual(theta):
    """``∇ψ(θ) = log(θ_i/θ_{d+1})``, ``i ≤ d``."""
    log_t = jnp.log(theta)
    return log_t[..., :-1] - log_t[..., -1:]


def _dual_potential(f):
    """``f_ψ(η) = f(∇ψ*(η)) − Σ_i log θ_i``: the potential of the law of ``η``."""

    def f_dual(eta):
        z = jnp.concatenate([eta, jnp.zeros((1,), eta.dtype)])
        log_theta = jax.nn.log_softmax(z)
        return f(jnp.exp(log_theta)) - jnp.sum(log_theta)

    return f_dual


# endregion: entropic-mirror


def _simplex_points(name: str, theta: object) -> jax.Array:
    x = as_nonempty_float_array(name, theta, ndim=2)
    if x.shape[1] < 2:
        raise ValueError(f"{name} must have at least 2 columns (points of a simplex), got {x.shape[1]}")
    if not is_concrete(x):  # traced (under jit/vmap): the values cannot be checked
        return x
    if not bool(jnp.all(x > 0)):
        raise ValueError(f"{name} must be strictly positive (points of the open simplex)")
    if not bool(jnp.all(jnp.abs(jnp.sum(x, axis=1) - 1.0) < 1e-4)):
        raise ValueError(f"{name} rows must sum to 1 (points of the simplex)")
    return x


def entropic_dual(theta: Float[ArrayLike, "n d+1"]) -> Float[Array, "n d"]:
    """The dual coordinates ``η = ∇ψ(θ) = (log(θ_i/θ_{d+1}))_{i≤d}`` of points of the open simplex.

    Args:
      theta: ``n × (d+1)``, strictly positive rows summing to 1.

    Returns:
      ``η``, ``n × d``.

    Raises:
      TypeError: non-numeric ``theta``.
      ValueError: ``theta`` not a finite ``n × (d+1)`` array of points of the open simplex.
    """
    return _dual(_simplex_points("theta", theta))


def entropic_primal(duals: Float[ArrayLike, "n d"]) -> Float[Array, "n d+1"]:
    """The simplex points ``θ = ∇ψ*(η) = softmax(η, 0)`` of dual coordinates ``η`` (the ``duals``).

    Args:
      duals: ``η``, ``n × d``, finite.

    Returns:
      ``θ``, ``n × (d+1)``, rows summing to 1.

    Raises:
      TypeError: non-numeric ``duals``.
      ValueError: ``duals`` not a finite non-empty ``n × d`` array.
    """
    return _primal(as_nonempty_float_array("duals", duals, ndim=2))


def mirrored_svgd(
    f: Callable,
    x0: Float[ArrayLike, "n d+1"],
    *,
    learning_rate: float | Float[Array, ""],
    num_steps: int,
    bandwidth: float | Float[Array, ""] | str = "median",
    return_iterates: bool = True,
) -> MirroredSVGDOutput:
    """Mirrored SVGD with the entropic mirror map: SVGD on the dual particles ``η = ∇ψ(θ)`` with
    the potential ``f_ψ(η) = f(∇ψ*(η)) − Σ_i log θ_i`` and the kernel ``exp(−‖η − η'‖²/ℓ)``
    (Shi, Liu & Mackey, 2022).  Deterministic given the start; compiled once per
    ``(f, num_steps, bandwidth rule, return_iterates)`` and shape, ``h`` and a numeric ``ℓ`` traced.

    Args:
      f: the potential on the simplex, ``π(θ) ∝ exp(−f(θ))`` (a hashable callable of a vector of
        length ``d+1`` returning a scalar).
      x0: the initial particles, ``n × (d+1)`` (``n ≥ 2``), points of the open simplex.
      learning_rate: the step ``h > 0``.
      num_steps: ``K ≥ 1``.
      bandwidth: ``ℓ > 0`` (in the dual space), or ``"median"`` (recomputed every step).
      return_iterates: record the particles at every step.

    Returns:
      A :class:`MirroredSVGDOutput`.

    Raises:
      TypeError: ``f`` not callable/hashable, ``num_steps`` not an int, non-numeric arguments.
      ValueError: ``x0`` not points of the open simplex or fewer than 2 of them, ``h ≤ 0``,
        ``num_steps < 1``, ``ℓ ≤ 0`` or an unknown rule.
    """
    require_static_callable("f", f)
    x = _simplex_points("x0", x0)
    if x.shape[0] < 2:
        raise ValueError(f"x0 must hold at least 2 particles, got {x.shape[0]}")
    lr = jnp.asarray(_positive_scalar("learning_rate", learning_rate), x.dtype)
    require_int("num_steps", num_steps, minimum=1)
    median, ell = _bandwidth(bandwidth, x.dtype)
    return _msvgd(f, num_steps, median, bool(return_iterates), x, lr, ell)


@functools.partial(jax.jit, static_argnums=(0, 1, 2, 3))
def _msvgd(f, num_steps, median, return_iterates, x0, lr, ell):
    grad = jax.vmap(jax.grad(_dual_potential(f)))
    eta0 = _dual(x0)

    # region: msvgd-step
    def body(eta, _):
        phi = _phi(grad, eta, _median_bandwidth(eta) if median else ell)  # SVGD direction in the dual
        eta_new = eta + lr * phi
        norm = jnp.sqrt(jnp.mean(jnp.sum(phi * phi, axis=-1)))
        return eta_new, (_primal(eta_new) if return_iterates else None, norm)

    # endregion: msvgd-step
    eta, (thetas, norms) = jax.lax.scan(body, eta0, None, length=num_steps)
    iterates = jnp.concatenate([_primal(eta0)[None], thetas]) if return_iterates else None
    return MirroredSVGDOutput(_primal(eta), eta, iterates, norms)
