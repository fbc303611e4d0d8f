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
from typing import Any, Callable, NamedTuple, Optional

import jax
import jax.numpy as jnp
import numpy as np

from ._checks import (
    is_concrete,
    require_finite,
    require_int,
    require_ndim,
    require_nonnegative,
    require_positive,
    require_shape,
)

__all__ = [
    "Simplex", "L1Ball", "L2Ball", "Box", "SpectralBall", "NuclearBall",
    "simplex", "l1_ball", "l2_ball", "box", "spectral_ball", "nuclear_ball", "ball",
    "project_simplex", "project_l1_ball",
    "PGDOutput", "FWOutput", "LoadBalanceOutput", "MultiplierOutput", "ExactALOutput",
    "PrimalDualOutput", "ReLUADMMOutput",
    "projected_gradient", "frank_wolfe", "require_feasible",
    "load_balancing", "load_balancing_dual", "balanced_assignment_lp",
    "quadratic_penalty", "augmented_lagrangian",
    "sketch_solve", "exact_al_sketch", "kkt_residual",
    "primal_dual",
    "relu_patterns", "convex_relu_objective", "relu_admm", "relu_from_convex",
    "relu_network_objective", "relu_predict", "train_relu_nonconvex",
]


# ---------------------------------------------------------------------------
# projections
# ---------------------------------------------------------------------------

def project_simplex(v: jax.Array, radius: Any = 1.0) -> jax.Array:
    """Euclidean projection of a vector onto ``{x ≥ 0, Σx = r}`` by sorting.

    With ``u`` sorted decreasingly and ``ρ = max{j : u_j − (Σ_{i≤j} u_i − r)/j > 0}``
    the projection is ``max(v − θ, 0)``, ``θ = (Σ_{i≤ρ} u_i − r)/ρ`` (Duchi et al. 2008).
    """
    u = jnp.sort(v)[::-1]
    css = jnp.cumsum(u) - radius
    ind = jnp.arange(1, v.shape[0] + 1, dtype=v.dtype)
    rho = jnp.sum(u - css / ind > 0) - 1
    theta = css[rho] / (rho + 1).astype(v.dtype)
    return jnp.maximum(v - theta, 0.0)


def project_l1_ball(v: jax.Array, radius: Any = 1.0) -> jax.Array:
    """Projection onto ``{‖x‖₁ ≤ r}``: ``v`` itself if inside, else
    ``sign(v)·P_simplex(|v|)``."""
    flat = v.ravel()
    inside = jnp.sum(jnp.abs(flat)) <= radius
    proj = jnp.sign(flat) * project_simplex(jnp.abs(flat), radius)
    return jnp.where(inside, flat, proj).reshape(v.shape)


class _Set:
    """Base class: a pytree whose leaves are the set's parameters."""

    _fields: tuple = ()

    def tree_flatten(self):
        return tuple(getattr(self, f) for f in self._fields), None

    @classmethod
    def tree_unflatten(cls, aux, children):
        obj = object.__new__(cls)
        for f, c in zip(cls._fields, children):
            setattr(obj, f, c)
        return obj

    def __repr__(self):
        args = ", ".join(f"{f}={getattr(self, f)!r}" for f in self._fields)
        return f"{type(self).__name__}({args})"


def _radius(name, r):
    if is_concrete(r):
        if np.ndim(r) != 0:
            raise ValueError(f"{name} must be a scalar, got shape {np.shape(r)}")
        if not np.isfinite(float(r)):
            raise ValueError(f"{name} must be finite, got {r!r}")
        if float(r) < 0:
            raise ValueError(f"{name} must be non-negative for a (non-empty, convex) ball, got {r!r}")
        if float(r) == 0:
            raise ValueError(f"{name} must be positive (a ball of radius 0 is a single point), got {r!r}")
    return r


@jax.tree_util.register_pytree_node_class
class Simplex(_Set):
    """``{x ≥ 0, Σ x = r}``; LMO: the vertex ``r·e_i``, ``i = argmin g``."""

    _fields = ("radius",)

    def __init__(self, radius: Any = 1.0):
        self.radius = _radius("radius", radius)

    def project(self, x):
        return project_simplex(x, self.radius)

    def lmo(self, g):
        return self.radius * jax.nn.one_hot(jnp.argmin(g), g.shape[0], dtype=g.dtype)

    def contains(self, x, tol=1e-6):
        return bool(jnp.all(x >= -tol) & (jnp.abs(jnp.sum(x) - self.radius) <= tol * max(1.0, float(self.radius))))


@jax.tree_util.register_pytree_node_class
class L1Ball(_Set):
    """``{‖x‖₁ ≤ r}`` (any shape, entrywise); LMO: ``−r·sign(g_i)e_i`` at ``i = argmax |g_i|``."""

    _fields = ("radius",)

    def __init__(self, radius: Any = 1.0):
        self.radius = _radius("radius", radius)

    def project(self, x):
        return project_l1_ball(x, self.radius)

    def lmo(self, g):
        flat = g.ravel()
        i = jnp.argmax(jnp.abs(flat))
        s = -self.radius * jnp.sign(flat[i]) * jax.nn.one_hot(i, flat.shape[0], dtype=g.dtype)
        return s.reshape(g.shape)

    def contains(self, x, tol=1e-6):
        return bool(jnp.sum(jnp.abs(x)) <= self.radius * (1 + tol) + tol)


@jax.tree_util.register_pytree_node_class
class L2Ball(_Set):
    """``{‖x‖₂ ≤ r}`` (Frobenius for matrices); LMO: ``−r g/‖g‖``."""

    _fields = ("radius",)

    def __init__(self, radius: Any = 1.0):
        self.radius = _radius("radius", radius)

    def project(self, x):
        nrm = jnp.sqrt(jnp.sum(x**2))
        return x * jnp.minimum(1.0, self.radius / jnp.maximum(nrm, 1e-300))

    def lmo(self, g):
        nrm = jnp.sqrt(jnp.sum(g**2))
        return -self.radius * g / jnp.maximum(nrm, 1e-300)

    def contains(self, x, tol=1e-6):
        return bool(jnp.sqrt(jnp.sum(x**2)) <= self.radius * (1 + tol) + tol)


@jax.tree_util.register_pytree_node_class
class Box(_Set):
    """``{lo ≤ x ≤ hi}`` entrywise; LMO: ``lo`` where ``g > 0``, ``hi`` elsewhere."""

    _fields = ("lo", "hi")

    def __init__(self, lo: Any, hi: Any):
        if is_concrete((lo, hi)):
            lo_a, hi_a = np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)
            if np.any(np.isnan(lo_a)) or np.any(np.isnan(hi_a)):
                raise ValueError("box bounds lo and hi must not contain NaN")
            try:
                bad = np.broadcast_to(lo_a > hi_a, np.broadcast_shapes(lo_a.shape, hi_a.shape))
            except ValueError:
                raise ValueError(f"box bounds lo and hi must broadcast, got shapes "
                                 f"{lo_a.shape} and {hi_a.shape}") from None
            if np.any(bad):
                raise ValueError("box is empty: need lo <= hi in every coordinate, got lo > hi in "
                                 f"{int(bad.sum())} coordinate(s)")
        self.lo, self.hi = lo, hi

    def project(self, x):
        return jnp.clip(x, self.lo, self.hi)

    def lmo(self, g):
        return jnp.where(g > 0, self.lo, self.hi) * jnp.ones_like(g)

    def contains(self, x, tol=1e-6):
        return bool(jnp.all((x >= self.lo - tol) & (x <= self.hi + tol)))


@jax.tree_util.register_pytree_node_class
class SpectralBall(_Set):
    """``{X : σ_max(X) ≤ r}`` (operator norm); projection clips the singular values
    at ``r``; LMO: ``−r UVᵀ`` (the polar factor of ``g = UΣVᵀ``: it needs the full
    SVD, every singular pair)."""

    _fields = ("radius",)

    def __init__(self, radius: Any = 1.0):
        self.radius = _radius("radius", radius)

    def project(self, x):
        U, s, Vt = jnp.linalg.svd(x, full_matrices=False)
        return (U * jnp.minimum(s, self.radius)) @ Vt

    def lmo(self, g):
        U, _, Vt = jnp.linalg.svd(g, full_matrices=False)
        return -self.radius * U @ Vt

    def contains(self, x, tol=1e-6):
        return bool(jnp.linalg.norm(x, ord=2) <= self.radius * (1 + tol) + tol)


@jax.tree_util.register_pytree_node_class
class NuclearBall(_Set):
    """``{X : Σσ_i(X) ≤ r}`` (trace-norm ball, the convex hull of rank-one matrices
    ``r·uvᵀ``); LMO: ``−r u₁v₁ᵀ`` from the *top singular pair* of ``g`` only, which is
    why Frank–Wolfe is the method of choice here; projection: the singular values
    projected onto the ℓ1 ball (needs a full SVD)."""

    _fields = ("radius",)

    def __init__(self, radius: Any = 1.0):
        self.radius = _radius("radius", radius)

    def project(self, x):
        U, s, Vt = jnp.linalg.svd(x, full_matrices=False)
        return (U * project_l1_ball(s, self.radius)) @ Vt

    def lmo(self, g):
        U, _, Vt = jnp.linalg.svd(g, full_matrices=False)
        return -self.radius * jnp.outer(U[:, 0], Vt[0])

    def contains(self, x, tol=1e-6):
        return bool(jnp.sum(jnp.linalg.svd(x, compute_uv=False)) <= self.radius * (1 + tol) + tol)


def simplex(radius: float = 1.0) -> Simplex:
    """The scaled probability simplex ``{x ≥ 0, Σx = r}`` (``r > 0``)."""
    return Simplex(radius)


def l1_ball(radius: float = 1.0) -> L1Ball:
    return L1Ball(radius)


def l2_ball(radius: float = 1.0) -> L2Ball:
    return L2Ball(radius)


def spectral_ball(radius: float = 1.0) -> SpectralBall:
    return SpectralBall(radius)


def nuclear_ball(radius: float = 1.0) -> NuclearBall:
    return NuclearBall(radius)


def box(lo: Any, hi: Any) -> Box:
    return Box(lo, hi)


def ball(radius: float, p: Any = 2) -> _Set:
    """The ball ``{‖x‖_p ≤ r}`` for ``p ∈ {1, 2, 'inf', 'spectral'}``.

    ``p < 1`` (and the ℓ0 "ball" ``p = 0``) describe non-convex sets, on which
    projected gradient and Frank–Wolfe lose their guarantees: they are refused.
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
    p = float(p)
    if not p >= 1:
        raise ValueError(f"the l_p ball with p={p:g} < 1 is not convex (p = 0 is the l0 'ball' of "
                         "sparse vectors); projections and LMOs here need a convex set: use p >= 1")
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
        raise TypeError(f"{name} must be a set built by optlab.constrained (simplex, l1_ball, "
                        f"l2_ball, box, spectral_ball, nuclear_ball, ball), got {type(cset).__name__}")


def require_feasible(name: str, x: Any, cset: _Set, tol: float = 1e-6) -> None:
    """Raise unless ``x`` lies in ``cset`` (up to ``tol``); skipped for traced ``x``."""
    if not is_concrete((x, cset)):
        return
    if not cset.contains(jnp.asarray(x), tol):
        raise ValueError(f"{name} is not feasible: it must lie in {cset!r} (a feasible start is "
                         "required; use cset.project(x) to get one)")


def _require_callable(name, f):
    if not callable(f):
        raise TypeError(f"{name} must be callable, got {type(f).__name__}")


def _require_x0(name, x0):
    if is_concrete(x0):
        x0 = jnp.asarray(x0)
        if not jnp.issubdtype(x0.dtype, jnp.floating):
            x0 = x0.astype(jnp.result_type(float))
        require_finite(name, x0)
    return x0


def _vdot(a, b):
    return jnp.sum(a * b)


# ---------------------------------------------------------------------------
# projected gradient and Frank–Wolfe
# ---------------------------------------------------------------------------

class PGDOutput(NamedTuple):
    """``values[t] = f(x_t)``; ``grad_map[t] = ‖x_t − P(x_t − η∇f(x_t))‖/η`` (zero
    exactly at constrained stationary points); ``iterates``: ``(T+1, ...)``."""

    x: jax.Array
    values: jax.Array
    grad_map: jax.Array
    iterates: jax.Array


def projected_gradient(f: Callable, cset: _Set, x0: Any, step_size: float, num_iters: int
                       ) -> PGDOutput:
    """``x_{t+1} = P_𝒞(x_t − η ∇f(x_t))`` for ``num_iters`` steps (``x0`` need not be
    feasible; it is projected first)."""
    _require_callable("f", f)
    _require_set("cset", cset)
    require_positive("step_size", step_size)
    require_int("num_iters", num_iters, minimum=1)
    x0 = cset.project(_require_x0("x0", x0))
    vg = jax.value_and_grad(f)

    def body(x, _):
        v, g = vg(x)
        xn = cset.project(x - step_size * g)
        gm = jnp.sqrt(jnp.sum((x - xn) ** 2)) / step_size
        return xn, (v, gm, xn)

    x, (vals, gms, xs) = jax.lax.scan(body, x0, None, length=num_iters)
    return PGDOutput(x, vals, gms, jnp.concatenate([x0[None], xs]))


class FWOutput(NamedTuple):
    """``values[t] = f(x_t)``; ``gaps[t] = ⟨∇f(x_t), x_t − s_t⟩`` (the Frank–Wolfe gap,
    an upper bound on ``f(x_t) − f*`` for convex ``f``); ``iterates``: ``(T+1, ...)``."""

    x: jax.Array
    values: jax.Array
    gaps: jax.Array
    iterates: jax.Array


def frank_wolfe(f: Callable, cset: _Set, x0: Any, num_iters: int, *,
                step: str = "open_loop", L: Optional[float] = None) -> FWOutput:
    """Frank–Wolfe: ``s_t = lmo(∇f(x_t))``, ``x_{t+1} = x_t + γ_t(s_t − x_t)``.

    ``step="open_loop"``: ``γ_t = 2/(t+2)`` (no constants needed; Carderera et al.
    2021); ``step="short"``: ``γ_t = min(1, gap_t/(L‖s_t − x_t‖²))`` (needs ``L``).
    ``x0`` must be feasible (FW never projects, so it would stay infeasible).
    """
    _require_callable("f", f)
    _require_set("cset", cset)
    require_int("num_iters", num_iters, minimum=1)
    if step not in ("open_loop", "short"):
        raise ValueError(f"step must be 'open_loop' or 'short', got {step!r}")
    if step == "short":
        if L is None:
            raise ValueError("step='short' needs the smoothness constant L")
        require_positive("L", L)
    x0 = _require_x0("x0", x0)
    require_feasible("x0", x0, cset)
    vg = jax.value_and_grad(f)

    def body(x, t):
        v, g = vg(x)
        s = cset.lmo(g)
        d = s - x
        gap = -_vdot(g, d)
        if step == "open_loop":
            gamma = 2.0 / (t + 2.0)
        else:
            gamma = jnp.clip(gap / (L * jnp.maximum(_vdot(d, d), 1e-300)), 0.0, 1.0)
        xn = x + gamma * d
        return xn, (v, gap, xn)

    ts = jnp.arange(num_iters, dtype=x0.dtype)
    x, (vals, gaps, xs) = jax.lax.scan(body, x0, ts)
    return FWOutput(x, vals, gaps, jnp.concatenate([x0[None], xs]))


# ---------------------------------------------------------------------------
# dual ascent: auxiliary-loss-free load balancing
# ---------------------------------------------------------------------------

class LoadBalanceOutput(NamedTuple):
    """Per step ``t``: ``biases[t]`` (before the update), ``loads[t]`` (tokens per
    expert), ``imbalance[t] = max load / mean load``, ``dual[t] = D(b_t)`` and
    ``affinity[t] = Σ_i s_{i,e_i}`` of the routed assignment."""

    biases: jax.Array
    loads: jax.Array
    imbalance: jax.Array
    dual: jax.Array
    affinity: jax.Array


def load_balancing_dual(scores: Any, biases: Any) -> jax.Array:
    """``D(b) = Σ_i max_e (s_ie + b_e) − (n/E) Σ_e b_e``: the Lagrangian dual of the
    balanced assignment LP; ``D(b) ≥`` LP optimum for every ``b`` (weak duality)."""
    n, E = scores.shape
    return jnp.sum(jnp.max(scores + biases[None, :], axis=1)) - n / E * jnp.sum(biases)


def load_balancing(scores: Any, num_steps: int, step_size: float, *, rule: str = "sign",
                   biases0: Any = None) -> LoadBalanceOutput:
    """Auxiliary-loss-free load balancing as dual (sub)gradient steps.

    Top-1 routing ``e_i = argmax_e (s_ie + b_e)``; the bias moves by the load
    imbalance: ``rule="sign"`` is DeepSeek's ``b_e ← b_e + u·sign(n/E − load_e)``,
    ``rule="subgradient"`` is ``b_e ← b_e + u·(n/E − load_e)``; both step along
    ``−∂D(b)`` with ``∂D/∂b_e = load_e − n/E``.
    """
    scores = jnp.asarray(scores) if is_concrete(scores) else scores
    require_ndim("scores", scores, 2)
    require_finite("scores", scores)
    require_int("num_steps", num_steps, minimum=1)
    require_positive("step_size", step_size)
    if rule not in ("sign", "subgradient"):
        raise ValueError(f"rule must be 'sign' or 'subgradient', got {rule!r}")
    n, E = scores.shape
    if E < 2:
        raise ValueError(f"scores must have at least 2 experts (columns), got {E}")
    b0 = jnp.zeros(E, scores.dtype) if biases0 is None else jnp.asarray(biases0, scores.dtype)
    require_shape("biases0", b0, (E,))
    target = n / E

    def body(b, _):
        route = jnp.argmax(scores + b[None, :], axis=1)
        onehot = jax.nn.one_hot(route, E, dtype=scores.dtype)
        load = jnp.sum(onehot, axis=0)
        aff = jnp.sum(scores * onehot)
        dual = load_balancing_dual(scores, b)
        viol = target - load
        bn = b + step_size * (jnp.sign(viol) if rule == "sign" else viol)
        return bn, (b, load, jnp.max(load) / target, dual, aff)

    _, (bs, loads, imb, duals, affs) = jax.lax.scan(body, b0, None, length=num_steps)
    return LoadBalanceOutput(bs, loads, imb, duals, affs)


def balanced_assignment_lp(scores: Any) -> float:
    """Optimal value of ``max Σ s_ie x_ie`` s.t. ``Σ_e x_ie = 1``, ``Σ_i x_ie = n/E``,
    ``x ≥ 0`` (scipy HiGHS); the reference the dual values approach."""
    from scipy.optimize import linprog

    S = np.asarray(scores, dtype=float)
    require_ndim("scores", S, 2)
    n, E = S.shape
    A_rows = np.kron(np.eye(n), np.ones((1, E)))
    A_cols = np.kron(np.ones((1, n)), np.eye(E))
    res = linprog(-S.ravel(), A_eq=np.vstack([A_rows, A_cols]),
                  b_eq=np.concatenate([np.ones(n), np.full(E, n / E)]), bounds=(0, None),
                  method="highs")
    if res.status != 0:  # pragma: no cover - the LP is always feasible and bounded
        raise RuntimeError(f"linprog failed: {res.message}")
    return float(-res.fun)


# ---------------------------------------------------------------------------
# quadratic penalty and augmented Lagrangian (equality constraints)
# ---------------------------------------------------------------------------

class MultiplierOutput(NamedTuple):
    """One row per outer iteration ``k``: ``xs[k]`` the subproblem's minimiser,
    ``lams[k]`` the multiplier estimate, ``violations[k] = ‖c(x_k)‖``, ``conds[k]``
    the condition number of the subproblem's Hessian at ``x_k``; ``mus[k]``."""

    xs: jax.Array
    lams: jax.Array
    violations: jax.Array
    conds: jax.Array
    mus: jax.Array


def _newton_minimizer(phi: Callable, newton_iters: int):
    """Jitted damped Newton for ``x ↦ phi(x, lam, mu)`` (eigenvalues floored so the
    direction is a descent direction; Armijo backtracking)."""
    g_fn = jax.grad(phi)
    h_fn = jax.hessian(phi)

    def solve(x, lam, mu):
        def step(_, x):
            g = g_fn(x, lam, mu)
            w, V = jnp.linalg.eigh(h_fn(x, lam, mu))
            w = jnp.maximum(w, 1e-8 * jnp.max(jnp.abs(w)) + 1e-12)
            d = -V @ ((V.T @ g) / w)
            f0 = phi(x, lam, mu)
            slope = jnp.vdot(g, d)

            def cond(a):
                return (phi(x + a * d, lam, mu) > f0 + 1e-4 * a * slope) & (a > 1e-10)

            a = jax.lax.while_loop(cond, lambda a: 0.5 * a, jnp.asarray(1.0, x.dtype))
            return x + a * d

        x = jax.lax.fori_loop(0, newton_iters, step, x)
        w = jnp.linalg.eigvalsh(h_fn(x, lam, mu))
        return x, jnp.max(jnp.abs(w)) / jnp.maximum(jnp.min(jnp.abs(w)), 1e-300)

    return jax.jit(solve)


def _check_eq_problem(f, c, x0):
    _require_callable("f", f)
    _require_callable("c", c)
    x0 = _require_x0("x0", x0)
    require_ndim("x0", x0, 1)
    cx = jnp.atleast_1d(c(x0))
    require_ndim("c(x0)", cx, 1)
    return x0, cx.shape[0]


def quadratic_penalty(f: Callable, c: Callable, x0: Any, mus: Any, *, newton_iters: int = 30
                      ) -> MultiplierOutput:
    """Minimise ``f + (μ_k/2)‖c‖²`` for the increasing penalties ``mus`` (warm
    started). Feasibility needs ``μ → ∞``; the Hessian's condition number grows like μ.
    ``lams[k] = μ_k c(x_k)`` is the implied multiplier estimate."""
    x0, m = _check_eq_problem(f, c, x0)
    mus = jnp.asarray(mus, x0.dtype)
    require_ndim("mus", mus, 1)
    require_positive("mus", mus)
    require_int("newton_iters", newton_iters, minimum=1)

    def phi(x, lam, mu):
        cx = jnp.atleast_1d(c(x))
        return f(x) + 0.5 * mu * jnp.sum(cx**2)

    solve = _newton_minimizer(phi, newton_iters)
    x, out = x0, []
    lam0 = jnp.zeros(m, x0.dtype)
    for mu in mus:
        x, cond = solve(x, lam0, mu)
        cx = jnp.atleast_1d(c(x))
        out.append((x, mu * cx, jnp.linalg.norm(cx), cond, mu))
    return MultiplierOutput(*(jnp.stack(z) for z in zip(*out)))


def augmented_lagrangian(f: Callable, c: Callable, x0: Any, mu: float, num_outer: int, *,
                         lam0: Any = None, newton_iters: int = 30) -> MultiplierOutput:
    """Method of multipliers: ``x_k = argmin ℒ_μ(x, λ_k) = f + λ_kᵀc + (μ/2)‖c‖²``,
    ``λ_{k+1} = λ_k + μ c(x_k)``, with a *fixed* μ (``lams[k]`` is ``λ_{k+1}``)."""
    x0, m = _check_eq_problem(f, c, x0)
    require_positive("mu", mu)
    require_int("num_outer", num_outer, minimum=1)
    require_int("newton_iters", newton_iters, minimum=1)
    lam = jnp.zeros(m, x0.dtype) if lam0 is None else jnp.asarray(lam0, x0.dtype)
    require_shape("lam0", lam, (m,))

    def phi(x, lam, mu):
        cx = jnp.atleast_1d(c(x))
        return f(x) + jnp.vdot(lam, cx) + 0.5 * mu * jnp.sum(cx**2)

    solve = _newton_minimizer(phi, newton_iters)
    x, out = x0, []
    mu_a = jnp.asarray(mu, x0.dtype)
    for _ in range(num_outer):
        x, cond = solve(x, lam, mu_a)
        cx = jnp.atleast_1d(c(x))
        lam = lam + mu_a * cx
        out.append((x, lam, jnp.linalg.norm(cx), cond, mu_a))
    return MultiplierOutput(*(jnp.stack(z) for z in zip(*out)))


# ---------------------------------------------------------------------------
# exact augmented Lagrangian + randomized sketched Newton–KKT
# ---------------------------------------------------------------------------

def sketch_solve(K: jax.Array, r: jax.Array, theta: Any, key: jax.Array, *,
                 sketch_size: int, max_iters: int = 2000):
    """Randomized block Kaczmarz (sketch-and-project with random row blocks) for
    ``K z = r`` from ``z = 0``, until ``‖Kz − r‖ ≤ θ‖r‖``. Returns ``(z, iters)``.

    Each step projects ``z`` onto the solutions of ``K_S z = r_S`` for a random set
    ``S`` of ``sketch_size`` rows: ``z ← z − K_Sᵀ(K_S K_Sᵀ)⁻¹(K_S z − r_S)``.
    """
    N = K.shape[0]
    tol = theta * jnp.linalg.norm(r)

    def cond(st):
        z, it, _ = st
        return (jnp.linalg.norm(K @ z - r) > tol) & (it < max_iters)

    def body(st):
        z, it, k = st
        k, sub = jax.random.split(k)
        rows = jax.random.permutation(sub, N)[:sketch_size]
        KS, rS = K[rows], r[rows]
        res = KS @ z - rS
        z = z - KS.T @ jnp.linalg.solve(KS @ KS.T, res)
        return z, it + 1, k

    z, it, _ = jax.lax.while_loop(cond, body, (jnp.zeros_like(r), jnp.asarray(0), key))
    return z, it


def kkt_residual(f: Callable, c: Callable, x: Any, lam: Any) -> jax.Array:
    """``‖(∇ₓℒ(x, λ), c(x))‖₂`` with ``ℒ = f + λᵀc``."""
    gx = jax.grad(lambda x: f(x) + jnp.vdot(lam, c(x)))(x)
    return jnp.sqrt(jnp.sum(gx**2) + jnp.sum(c(x) ** 2))


class ExactALOutput(NamedTuple):
    """``residuals[k]``: KKT residual at iterate ``k`` (``K+1`` entries);
    ``steps[k]``: the accepted step size; ``inner_iters[k]``: sketching iterations;
    ``thetas[k]``: the accuracy asked of the solver; ``mus[k]``: the penalty used."""

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
    solve = jax.jit(lambda K, r, th, k: sketch_solve(K, r, th, k, sketch_size=q,
                                                    max_iters=max_inner))
    return kkt, merit_vg, merit_v, solve


def exact_al_sketch(f: Callable, c: Callable, x0: Any, key: jax.Array, *, lam0: Any = None,
                    num_iters: int = 30, accuracy: str = "tightening", theta: float = 0.1,
                    mu: float = 10.0, eta: float = 0.1, sketch_size: Optional[int] = None,
                    max_inner: int = 5000, tol: float = 1e-11) -> ExactALOutput:
    r"""Newton–KKT steps for ``min f s.t. c(x) = 0`` with a line search on the *exact*
    augmented Lagrangian (Hong, Na, Mahoney, Kolar 2023)

        M(x, λ) = f + λᵀc + (μ/2)‖c‖² + (η/2)‖∇ₓℒ(x, λ)‖².

    The KKT system ``[[H, Jᵀ], [J, 0]] (Δx, Δλ) = −(∇ₓℒ, c)`` is solved by
    :func:`sketch_solve` to relative accuracy ``θ_k``: ``accuracy="exact"`` (dense
    solve), ``"fixed"`` (``θ_k = θ``) or ``"tightening"`` (``θ_k = min(θ, r_k)``, with
    ``r_k`` the KKT residual, so ``θ_k → 0``). The step starts at α = 1 and halves
    until Armijo holds on ``M`` (up to a rounding allowance); if the direction is not a descent direction of
    ``M``, μ is multiplied by 10 (up to 6 times), as in the paper's adaptive penalty.
    """
    x0, m = _check_eq_problem(f, c, x0)
    require_int("num_iters", num_iters, minimum=1)
    require_int("max_inner", max_inner, minimum=1)
    require_positive("mu", mu)
    require_positive("eta", eta)
    require_positive("tol", tol)
    if accuracy not in ("exact", "fixed", "tightening"):
        raise ValueError(f"accuracy must be 'exact', 'fixed' or 'tightening', got {accuracy!r}")
    if accuracy != "exact":
        if not (is_concrete(theta) and 0 < float(theta) < 1):
            raise ValueError(f"theta must lie in (0, 1), got {theta!r}")
    n = x0.shape[0]
    N = n + m
    q = sketch_size if sketch_size is not None else max(1, N // 2)
    require_int("sketch_size", q, minimum=1)
    if q > N:
        raise ValueError(f"sketch_size must be at most n + m = {N}, got {q}")
    lam = jnp.zeros(m, x0.dtype) if lam0 is None else jnp.asarray(lam0, x0.dtype)
    require_shape("lam0", lam, (m,))

    kkt, merit_vg, merit_v, solve = _eal_kernels(f, c, n, m, float(eta), q, max_inner)

    z = jnp.concatenate([x0, lam])
    mu_k = float(mu)
    res = [float(jnp.linalg.norm(kkt(z[:n], z[n:])[1]))]
    steps, inners, thetas, mus = [], [], [], []
    converged = res[0] <= tol
    for _ in range(num_iters):
        if converged:
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
        if slope >= 0:  # fall back on steepest descent of the merit
            d = -g0
            slope = float(jnp.vdot(g0, d))
        a = 1.0
        # Armijo on M, with a rounding allowance of 10 ulps of |M| (near the solution the
        # decrease of M, O(r²), falls below float precision; IPOPT uses the same guard)
        slack = 10 * float(jnp.finfo(z.dtype).eps) * abs(float(m0))
        while (float(merit_v(z + a * d, mu_k)) > float(m0) + 1e-4 * a * slope + slack
               and a > 1e-12):
            a *= 0.5
        z = z + a * d
        res.append(float(jnp.linalg.norm(kkt(z[:n], z[n:])[1])))
        steps.append(a)
        inners.append(it)
        thetas.append(th)
        mus.append(mu_k)
        converged = res[-1] <= tol
    return ExactALOutput(z[:n], z[n:], jnp.asarray(res), jnp.asarray(steps),
                         jnp.asarray(inners), jnp.asarray(thetas), jnp.asarray(mus),
                         bool(converged))


# ---------------------------------------------------------------------------
# primal–dual (gradient descent–ascent) for inequality-constrained learning
# ---------------------------------------------------------------------------

class PrimalDualOutput(NamedTuple):
    """``values[t] = f(x_t)``, ``violations[t] = max(0, max_j g_j(x_t))``,
    ``lams[t]`` the dual variables before step ``t``."""

    x: jax.Array
    lam: jax.Array
    values: jax.Array
    violations: jax.Array
    lams: jax.Array


def primal_dual(f: Callable, g: Callable, x0: Any, primal_lr: float, dual_lr: float,
                num_iters: int, *, lam0: Any = None) -> PrimalDualOutput:
    """Gradient descent–ascent on ``ℒ(x, λ) = f(x) + λᵀg(x)``, ``λ ≥ 0``:
    ``x ← x − η_x ∇ₓℒ(x, λ)``, then ``λ ← max(0, λ + η_λ g(x))`` (dual ascent with the
    fresh primal iterate), for ``min f(x) s.t. g(x) ≤ 0``."""
    _require_callable("f", f)
    _require_callable("g", g)
    x0 = _require_x0("x0", x0)
    require_positive("primal_lr", primal_lr)
    require_positive("dual_lr", dual_lr)
    require_int("num_iters", num_iters, minimum=1)
    gx0 = jnp.atleast_1d(g(x0))
    require_ndim("g(x0)", gx0, 1)
    lam = jnp.zeros(gx0.shape[0], x0.dtype) if lam0 is None else jnp.asarray(lam0, x0.dtype)
    require_shape("lam0", lam, gx0.shape)
    require_nonnegative("lam0", lam)

    def lag(x, lam):
        return f(x) + jnp.vdot(lam, jnp.atleast_1d(g(x)))

    gl = jax.grad(lag)

    def body(carry, _):
        x, lam = carry
        v = f(x)
        viol = jnp.maximum(0.0, jnp.max(jnp.atleast_1d(g(x))))
        xn = x - primal_lr * gl(x, lam)
        lamn = jnp.maximum(0.0, lam + dual_lr * jnp.atleast_1d(g(xn)))
        return (xn, lamn), (v, viol, lam)

    (x, lam), (vals, viols, lams) = jax.lax.scan(body, (x0, lam), None, length=num_iters)
    return PrimalDualOutput(x, lam, vals, viols, lams)


# ---------------------------------------------------------------------------
# two-layer ReLU networks: convex reformulation and ADMM
# ---------------------------------------------------------------------------

def relu_patterns(X: Any, *, num_samples: int = 0, key: Any = None) -> jax.Array:
    """Activation patterns ``D = 1[Xu ≥ 0]`` (rows, ``(P, n)``, as floats).

    For ``d = 2`` and ``num_samples = 0`` *all* patterns are enumerated exactly:
    they change only where ``u ⟂ x_i``, so one direction inside each arc between
    consecutive critical angles suffices. Otherwise ``num_samples`` Gaussian
    directions are drawn with ``key`` and duplicates removed. The all-zero
    pattern is dropped (its block never contributes).
    """
    X = np.asarray(X, dtype=float)
    if X.ndim != 2:
        raise ValueError(f"X must be a 2-D array, got shape {X.shape}")
    require_finite("X", X)
    n, d = X.shape
    if num_samples == 0:
        if d != 2:
            raise ValueError(f"exact enumeration needs d = 2 (got d = {d}); pass num_samples > 0 "
                             "and a key to sample patterns")
        ang = np.arctan2(X[:, 1], X[:, 0])
        crit = np.sort(np.mod(np.concatenate([ang + np.pi / 2, ang - np.pi / 2]), 2 * np.pi))
        mids = (crit + np.roll(crit, -1) + np.where(np.arange(crit.size) == crit.size - 1,
                                                     2 * np.pi, 0.0)) / 2
        U = np.stack([np.cos(mids), np.sin(mids)])
    else:
        require_int("num_samples", num_samples, minimum=1)
        if key is None:
            raise ValueError("sampling patterns needs an explicit key")
        U = np.asarray(jax.random.normal(key, (d, num_samples)))
    D = (X @ U >= 0).T.astype(float)
    D = np.unique(D, axis=0)
    D = D[D.sum(1) > 0]
    return jnp.asarray(D)


def _relu_mats(X, D):
    P, n = D.shape
    d = X.shape[1]
    DX = D[:, :, None] * X[None, :, :]                      # (P, n, d)
    F = jnp.concatenate([jnp.transpose(DX, (1, 0, 2)).reshape(n, P * d),
                         -jnp.transpose(DX, (1, 0, 2)).reshape(n, P * d)], axis=1)
    S = (2 * D - 1)[:, :, None] * X[None, :, :]              # (P, n, d)
    Gb = jax.scipy.linalg.block_diag(*[S[j] for j in range(P)])  # (P n, P d)
    G = jax.scipy.linalg.block_diag(Gb, Gb)                  # (2 P n, 2 P d)
    return F, G


def convex_relu_objective(X: Any, y: Any, D: Any, v: Any, w: Any, beta: float) -> jax.Array:
    """``½‖Σ_j D_j X(v_j − w_j) − y‖² + β Σ_j (‖v_j‖ + ‖w_j‖)`` (``v, w``: ``(P, d)``)."""
    pred = jnp.einsum("pn,nd,pd->n", D, X, v - w)
    return 0.5 * jnp.sum((pred - y) ** 2) + beta * (jnp.sum(jnp.linalg.norm(v, axis=1))
                                                    + jnp.sum(jnp.linalg.norm(w, axis=1)))


class ReLUADMMOutput(NamedTuple):
    """``v, w``: ``(P, d)`` (the group-sparse copy); ``objectives[k]`` the convex
    objective at iteration ``k``; ``violations[k] = max(0, −min (2D_j − I)X{v_j, w_j})``;
    ``residuals[k]``: the primal residual ``‖u − v‖ + ‖Gu − s‖``."""

    v: jax.Array
    w: jax.Array
    objectives: jax.Array
    violations: jax.Array
    residuals: jax.Array


def relu_admm(X: Any, y: Any, D: Any, beta: float, *, rho: float = 1.0, num_iters: int = 500
              ) -> ReLUADMMOutput:
    """ADMM for the convex two-layer ReLU program (Pilanci & Ergen 2020; Bai et al. 2023)

        min ½‖F u − y‖² + β Σ_blocks ‖u_b‖₂   s.t.  G u ≥ 0,

    split as ``u = v`` (group soft-threshold) and ``Gu = s``, ``s ≥ 0`` (clip); the
    ``u``-step solves one fixed linear system (``FᵀF + ρI + ρGᵀG``, factored once).
    """
    X = jnp.asarray(X)
    y = jnp.asarray(y, X.dtype)
    D = jnp.asarray(D, X.dtype)
    require_ndim("X", X, 2)
    require_finite("X", X)
    n, d = X.shape
    require_shape("y", y, (n,))
    require_finite("y", y)
    require_ndim("D", D, 2)
    if D.shape[1] != n:
        raise ValueError(f"D must have shape (P, n={n}), got {tuple(D.shape)}")
    if is_concrete(D) and not bool(jnp.all((D == 0) | (D == 1))):
        raise ValueError("D must hold 0/1 activation patterns")
    require_positive("beta", beta)
    require_positive("rho", rho)
    require_int("num_iters", num_iters, minimum=1)
    P = D.shape[0]
    F, G = _relu_mats(X, D)
    nv = 2 * P * d
    A = F.T @ F + rho * jnp.eye(nv, dtype=X.dtype) + rho * G.T @ G
    cho = jax.scipy.linalg.cho_factor(A)
    Fty = F.T @ y

    def group_shrink(z, t):
        zb = z.reshape(2 * P, d)
        nrm = jnp.linalg.norm(zb, axis=1, keepdims=True)
        return (zb * jnp.maximum(0.0, 1.0 - t / jnp.maximum(nrm, 1e-300))).ravel()

    def body(carry, _):
        u, v, s, lam, nu = carry
        u = jax.scipy.linalg.cho_solve(cho, Fty + rho * (v - lam) + rho * G.T @ (s - nu))
        v = group_shrink(u + lam, beta / rho)
        Gu = G @ u
        s = jnp.maximum(0.0, Gu + nu)
        lam = lam + u - v
        nu = nu + Gu - s
        vb = v.reshape(2, P, d)
        obj = convex_relu_objective(X, y, D, vb[0], vb[1], beta)
        viol = jnp.maximum(0.0, -jnp.min(G @ v))
        resid = jnp.linalg.norm(u - v) + jnp.linalg.norm(Gu - s)
        return (u, v, s, lam, nu), (obj, viol, resid)

    z = jnp.zeros(nv, X.dtype)
    zs = jnp.zeros(G.shape[0], X.dtype)
    (u, v, s, lam, nu), (objs, viols, resids) = jax.lax.scan(
        body, (z, z, zs, z, zs), None, length=num_iters)
    vb = v.reshape(2, P, d)
    return ReLUADMMOutput(vb[0], vb[1], objs, viols, resids)


def relu_from_convex(v: Any, w: Any, *, tol: float = 1e-8):
    """Network ``(U, α)`` (``U``: ``(d, m)``) from a convex solution: each nonzero
    ``v_j`` gives a neuron ``u = v_j/√‖v_j‖``, ``α = √‖v_j‖`` (``−√‖w_j‖`` for ``w_j``)."""
    V = np.concatenate([np.asarray(v), np.asarray(w)])
    sign = np.concatenate([np.ones(len(v)), -np.ones(len(w))])
    nrm = np.linalg.norm(V, axis=1)
    keep = nrm > tol
    U = (V[keep] / np.sqrt(nrm[keep])[:, None]).T
    alpha = sign[keep] * np.sqrt(nrm[keep])
    return jnp.asarray(U), jnp.asarray(alpha)


def relu_predict(X: Any, U: Any, alpha: Any) -> jax.Array:
    """``Σ_k relu(X u_k) α_k``."""
    return jax.nn.relu(X @ U) @ alpha


def relu_network_objective(X: Any, y: Any, U: Any, alpha: Any, beta: float) -> jax.Array:
    """``½‖Σ_k relu(Xu_k)α_k − y‖² + (β/2)(‖U‖_F² + ‖α‖²)`` (weight decay)."""
    r = relu_predict(X, U, alpha) - y
    return 0.5 * jnp.sum(r**2) + 0.5 * beta * (jnp.sum(U**2) + jnp.sum(alpha**2))


def train_relu_nonconvex(X: Any, y: Any, width: int, beta: float, key: jax.Array, *,
                         learning_rate: float = 1e-2, num_steps: int = 3000,
                         init_scale: float = 1.0):
    """Gradient descent on :func:`relu_network_objective` from a random init
    (``U ~ init_scale·N(0, 1/d)``, ``α ~ init_scale·N(0, 1/width)``); returns
    ``(U, α, objectives)``. ``vmap`` over ``key`` for several seeds."""
    X = jnp.asarray(X)
    y = jnp.asarray(y, X.dtype)
    require_int("width", width, minimum=1)
    require_positive("beta", beta)
    require_positive("learning_rate", learning_rate)
    require_int("num_steps", num_steps, minimum=1)
    d = X.shape[1]
    k1, k2 = jax.random.split(key)
    U = init_scale * jax.random.normal(k1, (d, width), X.dtype) / jnp.sqrt(d)
    a = init_scale * jax.random.normal(k2, (width,), X.dtype) / jnp.sqrt(width)
    vg = jax.value_and_grad(lambda p: relu_network_objective(X, y, p[0], p[1], beta))

    def body(p, _):
        v, g = vg(p)
        return jax.tree_util.tree_map(lambda q, h: q - learning_rate * h, p, g), v

    (U, a), vals = jax.lax.scan(body, (U, a), None, length=num_steps)
    return U, a, vals
