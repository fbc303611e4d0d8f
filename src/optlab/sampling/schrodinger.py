r"""Schrödinger bridges (chapter 19): the Brownian bridge, the Gaussian closed form of the
static bridge, and the Light Schrödinger Bridge solver (a Gaussian-mixture Schrödinger potential).

Notation.  The reference process is ``dX_t = √ε dW_t`` on ``[0, 1]``; the Schrödinger bridge
between ``p_0`` and ``p_1`` is the path law closest in ``KL`` to it with these marginals.  Its
static part, the law ``π`` of ``(x_0, x_1)``, solves entropic OT with the cost ``½‖x_0 − x_1‖²``
and the regularisation ``ε``; given ``(x_0, x_1)`` the path is a Brownian bridge.

Light SB (Korotin, Gushchin & Burnaev 2024) writes the conditional plan as
``π(x_1 | x_0) ∝ exp(⟨x_0, x_1⟩/ε) v(x_1)`` with the adjusted potential
``v(x_1) = Σ_k α_k N(x_1 | r_k, ε S_k)``; here ``S_k = diag(s_k)``.  Then
``π(x_1 | x_0) = Σ_k w_k(x_0) N(x_1 | r_k + S_k x_0, ε S_k)`` with
``w_k(x_0) ∝ α_k exp((x_0ᵀ S_k x_0 + 2 r_kᵀ x_0)/(2ε))``, the normaliser is
``c(x_0) = Σ_k α_k exp((x_0ᵀ S_k x_0 + 2 r_kᵀ x_0)/(2ε))`` and the objective, equal to
``KL(π* ‖ π)`` up to a constant, is ``L = E_{p_0} log c(x_0) − E_{p_1} log v(x_1)``.  The
drift of the bridge is ``g(x, t) = ε ∇ₓ log ∫ N(x' | x, ε(1−t) I) exp(‖x'‖²/(2ε)) v(x') dx'``,
in closed form ``g(x, t) = Σ_k w_k(x, t) M_k(t)⁻¹ ((S_k − I) x + r_k)`` with
``M_k(t) = (1 − t) I + t S_k`` and ``w_k(x, t) ∝ α_k N(x | t r_k, ε t M_k(t))``.

References: Léonard (2014) "A survey of the Schrödinger problem and some of its connections
with optimal transport"; Korotin, Gushchin & Burnaev (2024) "Light Schrödinger Bridge";
Janati, Muzellec, Peyré & Cuturi (2020) "Entropic optimal transport between unbalanced
Gaussian measures has a closed form".
"""

from __future__ import annotations

import functools
import math
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .._checks import (
    as_float_array,
    as_nonempty_float_array,
    require_int,
    require_key,
)
from .._types import Array, ArrayLike, Float, PRNGKeyArray
from ._common import _positive_scalar

__all__ = [
    "BridgeOutput",
    "brownian_bridge",
    "gaussian_sb_cross_covariance",
    "light_sb_drift",
    "light_sb_init",
    "light_sb_loss",
    "light_sb_sample",
    "light_sb_sde",
]

_HIGHEST = jax.lax.Precision.HIGHEST
_KEYS = ("log_alpha", "r", "log_s")


class BridgeOutput(NamedTuple):
    """Result of :func:`light_sb_sde`.

    Attributes:
      params: the endpoints ``x_1``, ``N × d`` (one per row).
      iterates: ``(K+1, N, d)``, the path ``x_0 … x_K`` on the grid, or ``None`` when
        ``return_iterates=False``.
      times: the grid ``0 = t_0 < … < t_K = 1``, ``(K+1,)``.
    """

    params: Float[Array, "N d"]
    iterates: Float[Array, "K+1 N d"] | None
    times: Float[Array, " K+1"]


def _time(name: str, t: Any) -> Any:
    if isinstance(t, jax.core.Tracer):
        return t
    arr = as_float_array(name, t)
    if arr.ndim != 0:
        raise ValueError(f"{name} must be a scalar, got shape {tuple(arr.shape)}")
    # the concrete value itself: converted inside a jit trace, ``arr`` may be a tracer
    value = float(np.asarray(jax.device_get(t), dtype=float))
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must lie in [0, 1], got {value}")
    return arr


def brownian_bridge(
    x0: Float[ArrayLike, "N d"],
    x1: Float[ArrayLike, "N d"],
    t: float | Float[Array, ""],
    eps: float | Float[Array, ""],
    *,
    key: PRNGKeyArray,
) -> Float[Array, "N d"]:
    """Samples at time ``t`` of the Brownian bridges of ``dX = √ε dW`` pinned at ``x_0`` (time 0)
    and ``x_1`` (time 1), row by row: ``x_t = (1 − t) x_0 + t x_1 + √(ε t (1 − t)) z``.

    Args:
      x0: the starting points, ``N × d``.
      x1: the end points, ``N × d`` (row ``i`` pairs with row ``i`` of ``x0``).
      t: the time, in ``[0, 1]``.
      eps: the variance ``ε > 0`` of the reference Brownian motion per unit time.
      key: a PRNG key (``jax.random.key``) for ``z``.

    Returns:
      ``x_t``, ``N × d``.

    Raises:
      TypeError: non-numeric arrays, ``key`` not a key.
      ValueError: ``x0``/``x1`` not finite non-empty ``N × d`` arrays of one shape, ``t`` outside
        ``[0, 1]``, ``eps`` not positive.
    """
    x0 = as_nonempty_float_array("x0", x0, ndim=2)
    x1 = as_nonempty_float_array("x1", x1, ndim=2)
    if x0.shape != x1.shape:
        raise ValueError(f"x0 and x1 must have the same shape, got {tuple(x0.shape)} and {tuple(x1.shape)}")
    t = _time("t", t)
    eps = _positive_scalar("eps", eps)
    require_key("key", key)
    return _bridge(x0, x1, t, eps, key)


@jax.jit
def _bridge(x0, x1, t, eps, key):
    t, eps = jnp.asarray(t, x0.dtype), jnp.asarray(eps, x0.dtype)
    z = jax.random.normal(key, x0.shape, x0.dtype)
    return (1.0 - t) * x0 + t * x1 + jnp.sqrt(eps * t * (1.0 - t)) * z


def _spd(name: str, a: Any) -> jax.Array:
    a = as_nonempty_float_array(name, a, ndim=2)
    if a.shape[0] != a.shape[1]:
        raise ValueError(f"{name} must be a square matrix, got shape {tuple(a.shape)}")
    if not isinstance(a, jax.core.Tracer) and (
        not bool(jnp.allclose(a, a.T, atol=1e-6)) or float(jnp.min(jnp.linalg.eigvalsh(a))) <= 0
    ):
        raise ValueError(f"{name} must be symmetric positive definite")
    return a


def gaussian_sb_cross_covariance(
    cov0: Float[ArrayLike, "d d"], cov1: Float[ArrayLike, "d d"], eps: float | Float[Array, ""]
) -> Float[Array, "d d"]:
    """The cross-covariance ``C = Cov(x_0, x_1)`` of the static Schrödinger bridge (entropic OT
    with cost ``½‖x_0 − x_1‖²`` and regularisation ``ε``) between ``N(m_0, A)`` and
    ``N(m_1, B)`` (Janati et al. 2020, with ``σ² = ε``):
    ``C = ½ A^{1/2} (4 A^{1/2} B A^{1/2} + ε² I)^{1/2} A^{−1/2} − (ε/2) I``.
    The plan is the Gaussian with covariance ``[[A, C], [Cᵀ, B]]``; ``ε → 0`` gives the OT map's.

    Args:
      cov0: the covariance ``A`` of ``p_0``, ``d × d`` symmetric positive definite.
      cov1: the covariance ``B`` of ``p_1``, ``d × d`` symmetric positive definite.
      eps: the regularisation ``ε > 0``.

    Returns:
      ``C``, ``d × d``.

    Raises:
      TypeError: non-numeric arguments.
      ValueError: ``cov0``/``cov1`` not symmetric positive definite or of different sizes,
        ``eps`` not positive.
    """
    a = _spd("cov0", cov0)
    b = _spd("cov1", cov1)
    if a.shape != b.shape:
        raise ValueError(f"cov0 and cov1 must have the same shape, got {tuple(a.shape)} and {tuple(b.shape)}")
    eps = _positive_scalar("eps", eps)
    return _gaussian_cross(a, b, eps)


def _sqrtm(a):
    lam, u = jnp.linalg.eigh(a)
    lam = jnp.clip(lam, 0.0)
    return (u * jnp.sqrt(lam)) @ u.T, (u / jnp.sqrt(lam)) @ u.T


@jax.jit
def _gaussian_cross(a, b, eps):
    eps = jnp.asarray(eps, a.dtype)
    d = a.shape[0]
    ah, ah_inv = _sqrtm(a)
    inner = 4.0 * jnp.matmul(jnp.matmul(ah, b, precision=_HIGHEST), ah, precision=_HIGHEST)
    dsig, _ = _sqrtm(inner + eps**2 * jnp.eye(d, dtype=a.dtype))
    half = 0.5 * jnp.matmul(jnp.matmul(ah, dsig, precision=_HIGHEST), ah_inv, precision=_HIGHEST)
    return half - 0.5 * eps * jnp.eye(d, dtype=a.dtype)


def light_sb_init(
    x1: Float[ArrayLike, "N d"], *, num_components: int, key: PRNGKeyArray
) -> dict[str, Float[Array, "*shape"]]:
    """Initial Light SB parameters: means ``r_k`` at ``K`` target points drawn without
    replacement, ``S_k = I`` and equal weights ``α_k = 1/K``.

    Args:
      x1: samples of the target ``p_1``, ``N × d`` with ``N ≥ K``.
      num_components: the number ``K`` of mixture components.
      key: a PRNG key (``jax.random.key``) for the choice of the means.

    Returns:
      A dict with ``log_alpha`` (``K``), ``r`` (``K × d``), ``log_s`` (``K × d``, the log of the
      diagonal of ``S_k``).

    Raises:
      TypeError: ``x1`` not numeric, ``num_components`` not an integer, ``key`` not a key.
      ValueError: ``x1`` not a finite non-empty ``N × d`` array, ``num_components`` below 1 or
        above ``N``.
    """
    x1 = as_nonempty_float_array("x1", x1, ndim=2)
    require_int("num_components", num_components, minimum=1)
    if num_components > x1.shape[0]:
        raise ValueError(
            f"num_components must be at most the number of rows of x1 ({x1.shape[0]}), got {num_components}"
        )
    require_key("key", key)
    idx = jax.random.choice(key, x1.shape[0], (num_components,), replace=False)
    return {
        "log_alpha": jnp.full((num_components,), -math.log(num_components), x1.dtype),
        "r": x1[idx],
        "log_s": jnp.zeros((num_components, x1.shape[1]), x1.dtype),
    }


def _check_params(params: Any, d: int) -> tuple:
    if not (isinstance(params, dict) and set(params) == set(_KEYS)):
        raise TypeError(f"params must be a dict with keys {_KEYS} (see light_sb_init), got {params!r:.80}")
    if any(isinstance(params[k], jax.core.Tracer) for k in _KEYS):
        return tuple(jnp.asarray(params[k]) for k in _KEYS)
    la = as_nonempty_float_array("params['log_alpha']", params["log_alpha"], ndim=1)
    r = as_nonempty_float_array("params['r']", params["r"], ndim=2)
    ls = as_nonempty_float_array("params['log_s']", params["log_s"], ndim=2)
    if r.shape != ls.shape or la.shape[0] != r.shape[0]:
        raise ValueError(
            "params must have shapes log_alpha (K,), r (K, d), log_s (K, d); got "
            f"{tuple(la.shape)}, {tuple(r.shape)}, {tuple(ls.shape)}"
        )
    if r.shape[1] != d:
        raise ValueError(
            f"params['r'] must have d = {d} columns (the dimension of the points), got {r.shape[1]}"
        )
    return la, r, ls


def _log_weights0(la, r, s, x0, eps):
    """``log α_k + (x_0ᵀ S_k x_0 + 2 r_kᵀ x_0)/(2ε)``, ``N × K`` (unnormalised)."""
    quad = jnp.matmul(x0**2, s.T, precision=_HIGHEST) + 2.0 * jnp.matmul(x0, r.T, precision=_HIGHEST)
    return la[None, :] + quad / (2.0 * eps)


def light_sb_loss(
    params: dict[str, Float[Array, "*shape"]],
    x0: Float[ArrayLike, "N d"],
    x1: Float[ArrayLike, "M d"],
    eps: float | Float[Array, ""],
) -> Float[Array, ""]:
    """The Light SB objective ``L = (1/N) Σ_i log c(x_0^i) − (1/M) Σ_j log v(x_1^j)``, equal to
    ``KL(π* ‖ π_θ)`` up to a constant independent of the parameters (Korotin et al. 2024); minimise
    it with :func:`optlab.runner.run_loss`.

    Args:
      params: the dict of :func:`light_sb_init`.
      x0: samples of ``p_0``, ``N × d``.
      x1: samples of ``p_1``, ``M × d``.
      eps: the regularisation ``ε > 0`` (the variance of the reference Brownian motion).

    Returns:
      The scalar ``L``.

    Raises:
      TypeError: non-numeric arrays, ``params`` not the dict of :func:`light_sb_init`.
      ValueError: non-finite or empty arrays, mismatched dimensions, ``eps`` not positive.
    """
    x0 = as_nonempty_float_array("x0", x0, ndim=2)
    x1 = as_nonempty_float_array("x1", x1, ndim=2)
    if x1.shape[1] != x0.shape[1]:
        raise ValueError(f"x1 must have d = {x0.shape[1]} columns like x0, got {x1.shape[1]}")
    la, r, ls = _check_params(params, x0.shape[1])
    eps = _positive_scalar("eps", eps)
    return _loss(la, r, ls, x0, x1, eps)


@jax.jit
def _loss(la, r, ls, x0, x1, eps):
    eps = jnp.asarray(eps, x0.dtype)
    s = jnp.exp(ls)
    log_c = jax.nn.logsumexp(_log_weights0(la, r, s, x0, eps), axis=1)
    d = x1.shape[1]
    sq = jnp.sum((x1[:, None, :] - r[None]) ** 2 / s[None], axis=2)
    log_norm = 0.5 * (d * jnp.log(2.0 * jnp.pi * eps) + jnp.sum(ls, axis=1))
    log_v = jax.nn.logsumexp(la[None, :] - log_norm[None, :] - sq / (2.0 * eps), axis=1)
    return jnp.mean(log_c) - jnp.mean(log_v)


def light_sb_sample(
    params: dict[str, Float[Array, "*shape"]],
    x0: Float[ArrayLike, "N d"],
    eps: float | Float[Array, ""],
    *,
    key: PRNGKeyArray,
) -> Float[Array, "N d"]:
    """One draw of ``x_1 ~ π_θ(· | x_0)`` per row of ``x0``, exactly (no SDE): a component ``k``
    with probability ``w_k(x_0)``, then ``x_1 ~ N(r_k + S_k x_0, ε S_k)``.

    Args:
      params: the dict of :func:`light_sb_init`.
      x0: the starting points, ``N × d``.
      eps: the regularisation ``ε > 0``.
      key: a PRNG key (``jax.random.key``).

    Returns:
      ``x_1``, ``N × d``.

    Raises:
      TypeError: non-numeric arrays, ``params`` not the dict of :func:`light_sb_init`, ``key``
        not a key.
      ValueError: non-finite or empty ``x0``, mismatched dimensions, ``eps`` not positive.
    """
    x0 = as_nonempty_float_array("x0", x0, ndim=2)
    la, r, ls = _check_params(params, x0.shape[1])
    eps = _positive_scalar("eps", eps)
    require_key("key", key)
    return _sample(la, r, ls, x0, eps, key)


@jax.jit
def _sample(la, r, ls, x0, eps, key):
    eps = jnp.asarray(eps, x0.dtype)
    s = jnp.exp(ls)
    k_c, k_z = jax.random.split(key)
    comp = jax.random.categorical(k_c, _log_weights0(la, r, s, x0, eps), axis=1)
    mean = r[comp] + s[comp] * x0
    z = jax.random.normal(k_z, x0.shape, x0.dtype)
    return mean + jnp.sqrt(eps * s[comp]) * z


def light_sb_drift(
    params: dict[str, Float[Array, "*shape"]],
    x: Float[ArrayLike, "N d"],
    t: float | Float[Array, ""],
    eps: float | Float[Array, ""],
) -> Float[Array, "N d"]:
    """The drift ``g(x, t)`` of the Light SB bridge ``dX_t = g(X_t, t) dt + √ε dW_t``, in closed
    form: ``g = Σ_k w_k(x, t) M_k(t)⁻¹ ((S_k − I) x + r_k)``, ``M_k(t) = (1 − t) I + t S_k``,
    ``w_k ∝ α_k N(x | t r_k, ε t M_k(t))`` (evaluated without the ``1/t`` singularity, so ``t = 0``
    is allowed; there ``g = E[x_1 | x_0] − x_0``).

    Args:
      params: the dict of :func:`light_sb_init`.
      x: the points, ``N × d``.
      t: the time, in ``[0, 1]``.
      eps: the regularisation ``ε > 0``.

    Returns:
      ``g(x, t)``, ``N × d``.

    Raises:
      TypeError: non-numeric arrays, ``params`` not the dict of :func:`light_sb_init`.
      ValueError: non-finite or empty ``x``, mismatched dimensions, ``t`` outside ``[0, 1]``,
        ``eps`` not positive.
    """
    x = as_nonempty_float_array("x", x, ndim=2)
    la, r, ls = _check_params(params, x.shape[1])
    t = _time("t", t)
    eps = _positive_scalar("eps", eps)
    return _drift(la, r, ls, x, t, eps)


def _drift_fn(la, r, ls, x, t, eps):
    t, eps = jnp.asarray(t, x.dtype), jnp.asarray(eps, x.dtype)
    s = jnp.exp(ls)  # K × d
    m = (1.0 - t) + t * s  # diagonal of M_k(t)
    y = x[:, None, :] - t * r[None]  # N × K × d
    # log N(x | t r_k, ε t M_k) up to terms common to all k, with ‖x‖²/(εt) removed analytically
    expo = 2.0 * x[:, None, :] * r[None] - t * r[None] ** 2 + (s[None] - 1.0) * y**2 / m[None]
    logw = la[None] - 0.5 * jnp.sum(jnp.log(m), axis=1)[None] + jnp.sum(expo, axis=2) / (2.0 * eps)
    w = jax.nn.softmax(logw, axis=1)
    v = ((s[None] - 1.0) * x[:, None, :] + r[None]) / m[None]
    return jnp.sum(w[:, :, None] * v, axis=1)


_drift = jax.jit(_drift_fn)


def light_sb_sde(
    params: dict[str, Float[Array, "*shape"]],
    x0: Float[ArrayLike, "N d"],
    eps: float | Float[Array, ""],
    *,
    num_steps: int,
    key: PRNGKeyArray,
    return_iterates: bool = False,
) -> BridgeOutput:
    """Euler–Maruyama for the Light SB bridge ``dX_t = g(X_t, t) dt + √ε dW_t`` from ``x_0`` at
    ``t = 0`` to ``t = 1`` on the uniform grid of ``K = num_steps`` steps:
    ``x ← x + h g(x, t) + √(ε h) ξ``.  As ``h → 0`` the endpoint has the law ``π_θ(· | x_0)``
    that :func:`light_sb_sample` draws exactly.

    Args:
      params: the dict of :func:`light_sb_init`.
      x0: the starting points, ``N × d``.
      eps: the regularisation ``ε > 0``.
      num_steps: the number ``K ≥ 1`` of steps.
      key: a PRNG key (``jax.random.key``).
      return_iterates: record the whole path.

    Returns:
      A :class:`BridgeOutput`.

    Raises:
      TypeError: non-numeric arrays, ``params`` not the dict of :func:`light_sb_init`, ``key``
        not a key, ``num_steps`` not an integer.
      ValueError: non-finite or empty ``x0``, mismatched dimensions, ``eps`` not positive,
        ``num_steps < 1``.
    """
    x0 = as_nonempty_float_array("x0", x0, ndim=2)
    la, r, ls = _check_params(params, x0.shape[1])
    eps = _positive_scalar("eps", eps)
    require_int("num_steps", num_steps, minimum=1)
    require_key("key", key)
    if not isinstance(return_iterates, bool):
        raise TypeError(f"return_iterates must be a bool, got {type(return_iterates).__name__}")
    return _sde(num_steps, return_iterates, la, r, ls, x0, eps, key)


@functools.partial(jax.jit, static_argnums=(0, 1))
def _sde(num_steps, return_iterates, la, r, ls, x0, eps, key):
    eps = jnp.asarray(eps, x0.dtype)
    h = 1.0 / num_steps
    times = jnp.linspace(0.0, 1.0, num_steps + 1, dtype=x0.dtype)
    keys = jax.random.split(key, num_steps)

    def step(x, inp):
        t, k = inp
        xi = jax.random.normal(k, x.shape, x.dtype)
        x_new = x + h * _drift_fn(la, r, ls, x, t, eps) + jnp.sqrt(eps * h) * xi
        return x_new, (x_new if return_iterates else None)

    x, path = jax.lax.scan(step, x0, (times[:-1], keys))
    iterates = jnp.concatenate([x0[None], path]) if return_iterates else None
    return BridgeOutput(x, iterates, times)
