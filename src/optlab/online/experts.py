"""Experts: Hedge and optimistic Hedge, entropic mirror descent on the simplex (chapter 10)."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from .._checks import (
    as_float_array,
    require_int,
    require_positive,
    require_probability_vector,
)
from .._types import Array, ArrayLike, Float
from ._common import _check_losses, _check_scalar
from .results import ExpertsResult

# ---------------------------------------------------------------------------
# experts: Hedge and optimistic Hedge (entropic OMD on the simplex)
# ---------------------------------------------------------------------------


def _experts_regret(learner_losses, losses):
    return jnp.cumsum(learner_losses) - jnp.min(jnp.cumsum(losses, axis=0), axis=1)


def hedge(
    losses: Float[Array, "T n"],
    *,
    learning_rate: float | Float[Array, ""],
    prior: Float[Array, " n"] | None = None,
) -> ExpertsResult:
    """Hedge / exponential weights: entropic OMD on the simplex (Freund & Schapire 1997).

    ``p_t ∝ π ⊙ exp(−η L_{t−1})`` with ``L_{t−1} = Σ_{s<t} ℓ_s`` (a softmax of the
    cumulative losses), which is both FTRL with the negative entropy and the
    mirror step ``p_{t+1} ∝ p_t ⊙ e^{−η ℓ_t}``.  For losses in ``[0, 1]``,
    ``R_T ≤ log(n)/η + ηT/8`` (:func:`hedge_regret_bound`).

    Args:
      losses: ``(T, n)`` loss matrix (finite).
      learning_rate: learning rate ``η > 0`` (traced: ``vmap`` over it).
      prior: initial distribution ``π`` (default uniform).

    Returns:
      An :class:`ExpertsResult`.

    Raises:
      TypeError: non-numeric input.
      ValueError: ``losses`` not a finite ``(T, n)`` matrix, ``learning_rate`` not a positive
        scalar, ``prior`` not a probability vector of length ``n``.
    """
    return optimistic_hedge(losses, learning_rate=learning_rate, hints=None, prior=prior)


def optimistic_hedge(
    losses: Float[Array, "T n"],
    *,
    learning_rate: float | Float[Array, ""],
    hints: str | Float[Array, "T n"] | None = "last",
    prior: Float[Array, " n"] | None = None,
) -> ExpertsResult:
    """Optimistic Hedge: ``p_t ∝ π ⊙ exp(−η (L_{t−1} + m_t))`` with a hint ``m_t``.

    ``hints="last"`` uses ``m_t = ℓ_{t−1}``; an array ``(T, n)`` gives the hints
    explicitly; ``None`` is plain :func:`hedge`.  With losses in ``[0, 1]``,
    ``R_T ≤ log(n)/η + η Σ_t ‖ℓ_t − m_t‖²_∞``-type bounds hold (Rakhlin & Sridharan 2013).

    Args:
      losses: ``(T, n)`` loss matrix (finite).
      learning_rate: ``η > 0`` (traced: ``vmap`` over it).
      hints: ``"last"``, ``None`` or a ``(T, n)`` array of hints ``m_t``.
      prior: initial distribution ``π`` (default uniform).

    Returns:
      An :class:`ExpertsResult`.

    Raises:
      TypeError: non-numeric input.
      ValueError: ``losses`` not a finite ``(T, n)`` matrix, ``learning_rate`` not a positive
        scalar, ``prior`` not a probability vector of length ``n``, ``hints`` a string other
        than ``"last"`` or an array not of shape ``(T, n)``.
    """
    losses = _check_losses("losses", losses)
    _check_scalar("learning_rate", learning_rate)
    require_positive("learning_rate", learning_rate)
    T, n = jnp.shape(losses)
    if prior is None:
        log_prior = jnp.full((n,), -math.log(n), dtype=losses.dtype)
    else:
        prior = as_float_array("prior", prior, ndim=1)
        require_probability_vector("prior", prior)
        if jnp.shape(prior) != (n,):
            raise ValueError(f"prior must have shape ({n},), got {tuple(jnp.shape(prior))}")
        log_prior = jnp.log(prior)
    if hints is None:
        m = jnp.zeros_like(losses)
    elif isinstance(hints, str):
        if hints != "last":
            raise ValueError(f"hints must be 'last', None or a (T, n) array, got {hints!r}")
        m = jnp.concatenate([jnp.zeros((1, n), losses.dtype), losses[:-1]], axis=0)
    else:
        m = as_float_array("hints", hints)
        if jnp.shape(m) != (T, n):
            raise ValueError(f"hints must have shape ({T}, {n}), got {tuple(jnp.shape(m))}")
    return _hedge(
        losses,
        jnp.asarray(learning_rate, losses.dtype),
        log_prior.astype(losses.dtype),
        m.astype(losses.dtype),
    )


@jax.jit
def _hedge(losses, learning_rate, log_prior, m):
    cum_prev = jnp.cumsum(losses, axis=0) - losses  # L_{t-1}
    weights = jax.nn.softmax(log_prior - learning_rate * (cum_prev + m), axis=1)
    lt = jnp.sum(weights * losses, axis=1)
    return ExpertsResult(weights, lt, _experts_regret(lt, losses))


def hedge_regret_bound(
    num_experts: int, num_rounds: float | Float[Array, ""], *, learning_rate: Float[ArrayLike, "*shape"]
) -> Float[ArrayLike, "*shape"]:
    """``log(n)/η + ηT/8``: Hedge's regret bound for losses in ``[0, 1]`` (Hoeffding's lemma).

    Minimised by ``η = √(8 log(n)/T)``, where it equals ``√(T log(n)/2)``.

    Args:
      num_experts: ``n >= 1``.
      num_rounds: ``T > 0`` (a scalar).
      learning_rate: ``η > 0`` (keyword-only; an array gives the bound for each ``η``).

    Returns:
      The bound, a float or an array like ``learning_rate``.

    Raises:
      TypeError: ``num_experts`` not an integer, a non-numeric ``num_rounds``.
      ValueError: ``num_experts < 1``, ``num_rounds`` or ``learning_rate`` not positive.
    """
    require_int("num_experts", num_experts, minimum=1)
    _check_scalar("num_rounds", num_rounds)
    require_positive("num_rounds", num_rounds)
    require_positive("learning_rate", learning_rate)
    return math.log(num_experts) / learning_rate + learning_rate * num_rounds / 8.0
