r"""Frank–Wolfe (conditional gradient): ``s_t = lmo(∇f(x_t))``, ``x_{t+1} = x_t + γ_t(s_t − x_t)``
over a set of :mod:`optlab.constrained.sets` (chapter 11).

References: Frank & Wolfe (1956); Jaggi (2013) "Revisiting Frank–Wolfe"; Carderera,
Besançon, Pokutta (2021) "Simple steps are all you need".
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .._checks import require_int, require_static_callable
from .._types import Array, Bool, Float, Int
from ._common import _pos_scalar, _tiny, _tol, _vdot
from .sets import _require_set, _Set, _start, require_feasible

__all__ = ["FWOutput", "frank_wolfe"]


class FWOutput(NamedTuple):
    """Result of :func:`frank_wolfe`.

    Attributes:
      params: the final iterate ``x_T``.
      values: ``values[t] = f(x_t)``.
      gaps: ``gaps[t] = ⟨∇f(x_t), x_t − s_t⟩``, the Frank–Wolfe gap (an upper bound on
        ``f(x_t) − f^⋆`` for convex ``f``).
      iterates: ``(T+1, ...)``, ``x_0 … x_T``.
      converged: every value finite and the FW gap at the final iterate at most
        ``tol·max(1, |f(x_T)|)`` (a boolean array, valid under ``jit``).
      n_iters: the steps taken, ``T``.
    """

    params: jax.Array
    values: jax.Array
    gaps: jax.Array
    iterates: Float[Array, "T+1 ..."]
    converged: Bool[Array, ""]
    n_iters: Int[Array, ""]


_FW_RULES = ("open_loop", "short")


def _fw_learning_rate(learning_rate: Any) -> tuple[str, Any]:
    """``(rule, constant)`` from a rule name, a schedule ``t ↦ γ_t`` or a constant ``γ``."""
    if isinstance(learning_rate, str):
        listed = ", ".join(repr(a) for a in _FW_RULES)
        if learning_rate not in _FW_RULES:
            raise ValueError(
                f"learning_rate must be one of {listed}, a schedule t -> gamma_t or a number "
                f"in (0, 1], got {learning_rate!r}"
            )
        return learning_rate, 1.0
    if callable(learning_rate):
        try:
            hash(learning_rate)
        except TypeError:
            raise TypeError(
                "learning_rate must be hashable when it is a schedule (it is a static argument "
                f"of a jitted solver); got an unhashable {type(learning_rate).__name__}"
            ) from None
        return "schedule", 1.0
    if learning_rate is None or isinstance(learning_rate, bool):
        raise TypeError(
            "learning_rate must be 'open_loop', 'short', a schedule t -> gamma_t or a number in "
            f"(0, 1], got {type(learning_rate).__name__} {learning_rate!r}"
        )
    _pos_scalar("learning_rate", learning_rate)
    if not isinstance(learning_rate, jax.core.Tracer) and not float(np.asarray(learning_rate)) <= 1:
        raise ValueError(
            f"learning_rate must lie in (0, 1] (a convex combination keeps x feasible), got {learning_rate!r}"
        )
    return "constant", learning_rate


def frank_wolfe(
    f: Callable,
    cset: _Set,
    x0: Float[Array, "*shape"],
    *,
    num_steps: int,
    learning_rate: Any = "open_loop",
    L: float | None = None,
    tol: float = 1e-6,
) -> FWOutput:
    """Frank–Wolfe: ``s_t = lmo(∇f(x_t))``, ``x_{t+1} = x_t + γ_t(s_t − x_t)``.

    The step ``γ_t`` is chosen by ``learning_rate``: ``"open_loop"`` is
    ``γ_t = 2/(t+2)`` (no constants needed; Carderera et al. 2021); ``"short"`` is the
    short step ``γ_t = min(1, gap_t/(L‖s_t − x_t‖²))`` (needs ``L``); a callable is a
    schedule ``t ↦ γ_t`` (``t = 0, 1, …`` as a float array; values in ``[0, 1]``); a
    number is a constant ``γ ∈ (0, 1]``.
    ``x0`` must be feasible (FW never projects, so it would stay infeasible).
    Compiled once per ``(f, num_steps, rule)``, set type and shape.

    Args:
      f: the objective (a hashable callable).
      cset: a set built by this module.
      x0: a feasible start.
      num_steps: number of steps (a positive int).
      learning_rate: ``"open_loop"``, ``"short"``, a hashable schedule ``t ↦ γ_t`` or a
        number in ``(0, 1]``.
      L: smoothness constant, positive; required by ``learning_rate="short"``.
      tol: tolerance of the ``converged`` flag (non-negative).

    Returns:
      An :class:`FWOutput`.

    Raises:
      TypeError: ``learning_rate`` of the wrong type, ``f`` not callable, ``cset`` not a set, ...
      ValueError: ``learning_rate`` not among the allowed values or out of ``(0, 1]``,
        ``L`` missing or non-positive for ``"short"``, ``x0`` infeasible or non-finite.
    """
    require_static_callable("f", f)
    _require_set("cset", cset)
    require_int("num_steps", num_steps, minimum=1)
    rule, gamma = _fw_learning_rate(learning_rate)
    if rule == "short":
        if L is None:
            raise ValueError("learning_rate='short' needs the smoothness constant L (L must be positive)")
        _pos_scalar("L", L)
    else:
        L = 1.0
    _tol("tol", tol)
    x0 = _start("x0", x0, cset)
    require_feasible("x0", x0, cset)
    schedule = learning_rate if rule == "schedule" else None
    return _fw(f, cset, x0, num_steps, rule, schedule, gamma, L, tol)


@functools.partial(jax.jit, static_argnames=("f", "num_steps", "rule", "schedule"))
def _fw(f, cset, x0, num_steps, rule, schedule, gamma, L, tol):
    vg = jax.value_and_grad(f)

    def gap_at(x):
        v, g = vg(x)
        s = cset.lmo(g)
        d = s - x
        return v, d, -_vdot(g, d)

    def body(x, t):
        v, d, gap = gap_at(x)
        if rule == "open_loop":
            gamma_t = 2.0 / (t + 2.0)
        elif rule == "short":
            gamma_t = jnp.clip(gap / (L * jnp.maximum(_vdot(d, d), _tiny(x.dtype))), 0.0, 1.0)
        elif rule == "schedule":
            gamma_t = jnp.asarray(schedule(t), x.dtype)
        else:
            gamma_t = jnp.asarray(gamma, x.dtype)
        xn = x + gamma_t * d
        return xn, (v, gap, xn)

    ts = jnp.arange(num_steps, dtype=x0.dtype)
    x, (vals, gaps, xs) = jax.lax.scan(body, x0, ts)
    v_T, _, gap_T = gap_at(x)
    converged = (
        jnp.all(jnp.isfinite(vals)) & jnp.isfinite(v_T) & (gap_T <= tol * jnp.maximum(1.0, jnp.abs(v_T)))
    )
    return FWOutput(x, vals, gaps, jnp.concatenate([x0[None], xs]), converged, jnp.asarray(num_steps))
