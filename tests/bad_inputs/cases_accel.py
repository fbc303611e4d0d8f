"""Bad-input cases for optlab.accel."""

import jax
import jax.numpy as jnp
import numpy as np

import badinput
from optlab import accel as ac
from optlab import first_order as fo
from optlab import problems as pr

B, C = badinput.Bad, badinput.Coerce
nan, inf = float("nan"), float("inf")
Q = pr.quadratic(10.0, 2)
LS = pr.least_squares(jnp.asarray(np.arange(8.0).reshape(4, 2) % 3), jnp.array([1.0, 0.0, 2.0, 1.0]))
SF = ac.schedule_free_sgd(0.1)
EV = ac.schedule_free_eval_params
K = jax.random.key(0)


def _upd(opt, g=(1.0, 2.0)):
    g = jnp.asarray(g)
    return opt.update(g, opt.init(g), g, value=1.0)[0]


def _tm_state():
    opt = ac.triple_momentum(1.0, 0.1)
    return opt.init(jnp.ones(2))


def _sf_state():
    return SF.init(jnp.ones(2))


CASES = [
    B("ac.ogm_g", "learning_rate", lambda: ac.ogm_g(-1.0, num_steps=10), "negative"),
    B("ac.ogm_g", "learning_rate", lambda: ac.ogm_g(0.0, num_steps=10), "zero"),
    B("ac.ogm_g", "learning_rate", lambda: ac.ogm_g(nan, num_steps=10), "nan"),
    B("ac.ogm_g", "learning_rate", lambda: ac.ogm_g("1", num_steps=10), "string"),
    B("ac.ogm_g", "learning_rate", lambda: ac.ogm_g(jnp.ones(2), num_steps=10), "vector"),
    B("ac.ogm_g", "num_steps", lambda: ac.ogm_g(1.0, num_steps=0), "zero"),
    B("ac.ogm_g", "num_steps", lambda: ac.ogm_g(1.0, num_steps=2.5), "float"),
    B("ac.ogm_g_theta", "num_steps", lambda: ac.ogm_g_theta(num_steps=-3), "negative"),
    B("ac.ogm_g_theta", "num_steps", lambda: ac.ogm_g_theta(num_steps="3"), "string"),
    B("ac.triple_momentum", "L", lambda: ac.triple_momentum(-1.0, 0.1), "negative"),
    B("ac.triple_momentum", "L", lambda: ac.triple_momentum(nan, 0.1), "nan"),
    B("ac.triple_momentum", "L", lambda: ac.triple_momentum("1", 0.1), "string"),
    B("ac.triple_momentum", "mu", lambda: ac.triple_momentum(1.0, 0.0), "zero"),
    B("ac.triple_momentum", "mu", lambda: ac.triple_momentum(1.0, 2.0), "above L"),
    B("ac.triple_momentum", "mu", lambda: ac.triple_momentum(1.0, None), "None"),
    B("ac.triple_momentum", "mu", lambda: ac.triple_momentum(1.0, jnp.ones(2) * 0.1), "vector"),
    B("ac.triple_momentum_params", "L", lambda: ac.triple_momentum_params(0.0, 0.1), "zero"),
    B("ac.triple_momentum_params", "mu", lambda: ac.triple_momentum_params(1.0, inf), "inf"),
    B("ac.triple_momentum_output", "state", lambda: ac.triple_momentum_output(jnp.ones(2), 1.0, 0.1), "array"),
    B("ac.triple_momentum_output", "mu", lambda: ac.triple_momentum_output(_tm_state(), 1.0, -0.1), "negative"),
    B("ac.quadratic_rate", "method", lambda: ac.quadratic_rate("adam", 1.0, 0.1), "unknown"),
    B("ac.quadratic_rate", "learning_rate", lambda: ac.quadratic_rate("gd", 1.0, 0.1), "missing"),
    B("ac.quadratic_rate", "learning_rate", lambda: ac.quadratic_rate("gd", 1.0, 0.1, learning_rate=-1.0), "negative"),
    B("ac.quadratic_rate", "momentum", lambda: ac.quadratic_rate("heavy_ball", 1.0, 0.1, learning_rate=1.0,
                                                                 momentum=1.2), "above one"),
    B("ac.quadratic_rate", "momentum", lambda: ac.quadratic_rate("gd", 1.0, 0.1, learning_rate=1.0,
                                                                 momentum=0.5), "not a gd parameter"),
    B("ac.quadratic_rate", "mu", lambda: ac.quadratic_rate("gd", 1.0, 2.0, learning_rate=1.0), "mu > L"),
    B("ac.quadratic_rate", "eigenvalues", lambda: ac.quadratic_rate("gd", 1.0, 0.1, jnp.ones(0),
                                                                    learning_rate=1.0), "empty"),
    B("ac.quadratic_rate", "eigenvalues", lambda: ac.quadratic_rate("gd", 1.0, 0.1, jnp.array([nan]),
                                                                    learning_rate=1.0), "nan"),
    B("ac.nesterov_restart", "learning_rate", lambda: ac.nesterov_restart(0.0), "zero"),
    B("ac.nesterov_restart", "learning_rate", lambda: ac.nesterov_restart("x"), "string"),
    B("ac.nesterov_restart", "restart", lambda: ac.nesterov_restart(0.1, "sometimes"), "unknown"),
    B("ac.nesterov_restart", "restart", lambda: ac.nesterov_restart(0.1, None), "None"),
    B("ac.polyak_heavy_ball", "f_star", lambda: ac.polyak_heavy_ball(nan), "nan"),
    B("ac.polyak_heavy_ball", "f_star", lambda: ac.polyak_heavy_ball(None), "None"),
    B("ac.polyak_heavy_ball", "momentum", lambda: ac.polyak_heavy_ball(0.0, 1.0), "one"),
    B("ac.polyak_heavy_ball", "momentum", lambda: ac.polyak_heavy_ball(0.0, "0.5"), "string"),
    B("ac.polyak_heavy_ball", "max_learning_rate", lambda: ac.polyak_heavy_ball(max_learning_rate=0.0), "zero"),
    B("ac.polyak_heavy_ball", "max_learning_rate", lambda: ac.polyak_heavy_ball(max_learning_rate="x"), "string"),
    B("ac.schedule_free_sgd", "learning_rate", lambda: ac.schedule_free_sgd(-0.1), "negative"),
    B("ac.schedule_free_sgd", "learning_rate", lambda: ac.schedule_free_sgd(nan), "nan"),
    B("ac.schedule_free_sgd", "b1", lambda: ac.schedule_free_sgd(0.1, 1.0), "one"),
    B("ac.schedule_free_sgd", "b1", lambda: ac.schedule_free_sgd(0.1, -0.5), "negative"),
    B("ac.schedule_free_sgd", "b1", lambda: ac.schedule_free_sgd(0.1, None), "None"),
    B("ac.schedule_free_sgd", "weight_lr_power", lambda: ac.schedule_free_sgd(0.1, weight_lr_power=inf), "inf"),
    B("ac.schedule_free_sgd", "weight_lr_power", lambda: ac.schedule_free_sgd(0.1, weight_lr_power="2"), "string"),
    B("ac.schedule_free_eval_params", "state", lambda: EV(jnp.ones(2), jnp.ones(2)), "array"),
    B("ac.schedule_free_eval_params", "params", lambda: EV(_sf_state(), jnp.ones(3)), "wrong shape"),
    B("ac.schedule_free_eval_params", "params", lambda: EV(_sf_state(), "ab"), "string"),
    B("ac.momentum_ode", "grad_fn", lambda: ac.momentum_ode(None, jnp.ones(1), 1.0, num_steps=10), "None"),
    B("ac.momentum_ode", "x0", lambda: ac.momentum_ode(lambda x: x, jnp.array([nan]), 1.0, num_steps=10), "nan"),
    B("ac.momentum_ode", "x0", lambda: ac.momentum_ode(lambda x: x, "x", 1.0, num_steps=10), "string"),
    B("ac.momentum_ode", "t_final", lambda: ac.momentum_ode(lambda x: x, jnp.ones(1), -1.0, num_steps=10), "negative"),
    B("ac.momentum_ode", "t_final", lambda: ac.momentum_ode(lambda x: x, jnp.ones(1), 1e-9, num_steps=10), "below t0"),
    B("ac.momentum_ode", "t_final", lambda: ac.momentum_ode(lambda x: x, jnp.ones(1), "1", num_steps=10), "string"),
    B("ac.momentum_ode", "num_steps", lambda: ac.momentum_ode(lambda x: x, jnp.ones(1), 1.0, num_steps=0), "zero"),
    B("ac.momentum_ode", "damping", lambda: ac.momentum_ode(lambda x: x, jnp.ones(1), 1.0, num_steps=10, damping="x"), "unknown"),
    B("ac.momentum_ode", "mu", lambda: ac.momentum_ode(lambda x: x, jnp.ones(1), 1.0, num_steps=10, damping="strong"), "missing"),
    B("ac.momentum_ode", "mu", lambda: ac.momentum_ode(lambda x: x, jnp.ones(1), 1.0, num_steps=10, damping="strong",
                                                       mu=-1.0), "negative"),
    B("ac.momentum_ode", "t0", lambda: ac.momentum_ode(lambda x: x, jnp.ones(1), 1.0, num_steps=10, t0=0.0), "zero"),
    C("ac.triple_momentum", lambda: _upd(ac.triple_momentum(4, 1)), lambda: _upd(ac.triple_momentum(4.0, 1.0)),
      "integer L, mu"),
    C("ac.triple_momentum_params", lambda: ac.triple_momentum_params(4, 1)["rho"],
      lambda: ac.triple_momentum_params(4.0, 1.0)["rho"], "integer L, mu"),
    C("ac.quadratic_rate", lambda: ac.quadratic_rate("gd", 1, 0.1, [1, 2], learning_rate=1),
      lambda: ac.quadratic_rate("gd", 1.0, 0.1, jnp.array([1.0, 2.0]), learning_rate=1.0), "lists"),
    C("ac.ogm_g", lambda: _upd(ac.ogm_g(1, num_steps=3)), lambda: _upd(ac.ogm_g(1.0, num_steps=3)), "integer learning rate"),
    C("ac.ogm_g_theta", lambda: ac.ogm_g_theta(num_steps=np.int64(4)), lambda: ac.ogm_g_theta(num_steps=4), "NumPy integer"),
    C("ac.nesterov_restart", lambda: _upd(ac.nesterov_restart(1)), lambda: _upd(ac.nesterov_restart(1.0)),
      "integer learning rate"),
    C("ac.polyak_heavy_ball", lambda: _upd(ac.polyak_heavy_ball(0, 0)),
      lambda: _upd(ac.polyak_heavy_ball(0.0, 0.0)), "integer f_star, momentum"),
    C("ac.schedule_free_sgd", lambda: _upd(ac.schedule_free_sgd(1, 0)),
      lambda: _upd(ac.schedule_free_sgd(1.0, 0.0)), "integer hyper-parameters"),
    C("ac.schedule_free_eval_params", lambda: EV(_sf_state(), [1, 2]), lambda: EV(_sf_state(), jnp.array([1.0, 2.0])),
      "list params"),
    C("ac.triple_momentum_output", lambda: ac.triple_momentum_output(_tm_state(), 1, 1),
      lambda: ac.triple_momentum_output(_tm_state(), 1.0, 1.0), "integer L, mu"),
    C("ac.momentum_ode", lambda: ac.momentum_ode(lambda x: x, [1], 2, num_steps=10)[1],
      lambda: ac.momentum_ode(lambda x: x, jnp.array([1.0]), 2.0, num_steps=10)[1], "list x0, int t_final"),
    C("ac.lrp_counterexample", lambda: ac.lrp_counterexample().value(jnp.array([1.5])),
      lambda: ac.lrp_counterexample().value(jnp.array([1.5])), "no arguments"),
]

EXEMPT = {
    "TripleMomentumState": "NamedTuple state class",
    "RestartState": "NamedTuple state class",
    "OGMGState": "NamedTuple state class",
    "PolyakMomentumState": "NamedTuple state class",
    "ScheduleFreeState": "NamedTuple state class",
    "ODETrace": "NamedTuple result class (built by momentum_ode, which is swept)",
}
