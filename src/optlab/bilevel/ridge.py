"""Ridge regression, the closed-form test problem of chapter 12."""

from __future__ import annotations

import functools

import jax.numpy as jnp

from .._checks import as_nonempty_float_array as _array  # finite, non-empty float array
from .._checks import (
    require_positive,
)
from .._types import Array, Float
from ._common import _HIGHEST, _flag

# ---------------------------------------------------------------------------
# ridge regression: the closed-form test problem
# ---------------------------------------------------------------------------


def _check_data(X_tr, y_tr, X_val, y_val):
    X_tr = _array("X_train", X_tr, ndim=2)
    y_tr = _array("y_train", y_tr, ndim=1)
    X_val = _array("X_val", X_val, ndim=2)
    y_val = _array("y_val", y_val, ndim=1)
    arrs = (X_tr, y_tr, X_val, y_val)
    if jnp.shape(y_tr)[0] != jnp.shape(X_tr)[0]:
        raise ValueError(
            f"y_train must have {jnp.shape(X_tr)[0]} entries (rows of X_train), "
            f"got shape {tuple(jnp.shape(y_tr))}"
        )
    if jnp.shape(y_val)[0] != jnp.shape(X_val)[0]:
        raise ValueError(
            f"y_val must have {jnp.shape(X_val)[0]} entries (rows of X_val), "
            f"got shape {tuple(jnp.shape(y_val))}"
        )
    if jnp.shape(X_val)[1] != jnp.shape(X_tr)[1]:
        raise ValueError(
            f"X_val must have {jnp.shape(X_tr)[1]} columns like X_train, got shape {tuple(jnp.shape(X_val))}"
        )
    dtype = jnp.result_type(*arrs)
    return tuple(a.astype(dtype) for a in arrs)


def _lam(lam, d, dtype):
    """A positive ridge parameter: a scalar or one value per feature (``(d,)``)."""
    lam_a = _array("lam", lam, ndim=(0, 1))
    if lam_a.ndim == 1 and lam_a.shape[0] != d:
        raise ValueError(
            f"lam must be a scalar or have shape ({d},) (one value per feature), "
            f"got shape {tuple(lam_a.shape)}"
        )
    require_positive("lam", lam)
    return lam_a.astype(dtype)


def ridge_losses(
    X_train: Float[Array, "n d"],
    y_train: Float[Array, " n"],
    X_val: Float[Array, "n_val d"],
    y_val: Float[Array, " n_val"],
    *,
    log_lambda: bool = False,
):
    """``(inner, outer)`` for ridge hyperparameter learning.

    ``g(w, λ) = ½‖X_tr w − y_tr‖² + ½ Σ_i λ_i w_i²`` (``λ`` a scalar or one
    value per feature) and ``f(w, λ) = ½‖X_val w − y_val‖²``.  With
    ``log_lambda=True`` the hyperparameter is ``θ = log λ``.

    Args:
      X_train: ``(n, d)``. y_train: ``(n,)``. X_val: ``(n_val, d)``. y_val: ``(n_val,)``
        (finite; lists and integer arrays converted). log_lambda: bool.

    Returns:
      ``(inner, outer)``, two functions of ``(w, θ)``.

    Raises:
      ValueError: wrong or mismatched shapes, empty or non-finite data.
      TypeError: non-numeric data, a non-bool ``log_lambda``.
    """
    X_tr, y_tr, X_val, y_val = _check_data(X_train, y_train, X_val, y_val)
    _flag("log_lambda", log_lambda)

    def lam_of(theta):
        return jnp.exp(theta) if log_lambda else theta

    def inner(w, theta):
        r = X_tr @ w - y_tr
        return 0.5 * jnp.dot(r, r) + 0.5 * jnp.sum(lam_of(theta) * w * w)

    def outer(w, theta):
        r = X_val @ w - y_val
        return 0.5 * jnp.dot(r, r)

    return inner, outer


def ridge_solution(
    X_train: Float[Array, "n d"], y_train: Float[Array, " n"], lam: Float[Array, ""] | Float[Array, " d"]
) -> Float[Array, " d"]:
    """``w*(λ) = (X_trᵀX_tr + diag(λ))⁻¹ X_trᵀ y_tr`` by a dense solve.

    Args:
      X_train: ``(n, d)``. y_train: ``(n,)``. lam: positive scalar or ``(d,)``.

    Returns:
      ``(d,)`` ridge solution.

    Raises:
      ValueError: shapes, non-finite or empty data, non-positive ``lam``.
      TypeError: non-numeric input.
    """
    X = _array("X_train", X_train, ndim=2)
    y = _array("y_train", y_train, ndim=1).astype(X.dtype)
    if y.shape[0] != X.shape[0]:
        raise ValueError(
            f"y_train must have {X.shape[0]} entries (rows of X_train), got shape {tuple(y.shape)}"
        )
    d = X.shape[1]
    lam = _lam(lam, d, X.dtype)
    hp = functools.partial(jnp.matmul, precision=_HIGHEST)
    A = hp(X.T, X) + jnp.diag(jnp.broadcast_to(lam, (d,)))
    return jnp.linalg.solve(A, hp(X.T, y))


def ridge_hypergradient(
    X_train: Float[Array, "n d"],
    y_train: Float[Array, " n"],
    X_val: Float[Array, "n_val d"],
    y_val: Float[Array, " n_val"],
    lam: Float[Array, ""] | Float[Array, " d"],
) -> Float[Array, "*d"]:
    """Closed-form ``dF/dλ`` for :func:`ridge_losses` (shape of ``lam``).

    Differentiating ``(A + Λ) w* = X_trᵀy`` gives ``∂w*/∂λ_i = −(A+Λ)⁻¹ e_i w*_i``,
    so ``∇F = −w* ⊙ (A+Λ)⁻¹ X_valᵀ(X_val w* − y_val)`` (summed for a scalar λ).

    Args:
      X_train, y_train, X_val, y_val: as in :func:`ridge_losses`.
      lam: positive scalar or ``(d,)``.

    Returns:
      The hypergradient, of the shape of ``lam``.

    Raises:
      ValueError / TypeError: naming the argument.
    """
    X_tr, y_tr, X_val, y_val = _check_data(X_train, y_train, X_val, y_val)
    d = X_tr.shape[1]
    lam = _lam(lam, d, X_tr.dtype)
    hp = functools.partial(jnp.matmul, precision=_HIGHEST)
    A = hp(X_tr.T, X_tr) + jnp.diag(jnp.broadcast_to(lam, (d,)))
    w = jnp.linalg.solve(A, hp(X_tr.T, y_tr))
    q = jnp.linalg.solve(A, hp(X_val.T, hp(X_val, w) - y_val))
    g = -w * q
    return jnp.sum(g) if lam.ndim == 0 else g
