"""Outer loops: hypergradient descent, HOAG and adaptive inexact methods (chapter 12)."""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .._checks import as_nonempty_float_array as _array  # finite, non-empty float array
from .._checks import (
    is_concrete,
    require_int,
    require_positive,
)
from .._checks import require_nonnegative_scalar as _nonneg_scalar
from .._checks import require_positive_scalar as _pos_scalar
from .._types import Array, ArrayLike, Bool, Float, Int
from ._common import _NO_OUTER, Loss, _check_losses, _choice, _flag, _theta, _vec
from .implicit import _cross_vjp, _hvp

# ---------------------------------------------------------------------------
# outer loops
# ---------------------------------------------------------------------------


class BilevelTrace(NamedTuple):
    """Result of :func:`hypergradient_descent`.

    Attributes:
      params: the final upper variable ``θ_K``.
      w: the final inner iterate.
      iterates: ``(num_steps + 1, *θ.shape)`` upper iterates ``θ_0 … θ_K``.
      outer_values: ``(num_steps,)`` ``f(w_k, θ_k)`` before each update.
      grad_norms: ``(num_steps,)`` norms of the hypergradient estimates.
      converged: everything finite and ``grad_norms[-1] ≤ tol·max(1, grad_norms[0])`` (a
        boolean array).
      n_iters: the outer steps taken, ``K``.
    """

    params: jax.Array  # final upper variable θ_K
    w: jax.Array  # final inner iterate
    iterates: Float[Array, "num_steps+1 ..."]  # (num_steps + 1, *θ.shape) upper iterates θ_0 … θ_K
    outer_values: Float[Array, " num_steps"]  # (num_steps,) f(w_k, θ_k) before each update
    grad_norms: Float[Array, " num_steps"]  # (num_steps,) ‖hypergradient estimate‖
    converged: Bool[Array, ""]  # all finite and grad_norms[-1] ≤ tol·max(1, grad_norms[0]) (bool array)
    n_iters: Int[Array, ""]  # the outer steps taken, K


def hypergradient_descent(
    inner: Loss,
    outer: Loss,
    theta0: Float[Array, "*p"],
    w0: Float[Array, " d"],
    *,
    method: str = "implicit",
    learning_rate: float,
    num_steps: int,
    inner_num_steps: int,
    inner_learning_rate: float,
    lam: float = 10.0,
    lam_max: float | None = None,
    lam_growth: float = 0.0,
    cg_num_steps: int = 20,
    tol: float = 1e-3,
) -> BilevelTrace:
    """Warm-started bilevel gradient descent inside ``lax.scan``.

    Each outer step runs ``inner_num_steps`` gradient steps of size
    ``inner_learning_rate`` on the lower level from the previous iterate, then
    ``θ ← θ − γ ĝ`` (``γ = learning_rate``) with ``ĝ``:

    - ``"implicit"``: :func:`implicit_hypergradient` by ``cg_num_steps`` CG steps
      (approximate implicit differentiation, AID);
    - ``"f2sa"``: F2SA (Kwon et al. 2023) with full-batch gradients (the paper's
      method samples minibatches; here the oracles are exact): two warm-started
      sequences ``y`` (on ``f/λ_k + g``) and ``z`` (on ``g``), multiplier
      ``λ_k = min(lam_max, lam + lam_growth·k)``, gradients only.

    Compiled once per ``(inner, outer, method, num_steps, inner_num_steps, cg_num_steps)`` and
    shape. ``converged`` (a boolean array, valid under ``jit``) is False when an
    iterate became non-finite or the last hypergradient norm is above
    ``tol·max(1, ‖ĝ_0‖)``.

    Args:
      inner, outer: the losses (hashable callables). theta0: finite scalar or 1-D.
      w0: finite 1-D. method: ``"implicit"`` or ``"f2sa"``.
      learning_rate, inner_learning_rate, lam, lam_max: positive scalars. lam_growth: ``≥ 0``.
      num_steps, inner_num_steps, cg_num_steps: positive ints. tol: ``≥ 0``.

    Returns:
      A :class:`BilevelTrace`.

    Raises:
      TypeError / ValueError: naming the argument.
    """
    theta0 = _theta(theta0, "theta0")
    w0 = _vec("w0", w0)
    _check_losses(inner, outer, w0, theta0, "w0")
    _choice("method", method, ("implicit", "f2sa"))
    _pos_scalar("learning_rate", learning_rate)
    _pos_scalar("inner_learning_rate", inner_learning_rate)
    require_int("num_steps", num_steps, minimum=1)
    require_int("inner_num_steps", inner_num_steps, minimum=1)
    require_int("cg_num_steps", cg_num_steps, minimum=1)
    _pos_scalar("lam", lam)
    lam_max = lam if lam_max is None else lam_max
    _pos_scalar("lam_max", lam_max)
    _nonneg_scalar("lam_growth", lam_growth)
    _nonneg_scalar("tol", tol)
    return _hgd(
        inner,
        outer,
        theta0,
        w0,
        method,
        learning_rate,
        num_steps,
        inner_num_steps,
        inner_learning_rate,
        lam,
        lam_max,
        lam_growth,
        cg_num_steps,
        tol,
    )


@functools.partial(jax.jit, static_argnames=("inner", "outer", "method", "steps", "inner_steps", "cg_iters"))
def _hgd(
    inner,
    outer,
    theta0,
    w0,
    method,
    outer_lr,
    steps,
    inner_steps,
    inner_lr,
    lam,
    lam_max,
    lam_growth,
    cg_iters,
    tol,
):
    def gd(loss, th, w, lr):
        gl = jax.grad(loss, argnums=0)
        return jax.lax.fori_loop(0, inner_steps, lambda _, u: u - lr * gl(u, th), w)

    def step(carry, k):
        theta, y, z, q = carry
        if method == "implicit":
            y = gd(inner, theta, y, inner_lr)
            gw = jax.grad(outer, argnums=0)(y, theta)
            q, _ = jax.scipy.sparse.linalg.cg(
                _hvp(inner, y, theta), gw, x0=q, maxiter=cg_iters, tol=0.0, atol=0.0
            )
            hg = jax.grad(outer, argnums=1)(y, theta) - _cross_vjp(inner, y, theta, q)
        else:
            lam_k = jnp.minimum(lam_max, lam + lam_growth * k)

            def pen(w, t):
                return outer(w, t) / lam_k + inner(w, t)

            y = gd(pen, theta, y, inner_lr / (1.0 + 1.0 / lam_k))
            z = gd(inner, theta, z, inner_lr)
            hg = jax.grad(outer, argnums=1)(y, theta) + lam_k * (
                jax.grad(inner, argnums=1)(y, theta) - jax.grad(inner, argnums=1)(z, theta)
            )
        val = outer(z if method == "f2sa" else y, theta)
        theta_new = theta - outer_lr * hg
        return (theta_new, y, z, q), (theta_new, val, jnp.linalg.norm(hg))

    carry0 = (theta0, w0, w0, jnp.zeros_like(w0))
    (theta, y, z, _), (thetas, vals, gn) = jax.lax.scan(step, carry0, jnp.arange(steps))
    thetas = jnp.concatenate([theta0[None], thetas], axis=0)
    w = z if method == "f2sa" else y
    converged = (
        jnp.all(jnp.isfinite(thetas))
        & jnp.all(jnp.isfinite(vals))
        & jnp.all(jnp.isfinite(w))
        & (gn[-1] <= tol * jnp.maximum(1.0, gn[0]))
    )
    return BilevelTrace(theta, w, thetas, vals, gn, converged, jnp.asarray(steps))


class InnerSolveOutput(NamedTuple):
    """Result of :func:`inner_gd_tol`.

    Attributes:
      params: the last iterate.
      n_iters: the gradient steps taken.
      converged: ``‖∇_w g(params)‖ ≤ tol`` (a boolean array).
    """

    params: jax.Array
    n_iters: Int[Array, ""]
    converged: Bool[Array, ""]


def inner_gd_tol(
    inner: Loss,
    theta: Float[Array, "*p"],
    w0: Float[Array, " d"],
    *,
    tol: float,
    learning_rate: float,
    num_steps: int = 100000,
) -> InnerSolveOutput:
    """Gradient descent ``w ← w − γ ∇_w g(w, θ)`` (``γ = learning_rate``) until
    ``‖∇_w g‖ ≤ tol``, at most ``num_steps`` steps.

    The loop also stops when a step no longer moves ``w`` beyond rounding
    (``‖Δw‖ ≤ 4·eps·max(1, ‖w‖)``: a ``tol`` below what the dtype resolves, typically
    in float32) and at the first non-finite gradient; called on concrete values, a
    non-finite result raises instead of returning NaN (``learning_rate`` too large for
    ``g``). ``converged`` says whether the tolerance was reached.

    Args:
      inner: ``g(w, θ)`` (hashable callable). theta: scalar or 1-D. w0: finite 1-D.
      tol, learning_rate: positive scalars. num_steps: positive int (the cap).

    Returns:
      An :class:`InnerSolveOutput` ``(params, n_iters, converged)``.

    Raises:
      TypeError / ValueError: naming the argument; ValueError naming ``learning_rate``
      when the iteration diverged.
    """
    theta = _theta(theta)
    w0 = _vec("w0", w0)
    _check_losses(inner, _NO_OUTER, w0, theta, "w0")
    _pos_scalar("tol", tol)
    _pos_scalar("learning_rate", learning_rate)
    require_int("num_steps", num_steps, minimum=1)
    w, k, gnorm = _gd_tol(inner, theta, w0, tol, learning_rate, num_steps)
    if is_concrete(w) and not (bool(jnp.all(jnp.isfinite(w))) and bool(jnp.isfinite(gnorm))):
        raise ValueError(
            f"inner_gd_tol diverged after {int(k)} steps (non-finite iterate): "
            f"learning_rate={learning_rate!r} is too large for this inner problem"
        )
    return InnerSolveOutput(w, k, gnorm <= tol)


@functools.partial(jax.jit, static_argnums=(0,))
def _gd_tol(inner, theta, w0, tol, lr, maxiter):
    grad_w = jax.grad(inner, argnums=0)

    eps = jnp.finfo(w0.dtype).eps

    def cond(c):
        w, gnorm, k, moving = c
        # also stops at the first non-finite gradient, and when the steps no longer move w
        # beyond rounding (a tolerance below what the dtype can resolve, e.g. in float32)
        return (gnorm > tol) & (k < maxiter) & jnp.isfinite(gnorm) & moving

    def body(c):
        w, _, k, _ = c
        step = lr * grad_w(w, theta)
        w_new = w - step
        moving = jnp.linalg.norm(step) > 4 * eps * jnp.maximum(jnp.linalg.norm(w_new), 1.0)
        return w_new, jnp.linalg.norm(grad_w(w_new, theta)), k + 1, moving

    w, gnorm, k, _ = jax.lax.while_loop(
        cond, body, (w0, jnp.linalg.norm(grad_w(w0, theta)), 0, jnp.asarray(True))
    )
    return w, k, gnorm


@functools.partial(jax.jit, static_argnums=(0, 1))
def _adjoint_cg(inner, outer, w, theta, q0, tol, maxiter):
    gw = jax.grad(outer, argnums=0)(w, theta)
    q, _ = jax.scipy.sparse.linalg.cg(_hvp(inner, w, theta), gw, x0=q0, tol=0.0, atol=tol, maxiter=maxiter)
    r = jnp.linalg.norm(_hvp(inner, w, theta)(q) - gw)
    hg = jax.grad(outer, argnums=1)(w, theta) - _cross_vjp(inner, w, theta, q)
    return hg, q, r


class InexactTrace(NamedTuple):
    """Result of :func:`hoag` and :func:`adaptive_inexact` (NumPy arrays, one entry per
    accepted outer step).

    Attributes:
      params: the final upper variable.
      iterates: the upper iterates ``θ_0 … θ_K``.
      outer_values: the inexact values ``F̃(θ_k)``.
      inner_num_steps: the cumulative number of lower-level gradient steps.
      tolerances: the accuracy ``ε_k`` used at step ``k``.
      learning_rates: the step size used at step ``k``.
    """

    params: np.ndarray  # final upper variable
    iterates: np.ndarray  # upper iterates θ_0 … θ_K
    outer_values: np.ndarray  # inexact F̃(θ_k)
    inner_num_steps: np.ndarray  # cumulative lower-level gradient steps
    tolerances: np.ndarray  # accuracy ε_k used at step k
    learning_rates: np.ndarray  # step size used at step k


def _inner_lr(inner_learning_rate, theta):
    lr = float(inner_learning_rate(theta)) if callable(inner_learning_rate) else float(inner_learning_rate)
    if not (np.isfinite(lr) and lr > 0):
        raise ValueError(f"inner_learning_rate must be positive and finite, got {lr!r} at theta={theta!r}")
    return lr


def _check_inner_lr(inner_learning_rate):
    if not callable(inner_learning_rate):
        _pos_scalar("inner_learning_rate", inner_learning_rate)


def _host_start(inner, outer, theta0, w0):
    """Concrete ``θ0`` (NumPy) and ``w0`` for the host-side outer loops."""
    if not is_concrete((theta0, w0)):
        raise TypeError(
            "theta0 and w0 must be concrete: this outer loop runs on the host (call it outside jit)"
        )
    theta = _theta(theta0, "theta0")
    w = _vec("w0", w0)
    _check_losses(inner, outer, w, theta, "w0")
    return np.asarray(theta), w


def hoag(
    inner: Loss,
    outer: Loss,
    theta0: Float[Array, "*p"],
    w0: Float[Array, " d"],
    *,
    inner_learning_rate,
    num_steps: int,
    tolerances: Float[ArrayLike, " K"] | None = None,
    learning_rate: float = 1.0,
    adapt_step: bool = True,
    cg_num_steps: int = 200,
) -> InexactTrace:
    """HOAG (Pedregosa 2016): hypergradient descent with inexact inner and adjoint solves.

    At step ``k``: solve the lower level by gradient descent (warm start) to
    ``‖∇_w g‖ ≤ ε_k``, the adjoint ``H q = ∇_w f`` by CG to residual ``ε_k``, form
    ``p_k = ∇_θ f − ∇²_θw g · q`` and step ``θ ← θ − p_k / L``. ``1/L`` starts at
    ``learning_rate``; with ``adapt_step`` (the heuristic of the reference
    implementation), if the inexact objective increased by more than the
    tolerance allows (``ε_k · max(1, |F̃|)``), the step is undone and ``L``
    doubled, otherwise ``L`` shrinks by 0.9; ``adapt_step=False`` keeps the step
    fixed (plain inexact hypergradient descent). Default ``ε_k = 0.1·(k+1)^{−1.1}``
    (summable, as the convergence theorem asks). ``inner_learning_rate`` may be a callable of θ.
    If θ becomes non-finite (a fixed step far too large), the loop stops there and
    the trace ends with that non-finite θ.

    Args:
      inner, outer: the losses (hashable callables). theta0: finite scalar or 1-D.
      w0: finite 1-D. inner_learning_rate: positive scalar or callable of θ returning one.
      num_steps, cg_num_steps: positive ints. tolerances: 1-D, positive, ``≥ num_steps``
      entries. learning_rate: positive, the initial step ``1/L``. adapt_step: bool.

    Returns:
      An :class:`InexactTrace`.

    Raises:
      TypeError / ValueError: naming the argument.
    """
    theta, w = _host_start(inner, outer, theta0, w0)
    _check_inner_lr(inner_learning_rate)
    require_int("num_steps", num_steps, minimum=1)
    _pos_scalar("learning_rate", learning_rate)
    _flag("adapt_step", adapt_step)
    require_int("cg_num_steps", cg_num_steps, minimum=1)
    if tolerances is None:
        tolerances = 0.1 * (np.arange(num_steps) + 1.0) ** -1.1
    tolerances = np.asarray(_array("tolerances", tolerances, ndim=1), dtype=float)
    require_positive("tolerances", tolerances)
    if tolerances.shape[0] < num_steps:
        raise ValueError(
            f"tolerances must have at least num_steps={num_steps} entries, got {tolerances.shape[0]}"
        )
    L = 1.0 / learning_rate
    q = jnp.zeros_like(w)
    total = 0
    out = dict(thetas=[theta], vals=[], iters=[], tols=[], steps=[])
    prev_val = np.inf
    prev = None
    for k in range(num_steps):
        eps = tolerances[k]
        w_new, it, _ = _gd_tol(
            inner, jnp.asarray(theta), w, eps, _inner_lr(inner_learning_rate, theta), 100000
        )
        total += int(it)
        val = float(outer(w_new, jnp.asarray(theta)))
        if adapt_step and prev is not None and not val <= prev_val + eps * max(1.0, abs(prev_val)):
            # the last step increased the objective: undo it and halve the step
            theta, w_new, q, val = prev
            L *= 2.0
        elif adapt_step:
            L *= 0.9
        hg, q, _ = _adjoint_cg(inner, outer, w_new, jnp.asarray(theta), q, eps, cg_num_steps)
        prev = (theta, w_new, q, val)
        prev_val = val
        w = w_new
        theta = np.asarray(theta - np.asarray(hg) / L)
        out["thetas"].append(theta)
        out["vals"].append(val)
        out["iters"].append(total)
        out["tols"].append(eps)
        out["steps"].append(1.0 / L)
        if not np.all(np.isfinite(theta)):  # diverged (step too large): stop, say so by θ
            break
    return InexactTrace(
        theta,
        np.asarray(out["thetas"]),
        np.asarray(out["vals"]),
        np.asarray(out["iters"]),
        np.asarray(out["tols"]),
        np.asarray(out["steps"]),
    )


def adaptive_inexact(
    inner: Loss,
    outer: Loss,
    theta0: Float[Array, "*p"],
    w0: Float[Array, " d"],
    *,
    inner_learning_rate,
    num_steps: int,
    eps0: float = 1e-1,
    learning_rate: float = 1.0,
    rho: float = 0.5,
    nu: float = 0.5,
    armijo: float = 0.1,
    ratio: float = 0.5,
    max_backtracks: int = 10,
    cg_num_steps: int = 200,
    min_eps: float = 1e-12,
) -> InexactTrace:
    """Adaptively inexact hypergradient descent (simplified MAID, Salehi et al. 2023).

    Keeps a step ``α`` and an accuracy ``ε`` (lower-level gradient norm and
    adjoint residual).  Each step: compute ``F̃(θ)`` and ``ĝ`` at accuracy ``ε``;
    if ``ε > ratio·‖ĝ‖`` the hypergradient is not trusted and ``ε ← νε`` first.
    Backtrack ``α ← ρα`` until the inexact Armijo test
    ``F̃(θ − αĝ) + ε ≤ F̃(θ) − ε − c α ‖ĝ‖²`` (``c = armijo``) holds (a decrease that survives
    value errors up to ``ε``, which the caller's accuracy should bound); if it never does, tighten
    ``ε ← νε`` and retry from the same θ and initial step.  After an accepted step, ``α ← α/ρ``
    (try a longer step next time).  No accuracy schedule or step size is chosen
    a priori, which is the point of the method.

    Args:
      inner, outer: the losses (hashable callables). theta0: finite scalar or 1-D.
      w0: finite 1-D. inner_learning_rate: positive scalar or callable of θ.
      num_steps, max_backtracks, cg_num_steps: positive ints.
      learning_rate: the initial step ``α`` (positive).
      eps0, armijo, ratio, min_eps: positive scalars. rho, nu: in ``(0, 1)``.

    Returns:
      An :class:`InexactTrace`.

    Raises:
      TypeError / ValueError: naming the argument.
    """
    theta, w = _host_start(inner, outer, theta0, w0)
    _check_inner_lr(inner_learning_rate)
    require_int("num_steps", num_steps, minimum=1)
    for name, v in (
        ("eps0", eps0),
        ("learning_rate", learning_rate),
        ("armijo", armijo),
        ("ratio", ratio),
        ("min_eps", min_eps),
    ):
        _pos_scalar(name, v)
    for name, v in (("rho", rho), ("nu", nu)):
        _pos_scalar(name, v)
        if not float(v) < 1:
            raise ValueError(f"{name} must lie in (0, 1), got {v}")
    require_int("cg_num_steps", cg_num_steps, minimum=1)
    require_int("max_backtracks", max_backtracks, minimum=1)
    eps, alpha = float(eps0), float(learning_rate)
    q = jnp.zeros_like(w)
    total = 0
    out = dict(thetas=[theta], vals=[], iters=[], tols=[], steps=[])
    k = 0
    while k < num_steps:
        th = jnp.asarray(theta)
        w, it, _ = _gd_tol(inner, th, w, eps, _inner_lr(inner_learning_rate, theta), 100000)
        total += int(it)
        val = float(outer(w, th))
        hg, q, _ = _adjoint_cg(inner, outer, w, th, q, eps, cg_num_steps)
        gn2 = float(jnp.sum(hg**2))
        if eps > ratio * np.sqrt(gn2) and eps > min_eps:
            eps *= nu
            continue
        accepted = False
        alpha_start = alpha
        for _ in range(max_backtracks):
            cand = np.asarray(theta - alpha * np.asarray(hg))
            wc, it, _ = _gd_tol(
                inner, jnp.asarray(cand), w, eps, _inner_lr(inner_learning_rate, cand), 100000
            )
            total += int(it)
            vc = float(outer(wc, jnp.asarray(cand)))
            if np.isfinite(vc) and vc + eps <= val - eps - armijo * alpha * gn2:
                accepted = True
                break
            alpha *= rho
        if not accepted:
            # the decrease was hidden by the inexactness: more accuracy, same step
            if eps <= min_eps:
                break
            eps *= nu
            alpha = alpha_start
            continue
        out["tols"].append(eps)
        out["steps"].append(alpha)
        theta, w = cand, wc
        alpha /= rho
        out["thetas"].append(theta)
        out["vals"].append(val)
        out["iters"].append(total)
        k += 1
    return InexactTrace(
        theta,
        np.asarray(out["thetas"]),
        np.asarray(out["vals"]),
        np.asarray(out["iters"]),
        np.asarray(out["tols"]),
        np.asarray(out["steps"]),
    )
