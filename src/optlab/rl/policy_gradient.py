r"""Policy gradient on a scalar linear-quadratic regulator (chapter 16).

* Scalar LQR: ``x_{t+1} = a x_t + b u_t + w_t``, ``w_t ~ N(0, σ_w²)``,
  ``x_0 ~ N(0, σ_0²)``, reward ``−(q x_t² + R u_t²)``, linear-Gaussian policy
  ``u_t ~ N(k x_t, σ²)``. The return ``J(k) = E Σ_{t<H} γᵗ r_t`` and its
  gradient are closed form; REINFORCE / GPOMDP, N-PG-IGT and N-HARPG
  (Fatkhullin, Barakat, Kireeva, He 2023) estimate it from sampled
  trajectories, and the Polyak step ``(J* − J)/|∇J|²`` (Li et al. 2024) sets
  the step size of exact policy gradient ascent.
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple, cast

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from .._checks import (
    as_float_array,
    is_concrete,
    require_in_range,
    require_int,
    require_key,
    require_nonnegative,
    require_positive,
)
from .._types import Array, Float, PRNGKeyArray
from ._common import _as_scalar

__all__ = [
    "LQR",
    "lqr_return",
    "lqr_gradient",
    "lqr_optimal_gain",
    "Rollouts",
    "lqr_rollouts",
    "gaussian_log_prob",
    "reinforce",
    "surrogate",
    "hessian_vector_product",
    "PGRun",
    "policy_gradient_run",
    "PolyakRun",
    "polyak_policy_gradient",
]


class _LQRFields(NamedTuple):
    a: float
    b: float
    q: float
    R: float
    sigma: float
    noise: float
    x0_std: float
    gamma: float
    horizon: int | None


class LQR(_LQRFields):
    """Scalar LQR ``x' = a x + b u + w`` with policy ``u ~ N(k x, σ²)``.

    The fields are stored as Python floats (hashable: an ``LQR`` is a static argument of the
    compiled solvers).

    Args:
      a: the dynamics' state coefficient.
      b: the dynamics' action coefficient.
      q: the state cost ``q ≥ 0`` (reward ``−(q x² + R u²)``).
      R: the action cost ``R ≥ 0``.
      sigma: the policy's standard deviation ``σ > 0``.
      noise: the standard deviation of ``w``, ``≥ 0``.
      x0_std: the standard deviation of ``x_0``, ``≥ 0``.
      gamma: the discount ``γ ∈ [0, 1)``.
      horizon: ``H`` (an int ``≥ 1``), or ``None`` for the infinite-horizon discounted
        return.

    Raises:
      TypeError: a non-numeric field, a non-integer ``horizon``.
      ValueError: a NaN/inf, a negative cost or std, ``sigma ≤ 0``, ``gamma`` outside
        ``[0, 1)``, ``horizon < 1``.
    """

    __slots__ = ()

    def __new__(
        cls, a=0.8, b=0.5, q=1.0, R=0.1, sigma=0.5, noise=0.1, x0_std=1.0, gamma=0.9, horizon: int | None = 20
    ):
        vals = {}
        for name, v in (
            ("a", a),
            ("b", b),
            ("q", q),
            ("R", R),
            ("sigma", sigma),
            ("noise", noise),
            ("x0_std", x0_std),
            ("gamma", gamma),
        ):
            if not is_concrete(v):
                raise TypeError(
                    f"{name} must be a concrete number (an LQR is a static configuration), got a traced value"
                )
            vals[name] = float(_as_scalar(name, v))
        for name in ("q", "R", "noise", "x0_std"):
            require_nonnegative(name, vals[name])
        require_positive("sigma", vals["sigma"])
        require_in_range("gamma", vals["gamma"], 0.0, 1.0, high_inclusive=False)
        if horizon is not None:
            require_int("horizon", horizon, minimum=1)
            horizon = int(horizon)
        v = vals
        return super().__new__(
            cls, v["a"], v["b"], v["q"], v["R"], v["sigma"], v["noise"], v["x0_std"], v["gamma"], horizon
        )

    def _replace(self, **kwargs) -> LQR:
        """A copy with some fields replaced, validated again."""
        fields = self._asdict()
        unknown = set(kwargs) - set(fields)
        if unknown:
            raise ValueError(f"LQR has no field(s) {sorted(unknown)}")
        fields.update(kwargs)
        return LQR(**fields)


def _require_lqr(sys: Any) -> None:
    if not isinstance(sys, LQR):
        raise TypeError(f"sys must be an optlab.rl.LQR, got {type(sys).__name__}")


def _moments(k, sys: LQR):
    """``c = (a + bk)²`` and the per-step additive variance ``s = b²σ² + σ_w²``."""
    c = (sys.a + sys.b * k) ** 2
    s = sys.b**2 * sys.sigma**2 + sys.noise**2
    return c, s


def _lqr_return(k, sys):
    c, s = _moments(k, sys)
    g, m0 = sys.gamma, sys.x0_std**2
    w = sys.q + sys.R * k**2
    if sys.horizon is None:
        M = (m0 + g * s / (1 - g)) / (1 - g * c)
        J = -(w * M) - sys.R * sys.sigma**2 / (1 - g)
        return jnp.where(g * c < 1, J, -jnp.inf)

    def step(carry, _):
        m, disc, acc = carry
        acc = acc + disc * (w * m + sys.R * sys.sigma**2)
        return (c * m + s, disc * g, acc), None

    zero = jnp.zeros_like(w)
    (_, _, acc), _ = jax.lax.scan(step, (zero + m0, zero + 1.0, zero), None, length=sys.horizon)
    return -acc


_lqr_return_jit = jax.jit(_lqr_return, static_argnames=("sys",))


def lqr_return(k: Float[ArrayLike, "*shape"], sys: LQR):
    """Exact ``J(k) = E Σ_{t<H} γᵗ (−q x_t² − R u_t²)`` (``H = ∞`` when ``horizon`` is None).

    With ``m_t = E x_t²``: ``m_{t+1} = c m_t + s`` and ``E u_t² = k² m_t + σ²``, so
    ``J = −Σ_t γᵗ [(q + R k²) m_t + R σ²]``. Infinite horizon:
    ``J = −(q + Rk²)(m_0 + γ s/(1 − γ))/(1 − γ c) − Rσ²/(1 − γ)`` for ``γ c < 1``
    (``−inf`` otherwise). Differentiable in ``k``; vectorises over ``k``; compiled
    once per ``sys`` and shape of ``k``.

    Args:
      k: gain(s), any shape, finite.
      sys: an :class:`LQR`.

    Returns:
      ``J(k)``, the shape of ``k``.

    Raises:
      TypeError: ``sys`` is not an LQR or ``k`` is not numeric.
      ValueError: ``k`` has a NaN/inf.
    """
    _require_lqr(sys)
    k = as_float_array("k", k)
    return _lqr_return_jit(k, sys)


@functools.partial(jax.jit, static_argnames=("sys",))
def _lqr_gradient(k, sys):
    if sys.horizon is None:
        c, s = _moments(k, sys)
        g, m0 = sys.gamma, sys.x0_std**2
        M = (m0 + g * s / (1 - g)) / (1 - g * c)
        dM = M * 2 * g * sys.b * (sys.a + sys.b * k) / (1 - g * c)
        return -2 * sys.R * k * M - (sys.q + sys.R * k**2) * dM
    return jnp.vectorize(jax.grad(lambda kk: _lqr_return(kk, sys)))(k)


def lqr_gradient(k: Float[ArrayLike, "*shape"], sys: LQR):
    """Exact ``dJ/dk``. Infinite horizon, by hand: with ``M(k) = (m_0 + γs/(1−γ))/(1 − γc)``,
    ``dM/dk = M · 2γb(a + bk)/(1 − γc)`` and ``dJ/dk = −2Rk M − (q + Rk²) dM/dk``.
    Finite horizon: differentiation of the exact moment recursion.

    Args:
      k: gain(s), any shape, finite.
      sys: an :class:`LQR`.

    Returns:
      ``J'(k)``, the shape of ``k``.

    Raises:
      TypeError, ValueError: as :func:`lqr_return`.
    """
    _require_lqr(sys)
    k = as_float_array("k", k)
    return _lqr_gradient(k, sys)


@functools.partial(jax.jit, static_argnames=("sys",))
def _lqr_newton_step(k, sys):
    f = lambda kk: _lqr_return(kk, sys)  # noqa: E731
    return jax.grad(f)(k) / jax.grad(jax.grad(f))(k)


def lqr_optimal_gain(sys: LQR) -> tuple[float, float]:
    """``(k*, J(k*))``: the best linear gain for the Gaussian policy class.

    Infinite horizon: ``J(k) ∝ −(q + Rk²)/(1 − γ(a + bk)²)`` up to constants, whose
    maximiser is the discounted Riccati gain ``k* = −γabP/(R + γb²P)`` with ``P`` the
    positive root of ``γb²P² + ((1 − γa²)R − γ q b²)P − qR = 0``. Finite horizon:
    Newton's method on the exact ``J`` (in the default float dtype) started from the
    Riccati gain.

    Args:
      sys: an :class:`LQR` with ``b ≠ 0``, ``gamma > 0`` and ``R > 0``.

    Returns:
      ``(k*, J(k*))`` as Python floats.

    Raises:
      TypeError: ``sys`` is not an LQR.
      ValueError: ``b = 0``, ``gamma = 0`` or ``R = 0`` (no unique optimum).
    """
    _require_lqr(sys)
    g, a, b, q, R = sys.gamma, sys.a, sys.b, sys.q, sys.R
    B2, A2 = g * b * b, g * a * a
    if B2 == 0 or R == 0:
        raise ValueError(f"lqr_optimal_gain needs sys with b != 0, gamma > 0 and R > 0, got {sys}")
    lin = (1 - A2) * R - q * B2
    P = (-lin + np.sqrt(lin * lin + 4 * B2 * q * R)) / (2 * B2)
    k = -g * a * b * P / (R + B2 * P)
    if sys.horizon is not None:
        dt = jnp.result_type(float)
        eps = float(jnp.finfo(dt).eps)
        for _ in range(50):
            step = float(_lqr_newton_step(jnp.asarray(k, dt), sys))
            k = k - step
            if abs(step) <= 4 * eps * (1 + abs(k)):
                break
    return float(k), float(_lqr_return_jit(jnp.asarray(k, jnp.result_type(float)), sys))


class Rollouts(NamedTuple):
    """Sampled trajectories, each array of shape ``(n, H)`` (``n`` trajectories of ``H`` steps).

    Attributes:
      x: the states ``x_t``.
      u: the actions ``u_t``.
      r: the rewards ``r_t = −(q x_t² + R u_t²)``.
    """

    x: jax.Array
    u: jax.Array
    r: jax.Array


def _rollout_one(key, k, sys: LQR):
    kx, kt = jax.random.split(key)
    dt = jnp.result_type(k, float)
    x0 = sys.x0_std * jax.random.normal(kx, (), dt)
    keys = jax.random.split(kt, cast(int, sys.horizon))  # callers check _need_horizon(sys)

    def step(x, key_t):
        ku, kw = jax.random.split(key_t)
        u = k * x + sys.sigma * jax.random.normal(ku, (), dt)
        rew = -(sys.q * x * x + sys.R * u * u)
        x_new = sys.a * x + sys.b * u + sys.noise * jax.random.normal(kw, (), dt)
        return x_new, (x, u, rew)

    _, (xs, us, rs) = jax.lax.scan(step, x0, keys)
    return Rollouts(xs, us, rs)


def _need_horizon(sys: LQR):
    _require_lqr(sys)
    if sys.horizon is None:
        raise ValueError("sampling needs a finite horizon: build the LQR sys with horizon=H")


@functools.partial(jax.jit, static_argnames=("sys", "n"))
def _rollouts(key, k, sys, n):
    return jax.vmap(lambda kk: _rollout_one(kk, k, sys))(jax.random.split(key, n))


def lqr_rollouts(k: float | Float[Array, ""], sys: LQR, n: int, *, key: PRNGKeyArray) -> Rollouts:
    """``n`` independent trajectories of length ``H`` under ``u ~ N(k x, σ²)``
    (a ``lax.scan`` over time, ``vmap``-ed over trajectories).

    Args:
      k: the gain, a finite scalar.
      sys: an :class:`LQR` with a finite ``horizon``.
      n: positive number of trajectories (static).
      key: a JAX PRNG key.

    Returns:
      :class:`Rollouts` with arrays of shape ``(n, H)``.

    Raises:
      TypeError: integer seed instead of a key, non-numeric ``k``, ``sys`` not an LQR.
      ValueError: infinite horizon, ``n < 1``, non-scalar or non-finite ``k``.
    """
    require_key("key", key)
    _need_horizon(sys)
    require_int("n", n, minimum=1)
    k = as_float_array("k", k, ndim=0)
    return _rollouts(key, k, sys, n)


def gaussian_log_prob(
    k: Float[ArrayLike, "*shape"],
    x: Float[ArrayLike, "*shape"],
    u: Float[ArrayLike, "*shape"],
    sigma: Float[ArrayLike, ""],
):
    """``log π_k(u | x)`` for ``u ~ N(k x, σ²)``; its ``k``-derivative is ``(u − kx) x / σ²``.

    Args:
      k, x, u: gain, states and actions (broadcastable), finite.
      sigma: policy standard deviation, positive.

    Returns:
      The log-density, broadcast shape of the inputs.

    Raises:
      TypeError: a non-numeric argument. ValueError: a NaN/inf or ``sigma ≤ 0``.
    """
    k = as_float_array("k", k)
    x = as_float_array("x", x)
    u = as_float_array("u", u)
    sigma = as_float_array("sigma", sigma)
    require_positive("sigma", sigma)
    return _gaussian_log_prob(k, x, u, sigma)


def _gaussian_log_prob(k, x, u, sigma):
    return -0.5 * ((u - k * x) / sigma) ** 2 - jnp.log(sigma) - 0.5 * jnp.log(2 * jnp.pi)


def _discounts(sys, H, dt):
    return sys.gamma ** jnp.arange(H, dtype=dt)


def _check_traj(traj: Any) -> Rollouts:
    if not isinstance(traj, Rollouts):
        raise TypeError(f"traj must be an optlab.rl.Rollouts, got {type(traj).__name__}")
    x = as_float_array("traj.x", traj.x, ndim=1)
    u = as_float_array("traj.u", traj.u, ndim=1)
    r = as_float_array("traj.r", traj.r, ndim=1)
    if not (x.shape == u.shape == r.shape) or x.shape[0] == 0:
        raise ValueError(
            f"traj.x, traj.u and traj.r must be non-empty 1-D arrays of one length (one "
            f"trajectory), got shapes {x.shape}, {u.shape}, {r.shape}"
        )
    return Rollouts(x, u, r)


def _surrogate(k, traj, sys):
    H = traj.r.shape[-1]
    disc = _discounts(sys, H, traj.r.dtype)
    togo = jnp.cumsum((disc * traj.r)[::-1])[::-1]
    return jnp.sum(togo * _gaussian_log_prob(k, traj.x, traj.u, sys.sigma))


def surrogate(k: float | Float[Array, ""], traj: Rollouts, sys: LQR) -> Float[Array, ""]:
    """GPOMDP surrogate of one trajectory, ``Φ(k) = Σ_t (Σ_{h≥t} γʰ r_h) log π_k(u_t|x_t)``
    (the samples held fixed): ``∇Φ`` is the GPOMDP gradient estimate, and
    ``∇²Φ + ∇Φ (∇ log p)ᵀ`` the Hessian estimate of HARPG.

    Args:
      k: the gain, a finite scalar (differentiable).
      traj: one trajectory, :class:`Rollouts` of 1-D arrays of length ``H``.
      sys: the :class:`LQR` that generated it.

    Returns:
      ``Φ(k)``, a scalar.

    Raises:
      TypeError: ``traj`` not Rollouts, ``sys`` not an LQR, non-numeric input.
      ValueError: non-scalar ``k``, mismatched or empty trajectory arrays, NaN/inf.
    """
    _require_lqr(sys)
    k = as_float_array("k", k, ndim=0)
    return _surrogate(k, _check_traj(traj), sys)


def _score_sum(k, traj, sys):
    return jnp.sum(_gaussian_log_prob(k, traj.x, traj.u, sys.sigma))


def reinforce(
    k: float | Float[Array, ""],
    sys: LQR,
    n: int,
    *,
    key: PRNGKeyArray,
    baseline: float | Float[Array, ""] | str | None = None,
    reward_to_go: bool = False,
) -> Float[Array, " n"]:
    """Per-trajectory REINFORCE estimates of ``dJ/dk`` (shape ``(n,)``); their mean is
    unbiased (Williams 1992).

    * ``reward_to_go=False``: ``(Σ_t ∇log π(u_t|x_t)) · (G − b)``, ``G = Σ_t γᵗ r_t``;
    * ``reward_to_go=True`` (GPOMDP): ``Σ_t ∇log π(u_t|x_t) (Σ_{h≥t} γʰ r_h − γᵗ b)``.

    ``baseline``: None (``b = 0``), a number, or ``"loo"`` (leave-one-out mean of the
    other trajectories' returns: still unbiased, needs ``n ≥ 2``).

    Args:
      k: the gain, a finite scalar.
      sys: an :class:`LQR` with a finite horizon.
      n: positive number of trajectories (static).
      key: a JAX PRNG key.
      baseline: ``None``, a finite number or ``"loo"``.
      reward_to_go: use the GPOMDP form (a bool).

    Returns:
      ``(n,)`` gradient estimates.

    Raises:
      TypeError: integer seed, ``sys`` not an LQR, non-numeric ``k``/``baseline``,
        non-bool ``reward_to_go``.
      ValueError: infinite horizon, ``n < 1`` (``n < 2`` with ``"loo"``), an unknown
        baseline string, NaN/inf.
    """
    require_key("key", key)
    _need_horizon(sys)
    require_int("n", n, minimum=1)
    if not isinstance(reward_to_go, (bool, np.bool_)):
        raise TypeError(f"reward_to_go must be a bool, got {type(reward_to_go).__name__}")
    if isinstance(baseline, str):
        if baseline != "loo":
            raise ValueError(f"baseline must be None, a number or 'loo', got {baseline!r}")
        if n < 2:
            raise ValueError("baseline='loo' needs n >= 2 trajectories")
    elif baseline is not None:
        baseline = as_float_array("baseline", baseline, ndim=0)
    kind = "none" if baseline is None else ("loo" if isinstance(baseline, str) else "const")
    b = 0.0 if kind != "const" else baseline
    k = as_float_array("k", k, ndim=0)
    return _reinforce(key, k, jnp.asarray(b, k.dtype), sys, n, kind, bool(reward_to_go))


@functools.partial(jax.jit, static_argnames=("sys", "n", "kind", "reward_to_go"))
def _reinforce(key, k, b_const, sys, n, kind, reward_to_go):
    traj = _rollouts(key, k, sys, n)
    H = traj.r.shape[1]
    disc = _discounts(sys, H, traj.r.dtype)
    G = jnp.sum(disc * traj.r, axis=1)
    if kind == "none":
        b = jnp.zeros_like(G)
    elif kind == "loo":
        b = (jnp.sum(G) - G) / (n - 1)
    else:
        b = jnp.full_like(G, b_const)
    scores = (traj.u - k * traj.x) * traj.x / sys.sigma**2  # (n, H)
    if reward_to_go:
        togo = jnp.cumsum((disc * traj.r)[:, ::-1], axis=1)[:, ::-1]
        return jnp.sum(scores * (togo - disc * b[:, None]), axis=1)
    return jnp.sum(scores, axis=1) * (G - b)


def hessian_vector_product(
    k: float | Float[Array, ""], v: float | Float[Array, ""], traj: Rollouts, sys: LQR
) -> Float[Array, ""]:
    """HARPG's Hessian estimate times ``v``:
    ``B v = ∇Φ · (∇ log p(τ|k) · v) + ∇²Φ v`` with ``Φ`` the GPOMDP surrogate, the
    second term by ``jax.jvp`` of ``jax.grad(Φ)`` (Fatkhullin et al. 2023, eq. for
    ``B(τ, θ)``).

    Args:
      k: the gain, a finite scalar.
      v: the direction, a finite scalar.
      traj: one trajectory (:class:`Rollouts` of 1-D arrays).
      sys: the :class:`LQR`.

    Returns:
      ``B v``, a scalar.

    Raises:
      TypeError, ValueError: as :func:`surrogate`, and for ``v``.
    """
    _require_lqr(sys)
    k = as_float_array("k", k, ndim=0)
    v = as_float_array("v", v, ndim=0)
    traj = _check_traj(traj)
    return _hvp(k, v.astype(k.dtype), traj, sys)


@functools.partial(jax.jit, static_argnames=("sys",))
def _hvp(k, v, traj, sys):
    # region: rl-harpg-hvp
    phi = lambda kk: _surrogate(kk, traj, sys)  # noqa: E731
    g, hv = jax.jvp(jax.grad(phi), (k,), (v,))  # ∇Φ and ∇²Φ v: forward over reverse
    _, dlogp_v = jax.jvp(lambda kk: _score_sum(kk, traj, sys), (k,), (v,))  # ∇ log p(τ) · v
    return g * dlogp_v + hv
    # endregion: rl-harpg-hvp


class PGRun(NamedTuple):
    """Result of :func:`policy_gradient_run`; ``params`` is the final gain ``k_T``.

    Attributes:
      iterates: ``iterates[t] = k_t``, the gains, ``t = 0..T`` (``T + 1`` rows).
      trajectories: ``trajectories[t]``, the cumulative number of sampled trajectories.
    """

    iterates: jax.Array
    trajectories: jax.Array

    @property
    def params(self) -> jax.Array:
        """The final point: the last gain ``k_T`` (the last row of ``iterates``)."""
        return self.iterates[..., -1]


@functools.partial(jax.jit, static_argnames=("sys", "method", "num_steps"))
def _pg_run(key, k0, sys, method, num_steps, learning_rate, eta_power, learning_rate_power):
    dt = jnp.result_type(k0, float)
    k0 = jnp.asarray(k0, dt)

    def grad_est(key, k):
        traj = _rollout_one(key, k, sys)
        return jax.grad(_surrogate)(k, traj, sys)

    def sched(t):
        base = 2.0 / (t + 2.0)
        return learning_rate * base**learning_rate_power, base**eta_power

    keys = jax.random.split(key, num_steps + 1)
    d0 = grad_est(keys[0], k0)

    def normalized(d):
        return d / jnp.maximum(jnp.abs(d), 1e-30)

    if method == "reinforce":

        def step(c, xs):
            k, _ = c
            t, kt = xs
            lr, _ = sched(t)
            k_new = k + lr * grad_est(kt, k)
            return (k_new, None), k_new

        init = (k0, None)
    elif method == "n-pg-igt":

        def step(c, xs):
            k, d = c
            t, kt = xs
            lr, eta = sched(t)
            k_new = k + lr * normalized(d)
            k_tilde = k_new + (1 - eta) / eta * (k_new - k)
            d_new = (1 - eta) * d + eta * grad_est(kt, k_tilde)
            return (k_new, d_new), k_new

        init = (k0, d0)
    elif method == "n-harpg":

        def step(c, xs):
            k, d = c
            t, kt = xs
            lr, eta = sched(t)
            k_new = k + lr * normalized(d)
            kq, k1, k2 = jax.random.split(kt, 3)
            qq = jax.random.uniform(kq, (), dt)
            k_hat = qq * k_new + (1 - qq) * k
            traj_hat = _rollout_one(k2, k_hat, sys)
            v = _hvp(k_hat, k_new - k, traj_hat, sys)
            d_new = (1 - eta) * (d + v) + eta * grad_est(k1, k_new)
            return (k_new, d_new), k_new

        init = (k0, d0)
    else:  # pragma: no cover - checked by the caller
        raise ValueError(method)

    ts = jnp.arange(num_steps, dtype=dt)
    _, ks = jax.lax.scan(step, init, (ts, keys[1:]))
    per_iter = 2 if method == "n-harpg" else 1
    first = 0 if method == "reinforce" else 1
    n_traj = first + per_iter * jnp.arange(num_steps + 1)
    return PGRun(jnp.concatenate([k0[None], ks]), n_traj)


_PG_DEFAULTS = {"reinforce": (0.0, 1.0), "n-pg-igt": (0.8, 0.6), "n-harpg": (0.5, 0.5)}


def policy_gradient_run(
    sys: LQR,
    method: str,
    k0: float | Float[Array, ""],
    *,
    key: PRNGKeyArray,
    num_steps: int,
    learning_rate: Float[ArrayLike, ""],
    eta_power: float | None = None,
    learning_rate_power: float | None = None,
) -> PGRun:
    """Stochastic policy-gradient ascent on ``J(k)`` from one trajectory per gradient.

    ``method``:

    * ``"reinforce"``: ``k ← k + η_t g(τ_t, k)`` (GPOMDP estimate ``g = ∇Φ``, 1 trajectory/step);
    * ``"n-pg-igt"`` (normalized PG with implicit gradient transport):
      ``k_{t+1} = k_t + η_t d_t/|d_t|``, ``k̃ = k_{t+1} + (1 − β_t)/β_t (k_{t+1} − k_t)``,
      ``d_{t+1} = (1 − β_t) d_t + β_t g(τ, k̃)`` (1 trajectory/step);
    * ``"n-harpg"`` (normalized Hessian-aided recursive PG): ``k̂ = q k_{t+1} + (1 − q) k_t``,
      ``q ~ U[0, 1]``, ``d_{t+1} = (1 − β_t)(d_t + B(τ̂, k̂)(k_{t+1} − k_t)) + β_t g(τ, k_{t+1})``
      (2 trajectories/step; ``B v`` by :func:`hessian_vector_product`).

    Schedules ``η_t = learning_rate · (2/(t + 2))^learning_rate_power`` (the step size) and
    ``β_t = (2/(t + 2))^eta_power`` (the momentum weight of the two normalized methods; the
    parameter is named after the paper's ``η_t``; the chapter writes ``β_t`` because ``η``
    is the step size and ``γ`` the discount throughout the book).
    Defaults (``learning_rate_power``, ``eta_power``): REINFORCE ``(1, –)``, IGT ``(3/5, 4/5)``,
    HARPG ``(1/2, 1/2)``: polynomially decaying schedules in the spirit of the analysis of
    Fatkhullin et al. (2023), with exponents chosen by us on the chapter's LQR (not the
    paper's constants).

    Args:
      sys: an :class:`LQR` with a finite horizon (static).
      method: ``"reinforce"``, ``"n-pg-igt"`` or ``"n-harpg"`` (static).
      k0: initial gain, a finite scalar.
      key: a JAX PRNG key.
      num_steps: positive number of iterations (static).
      learning_rate: positive base step size (may be traced, e.g. ``vmap`` over a grid).
      eta_power, learning_rate_power: non-negative schedule exponents (defaults per method).

    Returns:
      :class:`PGRun`.

    Raises:
      TypeError: integer seed, ``sys`` not an LQR, non-numeric arguments.
      ValueError: unknown method, infinite horizon, non-positive ``learning_rate``,
        negative exponents, NaN/inf.
    """
    require_key("key", key)
    if not isinstance(method, str) or method not in _PG_DEFAULTS:
        raise ValueError(f"method must be one of {sorted(_PG_DEFAULTS)}, got {method!r}")
    _need_horizon(sys)
    require_int("num_steps", num_steps, minimum=1)
    k0 = as_float_array("k0", k0, ndim=0)
    dt = k0.dtype
    learning_rate = _as_scalar("learning_rate", learning_rate)
    require_positive("learning_rate", learning_rate)
    ep: ArrayLike
    sp: ArrayLike
    ep, sp = _PG_DEFAULTS[method]
    ep = ep if eta_power is None else eta_power
    sp = sp if learning_rate_power is None else learning_rate_power
    ep, sp = _as_scalar("eta_power", ep), _as_scalar("learning_rate_power", sp)
    require_nonnegative("eta_power", ep)
    require_nonnegative("learning_rate_power", sp)
    return _pg_run(key, k0, sys, method, num_steps, learning_rate.astype(dt), ep.astype(dt), sp.astype(dt))


class PolyakRun(NamedTuple):
    """Result of :func:`polyak_policy_gradient`; ``params`` is the final gain ``k_T``.

    Attributes:
      iterates: ``iterates[t] = k_t`` (``T + 1`` rows).
      learning_rates: the step sizes used, ``learning_rates[t]`` (``T`` entries).
      values: the returns ``values[t] = J(k_t)`` (``T + 1`` entries).
    """

    iterates: jax.Array
    learning_rates: jax.Array
    values: jax.Array

    @property
    def params(self) -> jax.Array:
        """The final point: the last gain ``k_T`` (the last row of ``iterates``)."""
        return self.iterates[..., -1]


def polyak_policy_gradient(
    k0: float | Float[Array, ""],
    sys: LQR,
    *,
    num_steps: int,
    j_star: Float[ArrayLike, ""],
    learning_rate: Float[ArrayLike, ""] | str = "polyak",
    max_learning_rate: Float[ArrayLike, ""] = np.inf,
) -> PolyakRun:
    """Exact policy-gradient ascent ``k ← k + γ_t ∇J(k)`` with the Polyak step size
    ``γ_t = min((J* − J(k_t))/|∇J(k_t)|², max_learning_rate)`` (Polyak 1987; for policy
    gradient, Li et al. 2024) when ``learning_rate="polyak"``, or a constant
    ``learning_rate`` when it is a number (for comparison). ``j_star`` may be an
    estimate; an overestimate makes the steps larger.

    Args:
      k0: initial gain, a finite scalar.
      sys: an :class:`LQR` (static).
      num_steps: positive number of iterations (static).
      j_star: the (estimated) optimal return, finite.
      learning_rate: ``"polyak"`` (the rule above), or a positive constant step size.
      max_learning_rate: positive cap on the Polyak step size (``inf`` allowed).

    Returns:
      :class:`PolyakRun`.

    Raises:
      TypeError: ``sys`` not an LQR, non-numeric arguments, non-integer ``num_steps``.
      ValueError: NaN/inf, non-positive ``max_learning_rate``/``learning_rate``, a rule
        name other than ``"polyak"``, ``num_steps < 1``.
    """
    _require_lqr(sys)
    require_int("num_steps", num_steps, minimum=1)
    k0 = as_float_array("k0", k0, ndim=0)
    j_star = _as_scalar("j_star", j_star)
    max_lr = as_float_array("max_learning_rate", max_learning_rate, ndim=0, finite=False)
    if is_concrete(max_lr) and (np.isnan(np.asarray(max_lr)) or not np.asarray(max_lr) > 0):
        raise ValueError(f"max_learning_rate must be positive (inf allowed), got {max_learning_rate!r}")
    use_polyak = isinstance(learning_rate, str)
    if use_polyak:
        if learning_rate != "polyak":
            raise ValueError(f"learning_rate must be 'polyak' or a positive number, got {learning_rate!r}")
    else:
        learning_rate = _as_scalar("learning_rate", learning_rate)
        require_positive("learning_rate", learning_rate)
    dt = k0.dtype
    return _polyak(
        k0,
        sys,
        num_steps,
        jnp.asarray(j_star, dt),
        jnp.asarray(max_lr, dt),
        jnp.asarray(0.0 if use_polyak else learning_rate, dt),
        use_polyak,
    )


@functools.partial(jax.jit, static_argnames=("sys", "num_steps", "use_polyak"))
def _polyak(k0, sys, num_steps, j_star, max_learning_rate, learning_rate, use_polyak):
    f = lambda kk: _lqr_return(kk, sys)  # noqa: E731
    vg = jax.value_and_grad(f)

    def step(k, _):
        J, g = vg(k)
        if use_polyak:
            eta = jnp.minimum((j_star - J) / jnp.maximum(g * g, jnp.finfo(g.dtype).tiny), max_learning_rate)
            eta = jnp.maximum(eta, 0.0)
        else:
            eta = learning_rate
        k_new = k + eta * g
        return k_new, (k_new, eta, J)

    kT, (ks, etas, Js) = jax.lax.scan(step, k0, None, length=num_steps)
    return PolyakRun(jnp.concatenate([k0[None], ks]), etas, jnp.concatenate([Js, f(kT)[None]]))
