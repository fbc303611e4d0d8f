"""Consensus-based optimisation (chapter 14)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from .._checks import (
    as_float_array,
    require_callable,
    require_int,
    require_key,
    require_nonnegative,
    require_positive,
)
from .._types import Array, Float, PRNGKeyArray
from ._common import _check_scalar, _dtype_scalar

# ---------------------------------------------------------------------------
# consensus-based optimisation
# ---------------------------------------------------------------------------


def consensus_point(
    particles: Float[Array, "N d"], values: Float[Array, " N"], alpha: float | Float[Array, ""]
) -> Float[Array, " d"]:
    r"""Laplace-principle consensus ``v_α = Σ_i x_i w_i``, ``w = softmax(−α f(x_i))``
    (computed with the max shift, so large ``α`` does not underflow).

    Args:
      particles: ``(N, d)`` cloud, ``N ≥ 1``.
      values: ``(N,)`` values ``f(x_i)``.
      alpha: ``α ≥ 0`` (scalar).

    Returns:
      ``(d,)`` consensus point.

    Raises:
      TypeError / ValueError: non-numeric or non-finite input, mismatched shapes, ``α < 0``.
    """
    particles = as_float_array("particles", particles, ndim=2)
    values = as_float_array("values", values, ndim=1)
    if jnp.shape(particles)[0] < 1:
        raise ValueError("particles must contain at least one particle")
    if jnp.shape(values)[0] != jnp.shape(particles)[0]:
        raise ValueError(
            f"values must have one entry per particle, got {jnp.shape(values)[0]} "
            f"values for {jnp.shape(particles)[0]} particles"
        )
    _check_scalar("alpha", alpha)
    require_nonnegative("alpha", alpha)
    return _consensus(particles, values, alpha)


# region: zo-consensus
def _consensus(particles, values, alpha):
    w = jax.nn.softmax(-alpha * values)
    return jnp.matmul(w, particles, precision=jax.lax.Precision.HIGHEST)


# endregion: zo-consensus


class CBOResult(NamedTuple):
    """Output of :func:`cbo`. The method iterates on the particle cloud; its estimate of the
    minimiser is the last consensus point ``consensus[-1]``.

    Attributes:
      params: the final ``(N, d)`` particle cloud.
      consensus: ``(T + 1, d)`` consensus points ``v_α``.
      consensus_values: ``f`` at the consensus points, ``(T + 1,)``.
      iterates: ``(T/record_every + 1, N, d)`` particle clouds every ``record_every`` steps,
        the start included (only the initial and final clouds when ``record_every`` is
        ``None``).
      spread: ``(T + 1,)`` mean distance ``‖x_i − v_α‖`` of the particles to the consensus.
    """

    params: Float[Array, "N d"]
    consensus: Float[Array, "T+1 d"]
    consensus_values: Float[Array, " T+1"]
    iterates: jax.Array
    spread: Float[Array, " T+1"]


def cbo(
    f: Callable,
    particles: Float[Array, "N d"],
    *,
    key: PRNGKeyArray,
    alpha: Any = 50.0,
    drift: Any = 1.0,
    noise: Any = 0.7,
    dt: Any = 0.02,
    num_steps: int = 500,
    anisotropic: bool = True,
    record_every: int | None = None,
) -> CBOResult:
    r"""Consensus-based optimisation (Euler–Maruyama), inside ``lax.scan``:

    ``x_i ← x_i − λ dt (x_i − v_α) + σ √dt D_i ξ_i``,  ``ξ_i ∼ N(0, I)``,

    with ``D_i = diag(x_i − v_α)`` (anisotropic) or ``‖x_i − v_α‖ I`` (isotropic),
    ``λ = drift``, ``σ = noise`` (Riedl, Klock, Geldhauser & Fornasier 2023).  Only
    values of ``f`` are used.  ``particles``: ``(N, d)`` initial cloud.  Compiled once per
    ``(f, anisotropic, num_steps, record_every)`` and shape.

    Args:
      f: scalar function of a ``(d,)`` array.
      particles: ``(N, d)`` initial cloud (lists / integer arrays are converted).
      key: a JAX PRNG key; an integer seed is refused.
      alpha, drift, noise: ``≥ 0``; dt: ``> 0``.
      num_steps: ``T ≥ 1``; record_every: divides ``T`` (default ``T``).
      anisotropic: the noise model.

    Returns:
      :class:`CBOResult`.

    Raises:
      TypeError: ``f`` not callable, ``key`` not a PRNG key, non-numeric arguments.
      ValueError: wrong shapes, non-finite particles, invalid hyper-parameters.
    """
    require_callable("f", f)
    particles = as_float_array("particles", particles, ndim=2)
    if jnp.shape(particles)[0] < 1 or jnp.shape(particles)[1] < 1:
        raise ValueError(
            f"particles must have shape (N, d) with N, d >= 1, got {tuple(jnp.shape(particles))}"
        )
    require_key("key", key)
    for name, v in (("alpha", alpha), ("drift", drift), ("noise", noise)):
        _check_scalar(name, v)
        require_nonnegative(name, v)
    _check_scalar("dt", dt)
    require_positive("dt", dt)
    require_int("num_steps", num_steps, minimum=1)
    every = num_steps if record_every is None else record_every
    require_int("record_every", every, minimum=1)
    if num_steps % every:
        raise ValueError(f"record_every ({every}) must divide num_steps ({num_steps})")
    try:
        out = jax.eval_shape(jax.vmap(f), particles)
    except (TypeError, ValueError) as err:
        raise ValueError(
            f"f cannot be evaluated on the particles of shape {tuple(jnp.shape(particles))}: {err}"
        ) from None
    if tuple(out.shape) != (jnp.shape(particles)[0],):
        raise ValueError(f"f must return a scalar per particle, got output shape {tuple(out.shape)}")
    fdt = particles.dtype
    return _cbo(
        f,
        bool(anisotropic),
        num_steps,
        every,
        particles,
        key,
        *(_dtype_scalar(v, fdt) for v in (alpha, drift, noise, dt)),
    )


@functools.partial(jax.jit, static_argnums=(0, 1, 2, 3))
def _cbo(f, anisotropic, num_steps, every, particles, key, alpha, drift, noise, dt):
    fv = jax.vmap(f)

    def consensus(X):
        return _consensus(X, fv(X), alpha)

    # region: zo-cbo-step
    def step(X, k):
        v = consensus(X)
        diff = X - v
        xi = jax.random.normal(k, X.shape, dtype=X.dtype)
        scale = diff if anisotropic else jnp.linalg.norm(diff, axis=1, keepdims=True)
        X_new = X - drift * dt * diff + noise * jnp.sqrt(dt) * scale * xi
        v_new = consensus(X_new)
        return X_new, (v_new, jnp.mean(jnp.linalg.norm(X_new - v_new, axis=1)))

    # endregion: zo-cbo-step

    def chunk(X, ks):
        X, (vs, sp) = jax.lax.scan(step, X, ks)
        return X, (vs, sp, X)

    keys = jax.random.split(key, num_steps).reshape((num_steps // every, every) + key.shape)
    XT, (vs, sps, snaps) = jax.lax.scan(chunk, particles, keys)
    v0 = consensus(particles)
    vs = jnp.concatenate([v0[None], vs.reshape(-1, particles.shape[1])])
    spread = jnp.concatenate([jnp.mean(jnp.linalg.norm(particles - v0, axis=1))[None], sps.reshape(-1)])
    iterates = jnp.concatenate([particles[None], snaps])
    return CBOResult(XT, vs, fv(vs), iterates, spread)
