"""optlab.dynamics.recurrent: the unit's trajectory against a NumPy loop, backpropagation through
time against autodiff and a float64 NumPy adjoint, the vanishing-gradient bounds (and their
tight instance), the saddle-node against its defining equations, and the bottleneck wall against
a brute-force scan of the gradient."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optlab import dynamics as dy
from optlab.dynamics import recurrent


def states_np(w, b, x0, T):
    xs = [float(x0)]
    for _ in range(T):
        xs.append(w * np.tanh(xs[-1]) + b)
    return np.array(xs)


def bptt_np(w, b, x0, T):
    """Forward-mode derivatives in float64: the chain rule step by step, no adjoint."""
    x, dw, db, dx0 = float(x0), 0.0, 0.0, 1.0
    for _ in range(T):
        slope = w * (1 - np.tanh(x) ** 2)
        dw, db, dx0 = slope * dw + np.tanh(x), slope * db + 1.0, slope * dx0
        x = w * np.tanh(x) + b
    return x, dw, db, dx0


@settings(max_examples=25, deadline=None)
@given(
    w=st.floats(-3.0, 3.0),
    b=st.floats(-2.0, 2.0),
    x0=st.floats(-2.0, 2.0),
    T=st.sampled_from([1, 7, 30]),
)
def test_states_and_bptt_against_numpy(w, b, x0, T):
    xs = np.asarray(dy.recurrent_unit_states(w, b, x0, horizon=T))
    ref = states_np(w, b, x0, T)
    np.testing.assert_allclose(xs, ref, rtol=1e-5, atol=1e-5 * (1 + np.abs(ref).max()))
    got = dy.recurrent_unit_bptt(w, b, x0, horizon=T)
    want = bptt_np(w, b, x0, T)
    for g, r in zip(got, want):
        # float32 against float64: the derivatives can be large (|w| up to 3, T = 30), so relative
        assert abs(float(g) - r) <= 2e-4 * max(1.0, abs(r)), (got, want)


def test_bptt_equals_autodiff_float32_and_float64(x64):
    for dtype in (jnp.float32, jnp.float64):
        for w, b, x0 in [(2.0, -0.3, 2.0), (0.7, 0.4, -1.0), (3.0, -1.30, 1.5)]:
            p = jnp.array([w, b, x0], dtype)
            grads = jax.grad(lambda q: dy.recurrent_unit_states(q[0], q[1], q[2], horizon=40)[-1])(p)
            s = dy.recurrent_unit_bptt(p[0], p[1], p[2], horizon=40)
            assert s.final_state.dtype == dtype
            tol = 1e-5 if dtype == jnp.float32 else 1e-12
            np.testing.assert_allclose([s.d_weight, s.d_bias, s.d_initial], grads, rtol=tol,
                                       atol=tol * float(jnp.max(jnp.abs(grads))))


def test_vanishing_bounds_hold_and_are_attained_at_the_origin():
    for w in (-0.9, -0.5, 0.3, 0.8, 0.95):
        for b in (-1.0, 0.0, 0.7):
            for x0 in (-2.0, 0.0, 1.0):
                s = dy.recurrent_unit_bptt(w, b, x0, horizon=60)
                assert abs(float(s.d_initial)) <= abs(w) ** 60 * (1 + 1e-5) + 1e-38
                assert abs(float(s.d_bias)) <= (1 - abs(w) ** 60) / (1 - abs(w)) * (1 + 1e-5)
        # at b = 0, x0 = 0 the unit stays at 0, tanh' = 1: both bounds are equalities
        s = dy.recurrent_unit_bptt(w, 0.0, 0.0, horizon=60)
        assert float(s.d_bias) == pytest.approx((1 - w**60) / (1 - w), rel=1e-5)
        assert float(s.d_initial) == pytest.approx(w**60, rel=1e-4)


def test_saddle_node_is_a_tangency_and_separates_three_fixed_points_from_one():
    for w in (1.1, 1.5, 2.0, 3.0, 5.0):
        b, x = dy.saddle_node(w)
        assert w * np.tanh(x) + b == pytest.approx(x, abs=1e-12)  # a fixed point ...
        assert w * (1 - np.tanh(x) ** 2) == pytest.approx(1.0, abs=1e-12)  # ... where the map is tangent
        grid = np.linspace(-12, 12, 600001)  # the outer fixed points lie near ±(w + |b|)

        def n_fixed(bias):
            g = w * np.tanh(grid) + bias - grid
            return int(np.sum(np.sign(g[1:]) != np.sign(g[:-1])))

        assert n_fixed(b + 1e-3) == 3 and n_fixed(b - 1e-3) == 1
        assert n_fixed(-b - 1e-3) == 3 and n_fixed(-b + 1e-3) == 1  # the mirror image


def test_bottleneck_wall_locates_the_largest_gradient():
    """The wall predicted by the passage time π/√(aε) against a brute-force scan of ∂x_T/∂b; the
    estimate is asymptotic, so the agreement improves with T (measured 0.97 → 0.99 of the shift)."""
    x0 = 2.0
    ratios = {}
    for T in (50, 200):
        for w in (1.5, 3.0):
            b_c, _ = dy.saddle_node(w)
            wall = dy.bottleneck_wall(w, horizon=T)
            shift = b_c - wall
            bs = jnp.linspace(b_c - 3 * shift, b_c, 6001)
            d_b = jax.vmap(lambda b, w=w, T=T: dy.recurrent_unit_bptt(w, b, x0, horizon=T).d_bias)(bs)
            found = float(bs[int(jnp.argmax(jnp.abs(d_b)))])
            ratios[T, w] = (b_c - found) / shift
    assert all(0.9 < r < 1.03 for r in ratios.values()), ratios
    assert ratios[200, 1.5] > ratios[50, 1.5] and ratios[200, 3.0] > ratios[50, 3.0]


def test_compiles_once_per_horizon():
    dy.recurrent_unit_bptt(2.0, 0.1, 0.5, horizon=17)
    size = recurrent._bptt._cache_size()
    dy.recurrent_unit_bptt(1.3, -0.4, 1.5, horizon=17)
    dy.recurrent_unit_bptt(jnp.float32(0.3), jnp.float32(0.2), jnp.float32(-1.0), horizon=17)
    assert recurrent._bptt._cache_size() == size


def test_errors_name_the_argument():
    with pytest.raises(ValueError, match="weight"):
        dy.recurrent_unit_bptt(float("nan"), 0.0, 0.0, horizon=3)
    with pytest.raises(ValueError, match="bias"):
        dy.recurrent_unit_states(1.0, [0.0, 1.0], 0.0, horizon=3)
    with pytest.raises(TypeError, match="x0"):
        dy.recurrent_unit_states(1.0, 0.0, "a", horizon=3)
    with pytest.raises(ValueError, match="horizon"):
        dy.recurrent_unit_bptt(1.0, 0.0, 0.0, horizon=0)
    with pytest.raises(ValueError, match="weight must be greater than 1"):
        dy.saddle_node(1.0)
    with pytest.raises(ValueError, match="horizon"):
        dy.bottleneck_wall(2.0, horizon=-1)
