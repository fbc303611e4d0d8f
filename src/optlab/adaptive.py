"""Adaptive, parameter-free and non-Euclidean methods (Chapter 4).

Every method is an :class:`optax.GradientTransformationExtraArgs` with the
conventions of :mod:`optlab.first_order`: ``update(g, state, params)`` returns
``x_{k+1} − x_k``; scalar hyper-parameters may be schedules ``k ↦ η_k`` where
noted.  Where optax has the method the defaults and formulas are optax's, and
``tests/test_adaptive.py`` proves parity to 1e-6:

- ``adagrad(η, s0, ε)``: ``s += g²``; ``−η g / √(s + ε)``; optax: ``optax.adagrad(η, s0, ε)``.
- ``adagrad_norm(η, b0)``: ``b² += ‖g‖²``; ``−η g / b``; optax: none (scalar AdaGrad).
- ``rmsprop(η, ρ, ε)``: ``ν = ρν + (1−ρ)g²``; ``−η g / √(ν + ε)``; optax: ``optax.rmsprop(η, ρ, ε)``.
- ``adam(η, β1, β2, ε)``: ``−η m̂ / (√v̂ + ε)``; optax: ``optax.adam``.
- ``adamw(η, …, λ)``: ``−η (m̂ / (√v̂ + ε) + λ x)``; optax: ``optax.adamw``.
- ``amsgrad(η, β1, β2, ε)``: ``v̂max = max(v̂max, v̂)``; ``−η m̂ / (√v̂max + ε)``; optax: ``optax.amsgrad``.
- ``dog(η, r_ε)``: ``−η (r̄_k / √Σ‖g_i‖²) g``; optax: ``optax.contrib.dog`` (heuristic).
- ``lion(η, β1, β2, λ)``: ``−η (sign(β1 m + (1−β1) g) + λ x)``; optax: ``optax.lion``.
- ``steepest_descent(η, n)``: ``−η · argmax_{‖t‖≤1} ⟨g, t⟩`` (``‖g‖_* ×`` opt.); optax: none.

Note optax's conventions: AdaGrad starts its accumulator at ``s0 = 0.1`` and puts
``ε`` inside the square root; RMSProp puts ``ε`` inside, Adam/AMSGrad outside;
AMSGrad takes the max of the *bias-corrected* ``v̂`` (Reddi et al. take it of
``v`` with no correction; with ``bias_correction=False`` we do the same).
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from . import _checks
from . import runner as _runner
from ._types import Array, Float, Int
from .first_order import (
    ScalarOrSchedule,
    _at,
    _check_flag,
    _check_in_unit_interval,
    _check_nonnegative_scalar,
    _check_scalar_or_schedule,
    _require_scalar,
    _tagged,
)

__all__ = [
    "adagrad",
    "adagrad_norm",
    "rmsprop",
    "adam",
    "adamw",
    "amsgrad",
    "dog",
    "lion",
    "steepest_descent",
    "lmo",
    "dual_norm",
    "reddi_online",
    "OnlineTrace",
    "AdaGradState",
    "AdaGradNormState",
    "RMSPropState",
    "AdamState",
    "DoGState",
    "LionState",
]

_tmap = jax.tree_util.tree_map


def _sqnorm(tree):
    return sum(jnp.vdot(x, x).real for x in jax.tree_util.tree_leaves(tree))


def _check_beta(name, value):
    if callable(value):
        raise TypeError(f"{name} must be a number, got a callable")
    _check_in_unit_interval(name, value)


def _check_nonneg(name, value):
    _check_nonnegative_scalar(name, value)


def _is_zero(value):
    return _checks.is_concrete(value) and float(value) == 0.0


def _step(eta, d, g):
    return (-eta * d).astype(g.dtype)


# --------------------------------------------------------------------------- AdaGrad
class AdaGradState(NamedTuple):
    """State of :func:`adagrad`.

    Attributes:
      count: the number of updates so far (optax's field name).
      sum_of_squares: the per-coordinate sums of squared gradients (with the initial
        accumulator value), a pytree like the params.
    """

    count: Int[Array, ""]  # type: ignore[assignment]  # optax's field name; shadows tuple.count
    sum_of_squares: Any


def adagrad(
    learning_rate: ScalarOrSchedule, initial_accumulator_value: float = 0.1, eps: float = 1e-7
) -> optax.GradientTransformationExtraArgs:
    """Diagonal AdaGrad (Duchi, Hazan and Singer, 2011), optax's conventions.

    ``s_k = s0 + Σ_{i≤k} g_i²`` per coordinate, ``x_{k+1} = x_k − η g_k / √(s_k + ε)``
    (coordinates with ``s_k = 0`` do not move).

    Args:
      learning_rate: ``η > 0`` or a schedule.
      initial_accumulator_value: ``s0 ≥ 0``.
      eps: ``ε ≥ 0``.

    Returns:
      An ``optax.GradientTransformationExtraArgs`` (equal to ``optax.adagrad``).

    Raises:
      TypeError: a hyper-parameter is not a real scalar (or, for ``learning_rate``, a callable).
      ValueError: ``learning_rate ≤ 0``, a beta/decay outside ``[0, 1)``, a negative ``eps``/decay constant.
    """
    _check_scalar_or_schedule("learning_rate", learning_rate)
    _check_nonneg("initial_accumulator_value", initial_accumulator_value)
    _check_nonneg("eps", eps)

    def init(params):
        return AdaGradState(
            jnp.zeros([], jnp.int32), _tmap(lambda p: jnp.full_like(p, initial_accumulator_value), params)
        )

    def update(updates, state, params=None, **extra):
        del params, extra
        eta = _at(learning_rate, state.count)
        s = _tmap(lambda g, t: g**2 + t, updates, state.sum_of_squares)
        d = _tmap(lambda g, t: g * jnp.where(t > 0, jax.lax.rsqrt(t + eps), 0.0), updates, s)
        return _tmap(lambda di, g: _step(eta, di, g), d, updates), AdaGradState(state.count + 1, s)

    return _tagged(
        optax.GradientTransformationExtraArgs(init, update),
        "adagrad",
        learning_rate,
        initial_accumulator_value,
        eps,
    )


class AdaGradNormState(NamedTuple):
    """State of :func:`adagrad_norm`.

    Attributes:
      count: the number of updates so far (optax's field name).
      b_squared: ``b_k² = b0² + Σ_{i≤k} ‖g_i‖²``.
    """

    count: Int[Array, ""]  # type: ignore[assignment]  # optax's field name; shadows tuple.count
    b_squared: jax.Array


def adagrad_norm(learning_rate: ScalarOrSchedule, b0: float = 1e-2) -> optax.GradientTransformationExtraArgs:
    """Scalar ("norm") AdaGrad: ``b_k² = b0² + Σ_{i≤k} ‖g_i‖²``, ``x_{k+1} = x_k − η g_k / b_k``.

    Adapts one step size to the gradient history (Ward, Wu and Bottou, 2019;
    Streeter and McMahan, 2010).  ``b0 > 0`` guards the first step.

    Args:
      learning_rate: ``η > 0`` or a schedule.
      b0: ``b0 > 0``.

    Returns:
      An ``optax.GradientTransformationExtraArgs``.

    Raises:
      TypeError: a hyper-parameter is not a real scalar (or, for ``learning_rate``, a callable).
      ValueError: ``learning_rate ≤ 0``, a beta/decay outside ``[0, 1)``, a negative ``eps``/decay constant.
    """
    _check_scalar_or_schedule("learning_rate", learning_rate)
    _require_scalar("b0", b0)
    _checks.require_positive("b0", b0)

    def init(params):
        dt = jnp.result_type(*jax.tree_util.tree_leaves(params))
        return AdaGradNormState(jnp.zeros([], jnp.int32), jnp.asarray(b0**2, dt))

    def update(updates, state, params=None, **extra):
        del params, extra
        eta = _at(learning_rate, state.count)
        b2 = state.b_squared + _sqnorm(updates)
        scale = eta / jnp.sqrt(b2)
        return _tmap(lambda g: (-scale * g).astype(g.dtype), updates), AdaGradNormState(state.count + 1, b2)

    return _tagged(optax.GradientTransformationExtraArgs(init, update), "adagrad_norm", learning_rate, b0)


# --------------------------------------------------------------------------- RMSProp
class RMSPropState(NamedTuple):
    """State of :func:`rmsprop`.

    Attributes:
      count: the number of updates so far (optax's field name).
      nu: the exponential moving average of squared gradients, a pytree like the params.
    """

    count: Int[Array, ""]  # type: ignore[assignment]  # optax's field name; shadows tuple.count
    nu: Any


def rmsprop(
    learning_rate: ScalarOrSchedule, decay: float = 0.9, eps: float = 1e-8
) -> optax.GradientTransformationExtraArgs:
    """RMSProp (Tieleman and Hinton, 2012): ``ν_k = ρ ν_{k−1} + (1−ρ) g_k²``,
    ``x_{k+1} = x_k − η g_k / √(ν_k + ε)`` with ``ν_0 = 0`` (optax's defaults).

    Args:
      learning_rate: ``η > 0`` or a schedule.
      decay: ``ρ ∈ [0, 1)``.
      eps: ``ε ≥ 0``.

    Returns:
      An ``optax.GradientTransformationExtraArgs`` (equal to ``optax.rmsprop``).

    Raises:
      TypeError: a hyper-parameter is not a real scalar (or, for ``learning_rate``, a callable).
      ValueError: ``learning_rate ≤ 0``, a beta/decay outside ``[0, 1)``, a negative ``eps``/decay constant.
    """
    _check_scalar_or_schedule("learning_rate", learning_rate)
    _check_beta("decay", decay)
    _check_nonneg("eps", eps)

    def init(params):
        return RMSPropState(jnp.zeros([], jnp.int32), _tmap(jnp.zeros_like, params))

    def update(updates, state, params=None, **extra):
        del params, extra
        eta = _at(learning_rate, state.count)
        nu = _tmap(lambda g, n: (1 - decay) * g**2 + decay * n, updates, state.nu)
        d = _tmap(lambda g, n: g * jax.lax.rsqrt(n + eps), updates, nu)
        return _tmap(lambda di, g: _step(eta, di, g), d, updates), RMSPropState(state.count + 1, nu)

    return _tagged(optax.GradientTransformationExtraArgs(init, update), "rmsprop", learning_rate, decay, eps)


# --------------------------------------------------------------------------- Adam family
class AdamState(NamedTuple):
    """State of :func:`adam` and its variants.

    Attributes:
      count: the number of updates so far (optax's field name).
      mu: the first-moment moving average ``m_k``.
      nu: the second-moment moving average ``v_k``.
      nu_max: AMSGrad's running maximum of the bias-corrected ``v̂_k`` (zeros otherwise).
    """

    count: Int[Array, ""]  # type: ignore[assignment]  # optax's field name; shadows tuple.count
    mu: Any
    nu: Any
    nu_max: Any  # AMSGrad only (zeros otherwise)


def _adam_core(learning_rate, b1, b2, eps, weight_decay, ams, bias_correction, name):
    _check_scalar_or_schedule("learning_rate", learning_rate)
    _check_beta("b1", b1)
    _check_beta("b2", b2)
    _check_nonneg("eps", eps)
    _check_nonneg("weight_decay", weight_decay)
    _check_flag("bias_correction", bias_correction)

    no_wd = _is_zero(weight_decay)

    def init(params):
        z = _tmap(jnp.zeros_like, params)
        return AdamState(jnp.zeros([], jnp.int32), z, z, z)

    # region: adaptive-adam-update
    def update(updates, state, params=None, **extra):
        del extra
        if not no_wd and params is None:
            raise ValueError(f"{name} with weight_decay needs params: call update(g, state, params)")
        eta = _at(learning_rate, state.count)
        t = state.count + 1
        mu = _tmap(lambda g, m: b1 * m + (1 - b1) * g, updates, state.mu)
        nu = _tmap(lambda g, v: (1 - b2) * g**2 + b2 * v, updates, state.nu)
        if bias_correction:
            c1 = 1 - jnp.asarray(b1, jnp.result_type(float)) ** t
            c2 = 1 - jnp.asarray(b2, jnp.result_type(float)) ** t
            mu_hat = _tmap(lambda m: m / c1.astype(m.dtype), mu)
            nu_hat = _tmap(lambda v: v / c2.astype(v.dtype), nu)
        else:
            mu_hat, nu_hat = mu, nu
        nu_max = _tmap(jnp.maximum, state.nu_max, nu_hat) if ams else state.nu_max
        denom = nu_max if ams else nu_hat
        d = _tmap(lambda m, v: m / (jnp.sqrt(v) + eps), mu_hat, denom)
        if not no_wd:
            d = _tmap(lambda di, p: di + weight_decay * p, d, params)
        new = _tmap(lambda di, g: _step(eta, di, g), d, updates)
        return new, AdamState(t, mu, nu, nu_max)

    # endregion: adaptive-adam-update

    return _tagged(
        optax.GradientTransformationExtraArgs(init, update),
        name,
        learning_rate,
        b1,
        b2,
        eps,
        weight_decay,
        ams,
        bias_correction,
    )


def adam(
    learning_rate: ScalarOrSchedule,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    *,
    bias_correction: bool = True,
) -> optax.GradientTransformationExtraArgs:
    """Adam (Kingma and Ba, 2015): ``m_k = β1 m + (1−β1) g``, ``v_k = β2 v + (1−β2) g²``,
    ``m̂ = m_k/(1−β1^k)``, ``v̂ = v_k/(1−β2^k)``, ``x_{k+1} = x_k − η m̂ / (√v̂ + ε)``.

    Args:
      learning_rate: ``η > 0`` or a schedule.
      b1, b2: ``β1, β2 ∈ [0, 1)``.
      eps: ``ε ≥ 0``.
      bias_correction: divide by ``1 − β^k`` (a bool).

    Returns:
      An ``optax.GradientTransformationExtraArgs``.

    Raises:
      TypeError: a hyper-parameter is not a real scalar (``learning_rate`` may be callable).
      ValueError: ``learning_rate ≤ 0``, ``b1``/``b2`` outside ``[0, 1)``, ``eps < 0``.
    """
    return _adam_core(learning_rate, b1, b2, eps, 0.0, False, bias_correction, "adam")


def adamw(
    learning_rate: ScalarOrSchedule,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    weight_decay: float = 1e-4,
) -> optax.GradientTransformationExtraArgs:
    """AdamW (Loshchilov and Hutter, 2019): Adam plus decoupled decay,
    ``x_{k+1} = x_k − η (m̂/(√v̂+ε) + λ x_k)`` (optax's convention: λ multiplied by η).

    Args:
      learning_rate: ``η > 0`` or a schedule.
      b1, b2: ``β1, β2 ∈ [0, 1)``.
      eps: ``ε ≥ 0``.
      weight_decay: ``λ ≥ 0``.

    Returns:
      An ``optax.GradientTransformationExtraArgs``.

    Raises:
      TypeError: a hyper-parameter is not a real scalar (``learning_rate`` may be callable).
      ValueError: ``learning_rate ≤ 0``, ``b1``/``b2`` outside ``[0, 1)``, ``eps < 0``, ``weight_decay < 0``.
    """
    return _adam_core(learning_rate, b1, b2, eps, weight_decay, False, True, "adamw")


def amsgrad(
    learning_rate: ScalarOrSchedule,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    *,
    bias_correction: bool = True,
) -> optax.GradientTransformationExtraArgs:
    """AMSGrad (Reddi, Kale and Kumar, 2018): Adam with the running maximum
    ``v̂max_k = max(v̂max_{k−1}, v̂_k)`` in the denominator, so effective steps never grow.

    Args:
      learning_rate: ``η > 0`` or a schedule.
      b1, b2: ``β1, β2 ∈ [0, 1)``.
      eps: ``ε ≥ 0``.
      bias_correction: divide by ``1 − β^k`` (a bool).

    Returns:
      An ``optax.GradientTransformationExtraArgs``.

    Raises:
      TypeError: a hyper-parameter is not a real scalar (``learning_rate`` may be callable).
      ValueError: ``learning_rate ≤ 0``, ``b1``/``b2`` outside ``[0, 1)``, ``eps < 0``.
    """
    return _adam_core(learning_rate, b1, b2, eps, 0.0, True, bias_correction, "amsgrad")


# --------------------------------------------------------------------------- DoG
class DoGState(NamedTuple):
    """State of :func:`dog`.

    Attributes:
      count: the number of updates so far (optax's field name).
      init_params: the starting point ``x_0``.
      max_dist: ``r̄_k``, the largest distance ``‖x_i − x_0‖`` so far (at least ``r_ε``).
      sum_sq_grads: ``Σ_{i≤k} ‖g_i‖²``.
      last_learning_rate: DoG's step ``r̄_k/√(Σ‖g_i‖² + eps)`` of the last update, before the
        ``learning_rate`` factor.
    """

    count: Int[Array, ""]  # type: ignore[assignment]  # optax's field name; shadows tuple.count
    init_params: Any
    max_dist: jax.Array  # r̄_k
    sum_sq_grads: jax.Array  # Σ‖g_i‖²
    last_learning_rate: jax.Array


def dog(
    learning_rate: float = 1.0, r_epsilon: float = 1e-6, *, relative: bool = True, eps: float = 1e-8
) -> optax.GradientTransformationExtraArgs:
    """DoG, "Distance over Gradients" (Ivgi, Hinder and Carmon, 2023).

    ``η_k = r̄_k / √(Σ_{i≤k} ‖g_i‖² + ε)`` with ``r̄_k = max(r_ε, max_{i≤k} ‖x_i − x_0‖)``;
    the update is ``−(learning_rate) η_k g_k``.  With ``relative=True`` (the paper's
    choice) ``r_ε = r_epsilon · (1 + ‖x_0‖)``.  Equals
    ``optax.contrib.dog(learning_rate, init_step=("heuristic", r_epsilon))``
    (``("distance", r_epsilon)`` for ``relative=False``).  Needs ``params``.

    Args:
      learning_rate: multiplier ``> 0`` (a number).
      r_epsilon: initial distance scale ``> 0``.
      relative: scale ``r_epsilon`` by ``1 + ‖x_0‖`` (a bool).
      eps: ``≥ 0``, added to the gradient sum.

    Returns:
      An ``optax.GradientTransformationExtraArgs``.

    Raises:
      TypeError: a non-numeric hyper-parameter or a non-bool ``relative``.
      ValueError: ``learning_rate ≤ 0``, ``r_epsilon ≤ 0`` or ``eps < 0``.
    """
    if callable(learning_rate):
        raise TypeError("learning_rate must be a number for dog, got a callable")
    _check_scalar_or_schedule("learning_rate", learning_rate)
    _require_scalar("r_epsilon", r_epsilon)
    _checks.require_positive("r_epsilon", r_epsilon)
    _check_flag("relative", relative)
    _check_nonneg("eps", eps)

    def init(params):
        dt = jnp.result_type(*jax.tree_util.tree_leaves(params))
        r = r_epsilon * (1 + jnp.sqrt(_sqnorm(params))) if relative else jnp.asarray(r_epsilon)
        return DoGState(
            jnp.zeros([], jnp.int32), params, jnp.asarray(r, dt), jnp.zeros([], dt), jnp.zeros([], dt)
        )

    def update(updates, state, params=None, **extra):
        del extra
        if params is None:
            raise ValueError("dog needs params: call update(g, state, params)")
        dist = jnp.sqrt(_sqnorm(_tmap(jnp.subtract, state.init_params, params)))
        r = jnp.maximum(state.max_dist, dist)
        G = state.sum_sq_grads + _sqnorm(updates)
        eta = r / jnp.sqrt(G + eps)
        new = _tmap(lambda g: (-learning_rate * eta * g).astype(g.dtype), updates)
        return new, DoGState(state.count + 1, state.init_params, r, G, eta)

    return _tagged(
        optax.GradientTransformationExtraArgs(init, update), "dog", learning_rate, r_epsilon, relative, eps
    )


# --------------------------------------------------------------------------- Lion
class LionState(NamedTuple):
    """State of :func:`lion`.

    Attributes:
      count: the number of updates so far (optax's field name).
      mu: the momentum ``m_k``, a pytree like the params.
    """

    count: Int[Array, ""]  # type: ignore[assignment]  # optax's field name; shadows tuple.count
    mu: Any


def lion(
    learning_rate: ScalarOrSchedule, b1: float = 0.9, b2: float = 0.99, weight_decay: float = 1e-3
) -> optax.GradientTransformationExtraArgs:
    """Lion (Chen et al., 2023): ``c = sign(β1 m + (1−β1) g)``, ``m ← β2 m + (1−β2) g``,
    ``x_{k+1} = x_k − η (c + λ x_k)``.

    The sign is steepest descent in ℓ∞ (see :func:`lmo`); with ``λ > 0`` Lion
    solves ``min f`` subject to ``‖x‖_∞ ≤ 1/λ`` (Chen, Liu, Liang and Liu, 2024).

    Args:
      learning_rate: ``η > 0`` or a schedule.
      b1, b2: ``∈ [0, 1)``.
      weight_decay: ``λ ≥ 0``.

    Returns:
      An ``optax.GradientTransformationExtraArgs`` (equal to ``optax.lion``).

    Raises:
      TypeError: a hyper-parameter is not a real scalar (or, for ``learning_rate``, a callable).
      ValueError: ``learning_rate ≤ 0``, a beta/decay outside ``[0, 1)``, a negative ``eps``/decay constant.
    """
    _check_scalar_or_schedule("learning_rate", learning_rate)
    _check_beta("b1", b1)
    _check_beta("b2", b2)
    _check_nonneg("weight_decay", weight_decay)

    no_wd = _is_zero(weight_decay)

    def init(params):
        return LionState(jnp.zeros([], jnp.int32), _tmap(jnp.zeros_like, params))

    def update(updates, state, params=None, **extra):
        del extra
        if not no_wd and params is None:
            raise ValueError("lion with weight_decay needs params: call update(g, state, params)")
        eta = _at(learning_rate, state.count)
        c = _tmap(lambda g, m: jnp.sign(b1 * m + (1 - b1) * g), updates, state.mu)
        mu = _tmap(lambda g, m: b2 * m + (1 - b2) * g, updates, state.mu)
        if not no_wd:
            c = _tmap(lambda ci, p: ci + weight_decay * p, c, params)
        return _tmap(lambda ci, g: _step(eta, ci, g), c, updates), LionState(state.count + 1, mu)

    return _tagged(
        optax.GradientTransformationExtraArgs(init, update), "lion", learning_rate, b1, b2, weight_decay
    )


# --------------------------------------------------------------------------- steepest descent
_NORMS = ("l2", "linf", "l1", "spectral")


def _check_norm(norm):
    if not isinstance(norm, str) or norm not in _NORMS:
        raise ValueError(f"norm must be one of {_NORMS}, got {norm!r}")


def lmo(g: Float[Array, "*shape"], norm: str) -> Float[Array, "*shape"]:
    """``argmax_{‖t‖ ≤ 1} ⟨g, t⟩``: the unit direction of steepest *ascent* under ``norm``.

    ``l2``: ``g/‖g‖₂``; ``linf``: ``sign(g)``; ``l1``: ``sign(g_i) e_i`` at the largest
    ``|g_i|``; ``spectral`` (``g`` a matrix, ``g = UΣVᵀ``): ``UVᵀ`` (Bernstein and
    Newhouse, 2024).  ``⟨g, lmo(g)⟩`` is the dual norm :func:`dual_norm`.

    Args:
      g: a non-empty array (a matrix for ``"spectral"``), finite.
      norm: one of ``"l2", "linf", "l1", "spectral"``.

    Returns:
      An array like ``g`` (zero where ``g = 0``).

    Raises:
      TypeError: ``g`` is not real-numeric.
      ValueError: unknown ``norm``, an empty or non-finite ``g``, or a non-matrix for ``"spectral"``.
    """
    _check_norm(norm)
    g = _checks.as_float_array("g", g)
    if g.size == 0:
        raise ValueError("g must be a non-empty array")
    if norm == "l2":
        n = jnp.linalg.norm(g)
        return jnp.where(n > 0, g / jnp.where(n > 0, n, 1.0), 0.0)
    if norm == "linf":
        return jnp.sign(g)
    if norm == "l1":
        flat = g.ravel()
        i = jnp.argmax(jnp.abs(flat))
        return jnp.zeros_like(flat).at[i].set(jnp.sign(flat[i])).reshape(g.shape)
    _checks.require_ndim("g", g, 2)
    U, s, Vt = jnp.linalg.svd(g, full_matrices=False)
    keep = s > s[0] * max(g.shape) * jnp.finfo(g.dtype).eps
    return (U * keep) @ Vt


def dual_norm(g: Float[Array, "*shape"], norm: str) -> Float[Array, ""]:
    """The dual norm ``‖g‖_* = max_{‖t‖≤1} ⟨g, t⟩``: ℓ2 ↔ ℓ2, ℓ∞ ↔ ℓ1, ℓ1 ↔ ℓ∞, spectral ↔ nuclear.

    Args:
      g: a non-empty array (a matrix for ``"spectral"``), finite.
      norm: one of ``"l2", "linf", "l1", "spectral"``.

    Returns:
      A scalar array.

    Raises:
      TypeError: ``g`` is not real-numeric.
      ValueError: unknown ``norm``, an empty or non-finite ``g``, or a non-matrix for ``"spectral"``.
    """
    _check_norm(norm)
    g = _checks.as_float_array("g", g)
    if g.size == 0:
        raise ValueError("g must be a non-empty array")
    if norm == "l2":
        return jnp.linalg.norm(g)
    if norm == "linf":
        return jnp.sum(jnp.abs(g))
    if norm == "l1":
        return jnp.max(jnp.abs(g))
    _checks.require_ndim("g", g, 2)
    return jnp.sum(jnp.linalg.svd(g, compute_uv=False))


def steepest_descent(
    learning_rate: ScalarOrSchedule, norm: str = "l2", *, scale_by_dual: bool = False
) -> optax.GradientTransformationExtraArgs:
    """Steepest descent under a norm: ``x_{k+1} = x_k − η · s_k · lmo(g_k)``.

    With ``scale_by_dual=False`` (``s_k = 1``) each leaf moves a fixed distance ``η``
    in the norm (normalised GD, signSGD, orthogonalised updates); with
    ``scale_by_dual=True`` (``s_k = ‖g_k‖_*``) it is the minimiser of
    ``⟨g, Δ⟩ + ‖Δ‖²/(2η)``.  Applied leaf by leaf; ``"spectral"`` needs 2-D leaves.

    Args:
      learning_rate: ``η > 0`` or a schedule.
      norm: one of ``"l2", "linf", "l1", "spectral"``.
      scale_by_dual: multiply by the dual norm (a bool).

    Returns:
      An ``optax.GradientTransformationExtraArgs``.

    Raises:
      TypeError: a non-numeric ``learning_rate`` or a non-bool ``scale_by_dual``.
      ValueError: ``learning_rate ≤ 0`` or an unknown ``norm``.
    """
    _check_scalar_or_schedule("learning_rate", learning_rate)
    _check_norm(norm)
    _check_flag("scale_by_dual", scale_by_dual)

    def init(params):
        if norm == "spectral":
            for leaf in jax.tree_util.tree_leaves(params):
                _checks.require_ndim("params (spectral steepest descent)", leaf, 2)
        return optax.ScaleByScheduleState(count=jnp.zeros([], jnp.int32))

    def update(updates, state, params=None, **extra):
        del params, extra
        eta = _at(learning_rate, state.count)

        def leaf(g):
            d = lmo(g, norm)
            if scale_by_dual:
                d = d * dual_norm(g, norm)
            return (-eta * d).astype(g.dtype)

        return _tmap(leaf, updates), optax.ScaleByScheduleState(count=state.count + 1)

    return _tagged(
        optax.GradientTransformationExtraArgs(init, update),
        "steepest_descent",
        learning_rate,
        norm,
        scale_by_dual,
    )


# --------------------------------------------------------------------------- Reddi et al. online problem
class OnlineTrace(NamedTuple):
    """A projected online run on the line.

    Attributes:
      params: the final point ``x_T``, a scalar.
      iterates: ``x_0, …, x_T``, shape ``(T + 1,)``.
      losses: ``f_t(x_t)``, ``t = 1, …, T``, shape ``(T,)``.
      regret: ``R_t``, ``t = 1, …, T``, shape ``(T,)``.
    """

    params: Float[Array, ""]
    iterates: Float[Array, " T+1"]
    losses: Float[Array, " T"]
    regret: Float[Array, " T"]


def reddi_online(
    optimizer: optax.GradientTransformation, *, num_steps: int, C: float = 3.0, x0: float = 1.0
) -> OnlineTrace:
    """Run ``optimizer`` on the online problem of Reddi, Kale and Kumar (2018, Thm. 1).

    ``f_t(x) = C x`` if ``t mod 3 = 1`` else ``−x``, on ``F = [−1, 1]`` (projected by
    clipping, which in 1-D is also the ``√v̂``-weighted projection), ``t = 1, 2, …``.
    The average loss ``(C − 2)x/3`` is minimised at ``x* = −1`` for ``C > 2``.
    Regret ``R_T = Σ_t f_t(x_t) − min_x Σ_t f_t(x)``.  Compiled once per optimizer
    (see :mod:`optlab.runner`) and ``num_steps``.

    Args:
      optimizer: an optax transformation.
      num_steps: ``T ≥ 1``.
      C: ``C > 0`` (the counterexample needs ``C > 2``).
      x0: start in ``[−1, 1]``.

    Returns:
      An :class:`OnlineTrace`.

    Raises:
      TypeError: ``optimizer`` is not a transformation, ``num_steps`` not an integer,
        ``C``/``x0`` not real scalars.
      ValueError: ``num_steps < 1``, ``C ≤ 0`` or ``x0`` outside ``[−1, 1]``.
    """
    _runner._require_optimizer(optimizer)
    _checks.require_int("num_steps", num_steps, minimum=1)
    _require_scalar("C", C)
    _checks.require_positive("C", C)
    _require_scalar("x0", x0)
    _checks.require_in_range("x0", x0, -1.0, 1.0)
    static, dynamic = _runner._split(optimizer)
    return _reddi_compiled(dynamic, C, x0, static=static, num_steps=num_steps)


@functools.partial(jax.jit, static_argnames=("static", "num_steps"))
def _reddi_compiled(dynamic, C, x0, *, static, num_steps):
    optimizer = optax.with_extra_args_support(_runner._merge(static, dynamic))
    dt = jnp.result_type(float)
    x_init = jnp.reshape(jnp.asarray(x0, dt), (1,))
    C = jnp.asarray(C, dt)

    def step(carry, t):
        x, state = carry
        g = jnp.where(t % 3 == 1, C, -1.0).astype(dt) * jnp.ones_like(x)
        loss = (g * x)[0]
        u, state = optimizer.update(g, state, x, value=loss)
        x = jnp.clip(x + u, -1.0, 1.0)
        return (x, state), (x[0], loss, g[0])

    _, (xs, losses, gs) = jax.lax.scan(step, (x_init, optimizer.init(x_init)), jnp.arange(1, num_steps + 1))
    best = -jnp.abs(jnp.cumsum(gs))  # min over x∈[−1,1] of x Σ g
    regret = jnp.cumsum(losses) - best
    return OnlineTrace(params=xs[-1], iterates=jnp.concatenate([x_init, xs]), losses=losses, regret=regret)
