"""Bad-input cases for optlab.sampling."""

import jax
import jax.numpy as jnp

import badinput
from optlab import sampling as sp

B, C = badinput.Bad, badinput.Coerce
KEY = jax.random.key(0)
NAN = float("nan")
X0 = jnp.zeros((4, 2))
A = jnp.array([[2.0, 0.5], [0.5, 1.0]])


def f(x):
    return 0.5 * jnp.sum(x * x)


CASES = []
for name, call in (("unadjusted_langevin", sp.unadjusted_langevin), ("mala", sp.mala)):
    kw = dict(learning_rate=0.1, num_steps=3, key=KEY)
    CASES += [
        B(f"sampling.{name}", "f", lambda c=call, k=kw: c("f", X0, **k), "string f"),
        B(f"sampling.{name}", "x0", lambda c=call, k=kw: c(f, X0.at[0, 0].set(NAN), **k), "NaN x0"),
        B(f"sampling.{name}", "x0", lambda c=call, k=kw: c(f, jnp.zeros(3), **k), "vector x0"),
        B(f"sampling.{name}", "x0", lambda c=call, k=kw: c(f, jnp.zeros((0, 2)), **k), "empty x0"),
        B(f"sampling.{name}", "x0", lambda c=call, k=kw: c(f, "abc", **k), "string x0"),
        B(f"sampling.{name}", "learning_rate",
          lambda c=call: c(f, X0, learning_rate=-0.1, num_steps=3, key=KEY), "negative learning_rate"),
        B(f"sampling.{name}", "learning_rate",
          lambda c=call: c(f, X0, learning_rate=NAN, num_steps=3, key=KEY), "NaN learning_rate"),
        B(f"sampling.{name}", "learning_rate",
          lambda c=call: c(f, X0, learning_rate=jnp.ones(2), num_steps=3, key=KEY), "vector learning_rate"),
        B(f"sampling.{name}", "num_steps",
          lambda c=call: c(f, X0, learning_rate=0.1, num_steps=0, key=KEY), "zero num_steps"),
        B(f"sampling.{name}", "num_steps",
          lambda c=call: c(f, X0, learning_rate=0.1, num_steps=2.5, key=KEY), "float num_steps"),
        B(f"sampling.{name}", "key", lambda c=call: c(f, X0, learning_rate=0.1, num_steps=3, key=0), "integer key"),
        C(f"sampling.{name}", lambda c=call: c(f, [[0, 1], [1, 0]], learning_rate=1, num_steps=2, key=KEY).params,
          lambda c=call: c(f, jnp.array([[0.0, 1.0], [1.0, 0.0]]), learning_rate=1.0, num_steps=2, key=KEY).params),
    ]

CASES += [
    B("sampling.svgd", "f", lambda: sp.svgd(None, X0, learning_rate=0.1, num_steps=3), "None f"),
    B("sampling.svgd", "x0", lambda: sp.svgd(f, X0.at[1, 1].set(NAN), learning_rate=0.1, num_steps=3), "NaN x0"),
    B("sampling.svgd", "x0", lambda: sp.svgd(f, jnp.zeros((1, 2)), learning_rate=0.1, num_steps=3), "one particle"),
    B("sampling.svgd", "x0", lambda: sp.svgd(f, jnp.zeros(4), learning_rate=0.1, num_steps=3), "vector x0"),
    B("sampling.svgd", "learning_rate", lambda: sp.svgd(f, X0, learning_rate=0.0, num_steps=3), "zero learning_rate"),
    B("sampling.svgd", "num_steps", lambda: sp.svgd(f, X0, learning_rate=0.1, num_steps=-1), "negative num_steps"),
    B("sampling.svgd", "bandwidth",
      lambda: sp.svgd(f, X0, learning_rate=0.1, num_steps=3, bandwidth=-1.0), "negative bandwidth"),
    B("sampling.svgd", "bandwidth",
      lambda: sp.svgd(f, X0, learning_rate=0.1, num_steps=3, bandwidth="mean"), "unknown rule"),
    C("sampling.svgd", lambda: sp.svgd(f, [[0, 1], [1, 0], [2, 2]], learning_rate=1, num_steps=2).params,
      lambda: sp.svgd(f, jnp.array([[0.0, 1.0], [1.0, 0.0], [2.0, 2.0]]), learning_rate=1.0, num_steps=2).params),
    B("sampling.svgd_direction", "f", lambda: sp.svgd_direction(3, X0), "integer f"),
    B("sampling.svgd_direction", "particles", lambda: sp.svgd_direction(f, X0.at[0, 0].set(NAN)), "NaN particles"),
    B("sampling.svgd_direction", "particles", lambda: sp.svgd_direction(f, jnp.zeros((1, 2))), "one particle"),
    B("sampling.svgd_direction", "bandwidth", lambda: sp.svgd_direction(f, X0, bandwidth=NAN), "NaN bandwidth"),
    C("sampling.svgd_direction", lambda: sp.svgd_direction(f, [[0, 1], [1, 0]], bandwidth=1),
      lambda: sp.svgd_direction(f, jnp.array([[0.0, 1.0], [1.0, 0.0]]), bandwidth=1.0)),
    B("sampling.median_bandwidth", "particles", lambda: sp.median_bandwidth(jnp.zeros((1, 2))), "one particle"),
    B("sampling.median_bandwidth", "particles", lambda: sp.median_bandwidth("x"), "string particles"),
    B("sampling.median_bandwidth", "particles", lambda: sp.median_bandwidth(jnp.zeros(3)), "vector particles"),
    C("sampling.median_bandwidth", lambda: sp.median_bandwidth([[0, 1], [1, 0], [3, 3]]),
      lambda: sp.median_bandwidth(jnp.array([[0.0, 1.0], [1.0, 0.0], [3.0, 3.0]]))),
    B("sampling.gaussian_w2", "m1", lambda: sp.gaussian_w2([NAN, 0.0], A, [0.0, 0.0], A), "NaN m1"),
    B("sampling.gaussian_w2", "m2", lambda: sp.gaussian_w2([0.0, 0.0], A, [0.0], A), "short m2"),
    B("sampling.gaussian_w2", "S1", lambda: sp.gaussian_w2([0.0, 0.0], jnp.eye(3), [0.0, 0.0], A), "wrong size S1"),
    B("sampling.gaussian_w2", "S2", lambda: sp.gaussian_w2([0.0, 0.0], A, [0.0, 0.0], [[1.0, 2.0], [0.0, 1.0]]),
      "non-symmetric S2"),
    B("sampling.gaussian_w2", "S1", lambda: sp.gaussian_w2([0.0, 0.0], "A", [0.0, 0.0], A), "string S1"),
    C("sampling.gaussian_w2", lambda: sp.gaussian_w2([0, 1], [[2, 0], [0, 1]], [1, 1], [[1, 0], [0, 1]]),
      lambda: sp.gaussian_w2(jnp.array([0.0, 1.0]), jnp.array([[2.0, 0.0], [0.0, 1.0]]), jnp.array([1.0, 1.0]),
                             jnp.eye(2))),
    B("sampling.ula_gaussian_stationary", "A", lambda: sp.ula_gaussian_stationary(-A, learning_rate=0.1),
      "negative definite A"),
    B("sampling.ula_gaussian_stationary", "A", lambda: sp.ula_gaussian_stationary(jnp.ones(2), learning_rate=0.1),
      "vector A"),
    B("sampling.ula_gaussian_stationary", "A", lambda: sp.ula_gaussian_stationary(A.at[0, 0].set(NAN), learning_rate=0.1),
      "NaN A"),
    B("sampling.ula_gaussian_stationary", "learning_rate",
      lambda: sp.ula_gaussian_stationary(A, learning_rate=-1.0), "negative learning_rate"),
    B("sampling.ula_gaussian_stationary", "learning_rate",
      lambda: sp.ula_gaussian_stationary(A, learning_rate=5.0), "unstable learning_rate"),
    C("sampling.ula_gaussian_stationary", lambda: sp.ula_gaussian_stationary([[1, 0], [0, 1]], learning_rate=1),
      lambda: sp.ula_gaussian_stationary(jnp.array([[1.0, 0.0], [0.0, 1.0]]), learning_rate=1.0)),
    B("sampling.gaussian_kl", "m1", lambda: sp.gaussian_kl([NAN, 0.0], A, [0.0, 0.0], A), "NaN m1"),
    B("sampling.gaussian_kl", "m2", lambda: sp.gaussian_kl([0.0, 0.0], A, [0.0], A), "short m2"),
    B("sampling.gaussian_kl", "S1", lambda: sp.gaussian_kl([0.0, 0.0], jnp.zeros((2, 2)), [0.0, 0.0], A),
      "singular S1"),
    B("sampling.gaussian_kl", "S2", lambda: sp.gaussian_kl([0.0, 0.0], A, [0.0, 0.0], -A), "negative definite S2"),
    B("sampling.gaussian_kl", "S2", lambda: sp.gaussian_kl([0.0, 0.0], A, [0.0, 0.0], [[1.0, 2.0], [0.0, 1.0]]),
      "non-symmetric S2"),
    B("sampling.gaussian_kl", "S1", lambda: sp.gaussian_kl([0.0, 0.0], "A", [0.0, 0.0], A), "string S1"),
    C("sampling.gaussian_kl", lambda: sp.gaussian_kl([0, 1], [[2, 0], [0, 1]], [1, 1], [[1, 0], [0, 1]]),
      lambda: sp.gaussian_kl(jnp.array([0.0, 1.0]), jnp.array([[2.0, 0.0], [0.0, 1.0]]), jnp.array([1.0, 1.0]),
                             jnp.eye(2))),
    B("sampling.ula_gaussian_laws", "A", lambda: sp.ula_gaussian_laws(jnp.ones(2), [0.0, 0.0], [0.0, 0.0], A,
                                                                       learning_rate=0.1, num_steps=3), "vector A"),
    B("sampling.ula_gaussian_laws", "target_mean", lambda: sp.ula_gaussian_laws(A, [0.0], [0.0, 0.0], A,
                                                                                 learning_rate=0.1, num_steps=3),
      "short target_mean"),
    B("sampling.ula_gaussian_laws", "mean0", lambda: sp.ula_gaussian_laws(A, [0.0, 0.0], [NAN, 0.0], A,
                                                                           learning_rate=0.1, num_steps=3), "NaN mean0"),
    B("sampling.ula_gaussian_laws", "cov0", lambda: sp.ula_gaussian_laws(A, [0.0, 0.0], [0.0, 0.0], jnp.eye(3),
                                                                          learning_rate=0.1, num_steps=3),
      "wrong size cov0"),
    B("sampling.ula_gaussian_laws", "learning_rate",
      lambda: sp.ula_gaussian_laws(A, [0.0, 0.0], [0.0, 0.0], A, learning_rate=0.0, num_steps=3), "zero learning_rate"),
    B("sampling.ula_gaussian_laws", "num_steps",
      lambda: sp.ula_gaussian_laws(A, [0.0, 0.0], [0.0, 0.0], A, learning_rate=0.1, num_steps=0), "zero num_steps"),
    B("sampling.ula_gaussian_laws", "num_steps",
      lambda: sp.ula_gaussian_laws(A, [0.0, 0.0], [0.0, 0.0], A, learning_rate=0.1, num_steps=1.5), "float num_steps"),
    C("sampling.ula_gaussian_laws",
      lambda: sp.ula_gaussian_laws([[2, 0], [0, 1]], [1, 0], [0, 0], [[1, 0], [0, 1]], learning_rate=1, num_steps=2),
      lambda: sp.ula_gaussian_laws(jnp.array([[2.0, 0.0], [0.0, 1.0]]), jnp.array([1.0, 0.0]), jnp.zeros(2),
                                   jnp.eye(2), learning_rate=1.0, num_steps=2)),
]

EXEMPT = {
    "LangevinOutput": "a result NamedTuple; its methods take no argument",
    "SVGDOutput": "a result NamedTuple; its methods take no argument",
    "GaussianLaws": "a result NamedTuple (closed-form laws); it has no methods",
}

XQ = jnp.array([-1.0, 0.0, 1.5])


def f1(x):
    return 0.5 * x * x


CASES += [
    B("sampling.jko_1d", "f", lambda: sp.jko_1d("f", XQ, learning_rate=0.1, num_steps=2), "string f"),
    B("sampling.jko_1d", "x0", lambda: sp.jko_1d(f1, XQ.at[1].set(NAN), learning_rate=0.1, num_steps=2), "NaN x0"),
    B("sampling.jko_1d", "x0", lambda: sp.jko_1d(f1, XQ[::-1], learning_rate=0.1, num_steps=2), "decreasing x0"),
    B("sampling.jko_1d", "x0", lambda: sp.jko_1d(f1, jnp.zeros((2, 2)), learning_rate=0.1, num_steps=2), "matrix x0"),
    B("sampling.jko_1d", "learning_rate", lambda: sp.jko_1d(f1, XQ, learning_rate=0.0, num_steps=2), "zero tau"),
    B("sampling.jko_1d", "num_steps", lambda: sp.jko_1d(f1, XQ, learning_rate=0.1, num_steps=0), "zero num_steps"),
    B("sampling.jko_1d", "inner_num_steps",
      lambda: sp.jko_1d(f1, XQ, learning_rate=0.1, num_steps=2, inner_num_steps=0), "zero inner_num_steps"),
    C("sampling.jko_1d", lambda: sp.jko_1d(f1, [-1, 0, 2], learning_rate=1, num_steps=2).params,
      lambda: sp.jko_1d(f1, jnp.array([-1.0, 0.0, 2.0]), learning_rate=1.0, num_steps=2).params),
]
EXEMPT["JKOOutput"] = "a result NamedTuple without methods"

# score-based diffusion
MIXB = (jnp.array([0.4, 0.6]), jnp.array([[0.0, 1.0], [1.0, 0.0]]), jnp.stack([jnp.eye(2), 0.5 * jnp.eye(2)]))
XB = jnp.zeros((5, 2))
SC = sp.gaussian_mixture_score
THETA = sp.fourier_score_init(key=KEY, dim=2, num_features=8)
CASES += [
    B("sampling.ou_noising", "x0", lambda: sp.ou_noising(XB.at[0, 0].set(NAN), 0.5, key=KEY), "NaN x0"),
    B("sampling.ou_noising", "x0", lambda: sp.ou_noising(jnp.zeros(3), 0.5, key=KEY), "vector x0"),
    B("sampling.ou_noising", "t", lambda: sp.ou_noising(XB, -0.5, key=KEY), "negative t"),
    B("sampling.ou_noising", "t", lambda: sp.ou_noising(XB, jnp.ones(3), key=KEY), "t of the wrong length"),
    B("sampling.ou_noising", "key", lambda: sp.ou_noising(XB, 0.5, key=0), "integer key"),
    C("sampling.ou_noising", lambda: sp.ou_noising([[0, 1], [1, 0]], 1, key=KEY),
      lambda: sp.ou_noising(jnp.array([[0.0, 1.0], [1.0, 0.0]]), 1.0, key=KEY)),
    B("sampling.gaussian_mixture_score", "params", lambda: SC("mix", XB, 0.5), "string params"),
    B("sampling.gaussian_mixture_score", "weights",
      lambda: SC((jnp.array([0.5, 0.6]),) + MIXB[1:], XB, 0.5), "weights not summing to 1"),
    B("sampling.gaussian_mixture_score", "covariances",
      lambda: SC(MIXB[:2] + (-MIXB[2],), XB, 0.5), "negative definite covariances"),
    B("sampling.gaussian_mixture_score", "means",
      lambda: SC((MIXB[0], jnp.zeros((2, 3)), jnp.stack([jnp.eye(3)] * 2)), XB, 0.5), "means of the wrong d"),
    B("sampling.gaussian_mixture_score", "x", lambda: SC(MIXB, XB.at[1, 1].set(NAN), 0.5), "NaN x"),
    B("sampling.gaussian_mixture_score", "t", lambda: SC(MIXB, XB, 0.0), "zero t"),
    C("sampling.gaussian_mixture_score", lambda: SC(([0.5, 0.5], [[0, 1], [1, 0]], [[[1, 0], [0, 1]]] * 2), [[0, 1]], 1),
      lambda: SC((jnp.array([0.5, 0.5]), jnp.array([[0.0, 1.0], [1.0, 0.0]]), jnp.stack([jnp.eye(2)] * 2)),
                 jnp.array([[0.0, 1.0]]), 1.0)),
    B("sampling.dsm_loss", "score", lambda: sp.dsm_loss("s", MIXB, XB, key=KEY), "string score"),
    B("sampling.dsm_loss", "x0", lambda: sp.dsm_loss(SC, MIXB, XB.at[0, 0].set(NAN), key=KEY), "NaN x0"),
    B("sampling.dsm_loss", "key", lambda: sp.dsm_loss(SC, MIXB, XB, key=3), "integer key"),
    B("sampling.dsm_loss", "t_min", lambda: sp.dsm_loss(SC, MIXB, XB, key=KEY, t_min=-1.0), "negative t_min"),
    B("sampling.dsm_loss", "t_min", lambda: sp.dsm_loss(SC, MIXB, XB, key=KEY, t_min=2.0, t_max=1.0), "t_min > t_max"),
    B("sampling.dsm_loss", "weighting", lambda: sp.dsm_loss(SC, MIXB, XB, key=KEY, weighting="snr"), "unknown weighting"),
    C("sampling.dsm_loss", lambda: sp.dsm_loss(SC, MIXB, [[0, 1], [1, 0]], key=KEY, t_max=2),
      lambda: sp.dsm_loss(SC, MIXB, jnp.array([[0.0, 1.0], [1.0, 0.0]]), key=KEY, t_max=2.0)),
    B("sampling.fourier_score_init", "key", lambda: sp.fourier_score_init(key=0, dim=2), "integer key"),
    B("sampling.fourier_score_init", "dim", lambda: sp.fourier_score_init(key=KEY, dim=0), "zero dim"),
    B("sampling.fourier_score_init", "num_features",
      lambda: sp.fourier_score_init(key=KEY, dim=2, num_features=2.5), "float num_features"),
    B("sampling.fourier_score_init", "scale", lambda: sp.fourier_score_init(key=KEY, dim=2, scale=-1.0), "negative scale"),
    B("sampling.fourier_score_model", "params", lambda: sp.fourier_score_model({"W": 1.0}, XB, 0.5), "incomplete params"),
    B("sampling.fourier_score_model", "params",
      lambda: sp.fourier_score_model(THETA, jnp.zeros((5, 3)), 0.5), "params of the wrong d"),
    B("sampling.fourier_score_model", "x", lambda: sp.fourier_score_model(THETA, XB.at[0, 1].set(NAN), 0.5), "NaN x"),
    B("sampling.fourier_score_model", "t", lambda: sp.fourier_score_model(THETA, XB, -1.0), "negative t"),
    C("sampling.fourier_score_model", lambda: sp.fourier_score_model(THETA, [[0, 1], [1, 0]], 1),
      lambda: sp.fourier_score_model(THETA, jnp.array([[0.0, 1.0], [1.0, 0.0]]), 1.0)),
]
for name, call, extra in (("reverse_sde", sp.reverse_sde, {"key": KEY}), ("probability_flow", sp.probability_flow, {})):
    CASES += [
        B(f"sampling.{name}", "score", lambda c=call, e=extra: c(None, MIXB, XB, num_steps=3, **e), "None score"),
        B(f"sampling.{name}", "x_T", lambda c=call, e=extra: c(SC, MIXB, XB.at[0, 0].set(NAN), num_steps=3, **e),
          "NaN x_T"),
        B(f"sampling.{name}", "x_T", lambda c=call, e=extra: c(SC, MIXB, jnp.zeros(4), num_steps=3, **e), "vector x_T"),
        B(f"sampling.{name}", "num_steps", lambda c=call, e=extra: c(SC, MIXB, XB, num_steps=0, **e), "zero num_steps"),
        B(f"sampling.{name}", "t_min",
          lambda c=call, e=extra: c(SC, MIXB, XB, num_steps=3, t_min=5.0, **e), "t_min above t_max"),
        B(f"sampling.{name}", "times",
          lambda c=call, e=extra: c(SC, MIXB, XB, num_steps=3, times=[3.0, 1.0, 0.1], **e), "times of the wrong length"),
        B(f"sampling.{name}", "times",
          lambda c=call, e=extra: c(SC, MIXB, XB, num_steps=2, times=[1.0, 2.0, 0.1], **e), "increasing times"),
        C(f"sampling.{name}", lambda c=call, e=extra: c(SC, MIXB, [[0, 1], [1, 0]], num_steps=2, t_max=2, **e).params,
          lambda c=call, e=extra: c(SC, MIXB, jnp.array([[0.0, 1.0], [1.0, 0.0]]), num_steps=2, t_max=2.0, **e).params),
    ]
CASES += [
    B("sampling.reverse_sde", "key", lambda: sp.reverse_sde(SC, MIXB, XB, num_steps=3, key=1), "integer key"),
    B("sampling.probability_flow", "method",
      lambda: sp.probability_flow(SC, MIXB, XB, num_steps=3, method="rk4"), "unknown method"),
]
EXEMPT["DiffusionOutput"] = "a result NamedTuple without methods"

# --------------------------------------------------------------------------- Schrödinger bridges
PSB = sp.light_sb_init(XB + jnp.arange(5.0)[:, None], num_components=2, key=KEY)
XS = jnp.ones((5, 2))
CASES += [
    B("sampling.brownian_bridge", "x0", lambda: sp.brownian_bridge(XS.at[0, 0].set(NAN), XS, 0.5, 1.0, key=KEY), "NaN x0"),
    B("sampling.brownian_bridge", "x1", lambda: sp.brownian_bridge(XS, "abc", 0.5, 1.0, key=KEY), "string x1"),
    B("sampling.brownian_bridge", "x0", lambda: sp.brownian_bridge(XS, jnp.ones((4, 2)), 0.5, 1.0, key=KEY),
      "shapes differ"),
    B("sampling.brownian_bridge", "t", lambda: sp.brownian_bridge(XS, XS, 1.5, 1.0, key=KEY), "t above 1"),
    B("sampling.brownian_bridge", "t", lambda: sp.brownian_bridge(XS, XS, jnp.ones(2), 1.0, key=KEY), "vector t"),
    B("sampling.brownian_bridge", "eps", lambda: sp.brownian_bridge(XS, XS, 0.5, -1.0, key=KEY), "negative eps"),
    B("sampling.brownian_bridge", "key", lambda: sp.brownian_bridge(XS, XS, 0.5, 1.0, key=0), "integer key"),
    C("sampling.brownian_bridge", lambda: sp.brownian_bridge([[0, 1]], [[1, 1]], 0.5, 1, key=KEY),
      lambda: sp.brownian_bridge(jnp.array([[0.0, 1.0]]), jnp.array([[1.0, 1.0]]), 0.5, 1.0, key=KEY)),
    B("sampling.gaussian_sb_cross_covariance", "cov0",
      lambda: sp.gaussian_sb_cross_covariance(-jnp.eye(2), jnp.eye(2), 1.0), "negative definite cov0"),
    B("sampling.gaussian_sb_cross_covariance", "cov1",
      lambda: sp.gaussian_sb_cross_covariance(jnp.eye(2), jnp.ones((2, 3)), 1.0), "non-square cov1"),
    B("sampling.gaussian_sb_cross_covariance", "cov0",
      lambda: sp.gaussian_sb_cross_covariance(jnp.eye(2), jnp.eye(3), 1.0), "sizes differ"),
    B("sampling.gaussian_sb_cross_covariance", "eps",
      lambda: sp.gaussian_sb_cross_covariance(jnp.eye(2), jnp.eye(2), 0.0), "zero eps"),
    C("sampling.gaussian_sb_cross_covariance", lambda: sp.gaussian_sb_cross_covariance([[1, 0], [0, 2]], [[2, 0], [0, 1]], 1),
      lambda: sp.gaussian_sb_cross_covariance(jnp.diag(jnp.array([1.0, 2.0])), jnp.diag(jnp.array([2.0, 1.0])), 1.0)),
    B("sampling.light_sb_init", "x1", lambda: sp.light_sb_init(XS.at[1, 1].set(NAN), num_components=2, key=KEY), "NaN x1"),
    B("sampling.light_sb_init", "num_components", lambda: sp.light_sb_init(XS, num_components=0, key=KEY), "zero K"),
    B("sampling.light_sb_init", "num_components", lambda: sp.light_sb_init(XS, num_components=9, key=KEY), "K above N"),
    B("sampling.light_sb_init", "num_components", lambda: sp.light_sb_init(XS, num_components=2.0, key=KEY), "float K"),
    B("sampling.light_sb_init", "key", lambda: sp.light_sb_init(XS, num_components=2, key=3), "integer key"),
    C("sampling.light_sb_init", lambda: sp.light_sb_init([[0, 1], [2, 3]], num_components=2, key=KEY)["r"],
      lambda: sp.light_sb_init(jnp.array([[0.0, 1.0], [2.0, 3.0]]), num_components=2, key=KEY)["r"]),
    B("sampling.light_sb_loss", "params", lambda: sp.light_sb_loss({"r": PSB["r"]}, XS, XS, 1.0), "incomplete params"),
    B("sampling.light_sb_loss", "params",
      lambda: sp.light_sb_loss(PSB | {"log_s": jnp.zeros((3, 2))}, XS, XS, 1.0), "mismatched params"),
    B("sampling.light_sb_loss", "x0", lambda: sp.light_sb_loss(PSB, XS.at[0, 0].set(NAN), XS, 1.0), "NaN x0"),
    B("sampling.light_sb_loss", "x1", lambda: sp.light_sb_loss(PSB, XS, jnp.ones((5, 3)), 1.0), "x1 of the wrong d"),
    B("sampling.light_sb_loss", "params", lambda: sp.light_sb_loss(PSB, jnp.ones((5, 3)), jnp.ones((5, 3)), 1.0),
      "params of the wrong d"),
    B("sampling.light_sb_loss", "eps", lambda: sp.light_sb_loss(PSB, XS, XS, NAN), "NaN eps"),
    C("sampling.light_sb_loss", lambda: sp.light_sb_loss(PSB, [[0, 1]], [[1, 1]], 1),
      lambda: sp.light_sb_loss(PSB, jnp.array([[0.0, 1.0]]), jnp.array([[1.0, 1.0]]), 1.0)),
    B("sampling.light_sb_sample", "x0", lambda: sp.light_sb_sample(PSB, jnp.zeros(2), 1.0, key=KEY), "vector x0"),
    B("sampling.light_sb_sample", "eps", lambda: sp.light_sb_sample(PSB, XS, -0.5, key=KEY), "negative eps"),
    B("sampling.light_sb_sample", "key", lambda: sp.light_sb_sample(PSB, XS, 1.0, key=1), "integer key"),
    B("sampling.light_sb_sample", "params", lambda: sp.light_sb_sample(None, XS, 1.0, key=KEY), "None params"),
    C("sampling.light_sb_sample", lambda: sp.light_sb_sample(PSB, [[0, 1]], 1, key=KEY),
      lambda: sp.light_sb_sample(PSB, jnp.array([[0.0, 1.0]]), 1.0, key=KEY)),
    B("sampling.light_sb_drift", "x", lambda: sp.light_sb_drift(PSB, XS.at[0, 0].set(NAN), 0.5, 1.0), "NaN x"),
    B("sampling.light_sb_drift", "t", lambda: sp.light_sb_drift(PSB, XS, -0.1, 1.0), "negative t"),
    B("sampling.light_sb_drift", "eps", lambda: sp.light_sb_drift(PSB, XS, 0.5, 0.0), "zero eps"),
    B("sampling.light_sb_drift", "params", lambda: sp.light_sb_drift(PSB, jnp.ones((5, 3)), 0.5, 1.0), "wrong d"),
    C("sampling.light_sb_drift", lambda: sp.light_sb_drift(PSB, [[0, 1]], 0, 1),
      lambda: sp.light_sb_drift(PSB, jnp.array([[0.0, 1.0]]), 0.0, 1.0)),
    B("sampling.light_sb_sde", "x0", lambda: sp.light_sb_sde(PSB, "x", 1.0, num_steps=2, key=KEY), "string x0"),
    B("sampling.light_sb_sde", "num_steps", lambda: sp.light_sb_sde(PSB, XS, 1.0, num_steps=0, key=KEY), "zero num_steps"),
    B("sampling.light_sb_sde", "num_steps", lambda: sp.light_sb_sde(PSB, XS, 1.0, num_steps=2.5, key=KEY),
      "float num_steps"),
    B("sampling.light_sb_sde", "eps", lambda: sp.light_sb_sde(PSB, XS, -1.0, num_steps=2, key=KEY), "negative eps"),
    B("sampling.light_sb_sde", "key", lambda: sp.light_sb_sde(PSB, XS, 1.0, num_steps=2, key=0), "integer key"),
    B("sampling.light_sb_sde", "return_iterates",
      lambda: sp.light_sb_sde(PSB, XS, 1.0, num_steps=2, key=KEY, return_iterates=1), "integer return_iterates"),
    C("sampling.light_sb_sde", lambda: sp.light_sb_sde(PSB, [[0, 1]], 1, num_steps=2, key=KEY).params,
      lambda: sp.light_sb_sde(PSB, jnp.array([[0.0, 1.0]]), 1.0, num_steps=2, key=KEY).params),
]
EXEMPT["BridgeOutput"] = "a result NamedTuple without methods"
# mirrored SVGD on the simplex and particle gradient descent
TH = jnp.array([[0.2, 0.3, 0.5], [0.6, 0.2, 0.2], [0.1, 0.1, 0.8]])


def f_simplex(th):
    return -jnp.sum(jnp.log(th))


def V_pd(x):
    return 0.5 * jnp.sum(x * x)


def W_pd(z):
    return -jnp.sum(jnp.abs(z))


MS = dict(learning_rate=0.1, num_steps=2)
CASES += [
    B("sampling.mirrored_svgd", "f", lambda: sp.mirrored_svgd("f", TH, **MS), "string f"),
    B("sampling.mirrored_svgd", "x0", lambda: sp.mirrored_svgd(f_simplex, TH.at[0, 0].set(NAN), **MS), "NaN x0"),
    B("sampling.mirrored_svgd", "x0", lambda: sp.mirrored_svgd(f_simplex, TH.at[0, 0].set(-0.2), **MS),
      "negative coordinate"),
    B("sampling.mirrored_svgd", "x0", lambda: sp.mirrored_svgd(f_simplex, TH * 2.0, **MS), "rows not summing to 1"),
    B("sampling.mirrored_svgd", "x0", lambda: sp.mirrored_svgd(f_simplex, TH[:1], **MS), "one particle"),
    B("sampling.mirrored_svgd", "x0", lambda: sp.mirrored_svgd(f_simplex, jnp.ones((3, 1)), **MS), "one column"),
    B("sampling.mirrored_svgd", "x0", lambda: sp.mirrored_svgd(f_simplex, TH[0], **MS), "vector x0"),
    B("sampling.mirrored_svgd", "learning_rate",
      lambda: sp.mirrored_svgd(f_simplex, TH, learning_rate=-1.0, num_steps=2), "negative learning_rate"),
    B("sampling.mirrored_svgd", "num_steps",
      lambda: sp.mirrored_svgd(f_simplex, TH, learning_rate=0.1, num_steps=0), "zero num_steps"),
    B("sampling.mirrored_svgd", "bandwidth",
      lambda: sp.mirrored_svgd(f_simplex, TH, bandwidth=0.0, **MS), "zero bandwidth"),
    C("sampling.mirrored_svgd",
      lambda: sp.mirrored_svgd(f_simplex, [[0.25, 0.25, 0.5], [0.5, 0.25, 0.25]], learning_rate=1, num_steps=2).params,
      lambda: sp.mirrored_svgd(f_simplex, jnp.array([[0.25, 0.25, 0.5], [0.5, 0.25, 0.25]]), learning_rate=1.0,
                               num_steps=2).params),
    B("sampling.entropic_dual", "theta", lambda: sp.entropic_dual(jnp.array([[0.5, 0.5, 0.0]])), "zero coordinate"),
    B("sampling.entropic_dual", "theta", lambda: sp.entropic_dual("x"), "string theta"),
    C("sampling.entropic_dual", lambda: sp.entropic_dual([[0.25, 0.25, 0.5]]),
      lambda: sp.entropic_dual(jnp.array([[0.25, 0.25, 0.5]]))),
    B("sampling.entropic_primal", "duals", lambda: sp.entropic_primal(jnp.array([[NAN, 0.0]])), "NaN duals"),
    B("sampling.entropic_primal", "duals", lambda: sp.entropic_primal(jnp.zeros(2)), "vector duals"),
    C("sampling.entropic_primal", lambda: sp.entropic_primal([[0, 1]]), lambda: sp.entropic_primal(jnp.array([[0.0, 1.0]]))),
    B("sampling.particle_gradient_descent", "V",
      lambda: sp.particle_gradient_descent(None, W_pd, X0, **MS), "None V"),
    B("sampling.particle_gradient_descent", "W",
      lambda: sp.particle_gradient_descent(V_pd, "W", X0, **MS), "string W"),
    B("sampling.particle_gradient_descent", "x0",
      lambda: sp.particle_gradient_descent(V_pd, W_pd, X0.at[0, 0].set(NAN), **MS), "NaN x0"),
    B("sampling.particle_gradient_descent", "x0",
      lambda: sp.particle_gradient_descent(V_pd, W_pd, jnp.zeros(3), **MS), "vector x0"),
    B("sampling.particle_gradient_descent", "learning_rate",
      lambda: sp.particle_gradient_descent(V_pd, W_pd, X0, learning_rate=0.0, num_steps=2), "zero learning_rate"),
    B("sampling.particle_gradient_descent", "num_steps",
      lambda: sp.particle_gradient_descent(V_pd, W_pd, X0, learning_rate=0.1, num_steps=1.5), "float num_steps"),
    C("sampling.particle_gradient_descent",
      lambda: sp.particle_gradient_descent(V_pd, W_pd, [[0, 1], [1, 0]], learning_rate=1, num_steps=2).params,
      lambda: sp.particle_gradient_descent(V_pd, W_pd, jnp.array([[0.0, 1.0], [1.0, 0.0]]), learning_rate=1.0,
                                           num_steps=2).params),
    B("sampling.interaction_energy", "particles",
      lambda: sp.interaction_energy(V_pd, W_pd, jnp.zeros((0, 2))), "empty particles"),
    B("sampling.interaction_energy", "V", lambda: sp.interaction_energy(3, W_pd, X0), "integer V"),
    C("sampling.interaction_energy", lambda: sp.interaction_energy(V_pd, W_pd, [[0, 1], [2, 0]]),
      lambda: sp.interaction_energy(V_pd, W_pd, jnp.array([[0.0, 1.0], [2.0, 0.0]]))),
]
EXEMPT["MirroredSVGDOutput"] = "a result NamedTuple without methods"
EXEMPT["ParticleDescentOutput"] = "a result NamedTuple without methods"
