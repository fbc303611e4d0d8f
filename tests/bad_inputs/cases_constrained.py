"""Bad-input cases for optlab.constrained."""

import jax
import jax.numpy as jnp
import numpy as np

import badinput
from optlab import constrained as cs

B, C = badinput.Bad, badinput.Coerce
KEY = jax.random.key(0)
NAN = float("nan")
INF = float("inf")


def f(x):
    return jnp.sum((x - 0.3) ** 2)


def c(x):
    return jnp.array([x[0] - 0.2])


def g2(x):
    return jnp.array([x[0] - 0.2, -x[1]])


def f_vec(x):  # not scalar-valued
    return x


def c_mat(x):  # not a vector
    return jnp.ones((2, 2))


X0 = jnp.array([0.5, 0.5])
SIMPLEX = cs.simplex()
SCORES = jnp.array([[0.1, 0.9, 0.0], [0.5, 0.2, 0.3], [0.0, 1.0, 0.2]])
XR = jnp.array([[1.0, 1.0], [-0.5, 1.0], [0.3, 1.0], [1.5, 1.0]])
YR = jnp.array([0.2, -0.1, 0.4, 0.0])
DR = cs.relu_patterns(XR)
P = DR.shape[0]
VR = jnp.zeros((P, 2))
K4 = 2.0 * jnp.eye(4)
R4 = jnp.array([1.0, 2.0, 3.0, 4.0])


def _radius_cases(name, make):
    return [
        B(name, "radius", lambda: make(-1.0), "negative radius"),
        B(name, "radius", lambda: make(0.0), "zero radius"),
        B(name, "radius", lambda: make(NAN), "NaN radius"),
        B(name, "radius", lambda: make(INF), "inf radius"),
        B(name, "radius", lambda: make("1"), "string radius"),
        B(name, "radius", lambda: make(None), "None radius"),
        B(name, "radius", lambda: make(jnp.ones(2)), "vector radius"),
        B(name, "radius", lambda: make(1 + 2j), "complex radius"),
    ]


def _set_method_cases(name, S, shape):
    bad_rank = shape + (1,)
    return [
        B(name, "x", lambda: S.project(jnp.full(shape, NAN)), "project NaN"),
        B(name, "x", lambda: S.project(jnp.zeros((0,) * len(shape))), "project empty"),
        B(name, "x", lambda: S.project("abc"), "project string"),
        B(name, "x", lambda: S.project(None), "project None"),
        B(name, "g", lambda: S.lmo(jnp.full(shape, INF)), "lmo inf"),
        B(name, "g", lambda: S.lmo(jnp.zeros((0,) * len(shape))), "lmo empty"),
        B(name, "g", lambda: S.lmo([[1, 2], [3]]), "lmo ragged"),
        B(name, "x", lambda: S.contains(jnp.full(shape, NAN)), "contains NaN"),
        B(name, "tol", lambda: S.contains(jnp.zeros(shape), tol=-1.0), "contains negative tol"),
        B(name, "tol", lambda: S.contains(jnp.zeros(shape), tol="1e-6"), "contains string tol"),
    ] + ([
        B(name, "x", lambda: S.project(jnp.zeros(bad_rank)), "project wrong rank"),
        B(name, "g", lambda: S.lmo(jnp.zeros(bad_rank)), "lmo wrong rank"),
    ] if name.split(".")[1] in ("Simplex", "SpectralBall", "NuclearBall") else [])


CASES = [
    # sets and their factories
    *_radius_cases("constrained.Simplex", cs.Simplex),
    *_radius_cases("constrained.simplex", cs.simplex),
    *_radius_cases("constrained.L1Ball", cs.L1Ball),
    *_radius_cases("constrained.l1_ball", cs.l1_ball),
    *_radius_cases("constrained.L2Ball", cs.L2Ball),
    *_radius_cases("constrained.l2_ball", cs.l2_ball),
    *_radius_cases("constrained.SpectralBall", cs.SpectralBall),
    *_radius_cases("constrained.spectral_ball", cs.spectral_ball),
    *_radius_cases("constrained.NuclearBall", cs.NuclearBall),
    *_radius_cases("constrained.nuclear_ball", cs.nuclear_ball),
    *_set_method_cases("constrained.Simplex", cs.simplex(), (3,)),
    *_set_method_cases("constrained.L1Ball", cs.l1_ball(), (3,)),
    *_set_method_cases("constrained.L2Ball", cs.l2_ball(), (3,)),
    *_set_method_cases("constrained.Box", cs.box(-1.0, 1.0), (3,)),
    *_set_method_cases("constrained.SpectralBall", cs.spectral_ball(), (3, 2)),
    *_set_method_cases("constrained.NuclearBall", cs.nuclear_ball(), (3, 2)),
    C("constrained.Simplex", lambda: cs.simplex(2).project([3, 0, 1]),
      lambda: cs.simplex(2.0).project(jnp.array([3.0, 0.0, 1.0]))),
    C("constrained.L1Ball", lambda: cs.l1_ball(1).lmo(np.array([1, -3, 2])),
      lambda: cs.l1_ball(1.0).lmo(jnp.array([1.0, -3.0, 2.0]))),
    C("constrained.L2Ball", lambda: cs.l2_ball(1).project([3, 4]),
      lambda: cs.l2_ball(1.0).project(jnp.array([3.0, 4.0]))),
    C("constrained.SpectralBall", lambda: cs.spectral_ball(1).project([[2, 0], [0, 0.5]]),
      lambda: cs.spectral_ball(1.0).project(jnp.array([[2.0, 0.0], [0.0, 0.5]]))),
    C("constrained.NuclearBall", lambda: cs.nuclear_ball(1).lmo([[2, 0], [0, 1]]),
      lambda: cs.nuclear_ball(1.0).lmo(jnp.array([[2.0, 0.0], [0.0, 1.0]]))),
    B("constrained.Box", "lo", lambda: cs.Box(NAN, 1.0), "NaN lo"),
    B("constrained.Box", "lo", lambda: cs.Box(jnp.array([0.0, 2.0]), jnp.array([1.0, 1.0])), "lo > hi"),
    B("constrained.Box", "lo", lambda: cs.Box(jnp.zeros(2), jnp.ones(3)), "shapes do not broadcast"),
    B("constrained.Box", "lo", lambda: cs.Box("a", 1.0), "string lo"),
    B("constrained.Box", "hi", lambda: cs.Box(0.0, None), "None hi"),
    B("constrained.Box", "x", lambda: cs.box(jnp.zeros(3), jnp.ones(3)).project(jnp.ones(4)), "x shape"),
    C("constrained.Box", lambda: cs.box([0, 0], [1, 1]).project([2, -1]),
      lambda: cs.box(jnp.zeros(2), jnp.ones(2)).project(jnp.array([2.0, -1.0]))),
    B("constrained.box", "lo", lambda: cs.box(1.0, 0.0), "lo > hi"),
    B("constrained.box", "hi", lambda: cs.box(0.0, NAN), "NaN hi"),
    B("constrained.box", "hi", lambda: cs.box(0.0, "1"), "string hi"),
    B("constrained.box", "lo", lambda: cs.box(jnp.zeros(2), jnp.ones(3)), "shapes"),
    C("constrained.box", lambda: cs.box(0, 1).project(np.array([2, -1])),
      lambda: cs.box(0.0, 1.0).project(jnp.array([2.0, -1.0]))),
    B("constrained.ball", "p", lambda: cs.ball(1.0, p=0), "p = 0"),
    B("constrained.ball", "p", lambda: cs.ball(1.0, p=0.5), "p < 1"),
    B("constrained.ball", "p", lambda: cs.ball(1.0, p=3), "p = 3 unsupported"),
    B("constrained.ball", "p", lambda: cs.ball(1.0, p="l0"), "unknown string"),
    B("constrained.ball", "p", lambda: cs.ball(1.0, p=None), "p None"),
    B("constrained.ball", "p", lambda: cs.ball(1.0, p=NAN), "p NaN"),
    B("constrained.ball", "radius", lambda: cs.ball(-1.0, p=2), "negative radius"),
    B("constrained.ball", "radius", lambda: cs.ball(0.0, p="inf"), "zero radius inf"),
    B("constrained.ball", "radius", lambda: cs.ball("1", p=1), "string radius"),
    C("constrained.ball", lambda: cs.ball(2, p=1).project([3, 0]),
      lambda: cs.ball(2.0, p=1).project(jnp.array([3.0, 0.0]))),
    # projections
    *[B(f"constrained.{name}", "radius", (lambda p=p, r=r: p(jnp.ones(3), r)), why)
      for name, p in (("project_simplex", cs.project_simplex), ("project_l1_ball", cs.project_l1_ball))
      for r, why in ((-1.0, "negative radius"), (0.0, "zero radius"), (NAN, "NaN radius"),
                     (INF, "inf radius"), ("1", "string radius"), (None, "None radius"),
                     (jnp.ones(2), "vector radius"))],
    *[B(f"constrained.{name}", "v", (lambda p=p, v=v: p(v, 1.0)), why)
      for name, p in (("project_simplex", cs.project_simplex), ("project_l1_ball", cs.project_l1_ball))
      for v, why in ((jnp.array([1.0, NAN]), "NaN"), (jnp.array([INF, 1.0]), "inf"),
                     (jnp.zeros(0), "empty"), ("abc", "string"), (None, "None"),
                     (jnp.array([1 + 1j, 2]), "complex"), ([[1, 2], [3]], "ragged"))],
    B("constrained.project_simplex", "v", lambda: cs.project_simplex(jnp.ones((2, 2))), "2-D v"),
    C("constrained.project_simplex", lambda: cs.project_simplex([3, 1, 0], 2),
      lambda: cs.project_simplex(jnp.array([3.0, 1.0, 0.0]), 2.0)),
    C("constrained.project_l1_ball", lambda: cs.project_l1_ball(np.array([[3, -1], [0, 2]]), 1),
      lambda: cs.project_l1_ball(jnp.array([[3.0, -1.0], [0.0, 2.0]]), 1.0)),
    # require_feasible
    B("constrained.require_feasible", "x0", lambda: cs.require_feasible("x0", jnp.array([0.9, 0.9]), SIMPLEX), "infeasible"),
    B("constrained.require_feasible", "x0", lambda: cs.require_feasible("x0", jnp.array([NAN, 1.0]), SIMPLEX), "NaN"),
    B("constrained.require_feasible", "x0", lambda: cs.require_feasible("x0", jnp.ones((2, 2)), SIMPLEX), "rank"),
    B("constrained.require_feasible", "cset", lambda: cs.require_feasible("x0", X0, "simplex"), "cset string"),
    B("constrained.require_feasible", "tol", lambda: cs.require_feasible("x0", X0, SIMPLEX, tol=-1.0), "negative tol"),
    B("constrained.require_feasible", "name", lambda: cs.require_feasible(3, X0, SIMPLEX), "name not a string"),
    # projected_gradient(f, cset, x0, *, learning_rate, num_steps)
    B("constrained.projected_gradient", "f", lambda: cs.projected_gradient("f", SIMPLEX, X0, learning_rate=0.1, num_steps=5), "f string"),
    B("constrained.projected_gradient", "cset", lambda: cs.projected_gradient(f, None, X0, learning_rate=0.1, num_steps=5), "cset None"),
    B("constrained.projected_gradient", "x0", lambda: cs.projected_gradient(f, SIMPLEX, jnp.array([NAN, 1.0]), learning_rate=0.1, num_steps=5), "x0 NaN"),
    B("constrained.projected_gradient", "x0", lambda: cs.projected_gradient(f, SIMPLEX, jnp.zeros(0), learning_rate=0.1, num_steps=5), "x0 empty"),
    B("constrained.projected_gradient", "x0", lambda: cs.projected_gradient(f, SIMPLEX, jnp.ones((2, 2)), learning_rate=0.1, num_steps=5), "x0 rank"),
    B("constrained.projected_gradient", "x0", lambda: cs.projected_gradient(f, SIMPLEX, "x", learning_rate=0.1, num_steps=5), "x0 string"),
    B("constrained.projected_gradient", "learning_rate", lambda: cs.projected_gradient(f, SIMPLEX, X0, learning_rate=-0.1, num_steps=5), "negative step"),
    B("constrained.projected_gradient", "learning_rate", lambda: cs.projected_gradient(f, SIMPLEX, X0, learning_rate=0.0, num_steps=5), "zero step"),
    B("constrained.projected_gradient", "learning_rate", lambda: cs.projected_gradient(f, SIMPLEX, X0, learning_rate=NAN, num_steps=5), "NaN step"),
    B("constrained.projected_gradient", "learning_rate", lambda: cs.projected_gradient(f, SIMPLEX, X0, learning_rate=jnp.ones(2), num_steps=5), "vector step"),
    B("constrained.projected_gradient", "num_steps", lambda: cs.projected_gradient(f, SIMPLEX, X0, learning_rate=0.1, num_steps=0), "zero iters"),
    B("constrained.projected_gradient", "num_steps", lambda: cs.projected_gradient(f, SIMPLEX, X0, learning_rate=0.1, num_steps=2.5), "float iters"),
    B("constrained.projected_gradient", "tol", lambda: cs.projected_gradient(f, SIMPLEX, X0, learning_rate=0.1, num_steps=5, tol=-1.0), "negative tol"),
    C("constrained.projected_gradient", lambda: cs.projected_gradient(f, SIMPLEX, [1, 0], learning_rate=1, num_steps=5),
      lambda: cs.projected_gradient(f, SIMPLEX, jnp.array([1.0, 0.0]), learning_rate=1.0, num_steps=5)),
    # frank_wolfe(f, cset, x0, *, num_steps, learning_rate, L)
    B("constrained.frank_wolfe", "f", lambda: cs.frank_wolfe(None, SIMPLEX, X0, num_steps=5), "f None"),
    B("constrained.frank_wolfe", "cset", lambda: cs.frank_wolfe(f, "simplex", X0, num_steps=5), "cset string"),
    B("constrained.frank_wolfe", "x0", lambda: cs.frank_wolfe(f, SIMPLEX, jnp.array([0.9, 0.9]), num_steps=5), "x0 infeasible"),
    B("constrained.frank_wolfe", "x0", lambda: cs.frank_wolfe(f, SIMPLEX, jnp.array([NAN, 0.5]), num_steps=5), "x0 NaN"),
    B("constrained.frank_wolfe", "x0", lambda: cs.frank_wolfe(f, SIMPLEX, jnp.zeros(0), num_steps=5), "x0 empty"),
    B("constrained.frank_wolfe", "x0", lambda: cs.frank_wolfe(f, SIMPLEX, None, num_steps=5), "x0 None"),
    B("constrained.frank_wolfe", "num_steps", lambda: cs.frank_wolfe(f, SIMPLEX, X0, num_steps=-3), "negative iters"),
    B("constrained.frank_wolfe", "num_steps", lambda: cs.frank_wolfe(f, SIMPLEX, X0, num_steps="5"), "string iters"),
    B("constrained.frank_wolfe", "learning_rate", lambda: cs.frank_wolfe(f, SIMPLEX, X0, num_steps=5, learning_rate="line_search"), "unknown rule"),
    B("constrained.frank_wolfe", "learning_rate", lambda: cs.frank_wolfe(f, SIMPLEX, X0, num_steps=5, learning_rate=1.5), "constant above 1"),
    B("constrained.frank_wolfe", "learning_rate", lambda: cs.frank_wolfe(f, SIMPLEX, X0, num_steps=5, learning_rate=-0.1), "negative constant"),
    B("constrained.frank_wolfe", "learning_rate", lambda: cs.frank_wolfe(f, SIMPLEX, X0, num_steps=5, learning_rate=NAN), "NaN constant"),
    B("constrained.frank_wolfe", "learning_rate", lambda: cs.frank_wolfe(f, SIMPLEX, X0, num_steps=5, learning_rate=jnp.ones(2)), "vector constant"),
    B("constrained.frank_wolfe", "learning_rate", lambda: cs.frank_wolfe(f, SIMPLEX, X0, num_steps=5, learning_rate=None), "None"),
    B("constrained.frank_wolfe", "L", lambda: cs.frank_wolfe(f, SIMPLEX, X0, num_steps=5, learning_rate="short"), "missing L"),
    B("constrained.frank_wolfe", "L", lambda: cs.frank_wolfe(f, SIMPLEX, X0, num_steps=5, learning_rate="short", L=-1.0), "negative L"),
    B("constrained.frank_wolfe", "L", lambda: cs.frank_wolfe(f, SIMPLEX, X0, num_steps=5, learning_rate="short", L=INF), "inf L"),
    B("constrained.frank_wolfe", "L", lambda: cs.frank_wolfe(f, SIMPLEX, X0, num_steps=5, learning_rate="short", L="2"), "string L"),
    B("constrained.frank_wolfe", "tol", lambda: cs.frank_wolfe(f, SIMPLEX, X0, num_steps=5, tol=NAN), "NaN tol"),
    C("constrained.frank_wolfe", lambda: cs.frank_wolfe(f, SIMPLEX, [1, 0], num_steps=5, learning_rate="short", L=2),
      lambda: cs.frank_wolfe(f, SIMPLEX, jnp.array([1.0, 0.0]), num_steps=5, learning_rate="short", L=2.0)),
    # load_balancing_dual(scores, biases)
    B("constrained.load_balancing_dual", "scores", lambda: cs.load_balancing_dual(jnp.ones(3), jnp.zeros(3)), "1-D scores"),
    B("constrained.load_balancing_dual", "scores", lambda: cs.load_balancing_dual(SCORES.at[0, 0].set(NAN), jnp.zeros(3)), "NaN scores"),
    B("constrained.load_balancing_dual", "scores", lambda: cs.load_balancing_dual(jnp.zeros((0, 3)), jnp.zeros(3)), "empty scores"),
    B("constrained.load_balancing_dual", "scores", lambda: cs.load_balancing_dual(jnp.ones((3, 1)), jnp.zeros(1)), "one expert"),
    B("constrained.load_balancing_dual", "biases", lambda: cs.load_balancing_dual(SCORES, jnp.zeros(2)), "biases length"),
    B("constrained.load_balancing_dual", "biases", lambda: cs.load_balancing_dual(SCORES, jnp.array([0.0, INF, 0.0])), "inf biases"),
    B("constrained.load_balancing_dual", "biases", lambda: cs.load_balancing_dual(SCORES, "b"), "string biases"),
    C("constrained.load_balancing_dual", lambda: cs.load_balancing_dual([[1, 0], [0, 2]], [0, 1]),
      lambda: cs.load_balancing_dual(jnp.array([[1.0, 0.0], [0.0, 2.0]]), jnp.array([0.0, 1.0]))),
    # load_balancing(scores, *, num_steps, learning_rate, rule, biases0)
    B("constrained.load_balancing", "scores", lambda: cs.load_balancing(jnp.ones(5), num_steps=10, learning_rate=0.1), "1-D scores"),
    B("constrained.load_balancing", "scores", lambda: cs.load_balancing(SCORES.at[1, 1].set(INF), num_steps=10, learning_rate=0.1), "inf scores"),
    B("constrained.load_balancing", "scores", lambda: cs.load_balancing(jnp.ones((4, 1)), num_steps=10, learning_rate=0.1), "one expert"),
    B("constrained.load_balancing", "scores", lambda: cs.load_balancing(None, num_steps=10, learning_rate=0.1), "None scores"),
    B("constrained.load_balancing", "num_steps", lambda: cs.load_balancing(SCORES, num_steps=0, learning_rate=0.1), "zero steps"),
    B("constrained.load_balancing", "num_steps", lambda: cs.load_balancing(SCORES, num_steps=1.5, learning_rate=0.1), "float steps"),
    B("constrained.load_balancing", "learning_rate", lambda: cs.load_balancing(SCORES, num_steps=10, learning_rate=0.0), "zero step"),
    B("constrained.load_balancing", "learning_rate", lambda: cs.load_balancing(SCORES, num_steps=10, learning_rate=-1.0), "negative step"),
    B("constrained.load_balancing", "rule", lambda: cs.load_balancing(SCORES, num_steps=10, learning_rate=0.1, rule="adam"), "unknown rule"),
    B("constrained.load_balancing", "rule", lambda: cs.load_balancing(SCORES, num_steps=10, learning_rate=0.1, rule=1), "numeric rule"),
    B("constrained.load_balancing", "biases0", lambda: cs.load_balancing(SCORES, num_steps=10, learning_rate=0.1, biases0=jnp.zeros(4)), "biases0 length"),
    B("constrained.load_balancing", "biases0", lambda: cs.load_balancing(SCORES, num_steps=10, learning_rate=0.1, biases0=jnp.array([NAN, 0, 0])), "biases0 NaN"),
    B("constrained.load_balancing", "tol", lambda: cs.load_balancing(SCORES, num_steps=10, learning_rate=0.1, tol=-0.1), "negative tol"),
    C("constrained.load_balancing", lambda: cs.load_balancing([[1, 0, 0], [0, 1, 0], [2, 0, 1]], num_steps=5, learning_rate=1),
      lambda: cs.load_balancing(jnp.array([[1.0, 0, 0], [0, 1, 0], [2, 0, 1]]), num_steps=5, learning_rate=1.0)),
    # balanced_assignment_lp(scores)
    B("constrained.balanced_assignment_lp", "scores", lambda: cs.balanced_assignment_lp(jnp.ones(3)), "1-D"),
    B("constrained.balanced_assignment_lp", "scores", lambda: cs.balanced_assignment_lp(SCORES.at[0, 0].set(NAN)), "NaN"),
    B("constrained.balanced_assignment_lp", "scores", lambda: cs.balanced_assignment_lp(jnp.zeros((0, 2))), "empty"),
    B("constrained.balanced_assignment_lp", "scores", lambda: cs.balanced_assignment_lp("s"), "string"),
    B("constrained.balanced_assignment_lp", "scores", lambda: cs.balanced_assignment_lp(jnp.ones((3, 1))), "one expert"),
    B("constrained.balanced_assignment_lp", "scores", lambda: jax.jit(cs.balanced_assignment_lp)(SCORES), "traced"),
    C("constrained.balanced_assignment_lp", lambda: cs.balanced_assignment_lp([[1, 0], [0, 1]]),
      lambda: cs.balanced_assignment_lp(jnp.array([[1.0, 0.0], [0.0, 1.0]]))),
    # quadratic_penalty(f, c, x0, mus)
    B("constrained.quadratic_penalty", "f", lambda: cs.quadratic_penalty(1.0, c, X0, jnp.array([1.0])), "f number"),
    B("constrained.quadratic_penalty", "f", lambda: cs.quadratic_penalty(f_vec, c, X0, jnp.array([1.0])), "f not scalar"),
    B("constrained.quadratic_penalty", "c", lambda: cs.quadratic_penalty(f, "c", X0, jnp.array([1.0])), "c string"),
    B("constrained.quadratic_penalty", "c", lambda: cs.quadratic_penalty(f, c_mat, X0, jnp.array([1.0])), "c matrix"),
    B("constrained.quadratic_penalty", "x0", lambda: cs.quadratic_penalty(f, c, jnp.ones((2, 2)), jnp.array([1.0])), "x0 2-D"),
    B("constrained.quadratic_penalty", "x0", lambda: cs.quadratic_penalty(f, c, jnp.array([INF, 0.0]), jnp.array([1.0])), "x0 inf"),
    B("constrained.quadratic_penalty", "x0", lambda: cs.quadratic_penalty(f, c, jnp.zeros(0), jnp.array([1.0])), "x0 empty"),
    B("constrained.quadratic_penalty", "mus", lambda: cs.quadratic_penalty(f, c, X0, jnp.array([1.0, -1.0])), "negative mu"),
    B("constrained.quadratic_penalty", "mus", lambda: cs.quadratic_penalty(f, c, X0, jnp.array([1.0, NAN])), "NaN mu"),
    B("constrained.quadratic_penalty", "mus", lambda: cs.quadratic_penalty(f, c, X0, jnp.zeros(0)), "empty mus"),
    B("constrained.quadratic_penalty", "mus", lambda: cs.quadratic_penalty(f, c, X0, 10.0), "scalar mus"),
    B("constrained.quadratic_penalty", "newton_num_steps", lambda: cs.quadratic_penalty(f, c, X0, jnp.array([1.0]), newton_num_steps=0), "zero newton"),
    B("constrained.quadratic_penalty", "tol", lambda: cs.quadratic_penalty(f, c, X0, jnp.array([1.0]), tol="x"), "string tol"),
    C("constrained.quadratic_penalty", lambda: cs.quadratic_penalty(f, c, [0, 0], [1, 10], newton_num_steps=5),
      lambda: cs.quadratic_penalty(f, c, jnp.zeros(2), jnp.array([1.0, 10.0]), newton_num_steps=5)),
    # augmented_lagrangian(f, c, x0, mu, *, num_steps)
    B("constrained.augmented_lagrangian", "f", lambda: cs.augmented_lagrangian(None, c, X0, 1.0, num_steps=3), "f None"),
    B("constrained.augmented_lagrangian", "c", lambda: cs.augmented_lagrangian(f, None, X0, 1.0, num_steps=3), "c None"),
    B("constrained.augmented_lagrangian", "x0", lambda: cs.augmented_lagrangian(f, c, jnp.array([NAN, 0.0]), 1.0, num_steps=3), "x0 NaN"),
    B("constrained.augmented_lagrangian", "x0", lambda: cs.augmented_lagrangian(f, c, "x", 1.0, num_steps=3), "x0 string"),
    B("constrained.augmented_lagrangian", "mu", lambda: cs.augmented_lagrangian(f, c, X0, 0.0, num_steps=3), "zero mu"),
    B("constrained.augmented_lagrangian", "mu", lambda: cs.augmented_lagrangian(f, c, X0, -1.0, num_steps=3), "negative mu"),
    B("constrained.augmented_lagrangian", "mu", lambda: cs.augmented_lagrangian(f, c, X0, jnp.ones(2), num_steps=3), "vector mu"),
    B("constrained.augmented_lagrangian", "num_steps", lambda: cs.augmented_lagrangian(f, c, X0, 1.0, num_steps=0), "zero outer"),
    B("constrained.augmented_lagrangian", "num_steps", lambda: cs.augmented_lagrangian(f, c, X0, 1.0, num_steps=3.0), "float outer"),
    B("constrained.augmented_lagrangian", "lam0", lambda: cs.augmented_lagrangian(f, c, X0, 1.0, num_steps=3, lam0=jnp.zeros(2)), "lam0 length"),
    B("constrained.augmented_lagrangian", "lam0", lambda: cs.augmented_lagrangian(f, c, X0, 1.0, num_steps=3, lam0=jnp.array([NAN])), "lam0 NaN"),
    B("constrained.augmented_lagrangian", "newton_num_steps", lambda: cs.augmented_lagrangian(f, c, X0, 1.0, num_steps=3, newton_num_steps=-1), "negative newton"),
    C("constrained.augmented_lagrangian", lambda: cs.augmented_lagrangian(f, c, [0, 0], 10, num_steps=3, lam0=[1], newton_num_steps=5),
      lambda: cs.augmented_lagrangian(f, c, jnp.zeros(2), 10.0, num_steps=3, lam0=jnp.array([1.0]), newton_num_steps=5)),
    # sketch_solve(K, r, *, tol, key, sketch_size, num_steps)
    B("constrained.sketch_solve", "K", lambda: cs.sketch_solve(jnp.ones((4, 3)), R4, tol=0.1, key=KEY, sketch_size=2), "K not square"),
    B("constrained.sketch_solve", "K", lambda: cs.sketch_solve(K4.at[0, 0].set(NAN), R4, tol=0.1, key=KEY, sketch_size=2), "K NaN"),
    B("constrained.sketch_solve", "K", lambda: cs.sketch_solve(R4, R4, tol=0.1, key=KEY, sketch_size=2), "K 1-D"),
    B("constrained.sketch_solve", "r", lambda: cs.sketch_solve(K4, R4[:3], tol=0.1, key=KEY, sketch_size=2), "r length"),
    B("constrained.sketch_solve", "r", lambda: cs.sketch_solve(K4, R4.at[1].set(INF), tol=0.1, key=KEY, sketch_size=2), "r inf"),
    B("constrained.sketch_solve", "tol", lambda: cs.sketch_solve(K4, R4, tol=0.0, key=KEY, sketch_size=2), "zero tol"),
    B("constrained.sketch_solve", "tol", lambda: cs.sketch_solve(K4, R4, tol=-0.1, key=KEY, sketch_size=2), "negative tol"),
    B("constrained.sketch_solve", "key", lambda: cs.sketch_solve(K4, R4, tol=0.1, key=0, sketch_size=2), "integer key"),
    B("constrained.sketch_solve", "key", lambda: cs.sketch_solve(K4, R4, tol=0.1, key=jnp.ones(2), sketch_size=2), "float key"),
    B("constrained.sketch_solve", "sketch_size", lambda: cs.sketch_solve(K4, R4, tol=0.1, key=KEY, sketch_size=5), "sketch too big"),
    B("constrained.sketch_solve", "sketch_size", lambda: cs.sketch_solve(K4, R4, tol=0.1, key=KEY, sketch_size=0), "sketch zero"),
    B("constrained.sketch_solve", "num_steps", lambda: cs.sketch_solve(K4, R4, tol=0.1, key=KEY, sketch_size=2, num_steps=0), "zero iters"),
    C("constrained.sketch_solve", lambda: cs.sketch_solve(np.eye(3, dtype=int) * 2, [1, 2, 3], tol=0.1, key=KEY, sketch_size=3),
      lambda: cs.sketch_solve(2.0 * jnp.eye(3), jnp.array([1.0, 2.0, 3.0]), tol=0.1, key=KEY, sketch_size=3)),
    # exact_al_sketch(f, c, x0, *, key, ...)
    B("constrained.exact_al_sketch", "key", lambda: cs.exact_al_sketch(f, c, X0, key=0), "integer key"),
    B("constrained.exact_al_sketch", "f", lambda: cs.exact_al_sketch("f", c, X0, key=KEY), "f string"),
    B("constrained.exact_al_sketch", "c", lambda: cs.exact_al_sketch(f, 3, X0, key=KEY), "c number"),
    B("constrained.exact_al_sketch", "x0", lambda: cs.exact_al_sketch(f, c, jnp.array([NAN, 0.0]), key=KEY), "x0 NaN"),
    B("constrained.exact_al_sketch", "x0", lambda: jax.jit(lambda x: cs.exact_al_sketch(f, c, x, key=KEY).params)(X0), "x0 traced"),
    B("constrained.exact_al_sketch", "theta", lambda: cs.exact_al_sketch(f, c, X0, key=KEY, accuracy="fixed", theta=1.5), "theta > 1"),
    B("constrained.exact_al_sketch", "theta", lambda: cs.exact_al_sketch(f, c, X0, key=KEY, theta=0.0), "theta 0"),
    B("constrained.exact_al_sketch", "accuracy", lambda: cs.exact_al_sketch(f, c, X0, key=KEY, accuracy="loose"), "unknown accuracy"),
    B("constrained.exact_al_sketch", "mu", lambda: cs.exact_al_sketch(f, c, X0, key=KEY, mu=-1.0), "negative mu"),
    B("constrained.exact_al_sketch", "nu", lambda: cs.exact_al_sketch(f, c, X0, key=KEY, nu=0.0), "zero nu"),
    B("constrained.exact_al_sketch", "tol", lambda: cs.exact_al_sketch(f, c, X0, key=KEY, tol=NAN), "NaN tol"),
    B("constrained.exact_al_sketch", "sketch_size", lambda: cs.exact_al_sketch(f, c, X0, key=KEY, sketch_size=9), "sketch too big"),
    B("constrained.exact_al_sketch", "num_steps", lambda: cs.exact_al_sketch(f, c, X0, key=KEY, num_steps=0), "zero iters"),
    B("constrained.exact_al_sketch", "lam0", lambda: cs.exact_al_sketch(f, c, X0, key=KEY, lam0=jnp.zeros(3)), "lam0 length"),
    C("constrained.exact_al_sketch", lambda: cs.exact_al_sketch(f, c, [1, 0], key=KEY, accuracy="exact", num_steps=3),
      lambda: cs.exact_al_sketch(f, c, jnp.array([1.0, 0.0]), key=KEY, accuracy="exact", num_steps=3)),
    # kkt_residual(f, c, x, lam)
    B("constrained.kkt_residual", "x", lambda: cs.kkt_residual(f, c, jnp.array([NAN, 0.0]), jnp.zeros(1)), "x NaN"),
    B("constrained.kkt_residual", "x", lambda: cs.kkt_residual(f, c, jnp.ones((2, 2)), jnp.zeros(1)), "x 2-D"),
    B("constrained.kkt_residual", "lam", lambda: cs.kkt_residual(f, c, X0, jnp.zeros(3)), "lam length"),
    B("constrained.kkt_residual", "lam", lambda: cs.kkt_residual(f, c, X0, "l"), "lam string"),
    B("constrained.kkt_residual", "lam", lambda: cs.kkt_residual(f, c, X0, jnp.array([INF])), "lam inf"),
    B("constrained.kkt_residual", "f", lambda: cs.kkt_residual(None, c, X0, jnp.zeros(1)), "f None"),
    B("constrained.kkt_residual", "c", lambda: cs.kkt_residual(f, [1], X0, jnp.zeros(1)), "c list"),
    C("constrained.kkt_residual", lambda: cs.kkt_residual(f, c, [1, 0], [2]),
      lambda: cs.kkt_residual(f, c, jnp.array([1.0, 0.0]), jnp.array([2.0]))),
    # primal_dual(f, g, x0, *, learning_rate, dual_learning_rate, num_steps)
    B("constrained.primal_dual", "f", lambda: cs.primal_dual("f", g2, X0, learning_rate=0.1, dual_learning_rate=0.1, num_steps=5), "f string"),
    B("constrained.primal_dual", "g", lambda: cs.primal_dual(f, None, X0, learning_rate=0.1, dual_learning_rate=0.1, num_steps=5), "g None"),
    B("constrained.primal_dual", "x0", lambda: cs.primal_dual(f, g2, jnp.array([INF, 0.0]), learning_rate=0.1, dual_learning_rate=0.1, num_steps=5), "x0 inf"),
    B("constrained.primal_dual", "x0", lambda: cs.primal_dual(f, g2, jnp.zeros(0), learning_rate=0.1, dual_learning_rate=0.1, num_steps=5), "x0 empty"),
    B("constrained.primal_dual", "learning_rate", lambda: cs.primal_dual(f, g2, X0, learning_rate=0.0, dual_learning_rate=0.1, num_steps=5), "zero primal lr"),
    B("constrained.primal_dual", "learning_rate", lambda: cs.primal_dual(f, g2, X0, learning_rate="0.1", dual_learning_rate=0.1, num_steps=5), "string primal lr"),
    B("constrained.primal_dual", "dual_learning_rate", lambda: cs.primal_dual(f, g2, X0, learning_rate=0.1, dual_learning_rate=-0.1, num_steps=5), "negative dual lr"),
    B("constrained.primal_dual", "dual_learning_rate", lambda: cs.primal_dual(f, g2, X0, learning_rate=0.1, dual_learning_rate=NAN, num_steps=5), "NaN dual lr"),
    B("constrained.primal_dual", "num_steps", lambda: cs.primal_dual(f, g2, X0, learning_rate=0.1, dual_learning_rate=0.1, num_steps=0), "zero iters"),
    B("constrained.primal_dual", "lam0", lambda: cs.primal_dual(f, g2, X0, learning_rate=0.1, dual_learning_rate=0.1, num_steps=5, lam0=jnp.array([-1.0, 0.0])), "negative lam0"),
    B("constrained.primal_dual", "lam0", lambda: cs.primal_dual(f, g2, X0, learning_rate=0.1, dual_learning_rate=0.1, num_steps=5, lam0=jnp.zeros(3)), "lam0 length"),
    B("constrained.primal_dual", "tol", lambda: cs.primal_dual(f, g2, X0, learning_rate=0.1, dual_learning_rate=0.1, num_steps=5, tol=-1.0), "negative tol"),
    C("constrained.primal_dual", lambda: cs.primal_dual(f, g2, [1, 1], learning_rate=0.1, dual_learning_rate=0.1, num_steps=5, lam0=[0, 1]),
      lambda: cs.primal_dual(f, g2, jnp.ones(2), learning_rate=0.1, dual_learning_rate=0.1, num_steps=5, lam0=jnp.array([0.0, 1.0]))),
    # relu_patterns(X, num_samples, key)
    B("constrained.relu_patterns", "X", lambda: cs.relu_patterns(jnp.ones(4)), "1-D X"),
    B("constrained.relu_patterns", "X", lambda: cs.relu_patterns(XR.at[0, 0].set(NAN)), "NaN X"),
    B("constrained.relu_patterns", "X", lambda: cs.relu_patterns(jnp.zeros((0, 2))), "empty X"),
    B("constrained.relu_patterns", "X", lambda: cs.relu_patterns(jnp.ones((4, 3))), "d = 3 without sampling"),
    B("constrained.relu_patterns", "X", lambda: cs.relu_patterns("X"), "string X"),
    B("constrained.relu_patterns", "num_samples", lambda: cs.relu_patterns(XR, num_samples=-1), "negative samples"),
    B("constrained.relu_patterns", "num_samples", lambda: cs.relu_patterns(XR, num_samples=2.5), "float samples"),
    B("constrained.relu_patterns", "key", lambda: cs.relu_patterns(XR, num_samples=10), "missing key"),
    B("constrained.relu_patterns", "key", lambda: cs.relu_patterns(XR, num_samples=10, key=3), "integer key"),
    C("constrained.relu_patterns", lambda: cs.relu_patterns([[1, 1], [-1, 1], [2, 1]]),
      lambda: cs.relu_patterns(jnp.array([[1.0, 1.0], [-1.0, 1.0], [2.0, 1.0]]))),
    # convex_relu_objective(X, y, D, v, w, beta)
    B("constrained.convex_relu_objective", "X", lambda: cs.convex_relu_objective(XR[:, 0], YR, DR, VR, VR, 0.1), "1-D X"),
    B("constrained.convex_relu_objective", "y", lambda: cs.convex_relu_objective(XR, YR[:3], DR, VR, VR, 0.1), "y length"),
    B("constrained.convex_relu_objective", "y", lambda: cs.convex_relu_objective(XR, YR.at[0].set(NAN), DR, VR, VR, 0.1), "y NaN"),
    B("constrained.convex_relu_objective", "D", lambda: cs.convex_relu_objective(XR, YR, 0.5 * DR, VR, VR, 0.1), "D not 0/1"),
    B("constrained.convex_relu_objective", "D", lambda: cs.convex_relu_objective(XR, YR, DR[:, :3], VR, VR, 0.1), "D columns"),
    B("constrained.convex_relu_objective", "v", lambda: cs.convex_relu_objective(XR, YR, DR, VR[:, :1], VR, 0.1), "v shape"),
    B("constrained.convex_relu_objective", "w", lambda: cs.convex_relu_objective(XR, YR, DR, VR, VR.at[0, 0].set(INF), 0.1), "w inf"),
    B("constrained.convex_relu_objective", "beta", lambda: cs.convex_relu_objective(XR, YR, DR, VR, VR, -0.1), "negative beta"),
    B("constrained.convex_relu_objective", "beta", lambda: cs.convex_relu_objective(XR, YR, DR, VR, VR, "b"), "string beta"),
    C("constrained.convex_relu_objective",
      lambda: cs.convex_relu_objective(np.array([[1, 1], [-1, 1]]), [1, 0], [[1, 0]], [[1, 0]], [[0, 0]], 1),
      lambda: cs.convex_relu_objective(jnp.array([[1.0, 1.0], [-1.0, 1.0]]), jnp.array([1.0, 0.0]),
                                       jnp.array([[1.0, 0.0]]), jnp.array([[1.0, 0.0]]), jnp.zeros((1, 2)), 1.0)),
    # relu_admm(X, y, D, beta, *, rho, num_steps)
    B("constrained.relu_admm", "X", lambda: cs.relu_admm(XR.at[0, 0].set(NAN), YR, DR, 0.1), "NaN X"),
    B("constrained.relu_admm", "X", lambda: cs.relu_admm(jnp.zeros((0, 2)), YR, DR, 0.1), "empty X"),
    B("constrained.relu_admm", "y", lambda: cs.relu_admm(XR, YR[:2], DR, 0.1), "y length"),
    B("constrained.relu_admm", "y", lambda: cs.relu_admm(XR, jnp.ones((4, 1)), DR, 0.1), "y 2-D"),
    B("constrained.relu_admm", "D", lambda: cs.relu_admm(XR, YR, 0.5 * DR, 0.1), "D not 0/1"),
    B("constrained.relu_admm", "D", lambda: cs.relu_admm(XR, YR, jnp.ones(4), 0.1), "D 1-D"),
    B("constrained.relu_admm", "beta", lambda: cs.relu_admm(XR, YR, DR, 0.0), "zero beta"),
    B("constrained.relu_admm", "rho", lambda: cs.relu_admm(XR, YR, DR, 0.1, rho=-1.0), "negative rho"),
    B("constrained.relu_admm", "num_steps", lambda: cs.relu_admm(XR, YR, DR, 0.1, num_steps=0), "zero iters"),
    B("constrained.relu_admm", "tol", lambda: cs.relu_admm(XR, YR, DR, 0.1, tol=NAN), "NaN tol"),
    C("constrained.relu_admm", lambda: cs.relu_admm(np.array([[1, 1], [-1, 1], [2, 1]]), [1, 0, 2],
                                                    [[1, 0, 1], [0, 1, 0]], 1, num_steps=10),
      lambda: cs.relu_admm(jnp.array([[1.0, 1.0], [-1.0, 1.0], [2.0, 1.0]]), jnp.array([1.0, 0.0, 2.0]),
                           jnp.array([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]]), 1.0, num_steps=10)),
    # relu_from_convex(v, w, tol)
    B("constrained.relu_from_convex", "v", lambda: cs.relu_from_convex(jnp.ones(3), jnp.ones(3)), "1-D v"),
    B("constrained.relu_from_convex", "w", lambda: cs.relu_from_convex(VR, jnp.zeros((P, 3))), "w shape"),
    B("constrained.relu_from_convex", "v", lambda: cs.relu_from_convex(VR.at[0, 0].set(NAN), VR), "NaN v"),
    B("constrained.relu_from_convex", "tol", lambda: cs.relu_from_convex(VR, VR, tol=-1.0), "negative tol"),
    B("constrained.relu_from_convex", "v", lambda: cs.relu_from_convex("v", VR), "string v"),
    C("constrained.relu_from_convex", lambda: cs.relu_from_convex([[4, 0]], [[0, 1]]),
      lambda: cs.relu_from_convex(jnp.array([[4.0, 0.0]]), jnp.array([[0.0, 1.0]]))),
    # relu_predict(X, U, alpha)
    B("constrained.relu_predict", "X", lambda: cs.relu_predict(jnp.ones(2), jnp.ones((2, 3)), jnp.ones(3)), "1-D X"),
    B("constrained.relu_predict", "U", lambda: cs.relu_predict(XR, jnp.ones((3, 3)), jnp.ones(3)), "U rows"),
    B("constrained.relu_predict", "alpha", lambda: cs.relu_predict(XR, jnp.ones((2, 3)), jnp.ones(2)), "alpha length"),
    B("constrained.relu_predict", "alpha", lambda: cs.relu_predict(XR, jnp.ones((2, 3)), jnp.array([NAN, 0, 0])), "alpha NaN"),
    B("constrained.relu_predict", "U", lambda: cs.relu_predict(XR, None, jnp.ones(3)), "U None"),
    C("constrained.relu_predict", lambda: cs.relu_predict([[1, 2]], [[1], [1]], [2]),
      lambda: cs.relu_predict(jnp.array([[1.0, 2.0]]), jnp.ones((2, 1)), jnp.array([2.0]))),
    # relu_network_objective(X, y, U, alpha, beta)
    B("constrained.relu_network_objective", "y", lambda: cs.relu_network_objective(XR, YR[:1], jnp.ones((2, 3)), jnp.ones(3), 0.1), "y length"),
    B("constrained.relu_network_objective", "beta", lambda: cs.relu_network_objective(XR, YR, jnp.ones((2, 3)), jnp.ones(3), -1.0), "negative beta"),
    B("constrained.relu_network_objective", "U", lambda: cs.relu_network_objective(XR, YR, jnp.ones((2, 3)).at[0, 0].set(INF), jnp.ones(3), 0.1), "U inf"),
    B("constrained.relu_network_objective", "alpha", lambda: cs.relu_network_objective(XR, YR, jnp.ones((2, 3)), jnp.ones((3, 1)), 0.1), "alpha 2-D"),
    B("constrained.relu_network_objective", "X", lambda: cs.relu_network_objective("X", YR, jnp.ones((2, 3)), jnp.ones(3), 0.1), "X string"),
    C("constrained.relu_network_objective", lambda: cs.relu_network_objective([[1, 2]], [1], [[1], [1]], [2], 1),
      lambda: cs.relu_network_objective(jnp.array([[1.0, 2.0]]), jnp.array([1.0]), jnp.ones((2, 1)),
                                        jnp.array([2.0]), 1.0)),
    # train_relu_nonconvex(X, y, width, beta, *, key, ...)
    B("constrained.train_relu_nonconvex", "key", lambda: cs.train_relu_nonconvex(XR, YR, 3, 0.1, key=0), "integer key"),
    B("constrained.train_relu_nonconvex", "key", lambda: cs.train_relu_nonconvex(XR, YR, 3, 0.1, key=None), "None key"),
    B("constrained.train_relu_nonconvex", "width", lambda: cs.train_relu_nonconvex(XR, YR, 0, 0.1, key=KEY), "zero width"),
    B("constrained.train_relu_nonconvex", "width", lambda: cs.train_relu_nonconvex(XR, YR, 2.5, 0.1, key=KEY), "float width"),
    B("constrained.train_relu_nonconvex", "beta", lambda: cs.train_relu_nonconvex(XR, YR, 3, -0.1, key=KEY), "negative beta"),
    B("constrained.train_relu_nonconvex", "learning_rate", lambda: cs.train_relu_nonconvex(XR, YR, 3, 0.1, key=KEY, learning_rate=0.0), "zero lr"),
    B("constrained.train_relu_nonconvex", "num_steps", lambda: cs.train_relu_nonconvex(XR, YR, 3, 0.1, key=KEY, num_steps=0), "zero steps"),
    B("constrained.train_relu_nonconvex", "init_scale", lambda: cs.train_relu_nonconvex(XR, YR, 3, 0.1, key=KEY, init_scale=-1.0), "negative scale"),
    B("constrained.train_relu_nonconvex", "X", lambda: cs.train_relu_nonconvex(XR.at[0, 0].set(NAN), YR, 3, 0.1, key=KEY), "NaN X"),
    B("constrained.train_relu_nonconvex", "y", lambda: cs.train_relu_nonconvex(XR, YR[:2], 3, 0.1, key=KEY), "y length"),
    C("constrained.train_relu_nonconvex", lambda: cs.train_relu_nonconvex([[1, 1], [-1, 1]], [1, 0], 2, 0.1, key=KEY, num_steps=5),
      lambda: cs.train_relu_nonconvex(jnp.array([[1.0, 1.0], [-1.0, 1.0]]), jnp.array([1.0, 0.0]), 2, 0.1, key=KEY, num_steps=5)),
    # NOTEARS: acyclicity(W), acyclicity_grad(W), notears(X, *, l1_weight, num_steps, tol, rho_max,
    # newton_num_steps), structural_hamming_distance(B_est, B_true)
    B("constrained.acyclicity", "W", lambda: cs.acyclicity(jnp.ones((2, 3))), "not square"),
    B("constrained.acyclicity", "W", lambda: cs.acyclicity(jnp.ones(3)), "vector"),
    B("constrained.acyclicity", "W", lambda: cs.acyclicity(jnp.array([[0.0, NAN], [0.0, 0.0]])), "NaN"),
    B("constrained.acyclicity", "W", lambda: cs.acyclicity("W"), "string"),
    B("constrained.acyclicity", "W", lambda: cs.acyclicity(jnp.zeros((0, 0))), "empty"),
    B("constrained.acyclicity_grad", "W", lambda: cs.acyclicity_grad(jnp.ones((3, 2))), "not square"),
    B("constrained.acyclicity_grad", "W", lambda: cs.acyclicity_grad(jnp.array([[INF, 0.0], [0.0, 0.0]])), "inf"),
    B("constrained.acyclicity_grad", "W", lambda: cs.acyclicity_grad(None), "None"),
    B("constrained.notears", "X", lambda: cs.notears(jnp.ones(5)), "vector X"),
    B("constrained.notears", "X", lambda: cs.notears(jnp.ones((1, 3))), "one sample"),
    B("constrained.notears", "X", lambda: cs.notears(jnp.ones((5, 1))), "one variable"),
    B("constrained.notears", "X", lambda: cs.notears(jnp.ones((5, 3)).at[0, 0].set(NAN)), "NaN X"),
    B("constrained.notears", "X", lambda: cs.notears("X"), "string X"),
    B("constrained.notears", "l1_weight", lambda: cs.notears(jnp.ones((5, 3)), l1_weight=-0.1), "negative l1"),
    B("constrained.notears", "num_steps", lambda: cs.notears(jnp.ones((5, 3)), num_steps=0), "zero steps"),
    B("constrained.notears", "num_steps", lambda: cs.notears(jnp.ones((5, 3)), num_steps=2.0), "float steps"),
    B("constrained.notears", "tol", lambda: cs.notears(jnp.ones((5, 3)), tol=-1.0), "negative tol"),
    B("constrained.notears", "rho_max", lambda: cs.notears(jnp.ones((5, 3)), rho_max=0.0), "zero rho_max"),
    B("constrained.notears", "newton_num_steps", lambda: cs.notears(jnp.ones((5, 3)), newton_num_steps=0), "zero newton"),
    B("constrained.structural_hamming_distance", "B_est", lambda: cs.structural_hamming_distance(jnp.ones((2, 3)), jnp.eye(2)), "not square"),
    B("constrained.structural_hamming_distance", "B_true", lambda: cs.structural_hamming_distance(jnp.eye(2), "B"), "string"),
    B("constrained.structural_hamming_distance", "B_est", lambda: cs.structural_hamming_distance(jnp.eye(3), jnp.eye(4)), "shapes differ"),
    C("constrained.acyclicity", lambda: cs.acyclicity([[0, 1], [1, 0]]), lambda: cs.acyclicity(jnp.array([[0.0, 1.0], [1.0, 0.0]]))),
    C("constrained.acyclicity_grad", lambda: cs.acyclicity_grad([[0, 1], [1, 0]]),
      lambda: cs.acyclicity_grad(jnp.array([[0.0, 1.0], [1.0, 0.0]]))),
    C("constrained.notears", lambda: cs.notears([[1, 2], [3, 1], [0, 2], [2, 0]], num_steps=3),
      lambda: cs.notears(jnp.array([[1.0, 2.0], [3.0, 1.0], [0.0, 2.0], [2.0, 0.0]]), num_steps=3)),
    C("constrained.structural_hamming_distance", lambda: cs.structural_hamming_distance([[0, 1], [0, 0]], [[0, 0], [1, 0]]),
      lambda: cs.structural_hamming_distance(jnp.array([[0.0, 1.0], [0.0, 0.0]]), jnp.array([[0.0, 0.0], [1.0, 0.0]]))),
]

EXEMPT = {
    "PGDOutput": "NamedTuple result type, no argument to validate",
    "FWOutput": "NamedTuple result type, no argument to validate",
    "LoadBalanceOutput": "NamedTuple result type, no argument to validate",
    "MultiplierOutput": "NamedTuple result type, no argument to validate",
    "ExactALOutput": "NamedTuple result type, no argument to validate",
    "PrimalDualOutput": "NamedTuple result type, no argument to validate",
    "ReLUADMMOutput": "NamedTuple result type, no argument to validate",
    "ReLUTrainOutput": "NamedTuple result type, no argument to validate",
    "SketchOutput": "NamedTuple result type, no argument to validate",
    "NotearsOutput": "NamedTuple result type, no argument to validate",
}
