r"""Max-margin token selection by one-layer attention (chapter 13).

Attention with a trainable query ``p ∈ ℝ^d`` on sequences
``X_i ∈ ℝ^{T×d}``, fixed head ``v``: ``f(X_i) = vᵀ X_iᵀ softmax(X_i p)``,
logistic loss on labels ``y_i = ±1`` (Tarzanagh, Li, Thrampoulidis & Oymak
2023, "Transformers as support vector machines").
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from .._checks import (
    as_float_array,
    is_concrete,
    require_int,
    require_positive,
    require_shape,
)
from .._types import Array, Float, Int
from ._common import _HI, _mm, _scalar

__all__ = [
    "attention_output",
    "attention_loss",
    "token_scores",
    "optimal_tokens",
    "attention_svm",
    "AttentionGDOutput",
    "attention_gd",
]


def _check_attention(X, y=None, v=None, p=None):
    X = as_float_array("X", X, ndim=3)
    if 0 in X.shape:
        raise ValueError(f"X must be a non-empty (n, T, d) array, got shape {X.shape}")
    if y is not None:
        y = as_float_array("y", y, ndim=1)
        require_shape("y", y, (X.shape[0],))
        if is_concrete(y) and not np.all(np.isin(np.asarray(y), (-1, 1))):
            raise ValueError("y must contain only -1 and +1")
        y = y.astype(X.dtype)
    if v is not None:
        v = as_float_array("v", v, ndim=1)
        require_shape("v", v, (X.shape[2],))
        v = v.astype(X.dtype)
    if p is not None:
        p = as_float_array("p", p, ndim=1)
        require_shape("p", p, (X.shape[2],))
    return X, y, v, p


def attention_output(
    p: Float[Array, " d"], X: Float[Array, "n T d"], v: Float[Array, " d"]
) -> Float[Array, " n"]:
    """``f(X_i) = vᵀ X_iᵀ softmax(X_i p)`` for every sequence (``X``: ``n × T × d``).

    Args:
      p: the query, ``(d,)``.
      X: the sequences, ``n × T × d``.
      v: the fixed head, ``(d,)``.

    Returns:
      The outputs ``f(X_i)``, shape ``(n,)``.

    Raises:
      TypeError: non-numeric input. ValueError: wrong shapes, NaN/inf.
    """
    X, _, v, p = _check_attention(X, v=v, p=p)
    return _attention_output(p, X, v)


def _attention_output(p, X, v):
    s = jax.nn.softmax(_mm(X, p), axis=-1)  # n × T
    return jnp.einsum("nt,ntd,d->n", s, X, v, precision=_HI)


def attention_loss(
    p: Float[Array, " d"], X: Float[Array, "n T d"], y: Float[Array, " n"], v: Float[Array, " d"]
) -> Float[Array, ""]:
    """Mean logistic loss ``log(1 + exp(−y_i f(X_i)))``.

    Args:
      p: the query, ``(d,)``.
      X: the sequences, ``n × T × d``.
      y: labels ``±1``, ``(n,)``.
      v: the fixed head, ``(d,)``.

    Returns:
      The mean loss, a scalar.

    Raises:
      TypeError: non-numeric input. ValueError: wrong shapes, NaN/inf, labels other than ±1.
    """
    X, y, v, p = _check_attention(X, y, v, p)
    return _attention_loss(p, X, y, v)


def _attention_loss(p, X, y, v):
    return jnp.mean(jax.nn.softplus(-y * _attention_output(p, X, v)))


def token_scores(
    X: Float[Array, "n T d"], y: Float[Array, " n"], v: Float[Array, " d"]
) -> Float[Array, "n T"]:
    """Scores ``γ_it = y_i vᵀ x_it`` (``n × T``): how much selecting token ``t`` helps.

    Args:
      X: the sequences, ``n × T × d``.
      y: labels ``±1``, ``(n,)``.
      v: the fixed head, ``(d,)``.

    Returns:
      The scores, ``n × T``.

    Raises:
      TypeError: non-numeric input.
      ValueError: wrong shapes, NaN/inf, labels other than ±1.
    """
    X, y, v, _ = _check_attention(X, y, v)
    return y[:, None] * _mm(X, v)


def optimal_tokens(
    X: Float[Array, "n T d"], y: Float[Array, " n"], v: Float[Array, " d"]
) -> Int[Array, " n"]:
    """Index of the highest-score token of each sequence (the argmax of :func:`token_scores`).

    Args:
      X: the sequences, ``n × T × d``.
      y: labels ``±1``, ``(n,)``.
      v: the fixed head, ``(d,)``.

    Returns:
      The token indices ``opt_i``, shape ``(n,)``.

    Raises:
      TypeError, ValueError: as :func:`token_scores`.
    """
    return jnp.argmax(token_scores(X, y, v), axis=1)


def attention_svm(X: Float[Array, "n T d"], opt: Int[ArrayLike, " n"]) -> Float[np.ndarray, " d"]:
    """Max-margin token selection (Att-SVM) solved with cvxpy:
    ``min ‖p‖²  s.t.  (x_{i,opt_i} − x_{it})ᵀ p ≥ 1`` for all ``i`` and ``t ≠ opt_i``.

    Args:
      X: the sequences, ``n × T × d``.
      opt: the selected token of each sequence, ``n`` integers in ``[0, T)``.

    Returns:
      The max-margin direction ``p``, shape ``(d,)`` (a NumPy array).

    Raises:
      TypeError: non-numeric ``X``, ``opt`` not integer indices.
      ValueError: wrong shapes, NaN/inf, ``opt`` out of range, or infeasible constraints (no
        direction selects every optimal token).
    """
    import cvxpy as cp

    X, _, _, _ = _check_attention(X)
    if opt is None or isinstance(opt, (str, bytes)):
        raise TypeError(f"opt must be integer token indices, got {type(opt).__name__}")
    opt = np.asarray(opt)
    n, T, d = X.shape
    if opt.shape != (n,) or not np.issubdtype(opt.dtype, np.integer):
        raise ValueError(f"opt must be {n} integer token indices, got shape {opt.shape}")
    if opt.min() < 0 or opt.max() >= T:
        raise ValueError(f"opt must lie in [0, {T - 1}]")
    Xn = np.asarray(X, dtype=float)
    rows = [Xn[i, opt[i]] - Xn[i, t] for i in range(n) for t in range(T) if t != opt[i]]
    D = np.stack(rows)
    p = cp.Variable(d)
    prob = cp.Problem(cp.Minimize(cp.sum_squares(p)), [D @ p >= 1])
    try:
        prob.solve(solver=cp.CLARABEL)
    except cp.error.SolverError:  # pragma: no cover - fallback
        prob.solve(solver=cp.SCS, eps=1e-10)
    if prob.status not in ("optimal", "optimal_inaccurate"):
        raise ValueError(f"Att-SVM is {prob.status}: no direction separates the optimal tokens")
    return np.asarray(p.value)


class AttentionGDOutput(NamedTuple):
    """Result of :func:`attention_gd`: the history is recorded every ``record_every`` steps,
    after each block (``steps = record_every, 2·record_every, …, num_steps``; the start ``p0``
    is not a row: at ``p0 = 0`` its direction is undefined).

    Attributes:
      params: the final query ``p_T``, ``(d,)``.
      steps: ``(C,)`` recorded steps.
      iterates: ``(C, d)`` queries at the recorded steps.
      losses: ``(C,)`` loss at the recorded steps.
    """

    params: Float[Array, " d"]  # final query p_T
    steps: Int[Array, " C"]  # (C,) recorded steps
    iterates: Float[Array, "C d"]  # (C, d) iterates at the recorded steps
    losses: Float[Array, " C"]  # (C,) loss at the recorded steps


def attention_gd(
    X: Float[Array, "n T d"],
    y: Float[Array, " n"],
    v: Float[Array, " d"],
    p0: Float[Array, " d"],
    *,
    learning_rate: Float[ArrayLike, ""],
    num_steps: int,
    normalized: bool = False,
    record_every: int = 10,
) -> AttentionGDOutput:
    """Gradient descent on :func:`attention_loss` over ``p``.

    ``normalized=True`` uses the normalised step ``p ← p − η ∇/‖∇‖`` (``η = learning_rate``): ``‖p‖`` then
    grows linearly, the softmax saturates and in finite precision the gradient of
    some sequences underflows to exactly 0, which bends the direction; plain GD
    (the default) is the robust choice. Compiled once per shape and
    ``(num_steps, record_every, normalized)``.

    Args:
      X: the sequences, ``n × T × d``.
      y: labels ``±1``, ``(n,)``.
      v: the fixed head, ``(d,)``.
      p0: the start, ``(d,)``.
      learning_rate: the step ``η > 0`` (keyword-only).
      num_steps: number of steps, a multiple of ``record_every`` (keyword-only).
      normalized: take normalised-gradient steps (a bool).
      record_every: steps between records, ``>= 1``.

    Returns:
      An :class:`AttentionGDOutput`.

    Raises:
      TypeError: non-numeric input, non-integer counts, non-bool ``normalized``.
      ValueError: wrong shapes, NaN/inf, labels other than ±1, ``learning_rate ≤ 0``.
    """
    X, y, v, _ = _check_attention(X, y, v)
    p0 = as_float_array("p0", p0, ndim=1)
    require_shape("p0", p0, (X.shape[2],))
    learning_rate = _scalar("learning_rate", learning_rate)
    require_positive("learning_rate", learning_rate)
    require_int("num_steps", num_steps, minimum=1)
    require_int("record_every", record_every, minimum=1)
    if not isinstance(normalized, (bool, np.bool_)):
        raise TypeError(f"normalized must be a bool, got {type(normalized).__name__}")
    if num_steps % record_every:
        raise ValueError(f"num_steps ({num_steps}) must be a multiple of record_every ({record_every})")
    return _attention_gd(
        X, y, v, p0.astype(X.dtype), learning_rate.astype(X.dtype), num_steps, bool(normalized), record_every
    )


@functools.partial(jax.jit, static_argnames=("num_steps", "normalized", "record_every"))
def _attention_gd(X, y, v, p0, learning_rate, num_steps, normalized, record_every):
    loss = lambda p: _attention_loss(p, X, y, v)  # noqa: E731
    grad = jax.grad(loss)

    def step(p, _):
        g = grad(p)
        if normalized:
            g = g / jnp.maximum(jnp.linalg.norm(g), jnp.finfo(g.dtype).tiny)
        return p - learning_rate * g, None

    def block(p, _):
        p, _ = jax.lax.scan(step, p, None, length=record_every)
        return p, (p, loss(p))

    p, (iterates, losses) = jax.lax.scan(block, p0, None, length=num_steps // record_every)
    steps = record_every * jnp.arange(1, num_steps // record_every + 1)
    return AttentionGDOutput(p, steps, iterates, losses)
