"""Bad-input cases for optlab.privacy (see README.md here)."""

import jax
import jax.numpy as jnp
import numpy as np

import badinput
from badinput import Bad, Coerce
from optlab import privacy as pv

KEY = jax.random.key(0)
NAN = float("nan")
INF = float("inf")

X = np.array([[1.0, 0.5], [-0.5, 2.0], [0.0, -1.0], [1.5, 1.0]])
Y = np.array([1, 0, 1, 0])  # integer labels stay integers (they may be indices)
PARAMS = {"w": np.array([0.5, -1.0]), "b": np.array(0.2)}
G = {"w": np.array([[3.0, 4.0], [0.1, 0.0], [1.0, -1.0]]), "b": np.array([0.0, 0.2, 5.0])}
G_INT = {"w": np.array([[3, 4], [0, 0], [1, -1]]), "b": np.array([0, 1, 5])}
NET = [(np.array([[1.0, -1.0], [0.5, 2.0]]), np.array([0.1, 0.0])), (np.array([[1.0, -2.0]]), np.array([0.3]))]


def loss(p, z):
    x, y = z
    return jnp.logaddexp(0.0, -(2 * y - 1) * (x @ p["w"] + p["b"]))


def agg_update(updates, **kw):
    agg = pv.dp_aggregate(1.0, 1.0, key=KEY, **kw)
    return agg.update(updates, agg.init(None))[0]


def diff2(**change):
    kw = dict(key=KEY, num_steps=2, learning_rate=0.1, clip_norm=1.0, noise_multiplier_grad=1.0,
              noise_multiplier_diff=1.0, smoothness=1.0, restart_every=2, num_clients=1)
    args = dict(loss=loss, params0=PARAMS, batch=(X, Y))
    for k, v in change.items():
        (args if k in args else kw)[k] = v
    return pv.diff2(args["loss"], args["params0"], args["batch"], **kw)


def sgd_update(lr, clip_norm, sigma, grads):
    opt = pv.dp_sgd(lr, clip_norm, sigma, key=KEY)
    return opt.update(grads, opt.init(PARAMS), PARAMS)[0]


def sq_loss(out, y):
    return 0.5 * jnp.sum((out[0] - y) ** 2)


def ghost_step(**change):
    kw = dict(learning_rate=0.1, clip_norm=1.0, noise_multiplier=1.0, key=KEY)
    params = change.pop("params", NET)
    kw.update(change)
    return pv.ghost_dp_sgd_step(sq_loss, params, (X, Y), **kw)


CASES = [
    # ------------------------------------------------------------ per_example_grads
    Bad("privacy.per_example_grads", "loss", lambda: pv.per_example_grads("loss", PARAMS, (X, Y)), "not callable"),
    Bad("privacy.per_example_grads", "loss", lambda: pv.per_example_grads(None, PARAMS, (X, Y)), "None"),
    Bad("privacy.per_example_grads", "params", lambda: pv.per_example_grads(loss, {**PARAMS, "b": NAN}, (X, Y)),
        "NaN"),
    Bad("privacy.per_example_grads", "params", lambda: pv.per_example_grads(loss, {**PARAMS, "b": "b"}, (X, Y)),
        "string leaf"),
    Bad("privacy.per_example_grads", "params", lambda: pv.per_example_grads(loss, {}, (X, Y)), "empty pytree"),
    Bad("privacy.per_example_grads", "params", lambda: pv.per_example_grads(loss, None, (X, Y)), "None"),
    Bad("privacy.per_example_grads", "batch", lambda: pv.per_example_grads(loss, PARAMS, (X[0, 0], Y[0])),
        "scalar leaves"),
    Bad("privacy.per_example_grads", "batch", lambda: pv.per_example_grads(loss, PARAMS, (X, Y[:3])),
        "batch sizes differ"),
    Bad("privacy.per_example_grads", "batch", lambda: pv.per_example_grads(loss, PARAMS, (X[:0], Y[:0])),
        "no examples"),
    Bad("privacy.per_example_grads", "batch", lambda: pv.per_example_grads(loss, PARAMS, (X * NAN, Y)), "NaN"),
    Bad("privacy.per_example_grads", "batch", lambda: pv.per_example_grads(loss, PARAMS, None), "None"),
    Bad("privacy.per_example_grads", "batch", lambda: pv.per_example_grads(loss, PARAMS, (X, "labels")), "string"),
    Coerce("privacy.per_example_grads",
           lambda: pv.per_example_grads(loss, {"w": np.array([1, -1]), "b": np.array(0)}, (X, Y)),
           lambda: pv.per_example_grads(loss, {"w": np.array([1.0, -1.0]), "b": np.array(0.0)}, (X, Y))),
    # ------------------------------------------------------------ per_example_norms
    Bad("privacy.per_example_norms", "grads", lambda: pv.per_example_norms({}), "empty pytree"),
    Bad("privacy.per_example_norms", "grads", lambda: pv.per_example_norms(None), "None"),
    Bad("privacy.per_example_norms", "grads", lambda: pv.per_example_norms(np.array(3.0)), "scalar"),
    Bad("privacy.per_example_norms", "grads", lambda: pv.per_example_norms({"a": np.ones((3, 2)), "b": np.ones(4)}),
        "batch sizes differ"),
    Bad("privacy.per_example_norms", "grads", lambda: pv.per_example_norms({**G, "b": G["b"] * NAN}), "NaN"),
    Bad("privacy.per_example_norms", "grads", lambda: pv.per_example_norms({**G, "b": "g"}), "string leaf"),
    Bad("privacy.per_example_norms", "grads", lambda: pv.per_example_norms(np.ones((0, 3))), "no examples"),
    Bad("privacy.per_example_norms", "grads", lambda: pv.per_example_norms(np.ones((2, 2)) * 1j), "complex"),
    Coerce("privacy.per_example_norms", lambda: pv.per_example_norms(G_INT),
           lambda: pv.per_example_norms({k: v.astype(float) for k, v in G_INT.items()})),
    # ------------------------------------------------------------ clip_per_example
    Bad("privacy.clip_per_example", "clip_norm", lambda: pv.clip_per_example(G, 0.0), "zero"),
    Bad("privacy.clip_per_example", "clip_norm", lambda: pv.clip_per_example(G, -1.0), "negative"),
    Bad("privacy.clip_per_example", "clip_norm", lambda: pv.clip_per_example(G, NAN), "NaN"),
    Bad("privacy.clip_per_example", "clip_norm", lambda: pv.clip_per_example(G, INF), "inf"),
    Bad("privacy.clip_per_example", "clip_norm", lambda: pv.clip_per_example(G, "1"), "string"),
    Bad("privacy.clip_per_example", "clip_norm", lambda: pv.clip_per_example(G, None), "None"),
    Bad("privacy.clip_per_example", "clip_norm", lambda: pv.clip_per_example(G, np.ones(3)), "array"),
    Bad("privacy.clip_per_example", "grads", lambda: pv.clip_per_example({**G, "w": G["w"] * INF}, 1.0), "inf"),
    Bad("privacy.clip_per_example", "grads", lambda: pv.clip_per_example(np.float32(2.0), 1.0), "scalar"),
    Bad("privacy.clip_per_example", "grads", lambda: pv.clip_per_example({"a": np.ones((2, 1)), "b": np.ones(3)}, 1.0),
        "batch sizes differ"),
    Coerce("privacy.clip_per_example", lambda: pv.clip_per_example(G_INT, 2),
           lambda: pv.clip_per_example({k: v.astype(float) for k, v in G_INT.items()}, 2.0)),
    # ------------------------------------------------------------ dp_aggregate
    Bad("privacy.dp_aggregate", "key", lambda: pv.dp_aggregate(1.0, 1.0, key=0), "integer key"),
    Bad("privacy.dp_aggregate", "key", lambda: pv.dp_aggregate(1.0, 1.0, key=None), "None key"),
    Bad("privacy.dp_aggregate", "key", lambda: pv.dp_aggregate(1.0, 1.0, key=np.ones(2)), "float key"),
    Bad("privacy.dp_aggregate", "clip_norm", lambda: pv.dp_aggregate(0.0, 1.0, key=KEY), "zero"),
    Bad("privacy.dp_aggregate", "clip_norm", lambda: pv.dp_aggregate(NAN, 1.0, key=KEY), "NaN"),
    Bad("privacy.dp_aggregate", "clip_norm", lambda: pv.dp_aggregate([1.0, 2.0], 1.0, key=KEY), "array"),
    Bad("privacy.dp_aggregate", "noise_multiplier", lambda: pv.dp_aggregate(1.0, 0.0, key=KEY), "zero"),
    Bad("privacy.dp_aggregate", "noise_multiplier", lambda: pv.dp_aggregate(1.0, -1.0, key=KEY), "negative"),
    Bad("privacy.dp_aggregate", "noise_multiplier", lambda: pv.dp_aggregate(1.0, INF, key=KEY), "inf"),
    Bad("privacy.dp_aggregate", "noise_multiplier", lambda: pv.dp_aggregate(1.0, "1", key=KEY), "string"),
    Bad("privacy.dp_aggregate", "clip", lambda: pv.dp_aggregate(1.0, 1.0, key=KEY, clip="yes"), "not a bool"),
    Bad("privacy.dp_aggregate", "updates", lambda: agg_update({"a": np.ones(2), "b": np.ones((3, 2))}),
        "batch sizes differ"),
    Bad("privacy.dp_aggregate", "updates", lambda: agg_update(np.array(2.0)), "scalar"),
    Bad("privacy.dp_aggregate", "updates", lambda: agg_update(np.array([[NAN, 1.0]])), "NaN"),
    Coerce("privacy.dp_aggregate", lambda: agg_update(G_INT),
           lambda: agg_update({k: v.astype(float) for k, v in G_INT.items()})),
    # ------------------------------------------------------------ dp_sgd
    Bad("privacy.dp_sgd", "learning_rate", lambda: pv.dp_sgd(0.0, 1.0, 1.0, key=KEY), "zero"),
    Bad("privacy.dp_sgd", "learning_rate", lambda: pv.dp_sgd(-0.1, 1.0, 1.0, key=KEY), "negative"),
    Bad("privacy.dp_sgd", "learning_rate", lambda: pv.dp_sgd("fast", 1.0, 1.0, key=KEY), "string"),
    Bad("privacy.dp_sgd", "learning_rate", lambda: pv.dp_sgd(NAN, 1.0, 1.0, key=KEY), "NaN"),
    Bad("privacy.dp_sgd", "clip_norm", lambda: pv.dp_sgd(0.1, -1.0, 1.0, key=KEY), "negative"),
    Bad("privacy.dp_sgd", "noise_multiplier", lambda: pv.dp_sgd(0.1, 1.0, 0.0, key=KEY), "zero"),
    Bad("privacy.dp_sgd", "key", lambda: pv.dp_sgd(0.1, 1.0, 1.0, key=42), "integer key"),
    Bad("privacy.dp_sgd", "key", lambda: pv.dp_sgd(0.1, 1.0, 1.0, key=np.int64(42)), "numpy integer key"),
    Bad("privacy.dp_sgd", "key", lambda: pv.dp_sgd(0.1, 1.0, 1.0, key="key"), "string key"),
    Bad("privacy.dp_sgd", "clip", lambda: pv.dp_sgd(0.1, 1.0, 1.0, key=KEY, clip=None), "None clip"),
    Coerce("privacy.dp_sgd", lambda: sgd_update(1, 2, 1, G_INT),
           lambda: sgd_update(1.0, 2.0, 1.0, {k: v.astype(float) for k, v in G_INT.items()})),
    # ------------------------------------------------------------ accountant
    Bad("privacy.rdp_gaussian", "noise_multiplier", lambda: pv.rdp_gaussian(0.0), "zero"),
    Bad("privacy.rdp_gaussian", "noise_multiplier", lambda: pv.rdp_gaussian(-2.0), "negative"),
    Bad("privacy.rdp_gaussian", "noise_multiplier", lambda: pv.rdp_gaussian(NAN), "NaN"),
    Bad("privacy.rdp_gaussian", "noise_multiplier", lambda: pv.rdp_gaussian(INF), "inf"),
    Bad("privacy.rdp_gaussian", "noise_multiplier", lambda: pv.rdp_gaussian("1"), "string"),
    Bad("privacy.rdp_gaussian", "noise_multiplier", lambda: pv.rdp_gaussian(None), "None"),
    Bad("privacy.rdp_gaussian", "noise_multiplier", lambda: pv.rdp_gaussian([1.0, 2.0]), "array"),
    Bad("privacy.rdp_gaussian", "orders", lambda: pv.rdp_gaussian(1.0, [1, 2]), "order 1"),
    Bad("privacy.rdp_gaussian", "orders", lambda: pv.rdp_gaussian(1.0, [2.5, 3]), "fractional"),
    Bad("privacy.rdp_gaussian", "orders", lambda: pv.rdp_gaussian(1.0, []), "empty"),
    Bad("privacy.rdp_gaussian", "orders", lambda: pv.rdp_gaussian(1.0, "abc"), "string"),
    Bad("privacy.rdp_gaussian", "orders", lambda: pv.rdp_gaussian(1.0, [[2, 3]]), "2-D"),
    Bad("privacy.rdp_gaussian", "orders", lambda: pv.rdp_gaussian(1.0, [2, NAN]), "NaN"),
    Bad("privacy.rdp_gaussian", "orders", lambda: pv.rdp_gaussian(1.0, None), "None"),
    Coerce("privacy.rdp_gaussian", lambda: pv.rdp_gaussian(2, np.array([2.0, 3.0])), lambda: pv.rdp_gaussian(2.0, [2, 3])),
    Bad("privacy.rdp_subsampled_gaussian", "sampling_rate", lambda: pv.rdp_subsampled_gaussian(0.0, 1.0), "zero"),
    Bad("privacy.rdp_subsampled_gaussian", "sampling_rate", lambda: pv.rdp_subsampled_gaussian(1.5, 1.0), "above 1"),
    Bad("privacy.rdp_subsampled_gaussian", "sampling_rate", lambda: pv.rdp_subsampled_gaussian(-0.1, 1.0), "negative"),
    Bad("privacy.rdp_subsampled_gaussian", "sampling_rate", lambda: pv.rdp_subsampled_gaussian(NAN, 1.0), "NaN"),
    Bad("privacy.rdp_subsampled_gaussian", "sampling_rate", lambda: pv.rdp_subsampled_gaussian("q", 1.0), "string"),
    Bad("privacy.rdp_subsampled_gaussian", "sampling_rate", lambda: pv.rdp_subsampled_gaussian([0.1, 0.2], 1.0),
        "array"),
    Bad("privacy.rdp_subsampled_gaussian", "noise_multiplier", lambda: pv.rdp_subsampled_gaussian(0.1, 0.0), "zero"),
    Bad("privacy.rdp_subsampled_gaussian", "noise_multiplier", lambda: pv.rdp_subsampled_gaussian(0.1, None), "None"),
    Bad("privacy.rdp_subsampled_gaussian", "orders", lambda: pv.rdp_subsampled_gaussian(0.1, 1.0, [0, 2]), "order 0"),
    Bad("privacy.rdp_subsampled_gaussian", "orders", lambda: pv.rdp_subsampled_gaussian(0.1, 1.0, 5), "scalar"),
    Coerce("privacy.rdp_subsampled_gaussian", lambda: pv.rdp_subsampled_gaussian(1, 2, [2, 3]),
           lambda: pv.rdp_subsampled_gaussian(1.0, 2.0, [2, 3])),
    Bad("privacy.rdp_to_epsilon", "rdp", lambda: pv.rdp_to_epsilon([2, 3], [0.1], 1e-5), "shape"),
    Bad("privacy.rdp_to_epsilon", "rdp", lambda: pv.rdp_to_epsilon([2, 3], [0.1, -0.2], 1e-5), "negative"),
    Bad("privacy.rdp_to_epsilon", "rdp", lambda: pv.rdp_to_epsilon([2, 3], [0.1, NAN], 1e-5), "NaN"),
    Bad("privacy.rdp_to_epsilon", "rdp", lambda: pv.rdp_to_epsilon([2, 3], ["a", "b"], 1e-5), "strings"),
    Bad("privacy.rdp_to_epsilon", "rdp", lambda: pv.rdp_to_epsilon([2, 3], None, 1e-5), "None"),
    Bad("privacy.rdp_to_epsilon", "delta", lambda: pv.rdp_to_epsilon([2, 3], [0.1, 0.2], 0.0), "zero"),
    Bad("privacy.rdp_to_epsilon", "delta", lambda: pv.rdp_to_epsilon([2, 3], [0.1, 0.2], 1.0), "one"),
    Bad("privacy.rdp_to_epsilon", "delta", lambda: pv.rdp_to_epsilon([2, 3], [0.1, 0.2], NAN), "NaN"),
    Bad("privacy.rdp_to_epsilon", "delta", lambda: pv.rdp_to_epsilon([2, 3], [0.1, 0.2], "1e-5"), "string"),
    Bad("privacy.rdp_to_epsilon", "conversion", lambda: pv.rdp_to_epsilon([2, 3], [0.1, 0.2], 1e-5, conversion="zcdp"),
        "unknown"),
    Bad("privacy.rdp_to_epsilon", "conversion", lambda: pv.rdp_to_epsilon([2, 3], [0.1, 0.2], 1e-5, conversion=None),
        "None"),
    Bad("privacy.rdp_to_epsilon", "orders", lambda: pv.rdp_to_epsilon([1, 3], [0.1, 0.2], 1e-5), "order 1"),
    Coerce("privacy.rdp_to_epsilon", lambda: pv.rdp_to_epsilon([2, 3], [1, 2], 1e-5),
           lambda: pv.rdp_to_epsilon([2, 3], np.array([1.0, 2.0]), 1e-5)),
    Bad("privacy.dp_sgd_privacy", "noise_multiplier", lambda: pv.dp_sgd_privacy(-1.0, 0.1, num_steps=10, delta=1e-5), "negative"),
    Bad("privacy.dp_sgd_privacy", "noise_multiplier", lambda: pv.dp_sgd_privacy(NAN, 0.1, num_steps=10, delta=1e-5), "NaN"),
    Bad("privacy.dp_sgd_privacy", "sampling_rate", lambda: pv.dp_sgd_privacy(1.0, 0.0, num_steps=10, delta=1e-5), "zero"),
    Bad("privacy.dp_sgd_privacy", "sampling_rate", lambda: pv.dp_sgd_privacy(1.0, 1.01, num_steps=10, delta=1e-5), "above 1"),
    Bad("privacy.dp_sgd_privacy", "num_steps", lambda: pv.dp_sgd_privacy(1.0, 0.1, num_steps=0, delta=1e-5), "zero"),
    Bad("privacy.dp_sgd_privacy", "num_steps", lambda: pv.dp_sgd_privacy(1.0, 0.1, num_steps=10.5, delta=1e-5), "float"),
    Bad("privacy.dp_sgd_privacy", "num_steps", lambda: pv.dp_sgd_privacy(1.0, 0.1, num_steps="10", delta=1e-5), "string"),
    Bad("privacy.dp_sgd_privacy", "num_steps", lambda: pv.dp_sgd_privacy(1.0, 0.1, num_steps=True, delta=1e-5), "bool"),
    Bad("privacy.dp_sgd_privacy", "delta", lambda: pv.dp_sgd_privacy(1.0, 0.1, num_steps=10, delta=1.0), "one"),
    Bad("privacy.dp_sgd_privacy", "delta", lambda: pv.dp_sgd_privacy(1.0, 0.1, num_steps=10, delta=-1e-5), "negative"),
    Bad("privacy.dp_sgd_privacy", "delta", lambda: pv.dp_sgd_privacy(1.0, 0.1, num_steps=10, delta=None), "None"),
    Bad("privacy.dp_sgd_privacy", "orders", lambda: pv.dp_sgd_privacy(1.0, 0.1, num_steps=10, delta=1e-5, orders=[1.5]), "fractional"),
    Bad("privacy.dp_sgd_privacy", "conversion",
        lambda: pv.dp_sgd_privacy(1.0, 0.1, num_steps=10, delta=1e-5, conversion="gdp"), "unknown"),
    Coerce("privacy.dp_sgd_privacy", lambda: pv.dp_sgd_privacy(2, 1, num_steps=np.int64(10), delta=1e-5, orders=np.array([2.0, 3.0])),
           lambda: pv.dp_sgd_privacy(2.0, 1.0, num_steps=10, delta=1e-5, orders=[2, 3])),
    Bad("privacy.calibrate_noise", "target_epsilon", lambda: pv.calibrate_noise(0.0, 1e-5, 0.1, num_steps=10), "zero"),
    Bad("privacy.calibrate_noise", "target_epsilon", lambda: pv.calibrate_noise(-1.0, 1e-5, 0.1, num_steps=10), "negative"),
    Bad("privacy.calibrate_noise", "target_epsilon", lambda: pv.calibrate_noise(NAN, 1e-5, 0.1, num_steps=10), "NaN"),
    Bad("privacy.calibrate_noise", "target_epsilon", lambda: pv.calibrate_noise(INF, 1e-5, 0.1, num_steps=10), "inf"),
    Bad("privacy.calibrate_noise", "target_epsilon", lambda: pv.calibrate_noise("1", 1e-5, 0.1, num_steps=10), "string"),
    Bad("privacy.calibrate_noise", "delta", lambda: pv.calibrate_noise(1.0, 0.0, 0.1, num_steps=10), "zero"),
    Bad("privacy.calibrate_noise", "sampling_rate", lambda: pv.calibrate_noise(1.0, 1e-5, 2.0, num_steps=10), "above 1"),
    Bad("privacy.calibrate_noise", "num_steps", lambda: pv.calibrate_noise(1.0, 1e-5, 0.1, num_steps=-5), "negative"),
    Bad("privacy.calibrate_noise", "tol", lambda: pv.calibrate_noise(1.0, 1e-5, 0.1, num_steps=10, tol=0.0), "zero"),
    Bad("privacy.calibrate_noise", "tol", lambda: pv.calibrate_noise(1.0, 1e-5, 0.1, num_steps=10, tol=1.5), "above 1"),
    Bad("privacy.calibrate_noise", "orders", lambda: pv.calibrate_noise(1.0, 1e-5, 0.1, num_steps=10, orders=[]), "empty"),
    Coerce("privacy.calibrate_noise", lambda: pv.calibrate_noise(2, 1e-5, 1, num_steps=10, orders=[2, 4, 8]),
           lambda: pv.calibrate_noise(2.0, 1e-5, 1.0, num_steps=10, orders=[2, 4, 8])),
    # ------------------------------------------------------------ Lipschitz-network bounds
    Bad("privacy.param_grad_bound", "layer_norms", lambda: pv.param_grad_bound([-1.0], [0.0], 1.0), "negative"),
    Bad("privacy.param_grad_bound", "layer_norms", lambda: pv.param_grad_bound([NAN], [0.0], 1.0), "NaN"),
    Bad("privacy.param_grad_bound", "layer_norms", lambda: pv.param_grad_bound([], [], 1.0), "empty"),
    Bad("privacy.param_grad_bound", "layer_norms", lambda: pv.param_grad_bound("ab", [0.0, 0.0], 1.0), "string"),
    Bad("privacy.param_grad_bound", "layer_norms", lambda: pv.param_grad_bound([[1.0]], [0.0], 1.0), "2-D"),
    Bad("privacy.param_grad_bound", "bias_norms", lambda: pv.param_grad_bound([1.0, 1.0], [0.0], 1.0), "length"),
    Bad("privacy.param_grad_bound", "bias_norms", lambda: pv.param_grad_bound([1.0], [-0.5], 1.0), "negative"),
    Bad("privacy.param_grad_bound", "bias_norms", lambda: pv.param_grad_bound([1.0], None, 1.0), "None"),
    Bad("privacy.param_grad_bound", "x_norms", lambda: pv.param_grad_bound([1.0], [0.0], np.array([-1.0])), "negative"),
    Bad("privacy.param_grad_bound", "x_norms", lambda: pv.param_grad_bound([1.0], [0.0], INF), "inf"),
    Bad("privacy.param_grad_bound", "x_norms", lambda: pv.param_grad_bound([1.0], [0.0], "1"), "string"),
    Bad("privacy.param_grad_bound", "loss_lipschitz", lambda: pv.param_grad_bound([1.0], [0.0], 1.0, loss_lipschitz=0.0),
        "zero"),
    Bad("privacy.param_grad_bound", "loss_lipschitz",
        lambda: pv.param_grad_bound([1.0], [0.0], 1.0, loss_lipschitz=[1.0, 2.0]), "array"),
    Coerce("privacy.param_grad_bound", lambda: pv.param_grad_bound([2, 1], [1, 0], [1, 3], loss_lipschitz=2),
           lambda: pv.param_grad_bound(np.array([2.0, 1.0]), [1.0, 0.0], np.array([1.0, 3.0]), loss_lipschitz=2.0)),
    Bad("privacy.mlp_grad_bound", "params", lambda: pv.mlp_grad_bound([], 1.0), "empty"),
    Bad("privacy.mlp_grad_bound", "params", lambda: pv.mlp_grad_bound([(np.ones(2), np.ones(2))], 1.0), "1-D W"),
    Bad("privacy.mlp_grad_bound", "params", lambda: pv.mlp_grad_bound([(np.full((2, 2), NAN), np.ones(2))], 1.0), "NaN"),
    Bad("privacy.mlp_grad_bound", "x_norms", lambda: pv.mlp_grad_bound(NET, -1.0), "negative"),
    Bad("privacy.mlp_grad_bound", "x_norms", lambda: pv.mlp_grad_bound(NET, None), "None"),
    Bad("privacy.mlp_grad_bound", "num_steps", lambda: pv.mlp_grad_bound(NET, 1.0, num_steps=-1), "negative"),
    Bad("privacy.mlp_grad_bound", "loss_lipschitz", lambda: pv.mlp_grad_bound(NET, 1.0, loss_lipschitz=-1.0),
        "negative"),
    Coerce("privacy.mlp_grad_bound", lambda: pv.mlp_grad_bound([([[1, 0], [0, 2]], [1, 0])], [1, 2]),
           lambda: pv.mlp_grad_bound([(np.array([[1.0, 0], [0, 2]]), np.array([1.0, 0]))], np.array([1.0, 2.0]))),
    Bad("privacy.project_mlp", "params", lambda: pv.project_mlp({"W": np.ones((2, 2))}), "dict"),
    Bad("privacy.project_mlp", "params", lambda: pv.project_mlp([]), "empty"),
    Bad("privacy.project_mlp", "params", lambda: pv.project_mlp([(np.ones((2, 2)), np.ones(3))]), "bias length"),
    Bad("privacy.project_mlp", "params", lambda: pv.project_mlp([(np.full((2, 2), INF), np.ones(2))]), "inf"),
    Bad("privacy.project_mlp", "max_norm", lambda: pv.project_mlp(NET, 0.0), "zero"),
    Bad("privacy.project_mlp", "max_norm", lambda: pv.project_mlp(NET, NAN), "NaN"),
    Bad("privacy.project_mlp", "max_bias", lambda: pv.project_mlp(NET, 1.0, -1.0), "negative"),
    Bad("privacy.project_mlp", "max_bias", lambda: pv.project_mlp(NET, 1.0, "1"), "string"),
    Bad("privacy.project_mlp", "num_steps", lambda: pv.project_mlp(NET, num_steps=-1), "negative"),
    Bad("privacy.project_mlp", "num_steps", lambda: pv.project_mlp(NET, num_steps=2.0), "float"),
    Coerce("privacy.project_mlp", lambda: pv.project_mlp([([[3, 0], [0, 1]], [2, 0])], 1, 1),
           lambda: pv.project_mlp([(np.array([[3.0, 0], [0, 1]]), np.array([2.0, 0]))], 1.0, 1.0)),
    # ------------------------------------------------------------ DIFF2
    Bad("privacy.diff2", "loss", lambda: diff2(loss=3), "not callable"),
    Bad("privacy.diff2", "key", lambda: diff2(key=0), "integer key"),
    Bad("privacy.diff2", "key", lambda: diff2(key=None), "None key"),
    Bad("privacy.diff2", "num_steps", lambda: diff2(num_steps=0), "zero"),
    Bad("privacy.diff2", "num_steps", lambda: diff2(num_steps=2.0), "float"),
    Bad("privacy.diff2", "learning_rate", lambda: diff2(learning_rate=0.0), "zero"),
    Bad("privacy.diff2", "learning_rate", lambda: diff2(learning_rate="0.1"), "string"),
    Bad("privacy.diff2", "clip_norm", lambda: diff2(clip_norm=-1.0), "negative"),
    Bad("privacy.diff2", "noise_multiplier_grad", lambda: diff2(noise_multiplier_grad=0.0), "zero"),
    Bad("privacy.diff2", "noise_multiplier_diff", lambda: diff2(noise_multiplier_diff=NAN), "NaN"),
    Bad("privacy.diff2", "smoothness", lambda: diff2(smoothness=0.0), "zero"),
    Bad("privacy.diff2", "restart_every", lambda: diff2(restart_every=0), "zero"),
    Bad("privacy.diff2", "num_clients", lambda: diff2(num_clients=0), "zero"),
    Bad("privacy.diff2", "num_clients", lambda: diff2(num_clients=3), "does not divide"),
    Bad("privacy.diff2", "params0", lambda: diff2(params0={**PARAMS, "b": NAN}), "NaN"),
    Bad("privacy.diff2", "params0", lambda: diff2(params0={**PARAMS, "w": "w"}), "string"),
    Bad("privacy.diff2", "batch", lambda: diff2(batch=(X, Y[:2])), "batch sizes differ"),
    Bad("privacy.diff2", "batch", lambda: diff2(batch=(X * INF, Y)), "inf"),
    Coerce("privacy.diff2", lambda: diff2(params0={"w": np.array([1, -1]), "b": np.array(0)}, learning_rate=1).params,
           lambda: diff2(params0={"w": np.array([1.0, -1.0]), "b": np.array(0.0)}, learning_rate=1.0).params),
    Bad("privacy.diff2_privacy", "noise_multiplier_grad", lambda: pv.diff2_privacy(0.0, 1.0, num_steps=10, restart_every=2, delta=1e-5), "zero"),
    Bad("privacy.diff2_privacy", "noise_multiplier_diff", lambda: pv.diff2_privacy(1.0, -1.0, num_steps=10, restart_every=2, delta=1e-5), "negative"),
    Bad("privacy.diff2_privacy", "noise_multiplier_diff", lambda: pv.diff2_privacy(1.0, "1", num_steps=10, restart_every=2, delta=1e-5), "string"),
    Bad("privacy.diff2_privacy", "num_steps", lambda: pv.diff2_privacy(1.0, 1.0, num_steps=0, restart_every=2, delta=1e-5), "zero"),
    Bad("privacy.diff2_privacy", "restart_every", lambda: pv.diff2_privacy(1.0, 1.0, num_steps=10, restart_every=0, delta=1e-5), "zero"),
    Bad("privacy.diff2_privacy", "restart_every", lambda: pv.diff2_privacy(1.0, 1.0, num_steps=10, restart_every=2.5, delta=1e-5), "float"),
    Bad("privacy.diff2_privacy", "delta", lambda: pv.diff2_privacy(1.0, 1.0, num_steps=10, restart_every=2, delta=0.0), "zero"),
    Bad("privacy.diff2_privacy", "delta", lambda: pv.diff2_privacy(1.0, 1.0, num_steps=10, restart_every=2, delta=2.0), "above 1"),
    Bad("privacy.diff2_privacy", "orders", lambda: pv.diff2_privacy(1.0, 1.0, num_steps=10, restart_every=2, delta=1e-5, orders=[1]), "order 1"),
    Coerce("privacy.diff2_privacy", lambda: pv.diff2_privacy(1, 2, num_steps=10, restart_every=2, delta=1e-5),
           lambda: pv.diff2_privacy(1.0, 2.0, num_steps=10, restart_every=2, delta=1e-5)),
    # ------------------------------------------------------------ ghost clipping (book-keeping)
    Bad("privacy.ghost_norms", "output_loss", lambda: pv.ghost_norms("loss", NET, (X, Y)), "not callable"),
    Bad("privacy.ghost_norms", "params", lambda: pv.ghost_norms(sq_loss, [], (X, Y)), "empty list"),
    Bad("privacy.ghost_norms", "params", lambda: pv.ghost_norms(sq_loss, [(np.full((2, 2), NAN), np.ones(2))], (X, Y)),
        "NaN"),
    Bad("privacy.ghost_norms", "batch", lambda: pv.ghost_norms(sq_loss, NET, X), "not a pair"),
    Bad("privacy.ghost_norms", "batch", lambda: pv.ghost_norms(sq_loss, NET, (X[:, :1], Y)), "wrong input width"),
    Bad("privacy.ghost_norms", "batch", lambda: pv.ghost_norms(sq_loss, NET, (X, Y[:3])), "batch sizes differ"),
    Bad("privacy.ghost_norms", "batch", lambda: pv.ghost_norms(sq_loss, NET, (X * INF, Y)), "inf"),
    Bad("privacy.ghost_norms", "batch", lambda: pv.ghost_norms(sq_loss, NET, ("X", Y)), "string inputs"),
    Bad("privacy.ghost_norms", "activation", lambda: pv.ghost_norms(sq_loss, NET, (X, Y), activation="gelu"),
        "unknown"),
    Coerce("privacy.ghost_norms", lambda: pv.ghost_norms(sq_loss, [([[1, -1], [1, 2]], [0, 0]), ([[1, -2]], [0])],
                                                         ([[1, 2], [0, 1]], np.array([1, 0]))),
           lambda: pv.ghost_norms(sq_loss, [(np.array([[1.0, -1], [1, 2]]), np.zeros(2)),
                                            (np.array([[1.0, -2]]), np.zeros(1))],
                                  (np.array([[1.0, 2], [0, 1]]), np.array([1.0, 0.0])))),
    Bad("privacy.ghost_clip", "clip_norm", lambda: pv.ghost_clip(sq_loss, NET, (X, Y), 0.0), "zero"),
    Bad("privacy.ghost_clip", "clip_norm", lambda: pv.ghost_clip(sq_loss, NET, (X, Y), NAN), "NaN"),
    Bad("privacy.ghost_clip", "clip_norm", lambda: pv.ghost_clip(sq_loss, NET, (X, Y), "1"), "string"),
    Bad("privacy.ghost_clip", "output_loss", lambda: pv.ghost_clip(None, NET, (X, Y), 1.0), "None"),
    Bad("privacy.ghost_clip", "batch", lambda: pv.ghost_clip(sq_loss, NET, (X[None, None], Y), 1.0), "4-D inputs"),
    Coerce("privacy.ghost_clip", lambda: pv.ghost_clip(sq_loss, NET, (X, Y), 1).norms,
           lambda: pv.ghost_clip(sq_loss, NET, (X, Y), 1.0).norms),
    Bad("privacy.ghost_dp_sgd_step", "learning_rate", lambda: ghost_step(learning_rate=0.0), "zero"),
    Bad("privacy.ghost_dp_sgd_step", "clip_norm", lambda: ghost_step(clip_norm=-1.0), "negative"),
    Bad("privacy.ghost_dp_sgd_step", "noise_multiplier", lambda: ghost_step(noise_multiplier=INF), "inf"),
    Bad("privacy.ghost_dp_sgd_step", "key", lambda: ghost_step(key=0), "integer key"),
    Bad("privacy.ghost_dp_sgd_step", "key", lambda: ghost_step(key=None), "None key"),
    Bad("privacy.ghost_dp_sgd_step", "params", lambda: ghost_step(params=[(np.ones((2, 2)), np.ones(3))]),
        "bias length"),
    Coerce("privacy.ghost_dp_sgd_step", lambda: ghost_step(learning_rate=1, clip_norm=1)[0][0],
           lambda: ghost_step(learning_rate=1.0, clip_norm=1.0)[0][0]),
]

EXEMPT = {
    "DEFAULT_ORDERS": "a constant",
    "DPAggregateState": "NamedTuple state type",
    "PrivacySpent": "NamedTuple result type",
    "DIFF2Output": "NamedTuple result type",
    "GhostClipResult": "NamedTuple result type",
}

assert all(isinstance(c, (badinput.Bad, badinput.Coerce)) for c in CASES)
