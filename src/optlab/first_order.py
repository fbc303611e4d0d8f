"""First-order methods as optax gradient transformations.

Each constructor returns an :class:`optax.GradientTransformationExtraArgs`
whose ``update(grads, state, params=None, *, value=None)`` returns the
*update* ``x_{k+1} − x_k`` (optax's sign convention), so the methods chain with
optax and run in :func:`optlab.runner.run`.  Notation of Chapter 1: step size
``η`` (``learning_rate``), momentum ``β``, gradient ``g_k = ∇f(x_k)``.

- :func:`gd`:          ``x_{k+1} = x_k − η_k g_k``.
- :func:`polyak`:      ``η_k = (f(x_k) − f*) / ‖g_k‖²`` (Polyak, 1987).
- :func:`heavy_ball`:  ``x_{k+1} = x_k − η g_k + β (x_k − x_{k−1})`` (Polyak, 1964).
- :func:`nesterov`:    ``y_{k+1} = y_k − η (g_k + β v_k)``, ``v_k = g_k + β v_{k−1}``,
  Nesterov's method written at the look-ahead points (Sutskever et al., 2013).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from . import _checks
from ._types import Array, Int

__all__ = ["gd", "polyak", "heavy_ball", "nesterov", "GDState", "MomentumState", "PolyakState"]

Schedule = Callable[[jax.Array], jax.Array]
ScalarOrSchedule = float | jax.Array | Schedule


def _require_scalar(name: str, value: Any) -> None:
    """Raise unless ``value`` is a real scalar (a number or a 0-d array; tracers: shape only)."""
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a real number, got bool {value!r}")
    if isinstance(value, jax.core.Tracer):
        if jnp.ndim(value) != 0:
            raise ValueError(f"{name} must be a scalar, got shape {tuple(jnp.shape(value))}")
        return
    arr = _checks.as_float_array(name, value, finite=False)
    if arr.ndim != 0:
        raise ValueError(f"{name} must be a scalar, got shape {tuple(arr.shape)}")


def _check_scalar_or_schedule(name: str, value: ScalarOrSchedule) -> None:
    """A positive finite scalar, or a schedule ``k ↦ value_k`` (a callable)."""
    if callable(value):
        return
    _require_scalar(name, value)
    _checks.require_positive(name, value)


def _check_in_unit_interval(name: str, value: ScalarOrSchedule) -> None:
    """A scalar in ``[0, 1)`` (momenta, betas, decays), or a schedule."""
    if callable(value):
        return
    _require_scalar(name, value)
    _checks.require_in_range(name, value, 0.0, 1.0, high_inclusive=False)


def _check_momentum(value: ScalarOrSchedule) -> None:
    _check_in_unit_interval("momentum", value)


def _check_nonnegative_scalar(name: str, value: Any) -> None:
    """A finite scalar ``≥ 0`` (eps, weight decay)."""
    _require_scalar(name, value)
    _checks.require_nonnegative(name, value)


def _check_finite_scalar(name: str, value: Any) -> None:
    _require_scalar(name, value)
    _checks.require_finite(name, value)


def _check_positive_or_inf(name: str, value: Any) -> None:
    """A scalar ``> 0``, ``+inf`` allowed (step-size caps)."""
    _require_scalar(name, value)
    if _checks.is_concrete(value):
        v = float(value)
        if not v > 0:  # also refuses NaN
            raise ValueError(f"{name} must be positive (inf allowed), got {value!r}")


def _check_flag(name: str, value: Any) -> None:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {type(value).__name__}")


def _check_choice(name: str, value: Any, choices: tuple) -> None:
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")


def _at(value: ScalarOrSchedule, count: jax.Array) -> jax.Array:
    return value(count) if callable(value) else jnp.asarray(value)


def _key_part(v: Any) -> Any:
    """A hashable, behaviour-defining stand-in for a hyper-parameter, or raise TypeError."""
    if v is None or type(v) in (bool, int, float, str):
        return (type(v).__name__, v)
    if isinstance(v, np.generic):
        return (str(v.dtype), v.item())
    if callable(v):
        hash(v)
        return ("callable", v)
    if isinstance(v, (jax.Array, np.ndarray)) and _checks.is_concrete(v) and np.ndim(v) == 0:
        return (str(v.dtype), bool(getattr(v, "weak_type", False)), np.asarray(v).item())
    raise TypeError("not a static hyper-parameter")


def _tagged(tx: optax.GradientTransformationExtraArgs, name: str, *hyper: Any):
    """Attach a cache key ``(name, hyper…)`` to ``tx``'s functions.

    :mod:`optlab.runner` compiles its loop once per key, so ``gd(0.5)`` built twice
    reuses one compiled loop.  The key must hold *every* value the closures depend
    on; with a traced hyper-parameter (inside ``jit``/``vmap``) no key is attached.
    """
    try:
        key = (name,) + tuple(_key_part(h) for h in hyper)
    except TypeError:
        return tx
    tx.init._optlab_key = key + ("init",)
    tx.update._optlab_key = key + ("update",)
    return tx


class GDState(NamedTuple):
    """State of :func:`gd`.

    Attributes:
      count: the number of updates so far (optax's field name).
    """

    count: Int[Array, ""]  # type: ignore[assignment]  # optax's field name; shadows tuple.count


class MomentumState(NamedTuple):
    """State of :func:`heavy_ball` and :func:`nesterov`.

    Attributes:
      count: the number of updates so far (optax's field name).
      velocity: ``v_k = g_k + β v_{k−1}``, a pytree like the params.
    """

    count: Int[Array, ""]  # type: ignore[assignment]  # optax's field name; shadows tuple.count
    velocity: Any


class PolyakState(NamedTuple):
    """State of :func:`polyak`.

    Attributes:
      count: the number of updates so far (optax's field name).
      last_learning_rate: the Polyak step of the last update (0 before the first).
    """

    count: Int[Array, ""]  # type: ignore[assignment]  # optax's field name; shadows tuple.count
    last_learning_rate: jax.Array


def gd(learning_rate: ScalarOrSchedule) -> optax.GradientTransformationExtraArgs:
    """Gradient descent ``x_{k+1} = x_k − η_k ∇f(x_k)``.

    Args:
      learning_rate: ``η > 0``, or a schedule ``k ↦ η_k``.

    Returns:
      An ``optax.GradientTransformationExtraArgs`` (equal to ``optax.sgd(η)``).

    Raises:
      TypeError: ``learning_rate`` is not a real scalar or a callable.
      ValueError: ``learning_rate`` is not a positive finite scalar.
    """
    _check_scalar_or_schedule("learning_rate", learning_rate)

    def init(params):
        del params
        return GDState(count=jnp.zeros([], jnp.int32))

    def update(updates, state, params=None, **extra):
        del params, extra
        eta = _at(learning_rate, state.count)
        new = jax.tree_util.tree_map(lambda g: (-eta * g).astype(g.dtype), updates)
        return new, GDState(count=state.count + 1)

    return _tagged(optax.GradientTransformationExtraArgs(init, update), "gd", learning_rate)


def polyak(
    f_star: float = 0.0,
    *,
    max_learning_rate: float = float("inf"),
    eps: float = 0.0,
) -> optax.GradientTransformationExtraArgs:
    """Gradient descent with Polyak's step ``η_k = (f(x_k) − f*) / (‖g_k‖² + ε)``.

    Needs the optimal value ``f*`` (or a lower bound) and the current value,
    passed as ``update(..., value=f(x_k))``.  The step is capped at
    ``max_learning_rate``.  With ``max_learning_rate`` and ``eps`` set, this is
    :func:`optax.polyak_sgd`.

    Args:
      f_star: the optimal value (or a lower bound), a finite scalar.
      max_learning_rate: cap on the step, ``> 0`` (``inf``: no cap).
      eps: ``≥ 0``, added to ``‖g‖²``.

    Returns:
      An ``optax.GradientTransformationExtraArgs`` whose ``update`` needs ``value=``.

    Raises:
      TypeError: an argument is not a real scalar.
      ValueError: ``f_star`` is not finite, ``max_learning_rate ≤ 0`` or ``eps < 0``.
    """
    _check_finite_scalar("f_star", f_star)
    _check_positive_or_inf("max_learning_rate", max_learning_rate)
    _check_nonnegative_scalar("eps", eps)

    def init(params):
        del params
        return PolyakState(count=jnp.zeros([], jnp.int32), last_learning_rate=jnp.zeros([]))

    def update(updates, state, params=None, *, value=None, **extra):
        del params, extra
        _checks.require_update_value("polyak", value)
        sq_norm = sum(jnp.vdot(g, g).real for g in jax.tree_util.tree_leaves(updates))
        gap = value - f_star
        step = jnp.where(sq_norm + eps > 0, gap / (sq_norm + eps), 0.0)
        step = jnp.minimum(step, max_learning_rate)
        new = jax.tree_util.tree_map(lambda g: (-step * g).astype(g.dtype), updates)
        return new, PolyakState(count=state.count + 1, last_learning_rate=step)

    return _tagged(
        optax.GradientTransformationExtraArgs(init, update), "polyak", f_star, max_learning_rate, eps
    )


def _momentum_method(learning_rate, momentum, look_ahead: bool):
    _check_scalar_or_schedule("learning_rate", learning_rate)
    _check_momentum(momentum)

    def init(params):
        velocity = jax.tree_util.tree_map(jnp.zeros_like, params)
        return MomentumState(count=jnp.zeros([], jnp.int32), velocity=velocity)

    def update(updates, state, params=None, **extra):
        del params, extra
        eta = _at(learning_rate, state.count)
        beta = _at(momentum, state.count)
        velocity = jax.tree_util.tree_map(lambda g, v: g + beta * v, updates, state.velocity)
        if look_ahead:
            direction = jax.tree_util.tree_map(lambda g, v: g + beta * v, updates, velocity)
        else:
            direction = velocity
        new = jax.tree_util.tree_map(lambda d, g: (-eta * d).astype(g.dtype), direction, updates)
        return new, MomentumState(count=state.count + 1, velocity=velocity)

    return _tagged(
        optax.GradientTransformationExtraArgs(init, update), "momentum", learning_rate, momentum, look_ahead
    )


def heavy_ball(
    learning_rate: ScalarOrSchedule, momentum: ScalarOrSchedule = 0.9
) -> optax.GradientTransformationExtraArgs:
    """Polyak's heavy ball ``x_{k+1} = x_k − η g_k + β (x_k − x_{k−1})``.

    Written with a velocity ``v_k = g_k + β v_{k−1}`` and ``x_{k+1} = x_k − η v_k``,
    which is the same recursion for constant ``η``; it equals
    ``optax.sgd(η, momentum=β)``.  On a quadratic with ``μ ≤ ∇² f ≤ L`` the
    tuned values ``η = 4/(√L + √μ)²``, ``β = ((√κ − 1)/(√κ + 1))²`` give the rate
    ``(√κ − 1)/(√κ + 1)``.

    Args:
      learning_rate: ``η > 0`` or a schedule.
      momentum: ``β ∈ [0, 1)`` or a schedule.

    Returns:
      An ``optax.GradientTransformationExtraArgs``.

    Raises:
      TypeError: a hyper-parameter is not a real scalar or a callable.
      ValueError: ``learning_rate ≤ 0`` or ``momentum`` outside ``[0, 1)``.
    """
    return _momentum_method(learning_rate, momentum, look_ahead=False)


def nesterov(
    learning_rate: ScalarOrSchedule, momentum: ScalarOrSchedule = 0.9
) -> optax.GradientTransformationExtraArgs:
    """Nesterov's accelerated gradient, at the look-ahead points.

    The textbook form ``x_{k+1} = y_k − η ∇f(y_k)``,
    ``y_{k+1} = x_{k+1} + β (x_{k+1} − x_k)`` is equivalent to tracking
    ``y_k`` with ``v_k = g_k + β v_{k−1}`` and ``y_{k+1} = y_k − η (g_k + β v_k)``,
    where ``g_k = ∇f(y_k)``; this equals ``optax.sgd(η, momentum=β, nesterov=True)``.
    Use ``η = 1/L``, ``β = (√κ − 1)/(√κ + 1)`` for μ-strongly convex ``f``, or the
    schedule ``β_k = k/(k + 3)`` for merely convex ``f``.

    Args:
      learning_rate: ``η > 0`` or a schedule.
      momentum: ``β ∈ [0, 1)`` or a schedule.

    Returns:
      An ``optax.GradientTransformationExtraArgs``.

    Raises:
      TypeError: a hyper-parameter is not a real scalar or a callable.
      ValueError: ``learning_rate ≤ 0`` or ``momentum`` outside ``[0, 1)``.
    """
    return _momentum_method(learning_rate, momentum, look_ahead=True)
