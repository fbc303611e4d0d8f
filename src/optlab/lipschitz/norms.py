"""Spectral norm of a matrix and of a circular convolution (chapter 7): exact values, power
iteration (LOWER bounds) and Gram iteration (UPPER bounds; Delattre et al., 2023)."""

from __future__ import annotations

from functools import partial
from typing import Any, NamedTuple

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
    _HI,
    _check_matrix,
    _fro,
    _mm,
    _require_concrete,
    _safe,
)

__all__ = [
    "SpectralResult",
    "spectral_norm_exact",
    "power_iteration",
    "gram_iteration",
    "frobenius_bound",
    "conv_apply",
    "conv_dense_matrix",
    "conv_spectral_norm_exact",
    "conv_gram_iteration",
    "conv_power_iteration",
]


class SpectralResult(NamedTuple):
    """An estimate of the largest singular value σ₁. The method iterates on the estimate,
    so its final point ``params`` is ``sigma``.

    Attributes:
      sigma: the estimate of σ₁ after the last iteration.
      iterates: the estimates of every iteration (index 0 is the starting estimate,
        ``num_steps + 1`` rows).
      kind: LOWER, UPPER or EXACT.
      vector: the final vector (power iteration: the right singular vector estimate; Gram
        iteration: ``None``).
    """

    sigma: Float[Array, ""]
    iterates: Float[Array, " num_steps+1"]
    kind: str
    vector: Float[Array, " n"] | None = None

    @property
    def params(self) -> Array:
        """The final estimate σ̂ (the last row of ``iterates``, equal to ``sigma``)."""
        return self.sigma


# ---------------------------------------------------------------------------
# spectral norm of a matrix
# ---------------------------------------------------------------------------


def spectral_norm_exact(W: Float[ArrayLike, "m n"]) -> Float[Array, ""]:
    """σ₁(W) by SVD (EXACT, differentiable where σ₁ is simple).

    Args:
      W: a non-empty finite matrix (m, n).

    Returns:
      The largest singular value, a scalar.

    Raises:
      TypeError: ``W`` is not a real numeric array.
      ValueError: ``W`` is not a non-empty finite 2-D array.
    """
    W = _check_matrix("W", W)
    return jnp.linalg.svd(W, compute_uv=False)[0]


def frobenius_bound(W: Float[ArrayLike, "m n"]) -> Float[Array, ""]:
    """‖W‖_F ≥ σ₁(W): the trivial UPPER bound (Gram iteration at t = 0).

    Args:
      W: a non-empty finite matrix.

    Returns:
      ‖W‖_F, a scalar.

    Raises:
      TypeError, ValueError: as :func:`spectral_norm_exact`.
    """
    W = _check_matrix("W", W)
    return jnp.linalg.norm(W)


def power_iteration(
    W: Float[ArrayLike, "m n"],
    *,
    num_steps: int,
    key: PRNGKeyArray | None = None,
    v0: Float[ArrayLike, " n"] | None = None,
) -> SpectralResult:
    """Power iteration on WᵀW: v ← WᵀWv/‖WᵀWv‖, estimate σ̂_k = ‖W v_k‖.

    σ̂_k is a LOWER bound on σ₁ (a Rayleigh quotient) and never decreases:
    σ̂_k² = m_{2k+1}/m_{2k} with m_j = Σ_i c_i² σ_i^{2j}, a non-decreasing ratio by
    Cauchy–Schwarz. Linear convergence: the vector v_k approaches the top singular
    vector at ratio (σ₂/σ₁)² per step, and the error 1 − σ̂_k/σ₁ of the estimate, a
    quadratic form in v_k, at ratio (σ₂/σ₁)⁴. Compiled once per shape and ``num_steps``.

    Args:
      W: a non-empty finite matrix (m, n).
      num_steps: number of iterations k ≥ 0.
      key: a PRNG key for a Gaussian start (used when ``v0`` is None).
      v0: a non-zero start vector of length n.

    Returns:
      A :class:`SpectralResult` of kind LOWER; ``iterates`` has ``num_steps + 1`` entries.

    Raises:
      TypeError: no start (neither ``key`` nor ``v0``), an integer ``key``, non-numeric input.
      ValueError: bad shapes, NaN/inf, a zero ``v0``, ``num_steps < 0``.
    """
    W = _check_matrix("W", W)
    require_int("num_steps", num_steps, minimum=0)
    n = W.shape[1]
    if v0 is None:
        if key is None:
            raise TypeError("power_iteration needs a start: pass key=jax.random.key(seed) or v0=")
        require_key("key", key)
        v0 = jax.random.normal(key, (n,), dtype=W.dtype)
    else:
        v0 = _check_start("v0", v0, n)
    return _power(W, v0.astype(jnp.result_type(W, v0)), num_steps)


def _check_start(name: str, v: Any, n: int) -> Array:
    v = as_float_array(name, v, ndim=1)
    if v.shape[0] != n:
        raise ValueError(f"{name} must have length {n} (columns of W), got {v.shape[0]}")
    if is_concrete(v) and not np.any(np.asarray(v)):
        raise ValueError(f"{name} must be a non-zero vector (the start of the power iteration), got zeros")
    return v


def _power(W, v0, num_steps):
    iterates, v = _power_jit(W, v0, num_steps)
    return SpectralResult(iterates[-1], iterates, "LOWER", v)


@partial(jax.jit, static_argnums=2)
def _power_jit(W, v0, num_steps):
    v = v0 / _safe(jnp.linalg.norm(v0))

    def step(v, _):
        w = _mm(W.T, _mm(W, v))
        v_new = w / _safe(jnp.linalg.norm(w))  # W = 0: v stays 0 and σ̂ = 0
        return v_new, jnp.linalg.norm(_mm(W, v_new))

    vT, hist = jax.lax.scan(step, v, None, length=num_steps)
    return jnp.concatenate([jnp.linalg.norm(_mm(W, v))[None], hist]), vT


def gram_iteration(W: Float[ArrayLike, "m n"], *, num_steps: int) -> SpectralResult:
    """Gram iteration (Delattre et al., 2023): G₀ = W, G_{t+1} = G_tᵀG_t, and
    σ₁(W) ≤ ‖G_t‖_F^{1/2^t}: an UPPER bound that never increases because
    ‖GᵀG‖_F ≤ ‖G‖_F². Each G_t is stored rescaled to unit Frobenius norm with the
    log-scale accumulated separately, so nothing overflows; iterates[0] = ‖W‖_F.
    Converges superlinearly: bound/σ₁ ≤ rank^{1/2^{t+1}} and much faster with a gap.
    Differentiable (all steps are matrix products and norms). Compiled once per
    shape and ``num_steps``; products at ``Precision.HIGHEST``.

    Args:
      W: a non-empty finite matrix.
      num_steps: number of Gram steps t ≥ 0.

    Returns:
      A :class:`SpectralResult` of kind UPPER; ``iterates`` has ``num_steps + 1`` entries.

    Raises:
      TypeError, ValueError: non-numeric, non-matrix, empty or non-finite ``W``;
        ``num_steps`` not an integer ≥ 0.
    """
    W = _check_matrix("W", W)
    require_int("num_steps", num_steps, minimum=0)
    return _gram(W, num_steps)


def _gram(W, num_steps):
    iterates = _gram_jit(W, num_steps)
    return SpectralResult(iterates[-1], iterates, "UPPER")


# region: lipschitz-gram-iteration
@partial(jax.jit, static_argnums=1)
def _gram_jit(W, num_steps):
    m, n = W.shape
    fro = _fro(W)
    H = W / _safe(fro)  # unit Frobenius norm (W = 0: every bound is 0, not NaN)
    if num_steps == 0:
        return fro[None]
    # G_t is stored rescaled to unit norm; ell = log(β_t / ‖W‖_F) = Σ_j log‖H_{j−1}ᵀH_{j−1}‖_F / 2^j
    # is accumulated separately: it stays of the order of log(rank), so neither G_t nor the
    # log-scale overflows or loses precision, whatever ‖W‖.
    # one-sided start: the smaller of WᵀW / WWᵀ has the same Frobenius norm
    G = _mm(H, H.T) if m < n else _mm(H.T, H)
    nrm = jnp.linalg.norm(G)
    ell = jnp.log(nrm) / 2.0

    def step(carry, t):
        H, ell = carry
        G = _mm(H.T, H)
        nrm = jnp.linalg.norm(G)
        ell = ell + jnp.log(nrm) / 2.0 ** (t + 2)
        return (G / _safe(nrm), ell), fro * jnp.exp(ell)

    _, hist = jax.lax.scan(step, (G / _safe(nrm), ell), jnp.arange(num_steps - 1, dtype=ell.dtype))
    return jnp.concatenate([fro[None], (fro * jnp.exp(ell))[None], hist])
    # endregion: lipschitz-gram-iteration


# ---------------------------------------------------------------------------
# circular convolutions
# ---------------------------------------------------------------------------


def _check_kernel(kernel: Any) -> Array:
    kernel = as_float_array("kernel", kernel, ndim=4)
    if 0 in kernel.shape:
        raise ValueError(f"kernel must be non-empty, got shape {tuple(kernel.shape)}")
    return kernel


def _check_kernel_size(kernel: Any, input_size: Any) -> Array:
    kernel = _check_kernel(kernel)
    require_int("input_size", input_size, minimum=1)
    k1, k2 = kernel.shape[2:]
    if k1 > input_size or k2 > input_size:
        raise ValueError(f"kernel spatial size {(k1, k2)} exceeds input_size {input_size}")
    return kernel


def conv_apply(
    kernel: Float[ArrayLike, "c_out c_in k1 k2"], x: Float[ArrayLike, "*B c_in n1 n2"]
) -> Float[Array, "*B c_out n1 n2"]:
    """Circular (wrap-around) cross-correlation, stride 1, 'same' size:
    y[o,i,j] = Σ_{c,a,b} K[o,c,a,b] · x[c, (i+a−p) mod n, (j+b−p) mod n], p = k//2.

    Args:
      kernel: (c_out, c_in, k1, k2).
      x: (c_in, n1, n2) or a batch (B, c_in, n1, n2), with k1 ≤ n1 and k2 ≤ n2.

    Returns:
      (c_out, n1, n2), or (B, c_out, n1, n2).

    Raises:
      TypeError, ValueError: non-numeric or non-finite input, wrong dimensions, channel
        mismatch, a kernel larger than the image.
    """
    kernel = _check_kernel(kernel)
    x = as_float_array("x", x, ndim=(3, 4))
    if x.shape[-3] != kernel.shape[1]:
        raise ValueError(
            f"x must have {kernel.shape[1]} channels (kernel c_in) on axis -3, got shape {tuple(x.shape)}"
        )
    k1, k2 = kernel.shape[2:]
    if k1 > x.shape[-2] or k2 > x.shape[-1]:
        raise ValueError(f"kernel spatial size {(k1, k2)} exceeds the image size {tuple(x.shape[-2:])} of x")
    return _conv(kernel, x)


def _conv(kernel, x):
    single = x.ndim == 3
    xb = x[None] if single else x
    k1, k2 = kernel.shape[2:]
    p1, p2 = k1 // 2, k2 // 2
    xp = jnp.pad(xb, ((0, 0), (0, 0), (p1, k1 - 1 - p1), (p2, k2 - 1 - p2)), mode="wrap")
    y = jax.lax.conv_general_dilated(
        xp,
        kernel.astype(xp.dtype),
        (1, 1),
        "VALID",
        dimension_numbers=("NCHW", "OIHW", "NCHW"),
        precision=_HI,
    )
    return y[0] if single else y


def conv_dense_matrix(
    kernel: Float[ArrayLike, "c_out c_in k k"], input_size: int
) -> Float[np.ndarray, "c_out*n*n c_in*n*n"]:
    """The dense (c_out·n², c_in·n²) matrix of :func:`conv_apply`, built by explicit
    loops over the definition (an independent reference, small sizes only; NumPy,
    so ``kernel`` must be concrete).

    Args:
      kernel: (c_out, c_in, k, k), finite.
      input_size: n ≥ k.

    Returns:
      The matrix M with ``M @ x.ravel() == conv_apply(kernel, x).ravel()``.

    Raises:
      TypeError, ValueError: as :func:`conv_spectral_norm_exact`; a traced ``kernel``.
    """
    kernel = _check_kernel_size(kernel, input_size)
    _require_concrete("kernel", kernel, "conv_dense_matrix builds a NumPy matrix by explicit loops")
    K = np.asarray(kernel)
    co, ci, k1, k2 = K.shape
    n = input_size
    p1, p2 = k1 // 2, k2 // 2
    M = np.zeros((co * n * n, ci * n * n), dtype=K.dtype)
    for o in range(co):
        for i in range(n):
            for j in range(n):
                row = (o * n + i) * n + j
                for c in range(ci):
                    for a in range(k1):
                        for b in range(k2):
                            col = (c * n + (i + a - p1) % n) * n + (j + b - p2) % n
                            M[row, col] += K[o, c, a, b]
    return M


def _conv_blocks(kernel, n):
    """Per-frequency transfer matrices K̂(u,v), shape (n, n, c_out, c_in)."""
    co, ci, k1, k2 = kernel.shape
    padded = jnp.zeros((co, ci, n, n), dtype=kernel.dtype).at[:, :, :k1, :k2].set(kernel)
    return jnp.transpose(jnp.fft.fft2(padded), (2, 3, 0, 1))


def conv_spectral_norm_exact(kernel: Float[ArrayLike, "c_out c_in k k"], input_size: int) -> Float[Array, ""]:
    """EXACT ‖conv‖₂ for a circular convolution: the operator is block-diagonalised by
    the 2-D DFT, so σ₁ = max over the n² frequencies of σ₁ of the c_out×c_in block.

    Args:
      kernel: (c_out, c_in, k, k), finite.
      input_size: the grid size n ≥ k.

    Returns:
      σ₁ of the convolution on n × n inputs.

    Raises:
      TypeError, ValueError: non-numeric, non-4-D or non-finite ``kernel``;
        ``input_size`` not an integer ≥ the kernel size.
    """
    kernel = _check_kernel_size(kernel, input_size)
    blocks = _conv_blocks(kernel, input_size)
    return jnp.max(jnp.linalg.svd(blocks, compute_uv=False)[..., 0])


def conv_gram_iteration(
    kernel: Float[ArrayLike, "c_out c_in k k"], input_size: int, *, num_steps: int
) -> SpectralResult:
    """UPPER bound: Gram iteration run on every frequency block at once (batched,
    rescaled per block) and the max over blocks of the per-block bounds; non-increasing.

    Args:
      kernel: (c_out, c_in, k, k), finite.
      input_size: the grid size n ≥ k.
      num_steps: Gram steps ≥ 0.

    Returns:
      A :class:`SpectralResult` of kind UPPER.

    Raises:
      TypeError, ValueError: as :func:`conv_spectral_norm_exact`; bad ``num_steps``.
    """
    kernel = _check_kernel_size(kernel, input_size)
    require_int("num_steps", num_steps, minimum=0)
    hist = _conv_gram(kernel, input_size, num_steps)
    return SpectralResult(hist[-1], hist, "UPPER")


@partial(jax.jit, static_argnums=(1, 2))
def _conv_gram(kernel, input_size, num_steps):
    blocks = _conv_blocks(kernel, input_size)
    blocks = blocks.reshape(-1, *blocks.shape[2:])
    co, ci = blocks.shape[1:]

    def one(B):
        fro = _fro(B)
        if num_steps == 0:
            return fro[None]
        H = B / _safe(fro)  # a zero frequency block contributes the bound 0
        G = _mm(H, H.conj().T) if co < ci else _mm(H.conj().T, H)  # smaller Gram first
        nrm = jnp.linalg.norm(G)
        ell = jnp.log(nrm) / 2.0  # log(β_t / ‖B‖_F), as in _gram_jit

        def step(carry, t):
            H, ell = carry
            G = _mm(H.conj().T, H)
            nrm = jnp.linalg.norm(G)
            ell = ell + jnp.log(nrm) / 2.0 ** (t + 2)
            return (G / _safe(nrm), ell), fro * jnp.exp(ell)

        _, hist = jax.lax.scan(step, (G / _safe(nrm), ell), jnp.arange(num_steps - 1, dtype=ell.dtype))
        return jnp.concatenate([fro[None], (fro * jnp.exp(ell))[None], hist])

    return jnp.max(jax.vmap(one)(blocks), axis=0)


def conv_power_iteration(
    kernel: Float[ArrayLike, "c_out c_in k k"], input_size: int, *, num_steps: int, key: PRNGKeyArray
) -> SpectralResult:
    """LOWER bound: power iteration through the convolution and its transpose
    (``jax.linear_transpose`` of :func:`conv_apply`), as spectral normalisation does.

    Args:
      kernel: (c_out, c_in, k, k), finite.
      input_size: the grid size n ≥ k.
      num_steps: iterations ≥ 0.
      key: PRNG key of the Gaussian start.

    Returns:
      A :class:`SpectralResult` of kind LOWER, ``vector`` the final input (c_in, n, n).

    Raises:
      TypeError, ValueError: as :func:`conv_gram_iteration`; ``key`` not a PRNG key.
    """
    kernel = _check_kernel_size(kernel, input_size)
    require_int("num_steps", num_steps, minimum=0)
    require_key("key", key)
    iterates, x = _conv_power(kernel, input_size, num_steps, key)
    return SpectralResult(iterates[-1], iterates, "LOWER", x)


@partial(jax.jit, static_argnums=(1, 2))
def _conv_power(kernel, n, num_steps, key):
    ci = kernel.shape[1]
    x0 = jax.random.normal(key, (ci, n, n), dtype=kernel.dtype)
    A = lambda x: _conv(kernel, x)  # noqa: E731
    At = jax.linear_transpose(A, x0)
    x = x0 / jnp.linalg.norm(x0)

    def step(x, _):
        w = At(A(x))[0]
        x = w / _safe(jnp.linalg.norm(w))
        return x, jnp.linalg.norm(A(x))

    xT, hist = jax.lax.scan(step, x, None, length=num_steps)
    return jnp.concatenate([jnp.linalg.norm(A(x))[None], hist]), xT
