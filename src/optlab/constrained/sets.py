r"""Closed convex sets: Euclidean projections, linear minimisation oracles (LMOs) and
feasibility checks (chapter 11).

Sets are small pytrees with ``project(x)`` (Euclidean projection), ``lmo(g)`` (a minimiser
of ``⟨g, s⟩`` over the set) and ``contains(x, *, tol)``. Build them with the validating
factories :func:`simplex`, :func:`l1_ball`, :func:`l2_ball`, :func:`box`,
:func:`spectral_ball`, :func:`nuclear_ball` or :func:`ball`, which refuse non-convex or
empty requests (negative radius, ℓp with p < 1, lo > hi).

Reference: Duchi, Shalev-Shwartz, Singer, Chandra (2008) (sort-based simplex projection).
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .._checks import as_float_array, is_concrete
from .._types import Array, ArrayLike, Float
from ._common import _HIGHEST, _array, _radius, _tiny, _tol

__all__ = [
    "Simplex",
    "L1Ball",
    "L2Ball",
    "Box",
    "SpectralBall",
    "NuclearBall",
    "simplex",
    "l1_ball",
    "l2_ball",
    "box",
    "spectral_ball",
    "nuclear_ball",
    "ball",
    "project_simplex",
    "project_l1_ball",
    "require_feasible",
]


def project_simplex(v: Float[Array, " d"], radius: float | Float[Array, ""] = 1.0) -> Float[Array, " d"]:
    """Euclidean projection of a vector onto ``{x ≥ 0, Σx = r}`` by sorting.

    With ``u`` sorted decreasingly and ``ρ = max{j : u_j − (Σ_{i≤j} u_i − r)/j > 0}``
    the projection is ``max(v − θ, 0)``, ``θ = (Σ_{i≤ρ} u_i − r)/ρ`` (Duchi et al. 2008).
    Computed on ``v − max v`` (the projection is invariant to adding a constant), so
    entries of any finite magnitude keep their float32 precision.

    Args:
      v: a finite, non-empty 1-D vector (lists and integer arrays are converted).
      radius: ``r > 0``, a finite scalar (may be traced, e.g. under ``vmap``).

    Returns:
      The projection, a vector of the shape and (float) dtype of ``v``.

    Raises:
      TypeError: ``v`` or ``radius`` is not real-numeric.
      ValueError: ``v`` is not 1-D, empty or non-finite; ``radius`` is not a positive scalar.
    """
    v, radius = _array("v", v, ndim=1), _radius("radius", radius)
    # P(v − c1) = P(v): shifting by the largest entry keeps the cumulative sums exact for
    # entries of large magnitude (float32 v ≈ 3e8: without it, every entry was cut to 0)
    v = v - jax.lax.stop_gradient(jnp.max(v))
    u = jnp.sort(v)[::-1]
    css = jnp.cumsum(u) - radius
    ind = jnp.arange(1, v.shape[0] + 1, dtype=v.dtype)
    rho = jnp.sum(u - css / ind > 0) - 1
    theta = css[rho] / (rho + 1).astype(v.dtype)
    return jnp.maximum(v - theta, 0.0)


def project_l1_ball(
    v: Float[Array, "*shape"], radius: float | Float[Array, ""] = 1.0
) -> Float[Array, "*shape"]:
    """Projection onto ``{‖x‖₁ ≤ r}``: ``v`` itself if inside, else
    ``sign(v)·P_simplex(|v|)`` (entrywise for arrays of any shape).

    Args:
      v: a finite, non-empty array (lists and integer arrays are converted).
      radius: ``r > 0``, a finite scalar (may be traced).

    Returns:
      The projection, of the shape of ``v``.

    Raises:
      TypeError: ``v`` or ``radius`` is not real-numeric.
      ValueError: ``v`` is empty or non-finite; ``radius`` is not a positive scalar.
    """
    v, radius = _array("v", v), _radius("radius", radius)
    flat = v.ravel()
    inside = jnp.sum(jnp.abs(flat)) <= radius
    proj = jnp.sign(flat) * project_simplex(jnp.abs(flat), radius)
    return jnp.where(inside, flat, proj).reshape(v.shape)


class _Set:
    """Base class: a pytree whose leaves are the set's parameters.

    ``project(x)``, ``lmo(g)`` and ``contains(x, *, tol)`` validate their argument
    (converted to a float array; refused when empty, non-finite or of the wrong
    number of dimensions) and stay traceable: ``contains`` returns a boolean
    array, never a Python ``bool``, so it works under ``jit``/``vmap``.
    """

    _fields: tuple = ()
    _ndim: Any = None  # allowed number of dimensions of x and g (None: any)

    def tree_flatten(self):
        return tuple(getattr(self, f) for f in self._fields), None

    @classmethod
    def tree_unflatten(cls, aux, children):
        obj = object.__new__(cls)
        for f, c in zip(cls._fields, children, strict=True):
            setattr(obj, f, c)
        return obj

    def __repr__(self):
        args = ", ".join(f"{f}={getattr(self, f)!r}" for f in self._fields)
        return f"{type(self).__name__}({args})"

    def _arg(self, name, x):
        return _array(name, x, ndim=self._ndim)

    def project(self, x):
        """Euclidean projection of ``x`` onto the set (defined by each set)."""
        raise NotImplementedError(f"{type(self).__name__} does not define project")

    def lmo(self, g):
        """Linear minimization oracle ``argmin_{s in the set} <g, s>`` (defined by each set)."""
        raise NotImplementedError(f"{type(self).__name__} does not define lmo")

    def contains(self, x, *, tol=1e-6):
        """Boolean array: ``x`` lies in the set up to ``tol`` (defined by each set)."""
        raise NotImplementedError(f"{type(self).__name__} does not define contains")


@jax.tree_util.register_pytree_node_class
class Simplex(_Set):
    """``{x ≥ 0, Σ x = r}``; LMO: the vertex ``r·e_i``, ``i = argmin g``.

    Args:
      radius: ``r > 0`` (finite scalar).

    Raises:
      ValueError: ``radius`` is not a positive finite scalar. TypeError: not numeric.
    """

    _fields = ("radius",)
    _ndim = 1

    def __init__(self, radius: Any = 1.0):
        self.radius = _radius("radius", radius)

    def project(self, x):
        return project_simplex(self._arg("x", x), self.radius)

    def lmo(self, g):
        g = self._arg("g", g)
        return self.radius * jax.nn.one_hot(jnp.argmin(g), g.shape[0], dtype=g.dtype)

    def contains(self, x, *, tol=1e-6):
        x, tol = self._arg("x", x), _tol("tol", tol)
        return jnp.all(x >= -tol) & (jnp.abs(jnp.sum(x) - self.radius) <= tol * jnp.maximum(1.0, self.radius))


@jax.tree_util.register_pytree_node_class
class L1Ball(_Set):
    """``{‖x‖₁ ≤ r}`` (any shape, entrywise); LMO: ``−r·sign(g_i)e_i`` at ``i = argmax |g_i|``.

    Args:
      radius: ``r > 0`` (finite scalar).
    """

    _fields = ("radius",)

    def __init__(self, radius: Any = 1.0):
        self.radius = _radius("radius", radius)

    def project(self, x):
        return project_l1_ball(self._arg("x", x), self.radius)

    def lmo(self, g):
        g = self._arg("g", g)
        flat = g.ravel()
        i = jnp.argmax(jnp.abs(flat))
        s = -self.radius * jnp.sign(flat[i]) * jax.nn.one_hot(i, flat.shape[0], dtype=g.dtype)
        return s.reshape(g.shape)

    def contains(self, x, *, tol=1e-6):
        x, tol = self._arg("x", x), _tol("tol", tol)
        return jnp.sum(jnp.abs(x)) <= self.radius * (1 + tol) + tol


@jax.tree_util.register_pytree_node_class
class L2Ball(_Set):
    """``{‖x‖₂ ≤ r}`` (Frobenius for matrices); LMO: ``−r g/‖g‖``.

    Args:
      radius: ``r > 0`` (finite scalar).
    """

    _fields = ("radius",)

    def __init__(self, radius: Any = 1.0):
        self.radius = _radius("radius", radius)

    def project(self, x):
        x = self._arg("x", x)
        nrm = jnp.sqrt(jnp.sum(x**2))
        return x * jnp.minimum(1.0, self.radius / jnp.maximum(nrm, _tiny(x.dtype)))

    def lmo(self, g):
        g = self._arg("g", g)
        nrm = jnp.sqrt(jnp.sum(g**2))
        return -self.radius * g / jnp.maximum(nrm, _tiny(g.dtype))

    def contains(self, x, *, tol=1e-6):
        x, tol = self._arg("x", x), _tol("tol", tol)
        return jnp.sqrt(jnp.sum(x**2)) <= self.radius * (1 + tol) + tol


@jax.tree_util.register_pytree_node_class
class Box(_Set):
    """``{lo ≤ x ≤ hi}`` entrywise; LMO: ``lo`` where ``g > 0``, ``hi`` elsewhere.

    Args:
      lo, hi: bounds (scalars or arrays that broadcast), with ``lo ≤ hi``; infinite
        bounds are allowed, NaN is not.

    Raises:
      ValueError: NaN bounds, bounds that do not broadcast, or ``lo > hi`` somewhere.
      TypeError: non-numeric bounds.
    """

    _fields = ("lo", "hi")

    def __init__(self, lo: Any, hi: Any):
        if is_concrete((lo, hi)):
            lo_a = np.asarray(as_float_array("lo", lo, finite=False))
            hi_a = np.asarray(as_float_array("hi", hi, finite=False))
            if np.any(np.isnan(lo_a)) or np.any(np.isnan(hi_a)):
                raise ValueError("box bounds lo and hi must not contain NaN")
            try:
                bad = np.broadcast_to(lo_a > hi_a, np.broadcast_shapes(lo_a.shape, hi_a.shape))
            except ValueError:
                raise ValueError(
                    f"box bounds lo and hi must broadcast, got shapes {lo_a.shape} and {hi_a.shape}"
                ) from None
            if np.any(bad):
                raise ValueError(
                    "box is empty: need lo <= hi in every coordinate, got lo > hi in "
                    f"{int(bad.sum())} coordinate(s)"
                )
        # Python scalars stay weakly typed (the box follows x's dtype); lists become arrays
        self.lo, self.hi = (
            b if isinstance(b, (int, float, jax.core.Tracer)) else as_float_array(name, b, finite=False)
            for name, b in (("lo", lo), ("hi", hi))
        )

    def _arg(self, name, x):
        x = _array(name, x)
        shape = jnp.broadcast_shapes(jnp.shape(self.lo), jnp.shape(self.hi))
        try:
            jnp.broadcast_shapes(shape, x.shape)
        except ValueError:
            raise ValueError(
                f"{name} must broadcast with the box bounds of shape {shape}, got shape {tuple(x.shape)}"
            ) from None
        return x

    def project(self, x):
        return jnp.clip(self._arg("x", x), self.lo, self.hi)

    def lmo(self, g):
        g = self._arg("g", g)
        return jnp.where(g > 0, self.lo, self.hi) * jnp.ones_like(g)

    def contains(self, x, *, tol=1e-6):
        x, tol = self._arg("x", x), _tol("tol", tol)
        return jnp.all((x >= self.lo - tol) & (x <= self.hi + tol))


@jax.tree_util.register_pytree_node_class
class SpectralBall(_Set):
    """``{X : σ_max(X) ≤ r}`` (operator norm); projection clips the singular values
    at ``r``; LMO: ``−r UVᵀ`` (the polar factor of ``g = UΣVᵀ``: it needs the full
    SVD, every singular pair). ``x`` and ``g`` are matrices (2-D).

    Args:
      radius: ``r > 0`` (finite scalar).
    """

    _fields = ("radius",)
    _ndim = 2

    def __init__(self, radius: Any = 1.0):
        self.radius = _radius("radius", radius)

    def project(self, x):
        U, s, Vt = jnp.linalg.svd(self._arg("x", x), full_matrices=False)
        return jnp.matmul(U * jnp.minimum(s, self.radius), Vt, precision=_HIGHEST)

    def lmo(self, g):
        U, _, Vt = jnp.linalg.svd(self._arg("g", g), full_matrices=False)
        return -self.radius * jnp.matmul(U, Vt, precision=_HIGHEST)

    def contains(self, x, *, tol=1e-6):
        x, tol = self._arg("x", x), _tol("tol", tol)
        return jnp.linalg.norm(x, ord=2) <= self.radius * (1 + tol) + tol


@jax.tree_util.register_pytree_node_class
class NuclearBall(_Set):
    """``{X : Σσ_i(X) ≤ r}`` (trace-norm ball, the convex hull of rank-one matrices
    ``r·uvᵀ``); LMO: ``−r u₁v₁ᵀ`` from the *top singular pair* of ``g`` only, which is
    why Frank–Wolfe is the method of choice here; projection: the singular values
    projected onto the ℓ1 ball (needs a full SVD). ``x`` and ``g`` are matrices (2-D).

    Args:
      radius: ``r > 0`` (finite scalar).
    """

    _fields = ("radius",)
    _ndim = 2

    def __init__(self, radius: Any = 1.0):
        self.radius = _radius("radius", radius)

    def project(self, x):
        U, s, Vt = jnp.linalg.svd(self._arg("x", x), full_matrices=False)
        return jnp.matmul(U * project_l1_ball(s, self.radius), Vt, precision=_HIGHEST)

    def lmo(self, g):
        U, _, Vt = jnp.linalg.svd(self._arg("g", g), full_matrices=False)
        return -self.radius * jnp.outer(U[:, 0], Vt[0])

    def contains(self, x, *, tol=1e-6):
        x, tol = self._arg("x", x), _tol("tol", tol)
        return jnp.sum(jnp.linalg.svd(x, compute_uv=False)) <= self.radius * (1 + tol) + tol


def simplex(radius: float = 1.0) -> Simplex:
    """The scaled probability simplex ``{x ≥ 0, Σx = r}``.

    Args:
      radius: ``r > 0``.

    Returns:
      A :class:`Simplex`.

    Raises:
      ValueError: ``radius`` is not a positive finite scalar. TypeError: not numeric.
    """
    return Simplex(radius)


def l1_ball(radius: float = 1.0) -> L1Ball:
    """The ℓ1 ball ``{‖x‖₁ ≤ r}``.

    Args:
      radius: ``r > 0`` (finite scalar).

    Returns:
      A :class:`L1Ball`.

    Raises:
      ValueError: ``radius`` not a positive finite scalar.
      TypeError: ``radius`` not numeric.
    """
    return L1Ball(radius)


def l2_ball(radius: float = 1.0) -> L2Ball:
    """The Euclidean ball ``{‖x‖₂ ≤ r}``.

    Args:
      radius: ``r > 0`` (finite scalar).

    Returns:
      A :class:`L2Ball`.

    Raises:
      ValueError: ``radius`` not a positive finite scalar.
      TypeError: ``radius`` not numeric.
    """
    return L2Ball(radius)


def spectral_ball(radius: float = 1.0) -> SpectralBall:
    """The operator-norm ball ``{σ_max(X) ≤ r}``.

    Args:
      radius: ``r > 0`` (finite scalar).

    Returns:
      A :class:`SpectralBall`.

    Raises:
      ValueError: ``radius`` not a positive finite scalar.
      TypeError: ``radius`` not numeric.
    """
    return SpectralBall(radius)


def nuclear_ball(radius: float = 1.0) -> NuclearBall:
    """The trace-norm ball ``{Σσ_i(X) ≤ r}``.

    Args:
      radius: ``r > 0`` (finite scalar).

    Returns:
      A :class:`NuclearBall`.

    Raises:
      ValueError: ``radius`` not a positive finite scalar.
      TypeError: ``radius`` not numeric.
    """
    return NuclearBall(radius)


def box(lo: Float[ArrayLike, "*shape"], hi: Float[ArrayLike, "*shape"]) -> Box:
    """The box ``{lo ≤ x ≤ hi}``.

    Args:
      lo: lower bounds (a scalar or an array), ``-inf`` allowed.
      hi: upper bounds, broadcastable with ``lo``, ``+inf`` allowed.

    Returns:
      A :class:`Box`.

    Raises:
      ValueError: NaN bounds, bounds that do not broadcast, or ``lo > hi`` somewhere.
      TypeError: non-numeric bounds.
    """
    return Box(lo, hi)


def ball(radius: float, p: Any = 2) -> _Set:
    """The ball ``{‖x‖_p ≤ r}`` for ``p ∈ {1, 2, 'inf', 'spectral'}``.

    ``p < 1`` (and the ℓ0 "ball" ``p = 0``) describe non-convex sets, on which
    projected gradient and Frank–Wolfe lose their guarantees: they are refused.

    Args:
      radius: ``r > 0``.
      p: ``1``, ``2``, ``inf`` (or ``'inf'``), ``'spectral'`` or ``'nuclear'``.

    Returns:
      The corresponding set.

    Raises:
      ValueError: ``p < 1``, an unsupported ``p``, or a non-positive ``radius``.
      TypeError: ``p`` or ``radius`` of the wrong type.
    """
    if isinstance(p, str):
        key = p.lower()
        if key in ("inf", "max", "linf"):
            _radius("radius", radius)
            return Box(-radius, radius)
        if key in ("spectral", "op", "2op"):
            return SpectralBall(radius)
        if key in ("nuclear", "trace"):
            return NuclearBall(radius)
        raise ValueError(f"unknown norm p={p!r}: use 1, 2, 'inf', 'spectral' or 'nuclear'")
    if isinstance(p, bool) or not isinstance(p, (int, float, np.integer, np.floating)):
        raise TypeError(
            f"p must be a number (1, 2, inf) or one of 'inf', 'spectral', 'nuclear', got {type(p).__name__}"
        )
    p = float(p)
    if math.isnan(p):
        raise ValueError("p must be 1, 2 or inf, got nan")
    if not p >= 1:
        raise ValueError(
            f"the l_p ball with p={p:g} < 1 is not convex (p = 0 is the l0 'ball' of "
            "sparse vectors); projections and LMOs here need a convex set: use p >= 1"
        )
    if p == 1:
        return L1Ball(radius)
    if p == 2:
        return L2Ball(radius)
    if math.isinf(p):
        _radius("radius", radius)
        return Box(-radius, radius)
    raise ValueError(f"the l_{p:g} ball has no closed-form projection here: use p in {{1, 2, inf}}")


def _require_set(name, cset):
    if not isinstance(cset, _Set):
        raise TypeError(
            f"{name} must be a set built by optlab.constrained (simplex, l1_ball, "
            f"l2_ball, box, spectral_ball, nuclear_ball, ball), got {type(cset).__name__}"
        )


def require_feasible(name: str, x: Float[Array, "*shape"], cset: _Set, *, tol: float = 1e-6) -> None:
    """Raise unless ``x`` lies in ``cset`` (up to ``tol``); skipped for traced ``x``.

    Args:
      name: the argument's name, for the message.
      x: the point (converted to a float array; must be finite and non-empty).
      cset: a set built by this module.
      tol: non-negative tolerance.

    Raises:
      ValueError: ``x`` is not feasible (or empty / non-finite / of the wrong rank).
      TypeError: ``name`` is not a string, ``cset`` is not a set, ``x`` not numeric.
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a string, got {type(name).__name__}")
    _require_set("cset", cset)
    _tol("tol", tol)
    x = cset._arg(name, x)
    if not is_concrete((x, cset, tol)):
        return
    if not bool(cset.contains(x, tol=tol)):
        raise ValueError(
            f"{name} is not feasible: it must lie in {cset!r} (a feasible start is "
            "required; use cset.project(x) to get one)"
        )


def _start(name, x0, cset):
    """``x0`` converted and checked against the set's number of dimensions."""
    return cset._arg(name, x0)
