r"""The exact augmented Lagrangian with a randomized sketched Newton–KKT solve for
``min f(x) s.t. c(x) = 0`` (chapter 11).

Reference: Hong, Na, Mahoney, Kolar (2023) "Constrained optimization via exact augmented
Lagrangian and randomized iterative sketching".
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .._checks import is_concrete, require_int, require_key, require_shape
from .._types import Array, Bool, Float, Int, PRNGKeyArray
from ._common import _HIGHEST, _array, _check_eq_problem, _choice, _pos_scalar

__all__ = ["SketchOutput", "ExactALOutput", "sketch_solve", "exact_al_sketch", "kkt_residual"]


class SketchOutput(NamedTuple):
    """Result of :func:`sketch_solve`.

    Attributes:
      params: the approximate solution ``z``.
      n_iters: the sketching steps taken.
      converged: ``‖Kz − r‖ ≤ tol·‖r‖`` (a boolean array, valid under ``jit``).
    """

    params: jax.Array
    n_iters: Int[Array, ""]
    converged: Bool[Array, ""]


def sketch_solve(
    K: Float[Array, "N N"],
    r: Float[Array, " N"],
    *,
    tol: Any,
    key: PRNGKeyArray,
    sketch_size: int,
    num_steps: int = 2000,
) -> SketchOutput:
    """Randomized block Kaczmarz (sketch-and-project with random row blocks) for
    ``K z = r`` from ``z = 0``, until ``‖Kz − r‖ ≤ tol·‖r‖`` or ``num_steps`` steps.

    Each step projects ``z`` onto the solutions of ``K_S z = r_S`` for a random set
    ``S`` of ``sketch_size`` rows: ``z ← z − K_Sᵀ(K_S K_Sᵀ)⁻¹(K_S z − r_S)``.
    Compiled once per ``(sketch_size, num_steps)`` and shape.

    Args:
      K: square ``(N, N)`` finite matrix. r: ``(N,)`` finite right-hand side.
      tol: relative accuracy ``θ > 0`` (the stopping tolerance).
      key: a JAX PRNG key (``jax.random.key(seed)``).
      sketch_size: rows per block, ``1 ≤ q ≤ N``. num_steps: positive int, the cap.

    Returns:
      A :class:`SketchOutput` (``n_iters == num_steps`` and ``converged`` False when the
      accuracy was not reached).

    Raises:
      TypeError: an integer seed for ``key``, non-numeric arrays, non-int sizes.
      ValueError: shapes, non-finite entries, ``tol ≤ 0``, ``sketch_size`` out of range.
    """
    K = _array("K", K, ndim=2)
    N = K.shape[0]
    require_shape("K", K, (N, N))
    r = _array("r", r, ndim=1)
    require_shape("r", r, (N,))
    _pos_scalar("tol", tol)
    require_key("key", key)
    require_int("sketch_size", sketch_size, minimum=1)
    if sketch_size > N:
        raise ValueError(f"sketch_size must be at most the number of rows N = {N}, got {sketch_size}")
    require_int("num_steps", num_steps, minimum=1)
    dtype = jnp.result_type(K, r)
    z, it, conv = _sketch_solve(
        K.astype(dtype), r.astype(dtype), jnp.asarray(tol, dtype), key, sketch_size, num_steps
    )
    return SketchOutput(z, it, conv)


@functools.partial(jax.jit, static_argnames=("sketch_size", "num_steps"))
def _sketch_solve(K, r, theta, key, sketch_size, num_steps):
    N = K.shape[0]
    tol = theta * jnp.linalg.norm(r)

    def resid(z):
        return jnp.linalg.norm(jnp.matmul(K, z, precision=_HIGHEST) - r)

    def cond(st):
        z, it, _ = st
        return (resid(z) > tol) & (it < num_steps)

    def body(st):
        z, it, k = st
        k, sub = jax.random.split(k)
        rows = jax.random.permutation(sub, N)[:sketch_size]
        KS, rS = K[rows], r[rows]
        res = jnp.matmul(KS, z, precision=_HIGHEST) - rS
        z = z - jnp.matmul(
            KS.T, jnp.linalg.solve(jnp.matmul(KS, KS.T, precision=_HIGHEST), res), precision=_HIGHEST
        )
        return z, it + 1, k

    z, it, _ = jax.lax.while_loop(cond, body, (jnp.zeros_like(r), jnp.asarray(0), key))
    return z, it, resid(z) <= tol


def kkt_residual(
    f: Callable, c: Callable, x: Float[Array, " d"], lam: Float[Array, " m"]
) -> Float[Array, ""]:
    """``‖(∇ₓℒ(x, λ), c(x))‖₂`` with ``ℒ = f + λᵀc``.

    Args:
      f, c: objective and constraints (callables). x: finite 1-D point.
      lam: multipliers, a vector with one entry per constraint.

    Returns:
      The scalar KKT residual.

    Raises:
      TypeError / ValueError: naming the argument (``lam`` of the wrong length included).
    """
    x, m = _check_eq_problem(f, c, x, name="x")
    lam = _array("lam", lam, ndim=(0, 1)).astype(x.dtype)
    lam = jnp.atleast_1d(lam)
    require_shape("lam", lam, (m,))
    gx = jax.grad(lambda x: f(x) + jnp.vdot(lam, jnp.atleast_1d(c(x))))(x)
    return jnp.sqrt(jnp.sum(gx**2) + jnp.sum(jnp.atleast_1d(c(x)) ** 2))


class ExactALOutput(NamedTuple):
    """Result of :func:`exact_al_sketch`.

    Attributes:
      params: the final primal point ``x``.
      lam: the final multipliers ``λ``.
      iterates: ``(k+1, n)``, the primal iterates ``x_0 … x_k``.
      residuals: ``residuals[k]``, the KKT residual at iterate ``k`` (``k+1`` entries).
      learning_rates: ``learning_rates[k]``, the step size accepted by the line search.
      inner_num_steps: ``inner_num_steps[k]``, the sketching steps.
      accuracies: ``accuracies[k]``, the accuracy ``θ_k`` asked of the solver.
      mus: ``mus[k]``, the penalty used.
      converged: the last residual is at most ``tol`` (a Python bool: this solver runs its
        line search on the host).
      n_iters: the outer iterations taken.
    """

    params: jax.Array
    lam: jax.Array
    iterates: Float[Array, "k+1 n"]
    residuals: jax.Array
    learning_rates: jax.Array
    inner_num_steps: jax.Array
    accuracies: jax.Array
    mus: jax.Array
    converged: bool
    n_iters: int


@functools.lru_cache(maxsize=32)
def _eal_kernels(f, c, n, m, nu, q, max_inner):
    """Jitted KKT system, merit and sketching solver for :func:`exact_al_sketch`, cached
    per problem so repeated runs (several accuracies) compile once."""

    def lag(x, lam):
        return f(x) + jnp.vdot(lam, jnp.atleast_1d(c(x)))

    grad_x = jax.grad(lag, argnums=0)

    @jax.jit
    def kkt(x, lam):
        H = jax.hessian(lag, argnums=0)(x, lam)
        J = jax.jacobian(lambda x: jnp.atleast_1d(c(x)))(x)
        K = jnp.block([[H, J.T], [J, jnp.zeros((m, m), x.dtype)]])
        rhs = -jnp.concatenate([grad_x(x, lam), jnp.atleast_1d(c(x))])
        return K, rhs

    def merit(z, mu):
        x, lam = z[:n], z[n:]
        gx = grad_x(x, lam)
        cx = jnp.atleast_1d(c(x))
        return lag(x, lam) + 0.5 * mu * jnp.sum(cx**2) + 0.5 * nu * jnp.sum(gx**2)

    merit_vg = jax.jit(jax.value_and_grad(merit))
    merit_v = jax.jit(merit)

    def solve(K, r, th, k):
        return _sketch_solve(K, r, jnp.asarray(th, K.dtype), k, q, max_inner)

    return kkt, merit_vg, merit_v, solve


_EAL_ACCURACY = ("exact", "fixed", "tightening")


def exact_al_sketch(
    f: Callable,
    c: Callable,
    x0: Float[Array, " d"],
    *,
    key: PRNGKeyArray,
    lam0: Float[Array, " m"] | None = None,
    num_steps: int = 30,
    accuracy: str = "tightening",
    theta: float = 0.1,
    mu: float = 10.0,
    nu: float = 0.1,
    sketch_size: int | None = None,
    sketch_num_steps: int = 5000,
    tol: float = 1e-11,
) -> ExactALOutput:
    r"""Newton–KKT steps for ``min f s.t. c(x) = 0`` with a line search on the *exact*
    augmented Lagrangian (Hong, Na, Mahoney, Kolar 2023)

        M(x, λ) = f + λᵀc + (μ/2)‖c‖² + (ν/2)‖∇ₓℒ(x, λ)‖².

    The KKT system ``[[H, Jᵀ], [J, 0]] (Δx, Δλ) = −(∇ₓℒ, c)`` is solved by
    :func:`sketch_solve` to relative accuracy ``θ_k``: ``accuracy="exact"`` (dense
    solve), ``"fixed"`` (``θ_k = θ``) or ``"tightening"`` (``θ_k = min(θ, r_k)``, with
    ``r_k`` the KKT residual, so ``θ_k → 0``). The step starts at α = 1 and halves
    until Armijo holds on ``M`` (up to a rounding allowance); if the direction is not a descent direction of
    ``M``, μ is multiplied by 10 (up to 6 times), as in the paper's adaptive penalty.
    The outer loop runs on the host (concrete inputs only); its kernels are compiled
    once per problem. The iteration stops early if the residual becomes non-finite.

    Args:
      f, c: objective and constraints (hashable callables). x0: finite 1-D start.
      key: a JAX PRNG key. lam0: initial multipliers ``(m,)``.
      num_steps: the cap on outer iterations; sketch_num_steps: the cap on sketching
      steps per outer iteration (positive ints). accuracy: ``"exact"``, ``"fixed"`` or
      ``"tightening"``. theta: in ``(0, 1)`` (unused for ``"exact"``).
      mu, tol: positive. nu: ``ν > 0``, the weight of ``‖∇ₓℒ‖²`` in ``M``.
      sketch_size: ``1 ≤ q ≤ n + m`` (default ``(n+m)//2``).

    Returns:
      An :class:`ExactALOutput`.

    Raises:
      TypeError: an integer seed for ``key``, traced inputs, non-numeric arrays.
      ValueError: naming the argument that is out of range.
    """
    x0, m = _check_eq_problem(f, c, x0)
    if not is_concrete(x0):
        raise TypeError(
            "x0 must be concrete: exact_al_sketch runs its line search on the host "
            "and cannot be traced (call it outside jit)"
        )
    require_key("key", key)
    require_int("num_steps", num_steps, minimum=1)
    require_int("sketch_num_steps", sketch_num_steps, minimum=1)
    _pos_scalar("mu", mu)
    _pos_scalar("nu", nu)
    _pos_scalar("tol", tol)
    _choice("accuracy", accuracy, _EAL_ACCURACY)
    if accuracy != "exact":
        _pos_scalar("theta", theta)
        if not float(theta) < 1:
            raise ValueError(f"theta must lie in (0, 1), got {theta!r}")
    n = x0.shape[0]
    N = n + m
    q = sketch_size if sketch_size is not None else max(1, N // 2)
    require_int("sketch_size", q, minimum=1)
    if q > N:
        raise ValueError(f"sketch_size must be at most n + m = {N}, got {q}")
    lam = jnp.zeros(m, x0.dtype) if lam0 is None else _array("lam0", lam0, ndim=(0, 1)).astype(x0.dtype)
    lam = jnp.atleast_1d(lam)
    require_shape("lam0", lam, (m,))

    kkt, merit_vg, merit_v, solve = _eal_kernels(f, c, n, m, float(nu), int(q), int(sketch_num_steps))

    z = jnp.concatenate([x0, lam])
    mu_k = float(mu)
    res = [float(jnp.linalg.norm(kkt(z[:n], z[n:])[1]))]
    steps, inners, thetas, mus, xs = [], [], [], [], [x0]
    converged = res[0] <= tol
    for _ in range(num_steps):
        if converged or not np.isfinite(res[-1]):
            break
        K, rhs = kkt(z[:n], z[n:])
        r_k = res[-1]
        if accuracy == "exact":
            d, it, th = jnp.linalg.solve(K, rhs), 0, 0.0
        else:
            th = float(theta) if accuracy == "fixed" else min(float(theta), r_k)
            key, sub = jax.random.split(key)
            d, it, _ = solve(K, rhs, th, sub)
            it = int(it)
        for _ in range(7):
            m0, g0 = merit_vg(z, mu_k)
            slope = float(jnp.vdot(g0, d))
            if slope < 0:
                break
            mu_k *= 10.0
        if not slope < 0:  # fall back on steepest descent of the merit
            d = -g0
            slope = float(jnp.vdot(g0, d))
        a = 1.0
        # Armijo on M, with a rounding allowance of 10 ulps of |M| (near the solution the
        # decrease of M, O(r²), falls below float precision; IPOPT uses the same guard)
        slack = 10 * float(jnp.finfo(z.dtype).eps) * abs(float(m0))
        while float(merit_v(z + a * d, mu_k)) > float(m0) + 1e-4 * a * slope + slack and a > 1e-12:
            a *= 0.5
        z = z + a * d
        res.append(float(jnp.linalg.norm(kkt(z[:n], z[n:])[1])))
        steps.append(a)
        inners.append(it)
        thetas.append(th)
        mus.append(mu_k)
        xs.append(z[:n])
        converged = res[-1] <= tol
    return ExactALOutput(
        z[:n],
        z[n:],
        jnp.stack(xs),
        jnp.asarray(res),
        jnp.asarray(steps),
        jnp.asarray(inners),
        jnp.asarray(thetas),
        jnp.asarray(mus),
        bool(converged),
        len(steps),
    )
