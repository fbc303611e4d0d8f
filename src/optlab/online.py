r"""Online learning: regret, mirror descent, optimism, parameter-free bets, bandits (Chapter 10).

Notation of the chapter.  At round ``t = 1, …, T`` the learner plays ``x_t``,
the environment reveals a convex loss ``f_t`` and the learner pays
``f_t(x_t)``; it then sees ``g_t = ∇f_t(x_t)``.  The regret against a fixed
comparator ``u`` is ``R_T(u) = Σ_t f_t(x_t) − f_t(u)`` and the regret is
``R_T = max_u R_T(u)``, against the best fixed point in hindsight.

Every learner is a pure function of a whole loss sequence that runs inside
``lax.scan``.  Losses on a set ``X ⊂ ℝᵈ`` are given as ``loss(x, θ_t)`` with
per-round parameters ``thetas`` of shape ``(T, …)`` (e.g. the moving centre
``c_t`` of :func:`logcosh_loss`); expert / bandit losses are a ``(T, n)``
matrix.  Step sizes are traced arguments, so ``jax.vmap`` sweeps them.

- :func:`ogd`: online gradient descent ``x_{t+1} = Π_X(x_t − η_t g_t)``
  (Euclidean online mirror descent; Zinkevich 2003);
- :func:`optimistic_ogd`: optimistic OMD with gradient hints ``M_t``
  (Rakhlin & Sridharan 2013; Chen et al. 2023 for the stochastic/adversarial
  interpolation), ``x_t = Π(y_t − η_t M_t)``, ``y_{t+1} = Π(y_t − η_t g_t)``;
- :func:`adagrad_omd`: diagonal AdaGrad = OMD with the regulariser
  ``½‖x‖²_{H_t}``, ``H_t = diag(√(δ + Σ_{s≤t} g_s²))`` (Duchi et al. 2011);
- :func:`coin_betting`: the per-coordinate Krichevsky–Trofimov bettor,
  parameter-free (Orabona & Pál 2016);
- :func:`hedge`: entropic OMD on the simplex, ``p_t ∝ exp(−η L_{t−1})``,
  and :func:`optimistic_hedge` with a hint vector;
- :func:`exp3`: bandit Hedge on importance-weighted losses (Auer et al. 2002),
  used with :func:`optlab.linear_solvers.sor_cost_table` (the environment) to choose
  SOR's relaxation parameter ω across a sequence of linear systems (Khodak et al. 2024).

Every result carries the whole trace, one row per round, and the last play as ``params``
(``predictions[-1]`` for a learner on ``X``, ``weights[-1]`` for Hedge, ``probs[-1]`` for
EXP3; batch-safe: the round axis is the second to last).

The environment :func:`sea_centers` interpolates between stochastic and
adversarial sequences with a noise level ``σ`` and an adversarial drift
amplitude (the SEA model of Sachs et al. 2022, Chen et al. 2023).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
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
    require_probability_vector,
)
from ._types import Array, ArrayLike, Float, Int, PRNGKeyArray

# Matrix products whose accuracy matters run at full float32 precision (NVIDIA GPUs run
# float32 matmuls in TF32 by default, a 10-bit mantissa).
HIGHEST = jax.lax.Precision.HIGHEST

__all__ = [
    "OnlineResult",
    "CoinResult",
    "ExpertsResult",
    "BanditResult",
    "logcosh_loss",
    "sea_centers",
    "ogd",
    "optimistic_ogd",
    "adagrad_omd",
    "coin_betting",
    "best_fixed",
    "regret_at",
    "hedge",
    "optimistic_hedge",
    "hedge_regret_bound",
    "exp3",
]

LossFn = Callable[[jax.Array, jax.Array], jax.Array]


# ---------------------------------------------------------------------------
# outputs
# ---------------------------------------------------------------------------


class OnlineResult(NamedTuple):
    """Trace of a learner on ``X ⊂ ℝᵈ``.

    Attributes:
      predictions: ``(T, d)``, the points ``x_t`` played.
      losses: ``(T,)``, ``f_t(x_t)``.
      grads: ``(T, d)``, ``g_t = ∇f_t(x_t)``.
      learning_rates: ``(T,)``, the step ``η_t`` used after round ``t``.
      params: ``(d,)`` (property), the last point played, ``x_T = predictions[-1]``.
    """

    predictions: Float[Array, "T d"]
    losses: Float[Array, " T"]
    grads: Float[Array, "T d"]
    learning_rates: Float[Array, " T"]

    @property
    def params(self) -> jax.Array:
        """The last point played, ``x_T`` (``predictions[..., -1, :]``)."""
        return self.predictions[..., -1, :]


class CoinResult(NamedTuple):
    """Trace of :func:`coin_betting` (``OnlineResult`` fields plus the bettor's state).

    Attributes:
      wealth: ``(T, d)``, per-coordinate wealth **after** round ``t``.
      fractions: ``(T, d)``, the betting fraction ``β_t`` used at round ``t``.
      params: ``(d,)`` (property), the last point played, ``x_T = predictions[-1]``.
    """

    predictions: jax.Array
    losses: jax.Array
    grads: jax.Array
    wealth: Float[Array, "T d"]
    fractions: Float[Array, "T d"]

    @property
    def params(self) -> jax.Array:
        """The last point played, ``x_T`` (``predictions[..., -1, :]``)."""
        return self.predictions[..., -1, :]


class ExpertsResult(NamedTuple):
    """Trace of an experts algorithm on a loss matrix ``ℓ ∈ ℝ^{T×n}``.

    Attributes:
      weights: ``(T, n)``, the distribution ``p_t`` played at round ``t``.
      losses: ``(T,)``, ``⟨p_t, ℓ_t⟩``.
      regret: ``(T,)``, ``Σ_{s≤t} ⟨p_s, ℓ_s⟩ − min_i Σ_{s≤t} ℓ_{s,i}`` (best
        expert of each prefix).
      params: ``(n,)`` (property), the last distribution played, ``p_T = weights[-1]``.
    """

    weights: Float[Array, "T n"]
    losses: Float[Array, " T"]
    regret: Float[Array, " T"]

    @property
    def params(self) -> jax.Array:
        """The last distribution played, ``p_T`` (``weights[..., -1, :]``)."""
        return self.weights[..., -1, :]


class BanditResult(NamedTuple):
    """Trace of :func:`exp3`.

    Attributes:
      probs: ``(T, K)``, the sampling distribution ``p_t``.
      arms: ``(T,)``, the arm ``I_t`` pulled.
      losses: ``(T,)``, the observed loss ``ℓ_{t, I_t}``.
      expected_losses: ``(T,)``, ``⟨p_t, ℓ_t⟩``.
      regret: ``(T,)``, realised regret ``Σ_{s≤t} ℓ_{s,I_s} − min_i Σ_{s≤t} ℓ_{s,i}``.
      pseudo_regret: ``(T,)``, the same with ``⟨p_s, ℓ_s⟩`` in place of ``ℓ_{s,I_s}``.
      params: ``(K,)`` (property), the last sampling distribution, ``p_T = probs[-1]``.
    """

    probs: Float[Array, "T K"]
    arms: Int[Array, " T"]
    losses: Float[Array, " T"]
    expected_losses: Float[Array, " T"]
    regret: Float[Array, " T"]
    pseudo_regret: Float[Array, " T"]

    @property
    def params(self) -> jax.Array:
        """The last sampling distribution, ``p_T`` (``probs[..., -1, :]``)."""
        return self.probs[..., -1, :]


# ---------------------------------------------------------------------------
# validation helpers
# ---------------------------------------------------------------------------


def _check_scalar(name: str, value: Any) -> None:
    """Refuse non-numeric values (TypeError) and arrays (ValueError) for a scalar argument."""
    if value is None or isinstance(value, (str, bytes)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    if is_concrete(value) and np.ndim(value) != 0:
        raise ValueError(f"{name} must be a scalar, got shape {np.shape(value)}")


def _check_loss(loss: Any, thetas: jax.Array, x0: jax.Array) -> None:
    require_callable("loss", loss)
    try:
        out = jax.eval_shape(loss, x0, thetas[0])
    except (TypeError, ValueError, IndexError) as err:
        raise ValueError(
            f"loss cannot be evaluated at x0 of shape {tuple(jnp.shape(x0))} and "
            f"thetas[0] of shape {tuple(jnp.shape(thetas)[1:])}: {err}"
        ) from None
    if tuple(getattr(out, "shape", (None,))) != ():
        raise ValueError(f"loss must return a scalar, got output shape {getattr(out, 'shape', None)}")


def _check_sequence(thetas: Any, x0: Any, loss: Any = None) -> tuple[jax.Array, jax.Array]:
    thetas = as_float_array("thetas", thetas)
    x0 = as_float_array("x0", x0, ndim=1)
    if jnp.shape(x0)[0] < 1:
        raise ValueError("x0 must have at least one coordinate, got shape (0,)")
    if jnp.ndim(thetas) < 1 or jnp.shape(thetas)[0] < 1:
        raise ValueError(
            f"thetas must have a leading time axis of length T >= 1, got shape {tuple(jnp.shape(thetas))}"
        )
    if loss is not None:
        _check_loss(loss, thetas, x0)
    return thetas, x0


def _check_radius(radius: Any) -> None:
    if radius is not None:
        _check_scalar("radius", radius)
        require_positive("radius", radius)


def _project(x: jax.Array, radius: Any) -> jax.Array:
    """Projection on the box ``[−R, R]ᵈ`` (for any diagonal metric: it is separable)."""
    if radius is None:
        return x
    return jnp.clip(x, -radius, radius)


def _r(radius, dtype):
    """``None`` (no constraint) becomes ``+∞`` so one compiled function serves both."""
    return jnp.asarray(jnp.inf if radius is None else radius, dtype)


def _check_losses(name: str, losses: Any, *, unit: bool = False) -> jax.Array:
    losses = as_float_array(name, losses, ndim=2)
    if jnp.shape(losses)[0] < 1 or jnp.shape(losses)[1] < 1:
        raise ValueError(f"{name} must have shape (T, n) with T, n >= 1, got {tuple(jnp.shape(losses))}")
    require_finite(name, losses)
    if unit:
        require_in_range(name, losses, 0.0, 1.0)
    return losses


# ---------------------------------------------------------------------------
# losses and environments
# ---------------------------------------------------------------------------


def logcosh_loss(x: Float[Array, " d"], c: Float[Array, ""] | Float[Array, " d"]) -> Float[Array, ""]:
    """``f(x; c) = Σ_i log cosh(x_i − c_i)``: convex, 1-smooth, ``∇f = tanh(x − c) ∈ (−1, 1)ᵈ``.

    Computed stably as ``|z| + log1p(e^{−2|z|}) − log 2``.

    Args:
      x: ``(d,)`` point.
      c: ``(d,)`` centre (or a scalar).

    Returns:
      the scalar loss.

    Raises:
      TypeError / ValueError: non-numeric or non-finite input, mismatched shapes.
    """
    x = as_float_array("x", x)
    c = as_float_array("c", c)
    if jnp.ndim(c) > 0 and jnp.shape(c) != jnp.shape(x):
        raise ValueError(f"c must have the shape of x {tuple(jnp.shape(x))}, got {tuple(jnp.shape(c))}")
    z = jnp.abs(x - c)
    return jnp.sum(z + jnp.log1p(jnp.exp(-2.0 * z)) - math.log(2.0))


def sea_centers(
    num_rounds: int,
    dim: int,
    noise: float | Float[Array, ""],
    drift: float | Float[Array, ""],
    *,
    key: PRNGKeyArray,
    period: int = 50,
    center: float | Float[Array, ""] = 0.5,
) -> Float[Array, "num_rounds dim"]:
    """Centres ``c_t = μ_t + σ ξ_t`` of a stochastically extended adversarial sequence.

    ``μ_t = center·𝟙 + drift · s_t · v`` with a fixed unit direction ``v`` and a sign
    ``s_t = ±1`` that flips every ``period`` rounds (the adversarial part, its
    variation grows with ``drift``), and ``ξ_t`` i.i.d. standard normal (the
    stochastic part, of variance ``σ² = noise²`` per coordinate).  ``noise`` and
    ``drift`` may be traced, so a grid of environments is one ``vmap``.

    Args:
      key: a JAX PRNG key (an integer seed is refused).
      num_rounds, dim, period: positive integers.
      noise, drift: ``≥ 0`` scalars (may be traced).
      center: finite scalar.

    Returns:
      ``(num_rounds, dim)`` centres; use them as ``thetas`` with :func:`logcosh_loss`.

    Raises:
      TypeError / ValueError: invalid key, counts or levels.
    """
    require_key("key", key)
    require_int("num_rounds", num_rounds, minimum=1)
    require_int("dim", dim, minimum=1)
    require_int("period", period, minimum=1)
    for name, v in (("noise", noise), ("drift", drift), ("center", center)):
        _check_scalar(name, v)
    require_nonnegative("noise", noise)
    require_nonnegative("drift", drift)
    require_finite("center", as_float_array("center", center))
    k_dir, k_noise = jax.random.split(key)
    v = jax.random.normal(k_dir, (dim,))
    v = v / jnp.linalg.norm(v)
    t = jnp.arange(num_rounds)
    sign = jnp.where((t // period) % 2 == 0, 1.0, -1.0)
    mu = center + drift * sign[:, None] * v[None, :]
    xi = jax.random.normal(k_noise, (num_rounds, dim))
    return mu + noise * xi


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


# ---------------------------------------------------------------------------
# comparators and regret
# ---------------------------------------------------------------------------


def best_fixed(
    loss: LossFn,
    thetas: Float[Array, "T d"],
    *,
    radius: float | Float[Array, ""] | None = None,
    horizons: Int[ArrayLike, " H"] | None = None,
    smoothness: float = 1.0,
    num_steps: int = 300,
) -> tuple[Float[Array, "H d"], Float[Array, " H"]]:
    """Best fixed point in hindsight ``u_T = argmin_{u∈X} Σ_{t≤T} f_t(u)`` for several ``T``.

    Projected gradient descent with step ``1/L`` on the average loss of each
    prefix, started at the prefix mean of ``thetas`` (for :func:`logcosh_loss`
    the minimiser lies near it), ``num_steps`` iterations.  All horizons are one
    ``vmap`` over masks.

    Args:
      loss: ``loss(u, θ_t) → scalar``, convex in ``u``.
      thetas: ``(T, d)`` per-round parameters (the start is their prefix mean, so ``u`` has
        their width ``d``).
      radius: ``R`` of the box ``X``, or ``None`` for ``ℝᵈ`` (keyword-only).
      horizons: the horizons ``T``, integers in ``[1, T]`` (default: the whole sequence).
      smoothness: ``L > 0``; the step is ``1/L``.
      num_steps: projected-gradient iterations, ``>= 1``.

    Returns:
      ``(u, total)``: comparators ``(H, d)`` and their cumulative losses ``(H,)``.

    Raises:
      TypeError / ValueError: ``loss`` not callable, ``thetas`` not ``(T, d)`` finite,
      invalid ``radius``, ``horizons``, ``smoothness`` or ``num_steps``.
    """
    require_callable("loss", loss)
    thetas = as_float_array("thetas", thetas)
    if jnp.ndim(thetas) != 2 or 0 in jnp.shape(thetas):
        raise ValueError(f"best_fixed needs thetas of shape (T, d), got {tuple(jnp.shape(thetas))}")
    _check_loss(loss, thetas, thetas[0])
    _check_radius(radius)
    _check_scalar("smoothness", smoothness)
    require_positive("smoothness", smoothness)
    require_int("num_steps", num_steps, minimum=1)
    T = jnp.shape(thetas)[0]
    hs = _check_horizons(horizons, T)
    dt = thetas.dtype
    return _best_fixed(
        loss, num_steps, thetas, jnp.asarray(hs, dt), _r(radius, dt), jnp.asarray(smoothness, dt)
    )


@functools.partial(jax.jit, static_argnums=(0, 1))
def _best_fixed(loss, num_steps, thetas, hs, radius, smoothness):
    T = thetas.shape[0]
    per_round = jax.vmap(loss, in_axes=(None, 0))

    def one(h):
        w = (jnp.arange(T) < h).astype(thetas.dtype)

        def avg(u):
            return jnp.sum(w * per_round(u, thetas)) / h

        u0 = _project(jnp.sum(w[:, None] * thetas, 0) / h, radius)
        g = jax.grad(avg)
        u = jax.lax.fori_loop(0, num_steps, lambda _, u: _project(u - g(u) / smoothness, radius), u0)
        return u, avg(u) * h

    return jax.vmap(one)(hs)


def _check_horizons(horizons, T):
    if horizons is None:
        return np.array([T])
    if isinstance(horizons, (str, bytes)) or not is_concrete(horizons):
        raise TypeError(f"horizons must be a 1-D array of integers, got {type(horizons).__name__}")
    try:
        hs = np.asarray(horizons)
    except (TypeError, ValueError) as err:
        raise TypeError(f"horizons must be a 1-D array of integers, got {horizons!r}") from err
    if hs.ndim != 1 or hs.size == 0 or not np.issubdtype(hs.dtype, np.integer):
        raise ValueError(f"horizons must be a 1-D array of integers, got {horizons!r}")
    if hs.min() < 1 or hs.max() > T:
        raise ValueError(f"horizons must lie in [1, T={T}], got {horizons!r}")
    return hs


def regret_at(
    result: Any,
    loss: LossFn,
    thetas: Float[Array, "T d"],
    horizons: Int[ArrayLike, " H"] | None = None,
    *,
    radius: float | Float[Array, ""] | None = None,
    smoothness: float = 1.0,
    num_steps: int = 300,
) -> Float[Array, " H"]:
    """Regret ``R_T = Σ_{t≤T} f_t(x_t) − min_{u∈X} Σ_{t≤T} f_t(u)`` at each horizon ``T``.

    ``result`` is any trace with a ``losses`` field (:class:`OnlineResult`,
    :class:`CoinResult`).  The comparator is :func:`best_fixed` (an accurate
    minimiser; its error only lowers the comparator's quality, so the value is
    a slight *under*-estimate of the regret when not converged).

    Args:
      result: a trace with a ``losses`` field of shape ``(T,)``.
      loss: the loss ``loss(x, θ_t)`` the learner played against.
      thetas: ``(T, d)`` per-round parameters.
      horizons: the horizons ``T``, integers in ``[1, T]`` (default: the whole sequence).
      radius: ``R`` of the box ``X``, or ``None`` for ``ℝᵈ`` (keyword-only).
      smoothness: ``L`` for :func:`best_fixed`.
      num_steps: iterations of :func:`best_fixed`.

    Returns:
      The regret at each horizon, shape ``(H,)``.

    Raises:
      TypeError: ``result`` without a ``losses`` field.
      ValueError: ``losses`` not of shape ``(T,)``, ``thetas`` of another length, or the
        errors of :func:`best_fixed`.
    """
    if not hasattr(result, "losses"):
        raise TypeError(
            f"result must have a losses field (OnlineResult, CoinResult), got {type(result).__name__}"
        )
    r_losses = as_float_array("result.losses", result.losses, ndim=1)
    T = jnp.shape(r_losses)[0]
    if np.ndim(thetas) >= 1 and np.shape(thetas)[0] != T:
        raise ValueError(f"thetas must have T={T} rounds like result, got shape {tuple(np.shape(thetas))}")
    hs = _check_horizons(horizons, T)
    _, best = best_fixed(loss, thetas, radius=radius, horizons=hs, smoothness=smoothness, num_steps=num_steps)
    cum = jnp.cumsum(r_losses)
    return cum[jnp.asarray(hs) - 1] - best


# ---------------------------------------------------------------------------
# experts: Hedge and optimistic Hedge (entropic OMD on the simplex)
# ---------------------------------------------------------------------------


def _experts_regret(learner_losses, losses):
    return jnp.cumsum(learner_losses) - jnp.min(jnp.cumsum(losses, axis=0), axis=1)


def hedge(
    losses: Float[Array, "T n"],
    *,
    learning_rate: float | Float[Array, ""],
    prior: Float[Array, " n"] | None = None,
) -> ExpertsResult:
    """Hedge / exponential weights: entropic OMD on the simplex (Freund & Schapire 1997).

    ``p_t ∝ π ⊙ exp(−η L_{t−1})`` with ``L_{t−1} = Σ_{s<t} ℓ_s`` (a softmax of the
    cumulative losses), which is both FTRL with the negative entropy and the
    mirror step ``p_{t+1} ∝ p_t ⊙ e^{−η ℓ_t}``.  For losses in ``[0, 1]``,
    ``R_T ≤ log(n)/η + ηT/8`` (:func:`hedge_regret_bound`).

    Args:
      losses: ``(T, n)`` loss matrix (finite).
      learning_rate: learning rate ``η > 0`` (traced: ``vmap`` over it).
      prior: initial distribution ``π`` (default uniform).

    Returns:
      An :class:`ExpertsResult`.

    Raises:
      TypeError: non-numeric input.
      ValueError: ``losses`` not a finite ``(T, n)`` matrix, ``learning_rate`` not a positive
        scalar, ``prior`` not a probability vector of length ``n``.
    """
    return optimistic_hedge(losses, learning_rate=learning_rate, hints=None, prior=prior)


def optimistic_hedge(
    losses: Float[Array, "T n"],
    *,
    learning_rate: float | Float[Array, ""],
    hints: str | Float[Array, "T n"] | None = "last",
    prior: Float[Array, " n"] | None = None,
) -> ExpertsResult:
    """Optimistic Hedge: ``p_t ∝ π ⊙ exp(−η (L_{t−1} + m_t))`` with a hint ``m_t``.

    ``hints="last"`` uses ``m_t = ℓ_{t−1}``; an array ``(T, n)`` gives the hints
    explicitly; ``None`` is plain :func:`hedge`.  With losses in ``[0, 1]``,
    ``R_T ≤ log(n)/η + η Σ_t ‖ℓ_t − m_t‖²_∞``-type bounds hold (Rakhlin & Sridharan 2013).

    Args:
      losses: ``(T, n)`` loss matrix (finite).
      learning_rate: ``η > 0`` (traced: ``vmap`` over it).
      hints: ``"last"``, ``None`` or a ``(T, n)`` array of hints ``m_t``.
      prior: initial distribution ``π`` (default uniform).

    Returns:
      An :class:`ExpertsResult`.

    Raises:
      TypeError: non-numeric input.
      ValueError: ``losses`` not a finite ``(T, n)`` matrix, ``learning_rate`` not a positive
        scalar, ``prior`` not a probability vector of length ``n``, ``hints`` a string other
        than ``"last"`` or an array not of shape ``(T, n)``.
    """
    losses = _check_losses("losses", losses)
    _check_scalar("learning_rate", learning_rate)
    require_positive("learning_rate", learning_rate)
    T, n = jnp.shape(losses)
    if prior is None:
        log_prior = jnp.full((n,), -math.log(n), dtype=losses.dtype)
    else:
        prior = as_float_array("prior", prior, ndim=1)
        require_probability_vector("prior", prior)
        if jnp.shape(prior) != (n,):
            raise ValueError(f"prior must have shape ({n},), got {tuple(jnp.shape(prior))}")
        log_prior = jnp.log(prior)
    if hints is None:
        m = jnp.zeros_like(losses)
    elif isinstance(hints, str):
        if hints != "last":
            raise ValueError(f"hints must be 'last', None or a (T, n) array, got {hints!r}")
        m = jnp.concatenate([jnp.zeros((1, n), losses.dtype), losses[:-1]], axis=0)
    else:
        m = as_float_array("hints", hints)
        if jnp.shape(m) != (T, n):
            raise ValueError(f"hints must have shape ({T}, {n}), got {tuple(jnp.shape(m))}")
    return _hedge(
        losses,
        jnp.asarray(learning_rate, losses.dtype),
        log_prior.astype(losses.dtype),
        m.astype(losses.dtype),
    )


@jax.jit
def _hedge(losses, learning_rate, log_prior, m):
    cum_prev = jnp.cumsum(losses, axis=0) - losses  # L_{t-1}
    weights = jax.nn.softmax(log_prior - learning_rate * (cum_prev + m), axis=1)
    lt = jnp.sum(weights * losses, axis=1)
    return ExpertsResult(weights, lt, _experts_regret(lt, losses))


def hedge_regret_bound(
    num_experts: int, num_rounds: float | Float[Array, ""], *, learning_rate: Float[ArrayLike, "*shape"]
) -> Float[ArrayLike, "*shape"]:
    """``log(n)/η + ηT/8``: Hedge's regret bound for losses in ``[0, 1]`` (Hoeffding's lemma).

    Minimised by ``η = √(8 log(n)/T)``, where it equals ``√(T log(n)/2)``.

    Args:
      num_experts: ``n >= 1``.
      num_rounds: ``T > 0`` (a scalar).
      learning_rate: ``η > 0`` (keyword-only; an array gives the bound for each ``η``).

    Returns:
      The bound, a float or an array like ``learning_rate``.

    Raises:
      TypeError: ``num_experts`` not an integer, a non-numeric ``num_rounds``.
      ValueError: ``num_experts < 1``, ``num_rounds`` or ``learning_rate`` not positive.
    """
    require_int("num_experts", num_experts, minimum=1)
    _check_scalar("num_rounds", num_rounds)
    require_positive("num_rounds", num_rounds)
    require_positive("learning_rate", learning_rate)
    return math.log(num_experts) / learning_rate + learning_rate * num_rounds / 8.0


# ---------------------------------------------------------------------------
# bandits: EXP3
# ---------------------------------------------------------------------------


def exp3(
    losses: Float[Array, "T K"],
    *,
    learning_rate: float | Float[Array, ""],
    key: PRNGKeyArray,
    gamma: float | Float[Array, ""] = 0.0,
) -> BanditResult:
    """EXP3 for adversarial bandits with losses in ``[0, 1]`` (Auer et al. 2002).

    ``p_t = (1 − γ) softmax(−η L̂_{t−1}) + γ/K``; draw ``I_t ~ p_t``, observe only
    ``ℓ_{t,I_t}`` and update the importance-weighted estimate
    ``L̂_t = L̂_{t−1} + ℓ_{t,I_t}/p_{t,I_t} · e_{I_t}`` (unbiased:
    ``E[ℓ̂_t] = ℓ_t``).  With ``γ = 0``, ``E[R_T] ≤ log(K)/η + ηTK/2``, minimised
    by ``η = √(2 log(K)/(TK))`` to ``√(2TK log K)``.

    Args:
      key: a JAX PRNG key (an integer seed is refused with a TypeError).
      losses: ``(T, K)`` losses in ``[0, 1]``.
      learning_rate: ``η > 0`` (scalar, may be traced).
      gamma: exploration ``γ ∈ [0, 1)``.

    Returns:
      :class:`BanditResult`.

    Raises:
      TypeError / ValueError: invalid key, losses outside ``[0, 1]``, ``η ≤ 0``, ``γ ∉ [0, 1)``.
    """
    require_key("key", key)
    losses = _check_losses("losses", losses, unit=True)
    _check_scalar("learning_rate", learning_rate)
    require_positive("learning_rate", learning_rate)
    _check_scalar("gamma", gamma)
    require_in_range("gamma", gamma, 0.0, 1.0, high_inclusive=False)
    dt = losses.dtype
    return _exp3(key, losses, jnp.asarray(learning_rate, dt), jnp.asarray(gamma, dt))


@jax.jit
def _exp3(key, losses, learning_rate, gamma):
    T, K = losses.shape
    keys = jax.random.split(key, T)

    def body(L_hat, inp):
        k, ell = inp
        p = (1.0 - gamma) * jax.nn.softmax(-learning_rate * L_hat) + gamma / K
        i = jax.random.categorical(k, jnp.log(p))
        obs = ell[i]
        L_hat = L_hat.at[i].add(obs / p[i])
        return L_hat, (p, i, obs, jnp.dot(p, ell, precision=HIGHEST))

    _, (ps, arms, obs, exp_l) = jax.lax.scan(body, jnp.zeros((K,), losses.dtype), (keys, losses))
    best = jnp.min(jnp.cumsum(losses, axis=0), axis=1)
    return BanditResult(ps, arms, obs, exp_l, jnp.cumsum(obs) - best, jnp.cumsum(exp_l) - best)
