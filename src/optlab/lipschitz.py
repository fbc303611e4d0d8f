"""Lipschitz constants of layers and small networks, and Lipschitz-by-construction layers.

Notation (chapter 7): a layer is a matrix ``W`` (or a circular convolution with
kernel ``K`` of shape ``(c_out, c_in, k, k)`` on an ``n × n`` grid); an MLP is a
list ``params = [(W_1, b_1), ..., (W_L, b_L)]`` with ``f(x) = W_L σ(... σ(W_1 x + b_1) ...) + b_L``
and ``σ`` ∈ {relu, tanh} (slope-restricted to [0, 1]).

Every bound on a Lipschitz constant is returned as a :class:`Bound` that says whether
it is a ``LOWER`` bound, an ``UPPER`` bound or ``EXACT``, for which norm and over
which scope. Only ``UPPER`` (or ``EXACT``) bounds can certify robustness.

Papers: Gram iteration (Delattre et al., 2023), LipSDP (Fazlyab et al., 2019) and its
residual/MaxMin extension (Wang et al., 2024), local bounds by bound propagation
(Shi et al., 2022), sandwich layers (Wang & Manchester, 2023), block reflector
orthogonal layers (Lai et al., 2025), fast bounds for residual blocks (Hu et al., 2023).
"""

from __future__ import annotations

import time
from functools import partial
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ._checks import (
    is_concrete,
    require_finite,
    require_int,
    require_ndim,
    require_nonnegative,
    require_positive,
)

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

ACTIVATIONS: dict[str, Callable] = {"relu": jax.nn.relu, "tanh": jnp.tanh}
KINDS = ("LOWER", "UPPER", "EXACT")


class Bound(NamedTuple):
    """A number with its meaning: ``kind`` ∈ {LOWER, UPPER, EXACT} of the Lipschitz
    constant in ``norm`` (``"l2"`` or ``"linf"``) over ``scope`` (``"global"``,
    ``"local box ..."``), computed by ``method`` in ``seconds``."""

    value: float
    kind: str
    norm: str
    scope: str
    method: str
    seconds: float = 0.0

    def __str__(self) -> str:  # pragma: no cover - cosmetic
        return f"{self.kind:5s} {self.value:.6g}  [{self.norm}, {self.scope}] {self.method}"


class SpectralResult(NamedTuple):
    """Estimate of σ₁ after the last iteration, its whole history (index 0 is the
    starting estimate), its kind (LOWER/UPPER/EXACT) and the final vector (power
    iteration: the right singular vector estimate; Gram: ``None``)."""

    sigma: jax.Array
    history: jax.Array
    kind: str
    vector: jax.Array | None = None


# ---------------------------------------------------------------------------
# validation helpers
# ---------------------------------------------------------------------------


def _check_matrix(name: str, W) -> None:
    require_ndim(name, W, 2)
    require_finite(name, W)


def _check_norm(norm: str) -> None:
    if norm not in ("l2", "linf"):
        raise ValueError(f"norm must be 'l2' or 'linf', got {norm!r}")


def _check_activation(activation: str) -> None:
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")


def _check_params(params) -> None:
    if not isinstance(params, (list, tuple)) or len(params) == 0:
        raise ValueError("params must be a non-empty list of (W, b) pairs")
    prev = None
    for i, layer in enumerate(params):
        if not isinstance(layer, (list, tuple)) or len(layer) != 2:
            raise ValueError(f"params[{i}] must be a pair (W, b)")
        W, b = layer
        _check_matrix(f"params[{i}][0] (W)", W)
        require_ndim(f"params[{i}][1] (b)", b, 1)
        if jnp.shape(b)[0] != jnp.shape(W)[0]:
            raise ValueError(f"params[{i}]: b has length {jnp.shape(b)[0]} but W has {jnp.shape(W)[0]} rows")
        if prev is not None and jnp.shape(W)[1] != prev:
            raise ValueError(f"params[{i}]: W has {jnp.shape(W)[1]} columns but the previous layer has {prev} outputs")
        prev = jnp.shape(W)[0]


# ---------------------------------------------------------------------------
# spectral norm of a matrix
# ---------------------------------------------------------------------------


def spectral_norm_exact(W) -> jax.Array:
    """σ₁(W) by SVD (EXACT, differentiable where σ₁ is simple)."""
    _check_matrix("W", W)
    return jnp.linalg.svd(W, compute_uv=False)[0]


def frobenius_bound(W) -> jax.Array:
    """‖W‖_F ≥ σ₁(W): the trivial UPPER bound (Gram iteration at t = 0)."""
    _check_matrix("W", W)
    return jnp.linalg.norm(W)


def power_iteration(W, num_iters: int, *, key=None, v0=None) -> SpectralResult:
    """Power iteration on WᵀW: v ← WᵀWv/‖WᵀWv‖, estimate σ̂_k = ‖W v_k‖.

    σ̂_k is a LOWER bound on σ₁ (a Rayleigh quotient) and never decreases:
    σ̂_k² = m_{2k+1}/m_{2k} with m_j = Σ_i c_i² σ_i^{2j}, a non-decreasing ratio by
    Cauchy–Schwarz. ``v0`` (or a Gaussian draw from ``key``) is the start; history has
    ``num_iters + 1`` entries. Linear convergence with ratio (σ₂/σ₁)².
    """
    _check_matrix("W", W)
    require_int("num_iters", num_iters, minimum=0)
    n = jnp.shape(W)[1]
    if v0 is None:
        if key is None:
            raise ValueError("power_iteration needs a start: pass key= or v0=")
        v0 = jax.random.normal(key, (n,), dtype=jnp.result_type(W))
    require_ndim("v0", v0, 1)
    if jnp.shape(v0)[0] != n:
        raise ValueError(f"v0 must have length {n} (columns of W), got {jnp.shape(v0)[0]}")
    return _power(W, v0, num_iters)


def _power(W, v0, num_iters):
    history, v = _power_jit(W, v0, num_iters)
    return SpectralResult(history[-1], history, "LOWER", v)


@partial(jax.jit, static_argnums=2)
def _power_jit(W, v0, num_iters):
    v = v0 / jnp.linalg.norm(v0)

    def step(v, _):
        w = W.T @ (W @ v)
        v_new = w / jnp.linalg.norm(w)
        return v_new, jnp.linalg.norm(W @ v_new)

    vT, hist = jax.lax.scan(step, v, None, length=num_iters)
    return jnp.concatenate([jnp.linalg.norm(W @ v)[None], hist]), vT


def gram_iteration(W, num_iters: int) -> SpectralResult:
    """Gram iteration (Delattre et al., 2023): G₀ = W, G_{t+1} = G_tᵀG_t, and
    σ₁(W) ≤ ‖G_t‖_F^{1/2^t}: an UPPER bound that never increases because
    ‖GᵀG‖_F ≤ ‖G‖_F². Each G_t is stored rescaled to unit Frobenius norm with the
    log-scale accumulated separately, so nothing overflows; history[0] = ‖W‖_F.
    Converges superlinearly: bound/σ₁ ≤ rank^{1/2^{t+1}} and much faster with a gap.
    Differentiable (all steps are matrix products and norms).
    """
    _check_matrix("W", W)
    require_int("num_iters", num_iters, minimum=0)
    return _gram(W, num_iters)


def _gram(W, num_iters):
    history = _gram_jit(W, num_iters)
    return SpectralResult(history[-1], history, "UPPER")


@partial(jax.jit, static_argnums=1)
def _gram_jit(W, num_iters):
    m, n = W.shape
    fro = jnp.linalg.norm(W)
    H = W / fro
    log_scale = jnp.log(fro)
    # one-sided start: the smaller of WᵀW / WWᵀ has the same Frobenius norm
    if num_iters == 0:
        return fro[None]
    G = H @ H.T if m < n else H.T @ H
    nrm = jnp.linalg.norm(G)
    H = G / nrm
    log_scale = 2.0 * log_scale + jnp.log(nrm)
    first = jnp.exp(log_scale / 2.0)

    def step(carry, t):
        H, log_scale = carry
        G = H.T @ H
        nrm = jnp.linalg.norm(G)
        log_scale = 2.0 * log_scale + jnp.log(nrm)
        return (G / nrm, log_scale), jnp.exp(log_scale / 2.0 ** (t + 2))

    _, hist = jax.lax.scan(step, (H, log_scale), jnp.arange(num_iters - 1))
    return jnp.concatenate([fro[None], first[None], hist])


# ---------------------------------------------------------------------------
# circular convolutions
# ---------------------------------------------------------------------------


def _check_kernel(kernel, input_size) -> None:
    require_ndim("kernel", kernel, 4)
    require_finite("kernel", kernel)
    require_int("input_size", input_size, minimum=1)
    k1, k2 = jnp.shape(kernel)[2:]
    if k1 > input_size or k2 > input_size:
        raise ValueError(f"kernel spatial size {(k1, k2)} exceeds input_size {input_size}")


def conv_apply(kernel, x) -> jax.Array:
    """Circular (wrap-around) cross-correlation, stride 1, 'same' size:
    y[o,i,j] = Σ_{c,a,b} K[o,c,a,b] · x[c, (i+a−p) mod n, (j+b−p) mod n], p = k//2.
    ``kernel`` (c_out, c_in, k, k); ``x`` (c_in, n, n) or a batch (B, c_in, n, n)."""
    require_ndim("kernel", kernel, 4)
    require_ndim("x", x, (3, 4))
    single = jnp.ndim(x) == 3
    xb = x[None] if single else x
    k1, k2 = kernel.shape[2:]
    p1, p2 = k1 // 2, k2 // 2
    xp = jnp.pad(xb, ((0, 0), (0, 0), (p1, k1 - 1 - p1), (p2, k2 - 1 - p2)), mode="wrap")
    y = jax.lax.conv_general_dilated(xp, kernel, (1, 1), "VALID",
                                     dimension_numbers=("NCHW", "OIHW", "NCHW"))
    return y[0] if single else y


def conv_dense_matrix(kernel, input_size: int) -> np.ndarray:
    """The dense (c_out·n², c_in·n²) matrix of :func:`conv_apply`, built by explicit
    loops over the definition (an independent reference, small sizes only)."""
    _check_kernel(kernel, input_size)
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


def conv_spectral_norm_exact(kernel, input_size: int) -> jax.Array:
    """EXACT ‖conv‖₂ for a circular convolution: the operator is block-diagonalised by
    the 2-D DFT, so σ₁ = max over the n² frequencies of σ₁ of the c_out×c_in block."""
    _check_kernel(kernel, input_size)
    blocks = _conv_blocks(kernel, input_size)
    return jnp.max(jnp.linalg.svd(blocks, compute_uv=False)[..., 0])


def conv_gram_iteration(kernel, input_size: int, num_iters: int) -> SpectralResult:
    """UPPER bound: Gram iteration run on every frequency block at once (batched,
    rescaled per block) and the max over blocks of the per-block bounds; non-increasing."""
    _check_kernel(kernel, input_size)
    require_int("num_iters", num_iters, minimum=0)
    hist = _conv_gram(kernel, input_size, num_iters)
    return SpectralResult(hist[-1], hist, "UPPER")


@partial(jax.jit, static_argnums=(1, 2))
def _conv_gram(kernel, input_size, num_iters):
    blocks = _conv_blocks(kernel, input_size)
    blocks = blocks.reshape(-1, *blocks.shape[2:])
    co, ci = blocks.shape[1:]

    def one(B):
        fro = jnp.linalg.norm(B)
        if num_iters == 0:
            return fro[None]
        H = B / fro
        G = H @ H.conj().T if co < ci else H.conj().T @ H  # smaller Gram first
        nrm = jnp.linalg.norm(G)
        log_scale = 2.0 * jnp.log(fro) + jnp.log(nrm)

        def step(carry, t):
            H, log_scale = carry
            G = H.conj().T @ H
            nrm = jnp.linalg.norm(G)
            log_scale = 2.0 * log_scale + jnp.log(nrm)
            return (G / nrm, log_scale), jnp.exp(log_scale / 2.0 ** (t + 2))

        _, hist = jax.lax.scan(step, (G / nrm, log_scale), jnp.arange(num_iters - 1))
        return jnp.concatenate([fro[None], jnp.exp(log_scale / 2.0)[None], hist])

    return jnp.max(jax.vmap(one)(blocks), axis=0)


def conv_power_iteration(kernel, input_size: int, num_iters: int, *, key) -> SpectralResult:
    """LOWER bound: power iteration through the convolution and its transpose
    (``jax.linear_transpose`` of :func:`conv_apply`), as spectral normalisation does."""
    _check_kernel(kernel, input_size)
    require_int("num_iters", num_iters, minimum=0)
    history, x = _conv_power(kernel, input_size, num_iters, key)
    return SpectralResult(history[-1], history, "LOWER", x)


@partial(jax.jit, static_argnums=(1, 2))
def _conv_power(kernel, n, num_iters, key):
    ci = kernel.shape[1]
    x0 = jax.random.normal(key, (ci, n, n), dtype=kernel.dtype)
    A = lambda x: conv_apply(kernel, x)  # noqa: E731
    At = jax.linear_transpose(A, x0)
    x = x0 / jnp.linalg.norm(x0)

    def step(x, _):
        w = At(A(x))[0]
        x = w / jnp.linalg.norm(w)
        return x, jnp.linalg.norm(A(x))

    xT, hist = jax.lax.scan(step, x, None, length=num_iters)
    return jnp.concatenate([jnp.linalg.norm(A(x))[None], hist]), xT


# ---------------------------------------------------------------------------
# MLPs: evaluation and global bounds
# ---------------------------------------------------------------------------


def mlp_apply(params, x, activation: str = "relu") -> jax.Array:
    """f(x) = W_L σ(… σ(W_1 x + b_1) …) + b_L for one input vector ``x``."""
    sig = ACTIVATIONS[activation]
    h = x
    for W, b in params[:-1]:
        h = sig(W @ h + b)
    W, b = params[-1]
    return W @ h + b


def mlp_jacobian(params, x, activation: str = "relu") -> jax.Array:
    """Jacobian ∂f/∂x (out × in) at one point (for ReLU, with relu'(0) = 0)."""
    return jax.jacfwd(lambda z: mlp_apply(params, z, activation))(x)


@partial(jax.jit, static_argnums=(2, 3))
def _jac_norms(params, points, activation, norm):
    return jax.vmap(lambda x: _op_norm(mlp_jacobian(params, x, activation), norm))(points)


def _op_norm(J, norm):
    if norm == "l2":
        return jnp.linalg.svd(J, compute_uv=False)[0]
    return jnp.max(jnp.sum(jnp.abs(J), axis=1))  # ℓ∞→ℓ∞: max row ℓ1 norm


def jacobian_norms(params, points, activation: str = "relu", norm: str = "l2") -> jax.Array:
    """‖J(x_i)‖ (ℓ2 operator norm or ℓ∞→ℓ∞) at each row of ``points``; every entry is a
    LOWER bound on the Lipschitz constant (use the largest as starts for ascent)."""
    _check_params(params)
    _check_activation(activation)
    _check_norm(norm)
    require_ndim("points", points, 2)
    return _jac_norms(params, points, activation, norm)


def lower_bound_sampled(params, points, activation: str = "relu", norm: str = "l2") -> Bound:
    """LOWER bound max_i ‖J(x_i)‖ over the given points (every Jacobian norm is ≤ L)."""
    _check_params(params)
    _check_activation(activation)
    _check_norm(norm)
    require_ndim("points", points, 2)
    require_finite("points", points)
    t0 = time.perf_counter()
    vals = _jac_norms(params, points, activation, norm)
    v = float(jnp.max(vals))
    return Bound(v, "LOWER", norm, "global", f"max ‖J‖ at {len(points)} points",
                 time.perf_counter() - t0)


def lower_bound_gradient_ascent(params, starts, activation: str = "relu", norm: str = "l2", *,
                                num_steps: int = 100, step_size: float = 0.05,
                                box=None) -> Bound:
    """LOWER bound by (projected) gradient ascent on x ↦ ‖J(x)‖ from several starts.

    ``box=(lo, hi)`` keeps iterates in a box (scope: local box), otherwise global.
    Returns the best value seen along all paths (each is a valid lower bound).
    For ReLU nets ‖J‖ is piecewise constant; the ascent uses the smoothed surrogate
    (ReLU replaced by a softplus of temperature step_size/2) only to pick directions, but reports
    the true ‖J‖ of the ReLU network.
    """
    _check_params(params)
    _check_activation(activation)
    _check_norm(norm)
    require_ndim("starts", starts, 2)
    require_int("num_steps", num_steps, minimum=0)
    require_positive("step_size", step_size)
    t0 = time.perf_counter()
    lo, hi = (None, None) if box is None else (jnp.asarray(box[0]), jnp.asarray(box[1]))
    v = float(_ascent(params, starts, lo, hi, activation, norm, num_steps, float(step_size)))
    scope = "global" if box is None else "local box"
    return Bound(v, "LOWER", norm, scope, f"gradient ascent ({len(starts)} starts)",
                 time.perf_counter() - t0)


@partial(jax.jit, static_argnums=(4, 5, 6, 7))
def _ascent(params, starts, lo, hi, activation, norm, num_steps, step_size):
    true_norm = lambda x: _op_norm(mlp_jacobian(params, x, activation), norm)  # noqa: E731
    if activation == "relu":
        beta = 1.0 / (0.5 * step_size)
        soft = lambda z: jax.nn.softplus(beta * z) / beta  # noqa: E731
        surr_apply = lambda z: _mlp_custom(params, z, soft)  # noqa: E731
    else:
        surr_apply = lambda z: mlp_apply(params, z, activation)  # noqa: E731
    surr = lambda x: _op_norm(jax.jacfwd(surr_apply)(x), norm)  # noqa: E731

    def path(x0):
        def step(x, _):
            g = jax.grad(surr)(x)
            x = x + step_size * g / (jnp.linalg.norm(g) + 1e-12)
            if lo is not None:
                x = jnp.clip(x, lo, hi)
            return x, true_norm(x)

        _, vals = jax.lax.scan(step, x0, None, length=num_steps)
        return jnp.maximum(jnp.max(vals, initial=-jnp.inf), true_norm(x0))

    return jnp.max(jax.vmap(path)(starts))


def _mlp_custom(params, x, sig):
    h = x
    for W, b in params[:-1]:
        h = sig(W @ h + b)
    W, b = params[-1]
    return W @ h + b


def upper_bound_product(params, norm: str = "l2") -> Bound:
    """UPPER bound ∏_i ‖W_i‖ (σ is 1-Lipschitz), ‖·‖₂ by SVD or ‖·‖_{∞→∞} = max row ℓ1."""
    _check_params(params)
    _check_norm(norm)
    t0 = time.perf_counter()
    v = 1.0
    for W, _ in params:
        v *= float(_op_norm(W, norm))
    return Bound(v, "UPPER", norm, "global", "product of layer norms", time.perf_counter() - t0)


def _solve_sdp(problem, solver):
    import cvxpy as cp

    solvers = [solver] if solver else ["CLARABEL", "SCS"]
    last = None
    for s in solvers:
        try:
            problem.solve(solver=getattr(cp, s))
            if problem.status in ("optimal", "optimal_inaccurate"):
                return s
        except Exception as e:  # pragma: no cover - solver fallback
            last = e
    raise RuntimeError(f"LipSDP failed: status {problem.status!r} ({last})")


def lipsdp(params, *, solver: str | None = None) -> Bound:
    """Neuron-wise LipSDP (Fazlyab et al., 2019) for an MLP with activations
    slope-restricted to [0, 1] (ReLU, tanh): minimise ρ subject to

        [A; B]ᵀ [[0, T], [T, −2T]] [A; B] + diag(−ρ I, 0, …, 0, W_Lᵀ W_L) ⪯ 0,

    A = [blkdiag(W_1, …, W_{L−1}) 0], B = [0 I], T = diag(t) ⪰ 0; then L₂ ≤ √ρ (UPPER).
    Solved with cvxpy (Clarabel, SCS as fallback); keep hidden widths small.
    """
    import cvxpy as cp

    _check_params(params)
    if len(params) < 2:
        raise ValueError("lipsdp needs at least one hidden layer (len(params) >= 2)")
    Ws = [np.asarray(W, dtype=float) for W, _ in params]
    n0 = Ws[0].shape[1]
    hidden = [W.shape[0] for W in Ws[:-1]]
    N = sum(hidden)
    A = np.zeros((N, n0 + N))
    r = 0
    col_offsets = [0] + list(np.cumsum([n0] + hidden[:-1]))
    for W, off in zip(Ws[:-1], col_offsets):
        A[r:r + W.shape[0], off:off + W.shape[1]] = W
        r += W.shape[0]
    B = np.hstack([np.zeros((N, n0)), np.eye(N)])
    WL = Ws[-1]
    t0 = time.perf_counter()
    rho = cp.Variable(nonneg=True)
    t = cp.Variable(N, nonneg=True)
    T = cp.diag(t)
    last = np.zeros((n0 + N, n0 + N))
    last[n0 + N - hidden[-1]:, n0 + N - hidden[-1]:] = WL.T @ WL
    E = np.zeros((n0 + N, n0 + N))
    E[:n0, :n0] = np.eye(n0)
    M = A.T @ T @ B + B.T @ T @ A - 2 * B.T @ T @ B + last - rho * E
    M = (M + M.T) / 2
    prob = cp.Problem(cp.Minimize(rho), [M << 0])
    used = _solve_sdp(prob, solver)
    c = float(np.sqrt(max(rho.value, 0.0)))
    return Bound(c, "UPPER", "l2", "global", f"LipSDP-neuron ({used}, N={N})",
                 time.perf_counter() - t0)


def lipsdp_residual(W, C, D, *, solver: str | None = None) -> Bound:
    """LipSDP for one residual block y = C x + D σ(W x) with σ slope-restricted to
    [0, 1]: minimise ρ s.t. [[−ρI, WᵀT], [TW, −2T]] + [C D]ᵀ[C D] ⪯ 0 (UPPER, ℓ2).
    The skip path enters the output quadratic form instead of being rewritten as
    ReLUs, which is what lets MaxMin = Px + Dσ(Wx) certify exactly 1."""
    import cvxpy as cp

    for name, M_ in (("W", W), ("C", C), ("D", D)):
        _check_matrix(name, M_)
    W, C, D = (np.asarray(m, dtype=float) for m in (W, C, D))
    m, n = W.shape
    if C.shape[1] != n or D.shape[1] != m or C.shape[0] != D.shape[0]:
        raise ValueError(f"shapes do not chain: W {W.shape}, C {C.shape}, D {D.shape}")
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
    return Bound(float(np.sqrt(max(rho.value, 0.0))), "UPPER", "l2", "global",
                 f"LipSDP residual ({used})", time.perf_counter() - t0)


# ---------------------------------------------------------------------------
# local ℓ∞ bounds by interval propagation through the Jacobian, with BaB
# ---------------------------------------------------------------------------


class IntervalResult(NamedTuple):
    """UPPER bound on the local ℓ∞ Lipschitz constant on a box (``bound``), the
    interval [J_lo, J_hi] containing every (Clarke) Jacobian on the box, and the
    number of unstable neurons."""

    bound: jax.Array
    jac_lo: jax.Array
    jac_hi: jax.Array
    unstable: jax.Array


def _interval_matmul(W, lo, hi):
    c, r = (lo + hi) / 2, (hi - lo) / 2
    c2, r2 = W @ c, jnp.abs(W) @ r
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
            c2, r2 = W @ c, jnp.abs(W) @ r
            J_lo, J_hi = c2 - r2, c2 + r2
        zl, zh = _interval_matmul(W, lo, hi)
        zl, zh = zl + b, zh + b
        if i < len(params) - 1:
            dlo, dhi = _deriv_interval(activation, zl, zh)
            unstable = unstable + jnp.sum(dlo != dhi)
            # rows scaled by d ∈ [dlo, dhi] with d ≥ 0: the product interval
            cands = jnp.stack([dlo[:, None] * J_lo, dlo[:, None] * J_hi,
                               dhi[:, None] * J_lo, dhi[:, None] * J_hi])
            J_lo, J_hi = cands.min(0), cands.max(0)
            sig = ACTIVATIONS[activation]
            lo, hi = sig(zl), sig(zh)  # both activations are monotone
    absmax = jnp.maximum(jnp.abs(J_lo), jnp.abs(J_hi))
    bound = jnp.max(jnp.sum(absmax, axis=1))
    return IntervalResult(bound, J_lo, J_hi, unstable)


def interval_jacobian_bound(params, x0, eps, activation: str = "relu") -> IntervalResult:
    """UPPER bound on the local ℓ∞ Lipschitz constant of f on the box ‖x − x0‖_∞ ≤ eps:
    max_row Σ_j max(|J_lo|, |J_hi|) where [J_lo, J_hi] encloses every Clarke Jacobian,
    obtained by interval propagation through J = W_L D_{L−1} W_{L−1} ⋯ D_1 W_1 with
    D_i = diag(σ′) ∈ [σ′ bounds] (unstable ReLU: [0, 1]). A simplified, RecurJac-like
    stand-in for the linear bound propagation of Shi et al. (2022)."""
    _check_params(params)
    _check_activation(activation)
    require_ndim("x0", x0, 1)
    require_nonnegative("eps", eps)
    return _interval_bound(params, x0 - eps, x0 + eps, activation)


class BaBResult(NamedTuple):
    """Best-first branch and bound: ``upper[k]`` (UPPER, non-increasing) and
    ``lower[k]`` (LOWER, gradient norms at box centres, non-decreasing) after k splits."""

    upper: np.ndarray
    lower: np.ndarray
    num_boxes: int


def local_linf_bab(params, x0, eps, activation: str = "relu", *, num_splits: int = 64) -> BaBResult:
    """Tighten :func:`interval_jacobian_bound` by branch and bound: repeatedly bisect
    (along its widest side) the box whose interval bound is largest; the global upper
    bound is the max over the leaves, so it never increases (interval arithmetic is
    inclusion-monotone). Lower bounds: ‖∇f‖₁ (ℓ∞ → dual ℓ1) at the box centres."""
    _check_params(params)
    _check_activation(activation)
    require_ndim("x0", x0, 1)
    require_nonnegative("eps", eps)
    require_int("num_splits", num_splits, minimum=0)
    ib = lambda lo, hi: _interval_bound(params, lo, hi, activation).bound  # noqa: E731
    lg = lambda x: _jac_norms(params, x[None], activation, "linf")[0]  # noqa: E731
    boxes = [(x0 - eps, x0 + eps)]
    vals = [float(ib(*boxes[0]))]
    low = float(lg(x0))
    uppers, lowers = [max(vals)], [low]
    for _ in range(num_splits):
        j = int(np.argmax(vals))
        lo, hi = boxes.pop(j)
        parent = vals.pop(j)
        d = int(jnp.argmax(hi - lo))
        mid = (lo[d] + hi[d]) / 2
        for a, b in ((lo, hi.at[d].set(mid)), (lo.at[d].set(mid), hi)):
            boxes.append((a, b))
            vals.append(min(float(ib(a, b)), parent))  # guard rounding
            low = max(low, float(lg((a + b) / 2)))
        uppers.append(max(vals))
        lowers.append(low)
    return BaBResult(np.array(uppers), np.array(lowers), len(boxes))


# ---------------------------------------------------------------------------
# Lipschitz-by-construction layers
# ---------------------------------------------------------------------------


def spectral_normalize(W, u, num_iters: int = 1):
    """Spectral normalisation (Miyato et al., 2018): ``num_iters`` power steps from the
    persistent vector ``u`` give σ̂ ≤ σ₁ (a LOWER bound), and W/σ̂ is returned with the
    new ``u``. Because σ̂ can be below σ₁, σ₁(W/σ̂) can exceed 1 (under-normalisation)."""
    _check_matrix("W", W)
    require_int("num_iters", num_iters, minimum=1)
    res = _power(W, u, num_iters)
    return W / res.sigma, res.vector


def gram_normalize(W, num_iters: int = 6):
    """W / (Gram-iteration UPPER bound): guaranteed σ₁ ≤ 1, differentiable."""
    _check_matrix("W", W)
    require_int("num_iters", num_iters, minimum=0)
    return W / _gram(W, num_iters).sigma


def cayley(A):
    """Orthogonal Q = (I − S)(I + S)^{-1} with S = A − Aᵀ skew-symmetric (square A)."""
    _check_matrix("A", A)
    n, m = jnp.shape(A)
    if n != m:
        raise ValueError(f"A must be square, got shape {(n, m)}")
    S = A - A.T
    eye = jnp.eye(n, dtype=A.dtype)
    return jnp.linalg.solve((eye + S).T, (eye - S).T).T


def block_reflector(V):
    """Block reflector orthogonal (BRO) matrix W = I − 2V(VᵀV)^{-1}Vᵀ for V of shape
    (n, k), k ≤ n, full column rank: symmetric, orthogonal, cost O(n²k)."""
    _check_matrix("V", V)
    n, k = jnp.shape(V)
    if k > n:
        raise ValueError(f"V must have at most as many columns as rows, got shape {(n, k)}")
    VtV = V.T @ V
    return jnp.eye(n, dtype=V.dtype) - 2.0 * V @ jnp.linalg.solve(VtV, V.T)


def orthogonality_residual(Q) -> jax.Array:
    """max |QᵀQ − I| (zero for a matrix with orthonormal columns)."""
    _check_matrix("Q", Q)
    return jnp.max(jnp.abs(Q.T @ Q - jnp.eye(Q.shape[1], dtype=Q.dtype)))


def maxmin(x) -> jax.Array:
    """MaxMin (GroupSort with groups of 2) on the last axis: (a, b) ↦ (max, min);
    a permutation of each pair, hence 1-Lipschitz in ℓ2 (and gradient-norm preserving)."""
    if jnp.shape(x)[-1] % 2:
        raise ValueError(f"maxmin needs an even last dimension, got {jnp.shape(x)[-1]}")
    a, b = x[..., 0::2], x[..., 1::2]
    return jnp.concatenate([jnp.maximum(a, b), jnp.minimum(a, b)], axis=-1)


def sandwich_init(key, n_in: int, n_hidden: int, n_out: int, dtype=jnp.float32) -> dict:
    """Free parameters of a sandwich layer (Wang & Manchester, 2023): an unconstrained
    square matrix X of size n_out + n_in (its Cayley transform gives [Aᵀ; Bᵀ] with
    orthonormal columns), log-scales d (Ψ = diag(e^d)) and a bias b."""
    for name, v in (("n_in", n_in), ("n_hidden", n_hidden), ("n_out", n_out)):
        require_int(name, v, minimum=1)
    if n_hidden > n_in + n_out:
        raise ValueError(f"n_hidden must be <= n_in + n_out = {n_in + n_out}, got {n_hidden}")
    k1, k2, k3 = jax.random.split(key, 3)
    s = n_in + n_out
    return {
        "X": jax.random.normal(k1, (s, s), dtype) / jnp.sqrt(s),
        "d": 0.1 * jax.random.normal(k2, (n_hidden,), dtype),
        "b": 0.1 * jax.random.normal(k3, (n_hidden,), dtype),
        "shape": (n_in, n_hidden, n_out),
    }


def _sandwich_mats(p):
    n_in, m, n_out = p["shape"]
    Q = cayley(p["X"])[:, :m]          # (n_out + n_in, m), orthonormal columns
    At, Bt = Q[:n_out], Q[n_out:]      # AAᵀ + BBᵀ = QᵀQ = I_m
    return At.T, Bt.T                  # A: (m, n_out), B: (m, n_in)


def sandwich_apply(p, x, gamma: float = 1.0, activation: str = "relu"):
    """γ-Lipschitz (ℓ2) sandwich layer h ↦ √γ·√2 AᵀΨ σ(√2 Ψ^{-1} B √γ h + b). With
    AAᵀ + BBᵀ = I and σ slope-restricted to [0, 1] the layer is γ-Lipschitz: the
    change of output is 2AᵀSBΔh (S diagonal in [0, 1]) and the quadratic constraint
    w(z − w) ≥ 0 with multiplier 2 gives ‖Δh‖² − ‖Δy‖² ≥ ‖Δh − 2Bᵀw‖²+4wᵀ(I−AAᵀ−BBᵀ)w ≥ 0."""
    A, B = _sandwich_mats(p)
    psi = jnp.exp(p["d"])
    sig = ACTIVATIONS[activation]
    z = jnp.sqrt(2.0) / psi * (B @ (jnp.sqrt(gamma) * x)) + p["b"]
    return jnp.sqrt(gamma) * jnp.sqrt(2.0) * (A.T @ (psi * sig(z)))


def sandwich_as_mlp(p, gamma: float = 1.0):
    """The same layer as a one-hidden-layer MLP ``[(W1, b1), (W2, 0)]`` (for LipSDP)."""
    A, B = _sandwich_mats(p)
    psi = jnp.exp(p["d"])
    W1 = jnp.sqrt(2.0 * gamma) * (B / psi[:, None])
    W2 = jnp.sqrt(2.0 * gamma) * (A.T * psi[None, :])
    return [(W1, p["b"]), (W2, jnp.zeros(W2.shape[0], W2.dtype))]


def lipschitz_margin_radius(logits, label: int, lipschitz: float) -> jax.Array:
    """Certified ℓ2 radius margin/(√2·L) of a classifier whose logit map is L-Lipschitz
    in ℓ2 (margin = logit of ``label`` − largest other logit; ≤ 0 means not certified,
    returned as 0). ``logits`` (k,) or (B, k) with ``label`` an int or (B,) array."""
    require_positive("lipschitz", lipschitz)
    require_ndim("logits", logits, (1, 2))
    logits = jnp.asarray(logits)
    lab = jnp.asarray(label)
    k = logits.shape[-1]
    if is_concrete(lab) and (np.any(np.asarray(lab) < 0) or np.any(np.asarray(lab) >= k)):
        raise ValueError(f"label must lie in [0, {k - 1}], got {label!r}")
    onehot = jax.nn.one_hot(lab, k, dtype=bool)
    true = jnp.sum(jnp.where(onehot, logits, 0.0), axis=-1)
    other = jnp.max(jnp.where(onehot, -jnp.inf, logits), axis=-1)
    return jnp.maximum(true - other, 0.0) / (jnp.sqrt(2.0) * lipschitz)
