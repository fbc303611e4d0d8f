"""Bad-input cases for optlab.smoothing."""

import jax
import jax.numpy as jnp
import numpy as np

import badinput
from optlab import smoothing as sm

B, C = badinput.Bad, badinput.Coerce
KEY = jax.random.key(0)
W = jnp.array([[1.0, 0.5], [-0.5, 1.0], [0.0, -1.0]])


def fn(x):
    return W @ x


X = jnp.array([[1.0, 0.2], [-0.3, 1.0]])
Y = jnp.array([0, 1])

CASES = [
    # clopper_pearson_lower(k, n, alpha)
    B("smoothing.clopper_pearson_lower", "alpha", lambda: sm.clopper_pearson_lower(3, 10, 0.0), "alpha 0"),
    B("smoothing.clopper_pearson_lower", "alpha", lambda: sm.clopper_pearson_lower(3, 10, 1.5), "alpha > 1"),
    B("smoothing.clopper_pearson_lower", "alpha", lambda: sm.clopper_pearson_lower(3, 10, float("nan")), "alpha NaN"),
    B("smoothing.clopper_pearson_lower", "alpha", lambda: sm.clopper_pearson_lower(3, 10, "0.05"), "alpha string"),
    B("smoothing.clopper_pearson_lower", "k", lambda: sm.clopper_pearson_lower(11, 10, 0.05), "k > n"),
    B("smoothing.clopper_pearson_lower", "k", lambda: sm.clopper_pearson_lower(-1, 10, 0.05), "k negative"),
    B("smoothing.clopper_pearson_lower", "k", lambda: sm.clopper_pearson_lower(2.5, 10, 0.05), "k fractional"),
    B("smoothing.clopper_pearson_lower", "k", lambda: sm.clopper_pearson_lower(None, 10, 0.05), "k None"),
    B("smoothing.clopper_pearson_lower", "k", lambda: sm.clopper_pearson_lower([], 10, 0.05), "k empty"),
    B("smoothing.clopper_pearson_lower", "k", lambda: sm.clopper_pearson_lower([1.0, np.nan], 10, 0.05), "k NaN"),
    B("smoothing.clopper_pearson_lower", "n", lambda: sm.clopper_pearson_lower(0, 0, 0.05), "n zero"),
    B("smoothing.clopper_pearson_lower", "n", lambda: sm.clopper_pearson_lower(1, "ten", 0.05), "n string"),
    B("smoothing.clopper_pearson_lower", "n", lambda: sm.clopper_pearson_lower([1, 2], [5, 6, 7], 0.05), "shapes"),
    C("smoothing.clopper_pearson_lower", lambda: sm.clopper_pearson_lower([3, 50], np.array([100, 100]), 0.01),
      lambda: sm.clopper_pearson_lower(jnp.array([3.0, 50.0]), jnp.array([100.0, 100.0]), 0.01)),
    # hoeffding_lower(mean, n, alpha)
    B("smoothing.hoeffding_lower", "mean", lambda: sm.hoeffding_lower(1.2, 100, 0.05), "mean > 1"),
    B("smoothing.hoeffding_lower", "mean", lambda: sm.hoeffding_lower(-0.1, 100, 0.05), "mean < 0"),
    B("smoothing.hoeffding_lower", "mean", lambda: sm.hoeffding_lower(np.nan, 100, 0.05), "mean NaN"),
    B("smoothing.hoeffding_lower", "mean", lambda: sm.hoeffding_lower("0.5", 100, 0.05), "mean string"),
    B("smoothing.hoeffding_lower", "n", lambda: sm.hoeffding_lower(0.5, 0, 0.05), "n zero"),
    B("smoothing.hoeffding_lower", "n", lambda: sm.hoeffding_lower(0.5, -5, 0.05), "n negative"),
    B("smoothing.hoeffding_lower", "n", lambda: sm.hoeffding_lower(0.5, None, 0.05), "n None"),
    B("smoothing.hoeffding_lower", "alpha", lambda: sm.hoeffding_lower(0.5, 100, 1.0), "alpha 1"),
    B("smoothing.hoeffding_lower", "mean", lambda: sm.hoeffding_lower([0.5, 0.6, 0.7], [10, 20], 0.05), "shapes"),
    C("smoothing.hoeffding_lower", lambda: sm.hoeffding_lower([1, 0], [100, 200], 0.05),
      lambda: sm.hoeffding_lower(jnp.array([1.0, 0.0]), jnp.array([100.0, 200.0]), 0.05)),
    # empirical_bernstein_lower(mean, var, n, alpha)
    B("smoothing.empirical_bernstein_lower", "var", lambda: sm.empirical_bernstein_lower(0.5, -0.1, 100, 0.05), "var negative"),
    B("smoothing.empirical_bernstein_lower", "var", lambda: sm.empirical_bernstein_lower(0.5, np.inf, 100, 0.05), "var inf"),
    B("smoothing.empirical_bernstein_lower", "var", lambda: sm.empirical_bernstein_lower(0.5, "x", 100, 0.05), "var string"),
    B("smoothing.empirical_bernstein_lower", "n", lambda: sm.empirical_bernstein_lower(0.5, 0.1, 1, 0.05), "n = 1"),
    B("smoothing.empirical_bernstein_lower", "n", lambda: sm.empirical_bernstein_lower(0.5, 0.1, np.nan, 0.05), "n NaN"),
    B("smoothing.empirical_bernstein_lower", "mean", lambda: sm.empirical_bernstein_lower(1.5, 0.1, 10, 0.05), "mean > 1"),
    B("smoothing.empirical_bernstein_lower", "alpha", lambda: sm.empirical_bernstein_lower(0.5, 0.1, 10, -0.1), "alpha < 0"),
    B("smoothing.empirical_bernstein_lower", "mean", lambda: sm.empirical_bernstein_lower([0.5, 0.6], [0.1, 0.1, 0.1], 10, 0.05), "shapes"),
    C("smoothing.empirical_bernstein_lower", lambda: sm.empirical_bernstein_lower([1, 0], [0, 0], [100, 100], 0.05),
      lambda: sm.empirical_bernstein_lower(jnp.array([1.0, 0.0]), jnp.zeros(2), jnp.array([100.0, 100.0]), 0.05)),
    # smoothed_radius(p_lower, sigma)
    B("smoothing.smoothed_radius", "sigma", lambda: sm.smoothed_radius(0.9, 0.0), "sigma zero"),
    B("smoothing.smoothed_radius", "sigma", lambda: sm.smoothed_radius(0.9, -1.0), "sigma negative"),
    B("smoothing.smoothed_radius", "sigma", lambda: sm.smoothed_radius(0.9, np.nan), "sigma NaN"),
    B("smoothing.smoothed_radius", "sigma", lambda: sm.smoothed_radius(0.9, "1"), "sigma string"),
    B("smoothing.smoothed_radius", "sigma", lambda: sm.smoothed_radius(0.9, [1.0, 2.0]), "sigma vector"),
    B("smoothing.smoothed_radius", "p_lower", lambda: sm.smoothed_radius(1.5, 1.0), "p > 1"),
    B("smoothing.smoothed_radius", "p_lower", lambda: sm.smoothed_radius(-0.2, 1.0), "p < 0"),
    B("smoothing.smoothed_radius", "p_lower", lambda: sm.smoothed_radius(np.nan, 1.0), "p NaN"),
    B("smoothing.smoothed_radius", "p_lower", lambda: sm.smoothed_radius(None, 1.0), "p None"),
    B("smoothing.smoothed_radius", "p_lower", lambda: sm.smoothed_radius([], 1.0), "p empty"),
    C("smoothing.smoothed_radius", lambda: sm.smoothed_radius([0.9, 0], 2),
      lambda: sm.smoothed_radius(jnp.array([0.9, 0.0]), 2.0)),
    # certify(logits_fn, X, sigma, *, key, ...)
    B("smoothing.certify", "key", lambda: sm.certify(fn, X, 0.5, key=0, n=10), "integer key"),
    B("smoothing.certify", "key", lambda: sm.certify(fn, X, 0.5, key=None, n=10), "key None"),
    B("smoothing.certify", "key", lambda: sm.certify(fn, X, 0.5, key=jnp.array([1.0, 2.0]), n=10), "float key"),
    B("smoothing.certify", "sigma", lambda: sm.certify(fn, X, 0.0, key=KEY, n=10), "sigma zero"),
    B("smoothing.certify", "sigma", lambda: sm.certify(fn, X, -1.0, key=KEY, n=10), "sigma negative"),
    B("smoothing.certify", "sigma", lambda: sm.certify(fn, X, "0.5", key=KEY, n=10), "sigma string"),
    B("smoothing.certify", "X", lambda: sm.certify(fn, X[0], 0.5, key=KEY, n=10), "X 1-D"),
    B("smoothing.certify", "X", lambda: sm.certify(fn, X.at[0, 0].set(jnp.nan), 0.5, key=KEY, n=10), "X NaN"),
    B("smoothing.certify", "X", lambda: sm.certify(fn, jnp.zeros((0, 2)), 0.5, key=KEY, n=10), "X empty"),
    B("smoothing.certify", "X", lambda: sm.certify(fn, "X", 0.5, key=KEY, n=10), "X string"),
    B("smoothing.certify", "X", lambda: sm.certify(fn, X.astype(jnp.complex64), 0.5, key=KEY, n=10), "X complex"),
    B("smoothing.certify", "logits_fn", lambda: sm.certify(None, X, 0.5, key=KEY, n=10), "not callable"),
    B("smoothing.certify", "logits_fn", lambda: sm.certify(fn, jnp.ones((2, 3)), 0.5, key=KEY, n=10), "X width vs logits_fn"),
    B("smoothing.certify", "logits_fn", lambda: sm.certify(lambda x: jnp.sum(x), X, 0.5, key=KEY, n=10), "scalar logits"),
    B("smoothing.certify", "n0", lambda: sm.certify(fn, X, 0.5, key=KEY, n0=0, n=10), "n0 zero"),
    B("smoothing.certify", "n", lambda: sm.certify(fn, X, 0.5, key=KEY, n=1), "n = 1"),
    B("smoothing.certify", "n", lambda: sm.certify(fn, X, 0.5, key=KEY, n=10.0), "n float"),
    B("smoothing.certify", "alpha", lambda: sm.certify(fn, X, 0.5, key=KEY, n=10, alpha=1.0), "alpha 1"),
    B("smoothing.certify", "method", lambda: sm.certify(fn, X, 0.5, key=KEY, n=10, method="chernoff"), "method"),
    B("smoothing.certify", "temperature", lambda: sm.certify(fn, X, 0.5, key=KEY, n=10, temperature=0.0), "temperature 0"),
    C("smoothing.certify",
      lambda: sm.certify(fn, [[1, 0], [0, 1]], 1, key=KEY, n=50)[1:],
      lambda: sm.certify(fn, jnp.array([[1.0, 0.0], [0.0, 1.0]]), 1.0, key=KEY, n=50)[1:]),
    # certified_accuracy(radii, correct, grid)
    B("smoothing.certified_accuracy", "radii", lambda: sm.certified_accuracy([-0.1, 0.2], [True, True], [0.0]), "negative radius"),
    B("smoothing.certified_accuracy", "radii", lambda: sm.certified_accuracy([np.nan, 0.2], [True, True], [0.0]), "NaN radius"),
    B("smoothing.certified_accuracy", "radii", lambda: sm.certified_accuracy("r", [True], [0.0]), "string"),
    B("smoothing.certified_accuracy", "radii", lambda: sm.certified_accuracy([], [], [0.0]), "empty"),
    B("smoothing.certified_accuracy", "radii", lambda: sm.certified_accuracy(np.ones((2, 2)), np.ones((2, 2)), [0.0]), "2-D"),
    B("smoothing.certified_accuracy", "correct", lambda: sm.certified_accuracy([0.1, 0.2], [True], [0.0]), "shape mismatch"),
    B("smoothing.certified_accuracy", "correct", lambda: sm.certified_accuracy([0.1, 0.2], [0.5, 2.0], [0.0]), "not boolean"),
    B("smoothing.certified_accuracy", "correct", lambda: sm.certified_accuracy([0.1], None, [0.0]), "None"),
    B("smoothing.certified_accuracy", "grid", lambda: sm.certified_accuracy([0.1], [True], [-0.5]), "negative grid"),
    B("smoothing.certified_accuracy", "grid", lambda: sm.certified_accuracy([0.1], [True], [np.inf]), "inf grid"),
    C("smoothing.certified_accuracy", lambda: sm.certified_accuracy([0, 1, 2], [1, 0, 1], [0, 1]),
      lambda: sm.certified_accuracy(np.array([0.0, 1.0, 2.0]), np.array([True, False, True]), np.array([0.0, 1.0]))),
    # min_adversarial_radius(logits_fn, X, labels, *, r_max, ..., key)
    B("smoothing.min_adversarial_radius", "key", lambda: sm.min_adversarial_radius(fn, X, Y, r_max=1.0, key=7), "integer key"),
    B("smoothing.min_adversarial_radius", "key", lambda: sm.min_adversarial_radius(fn, X, Y, r_max=1.0, key="k"), "string key"),
    B("smoothing.min_adversarial_radius", "r_max", lambda: sm.min_adversarial_radius(fn, X, Y, r_max=0.0, key=KEY), "r_max 0"),
    B("smoothing.min_adversarial_radius", "r_max", lambda: sm.min_adversarial_radius(fn, X, Y, r_max=np.inf, key=KEY), "r_max inf"),
    B("smoothing.min_adversarial_radius", "labels", lambda: sm.min_adversarial_radius(fn, X, [0, 5], r_max=1.0, key=KEY), "label out of range"),
    B("smoothing.min_adversarial_radius", "labels", lambda: sm.min_adversarial_radius(fn, X, [0.5, 1], r_max=1.0, key=KEY), "fractional label"),
    B("smoothing.min_adversarial_radius", "labels", lambda: sm.min_adversarial_radius(fn, X, [0], r_max=1.0, key=KEY), "labels length"),
    B("smoothing.min_adversarial_radius", "X", lambda: sm.min_adversarial_radius(fn, X.at[1, 1].set(jnp.inf), Y, r_max=1.0, key=KEY), "X inf"),
    B("smoothing.min_adversarial_radius", "X", lambda: sm.min_adversarial_radius(fn, jnp.ones(2), Y, r_max=1.0, key=KEY), "X 1-D"),
    B("smoothing.min_adversarial_radius", "logits_fn", lambda: sm.min_adversarial_radius(3, X, Y, r_max=1.0, key=KEY), "not callable"),
    B("smoothing.min_adversarial_radius", "num_bisect", lambda: sm.min_adversarial_radius(fn, X, Y, r_max=1.0, num_bisect=0, key=KEY), "num_bisect 0"),
    B("smoothing.min_adversarial_radius", "pgd_num_steps", lambda: sm.min_adversarial_radius(fn, X, Y, r_max=1.0, pgd_num_steps=-1, key=KEY), "pgd_num_steps < 0"),
    B("smoothing.min_adversarial_radius", "num_restarts", lambda: sm.min_adversarial_radius(fn, X, Y, r_max=1.0, num_restarts=2.0, key=KEY), "num_restarts float"),
    C("smoothing.min_adversarial_radius",
      lambda: sm.min_adversarial_radius(fn, [[1, 0], [0, 1]], [0, 1], r_max=2, num_bisect=3, pgd_num_steps=5, key=KEY),
      lambda: sm.min_adversarial_radius(fn, jnp.array([[1.0, 0.0], [0.0, 1.0]]), jnp.array([0, 1]), r_max=2.0,
                                        num_bisect=3, pgd_num_steps=5, key=KEY)),
]

EXEMPT = {"Certificate": "a NamedTuple of results, built only by certify"}
