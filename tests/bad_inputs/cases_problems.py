"""Bad-input cases for optlab.problems."""

import jax
import jax.numpy as jnp
import numpy as np

import badinput
from optlab import problems as pr

B, C = badinput.Bad, badinput.Coerce
nan, inf = float("nan"), float("inf")
A = jnp.asarray(np.arange(12.0).reshape(4, 3) % 5)
b = jnp.array([1.0, 0.0, 2.0, 1.0])
ylab = jnp.array([1.0, -1.0, 1.0, -1.0])


def _lsq(p):
    return p.x_star, p.f_star, p.L, p.mu


CASES = [
    B("pr.quadratic", "kappa", lambda: pr.quadratic(0.5), "below one"),
    B("pr.quadratic", "kappa", lambda: pr.quadratic(-2.0), "negative"),
    B("pr.quadratic", "kappa", lambda: pr.quadratic(nan), "nan"),
    B("pr.quadratic", "kappa", lambda: pr.quadratic(inf), "inf"),
    B("pr.quadratic", "kappa", lambda: pr.quadratic("10"), "string"),
    B("pr.quadratic", "kappa", lambda: pr.quadratic(jnp.ones(2)), "vector"),
    B("pr.quadratic", "dim", lambda: pr.quadratic(10.0, 0), "zero"),
    B("pr.quadratic", "dim", lambda: pr.quadratic(10.0, 2.5), "float"),
    B("pr.quadratic", "L", lambda: pr.quadratic(10.0, 2, L=0.0), "zero"),
    B("pr.quadratic", "L", lambda: pr.quadratic(10.0, 2, L=None), "None"),
    B("pr.quadratic", "key", lambda: pr.quadratic(10.0, 2, key=0), "integer key"),
    B("pr.quadratic", "key", lambda: pr.quadratic(10.0, 2, key=jnp.ones(3)), "float array key"),
    B("pr.least_squares", "A", lambda: pr.least_squares(jnp.ones(3), jnp.ones(3)), "1-D A"),
    B("pr.least_squares", "A", lambda: pr.least_squares(jnp.ones((0, 2)), jnp.ones(0)), "empty rows"),
    B("pr.least_squares", "A", lambda: pr.least_squares(jnp.ones((3, 0)), jnp.ones(3)), "empty columns"),
    B("pr.least_squares", "A", lambda: pr.least_squares(jnp.ones((3, 2)), jnp.ones(4)), "mismatch"),
    B("pr.least_squares", "A", lambda: pr.least_squares(A.at[0, 0].set(nan), b), "nan"),
    B("pr.least_squares", "A", lambda: pr.least_squares("A", b), "string"),
    B("pr.least_squares", "A", lambda: pr.least_squares(A + 1j, b), "complex"),
    B("pr.least_squares", "A", lambda: pr.least_squares([[1.0, 2.0], [3.0]], b[:2]), "ragged"),
    B("pr.least_squares", "b", lambda: pr.least_squares(A, b.at[1].set(inf)), "inf"),
    B("pr.least_squares", "b", lambda: pr.least_squares(A, None), "None"),
    B("pr.least_squares", "b", lambda: pr.least_squares(A, jnp.ones((4, 1))), "2-D b"),
    B("pr.least_squares", "reg", lambda: pr.least_squares(A, b, reg=-1.0), "negative"),
    B("pr.least_squares", "reg", lambda: pr.least_squares(A, b, reg=nan), "nan"),
    B("pr.least_squares", "reg", lambda: pr.least_squares(A, b, reg="0"), "string"),
    B("pr.logistic_regression", "X", lambda: pr.logistic_regression(jnp.ones(4), ylab), "1-D X"),
    B("pr.logistic_regression", "X", lambda: pr.logistic_regression(jnp.ones((0, 2)), jnp.ones(0)), "empty"),
    B("pr.logistic_regression", "X", lambda: pr.logistic_regression(jnp.ones((3, 2)), ylab), "mismatch"),
    B("pr.logistic_regression", "X", lambda: pr.logistic_regression(A.at[1, 1].set(nan), ylab), "nan"),
    B("pr.logistic_regression", "y", lambda: pr.logistic_regression(A, jnp.array([0.0, 1.0, 1.0, 0.0])), "0/1 labels"),
    B("pr.logistic_regression", "y", lambda: pr.logistic_regression(A, "yyyy"), "string"),
    B("pr.logistic_regression", "reg", lambda: pr.logistic_regression(A, ylab, reg=-0.1), "negative"),
    B("pr.logistic_regression", "reg", lambda: pr.logistic_regression(A, ylab, reg=None), "None"),
    B("pr.rosenbrock", "b", lambda: pr.rosenbrock(b=0.0), "zero"),
    B("pr.rosenbrock", "b", lambda: pr.rosenbrock(b=-1.0), "negative"),
    B("pr.rosenbrock", "a", lambda: pr.rosenbrock(a=nan), "nan"),
    B("pr.rosenbrock", "a", lambda: pr.rosenbrock(a="1"), "string"),
    B("pr.abs_1d", "scale", lambda: pr.abs_1d(0.0), "zero"),
    B("pr.abs_1d", "scale", lambda: pr.abs_1d(-2.0), "negative"),
    B("pr.abs_1d", "scale", lambda: pr.abs_1d(inf), "inf"),
    B("pr.abs_1d", "scale", lambda: pr.abs_1d(None), "None"),
    B("pr.worst_case_quadratic", "dim", lambda: pr.worst_case_quadratic(1), "too small"),
    B("pr.worst_case_quadratic", "dim", lambda: pr.worst_case_quadratic(10.0), "float"),
    B("pr.worst_case_quadratic", "L", lambda: pr.worst_case_quadratic(10, -1.0), "negative"),
    B("pr.worst_case_quadratic", "L", lambda: pr.worst_case_quadratic(10, nan), "nan"),
    B("pr.pl_sine", "dim", lambda: pr.pl_sine(0), "zero"),
    B("pr.pl_sine", "dim", lambda: pr.pl_sine("2"), "string"),
    B("pr.Problem", "value", lambda: pr.Problem("p", None, 2), "None value"),
    B("pr.Problem", "dim", lambda: pr.Problem("p", lambda x: x @ x, 0), "zero dim"),
    B("pr.Problem", "L", lambda: pr.Problem("p", lambda x: x @ x, 2, L=-1.0), "negative L"),
    B("pr.Problem", "mu", lambda: pr.Problem("p", lambda x: x @ x, 2, mu=-1.0), "negative mu"),
    B("pr.Problem", "name", lambda: pr.Problem(3, lambda x: x @ x, 2), "non-string name"),
    C("pr.least_squares", lambda: _lsq(pr.least_squares([[1, 2], [3, 5], [0, 1]], [1, 0, 2])),
      lambda: _lsq(pr.least_squares(jnp.array([[1.0, 2.0], [3.0, 5.0], [0.0, 1.0]]), jnp.array([1.0, 0.0, 2.0]))),
      "lists of ints", rtol=1e-4, atol=1e-5),
    C("pr.least_squares", lambda: _lsq(pr.least_squares(np.asarray(A, np.int32), np.asarray(b, np.int64), reg=1)),
      lambda: _lsq(pr.least_squares(A, b, reg=1.0)), "integer arrays", rtol=1e-4, atol=1e-5),
    C("pr.logistic_regression", lambda: pr.logistic_regression(np.asarray(A, int), [1, -1, 1, -1], reg=1).L,
      lambda: pr.logistic_regression(A, ylab, reg=1.0).L, "integer X, list y"),
    C("pr.quadratic", lambda: pr.quadratic(10, 3, L=2).value(jnp.ones(3)),
      lambda: pr.quadratic(10.0, 3, L=2.0).value(jnp.ones(3)), "integer kappa and L"),
    C("pr.rosenbrock", lambda: pr.rosenbrock(1, 100).value(jnp.zeros(2)),
      lambda: pr.rosenbrock(1.0, 100.0).value(jnp.zeros(2)), "integer a, b"),
    C("pr.abs_1d", lambda: pr.abs_1d(2).value(jnp.ones(1)), lambda: pr.abs_1d(2.0).value(jnp.ones(1)),
      "integer scale"),
    C("pr.worst_case_quadratic", lambda: pr.worst_case_quadratic(5, 2).f_star,
      lambda: pr.worst_case_quadratic(5, 2.0).f_star, "integer L"),
    C("pr.pl_sine", lambda: pr.pl_sine(np.int64(2)).value(jnp.ones(2)),
      lambda: pr.pl_sine(2).value(jnp.ones(2)), "numpy integer dim"),
]

EXEMPT = {}
