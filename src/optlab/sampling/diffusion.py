r"""Score-based diffusion as optimization (chapter 19): the Ornstein–Uhlenbeck noising process,
the exact score of a noised Gaussian mixture, denoising score matching, and the two samplers
that run the process backwards from a score, the reverse-time SDE and the probability-flow ODE.

Notation.  The forward (variance-preserving) process is ``dX_t = −X_t dt + √2 dW_t``, whose
marginal given ``x_0`` is ``x_t = α_t x_0 + σ_t z`` with ``α_t = e^{−t}``, ``σ_t² = 1 − e^{−2t}``
and ``z ~ N(0, I)``; ``p_t`` is the law of ``x_t`` and ``∇ log p_t`` its score.  A *score
callable* is a hashable ``score(params, x, t)`` mapping a parameter pytree, ``N × d`` points and
``N`` times (or one time) to the ``N × d`` scores; :func:`gaussian_mixture_score` (exact) and
:func:`fourier_score_model` (trainable) are two.  Run backwards from ``t_max`` to ``t_min``
on a grid (geometric by default) ``t_0 = t_max > t_1 > … > t_K = t_min`` with steps ``h_k = t_k − t_{k+1}``:

- the reverse-time SDE (Anderson 1982) ``x ← x + h (x + g² s(x, t)) + √(g² h) ξ``,
  Euler–Maruyama, ``g² = 2``;
- the probability-flow ODE (Song et al. 2021) ``dx/dτ = x + ½ g² s(x, t)`` in reversed time
  ``τ = t_max − t``, by Euler or Heun.

References: Anderson (1982) "Reverse-time diffusion equation models"; Vincent (2011) "A
connection between score matching and denoising autoencoders"; Song, Sohl-Dickstein, Kingma,
Kumar, Ermon & Poole (2021) "Score-based generative modeling through stochastic differential
equations".
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .._checks import (
    as_float_array,
    as_float_tree,
    as_nonempty_float_array,
    require_int,
    require_key,
    require_static_callable,
)
from .._types import Array, ArrayLike, Float, PRNGKeyArray
from ._common import _positive_scalar

__all__ = [
    "DiffusionOutput",
    "dsm_loss",
    "fourier_score_init",
    "fourier_score_model",
    "gaussian_mixture_score",
    "ou_noising",
    "probability_flow",
    "reverse_sde",
]

_HIGHEST = jax.lax.Precision.HIGHEST
G2 = 2.0  # g², the squared diffusion coefficient of dX = −X dt + √2 dW


class DiffusionOutput(NamedTuple):
    """Result of :func:`reverse_sde` and :func:`probability_flow`.

    Attributes:
      params: the final samples ``x_K`` at time ``t_min``, ``N × d`` (one sample per row).
      iterates: ``(K+1, N, d)``, ``x_0 = x_T … x_K``, or ``None`` when ``return_iterates=False``.
      times: the grid ``t_0 = t_max ≥ … ≥ t_K = t_min`` the sampler ran on, ``(K+1,)``.
    """

    params: Float[Array, "N d"]
    iterates: Float[Array, "K+1 N d"] | None
    times: Float[Array, " K+1"]


def _alpha_sigma(t):
    """``α_t = e^{−t}`` and ``σ_t = √(1 − e^{−2t})``, the latter via ``expm1`` (exact for small t)."""
    # region: ou-coefficients
    alpha = jnp.exp(-t)
    sigma = jnp.sqrt(-jnp.expm1(-2.0 * t))
    # endregion: ou-coefficients
    return alpha, sigma


def _times(name: str, t: Any, n: int, dtype) -> jax.Array:
    """A time argument: a scalar or a vector of length ``n``, finite and positive."""
    if isinstance(t, jax.core.Tracer):
        return jnp.broadcast_to(jnp.asarray(t, dtype), (n,))
    arr = as_float_array(name, t, ndim=(0, 1))
    if arr.ndim == 1 and arr.shape[0] != n:
        raise ValueError(f"{name} must be a scalar or a vector of length {n}, got shape {tuple(arr.shape)}")
    if not bool(jnp.all(arr > 0)):
        raise ValueError(f"{name} must be positive, got {np.asarray(arr)!r}")
    return jnp.broadcast_to(arr.astype(dtype), (n,))


def ou_noising(
    x0: Float[ArrayLike, "N d"], t: float | Float[ArrayLike, "*N"], *, key: PRNGKeyArray
) -> Float[Array, "N d"]:
    """Samples of the forward Ornstein–Uhlenbeck process ``dX = −X dt + √2 dW`` at time ``t``
    from ``x_0``: ``x_t = e^{−t} x_0 + √(1 − e^{−2t}) z``, ``z ~ N(0, I)`` (exact, no
    discretisation).  As ``t → ∞`` the law of ``x_t`` tends to ``N(0, I)``.

    Args:
      x0: the clean points, ``N × d`` (one per row).
      t: the time ``t > 0``, one for all rows or one per row (a vector of length ``N``).
      key: a PRNG key (``jax.random.key``) for ``z``.

    Returns:
      ``x_t``, ``N × d``.

    Raises:
      TypeError: ``x0``/``t`` not numeric, ``key`` not a key.
      ValueError: ``x0`` not a finite non-empty ``N × d`` array, ``t`` not positive or of the
        wrong shape.
    """
    x0 = as_nonempty_float_array("x0", x0, ndim=2)
    t = _times("t", t, x0.shape[0], x0.dtype)
    require_key("key", key)
    return _noising(x0, t, key)


@jax.jit
def _noising(x0, t, key):
    z = jax.random.normal(key, x0.shape, x0.dtype)
    alpha, sigma = _alpha_sigma(t)
    return alpha[:, None] * x0 + sigma[:, None] * z


def _check_mixture(params: Any, d: int | None = None):
    if not (isinstance(params, (tuple, list)) and len(params) == 3):
        raise TypeError(
            "params must be the mixture (weights, means, covariances), a tuple of three arrays, "
            f"got {type(params).__name__}"
        )
    if any(isinstance(p, jax.core.Tracer) for p in params):
        return tuple(jnp.asarray(p) for p in params)
    w = as_nonempty_float_array("weights", params[0], ndim=1)
    mu = as_nonempty_float_array("means", params[1], ndim=2)
    cov = as_nonempty_float_array("covariances", params[2], ndim=3)
    k, dim = mu.shape
    if w.shape[0] != k or cov.shape != (k, dim, dim):
        raise ValueError(
            f"weights, means and covariances must have shapes (K,), (K, d), (K, d, d); got "
            f"{tuple(w.shape)}, {tuple(mu.shape)}, {tuple(cov.shape)}"
        )
    if d is not None and dim != d:
        raise ValueError(f"means must have d = {d} columns (the dimension of x), got {dim}")
    if not (bool(jnp.all(w > 0)) and abs(float(jnp.sum(w)) - 1.0) < 1e-4):
        raise ValueError(f"weights must be positive and sum to 1, got {np.asarray(w)!r}")
    c = np.asarray(cov, float)
    if not np.allclose(c, np.swapaxes(c, 1, 2), atol=1e-6) or np.min(np.linalg.eigvalsh(c)) <= 0:
        raise ValueError("covariances must be symmetric positive definite")
    return w, mu, cov


def gaussian_mixture_score(
    params: tuple[Float[ArrayLike, " K"], Float[ArrayLike, "K d"], Float[ArrayLike, "K d d"]],
    x: Float[ArrayLike, "N d"],
    t: float | Float[ArrayLike, "*N"],
) -> Float[Array, "N d"]:
    """The exact score ``∇ log p_t(x)`` of a Gaussian mixture ``p_0 = Σ_k w_k N(μ_k, Σ_k)``
    noised by the Ornstein–Uhlenbeck process for a time ``t``: ``p_t`` is the mixture of
    ``N(α_t μ_k, C_k(t))``, ``C_k(t) = α_t² Σ_k + σ_t² I``, so

    ``∇ log p_t(x) = −Σ_k r_k(x) C_k(t)^{−1} (x − α_t μ_k)``,

    with the posterior weights ``r_k ∝ w_k N(x; α_t μ_k, C_k)`` formed by a log-sum-exp (no
    density is exponentiated); ``C_k(t)`` is inverted through the eigendecomposition of ``Σ_k``,
    computed once per call.  A score callable: ``params`` is the
    mixture, traced.

    Args:
      params: the mixture ``(weights, means, covariances)``: ``w`` (K,) positive summing to 1,
        ``μ`` ``K × d``, ``Σ`` ``K × d × d`` symmetric positive definite.
      x: the points, ``N × d``.
      t: the time ``t > 0``, one for all rows or one per row (length ``N``).

    Returns:
      The scores, ``N × d``.

    Raises:
      TypeError: ``params`` not a triple, a non-numeric array.
      ValueError: shapes that do not match, weights not a probability vector, a covariance not
        positive definite, ``x`` not finite, ``t`` not positive.
    """
    x = as_nonempty_float_array("x", x, ndim=2)
    w, mu, cov = _check_mixture(params, x.shape[1])
    t = _times("t", t, x.shape[0], x.dtype)
    return _mixture_score(w.astype(x.dtype), mu.astype(x.dtype), cov.astype(x.dtype), x, t)


@jax.jit
def _mixture_score(w, mu, cov, x, t):
    lam, Q = jnp.linalg.eigh(cov)  # Σ_k = Q_k diag(λ_k) Q_kᵀ, once for all rows and times
    alpha, sigma = _alpha_sigma(t)
    a, s2 = alpha[:, None, None], (sigma**2)[:, None, None]
    # region: mixture-score
    r = x[:, None, :] - a * mu[None]  # x − α_t μ_k, (N, K, d)
    y = jnp.einsum("kde,nkd->nke", Q, r, precision=_HIGHEST)  # Q_kᵀ (x − α_t μ_k)
    c = a**2 * lam[None] + s2  # the eigenvalues of C_k(t) = α_t² Σ_k + σ_t² I
    log_n = -0.5 * jnp.sum(y * y / c + jnp.log(c), axis=-1)  # log N(x; α_t μ_k, C_k(t)) + const
    resp = jax.nn.softmax(jnp.log(w)[None] + log_n, axis=-1)  # r_k(x), by a log-sum-exp
    scores = -jnp.einsum("kde,nke->nkd", Q, y / c, precision=_HIGHEST)  # −C_k(t)⁻¹ (x − α_t μ_k)
    # endregion: mixture-score
    return jnp.einsum("nk,nkd->nd", resp, scores, precision=_HIGHEST)


def dsm_loss(
    score: Callable,
    params: Any,
    x0: Float[ArrayLike, "N d"],
    *,
    key: PRNGKeyArray,
    t_min: float | Float[Array, ""] = 1e-3,
    t_max: float | Float[Array, ""] = 3.0,
    weighting: str = "variance",
) -> Float[Array, ""]:
    """The denoising score-matching loss of a score model (Vincent 2011),

    ``J(θ) = (1/N) Σ_i λ(t_i) ‖s_θ(x_{t_i}, t_i) + z_i/σ_{t_i}‖²``,
    ``x_{t_i} = α_{t_i} x_0^i + σ_{t_i} z_i``,

    with one time ``t_i ~ U[t_min, t_max]`` and one noise ``z_i ~ N(0, I)`` per row, drawn from
    ``key`` (the same ``key`` gives the same draws: a deterministic loss of ``θ``, ready for
    :func:`optlab.runner.run_loss`).  ``−z/σ_t`` is the score of ``x_t`` given ``x_0``; up to a
    constant independent of ``θ``, ``J`` is the explicit score-matching loss
    ``E λ(t) ‖s_θ(x_t, t) − ∇ log p_t(x_t)‖²``, minimised by the exact score.

    Args:
      score: a hashable score callable ``score(params, x, t)`` (``N × d``, ``(N,)`` ↦ ``N × d``).
      params: its parameters (a pytree).
      x0: the data, ``N × d``.
      key: a PRNG key (``jax.random.key``) for the times and the noise.
      t_min, t_max: the time range, ``0 < t_min < t_max``.
      weighting: ``"variance"`` (``λ(t) = σ_t²``, the default: each term is
        ``‖σ_t s_θ + z‖²``, of order ``d``) or ``"constant"`` (``λ = 1``).

    Returns:
      The loss, a scalar.

    Raises:
      TypeError: ``score`` not callable/hashable, ``x0`` not numeric, ``key`` not a key.
      ValueError: ``x0`` not a finite ``N × d`` array, a time not positive, ``t_min ≥ t_max``,
        an unknown ``weighting``.
    """
    require_static_callable("score", score)
    x0 = as_nonempty_float_array("x0", x0, ndim=2)
    params = as_float_tree("params", params)
    require_key("key", key)
    lo, hi = _time_range(t_min, t_max)
    if weighting not in ("variance", "constant"):
        raise ValueError(f"weighting must be 'variance' or 'constant', got {weighting!r}")
    return _dsm(score, weighting, params, x0, key, jnp.asarray(lo, x0.dtype), jnp.asarray(hi, x0.dtype))


def _time_range(t_min, t_max):
    lo = _positive_scalar("t_min", t_min)
    hi = _positive_scalar("t_max", t_max)
    concrete = not isinstance(lo, jax.core.Tracer) and not isinstance(hi, jax.core.Tracer)
    if concrete and not float(lo) < float(hi):
        raise ValueError(f"t_min must be smaller than t_max, got t_min={t_min!r}, t_max={t_max!r}")
    return lo, hi


@functools.partial(jax.jit, static_argnums=(0, 1))
def _dsm(score, weighting, params, x0, key, t_min, t_max):
    k_t, k_z = jax.random.split(key)
    t = jax.random.uniform(k_t, (x0.shape[0],), x0.dtype, t_min, t_max)
    z = jax.random.normal(k_z, x0.shape, x0.dtype)
    alpha, sigma = _alpha_sigma(t)
    # region: dsm-loss
    xt = alpha[:, None] * x0 + sigma[:, None] * z
    residual = score(params, xt, t) + z / sigma[:, None]  # s_θ(x_t, t) − ∇ log p(x_t | x_0)
    lam = sigma**2 if weighting == "variance" else jnp.ones_like(sigma)
    return jnp.mean(lam * jnp.sum(residual**2, axis=-1))
    # endregion: dsm-loss


def fourier_score_init(
    *, key: PRNGKeyArray, dim: int, num_features: int = 256, scale: float = 1.0
) -> dict[str, Float[Array, "*shape"]]:
    """Initial parameters of :func:`fourier_score_model`: random frequencies
    ``W ~ N(0, scale²)`` on the inputs ``(x, log σ_t)``, phases ``b ~ U[0, 2π]``, zero
    read-outs (the model starts at the score ``0``).

    Args:
      key: a PRNG key (``jax.random.key``).
      dim: the dimension ``d`` of the data.
      num_features: the number ``F`` of Fourier features.
      scale: the standard deviation of the frequencies (the inverse length scale).

    Returns:
      A dict with ``W`` (``(d+1) × F``), ``b`` (``F``), ``V`` (``F × d``), ``U`` (``d × d``).

    Raises:
      TypeError: ``key`` not a key, ``dim``/``num_features`` not integers.
      ValueError: ``dim``/``num_features`` below 1, ``scale`` not positive.
    """
    require_key("key", key)
    require_int("dim", dim, minimum=1)
    require_int("num_features", num_features, minimum=1)
    s = _positive_scalar("scale", scale)
    dtype = as_float_array("scale", 0.0).dtype
    k_w, k_b = jax.random.split(key)
    return {
        "W": float(s) * jax.random.normal(k_w, (dim + 1, num_features), dtype),
        "b": jax.random.uniform(k_b, (num_features,), dtype, 0.0, 2.0 * math.pi),
        "V": jnp.zeros((num_features, dim), dtype),
        "U": jnp.zeros((dim, dim), dtype),
    }


def fourier_score_model(
    params: dict[str, Float[Array, "*shape"]], x: Float[ArrayLike, "N d"], t: float | Float[ArrayLike, "*N"]
) -> Float[Array, "N d"]:
    """A small trainable score model: random Fourier features of ``(x, log σ_t)`` (trainable
    frequencies, a one-hidden-layer network with cosine activation) and a linear read-out of
    the noise, ``ε̂(x, t) = √(2/F) cos([x, log σ_t] W + b) V + x U``, with
    ``s_θ(x, t) = −ε̂(x, t)/σ_t``: the network predicts the noise ``z`` of ``x_t = α_t x_0 +
    σ_t z``, so that under the ``"variance"`` weighting of :func:`dsm_loss` the loss is
    ``‖z − ε̂‖²``.  A score callable.

    Args:
      params: from :func:`fourier_score_init` (a dict of arrays).
      x: the points, ``N × d``.
      t: the time ``t > 0``, one for all rows or one per row.

    Returns:
      The model's scores, ``N × d``.

    Raises:
      TypeError: ``params`` not a dict with ``W``, ``b``, ``V``, ``U``; ``x`` not numeric.
      ValueError: ``x`` not a finite ``N × d`` array, shapes that do not match, ``t`` not positive.
    """
    if not (isinstance(params, dict) and set(params) == {"W", "b", "V", "U"}):
        raise TypeError(
            f"params must be the dict of fourier_score_init (W, b, V, U), got {type(params).__name__}"
        )
    x = as_nonempty_float_array("x", x, ndim=2)
    t = _times("t", t, x.shape[0], x.dtype)
    w_shape = tuple(jnp.shape(params["W"]))
    if w_shape != (x.shape[1] + 1, jnp.shape(params["b"])[0]):
        raise ValueError(f"params['W'] must have shape (d+1, F) = ({x.shape[1] + 1}, F), got {w_shape}")
    return _fourier(params, x, t)


@jax.jit
def _fourier(params, x, t):
    _, sigma = _alpha_sigma(t)
    u = jnp.concatenate([x, jnp.log(sigma)[:, None]], axis=1)
    n_features = params["b"].shape[0]
    phi = jnp.sqrt(2.0 / n_features) * jnp.cos(u @ params["W"] + params["b"])
    eps_hat = phi @ params["V"] + x @ params["U"]
    return -eps_hat / sigma[:, None]


def _grid(num_steps, t_max, t_min, times, dtype):
    if times is not None:
        if isinstance(times, jax.core.Tracer):
            return times
        grid = as_float_array("times", times, ndim=1)
        if grid.shape[0] != num_steps + 1:
            raise ValueError(f"times must have num_steps + 1 = {num_steps + 1} entries, got {grid.shape[0]}")
        g = np.asarray(grid, float)
        if not (g[-1] > 0 and np.all(np.diff(g) <= 0)):
            raise ValueError("times must be non-increasing and positive (from t_max down to t_min)")
        return grid.astype(dtype)
    lo, hi = _time_range(t_min, t_max)
    # the geometric grid t_k = t_max (t_min/t_max)^{k/K}: steps proportional to t, small where
    # the score is stiff
    return jnp.geomspace(jnp.asarray(hi, dtype), jnp.asarray(lo, dtype), num_steps + 1)


def _check_sampler(score, params, x_T, num_steps, t_max, t_min, times):
    require_static_callable("score", score)
    params = as_float_tree("params", params)
    x_T = as_nonempty_float_array("x_T", x_T, ndim=2)
    require_int("num_steps", num_steps, minimum=1)
    return params, x_T, _grid(num_steps, t_max, t_min, times, x_T.dtype)


def reverse_sde(
    score: Callable,
    params: Any,
    x_T: Float[ArrayLike, "N d"],
    *,
    num_steps: int,
    key: PRNGKeyArray,
    t_max: float | Float[Array, ""] = 3.0,
    t_min: float | Float[Array, ""] = 1e-3,
    times: Float[ArrayLike, " K+1"] | None = None,
    return_iterates: bool = False,
) -> DiffusionOutput:
    """The reverse-time SDE of the Ornstein–Uhlenbeck process (Anderson 1982),
    ``dY = (Y + g² ∇log p_{t}(Y)) dτ + g dB`` in reversed time, discretised by Euler–Maruyama
    with the score replaced by ``score``:

    ``x_{k+1} = x_k + h_k (x_k + g² s(x_k, t_k)) + √(g² h_k) ξ_k``,  ``g² = 2``,

    from ``x_0 = x_T`` (draws of ``N(0, I)``, the law of ``x_{t_max}`` up to ``e^{−t_max}``) on the
    geometric grid ``t_k = t_max (t_min/t_max)^{k/K}`` (steps proportional to ``t``, small
    where the score is stiff; or the given ``times``).  Compiled once per
    ``(score, num_steps, return_iterates)`` and shape; ``params``, the grid and the key are traced.

    Args:
      score: a hashable score callable ``score(params, x, t)``.
      params: its parameters (a pytree).
      x_T: the starting points, ``N × d``.
      num_steps: ``K ≥ 1``.
      key: a PRNG key (``jax.random.key``) for the noise ``ξ_k``.
      t_max, t_min: the grid's ends, ``0 < t_min < t_max``.
      times: optional non-increasing positive grid of ``K+1`` times replacing the geometric one
        (a step of length zero does nothing: pad a short grid with its last time).
      return_iterates: record ``x_0 … x_K``.

    Returns:
      A :class:`DiffusionOutput`.

    Raises:
      TypeError: ``score`` not callable/hashable, ``num_steps`` not an int, ``key`` not a key.
      ValueError: ``x_T`` not a finite ``N × d`` array, ``num_steps < 1``, a bad time grid.
    """
    params, x_T, grid = _check_sampler(score, params, x_T, num_steps, t_max, t_min, times)
    require_key("key", key)
    return _reverse_sde(score, num_steps, bool(return_iterates), params, x_T, grid, key)


@functools.partial(jax.jit, static_argnums=(0, 1, 2))
def _reverse_sde(score, num_steps, return_iterates, params, x_T, grid, key):
    def body(x, k):
        t, h = grid[k], grid[k] - grid[k + 1]
        xi = jax.random.normal(jax.random.fold_in(key, k), x.shape, x.dtype)
        # region: reverse-sde-step
        drift = x + G2 * score(params, x, t)  # −f + g² ∇log p_t, with f(x) = −x
        x_new = x + h * drift + jnp.sqrt(G2 * h) * xi
        # endregion: reverse-sde-step
        return x_new, (x_new if return_iterates else None)

    x, xs = jax.lax.scan(body, x_T, jnp.arange(num_steps))
    iterates = jnp.concatenate([x_T[None], xs]) if return_iterates else None
    return DiffusionOutput(x, iterates, grid)


def probability_flow(
    score: Callable,
    params: Any,
    x_T: Float[ArrayLike, "N d"],
    *,
    num_steps: int,
    t_max: float | Float[Array, ""] = 3.0,
    t_min: float | Float[Array, ""] = 1e-3,
    method: str = "heun",
    times: Float[ArrayLike, " K+1"] | None = None,
    return_iterates: bool = False,
) -> DiffusionOutput:
    """The probability-flow ODE of the Ornstein–Uhlenbeck process (Song et al. 2021),
    ``dx/dτ = v(x, t) = x + ½ g² s(x, t)`` in reversed time ``τ = t_max − t``, whose solution
    has the marginals ``p_t`` of the forward process when ``s`` is the exact score; a
    deterministic map of ``x_T``.  Steps (``h_k = t_k − t_{k+1}``): Euler
    ``x_{k+1} = x_k + h_k v(x_k, t_k)``, or Heun (explicit trapezoid, second order)
    ``x̃ = x_k + h_k v(x_k, t_k)``, ``x_{k+1} = x_k + (h_k/2)(v(x_k, t_k) + v(x̃, t_{k+1}))``.
    Compiled once per ``(score, num_steps, method, return_iterates)`` and shape.

    Args:
      score: a hashable score callable ``score(params, x, t)``.
      params: its parameters (a pytree).
      x_T: the starting points, ``N × d``.
      num_steps: ``K ≥ 1``.
      t_max, t_min: the grid's ends, ``0 < t_min < t_max``.
      method: ``"heun"`` (the default) or ``"euler"``.
      times: optional non-increasing positive grid of ``K+1`` times replacing the geometric one
        ``t_k = t_max (t_min/t_max)^{k/K}``.
      return_iterates: record ``x_0 … x_K``.

    Returns:
      A :class:`DiffusionOutput`.

    Raises:
      TypeError: ``score`` not callable/hashable, ``num_steps`` not an int.
      ValueError: ``x_T`` not a finite ``N × d`` array, ``num_steps < 1``, a bad time grid, an
        unknown ``method``.
    """
    params, x_T, grid = _check_sampler(score, params, x_T, num_steps, t_max, t_min, times)
    if method not in ("heun", "euler"):
        raise ValueError(f"method must be 'heun' or 'euler', got {method!r}")
    return _probability_flow(score, num_steps, method, bool(return_iterates), params, x_T, grid)


@functools.partial(jax.jit, static_argnums=(0, 1, 2, 3))
def _probability_flow(score, num_steps, method, return_iterates, params, x_T, grid):
    # region: pf-ode-step
    def velocity(x, t):
        return x + 0.5 * G2 * score(params, x, t)  # −f + ½ g² ∇log p_t

    def body(x, k):
        t, t_next = grid[k], grid[k + 1]
        h = t - t_next
        v = velocity(x, t)
        x_euler = x + h * v
        x_new = x_euler if method == "euler" else x + 0.5 * h * (v + velocity(x_euler, t_next))
        return x_new, (x_new if return_iterates else None)

    # endregion: pf-ode-step

    x, xs = jax.lax.scan(body, x_T, jnp.arange(num_steps))
    iterates = jnp.concatenate([x_T[None], xs]) if return_iterates else None
    return DiffusionOutput(x, iterates, grid)
