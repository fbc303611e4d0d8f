r"""Over-parameterised matrix sensing by gradient descent (chapter 13).

Matrix sensing with identity measurements: ``f(X) = ¼‖XXᵀ − M*‖²_F``,
``X ∈ ℝ^{n×k}``, ``rank M* = r`` (Xiong, Ding & Du 2023, "How
over-parameterization slows down gradient descent in matrix sensing").
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from .._checks import (
    as_float_array,
    is_concrete,
    require_int,
    require_key,
    require_positive,
    require_shape,
)
from .._types import Array, Float, PRNGKeyArray
from ._common import _mm, _scalar

__all__ = [
    "low_rank_psd",
    "sensing_loss",
    "SensingOutput",
    "sensing_gd",
]


def low_rank_psd(n: int, eigenvalues: Sequence[float], *, key: PRNGKeyArray) -> Float[Array, "n n"]:
    """``U diag(eigenvalues) Uᵀ`` with ``U`` (``n × r``) uniformly random orthonormal.

    Args:
      n: the matrix size, ``>= 1``.
      eigenvalues: the ``r ≤ n`` positive eigenvalues.
      key: a JAX PRNG key (keyword-only).

    Returns:
      The rank-``r`` PSD matrix ``M*``, shape ``(n, n)``.

    Raises:
      TypeError: integer seed, non-integer ``n``, non-numeric eigenvalues.
      ValueError: ``n < 1``, non-positive or non-finite eigenvalues, rank above ``n``.
    """
    require_key("key", key)
    require_int("n", n, minimum=1)
    lam = as_float_array("eigenvalues", eigenvalues, ndim=1)
    require_positive("eigenvalues", lam)
    if lam.shape[0] > n:
        raise ValueError(f"rank {lam.shape[0]} exceeds n = {n}")
    Q, R = jnp.linalg.qr(jax.random.normal(key, (n, lam.shape[0]), lam.dtype))
    Q = Q * jnp.sign(jnp.diag(R))[None, :]
    return _mm(Q * lam[None, :], Q.T)


def sensing_loss(X: Float[Array, "n k"], M_star: Float[Array, "n n"]) -> Float[Array, ""]:
    """``¼‖XXᵀ − M*‖²_F``; its gradient is ``(XXᵀ − M*) X``.

    Args:
      X: the factor, ``n × k``.
      M_star: the target ``M*``, ``n × n``.

    Returns:
      The loss, a scalar.

    Raises:
      TypeError: non-numeric input. ValueError: ``X`` not 2-D, ``M_star`` not ``n × n``, NaN/inf.
    """
    X = as_float_array("X", X, ndim=2)
    M_star = as_float_array("M_star", M_star, ndim=2)
    require_shape("M_star", M_star, (X.shape[0], X.shape[0]))
    return _sensing_loss(X, M_star)


def _sensing_loss(X, M_star):
    return 0.25 * jnp.sum((_mm(X, X.T) - M_star) ** 2)


class SensingOutput(NamedTuple):
    """Result of :func:`sensing_gd` (the iterates are not recorded, only their errors).

    Attributes:
      params: the final factor ``X_T``, ``n × k``.
      errors: ``(num_steps + 1,)`` errors ``‖X_t X_tᵀ − M*‖_F`` for ``t = 0, …, num_steps``.
    """

    params: Float[Array, "n k"]  # final factor X_T
    errors: Float[Array, " num_steps+1"]  # (num_steps + 1,) ‖X_t X_tᵀ − M*‖_F for t = 0 … num_steps


def sensing_gd(
    X0: Float[Array, "n k"],
    M_star: Float[Array, "n n"],
    *,
    learning_rate: Float[ArrayLike, ""],
    num_steps: int,
) -> SensingOutput:
    """Gradient descent ``X ← X − η (XXᵀ − M*) X`` (``η = learning_rate``) on :func:`sensing_loss`
    (compiled once per shape and ``num_steps``).

    Args:
      X0: the start ``X_0``, ``n × k``.
      M_star: the symmetric target ``M*``, ``n × n``.
      learning_rate: the step ``η > 0`` (keyword-only).
      num_steps: number of steps, ``>= 1`` (keyword-only).

    Returns:
      A :class:`SensingOutput`.

    Raises:
      TypeError: non-numeric input, non-integer ``num_steps``.
      ValueError: wrong shapes, NaN/inf, asymmetric ``M_star``, ``learning_rate ≤ 0``.
    """
    X0 = as_float_array("X0", X0, ndim=2)
    M_star = as_float_array("M_star", M_star, ndim=2)
    require_shape("M_star", M_star, (X0.shape[0], X0.shape[0]))
    if is_concrete(M_star) and not np.allclose(np.asarray(M_star), np.asarray(M_star).T):
        raise ValueError("M_star must be symmetric")
    learning_rate = _scalar("learning_rate", learning_rate)
    require_positive("learning_rate", learning_rate)
    require_int("num_steps", num_steps, minimum=1)
    dt = jnp.result_type(X0, M_star)
    return _sensing_gd(X0.astype(dt), M_star.astype(dt), learning_rate.astype(dt), num_steps)


@functools.partial(jax.jit, static_argnames=("num_steps",))
def _sensing_gd(X0, M_star, learning_rate, num_steps):
    def step(X, _):
        E = _mm(X, X.T) - M_star
        return X - learning_rate * _mm(E, X), jnp.linalg.norm(E)

    X, errs = jax.lax.scan(step, X0, None, length=num_steps)
    final = jnp.linalg.norm(_mm(X, X.T) - M_star)
    return SensingOutput(X, jnp.concatenate([errs, final[None]]))
