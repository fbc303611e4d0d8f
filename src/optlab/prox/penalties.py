r"""Nonconvex sparsity penalties, SCAD (Fan & Li 2001) and MCP (Zhang 2010), their exact
proxes, and penalised least squares by proximal gradient and by the accelerated gradient
method of Ghadimi & Lan (2016) as set up for these penalties by Yang, Asgharian & Bhatnagar
("Accelerated gradient methods for sparse statistical learning with nonconvex penalties")
(chapter 18).

Notation.  ``λ ≥ 0`` is the ``reg`` argument and ``a`` the concavity parameter (Fan & Li's
``a`` for SCAD, Zhang's ``γ`` for MCP; called ``a`` for both here because ``γ`` is the step).
Both penalties are ``λ|x|`` near 0 and constant beyond ``aλ``, so large coefficients are not
shrunk.  Both are ``λ|x| + q(x)`` with ``q`` concave and smooth, ``q'' ≥ −1/(a−1)`` (SCAD)
or ``−1/a`` (MCP); hence ``½(x − v)² + γ p(x)`` is strongly convex, and the prox
``prox_{γp}`` single-valued and continuous, exactly when ``γ < a − 1`` (SCAD) or ``γ < a``
(MCP).

Accelerated method (``acceleration="nonconvex_ag"``): with ``Ψ = f + Σq`` (``L_Ψ`` -smooth,
``L_Ψ = max(L_f, 1/(a−1))`` or ``max(L_f, 1/a)`` since ``∇²Ψ`` lies between ``−1/(a−1)`` and
``L_f``) and ``h = λ‖·‖₁``::

    x^md_k = (1 − α_k) x^ag_{k−1} + α_k x_{k−1}
    x_k    = prox_{λ_k h}(x_{k−1} − λ_k ∇Ψ(x^md_k))
    x^ag_k = prox_{β h}(x^md_k − β ∇Ψ(x^md_k))

with ``α_1 = 1``, ``1/α_{k+1} = (1 + √(1 + 4/α_k²))/2``, ``β = γ`` and ``λ_k = β/α_k``.
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .._checks import require_int
from .._types import Array, ArrayLike, Float
from ._common import _HIGHEST, _array, _choice, _design, _scalar, _start
from .operators import _soft
from .proximal_gradient_methods import ProxGradOutput, _core, _residual

__all__ = [
    "scad_penalty",
    "mcp_penalty",
    "prox_scad",
    "prox_mcp",
    "nonconvex_regression",
]

PENALTIES = ("scad", "mcp")
ACCELERATIONS = ("none", "nonconvex_ag")
_DEFAULT_A = {"scad": 3.7, "mcp": 3.0}


def _concavity(name: str, a: Any, penalty: str) -> Any:
    """``a > 1`` (SCAD) or ``a > 0`` (MCP), a finite scalar (tracers pass)."""
    checked = _scalar(name, a, positive=True)
    if isinstance(checked, jax.core.Tracer):
        return checked
    value = float(np.asarray(jax.device_get(a), dtype=float))
    if penalty == "scad" and not value > 1.0:
        raise ValueError(f"{name} must be greater than 1 for SCAD, got {a!r}")
    return value


def _reg(reg: Any) -> Any:
    return _scalar("reg", reg, positive=False)


def _prox_condition(scale: Any, a: float, penalty: str) -> None:
    """Refuse a scale at which the prox is not single-valued (concrete values only)."""
    if isinstance(scale, jax.core.Tracer) or isinstance(a, jax.core.Tracer):
        return
    top = a - 1.0 if penalty == "scad" else a
    gam = float(np.asarray(jax.device_get(scale), dtype=float))
    if not gam < top:
        bound = "a − 1" if penalty == "scad" else "a"
        raise ValueError(
            f"scale must be below {bound} = {top:g} for the {penalty.upper()} prox to be "
            f"single-valued, got {gam:g}"
        )


def scad_penalty(x: Float[ArrayLike, "*shape"], *, reg: float, a: float = 3.7) -> Float[Array, "*shape"]:
    """The SCAD penalty of Fan & Li (2001), entrywise: ``λ|x|`` for ``|x| ≤ λ``,
    ``(2aλ|x| − x² − λ²)/(2(a − 1))`` for ``λ < |x| ≤ aλ`` and ``(a + 1)λ²/2`` beyond.

    Args:
      x: the point (any shape, finite).
      reg: ``λ ≥ 0``.
      a: the concavity parameter, ``a > 1`` (Fan & Li suggest 3.7).

    Returns:
      ``p(x)`` entrywise, the shape and dtype of ``x`` (sum it for the penalty of a vector).

    Raises:
      TypeError: non-numeric ``x``, ``reg`` or ``a``.
      ValueError: a NaN/inf in ``x``, ``reg < 0``, ``a ≤ 1``.
    """
    x = _array("x", x)
    reg = _reg(reg)
    a = _concavity("a", a, "scad")
    return _scad(x, reg, a)


def mcp_penalty(x: Float[ArrayLike, "*shape"], *, reg: float, a: float = 3.0) -> Float[Array, "*shape"]:
    """The minimax concave penalty (MCP) of Zhang (2010), entrywise: ``λ|x| − x²/(2a)`` for
    ``|x| ≤ aλ`` and ``aλ²/2`` beyond.

    Args:
      x: the point (any shape, finite).
      reg: ``λ ≥ 0``.
      a: the concavity parameter, ``a > 0`` (Zhang's ``γ``).

    Returns:
      ``p(x)`` entrywise, the shape and dtype of ``x``.

    Raises:
      TypeError: non-numeric ``x``, ``reg`` or ``a``.
      ValueError: a NaN/inf in ``x``, ``reg < 0``, ``a ≤ 0``.
    """
    x = _array("x", x)
    reg = _reg(reg)
    a = _concavity("a", a, "mcp")
    return _mcp(x, reg, a)


@jax.jit
def _scad(x, reg, a):
    reg, a = jnp.asarray(reg, x.dtype), jnp.asarray(a, x.dtype)
    u = jnp.abs(x)
    mid = (2.0 * a * reg * u - u * u - reg * reg) / (2.0 * (a - 1.0))
    return jnp.where(u <= reg, reg * u, jnp.where(u <= a * reg, mid, (a + 1.0) * reg * reg / 2.0))


@jax.jit
def _mcp(x, reg, a):
    reg, a = jnp.asarray(reg, x.dtype), jnp.asarray(a, x.dtype)
    u = jnp.abs(x)
    return jnp.where(u <= a * reg, reg * u - u * u / (2.0 * a), a * reg * reg / 2.0)


def prox_scad(
    v: Float[ArrayLike, "*shape"], scale: float = 1.0, *, reg: float, a: float = 3.7
) -> Float[Array, "*shape"]:
    """The prox of ``γ`` times the SCAD penalty, entrywise and exact, for ``γ < a − 1``:
    ``sign(v) max(|v| − γλ, 0)`` for ``|v| ≤ (1 + γ)λ``,
    ``((a − 1)v − sign(v) aγλ)/(a − 1 − γ)`` for ``(1 + γ)λ < |v| ≤ aλ``, and ``v`` beyond
    (Fan & Li's thresholding rule for ``γ = 1``).

    Args:
      v: the point (any shape, finite).
      scale: the step ``γ``, ``0 ≤ γ < a − 1`` (at ``γ ≥ a − 1`` the prox is set-valued).
      reg: ``λ ≥ 0``.
      a: the concavity parameter, ``a > 1``.

    Returns:
      ``prox_{γp}(v)``, the shape and dtype of ``v``.

    Raises:
      TypeError: non-numeric ``v``, ``scale``, ``reg`` or ``a``.
      ValueError: a NaN/inf in ``v``, a negative or non-scalar ``scale``, ``scale ≥ a − 1``,
        ``reg < 0``, ``a ≤ 1``.
    """
    v = _array("v", v)
    scale = _scalar("scale", scale, positive=False)
    reg = _reg(reg)
    a = _concavity("a", a, "scad")
    _prox_condition(scale, a, "scad")
    return _prox_scad(v, scale, reg, a)


def prox_mcp(
    v: Float[ArrayLike, "*shape"], scale: float = 1.0, *, reg: float, a: float = 3.0
) -> Float[Array, "*shape"]:
    """The prox of ``γ`` times the MCP, entrywise and exact, for ``γ < a`` (firm
    thresholding): ``0`` for ``|v| ≤ γλ``, ``sign(v)(|v| − γλ)·a/(a − γ)`` for
    ``γλ < |v| ≤ aλ``, and ``v`` beyond.

    Args:
      v: the point (any shape, finite).
      scale: the step ``γ``, ``0 ≤ γ < a`` (at ``γ ≥ a`` the prox is set-valued).
      reg: ``λ ≥ 0``.
      a: the concavity parameter, ``a > 0``.

    Returns:
      ``prox_{γp}(v)``, the shape and dtype of ``v``.

    Raises:
      TypeError: non-numeric ``v``, ``scale``, ``reg`` or ``a``.
      ValueError: a NaN/inf in ``v``, a negative or non-scalar ``scale``, ``scale ≥ a``,
        ``reg < 0``, ``a ≤ 0``.
    """
    v = _array("v", v)
    scale = _scalar("scale", scale, positive=False)
    reg = _reg(reg)
    a = _concavity("a", a, "mcp")
    _prox_condition(scale, a, "mcp")
    return _prox_mcp(v, scale, reg, a)


# region: scad-mcp-prox
@jax.jit
def _prox_scad(v, scale, reg, a):
    gam, reg, a = (jnp.asarray(t, v.dtype) for t in (scale, reg, a))
    u, s = jnp.abs(v), jnp.sign(v)
    soft = jnp.maximum(u - gam * reg, 0.0)  # |x| ≤ λ: the ℓ1 piece
    mid = ((a - 1.0) * u - a * gam * reg) / (a - 1.0 - gam)  # λ < |x| ≤ aλ: the concave piece
    return s * jnp.where(u <= (1.0 + gam) * reg, soft, jnp.where(u <= a * reg, mid, u))


@jax.jit
def _prox_mcp(v, scale, reg, a):
    gam, reg, a = (jnp.asarray(t, v.dtype) for t in (scale, reg, a))
    u, s = jnp.abs(v), jnp.sign(v)
    firm = jnp.maximum(u - gam * reg, 0.0) * a / (a - gam)  # |x| ≤ aλ
    return s * jnp.where(u <= a * reg, firm, u)


# endregion: scad-mcp-prox


def _concave_grad(x, reg, a, penalty):
    """``q'(x)`` for ``p = λ|x| + q``: smooth, ``|q''| ≤ 1/(a − 1)`` (SCAD) or ``1/a`` (MCP)."""
    u, s = jnp.abs(x), jnp.sign(x)
    if penalty == "scad":
        return jnp.where(u <= reg, 0.0, jnp.where(u <= a * reg, s * (reg - u) / (a - 1.0), -reg * s))
    return jnp.where(u <= a * reg, -x / a, -reg * s)


def nonconvex_regression(
    A: Float[ArrayLike, "N d"],
    b: Float[ArrayLike, " N"],
    *,
    reg: float,
    num_steps: int,
    penalty: str = "scad",
    a: float | None = None,
    acceleration: str = "nonconvex_ag",
    learning_rate: float | None = None,
    x0: Float[ArrayLike, " d"] | None = None,
    tol: float = 0.0,
    return_iterates: bool = True,
) -> ProxGradOutput:
    """Penalised least squares ``min ‖Ax − b‖²/(2N) + Σ_j p(x_j)`` with ``p`` the SCAD or
    the MCP, to a stationary point: proximal gradient with the exact prox of ``p``
    (``acceleration="none"``) or the accelerated gradient method of Ghadimi & Lan with the
    damping of Yang et al. on the split ``Ψ = f + Σq``, ``h = λ‖·‖₁``
    (``"nonconvex_ag"``; see the module docstring).  Both run in
    :func:`optlab.prox.proximal_gradient`'s loop; ``A`` and ``b`` are traced.

    Args:
      A: the design, ``N × d``.
      b: the targets, ``(N,)``.
      reg: ``λ ≥ 0``.
      num_steps: ``K ≥ 1``.
      penalty: ``"scad"`` or ``"mcp"``.
      a: the concavity parameter (default 3.7 for SCAD, 3 for MCP).
      acceleration: ``"none"`` or ``"nonconvex_ag"``.
      learning_rate: the step ``γ``; default ``1/L_f`` (``L_f = ‖A‖₂²/N``) capped at
        ``0.99(a − 1)`` (SCAD) or ``0.99a`` (MCP) for ``"none"``, and ``0.99/L_Ψ`` for
        ``"nonconvex_ag"``.  With ``"none"`` it must satisfy the prox condition.
      x0: the start (default zeros).
      tol: tolerance on the final gradient mapping for ``converged``.
      return_iterates: record the iterates (``x^ag_k`` for ``"nonconvex_ag"``).

    Returns:
      A :class:`ProxGradOutput`; ``values`` are the penalised objective and ``grad_maps``
      the gradient mapping, zero exactly at stationary points.

    Raises:
      TypeError: a non-numeric argument, ``num_steps`` not an int.
      ValueError: mismatched shapes, NaN/inf entries, ``reg < 0``, an unknown ``penalty``
        or ``acceleration``, a bad ``a``, ``learning_rate ≤ 0`` or (with ``"none"``) at or
        above the prox condition, ``num_steps < 1``, a negative ``tol``.
    """
    A, b = _design(A, b)
    reg = _reg(reg)
    require_int("num_steps", num_steps, minimum=1)
    _choice("penalty", penalty, PENALTIES)
    a_val = _DEFAULT_A[penalty] if a is None else _concavity("a", a, penalty)
    _choice("acceleration", acceleration, ACCELERATIONS)
    if learning_rate is not None:
        learning_rate = _scalar("learning_rate", learning_rate, positive=True)
        if acceleration == "none":
            try:
                _prox_condition(learning_rate, a_val, penalty)
            except ValueError as err:
                raise ValueError(str(err).replace("scale", "learning_rate", 1)) from None
    x0 = _start("x0", x0, A.shape[1], A.dtype)
    tol = _scalar("tol", tol, positive=False)
    lr = -1.0 if learning_rate is None else learning_rate
    dt = A.dtype
    return _nonconvex(
        A,
        b,
        jnp.asarray(reg, dt),
        jnp.asarray(a_val, dt),
        x0,
        jnp.asarray(lr, dt),
        jnp.asarray(tol, dt),
        num_steps,
        penalty,
        acceleration,
        bool(return_iterates),
    )


@functools.partial(jax.jit, static_argnames=("num_steps", "penalty", "acceleration", "return_iterates"))
def _nonconvex(A, b, reg, a, x0, learning_rate, tol, num_steps, penalty, acceleration, return_iterates):
    n = A.shape[0]
    L_f = jnp.linalg.norm(A, 2) ** 2 / n
    L_q = 1.0 / (a - 1.0) if penalty == "scad" else 1.0 / a
    top = a - 1.0 if penalty == "scad" else a
    # ISTA: 1/L_f below the prox condition; AG: β = 0.99/L_Ψ as in Yang et al.
    ista_default = jnp.minimum(1.0 / L_f, 0.99 * top)
    default = ista_default if acceleration == "none" else 0.99 / jnp.maximum(L_f, L_q)
    lr = jnp.where(learning_rate > 0, learning_rate, default).astype(A.dtype)
    pen = _scad if penalty == "scad" else _mcp

    def loss_grad(x):
        return -jnp.matmul(A.T, _residual(A, b, x), precision=_HIGHEST) / n

    def F(x):
        r = _residual(A, b, x)
        return jnp.sum(r * r) / (2.0 * n) + jnp.sum(pen(x, reg, a))

    if acceleration == "none":
        exact = _prox_scad if penalty == "scad" else _prox_mcp

        def prox(v, scale):
            return exact(v, scale, reg, a)

        return _core(loss_grad, F, prox, x0, lr, num_steps, "none", tol, return_iterates)

    def grad_psi(x):
        return loss_grad(x) + _concave_grad(x, reg, a, penalty)

    def prox_l1(v, scale):
        return _soft(v, scale * reg)

    return _core(grad_psi, F, prox_l1, x0, lr, num_steps, "nonconvex_ag", tol, return_iterates)
