"""Data cleaning by per-example weights, the application of chapter 12."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .._checks import (
    as_float_array,
    is_concrete,
    require_int,
    require_key,
)
from .._checks import as_nonempty_float_array as _array  # finite, non-empty float array
from .._checks import require_positive_scalar as _pos_scalar
from .._types import Array, ArrayLike, Bool, Float, PRNGKeyArray, Shaped

# ---------------------------------------------------------------------------
# data cleaning: per-example weights
# ---------------------------------------------------------------------------


class CleaningData(NamedTuple):
    """A data-cleaning problem from :func:`data_cleaning_problem` (``N × d`` data, one example per row).

    Attributes:
      X_train: training inputs, ``n_train × d``.
      y_train: training labels in ``{−1, +1}``, some flipped.
      X_val: validation inputs, ``n_val × d``.
      y_val: clean validation labels.
      flipped: boolean mask of the flipped training labels, ``(n_train,)``.
    """

    X_train: Float[Array, "n_train d"]
    y_train: jax.Array  # labels in {−1, +1}, some flipped
    X_val: Float[Array, "n_val d"]
    y_val: jax.Array  # clean labels
    flipped: Bool[Array, " n_train"]  # bool mask of flipped training labels


def data_cleaning_problem(
    *, key: PRNGKeyArray, n_train: int = 200, n_val: int = 100, d: int = 5, flip_fraction: float = 0.3
) -> CleaningData:
    """Two Gaussian classes ``N(±m, I)`` in ℝᵈ; a fraction of training labels flipped.

    Args:
      key: a JAX PRNG key (``jax.random.key(seed)``). n_train, n_val: ints ``≥ 2``.
      d: positive int. flip_fraction: in ``[0, 0.5)``.

    Returns:
      A :class:`CleaningData`.

    Raises:
      TypeError: an integer seed for ``key``, non-int sizes, non-numeric ``flip_fraction``.
      ValueError: sizes or ``flip_fraction`` out of range.
    """
    require_key("key", key)
    require_int("n_train", n_train, minimum=2)
    require_int("n_val", n_val, minimum=2)
    require_int("d", d, minimum=1)
    if isinstance(flip_fraction, bool) or not isinstance(
        flip_fraction, (int, float, np.integer, np.floating)
    ):
        raise TypeError(f"flip_fraction must be a number in [0, 0.5), got {type(flip_fraction).__name__}")
    if not 0 <= flip_fraction < 0.5:
        raise ValueError(f"flip_fraction must lie in [0, 0.5), got {flip_fraction}")
    k1, k2, k3, k4, k5 = jax.random.split(key, 5)
    m = jnp.ones(d) / jnp.sqrt(d) * 1.5

    def sample(kl, kx, n):
        y = jnp.where(jax.random.bernoulli(kl, 0.5, (n,)), 1.0, -1.0)
        return y[:, None] * m + jax.random.normal(kx, (n, d)), y

    Xt, yt = sample(k1, k2, n_train)
    Xv, yv = sample(k3, k4, n_val)
    n_flip = int(round(flip_fraction * n_train))
    flipped = jnp.zeros(n_train, bool).at[jax.random.permutation(k5, n_train)[:n_flip]].set(True)
    return CleaningData(Xt, jnp.where(flipped, -yt, yt), Xv, yv, flipped)


def weighted_logistic_losses(data: CleaningData, mu: float = 1e-2):
    """``(inner, outer)`` for data cleaning. ``θ ∈ ℝⁿ`` are logits of per-example
    weights ``s_i = sigmoid(θ_i)``:

        g(w, θ) = (1/n) Σ s_i log(1 + exp(−y_i x_iᵀw)) + (μ/2)‖w‖²,
        f(w) = mean validation logistic loss.

    Args:
      data: a :class:`CleaningData`. mu: positive scalar.

    Returns:
      ``(inner, outer)``.

    Raises:
      TypeError: ``data`` is not a CleaningData. ValueError: non-positive ``mu``.
    """
    if not isinstance(data, CleaningData):
        raise TypeError(
            f"data must be a CleaningData (from data_cleaning_problem), got {type(data).__name__}"
        )
    _pos_scalar("mu", mu)
    Xt, yt, Xv, yv = data.X_train, data.y_train, data.X_val, data.y_val

    def inner(w, theta):
        s = jax.nn.sigmoid(theta)
        return jnp.mean(s * jax.nn.softplus(-yt * (Xt @ w))) + 0.5 * mu * jnp.dot(w, w)

    def outer(w, theta):
        return jnp.mean(jax.nn.softplus(-yv * (Xv @ w)))

    return inner, outer


def auc(scores: Float[ArrayLike, " n"], labels: Shaped[ArrayLike, " n"]) -> float:
    """Area under the ROC curve of ``scores`` for the positive ``labels`` (ties count ½).

    Args:
      scores: finite 1-D (concrete). labels: booleans or 0/1 values, same shape.

    Returns:
      The AUC, a Python float.

    Raises:
      ValueError: shapes, NaN scores, labels other than 0/1, a single class.
      TypeError: non-numeric or traced input.
    """
    if not is_concrete((scores, labels)):
        raise TypeError("scores and labels must be concrete: auc runs on the host")
    s = np.asarray(_array("scores", scores, ndim=1), dtype=float)
    lab_f = np.asarray(as_float_array("labels", labels, ndim=1))
    if lab_f.shape != s.shape:
        raise ValueError(f"labels must have the shape of scores {s.shape}, got {lab_f.shape}")
    if not np.all((lab_f == 0) | (lab_f == 1)):
        raise ValueError("labels must be booleans or 0/1 values")
    lab = lab_f.astype(bool)
    pos, neg = s[lab], s[~lab]
    if pos.size == 0 or neg.size == 0:
        raise ValueError("labels must contain at least one positive and one negative example")
    diff = pos[:, None] - neg[None, :]
    return float(np.mean((diff > 0) + 0.5 * (diff == 0)))
