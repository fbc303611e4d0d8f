r"""Self-labelling with an equipartition constraint (chapter 6; Asano, Rupprecht, Vedaldi 2020,
"Self-labelling via simultaneous clustering and representation learning").
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from .._checks import (
    as_float_array,
)
from .._types import Array, Float
from .entropic import sinkhorn
from .geometry import Geometry, _require_nonempty

__all__ = [
    "equipartition_labels",
]


def equipartition_labels(
    logits: Float[Array, "N K"],
    eps: float | Float[Array, ""] = 0.05,
    *,
    tol: float = 1e-6,
    num_steps: int = 1000,
) -> Float[Array, "N K"]:
    r"""Pseudo-labels with equal class sizes by Sinkhorn (Asano, Rupprecht & Vedaldi 2020).

    Given a model's logits for ``N`` examples and ``K`` classes, with probabilities
    ``p_iy = softmax(logits_i)_y``, solves

        max_{Q ∈ U(1/N, 1/K)} ⟨Q, log p⟩ + ε H(Q),

    the entropic OT problem with cost ``C_iy = −log p_iy``, uniform marginals
    ``a = 1/N`` (each example labelled once) and ``b = 1/K`` (each class receives
    ``N/K`` examples), by :func:`sinkhorn`.  The solution is
    ``Q_iy ∝ α_i β_y p_iy^{1/ε}``.  Adding a constant to a row of the logits does not
    change the labels (the row scaling absorbs it).  Without the column constraint
    the maximiser is the argmax labelling, which a model trained on its own labels
    can drive to a single class; the constraint rules that out.

    Args:
      logits: the ``(N, K)`` logits, finite (one example per row).
      eps: entropic regularisation ``ε > 0`` (the paper's ``1/λ``).
      tol: Sinkhorn's stopping tolerance on the L1 marginal error (> 0).
      num_steps: cap on the Sinkhorn iterations (≥ 1).

    Returns:
      The ``(N, K)`` soft labels ``N·Q``: each row a probability vector, each
      column summing to ``N/K`` (up to ``tol``); hard labels are its row argmax.

    Raises:
      TypeError: non-numeric ``logits`` or ``eps``.
      ValueError: wrong shape, empty or non-finite ``logits``, non-positive ``eps``,
        invalid ``tol`` or ``num_steps``.
    """
    logits = as_float_array("logits", logits, ndim=2)
    _require_nonempty("logits", logits)
    n, k = logits.shape
    dt = jnp.result_type(logits, float)
    a = jnp.full((n,), 1.0 / n, dt)
    b = jnp.full((k,), 1.0 / k, dt)
    cost = Geometry(-jax.nn.log_softmax(logits, axis=1))
    out = sinkhorn(cost, a, b, eps, tol=tol, num_steps=num_steps)
    return out.plan() * n
