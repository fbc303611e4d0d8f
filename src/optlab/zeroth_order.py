r"""Zeroth-order optimisation and gradient estimators.

Notation (chapter 14).  ``f: ℝᵈ → ℝ``, smoothing radius ``μ > 0``, ``m`` random
directions per estimate.

* Gaussian smoothing  ``f_μ(x) = E_u f(x + μu)``, ``u ~ N(0, I_d)``; the one-sided
  estimator ``ĝ = (1/m) Σ_j (f(x + μu_j) − f(x))/μ · u_j`` (``m + 1`` evaluations) and
  its central version ``(f(x + μu) − f(x − μu))/(2μ) · u`` (``2m`` evaluations) are
  unbiased for ``∇f_μ(x)`` (Nesterov & Spokoiny 2017).  On a linear ``f``,
  ``E‖ĝ‖² = (1 + (d + 1)/m) ‖∇f‖²``: the ``(d + 2)`` law for ``m = 1``.
* Two-point sphere estimator ``ĝ = d/(2μ) (f(x + μu) − f(x − μu)) u`` with ``u``
  uniform on the unit sphere, the estimator of Ren, Tang & Li (2023).
* Forward gradient ``ĝ = (∇f(x)·v) v``, ``v ~ N(0, I)``, one ``jax.jvp`` per direction
  (Baydin et al. 2022): unbiased for ``∇f(x)`` with the same ``(d + 2)`` second moment.
* Consensus-based optimisation (CBO, Riedl, Klock, Geldhauser & Fornasier 2023):
  particles drift to the Laplace-weighted consensus
  ``v_α = Σ_i x_i e^{−α f(x_i)} / Σ_i e^{−α f(x_i)}`` with noise ∝ ``x_i − v_α``.
* Discrete latent variables: REINFORCE (score function, Williams 1992),
  straight-through (Bengio et al. 2013; analysed by Liu et al. 2023) and ReinMax
  (Liu et al. 2023) estimators of ``∇_θ E_{z∼p_θ} f(z)`` for Bernoulli and categorical
  ``p_θ``, with exact enumeration as the reference.

Every estimator is a pure function ``(f, x, *, key, num_directions, smoothing) -> ĝ``
(``forward_gradient`` ignores the smoothing), so it can be ``vmap``-ed over keys.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from ._checks import (
    as_float_array,
    is_concrete,
    require_callable,
    require_int,
    require_key,
    require_nonnegative,
    require_positive,
)
from ._types import Array, Float, Int, PRNGKeyArray

__all__ = [
    "gaussian_smoothing_grad",
    "sphere_two_point_grad",
    "forward_gradient",
    "coordinate_grad",
    "ESTIMATORS",
    "evaluations_per_step",
    "ZOResult",
    "zo_descent",
    "rastrigin",
    "strict_saddle",
    "consensus_point",
    "CBOResult",
    "cbo",
    "bernoulli_expectation",
    "categorical_expectation",
    "reinforce_grad",
    "straight_through_grad",
    "reinmax_grad",
]


# ---------------------------------------------------------------------------
# validation helpers
# ---------------------------------------------------------------------------


def _check_point(f: Callable, x: Any, name: str = "x") -> jax.Array:
    """``x`` as a float 1-D array (lists / ints converted), ``f`` callable with a scalar output."""
    require_callable("f", f)
    x = as_float_array(name, x, ndim=1)
    if jnp.shape(x)[0] < 1:
        raise ValueError(f"{name} must have at least one coordinate, got shape {tuple(jnp.shape(x))}")
    try:
        out = jax.eval_shape(f, x)
    except (TypeError, ValueError) as err:
        raise ValueError(f"f cannot be evaluated at {name} of shape {tuple(x.shape)}: {err}") from None
    if tuple(getattr(out, "shape", (None,))) != ():
        raise ValueError(f"f must return a scalar, got output shape {getattr(out, 'shape', None)}")
    return x


def _check_directions(num_directions: int) -> None:
    require_int("num_directions", num_directions, minimum=1)


def _check_scalar(name: str, value: Any) -> None:
    """Refuse non-numeric values (TypeError) and arrays (ValueError) for a scalar argument."""
    if value is None or isinstance(value, (str, bytes)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    if is_concrete(value) and np.ndim(value) != 0:
        raise ValueError(f"{name} must be a scalar, got shape {np.shape(value)}")


def _check_smoothing(smoothing: Any) -> None:
    _check_scalar("smoothing", smoothing)
    require_positive("smoothing", smoothing)


def _dtype_scalar(value: Any, dtype) -> jax.Array:
    return jnp.asarray(value, dtype=dtype)


# ---------------------------------------------------------------------------
# gradient estimators
# ---------------------------------------------------------------------------


def gaussian_smoothing_grad(
    f: Callable,
    x: Float[Array, " d"],
    *,
    key: PRNGKeyArray,
    num_directions: int = 1,
    smoothing: float | Float[Array, ""] = 1e-3,
    central: bool = False,
) -> Float[Array, " d"]:
    r"""Gaussian-smoothing gradient estimate ``ĝ`` of ``∇f_μ(x)``, ``f_μ = E f(x + μu)``.

    One-sided: ``ĝ = (1/m) Σ_j (f(x + μu_j) − f(x))/μ · u_j`` (``m + 1`` evaluations);
    ``central=True``: ``(f(x + μu_j) − f(x − μu_j))/(2μ) · u_j`` (``2m`` evaluations).
    Both are unbiased for ``∇f_μ(x)`` (Nesterov & Spokoiny 2017).

    Args:
      f: scalar function of a ``(d,)`` array.
      x: ``(d,)`` point (lists and integer arrays are converted to float).
      key: a JAX PRNG key (``jax.random.key(seed)``); an integer seed is refused.
      num_directions: ``m ≥ 1``.
      smoothing: ``μ > 0`` (scalar, may be traced).
      central: two-sided differences.

    Returns:
      ``(d,)`` estimate ``ĝ``.

    Raises:
      TypeError: ``f`` not callable, ``key`` not a PRNG key, non-numeric ``x``.
      ValueError: wrong shapes, non-finite ``x``, ``m < 1`` or ``μ ≤ 0``.
    """
    x = _check_point(f, x)
    require_key("key", key)
    _check_directions(num_directions)
    _check_smoothing(smoothing)
    return _gaussian_core(f, num_directions, bool(central), x, key, _dtype_scalar(smoothing, x.dtype))


# region: zo-gaussian-core
@functools.partial(jax.jit, static_argnums=(0, 1, 2))
def _gaussian_core(f, num_directions, central, x, key, smoothing):
    u = jax.random.normal(key, (num_directions,) + x.shape, dtype=x.dtype)
    fp = jax.vmap(f)(x + smoothing * u)
    if central:
        fm = jax.vmap(f)(x - smoothing * u)
        coef = (fp - fm) / (2 * smoothing)
    else:
        coef = (fp - f(x)) / smoothing
    return jnp.mean(coef[:, None] * u, axis=0)


# endregion: zo-gaussian-core


def sphere_two_point_grad(
    f: Callable,
    x: Float[Array, " d"],
    *,
    key: PRNGKeyArray,
    num_directions: int = 1,
    smoothing: float | Float[Array, ""] = 1e-3,
) -> Float[Array, " d"]:
    r"""Two-point estimator with directions uniform on the unit sphere (``2m`` evaluations):
    ``ĝ = (1/m) Σ_j d/(2μ) (f(x + μu_j) − f(x − μu_j)) u_j``, unbiased for the gradient of
    the ball smoothing ``E_{w∼Unif(B)} f(x + μw)`` (Ren, Tang & Li 2023).

    Args:
      f: scalar function of a ``(d,)`` array.
      x: ``(d,)`` point (lists and integer arrays are converted to float).
      key: a JAX PRNG key (``jax.random.key(seed)``); an integer seed is refused.
      num_directions: ``m ≥ 1``.
      smoothing: ``μ > 0`` (scalar, may be traced).

    Returns:
      ``(d,)`` estimate ``ĝ``.

    Raises:
      TypeError: ``f`` not callable, ``key`` not a PRNG key, non-numeric ``x``.
      ValueError: ``x`` not a non-empty finite vector, ``f`` not returning a scalar at ``x``,
        ``m < 1`` or ``μ ≤ 0``.
    """
    x = _check_point(f, x)
    require_key("key", key)
    _check_directions(num_directions)
    _check_smoothing(smoothing)
    return _sphere_core(f, num_directions, x, key, _dtype_scalar(smoothing, x.dtype))


# region: zo-sphere-core
@functools.partial(jax.jit, static_argnums=(0, 1))
def _sphere_core(f, num_directions, x, key, smoothing):
    d = x.shape[0]
    u = jax.random.normal(key, (num_directions, d), dtype=x.dtype)
    u = u / jnp.linalg.norm(u, axis=1, keepdims=True)
    diff = jax.vmap(f)(x + smoothing * u) - jax.vmap(f)(x - smoothing * u)
    return jnp.mean((d * diff / (2 * smoothing))[:, None] * u, axis=0)


# endregion: zo-sphere-core


def forward_gradient(
    f: Callable, x: Float[Array, " d"], *, key: PRNGKeyArray, num_directions: int = 1, smoothing: Any = None
) -> Float[Array, " d"]:
    r"""Forward gradient ``ĝ = (1/m) Σ_j (∇f(x)·v_j) v_j``, ``v_j ∼ N(0, I)``: one
    ``jax.jvp`` (a forward-mode pass, no backpropagation) per direction; unbiased for
    ``∇f(x)`` (Baydin, Pearlmutter, Syme, Wood & Torr 2022).  ``smoothing`` is
    accepted for a uniform estimator signature and ignored (the derivative is exact).

    Args:
      f: scalar function of a ``(d,)`` array, JAX-differentiable.
      x: ``(d,)`` point (lists and integer arrays are converted to float).
      key: a JAX PRNG key (``jax.random.key(seed)``); an integer seed is refused.
      num_directions: ``m ≥ 1``.
      smoothing: ignored (not checked).

    Returns:
      ``(d,)`` estimate ``ĝ``.

    Raises:
      TypeError: ``f`` not callable, ``key`` not a PRNG key, non-numeric ``x``.
      ValueError: ``x`` not a non-empty finite vector, ``f`` not returning a scalar at ``x``,
        ``m < 1``.
    """
    x = _check_point(f, x)
    require_key("key", key)
    _check_directions(num_directions)
    return _forward_core(f, num_directions, x, key)


# region: zo-forward-core
@functools.partial(jax.jit, static_argnums=(0, 1))
def _forward_core(f, num_directions, x, key):
    v = jax.random.normal(key, (num_directions,) + x.shape, dtype=x.dtype)
    dirderiv = jax.vmap(lambda vi: jax.jvp(f, (x,), (vi,))[1])(v)
    return jnp.mean(dirderiv[:, None] * v, axis=0)


# endregion: zo-forward-core


def coordinate_grad(
    f: Callable,
    x: Float[Array, " d"],
    *,
    key: PRNGKeyArray | None = None,
    num_directions: int = 1,
    smoothing: float | Float[Array, ""] = 1e-3,
) -> Float[Array, " d"]:
    r"""Deterministic central differences along the ``d`` coordinate axes (``2d``
    evaluations): ``ĝ_i = (f(x + μe_i) − f(x − μe_i))/(2μ)``.  ``key`` and
    ``num_directions`` are ignored (uniform signature).

    Args:
      f: scalar function of a ``(d,)`` array.
      x: ``(d,)`` point (lists and integer arrays are converted to float).
      key: ignored, but checked to be a PRNG key when given (may be ``None``).
      num_directions: ignored (not checked).
      smoothing: ``μ > 0`` (scalar, may be traced).

    Returns:
      ``(d,)`` estimate ``ĝ``.

    Raises:
      TypeError: ``f`` not callable, ``key`` not a PRNG key, non-numeric ``x``.
      ValueError: ``x`` not a non-empty finite vector, ``f`` not returning a scalar at ``x``,
        ``μ ≤ 0``.
    """
    x = _check_point(f, x)
    if key is not None:
        require_key("key", key)
    _check_smoothing(smoothing)
    return _coordinate_core(f, x, _dtype_scalar(smoothing, x.dtype))


@functools.partial(jax.jit, static_argnums=(0,))
def _coordinate_core(f, x, smoothing):
    E = jnp.eye(x.shape[0], dtype=x.dtype) * smoothing
    return (jax.vmap(f)(x + E) - jax.vmap(f)(x - E)) / (2 * smoothing)


def _exact_grad(f, x, *, key=None, num_directions=1, smoothing=None):
    return jax.grad(f)(x)


# unvalidated cores with the uniform signature (f, x, key, m, mu), for use inside jit
_CORES = {
    "gaussian": lambda f, x, k, m, mu: _gaussian_core(f, m, False, x, k, mu),
    "central": lambda f, x, k, m, mu: _gaussian_core(f, m, True, x, k, mu),
    "sphere": lambda f, x, k, m, mu: _sphere_core(f, m, x, k, mu),
    "forward": lambda f, x, k, m, mu: _forward_core(f, m, x, k),
    "coordinate": lambda f, x, k, m, mu: _coordinate_core(f, x, mu),
    "exact": lambda f, x, k, m, mu: jax.grad(f)(x),
}


# the public estimators with the uniform signature ``(f, x, *, key, num_directions, smoothing)``
ESTIMATORS = {
    "gaussian": gaussian_smoothing_grad,
    "central": functools.partial(gaussian_smoothing_grad, central=True),
    "sphere": sphere_two_point_grad,
    "forward": forward_gradient,
    "coordinate": coordinate_grad,
    "exact": _exact_grad,
}


def evaluations_per_step(estimator: str, d: int, num_directions: int) -> int:
    """Oracle calls of one estimate: function values (a ``jvp`` counts as one
    forward-mode evaluation, ``"exact"`` as one gradient).

    Args:
      estimator: a key of :data:`ESTIMATORS`.
      d: the dimension (integer ``≥ 1``).
      num_directions: ``m ≥ 1``.

    Returns:
      the number of oracle calls (int).

    Raises:
      TypeError / ValueError: unknown estimator, non-integer or non-positive ``d`` / ``m``.
    """
    if not isinstance(estimator, str):
        raise TypeError(f"estimator must be a string, got {type(estimator).__name__}")
    require_int("d", d, minimum=1)
    _check_directions(num_directions)
    m = num_directions
    table = {
        "gaussian": m + 1,
        "central": 2 * m,
        "sphere": 2 * m,
        "forward": m,
        "coordinate": 2 * d,
        "exact": 1,
    }
    if estimator not in table:
        raise ValueError(f"estimator must be one of {sorted(table)}, got {estimator!r}")
    return table[estimator]


# ---------------------------------------------------------------------------
# zeroth-order descent
# ---------------------------------------------------------------------------


class ZOResult(NamedTuple):
    """Output of :func:`zo_descent`.

    Attributes:
      params: the final iterate ``x_T``, ``(d,)``.
      iterates: ``(T + 1, d)`` iterates ``x_0 … x_T``.
      values: ``f`` at the iterates, ``(T + 1,)``.
      evaluations: cumulative oracle calls after each step, ``(T + 1,)``.
    """

    params: Float[Array, " d"]
    iterates: Float[Array, "T+1 d"]
    values: Float[Array, " T+1"]
    evaluations: Int[Array, " T+1"]


def zo_descent(
    f: Callable,
    x0: Float[Array, " d"],
    *,
    key: PRNGKeyArray,
    learning_rate: Any,
    num_steps: int,
    estimator: str = "gaussian",
    num_directions: int = 1,
    smoothing: Any = 1e-3,
    perturbation: Any = 0.0,
) -> ZOResult:
    r"""Descent with a gradient estimator, inside ``lax.scan``:

    ``x_{k+1} = x_k − η (ĝ(x_k) + r ξ_k)``, ``ξ_k ∼ N(0, I_d/d)`` (so ``E‖rξ_k‖² = r²``).

    ``estimator`` is a key of :data:`ESTIMATORS` (``"exact"`` is plain gradient
    descent).  ``perturbation = r > 0`` adds the isotropic perturbation with which
    two-point methods provably escape strict saddles (Ren, Tang & Li 2023).
    ``learning_rate``, ``smoothing``, ``perturbation`` and ``key`` may be traced
    (``vmap`` over them); ``num_steps``, ``estimator`` and ``num_directions`` are static.
    The loop is compiled once per ``(f, estimator, num_directions, num_steps)`` and shape.

    Args:
      f: scalar function of a ``(d,)`` array.
      x0: ``(d,)`` start (lists and integer arrays are converted to float).
      key: a JAX PRNG key; an integer seed is refused.
      learning_rate: ``η > 0``.
      num_steps: ``T ≥ 1``.
      estimator: a key of :data:`ESTIMATORS`.
      num_directions: ``m ≥ 1``.
      smoothing: ``μ > 0`` (ignored by ``"forward"`` and ``"exact"``).
      perturbation: ``r ≥ 0``.

    Returns:
      :class:`ZOResult`.

    Raises:
      TypeError: ``f`` not callable, ``key`` not a PRNG key, non-numeric arguments.
      ValueError: unknown estimator, wrong shapes, non-finite ``x0``, invalid hyper-parameters.
    """
    if not isinstance(estimator, str) or estimator not in ESTIMATORS:
        raise ValueError(f"estimator must be one of {sorted(ESTIMATORS)}, got {estimator!r}")
    x0 = _check_point(f, x0, "x0")
    require_key("key", key)
    _check_scalar("learning_rate", learning_rate)
    require_positive("learning_rate", learning_rate)
    require_int("num_steps", num_steps, minimum=1)
    _check_directions(num_directions)
    if estimator not in ("forward", "exact"):
        _check_smoothing(smoothing)
    else:
        smoothing = 0.0 if smoothing is None else smoothing
        _check_scalar("smoothing", smoothing)
    _check_scalar("perturbation", perturbation)
    require_nonnegative("perturbation", perturbation)
    dt = x0.dtype
    return _zo_descent(
        f,
        estimator,
        num_directions,
        num_steps,
        x0,
        key,
        _dtype_scalar(learning_rate, dt),
        _dtype_scalar(smoothing, dt),
        _dtype_scalar(perturbation, dt),
    )


@functools.partial(jax.jit, static_argnums=(0, 1, 2, 3))
def _zo_descent(f, estimator, num_directions, num_steps, x0, key, learning_rate, smoothing, perturbation):
    est = _CORES[estimator]
    d = x0.shape[0]
    per_step = evaluations_per_step(estimator, d, num_directions)

    def step(x, k):
        k_est, k_noise = jax.random.split(k)
        g = est(f, x, k_est, num_directions, smoothing)
        xi = jax.random.normal(k_noise, x.shape, dtype=x.dtype) / jnp.sqrt(d).astype(x.dtype)
        x_new = x - learning_rate * (g + perturbation * xi)
        return x_new, (x_new, f(x_new))

    keys = jax.random.split(key, num_steps)
    xT, (xs, fs) = jax.lax.scan(step, x0, keys)
    iterates = jnp.concatenate([x0[None], xs])
    values = jnp.concatenate([jnp.reshape(f(x0), (1,)).astype(fs.dtype), fs])
    evals = per_step * jnp.arange(num_steps + 1)
    return ZOResult(xT, iterates, values, evals)


# ---------------------------------------------------------------------------
# test functions
# ---------------------------------------------------------------------------


def rastrigin(
    x: Float[Array, "*batch d"], shift: float | Float[ArrayLike, "*batch d"] = 0.0
) -> Float[Array, "*batch"]:
    r"""Rastrigin ``f(x) = 10d + Σ_i (y_i² − 10 cos(2π y_i))``, ``y = x − shift``;
    global minimum 0 at ``x = shift``, a local minimum near every other integer point.

    Args:
      x: ``(..., d)`` point(s), ``d ≥ 1``.
      shift: the minimiser (scalar or broadcastable to ``x``).

    Returns:
      ``f(x)`` (shape ``x.shape[:-1]``).

    Raises:
      TypeError / ValueError: non-numeric, 0-D or non-finite input.
    """
    x = as_float_array("x", x)
    shift = as_float_array("shift", shift)
    if jnp.ndim(x) < 1:
        raise ValueError(f"x must have at least one dimension, got shape {tuple(jnp.shape(x))}")
    y = x - shift
    return 10.0 * y.shape[-1] + jnp.sum(y**2 - 10.0 * jnp.cos(2 * jnp.pi * y), axis=-1)


def strict_saddle(x: Float[Array, " d"]) -> Float[Array, ""]:
    r"""``f(x) = ½Σ_{i<d} x_i² − ½x_d² + ¼x_d⁴``: a strict saddle at 0 (Hessian
    ``diag(1, …, 1, −1)``), minima ``f* = −¼`` at ``x = ±e_d``.

    Args:
      x: ``(d,)`` point, ``d ≥ 1``.

    Returns:
      the scalar ``f(x)``.

    Raises:
      TypeError / ValueError: non-numeric input, wrong number of dimensions, NaN/inf.
    """
    x = as_float_array("x", x, ndim=1)
    if jnp.shape(x)[0] < 1:
        raise ValueError("x must have at least one coordinate, got shape (0,)")
    return 0.5 * jnp.sum(x[:-1] ** 2) - 0.5 * x[-1] ** 2 + 0.25 * x[-1] ** 4


# ---------------------------------------------------------------------------
# consensus-based optimisation
# ---------------------------------------------------------------------------


def consensus_point(
    particles: Float[Array, "N d"], values: Float[Array, " N"], alpha: float | Float[Array, ""]
) -> Float[Array, " d"]:
    r"""Laplace-principle consensus ``v_α = Σ_i x_i w_i``, ``w = softmax(−α f(x_i))``
    (computed with the max shift, so large ``α`` does not underflow).

    Args:
      particles: ``(N, d)`` cloud, ``N ≥ 1``.
      values: ``(N,)`` values ``f(x_i)``.
      alpha: ``α ≥ 0`` (scalar).

    Returns:
      ``(d,)`` consensus point.

    Raises:
      TypeError / ValueError: non-numeric or non-finite input, mismatched shapes, ``α < 0``.
    """
    particles = as_float_array("particles", particles, ndim=2)
    values = as_float_array("values", values, ndim=1)
    if jnp.shape(particles)[0] < 1:
        raise ValueError("particles must contain at least one particle")
    if jnp.shape(values)[0] != jnp.shape(particles)[0]:
        raise ValueError(
            f"values must have one entry per particle, got {jnp.shape(values)[0]} "
            f"values for {jnp.shape(particles)[0]} particles"
        )
    _check_scalar("alpha", alpha)
    require_nonnegative("alpha", alpha)
    return _consensus(particles, values, alpha)


# region: zo-consensus
def _consensus(particles, values, alpha):
    w = jax.nn.softmax(-alpha * values)
    return jnp.matmul(w, particles, precision=jax.lax.Precision.HIGHEST)


# endregion: zo-consensus


class CBOResult(NamedTuple):
    """Output of :func:`cbo`. The method iterates on the particle cloud; its estimate of the
    minimiser is the last consensus point ``consensus[-1]``.

    Attributes:
      params: the final ``(N, d)`` particle cloud.
      consensus: ``(T + 1, d)`` consensus points ``v_α``.
      consensus_values: ``f`` at the consensus points, ``(T + 1,)``.
      iterates: ``(T/record_every + 1, N, d)`` particle clouds every ``record_every`` steps,
        the start included (only the initial and final clouds when ``record_every`` is
        ``None``).
      spread: ``(T + 1,)`` mean distance ``‖x_i − v_α‖`` of the particles to the consensus.
    """

    params: Float[Array, "N d"]
    consensus: Float[Array, "T+1 d"]
    consensus_values: Float[Array, " T+1"]
    iterates: jax.Array
    spread: Float[Array, " T+1"]


def cbo(
    f: Callable,
    particles: Float[Array, "N d"],
    *,
    key: PRNGKeyArray,
    alpha: Any = 50.0,
    drift: Any = 1.0,
    noise: Any = 0.7,
    dt: Any = 0.02,
    num_steps: int = 500,
    anisotropic: bool = True,
    record_every: int | None = None,
) -> CBOResult:
    r"""Consensus-based optimisation (Euler–Maruyama), inside ``lax.scan``:

    ``x_i ← x_i − λ dt (x_i − v_α) + σ √dt D_i ξ_i``,  ``ξ_i ∼ N(0, I)``,

    with ``D_i = diag(x_i − v_α)`` (anisotropic) or ``‖x_i − v_α‖ I`` (isotropic),
    ``λ = drift``, ``σ = noise`` (Riedl, Klock, Geldhauser & Fornasier 2023).  Only
    values of ``f`` are used.  ``particles``: ``(N, d)`` initial cloud.  Compiled once per
    ``(f, anisotropic, num_steps, record_every)`` and shape.

    Args:
      f: scalar function of a ``(d,)`` array.
      particles: ``(N, d)`` initial cloud (lists / integer arrays are converted).
      key: a JAX PRNG key; an integer seed is refused.
      alpha, drift, noise: ``≥ 0``; dt: ``> 0``.
      num_steps: ``T ≥ 1``; record_every: divides ``T`` (default ``T``).
      anisotropic: the noise model.

    Returns:
      :class:`CBOResult`.

    Raises:
      TypeError: ``f`` not callable, ``key`` not a PRNG key, non-numeric arguments.
      ValueError: wrong shapes, non-finite particles, invalid hyper-parameters.
    """
    require_callable("f", f)
    particles = as_float_array("particles", particles, ndim=2)
    if jnp.shape(particles)[0] < 1 or jnp.shape(particles)[1] < 1:
        raise ValueError(
            f"particles must have shape (N, d) with N, d >= 1, got {tuple(jnp.shape(particles))}"
        )
    require_key("key", key)
    for name, v in (("alpha", alpha), ("drift", drift), ("noise", noise)):
        _check_scalar(name, v)
        require_nonnegative(name, v)
    _check_scalar("dt", dt)
    require_positive("dt", dt)
    require_int("num_steps", num_steps, minimum=1)
    every = num_steps if record_every is None else record_every
    require_int("record_every", every, minimum=1)
    if num_steps % every:
        raise ValueError(f"record_every ({every}) must divide num_steps ({num_steps})")
    try:
        out = jax.eval_shape(jax.vmap(f), particles)
    except (TypeError, ValueError) as err:
        raise ValueError(
            f"f cannot be evaluated on the particles of shape {tuple(jnp.shape(particles))}: {err}"
        ) from None
    if tuple(out.shape) != (jnp.shape(particles)[0],):
        raise ValueError(f"f must return a scalar per particle, got output shape {tuple(out.shape)}")
    fdt = particles.dtype
    return _cbo(
        f,
        bool(anisotropic),
        num_steps,
        every,
        particles,
        key,
        *(_dtype_scalar(v, fdt) for v in (alpha, drift, noise, dt)),
    )


@functools.partial(jax.jit, static_argnums=(0, 1, 2, 3))
def _cbo(f, anisotropic, num_steps, every, particles, key, alpha, drift, noise, dt):
    fv = jax.vmap(f)

    def consensus(X):
        return _consensus(X, fv(X), alpha)

    # region: zo-cbo-step
    def step(X, k):
        v = consensus(X)
        diff = X - v
        xi = jax.random.normal(k, X.shape, dtype=X.dtype)
        scale = diff if anisotropic else jnp.linalg.norm(diff, axis=1, keepdims=True)
        X_new = X - drift * dt * diff + noise * jnp.sqrt(dt) * scale * xi
        v_new = consensus(X_new)
        return X_new, (v_new, jnp.mean(jnp.linalg.norm(X_new - v_new, axis=1)))

    # endregion: zo-cbo-step

    def chunk(X, ks):
        X, (vs, sp) = jax.lax.scan(step, X, ks)
        return X, (vs, sp, X)

    keys = jax.random.split(key, num_steps).reshape((num_steps // every, every) + key.shape)
    XT, (vs, sps, snaps) = jax.lax.scan(chunk, particles, keys)
    v0 = consensus(particles)
    vs = jnp.concatenate([v0[None], vs.reshape(-1, particles.shape[1])])
    spread = jnp.concatenate([jnp.mean(jnp.linalg.norm(particles - v0, axis=1))[None], sps.reshape(-1)])
    iterates = jnp.concatenate([particles[None], snaps])
    return CBOResult(XT, vs, fv(vs), iterates, spread)


# ---------------------------------------------------------------------------
# discrete latent variables: REINFORCE and straight-through
# ---------------------------------------------------------------------------

_DISTS = ("bernoulli", "categorical")


def _check_logits(f, logits, distribution):
    require_callable("f", f)
    if not isinstance(distribution, str) or distribution not in _DISTS:
        raise ValueError(f"distribution must be one of {_DISTS}, got {distribution!r}")
    logits = as_float_array("logits", logits, ndim=1)
    if logits.shape[0] < 1:
        raise ValueError("logits must have at least one entry, got shape (0,)")
    if distribution == "categorical" and logits.shape[0] < 2:
        raise ValueError(f"a categorical distribution needs at least 2 logits, got {logits.shape[0]}")
    return logits


def _check_discrete(f, logits, key, num_samples, distribution):
    """The arguments of a Monte Carlo gradient estimator over a discrete distribution
    (REINFORCE, straight-through, ReinMax): ``logits`` as :func:`_check_logits` returns them,
    after checking ``key`` and ``num_samples ≥ 1``."""
    logits = _check_logits(f, logits, distribution)
    require_key("key", key)
    require_int("num_samples", num_samples, minimum=1)
    return logits


def bernoulli_expectation(f: Callable, logits: Float[Array, " n"]) -> Float[Array, ""]:
    r"""Exact ``E f(z)`` for independent bits ``z_i ∼ Bernoulli(σ(θ_i))`` by enumerating
    all ``2ⁿ`` configurations (``n ≤ 16``); differentiable in ``logits``.

    Args:
      f: scalar function of an ``(n,)`` 0/1 vector.
      logits: ``(n,)`` logits ``θ`` (lists / ints converted).

    Returns:
      the scalar ``E f(z)``.

    Raises:
      TypeError / ValueError: ``f`` not callable, bad ``logits``, ``n > 16``.
    """
    logits = _check_logits(f, logits, "bernoulli")
    n = logits.shape[0]
    if n > 16:
        raise ValueError(f"enumeration needs at most 16 bits (logits of length n <= 16), got {n}")
    Z = jnp.asarray(list(itertools.product([0.0, 1.0], repeat=n)), dtype=logits.dtype)
    logp = Z @ jax.nn.log_sigmoid(logits) + (1 - Z) @ jax.nn.log_sigmoid(-logits)
    return jnp.sum(jnp.exp(logp) * jax.vmap(f)(Z))


def categorical_expectation(f: Callable, logits: Float[Array, " K"]) -> Float[Array, ""]:
    r"""Exact ``E f(z) = Σ_k softmax(θ)_k f(e_k)`` for a one-hot ``z`` over ``K`` classes.

    Args:
      f: scalar function of a ``(K,)`` one-hot vector.
      logits: ``(K,)`` logits, ``K ≥ 2``.

    Returns:
      the scalar ``E f(z)``.

    Raises:
      TypeError / ValueError: ``f`` not callable, bad ``logits``.
    """
    logits = _check_logits(f, logits, "categorical")
    K = logits.shape[0]
    return jnp.sum(jax.nn.softmax(logits) * jax.vmap(f)(jnp.eye(K, dtype=logits.dtype)))


def _sample(key, logits, num_samples, distribution):
    """Samples (``(S, n)`` bits or one-hot rows) and the mean ``p`` (``σ(θ)`` / ``softmax(θ)``)."""
    if distribution == "bernoulli":
        p = jax.nn.sigmoid(logits)
        z = jax.random.bernoulli(key, p, (num_samples,) + logits.shape).astype(logits.dtype)
    else:
        p = jax.nn.softmax(logits)
        idx = jax.random.categorical(key, logits, shape=(num_samples,))
        z = jax.nn.one_hot(idx, logits.shape[0], dtype=logits.dtype)
    return z, p


def reinforce_grad(
    f: Callable,
    logits: Float[Array, " n"],
    *,
    key: PRNGKeyArray,
    num_samples: int = 1,
    distribution: str = "bernoulli",
    baseline: str | Float[ArrayLike, ""] = "none",
) -> Float[Array, " n"]:
    r"""Score-function (REINFORCE) estimate of ``∇_θ E f(z)`` (Williams 1992):
    ``ĝ = (1/S) Σ_s (f(z_s) − b_s) ∇_θ log p_θ(z_s)`` with ``∇_θ log p_θ(z) = z − p``
    for both Bernoulli logits and softmax logits.

    ``baseline``: ``"none"``; ``"loo"`` (leave-one-out: ``b_s`` is the mean of the
    other samples' ``f``, still unbiased, needs ``num_samples ≥ 2``); or a number.

    Args:
      f: scalar function of a sample ``z``.
      logits: ``(n,)`` logits (lists / ints converted).
      key: a JAX PRNG key; an integer seed is refused.
      num_samples: ``S ≥ 1``.
      distribution: ``"bernoulli"`` or ``"categorical"``.
      baseline: ``"none"``, ``"loo"`` or a finite number.

    Returns:
      ``(n,)`` estimate.

    Raises:
      TypeError / ValueError: invalid ``f``, ``logits``, ``key``, ``num_samples``,
      ``distribution`` or ``baseline``.
    """
    logits = _check_discrete(f, logits, key, num_samples, distribution)
    if isinstance(baseline, str):
        if baseline not in ("none", "loo"):
            raise ValueError(f"baseline must be 'none', 'loo' or a number, got {baseline!r}")
        if baseline == "loo" and num_samples < 2:
            raise ValueError("the leave-one-out baseline needs num_samples >= 2")
    else:
        _check_scalar("baseline", baseline)
        baseline = as_float_array("baseline", baseline)
    z, p = _sample(key, logits, num_samples, distribution)
    fz = jax.vmap(f)(z)
    if isinstance(baseline, str) and baseline == "loo":
        b = (jnp.sum(fz) - fz) / (num_samples - 1)
    elif isinstance(baseline, str):
        b = 0.0
    else:
        b = baseline
    return jnp.mean((fz - b)[:, None] * (z - p), axis=0)


def straight_through_grad(
    f: Callable,
    logits: Float[Array, " n"],
    *,
    key: PRNGKeyArray,
    num_samples: int = 1,
    distribution: str = "bernoulli",
) -> Float[Array, " n"]:
    r"""Straight-through estimate (Bengio, Léonard & Courville 2013): the forward pass
    uses the hard sample ``z``, the backward pass treats ``z`` as its mean ``p``:
    ``z_ST = p + stop_gradient(z − p)`` and ``ĝ = ∇_θ (1/S) Σ_s f(z_ST,s)``, i.e.
    ``ĝ = (∂p/∂θ)ᵀ ∇f(z)``.  ``f`` must be differentiable on ℝⁿ / ℝᴷ.  Exact for ``f``
    affine in ``z``, biased otherwise: a first-order approximation (Liu et al. 2023).

    Args:
      f: differentiable scalar function of a sample ``z``.
      logits: ``(n,)`` logits (lists / ints converted).
      key: a JAX PRNG key; an integer seed is refused.
      num_samples: ``S ≥ 1``.
      distribution: ``"bernoulli"`` or ``"categorical"``.

    Returns:
      ``(n,)`` estimate.

    Raises:
      TypeError / ValueError: invalid ``f``, ``logits``, ``key``, ``num_samples`` or
      ``distribution``.
    """
    logits = _check_discrete(f, logits, key, num_samples, distribution)
    # region: zo-straight-through
    z, _ = _sample(key, logits, num_samples, distribution)
    z = jax.lax.stop_gradient(z)

    def surrogate(th):
        p = jax.nn.sigmoid(th) if distribution == "bernoulli" else jax.nn.softmax(th)
        z_st = p + jax.lax.stop_gradient(z - p)
        return jnp.mean(jax.vmap(f)(z_st))

    return jax.grad(surrogate)(logits)
    # endregion: zo-straight-through


def _reinmax_from_samples(f, logits, z, distribution, temperature):
    """ReinMax on given samples ``z`` (``(S, n)`` bits or one-hot rows): the mean over the
    samples of ``(2 J(π₁) − ½ J(π₀))ᵀ ∇f(z)`` (see :func:`reinmax_grad`)."""
    z = jax.lax.stop_gradient(z)

    # region: zo-reinmax
    def surrogate(th):
        if distribution == "bernoulli":
            p0 = jax.nn.sigmoid(th)
            p1 = 0.5 * (z + jax.nn.sigmoid(th / temperature))  # π₁ = (z + σ(θ/τ))/2
            tiny = jnp.finfo(p1.dtype).eps
            th1 = jax.scipy.special.logit(jnp.clip(p1, tiny, 1 - tiny))
            # value π₁, derivative σ'(θ₁) = π₁(1 − π₁): the slope of the chord's midpoint
            p1 = jax.nn.sigmoid(jax.lax.stop_gradient(th1 - th) + th)
        else:
            p0 = jax.nn.softmax(th)
            p1 = 0.5 * (z + jax.nn.softmax(th / temperature))
            log_p1 = jnp.log(jnp.maximum(p1, jnp.finfo(p1.dtype).tiny))
            # value π₁, Jacobian diag(π₁) − π₁π₁ᵀ
            p1 = jax.nn.softmax(jax.lax.stop_gradient(log_p1 - th) + th)
        p2 = 2.0 * p1 - 0.5 * p0  # Heun: 2·(midpoint slope) − ½·(slope at p₀)
        z_rm = p2 + jax.lax.stop_gradient(z - p2)  # forward value z, backward through π₂
        return jnp.mean(jax.vmap(f)(z_rm))

    return jax.grad(surrogate)(logits)
    # endregion: zo-reinmax


def reinmax_grad(
    f: Callable,
    logits: Float[Array, " n"],
    *,
    key: PRNGKeyArray,
    num_samples: int = 1,
    distribution: str = "bernoulli",
    temperature: float = 1.0,
) -> Float[Array, " n"]:
    r"""ReinMax estimate of ``∇_θ E f(z)`` (Liu, Liu, Gao, Chen & Li 2023, "Bridging
    Discrete and Backpropagation: Straight-Through and Beyond").

    Straight-through uses the derivative at the sample (a forward-Euler step); ReinMax uses
    Heun's method: with ``π₀ = p`` and ``π₁ = (z + p_τ)/2``, ``p_τ = σ(θ/τ)`` or
    ``softmax(θ/τ)``,
    ``ĝ = (2 J(π₁) − ½ J(π₀))ᵀ ∇f(z)`` where ``J(π) = diag(π(1 − π))`` (Bernoulli) or
    ``diag(π) − ππᵀ`` (categorical) is the derivative of ``σ`` / ``softmax`` written in
    terms of its output.  For ``τ = 1`` it is unbiased for every ``f`` quadratic in ``z``
    (chapter 14), where straight-through is unbiased only for affine ``f``.  The sampled
    ``z`` is the forward value, as in straight-through.

    Args:
      f: differentiable scalar function of a sample ``z``.
      logits: ``(n,)`` logits ``θ`` (lists / ints converted).
      key: a JAX PRNG key; an integer seed is refused.
      num_samples: ``S ≥ 1`` (the estimate is the mean over the samples).
      distribution: ``"bernoulli"`` or ``"categorical"``.
      temperature: ``τ > 0`` of the midpoint ``π₁`` (the authors recommend ``τ ≥ 1``;
        ``τ = 1`` gives the exactness for quadratic ``f``).

    Returns:
      ``(n,)`` estimate.

    Raises:
      TypeError / ValueError: invalid ``f``, ``logits``, ``key``, ``num_samples``,
      ``distribution`` or ``temperature``.
    """
    logits = _check_discrete(f, logits, key, num_samples, distribution)
    _check_scalar("temperature", temperature)
    require_positive("temperature", temperature)
    z, _ = _sample(key, logits, num_samples, distribution)
    return _reinmax_from_samples(f, logits, z, distribution, temperature)
