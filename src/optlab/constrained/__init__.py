r"""Constrained optimisation and duality: projections and linear minimisation
oracles, projected gradient, Frank–Wolfe, dual ascent (auxiliary-loss-free load
balancing), the quadratic penalty against the augmented Lagrangian, the exact
augmented Lagrangian with a randomized sketched Newton–KKT solve, primal–dual
methods for constrained learning and ADMM on the convex reformulation of
two-layer ReLU networks.

Notation (chapter 11).  ``min f(x)`` over a closed convex set ``𝒞`` (sets below),
or subject to equality constraints ``c(x) = 0`` (``c: ℝⁿ → ℝᵐ``) or inequality
constraints ``g(x) ≤ 0``; Lagrangian ``ℒ(x, λ) = f(x) + λᵀc(x)``.

Sets are small pytrees with ``project(x)`` (Euclidean projection),
``lmo(g)`` (a minimiser of ``⟨g, s⟩`` over the set) and ``contains(x, tol)``.
Build them with the validating factories :func:`simplex`, :func:`l1_ball`,
:func:`l2_ball`, :func:`box`, :func:`spectral_ball`, :func:`nuclear_ball` or
:func:`ball`, which refuse
non-convex or empty requests (negative radius, ℓp with p < 1, lo > hi).

References: Frank & Wolfe (1956); Jaggi (2013) "Revisiting Frank–Wolfe";
Carderera, Besançon, Pokutta (2021) "Simple steps are all you need";
Duchi, Shalev-Shwartz, Singer, Chandra (2008) (sort-based simplex projection);
"A theoretical framework for auxiliary-loss-free load balancing of sparse MoE"
(2025); Hong, Na, Mahoney, Kolar (2023) "Constrained optimization via exact
augmented Lagrangian and randomized iterative sketching"; Boyd et al. (2011)
(ADMM); Pilanci & Ergen (2020), Bai, Gautam, Sojoudi (2023) (convex two-layer
ReLU training); Elenter, Chamon, Ribeiro (2024) (primal–dual constrained learning).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .._checks import (
    as_float_array,
    is_concrete,
    require_callable,
    require_finite,
    require_int,
    require_key,
    require_nonnegative,
    require_positive,
    require_shape,
)
from .._checks import require_nonnegative_scalar as _nonneg_scalar
from .._checks import require_positive_scalar as _pos_scalar

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
    "PGDOutput",
    "FWOutput",
    "LoadBalanceOutput",
    "MultiplierOutput",
    "ExactALOutput",
    "PrimalDualOutput",
    "ReLUADMMOutput",
    "projected_gradient",
    "frank_wolfe",
    "require_feasible",
    "load_balancing",
    "load_balancing_dual",
    "balanced_assignment_lp",
    "quadratic_penalty",
    "augmented_lagrangian",
    "sketch_solve",
    "exact_al_sketch",
    "kkt_residual",
    "primal_dual",
    "relu_patterns",
    "convex_relu_objective",
    "relu_admm",
    "relu_from_convex",
    "relu_network_objective",
    "relu_predict",
    "train_relu_nonconvex",
]

_HIGHEST = jax.lax.Precision.HIGHEST  # float32 matmuls are TF32 on NVIDIA GPUs otherwise


# ---------------------------------------------------------------------------
# validation helpers (private; the shared ones live in optlab._checks)
# ---------------------------------------------------------------------------


def _array(name: str, x: Any, ndim: Any = None) -> jax.Array:
    """``x`` as a finite, non-empty float array (lists and integer arrays converted)."""
    x_in = x
    concrete = is_concrete(x)
    x = as_float_array(name, x, ndim=ndim)
    if concrete and not is_concrete(x):  # converted inside a jit trace: check the value here
        require_finite(name, x_in)
    if jnp.size(x) == 0:
        raise ValueError(f"{name} must not be empty, got shape {tuple(jnp.shape(x))}")
    return x


def _radius(name: str, r: Any) -> Any:
    """A finite, strictly positive scalar radius (returned unchanged; tracers pass)."""
    if isinstance(r, jax.core.Tracer):
        return r
    arr = as_float_array(name, r, finite=False)
    if arr.ndim != 0:
        raise ValueError(f"{name} must be a scalar, got shape {tuple(arr.shape)}")
    v = float(np.asarray(jax.device_get(r), dtype=float))
    if not np.isfinite(v):
        raise ValueError(f"{name} must be finite, got {r!r}")
    if v < 0:
        raise ValueError(f"{name} must be non-negative for a (non-empty, convex) ball, got {r!r}")
    if v == 0:
        raise ValueError(f"{name} must be positive (a ball of radius 0 is a single point), got {r!r}")
    return r if isinstance(r, (int, float, np.floating, np.integer)) else arr


def _tol(name: str, tol: Any) -> Any:
    """A non-negative scalar tolerance."""
    if isinstance(tol, jax.core.Tracer):
        return tol
    arr = as_float_array(name, tol)
    if arr.ndim != 0:
        raise ValueError(f"{name} must be a scalar, got shape {tuple(arr.shape)}")
    require_nonnegative(name, tol)
    return tol


def _choice(name: str, value: Any, allowed: tuple) -> str:
    """A string option among ``allowed`` (TypeError for a non-string, ValueError otherwise)."""
    listed = ", ".join(repr(a) for a in allowed)
    if not isinstance(value, str):
        raise TypeError(f"{name} must be one of {listed} (a string), got {type(value).__name__} {value!r}")
    if value not in allowed:
        raise ValueError(f"{name} must be one of {listed}, got {value!r}")
    return value


def _static_callable(name: str, f: Any) -> None:
    """``f`` must be callable and hashable: solvers jit it as a static argument."""
    require_callable(name, f)
    try:
        hash(f)
    except TypeError:
        raise TypeError(
            f"{name} must be hashable (it is a static argument of a jitted solver); "
            f"got an unhashable {type(f).__name__}: wrap it in a plain function"
        ) from None


# ---------------------------------------------------------------------------
# projections
# ---------------------------------------------------------------------------


def project_simplex(v: jax.Array, radius: Any = 1.0) -> jax.Array:
    """Euclidean projection of a vector onto ``{x ≥ 0, Σx = r}`` by sorting.

    With ``u`` sorted decreasingly and ``ρ = max{j : u_j − (Σ_{i≤j} u_i − r)/j > 0}``
    the projection is ``max(v − θ, 0)``, ``θ = (Σ_{i≤ρ} u_i − r)/ρ`` (Duchi et al. 2008).

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
    u = jnp.sort(v)[::-1]
    css = jnp.cumsum(u) - radius
    ind = jnp.arange(1, v.shape[0] + 1, dtype=v.dtype)
    rho = jnp.sum(u - css / ind > 0) - 1
    theta = css[rho] / (rho + 1).astype(v.dtype)
    return jnp.maximum(v - theta, 0.0)


def project_l1_ball(v: jax.Array, radius: Any = 1.0) -> jax.Array:
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

    ``project(x)``, ``lmo(g)`` and ``contains(x, tol)`` validate their argument
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

    def contains(self, x, tol=1e-6):
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

    def contains(self, x, tol=1e-6):
        x, tol = self._arg("x", x), _tol("tol", tol)
        return jnp.sum(jnp.abs(x)) <= self.radius * (1 + tol) + tol


def _tiny(dtype):
    return jnp.finfo(dtype).tiny


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

    def contains(self, x, tol=1e-6):
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

    def contains(self, x, tol=1e-6):
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

    def contains(self, x, tol=1e-6):
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

    def contains(self, x, tol=1e-6):
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
    """The ℓ1 ball ``{‖x‖₁ ≤ r}`` (``radius`` positive, else ValueError)."""
    return L1Ball(radius)


def l2_ball(radius: float = 1.0) -> L2Ball:
    """The Euclidean ball ``{‖x‖₂ ≤ r}`` (``radius`` positive, else ValueError)."""
    return L2Ball(radius)


def spectral_ball(radius: float = 1.0) -> SpectralBall:
    """The operator-norm ball ``{σ_max(X) ≤ r}`` (``radius`` positive, else ValueError)."""
    return SpectralBall(radius)


def nuclear_ball(radius: float = 1.0) -> NuclearBall:
    """The trace-norm ball ``{Σσ_i(X) ≤ r}`` (``radius`` positive, else ValueError)."""
    return NuclearBall(radius)


def box(lo: Any, hi: Any) -> Box:
    """The box ``{lo ≤ x ≤ hi}`` (see :class:`Box` for the checks)."""
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


def require_feasible(name: str, x: Any, cset: _Set, tol: float = 1e-6) -> None:
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
    if not bool(cset.contains(x, tol)):
        raise ValueError(
            f"{name} is not feasible: it must lie in {cset!r} (a feasible start is "
            "required; use cset.project(x) to get one)"
        )


def _vdot(a, b):
    return jnp.sum(a * b)


def _start(name, x0, cset):
    """``x0`` converted and checked against the set's number of dimensions."""
    return cset._arg(name, x0)


# ---------------------------------------------------------------------------
# projected gradient and Frank–Wolfe
# ---------------------------------------------------------------------------


class PGDOutput(NamedTuple):
    """``values[t] = f(x_t)``; ``grad_map[t] = ‖x_t − P(x_t − η∇f(x_t))‖/η`` (zero
    exactly at constrained stationary points); ``iterates``: ``(T+1, ...)``;
    ``converged``: every value finite and the gradient mapping at the final iterate
    at most ``tol·max(1, ‖∇f(x_T)‖)`` (a boolean array, valid under ``jit``)."""

    x: jax.Array
    values: jax.Array
    grad_map: jax.Array
    iterates: jax.Array
    converged: jax.Array


def projected_gradient(
    f: Callable, cset: _Set, x0: Any, step_size: float, num_iters: int, *, tol: float = 1e-6
) -> PGDOutput:
    """``x_{t+1} = P_𝒞(x_t − η ∇f(x_t))`` for ``num_iters`` steps (``x0`` need not be
    feasible; it is projected first). Compiled once per ``(f, num_iters)``, set type
    and shape: ``f`` is a static argument (hashed by identity).

    Args:
      f: the objective (a hashable callable of an array).
      cset: a set built by this module.
      x0: the start (finite, converted to a float array).
      step_size: ``η > 0``.
      num_iters: number of steps (a positive int).
      tol: tolerance of the ``converged`` flag (non-negative).

    Returns:
      A :class:`PGDOutput`.

    Raises:
      TypeError: ``f`` not callable, ``cset`` not a set, ``num_iters`` not an int, or a
        non-numeric array argument.
      ValueError: non-positive ``step_size``, ``num_iters < 1``, bad ``x0``.
    """
    _static_callable("f", f)
    _require_set("cset", cset)
    x0 = _start("x0", x0, cset)
    _pos_scalar("step_size", step_size)
    require_int("num_iters", num_iters, minimum=1)
    _tol("tol", tol)
    return _pgd(f, cset, x0, step_size, num_iters, tol)


@functools.partial(jax.jit, static_argnames=("f", "num_iters"))
def _pgd(f, cset, x0, step_size, num_iters, tol):
    x0 = cset.project(x0)
    vg = jax.value_and_grad(f)

    def gmap(x):
        v, g = vg(x)
        xn = cset.project(x - step_size * g)
        return v, g, xn, jnp.sqrt(jnp.sum((x - xn) ** 2)) / step_size

    def body(x, _):
        v, _, xn, gm = gmap(x)
        return xn, (v, gm, xn)

    x, (vals, gms, xs) = jax.lax.scan(body, x0, None, length=num_iters)
    v_T, g_T, _, gm_T = gmap(x)
    converged = (
        jnp.all(jnp.isfinite(vals))
        & jnp.isfinite(v_T)
        & (gm_T <= tol * jnp.maximum(1.0, jnp.sqrt(jnp.sum(g_T**2))))
    )
    return PGDOutput(x, vals, gms, jnp.concatenate([x0[None], xs]), converged)


class FWOutput(NamedTuple):
    """``values[t] = f(x_t)``; ``gaps[t] = ⟨∇f(x_t), x_t − s_t⟩`` (the Frank–Wolfe gap,
    an upper bound on ``f(x_t) − f*`` for convex ``f``); ``iterates``: ``(T+1, ...)``;
    ``converged``: every value finite and the FW gap at the final iterate at most
    ``tol·max(1, |f(x_T)|)`` (a boolean array, valid under ``jit``)."""

    x: jax.Array
    values: jax.Array
    gaps: jax.Array
    iterates: jax.Array
    converged: jax.Array


_FW_STEPS = ("open_loop", "short")


def frank_wolfe(
    f: Callable,
    cset: _Set,
    x0: Any,
    num_iters: int,
    *,
    step: str = "open_loop",
    L: float | None = None,
    tol: float = 1e-6,
) -> FWOutput:
    """Frank–Wolfe: ``s_t = lmo(∇f(x_t))``, ``x_{t+1} = x_t + γ_t(s_t − x_t)``.

    ``step="open_loop"``: ``γ_t = 2/(t+2)`` (no constants needed; Carderera et al.
    2021); ``step="short"``: ``γ_t = min(1, gap_t/(L‖s_t − x_t‖²))`` (needs ``L``).
    ``x0`` must be feasible (FW never projects, so it would stay infeasible).
    Compiled once per ``(f, num_iters, step)``, set type and shape.

    Args:
      f: the objective (a hashable callable).
      cset: a set built by this module.
      x0: a feasible start.
      num_iters: number of steps (a positive int).
      step: ``"open_loop"`` or ``"short"``.
      L: smoothness constant, positive; required by ``step="short"``.
      tol: tolerance of the ``converged`` flag (non-negative).

    Returns:
      An :class:`FWOutput`.

    Raises:
      TypeError: ``step`` is not a string, ``f`` not callable, ``cset`` not a set, ...
      ValueError: ``step`` not among the allowed values, ``L`` missing or
        non-positive for ``"short"``, ``x0`` infeasible or non-finite.
    """
    _static_callable("f", f)
    _require_set("cset", cset)
    require_int("num_iters", num_iters, minimum=1)
    _choice("step", step, _FW_STEPS)
    if step == "short":
        if L is None:
            raise ValueError("step='short' needs the smoothness constant L (L must be positive)")
        _pos_scalar("L", L)
    else:
        L = 1.0
    _tol("tol", tol)
    x0 = _start("x0", x0, cset)
    require_feasible("x0", x0, cset)
    return _fw(f, cset, x0, num_iters, step, L, tol)


@functools.partial(jax.jit, static_argnames=("f", "num_iters", "step"))
def _fw(f, cset, x0, num_iters, step, L, tol):
    vg = jax.value_and_grad(f)

    def gap_at(x):
        v, g = vg(x)
        s = cset.lmo(g)
        d = s - x
        return v, d, -_vdot(g, d)

    def body(x, t):
        v, d, gap = gap_at(x)
        if step == "open_loop":
            gamma = 2.0 / (t + 2.0)
        else:
            gamma = jnp.clip(gap / (L * jnp.maximum(_vdot(d, d), _tiny(x.dtype))), 0.0, 1.0)
        xn = x + gamma * d
        return xn, (v, gap, xn)

    ts = jnp.arange(num_iters, dtype=x0.dtype)
    x, (vals, gaps, xs) = jax.lax.scan(body, x0, ts)
    v_T, _, gap_T = gap_at(x)
    converged = (
        jnp.all(jnp.isfinite(vals)) & jnp.isfinite(v_T) & (gap_T <= tol * jnp.maximum(1.0, jnp.abs(v_T)))
    )
    return FWOutput(x, vals, gaps, jnp.concatenate([x0[None], xs]), converged)


# ---------------------------------------------------------------------------
# dual ascent: auxiliary-loss-free load balancing
# ---------------------------------------------------------------------------


class LoadBalanceOutput(NamedTuple):
    """Per step ``t``: ``biases[t]`` (before the update), ``loads[t]`` (tokens per
    expert), ``imbalance[t] = max load / mean load``, ``dual[t] = D(b_t)`` and
    ``affinity[t] = Σ_i s_{i,e_i}`` of the routed assignment; ``converged``: the
    scores and duals stayed finite and the last routing is balanced up to ``tol``
    (``imbalance[-1] ≤ 1 + tol``; a boolean array, valid under ``jit``)."""

    biases: jax.Array
    loads: jax.Array
    imbalance: jax.Array
    dual: jax.Array
    affinity: jax.Array
    converged: jax.Array


def _scores(scores):
    scores = _array("scores", scores, ndim=2)
    if scores.shape[1] < 2:
        raise ValueError(f"scores must have at least 2 experts (columns), got shape {tuple(scores.shape)}")
    return scores


def load_balancing_dual(scores: Any, biases: Any) -> jax.Array:
    """``D(b) = Σ_i max_e (s_ie + b_e) − (n/E) Σ_e b_e``: the Lagrangian dual of the
    balanced assignment LP; ``D(b) ≥`` LP optimum for every ``b`` (weak duality).

    Args:
      scores: ``(n, E)`` finite affinities, ``E ≥ 2``.
      biases: ``(E,)`` finite biases.

    Returns:
      The scalar ``D(b)``.

    Raises:
      ValueError: wrong shapes, empty or non-finite input. TypeError: non-numeric input.
    """
    scores = _scores(scores)
    biases = _array("biases", biases, ndim=1)
    n, E = scores.shape
    require_shape("biases", biases, (E,))
    return jnp.sum(jnp.max(scores + biases[None, :], axis=1)) - n / E * jnp.sum(biases)


_LB_RULES = ("sign", "subgradient")


def load_balancing(
    scores: Any,
    num_steps: int,
    step_size: float,
    *,
    rule: str = "sign",
    biases0: Any = None,
    tol: float = 0.1,
) -> LoadBalanceOutput:
    """Auxiliary-loss-free load balancing as dual (sub)gradient steps.

    Top-1 routing ``e_i = argmax_e (s_ie + b_e)``; the bias moves by the load
    imbalance: ``rule="sign"`` is DeepSeek's ``b_e ← b_e + u·sign(n/E − load_e)``,
    ``rule="subgradient"`` is ``b_e ← b_e + u·(n/E − load_e)``; both step along
    ``−∂D(b)`` with ``∂D/∂b_e = load_e − n/E``. Compiled once per
    ``(num_steps, rule)`` and shape.

    Args:
      scores: ``(n, E)`` finite affinities, ``E ≥ 2`` experts.
      num_steps: number of dual steps (positive int).
      step_size: the bias step ``u > 0``.
      rule: ``"sign"`` or ``"subgradient"``.
      biases0: initial biases ``(E,)`` (default zeros).
      tol: balance tolerance of the ``converged`` flag (non-negative).

    Returns:
      A :class:`LoadBalanceOutput`.

    Raises:
      TypeError: non-numeric arrays, a non-int ``num_steps``, a non-string ``rule``.
      ValueError: shapes, non-finite entries, non-positive ``step_size``, unknown ``rule``.
    """
    scores = _scores(scores)
    require_int("num_steps", num_steps, minimum=1)
    _pos_scalar("step_size", step_size)
    _choice("rule", rule, _LB_RULES)
    _tol("tol", tol)
    n, E = scores.shape
    b0 = (
        jnp.zeros(E, scores.dtype)
        if biases0 is None
        else _array("biases0", biases0, ndim=1).astype(scores.dtype)
    )
    require_shape("biases0", b0, (E,))
    return _load_balancing(scores, b0, step_size, tol, num_steps, rule)


@functools.partial(jax.jit, static_argnames=("num_steps", "rule"))
def _load_balancing(scores, b0, step_size, tol, num_steps, rule):
    n, E = scores.shape
    target = n / E

    def dual_fn(b):
        return jnp.sum(jnp.max(scores + b[None, :], axis=1)) - target * jnp.sum(b)

    def body(b, _):
        route = jnp.argmax(scores + b[None, :], axis=1)
        onehot = jax.nn.one_hot(route, E, dtype=scores.dtype)
        load = jnp.sum(onehot, axis=0)
        aff = jnp.sum(scores * onehot)
        viol = target - load
        bn = b + step_size * (jnp.sign(viol) if rule == "sign" else viol)
        return bn, (b, load, jnp.max(load) / target, dual_fn(b), aff)

    _, (bs, loads, imb, duals, affs) = jax.lax.scan(body, b0, None, length=num_steps)
    converged = jnp.all(jnp.isfinite(duals)) & (imb[-1] <= 1.0 + tol)
    return LoadBalanceOutput(bs, loads, imb, duals, affs, converged)


def balanced_assignment_lp(scores: Any) -> float:
    """Optimal value of ``max Σ s_ie x_ie`` s.t. ``Σ_e x_ie = 1``, ``Σ_i x_ie = n/E``,
    ``x ≥ 0`` (scipy HiGHS); the reference the dual values approach.

    Args:
      scores: ``(n, E)`` finite affinities, ``E ≥ 2`` (a concrete array: this runs on the host).

    Returns:
      The LP optimum, a Python float.

    Raises:
      ValueError: wrong shape, empty or non-finite. TypeError: non-numeric or traced input.
    """
    from scipy.optimize import linprog

    if not is_concrete(scores):
        raise TypeError(
            "scores must be a concrete array (balanced_assignment_lp solves on the "
            "host with scipy and cannot be traced)"
        )
    S = np.asarray(_scores(scores), dtype=float)
    n, E = S.shape
    A_rows = np.kron(np.eye(n), np.ones((1, E)))
    A_cols = np.kron(np.ones((1, n)), np.eye(E))
    res = linprog(
        -S.ravel(),
        A_eq=np.vstack([A_rows, A_cols]),
        b_eq=np.concatenate([np.ones(n), np.full(E, n / E)]),
        bounds=(0, None),
        method="highs",
    )
    if res.status != 0:  # pragma: no cover - the LP is always feasible and bounded
        raise RuntimeError(f"linprog failed: {res.message}")
    return float(-res.fun)


# ---------------------------------------------------------------------------
# quadratic penalty and augmented Lagrangian (equality constraints)
# ---------------------------------------------------------------------------


class MultiplierOutput(NamedTuple):
    """One row per outer iteration ``k``: ``xs[k]`` the subproblem's minimiser,
    ``lams[k]`` the multiplier estimate, ``violations[k] = ‖c(x_k)‖``, ``conds[k]``
    the condition number of the subproblem's Hessian at ``x_k``; ``mus[k]``;
    ``converged``: everything finite, the last subproblem solved
    (``‖∇ₓφ(x_K)‖ ≤ √tol·max(1, ‖∇f(x_K)‖)``) and ``violations[-1] ≤ tol·max(1, ‖c(x0)‖)``
    (a boolean array, valid under ``jit``)."""

    xs: jax.Array
    lams: jax.Array
    violations: jax.Array
    conds: jax.Array
    mus: jax.Array
    converged: jax.Array


def _phi(f, c, x, lam, mu):
    """``f + λᵀc + (μ/2)‖c‖²`` (the quadratic penalty has ``λ = 0``)."""
    cx = jnp.atleast_1d(c(x))
    return f(x) + jnp.vdot(lam, cx) + 0.5 * mu * jnp.sum(cx**2)


def _newton_solve(f, c, newton_iters, x, lam, mu):
    """Damped Newton for ``x ↦ φ(x, λ, μ)`` (eigenvalues floored so the direction is
    a descent direction; Armijo backtracking); returns ``(x, cond(H), ‖∇φ(x)‖)``."""
    phi = functools.partial(_phi, f, c)
    g_fn = jax.grad(phi)
    h_fn = jax.hessian(phi)

    def step(_, x):
        g = g_fn(x, lam, mu)
        w, V = jnp.linalg.eigh(h_fn(x, lam, mu))
        w = jnp.maximum(w, 1e-8 * jnp.max(jnp.abs(w)) + 1e-12)
        d = -jnp.matmul(V, jnp.matmul(V.T, g, precision=_HIGHEST) / w, precision=_HIGHEST)
        f0 = phi(x, lam, mu)
        slope = jnp.vdot(g, d)

        def cond(a):
            return (phi(x + a * d, lam, mu) > f0 + 1e-4 * a * slope) & (a > 1e-10)

        a = jax.lax.while_loop(cond, lambda a: 0.5 * a, jnp.asarray(1.0, x.dtype))
        return x + a * d

    x = jax.lax.fori_loop(0, newton_iters, step, x)
    w = jnp.linalg.eigvalsh(h_fn(x, lam, mu))
    cond_h = jnp.max(jnp.abs(w)) / jnp.maximum(jnp.min(jnp.abs(w)), _tiny(x.dtype))
    return x, cond_h, jnp.linalg.norm(g_fn(x, lam, mu))


def _multiplier_converged(f, c, x0, x_last, gnorm, viols, tol, *arrays):
    finite = jnp.all(jnp.isfinite(x_last))
    for a in arrays:
        finite = finite & jnp.all(jnp.isfinite(a))
    c0 = jnp.linalg.norm(jnp.atleast_1d(c(x0)))
    gf = jnp.linalg.norm(jax.grad(f)(x_last))
    return (
        finite & (viols[-1] <= tol * jnp.maximum(1.0, c0)) & (gnorm <= jnp.sqrt(tol) * jnp.maximum(1.0, gf))
    )


@functools.partial(jax.jit, static_argnames=("f", "c", "newton_iters"))
def _penalty_path(f, c, newton_iters, x0, mus, tol):
    m = jnp.atleast_1d(c(x0)).shape[0]
    lam0 = jnp.zeros(m, x0.dtype)

    def body(x, mu):
        x, cond_h, gn = _newton_solve(f, c, newton_iters, x, lam0, mu)
        cx = jnp.atleast_1d(c(x))
        return x, (x, mu * cx, jnp.linalg.norm(cx), cond_h, mu, gn)

    _, (xs, lams, viols, conds, mus_, gns) = jax.lax.scan(body, x0, mus)
    conv = _multiplier_converged(f, c, x0, xs[-1], gns[-1], viols, tol, lams, conds)
    return MultiplierOutput(xs, lams, viols, conds, mus_, conv)


@functools.partial(jax.jit, static_argnames=("f", "c", "newton_iters", "num_outer"))
def _alm_path(f, c, newton_iters, num_outer, x0, lam0, mu, tol):
    def body(carry, _):
        x, lam = carry
        x, cond_h, gn = _newton_solve(f, c, newton_iters, x, lam, mu)
        cx = jnp.atleast_1d(c(x))
        lam = lam + mu * cx
        return (x, lam), (x, lam, jnp.linalg.norm(cx), cond_h, mu, gn)

    _, (xs, lams, viols, conds, mus_, gns) = jax.lax.scan(body, (x0, lam0), None, length=num_outer)
    conv = _multiplier_converged(f, c, x0, xs[-1], gns[-1], viols, tol, lams, conds)
    return MultiplierOutput(xs, lams, viols, conds, mus_, conv)


def _check_eq_problem(f, c, x0, name="x0", cname="c"):
    """Callables ``f`` (scalar-valued) and ``c`` (vector-valued) and a 1-D start."""
    _static_callable("f", f)
    _static_callable(cname, c)
    x0 = _array(name, x0, ndim=1)
    cx = jax.eval_shape(lambda x: jnp.atleast_1d(c(x)), x0)
    if cx.ndim != 1:
        raise ValueError(f"{cname} must return a scalar or a 1-D vector, got shape {tuple(cx.shape)}")
    fx = jax.eval_shape(f, x0)
    if fx.shape != ():
        raise ValueError(f"f must return a scalar, got shape {tuple(fx.shape)}")
    return x0, cx.shape[0]


def quadratic_penalty(
    f: Callable, c: Callable, x0: Any, mus: Any, *, newton_iters: int = 30, tol: float = 1e-6
) -> MultiplierOutput:
    """Minimise ``f + (μ_k/2)‖c‖²`` for the increasing penalties ``mus`` (warm
    started). Feasibility needs ``μ → ∞``; the Hessian's condition number grows like μ.
    ``lams[k] = μ_k c(x_k)`` is the implied multiplier estimate. One compiled
    ``lax.scan`` per ``(f, c, newton_iters)`` and shape.

    Args:
      f: objective ``ℝⁿ → ℝ`` (hashable callable). c: constraints ``ℝⁿ → ℝᵐ``.
      x0: start, a finite 1-D vector.
      mus: 1-D array of positive penalties.
      newton_iters: Newton steps per subproblem (positive int).
      tol: tolerance of the ``converged`` flag.

    Returns:
      A :class:`MultiplierOutput`.

    Raises:
      TypeError / ValueError: as for the other solvers (names the argument).
    """
    x0, m = _check_eq_problem(f, c, x0)
    mus = _array("mus", mus, ndim=1).astype(x0.dtype)
    require_positive("mus", mus)
    require_int("newton_iters", newton_iters, minimum=1)
    _tol("tol", tol)
    return _penalty_path(f, c, newton_iters, x0, mus, tol)


def augmented_lagrangian(
    f: Callable,
    c: Callable,
    x0: Any,
    mu: float,
    num_outer: int,
    *,
    lam0: Any = None,
    newton_iters: int = 30,
    tol: float = 1e-6,
) -> MultiplierOutput:
    """Method of multipliers: ``x_k = argmin ℒ_μ(x, λ_k) = f + λ_kᵀc + (μ/2)‖c‖²``,
    ``λ_{k+1} = λ_k + μ c(x_k)``, with a *fixed* μ (``lams[k]`` is ``λ_{k+1}``). One
    compiled ``lax.scan`` per ``(f, c, newton_iters, num_outer)`` and shape.

    Args:
      f, c: objective and constraints (hashable callables).
      x0: start, a finite 1-D vector.
      mu: penalty ``μ > 0``.
      num_outer: outer iterations (positive int).
      lam0: initial multipliers ``(m,)`` (default zeros).
      newton_iters: Newton steps per subproblem (positive int).
      tol: tolerance of the ``converged`` flag.

    Returns:
      A :class:`MultiplierOutput`.

    Raises:
      TypeError / ValueError: naming the argument.
    """
    x0, m = _check_eq_problem(f, c, x0)
    _pos_scalar("mu", mu)
    require_int("num_outer", num_outer, minimum=1)
    require_int("newton_iters", newton_iters, minimum=1)
    _tol("tol", tol)
    lam = jnp.zeros(m, x0.dtype) if lam0 is None else _array("lam0", lam0).astype(x0.dtype)
    require_shape("lam0", lam, (m,))
    return _alm_path(f, c, newton_iters, num_outer, x0, lam, jnp.asarray(mu, x0.dtype), tol)


# ---------------------------------------------------------------------------
# exact augmented Lagrangian + randomized sketched Newton–KKT
# ---------------------------------------------------------------------------


def sketch_solve(
    K: jax.Array, r: jax.Array, theta: Any, key: jax.Array, *, sketch_size: int, max_iters: int = 2000
):
    """Randomized block Kaczmarz (sketch-and-project with random row blocks) for
    ``K z = r`` from ``z = 0``, until ``‖Kz − r‖ ≤ θ‖r‖``. Returns ``(z, iters)``;
    ``iters == max_iters`` means the accuracy was not reached.

    Each step projects ``z`` onto the solutions of ``K_S z = r_S`` for a random set
    ``S`` of ``sketch_size`` rows: ``z ← z − K_Sᵀ(K_S K_Sᵀ)⁻¹(K_S z − r_S)``.
    Compiled once per ``(sketch_size, max_iters)`` and shape.

    Args:
      K: square ``(N, N)`` finite matrix. r: ``(N,)`` finite right-hand side.
      theta: relative accuracy ``θ > 0``.
      key: a JAX PRNG key (``jax.random.key(seed)``).
      sketch_size: rows per block, ``1 ≤ q ≤ N``. max_iters: positive int.

    Returns:
      ``(z, iters)``.

    Raises:
      TypeError: an integer seed for ``key``, non-numeric arrays, non-int sizes.
      ValueError: shapes, non-finite entries, ``theta ≤ 0``, ``sketch_size`` out of range.
    """
    K = _array("K", K, ndim=2)
    N = K.shape[0]
    require_shape("K", K, (N, N))
    r = _array("r", r, ndim=1)
    require_shape("r", r, (N,))
    _pos_scalar("theta", theta)
    require_key("key", key)
    require_int("sketch_size", sketch_size, minimum=1)
    if sketch_size > N:
        raise ValueError(f"sketch_size must be at most the number of rows N = {N}, got {sketch_size}")
    require_int("max_iters", max_iters, minimum=1)
    dtype = jnp.result_type(K, r)
    return _sketch_solve(
        K.astype(dtype), r.astype(dtype), jnp.asarray(theta, dtype), key, sketch_size, max_iters
    )


@functools.partial(jax.jit, static_argnames=("sketch_size", "max_iters"))
def _sketch_solve(K, r, theta, key, sketch_size, max_iters):
    N = K.shape[0]
    tol = theta * jnp.linalg.norm(r)

    def resid(z):
        return jnp.linalg.norm(jnp.matmul(K, z, precision=_HIGHEST) - r)

    def cond(st):
        z, it, _ = st
        return (resid(z) > tol) & (it < max_iters)

    def body(st):
        z, it, k = st
        k, sub = jax.random.split(k)
        rows = jax.random.permutation(sub, N)[:sketch_size]
        KS, rS = K[rows], r[rows]
        res = jnp.matmul(KS, z, precision=_HIGHEST) - rS
        z = z - jnp.matmul(
            KS.T, jnp.linalg.solve(jnp.matmul(KS, KS.T, precision=_HIGHEST), res), precision=_HIGHEST
        )
        return z, it + 1, k

    z, it, _ = jax.lax.while_loop(cond, body, (jnp.zeros_like(r), jnp.asarray(0), key))
    return z, it


def kkt_residual(f: Callable, c: Callable, x: Any, lam: Any) -> jax.Array:
    """``‖(∇ₓℒ(x, λ), c(x))‖₂`` with ``ℒ = f + λᵀc``.

    Args:
      f, c: objective and constraints (callables). x: finite 1-D point.
      lam: multipliers, a vector with one entry per constraint.

    Returns:
      The scalar KKT residual.

    Raises:
      TypeError / ValueError: naming the argument (``lam`` of the wrong length included).
    """
    x, m = _check_eq_problem(f, c, x, name="x")
    lam = _array("lam", lam, ndim=(0, 1)).astype(x.dtype)
    lam = jnp.atleast_1d(lam)
    require_shape("lam", lam, (m,))
    gx = jax.grad(lambda x: f(x) + jnp.vdot(lam, jnp.atleast_1d(c(x))))(x)
    return jnp.sqrt(jnp.sum(gx**2) + jnp.sum(jnp.atleast_1d(c(x)) ** 2))


class ExactALOutput(NamedTuple):
    """``residuals[k]``: KKT residual at iterate ``k`` (``K+1`` entries);
    ``steps[k]``: the accepted step size; ``inner_iters[k]``: sketching iterations;
    ``thetas[k]``: the accuracy asked of the solver; ``mus[k]``: the penalty used;
    ``converged``: the last residual is at most ``tol`` (a Python bool: this solver
    runs its line search on the host)."""

    x: jax.Array
    lam: jax.Array
    residuals: jax.Array
    steps: jax.Array
    inner_iters: jax.Array
    thetas: jax.Array
    mus: jax.Array
    converged: bool


@functools.lru_cache(maxsize=32)
def _eal_kernels(f, c, n, m, eta, q, max_inner):
    """Jitted KKT system, merit and sketching solver for :func:`exact_al_sketch`, cached
    per problem so repeated runs (several accuracies) compile once."""

    def lag(x, lam):
        return f(x) + jnp.vdot(lam, jnp.atleast_1d(c(x)))

    grad_x = jax.grad(lag, argnums=0)

    @jax.jit
    def kkt(x, lam):
        H = jax.hessian(lag, argnums=0)(x, lam)
        J = jax.jacobian(lambda x: jnp.atleast_1d(c(x)))(x)
        K = jnp.block([[H, J.T], [J, jnp.zeros((m, m), x.dtype)]])
        rhs = -jnp.concatenate([grad_x(x, lam), jnp.atleast_1d(c(x))])
        return K, rhs

    def merit(z, mu):
        x, lam = z[:n], z[n:]
        gx = grad_x(x, lam)
        cx = jnp.atleast_1d(c(x))
        return lag(x, lam) + 0.5 * mu * jnp.sum(cx**2) + 0.5 * eta * jnp.sum(gx**2)

    merit_vg = jax.jit(jax.value_and_grad(merit))
    merit_v = jax.jit(merit)

    def solve(K, r, th, k):
        return _sketch_solve(K, r, jnp.asarray(th, K.dtype), k, q, max_inner)

    return kkt, merit_vg, merit_v, solve


_EAL_ACCURACY = ("exact", "fixed", "tightening")


def exact_al_sketch(
    f: Callable,
    c: Callable,
    x0: Any,
    key: jax.Array,
    *,
    lam0: Any = None,
    num_iters: int = 30,
    accuracy: str = "tightening",
    theta: float = 0.1,
    mu: float = 10.0,
    eta: float = 0.1,
    sketch_size: int | None = None,
    max_inner: int = 5000,
    tol: float = 1e-11,
) -> ExactALOutput:
    r"""Newton–KKT steps for ``min f s.t. c(x) = 0`` with a line search on the *exact*
    augmented Lagrangian (Hong, Na, Mahoney, Kolar 2023)

        M(x, λ) = f + λᵀc + (μ/2)‖c‖² + (η/2)‖∇ₓℒ(x, λ)‖².

    The KKT system ``[[H, Jᵀ], [J, 0]] (Δx, Δλ) = −(∇ₓℒ, c)`` is solved by
    :func:`sketch_solve` to relative accuracy ``θ_k``: ``accuracy="exact"`` (dense
    solve), ``"fixed"`` (``θ_k = θ``) or ``"tightening"`` (``θ_k = min(θ, r_k)``, with
    ``r_k`` the KKT residual, so ``θ_k → 0``). The step starts at α = 1 and halves
    until Armijo holds on ``M`` (up to a rounding allowance); if the direction is not a descent direction of
    ``M``, μ is multiplied by 10 (up to 6 times), as in the paper's adaptive penalty.
    The outer loop runs on the host (concrete inputs only); its kernels are compiled
    once per problem. The iteration stops early if the residual becomes non-finite.

    Args:
      f, c: objective and constraints (hashable callables). x0: finite 1-D start.
      key: a JAX PRNG key. lam0: initial multipliers ``(m,)``.
      num_iters, max_inner: positive ints. accuracy: ``"exact"``, ``"fixed"`` or
      ``"tightening"``. theta: in ``(0, 1)`` (unused for ``"exact"``).
      mu, eta, tol: positive. sketch_size: ``1 ≤ q ≤ n + m`` (default ``(n+m)//2``).

    Returns:
      An :class:`ExactALOutput`.

    Raises:
      TypeError: an integer seed for ``key``, traced inputs, non-numeric arrays.
      ValueError: naming the argument that is out of range.
    """
    x0, m = _check_eq_problem(f, c, x0)
    if not is_concrete(x0):
        raise TypeError(
            "x0 must be concrete: exact_al_sketch runs its line search on the host "
            "and cannot be traced (call it outside jit)"
        )
    require_key("key", key)
    require_int("num_iters", num_iters, minimum=1)
    require_int("max_inner", max_inner, minimum=1)
    _pos_scalar("mu", mu)
    _pos_scalar("eta", eta)
    _pos_scalar("tol", tol)
    _choice("accuracy", accuracy, _EAL_ACCURACY)
    if accuracy != "exact":
        _pos_scalar("theta", theta)
        if not float(theta) < 1:
            raise ValueError(f"theta must lie in (0, 1), got {theta!r}")
    n = x0.shape[0]
    N = n + m
    q = sketch_size if sketch_size is not None else max(1, N // 2)
    require_int("sketch_size", q, minimum=1)
    if q > N:
        raise ValueError(f"sketch_size must be at most n + m = {N}, got {q}")
    lam = jnp.zeros(m, x0.dtype) if lam0 is None else _array("lam0", lam0, ndim=(0, 1)).astype(x0.dtype)
    lam = jnp.atleast_1d(lam)
    require_shape("lam0", lam, (m,))

    kkt, merit_vg, merit_v, solve = _eal_kernels(f, c, n, m, float(eta), int(q), int(max_inner))

    z = jnp.concatenate([x0, lam])
    mu_k = float(mu)
    res = [float(jnp.linalg.norm(kkt(z[:n], z[n:])[1]))]
    steps, inners, thetas, mus = [], [], [], []
    converged = res[0] <= tol
    for _ in range(num_iters):
        if converged or not np.isfinite(res[-1]):
            break
        K, rhs = kkt(z[:n], z[n:])
        r_k = res[-1]
        if accuracy == "exact":
            d, it, th = jnp.linalg.solve(K, rhs), 0, 0.0
        else:
            th = float(theta) if accuracy == "fixed" else min(float(theta), r_k)
            key, sub = jax.random.split(key)
            d, it = solve(K, rhs, th, sub)
            it = int(it)
        for _ in range(7):
            m0, g0 = merit_vg(z, mu_k)
            slope = float(jnp.vdot(g0, d))
            if slope < 0:
                break
            mu_k *= 10.0
        if not slope < 0:  # fall back on steepest descent of the merit
            d = -g0
            slope = float(jnp.vdot(g0, d))
        a = 1.0
        # Armijo on M, with a rounding allowance of 10 ulps of |M| (near the solution the
        # decrease of M, O(r²), falls below float precision; IPOPT uses the same guard)
        slack = 10 * float(jnp.finfo(z.dtype).eps) * abs(float(m0))
        while float(merit_v(z + a * d, mu_k)) > float(m0) + 1e-4 * a * slope + slack and a > 1e-12:
            a *= 0.5
        z = z + a * d
        res.append(float(jnp.linalg.norm(kkt(z[:n], z[n:])[1])))
        steps.append(a)
        inners.append(it)
        thetas.append(th)
        mus.append(mu_k)
        converged = res[-1] <= tol
    return ExactALOutput(
        z[:n],
        z[n:],
        jnp.asarray(res),
        jnp.asarray(steps),
        jnp.asarray(inners),
        jnp.asarray(thetas),
        jnp.asarray(mus),
        bool(converged),
    )


# ---------------------------------------------------------------------------
# primal–dual (gradient descent–ascent) for inequality-constrained learning
# ---------------------------------------------------------------------------


class PrimalDualOutput(NamedTuple):
    """``values[t] = f(x_t)``, ``violations[t] = max(0, max_j g_j(x_t))``,
    ``lams[t]`` the dual variables before step ``t``; ``converged``: everything finite
    and the final pair is a KKT point up to ``tol`` (stationarity
    ``‖∇ₓℒ‖ ≤ tol·max(1, ‖∇f‖)``, violation and complementary slackness
    ``|λᵀg| ≤ tol·max(1, |f|)``; a boolean array, valid under ``jit``)."""

    x: jax.Array
    lam: jax.Array
    values: jax.Array
    violations: jax.Array
    lams: jax.Array
    converged: jax.Array


def primal_dual(
    f: Callable,
    g: Callable,
    x0: Any,
    primal_lr: float,
    dual_lr: float,
    num_iters: int,
    *,
    lam0: Any = None,
    tol: float = 1e-6,
) -> PrimalDualOutput:
    """Gradient descent–ascent on ``ℒ(x, λ) = f(x) + λᵀg(x)``, ``λ ≥ 0``:
    ``x ← x − η_x ∇ₓℒ(x, λ)``, then ``λ ← max(0, λ + η_λ g(x))`` (dual ascent with the
    fresh primal iterate), for ``min f(x) s.t. g(x) ≤ 0``. Compiled once per
    ``(f, g, num_iters)`` and shape.

    Args:
      f, g: objective and inequality constraints (hashable callables).
      x0: finite start (1-D). primal_lr, dual_lr: positive step sizes.
      num_iters: positive int. lam0: initial multipliers ``≥ 0``, one per constraint.
      tol: tolerance of the ``converged`` flag.

    Returns:
      A :class:`PrimalDualOutput`.

    Raises:
      TypeError / ValueError: naming the argument.
    """
    x0, m = _check_eq_problem(f, g, x0, cname="g")
    _pos_scalar("primal_lr", primal_lr)
    _pos_scalar("dual_lr", dual_lr)
    require_int("num_iters", num_iters, minimum=1)
    _tol("tol", tol)
    lam = (
        jnp.zeros(m, x0.dtype)
        if lam0 is None
        else jnp.atleast_1d(_array("lam0", lam0, ndim=(0, 1)).astype(x0.dtype))
    )
    require_shape("lam0", lam, (m,))
    require_nonnegative("lam0", lam)
    return _primal_dual(f, g, num_iters, x0, lam, primal_lr, dual_lr, tol)


@functools.partial(jax.jit, static_argnames=("f", "g", "num_iters"))
def _primal_dual(f, g, num_iters, x0, lam, primal_lr, dual_lr, tol):
    def gv(x):
        return jnp.atleast_1d(g(x))

    def lag(x, lam):
        return f(x) + jnp.vdot(lam, gv(x))

    gl = jax.grad(lag)

    def body(carry, _):
        x, lam = carry
        v = f(x)
        viol = jnp.maximum(0.0, jnp.max(gv(x)))
        xn = x - primal_lr * gl(x, lam)
        lamn = jnp.maximum(0.0, lam + dual_lr * gv(xn))
        return (xn, lamn), (v, viol, lam)

    (x, lam), (vals, viols, lams) = jax.lax.scan(body, (x0, lam), None, length=num_iters)
    f_T, gf = jax.value_and_grad(f)(x)
    g_T = gv(x)
    scale_f = jnp.maximum(1.0, jnp.abs(f_T))
    converged = (
        jnp.all(jnp.isfinite(vals))
        & jnp.all(jnp.isfinite(x))
        & jnp.all(jnp.isfinite(lam))
        & (jnp.linalg.norm(gl(x, lam)) <= tol * jnp.maximum(1.0, jnp.linalg.norm(gf)))
        & (jnp.max(g_T) <= tol * scale_f)
        & (jnp.abs(jnp.vdot(lam, g_T)) <= tol * scale_f)
    )
    return PrimalDualOutput(x, lam, vals, viols, lams, converged)


# ---------------------------------------------------------------------------
# two-layer ReLU networks: convex reformulation and ADMM
# ---------------------------------------------------------------------------


def relu_patterns(X: Any, *, num_samples: int = 0, key: Any = None) -> jax.Array:
    """Activation patterns ``D = 1[Xu ≥ 0]`` (rows, ``(P, n)``, as floats).

    For ``d = 2`` and ``num_samples = 0`` *all* patterns are enumerated exactly:
    they change only where ``u ⟂ x_i``, so one direction inside each arc between
    consecutive critical angles suffices. Otherwise ``num_samples`` Gaussian
    directions are drawn with ``key`` and duplicates removed. The all-zero
    pattern is dropped (its block never contributes). Runs on the host (NumPy).

    Args:
      X: ``(n, d)`` finite data (concrete). num_samples: a non-negative int.
      key: a JAX PRNG key, required when ``num_samples > 0``.

    Returns:
      ``(P, n)`` float array of 0/1 patterns.

    Raises:
      TypeError: traced or non-numeric ``X``, a non-int ``num_samples``, an integer seed
        for ``key``.
      ValueError: wrong shape, empty or non-finite ``X``; ``d ≠ 2`` without sampling;
        a missing ``key``.
    """
    if not is_concrete(X):
        raise TypeError("X must be concrete: relu_patterns enumerates patterns on the host")
    X = np.asarray(_array("X", X, ndim=2), dtype=float)
    require_int("num_samples", num_samples, minimum=0)
    n, d = X.shape
    if num_samples == 0:
        if d != 2:
            raise ValueError(
                f"exact enumeration needs d = 2 (got X with d = {d}); pass "
                "num_samples > 0 and a key to sample patterns"
            )
        ang = np.arctan2(X[:, 1], X[:, 0])
        crit = np.sort(np.mod(np.concatenate([ang + np.pi / 2, ang - np.pi / 2]), 2 * np.pi))
        mids = (
            crit + np.roll(crit, -1) + np.where(np.arange(crit.size) == crit.size - 1, 2 * np.pi, 0.0)
        ) / 2
        U = np.stack([np.cos(mids), np.sin(mids)])
    else:
        if key is None:
            raise ValueError("sampling patterns needs an explicit key (key=jax.random.key(seed))")
        require_key("key", key)
        U = np.asarray(jax.random.normal(key, (d, num_samples)))
    D = (X @ U >= 0).T.astype(float)
    D = np.unique(D, axis=0)
    D = D[D.sum(1) > 0]
    return jnp.asarray(D)


def _relu_mats(X, D):
    P, n = D.shape
    d = X.shape[1]
    DX = D[:, :, None] * X[None, :, :]  # (P, n, d)
    F = jnp.concatenate(
        [jnp.transpose(DX, (1, 0, 2)).reshape(n, P * d), -jnp.transpose(DX, (1, 0, 2)).reshape(n, P * d)],
        axis=1,
    )
    S = (2 * D - 1)[:, :, None] * X[None, :, :]  # (P, n, d)
    Gb = jax.scipy.linalg.block_diag(*[S[j] for j in range(P)])  # (P n, P d)
    G = jax.scipy.linalg.block_diag(Gb, Gb)  # (2 P n, 2 P d)
    return F, G


def _relu_data(X, y, *, y_name="y"):
    X = _array("X", X, ndim=2)
    n = X.shape[0]
    y = _array(y_name, y, ndim=1).astype(X.dtype)
    require_shape(y_name, y, (n,))
    return X, y


def _patterns(D, n, dtype):
    D = _array("D", D, ndim=2).astype(dtype)
    if D.shape[1] != n:
        raise ValueError(f"D must have shape (P, n={n}), got {tuple(D.shape)}")
    if is_concrete(D) and not bool(jnp.all((D == 0) | (D == 1))):
        raise ValueError("D must hold 0/1 activation patterns")
    return D


def convex_relu_objective(X: Any, y: Any, D: Any, v: Any, w: Any, beta: float) -> jax.Array:
    """``½‖Σ_j D_j X(v_j − w_j) − y‖² + β Σ_j (‖v_j‖ + ‖w_j‖)`` (``v, w``: ``(P, d)``).

    Args:
      X: ``(n, d)``. y: ``(n,)``. D: ``(P, n)`` 0/1 patterns. v, w: ``(P, d)``.
      beta: ``β ≥ 0``.

    Returns:
      The scalar objective.

    Raises:
      TypeError / ValueError: naming the argument (shapes, NaN/inf, negative β).
    """
    X, y = _relu_data(X, y)
    n, d = X.shape
    D = _patterns(D, n, X.dtype)
    P = D.shape[0]
    v = _array("v", v, ndim=2).astype(X.dtype)
    require_shape("v", v, (P, d))
    w = _array("w", w, ndim=2).astype(X.dtype)
    require_shape("w", w, (P, d))
    _nonneg_scalar("beta", beta)
    return _convex_relu_objective(X, y, D, v, w, beta)


def _convex_relu_objective(X, y, D, v, w, beta):
    pred = jnp.einsum("pn,nd,pd->n", D, X, v - w, precision=_HIGHEST)
    return 0.5 * jnp.sum((pred - y) ** 2) + beta * (
        jnp.sum(jnp.linalg.norm(v, axis=1)) + jnp.sum(jnp.linalg.norm(w, axis=1))
    )


class ReLUADMMOutput(NamedTuple):
    """``v, w``: ``(P, d)`` (the group-sparse copy); ``objectives[k]`` the convex
    objective at iteration ``k``; ``violations[k] = max(0, −min (2D_j − I)X{v_j, w_j})``;
    ``residuals[k]``: the primal residual ``‖u − v‖ + ‖Gu − s‖``; ``converged``: all
    finite and the last primal residual at most ``tol·max(1, ‖y‖)`` (a boolean array,
    valid under ``jit``)."""

    v: jax.Array
    w: jax.Array
    objectives: jax.Array
    violations: jax.Array
    residuals: jax.Array
    converged: jax.Array


def relu_admm(
    X: Any, y: Any, D: Any, beta: float, *, rho: float = 1.0, num_iters: int = 500, tol: float = 1e-6
) -> ReLUADMMOutput:
    """ADMM for the convex two-layer ReLU program (Pilanci & Ergen 2020; Bai et al. 2023)

        min ½‖F u − y‖² + β Σ_blocks ‖u_b‖₂   s.t.  G u ≥ 0,

    split as ``u = v`` (group soft-threshold) and ``Gu = s``, ``s ≥ 0`` (clip); the
    ``u``-step solves one fixed linear system (``FᵀF + ρI + ρGᵀG``, factored once).
    Compiled once per ``num_iters`` and shape.

    Args:
      X: ``(n, d)`` finite data. y: ``(n,)`` targets. D: ``(P, n)`` 0/1 patterns.
      beta: ``β > 0``. rho: ADMM penalty ``ρ > 0``. num_iters: positive int.
      tol: tolerance of the ``converged`` flag.

    Returns:
      A :class:`ReLUADMMOutput`.

    Raises:
      TypeError / ValueError: naming the argument.
    """
    X, y = _relu_data(X, y)
    D = _patterns(D, X.shape[0], X.dtype)
    _pos_scalar("beta", beta)
    _pos_scalar("rho", rho)
    require_int("num_iters", num_iters, minimum=1)
    _tol("tol", tol)
    return _relu_admm(X, y, D, beta, rho, tol, num_iters)


@functools.partial(jax.jit, static_argnames=("num_iters",))
def _relu_admm(X, y, D, beta, rho, tol, num_iters):
    n, d = X.shape
    P = D.shape[0]
    hp = functools.partial(jnp.matmul, precision=_HIGHEST)
    F, G = _relu_mats(X, D)
    nv = 2 * P * d
    A = hp(F.T, F) + rho * jnp.eye(nv, dtype=X.dtype) + rho * hp(G.T, G)
    cho = jax.scipy.linalg.cho_factor(A)
    Fty = hp(F.T, y)

    def group_shrink(z, t):
        zb = z.reshape(2 * P, d)
        nrm = jnp.linalg.norm(zb, axis=1, keepdims=True)
        return (zb * jnp.maximum(0.0, 1.0 - t / jnp.maximum(nrm, _tiny(X.dtype)))).ravel()

    def body(carry, _):
        u, v, s, lam, nu = carry
        u = jax.scipy.linalg.cho_solve(cho, Fty + rho * (v - lam) + rho * hp(G.T, s - nu))
        v = group_shrink(u + lam, beta / rho)
        Gu = hp(G, u)
        s = jnp.maximum(0.0, Gu + nu)
        lam = lam + u - v
        nu = nu + Gu - s
        vb = v.reshape(2, P, d)
        obj = _convex_relu_objective(X, y, D, vb[0], vb[1], beta)
        viol = jnp.maximum(0.0, -jnp.min(hp(G, v)))
        resid = jnp.linalg.norm(u - v) + jnp.linalg.norm(Gu - s)
        return (u, v, s, lam, nu), (obj, viol, resid)

    z = jnp.zeros(nv, X.dtype)
    zs = jnp.zeros(G.shape[0], X.dtype)
    (u, v, s, lam, nu), (objs, viols, resids) = jax.lax.scan(body, (z, z, zs, z, zs), None, length=num_iters)
    vb = v.reshape(2, P, d)
    converged = (
        jnp.all(jnp.isfinite(objs))
        & jnp.all(jnp.isfinite(v))
        & (resids[-1] <= tol * jnp.maximum(1.0, jnp.linalg.norm(y)))
    )
    return ReLUADMMOutput(vb[0], vb[1], objs, viols, resids, converged)


def relu_from_convex(v: Any, w: Any, *, tol: float = 1e-8):
    """Network ``(U, α)`` (``U``: ``(d, m)``) from a convex solution: each nonzero
    ``v_j`` gives a neuron ``u = v_j/√‖v_j‖``, ``α = √‖v_j‖`` (``−√‖w_j‖`` for ``w_j``).
    Runs on the host (the number of neurons depends on the values).

    Args:
      v, w: ``(P, d)`` finite, concrete arrays of the same shape. tol: ``≥ 0``, the
        norm below which a block counts as zero.

    Returns:
      ``(U, alpha)``.

    Raises:
      TypeError: traced or non-numeric input. ValueError: shapes, NaN/inf, negative ``tol``.
    """
    if not is_concrete((v, w)):
        raise TypeError("v and w must be concrete: relu_from_convex picks neurons on the host")
    v = _array("v", v, ndim=2)
    w = _array("w", w, ndim=2)
    require_shape("w", w, v.shape)
    _tol("tol", tol)
    V = np.concatenate([np.asarray(v), np.asarray(w)])
    sign = np.concatenate([np.ones(len(v)), -np.ones(len(w))])
    nrm = np.linalg.norm(V, axis=1)
    keep = nrm > tol
    U = (V[keep] / np.sqrt(nrm[keep])[:, None]).T
    alpha = sign[keep] * np.sqrt(nrm[keep])
    return jnp.asarray(U, v.dtype), jnp.asarray(alpha, v.dtype)


def _network(X, U, alpha):
    X = _array("X", X, ndim=2)
    U = _array("U", U, ndim=2).astype(X.dtype)
    require_shape("U", U, (X.shape[1], None))
    alpha = _array("alpha", alpha, ndim=1).astype(X.dtype)
    require_shape("alpha", alpha, (U.shape[1],))
    return X, U, alpha


def relu_predict(X: Any, U: Any, alpha: Any) -> jax.Array:
    """``Σ_k relu(X u_k) α_k``.

    Args:
      X: ``(n, d)``. U: ``(d, m)``. alpha: ``(m,)`` (all finite).

    Returns:
      ``(n,)`` predictions.

    Raises:
      TypeError / ValueError: naming the argument.
    """
    X, U, alpha = _network(X, U, alpha)
    return _relu_predict(X, U, alpha)


def _relu_predict(X, U, alpha):
    return jnp.matmul(jax.nn.relu(jnp.matmul(X, U, precision=_HIGHEST)), alpha, precision=_HIGHEST)


def relu_network_objective(X: Any, y: Any, U: Any, alpha: Any, beta: float) -> jax.Array:
    """``½‖Σ_k relu(Xu_k)α_k − y‖² + (β/2)(‖U‖_F² + ‖α‖²)`` (weight decay).

    Args:
      X: ``(n, d)``. y: ``(n,)``. U: ``(d, m)``. alpha: ``(m,)``. beta: ``β ≥ 0``.

    Returns:
      The scalar objective.

    Raises:
      TypeError / ValueError: naming the argument.
    """
    X, U, alpha = _network(X, U, alpha)
    X, y = _relu_data(X, y)
    _nonneg_scalar("beta", beta)
    return _relu_network_objective(X, y, U, alpha, beta)


def _relu_network_objective(X, y, U, alpha, beta):
    r = _relu_predict(X, U, alpha) - y
    return 0.5 * jnp.sum(r**2) + 0.5 * beta * (jnp.sum(U**2) + jnp.sum(alpha**2))


def train_relu_nonconvex(
    X: Any,
    y: Any,
    width: int,
    beta: float,
    key: jax.Array,
    *,
    learning_rate: float = 1e-2,
    num_steps: int = 3000,
    init_scale: float = 1.0,
):
    """Gradient descent on :func:`relu_network_objective` from a random init
    (``U ~ init_scale·N(0, 1/d)``, ``α ~ init_scale·N(0, 1/width)``); returns
    ``(U, α, objectives)``. ``vmap`` over ``key`` for several seeds. Compiled once per
    ``(width, num_steps)`` and shape.

    Args:
      X: ``(n, d)``. y: ``(n,)``. width: positive int. beta: ``β ≥ 0``.
      key: a JAX PRNG key. learning_rate, init_scale: positive. num_steps: positive int.

    Returns:
      ``(U, alpha, objectives)`` with ``objectives`` of shape ``(num_steps,)``.

    Raises:
      TypeError: an integer seed for ``key``, non-numeric arrays, non-int sizes.
      ValueError: naming the argument that is out of range.
    """
    X, y = _relu_data(X, y)
    require_int("width", width, minimum=1)
    _nonneg_scalar("beta", beta)
    require_key("key", key)
    _pos_scalar("learning_rate", learning_rate)
    require_int("num_steps", num_steps, minimum=1)
    _pos_scalar("init_scale", init_scale)
    return _train_relu(X, y, beta, key, learning_rate, init_scale, width, num_steps)


@functools.partial(jax.jit, static_argnames=("width", "num_steps"))
def _train_relu(X, y, beta, key, learning_rate, init_scale, width, num_steps):
    d = X.shape[1]
    k1, k2 = jax.random.split(key)
    U = init_scale * jax.random.normal(k1, (d, width), X.dtype) / jnp.sqrt(d)
    a = init_scale * jax.random.normal(k2, (width,), X.dtype) / jnp.sqrt(width)
    vg = jax.value_and_grad(lambda p: _relu_network_objective(X, y, p[0], p[1], beta))

    def body(p, _):
        v, g = vg(p)
        return jax.tree_util.tree_map(lambda q, h: q - learning_rate * h, p, g), v

    (U, a), vals = jax.lax.scan(body, (U, a), None, length=num_steps)
    return U, a, vals
