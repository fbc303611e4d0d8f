"""Lipschitz-by-construction layers (chapter 7): spectral and Gram normalisation, orthogonal
maps (Cayley, block reflectors of Lai et al. 2025), MaxMin and sandwich layers (Wang &
Manchester, 2023), and the 1-Lipschitz Gram-normalised MaxMin network of chapter 8."""

from __future__ import annotations

from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from .._checks import (
    as_float_array,
    is_concrete,
    require_int,
    require_key,
)
from .._types import Array, Float, PRNGKeyArray
from ._common import (
    ACTIVATIONS,
    Params,
    _check_activation,
    _check_matrix,
    _check_params,
    _check_points,
    _check_positive_scalar,
    _mm,
    _safe,
)
from .norms import _check_start, _gram, _power

__all__ = [
    "spectral_normalize",
    "gram_normalize",
    "cayley",
    "block_reflector",
    "orthogonality_residual",
    "maxmin",
    "sandwich_init",
    "sandwich_apply",
    "sandwich_as_mlp",
    "gram_normalize_mlp",
    "maxmin_mlp_apply",
]


# ---------------------------------------------------------------------------
# Lipschitz-by-construction layers
# ---------------------------------------------------------------------------


def spectral_normalize(
    W: Float[ArrayLike, "m n"], u: Float[ArrayLike, " n"], *, num_steps: int = 1
) -> tuple[Float[Array, "m n"], Float[Array, " n"]]:
    """Spectral normalisation (Miyato et al., 2018): ``num_steps`` power steps from the
    persistent vector ``u`` give σ̂ ≤ σ₁ (a LOWER bound), and W/σ̂ is returned with the
    new ``u``. Because σ̂ can be below σ₁, σ₁(W/σ̂) can exceed 1 (under-normalisation).
    A zero ``W`` is returned unchanged.

    Args:
      W: a non-empty finite matrix (m, n).
      u: the persistent non-zero vector, length n.
      num_steps: power steps ≥ 1.

    Returns:
      ``(W / σ̂, u_new)``.

    Raises:
      TypeError, ValueError: bad ``W``, ``u`` (wrong length, zero, NaN) or ``num_steps``.
    """
    W = _check_matrix("W", W)
    u = _check_start("u", u, W.shape[1])
    require_int("num_steps", num_steps, minimum=1)
    res = _power(W, u.astype(jnp.result_type(W, u)), num_steps)
    return W / _safe(res.sigma), res.vector


def gram_normalize(W: Float[ArrayLike, "m n"], *, num_steps: int = 6) -> Float[Array, "m n"]:
    """W / (Gram-iteration UPPER bound): guaranteed σ₁ ≤ 1, differentiable. A zero
    ``W`` is returned unchanged.

    Args:
      W: a non-empty finite matrix.
      num_steps: Gram steps ≥ 0.

    Returns:
      The normalised matrix.

    Raises:
      TypeError, ValueError: bad ``W`` or ``num_steps``.
    """
    W = _check_matrix("W", W)
    require_int("num_steps", num_steps, minimum=0)
    return W / _safe(_gram(W, num_steps).sigma)


def cayley(A: Float[ArrayLike, "n n"]) -> Float[Array, "n n"]:
    """Orthogonal Q = (I − S)(I + S)^{-1} with S = A − Aᵀ skew-symmetric (square A).

    Args:
      A: a non-empty finite square matrix.

    Returns:
      The orthogonal matrix Q (I + S is always invertible).

    Raises:
      TypeError, ValueError: ``A`` not a finite non-empty square matrix.
    """
    A = _check_matrix("A", A)
    n, m = A.shape
    if n != m:
        raise ValueError(f"A must be square, got shape {(n, m)}")
    S = A - A.T
    eye = jnp.eye(n, dtype=A.dtype)
    return jnp.linalg.solve((eye + S).T, (eye - S).T).T


def block_reflector(V: Float[ArrayLike, "n k"]) -> Float[Array, "n n"]:
    """Block reflector orthogonal (BRO) matrix W = I − 2V(VᵀV)^{-1}Vᵀ for V of shape
    (n, k), k ≤ n, full column rank: symmetric, orthogonal, cost O(n²k).

    Args:
      V: a finite (n, k) matrix, 1 ≤ k ≤ n, of full column rank (checked when concrete).

    Returns:
      The (n, n) reflector.

    Raises:
      TypeError, ValueError: bad shape, NaN/inf, rank-deficient ``V``.
    """
    V = _check_matrix("V", V)
    n, k = V.shape
    if k > n:
        raise ValueError(f"V must have at most as many columns as rows, got shape {(n, k)}")
    if is_concrete(V):
        s = np.linalg.svd(np.asarray(V, dtype=float), compute_uv=False)
        if s[-1] <= s[0] * max(n, k) * np.finfo(np.asarray(V).dtype).eps:
            raise ValueError(f"V must have full column rank, got singular values down to {s[-1]:.3g}")
    VtV = _mm(V.T, V)
    return jnp.eye(n, dtype=V.dtype) - 2.0 * _mm(V, jnp.linalg.solve(VtV, V.T))


def orthogonality_residual(Q: Float[ArrayLike, "m n"]) -> Float[Array, ""]:
    """``max |QᵀQ − I|`` (zero for a matrix with orthonormal columns).

    Args:
      Q: a non-empty finite matrix.

    Returns:
      The residual, a scalar.

    Raises:
      TypeError, ValueError: bad ``Q``.
    """
    Q = _check_matrix("Q", Q)
    return jnp.max(jnp.abs(_mm(Q.T, Q) - jnp.eye(Q.shape[1], dtype=Q.dtype)))


def maxmin(x: Float[ArrayLike, "*batch n"]) -> Float[Array, "*batch n"]:
    """MaxMin (GroupSort with groups of 2) on the last axis: (a, b) ↦ (max, min);
    a permutation of each pair, hence 1-Lipschitz in ℓ2 (and gradient-norm preserving).

    Args:
      x: an array whose last axis has even length.

    Returns:
      Same shape as ``x``: the pairwise maxima, then the pairwise minima.

    Raises:
      TypeError, ValueError: non-numeric, non-finite, scalar or odd-length ``x``.
    """
    x = as_float_array("x", x)
    if x.ndim == 0 or x.shape[-1] % 2:
        raise ValueError(
            f"x must have an even last dimension (maxmin acts on pairs), got shape {tuple(x.shape)}"
        )
    return _maxmin(x)


def _maxmin(x):
    a, b = x[..., 0::2], x[..., 1::2]
    return jnp.concatenate([jnp.maximum(a, b), jnp.minimum(a, b)], axis=-1)


def sandwich_init(
    n_in: int, n_hidden: int, n_out: int, dtype: Any = jnp.float32, *, key: PRNGKeyArray
) -> dict:
    """Free parameters of a sandwich layer (Wang & Manchester, 2023): an unconstrained
    square matrix X of size n_out + n_in (its Cayley transform gives [Aᵀ; Bᵀ] with
    orthonormal columns), log-scales d (Ψ = diag(e^d)) and a bias b.

    Args:
      n_in, n_hidden, n_out: positive integers with n_hidden ≤ n_in + n_out.
      dtype: a floating dtype.
      key: PRNG key.

    Returns:
      ``{"X", "d", "b", "shape": (n_in, n_hidden, n_out)}``.

    Raises:
      TypeError, ValueError: integer ``key``, bad sizes, non-floating ``dtype``.
    """
    require_key("key", key)
    for name, v in (("n_in", n_in), ("n_hidden", n_hidden), ("n_out", n_out)):
        require_int(name, v, minimum=1)
    if n_hidden > n_in + n_out:
        raise ValueError(f"n_hidden must be <= n_in + n_out = {n_in + n_out}, got {n_hidden}")
    try:
        dt = jnp.dtype(dtype)
    except TypeError as err:
        raise TypeError(f"dtype must be a floating dtype such as jnp.float32, got {dtype!r}") from err
    if not jnp.issubdtype(dt, jnp.floating):
        raise TypeError(f"dtype must be a floating dtype such as jnp.float32, got {dt}")
    k1, k2, k3 = jax.random.split(key, 3)
    s = n_in + n_out
    return {
        "X": jax.random.normal(k1, (s, s), dt) / jnp.sqrt(s),
        "d": 0.1 * jax.random.normal(k2, (n_hidden,), dt),
        "b": 0.1 * jax.random.normal(k3, (n_hidden,), dt),
        "shape": (n_in, n_hidden, n_out),
    }


def _check_sandwich(p: Any) -> dict:
    if not isinstance(p, dict) or not {"X", "d", "b", "shape"} <= set(p):
        raise TypeError(
            f"p must be a dict with keys 'X', 'd', 'b', 'shape' (from sandwich_init), got {type(p).__name__}"
        )
    shape = p["shape"]
    if (
        not isinstance(shape, (tuple, list))
        or len(shape) != 3
        or not all(isinstance(v, (int, np.integer)) and v >= 1 for v in shape)
    ):
        raise ValueError(f"p['shape'] must be (n_in, n_hidden, n_out) positive integers, got {shape!r}")
    n_in, m, n_out = (int(v) for v in shape)
    if m > n_in + n_out:
        raise ValueError(f"p['shape']: n_hidden must be <= n_in + n_out, got {shape!r}")
    X = as_float_array("p['X']", p["X"], ndim=2)
    if X.shape != (n_in + n_out, n_in + n_out):
        raise ValueError(f"p['X'] must have shape {(n_in + n_out,) * 2}, got {tuple(X.shape)}")
    d = as_float_array("p['d']", p["d"], ndim=1)
    b = as_float_array("p['b']", p["b"], ndim=1)
    for name, v in (("p['d']", d), ("p['b']", b)):
        if v.shape != (m,):
            raise ValueError(f"{name} must have shape ({m},), got {tuple(v.shape)}")
    return {"X": X, "d": d, "b": b, "shape": (n_in, m, n_out)}


def _sandwich_mats(p):
    n_in, m, n_out = p["shape"]
    Q = cayley(p["X"])[:, :m]  # (n_out + n_in, m), orthonormal columns
    At, Bt = Q[:n_out], Q[n_out:]  # AAᵀ + BBᵀ = QᵀQ = I_m
    return At.T, Bt.T  # A: (m, n_out), B: (m, n_in)


def sandwich_apply(
    p: dict, x: Float[ArrayLike, " n_in"], gamma: Float[ArrayLike, ""] = 1.0, activation: str = "relu"
) -> Float[Array, " n_out"]:
    """γ-Lipschitz (ℓ2) sandwich layer h ↦ √γ·√2 AᵀΨ σ(√2 Ψ^{-1} B √γ h + b). With
    AAᵀ + BBᵀ = I and σ slope-restricted to [0, 1] the layer is γ-Lipschitz: the
    change of output is 2AᵀSBΔh (S diagonal in [0, 1]) and the quadratic constraint
    w(z − w) ≥ 0 with multiplier 2 gives ‖Δh‖² − ‖Δy‖² ≥ ‖Δh − 2Bᵀw‖²+4wᵀ(I−AAᵀ−BBᵀ)w ≥ 0.

    Args:
      p: parameters from :func:`sandwich_init`.
      x: one input, (n_in,).
      gamma: the Lipschitz constant γ > 0.
      activation: ``"relu"`` or ``"tanh"``.

    Returns:
      The output, (n_out,).

    Raises:
      TypeError, ValueError: malformed ``p``, bad ``x``, non-positive ``gamma``, unknown ``activation``.
    """
    p = _check_sandwich(p)
    x = _check_points("x", x, p["shape"][0], ndim=1)
    gamma = _check_positive_scalar("gamma", gamma)
    _check_activation(activation)
    A, B = _sandwich_mats(p)
    psi = jnp.exp(p["d"])
    sig = ACTIVATIONS[activation]
    z = jnp.sqrt(2.0) / psi * _mm(B, jnp.sqrt(gamma) * x) + p["b"]
    return jnp.sqrt(gamma) * jnp.sqrt(2.0) * _mm(A.T, psi * sig(z))


def sandwich_as_mlp(
    p: dict, gamma: Float[ArrayLike, ""] = 1.0
) -> list[tuple[Float[Array, "out in"], Float[Array, " out"]]]:
    """The same layer as a one-hidden-layer MLP ``[(W1, b1), (W2, 0)]`` (for LipSDP).

    Args:
      p: parameters from :func:`sandwich_init`.
      gamma: γ > 0.

    Returns:
      The MLP parameters.

    Raises:
      TypeError, ValueError: malformed ``p``, non-positive ``gamma``.
    """
    p = _check_sandwich(p)
    gamma = _check_positive_scalar("gamma", gamma)
    A, B = _sandwich_mats(p)
    psi = jnp.exp(p["d"])
    W1 = jnp.sqrt(2.0 * gamma) * (B / psi[:, None])
    W2 = jnp.sqrt(2.0 * gamma) * (A.T * psi[None, :])
    return [(W1, p["b"]), (W2, jnp.zeros(W2.shape[0], W2.dtype))]


# ---------------------------------------------------------------------------
# A 1-Lipschitz MLP by construction (chapter 8)
# ---------------------------------------------------------------------------


@partial(jax.jit, static_argnums=1)
def _gram_normalize_all(params, num_steps):
    return [(W / _safe(_gram(W, num_steps).sigma), b) for W, b in params]


@partial(jax.jit, static_argnums=2)
def _maxmin_mlp(params, x, num_steps):
    ps = _gram_normalize_all(params, num_steps)
    h = x
    for W, b in ps[:-1]:
        h = _maxmin(_mm(W, h) + b)
    W, b = ps[-1]
    return _mm(W, h) + b


def gram_normalize_mlp(
    params: Params, *, num_steps: int = 6
) -> list[tuple[Float[Array, "m n"], Float[Array, " m"]]]:
    """Every weight of an MLP divided by its Gram-iteration UPPER bound (:func:`gram_normalize`,
    Delattre et al., 2023): ``[(W_l / β_l, b_l)]`` with ``β_l ≥ σ₁(W_l)``, so each normalised
    ``Ŵ_l`` has ``σ₁(Ŵ_l) ≤ 1`` and the product of their norms certifies ``L ≤ 1`` for any
    1-Lipschitz activation. Differentiable in ``params`` (it is the parametrisation trained in
    chapter 8); the biases are returned unchanged.

    Args:
      params: the raw MLP, a non-empty list of finite ``(W_l, b_l)`` pairs whose shapes chain,
        ``W_l`` of shape ``(m_l, n_l)`` and ``b_l`` of length ``m_l``.
      num_steps: Gram steps ``>= 0`` (0: the Frobenius bound).

    Returns:
      The list of ``(Ŵ_l, b_l)`` pairs, same shapes as ``params``.

    Raises:
      TypeError, ValueError: malformed ``params`` (not a list of pairs, shapes that do not chain,
        NaN/inf, strings), ``num_steps`` not an integer ``>= 0``.
    """
    params = _check_params(params)
    require_int("num_steps", num_steps, minimum=0)
    return _gram_normalize_all(params, num_steps)


def maxmin_mlp_apply(
    params: Params, x: Float[ArrayLike, " n_in"], *, num_steps: int = 6
) -> Float[Array, " n_out"]:
    """The 1-Lipschitz network of chapter 8 at one input:
    ``f(x) = Ŵ_L m(… m(Ŵ_1 x + b_1) …) + b_L`` with ``Ŵ_l`` the Gram-normalised weights of
    :func:`gram_normalize_mlp` (``σ₁(Ŵ_l) ≤ 1``) and ``m`` the MaxMin activation
    (:func:`maxmin`). Both are 1-Lipschitz in ℓ2, so ``‖f(x) − f(x')‖₂ ≤ ‖x − x'‖₂`` holds by
    construction, whatever ``params``: the margin certificate of
    :func:`optlab.lipschitz.lipschitz_margin_radius` with ``L = 1`` applies. Compiled once per
    (shapes of ``params``, ``x``, ``num_steps``); differentiable in ``params`` and ``x``.

    Args:
      params: the raw (unnormalised) MLP, a non-empty list of finite ``(W_l, b_l)`` pairs
        whose shapes chain; every hidden width ``m_l`` (``l < L``) must be even (MaxMin acts
        on pairs).
      x: one input vector of length ``n_1 = W_1.shape[1]``.
      num_steps: Gram steps ``>= 0`` of the normalisation.

    Returns:
      ``f(x)``, of length ``W_L.shape[0]``.

    Raises:
      TypeError, ValueError: malformed ``params``, an odd hidden width, ``x`` of the wrong
        shape or non-finite, ``num_steps`` not an integer ``>= 0``.
    """
    params = _check_params(params)
    require_int("num_steps", num_steps, minimum=0)
    for i, (W, _) in enumerate(params[:-1]):
        if W.shape[0] % 2:
            raise ValueError(
                f"params[{i}] has an odd width {W.shape[0]}: every hidden width must be even "
                "(MaxMin acts on pairs)"
            )
    x = _check_points("x", x, params[0][0].shape[1], ndim=1)
    return _maxmin_mlp(params, x, num_steps)
