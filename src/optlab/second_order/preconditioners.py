"""Shampoo and orthogonalised updates (chapter 5, third part): inverse p-th roots,
Shampoo's preconditioner and its Kronecker power iteration, the polar factor by
Newton–Schulz, Muon, AuON and Drop-Muon as optax transformations."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from .. import _checks
from .._types import Array, Float, Int, PRNGKeyArray
from ._common import (
    HIGHEST,
    _check_coeffs,
    _check_learning_rate,
    _check_matrix,
    _check_transformation,
    _highest_precision,
    _in_range,
    _nonnegative,
    _positive,
)

__all__ = [
    "CUBIC_COEFFS",
    "MUON_COEFFS",
    "KroneckerTrace",
    "auon_scale",
    "drop_layers",
    "drop_muon",
    "inverse_pth_root",
    "kronecker_power_iteration",
    "muon",
    "newton_schulz",
    "newton_schulz_iterates",
    "polar_factor",
    "scale_by_auon",
    "scale_by_muon",
    "scale_by_shampoo",
    "shampoo_precondition",
]


CUBIC_COEFFS = (1.5, -0.5, 0.0)
"""Classical (cubic) Newton–Schulz: ``X ← 1.5X − 0.5XXᵀX``; converges to ``UVᵀ``."""

MUON_COEFFS = (3.4445, -4.7750, 2.0315)
"""Quintic coefficients of the Muon reference code: fast, but only into a band around 1."""


# ---------------------------------------------------------------------------
# 3. Shampoo and orthogonalised updates
# ---------------------------------------------------------------------------


@_highest_precision
def inverse_pth_root(A: Float[Array, "n n"], p: float, eps: float = 0.0) -> Float[Array, "n n"]:
    """``(A + εI)^{−1/p}`` for symmetric PSD ``A`` through ``eigh``.

    Eigenvalues of ``A + εI`` below ``n·machine-ε·λ_max`` are treated as zero
    (a pseudo-inverse root: those directions are left out), so ``eps = 0`` is
    allowed for rank-deficient ``A``.

    Args:
      A: symmetric PSD matrix, shape ``(n, n)`` (symmetrised as ``(A + Aᵀ)/2``).
      p: the root ``p > 0``.
      eps: ``ε >= 0`` added to the eigenvalues.

    Returns:
      ``(A + εI)^{−1/p}``, shape ``(n, n)``.

    Raises:
      TypeError: non-numeric input.  ValueError: ``A`` not square/finite, ``p <= 0``, ``eps < 0``.
    """
    A = _check_matrix("A", A, square=True)
    _positive("p", p)
    _nonnegative("eps", eps)
    lam, V = jnp.linalg.eigh((A + A.T) / 2)
    lam = lam + eps
    floor = jnp.finfo(A.dtype).eps * jnp.max(jnp.abs(lam)) * A.shape[0]
    inv_root = jnp.where(lam > floor, jnp.maximum(lam, floor) ** (-1.0 / p), 0.0)
    return (V * inv_root) @ V.T


@_highest_precision
def shampoo_precondition(
    G: Float[Array, "m n"], L: Float[Array, "m m"], R: Float[Array, "n n"], eps: float = 0.0
) -> Float[Array, "m n"]:
    """Shampoo direction ``(L + εI)^{−1/4} G (R + εI)^{−1/4}`` (Gupta et al. 2018).

    Args:
      G: the gradient of a weight matrix, shape ``(m, n)``.
      L: the left statistic, shape ``(m, m)``.
      R: the right statistic, shape ``(n, n)``.
      eps: ``ε >= 0``.

    Returns:
      The preconditioned gradient, shape ``(m, n)``.

    Raises:
      TypeError: non-numeric input.  ValueError: ``L`` not ``(m, m)`` / ``R`` not ``(n, n)``
      for ``G`` of shape ``(m, n)``, non-finite input, ``eps < 0``.
    """
    G = _check_matrix("G", G)
    L = _check_matrix("L", L)
    R = _check_matrix("R", R)
    _checks.require_shape("L", L, (G.shape[0], G.shape[0]))
    _checks.require_shape("R", R, (G.shape[1], G.shape[1]))
    return inverse_pth_root(L, 4.0, eps) @ G @ inverse_pth_root(R, 4.0, eps)


class ShampooState(NamedTuple):
    L: Any
    R: Any


def _require_2d_tree(name: str, tree: Any) -> None:
    for path, leaf in jax.tree_util.tree_flatten_with_path(tree)[0]:
        if jnp.ndim(leaf) != 2:
            where = jax.tree_util.keystr(path) or "(root)"
            raise ValueError(
                f"{name} must be 2-D weight matrices; leaf {where} has shape {tuple(jnp.shape(leaf))}"
            )


def scale_by_shampoo(decay: float = 1.0, eps: float = 1e-6) -> optax.GradientTransformation:
    """Shampoo for 2-D weights: ``L ← decay·L + GGᵀ``, ``R ← decay·R + GᵀG``,
    update ``(L + εI)^{−1/4} G (R + εI)^{−1/4}``.

    ``decay = 1`` is the original (AdaGrad-style sum); ``decay = 0`` is Shampoo
    *without accumulation*, whose update is the polar factor ``UVᵀ`` when ``ε → 0``.

    Args:
      decay: the weight of the old statistics, in [0, 1].
      eps: ``ε >= 0``.

    Returns:
      An ``optax.GradientTransformation`` for a pytree of 2-D weights.

    Raises:
      ValueError: ``decay`` outside [0, 1], ``eps < 0``; at ``init``/``update``, leaves that are not 2-D.
    """
    _in_range("decay", decay, 0.0, 1.0)
    _nonnegative("eps", eps)

    def init_fn(params):
        _require_2d_tree("params", params)
        L = jax.tree.map(lambda w: jnp.zeros((w.shape[0], w.shape[0]), w.dtype), params)
        R = jax.tree.map(lambda w: jnp.zeros((w.shape[1], w.shape[1]), w.dtype), params)
        return ShampooState(L, R)

    def update_fn(updates, state, params=None):
        del params
        _require_2d_tree("updates", updates)
        _checks.require_finite("updates", updates)
        with jax.default_matmul_precision("highest"):
            L = jax.tree.map(lambda left, g: decay * left + g @ g.T, state.L, updates)
            R = jax.tree.map(lambda r, g: decay * r + g.T @ g, state.R, updates)
            new = jax.tree.map(lambda g, left, r: shampoo_precondition(g, left, r, eps), updates, L, R)
        return new, ShampooState(L, R)

    return optax.GradientTransformation(init_fn, update_fn)


class KroneckerTrace(NamedTuple):
    """Power iteration towards the best Kronecker approximation ``c·A⊗B`` of the
    full-matrix statistic ``H = (1/N) Σ_s vec(G_s)vec(G_s)ᵀ`` (row-major ``vec``).

    Attributes:
      params: the final factors ``(A_N, B_N)``, shapes ``(m, m)`` and ``(n, n)``, each of
        unit Frobenius norm.
      iterates: ``(A_0..A_N, B_0..B_N)``, shapes ``(N + 1, m, m)`` and ``(N + 1, n, n)``
        (``A_0 = I/√m``, ``B_0 = I/√n``).
      errors: ``min_c ‖H − c·A_k⊗B_k‖_F / ‖H‖_F`` for ``k = 0..N``.
    """

    params: tuple[Float[Array, "m m"], Float[Array, "n n"]]
    iterates: tuple[Float[Array, "N+1 m m"], Float[Array, "N+1 n n"]]
    errors: Array


@partial(jax.jit, static_argnames=("num_steps",))
def _kronecker_power(G, num_steps):
    with jax.default_matmul_precision("highest"):
        N, m, n = G.shape
        H = jnp.einsum("sij,skl->ijkl", G, G).reshape(m * n, m * n) / N

        def error(A, B):
            K = jnp.kron(A, B)
            c = jnp.vdot(K, H) / jnp.vdot(K, K)
            return jnp.linalg.norm(H - c * K) / jnp.linalg.norm(H)

        def step(carry, _):
            A, B = carry
            A_next = jnp.einsum("sij,jl,skl->ik", G, B, G) / N  # reshape(R vec B) = E[G B Gᵀ]
            B_next = jnp.einsum("sij,ik,skl->jl", G, A, G) / N  # reshape(Rᵀ vec A) = E[Gᵀ A G]
            A_next, B_next = A_next / jnp.linalg.norm(A_next), B_next / jnp.linalg.norm(B_next)
            return (A_next, B_next), (A_next, B_next)

        A0 = jnp.eye(m, dtype=G.dtype) / jnp.sqrt(jnp.asarray(m, G.dtype))
        B0 = jnp.eye(n, dtype=G.dtype) / jnp.sqrt(jnp.asarray(n, G.dtype))
        (A, B), (As, Bs) = jax.lax.scan(step, (A0, B0), None, length=num_steps)
        As, Bs = jnp.concatenate([A0[None], As]), jnp.concatenate([B0[None], Bs])
        return KroneckerTrace((A, B), (As, Bs), jax.vmap(error)(As, Bs))


def kronecker_power_iteration(grads: Float[Array, "N m n"], *, num_steps: int) -> KroneckerTrace:
    """Power iteration for the best Kronecker approximation of the full-matrix AdaGrad
    statistic (Morwani et al. 2024, "A New Perspective on Shampoo's Preconditioner").

    Rearranging ``H = (1/N) Σ_s vec(G_s)vec(G_s)ᵀ`` entrywise, ``R[(i,k),(j,l)] = H[(i,j),(k,l)]``,
    turns ``A⊗B`` into the rank-one ``vec(A)vec(B)ᵀ``, so the best ``c·A⊗B`` in Frobenius norm is
    the top singular pair of ``R`` (Van Loan–Pitsianis). One step maps
    ``(A, B) ↦ (E[G B Gᵀ], E[Gᵀ A G])`` (normalised), never forming ``R``; from
    ``(I, I)`` the first step returns Shampoo's statistics ``L = E[GGᵀ]`` and ``R = E[GᵀG]``.
    ``errors`` forms ``H`` (``(mn)²`` entries): small layers only.

    Args:
      grads: the gradients ``G_s``, shape ``(N, m, n)``, finite.
      num_steps: power steps ``>= 1`` (keyword-only).

    Returns:
      A :class:`KroneckerTrace`.

    Raises:
      TypeError: non-numeric ``grads``.
      ValueError: ``grads`` not a non-empty 3-D array or not finite, ``num_steps < 1``.
    """
    G = _checks.as_float_array("grads", grads, ndim=3)
    if 0 in G.shape:
        raise ValueError(f"grads must be a non-empty (N, m, n) array, got shape {G.shape}")
    _checks.require_int("num_steps", num_steps, minimum=1)
    return _kronecker_power(G, int(num_steps))


@_highest_precision
def polar_factor(G: Float[Array, "m n"]) -> Float[Array, "m n"]:
    """The polar factor ``UVᵀ`` of ``G = UΣVᵀ`` (thin SVD): the exact orthogonalised
    update, ``argmax_{‖D‖_op ≤ 1} ⟨G, D⟩`` (steepest descent in the spectral norm).

    Args:
      G: the matrix, shape ``(m, n)``.

    Returns:
      ``UVᵀ``, shape ``(m, n)``.

    Raises:
      TypeError: non-numeric input.  ValueError: ``G`` not a finite, non-empty 2-D array.
    """
    G = _check_matrix("G", G)
    U, _, Vt = jnp.linalg.svd(G, full_matrices=False)
    return U @ Vt


def _ns_core(X: Array, num_steps: int, coeffs: Array, eps: float) -> Array:
    # Precision.HIGHEST: TF32 (a GPU's float32 default) would change the iterates
    transposed = X.shape[0] > X.shape[1]
    if transposed:
        X = X.T
    X = X / (jnp.linalg.norm(X) + eps)
    a, b, c = coeffs[0], coeffs[1], coeffs[2]

    def body(_, X):
        A = jnp.matmul(X, X.T, precision=HIGHEST)
        return a * X + jnp.matmul(b * A + c * jnp.matmul(A, A, precision=HIGHEST), X, precision=HIGHEST)

    # unroll short loops (as optax does, for vmap); keep long ones rolled (compile time)
    X = jax.lax.fori_loop(0, num_steps, body, X, unroll=num_steps <= 8)
    return X.T if transposed else X


def newton_schulz(
    G: Float[Array, "m n"],
    *,
    num_steps: int = 5,
    coeffs: Sequence[float] = MUON_COEFFS,
    eps: float = 1e-8,
) -> Float[Array, "m n"]:
    """Approximate polar factor by the odd matrix polynomial iteration
    ``X ← aX + b(XXᵀ)X + c(XXᵀ)²X`` from ``X₀ = G/(‖G‖_F + eps)``.

    Each singular value follows the scalar map ``σ ↦ aσ + bσ³ + cσ⁵`` while the
    singular vectors stay fixed.  :data:`CUBIC_COEFFS` ``(1.5, −0.5, 0)``
    converges to ``UVᵀ`` (quadratically once ``σ`` is near 1); :data:`MUON_COEFFS`
    push small singular values up much faster but only into a band around 1.
    Wide orientation is used internally (``G`` is transposed if tall).  Matrix
    products run at ``Precision.HIGHEST``, so float32 results agree on CPU and GPU.

    Args:
      G: the matrix, shape ``(m, n)``.
      num_steps: number of iterations, ``>= 0``.
      coeffs: the three coefficients ``(a, b, c)``.
      eps: ``> 0``, added to ``‖G‖_F`` in the normalisation.

    Returns:
      ``X_num_steps``, shape ``(m, n)``.

    Raises:
      TypeError: non-numeric input.  ValueError: ``G`` not a finite non-empty 2-D array,
      ``num_steps < 0``, ``coeffs`` not three finite numbers, ``eps <= 0``.
    """
    G = _check_matrix("G", G)
    _checks.require_int("num_steps", num_steps, minimum=0)
    _check_coeffs("coeffs", coeffs)
    _positive("eps", eps)
    return _ns_core_jit(G, num_steps, jnp.asarray(coeffs, G.dtype), eps)


_ns_core_jit = jax.jit(_ns_core, static_argnums=(1, 3))


@partial(jax.jit, static_argnames=("num_steps",))
def _ns_iterates(G, num_steps, coeffs, eps):
    transposed = G.shape[0] > G.shape[1]
    X0 = G.T if transposed else G
    X0 = X0 / (jnp.linalg.norm(X0) + eps)
    a, b, c = coeffs[0], coeffs[1], coeffs[2]

    def body(X, _):
        A = jnp.matmul(X, X.T, precision=HIGHEST)
        X = a * X + jnp.matmul(b * A + c * jnp.matmul(A, A, precision=HIGHEST), X, precision=HIGHEST)
        return X, X

    _, Xs = jax.lax.scan(body, X0, None, length=num_steps)
    Xs = jnp.concatenate([X0[None], Xs], axis=0)
    return jnp.swapaxes(Xs, 1, 2) if transposed else Xs


def newton_schulz_iterates(
    G: Float[Array, "m n"],
    *,
    num_steps: int,
    coeffs: Sequence[float] = MUON_COEFFS,
    eps: float = 1e-8,
) -> Float[Array, "num_steps+1 m n"]:
    """All iterates ``X_0, …, X_num_steps`` of :func:`newton_schulz` (one compiled
    ``lax.scan``), shape ``(num_steps + 1, *G.shape)``; ``X_k`` equals
    ``newton_schulz(G, num_steps=k, coeffs=coeffs, eps=eps)``.

    Args:
      G: the matrix, shape ``(m, n)``.
      num_steps: number of iterations, ``>= 0``.
      coeffs: the three coefficients ``(a, b, c)``.
      eps: ``> 0``, added to ``‖G‖_F`` in the normalisation.

    Returns:
      The iterates, shape ``(num_steps + 1, m, n)``, ``X_0 = G/(‖G‖_F + eps)`` first.

    Raises:
      TypeError, ValueError: as in :func:`newton_schulz`.
    """
    G = _check_matrix("G", G)
    _checks.require_int("num_steps", num_steps, minimum=0)
    _check_coeffs("coeffs", coeffs)
    _positive("eps", eps)
    return _ns_iterates(G, num_steps, jnp.asarray(coeffs, G.dtype), jnp.asarray(eps, G.dtype))


def auon_scale(M: Float[Array, "m n"], gamma: float = 1.5, eps: float = 1e-7) -> Float[Array, "m n"]:
    """AuON's cosh-based normalisation (Maity 2025, reference implementation):
    ``M / r`` with ``r = √(mean(cosh²(γ M/‖M‖_F)))``.

    Linear time, but a *scalar* rescaling: singular values keep their ratios
    (nothing is orthogonalised); since ``cosh ≥ 1``, ``r ≥ 1`` and
    ``‖M/r‖ ≤ ‖M‖`` in every unitarily invariant norm.

    Args:
      M: the matrix (a momentum), shape ``(m, n)``.
      gamma: ``γ > 0``.
      eps: ``> 0``, added to ``‖M‖_F``.

    Returns:
      ``M / r``, shape ``(m, n)``.

    Raises:
      TypeError: non-numeric input.  ValueError: ``M`` not a finite non-empty 2-D array,
      ``gamma <= 0`` or ``eps <= 0``.
    """
    M = _check_matrix("M", M)
    _positive("gamma", gamma)
    _positive("eps", eps)
    return _auon_core(M, gamma, eps)


def _auon_core(M, gamma, eps):
    Mn = M / (jnp.linalg.norm(M) + eps)
    r = jnp.sqrt(jnp.mean(jnp.cosh(gamma * Mn) ** 2))
    return M / (r + 1e-8)


class MuonState(NamedTuple):
    count: Int[Array, ""]  # type: ignore[assignment]  # a field named like tuple.count
    mu: Any


def _check_beta(beta: Any) -> None:
    _in_range("beta", beta, 0.0, 1.0, high_inclusive=False)


def scale_by_muon(
    beta: float = 0.95,
    ns_steps: int = 5,
    ns_coeffs: Sequence[float] = MUON_COEFFS,
    *,
    nesterov: bool = True,
    eps: float = 1e-8,
) -> optax.GradientTransformation:
    """Muon's direction: bias-corrected (Nesterov) momentum, then Newton–Schulz.

    ``μ ← βμ + (1−β)g``; with Nesterov the orthogonalised matrix is
    ``β μ̂_{t+1} + (1−β) ĝ_t`` (hats = Adam-style bias corrections), exactly the
    recipe of ``optax.contrib.scale_by_muon``.  Every leaf must be a 2-D weight.

    Args:
      beta: momentum ``β`` in [0, 1).
      ns_steps: Newton–Schulz iterations, ``>= 0``.
      ns_coeffs: the Newton–Schulz coefficients ``(a, b, c)``.
      nesterov: use the Nesterov combination (default) rather than ``μ̂`` alone.
      eps: ``> 0``, the Newton–Schulz normalisation's ``eps``.

    Returns:
      An ``optax.GradientTransformation`` (no learning rate: see :func:`muon`).

    Raises:
      TypeError: ``nesterov`` not a bool, a non-numeric hyper-parameter.
      ValueError: ``beta`` outside [0, 1), ``ns_steps < 0``, ``eps <= 0``, ``ns_coeffs`` not
        three finite numbers; at ``init``/``update``, leaves that are not 2-D or not finite.
    """
    _check_beta(beta)
    _checks.require_int("ns_steps", ns_steps, minimum=0)
    _positive("eps", eps)
    _check_coeffs("ns_coeffs", ns_coeffs)
    if not isinstance(nesterov, (bool, np.bool_)):
        raise TypeError(f"nesterov must be a bool, got {type(nesterov).__name__}")

    def init_fn(params):
        _require_2d_tree("params", params)
        return MuonState(jnp.zeros([], jnp.int32), jax.tree.map(jnp.zeros_like, params))

    def update_fn(updates, state, params=None):
        del params
        _require_2d_tree("updates", updates)
        _checks.require_finite("updates", updates)
        mu = jax.tree.map(lambda m, g: beta * m + (1 - beta) * g, state.mu, updates)
        t = state.count + 1

        def bc(k, x):  # Adam-style bias correction 1 − βᵏ in x's dtype
            return 1 - jnp.asarray(beta, x.dtype) ** k.astype(x.dtype)

        if nesterov:
            mu_hat = jax.tree.map(
                lambda m, g: beta * (m / bc(t + 1, m)) + (1 - beta) * (g / bc(t, g)), mu, updates
            )
        else:
            mu_hat = jax.tree.map(lambda m: m / bc(t, m), mu)
        out = jax.tree.map(lambda x: _ns_core_jit(x, ns_steps, jnp.asarray(ns_coeffs, x.dtype), eps), mu_hat)
        return out, MuonState(t, mu)

    return optax.GradientTransformation(init_fn, update_fn)


def _scale_by_width():
    """``√max(1, fan_out/fan_in)`` with ``(fan_in, fan_out) = W.shape`` (Muon's width transfer)."""

    def update_fn(updates, state, params=None):
        del params
        return jax.tree.map(lambda u: u * np.sqrt(max(1.0, u.shape[1] / u.shape[0])), updates), state

    return optax.GradientTransformation(optax.init_empty_state, update_fn)


def muon(
    learning_rate: float | Callable[[Array], Array],
    beta: float = 0.95,
    ns_steps: int = 5,
    ns_coeffs: Sequence[float] = MUON_COEFFS,
    *,
    nesterov: bool = True,
    weight_decay: float = 0.0,
    eps: float = 1e-8,
) -> optax.GradientTransformation:
    """Muon for a pytree of 2-D weights: :func:`scale_by_muon`, Muon's width
    scaling ``√max(1, n_out/n_in)``, decoupled weight decay and the learning
    rate.  Matches ``optax.contrib.muon`` when every parameter is 2-D.

    Args:
      learning_rate: ``η > 0`` or an optax schedule.
      beta: momentum ``β`` in [0, 1).
      ns_steps: Newton–Schulz iterations, ``>= 0``.
      ns_coeffs: the Newton–Schulz coefficients ``(a, b, c)``.
      nesterov: Nesterov momentum (see :func:`scale_by_muon`).
      weight_decay: decoupled weight decay ``>= 0``.
      eps: ``ε > 0`` added to the Frobenius norm before Newton–Schulz (see
        :func:`scale_by_muon`).

    Returns:
      An ``optax.GradientTransformation`` (a chain).

    Raises:
      TypeError: a non-numeric hyper-parameter.
      ValueError: ``learning_rate <= 0`` (when not a schedule), ``weight_decay < 0``, and the
        errors of :func:`scale_by_muon`.
    """
    _check_learning_rate(learning_rate)
    _nonnegative("weight_decay", weight_decay)
    return optax.chain(
        scale_by_muon(beta, ns_steps, ns_coeffs, nesterov=nesterov, eps=eps),
        _scale_by_width(),
        optax.add_decayed_weights(weight_decay),
        optax.scale_by_learning_rate(learning_rate),
    )


def scale_by_auon(beta: float = 0.95, gamma: float = 1.5) -> optax.GradientTransformation:
    """AuON direction (reference implementation): ``m ← βm + (1−β)g``,
    ``u = (1−β)g + βm`` (Nesterov-style), update :func:`auon_scale` ``(u)``.

    Args:
      beta: momentum ``β`` in [0, 1).
      gamma: AuON's ``γ > 0``.

    Returns:
      An ``optax.GradientTransformation`` (no learning rate).

    Raises:
      ValueError: ``beta`` outside [0, 1), ``gamma <= 0``; in ``init`` / ``update``, a
        leaf of ``params`` / ``updates`` that is not a 2-D matrix.
    """
    _check_beta(beta)
    _positive("gamma", gamma)

    def init_fn(params):
        _require_2d_tree("params", params)
        return MuonState(jnp.zeros([], jnp.int32), jax.tree.map(jnp.zeros_like, params))

    def update_fn(updates, state, params=None):
        del params
        _require_2d_tree("updates", updates)
        _checks.require_finite("updates", updates)
        mu = jax.tree.map(lambda m, g: beta * m + (1 - beta) * g, state.mu, updates)
        out = jax.tree.map(lambda m, g: _auon_core((1 - beta) * g + beta * m, gamma, 1e-7), mu, updates)
        return out, MuonState(state.count + 1, mu)

    return optax.GradientTransformation(init_fn, update_fn)


class DropState(NamedTuple):
    key: Array
    inner: Any
    masks: Any  # last step's keep-masks (for diagnostics)


def _check_keep_prob(keep_prob: Any) -> np.ndarray:
    if isinstance(keep_prob, jax.core.Tracer):
        raise TypeError("keep_prob must be concrete numbers, not traced")
    probs = np.atleast_1d(
        np.asarray(_checks.as_float_array("keep_prob", keep_prob, ndim=(0, 1)), dtype=float)
    )
    if probs.size == 0:
        raise ValueError("keep_prob must hold at least one probability, got an empty array")
    _checks.require_in_range("keep_prob", probs, 0.0, 1.0, low_inclusive=False)
    return probs


def drop_layers(
    inner: optax.GradientTransformation, keep_prob: float | Sequence[float], *, key: PRNGKeyArray
) -> optax.GradientTransformation:
    """Randomised progressive training (Drop-Muon, Gruntkowska et al. 2025): at each
    step leaf ``l`` (a layer) is updated with probability ``p_l`` and left unchanged
    otherwise.  ``keep_prob`` is one probability or one per leaf (in
    ``jax.tree.leaves`` order).

    Simplification: the inner state (momentum) still sees every gradient; the
    compute saving of the paper (no backprop below the shallowest updated
    layer) is *counted*, not realised, here.

    Args:
      inner: the optax transformation whose per-leaf updates are kept or zeroed.
      keep_prob: ``p_l`` in (0, 1], one number or one per leaf (concrete, not traced).
      key: a JAX PRNG key (keyword-only), split at every step.

    Returns:
      An ``optax.GradientTransformation`` whose state holds the key, ``inner``'s state and
      the last step's keep-masks.

    Raises:
      TypeError: ``inner`` not an optax transformation, ``key`` not a PRNG key (e.g. an integer seed).
      ValueError: ``keep_prob`` outside (0, 1]; at ``init``, a ``keep_prob`` length that does not
      match the number of leaves.
    """
    _check_transformation("inner", inner)
    probs_in = _check_keep_prob(keep_prob)
    _checks.require_key("key", key)

    def init_fn(params):
        leaves = jax.tree.leaves(params)
        if probs_in.size not in (1, len(leaves)):
            raise ValueError(
                f"keep_prob must be a scalar or have one entry per leaf ({len(leaves)}), got {probs_in.size}"
            )
        masks = jax.tree.map(lambda _: jnp.ones((), bool), params)
        return DropState(jnp.asarray(key), inner.init(params), masks)

    def update_fn(updates, state, params=None):
        new_updates, inner_state = inner.update(updates, state.inner, params)
        leaves, treedef = jax.tree.flatten(new_updates)
        probs = np.broadcast_to(probs_in, (len(leaves),))
        key, sub = jax.random.split(state.key)
        keep = jax.random.uniform(sub, (len(leaves),)) < jnp.asarray(probs)
        out = [jnp.where(keep[i], u, jnp.zeros_like(u)) for i, u in enumerate(leaves)]
        masks = jax.tree.unflatten(treedef, [keep[i] for i in range(len(leaves))])
        return jax.tree.unflatten(treedef, out), DropState(key, inner_state, masks)

    return optax.GradientTransformation(init_fn, update_fn)


def drop_muon(
    learning_rate: float, keep_prob: float | Sequence[float], *, key: PRNGKeyArray, **muon_kwargs
) -> optax.GradientTransformation:
    """Drop-Muon: :func:`muon` whose per-layer updates are randomly skipped (:func:`drop_layers`).

    Args:
      learning_rate: ``η > 0`` or an optax schedule.
      keep_prob: ``p_l`` in (0, 1], one number or one per leaf.
      key: a JAX PRNG key (keyword-only).
      **muon_kwargs: the other arguments of :func:`muon`.

    Returns:
      An ``optax.GradientTransformation``.

    Raises:
      TypeError, ValueError: those of :func:`muon` and :func:`drop_layers`.
    """
    _check_learning_rate(learning_rate)
    _check_keep_prob(keep_prob)
    _checks.require_key("key", key)
    return drop_layers(muon(learning_rate, **muon_kwargs), keep_prob, key=key)
