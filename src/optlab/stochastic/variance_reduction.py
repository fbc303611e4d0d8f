"""Variance reduction: SVRG, SARAH and AI-SARAH (chapter 3)."""

from __future__ import annotations

import functools
from typing import Any, cast

import jax
import jax.numpy as jnp
import numpy as np

from .. import _checks
from .._types import Array, Float, Int, PRNGKeyArray
from ..problems import Problem
from ..runner import _merge  # one policy for static/dynamic parts of optimizers and problems
from ._common import (
    _FS,
    _blocked,
    _check_batch,
    _check_record,
    _check_sampling,
    _check_x0,
    _finish,
    _fs_split,
    _require_finite_sum,
    _require_key,
    _scalar,
)
from .results import StochasticTrace
from .sampling import _sample_indices

# ----------------------------------------------------------------------------
# variance reduction
# ----------------------------------------------------------------------------


def svrg_estimator(
    problem: Problem,
    x: Float[Array, " d"],
    snapshot: Float[Array, " d"],
    snapshot_grad: Float[Array, " d"],
    idx: Int[Array, " B"],
) -> Float[Array, " d"]:
    """SVRG's estimate ``v = ∇f_B(x) − ∇f_B(x̃) + ∇f(x̃)`` (unbiased: ``E_B v = ∇f(x)``).

    Args:
      problem: a finite-sum :class:`~optlab.problems.Problem`.
      x: the point ``x``, shape ``(d,)``.
      snapshot: the snapshot ``x̃``, shape ``(d,)``.
      snapshot_grad: its full gradient ``∇f(x̃)``, shape ``(d,)``.
      idx: the mini-batch ``B``, 1-D integer indices in ``[0, n)``.

    Returns:
      ``v``, shape ``(d,)``.

    Raises:
      TypeError: ``problem`` not a finite sum, non-numeric or non-integer input.
      ValueError: shapes that do not match ``(d,)``, indices outside ``[0, n)``.
    """
    if not isinstance(problem, _FS):
        _require_finite_sum(problem)
        x = _check_x0_named(problem, "x", x)
        snapshot = _check_x0_named(problem, "snapshot", snapshot)
        snapshot_grad = _check_x0_named(problem, "snapshot_grad", snapshot_grad)
        idx = _check_idx(idx, cast(int, problem.n_samples))  # _require_finite_sum checked it
    return problem.sample_grad(x, idx) - problem.sample_grad(snapshot, idx) + snapshot_grad


def _check_x0_named(problem: Problem, name: str, x: Array) -> Array:
    x = _checks.as_float_array(name, x)
    _checks.require_shape(name, x, (problem.dim,))
    return x


def _check_idx(idx: Any, n: int) -> Array:
    if isinstance(idx, jax.core.Tracer):
        if not jnp.issubdtype(idx.dtype, jnp.integer):
            raise TypeError(f"idx must hold integer indices, got dtype {idx.dtype}")
        return idx
    arr = np.asarray(jax.device_get(idx)) if not isinstance(idx, (str, type(None))) else None
    if arr is None or not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(
            f"idx must be an array of integer indices, got {type(idx).__name__}"
            + (f" of dtype {arr.dtype}" if arr is not None else "")
        )
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"idx must be a non-empty 1-D array of indices, got shape {arr.shape}")
    if np.any(arr < 0) or np.any(arr >= n):
        raise ValueError(f"idx must lie in [0, {n}), got {arr!r}")
    return jnp.asarray(arr)


def _vr_validate(problem, x0, num_epochs, inner_num_steps, batch_size, sampling, record_every, key, what):
    _require_finite_sum(problem)
    x0 = _check_x0(problem, x0)
    _checks.require_int("num_epochs", num_epochs, minimum=1)
    n = problem.n_samples
    _check_batch(batch_size, n)
    _check_sampling(sampling, n, batch_size)
    if inner_num_steps is not None:
        _checks.require_int("inner_num_steps", inner_num_steps, minimum=1)
    m = n // batch_size if inner_num_steps is None else inner_num_steps
    _check_record(record_every, m, "inner_num_steps")
    _require_key(key, what)
    return x0, m


def _vr_indices(key, n, num_epochs, m, batch_size, sampling):
    idx = _sample_indices(key, n, num_epochs * m, batch_size, sampling)
    return idx.reshape(num_epochs, m, batch_size)


def _flatten_epochs(out):
    xs, ev, en = out
    return xs.reshape((-1,) + xs.shape[2:]), ev.reshape(-1), en.reshape(-1)


_VR_STATIC = ("static", "method", "n", "num_epochs", "m", "batch_size", "sampling", "record_every")


@functools.partial(jax.jit, static_argnames=_VR_STATIC)
def _vr_jit(dynamic, x0, key, hyper, *, static, method, n, num_epochs, m, batch_size, sampling, record_every):
    value, sample_value = _merge(static, dynamic)
    problem = _FS(value, sample_value)
    idx = _vr_indices(key, n, num_epochs, m, batch_size, sampling)
    scan = {"svrg": _svrg_scan, "sarah": _sarah_scan, "ai_sarah": _ai_sarah_scan}[method]
    return scan(problem, x0, idx, hyper, n, m, batch_size, record_every)


def _run_vr(method, problem, x0, key, hyper, num_epochs, m, batch_size, sampling, record_every):
    static, dynamic = _fs_split(problem.value, problem.sample_value)
    return _vr_jit(
        dynamic,
        x0,
        key,
        hyper,
        static=static,
        method=method,
        n=problem.n_samples,
        num_epochs=num_epochs,
        m=m,
        batch_size=batch_size,
        sampling=sampling,
        record_every=record_every,
    )


def svrg(
    problem: Problem,
    x0: Float[Array, " d"],
    num_epochs: int,
    *,
    learning_rate: float,
    key: PRNGKeyArray | None = None,
    inner_num_steps: int | None = None,
    batch_size: int = 1,
    sampling: str = "replacement",
    record_every: int = 1,
) -> StochasticTrace:
    """Stochastic variance-reduced gradient (Johnson & Zhang, 2013).

    Each outer iteration (epoch) fixes a snapshot ``x̃ = x`` and its full
    gradient ``∇f(x̃)`` (``n`` evaluations), then takes ``m`` inner steps
    ``x ← x − η [∇f_B(x) − ∇f_B(x̃) + ∇f(x̃)]`` (``2b`` evaluations each).  The
    next snapshot is the last inner iterate ("option I").  The loop is
    :func:`_svrg_scan`, compiled once per (problem functions, shapes, sizes);
    ``η``, ``x0``, the key and the data are traced.

    Args:
      learning_rate: constant ``η > 0`` (``η ≈ 1/(5 L_max)`` is safe).
      inner_num_steps: ``m``, default ``n / b`` (one pass per epoch).
      batch_size, sampling: as in :func:`run_finite_sum`.
      record_every: must divide ``m``.

    Returns:
      A :class:`StochasticTrace`.

    Raises:
      TypeError, ValueError: as in :func:`run_finite_sum`; ``learning_rate`` must be a number.
    """
    _scalar("learning_rate", learning_rate)
    _checks.require_positive("learning_rate", learning_rate)
    x0, m = _vr_validate(
        problem, x0, num_epochs, inner_num_steps, batch_size, sampling, record_every, key, "svrg"
    )
    return _run_vr(
        "svrg",
        problem,
        x0,
        key,
        (jnp.asarray(learning_rate, x0.dtype),),
        num_epochs,
        m,
        batch_size,
        sampling,
        record_every,
    )


# region: stochastic-svrg-epochs
def _svrg_scan(problem, x0, idx, hyper, n, m, batch_size, record_every):
    """SVRG's epochs: snapshot and full gradient, then ``m`` variance-reduced steps."""
    (eta,) = hyper
    full_grad = jax.grad(problem.value)
    steps = jnp.arange(m)

    def epoch(x, idx_e):
        snap, mu = x, full_grad(x)

        def inner(xc, inp):
            t, i = inp
            v = svrg_estimator(problem, xc, snap, mu, i)
            evals = 2 * batch_size + jnp.where(t == 0, n, 0)
            return xc - eta * v, (evals.astype(jnp.int32), jnp.linalg.norm(v))

        return _blocked(inner, x, (steps, idx_e), m, record_every)

    _, out = jax.lax.scan(epoch, x0, idx)
    return _finish(problem, x0, *_flatten_epochs(out))
    # endregion: stochastic-svrg-epochs


def sarah(
    problem: Problem,
    x0: Float[Array, " d"],
    num_epochs: int,
    *,
    learning_rate: float,
    key: PRNGKeyArray | None = None,
    inner_num_steps: int | None = None,
    batch_size: int = 1,
    sampling: str = "replacement",
    record_every: int = 1,
) -> StochasticTrace:
    """StochAstic Recursive grAdient algoritHm (Nguyen, Liu, Scheinberg & Takáč, 2017).

    Each outer iteration starts from ``v_0 = ∇f(w_0)`` (``n`` evaluations) and
    takes ``m`` steps ``w_{t+1} = w_t − η v_t`` with the recursive, biased
    estimate ``v_t = ∇f_B(w_t) − ∇f_B(w_{t−1}) + v_{t−1}`` (``2b`` evaluations).
    The next outer iteration restarts from the last iterate ``w_m``.

    Args:
      problem: a finite-sum :class:`~optlab.problems.Problem` (``n`` components).
      x0: start ``w_0``, shape ``(d,)``, finite.
      num_epochs: number of outer iterations, ``>= 1``.
      learning_rate: constant ``η > 0`` (keyword-only).
      key: a JAX PRNG key for the mini-batches (required).
      inner_num_steps: ``m``, default ``n / b`` (one pass per outer iteration).
      batch_size: ``b ≤ n``.
      sampling: one of :data:`SAMPLING_SCHEMES`.
      record_every: record every that many inner steps; must divide ``m``.

    Returns:
      A :class:`StochasticTrace`.

    Raises:
      TypeError, ValueError: as in :func:`svrg`.
    """
    _scalar("learning_rate", learning_rate)
    _checks.require_positive("learning_rate", learning_rate)
    x0, m = _vr_validate(
        problem, x0, num_epochs, inner_num_steps, batch_size, sampling, record_every, key, "sarah"
    )
    return _run_vr(
        "sarah",
        problem,
        x0,
        key,
        (jnp.asarray(learning_rate, x0.dtype),),
        num_epochs,
        m,
        batch_size,
        sampling,
        record_every,
    )


def _sarah_scan(problem, x0, idx, hyper, n, m, batch_size, record_every):
    (eta,) = hyper
    full_grad = jax.grad(problem.value)
    steps = jnp.arange(m)

    def epoch(x, idx_e):
        v0 = full_grad(x)

        def inner(c, inp):
            t, i = inp
            w, w_prev, v = c
            v_rec = problem.sample_grad(w, i) - problem.sample_grad(w_prev, i) + v
            v = jnp.where(t == 0, v, v_rec)
            evals = jnp.where(t == 0, n, 2 * batch_size).astype(jnp.int32)
            return (w - eta * v, w, v), (evals, jnp.linalg.norm(v))

        (x_end, _, _), ((ws, _, _), ev, en) = _blocked(inner, (x, x, v0), (steps, idx_e), m, record_every)
        return x_end, (ws, ev, en)

    _, out = jax.lax.scan(epoch, x0, idx)
    return _finish(problem, x0, *_flatten_epochs(out))


def ai_sarah_step(
    problem: Problem, w: Float[Array, " d"], v: Float[Array, " d"], idx: Int[Array, " B"]
) -> tuple[Float[Array, ""], Float[Array, " d"]]:
    """AI-SARAH's implicit step: one Newton step on ``ξ(α) = ‖∇f_B(w − αv) − ∇f_B(w) + v‖²`` from ``α = 0``.

    For a quadratic batch with Hessian ``H``, ``α̃ = ⟨v, Hv⟩/‖Hv‖²``; for one
    unregularised least-squares component ``f_i = ½(aᵢᵀx − bᵢ)²`` that is ``1/‖aᵢ‖²``,
    the inverse local smoothness constant.

    Args:
      problem: a finite-sum :class:`~optlab.problems.Problem`.
      w: the current iterate, shape ``(d,)``.
      v: the current estimate, shape ``(d,)``.
      idx: the mini-batch ``B``, 1-D integer indices in ``[0, n)``.

    Returns:
      ``(α̃, ∇f_B(w))`` with ``α̃ = −ξ'(0)/|ξ''(0)|`` (a scalar) and the mini-batch gradient
      ``(d,)``.

    Raises:
      TypeError: ``problem`` not a finite sum, non-integer ``idx``.
      ValueError: ``w``/``v`` not of shape ``(d,)`` or non-finite, ``idx`` out of range.
    """
    if not isinstance(problem, _FS):
        _require_finite_sum(problem)
        w = _check_x0_named(problem, "w", w)
        v = _check_x0_named(problem, "v", v)
        idx = _check_idx(idx, cast(int, problem.n_samples))  # _require_finite_sum checked it
    g = lambda a: problem.sample_grad(w - a * v, idx)  # noqa: E731
    one = jnp.ones((), v.dtype)
    zero = jnp.zeros((), v.dtype)
    g_fn = lambda a: jax.jvp(g, (a,), (one,))  # noqa: E731
    (g0, g1), (_, g2) = jax.jvp(g_fn, (zero,), (one,))
    d1 = 2.0 * jnp.vdot(v, g1)  # ξ'(0), ≤ 0 for convex f_B
    d2 = 2.0 * (jnp.vdot(g1, g1) + jnp.vdot(v, g2))  # ξ''(0)
    alpha = -d1 / jnp.abs(d2)
    return alpha, g0


def ai_sarah(
    problem: Problem,
    x0: Float[Array, " d"],
    num_epochs: int,
    *,
    key: PRNGKeyArray | None = None,
    inner_num_steps: int | None = None,
    batch_size: int = 1,
    sampling: str = "replacement",
    gamma: float = 1.0 / 32.0,
    beta: float = 0.999,
    record_every: int = 1,
) -> StochasticTrace:
    """AI-SARAH: SARAH with an adaptive, implicit step size (Shi et al., 2023).

    At inner step ``t`` the step ``α_{t−1} = min(α̃_{t−1}, α_max)`` uses
    :func:`ai_sarah_step` on the current mini-batch; ``1/α_max`` is an
    exponential moving average (factor ``β``) of ``1/α̃`` over all steps, i.e.
    a running estimate of the local smoothness.  An outer iteration stops early
    once ``‖v_t‖² ≤ γ ‖v_0‖²`` (remaining inner steps are idle and cost
    nothing).  No learning rate to tune.

    Each active inner step is counted as ``4b`` component gradients: the two
    mini-batch gradients of SARAH plus the two directional derivatives of
    ``∇f_B`` that the Newton step needs (a conservative convention).

    Args:
      problem: a finite-sum :class:`~optlab.problems.Problem` (``n`` components).
      x0: start, shape ``(d,)``, finite.
      num_epochs: number of outer iterations, ``>= 1``.
      key: a JAX PRNG key for the mini-batches (required, keyword-only).
      inner_num_steps: ``m``, default ``n / b``.
      batch_size: ``b ≤ n``.
      sampling: one of :data:`SAMPLING_SCHEMES`.
      gamma: early-stop ratio ``γ`` in (0, 1).
      beta: EMA factor ``β`` in [0, 1).
      record_every: record every that many inner steps; must divide ``m``.

    Returns:
      A :class:`StochasticTrace`.

    Raises:
      TypeError, ValueError: as in :func:`svrg`; ``gamma`` in (0, 1), ``beta`` in [0, 1).
    """
    _scalar("gamma", gamma)
    _checks.require_in_range("gamma", gamma, 0.0, 1.0, low_inclusive=False, high_inclusive=False)
    _scalar("beta", beta)
    _checks.require_in_range("beta", beta, 0.0, 1.0, high_inclusive=False)
    x0, m = _vr_validate(
        problem, x0, num_epochs, inner_num_steps, batch_size, sampling, record_every, key, "ai_sarah"
    )
    hyper = (jnp.asarray(gamma, x0.dtype), jnp.asarray(beta, x0.dtype))
    return _run_vr("ai_sarah", problem, x0, key, hyper, num_epochs, m, batch_size, sampling, record_every)


def _ai_sarah_scan(problem, x0, idx, hyper, n, m, batch_size, record_every):
    gamma, beta = hyper
    full_grad = jax.grad(problem.value)
    steps = jnp.arange(m)
    tiny = jnp.finfo(x0.dtype).tiny

    def epoch(c, idx_e):
        x, delta, first = c
        v0 = full_grad(x)
        v0_sq = jnp.vdot(v0, v0)

        def inner(ci, inp):
            t, i = inp
            w, v, delta, first, active = ci
            alpha_t, g_w = ai_sarah_step(problem, w, v, i)
            ok = jnp.isfinite(alpha_t) & (alpha_t > tiny)
            inv = jnp.where(ok, 1.0 / jnp.where(ok, alpha_t, 1.0), delta)
            new_delta = jnp.where(first, inv, beta * delta + (1.0 - beta) * inv)
            new_delta = jnp.where(ok | ~first, new_delta, delta)
            alpha = jnp.minimum(jnp.where(ok, alpha_t, jnp.inf), 1.0 / new_delta)
            w_new = w - alpha * v
            v_new = problem.sample_grad(w_new, i) - g_w + v
            stop = jnp.vdot(v_new, v_new) <= gamma * v0_sq
            evals = jnp.where(active, 4 * batch_size, 0) + jnp.where(t == 0, n, 0)
            out_state = (
                jnp.where(active, w_new, w),
                jnp.where(active, v_new, v),
                jnp.where(active, new_delta, delta),
                first & ~active,
                active & ~stop,
            )
            return out_state, (evals.astype(jnp.int32), jnp.linalg.norm(jnp.where(active, v, 0.0)))

        init = (x, v0, delta, first, jnp.asarray(True))
        (w, _, delta, first, _), ((ws, *_), ev, en) = _blocked(inner, init, (steps, idx_e), m, record_every)
        return (w, delta, first), (ws, ev, en)

    c0 = (x0, jnp.ones((), x0.dtype), jnp.asarray(True))
    _, out = jax.lax.scan(epoch, c0, idx)
    return _finish(problem, x0, *_flatten_epochs(out))
