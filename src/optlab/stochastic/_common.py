"""Validation helpers and the scan machinery shared by :mod:`optlab.stochastic`'s modules."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from .. import _checks
from .._types import Array
from ..problems import Problem
from ..runner import _split  # one policy for static/dynamic parts of optimizers and problems
from .results import SAMPLING_SCHEMES, ScalarOrSchedule, StochasticTrace

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
