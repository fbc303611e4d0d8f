"""Run any optimizer on a :class:`~optlab.problems.Problem` inside ``lax.scan``.

:func:`run` executes ``num_steps`` steps of an optax-style transformation as one
compiled loop and returns a :class:`Trace` of the whole trajectory.
:func:`sweep` ``vmap``s that loop over hyper-parameters (and, optionally, over
random seeds), so a sweep of a thousand step sizes is a single compiled call.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple, Optional

import jax
import jax.numpy as jnp
import optax

from . import _checks
from .problems import Problem

__all__ = ["Trace", "run", "sweep", "compile_sweep"]

Array = Any


class Trace(NamedTuple):
    """The trajectory of a run, with the initial point included (``num_steps + 1`` rows).

    Attributes:
      params: iterates ``x_0, …, x_N``, shape ``(N + 1, d)``.
      values: exact objective values ``f(x_k)``, shape ``(N + 1,)``.
      grad_norms: exact gradient norms ``‖∇f(x_k)‖``, shape ``(N + 1,)``.
    """

    params: Array
    values: Array
    grad_norms: Array

    def suboptimality(self, f_star: float) -> Array:
        """``f(x_k) − f*`` along the run."""
        return self.values - f_star

    def distances(self, x_star: Array) -> Array:
        """``‖x_k − x*‖`` along the run."""
        return jnp.linalg.norm(self.params - x_star, axis=-1)


def _validate(problem: Problem, x0: Array, num_steps: int, batch_size: Optional[int]) -> None:
    if not isinstance(problem, Problem):
        raise TypeError(f"problem must be an optlab.problems.Problem, got {type(problem).__name__}")
    _checks.require_int("num_steps", num_steps, minimum=1)
    _checks.require_shape("x0", x0, (problem.dim,))
    _checks.require_finite("x0", x0)
    if batch_size is not None:
        _checks.require_int("batch_size", batch_size, minimum=1)
        if problem.n_samples is None:
            raise ValueError(f"batch_size was given but problem {problem.name!r} is not a finite sum")
        if batch_size > problem.n_samples:
            raise ValueError(
                f"batch_size={batch_size} exceeds the number of samples n={problem.n_samples}"
            )


def _scan(
    optimizer: optax.GradientTransformation,
    problem: Problem,
    x0: Array,
    num_steps: int,
    key: Optional[Array],
    batch_size: Optional[int],
) -> Trace:
    optimizer = optax.with_extra_args_support(optimizer)
    full_value_and_grad = jax.value_and_grad(problem.value)

    def oracle(x, k):
        idx = jax.random.choice(k, problem.n_samples, (batch_size,), replace=True)
        return jax.value_and_grad(problem.sample_value)(x, idx)

    def step(carry, k):
        # the carry holds f and ∇f at the current iterate, so a deterministic run
        # evaluates the objective once per step, not twice
        x, state, f, g = carry
        value, grad = (f, g) if batch_size is None else oracle(x, k)
        updates, state = optimizer.update(grad, state, x, value=value)
        x = optax.apply_updates(x, updates)
        f, g = full_value_and_grad(x)
        return (x, state, f, g), (x, f, jnp.linalg.norm(g))

    keys = (
        jax.random.split(key, num_steps)
        if key is not None
        else jnp.zeros((num_steps,), dtype=jnp.uint32)
    )
    f0, g0 = full_value_and_grad(x0)
    _, (xs, fs, gs) = jax.lax.scan(step, (x0, optimizer.init(x0), f0, g0), keys)
    return Trace(
        params=jnp.concatenate([x0[None], xs]),
        values=jnp.concatenate([f0[None], fs]),
        grad_norms=jnp.concatenate([jnp.linalg.norm(g0)[None], gs]),
    )


def run(
    optimizer: optax.GradientTransformation,
    problem: Problem,
    x0: Array,
    num_steps: int,
    *,
    key: Optional[Array] = None,
    batch_size: Optional[int] = None,
) -> Trace:
    """Run ``optimizer`` on ``problem`` from ``x0`` for ``num_steps`` steps.

    The loop is one ``lax.scan``; ``run`` itself is traceable, so it can be
    ``jit``-ed or ``vmap``-ed (see :func:`sweep`).  Every step calls
    ``optimizer.update(g, state, x, value=f)``, so methods that need the
    objective value (Polyak) work unchanged.

    Args:
      optimizer: an ``optax.GradientTransformation`` (e.g. ``optlab.first_order.gd(0.1)``).
      problem: the objective.
      x0: starting point, shape ``(problem.dim,)``, finite.
      num_steps: number of steps ``N ≥ 1``.
      key: PRNG key; required with ``batch_size``.
      batch_size: if given, each step uses a mini-batch gradient of that many
        indices drawn with replacement (``problem`` must be a finite sum).

    Returns:
      A :class:`Trace` with ``N + 1`` rows; values and gradient norms are exact
      (full-batch) even in stochastic runs.
    """
    x0 = jnp.asarray(x0)
    _validate(problem, x0, num_steps, batch_size)
    if batch_size is not None and key is None:
        raise ValueError("a stochastic run (batch_size given) needs a PRNG key")
    return _scan(optimizer, problem, x0, num_steps, key, batch_size)


def compile_sweep(
    make_optimizer: Callable[[Any], optax.GradientTransformation],
    problem: Problem,
    num_steps: int,
    *,
    batch_size: Optional[int] = None,
    with_keys: bool = False,
) -> Callable[..., Trace]:
    """A jitted ``(hyperparams, x0[, keys]) -> Trace`` sweep, compiled once and reusable.

    :func:`sweep` builds (and compiles) a new function on every call; keep the
    result of ``compile_sweep`` when the same sweep runs many times (benchmarks,
    live widgets).  Arguments are as in :func:`sweep`.
    """
    if batch_size is not None and not with_keys:
        raise ValueError("a stochastic sweep (batch_size given) needs keys: pass with_keys=True")

    def one(h, x0, key):
        return _scan(make_optimizer(h), problem, x0, num_steps, key, batch_size)

    if not with_keys:
        return jax.jit(jax.vmap(lambda h, x0: one(h, x0, None), in_axes=(0, None)))
    return jax.jit(jax.vmap(lambda h, x0, keys: jax.vmap(lambda k: one(h, x0, k))(keys),
                            in_axes=(0, None, None)))


def sweep(
    make_optimizer: Callable[[Any], optax.GradientTransformation],
    hyperparams: Any,
    problem: Problem,
    x0: Array,
    num_steps: int,
    *,
    keys: Optional[Array] = None,
    batch_size: Optional[int] = None,
) -> Trace:
    """Run ``make_optimizer(h)`` for every ``h`` in ``hyperparams`` in one compiled call.

    Args:
      make_optimizer: ``h ↦ optimizer``, traceable in ``h`` (e.g.
        ``lambda eta: optlab.first_order.gd(eta)``).
      hyperparams: an array (or pytree of arrays) whose leading axis indexes
        the configurations, e.g. ``jnp.linspace(0.1, 2.0, 1000)``.
      problem, x0, num_steps, batch_size: as in :func:`run`.
      keys: optional batch of PRNG keys, shape ``(S,)``; every configuration is
        then run once per key.

    Returns:
      A :class:`Trace` whose arrays have a leading axis of size ``H`` (and a
      second of size ``S`` when ``keys`` is given).
    """
    x0 = jnp.asarray(x0)
    _validate(problem, x0, num_steps, batch_size)
    leaves = jax.tree_util.tree_leaves(hyperparams)
    if not leaves or any(jnp.ndim(leaf) == 0 for leaf in leaves):
        raise ValueError("hyperparams must have a leading axis indexing the configurations")
    _checks.require_finite("hyperparams", hyperparams)
    if batch_size is not None and keys is None:
        raise ValueError("a stochastic sweep (batch_size given) needs keys")
    fn = compile_sweep(make_optimizer, problem, num_steps, batch_size=batch_size,
                       with_keys=keys is not None)
    return fn(hyperparams, x0) if keys is None else fn(hyperparams, x0, keys)
