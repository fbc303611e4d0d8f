"""optlab.distributed against references: plain GD / EG (what every method must reduce to
without compression), numpy Top-k, Monte-Carlo moments of Rand-k, dense solves for the
solution, and an 8-device run in a subprocess that must match the 1-device run."""

import os
import subprocess
import time
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from optlab import distributed as D
from optlab.viz import distributed as vd

# The problems are built per test (cheap), in the dtype the test runs in: float32 by
# default, float64 where a test requests the ``x64`` fixture (listed before them).


@pytest.fixture
def quad():
    return D.heterogeneous_quadratics(key=jax.random.key(0), num_workers=4, dim=30)


@pytest.fixture
def game():
    return D.distributed_bilinear_game(key=jax.random.key(0), num_workers=4, dim=10, reg=0.3)


def gd_reference(pb, step, T):
    B, q = np.asarray(pb.B), np.asarray(pb.q)
    Bbar, qbar = B.mean(0), q.mean(0)
    x = np.zeros(pb.dim)
    xs = [x]
    for _ in range(T):
        x = x - step * (Bbar @ x - qbar)
        xs.append(x)
    return np.array(xs)


def eg_reference(pb, step, T):
    Bbar, qbar = np.asarray(pb.B).mean(0), np.asarray(pb.q).mean(0)
    z = np.zeros(pb.dim)
    for _ in range(T):
        h = z - step * (Bbar @ z - qbar)
        z = z - step * (Bbar @ h - qbar)
    return z


# ----------------------------------------------------------------------------- compressors

@settings(max_examples=25, deadline=None)
@given(arrays(np.float32, st.integers(3, 40), elements=st.floats(-1e3, 1e3, allow_nan=False, width=32)),
       st.integers(1, 45))
def test_top_k_is_contractive_and_keeps_the_largest(v, k):
    c = np.asarray(D.TopK(k)(jnp.asarray(v)))           # k > d keeps everything
    kk = min(k, len(v))
    assert c.dtype == np.float32
    assert np.count_nonzero(c) <= kk
    assert np.all((c == 0) | (c == v))
    # the kept magnitudes are the k largest (ties may pick any index)
    np.testing.assert_array_equal(np.sort(np.abs(c))[::-1][:kk], np.sort(np.abs(v))[::-1][:kk])
    alpha = D.TopK(k).contraction(len(v))
    # Exact in real arithmetic, with equality for an all-equal vector: compare in float64
    # with a tolerance relative to the magnitudes (the sums round at ~1e-16 relative).
    v64, c64 = v.astype(np.float64), c.astype(np.float64)
    lhs, rhs = np.sum((c64 - v64) ** 2), (1 - alpha) * np.sum(v64 ** 2)
    assert lhs <= rhs + 1e-12 * np.sum(v64 ** 2)


@pytest.mark.parametrize("value", [1.0, 2000.0, 1e-3])
def test_top_k_bound_is_met_with_equality_by_an_all_equal_vector(value):
    """The case that made the old absolute tolerance (1e-9 on ~4e6) flaky."""
    v = np.full(40, value, np.float32)
    c = np.asarray(D.TopK(7)(v), dtype=np.float64)
    lhs = np.sum((c - value) ** 2)
    rhs = (1 - 7 / 40) * np.sum(np.full(40, value, np.float64) ** 2)
    assert lhs == pytest.approx(rhs, rel=1e-12)
    assert lhs <= rhs * (1 + 1e-12)


def test_rand_k_unbiased_with_variance_omega():
    d, k = 20, 4
    v = jnp.asarray(np.random.default_rng(0).standard_normal(d))
    keys = jax.random.split(jax.random.key(0), 20000)
    cs = jax.vmap(lambda key: D.RandK(k)(v, key))(keys)
    assert int(jnp.max(jnp.sum(cs != 0, axis=1))) == k
    se = np.std(np.asarray(cs, np.float64), axis=0) / np.sqrt(len(keys))
    mean = np.asarray(cs, np.float64).mean(0)
    np.testing.assert_array_less(np.abs(mean - np.asarray(v, np.float64)), 5 * se + 1e-6 * np.abs(v))
    omega = D.RandK(k).omega(d)
    var = float(jnp.mean(jnp.sum((cs - v) ** 2, axis=1)))
    assert var == pytest.approx(omega * float(v @ v), rel=0.05)
    unscaled = jax.vmap(lambda key: D.RandK(k, scaled=False)(v, key))(keys)
    err = float(jnp.mean(jnp.sum((unscaled - v) ** 2, axis=1)))
    assert err == pytest.approx((1 - k / d) * float(v @ v), rel=0.05)


# ----------------------------------------------------------------------------- problems

def test_problem_solution_and_constants_against_dense_linear_algebra(x64, quad, game):
    for pb in (quad, game):
        Bbar, qbar = np.asarray(pb.B).mean(0), np.asarray(pb.q).mean(0)
        np.testing.assert_allclose(Bbar @ np.asarray(pb.z_star), qbar, atol=1e-9)
        np.testing.assert_allclose(np.asarray(pb.operator(pb.z_star)), 0, atol=1e-9)
        assert pb.L == pytest.approx(np.linalg.svd(Bbar, compute_uv=False)[0])
    # f(x) - f* for the quadratic equals the suboptimality metric
    Bbar, qbar = np.asarray(quad.B).mean(0), np.asarray(quad.q).mean(0)
    f = lambda x: 0.5 * x @ Bbar @ x - qbar @ x
    x = np.random.default_rng(1).standard_normal(quad.dim)
    assert float(quad.suboptimality(jnp.asarray(x))) == pytest.approx(f(x) - f(np.asarray(quad.z_star)), rel=1e-9)
    # heterogeneity: each worker's gradient at x* is far from zero
    g_m = np.einsum("mij,j->mi", np.asarray(quad.B), np.asarray(quad.z_star)) - np.asarray(quad.q)
    assert np.min(np.linalg.norm(g_m, axis=1)) > 1.0
    # the game's symmetric part is reg * I
    assert game.mu == pytest.approx(0.3)


# ----------------------------------------------------------------------------- methods = GD / EG without compression

@pytest.mark.parametrize("method", ["naive", "ef14", "ef21", "econtrol"])
def test_without_compression_every_method_is_gradient_descent(x64, quad, method):
    step, T = 0.7, 40
    tr = D.run_compressed(method, quad, D.Identity(), learning_rate=step, num_steps=T, feedback_strength=0.3)
    xs = gd_reference(quad, step, T)
    np.testing.assert_allclose(np.asarray(tr.params), xs[-1], rtol=1e-9, atol=1e-9)
    ref = [0.5 * (x - quad.z_star) @ np.asarray(quad.B).mean(0) @ (x - quad.z_star) for x in xs]
    np.testing.assert_allclose(np.asarray(tr.suboptimalities), ref, rtol=1e-8, atol=1e-12)


def test_masha1_with_tau_one_and_no_compression_is_extragradient(x64, game):
    step, T = 0.4, 30
    ref = eg_reference(game, step, T)
    for method, kw in (("eg", {}), ("masha1", {"tau": 1.0})):
        tr = D.run_compressed(method, game, D.Identity(), learning_rate=step, num_steps=T, **kw)
        np.testing.assert_allclose(np.asarray(tr.params), ref, rtol=1e-9, atol=1e-9)


def masha1_reference(pb, step, p, coins, T):
    """MASHA1 as in the algorithm box of Beznosikov et al. (2022), without compression
    (Identity), written with the paper's τ = 1 - p: z̄ = τ z + (1 - τ) w, and w ← z⁺ on the
    rounds whose coin (probability p = 1 - τ) came up."""
    Bbar, qbar = np.asarray(pb.B).mean(0), np.asarray(pb.q).mean(0)
    F = lambda v: Bbar @ v - qbar  # noqa: E731
    tau_paper = 1.0 - p
    z = w = np.zeros(pb.dim)
    for t in range(T):
        zbar = tau_paper * z + (1 - tau_paper) * w
        half = zbar - step * F(w)
        z = zbar - step * (F(w) + F(half) - F(w))
        if coins[t]:
            w = z
    return z


def test_masha1_anchor_weight_is_one_minus_the_refresh_probability(x64, game):
    # the library's tau is the refresh probability p; the anchor puts 1 - p on z (the paper's τ).
    # Pairing the anchor weight with p itself (z̄ = p z + (1 - p) w) is a different method.
    step, p, T = 0.4, 0.2, 40
    key = jax.random.key(3)
    coins = np.asarray(jax.random.bernoulli(jax.random.fold_in(key, 2), p, (T,)))
    assert 0 < coins.sum() < T  # both branches occur
    tr = D.run_compressed("masha1", game, D.Identity(), learning_rate=step, num_steps=T, tau=p, key=key)
    np.testing.assert_allclose(np.asarray(tr.params), masha1_reference(game, step, p, coins, T),
                               rtol=1e-10, atol=1e-12)
    wrong = masha1_reference(game, step, 1.0 - p, coins, T)  # anchor weight p on z
    assert np.linalg.norm(np.asarray(tr.params) - wrong) > 1e-3


# ----------------------------------------------------------------------------- the chapter's claims

def test_naive_top_k_stalls_while_ef21_and_econtrol_converge(x64):
    pb = D.heterogeneous_quadratics(key=jax.random.key(0), num_workers=8, dim=100)
    C = D.TopK(5)
    naive = D.run_compressed("naive", pb, C, learning_rate=0.5, num_steps=3000)
    ef14 = D.run_compressed("ef14", pb, C, learning_rate=0.1, num_steps=3000)
    ef21 = D.run_compressed("ef21", pb, C, learning_rate=0.5, num_steps=3000)
    econ = D.run_compressed("econtrol", pb, C, learning_rate=0.5, num_steps=3000, feedback_strength=0.05)
    assert float(naive.suboptimalities[-1]) > 1.0 and not bool(naive.converged)
    assert float(ef14.suboptimalities[-1]) > 1e-3
    assert bool(ef21.converged) and float(ef21.suboptimalities[-1]) < 1e-8
    assert int(ef21.n_iters) == 3000  # no early stop: every round runs
    assert bool(econ.converged) and float(econ.suboptimalities[-1]) < 1e-8
    # floats: M workers × k per round, plus the uncompressed initial h_m = ∇f_m(x0) for EF21
    assert float(naive.floats[-1]) == 8 * 5 * 3000
    assert float(ef21.floats[-1]) == 8 * 100 + 8 * 5 * 3000
    np.testing.assert_array_equal(np.diff(np.asarray(ef21.floats)), 8 * 5)


def test_masha1_converges_where_naive_compressed_eg_stalls(x64, game):
    C = D.RandK(4)
    naive = D.run_compressed("naive_eg", game, C, learning_rate=0.05, num_steps=3000, key=jax.random.key(1))
    masha = D.run_compressed("masha1", game, C, learning_rate=0.3, num_steps=3000, tau=0.2, key=jax.random.key(1))
    d0 = float(masha.distances[0])
    assert float(masha.distances[-1]) < 1e-10 * d0
    assert float(naive.distances[-1]) > 1e-4 * d0
    # floats: k per worker and round, plus d per worker at each refresh of w (and at the start)
    refreshes = (float(masha.floats[-1]) - 4 * game.dim - 3000 * 4 * 4) / (4 * game.dim)
    assert refreshes == int(refreshes) and 0.1 * 3000 < refreshes < 0.3 * 3000


def test_same_numbers_twice(game):
    a = D.run_compressed("masha1", game, D.RandK(3), learning_rate=0.2, num_steps=200, tau=0.3, key=jax.random.key(5))
    b = D.run_compressed("masha1", game, D.RandK(3), learning_rate=0.2, num_steps=200, tau=0.3, key=jax.random.key(5))
    np.testing.assert_array_equal(np.asarray(a.distances), np.asarray(b.distances))
    np.testing.assert_array_equal(np.asarray(a.floats), np.asarray(b.floats))


MULTI_DEVICE = textwrap.dedent("""
    import os, sys
    # force the CPU platform with 8 host devices, whatever accelerator the machine has
    os.environ["JAX_PLATFORMS"] = "cpu"
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=8").strip()
    import jax
    jax.config.update("jax_enable_x64", True)
    import numpy as np
    from optlab import distributed as D
    cpus = jax.devices("cpu")
    assert len(cpus) == 8 and jax.default_backend() == "cpu", (jax.default_backend(), cpus)
    pb = D.heterogeneous_quadratics(key=jax.random.key(0), num_workers=8, dim=30)
    mesh = D.worker_mesh(8, cpus)
    assert mesh.devices.size == 8
    out = {}
    for method, C in (("ef21", D.TopK(3)), ("econtrol", D.TopK(3)), ("naive", D.RandK(3)), ("ef14", D.LowRank(2, 5))):
        out[method] = np.asarray(D.run_compressed(method, pb, C, learning_rate=0.5, num_steps=200,
                                                  feedback_strength=0.05, mesh=mesh).suboptimalities)
    np.savez(sys.argv[1], **out)
""")


def test_eight_host_devices_give_the_same_iterates_as_one(x64, tmp_path):
    path = tmp_path / "multi.npz"
    flags = os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=8"
    env = {**os.environ, "JAX_PLATFORMS": "cpu", "XLA_FLAGS": flags.strip()}
    subprocess.run([sys.executable, "-c", MULTI_DEVICE, str(path)], check=True, env=env, timeout=300)
    multi = np.load(path)
    pb = D.heterogeneous_quadratics(key=jax.random.key(0), num_workers=8, dim=30)
    # compare with one CPU device (this process may run on a GPU by default)
    one = jax.sharding.Mesh(np.array(jax.devices("cpu")[:1]), ("workers",))
    for method, C in (("ef21", D.TopK(3)), ("econtrol", D.TopK(3)), ("naive", D.RandK(3)), ("ef14", D.LowRank(2, 5))):
        single = np.asarray(D.run_compressed(method, pb, C, learning_rate=0.5, num_steps=200,
                                             feedback_strength=0.05, mesh=one).suboptimalities)
        np.testing.assert_allclose(multi[method], single, rtol=1e-9, atol=1e-12)


# ----------------------------------------------------------------------------- errors

def test_bad_input_is_rejected_before_compute(quad):
    with pytest.raises(ValueError, match="unknown method"):
        D.run_compressed("ef42", quad, D.TopK(2), learning_rate=0.1, num_steps=10)
    with pytest.raises(ValueError, match="learning_rate must be positive"):
        D.run_compressed("ef21", quad, D.TopK(2), learning_rate=0.0, num_steps=10)
    with pytest.raises(ValueError, match="num_steps"):
        D.run_compressed("ef21", quad, D.TopK(2), learning_rate=0.1, num_steps=0)
    with pytest.raises(ValueError, match="feedback_strength must be positive"):
        D.run_compressed("econtrol", quad, D.TopK(2), learning_rate=0.1, num_steps=10, feedback_strength=-1.0)
    with pytest.raises(ValueError, match="unbiased compressor"):
        D.run_compressed("masha1", quad, D.TopK(2), learning_rate=0.1, num_steps=10)
    with pytest.raises(ValueError, match="tau must lie in"):
        D.run_compressed("masha1", quad, D.RandK(2), learning_rate=0.1, num_steps=10, tau=0.0)
    with pytest.raises(ValueError, match="x0 must have shape"):
        D.run_compressed("ef21", quad, D.TopK(2), learning_rate=0.1, num_steps=10, x0=jnp.zeros(3))
    with pytest.raises(ValueError, match="x0 contains 30 NaN"):
        D.run_compressed("ef21", quad, D.TopK(2), learning_rate=0.1, num_steps=10, x0=jnp.full(quad.dim, jnp.nan))
    with pytest.raises(TypeError, match="compressor must be"):
        D.run_compressed("ef21", quad, lambda v: v, learning_rate=0.1, num_steps=10)
    with pytest.raises(ValueError, match="k must be"):
        D.TopK(0)
    with pytest.raises(TypeError, match="needs a PRNG key"):
        D.RandK(2)(jnp.ones(5))
    with pytest.raises(ValueError, match="strongly monotone"):
        D.problems._make_problem(np.zeros((2, 3, 3)), np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"shape \(M, n, n\)"):
        D.problems._make_problem(np.zeros((2, 3, 4)), np.ones((2, 3)))
    with pytest.raises(ValueError, match="q contains 6 NaN"):
        D.problems._make_problem(np.stack([np.eye(3)] * 2), np.full((2, 3), np.nan))
    with pytest.raises(ValueError, match="spectrum"):
        D.heterogeneous_quadratics(key=jax.random.key(0), num_workers=2, dim=3, spectrum=(1.0, 0.5))


# ----------------------------------------------------------------------------- figures

def test_figures(quad):
    traces = {m: D.run_compressed(m, quad, D.TopK(3), learning_rate=0.5, num_steps=50, feedback_strength=0.05) for m in ("naive", "ef21")}
    fig = vd.rounds_or_floats(traces)
    assert len(fig.data) == 4 and [t.visible for t in fig.data] == [True, True, False, False]
    np.testing.assert_array_equal(fig.data[3].x, np.asarray(traces["ef21"].floats))
    steps = fig.layout.sliders[0].steps
    assert steps[1].args[0]["visible"] == [False, False, True, True]
    v = jnp.linspace(-1, 1, 10)
    comp = {"Top-k": np.stack([np.asarray(D.TopK(k)(v)) for k in (1, 3)])}
    fig2 = vd.compressor_slider(v, comp, [1, 3])
    assert len(fig2.data) == 3 and len(fig2.layout.sliders[0].steps) == 2
    with pytest.raises(ValueError, match="must have shape"):
        vd.compressor_slider(v, {"x": np.zeros((3, 10))}, [1, 3])
    with pytest.raises(ValueError, match="at least one"):
        vd.rounds_or_floats({})


# ----------------------------------------------------------------------------- float32, compilation, GPU parity

@pytest.mark.parametrize("method", ["naive", "ef21", "econtrol"])
def test_float32_without_compression_is_gradient_descent(quad, method):
    step, T = 0.7, 40
    tr = D.run_compressed(method, quad, D.Identity(), learning_rate=step, num_steps=T, feedback_strength=0.3)
    assert tr.params.dtype == jnp.float32
    xs = gd_reference(quad, step, T)                       # float64 NumPy on the float32 data
    scale = np.max(np.abs(xs[-1]))
    # measured: <= 1.2e-7 relative to max|x| (float32 rounding over 40 steps)
    np.testing.assert_allclose(np.asarray(tr.params), xs[-1], atol=1e-6 * scale)


def test_float32_ef21_converges_to_rounding_level():
    pb = D.heterogeneous_quadratics(key=jax.random.key(0), num_workers=8, dim=100)
    ef21 = D.run_compressed("ef21", pb, D.TopK(5), learning_rate=0.5, num_steps=3000)
    naive = D.run_compressed("naive", pb, D.TopK(5), learning_rate=0.5, num_steps=3000)
    s0 = float(ef21.suboptimalities[0])
    # measured in float32: ef21 reaches 1e-14 * s0, naive Top-k stalls at 0.8 * s0
    assert float(ef21.suboptimalities[-1]) < 1e-12 * s0
    assert float(naive.suboptimalities[-1]) > 0.1 * s0


def test_run_compressed_compiles_once_per_configuration(quad):
    C = D.TopK(3)
    t = time.perf_counter()
    D.run_compressed("ef21", quad, C, learning_rate=0.5, num_steps=37).params.block_until_ready()
    cold = time.perf_counter() - t
    n = D.compressed_methods._run_compiled._cache_size()
    other = D.heterogeneous_quadratics(key=jax.random.key(1), num_workers=4, dim=30)
    t = time.perf_counter()
    D.run_compressed("ef21", other, D.TopK(3), learning_rate=0.3, num_steps=37, x0=jnp.ones(30)).params.block_until_ready()
    warm = time.perf_counter() - t
    assert D.compressed_methods._run_compiled._cache_size() == n
    print(f"distributed.run_compressed cold {cold:.3f} s, warm {warm:.4f} s")


def test_validation_of_every_argument(quad):
    with pytest.raises(TypeError, match="key must be a JAX PRNG key"):
        D.run_compressed("naive", quad, D.RandK(2), learning_rate=0.1, num_steps=5, key=0)
    with pytest.raises(TypeError, match="learning_rate must be numeric"):
        D.run_compressed("naive", quad, D.TopK(2), learning_rate="0.1", num_steps=5)
    with pytest.raises(ValueError, match="tol must be positive"):
        D.run_compressed("naive", quad, D.TopK(2), learning_rate=0.1, num_steps=5, tol=0.0)
    with pytest.raises(TypeError, match="mesh must be"):
        D.run_compressed("naive", quad, D.TopK(2), learning_rate=0.1, num_steps=5, mesh="cpu")
    with pytest.raises(TypeError, match="key must be a JAX PRNG key"):
        D.heterogeneous_quadratics(key=0)
    with pytest.raises(ValueError, match="a single PRNG key"):
        D.distributed_bilinear_game(key=jax.random.split(jax.random.key(0), 2))
    with pytest.raises(ValueError, match="unknown method"):
        D.communication_per_round("ef42", D.TopK(2), 10, 4)
    with pytest.raises(ValueError, match="v must be a 1-D array"):
        D.TopK(2)(jnp.ones((2, 3)))
    # lists and integer arrays are converted
    z_int = D.run_compressed("naive", quad, D.Identity(), learning_rate=0.1, num_steps=5, x0=list(range(30))).params
    z_float = D.run_compressed("naive", quad, D.Identity(), learning_rate=0.1, num_steps=5, x0=np.arange(30.0)).params
    np.testing.assert_array_equal(z_int, z_float)


# ----------------------------------------------------------------------------- PowerSGD

def gram_schmidt(P):
    """The orthogonalisation of the PowerSGD paper (Gram-Schmidt on the columns)."""
    P = P.copy()
    for i in range(P.shape[1]):
        for j in range(i):
            P[:, i] -= (P[:, j] @ P[:, i]) * P[:, j]
        P[:, i] /= np.linalg.norm(P[:, i])
    return P


def powersgd_reference(pb, rank, rows, step, T, Q0, error_feedback):
    """Vogels, Karimireddy and Jaggi (2019), Algorithms 1 and 2 without momentum, in NumPy, as
    the authors' code writes it: Δ_w = γ g_w + e_w; P = mean_w Δ_w Q; P̂ = GS(P);
    Q = mean_w Δ_wᵀ P̂; Δ' = P̂ Qᵀ; e_w = Δ_w - Δ' (the *aggregated* decompression); x -= Δ'."""
    B, q = np.asarray(pb.B, np.float64), np.asarray(pb.q, np.float64)
    M, n = q.shape
    x, e, Q = np.zeros(n), np.zeros((M, n)), np.asarray(Q0, np.float64)
    subs = []
    for _ in range(T):
        g = np.einsum("mij,j->mi", B, x) - q
        delta = step * g + (e if error_feedback else 0)
        mats = delta.reshape(M, rows, -1)
        P_hat = gram_schmidt(np.mean(mats @ Q, axis=0))
        Q = np.mean(np.transpose(mats, (0, 2, 1)) @ P_hat, axis=0)
        update = (P_hat @ Q.T).ravel()
        if error_feedback:
            e = delta - update
        x = x - update
        err = x - np.asarray(pb.z_star, np.float64)
        subs.append(0.5 * err @ B.mean(0) @ err)
    return x, np.array(subs)


def first_q(pb, C, key):
    return jax.random.normal(jax.random.fold_in(key, 3), (pb.dim // C.rows, C.rank), pb.B.dtype)


@pytest.mark.parametrize("method", ["naive", "ef14"])
def test_powersgd_matches_the_papers_algorithm(x64, quad, method):
    # the library's per-worker error e_w = Δ_w - P̂P̂ᵀΔ_w differs from the reference code's
    # e_w = Δ_w - P̂Qᵀ, but their means agree and P, Q only see the means: same iterates
    C, step, T, key = D.LowRank(2, 5), 0.3, 60, jax.random.key(4)
    tr = D.run_compressed(method, quad, C, learning_rate=step, num_steps=T, key=key)
    x, subs = powersgd_reference(quad, 2, 5, step, T, first_q(quad, C, key), method == "ef14")
    np.testing.assert_allclose(np.asarray(tr.params), x, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(np.asarray(tr.suboptimalities[1:]), subs, rtol=1e-8, atol=1e-14)
    # r (rows + cols) floats per worker and round, no initial exchange
    np.testing.assert_array_equal(np.asarray(tr.floats), 4 * 2 * (5 + 6) * np.arange(T + 1))


@pytest.mark.parametrize("method", ["naive", "ef14"])
def test_powersgd_float32_against_the_float64_reference(quad, method):
    C, step, T, key = D.LowRank(2, 5), 0.3, 20, jax.random.key(4)
    tr = D.run_compressed(method, quad, C, learning_rate=step, num_steps=T, key=key)
    assert tr.params.dtype == jnp.float32
    x, _ = powersgd_reference(quad, 2, 5, step, T, first_q(quad, C, key), method == "ef14")
    # measured over problem keys 0-2, 20 rounds: max error / max|x| <= 4.4e-7 without error
    # feedback, <= 2.0e-6 with it (the error memory makes the power step's subspace sensitive
    # to rounding: after 60 rounds it reaches 1.2e-4, so the test stops at 20)
    np.testing.assert_allclose(np.asarray(tr.params), x, atol=2e-5 * np.max(np.abs(x)))


def test_low_rank_compressor_alone(x64):
    v = jnp.asarray(np.random.default_rng(2).standard_normal(24))
    key = jax.random.key(7)
    c = np.asarray(D.LowRank(2, 4)(v, key))
    M = np.asarray(v).reshape(4, 6)
    Q = np.asarray(jax.random.normal(key, (6, 2), jnp.float64))
    P_hat = gram_schmidt(M @ Q)
    np.testing.assert_allclose(c, (P_hat @ P_hat.T @ M).ravel(), rtol=1e-10, atol=1e-12)
    assert np.linalg.matrix_rank(c.reshape(4, 6)) == 2
    # full rank min(rows, cols) loses nothing
    np.testing.assert_allclose(np.asarray(D.LowRank(4, 4)(v, key)), np.asarray(v), atol=1e-12)
    assert D.LowRank(2, 4).floats(24) == 2 * (4 + 6)
    assert D.communication_per_round("ef14", D.LowRank(2, 4), 24, 8) == 8 * 2 * 10


def test_powersgd_keeps_the_optimum_without_error_feedback(x64, quad):
    # the all-reduced compressor sees the average gradient, which vanishes at x*
    tr = D.run_compressed("naive", quad, D.LowRank(1, 5), learning_rate=0.5, num_steps=20, x0=quad.z_star)
    assert float(np.max(np.asarray(tr.distances))) < 1e-20
    tk = D.run_compressed("naive", quad, D.TopK(2), learning_rate=0.5, num_steps=20, x0=quad.z_star)
    assert float(tk.distances[-1]) > 1e-3  # Top-k of each worker's gradient does not


def test_powersgd_refuses_other_methods_and_bad_shapes(quad):
    with pytest.raises(ValueError, match="'naive' .* or 'ef14'"):
        D.run_compressed("ef21", quad, D.LowRank(1, 5), learning_rate=0.1, num_steps=3)
    with pytest.raises(ValueError, match="rows must divide"):
        D.run_compressed("ef14", quad, D.LowRank(1, 7), learning_rate=0.1, num_steps=3)
    with pytest.raises(ValueError, match="rank must be at most"):
        D.run_compressed("ef14", quad, D.LowRank(6, 5), learning_rate=0.1, num_steps=3)


# ----------------------------------------------------------------------------- FedAvg

@pytest.fixture
def clients():
    return D.heterogeneous_least_squares(key=jax.random.key(0), num_workers=6, dim=8, num_samples=20)


def fedavg_reference(pb, step, K, T):
    B, q = np.asarray(pb.B, np.float64), np.asarray(pb.q, np.float64)
    x = np.zeros(pb.dim)
    for _ in range(T):
        locals_ = []
        for Bm, qm in zip(B, q, strict=True):
            y = x.copy()
            for _ in range(K):
                y = y - step * (Bm @ y - qm)
            locals_.append(y)
        x = np.mean(locals_, axis=0)
    return x


def fixed_point_reference(pb, step, K):
    """x̄ = (Σ_m (I - T_m^K))⁻¹ Σ_m S_m q_m with S_m = γ Σ_{j<K} T_m^j, by matrix powers."""
    B, q = np.asarray(pb.B, np.float64), np.asarray(pb.q, np.float64)
    eye = np.eye(pb.dim)
    T = [eye - step * b for b in B]
    S = [step * sum(np.linalg.matrix_power(t, j) for j in range(K)) for t in T]
    lhs = sum(eye - np.linalg.matrix_power(t, K) for t in T)
    return np.linalg.solve(lhs, sum(s @ qm for s, qm in zip(S, q, strict=True)))


@pytest.mark.parametrize("K", [1, 3, 10])
def test_fedavg_against_numpy_and_its_closed_form_fixed_point(x64, clients, K):
    step = 0.1
    tr = D.fedavg(clients, learning_rate=step, local_num_steps=K, num_steps=25)
    ref = fedavg_reference(clients, step, K, 25)
    np.testing.assert_allclose(np.asarray(tr.params), ref, rtol=1e-11, atol=1e-12)
    assert tr.iterates.shape == (26, clients.dim)
    xbar = np.asarray(D.fedavg_fixed_point(clients, learning_rate=step, local_num_steps=K))
    np.testing.assert_allclose(xbar, fixed_point_reference(clients, step, K), rtol=1e-10, atol=1e-12)
    long = D.fedavg(clients, learning_rate=step, local_num_steps=K, num_steps=3000)
    np.testing.assert_allclose(np.asarray(long.params), xbar, atol=1e-10)
    assert bool(long.converged)
    drift = np.linalg.norm(xbar - np.asarray(clients.z_star))
    assert drift < 1e-10 if K == 1 else drift > 1e-2  # K = 1 is GD: no drift


def test_fedavg_drift_grows_with_K_and_linearly_with_heterogeneity(x64):
    drifts = {}
    for zeta in (0.0, 0.5, 1.0):
        pb = D.heterogeneous_least_squares(key=jax.random.key(1), heterogeneity=zeta)
        drifts[zeta] = [
            float(np.linalg.norm(D.fedavg_fixed_point(pb, learning_rate=0.1, local_num_steps=K) - pb.z_star))
            for K in (1, 2, 5, 20)
        ]
    assert max(drifts[0.0]) < 1e-12
    np.testing.assert_allclose(drifts[1.0], 2 * np.asarray(drifts[0.5]), rtol=1e-8, atol=1e-13)
    assert np.all(np.diff(drifts[1.0]) > 0)
    # K → ∞: the average of the clients' optima
    pb = D.heterogeneous_least_squares(key=jax.random.key(1), heterogeneity=1.0)
    x_m = np.linalg.solve(np.asarray(pb.B), np.asarray(pb.q)[..., None])[..., 0]
    far = np.asarray(D.fedavg_fixed_point(pb, learning_rate=0.1, local_num_steps=5000))
    np.testing.assert_allclose(far, x_m.mean(0), atol=1e-9)


def test_fedavg_float32(clients):
    tr = D.fedavg(clients, learning_rate=0.1, local_num_steps=5, num_steps=300)
    xbar = D.fedavg_fixed_point(clients, learning_rate=0.1, local_num_steps=5)
    assert tr.params.dtype == jnp.float32 and xbar.dtype == jnp.float32
    with jax.enable_x64(True):
        pb64 = D.heterogeneous_least_squares(key=jax.random.key(0), num_workers=6, dim=8, num_samples=20)
        ref = fixed_point_reference(pb64, 0.1, 5)
    scale = np.max(np.abs(ref))
    # measured over keys 0-2: run <= 4.5e-7 and closed form <= 3.9e-7 of max|x̄| from the float64 fixed point
    np.testing.assert_allclose(np.asarray(tr.params), ref, atol=1e-5 * scale)
    np.testing.assert_allclose(np.asarray(xbar), ref, atol=1e-5 * scale)


def test_fedavg_compiles_once_per_shape(clients):
    D.fedavg(clients, learning_rate=0.1, local_num_steps=3, num_steps=17).params.block_until_ready()
    n = D.federated_averaging._fedavg_compiled._cache_size()
    other = D.heterogeneous_least_squares(
        key=jax.random.key(5), num_workers=6, dim=8, num_samples=20, heterogeneity=2.0
    )
    new = D.fedavg(other, learning_rate=0.05, local_num_steps=9, num_steps=17, x0=jnp.ones(8))
    new.params.block_until_ready()
    assert D.federated_averaging._fedavg_compiled._cache_size() == n
    D.fedavg_fixed_point(clients, learning_rate=0.1, local_num_steps=3)
    m = D.federated_averaging._fixed_point_compiled._cache_size()
    D.fedavg_fixed_point(other, learning_rate=0.2, local_num_steps=30)
    assert D.federated_averaging._fixed_point_compiled._cache_size() == m


def test_fedavg_errors(clients):
    with pytest.raises(ValueError, match="local_num_steps"):
        D.fedavg(clients, learning_rate=0.1, local_num_steps=0, num_steps=3)
    with pytest.raises(ValueError, match="learning_rate must be positive"):
        D.fedavg_fixed_point(clients, learning_rate=0.0, local_num_steps=3)
    with pytest.raises(TypeError, match="problem must be a LinearProblem"):
        D.fedavg("pb", learning_rate=0.1, local_num_steps=2, num_steps=3)
    with pytest.raises(ValueError, match="num_samples must be at least dim"):
        D.heterogeneous_least_squares(key=jax.random.key(0), dim=10, num_samples=5)


def test_fedavg_figures(clients):
    traces = {K: D.fedavg(clients, learning_rate=0.1, local_num_steps=K, num_steps=30) for K in (1, 5)}
    drifts = {K: float(np.linalg.norm(D.fedavg_fixed_point(clients, learning_rate=0.1, local_num_steps=K)
                                      - clients.z_star)) for K in (1, 5)}
    fig = vd.fedavg_drift(traces, drifts)
    # a curve per K, and a dashed plateau for each K whose drift is positive (K = 1: 0 up to rounding)
    assert len(fig.data) == 2 + sum(v > 0 for v in drifts.values())
    np.testing.assert_allclose(fig.data[0].y, np.sqrt(np.asarray(traces[1].distances)), rtol=1e-6)
    with pytest.raises(ValueError, match="missing"):
        vd.fedavg_drift(traces, {1: 0.0})
    make = lambda z: D.heterogeneous_least_squares(key=jax.random.key(0), num_workers=6, dim=8,  # noqa: E731
                                                   num_samples=20, heterogeneity=z)
    ex = vd.fedavg_explorer(make, local_num_steps=(1, 5), local_num_step=5, heterogeneities=(0.0, 1.0),
                            num_steps=30)
    frame = ex.frame(local_num_steps=5, heterogeneity=1.0)
    pb = make(1.0)
    xbar = D.fedavg_fixed_point(pb, learning_rate=0.1, local_num_steps=5)
    assert frame.traces[1]["y"][0] == pytest.approx(float(np.linalg.norm(xbar - pb.z_star)), rel=1e-5)
    zero = ex.frame(local_num_steps=5, heterogeneity=0.0)  # one common optimum: no plateau above rounding
    assert not np.any(np.asarray(zero.traces[1]["y"], dtype=float) > 1e-5)  # NaN (masked zero) passes
    with pytest.raises(TypeError, match="make_problem"):
        vd.fedavg_explorer("pb")


def test_powersgd_compiles_once_per_configuration(quad):
    C = D.LowRank(1, 5)
    D.run_compressed("ef14", quad, C, learning_rate=0.3, num_steps=23).params.block_until_ready()
    n = D.compressed_methods._run_compiled._cache_size()
    other = D.heterogeneous_quadratics(key=jax.random.key(2), num_workers=4, dim=30)
    D.run_compressed("ef14", other, D.LowRank(1, 5), learning_rate=0.1, num_steps=23,
                     key=jax.random.key(9)).params.block_until_ready()
    assert D.compressed_methods._run_compiled._cache_size() == n


# ------------------------------------------------------------------ asynchronous clients (Fraboni et al. 2023)


def async_reference(pb, times, step, K, T, weights=None):
    """An event-driven simulation in plain numpy: a clock, one pending run per client."""
    B, q = np.asarray(pb.B, np.float64), np.asarray(pb.q, np.float64)
    M = len(B)
    w = np.full(M, 1.0 / M) if weights is None else np.asarray(weights, float)
    x = np.zeros(pb.dim)
    start = [x.copy() for _ in range(M)]
    due = np.asarray(times, float).copy()  # the time each client's current run ends
    xs, order, stale, begun = [x.copy()], [], [], [0] * M
    for n in range(T):
        m = min(range(M), key=lambda i: (due[i], i))
        y = start[m].copy()
        for _ in range(K):
            y = y - step * (B[m] @ y - q[m])
        x = x + w[m] * (y - start[m])
        order.append(m)
        stale.append(n - begun[m])
        start[m], begun[m] = x.copy(), n + 1
        due[m] += times[m]
        xs.append(x.copy())
    return np.array(xs), np.array(order), np.array(stale)


@pytest.mark.parametrize("K", [1, 3])
def test_async_fedavg_against_an_event_simulation(x64, clients, K):
    times = np.array([1.0, 1.5, 2.0, 3.0, 3.0, 7.0])
    w = np.linspace(0.5, 1.5, 6) / 6
    tr = D.async_fedavg(clients, compute_times=times, learning_rate=0.1, local_num_steps=K, num_steps=120,
                        server_weights=w)
    xs, order, stale = async_reference(clients, times, 0.1, K, 120, w)
    np.testing.assert_allclose(np.asarray(tr.iterates), xs, rtol=1e-11, atol=1e-12)
    np.testing.assert_array_equal(np.asarray(tr.clients), order)
    np.testing.assert_array_equal(np.asarray(tr.staleness), stale)
    assert tr.times.shape == (121,) and float(tr.times[0]) == 0.0 and np.all(np.diff(np.asarray(tr.times)) >= 0)


def test_arrival_schedule_counts_every_client_at_its_rate():
    times = np.array([1.0, 2.0, 5.0])
    clients, when, stale = D.arrival_schedule(times, num_steps=80)
    assert np.all(np.diff(when) >= 0)
    horizon = when[-1]
    for m, t in enumerate(times):
        assert abs(np.sum(clients == m) - horizon / t) <= 1  # client m arrives every T_m
    assert stale[0] == 0
    # client 2's second run spans (5, 10]: every arrival after its first one and before its second
    first, second = np.flatnonzero(clients == 2)[:2]
    assert stale[second] == second - first - 1


def test_async_limit_closed_forms(x64, clients):
    equal = np.full(6, 2.5)
    for K in (1, 4):  # equal compute times: FedAvg's fixed point
        np.testing.assert_allclose(
            np.asarray(D.async_fedavg_limit(clients, compute_times=equal, learning_rate=0.1, local_num_steps=K)),
            np.asarray(D.fedavg_fixed_point(clients, learning_rate=0.1, local_num_steps=K)), rtol=1e-12, atol=1e-13)
    times = np.array([1.0, 1.0, 2.0, 4.0, 4.0, 8.0])
    lim = np.asarray(D.async_fedavg_limit(clients, compute_times=times, learning_rate=0.1, local_num_steps=1))
    B, q = np.asarray(clients.B), np.asarray(clients.q)
    w = 1 / times  # K = 1: the minimiser of sum_m f_m / T_m
    np.testing.assert_allclose(lim, np.linalg.solve(np.einsum("m,mij->ij", w, B), np.einsum("m,mi->i", w, q)),
                               rtol=1e-12)
    fixed = D.async_fedavg_limit(clients, compute_times=times, learning_rate=0.1, local_num_steps=3,
                                 server_weights=times / times.sum())
    np.testing.assert_allclose(np.asarray(fixed), np.asarray(D.fedavg_fixed_point(clients, learning_rate=0.1,
                                                                                   local_num_steps=3)), rtol=1e-12)


def test_async_fedavg_settles_near_its_limit_to_first_order(x64, clients):
    times = np.array([1.0, 1.0, 2.0, 4.0, 4.0, 8.0])
    errs = []
    for g in (0.025, 0.05):
        tr = D.async_fedavg(clients, compute_times=times, learning_rate=g, local_num_steps=1, num_steps=6000)
        lim = np.asarray(D.async_fedavg_limit(clients, compute_times=times, learning_rate=g, local_num_steps=1))
        errs.append(np.linalg.norm(np.asarray(tr.iterates[-2000:]).mean(0) - lim))
        assert errs[-1] < 0.05 * np.linalg.norm(lim - np.asarray(clients.z_star))
    assert 1.5 < errs[1] / errs[0] < 2.5


def test_async_fedavg_float32(clients):
    tr = D.async_fedavg(clients, compute_times=np.arange(1.0, 7.0), learning_rate=0.1, local_num_steps=2,
                        num_steps=200)
    assert tr.params.dtype == jnp.float32 and np.all(np.isfinite(np.asarray(tr.iterates)))
    with jax.enable_x64(True):
        pb64 = D.heterogeneous_least_squares(key=jax.random.key(0), num_workers=6, dim=8, num_samples=20)
        tr64 = D.async_fedavg(pb64, compute_times=np.arange(1.0, 7.0), learning_rate=0.1, local_num_steps=2,
                              num_steps=200)
    np.testing.assert_allclose(np.asarray(tr.params), np.asarray(tr64.params), rtol=1e-4, atol=1e-4)
