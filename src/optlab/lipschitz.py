"""Lipschitz constants of layers and small networks, and Lipschitz-by-construction layers.

Notation (chapter 7): a layer is a matrix ``W`` (or a circular convolution with
kernel ``K`` of shape ``(c_out, c_in, k, k)`` on an ``n × n`` grid); an MLP is a
list ``params = [(W_1, b_1), ..., (W_L, b_L)]`` with ``f(x) = W_L σ(... σ(W_1 x + b_1) ...) + b_L``
and ``σ`` ∈ {relu, tanh} (slope-restricted to [0, 1]).

Every bound on a Lipschitz constant is returned as a :class:`Bound` that says whether
it is a ``LOWER`` bound, an ``UPPER`` bound or ``EXACT``, for which norm and over
which scope. Only ``UPPER`` (or ``EXACT``) bounds can certify robustness.

Arguments follow the library's policy (:func:`optlab._checks.as_float_array`): lists,
integer and NumPy arrays are converted to floating JAX arrays; strings, ``None``,
complex and ragged input, NaN/inf and wrong shapes raise a ``TypeError``/``ValueError``
naming the argument. Every matrix product runs at ``Precision.HIGHEST``: on NVIDIA GPUs
float32 products otherwise run in TF32 (about 3 significant digits), which is enough to
make a computed "upper" bound fall below the true constant.

Papers: Gram iteration (Delattre et al., 2023), LipSDP (Fazlyab et al., 2019) and its
residual/MaxMin extension (Wang et al., 2024), local bounds by bound propagation
(Shi et al., 2022), sandwich layers (Wang & Manchester, 2023), block reflector
orthogonal layers (Lai et al., 2025), fast bounds for residual blocks (Hu et al., 2023).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, NamedTuple, cast

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from ._checks import (
    as_float_array,
    is_concrete,
    require_int,
    require_key,
    require_nonnegative,
    require_positive,
)

Array = jax.Array
#: An MLP: a non-empty sequence of ``(W, b)`` pairs, ``W`` of shape ``(out, in)``.
Params = Sequence[tuple[ArrayLike, ArrayLike]]

__all__ = [
    "Bound",
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
    "mlp_apply",
    "mlp_jacobian",
    "jacobian_norms",
    "lower_bound_sampled",
    "lower_bound_gradient_ascent",
    "upper_bound_product",
    "lipsdp",
    "lipsdp_residual",
    "IntervalResult",
    "interval_jacobian_bound",
    "BaBResult",
    "local_linf_bab",
    "spectral_normalize",
    "gram_normalize",
    "cayley",
    "block_reflector",
    "orthogonality_residual",
    "maxmin",
    "sandwich_init",
    "sandwich_apply",
    "sandwich_as_mlp",
    "lipschitz_margin_radius",
]

#: Result types that are reports, not runs of an iterative method (library contract).
_NOT_A_RUN = {
    "IntervalResult": "a certificate: one interval propagation through the Jacobian on a box "
    "(the bound, the enclosing interval [J_lo, J_hi] and the count of unstable neurons); "
    "nothing is iterated, so there is no final point",
    "BaBResult": "a certificate: the UPPER and LOWER bounds on the local Lipschitz constant after "
    "each branch-and-bound split; the method refines a set of boxes, not a point, so there is no "
    "final point",
}

ACTIVATIONS: dict[str, Callable] = {"relu": jax.nn.relu, "tanh": jnp.tanh}
KINDS = ("LOWER", "UPPER", "EXACT")
_HI = jax.lax.Precision.HIGHEST


def _mm(a: Array, b: Array) -> Array:
    """``a @ b`` at full float32 precision (no TF32 on GPUs)."""
    return jnp.matmul(a, b, precision=_HI)


def _safe(x: Array) -> Array:
    """``x`` where positive, else 1: a divisor that leaves zero numerators at zero."""
    return jnp.where(x > 0, x, jnp.ones_like(x))


def _fro(W: Array) -> Array:
    """‖W‖_F computed as m·‖W/m‖_F with m = max|W|, so float32 entries up to 1e38 do not
    overflow the sum of squares (m is a constant for differentiation: the result is
    invariant in it)."""
    m = jax.lax.stop_gradient(jnp.max(jnp.abs(W)))
    m = _safe(m)
    return m * jnp.linalg.norm(W / m)


def _value(v: Array) -> float | Array:
    """A Python float when ``v`` is concrete, the traced value otherwise."""
    return float(v) if is_concrete(v) else v


class Bound(NamedTuple):
    """A number with its meaning: ``kind`` ∈ {LOWER, UPPER, EXACT} of the Lipschitz
    constant in ``norm`` (``"l2"`` or ``"linf"``) over ``scope`` (``"global"``,
    ``"local box ..."``), computed by ``method`` in ``seconds``. ``value`` is a Python
    float, or a traced scalar when the bound was computed inside ``jit``/``grad``."""

    value: float | Array
    kind: str
    norm: str
    scope: str
    method: str
    seconds: float = 0.0

    def __str__(self) -> str:  # pragma: no cover - cosmetic
        return f"{self.kind:5s} {self.value:.6g}  [{self.norm}, {self.scope}] {self.method}"


class SpectralResult(NamedTuple):
    """Estimate of σ₁ after the last iteration (``sigma``), the estimates of every
    iteration as ``iterates`` (index 0 is the starting estimate, ``num_steps + 1`` rows),
    their kind (LOWER/UPPER/EXACT) and the final vector (power iteration: the right
    singular vector estimate; Gram: ``None``). The method iterates on the estimate, so
    its final point ``params`` is ``sigma``."""

    sigma: Array
    iterates: Array
    kind: str
    vector: Array | None = None

    @property
    def params(self) -> Array:
        """The final estimate σ̂ (the last row of ``iterates``, equal to ``sigma``)."""
        return self.sigma


# ---------------------------------------------------------------------------
# validation helpers
# ---------------------------------------------------------------------------


def _check_matrix(name: str, W: Any) -> Array:
    """``W`` as a finite, non-empty 2-D float array."""
    W = as_float_array(name, W, ndim=2)
    if 0 in W.shape:
        raise ValueError(f"{name} must be a non-empty matrix, got shape {tuple(W.shape)}")
    return W


def _check_norm(norm: Any) -> None:
    if not isinstance(norm, str) or norm not in ("l2", "linf"):
        raise ValueError(f"norm must be 'l2' or 'linf', got {norm!r}")


def _check_activation(activation: Any) -> None:
    if not isinstance(activation, str) or activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")


def _check_positive_scalar(name: str, value: Any) -> Array:
    """A positive finite scalar (checked when concrete), as a float array."""
    value = as_float_array(name, value, ndim=0)
    require_positive(name, value)
    return value


def _check_params(params: Any, name: str = "params") -> list[tuple[Array, Array]]:
    """An MLP as a list of ``(W, b)`` float pairs whose shapes chain; tracer-safe."""
    if not isinstance(params, (list, tuple)):
        raise TypeError(f"{name} must be a non-empty list of (W, b) pairs, got {type(params).__name__}")
    if len(params) == 0:
        raise ValueError(f"{name} must be a non-empty list of (W, b) pairs, got an empty list")
    out = []
    prev = None
    for i, layer in enumerate(params):
        if not isinstance(layer, (list, tuple)) or len(layer) != 2:
            raise ValueError(f"{name}[{i}] must be a pair (W, b), got {type(layer).__name__}")
        W = _check_matrix(f"{name}[{i}][0] (W)", layer[0])
        b = as_float_array(f"{name}[{i}][1] (b)", layer[1], ndim=1)
        if b.shape[0] != W.shape[0]:
            raise ValueError(f"{name}[{i}]: b has length {b.shape[0]} but W has {W.shape[0]} rows")
        if prev is not None and W.shape[1] != prev:
            raise ValueError(
                f"{name}[{i}]: W has {W.shape[1]} columns but the previous layer has {prev} outputs"
            )
        prev = W.shape[0]
        out.append((W, b))
    return out


def _check_points(name: str, x: Any, n_in: int, *, ndim: int = 2, nonempty: bool = False) -> Array:
    """Input point(s) of an MLP with ``n_in`` inputs: ``(n_in,)`` or ``(N, n_in)``."""
    x = as_float_array(name, x, ndim=ndim)
    if x.shape[-1] != n_in:
        want = f"(N, {n_in})" if ndim == 2 else f"({n_in},)"
        raise ValueError(
            f"{name} must have shape {want} (the network has {n_in} inputs), got {tuple(x.shape)}"
        )
    if nonempty and x.shape[0] == 0:
        raise ValueError(f"{name} must hold at least one point, got shape {tuple(x.shape)}")
    return x


def _require_concrete(name: str, x: Any, why: str) -> None:
    if not is_concrete(x):
        raise TypeError(f"{name} must be concrete (not traced by jit/vmap/grad): {why}")


# ---------------------------------------------------------------------------
# spectral norm of a matrix
# ---------------------------------------------------------------------------


def spectral_norm_exact(W: ArrayLike) -> Array:
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


def frobenius_bound(W: ArrayLike) -> Array:
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
    W: ArrayLike, *, num_steps: int, key: Array | None = None, v0: ArrayLike | None = None
) -> SpectralResult:
    """Power iteration on WᵀW: v ← WᵀWv/‖WᵀWv‖, estimate σ̂_k = ‖W v_k‖.

    σ̂_k is a LOWER bound on σ₁ (a Rayleigh quotient) and never decreases:
    σ̂_k² = m_{2k+1}/m_{2k} with m_j = Σ_i c_i² σ_i^{2j}, a non-decreasing ratio by
    Cauchy–Schwarz. Linear convergence with ratio (σ₂/σ₁)². Compiled once per shape
    and ``num_steps``.

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


def gram_iteration(W: ArrayLike, *, num_steps: int) -> SpectralResult:
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

    _, hist = jax.lax.scan(step, (G / _safe(nrm), ell), jnp.arange(num_steps - 1))
    return jnp.concatenate([fro[None], (fro * jnp.exp(ell))[None], hist])


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


def conv_apply(kernel: ArrayLike, x: ArrayLike) -> Array:
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


def conv_dense_matrix(kernel: ArrayLike, input_size: int) -> np.ndarray:
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


def conv_spectral_norm_exact(kernel: ArrayLike, input_size: int) -> Array:
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


def conv_gram_iteration(kernel: ArrayLike, input_size: int, *, num_steps: int) -> SpectralResult:
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

        _, hist = jax.lax.scan(step, (G / _safe(nrm), ell), jnp.arange(num_steps - 1))
        return jnp.concatenate([fro[None], (fro * jnp.exp(ell))[None], hist])

    return jnp.max(jax.vmap(one)(blocks), axis=0)


def conv_power_iteration(kernel: ArrayLike, input_size: int, *, num_steps: int, key: Array) -> SpectralResult:
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


# ---------------------------------------------------------------------------
# MLPs: evaluation and global bounds
# ---------------------------------------------------------------------------


def _mlp(params, x, sig):
    h = x
    for W, b in params[:-1]:
        h = sig(_mm(W, h) + b)
    W, b = params[-1]
    return _mm(W, h) + b


def mlp_apply(params: Params, x: ArrayLike, activation: str = "relu") -> Array:
    """f(x) = W_L σ(… σ(W_1 x + b_1) …) + b_L for one input vector ``x``.

    Args:
      params: a non-empty list of finite ``(W, b)`` pairs whose shapes chain.
      x: one input vector of length ``W_1.shape[1]``.
      activation: ``"relu"`` or ``"tanh"``.

    Returns:
      f(x), of length ``W_L.shape[0]``.

    Raises:
      TypeError, ValueError: malformed ``params``, wrong shape or non-finite ``x``,
        unknown ``activation``.
    """
    params = _check_params(params)
    _check_activation(activation)
    x = _check_points("x", x, params[0][0].shape[1], ndim=1)
    return _mlp(params, x, ACTIVATIONS[activation])


def mlp_jacobian(params: Params, x: ArrayLike, activation: str = "relu") -> Array:
    """Jacobian ∂f/∂x (out × in) at one point (for ReLU, with relu'(0) = 0).

    Args:
      params, x, activation: as :func:`mlp_apply`.

    Returns:
      The Jacobian, shape ``(W_L.shape[0], W_1.shape[1])``.

    Raises:
      TypeError, ValueError: as :func:`mlp_apply`.
    """
    params = _check_params(params)
    _check_activation(activation)
    x = _check_points("x", x, params[0][0].shape[1], ndim=1)
    return _jacobian(params, x, activation)


def _jacobian(params, x, activation):
    return jax.jacfwd(lambda z: _mlp(params, z, ACTIVATIONS[activation]))(x)


@partial(jax.jit, static_argnums=(2, 3))
def _jac_norms(params, points, activation, norm):
    return jax.vmap(lambda x: _op_norm(_jacobian(params, x, activation), norm))(points)


def _op_norm(J, norm):
    if norm == "l2":
        return jnp.linalg.svd(J, compute_uv=False)[0]
    return jnp.max(jnp.sum(jnp.abs(J), axis=1))  # ℓ∞→ℓ∞: max row ℓ1 norm


def jacobian_norms(params: Params, points: ArrayLike, activation: str = "relu", norm: str = "l2") -> Array:
    """‖J(x_i)‖ (ℓ2 operator norm or ℓ∞→ℓ∞) at each row of ``points``; every entry is a
    LOWER bound on the Lipschitz constant (use the largest as starts for ascent).

    Args:
      params, activation: as :func:`mlp_apply`.
      points: (N, n_in) finite input points.
      norm: ``"l2"`` or ``"linf"``.

    Returns:
      (N,) Jacobian norms.

    Raises:
      TypeError, ValueError: as :func:`mlp_apply`; bad ``points`` or ``norm``.
    """
    params = _check_params(params)
    _check_activation(activation)
    _check_norm(norm)
    points = _check_points("points", points, params[0][0].shape[1])
    return _jac_norms(params, points, activation, norm)


def lower_bound_sampled(
    params: Params, points: ArrayLike, activation: str = "relu", norm: str = "l2"
) -> Bound:
    """LOWER bound max_i ‖J(x_i)‖ over the given points (every Jacobian norm is ≤ L).

    Args:
      params, activation, norm: as :func:`jacobian_norms`.
      points: (N, n_in), N ≥ 1.

    Returns:
      A LOWER :class:`Bound` (global scope).

    Raises:
      TypeError, ValueError: as :func:`jacobian_norms`; no points.
    """
    params = _check_params(params)
    _check_activation(activation)
    _check_norm(norm)
    points = _check_points("points", points, params[0][0].shape[1], nonempty=True)
    t0 = time.perf_counter()
    vals = _jac_norms(params, points, activation, norm)
    v = _value(jnp.max(vals))
    return Bound(v, "LOWER", norm, "global", f"max ‖J‖ at {points.shape[0]} points", time.perf_counter() - t0)


def lower_bound_gradient_ascent(
    params: Params,
    starts: ArrayLike,
    activation: str = "relu",
    norm: str = "l2",
    *,
    num_steps: int = 100,
    learning_rate: float = 0.05,
    box: tuple[ArrayLike, ArrayLike] | None = None,
) -> Bound:
    """LOWER bound by (projected) gradient ascent on x ↦ ‖J(x)‖ from several starts.

    ``box=(lo, hi)`` keeps iterates (and the starts, projected first) in a box (scope:
    local box), otherwise global. Returns the best value seen along all paths (each is
    a valid lower bound). For ReLU nets ‖J‖ is piecewise constant; the ascent uses the
    smoothed surrogate (ReLU replaced by a softplus of temperature learning_rate/2) only
    to pick directions, but reports the true ‖J‖ of the ReLU network. Compiled once per
    shape, activation, norm and ``num_steps`` (``learning_rate`` and the box are traced).

    Args:
      params, activation, norm: as :func:`jacobian_norms`.
      starts: (S, n_in) start points, S ≥ 1.
      num_steps: ascent steps ≥ 0.
      learning_rate: normalised step length > 0.
      box: optional pair ``(lo, hi)`` of scalars or (n_in,) vectors with lo ≤ hi.

    Returns:
      A LOWER :class:`Bound`.

    Raises:
      TypeError, ValueError: as :func:`jacobian_norms`; bad ``starts``, ``num_steps``,
        ``learning_rate`` or ``box``.
    """
    params = _check_params(params)
    _check_activation(activation)
    _check_norm(norm)
    n_in = params[0][0].shape[1]
    starts = _check_points("starts", starts, n_in, nonempty=True)
    require_int("num_steps", num_steps, minimum=0)
    learning_rate = _check_positive_scalar("learning_rate", learning_rate)
    lo = hi = None
    if box is not None:
        lo, hi = _check_box(box, n_in)
    t0 = time.perf_counter()
    v = _value(_ascent(params, starts, lo, hi, learning_rate, activation, norm, num_steps))
    scope = "global" if box is None else "local box"
    return Bound(
        v, "LOWER", norm, scope, f"gradient ascent ({starts.shape[0]} starts)", time.perf_counter() - t0
    )


def _check_box(box: Any, n_in: int) -> tuple[Array, Array]:
    if not isinstance(box, (list, tuple)) or len(box) != 2:
        raise TypeError(f"box must be a pair (lo, hi), got {type(box).__name__}")
    lo = as_float_array("box[0] (lo)", box[0], ndim=(0, 1))
    hi = as_float_array("box[1] (hi)", box[1], ndim=(0, 1))
    for name, v in (("box[0] (lo)", lo), ("box[1] (hi)", hi)):
        if v.ndim == 1 and v.shape[0] != n_in:
            raise ValueError(f"{name} must be a scalar or have length {n_in}, got shape {tuple(v.shape)}")
    if is_concrete((lo, hi)) and np.any(np.asarray(lo) > np.asarray(hi)):
        raise ValueError("box must satisfy lo <= hi in every coordinate")
    return jnp.broadcast_to(lo, (n_in,)), jnp.broadcast_to(hi, (n_in,))


@partial(jax.jit, static_argnums=(5, 6, 7))
def _ascent(params, starts, lo, hi, learning_rate, activation, norm, num_steps):
    true_norm = lambda x: _op_norm(_jacobian(params, x, activation), norm)  # noqa: E731
    if activation == "relu":
        beta = 1.0 / (0.5 * learning_rate)
        soft = lambda z: jax.nn.softplus(beta * z) / beta  # noqa: E731
        surr_apply = lambda z: _mlp(params, z, soft)  # noqa: E731
    else:
        surr_apply = lambda z: _mlp(params, z, ACTIVATIONS[activation])  # noqa: E731
    surr = lambda x: _op_norm(jax.jacfwd(surr_apply)(x), norm)  # noqa: E731

    def path(x0):
        if lo is not None:
            x0 = jnp.clip(x0, lo, hi)  # a local bound may only use points of the box

        def step(x, _):
            g = jax.grad(surr)(x)
            x = x + learning_rate * g / (jnp.linalg.norm(g) + 1e-12)
            if lo is not None:
                x = jnp.clip(x, lo, hi)
            return x, true_norm(x)

        _, vals = jax.lax.scan(step, x0, None, length=num_steps)
        return jnp.maximum(jnp.max(vals, initial=-jnp.inf), true_norm(x0))

    return jnp.max(jax.vmap(path)(starts))


def upper_bound_product(params: Params, norm: str = "l2") -> Bound:
    """UPPER bound ∏_i ‖W_i‖ (σ is 1-Lipschitz), ‖·‖₂ by SVD or ‖·‖_{∞→∞} = max row ℓ1.

    Tracer-safe: inside ``jit``/``grad`` the bound's ``value`` is a traced scalar.

    Args:
      params: as :func:`mlp_apply`.
      norm: ``"l2"`` or ``"linf"``.

    Returns:
      An UPPER :class:`Bound` (global scope).

    Raises:
      TypeError, ValueError: malformed ``params``, unknown ``norm``.
    """
    params = _check_params(params)
    _check_norm(norm)
    t0 = time.perf_counter()
    v = _product_of_norms(params, norm)
    return Bound(_value(v), "UPPER", norm, "global", "product of layer norms", time.perf_counter() - t0)


@partial(jax.jit, static_argnums=1)
def _product_of_norms(params, norm):
    return jnp.prod(jnp.stack([_op_norm(W, norm) for W, _ in params]))


def _check_solver(solver: Any) -> str | None:
    import cvxpy as cp

    if solver is None:
        return None
    if not isinstance(solver, str):
        raise TypeError(f"solver must be a cvxpy solver name or None, got {type(solver).__name__}")
    installed = cp.installed_solvers()
    if solver.upper() not in installed:
        raise ValueError(
            f"solver must be one of the installed cvxpy solvers {installed} or None, got {solver!r}"
        )
    return solver.upper()


def _solve_sdp(problem, solver):
    import cvxpy as cp

    solvers = [solver] if solver else [s for s in ("CLARABEL", "SCS") if s in cp.installed_solvers()]
    last = None
    for s in solvers:
        try:
            problem.solve(solver=s)
            if problem.status in ("optimal", "optimal_inaccurate"):
                return s
        except Exception as e:  # pragma: no cover - solver fallback
            last = e
    raise RuntimeError(f"LipSDP failed: status {problem.status!r} ({last})")


def lipsdp(params: Params, *, solver: str | None = None) -> Bound:
    """Neuron-wise LipSDP (Fazlyab et al., 2019) for an MLP with activations
    slope-restricted to [0, 1] (ReLU, tanh): minimise ρ subject to

        [A; B]ᵀ [[0, T], [T, −2T]] [A; B] + diag(−ρ I, 0, …, 0, W_Lᵀ W_L) ⪯ 0,

    A = [blkdiag(W_1, …, W_{L−1}) 0], B = [0 I], T = diag(t) ⪰ 0; then L₂ ≤ √ρ (UPPER).
    Solved with cvxpy (Clarabel, SCS as fallback) in float64 on the host, so ``params``
    must be concrete; keep hidden widths small.

    Args:
      params: as :func:`mlp_apply`, with at least one hidden layer.
      solver: a cvxpy solver name, or None for Clarabel then SCS.

    Returns:
      An UPPER :class:`Bound` in ℓ2.

    Raises:
      TypeError, ValueError: malformed or traced ``params``, no hidden layer, unknown ``solver``.
      RuntimeError: the SDP solver failed.
    """
    import cvxpy as cp

    params = _check_params(params)
    if len(params) < 2:
        raise ValueError("lipsdp needs at least one hidden layer: params must have len(params) >= 2")
    _require_concrete("params", params, "lipsdp solves an SDP with cvxpy on the host")
    solver = _check_solver(solver)
    Ws = [np.asarray(W, dtype=float) for W, _ in params]
    n0 = Ws[0].shape[1]
    hidden = [W.shape[0] for W in Ws[:-1]]
    N = sum(hidden)
    A = np.zeros((N, n0 + N))
    r = 0
    col_offsets = [0] + list(np.cumsum([n0] + hidden[:-1]))
    for W, off in zip(Ws[:-1], col_offsets, strict=False):
        A[r : r + W.shape[0], off : off + W.shape[1]] = W
        r += W.shape[0]
    B = np.hstack([np.zeros((N, n0)), np.eye(N)])
    WL = Ws[-1]
    t0 = time.perf_counter()
    rho = cp.Variable(nonneg=True)
    t = cp.Variable(N, nonneg=True)
    T = cp.diag(t)
    last = np.zeros((n0 + N, n0 + N))
    last[n0 + N - hidden[-1] :, n0 + N - hidden[-1] :] = WL.T @ WL
    E = np.zeros((n0 + N, n0 + N))
    E[:n0, :n0] = np.eye(n0)
    M = A.T @ T @ B + B.T @ T @ A - 2 * B.T @ T @ B + last - rho * E
    M = (M + M.T) / 2
    prob = cp.Problem(cp.Minimize(rho), [M << 0])
    used = _solve_sdp(prob, solver)
    c = float(np.sqrt(max(cast(float, rho.value), 0.0)))  # a solved scalar cvxpy Variable holds a float
    return Bound(c, "UPPER", "l2", "global", f"LipSDP-neuron ({used}, N={N})", time.perf_counter() - t0)


def lipsdp_residual(W: ArrayLike, C: ArrayLike, D: ArrayLike, *, solver: str | None = None) -> Bound:
    """LipSDP for one residual block y = C x + D σ(W x) with σ slope-restricted to
    [0, 1]: minimise ρ s.t. [[−ρI, WᵀT], [TW, −2T]] + [C D]ᵀ[C D] ⪯ 0 (UPPER, ℓ2).
    The skip path enters the output quadratic form instead of being rewritten as
    ReLUs, which is what lets MaxMin = Px + Dσ(Wx) certify exactly 1.

    Args:
      W: (m, n); C: (p, n); D: (p, m); finite and concrete.
      solver: a cvxpy solver name, or None.

    Returns:
      An UPPER :class:`Bound` in ℓ2.

    Raises:
      TypeError, ValueError: non-finite, traced or mis-shaped ``W``, ``C``, ``D``; unknown ``solver``.
      RuntimeError: the SDP solver failed.
    """
    import cvxpy as cp

    W, C, D = (_check_matrix(name, M_) for name, M_ in (("W", W), ("C", C), ("D", D)))
    m, n = W.shape
    if C.shape[1] != n:
        raise ValueError(f"C must have {n} columns (W is {m}x{n}), got shape {tuple(C.shape)}")
    if D.shape[1] != m:
        raise ValueError(f"D must have {m} columns (W is {m}x{n}), got shape {tuple(D.shape)}")
    if D.shape[0] != C.shape[0]:
        raise ValueError(f"D must have as many rows as C ({C.shape[0]}), got shape {tuple(D.shape)}")
    for name, M_ in (("W", W), ("C", C), ("D", D)):
        _require_concrete(name, M_, "lipsdp_residual solves an SDP with cvxpy on the host")
    solver = _check_solver(solver)
    W, C, D = (np.asarray(m_, dtype=float) for m_ in (W, C, D))
    t0 = time.perf_counter()
    rho = cp.Variable(nonneg=True)
    t = cp.Variable(m, nonneg=True)
    T = cp.diag(t)
    CD = np.hstack([C, D])
    top = cp.hstack([-rho * np.eye(n), W.T @ T])
    bot = cp.hstack([T @ W, -2 * T])
    M = cp.vstack([top, bot]) + CD.T @ CD
    M = (M + M.T) / 2
    prob = cp.Problem(cp.Minimize(rho), [M << 0])
    used = _solve_sdp(prob, solver)
    return Bound(
        float(np.sqrt(max(cast(float, rho.value), 0.0))),  # a solved scalar cvxpy Variable holds a float
        "UPPER",
        "l2",
        "global",
        f"LipSDP residual ({used})",
        time.perf_counter() - t0,
    )


# ---------------------------------------------------------------------------
# local ℓ∞ bounds by interval propagation through the Jacobian, with BaB
# ---------------------------------------------------------------------------


class IntervalResult(NamedTuple):
    """UPPER bound on the local ℓ∞ Lipschitz constant on a box (``bound``), the
    interval [J_lo, J_hi] containing every (Clarke) Jacobian on the box, and the
    number of unstable neurons."""

    bound: Array
    jac_lo: Array
    jac_hi: Array
    unstable: Array


def _interval_matmul(W, lo, hi):
    c, r = (lo + hi) / 2, (hi - lo) / 2
    c2, r2 = _mm(W, c), _mm(jnp.abs(W), r)
    return c2 - r2, c2 + r2


def _deriv_interval(activation, lo, hi):
    if activation == "relu":
        dlo = (lo > 0).astype(lo.dtype)
        dhi = (hi > 0).astype(lo.dtype)
        return dlo, dhi
    d = lambda z: 1.0 - jnp.tanh(z) ** 2  # noqa: E731
    dlo = jnp.minimum(d(lo), d(hi))
    dhi = jnp.where((lo <= 0) & (hi >= 0), 1.0, jnp.maximum(d(lo), d(hi)))
    return dlo, dhi


@partial(jax.jit, static_argnums=3)
def _interval_bound(params, lo, hi, activation):
    """Interval bound propagation of pre-activations, then of the Jacobian."""
    J_lo = J_hi = None
    unstable = 0
    for i, (W, b) in enumerate(params):
        if i == 0:
            J_lo = J_hi = W
        else:
            # J ← W · J, J an interval matrix (center–radius)
            c, r = (J_lo + J_hi) / 2, (J_hi - J_lo) / 2
            c2, r2 = _mm(W, c), _mm(jnp.abs(W), r)
            J_lo, J_hi = c2 - r2, c2 + r2
        zl, zh = _interval_matmul(W, lo, hi)
        zl, zh = zl + b, zh + b
        if i < len(params) - 1:
            dlo, dhi = _deriv_interval(activation, zl, zh)
            unstable = unstable + jnp.sum(dlo != dhi)
            # rows scaled by d ∈ [dlo, dhi] with d ≥ 0: the product interval
            cands = jnp.stack(
                [dlo[:, None] * J_lo, dlo[:, None] * J_hi, dhi[:, None] * J_lo, dhi[:, None] * J_hi]
            )
            J_lo, J_hi = cands.min(0), cands.max(0)
            sig = ACTIVATIONS[activation]
            lo, hi = sig(zl), sig(zh)  # both activations are monotone
    absmax = jnp.maximum(jnp.abs(J_lo), jnp.abs(J_hi))
    bound = jnp.max(jnp.sum(absmax, axis=1))
    return IntervalResult(bound, J_lo, J_hi, unstable)


def _check_box_args(params: Any, x0: Any, eps: Any, activation: str) -> tuple[Params, jax.Array, jax.Array]:
    params = _check_params(params)
    _check_activation(activation)
    n_in = params[0][0].shape[1]
    x0 = _check_points("x0", x0, n_in, ndim=1)
    eps = as_float_array("eps", eps, ndim=(0, 1))
    if eps.ndim == 1 and eps.shape[0] != n_in:
        raise ValueError(f"eps must be a scalar or have length {n_in}, got shape {tuple(eps.shape)}")
    require_nonnegative("eps", eps)
    return params, x0, eps


def interval_jacobian_bound(
    params: Params, x0: ArrayLike, eps: ArrayLike, activation: str = "relu"
) -> IntervalResult:
    """UPPER bound on the local ℓ∞ Lipschitz constant of f on the box ‖x − x0‖_∞ ≤ eps:
    max_row Σ_j max(|J_lo|, |J_hi|) where [J_lo, J_hi] encloses every Clarke Jacobian,
    obtained by interval propagation through J = W_L D_{L−1} W_{L−1} ⋯ D_1 W_1 with
    D_i = diag(σ′) ∈ [σ′ bounds] (unstable ReLU: [0, 1]). A simplified, RecurJac-like
    stand-in for the linear bound propagation of Shi et al. (2022).

    Args:
      params, activation: as :func:`mlp_apply`.
      x0: the box centre, (n_in,).
      eps: the half-width ≥ 0, a scalar or (n_in,).

    Returns:
      An :class:`IntervalResult`.

    Raises:
      TypeError, ValueError: malformed ``params``, bad ``x0``, negative or non-finite ``eps``.
    """
    params, x0, eps = _check_box_args(params, x0, eps, activation)
    return _interval_bound(params, x0 - eps, x0 + eps, activation)


class BaBResult(NamedTuple):
    """Best-first branch and bound: ``upper[k]`` (UPPER, non-increasing) and
    ``lower[k]`` (LOWER, gradient norms at box centres, non-decreasing) after k splits."""

    upper: np.ndarray
    lower: np.ndarray
    num_boxes: int


def local_linf_bab(
    params: Params, x0: ArrayLike, eps: ArrayLike, activation: str = "relu", *, num_splits: int = 64
) -> BaBResult:
    """Tighten :func:`interval_jacobian_bound` by branch and bound: repeatedly bisect
    (along its widest side) the box whose interval bound is largest; the global upper
    bound is the max over the leaves, so it never increases (interval arithmetic is
    inclusion-monotone). Lower bounds: ‖∇f‖₁ (ℓ∞ → dual ℓ1) at the box centres.
    A host-side loop (the box list is dynamic), so the arguments must be concrete; each
    bound is one call of a function compiled once per shape.

    Args:
      params, x0, eps, activation: as :func:`interval_jacobian_bound`.
      num_splits: number of bisections ≥ 0.

    Returns:
      A :class:`BaBResult` with ``num_splits + 1`` entries in ``upper`` and ``lower``.

    Raises:
      TypeError, ValueError: as :func:`interval_jacobian_bound`; bad ``num_splits``;
        traced arguments.
    """
    params, x0, eps = _check_box_args(params, x0, eps, activation)
    require_int("num_splits", num_splits, minimum=0)
    _require_concrete("params, x0 and eps", (params, x0, eps), "local_linf_bab runs a host-side loop")
    # boxes are NumPy (cheap host bookkeeping); they enter the compiled functions as JAX arrays,
    # the same cache entry as interval_jacobian_bound / jacobian_norms use
    ib = lambda lo, hi: float(_interval_bound(params, jnp.asarray(lo), jnp.asarray(hi), activation).bound)  # noqa: E731
    lg = lambda x: float(_jac_norms(params, jnp.asarray(x)[None], activation, "linf")[0])  # noqa: E731
    dtype = np.asarray(x0).dtype
    c, e = np.asarray(x0), np.broadcast_to(np.asarray(eps, dtype=dtype), x0.shape)
    boxes = [(c - e, c + e)]
    vals = [ib(*boxes[0])]
    low = lg(c)
    uppers, lowers = [max(vals)], [low]
    for _ in range(num_splits):
        j = int(np.argmax(vals))
        lo, hi = boxes.pop(j)
        parent = vals.pop(j)
        d = int(np.argmax(hi - lo))
        mid = (lo[d] + hi[d]) / 2
        left_hi, right_lo = hi.copy(), lo.copy()
        left_hi[d] = right_lo[d] = mid
        for a, b in ((lo, left_hi), (right_lo, hi)):
            boxes.append((a, b))
            vals.append(min(ib(a, b), parent))  # guard rounding
            low = max(low, lg((a + b) / 2))
        uppers.append(max(vals))
        lowers.append(low)
    return BaBResult(np.array(uppers), np.array(lowers), len(boxes))


# ---------------------------------------------------------------------------
# Lipschitz-by-construction layers
# ---------------------------------------------------------------------------


def spectral_normalize(W: ArrayLike, u: ArrayLike, *, num_steps: int = 1) -> tuple[Array, Array]:
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


def gram_normalize(W: ArrayLike, *, num_steps: int = 6) -> Array:
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


def cayley(A: ArrayLike) -> Array:
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


def block_reflector(V: ArrayLike) -> Array:
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


def orthogonality_residual(Q: ArrayLike) -> Array:
    """max |QᵀQ − I| (zero for a matrix with orthonormal columns).

    Args:
      Q: a non-empty finite matrix.

    Returns:
      The residual, a scalar.

    Raises:
      TypeError, ValueError: bad ``Q``.
    """
    Q = _check_matrix("Q", Q)
    return jnp.max(jnp.abs(_mm(Q.T, Q) - jnp.eye(Q.shape[1], dtype=Q.dtype)))


def maxmin(x: ArrayLike) -> Array:
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
    a, b = x[..., 0::2], x[..., 1::2]
    return jnp.concatenate([jnp.maximum(a, b), jnp.minimum(a, b)], axis=-1)


def sandwich_init(n_in: int, n_hidden: int, n_out: int, dtype: Any = jnp.float32, *, key: Array) -> dict:
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


def sandwich_apply(p: dict, x: ArrayLike, gamma: ArrayLike = 1.0, activation: str = "relu") -> Array:
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


def sandwich_as_mlp(p: dict, gamma: ArrayLike = 1.0) -> list[tuple[Array, Array]]:
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


def _check_label(label: Any, logits: Array) -> Array:
    if label is None or isinstance(label, (str, bytes)):
        raise TypeError(f"label must be integer class indices, got {type(label).__name__}")
    if isinstance(label, jax.core.Tracer):
        lab = label if jnp.issubdtype(label.dtype, jnp.integer) else label.astype(jnp.int32)
    else:
        try:
            arr = np.asarray(jax.device_get(label))
        except (TypeError, ValueError) as err:
            raise TypeError(f"label must be integer class indices, got {type(label).__name__}") from err
        if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
            raise TypeError(f"label must be integer class indices, got dtype {arr.dtype}")
        if np.issubdtype(arr.dtype, np.floating) and not np.all(arr == np.round(arr)):
            raise ValueError(f"label must be integer class indices, got {label!r}")
        k = logits.shape[-1]
        if np.any(arr < 0) or np.any(arr >= k):
            raise ValueError(f"label must lie in [0, {k - 1}], got {label!r}")
        lab = jnp.asarray(arr.astype(np.int32))
    if lab.ndim > 1 or (lab.ndim == 1 and (logits.ndim == 1 or lab.shape[0] != logits.shape[0])):
        want = "a scalar" if logits.ndim == 1 else f"a scalar or shape ({logits.shape[0]},)"
        raise ValueError(
            f"label must be {want} for logits of shape {tuple(logits.shape)}, got shape {tuple(lab.shape)}"
        )
    return lab


def lipschitz_margin_radius(logits: ArrayLike, label: ArrayLike, lipschitz: ArrayLike) -> Array:
    """Certified ℓ2 radius margin/(√2·L) of a classifier whose logit map is L-Lipschitz
    in ℓ2 (margin = logit of ``label`` − largest other logit; ≤ 0 means not certified,
    returned as 0).

    Args:
      logits: (k,) or (B, k), k ≥ 2, finite.
      label: an integer in [0, k), or (B,) integers for batched logits.
      lipschitz: L > 0.

    Returns:
      The radius, a scalar or (B,).

    Raises:
      TypeError, ValueError: bad ``logits``, ``label`` (type, range, shape) or ``lipschitz``.
    """
    lipschitz = as_float_array("lipschitz", lipschitz)
    require_positive("lipschitz", lipschitz)
    logits = as_float_array("logits", logits, ndim=(1, 2))
    k = logits.shape[-1]
    if k < 2:
        raise ValueError(
            f"logits must have at least 2 classes on the last axis, got shape {tuple(logits.shape)}"
        )
    lab = _check_label(label, logits)
    onehot = jax.nn.one_hot(lab, k, dtype=bool)
    true = jnp.sum(jnp.where(onehot, logits, 0.0), axis=-1)
    other = jnp.max(jnp.where(onehot, -jnp.inf, logits), axis=-1)
    return jnp.maximum(true - other, 0.0) / (jnp.sqrt(2.0) * lipschitz)
