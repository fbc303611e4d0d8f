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
