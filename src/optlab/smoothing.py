"""Randomized smoothing certificates and a minimal-adversarial-radius attack (chapter 8).

The smoothed classifier g(x) = argmax_c P(f(x + δ) = c), δ ~ N(0, σ²I), is certified
at x with radius R = σ Φ^{-1}(p̲_A) whenever a lower confidence bound p̲_A on the
top-class probability exceeds 1/2 (Cohen et al., 2019). The same holds for the
soft smoothed classifier E[softmax(f(x + δ)/τ)] (Salman et al., 2019), whose
class probabilities are means of [0, 1]-valued variables; there Hoeffding or
empirical-Bernstein bounds replace Clopper–Pearson (Delattre et al., 2024,
*The Lipschitz-Variance-Margin Tradeoff for Enhanced Randomized Smoothing*).

The confidence bounds run in NumPy/SciPy (float64) on concrete values; the
Monte-Carlo sampling of :func:`certify` and the attack of
:func:`min_adversarial_radius` are compiled once per classifier, input shape and
static configuration (module-level ``jax.jit`` with ``logits_fn`` a static argument),
so calling them again with new data of the same shape does not recompile.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from scipy import stats

from ._checks import (
    as_float_array,
    require_callable,
    require_in_range,
    require_int,
    require_key,
    require_nonnegative,
    require_positive,
)
from ._types import Array, ArrayLike, Float, Int, PRNGKeyArray, Shaped

__all__ = [
    "clopper_pearson_lower",
    "hoeffding_lower",
    "empirical_bernstein_lower",
    "smoothed_radius",
    "Certificate",
    "certify",
    "certified_accuracy",
    "min_adversarial_radius",
]


# ----------------------------------------------------------------------------- checks


def _check_alpha(alpha: Any) -> None:
    _require_scalar("alpha", alpha)
    require_in_range("alpha", alpha, 0.0, 1.0, low_inclusive=False, high_inclusive=False)


def _require_scalar(name: str, value: Any) -> None:
    """A real number (Python, NumPy or 0-d array); refuse strings, None, arrays."""
    as_float_array(name, value, ndim=0, finite=False)


def _host(name: str, x: Any) -> np.ndarray:
    """``x`` as a float64 NumPy array for the SciPy bounds: numeric, finite, non-empty, concrete."""
    if isinstance(x, jax.core.Tracer):
        raise TypeError(
            f"{name} must be a concrete array: the confidence bounds run in NumPy/SciPy, "
            "not under jit/vmap/grad"
        )
    as_float_array(name, x)  # type (TypeError) and NaN/inf (ValueError) checks
    arr = np.asarray(jax.device_get(x), dtype=np.float64)
    if arr.size == 0:
        raise ValueError(f"{name} must be non-empty, got shape {arr.shape}")
    return arr


def _broadcast(**arrays: np.ndarray) -> None:
    try:
        np.broadcast_shapes(*(a.shape for a in arrays.values()))
    except ValueError as err:
        shapes = ", ".join(f"{k} {v.shape}" for k, v in arrays.items())
        raise ValueError(f"{' and '.join(arrays)} must have broadcastable shapes, got {shapes}") from err


# ----------------------------------------------------------------------------- bounds


def clopper_pearson_lower(
    k: Int[ArrayLike, "*shape"], n: Int[ArrayLike, "*shape"], alpha: float
) -> Float[np.ndarray, "*shape"]:
    """One-sided (1 − α) Clopper–Pearson lower bound on a binomial p from k successes
    in n trials: the α-quantile of Beta(k, n − k + 1) (0 when k = 0).

    Args:
      k: success counts, integers with 0 <= k <= n (scalar or array).
      n: numbers of trials, integers >= 1 (broadcast against ``k``).
      alpha: failure probability in (0, 1).

    Returns:
      The lower bounds, a float64 NumPy array of the broadcast shape.

    Raises:
      TypeError: a non-numeric or traced argument.
      ValueError: ``k`` or ``n`` not integer-valued, out of range or empty; ``alpha`` outside (0, 1).
    """
    _check_alpha(alpha)
    k = _host("k", k)
    n = _host("n", n)
    _broadcast(k=k, n=n)
    if np.any(n < 1) or np.any(n != np.floor(n)):
        raise ValueError(f"n must be integers >= 1, got n={n!r}")
    if np.any(k < 0) or np.any(k > n) or np.any(k != np.floor(k)):
        raise ValueError(f"k must be integers with 0 <= k <= n, got k={k!r}, n={n!r}")
    kk = np.maximum(k, 1)  # avoid Beta(0, ·); masked below
    return np.where(k == 0, 0.0, stats.beta.ppf(alpha, kk, n - k + 1))


def hoeffding_lower(
    mean: Float[ArrayLike, "*shape"], n: Int[ArrayLike, "*shape"], alpha: float
) -> Float[np.ndarray, "*shape"]:
    """(1 − α) lower bound on E[X] for X ∈ [0, 1] from n i.i.d. samples:
    mean − √(log(1/α) / (2n)).

    Args:
      mean: sample means in [0, 1].
      n: sample sizes, >= 1 (broadcast against ``mean``).
      alpha: failure probability in (0, 1).

    Returns:
      The lower bounds (float64 NumPy array).

    Raises:
      TypeError: a non-numeric or traced argument.
      ValueError: ``mean`` outside [0, 1], ``n`` < 1, empty input, ``alpha`` outside (0, 1).
    """
    _check_alpha(alpha)
    mean = _host("mean", mean)
    n = _host("n", n)
    _broadcast(mean=mean, n=n)
    require_in_range("mean", mean, 0.0, 1.0)
    if np.any(n < 1):
        raise ValueError(f"n must be at least 1, got n={n!r}")
    return mean - np.sqrt(np.log(1.0 / alpha) / (2.0 * n))


def empirical_bernstein_lower(
    mean: Float[ArrayLike, "*shape"],
    var: Float[ArrayLike, "*shape"],
    n: Int[ArrayLike, "*shape"],
    alpha: float,
) -> Float[np.ndarray, "*shape"]:
    """(1 − α) empirical-Bernstein lower bound (Maurer & Pontil, 2009, Thm 4) on E[X]
    for X ∈ [0, 1]: mean − √(2 V log(2/α) / n) − 7 log(2/α) / (3(n − 1)), with V the
    unbiased sample variance. Tighter than Hoeffding when V ≪ 1/4.

    Args:
      mean: sample means in [0, 1].
      var: unbiased sample variances, >= 0.
      n: sample sizes, >= 2.
      alpha: failure probability in (0, 1).

    Returns:
      The lower bounds (float64 NumPy array of the broadcast shape).

    Raises:
      TypeError: a non-numeric or traced argument.
      ValueError: an argument out of range, empty or of incompatible shape.
    """
    _check_alpha(alpha)
    mean = _host("mean", mean)
    var = _host("var", var)
    n = _host("n", n)
    _broadcast(mean=mean, var=var, n=n)
    require_in_range("mean", mean, 0.0, 1.0)
    require_nonnegative("var", var)
    if np.any(n < 2):
        raise ValueError(f"n must be at least 2 for the empirical Bernstein bound, got {n!r}")
    # region: smoothing-bernstein
    lg = np.log(2.0 / alpha)
    return mean - np.sqrt(2.0 * var * lg / n) - 7.0 * lg / (3.0 * (n - 1.0))
    # endregion: smoothing-bernstein


def smoothed_radius(
    p_lower: Float[ArrayLike, "*shape"], sigma: float | Float[Array, ""]
) -> Float[np.ndarray, "*shape"]:
    """Certified ℓ2 radius σ Φ^{-1}(p̲_A) where p̲_A > 1/2, else 0 (abstain).

    Args:
      p_lower: lower bounds p̲_A in [0, 1].
      sigma: noise level σ > 0 (scalar).

    Returns:
      The radii (float64 NumPy array, 0 where abstaining).

    Raises:
      TypeError: a non-numeric argument.
      ValueError: ``p_lower`` outside [0, 1] or empty, ``sigma`` not positive.
    """
    _require_scalar("sigma", sigma)
    require_positive("sigma", sigma)
    p = _host("p_lower", p_lower)
    require_in_range("p_lower", p, 0.0, 1.0)
    with np.errstate(divide="ignore"):
        r = float(sigma) * stats.norm.ppf(p)
    return np.where(p > 0.5, r, 0.0)


class Certificate(NamedTuple):
    """Randomized-smoothing certificates, one entry per input point.

    Attributes:
      prediction: the predicted class (−1 = abstain).
      radius: the certified ℓ2 radius (0 when abstaining).
      p_lower: the lower confidence bound ``p̲_A`` on the top-class probability.
      p_hat: the estimated mean ``p̂_A`` of the ``n`` votes for the top class (hard votes or
        softmax scores, by ``method``).
      var: the sample variance of those votes (``ddof = 1``).
    """

    prediction: np.ndarray
    radius: np.ndarray
    p_lower: np.ndarray
    p_hat: np.ndarray
    var: np.ndarray


METHODS = ("clopper_pearson", "hoeffding", "bernstein")


@partial(jax.jit, static_argnames=("logits_fn", "m"))
def _noisy_logits(logits_fn: Callable, X: jax.Array, sigma: jax.Array, key: jax.Array, m: int):
    """logits_fn(x_b + σ ε_{b,j}) for ε ~ N(0, I), shape (B, m, classes); one compile per
    (logits_fn, X.shape, m)."""
    B, d = X.shape
    noise = sigma.astype(X.dtype) * jax.random.normal(key, (B, m, d), dtype=X.dtype)
    return jax.vmap(jax.vmap(logits_fn))(X[:, None, :] + noise)


def _check_logits_fn(logits_fn: Callable, X: jax.Array) -> int:
    """Check that ``logits_fn`` maps one (d,) input to a 1-D vector of >= 2 logits; return its length."""
    require_callable("logits_fn", logits_fn)
    try:
        out = jax.eval_shape(logits_fn, jax.ShapeDtypeStruct(X.shape[1:], X.dtype))
    except Exception as err:  # noqa: BLE001 - re-raised with the argument's name
        raise TypeError(
            f"logits_fn must map one input of shape {X.shape[1:]} to class logits; "
            f"calling it failed: {type(err).__name__}: {err}"
        ) from err
    shape = getattr(out, "shape", None)
    if shape is None or len(shape) != 1 or shape[0] < 2:
        raise ValueError(
            f"logits_fn must return a 1-D vector of at least 2 class logits, "
            f"got {getattr(out, 'shape', type(out).__name__)}"
        )
    if not jnp.issubdtype(out.dtype, jnp.floating):
        raise TypeError(f"logits_fn must return floating logits, got dtype {out.dtype}")
    return int(shape[0])


def _check_inputs(X: Any) -> jax.Array:
    X = as_float_array("X", X, ndim=2)
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"X must be a non-empty (B, d) batch of inputs, got shape {X.shape}")
    return X


def certify(
    logits_fn: Callable,
    X: Float[Array, "B d"],
    sigma: float,
    *,
    key: PRNGKeyArray,
    n0: int = 64,
    n: int = 1000,
    alpha: float = 0.001,
    method: str = "clopper_pearson",
    temperature: float = 1.0,
) -> Certificate:
    """CERTIFY (Cohen et al., 2019) for a batch of inputs X (B, d).

    ``logits_fn`` maps (d,) to class logits. n0 noisy samples pick the candidate class
    A, then n fresh samples bound p_A: hard votes 1[argmax = A] with Clopper–Pearson,
    or soft scores softmax(logits/τ)_A with Hoeffding / empirical Bernstein.
    The sampling is compiled once per (``logits_fn``, X.shape, n0, n): pass the same
    function object to reuse the compiled code; ``sigma`` and ``key`` are traced.

    Args:
      logits_fn: a JAX-traceable map from one input (d,) to class logits (C,), C >= 2.
      X: inputs, shape (B, d), finite; lists and integer arrays are converted.
      sigma: noise level σ > 0.
      key: a JAX PRNG key (``jax.random.key(seed)``).
      n0: samples used to pick the candidate class, >= 1.
      n: samples used to bound p_A, >= 2.
      alpha: failure probability in (0, 1).
      method: one of ``METHODS``.
      temperature: softmax temperature τ > 0 of the soft methods.

    Returns:
      A :class:`Certificate` of NumPy arrays of length B.

    Raises:
      TypeError: ``logits_fn`` not callable (or failing on one input), ``key`` not a PRNG
        key (e.g. an integer seed), a non-numeric argument.
      ValueError: an argument out of range, of the wrong shape, or non-finite.
    """
    X = _check_inputs(X)
    _require_scalar("sigma", sigma)
    require_positive("sigma", sigma)
    require_key("key", key)
    require_int("n0", n0, minimum=1)
    require_int("n", n, minimum=2)
    _check_alpha(alpha)
    _require_scalar("temperature", temperature)
    require_positive("temperature", temperature)
    if not isinstance(method, str) or method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    _check_logits_fn(logits_fn, X)
    sigma_arr = jnp.asarray(sigma, X.dtype)
    k0, k1 = jax.random.split(key)
    logits0 = _noisy_logits(logits_fn, X, sigma_arr, k0, n0)
    ncls = logits0.shape[-1]
    counts0 = jnp.sum(jax.nn.one_hot(jnp.argmax(logits0, -1), ncls), axis=1)
    if method == "clopper_pearson":
        top = np.asarray(jnp.argmax(counts0, -1))
    else:
        top = np.asarray(jnp.argmax(jnp.mean(jax.nn.softmax(logits0 / temperature, -1), 1), -1))
    logits = _noisy_logits(logits_fn, X, sigma_arr, k1, n)
    if method == "clopper_pearson":
        votes = np.asarray(jnp.argmax(logits, -1) == top[:, None], dtype=float)
    else:
        probs = np.asarray(jax.nn.softmax(logits / temperature, -1), dtype=np.float64)
        votes = np.take_along_axis(probs, top[:, None, None], -1)[..., 0]
    p_hat = votes.mean(1)
    var = votes.var(1, ddof=1)
    if method == "clopper_pearson":
        p_low = clopper_pearson_lower(np.round(votes.sum(1)).astype(int), n, alpha)
    elif method == "hoeffding":
        p_low = hoeffding_lower(np.clip(p_hat, 0, 1), n, alpha)
    else:
        p_low = empirical_bernstein_lower(np.clip(p_hat, 0, 1), var, n, alpha)
    radius = smoothed_radius(np.clip(p_low, 0.0, 1.0), sigma)
    pred = np.where(p_low > 0.5, top, -1)
    return Certificate(pred, radius, np.asarray(p_low), p_hat, var)


def certified_accuracy(
    radii: Float[ArrayLike, " B"], correct: Shaped[ArrayLike, " B"], grid: Float[ArrayLike, " G"]
) -> Float[np.ndarray, " G"]:
    """Fraction of points that are correct and certified at radius ≥ r, for each r in
    ``grid`` (radii ≥ 0; a point with radius exactly r counts).

    Args:
      radii: certified radii, a non-empty 1-D array of finite values >= 0.
      correct: booleans (or 0/1) of the same shape: is the point's prediction right?
      grid: radii r >= 0 at which to evaluate, 1-D.

    Returns:
      A float64 NumPy array of the length of ``grid``.

    Raises:
      TypeError: a non-numeric argument.
      ValueError: negative or non-finite radii or grid, ``correct`` not 0/1, mismatched shapes.
    """
    radii = _host("radii", radii)
    correct_f = _host("correct", correct)
    grid = np.atleast_1d(_host("grid", grid))
    if radii.ndim != 1:
        raise ValueError(f"radii must be a 1-D array, got shape {radii.shape}")
    if grid.ndim != 1:
        raise ValueError(f"grid must be a 1-D array, got shape {grid.shape}")
    require_nonnegative("radii", radii)
    require_nonnegative("grid (radius)", grid)
    if radii.shape != correct_f.shape:
        raise ValueError(
            f"radii and correct must have the same shape, got {radii.shape} and {correct_f.shape}"
        )
    if not np.all((correct_f == 0) | (correct_f == 1)):
        raise ValueError("correct must hold booleans (or 0/1)")
    correct_b = correct_f.astype(bool)
    return np.mean(correct_b[None, :] & (radii[None, :] >= grid[:, None]), axis=1)


def _margin(logits_fn, x, y):
    z = logits_fn(x)
    other = jnp.max(jnp.where(jnp.arange(z.shape[0]) == y, -jnp.inf, z))
    return other - z[y]


@partial(jax.jit, static_argnames=("logits_fn", "pgd_num_steps", "num_restarts"))
def _attack_all(logits_fn, X, labels, r, key, pgd_num_steps: int, num_restarts: int):
    """For each point: does PGD (with restarts) inside the ℓ2 ball of radius r_b find a
    positive margin?  One compile per (logits_fn, X.shape, pgd_num_steps, num_restarts)."""
    d = X.shape[1]

    def attack(x, y, r):
        starts = jax.random.normal(key, (num_restarts, d), dtype=X.dtype)
        starts = r * starts / jnp.linalg.norm(starts, axis=1, keepdims=True) * 0.5

        def one(delta):
            def step(delta, _):
                g = jax.grad(lambda dd: _margin(logits_fn, x + dd, y))(delta)
                delta = delta + (2.5 * r / pgd_num_steps) * g / (jnp.linalg.norm(g) + 1e-12)
                nrm = jnp.linalg.norm(delta)
                delta = delta * jnp.minimum(1.0, r / (nrm + 1e-30))
                return delta, _margin(logits_fn, x + delta, y)

            _, ms = jax.lax.scan(step, delta, None, length=pgd_num_steps)
            return jnp.max(ms)

        return jnp.max(jax.vmap(one)(starts)) > 0

    return jax.vmap(attack)(X, labels, r)


def min_adversarial_radius(
    logits_fn: Callable,
    X: Float[Array, "B d"],
    labels: Int[Array, " B"],
    *,
    r_max: float,
    num_bisect: int = 12,
    pgd_num_steps: int = 40,
    num_restarts: int = 8,
    key: PRNGKeyArray,
) -> Float[np.ndarray, " B"]:
    """An attack: the smallest ℓ2 radius (≤ r_max) at which projected gradient ascent
    on the margin max_{c≠y} f_c − f_y finds a misclassified point, searched by bisection
    (∞ if none is found at r_max). Every returned radius comes with a verified
    adversarial point, so it is an UPPER bound on the true minimal adversarial radius.

    Args:
      logits_fn: a JAX-traceable map from one input (d,) to class logits (C,), C >= 2.
      X: inputs, shape (B, d), finite.
      labels: integer class labels in [0, C), shape (B,).
      r_max: largest radius searched, > 0.
      num_bisect: bisection steps, >= 1.
      pgd_num_steps: PGD steps per attack, >= 1.
      num_restarts: random starts per attack, >= 1.
      key: a JAX PRNG key.

    Returns:
      A float64 NumPy array of length B (``inf`` where no attack succeeded at ``r_max``).

    Raises:
      TypeError: ``logits_fn`` not callable, ``key`` not a PRNG key, non-integer labels.
      ValueError: an argument out of range or of the wrong shape.
    """
    X = _check_inputs(X)
    ncls = _check_logits_fn(logits_fn, X)
    if isinstance(labels, jax.core.Tracer):
        raise TypeError("labels must be concrete (the bisection runs in Python)")
    lab = _host("labels", labels)
    if lab.shape != (X.shape[0],):
        raise ValueError(f"labels must have shape ({X.shape[0]},) (one per row of X), got {lab.shape}")
    if np.any(lab != np.floor(lab)) or np.any(lab < 0) or np.any(lab >= ncls):
        raise ValueError(f"labels must be integers in [0, {ncls}), got {labels!r}")
    _require_scalar("r_max", r_max)
    require_positive("r_max", r_max)
    require_int("num_bisect", num_bisect, minimum=1)
    require_int("pgd_num_steps", pgd_num_steps, minimum=1)
    require_int("num_restarts", num_restarts, minimum=1)
    require_key("key", key)
    B = X.shape[0]
    labels = jnp.asarray(lab.astype(np.int32))
    hi = np.full(B, float(r_max))
    lo = np.zeros(B)
    keys = jax.random.split(key, num_bisect + 1)

    def attack(r, k):
        return np.asarray(
            _attack_all(logits_fn, X, labels, jnp.asarray(r, X.dtype), k, pgd_num_steps, num_restarts)
        )

    ok = attack(hi, keys[0])
    found = np.where(ok, hi, np.inf)
    for i in range(num_bisect):
        mid = (lo + hi) / 2
        succ = attack(mid, keys[i + 1])
        found = np.where(succ, np.minimum(found, mid), found)
        hi = np.where(succ, mid, hi)
        lo = np.where(succ, lo, mid)
    return found
