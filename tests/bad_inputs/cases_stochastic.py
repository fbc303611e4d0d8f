"""Bad-input cases for optlab.stochastic."""

import jax
import jax.numpy as jnp
import numpy as np
import optax

import badinput
from optlab import first_order, problems
from optlab import stochastic as st

B, C = badinput.Bad, badinput.Coerce
KEY = jax.random.key(0)
NAN = float("nan")
_A = np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0], [0.5, -1.0]])
LSQ = problems.least_squares(jnp.asarray(_A), jnp.asarray(_A @ np.array([1.0, -1.0]) + 0.1), reg=0.1)
QUAD = problems.quadratic(kappa=2.0, dim=2)
GD = first_order.gd(0.1)
X0 = jnp.zeros(2)
NOISE = st.gaussian_noise(0.1)


def _run_cases(name, call):
    """Shared cases of the finite-sum runs: call(problem, x0, key=..., **kw)."""
    return [
        B(name, "key", lambda: call(LSQ, X0, key=0), "integer key"),
        B(name, "key", lambda: call(LSQ, X0, key=None), "missing key"),
        B(name, "key", lambda: call(LSQ, X0, key=jnp.array([1.0, 2.0])), "float key"),
        B(name, "problem", lambda: call("lsq", X0, key=KEY), "problem string"),
        B(name, "problem", lambda: call(QUAD, X0, key=KEY), "not a finite sum"),
        B(name, "x0", lambda: call(LSQ, jnp.zeros(3), key=KEY), "x0 shape"),
        B(name, "x0", lambda: call(LSQ, jnp.array([NAN, 0.0]), key=KEY), "x0 NaN"),
        B(name, "x0", lambda: call(LSQ, "x0", key=KEY), "x0 string"),
        B(name, "x0", lambda: call(LSQ, None, key=KEY), "x0 None"),
        B(name, "batch_size", lambda: call(LSQ, X0, key=KEY, batch_size=0), "batch 0"),
        B(name, "batch_size", lambda: call(LSQ, X0, key=KEY, batch_size=5), "batch > n"),
        B(name, "sampling", lambda: call(LSQ, X0, key=KEY, sampling="random"), "unknown sampling"),
        B(name, "batch_size", lambda: call(LSQ, X0, key=KEY, batch_size=3, sampling="reshuffle"), "b does not divide n"),
        B(name, "record_every", lambda: call(LSQ, X0, key=KEY, record_every=3), "does not divide"),
        B(name, "record_every", lambda: call(LSQ, X0, key=KEY, record_every=0), "zero"),
        C(name, lambda: call(LSQ, [1, -1], key=KEY), lambda: call(LSQ, jnp.array([1.0, -1.0]), key=KEY)),
    ]


def rfs(problem, x0, **kw):
    return st.run_finite_sum(GD, problem, x0, num_steps=4, **kw)


def svrg_(problem, x0, **kw):
    return st.svrg(problem, x0, 2, learning_rate=0.1, **kw)


def sarah_(problem, x0, **kw):
    return st.sarah(problem, x0, 2, learning_rate=0.1, **kw)


def ai_(problem, x0, **kw):
    return st.ai_sarah(problem, x0, 2, **kw)


CASES = [
    # sample_indices(n, *, num_steps, key, batch_size, sampling)
    B("stochastic.sample_indices", "key", lambda: st.sample_indices(4, num_steps=3, key=0), "integer key"),
    B("stochastic.sample_indices", "key", lambda: st.sample_indices(4, num_steps=3, key=None), "key None"),
    B("stochastic.sample_indices", "key", lambda: st.sample_indices(4, num_steps=3, key="k"), "key string"),
    B("stochastic.sample_indices", "key", lambda: st.sample_indices(4, num_steps=3, key=jnp.arange(2)), "int32 array key"),
    B("stochastic.sample_indices", "n", lambda: st.sample_indices(0, num_steps=3, key=KEY), "n 0"),
    B("stochastic.sample_indices", "n", lambda: st.sample_indices(4.0, num_steps=3, key=KEY), "n float"),
    B("stochastic.sample_indices", "num_steps", lambda: st.sample_indices(4, num_steps=0, key=KEY), "num_steps 0"),
    B("stochastic.sample_indices", "batch_size", lambda: st.sample_indices(4, num_steps=3, key=KEY, batch_size=5), "batch > n"),
    B("stochastic.sample_indices", "batch_size", lambda: st.sample_indices(4, num_steps=3, key=KEY, batch_size=3, sampling="cyclic"), "b does not divide n"),
    B("stochastic.sample_indices", "sampling", lambda: st.sample_indices(4, num_steps=3, key=KEY, batch_size=1, sampling="shuffle"), "unknown"),
    # clip_by_norm(g, clip_norm) / clip / clipped_sgd
    B("stochastic.clip_by_norm", "clip_norm", lambda: st.clip_by_norm(jnp.ones(2), 0.0), "c 0"),
    B("stochastic.clip_by_norm", "clip_norm", lambda: st.clip_by_norm(jnp.ones(2), -1.0), "c negative"),
    B("stochastic.clip_by_norm", "clip_norm", lambda: st.clip_by_norm(jnp.ones(2), "1"), "c string"),
    B("stochastic.clip_by_norm", "g", lambda: st.clip_by_norm(jnp.array([NAN, 1.0]), 1.0), "g NaN"),
    B("stochastic.clip_by_norm", "g", lambda: st.clip_by_norm("g", 1.0), "g string"),
    B("stochastic.clip", "clip_norm", lambda: st.clip(0.0), "c 0"),
    B("stochastic.clip", "clip_norm", lambda: st.clip(None), "c None"),
    B("stochastic.clip", "clip_norm", lambda: st.clip([1.0, 2.0]), "c vector"),
    B("stochastic.clipped_sgd", "learning_rate", lambda: st.clipped_sgd(-0.1, 1.0), "lr negative"),
    B("stochastic.clipped_sgd", "learning_rate", lambda: st.clipped_sgd("0.1", 1.0), "lr string"),
    B("stochastic.clipped_sgd", "clip_norm", lambda: st.clipped_sgd(0.1, 0.0), "c 0"),
    B("stochastic.clipped_sgd", "clip_norm", lambda: st.clipped_sgd(0.1, np.inf), "c inf"),
    # schedules
    B("stochastic.linear_decay", "peak", lambda: st.linear_decay(0.0, num_steps=10), "peak 0"),
    B("stochastic.linear_decay", "peak", lambda: st.linear_decay("1", num_steps=10), "peak string"),
    B("stochastic.linear_decay", "num_steps", lambda: st.linear_decay(1.0, num_steps=0), "T 0"),
    B("stochastic.linear_decay", "num_steps", lambda: st.linear_decay(1.0, num_steps=10.5), "T float"),
    B("stochastic.inverse_time", "init", lambda: st.inverse_time(-1.0, 10.0), "init negative"),
    B("stochastic.inverse_time", "decay_steps", lambda: st.inverse_time(1.0, 0.0), "decay 0"),
    B("stochastic.inverse_time", "decay_steps", lambda: st.inverse_time(1.0, NAN), "decay NaN"),
    B("stochastic.refined_weights", "grad_norms", lambda: st.refined_weights(jnp.ones(1)), "one entry"),
    B("stochastic.refined_weights", "grad_norms", lambda: st.refined_weights(jnp.array([1.0, 0.0, 1.0])), "zero norm"),
    B("stochastic.refined_weights", "grad_norms", lambda: st.refined_weights(jnp.array([1.0, NAN])), "NaN"),
    B("stochastic.refined_weights", "grad_norms", lambda: st.refined_weights(jnp.ones((2, 2))), "2-D"),
    B("stochastic.refined_weights", "grad_norms", lambda: st.refined_weights("norms"), "string"),
    B("stochastic.refined_weights", "smoothing", lambda: st.refined_weights(jnp.ones(4), smoothing=0), "smoothing 0"),
    C("stochastic.refined_weights", lambda: st.refined_weights([3, 2, 1, 1]), lambda: st.refined_weights(jnp.array([3.0, 2, 1, 1]))),
    B("stochastic.refined_schedule", "peak", lambda: st.refined_schedule(jnp.ones(4), 0.0), "peak 0"),
    B("stochastic.refined_schedule", "grad_norms", lambda: st.refined_schedule(jnp.array([1.0, -1.0]), 1.0), "negative norm"),
    # run_finite_sum(optimizer, problem, x0, num_steps, *, key, ...)
    *_run_cases("stochastic.run_finite_sum", rfs),
    B("stochastic.run_finite_sum", "optimizer", lambda: st.run_finite_sum("sgd", LSQ, X0, num_steps=4, key=KEY), "optimizer string"),
    B("stochastic.run_finite_sum", "num_steps", lambda: st.run_finite_sum(GD, LSQ, X0, num_steps=0, key=KEY), "num_steps 0"),
    # svrg / sarah / ai_sarah
    *_run_cases("stochastic.svrg", svrg_),
    B("stochastic.svrg", "learning_rate", lambda: st.svrg(LSQ, X0, 2, learning_rate=0.0, key=KEY), "lr 0"),
    B("stochastic.svrg", "learning_rate", lambda: st.svrg(LSQ, X0, 2, learning_rate=lambda k: 0.1, key=KEY), "lr schedule"),
    B("stochastic.svrg", "num_epochs", lambda: st.svrg(LSQ, X0, 0, learning_rate=0.1, key=KEY), "epochs 0"),
    B("stochastic.svrg", "inner_num_steps", lambda: st.svrg(LSQ, X0, 2, learning_rate=0.1, key=KEY, inner_num_steps=0), "m 0"),
    *_run_cases("stochastic.sarah", sarah_),
    B("stochastic.sarah", "learning_rate", lambda: st.sarah(LSQ, X0, 2, learning_rate=NAN, key=KEY), "lr NaN"),
    *_run_cases("stochastic.ai_sarah", ai_),
    B("stochastic.ai_sarah", "gamma", lambda: st.ai_sarah(LSQ, X0, 2, key=KEY, gamma=0.0), "gamma 0"),
    B("stochastic.ai_sarah", "gamma", lambda: st.ai_sarah(LSQ, X0, 2, key=KEY, gamma=1.5), "gamma > 1"),
    B("stochastic.ai_sarah", "beta", lambda: st.ai_sarah(LSQ, X0, 2, key=KEY, beta=1.0), "beta 1"),
    B("stochastic.ai_sarah", "beta", lambda: st.ai_sarah(LSQ, X0, 2, key=KEY, beta="0.9"), "beta string"),
    # svrg_estimator(problem, x, snapshot, snapshot_grad, idx) / ai_sarah_step(problem, w, v, idx)
    B("stochastic.svrg_estimator", "problem", lambda: st.svrg_estimator(QUAD, X0, X0, X0, jnp.array([0])), "not finite sum"),
    B("stochastic.svrg_estimator", "x", lambda: st.svrg_estimator(LSQ, jnp.zeros(3), X0, X0, jnp.array([0])), "x shape"),
    B("stochastic.svrg_estimator", "snapshot", lambda: st.svrg_estimator(LSQ, X0, jnp.array([NAN, 0.0]), X0, jnp.array([0])), "NaN"),
    B("stochastic.svrg_estimator", "snapshot_grad", lambda: st.svrg_estimator(LSQ, X0, X0, "g", jnp.array([0])), "string"),
    B("stochastic.svrg_estimator", "idx", lambda: st.svrg_estimator(LSQ, X0, X0, X0, jnp.array([7])), "idx out of range"),
    B("stochastic.svrg_estimator", "idx", lambda: st.svrg_estimator(LSQ, X0, X0, X0, jnp.array([0.5])), "float idx"),
    B("stochastic.svrg_estimator", "idx", lambda: st.svrg_estimator(LSQ, X0, X0, X0, jnp.array([], jnp.int32)), "empty idx"),
    C("stochastic.svrg_estimator", lambda: st.svrg_estimator(LSQ, [1, 2], [0, 0], [1, 1], np.array([0, 2])),
      lambda: st.svrg_estimator(LSQ, jnp.array([1.0, 2.0]), X0, jnp.ones(2), jnp.array([0, 2]))),
    B("stochastic.ai_sarah_step", "problem", lambda: st.ai_sarah_step(None, X0, X0, jnp.array([0])), "None"),
    B("stochastic.ai_sarah_step", "w", lambda: st.ai_sarah_step(LSQ, jnp.zeros(1), X0, jnp.array([0])), "w shape"),
    B("stochastic.ai_sarah_step", "v", lambda: st.ai_sarah_step(LSQ, X0, jnp.array([np.inf, 0.0]), jnp.array([0])), "v inf"),
    B("stochastic.ai_sarah_step", "idx", lambda: st.ai_sarah_step(LSQ, X0, jnp.ones(2), jnp.array([-1])), "negative idx"),
    C("stochastic.ai_sarah_step", lambda: st.ai_sarah_step(LSQ, [1, 0], [1, 1], [1]),
      lambda: st.ai_sarah_step(LSQ, jnp.array([1.0, 0.0]), jnp.ones(2), jnp.array([1]))),
    # noise models
    B("stochastic.gaussian_noise", "scale", lambda: st.gaussian_noise(0.0), "scale 0"),
    B("stochastic.gaussian_noise", "scale", lambda: st.gaussian_noise("1"), "scale string"),
    B("stochastic.gaussian_noise", "scale", lambda: st.gaussian_noise([1.0, 2.0]), "scale vector"),
    B("stochastic.student_t_noise", "df", lambda: st.student_t_noise(-1.0), "df negative"),
    B("stochastic.student_t_noise", "scale", lambda: st.student_t_noise(3.0, 0.0), "scale 0"),
    B("stochastic.pareto_noise", "alpha", lambda: st.pareto_noise(0.0), "alpha 0"),
    B("stochastic.pareto_noise", "alpha", lambda: st.pareto_noise(NAN), "alpha NaN"),
    B("stochastic.pareto_noise", "scale", lambda: st.pareto_noise(1.5, -1.0), "scale negative"),
    B("stochastic.discrete_noise", "probs", lambda: st.discrete_noise([1.0, -1.0], [0.6, 0.6]), "sum != 1"),
    B("stochastic.discrete_noise", "probs", lambda: st.discrete_noise([1.0, -1.0], [1.5, -0.5]), "negative prob"),
    B("stochastic.discrete_noise", "probs", lambda: st.discrete_noise([1.0, -1.0, 0.0], [0.5, 0.5]), "length"),
    B("stochastic.discrete_noise", "atoms", lambda: st.discrete_noise([NAN, 1.0], [0.5, 0.5]), "NaN atom"),
    B("stochastic.discrete_noise", "atoms", lambda: st.discrete_noise("ab", [0.5, 0.5]), "string atoms"),
    B("stochastic.discrete_noise", "atoms", lambda: st.discrete_noise([], []), "empty"),
    B("stochastic.discrete_noise", "atoms", lambda: st.discrete_noise([9.0, 1.0], [0.1, 0.9]), "non-zero mean (names atoms @ probs)"),
    # run_additive_noise(optimizer, problem, x0, num_steps, *, key, noise, record_every)
    B("stochastic.run_additive_noise", "key", lambda: st.run_additive_noise(GD, QUAD, X0, num_steps=4, key=1, noise=NOISE), "integer key"),
    B("stochastic.run_additive_noise", "key", lambda: st.run_additive_noise(GD, QUAD, X0, num_steps=4, noise=NOISE), "missing key"),
    B("stochastic.run_additive_noise", "noise", lambda: st.run_additive_noise(GD, QUAD, X0, num_steps=4, key=KEY), "missing noise"),
    B("stochastic.run_additive_noise", "noise", lambda: st.run_additive_noise(GD, QUAD, X0, num_steps=4, key=KEY, noise=lambda k, s, d: jnp.zeros(3)), "wrong shape"),
    B("stochastic.run_additive_noise", "noise", lambda: st.run_additive_noise(GD, QUAD, X0, num_steps=4, key=KEY, noise=lambda k: k), "wrong signature"),
    B("stochastic.run_additive_noise", "x0", lambda: st.run_additive_noise(GD, QUAD, jnp.ones(3), num_steps=4, key=KEY, noise=NOISE), "x0 shape"),
    B("stochastic.run_additive_noise", "x0", lambda: st.run_additive_noise(GD, QUAD, jnp.array([np.inf, 0]), num_steps=4, key=KEY, noise=NOISE), "x0 inf"),
    B("stochastic.run_additive_noise", "problem", lambda: st.run_additive_noise(GD, None, X0, num_steps=4, key=KEY, noise=NOISE), "problem None"),
    B("stochastic.run_additive_noise", "optimizer", lambda: st.run_additive_noise(None, QUAD, X0, num_steps=4, key=KEY, noise=NOISE), "optimizer None"),
    B("stochastic.run_additive_noise", "num_steps", lambda: st.run_additive_noise(GD, QUAD, X0, num_steps=-2, key=KEY, noise=NOISE), "negative"),
    B("stochastic.run_additive_noise", "record_every", lambda: st.run_additive_noise(GD, QUAD, X0, num_steps=4, key=KEY, noise=NOISE, record_every=3), "does not divide"),
    C("stochastic.run_additive_noise", lambda: st.run_additive_noise(GD, QUAD, [1, 2], num_steps=4, key=KEY, noise=NOISE),
      lambda: st.run_additive_noise(GD, QUAD, jnp.array([1.0, 2.0]), num_steps=4, key=KEY, noise=NOISE)),
    # sgd_noise_floor(problem, *, learning_rate, batch_size)
    B("stochastic.sgd_noise_floor", "learning_rate", lambda: st.sgd_noise_floor(LSQ, learning_rate=0.0), "lr 0"),
    B("stochastic.sgd_noise_floor", "learning_rate", lambda: st.sgd_noise_floor(LSQ, learning_rate=-0.1), "lr negative"),
    B("stochastic.sgd_noise_floor", "learning_rate", lambda: st.sgd_noise_floor(LSQ, learning_rate="0.1"), "lr string"),
    B("stochastic.sgd_noise_floor", "learning_rate", lambda: st.sgd_noise_floor(LSQ, learning_rate=lambda k: 0.1), "lr schedule"),
    B("stochastic.sgd_noise_floor", "learning_rate", lambda: st.sgd_noise_floor(LSQ, learning_rate=100.0), "unstable step"),
    B("stochastic.sgd_noise_floor", "batch_size", lambda: st.sgd_noise_floor(LSQ, learning_rate=0.1, batch_size=0), "batch 0"),
    B("stochastic.sgd_noise_floor", "batch_size", lambda: st.sgd_noise_floor(LSQ, learning_rate=0.1, batch_size=9), "batch > n"),
    B("stochastic.sgd_noise_floor", "problem", lambda: st.sgd_noise_floor(QUAD, learning_rate=0.1), "not a finite sum"),
    B("stochastic.sgd_noise_floor", "problem", lambda: st.sgd_noise_floor({"A": 1}, learning_rate=0.1), "dict"),
    # over_seeds(method, keys, *args, **kwargs)
    B("stochastic.over_seeds", "keys", lambda: st.over_seeds(st.svrg, None, LSQ, X0, 2, learning_rate=0.1), "keys None"),
    B("stochastic.over_seeds", "keys", lambda: st.over_seeds(st.svrg, 3, LSQ, X0, 2, learning_rate=0.1), "integer"),
    B("stochastic.over_seeds", "keys", lambda: st.over_seeds(st.svrg, KEY, LSQ, X0, 2, learning_rate=0.1), "single key"),
    B("stochastic.over_seeds", "keys", lambda: st.over_seeds(st.svrg, jax.random.split(KEY, 2), LSQ, X0, 2, learning_rate=0.1, key=KEY), "key given"),
    B("stochastic.over_seeds", "method", lambda: st.over_seeds("svrg", jax.random.split(KEY, 2), LSQ, X0, 2), "method string"),
    B("stochastic.over_seeds", "learning_rate", lambda: st.over_seeds(st.svrg, jax.random.split(KEY, 2), LSQ, X0, 2, learning_rate=-1.0), "method's own check"),
]

EXEMPT = {
    "StochasticTrace": "a NamedTuple of results",
    "NoiseFloor": "a NamedTuple of results",
    "SAMPLING_SCHEMES": "a constant",
}
