"""The online problem of Reddi, Kale and Kumar on which Adam does not converge (chapter 4)."""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from .. import _checks
from .. import runner as _runner
from .._types import Array, Float
from ..first_order import (
    _require_scalar,
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
