r"""Dual ascent: auxiliary-loss-free load balancing of a mixture of experts as dual
(sub)gradient steps on the balanced-assignment LP (chapter 11).

Reference: "A theoretical framework for auxiliary-loss-free load balancing of sparse MoE" (2025).
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .._checks import is_concrete, require_int, require_shape
from .._types import Array, Bool, Float, Int
from ._common import _array, _choice, _pos_scalar, _tol

__all__ = ["LoadBalanceOutput", "load_balancing", "load_balancing_dual", "balanced_assignment_lp"]


class LoadBalanceOutput(NamedTuple):
    """Result of :func:`load_balancing`.

    Attributes:
      params: the final biases ``b_T`` (the dual variables).
      iterates: ``(T+1, E)``, ``b_0 … b_T``.
      loads: ``loads[t]``, the tokens per expert under ``b_t``.
      imbalances: ``imbalances[t] = max load / mean load``.
      duals: ``duals[t] = D(b_t)``.
      affinities: ``affinities[t] = Σ_i s_{i,e_i}`` of the routed assignment.
      converged: the scores and duals stayed finite and the last routing is balanced up to
        ``tol`` (``imbalances[-1] ≤ 1 + tol``; a boolean array, valid under ``jit``).
      n_iters: the steps taken, ``T``.
    """

    params: jax.Array
    iterates: Float[Array, "T+1 E"]
    loads: jax.Array
    imbalances: jax.Array
    duals: jax.Array
    affinities: jax.Array
    converged: Bool[Array, ""]
    n_iters: Int[Array, ""]


def _scores(scores):
    scores = _array("scores", scores, ndim=2)
    if scores.shape[1] < 2:
        raise ValueError(f"scores must have at least 2 experts (columns), got shape {tuple(scores.shape)}")
    return scores


def load_balancing_dual(scores: Float[Array, "n E"], biases: Float[Array, " E"]) -> Float[Array, ""]:
    """``D(b) = Σ_i max_e (s_ie + b_e) − (n/E) Σ_e b_e``: the Lagrangian dual of the
    balanced assignment LP; ``D(b) ≥`` LP optimum for every ``b`` (weak duality).

    Args:
      scores: ``(n, E)`` finite affinities, ``E ≥ 2``.
      biases: ``(E,)`` finite biases.

    Returns:
      The scalar ``D(b)``.

    Raises:
      ValueError: wrong shapes, empty or non-finite input. TypeError: non-numeric input.
    """
    scores = _scores(scores)
    biases = _array("biases", biases, ndim=1)
    n, E = scores.shape
    require_shape("biases", biases, (E,))
    return jnp.sum(jnp.max(scores + biases[None, :], axis=1)) - n / E * jnp.sum(biases)


_LB_RULES = ("sign", "subgradient")


def load_balancing(
    scores: Float[Array, "n E"],
    *,
    num_steps: int,
    learning_rate: float,
    rule: str = "sign",
    biases0: Float[Array, " E"] | None = None,
    tol: float = 0.1,
) -> LoadBalanceOutput:
    """Auxiliary-loss-free load balancing as dual (sub)gradient steps.

    Top-1 routing ``e_i = argmax_e (s_ie + b_e)``; the bias moves by the load
    imbalance: ``rule="sign"`` is DeepSeek's ``b_e ← b_e + u·sign(n/E − load_e)``,
    ``rule="subgradient"`` is ``b_e ← b_e + u·(n/E − load_e)``; both step along
    ``−∂D(b)`` with ``∂D/∂b_e = load_e − n/E``. Compiled once per
    ``(num_steps, rule)`` and shape.

    Args:
      scores: ``(n, E)`` finite affinities, ``E ≥ 2`` experts.
      num_steps: number of dual steps (positive int).
      learning_rate: the bias step ``u > 0``.
      rule: ``"sign"`` or ``"subgradient"``.
      biases0: initial biases ``(E,)`` (default zeros).
      tol: balance tolerance of the ``converged`` flag (non-negative).

    Returns:
      A :class:`LoadBalanceOutput`.

    Raises:
      TypeError: non-numeric arrays, a non-int ``num_steps``, a non-string ``rule``.
      ValueError: shapes, non-finite entries, non-positive ``learning_rate``, unknown ``rule``.
    """
    scores = _scores(scores)
    require_int("num_steps", num_steps, minimum=1)
    _pos_scalar("learning_rate", learning_rate)
    _choice("rule", rule, _LB_RULES)
    _tol("tol", tol)
    n, E = scores.shape
    b0 = (
        jnp.zeros(E, scores.dtype)
        if biases0 is None
        else _array("biases0", biases0, ndim=1).astype(scores.dtype)
    )
    require_shape("biases0", b0, (E,))
    return _load_balancing(scores, b0, learning_rate, tol, num_steps, rule)


@functools.partial(jax.jit, static_argnames=("num_steps", "rule"))
def _load_balancing(scores, b0, learning_rate, tol, num_steps, rule):
    n, E = scores.shape
    target = n / E

    def dual_fn(b):
        return jnp.sum(jnp.max(scores + b[None, :], axis=1)) - target * jnp.sum(b)

    def body(b, _):
        route = jnp.argmax(scores + b[None, :], axis=1)
        onehot = jax.nn.one_hot(route, E, dtype=scores.dtype)
        load = jnp.sum(onehot, axis=0)
        aff = jnp.sum(scores * onehot)
        viol = target - load
        bn = b + learning_rate * (jnp.sign(viol) if rule == "sign" else viol)
        return bn, (b, load, jnp.max(load) / target, dual_fn(b), aff)

    b, (bs, loads, imb, duals, affs) = jax.lax.scan(body, b0, None, length=num_steps)
    converged = jnp.all(jnp.isfinite(duals)) & (imb[-1] <= 1.0 + tol)
    iterates = jnp.concatenate([bs, b[None]])
    return LoadBalanceOutput(b, iterates, loads, imb, duals, affs, converged, jnp.asarray(num_steps))


def balanced_assignment_lp(scores: Float[Array, "n E"]) -> float:
    """Optimal value of ``max Σ s_ie x_ie`` s.t. ``Σ_e x_ie = 1``, ``Σ_i x_ie = n/E``,
    ``x ≥ 0`` (scipy HiGHS); the reference the dual values approach.

    Args:
      scores: ``(n, E)`` finite affinities, ``E ≥ 2`` (a concrete array: this runs on the host).

    Returns:
      The LP optimum, a Python float.

    Raises:
      ValueError: wrong shape, empty or non-finite. TypeError: non-numeric or traced input.
    """
    from scipy.optimize import linprog

    if not is_concrete(scores):
        raise TypeError(
            "scores must be a concrete array (balanced_assignment_lp solves on the "
            "host with scipy and cannot be traced)"
        )
    S = np.asarray(_scores(scores), dtype=float)
    n, E = S.shape
    A_rows = np.kron(np.eye(n), np.ones((1, E)))
    A_cols = np.kron(np.ones((1, n)), np.eye(E))
    res = linprog(
        -S.ravel(),
        A_eq=np.vstack([A_rows, A_cols]),
        b_eq=np.concatenate([np.ones(n), np.full(E, n / E)]),
        bounds=(0, None),
        method="highs",
    )
    if res.status != 0:  # pragma: no cover - the LP is always feasible and bounded
        raise RuntimeError(f"linprog failed: {res.message}")
    return float(-res.fun)
