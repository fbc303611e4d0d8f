"""Bad-input cases for optlab.minimax (see README.md here)."""

import jax
import jax.numpy as jnp
import numpy as np

from badinput import Bad, Coerce
from optlab import minimax as mm

KEY = jax.random.key(0)
NAN = float("nan")
INF = float("inf")
A = np.array([[1.0, 0.5], [-0.3, 2.0]])
A_INT = [[1, 2], [0, 1]]
G = mm.bilinear_game(A)  # d = 4
Z0 = np.ones(4)
MS = np.stack([np.eye(2), 2 * np.eye(2), np.array([[1.0, 1.0], [-1.0, 1.0]])])  # n = 3, d = 2
OP = mm.finite_sum_game(MS)


def rot(z):
    return jnp.array([[0.1, 1.0], [-1.0, 0.1]]) @ z


def f_xy(x, y):
    return jnp.sum(x * y)


def _method_cases(name, fn, **kw):
    f = f"minimax.{name}"
    return [
        Bad(f, "F", lambda: fn("G", Z0, learning_rate=0.1, num_steps=5, **kw), "F string"),
        Bad(f, "F", lambda: fn(np.eye(4), Z0, learning_rate=0.1, num_steps=5, **kw), "F array"),
        Bad(f, "F", lambda: fn(lambda z: jnp.sum(z), Z0, learning_rate=0.1, num_steps=5, **kw), "F not a field"),
        Bad(f, "z0", lambda: fn(G, np.ones((2, 2)), learning_rate=0.1, num_steps=5, **kw), "2-D z0"),
        Bad(f, "z0", lambda: fn(G, np.ones(3), learning_rate=0.1, num_steps=5, **kw), "z0 of the wrong length"),
        Bad(f, "z0", lambda: fn(G, np.array([NAN, 0, 0, 0]), learning_rate=0.1, num_steps=5, **kw), "NaN z0"),
        Bad(f, "z0", lambda: fn(G, "z", learning_rate=0.1, num_steps=5, **kw), "string z0"),
        Bad(f, "z0", lambda: fn(G, None, learning_rate=0.1, num_steps=5, **kw), "None z0"),
        Bad(f, "z0", lambda: fn(rot, np.zeros(0), learning_rate=0.1, num_steps=5, **kw), "empty z0"),
        Bad(f, "learning_rate", lambda: fn(G, Z0, learning_rate=0.0, num_steps=5, **kw), "zero learning_rate"),
        Bad(f, "learning_rate", lambda: fn(G, Z0, learning_rate=-0.1, num_steps=5, **kw), "negative learning_rate"),
        Bad(f, "learning_rate", lambda: fn(G, Z0, learning_rate=INF, num_steps=5, **kw), "inf learning_rate"),
        Bad(f, "learning_rate", lambda: fn(G, Z0, learning_rate="0.1", num_steps=5, **kw), "string learning_rate"),
        Bad(f, "learning_rate", lambda: fn(G, Z0, learning_rate=np.ones(2), num_steps=5, **kw), "array learning_rate"),
        Bad(f, "num_steps", lambda: fn(G, Z0, learning_rate=0.1, num_steps=0, **kw), "zero steps"),
        Bad(f, "num_steps", lambda: fn(G, Z0, learning_rate=0.1, num_steps=5.0, **kw), "float steps"),
        Bad(f, "tol", lambda: fn(G, Z0, learning_rate=0.1, num_steps=5, tol=-1.0, **kw), "negative tol"),
        Bad(f, "tol", lambda: fn(G, Z0, learning_rate=0.1, num_steps=5, tol=NAN, **kw), "NaN tol"),
        Coerce(f, lambda: fn(G, [1, 1, 1, 1], learning_rate=1, num_steps=5, **kw), lambda: fn(G, np.ones(4, np.float32), learning_rate=1.0, num_steps=5, **kw)),
    ]


def _vr(**kw):
    args = dict(op=OP, z0=np.ones(2), learning_rate=0.1, num_steps=4, key=KEY, batch_size=1, prob=0.5)
    args.update(kw)
    return mm.vr_halpern(args.pop("op"), args.pop("z0"), **args)


def _cg(**kw):
    args = dict(f=f_xy, z0=np.ones(2), learning_rate=0.1, num_steps=4, n_x=1)
    args.update(kw)
    return mm.competitive_gradient(args.pop("f"), args.pop("z0"), **args)


CASES = (
    _method_cases("gda", mm.gda)
    + [Bad("minimax.gda", "n_x", lambda: mm.gda(rot, np.ones(2), learning_rate=0.1, num_steps=5, alternating=True), "no n_x"),
       Bad("minimax.gda", "n_x", lambda: mm.gda(G, Z0, learning_rate=0.1, num_steps=5, alternating=True, n_x=4), "n_x = d"),
       Bad("minimax.gda", "n_x", lambda: mm.gda(G, Z0, learning_rate=0.1, num_steps=5, alternating=True, n_x=1.5), "float n_x")]
    + _method_cases("extragradient", mm.extragradient)
    + _method_cases("optimistic_gradient", mm.optimistic_gradient)
    + _method_cases("reflected_gradient", mm.reflected_gradient)
    + _method_cases("proximal_point", mm.proximal_point)
    + [Bad("minimax.proximal_point", "inner_num_steps",
           lambda: mm.proximal_point(rot, np.ones(2), learning_rate=0.1, num_steps=5, inner_num_steps=0), "zero inner steps")]
    + _method_cases("halpern", mm.halpern)
    + _method_cases("halpern_proximal_point", mm.halpern_proximal_point)
    + [Bad("minimax.halpern_proximal_point", "inner_num_steps",
           lambda: mm.halpern_proximal_point(rot, np.ones(2), learning_rate=0.1, num_steps=5, inner_num_steps=2.5), "float inner steps")]
    + _method_cases("extra_anchored_gradient", mm.extra_anchored_gradient)
    + _method_cases("accelerated_optimistic_gradient", mm.accelerated_optimistic_gradient)
    + [
        # ------------------------------------------------------------ vr_halpern
        Bad("minimax.vr_halpern", "op", lambda: _vr(op=G), "an affine operator"),
        Bad("minimax.vr_halpern", "op", lambda: _vr(op=rot), "a callable"),
        Bad("minimax.vr_halpern", "z0", lambda: _vr(z0=np.ones(3)), "z0 length"),
        Bad("minimax.vr_halpern", "z0", lambda: _vr(z0=np.array([INF, 0.0])), "inf z0"),
        Bad("minimax.vr_halpern", "key", lambda: _vr(key=0), "integer key"),
        Bad("minimax.vr_halpern", "key", lambda: _vr(key=None), "None key"),
        Bad("minimax.vr_halpern", "batch_size", lambda: _vr(batch_size=0), "zero batch"),
        Bad("minimax.vr_halpern", "prob", lambda: _vr(prob=0.0), "zero prob"),
        Bad("minimax.vr_halpern", "prob", lambda: _vr(prob=1.5), "prob > 1"),
        Bad("minimax.vr_halpern", "prob", lambda: _vr(prob="half"), "string prob"),
        Bad("minimax.vr_halpern", "learning_rate", lambda: _vr(learning_rate=-1.0), "negative learning_rate"),
        Bad("minimax.vr_halpern", "num_steps", lambda: _vr(num_steps=0), "zero steps"),
        Coerce("minimax.vr_halpern", lambda: _vr(z0=[1, 1], prob=1), lambda: _vr(z0=np.ones(2, np.float32), prob=1.0)),
        # ------------------------------------------------------------ competitive_gradient
        Bad("minimax.competitive_gradient", "f", lambda: _cg(f=None), "f None"),
        Bad("minimax.competitive_gradient", "f", lambda: _cg(f=lambda x, y: x * y), "f not scalar"),
        Bad("minimax.competitive_gradient", "n_x", lambda: _cg(n_x=2), "n_x = d"),
        Bad("minimax.competitive_gradient", "n_x", lambda: _cg(n_x=0), "zero n_x"),
        Bad("minimax.competitive_gradient", "alpha", lambda: _cg(alpha=-1.0), "negative alpha"),
        Bad("minimax.competitive_gradient", "alpha", lambda: _cg(alpha="a"), "string alpha"),
        Bad("minimax.competitive_gradient", "z0", lambda: _cg(z0=np.array([NAN, 1.0])), "NaN z0"),
        Bad("minimax.competitive_gradient", "learning_rate", lambda: _cg(learning_rate=0.0), "zero learning_rate"),
        Bad("minimax.competitive_gradient", "num_steps", lambda: _cg(num_steps=-3), "negative steps"),
        Coerce("minimax.competitive_gradient", lambda: _cg(z0=[1, 2], learning_rate=1, alpha=0),
               lambda: _cg(z0=np.array([1.0, 2.0], np.float32), learning_rate=1.0, alpha=0.0)),
        # ------------------------------------------------------------ operators and games
        Bad("minimax.AffineOperator", "M", lambda: mm.AffineOperator(np.ones(3)), "1-D M"),
        Bad("minimax.AffineOperator", "M", lambda: mm.AffineOperator(np.ones((2, 3))), "not square"),
        Bad("minimax.AffineOperator", "M", lambda: mm.AffineOperator(np.array([[NAN]])), "NaN M"),
        Bad("minimax.AffineOperator", "M", lambda: mm.AffineOperator("M"), "string M"),
        Bad("minimax.AffineOperator", "M", lambda: mm.AffineOperator(np.zeros((0, 0))), "empty M"),
        Bad("minimax.AffineOperator", "q", lambda: mm.AffineOperator(A, np.ones(3)), "q length"),
        Bad("minimax.AffineOperator", "q", lambda: mm.AffineOperator(A, np.array([INF, 0.0])), "inf q"),
        Bad("minimax.AffineOperator", "n_x", lambda: mm.AffineOperator(A, n_x=3), "n_x > d"),
        Bad("minimax.AffineOperator", "n_x", lambda: mm.AffineOperator(A, n_x=-1), "negative n_x"),
        Coerce("minimax.AffineOperator", lambda: mm.AffineOperator(A_INT, [1, 0])(jnp.ones(2)),
               lambda: mm.AffineOperator(np.array(A_INT, np.float32), np.array([1.0, 0.0], np.float32))(jnp.ones(2))),
        Bad("minimax.FiniteSumOperator", "Ms", lambda: mm.FiniteSumOperator(np.ones((2, 2))), "2-D Ms"),
        Bad("minimax.FiniteSumOperator", "Ms", lambda: mm.FiniteSumOperator(np.ones((2, 2, 3))), "not square"),
        Bad("minimax.FiniteSumOperator", "Ms", lambda: mm.FiniteSumOperator(np.full((1, 2, 2), NAN)), "NaN Ms"),
        Bad("minimax.FiniteSumOperator", "qs", lambda: mm.FiniteSumOperator(MS, np.ones((2, 2))), "qs shape"),
        Bad("minimax.FiniteSumOperator", "Ms", lambda: mm.FiniteSumOperator(np.zeros((0, 2, 2))), "empty Ms"),
        Coerce("minimax.FiniteSumOperator", lambda: mm.FiniteSumOperator([[[1, 0], [0, 1]]])(jnp.ones(2)),
               lambda: mm.FiniteSumOperator(np.eye(2, dtype=np.float32)[None])(jnp.ones(2))),
        Bad("minimax.finite_sum_game", "Ms", lambda: mm.finite_sum_game("Ms"), "string Ms"),
        Bad("minimax.finite_sum_game", "qs", lambda: mm.finite_sum_game(MS, np.full((3, 2), INF)), "inf qs"),
        Coerce("minimax.finite_sum_game", lambda: mm.finite_sum_game([[[1, 0], [0, 1]]], [[1, 2]])(jnp.ones(2)),
               lambda: mm.finite_sum_game(np.eye(2, dtype=np.float32)[None],
                                          np.array([[1.0, 2.0]], np.float32))(jnp.ones(2))),
        Bad("minimax.bilinear_game", "A", lambda: mm.bilinear_game(np.ones(3)), "1-D A"),
        Bad("minimax.bilinear_game", "A", lambda: mm.bilinear_game(np.array([[1.0, INF]])), "inf A"),
        Bad("minimax.bilinear_game", "A", lambda: mm.bilinear_game(None), "None A"),
        Bad("minimax.bilinear_game", "A", lambda: mm.bilinear_game(np.zeros((0, 2))), "empty A"),
        Bad("minimax.bilinear_game", "b", lambda: mm.bilinear_game(A, b=np.ones(3)), "b length"),
        Bad("minimax.bilinear_game", "b", lambda: mm.bilinear_game(A, b="b"), "string b"),
        Bad("minimax.bilinear_game", "c", lambda: mm.bilinear_game(A, c=np.array([NAN, 0.0])), "NaN c"),
        Coerce("minimax.bilinear_game", lambda: mm.bilinear_game(A_INT, [1, 0], [0, 1]).z_star,
               lambda: mm.bilinear_game(np.array(A_INT, np.float32), np.array([1.0, 0.0], np.float32),
                                        np.array([0.0, 1.0], np.float32)).z_star),
        Bad("minimax.quadratic_game", "Pxx", lambda: mm.quadratic_game(np.eye(3), A, np.eye(2)), "Pxx shape"),
        Bad("minimax.quadratic_game", "Pxy", lambda: mm.quadratic_game(np.eye(2), np.ones(2), np.eye(2)), "1-D Pxy"),
        Bad("minimax.quadratic_game", "Pyy", lambda: mm.quadratic_game(np.eye(2), A, np.full((2, 2), NAN)), "NaN"),
        Bad("minimax.quadratic_game", "Pxx", lambda: mm.quadratic_game("P", A, np.eye(2)), "string Pxx"),
        Bad("minimax.quadratic_game", "b", lambda: mm.quadratic_game(np.eye(2), A, np.eye(2), b=np.ones(5)), "b"),
        Coerce("minimax.quadratic_game", lambda: mm.quadratic_game([[1, 0], [0, 1]], A_INT, [[2, 0], [0, 2]]).z_star,
               lambda: mm.quadratic_game(np.eye(2, dtype=np.float32), np.array(A_INT, np.float32),
                                         2 * np.eye(2, dtype=np.float32)).z_star),
        Bad("minimax.rotation_operator", "a", lambda: mm.rotation_operator(NAN, 1.0), "NaN a"),
        Bad("minimax.rotation_operator", "a", lambda: mm.rotation_operator("a", 1.0), "string a"),
        Bad("minimax.rotation_operator", "b", lambda: mm.rotation_operator(0.1, INF), "inf b"),
        Bad("minimax.rotation_operator", "b", lambda: mm.rotation_operator(0.1, np.ones(2)), "array b"),
        Bad("minimax.rotation_operator", "a and b", lambda: mm.rotation_operator(0.0, 0.0), "both zero"),
        Coerce("minimax.rotation_operator", lambda: mm.rotation_operator(1, 2).M,
               lambda: mm.rotation_operator(1.0, 2.0).M),
        # ------------------------------------------------------------ comonotonicity / resolvent
        Bad("minimax.comonotonicity", "M", lambda: mm.comonotonicity(np.ones(3)), "1-D"),
        Bad("minimax.comonotonicity", "M", lambda: mm.comonotonicity(np.ones((2, 3))), "not square"),
        Bad("minimax.comonotonicity", "M", lambda: mm.comonotonicity(np.array([[NAN, 0], [0, 1]])), "NaN"),
        Bad("minimax.comonotonicity", "M", lambda: mm.comonotonicity(np.zeros((2, 2))), "zero matrix"),
        Bad("minimax.comonotonicity", "M", lambda: mm.comonotonicity(np.ones((2, 2))), "singular"),
        Bad("minimax.comonotonicity", "M", lambda: mm.comonotonicity("M"), "string"),
        Bad("minimax.comonotonicity", "M", lambda: mm.comonotonicity(np.zeros((0, 0))), "empty"),
        Bad("minimax.comonotonicity", "M",
            lambda: mm.comonotonicity(np.array([[1e-40, 2e-40], [-2e-40, 1e-40]], np.float32)), "overflowing rho"),
        Coerce("minimax.comonotonicity", lambda: mm.comonotonicity([[1, 2], [-2, 1]]),
               lambda: mm.comonotonicity(np.array([[1.0, 2.0], [-2.0, 1.0]], np.float32))),
        Bad("minimax.resolvent", "F", lambda: mm.resolvent("F", Z0, learning_rate=0.1), "F string"),
        Bad("minimax.resolvent", "z", lambda: mm.resolvent(G, np.ones(3), learning_rate=0.1), "z length"),
        Bad("minimax.resolvent", "z", lambda: mm.resolvent(G, np.array([NAN, 0, 0, 0]), learning_rate=0.1), "NaN z"),
        Bad("minimax.resolvent", "z", lambda: mm.resolvent(rot, None, learning_rate=0.1), "None z"),
        Bad("minimax.resolvent", "learning_rate", lambda: mm.resolvent(G, Z0, learning_rate=0.0), "zero learning_rate"),
        Bad("minimax.resolvent", "learning_rate", lambda: mm.resolvent(G, Z0, learning_rate="s"), "string learning_rate"),
        Bad("minimax.resolvent", "inner_num_steps", lambda: mm.resolvent(rot, np.ones(2), learning_rate=0.1, inner_num_steps=0), "zero"),
        Coerce("minimax.resolvent", lambda: mm.resolvent(G, [1, 1, 1, 1], learning_rate=1),
               lambda: mm.resolvent(G, np.ones(4, np.float32), learning_rate=1.0)),
        # ------------------------------------------------------------ Small-Gain Nash
        Bad("minimax.sgn_certificate", "J", lambda: mm.sgn_certificate(np.ones(2), np.ones(2)), "1-D J"),
        Bad("minimax.sgn_certificate", "J", lambda: mm.sgn_certificate(np.ones((2, 3)), np.ones(2)), "not square"),
        Bad("minimax.sgn_certificate", "J", lambda: mm.sgn_certificate(np.full((2, 2), INF), np.ones(2)), "inf"),
        Bad("minimax.sgn_certificate", "J", lambda: mm.sgn_certificate(None, np.ones(2)), "None"),
        Bad("minimax.sgn_certificate", "weights", lambda: mm.sgn_certificate(A, np.ones(3)), "length"),
        Bad("minimax.sgn_certificate", "weights", lambda: mm.sgn_certificate(A, np.array([1.0, 0.0])), "zero"),
        Bad("minimax.sgn_certificate", "weights", lambda: mm.sgn_certificate(A, np.array([1.0, -1.0])), "negative"),
        Bad("minimax.sgn_certificate", "weights", lambda: mm.sgn_certificate(A, np.array([1.0, NAN])), "NaN"),
        Bad("minimax.sgn_certificate", "weights", lambda: mm.sgn_certificate(A, "w"), "string"),
        Coerce("minimax.sgn_certificate", lambda: mm.sgn_certificate([[2, 1], [-1, 2]], [1, 2]),
               lambda: mm.sgn_certificate(np.array([[2.0, 1], [-1, 2]], np.float32), np.array([1.0, 2.0], np.float32))),
        Bad("minimax.sgn_band", "mu1", lambda: mm.sgn_band(0.0, 1.0, 0.1, 0.1), "zero mu1"),
        Bad("minimax.sgn_band", "mu2", lambda: mm.sgn_band(1.0, -1.0, 0.1, 0.1), "negative mu2"),
        Bad("minimax.sgn_band", "mu1", lambda: mm.sgn_band("1", 1.0, 0.1, 0.1), "string mu1"),
        Bad("minimax.sgn_band", "L12", lambda: mm.sgn_band(1.0, 1.0, -0.1, 0.1), "negative L12"),
        Bad("minimax.sgn_band", "L21", lambda: mm.sgn_band(1.0, 1.0, 0.1, NAN), "NaN L21"),
        Bad("minimax.sgn_band", "L12", lambda: mm.sgn_band(1.0, 1.0, NAN, 0.1, signed=True), "NaN signed L12"),
        Bad("minimax.sgn_band", "L21", lambda: mm.sgn_band(1.0, 1.0, 0.1, np.ones(2)), "array L21"),
        Bad("minimax.sgn_band", "band", lambda: mm.sgn_band(0.1, 0.1, 5.0, 5.0), "empty band"),
        Coerce("minimax.sgn_band", lambda: np.array(mm.sgn_band(1, 1, 0, 1)),
               lambda: np.array(mm.sgn_band(1.0, 1.0, 0.0, 1.0))),
        Bad("minimax.sgn_block_margin", "mu1", lambda: mm.sgn_block_margin(-1.0, 1.0, 0.1, 0.1, 1.0), "neg mu1"),
        Bad("minimax.sgn_block_margin", "mu2", lambda: mm.sgn_block_margin(1.0, 0.0, 0.1, 0.1, 1.0), "zero mu2"),
        Bad("minimax.sgn_block_margin", "L12", lambda: mm.sgn_block_margin(1.0, 1.0, -0.1, 0.1, 1.0), "neg L12"),
        Bad("minimax.sgn_block_margin", "L21", lambda: mm.sgn_block_margin(1.0, 1.0, 0.1, "x", 1.0), "str L21"),
        Bad("minimax.sgn_block_margin", "r", lambda: mm.sgn_block_margin(1.0, 1.0, 0.1, 0.1, 0.0), "zero r"),
        Bad("minimax.sgn_block_margin", "r", lambda: mm.sgn_block_margin(1.0, 1.0, 0.1, 0.1, [1.0, -1.0]), "neg r"),
        Bad("minimax.sgn_block_margin", "r", lambda: mm.sgn_block_margin(1.0, 1.0, 0.1, 0.1, NAN), "NaN r"),
        Coerce("minimax.sgn_block_margin", lambda: mm.sgn_block_margin(1, 2, 0, 1, [1, 2]),
               lambda: mm.sgn_block_margin(1.0, 2.0, 0.0, 1.0, np.array([1.0, 2.0], np.float32))),
        # ------------------------------------------------------------ fit_slope
        Bad("minimax.fit_slope", "k_min", lambda: mm.fit_slope(np.ones(50), 0, 10), "zero k_min"),
        Bad("minimax.fit_slope", "k_max", lambda: mm.fit_slope(np.ones(50), 10, 10), "k_max = k_min"),
        Bad("minimax.fit_slope", "k_max", lambda: mm.fit_slope(np.ones(50), 1, 60), "k_max too large"),
        Bad("minimax.fit_slope", "residuals", lambda: mm.fit_slope(np.zeros(50), 1, 10), "zero residuals"),
        Bad("minimax.fit_slope", "residuals", lambda: mm.fit_slope(np.full(50, NAN), 1, 10), "NaN residuals"),
        Bad("minimax.fit_slope", "residuals", lambda: mm.fit_slope("r", 1, 10), "string residuals"),
        Bad("minimax.fit_slope", "residuals", lambda: mm.fit_slope(1.0, 1, 10), "scalar residuals"),
        Bad("minimax.fit_slope", "k_min", lambda: mm.fit_slope(np.ones(50), 1.5, 10), "float k_min"),
        Coerce("minimax.fit_slope", lambda: mm.fit_slope(list(range(1, 51))[::-1], 1, 40),
               lambda: mm.fit_slope(np.arange(50, 0, -1, dtype=np.float32), 1, 40)),
    ]
)

EXEMPT = {
    "MinimaxOutput": "NamedTuple result type",
    "SGNCertificate": "NamedTuple result type",
}
