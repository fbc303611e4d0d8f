"""The Lessard–Recht–Packard function on which the heavy ball does not converge (chapter 2)."""

from __future__ import annotations

import jax.numpy as jnp

from ..problems import Problem


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
