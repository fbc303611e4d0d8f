"""Stochastic and variance-reduced methods for finite sums (Chapter 3).

Notation of the chapter: ``f(x) = (1/n) Σ_i f_i(x)``, step ``η``
(``learning_rate``), mini-batch ``B`` of size ``b``, gradient estimate ``v_k``.

Two kinds of routine live here.

*Per-step transformations*, optax-compatible (they chain with any optax
transformation and run in :func:`optlab.runner.run` or :func:`run_finite_sum`):

- :func:`clip` / :func:`clipped_sgd`: ``x ← x − η clip_c(g)``,
  ``clip_c(g) = min(1, c/‖g‖) g`` (Koloskova et al., 2023);
- schedules :func:`linear_decay`, :func:`inverse_time` and
  :func:`refined_schedule` (Defazio et al., 2023), plain callables
  ``k ↦ η_k`` usable by optax and by :func:`optlab.first_order.gd`.

*Finite-sum methods*, pure functions that run inside ``lax.scan`` with an
explicit PRNG key and return a :class:`StochasticTrace` (iterates, exact
``f`` values and gradient norms, and the cumulative number of component
gradients ``∇f_i`` evaluated, so plots can use passes over the data on the
x-axis):

- :func:`run_finite_sum`: any optax transformation fed mini-batch gradients,
  with indices drawn with replacement, by random reshuffling, a single
  shuffle, or cyclically (:func:`sample_indices`);
- :func:`svrg` (Johnson & Zhang, 2013), :func:`sarah` (Nguyen et al., 2017),
  :func:`ai_sarah` (Shi et al., 2023);
- :func:`run_additive_noise`: ``g = ∇f(x) + ξ`` with ``ξ`` from
  :func:`gaussian_noise`, :func:`student_t_noise`, :func:`pareto_noise` (heavy tails) or
  :func:`discrete_noise` (skewed), for the clipping-bias experiments.

:func:`sgd_noise_floor` gives the exact stationary ``E[f(x) − f*]`` of
constant-step SGD on a quadratic finite sum; :func:`over_seeds` runs any of
the above for a batch of keys in one compiled call.
"""

from __future__ import annotations

import math
from typing import Any, Callable, NamedTuple, Optional, Sequence, Union

import jax
import jax.numpy as jnp
import numpy as np
import optax

from . import _checks
from .first_order import gd
from .problems import Problem

__all__ = [
    "StochasticTrace",
    "NoiseFloor",
    "SAMPLING_SCHEMES",
    "sample_indices",
    "clip_by_norm",
    "clip",
    "clipped_sgd",
    "linear_decay",
    "inverse_time",
    "refined_weights",
    "refined_schedule",
    "run_finite_sum",
    "svrg_estimator",
    "svrg",
    "sarah",
    "ai_sarah",
    "ai_sarah_step",
    "gaussian_noise",
    "student_t_noise",
    "pareto_noise",
    "discrete_noise",
    "run_additive_noise",
    "sgd_noise_floor",
    "over_seeds",
]

Array = Any
Schedule = Callable[[jax.Array], jax.Array]
ScalarOrSchedule = Union[float, jax.Array, Schedule]

SAMPLING_SCHEMES = ("replacement", "reshuffle", "single_shuffle", "cyclic")


class StochasticTrace(NamedTuple):
    """A stochastic run, recorded every ``record_every`` steps (``R + 1`` rows, ``x_0`` first).

    Attributes:
      params: recorded iterates, shape ``(R + 1, d)``.
      values: exact objective values ``f(x)`` at those iterates, ``(R + 1,)``.
      grad_norms: exact gradient norms ``‖∇f(x)‖``, ``(R + 1,)``.
      grad_evals: cumulative number of component gradients ``∇f_i`` evaluated
        to reach each recorded iterate, ``(R + 1,)`` (``0`` at ``x_0``; a full
        gradient counts ``n``).  Divide by ``n`` for passes over the data.
      estimate_norms: ``‖v‖`` of the gradient estimate used in the last step of
        each recorded block, ``(R,)``.
    """

    params: Array
    values: Array
    grad_norms: Array
    grad_evals: Array
    estimate_norms: Array

    def suboptimality(self, f_star: float) -> Array:
        """``f(x) − f*`` along the run."""
        return self.values - f_star

    def distances(self, x_star: Array) -> Array:
        """``‖x − x*‖`` along the run."""
        return jnp.linalg.norm(self.params - x_star, axis=-1)


# ----------------------------------------------------------------------------
# validation helpers
# ----------------------------------------------------------------------------


def _require_key(key: Any, what: str) -> None:
    if key is None:
        raise ValueError(f"{what} is stochastic and needs an explicit PRNG key: pass key=jax.random.key(0)")


def _require_finite_sum(problem: Any) -> None:
    if not isinstance(problem, Problem):
        raise TypeError(f"problem must be an optlab.problems.Problem, got {type(problem).__name__}")
    if problem.n_samples is None or problem.sample_value is None:
        raise ValueError(f"problem {problem.name!r} is not a finite sum (no sample_value)")


def _check_x0(problem: Problem, x0: Array) -> Array:
    x0 = jnp.asarray(x0)
    _checks.require_shape("x0", x0, (problem.dim,))
    _checks.require_finite("x0", x0)
    if not jnp.issubdtype(x0.dtype, jnp.floating):
        x0 = x0.astype(jnp.result_type(float))
    return x0


def _check_batch(batch_size: int, n: int) -> None:
    _checks.require_int("batch_size", batch_size, minimum=1)
    if batch_size > n:
        raise ValueError(f"batch_size={batch_size} exceeds the number of samples n={n}")


def _check_sampling(sampling: str, n: int, batch_size: int) -> None:
    if sampling not in SAMPLING_SCHEMES:
        raise ValueError(f"sampling must be one of {SAMPLING_SCHEMES}, got {sampling!r}")
    if sampling != "replacement" and n % batch_size:
        raise ValueError(
            f"sampling={sampling!r} needs batch_size to divide n, got n={n}, batch_size={batch_size}"
        )


def _check_step(name: str, value: ScalarOrSchedule) -> None:
    if callable(value):
        return
    _checks.require_positive(name, value)


def _at(value: ScalarOrSchedule, count: jax.Array) -> jax.Array:
    return value(count) if callable(value) else jnp.asarray(value)


# ----------------------------------------------------------------------------
# sampling
# ----------------------------------------------------------------------------


def sample_indices(
    key: Array,
    n: int,
    num_steps: int,
    batch_size: int = 1,
    sampling: str = "replacement",
) -> jax.Array:
    """Component indices for ``num_steps`` mini-batch steps, shape ``(num_steps, batch_size)``.

    - ``"replacement"``: every index i.i.d. uniform on ``{0, …, n−1}``;
    - ``"reshuffle"`` (random reshuffling): a fresh uniform permutation per
      epoch of ``n / b`` steps, so every index is used exactly once per epoch;
    - ``"single_shuffle"``: one permutation, reused every epoch;
    - ``"cyclic"``: the order ``0, 1, …, n−1`` every epoch.
    """
    _require_key(key, "sample_indices")
    _checks.require_int("n", n, minimum=1)
    _checks.require_int("num_steps", num_steps, minimum=1)
    _check_batch(batch_size, n)
    _check_sampling(sampling, n, batch_size)
    if sampling == "replacement":
        return jax.random.randint(key, (num_steps, batch_size), 0, n)
    per_epoch = n // batch_size
    num_epochs = -(-num_steps // per_epoch)
    if sampling == "reshuffle":
        perms = jax.vmap(lambda k: jax.random.permutation(k, n))(jax.random.split(key, num_epochs))
    elif sampling == "single_shuffle":
        perms = jnp.tile(jax.random.permutation(key, n), (num_epochs, 1))
    else:
        perms = jnp.tile(jnp.arange(n), (num_epochs, 1))
    return perms.reshape(num_epochs * per_epoch, batch_size)[:num_steps].astype(jnp.int32)


# ----------------------------------------------------------------------------
# clipping and schedules (optax-compatible)
# ----------------------------------------------------------------------------


def clip_by_norm(g: Array, clip_norm: Array) -> Array:
    """``clip_c(g) = min(1, c/‖g‖) g`` for a pytree ``g`` (global Euclidean norm).

    Leaves ``g`` unchanged when ``‖g‖ ≤ c``; otherwise rescales it to norm ``c``.
    """
    norm = optax.tree_utils.tree_norm(g)
    below = norm <= clip_norm
    scale = clip_norm / jnp.where(below, 1.0, norm)
    return jax.tree_util.tree_map(lambda t: jnp.where(below, t, (scale * t).astype(t.dtype)), g)


def clip(clip_norm: float) -> optax.GradientTransformationExtraArgs:
    """Stateless transformation ``g ↦ clip_c(g)``; equals ``optax.clip_by_global_norm(c)``."""
    _checks.require_positive("clip_norm", clip_norm)

    def init(params):
        del params
        return optax.EmptyState()

    def update(updates, state, params=None, **extra):
        del params, extra
        return clip_by_norm(updates, clip_norm), state

    return optax.GradientTransformationExtraArgs(init, update)


def clipped_sgd(learning_rate: ScalarOrSchedule, clip_norm: float) -> optax.GradientTransformationExtraArgs:
    """Clipped (S)GD ``x_{k+1} = x_k − η_k clip_c(g_k)`` (Koloskova, Hendrikx & Stich, 2023).

    Equal to ``optax.chain(optax.clip_by_global_norm(c), optax.sgd(η))``.
    """
    _check_step("learning_rate", learning_rate)
    _checks.require_positive("clip_norm", clip_norm)
    return optax.chain(clip(clip_norm), gd(learning_rate))


def linear_decay(peak: float, num_steps: int) -> Schedule:
    """``η_k = peak · (1 − k/T)`` for ``k < T``, then ``0``; equals ``optax.linear_schedule(peak, 0, T)``.

    The worst-case optimal schedule for the last iterate (Defazio et al., 2023).
    """
    _checks.require_positive("peak", peak)
    _checks.require_int("num_steps", num_steps, minimum=1)

    def schedule(count):
        frac = jnp.clip(jnp.asarray(count) / num_steps, 0.0, 1.0)
        return peak * (1.0 - frac)

    return schedule


def inverse_time(init: float, decay_steps: float) -> Schedule:
    """``η_k = η_0 / (1 + k/k_0)``: the ``O(1/k)`` schedule for strongly convex SGD."""
    _checks.require_positive("init", init)
    _checks.require_positive("decay_steps", decay_steps)

    def schedule(count):
        return init / (1.0 + jnp.asarray(count) / decay_steps)

    return schedule


def refined_weights(grad_norms: Array, *, smoothing: int = 1) -> jax.Array:
    """Schedule shape refined from observed gradient norms (Defazio et al., 2023).

    ``w_t = ‖g_t‖⁻² Σ_{p>t} ‖g_p‖²``, normalised to ``max_t w_t = 1``.  With
    constant norms this is exactly the linear decay ``∝ T − 1 − t``; norms that
    fall early give a warm-up.  ``smoothing > 1`` first replaces the norms by a
    centred moving average over that many steps (edges padded by repetition).
    """
    g = jnp.asarray(grad_norms)
    _checks.require_ndim("grad_norms", g, 1)
    _checks.require_int("smoothing", smoothing, minimum=1)
    if g.shape[0] < 2:
        raise ValueError(f"grad_norms needs at least 2 entries, got {g.shape[0]}")
    _checks.require_positive("grad_norms", g)
    if smoothing > 1:
        left = (smoothing - 1) // 2
        padded = jnp.concatenate([jnp.full(left, g[0]), g, jnp.full(smoothing - 1 - left, g[-1])])
        g = jnp.convolve(padded, jnp.ones(smoothing) / smoothing, mode="valid")
    sq = g**2
    tail = jnp.cumsum(sq[::-1])[::-1] - sq  # Σ_{p>t} ‖g_p‖²
    w = tail / sq
    return w / jnp.max(w)


def refined_schedule(grad_norms: Array, peak: float, *, smoothing: int = 1) -> Schedule:
    """``k ↦ peak · w_k`` with ``w`` from :func:`refined_weights` (``0`` after the horizon)."""
    _checks.require_positive("peak", peak)
    w = refined_weights(grad_norms, smoothing=smoothing)
    T = w.shape[0]

    def schedule(count):
        count = jnp.asarray(count)
        return jnp.where(count < T, peak * w[jnp.clip(count, 0, T - 1)], 0.0)

    return schedule


# ----------------------------------------------------------------------------
# scan machinery
# ----------------------------------------------------------------------------


def _blocked(step_fn, carry, xs, num_steps: int, record_every: int, first_extra=None):
    """Scan ``step_fn`` over ``xs`` (leading axis ``num_steps``), recording every ``record_every``.

    ``step_fn(carry, x) -> (carry, (evals, est_norm))``; returns the final carry
    and per-block ``(carry_at_block_end, evals_in_block, last_est_norm)``.
    """
    nb = num_steps // record_every
    xs_b = jax.tree_util.tree_map(lambda a: a.reshape((nb, record_every) + a.shape[1:]), xs)

    def block(c, xb):
        c, (ev, en) = jax.lax.scan(step_fn, c, xb)
        return c, (c, jnp.sum(ev), en[-1])

    return jax.lax.scan(block, carry, xs_b)


def _check_record(record_every: int, num_steps: int, what: str = "num_steps") -> None:
    _checks.require_int("record_every", record_every, minimum=1)
    if num_steps % record_every:
        raise ValueError(f"record_every={record_every} must divide {what}={num_steps}")


def _finish(problem: Problem, x0: Array, xs: Array, evals: Array, est: Array) -> StochasticTrace:
    """Assemble a trace: prepend ``x_0`` and evaluate exact ``f`` and ``‖∇f‖``."""
    params = jnp.concatenate([x0[None], xs])
    vg = jax.vmap(jax.value_and_grad(problem.value))
    values, grads = vg(params)
    counts = jnp.concatenate([jnp.zeros((1,), evals.dtype), jnp.cumsum(evals)])
    return StochasticTrace(
        params=params,
        values=values,
        grad_norms=jnp.linalg.norm(grads, axis=-1),
        grad_evals=counts,
        estimate_norms=est,
    )


# ----------------------------------------------------------------------------
# SGD on finite sums with any optax transformation
# ----------------------------------------------------------------------------


def run_finite_sum(
    optimizer: optax.GradientTransformation,
    problem: Problem,
    x0: Array,
    num_steps: int,
    *,
    key: Optional[Array] = None,
    batch_size: int = 1,
    sampling: str = "replacement",
    record_every: int = 1,
) -> StochasticTrace:
    """Mini-batch SGD-type run: ``optimizer`` fed ``g_k = (1/b) Σ_{i∈B_k} ∇f_i(x_k)``.

    Indices come from :func:`sample_indices` (with replacement, random
    reshuffling, single shuffle or cyclic); ``optimizer`` is any optax
    transformation, called as ``update(g, state, x, value=f_B(x))``.  Each
    step costs ``b`` component gradients.

    Args:
      optimizer: e.g. ``optlab.first_order.gd(0.1)``, :func:`clipped_sgd`,
        ``optax.sgd(linear_decay(0.5, T))``.
      problem: a finite sum (``least_squares``, ``logistic_regression``).
      x0: start, shape ``(d,)``, finite.
      num_steps: number of steps ``N``.
      key: PRNG key (required).
      batch_size: ``b ≤ n``.
      sampling: one of :data:`SAMPLING_SCHEMES`.
      record_every: record the iterate every that many steps (must divide ``N``).
    """
    _require_finite_sum(problem)
    x0 = _check_x0(problem, x0)
    _checks.require_int("num_steps", num_steps, minimum=1)
    _check_batch(batch_size, problem.n_samples)
    _check_sampling(sampling, problem.n_samples, batch_size)
    _check_record(record_every, num_steps)
    _require_key(key, "run_finite_sum")
    optimizer = optax.with_extra_args_support(optimizer)
    idx = sample_indices(key, problem.n_samples, num_steps, batch_size, sampling)
    sample_vg = jax.value_and_grad(problem.sample_value)

    def step(carry, i):
        x, state = carry
        val, g = sample_vg(x, i)
        updates, state = optimizer.update(g, state, x, value=val)
        x = optax.apply_updates(x, updates)
        return (x, state), (jnp.asarray(batch_size, jnp.int32), jnp.linalg.norm(g))

    _, ((xs, _), ev, en) = _blocked(step, (x0, optimizer.init(x0)), idx, num_steps, record_every)
    return _finish(problem, x0, xs, ev, en)


# ----------------------------------------------------------------------------
# variance reduction
# ----------------------------------------------------------------------------


def svrg_estimator(problem: Problem, x: Array, snapshot: Array, snapshot_grad: Array, idx: Array) -> Array:
    """SVRG's estimate ``v = ∇f_B(x) − ∇f_B(x̃) + ∇f(x̃)`` (unbiased: ``E_B v = ∇f(x)``)."""
    return problem.sample_grad(x, idx) - problem.sample_grad(snapshot, idx) + snapshot_grad


def _vr_setup(problem, x0, num_epochs, inner_steps, batch_size, sampling, record_every, key, what):
    _require_finite_sum(problem)
    x0 = _check_x0(problem, x0)
    _checks.require_int("num_epochs", num_epochs, minimum=1)
    n = problem.n_samples
    _check_batch(batch_size, n)
    _check_sampling(sampling, n, batch_size)
    m = n // batch_size if inner_steps is None else inner_steps
    _checks.require_int("inner_steps", m, minimum=1)
    _check_record(record_every, m, "inner_steps")
    _require_key(key, what)
    idx = sample_indices(key, n, num_epochs * m, batch_size, sampling)
    return x0, n, m, idx.reshape(num_epochs, m, batch_size)


def _flatten_epochs(out):
    xs, ev, en = out
    return xs.reshape((-1,) + xs.shape[2:]), ev.reshape(-1), en.reshape(-1)


def svrg(
    problem: Problem,
    x0: Array,
    num_epochs: int,
    *,
    learning_rate: float,
    key: Optional[Array] = None,
    inner_steps: Optional[int] = None,
    batch_size: int = 1,
    sampling: str = "replacement",
    record_every: int = 1,
) -> StochasticTrace:
    """Stochastic variance-reduced gradient (Johnson & Zhang, 2013).

    Each outer iteration (epoch) fixes a snapshot ``x̃ = x`` and its full
    gradient ``∇f(x̃)`` (``n`` evaluations), then takes ``m`` inner steps
    ``x ← x − η [∇f_B(x) − ∇f_B(x̃) + ∇f(x̃)]`` (``2b`` evaluations each).  The
    next snapshot is the last inner iterate ("option I").

    Args:
      learning_rate: constant ``η > 0`` (``η ≈ 1/(5 L_max)`` is safe).
      inner_steps: ``m``, default ``n / b`` (one pass per epoch).
      batch_size, sampling: as in :func:`run_finite_sum`.
      record_every: must divide ``m``.
    """
    _check_step("learning_rate", learning_rate)
    x0, n, m, idx = _vr_setup(problem, x0, num_epochs, inner_steps, batch_size, sampling,
                              record_every, key, "svrg")
    full_grad = jax.grad(problem.value)
    eta = jnp.asarray(learning_rate)
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


def sarah(
    problem: Problem,
    x0: Array,
    num_epochs: int,
    *,
    learning_rate: float,
    key: Optional[Array] = None,
    inner_steps: Optional[int] = None,
    batch_size: int = 1,
    sampling: str = "replacement",
    record_every: int = 1,
) -> StochasticTrace:
    """StochAstic Recursive grAdient algoritHm (Nguyen, Liu, Scheinberg & Takáč, 2017).

    Each outer iteration starts from ``v_0 = ∇f(w_0)`` (``n`` evaluations) and
    takes ``m`` steps ``w_{t+1} = w_t − η v_t`` with the recursive, biased
    estimate ``v_t = ∇f_B(w_t) − ∇f_B(w_{t−1}) + v_{t−1}`` (``2b`` evaluations).
    The next outer iteration restarts from the last iterate ``w_m``.
    """
    _check_step("learning_rate", learning_rate)
    x0, n, m, idx = _vr_setup(problem, x0, num_epochs, inner_steps, batch_size, sampling,
                              record_every, key, "sarah")
    full_grad = jax.grad(problem.value)
    eta = jnp.asarray(learning_rate)
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


def ai_sarah_step(problem: Problem, w: Array, v: Array, idx: Array) -> tuple[jax.Array, jax.Array]:
    """AI-SARAH's implicit step: one Newton step on ``ξ(α) = ‖∇f_B(w − αv) − ∇f_B(w) + v‖²`` from ``α = 0``.

    Returns ``(α̃, ∇f_B(w))`` with ``α̃ = −ξ'(0)/|ξ''(0)|``.  For a quadratic
    batch with Hessian ``H`` it is ``⟨v, Hv⟩/‖Hv‖²``; for one unregularised
    least-squares component ``f_i = ½(aᵢᵀx − bᵢ)²`` that is ``1/‖aᵢ‖²``, the
    inverse local smoothness constant.
    """
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
    x0: Array,
    num_epochs: int,
    *,
    key: Optional[Array] = None,
    inner_steps: Optional[int] = None,
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
    """
    _checks.require_in_range("gamma", gamma, 0.0, 1.0, low_inclusive=False, high_inclusive=False)
    _checks.require_in_range("beta", beta, 0.0, 1.0, high_inclusive=False)
    x0, n, m, idx = _vr_setup(problem, x0, num_epochs, inner_steps, batch_size, sampling,
                              record_every, key, "ai_sarah")
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


# ----------------------------------------------------------------------------
# additive-noise oracles (clipping bias, heavy tails)
# ----------------------------------------------------------------------------

NoiseFn = Callable[[Array, tuple, Any], Array]


def gaussian_noise(scale: float) -> NoiseFn:
    """``ξ ~ N(0, scale² I)``."""
    _checks.require_positive("scale", scale)
    return lambda key, shape, dtype: scale * jax.random.normal(key, shape, dtype)


def student_t_noise(df: float, scale: float = 1.0) -> NoiseFn:
    """``ξ_j`` i.i.d. Student-t with ``df`` degrees of freedom (times ``scale``).

    Heavy-tailed: only moments of order ``< df`` exist (infinite variance for
    ``df ≤ 2``), the setting of Sadiev et al. (2023).
    """
    _checks.require_positive("df", df)
    _checks.require_positive("scale", scale)
    return lambda key, shape, dtype: scale * jax.random.t(key, df, shape, dtype)


def pareto_noise(alpha: float, scale: float = 1.0) -> NoiseFn:
    """``ξ_j`` i.i.d. symmetric Pareto: ``± scale·(U^{−1/α} − 1)`` with a fair random sign.

    Moments of order ``< α`` exist; for ``α ≤ 2`` the variance is infinite.  A
    cheap heavy-tailed alternative to :func:`student_t_noise` (no rejection
    sampling), with ``P(|ξ| > s·t) = (1 + t)^{−α}``.
    """
    _checks.require_positive("alpha", alpha)
    _checks.require_positive("scale", scale)

    def sample(key, shape, dtype):
        ku, ks = jax.random.split(key)
        u = jax.random.uniform(ku, shape, dtype, minval=jnp.finfo(dtype).tiny, maxval=1.0)
        sign = jnp.where(jax.random.bernoulli(ks, 0.5, shape), 1.0, -1.0).astype(dtype)
        return scale * sign * (u ** (-1.0 / alpha) - 1.0)

    return sample


def discrete_noise(atoms: Sequence[float], probs: Sequence[float]) -> NoiseFn:
    """``ξ_j`` i.i.d. equal to ``atoms[k]`` with probability ``probs[k]``; must have mean zero.

    ``discrete_noise([9.0, -1.0], [0.1, 0.9])`` is the skewed example of
    Koloskova et al. (2023) for which clipped SGD is biased.
    """
    a = np.asarray(atoms, dtype=float)
    p = np.asarray(probs, dtype=float)
    _checks.require_ndim("atoms", a, 1)
    _checks.require_finite("atoms", a)
    _checks.require_probability_vector("probs", p)
    if a.shape != p.shape:
        raise ValueError(f"atoms and probs must have the same length, got {a.size} and {p.size}")
    mean = float(a @ p)
    if abs(mean) > 1e-9 * max(1.0, float(np.abs(a).max())):
        raise ValueError(f"noise must have mean zero (so the oracle is unbiased), got mean {mean!r}")
    logits = np.log(np.where(p > 0, p, 1e-300))

    def sample(key, shape, dtype):
        k = jax.random.categorical(key, jnp.asarray(logits), shape=shape)
        return jnp.asarray(a, dtype)[k]

    return sample


def run_additive_noise(
    optimizer: optax.GradientTransformation,
    problem: Problem,
    x0: Array,
    num_steps: int,
    *,
    key: Optional[Array] = None,
    noise: Optional[NoiseFn] = None,
    record_every: int = 1,
) -> StochasticTrace:
    """Run ``optimizer`` with the oracle ``g_k = ∇f(x_k) + ξ_k``, ``ξ_k`` i.i.d. from ``noise``.

    Each step counts as one gradient evaluation.  ``noise`` is a callable
    ``(key, shape, dtype) ↦ sample`` such as :func:`student_t_noise`.
    """
    if not isinstance(problem, Problem):
        raise TypeError(f"problem must be an optlab.problems.Problem, got {type(problem).__name__}")
    x0 = _check_x0(problem, x0)
    _checks.require_int("num_steps", num_steps, minimum=1)
    _check_record(record_every, num_steps)
    if noise is None or not callable(noise):
        raise ValueError("noise must be a callable (key, shape, dtype) -> sample, e.g. gaussian_noise(1.0)")
    _require_key(key, "run_additive_noise")
    optimizer = optax.with_extra_args_support(optimizer)
    vg = jax.value_and_grad(problem.value)
    keys = jax.random.split(key, num_steps)

    def step(carry, k):
        x, state = carry
        val, g = vg(x)
        g = g + noise(k, x.shape, x.dtype)
        updates, state = optimizer.update(g, state, x, value=val)
        return (optax.apply_updates(x, updates), state), (jnp.asarray(1, jnp.int32), jnp.linalg.norm(g))

    _, ((xs, _), ev, en) = _blocked(step, (x0, optimizer.init(x0)), keys, num_steps, record_every)
    return _finish(problem, x0, xs, ev, en)


# ----------------------------------------------------------------------------
# the noise floor of constant-step SGD, exactly
# ----------------------------------------------------------------------------


class NoiseFloor(NamedTuple):
    """Stationary ``E[f(x) − f*]`` of constant-step SGD with replacement on a quadratic finite sum.

    Attributes:
      exact: from the exact second-moment recursion.
      first_order: the small-step approximation ``η tr(S) / (4b)``,
        ``S = (1/n) Σ ∇f_i(x*) ∇f_i(x*)ᵀ``.
      sigma_star_sq: ``σ*² = tr(S) = (1/n) Σ ‖∇f_i(x*)‖²``.
      spectral_radius: of the second-moment map; ``< 1`` is stability.
    """

    exact: float
    first_order: float
    sigma_star_sq: float
    spectral_radius: float


def sgd_noise_floor(problem: Problem, learning_rate: float, batch_size: int = 1) -> NoiseFloor:
    """Exact stationary mean of ``f(x) − f*`` for SGD ``x ← x − η ∇f_B(x)``, ``B`` drawn with replacement.

    For a quadratic finite sum, ``e = x − x*`` obeys
    ``e⁺ = (I − η H_B) e − η ζ_B`` with ``H_B`` the batch Hessian and
    ``ζ_B = ∇f_B(x*)`` (mean zero, independent of ``e``).  The covariance
    ``Σ = E[e eᵀ]`` then satisfies the linear fixed-point equation
    ``Σ = E[(I − ηH_B) Σ (I − ηH_B)] + η² S / b``, solved here as a
    ``d² × d²`` system (float64 NumPy), and ``E[f − f*] = ½ tr(HΣ)``.

    Raises:
      ValueError: if ``problem`` is not a quadratic finite sum with known
        ``x_star``, or ``η`` is too large for a stationary distribution.
    """
    _require_finite_sum(problem)
    _check_step("learning_rate", learning_rate)
    _check_batch(batch_size, problem.n_samples)
    if problem.x_star is None:
        raise ValueError(f"problem {problem.name!r} has no known x_star")
    n, d = problem.n_samples, problem.dim
    x_star = jnp.asarray(problem.x_star)
    ids = jnp.arange(n)[:, None]

    @jax.jit
    def moments(x):
        hess_i = jax.vmap(lambda i, z: jax.hessian(problem.sample_value)(z, i), in_axes=(0, None))
        grads = jax.vmap(problem.sample_grad, in_axes=(None, 0))(x, ids)
        return hess_i(ids, x), hess_i(ids, x + 1.0), grads

    H_i, H_shift, zeta = (np.asarray(a, dtype=np.float64) for a in moments(x_star))
    if not np.allclose(H_i, H_shift, rtol=1e-5, atol=1e-6 * max(1.0, np.abs(H_i).max())):
        raise ValueError("sgd_noise_floor needs a quadratic finite sum (constant component Hessians)")
    eta = float(learning_rate)
    b = batch_size
    H = H_i.mean(0)
    S = zeta.T @ zeta / n
    I = np.eye(d)
    M = np.einsum("nij,nkl->ikjl", H_i, H_i).reshape(d * d, d * d) / n  # vec(H_i Σ H_i), row-major
    HH = np.kron(H, H)
    T = (np.kron(I, I) - eta * (np.kron(H, I) + np.kron(I, H))
         + eta**2 * ((1.0 - 1.0 / b) * HH + M / b))
    rho = float(np.max(np.abs(np.linalg.eigvals(T))))
    if not rho < 1.0:
        raise ValueError(
            f"learning_rate={eta} is too large: the second-moment map has spectral radius {rho:.4g} ≥ 1"
        )
    sigma = np.linalg.solve(np.eye(d * d) - T, eta**2 * S.reshape(-1) / b).reshape(d, d)
    exact = 0.5 * float(np.trace(H @ sigma))
    return NoiseFloor(
        exact=exact,
        first_order=eta * float(np.trace(S)) / (4.0 * b),
        sigma_star_sq=float(np.trace(S)),
        spectral_radius=rho,
    )


def over_seeds(method: Callable[..., StochasticTrace], keys: Array, *args, **kwargs) -> StochasticTrace:
    """Run ``method(*args, key=k, **kwargs)`` for every key in ``keys`` in one compiled, vmapped call.

    The argument checks run once, eagerly, with the first key, before tracing.
    Returned arrays get a leading axis of size ``len(keys)``.
    """
    if keys is None:
        raise ValueError("over_seeds needs a batch of PRNG keys, e.g. jax.random.split(jax.random.key(0), 16)")
    if "key" in kwargs:
        raise ValueError("pass the batch of keys as `keys`, not `key`")
    if jnp.ndim(keys) < 1 or len(keys) < 1:
        raise ValueError("keys must be a non-empty batch of PRNG keys")
    jax.eval_shape(lambda k: method(*args, key=k, **kwargs), keys[0])  # validates, traces shapes only
    return jax.jit(jax.vmap(lambda k: method(*args, key=k, **kwargs)))(keys)
