"""Bad-input cases for optlab.adaptive."""

import jax.numpy as jnp
import numpy as np
import optax

import badinput
from optlab import adaptive as ad

B, C = badinput.Bad, badinput.Coerce
nan, inf = float("nan"), float("inf")


def _upd(opt, g=(1.0, -2.0)):
    g = jnp.asarray(g)
    return opt.update(g, opt.init(g), g)[0]


CASES = [
    B("ad.adagrad", "learning_rate", lambda: ad.adagrad(0.0), "zero"),
    B("ad.adagrad", "learning_rate", lambda: ad.adagrad("a"), "string"),
    B("ad.adagrad", "initial_accumulator_value", lambda: ad.adagrad(0.1, -1.0), "negative"),
    B("ad.adagrad", "initial_accumulator_value", lambda: ad.adagrad(0.1, None), "None"),
    B("ad.adagrad", "eps", lambda: ad.adagrad(0.1, eps=nan), "nan"),
    B("ad.adagrad", "eps", lambda: ad.adagrad(0.1, eps=jnp.ones(2)), "vector"),
    B("ad.adagrad_norm", "learning_rate", lambda: ad.adagrad_norm(-1.0), "negative"),
    B("ad.adagrad_norm", "b0", lambda: ad.adagrad_norm(0.1, 0.0), "zero"),
    B("ad.adagrad_norm", "b0", lambda: ad.adagrad_norm(0.1, "1"), "string"),
    B("ad.rmsprop", "learning_rate", lambda: ad.rmsprop(nan), "nan"),
    B("ad.rmsprop", "decay", lambda: ad.rmsprop(0.1, 1.5), "above one"),
    B("ad.rmsprop", "decay", lambda: ad.rmsprop(0.1, None), "None"),
    B("ad.rmsprop", "eps", lambda: ad.rmsprop(0.1, eps=-1.0), "negative"),
    B("ad.adam", "learning_rate", lambda: ad.adam(-0.1), "negative"),
    B("ad.adam", "learning_rate", lambda: ad.adam(inf), "inf"),
    B("ad.adam", "learning_rate", lambda: ad.adam(None), "None"),
    B("ad.adam", "b1", lambda: ad.adam(0.1, b1=1.0), "one"),
    B("ad.adam", "b1", lambda: ad.adam(0.1, b1=nan), "nan"),
    B("ad.adam", "b2", lambda: ad.adam(0.1, b2=-0.1), "negative"),
    B("ad.adam", "b2", lambda: ad.adam(0.1, b2="0.99"), "string"),
    B("ad.adam", "eps", lambda: ad.adam(0.1, eps=-1e-8), "negative"),
    B("ad.adam", "bias_correction", lambda: ad.adam(0.1, bias_correction="yes"), "string"),
    B("ad.adamw", "weight_decay", lambda: ad.adamw(0.1, weight_decay=-1.0), "negative"),
    B("ad.adamw", "weight_decay", lambda: ad.adamw(0.1, weight_decay=nan), "nan"),
    B("ad.adamw", "b1", lambda: ad.adamw(0.1, b1=2.0), "above one"),
    B("ad.amsgrad", "b1", lambda: ad.amsgrad(0.1, b1=nan), "nan"),
    B("ad.amsgrad", "learning_rate", lambda: ad.amsgrad(0.0), "zero"),
    B("ad.amsgrad", "eps", lambda: ad.amsgrad(0.1, eps=None), "None"),
    B("ad.dog", "learning_rate", lambda: ad.dog(0.0), "zero"),
    B("ad.dog", "learning_rate", lambda: ad.dog(lambda k: 1.0), "callable"),
    B("ad.dog", "r_epsilon", lambda: ad.dog(1.0, 0.0), "zero"),
    B("ad.dog", "r_epsilon", lambda: ad.dog(1.0, nan), "nan"),
    B("ad.dog", "relative", lambda: ad.dog(1.0, relative=None), "None"),
    B("ad.dog", "eps", lambda: ad.dog(1.0, eps=-1.0), "negative"),
    B("ad.lion", "learning_rate", lambda: ad.lion(-0.1), "negative"),
    B("ad.lion", "b1", lambda: ad.lion(0.1, b1=1.0), "one"),
    B("ad.lion", "b2", lambda: ad.lion(0.1, b2=1.0), "one"),
    B("ad.lion", "weight_decay", lambda: ad.lion(0.1, weight_decay=-1.0), "negative"),
    B("ad.steepest_descent", "learning_rate", lambda: ad.steepest_descent(0.0), "zero"),
    B("ad.steepest_descent", "norm", lambda: ad.steepest_descent(0.1, "l3"), "unknown"),
    B("ad.steepest_descent", "norm", lambda: ad.steepest_descent(0.1, None), "None"),
    B("ad.steepest_descent", "scale_by_dual", lambda: ad.steepest_descent(0.1, scale_by_dual="no"), "string"),
    B("ad.lmo", "norm", lambda: ad.lmo(jnp.ones(3), "l7"), "unknown"),
    B("ad.lmo", "g", lambda: ad.lmo(jnp.ones(3), "spectral"), "vector for spectral"),
    B("ad.lmo", "g", lambda: ad.lmo(jnp.array([1.0, nan]), "l2"), "nan"),
    B("ad.lmo", "g", lambda: ad.lmo(jnp.ones(0), "l1"), "empty"),
    B("ad.lmo", "g", lambda: ad.lmo("g", "l2"), "string"),
    B("ad.dual_norm", "norm", lambda: ad.dual_norm(jnp.ones(3), 2), "integer"),
    B("ad.dual_norm", "g", lambda: ad.dual_norm(jnp.array([inf, 1.0]), "linf"), "inf"),
    B("ad.dual_norm", "g", lambda: ad.dual_norm(jnp.ones(0), "l2"), "empty"),
    B("ad.dual_norm", "g", lambda: ad.dual_norm(None, "l2"), "None"),
    B("ad.reddi_online", "optimizer", lambda: ad.reddi_online("adam", num_steps=10), "string"),
    B("ad.reddi_online", "num_steps", lambda: ad.reddi_online(optax.sgd(0.1), num_steps=0), "zero"),
    B("ad.reddi_online", "num_steps", lambda: ad.reddi_online(optax.sgd(0.1), num_steps=3.0), "float"),
    B("ad.reddi_online", "C", lambda: ad.reddi_online(optax.sgd(0.1), num_steps=10, C=-1.0), "negative"),
    B("ad.reddi_online", "C", lambda: ad.reddi_online(optax.sgd(0.1), num_steps=10, C=nan), "nan"),
    B("ad.reddi_online", "x0", lambda: ad.reddi_online(optax.sgd(0.1), num_steps=10, x0=2.0), "outside"),
    B("ad.reddi_online", "x0", lambda: ad.reddi_online(optax.sgd(0.1), num_steps=10, x0=jnp.ones(2) * 0.5), "vector"),
    C("ad.adagrad", lambda: _upd(ad.adagrad(1, 0, 0)), lambda: _upd(ad.adagrad(1.0, 0.0, 0.0)), "integers"),
    C("ad.adagrad_norm", lambda: _upd(ad.adagrad_norm(1, 1)), lambda: _upd(ad.adagrad_norm(1.0, 1.0)), "integers"),
    C("ad.rmsprop", lambda: _upd(ad.rmsprop(1, 0)), lambda: _upd(ad.rmsprop(1.0, 0.0)), "integers"),
    C("ad.adam", lambda: _upd(ad.adam(1, 0, 0, 0)), lambda: _upd(ad.adam(1.0, 0.0, 0.0, 0.0)), "integers"),
    C("ad.adamw", lambda: _upd(ad.adamw(1, weight_decay=1)), lambda: _upd(ad.adamw(1.0, weight_decay=1.0)), "integers"),
    C("ad.amsgrad", lambda: _upd(ad.amsgrad(np.int64(1))), lambda: _upd(ad.amsgrad(1.0)), "numpy integer"),
    C("ad.dog", lambda: _upd(ad.dog(1, 1)), lambda: _upd(ad.dog(1.0, 1.0)), "integers"),
    C("ad.lion", lambda: _upd(ad.lion(1, weight_decay=0)), lambda: _upd(ad.lion(1.0, weight_decay=0.0)), "integers"),
    C("ad.steepest_descent", lambda: _upd(ad.steepest_descent(1, "linf")),
      lambda: _upd(ad.steepest_descent(1.0, "linf")), "integer learning rate"),
    C("ad.lmo", lambda: ad.lmo([[3, 0], [0, 1]], "spectral"), lambda: ad.lmo(jnp.array([[3.0, 0.0], [0.0, 1.0]]), "spectral"),
      "list of ints"),
    C("ad.dual_norm", lambda: ad.dual_norm([3, -4], "l2"), lambda: ad.dual_norm(jnp.array([3.0, -4.0]), "l2"),
      "list of ints"),
    C("ad.reddi_online", lambda: ad.reddi_online(optax.sgd(0.1), num_steps=6, C=3, x0=0).regret,
      lambda: ad.reddi_online(optax.sgd(0.1), num_steps=6, C=3.0, x0=0.0).regret, "integer C and x0"),
]

EXEMPT = {
    "OnlineTrace": "NamedTuple result class",
    "AdaGradState": "NamedTuple state class",
    "AdaGradNormState": "NamedTuple state class",
    "RMSPropState": "NamedTuple state class",
    "AdamState": "NamedTuple state class",
    "DoGState": "NamedTuple state class",
    "LionState": "NamedTuple state class",
}
