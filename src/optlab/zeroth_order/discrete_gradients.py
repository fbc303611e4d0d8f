"""Gradients through discrete latent variables: REINFORCE, straight-through and ReinMax
(chapter 14)."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from .._checks import (
    as_float_array,
    require_callable,
    require_int,
    require_key,
    require_positive,
)
from .._types import Array, Float, PRNGKeyArray
from ._common import _check_scalar

# ---------------------------------------------------------------------------
# discrete latent variables: REINFORCE and straight-through
# ---------------------------------------------------------------------------

_DISTS = ("bernoulli", "categorical")


def _check_logits(f, logits, distribution):
    require_callable("f", f)
    if not isinstance(distribution, str) or distribution not in _DISTS:
        raise ValueError(f"distribution must be one of {_DISTS}, got {distribution!r}")
    logits = as_float_array("logits", logits, ndim=1)
    if logits.shape[0] < 1:
        raise ValueError("logits must have at least one entry, got shape (0,)")
    if distribution == "categorical" and logits.shape[0] < 2:
        raise ValueError(f"a categorical distribution needs at least 2 logits, got {logits.shape[0]}")
    return logits


def _check_discrete(f, logits, key, num_samples, distribution):
    """The arguments of a Monte Carlo gradient estimator over a discrete distribution
    (REINFORCE, straight-through, ReinMax): ``logits`` as :func:`_check_logits` returns them,
    after checking ``key`` and ``num_samples ≥ 1``."""
    logits = _check_logits(f, logits, distribution)
    require_key("key", key)
    require_int("num_samples", num_samples, minimum=1)
    return logits


def bernoulli_expectation(f: Callable, logits: Float[Array, " n"]) -> Float[Array, ""]:
    r"""Exact ``E f(z)`` for independent bits ``z_i ∼ Bernoulli(σ(θ_i))`` by enumerating
    all ``2ⁿ`` configurations (``n ≤ 16``); differentiable in ``logits``.

    Args:
      f: scalar function of an ``(n,)`` 0/1 vector.
      logits: ``(n,)`` logits ``θ`` (lists / ints converted).

    Returns:
      the scalar ``E f(z)``.

    Raises:
      TypeError / ValueError: ``f`` not callable, bad ``logits``, ``n > 16``.
    """
    logits = _check_logits(f, logits, "bernoulli")
    n = logits.shape[0]
    if n > 16:
        raise ValueError(f"enumeration needs at most 16 bits (logits of length n <= 16), got {n}")
    Z = jnp.asarray(list(itertools.product([0.0, 1.0], repeat=n)), dtype=logits.dtype)
    logp = Z @ jax.nn.log_sigmoid(logits) + (1 - Z) @ jax.nn.log_sigmoid(-logits)
    return jnp.sum(jnp.exp(logp) * jax.vmap(f)(Z))


def categorical_expectation(f: Callable, logits: Float[Array, " K"]) -> Float[Array, ""]:
    r"""Exact ``E f(z) = Σ_k softmax(θ)_k f(e_k)`` for a one-hot ``z`` over ``K`` classes.

    Args:
      f: scalar function of a ``(K,)`` one-hot vector.
      logits: ``(K,)`` logits, ``K ≥ 2``.

    Returns:
      the scalar ``E f(z)``.

    Raises:
      TypeError / ValueError: ``f`` not callable, bad ``logits``.
    """
    logits = _check_logits(f, logits, "categorical")
    K = logits.shape[0]
    return jnp.sum(jax.nn.softmax(logits) * jax.vmap(f)(jnp.eye(K, dtype=logits.dtype)))


def _sample(key, logits, num_samples, distribution):
    """Samples (``(S, n)`` bits or one-hot rows) and the mean ``p`` (``σ(θ)`` / ``softmax(θ)``)."""
    if distribution == "bernoulli":
        p = jax.nn.sigmoid(logits)
        z = jax.random.bernoulli(key, p, (num_samples,) + logits.shape).astype(logits.dtype)
    else:
        p = jax.nn.softmax(logits)
        idx = jax.random.categorical(key, logits, shape=(num_samples,))
        z = jax.nn.one_hot(idx, logits.shape[0], dtype=logits.dtype)
    return z, p


def reinforce_grad(
    f: Callable,
    logits: Float[Array, " n"],
    *,
    key: PRNGKeyArray,
    num_samples: int = 1,
    distribution: str = "bernoulli",
    baseline: str | Float[ArrayLike, ""] = "none",
) -> Float[Array, " n"]:
    r"""Score-function (REINFORCE) estimate of ``∇_θ E f(z)`` (Williams 1992):
    ``ĝ = (1/S) Σ_s (f(z_s) − b_s) ∇_θ log p_θ(z_s)`` with ``∇_θ log p_θ(z) = z − p``
    for both Bernoulli logits and softmax logits.

    ``baseline``: ``"none"``; ``"loo"`` (leave-one-out: ``b_s`` is the mean of the
    other samples' ``f``, still unbiased, needs ``num_samples ≥ 2``); or a number.

    Args:
      f: scalar function of a sample ``z``.
      logits: ``(n,)`` logits (lists / ints converted).
      key: a JAX PRNG key; an integer seed is refused.
      num_samples: ``S ≥ 1``.
      distribution: ``"bernoulli"`` or ``"categorical"``.
      baseline: ``"none"``, ``"loo"`` or a finite number.

    Returns:
      ``(n,)`` estimate.

    Raises:
      TypeError / ValueError: invalid ``f``, ``logits``, ``key``, ``num_samples``,
      ``distribution`` or ``baseline``.
    """
    logits = _check_discrete(f, logits, key, num_samples, distribution)
    if isinstance(baseline, str):
        if baseline not in ("none", "loo"):
            raise ValueError(f"baseline must be 'none', 'loo' or a number, got {baseline!r}")
        if baseline == "loo" and num_samples < 2:
            raise ValueError("the leave-one-out baseline needs num_samples >= 2")
    else:
        _check_scalar("baseline", baseline)
        baseline = as_float_array("baseline", baseline)
    z, p = _sample(key, logits, num_samples, distribution)
    fz = jax.vmap(f)(z)
    if isinstance(baseline, str) and baseline == "loo":
        b = (jnp.sum(fz) - fz) / (num_samples - 1)
    elif isinstance(baseline, str):
        b = 0.0
    else:
        b = baseline
    return jnp.mean((fz - b)[:, None] * (z - p), axis=0)


def straight_through_grad(
    f: Callable,
    logits: Float[Array, " n"],
    *,
    key: PRNGKeyArray,
    num_samples: int = 1,
    distribution: str = "bernoulli",
) -> Float[Array, " n"]:
    r"""Straight-through estimate (Bengio, Léonard & Courville 2013): the forward pass
    uses the hard sample ``z``, the backward pass treats ``z`` as its mean ``p``:
    ``z_ST = p + stop_gradient(z − p)`` and ``ĝ = ∇_θ (1/S) Σ_s f(z_ST,s)``, i.e.
    ``ĝ = (∂p/∂θ)ᵀ ∇f(z)``.  ``f`` must be differentiable on ℝⁿ / ℝᴷ.  Exact for ``f``
    affine in ``z``, biased otherwise: a first-order approximation (Liu et al. 2023).

    Args:
      f: differentiable scalar function of a sample ``z``.
      logits: ``(n,)`` logits (lists / ints converted).
      key: a JAX PRNG key; an integer seed is refused.
      num_samples: ``S ≥ 1``.
      distribution: ``"bernoulli"`` or ``"categorical"``.

    Returns:
      ``(n,)`` estimate.

    Raises:
      TypeError / ValueError: invalid ``f``, ``logits``, ``key``, ``num_samples`` or
      ``distribution``.
    """
    logits = _check_discrete(f, logits, key, num_samples, distribution)
    # region: zo-straight-through
    z, _ = _sample(key, logits, num_samples, distribution)
    z = jax.lax.stop_gradient(z)

    def surrogate(th):
        p = jax.nn.sigmoid(th) if distribution == "bernoulli" else jax.nn.softmax(th)
        z_st = p + jax.lax.stop_gradient(z - p)
        return jnp.mean(jax.vmap(f)(z_st))

    return jax.grad(surrogate)(logits)
    # endregion: zo-straight-through


def _reinmax_from_samples(f, logits, z, distribution, temperature):
    """ReinMax on given samples ``z`` (``(S, n)`` bits or one-hot rows): the mean over the
    samples of ``(2 J(π₁) − ½ J(π₀))ᵀ ∇f(z)`` (see :func:`reinmax_grad`)."""
    z = jax.lax.stop_gradient(z)

    # region: zo-reinmax
    def surrogate(th):
        if distribution == "bernoulli":
            p0 = jax.nn.sigmoid(th)
            p1 = 0.5 * (z + jax.nn.sigmoid(th / temperature))  # π₁ = (z + σ(θ/τ))/2
            tiny = jnp.finfo(p1.dtype).eps
            th1 = jax.scipy.special.logit(jnp.clip(p1, tiny, 1 - tiny))
            # value π₁, derivative σ'(θ₁) = π₁(1 − π₁): the slope of the chord's midpoint
            p1 = jax.nn.sigmoid(jax.lax.stop_gradient(th1 - th) + th)
        else:
            p0 = jax.nn.softmax(th)
            p1 = 0.5 * (z + jax.nn.softmax(th / temperature))
            log_p1 = jnp.log(jnp.maximum(p1, jnp.finfo(p1.dtype).tiny))
            # value π₁, Jacobian diag(π₁) − π₁π₁ᵀ
            p1 = jax.nn.softmax(jax.lax.stop_gradient(log_p1 - th) + th)
        p2 = 2.0 * p1 - 0.5 * p0  # Heun: 2·(midpoint slope) − ½·(slope at p₀)
        z_rm = p2 + jax.lax.stop_gradient(z - p2)  # forward value z, backward through π₂
        return jnp.mean(jax.vmap(f)(z_rm))

    return jax.grad(surrogate)(logits)
    # endregion: zo-reinmax


def reinmax_grad(
    f: Callable,
    logits: Float[Array, " n"],
    *,
    key: PRNGKeyArray,
    num_samples: int = 1,
    distribution: str = "bernoulli",
    temperature: float = 1.0,
) -> Float[Array, " n"]:
    r"""ReinMax estimate of ``∇_θ E f(z)`` (Liu, Liu, Gao, Chen & Li 2023, "Bridging
    Discrete and Backpropagation: Straight-Through and Beyond").

    Straight-through uses the derivative at the sample (a forward-Euler step); ReinMax uses
    Heun's method: with ``π₀ = p`` and ``π₁ = (z + p_τ)/2``, ``p_τ = σ(θ/τ)`` or
    ``softmax(θ/τ)``,
    ``ĝ = (2 J(π₁) − ½ J(π₀))ᵀ ∇f(z)`` where ``J(π) = diag(π(1 − π))`` (Bernoulli) or
    ``diag(π) − ππᵀ`` (categorical) is the derivative of ``σ`` / ``softmax`` written in
    terms of its output.  For ``τ = 1`` it is unbiased for every ``f`` quadratic in ``z``
    (chapter 14), where straight-through is unbiased only for affine ``f``.  The sampled
    ``z`` is the forward value, as in straight-through.

    Args:
      f: differentiable scalar function of a sample ``z``.
      logits: ``(n,)`` logits ``θ`` (lists / ints converted).
      key: a JAX PRNG key; an integer seed is refused.
      num_samples: ``S ≥ 1`` (the estimate is the mean over the samples).
      distribution: ``"bernoulli"`` or ``"categorical"``.
      temperature: ``τ > 0`` of the midpoint ``π₁`` (the authors recommend ``τ ≥ 1``;
        ``τ = 1`` gives the exactness for quadratic ``f``).

    Returns:
      ``(n,)`` estimate.

    Raises:
      TypeError / ValueError: invalid ``f``, ``logits``, ``key``, ``num_samples``,
      ``distribution`` or ``temperature``.
    """
    logits = _check_discrete(f, logits, key, num_samples, distribution)
    _check_scalar("temperature", temperature)
    require_positive("temperature", temperature)
    z, _ = _sample(key, logits, num_samples, distribution)
    return _reinmax_from_samples(f, logits, z, distribution, temperature)
