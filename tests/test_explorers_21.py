"""Explorer of chapter 21: the live widget re-runs the library, the static steps show the same data."""

import jax
import numpy as np
import pytest

from optlab import rl
from optlab.viz import policy as viz_pol

RNG = np.random.default_rng(0)
R21 = RNG.normal(size=(3, 5)).astype(np.float32)
REF21 = RNG.dirichlet(np.ones(5), size=3).astype(np.float32)
W21 = np.asarray(
    rl.preference_counts(rl.sample_preferences(R21, REF21, key=jax.random.key(0), num_pairs=2000), 3, 5)
)
BETAS = [0.25, 0.5, 1.0, 2.0]


def _explorer(**kw):
    args = dict(betas=BETAS, beta=1.0, counts=W21, num_steps=300)
    return viz_pol.kl_tradeoff_explorer(R21, REF21, **(args | kw))


def test_kl_explorer_live_change_equals_the_library():
    ex = _explorer()
    box = ex.widget()
    box.controls["beta"].value = BETAS[0]
    beta = box.controls["beta"].value
    star = np.asarray(rl.kl_regularized_policy(R21, REF21, beta))
    np.testing.assert_allclose(box.figure.data[4].y, star[0], rtol=1e-4, atol=1e-6)
    J = np.mean(np.sum(star * R21, axis=1))
    np.testing.assert_allclose(box.figure.data[1].y[0], J, rtol=1e-4)
    fit = np.asarray(rl.dpo(W21, REF21, beta=beta, learning_rate=10.0 / beta**2, num_steps=300).policy())
    np.testing.assert_allclose(box.figure.data[5].y, fit[0], rtol=1e-3, atol=1e-5)
    assert f"β = {beta:.3g}" in box.figure.layout.title.text


def test_kl_explorer_points_lie_on_or_below_the_frontier():
    ex = _explorer()
    for beta in BETAS:
        frame = ex.frame(beta=beta)
        kl, r = frame.traces[1]["x"][0], frame.traces[1]["y"][0]
        assert kl > 0 and np.isfinite(r)
        # π*_β maximises r − β KL: the DPO policy (any policy) scores no more
        dkl, dr = frame.traces[2]["x"][0], frame.traces[2]["y"][0]
        assert dr - beta * dkl <= r - beta * kl + 1e-5


def test_kl_explorer_static_step_equals_the_widget():
    ex = _explorer()
    steps = ex.static_figure().layout.sliders[-1].steps
    payloads = [repr(s["args"]) for s in steps]
    assert len(set(payloads)) == len(payloads)
    data, layout, indices = steps[2]["args"]
    box = ex.widget()
    box.controls["beta"].value = BETAS[2]
    np.testing.assert_allclose(
        np.asarray(data["y"][list(indices).index(4)], float),
        np.asarray(box.figure.data[4].y, float),
        atol=1e-4,
    )
    assert layout["title.text"] == box.figure.layout.title.text


def test_kl_explorer_refuses_bad_arguments():
    with pytest.raises(ValueError, match="num_steps"):
        _explorer(num_steps=0)
    with pytest.raises(ValueError, match="context"):
        _explorer(context=3)
    with pytest.raises(ValueError, match="reward and ref_policy"):
        viz_pol.kl_tradeoff_explorer(R21[0], REF21, betas=BETAS)
    with pytest.raises(ValueError):
        _explorer(beta=0.3)  # not among the static values


def test_kl_explorer_without_pairs_draws_the_closed_form_only():
    ex = viz_pol.kl_tradeoff_explorer(R21, REF21, betas=BETAS)
    frame = ex.frame(beta=0.5)
    assert set(frame.traces) == {1, 4}
    assert "DPO" not in frame.layout["title.text"]


def test_kl_frontier_is_finite_where_the_optimal_policy_underflows():
    """At small β the KL-optimal policy has exact zeros; 0 log 0 = 0 keeps the frontier finite."""
    reward = np.array([[0.0, 5.0, 10.0]], np.float32)
    ref = np.full((1, 3), 1 / 3, np.float32)
    beta = 1e-3
    star = np.asarray(rl.kl_regularized_policy(reward, ref, beta))
    assert np.sum(star == 0) == 2  # the two worse actions underflow to exact zeros in float32
    mean_r, kl = (float(v) for v in viz_pol._reward_and_kl(star, reward, ref))
    assert mean_r == pytest.approx(10.0)
    assert kl == pytest.approx(np.log(3), rel=1e-6)  # KL(δ_best ‖ uniform) = log 3


# ---------------------------------------------------------------- actor–critic on the LQR

SYS21 = rl.LQR(horizon=None)


def _ac_explorer(**kw):
    args = dict(
        key=jax.random.key(0),
        learning_rates=[0.02, 0.1],
        critic_learning_rates=[0.25, 0.5],
        num_steps=200,
        num_chains=32,
    )
    return viz_pol.actor_critic_explorer(SYS21, 0.0, **(args | kw))


def test_ac_explorer_live_change_equals_the_library():
    ex = _ac_explorer()
    box = ex.widget()
    box.controls["learning_rate"].value = 0.1
    box.controls["critic_learning_rate"].value = 0.25
    for i, method in ((1, "natural"), (2, "vanilla")):
        run = rl.actor_critic(
            SYS21,
            0.0,
            key=jax.random.key(0),
            num_steps=200,
            learning_rate=0.1,
            critic_learning_rate=0.25,
            num_chains=32,
            method=method,
        )
        np.testing.assert_allclose(
            box.figure.data[i].y, np.asarray(run.iterates[::5], float), rtol=1e-5, atol=1e-6
        )
        if method == "natural":
            np.testing.assert_allclose(
                box.figure.data[4].y, np.asarray(run.values[::5], float), rtol=1e-5, atol=1e-6
            )
            exact = np.asarray(rl.lqr_return(run.iterates[::5], SYS21), float)
            np.testing.assert_allclose(box.figure.data[3].y, exact, rtol=1e-5)
    k_star, _ = rl.lqr_optimal_gain(SYS21)
    assert box.figure.data[0].y[0] == pytest.approx(k_star)
    assert "α = 0.1, β = 0.25" in box.figure.layout.title.text
    assert ex.last_latency_s is not None


def test_ac_explorer_warm_update_is_fast():
    import time

    ex = _ac_explorer(num_steps=1000, num_chains=256)
    ex.frame(learning_rate=0.02)  # compiles
    t0 = time.perf_counter()
    ex.frame(learning_rate=0.1, critic_learning_rate=0.25)
    assert time.perf_counter() - t0 < 0.5  # target 100 ms (measured ≈ 35 ms); margin for a loaded CI machine


def test_ac_explorer_static_step_equals_the_widget():
    ex = _ac_explorer()
    steps = ex.static_figure().layout.sliders[-1].steps
    payloads = [repr(s["args"]) for s in steps]
    assert len(steps) == 4 and len(set(payloads)) == len(payloads)
    data, layout, indices = steps[3]["args"]  # (α, β) = (0.1, 0.5): the α slider is the outer one
    box = ex.widget()
    box.controls["learning_rate"].value = 0.1
    box.controls["critic_learning_rate"].value = 0.5
    for i in (1, 2):
        np.testing.assert_allclose(
            np.asarray(data["y"][list(indices).index(i)], float),
            np.asarray(box.figure.data[i].y, float),
            atol=1e-4,
        )
    assert layout["title.text"] == box.figure.layout.title.text


def test_ac_explorer_refuses_bad_arguments():
    with pytest.raises(ValueError, match="num_steps"):
        _ac_explorer(num_steps=0)
    with pytest.raises(ValueError, match="every"):
        _ac_explorer(every=0)
    with pytest.raises(TypeError, match="sys"):
        viz_pol.actor_critic_explorer(
            (0.8, 0.5), 0.0, key=jax.random.key(0), learning_rates=[0.1], critic_learning_rates=[0.5]
        )
    with pytest.raises(ValueError):
        _ac_explorer(learning_rate=0.3)  # not among the static values


def test_ac_explorer_reports_divergence():
    ex = _ac_explorer(learning_rates=[0.1, 20.0])
    assert "diverged" in ex.frame(learning_rate=20.0).layout["title.text"]


# ---------------------------------------------------------------- iterative (online) DPO

R_ID = np.zeros((3, 4), np.float32)
R_ID[:, 1:] = np.random.default_rng(1).uniform(0, 1, size=(3, 3))
R_ID[:, 0] = 3.0
REF_ID = np.column_stack([np.full(3, 0.01), np.full((3, 3), 0.33)]).astype(np.float32)
BETAS_ID = [0.25, 0.5, 1.0, 2.0]


def _idpo_explorer(**kw):
    args = dict(betas=BETAS_ID, beta=0.5, key=jax.random.key(0), num_rounds=3, pairs_per_round=200,
                num_steps=30, num_seeds=2)
    return viz_pol.iterative_dpo_explorer(R_ID, REF_ID, **(args | kw))


def test_idpo_explorer_live_change_equals_the_library():
    ex = _idpo_explorer()
    box = ex.widget()
    box.controls["beta"].value = BETAS_ID[0]
    beta = box.controls["beta"].value
    keys = jax.random.split(jax.random.key(0), 2)
    star = np.asarray(rl.kl_regularized_policy(R_ID, REF_ID, beta))
    j_star = float(np.mean(rl.kl_regularized_objective(star, R_ID, REF_ID, beta)))
    for trace, bars, online in ((0, 4, True), (1, 5, False)):
        runs = [rl.iterative_dpo(R_ID, REF_ID, beta=beta, key=k, num_rounds=3, pairs_per_round=200,
                                 learning_rate=40.0 / beta**2, num_steps=30, online=online) for k in keys]
        gap = j_star - np.mean([np.asarray(r.values) for r in runs], axis=0)
        np.testing.assert_allclose(box.figure.data[trace].y, gap, rtol=1e-3, atol=1e-5)
        pol = np.mean([np.asarray(r.policy()) for r in runs], axis=0)
        np.testing.assert_allclose(box.figure.data[bars].y, pol[0], rtol=1e-3, atol=1e-5)
    np.testing.assert_allclose(box.figure.data[3].y, star[0], rtol=1e-4, atol=1e-6)
    assert f"β = {beta:.3g}" in box.figure.layout.title.text


def test_idpo_explorer_warm_update_is_fast():
    import time

    ex = _idpo_explorer(num_rounds=8, pairs_per_round=1000, num_steps=100, num_seeds=4)
    ex.frame(beta=0.5)  # compiles
    t0 = time.perf_counter()
    ex.frame(beta=1.0)
    assert time.perf_counter() - t0 < 1.0  # measured ≈ 0.15 s; margin for a loaded CI machine


def test_idpo_explorer_static_step_equals_the_widget():
    ex = _idpo_explorer()
    steps = ex.static_figure().layout.sliders[-1].steps
    payloads = [repr(s["args"]) for s in steps]
    assert len(steps) == len(BETAS_ID) and len(set(payloads)) == len(payloads)
    data, layout, indices = steps[2]["args"]
    box = ex.widget()
    box.controls["beta"].value = BETAS_ID[2]
    for i in (0, 1, 4):
        np.testing.assert_allclose(
            np.asarray(data["y"][list(indices).index(i)], float), np.asarray(box.figure.data[i].y, float),
            atol=1e-4,
        )
    assert layout["title.text"] == box.figure.layout.title.text


def test_idpo_explorer_refuses_bad_arguments():
    with pytest.raises(ValueError, match="num_rounds"):
        _idpo_explorer(num_rounds=0)
    with pytest.raises(ValueError, match="num_seeds"):
        _idpo_explorer(num_seeds=0)
    with pytest.raises(ValueError, match="context"):
        _idpo_explorer(context=3)
    with pytest.raises(ValueError, match="reward and ref_policy"):
        viz_pol.iterative_dpo_explorer(R_ID[0], REF_ID, betas=BETAS_ID, key=jax.random.key(0))
    with pytest.raises(ValueError):
        _idpo_explorer(beta=0.3)  # not among the static values
