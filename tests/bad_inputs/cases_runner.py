"""Bad-input cases for optlab.runner."""

import jax
import jax.numpy as jnp
import numpy as np

import badinput
import optax
from optlab import accel as ac
from optlab import first_order as fo
from optlab import problems as pr
from optlab import runner as rn

B, C = badinput.Bad, badinput.Coerce
nan = float("nan")
Q = pr.quadratic(10.0, 2)
LS = pr.least_squares(jnp.asarray(np.arange(8.0).reshape(4, 2) % 3), jnp.array([1.0, 0.0, 2.0, 1.0]))
GD = fo.gd(0.1)
K = jax.random.key(0)
SF = ac.schedule_free_sgd(0.1)
EV = ac.schedule_free_eval_params
X0_LOSS = jnp.array([1.0, -0.5])


def _f(x):
    return jnp.sum((x - 1.0) ** 2)


def _vec_f(x):  # not a scalar
    return x**2


def _sw(**kw):
    args = dict(make_optimizer=lambda e: fo.gd(e), hyperparams=jnp.array([0.1, 0.2]), problem=Q,
                x0=Q.x0, num_steps=3)
    args.update(kw)
    return rn.sweep(args.pop("make_optimizer"), args.pop("hyperparams"), args.pop("problem"),
                    args.pop("x0"), num_steps=args.pop("num_steps"), **args)


CASES = [
    B("rn.run", "optimizer", lambda: rn.run(None, Q, Q.x0, eval_params=EV, num_steps=3), "None"),
    B("rn.run", "problem", lambda: rn.run(SF, "Q", Q.x0, eval_params=EV, num_steps=3), "string"),
    B("rn.run", "x0", lambda: rn.run(SF, Q, jnp.ones(3), eval_params=EV, num_steps=3), "shape"),
    B("rn.run", "x0", lambda: rn.run(SF, Q, jnp.array([nan, 0.0]), eval_params=EV, num_steps=3), "nan"),
    B("rn.run", "num_steps", lambda: rn.run(SF, Q, Q.x0, eval_params=EV, num_steps=0), "zero"),
    B("rn.run", "eval_params", lambda: rn.run(SF, Q, Q.x0, eval_params="EV", num_steps=3), "string"),
    B("rn.run", "key", lambda: rn.run(SF, LS, LS.x0, eval_params=EV, num_steps=3, key=1, batch_size=2), "int key"),
    B("rn.run", "batch_size", lambda: rn.run(SF, LS, LS.x0, eval_params=EV, num_steps=3, key=K, batch_size=9), "too big"),
    C("rn.run", lambda: rn.run(SF, Q, [1, 0], eval_params=EV, num_steps=3),
      lambda: rn.run(SF, Q, jnp.array([1.0, 0.0]), eval_params=EV, num_steps=3), "list x0"),
    # run_loss(optimizer, loss, params0, *, num_steps, return_iterates)
    B("rn.run_loss", "optimizer", lambda: rn.run_loss("adam", _f, X0_LOSS, num_steps=3), "optimizer string"),
    B("rn.run_loss", "loss", lambda: rn.run_loss(optax.sgd(0.1), None, X0_LOSS, num_steps=3), "loss None"),
    B("rn.run_loss", "loss", lambda: rn.run_loss(optax.sgd(0.1), _vec_f, X0_LOSS, num_steps=3), "loss vector"),
    B("rn.run_loss", "params0", lambda: rn.run_loss(optax.sgd(0.1), _f, jnp.array([nan, 1.0]), num_steps=3), "params0 NaN"),
    B("rn.run_loss", "params0", lambda: rn.run_loss(optax.sgd(0.1), _f, "p", num_steps=3), "params0 string"),
    B("rn.run_loss", "params0", lambda: rn.run_loss(optax.sgd(0.1), _f, {}, num_steps=3), "params0 empty"),
    B("rn.run_loss", "num_steps", lambda: rn.run_loss(optax.sgd(0.1), _f, X0_LOSS, num_steps=0), "num_steps 0"),
    B("rn.run_loss", "num_steps", lambda: rn.run_loss(optax.sgd(0.1), _f, X0_LOSS, num_steps=None), "num_steps None"),
    B("rn.run", "optimizer", lambda: rn.run(None, Q, Q.x0, num_steps=3), "None"),
    B("rn.run", "optimizer", lambda: rn.run("gd", Q, Q.x0, num_steps=3), "string"),
    B("rn.run", "problem", lambda: rn.run(GD, lambda x: x @ x, Q.x0, num_steps=3), "a function"),
    B("rn.run", "x0", lambda: rn.run(GD, Q, jnp.ones(3), num_steps=3), "wrong shape"),
    B("rn.run", "x0", lambda: rn.run(GD, Q, jnp.ones((2, 1)), num_steps=3), "2-D"),
    B("rn.run", "x0", lambda: rn.run(GD, Q, jnp.array([nan, 1.0]), num_steps=3), "nan"),
    B("rn.run", "x0", lambda: rn.run(GD, Q, "ab", num_steps=3), "string"),
    B("rn.run", "x0", lambda: rn.run(GD, Q, None, num_steps=3), "None"),
    B("rn.run", "x0", lambda: rn.run(GD, Q, jnp.array([1j, 1.0]), num_steps=3), "complex"),
    B("rn.run", "x0", lambda: rn.run(GD, Q, jnp.ones(0), num_steps=3), "empty"),
    B("rn.run", "num_steps", lambda: rn.run(GD, Q, Q.x0, num_steps=0), "zero"),
    B("rn.run", "num_steps", lambda: rn.run(GD, Q, Q.x0, num_steps=-3), "negative"),
    B("rn.run", "num_steps", lambda: rn.run(GD, Q, Q.x0, num_steps=2.5), "float"),
    B("rn.run", "num_steps", lambda: rn.run(GD, Q, Q.x0, num_steps="3"), "string"),
    B("rn.run", "key", lambda: rn.run(GD, LS, LS.x0, num_steps=3, key=0, batch_size=2), "integer key"),
    B("rn.run", "key", lambda: rn.run(GD, LS, LS.x0, num_steps=3, key=jnp.ones(2), batch_size=2), "float key"),
    B("rn.run", "key", lambda: rn.run(GD, LS, LS.x0, num_steps=3, batch_size=2), "missing key"),
    B("rn.run", "batch_size", lambda: rn.run(GD, LS, LS.x0, num_steps=3, key=K, batch_size=0), "zero"),
    B("rn.run", "batch_size", lambda: rn.run(GD, LS, LS.x0, num_steps=3, key=K, batch_size=5), "above n"),
    B("rn.run", "batch_size", lambda: rn.run(GD, Q, Q.x0, num_steps=3, key=K, batch_size=1), "not a finite sum"),
    B("rn.run", "batch_size", lambda: rn.run(GD, LS, LS.x0, num_steps=3, key=K, batch_size=1.5), "float"),
    B("rn.sweep", "make_optimizer", lambda: _sw(make_optimizer=None), "None"),
    B("rn.sweep", "hyperparams", lambda: _sw(hyperparams=0.1), "scalar"),
    B("rn.sweep", "hyperparams", lambda: _sw(hyperparams=jnp.array([0.1, nan])), "nan"),
    B("rn.sweep", "hyperparams", lambda: _sw(hyperparams=jnp.ones(0)), "empty"),
    B("rn.sweep", "hyperparams", lambda: _sw(hyperparams="abc"), "string"),
    B("rn.sweep", "hyperparams", lambda: _sw(hyperparams=None), "None"),
    B("rn.sweep", "hyperparams", lambda: _sw(make_optimizer=lambda h: fo.heavy_ball(h[0], h[1]),
                                             hyperparams=(jnp.ones(2), jnp.ones(3))), "ragged leaves"),
    B("rn.sweep", "x0", lambda: _sw(x0=jnp.ones(5)), "wrong shape"),
    B("rn.sweep", "num_steps", lambda: _sw(num_steps=0), "zero"),
    B("rn.sweep", "keys", lambda: _sw(problem=LS, x0=LS.x0, keys=3, batch_size=2), "integer keys"),
    B("rn.sweep", "keys", lambda: _sw(problem=LS, x0=LS.x0, keys=K, batch_size=2), "single key"),
    B("rn.sweep", "keys", lambda: _sw(problem=LS, x0=LS.x0, batch_size=2), "missing keys"),
    B("rn.compile_sweep", "make_optimizer", lambda: rn.compile_sweep(3, Q, num_steps=5), "not callable"),
    B("rn.compile_sweep", "problem", lambda: rn.compile_sweep(lambda e: fo.gd(e), "Q", num_steps=5), "string"),
    B("rn.compile_sweep", "num_steps", lambda: rn.compile_sweep(lambda e: fo.gd(e), Q, num_steps=0), "zero"),
    B("rn.compile_sweep", "with_keys", lambda: rn.compile_sweep(lambda e: fo.gd(e), LS, num_steps=5, batch_size=2),
      "stochastic without keys"),
    B("rn.compile_sweep", "with_keys", lambda: rn.compile_sweep(lambda e: fo.gd(e), Q, num_steps=5, with_keys="yes"),
      "string"),
    C("rn.run", lambda: rn.run(GD, Q, [1, 2], num_steps=4).iterates, lambda: rn.run(GD, Q, jnp.array([1.0, 2.0]), num_steps=4).iterates,
      "list of ints x0"),
    C("rn.run", lambda: rn.run(GD, Q, np.array([1, 2], np.int32), num_steps=4).values,
      lambda: rn.run(GD, Q, jnp.array([1.0, 2.0]), num_steps=4).values, "int32 x0"),
    C("rn.sweep", lambda: _sw(hyperparams=[0.1, 0.2], x0=[1, 0]).iterates,
      lambda: _sw(hyperparams=jnp.array([0.1, 0.2]), x0=jnp.array([1.0, 0.0])).iterates, "lists"),
    C("rn.sweep", lambda: _sw(make_optimizer=lambda k: fo.gd(0.1 * k), hyperparams=np.array([1, 2])).iterates,
      lambda: _sw(make_optimizer=lambda k: fo.gd(0.1 * k), hyperparams=jnp.array([1.0, 2.0])).iterates,
      "integer hyperparams"),
    C("rn.compile_sweep", lambda: rn.compile_sweep(lambda e: fo.gd(e), Q, num_steps=3)(jnp.array([0.1]), Q.x0).iterates,
      lambda: _sw(hyperparams=jnp.array([0.1])).iterates, "same as sweep"),
]

EXEMPT = {"Trace": "NamedTuple result class"}

_SGD = optax.sgd(0.1)
CASES.append(C("rn.run_loss", lambda: rn.run_loss(_SGD, _f, [1, 2], num_steps=3),
               lambda: rn.run_loss(_SGD, _f, jnp.array([1.0, 2.0]), num_steps=3)))

