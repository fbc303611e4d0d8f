"""Response time of every live explorer of the book (``optlab.viz.*_explorer``) after warm-up.

    python benchmarks/bench_widgets.py [--repeats 20] [--only NAME ...]

Finds every public ``*_explorer`` builder of ``optlab.viz`` (the topic modules, and
``optlab.viz.core``'s, re-exported as ``viz.*``) whose return annotation is
:class:`optlab.viz.Explorer`; builders that return something else (a plotly figure:
``viz.trajectory_explorer``, ``viz.minimax.game_explorer``) are skipped with a note.
Each counted builder is built by ``EXAMPLES`` exactly as its chapter's cell calls it
(book/NN_*.ipynb: the same arguments, the problem built by the same earlier cells, the
chapter's ``jax_enable_x64`` setting).  The script stops if a builder has no example,
an example names no counted builder, or the example's chapter does not call the
builder.

Each explorer's live widget (``Explorer.widget()``) is then driven the way JupyterLab
drives it: each control in turn is set to ``--repeats`` random values within its live
range (sliders, uniform in the exponent for log sliders) or through its options in turn
(menus), and ``Explorer.last_latency_s`` is read after each change: the time, in Python,
from the control change until the ``FigureWidget`` holds the new data (``update`` re-run
plus the frame applied in one ``batch_update``; the browser's redraw is measured by
tests/test_jupyterlab.py).  The first moves of each control are warm-up and not timed:
two for a slider, and for a menu one visit of every option (each option may compile
once: a new shape or a static argument).  Target: under 100 ms per warm update on 2 CPU
cores.

Not reproduced from the chapters: chapter 15 forces 8 host devices
(``XLA_FLAGS=--xla_force_host_platform_device_count=8``) before importing JAX; its
explorer runs all workers on ``jax.devices()[:1]``, so the benchmark keeps one device.
"""

from __future__ import annotations

import argparse
import faulthandler
import importlib
import inspect
import json
import math
import os
import pkgutil
import statistics
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

import optlab.viz
from optlab import viz

BOOK = Path(__file__).resolve().parents[1] / "book"
TARGET_MS = 100.0
# viz modules without topic figures; core's builders are discovered under the name viz.*
_NOT_TOPICS = {"core", "explorer", "listing"}


# -- discovery ---------------------------------------------------------------------------
def _returns_explorer(module, fn) -> bool:
    ann = inspect.signature(fn).return_annotation
    if ann is inspect.Signature.empty:
        raise SystemExit(
            f"{module.__name__}.{fn.__name__} has no return annotation: cannot tell if it is an Explorer"
        )
    if isinstance(ann, str):  # from __future__ import annotations
        ann = eval(ann, vars(module))  # the library's own annotation
    return ann is viz.Explorer


def builders():
    """``(qualified name, builder, returns Explorer)`` for every public ``*_explorer`` of optlab.viz."""
    out = []
    modules = [("viz", optlab.viz.core)]
    for info in pkgutil.iter_modules(optlab.viz.__path__):
        if not info.name.startswith("_") and info.name not in _NOT_TOPICS:
            modules.append((f"viz.{info.name}", importlib.import_module(f"optlab.viz.{info.name}")))
    for prefix, module in modules:
        for name in getattr(module, "__all__", []):
            fn = getattr(module, name)
            if name.endswith("_explorer") and callable(fn):
                out.append((f"{prefix}.{name}", fn, _returns_explorer(module, fn)))
    return out


# -- the chapters' calls -----------------------------------------------------------------
EXAMPLES: dict = {}
"""Qualified builder name ↦ zero-argument function returning the chapter's Explorer.

Each function's ``.chapter`` names its notebook (book/<chapter>.ipynb)."""


def example(name: str, chapter: str):
    def register(fn):
        fn.chapter = chapter
        EXAMPLES[name] = fn
        return fn

    return register


def _x64(on: bool) -> None:
    """The chapter's precision (every chapter but 10 and 17 enables float64 in its first cell)."""
    jax.config.update("jax_enable_x64", on)


@example("viz.first_order.gd_explorer", "01_gradient_descent")
def _gd():
    from optlab.viz import first_order as viz_gd

    _x64(True)
    return viz_gd.gd_explorer()


@example("viz.accel.momentum_explorer", "02_acceleration")
def _momentum():
    from optlab.viz import accel as viz_accel

    _x64(True)
    return viz_accel.momentum_explorer(kappa=100.0)


@example("viz.stochastic.sgd_explorer", "03_stochastic")
def _sgd():
    from optlab import problems
    from optlab.viz import stochastic as vst

    _x64(True)
    KEY = jax.random.key(0)
    rng = np.random.default_rng(0)
    n, d = 200, 10
    A = rng.standard_normal((n, d)) / np.sqrt(d) * np.geomspace(1.0, 0.2, d)
    y = A @ rng.standard_normal(d) + 0.5 * rng.standard_normal(n)
    lsq = problems.least_squares(jnp.asarray(A), jnp.asarray(y), reg=5e-2)
    L_max = float(np.max(np.sum(A**2, axis=1))) + 5e-2
    seeds = jax.random.split(KEY, 16)
    return vst.sgd_explorer(
        lsq,
        lsq.x0,
        keys=seeds[:8],
        learning_rates=[0.05, 0.1, 0.2, 0.4],
        learning_rate=0.2,
        batch_sizes=[1, 4, 16],
        step_unit=L_max,
        step_label="η·L_max",
        num_steps=1500,
        title="SGD on the ridge problem",
    )


@example("viz.adaptive.adaptive_explorer", "04_adaptive")
def _adaptive():
    from optlab import problems
    from optlab.viz import adaptive as viz_adaptive

    _x64(True)
    quad = problems.quadratic(kappa=10.0, dim=8, key=jax.random.key(3))
    x_q = jnp.ones(8)
    return viz_adaptive.adaptive_explorer(
        quad,
        x_q,
        learning_rates=[0.01, 0.1, 1.0, 10.0, 1000.0],
        learning_rate=10.0,
        num_steps=400,
        title="Quadratic, L = 1, κ = 10, d = 8",
    )


@example("viz.second_order.newton_explorer", "05_second_order")
def _newton():
    from optlab.viz import second_order as so_viz

    _x64(True)
    f_sqrt = lambda x: jnp.sqrt(1.0 + x[0] ** 2)  # noqa: E731 (the chapter's lambda)
    return so_viz.newton_explorer(
        f_sqrt,
        starts=[2.0, 10.0],
        constants=[0.25, 1.0, 4.0, 16.0, 64.0],
        num_steps=40,
        title="Newton on √(1+x²)",
    )


@example("viz.ot.sinkhorn_explorer", "06_optimal_transport")
def _sinkhorn():
    from optlab import ot
    from optlab.viz import ot as viz_ot

    _x64(True)
    rng = np.random.default_rng(0)
    n = 40
    x = rng.random((n, 2))
    y = rng.random((n, 2)) * 0.6 + np.array([0.4, 0.2])
    a = np.full(n, 1.0 / n)
    b = np.full(n, 1.0 / n)
    geom = ot.PointCloud(jnp.asarray(x), jnp.asarray(y), scale="max")
    eps_grid = jnp.array([1.0, 0.3, 0.1, 0.03, 0.01, 5e-3, 2e-3])
    return viz_ot.sinkhorn_explorer(
        geom, a, b, eps_values=[float(e) for e in eps_grid], eps=0.03, title="Entropic plan P_ε (n = 40)"
    )


@example("viz.lipschitz.power_gram_explorer", "07_lipschitz")
def _power_gram():
    from optlab.viz import lipschitz as lviz

    _x64(True)
    return lviz.power_gram_explorer(n=128, dtype=jnp.float64)


@example("viz.smoothing.smoothing_explorer", "08_certified_robustness")
def _smoothing():
    import optax

    from optlab import lipschitz as lp
    from optlab import smoothing as sm
    from optlab.viz import smoothing as sviz

    _x64(True)
    KEY = jax.random.key(0)

    def clusters(key, n):
        k1, k2 = jax.random.split(key)
        y = jax.random.randint(k1, (n,), 0, 3)
        angles = 2 * jnp.pi * y / 3
        centres = 1.6 * jnp.stack([jnp.cos(angles), jnp.sin(angles)], 1)
        return centres + 0.55 * jax.random.normal(k2, (n, 2)), y

    X_train, y_train = clusters(jax.random.key(1), 300)
    X_test, y_test = clusters(jax.random.key(2), 150)

    def init(key, sizes):
        ks = jax.random.split(key, len(sizes) - 1)
        return [
            (jax.random.normal(k, (m, n)) * np.sqrt(2.0 / n), jnp.zeros(m))
            for k, n, m in zip(ks, sizes[:-1], sizes[1:], strict=True)
        ]

    def lip_net_params(raw):
        return [(lp.gram_normalize(W, num_steps=6), b) for W, b in raw]

    def lip_net(raw, x):
        h = x
        ps = lip_net_params(raw)
        for W, b in ps[:-1]:
            h = lp.maxmin(W @ h + b)
        W, b = ps[-1]
        return W @ h + b

    def train(logits_fn, params, scale, num_steps=400):
        opt = optax.adam(1e-2)

        def loss(p):
            z = jax.vmap(lambda x: logits_fn(p, x))(X_train) * scale
            return optax.softmax_cross_entropy_with_integer_labels(z, y_train).mean()

        def step(carry, _):
            p, s = carry
            val, g = jax.value_and_grad(loss)(p)
            u, s = opt.update(g, s, p)
            return (optax.apply_updates(p, u), s), val

        (p, _), losses = jax.lax.scan(step, (params, opt.init(params)), None, length=num_steps)
        return p, losses

    std_params, _ = jax.jit(lambda p: train(lambda q, x: lp.mlp_apply(q, x), p, 1.0))(
        init(jax.random.key(3), [2, 16, 16, 3])
    )
    lip_raw, _ = jax.jit(lambda p: train(lip_net, p, 10.0))(init(jax.random.key(4), [2, 16, 16, 3]))
    std_fn = lambda x: lp.mlp_apply(std_params, x)  # noqa: E731
    lip_fn = lambda x: lip_net(lip_raw, x)  # noqa: E731
    std_logits = jax.vmap(std_fn)(X_test)
    lip_logits = jax.vmap(lip_fn)(X_test)
    L_prod = lp.upper_bound_product(std_params)
    L_sdp = lp.lipsdp(std_params)
    y_np = np.asarray(y_test)
    correct_std = np.asarray(jnp.argmax(std_logits, 1)) == y_np
    correct_lip = np.asarray(jnp.argmax(lip_logits, 1)) == y_np
    rad = {
        "standard, LipSDP": np.asarray(lp.lipschitz_margin_radius(std_logits, y_test, L_sdp.value)),
        "standard, product": np.asarray(lp.lipschitz_margin_radius(std_logits, y_test, L_prod.value)),
        "1-Lipschitz (Gram + MaxMin)": np.asarray(lp.lipschitz_margin_radius(lip_logits, y_test, 1.0)),
    }
    atk_std = sm.min_adversarial_radius(std_fn, X_test, y_test, r_max=4.0, key=jax.random.key(5))
    atk_lip = sm.min_adversarial_radius(lip_fn, X_test, y_test, r_max=4.0, key=jax.random.key(6))
    atk_std = np.where(correct_std, atk_std, 0.0)
    atk_lip = np.where(correct_lip, atk_lip, 0.0)
    sigmas = [0.12, 0.25, 0.5]
    grid = np.linspace(0, 2.0, 81)
    static = {k: sm.certified_accuracy(r, r > 0, grid) for k, r in rad.items()}
    static["attack, standard (upper bound)"] = sm.certified_accuracy(
        np.nan_to_num(atk_std, posinf=9.9), correct_std, grid
    )
    static["attack, 1-Lipschitz (upper bound)"] = sm.certified_accuracy(
        np.nan_to_num(atk_lip, posinf=9.9), correct_lip, grid
    )
    return sviz.smoothing_explorer(
        std_fn, X_test, y_test, sigmas=sigmas + [1.0], grid=grid, references=static, key=KEY
    )


@example("viz.minimax.game_paths_explorer", "09_minimax")
def _game_paths():
    from optlab.viz import minimax as mviz

    _x64(True)
    ETA, K2 = 0.4, 60
    return mviz.game_paths_explorer(a=0.0, coupling=1.0, learning_rate=ETA, z0=(1.5, 1.0), num_steps=K2)


@example("viz.online.hedge_exp3_explorer", "10_online_learning")
def _hedge_exp3():
    from optlab import linear_solvers
    from optlab.viz import online as viz_online

    _x64(False)
    omegas = jnp.linspace(1.0, 1.9, 10)
    pool = linear_solvers.sor_cost_table(30, 200, omegas, key=jax.random.key(2), num_steps=150)
    T_b = 1000
    order = np.random.default_rng(1).integers(0, 200, T_b)
    costs = pool.costs[order]
    return viz_online.hedge_exp3_explorer(costs, key=jax.random.key(3), stride=4)


@example("viz.constrained.pg_fw_explorer", "11_constrained")
def _pg_fw():
    from optlab.viz import constrained as viz_cs

    _x64(True)
    return viz_cs.pg_fw_explorer(dtype=jnp.float64)


@example("viz.bilevel.hypergradient_explorer", "12_bilevel")
def _hypergradient():
    from optlab.viz import bilevel as viz_bl

    _x64(True)
    rng = np.random.default_rng(0)
    n, n_val, d = 30, 30, 8
    w_true = rng.standard_normal(d)
    X = rng.standard_normal((n, d))
    y = X @ w_true + 1.5 * rng.standard_normal(n)
    Xv = rng.standard_normal((n_val, d))
    yv = Xv @ w_true + 1.5 * rng.standard_normal(n_val)
    lams = np.array([0.3, 1.0, 3.0, 10.0])
    return viz_bl.hypergradient_explorer(X, y, Xv, yv, lams=lams)


@example("viz.landscape.sharpness_explorer", "13_landscape")
def _sharpness():
    from optlab import landscape
    from optlab.viz import landscape as viz_land

    _x64(True)
    g0 = np.random.default_rng(0)
    xr = jnp.asarray(g0.standard_normal((20, 4)))
    yr = jnp.sin(2 * xr[:, 0]) + 0.5 * xr[:, 1] * xr[:, 2]
    theta0 = landscape.mlp_init([4, 32, 1], key=jax.random.key(0), scale=0.5)

    def mse(p):
        return 0.5 * jnp.mean((landscape.mlp_batch_apply(p, xr)[:, 0] - yr) ** 2)

    etas = jnp.array([2 / 3.5, 2 / 4.0, 2 / 6.0, 2 / 30.0])
    eos = jax.vmap(
        lambda e: landscape.gd_with_sharpness(
            mse,
            theta0,
            learning_rate=e,
            num_steps=3000,
            key=jax.random.key(1),
            record_every=20,
            power_num_steps=10,
        )
    )(etas)
    S, Ls = np.asarray(eos.sharpness), np.asarray(eos.losses)
    return viz_land.sharpness_explorer(
        mse,
        theta0,
        key=jax.random.key(1),
        num_steps=3000,
        record_every=20,
        power_num_steps=10,
        learning_rates=[2 / 10, 2 / 6.0, 2 / 4.0, 2 / 3.5],
        learning_rate=2 / 4.0,
        reference=(S[-1], Ls[-1]),
        title="Progressive sharpening, then sharpness pinned at 2/η",
    )


@example("viz.zeroth_order.zo_descent_explorer", "14_zeroth_order")
def _zo_descent():
    from optlab import zeroth_order as zo
    from optlab.viz import zeroth_order as zviz

    _x64(True)
    KEY = jax.random.key(0)
    rng = np.random.default_rng(0)  # cells 2-5 draw from their own generators: cell 6 is rng's first user
    d_lr, n_lr = 50, 400
    A_lr = jnp.asarray(rng.normal(size=(n_lr, d_lr)) / np.sqrt(d_lr))
    y_lr = jnp.asarray(np.sign(A_lr @ rng.normal(size=d_lr) + 0.3 * rng.normal(size=n_lr)))

    def logistic_loss(w):
        return jnp.mean(jnp.logaddexp(0.0, -y_lr * (A_lr @ w))) + 0.005 * jnp.sum(w**2)

    L_lr = float(jnp.linalg.eigvalsh(A_lr.T @ A_lr / (4 * n_lr)).max()) + 0.1
    newton = jax.jit(
        lambda w: w - jnp.linalg.solve(jax.hessian(logistic_loss)(w), jax.grad(logistic_loss)(w))
    )
    w_star = jnp.zeros(d_lr)
    for _ in range(12):
        w_star = newton(w_star)
    f_star = float(logistic_loss(w_star))
    budget = 20 * (d_lr + 4)
    runs = {}
    # the three of cell 7's five runs that the explorer shows (each run is independent of the others)
    for name, lr, steps in [
        ("gradient descent (backprop)", 1 / L_lr, budget // 10),
        ("forward gradient, m = 1", 1 / (L_lr * (d_lr + 4)), budget),
        ("coordinate differences", 1 / L_lr, budget // (2 * d_lr)),
    ]:
        est = {"gradient": "exact", "forward": "forward", "coordinate": "coordinate"}[name.split()[0]]
        res = zo.zo_descent(
            logistic_loss,
            jnp.zeros(d_lr),
            key=KEY,
            learning_rate=lr,
            num_steps=steps,
            estimator=est,
            smoothing=1e-5,
        )
        runs[name] = (np.asarray(res.evaluations), np.asarray(res.values) - f_star)
    lr_zo = 1 / (L_lr * (d_lr + 4))
    return zviz.zo_descent_explorer(
        logistic_loss,
        jnp.zeros(d_lr),
        key=KEY,
        budget=budget,
        f_star=f_star,
        learning_rates=[lr_zo / 4, lr_zo, 4 * lr_zo, 16 * lr_zo],
        learning_rate=lr_zo,
        smoothings=[1e-5, 1e-2, 1.0],
        directions=[1, 4, 16],
        step_scales={"sphere": (d_lr + 4) / d_lr},
        references={
            k: runs[k]
            for k in ["gradient descent (backprop)", "forward gradient, m = 1", "coordinate differences"]
        },
        title="Logistic regression, d = 50: progress per oracle call",
    )


@example("viz.distributed.ef21_explorer", "15_distributed")
def _ef21():
    from optlab import distributed as D
    from optlab.viz import distributed as viz_d

    _x64(True)
    pb = D.heterogeneous_quadratics(key=jax.random.key(0), num_workers=8, dim=100)
    return viz_d.ef21_explorer(pb, ks=[1, 2, 5, 20], learning_rates=[0.2, 0.5, 1.0], num_steps=400)


@example("viz.rl.soft_vi_explorer", "16_rl")
def _soft_vi():
    from optlab.viz import rl as viz_rl

    _x64(True)
    return viz_rl.soft_vi_explorer(
        n=5,
        slip=0.1,
        kappas=[1.0, 0.2, 0.05, 0.005],
        kappa=0.05,
        gammas=[0.5, 0.9, 0.97],
        gamma=0.9,
        num_steps=300,
        trap=(1, 3),
        title="Entropy-regularised optimal policy and its value V^π",
    )


@example("viz.privacy.dp_sgd_explorer", "17_privacy")
def _dp_sgd():
    from optlab import privacy as pv
    from optlab.viz import privacy as pviz

    _x64(False)
    rng = np.random.default_rng(0)
    N, D = 500, 10

    def make_features(m, r):
        y = r.integers(0, 2, m) * 2 - 1.0
        mu = np.zeros(D)
        mu[0] = 1.0
        u = r.normal(size=(m, D)) * 0.8 + y[:, None] * mu
        u /= np.linalg.norm(u, axis=1, keepdims=True)
        return jnp.array(u * r.lognormal(0.0, 1.0, size=(m, 1)), jnp.float32), jnp.array(y, jnp.float32)

    X, y = make_features(N, rng)

    def logistic(w, z):
        return jnp.logaddexp(0.0, -z[1] * (z[0] @ w))

    q_sgd, T_sgd, C_sgd, eta = 0.05, 300, 1.0, 0.5
    DELTA = 1e-5
    full_grad = jax.jit(jax.grad(lambda w: jnp.mean(jax.vmap(logistic, (None, 0))(w, (X, y)))))
    w_np = jnp.zeros(D)
    for _ in range(200):
        w_np = w_np - 0.5 * full_grad(w_np)
    del pv  # the chapter's DP-SGD run (cell 7) is not an input of the explorer
    return pviz.dp_sgd_explorer(
        logistic,
        jnp.zeros(D),
        (X, y),
        key=jax.random.key(2),
        sampling_rate=q_sgd,
        num_steps=T_sgd,
        learning_rate=eta,
        delta=DELTA,
        clip_norms=[0.1, 0.3, 1.0, 3.0],
        clip_norm=C_sgd,
        noise_multipliers=[0.6, 1.0, 2.0, 4.0],
        noise_multiplier=1.0,
        reference=float(jnp.mean(jax.vmap(logistic, (None, 0))(w_np, (X, y)))),
        title="DP-SGD on the logistic regression: training loss",
    )



@example("viz.prox.lasso_explorer", "18_proximal")
def _lasso():
    from optlab import prox as px
    from optlab.viz import prox as viz_px

    _x64(True)
    rng = np.random.default_rng(0)  # the chapter's lasso stream
    N, d, s = 100, 300, 8
    A = rng.normal(size=(N, d))
    x_nat = np.zeros(d)
    support = np.sort(rng.choice(d, s, replace=False))
    x_nat[support] = rng.choice([-1, 1], s) * rng.uniform(1.0, 2.0, s)
    b = A @ x_nat + 0.5 * rng.normal(size=N)
    lam_max = float(px.lasso_reg_max(A, b))
    return viz_px.lasso_explorer(
        A,
        b,
        regs=[0.02 * lam_max, 0.05 * lam_max, 0.1 * lam_max, 0.2 * lam_max, 0.5 * lam_max],
        reg=0.1 * lam_max,
        num_steps=500,
        x_true=x_nat,
        title="The lasso: ISTA, FISTA and restart",
    )

def check_examples(found) -> list:
    """The counted builders, in discovery order; stops if EXAMPLES and the library disagree."""
    counted = [(name, fn) for name, fn, is_explorer in found if is_explorer]
    skipped = [name for name, fn, is_explorer in found if not is_explorer]
    missing = [name for name, _ in counted if name not in EXAMPLES]
    stale = [name for name in EXAMPLES if name not in dict(counted)]
    if missing or stale:
        raise SystemExit(
            f"EXAMPLES out of sync with optlab.viz: builders without an example {missing}; "
            f"examples naming no Explorer builder {stale} (skipped, non-Explorer builders: {skipped})"
        )
    for name, fn in counted:
        nb = BOOK / f"{EXAMPLES[name].chapter}.ipynb"
        cells = json.loads(nb.read_text())["cells"]
        if not any(f"{fn.__name__}(" in "".join(c["source"]) for c in cells if c["cell_type"] == "code"):
            raise SystemExit(
                f"{nb.name} has no code cell calling {fn.__name__}(: fix EXAMPLES[{name!r}].chapter"
            )
    return counted


# -- measurement -------------------------------------------------------------------------
def control_values(control, rng, repeats):
    """Warm-up moves, then ``repeats`` timed moves, as JupyterLab would set them."""
    if control.kind == "dropdown":
        options = list(control.values)
        warm = max(2, len(options))  # every option once (a new option may compile)
        return warm, [options[i % len(options)] for i in range(1, warm + repeats + 1)]
    low, high = control.bounds
    if control.kind == "log_slider":
        return 2, list(10 ** rng.uniform(math.log10(low), math.log10(high), 2 + repeats))
    return 2, list(rng.uniform(low, high, 2 + repeats))


_LOWERINGS = [0]  # jaxprs lowered to MLIR: one per new executable (a cache hit on disk included)


def _count_lowering(event: str, duration: float, **kwargs) -> None:
    if event == "/jax/core/compile/jaxpr_to_mlir_module_duration":
        _LOWERINGS[0] += 1


def measure(ex, repeats):
    """Timed latencies (s), warm-up latencies (s), unchanged moves, and the timed moves that compiled.

    The last is a list of ``(control, value, latency in s, new executables)``.
    """
    box = ex.widget()
    rng = np.random.default_rng(0)
    times, warmup, silent, compiled = [], [], 0, []
    for cname, control in ex.controls.items():
        widget = box.controls[cname]
        warm, values = control_values(control, rng, repeats)
        for i, v in enumerate(values):
            ex.last_latency_s = None
            before = _LOWERINGS[0]
            widget.value = v
            if ex.last_latency_s is None:  # the value did not change: no update ran
                silent += 1
                continue
            (times if i >= warm else warmup).append(ex.last_latency_s)
            if i >= warm and _LOWERINGS[0] > before:
                compiled.append((cname, v, ex.last_latency_s, _LOWERINGS[0] - before))
    return times, warmup, silent, compiled


def machine() -> str:
    load = os.getloadavg()[0]
    return f"1-min load average {load:.2f}, {os.cpu_count()} cores"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=20, help="timed moves per control")
    ap.add_argument(
        "--hang-s", type=float, default=120.0, help="stop (with the stacks) if one explorer takes longer"
    )
    ap.add_argument(
        "--only", nargs="*", default=None, help="qualified names (viz.ot.sinkhorn_explorer) to run"
    )
    args = ap.parse_args()
    found = builders()
    counted = check_examples(found)
    for name, _, is_explorer in found:
        if not is_explorer:
            print(f"note: {name} returns no viz.Explorer (a static plotly figure): skipped")
    if args.only:
        unknown = set(args.only) - {name for name, _ in counted}
        if unknown:
            raise SystemExit(f"--only names no counted builder: {sorted(unknown)}")
        counted = [(n, f) for n, f in counted if n in args.only]
    counted.sort(key=lambda item: EXAMPLES[item[0]].chapter)
    jax.monitoring.register_event_duration_secs_listener(_count_lowering)
    devices = jax.devices()
    print(
        f"device: {jax.default_backend()} ({devices[0].device_kind}, {len(devices)} device(s)); "
        f"JAX {jax.__version__}"
    )
    print(f"start: {machine()}")
    rows, notes = [], []
    t0 = time.perf_counter()
    for name, _ in counted:
        build = EXAMPLES[name]
        tb = time.perf_counter()
        # XLA's CPU runtime can deadlock (seen on 2 cores: two batched triangular solves, each
        # waiting in ParallelBatchMap for the intra-op pool the other one holds): fail, don't hang
        faulthandler.dump_traceback_later(args.hang_s, exit=True)
        ex = build()
        if not isinstance(ex, viz.Explorer):
            raise SystemExit(f"{name} returned {type(ex).__name__}, not a viz.Explorer")
        built = time.perf_counter() - tb
        times, warmup, silent, compiled = measure(ex, args.repeats)
        faulthandler.cancel_dump_traceback_later()
        if not times:
            raise SystemExit(f"{name}: no timed update (every move left the value unchanged)")
        med, worst = statistics.median(times) * 1e3, max(times) * 1e3
        status = "met" if med < TARGET_MS else "MISSED"
        if worst >= TARGET_MS and med < TARGET_MS:
            status += f" (max over: {sum(t * 1e3 >= TARGET_MS for t in times)}/{len(times)} moves)"
        controls = ", ".join(f"{c} ({ex.controls[c].kind.replace('_', ' ')})" for c in ex.controls)
        rows.append(f"| `{name}` | {build.chapter[:2]} | {controls} | {med:.1f} | {worst:.1f} | {status} |")
        notes.append(
            f"{name}: built in {built:.1f} s; warm-up moves max {max(warmup) * 1e3:.0f} ms "
            f"(first {warmup[0] * 1e3:.0f} ms); {len(times)} timed moves"
            + (f"; {silent} moves left the value unchanged" if silent else "")
            + (f"; the slowest timed move is {worst / med:.0f}x the median" if worst > 5 * med else "")
            + "".join(
                f"; COMPILED on a timed move: {c} = {v:.4g} ({t * 1e3:.0f} ms, {k} new executable(s))"
                if isinstance(v, float)
                else f"; COMPILED on a timed move: {c} = {v!r} ({t * 1e3:.0f} ms, {k} new executable(s))"
                for c, v, t, k in compiled
            )
        )
        print(f"  ... {name}: median {med:.1f} ms, max {worst:.1f} ms", flush=True)
    print()
    print(f"| explorer | ch. | controls | median (ms) | max (ms) | target < {TARGET_MS:.0f} ms (median) |")
    print("| --- | --- | --- | ---: | ---: | --- |")
    print("\n".join(rows))
    print()
    print("\n".join(notes))
    print(f"end: {machine()}; total {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
