r"""Uniform stability of SGD: two runs on neighbouring data sets, coupled on the same sample
path, and the bound of Hardt, Recht & Singer (2016) on how far apart they end.

Notation (chapter 20).  Data ``S = (z_1, …, z_n)``, one example per row; ``S'`` equals ``S`` but
for the example ``i`` replaced by ``z_i'``.  SGD ``w_{t+1} = w_t − α_t ∇ℓ(w_t; z_{j_t})`` with
``j_t`` uniform, the same ``j_0, j_1, …`` for both runs; ``δ_t = ‖w_t − w_t'‖``.  If every
``ℓ(·; z)`` is convex, ``L``-Lipschitz and ``β``-smooth and ``α_t ≤ 2/β``, the gradient step on a
shared example does not expand distances and a step on the differing example adds at most
``2α_t L``, so ``E δ_T ≤ (2L/n) Σ_t α_t`` and SGD is ``(2L²/n) Σ_t α_t``-uniformly stable
(Hardt, Recht & Singer 2016, "Train faster, generalize better: stability of stochastic gradient
descent", Theorem 3.8).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .. import _checks
from .._types import Array, ArrayLike, Float, Int, PRNGKeyArray
from ._common import check_scalar
from .heavy_tailed import _cms

__all__ = ["NeighbourRuns", "neighbour_divergence", "sgd_stability_bound"]


class NeighbourRuns(NamedTuple):
    """SGD on ``S`` and on its neighbour ``S'`` along the same sample paths.

    Attributes:
      params: the final ``w_T`` on ``S``, one row per path, shape ``(P, d)``.
      neighbour_params: the final ``w_T'`` on ``S'``, shape ``(P, d)``.
      divergences: ``δ_t = ‖w_t − w_t'‖`` for ``t = 0, …, T``, shape ``(P, T+1)``.
      picks: how many times each path drew the differing example, shape ``(P,)``.
    """

    params: Float[Array, "P d"]
    neighbour_params: Float[Array, "P d"]
    divergences: Float[Array, "P T+1"]
    picks: Int[Array, " P"]


def sgd_stability_bound(
    lipschitz: float, learning_rates: Float[ArrayLike, " T"], num_examples: int
) -> Float[np.ndarray, " T+1"]:
    """The bound ``(2L/n) Σ_{s<t} α_s`` on ``E‖w_t − w_t'‖`` for ``t = 0, …, T``; times ``L`` it
    bounds the uniform stability of the loss values.

    Args:
      lipschitz: ``L > 0``, a Lipschitz constant of every ``ℓ(·; z)``.
      learning_rates: the steps ``α_0, …, α_{T−1} > 0``, shape ``(T,)``.
      num_examples: ``n ≥ 1``.

    Returns:
      The bound at every step, a NumPy array of shape ``(T+1,)`` starting at 0.

    Raises:
      TypeError: non-numeric input, a non-integer ``num_examples``.
      ValueError: ``L ≤ 0``, a non-positive or non-finite step, ``n < 1``.
    """
    check_scalar("lipschitz", lipschitz)
    alphas = _checks.as_float_array("learning_rates", learning_rates, ndim=1)
    _checks.require_positive("learning_rates", alphas)
    _checks.require_int("num_examples", num_examples, minimum=1)
    # region: stability-bound
    steps = np.concatenate([[0.0], np.cumsum(np.asarray(alphas, float))])
    return 2.0 * float(lipschitz) * steps / num_examples
    # endregion: stability-bound


@functools.partial(jax.jit, static_argnames=("loss", "num_steps", "num_paths", "noisy"))
def _runs(
    loss,
    data,
    replacement,
    index,
    w0,
    learning_rate,
    key,
    num_steps,
    num_paths,
    noise_scale,
    tail_index,
    noisy,
):
    neighbour = data.at[index].set(replacement)
    grad = jax.grad(loss)
    n = data.shape[0]

    def one_path(path_key):
        # region: coupled-sgd
        picks = jax.random.randint(path_key, (num_steps,), 0, n)  # one sample path for both runs
        if noisy:  # one heavy-tailed noise sequence, also shared: σ α_t^{1/a} S_t
            noise = _cms(jax.random.fold_in(path_key, 1), tail_index, (num_steps, w0.shape[0]), w0.dtype)
            noise = noise_scale * learning_rate[:, None] ** (1.0 / tail_index) * noise
        else:
            noise = jnp.zeros((num_steps, 0), w0.dtype)

        def step(carry, t):
            w, v = carry
            j = picks[t]
            w = w - learning_rate[t] * grad(w, data[j])
            v = v - learning_rate[t] * grad(v, neighbour[j])
            if noisy:
                w, v = w + noise[t], v + noise[t]
            return (w, v), jnp.linalg.norm(w - v)

        (w, v), gaps = jax.lax.scan(step, (w0, w0), jnp.arange(num_steps))
        # endregion: coupled-sgd
        return w, v, jnp.concatenate([jnp.zeros((1,), gaps.dtype), gaps]), jnp.sum(picks == index)

    return NeighbourRuns(*jax.vmap(one_path)(jax.random.split(key, num_paths)))


def neighbour_divergence(
    loss: Callable[[Any, Any], Any],
    data: Float[ArrayLike, "n m"],
    replacement: Float[ArrayLike, " m"],
    w0: Float[ArrayLike, " d"],
    *,
    learning_rate: float | Float[ArrayLike, " T"],
    num_steps: int,
    key: PRNGKeyArray,
    num_paths: int = 100,
    index: int = 0,
    noise_scale: float = 0.0,
    tail_index: float = 2.0,
) -> NeighbourRuns:
    """Run SGD on ``S`` (``data``) and on ``S'`` (``data`` with row ``index`` replaced) along
    ``num_paths`` shared sample paths, and record ``δ_t = ‖w_t − w_t'‖``.

    Args:
      loss: ``ℓ(w, z)``, a scalar function of the parameters (a vector) and one row of ``data``
        (static: one compilation per function).
      data: ``S``, ``n × m`` (one example per row, features and label together).
      replacement: ``z_i'``, shape ``(m,)``.
      w0: the start, shape ``(d,)``, the same for both runs.
      learning_rate: ``α > 0``, or the steps ``α_0, …, α_{T−1}`` (shape ``(T,)``).
      num_steps: ``T ≥ 1``.
      key: a PRNG key; path ``p`` draws ``j_0, …, j_{T−1}`` from its own split of it.
      num_paths: ``P ≥ 1`` independent sample paths.
      index: ``i``, the row that differs, ``0 ≤ i < n``.
      noise_scale: ``σ ≥ 0``; if positive, both runs add the same ``σ α_t^{1/a} S_t`` to step ``t``,
        ``S_t`` i.i.d. symmetric ``a``-stable vectors (:func:`~optlab.dynamics.symmetric_stable`), drawn
        from ``fold_in(path key, 1)`` so that the sample path ``j_t`` is the one of the noiseless run
        (heavy-tailed SGD, Raj, Zhu, Gürbüzbalaban & Şimşekli 2023).  ``0`` (the default) adds nothing.
      tail_index: ``a ∈ (0, 2]`` of the noise (may be traced; ignored when ``σ = 0``).

    Returns:
      :class:`NeighbourRuns`.

    Raises:
      TypeError: ``loss`` not callable, non-numeric arrays, non-integer counts, a bad ``key``.
      ValueError: wrong shapes, NaN/inf, a non-positive step, ``T``/``P < 1``, ``index`` out of range,
        a negative ``noise_scale``, ``tail_index`` outside ``(0, 2]``.
    """
    _checks.require_static_callable("loss", loss)
    S = _checks.as_float_array("data", data, ndim=2)
    z = _checks.as_float_array("replacement", replacement, ndim=1)
    if z.shape[0] != S.shape[1]:
        raise ValueError(f"replacement must have shape ({S.shape[1]},) like a row of data, got {z.shape}")
    w = _checks.as_float_array("w0", w0, ndim=1)
    _checks.require_int("num_steps", num_steps, minimum=1)
    _checks.require_int("num_paths", num_paths, minimum=1)
    _checks.require_int("index", index, minimum=0)
    if index >= S.shape[0]:
        raise ValueError(f"index must be below the number of examples {S.shape[0]}, got {index}")
    _checks.require_key("key", key)
    alphas = _checks.as_float_array("learning_rate", learning_rate)
    if alphas.ndim == 0:
        alphas = jnp.full((num_steps,), alphas)
    if alphas.shape != (num_steps,):
        raise ValueError(f"learning_rate must be a number or have shape ({num_steps},), got {alphas.shape}")
    _checks.require_positive("learning_rate", alphas)
    check_scalar("noise_scale", noise_scale, positive=False)
    check_scalar("tail_index", tail_index)
    _checks.require_in_range("tail_index", tail_index, 0.0, 2.0, low_inclusive=False)
    _checks.require_scalar_function("loss", lambda v: loss(v, S[0]), w)
    noisy = not (_checks.is_concrete(noise_scale) and float(noise_scale) == 0.0)
    sigma = jnp.asarray(noise_scale, alphas.dtype)
    a = jnp.asarray(tail_index, alphas.dtype)
    return _runs(loss, S, z, index, w, alphas, key, num_steps, num_paths, sigma, a, noisy)
