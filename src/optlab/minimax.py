r"""Games, min-max problems and monotone operators.

Notation (chapter 9).  A two-player zero-sum game ``min_x max_y f(x, y)`` with
``x ∈ ℝⁿˣ``, ``y ∈ ℝⁿʸ`` is solved through its *game vector field*

    F(z) = (∇ₓ f(x, y), −∇ᵧ f(x, y)),      z = (x, y) ∈ ℝᵈ,  d = nₓ + nᵧ,

and an equilibrium is a zero of ``F``.  ``F`` is *monotone* when
``⟨F(u) − F(v), u − v⟩ ≥ 0`` (convex-concave ``f``) and ``ρ``-*comonotone* when
``⟨F(u) − F(v), u − v⟩ ≥ ρ‖F(u) − F(v)‖²`` (``ρ < 0``: negative comonotonicity).
Every method below is a pure function ``method(F, z0, *, learning_rate, num_steps, ...)``
running inside one ``lax.scan``; it returns a :class:`MinimaxOutput` with the
operator residual ``‖F(z_k)‖`` of every iterate (the computable optimality
measure), and is ``vmap``-able over ``learning_rate``.

Operators are plain callables ``F(z)``; :class:`AffineOperator` (``F(z) = Mz + q``)
adds the things linear algebra gives for free: the equilibrium by a dense solve,
the Lipschitz constant ``‖M‖₂``, the exact resolvent ``(I + ηF)⁻¹`` and the
comonotonicity modulus.

References: Korpelevich (1976) extragradient; Popov (1980) and Hsieh, Iutzeler,
Malick, Mertikopoulos (2019) single-call / past extragradient; Malitsky (2015)
reflected gradient; Rockafellar (1976) proximal point; Halpern (1967) and Yoon & Ryu
(2021) anchoring; Cai & Zheng (2023) accelerated optimistic gradient; Cai, Alacaoglu,
Diakonikolas (2024) variance-reduced Halpern;
Gorbunov, Taylor, Horváth, Gidel (2023) negative comonotonicity; Vyas et al.
competitive gradient optimization; Small-Gain Nash certificates.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import jax.scipy.linalg
import numpy as np

from ._checks import (
    as_float_array,
    is_concrete,
    require_callable,
    require_finite,
    require_in_range,
    require_int,
    require_key,
    require_nonnegative,
    require_positive,
)
from ._types import Array, ArrayLike, Bool, Float, Int, PRNGKeyArray

HIGHEST = jax.lax.Precision.HIGHEST


def _check_scalar(name, value):
    """Refuse non-numeric values (TypeError) and arrays (ValueError) for a scalar argument."""
    if value is None or isinstance(value, (str, bytes)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    if is_concrete(value) and np.ndim(value) != 0:
        raise ValueError(f"{name} must be a scalar, got shape {np.shape(value)}")


__all__ = [
    "MinimaxOutput",
    "AffineOperator",
    "FiniteSumOperator",
    "bilinear_game",
    "quadratic_game",
    "rotation_operator",
    "finite_sum_game",
    "comonotonicity",
    "resolvent",
    "gda",
    "extragradient",
    "optimistic_gradient",
    "reflected_gradient",
    "proximal_point",
    "halpern",
    "halpern_proximal_point",
    "extra_anchored_gradient",
    "accelerated_optimistic_gradient",
    "vr_halpern",
    "competitive_gradient",
    "SGNCertificate",
    "sgn_certificate",
    "sgn_band",
    "sgn_block_margin",
    "fit_slope",
]

# Result types that are reports, not runs (tests/test_contract.py).
_NOT_A_RUN = {
    "SGNCertificate": "a certificate (margin, Lipschitz constant, certified step and rate) "
    "computed from a Jacobian, not an iterative run with a final point",
}


class MinimaxOutput(NamedTuple):
    """Result of a min-max method.

    Every method runs all ``K = num_steps`` steps (one fixed-length ``lax.scan``, so it
    ``vmap``-s over step sizes and games); ``tol`` only sets ``converged`` and ``n_iters``.

    Attributes:
      params: the last iterate ``z_K`` (``(d,)``, the pair ``(x, y)`` stacked).
      residuals: ``‖F(z_k)‖`` for ``k = 0..K`` (shape ``(K+1,)``).
      converged: ``residuals[-1] <= tol``: the last iterate meets the tolerance.
      n_iters: the first step ``k`` with ``‖F(z_k)‖ <= tol`` (the steps a run that
        stops at ``tol`` takes), or ``K`` when no iterate meets it.
      oracle_calls: cumulative oracle calls after each iteration (shape ``(K+1,)``):
        evaluations of ``F`` (resolvents count one each), or component evaluations
        ``F_i`` for :func:`vr_halpern`.  Residual bookkeeping is not counted.
      iterates: ``(K+1, d)`` array of ``z_k`` when ``return_iterates=True``, else ``None``.
    """

    params: Float[Array, " d"]
    residuals: Float[Array, " K+1"]
    converged: Bool[Array, ""]
    n_iters: Int[Array, ""]
    oracle_calls: Int[Array, " K+1"]
    iterates: Float[Array, "K+1 d"] | None = None


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


# ---------------------------------------------------------------------------
# the generic scan
# ---------------------------------------------------------------------------


def _validate(F, z0, learning_rate, num_steps, tol, name="F"):
    require_callable(name, F)
    z0 = as_float_array("z0", z0, ndim=1)
    if z0.shape[0] < 1:
        raise ValueError("z0 must have at least one coordinate, got shape (0,)")
    _check_scalar("learning_rate", learning_rate)
    require_positive("learning_rate", learning_rate)
    require_int("num_steps", num_steps, minimum=1)
    _check_scalar("tol", tol)
    require_nonnegative("tol", tol)
    if isinstance(F, (AffineOperator, FiniteSumOperator)):
        d = F.Ms.shape[1] if isinstance(F, FiniteSumOperator) else F.dim
        if d != z0.shape[0]:
            raise ValueError(f"z0 must have shape ({d},) to match the operator, got {tuple(z0.shape)}")
    elif name == "F":
        try:
            out = jax.eval_shape(F, z0)
        except (TypeError, ValueError, IndexError) as err:
            raise ValueError(f"F cannot be evaluated at z0 of shape {tuple(z0.shape)}: {err}") from None
        if tuple(getattr(out, "shape", ())) != tuple(z0.shape):
            raise ValueError(
                f"F must map z0 of shape {tuple(z0.shape)} to the same shape, "
                f"got {getattr(out, 'shape', None)}"
            )
    return z0


def _dispatch(impl, F, z0, learning_rate, tol, num_steps, return_iterates, statics=(), dyn=()):
    """Run ``impl`` under one module-level ``jax.jit``: operators that are pytrees
    (:class:`AffineOperator`, :class:`FiniteSumOperator`) are traced arguments, plain
    callables are static (hashed by identity), so a solver compiles once per operator
    function, shape and static configuration."""
    dt = z0.dtype
    learning_rate = jnp.asarray(learning_rate, dt)
    tol = jnp.asarray(tol, dt)
    if isinstance(F, (AffineOperator, FiniteSumOperator)):
        F_static, F_dyn = None, F
    else:
        try:
            hash(F)
        except TypeError:  # an unhashable callable: run without the compile cache
            return impl(F, z0, learning_rate, tol, num_steps, bool(return_iterates), statics, dyn)
        F_static, F_dyn = F, None
    return _solve(
        impl, F_static, F_dyn, z0, learning_rate, tol, num_steps, bool(return_iterates), statics, dyn
    )


@functools.partial(jax.jit, static_argnums=(0, 1, 6, 7, 8))
def _solve(impl, F_static, F_dyn, z0, learning_rate, tol, num_steps, return_iterates, statics, dyn):
    F = F_static if F_static is not None else F_dyn
    return impl(F, z0, learning_rate, tol, num_steps, return_iterates, statics, dyn)


def _residual_norm(v):
    """``‖v‖₂`` computed as ``s‖v/s‖₂``, ``s = max|vᵢ|``: finite for float32 entries beyond
    1e19 (whose squares overflow) and non-zero for entries below 1e-23 (squares underflow);
    NaN or inf entries give a non-finite norm, as ``jnp.linalg.norm`` does."""
    s = jnp.max(jnp.abs(v))
    safe = jnp.where(s > 0, s, 1.0)
    # s = 0: the zero vector; s NaN (a diverged iterate): stays NaN, never reads as converged
    return jnp.where(s > 0, safe * jnp.linalg.norm(v / safe), jnp.where(s == 0, 0.0, s))


def _run(F, state0, z_of, step_fn, num_steps, tol, return_iterates):
    """Scan ``state ← step_fn(state, k)``; record ``‖F(z_k)‖`` and the iterates."""

    def body(state, k):
        state, calls = step_fn(state, k)
        z = z_of(state)
        out = (_residual_norm(F(z)), calls)
        if return_iterates:
            out = out + (z,)
        return state, out

    state, outs = jax.lax.scan(body, state0, jnp.arange(num_steps))
    z0 = z_of(state0)
    r0 = _residual_norm(F(z0))
    residuals = jnp.concatenate([r0[None], outs[0]])
    calls = jnp.concatenate(
        [jnp.zeros((1,), jnp.result_type(float)), jnp.cumsum(outs[1].astype(jnp.result_type(float)))]
    )
    iterates = jnp.concatenate([z0[None], outs[2]]) if return_iterates else None
    met = residuals <= tol
    n_iters = jnp.where(jnp.any(met), jnp.argmax(met), num_steps).astype(jnp.int32)
    return MinimaxOutput(z_of(state), residuals, met[-1], n_iters, calls, iterates)


def _const(c):
    return jnp.asarray(c, dtype=jnp.result_type(float))


# ---------------------------------------------------------------------------
# methods
# ---------------------------------------------------------------------------

_METHOD_DOC = """

    Args:
      F: the operator ``F(z)`` (an :class:`AffineOperator` / :class:`FiniteSumOperator`
        is traced, any other callable is a static argument of the compiled loop).
      z0: ``(d,)`` start (lists / integer arrays converted to float).
      learning_rate: ``η > 0`` (scalar; may be traced: ``vmap`` over it).
      num_steps: ``K ≥ 1``.
      tol: ``≥ 0``, for the ``converged`` flag.
      return_iterates: keep the ``(K+1, d)`` iterates.

    Returns:
      :class:`MinimaxOutput`.

    Raises:
      TypeError: ``F`` not callable, non-numeric arguments.
      ValueError: wrong shapes, non-finite ``z0``, ``η ≤ 0``, ``K < 1``, ``tol < 0``.
    """


def gda(
    F: Callable,
    z0: Float[Array, " d"],
    *,
    learning_rate: float | Float[Array, ""],
    num_steps: int,
    alternating: bool = False,
    n_x: int | None = None,
    tol: float = 1e-6,
    return_iterates: bool = False,
) -> MinimaxOutput:
    z0 = _validate(F, z0, learning_rate, num_steps, tol)
    if alternating:
        n_x = getattr(F, "n_x", None) if n_x is None else n_x
        if n_x is None:
            raise ValueError("alternating GDA needs n_x (the size of x)")
        require_int("n_x", n_x, minimum=1)
        if n_x >= z0.shape[0]:
            raise ValueError(f"n_x must be smaller than d={z0.shape[0]}, got {n_x}")
    return _dispatch(
        _gda,
        F,
        z0,
        learning_rate,
        tol,
        num_steps,
        return_iterates,
        (bool(alternating), n_x if alternating else None),
    )


gda.__doc__ = (
    """Gradient descent–ascent ``z_{k+1} = z_k − ηF(z_k)`` (simultaneous).

    ``alternating=True``: ``x`` moves first and ``y`` responds to the new ``x``:
    ``x⁺ = x − ηFₓ(x, y)``, ``y⁺ = y − ηFᵧ(x⁺, y)`` (``n_x`` = size of ``x``; taken
    from ``F.n_x`` when ``F`` is a game).  Diverges on bilinear games when
    simultaneous; alternating GDA stays bounded for small ``η``."""
    + _METHOD_DOC
)


def _gda(F, z0, learning_rate, tol, num_steps, return_iterates, statics, dyn):
    alternating, n_x = statics
    if alternating:

        def step_fn(z, k):
            x = z[:n_x] - learning_rate * F(z)[:n_x]
            z1 = z.at[:n_x].set(x)
            y = z[n_x:] - learning_rate * F(z1)[n_x:]
            return z1.at[n_x:].set(y), _const(2.0)
    else:

        def step_fn(z, k):
            return z - learning_rate * F(z), _const(1.0)

    return _run(F, z0, lambda s: s, step_fn, num_steps, tol, return_iterates)


def extragradient(
    F: Callable,
    z0: Float[Array, " d"],
    *,
    learning_rate: float | Float[Array, ""],
    num_steps: int,
    tol: float = 1e-6,
    return_iterates: bool = False,
) -> MinimaxOutput:
    z0 = _validate(F, z0, learning_rate, num_steps, tol)
    return _dispatch(_extragradient, F, z0, learning_rate, tol, num_steps, return_iterates)


extragradient.__doc__ = (
    """Extragradient (Korpelevich 1976): ``w = z − ηF(z)``, ``z⁺ = z − ηF(w)``.
    Two oracle calls per step; converges for monotone ``L``-Lipschitz ``F`` with
    ``η < 1/L``, last iterate ``‖F(z_k)‖ = O(1/√k)`` (tight over the class)."""
    + _METHOD_DOC
)


# region: minimax-extragradient
def _extragradient(F, z0, learning_rate, tol, num_steps, return_iterates, statics, dyn):
    def step_fn(z, k):
        w = z - learning_rate * F(z)
        return z - learning_rate * F(w), _const(2.0)

    return _run(F, z0, lambda s: s, step_fn, num_steps, tol, return_iterates)


# endregion: minimax-extragradient


def optimistic_gradient(
    F: Callable,
    z0: Float[Array, " d"],
    *,
    learning_rate: float | Float[Array, ""],
    num_steps: int,
    tol: float = 1e-6,
    return_iterates: bool = False,
) -> MinimaxOutput:
    z0 = _validate(F, z0, learning_rate, num_steps, tol)
    return _dispatch(_optimistic_gradient, F, z0, learning_rate, tol, num_steps, return_iterates)


optimistic_gradient.__doc__ = (
    """Past extragradient / optimistic gradient (Popov 1980; Hsieh et al. 2019):
    ``w_k = z_k − ηF(w_{k−1})``, ``z_{k+1} = z_k − ηF(w_k)`` with ``w_{−1} = z_0``.
    One new oracle call per step (``F(w_k)`` is reused at the next step)."""
    + _METHOD_DOC
)


# region: minimax-optimistic-gradient
def _optimistic_gradient(F, z0, learning_rate, tol, num_steps, return_iterates, statics, dyn):
    def step_fn(state, k):
        z, g_prev = state
        w = z - learning_rate * g_prev
        g = F(w)
        return (z - learning_rate * g, g), _const(1.0)

    return _run(F, (z0, F(z0)), lambda s: s[0], step_fn, num_steps, tol, return_iterates)


# endregion: minimax-optimistic-gradient


def reflected_gradient(
    F: Callable,
    z0: Float[Array, " d"],
    *,
    learning_rate: float | Float[Array, ""],
    num_steps: int,
    tol: float = 1e-6,
    return_iterates: bool = False,
) -> MinimaxOutput:
    z0 = _validate(F, z0, learning_rate, num_steps, tol)
    return _dispatch(_reflected_gradient, F, z0, learning_rate, tol, num_steps, return_iterates)


reflected_gradient.__doc__ = (
    """Reflected gradient (Malitsky 2015): ``z_{k+1} = z_k − ηF(2z_k − z_{k−1})``,
    ``z_{−1} = z_0``; one oracle call per step, converges for ``η < (√2 − 1)/L``."""
    + _METHOD_DOC
)


def _reflected_gradient(F, z0, learning_rate, tol, num_steps, return_iterates, statics, dyn):
    def step_fn(state, k):
        z, z_prev = state
        return (z - learning_rate * F(2 * z - z_prev), z), _const(1.0)

    return _run(F, (z0, z0), lambda s: s[0], step_fn, num_steps, tol, return_iterates)


def proximal_point(
    F: Callable,
    z0: Float[Array, " d"],
    *,
    learning_rate: float | Float[Array, ""],
    num_steps: int,
    inner_num_steps: int = 100,
    tol: float = 1e-6,
    return_iterates: bool = False,
) -> MinimaxOutput:
    z0 = _validate(F, z0, learning_rate, num_steps, tol)
    if not isinstance(F, AffineOperator):
        require_int("inner_num_steps", inner_num_steps, minimum=1)
    return _dispatch(
        _proximal_point, F, z0, learning_rate, tol, num_steps, return_iterates, (inner_num_steps,)
    )


proximal_point.__doc__ = (
    """Proximal point ``z_{k+1} = J_{ηF}(z_k) = (I + ηF)⁻¹z_k`` (Rockafellar 1976).

    Exact resolvent for an :class:`AffineOperator`; otherwise ``inner_num_steps``
    fixed-point steps (needs ``ηL < 1``).  Converges for any ``η > 0`` when ``F`` is
    monotone, and for ``ρ``-comonotone ``F`` when ``ρ > −η/2`` (Gorbunov et al. 2023)."""
    + _METHOD_DOC
)


def _proximal_point(F, z0, learning_rate, tol, num_steps, return_iterates, statics, dyn):
    J = _resolvent_map(F, learning_rate, statics[0])

    def step_fn(z, k):
        return J(z), _const(1.0)

    return _run(F, z0, lambda s: s, step_fn, num_steps, tol, return_iterates)


def _beta(k):
    return 1.0 / (k + 2.0)


def halpern(
    F: Callable,
    z0: Float[Array, " d"],
    *,
    learning_rate: float | Float[Array, ""],
    num_steps: int,
    tol: float = 1e-6,
    return_iterates: bool = False,
) -> MinimaxOutput:
    z0 = _validate(F, z0, learning_rate, num_steps, tol)
    return _dispatch(_halpern, F, z0, learning_rate, tol, num_steps, return_iterates)


halpern.__doc__ = (
    """Halpern iteration on the forward map ``T = I − ηF``:
    ``z_{k+1} = β_k z_0 + (1 − β_k)(z_k − ηF(z_k))``, ``β_k = 1/(k+2)``.

    ``T`` is nonexpansive when ``F`` is ``1/L``-cocoercive and ``η ≤ 2/L``; then
    ``‖z_k − T z_k‖ ≤ 2‖z_0 − z*‖/(k+1)``.  (For merely monotone ``F`` — bilinear
    games — ``T`` is expansive: anchor the resolvent or use EAG instead.)"""
    + _METHOD_DOC
)


def _halpern(F, z0, learning_rate, tol, num_steps, return_iterates, statics, dyn):
    def step_fn(z, k):
        b = _beta(k)
        return b * z0 + (1 - b) * (z - learning_rate * F(z)), _const(1.0)

    return _run(F, z0, lambda s: s, step_fn, num_steps, tol, return_iterates)


def halpern_proximal_point(
    F: Callable,
    z0: Float[Array, " d"],
    *,
    learning_rate: float | Float[Array, ""],
    num_steps: int,
    inner_num_steps: int = 100,
    tol: float = 1e-6,
    return_iterates: bool = False,
) -> MinimaxOutput:
    z0 = _validate(F, z0, learning_rate, num_steps, tol)
    if not isinstance(F, AffineOperator):
        require_int("inner_num_steps", inner_num_steps, minimum=1)
    return _dispatch(
        _halpern_proximal_point, F, z0, learning_rate, tol, num_steps, return_iterates, (inner_num_steps,)
    )


halpern_proximal_point.__doc__ = (
    """Anchored proximal point ``z_{k+1} = β_k z_0 + (1 − β_k) J_{ηF}(z_k)``,
    ``β_k = 1/(k+2)``.  For monotone ``F`` the resolvent is firmly nonexpansive and
    Halpern's bound ``‖z_k − J(z_k)‖ ≤ 2‖z_0 − z*‖/(k+1)`` (Lieder 2021) reads
    ``‖F(J_{ηF}(z_k))‖ ≤ 2‖z_0 − z*‖/(η(k+1))``: the bound is on the field at the resolvent
    of the iterate, one step ahead of ``z_k`` — ``O(1/k)`` instead of ``O(1/√k)``."""
    + _METHOD_DOC
)


def _halpern_proximal_point(F, z0, learning_rate, tol, num_steps, return_iterates, statics, dyn):
    J = _resolvent_map(F, learning_rate, statics[0])

    def step_fn(z, k):
        b = _beta(k)
        return b * z0 + (1 - b) * J(z), _const(1.0)

    return _run(F, z0, lambda s: s, step_fn, num_steps, tol, return_iterates)


def extra_anchored_gradient(
    F: Callable,
    z0: Float[Array, " d"],
    *,
    learning_rate: float | Float[Array, ""],
    num_steps: int,
    tol: float = 1e-6,
    return_iterates: bool = False,
) -> MinimaxOutput:
    z0 = _validate(F, z0, learning_rate, num_steps, tol)
    return _dispatch(_extra_anchored_gradient, F, z0, learning_rate, tol, num_steps, return_iterates)


extra_anchored_gradient.__doc__ = (
    """Extra-anchored gradient, EAG-C (Yoon & Ryu 2021), ``β_k = 1/(k+2)``:
    ``w_k = z_k + β_k(z_0 − z_k) − ηF(z_k)``, ``z_{k+1} = z_k + β_k(z_0 − z_k) − ηF(w_k)``.
    For monotone ``L``-Lipschitz ``F`` and ``η ≤ 1/(8L)``: ``‖F(z_k)‖ = O(‖z_0 − z*‖/(ηk))``."""
    + _METHOD_DOC
)


def _extra_anchored_gradient(F, z0, learning_rate, tol, num_steps, return_iterates, statics, dyn):
    def step_fn(z, k):
        b = _beta(k)
        anchor = z + b * (z0 - z)
        w = anchor - learning_rate * F(z)
        return anchor - learning_rate * F(w), _const(2.0)

    return _run(F, z0, lambda s: s, step_fn, num_steps, tol, return_iterates)


def accelerated_optimistic_gradient(
    F: Callable,
    z0: Float[Array, " d"],
    *,
    learning_rate: float | Float[Array, ""],
    num_steps: int,
    tol: float = 1e-6,
    return_iterates: bool = False,
) -> MinimaxOutput:
    z0 = _validate(F, z0, learning_rate, num_steps, tol)
    return _dispatch(_accelerated_optimistic_gradient, F, z0, learning_rate, tol, num_steps, return_iterates)


accelerated_optimistic_gradient.__doc__ = (
    """Accelerated optimistic gradient, AOG (Cai & Zheng 2023): optimism with a Halpern anchor,
    ``β_k = 1/(k+2)``:
    ``w_k = z_k + β_k(z_0 − z_k) − ηF(w_{k−1})``, ``z_{k+1} = z_k + β_k(z_0 − z_k) − ηF(w_k)``,
    with ``w_{−1} = z_0``.  EAG with its first call ``F(z_k)`` replaced by the previous
    ``F(w_{k−1})``: one new oracle call per step, as :func:`optimistic_gradient`.  For monotone
    ``L``-Lipschitz ``F`` and ``η = O(1/L)`` the last iterate has ``‖F(z_k)‖ = O(‖z_0 − z*‖/(ηk))``
    (the ``O(1/√k)`` of plain optimism is tight).  Measured on bilinear games with ``η ≤ 1/(2L)``:
    ``‖F(z_k)‖ ≤ 2‖z_0 − z*‖/(η(k+1))``, the constant of the anchored flow, nearly attained.
    This is the unconstrained form with a constant step (no projection, no step-size
    adaptation); the paper's step-size range and constant are not reproduced here."""
    + _METHOD_DOC
)


# region: minimax-aog
def _accelerated_optimistic_gradient(F, z0, learning_rate, tol, num_steps, return_iterates, statics, dyn):
    def step_fn(state, k):
        z, g_prev = state
        pulled = z + (z0 - z) / (k + 2).astype(z.dtype)  # the Halpern anchor, weight 1/(k+2)
        w = pulled - learning_rate * g_prev  # optimistic: the field of the previous w
        g = F(w)
        return (pulled - learning_rate * g, g), _const(1.0)

    return _run(F, (z0, F(z0)), lambda s: s[0], step_fn, num_steps, tol, return_iterates)


# endregion: minimax-aog


def vr_halpern(
    op: FiniteSumOperator,
    z0: Float[Array, " d"],
    *,
    learning_rate: float | Float[Array, ""],
    num_steps: int,
    key: PRNGKeyArray,
    batch_size: int,
    prob,
    tol: float = 1e-6,
    return_iterates: bool = False,
) -> MinimaxOutput:
    """Variance-reduced Halpern iteration for a finite sum ``F = (1/n)Σᵢ Fᵢ``
    (cocoercive case, after Cai, Alacaoglu & Diakonikolas 2024):

        z_{k+1} = β_k z_0 + (1 − β_k)(z_k − η F̃_k),   β_k = 1/(k+2),

    with the recursive (PAGE/SARAH-type) estimator
    ``F̃_k = F(z_k)`` with probability ``prob`` (``n`` component calls), otherwise
    ``F̃_k = F̃_{k−1} + (1/b)Σ_{i∈S_k}(Fᵢ(z_k) − Fᵢ(z_{k−1}))`` with ``|S_k| = b``
    indices drawn uniformly with replacement (``2b`` calls).  ``F̃_0 = F(z_0)``.
    With ``b ≈ √n`` and ``prob ≈ 1/√n`` a step costs ``O(√n)`` component calls in
    expectation instead of ``n``; the paper's complexity is ``Õ(n + √n L/ε)``
    (vs ``O(nL/ε)`` for the deterministic iteration).  ``oracle_calls`` counts
    component evaluations ``Fᵢ`` (the initial full pass included).

    Args:
      op: a :class:`FiniteSumOperator`.
      z0, learning_rate, num_steps, tol, return_iterates: as :func:`extragradient`.
      key: a JAX PRNG key (an integer seed is refused).
      batch_size: ``b ≥ 1``.
      prob: full-pass probability in ``(0, 1]``.

    Returns:
      :class:`MinimaxOutput`.

    Raises:
      TypeError / ValueError: ``op`` not a finite sum, invalid key, sizes or probabilities.
    """
    if not isinstance(op, FiniteSumOperator):
        raise TypeError(f"op must be a FiniteSumOperator, got {type(op).__name__}")
    z0 = _validate(op, z0, learning_rate, num_steps, tol, name="op")
    require_key("key", key)
    require_int("batch_size", batch_size, minimum=1)
    _check_scalar("prob", prob)
    require_in_range("prob", prob, 0.0, 1.0, low_inclusive=False)
    out = _dispatch(
        _vr_halpern,
        op,
        z0,
        learning_rate,
        tol,
        num_steps,
        return_iterates,
        (batch_size,),
        (key, jnp.asarray(prob, z0.dtype)),
    )
    return out._replace(oracle_calls=out.oracle_calls + op.n)


def _vr_halpern(op, z0, learning_rate, tol, num_steps, return_iterates, statics, dyn):
    (batch_size,) = statics
    key, prob = dyn
    n = op.n
    comp = jax.vmap(op.component, in_axes=(0, None))

    def step_fn(state, k):
        z, z_prev, g_prev, key_ = state
        key_, kc, ki = jax.random.split(key_, 3)
        idx = jax.random.randint(ki, (batch_size,), 0, n)
        g_rec = g_prev + jnp.mean(comp(idx, z) - comp(idx, z_prev), axis=0)
        full = jax.random.bernoulli(kc, prob)
        g = jnp.where(full, op(z), g_rec)
        calls = jnp.where(full, float(n), 2.0 * batch_size)
        b = _beta(k)
        z_new = b * z0 + (1 - b) * (z - learning_rate * g)
        return (z_new, z, g, key_), calls

    # F̃_0 = F(z_0): the first step uses the exact operator (forced full pass)
    state0 = (z0, z0, op(z0), key)
    return _run(op, state0, lambda s: s[0], step_fn, num_steps, tol, return_iterates)


def competitive_gradient(
    f: Callable,
    z0: Float[Array, " d"],
    *,
    learning_rate: float | Float[Array, ""],
    num_steps: int,
    n_x: int,
    alpha=None,
    tol: float = 1e-6,
    return_iterates: bool = False,
) -> MinimaxOutput:
    """Competitive gradient optimization for ``min_x max_y f(x, y)`` (Vyas et al.):

        x⁺ = x − η(∇ₓf + α D²ₓᵧf ∇ᵧf),   y⁺ = y + η(∇ᵧf − α D²ᵧₓf ∇ₓf),

    each player also reacting to the opponent's first-order response through the
    mixed second derivatives (``α = η`` by default, the first-order expansion of
    competitive gradient descent, Schäfer & Anandkumar 2019).  ``f(x, y)`` is a scalar
    function; residuals are ``‖F(z)‖`` of the game field ``F = (∇ₓf, −∇ᵧf)``.  On
    ``f = xᵀAy`` (game matrix ``M``) it is GDA on the damped field ``(M + αMᵀM)z`` and
    converges where GDA diverges.  Three gradient/HVP evaluations per step.

    Args:
      f: scalar ``f(x, y)``.
      z0: ``(d,)`` start ``(x, y)``; learning_rate, num_steps, tol, return_iterates: as :func:`extragradient`.
      n_x: size of ``x`` (``1 ≤ n_x < d``).
      alpha: ``≥ 0`` (default ``learning_rate``).

    Returns:
      :class:`MinimaxOutput`.

    Raises:
      TypeError / ValueError: ``f`` not callable or not scalar, invalid sizes or hyper-parameters.
    """
    require_callable("f", f)
    require_int("n_x", n_x, minimum=1)
    alpha = learning_rate if alpha is None else alpha
    _check_scalar("alpha", alpha)
    require_nonnegative("alpha", alpha)
    z0 = _validate(f, z0, learning_rate, num_steps, tol, name="f")
    if n_x >= z0.shape[0]:
        raise ValueError(f"n_x must be smaller than d={z0.shape[0]}, got {n_x}")
    try:
        out = jax.eval_shape(f, z0[:n_x], z0[n_x:])
    except (TypeError, ValueError, IndexError) as err:
        raise ValueError(
            f"f cannot be evaluated at (x, y) of sizes ({n_x}, {z0.shape[0] - n_x}): {err}"
        ) from None
    if tuple(getattr(out, "shape", (None,))) != ():
        raise ValueError(f"f must return a scalar, got output shape {getattr(out, 'shape', None)}")
    return _dispatch(
        _competitive_gradient,
        f,
        z0,
        learning_rate,
        tol,
        num_steps,
        return_iterates,
        (n_x,),
        (jnp.asarray(alpha, z0.dtype),),
    )


def _competitive_gradient(f, z0, learning_rate, tol, num_steps, return_iterates, statics, dyn):
    (n_x,) = statics
    (alpha,) = dyn

    def F(z):
        gx, gy = jax.grad(f, argnums=(0, 1))(z[:n_x], z[n_x:])
        return jnp.concatenate([gx, -gy])

    def step_fn(z, k):
        x, y = z[:n_x], z[n_x:]
        gx, gy = jax.grad(f, argnums=(0, 1))(x, y)
        # D²ₓᵧf · v  = ∇ₓ⟨∇ᵧf, v⟩ and D²ᵧₓf · u = ∇ᵧ⟨∇ₓf, u⟩ (Hessian-vector products)
        dxy_gy = jax.grad(lambda x_: jnp.vdot(jax.grad(f, 1)(x_, y), gy))(x)
        dyx_gx = jax.grad(lambda y_: jnp.vdot(jax.grad(f, 0)(x, y_), gx))(y)
        x_new = x - learning_rate * (gx + alpha * dxy_gy)
        y_new = y + learning_rate * (gy - alpha * dyx_gx)
        return jnp.concatenate([x_new, y_new]), _const(3.0)

    return _run(F, z0, lambda s: s, step_fn, num_steps, tol, return_iterates)


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


# ---------------------------------------------------------------------------
# rates
# ---------------------------------------------------------------------------


def fit_slope(
    residuals: Float[ArrayLike, "*runs K"], k_min: int, k_max: int
) -> float | Float[np.ndarray, "*runs"]:
    """Least-squares slope of ``log ‖F(z_k)‖`` against ``log k`` over ``k_min ≤ k ≤ k_max``
    (``−½`` for a ``1/√k`` rate, ``−1`` for ``1/k``).

    The fit uses the (at most 60) integers of a geometric grid from ``k_min`` to ``k_max``, so
    every decade of ``k`` weighs the same.

    Args:
      residuals: ``‖F(z_k)‖`` for ``k = 0, 1, …`` along the last axis (leading axes are runs).
      k_min: first ``k`` of the window, ``>= 1``.
      k_max: last ``k`` of the window, ``> k_min`` and ``< len(residuals)``.

    Returns:
      The slope: a float for one run, an array over the leading axes otherwise.

    Raises:
      TypeError / ValueError: non-numeric ``residuals``, a bad window, residuals that are
      not positive and finite on the window.
    """
    r = np.asarray(as_float_array("residuals", residuals, finite=False), dtype=float)
    if r.ndim < 1:
        raise ValueError(f"residuals must have at least one dimension, got shape {r.shape}")
    require_int("k_min", k_min, minimum=1)
    require_int("k_max", k_max, minimum=k_min + 1)
    if k_max >= r.shape[-1]:
        raise ValueError(f"k_max must be < len(residuals)={r.shape[-1]}, got {k_max}")
    k = np.unique(np.geomspace(k_min, k_max, 60).astype(int))
    y = r[..., k]
    if not np.all(y > 0) or not np.all(np.isfinite(y)):
        raise ValueError("residuals must be positive and finite on the fitting window")
    X = np.log(k)
    Y = np.log(y)
    Xc = X - X.mean()
    slope = np.sum(Xc * (Y - Y.mean(axis=-1, keepdims=True)), axis=-1) / np.sum(Xc**2)
    return float(slope) if slope.ndim == 0 else slope
