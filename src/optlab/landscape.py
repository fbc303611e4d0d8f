r"""Loss landscapes and implicit bias: neural collapse in the unconstrained
feature model, over-parameterised matrix sensing, Hessian spectra, the edge of
stability and the max-margin bias of attention.

Notation (chapter 13).

* **Unconstrained feature model (UFM).** ``K`` classes, ``N`` samples with
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
* **Matrix sensing** with identity measurements: ``f(X) = ¼‖XXᵀ − M*‖²_F``,
  ``X ∈ ℝ^{n×k}``, ``rank M* = r`` (Xiong, Ding & Du 2023, "How
  over-parameterization slows down gradient descent in matrix sensing").
* **Sharpness** ``λ_max(∇²L(θ))`` of a loss ``L`` of a parameter pytree ``θ``,
  computed densely (``jax.hessian`` on the flattened parameters) or by power
  iteration on Hessian-vector products.
* **Attention** with a trainable query ``p ∈ ℝ^d`` on sequences
  ``X_i ∈ ℝ^{T×d}``, fixed head ``v``: ``f(X_i) = vᵀ X_iᵀ softmax(X_i p)``,
  logistic loss on labels ``y_i = ±1`` (Tarzanagh, Li, Thrampoulidis & Oymak
  2023, "Transformers as support vector machines").
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree
from jax.typing import ArrayLike

from ._checks import (
    as_float_array,
    is_concrete,
    require_callable,
    require_finite,
    require_int,
    require_key,
    require_nonnegative,
    require_positive,
    require_shape,
)
from ._types import Array, Float, Int, PRNGKeyArray

_HI = jax.lax.Precision.HIGHEST  # full float32 accuracy on GPUs (no TF32 matmuls)


def _mm(a, b):
    return jnp.matmul(a, b, precision=_HI)


def _scalar(name: str, x: Any) -> jax.Array:
    return as_float_array(name, x, ndim=0)


__all__ = [
    # neural collapse
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
    # matrix sensing
    "low_rank_psd",
    "sensing_loss",
    "SensingOutput",
    "sensing_gd",
    "loglog_slope",
    "log_linear_rate",
    # Hessians
    "mlp_init",
    "mlp_batch_apply",
    "hessian_matrix",
    "hessian_spectrum",
    "top_eigenvalue",
    "EoSOutput",
    "gd_with_sharpness",
    # attention
    "attention_output",
    "attention_loss",
    "token_scores",
    "optimal_tokens",
    "attention_svm",
    "AttentionGDOutput",
    "attention_gd",
]


# ---------------------------------------------------------------------------
# neural collapse
# ---------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------
# matrix sensing
# ---------------------------------------------------------------------------


def low_rank_psd(n: int, eigenvalues: Sequence[float], *, key: PRNGKeyArray) -> Float[Array, "n n"]:
    """``U diag(eigenvalues) Uᵀ`` with ``U`` (``n × r``) uniformly random orthonormal.

    Args:
      n: the matrix size, ``>= 1``.
      eigenvalues: the ``r ≤ n`` positive eigenvalues.
      key: a JAX PRNG key (keyword-only).

    Returns:
      The rank-``r`` PSD matrix ``M*``, shape ``(n, n)``.

    Raises:
      TypeError: integer seed, non-integer ``n``, non-numeric eigenvalues.
      ValueError: ``n < 1``, non-positive or non-finite eigenvalues, rank above ``n``.
    """
    require_key("key", key)
    require_int("n", n, minimum=1)
    lam = as_float_array("eigenvalues", eigenvalues, ndim=1)
    require_positive("eigenvalues", lam)
    if lam.shape[0] > n:
        raise ValueError(f"rank {lam.shape[0]} exceeds n = {n}")
    Q, R = jnp.linalg.qr(jax.random.normal(key, (n, lam.shape[0]), lam.dtype))
    Q = Q * jnp.sign(jnp.diag(R))[None, :]
    return _mm(Q * lam[None, :], Q.T)


def sensing_loss(X: Float[Array, "n k"], M_star: Float[Array, "n n"]) -> Float[Array, ""]:
    """``¼‖XXᵀ − M*‖²_F``; its gradient is ``(XXᵀ − M*) X``.

    Args:
      X: the factor, ``n × k``.
      M_star: the target ``M*``, ``n × n``.

    Returns:
      The loss, a scalar.

    Raises:
      TypeError: non-numeric input. ValueError: ``X`` not 2-D, ``M_star`` not ``n × n``, NaN/inf.
    """
    X = as_float_array("X", X, ndim=2)
    M_star = as_float_array("M_star", M_star, ndim=2)
    require_shape("M_star", M_star, (X.shape[0], X.shape[0]))
    return _sensing_loss(X, M_star)


def _sensing_loss(X, M_star):
    return 0.25 * jnp.sum((_mm(X, X.T) - M_star) ** 2)


class SensingOutput(NamedTuple):
    """Result of :func:`sensing_gd` (the iterates are not recorded, only their errors).

    Attributes:
      params: the final factor ``X_T``, ``n × k``.
      errors: ``(num_steps + 1,)`` errors ``‖X_t X_tᵀ − M*‖_F`` for ``t = 0, …, num_steps``.
    """

    params: Float[Array, "n k"]  # final factor X_T
    errors: Float[Array, " num_steps+1"]  # (num_steps + 1,) ‖X_t X_tᵀ − M*‖_F for t = 0 … num_steps


def sensing_gd(
    X0: Float[Array, "n k"],
    M_star: Float[Array, "n n"],
    *,
    learning_rate: Float[ArrayLike, ""],
    num_steps: int,
) -> SensingOutput:
    """Gradient descent ``X ← X − η (XXᵀ − M*) X`` (``η = learning_rate``) on :func:`sensing_loss`
    (compiled once per shape and ``num_steps``).

    Args:
      X0: the start ``X_0``, ``n × k``.
      M_star: the symmetric target ``M*``, ``n × n``.
      learning_rate: the step ``η > 0`` (keyword-only).
      num_steps: number of steps, ``>= 1`` (keyword-only).

    Returns:
      A :class:`SensingOutput`.

    Raises:
      TypeError: non-numeric input, non-integer ``num_steps``.
      ValueError: wrong shapes, NaN/inf, asymmetric ``M_star``, ``learning_rate ≤ 0``.
    """
    X0 = as_float_array("X0", X0, ndim=2)
    M_star = as_float_array("M_star", M_star, ndim=2)
    require_shape("M_star", M_star, (X0.shape[0], X0.shape[0]))
    if is_concrete(M_star) and not np.allclose(np.asarray(M_star), np.asarray(M_star).T):
        raise ValueError("M_star must be symmetric")
    learning_rate = _scalar("learning_rate", learning_rate)
    require_positive("learning_rate", learning_rate)
    require_int("num_steps", num_steps, minimum=1)
    dt = jnp.result_type(X0, M_star)
    return _sensing_gd(X0.astype(dt), M_star.astype(dt), learning_rate.astype(dt), num_steps)


@functools.partial(jax.jit, static_argnames=("num_steps",))
def _sensing_gd(X0, M_star, learning_rate, num_steps):
    def step(X, _):
        E = _mm(X, X.T) - M_star
        return X - learning_rate * _mm(E, X), jnp.linalg.norm(E)

    X, errs = jax.lax.scan(step, X0, None, length=num_steps)
    final = jnp.linalg.norm(_mm(X, X.T) - M_star)
    return SensingOutput(X, jnp.concatenate([errs, final[None]]))


def _fit_inputs(t, errors, t_min, t_max):
    t = np.asarray(as_float_array("t", t, ndim=1), np.float64)
    e = np.asarray(as_float_array("errors", errors, ndim=1, finite=False), np.float64)
    if t.shape != e.shape:
        raise ValueError(f"t and errors must be 1-D of equal length, got {t.shape} and {e.shape}")
    if np.any(np.isnan(e)):
        raise ValueError("errors contains NaN")
    lo, hi = float(_scalar("t_min", t_min)), float(_scalar("t_max", t_max))
    if hi < lo:
        raise ValueError(f"t_max must be >= t_min, got t_min={lo}, t_max={hi}")
    return t, e


def loglog_slope(
    t: Float[ArrayLike, " T"], errors: Float[ArrayLike, " T"], t_min: float, t_max: float
) -> float:
    """Least-squares slope of ``log error`` against ``log t`` over ``t_min ≤ t ≤ t_max``
    (``t``: the step indices of the ``errors``).

    Args:
      t: the step indices, 1-D.
      errors: the errors at ``t``, same shape (inf allowed outside the window).
      t_min: start of the fitted window.
      t_max: end of the fitted window, ``>= t_min``.

    Returns:
      The slope ``p`` of ``error ≈ C t^p`` (negative for a sublinear rate), a float.

    Raises:
      TypeError: non-numeric input. ValueError: shapes differ or not 1-D, NaN/inf, fewer than
      two points in the window, non-positive values there.
    """
    ts, e = _fit_inputs(t, errors, t_min, t_max)
    if ts.shape != e.shape or ts.ndim != 1:
        raise ValueError(f"t and errors must be 1-D of equal length, got {ts.shape} and {e.shape}")
    sel = (ts >= t_min) & (ts <= t_max)
    if sel.sum() < 2:
        raise ValueError(
            f"need at least two points in the window [t_min, t_max] = [{t_min}, {t_max}], "
            f"got {int(sel.sum())}"
        )
    if not np.all(e[sel] > 0) or not np.all(ts[sel] > 0) or not np.all(np.isfinite(e[sel])):
        raise ValueError("t and errors must be positive in the fitted window")
    return float(np.polyfit(np.log(ts[sel]), np.log(e[sel]), 1)[0])


def log_linear_rate(
    t: Float[ArrayLike, " T"], errors: Float[ArrayLike, " T"], t_min: float, t_max: float
) -> float:
    """Fitted per-step contraction ``ρ`` with ``error ≈ C ρ^t`` over the window.

    Args:
      t: the step indices, 1-D.
      errors: the errors at ``t``, same shape.
      t_min: start of the fitted window.
      t_max: end of the fitted window, ``>= t_min``.

    Returns:
      ``ρ`` (``exp`` of the least-squares slope of ``log error`` against ``t``), a float.

    Raises:
      TypeError, ValueError: as :func:`loglog_slope`.
    """
    ts, e = _fit_inputs(t, errors, t_min, t_max)
    sel = (ts >= t_min) & (ts <= t_max)
    if sel.sum() < 2 or not np.all(e[sel] > 0) or not np.all(np.isfinite(e[sel])):
        raise ValueError("need at least two positive errors in the fitted window")
    return float(np.exp(np.polyfit(ts[sel], np.log(e[sel]), 1)[0]))


# ---------------------------------------------------------------------------
# Hessians, sharpness, edge of stability
# ---------------------------------------------------------------------------


def mlp_init(
    sizes: Sequence[int], *, key: PRNGKeyArray, scale: float = 1.0
) -> list[tuple[Float[Array, "out in"], Float[Array, " out"]]]:
    """Weights ``W_l ~ N(0, scale²/fan_in)`` and zero biases for an MLP with layer ``sizes``.

    Args:
      sizes: layer widths ``(in, hidden…, out)``, at least two, each ``>= 1``.
      key: a JAX PRNG key (keyword-only).
      scale: the weight scale, ``> 0``.

    Returns:
      A list of ``(W_l, b_l)`` pairs, ``W_l`` of shape ``(fan_out, fan_in)``.

    Raises:
      TypeError: integer seed, ``sizes`` not a sequence of integers. ValueError: fewer than two
      sizes, a size below 1, ``scale ≤ 0``.
    """
    require_key("key", key)
    if isinstance(sizes, (str, bytes)) or not hasattr(sizes, "__len__"):
        raise TypeError(f"sizes must be a sequence of layer sizes, got {type(sizes).__name__}")
    if len(sizes) < 2:
        raise ValueError(f"sizes needs at least an input and an output size, got {list(sizes)}")
    for s in sizes:
        require_int("sizes[i]", s, minimum=1)
    _scalar("scale", scale)
    require_positive("scale", scale)
    keys = jax.random.split(key, len(sizes) - 1)
    dtype = jnp.result_type(float)
    return [
        (scale * jax.random.normal(k, (m, n), dtype) / jnp.sqrt(n), jnp.zeros(m, dtype))
        for k, n, m in zip(keys, sizes[:-1], sizes[1:], strict=True)
    ]


def mlp_batch_apply(
    params: Sequence[tuple[Float[Array, "out in"], Float[Array, " out"]]],
    x: Float[Array, "N in"],
    activation: Callable[[Array], Array] = jnp.tanh,
) -> Float[Array, "N out"]:
    """Outputs (``N × out``) of the MLP on a batch of inputs ``x`` (``N × in``, one example per
    row), hidden activation a callable (default ``tanh``), linear last layer.
    (:func:`optlab.lipschitz.mlp_apply` evaluates one input vector with a named activation.)

    Args:
      params: a non-empty list of ``(W, b)`` pairs (see :func:`mlp_init`).
      x: inputs ``N × in``, one example per row.
      activation: the hidden activation, a callable.

    Returns:
      The outputs, ``N × out``.

    Raises:
      TypeError: ``params`` not a non-empty sequence of ``(W, b)`` pairs, non-numeric input,
        ``activation`` not callable.
      ValueError: ``x`` not 2-D or its width not the first layer's fan-in, NaN/inf in ``x``.
    """
    if (
        isinstance(params, (str, bytes))
        or not isinstance(params, (list, tuple))
        or not params
        or not all(isinstance(p, (list, tuple)) and len(p) == 2 for p in params)
    ):
        raise TypeError("params must be a non-empty list of (W, b) pairs (see mlp_init)")
    require_callable("activation", activation)
    x = as_float_array("x", x, ndim=2)
    W0 = params[0][0]
    if jnp.ndim(W0) != 2 or jnp.shape(W0)[1] != x.shape[1]:
        raise ValueError(f"x must have shape (N, {jnp.shape(W0)[-1]}) for these params, got {x.shape}")
    return _mlp_apply(params, x, activation)


def _mlp_apply(params, x, activation=jnp.tanh):
    h = x
    for W, b in params[:-1]:
        h = activation(h @ W.T + b)
    W, b = params[-1]
    return h @ W.T + b


def _check_loss_params(loss_fn, params):
    require_callable("loss_fn", loss_fn)
    if params is None or isinstance(params, (str, bytes)):
        raise TypeError(f"params must be a pytree of float arrays, got {type(params).__name__}")
    leaves = jax.tree_util.tree_leaves(params)
    if not leaves:
        raise ValueError("params must hold at least one parameter")
    for leaf in leaves:
        as_float_array("params", leaf, finite=False)
        if not jnp.issubdtype(jnp.result_type(leaf), jnp.floating):
            raise TypeError(f"params must hold floating arrays, got dtype {jnp.result_type(leaf)}")
    require_finite("params", params)


@functools.partial(jax.jit, static_argnames=("loss_fn",))
def _hessian(loss_fn, params):
    flat, unravel = ravel_pytree(params)
    H = jax.hessian(lambda w: loss_fn(unravel(w)))(flat)
    return 0.5 * (H + H.T)


def hessian_matrix(loss_fn: Callable[[Any], Array], params: Any) -> Float[Array, "P P"]:
    """Dense Hessian of ``loss_fn`` at ``params`` in the flattened coordinates
    (``ravel_pytree`` order), shape ``(P, P)``. For small models only. Compiled once per
    ``loss_fn`` (static, hashed by identity: reuse the same function object) and shape.

    Args:
      loss_fn: the scalar loss ``L`` of a parameter pytree.
      params: the point ``θ``, a pytree of finite floating arrays.

    Returns:
      The symmetrised Hessian ``∇²L(θ)``, shape ``(P, P)`` with ``P`` the number of parameters.

    Raises:
      TypeError: ``loss_fn`` not callable, ``params`` not floating arrays.
      ValueError: empty ``params`` or a NaN/inf in them.
    """
    _check_loss_params(loss_fn, params)
    return _hessian(loss_fn, params)


def hessian_spectrum(loss_fn: Callable[[Any], Array], params: Any) -> Float[Array, " P"]:
    """All Hessian eigenvalues, ascending (``eigvalsh`` of :func:`hessian_matrix`).

    Args:
      loss_fn: the scalar loss ``L`` of a parameter pytree.
      params: the point ``θ``, a pytree of finite floating arrays.

    Returns:
      The ``P`` eigenvalues, ascending.

    Raises:
      TypeError, ValueError: as :func:`hessian_matrix`.
    """
    return jnp.linalg.eigvalsh(hessian_matrix(loss_fn, params))


# region: landscape-power-iteration
def _hvp_impl(loss_fn, params, v):
    # ∇²L(θ)v by forward-over-reverse (the public one is optlab.second_order.hvp)
    return jax.jvp(jax.grad(loss_fn), (params,), (v,))[1]


def _power_iteration(loss_fn, params, v0, num_steps):
    flat, unravel = ravel_pytree(params)

    def mv(u):
        return ravel_pytree(_hvp_impl(loss_fn, params, unravel(u)))[0]

    def body(u, _):
        w = mv(u)
        return w / jnp.linalg.norm(w), None

    u = v0 / jnp.linalg.norm(v0)
    u, _ = jax.lax.scan(body, u, None, length=num_steps)
    return jnp.vdot(u, mv(u)), u


# endregion: landscape-power-iteration


def top_eigenvalue(
    loss_fn: Callable[[Any], Array], params: Any, *, key: PRNGKeyArray, num_steps: int = 100
) -> tuple[Float[Array, ""], Float[Array, " P"]]:
    """Power iteration on Hessian-vector products: returns ``(uᵀ∇²L u, u)`` with
    ``u`` the final unit vector (flattened). It converges to the eigenvalue of
    largest *modulus*, which is the sharpness whenever ``λ_max > |λ_min|``.
    Compiled once per ``loss_fn`` (static), shape and ``num_steps`` (power iterations).

    Args:
      loss_fn: the scalar loss ``L`` of a parameter pytree.
      params: the point ``θ``, a pytree of finite floating arrays.
      key: a JAX PRNG key for the random start (keyword-only).
      num_steps: number of power iterations, ``>= 1``.

    Returns:
      ``(λ, u)``: the Rayleigh quotient ``uᵀ∇²L u`` and the unit vector ``u``, shape ``(P,)``.

    Raises:
      TypeError: ``loss_fn`` not callable, integer seed, non-integer ``num_steps``.
      ValueError: empty or non-finite ``params``, ``num_steps < 1``.
    """
    _check_loss_params(loss_fn, params)
    require_key("key", key)
    require_int("num_steps", num_steps, minimum=1)
    return _top_eigenvalue(loss_fn, params, key, num_steps)


@functools.partial(jax.jit, static_argnames=("loss_fn", "num_steps"))
def _top_eigenvalue(loss_fn, params, key, num_steps):
    flat, _ = ravel_pytree(params)
    v0 = jax.random.normal(key, flat.shape, flat.dtype)
    return _power_iteration(loss_fn, params, v0, num_steps)


class EoSOutput(NamedTuple):
    """Full-batch GD with sharpness tracking (:func:`gd_with_sharpness`).

    Attributes:
      params: the final parameters (the pytree of the start).
      losses: ``(num_steps,)`` loss before each step.
      steps: ``(C,)`` steps at which the sharpness was measured (``0, record_every, …``, before
        each block of ``record_every`` steps).
      sharpness: ``(C,)`` top Hessian eigenvalue by power iteration.
    """

    params: Any
    losses: Float[Array, " num_steps"]  # (num_steps,) loss before each step
    steps: Int[Array, " C"]  # (C,) steps at which sharpness was measured
    sharpness: Float[Array, " C"]  # (C,) top Hessian eigenvalue by power iteration


def gd_with_sharpness(
    loss_fn: Callable[[Any], Array],
    params: Any,
    *,
    learning_rate: float,
    num_steps: int,
    key: PRNGKeyArray,
    record_every: int = 10,
    power_num_steps: int = 20,
) -> EoSOutput:
    """Full-batch GD ``θ ← θ − η∇L(θ)`` (``η = learning_rate``); every ``record_every`` steps the
    sharpness is estimated by ``power_num_steps`` power iterations on HVPs, warm-started from the
    previous eigenvector (so a few iterations suffice). ``learning_rate`` may be
    traced (``vmap`` over a grid of step sizes). Compiled once per ``loss_fn`` (static),
    shape and integer configuration.

    Args:
      loss_fn: the scalar loss ``L`` of a parameter pytree.
      params: the start ``θ_0``, a pytree of finite floating arrays.
      learning_rate: the step ``η > 0`` (keyword-only).
      num_steps: number of GD steps, a multiple of ``record_every`` (keyword-only).
      key: a JAX PRNG key for the first power-iteration vector (keyword-only).
      record_every: steps between sharpness measurements, ``>= 1``.
      power_num_steps: power iterations per measurement, ``>= 1``.

    Returns:
      An :class:`EoSOutput`.

    Raises:
      TypeError: ``loss_fn`` not callable, integer seed, non-integer counts.
      ValueError: non-finite/empty ``params``, ``learning_rate ≤ 0``, counts below 1,
        ``num_steps`` not a multiple of ``record_every``.
    """
    _check_loss_params(loss_fn, params)
    require_key("key", key)
    _scalar("learning_rate", learning_rate)
    require_positive("learning_rate", learning_rate)
    require_int("num_steps", num_steps, minimum=1)
    require_int("record_every", record_every, minimum=1)
    require_int("power_num_steps", power_num_steps, minimum=1)
    if num_steps % record_every:
        raise ValueError(f"num_steps ({num_steps}) must be a multiple of record_every ({record_every})")
    return _gd_with_sharpness(loss_fn, params, learning_rate, num_steps, key, record_every, power_num_steps)


@functools.partial(jax.jit, static_argnames=("loss_fn", "num_steps", "record_every", "power_num_steps"))
def _gd_with_sharpness(loss_fn, params, learning_rate, num_steps, key, record_every, power_num_steps):
    value_and_grad = jax.value_and_grad(loss_fn)
    flat, _ = ravel_pytree(params)
    u0 = jax.random.normal(key, flat.shape, flat.dtype)

    def step(p, _):
        val, g = value_and_grad(p)
        return jax.tree_util.tree_map(lambda x, gx: x - learning_rate * gx, p, g), val

    def block(carry, _):
        p, u = carry
        lam, u = _power_iteration(loss_fn, p, u, power_num_steps)
        p, vals = jax.lax.scan(step, p, None, length=record_every)
        return (p, u), (vals, lam)

    (params, _), (losses, sharp) = jax.lax.scan(block, (params, u0), None, length=num_steps // record_every)
    steps = record_every * jnp.arange(num_steps // record_every)
    return EoSOutput(params, losses.reshape(-1), steps, sharp)


# ---------------------------------------------------------------------------
# attention and max-margin token selection
# ---------------------------------------------------------------------------


def _check_attention(X, y=None, v=None, p=None):
    X = as_float_array("X", X, ndim=3)
    if 0 in X.shape:
        raise ValueError(f"X must be a non-empty (n, T, d) array, got shape {X.shape}")
    if y is not None:
        y = as_float_array("y", y, ndim=1)
        require_shape("y", y, (X.shape[0],))
        if is_concrete(y) and not np.all(np.isin(np.asarray(y), (-1, 1))):
            raise ValueError("y must contain only -1 and +1")
        y = y.astype(X.dtype)
    if v is not None:
        v = as_float_array("v", v, ndim=1)
        require_shape("v", v, (X.shape[2],))
        v = v.astype(X.dtype)
    if p is not None:
        p = as_float_array("p", p, ndim=1)
        require_shape("p", p, (X.shape[2],))
    return X, y, v, p


def attention_output(
    p: Float[Array, " d"], X: Float[Array, "n T d"], v: Float[Array, " d"]
) -> Float[Array, " n"]:
    """``f(X_i) = vᵀ X_iᵀ softmax(X_i p)`` for every sequence (``X``: ``n × T × d``).

    Args:
      p: the query, ``(d,)``.
      X: the sequences, ``n × T × d``.
      v: the fixed head, ``(d,)``.

    Returns:
      The outputs ``f(X_i)``, shape ``(n,)``.

    Raises:
      TypeError: non-numeric input. ValueError: wrong shapes, NaN/inf.
    """
    X, _, v, p = _check_attention(X, v=v, p=p)
    return _attention_output(p, X, v)


def _attention_output(p, X, v):
    s = jax.nn.softmax(_mm(X, p), axis=-1)  # n × T
    return jnp.einsum("nt,ntd,d->n", s, X, v, precision=_HI)


def attention_loss(
    p: Float[Array, " d"], X: Float[Array, "n T d"], y: Float[Array, " n"], v: Float[Array, " d"]
) -> Float[Array, ""]:
    """Mean logistic loss ``log(1 + exp(−y_i f(X_i)))``.

    Args:
      p: the query, ``(d,)``.
      X: the sequences, ``n × T × d``.
      y: labels ``±1``, ``(n,)``.
      v: the fixed head, ``(d,)``.

    Returns:
      The mean loss, a scalar.

    Raises:
      TypeError: non-numeric input. ValueError: wrong shapes, NaN/inf, labels other than ±1.
    """
    X, y, v, p = _check_attention(X, y, v, p)
    return _attention_loss(p, X, y, v)


def _attention_loss(p, X, y, v):
    return jnp.mean(jax.nn.softplus(-y * _attention_output(p, X, v)))


def token_scores(
    X: Float[Array, "n T d"], y: Float[Array, " n"], v: Float[Array, " d"]
) -> Float[Array, "n T"]:
    """Scores ``γ_it = y_i vᵀ x_it`` (``n × T``): how much selecting token ``t`` helps.

    Args:
      X: the sequences, ``n × T × d``.
      y: labels ``±1``, ``(n,)``.
      v: the fixed head, ``(d,)``.

    Returns:
      The scores, ``n × T``.

    Raises:
      TypeError: non-numeric input.
      ValueError: wrong shapes, NaN/inf, labels other than ±1.
    """
    X, y, v, _ = _check_attention(X, y, v)
    return y[:, None] * _mm(X, v)


def optimal_tokens(
    X: Float[Array, "n T d"], y: Float[Array, " n"], v: Float[Array, " d"]
) -> Int[Array, " n"]:
    """Index of the highest-score token of each sequence (the argmax of :func:`token_scores`).

    Args:
      X: the sequences, ``n × T × d``.
      y: labels ``±1``, ``(n,)``.
      v: the fixed head, ``(d,)``.

    Returns:
      The token indices ``opt_i``, shape ``(n,)``.

    Raises:
      TypeError, ValueError: as :func:`token_scores`.
    """
    return jnp.argmax(token_scores(X, y, v), axis=1)


def attention_svm(X: Float[Array, "n T d"], opt: Int[ArrayLike, " n"]) -> Float[np.ndarray, " d"]:
    """Max-margin token selection (Att-SVM) solved with cvxpy:
    ``min ‖p‖²  s.t.  (x_{i,opt_i} − x_{it})ᵀ p ≥ 1`` for all ``i`` and ``t ≠ opt_i``.

    Args:
      X: the sequences, ``n × T × d``.
      opt: the selected token of each sequence, ``n`` integers in ``[0, T)``.

    Returns:
      The max-margin direction ``p``, shape ``(d,)`` (a NumPy array).

    Raises:
      TypeError: non-numeric ``X``, ``opt`` not integer indices.
      ValueError: wrong shapes, NaN/inf, ``opt`` out of range, or infeasible constraints (no
        direction selects every optimal token).
    """
    import cvxpy as cp

    X, _, _, _ = _check_attention(X)
    if opt is None or isinstance(opt, (str, bytes)):
        raise TypeError(f"opt must be integer token indices, got {type(opt).__name__}")
    opt = np.asarray(opt)
    n, T, d = X.shape
    if opt.shape != (n,) or not np.issubdtype(opt.dtype, np.integer):
        raise ValueError(f"opt must be {n} integer token indices, got shape {opt.shape}")
    if opt.min() < 0 or opt.max() >= T:
        raise ValueError(f"opt must lie in [0, {T - 1}]")
    Xn = np.asarray(X, dtype=float)
    rows = [Xn[i, opt[i]] - Xn[i, t] for i in range(n) for t in range(T) if t != opt[i]]
    D = np.stack(rows)
    p = cp.Variable(d)
    prob = cp.Problem(cp.Minimize(cp.sum_squares(p)), [D @ p >= 1])
    try:
        prob.solve(solver=cp.CLARABEL)
    except cp.error.SolverError:  # pragma: no cover - fallback
        prob.solve(solver=cp.SCS, eps=1e-10)
    if prob.status not in ("optimal", "optimal_inaccurate"):
        raise ValueError(f"Att-SVM is {prob.status}: no direction separates the optimal tokens")
    return np.asarray(p.value)


class AttentionGDOutput(NamedTuple):
    """Result of :func:`attention_gd`: the history is recorded every ``record_every`` steps,
    after each block (``steps = record_every, 2·record_every, …, num_steps``; the start ``p0``
    is not a row: at ``p0 = 0`` its direction is undefined).

    Attributes:
      params: the final query ``p_T``, ``(d,)``.
      steps: ``(C,)`` recorded steps.
      iterates: ``(C, d)`` queries at the recorded steps.
      losses: ``(C,)`` loss at the recorded steps.
    """

    params: Float[Array, " d"]  # final query p_T
    steps: Int[Array, " C"]  # (C,) recorded steps
    iterates: Float[Array, "C d"]  # (C, d) iterates at the recorded steps
    losses: Float[Array, " C"]  # (C,) loss at the recorded steps


def attention_gd(
    X: Float[Array, "n T d"],
    y: Float[Array, " n"],
    v: Float[Array, " d"],
    p0: Float[Array, " d"],
    *,
    learning_rate: Float[ArrayLike, ""],
    num_steps: int,
    normalized: bool = False,
    record_every: int = 10,
) -> AttentionGDOutput:
    """Gradient descent on :func:`attention_loss` over ``p``.

    ``normalized=True`` uses the normalised step ``p ← p − η ∇/‖∇‖`` (``η = learning_rate``): ``‖p‖`` then
    grows linearly, the softmax saturates and in finite precision the gradient of
    some sequences underflows to exactly 0, which bends the direction; plain GD
    (the default) is the robust choice. Compiled once per shape and
    ``(num_steps, record_every, normalized)``.

    Args:
      X: the sequences, ``n × T × d``.
      y: labels ``±1``, ``(n,)``.
      v: the fixed head, ``(d,)``.
      p0: the start, ``(d,)``.
      learning_rate: the step ``η > 0`` (keyword-only).
      num_steps: number of steps, a multiple of ``record_every`` (keyword-only).
      normalized: take normalised-gradient steps (a bool).
      record_every: steps between records, ``>= 1``.

    Returns:
      An :class:`AttentionGDOutput`.

    Raises:
      TypeError: non-numeric input, non-integer counts, non-bool ``normalized``.
      ValueError: wrong shapes, NaN/inf, labels other than ±1, ``learning_rate ≤ 0``.
    """
    X, y, v, _ = _check_attention(X, y, v)
    p0 = as_float_array("p0", p0, ndim=1)
    require_shape("p0", p0, (X.shape[2],))
    learning_rate = _scalar("learning_rate", learning_rate)
    require_positive("learning_rate", learning_rate)
    require_int("num_steps", num_steps, minimum=1)
    require_int("record_every", record_every, minimum=1)
    if not isinstance(normalized, (bool, np.bool_)):
        raise TypeError(f"normalized must be a bool, got {type(normalized).__name__}")
    if num_steps % record_every:
        raise ValueError(f"num_steps ({num_steps}) must be a multiple of record_every ({record_every})")
    return _attention_gd(
        X, y, v, p0.astype(X.dtype), learning_rate.astype(X.dtype), num_steps, bool(normalized), record_every
    )


@functools.partial(jax.jit, static_argnames=("num_steps", "normalized", "record_every"))
def _attention_gd(X, y, v, p0, learning_rate, num_steps, normalized, record_every):
    loss = lambda p: _attention_loss(p, X, y, v)  # noqa: E731
    grad = jax.grad(loss)

    def step(p, _):
        g = grad(p)
        if normalized:
            g = g / jnp.maximum(jnp.linalg.norm(g), jnp.finfo(g.dtype).tiny)
        return p - learning_rate * g, None

    def block(p, _):
        p, _ = jax.lax.scan(step, p, None, length=record_every)
        return p, (p, loss(p))

    p, (iterates, losses) = jax.lax.scan(block, p0, None, length=num_steps // record_every)
    steps = record_every * jnp.arange(1, num_steps // record_every + 1)
    return AttentionGDOutput(p, steps, iterates, losses)
