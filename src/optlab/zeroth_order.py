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
* Discrete latent variables: REINFORCE (score function, Williams 1992) and
  straight-through (Bengio et al. 2013; analysed by Liu et al. 2023) estimators of
  ``∇_θ E_{z∼p_θ} f(z)`` for Bernoulli and categorical ``p_θ``, with exact
  enumeration as the reference.

Every estimator is a pure function ``(f, x, key, num_directions, smoothing) -> ĝ``
(``forward_gradient`` has no smoothing), so it can be ``vmap``-ed over keys.
"""

from __future__ import annotations

import itertools
from typing import Any, Callable, NamedTuple, Optional, Union

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
)

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
]


# ---------------------------------------------------------------------------
# validation helpers
# ---------------------------------------------------------------------------

def _check_point(f: Callable, x: Any) -> jax.Array:
    if not callable(f):
        raise TypeError(f"f must be callable, got {type(f).__name__}")
    x = jnp.asarray(x) if is_concrete(x) else x
    require_ndim("x", x, 1)
    if not jnp.issubdtype(jnp.result_type(x), jnp.floating):
        raise TypeError(f"x must be a floating-point array, got dtype {jnp.result_type(x)}")
    require_finite("x", x)
    try:
        out = jax.eval_shape(f, x)
    except (TypeError, ValueError) as err:
        raise ValueError(f"f cannot be evaluated at x of shape {tuple(x.shape)}: {err}") from None
    if tuple(out.shape) != ():
        raise ValueError(f"f must return a scalar, got output shape {tuple(out.shape)}")
    return x


def _check_directions(num_directions: int) -> None:
    require_int("num_directions", num_directions, minimum=1)


def _check_smoothing(smoothing: Any) -> None:
    if is_concrete(smoothing) and np.ndim(smoothing) != 0:
        raise ValueError(f"smoothing must be a scalar, got shape {np.shape(smoothing)}")
    require_positive("smoothing", smoothing)


# ---------------------------------------------------------------------------
# gradient estimators
# ---------------------------------------------------------------------------

def gaussian_smoothing_grad(f: Callable, x: Any, key: jax.Array, num_directions: int = 1,
                            smoothing: Any = 1e-3, *, central: bool = False) -> jax.Array:
    r"""Gaussian-smoothing gradient estimate ``ĝ`` of ``∇f_μ(x)``, ``f_μ = E f(x + μu)``.

    One-sided: ``ĝ = (1/m) Σ_j (f(x + μu_j) − f(x))/μ · u_j`` (``m + 1`` evaluations);
    ``central=True``: ``(f(x + μu_j) − f(x − μu_j))/(2μ) · u_j`` (``2m`` evaluations).
    Both are unbiased for ``∇f_μ(x)`` (Nesterov & Spokoiny 2017).
    """
    x = _check_point(f, x)
    _check_directions(num_directions)
    _check_smoothing(smoothing)
    u = jax.random.normal(key, (num_directions,) + x.shape, dtype=x.dtype)
    fp = jax.vmap(f)(x + smoothing * u)
    if central:
        fm = jax.vmap(f)(x - smoothing * u)
        coef = (fp - fm) / (2 * smoothing)
    else:
        coef = (fp - f(x)) / smoothing
    return jnp.mean(coef[:, None] * u, axis=0)


def sphere_two_point_grad(f: Callable, x: Any, key: jax.Array, num_directions: int = 1,
                          smoothing: Any = 1e-3) -> jax.Array:
    r"""Two-point estimator with directions uniform on the unit sphere (``2m`` evaluations):
    ``ĝ = (1/m) Σ_j d/(2μ) (f(x + μu_j) − f(x − μu_j)) u_j``, unbiased for the gradient of
    the ball smoothing ``E_{w∼Unif(B)} f(x + μw)`` (Ren, Tang & Li 2023)."""
    x = _check_point(f, x)
    _check_directions(num_directions)
    _check_smoothing(smoothing)
    d = x.shape[0]
    u = jax.random.normal(key, (num_directions, d), dtype=x.dtype)
    u = u / jnp.linalg.norm(u, axis=1, keepdims=True)
    diff = jax.vmap(f)(x + smoothing * u) - jax.vmap(f)(x - smoothing * u)
    return jnp.mean((d * diff / (2 * smoothing))[:, None] * u, axis=0)


def forward_gradient(f: Callable, x: Any, key: jax.Array, num_directions: int = 1,
                     smoothing: Any = None) -> jax.Array:
    r"""Forward gradient ``ĝ = (1/m) Σ_j (∇f(x)·v_j) v_j``, ``v_j ∼ N(0, I)``: one
    ``jax.jvp`` (a forward-mode pass, no backpropagation) per direction; unbiased for
    ``∇f(x)`` (Baydin, Pearlmutter, Syme, Wood & Torr 2022).  ``smoothing`` is
    accepted for a uniform estimator signature and ignored (the derivative is exact)."""
    x = _check_point(f, x)
    _check_directions(num_directions)
    v = jax.random.normal(key, (num_directions,) + x.shape, dtype=x.dtype)
    dirderiv = jax.vmap(lambda vi: jax.jvp(f, (x,), (vi,))[1])(v)
    return jnp.mean(dirderiv[:, None] * v, axis=0)


def coordinate_grad(f: Callable, x: Any, key: Optional[jax.Array] = None, num_directions: int = 1,
                    smoothing: Any = 1e-3) -> jax.Array:
    r"""Deterministic central differences along the ``d`` coordinate axes (``2d``
    evaluations): ``ĝ_i = (f(x + μe_i) − f(x − μe_i))/(2μ)``.  ``key`` and
    ``num_directions`` are ignored (uniform signature)."""
    x = _check_point(f, x)
    _check_smoothing(smoothing)
    E = jnp.eye(x.shape[0], dtype=x.dtype) * smoothing
    return (jax.vmap(f)(x + E) - jax.vmap(f)(x - E)) / (2 * smoothing)


def _exact_grad(f, x, key=None, num_directions=1, smoothing=None):
    return jax.grad(f)(x)


ESTIMATORS = {
    "gaussian": gaussian_smoothing_grad,
    "central": lambda f, x, k, m, mu: gaussian_smoothing_grad(f, x, k, m, mu, central=True),
    "sphere": sphere_two_point_grad,
    "forward": forward_gradient,
    "coordinate": coordinate_grad,
    "exact": _exact_grad,
}


def evaluations_per_step(estimator: str, d: int, num_directions: int) -> int:
    """Oracle calls of one estimate: function values (a ``jvp`` counts as one
    forward-mode evaluation, ``"exact"`` as one gradient)."""
    m = num_directions
    table = {"gaussian": m + 1, "central": 2 * m, "sphere": 2 * m, "forward": m,
             "coordinate": 2 * d, "exact": 1}
    if estimator not in table:
        raise ValueError(f"estimator must be one of {sorted(table)}, got {estimator!r}")
    return table[estimator]


# ---------------------------------------------------------------------------
# zeroth-order descent
# ---------------------------------------------------------------------------

class ZOResult(NamedTuple):
    """Output of :func:`zo_descent`.

    ``x``: final iterate; ``path``: ``(T + 1, d)`` iterates; ``values``: ``f`` along the
    path; ``evaluations``: cumulative oracle calls after each step (``(T + 1,)``)."""

    x: jax.Array
    path: jax.Array
    values: jax.Array
    evaluations: jax.Array


def zo_descent(f: Callable, x0: Any, key: jax.Array, *, learning_rate: Any, num_steps: int,
               estimator: str = "gaussian", num_directions: int = 1, smoothing: Any = 1e-3,
               perturbation: Any = 0.0) -> ZOResult:
    r"""Descent with a gradient estimator, inside ``lax.scan``:

    ``x_{k+1} = x_k − η (ĝ(x_k) + r ξ_k)``, ``ξ_k ∼ N(0, I_d/d)`` (so ``E‖rξ_k‖² = r²``).

    ``estimator`` is a key of :data:`ESTIMATORS` (``"exact"`` is plain gradient
    descent).  ``perturbation = r > 0`` adds the isotropic perturbation with which
    two-point methods provably escape strict saddles (Ren, Tang & Li 2023).
    ``learning_rate``, ``smoothing``, ``perturbation`` and ``key`` may be traced
    (``vmap`` over them); ``num_steps``, ``estimator`` and ``num_directions`` are static.
    """
    if estimator not in ESTIMATORS:
        raise ValueError(f"estimator must be one of {sorted(ESTIMATORS)}, got {estimator!r}")
    x0 = _check_point(f, x0)
    require_positive("learning_rate", learning_rate)
    require_int("num_steps", num_steps, minimum=1)
    _check_directions(num_directions)
    if estimator not in ("forward", "exact"):
        _check_smoothing(smoothing)
    require_nonnegative("perturbation", perturbation)
    est = ESTIMATORS[estimator]
    d = x0.shape[0]
    per_step = evaluations_per_step(estimator, d, num_directions)

    def step(x, k):
        k_est, k_noise = jax.random.split(k)
        g = est(f, x, k_est, num_directions, smoothing)
        xi = jax.random.normal(k_noise, x.shape, dtype=x.dtype) / jnp.sqrt(d)
        x_new = x - learning_rate * (g + perturbation * xi)
        return x_new, (x_new, f(x_new))

    keys = jax.random.split(key, num_steps)
    xT, (xs, fs) = jax.lax.scan(step, x0, keys)
    path = jnp.concatenate([x0[None], xs])
    values = jnp.concatenate([jnp.reshape(f(x0), (1,)), fs])
    evals = per_step * jnp.arange(num_steps + 1)
    return ZOResult(xT, path, values, evals)


# ---------------------------------------------------------------------------
# test functions
# ---------------------------------------------------------------------------

def rastrigin(x: jax.Array, shift: Any = 0.0) -> jax.Array:
    r"""Rastrigin ``f(x) = 10d + Σ_i (y_i² − 10 cos(2π y_i))``, ``y = x − shift``;
    global minimum 0 at ``x = shift``, a local minimum near every other integer point."""
    y = x - shift
    return 10.0 * y.shape[-1] + jnp.sum(y**2 - 10.0 * jnp.cos(2 * jnp.pi * y), axis=-1)


def strict_saddle(x: jax.Array) -> jax.Array:
    r"""``f(x) = ½Σ_{i<d} x_i² − ½x_d² + ¼x_d⁴``: a strict saddle at 0 (Hessian
    ``diag(1, …, 1, −1)``), minima ``f* = −¼`` at ``x = ±e_d``."""
    return 0.5 * jnp.sum(x[:-1] ** 2) - 0.5 * x[-1] ** 2 + 0.25 * x[-1] ** 4


# ---------------------------------------------------------------------------
# consensus-based optimisation
# ---------------------------------------------------------------------------

def consensus_point(particles: jax.Array, values: jax.Array, alpha: Any) -> jax.Array:
    r"""Laplace-principle consensus ``v_α = Σ_i x_i w_i``, ``w = softmax(−α f(x_i))``
    (computed with the max shift, so large ``α`` does not underflow)."""
    require_ndim("particles", particles, 2)
    require_ndim("values", values, 1)
    if jnp.shape(values)[0] != jnp.shape(particles)[0]:
        raise ValueError(f"values must have one entry per particle, got {jnp.shape(values)[0]} "
                         f"values for {jnp.shape(particles)[0]} particles")
    require_nonnegative("alpha", alpha)
    w = jax.nn.softmax(-alpha * values)
    return w @ particles


class CBOResult(NamedTuple):
    """Output of :func:`cbo`.

    ``consensus``: ``(T + 1, d)`` consensus points; ``consensus_values``: ``f`` at them;
    ``snapshots``: ``(T/every + 1, N, d)`` particle clouds every ``snapshot_every``
    steps (only the initial and final clouds when ``snapshot_every`` is ``None``);
    ``particles``: the final cloud; ``spread``: ``(T + 1,)`` mean ``‖x_i − v_α‖``."""

    particles: jax.Array
    consensus: jax.Array
    consensus_values: jax.Array
    snapshots: jax.Array
    spread: jax.Array


def cbo(f: Callable, particles: Any, key: jax.Array, *, alpha: Any = 50.0, drift: Any = 1.0,
        noise: Any = 0.7, dt: Any = 0.02, num_steps: int = 500, anisotropic: bool = True,
        snapshot_every: Optional[int] = None) -> CBOResult:
    r"""Consensus-based optimisation (Euler–Maruyama), inside ``lax.scan``:

    ``x_i ← x_i − λ dt (x_i − v_α) + σ √dt D_i ξ_i``,  ``ξ_i ∼ N(0, I)``,

    with ``D_i = diag(x_i − v_α)`` (anisotropic) or ``‖x_i − v_α‖ I`` (isotropic),
    ``λ = drift``, ``σ = noise`` (Riedl, Klock, Geldhauser & Fornasier 2023).  Only
    values of ``f`` are used.  ``particles``: ``(N, d)`` initial cloud.
    """
    if not callable(f):
        raise TypeError(f"f must be callable, got {type(f).__name__}")
    particles = jnp.asarray(particles) if is_concrete(particles) else particles
    require_ndim("particles", particles, 2)
    require_finite("particles", particles)
    if jnp.shape(particles)[0] < 1:
        raise ValueError("particles must contain at least one particle")
    require_nonnegative("alpha", alpha)
    require_nonnegative("drift", drift)
    require_nonnegative("noise", noise)
    require_positive("dt", dt)
    require_int("num_steps", num_steps, minimum=1)
    every = num_steps if snapshot_every is None else snapshot_every
    require_int("snapshot_every", every, minimum=1)
    if num_steps % every:
        raise ValueError(f"snapshot_every ({every}) must divide num_steps ({num_steps})")
    fv = jax.vmap(f)

    def consensus(X):
        return consensus_point(X, fv(X), alpha)

    def step(X, k):
        v = consensus(X)
        diff = X - v
        xi = jax.random.normal(k, X.shape, dtype=X.dtype)
        scale = diff if anisotropic else jnp.linalg.norm(diff, axis=1, keepdims=True)
        X_new = X - drift * dt * diff + noise * jnp.sqrt(dt) * scale * xi
        v_new = consensus(X_new)
        return X_new, (v_new, jnp.mean(jnp.linalg.norm(X_new - v_new, axis=1)))

    def chunk(X, ks):
        X, (vs, sp) = jax.lax.scan(step, X, ks)
        return X, (vs, sp, X)

    keys = jax.random.split(key, num_steps).reshape((num_steps // every, every) + key.shape)
    XT, (vs, sps, snaps) = jax.lax.scan(chunk, particles, keys)
    v0 = consensus(particles)
    vs = jnp.concatenate([v0[None], vs.reshape(-1, particles.shape[1])])
    spread = jnp.concatenate([jnp.mean(jnp.linalg.norm(particles - v0, axis=1))[None],
                              sps.reshape(-1)])
    snapshots = jnp.concatenate([particles[None], snaps])
    return CBOResult(XT, vs, fv(vs), snapshots, spread)


# ---------------------------------------------------------------------------
# discrete latent variables: REINFORCE and straight-through
# ---------------------------------------------------------------------------

_DISTS = ("bernoulli", "categorical")


def _check_logits(f, logits, distribution):
    if not callable(f):
        raise TypeError(f"f must be callable, got {type(f).__name__}")
    if distribution not in _DISTS:
        raise ValueError(f"distribution must be one of {_DISTS}, got {distribution!r}")
    logits = jnp.asarray(logits) if is_concrete(logits) else logits
    require_ndim("logits", logits, 1)
    require_finite("logits", logits)
    if distribution == "categorical" and logits.shape[0] < 2:
        raise ValueError(f"a categorical distribution needs at least 2 logits, got {logits.shape[0]}")
    return logits


def bernoulli_expectation(f: Callable, logits: Any) -> jax.Array:
    r"""Exact ``E f(z)`` for independent bits ``z_i ∼ Bernoulli(σ(θ_i))`` by enumerating
    all ``2ⁿ`` configurations (``n ≤ 16``); differentiable in ``logits``."""
    logits = _check_logits(f, logits, "bernoulli")
    n = logits.shape[0]
    if n > 16:
        raise ValueError(f"enumeration needs at most 16 bits, got {n}")
    Z = jnp.asarray(list(itertools.product([0.0, 1.0], repeat=n)), dtype=logits.dtype)
    logp = Z @ jax.nn.log_sigmoid(logits) + (1 - Z) @ jax.nn.log_sigmoid(-logits)
    return jnp.sum(jnp.exp(logp) * jax.vmap(f)(Z))


def categorical_expectation(f: Callable, logits: Any) -> jax.Array:
    r"""Exact ``E f(z) = Σ_k softmax(θ)_k f(e_k)`` for a one-hot ``z`` over ``K`` classes."""
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


def reinforce_grad(f: Callable, logits: Any, key: jax.Array, num_samples: int = 1, *,
                   distribution: str = "bernoulli",
                   baseline: Union[str, float] = "none") -> jax.Array:
    r"""Score-function (REINFORCE) estimate of ``∇_θ E f(z)`` (Williams 1992):
    ``ĝ = (1/S) Σ_s (f(z_s) − b_s) ∇_θ log p_θ(z_s)`` with ``∇_θ log p_θ(z) = z − p``
    for both Bernoulli logits and softmax logits.

    ``baseline``: ``"none"``; ``"loo"`` (leave-one-out: ``b_s`` is the mean of the
    other samples' ``f``, still unbiased, needs ``num_samples ≥ 2``); or a number.
    """
    logits = _check_logits(f, logits, distribution)
    require_int("num_samples", num_samples, minimum=1)
    if isinstance(baseline, str):
        if baseline not in ("none", "loo"):
            raise ValueError(f"baseline must be 'none', 'loo' or a number, got {baseline!r}")
        if baseline == "loo" and num_samples < 2:
            raise ValueError("the leave-one-out baseline needs num_samples >= 2")
    else:
        require_finite("baseline", jnp.asarray(baseline, dtype=float))
    z, p = _sample(key, logits, num_samples, distribution)
    fz = jax.vmap(f)(z)
    if baseline == "loo":
        b = (jnp.sum(fz) - fz) / (num_samples - 1)
    elif baseline == "none":
        b = 0.0
    else:
        b = baseline
    return jnp.mean((fz - b)[:, None] * (z - p), axis=0)


def straight_through_grad(f: Callable, logits: Any, key: jax.Array, num_samples: int = 1, *,
                          distribution: str = "bernoulli") -> jax.Array:
    r"""Straight-through estimate (Bengio, Léonard & Courville 2013): the forward pass
    uses the hard sample ``z``, the backward pass treats ``z`` as its mean ``p``:
    ``z_ST = p + stop_gradient(z − p)`` and ``ĝ = ∇_θ (1/S) Σ_s f(z_ST,s)``, i.e.
    ``ĝ = (∂p/∂θ)ᵀ ∇f(z)``.  ``f`` must be differentiable on ℝⁿ / ℝᴷ.  Exact for ``f``
    affine in ``z``, biased otherwise: a first-order approximation (Liu et al. 2023)."""
    logits = _check_logits(f, logits, distribution)
    require_int("num_samples", num_samples, minimum=1)
    z, _ = _sample(key, logits, num_samples, distribution)
    z = jax.lax.stop_gradient(z)

    def surrogate(th):
        p = jax.nn.sigmoid(th) if distribution == "bernoulli" else jax.nn.softmax(th)
        z_st = p + jax.lax.stop_gradient(z - p)
        return jnp.mean(jax.vmap(f)(z_st))

    return jax.grad(surrogate)(logits)
