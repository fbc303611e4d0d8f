"""The records of online runs: learners, coin betting, experts and bandits (chapter 10)."""

from __future__ import annotations

from typing import NamedTuple

import jax

from .._types import Array, Float, Int

# ---------------------------------------------------------------------------
# outputs
# ---------------------------------------------------------------------------


class OnlineResult(NamedTuple):
    """Trace of a learner on ``X ⊂ ℝᵈ``.

    Attributes:
      predictions: ``(T, d)``, the points ``x_t`` played.
      losses: ``(T,)``, ``f_t(x_t)``.
      grads: ``(T, d)``, ``g_t = ∇f_t(x_t)``.
      learning_rates: ``(T,)``, the step ``η_t`` used after round ``t``.
      params: ``(d,)`` (property), the last point played, ``x_T = predictions[-1]``.
    """

    predictions: Float[Array, "T d"]
    losses: Float[Array, " T"]
    grads: Float[Array, "T d"]
    learning_rates: Float[Array, " T"]

    @property
    def params(self) -> jax.Array:
        """The last point played, ``x_T`` (``predictions[..., -1, :]``)."""
        return self.predictions[..., -1, :]


class CoinResult(NamedTuple):
    """Trace of :func:`coin_betting` (``OnlineResult`` fields plus the bettor's state).

    Attributes:
      wealth: ``(T, d)``, per-coordinate wealth **after** round ``t``.
      fractions: ``(T, d)``, the betting fraction ``β_t`` used at round ``t``.
      params: ``(d,)`` (property), the last point played, ``x_T = predictions[-1]``.
    """

    predictions: jax.Array
    losses: jax.Array
    grads: jax.Array
    wealth: Float[Array, "T d"]
    fractions: Float[Array, "T d"]

    @property
    def params(self) -> jax.Array:
        """The last point played, ``x_T`` (``predictions[..., -1, :]``)."""
        return self.predictions[..., -1, :]


class ExpertsResult(NamedTuple):
    """Trace of an experts algorithm on a loss matrix ``ℓ ∈ ℝ^{T×n}``.

    Attributes:
      weights: ``(T, n)``, the distribution ``p_t`` played at round ``t``.
      losses: ``(T,)``, ``⟨p_t, ℓ_t⟩``.
      regret: ``(T,)``, ``Σ_{s≤t} ⟨p_s, ℓ_s⟩ − min_i Σ_{s≤t} ℓ_{s,i}`` (best
        expert of each prefix).
      params: ``(n,)`` (property), the last distribution played, ``p_T = weights[-1]``.
    """

    weights: Float[Array, "T n"]
    losses: Float[Array, " T"]
    regret: Float[Array, " T"]

    @property
    def params(self) -> jax.Array:
        """The last distribution played, ``p_T`` (``weights[..., -1, :]``)."""
        return self.weights[..., -1, :]


class BanditResult(NamedTuple):
    """Trace of :func:`exp3`.

    Attributes:
      probs: ``(T, K)``, the sampling distribution ``p_t``.
      arms: ``(T,)``, the arm ``I_t`` pulled.
      losses: ``(T,)``, the observed loss ``ℓ_{t, I_t}``.
      expected_losses: ``(T,)``, ``⟨p_t, ℓ_t⟩``.
      regret: ``(T,)``, realised regret ``Σ_{s≤t} ℓ_{s,I_s} − min_i Σ_{s≤t} ℓ_{s,i}``.
      pseudo_regret: ``(T,)``, the same with ``⟨p_s, ℓ_s⟩`` in place of ``ℓ_{s,I_s}``.
      params: ``(K,)`` (property), the last sampling distribution, ``p_T = probs[-1]``.
    """

    probs: Float[Array, "T K"]
    arms: Int[Array, " T"]
    losses: Float[Array, " T"]
    expected_losses: Float[Array, " T"]
    regret: Float[Array, " T"]
    pseudo_regret: Float[Array, " T"]

    @property
    def params(self) -> jax.Array:
        """The last sampling distribution, ``p_T`` (``probs[..., -1, :]``)."""
        return self.probs[..., -1, :]
