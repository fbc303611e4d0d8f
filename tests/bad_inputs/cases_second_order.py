"""Bad-input cases for optlab.second_order."""

import jax
import jax.numpy as jnp
import numpy as np
import optax

import badinput
from optlab import second_order as so

B, C = badinput.Bad, badinput.Coerce
KEY = jax.random.key(0)
NAN = float("nan")


def f(x):
    return jnp.sum(x**2) + jnp.sum(x**4)


def vec_f(x):  # not a scalar
    return x**2


X0 = jnp.array([1.0, -0.5])
G = jnp.array([[1.0, 0.5, 0.0], [0.2, 1.0, 0.3]])
I2 = jnp.eye(2)
MF = so.mfac_static(jnp.ones((2, 3)), 1.0)
WIN = so.mfac_window_init(3, 2, 1.0)


def _newton_cases(name, call, extra=()):
    """Shared cases of the Newton family: fun, x0, num_steps, tol."""
    return [
        B(name, "fun", lambda: call(3.0, X0, 2), "fun not callable"),
        B(name, "fun", lambda: call(vec_f, X0, 2), "fun returns a vector"),
        B(name, "x0", lambda: call(f, jnp.array([1.0, NAN]), 2), "x0 NaN"),
        B(name, "x0", lambda: call(f, jnp.ones((2, 2)), 2), "x0 2-D"),
        B(name, "x0", lambda: call(f, jnp.zeros(0), 2), "x0 empty"),
        B(name, "x0", lambda: call(f, "x", 2), "x0 string"),
        B(name, "x0", lambda: call(f, None, 2), "x0 None"),
        B(name, "x0", lambda: call(f, jnp.array([1 + 1j, 0j]), 2), "x0 complex"),
        B(name, "num_steps", lambda: call(f, X0, 0), "num_steps 0"),
        B(name, "num_steps", lambda: call(f, X0, 2.5), "num_steps float"),
        B(name, "tol", lambda: call(f, X0, 2, tol=-1.0), "tol negative"),
        B(name, "tol", lambda: call(f, X0, 2, tol="small"), "tol string"),
        C(name, lambda: call(f, [1, -2], 3).iterates, lambda: call(f, jnp.array([1.0, -2.0]), 3).iterates),
        *extra,
    ]


def newton_(fun, x0, n, **kw):
    return so.newton(fun, x0, num_steps=n, **kw)


def bt_(fun, x0, n, **kw):
    return so.newton_backtracking(fun, x0, num_steps=n, **kw)


def sfn_(fun, x0, n, **kw):
    return so.saddle_free_newton(fun, x0, num_steps=n, **kw)


def grn_(fun, x0, n, **kw):
    return so.gradient_regularized_newton(fun, x0, num_steps=n, hess_lipschitz=kw.pop("hess_lipschitz", 1.0), **kw)


CASES = [
    *_newton_cases("second_order.newton", newton_, [
        B("second_order.newton", "learning_rate", lambda: so.newton(f, X0, num_steps=2, learning_rate="fast"), "unknown schedule"),
        B("second_order.newton", "learning_rate", lambda: so.newton(f, X0, num_steps=2, learning_rate=-0.5), "negative step"),
        B("second_order.newton", "learning_rate", lambda: so.newton(f, X0, num_steps=2, learning_rate=None), "schedule None"),
        B("second_order.newton", "smoothness", lambda: so.newton(f, X0, num_steps=2, learning_rate="aicn"), "aicn without L"),
        B("second_order.newton", "smoothness", lambda: so.newton(f, X0, num_steps=2, learning_rate="aicn", smoothness=0.0), "L zero"),
        B("second_order.newton", "smoothness", lambda: so.newton(f, X0, num_steps=2, learning_rate="root"), "root without M_q"),
        B("second_order.newton", "smoothness",
          lambda: so.newton(f, X0, num_steps=2, learning_rate="root", smoothness=-1.0), "M_q negative"),
        B("second_order.newton", "order",
          lambda: so.newton(f, X0, num_steps=2, learning_rate="root", smoothness=1.0, order=1.5), "order below 2"),
        B("second_order.newton", "order",
          lambda: so.newton(f, X0, num_steps=2, learning_rate="root", smoothness=1.0, order="4"), "order string"),
        B("second_order.newton", "hessian_fn", lambda: so.newton(f, X0, num_steps=2, hessian_fn="H"), "hessian_fn string"),
        B("second_order.newton", "hessian_fn", lambda: so.newton(f, X0, num_steps=2, hessian_fn=lambda x: x), "hessian_fn shape"),
    ]),
    *_newton_cases("second_order.newton_backtracking", bt_, [
        B("second_order.newton_backtracking", "armijo", lambda: so.newton_backtracking(f, X0, num_steps=2, armijo=0.7), "armijo > 1/2"),
        B("second_order.newton_backtracking", "shrink", lambda: so.newton_backtracking(f, X0, num_steps=2, shrink=1.0), "shrink 1"),
        B("second_order.newton_backtracking", "max_backtracks", lambda: so.newton_backtracking(f, X0, num_steps=2, max_backtracks=0), "0"),
    ]),
    *_newton_cases("second_order.saddle_free_newton", sfn_, [
        B("second_order.saddle_free_newton", "learning_rate", lambda: so.saddle_free_newton(f, X0, num_steps=2, learning_rate=0.0), "zero"),
        B("second_order.saddle_free_newton", "eps", lambda: so.saddle_free_newton(f, X0, num_steps=2, eps=-1.0), "negative"),
    ]),
    *_newton_cases("second_order.gradient_regularized_newton", grn_, [
        B("second_order.gradient_regularized_newton", "hess_lipschitz",
          lambda: so.gradient_regularized_newton(f, X0, num_steps=2, hess_lipschitz=-1.0), "negative"),
        B("second_order.gradient_regularized_newton", "hess_lipschitz",
          lambda: so.gradient_regularized_newton(f, X0, num_steps=2, hess_lipschitz=[1.0, 2.0]), "vector"),
    ]),
    # newton_decrement(g, H)
    B("second_order.newton_decrement", "H", lambda: so.newton_decrement(X0, jnp.eye(3)), "H shape"),
    B("second_order.newton_decrement", "H", lambda: so.newton_decrement(X0, I2.at[0, 0].set(NAN)), "H NaN"),
    B("second_order.newton_decrement", "g", lambda: so.newton_decrement(jnp.ones((2, 1)), I2), "g 2-D"),
    B("second_order.newton_decrement", "g", lambda: so.newton_decrement("g", I2), "g string"),
    C("second_order.newton_decrement", lambda: so.newton_decrement([1, 2], [[2, 0], [0, 1]]),
      lambda: so.newton_decrement(jnp.array([1.0, 2.0]), jnp.array([[2.0, 0.0], [0.0, 1.0]]))),
    # hvp(fun, x, v)
    B("second_order.hvp", "fun", lambda: so.hvp(None, X0, X0), "fun None"),
    B("second_order.hvp", "fun", lambda: so.hvp(vec_f, X0, X0), "fun vector-valued"),
    B("second_order.hvp", "v", lambda: so.hvp(f, X0, jnp.ones(3)), "shape mismatch"),
    B("second_order.hvp", "v", lambda: so.hvp(f, X0, jnp.array([1.0, NAN])), "v NaN"),
    B("second_order.hvp", "x", lambda: so.hvp(f, jnp.array([jnp.inf, 0.0]), X0), "x inf"),
    B("second_order.hvp", "x", lambda: so.hvp(f, "x", X0), "x string"),
    B("second_order.hvp", "x", lambda: so.hvp(f, {}, {}), "empty pytree"),
    C("second_order.hvp", lambda: so.hvp(f, [1, 2], [0, 1]), lambda: so.hvp(f, jnp.array([1.0, 2.0]), jnp.array([0.0, 1.0]))),
    # hutchinson_samples / hutchinson_diagonal(fun, x, *, key, num_samples)
    *[c for name, fn in (("hutchinson_samples", so.hutchinson_samples), ("hutchinson_diagonal", so.hutchinson_diagonal))
      for c in (
        B(f"second_order.{name}", "key", lambda fn=fn: fn(f, X0, key=0, num_samples=4), "integer key"),
        B(f"second_order.{name}", "key", lambda fn=fn: fn(f, X0, key=None, num_samples=4), "key None"),
        B(f"second_order.{name}", "num_samples", lambda fn=fn: fn(f, X0, key=KEY, num_samples=0), "zero samples"),
        B(f"second_order.{name}", "num_samples", lambda fn=fn: fn(f, X0, key=KEY, num_samples=2.0), "float samples"),
        B(f"second_order.{name}", "x", lambda fn=fn: fn(f, jnp.ones((2, 2)), key=KEY, num_samples=4), "x 2-D"),
        B(f"second_order.{name}", "x", lambda fn=fn: fn(f, jnp.array([NAN, 1.0]), key=KEY, num_samples=4), "x NaN"),
        B(f"second_order.{name}", "fun", lambda fn=fn: fn("f", X0, key=KEY, num_samples=4), "fun string"),
        C(f"second_order.{name}", lambda fn=fn: fn(f, [1, 2], key=KEY, num_samples=4), lambda fn=fn: fn(f, jnp.array([1.0, 2.0]), key=KEY, num_samples=4)),
    )],
    # gauss_newton_direction(J, r, damping)
    B("second_order.gauss_newton_direction", "damping", lambda: so.gauss_newton_direction(G, X0, 0.0), "damping 0"),
    B("second_order.gauss_newton_direction", "damping", lambda: so.gauss_newton_direction(G, X0, NAN), "damping NaN"),
    B("second_order.gauss_newton_direction", "damping", lambda: so.gauss_newton_direction(G, X0, "1"), "damping string"),
    B("second_order.gauss_newton_direction", "r", lambda: so.gauss_newton_direction(G, jnp.ones(3), 1.0), "r length"),
    B("second_order.gauss_newton_direction", "r", lambda: so.gauss_newton_direction(G, jnp.array([NAN, 1.0]), 1.0), "r NaN"),
    B("second_order.gauss_newton_direction", "J", lambda: so.gauss_newton_direction(jnp.ones(3), X0, 1.0), "J 1-D"),
    B("second_order.gauss_newton_direction", "J", lambda: so.gauss_newton_direction(jnp.zeros((0, 3)), jnp.zeros(0), 1.0), "J empty"),
    C("second_order.gauss_newton_direction", lambda: so.gauss_newton_direction([[1, 0, 2], [0, 1, 1]], [1, 2], 1),
      lambda: so.gauss_newton_direction(jnp.array([[1.0, 0, 2], [0, 1, 1]]), jnp.array([1.0, 2.0]), 1.0)),
    # empirical_fisher / mfac_static(grads, damping)
    *[c for name, fn in (("empirical_fisher", so.empirical_fisher), ("mfac_static", so.mfac_static))
      for c in (
        B(f"second_order.{name}", "damping", lambda fn=fn: fn(G, 0.0), "damping 0"),
        B(f"second_order.{name}", "damping", lambda fn=fn: fn(G, -1.0), "damping negative"),
        B(f"second_order.{name}", "damping", lambda fn=fn: fn(G, None), "damping None"),
        B(f"second_order.{name}", "grads", lambda fn=fn: fn(jnp.ones(3), 1.0), "grads 1-D"),
        B(f"second_order.{name}", "grads", lambda fn=fn: fn(G.at[0, 1].set(NAN), 1.0), "grads NaN"),
        B(f"second_order.{name}", "grads", lambda fn=fn: fn(jnp.zeros((0, 3)), 1.0), "grads empty"),
        C(f"second_order.{name}", lambda fn=fn: fn([[1, 2, 0], [0, 1, 1]], 1),
          lambda fn=fn: fn(jnp.array([[1.0, 2, 0], [0, 1, 1]]), 1.0)),
    )],
    # mfac_ihvp(state, x)
    B("second_order.mfac_ihvp", "state", lambda: so.mfac_ihvp(jnp.eye(3), jnp.ones(3)), "not a state"),
    B("second_order.mfac_ihvp", "x", lambda: so.mfac_ihvp(MF, jnp.ones(4)), "x shape"),
    B("second_order.mfac_ihvp", "x", lambda: so.mfac_ihvp(MF, jnp.array([1.0, NAN, 0.0])), "x NaN"),
    B("second_order.mfac_ihvp", "x", lambda: so.mfac_ihvp(MF, "x"), "x string"),
    C("second_order.mfac_ihvp", lambda: so.mfac_ihvp(MF, [1, 2, 3]), lambda: so.mfac_ihvp(MF, jnp.array([1.0, 2.0, 3.0]))),
    # mfac_window_init(dim, window, damping, dtype)
    B("second_order.mfac_window_init", "dim", lambda: so.mfac_window_init(0, 2, 1.0), "dim 0"),
    B("second_order.mfac_window_init", "dim", lambda: so.mfac_window_init(3.0, 2, 1.0), "dim float"),
    B("second_order.mfac_window_init", "window", lambda: so.mfac_window_init(3, 0, 1.0), "window 0"),
    B("second_order.mfac_window_init", "damping", lambda: so.mfac_window_init(3, 2, -1.0), "damping negative"),
    B("second_order.mfac_window_init", "damping", lambda: so.mfac_window_init(3, 2, np.inf), "damping inf"),
    B("second_order.mfac_window_init", "dtype", lambda: so.mfac_window_init(3, 2, 1.0, jnp.int32), "int dtype"),
    B("second_order.mfac_window_init", "dtype", lambda: so.mfac_window_init(3, 2, 1.0, "banana"), "bad dtype"),
    # mfac_window_push(state, g) / mfac_window_ihvp(state, x)
    B("second_order.mfac_window_push", "state", lambda: so.mfac_window_push(MF, jnp.ones(3)), "wrong state"),
    B("second_order.mfac_window_push", "g", lambda: so.mfac_window_push(WIN, jnp.ones(2)), "g shape"),
    B("second_order.mfac_window_push", "g", lambda: so.mfac_window_push(WIN, jnp.array([NAN, 0.0, 1.0])), "g NaN"),
    B("second_order.mfac_window_push", "g", lambda: so.mfac_window_push(WIN, None), "g None"),
    C("second_order.mfac_window_push", lambda: so.mfac_window_push(WIN, [1, 2, 3]),
      lambda: so.mfac_window_push(WIN, jnp.array([1.0, 2.0, 3.0]))),
    B("second_order.mfac_window_ihvp", "state", lambda: so.mfac_window_ihvp(None, jnp.ones(3)), "state None"),
    B("second_order.mfac_window_ihvp", "x", lambda: so.mfac_window_ihvp(WIN, jnp.ones(5)), "x shape"),
    B("second_order.mfac_window_ihvp", "x", lambda: so.mfac_window_ihvp(WIN, jnp.array([np.inf, 0.0, 1.0])), "x inf"),
    C("second_order.mfac_window_ihvp", lambda: so.mfac_window_ihvp(WIN, [1, 2, 3]),
      lambda: so.mfac_window_ihvp(WIN, jnp.array([1.0, 2.0, 3.0]))),
    # scale_by_mfac(window, damping)
    B("second_order.scale_by_mfac", "window", lambda: so.scale_by_mfac(0, 1.0), "window 0"),
    B("second_order.scale_by_mfac", "window", lambda: so.scale_by_mfac("3", 1.0), "window string"),
    B("second_order.scale_by_mfac", "damping", lambda: so.scale_by_mfac(3, -0.1), "damping negative"),
    B("second_order.scale_by_mfac", "damping", lambda: so.scale_by_mfac(3, [0.1]), "damping list"),
    # rank1_ema_inverse_update(inv, a, beta)
    B("second_order.rank1_ema_inverse_update", "beta", lambda: so.rank1_ema_inverse_update(I2, X0, 1.0), "beta 1"),
    B("second_order.rank1_ema_inverse_update", "beta", lambda: so.rank1_ema_inverse_update(I2, X0, 0.0), "beta 0"),
    B("second_order.rank1_ema_inverse_update", "beta", lambda: so.rank1_ema_inverse_update(I2, X0, "0.9"), "beta string"),
    B("second_order.rank1_ema_inverse_update", "inv", lambda: so.rank1_ema_inverse_update(jnp.eye(3), X0, 0.9), "inv shape"),
    B("second_order.rank1_ema_inverse_update", "inv", lambda: so.rank1_ema_inverse_update(I2.at[0, 0].set(NAN), X0, 0.9), "inv NaN"),
    B("second_order.rank1_ema_inverse_update", "a", lambda: so.rank1_ema_inverse_update(I2, jnp.ones((2, 1)), 0.9), "a 2-D"),
    C("second_order.rank1_ema_inverse_update", lambda: so.rank1_ema_inverse_update([[1, 0], [0, 1]], [1, 2], 0.5),
      lambda: so.rank1_ema_inverse_update(I2, jnp.array([1.0, 2.0]), 0.5)),
    # thermodynamic_solve(F, g, *, key, dt, num_steps, burn_in, temperature, x0)
    B("second_order.thermodynamic_solve", "key", lambda: so.thermodynamic_solve(I2, X0, key=0, dt=0.1, num_steps=5), "integer key"),
    B("second_order.thermodynamic_solve", "key", lambda: so.thermodynamic_solve(I2, X0, key="k", dt=0.1, num_steps=5), "string key"),
    B("second_order.thermodynamic_solve", "F", lambda: so.thermodynamic_solve(jnp.eye(3), X0, key=KEY, dt=0.1, num_steps=5), "F shape"),
    B("second_order.thermodynamic_solve", "F", lambda: so.thermodynamic_solve(I2 * NAN, X0, key=KEY, dt=0.1, num_steps=5), "F NaN"),
    B("second_order.thermodynamic_solve", "g", lambda: so.thermodynamic_solve(I2, jnp.array([1.0, np.inf]), key=KEY, dt=0.1, num_steps=5), "g inf"),
    B("second_order.thermodynamic_solve", "dt", lambda: so.thermodynamic_solve(I2, X0, key=KEY, dt=0.0, num_steps=5), "dt 0"),
    B("second_order.thermodynamic_solve", "num_steps", lambda: so.thermodynamic_solve(I2, X0, key=KEY, dt=0.1, num_steps=0), "num_steps 0"),
    B("second_order.thermodynamic_solve", "burn_in", lambda: so.thermodynamic_solve(I2, X0, key=KEY, dt=0.1, num_steps=5, burn_in=5), "burn_in too big"),
    B("second_order.thermodynamic_solve", "burn_in", lambda: so.thermodynamic_solve(I2, X0, key=KEY, dt=0.1, num_steps=5, burn_in=-1), "burn_in negative"),
    B("second_order.thermodynamic_solve", "temperature", lambda: so.thermodynamic_solve(I2, X0, key=KEY, dt=0.1, num_steps=5, temperature=-1.0), "negative"),
    B("second_order.thermodynamic_solve", "x0", lambda: so.thermodynamic_solve(I2, X0, key=KEY, dt=0.1, num_steps=5, x0=jnp.ones(3)), "x0 shape"),
    C("second_order.thermodynamic_solve", lambda: so.thermodynamic_solve([[2, 0], [0, 1]], [1, 1], key=KEY, dt=0.1, num_steps=5),
      lambda: so.thermodynamic_solve(jnp.array([[2.0, 0], [0, 1]]), jnp.ones(2), key=KEY, dt=0.1, num_steps=5)),
    # inverse_pth_root(A, p, eps)
    B("second_order.inverse_pth_root", "A", lambda: so.inverse_pth_root(jnp.ones((2, 3)), 4.0), "not square"),
    B("second_order.inverse_pth_root", "A", lambda: so.inverse_pth_root(I2.at[1, 1].set(np.inf), 4.0), "A inf"),
    B("second_order.inverse_pth_root", "A", lambda: so.inverse_pth_root(jnp.ones(3), 4.0), "A 1-D"),
    B("second_order.inverse_pth_root", "p", lambda: so.inverse_pth_root(I2, 0.0), "p 0"),
    B("second_order.inverse_pth_root", "p", lambda: so.inverse_pth_root(I2, "4"), "p string"),
    B("second_order.inverse_pth_root", "eps", lambda: so.inverse_pth_root(I2, 4.0, -1e-3), "eps negative"),
    C("second_order.inverse_pth_root", lambda: so.inverse_pth_root([[4, 0], [0, 1]], 2), lambda: so.inverse_pth_root(jnp.array([[4.0, 0], [0, 1]]), 2.0)),
    # shampoo_precondition(G, L, R, eps)
    B("second_order.shampoo_precondition", "L", lambda: so.shampoo_precondition(G, jnp.eye(3), jnp.eye(3)), "L shape"),
    B("second_order.shampoo_precondition", "R", lambda: so.shampoo_precondition(G, I2, I2), "R shape"),
    B("second_order.shampoo_precondition", "G", lambda: so.shampoo_precondition(G.at[0, 0].set(NAN), I2, jnp.eye(3)), "G NaN"),
    B("second_order.shampoo_precondition", "G", lambda: so.shampoo_precondition(jnp.ones(3), I2, jnp.eye(3)), "G 1-D"),
    B("second_order.shampoo_precondition", "eps", lambda: so.shampoo_precondition(G, I2, jnp.eye(3), -1.0), "eps negative"),
    C("second_order.shampoo_precondition", lambda: so.shampoo_precondition([[1, 2, 0], [0, 1, 1]], [[1, 0], [0, 1]], np.eye(3, dtype=int)),
      lambda: so.shampoo_precondition(jnp.array([[1.0, 2, 0], [0, 1, 1]]), I2, jnp.eye(3))),
    # scale_by_shampoo(decay, eps)
    B("second_order.scale_by_shampoo", "decay", lambda: so.scale_by_shampoo(decay=1.5), "decay > 1"),
    B("second_order.scale_by_shampoo", "decay", lambda: so.scale_by_shampoo(decay="1"), "decay string"),
    B("second_order.scale_by_shampoo", "eps", lambda: so.scale_by_shampoo(eps=-1.0), "eps negative"),
    B("second_order.scale_by_shampoo", "params", lambda: so.scale_by_shampoo().init(jnp.ones((2, 2, 2))), "3-D params"),
    # polar_factor(G)
    B("second_order.polar_factor", "G", lambda: so.polar_factor(jnp.ones(3)), "G 1-D"),
    B("second_order.polar_factor", "G", lambda: so.polar_factor(G.at[1, 2].set(np.inf)), "G inf"),
    B("second_order.polar_factor", "G", lambda: so.polar_factor(jnp.zeros((0, 2))), "G empty"),
    B("second_order.polar_factor", "G", lambda: so.polar_factor("G"), "G string"),
    C("second_order.polar_factor", lambda: so.polar_factor([[2, 0], [0, 1]]), lambda: so.polar_factor(jnp.array([[2.0, 0], [0, 1]]))),
    # newton_schulz / newton_schulz_iterates(G, *, num_steps, coeffs, eps)
    *[c for name, fn in (("newton_schulz", so.newton_schulz), ("newton_schulz_iterates", so.newton_schulz_iterates))
      for c in (
        B(f"second_order.{name}", "G", lambda fn=fn: fn(jnp.ones(5), num_steps=3), "G 1-D"),
        B(f"second_order.{name}", "G", lambda fn=fn: fn(G.at[0, 0].set(NAN), num_steps=3), "G NaN"),
        B(f"second_order.{name}", "G", lambda fn=fn: fn(jnp.zeros((0, 3)), num_steps=3), "G empty"),
        B(f"second_order.{name}", "G", lambda fn=fn: fn(G.astype(jnp.complex64), num_steps=3), "G complex"),
        B(f"second_order.{name}", "num_steps", lambda fn=fn: fn(G, num_steps=-1), "num_steps negative"),
        B(f"second_order.{name}", "num_steps", lambda fn=fn: fn(G, num_steps=2.0), "num_steps float"),
        B(f"second_order.{name}", "coeffs", lambda fn=fn: fn(G, num_steps=3, coeffs=(1.0, 2.0)), "two coeffs"),
        B(f"second_order.{name}", "coeffs", lambda fn=fn: fn(G, num_steps=3, coeffs=(1.0, NAN, 0.0)), "NaN coeff"),
        B(f"second_order.{name}", "coeffs", lambda fn=fn: fn(G, num_steps=3, coeffs="abc"), "string coeffs"),
        B(f"second_order.{name}", "eps", lambda fn=fn: fn(G, num_steps=3, coeffs=so.MUON_COEFFS, eps=0.0), "eps 0"),
        C(f"second_order.{name}", lambda fn=fn: fn([[1, 2, 0], [0, 1, 1]], num_steps=3, coeffs=(2, -1, 0)),
          lambda fn=fn: fn(jnp.array([[1.0, 2, 0], [0, 1, 1]]), num_steps=3, coeffs=(2.0, -1.0, 0.0))),
    )],
    # auon_scale(M, gamma, eps)
    B("second_order.auon_scale", "M", lambda: so.auon_scale(jnp.ones(3)), "M 1-D"),
    B("second_order.auon_scale", "M", lambda: so.auon_scale(G.at[0, 0].set(NAN)), "M NaN"),
    B("second_order.auon_scale", "gamma", lambda: so.auon_scale(G, 0.0), "gamma 0"),
    B("second_order.auon_scale", "gamma", lambda: so.auon_scale(G, None), "gamma None"),
    B("second_order.auon_scale", "eps", lambda: so.auon_scale(G, 1.5, -1.0), "eps negative"),
    C("second_order.auon_scale", lambda: so.auon_scale([[1, 2], [3, 4]], 1), lambda: so.auon_scale(jnp.array([[1.0, 2], [3, 4]]), 1.0)),
    # scale_by_muon / muon / scale_by_auon / drop_layers / drop_muon
    B("second_order.scale_by_muon", "beta", lambda: so.scale_by_muon(beta=1.0), "beta 1"),
    B("second_order.scale_by_muon", "beta", lambda: so.scale_by_muon(beta=-0.1), "beta negative"),
    B("second_order.scale_by_muon", "ns_steps", lambda: so.scale_by_muon(ns_steps=-1), "ns_steps negative"),
    B("second_order.scale_by_muon", "ns_coeffs", lambda: so.scale_by_muon(ns_coeffs=(1.0,)), "one coeff"),
    B("second_order.scale_by_muon", "eps", lambda: so.scale_by_muon(eps=0.0), "eps 0"),
    B("second_order.scale_by_muon", "nesterov", lambda: so.scale_by_muon(nesterov="yes"), "nesterov string"),
    B("second_order.scale_by_muon", "updates", lambda: (lambda o: o.update(G.at[0, 0].set(NAN), o.init(G)))(so.scale_by_muon()), "NaN gradient"),
    B("second_order.muon", "learning_rate", lambda: so.muon(0.0), "lr 0"),
    B("second_order.muon", "learning_rate", lambda: so.muon(-0.1), "lr negative"),
    B("second_order.muon", "learning_rate", lambda: so.muon("0.1"), "lr string"),
    B("second_order.muon", "learning_rate", lambda: so.muon(None), "lr None"),
    B("second_order.muon", "weight_decay", lambda: so.muon(0.1, weight_decay=-1.0), "negative decay"),
    B("second_order.muon", "beta", lambda: so.muon(0.1, beta=2.0), "beta 2"),
    B("second_order.muon", "params", lambda: so.muon(0.1).init({"bias": jnp.ones(3)}), "1-D params"),
    B("second_order.scale_by_auon", "beta", lambda: so.scale_by_auon(beta=1.0), "beta 1"),
    B("second_order.scale_by_auon", "gamma", lambda: so.scale_by_auon(gamma=0.0), "gamma 0"),
    B("second_order.scale_by_auon", "gamma", lambda: so.scale_by_auon(gamma="big"), "gamma string"),
    B("second_order.scale_by_auon", "params", lambda: so.scale_by_auon().init({"bias": jnp.ones(3)}), "1-D params"),
    B("second_order.scale_by_auon", "updates", lambda: (lambda o: o.update(jnp.ones(4), o.init(G)))(so.scale_by_auon()), "1-D updates"),
    B("second_order.drop_layers", "key", lambda: so.drop_layers(optax.sgd(0.1), 0.5, key=0), "integer key"),
    B("second_order.drop_layers", "keep_prob", lambda: so.drop_layers(optax.sgd(0.1), 0.0, key=KEY), "keep_prob 0"),
    B("second_order.drop_layers", "keep_prob", lambda: so.drop_layers(optax.sgd(0.1), [0.5, 1.5], key=KEY), "keep_prob > 1"),
    B("second_order.drop_layers", "keep_prob", lambda: so.drop_layers(optax.sgd(0.1), "half", key=KEY), "keep_prob string"),
    B("second_order.drop_layers", "keep_prob", lambda: so.drop_layers(optax.sgd(0.1), [], key=KEY), "keep_prob empty"),
    B("second_order.drop_layers", "inner", lambda: so.drop_layers("sgd", 0.5, key=KEY), "inner string"),
    B("second_order.drop_layers", "keep_prob", lambda: so.drop_layers(optax.sgd(0.1), [0.5, 0.5, 0.5], key=KEY).init({"a": I2}), "length"),
    B("second_order.drop_muon", "key", lambda: so.drop_muon(0.1, 0.5, key=3), "integer key"),
    B("second_order.drop_muon", "learning_rate", lambda: so.drop_muon(-0.1, 0.5, key=KEY), "lr negative"),
    B("second_order.drop_muon", "keep_prob", lambda: so.drop_muon(0.1, 1.5, key=KEY), "keep_prob > 1"),
    # nuclear_norm(G) / scale_by_layerwise_noise(inner, beta2, noise_floor, groups) / noise_adaptive_muon(learning_rate, ...)
    B("second_order.nuclear_norm", "G", lambda: so.nuclear_norm(jnp.ones(3)), "G 1-D"),
    B("second_order.nuclear_norm", "G", lambda: so.nuclear_norm(G.at[0, 0].set(NAN)), "G NaN"),
    B("second_order.nuclear_norm", "G", lambda: so.nuclear_norm(jnp.ones((0, 3))), "G empty"),
    B("second_order.nuclear_norm", "G", lambda: so.nuclear_norm("G"), "G string"),
    C("second_order.nuclear_norm", lambda: so.nuclear_norm([[1, 2], [3, 4]]), lambda: so.nuclear_norm(jnp.array([[1.0, 2], [3, 4]]))),
    B("second_order.scale_by_layerwise_noise", "inner", lambda: so.scale_by_layerwise_noise("muon"), "inner string"),
    B("second_order.scale_by_layerwise_noise", "beta2", lambda: so.scale_by_layerwise_noise(optax.identity(), beta2=1.0), "beta2 1"),
    B("second_order.scale_by_layerwise_noise", "beta2", lambda: so.scale_by_layerwise_noise(optax.identity(), beta2=None), "beta2 None"),
    B("second_order.scale_by_layerwise_noise", "noise_floor", lambda: so.scale_by_layerwise_noise(optax.identity(), noise_floor=0.0), "floor 0"),
    B("second_order.scale_by_layerwise_noise", "noise_floor", lambda: so.scale_by_layerwise_noise(optax.identity(), noise_floor="x"), "floor string"),
    B("second_order.scale_by_layerwise_noise", "groups", lambda: so.scale_by_layerwise_noise(optax.identity(), groups=[0.5]), "float groups"),
    B("second_order.scale_by_layerwise_noise", "groups", lambda: so.scale_by_layerwise_noise(optax.identity(), groups=[0, -1]), "negative group"),
    B("second_order.scale_by_layerwise_noise", "groups", lambda: so.scale_by_layerwise_noise(optax.identity(), groups="ab"), "groups string"),
    B("second_order.scale_by_layerwise_noise", "groups", lambda: so.scale_by_layerwise_noise(optax.identity(), groups=[]), "groups empty"),
    B("second_order.scale_by_layerwise_noise", "groups",
      lambda: so.scale_by_layerwise_noise(optax.identity(), groups=[0, 1]).init({"a": I2}), "groups length"),
    B("second_order.scale_by_layerwise_noise", "params",
      lambda: so.scale_by_layerwise_noise(optax.identity()).init({"b": jnp.ones(3)}), "1-D params"),
    B("second_order.scale_by_layerwise_noise", "updates",
      lambda: (lambda o: o.update({"a": I2.at[0, 0].set(NAN)}, o.init({"a": I2})))(so.scale_by_layerwise_noise(optax.identity())), "NaN gradient"),
    B("second_order.noise_adaptive_muon", "learning_rate", lambda: so.noise_adaptive_muon(0.0), "lr 0"),
    B("second_order.noise_adaptive_muon", "learning_rate", lambda: so.noise_adaptive_muon("0.1"), "lr string"),
    B("second_order.noise_adaptive_muon", "beta", lambda: so.noise_adaptive_muon(0.1, beta=1.0), "beta 1"),
    B("second_order.noise_adaptive_muon", "beta2", lambda: so.noise_adaptive_muon(0.1, beta2=-0.5), "beta2 negative"),
    B("second_order.noise_adaptive_muon", "weight_decay", lambda: so.noise_adaptive_muon(0.1, weight_decay=-1.0), "negative decay"),
    B("second_order.noise_adaptive_muon", "params", lambda: so.noise_adaptive_muon(0.1).init({"bias": jnp.ones(3)}), "1-D params"),
    # scale_by_adahessian(b1, b2, eps, hessian_power, block_size, *, key) / adahessian(learning_rate, ...)
    B("second_order.scale_by_adahessian", "key", lambda: so.scale_by_adahessian(key=0), "integer key"),
    B("second_order.scale_by_adahessian", "b1", lambda: so.scale_by_adahessian(b1=1.0, key=KEY), "b1 = 1"),
    B("second_order.scale_by_adahessian", "b2", lambda: so.scale_by_adahessian(b2=-0.1, key=KEY), "b2 negative"),
    B("second_order.scale_by_adahessian", "eps", lambda: so.scale_by_adahessian(eps=0.0, key=KEY), "eps 0"),
    B("second_order.scale_by_adahessian", "hessian_power",
      lambda: so.scale_by_adahessian(hessian_power=1.5, key=KEY), "k > 1"),
    B("second_order.scale_by_adahessian", "block_size", lambda: so.scale_by_adahessian(block_size=0, key=KEY), "b 0"),
    B("second_order.scale_by_adahessian", "block_size",
      lambda: so.scale_by_adahessian(block_size=3, key=KEY).init(jnp.ones(4)), "b does not divide"),
    B("second_order.scale_by_adahessian", "params",
      lambda: so.scale_by_adahessian(key=KEY).init(jnp.array([1.0, NAN])), "params NaN"),
    B("second_order.scale_by_adahessian", "fun",
      lambda: (lambda o: o.update(X0, o.init(X0), X0))(so.scale_by_adahessian(key=KEY)), "fun missing"),
    B("second_order.scale_by_adahessian", "params",
      lambda: (lambda o: o.update(X0, o.init(X0), None, fun=f))(so.scale_by_adahessian(key=KEY)), "params None"),
    B("second_order.adahessian", "learning_rate", lambda: so.adahessian(0.0, key=KEY), "lr 0"),
    B("second_order.adahessian", "learning_rate", lambda: so.adahessian("0.1", key=KEY), "lr string"),
    B("second_order.adahessian", "key", lambda: so.adahessian(0.1, key=None), "key None"),
    B("second_order.adahessian", "hessian_power", lambda: so.adahessian(0.1, hessian_power=-1.0, key=KEY), "k < 0"),
    # kronecker_power_iteration(grads, *, num_steps)
    B("second_order.kronecker_power_iteration", "grads",
      lambda: so.kronecker_power_iteration(jnp.ones((3, 4)), num_steps=2), "grads 2-D"),
    B("second_order.kronecker_power_iteration", "grads",
      lambda: so.kronecker_power_iteration(jnp.zeros((0, 2, 2)), num_steps=2), "grads empty"),
    B("second_order.kronecker_power_iteration", "grads",
      lambda: so.kronecker_power_iteration(jnp.ones((2, 2, 2)).at[0, 0, 0].set(NAN), num_steps=2), "grads NaN"),
    B("second_order.kronecker_power_iteration", "grads",
      lambda: so.kronecker_power_iteration("G", num_steps=2), "grads string"),
    B("second_order.kronecker_power_iteration", "num_steps",
      lambda: so.kronecker_power_iteration(jnp.ones((2, 2, 2)), num_steps=0), "num_steps 0"),
    C("second_order.kronecker_power_iteration",
      lambda: so.kronecker_power_iteration([[[1, 0], [0, 2]], [[2, 1], [1, 0]]], num_steps=2),
      lambda: so.kronecker_power_iteration(jnp.array([[[1.0, 0], [0, 2]], [[2, 1], [1, 0]]]), num_steps=2)),
]

EXEMPT = {
    "NewtonTrace": "a NamedTuple of results",
    "MFACState": "a NamedTuple built by mfac_static",
    "MFACWindow": "a NamedTuple built by mfac_window_init",
    "TNGDResult": "a NamedTuple of results",
    "AdaHessianState": "a NamedTuple built by scale_by_adahessian",
    "LayerwiseNoiseState": "a NamedTuple built by scale_by_layerwise_noise",
    "KroneckerTrace": "a NamedTuple of results",
    "CUBIC_COEFFS": "a constant",
    "MUON_COEFFS": "a constant",
}
