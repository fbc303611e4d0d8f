"""Online learners on a convex set: OGD, optimistic OGD, AdaGrad-OMD and coin betting (chapter
10)."""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp

from .._checks import (
    is_concrete,
    require_positive,
)
from .._types import Array, Float
from ._common import LossFn, _check_radius, _check_scalar, _check_sequence, _project, _r
from .results import CoinResult, OnlineResult

# ---------------------------------------------------------------------------
# learners on X ⊂ ℝᵈ
# ---------------------------------------------------------------------------

_SCHEDULES = ("constant", "sqrt", "adaptive")


def _check_step(learning_rate: Any, schedule: str) -> None:
    _check_scalar("learning_rate", learning_rate)
    require_positive("learning_rate", learning_rate)
    if not isinstance(schedule, str) or schedule not in _SCHEDULES:
        raise ValueError(f"schedule must be one of {_SCHEDULES}, got {schedule!r}")


def _step(learning_rate, schedule, t, acc, max_learning_rate):
    """Step size at round ``t`` (1-based) given the accumulated squared norms ``acc``."""
    if schedule == "constant":
        e = learning_rate * jnp.ones_like(acc)
    elif schedule == "sqrt":
        e = learning_rate / jnp.sqrt(t)
    else:  # adaptive
        e = learning_rate / jnp.sqrt(1e-12 + acc)
    if max_learning_rate is not None:
        e = jnp.minimum(e, max_learning_rate)
    return e


def ogd(
    loss: LossFn,
    thetas: Float[Array, "T ..."],
    x0: Float[Array, " d"],
    *,
    learning_rate: float | Float[Array, ""],
    radius: float | Float[Array, ""] | None = None,
    schedule: str = "sqrt",
    max_learning_rate: float | Float[Array, ""] | None = None,
) -> OnlineResult:
    """Online gradient descent ``x_{t+1} = Π_X(x_t − η_t g_t)`` on ``X = [−R, R]ᵈ``.

    Euclidean online mirror descent.  Step sizes: ``"constant"`` ``η_t = η``,
    ``"sqrt"`` ``η_t = η/√t``, ``"adaptive"`` ``η_t = η/√(Σ_{s≤t} ‖g_s‖²)``
    (AdaGrad-norm), all capped at ``max_learning_rate`` if given.  With
    ``η_t = D/(G√t)`` on a set of diameter ``D`` and ``‖g_t‖ ≤ G``,
    ``R_T ≤ (3/2) D G √T`` (Zinkevich 2003).

    Args:
      loss: ``loss(x, θ_t) → scalar``, convex in ``x``.
      thetas: ``(T, …)`` per-round parameters.
      x0: ``(d,)`` first point (projected on ``X``).
      learning_rate: step-size scale ``η > 0`` (traced: ``vmap`` over it).
      radius: ``R`` of the box ``X``, or ``None`` for ``ℝᵈ``.
      schedule: ``"constant"``, ``"sqrt"`` or ``"adaptive"``.
      max_learning_rate: cap on ``η_t`` (``None``: no cap).

    Returns:
      An :class:`OnlineResult` with one row per round.

    Raises:
      TypeError: non-numeric ``thetas``/``x0``, ``loss`` not callable, a string for a scalar.
      ValueError: ``x0`` not a non-empty vector, ``thetas`` without a time axis, ``loss`` not
        returning a scalar at ``(x0, thetas[0])``, non-finite input, a non-positive ``learning_rate``,
        ``radius`` or ``max_learning_rate``, an unknown ``schedule``.
    """
    thetas, x0 = _check_sequence(thetas, x0, loss)
    _check_step(learning_rate, schedule)
    _check_radius(radius)
    if max_learning_rate is not None:
        _check_scalar("max_learning_rate", max_learning_rate)
        require_positive("max_learning_rate", max_learning_rate)
    dt = x0.dtype
    return _ogd(
        loss, schedule, thetas, x0, jnp.asarray(learning_rate, dt), _r(radius, dt), _r(max_learning_rate, dt)
    )


@functools.partial(jax.jit, static_argnums=(0, 1))
def _ogd(loss, schedule, thetas, x0, learning_rate, radius, max_learning_rate):
    vg = jax.value_and_grad(loss)

    # region: online-ogd-round
    def body(carry, inp):
        x, acc = carry
        t, theta = inp
        f, g = vg(x, theta)
        acc = acc + jnp.sum(g * g)
        e = _step(learning_rate, schedule, t, acc, max_learning_rate)
        x_new = _project(x - e * g, radius)
        return (x_new, acc), (x, f, g, e)

    # endregion: online-ogd-round

    T = jnp.shape(thetas)[0]
    ts = jnp.arange(1, T + 1, dtype=x0.dtype)
    x_init = _project(x0, radius)
    _, (xs, fs, gs, es) = jax.lax.scan(body, (x_init, jnp.zeros((), x0.dtype)), (ts, thetas))
    return OnlineResult(xs, fs, gs, es)


def optimistic_ogd(
    loss: LossFn,
    thetas: Float[Array, "T ..."],
    x0: Float[Array, " d"],
    *,
    learning_rate: float | Float[Array, ""],
    radius: float | Float[Array, ""] | None = None,
    schedule: str = "adaptive",
    max_learning_rate: float | Float[Array, ""] | None = None,
    hint: str = "last",
) -> OnlineResult:
    """Optimistic online mirror descent (Euclidean) with gradient hints ``M_t``.

    Two sequences: the learner plays ``x_t = Π(y_t − η_t M_t)`` and, after
    seeing ``g_t = ∇f_t(x_t)``, updates ``y_{t+1} = Π(y_t − η_t g_t)``.  The
    hint is ``M_t = g_{t−1}`` (``hint="last"``, Rakhlin & Sridharan 2013) or
    ``M_t = 0`` (``hint="zero"``, which is exactly :func:`ogd` run on ``y``).
    With a constant step, ``R_T(u) ≤ D²/(2η) + η Σ_t ‖g_t − M_t‖²``: the regret is
    governed by how badly the hints predict the gradients.  ``"adaptive"``
    uses ``η_t = η/√(Σ_{s≤t} ‖g_s − M_s‖²)`` capped at ``max_learning_rate`` (for
    ``L``-smooth losses Chen et al. 2023 take ``max_learning_rate = 1/(4L)``); the hint step
    of round ``t`` uses the step ``η_{t−1}`` fixed before ``g_t`` is seen (``η_0 = 0``,
    harmless since ``M_1 = 0``).

    Args:
      loss: ``loss(x, θ_t) → scalar``, convex in ``x``.
      thetas: ``(T, …)`` per-round parameters.
      x0: ``(d,)`` first point ``y_1`` (projected on ``X``).
      learning_rate: step-size scale ``η > 0`` (traced: ``vmap`` over it).
      radius: ``R`` of the box ``X``, or ``None`` for ``ℝᵈ``.
      schedule: ``"constant"``, ``"sqrt"`` or ``"adaptive"``.
      max_learning_rate: cap on ``η_t`` (``None``: no cap).
      hint: ``"last"`` or ``"zero"``.

    Returns:
      An :class:`OnlineResult` (``predictions`` are the played ``x_t``).

    Raises:
      TypeError: non-numeric ``thetas``/``x0``, ``loss`` not callable, a string for a scalar.
      ValueError: ``x0`` not a non-empty vector, ``thetas`` without a time axis, ``loss`` not
        returning a scalar at ``(x0, thetas[0])``, non-finite input, a non-positive ``learning_rate``,
        ``radius`` or ``max_learning_rate``, an unknown ``schedule`` or ``hint``.
    """
    thetas, x0 = _check_sequence(thetas, x0, loss)
    _check_step(learning_rate, schedule)
    _check_radius(radius)
    if max_learning_rate is not None:
        _check_scalar("max_learning_rate", max_learning_rate)
        require_positive("max_learning_rate", max_learning_rate)
    if hint not in ("last", "zero"):
        raise ValueError(f"hint must be 'last' or 'zero', got {hint!r}")
    dt = x0.dtype
    return _optimistic(
        loss,
        schedule,
        hint,
        thetas,
        x0,
        jnp.asarray(learning_rate, dt),
        _r(radius, dt),
        _r(max_learning_rate, dt),
    )


@functools.partial(jax.jit, static_argnums=(0, 1, 2))
def _optimistic(loss, schedule, hint, thetas, x0, learning_rate, radius, max_learning_rate):
    vg = jax.value_and_grad(loss)

    # region: online-optimistic-round
    def body(carry, inp):
        y, m, acc, e_prev = carry
        t, theta = inp
        x = _project(y - e_prev * m, radius)
        f, g = vg(x, theta)
        acc = acc + jnp.sum((g - m) ** 2)
        e = _step(learning_rate, schedule, t, acc, max_learning_rate)
        y_new = _project(y - e * g, radius)
        m_new = g if hint == "last" else jnp.zeros_like(g)
        return (y_new, m_new, acc, e), (x, f, g, e)

    # endregion: online-optimistic-round

    T = jnp.shape(thetas)[0]
    ts = jnp.arange(1, T + 1, dtype=x0.dtype)
    y0 = _project(x0, radius)
    init = (y0, jnp.zeros_like(y0), jnp.zeros((), x0.dtype), jnp.zeros((), x0.dtype))
    _, (xs, fs, gs, es) = jax.lax.scan(body, init, (ts, thetas))
    return OnlineResult(xs, fs, gs, es)


def adagrad_omd(
    loss: LossFn,
    thetas: Float[Array, "T ..."],
    x0: Float[Array, " d"],
    *,
    learning_rate: float | Float[Array, ""],
    radius: float | Float[Array, ""] | None = None,
    delta: float | Float[Array, ""] = 1e-8,
) -> OnlineResult:
    """Diagonal AdaGrad as online mirror descent (Duchi et al. 2011).

    OMD with the time-varying regulariser ``ψ_t(x) = ½ xᵀ H_t x``,
    ``H_t = diag(√(δ + Σ_{s≤t} g_s²))``: the mirror step is
    ``x_{t+1} = argmin_{x∈X} ⟨g_t, x⟩ + (1/2η)‖x − x_t‖²_{H_t}``, i.e.
    ``x_{t+1} = Π^{H_t}_X(x_t − η H_t^{−1} g_t)``; on a box the ``H_t``-projection
    is the coordinate-wise clip.  Unconstrained, this is ``optax.adagrad`` with
    ``initial_accumulator_value=δ`` and ``eps=0``.  ``learning_rates`` records the
    mean of the per-coordinate steps ``η/H_t``.

    Args:
      loss: ``loss(x, θ_t) → scalar``, convex in ``x``.
      thetas: ``(T, …)`` per-round parameters.
      x0: ``(d,)`` first point (projected on ``X``).
      learning_rate: ``η > 0`` (traced: ``vmap`` over it).
      radius: ``R`` of the box ``X``, or ``None`` for ``ℝᵈ``.
      delta: ``δ > 0``, the initial accumulator.

    Returns:
      An :class:`OnlineResult`.

    Raises:
      TypeError: non-numeric ``thetas``/``x0``, ``loss`` not callable, a string for a scalar.
      ValueError: ``x0`` not a non-empty vector, ``thetas`` without a time axis, ``loss`` not
        returning a scalar at ``(x0, thetas[0])``, non-finite input, a non-positive ``learning_rate``,
        ``radius`` or ``delta``.
    """
    thetas, x0 = _check_sequence(thetas, x0, loss)
    _check_scalar("learning_rate", learning_rate)
    require_positive("learning_rate", learning_rate)
    _check_radius(radius)
    _check_scalar("delta", delta)
    require_positive("delta", delta)
    dt = x0.dtype
    return _adagrad(loss, thetas, x0, jnp.asarray(learning_rate, dt), _r(radius, dt), jnp.asarray(delta, dt))


@functools.partial(jax.jit, static_argnums=(0,))
def _adagrad(loss, thetas, x0, learning_rate, radius, delta):
    vg = jax.value_and_grad(loss)

    # region: online-adagrad-round
    def body(carry, theta):
        x, acc = carry
        f, g = vg(x, theta)
        acc = acc + g * g
        h = jnp.sqrt(acc)
        x_new = _project(x - learning_rate * g / h, radius)
        return (x_new, acc), (x, f, g, jnp.mean(learning_rate / h))

    # endregion: online-adagrad-round

    x_init = _project(x0, radius)
    _, (xs, fs, gs, es) = jax.lax.scan(body, (x_init, jnp.full_like(x_init, delta)), thetas)
    return OnlineResult(xs, fs, gs, es)


def coin_betting(
    loss: LossFn,
    thetas: Float[Array, "T ..."],
    x0: Float[Array, " d"],
    *,
    initial_wealth: float | Float[Array, ""] = 1.0,
    lipschitz: float | Float[Array, ""] = 1.0,
) -> CoinResult:
    """Parameter-free online learning by coin betting, per coordinate (Orabona & Pál 2016).

    Each coordinate is a gambler with wealth ``W_0 = ε`` (``initial_wealth``)
    betting on the "coins" ``c_t = −g_t/G ∈ [−1, 1]`` with the
    Krichevsky–Trofimov fraction ``β_t = (Σ_{s<t} c_s)/t``:

        x_t = x0 + β_t W_{t−1},     W_t = W_{t−1} + c_t (x_t − x0) = W_{t−1}(1 + c_t β_t).

    Hence ``W_T = ε − Σ_t ⟨g_t, x_t − x0⟩/G``: wealth is (minus) the linear
    loss, and a wealth lower bound is a regret upper bound
    ``R_T(u) ≤ Õ(‖u − x0‖ √T)`` for every ``u`` at once, with no step size.  The
    domain is ``ℝᵈ``; ``lipschitz`` is the bound ``G ≥ max |g_{t,i}|``, checked after
    the run (a ``ValueError`` if violated).

    Args:
      loss: ``loss(x, θ_t) → scalar``, convex in ``x``.
      thetas: ``(T, …)`` per-round parameters.
      x0: ``(d,)`` the origin of the bets.
      initial_wealth: ``ε > 0``.
      lipschitz: ``G > 0``.

    Returns:
      A :class:`CoinResult`.

    Raises:
      TypeError: non-numeric ``thetas``/``x0``, ``loss`` not callable, a string for a scalar.
      ValueError: ``x0`` not a non-empty vector, ``thetas`` without a time axis, ``loss`` not
        returning a scalar at ``(x0, thetas[0])``, non-finite input, a non-positive ``initial_wealth`` or
        ``lipschitz``, or a gradient entry above ``lipschitz`` (checked after the run).
    """
    thetas, x0 = _check_sequence(thetas, x0, loss)
    _check_scalar("initial_wealth", initial_wealth)
    require_positive("initial_wealth", initial_wealth)
    _check_scalar("lipschitz", lipschitz)
    require_positive("lipschitz", lipschitz)
    dt = x0.dtype
    out = _coin(loss, thetas, x0, jnp.asarray(initial_wealth, dt), jnp.asarray(lipschitz, dt))
    if is_concrete((out.grads, lipschitz)):
        gmax = float(jnp.max(jnp.abs(out.grads)))
        if gmax > float(lipschitz) * (1 + 1e-6):
            raise ValueError(
                f"coin betting needs |g_t,i| <= lipschitz = {float(lipschitz)}, "
                f"got a gradient entry of {gmax:.4g}"
            )
    return out


@functools.partial(jax.jit, static_argnums=(0,))
def _coin(loss, thetas, x0, initial_wealth, lipschitz):
    vg = jax.value_and_grad(loss)

    # region: online-coin-round
    def body(carry, inp):
        wealth, sum_c = carry
        t, theta = inp
        beta = sum_c / t
        x = x0 + beta * wealth
        f, g = vg(x, theta)
        c = -g / lipschitz
        wealth = wealth + c * (x - x0)
        return (wealth, sum_c + c), (x, f, g, wealth, beta)

    # endregion: online-coin-round

    T = jnp.shape(thetas)[0]
    ts = jnp.arange(1, T + 1, dtype=x0.dtype)
    init = (jnp.full_like(x0, initial_wealth), jnp.zeros_like(x0))
    _, (xs, fs, gs, ws, bs) = jax.lax.scan(body, init, (ts, thetas))
    return CoinResult(xs, fs, gs, ws, bs)
