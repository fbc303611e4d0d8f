"""Run any optimizer on a :class:`~optlab.problems.Problem` inside ``lax.scan``.

:func:`run` executes ``num_steps`` steps of an optax-style transformation as one
compiled loop and returns a :class:`Trace` of the whole trajectory (optionally
reporting another point than the iterate, ``eval_params``); :func:`run_loss` runs the
same loop on a plain loss of a parameter pytree.
:func:`sweep` vectorizes that loop (``vmap``) over hyper-parameters (and, optionally, over
random seeds), so a sweep of a thousand step sizes is a single compiled call.

Compilation is cached: :func:`run`, :func:`run_loss` and :func:`sweep` go through module-level
``jax.jit`` functions whose static arguments are the optimizer, the objective and
the loop's configuration, and whose dynamic arguments are the arrays (``x0``, the
PRNG keys, the hyper-parameters, and the data of the built-in problems, which are
``jax.tree_util.Partial`` objects).  A second call with new data of the same shape
does not trace or compile again.  optlab's own optimizers carry a key made of their
hyper-parameters, so ``gd(0.5)`` built twice hits the same compiled loop; any other
optax transformation is cached on the object itself (reuse it to reuse the loop).
"""

from __future__ import annotations

import functools
import types
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from . import _checks
from ._types import Array, Float, Key, PRNGKeyArray
from .problems import Problem

__all__ = ["Trace", "run", "run_loss", "sweep", "compile_sweep"]


# Number of times the loop bodies were traced (a Python-side counter: tracing, not
# running, increments it).  Tests use it to prove that a second call does not retrace.
_TRACE_COUNT = {"run": 0, "sweep": 0}


class Trace(NamedTuple):
    """The trajectory of a run, with the initial point included (``num_steps + 1`` rows).

    The result of every run loop that drives an optax transformation
    (:func:`run`, :func:`run_loss`, :func:`sweep`).

    Attributes:
      params: the final point ``x_N``, shape ``(d,)`` (a pytree like the
        parameters for :func:`run_loss`).
      iterates: the history ``x_0, …, x_N``, shape ``(N + 1, d)``, or ``None`` when
        the run did not record it.
      values: exact objective values ``f(x_k)``, shape ``(N + 1,)``.
      grad_norms: exact gradient norms ``‖∇f(x_k)‖``, shape ``(N + 1,)``.

    A :func:`sweep` adds leading axes (one per hyper-parameter, one per key) to
    every field.
    """

    params: Array
    iterates: Float[Array, "N+1 d"] | None
    values: Float[Array, " N+1"]
    grad_norms: Float[Array, " N+1"]

    def suboptimality(self, f_star: float) -> Float[Array, " N+1"]:
        """``f(x_k) − f*`` along the run."""
        return self.values - f_star

    def distances(self, x_star: Float[Array, " d"]) -> Float[Array, " N+1"]:
        """``‖x_k − x*‖`` along the run."""
        if self.iterates is None:
            raise ValueError("this run did not record its iterates")
        return jnp.linalg.norm(self.iterates - x_star, axis=-1)


# --------------------------------------------------------------------------- static keys
class _Id:
    """Hash and compare an object by identity (for unhashable or array-like objects)."""

    __slots__ = ("obj",)

    def __init__(self, obj):
        self.obj = obj

    def __hash__(self):
        return id(self.obj)

    def __eq__(self, other):
        return isinstance(other, _Id) and other.obj is self.obj


class _Keyed:
    """Hash and compare by ``key``; carries ``obj`` (the first object seen with that key)."""

    __slots__ = ("key", "obj")

    def __init__(self, key, obj):
        self.key = key
        self.obj = obj

    def __hash__(self):
        return hash(self.key)

    def __eq__(self, other):
        return isinstance(other, _Keyed) and other.key == self.key


def _hashable(v: Any) -> Any:
    """A hashable stand-in for ``v``: plain scalars by (type, value), the rest by identity."""
    if v is None or type(v) in (bool, int, float, complex, str, bytes):
        return (type(v).__name__, v)
    return _Id(v)


def _code_names(code: types.CodeType) -> set:
    names = set(code.co_names)
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            names |= _code_names(c)
    return names


def _function_key(f: Callable) -> Any:
    """A key under which two callables behave the same.

    A plain Python function (a ``lambda`` written in a loop, say) is keyed by its
    code, the contents of its closure, its defaults and the globals its code
    refers to, so the same ``lambda`` re-created with the same environment hits
    the cache; every other callable is keyed by identity.
    """
    if not isinstance(f, types.FunctionType):
        return _Keyed(_hashable(f), f)
    try:
        cells = tuple(_hashable(c.cell_contents) for c in (f.__closure__ or ()))
    except ValueError:  # an empty cell: fall back to identity
        return _Keyed(_Id(f), f)
    defaults = tuple(_hashable(d) for d in (f.__defaults__ or ()))
    kwdefaults = tuple(sorted((k, _hashable(v)) for k, v in (f.__kwdefaults__ or {}).items()))
    glob = f.__globals__
    globs = tuple(sorted((n, _hashable(glob[n])) for n in _code_names(f.__code__) if n in glob))
    return _Keyed(("function", f.__code__, cells, defaults, kwdefaults, globs), f)


def _static_leaf(leaf: Any) -> Any:
    key = getattr(leaf, "_optlab_key", None)
    if key is not None:  # optlab's optimizers: keyed by method and hyper-parameters
        return _Keyed(key, leaf)
    try:
        hash(leaf)
    except TypeError:
        return _Id(leaf)
    return _Keyed(_hashable(leaf) if type(leaf) in (bool, int, str, type(None)) else leaf, leaf)


def _is_dynamic(leaf: Any) -> bool:
    if isinstance(leaf, (bool, np.bool_)):
        return False
    return isinstance(leaf, (jax.Array, np.ndarray, float, complex, np.floating))


def _split(tree: Any) -> tuple[Any, list]:
    """Split a pytree into a hashable static part and a list of array leaves."""
    leaves, treedef = jax.tree_util.tree_flatten(tree)
    dynamic = [leaf for leaf in leaves if _is_dynamic(leaf)]
    static = tuple(None if _is_dynamic(leaf) else _static_leaf(leaf) for leaf in leaves)
    return (treedef, static), dynamic


def _merge(static: Any, dynamic: list) -> Any:
    treedef, static_leaves = static
    it = iter(dynamic)
    leaves = [next(it) if s is None else s.obj for s in static_leaves]
    return jax.tree_util.tree_unflatten(treedef, leaves)


# --------------------------------------------------------------------------- the loop
def _validate(problem: Problem, x0: Array, num_steps: int, batch_size: int | None) -> jax.Array:
    if not isinstance(problem, Problem):
        raise TypeError(f"problem must be an optlab.problems.Problem, got {type(problem).__name__}")
    _checks.require_int("num_steps", num_steps, minimum=1)
    x0 = _checks.as_float_array("x0", x0)
    _checks.require_shape("x0", x0, (problem.dim,))
    if batch_size is not None:
        _checks.require_int("batch_size", batch_size, minimum=1)
        if problem.n_samples is None:
            raise ValueError(f"batch_size was given but problem {problem.name!r} is not a finite sum")
        if batch_size > problem.n_samples:
            raise ValueError(f"batch_size={batch_size} exceeds the number of samples n={problem.n_samples}")
    return x0


def _require_optimizer(optimizer: Any) -> None:
    if not (callable(getattr(optimizer, "init", None)) and callable(getattr(optimizer, "update", None))):
        raise TypeError(
            "optimizer must be an optax.GradientTransformation (with init and update), "
            f"got {type(optimizer).__name__}"
        )


def _global_norm(tree: Any) -> Array:
    """``‖g‖`` over every leaf of a pytree (the Euclidean norm of the concatenated leaves)."""
    return jnp.sqrt(sum(jnp.vdot(x, x).real for x in jax.tree_util.tree_leaves(tree)))


def _scan(
    optimizer: optax.GradientTransformation,
    value_fn: Callable,
    sample_value: Callable | None,
    n_samples: int | None,
    x0: Any,
    num_steps: int,
    key: Array | None,
    batch_size: int | None,
    eval_params: Callable | None = None,
    pytree: bool = False,
    record: bool = True,
) -> Trace:
    """The one loop: ``num_steps`` optimizer steps in a ``lax.scan``.

    Every step calls ``optimizer.update(g, state, x, value=f, fun=objective)`` where
    ``objective`` is the function whose gradient ``g`` is (the mini-batch loss in a
    stochastic run), then records the point to report: ``x`` itself, or
    ``eval_params(state, x)``, with the exact objective and gradient norm there.
    ``pytree`` runs on a deterministic loss of a parameter pytree (gradient norms over all
    its leaves; ``f`` and ``∇f`` are taken at the start of each step, where a Problem run
    carries them from the end of the previous one: one evaluation per step either way);
    ``record=False`` leaves ``iterates`` as ``None``.
    """
    optimizer = optax.with_extra_args_support(optimizer)
    full_value_and_grad = jax.value_and_grad(value_fn)
    norm = _global_norm if pytree else jnp.linalg.norm

    def oracle(x, k):
        idx = jax.random.choice(k, n_samples, (batch_size,), replace=True)
        return jax.value_and_grad(sample_value)(x, idx), lambda y: sample_value(y, idx)

    def step(carry, k):
        # the carry holds f and ∇f at the reported point; when that is the iterate
        # itself, a deterministic run evaluates the objective once per step, not twice
        x, state, f, g = carry
        if batch_size is not None:
            (value, grad), objective = oracle(x, k)
        elif eval_params is None:
            (value, grad), objective = (f, g), value_fn
        else:
            (value, grad), objective = full_value_and_grad(x), value_fn
        updates, state = optimizer.update(grad, state, x, value=value, fun=objective)
        x = optax.apply_updates(x, updates)
        z = x if eval_params is None else eval_params(state, x)
        f, g = full_value_and_grad(z)
        return (x, state, f, g), (z if record else None, f, norm(g))

    def loss_step(carry, _):
        # a loss of a pytree: evaluate at the start of the step, where the gradient is taken
        x, state = carry
        value, grad = full_value_and_grad(x)
        updates, state = optimizer.update(grad, state, x, value=value, fun=value_fn)
        x = optax.apply_updates(x, updates)
        return (x, state), (x if record else None, value, norm(grad))

    if pytree:
        (x, _), (zs, fs, gs) = jax.lax.scan(loss_step, (x0, optimizer.init(x0)), None, length=num_steps)
        f_last, g_last = full_value_and_grad(x)
        values, grad_norms = jnp.concatenate([fs, f_last[None]]), jnp.concatenate([gs, norm(g_last)[None]])
    else:
        keys = (
            jax.random.split(key, num_steps) if key is not None else jnp.zeros((num_steps,), dtype=jnp.uint32)
        )
        f0, g0 = full_value_and_grad(x0)
        (x, _, _, _), (zs, fs, gs) = jax.lax.scan(step, (x0, optimizer.init(x0), f0, g0), keys)
        values, grad_norms = jnp.concatenate([f0[None], fs]), jnp.concatenate([norm(g0)[None], gs])
    if record:
        params = jax.tree_util.tree_map(lambda a: a[-1], zs)
        iterates = jax.tree_util.tree_map(lambda a0, a: jnp.concatenate([a0[None], a]), x0, zs)
    else:
        params, iterates = x, None
    return Trace(params=params, iterates=iterates, values=values, grad_norms=grad_norms)


@functools.partial(
    jax.jit, static_argnames=("static", "n_samples", "num_steps", "batch_size", "pytree", "record")
)
def _run_compiled(dynamic, x0, key, *, static, n_samples, num_steps, batch_size, pytree, record):
    _TRACE_COUNT["run"] += 1
    optimizer, value_fn, sample_value, eval_params = _merge(static, dynamic)
    return _scan(
        optimizer,
        value_fn,
        sample_value,
        n_samples,
        x0,
        num_steps,
        key,
        batch_size,
        eval_params=eval_params,
        pytree=pytree,
        record=record,
    )


def run(
    optimizer: optax.GradientTransformation,
    problem: Problem,
    x0: Float[Array, " d"],
    *,
    num_steps: int,
    key: PRNGKeyArray | None = None,
    batch_size: int | None = None,
    eval_params: Callable[[Any, Any], Any] | None = None,
) -> Trace:
    """Run ``optimizer`` on ``problem`` from ``x0`` for ``num_steps`` steps.

    The loop is one ``lax.scan``, compiled once per optimizer, problem, shape,
    ``num_steps`` and ``eval_params`` (a second call with a new ``x0``, new keys, or a
    built-in problem with new data of the same shape reuses it).  ``run`` itself is
    traceable, so it can be ``jit``-ed or ``vmap``-ed (see :func:`sweep`).  Every step
    calls ``optimizer.update(g, state, x, value=f, fun=objective)``, so methods that
    need the objective value (Polyak) or the objective itself (AdaHessian's Hessian
    probes) work unchanged.

    Args:
      optimizer: an ``optax.GradientTransformation`` (e.g. ``optlab.first_order.gd(0.1)``).
      problem: the objective, an :class:`optlab.problems.Problem`.
      x0: starting point, shape ``(problem.dim,)``, finite; lists and integer
        arrays are converted to floats.
      num_steps: number of steps ``N ≥ 1`` (a Python integer).
      key: PRNG key (``jax.random.key(seed)``); required with ``batch_size``.
      batch_size: if given, each step uses a mini-batch gradient of that many
        indices drawn with replacement (``problem`` must be a finite sum).
      eval_params: optional ``(state, params) ↦ point to report``, for methods whose
        gradient point is not the point to report (Schedule-Free's ``y_t`` vs its
        average ``x_t``, :func:`optlab.accel.schedule_free_eval_params`); by default
        the iterate itself.

    Returns:
      A :class:`Trace`: the final point ``params`` and ``N + 1`` rows of ``iterates``,
      ``values`` and ``grad_norms``; values and gradient norms are exact
      (full-batch) even in stochastic runs.  With ``eval_params``, ``iterates`` holds
      ``x_0`` and the ``N`` points ``eval_params(state_k, params_k)``, ``params`` the
      last of them, and ``values`` / ``grad_norms`` are taken there.

    Raises:
      TypeError: ``optimizer`` is not a transformation, ``problem`` not a Problem,
        ``x0`` not numeric, ``num_steps``/``batch_size`` not integers, ``key`` not a
        PRNG key, ``eval_params`` not callable.
      ValueError: ``x0`` has the wrong shape or a NaN/inf, ``num_steps < 1``, or
        ``batch_size`` is invalid for the problem or given without a key.
    """
    _require_optimizer(optimizer)
    x0 = _validate(problem, x0, num_steps, batch_size)
    if eval_params is not None:
        _checks.require_callable("eval_params", eval_params)
    if key is not None:
        _checks.require_key("key", key)
    if batch_size is not None and key is None:
        raise ValueError(
            "a stochastic run (batch_size given) needs a PRNG key: pass key=jax.random.key(seed)"
        )
    if batch_size is None:
        key = None  # a deterministic run ignores the key
    static, dynamic = _split((optimizer, problem.value, problem.sample_value, eval_params))
    return _run_compiled(
        dynamic,
        x0,
        key,
        static=static,
        n_samples=problem.n_samples,
        num_steps=num_steps,
        batch_size=batch_size,
        pytree=False,
        record=True,
    )


def run_loss(
    optimizer: optax.GradientTransformation,
    loss: Callable[[Any], Float[Array, ""]],
    params0: Any,
    *,
    num_steps: int,
    return_iterates: bool = False,
) -> Trace:
    """Run ``optimizer`` on a deterministic ``loss`` of a parameter pytree for ``num_steps`` steps.

    The same compiled loop as :func:`run`, for an objective given as a plain function
    rather than a :class:`~optlab.problems.Problem` (a matrix, a dict of layers, any
    pytree of parameters).  Every step calls ``optimizer.update(g, state, params,
    value=loss(params), fun=loss)`` (plain optax transformations ignore the extra
    arguments; :func:`optlab.second_order.adahessian` probes the Hessian through
    ``fun``).  Compiled once per optimizer, ``loss`` function, parameter shapes,
    ``num_steps`` and ``return_iterates``: reuse the same objects to run again from
    new starting points without recompiling.  Traceable, so it can be ``vmap``-ed
    over starting points or over data that ``loss`` closes over.

    Args:
      optimizer: an ``optax.GradientTransformation``.
      loss: scalar function of the parameter pytree.
      params0: starting parameters, a pytree of finite float arrays (lists and
        integers are converted).
      num_steps: number of steps ``N ≥ 1`` (a Python integer).
      return_iterates: record every ``params_k`` (a pytree whose leaves gain a
        leading axis of ``N + 1``); by default ``iterates`` is ``None``.

    Returns:
      A :class:`Trace` with the final ``params`` and ``values[k] = loss(params_k)``,
      ``grad_norms[k] = ‖∇loss(params_k)‖`` (over all leaves), ``k = 0..N``.

    Raises:
      TypeError: ``optimizer`` not a transformation, ``loss`` not callable or failing
        on ``params0``, non-numeric parameters, ``num_steps`` not an integer,
        ``return_iterates`` not a bool.
      ValueError: ``num_steps < 1``, empty or non-finite ``params0``, ``loss`` not scalar.
    """
    _require_optimizer(optimizer)
    _checks.require_callable("loss", loss)
    params0 = _checks.as_float_tree("params0", params0)
    _checks.require_int("num_steps", num_steps, minimum=1)
    if not isinstance(return_iterates, (bool, np.bool_)):
        raise TypeError(f"return_iterates must be True or False, got {type(return_iterates).__name__}")
    _checks.require_scalar_function("loss", loss, params0)
    static, dynamic = _split((optimizer, loss, None, None))
    return _run_compiled(
        dynamic,
        params0,
        None,
        static=static,
        n_samples=None,
        num_steps=num_steps,
        batch_size=None,
        pytree=True,
        record=bool(return_iterates),
    )


def compile_sweep(
    make_optimizer: Callable[[Any], optax.GradientTransformation],
    problem: Problem,
    *,
    num_steps: int,
    batch_size: int | None = None,
    with_keys: bool = False,
) -> Callable[..., Trace]:
    """A jitted ``(hyperparams, x0[, keys]) -> Trace`` sweep, compiled once and reusable.

    :func:`sweep` caches its compiled loops too; ``compile_sweep`` hands the
    compiled function to the caller (benchmarks, live widgets).

    Args:
      make_optimizer, problem, num_steps, batch_size: as in :func:`sweep`.
      with_keys: whether the returned function takes a batch of PRNG keys.

    Returns:
      ``fn(hyperparams, x0)`` (or ``fn(hyperparams, x0, keys)`` with ``with_keys``).

    Raises:
      TypeError: ``make_optimizer`` is not callable, ``problem`` not a Problem,
        ``num_steps``/``batch_size`` not integers.
      ValueError: ``num_steps < 1``, or a stochastic sweep without keys.
    """
    _checks.require_callable("make_optimizer", make_optimizer)
    _validate(
        problem, jnp.zeros(problem.dim) if isinstance(problem, Problem) else None, num_steps, batch_size
    )
    if not isinstance(with_keys, (bool, np.bool_)):
        raise TypeError(f"with_keys must be a bool, got {type(with_keys).__name__}")
    if batch_size is not None and not with_keys:
        raise ValueError("a stochastic sweep (batch_size given) needs keys: pass with_keys=True")

    def one(h, x0, key):
        return _scan(
            make_optimizer(h),
            problem.value,
            problem.sample_value,
            problem.n_samples,
            x0,
            num_steps,
            key,
            batch_size,
        )

    if not with_keys:
        return jax.jit(jax.vmap(lambda h, x0: one(h, x0, None), in_axes=(0, None)))
    return jax.jit(
        jax.vmap(lambda h, x0, keys: jax.vmap(lambda k: one(h, x0, k))(keys), in_axes=(0, None, None))
    )


@functools.partial(jax.jit, static_argnames=("static", "n_samples", "num_steps", "batch_size"))
def _sweep_compiled(hyperparams, dynamic, x0, keys, *, static, n_samples, num_steps, batch_size):
    _TRACE_COUNT["sweep"] += 1
    fn_key, problem_static = static
    make_optimizer = fn_key.obj
    value_fn, sample_value = _merge(problem_static, dynamic)

    def one(h, key):
        return _scan(make_optimizer(h), value_fn, sample_value, n_samples, x0, num_steps, key, batch_size)

    if keys is None:
        return jax.vmap(lambda h: one(h, None))(hyperparams)
    return jax.vmap(lambda h: jax.vmap(lambda k: one(h, k))(keys))(hyperparams)


def sweep(
    make_optimizer: Callable[[Any], optax.GradientTransformation],
    hyperparams: Any,
    problem: Problem,
    x0: Float[Array, " d"],
    *,
    num_steps: int,
    keys: Key[Array, " S"] | None = None,
    batch_size: int | None = None,
) -> Trace:
    """Run ``make_optimizer(h)`` for every ``h`` in ``hyperparams`` in one compiled call.

    The compiled loop is cached on ``make_optimizer`` (a ``lambda`` re-created with
    the same code and environment counts as the same), the problem, the shapes and
    ``num_steps``: a second call with new hyper-parameter values, a new ``x0`` or
    new keys of the same shapes does not compile again.

    Args:
      make_optimizer: ``h ↦ optimizer``, traceable in ``h`` (e.g.
        ``lambda eta: optlab.first_order.gd(eta)``).
      hyperparams: an array (or pytree of arrays) whose leading axis indexes
        the configurations, e.g. ``jnp.linspace(0.1, 2.0, 1000)``; lists and
        integer arrays are converted to floats.
      problem, x0, num_steps, batch_size: as in :func:`run`.
      keys: optional batch of PRNG keys, shape ``(S,)``; every configuration is
        then run once per key.

    Returns:
      A :class:`Trace` whose arrays have a leading axis of size ``H`` (and a
      second of size ``S`` when ``keys`` is given).

    Raises:
      TypeError: ``make_optimizer`` is not callable, ``keys`` are not PRNG keys,
        or an argument has the wrong type (see :func:`run`).
      ValueError: ``hyperparams`` has no leading axis, leaves of different lengths
        or a NaN/inf, ``keys`` is not a 1-D batch, or an argument of :func:`run` is invalid.
    """
    _checks.require_callable("make_optimizer", make_optimizer)
    x0 = _validate(problem, x0, num_steps, batch_size)
    if hyperparams is None or isinstance(hyperparams, (str, bytes)):
        raise TypeError(
            f"hyperparams must be an array or a pytree of arrays, got {type(hyperparams).__name__}"
        )
    if isinstance(hyperparams, list) and all(
        isinstance(h, (int, float, np.number)) and not isinstance(h, (bool, np.bool_)) for h in hyperparams
    ):
        hyperparams = _checks.as_float_array("hyperparams", hyperparams, finite=False)
    hyperparams = jax.tree_util.tree_map(
        lambda leaf: _checks.as_float_array("hyperparams", leaf, finite=False), hyperparams
    )
    leaves = jax.tree_util.tree_leaves(hyperparams)
    if not leaves or any(jnp.ndim(leaf) == 0 for leaf in leaves):
        raise ValueError("hyperparams must have a leading axis indexing the configurations, got a scalar")
    sizes = {jnp.shape(leaf)[0] for leaf in leaves}
    if len(sizes) != 1 or 0 in sizes:
        raise ValueError(
            f"hyperparams leaves must share one non-empty leading axis, got lengths {sorted(sizes)}"
        )
    _checks.require_finite("hyperparams", hyperparams)
    if keys is not None:
        _checks.require_key("keys", keys)
        typed = jax.dtypes.issubdtype(keys.dtype, jax.dtypes.prng_key)
        if jnp.ndim(keys) != (1 if typed else 2) or jnp.shape(keys)[0] == 0:
            raise ValueError(
                "keys must be a non-empty 1-D batch of PRNG keys, e.g. "
                f"jax.random.split(jax.random.key(0), S), got shape {tuple(jnp.shape(keys))}"
            )
    if batch_size is not None and keys is None:
        raise ValueError(
            "a stochastic sweep (batch_size given) needs keys: pass keys=jax.random.split(key, S)"
        )
    static, dynamic = _split((problem.value, problem.sample_value))
    return _sweep_compiled(
        hyperparams,
        dynamic,
        x0,
        keys,
        static=(_function_key(make_optimizer), static),
        n_samples=problem.n_samples,
        num_steps=num_steps,
        batch_size=batch_size,
    )
