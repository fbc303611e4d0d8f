"""Lipschitz bounds of MLPs (chapters 7–8): evaluation and Jacobians, LOWER bounds (sampled
Jacobians, gradient ascent), UPPER bounds (product of layer norms, LipSDP of Fazlyab et al.
2019 and its residual form of Pauli et al. 2024, local interval bounds with branch and bound
after Shi et al. 2022) and the margin certificate they give."""

from __future__ import annotations

import time
from functools import partial
from typing import Any, NamedTuple, cast

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from .._checks import (
    as_float_array,
    is_concrete,
    require_int,
    require_nonnegative,
    require_positive,
)
from .._types import Array, Float, Int
from ._common import (
    ACTIVATIONS,
    Bound,
    Params,
    _check_activation,
    _check_matrix,
    _check_norm,
    _check_params,
    _check_points,
    _check_positive_scalar,
    _mm,
    _require_concrete,
    _value,
)

__all__ = [
    "Bound",
    "mlp_apply",
    "mlp_jacobian",
    "jacobian_norms",
    "lower_bound_sampled",
    "lower_bound_gradient_ascent",
    "upper_bound_product",
    "lipsdp",
    "lipsdp_residual",
    "IntervalResult",
    "interval_jacobian_bound",
    "BaBResult",
    "local_linf_bab",
    "lipschitz_margin_radius",
]

#: Result types that are reports, not runs of an iterative method (library contract).
_NOT_A_RUN = {
    "IntervalResult": "a certificate: one interval propagation through the Jacobian on a box "
    "(the bound, the enclosing interval [J_lo, J_hi] and the count of unstable neurons); "
    "nothing is iterated, so there is no final point",
    "BaBResult": "a certificate: the UPPER and LOWER bounds on the local Lipschitz constant after "
    "each branch-and-bound split; the method refines a set of boxes, not a point, so there is no "
    "final point",
}


# ---------------------------------------------------------------------------
# MLPs: evaluation and global bounds
# ---------------------------------------------------------------------------


def _mlp(params, x, sig):
    h = x
    for W, b in params[:-1]:
        h = sig(_mm(W, h) + b)
    W, b = params[-1]
    return _mm(W, h) + b


def mlp_apply(
    params: Params, x: Float[ArrayLike, " n_in"], activation: str = "relu"
) -> Float[Array, " n_out"]:
    """f(x) = W_L σ(… σ(W_1 x + b_1) …) + b_L for one input vector ``x``.

    Args:
      params: a non-empty list of finite ``(W, b)`` pairs whose shapes chain.
      x: one input vector of length ``W_1.shape[1]``.
      activation: ``"relu"`` or ``"tanh"``.

    Returns:
      f(x), of length ``W_L.shape[0]``.

    Raises:
      TypeError, ValueError: malformed ``params``, wrong shape or non-finite ``x``,
        unknown ``activation``.
    """
    params = _check_params(params)
    _check_activation(activation)
    x = _check_points("x", x, params[0][0].shape[1], ndim=1)
    return _mlp(params, x, ACTIVATIONS[activation])


def mlp_jacobian(
    params: Params, x: Float[ArrayLike, " n_in"], activation: str = "relu"
) -> Float[Array, "n_out n_in"]:
    """Jacobian ∂f/∂x (out × in) at one point (for ReLU, with relu'(0) = 0).

    Args:
      params, x, activation: as :func:`mlp_apply`.

    Returns:
      The Jacobian, shape ``(W_L.shape[0], W_1.shape[1])``.

    Raises:
      TypeError, ValueError: as :func:`mlp_apply`.
    """
    params = _check_params(params)
    _check_activation(activation)
    x = _check_points("x", x, params[0][0].shape[1], ndim=1)
    return _jacobian(params, x, activation)


def _jacobian(params, x, activation):
    return jax.jacfwd(lambda z: _mlp(params, z, ACTIVATIONS[activation]))(x)


@partial(jax.jit, static_argnums=(2, 3))
def _jac_norms(params, points, activation, norm):
    return jax.vmap(lambda x: _op_norm(_jacobian(params, x, activation), norm))(points)


def _op_norm(J, norm):
    if norm == "l2":
        return jnp.linalg.svd(J, compute_uv=False)[0]
    return jnp.max(jnp.sum(jnp.abs(J), axis=1))  # ℓ∞→ℓ∞: max row ℓ1 norm


def jacobian_norms(
    params: Params, points: Float[ArrayLike, "N n_in"], activation: str = "relu", norm: str = "l2"
) -> Float[Array, " N"]:
    """‖J(x_i)‖ (ℓ2 operator norm or ℓ∞→ℓ∞) at each row of ``points``; every entry is a
    LOWER bound on the Lipschitz constant (use the largest as starts for ascent).

    Args:
      params, activation: as :func:`mlp_apply`.
      points: (N, n_in) finite input points.
      norm: ``"l2"`` or ``"linf"``.

    Returns:
      (N,) Jacobian norms.

    Raises:
      TypeError, ValueError: as :func:`mlp_apply`; bad ``points`` or ``norm``.
    """
    params = _check_params(params)
    _check_activation(activation)
    _check_norm(norm)
    points = _check_points("points", points, params[0][0].shape[1])
    return _jac_norms(params, points, activation, norm)


def lower_bound_sampled(
    params: Params, points: Float[ArrayLike, "N n_in"], activation: str = "relu", norm: str = "l2"
) -> Bound:
    """LOWER bound max_i ‖J(x_i)‖ over the given points (every Jacobian norm is ≤ L).

    Args:
      params, activation, norm: as :func:`jacobian_norms`.
      points: (N, n_in), N ≥ 1.

    Returns:
      A LOWER :class:`Bound` (global scope).

    Raises:
      TypeError, ValueError: as :func:`jacobian_norms`; no points.
    """
    params = _check_params(params)
    _check_activation(activation)
    _check_norm(norm)
    points = _check_points("points", points, params[0][0].shape[1], nonempty=True)
    t0 = time.perf_counter()
    vals = _jac_norms(params, points, activation, norm)
    v = _value(jnp.max(vals))
    return Bound(v, "LOWER", norm, "global", f"max ‖J‖ at {points.shape[0]} points", time.perf_counter() - t0)


def lower_bound_gradient_ascent(
    params: Params,
    starts: Float[ArrayLike, "S n_in"],
    activation: str = "relu",
    norm: str = "l2",
    *,
    num_steps: int = 100,
    learning_rate: float = 0.05,
    box: tuple[Float[ArrayLike, "*n_in"], Float[ArrayLike, "*n_in"]] | None = None,
) -> Bound:
    """LOWER bound by (projected) gradient ascent on x ↦ ‖J(x)‖ from several starts.

    ``box=(lo, hi)`` keeps iterates (and the starts, projected first) in a box (scope:
    local box), otherwise global. Returns the best value seen along all paths (each is
    a valid lower bound). For ReLU nets ‖J‖ is piecewise constant; the ascent uses the
    smoothed surrogate (ReLU replaced by a softplus of temperature learning_rate/2) only
    to pick directions, but reports the true ‖J‖ of the ReLU network. Compiled once per
    shape, activation, norm and ``num_steps`` (``learning_rate`` and the box are traced).

    Args:
      params, activation, norm: as :func:`jacobian_norms`.
      starts: (S, n_in) start points, S ≥ 1.
      num_steps: ascent steps ≥ 0.
      learning_rate: normalised step length > 0.
      box: optional pair ``(lo, hi)`` of scalars or (n_in,) vectors with lo ≤ hi.

    Returns:
      A LOWER :class:`Bound`.

    Raises:
      TypeError, ValueError: as :func:`jacobian_norms`; bad ``starts``, ``num_steps``,
        ``learning_rate`` or ``box``.
    """
    params = _check_params(params)
    _check_activation(activation)
    _check_norm(norm)
    n_in = params[0][0].shape[1]
    starts = _check_points("starts", starts, n_in, nonempty=True)
    require_int("num_steps", num_steps, minimum=0)
    lr = _check_positive_scalar("learning_rate", learning_rate)
    lo = hi = None
    if box is not None:
        lo, hi = _check_box(box, n_in)
    t0 = time.perf_counter()
    v = _value(_ascent(params, starts, lo, hi, lr, activation, norm, num_steps))
    scope = "global" if box is None else "local box"
    return Bound(
        v, "LOWER", norm, scope, f"gradient ascent ({starts.shape[0]} starts)", time.perf_counter() - t0
    )


def _check_box(box: Any, n_in: int) -> tuple[Array, Array]:
    if not isinstance(box, (list, tuple)) or len(box) != 2:
        raise TypeError(f"box must be a pair (lo, hi), got {type(box).__name__}")
    lo = as_float_array("box[0] (lo)", box[0], ndim=(0, 1))
    hi = as_float_array("box[1] (hi)", box[1], ndim=(0, 1))
    for name, v in (("box[0] (lo)", lo), ("box[1] (hi)", hi)):
        if v.ndim == 1 and v.shape[0] != n_in:
            raise ValueError(f"{name} must be a scalar or have length {n_in}, got shape {tuple(v.shape)}")
    if is_concrete((lo, hi)) and np.any(np.asarray(lo) > np.asarray(hi)):
        raise ValueError("box must satisfy lo <= hi in every coordinate")
    return jnp.broadcast_to(lo, (n_in,)), jnp.broadcast_to(hi, (n_in,))


@partial(jax.jit, static_argnums=(5, 6, 7))
def _ascent(params, starts, lo, hi, learning_rate, activation, norm, num_steps):
    true_norm = lambda x: _op_norm(_jacobian(params, x, activation), norm)  # noqa: E731
    if activation == "relu":
        beta = 1.0 / (0.5 * learning_rate)
        soft = lambda z: jax.nn.softplus(beta * z) / beta  # noqa: E731
        surr_apply = lambda z: _mlp(params, z, soft)  # noqa: E731
    else:
        surr_apply = lambda z: _mlp(params, z, ACTIVATIONS[activation])  # noqa: E731
    surr = lambda x: _op_norm(jax.jacfwd(surr_apply)(x), norm)  # noqa: E731

    def path(x0):
        if lo is not None:
            x0 = jnp.clip(x0, lo, hi)  # a local bound may only use points of the box

        def step(x, _):
            g = jax.grad(surr)(x)
            x = x + learning_rate * g / (jnp.linalg.norm(g) + 1e-12)
            if lo is not None:
                x = jnp.clip(x, lo, hi)
            return x, true_norm(x)

        _, vals = jax.lax.scan(step, x0, None, length=num_steps)
        return jnp.maximum(jnp.max(vals, initial=-jnp.inf), true_norm(x0))

    return jnp.max(jax.vmap(path)(starts))


def upper_bound_product(params: Params, norm: str = "l2") -> Bound:
    """UPPER bound ∏_i ‖W_i‖ (σ is 1-Lipschitz), ‖·‖₂ by SVD or ‖·‖_{∞→∞} = max row ℓ1.

    Tracer-safe: inside ``jit``/``grad`` the bound's ``value`` is a traced scalar.

    Args:
      params: as :func:`mlp_apply`.
      norm: ``"l2"`` or ``"linf"``.

    Returns:
      An UPPER :class:`Bound` (global scope).

    Raises:
      TypeError, ValueError: malformed ``params``, unknown ``norm``.
    """
    params = _check_params(params)
    _check_norm(norm)
    t0 = time.perf_counter()
    v = _product_of_norms(params, norm)
    return Bound(_value(v), "UPPER", norm, "global", "product of layer norms", time.perf_counter() - t0)


@partial(jax.jit, static_argnums=1)
def _product_of_norms(params, norm):
    return jnp.prod(jnp.stack([_op_norm(W, norm) for W, _ in params]))


def _check_solver(solver: Any) -> str | None:
    import cvxpy as cp

    if solver is None:
        return None
    if not isinstance(solver, str):
        raise TypeError(f"solver must be a cvxpy solver name or None, got {type(solver).__name__}")
    installed = cp.installed_solvers()
    if solver.upper() not in installed:
        raise ValueError(
            f"solver must be one of the installed cvxpy solvers {installed} or None, got {solver!r}"
        )
    return solver.upper()


def _solve_sdp(problem, solver):
    import cvxpy as cp

    solvers = [solver] if solver else [s for s in ("CLARABEL", "SCS") if s in cp.installed_solvers()]
    last = None
    for s in solvers:
        try:
            problem.solve(solver=s)
            if problem.status in ("optimal", "optimal_inaccurate"):
                return s
        except Exception as e:  # pragma: no cover - solver fallback
            last = e
    raise RuntimeError(f"LipSDP failed: status {problem.status!r} ({last})")


def lipsdp(params: Params, *, solver: str | None = None) -> Bound:
    """Neuron-wise LipSDP (Fazlyab et al., 2019) for an MLP with activations
    slope-restricted to [0, 1] (ReLU, tanh): minimise ρ subject to

        [A; B]ᵀ [[0, T], [T, −2T]] [A; B] + diag(−ρ I, 0, …, 0, W_Lᵀ W_L) ⪯ 0,

    A = [blkdiag(W_1, …, W_{L−1}) 0], B = [0 I], T = diag(t) ⪰ 0; then L₂ ≤ √ρ (UPPER).
    Solved with cvxpy (Clarabel, SCS as fallback) in float64 on the host, so ``params``
    must be concrete; keep hidden widths small.

    Args:
      params: as :func:`mlp_apply`, with at least one hidden layer.
      solver: a cvxpy solver name, or None for Clarabel then SCS.

    Returns:
      An UPPER :class:`Bound` in ℓ2.

    Raises:
      TypeError, ValueError: malformed or traced ``params``, no hidden layer, unknown ``solver``.
      RuntimeError: the SDP solver failed.
    """
    import cvxpy as cp

    params = _check_params(params)
    if len(params) < 2:
        raise ValueError("lipsdp needs at least one hidden layer: params must have len(params) >= 2")
    _require_concrete("params", params, "lipsdp solves an SDP with cvxpy on the host")
    solver = _check_solver(solver)
    Ws = [np.asarray(W, dtype=float) for W, _ in params]
    n0 = Ws[0].shape[1]
    hidden = [W.shape[0] for W in Ws[:-1]]
    N = sum(hidden)
    A = np.zeros((N, n0 + N))
    r = 0
    col_offsets = [0] + list(np.cumsum([n0] + hidden[:-1]))
    for W, off in zip(Ws[:-1], col_offsets, strict=False):
        A[r : r + W.shape[0], off : off + W.shape[1]] = W
        r += W.shape[0]
    # region: lipschitz-lipsdp-matrix
    B = np.hstack([np.zeros((N, n0)), np.eye(N)])
    WL = Ws[-1]
    t0 = time.perf_counter()
    rho = cp.Variable(nonneg=True)
    t = cp.Variable(N, nonneg=True)
    T = cp.diag(t)
    last = np.zeros((n0 + N, n0 + N))
    last[n0 + N - hidden[-1] :, n0 + N - hidden[-1] :] = WL.T @ WL
    E = np.zeros((n0 + N, n0 + N))
    E[:n0, :n0] = np.eye(n0)
    M = A.T @ T @ B + B.T @ T @ A - 2 * B.T @ T @ B + last - rho * E
    M = (M + M.T) / 2
    prob = cp.Problem(cp.Minimize(rho), [M << 0])
    # endregion: lipschitz-lipsdp-matrix
    used = _solve_sdp(prob, solver)
    c = float(np.sqrt(max(cast(float, rho.value), 0.0)))  # a solved scalar cvxpy Variable holds a float
    return Bound(c, "UPPER", "l2", "global", f"LipSDP-neuron ({used}, N={N})", time.perf_counter() - t0)


def lipsdp_residual(
    W: Float[ArrayLike, "m n"],
    C: Float[ArrayLike, "p n"],
    D: Float[ArrayLike, "p m"],
    *,
    solver: str | None = None,
) -> Bound:
    """LipSDP for one residual block y = C x + D σ(W x) with σ slope-restricted to
    [0, 1]: minimise ρ s.t. [[−ρI, WᵀT], [TW, −2T]] + [C D]ᵀ[C D] ⪯ 0 (UPPER, ℓ2).
    The skip path enters the output quadratic form instead of being rewritten as
    ReLUs, which is what lets MaxMin = Px + Dσ(Wx) certify exactly 1 (the residual
    LipSDP of Pauli et al., 2024).

    Args:
      W: (m, n); C: (p, n); D: (p, m); finite and concrete.
      solver: a cvxpy solver name, or None.

    Returns:
      An UPPER :class:`Bound` in ℓ2.

    Raises:
      TypeError, ValueError: non-finite, traced or mis-shaped ``W``, ``C``, ``D``; unknown ``solver``.
      RuntimeError: the SDP solver failed.
    """
    import cvxpy as cp

    W, C, D = (_check_matrix(name, M_) for name, M_ in (("W", W), ("C", C), ("D", D)))
    m, n = W.shape
    if C.shape[1] != n:
        raise ValueError(f"C must have {n} columns (W is {m}x{n}), got shape {tuple(C.shape)}")
    if D.shape[1] != m:
        raise ValueError(f"D must have {m} columns (W is {m}x{n}), got shape {tuple(D.shape)}")
    if D.shape[0] != C.shape[0]:
        raise ValueError(f"D must have as many rows as C ({C.shape[0]}), got shape {tuple(D.shape)}")
    for name, M_ in (("W", W), ("C", C), ("D", D)):
        _require_concrete(name, M_, "lipsdp_residual solves an SDP with cvxpy on the host")
    solver = _check_solver(solver)
    W, C, D = (np.asarray(m_, dtype=float) for m_ in (W, C, D))
    t0 = time.perf_counter()
    rho = cp.Variable(nonneg=True)
    t = cp.Variable(m, nonneg=True)
    T = cp.diag(t)
    CD = np.hstack([C, D])
    top = cp.hstack([-rho * np.eye(n), W.T @ T])
    bot = cp.hstack([T @ W, -2 * T])
    M = cp.vstack([top, bot]) + CD.T @ CD
    M = (M + M.T) / 2
    prob = cp.Problem(cp.Minimize(rho), [M << 0])
    used = _solve_sdp(prob, solver)
    return Bound(
        float(np.sqrt(max(cast(float, rho.value), 0.0))),  # a solved scalar cvxpy Variable holds a float
        "UPPER",
        "l2",
        "global",
        f"LipSDP residual ({used})",
        time.perf_counter() - t0,
    )


# ---------------------------------------------------------------------------
# local ℓ∞ bounds by interval propagation through the Jacobian, with BaB
# ---------------------------------------------------------------------------


class IntervalResult(NamedTuple):
    """Interval propagation through the Jacobian on a box.

    Attributes:
      bound: an UPPER bound on the local ℓ∞ Lipschitz constant on the box.
      jac_lo: ``J_lo``, the lower end of an interval containing every (Clarke) Jacobian on
        the box.
      jac_hi: ``J_hi``, its upper end.
      unstable: the number of unstable neurons (whose activation derivative is not constant
        on the box).
    """

    bound: Array
    jac_lo: Array
    jac_hi: Array
    unstable: Array


def _interval_matmul(W, lo, hi):
    c, r = (lo + hi) / 2, (hi - lo) / 2
    c2, r2 = _mm(W, c), _mm(jnp.abs(W), r)
    return c2 - r2, c2 + r2


def _deriv_interval(activation, lo, hi):
    if activation == "relu":
        dlo = (lo > 0).astype(lo.dtype)
        dhi = (hi > 0).astype(lo.dtype)
        return dlo, dhi
    d = lambda z: 1.0 - jnp.tanh(z) ** 2  # noqa: E731
    dlo = jnp.minimum(d(lo), d(hi))
    dhi = jnp.where((lo <= 0) & (hi >= 0), 1.0, jnp.maximum(d(lo), d(hi)))
    return dlo, dhi


@partial(jax.jit, static_argnums=3)
def _interval_bound(params, lo, hi, activation):
    """Interval bound propagation of pre-activations, then of the Jacobian."""
    J_lo = J_hi = None
    unstable = 0
    for i, (W, b) in enumerate(params):
        if i == 0:
            J_lo = J_hi = W
        else:
            # J ← W · J, J an interval matrix (center–radius)
            c, r = (J_lo + J_hi) / 2, (J_hi - J_lo) / 2
            c2, r2 = _mm(W, c), _mm(jnp.abs(W), r)
            J_lo, J_hi = c2 - r2, c2 + r2
        zl, zh = _interval_matmul(W, lo, hi)
        zl, zh = zl + b, zh + b
        if i < len(params) - 1:
            dlo, dhi = _deriv_interval(activation, zl, zh)
            unstable = unstable + jnp.sum(dlo != dhi)
            # rows scaled by d ∈ [dlo, dhi] with d ≥ 0: the product interval
            cands = jnp.stack(
                [dlo[:, None] * J_lo, dlo[:, None] * J_hi, dhi[:, None] * J_lo, dhi[:, None] * J_hi]
            )
            J_lo, J_hi = cands.min(0), cands.max(0)
            sig = ACTIVATIONS[activation]
            lo, hi = sig(zl), sig(zh)  # both activations are monotone
    absmax = jnp.maximum(jnp.abs(J_lo), jnp.abs(J_hi))
    bound = jnp.max(jnp.sum(absmax, axis=1))
    return IntervalResult(bound, J_lo, J_hi, unstable)


def _check_box_args(params: Any, x0: Any, eps: Any, activation: str) -> tuple[Params, jax.Array, jax.Array]:
    params = _check_params(params)
    _check_activation(activation)
    n_in = params[0][0].shape[1]
    x0 = _check_points("x0", x0, n_in, ndim=1)
    eps = as_float_array("eps", eps, ndim=(0, 1))
    if eps.ndim == 1 and eps.shape[0] != n_in:
        raise ValueError(f"eps must be a scalar or have length {n_in}, got shape {tuple(eps.shape)}")
    require_nonnegative("eps", eps)
    return params, x0, eps


def interval_jacobian_bound(
    params: Params,
    x0: Float[ArrayLike, " n_in"],
    eps: Float[ArrayLike, ""] | Float[ArrayLike, " n_in"],
    activation: str = "relu",
) -> IntervalResult:
    """UPPER bound on the local ℓ∞ Lipschitz constant of f on the box ‖x − x0‖_∞ ≤ eps:
    ``max_row Σ_j max(|J_lo|, |J_hi|)`` where ``[J_lo, J_hi]`` encloses every Clarke Jacobian,
    obtained by interval propagation through J = W_L D_{L−1} W_{L−1} ⋯ D_1 W_1 with
    D_i = diag(σ′) ∈ [σ′ bounds] (unstable ReLU: [0, 1]). A simplified, RecurJac-like
    stand-in for the linear bound propagation of Shi et al. (2022).

    Args:
      params, activation: as :func:`mlp_apply`.
      x0: the box centre, (n_in,).
      eps: the half-width ≥ 0, a scalar or (n_in,).

    Returns:
      An :class:`IntervalResult`.

    Raises:
      TypeError, ValueError: malformed ``params``, bad ``x0``, negative or non-finite ``eps``.
    """
    params, x0, eps = _check_box_args(params, x0, eps, activation)
    return _interval_bound(params, x0 - eps, x0 + eps, activation)


class BaBResult(NamedTuple):
    """Best-first branch and bound, after ``k`` splits.

    Attributes:
      upper: ``upper[k]``, UPPER bounds (non-increasing), ``num_splits + 1`` entries.
      lower: ``lower[k]``, LOWER bounds: gradient norms at box centres (non-decreasing).
      num_boxes: the number of boxes at the end.
    """

    upper: np.ndarray
    lower: np.ndarray
    num_boxes: int


def local_linf_bab(
    params: Params,
    x0: Float[ArrayLike, " n_in"],
    eps: Float[ArrayLike, ""] | Float[ArrayLike, " n_in"],
    activation: str = "relu",
    *,
    num_splits: int = 64,
) -> BaBResult:
    """Tighten :func:`interval_jacobian_bound` by branch and bound: repeatedly bisect
    (along its widest side) the box whose interval bound is largest; the global upper
    bound is the max over the leaves, so it never increases (interval arithmetic is
    inclusion-monotone). Lower bounds: ‖∇f‖₁ (ℓ∞ → dual ℓ1) at the box centres.
    A host-side loop (the box list is dynamic), so the arguments must be concrete; each
    bound is one call of a function compiled once per shape.

    Args:
      params, x0, eps, activation: as :func:`interval_jacobian_bound`.
      num_splits: number of bisections ≥ 0.

    Returns:
      A :class:`BaBResult` with ``num_splits + 1`` entries in ``upper`` and ``lower``.

    Raises:
      TypeError, ValueError: as :func:`interval_jacobian_bound`; bad ``num_splits``;
        traced arguments.
    """
    params, x0, eps = _check_box_args(params, x0, eps, activation)
    require_int("num_splits", num_splits, minimum=0)
    _require_concrete("params, x0 and eps", (params, x0, eps), "local_linf_bab runs a host-side loop")
    # boxes are NumPy (cheap host bookkeeping); they enter the compiled functions as JAX arrays,
    # the same cache entry as interval_jacobian_bound / jacobian_norms use
    ib = lambda lo, hi: float(_interval_bound(params, jnp.asarray(lo), jnp.asarray(hi), activation).bound)  # noqa: E731
    lg = lambda x: float(_jac_norms(params, jnp.asarray(x)[None], activation, "linf")[0])  # noqa: E731
    dtype = np.asarray(x0).dtype
    c, e = np.asarray(x0), np.broadcast_to(np.asarray(eps, dtype=dtype), x0.shape)
    boxes = [(c - e, c + e)]
    vals = [ib(*boxes[0])]
    low = lg(c)
    uppers, lowers = [max(vals)], [low]
    for _ in range(num_splits):
        j = int(np.argmax(vals))
        lo, hi = boxes.pop(j)
        parent = vals.pop(j)
        d = int(np.argmax(hi - lo))
        mid = (lo[d] + hi[d]) / 2
        left_hi, right_lo = hi.copy(), lo.copy()
        left_hi[d] = right_lo[d] = mid
        for a, b in ((lo, left_hi), (right_lo, hi)):
            boxes.append((a, b))
            vals.append(min(ib(a, b), parent))  # guard rounding
            low = max(low, lg((a + b) / 2))
        uppers.append(max(vals))
        lowers.append(low)
    return BaBResult(np.array(uppers), np.array(lowers), len(boxes))


def _check_label(label: Any, logits: Array) -> Array:
    if label is None or isinstance(label, (str, bytes)):
        raise TypeError(f"label must be integer class indices, got {type(label).__name__}")
    if isinstance(label, jax.core.Tracer):
        lab = label if jnp.issubdtype(label.dtype, jnp.integer) else label.astype(jnp.int32)
    else:
        try:
            arr = np.asarray(jax.device_get(label))
        except (TypeError, ValueError) as err:
            raise TypeError(f"label must be integer class indices, got {type(label).__name__}") from err
        if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
            raise TypeError(f"label must be integer class indices, got dtype {arr.dtype}")
        if np.issubdtype(arr.dtype, np.floating) and not np.all(arr == np.round(arr)):
            raise ValueError(f"label must be integer class indices, got {label!r}")
        k = logits.shape[-1]
        if np.any(arr < 0) or np.any(arr >= k):
            raise ValueError(f"label must lie in [0, {k - 1}], got {label!r}")
        lab = jnp.asarray(arr.astype(np.int32))
    if lab.ndim > 1 or (lab.ndim == 1 and (logits.ndim == 1 or lab.shape[0] != logits.shape[0])):
        want = "a scalar" if logits.ndim == 1 else f"a scalar or shape ({logits.shape[0]},)"
        raise ValueError(
            f"label must be {want} for logits of shape {tuple(logits.shape)}, got shape {tuple(lab.shape)}"
        )
    return lab


def lipschitz_margin_radius(
    logits: Float[ArrayLike, "*B k"], label: Int[ArrayLike, "*B"], lipschitz: Float[ArrayLike, ""]
) -> Float[Array, "*B"]:
    """Certified ℓ2 radius margin/(√2·L) of a classifier whose logit map is L-Lipschitz
    in ℓ2 (margin = logit of ``label`` − largest other logit; ≤ 0 means not certified,
    returned as 0).

    Args:
      logits: (k,) or (B, k), k ≥ 2, finite.
      label: an integer in [0, k), or (B,) integers for batched logits.
      lipschitz: L > 0.

    Returns:
      The radius, a scalar or (B,).

    Raises:
      TypeError, ValueError: bad ``logits``, ``label`` (type, range, shape) or ``lipschitz``.
    """
    lipschitz = as_float_array("lipschitz", lipschitz)
    require_positive("lipschitz", lipschitz)
    logits = as_float_array("logits", logits, ndim=(1, 2))
    k = logits.shape[-1]
    if k < 2:
        raise ValueError(
            f"logits must have at least 2 classes on the last axis, got shape {tuple(logits.shape)}"
        )
    lab = _check_label(label, logits)
    onehot = jax.nn.one_hot(lab, k, dtype=bool)
    true = jnp.sum(jnp.where(onehot, logits, 0.0), axis=-1)
    other = jnp.max(jnp.where(onehot, -jnp.inf, logits), axis=-1)
    return jnp.maximum(true - other, 0.0) / (jnp.sqrt(2.0) * lipschitz)
