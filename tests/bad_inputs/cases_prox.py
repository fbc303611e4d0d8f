"""Bad-input cases for optlab.prox."""

import jax
import jax.numpy as jnp

import badinput
from optlab import prox as px

B, C = badinput.Bad, badinput.Coerce
KEY = jax.random.key(0)
NAN = float("nan")
V = jnp.array([1.5, -0.2, 0.7, -2.0])
M = jnp.array([[2.0, 0.5], [0.1, 1.0], [0.3, -0.4]])
A = jnp.array([[1.0, 0.0, 2.0], [0.5, 1.0, -1.0], [0.0, 2.0, 1.0], [1.0, 1.0, 1.0]])
Bv = jnp.array([1.0, 0.0, -1.0, 2.0])
X3 = jnp.zeros(3)
W = jnp.array([[0.0, 2.0, 1.0], [1.0, 0.0, 3.0], [2.0, 1.0, 0.0]])


def f(x):
    return 0.5 * jnp.sum((x - 1.0) ** 2)


def g(x):
    return jnp.sum(jnp.abs(x))


def prox(v, scale):
    return px.prox_l1(v, scale)


CASES = []
for name, call in (("prox_l1", px.prox_l1), ("prox_l2", px.prox_l2), ("prox_nuclear", px.prox_nuclear)):
    arg = M if name == "prox_nuclear" else V
    CASES += [
        B(f"prox.{name}", "v", lambda c=call, a=arg: c(a.at[0].set(NAN)), "NaN v"),
        B(f"prox.{name}", "v", lambda c=call: c("abc"), "string v"),
        B(f"prox.{name}", "v", lambda c=call: c(None), "None v"),
        B(f"prox.{name}", "scale", lambda c=call, a=arg: c(a, -1.0), "negative scale"),
        B(f"prox.{name}", "scale", lambda c=call, a=arg: c(a, NAN), "NaN scale"),
        B(f"prox.{name}", "scale", lambda c=call, a=arg: c(a, "1"), "string scale"),
    ]
CASES += [
    B("prox.prox_l1", "v", lambda: px.prox_l1(jnp.zeros(0)), "empty v"),
    B("prox.prox_l2", "scale", lambda: px.prox_l2(V, jnp.ones(2)), "vector scale"),
    B("prox.prox_nuclear", "v", lambda: px.prox_nuclear(V), "vector v"),
    C("prox.prox_l1", lambda: px.prox_l1([1, -2, 3], 1), lambda: px.prox_l1(jnp.array([1.0, -2.0, 3.0]), 1.0)),
    C("prox.prox_l2", lambda: px.prox_l2([3, 4], 1), lambda: px.prox_l2(jnp.array([3.0, 4.0]), 1.0)),
    C("prox.prox_nuclear", lambda: px.prox_nuclear([[2, 0], [0, 1]], 1),
      lambda: px.prox_nuclear(jnp.array([[2.0, 0.0], [0.0, 1.0]]), 1.0)),
    B("prox.prox_box", "lower", lambda: px.prox_box(V, lower=1.0, upper=0.0), "lower > upper"),
    B("prox.prox_box", "lower", lambda: px.prox_box(V, lower=NAN, upper=0.0), "NaN lower"),
    B("prox.prox_box", "upper", lambda: px.prox_box(V, lower=0.0, upper="x"), "string upper"),
    B("prox.prox_box", "v", lambda: px.prox_box(V.at[1].set(NAN), lower=0.0, upper=1.0), "NaN v"),
    B("prox.prox_box", "scale", lambda: px.prox_box(V, -1.0, lower=0.0, upper=1.0), "negative scale"),
    C("prox.prox_box", lambda: px.prox_box([1, -2, 3], lower=0, upper=2),
      lambda: px.prox_box(jnp.array([1.0, -2.0, 3.0]), lower=0.0, upper=2.0)),
    B("prox.prox_group_l2", "groups", lambda: px.prox_group_l2(V, 1.0, groups=(2, 1)), "sizes do not sum"),
    B("prox.prox_group_l2", "groups", lambda: px.prox_group_l2(V, 1.0, groups=(2, 0, 2)), "zero size"),
    B("prox.prox_group_l2", "groups", lambda: px.prox_group_l2(V, 1.0, groups=(2.0, 2.0)), "float sizes"),
    B("prox.prox_group_l2", "groups", lambda: px.prox_group_l2(V, 1.0, groups=4), "int groups"),
    B("prox.prox_group_l2", "scale", lambda: px.prox_group_l2(V, -1.0, groups=(2, 2)), "negative scale"),
    B("prox.prox_group_l2", "v", lambda: px.prox_group_l2(M, 1.0, groups=(3, 3)), "matrix v"),
    B("prox.prox_conjugate", "prox", lambda: px.prox_conjugate(3, V, 1.0), "prox not callable"),
    B("prox.prox_conjugate", "scale", lambda: px.prox_conjugate(px.prox_l1, V, 0.0), "zero scale"),
    B("prox.prox_conjugate", "v", lambda: px.prox_conjugate(px.prox_l1, V.at[0].set(NAN), 1.0), "NaN v"),
    B("prox.moreau_envelope", "g", lambda: px.moreau_envelope(None, px.prox_l1, V, 1.0), "g None"),
    B("prox.moreau_envelope", "prox", lambda: px.moreau_envelope(g, "l1", V, 1.0), "prox string"),
    B("prox.moreau_envelope", "scale", lambda: px.moreau_envelope(g, px.prox_l1, V, -2.0), "negative scale"),
    B("prox.moreau_envelope", "v", lambda: px.moreau_envelope(g, px.prox_l1, V.at[0].set(NAN), 1.0), "NaN v"),
    B("prox.moreau_gradient", "scale", lambda: px.moreau_gradient(px.prox_l1, V, 0.0), "zero scale"),
    B("prox.moreau_gradient", "prox", lambda: px.moreau_gradient(1.0, V, 1.0), "prox float"),
    B("prox.moreau_gradient", "v", lambda: px.moreau_gradient(px.prox_l1, "v", 1.0), "string v"),
    # proximal gradient
    B("prox.proximal_gradient", "f", lambda: px.proximal_gradient(1, g, prox, X3, learning_rate=0.1,
                                                                   num_steps=5), "f not callable"),
    B("prox.proximal_gradient", "prox", lambda: px.proximal_gradient(f, g, None, X3, learning_rate=0.1,
                                                                      num_steps=5), "prox None"),
    B("prox.proximal_gradient", "x0", lambda: px.proximal_gradient(f, g, prox, X3.at[0].set(NAN),
                                                                    learning_rate=0.1, num_steps=5), "NaN x0"),
    B("prox.proximal_gradient", "learning_rate", lambda: px.proximal_gradient(
        f, g, prox, X3, learning_rate=-0.1, num_steps=5), "negative learning_rate"),
    B("prox.proximal_gradient", "num_steps", lambda: px.proximal_gradient(
        f, g, prox, X3, learning_rate=0.1, num_steps=0), "zero num_steps"),
    B("prox.proximal_gradient", "num_steps", lambda: px.proximal_gradient(
        f, g, prox, X3, learning_rate=0.1, num_steps=2.5), "float num_steps"),
    B("prox.proximal_gradient", "acceleration", lambda: px.proximal_gradient(
        f, g, prox, X3, learning_rate=0.1, num_steps=5, acceleration="nesterov"), "unknown acceleration"),
    B("prox.proximal_gradient", "tol", lambda: px.proximal_gradient(
        f, g, prox, X3, learning_rate=0.1, num_steps=5, tol=-1.0), "negative tol"),
    C("prox.proximal_gradient", lambda: px.proximal_gradient(f, g, prox, [0, 0, 0], learning_rate=1, num_steps=5),
      lambda: px.proximal_gradient(f, g, prox, X3, learning_rate=1.0, num_steps=5)),
    # lasso
    B("prox.lasso", "A", lambda: px.lasso(A[0], Bv, reg=0.1, num_steps=5), "vector A"),
    B("prox.lasso", "b", lambda: px.lasso(A, Bv[:3], reg=0.1, num_steps=5), "b rows"),
    B("prox.lasso", "b", lambda: px.lasso(A, Bv.at[0].set(NAN), reg=0.1, num_steps=5), "NaN b"),
    B("prox.lasso", "reg", lambda: px.lasso(A, Bv, reg=-0.1, num_steps=5), "negative reg"),
    B("prox.lasso", "reg", lambda: px.lasso(A, Bv, reg=None, num_steps=5), "None reg"),
    B("prox.lasso", "num_steps", lambda: px.lasso(A, Bv, reg=0.1, num_steps=-1), "negative num_steps"),
    B("prox.lasso", "learning_rate", lambda: px.lasso(A, Bv, reg=0.1, num_steps=5, learning_rate=0.0),
      "zero learning_rate"),
    B("prox.lasso", "acceleration", lambda: px.lasso(A, Bv, reg=0.1, num_steps=5, acceleration=1), "int acceleration"),
    B("prox.lasso", "x0", lambda: px.lasso(A, Bv, reg=0.1, num_steps=5, x0=jnp.zeros(2)), "x0 shape"),
    C("prox.lasso", lambda: px.lasso([[1, 0, 2], [0, 1, -1], [0, 2, 1], [1, 1, 1]], [1, 0, -1, 2], reg=0.1,
                                     num_steps=5),
      lambda: px.lasso(jnp.array([[1.0, 0, 2], [0, 1, -1], [0, 2, 1], [1, 1, 1]]), Bv, reg=0.1, num_steps=5)),
    B("prox.lasso_objective", "x", lambda: px.lasso_objective(A, Bv, jnp.zeros(2), reg=0.1), "x shape"),
    B("prox.lasso_objective", "reg", lambda: px.lasso_objective(A, Bv, X3, reg=-1.0), "negative reg"),
    B("prox.lasso_objective", "A", lambda: px.lasso_objective("A", Bv, X3, reg=1.0), "string A"),
    B("prox.lasso_duality_gap", "x", lambda: px.lasso_duality_gap(A, Bv, X3.at[0].set(NAN), reg=0.1), "NaN x"),
    B("prox.lasso_duality_gap", "reg", lambda: px.lasso_duality_gap(A, Bv, X3, reg=NAN), "NaN reg"),
    B("prox.lasso_duality_gap", "b", lambda: px.lasso_duality_gap(A, Bv[:2], X3, reg=0.1), "b rows"),
    B("prox.lasso_reg_max", "A", lambda: px.lasso_reg_max(None, Bv), "None A"),
    B("prox.lasso_reg_max", "b", lambda: px.lasso_reg_max(A, jnp.ones((4, 1))), "matrix b"),
    C("prox.lasso_objective", lambda: px.lasso_objective([[1, 0], [0, 1]], [1, 1], [0, 0], reg=1),
      lambda: px.lasso_objective(jnp.eye(2), jnp.ones(2), jnp.zeros(2), reg=1.0)),
    # subgradient
    B("prox.subgradient_method", "f", lambda: px.subgradient_method("f", X3, learning_rate=0.1, num_steps=5),
      "string f"),
    B("prox.subgradient_method", "x0", lambda: px.subgradient_method(g, jnp.ones((2, 2)), learning_rate=0.1,
                                                                      num_steps=5), "matrix x0"),
    B("prox.subgradient_method", "learning_rate", lambda: px.subgradient_method(
        g, X3, learning_rate=0.0, num_steps=5), "zero learning_rate"),
    B("prox.subgradient_method", "learning_rate", lambda: px.subgradient_method(
        g, X3, learning_rate=jnp.ones(3), num_steps=5), "vector learning_rate"),
    B("prox.subgradient_method", "num_steps", lambda: px.subgradient_method(
        g, X3, learning_rate=0.1, num_steps=0), "zero num_steps"),
    B("prox.subgradient_method", "subgradient", lambda: px.subgradient_method(
        g, X3, learning_rate=0.1, num_steps=5, subgradient=3), "subgradient not callable"),
    C("prox.subgradient_method", lambda: px.subgradient_method(g, [1, 2, 3], learning_rate=1, num_steps=4),
      lambda: px.subgradient_method(g, jnp.array([1.0, 2.0, 3.0]), learning_rate=1.0, num_steps=4)),
    # coordinate descent
    B("prox.lasso_coordinate_descent", "rule", lambda: px.lasso_coordinate_descent(
        A, Bv, reg=0.1, num_steps=3, rule="greedy"), "unknown rule"),
    B("prox.lasso_coordinate_descent", "key", lambda: px.lasso_coordinate_descent(
        A, Bv, reg=0.1, num_steps=3, rule="random"), "missing key"),
    B("prox.lasso_coordinate_descent", "key", lambda: px.lasso_coordinate_descent(
        A, Bv, reg=0.1, num_steps=3, rule="random", key=0), "integer key"),
    B("prox.lasso_coordinate_descent", "reg", lambda: px.lasso_coordinate_descent(
        A, Bv, reg=-1.0, num_steps=3), "negative reg"),
    B("prox.lasso_coordinate_descent", "num_steps", lambda: px.lasso_coordinate_descent(
        A, Bv, reg=0.1, num_steps=0), "zero num_steps"),
    B("prox.lasso_coordinate_descent", "A", lambda: px.lasso_coordinate_descent(
        jnp.zeros((4, 3)), Bv, reg=0.1, num_steps=3), "all-zero A"),
    B("prox.lasso_coordinate_descent", "b", lambda: px.lasso_coordinate_descent(
        A, Bv.at[1].set(jnp.inf), reg=0.1, num_steps=3), "inf b"),
    B("prox.lasso_coordinate_descent", "x0", lambda: px.lasso_coordinate_descent(
        A, Bv, reg=0.1, num_steps=3, x0=jnp.ones(5)), "x0 shape"),
    B("prox.coordinate_lipschitz", "A", lambda: px.coordinate_lipschitz(jnp.ones(3)), "vector A"),
    B("prox.coordinate_lipschitz", "A", lambda: px.coordinate_lipschitz(A.at[0, 0].set(NAN)), "NaN A"),
    C("prox.coordinate_lipschitz", lambda: px.coordinate_lipschitz([[1, 2], [3, 4]]),
      lambda: px.coordinate_lipschitz(jnp.array([[1.0, 2.0], [3.0, 4.0]]))),
    # nonconvex penalties
    B("prox.scad_penalty", "x", lambda: px.scad_penalty(V.at[0].set(NAN), reg=1.0), "NaN x"),
    B("prox.scad_penalty", "reg", lambda: px.scad_penalty(V, reg=-1.0), "negative reg"),
    B("prox.scad_penalty", "a", lambda: px.scad_penalty(V, reg=1.0, a=0.5), "a below 1"),
    B("prox.mcp_penalty", "x", lambda: px.mcp_penalty("x", reg=1.0), "string x"),
    B("prox.mcp_penalty", "a", lambda: px.mcp_penalty(V, reg=1.0, a=0.0), "zero a"),
    B("prox.mcp_penalty", "reg", lambda: px.mcp_penalty(V, reg=None), "None reg"),
    C("prox.scad_penalty", lambda: px.scad_penalty([1, -2, 5], reg=1), lambda: px.scad_penalty(
        jnp.array([1.0, -2.0, 5.0]), reg=1.0)),
    C("prox.mcp_penalty", lambda: px.mcp_penalty([1, -2, 5], reg=1), lambda: px.mcp_penalty(
        jnp.array([1.0, -2.0, 5.0]), reg=1.0)),
    B("prox.prox_scad", "scale", lambda: px.prox_scad(V, 2.7, reg=1.0, a=3.7), "scale = a − 1"),
    B("prox.prox_scad", "scale", lambda: px.prox_scad(V, -0.1, reg=1.0), "negative scale"),
    B("prox.prox_scad", "v", lambda: px.prox_scad(V.at[2].set(jnp.inf), reg=1.0), "inf v"),
    B("prox.prox_scad", "a", lambda: px.prox_scad(V, 0.5, reg=1.0, a="3"), "string a"),
    B("prox.prox_scad", "reg", lambda: px.prox_scad(V, 0.5, reg=NAN), "NaN reg"),
    B("prox.prox_mcp", "scale", lambda: px.prox_mcp(V, 3.0, reg=1.0, a=3.0), "scale = a"),
    B("prox.prox_mcp", "scale", lambda: px.prox_mcp(V, jnp.ones(2), reg=1.0), "vector scale"),
    B("prox.prox_mcp", "v", lambda: px.prox_mcp(None, reg=1.0), "None v"),
    B("prox.prox_mcp", "a", lambda: px.prox_mcp(V, reg=1.0, a=-1.0), "negative a"),
    C("prox.prox_scad", lambda: px.prox_scad([1, -3, 8], 1, reg=1), lambda: px.prox_scad(
        jnp.array([1.0, -3.0, 8.0]), 1.0, reg=1.0)),
    C("prox.prox_mcp", lambda: px.prox_mcp([1, -3, 8], 1, reg=1), lambda: px.prox_mcp(
        jnp.array([1.0, -3.0, 8.0]), 1.0, reg=1.0)),
    B("prox.nonconvex_regression", "penalty", lambda: px.nonconvex_regression(
        A, Bv, reg=0.1, num_steps=3, penalty="l0"), "unknown penalty"),
    B("prox.nonconvex_regression", "acceleration", lambda: px.nonconvex_regression(
        A, Bv, reg=0.1, num_steps=3, acceleration="fista"), "fista not offered"),
    B("prox.nonconvex_regression", "learning_rate", lambda: px.nonconvex_regression(
        A, Bv, reg=0.1, num_steps=3, acceleration="none", learning_rate=3.0), "learning_rate above a − 1"),
    B("prox.nonconvex_regression", "learning_rate", lambda: px.nonconvex_regression(
        A, Bv, reg=0.1, num_steps=3, learning_rate=-1.0), "negative learning_rate"),
    B("prox.nonconvex_regression", "a", lambda: px.nonconvex_regression(
        A, Bv, reg=0.1, num_steps=3, a=1.0), "SCAD a = 1"),
    B("prox.nonconvex_regression", "b", lambda: px.nonconvex_regression(
        A, Bv[:3], reg=0.1, num_steps=3), "b rows"),
    B("prox.nonconvex_regression", "reg", lambda: px.nonconvex_regression(
        A, Bv, reg=-0.1, num_steps=3), "negative reg"),
    B("prox.nonconvex_regression", "num_steps", lambda: px.nonconvex_regression(
        A, Bv, reg=0.1, num_steps=0), "zero num_steps"),
    B("prox.nonconvex_regression", "x0", lambda: px.nonconvex_regression(
        A, Bv, reg=0.1, num_steps=3, x0=jnp.ones(2)), "x0 shape"),
    B("prox.nonconvex_regression", "tol", lambda: px.nonconvex_regression(
        A, Bv, reg=0.1, num_steps=3, tol=-1.0), "negative tol"),
    C("prox.nonconvex_regression", lambda: px.nonconvex_regression(
        [[1, 0, 2], [0, 1, -1], [0, 2, 1], [1, 1, 1]], [1, 0, -1, 2], reg=0.1, num_steps=5),
      lambda: px.nonconvex_regression(jnp.array([[1.0, 0, 2], [0, 1, -1], [0, 2, 1], [1, 1, 1]]), Bv, reg=0.1,
                                      num_steps=5)),
    # rankings
    B("prox.bradley_terry", "wins", lambda: px.bradley_terry(jnp.ones((2, 3))), "not square"),
    B("prox.bradley_terry", "wins", lambda: px.bradley_terry(-W), "negative wins"),
    B("prox.bradley_terry", "wins", lambda: px.bradley_terry(W.at[0, :].set(0.0)), "a player never wins"),
    B("prox.bradley_terry", "wins", lambda: px.bradley_terry(W.at[1, 2].set(NAN)), "NaN wins"),
    B("prox.bradley_terry", "method", lambda: px.bradley_terry(W, method="elo"), "unknown method"),
    B("prox.bradley_terry", "num_steps", lambda: px.bradley_terry(W, num_steps=0), "zero num_steps"),
    B("prox.bradley_terry", "tol", lambda: px.bradley_terry(W, tol=-1.0), "negative tol"),
    C("prox.bradley_terry", lambda: px.bradley_terry([[0, 2, 1], [1, 0, 3], [2, 1, 0]]),
      lambda: px.bradley_terry(W)),
    B("prox.bradley_terry_loglik", "scores", lambda: px.bradley_terry_loglik(W, jnp.array([1.0, -1.0, 1.0])),
      "negative scores"),
    B("prox.bradley_terry_loglik", "scores", lambda: px.bradley_terry_loglik(W, jnp.ones(4)), "wrong length"),
    B("prox.bradley_terry_loglik", "wins", lambda: px.bradley_terry_loglik(W[:1], jnp.ones(3)), "wins 1x3"),
]

EXEMPT = {
    "ProxGradOutput": "a result type",
    "SubgradientOutput": "a result type",
    "CDOutput": "a result type",
    "RankingOutput": "a result type",
    "ConversionOutput": "a result type",
    "ModelBasedOutput": "a result type",
}

# online-to-nonconvex conversion
_O2NC = dict(delta=0.1, epoch_length=2, num_steps=4, learning_rate=0.1, key=KEY)
CASES += [
    B("prox.online_to_nonconvex", "f", lambda: px.online_to_nonconvex("f", X3, **_O2NC), "string f"),
    B("prox.online_to_nonconvex", "x0", lambda: px.online_to_nonconvex(g, X3.at[0].set(NAN), **_O2NC), "NaN x0"),
    B("prox.online_to_nonconvex", "delta", lambda: px.online_to_nonconvex(g, X3, **{**_O2NC, "delta": 0.0}),
      "zero delta"),
    B("prox.online_to_nonconvex", "learning_rate", lambda: px.online_to_nonconvex(
        g, X3, **{**_O2NC, "learning_rate": -1.0}), "negative learning_rate"),
    B("prox.online_to_nonconvex", "epoch_length", lambda: px.online_to_nonconvex(
        g, X3, **{**_O2NC, "epoch_length": 0}), "zero epoch_length"),
    B("prox.online_to_nonconvex", "num_steps", lambda: px.online_to_nonconvex(
        g, X3, **{**_O2NC, "num_steps": 5}), "num_steps not a multiple of epoch_length"),
    B("prox.online_to_nonconvex", "key", lambda: px.online_to_nonconvex(g, X3, **{**_O2NC, "key": 0}), "int key"),
    B("prox.online_to_nonconvex", "gradient", lambda: px.online_to_nonconvex(g, X3, **_O2NC, gradient=3),
      "gradient not callable"),
    C("prox.online_to_nonconvex", lambda: px.online_to_nonconvex(g, [1, 2, 3], **_O2NC),
      lambda: px.online_to_nonconvex(g, jnp.array([1.0, 2.0, 3.0]), **_O2NC)),
]

# stochastic model-based methods
_RES = px.phase_retrieval_residual
_MB = dict(model="prox_linear", learning_rate=0.1, num_steps=3, key=KEY)
A3 = A[:, :3]
CASES += [
    B("prox.stochastic_model_based", "residual", lambda: px.stochastic_model_based("r", A3, Bv, X3, **_MB),
      "string residual"),
    B("prox.stochastic_model_based", "A", lambda: px.stochastic_model_based(_RES, A3.at[0, 0].set(NAN), Bv, X3, **_MB),
      "NaN A"),
    B("prox.stochastic_model_based", "b", lambda: px.stochastic_model_based(_RES, A3, Bv[:2], X3, **_MB),
      "b of the wrong length"),
    B("prox.stochastic_model_based", "x0", lambda: px.stochastic_model_based(_RES, A3, Bv, X3.at[0].set(NAN), **_MB),
      "NaN x0"),
    B("prox.stochastic_model_based", "model", lambda: px.stochastic_model_based(
        _RES, A3, Bv, X3, **{**_MB, "model": "newton"}), "unknown model"),
    B("prox.stochastic_model_based", "sample_prox", lambda: px.stochastic_model_based(
        _RES, A3, Bv, X3, **{**_MB, "model": "proximal_point"}), "proximal point without sample_prox"),
    B("prox.stochastic_model_based", "learning_rate", lambda: px.stochastic_model_based(
        _RES, A3, Bv, X3, **{**_MB, "learning_rate": -0.1}), "negative learning_rate"),
    B("prox.stochastic_model_based", "num_steps", lambda: px.stochastic_model_based(
        _RES, A3, Bv, X3, **{**_MB, "num_steps": 0}), "zero num_steps"),
    B("prox.stochastic_model_based", "key", lambda: px.stochastic_model_based(
        _RES, A3, Bv, X3, **{**_MB, "key": 0}), "int key"),
    C("prox.stochastic_model_based", lambda: px.stochastic_model_based(_RES, A3.tolist(), Bv, [0, 0, 0], **_MB),
      lambda: px.stochastic_model_based(_RES, A3, Bv, jnp.zeros(3), **_MB)),
    B("prox.composite_moreau_gradient", "scale", lambda: px.composite_moreau_gradient(_RES, A3, Bv, X3, scale=0.0),
      "zero scale"),
    B("prox.composite_moreau_gradient", "x", lambda: px.composite_moreau_gradient(
        _RES, A3, Bv, X3.at[1].set(NAN), scale=0.1), "NaN x"),
    B("prox.composite_moreau_gradient", "smoothing", lambda: px.composite_moreau_gradient(
        _RES, A3, Bv, X3, scale=0.1, smoothing=-1.0), "negative smoothing"),
    B("prox.composite_moreau_gradient", "num_stages", lambda: px.composite_moreau_gradient(
        _RES, A3, Bv, X3, scale=0.1, num_stages=0), "zero num_stages"),
    B("prox.absolute_residual_loss", "x", lambda: px.absolute_residual_loss(_RES, A3, Bv, X3.at[0].set(NAN)), "NaN x"),
    B("prox.absolute_residual_loss", "residual", lambda: px.absolute_residual_loss(3, A3, Bv, X3), "int residual"),
    B("prox.phase_retrieval_residual", "a", lambda: px.phase_retrieval_residual(X3, A3[0, :2], 1.0), "a too short"),
    B("prox.phase_retrieval_residual", "x", lambda: px.phase_retrieval_residual(X3.at[0].set(NAN), A3[0], 1.0),
      "NaN x"),
    B("prox.phase_retrieval_sample_prox", "alpha", lambda: px.phase_retrieval_sample_prox(X3, A3[0], 1.0, 0.0),
      "zero alpha"),
    B("prox.phase_retrieval_sample_prox", "b", lambda: px.phase_retrieval_sample_prox(X3, A3[0], NAN, 0.1), "NaN b"),
]
