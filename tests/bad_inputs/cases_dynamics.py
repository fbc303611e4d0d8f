"""Bad-input cases for optlab.dynamics."""

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
EXEMPT = {"Moments": "a result type"}
