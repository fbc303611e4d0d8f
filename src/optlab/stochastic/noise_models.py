"""Additive-noise gradient oracles (Gaussian, Student-t, Pareto, discrete) for clipping bias
and heavy tails (chapter 3)."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from .. import _checks
from .._types import Array, Float, PRNGKeyArray
from ..problems import Problem
from ..runner import _merge  # one policy for static/dynamic parts of optimizers and problems
from ._common import (
    _FS,
    _blocked,
    _check_optimizer,
    _check_record,
    _check_x0,
    _finish,
    _fs_split,
    _require_key,
    _scalar,
)
from .results import StochasticTrace

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
