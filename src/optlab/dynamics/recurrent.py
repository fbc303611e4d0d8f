r"""The exploding-gradient cliff of a recurrent unit: backpropagation through time by hand, the
saddle-node bifurcation of the unit's map and the bottleneck that puts a wall in the loss.

Notation (chapter 20).  One recurrent unit ``x_t = w tanh(x_{t−1}) + b``, ``t = 1, …, T``, from
``x_0``; the loss ``ℓ(w, b) = (x_T − y)²``.  Backpropagation through time runs the adjoint
``δ_T = 1``, ``δ_{t−1} = δ_t w tanh'(x_{t−1})``, and ``∂x_T/∂b = Σ_{t=1}^T δ_t``,
``∂x_T/∂w = Σ_{t=1}^T δ_t tanh(x_{t−1})``, ``∂x_T/∂x_0 = δ_0``.  For ``w > 1`` the map
``x ↦ w tanh x + b`` has two stable fixed points for ``|b| < b_c(w)`` and loses the upper one
at the saddle-node ``b = −b_c(w)``, where ``tanh² x^* = 1 − 1/w`` (Pascanu, Mikolov & Bengio
2013, "On the difficulty of training recurrent neural networks").
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .. import _checks
from .._types import Array, Float

__all__ = [
    "RecurrentSensitivities",
    "recurrent_unit_states",
    "recurrent_unit_bptt",
    "saddle_node",
    "bottleneck_wall",
]


class RecurrentSensitivities(NamedTuple):
    """The final state of the unit and its derivatives, from backpropagation through time.

    Attributes:
      final_state: ``x_T``, a scalar.
      d_weight: ``∂x_T/∂w``, a scalar.
      d_bias: ``∂x_T/∂b``, a scalar.
      d_initial: ``∂x_T/∂x_0 = Π_{t=1}^T w tanh'(x_{t−1})``, a scalar.
    """

    final_state: Float[Array, ""]
    d_weight: Float[Array, ""]
    d_bias: Float[Array, ""]
    d_initial: Float[Array, ""]


def _real(name: str, value: Any) -> None:
    """One finite real number of any sign; traced values pass."""
    if isinstance(value, bool):
        raise TypeError(f"{name} must be a number, got bool")
    _checks.as_float_array(name, value, ndim=0)  # finite by default


def _check(weight: Any, bias: Any, x0: Any, horizon: Any) -> None:
    for name, value in (("weight", weight), ("bias", bias), ("x0", x0)):
        _real(name, value)
    _checks.require_int("horizon", horizon, minimum=1)


def _arrays(*values: Any) -> tuple[Array, ...]:
    """Python numbers and arrays alike become arrays of one float dtype: one compilation."""
    dtype = jnp.result_type(*values, float)
    return tuple(jnp.asarray(v, dtype) for v in values)


@functools.partial(jax.jit, static_argnames=("horizon",))
def _states(w, b, x0, horizon):
    def step(x, _):
        x = w * jnp.tanh(x) + b
        return x, x

    x0 = jnp.asarray(x0, jnp.result_type(w, b, x0, float))
    _, xs = jax.lax.scan(step, x0, None, length=horizon)
    return jnp.concatenate([x0[None], xs])


def recurrent_unit_states(
    weight: float | Float[Array, ""],
    bias: float | Float[Array, ""],
    x0: float | Float[Array, ""],
    *,
    horizon: int,
) -> Float[Array, " T+1"]:
    """The trajectory ``x_0, x_1, …, x_T`` of ``x_t = w tanh(x_{t−1}) + b``.

    Args:
      weight: the recurrent weight ``w``.
      bias: the bias ``b``.
      x0: the initial state ``x_0``.
      horizon: ``T ≥ 1`` (keyword-only; one compilation per ``T``).

    Returns:
      The states, shape ``(T+1,)``.

    Raises:
      TypeError: non-numeric input, a non-integer ``horizon``.
      ValueError: a non-scalar or non-finite ``weight``/``bias``/``x0``, ``horizon < 1``.
    """
    _check(weight, bias, x0, horizon)
    return _states(*_arrays(weight, bias, x0), horizon)


@functools.partial(jax.jit, static_argnames=("horizon",))
def _bptt(w, b, x0, horizon):
    xs = _states(w, b, x0, horizon)
    previous = xs[:-1]  # x_0 … x_{T−1}, the arguments of tanh at steps 1 … T

    # region: bptt
    def backward(delta, x_prev):
        # delta = δ_t = ∂x_T/∂x_t; step t contributes δ_t to ∂x_T/∂b and δ_t tanh(x_{t−1}) to ∂x_T/∂w
        contribution = (delta, delta * jnp.tanh(x_prev))
        return delta * w * (1.0 - jnp.tanh(x_prev) ** 2), contribution  # δ_{t−1} = δ_t w tanh'(x_{t−1})

    delta_0, (d_b, d_w) = jax.lax.scan(backward, jnp.ones_like(xs[-1]), previous, reverse=True)
    # endregion: bptt
    return RecurrentSensitivities(xs[-1], jnp.sum(d_w), jnp.sum(d_b), delta_0)


def recurrent_unit_bptt(
    weight: float | Float[Array, ""],
    bias: float | Float[Array, ""],
    x0: float | Float[Array, ""],
    *,
    horizon: int,
) -> RecurrentSensitivities:
    """Backpropagation through time for ``x_t = w tanh(x_{t−1}) + b``, written out: the adjoint
    ``δ_{t−1} = δ_t w tanh'(x_{t−1})`` from ``δ_T = 1``, one backward pass.

    The loss ``ℓ = (x_T − y)²`` has ``∇ℓ = 2(x_T − y)(∂x_T/∂w, ∂x_T/∂b)``.  If ``|w| < 1``,
    ``|∂x_T/∂x_0| ≤ |w|^T`` and ``|∂x_T/∂b| ≤ (1 − |w|^T)/(1 − |w|)``: the gradient vanishes in
    ``x_0`` and stays bounded in ``b``.

    Args:
      weight: the recurrent weight ``w``.
      bias: the bias ``b``.
      x0: the initial state ``x_0``.
      horizon: ``T ≥ 1`` (keyword-only; one compilation per ``T``).

    Returns:
      :class:`RecurrentSensitivities` ``(x_T, ∂x_T/∂w, ∂x_T/∂b, ∂x_T/∂x_0)``.

    Raises:
      TypeError: non-numeric input, a non-integer ``horizon``.
      ValueError: a non-scalar or non-finite ``weight``/``bias``/``x0``, ``horizon < 1``.
    """
    _check(weight, bias, x0, horizon)
    return _bptt(*_arrays(weight, bias, x0), horizon)


def saddle_node(weight: float) -> tuple[float, float]:
    """The saddle-node bifurcation of ``x ↦ w tanh x + b`` for ``w > 1``: the bias ``−b_c(w)`` at
    which the upper stable fixed point meets the unstable one and disappears, and that point
    ``x^* > 0``, where ``w tanh'(x^*) = 1``, i.e. ``tanh² x^* = 1 − 1/w``.

    For ``|b| < b_c(w) = w tanh x^* − x^*`` the map has three fixed points (two stable); by
    symmetry the lower one disappears at ``b = +b_c(w)``.

    Args:
      weight: ``w > 1``.

    Returns:
      ``(−b_c(w), x^*)`` as Python floats.

    Raises:
      TypeError: a non-numeric ``weight``.
      ValueError: ``w ≤ 1`` (the map is monotone with one fixed point), or non-finite.
    """
    _real("weight", weight)
    w = float(weight)
    if not w > 1.0:
        raise ValueError(f"weight must be greater than 1 for a saddle-node bifurcation, got {w}")
    # region: saddle-node
    x_star = float(np.arctanh(np.sqrt(1.0 - 1.0 / w)))
    bias = x_star - w * float(np.tanh(x_star))
    # endregion: saddle-node
    return bias, x_star


def bottleneck_wall(weight: float, *, horizon: int) -> float:
    """Where the wall of ``ℓ(w, ·)`` stands for a unit started above the saddle-node: the bias
    ``b_T ≈ −b_c(w) − π²/(tanh(x^*) T²)`` at which the passage through the bottleneck left by
    the vanished fixed point takes ``T`` steps.

    Near ``x^*`` the map is ``x ↦ x − ε − a(x − x^*)²`` with ``ε = −b_c(w) − b`` and
    ``a = tanh x^*``; the passage time of ``ẋ = −ε − a u²`` over the whole line is ``π/√(aε)``,
    which equals ``T`` at ``ε = π²/(aT²)``.  It is an asymptotic estimate, exact as ``T → ∞``.

    Args:
      weight: ``w > 1``.
      horizon: ``T ≥ 1`` (keyword-only).

    Returns:
      The predicted wall ``b_T`` (a Python float).

    Raises:
      TypeError: non-numeric ``weight``, a non-integer ``horizon``.
      ValueError: ``w ≤ 1``, ``horizon < 1``.
    """
    _checks.require_int("horizon", horizon, minimum=1)
    bias, x_star = saddle_node(weight)
    # region: bottleneck
    return bias - np.pi**2 / (float(np.tanh(x_star)) * horizon**2)
    # endregion: bottleneck
