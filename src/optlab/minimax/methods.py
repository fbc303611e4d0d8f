"""Methods for monotone inclusions and games: GDA, extragradient, optimistic and reflected
gradient, proximal point, Halpern, anchored and accelerated methods, VR-Halpern, competitive
gradient (chapter 9)."""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import jax.scipy.linalg

from .._checks import (
    require_callable,
    require_in_range,
    require_int,
    require_key,
    require_nonnegative,
)
from .._types import Array, Float, PRNGKeyArray
from ._common import _check_scalar
from ._scan import _const, _dispatch, _run, _validate
from .operators import AffineOperator, FiniteSumOperator, _resolvent_map
from .results import MinimaxOutput

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
