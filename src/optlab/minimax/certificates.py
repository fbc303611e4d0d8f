"""The Small-Gain Nash certificate (chapter 9)."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import jax.scipy.linalg
import numpy as np

from .._checks import (
    as_float_array,
    require_finite,
    require_nonnegative,
    require_positive,
)
from .._types import Array, ArrayLike, Float
from ._common import _check_scalar

# ---------------------------------------------------------------------------
# Small-Gain Nash certificate
# ---------------------------------------------------------------------------


class SGNCertificate(NamedTuple):
    """Contraction certificate in the weighted norm ``‖z‖_W = ‖W^{1/2}z‖``.

    ``margin`` μ = λ_min(sym(S)) and ``lipschitz`` L = ‖S‖₂ for
    ``S = W^{1/2} J W^{−1/2}``; ``certified = μ > 0``; ``learning_rate`` = μ/L² and ``rate`` =
    √(1 − μ²/L²): Euler steps ``z⁺ = z − ηF(z)`` with that step contract ``‖z − z*‖_W``
    at least by ``rate`` per step (for an affine ``F`` with Jacobian ``J``).

    Attributes:
      margin: ``μ = λ_min(sym(S))``.
      lipschitz: ``L = ‖S‖₂`` (1 when ``J = 0``).
      certified: ``μ > 0``.
      learning_rate: the certified step ``η = μ/L²`` (NaN when not certified).
      rate: the contraction factor ``√(1 − μ²/L²)`` (NaN when not certified).
    """

    margin: jax.Array
    lipschitz: jax.Array
    certified: jax.Array
    learning_rate: jax.Array
    rate: jax.Array


def sgn_certificate(J: Float[Array, "d d"], weights: Float[Array, " d"]) -> SGNCertificate:
    """Weighted strong monotonicity of a game Jacobian ``J`` (``d × d``) in the
    metric ``W = diag(weights)`` (one positive weight per coordinate; repeat a
    player's weight over its block).

    Args:
      J: the Jacobian of ``F``, ``d × d``.
      weights: the positive diagonal of ``W``, ``(d,)``.

    Returns:
      An :class:`SGNCertificate`.

    Raises:
      TypeError / ValueError: ``J`` not a finite square matrix, ``weights`` not positive ``(d,)``.
    """
    J = as_float_array("J", J, ndim=2)
    if J.shape[0] != J.shape[1] or J.shape[0] < 1:
        raise ValueError(f"J must be a non-empty square matrix, got shape {tuple(J.shape)}")
    w = as_float_array("weights", weights, ndim=1)
    if w.shape[0] != J.shape[0]:
        raise ValueError(f"weights must have shape ({J.shape[0]},), got {tuple(w.shape)}")
    require_positive("weights", w)
    s = jnp.sqrt(w)
    S = s[:, None] * J / s[None, :]
    mu = jnp.linalg.eigvalsh(0.5 * (S + S.T))[0]
    L = jnp.linalg.norm(S, 2)
    L = jnp.where(L > 0, L, jnp.ones_like(L))  # J = 0: margin 0, not certified (no 0/0)
    ok = mu > 0
    learning_rate = jnp.where(ok, mu / L**2, jnp.nan)
    rate = jnp.where(ok, jnp.sqrt(jnp.clip(1 - mu**2 / L**2, 0.0, 1.0)), jnp.nan)
    return SGNCertificate(mu, L, ok, learning_rate, rate)


def sgn_band(mu1, mu2, L12, L21, *, signed: bool = False) -> tuple[float, float]:
    """The block small-gain *weight band*: the ratios ``r = w₂/w₁`` for which the
    2 × 2 gain matrix ``[[μ₁, −(L₁₂ + rL₂₁)/2], [·, rμ₂]]`` is positive definite,
    i.e. ``(L₁₂ + rL₂₁)² < 4rμ₁μ₂``.  Here ``μᵢ`` lower-bounds the curvature
    ``λ_min(sym Jᵢᵢ)`` of player ``i`` and ``L₁₂ = ‖J₁₂‖``, ``L₂₁ = ‖J₂₁‖`` bound the
    couplings.  With ``signed=True`` (scalar players) ``L₁₂``, ``L₂₁`` are the signed
    entries and the condition is the exact ``(J₁₂ + rJ₂₁)² < 4rμ₁μ₂``.

    Args:
      mu1: ``μ₁ > 0``.
      mu2: ``μ₂ > 0``.
      L12: ``L₁₂ >= 0`` (any sign with ``signed=True``).
      L21: ``L₂₁ >= 0`` (any sign with ``signed=True``).
      signed: treat ``L12``, ``L21`` as signed scalar couplings (keyword-only).

    Returns:
      ``(r_lo, r_hi)``, floats (``r_hi`` may be ``inf`` when ``L₂₁ = 0``).

    Raises:
      TypeError / ValueError: non-scalar or non-finite bounds, ``μᵢ ≤ 0``, negative
      couplings (unless ``signed``), an empty band.
    """
    for name, v in (("mu1", mu1), ("mu2", mu2), ("L12", L12), ("L21", L21)):
        _check_scalar(name, v)
        require_finite(name, as_float_array(name, v))
    for name, v in (("mu1", mu1), ("mu2", mu2)):
        require_positive(name, v)
    if not signed:
        require_nonnegative("L12", L12)
        require_nonnegative("L21", L21)
    mu1, mu2, L12, L21 = (float(v) for v in (mu1, mu2, L12, L21))
    # L21² r² + (2 L12 L21 − 4 μ1 μ2) r + L12² < 0
    a, b, c = L21**2, 2 * L12 * L21 - 4 * mu1 * mu2, L12**2
    if a == 0.0:
        if b >= 0:
            raise ValueError("the small-gain band is empty for these bounds")
        return (c / -b, float("inf"))
    disc = b * b - 4 * a * c
    if disc <= 0:
        raise ValueError(
            "the small-gain band is empty for these bounds "
            f"(coupling too strong: discriminant {disc:.3g} ≤ 0)"
        )
    r1, r2 = (-b - np.sqrt(disc)) / (2 * a), (-b + np.sqrt(disc)) / (2 * a)
    if r2 <= 0:
        raise ValueError("the small-gain band is empty for these bounds")
    return (max(r1, 0.0), r2)


def sgn_block_margin(mu1, mu2, L12, L21, r: Float[ArrayLike, "*shape"]):
    """Margin of the block small-gain certificate at weight ratio ``r = w₂/w₁``: the
    smallest eigenvalue of ``D^{-1/2} Γ D^{-1/2}`` for the gain matrix
    ``Γ = [[μ₁, −(L₁₂ + rL₂₁)/2], [·, rμ₂]]`` and ``D = diag(1, r)``, i.e.

        (μ₁ + μ₂)/2 − √(((μ₁ − μ₂)/2)² + (L₁₂ + rL₂₁)²/(4r)).

    It lower-bounds the exact margin ``sgn_certificate(J, w).margin`` of *every* game
    Jacobian whose blocks satisfy ``λ_min(sym Jᵢᵢ) ≥ μᵢ``, ``‖J₁₂‖ ≤ L₁₂``,
    ``‖J₂₁‖ ≤ L₂₁``; it is positive exactly on :func:`sgn_band`.  ``r`` may be an array.

    Args:
      mu1: ``μ₁ > 0``.
      mu2: ``μ₂ > 0``.
      L12: ``L₁₂ >= 0``.
      L21: ``L₂₁ >= 0``.
      r: the weight ratio ``w₂/w₁ > 0``, a scalar or an array.

    Returns:
      The margin, with the shape of ``r``.

    Raises:
      TypeError / ValueError: non-finite or non-scalar bounds, ``μᵢ ≤ 0``, ``L < 0``, ``r ≤ 0``.
    """
    for name, v in (("mu1", mu1), ("mu2", mu2), ("L12", L12), ("L21", L21)):
        _check_scalar(name, v)
    require_positive("mu1", mu1)
    require_positive("mu2", mu2)
    require_nonnegative("L12", L12)
    require_nonnegative("L21", L21)
    r = as_float_array("r", r)
    require_positive("r", r)
    c = (L12 + r * L21) / (2 * jnp.sqrt(r))
    return 0.5 * (mu1 + mu2) - jnp.sqrt(0.25 * (mu1 - mu2) ** 2 + c**2)
