"""Bad-input cases for optlab.bilevel."""

import jax
import jax.numpy as jnp
import numpy as np

import badinput
from optlab import bilevel as bl

B, C = badinput.Bad, badinput.Coerce
KEY = jax.random.key(0)
NAN = float("nan")
INF = float("inf")

XT = jnp.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
YT = jnp.array([1.0, 0.0, 2.0])
XV = jnp.array([[1.0, 2.0], [0.5, -1.0]])
YV = jnp.array([0.5, 1.0])
INNER, OUTER = bl.ridge_losses(XT, YT, XV, YV)
W = jnp.array([0.5, -0.2])
XT_I = [[1, 0], [0, 1], [1, 1]]
YT_I = [1, 0, 2]
XV_I = np.array([[1, 2], [1, -1]])
YV_I = np.array([0, 1])
INNER_I, OUTER_I = bl.ridge_losses(XT_I, YT_I, XV_I, YV_I)
INNER_F, OUTER_F = bl.ridge_losses(jnp.asarray(XT_I, jnp.float32), jnp.asarray(YT_I, jnp.float32),
                                   jnp.asarray(XV_I, jnp.float32), jnp.asarray(YV_I, jnp.float32))
DATA = bl.data_cleaning_problem(key=KEY, n_train=6, n_val=4, d=2)


def vector_valued(w, t):
    return w * t


def grad_inner(w, t):
    return jax.grad(INNER)(w, t)


def solver(t, init):
    return init


def _data_cases(name, call):
    """call(X_train, y_train, X_val, y_val) with one bad array each."""
    return [
        B(name, "X_train", lambda: call(jnp.ones(3), YT, XV, YV), "1-D X_train"),
        B(name, "X_train", lambda: call(XT.at[0, 0].set(NAN), YT, XV, YV), "NaN X_train"),
        B(name, "X_train", lambda: call(jnp.zeros((0, 2)), jnp.zeros(0), XV, YV), "empty X_train"),
        B(name, "X_train", lambda: call("X", YT, XV, YV), "string X_train"),
        B(name, "y_train", lambda: call(XT, YT[:2], XV, YV), "y_train length"),
        B(name, "y_train", lambda: call(XT, YT.at[1].set(INF), XV, YV), "inf y_train"),
        B(name, "y_train", lambda: call(XT, None, XV, YV), "None y_train"),
        B(name, "X_val", lambda: call(XT, YT, XV[:, :1], YV), "X_val columns"),
        B(name, "X_val", lambda: call(XT, YT, XV + 1j, YV), "complex X_val"),
        B(name, "y_val", lambda: call(XT, YT, XV, YV[:1]), "y_val length"),
        B(name, "y_val", lambda: call(XT, YT, XV, jnp.ones((2, 1))), "2-D y_val"),
    ]


CASES = [
    # ridge_losses
    *_data_cases("bilevel.ridge_losses", lambda a, b, c, d: bl.ridge_losses(a, b, c, d)),
    B("bilevel.ridge_losses", "log_lambda", lambda: bl.ridge_losses(XT, YT, XV, YV, log_lambda="yes"), "string flag"),
    C("bilevel.ridge_losses", lambda: INNER_I(W, 1.0) + OUTER_I(W, 1.0),
      lambda: INNER_F(W, 1.0) + OUTER_F(W, 1.0)),
    # ridge_solution(X_train, y_train, lam)
    B("bilevel.ridge_solution", "lam", lambda: bl.ridge_solution(XT, YT, -1.0), "negative lam"),
    B("bilevel.ridge_solution", "lam", lambda: bl.ridge_solution(XT, YT, 0.0), "zero lam"),
    B("bilevel.ridge_solution", "lam", lambda: bl.ridge_solution(XT, YT, NAN), "NaN lam"),
    B("bilevel.ridge_solution", "lam", lambda: bl.ridge_solution(XT, YT, jnp.ones(3)), "lam length"),
    B("bilevel.ridge_solution", "lam", lambda: bl.ridge_solution(XT, YT, "1"), "string lam"),
    B("bilevel.ridge_solution", "X_train", lambda: bl.ridge_solution(jnp.ones(3), YT, 1.0), "1-D X"),
    B("bilevel.ridge_solution", "X_train", lambda: bl.ridge_solution(XT.at[0, 0].set(INF), YT, 1.0), "inf X"),
    B("bilevel.ridge_solution", "y_train", lambda: bl.ridge_solution(XT, YT[:2], 1.0), "y length"),
    B("bilevel.ridge_solution", "y_train", lambda: bl.ridge_solution(XT, [1, 2, "a"], 1.0), "string y"),
    C("bilevel.ridge_solution", lambda: bl.ridge_solution(XT_I, YT_I, 1),
      lambda: bl.ridge_solution(jnp.asarray(XT_I, jnp.float32), jnp.asarray(YT_I, jnp.float32), 1.0)),
    # ridge_hypergradient
    *_data_cases("bilevel.ridge_hypergradient", lambda a, b, c, d: bl.ridge_hypergradient(a, b, c, d, 1.0)),
    B("bilevel.ridge_hypergradient", "lam", lambda: bl.ridge_hypergradient(XT, YT, XV, YV, -1.0), "negative lam"),
    B("bilevel.ridge_hypergradient", "lam", lambda: bl.ridge_hypergradient(XT, YT, XV, YV, jnp.ones((2, 2))), "2-D lam"),
    B("bilevel.ridge_hypergradient", "lam", lambda: bl.ridge_hypergradient(XT, YT, XV, YV, jnp.ones(5)), "lam length"),
    B("bilevel.ridge_hypergradient", "lam", lambda: bl.ridge_hypergradient(XT, YT, XV, YV, None), "None lam"),
    C("bilevel.ridge_hypergradient", lambda: bl.ridge_hypergradient(XT_I, YT_I, XV_I, YV_I, [1, 2]),
      lambda: bl.ridge_hypergradient(jnp.asarray(XT_I, jnp.float32), jnp.asarray(YT_I, jnp.float32),
                                     jnp.asarray(XV_I, jnp.float32), jnp.asarray(YV_I, jnp.float32),
                                     jnp.array([1.0, 2.0]))),
    # check_inner_hessian(inner, w, theta)
    B("bilevel.check_inner_hessian", "inner", lambda: bl.check_inner_hessian("g", W, 1.0), "inner string"),
    B("bilevel.check_inner_hessian", "inner", lambda: bl.check_inner_hessian(vector_valued, W, 1.0), "inner not scalar"),
    B("bilevel.check_inner_hessian", "w", lambda: bl.check_inner_hessian(INNER, jnp.ones((2, 2)), 1.0), "2-D w"),
    B("bilevel.check_inner_hessian", "w", lambda: bl.check_inner_hessian(INNER, W.at[0].set(NAN), 1.0), "NaN w"),
    B("bilevel.check_inner_hessian", "theta", lambda: bl.check_inner_hessian(INNER, W, jnp.ones((2, 2))), "2-D theta"),
    B("bilevel.check_inner_hessian", "rtol", lambda: bl.check_inner_hessian(INNER, W, 1.0, rtol=-1.0), "negative rtol"),
    B("bilevel.check_inner_hessian", "max_dim", lambda: bl.check_inner_hessian(INNER, W, 1.0, max_dim=0), "zero max_dim"),
    B("bilevel.check_inner_hessian", "Hessian", lambda: bl.check_inner_hessian(lambda w, t: -jnp.sum(w**2), W, 1.0), "concave"),
    C("bilevel.check_inner_hessian", lambda: bl.check_inner_hessian(INNER, [1, 0], 1),
      lambda: bl.check_inner_hessian(INNER, jnp.array([1.0, 0.0]), 1.0)),
    # custom_root(optimality_fn, *, method, tol, num_steps)
    B("bilevel.custom_root", "optimality_fn", lambda: bl.custom_root(None), "None"),
    B("bilevel.custom_root", "method", lambda: bl.custom_root(grad_inner, method="lu"), "unknown method"),
    B("bilevel.custom_root", "method", lambda: bl.custom_root(grad_inner, method=1), "numeric method"),
    B("bilevel.custom_root", "tol", lambda: bl.custom_root(grad_inner, tol=0.0), "zero tol"),
    B("bilevel.custom_root", "tol", lambda: bl.custom_root(grad_inner, tol="1e-6"), "string tol"),
    B("bilevel.custom_root", "num_steps", lambda: bl.custom_root(grad_inner, num_steps=0), "zero maxiter"),
    B("bilevel.custom_root", "num_steps", lambda: bl.custom_root(grad_inner, num_steps=2.5), "float maxiter"),
    B("bilevel.custom_root", "solver", lambda: bl.custom_root(grad_inner)(3), "solver not callable"),
    C("bilevel.custom_root", lambda: bl.custom_root(grad_inner)(solver)(1, jnp.array([1, 2])),
      lambda: bl.custom_root(grad_inner)(solver)(1.0, jnp.array([1.0, 2.0])), atol=0, rtol=0),
    # implicit_hypergradient(inner, outer, w, theta)
    B("bilevel.implicit_hypergradient", "w", lambda: bl.implicit_hypergradient(INNER, OUTER, jnp.ones((2, 1)), 1.0), "2-D w"),
    B("bilevel.implicit_hypergradient", "w", lambda: bl.implicit_hypergradient(INNER, OUTER, jnp.zeros(0), 1.0), "empty w"),
    B("bilevel.implicit_hypergradient", "w", lambda: bl.implicit_hypergradient(INNER, OUTER, "w", 1.0), "string w"),
    B("bilevel.implicit_hypergradient", "w", lambda: bl.implicit_hypergradient(INNER, OUTER, jnp.zeros(3), 1.0), "w wrong length"),
    B("bilevel.implicit_hypergradient", "theta", lambda: bl.implicit_hypergradient(INNER, OUTER, W, NAN), "NaN theta"),
    B("bilevel.implicit_hypergradient", "theta", lambda: bl.implicit_hypergradient(INNER, OUTER, W, None), "None theta"),
    B("bilevel.implicit_hypergradient", "inner", lambda: bl.implicit_hypergradient(1.0, OUTER, W, 1.0), "inner number"),
    B("bilevel.implicit_hypergradient", "outer", lambda: bl.implicit_hypergradient(INNER, vector_valued, W, 1.0), "outer not scalar"),
    B("bilevel.implicit_hypergradient", "method", lambda: bl.implicit_hypergradient(INNER, OUTER, W, 1.0, method="lu"), "unknown method"),
    B("bilevel.implicit_hypergradient", "tol", lambda: bl.implicit_hypergradient(INNER, OUTER, W, 1.0, tol=-1.0), "negative tol"),
    B("bilevel.implicit_hypergradient", "num_steps", lambda: bl.implicit_hypergradient(INNER, OUTER, W, 1.0, num_steps=0), "zero maxiter"),
    B("bilevel.implicit_hypergradient", "check", lambda: bl.implicit_hypergradient(INNER, OUTER, W, 1.0, check="no"), "string check"),
    B("bilevel.implicit_hypergradient", "Hessian", lambda: bl.implicit_hypergradient(INNER, OUTER, W, -5.0), "indefinite Hessian"),
    C("bilevel.implicit_hypergradient", lambda: bl.implicit_hypergradient(INNER, OUTER, [1, 0], 2),
      lambda: bl.implicit_hypergradient(INNER, OUTER, jnp.array([1.0, 0.0]), 2.0)),
    # neumann_hypergradient(inner, outer, w, theta, K, alpha)
    B("bilevel.neumann_hypergradient", "K", lambda: bl.neumann_hypergradient(INNER, OUTER, W, 1.0, 0, 0.1), "zero K"),
    B("bilevel.neumann_hypergradient", "K", lambda: bl.neumann_hypergradient(INNER, OUTER, W, 1.0, 2.5, 0.1), "float K"),
    B("bilevel.neumann_hypergradient", "K", lambda: bl.neumann_hypergradient(INNER, OUTER, W, 1.0, "5", 0.1), "string K"),
    B("bilevel.neumann_hypergradient", "alpha", lambda: bl.neumann_hypergradient(INNER, OUTER, W, 1.0, 5, -0.1), "negative alpha"),
    B("bilevel.neumann_hypergradient", "alpha", lambda: bl.neumann_hypergradient(INNER, OUTER, W, 1.0, 5, INF), "inf alpha"),
    B("bilevel.neumann_hypergradient", "alpha", lambda: bl.neumann_hypergradient(INNER, OUTER, W, 1.0, 5, jnp.ones(2)), "vector alpha"),
    B("bilevel.neumann_hypergradient", "w", lambda: bl.neumann_hypergradient(INNER, OUTER, W.at[1].set(NAN), 1.0, 5, 0.1), "NaN w"),
    B("bilevel.neumann_hypergradient", "theta", lambda: bl.neumann_hypergradient(INNER, OUTER, W, INF, 5, 0.1), "inf theta"),
    B("bilevel.neumann_hypergradient", "all_terms", lambda: bl.neumann_hypergradient(INNER, OUTER, W, 1.0, 5, 0.1, all_terms=1), "int flag"),
    B("bilevel.neumann_hypergradient", "inner", lambda: bl.neumann_hypergradient(None, OUTER, W, 1.0, 5, 0.1), "inner None"),
    C("bilevel.neumann_hypergradient", lambda: bl.neumann_hypergradient(INNER, OUTER, [1, 0], 1, 5, 0.1),
      lambda: bl.neumann_hypergradient(INNER, OUTER, jnp.array([1.0, 0.0]), 1.0, 5, 0.1)),
    # unrolled_hypergradient(inner, outer, theta, w0, *, num_steps, learning_rate, max_num_steps, truncate)
    B("bilevel.unrolled_hypergradient", "learning_rate", lambda: bl.unrolled_hypergradient(INNER, OUTER, 1.0, W, num_steps=10, learning_rate=0.0), "zero lr"),
    B("bilevel.unrolled_hypergradient", "learning_rate", lambda: bl.unrolled_hypergradient(INNER, OUTER, 1.0, W, num_steps=10, learning_rate="0.1"), "string lr"),
    B("bilevel.unrolled_hypergradient", "num_steps", lambda: bl.unrolled_hypergradient(INNER, OUTER, 1.0, W, num_steps=0, learning_rate=0.1), "zero steps"),
    B("bilevel.unrolled_hypergradient", "num_steps", lambda: bl.unrolled_hypergradient(INNER, OUTER, 1.0, W, max_num_steps=10, learning_rate=0.1, num_steps=11), "num_steps > steps"),
    B("bilevel.unrolled_hypergradient", "num_steps", lambda: bl.unrolled_hypergradient(INNER, OUTER, 1.0, W, max_num_steps=10, learning_rate=0.1, num_steps=0), "zero num_steps"),
    B("bilevel.unrolled_hypergradient", "truncate", lambda: bl.unrolled_hypergradient(INNER, OUTER, 1.0, W, num_steps=10, learning_rate=0.1, truncate=0), "zero truncate"),
    B("bilevel.unrolled_hypergradient", "truncate", lambda: bl.unrolled_hypergradient(INNER, OUTER, 1.0, W, max_num_steps=10, learning_rate=0.1, num_steps=4, truncate=6), "truncate > num_steps"),
    B("bilevel.unrolled_hypergradient", "w0", lambda: bl.unrolled_hypergradient(INNER, OUTER, 1.0, jnp.ones((2, 2)), num_steps=10, learning_rate=0.1), "2-D w0"),
    B("bilevel.unrolled_hypergradient", "theta", lambda: bl.unrolled_hypergradient(INNER, OUTER, "t", W, num_steps=10, learning_rate=0.1), "string theta"),
    B("bilevel.unrolled_hypergradient", "outer", lambda: bl.unrolled_hypergradient(INNER, "f", 1.0, W, num_steps=10, learning_rate=0.1), "outer string"),
    C("bilevel.unrolled_hypergradient", lambda: bl.unrolled_hypergradient(INNER, OUTER, 1, [1, 0], num_steps=5, learning_rate=0.1),
      lambda: bl.unrolled_hypergradient(INNER, OUTER, 1.0, jnp.array([1.0, 0.0]), num_steps=5, learning_rate=0.1)),
    # penalty_hypergradient(inner, outer, theta, y0, *, sigma, num_steps, learning_rate, z0)
    B("bilevel.penalty_hypergradient", "sigma", lambda: bl.penalty_hypergradient(INNER, OUTER, 1.0, W, sigma=0.0, num_steps=5, learning_rate=0.1), "zero sigma"),
    B("bilevel.penalty_hypergradient", "sigma", lambda: bl.penalty_hypergradient(INNER, OUTER, 1.0, W, sigma=-1.0, num_steps=5, learning_rate=0.1), "negative sigma"),
    B("bilevel.penalty_hypergradient", "num_steps", lambda: bl.penalty_hypergradient(INNER, OUTER, 1.0, W, sigma=0.1, num_steps=0, learning_rate=0.1), "zero steps"),
    B("bilevel.penalty_hypergradient", "learning_rate", lambda: bl.penalty_hypergradient(INNER, OUTER, 1.0, W, sigma=0.1, num_steps=5, learning_rate=NAN), "NaN lr"),
    B("bilevel.penalty_hypergradient", "theta", lambda: bl.penalty_hypergradient(INNER, OUTER, NAN, W, sigma=0.1, num_steps=5, learning_rate=0.1), "NaN theta"),
    B("bilevel.penalty_hypergradient", "y0", lambda: bl.penalty_hypergradient(INNER, OUTER, 1.0, jnp.zeros(0), sigma=0.1, num_steps=5, learning_rate=0.1), "empty y0"),
    B("bilevel.penalty_hypergradient", "z0", lambda: bl.penalty_hypergradient(INNER, OUTER, 1.0, W, sigma=0.1, num_steps=5, learning_rate=0.1, z0=jnp.zeros(3)), "z0 shape"),
    B("bilevel.penalty_hypergradient", "z0", lambda: bl.penalty_hypergradient(INNER, OUTER, 1.0, W, sigma=0.1, num_steps=5, learning_rate=0.1, z0=W.at[0].set(INF)), "z0 inf"),
    B("bilevel.penalty_hypergradient", "return_solutions", lambda: bl.penalty_hypergradient(INNER, OUTER, 1.0, W, sigma=0.1, num_steps=5, learning_rate=0.1, return_solutions=None), "None flag"),
    C("bilevel.penalty_hypergradient", lambda: bl.penalty_hypergradient(INNER, OUTER, 1, [1, 0], sigma=0.1, num_steps=5, learning_rate=0.1),
      lambda: bl.penalty_hypergradient(INNER, OUTER, 1.0, jnp.array([1.0, 0.0]), sigma=0.1, num_steps=5, learning_rate=0.1)),
    # f2sa_hypergradient(inner, outer, theta, y0, *, lam, num_steps, learning_rate)
    B("bilevel.f2sa_hypergradient", "lam", lambda: bl.f2sa_hypergradient(INNER, OUTER, 1.0, W, lam=0.0, num_steps=5, learning_rate=0.1), "zero lam"),
    B("bilevel.f2sa_hypergradient", "lam", lambda: bl.f2sa_hypergradient(INNER, OUTER, 1.0, W, lam="10", num_steps=5, learning_rate=0.1), "string lam"),
    B("bilevel.f2sa_hypergradient", "lam", lambda: bl.f2sa_hypergradient(INNER, OUTER, 1.0, W, lam=INF, num_steps=5, learning_rate=0.1), "inf lam"),
    B("bilevel.f2sa_hypergradient", "num_steps", lambda: bl.f2sa_hypergradient(INNER, OUTER, 1.0, W, lam=10.0, num_steps=-1, learning_rate=0.1), "negative steps"),
    B("bilevel.f2sa_hypergradient", "learning_rate", lambda: bl.f2sa_hypergradient(INNER, OUTER, 1.0, W, lam=10.0, num_steps=5, learning_rate=0.0), "zero lr"),
    B("bilevel.f2sa_hypergradient", "y0", lambda: bl.f2sa_hypergradient(INNER, OUTER, 1.0, None, lam=10.0, num_steps=5, learning_rate=0.1), "None y0"),
    C("bilevel.f2sa_hypergradient", lambda: bl.f2sa_hypergradient(INNER, OUTER, 1, [1, 0], lam=10, num_steps=5, learning_rate=0.1),
      lambda: bl.f2sa_hypergradient(INNER, OUTER, 1.0, jnp.array([1.0, 0.0]), lam=10.0, num_steps=5, learning_rate=0.1)),
    # penalty_value
    B("bilevel.penalty_value", "sigma", lambda: bl.penalty_value(INNER, OUTER, 1.0, W, sigma=0.0, num_steps=5, learning_rate=0.1), "zero sigma"),
    B("bilevel.penalty_value", "num_steps", lambda: bl.penalty_value(INNER, OUTER, 1.0, W, sigma=0.1, num_steps=1.5, learning_rate=0.1), "float steps"),
    B("bilevel.penalty_value", "learning_rate", lambda: bl.penalty_value(INNER, OUTER, 1.0, W, sigma=0.1, num_steps=5, learning_rate=-1.0), "negative lr"),
    B("bilevel.penalty_value", "theta", lambda: bl.penalty_value(INNER, OUTER, [NAN], W, sigma=0.1, num_steps=5, learning_rate=0.1), "NaN theta"),
    B("bilevel.penalty_value", "y0", lambda: bl.penalty_value(INNER, OUTER, 1.0, "y", sigma=0.1, num_steps=5, learning_rate=0.1), "string y0"),
    C("bilevel.penalty_value", lambda: bl.penalty_value(INNER, OUTER, 1, [1, 0], sigma=0.1, num_steps=5, learning_rate=0.1),
      lambda: bl.penalty_value(INNER, OUTER, 1.0, jnp.array([1.0, 0.0]), sigma=0.1, num_steps=5, learning_rate=0.1)),
    # inner_gd(inner, theta, w0, *, num_steps, learning_rate)
    B("bilevel.inner_gd", "num_steps", lambda: bl.inner_gd(INNER, 1.0, W, num_steps=-1, learning_rate=0.1), "negative steps"),
    B("bilevel.inner_gd", "num_steps", lambda: bl.inner_gd(INNER, 1.0, W, num_steps=2.5, learning_rate=0.1), "float steps"),
    B("bilevel.inner_gd", "learning_rate", lambda: bl.inner_gd(INNER, 1.0, W, num_steps=5, learning_rate=0.0), "zero lr"),
    B("bilevel.inner_gd", "learning_rate", lambda: bl.inner_gd(INNER, 1.0, W, num_steps=5, learning_rate=None), "None lr"),
    B("bilevel.inner_gd", "w0", lambda: bl.inner_gd(INNER, 1.0, W.at[0].set(NAN), num_steps=5, learning_rate=0.1), "NaN w0"),
    B("bilevel.inner_gd", "w0", lambda: bl.inner_gd(INNER, 1.0, jnp.zeros(3), num_steps=5, learning_rate=0.1), "w0 wrong length"),
    B("bilevel.inner_gd", "theta", lambda: bl.inner_gd(INNER, jnp.ones((1, 1)), W, num_steps=5, learning_rate=0.1), "2-D theta"),
    B("bilevel.inner_gd", "inner", lambda: bl.inner_gd([INNER], 1.0, W, num_steps=5, learning_rate=0.1), "inner list"),
    C("bilevel.inner_gd", lambda: bl.inner_gd(INNER, 1, [1, 0], num_steps=5, learning_rate=0.1),
      lambda: bl.inner_gd(INNER, 1.0, jnp.array([1.0, 0.0]), num_steps=5, learning_rate=0.1)),
    # inner_gd_tol(inner, theta, w0, *, tol, learning_rate, num_steps)
    B("bilevel.inner_gd_tol", "tol", lambda: bl.inner_gd_tol(INNER, 1.0, W, tol=0.0, learning_rate=0.1), "zero tol"),
    B("bilevel.inner_gd_tol", "tol", lambda: bl.inner_gd_tol(INNER, 1.0, W, tol=NAN, learning_rate=0.1), "NaN tol"),
    B("bilevel.inner_gd_tol", "learning_rate", lambda: bl.inner_gd_tol(INNER, 1.0, W, tol=1e-3, learning_rate=-0.1), "negative lr"),
    B("bilevel.inner_gd_tol", "learning_rate", lambda: bl.inner_gd_tol(INNER, 1.0, W, tol=1e-3, learning_rate=1e3, num_steps=500), "diverging lr"),
    B("bilevel.inner_gd_tol", "num_steps", lambda: bl.inner_gd_tol(INNER, 1.0, W, tol=1e-3, learning_rate=0.1, num_steps=0), "zero maxiter"),
    B("bilevel.inner_gd_tol", "w0", lambda: bl.inner_gd_tol(INNER, 1.0, jnp.ones((2, 2)), tol=1e-3, learning_rate=0.1), "2-D w0"),
    B("bilevel.inner_gd_tol", "theta", lambda: bl.inner_gd_tol(INNER, INF, W, tol=1e-3, learning_rate=0.1), "inf theta"),
    C("bilevel.inner_gd_tol", lambda: bl.inner_gd_tol(INNER, 1, [1, 0], tol=1e-3, learning_rate=0.1),
      lambda: bl.inner_gd_tol(INNER, 1.0, jnp.array([1.0, 0.0]), tol=1e-3, learning_rate=0.1)),
    # hypergradient_descent(inner, outer, theta0, w0, ...)
    *[B("bilevel.hypergradient_descent", arg,
        (lambda kw=kw: bl.hypergradient_descent(INNER, OUTER, 1.0, W, **{**dict(learning_rate=0.1, num_steps=3, inner_num_steps=2,
                                                                                   inner_learning_rate=0.1), **kw})), why)
      for arg, kw, why in (
          ("learning_rate", dict(learning_rate=-1.0), "negative outer_lr"),
          ("learning_rate", dict(learning_rate="0.1"), "string outer_lr"),
          ("inner_learning_rate", dict(inner_learning_rate=0.0), "zero inner_lr"),
          ("num_steps", dict(num_steps=0), "zero steps"),
          ("inner_num_steps", dict(inner_num_steps=1.5), "float inner_steps"),
          ("cg_num_steps", dict(cg_num_steps=0), "zero cg_iters"),
          ("method", dict(method="bfgs"), "unknown method"),
          ("method", dict(method=None), "None method"),
          ("lam", dict(lam=-1.0), "negative lam"),
          ("lam_max", dict(lam_max=0.0), "zero lam_max"),
          ("lam_growth", dict(lam_growth=-1.0), "negative lam_growth"),
          ("lam_growth", dict(lam_growth="1"), "string lam_growth"),
          ("tol", dict(tol=-1.0), "negative tol"))],
    B("bilevel.hypergradient_descent", "theta0", lambda: bl.hypergradient_descent(INNER, OUTER, NAN, W, learning_rate=0.1, num_steps=3, inner_num_steps=2, inner_learning_rate=0.1), "NaN theta0"),
    B("bilevel.hypergradient_descent", "w0", lambda: bl.hypergradient_descent(INNER, OUTER, 1.0, jnp.zeros(0), learning_rate=0.1, num_steps=3, inner_num_steps=2, inner_learning_rate=0.1), "empty w0"),
    B("bilevel.hypergradient_descent", "outer", lambda: bl.hypergradient_descent(INNER, None, 1.0, W, learning_rate=0.1, num_steps=3, inner_num_steps=2, inner_learning_rate=0.1), "outer None"),
    C("bilevel.hypergradient_descent", lambda: bl.hypergradient_descent(INNER, OUTER, 1, [1, 0], learning_rate=0.1, num_steps=3, inner_num_steps=2, inner_learning_rate=0.1),
      lambda: bl.hypergradient_descent(INNER, OUTER, 1.0, jnp.array([1.0, 0.0]), learning_rate=0.1, num_steps=3, inner_num_steps=2, inner_learning_rate=0.1)),
    # hoag
    B("bilevel.hoag", "num_steps", lambda: bl.hoag(INNER, OUTER, 1.0, W, inner_learning_rate=0.1, num_steps=0), "zero steps"),
    B("bilevel.hoag", "tolerances", lambda: bl.hoag(INNER, OUTER, 1.0, W, inner_learning_rate=0.1, num_steps=5, tolerances=[0.1, 0.1]), "too few tolerances"),
    B("bilevel.hoag", "tolerances", lambda: bl.hoag(INNER, OUTER, 1.0, W, inner_learning_rate=0.1, num_steps=2, tolerances=[0.1, -0.1]), "negative tolerance"),
    B("bilevel.hoag", "tolerances", lambda: bl.hoag(INNER, OUTER, 1.0, W, inner_learning_rate=0.1, num_steps=2, tolerances=[0.1, NAN]), "NaN tolerance"),
    B("bilevel.hoag", "tolerances", lambda: bl.hoag(INNER, OUTER, 1.0, W, inner_learning_rate=0.1, num_steps=2, tolerances="0.1"), "string tolerances"),
    B("bilevel.hoag", "learning_rate", lambda: bl.hoag(INNER, OUTER, 1.0, W, inner_learning_rate=0.1, num_steps=2, learning_rate=0.0), "zero step"),
    B("bilevel.hoag", "inner_learning_rate", lambda: bl.hoag(INNER, OUTER, 1.0, W, inner_learning_rate=-0.1, num_steps=2), "negative inner_lr"),
    B("bilevel.hoag", "inner_learning_rate", lambda: bl.hoag(INNER, OUTER, 1.0, W, inner_learning_rate=lambda t: -1.0, num_steps=2), "callable negative inner_lr"),
    B("bilevel.hoag", "cg_num_steps", lambda: bl.hoag(INNER, OUTER, 1.0, W, inner_learning_rate=0.1, num_steps=2, cg_num_steps=0), "zero cg"),
    B("bilevel.hoag", "adapt_step", lambda: bl.hoag(INNER, OUTER, 1.0, W, inner_learning_rate=0.1, num_steps=2, adapt_step="yes"), "string flag"),
    B("bilevel.hoag", "theta0", lambda: bl.hoag(INNER, OUTER, INF, W, inner_learning_rate=0.1, num_steps=2), "inf theta0"),
    B("bilevel.hoag", "w0", lambda: bl.hoag(INNER, OUTER, 1.0, jnp.ones((2, 2)), inner_learning_rate=0.1, num_steps=2), "2-D w0"),
    B("bilevel.hoag", "theta0", lambda: jax.jit(lambda t: bl.hoag(INNER, OUTER, t, W, inner_learning_rate=0.1, num_steps=2).params)(1.0), "traced theta0"),
    C("bilevel.hoag", lambda: bl.hoag(INNER, OUTER, 1, [1, 0], inner_learning_rate=0.1, num_steps=2),
      lambda: bl.hoag(INNER, OUTER, 1.0, jnp.array([1.0, 0.0]), inner_learning_rate=0.1, num_steps=2)),
    # adaptive_inexact
    *[B("bilevel.adaptive_inexact", arg,
        (lambda kw=kw: bl.adaptive_inexact(INNER, OUTER, 1.0, W, **{**dict(inner_learning_rate=0.1, num_steps=2), **kw})), why)
      for arg, kw, why in (
          ("rho", dict(rho=1.5), "rho > 1"),
          ("rho", dict(rho=0.0), "rho 0"),
          ("nu", dict(nu=1.0), "nu = 1"),
          ("eps0", dict(eps0=-1.0), "negative eps0"),
          ("learning_rate", dict(learning_rate=NAN), "NaN step"),
          ("armijo", dict(armijo=0.0), "zero eta"),
          ("ratio", dict(ratio="0.5"), "string ratio"),
          ("min_eps", dict(min_eps=0.0), "zero min_eps"),
          ("max_backtracks", dict(max_backtracks=0), "zero backtracks"),
          ("cg_num_steps", dict(cg_num_steps=-1), "negative cg"),
          ("num_steps", dict(num_steps=0), "zero steps"),
          ("inner_learning_rate", dict(inner_learning_rate=0.0), "zero inner_lr"))],
    B("bilevel.adaptive_inexact", "w0", lambda: bl.adaptive_inexact(INNER, OUTER, 1.0, W.at[0].set(NAN), inner_learning_rate=0.1, num_steps=2), "NaN w0"),
    C("bilevel.adaptive_inexact", lambda: bl.adaptive_inexact(INNER, OUTER, 1, [1, 0], inner_learning_rate=0.1, num_steps=2),
      lambda: bl.adaptive_inexact(INNER, OUTER, 1.0, jnp.array([1.0, 0.0]), inner_learning_rate=0.1, num_steps=2)),
    # data_cleaning_problem(*, key, n_train, n_val, d, flip_fraction)
    B("bilevel.data_cleaning_problem", "key", lambda: bl.data_cleaning_problem(key=0), "integer key"),
    B("bilevel.data_cleaning_problem", "key", lambda: bl.data_cleaning_problem(key=None), "None key"),
    B("bilevel.data_cleaning_problem", "n_train", lambda: bl.data_cleaning_problem(key=KEY, n_train=1), "n_train 1"),
    B("bilevel.data_cleaning_problem", "n_train", lambda: bl.data_cleaning_problem(key=KEY, n_train=10.0), "float n_train"),
    B("bilevel.data_cleaning_problem", "n_val", lambda: bl.data_cleaning_problem(key=KEY, n_val=0), "n_val 0"),
    B("bilevel.data_cleaning_problem", "d", lambda: bl.data_cleaning_problem(key=KEY, d=0), "d 0"),
    B("bilevel.data_cleaning_problem", "flip_fraction", lambda: bl.data_cleaning_problem(key=KEY, flip_fraction=0.6), "flip > 0.5"),
    B("bilevel.data_cleaning_problem", "flip_fraction", lambda: bl.data_cleaning_problem(key=KEY, flip_fraction=-0.1), "flip < 0"),
    B("bilevel.data_cleaning_problem", "flip_fraction", lambda: bl.data_cleaning_problem(key=KEY, flip_fraction=NAN), "flip NaN"),
    B("bilevel.data_cleaning_problem", "flip_fraction", lambda: bl.data_cleaning_problem(key=KEY, flip_fraction="0.3"), "flip string"),
    # weighted_logistic_losses(data, mu)
    B("bilevel.weighted_logistic_losses", "mu", lambda: bl.weighted_logistic_losses(DATA, mu=0.0), "zero mu"),
    B("bilevel.weighted_logistic_losses", "mu", lambda: bl.weighted_logistic_losses(DATA, mu=-1.0), "negative mu"),
    B("bilevel.weighted_logistic_losses", "mu", lambda: bl.weighted_logistic_losses(DATA, mu="0.1"), "string mu"),
    B("bilevel.weighted_logistic_losses", "data", lambda: bl.weighted_logistic_losses((1, 2, 3)), "data tuple"),
    B("bilevel.weighted_logistic_losses", "data", lambda: bl.weighted_logistic_losses(None), "data None"),
    # auc(scores, labels)
    B("bilevel.auc", "scores", lambda: bl.auc(jnp.array([0.1, NAN, 0.3]), [1, 0, 1]), "NaN scores"),
    B("bilevel.auc", "scores", lambda: bl.auc(jnp.ones((2, 2)), jnp.ones((2, 2))), "2-D scores"),
    B("bilevel.auc", "scores", lambda: bl.auc("s", [1, 0]), "string scores"),
    B("bilevel.auc", "labels", lambda: bl.auc(jnp.array([0.1, 0.2, 0.3]), [1, 0]), "labels length"),
    B("bilevel.auc", "labels", lambda: bl.auc(jnp.array([0.1, 0.2, 0.3]), [1, 1, 1]), "one class"),
    B("bilevel.auc", "labels", lambda: bl.auc(jnp.array([0.1, 0.2, 0.3]), [2, 0, 1]), "label 2"),
    B("bilevel.auc", "labels", lambda: bl.auc(jnp.array([0.1, 0.2]), None), "None labels"),
    C("bilevel.auc", lambda: bl.auc([1, 3, 2], [0, 1, 0]),
      lambda: bl.auc(jnp.array([1.0, 3.0, 2.0]), np.array([False, True, False]))),
]

EXEMPT = {
    "BilevelTrace": "NamedTuple result type, no argument to validate",
    "InexactTrace": "NamedTuple result type, no argument to validate",
    "InnerGDOutput": "NamedTuple result type, no argument to validate",
    "InnerSolveOutput": "NamedTuple result type, no argument to validate",
    "CleaningData": "NamedTuple data container, built (and validated) by data_cleaning_problem",
}
