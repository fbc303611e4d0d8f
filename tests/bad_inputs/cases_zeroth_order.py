"""Bad-input cases for optlab.zeroth_order (see README.md here)."""

import jax
import jax.numpy as jnp
import numpy as np

from badinput import Bad, Coerce
from optlab import zeroth_order as zo

KEY = jax.random.key(0)
NAN = float("nan")
INF = float("inf")
X = np.array([0.5, -1.0, 2.0])
X_INT = [1, -1, 2]
P = np.array([[0.0, 1.0], [1.0, -1.0], [2.0, 0.5]])  # 3 particles in 2-D
LOGITS = np.array([0.3, -0.5, 1.0])


def quad(x):
    return jnp.sum((x - 0.25) ** 2)


def vec(x):
    return 2.0 * x  # not a scalar


def lin3(z):
    return z @ jnp.array([1.0, -2.0, 0.5])


def _est_cases(name, fn, smoothing=True):
    f = f"zeroth_order.{name}"
    cases = [
        Bad(f, "f", lambda: fn("quad", X, key=KEY), "f not callable"),
        Bad(f, "f", lambda: fn(vec, X, key=KEY), "f not scalar"),
        Bad(f, "x", lambda: fn(quad, np.ones((3, 1)), key=KEY), "2-D x"),
        Bad(f, "x", lambda: fn(quad, np.array([1.0, NAN, 0.0]), key=KEY), "NaN x"),
        Bad(f, "x", lambda: fn(quad, np.array([1.0, INF, 0.0]), key=KEY), "inf x"),
        Bad(f, "x", lambda: fn(quad, "abc", key=KEY), "string x"),
        Bad(f, "x", lambda: fn(quad, None, key=KEY), "None x"),
        Bad(f, "x", lambda: fn(quad, np.zeros(0), key=KEY), "empty x"),
        Bad(f, "x", lambda: fn(quad, np.ones(3) * 1j, key=KEY), "complex x"),
        Bad(f, "num_directions", lambda: fn(quad, X, key=KEY, num_directions=0), "zero directions"),
        Bad(f, "num_directions", lambda: fn(quad, X, key=KEY, num_directions=2.5), "float directions"),
    ]
    if name != "coordinate_grad":
        cases += [
            Bad(f, "key", lambda: fn(quad, X, key=0), "integer key"),
            Bad(f, "key", lambda: fn(quad, X, key="key"), "string key"),
            Bad(f, "key", lambda: fn(quad, X, key=np.zeros(3)), "float array key"),
        ]
        ref_key = KEY
    else:
        cases.pop(-2)
        cases.pop(-1)
        cases.append(Bad(f, "key", lambda: fn(quad, X, key=3), "integer key"))
        ref_key = None
    if smoothing:
        cases += [
            Bad(f, "smoothing", lambda: fn(quad, X, key=KEY, num_directions=1, smoothing=0.0), "zero smoothing"),
            Bad(f, "smoothing", lambda: fn(quad, X, key=KEY, num_directions=1, smoothing=-1e-3), "negative smoothing"),
            Bad(f, "smoothing", lambda: fn(quad, X, key=KEY, num_directions=1, smoothing=NAN), "NaN smoothing"),
            Bad(f, "smoothing", lambda: fn(quad, X, key=KEY, num_directions=1, smoothing=np.ones(2)), "array smoothing"),
            Bad(f, "smoothing", lambda: fn(quad, X, key=KEY, num_directions=1, smoothing="big"), "string smoothing"),
        ]
    cases.append(Coerce(f, lambda: fn(quad, X_INT, key=ref_key, num_directions=2),
                        lambda: fn(quad, np.array(X_INT, dtype=np.float32), key=ref_key, num_directions=2)))
    return cases


def _zo(**kw):
    args = dict(f=quad, x0=X, key=KEY, learning_rate=0.1, num_steps=3)
    args.update(kw)
    return zo.zo_descent(args.pop("f"), args.pop("x0"), **args)


def _cbo(**kw):
    args = dict(f=quad, particles=P, key=KEY, num_steps=4)
    args.update(kw)
    return zo.cbo(args.pop("f"), args.pop("particles"), **args)


def _rf(fn=zo.reinforce_grad, **kw):
    args = dict(f=lin3, logits=LOGITS, key=KEY)
    args.update(kw)
    return fn(args.pop("f"), args.pop("logits"), **args)


CASES = (
    _est_cases("gaussian_smoothing_grad", zo.gaussian_smoothing_grad)
    + _est_cases("sphere_two_point_grad", zo.sphere_two_point_grad)
    + _est_cases("forward_gradient", zo.forward_gradient, smoothing=False)
    + _est_cases("coordinate_grad", zo.coordinate_grad)
    + [
        # ------------------------------------------------------------ evaluations_per_step
        Bad("zeroth_order.evaluations_per_step", "estimator",
            lambda: zo.evaluations_per_step("newton", 3, 1), "unknown"),
        Bad("zeroth_order.evaluations_per_step", "estimator",
            lambda: zo.evaluations_per_step(None, 3, 1), "None"),
        Bad("zeroth_order.evaluations_per_step", "d", lambda: zo.evaluations_per_step("gaussian", 0, 1), "d=0"),
        Bad("zeroth_order.evaluations_per_step", "d", lambda: zo.evaluations_per_step("gaussian", 2.5, 1), "float d"),
        Bad("zeroth_order.evaluations_per_step", "num_directions",
            lambda: zo.evaluations_per_step("gaussian", 3, -1), "negative m"),
        # ------------------------------------------------------------ zo_descent
        Bad("zeroth_order.zo_descent", "estimator", lambda: _zo(estimator="newton"), "unknown estimator"),
        Bad("zeroth_order.zo_descent", "estimator", lambda: _zo(estimator=3), "non-string estimator"),
        Bad("zeroth_order.zo_descent", "f", lambda: _zo(f=None), "f None"),
        Bad("zeroth_order.zo_descent", "f", lambda: _zo(f=vec), "f not scalar"),
        Bad("zeroth_order.zo_descent", "x0", lambda: _zo(x0=np.ones((2, 2))), "2-D x0"),
        Bad("zeroth_order.zo_descent", "x0", lambda: _zo(x0=np.array([NAN, 0.0, 1.0])), "NaN x0"),
        Bad("zeroth_order.zo_descent", "x0", lambda: _zo(x0="x"), "string x0"),
        Bad("zeroth_order.zo_descent", "x0", lambda: _zo(x0=np.zeros(0)), "empty x0"),
        Bad("zeroth_order.zo_descent", "key", lambda: _zo(key=0), "integer key"),
        Bad("zeroth_order.zo_descent", "key", lambda: _zo(key=None), "None key"),
        Bad("zeroth_order.zo_descent", "learning_rate", lambda: _zo(learning_rate=0.0), "zero"),
        Bad("zeroth_order.zo_descent", "learning_rate", lambda: _zo(learning_rate=-0.1), "negative"),
        Bad("zeroth_order.zo_descent", "learning_rate", lambda: _zo(learning_rate=INF), "inf"),
        Bad("zeroth_order.zo_descent", "learning_rate", lambda: _zo(learning_rate="0.1"), "string"),
        Bad("zeroth_order.zo_descent", "num_steps", lambda: _zo(num_steps=0), "zero steps"),
        Bad("zeroth_order.zo_descent", "num_steps", lambda: _zo(num_steps=2.0), "float steps"),
        Bad("zeroth_order.zo_descent", "num_directions", lambda: _zo(num_directions=0), "zero m"),
        Bad("zeroth_order.zo_descent", "smoothing", lambda: _zo(smoothing=0.0), "zero smoothing"),
        Bad("zeroth_order.zo_descent", "smoothing", lambda: _zo(smoothing=None), "None smoothing"),
        Bad("zeroth_order.zo_descent", "perturbation", lambda: _zo(perturbation=-1.0), "negative"),
        Bad("zeroth_order.zo_descent", "perturbation", lambda: _zo(perturbation=NAN), "NaN"),
        Coerce("zeroth_order.zo_descent", lambda: _zo(x0=X_INT, learning_rate=1),
               lambda: _zo(x0=np.array(X_INT, np.float32), learning_rate=1.0)),
        # ------------------------------------------------------------ test functions
        Bad("zeroth_order.rastrigin", "x", lambda: zo.rastrigin("x"), "string"),
        Bad("zeroth_order.rastrigin", "x", lambda: zo.rastrigin(None), "None"),
        Bad("zeroth_order.rastrigin", "x", lambda: zo.rastrigin(1.0), "0-D"),
        Bad("zeroth_order.rastrigin", "x", lambda: zo.rastrigin(np.array([NAN, 1.0])), "NaN"),
        Bad("zeroth_order.rastrigin", "shift", lambda: zo.rastrigin(X, "s"), "string shift"),
        Bad("zeroth_order.rastrigin", "shift", lambda: zo.rastrigin(X, INF), "inf shift"),
        Coerce("zeroth_order.rastrigin", lambda: zo.rastrigin([1, 2], [1, 1]),
               lambda: zo.rastrigin(np.array([1.0, 2.0]), np.array([1.0, 1.0]))),
        Bad("zeroth_order.strict_saddle", "x", lambda: zo.strict_saddle(np.ones((2, 2))), "2-D"),
        Bad("zeroth_order.strict_saddle", "x", lambda: zo.strict_saddle(np.zeros(0)), "empty"),
        Bad("zeroth_order.strict_saddle", "x", lambda: zo.strict_saddle(None), "None"),
        Bad("zeroth_order.strict_saddle", "x", lambda: zo.strict_saddle(np.array([1.0, NAN])), "NaN"),
        Coerce("zeroth_order.strict_saddle", lambda: zo.strict_saddle([0, 0, 1]),
               lambda: zo.strict_saddle(np.array([0.0, 0.0, 1.0]))),
        # ------------------------------------------------------------ consensus_point
        Bad("zeroth_order.consensus_point", "particles", lambda: zo.consensus_point(X, X, 1.0), "1-D"),
        Bad("zeroth_order.consensus_point", "particles",
            lambda: zo.consensus_point(np.full((3, 2), NAN), X, 1.0), "NaN"),
        Bad("zeroth_order.consensus_point", "particles", lambda: zo.consensus_point("P", X, 1.0), "string"),
        Bad("zeroth_order.consensus_point", "particles",
            lambda: zo.consensus_point(np.zeros((0, 2)), np.zeros(0), 1.0), "empty"),
        Bad("zeroth_order.consensus_point", "values", lambda: zo.consensus_point(P, np.ones(2), 1.0), "mismatch"),
        Bad("zeroth_order.consensus_point", "values", lambda: zo.consensus_point(P, P, 1.0), "2-D"),
        Bad("zeroth_order.consensus_point", "values",
            lambda: zo.consensus_point(P, np.array([1.0, INF, 0.0]), 1.0), "inf"),
        Bad("zeroth_order.consensus_point", "alpha", lambda: zo.consensus_point(P, X, -1.0), "negative"),
        Bad("zeroth_order.consensus_point", "alpha", lambda: zo.consensus_point(P, X, NAN), "NaN"),
        Bad("zeroth_order.consensus_point", "alpha", lambda: zo.consensus_point(P, X, "a"), "string"),
        Bad("zeroth_order.consensus_point", "alpha", lambda: zo.consensus_point(P, X, np.ones(3)), "array"),
        Coerce("zeroth_order.consensus_point", lambda: zo.consensus_point([[0, 1], [1, 0], [2, 2]], [1, 0, 2], 1),
               lambda: zo.consensus_point(np.array([[0.0, 1], [1, 0], [2, 2]]), np.array([1.0, 0, 2]), 1.0)),
        # ------------------------------------------------------------ cbo
        Bad("zeroth_order.cbo", "f", lambda: _cbo(f=3), "f not callable"),
        Bad("zeroth_order.cbo", "f", lambda: _cbo(f=vec), "f not scalar"),
        Bad("zeroth_order.cbo", "particles", lambda: _cbo(particles=X), "1-D"),
        Bad("zeroth_order.cbo", "particles", lambda: _cbo(particles=np.zeros((0, 2))), "empty"),
        Bad("zeroth_order.cbo", "particles", lambda: _cbo(particles=np.full((3, 2), INF)), "inf"),
        Bad("zeroth_order.cbo", "particles", lambda: _cbo(particles=None), "None"),
        Bad("zeroth_order.cbo", "key", lambda: _cbo(key=0), "integer key"),
        Bad("zeroth_order.cbo", "key", lambda: _cbo(key=np.array([0.5, 1.5])), "float key"),
        Bad("zeroth_order.cbo", "alpha", lambda: _cbo(alpha=-1.0), "negative alpha"),
        Bad("zeroth_order.cbo", "drift", lambda: _cbo(drift=NAN), "NaN drift"),
        Bad("zeroth_order.cbo", "noise", lambda: _cbo(noise=-0.1), "negative noise"),
        Bad("zeroth_order.cbo", "noise", lambda: _cbo(noise="0.7"), "string noise"),
        Bad("zeroth_order.cbo", "dt", lambda: _cbo(dt=0.0), "zero dt"),
        Bad("zeroth_order.cbo", "num_steps", lambda: _cbo(num_steps=0), "zero steps"),
        Bad("zeroth_order.cbo", "record_every", lambda: _cbo(record_every=3), "not a divisor"),
        Bad("zeroth_order.cbo", "record_every", lambda: _cbo(record_every=0), "zero"),
        Coerce("zeroth_order.cbo", lambda: _cbo(particles=[[0, 1], [1, -1], [2, 0]], alpha=10),
               lambda: _cbo(particles=np.array([[0.0, 1], [1, -1], [2, 0]], np.float32), alpha=10.0)),
        # ------------------------------------------------------------ enumeration
        Bad("zeroth_order.bernoulli_expectation", "f", lambda: zo.bernoulli_expectation(None, LOGITS), "f None"),
        Bad("zeroth_order.bernoulli_expectation", "logits",
            lambda: zo.bernoulli_expectation(lin3, np.ones((3, 1))), "2-D"),
        Bad("zeroth_order.bernoulli_expectation", "logits",
            lambda: zo.bernoulli_expectation(lin3, np.array([NAN, 0, 0])), "NaN"),
        Bad("zeroth_order.bernoulli_expectation", "logits", lambda: zo.bernoulli_expectation(lin3, "l"), "string"),
        Bad("zeroth_order.bernoulli_expectation", "logits",
            lambda: zo.bernoulli_expectation(lambda z: jnp.sum(z), np.zeros(0)), "empty"),
        Bad("zeroth_order.bernoulli_expectation", "logits",
            lambda: zo.bernoulli_expectation(lambda z: jnp.sum(z), np.zeros(17)), "too many bits"),
        Coerce("zeroth_order.bernoulli_expectation", lambda: zo.bernoulli_expectation(lin3, [0, 1, -1]),
               lambda: zo.bernoulli_expectation(lin3, np.array([0.0, 1.0, -1.0]))),
        Bad("zeroth_order.categorical_expectation", "f",
            lambda: zo.categorical_expectation("f", LOGITS), "f string"),
        Bad("zeroth_order.categorical_expectation", "logits",
            lambda: zo.categorical_expectation(lin3, np.zeros(1)), "one class"),
        Bad("zeroth_order.categorical_expectation", "logits",
            lambda: zo.categorical_expectation(lin3, np.array([INF, 0, 0])), "inf"),
        Bad("zeroth_order.categorical_expectation", "logits",
            lambda: zo.categorical_expectation(lin3, None), "None"),
        Coerce("zeroth_order.categorical_expectation", lambda: zo.categorical_expectation(lin3, [0, 1, -1]),
               lambda: zo.categorical_expectation(lin3, np.array([0.0, 1.0, -1.0]))),
        # ------------------------------------------------------------ REINFORCE / straight-through
        Bad("zeroth_order.reinforce_grad", "key", lambda: _rf(key=0), "integer key"),
        Bad("zeroth_order.reinforce_grad", "key", lambda: _rf(key=[0, 1]), "list key"),
        Bad("zeroth_order.reinforce_grad", "f", lambda: _rf(f=1.0), "f not callable"),
        Bad("zeroth_order.reinforce_grad", "logits", lambda: _rf(logits=np.ones((2, 2))), "2-D"),
        Bad("zeroth_order.reinforce_grad", "logits", lambda: _rf(logits=np.array([NAN, 0, 0])), "NaN"),
        Bad("zeroth_order.reinforce_grad", "num_samples", lambda: _rf(num_samples=0), "zero samples"),
        Bad("zeroth_order.reinforce_grad", "distribution", lambda: _rf(distribution="poisson"), "unknown"),
        Bad("zeroth_order.reinforce_grad", "baseline", lambda: _rf(baseline="mean"), "unknown baseline"),
        Bad("zeroth_order.reinforce_grad", "baseline", lambda: _rf(baseline=NAN), "NaN baseline"),
        Bad("zeroth_order.reinforce_grad", "baseline", lambda: _rf(baseline=None), "None baseline"),
        Bad("zeroth_order.reinforce_grad", "baseline", lambda: _rf(baseline=np.ones(3)), "array baseline"),
        Bad("zeroth_order.reinforce_grad", "num_samples",
            lambda: _rf(num_samples=1, baseline="loo"), "loo with 1 sample"),
        Coerce("zeroth_order.reinforce_grad", lambda: _rf(logits=[0, 1, -1], num_samples=3, baseline=1),
               lambda: _rf(logits=np.array([0.0, 1.0, -1.0]), num_samples=3, baseline=1.0)),
        Bad("zeroth_order.straight_through_grad", "key",
            lambda: _rf(zo.straight_through_grad, key=7), "integer key"),
        Bad("zeroth_order.straight_through_grad", "logits",
            lambda: _rf(zo.straight_through_grad, logits="abc"), "string"),
        Bad("zeroth_order.straight_through_grad", "logits",
            lambda: _rf(zo.straight_through_grad, logits=np.zeros((0,))), "empty"),
        Bad("zeroth_order.straight_through_grad", "num_samples",
            lambda: _rf(zo.straight_through_grad, num_samples=-2), "negative samples"),
        Bad("zeroth_order.straight_through_grad", "distribution",
            lambda: _rf(zo.straight_through_grad, distribution=None), "None distribution"),
        Bad("zeroth_order.straight_through_grad", "f",
            lambda: _rf(zo.straight_through_grad, f="f"), "f string"),
        Coerce("zeroth_order.straight_through_grad",
               lambda: _rf(zo.straight_through_grad, logits=[0, 1, -1], num_samples=2),
               lambda: _rf(zo.straight_through_grad, logits=np.array([0.0, 1.0, -1.0]), num_samples=2)),
        Bad("zeroth_order.reinmax_grad", "key", lambda: _rf(zo.reinmax_grad, key=7), "integer key"),
        Bad("zeroth_order.reinmax_grad", "logits", lambda: _rf(zo.reinmax_grad, logits="abc"), "string"),
        Bad("zeroth_order.reinmax_grad", "logits",
            lambda: _rf(zo.reinmax_grad, logits=np.array([0.0, INF, 1.0])), "inf"),
        Bad("zeroth_order.reinmax_grad", "num_samples", lambda: _rf(zo.reinmax_grad, num_samples=0), "zero samples"),
        Bad("zeroth_order.reinmax_grad", "distribution",
            lambda: _rf(zo.reinmax_grad, distribution="gumbel"), "unknown distribution"),
        Bad("zeroth_order.reinmax_grad", "f", lambda: _rf(zo.reinmax_grad, f=None), "f None"),
        Bad("zeroth_order.reinmax_grad", "temperature", lambda: _rf(zo.reinmax_grad, temperature=0.0), "zero"),
        Bad("zeroth_order.reinmax_grad", "temperature", lambda: _rf(zo.reinmax_grad, temperature=-1.0), "negative"),
        Bad("zeroth_order.reinmax_grad", "temperature", lambda: _rf(zo.reinmax_grad, temperature=NAN), "NaN"),
        Bad("zeroth_order.reinmax_grad", "temperature", lambda: _rf(zo.reinmax_grad, temperature="1"), "string"),
        Coerce("zeroth_order.reinmax_grad", lambda: _rf(zo.reinmax_grad, logits=[0, 1, -1], temperature=2),
               lambda: _rf(zo.reinmax_grad, logits=np.array([0.0, 1.0, -1.0]), temperature=2.0)),
    ]
)

EXEMPT = {
    "ESTIMATORS": "a constant dict of the estimators (each swept under its own name)",
    "ZOResult": "NamedTuple result type",
    "CBOResult": "NamedTuple result type",
}
