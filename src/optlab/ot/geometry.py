r"""Geometries (chapter 6): an explicit cost matrix, or a point cloud computing
``c(x_i, y_j) = ‖x_i − y_j‖^p`` on demand, with the log-sum-exp reductions Sinkhorn needs.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .._checks import (
    _as_numpy,
    as_float_array,
    is_concrete,
    require_int,
    require_positive,
)

__all__ = [
    "Geometry",
    "PointCloud",
]


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
