r"""Batch-size scaling rules: SGD's linear rule and Adam's square-root rule, and a regression
problem whose mini-batch gradient noise is known, on which to test them.

Notation (chapter 20).  The batch size ``B`` is multiplied by ``κ`` (``kappa``).  SGD's SDE
``dX = −∇f dt + √(η/B) Σ^{1/2} dW`` at time ``t = kη`` depends on ``η/B`` only, so the step
grows like ``κ`` (the linear rule).  Adam's SDE (Malladi, Lyu, Panigrahi & Arora 2022, "On the
SDEs and scaling rules for adaptive gradient algorithms") lives at time ``t = kη²`` and depends
on ``σ₀ = ησ``, ``c_i = (1 − β_i)/η²`` and ``ε₀ = εη``, with ``σ ∝ 1/√B`` the gradient-noise
scale, so ``η ← √κ η``, ``1 − β_i ← κ(1 − β_i)`` and ``ε ← ε/√κ`` (the square-root rule).
Under either rule the same SDE time takes ``κ`` times fewer steps: the same number of examples.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.tree_util import Partial

from .. import _checks
from .._types import Array, ArrayLike, Float, PRNGKeyArray
from ..problems import Problem
from ._common import check_scalar

__all__ = ["AdamHyperparameters", "adam_scaling_rule", "sgd_scaling_rule", "noisy_regression"]

_RULES = ("square_root", "linear")


class AdamHyperparameters(NamedTuple):
    """Adam's hyper-parameters ``(η, β₁, β₂, ε)`` (scalars, or arrays with a leading axis when
    stacked for :func:`optlab.runner.sweep`).

    Attributes:
      learning_rate: ``η``.
      b1: ``β₁``.
      b2: ``β₂``.
      eps: ``ε``.
    """

    learning_rate: Any
    b1: Any
    b2: Any
    eps: Any

    def optimizer(self) -> Any:
        """The optax transformation :func:`optlab.adaptive.adam` with these hyper-parameters
        (traceable: the fields may be traced scalars)."""
        from ..adaptive import adam

        return adam(self.learning_rate, self.b1, self.b2, self.eps)


def _check_kappa(kappa: Any) -> None:
    check_scalar("kappa", kappa)
    if _checks.is_concrete(kappa) and float(kappa) < 1.0:
        raise ValueError(f"kappa must be >= 1 (the batch grows by kappa), got {kappa!r}")


def adam_scaling_rule(
    kappa: float,
    *,
    learning_rate: float,
    b1: float,
    b2: float,
    eps: float,
    rule: str = "square_root",
) -> AdamHyperparameters:
    """Adam's hyper-parameters for a batch ``κ`` times larger (Malladi et al. 2022).

    ``rule="square_root"``: ``η√κ``, ``1 − κ(1 − β₁)``, ``1 − κ(1 − β₂)``, ``ε/√κ``, which keeps
    Adam's SDE unchanged.  ``rule="linear"`` (for contrast: SGD's rule applied to Adam's step) takes
    ``ηκ`` and changes ``β₁, β₂, ε`` as the square-root rule does, so the two differ in ``η`` only.

    Args:
      kappa: the factor ``κ ≥ 1`` on the batch size.
      learning_rate: ``η > 0`` at the original batch size (keyword-only).
      b1, b2: ``β₁, β₂ ∈ [0, 1)`` with ``κ(1 − β_i) < 1``.
      eps: ``ε ≥ 0``.
      rule: ``"square_root"`` or ``"linear"``.

    Returns:
      :class:`AdamHyperparameters` for the batch ``κB``.

    Raises:
      TypeError: a non-numeric argument, a ``rule`` that is not a string.
      ValueError: ``κ < 1``, ``η ≤ 0``, ``β_i`` outside ``[0, 1)`` or ``κ(1 − β_i) ≥ 1``, ``ε < 0``,
        an unknown ``rule``.
    """
    _check_kappa(kappa)
    check_scalar("learning_rate", learning_rate)
    for name, beta in (("b1", b1), ("b2", b2)):
        check_scalar(name, beta, positive=False)
        if _checks.is_concrete(beta) and float(beta) >= 1.0:
            raise ValueError(f"{name} must be in [0, 1), got {beta!r}")
        if _checks.is_concrete((beta, kappa)) and float(kappa) * (1.0 - float(beta)) >= 1.0:
            raise ValueError(
                f"{name} too small for kappa: kappa * (1 - {name}) = {kappa * (1 - beta):.3g} >= 1"
            )
    check_scalar("eps", eps, positive=False)
    if not isinstance(rule, str):
        raise TypeError(f"rule must be a string, one of {_RULES}, got {type(rule).__name__}")
    if rule not in _RULES:
        raise ValueError(f"rule must be one of {_RULES}, got {rule!r}")
    # region: sqrt-rule
    root = jnp.sqrt(jnp.asarray(kappa, jnp.result_type(float)))
    step = root if rule == "square_root" else kappa * jnp.ones_like(root)
    return AdamHyperparameters(
        learning_rate=learning_rate * step,
        b1=1.0 - kappa * (1.0 - b1),
        b2=1.0 - kappa * (1.0 - b2),
        eps=eps / root,
    )
    # endregion: sqrt-rule


def sgd_scaling_rule(kappa: float, *, learning_rate: float) -> Float[Array, ""]:
    """SGD's linear scaling rule: the step ``κη`` for a batch ``κ`` times larger.

    Args:
      kappa: the factor ``κ ≥ 1`` on the batch size.
      learning_rate: ``η > 0`` at the original batch size (keyword-only).

    Returns:
      ``κη``, a scalar.

    Raises:
      TypeError: a non-numeric argument.  ValueError: ``κ < 1``, ``η ≤ 0``.
    """
    _check_kappa(kappa)
    check_scalar("learning_rate", learning_rate)
    return jnp.asarray(kappa * learning_rate, jnp.result_type(float))


def _regression_value(h, x_star, noise_var, x):
    return 0.5 * jnp.sum(h * (x - x_star) ** 2) + 0.5 * noise_var


def _regression_sample_value(A, b, x, idx):
    r = jnp.matmul(A[idx], x, precision=jax.lax.Precision.HIGHEST) - b[idx]
    return 0.5 * jnp.mean(r**2)


def noisy_regression(
    curvature: Float[ArrayLike, " d"],
    *,
    noise_std: float,
    n_samples: int,
    key: PRNGKeyArray,
    x_star: Float[ArrayLike, " d"] | None = None,
) -> Problem:
    """Linear regression ``f(x) = (1/2n) Σ_i (a_iᵀx − b_i)²``, ``b_i = a_iᵀx* + ζ_i``, built so that
    its Hessian is exactly ``diag(h)`` and its minimiser exactly ``x*``: the features are whitened
    (``(1/n) Σ a_i a_iᵀ = diag(h)``) and the noise ``ζ`` is orthogonal to them with
    ``(1/n)‖ζ‖² = σ²``.  So ``f(x) = ½ Σ_j h_j (x_j − x*_j)² + σ²/2`` (evaluated in that closed
    form), and near ``x*`` one example's gradient ``−a_i ζ_i`` has covariance ``≈ σ² diag(h)``: a
    mini-batch of ``B`` has gradient noise of scale ``σ/√B``.

    Args:
      curvature: ``h_j > 0``, shape ``(d,)``.
      noise_std: ``σ > 0`` (keyword-only).
      n_samples: ``n > d + 1`` examples (keyword-only).
      key: a JAX PRNG key (keyword-only).
      x_star: the minimiser, shape ``(d,)`` (default: ones).

    Returns:
      A finite-sum :class:`~optlab.problems.Problem` with ``x_star``, ``f_star = σ²/2``, ``L`` and ``mu``.

    Raises:
      TypeError: non-numeric input, an integer seed, a non-integer ``n_samples``.
      ValueError: ``h ≤ 0``, ``σ ≤ 0``, ``n ≤ d + 1``, a wrong shape, NaN/inf.
    """
    h = _checks.as_float_array("curvature", curvature, ndim=1)
    _checks.require_positive("curvature", h)
    check_scalar("noise_std", noise_std)
    _checks.require_key("key", key)
    d = h.shape[0]
    _checks.require_int("n_samples", n_samples, minimum=d + 2)
    xs = jnp.ones(d, h.dtype) if x_star is None else _checks.as_float_array("x_star", x_star, ndim=1)
    _checks.require_shape("x_star", xs, (d,))
    k1, k2 = jax.random.split(key)
    z = np.asarray(jax.random.normal(k1, (n_samples, d)), float)
    z -= z.mean(axis=0)
    w, V = np.linalg.eigh(z.T @ z / n_samples)
    z = z @ (V / np.sqrt(w)) @ V.T  # whitened: (1/n) zᵀz = I
    zeta = np.asarray(jax.random.normal(k2, (n_samples,)), float)
    q, _ = np.linalg.qr(np.concatenate([np.ones((n_samples, 1)), z], axis=1))
    zeta -= q @ (q.T @ zeta)  # orthogonal to the features and to the constant
    zeta *= float(noise_std) / np.sqrt(np.mean(zeta**2))
    A = z * np.sqrt(np.asarray(h, float))
    b = A @ np.asarray(xs, float) + zeta
    dt = h.dtype
    A_j, b_j = jnp.asarray(A, dt), jnp.asarray(b, dt)
    noise_var = jnp.asarray(float(noise_std) ** 2, dt)
    return Problem(
        name=f"noisy_regression(n={n_samples}, d={d})",
        value=Partial(_regression_value, h, xs.astype(dt), noise_var),
        dim=d,
        L=float(jnp.max(h)),
        mu=float(jnp.min(h)),
        x_star=xs.astype(dt),
        f_star=0.5 * float(noise_std) ** 2,
        x0=jnp.zeros(d, dt),
        n_samples=n_samples,
        sample_value=Partial(_regression_sample_value, A_j, b_j),
    )
