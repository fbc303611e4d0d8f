"""Randomized smoothing certificates and a minimal-adversarial-radius attack (chapter 8).

The smoothed classifier g(x) = argmax_c P(f(x + δ) = c), δ ~ N(0, σ²I), is certified
at x with radius R = σ Φ^{-1}(p̲_A) whenever a lower confidence bound p̲_A on the
top-class probability exceeds 1/2 (Cohen et al., 2019). The same holds for the
soft smoothed classifier E[softmax(f(x + δ)/τ)] (Salman et al., 2019), whose
class probabilities are means of [0, 1]-valued variables; there Hoeffding or
empirical-Bernstein bounds replace Clopper–Pearson (Delattre et al., 2024,
*The Lipschitz-Variance-Margin Tradeoff for Enhanced Randomized Smoothing*).
"""

from __future__ import annotations

from functools import partial
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from scipy import stats

from ._checks import require_in_range, require_int, require_ndim, require_nonnegative, require_positive

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


def _check_alpha(alpha):
    require_in_range("alpha", alpha, 0.0, 1.0, low_inclusive=False, high_inclusive=False)


def clopper_pearson_lower(k, n, alpha: float) -> np.ndarray:
    """One-sided (1 − α) Clopper–Pearson lower bound on a binomial p from k successes
    in n trials: the α-quantile of Beta(k, n − k + 1) (0 when k = 0)."""
    _check_alpha(alpha)
    k = np.asarray(k)
    n = np.asarray(n)
    if np.any(n < 1) or np.any(k < 0) or np.any(k > n) or np.any(k != np.floor(k)):
        raise ValueError(f"need integers 0 <= k <= n and n >= 1, got k={k!r}, n={n!r}")
    kk = np.maximum(k, 1)  # avoid Beta(0, ·); masked below
    return np.where(k == 0, 0.0, stats.beta.ppf(alpha, kk, n - k + 1))


def hoeffding_lower(mean, n, alpha: float) -> np.ndarray:
    """(1 − α) lower bound on E[X] for X ∈ [0, 1] from n i.i.d. samples:
    mean − √(log(1/α) / (2n))."""
    _check_alpha(alpha)
    require_in_range("mean", mean, 0.0, 1.0)
    require_positive("n", n)
    return np.asarray(mean) - np.sqrt(np.log(1.0 / alpha) / (2.0 * np.asarray(n)))


def empirical_bernstein_lower(mean, var, n, alpha: float) -> np.ndarray:
    """(1 − α) empirical-Bernstein lower bound (Maurer & Pontil, 2009, Thm 4) on E[X]
    for X ∈ [0, 1]: mean − √(2 V log(2/α) / n) − 7 log(2/α) / (3(n − 1)), with V the
    unbiased sample variance. Tighter than Hoeffding when V ≪ 1/4."""
    _check_alpha(alpha)
    require_in_range("mean", mean, 0.0, 1.0)
    require_nonnegative("var", var)
    n = np.asarray(n, dtype=float)
    if np.any(n < 2):
        raise ValueError(f"n must be at least 2 for the empirical Bernstein bound, got {n!r}")
    lg = np.log(2.0 / alpha)
    return np.asarray(mean) - np.sqrt(2.0 * np.asarray(var) * lg / n) - 7.0 * lg / (3.0 * (n - 1.0))


def smoothed_radius(p_lower, sigma) -> np.ndarray:
    """Certified ℓ2 radius σ Φ^{-1}(p̲_A) where p̲_A > 1/2, else 0 (abstain)."""
    require_positive("sigma", sigma)
    p = np.clip(np.asarray(p_lower, dtype=float), 0.0, 1.0)
    with np.errstate(divide="ignore"):
        r = sigma * stats.norm.ppf(p)
    return np.where(p > 0.5, r, 0.0)


class Certificate(NamedTuple):
    """Per-point prediction (−1 = abstain), certified radius (0 when abstaining), the
    lower bound p̲_A, the estimated mean p̂_A and its sample variance."""

    prediction: np.ndarray
    radius: np.ndarray
    p_lower: np.ndarray
    p_hat: np.ndarray
    var: np.ndarray


METHODS = ("clopper_pearson", "hoeffding", "bernstein")


def certify(logits_fn: Callable, X, sigma: float, *, key, n0: int = 64, n: int = 1000,
            alpha: float = 0.001, method: str = "clopper_pearson",
            temperature: float = 1.0) -> Certificate:
    """CERTIFY (Cohen et al., 2019) for a batch of inputs X (B, d).

    ``logits_fn`` maps (d,) to class logits. n0 noisy samples pick the candidate class
    A, then n fresh samples bound p_A: hard votes 1[argmax = A] with Clopper–Pearson,
    or soft scores softmax(logits/τ)_A with Hoeffding / empirical Bernstein.
    """
    require_positive("sigma", sigma)
    require_int("n0", n0, minimum=1)
    require_int("n", n, minimum=2)
    _check_alpha(alpha)
    require_positive("temperature", temperature)
    require_ndim("X", X, 2)
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    B, d = X.shape
    k0, k1 = jax.random.split(key)
    batched = jax.vmap(jax.vmap(logits_fn))

    @partial(jax.jit, static_argnums=1)
    def sample(k, m):
        noise = sigma * jax.random.normal(k, (B, m, d), dtype=X.dtype)
        return batched(X[:, None, :] + noise)

    logits0 = sample(k0, n0)
    ncls = logits0.shape[-1]
    counts0 = jnp.sum(jax.nn.one_hot(jnp.argmax(logits0, -1), ncls), axis=1)
    if method == "clopper_pearson":
        top = np.asarray(jnp.argmax(counts0, -1))
    else:
        top = np.asarray(jnp.argmax(jnp.mean(jax.nn.softmax(logits0 / temperature, -1), 1), -1))
    logits = sample(k1, n)
    if method == "clopper_pearson":
        votes = np.asarray(jnp.argmax(logits, -1) == top[:, None], dtype=float)
    else:
        probs = np.asarray(jax.nn.softmax(logits / temperature, -1))
        votes = np.take_along_axis(probs, top[:, None, None], -1)[..., 0]
    p_hat = votes.mean(1)
    var = votes.var(1, ddof=1)
    if method == "clopper_pearson":
        p_low = clopper_pearson_lower(np.round(votes.sum(1)).astype(int), n, alpha)
    elif method == "hoeffding":
        p_low = hoeffding_lower(np.clip(p_hat, 0, 1), n, alpha)
    else:
        p_low = empirical_bernstein_lower(np.clip(p_hat, 0, 1), var, n, alpha)
    radius = smoothed_radius(p_low, sigma)
    pred = np.where(p_low > 0.5, top, -1)
    return Certificate(pred, radius, np.asarray(p_low), p_hat, var)


def certified_accuracy(radii, correct, grid) -> np.ndarray:
    """Fraction of points that are correct and certified at radius ≥ r, for each r in
    ``grid`` (radii ≥ 0; a point with radius exactly r counts)."""
    radii = np.asarray(radii, dtype=float)
    correct = np.asarray(correct, dtype=bool)
    grid = np.asarray(grid, dtype=float)
    require_nonnegative("radii", radii)
    require_nonnegative("grid (radius)", grid)
    if radii.shape != correct.shape:
        raise ValueError(f"radii and correct must have the same shape, got {radii.shape} and {correct.shape}")
    return np.mean(correct[None, :] & (radii[None, :] >= grid[:, None]), axis=1)


def min_adversarial_radius(logits_fn: Callable, X, labels, *, r_max: float,
                           num_bisect: int = 12, pgd_steps: int = 40,
                           num_restarts: int = 8, key) -> np.ndarray:
    """An attack: the smallest ℓ2 radius (≤ r_max) at which projected gradient ascent
    on the margin max_{c≠y} f_c − f_y finds a misclassified point, searched by bisection
    (∞ if none is found at r_max). Every returned radius comes with a verified
    adversarial point, so it is an UPPER bound on the true minimal adversarial radius."""
    require_positive("r_max", r_max)
    require_int("num_bisect", num_bisect, minimum=1)
    require_int("pgd_steps", pgd_steps, minimum=1)
    require_int("num_restarts", num_restarts, minimum=1)
    require_ndim("X", X, 2)
    B, d = X.shape
    labels = jnp.asarray(labels)

    def margin(x, y):
        z = logits_fn(x)
        other = jnp.max(jnp.where(jnp.arange(z.shape[0]) == y, -jnp.inf, z))
        return other - z[y]

    def attack(x, y, r, k):
        starts = jax.random.normal(k, (num_restarts, d), dtype=X.dtype)
        starts = r * starts / jnp.linalg.norm(starts, axis=1, keepdims=True) * 0.5

        def one(delta):
            def step(delta, _):
                g = jax.grad(lambda dd: margin(x + dd, y))(delta)
                delta = delta + (2.5 * r / pgd_steps) * g / (jnp.linalg.norm(g) + 1e-12)
                nrm = jnp.linalg.norm(delta)
                delta = delta * jnp.minimum(1.0, r / (nrm + 1e-30))
                return delta, margin(x + delta, y)

            _, ms = jax.lax.scan(step, delta, None, length=pgd_steps)
            return jnp.max(ms)

        return jnp.max(jax.vmap(one)(starts)) > 0

    attack_all = jax.jit(jax.vmap(attack, in_axes=(0, 0, 0, None)))
    hi = np.full(B, float(r_max))
    lo = np.zeros(B)
    keys = jax.random.split(key, num_bisect + 1)
    ok = np.asarray(attack_all(X, labels, jnp.asarray(hi, X.dtype), keys[0]))
    found = np.where(ok, hi, np.inf)
    for i in range(num_bisect):
        mid = (lo + hi) / 2
        succ = np.asarray(attack_all(X, labels, jnp.asarray(mid, X.dtype), keys[i + 1]))
        found = np.where(succ, np.minimum(found, mid), found)
        hi = np.where(succ, mid, hi)
        lo = np.where(succ, lo, mid)
    return found
