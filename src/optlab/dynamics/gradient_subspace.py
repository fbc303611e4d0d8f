r"""How much of the gradient lies in the top Hessian eigenspace (Gur-Ari, Roberts & Dyer 2018,
"Gradient descent happens in a tiny subspace").

Notation (chapter 20).  ``L`` a loss of a parameter pytree ``θ`` with ``P`` parameters (flattened in
``ravel_pytree`` order), ``g = ∇L(θ)``, ``H = ∇²L(θ)`` with eigenvalues ``λ₁ ≥ … ≥ λ_P`` and
eigenvectors ``u_i``; ``V_k = [u₁ … u_k]`` and ``P_k = V_k V_kᵀ``.  The fraction of the gradient in
the top-``k`` eigenspace is ``‖P_k g‖²/‖g‖²``; a random ``k``-dimensional subspace holds ``k/P`` of
it on average.  The Hessian is dense (:func:`optlab.landscape.hessian_matrix`): small models only.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree

from .. import _checks
from .._types import Array, Float
from ..landscape import hessian_matrix

__all__ = ["HessianSubspace", "gradient_subspace_fraction", "gradient_fraction", "subspace_overlap"]


class HessianSubspace(NamedTuple):
    """The top-``k`` Hessian eigenspace at a point and the gradient's share of it.

    Attributes:
      fraction: ``‖P_k g‖²/‖g‖²`` (``0`` where ``g = 0``), a scalar.
      eigenvalues: ``λ₁ ≥ … ≥ λ_k``, shape ``(k,)``.
      basis: ``V_k``, orthonormal columns, shape ``(P, k)``.
      gradient: ``g`` flattened, shape ``(P,)``.
    """

    fraction: Float[Array, ""]
    eigenvalues: Float[Array, " k"]
    basis: Float[Array, "P k"]
    gradient: Float[Array, " P"]


def _fraction(g, basis):
    # region: gradient-fraction
    proj = jnp.matmul(basis.T, g, precision=jax.lax.Precision.HIGHEST)
    gg = jnp.vdot(g, g)
    return jnp.where(gg > 0, jnp.vdot(proj, proj) / jnp.where(gg > 0, gg, 1.0), 0.0)
    # endregion: gradient-fraction


@functools.partial(jax.jit, static_argnames=("loss_fn", "k"))
def _subspace(loss_fn, params, k):
    g, _ = ravel_pytree(jax.grad(loss_fn)(params))
    H = hessian_matrix(loss_fn, params)
    # region: top-eigenspace
    lam, U = jnp.linalg.eigh(H)  # ascending
    top = lam[::-1][:k]
    V = U[:, ::-1][:, :k]
    # endregion: top-eigenspace
    return HessianSubspace(_fraction(g, V), top, V, g)


def gradient_subspace_fraction(loss_fn: Callable[[Any], Array], params: Any, *, k: int) -> HessianSubspace:
    """The top-``k`` Hessian eigenspace at ``params`` and the fraction ``‖P_k g‖²/‖g‖²`` of the
    gradient in it (Gur-Ari, Roberts & Dyer 2018), from a dense Hessian.  Compiled once per
    ``loss_fn`` (static: reuse the same function object), ``k`` and parameter shapes; ``vmap``-able
    over a stack of parameters.

    Args:
      loss_fn: the scalar loss ``L`` of a parameter pytree.
      params: the point ``θ``, a pytree of finite floating arrays.
      k: the dimension ``1 ≤ k ≤ P`` of the subspace (keyword-only).

    Returns:
      A :class:`HessianSubspace` (eigenvalues descending, basis ``P × k``).

    Raises:
      TypeError: ``loss_fn`` not callable, ``params`` not floating arrays, ``k`` not an integer.
      ValueError: empty or non-finite ``params``, ``k < 1`` or ``k > P``.
    """
    leaves = _checks.require_loss_params(loss_fn, params)
    n_params = sum(int(jnp.size(leaf)) for leaf in leaves)
    _checks.require_int("k", k, minimum=1)
    if k > n_params:
        raise ValueError(f"k must be at most the number of parameters P = {n_params}, got {k}")
    return _subspace(loss_fn, params, k)


def gradient_fraction(gradient: Float[Array, " P"], basis: Float[Array, "P k"]) -> Float[Array, ""]:
    """``‖Vᵀg‖²/‖g‖²``, the fraction of ``g`` in the span of the orthonormal columns of ``V``
    (``0`` where ``g = 0``): for a random subspace, the baseline of :func:`gradient_subspace_fraction`.

    Args:
      gradient: ``g``, shape ``(P,)``.
      basis: ``V`` with orthonormal columns, shape ``(P, k)``.

    Returns:
      The fraction, a scalar in ``[0, 1]``.

    Raises:
      TypeError: non-numeric input.  ValueError: wrong dimensions, mismatched ``P``, NaN/inf.
    """
    g = _checks.as_float_array("gradient", gradient, ndim=1)
    V = _checks.as_float_array("basis", basis, ndim=2)
    if V.shape[0] != g.shape[0]:
        raise ValueError(f"basis must have {g.shape[0]} rows (the length of gradient), got shape {V.shape}")
    return _fraction(g, V)


def subspace_overlap(basis_a: Float[Array, "P k"], basis_b: Float[Array, "P k"]) -> Float[Array, ""]:
    """``‖V_aᵀV_b‖²_F / k``: ``1`` for the same ``k``-dimensional subspace, ``0`` for orthogonal
    ones, ``≈ k/P`` for two random ones.

    Args:
      basis_a, basis_b: orthonormal columns, shape ``(P, k)`` each.

    Returns:
      The overlap, a scalar in ``[0, 1]``.

    Raises:
      TypeError: non-numeric input.  ValueError: not 2-D, different shapes, NaN/inf.
    """
    A = _checks.as_float_array("basis_a", basis_a, ndim=2)
    B = _checks.as_float_array("basis_b", basis_b, ndim=2)
    _checks.require_same_shape("basis_a", A, "basis_b", B)
    # region: subspace-overlap
    M = jnp.matmul(A.T, B, precision=jax.lax.Precision.HIGHEST)
    return jnp.sum(M**2) / A.shape[1]
    # endregion: subspace-overlap
