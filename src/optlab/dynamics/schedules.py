"""Learning-rate schedules for the training-dynamics chapter: warmup–stable–decay (WSD), an
optax schedule.

Notation (chapter 20).  Over ``T`` steps, a linear warm-up of ``T_w`` steps to the peak
``η_max``, a stable phase at ``η_max``, and a decay of ``T_d`` steps to
``η_end`` (Hu et al. 2024, "MiniCPM"; Wen et al. 2024, "Understanding warmup-stable-decay
learning rates: a river valley loss landscape perspective").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax.numpy as jnp

from .. import _checks
from ._common import check_scalar

__all__ = ["warmup_stable_decay"]


def warmup_stable_decay(
    peak_value: float,
    *,
    num_steps: int,
    warmup_steps: int = 0,
    decay_steps: int,
    end_value: float = 0.0,
    decay: str = "linear",
) -> Callable[[Any], Any]:
    """The warmup–stable–decay schedule ``k ↦ η_k`` over ``T = num_steps`` steps:

    ``η_k = η_max (k+1)/T_w`` for ``k < T_w`` (warm-up), ``η_max`` for ``T_w ≤ k < T − T_d``
    (stable phase), then the decay from ``η_max`` at ``k = T − T_d`` to ``η_end`` at ``k = T``:
    linear, ``η_end + (η_max − η_end)(1 − s)``, or cosine,
    ``η_end + (η_max − η_end)(1 + cos πs)/2``, with ``s = (k − T + T_d)/T_d``; ``η_end`` after
    ``T``.  Usable wherever optax takes a schedule (``optax.sgd(schedule)``).

    Args:
      peak_value: ``η_max > 0``.
      num_steps: ``T ≥ 1`` (keyword-only).
      warmup_steps: ``T_w ≥ 0``.
      decay_steps: ``T_d ≥ 1``, with ``T_w + T_d ≤ T``.
      end_value: ``η_end`` in ``[0, η_max]``.
      decay: ``"linear"`` or ``"cosine"``.

    Returns:
      The schedule, a function of the step count (traceable).

    Raises:
      TypeError: a non-numeric ``peak_value``/``end_value``, non-integer step counts, a
        ``decay`` that is not a string.
      ValueError: ``peak_value <= 0``, ``end_value`` outside ``[0, η_max]``, ``num_steps < 1``,
        ``warmup_steps < 0``, ``decay_steps < 1``, ``T_w + T_d > T``, an unknown ``decay``.
    """
    check_scalar("peak_value", peak_value)
    check_scalar("end_value", end_value, positive=False)
    _checks.require_int("num_steps", num_steps, minimum=1)
    _checks.require_int("warmup_steps", warmup_steps, minimum=0)
    _checks.require_int("decay_steps", decay_steps, minimum=1)
    if not isinstance(decay, str):
        raise TypeError(f"decay must be 'linear' or 'cosine', got {type(decay).__name__}")
    if decay not in ("linear", "cosine"):
        raise ValueError(f"decay must be 'linear' or 'cosine', got {decay!r}")
    if float(end_value) > float(peak_value):
        raise ValueError(f"end_value must be at most peak_value={peak_value}, got {end_value}")
    if warmup_steps + decay_steps > num_steps:
        raise ValueError(
            f"warmup_steps + decay_steps must be at most num_steps={num_steps}, "
            f"got {warmup_steps} + {decay_steps}"
        )
    peak, end = float(peak_value), float(end_value)
    start_decay = num_steps - decay_steps

    def schedule(count):
        # region: wsd-schedule
        k = jnp.asarray(count).astype(jnp.result_type(float))
        warm = peak * jnp.minimum((k + 1.0) / max(warmup_steps, 1), 1.0)
        s = jnp.clip((k - start_decay) / decay_steps, 0.0, 1.0)
        shape = 1.0 - s if decay == "linear" else 0.5 * (1.0 + jnp.cos(jnp.pi * s))
        return jnp.where(k < start_decay, warm, end + (peak - end) * shape)
        # endregion: wsd-schedule

    return schedule
