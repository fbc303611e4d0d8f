"""Momentum methods as ODEs: their continuous-time limits, integrated (chapter 2)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from .. import _checks
from .. import runner as _runner
from .._types import Array, ArrayLike, Float
from ..first_order import (
    _require_scalar,
)
from ._common import _tmap


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
