"""Accelerated and momentum methods beyond :mod:`optlab.first_order` (Chapter 2).

Gradient descent, heavy ball and Nesterov live in :mod:`optlab.first_order`;
this module adds, as :class:`optax.GradientTransformationExtraArgs` with the
same conventions (``update`` returns ``x_{k+1} − x_k``; ``value=`` extra arg):

- :func:`triple_momentum`: the triple momentum method (Van Scoy, Freeman, Lynch,
  2018), the fastest known rate ``ρ = 1 − 1/√κ`` for L-smooth μ-strongly convex f.
- :func:`nesterov_restart`: Nesterov with ``β_j = j/(j+3)`` and adaptive restart
  (O'Donoghue and Candès, 2015), gradient or function scheme.
- :func:`ogm_g`: OGM-G (Kim and Fessler, 2021), ``‖∇f(x_N)‖ ≤ 2√(L(f(x_0) − f*))/(N+1)``
  after a fixed horizon ``N``; :func:`ogm_g_theta` its parameters.
- :func:`polyak_heavy_ball`: heavy ball with a Polyak-type step size derived for
  momentum (Wang, Johansson and Zhang, 2023).
- :func:`schedule_free_sgd`: Schedule-Free SGD (Defazio et al., 2024).

and the two objects the chapter studies them on:

- :func:`lrp_counterexample`: the 1-D piecewise quadratic (μ = 1, L = 25) on which
  quadratic-tuned heavy ball cycles (Lessard, Recht and Packard, 2016).
- :func:`momentum_ode`: the ODE limits ``ẍ + (3/t) ẋ + ∇f(x) = 0`` (Su, Boyd and
  Candès, 2016) and ``ẍ + 2√μ ẋ + ∇f(x) = 0``, integrated with RK4.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from . import _checks
from . import runner as _runner
from ._types import Array, ArrayLike, Float, Int
from .first_order import (
    ScalarOrSchedule,
    _at,
    _check_finite_scalar,
    _check_in_unit_interval,
    _check_momentum,
    _check_positive_or_inf,
    _check_scalar_or_schedule,
    _require_scalar,
    _tagged,
)
from .problems import Problem

__all__ = [
    "TripleMomentumState",
    "triple_momentum",
    "triple_momentum_params",
    "triple_momentum_output",
    "RestartState",
    "nesterov_restart",
    "OGMGState",
    "ogm_g",
    "ogm_g_theta",
    "PolyakMomentumState",
    "polyak_heavy_ball",
    "ScheduleFreeState",
    "schedule_free_sgd",
    "schedule_free_eval_params",
    "lrp_counterexample",
    "quadratic_rate",
    "ODETrace",
    "momentum_ode",
]

_tmap = jax.tree_util.tree_map


def _vdot(a, b):
    return sum(
        jnp.vdot(x, y).real
        for x, y in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b), strict=False)
    )


def _check_L_mu(L, mu):
    _require_scalar("L", L)
    _require_scalar("mu", mu)
    _checks.require_positive("L", L)
    _checks.require_positive("mu", mu)
    if _checks.is_concrete((L, mu)) and float(mu) > float(L):
        raise ValueError(f"mu must not exceed L, got mu={mu!r} > L={L!r}")


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
        if params is None:
            raise ValueError("triple_momentum needs params: call update(g, state, params)")
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


# --------------------------------------------------------------------------- adaptive restart
class RestartState(NamedTuple):
    """State of :func:`nesterov_restart`.

    Attributes:
      count: the total number of updates (optax's field name).
      since_restart: ``j``, the steps since the last restart (momentum ``β_j = j/(j+3)``).
      x: ``x_k``, the gradient-step sequence (the params are ``y_k``).
      last_value: the objective value passed to the last update (``inf`` before the first, or
        when no value is passed).
      restarts: the number of restarts so far.
    """

    count: Int[Array, ""]  # type: ignore[assignment]  # total steps; optax's field name shadows tuple.count
    since_restart: jax.Array  # j, momentum β_j = j/(j+3)
    x: Any  # x_k (the gradient-step sequence); params are y_k
    last_value: jax.Array
    restarts: jax.Array  # number of restarts so far


def nesterov_restart(
    learning_rate: ScalarOrSchedule, restart: str = "gradient"
) -> optax.GradientTransformationExtraArgs:
    """Nesterov's method ``x_{k+1} = y_k − η∇f(y_k)``, ``y_{k+1} = x_{k+1} + β_j (x_{k+1} − x_k)``
    with ``β_j = j/(j+3)`` and adaptive restart (O'Donoghue and Candès, 2015).

    ``j`` counts steps since the last restart; a restart sets ``j = 0`` (no momentum).

    Args:
      learning_rate: ``η`` (use ``1/L``).
      restart: ``"gradient"``: restart when ``⟨∇f(y_k), x_{k+1} − x_k⟩ > 0``
        (the momentum points uphill); ``"function"``: restart when the objective
        at the gradient point increased, ``f(y_k) > f(y_{k−1})`` (needs ``value=``;
        O'Donoghue–Candès test ``f(x_k)``, we test the value the runner supplies);
        ``"none"``: plain Nesterov with ``β_k = k/(k+3)``.

    Returns:
      An ``optax.GradientTransformationExtraArgs`` (``update`` needs ``params``).

    Raises:
      TypeError: ``learning_rate`` is not a real scalar or a callable.
      ValueError: ``learning_rate ≤ 0`` or an unknown ``restart``.
    """
    _check_scalar_or_schedule("learning_rate", learning_rate)
    if not isinstance(restart, str) or restart not in ("gradient", "function", "none"):
        raise ValueError(f"restart must be 'gradient', 'function' or 'none', got {restart!r}")

    def init(params):
        return RestartState(
            jnp.zeros([], jnp.int32),
            jnp.zeros([], jnp.int32),
            params,
            jnp.asarray(jnp.inf),
            jnp.zeros([], jnp.int32),
        )

    def update(updates, state, params=None, *, value=None, **extra):
        del extra
        if params is None:
            raise ValueError("nesterov_restart needs params: call update(g, state, params)")
        if restart == "function" and value is None:
            raise ValueError("restart='function' needs the objective value: update(..., value=f(x))")
        eta = _at(learning_rate, state.count)
        x_new = _tmap(lambda y, g: y - eta * g, params, updates)
        if restart == "gradient":
            do = _vdot(updates, _tmap(jnp.subtract, x_new, state.x)) > 0
        elif restart == "function":
            do = value > state.last_value
        else:
            do = jnp.asarray(False)
        j = jnp.where(do, 0, state.since_restart)
        beta = j / (j + 3.0)
        y_new = _tmap(lambda xn, x: xn + beta * (xn - x), x_new, state.x)
        out = _tmap(lambda yn, y: (yn - y).astype(y.dtype), y_new, params)
        last = jnp.asarray(value if value is not None else jnp.inf, dtype=jnp.result_type(float))
        return out, RestartState(state.count + 1, j + 1, x_new, last, state.restarts + do.astype(jnp.int32))

    return _tagged(
        optax.GradientTransformationExtraArgs(init, update), "nesterov_restart", learning_rate, restart
    )


# --------------------------------------------------------------------------- OGM-G
class OGMGState(NamedTuple):
    """State of :func:`ogm_g`.

    Attributes:
      count: the number of updates so far (optax's field name).
      y: ``y_i``, the last gradient-step point (``y_0 = x_0``; a pytree like the params).
    """

    count: Int[Array, ""]  # type: ignore[assignment]  # optax's field name; shadows tuple.count
    y: Any  # y_i


def ogm_g_theta(*, num_steps: int) -> Float[np.ndarray, " N+1"]:
    """The OGM-G parameters ``θ̃_0, …, θ̃_N`` (Kim and Fessler, 2021), ``N = num_steps``.

    ``θ̃_N = 1``, ``θ̃_i = (1 + √(1 + 4θ̃_{i+1}²))/2`` for ``1 ≤ i ≤ N−1`` and
    ``θ̃_0 = (1 + √(1 + 8θ̃_1²))/2``.  :func:`ogm_g` guarantees
    ``‖∇f(x_N)‖² ≤ 2L(f(x_0) − f*)/θ̃_0²`` and ``θ̃_0² ≥ (N+1)²/2``.

    Args:
      num_steps: the horizon ``N ≥ 1`` (a Python integer).

    Returns:
      The ``(N+1,)`` float64 NumPy array ``θ̃``.

    Raises:
      TypeError: ``num_steps`` is not an integer.
      ValueError: ``num_steps < 1``.
    """
    _checks.require_int("num_steps", num_steps, minimum=1)
    theta = np.ones(num_steps + 1)
    for i in range(num_steps - 1, 0, -1):
        theta[i] = (1.0 + math.sqrt(1.0 + 4.0 * theta[i + 1] ** 2)) / 2.0
    theta[0] = (1.0 + math.sqrt(1.0 + 8.0 * theta[1] ** 2)) / 2.0
    return theta


def ogm_g(
    learning_rate: float | Float[Array, ""], *, num_steps: int
) -> optax.GradientTransformationExtraArgs:
    """OGM-G, the optimized gradient method for the gradient norm (Kim and Fessler, 2021).

    With ``η = 1/L`` and ``θ̃`` = :func:`ogm_g_theta` ``(num_steps=N)``, ``y_0 = x_0``, for ``i < N``:
    ``y_{i+1} = x_i − η∇f(x_i)``,
    ``x_{i+1} = y_{i+1} + a_i (y_{i+1} − y_i) + b_i (y_{i+1} − x_i)`` with
    ``a_i = (θ̃_i − 1)(2θ̃_{i+1} − 1)/(θ̃_i(2θ̃_i − 1))`` and
    ``b_i = (2θ̃_{i+1} − 1)/(2θ̃_i − 1)``.  For convex ``L``-smooth ``f`` the last point has
    ``‖∇f(x_N)‖² ≤ 2L(f(x_0) − f*)/θ̃_0² ≤ 4L(f(x_0) − f*)/(N+1)²``, the optimal order in
    terms of ``f(x_0) − f*``; the bound is attained on ``f(x) = (L/2)‖x‖²``.  Started from
    the point of ``N`` steps of Nesterov's method it gives ``‖∇f‖ = O(L‖x_0 − x*‖/N²)``.
    The coefficients depend on the horizon: run exactly ``N`` steps (later steps repeat the
    last coefficients and carry no guarantee).

    Args:
      learning_rate: ``η = 1/L > 0`` (a constant; the guarantee needs ``η ≤ 1/L``).
      num_steps: the horizon ``N ≥ 1`` (a Python integer).

    Returns:
      An ``optax.GradientTransformationExtraArgs`` (``update`` needs ``params``; the params
      are the points ``x_i``).

    Raises:
      TypeError: ``learning_rate`` is not a real scalar, ``num_steps`` not an integer.
      ValueError: ``learning_rate ≤ 0`` or ``num_steps < 1``.
    """
    _require_scalar("learning_rate", learning_rate)
    _checks.require_positive("learning_rate", learning_rate)
    theta = ogm_g_theta(num_steps=num_steps)
    th, th_next = theta[:-1], theta[1:]
    a_coef = (th - 1.0) * (2.0 * th_next - 1.0) / (th * (2.0 * th - 1.0))
    b_coef = (2.0 * th_next - 1.0) / (2.0 * th - 1.0)

    def init(params):
        return OGMGState(jnp.zeros([], jnp.int32), params)

    def update(updates, state, params=None, **extra):
        del extra
        if params is None:
            raise ValueError("ogm_g needs params: call update(g, state, params)")
        i = jnp.minimum(state.count, num_steps - 1)
        a, b = jnp.asarray(a_coef)[i], jnp.asarray(b_coef)[i]

        def leaf(x, y, g):
            y_new = x - learning_rate * g
            x_new = y_new + a.astype(x.dtype) * (y_new - y) + b.astype(x.dtype) * (y_new - x)
            return (x_new - x).astype(x.dtype), y_new.astype(x.dtype)

        pairs = _tmap(leaf, params, state.y, updates)
        is_pair = lambda t: isinstance(t, tuple)  # noqa: E731
        out = _tmap(lambda p: p[0], pairs, is_leaf=is_pair)
        y_new = _tmap(lambda p: p[1], pairs, is_leaf=is_pair)
        return out, OGMGState(state.count + 1, y_new)

    return _tagged(optax.GradientTransformationExtraArgs(init, update), "ogm_g", learning_rate, num_steps)


# --------------------------------------------------------------------------- Polyak + momentum
class PolyakMomentumState(NamedTuple):
    """State of :func:`polyak_heavy_ball`.

    Attributes:
      count: the number of updates so far (optax's field name).
      prev_params: ``x_{k−1}`` (a pytree like the params).
      last_learning_rate: the Polyak-type step ``α_k`` of the last update (0 before the first).
    """

    count: Int[Array, ""]  # type: ignore[assignment]  # optax's field name; shadows tuple.count
    prev_params: Any  # x_{k−1}
    last_learning_rate: jax.Array


def polyak_heavy_ball(
    f_star: float = 0.0, momentum: ScalarOrSchedule = 0.9, *, max_learning_rate: float = float("inf")
) -> optax.GradientTransformationExtraArgs:
    """Heavy ball ``x_{k+1} = x_k − α_k g_k + β (x_k − x_{k−1})`` with a Polyak-type step.

    ``α_k = [f(x_k) − f* + β ⟨g_k, x_k − x_{k−1}⟩]_+ / ‖g_k‖²`` minimises the
    convexity upper bound on ``‖x_{k+1} − x*‖²`` over ``α`` (the recipe of Wang,
    Johansson and Zhang, 2023, applied to heavy ball); with ``β = 0`` it is
    Polyak's step.  Needs ``value=f(x_k)`` and ``params``.

    Args:
      f_star: optimal value (or a lower bound), finite.
      momentum: ``β ∈ [0, 1)`` or a schedule.
      max_learning_rate: cap on ``α_k``, ``> 0`` (``inf`` allowed).

    Returns:
      An ``optax.GradientTransformationExtraArgs``.

    Raises:
      TypeError: a hyper-parameter is not a real scalar.
      ValueError: ``f_star`` not finite, ``momentum`` outside ``[0, 1)``, ``max_learning_rate ≤ 0``.
    """
    _check_finite_scalar("f_star", f_star)
    _check_momentum(momentum)
    _check_positive_or_inf("max_learning_rate", max_learning_rate)

    def init(params):
        return PolyakMomentumState(jnp.zeros([], jnp.int32), params, jnp.zeros([]))

    def update(updates, state, params=None, *, value=None, **extra):
        del extra
        if value is None:
            raise ValueError("polyak_heavy_ball needs the objective value: update(..., value=f(x))")
        if params is None:
            raise ValueError("polyak_heavy_ball needs params: call update(g, state, params)")
        beta = _at(momentum, state.count)
        d = _tmap(jnp.subtract, params, state.prev_params)
        sq = _vdot(updates, updates)
        num = jnp.maximum(value - f_star + beta * _vdot(updates, d), 0.0)
        alpha = jnp.minimum(jnp.where(sq > 0, num / jnp.where(sq > 0, sq, 1.0), 0.0), max_learning_rate)
        out = _tmap(lambda g, di: (-alpha * g + beta * di).astype(g.dtype), updates, d)
        return out, PolyakMomentumState(state.count + 1, params, alpha)

    return _tagged(
        optax.GradientTransformationExtraArgs(init, update),
        "polyak_heavy_ball",
        f_star,
        momentum,
        max_learning_rate,
    )


# --------------------------------------------------------------------------- schedule-free SGD
class ScheduleFreeState(NamedTuple):
    """State of :func:`schedule_free_sgd`.

    Attributes:
      count: the number of updates so far (optax's field name).
      z: the SGD sequence ``z_t``.
      x: the averaged sequence ``x_t``; stored only when ``b1 = 0`` (``None`` otherwise: it is
        recovered from ``y`` and ``z``).
      weight_sum: ``Σ_{i≤t} w_i``, the sum of the averaging weights.
      max_learning_rate: ``max_{i≤t} γ_i``, the largest step so far.
      b1: the interpolation ``β``.
    """

    count: Int[Array, ""]  # type: ignore[assignment]  # optax's field name; shadows tuple.count
    z: Any  # SGD sequence
    x: Any  # averaged sequence; stored only when b1 = 0 (else recovered from y and z)
    weight_sum: jax.Array
    max_learning_rate: jax.Array
    b1: jax.Array


def schedule_free_sgd(
    learning_rate: ScalarOrSchedule = 1.0, b1: float = 0.9, *, weight_lr_power: float = 2.0
) -> optax.GradientTransformationExtraArgs:
    """Schedule-Free SGD (Defazio et al., 2024, "The Road Less Scheduled").

    Three sequences: gradients are taken at ``y_t = (1−β) z_t + β x_t`` (these are
    the ``params``), ``z_{t+1} = z_t − γ_t ∇f(y_t)``, and the evaluation sequence
    ``x_{t+1} = (1 − c_{t+1}) x_t + c_{t+1} z_{t+1}`` with ``c_{t+1} = w_t / Σ_{i≤t} w_i``,
    ``w_t = (max_{i≤t} γ_i)^p``: uniform averaging ``c = 1/(t+1)`` for a constant step.
    Equals ``optax.contrib.schedule_free_sgd(γ, b1=β, weight_lr_power=p)`` (no warm-up),
    including optax's schedule indexing: step ``k`` moves ``z`` with ``γ(k)`` and
    weights the average with ``γ(k+1)``.  As in optax only ``z`` is stored for
    ``β > 0`` and ``x = (y − (1−β) z)/β`` is recovered (one array less of memory
    traffic); ``β = 0`` (plain averaged SGD) stores ``x``.  Read ``x`` with
    :func:`schedule_free_eval_params`.

    Args:
      learning_rate: ``γ > 0`` or a schedule.
      b1: interpolation ``β ∈ [0, 1)``.
      weight_lr_power: exponent ``p`` of the averaging weights, finite.

    Returns:
      An ``optax.GradientTransformationExtraArgs`` (``update`` needs ``params``).

    Raises:
      TypeError: a hyper-parameter is not a real scalar.
      ValueError: ``learning_rate ≤ 0``, ``b1`` outside ``[0, 1)`` or a non-finite ``weight_lr_power``.
    """
    _check_scalar_or_schedule("learning_rate", learning_rate)
    if callable(b1):
        raise TypeError("b1 must be a number, got a callable")
    _check_in_unit_interval("b1", b1)
    _check_finite_scalar("weight_lr_power", weight_lr_power)
    store_x = _checks.is_concrete(b1) and float(b1) == 0.0

    def init(params):
        dt = jnp.result_type(*jax.tree_util.tree_leaves(params))
        return ScheduleFreeState(
            jnp.zeros([], jnp.int32),
            params,
            params if store_x else None,
            jnp.zeros([], dt),
            jnp.zeros([], dt),
            jnp.asarray(b1, dt),
        )

    def update(updates, state, params=None, **extra):
        del extra
        if params is None:
            raise ValueError("schedule_free_sgd needs params: call update(g, state, params)")
        # optax's convention: the SGD step uses γ(k) and the averaging weight γ(k+1)
        # (the wrapper counts from 1, the inner SGD from 0); equal for constant γ.
        lr = _at(learning_rate, state.count)
        max_learning_rate = jnp.maximum(state.max_learning_rate, _at(learning_rate, state.count + 1))
        w = max_learning_rate**weight_lr_power
        total = state.weight_sum + w
        c = jnp.where(total > 0, w / jnp.where(total > 0, total, 1.0), 0.0)
        x_prev = state.x if store_x else _tmap(lambda y, zi: (y - (1 - b1) * zi) / b1, params, state.z)
        z = _tmap(lambda zi, g: zi - lr * g, state.z, updates)
        x = _tmap(lambda xi, zi: (1 - c) * xi + c * zi, x_prev, z)
        y = _tmap(lambda xi, zi: b1 * xi + (1 - b1) * zi, x, z)
        out = _tmap(lambda yn, p: (yn - p).astype(p.dtype), y, params)
        new_state = ScheduleFreeState(
            state.count + 1, z, x if store_x else None, total, max_learning_rate, state.b1
        )
        return out, new_state

    return _tagged(
        optax.GradientTransformationExtraArgs(init, update),
        "schedule_free_sgd",
        learning_rate,
        b1,
        weight_lr_power,
    )


def schedule_free_eval_params(state: ScheduleFreeState, params: Any) -> Any:
    """The averaged sequence ``x_t`` of :func:`schedule_free_sgd` (where to evaluate),
    from its state and the current ``params`` ``y_t`` (as ``optax.contrib.schedule_free_eval_params``).

    Args:
      state: a :class:`ScheduleFreeState`.
      params: the current parameters ``y_t``.

    Returns:
      ``x_t``, a pytree like ``params``.

    Raises:
      TypeError: ``state`` is not a ScheduleFreeState.
      ValueError: ``params`` does not match the state's shapes.
    """
    if not isinstance(state, ScheduleFreeState):
        raise TypeError(f"state must be a ScheduleFreeState, got {type(state).__name__}")
    if jax.tree_util.treedef_is_leaf(jax.tree_util.tree_structure(state.z)):
        params = _checks.as_float_array("params", params)  # one array: lists are converted whole
    else:
        params = jax.tree_util.tree_map(lambda p: _checks.as_float_array("params", p), params)
    _checks.require_same_shape("params", params, "state.z", state.z)
    if state.x is not None:
        return state.x
    b1 = state.b1
    return _tmap(lambda y, zi: (y - (1 - b1) * zi) / b1, params, state.z)


# --------------------------------------------------------------------------- problems / ODEs
def _lrp_value(x):
    t = x[0]
    return jnp.where(
        t < 1, 12.5 * t**2, jnp.where(t < 2, 0.5 * t**2 + 24 * t - 12, 12.5 * t**2 - 24 * t + 36)
    )


def lrp_counterexample() -> Problem:
    """Lessard–Recht–Packard's 1-D function on which tuned heavy ball cycles.

    ``∇f(x) = 25x`` for ``x < 1``, ``x + 24`` for ``1 ≤ x < 2``, ``25x − 24`` for
    ``x ≥ 2``: convex, ``μ = 1``, ``L = 25``, ``x* = 0``, ``f* = 0``, ``C¹`` and
    piecewise quadratic.  Heavy ball with the quadratic-optimal
    ``η = 4/(√L+√μ)² = 1/9``, ``β = ((√κ−1)/(√κ+1))² = 4/9`` started at ``x₀ = 3.3``
    falls into a 3-cycle (Lessard, Recht and Packard, 2016, §4.6).

    Returns:
      A :class:`optlab.problems.Problem` in ``d = 1``.
    """
    return Problem(
        name="Lessard–Recht–Packard (μ=1, L=25)",
        value=_lrp_value,
        dim=1,
        L=25.0,
        mu=1.0,
        x_star=jnp.zeros(1),
        f_star=0.0,
        x0=jnp.array([3.3]),
    )


class ODETrace(NamedTuple):
    """An ODE path from :func:`momentum_ode` (``num_steps + 1`` rows, ``x(t0)`` first).

    Unpacks as ``times, iterates = momentum_ode(...)``.

    Attributes:
      times: ``t_0, …, t_N``, shape ``(N + 1,)``.
      iterates: ``x(t_0), …, x(t_N)``, shape ``(N + 1, d)``.
    """

    times: Float[Array, " N+1"]
    iterates: Float[Array, "N+1 d"]

    @property
    def params(self) -> jax.Array:
        """The final point ``x(t_N)``."""
        return self.iterates[-1]


def momentum_ode(
    grad_fn: Callable[[Any], Any],
    x0: Float[ArrayLike, " d"],
    t_final: float,
    *,
    num_steps: int,
    damping: str = "nesterov",
    mu: float | None = None,
    t0: float = 1e-6,
) -> ODETrace:
    """Integrate a momentum ODE with classical RK4 from ``x(t0) = x0``, ``ẋ(t0) = 0``.

    ``damping="nesterov"``: ``ẍ + (3/t) ẋ + ∇f(x) = 0``, the limit of Nesterov with
    ``β_k = k/(k+3)`` and step ``s`` under ``t = k√s`` (Su, Boyd and Candès, 2016).
    ``damping="strong"``: ``ẍ + 2√μ ẋ + ∇f(x) = 0``, the limit of heavy ball /
    Nesterov with ``β = (1−√(μs))/(1+√(μs))`` (needs ``mu``).

    Args:
      grad_fn: ``x ↦ ∇f(x)``.
      x0: initial point, finite.
      t_final: end time ``> t0``.
      num_steps: number of RK4 steps ``≥ 1``.
      damping: ``"nesterov"`` or ``"strong"``.
      mu: ``μ > 0``, needed by ``damping="strong"``.
      t0: start time ``> 0`` (the Nesterov ODE is singular at ``t = 0``).

    Returns:
      An :class:`ODETrace` ``(times, iterates)`` with ``num_steps + 1`` rows.

    Raises:
      TypeError: ``grad_fn`` not callable, non-numeric ``x0``/times, non-integer ``num_steps``.
      ValueError: NaN/inf ``x0``, non-positive times, ``t_final ≤ t0``, unknown
        ``damping``, ``mu`` missing or ``≤ 0``.
    """
    _checks.require_callable("grad_fn", grad_fn)
    x0 = _checks.as_float_array("x0", x0)
    _require_scalar("t_final", t_final)
    _require_scalar("t0", t0)
    _checks.require_positive("t_final", t_final)
    _checks.require_int("num_steps", num_steps, minimum=1)
    _checks.require_positive("t0", t0)
    if not isinstance(damping, str) or damping not in ("nesterov", "strong"):
        raise ValueError(f"damping must be 'nesterov' or 'strong', got {damping!r}")
    if damping == "strong":
        if mu is None:
            raise ValueError("damping='strong' needs mu")
        _require_scalar("mu", mu)
        _checks.require_positive("mu", mu)
    else:
        mu = None
    if _checks.is_concrete((t0, t_final)) and not float(t_final) > float(t0):
        raise ValueError(f"t_final must exceed t0={t0}, got {t_final}")
    static, dynamic = _runner._split(grad_fn)
    return _momentum_ode_compiled(dynamic, x0, t0, t_final, mu, static=static, num_steps=num_steps)


@functools.partial(jax.jit, static_argnames=("static", "num_steps"))
def _momentum_ode_compiled(dynamic, x0, t0, t_final, mu, *, static, num_steps):
    grad_fn = _runner._merge(static, dynamic)
    dt = jnp.result_type(x0.dtype, float)
    t0 = jnp.asarray(t0, dt)
    h = (jnp.asarray(t_final, dt) - t0) / num_steps

    def coef(t):
        return 3.0 / t if mu is None else 2.0 * jnp.sqrt(mu)

    def rhs(t, s):
        x, v = s
        return v, -coef(t) * v - grad_fn(x)

    def step(carry, _):
        t, s = carry
        k1 = rhs(t, s)
        k2 = rhs(t + h / 2, _tmap(lambda a, b: a + h / 2 * b, s, k1))
        k3 = rhs(t + h / 2, _tmap(lambda a, b: a + h / 2 * b, s, k2))
        k4 = rhs(t + h, _tmap(lambda a, b: a + h * b, s, k3))
        s = _tmap(lambda a, b1, b2, b3, b4: a + h / 6 * (b1 + 2 * b2 + 2 * b3 + b4), s, k1, k2, k3, k4)
        return (t + h, s), s[0]

    _, xs = jax.lax.scan(step, (t0, (x0, jnp.zeros_like(x0))), None, length=num_steps)
    ts = t0 + h * jnp.arange(num_steps + 1, dtype=dt)
    return ODETrace(ts, jnp.concatenate([x0[None], xs]))
