"""Operators and games: affine and finite-sum operators, bilinear and quadratic games,
comonotonicity, resolvents (chapter 9)."""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import jax.scipy.linalg
import numpy as np

from .._checks import (
    as_float_array,
    is_concrete,
    require_callable,
    require_int,
    require_positive,
)
from .._types import Array, Float
from ._common import HIGHEST, _check_scalar

# ---------------------------------------------------------------------------
# operators and games
# ---------------------------------------------------------------------------


@jax.tree_util.register_pytree_node_class
class AffineOperator:
    """``F(z) = M z + q`` on ``ℝᵈ``; ``n_x`` splits ``z = (x, y)`` for games.

    A pytree (``M`` and ``q`` are its leaves), so it passes through ``jit`` and ``vmap``;
    ``z_star``, ``lipschitz``, ``resolvent`` and ``resolvent_map`` give the equilibrium,
    ``‖M‖₂`` and the exact resolvent.

    Args:
      M: the ``d × d`` matrix, finite and non-empty.
      q: the offset ``(d,)`` (default zeros).
      n_x: the size ``nₓ`` of the first player's block, ``0 <= n_x <= d`` (None: not a game).

    Raises:
      TypeError: non-numeric ``M`` or ``q``, non-integer ``n_x``.
      ValueError: ``M`` not square, empty or not finite, ``q`` not ``(d,)``, ``n_x`` out of range.
    """

    def __init__(self, M, q=None, n_x: int | None = None):
        M = as_float_array("M", M, ndim=2)
        if M.shape[0] != M.shape[1] or M.shape[0] < 1:
            raise ValueError(f"M must be a non-empty square matrix, got shape {tuple(M.shape)}")
        d = jnp.shape(M)[0]
        if q is None:
            q = jnp.zeros(d, dtype=jnp.result_type(M))
        else:
            q = as_float_array("q", q)
            if jnp.shape(q) != (d,):
                raise ValueError(f"q must have shape ({d},), got {tuple(jnp.shape(q))}")
        if n_x is not None:
            require_int("n_x", n_x, minimum=0)
            if n_x > d:
                raise ValueError(f"n_x must be at most d={d}, got {n_x}")
        self.M, self.q, self.n_x = M, q, n_x

    def __call__(self, z):
        return jnp.matmul(self.M, z, precision=HIGHEST) + self.q

    @property
    def dim(self) -> int:
        return int(jnp.shape(self.M)[0])

    @property
    def z_star(self) -> jax.Array:
        """The zero of ``F`` (``M`` must be invertible): ``z* = −M⁻¹q``."""
        return jnp.linalg.solve(self.M, -self.q)

    @property
    def lipschitz(self) -> jax.Array:
        """``L = ‖M‖₂``."""
        return jnp.linalg.norm(self.M, 2)

    def resolvent(self, z, *, learning_rate):
        """``J_{ηF}(z) = (I + ηM)⁻¹(z − ηq)`` by a dense solve."""
        return self.resolvent_map(learning_rate=learning_rate)(z)

    def resolvent_map(self, *, learning_rate):
        """``z ↦ J_{ηF}(z)`` with ``I + ηM`` LU-factorised once (for repeated use)."""
        eye = jnp.eye(self.dim, dtype=jnp.result_type(self.M, learning_rate))
        lu = jax.scipy.linalg.lu_factor(eye + learning_rate * self.M)
        return lambda z: jax.scipy.linalg.lu_solve(lu, z - learning_rate * self.q)

    def tree_flatten(self):
        return (self.M, self.q), self.n_x

    @classmethod
    def tree_unflatten(cls, n_x, children):
        obj = object.__new__(cls)
        obj.M, obj.q = children
        obj.n_x = n_x
        return obj

    def __repr__(self) -> str:
        return f"AffineOperator(dim={jnp.shape(self.M)[0]}, n_x={self.n_x})"


@jax.tree_util.register_pytree_node_class
class FiniteSumOperator:
    """``F(z) = (1/n) Σᵢ (Mᵢ z + qᵢ)``: ``n`` affine components stacked in ``Ms``
    (``(n, d, d)``) and ``qs`` (``(n, d)``).  ``component(i, z)`` is one oracle call.

    A pytree; ``mean`` is the full operator as an :class:`AffineOperator`.

    Args:
      Ms: the component matrices ``Mᵢ``, shape ``(n, d, d)``, ``n, d >= 1``.
      qs: the component offsets ``qᵢ``, shape ``(n, d)`` (default zeros).

    Raises:
      TypeError: non-numeric input.
      ValueError: ``Ms`` not ``(n, d, d)``, ``qs`` not ``(n, d)``, non-finite entries.
    """

    def __init__(self, Ms, qs=None):
        Ms = as_float_array("Ms", Ms, ndim=3)
        if Ms.shape[1] != Ms.shape[2] or 0 in Ms.shape:
            raise ValueError(f"Ms must have shape (n, d, d) with n, d >= 1, got {tuple(Ms.shape)}")
        n, d = jnp.shape(Ms)[0], jnp.shape(Ms)[1]
        if qs is None:
            qs = jnp.zeros((n, d), dtype=jnp.result_type(Ms))
        else:
            qs = as_float_array("qs", qs)
            if jnp.shape(qs) != (n, d):
                raise ValueError(f"qs must have shape ({n}, {d}), got {tuple(jnp.shape(qs))}")
        self.Ms, self.qs = Ms, qs

    @property
    def n(self) -> int:
        return int(jnp.shape(self.Ms)[0])

    @property
    def mean(self) -> AffineOperator:
        """The full operator ``F`` as an :class:`AffineOperator`."""
        return AffineOperator(jnp.mean(self.Ms, 0), jnp.mean(self.qs, 0))

    def __call__(self, z):
        return jnp.mean(jnp.matmul(self.Ms, z, precision=HIGHEST) + self.qs, axis=0)

    def component(self, i, z):
        return jnp.matmul(self.Ms[i], z, precision=HIGHEST) + self.qs[i]

    def tree_flatten(self):
        return (self.Ms, self.qs), None

    @classmethod
    def tree_unflatten(cls, aux, children):
        obj = object.__new__(cls)
        obj.Ms, obj.qs = children
        return obj


def bilinear_game(
    A: Float[Array, "nₓ nᵧ"], b: Float[Array, " nₓ"] | None = None, c: Float[Array, " nᵧ"] | None = None
) -> AffineOperator:
    """``f(x, y) = xᵀAy + bᵀx + cᵀy``; ``F(z) = (Ay + b, −Aᵀx − c)``.

    For square invertible ``A`` the unique saddle point is ``x* = −A⁻ᵀc``,
    ``y* = −A⁻¹b`` (``.z_star``).

    Args:
      A: the coupling, ``nₓ × nᵧ``.
      b: the linear term of ``x``, ``(nₓ,)`` (default zeros).
      c: the linear term of ``y``, ``(nᵧ,)`` (default zeros).

    Returns:
      The game vector field as an :class:`AffineOperator` with ``n_x = nₓ``.

    Raises:
      TypeError / ValueError: non-numeric, non-finite, empty or mis-shaped ``A``, ``b``, ``c``.
    """
    A = as_float_array("A", A, ndim=2)
    if 0 in A.shape:
        raise ValueError(f"A must be non-empty, got shape {tuple(A.shape)}")
    n_x, n_y = A.shape
    dt = jnp.result_type(A)
    b = jnp.zeros(n_x, dt) if b is None else as_float_array("b", b).astype(dt)
    c = jnp.zeros(n_y, dt) if c is None else as_float_array("c", c).astype(dt)
    if b.shape != (n_x,):
        raise ValueError(f"b must have shape ({n_x},), got {tuple(b.shape)}")
    if c.shape != (n_y,):
        raise ValueError(f"c must have shape ({n_y},), got {tuple(c.shape)}")
    M = jnp.block([[jnp.zeros((n_x, n_x), dt), A], [-A.T, jnp.zeros((n_y, n_y), dt)]])
    return AffineOperator(M, jnp.concatenate([b, -c]), n_x=n_x)


def quadratic_game(
    Pxx: Float[Array, "nₓ nₓ"],
    Pxy: Float[Array, "nₓ nᵧ"],
    Pyy: Float[Array, "nᵧ nᵧ"],
    b: Float[Array, " nₓ"] | None = None,
    c: Float[Array, " nᵧ"] | None = None,
) -> AffineOperator:
    """``f(x, y) = ½xᵀPₓₓx + xᵀPₓᵧy − ½yᵀPᵧᵧy + bᵀx + cᵀy`` (``Pₓₓ``, ``Pᵧᵧ``
    symmetric); ``F(z) = (Pₓₓx + Pₓᵧy + b, Pᵧᵧy − Pₓᵧᵀx − c)``.  Convex-concave
    (``F`` monotone) iff ``Pₓₓ ⪰ 0`` and ``Pᵧᵧ ⪰ 0``.

    Args:
      Pxx: ``Pₓₓ``, ``nₓ × nₓ``.
      Pxy: ``Pₓᵧ``, ``nₓ × nᵧ``.
      Pyy: ``Pᵧᵧ``, ``nᵧ × nᵧ``.
      b: the linear term of ``x``, ``(nₓ,)`` (default zeros).
      c: the linear term of ``y``, ``(nᵧ,)`` (default zeros).

    Returns:
      The game vector field as an :class:`AffineOperator` with ``n_x = nₓ``.

    Raises:
      TypeError / ValueError: non-numeric, non-finite or mis-shaped blocks.
    """
    Pxx = as_float_array("Pxx", Pxx, ndim=2)
    Pxy = as_float_array("Pxy", Pxy, ndim=2)
    Pyy = as_float_array("Pyy", Pyy, ndim=2)
    if 0 in Pxy.shape:
        raise ValueError(f"Pxy must be non-empty, got shape {tuple(Pxy.shape)}")
    n_x, n_y = Pxy.shape
    if Pxx.shape != (n_x, n_x) or Pyy.shape != (n_y, n_y):
        raise ValueError(
            f"Pxx must be ({n_x}, {n_x}) and Pyy ({n_y}, {n_y}) to match "
            f"Pxy {tuple(Pxy.shape)}, got {tuple(Pxx.shape)} and {tuple(Pyy.shape)}"
        )
    dt = jnp.result_type(Pxx, Pxy, Pyy)
    b = jnp.zeros(n_x, dt) if b is None else as_float_array("b", b).astype(dt)
    c = jnp.zeros(n_y, dt) if c is None else as_float_array("c", c).astype(dt)
    if b.shape != (n_x,) or c.shape != (n_y,):
        raise ValueError(
            f"b and c must have shapes ({n_x},) and ({n_y},), got {tuple(b.shape)} and {tuple(c.shape)}"
        )
    M = jnp.block([[Pxx, Pxy], [-Pxy.T, Pyy]])
    return AffineOperator(M, jnp.concatenate([b, -c]), n_x=n_x)


def rotation_operator(a: float | Float[Array, ""], b: float | Float[Array, ""]) -> AffineOperator:
    """``F(z) = Mz`` on ℝ² with ``M = [[a, b], [−b, a]]``: monotone iff ``a ≥ 0``,
    ``ρ``-comonotone with ``ρ = a/(a² + b²)`` (Gorbunov et al. 2023).  ``a`` and ``b``
    may be traced (for ``vmap`` over a grid).

    Args:
      a: the symmetric part (a scalar).
      b: the rotation (a scalar).

    Returns:
      An :class:`AffineOperator` on ℝ² with ``q = 0`` and ``n_x = 1``.

    Raises:
      TypeError / ValueError: non-numeric, non-scalar or non-finite ``a``/``b``; ``a = b = 0``.
    """
    _check_scalar("a", a)
    _check_scalar("b", b)
    a, b = as_float_array("a", a), as_float_array("b", b)
    if is_concrete((a, b)) and float(a) == 0.0 and float(b) == 0.0:
        raise ValueError("a and b must not both be zero (F would vanish identically)")
    dt = jnp.result_type(a, b)
    a, b = a.astype(dt), b.astype(dt)
    M = jnp.stack([jnp.stack([a, b]), jnp.stack([-b, a])])
    return AffineOperator(M, n_x=1)


def finite_sum_game(Ms: Float[Array, "n d d"], qs: Float[Array, "n d"] | None = None) -> FiniteSumOperator:
    """Finite sum of affine operators (see :class:`FiniteSumOperator`).

    Args:
      Ms: the component matrices ``Mᵢ``, shape ``(n, d, d)``.
      qs: the component offsets ``qᵢ``, shape ``(n, d)`` (default zeros).

    Returns:
      A :class:`FiniteSumOperator`.

    Raises:
      TypeError / ValueError: ``Ms`` not ``(n, d, d)``, ``qs`` not ``(n, d)``, non-finite entries.
    """
    return FiniteSumOperator(Ms, qs)


def comonotonicity(M: Float[Array, "d d"]) -> Float[Array, ""]:
    """The best ``ρ`` with ``⟨Mz, z⟩ ≥ ρ‖Mz‖²`` for all ``z``, for invertible ``M``:
    ``ρ = λ_min(sym(M⁻¹))`` (substitute ``u = Mz``).

    Computed on the rescaled matrix ``M/s``, ``s = max|Mᵢⱼ|`` (``ρ(M) = ρ(M/s)/s``), so a
    tiny operator, even one with subnormal entries that a GPU flushes to zero, never
    produces ``inf − inf = NaN``: the inverse is taken of a matrix with entries of order one
    and the scale is applied on the host in float64.

    Args:
      M: ``(d, d)`` invertible matrix (lists / integers converted).

    Returns:
      the scalar ``ρ`` (dtype of ``M``).

    Raises:
      TypeError: non-numeric ``M``.
      ValueError: ``M`` not square, empty, non-finite, zero or numerically singular, or
        ``ρ`` outside the range of ``M``'s dtype (rescale ``M`` or use float64).
    """
    M = as_float_array("M", M, ndim=2)
    if M.shape[0] != M.shape[1] or M.shape[0] < 1:
        raise ValueError(f"M must be a non-empty square matrix, got shape {tuple(M.shape)}")
    if not is_concrete(M):  # traced: scale on the device, guarded against a zero scale
        s: jax.Array | float = jnp.max(jnp.abs(M))
        s = jnp.where(s > 0, s, jnp.ones_like(s))
        return _comonotonicity_unit(M / s) / s
    host = np.asarray(M, dtype=np.float64)
    s = float(np.max(np.abs(host)))
    if s == 0.0:
        raise ValueError("M must be invertible, got the zero matrix")
    unit = host / s
    cond = np.linalg.cond(unit)
    eps = float(jnp.finfo(M.dtype).eps)
    if not np.isfinite(cond) or cond * eps > 0.1:
        raise ValueError(
            f"M must be invertible, got a condition number of {cond:.3g} (numerically singular in {M.dtype})"
        )
    rho_unit = float(_comonotonicity_unit(jnp.asarray(unit, M.dtype)))
    rho = rho_unit / s
    big = float(jnp.finfo(M.dtype).max)
    if not abs(rho) <= big:
        raise ValueError(
            f"the comonotonicity of M is {rho:.3g}, beyond the range of {M.dtype} "
            f"(max |M| = {s:.3g}): rescale M or enable float64"
        )
    return jnp.asarray(rho, M.dtype)


@jax.jit
def _comonotonicity_unit(M):
    Minv = jnp.linalg.inv(M)
    return jnp.linalg.eigvalsh(0.5 * (Minv + Minv.T))[0]


def resolvent(
    F: Callable, z: Float[Array, " d"], *, learning_rate: float | Float[Array, ""], inner_num_steps: int = 100
) -> Float[Array, " d"]:
    """``J_{ηF}(z) = (I + ηF)⁻¹ z``: the unique ``w`` with ``w + ηF(w) = z``.

    Exact (dense solve) for an :class:`AffineOperator`; otherwise the fixed-point
    iteration ``w ← z − ηF(w)``, a contraction when ``ηL < 1``.

    Args:
      F: the operator (callable ``(d,) → (d,)``).
      z: ``(d,)`` point.
      learning_rate: ``η > 0``.
      inner_num_steps: fixed-point iterations (non-affine ``F``).

    Returns:
      ``(d,)`` array ``J_{ηF}(z)``.

    Raises:
      TypeError / ValueError: ``F`` not callable, bad ``z``, ``η ≤ 0``, ``inner_num_steps < 1``.
    """
    require_callable("F", F)
    z = as_float_array("z", z, ndim=1)
    _check_scalar("learning_rate", learning_rate)
    require_positive("learning_rate", learning_rate)
    if isinstance(F, AffineOperator):
        if F.dim != z.shape[0]:
            raise ValueError(f"z must have shape ({F.dim},) to match the operator, got {tuple(z.shape)}")
        return F.resolvent(z, learning_rate=learning_rate)
    require_int("inner_num_steps", inner_num_steps, minimum=1)
    w = jax.lax.fori_loop(0, inner_num_steps, lambda _, w: z - learning_rate * F(w), z)
    return w


def _resolvent_map(F, learning_rate, inner_num_steps):
    if isinstance(F, AffineOperator):
        return F.resolvent_map(learning_rate=learning_rate)
    return lambda z: jax.lax.fori_loop(0, inner_num_steps, lambda _, w: z - learning_rate * F(w), z)
