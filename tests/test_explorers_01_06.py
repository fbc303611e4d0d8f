"""The explorers of chapters 1-6: each live widget re-runs the library, and the static frames agree.

For every builder: after a control change, the live figure's data equals an independent
call of the library for those values; a static slider step equals the widget's data for
the same values; bad arguments raise with the argument named.  Float32 throughout.
"""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from optlab import accel, adaptive, first_order, ot, problems, runner
from optlab import second_order as so
from optlab.viz import accel as viz_accel
from optlab.viz import adaptive as viz_adaptive
from optlab.viz import first_order as viz_gd
from optlab.viz import ot as viz_ot
from optlab.viz import second_order as viz_so
from optlab.viz import stochastic as viz_st


def _static_step(fig, index):
    """The ``(data, layout, trace indices)`` of step ``index`` of the explorer's slider."""
    data, layout, indices = fig.layout.sliders[-1].steps[index]["args"]
    return data, layout, list(indices)


def _assert_step_matches_widget(fig, index, box, rtol=1e-4):
    data, layout, indices = _static_step(fig, index)
    for key, values in data.items():
        for i, v in zip(indices, values, strict=True):
            if v is None:  # a property this trace does not have (a heatmap's z on a scatter)
                continue
            live = box.figure.data[i][key]
            if isinstance(v, str):
                assert v == live
                continue
            live = np.asarray(live, dtype=float)
            np.testing.assert_allclose(np.asarray(v, dtype=float), live, rtol=rtol, atol=1e-30, err_msg=key)
    for key, v in layout.items():
        assert v == box.figure.layout[key]


# ------------------------------------------------------------------ chapter 1: GD on a quadratic
def test_gd_explorer_reruns_gd_and_matches_its_static_frames():
    ex = viz_gd.gd_explorer(num_steps=30)
    box = ex.widget()
    box.controls["step"].value = 1.5
    box.controls["kappa"].value = 50.0
    quad = problems.quadratic(kappa=50.0, dim=2)
    ref = runner.run(first_order.gd(1.5 / quad.L), quad, jnp.array([-1.3, 1.1], jnp.float32), num_steps=30)
    assert ref.values.dtype == jnp.float32
    np.testing.assert_allclose(box.figure.data[1].x, np.asarray(ref.iterates[:, 0]), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(box.figure.data[1].y, np.asarray(ref.iterates[:, 1]), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(box.figure.data[3].y, np.asarray(ref.values), rtol=1e-5)
    assert "ρ = max|1 − ηλᵢ| = 0.97" in box.figure.layout.title.text

    fig = ex.static_figure()
    combos = list(itertools.product(ex.controls["step"].values, ex.controls["kappa"].values))
    assert len(fig.layout.sliders[-1].steps) == len(combos)
    for index in (0, len(combos) // 2, len(combos) - 1):
        step, kappa = combos[index]
        box.controls["step"].value = step
        box.controls["kappa"].value = kappa
        _assert_step_matches_widget(fig, index, box)


def test_gd_explorer_every_static_step_changes_the_figure():
    fig = viz_gd.gd_explorer(
        steps=(0.5, 1.9, 2.05), kappas=(2.0, 10.0), step=1.9, num_steps=10
    ).static_figure()
    steps = [repr(s["args"][:2]) for s in fig.layout.sliders[-1].steps]
    assert len(set(steps)) == len(steps) == 6


def test_gd_explorer_takes_a_student_optimizer():
    def slow_gd(eta):
        return first_order.gd(0.5 * eta)

    _, gaps, _ = viz_gd.quadratic_gd_run(1.0, 10.0, num_steps=5, make_optimizer=slow_gd)
    _, ref_gaps, _ = viz_gd.quadratic_gd_run(0.5, 10.0, num_steps=5)
    np.testing.assert_allclose(gaps, ref_gaps, rtol=1e-6)


@pytest.mark.parametrize(
    ("kwargs", "error", "name"),
    [
        ({"steps": (0.5, 3.0)}, ValueError, "steps"),
        ({"kappas": (0.5, 10.0)}, ValueError, "kappas"),
        ({"step": 0.7}, ValueError, "η·L"),
        ({"num_steps": 0}, ValueError, "num_steps"),
        ({"x0": (1.0, 2.0, 3.0)}, ValueError, "x0"),
        ({"make_optimizer": 0.1}, TypeError, "make_optimizer"),
    ],
)
def test_gd_explorer_bad_arguments_are_named(kwargs, error, name):
    with pytest.raises(error, match=name):
        viz_gd.gd_explorer(**kwargs)


# ------------------------------------------------------------------ chapter 2: heavy ball and Nesterov
def test_momentum_explorer_reruns_the_method_and_matches_its_static_frames():
    ex = viz_accel.momentum_explorer(num_steps=30, learning_rates=(0.3, 1.0), momenta=(0.0, 0.82))
    box = ex.widget()
    box.controls["method"].value = "Nesterov"
    box.controls["learning_rate"].value = 1.0
    box.controls["momentum"].value = 0.5
    quad = problems.quadratic(kappa=100.0, dim=2)
    x0 = jnp.array([-1.5, 3.0], jnp.float32)
    ref = runner.run(first_order.nesterov(1.0 / quad.L, 0.5), quad, x0, num_steps=30)
    assert ref.values.dtype == jnp.float32
    np.testing.assert_allclose(box.figure.data[1].x, np.asarray(ref.iterates[:, 0]), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(box.figure.data[1].y, np.asarray(ref.iterates[:, 1]), rtol=1e-5, atol=1e-6)
    dist = np.linalg.norm(np.asarray(ref.iterates), axis=1)
    np.testing.assert_allclose(box.figure.data[3].y, dist, rtol=1e-5)
    rho = accel.quadratic_rate(
        "nesterov", 1.0, 0.01, eigenvalues=[0.01, 1.0], learning_rate=1.0, momentum=0.5
    )
    assert f"rate ρ = {rho:.3g}" in box.figure.layout.title.text

    fig = ex.static_figure()
    combos = list(
        itertools.product(*(ex.controls[n].values for n in ("method", "learning_rate", "momentum")))
    )
    assert len(fig.layout.sliders[-1].steps) == len(combos) == 8
    assert len({repr(s["args"][:2]) for s in fig.layout.sliders[-1].steps}) == 8
    for index in (0, 5, 7):
        method, lr, beta = combos[index]
        box.controls["method"].value = method
        box.controls["learning_rate"].value = lr
        box.controls["momentum"].value = beta
        _assert_step_matches_widget(fig, index, box)


def test_momentum_explorer_takes_a_student_method():
    def my_heavy_ball(eta, beta):
        return first_order.heavy_ball(eta, beta)

    ex = viz_accel.momentum_explorer(methods={"mine": my_heavy_ball}, num_steps=10)
    frame = ex.frame(learning_rate=1.0, momentum=0.67)
    its, _ = viz_accel.quadratic_momentum_run(1.0, 0.67, num_steps=10)
    np.testing.assert_allclose(frame.traces[1]["x"], its[:, 0], rtol=1e-6)
    assert 4 not in frame.traces  # no known rate for a student's method


@pytest.mark.parametrize(
    ("kwargs", "error", "name"),
    [
        ({"learning_rates": (0.5, 5.0)}, ValueError, "learning_rates"),
        ({"momenta": (0.0, 1.0)}, ValueError, "momenta"),
        ({"kappa": 0.5}, ValueError, "kappa"),
        ({"methods": {}}, ValueError, "methods"),
        ({"methods": {"x": 1.0}}, TypeError, "methods"),
        ({"num_steps": 0}, ValueError, "num_steps"),
        ({"x0": (1.0,)}, ValueError, "x0"),
    ],
)
def test_momentum_explorer_bad_arguments_are_named(kwargs, error, name):
    with pytest.raises(error, match=name):
        viz_accel.momentum_explorer(**kwargs)


# ------------------------------------------------------------------ chapter 3: SGD schedules and batch size
def _ridge(n=40, d=4):
    rng = np.random.default_rng(0)
    A = jnp.asarray(rng.standard_normal((n, d)), jnp.float32)
    y = jnp.asarray(rng.standard_normal(n), jnp.float32)
    return problems.least_squares(A, y, reg=0.1)


def test_sgd_explorer_reruns_sgd_and_matches_its_static_frames():
    lsq = _ridge()
    keys = jax.random.split(jax.random.key(0), 3)
    ex = viz_st.sgd_explorer(
        lsq,
        lsq.x0,
        keys=keys,
        learning_rates=(0.01, 0.05),
        learning_rate=0.05,
        batch_sizes=(1, 4),
        num_steps=60,
        max_points=200,
    )
    box = ex.widget()
    box.controls["schedule"].value = "step decay"
    box.controls["batch_size"].value = 4
    box.controls["learning_rate"].value = 0.02

    def schedule(k):  # step decay: halve every quarter of the 60 steps
        return 0.02 * 0.5 ** jnp.floor(4.0 * k / 60)

    runs = [
        runner.run(first_order.gd(sch), lsq, lsq.x0, num_steps=60, key=key, batch_size=4)
        for sch, key in itertools.product([schedule, 0.02], keys)
    ]
    decayed = np.mean([np.asarray(r.values) for r in runs[:3]], axis=0) - lsq.f_star
    constant = np.mean([np.asarray(r.values) for r in runs[3:]], axis=0) - lsq.f_star
    assert runs[0].values.dtype == jnp.float32
    np.testing.assert_allclose(box.figure.data[0].y, decayed, rtol=1e-4)
    np.testing.assert_allclose(box.figure.data[1].y, constant, rtol=1e-4)

    fig = ex.static_figure()
    combos = list(itertools.product(ex.controls["schedule"].values, ex.controls["batch_size"].values))
    steps = fig.layout.sliders[-1].steps
    assert len(steps) == len(combos) == 6 and len({repr(s["args"][:2]) for s in steps}) == 6
    box.controls["learning_rate"].value = 0.05
    for index in (0, 3, 5):
        schedule_name, batch = combos[index]
        box.controls["schedule"].value = schedule_name
        box.controls["batch_size"].value = batch
        _assert_step_matches_widget(fig, index, box)


@pytest.mark.parametrize(
    ("kwargs", "error", "name"),
    [
        ({"learning_rates": (0.01, -0.1)}, ValueError, "learning_rates"),
        ({"batch_sizes": (0, 4)}, ValueError, "batch_sizes"),
        ({"step_unit": 0.0}, ValueError, "step_unit"),
        ({"make_optimizer": "sgd"}, TypeError, "make_optimizer"),
        ({"max_points": 1}, ValueError, "max_points"),
        ({"batch_sizes": (1, 100)}, ValueError, "batch_size"),
        ({"keys": None}, ValueError, "keys"),
    ],
)
def test_sgd_explorer_bad_arguments_are_named(kwargs, error, name):
    lsq = _ridge()
    args = {
        "keys": jax.random.split(jax.random.key(0), 2),
        "learning_rates": (0.01, 0.05),
        "learning_rate": 0.05,
        "batch_sizes": (1,),
        "num_steps": 4,
        **kwargs,
    }
    with pytest.raises(error, match=name):
        viz_st.sgd_explorer(lsq, lsq.x0, **args)


# ------------------------------------------------------------------ chapter 4: adaptive methods
def _quad8():
    return problems.quadratic(kappa=10.0, dim=4, key=jax.random.key(3)), jnp.ones(4, jnp.float32)


def test_adaptive_explorer_reruns_the_method_and_matches_its_static_frames():
    quad, x0 = _quad8()
    ex = viz_adaptive.adaptive_explorer(quad, x0, learning_rates=(0.1, 10.0), learning_rate=0.1, num_steps=50)
    box = ex.widget()
    box.controls["method"].value = "Adam"
    box.controls["learning_rate"].value = 0.5
    ref = runner.run(adaptive.adam(0.5), quad, x0, num_steps=50)
    gd = runner.run(first_order.gd(0.5), quad, x0, num_steps=50)
    assert ref.values.dtype == jnp.float32
    np.testing.assert_allclose(box.figure.data[0].y, np.asarray(ref.values)[::2] - quad.f_star, rtol=1e-4)
    np.testing.assert_allclose(box.figure.data[1].y, np.asarray(gd.values)[::2] - quad.f_star, rtol=1e-4)
    assert box.figure.data[0].name == "Adam"

    fig = ex.static_figure()
    combos = list(itertools.product(ex.controls["method"].values, ex.controls["learning_rate"].values))
    steps = fig.layout.sliders[-1].steps
    assert len(steps) == len(combos) == 8 and len({repr(s["args"][:2]) for s in steps}) == 8
    for index in (0, 3, 6):
        method, lr = combos[index]
        box.controls["method"].value = method
        box.controls["learning_rate"].value = lr
        _assert_step_matches_widget(fig, index, box)
    assert "diverged" in steps[1]["args"][1]["title.text"]  # gradient descent at η = 10 > 2/L


@pytest.mark.parametrize(
    ("kwargs", "error", "name"),
    [
        ({"methods": {}}, ValueError, "methods"),
        ({"methods": {"mine": "adam"}}, TypeError, "methods"),
        ({"reference": 1.0}, TypeError, "reference"),
        ({"learning_rates": (0.1, -1.0)}, ValueError, "learning_rates"),
        ({"x0": jnp.ones(3)}, ValueError, "x0"),
        ({"num_steps": 0}, ValueError, "num_steps"),
        ({"every": 0}, ValueError, "every"),
        ({"problem": "quad"}, TypeError, "problem"),
    ],
)
def test_adaptive_explorer_bad_arguments_are_named(kwargs, error, name):
    quad, x0 = _quad8()
    args = {
        "problem": quad,
        "x0": x0,
        "learning_rates": (0.1, 1.0),
        "learning_rate": 0.1,
        "num_steps": 5,
        **kwargs,
    }
    with pytest.raises(error, match=name):
        viz_adaptive.adaptive_explorer(args.pop("problem"), args.pop("x0"), **args)


# ------------------------------------------------------------------ chapter 5: damped and regularised Newton
def _f_sqrt(x):
    return jnp.sqrt(1.0 + x[0] ** 2)


def test_newton_explorer_reruns_newton_and_matches_its_static_frames():
    ex = viz_so.newton_explorer(_f_sqrt, starts=(2.0, 10.0), constants=(1.0, 4.0), num_steps=15)
    box = ex.widget()
    box.controls["method"].value = "gradient-regularised Newton (constant H)"
    box.controls["constant"].value = 2.0
    box.controls["start"].value = 5.0
    ref = so.gradient_regularized_newton(
        _f_sqrt, jnp.array([5.0], jnp.float32), num_steps=15, hess_lipschitz=2.0
    )
    assert ref.iterates.dtype == jnp.float32
    err = np.abs(np.asarray(ref.iterates[:, 0], dtype=float))
    live = np.asarray(box.figure.data[0].y, dtype=float)
    resolved = err > 0
    np.testing.assert_allclose(live[resolved], err[resolved], rtol=1e-5)
    np.testing.assert_allclose(box.figure.data[1].y, np.asarray(ref.learning_rates), rtol=1e-5)
    assert box.figure.layout.annotations[1].text == "regulariser λ_k"

    fig = ex.static_figure()
    combos = list(itertools.product(*(ex.controls[n].values for n in ("method", "constant", "start"))))
    steps = fig.layout.sliders[-1].steps
    assert len(steps) == len(combos) == 8 and len({repr(s["args"][:2]) for s in steps}) == 8
    for index in (0, 5, 7):
        method, constant, start = combos[index]
        box.controls["method"].value = method
        box.controls["constant"].value = constant
        box.controls["start"].value = start
        _assert_step_matches_widget(fig, index, box)


def test_newton_explorer_takes_a_student_method():
    def my_newton(fun, x0, constant, num_steps):
        return so.newton(fun, x0, num_steps=num_steps, learning_rate=1.0 / constant)

    ex = viz_so.newton_explorer(
        _f_sqrt,
        methods={"fixed step 1/c": (my_newton, "step")},
        constants=(1.0, 2.0),
        constant=2.0,
        num_steps=5,
    )
    frame = ex.frame(start=2.0)
    ref = so.newton(_f_sqrt, jnp.array([2.0]), num_steps=5, learning_rate=0.5)
    np.testing.assert_allclose(frame.traces[1]["y"], np.asarray(ref.learning_rates), rtol=1e-6)


@pytest.mark.parametrize(
    ("kwargs", "error", "name"),
    [
        ({"methods": {}}, ValueError, "methods"),
        ({"methods": {"m": "newton"}}, TypeError, "methods"),
        ({"fun": 3.0}, TypeError, "fun"),
        ({"constants": (0.0, 1.0), "constant": 1.0}, ValueError, "constants"),
        ({"starts": (2.0, float("nan")), "start": 2.0}, ValueError, "starts"),
        ({"num_steps": 0}, ValueError, "num_steps"),
    ],
)
def test_newton_explorer_bad_arguments_are_named(kwargs, error, name):
    args = {"fun": _f_sqrt, "constants": (1.0, 4.0), "constant": 4.0, "num_steps": 3, **kwargs}
    with pytest.raises(error, match=name):
        viz_so.newton_explorer(args.pop("fun"), **args)


# ------------------------------------------------------------------ chapter 6: Sinkhorn
def _ot_problem(n=12):
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.random((n, 2)), jnp.float32)
    y = jnp.asarray(rng.random((n, 2)) * 0.6 + 0.3, jnp.float32)
    return ot.PointCloud(x, y, scale="max"), jnp.full(n, 1.0 / n, jnp.float32)


def test_sinkhorn_explorer_reruns_sinkhorn_and_matches_its_static_frames():
    geom, a = _ot_problem()
    ex = viz_ot.sinkhorn_explorer(geom, a, a, eps_values=(0.3, 0.1, 0.03), eps=0.1, tol=1e-4, num_steps=2000)
    box = ex.widget()
    box.controls["eps"].value = 0.03
    box.controls["method"].value = "stabilized"
    ref = ot.sinkhorn(geom, a, a, 0.03, tol=1e-4, num_steps=2000, method="stabilized")
    P = np.asarray(ref.plan())
    assert P.dtype == np.float32
    np.testing.assert_allclose(
        box.figure.data[0].z, np.log10(np.maximum(P, 1e-12 * P.max())), rtol=1e-5, atol=1e-5
    )
    n_iters = int(ref.n_iters)
    np.testing.assert_allclose(box.figure.data[1].y, np.asarray(ref.errors)[:n_iters], rtol=1e-5)
    assert f"{n_iters} iterations" in box.figure.layout.title.text

    fig = ex.static_figure()
    steps = fig.layout.sliders[-1].steps
    assert len(steps) == 3 and len({repr(s["args"][:2]) for s in steps}) == 3
    box.controls["method"].value = "log"
    for index, eps in enumerate((0.3, 0.1, 0.03)):
        box.controls["eps"].value = eps
        _assert_step_matches_widget(fig, index, box)


@pytest.mark.parametrize(
    ("kwargs", "error", "name"),
    [
        ({"eps_values": (0.1, -1.0)}, ValueError, "eps_values"),
        ({"methods": ("log", "naive")}, ValueError, "methods"),
        ({"num_steps": 0}, ValueError, "num_steps"),
        ({"tol": -1.0}, ValueError, "tol"),
        ({"solver": 3}, TypeError, "solver"),
        ({"max_points": 1}, ValueError, "max_points"),
    ],
)
def test_sinkhorn_explorer_bad_arguments_are_named(kwargs, error, name):
    geom, a = _ot_problem(4)
    kwargs = {"eps_values": (0.3, 0.1), "eps": 0.1, **kwargs}
    with pytest.raises(error, match=name):
        viz_ot.sinkhorn_explorer(geom, a, a, **kwargs)


def test_sinkhorn_explorer_names_bad_marginals():
    geom, a = _ot_problem(4)
    with pytest.raises(ValueError, match="a"):
        viz_ot.sinkhorn_explorer(geom, a[:3], a, eps_values=(0.3, 0.1), eps=0.1)
