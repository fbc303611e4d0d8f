r"""Coordinate descent for the lasso ``F(x) = ‖Ax − b‖²/(2N) + λ‖x‖₁`` (chapter 18).

The smooth part has coordinate-wise Lipschitz constants ``L_j = ‖A_{:j}‖²/N`` (the diagonal of
the Hessian ``AᵀA/N``), each at most ``L = ‖A‖₂²/N`` and often much smaller.  A coordinate step
minimises ``F`` exactly along ``e_j``:

``x_j ← S_{λ/L_j}(x_j + A_{:j}ᵀ(b − Ax)/(N L_j))``,

with ``S`` the soft threshold; keeping the residual ``r = b − Ax`` up to date makes a step cost
``O(N)``, so an epoch of ``d`` steps costs about one gradient.  Rules: cyclic (Gauss–Seidel),
uniformly random, or random with ``P(j) ∝ L_j`` (Nesterov 2012).  With uniform sampling and
``λ = 0``, ``E f(x_k) − f* ≤ 2d R²_{[1]}/(k + 4)``, ``R²_{[1]} = Σ_j L_j (x_{0,j} − x*_j)²``
(Nesterov 2012, Thm 1 with ``α = 0``; the composite case: Richtárik & Takáč 2014).
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from .._checks import is_concrete, require_int, require_key
from .._types import Array, ArrayLike, Float
from ._common import _HIGHEST, _array, _choice, _design, _scalar, _start
from .proximal_gradient_methods import _objective

__all__ = ["CDOutput", "lasso_coordinate_descent", "coordinate_lipschitz"]

RULES = ("cyclic", "random", "lipschitz")


class CDOutput(NamedTuple):
    """Result of :func:`lasso_coordinate_descent`.

    Attributes:
      params: the final coefficients ``x``.
      values: ``values[k] = F(x)`` after ``k`` epochs, ``k = 0 … K``.
      iterates: ``(K+1, d)``, the coefficients after each epoch.
    """

    params: Float[Array, " d"]
    values: Float[Array, " K+1"]
    iterates: Float[Array, "K+1 d"]


def coordinate_lipschitz(A: Float[ArrayLike, "N d"]) -> Float[Array, " d"]:
    """The coordinate-wise Lipschitz constants ``L_j = ‖A_{:j}‖²/N`` of ``‖Ax − b‖²/(2N)``.

    Args:
      A: the design, ``N × d``.

    Returns:
      ``(d,)`` array of ``L_j``.

    Raises:
      TypeError: non-numeric ``A``.
      ValueError: ``A`` not a finite matrix.
    """
    A = _array("A", A, ndim=2)
    return jnp.sum(A * A, axis=0) / A.shape[0]


def lasso_coordinate_descent(
    A: Float[ArrayLike, "N d"],
    b: Float[ArrayLike, " N"],
    *,
    reg: float,
    num_steps: int,
    rule: str = "cyclic",
    key: Any = None,
    x0: Float[ArrayLike, " d"] | None = None,
) -> CDOutput:
    """The lasso by exact coordinate minimisation: ``num_steps`` epochs of ``d`` coordinate
    steps each (a step of this loop is an epoch, about the cost of one gradient).

    Args:
      A: the design, ``N × d``.
      b: the targets, ``(N,)``.
      reg: ``λ ≥ 0``.
      num_steps: the number of epochs ``K ≥ 1``.
      rule: ``"cyclic"`` (coordinates ``0 … d−1`` in turn), ``"random"`` (uniform draws) or
        ``"lipschitz"`` (draws with ``P(j) ∝ L_j``).
      key: a PRNG key, required by the random rules.
      x0: the start (default zeros).

    Returns:
      A :class:`CDOutput`.

    Raises:
      TypeError: a non-numeric argument, ``num_steps`` not an int, ``key`` not a key.
      ValueError: mismatched shapes, NaN/inf entries, ``reg < 0``, ``num_steps < 1``, an
        unknown ``rule``, a random rule without ``key``, an all-zero ``A``.
    """
    A, b = _design(A, b)
    reg = _scalar("reg", reg, positive=False)
    require_int("num_steps", num_steps, minimum=1)
    _choice("rule", rule, RULES)
    if rule != "cyclic":
        if key is None:
            raise ValueError(f"key is required by rule={rule!r} (pass jax.random.key(0))")
        require_key("key", key)
    else:
        key = jax.random.key(0)  # unused by the cyclic rule
    x0 = _start("x0", x0, A.shape[1], A.dtype)
    if is_concrete(A) and not bool(jnp.any(A != 0)):
        raise ValueError("A must have a non-zero column (every coordinate step is void otherwise)")
    return _cd(A, b, jnp.asarray(reg, A.dtype), x0, key, num_steps, rule)


@functools.partial(jax.jit, static_argnames=("num_steps", "rule"))
def _cd(A, b, reg, x0, key, num_steps, rule):
    n, d = A.shape
    Lj = jnp.sum(A * A, axis=0) / n
    live = Lj > 0  # the safeguard: a zero column has L_j = 0 and stays at 0
    Ls = jnp.where(live, Lj, 1.0)

    # region: lasso-coordinate-step
    def coord(carry, j):
        x, r = carry
        aj = A[:, j]
        z = x[j] + jnp.dot(aj, r, precision=_HIGHEST) / (n * Ls[j])
        xj = jnp.where(live[j], jnp.sign(z) * jnp.maximum(jnp.abs(z) - reg / Ls[j], 0.0), 0.0)
        r = r - aj * (xj - x[j])
        return (x.at[j].set(xj), r), None

    # endregion: lasso-coordinate-step

    probs = Lj / jnp.sum(Lj) if rule == "lipschitz" else jnp.full((d,), 1.0 / d, A.dtype)

    def epoch(carry, k):
        if rule == "cyclic":
            order = jnp.arange(d)
        else:
            order = jax.random.choice(jax.random.fold_in(key, k), d, (d,), p=probs)
        carry, _ = jax.lax.scan(coord, carry, order)
        return carry, carry[0]

    r0 = b - jnp.matmul(A, x0, precision=_HIGHEST)
    (x, _), xs = jax.lax.scan(epoch, (x0, r0), jnp.arange(num_steps))
    xs = jnp.concatenate([x0[None], xs])
    values = jax.vmap(lambda x: _objective(A, b, x, reg))(xs)
    return CDOutput(x, values, xs)
