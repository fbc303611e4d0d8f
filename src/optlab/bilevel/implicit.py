"""Hypergradients by implicit differentiation, and custom_root (chapter 12)."""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

from .._checks import (
    require_callable,
)
from .._checks import require_positive_scalar as _pos_scalar
from .._types import Array, Float
from ._common import Loss, _check_losses, _choice, _flag, _pos_int, _theta, _vec
from .inner_problem import check_inner_hessian

# ---------------------------------------------------------------------------
# implicit differentiation
# ---------------------------------------------------------------------------


def _hvp(inner, w, theta):
    grad_w = jax.grad(inner, argnums=0)
    return lambda v: jax.jvp(lambda u: grad_w(u, theta), (w,), (v,))[1]


def _cross_vjp(inner, w, theta, q):
    """``∇²_θw g · q``: the θ-gradient of ``⟨∇_w g(w, θ), q⟩``."""
    grad_w = jax.grad(inner, argnums=0)
    return jax.grad(lambda t: jnp.vdot(grad_w(w, t), q))(theta)


def _solve(inner, w, theta, b, method, tol, num_steps, x0=None):
    """``H⁻¹ b`` by a dense solve or by CG on Hessian-vector products."""
    if method == "dense":
        return jnp.linalg.solve(jax.hessian(inner, argnums=0)(w, theta), b)
    q, _ = jax.scipy.sparse.linalg.cg(_hvp(inner, w, theta), b, x0=x0, tol=0.0, atol=tol, maxiter=num_steps)
    return q


def implicit_hypergradient(
    inner: Loss,
    outer: Loss,
    w: Float[Array, " d"],
    theta: Float[Array, "*p"],
    *,
    method: str = "dense",
    tol: float = 1e-10,
    num_steps: int = 1000,
    check: bool = True,
) -> Float[Array, "*p"]:
    """``∇F(θ) = ∇_θ f − ∇²_θw g · H⁻¹ ∇_w f`` at the inner solution ``w``.

    ``method="dense"`` forms ``H`` and solves; ``"cg"`` uses conjugate gradients on
    Hessian-vector products (absolute residual ``tol``, at most ``num_steps`` steps). With
    ``check`` (default), a singular or indefinite ``H`` raises before any compute.
    Compiled once per ``(inner, outer, method, num_steps)`` and shape.

    Args:
      inner, outer: the losses ``g(w, θ)``, ``f(w, θ)`` (hashable callables).
      w: the inner solution (finite 1-D). theta: finite scalar or 1-D.
      method: ``"dense"`` or ``"cg"``. tol: positive. num_steps: positive int (CG's cap).
      check: bool.

    Returns:
      The hypergradient, of the shape of ``theta``.

    Raises:
      ValueError: singular/indefinite Hessian (with ``check``), bad shapes or values.
      TypeError: non-callable losses, non-numeric arrays, non-string ``method``.
    """
    w = _vec("w", w)
    theta = _theta(theta)
    _check_losses(inner, outer, w, theta)
    _choice("method", method, ("dense", "cg"))
    _pos_scalar("tol", tol)
    _pos_int("num_steps", num_steps)
    _flag("check", check)
    if check:
        check_inner_hessian(inner, w, theta)
    return _implicit_jit(inner, outer, w, theta, method, tol, num_steps)


def _implicit(inner, outer, w, theta, method, tol, num_steps, q0=None):
    # region: bilevel-implicit
    gw = jax.grad(outer, argnums=0)(w, theta)  # ∇_w f
    gt = jax.grad(outer, argnums=1)(w, theta)  # ∇_θ f
    q = _solve(inner, w, theta, gw, method, tol, num_steps, q0)  # the adjoint q = H⁻¹ ∇_w f
    return gt - _cross_vjp(inner, w, theta, q)  # ∇_θ f − ∇²_θw g · q
    # endregion: bilevel-implicit


_implicit_jit = jax.jit(_implicit, static_argnames=("inner", "outer", "method", "num_steps"))


def custom_root(optimality_fn: Callable, *, method: str = "dense", tol: float = 1e-10, num_steps: int = 1000):
    """Decorator making ``solver(theta, init) -> w`` differentiable by the IFT.

    ``optimality_fn(w, θ)`` vanishes at the solution (e.g. ``∇_w g``). The
    returned function has the primal output of ``solver`` and a ``custom_vjp``:
    for a cotangent ``v`` it solves ``(∂_w F)ᵀ u = v`` and returns
    ``−(∂_θ F)ᵀ u`` (nothing flows into ``init``), as in JAXopt's
    ``custom_root`` (Blondel et al. 2022). ``solver`` itself is never
    differentiated, so it may be any loop. ``method="cg"`` solves with conjugate
    gradients on vector-Jacobian products and assumes ``∂_w F`` symmetric positive
    definite (true for ``F = ∇_w g`` at a strict minimiser); use ``"dense"`` otherwise.

    Args:
      optimality_fn: ``F(w, θ)`` (callable). method: ``"dense"`` or ``"cg"``.
      tol: positive. num_steps: positive int (the cap on CG steps).

    Returns:
      A decorator; the decorated ``solver`` must be callable.

    Raises:
      TypeError: non-callable ``optimality_fn`` or ``solver``, non-string ``method``.
      ValueError: unknown ``method``, non-positive ``tol``/``num_steps``.
    """
    require_callable("optimality_fn", optimality_fn)
    _choice("method", method, ("dense", "cg"))
    _pos_scalar("tol", tol)
    _pos_int("num_steps", num_steps)

    def wrap(solver: Callable):
        require_callable("solver", solver)

        @jax.custom_vjp
        def solved(theta, init):
            return solver(theta, init)

        def fwd(theta, init):
            w = solver(theta, init)
            return w, (w, theta, init)

        def bwd(res, v):
            w, theta, init = res
            if method == "dense":
                J = jax.jacobian(optimality_fn, argnums=0)(w, theta)
                u = jnp.linalg.solve(J.T, v)
            else:
                _, vjp_w = jax.vjp(lambda x: optimality_fn(x, theta), w)
                u, _ = jax.scipy.sparse.linalg.cg(
                    lambda z: vjp_w(z)[0], v, tol=0.0, atol=tol, maxiter=num_steps
                )
            _, vjp_t = jax.vjp(lambda t: optimality_fn(w, t), theta)
            return (
                jax.tree_util.tree_map(jnp.negative, vjp_t(u)[0]),
                jax.tree_util.tree_map(jnp.zeros_like, init),
            )

        solved.defvjp(fwd, bwd)
        return solved

    return wrap
