"""The triple momentum method and the exact rates of momentum methods on quadratics (chapter
2)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from .. import _checks
from .._types import Array, ArrayLike, Float, Int
from ..first_order import (
    _check_momentum,
    _require_scalar,
    _tagged,
)
from ._common import _check_L_mu, _tmap


# --------------------------------------------------------------------------- triple momentum
class TripleMomentumState(NamedTuple):
    """State of :func:`triple_momentum`.

    Attributes:
      count: the number of updates so far (optax's field name).
      xi: ``ξ_k``, the current point of the ``ξ`` sequence (a pytree like the params).
      xi_prev: ``ξ_{k−1}``.
    """

    count: Int[Array, ""]  # type: ignore[assignment]  # optax's field name; shadows tuple.count
    xi: Any  # ξ_k
    xi_prev: Any  # ξ_{k−1}


def triple_momentum_params(L: float, mu: float) -> dict:
    """The constants ``(α, β, γ, δ, ρ)`` of the triple momentum method.

    ``ρ = 1 − 1/√κ``, ``α = (1+ρ)/L``, ``β = ρ²/(2−ρ)``, ``γ = ρ²/((1+ρ)(2−ρ))``,
    ``δ = ρ²/(1−ρ²)`` (Van Scoy, Freeman and Lynch, 2018).

    Args:
      L: smoothness constant ``L > 0``.
      mu: strong-convexity constant ``0 < μ ≤ L``.

    Returns:
      A dict with keys ``alpha, beta, gamma, delta, rho``.

    Raises:
      TypeError: ``L`` or ``mu`` is not a real scalar.
      ValueError: ``L ≤ 0``, ``mu ≤ 0`` or ``mu > L``.
    """
    _check_L_mu(L, mu)
    if not _checks.is_concrete((L, mu)):  # traced: the same formulas in jnp
        rho: jax.Array | float = 1.0 - jnp.sqrt(mu / L)
        delta = jnp.where(rho > 0, rho**2 / jnp.where(rho > 0, 1 - rho**2, 1.0), 0.0)
        return dict(
            alpha=(1 + rho) / L,
            beta=rho**2 / (2 - rho),
            gamma=rho**2 / ((1 + rho) * (2 - rho)),
            delta=delta,
            rho=rho,
        )
    L, mu = float(L), float(mu)
    rho = 1.0 - math.sqrt(mu / L)
    return dict(
        alpha=(1 + rho) / L,
        beta=rho**2 / (2 - rho),
        gamma=rho**2 / ((1 + rho) * (2 - rho)),
        delta=rho**2 / (1 - rho**2) if rho < 1 else 0.0,
        rho=rho,
    )


def triple_momentum(L: float, mu: float) -> optax.GradientTransformationExtraArgs:
    """Triple momentum: ``ξ_{k+1} = (1+β)ξ_k − βξ_{k−1} − α∇f(y_k)``, ``y_k = (1+γ)ξ_k − γξ_{k−1}``.

    The parameters handed to ``update`` (and tracked by :func:`optlab.runner.run`)
    are the gradient points ``y_k``; the method's output sequence
    ``x_k = (1+δ)ξ_k − δξ_{k−1}`` is :func:`triple_momentum_output` of the state.
    Both converge at rate ``ρ = 1 − 1/√κ`` on every L-smooth μ-strongly convex f.
    With ``L = μ`` it is one exact gradient step ``1/L`` (Newton on isotropic quadratics).

    Args:
      L, mu: as in :func:`triple_momentum_params`.

    Returns:
      An ``optax.GradientTransformationExtraArgs`` (``update`` needs ``params``).

    Raises:
      TypeError, ValueError: as :func:`triple_momentum_params`.
    """
    c = triple_momentum_params(L, mu)
    alpha, beta, gamma = c["alpha"], c["beta"], c["gamma"]

    def init(params):
        return TripleMomentumState(jnp.zeros([], jnp.int32), params, params)

    def update(updates, state, params=None, **extra):
        del extra
        _checks.require_update_params("triple_momentum", params)
        xi_new = _tmap(
            lambda x, xp, g: ((1 + beta) * x - beta * xp - alpha * g).astype(g.dtype),
            state.xi,
            state.xi_prev,
            updates,
        )
        y_new = _tmap(lambda xn, x: (1 + gamma) * xn - gamma * x, xi_new, state.xi)
        out = _tmap(lambda yn, y: (yn - y).astype(y.dtype), y_new, params)
        return out, TripleMomentumState(state.count + 1, xi_new, state.xi)

    return _tagged(optax.GradientTransformationExtraArgs(init, update), "triple_momentum", L, mu)


def triple_momentum_output(state: TripleMomentumState, L: float, mu: float) -> Any:
    """The output point ``x_k = (1+δ)ξ_k − δξ_{k−1}`` of the triple momentum method.

    Args:
      state: a :class:`TripleMomentumState`.
      L, mu: the constants the method was built with.

    Returns:
      ``x_k``, a pytree like the parameters.

    Raises:
      TypeError: ``state`` is not a TripleMomentumState, or ``L``/``mu`` not real scalars.
      ValueError: invalid ``L``/``mu``.
    """
    if not isinstance(state, TripleMomentumState):
        raise TypeError(f"state must be a TripleMomentumState, got {type(state).__name__}")
    d = triple_momentum_params(L, mu)["delta"]
    return _tmap(lambda x, xp: (1 + d) * x - d * xp, state.xi, state.xi_prev)


def quadratic_rate(
    method: str,
    L: float,
    mu: float,
    eigenvalues: Float[ArrayLike, " d"] | Sequence[float] | None = None,
    **hyper,
) -> float:
    """Exact asymptotic rate (spectral radius) of a linear method on a quadratic.

    Every method here is, on ``f = ½ xᵀAx``, a linear recursion in ``(z_k, z_{k−1})``;
    per eigenvalue ``λ`` of ``A`` its companion polynomial is ``z² − a z + b``.  The
    rate is the largest root modulus over ``λ ∈ eigenvalues`` (default: a fine grid
    of ``[μ, L]``, i.e. the worst case over quadratics with that spectrum).

    Args:
      method: ``"gd"`` (``learning_rate``), ``"heavy_ball"`` / ``"nesterov"``
        (``learning_rate``, ``momentum``) or ``"triple_momentum"``.
      L, mu: the spectrum's bounds, ``0 < μ ≤ L``.
      eigenvalues: optional 1-D array of eigenvalues (non-empty, finite).
      **hyper: the method's hyper-parameters (positive ``learning_rate``,
        ``momentum`` in ``[0, 1)``).

    Returns:
      The rate, a Python float.

    Raises:
      TypeError: a non-numeric argument.
      ValueError: an unknown method, a missing or invalid hyper-parameter, or invalid
        ``L``/``mu``/``eigenvalues``.
    """
    _check_L_mu(L, mu)
    lam: np.ndarray | jax.Array
    if eigenvalues is None:
        lam = np.linspace(float(mu), float(L), 2001)
    else:
        lam = _checks.as_float_array("eigenvalues", eigenvalues, ndim=1)
        if lam.shape[0] == 0:
            raise ValueError("eigenvalues must be a non-empty 1-D array")
    expected = {
        "gd": ("learning_rate",),
        "heavy_ball": ("learning_rate", "momentum"),
        "nesterov": ("learning_rate", "momentum"),
        "triple_momentum": (),
    }
    if method not in expected:
        raise ValueError(f"unknown method {method!r}; expected gd, heavy_ball, nesterov or triple_momentum")
    for name in set(hyper) - set(expected[method]):
        raise ValueError(f"{name} is not a hyper-parameter of {method}; expected {expected[method]}")
    for name in expected[method]:
        if name not in hyper:
            raise ValueError(f"method {method!r} needs {name}=")
    if "learning_rate" in hyper:
        _require_scalar("learning_rate", hyper["learning_rate"])
        _checks.require_positive("learning_rate", hyper["learning_rate"])
    if "momentum" in hyper:
        _check_momentum(hyper["momentum"])
        if callable(hyper["momentum"]):
            raise TypeError("momentum must be a number here, got a callable")
    # an analysis routine, not a hot path: the roots are computed in float64 with NumPy
    # (near a double root, float32 would lose half its digits: |error| ~ √eps)
    lam = np.asarray(lam, dtype=np.float64)
    if method == "gd":
        eta = float(hyper["learning_rate"])
        return float(np.max(np.abs(1 - eta * lam)))
    if method == "heavy_ball":
        eta, beta = float(hyper["learning_rate"]), float(hyper["momentum"])
        a, b = 1 + beta - eta * lam, beta * np.ones_like(lam)
    elif method == "nesterov":
        eta, beta = float(hyper["learning_rate"]), float(hyper["momentum"])
        a, b = (1 + beta) * (1 - eta * lam), beta * (1 - eta * lam)
    else:
        c = triple_momentum_params(L, mu)
        a = 1 + c["beta"] - c["alpha"] * lam * (1 + c["gamma"])
        b = c["beta"] - c["alpha"] * lam * c["gamma"]
    disc = np.sqrt(a.astype(complex) ** 2 - 4 * b)
    roots = np.stack([(a + disc) / 2, (a - disc) / 2])
    return float(np.max(np.abs(roots)))
