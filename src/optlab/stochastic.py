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

Compilation: every run goes through a module-level ``jax.jit`` whose static
arguments are the optimizer, the problem's functions (not its data: the built-in
problems carry their data as ``jax.tree_util.Partial`` leaves), the noise model and
the loop's sizes; ``x0``, the key, the data and numeric step sizes are traced.  A
second call with new data of the same shape does not trace or compile again.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, cast

import jax
import jax.numpy as jnp
import numpy as np
import optax

from . import _checks
from ._types import Array, Float, Int, Key, PRNGKeyArray
from .first_order import gd
from .problems import Problem
from .runner import _merge, _split  # one policy for static/dynamic parts of optimizers and problems

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

Schedule = Callable[[jax.Array], jax.Array]
ScalarOrSchedule = float | jax.Array | Schedule

SAMPLING_SCHEMES = ("replacement", "reshuffle", "single_shuffle", "cyclic")


class StochasticTrace(NamedTuple):
    """A stochastic run, recorded every ``record_every`` steps (``R + 1`` rows, ``x_0`` first).

    Attributes:
      params: the final point ``x_N``, shape ``(d,)``.
      iterates: recorded iterates, shape ``(R + 1, d)`` (the last row is ``params``).
      values: exact objective values ``f(x)`` at those iterates, ``(R + 1,)``.
      grad_norms: exact gradient norms ``‖∇f(x)‖``, ``(R + 1,)``.
      grad_evals: cumulative number of component gradients ``∇f_i`` evaluated
        to reach each recorded iterate, ``(R + 1,)`` (``0`` at ``x_0``; a full
        gradient counts ``n``).  Divide by ``n`` for passes over the data.
      estimate_norms: ``‖v‖`` of the gradient estimate used in the last step of
        each recorded block, ``(R,)``.
    """

    params: Float[Array, " d"]
    iterates: Float[Array, "R+1 d"]
    values: Float[Array, " R+1"]
    grad_norms: Float[Array, " R+1"]
    grad_evals: Int[Array, " R+1"]
    estimate_norms: Float[Array, " R"]

    def suboptimality(self, f_star: float) -> Float[Array, " R+1"]:
        """``f(x) − f*`` along the run."""
        return self.values - f_star

    def distances(self, x_star: Float[Array, " d"]) -> Float[Array, " R+1"]:
        """``‖x − x*‖`` along the run."""
        return jnp.linalg.norm(self.iterates - x_star, axis=-1)


# ----------------------------------------------------------------------------
# validation helpers
# ----------------------------------------------------------------------------


def _require_key(key: Any, what: str) -> None:
    if key is None:
        raise ValueError(f"{what} is stochastic and needs an explicit PRNG key: pass key=jax.random.key(0)")
    _checks.require_key("key", key)


def _scalar(name: str, value: Any) -> None:
    """One real number (not a string, None or an array of several)."""
    _checks.as_float_array(name, value, ndim=0, finite=False)


class _FS(NamedTuple):
    """The functions of a finite sum, rebuilt inside a compiled loop."""

    value: Callable
    sample_value: Callable | None

    def sample_grad(self, x, idx):
        return jax.grad(self.sample_value)(x, idx)


def _fs_split(*objs):
    """Static part and array leaves of (problem functions, optimizer, noise...)."""
    return _split(objs)


def _require_finite_sum(problem: Any) -> None:
    if not isinstance(problem, Problem):
        raise TypeError(f"problem must be an optlab.problems.Problem, got {type(problem).__name__}")
    if problem.n_samples is None or problem.sample_value is None:
        raise ValueError(f"problem {problem.name!r} is not a finite sum (no sample_value)")


def _check_x0(problem: Problem, x0: Array) -> Array:
    x0 = _checks.as_float_array("x0", x0)
    _checks.require_shape("x0", x0, (problem.dim,))
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
    _scalar(name, value)
    _checks.require_positive(name, value)


def _check_optimizer(optimizer: Any) -> None:
    if not (callable(getattr(optimizer, "init", None)) and callable(getattr(optimizer, "update", None))):
        raise TypeError(
            "optimizer must be an optax.GradientTransformation (with init and update), "
            f"got {type(optimizer).__name__}"
        )


def _at(value: ScalarOrSchedule, count: jax.Array) -> jax.Array:
    return value(count) if callable(value) else jnp.asarray(value)


# ----------------------------------------------------------------------------
# sampling
# ----------------------------------------------------------------------------


def sample_indices(
    n: int,
    *,
    num_steps: int,
    key: PRNGKeyArray | None = None,
    batch_size: int = 1,
    sampling: str = "replacement",
) -> Int[Array, "num_steps batch_size"]:
    """Component indices for ``num_steps`` mini-batch steps, shape ``(num_steps, batch_size)``.

    - ``"replacement"``: every index i.i.d. uniform on ``{0, …, n−1}``;
    - ``"reshuffle"`` (random reshuffling): a fresh uniform permutation per
      epoch of ``n / b`` steps, so every index is used exactly once per epoch;
    - ``"single_shuffle"``: one permutation, reused every epoch;
    - ``"cyclic"``: the order ``0, 1, …, n−1`` every epoch.

    Args:
      n: the number of components ``f_i``, ``>= 1``.
      num_steps: number of steps, ``>= 1`` (keyword-only).
      key: a JAX PRNG key (required; an integer seed is refused).
      batch_size: ``b``, ``1 <= b <= n``; must divide ``n`` unless ``sampling="replacement"``.
      sampling: one of :data:`SAMPLING_SCHEMES`.

    Returns:
      Integer indices, shape ``(num_steps, batch_size)``.

    Raises:
      TypeError: ``key`` not a PRNG key, non-integer sizes.
      ValueError: missing key, sizes out of range, an unknown ``sampling`` or a ``batch_size``
        that does not divide ``n`` for the shuffling schemes.
    """
    _require_key(key, "sample_indices")
    _checks.require_int("n", n, minimum=1)
    _checks.require_int("num_steps", num_steps, minimum=1)
    _check_batch(batch_size, n)
    _check_sampling(sampling, n, batch_size)
    return _sample_indices(key, int(n), int(num_steps), int(batch_size), sampling)


@functools.partial(jax.jit, static_argnames=("n", "num_steps", "batch_size", "sampling"))
def _sample_indices(key, n, num_steps, batch_size, sampling):
    if sampling == "replacement":
        return jax.random.randint(key, (num_steps, batch_size), 0, n, dtype=jnp.int32)
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


def clip_by_norm(g: Any, clip_norm: float | Float[Array, ""]) -> Any:
    """``clip_c(g) = min(1, c/‖g‖) g`` for a pytree ``g`` (global Euclidean norm).

    Leaves ``g`` unchanged when ``‖g‖ ≤ c``; otherwise rescales it to norm ``c``.

    Args:
      g: a gradient, an array or pytree (finite).
      clip_norm: the threshold ``c > 0``.

    Returns:
      ``clip_c(g)``, with the structure of ``g``.

    Raises:
      TypeError: non-numeric input.
      ValueError: NaN/inf in ``g``, ``clip_norm`` not positive and finite.
    """
    _checks.require_finite("g", g)
    _checks.require_positive("clip_norm", clip_norm)
    norm = optax.tree_utils.tree_norm(g)
    below = norm <= clip_norm
    scale = clip_norm / jnp.where(below, 1.0, norm)
    return jax.tree_util.tree_map(lambda t: jnp.where(below, t, (scale * t).astype(t.dtype)), g)


def clip(clip_norm: float) -> optax.GradientTransformationExtraArgs:
    """Stateless transformation ``g ↦ clip_c(g)``; equals ``optax.clip_by_global_norm(c)``.

    Args:
      clip_norm: the threshold ``c > 0``.

    Returns:
      An ``optax.GradientTransformationExtraArgs`` applying :func:`clip_by_norm`.

    Raises:
      TypeError: ``clip_norm`` not a number.
      ValueError: ``clip_norm`` not positive and finite.
    """
    _scalar("clip_norm", clip_norm)
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

    Args:
      learning_rate: the step ``η > 0`` or a schedule ``k ↦ η_k``.
      clip_norm: the threshold ``c > 0``.

    Returns:
      An ``optax.GradientTransformationExtraArgs`` (clipping, then gradient descent).

    Raises:
      TypeError: a non-numeric ``learning_rate`` (that is not a schedule) or ``clip_norm``.
      ValueError: ``learning_rate`` or ``clip_norm`` not positive.
    """
    _check_step("learning_rate", learning_rate)
    _scalar("clip_norm", clip_norm)
    _checks.require_positive("clip_norm", clip_norm)
    return optax.chain(clip(clip_norm), gd(learning_rate))


def linear_decay(peak: float, *, num_steps: int) -> Schedule:
    """``η_k = peak · (1 − k/T)`` for ``k < T``, then ``0``; equals ``optax.linear_schedule(peak, 0, T)``.

    The worst-case optimal schedule for the last iterate (Defazio et al., 2023).

    Args:
      peak: the first step ``η_0 = peak > 0``.
      num_steps: the horizon ``T``, ``>= 1`` (keyword-only).

    Returns:
      The schedule ``k ↦ η_k``.

    Raises:
      TypeError: ``peak`` not a number, ``num_steps`` not an integer.
      ValueError: ``peak <= 0``, ``num_steps < 1``.
    """
    _scalar("peak", peak)
    _checks.require_positive("peak", peak)
    _checks.require_int("num_steps", num_steps, minimum=1)

    def schedule(count):
        frac = jnp.clip(jnp.asarray(count) / num_steps, 0.0, 1.0)
        return peak * (1.0 - frac)

    return schedule


def inverse_time(init: float, decay_steps: float) -> Schedule:
    """``η_k = η_0 / (1 + k/k_0)``: the ``O(1/k)`` schedule for strongly convex SGD.

    Args:
      init: ``η_0 > 0``.
      decay_steps: ``k_0 > 0``.

    Returns:
      The schedule ``k ↦ η_k``.

    Raises:
      TypeError: a non-numeric argument.
      ValueError: ``init`` or ``decay_steps`` not positive.
    """
    _scalar("init", init)
    _checks.require_positive("init", init)
    _scalar("decay_steps", decay_steps)
    _checks.require_positive("decay_steps", decay_steps)

    def schedule(count):
        return init / (1.0 + jnp.asarray(count) / decay_steps)

    return schedule


def refined_weights(grad_norms: Float[Array, " T"], *, smoothing: int = 1) -> Float[Array, " T"]:
    """Schedule shape refined from observed gradient norms (Defazio et al., 2023).

    ``w_t = ‖g_t‖⁻² Σ_{p>t} ‖g_p‖²``, normalised to ``max_t w_t = 1``.  With
    constant norms this is exactly the linear decay ``∝ T − 1 − t``; norms that
    fall early give a warm-up.  ``smoothing > 1`` first replaces the norms by a
    centred moving average over that many steps (edges padded by repetition).

    Args:
      grad_norms: the observed ``‖g_t‖ > 0``, ``t = 0, …, T−1``, ``T >= 2``.
      smoothing: width of the moving average, ``>= 1`` (keyword-only).

    Returns:
      The weights ``w``, shape ``(T,)``, maximum 1 (the last is 0).

    Raises:
      TypeError: non-numeric ``grad_norms``, non-integer ``smoothing``.
      ValueError: ``grad_norms`` not 1-D, shorter than 2, non-positive or non-finite,
        ``smoothing < 1``.
    """
    g = _checks.as_float_array("grad_norms", grad_norms, ndim=1)
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


def refined_schedule(grad_norms: Float[Array, " T"], peak: float, *, smoothing: int = 1) -> Schedule:
    """``k ↦ peak · w_k`` with ``w`` from :func:`refined_weights` (``0`` after the horizon).

    Args:
      grad_norms: the observed ``‖g_t‖``, as in :func:`refined_weights`.
      peak: the largest step, ``> 0``.
      smoothing: width of the moving average, ``>= 1`` (keyword-only).

    Returns:
      The schedule ``k ↦ η_k``.

    Raises:
      TypeError, ValueError: ``peak`` not a positive number, and those of :func:`refined_weights`.
    """
    _scalar("peak", peak)
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
    iterates = jnp.concatenate([x0[None], xs])
    vg = jax.vmap(jax.value_and_grad(problem.value))
    values, grads = vg(iterates)
    counts = jnp.concatenate([jnp.zeros((1,), evals.dtype), jnp.cumsum(evals)])
    return StochasticTrace(
        params=iterates[-1],
        iterates=iterates,
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
    x0: Float[Array, " d"],
    *,
    num_steps: int,
    key: PRNGKeyArray | None = None,
    batch_size: int = 1,
    sampling: str = "replacement",
    record_every: int = 1,
) -> StochasticTrace:
    """Mini-batch SGD-type run: ``optimizer`` fed ``g_k = (1/b) Σ_{i∈B_k} ∇f_i(x_k)``.

    Indices come from :func:`sample_indices` (with replacement, random
    reshuffling, single shuffle or cyclic); ``optimizer`` is any optax
    transformation, called as ``update(g, state, x, value=f_B(x))``.  Each
    step costs ``b`` component gradients.  The loop is :func:`_finite_sum_scan`,
    compiled once per (optimizer, problem functions, shapes, sizes).

    Args:
      optimizer: e.g. ``optlab.first_order.gd(0.1)``, :func:`clipped_sgd`,
        ``optax.sgd(linear_decay(0.5, T))``.
      problem: a finite sum (``least_squares``, ``logistic_regression``).
      x0: start, shape ``(d,)``, finite.
      num_steps: number of steps ``N``.
      key: PRNG key (required; an integer seed is refused).
      batch_size: ``b ≤ n``.
      sampling: one of :data:`SAMPLING_SCHEMES`.
      record_every: record the iterate every that many steps (must divide ``N``).

    Returns:
      A :class:`StochasticTrace` with ``N / record_every + 1`` rows.

    Raises:
      TypeError: ``optimizer``/``problem`` of the wrong type, ``key`` not a PRNG key.
      ValueError: wrong shapes, non-finite ``x0``, sizes out of range, missing key.
    """
    _check_optimizer(optimizer)
    _require_finite_sum(problem)
    x0 = _check_x0(problem, x0)
    _checks.require_int("num_steps", num_steps, minimum=1)
    n_samples = cast(int, problem.n_samples)  # _require_finite_sum checked it
    _check_batch(batch_size, n_samples)
    _check_sampling(sampling, n_samples, batch_size)
    _check_record(record_every, num_steps)
    _require_key(key, "run_finite_sum")
    static, dynamic = _fs_split(problem.value, problem.sample_value, optimizer)
    return _finite_sum_jit(
        dynamic,
        x0,
        key,
        static=static,
        n=problem.n_samples,
        num_steps=num_steps,
        batch_size=batch_size,
        sampling=sampling,
        record_every=record_every,
    )


# region: stochastic-finite-sum-scan
def _finite_sum_scan(optimizer, problem, x0, key, n, num_steps, batch_size, sampling, record_every):
    """The loop of :func:`run_finite_sum`: draw the indices, then one optimizer step per batch."""
    optimizer = optax.with_extra_args_support(optimizer)
    idx = _sample_indices(key, n, num_steps, batch_size, sampling)
    sample_vg = jax.value_and_grad(problem.sample_value)

    def step(carry, i):
        x, state = carry
        val, g = sample_vg(x, i)
        updates, state = optimizer.update(g, state, x, value=val)
        x = optax.apply_updates(x, updates)
        return (x, state), (jnp.asarray(batch_size, jnp.int32), jnp.linalg.norm(g))

    _, ((xs, _), ev, en) = _blocked(step, (x0, optimizer.init(x0)), idx, num_steps, record_every)
    return _finish(problem, x0, xs, ev, en)
    # endregion: stochastic-finite-sum-scan


@functools.partial(
    jax.jit, static_argnames=("static", "n", "num_steps", "batch_size", "sampling", "record_every")
)
def _finite_sum_jit(dynamic, x0, key, *, static, n, num_steps, batch_size, sampling, record_every):
    value, sample_value, optimizer = _merge(static, dynamic)
    return _finite_sum_scan(
        optimizer, _FS(value, sample_value), x0, key, n, num_steps, batch_size, sampling, record_every
    )


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


# ----------------------------------------------------------------------------
# additive-noise oracles (clipping bias, heavy tails)
# ----------------------------------------------------------------------------

NoiseFn = Callable[[Array, tuple, Any], Array]


@dataclasses.dataclass(frozen=True)
class _Noise:
    """A noise model ``(key, shape, dtype) ↦ sample``; equal models (same kind and
    parameters) hash equal, so building one twice reuses the compiled run."""

    kind: str
    params: tuple

    def __call__(self, key, shape, dtype):
        p = self.params
        if self.kind == "gaussian":
            return p[0] * jax.random.normal(key, shape, dtype)
        if self.kind == "student_t":
            return p[1] * jax.random.t(key, p[0], shape, dtype)
        if self.kind == "pareto":
            alpha, scale = p
            ku, ks = jax.random.split(key)
            u = jax.random.uniform(ku, shape, dtype, minval=jnp.finfo(dtype).tiny, maxval=1.0)
            sign = jnp.where(jax.random.bernoulli(ks, 0.5, shape), 1.0, -1.0).astype(dtype)
            return scale * sign * (u ** (-1.0 / alpha) - 1.0)
        atoms, logits = p  # discrete
        k = jax.random.categorical(key, jnp.asarray(logits), shape=shape)
        return jnp.asarray(atoms, dtype)[k]


def _noise_param(name: str, value: Any) -> Any:
    _scalar(name, value)
    _checks.require_positive(name, value)
    return float(value) if _checks.is_concrete(value) else value


def gaussian_noise(scale: float) -> NoiseFn:
    """``ξ ~ N(0, scale² I)``.

    Args:
      scale: the standard deviation, ``> 0``.

    Returns:
      A noise model ``(key, shape, dtype) ↦ sample`` for :func:`run_additive_noise`.

    Raises:
      TypeError: ``scale`` not a number.
      ValueError: ``scale`` not positive and finite.
    """
    return _Noise("gaussian", (_noise_param("scale", scale),))


def student_t_noise(df: float, scale: float = 1.0) -> NoiseFn:
    """``ξ_j`` i.i.d. Student-t with ``df`` degrees of freedom (times ``scale``).

    Heavy-tailed: only moments of order ``< df`` exist (infinite variance for
    ``df ≤ 2``), the setting of Sadiev et al. (2023).

    Args:
      df: degrees of freedom, ``> 0``.
      scale: multiplier, ``> 0``.

    Returns:
      A noise model ``(key, shape, dtype) ↦ sample``.

    Raises:
      TypeError, ValueError: ``df`` or ``scale`` not a positive number.
    """
    return _Noise("student_t", (_noise_param("df", df), _noise_param("scale", scale)))


def pareto_noise(alpha: float, scale: float = 1.0) -> NoiseFn:
    """``ξ_j`` i.i.d. symmetric Pareto: ``± scale·(U^{−1/α} − 1)`` with a fair random sign.

    Moments of order ``< α`` exist; for ``α ≤ 2`` the variance is infinite.  A
    cheap heavy-tailed alternative to :func:`student_t_noise` (no rejection
    sampling), with ``P(|ξ| > s·t) = (1 + t)^{−α}``.

    Args:
      alpha: the tail index ``α > 0``.
      scale: the scale ``s > 0``.

    Returns:
      A noise model ``(key, shape, dtype) ↦ sample``.

    Raises:
      TypeError, ValueError: ``alpha`` or ``scale`` not a positive number.
    """
    return _Noise("pareto", (_noise_param("alpha", alpha), _noise_param("scale", scale)))


def discrete_noise(atoms: Sequence[float], probs: Sequence[float]) -> NoiseFn:
    """``ξ_j`` i.i.d. equal to ``atoms[k]`` with probability ``probs[k]``; must have mean zero.

    ``discrete_noise([9.0, -1.0], [0.1, 0.9])`` is the skewed example of
    Koloskova et al. (2023) for which clipped SGD is biased.

    Args:
      atoms: the values, a finite non-empty vector.
      probs: their probabilities, a probability vector of the same length.

    Returns:
      A noise model ``(key, shape, dtype) ↦ sample``.

    Raises:
      TypeError: non-numeric input.  ValueError: ``atoms`` not a finite non-empty vector, ``probs``
      not a probability vector of the same length, or a non-zero mean.
    """
    a = np.asarray(_checks.as_float_array("atoms", atoms, ndim=1), dtype=float)
    if a.size == 0:
        raise ValueError("atoms must be a non-empty 1-D array")
    p = np.asarray(_checks.as_float_array("probs", probs, ndim=1), dtype=float)
    _checks.require_probability_vector("probs", p)
    if a.shape != p.shape:
        raise ValueError(f"atoms and probs must have the same length, got {a.size} and {p.size}")
    mean = float(a @ p)
    if abs(mean) > 1e-6 * max(1.0, float(np.abs(a).max())):
        raise ValueError(f"noise must have mean zero (so the oracle is unbiased): atoms @ probs = {mean!r}")
    logits = np.log(np.where(p > 0, p, 1e-300))
    return _Noise("discrete", (tuple(a.tolist()), tuple(logits.tolist())))


def run_additive_noise(
    optimizer: optax.GradientTransformation,
    problem: Problem,
    x0: Float[Array, " d"],
    *,
    num_steps: int,
    key: PRNGKeyArray | None = None,
    noise: NoiseFn | None = None,
    record_every: int = 1,
) -> StochasticTrace:
    """Run ``optimizer`` with the oracle ``g_k = ∇f(x_k) + ξ_k``, ``ξ_k`` i.i.d. from ``noise``.

    Each step counts as one gradient evaluation.  ``noise`` is a callable
    ``(key, shape, dtype) ↦ sample`` such as :func:`student_t_noise`.  Compiled
    once per (optimizer, problem functions, noise model, shapes, sizes).

    Args:
      optimizer: an optax transformation, called as ``update(g, state, x, value=f(x))``.
      problem: a :class:`~optlab.problems.Problem`.
      x0: start, shape ``(d,)``, finite.
      num_steps: number of steps ``N``, ``>= 1`` (keyword-only).
      key: a JAX PRNG key (required).
      noise: the noise model (required), e.g. :func:`gaussian_noise`.
      record_every: record every that many steps; must divide ``N``.

    Returns:
      A :class:`StochasticTrace` with ``N / record_every + 1`` rows.

    Raises:
      TypeError: ``optimizer``/``problem`` of the wrong type, ``key`` not a PRNG key.
      ValueError: missing key or noise, a noise sample of the wrong shape, bad sizes or ``x0``.
    """
    _check_optimizer(optimizer)
    if not isinstance(problem, Problem):
        raise TypeError(f"problem must be an optlab.problems.Problem, got {type(problem).__name__}")
    x0 = _check_x0(problem, x0)
    _checks.require_int("num_steps", num_steps, minimum=1)
    _check_record(record_every, num_steps)
    if noise is None or not callable(noise):
        raise ValueError("noise must be a callable (key, shape, dtype) -> sample, e.g. gaussian_noise(1.0)")
    _require_key(key, "run_additive_noise")
    try:
        sample = jax.eval_shape(lambda k: noise(k, x0.shape, x0.dtype), key)
    except Exception as err:  # noqa: BLE001
        raise TypeError(
            f"noise must accept (key, shape, dtype); it failed with {type(err).__name__}: {err}"
        ) from err
    if getattr(sample, "shape", None) != x0.shape:
        raise ValueError(
            f"noise must return a sample of shape {x0.shape}, got {getattr(sample, 'shape', sample)}"
        )
    static, dynamic = _fs_split(problem.value, optimizer, noise)
    return _additive_jit(dynamic, x0, key, static=static, num_steps=num_steps, record_every=record_every)


@functools.partial(jax.jit, static_argnames=("static", "num_steps", "record_every"))
def _additive_jit(dynamic, x0, key, *, static, num_steps, record_every):
    value, optimizer, noise = _merge(static, dynamic)
    optimizer = optax.with_extra_args_support(optimizer)
    vg = jax.value_and_grad(value)
    keys = jax.random.split(key, num_steps)

    def step(carry, k):
        x, state = carry
        val, g = vg(x)
        g = g + noise(k, x.shape, x.dtype)
        updates, state = optimizer.update(g, state, x, value=val)
        return (optax.apply_updates(x, updates), state), (jnp.asarray(1, jnp.int32), jnp.linalg.norm(g))

    _, ((xs, _), ev, en) = _blocked(step, (x0, optimizer.init(x0)), keys, num_steps, record_every)
    return _finish(_FS(value, None), x0, xs, ev, en)


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


@functools.partial(jax.jit, static_argnames=("static", "n"))
def _noise_floor_moments(dynamic, x, *, static, n):
    """Component Hessians at ``x*`` and at ``x* + 1`` and component gradients at ``x*``
    (one compile per problem functions and shape; the data and ``x*`` are traced)."""
    (sample_value,) = _merge(static, dynamic)
    ids = jnp.arange(n)[:, None]
    hess_i = jax.vmap(lambda i, z: jax.hessian(sample_value)(z, i), in_axes=(0, None))
    grads = jax.vmap(jax.grad(sample_value), in_axes=(None, 0))(x, ids)
    return hess_i(ids, x), hess_i(ids, x + 1.0), grads


def sgd_noise_floor(problem: Problem, *, learning_rate: float, batch_size: int = 1) -> NoiseFloor:
    """Exact stationary mean of ``f(x) − f*`` for SGD ``x ← x − η ∇f_B(x)``, ``B`` drawn with replacement.

    For a quadratic finite sum, ``e = x − x*`` obeys
    ``e⁺ = (I − η H_B) e − η ζ_B`` with ``H_B`` the batch Hessian and
    ``ζ_B = ∇f_B(x*)`` (mean zero, independent of ``e``).  The covariance
    ``Σ = E[e eᵀ]`` then satisfies the linear fixed-point equation
    ``Σ = E[(I − ηH_B) Σ (I − ηH_B)] + η² S / b``, solved here as a
    ``d² × d²`` system (float64 NumPy), and ``E[f − f*] = ½ tr(HΣ)``.
    The per-component Hessians and gradients come from one compiled function per
    problem (not per call): a sweep over ``η`` compiles once.

    Args:
      problem: a quadratic finite sum with known ``x_star``.
      learning_rate: ``η > 0`` (a number).
      batch_size: ``b``, ``1 ≤ b ≤ n``.

    Returns:
      A :class:`NoiseFloor`.

    Raises:
      TypeError: ``problem`` not a Problem, ``learning_rate`` not a number.
      ValueError: if ``problem`` is not a quadratic finite sum with known
        ``x_star``, or ``η`` is too large for a stationary distribution.
    """
    _require_finite_sum(problem)
    if callable(learning_rate) or isinstance(learning_rate, jax.core.Tracer):
        raise TypeError("learning_rate must be a concrete number (the noise floor is computed in NumPy)")
    _check_step("learning_rate", learning_rate)
    _check_batch(batch_size, cast(int, problem.n_samples))  # _require_finite_sum checked it
    if problem.x_star is None:
        raise ValueError(f"problem {problem.name!r} has no known x_star")
    n, d = cast(int, problem.n_samples), problem.dim
    static, dynamic = _fs_split(problem.sample_value)
    x_star = _checks.as_float_array("x_star", problem.x_star)
    H_i, H_shift, zeta = (
        np.asarray(a, dtype=np.float64) for a in _noise_floor_moments(dynamic, x_star, static=static, n=n)
    )
    if not np.allclose(H_i, H_shift, rtol=1e-5, atol=1e-6 * max(1.0, np.abs(H_i).max())):
        raise ValueError("sgd_noise_floor needs a quadratic finite sum (constant component Hessians)")
    eta = float(learning_rate)
    b = batch_size
    H = H_i.mean(0)
    S = zeta.T @ zeta / n
    Id = np.eye(d)  # the identity I
    M = np.einsum("nij,nkl->ikjl", H_i, H_i).reshape(d * d, d * d) / n  # vec(H_i Σ H_i), row-major
    HH = np.kron(H, H)
    T = np.kron(Id, Id) - eta * (np.kron(H, Id) + np.kron(Id, H)) + eta**2 * ((1.0 - 1.0 / b) * HH + M / b)
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


def over_seeds(
    method: Callable[..., StochasticTrace], keys: Key[Array, " S"], *args, **kwargs
) -> StochasticTrace:
    """Run ``method(*args, key=k, **kwargs)`` for every key in ``keys`` in one compiled, vmapped call.

    The argument checks run once, eagerly, with the first key, before tracing.
    Returned arrays get a leading axis of size ``len(keys)``.  The methods of this
    module are compiled once per configuration, so repeated calls do not recompile.

    Args:
      method: a run of this module that takes ``key=`` (e.g. :func:`run_finite_sum`).
      keys: a non-empty batch of PRNG keys, e.g. ``jax.random.split(jax.random.key(0), 16)``.
      *args: positional arguments of ``method``.
      **kwargs: keyword arguments of ``method`` (not ``key``).

    Returns:
      ``method``'s :class:`StochasticTrace` with a leading axis of size ``len(keys)`` on every field.

    Raises:
      TypeError: ``method`` not callable, ``keys`` not a batch of PRNG keys.
      ValueError: ``keys`` missing or empty, ``key`` passed in ``kwargs``; and the errors of ``method``.
    """
    _checks.require_callable("method", method)
    if keys is None:
        raise ValueError(
            "over_seeds needs a batch of PRNG keys, e.g. jax.random.split(jax.random.key(0), 16)"
        )
    if "key" in kwargs:
        raise ValueError("pass the batch of keys as `keys`, not `key`")
    _checks.require_key("keys", keys)
    typed = jax.dtypes.issubdtype(keys.dtype, jax.dtypes.prng_key)
    if jnp.ndim(keys) < (1 if typed else 2) or len(keys) < 1:
        raise ValueError(
            "keys must be a non-empty batch of PRNG keys, e.g. jax.random.split(jax.random.key(0), 16)"
        )
    jax.eval_shape(lambda k: method(*args, key=k, **kwargs), keys[0])  # validates, traces shapes only
    return jax.vmap(lambda k: method(*args, key=k, **kwargs))(keys)
