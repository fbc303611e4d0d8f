"""Adam, AdamW and AMSGrad as optax transformations (chapter 4)."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax.numpy as jnp
import optax

from .. import _checks
from .._types import Array, Int
from ..first_order import (
    ScalarOrSchedule,
    _at,
    _check_flag,
    _check_scalar_or_schedule,
    _tagged,
)
from ._common import _check_beta, _check_nonneg, _is_zero, _step, _tmap


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
        if not no_wd:
            _checks.require_update_params(f"{name} with weight_decay", params)
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
