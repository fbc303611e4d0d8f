"""SGD on finite sums with any optax transformation, and runs over many seeds (chapter 3)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import cast

import jax
import jax.numpy as jnp
import optax

from .. import _checks
from .._types import Array, Float, Key, PRNGKeyArray
from ..problems import Problem
from ..runner import _merge  # one policy for static/dynamic parts of optimizers and problems
from ._common import (
    _FS,
    _blocked,
    _check_batch,
    _check_optimizer,
    _check_record,
    _check_sampling,
    _check_x0,
    _finish,
    _fs_split,
    _require_finite_sum,
    _require_key,
)
from .results import StochasticTrace
from .sampling import _sample_indices

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
