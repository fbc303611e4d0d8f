"""Gradient clipping and step-size schedules as optax-compatible pieces (chapter 3)."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import optax

from .. import _checks
from .._types import Array, Float
from ..first_order import gd
from ._common import _check_step, _scalar
from .results import ScalarOrSchedule, Schedule

# ----------------------------------------------------------------------------
# clipping and schedules (optax-compatible)
# ----------------------------------------------------------------------------


def clip_by_norm(g: Any, clip_norm: float | Float[Array, ""]) -> Any:
    """``clip_c(g) = min(1, c/‖g‖) g`` for a pytree ``g`` (global Euclidean norm).

    Leaves ``g`` unchanged when ``‖g‖ ≤ c``; otherwise rescales it to norm ``c``.

    Args:
      g: a gradient, an array or pytree (finite).
      clip_norm: the threshold ``c > 0``.

    Returns:
      ``clip_c(g)``, with the structure of ``g``.

    Raises:
      TypeError: non-numeric input.
      ValueError: NaN/inf in ``g``, ``clip_norm`` not positive and finite.
    """
    _checks.require_finite("g", g)
    _checks.require_positive("clip_norm", clip_norm)
    norm = optax.tree_utils.tree_norm(g)
    below = norm <= clip_norm
    scale = clip_norm / jnp.where(below, 1.0, norm)
    return jax.tree_util.tree_map(lambda t: jnp.where(below, t, (scale * t).astype(t.dtype)), g)


def clip(clip_norm: float) -> optax.GradientTransformationExtraArgs:
    """Stateless transformation ``g ↦ clip_c(g)``; equals ``optax.clip_by_global_norm(c)``.

    Args:
      clip_norm: the threshold ``c > 0``.

    Returns:
      An ``optax.GradientTransformationExtraArgs`` applying :func:`clip_by_norm`.

    Raises:
      TypeError: ``clip_norm`` not a number.
      ValueError: ``clip_norm`` not positive and finite.
    """
    _scalar("clip_norm", clip_norm)
    _checks.require_positive("clip_norm", clip_norm)

    def init(params):
        del params
        return optax.EmptyState()

    def update(updates, state, params=None, **extra):
        del params, extra
        return clip_by_norm(updates, clip_norm), state

    return optax.GradientTransformationExtraArgs(init, update)


def clipped_sgd(learning_rate: ScalarOrSchedule, clip_norm: float) -> optax.GradientTransformationExtraArgs:
    """Clipped (S)GD ``x_{k+1} = x_k − η_k clip_c(g_k)`` (Koloskova, Hendrikx & Stich, 2023).

    Equal to ``optax.chain(optax.clip_by_global_norm(c), optax.sgd(η))``.

    Args:
      learning_rate: the step ``η > 0`` or a schedule ``k ↦ η_k``.
      clip_norm: the threshold ``c > 0``.

    Returns:
      An ``optax.GradientTransformationExtraArgs`` (clipping, then gradient descent).

    Raises:
      TypeError: a non-numeric ``learning_rate`` (that is not a schedule) or ``clip_norm``.
      ValueError: ``learning_rate`` or ``clip_norm`` not positive.
    """
    _check_step("learning_rate", learning_rate)
    _scalar("clip_norm", clip_norm)
    _checks.require_positive("clip_norm", clip_norm)
    return optax.chain(clip(clip_norm), gd(learning_rate))


def linear_decay(peak: float, *, num_steps: int) -> Schedule:
    """``η_k = peak · (1 − k/T)`` for ``k < T``, then ``0``; equals ``optax.linear_schedule(peak, 0, T)``.

    The worst-case optimal schedule for the last iterate (Defazio et al., 2023).

    Args:
      peak: the first step ``η_0 = peak > 0``.
      num_steps: the horizon ``T``, ``>= 1`` (keyword-only).

    Returns:
      The schedule ``k ↦ η_k``.

    Raises:
      TypeError: ``peak`` not a number, ``num_steps`` not an integer.
      ValueError: ``peak <= 0``, ``num_steps < 1``.
    """
    _scalar("peak", peak)
    _checks.require_positive("peak", peak)
    _checks.require_int("num_steps", num_steps, minimum=1)

    def schedule(count):
        frac = jnp.clip(jnp.asarray(count) / num_steps, 0.0, 1.0)
        return peak * (1.0 - frac)

    return schedule


def inverse_time(init: float, decay_steps: float) -> Schedule:
    """``η_k = η_0 / (1 + k/k_0)``: the ``O(1/k)`` schedule for strongly convex SGD.

    Args:
      init: ``η_0 > 0``.
      decay_steps: ``k_0 > 0``.

    Returns:
      The schedule ``k ↦ η_k``.

    Raises:
      TypeError: a non-numeric argument.
      ValueError: ``init`` or ``decay_steps`` not positive.
    """
    _scalar("init", init)
    _checks.require_positive("init", init)
    _scalar("decay_steps", decay_steps)
    _checks.require_positive("decay_steps", decay_steps)

    def schedule(count):
        return init / (1.0 + jnp.asarray(count) / decay_steps)

    return schedule


def refined_weights(grad_norms: Float[Array, " T"], *, smoothing: int = 1) -> Float[Array, " T"]:
    """Schedule shape refined from observed gradient norms (Defazio et al., 2023).

    ``w_t = ‖g_t‖⁻² Σ_{p>t} ‖g_p‖²``, normalised to ``max_t w_t = 1``.  With
    constant norms this is exactly the linear decay ``∝ T − 1 − t``; norms that
    fall early give a warm-up.  ``smoothing > 1`` first replaces the norms by a
    centred moving average over that many steps (edges padded by repetition).

    Args:
      grad_norms: the observed ``‖g_t‖ > 0``, ``t = 0, …, T−1``, ``T >= 2``.
      smoothing: width of the moving average, ``>= 1`` (keyword-only).

    Returns:
      The weights ``w``, shape ``(T,)``, maximum 1 (the last is 0).

    Raises:
      TypeError: non-numeric ``grad_norms``, non-integer ``smoothing``.
      ValueError: ``grad_norms`` not 1-D, shorter than 2, non-positive or non-finite,
        ``smoothing < 1``.
    """
    g = _checks.as_float_array("grad_norms", grad_norms, ndim=1)
    _checks.require_int("smoothing", smoothing, minimum=1)
    if g.shape[0] < 2:
        raise ValueError(f"grad_norms needs at least 2 entries, got {g.shape[0]}")
    _checks.require_positive("grad_norms", g)
    if smoothing > 1:
        left = (smoothing - 1) // 2
        padded = jnp.concatenate([jnp.full(left, g[0]), g, jnp.full(smoothing - 1 - left, g[-1])])
        g = jnp.convolve(padded, jnp.ones(smoothing) / smoothing, mode="valid")
    sq = g**2
    tail = jnp.cumsum(sq[::-1])[::-1] - sq  # Σ_{p>t} ‖g_p‖²
    w = tail / sq
    return w / jnp.max(w)


def refined_schedule(grad_norms: Float[Array, " T"], peak: float, *, smoothing: int = 1) -> Schedule:
    """``k ↦ peak · w_k`` with ``w`` from :func:`refined_weights` (``0`` after the horizon).

    Args:
      grad_norms: the observed ``‖g_t‖``, as in :func:`refined_weights`.
      peak: the largest step, ``> 0``.
      smoothing: width of the moving average, ``>= 1`` (keyword-only).

    Returns:
      The schedule ``k ↦ η_k``.

    Raises:
      TypeError, ValueError: ``peak`` not a positive number, and those of :func:`refined_weights`.
    """
    _scalar("peak", peak)
    _checks.require_positive("peak", peak)
    w = refined_weights(grad_norms, smoothing=smoothing)
    T = w.shape[0]

    def schedule(count):
        count = jnp.asarray(count)
        return jnp.where(count < T, peak * w[jnp.clip(count, 0, T - 1)], 0.0)

    return schedule
