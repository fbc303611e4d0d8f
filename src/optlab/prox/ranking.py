r"""Bradley–Terry rankings from pairwise comparisons by fixed-point iteration (chapter 18).

``w_ij`` counts the wins of ``i`` over ``j``; the model ``P(i beats j) = π_i/(π_i + π_j)``
has log-likelihood ``ℓ(π) = Σ_ij w_ij log(π_i/(π_i + π_j))``.  Its maximiser is a fixed point of

* Zermelo's iteration (1929; an MM algorithm, Hunter 2004):
  ``π_i ← Σ_j w_ij / Σ_j (w_ij + w_ji)/(π_i + π_j)``;
* Newman's iteration (2023, "Efficient computation of rankings from pairwise comparisons"):
  ``π_i ← [Σ_j w_ij π_j/(π_i + π_j)] / [Σ_j w_ji/(π_i + π_j)]``,

which has the same fixed points and, in Newman's experiments, needs far fewer iterations.
Scores are normalised to geometric mean one after each step (``π`` is defined up to scale).
A finite maximiser exists when the directed graph of wins is strongly connected (Zermelo).
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .._checks import require_int
from .._types import Array, ArrayLike, Bool, Float, Int
from ._common import _array, _choice, _scalar

__all__ = ["RankingOutput", "bradley_terry", "bradley_terry_loglik"]

METHODS = ("zermelo", "newman")


class RankingOutput(NamedTuple):
    """Result of :func:`bradley_terry`.

    Attributes:
      params: the scores ``π`` (positive, geometric mean one).
      errors: ``errors[k] = max_i |log π_i^{(k+1)} − log π_i^{(k)}|`` for the steps taken
        (zero beyond ``n_iters``).
      iterates: ``None`` (the history is not recorded).
      converged: ``errors[n_iters − 1] ≤ tol`` (a boolean array).
      n_iters: the steps taken.
    """

    params: Float[Array, " n"]
    errors: Float[Array, " num_steps"]
    iterates: None
    converged: Bool[Array, ""]
    n_iters: Int[Array, ""]


def _wins(wins: Any) -> jax.Array:
    w = _array("wins", wins, ndim=2)
    if w.shape[0] != w.shape[1] or w.shape[0] < 2:
        raise ValueError(f"wins must be a square matrix of at least 2 players, got shape {tuple(w.shape)}")
    if not isinstance(wins, jax.core.Tracer):
        wn = np.asarray(jax.device_get(wins), dtype=float)
        if np.any(wn < 0):
            raise ValueError("wins must be non-negative counts")
        off = wn * (1 - np.eye(wn.shape[0]))
        if np.any(off.sum(1) == 0) or np.any(off.sum(0) == 0):
            raise ValueError(
                "wins: every player needs at least one win and one loss (else the maximum-likelihood "
                "scores are 0 or infinite)"
            )
    return w * (1 - jnp.eye(w.shape[0], dtype=w.dtype))


def bradley_terry(
    wins: Float[ArrayLike, "n n"], *, method: str = "newman", num_steps: int = 10_000, tol: float = 1e-6
) -> RankingOutput:
    """Maximum-likelihood Bradley–Terry scores by Zermelo's or Newman's iteration, stopped
    when ``max_i |Δ log π_i| ≤ tol`` or after ``num_steps`` steps (one ``lax.while_loop``,
    compiled once per shape and ``num_steps``).

    Args:
      wins: ``(n, n)`` non-negative win counts, ``wins[i, j]`` = wins of ``i`` over ``j``
        (the diagonal is ignored).
      method: ``"zermelo"`` or ``"newman"``.
      num_steps: the cap on steps (``≥ 1``).
      tol: the stopping tolerance on the change in log-scores (``≥ 0``).

    Returns:
      A :class:`RankingOutput`.

    Raises:
      TypeError: non-numeric ``wins``, ``num_steps`` not an int.
      ValueError: ``wins`` not square, negative, or with a player who never wins or never
        loses; an unknown ``method``; ``num_steps < 1``; ``tol < 0``.
    """
    w = _wins(wins)
    _choice("method", method, METHODS)
    require_int("num_steps", num_steps, minimum=1)
    tol = _scalar("tol", tol, positive=False)
    return _bt(w, jnp.asarray(tol, w.dtype), num_steps, method)


def _normalise(p):
    return p / jnp.exp(jnp.mean(jnp.log(p)))


@functools.partial(jax.jit, static_argnames=("num_steps", "method"))
def _bt(w, tol, num_steps, method):
    n = w.shape[0]
    wins_i = jnp.sum(w, axis=1)
    games = w + w.T

    # region: bradley-terry-step
    def step(p):
        s = p[:, None] + p[None, :]
        if method == "zermelo":
            q = wins_i / jnp.sum(games / s, axis=1)
        else:
            q = jnp.sum(w * p[None, :] / s, axis=1) / jnp.sum(w.T / s, axis=1)
        return _normalise(q)

    # endregion: bradley-terry-step

    def cond(c):
        k, _, err, _ = c
        return (k < num_steps) & (err > tol)

    def body(c):
        k, p, _, errs = c
        q = step(p)
        err = jnp.max(jnp.abs(jnp.log(q) - jnp.log(p)))
        return k + 1, q, err, errs.at[k].set(err)

    p0 = jnp.ones((n,), w.dtype)
    errs0 = jnp.zeros((num_steps,), w.dtype)
    k, p, err, errs = jax.lax.while_loop(cond, body, (0, p0, jnp.asarray(jnp.inf, w.dtype), errs0))
    return RankingOutput(p, errs, None, err <= tol, k)


def bradley_terry_loglik(wins: Float[ArrayLike, "n n"], scores: Float[ArrayLike, " n"]) -> Float[Array, ""]:
    """The Bradley–Terry log-likelihood ``ℓ(π) = Σ_ij w_ij log(π_i/(π_i + π_j))``.

    Args:
      wins: ``(n, n)`` win counts (diagonal ignored).
      scores: ``(n,)`` positive scores ``π``.

    Returns:
      ``ℓ(π)``, a scalar.

    Raises:
      TypeError: a non-numeric argument.
      ValueError: bad ``wins`` (see :func:`bradley_terry`), ``scores`` of the wrong shape or
        not positive.
    """
    w = _wins(wins)
    p = _array("scores", scores, ndim=1)
    if p.shape[0] != w.shape[0]:
        raise ValueError(f"scores must have one entry per player ({w.shape[0]}), got shape {tuple(p.shape)}")
    if not isinstance(scores, jax.core.Tracer) and not np.all(np.asarray(jax.device_get(scores), float) > 0):
        raise ValueError("scores must be positive")
    p = p.astype(w.dtype)
    return jnp.sum(w * (jnp.log(p)[:, None] - jnp.log(p[:, None] + p[None, :])))
