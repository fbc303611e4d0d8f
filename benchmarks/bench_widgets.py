"""Response time of live ipywidgets figures (optlab.viz.live) after warm-up.

    python benchmarks/bench_widgets.py [--repeats 50]

Drives the widgets the way JupyterLab does, by setting a control's value, and times
the callback until the FigureWidget holds the new data (the browser's redraw is not
included: no kernel-side work remains by then).  Target: under 100 ms per update.
"""

from __future__ import annotations

import argparse
import statistics
import time

import ipywidgets
import jax
import jax.numpy as jnp
import numpy as np

from optlab import first_order, problems, runner, viz


def trajectory_widget():
    q = problems.quadratic(kappa=20.0, dim=2)
    start = jnp.array([-1.3, 1.1])
    path = jax.jit(lambda eta: runner.run(first_order.gd(eta), q, start, num_steps=60).iterates)
    fig = viz.contour_trajectories(q.value, {"GD": np.asarray(path(0.5))}, xlim=(-1.6, 1.6), ylim=(-1.6, 1.6))

    def redraw(fig, eta):
        p = np.asarray(path(eta))
        fig.data[1].x, fig.data[1].y = p[:, 0], p[:, 1]

    control = ipywidgets.FloatSlider(value=0.5, min=0.05, max=2.1, step=0.01)
    return "2-D GD path, step-size slider", viz.live(redraw, fig, eta=control), control


def sweep_widget():
    q = problems.quadratic(kappa=100.0, dim=50, key=jax.random.key(0))
    compiled = runner.compile_sweep(lambda h: first_order.heavy_ball(h[0], h[1]), q, num_steps=300)
    fig = viz.convergence_figure({"heavy ball": np.ones(301)})

    def redraw(fig, beta):
        tr = compiled(jnp.array([[1.0, beta]]), q.x0)
        fig.data[0].y = np.asarray(tr.values[0])

    control = ipywidgets.FloatSlider(value=0.5, min=0.0, max=0.99, step=0.01)
    return "convergence curve, momentum slider (d = 50, 300 steps)", viz.live(redraw, fig, beta=control), control


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=50)
    args = ap.parse_args()
    print(f"device: {jax.default_backend()}")
    for name, box, control in (trajectory_widget(), sweep_widget()):
        rng = np.random.default_rng(0)
        values = rng.uniform(control.min, control.max, args.repeats + 5)
        times = []
        for i, v in enumerate(values):
            t0 = time.perf_counter()
            control.value = float(v)
            dt = time.perf_counter() - t0
            if i >= 5:  # warm-up: compilation of the first calls
                times.append(dt)
        med, worst = statistics.median(times) * 1e3, max(times) * 1e3
        status = "OK" if worst < 100 else "OVER 100 ms"
        print(f"{name}: median {med:.1f} ms, max {worst:.1f} ms over {len(times)} updates [{status}]")


if __name__ == "__main__":
    main()
