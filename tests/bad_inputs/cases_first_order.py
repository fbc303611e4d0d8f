"""Bad-input cases for optlab.first_order."""

import jax.numpy as jnp
import numpy as np

import badinput
from optlab import first_order as fo

B, C = badinput.Bad, badinput.Coerce
nan, inf = float("nan"), float("inf")


def _upd(opt, g=(1.0, 2.0)):
    g = jnp.asarray(g)
    return opt.update(g, opt.init(g), g, value=1.0)[0]


CASES = [
    B("fo.gd", "learning_rate", lambda: fo.gd(-0.1), "negative"),
    B("fo.gd", "learning_rate", lambda: fo.gd(0.0), "zero"),
    B("fo.gd", "learning_rate", lambda: fo.gd(nan), "nan"),
    B("fo.gd", "learning_rate", lambda: fo.gd(inf), "inf"),
    B("fo.gd", "learning_rate", lambda: fo.gd("0.1"), "string"),
    B("fo.gd", "learning_rate", lambda: fo.gd(None), "None"),
    B("fo.gd", "learning_rate", lambda: fo.gd(jnp.ones(2)), "vector"),
    B("fo.gd", "learning_rate", lambda: fo.gd(True), "bool"),
    B("fo.gd", "learning_rate", lambda: fo.gd(1j), "complex"),
    B("fo.polyak", "f_star", lambda: fo.polyak(nan), "nan"),
    B("fo.polyak", "f_star", lambda: fo.polyak(None), "None"),
    B("fo.polyak", "f_star", lambda: fo.polyak("0"), "string"),
    B("fo.polyak", "f_star", lambda: fo.polyak(jnp.zeros(3)), "vector"),
    B("fo.polyak", "max_learning_rate", lambda: fo.polyak(max_learning_rate=0.0), "zero"),
    B("fo.polyak", "max_learning_rate", lambda: fo.polyak(max_learning_rate=-1.0), "negative"),
    B("fo.polyak", "max_learning_rate", lambda: fo.polyak(max_learning_rate=nan), "nan"),
    B("fo.polyak", "max_learning_rate", lambda: fo.polyak(max_learning_rate="big"), "string"),
    B("fo.polyak", "eps", lambda: fo.polyak(eps=-1e-3), "negative"),
    B("fo.polyak", "eps", lambda: fo.polyak(eps=nan), "nan"),
    B("fo.polyak", "eps", lambda: fo.polyak(eps=None), "None"),
    B("fo.heavy_ball", "learning_rate", lambda: fo.heavy_ball(-1.0), "negative"),
    B("fo.heavy_ball", "learning_rate", lambda: fo.heavy_ball("a"), "string"),
    B("fo.heavy_ball", "momentum", lambda: fo.heavy_ball(0.1, 1.0), "one"),
    B("fo.heavy_ball", "momentum", lambda: fo.heavy_ball(0.1, -0.1), "negative"),
    B("fo.heavy_ball", "momentum", lambda: fo.heavy_ball(0.1, nan), "nan"),
    B("fo.heavy_ball", "momentum", lambda: fo.heavy_ball(0.1, None), "None"),
    B("fo.heavy_ball", "momentum", lambda: fo.heavy_ball(0.1, jnp.array([0.5, 0.5])), "vector"),
    B("fo.nesterov", "learning_rate", lambda: fo.nesterov(0.0), "zero"),
    B("fo.nesterov", "learning_rate", lambda: fo.nesterov(nan), "nan"),
    B("fo.nesterov", "momentum", lambda: fo.nesterov(0.1, 1.5), "above one"),
    B("fo.nesterov", "momentum", lambda: fo.nesterov(0.1, "0.9"), "string"),
    B("fo.nesterov", "momentum", lambda: fo.nesterov(0.1, inf), "inf"),
    C("fo.gd", lambda: _upd(fo.gd(1)), lambda: _upd(fo.gd(1.0)), "integer learning rate"),
    C("fo.gd", lambda: _upd(fo.gd(np.float64(0.5))), lambda: _upd(fo.gd(0.5)), "numpy scalar"),
    C("fo.heavy_ball", lambda: _upd(fo.heavy_ball(1, 0)), lambda: _upd(fo.heavy_ball(1.0, 0.0)),
      "integer hyper-parameters"),
    C("fo.nesterov", lambda: _upd(fo.nesterov(np.int32(1), 0)), lambda: _upd(fo.nesterov(1.0, 0.0)),
      "integer hyper-parameters"),
    C("fo.polyak", lambda: _upd(fo.polyak(0, max_learning_rate=2)),
      lambda: _upd(fo.polyak(0.0, max_learning_rate=2.0)), "integer hyper-parameters"),
]

EXEMPT = {
    "GDState": "NamedTuple state class (no validation by design)",
    "MomentumState": "NamedTuple state class",
    "PolyakState": "NamedTuple state class",
}
