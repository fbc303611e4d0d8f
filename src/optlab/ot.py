r"""Optimal transport: geometries, entropic OT (Sinkhorn, Sinkhorn-Newton-Sparse),
exact OT, sparsity-constrained OT and doubly stochastic attention.

The split follows OTT-JAX: a *geometry* holds the cost (explicit matrix
:class:`Geometry`, or :class:`PointCloud` computing ``c(x_i, y_j) = ‖x_i − y_j‖^p``
on demand), a *problem* is ``(geometry, a, b)`` and a *solver* returns a small
``NamedTuple`` of diagnostics.

Notation (chapter 6). Marginals ``a ∈ ℝⁿ₊``, ``b ∈ ℝᵐ₊`` of equal mass, cost
``C ∈ ℝⁿˣᵐ``, regularisation ``ε > 0``.  Entropic OT

    OT_ε(a, b) = min_{P ≥ 0, P1 = a, Pᵀ1 = b} ⟨C, P⟩ + ε KL(P ‖ a⊗b),

whose dual (the concave *Lyapunov potential* of Tang et al. 2024) is

    L(f, g) = ⟨f, a⟩ + ⟨g, b⟩ − ε Σ_ij exp((f_i + g_j − C_ij)/ε) + const.

In the potentials convention used here the plan is
``P_ij = exp((f_i + g_j − C_ij)/ε)`` (no ``a_i b_j`` factor), which is exactly
the plan of POT's ``ot.sinkhorn`` (entropy ``Σ P log P``) and of OTT-JAX.

References: Cuturi (2013); Peyré & Cuturi (2019); Tang, Shavlovsky, Rahmanian,
Tardini, Thekumparampil, Xiao, Ying (2024) "Accelerating Sinkhorn algorithm with
sparse Newton iterations"; Liu, Puigcerver, Blondel (2023) "Sparsity-constrained
optimal transport"; Sander, Ablin, Blondel, Peyré (2022) "Sinkformers";
Pooladian & Niles-Weed (2021) "Entropic estimation of optimal transport maps";
Asano, Rupprecht, Vedaldi (2020) "Self-labelling via simultaneous clustering and
representation learning"; Peña, Medeiros, Dubail, Aminbeidokhti, Granger, Pedersoli
(2023) "Re-basin via implicit Sinkhorn differentiation".
"""

from __future__ import annotations

import functools
import math
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ._checks import (
    _as_numpy,
    as_float_array,
    is_concrete,
    require_finite,
    require_in_range,
    require_int,
    require_positive,
)
from ._types import Array, ArrayLike, Bool, Float, Int

__all__ = [
    "Geometry",
    "PointCloud",
    "SinkhornOutput",
    "SNSOutput",
    "EMDOutput",
    "SparseOTOutput",
    "SNS_STATUS",
    "sinkhorn",
    "sinkhorn_naive",
    "sinkhorn_newton_sparse",
    "emd",
    "sparse_ot",
    "sparse_simplex_projection",
    "sinkhorn_attention",
    "entropic_map",
    "equipartition_labels",
    "soft_permutation",
    "plan_from_potentials",
    "marginal_error",
    "check_marginals",
]

# Result types that are reports, not runs of an iterative method (the library contract).
_NOT_A_RUN = {
    "EMDOutput": "an exact LP solve (HiGHS, on the host): no iterates and no point iterated on; "
    "it reports the optimal plan (plan()), its cost and the solver's message",
}


# ---------------------------------------------------------------------------
# geometries
# ---------------------------------------------------------------------------


def _lse(z: jax.Array, axis: int) -> jax.Array:
    """Log-sum-exp along ``axis``, safe for rows that are entirely −∞."""
    m = jnp.max(z, axis=axis, keepdims=True)
    m = jnp.where(jnp.isfinite(m), m, 0.0)
    s = jnp.sum(jnp.exp(z - m), axis=axis)
    return jnp.log(s) + jnp.squeeze(m, axis=axis)


def _lse_block(z, eps, shift):
    """Row-wise ``LSE((z_ij)/ε)``; stabilised by the row max, or, when ``shift``
    (one number per row) is given, by ``shift`` in a single pass:
    ``log Σ_j exp((shift_i + z_ij)/ε) − shift_i/ε``.  The caller guarantees the
    shifted exponents are ≤ log(mass) (true inside Sinkhorn, see the chapter)."""
    if shift is None:
        return _lse(z / eps, axis=1)
    return jnp.log(jnp.sum(jnp.exp((shift[:, None] + z) / eps), axis=1)) - shift / eps


class _GeometryBase:
    """Shared lazy operations; subclasses provide ``cost_block(rows, cols)``."""

    batch_size: int | None = None

    # -- interface ---------------------------------------------------------
    @property
    def shape(self) -> tuple[int, int]:  # pragma: no cover - overridden
        raise NotImplementedError

    @property
    def cost_matrix(self) -> jax.Array:  # pragma: no cover - overridden
        raise NotImplementedError

    def _row_chunks(self, fn, n_rows: int):
        """Apply ``fn(start, size)`` over row blocks and concatenate (memory O(B·m))."""
        B = self.batch_size
        if B is None or n_rows <= B:
            return fn(0, n_rows)
        n_blocks = -(-n_rows // B)

        def one(i):
            return fn(i * B, B)

        out = jax.lax.map(one, jnp.arange(n_blocks))
        return jax.tree_util.tree_map(lambda o: o.reshape((-1,) + o.shape[2:])[:n_rows], out)

    def _lse(self, v: jax.Array, eps, axis: int) -> jax.Array:  # pragma: no cover - overridden
        raise NotImplementedError

    # -- log-domain kernel applications ---------------------------------------
    def lse_rows(self, g: jax.Array, eps) -> jax.Array:
        """``LSE_j((g_j − C_ij)/ε)`` for every row ``i`` (shape ``(n,)``)."""
        return self._lse(g, eps, axis=1)

    def lse_cols(self, f: jax.Array, eps) -> jax.Array:
        """``LSE_i((f_i − C_ij)/ε)`` for every column ``j`` (shape ``(m,)``)."""
        return self._lse(f, eps, axis=0)

    def plan(self, f: jax.Array, g: jax.Array, eps) -> jax.Array:
        """Materialise ``P_ij = exp((f_i + g_j − C_ij)/ε)`` (``n × m``)."""
        return jnp.exp((f[:, None] + g[None, :] - self.cost_matrix) / eps)

    def transport_cost(self, f: jax.Array, g: jax.Array, eps) -> jax.Array:
        """``⟨C, P⟩`` for the plan of the potentials ``(f, g)``."""
        C = self.cost_matrix
        return jnp.sum(C * jnp.exp((f[:, None] + g[None, :] - C) / eps))


@jax.tree_util.register_pytree_node_class
class Geometry(_GeometryBase):
    """An explicit cost matrix ``C`` (``n × m``).

    Args:
      cost_matrix: ``n × m`` finite real matrix (lists and integers are converted).

    Raises:
      TypeError: non-numeric ``cost_matrix``.
      ValueError: not 2-D, empty, or with NaN/inf entries.
    """

    def __init__(self, cost_matrix: Any):
        """Validate and store ``cost_matrix`` (see the class)."""
        arr = as_float_array("cost_matrix", cost_matrix, ndim=2)
        _require_nonempty("cost_matrix", arr)
        self._cost = arr

    @property
    def cost_matrix(self) -> jax.Array:
        return jnp.asarray(self._cost)

    @property
    def shape(self) -> tuple[int, int]:
        n, m = jnp.shape(self._cost)
        return n, m

    def _lse(self, v, eps, axis, shift=None):
        C = self.cost_matrix
        if axis == 1:
            return _lse_block(v[None, :] - C, eps, shift)
        return _lse_block((v[:, None] - C).T, eps, shift)

    def tree_flatten(self):
        return (self._cost,), None

    @classmethod
    def tree_unflatten(cls, aux, children):
        obj = object.__new__(cls)
        obj._cost = children[0]
        return obj

    def __repr__(self) -> str:
        return f"Geometry(shape={self.shape})"


@jax.tree_util.register_pytree_node_class
class PointCloud(_GeometryBase):
    """Two point clouds with cost ``c(x, y) = ‖x − y‖₂^p / scale``.

    ``power=2`` is the squared Euclidean cost (computed as ‖x‖² + ‖y‖² − 2⟨x, y⟩,
    clipped at 0).  ``scale`` divides the cost: a number, or ``"max"`` to
    normalise the cost to a maximum of 1 (computed once, blockwise).
    ``batch_size=None`` lets XLA build the cost inside each kernel
    application; an integer ``B`` computes the log-sum-exps in blocks of ``B``
    rows/columns, so memory stays ``O(B · max(n, m))`` and the ``n × m`` cost
    is never stored (the cost is recomputed on the fly every iteration).

    Args:
      x: the ``(n, d)`` source points, finite (one point per row).
      y: the ``(m, d)`` target points, finite.
      power: exponent ``p > 0`` of the cost (a Python number: it is static).
      scale: positive number dividing the cost, or ``"max"``.
      batch_size: ``None`` or a positive integer (rows per block).

    Raises:
      TypeError: non-numeric arrays, ``power`` or ``scale``; non-integer ``batch_size``.
      ValueError: wrong dimensions, empty clouds, NaN/inf, non-positive parameters.
    """

    def __init__(
        self, x: Any, y: Any, *, power: float = 2.0, scale: Any = 1.0, batch_size: int | None = None
    ):
        """Validate and store the clouds and the cost's parameters (see the class)."""
        x = as_float_array("x", x, ndim=2)
        y = as_float_array("y", y, ndim=2)
        _require_nonempty("x", x)
        _require_nonempty("y", y)
        if jnp.shape(x)[1] != jnp.shape(y)[1]:
            raise ValueError(
                f"x and y must have the same dimension, got x.shape={tuple(jnp.shape(x))} "
                f"and y.shape={tuple(jnp.shape(y))}"
            )
        if isinstance(power, jax.core.Tracer):
            raise TypeError("power must be a Python number (it is static), got a traced value")
        require_positive("power", power)
        if jnp.ndim(power) != 0:
            raise ValueError(f"power must be a scalar, got shape {jnp.shape(power)}")
        if batch_size is not None:
            require_int("batch_size", batch_size, minimum=1)
        self.x, self.y = x, y
        self.power = float(power)
        self.batch_size = None if batch_size is None else int(batch_size)
        if isinstance(scale, str):
            if scale != "max":
                raise ValueError(f"scale must be a positive number or 'max', got {scale!r}")
            self.scale = jnp.asarray(1.0, dtype=jnp.result_type(x))
            self.scale = self._max_cost()
        else:
            require_positive("scale", scale)
            if jnp.ndim(scale) != 0:
                raise ValueError(f"scale must be a scalar or 'max', got shape {jnp.shape(scale)}")
            self.scale = scale

    # raw cost of a block of rows of x against all of y
    def _raw(self, xb: jax.Array, yb: jax.Array) -> jax.Array:
        # HIGHEST: a TF32 product (GPU default) would ruin ‖x‖² + ‖y‖² − 2⟨x, y⟩
        sq = (
            jnp.sum(xb**2, axis=1)[:, None]
            + jnp.sum(yb**2, axis=1)[None, :]
            - 2.0 * jnp.dot(xb, yb.T, precision=jax.lax.Precision.HIGHEST)
        )
        sq = jnp.maximum(sq, 0.0)
        if self.power == 2.0:
            return sq
        return sq ** (self.power / 2.0)

    def _cost(self, xb, yb):
        return self._raw(xb, yb) / self.scale

    def _max_cost(self):
        n = self.x.shape[0]

        def blk(start, size):
            xb = jax.lax.dynamic_slice_in_dim(self._xpad(size), start, size)
            valid = (start + jnp.arange(size)) < n
            return jnp.where(valid, jnp.max(self._raw(xb, self.y), axis=1), -jnp.inf)

        return jnp.max(self._row_chunks(blk, n))

    def _xpad(self, size):
        return self._pad(self.x, size)

    def _pad(self, z, size):
        B = self.batch_size
        if B is None or z.shape[0] <= B:
            return z
        n_blocks = -(-z.shape[0] // B)
        return jnp.pad(z, ((0, n_blocks * B - z.shape[0]), (0, 0)))

    @property
    def shape(self) -> tuple[int, int]:
        return (self.x.shape[0], self.y.shape[0])

    @property
    def cost_matrix(self) -> jax.Array:
        """The full ``n × m`` cost (materialised: O(nm) memory)."""
        return self._cost(self.x, self.y)

    def _lse(self, v, eps, axis, shift=None):
        # axis=1: rows of x against all y, potentials v on y; axis=0: swap roles.
        src, other = (self.x, self.y) if axis == 1 else (self.y, self.x)
        n = src.shape[0]
        srcp = self._pad(src, n)

        def blk(start, size):
            sb = jax.lax.dynamic_slice_in_dim(srcp, start, size)
            C = self._cost(sb, other)  # (size, len(other))
            sh = None if shift is None else jax.lax.dynamic_slice_in_dim(shp, start, size)
            return _lse_block(v[None, :] - C, eps, sh)

        shp = None if shift is None else self._pad(shift[:, None], n)[:, 0]
        return self._row_chunks(blk, n)

    def transport_cost(self, f, g, eps):
        n = self.x.shape[0]
        xp, fp = self._pad(self.x, n), self._pad(f[:, None], n)[:, 0]

        def blk(start, size):
            xb = jax.lax.dynamic_slice_in_dim(xp, start, size)
            fb = jax.lax.dynamic_slice_in_dim(fp, start, size)
            C = self._cost(xb, self.y)
            valid = ((start + jnp.arange(size)) < n)[:, None]
            P = jnp.where(valid, jnp.exp((fb[:, None] + g[None, :] - C) / eps), 0.0)
            return jnp.sum(C * P, axis=1)

        return jnp.sum(self._row_chunks(blk, n))

    def tree_flatten(self):
        return (self.x, self.y, self.scale), (self.power, self.batch_size)

    @classmethod
    def tree_unflatten(cls, aux, children):
        obj = object.__new__(cls)
        obj.x, obj.y, obj.scale = children
        obj.power, obj.batch_size = aux
        return obj

    def __repr__(self) -> str:
        return f"PointCloud(shape={self.shape}, power={self.power}, batch_size={self.batch_size})"


def _as_geometry(geom: Any, name: str = "geom") -> _GeometryBase:
    if isinstance(geom, _GeometryBase):
        return geom
    if geom is None or isinstance(geom, (str, bytes, dict, set)):
        raise TypeError(
            f"{name} must be a Geometry, a PointCloud or a cost matrix, got {type(geom).__name__}"
        )
    try:
        arr = as_float_array("cost_matrix", geom, ndim=2)
        _require_nonempty("cost_matrix", arr)
    except (TypeError, ValueError) as err:
        raise type(err)(f"{err} (the cost matrix passed as {name})") from None
    return Geometry(arr)


def _require_nonempty(name, x):
    if 0 in tuple(jnp.shape(x)):
        raise ValueError(f"{name} must be non-empty, got shape {tuple(jnp.shape(x))}")


def _require_no_nan(name, x):
    """Potentials may be −∞ (zero-weight rows); refuse NaN and +∞ (concrete values)."""
    if is_concrete(x):
        arr = _as_numpy(x, name)
        if np.any(np.isnan(arr)) or np.any(arr == np.inf):
            raise ValueError(f"{name} contains NaN or +inf entries")


def _require_static_positive(name, value):
    """A positive number used as a static (compile-time) argument; returns it as a float."""
    if value is None or isinstance(value, (str, bytes, bool, np.bool_)):
        raise TypeError(f"{name} must be a positive number, got {type(value).__name__}")
    if isinstance(value, jax.core.Tracer):
        raise TypeError(f"{name} must be a concrete number (it is static), got a traced value")
    require_positive(name, value)
    if np.ndim(value) != 0:
        raise ValueError(f"{name} must be a scalar, got shape {np.shape(value)}")
    return float(value)


# ---------------------------------------------------------------------------
# validation
# ---------------------------------------------------------------------------


def check_marginals(
    geom: _GeometryBase,
    a: Float[ArrayLike, " n"] | None,
    b: Float[ArrayLike, " m"] | None,
    *,
    rtol: float = 1e-5,
) -> tuple[Float[Array, " n"], Float[Array, " m"]]:
    """Validate ``a``, ``b`` against the geometry; return them as arrays.

    Args:
      geom: a :class:`Geometry`, :class:`PointCloud` or an ``n × m`` cost matrix.
      a, b: marginals of shapes ``(n,)`` and ``(m,)``, or ``None`` for uniform ones
        (lists and integer arrays are converted to floats).
      rtol: relative tolerance on the equality of the total masses (> 0).

    Returns:
      ``(a, b)`` as floating arrays.

    Raises:
      TypeError: non-numeric ``a``, ``b``, ``geom`` or ``rtol``.
      ValueError: wrong shapes, negative or non-finite weights, zero mass, or
        unequal total masses.
    """
    geom = _as_geometry(geom)
    require_positive("rtol", rtol)
    n, m = geom.shape
    dt = _geom_dtype(geom)
    a = jnp.full((n,), 1.0 / n, dt) if a is None else as_float_array("a", a, ndim=1, finite=False)
    b = jnp.full((m,), 1.0 / m, dt) if b is None else as_float_array("b", b, ndim=1, finite=False)
    if jnp.shape(a)[0] != n or jnp.shape(b)[0] != m:
        raise ValueError(
            f"shape mismatch: cost is {n}×{m} but a has shape {tuple(jnp.shape(a))} "
            f"and b has shape {tuple(jnp.shape(b))}"
        )
    if is_concrete((a, b)):
        an, bn = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
        for name, v in (("a", an), ("b", bn)):
            if not np.all(np.isfinite(v)):
                raise ValueError(f"{name} contains NaN or infinite entries")
            if np.any(v < 0):
                raise ValueError(f"marginal {name} must be non-negative, got a minimum of {v.min()!r}")
            if v.sum() <= 0:
                raise ValueError(f"marginal {name} must have positive mass, got {v.sum()!r}")
        if abs(an.sum() - bn.sum()) > rtol * max(an.sum(), bn.sum()):
            raise ValueError(
                f"marginals must have the same total mass, got sum(a)={an.sum()!r} and sum(b)={bn.sum()!r}"
            )
    return a, b


def _check_eps(eps):
    if eps is None or isinstance(eps, (str, bytes)):
        raise TypeError(f"eps must be a positive number, got {type(eps).__name__}")
    if is_concrete(eps):
        arr = _as_numpy(eps, "eps")
        if arr.ndim != 0:
            raise ValueError(f"eps must be a scalar (vmap over several values), got shape {arr.shape}")
        if not np.all(np.isfinite(arr)) or not np.all(arr > 0):
            raise ValueError(f"eps must be positive and finite, got {eps!r}")


def _check_geometry(geom):
    if isinstance(geom, Geometry):
        require_finite("cost_matrix", geom._cost)


def _geom_dtype(geom):
    raw = geom._cost if isinstance(geom, Geometry) else geom.x
    return jnp.result_type(jnp.asarray(raw).dtype if is_concrete(raw) else raw.dtype, float)


# ---------------------------------------------------------------------------
# helpers on potentials
# ---------------------------------------------------------------------------


def plan_from_potentials(
    geom: _GeometryBase, f: Float[Array, " n"], g: Float[Array, " m"], eps: float | Float[Array, ""]
) -> Float[Array, "n m"]:
    """``P_ij = exp((f_i + g_j − C_ij)/ε)`` (materialised).

    Args:
      geom: a :class:`Geometry`, :class:`PointCloud` or an ``n × m`` cost matrix.
      f, g: potentials of shapes ``(n,)`` and ``(m,)``; ``−∞`` marks a zero-weight
        row/column (as the solvers return), NaN and ``+∞`` are refused.
      eps: ``ε > 0``.

    Returns:
      The ``n × m`` plan.

    Raises:
      TypeError, ValueError: invalid arguments (named in the message).
    """
    geom = _as_geometry(geom)
    n, m = geom.shape
    f = as_float_array("f", f, ndim=1, finite=False)
    g = as_float_array("g", g, ndim=1, finite=False)
    if f.shape[0] != n or g.shape[0] != m:
        raise ValueError(
            f"f and g must have shapes ({n},) and ({m},) for a {n}×{m} cost, got {f.shape} and {g.shape}"
        )
    _require_no_nan("f", f)
    _require_no_nan("g", g)
    _check_eps(eps)
    return geom.plan(f, g, eps)


def marginal_error(P: Float[Array, "n m"], a: Float[Array, " n"], b: Float[Array, " m"]) -> Float[Array, ""]:
    """L1 marginal error ``‖P1 − a‖₁ + ‖Pᵀ1 − b‖₁``.

    Args:
      P: ``n × m`` plan (finite).
      a, b: target marginals of shapes ``(n,)`` and ``(m,)`` (finite).

    Returns:
      A scalar.

    Raises:
      TypeError, ValueError: non-numeric input, wrong shapes, NaN/inf.
    """
    P = as_float_array("P", P, ndim=2)
    a = as_float_array("a", a, ndim=1)
    b = as_float_array("b", b, ndim=1)
    if a.shape[0] != P.shape[0] or b.shape[0] != P.shape[1]:
        raise ValueError(
            f"a and b must have shapes ({P.shape[0]},) and ({P.shape[1]},) for a "
            f"plan P of shape {P.shape}, got {a.shape} and {b.shape}"
        )
    return jnp.sum(jnp.abs(P.sum(1) - a)) + jnp.sum(jnp.abs(P.sum(0) - b))


def _safe_log(a):
    return jnp.where(a > 0, jnp.log(jnp.where(a > 0, a, 1.0)), -jnp.inf)


def _costs(geom, a, b, f, g, eps):
    """(regularised cost, transport cost) from potentials.

    Regularised cost = dual value for ``⟨C,P⟩ + ε KL(P‖a⊗b)``:
    ``Σ a_i(f_i − ε log a_i) + Σ b_j(g_j − ε log b_j) − ε(Σ P − Σa Σb)``.
    """
    # In the shifted potentials f̃ = f − ε log a, g̃ = g − ε log b of the ``KL(P‖a⊗b)``
    # dual.  On a zero-weight row (f_i = −∞) f̃_i is the c-transform
    # ``−ε LSE_j((g_j − C_ij)/ε)``, which is finite: then ∂/∂a_i is the one-sided
    # derivative f̃_i − ε + ε Σb (Danskin), as on rows with a_i > 0.  Every log is of a
    # positive number and the zero-valued terms ``−ε Σ_{a_i=0} a_i`` supply the −ε of
    # the mass term on zero rows/columns, so the gradient has no 0·∞ = NaN.
    pos_a, pos_b = a > 0, b > 0
    la = jnp.log(jnp.where(pos_a, a, 1.0))
    lb = jnp.log(jnp.where(pos_b, b, 1.0))
    lr = geom.lse_rows(g, eps)  # LSE_j((g_j − C_ij)/ε)
    ft = jnp.where(pos_a, jnp.where(pos_a, f, 0.0) - eps * la, -eps * lr)
    gt = jnp.where(pos_b, jnp.where(pos_b, g, 0.0) - eps * lb, -eps * geom.lse_cols(f, eps))
    mass_p = jnp.sum(jnp.exp(f / eps + lr))
    zero_mass = jnp.sum(jnp.where(pos_a, 0.0, a)) + jnp.sum(jnp.where(pos_b, 0.0, b))
    reg = jnp.sum(a * ft) + jnp.sum(b * gt) - eps * (mass_p - jnp.sum(a) * jnp.sum(b)) - eps * zero_mass
    return reg, geom.transport_cost(f, g, eps)


# ---------------------------------------------------------------------------
# Sinkhorn
# ---------------------------------------------------------------------------


class SinkhornOutput(NamedTuple):
    """Result of :func:`sinkhorn`.

    Attributes:
      f, g: dual potentials (plan ``P_ij = exp((f_i + g_j − C_ij)/ε)``).
      errors: L1 marginal error ``‖P1 − a‖₁`` (columns are exact after each
        ``g`` update) before iteration ``k``; ``-1`` after the solver stopped.
      converged: error reached ``tol`` within ``num_steps`` iterations.
      n_iters: iterations performed.
      reg_ot_cost: ``⟨C,P⟩ + ε KL(P‖a⊗b)`` (evaluated through the dual).
      transport_cost: ``⟨C, P⟩``.
      geom: the geometry the problem was solved on (a :class:`Geometry` or
        :class:`PointCloud`; a cost matrix passed to :func:`sinkhorn` is wrapped in a
        :class:`Geometry`); with ``eps`` it lets :meth:`plan` materialise ``P`` on demand.
      eps: the entropic regularisation ``ε`` the potentials solve for.
    """

    f: jax.Array
    g: jax.Array
    errors: jax.Array
    converged: Bool[Array, ""]
    n_iters: Int[Array, ""]
    reg_ot_cost: jax.Array
    transport_cost: jax.Array
    geom: Any
    eps: jax.Array

    @property
    def params(self) -> tuple[jax.Array, jax.Array]:
        """The final point: the dual potentials ``(f, g)`` the method iterates on."""
        return self.f, self.g

    def plan(self) -> Float[Array, "n m"]:
        """Materialise the ``n × m`` transport plan on demand."""
        return self.geom.plan(self.f, self.g, self.eps)


def _g_update(geom, f, lb, eps):
    return eps * lb - eps * geom.lse_cols(f, eps)


# region: ot-sinkhorn-step
def _lse_shifted(geom, v, shift, eps, axis, w):
    """One-pass LSE stabilised by the current potential ``shift`` (exponents
    ``(shift_i + v_j − C_ij)/ε ≤ log(mass)`` because the other marginal was just
    matched); falls back to the max-stabilised two-pass LSE if a row under- or
    overflows (``lax.cond``: the fallback costs nothing when unused)."""
    sh = jnp.where(jnp.isfinite(shift), shift, 0.0)
    out = geom._lse(v, eps, axis, shift=sh)
    log_tiny = math.log(float(jnp.finfo(out.dtype).tiny)) + 10.0
    bad = jnp.any((w > 0) & ~((out + sh / eps) > log_tiny) | ~jnp.isfinite(out) & (w > 0))
    return jax.lax.cond(bad, lambda: geom._lse(v, eps, axis), lambda: out)


def _sinkhorn_step(geom, la, lb, a, eps, f, g):
    """One full iteration; returns (f, g, error of the input (f, g))."""
    lr = _lse_shifted(geom, g, f, eps, 1, a)
    row = jnp.exp(f / eps + lr)
    err = jnp.sum(jnp.where(a > 0, jnp.abs(row - a), row))
    f_new = eps * la - eps * lr
    f_new = jnp.where(a > 0, f_new, -jnp.inf)  # exact zero rows
    g_new = eps * lb - eps * _lse_shifted(geom, f_new, g, eps, 0, jnp.exp(lb))
    return f_new, g_new, err
    # endregion: ot-sinkhorn-step


def _init(geom, a, b, eps, init):
    n, m = geom.shape
    dt = jnp.result_type(
        geom.cost_matrix.dtype if isinstance(geom, Geometry) else geom.x.dtype, jnp.asarray(a).dtype, float
    )
    f = jnp.zeros((n,), dt) if init is None else jnp.asarray(init[0], dt)
    lb = _safe_log(b).astype(dt)
    # zero-weight rows/columns carry exactly zero mass from the start: f_i = −∞ where
    # a_i = 0 (the g update then ignores them), g_j = −∞ where b_j = 0
    f = jnp.where(jnp.asarray(a) > 0, f, -jnp.inf)
    g = _g_update(geom, f, lb, eps) if init is None else jnp.asarray(init[1], dt)
    g = jnp.where(jnp.asarray(b) > 0, g, -jnp.inf)
    return f, g


def _sinkhorn_while(geom, a, b, eps, tol, num_steps, init):
    la, lb = _safe_log(a), _safe_log(b)
    f, g = _init(geom, a, b, eps, init)
    errors = -jnp.ones((num_steps,), f.dtype)

    def cond(s):
        _, _, err, it, _ = s
        return jnp.logical_and(it < num_steps, err > tol)

    def body(s):
        f, g, _, it, errors = s
        f, g, err = _sinkhorn_step(geom, la, lb, a, eps, f, g)
        errors = errors.at[it].set(err)
        return f, g, err, it + 1, errors

    s0 = (f, g, jnp.asarray(jnp.inf, f.dtype), jnp.asarray(0), errors)
    f, g, err, it, errors = jax.lax.while_loop(cond, body, s0)
    return f, g, errors


def _sinkhorn_stab_while(geom, a, b, eps, tol, num_steps, init):
    """Log-stabilised scaling (Schmitzer 2019): plain ``u ← a/(K̃v)``, ``v ← b/(K̃ᵀu)``
    mat-vecs on the *stabilised* kernel ``K̃ = exp((f ⊕ g − C)/ε)``; whenever a
    scaling leaves ``[e^{−τ}, e^{τ}]`` it is absorbed into the log potentials
    ``f += ε log u``, ``g += ε log v`` and ``K̃`` is recomputed.  Same iterates as
    the log-domain method in exact arithmetic; one ``exp`` pass per absorption
    instead of two per iteration."""
    f, g = _init(geom, a, b, eps, init)
    tau = 20.0 if f.dtype == jnp.float32 else 60.0
    tiny = jnp.finfo(f.dtype).tiny
    K = geom.plan(f, g, eps)  # columns sum to b (g from a log-domain update)
    u, v = jnp.ones_like(f), jnp.ones_like(g)
    errors = -jnp.ones((num_steps,), f.dtype)

    def absorb(st):
        f, g, K, u, v = st
        f = f + eps * jnp.log(u)
        g = g + eps * jnp.log(v)
        return f, g, geom.plan(f, g, eps), jnp.ones_like(u), jnp.ones_like(v)

    def cond(s):
        return jnp.logical_and(s[6] < num_steps, s[5] > tol)

    def body(s):
        f, g, K, u, v, _, it, errors = s
        Kv = jnp.sum(K * v[None, :], axis=1)  # multiply-reduce: faster than XLA's CPU gemv
        row = u * Kv
        err = jnp.sum(jnp.where(a > 0, jnp.abs(row - a), row))
        u = jnp.where(a > 0, a / jnp.maximum(Kv, tiny), 1.0)
        Ktu = jnp.sum(K * u[:, None], axis=0)
        v = jnp.where(b > 0, b / jnp.maximum(Ktu, tiny), 1.0)
        big = jnp.maximum(jnp.max(jnp.abs(jnp.log(u))), jnp.max(jnp.abs(jnp.log(v)))) > tau
        f, g, K, u, v = jax.lax.cond(big, absorb, lambda st: st, (f, g, K, u, v))
        return f, g, K, u, v, err, it + 1, errors.at[it].set(err)

    s0 = (f, g, K, u, v, jnp.asarray(jnp.inf, f.dtype), jnp.asarray(0), errors)
    f, g, K, u, v, err, it, errors = jax.lax.while_loop(cond, body, s0)
    return f + eps * jnp.log(u), g + eps * jnp.log(v), errors


def _forward(geom, a, b, eps, tol, num_steps, init, method):
    if method == "stabilized":
        return _sinkhorn_stab_while(geom, a, b, eps, tol, num_steps, init)
    return _sinkhorn_while(geom, a, b, eps, tol, num_steps, init)


def _sinkhorn_unrolled(geom, a, b, eps, tol, num_steps, init):
    """Same iterations in a ``lax.scan`` (reverse-differentiable); frozen after convergence."""
    la, lb = _safe_log(a), _safe_log(b)
    f, g = _init(geom, a, b, eps, init)

    def body(s, _):
        f, g, done = s
        f2, g2, err = _sinkhorn_step(geom, la, lb, a, eps, f, g)
        done2 = jnp.logical_or(done, err <= tol)
        f = jnp.where(done2, f, f2)
        g = jnp.where(done2, g, g2)
        return (f, g, done2), jnp.where(done, -1.0, err).astype(f.dtype)

    (f, g, _), errors = jax.lax.scan(body, (f, g, jnp.asarray(False)), None, length=num_steps)
    return f, g, errors


def _marginal_residual(geom, a, b, eps, f, g):
    """F(f, g; θ) = (a − P1, b − Pᵀ1): zero at the Sinkhorn fixed point."""
    row = jnp.exp(f / eps + geom.lse_rows(g, eps))
    col = jnp.exp(g / eps + geom.lse_cols(f, eps))
    return a - row, b - col


def _cg_solve(matvec, rhs, tol, num_steps):
    sol, _ = jax.scipy.sparse.linalg.cg(matvec, rhs, tol=tol, maxiter=num_steps)
    return sol


@functools.partial(jax.custom_vjp, nondiff_argnums=(4, 5, 6, 7, 8))
def _implicit_potentials(geom, a, b, eps, tol, num_steps, cg_tol, cg_num_steps, method):
    return _forward(geom, a, b, eps, tol, num_steps, None, method)


def _implicit_fwd(geom, a, b, eps, tol, num_steps, cg_tol, cg_num_steps, method):
    f, g, errors = _forward(geom, a, b, eps, tol, num_steps, None, method)
    return (f, g, errors), (geom, a, b, eps, f, g)


def _implicit_bwd(tol, num_steps, cg_tol, cg_num_steps, method, res, cts):
    """Implicit function theorem at F(z; θ) = 0 with z = (f, g).

    ∂F/∂z = −M/ε with M = [[diag(P1), P], [Pᵀ, diag(Pᵀ1)]] (PSD, kernel (1, −1)).
    θ̄ = (∂F/∂θ)ᵀ λ with M λ = ε z̄, z̄ projected off the kernel.
    """
    geom, a, b, eps, f, g = res
    cf, cg, _ = cts
    P = geom.plan(f, g, eps)
    r, c = P.sum(1), P.sum(0)
    n = f.shape[0]
    # the system lives on the support: zero-weight rows/columns (f_i or g_j = −∞, no
    # mass) get λ = 0 (identity block, zero right-hand side), so they cannot blow up
    sa, sb = a > 0, b > 0
    cf, cg = jnp.where(sa, cf, 0.0), jnp.where(sb, cg, 0.0)
    shift = (jnp.sum(cf) - jnp.sum(cg)) / (jnp.sum(sa) + jnp.sum(sb))
    rhs = jnp.concatenate([jnp.where(sa, cf - shift, 0.0), jnp.where(sb, cg + shift, 0.0)]) * eps
    r, c = jnp.where(sa, r, jnp.max(r)), jnp.where(sb, c, jnp.max(c))
    ridge = 1e-12 * jnp.max(r)
    hi = jax.lax.Precision.HIGHEST  # no TF32 mat-vecs on GPUs

    def M(v):
        v1, v2 = v[:n], v[n:]
        return (
            jnp.concatenate([r * v1 + jnp.dot(P, v2, precision=hi), jnp.dot(P.T, v1, precision=hi) + c * v2])
            + ridge * v
        )

    lam = _cg_solve(M, rhs, cg_tol, cg_num_steps)
    lam_f, lam_g = lam[:n], lam[n:]
    # the minimum-norm solution: drop the kernel component (1, −1) on the support,
    # which rounding (float32) lets CG pick up; it would shift ∂/∂a on the support
    # against the zero-weight rows (and ∂/∂b the other way)
    kern = (jnp.sum(jnp.where(sa, lam_f, 0.0)) - jnp.sum(jnp.where(sb, lam_g, 0.0))) / (
        jnp.sum(sa) + jnp.sum(sb)
    )
    lam = (jnp.where(sa, lam_f - kern, 0.0), jnp.where(sb, lam_g + kern, 0.0))
    _, vjp = jax.vjp(lambda gm, aa, bb, ee: _marginal_residual(gm, aa, bb, ee, f, g), geom, a, b, eps)
    return vjp(lam)


_implicit_potentials.defvjp(_implicit_fwd, _implicit_bwd)


@functools.partial(
    jax.jit, static_argnames=("tol", "num_steps", "differentiation", "cg_tol", "cg_num_steps", "method")
)
def _sinkhorn_jit(geom, a, b, eps, init, *, tol, num_steps, differentiation, cg_tol, cg_num_steps, method):
    eps = jnp.asarray(eps, dtype=jnp.result_type(a, float))
    if differentiation == "unroll":
        f, g, errors = _sinkhorn_unrolled(geom, a, b, eps, tol, num_steps, init)
    elif init is not None:
        f, g, errors = _forward(geom, a, b, eps, tol, num_steps, init, method)
    else:
        f, g, errors = _implicit_potentials(geom, a, b, eps, tol, num_steps, cg_tol, cg_num_steps, method)
    n_iters = jnp.sum(errors >= 0)
    last = jnp.where(n_iters > 0, errors[jnp.maximum(n_iters - 1, 0)], jnp.inf)
    # converged if the last recorded error (before the final update) met tol
    converged = last <= tol
    reg, tc = _costs(geom, a, b, f, g, eps)
    return SinkhornOutput(f, g, errors, converged, n_iters, reg, tc, geom, eps)


def sinkhorn(
    geom: Float[ArrayLike, "n m"] | _GeometryBase,
    a: Float[ArrayLike, " n"] | None = None,
    b: Float[ArrayLike, " m"] | None = None,
    eps: float | Float[Array, ""] = 1e-2,
    *,
    tol: float = 1e-6,
    num_steps: int = 1000,
    method: str = "log",
    differentiation: str = "implicit",
    init: tuple[Float[Array, " n"], Float[Array, " m"]] | None = None,
    cg_tol: float = 1e-10,
    cg_num_steps: int = 500,
) -> SinkhornOutput:
    r"""Log-domain Sinkhorn for entropic OT (Cuturi 2013; Peyré & Cuturi 2019).

    Iterates ``f ← ε log a − ε LSE_j((g_j − C_ij)/ε)``,
    ``g ← ε log b − ε LSE_i((f_i − C_ij)/ε)`` (block coordinate ascent on the
    dual ``L(f, g)``) until the L1 marginal error ``‖P1 − a‖₁ ≤ tol``, inside one
    ``lax.while_loop`` (``jit`` compiled; ``vmap``-able over problems).

    Args:
      geom: a :class:`Geometry`, :class:`PointCloud` or a cost matrix.
      a, b: marginals (default uniform), non-negative with equal mass.
      eps: entropic regularisation ``ε > 0``.
      tol: stop when the L1 marginal error ``‖P1 − a‖₁ ≤ tol`` (> 0).
      num_steps: cap on the iterations (≥ 1).
      method: ``"log"`` (two log-sum-exp passes per iteration; never stores the
        kernel, works with online point clouds) or ``"stabilized"`` (log-stabilised
        scaling: plain mat-vecs on an absorbed kernel ``K̃``, recomputed only when
        the scalings leave ``[e^{−τ}, e^{τ}]``; stores ``K̃`` (n × m); much
        cheaper per iteration, same iterates).
      differentiation: ``"implicit"`` (custom VJP from the implicit function
        theorem at the fixed point, solved by CG) or ``"unroll"`` (log-domain
        iterations in a ``lax.scan``, differentiated step by step).
      init: optional warm start ``(f, g)``.
      cg_tol, cg_num_steps: CG tolerance (> 0) and iteration cap (≥ 1) of the
        implicit backward pass.

    Returns:
      :class:`SinkhornOutput` (``out.plan()`` materialises the plan).  Rows
      (columns) with zero weight carry exactly zero mass (potential ``−∞``).

    Raises:
      TypeError, ValueError: invalid arguments (named in the message).
    """
    geom = _as_geometry(geom)
    _check_geometry(geom)
    a, b = check_marginals(geom, a, b)
    _check_eps(eps)
    require_int("num_steps", num_steps, minimum=1)
    _require_choice("method", method, ("log", "stabilized"))
    _require_choice("differentiation", differentiation, ("implicit", "unroll"))
    tol = _require_static_positive("tol", tol)
    cg_tol = _require_static_positive("cg_tol", cg_tol)
    require_int("cg_num_steps", cg_num_steps, minimum=1)
    if init is not None:
        n, m = geom.shape
        if not (isinstance(init, (tuple, list)) and len(init) == 2):
            raise TypeError(f"init must be a pair (f, g) of potentials, got {type(init).__name__}")
        f0 = as_float_array("init", init[0], ndim=1, finite=False)
        g0 = as_float_array("init", init[1], ndim=1, finite=False)
        if f0.shape[0] != n or g0.shape[0] != m:
            raise ValueError(
                f"init must hold potentials of shapes ({n},) and ({m},), got {f0.shape} and {g0.shape}"
            )
        _require_no_nan("init", (f0, g0))
        init = (f0, g0)
    return _sinkhorn_jit(
        geom,
        a,
        b,
        eps,
        init,
        tol=tol,
        num_steps=int(num_steps),
        differentiation=differentiation,
        cg_tol=cg_tol,
        cg_num_steps=int(cg_num_steps),
        method=method,
    )


def _require_choice(name, value, choices):
    if not isinstance(value, str):
        raise TypeError(f"{name} must be one of {choices}, got {type(value).__name__}")
    if value not in choices:
        raise ValueError(f"{name} must be " + " or ".join(repr(c) for c in choices) + f", got {value!r}")


def sinkhorn_naive(
    C: Float[ArrayLike, "n m"] | _GeometryBase,
    a: Float[ArrayLike, " n"] | None,
    b: Float[ArrayLike, " m"] | None,
    eps: float,
    *,
    num_steps: int = 100,
):
    """Textbook (non-log) Sinkhorn: ``u ← a / (K v)``, ``v ← b / (Kᵀ u)``, ``K = e^{−C/ε}``.

    Kept to *show* its failure at small ε: ``K`` underflows to 0 (then ``0/0``
    gives NaN) or the scalings overflow.  Returns ``(P, errors)`` with the plan
    ``diag(u) K diag(v)`` and the L1 marginal error per iteration.

    Args:
      C: ``n × m`` cost matrix (or a geometry).
      a, b: marginals (``None`` for uniform).
      eps: ``ε > 0``.
      num_steps: iterations (≥ 1).

    Returns:
      ``(P, errors)``.  NaN in them at small ε is the point of this function (the
      breakdown), not a validation failure.

    Raises:
      TypeError, ValueError: invalid arguments (named in the message).
    """
    geom = _as_geometry(C, "C")
    a, b = check_marginals(geom, a, b)
    _check_eps(eps)
    require_int("num_steps", num_steps, minimum=1)
    return _naive_jit(
        geom.cost_matrix, a, b, jnp.asarray(eps, jnp.result_type(a, float)), num_steps=int(num_steps)
    )


@functools.partial(jax.jit, static_argnames=("num_steps",))
def _naive_jit(C, a, b, eps, *, num_steps):
    K = jnp.exp(-C / eps)

    def body(carry, _):
        u, v = carry
        u = a / jnp.dot(K, v, precision=jax.lax.Precision.HIGHEST)
        v = b / jnp.dot(K.T, u, precision=jax.lax.Precision.HIGHEST)
        P = u[:, None] * K * v[None, :]
        return (u, v), jnp.sum(jnp.abs(P.sum(1) - a))

    (u, v), errs = jax.lax.scan(body, (jnp.ones_like(a), jnp.ones_like(b)), None, length=num_steps)
    return u[:, None] * K * v[None, :], errs


# ---------------------------------------------------------------------------
# Sinkhorn-Newton-Sparse
# ---------------------------------------------------------------------------

SNS_STATUS = {
    0: "converged: marginal error <= tol",
    1: "not converged: the num_steps budget was used (Newton steps were still being accepted)",
    2: "not converged: the num_steps budget was used and the last Newton step was rejected "
    "(no ascent direction or no sufficient increase along it: the sparsified Newton "
    "system is too ill-conditioned at this eps / precision; a Sinkhorn step was taken "
    "instead); raise num_steps, lower threshold, or use float64",
    3: "not converged: the iterate became non-finite; the best finite iterate is returned",
}


class SNSOutput(NamedTuple):
    """Result of :func:`sinkhorn_newton_sparse`.

    ``(f, g)`` (also ``params``) is the *best* iterate seen (smallest marginal error, never
    worse than the warm start); ``plan()`` materialises its plan and ``message`` spells out
    ``status``.

    Attributes:
      f: the dual potential on the source, ``(n,)``.
      g: the dual potential on the target, ``(m,)``.
      errors: the warm-up Sinkhorn errors, then the L1 marginal errors
        ``‖P1 − a‖₁ + ‖Pᵀ1 − b‖₁`` of the iterate before each Newton step and after the last
        one (``-1`` unused).
      densities: the fraction of plan entries kept in the sparsified Hessian at each Newton
        step.
      cg_num_steps: the CG iterations of each Newton step.
      converged: the marginal error reached ``tol``.
      n_sinkhorn: the warm-up Sinkhorn steps.
      n_iters: the Newton (or fallback Sinkhorn) steps after the warm-up.
      reg_ot_cost: ``⟨C,P⟩ + ε KL(P‖a⊗b)`` at ``(f, g)`` (evaluated through the dual).
      transport_cost: ``⟨C, P⟩``.
      geom: the geometry (cost) solved on.
      eps: the entropic regularisation ``ε``.
      n_rejected: the Newton steps rejected (not an ascent direction, or the backtracking
        line search failed) and replaced by a Sinkhorn step.
      status: a code of :data:`SNS_STATUS`.
    """

    f: Float[Array, " n"]
    g: Float[Array, " m"]
    errors: jax.Array
    densities: jax.Array
    cg_num_steps: jax.Array
    converged: Bool[Array, ""]
    n_sinkhorn: jax.Array
    n_iters: Int[Array, ""]
    reg_ot_cost: jax.Array
    transport_cost: jax.Array
    geom: Any
    eps: jax.Array
    n_rejected: Any = 0
    status: Any = 0

    @property
    def params(self) -> tuple[jax.Array, jax.Array]:
        """The final point: the dual potentials ``(f, g)`` (the best iterate)."""
        return self.f, self.g

    def plan(self) -> Float[Array, "n m"]:
        """Materialise the ``n × m`` transport plan."""
        return self.geom.plan(self.f, self.g, self.eps)

    @property
    def message(self) -> str:
        """Why the solver stopped, in words (concrete outputs only)."""
        return SNS_STATUS[int(self.status)]


def _cg_count(matvec, rhs, tol, num_steps):
    """Plain CG from 0 with an iteration counter (relative residual ``tol``)."""
    x = jnp.zeros_like(rhs)
    r = rhs
    p = r
    rs = jnp.dot(r, r)
    stop = (tol * jnp.linalg.norm(rhs)) ** 2

    def cond(s):
        _, _, _, rs, k = s
        return (k < num_steps) & (rs > stop) & jnp.isfinite(rs)

    def body(s):
        x, r, p, rs, k = s
        Ap = matvec(p)
        pAp = jnp.dot(p, Ap)
        alpha = jnp.where(pAp > 0, rs / jnp.where(pAp > 0, pAp, 1.0), 0.0)
        x = x + alpha * p
        r = r - alpha * Ap
        rs_new = jnp.where(pAp > 0, jnp.dot(r, r), 0.0)  # breakdown: stop
        p = r + (rs_new / jnp.where(rs > 0, rs, 1.0)) * p
        return x, r, p, rs_new, k + 1

    x, _, _, _, k = jax.lax.while_loop(cond, body, (x, r, p, rs, jnp.asarray(0)))
    return x, k


@functools.partial(
    jax.jit, static_argnames=("warmup", "num_steps", "tol", "cg_tol", "cg_num_steps", "max_backtracks")
)
def _sns_jit(geom, a, b, eps, threshold, *, warmup, num_steps, tol, cg_tol, cg_num_steps, max_backtracks):
    eps = jnp.asarray(eps, dtype=jnp.result_type(a, float))
    la, lb = _safe_log(a), _safe_log(b)
    n, m = geom.shape
    f, g = _init(geom, a, b, eps, None)

    # --- stage 1: Sinkhorn warm-up -------------------------------------------
    def sk(i, s):
        f, g, errs = s
        f, g, err = _sinkhorn_step(geom, la, lb, a, eps, f, g)
        return f, g, errs.at[i].set(err)

    errs_sk = -jnp.ones((max(warmup, 1),), f.dtype)
    f, g, errs_sk = jax.lax.fori_loop(0, warmup, sk, (f, g, errs_sk))
    errs_sk = errs_sk[:warmup]

    # region: ot-sns-newton-step
    # --- stage 2: Newton on L(f, g) with a sparsified Hessian -------------------
    # Safeguarded: the step must be an ascent direction of the concave dual and pass a
    # backtracking line search; otherwise it is rejected (never "take the last alpha")
    # and a log-domain Sinkhorn step is taken instead.  The best iterate (smallest
    # marginal error, starting with the warm start) is what the solver returns.
    C = geom.cost_matrix
    hi = jax.lax.Precision.HIGHEST  # dots in full float32 on GPUs (no TF32)

    def plan_and_value(f, g):
        P = jnp.exp((f[:, None] + g[None, :] - C) / eps)
        return P, jnp.dot(f_fin(f), a, precision=hi) + jnp.dot(f_fin(g), b, precision=hi) - eps * jnp.sum(P)

    def f_fin(v):  # −∞ potentials of zero-weight rows/columns contribute 0·(−∞) := 0
        return jnp.where(jnp.isfinite(v), v, 0.0)

    def merr(P):
        return jnp.sum(jnp.abs(P.sum(1) - a)) + jnp.sum(jnp.abs(P.sum(0) - b))

    def cond(s):
        err_best, k = s[10], s[4]
        return jnp.logical_and(k < num_steps, err_best > tol)

    def body(s):
        f, g, P, err, k, errs, dens, cgs, fb, gb, errb, n_rej, rejected = s
        r, c = P.sum(1), P.sum(0)
        L0 = jnp.dot(f_fin(f), a, precision=hi) + jnp.dot(f_fin(g), b, precision=hi) - eps * jnp.sum(r)
        # sparsify: keep P_ij >= threshold * max P (the largest entries of the plan)
        Ps = jnp.where(threshold * jnp.max(P) <= P, P, 0.0)
        dens = dens.at[k].set(jnp.mean(Ps > 0))
        # zero-weight rows/columns are not variables: identity block, zero gradient
        rr, cc = jnp.where(a > 0, r, 1.0), jnp.where(b > 0, c, 1.0)
        ridge = 1e-12 * jnp.max(r)

        def M(v):
            v1, v2 = v[:n], v[n:]
            # multiply-reduce instead of gemv: several times faster on XLA:CPU
            return (
                jnp.concatenate(
                    [rr * v1 + jnp.sum(Ps * v2[None, :], axis=1), jnp.sum(Ps * v1[:, None], axis=0) + cc * v2]
                )
                + ridge * v
            )

        grad = jnp.concatenate([a - r, b - c])
        d, kcg = _cg_count(M, eps * grad, cg_tol, cg_num_steps)
        cgs = cgs.at[k].set(kcg)
        df, dg = d[:n], d[n:]
        shift = (jnp.sum(df) - jnp.sum(dg)) / (n + m)  # drop the (1, −1) kernel component
        df, dg = jnp.where(a > 0, df - shift, 0.0), jnp.where(b > 0, dg + shift, 0.0)
        d = jnp.concatenate([df, dg])
        slope = jnp.dot(grad, d, precision=hi)
        # an ascent direction of the concave dual: ⟨∇L, d⟩ > 0 (M_s is PSD, so CG's
        # answer is one unless CG broke down or rounding dominates)
        ascent = jnp.isfinite(slope) & (slope > 0) & jnp.all(jnp.isfinite(d))
        df, dg = jnp.where(ascent, df, 0.0), jnp.where(ascent, dg, 0.0)

        def accept(alpha, Pt, Lt):
            # Armijo on the concave dual (False for NaN); in float32 the sum over all n·m
            # entries is too noisy for a tiny slope, so a step that lowers the marginal
            # error (the gradient norm) is accepted as well.
            err_t = merr(Pt)
            ok = jnp.isfinite(Lt) & (Lt >= L0 + 1e-4 * alpha * slope)
            return ascent & (ok | (jnp.isfinite(err_t) & (err_t < err)))

        def ls_cond(t):
            _, j, _, _, ok = t
            return jnp.logical_and(j < max_backtracks, jnp.logical_not(ok))

        def ls_body(t):
            alpha, j, _, _, _ = t
            alpha = 0.5 * alpha
            Pt, Lt = plan_and_value(f + alpha * df, g + alpha * dg)
            return alpha, j + 1, Pt, Lt, accept(alpha, Pt, Lt)

        one = jnp.asarray(1.0, f.dtype)
        P1, L1 = plan_and_value(f + df, g + dg)
        alpha, _, Pn, _, ok = jax.lax.while_loop(
            ls_cond, ls_body, (one, jnp.asarray(0), P1, L1, accept(one, P1, L1))
        )

        def newton_step(_):
            return f + alpha * df, g + alpha * dg, Pn

        def sinkhorn_step(_):  # the fallback: one log-domain Sinkhorn iteration
            f2, g2, _ = _sinkhorn_step(geom, la, lb, a, eps, f, g)
            return f2, g2, plan_and_value(f2, g2)[0]

        f, g, P = jax.lax.cond(ok, newton_step, sinkhorn_step, None)
        err = merr(P)
        errs = errs.at[k + 1].set(err)
        better = jnp.isfinite(err) & (err < errb)
        fb, gb = jnp.where(better, f, fb), jnp.where(better, g, gb)
        errb = jnp.where(better, err, errb)
        rejected = jnp.logical_not(ok)
        return (
            f,
            g,
            P,
            err,
            k + 1,
            errs,
            dens,
            cgs,
            fb,
            gb,
            errb,
            n_rej + rejected.astype(jnp.int32),
            rejected,
        )
        # endregion: ot-sns-newton-step

    errs_nt = -jnp.ones((num_steps + 1,), f.dtype)
    P0, _ = plan_and_value(f, g)
    err0 = merr(P0)
    errs_nt = errs_nt.at[0].set(err0)
    dens = jnp.zeros((num_steps,), f.dtype)
    cgs = jnp.zeros((num_steps,), jnp.int32)
    err0b = jnp.where(jnp.isfinite(err0), err0, jnp.inf)
    s0 = (
        f,
        g,
        P0,
        err0,
        jnp.asarray(0),
        errs_nt,
        dens,
        cgs,
        f,
        g,
        err0b,
        jnp.asarray(0, jnp.int32),
        jnp.asarray(False),
    )
    (_, _, _, err_last, k, errs_nt, dens, cgs, f, g, err, n_rej, rejected) = jax.lax.while_loop(
        cond, body, s0
    )
    errors = jnp.concatenate([errs_sk, errs_nt])
    reg, tc = _costs(geom, a, b, f, g, eps)
    converged = err <= tol
    status = jnp.where(converged, 0, jnp.where(~jnp.isfinite(err_last), 3, jnp.where(rejected, 2, 1)))
    return SNSOutput(
        f=f,
        g=g,
        errors=errors,
        densities=dens,
        cg_num_steps=cgs,
        converged=converged,
        n_sinkhorn=jnp.asarray(warmup),
        n_iters=k,
        reg_ot_cost=reg,
        transport_cost=tc,
        geom=geom,
        eps=eps,
        n_rejected=n_rej,
        status=status.astype(jnp.int32),
    )


def sinkhorn_newton_sparse(
    geom: Float[ArrayLike, "n m"] | _GeometryBase,
    a: Float[ArrayLike, " n"] | None = None,
    b: Float[ArrayLike, " m"] | None = None,
    eps: float | Float[Array, ""] = 1e-2,
    *,
    warmup: int = 20,
    threshold: float = 1e-6,
    tol: float = 1e-9,
    num_steps: int = 300,
    cg_tol: float | None = None,
    cg_num_steps: int = 1000,
    max_backtracks: int = 30,
) -> SNSOutput:
    r"""Sinkhorn-Newton-Sparse (Tang et al. 2024).

    Stage 1: ``warmup`` log-domain Sinkhorn iterations.  Stage 2: Newton ascent
    on the concave dual ``L(f, g)``.  Its Hessian is ``−M/ε`` with
    ``M = [[diag(P1), P], [Pᵀ, diag(Pᵀ1)]]``; the off-diagonal blocks are
    *sparsified* by keeping the largest entries of the plan,
    ``P_ij ≥ threshold · max P`` (the diagonal is kept exactly).  The direction
    solves ``M_s Δ = ε ∇L`` by conjugate gradients; the step size by Armijo
    backtracking on ``L`` (a step that lowers the marginal error is also
    accepted, which matters only when rounding makes ``L`` too noisy, in float32).
    Stops when ``‖P1 − a‖₁ + ‖Pᵀ1 − b‖₁ ≤ tol``.

    Safeguards (small ε, where the sparsified system is very ill-conditioned): a
    direction that is not an ascent direction (``⟨∇L, Δ⟩ ≤ 0`` or non-finite), or
    whose line search fails within ``max_backtracks`` halvings, is *rejected* and a
    log-domain Sinkhorn step is taken instead; the returned potentials are the best
    iterate seen (smallest marginal error), so the result is never worse than the
    warm start.  Far from the solution damped Newton needs many steps at small ε
    (≈ 100–200 at ε = 1e-4 on 50 points), hence the default ``num_steps``.

    Materialises the ``n × m`` plan each Newton step; use float64 for tol ≲ 1e-7
    (``cg_tol`` defaults to 1e-11 in float64 and 1e-5 in float32).
    The sparsified matrix is held as a dense masked array, so on CPU/GPU each CG
    step costs a dense mat-vec (multiply-adds, no ``exp``): the memory of a real
    sparse format is not exploited.

    Args:
      geom: a :class:`Geometry`, :class:`PointCloud` or an ``n × m`` cost matrix.
      a, b: marginals (default uniform), non-negative with equal mass.
      eps: entropic regularisation ``ε > 0``.
      warmup: Sinkhorn iterations before Newton (≥ 0).
      threshold: sparsification level in ``[0, 1)`` (0 keeps the dense Hessian).
      tol: stop when the L1 marginal error is ≤ ``tol`` (> 0).
      num_steps: cap on the Newton (or fallback Sinkhorn) steps after the
        warm-up (≥ 1).
      cg_tol: relative residual of the CG solves (> 0; default by dtype).
      cg_num_steps: cap on the CG iterations of each Newton step (≥ 1).
      max_backtracks: halvings of the step before it is rejected (≥ 1).

    Returns:
      :class:`SNSOutput`; ``status`` / ``message`` say why it stopped.

    Raises:
      ValueError, TypeError: invalid arguments (named in the message).
    """
    geom = _as_geometry(geom)
    _check_geometry(geom)
    a, b = check_marginals(geom, a, b)
    _check_eps(eps)
    require_int("warmup", warmup, minimum=0)
    require_int("num_steps", num_steps, minimum=1)
    tol = _require_static_positive("tol", tol)
    if threshold is None or isinstance(threshold, str):
        raise TypeError(f"threshold must be a number in [0, 1), got {type(threshold).__name__}")
    require_in_range("threshold", threshold, 0.0, 1.0, high_inclusive=False)
    if cg_tol is None:
        cg_tol = 1e-11 if jnp.result_type(a, float) == jnp.float64 else 1e-5
    cg_tol = _require_static_positive("cg_tol", cg_tol)
    require_int("cg_num_steps", cg_num_steps, minimum=1)
    require_int("max_backtracks", max_backtracks, minimum=1)
    return _sns_jit(
        geom,
        a,
        b,
        eps,
        jnp.asarray(threshold),
        warmup=int(warmup),
        num_steps=int(num_steps),
        tol=tol,
        cg_tol=cg_tol,
        cg_num_steps=int(cg_num_steps),
        max_backtracks=int(max_backtracks),
    )


# ---------------------------------------------------------------------------
# exact OT (LP)
# ---------------------------------------------------------------------------


class EMDOutput(NamedTuple):
    """Exact OT (a report of an LP solve, not a run): the optimal plan, stored sparse,
    its cost ``⟨C, P⟩`` and the LP status message.

    Attributes:
      rows, cols, masses: the nonzero entries ``P[rows[t], cols[t]] = masses[t]`` of
        the optimal plan (a vertex of the transportation polytope has at most
        ``n + m − 1`` of them).
      shape: ``(n, m)``.
      cost: ``⟨C, P⟩``.
      message: HiGHS' status message.
    """

    rows: np.ndarray
    cols: np.ndarray
    masses: np.ndarray
    shape: tuple[int, int]
    cost: float
    message: str

    def plan(self) -> Float[np.ndarray, "n m"]:
        """The dense ``n × m`` optimal plan (float64, NumPy)."""
        P = np.zeros(self.shape)
        P[self.rows, self.cols] = self.masses
        return P


def emd(
    C: Float[ArrayLike, "n m"] | _GeometryBase,
    a: Float[ArrayLike, " n"] | None = None,
    b: Float[ArrayLike, " m"] | None = None,
) -> EMDOutput:
    """Exact (unregularised) OT by linear programming (scipy ``linprog``, HiGHS).

    ``min ⟨C, P⟩`` s.t. ``P1 = a``, ``Pᵀ1 = b``, ``P ≥ 0``: the ε → 0 limit of
    entropic OT.  For small problems (``n·m`` up to ~10⁵ variables).  Runs on the
    host in float64 (not jit-able, not differentiable).

    Args:
      C: ``n × m`` cost matrix (or a geometry).
      a, b: marginals (``None`` for uniform), non-negative with equal mass.

    Returns:
      :class:`EMDOutput` (``out.plan()`` is the dense plan).

    Raises:
      TypeError, ValueError: invalid arguments; RuntimeError: the LP solver failed.
    """
    import scipy.optimize
    import scipy.sparse as sp

    geom = _as_geometry(C, "C")
    _check_geometry(geom)
    if not is_concrete((geom, a, b)):
        raise TypeError("emd runs on the host: C, a and b must be concrete arrays, not traced")
    a, b = check_marginals(geom, a, b)
    Cn = np.asarray(geom.cost_matrix, dtype=np.float64)
    an, bn = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    bn = bn * (an.sum() / bn.sum())
    n, m = Cn.shape
    rows = sp.kron(sp.eye(n), np.ones((1, m)))
    cols = sp.kron(np.ones((1, n)), sp.eye(m))
    A_eq = sp.vstack([rows, cols]).tocsr()
    res = scipy.optimize.linprog(
        Cn.ravel(), A_eq=A_eq, b_eq=np.concatenate([an, bn]), bounds=(0, None), method="highs"
    )
    if res.status != 0:
        raise RuntimeError(f"linprog failed: {res.message}")
    P = np.maximum(res.x.reshape(n, m), 0.0)
    rows, cols = np.nonzero(P)
    return EMDOutput(rows, cols, P[rows, cols], (n, m), float(np.sum(P * Cn)), res.message)


# ---------------------------------------------------------------------------
# sparsity-constrained OT (Liu, Puigcerver & Blondel 2023)
# ---------------------------------------------------------------------------


def sparse_simplex_projection(s: Float[Array, " n"], mass: float | Float[Array, ""], k) -> Float[Array, " n"]:
    """Euclidean projection of ``s`` onto ``{t ≥ 0, Σt = mass, ‖t‖₀ ≤ k}``.

    Exact for this non-convex set: keep the ``k`` largest entries and project
    them onto the scaled simplex (Kyrillidis et al. 2013).  ``k`` may be a traced
    integer (one compilation serves every ``k``).

    Args:
      s: 1-D finite scores (lists and integers are converted).
      mass: ``Σt > 0``.
      k: maximum number of nonzeros (integer ≥ 1; may be traced).

    Returns:
      The projection, same shape as ``s``.

    Raises:
      TypeError, ValueError: invalid arguments (named in the message).
    """
    s = as_float_array("s", s, ndim=1)
    _require_nonempty("s", s)
    if mass is None or isinstance(mass, str):
        raise TypeError(f"mass must be a positive number, got {type(mass).__name__}")
    require_positive("mass", mass)
    if jnp.ndim(mass) != 0:
        raise ValueError(f"mass must be a scalar, got shape {jnp.shape(mass)}")
    if is_concrete(k):
        kk = _as_numpy(k, "k")
        if kk.ndim != 0 or not np.issubdtype(kk.dtype, np.integer) or kk.dtype == np.bool_:
            raise TypeError(f"k must be an integer, got {k!r}")
        if int(kk) < 1:
            raise ValueError(f"k must be at least 1, got {int(kk)}")
    return _sparse_simplex_projection(s, jnp.asarray(mass, s.dtype), k)


def _sparse_simplex_projection(s, mass, k):
    n = s.shape[-1]
    s = s - jax.lax.stop_gradient(jnp.max(s))  # the projection is shift-invariant
    vals, idx = jax.lax.top_k(s, n)  # sorted descending
    valid = jnp.arange(n) < k
    css = jnp.cumsum(jnp.where(valid, vals, 0.0)) - mass
    ks = jnp.arange(1, n + 1, dtype=s.dtype)
    cond = valid & (vals - css / ks > 0)
    rho = jnp.maximum(jnp.sum(cond), 1)  # number of positive entries (≥ 1)
    tau = css[rho - 1] / rho
    t = jnp.where(valid, jnp.maximum(vals - tau, 0.0), 0.0)
    return jnp.zeros_like(s).at[idx].set(t)


class SparseOTOutput(NamedTuple):
    """Result of :func:`sparse_ot`.

    Attributes:
      alpha: the semi-dual potential (``params``, the point L-BFGS iterates on).
      values: the semi-dual value per iteration (NaN after the last one).
      grad_norms: ``‖∇D(α)‖₁`` per iteration (NaN after the last one).
      converged: ``‖a − P1‖₁ ≤ tol`` at the returned ``alpha``.
      n_iters: iterations performed.
      transport_cost: ``⟨C, P⟩``.
      cost_matrix, b, gamma, k: the problem, kept to build the plan.

    ``plan()`` materialises the plan (≤ ``k`` nonzeros per column, columns summing
    exactly to ``b``).
    """

    alpha: jax.Array
    values: jax.Array
    grad_norms: jax.Array
    converged: Bool[Array, ""]
    n_iters: Int[Array, ""]
    transport_cost: jax.Array
    cost_matrix: jax.Array
    b: jax.Array
    gamma: jax.Array
    k: jax.Array

    @property
    def params(self) -> jax.Array:
        """The final point: the semi-dual potential ``alpha``."""
        return self.alpha

    def plan(self) -> Float[Array, "n m"]:
        """The ``n × m`` plan ``∇Ω*(α − c_j)`` column by column (one compiled call)."""
        return _sparse_plan(self.alpha, self.cost_matrix, self.b, self.gamma, self.k)


def _columns(alpha, C, b, gamma, k):
    """``T[j] = ∇Ω*_j(α − c_j)``, shape ``(m, n)``, and the scores ``S[j] = α − c_j``."""
    S = (alpha[:, None] - C).T  # (m, n): column j's scores
    T = jax.vmap(lambda s, bj: _sparse_simplex_projection(s / gamma, bj, k))(S, b)  # (m, n)
    return T, S


@jax.jit
def _sparse_plan(alpha, C, b, gamma, k):
    return _columns(alpha, C, b, gamma, k)[0].T


def _semi_dual(alpha, C, a, b, gamma, k):
    """D(α) = ⟨α, a⟩ − Σ_j Ω*_j(α − c_j), Ω_j(t) = (γ/2)‖t‖² on {t ∈ b_jΔ, ‖t‖₀ ≤ k}."""
    T, S = _columns(alpha, C, b, gamma, k)
    T = jax.lax.stop_gradient(T)  # Danskin: ∇_s Ω*(s) = T
    conj = jnp.sum(T * S, axis=1) - 0.5 * gamma * jnp.sum(T**2, axis=1)
    return jnp.dot(alpha, a) - jnp.sum(conj), T.T


@functools.partial(jax.jit, static_argnames=("num_steps", "tol"))
def _sparse_ot_jit(C, a, b, gamma, k, *, num_steps, tol):
    import optax

    def neg(alpha):
        return -_semi_dual(alpha, C, a, b, gamma, k)[0]

    opt = optax.lbfgs()
    value_and_grad = optax.value_and_grad_from_state(neg)
    alpha0 = jnp.zeros_like(a)

    def cond(s):
        _, _, it, gn, _, _ = s
        return jnp.logical_and(it < num_steps, gn > tol)

    def body(s):
        alpha, state, it, _, vals, gns = s
        v, gr = value_and_grad(alpha, state=state)
        updates, state = opt.update(gr, state, alpha, value=v, grad=gr, value_fn=neg)
        alpha = optax.apply_updates(alpha, updates)
        gn = jnp.sum(jnp.abs(gr))
        return alpha, state, it + 1, gn, vals.at[it].set(-v), gns.at[it].set(gn)

    vals = jnp.full((num_steps,), jnp.nan, a.dtype)
    s0 = (alpha0, opt.init(alpha0), jnp.asarray(0), jnp.asarray(jnp.inf, a.dtype), vals, vals)
    alpha, _, it, gn, vals, gns = jax.lax.while_loop(cond, body, s0)
    _, P = _semi_dual(alpha, C, a, b, gamma, k)
    gn_final = jnp.sum(jnp.abs(P.sum(1) - a))
    return SparseOTOutput(alpha, vals, gns, gn_final <= tol, it, jnp.sum(C * P), C, b, gamma, k)


def sparse_ot(
    C: Float[ArrayLike, "n m"] | _GeometryBase,
    a: Float[ArrayLike, " n"] | None = None,
    b: Float[ArrayLike, " m"] | None = None,
    *,
    k: int,
    gamma: float = 1e-2,
    tol: float = 1e-6,
    num_steps: int = 500,
) -> SparseOTOutput:
    r"""Sparsity-constrained OT (Liu, Puigcerver & Blondel 2023) via its semi-dual.

    ``min ⟨C, P⟩ + (γ/2)‖P‖²`` over ``P ∈ U(a, b)`` with at most ``k`` nonzeros per
    column.  Semi-dual ``max_α ⟨α, a⟩ − Σ_j Ω*_j(α − c_j)`` where
    ``∇Ω*_j(s) = proj_{b_jΔ, k-sparse}(s/γ)`` (top-k then simplex projection),
    maximised by L-BFGS (optax).  ``k = 1`` recovers unregularised OT's
    semi-dual; ``k ≥ n`` quadratically regularised OT.  The returned plan has
    columns summing exactly to ``b`` with ≤ k nonzeros; rows match ``a`` up to
    the solver's tolerance.

    Args:
      C: ``n × m`` cost matrix (or an explicit :class:`Geometry`).
      a, b: marginals (``None`` for uniform), non-negative with equal mass.
      k: nonzeros per column (integer ≥ 1).
      gamma: quadratic regularisation ``γ > 0``.
      tol: stop when ``‖a − P1‖₁ ≤ tol`` (> 0).
      num_steps: cap on the L-BFGS iterations (≥ 1).

    Returns:
      :class:`SparseOTOutput` (``out.plan()`` materialises the plan).

    Raises:
      TypeError, ValueError: invalid arguments (named in the message).
    """
    geom = _as_geometry(C, "C")
    _check_geometry(geom)
    a, b = check_marginals(geom, a, b)
    require_int("k", k, minimum=1)
    if gamma is None or isinstance(gamma, str):
        raise TypeError(f"gamma must be a positive number, got {type(gamma).__name__}")
    require_positive("gamma", gamma)
    if jnp.ndim(gamma) != 0:
        raise ValueError(f"gamma must be a scalar, got shape {jnp.shape(gamma)}")
    tol = _require_static_positive("tol", tol)
    require_int("num_steps", num_steps, minimum=1)
    Cm = geom.cost_matrix
    dt = jnp.result_type(Cm, a, float)
    return _sparse_ot_jit(
        Cm.astype(dt),
        a.astype(dt),
        b.astype(dt),
        jnp.asarray(gamma, dt),
        jnp.asarray(min(int(k), Cm.shape[0])),
        num_steps=int(num_steps),
        tol=tol,
    )


# ---------------------------------------------------------------------------
# Sinkformer attention (Sander et al. 2022)
# ---------------------------------------------------------------------------


def sinkhorn_attention(
    q: Float[Array, "n_q d"],
    k: Float[Array, "n_k d"],
    v: Float[Array, "n_k d_v"],
    *,
    num_steps: int = 3,
    temperature: float | None = None,
) -> Float[Array, "n_q d_v"]:
    r"""Doubly stochastic (Sinkformer) attention ``A V``.

    ``A = Sinkhorn(exp(Q Kᵀ / τ))`` with ``num_steps`` alternating normalisations
    in the log domain, starting (and, for odd counts, ending) with the row
    normalisation: ``num_steps=1`` is softmax attention; as ``num_steps → ∞``
    rows sum to 1 and columns to ``n_q / n_k``.  ``τ`` defaults to ``√d``.
    Works on ``(n, d)`` inputs; ``vmap`` over heads/batches.

    Args:
      q, k, v: ``(n_q, d)``, ``(n_k, d)``, ``(n_k, d_v)`` finite arrays.
      num_steps: normalisations (integer ≥ 1).
      temperature: ``τ > 0`` (default ``√d``).

    Returns:
      ``(n_q, d_v)`` array.

    Raises:
      TypeError, ValueError: invalid arguments (named in the message).
    """
    q = as_float_array("q", q, ndim=2)
    k = as_float_array("k", k, ndim=2)
    v = as_float_array("v", v, ndim=2)
    for name, z in (("q", q), ("k", k), ("v", v)):
        _require_nonempty(name, z)
    if q.shape[1] != k.shape[1]:
        raise ValueError(f"q and k must have the same feature size, got {q.shape} and {k.shape}")
    if k.shape[0] != v.shape[0]:
        raise ValueError(f"k and v must have the same length, got {k.shape} and {v.shape}")
    require_int("num_steps", num_steps, minimum=1)
    if isinstance(temperature, str):
        raise TypeError(f"temperature must be a positive number, got {type(temperature).__name__}")
    tau = math.sqrt(q.shape[1]) if temperature is None else temperature
    require_positive("temperature", tau)
    if jnp.ndim(tau) != 0:
        raise ValueError(f"temperature must be a scalar, got shape {jnp.shape(tau)}")
    return _attention_jit(q, k, v, tau, num_steps=int(num_steps))


@functools.partial(jax.jit, static_argnames=("num_steps",))
def _attention_jit(q, k, v, tau, *, num_steps):
    hi = jax.lax.Precision.HIGHEST  # no TF32 on GPUs: the test checks 1e-6 agreement
    dt = jnp.result_type(q, k, v)
    logits = jnp.dot(q, k.T, precision=hi) / jnp.asarray(tau, dt)
    col_mass = jnp.log(jnp.asarray(q.shape[0] / k.shape[0], dt))

    def step(i, L):
        row = L - jax.nn.logsumexp(L, axis=1, keepdims=True)
        col = L - jax.nn.logsumexp(L, axis=0, keepdims=True) + col_mass
        return jnp.where(i % 2 == 0, row, col)

    L = jax.lax.fori_loop(0, num_steps, step, logits)
    return jnp.dot(jnp.exp(L), v, precision=hi)


# ---------------------------------------------------------------------------
# entropic map estimation (Pooladian & Niles-Weed 2021)
# ---------------------------------------------------------------------------


def entropic_map(
    x: Float[Array, "n d"],
    y: Float[Array, "m d"],
    eps: float | Float[Array, ""],
    a: Float[ArrayLike, " n"] | None = None,
    b: Float[ArrayLike, " m"] | None = None,
    *,
    query: Float[Array, "k d"] | None = None,
    tol: float = 1e-6,
    num_steps: int = 1000,
    method: str = "log",
) -> Float[Array, "k d"]:
    r"""Entropic estimate of the optimal transport map (Pooladian & Niles-Weed 2021).

    Solves entropic OT between the samples ``x`` (source) and ``y`` (target) with the
    cost ``C_ij = ‖x_i − y_j‖²`` (a :class:`PointCloud`) by :func:`sinkhorn`, then
    evaluates the barycentric projection of the entropic plan

        T_ε(q) = Σ_j w_j(q) y_j,   w_j(q) = exp((g_j − ‖q − y_j‖²)/ε) / Σ_l exp((g_l − ‖q − y_l‖²)/ε),

    at the query points.  At a sample point ``q = x_i`` the weights are the plan's
    row, ``w_j(x_i) = P_ij / Σ_l P_il``, so ``T_ε(x_i) = Σ_j P_ij y_j / a_i`` at the
    Sinkhorn fixed point; elsewhere ``T_ε`` extends it through the potential ``g``
    (the entropic c-transform), which is the estimator the paper analyses.

    Args:
      x: the ``(n, d)`` source samples, finite.
      y: the ``(m, d)`` target samples, finite.
      eps: entropic regularisation ``ε > 0`` (in the units of the squared distance).
      a, b: sample weights (default uniform), non-negative with equal mass.
      query: ``(k, d)`` points where the map is evaluated (default ``x``).
      tol: Sinkhorn's stopping tolerance on the L1 marginal error (> 0).
      num_steps: cap on the Sinkhorn iterations (≥ 1).
      method: Sinkhorn's ``"log"`` or ``"stabilized"`` iteration (see :func:`sinkhorn`).

    Returns:
      The ``(k, d)`` array ``T_ε(query)`` (``(n, d)`` when ``query`` is ``None``).

    Raises:
      TypeError: non-numeric ``x``, ``y``, ``query``, ``eps``, ``a`` or ``b``.
      ValueError: wrong shapes (named), NaN/inf, non-positive ``eps``, invalid
        marginals, ``tol``, ``num_steps`` or ``method``.
    """
    geom = PointCloud(x, y)
    if query is None:
        q = geom.x
    else:
        q = as_float_array("query", query, ndim=2)
        _require_nonempty("query", q)
        if q.shape[1] != geom.x.shape[1]:
            raise ValueError(
                f"query must have the dimension of x, got query.shape={tuple(q.shape)} "
                f"and x.shape={tuple(geom.x.shape)}"
            )
    out = sinkhorn(geom, a, b, eps, tol=tol, num_steps=num_steps, method=method)
    return _entropic_map_apply(PointCloud(q, geom.y), out.g, out.eps)


@jax.jit
def _entropic_map_apply(geom, g, eps):
    # rows of the conditional plan at the query points: softmax_j((g_j − C(q, y_j))/ε)
    w = jax.nn.softmax((g[None, :] - geom.cost_matrix) / eps, axis=1)
    return jnp.dot(w, geom.y, precision=jax.lax.Precision.HIGHEST)


# ---------------------------------------------------------------------------
# self-labelling with an equipartition constraint (Asano et al. 2020)
# ---------------------------------------------------------------------------


def equipartition_labels(
    logits: Float[Array, "N K"],
    eps: float | Float[Array, ""] = 0.05,
    *,
    tol: float = 1e-6,
    num_steps: int = 1000,
) -> Float[Array, "N K"]:
    r"""Pseudo-labels with equal class sizes by Sinkhorn (Asano, Rupprecht & Vedaldi 2020).

    Given a model's logits for ``N`` examples and ``K`` classes, with probabilities
    ``p_iy = softmax(logits_i)_y``, solves

        max_{Q ∈ U(1/N, 1/K)} ⟨Q, log p⟩ + ε H(Q),

    the entropic OT problem with cost ``C_iy = −log p_iy``, uniform marginals
    ``a = 1/N`` (each example labelled once) and ``b = 1/K`` (each class receives
    ``N/K`` examples), by :func:`sinkhorn`.  The solution is
    ``Q_iy ∝ α_i β_y p_iy^{1/ε}``.  Adding a constant to a row of the logits does not
    change the labels (the row scaling absorbs it).  Without the column constraint
    the maximiser is the argmax labelling, which a model trained on its own labels
    can drive to a single class; the constraint rules that out.

    Args:
      logits: the ``(N, K)`` logits, finite (one example per row).
      eps: entropic regularisation ``ε > 0`` (the paper's ``1/λ``).
      tol: Sinkhorn's stopping tolerance on the L1 marginal error (> 0).
      num_steps: cap on the Sinkhorn iterations (≥ 1).

    Returns:
      The ``(N, K)`` soft labels ``N·Q``: each row a probability vector, each
      column summing to ``N/K`` (up to ``tol``); hard labels are its row argmax.

    Raises:
      TypeError: non-numeric ``logits`` or ``eps``.
      ValueError: wrong shape, empty or non-finite ``logits``, non-positive ``eps``,
        invalid ``tol`` or ``num_steps``.
    """
    logits = as_float_array("logits", logits, ndim=2)
    _require_nonempty("logits", logits)
    n, k = logits.shape
    dt = jnp.result_type(logits, float)
    a = jnp.full((n,), 1.0 / n, dt)
    b = jnp.full((k,), 1.0 / k, dt)
    cost = Geometry(-jax.nn.log_softmax(logits, axis=1))
    out = sinkhorn(cost, a, b, eps, tol=tol, num_steps=num_steps)
    return out.plan() * n


# ---------------------------------------------------------------------------
# soft permutations (re-basin, Peña et al. 2023)
# ---------------------------------------------------------------------------


def soft_permutation(
    x: Float[Array, "n d"],
    y: Float[Array, "n d"],
    eps: float | Float[Array, ""],
    *,
    tol: float = 1e-6,
    num_steps: int = 1000,
    method: str = "log",
) -> Float[Array, "n n"]:
    r"""A doubly stochastic matching of the rows of ``x`` to the rows of ``y`` by Sinkhorn.

    Solves entropic OT between ``n`` points and ``n`` points with uniform weights and the
    cost ``C_ij = ‖x_i − y_j‖²`` (a :class:`PointCloud`) by :func:`sinkhorn`, and returns
    ``S = n P``: rows and columns sum to 1 (up to ``tol``), and as ``ε → 0`` ``S``
    tends to the permutation matrix of the optimal assignment
    ``min_σ Σ_i ‖x_i − y_σ(i)‖²`` when it is unique.  With the rows of ``x`` and ``y``
    the hidden units of two networks (incoming weights, bias, outgoing weights), ``S``
    is the soft permutation of re-basin (Peña et al. 2023): ``S`` applied to the second
    network's units aligns them with the first's.

    Args:
      x: the ``(n, d)`` first set of points (rows), finite.
      y: the ``(n, d)`` second set, finite, with as many rows as ``x``.
      eps: entropic regularisation ``ε > 0`` (in the units of the squared distance).
      tol: Sinkhorn's stopping tolerance on the L1 marginal error (> 0).
      num_steps: cap on the Sinkhorn iterations (≥ 1).
      method: Sinkhorn's ``"log"`` or ``"stabilized"`` iteration (see :func:`sinkhorn`).

    Returns:
      The ``(n, n)`` doubly stochastic matrix ``S`` (``S_ij``: weight of ``y_j`` in the
      match of ``x_i``).

    Raises:
      TypeError: non-numeric ``x``, ``y`` or ``eps``.
      ValueError: wrong shapes (named), different numbers of rows, NaN/inf,
        non-positive ``eps``, invalid ``tol``, ``num_steps`` or ``method``.
    """
    geom = PointCloud(x, y)
    n, m = geom.shape
    if n != m:
        raise ValueError(f"x and y must have the same number of rows, got {n} and {m}")
    out = sinkhorn(geom, None, None, eps, tol=tol, num_steps=num_steps, method=method)
    return out.plan() * n
