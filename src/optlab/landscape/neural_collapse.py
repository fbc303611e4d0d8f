r"""Neural collapse in the unconstrained feature model (chapter 13).

``K`` classes, ``N`` samples with
labels ``y_i``, class sizes ``n_k``; free features ``H ∈ ℝ^{N×d}`` (row
``h_iᵀ``, one sample per row as everywhere in optlab), classifier ``W ∈ ℝ^{K×d}``
(row ``w_kᵀ``), bias ``b ∈ ℝ^K``, one-hot targets ``Y ∈ ℝ^{N×K}``, and the
regularised MSE objective

    f(W, H, b) = 1/(2N) ‖H Wᵀ + 1 bᵀ − Y‖²_F + λ_W/2 ‖W‖²_F + λ_H/2 ‖H‖²_F + λ_b/2 ‖b‖².

Class means ``μ_k``, global mean ``μ_G``, centred means ``M̄ ∈ ℝ^{K×d}`` (row
``(μ_k − μ_G)ᵀ``), within/between-class covariances ``Σ_W``, ``Σ_B``. The
neural-collapse metrics (Papyan, Han & Donoho 2020) are

    NC1 = tr(Σ_W Σ_B^†)/K,
    NC2 = ‖G/‖G‖_F − (I − 11ᵀ/K)/√(K−1)‖_F,   G = M̄ M̄ᵀ,
    NC3 = ‖W/‖W‖_F − M̄/‖M̄‖_F‖_F,
    NC4 = fraction of samples where argmax_k (W h + b)_k ≠ argmin_k ‖h − μ_k‖.

Global minimisers of the UFM collapse (Dang et al. 2023, "Neural collapse in
deep linear networks: from balanced to imbalanced data"; Tirer, Huang &
Niles-Weed 2023, "Perturbation analysis of neural collapse").
"""

from __future__ import annotations

import functools
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
    require_nonnegative,
    require_positive,
    require_shape,
)
from .._types import Array, Float, Int, PRNGKeyArray
from ._common import _mm, _scalar

__all__ = [
    "etf_gram",
    "simplex_etf",
    "class_means",
    "NCMetrics",
    "nc_metrics",
    "max_offdiag_cosine",
    "classifier_mean_cosines",
    "UFMParams",
    "UFMOutput",
    "ufm_loss",
    "train_ufm",
    "BiasFreeOptimum",
    "ufm_bias_free_optimum",
]


def etf_gram(K: int) -> Float[Array, "K K"]:
    """Gram matrix ``K/(K−1) (I − 11ᵀ/K)`` of a ``K``-point simplex ETF with unit vectors.

    Args:
      K: number of vertices (classes), at least 2.

    Returns:
      The ``K × K`` Gram matrix (ones on the diagonal, ``−1/(K−1)`` off it).

    Raises:
      TypeError: ``K`` not an integer.
      ValueError: ``K < 2``.
    """
    require_int("K", K, minimum=2)
    return K / (K - 1) * (jnp.eye(K) - jnp.ones((K, K)) / K)


def simplex_etf(
    K: int, d: int | None = None, rotation: Float[Array, "K d"] | None = None
) -> Float[Array, "K d"]:
    """A simplex equiangular tight frame: ``K × d`` matrix whose ``K`` rows (the vertices) have
    unit norm, pairwise cosines ``−1/(K−1)`` and zero sum, ``√(K/(K−1)) (I − 11ᵀ/K) R``.

    ``R`` is the first ``K`` rows of ``I_d`` (``d ≥ K``, default ``d = K``), or
    ``rotation`` (``K × d`` with orthonormal rows) when given.

    Args:
      K: number of vertices (classes), at least 2.
      d: ambient dimension, ``d ≥ K`` (default ``K``).
      rotation: optional ``K × d`` matrix ``R`` with orthonormal rows.

    Returns:
      The ``K × d`` frame, one vertex per row.

    Raises:
      TypeError: ``K`` or ``d`` not an integer, non-numeric ``rotation``.
      ValueError: ``K < 2``, ``d < K``, ``rotation`` not ``K × d``, not finite or without
        orthonormal rows.
    """
    require_int("K", K, minimum=2)
    d = K if d is None else d
    require_int("d", d, minimum=K)
    if rotation is None:
        R = jnp.eye(K, d)
    else:
        R = as_float_array("rotation", rotation, ndim=2)
        require_shape("rotation", R, (K, d))
        if is_concrete(R) and not np.allclose(
            np.asarray(R, np.float64) @ np.asarray(R, np.float64).T, np.eye(K), atol=1e-5
        ):
            raise ValueError("rotation must have orthonormal rows (RRᵀ = I)")
    return jnp.sqrt(K / (K - 1)) * _mm(jnp.eye(K, dtype=R.dtype) - jnp.ones((K, K), R.dtype) / K, R)


def _check_labels(labels: Any, K: int, N: int | None = None) -> Array:
    require_int("K", K, minimum=2)
    if labels is None or isinstance(labels, (str, bytes, dict, set)):
        raise TypeError(f"labels must be a 1-D array of integer class indices, got {type(labels).__name__}")
    try:
        labels = jnp.asarray(labels)
    except (TypeError, ValueError) as err:
        raise TypeError(f"labels must be a 1-D array of integer class indices: {err}") from err
    if labels.ndim != 1 or labels.shape[0] == 0:
        raise ValueError(f"labels must be a non-empty 1-D array, got shape {labels.shape}")
    if N is not None and labels.shape[0] != N:
        raise ValueError(f"labels must have one entry per row of H ({N}), got {labels.shape[0]}")
    if not jnp.issubdtype(labels.dtype, jnp.integer):
        raise TypeError(f"labels must be integers, got dtype {labels.dtype}")
    if is_concrete(labels):
        lab = np.asarray(labels)
        if lab.min() < 0 or lab.max() >= K:
            raise ValueError(f"labels must lie in [0, {K - 1}], got range [{lab.min()}, {lab.max()}]")
        missing = sorted(set(range(K)) - set(lab.tolist()))
        if missing:
            raise ValueError(f"labels: every class needs at least one sample; classes {missing} are empty")
    return labels


def class_means(
    H: Float[Array, "N d"], labels: Int[Array, " N"], K: int
) -> tuple[Float[Array, " d"], Float[Array, "K d"]]:
    """Global mean ``μ_G`` (``d``,) and class means ``M`` (``K × d``, row ``k`` is ``μ_kᵀ``) of
    the rows of ``H`` (``N × d``, one sample per row).

    Args:
      H: features ``N × d``, finite.
      labels: ``N`` integer labels in ``[0, K)``, every class present.
      K: number of classes, at least 2.

    Returns:
      ``(μ_G, M)``.

    Raises:
      TypeError: non-numeric ``H``, non-integer labels or ``K``.
      ValueError: wrong shapes, NaN/inf, labels out of range, an empty class.
    """
    H = as_float_array("H", H, ndim=2)
    labels = _check_labels(labels, K, H.shape[0])
    return _class_means(H, labels, K)


def _class_means(H, labels, K):
    Y = jax.nn.one_hot(labels, K, dtype=H.dtype)  # N × K
    counts = Y.sum(0)
    M = _mm(Y.T, H) / counts[:, None]
    return H.mean(0), M


class NCMetrics(NamedTuple):
    """The four neural-collapse metrics (all 0 at exact collapse).

    Attributes:
      nc1: ``tr(Σ_W Σ_B^†)/K``, the within-class variability.
      nc2: distance of the normalised centred-mean Gram ``M̄M̄ᵀ`` to the simplex-ETF Gram.
      nc3: ``‖W/‖W‖_F − M̄/‖M̄‖_F‖_F`` (self-duality).
      nc4: the fraction of samples where the classifier disagrees with the nearest class mean.
    """

    nc1: Array  # tr(Σ_W Σ_B^†)/K: within-class variability
    nc2: Array  # distance of the normalised centred-mean Gram to the simplex-ETF Gram
    nc3: Array  # distance between W/‖W‖ and M̄/‖M̄‖ (self-duality)
    nc4: Array  # disagreement rate of the classifier with nearest class centre


def nc_metrics(
    H: Float[Array, "N d"],
    W: Float[Array, "K d"],
    labels: Int[Array, " N"],
    K: int,
    b: Float[Array, " K"] | None = None,
) -> NCMetrics:
    """NC1–NC4 of features ``H`` (``N × d``) and classifier ``W`` (``K × d``), bias ``b``.

    Invariant under a common rotation of the rows of ``H`` and of ``W`` and under
    positive rescaling of ``H`` (NC1–NC2) or of ``W`` (NC3, NC4 with ``b = 0``).  Computed on
    ``H / max|H|`` and ``W / max|W|`` (with ``b`` rescaled to match), so float32 features of
    any finite magnitude give finite metrics.

    Args:
      H: features ``N × d`` (one sample per row), finite.
      W: classifier ``K × d``, finite.
      labels: ``N`` integer labels in ``[0, K)``, every class present.
      K: number of classes, at least 2.
      b: optional bias ``(K,)``.

    Returns:
      :class:`NCMetrics`.

    Raises:
      TypeError: non-numeric arrays, non-integer labels or ``K``.
      ValueError: wrong or mismatched shapes, NaN/inf, labels out of range, an empty class.
    """
    H = as_float_array("H", H, ndim=2)
    W = as_float_array("W", W, ndim=2)
    require_int("K", K, minimum=2)
    require_shape("W", W, (K, H.shape[1]))
    if b is not None:
        b = as_float_array("b", b, ndim=1)
        require_shape("b", b, (K,))
    labels = _check_labels(labels, K, H.shape[0])
    return _nc_metrics(H, W, labels, K, b)


def _nc_metrics(H, W, labels, K, b=None):
    # region: landscape-nc-metrics
    # every metric is invariant to H -> H/s, W -> W/t (b -> b/(st) keeps the argmax): dividing by
    # the largest entries keeps the squares below in range (float32 features of 1e20 or 1e-20)
    s = jnp.max(jnp.abs(H))
    s = jnp.where(s > 0, s, 1.0)
    t = jnp.max(jnp.abs(W))
    t = jnp.where(t > 0, t, 1.0)
    H, W = H / s, W / t
    b = None if b is None else b / (s * t)
    mu_G, M = _class_means(H, labels, K)
    N = H.shape[0]
    Mc = M - mu_G[None, :]  # K × d centred means
    dev = H - M[labels]  # N × d
    Sigma_W = _mm(dev.T, dev) / N
    Sigma_B = _mm(Mc.T, Mc) / K
    nc1 = jnp.trace(_mm(Sigma_W, jnp.linalg.pinv(Sigma_B, hermitian=True))) / K
    G = _mm(Mc, Mc.T)
    target = (jnp.eye(K) - jnp.ones((K, K)) / K) / jnp.sqrt(K - 1.0)
    nc2 = jnp.linalg.norm(G / jnp.linalg.norm(G) - target)
    nc3 = jnp.linalg.norm(W / jnp.linalg.norm(W) - Mc / jnp.linalg.norm(Mc))
    logits = _mm(H, W.T) + (0.0 if b is None else b[None, :])  # N × K
    ncc = jnp.argmin(jnp.sum((H[:, None, :] - M[None, :, :]) ** 2, axis=2), axis=1)
    nc4 = jnp.mean(jnp.argmax(logits, axis=1) != ncc)
    return NCMetrics(nc1, nc2, nc3, nc4)
    # endregion: landscape-nc-metrics


def max_offdiag_cosine(M: Float[Array, "K d"]) -> Float[Array, ""]:
    """``max_{j≠k} |cos(m_j, m_k)|`` over the rows of ``M``: 0 for an orthogonal frame.

    Args:
      M: ``K × d`` with ``K ≥ 2`` non-zero, finite rows (e.g. class means).

    Returns:
      A scalar in ``[0, 1]``.

    Raises:
      TypeError: non-numeric ``M``. ValueError: wrong shape, NaN/inf, a zero row.
    """
    M = as_float_array("M", M, ndim=2)
    if M.shape[0] < 2 or M.shape[1] == 0:
        raise ValueError(f"M needs at least two non-empty rows, got shape {M.shape}")
    if is_concrete(M) and np.any(np.linalg.norm(np.asarray(M), axis=1) == 0):
        raise ValueError("M has a zero row: its cosine with the others is undefined")
    U = M / jnp.linalg.norm(M, axis=1, keepdims=True)
    C = jnp.abs(_mm(U, U.T))
    return jnp.max(C - jnp.diag(jnp.diag(C)))


def classifier_mean_cosines(W: Float[Array, "K d"], M: Float[Array, "K d"]) -> Float[Array, " K"]:
    """``cos(w_k, μ_k)`` for each class: rows of ``W`` against rows of ``M`` (both ``K × d``).

    Args:
      W: classifier ``K × d``, non-zero finite rows.
      M: class means ``K × d``, non-zero finite rows.

    Returns:
      ``(K,)`` cosines.

    Raises:
      TypeError: non-numeric input. ValueError: mismatched shapes, NaN/inf, a zero row.
    """
    W = as_float_array("W", W, ndim=2)
    M = as_float_array("M", M, ndim=2)
    require_shape("M", M, W.shape)
    if is_concrete(W) and np.any(np.linalg.norm(np.asarray(W), axis=1) == 0):
        raise ValueError("W has a zero row: its cosine is undefined")
    if is_concrete(M) and np.any(np.linalg.norm(np.asarray(M), axis=1) == 0):
        raise ValueError("M has a zero row: its cosine is undefined")
    return jnp.sum(W * M, 1) / (jnp.linalg.norm(W, axis=1) * jnp.linalg.norm(M, axis=1))


class UFMParams(NamedTuple):
    """Parameters of the unconstrained feature model (:func:`ufm_loss`, :func:`train_ufm`).

    Attributes:
      H: features ``N × d``, one sample per row.
      W: classifier ``K × d``.
      b: bias ``(K,)`` (kept at 0 when ``bias=False``).
    """

    H: Float[Array, "N d"]  # N × d features, one sample per row
    W: Float[Array, "K d"]  # K × d classifier
    b: Float[Array, " K"]  # K bias (kept at 0 when bias=False)


class UFMOutput(NamedTuple):
    """Result of :func:`train_ufm`; histories are recorded every ``record_every`` steps.

    Attributes:
      params: the final :class:`UFMParams`.
      losses: ``(C,)`` objective at the recorded steps (``C = num_steps/record_every``).
      steps: ``(C,)`` step index of each record (``record_every, …, num_steps``).
      metrics: :class:`NCMetrics` at the recorded steps, each field ``(C,)``.
      means: ``(C, K, d)`` class means (row ``k`` is ``μ_k``).
      classifiers: ``(C, K, d)`` classifiers ``W``.
    """

    params: UFMParams
    losses: Float[Array, " C"]  # (C,) objective at the recorded steps
    steps: Int[Array, " C"]  # (C,) step index of each record
    metrics: NCMetrics  # each field (C,)
    means: Float[Array, "C K d"]  # (C, K, d) class means (row k is μ_k)
    classifiers: Float[Array, "C K d"]  # (C, K, d)


def ufm_loss(
    params: UFMParams, labels: Int[Array, " N"], K: int, lam_W: float, lam_H: float, lam_b: float = 0.0
) -> Float[Array, ""]:
    """Regularised MSE objective of the UFM (module docstring). Differentiable in ``params``.

    Args:
      params: ``(H, W, b)`` with ``H`` ``N × d``, ``W`` ``K × d``, ``b`` ``(K,)``.
      labels: ``N`` integer labels in ``[0, K)``.
      K: number of classes, at least 2.
      lam_W, lam_H, lam_b: non-negative weights.

    Returns:
      The objective, a scalar.

    Raises:
      TypeError: non-numeric input, ``params`` not a triple.
      ValueError: mismatched shapes, NaN/inf, negative weights, labels out of range.
    """
    if not isinstance(params, (tuple, list)) or len(params) != 3:
        raise TypeError(f"params must be a UFMParams(H, W, b), got {type(params).__name__}")
    H = as_float_array("params.H", params[0], ndim=2)
    W = as_float_array("params.W", params[1], ndim=2)
    require_int("K", K, minimum=2)
    require_shape("params.W", W, (K, H.shape[1]))
    b = as_float_array("params.b", params[2], ndim=1)
    require_shape("params.b", b, (K,))
    labels = _check_labels(labels, K, H.shape[0])
    for name, lam in (("lam_W", lam_W), ("lam_H", lam_H), ("lam_b", lam_b)):
        _scalar(name, lam)
        require_nonnegative(name, lam)
    return _ufm_loss(UFMParams(H, W, b), labels, K, lam_W, lam_H, lam_b)


def _ufm_loss(params, labels, K, lam_W, lam_H, lam_b=0.0):
    H, W, b = params
    N = H.shape[0]
    Y = jax.nn.one_hot(labels, K, dtype=H.dtype)  # N × K
    R = _mm(H, W.T) + b[None, :] - Y
    return (
        0.5 / N * jnp.sum(R**2)
        + 0.5 * lam_W * jnp.sum(W**2)
        + 0.5 * lam_H * jnp.sum(H**2)
        + 0.5 * lam_b * jnp.sum(b**2)
    )


def train_ufm(
    labels: Int[Array, " N"],
    K: int,
    d: int,
    *,
    key: PRNGKeyArray,
    lam_W: float = 5e-3,
    lam_H: float = 5e-3,
    lam_b: float = 0.0,
    bias: bool = True,
    learning_rate: float = 0.5,
    num_steps: int = 5000,
    record_every: int = 100,
    init_scale: float = 0.1,
) -> UFMOutput:
    """Full-batch gradient descent on the UFM objective from a Gaussian start of
    scale ``init_scale``. ``bias=False`` freezes ``b = 0`` (the bias-free model).

    The step on ``H`` is rescaled by ``N`` (``h_i ← h_i − η N ∂f/∂h_i``, ``η = learning_rate``), i.e. GD
    on the per-sample loss; this leaves the minimisers unchanged and makes the
    step size independent of the number of samples. Compiled once per
    ``(K, d, N, bias, num_steps, record_every)``.

    Args:
      labels: ``N`` integer labels, every class of ``0..K−1`` present.
      key: a JAX PRNG key (the Gaussian start).
      K: classes (≥ 2); d: feature dimension (≥ 1).
      lam_W, lam_H, lam_b: non-negative weights; learning_rate, init_scale: positive.
      bias: train the bias (a bool).
      num_steps, record_every: positive integers, ``num_steps`` a multiple of ``record_every``.

    Returns:
      :class:`UFMOutput`.

    Raises:
      TypeError: integer seed, non-integer sizes, non-numeric weights, non-bool ``bias``.
      ValueError: out-of-range values, bad labels.
    """
    require_key("key", key)
    require_int("d", d, minimum=1)
    labels = _check_labels(labels, K)
    for name, v in (("learning_rate", learning_rate), ("init_scale", init_scale)):
        _scalar(name, v)
        require_positive(name, v)
    for name, v in (("lam_W", lam_W), ("lam_H", lam_H), ("lam_b", lam_b)):
        _scalar(name, v)
        require_nonnegative(name, v)
    if not isinstance(bias, (bool, np.bool_)):
        raise TypeError(f"bias must be a bool, got {type(bias).__name__}")
    require_int("num_steps", num_steps, minimum=1)
    require_int("record_every", record_every, minimum=1)
    if num_steps % record_every:
        raise ValueError(f"num_steps ({num_steps}) must be a multiple of record_every ({record_every})")
    dt = jnp.result_type(float)
    f = lambda x: jnp.asarray(x, dt)  # noqa: E731
    return _train_ufm(
        key,
        labels,
        K,
        d,
        f(lam_W),
        f(lam_H),
        f(lam_b),
        bool(bias),
        f(learning_rate),
        num_steps,
        record_every,
        f(init_scale),
    )


@functools.partial(jax.jit, static_argnames=("K", "d", "bias", "num_steps", "record_every"))
def _train_ufm(
    key, labels, K, d, lam_W, lam_H, lam_b, bias, learning_rate, num_steps, record_every, init_scale
):
    N = labels.shape[0]
    kH, kW = jax.random.split(key)
    dtype = jnp.result_type(float)
    params = UFMParams(
        init_scale * jax.random.normal(kH, (N, d), dtype),
        init_scale * jax.random.normal(kW, (K, d), dtype),
        jnp.zeros(K, dtype),
    )
    loss = lambda p: _ufm_loss(p, labels, K, lam_W, lam_H, lam_b)  # noqa: E731
    grad = jax.grad(loss)
    scale = UFMParams(
        jnp.asarray(N, dtype), jnp.asarray(1.0, dtype), jnp.asarray(1.0 if bias else 0.0, dtype)
    )

    def step(p, _):
        g = grad(p)
        return jax.tree_util.tree_map(lambda x, gx, s: x - learning_rate * s * gx, p, g, scale), None

    def record(p, _):
        p, _ = jax.lax.scan(step, p, None, length=record_every)
        _, M = _class_means(p.H, labels, K)
        return p, (loss(p), _nc_metrics(p.H, p.W, labels, K, p.b), M, p.W)

    params, (losses, metrics, means, Ws) = jax.lax.scan(
        record, params, None, length=num_steps // record_every
    )
    steps = record_every * jnp.arange(1, num_steps // record_every + 1)
    return UFMOutput(params, losses, steps, metrics, means, Ws)


class BiasFreeOptimum(NamedTuple):
    """Closed-form global minimum of the bias-free UFM (``d ≥ K``).

    Attributes:
      z: ``(K,)`` singular values of ``W Mᵀ`` (the class-``k`` logit of its own mean).
      mean_norms: ``(K,)`` class-mean norms ``‖μ_k‖``.
      classifier_norms: ``(K,)`` classifier-row norms ``‖w_k‖``.
      loss: the optimal objective value.
    """

    z: Float[Array, " K"]  # (K,) singular values of W Mᵀ (the class-k logit of its own mean)
    mean_norms: Float[Array, " K"]  # (K,) ‖μ_k‖
    classifier_norms: Float[Array, " K"]  # (K,) ‖w_k‖
    loss: Array  # optimal objective value


def ufm_bias_free_optimum(
    counts: Float[Array, " K"], lam_W: Float[ArrayLike, ""], lam_H: Float[ArrayLike, ""]
) -> BiasFreeOptimum:
    r"""Global minimum of the bias-free MSE UFM with class sizes ``counts``.

    With ``c = √(λ_W λ_H)`` and ``N = Σ n_k`` the minimisers have ``W Mᵀ`` diagonal
    with entries ``z_k = max(0, 1 − N c/√n_k)``, orthogonal class means with
    ``‖μ_k‖² = z_k √(λ_W/(λ_H n_k))`` and classifier rows ``‖w_k‖² = z_k √(λ_H n_k/λ_W)``
    (chapter 13, proof by the variational form of the nuclear norm).

    Args:
      counts: class sizes ``n_k > 0``, shape ``(K,)``.
      lam_W: ``λ_W > 0``.
      lam_H: ``λ_H > 0``.

    Returns:
      A :class:`BiasFreeOptimum`.

    Raises:
      TypeError: non-numeric input.
      ValueError: ``counts`` not 1-D, non-positive or non-finite values.
    """
    n = as_float_array("counts", counts, ndim=1)
    require_positive("counts", n)
    lam_W, lam_H = _scalar("lam_W", lam_W), _scalar("lam_H", lam_H)
    require_positive("lam_W", lam_W)
    require_positive("lam_H", lam_H)
    N = n.sum()
    c = jnp.sqrt(lam_W * lam_H)
    z = jnp.maximum(0.0, 1.0 - N * c / jnp.sqrt(n))
    loss = jnp.sum(n / (2 * N) * (z - 1) ** 2 + c * jnp.sqrt(n) * z)
    mean_norms = jnp.sqrt(z * jnp.sqrt(lam_W / (lam_H * n)))
    classifier_norms = jnp.sqrt(z * jnp.sqrt(lam_H * n / lam_W))
    return BiasFreeOptimum(z, mean_norms, classifier_norms, loss)
