r"""Stochastic model-based minimisation of weakly convex absolute-residual losses (chapter 18).

The objective is ``F(x) = (1/N) Σ_i |c(x; a_i, b_i)|`` with a smooth residual ``c`` (one
example ``(a_i, b_i)`` per row of ``A`` and entry of ``b``); robust phase retrieval,
``c(x; a, b) = ⟨a, x⟩² − b``, is the running example.  Each step samples one example ``i``
and minimises a *model* of ``f_i = |c(·; a_i, b_i)|`` around ``x_k`` plus ``‖y − x_k‖²/(2α)``
(Davis & Drusvyatskiy 2019, "Stochastic model-based minimization of weakly convex
functions"):

- ``subgradient``: the linear model ``f_i(x_k) + ⟨g, y − x_k⟩``, ``g = sign(c)∇c``;
- ``prox_linear``: the convex model ``|c + ⟨∇c, y − x_k⟩|`` (linearise inside the absolute
  value), whose step is ``−α clip(c/(α‖∇c‖²), −1, 1) ∇c``;
- ``proximal_point``: the function ``f_i`` itself, through a problem-specific ``sample_prox``
  (for phase retrieval an exact one-dimensional minimisation,
  :func:`phase_retrieval_sample_prox`).

The stationarity measure is the gradient of the Moreau envelope,
``∇e_λF(x) = (x − prox_{λF}(x))/λ`` for ``λ < 1/ρ`` (``F`` ``ρ``-weakly convex), computed by
:func:`composite_moreau_gradient`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp

from .._checks import is_concrete, require_int, require_key, require_static_callable
from .._types import Array, ArrayLike, Float, Int, PRNGKeyArray
from ._common import _array, _choice, _design, _scalar

__all__ = [
    "ModelBasedOutput",
    "stochastic_model_based",
    "composite_moreau_gradient",
    "absolute_residual_loss",
    "phase_retrieval_residual",
    "phase_retrieval_sample_prox",
]

MODELS = ("subgradient", "prox_linear", "proximal_point")


def _check_example(x, a, b, alpha=None) -> None:
    """Checks for the per-example kernels, skipped under tracing (inside the solvers' loops)."""
    if not is_concrete((x, a, b, alpha)):
        return
    x = _array("x", x, ndim=1)
    a = _array("a", a, ndim=1)
    if a.shape != x.shape:
        raise ValueError(f"a must have the shape of x {tuple(x.shape)}, got {tuple(a.shape)}")
    _array("b", b, ndim=0)
    if alpha is not None:
        _scalar("alpha", alpha, positive=True)


class ModelBasedOutput(NamedTuple):
    """Result of :func:`stochastic_model_based`.

    Attributes:
      params: the last iterate ``x_K``.
      values: ``values[k] = F(x_k)`` (the full objective), ``k = 0 … K``.
      iterates: ``(K+1, d)``, ``x_0 … x_K``.
      samples: ``(K,)``, the index ``i_k`` of the example sampled at step ``k``.
      learning_rates: ``(K,)``, the steps ``α_k``.
    """

    params: Float[Array, " d"]
    values: Float[Array, " K+1"]
    iterates: Float[Array, "K+1 d"]
    samples: Int[Array, " K"]
    learning_rates: Float[Array, " K"]


def phase_retrieval_residual(
    x: Float[ArrayLike, " d"], a: Float[ArrayLike, " d"], b: float
) -> Float[Array, ""]:
    """The residual of robust phase retrieval, ``c(x; a, b) = ⟨a, x⟩² − b``.

    Args:
      x: the point.
      a: one measurement vector (a row of ``A``).
      b: its measurement ``b ≈ ⟨a, x^♮⟩²``.

    Returns:
      ``⟨a, x⟩² − b``, a scalar.

    Raises:
      ValueError: ``x`` or ``a`` not finite vectors of one shape, ``b`` not a finite scalar
        (checked outside ``jit`` only).
    """
    _check_example(x, a, b)
    return jnp.dot(a, x) ** 2 - b


def phase_retrieval_sample_prox(
    x: Float[ArrayLike, " d"], a: Float[ArrayLike, " d"], b: float, alpha: float
) -> Float[Array, " d"]:
    r"""The exact proximal point of one phase-retrieval term,
    ``argmin_y |⟨a, y⟩² − b| + ‖y − x‖²/(2α)``.

    The term depends on ``y`` only through ``v = ⟨a, y⟩``, so the minimiser is
    ``x + (v − ⟨a, x⟩) a/‖a‖²`` with ``v`` minimising the one-dimensional
    ``|v² − b| + (v − v_0)²/(2β)``, ``v_0 = ⟨a, x⟩``, ``β = α‖a‖²``.  That function is
    piecewise quadratic; its global minimiser is among ``±√b`` (when ``b ≥ 0``),
    ``v_0/(1 + 2β)`` (if it lies where ``v² ≥ b``) and ``v_0/(1 − 2β)`` (if ``2β < 1`` and it lies
    where ``v² ≤ b``): the candidates are compared by value.  The term is nonconvex, so this is
    a global minimiser, which exists for every ``α > 0``.

    Args:
      x: the point ``x``.
      a: the measurement vector.
      b: the measurement.
      alpha: the step ``α > 0``.

    Returns:
      The proximal point, the shape of ``x``.

    Raises:
      ValueError: ``x`` or ``a`` not finite vectors of one shape, ``b`` not a finite scalar,
        ``alpha ≤ 0`` (checked outside ``jit`` only).
    """
    _check_example(x, a, b, alpha)
    x, a = jnp.asarray(x), jnp.asarray(a)
    bv = jnp.asarray(b, x.dtype)
    beta = jnp.asarray(alpha, x.dtype) * jnp.dot(a, a)
    aa = jnp.dot(a, a)
    v0 = jnp.dot(a, x)
    root = jnp.sqrt(jnp.maximum(bv, 0.0))
    outer = v0 / (1.0 + 2.0 * beta)  # stationary point of v² − b + (v − v0)²/(2β)
    inner_den = 1.0 - 2.0 * beta
    safe_den = jnp.where(inner_den > 0, inner_den, 1.0)
    inner = v0 / safe_den  # stationary point of b − v² + (v − v0)²/(2β), a minimum iff 2β < 1
    cands = jnp.stack([root, -root, outer, inner])
    ok = jnp.stack([bv >= 0, bv >= 0, outer**2 >= bv, (inner_den > 0) & (inner**2 <= bv)])

    def value(v):
        return jnp.abs(v * v - bv) + (v - v0) ** 2 / (2.0 * beta)

    vals = jnp.where(ok, jax.vmap(value)(cands), jnp.inf)
    v = cands[jnp.argmin(vals)]
    shift = jnp.where(aa > 0, (v - v0) / jnp.where(aa > 0, aa, 1.0), 0.0)
    return x + shift * a


def absolute_residual_loss(
    residual: Callable, A: Float[ArrayLike, "N p"], b: Float[ArrayLike, " N"], x: Float[ArrayLike, " d"]
) -> Float[Array, ""]:
    """``F(x) = (1/N) Σ_i |c(x; a_i, b_i)|``.

    Args:
      residual: ``c(x, a, b)``, a scalar.
      A: the examples' features, one row each.
      b: the examples' targets.
      x: the point.

    Returns:
      ``F(x)``, a scalar.

    Raises:
      TypeError: ``residual`` not callable/hashable.
      ValueError: bad ``A``, ``b`` or ``x`` (checked outside ``jit`` only).
    """
    if is_concrete((A, b, x)):
        require_static_callable("residual", residual)
        A, b = _design(A, b)
        x = _array("x", x, ndim=1)
    return _loss(residual, A, b, x)


def _loss(residual, A, b, x):
    return jnp.mean(jnp.abs(jax.vmap(residual, in_axes=(None, 0, 0))(jnp.asarray(x), A, b)))


def stochastic_model_based(
    residual: Callable,
    A: Float[ArrayLike, "N p"],
    b: Float[ArrayLike, " N"],
    x0: Float[ArrayLike, " d"],
    *,
    model: str,
    learning_rate: float | Callable,
    num_steps: int,
    key: PRNGKeyArray,
    sample_prox: Callable | None = None,
) -> ModelBasedOutput:
    """Run ``x_{k+1} = argmin_y f_{x_k}(y; i_k) + ‖y − x_k‖²/(2α_k)`` with ``i_k`` uniform
    on the ``N`` examples, for ``K = num_steps`` steps.  Compiled once per
    ``(residual, model, sample_prox, schedule, num_steps)`` and shape.

    Args:
      residual: ``c(x, a, b)``, a smooth scalar residual (hashable callable).
      A: ``N × p`` features, one example per row (finite).
      b: ``(N,)`` targets.
      x0: the start, a vector (finite).
      model: ``"subgradient"``, ``"prox_linear"`` or ``"proximal_point"``.
      learning_rate: a constant ``α > 0`` or a schedule ``k ↦ α_k`` (hashable callable).
      num_steps: ``K ≥ 1``.
      key: a JAX PRNG key for the samples.
      sample_prox: ``(x, a, b, α) ↦ argmin_y |c(y; a, b)| + ‖y − x‖²/(2α)``; required for
        ``"proximal_point"`` (e.g. :func:`phase_retrieval_sample_prox`).

    Returns:
      A :class:`ModelBasedOutput`.

    Raises:
      TypeError: ``residual``, ``sample_prox`` or a schedule not callable/hashable,
        ``num_steps`` not an int, ``key`` not a PRNG key.
      ValueError: bad ``A``, ``b`` or ``x0``; an unknown ``model``; ``"proximal_point"``
        without ``sample_prox``; a constant ``learning_rate ≤ 0``; ``num_steps < 1``.
    """
    require_static_callable("residual", residual)
    A, b = _design(A, b)
    x0 = _array("x0", x0, ndim=1)
    _choice("model", model, MODELS)
    require_int("num_steps", num_steps, minimum=1)
    require_key("key", key)
    if model == "proximal_point":
        if sample_prox is None:
            raise ValueError('model="proximal_point" needs sample_prox (e.g. phase_retrieval_sample_prox)')
        require_static_callable("sample_prox", sample_prox)
    if callable(learning_rate):
        require_static_callable("learning_rate", learning_rate)
        schedule, lr = learning_rate, jnp.zeros((), x0.dtype)
    else:
        schedule, lr = None, _scalar("learning_rate", learning_rate, positive=True)
    dtype = jnp.result_type(A.dtype, x0.dtype)
    return _run(
        residual,
        model,
        sample_prox,
        schedule,
        A.astype(dtype),
        b.astype(dtype),
        x0.astype(dtype),
        lr,
        key,
        num_steps,
    )


@functools.partial(jax.jit, static_argnames=("residual", "model", "sample_prox", "schedule", "num_steps"))
def _run(residual, model, sample_prox, schedule, A, b, x0, lr, key, num_steps):
    idx = jax.random.randint(key, (num_steps,), 0, A.shape[0])
    grad_c = jax.grad(residual)

    # region: model-based-step
    def step(x, a, bi, alpha):
        if model == "proximal_point":
            return sample_prox(x, a, bi, alpha)  # minimise the sampled term itself
        c, g = residual(x, a, bi), grad_c(x, a, bi)
        if model == "subgradient":
            return x - alpha * jnp.sign(c) * g  # minimise the linear model
        gg = jnp.dot(g, g)  # prox-linear: minimise |c + <g, y - x>| + |y - x|^2/(2 alpha)
        t = jnp.clip(c / (alpha * jnp.where(gg > 0, gg, 1.0)), -1.0, 1.0)
        return x - jnp.where(gg > 0, alpha * t, 0.0) * g

    # endregion: model-based-step

    def body(x, k):
        alpha = jnp.asarray(schedule(k) if schedule is not None else lr, x.dtype)
        xn = step(x, A[idx[k]], b[idx[k]], alpha)
        return xn, (xn, alpha)

    x, (xs, alphas) = jax.lax.scan(body, x0, jnp.arange(num_steps))
    xs = jnp.concatenate([x0[None], xs])
    values = jax.vmap(lambda z: _loss(residual, A, b, z))(xs)
    return ModelBasedOutput(x, values, xs, idx, alphas)


def composite_moreau_gradient(
    residual: Callable,
    A: Float[ArrayLike, "N p"],
    b: Float[ArrayLike, " N"],
    x: Float[ArrayLike, "... d"],
    *,
    scale: float,
    smoothing: float = 1e-12,
    num_stages: int = 12,
    newton_num_steps: int = 8,
) -> Float[Array, "... d"]:
    r"""The gradient of the Moreau envelope ``∇e_λF(x) = (x − prox_{λF}(x))/λ`` of
    ``F(x) = (1/N) Σ_i |c(x; a_i, b_i)|``, at one point or a batch of points.

    ``prox_{λF}(x)`` minimises ``G(y) = F(y) + ‖y − x‖²/(2λ)``, strongly convex when ``F`` is
    ``ρ``-weakly convex and ``λ < 1/ρ`` (the caller's responsibility: it is not checked).  We
    minimise ``G_s``, ``|c|`` replaced by ``√(c² + s²)`` (within ``s`` of ``|c|``, and still
    ``ρ``-weakly convex), by damped Newton steps (the best of the steps ``2^{-j}``, ``j = 0…15``),
    along ``s = 10^{-1}, 10^{-2}, …`` down to ``smoothing``.  The minimiser of ``G_s`` is within
    ``2√(s/μ)`` of ``prox_{λF}(x)``, ``μ = 1/λ − ρ``, and in practice much closer.

    Args:
      residual: ``c(x, a, b)`` (hashable callable).
      A: ``N × p`` features.
      b: ``(N,)`` targets.
      x: a point ``(d,)`` or a batch ``(B, d)``.
      scale: ``λ > 0``.
      smoothing: the last smoothing ``s > 0``.
      num_stages: the number of smoothing stages (``≥ 1``); ``s`` decreases geometrically
        from ``10^{-1}`` to ``smoothing``.
      newton_num_steps: Newton steps per stage (``≥ 1``).

    Returns:
      ``∇e_λF(x)``, the shape of ``x``.

    Raises:
      TypeError: ``residual`` not callable/hashable; ``num_stages``/``newton_num_steps`` not ints.
      ValueError: bad ``A``, ``b`` or ``x``; ``scale ≤ 0``, ``smoothing ≤ 0``; counts ``< 1``.
    """
    require_static_callable("residual", residual)
    A, b = _design(A, b)
    x = _array("x", x, ndim=(1, 2))
    lam = _scalar("scale", scale, positive=True)
    s_min = _scalar("smoothing", smoothing, positive=True)
    require_int("num_stages", num_stages, minimum=1)
    require_int("newton_num_steps", newton_num_steps, minimum=1)
    dtype = jnp.result_type(A.dtype, x.dtype)
    A, b, x = A.astype(dtype), b.astype(dtype), x.astype(dtype)
    s0 = jnp.asarray(0.1, dtype)
    ratio = (jnp.asarray(s_min, dtype) / s0) ** (1.0 / max(num_stages - 1, 1))
    smooth = (
        s0 * ratio ** jnp.arange(num_stages, dtype=dtype)
        if num_stages > 1
        else jnp.asarray(s_min, dtype)[None]
    )
    one = _moreau_one
    if x.ndim == 1:
        return one(residual, A, b, x, jnp.asarray(lam, dtype), smooth, newton_num_steps)
    return jax.vmap(one, in_axes=(None, None, None, 0, None, None, None))(
        residual, A, b, x, jnp.asarray(lam, dtype), smooth, newton_num_steps
    )


@functools.partial(jax.jit, static_argnums=(0, 6))
def _moreau_one(residual, A, b, x, lam, smooth, newton_num_steps):
    cs = jax.vmap(residual, in_axes=(None, 0, 0))

    def G(y, s):
        c = cs(y, A, b)
        return jnp.mean(jnp.sqrt(c * c + s * s)) + jnp.sum((y - x) ** 2) / (2.0 * lam)

    grad_G, hess_G = jax.grad(G), jax.hessian(G)
    steps = 0.5 ** jnp.arange(16, dtype=x.dtype)

    def newton(y, s):
        d = jnp.linalg.solve(hess_G(y, s), grad_G(y, s))
        trial = y[None] - steps[:, None] * d[None]
        vals = jax.vmap(G, in_axes=(0, None))(trial, s)
        best = jnp.argmin(vals)
        return jnp.where(vals[best] <= G(y, s), trial[best], y)

    def stage(y, s):
        y = jax.lax.fori_loop(0, newton_num_steps, lambda _, z: newton(z, s), y)
        return y, None

    y, _ = jax.lax.scan(stage, x, smooth)
    return (x - y) / lam
