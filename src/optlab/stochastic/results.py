"""The record of a stochastic run and the vocabulary of schedules and sampling schemes (chapter
3)."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp

from .._types import Array, Float, Int

Schedule = Callable[[jax.Array], jax.Array]
ScalarOrSchedule = float | jax.Array | Schedule

SAMPLING_SCHEMES = ("replacement", "reshuffle", "single_shuffle", "cyclic")


class StochasticTrace(NamedTuple):
    """A stochastic run, recorded every ``record_every`` steps (``R + 1`` rows, ``x_0`` first).

    Attributes:
      params: the final point ``x_N``, shape ``(d,)``.
      iterates: recorded iterates, shape ``(R + 1, d)`` (the last row is ``params``).
      values: exact objective values ``f(x)`` at those iterates, ``(R + 1,)``.
      grad_norms: exact gradient norms ``‖∇f(x)‖``, ``(R + 1,)``.
      grad_evals: cumulative number of component gradients ``∇f_i`` evaluated
        to reach each recorded iterate, ``(R + 1,)`` (``0`` at ``x_0``; a full
        gradient counts ``n``).  Divide by ``n`` for passes over the data.
      estimate_norms: ``‖v‖`` of the gradient estimate used in the last step of
        each recorded block, ``(R,)``.
    """

    params: Float[Array, " d"]
    iterates: Float[Array, "R+1 d"]
    values: Float[Array, " R+1"]
    grad_norms: Float[Array, " R+1"]
    grad_evals: Int[Array, " R+1"]
    estimate_norms: Float[Array, " R"]

    def suboptimality(self, f_star: float) -> Float[Array, " R+1"]:
        """``f(x) − f*`` along the run."""
        return self.values - f_star

    def distances(self, x_star: Float[Array, " d"]) -> Float[Array, " R+1"]:
        """``‖x − x*‖`` along the run."""
        return jnp.linalg.norm(self.iterates - x_star, axis=-1)
