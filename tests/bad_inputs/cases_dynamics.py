"""Bad-input cases for optlab.dynamics."""

import jax
import jax.numpy as jnp

import badinput
from optlab import dynamics as dy

B, C = badinput.Bad, badinput.Coerce
NAN = float("nan")
G = jnp.array([3.0, 4.0])

CASES = [
    B("dynamics.ascent_direction", "g", lambda: dy.ascent_direction(G.at[0].set(NAN), 0.1), "NaN g"),
    B("dynamics.ascent_direction", "g", lambda: dy.ascent_direction("abc", 0.1), "string g"),
    B("dynamics.ascent_direction", "rho", lambda: dy.ascent_direction(G, -0.1), "negative rho"),
    B("dynamics.ascent_direction", "rho", lambda: dy.ascent_direction(G, NAN), "NaN rho"),
    B("dynamics.ascent_direction", "rho", lambda: dy.ascent_direction(G, "1"), "string rho"),
    B("dynamics.ascent_direction", "rho", lambda: dy.ascent_direction(G, jnp.ones(2)), "vector rho"),
    C("dynamics.ascent_direction", lambda: dy.ascent_direction([3, 4], 1), lambda: dy.ascent_direction(G, 1.0)),
    B("dynamics.scale_by_sam", "rho", lambda: dy.scale_by_sam(-1.0), "negative rho"),
    B("dynamics.scale_by_sam", "rho", lambda: dy.scale_by_sam(None), "None rho"),
    B("dynamics.scale_by_sam", "rho", lambda: dy.scale_by_sam(float("inf")), "inf rho"),
    B("dynamics.sam", "learning_rate", lambda: dy.sam(-0.1, 0.1), "negative learning_rate"),
    B("dynamics.sam", "learning_rate", lambda: dy.sam("0.1", 0.1), "string learning_rate"),
    B("dynamics.sam", "rho", lambda: dy.sam(0.1, -0.1), "negative rho"),
    B("dynamics.sam", "rho", lambda: dy.sam(0.1, NAN), "NaN rho"),
    B("dynamics.warmup_stable_decay", "peak_value", lambda: dy.warmup_stable_decay(0.0, num_steps=10, decay_steps=2),
      "zero peak"),
    B("dynamics.warmup_stable_decay", "peak_value",
      lambda: dy.warmup_stable_decay("a", num_steps=10, decay_steps=2), "string peak"),
    B("dynamics.warmup_stable_decay", "num_steps", lambda: dy.warmup_stable_decay(1.0, num_steps=0, decay_steps=1),
      "zero num_steps"),
    B("dynamics.warmup_stable_decay", "num_steps",
      lambda: dy.warmup_stable_decay(1.0, num_steps=10.5, decay_steps=1), "float num_steps"),
    B("dynamics.warmup_stable_decay", "warmup_steps",
      lambda: dy.warmup_stable_decay(1.0, num_steps=10, warmup_steps=-1, decay_steps=1), "negative warmup"),
    B("dynamics.warmup_stable_decay", "decay_steps",
      lambda: dy.warmup_stable_decay(1.0, num_steps=10, decay_steps=0), "zero decay_steps"),
    B("dynamics.warmup_stable_decay", "end_value",
      lambda: dy.warmup_stable_decay(1.0, num_steps=10, decay_steps=2, end_value=-0.1), "negative end"),
    B("dynamics.warmup_stable_decay", "decay",
      lambda: dy.warmup_stable_decay(1.0, num_steps=10, decay_steps=2, decay="step"), "unknown decay"),
    B("dynamics.warmup_stable_decay", "decay",
      lambda: dy.warmup_stable_decay(1.0, num_steps=10, decay_steps=2, decay=1), "non-string decay"),
    C("dynamics.warmup_stable_decay", lambda: dy.warmup_stable_decay(1, num_steps=10, decay_steps=2)(3),
      lambda: dy.warmup_stable_decay(1.0, num_steps=10, decay_steps=2)(3)),
]

H, S, X = jnp.array([1.0, 2.0]), jnp.array([1.0, 0.5]), jnp.array([0.5, -1.0])
for name, call, extra in (
    ("sgd_sde_moments", dy.sgd_sde_moments, {"times": jnp.array([0.0, 1.0])}),
    ("sgd_quadratic_moments", dy.sgd_quadratic_moments, {"num_steps": 3}),
):
    CASES += [
        B(f"dynamics.{name}", "curvature", lambda c=call, e=extra: c(-H, S, X, learning_rate=0.1, **e), "negative h"),
        B(f"dynamics.{name}", "curvature", lambda c=call, e=extra: c("ab", S, X, learning_rate=0.1, **e), "string h"),
        B(f"dynamics.{name}", "noise_variance", lambda c=call, e=extra: c(H, -S, X, learning_rate=0.1, **e),
          "negative s2"),
        B(f"dynamics.{name}", "x0", lambda c=call, e=extra: c(H, S, X.at[0].set(NAN), learning_rate=0.1, **e),
          "NaN x0"),
        B(f"dynamics.{name}", "x0", lambda c=call, e=extra: c(H, S, X[:1], learning_rate=0.1, **e), "short x0"),
        B(f"dynamics.{name}", "learning_rate", lambda c=call, e=extra: c(H, S, X, learning_rate=-0.1, **e),
          "negative learning_rate"),
        B(f"dynamics.{name}", "batch_size",
          lambda c=call, e=extra: c(H, S, X, learning_rate=0.1, batch_size=0, **e), "zero batch"),
        B(f"dynamics.{name}", "batch_size",
          lambda c=call, e=extra: c(H, S, X, learning_rate=0.1, batch_size=2.5, **e), "float batch"),
        C(f"dynamics.{name}", lambda c=call, e=extra: c([1, 2], [1, 0.5], [0.5, -1], learning_rate=0.1, **e),
          lambda c=call, e=extra: c(H, S, X, learning_rate=0.1, **e)),
    ]
CASES += [
    B("dynamics.sgd_sde_moments", "times", lambda: dy.sgd_sde_moments(H, S, X, learning_rate=0.1, times=[-1.0]),
      "negative time"),
    B("dynamics.sgd_sde_moments", "times",
      lambda: dy.sgd_sde_moments(H, S, X, learning_rate=0.1, times=jnp.ones((2, 2))), "matrix times"),
    B("dynamics.sgd_quadratic_moments", "num_steps",
      lambda: dy.sgd_quadratic_moments(H, S, X, learning_rate=0.1, num_steps=0), "zero num_steps"),
    B("dynamics.sgd_quadratic_moments", "learning_rate",
      lambda: dy.sgd_quadratic_moments(H, S, X, learning_rate=1.5, num_steps=3), "unstable step"),
]
CASES += [
    B(f"dynamics.{name}", "weight", lambda c=call: c(NAN, 0.0, 0.5, horizon=5), "NaN weight")
    for name, call in (("recurrent_unit_states", dy.recurrent_unit_states),
                       ("recurrent_unit_bptt", dy.recurrent_unit_bptt))
] + [
    B(f"dynamics.{name}", "bias", lambda c=call: c(1.0, [0.0, 1.0], 0.5, horizon=5), "vector bias")
    for name, call in (("recurrent_unit_states", dy.recurrent_unit_states),
                       ("recurrent_unit_bptt", dy.recurrent_unit_bptt))
] + [
    B(f"dynamics.{name}", "x0", lambda c=call: c(1.0, 0.0, "a", horizon=5), "string x0")
    for name, call in (("recurrent_unit_states", dy.recurrent_unit_states),
                       ("recurrent_unit_bptt", dy.recurrent_unit_bptt))
] + [
    B(f"dynamics.{name}", "horizon", lambda c=call: c(1.0, 0.0, 0.5, horizon=0), "zero horizon")
    for name, call in (("recurrent_unit_states", dy.recurrent_unit_states),
                       ("recurrent_unit_bptt", dy.recurrent_unit_bptt))
] + [
    B("dynamics.recurrent_unit_bptt", "horizon", lambda: dy.recurrent_unit_bptt(1.0, 0.0, 0.5, horizon=2.5),
      "float horizon"),
    B("dynamics.recurrent_unit_states", "weight", lambda: dy.recurrent_unit_states(True, 0.0, 0.5, horizon=2),
      "bool weight"),
    C("dynamics.recurrent_unit_bptt", lambda: dy.recurrent_unit_bptt(2, -1, 1, horizon=4),
      lambda: dy.recurrent_unit_bptt(2.0, -1.0, 1.0, horizon=4), "integers"),
    C("dynamics.recurrent_unit_states", lambda: dy.recurrent_unit_states(2, -1, 1, horizon=4),
      lambda: dy.recurrent_unit_states(2.0, -1.0, 1.0, horizon=4), "integers"),
    B("dynamics.saddle_node", "weight", lambda: dy.saddle_node(0.5), "weight below one"),
    B("dynamics.saddle_node", "weight", lambda: dy.saddle_node(NAN), "NaN weight"),
    B("dynamics.saddle_node", "weight", lambda: dy.saddle_node("2"), "string weight"),
    B("dynamics.bottleneck_wall", "weight", lambda: dy.bottleneck_wall(1.0, horizon=10), "weight one"),
    B("dynamics.bottleneck_wall", "horizon", lambda: dy.bottleneck_wall(2.0, horizon=0), "zero horizon"),
    C("dynamics.saddle_node", lambda: dy.saddle_node(3), lambda: dy.saddle_node(3.0), "integer weight"),
]
_DATA = jnp.array([[1.0, 0.0, 1.0], [0.0, 1.0, -1.0], [1.0, 1.0, 1.0]])
_REP = jnp.array([1.0, 0.0, -1.0])


def _lin(w, z):
    return -z[-1] * (z[:-1] @ w)


def _nd(**kw):
    args = dict(loss=_lin, data=_DATA, replacement=_REP, w0=jnp.zeros(2), learning_rate=0.1, num_steps=4,
                key=jax.random.key(0), num_paths=3)
    args.update(kw)
    return dy.neighbour_divergence(**args)


CASES += [
    B("dynamics.neighbour_divergence", "loss", lambda: _nd(loss=None), "None loss"),
    B("dynamics.neighbour_divergence", "data", lambda: _nd(data=_DATA.at[0, 0].set(NAN)), "NaN data"),
    B("dynamics.neighbour_divergence", "data", lambda: _nd(data=jnp.ones(3)), "vector data"),
    B("dynamics.neighbour_divergence", "replacement", lambda: _nd(replacement=jnp.ones(2)), "short replacement"),
    B("dynamics.neighbour_divergence", "replacement", lambda: _nd(replacement="abc"), "string replacement"),
    B("dynamics.neighbour_divergence", "w0", lambda: _nd(w0=jnp.array([NAN, 0.0])), "NaN w0"),
    B("dynamics.neighbour_divergence", "learning_rate", lambda: _nd(learning_rate=-0.1), "negative step"),
    B("dynamics.neighbour_divergence", "learning_rate", lambda: _nd(learning_rate=jnp.ones(3)), "wrong length"),
    B("dynamics.neighbour_divergence", "num_steps", lambda: _nd(num_steps=0), "zero num_steps"),
    B("dynamics.neighbour_divergence", "num_paths", lambda: _nd(num_paths=0), "zero num_paths"),
    B("dynamics.neighbour_divergence", "index", lambda: _nd(index=3), "index out of range"),
    B("dynamics.neighbour_divergence", "index", lambda: _nd(index=-1), "negative index"),
    B("dynamics.neighbour_divergence", "key", lambda: _nd(key=0), "integer key"),
    C("dynamics.neighbour_divergence", lambda: _nd(data=[[1, 0, 1], [0, 1, -1], [1, 1, 1]], replacement=[1, 0, -1],
                                                   w0=[0, 0]), lambda: _nd(), "lists"),
    B("dynamics.neighbour_divergence", "noise_scale", lambda: _nd(noise_scale=-0.1), "negative noise_scale"),
    B("dynamics.neighbour_divergence", "noise_scale", lambda: _nd(noise_scale=NAN), "NaN noise_scale"),
    B("dynamics.neighbour_divergence", "tail_index", lambda: _nd(noise_scale=0.1, tail_index=2.5), "tail_index > 2"),
    B("dynamics.neighbour_divergence", "tail_index", lambda: _nd(noise_scale=0.1, tail_index=0.0), "tail_index 0"),
    B("dynamics.symmetric_stable", "tail_index", lambda: dy.symmetric_stable(2.5, (3,), key=jax.random.key(0)),
      "tail_index > 2"),
    B("dynamics.symmetric_stable", "tail_index", lambda: dy.symmetric_stable(NAN, (3,), key=jax.random.key(0)),
      "NaN tail_index"),
    B("dynamics.symmetric_stable", "tail_index", lambda: dy.symmetric_stable("1.5", (3,), key=jax.random.key(0)),
      "string tail_index"),
    B("dynamics.symmetric_stable", "key", lambda: dy.symmetric_stable(1.5, (3,), key=0), "integer key"),
    B("dynamics.symmetric_stable", "shape", lambda: dy.symmetric_stable(1.5, (2, -1), key=jax.random.key(0)),
      "negative shape"),
    B("dynamics.symmetric_stable", "shape", lambda: dy.symmetric_stable(1.5, (2.5,), key=jax.random.key(0)),
      "float shape"),
    C("dynamics.symmetric_stable", lambda: dy.symmetric_stable(1, (4,), key=jax.random.key(0)),
      lambda: dy.symmetric_stable(1.0, (4,), key=jax.random.key(0)), "integer tail_index"),
    B("dynamics.sgd_stability_bound", "lipschitz", lambda: dy.sgd_stability_bound(0.0, [0.1], 3), "zero L"),
    B("dynamics.sgd_stability_bound", "learning_rates", lambda: dy.sgd_stability_bound(1.0, [NAN], 3), "NaN step"),
    B("dynamics.sgd_stability_bound", "learning_rates", lambda: dy.sgd_stability_bound(1.0, 0.1, 3), "scalar"),
    B("dynamics.sgd_stability_bound", "num_examples", lambda: dy.sgd_stability_bound(1.0, [0.1], 0), "zero n"),
    C("dynamics.sgd_stability_bound", lambda: dy.sgd_stability_bound(1, [1, 2], 3),
      lambda: dy.sgd_stability_bound(1.0, [1.0, 2.0], 3), "integers"),
]

ADAM = dict(learning_rate=0.01, b1=0.99, b2=0.999, eps=1e-8)
KEY = jax.random.key(0)
HC = jnp.array([1.0, 0.5])


def _quad(p):
    return 0.5 * jnp.sum(jnp.array([3.0, 2.0, 1.0]) * p["w"] ** 2) + p["w"][0]


PQ = {"w": jnp.array([1.0, -1.0, 0.5])}
V2 = jnp.eye(3)[:, :2]
CASES += [
    B("dynamics.adam_scaling_rule", "kappa", lambda: dy.adam_scaling_rule(0.5, **ADAM), "kappa below 1"),
    B("dynamics.adam_scaling_rule", "kappa", lambda: dy.adam_scaling_rule("4", **ADAM), "string kappa"),
    B("dynamics.adam_scaling_rule", "kappa", lambda: dy.adam_scaling_rule(NAN, **ADAM), "NaN kappa"),
    B("dynamics.adam_scaling_rule", "learning_rate",
      lambda: dy.adam_scaling_rule(4, **(ADAM | {"learning_rate": -0.1})), "negative learning_rate"),
    B("dynamics.adam_scaling_rule", "b1", lambda: dy.adam_scaling_rule(4, **(ADAM | {"b1": 1.0})), "b1 = 1"),
    B("dynamics.adam_scaling_rule", "b1", lambda: dy.adam_scaling_rule(16, **(ADAM | {"b1": 0.9})),
      "kappa (1 - b1) >= 1"),
    B("dynamics.adam_scaling_rule", "b2", lambda: dy.adam_scaling_rule(4, **(ADAM | {"b2": -0.1})), "negative b2"),
    B("dynamics.adam_scaling_rule", "eps", lambda: dy.adam_scaling_rule(4, **(ADAM | {"eps": -1.0})), "negative eps"),
    B("dynamics.adam_scaling_rule", "rule", lambda: dy.adam_scaling_rule(4, **ADAM, rule="cubic"), "unknown rule"),
    B("dynamics.adam_scaling_rule", "rule", lambda: dy.adam_scaling_rule(4, **ADAM, rule=2), "non-string rule"),
    C("dynamics.adam_scaling_rule", lambda: dy.adam_scaling_rule(4, learning_rate=1, b1=0.99, b2=0.999, eps=0),
      lambda: dy.adam_scaling_rule(4.0, learning_rate=1.0, b1=0.99, b2=0.999, eps=0.0)),
    B("dynamics.sgd_scaling_rule", "kappa", lambda: dy.sgd_scaling_rule(0.0, learning_rate=0.1), "zero kappa"),
    B("dynamics.sgd_scaling_rule", "kappa", lambda: dy.sgd_scaling_rule(None, learning_rate=0.1), "None kappa"),
    B("dynamics.sgd_scaling_rule", "learning_rate", lambda: dy.sgd_scaling_rule(4, learning_rate=0.0), "zero step"),
    C("dynamics.sgd_scaling_rule", lambda: dy.sgd_scaling_rule(4, learning_rate=1),
      lambda: dy.sgd_scaling_rule(4.0, learning_rate=1.0)),
    B("dynamics.noisy_regression", "curvature",
      lambda: dy.noisy_regression(-HC, noise_std=1.0, n_samples=16, key=KEY), "negative curvature"),
    B("dynamics.noisy_regression", "curvature",
      lambda: dy.noisy_regression(jnp.ones((2, 2)), noise_std=1.0, n_samples=16, key=KEY), "matrix curvature"),
    B("dynamics.noisy_regression", "noise_std",
      lambda: dy.noisy_regression(HC, noise_std=0.0, n_samples=16, key=KEY), "zero noise_std"),
    B("dynamics.noisy_regression", "n_samples",
      lambda: dy.noisy_regression(HC, noise_std=1.0, n_samples=3, key=KEY), "too few samples"),
    B("dynamics.noisy_regression", "n_samples",
      lambda: dy.noisy_regression(HC, noise_std=1.0, n_samples=16.5, key=KEY), "float n_samples"),
    B("dynamics.noisy_regression", "key", lambda: dy.noisy_regression(HC, noise_std=1.0, n_samples=16, key=0),
      "integer seed"),
    B("dynamics.noisy_regression", "x_star",
      lambda: dy.noisy_regression(HC, noise_std=1.0, n_samples=16, key=KEY, x_star=jnp.ones(3)), "wrong x_star"),
    B("dynamics.gradient_subspace_fraction", "loss_fn", lambda: dy.gradient_subspace_fraction(None, PQ, k=1),
      "None loss_fn"),
    B("dynamics.gradient_subspace_fraction", "k", lambda: dy.gradient_subspace_fraction(_quad, PQ, k=0), "zero k"),
    B("dynamics.gradient_subspace_fraction", "k", lambda: dy.gradient_subspace_fraction(_quad, PQ, k=4), "k > P"),
    B("dynamics.gradient_subspace_fraction", "params",
      lambda: dy.gradient_subspace_fraction(_quad, {"w": PQ["w"].at[0].set(NAN)}, k=1), "NaN params"),
    B("dynamics.gradient_subspace_fraction", "params", lambda: dy.gradient_subspace_fraction(_quad, "ab", k=1),
      "string params"),
    B("dynamics.gradient_fraction", "gradient", lambda: dy.gradient_fraction(jnp.ones((3, 1)), V2), "matrix g"),
    B("dynamics.gradient_fraction", "basis", lambda: dy.gradient_fraction(jnp.ones(4), V2), "mismatched P"),
    B("dynamics.gradient_fraction", "gradient", lambda: dy.gradient_fraction(jnp.array([1.0, NAN, 0.0]), V2),
      "NaN g"),
    C("dynamics.gradient_fraction", lambda: dy.gradient_fraction([1, 2, 3], [[1, 0], [0, 1], [0, 0]]),
      lambda: dy.gradient_fraction(jnp.array([1.0, 2.0, 3.0]), V2)),
    B("dynamics.subspace_overlap", "basis_b", lambda: dy.subspace_overlap(V2, jnp.eye(3)), "different shapes"),
    B("dynamics.subspace_overlap", "basis_a", lambda: dy.subspace_overlap(jnp.ones(3), V2), "vector basis"),
    B("dynamics.subspace_overlap", "basis_a", lambda: dy.subspace_overlap("ab", V2), "string basis"),
    C("dynamics.subspace_overlap", lambda: dy.subspace_overlap([[1, 0], [0, 1], [0, 0]], [[1, 0], [0, 1], [0, 0]]),
      lambda: dy.subspace_overlap(V2, V2)),
    B("dynamics.central_flow", "loss_fn", lambda: dy.central_flow(None, PQ, learning_rate=0.1, num_steps=2, key=KEY), "None loss_fn"),
    B("dynamics.central_flow", "params", lambda: dy.central_flow(_quad, {"w": PQ["w"].at[0].set(NAN)}, learning_rate=0.1, num_steps=2,
                                                  key=KEY), "NaN params"),
    B("dynamics.central_flow", "params", lambda: dy.central_flow(_quad, "ab", learning_rate=0.1, num_steps=2, key=KEY), "string params"),
    B("dynamics.central_flow", "learning_rate", lambda: dy.central_flow(_quad, PQ, learning_rate=-0.1, num_steps=2, key=KEY),
      "negative learning_rate"),
    B("dynamics.central_flow", "learning_rate", lambda: dy.central_flow(_quad, PQ, learning_rate=jnp.ones(2), num_steps=2, key=KEY),
      "vector learning_rate"),
    B("dynamics.central_flow", "num_steps", lambda: dy.central_flow(_quad, PQ, learning_rate=0.1, num_steps=0, key=KEY), "zero num_steps"),
    B("dynamics.central_flow", "num_steps", lambda: dy.central_flow(_quad, PQ, learning_rate=0.1, num_steps=2.5, key=KEY),
      "float num_steps"),
    B("dynamics.central_flow", "key", lambda: dy.central_flow(_quad, PQ, learning_rate=0.1, num_steps=2, key=0), "integer seed"),
    B("dynamics.central_flow", "substeps", lambda: dy.central_flow(_quad, PQ, learning_rate=0.1, num_steps=2, key=KEY, substeps=0),
      "zero substeps"),
    B("dynamics.central_flow", "power_num_steps",
      lambda: dy.central_flow(_quad, PQ, learning_rate=0.1, num_steps=2, key=KEY, power_num_steps=0), "zero power_num_steps"),
    B("dynamics.gradient_flow", "loss_fn", lambda: dy.gradient_flow(None, PQ, learning_rate=0.1, num_steps=2, key=KEY), "None loss_fn"),
    B("dynamics.gradient_flow", "params", lambda: dy.gradient_flow(_quad, {"w": PQ["w"].at[0].set(NAN)}, learning_rate=0.1, num_steps=2,
                                                  key=KEY), "NaN params"),
    B("dynamics.gradient_flow", "params", lambda: dy.gradient_flow(_quad, "ab", learning_rate=0.1, num_steps=2, key=KEY), "string params"),
    B("dynamics.gradient_flow", "learning_rate", lambda: dy.gradient_flow(_quad, PQ, learning_rate=-0.1, num_steps=2, key=KEY),
      "negative learning_rate"),
    B("dynamics.gradient_flow", "learning_rate", lambda: dy.gradient_flow(_quad, PQ, learning_rate=jnp.ones(2), num_steps=2, key=KEY),
      "vector learning_rate"),
    B("dynamics.gradient_flow", "num_steps", lambda: dy.gradient_flow(_quad, PQ, learning_rate=0.1, num_steps=0, key=KEY), "zero num_steps"),
    B("dynamics.gradient_flow", "num_steps", lambda: dy.gradient_flow(_quad, PQ, learning_rate=0.1, num_steps=2.5, key=KEY),
      "float num_steps"),
    B("dynamics.gradient_flow", "key", lambda: dy.gradient_flow(_quad, PQ, learning_rate=0.1, num_steps=2, key=0), "integer seed"),
    B("dynamics.gradient_flow", "substeps", lambda: dy.gradient_flow(_quad, PQ, learning_rate=0.1, num_steps=2, key=KEY, substeps=0),
      "zero substeps"),
    B("dynamics.gradient_flow", "power_num_steps",
      lambda: dy.gradient_flow(_quad, PQ, learning_rate=0.1, num_steps=2, key=KEY, power_num_steps=0), "zero power_num_steps"),
]
EXEMPT = {
    "Moments": "a result type",
    "AdamHyperparameters": "a plain container of the four hyper-parameters",
    "HessianSubspace": "a result type",
    "RecurrentSensitivities": "a result type",
    "NeighbourRuns": "a result type",
    "CentralFlow": "a result type",
}
