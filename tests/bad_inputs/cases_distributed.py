"""Bad-input cases for optlab.distributed (see README.md in this folder)."""

import jax
import jax.numpy as jnp
import numpy as np

import badinput
from optlab import distributed as D

Bad, Coerce = badinput.Bad, badinput.Coerce
KEY = jax.random.key(0)


def pb():
    return D.heterogeneous_quadratics(key=KEY, num_workers=2, dim=4)


def hq(**kw):
    return D.heterogeneous_quadratics(**{"key": KEY, "num_workers": 2, "dim": 3, **kw})


def game(**kw):
    return D.distributed_bilinear_game(**{"key": KEY, "num_workers": 2, "dim": 3, **kw})


def run(method="naive", C=None, learning_rate=0.1, T=3, **kw):
    return D.run_compressed(method, pb(), C or D.TopK(2), learning_rate=learning_rate, num_steps=T, **kw)


CASES = [
    Bad("distributed.TopK", "k", lambda: D.TopK(0), "k = 0"),
    Bad("distributed.TopK", "k", lambda: D.TopK(2.5), "float k"),
    Bad("distributed.TopK", "k", lambda: D.TopK("2"), "string k"),
    Bad("distributed.TopK", "v", lambda: D.TopK(2)(jnp.ones((2, 3))), "2-D message"),
    Bad("distributed.TopK", "v", lambda: D.TopK(2)("v"), "string message"),
    Coerce("distributed.TopK", lambda: D.TopK(2)([3, -1, 5]), lambda: D.TopK(2)(np.array([3.0, -1.0, 5.0]))),
    Coerce("distributed.TopK", lambda: D.TopK(9)([3, -1, 5]), lambda: np.array([3.0, -1.0, 5.0]), why="k > d keeps all"),
    Bad("distributed.RandK", "k", lambda: D.RandK(-1), "negative k"),
    Bad("distributed.RandK", "scaled", lambda: D.RandK(2, scaled="yes"), "string flag"),
    Bad("distributed.RandK", "key", lambda: D.RandK(2)(jnp.ones(5)), "no key"),
    Bad("distributed.RandK", "key", lambda: D.RandK(2)(jnp.ones(5), 0), "integer key"),
    Bad("distributed.RandK", "v", lambda: D.RandK(2)(None, KEY), "None message"),
    Coerce("distributed.RandK", lambda: D.RandK(2)([1, 2, 3, 4], KEY), lambda: D.RandK(2)(np.arange(1.0, 5.0), KEY)),
    Bad("distributed.Identity", "v", lambda: D.Identity()("abc"), "string message"),
    Bad("distributed.Identity", "v", lambda: D.Identity()(np.ones((2, 2))), "2-D message"),
    Coerce("distributed.Identity", lambda: D.Identity()([1, 2]), lambda: np.array([1.0, 2.0])),
    Bad("distributed.heterogeneous_quadratics", "key", lambda: hq(key="0"), "string key"),
    Bad("distributed.heterogeneous_quadratics", "key", lambda: hq(key=0), "integer seed"),
    Bad("distributed.heterogeneous_quadratics", "key", lambda: hq(key=jax.random.split(KEY, 2)), "batch of keys"),
    Bad("distributed.heterogeneous_quadratics", "num_workers", lambda: hq(num_workers=0), "zero"),
    Bad("distributed.heterogeneous_quadratics", "dim", lambda: hq(dim=2.0), "float dim"),
    Bad("distributed.heterogeneous_quadratics", "spectrum", lambda: hq(spectrum=(1.0, 0.5)), "low > high"),
    Bad("distributed.heterogeneous_quadratics", "spectrum", lambda: hq(spectrum=(-1.0, 1.0)), "negative low"),
    Bad("distributed.heterogeneous_quadratics", "spectrum", lambda: hq(spectrum=(0.1,)), "not a pair"),
    Bad("distributed.heterogeneous_quadratics", "spectrum", lambda: hq(spectrum="ab"), "string"),
    Bad("distributed.heterogeneous_quadratics", "spectrum", lambda: hq(spectrum=(0.1, np.inf)), "inf"),
    Bad("distributed.heterogeneous_quadratics", "offset_scale", lambda: hq(offset_scale=np.nan), "NaN"),
    Bad("distributed.heterogeneous_quadratics", "offset_scale", lambda: hq(offset_scale=-1.0), "negative"),
    Coerce("distributed.heterogeneous_quadratics",
           lambda: hq(spectrum=[1, 2], offset_scale=2).z_star,
           lambda: hq(spectrum=(1.0, 2.0), offset_scale=2.0).z_star),
    Bad("distributed.distributed_bilinear_game", "reg", lambda: game(reg=0.0), "zero reg"),
    Bad("distributed.distributed_bilinear_game", "reg", lambda: game(reg="1"), "string reg"),
    Bad("distributed.distributed_bilinear_game", "coupling", lambda: game(coupling=np.inf), "inf coupling"),
    Bad("distributed.distributed_bilinear_game", "dim", lambda: game(dim=0), "zero dim"),
    Bad("distributed.distributed_bilinear_game", "key", lambda: game(key=1.5), "float seed"),
    Coerce("distributed.distributed_bilinear_game", lambda: game(reg=1, coupling=2).z_star,
           lambda: game(reg=1.0, coupling=2.0).z_star),
    Bad("distributed.worker_mesh", "num_workers", lambda: D.worker_mesh(0), "zero workers"),
    Bad("distributed.worker_mesh", "num_workers", lambda: D.worker_mesh("8"), "string"),
    Bad("distributed.worker_mesh", "devices", lambda: D.worker_mesh(2, []), "no devices"),
    Bad("distributed.worker_mesh", "devices", lambda: D.worker_mesh(2, ["cpu"]), "strings"),
    Bad("distributed.run_compressed", "method", lambda: run("ef42"), "unknown method"),
    Bad("distributed.run_compressed", "method", lambda: run(None), "None method"),
    Bad("distributed.run_compressed", "problem",
        lambda: D.run_compressed("naive", (np.eye(2), np.ones(2)), D.TopK(1), learning_rate=0.1, num_steps=3),
        "a tuple"),
    Bad("distributed.run_compressed", "compressor", lambda: run(C=lambda v: v), "a lambda"),
    Bad("distributed.run_compressed", "learning_rate", lambda: run(learning_rate=0.0), "zero"),
    Bad("distributed.run_compressed", "learning_rate", lambda: run(learning_rate=np.nan), "NaN"),
    Bad("distributed.run_compressed", "learning_rate", lambda: run(learning_rate="0.1"), "string"),
    Bad("distributed.run_compressed", "num_steps", lambda: run(T=0), "zero steps"),
    Bad("distributed.run_compressed", "num_steps", lambda: run(T=2.5), "float steps"),
    Bad("distributed.run_compressed", "key", lambda: run(C=D.RandK(2), key=0), "integer seed"),
    Bad("distributed.run_compressed", "x0", lambda: run(x0=np.zeros(3)), "wrong shape"),
    Bad("distributed.run_compressed", "x0", lambda: run(x0=np.full(4, np.inf)), "inf"),
    Bad("distributed.run_compressed", "x0", lambda: run(x0="x0"), "string"),
    Bad("distributed.run_compressed", "feedback_strength", lambda: run("econtrol", feedback_strength=0.0),
        "zero feedback_strength for EControl"),
    Bad("distributed.run_compressed", "feedback_strength", lambda: run(feedback_strength=-1.0), "negative"),
    Bad("distributed.run_compressed", "tau", lambda: run("masha1", C=D.RandK(2), tau=0.0), "zero tau for MASHA1"),
    Bad("distributed.run_compressed", "tau", lambda: run(tau=1.5), "tau > 1"),
    Bad("distributed.run_compressed", "compressor", lambda: run("masha1", C=D.TopK(2)), "biased compressor for MASHA1"),
    Bad("distributed.run_compressed", "tol", lambda: run(tol=-1.0), "negative tol"),
    Bad("distributed.run_compressed", "mesh", lambda: run(mesh="cpu"), "string mesh"),
    Coerce("distributed.run_compressed", lambda: run(x0=[1, 2, 3, 4]).params, lambda: run(x0=np.arange(1.0, 5.0)).params),
    Bad("distributed.communication_per_round", "method", lambda: D.communication_per_round("ef42", D.TopK(2), 10, 4), "unknown"),
    Bad("distributed.communication_per_round", "compressor", lambda: D.communication_per_round("ef21", None, 10, 4), "None"),
    Bad("distributed.communication_per_round", "dim", lambda: D.communication_per_round("ef21", D.TopK(2), 0, 4), "zero dim"),
    Bad("distributed.communication_per_round", "num_workers", lambda: D.communication_per_round("ef21", D.TopK(2), 10, 1.5),
        "float workers"),
    Bad("distributed.communication_per_round", "tau", lambda: D.communication_per_round("masha1", D.RandK(2), 10, 4, tau=2.0),
        "tau > 1"),
]

def ls(**kw):
    return D.heterogeneous_least_squares(**{"key": KEY, "num_workers": 3, "dim": 4, "num_samples": 6, **kw})


def fa(**kw):
    return D.fedavg(ls(), **{"learning_rate": 0.1, "local_num_steps": 2, "num_steps": 3, **kw})


def fp(**kw):
    return D.fedavg_fixed_point(ls(), **{"learning_rate": 0.1, "local_num_steps": 2, **kw})


CASES += [
    Bad("distributed.LowRank", "rank", lambda: D.LowRank(0, 2), "rank = 0"),
    Bad("distributed.LowRank", "rows", lambda: D.LowRank(1, 2.0), "float rows"),
    Bad("distributed.LowRank", "key", lambda: D.LowRank(1, 2)(jnp.ones(4)), "no key"),
    Bad("distributed.LowRank", "key", lambda: D.LowRank(1, 2)(jnp.ones(4), 3), "integer key"),
    Bad("distributed.LowRank", "rows", lambda: D.LowRank(1, 3)(jnp.ones(4), KEY), "rows not dividing n"),
    Bad("distributed.LowRank", "rank", lambda: D.LowRank(3, 2)(jnp.ones(4), KEY), "rank > min(rows, cols)"),
    Bad("distributed.LowRank", "v", lambda: D.LowRank(1, 2)("abcd", KEY), "string message"),
    Coerce("distributed.LowRank", lambda: D.LowRank(1, 2)([1, 2, 3, 4], KEY),
           lambda: D.LowRank(1, 2)(np.arange(1.0, 5.0), KEY)),
    Bad("distributed.run_compressed", "method", lambda: run("ef21", C=D.LowRank(1, 2)), "LowRank with EF21"),
    Bad("distributed.run_compressed", "rows", lambda: run("ef14", C=D.LowRank(1, 3)), "rows not dividing n"),
    Bad("distributed.heterogeneous_least_squares", "key", lambda: ls(key=0), "integer seed"),
    Bad("distributed.heterogeneous_least_squares", "num_samples", lambda: ls(num_samples=2), "rows < dim"),
    Bad("distributed.heterogeneous_least_squares", "heterogeneity", lambda: ls(heterogeneity=-1.0), "< 0"),
    Bad("distributed.heterogeneous_least_squares", "heterogeneity", lambda: ls(heterogeneity="1"), "string"),
    Bad("distributed.heterogeneous_least_squares", "feature_spread", lambda: ls(feature_spread=np.nan),
        "nan"),
    Bad("distributed.heterogeneous_least_squares", "dim", lambda: ls(dim=0), "zero dim"),
    Coerce("distributed.heterogeneous_least_squares", lambda: ls(heterogeneity=1).z_star,
           lambda: ls(heterogeneity=1.0).z_star),
    Bad("distributed.fedavg", "problem",
        lambda: D.fedavg((np.eye(2), np.ones(2)), learning_rate=0.1, local_num_steps=2, num_steps=3),
        "a tuple"),
    Bad("distributed.fedavg", "learning_rate", lambda: fa(learning_rate=0.0), "zero"),
    Bad("distributed.fedavg", "learning_rate", lambda: fa(learning_rate="0.1"), "string"),
    Bad("distributed.fedavg", "local_num_steps", lambda: fa(local_num_steps=0), "zero local steps"),
    Bad("distributed.fedavg", "local_num_steps", lambda: fa(local_num_steps=2.5), "float local steps"),
    Bad("distributed.fedavg", "num_steps", lambda: fa(num_steps=0), "zero rounds"),
    Bad("distributed.fedavg", "x0", lambda: fa(x0=np.zeros(3)), "wrong shape"),
    Bad("distributed.fedavg", "x0", lambda: fa(x0=np.full(4, np.nan)), "NaN"),
    Bad("distributed.fedavg", "tol", lambda: fa(tol=0.0), "zero tol"),
    Coerce("distributed.fedavg", lambda: fa(x0=[1, 2, 3, 4]).params,
           lambda: fa(x0=np.arange(1.0, 5.0)).params),
    Bad("distributed.fedavg_fixed_point", "learning_rate", lambda: fp(learning_rate=-1.0), "negative"),
    Bad("distributed.fedavg_fixed_point", "local_num_steps", lambda: fp(local_num_steps=0), "zero"),
    Bad("distributed.fedavg_fixed_point", "problem",
        lambda: D.fedavg_fixed_point("pb", learning_rate=0.1, local_num_steps=2), "a string"),
    Coerce("distributed.fedavg_fixed_point", lambda: fp(learning_rate=1), lambda: fp(learning_rate=1.0)),
]


def fs(**kw):
    return D.fedavg_sharded(ls(), **{"learning_rate": 0.1, "local_num_steps": 2, "num_steps": 3, **kw})


def lf(**kw):  # every case raises before a process starts
    return D.launch_fedavg(ls(), **{"learning_rate": 0.1, "local_num_steps": 2, "num_steps": 3, **kw})


CASES += [
    Bad("distributed.fedavg_sharded", "problem",
        lambda: D.fedavg_sharded("pb", learning_rate=0.1, local_num_steps=2, num_steps=3), "a string"),
    Bad("distributed.fedavg_sharded", "learning_rate", lambda: fs(learning_rate=-0.1), "negative"),
    Bad("distributed.fedavg_sharded", "local_num_steps", lambda: fs(local_num_steps=1.5), "float local steps"),
    Bad("distributed.fedavg_sharded", "num_steps", lambda: fs(num_steps=0), "zero rounds"),
    Bad("distributed.fedavg_sharded", "x0", lambda: fs(x0=np.zeros(5)), "wrong shape"),
    Bad("distributed.fedavg_sharded", "devices", lambda: fs(devices="cpu"), "a string"),
    Bad("distributed.fedavg_sharded", "devices", lambda: fs(devices=[]), "empty"),
    Bad("distributed.fedavg_sharded", "devices", lambda: fs(devices=jax.devices()[:1] * 2), "repeated"),
    Coerce("distributed.fedavg_sharded", lambda: fs(x0=[1, 2, 3, 4]).params,
           lambda: fs(x0=np.arange(1.0, 5.0)).params),
    Bad("distributed.launch_fedavg", "num_processes", lambda: lf(num_processes=2), "3 clients over 2 processes"),
    Bad("distributed.launch_fedavg", "num_processes", lambda: lf(num_processes=0), "zero processes"),
    Bad("distributed.launch_fedavg", "num_processes", lambda: lf(num_processes=1.0), "float processes"),
    Bad("distributed.launch_fedavg", "devices_per_process", lambda: lf(devices_per_process=0), "zero devices"),
    Bad("distributed.launch_fedavg", "timeout", lambda: lf(timeout=0.0), "zero timeout"),
    Bad("distributed.launch_fedavg", "timeout", lambda: lf(timeout="60"), "string timeout"),
    Bad("distributed.launch_fedavg", "learning_rate", lambda: lf(learning_rate=0.0), "zero"),
    Bad("distributed.launch_fedavg", "problem",
        lambda: D.launch_fedavg(None, learning_rate=0.1, local_num_steps=2, num_steps=3), "None"),
]

EXEMPT = {
    "LinearProblem": "NamedTuple container; built and validated by heterogeneous_quadratics / distributed_bilinear_game",
    "CompressedTrace": "NamedTuple result type",
    "FedAvgTrace": "NamedTuple result type",
    "AsyncFedAvgTrace": "NamedTuple result type",
    "METHODS": "constant tuple of method names",
}


T3 = np.array([1.0, 2.0, 3.0])


def af(**kw):
    return D.async_fedavg(ls(), **{"compute_times": T3, "learning_rate": 0.1, "local_num_steps": 2, "num_steps": 5, **kw})


def al(**kw):
    return D.async_fedavg_limit(ls(), **{"compute_times": T3, "learning_rate": 0.1, "local_num_steps": 2, **kw})


CASES += [
    Bad("distributed.async_fedavg", "compute_times", lambda: af(compute_times=np.array([1.0, 0.0, 2.0])), "zero time"),
    Bad("distributed.async_fedavg", "compute_times", lambda: af(compute_times=np.ones(2)), "one time short"),
    Bad("distributed.async_fedavg", "compute_times", lambda: af(compute_times=np.array([1.0, np.nan, 2.0])), "NaN"),
    Bad("distributed.async_fedavg", "server_weights", lambda: af(server_weights=np.array([1.0, -1.0, 1.0])),
        "negative weight"),
    Bad("distributed.async_fedavg", "server_weights", lambda: af(server_weights=np.zeros(3)), "all zero"),
    Bad("distributed.async_fedavg", "server_weights", lambda: af(server_weights=np.ones(4)), "wrong length"),
    Bad("distributed.async_fedavg", "learning_rate", lambda: af(learning_rate=0.0), "zero"),
    Bad("distributed.async_fedavg", "local_num_steps", lambda: af(local_num_steps=0), "zero local steps"),
    Bad("distributed.async_fedavg", "num_steps", lambda: af(num_steps=0), "zero updates"),
    Bad("distributed.async_fedavg", "x0", lambda: af(x0=np.zeros(3)), "wrong shape"),
    Bad("distributed.async_fedavg", "problem",
        lambda: D.async_fedavg("pb", compute_times=T3, learning_rate=0.1, local_num_steps=1, num_steps=2), "a string"),
    Coerce("distributed.async_fedavg", lambda: af(compute_times=[1, 2, 3]).params,
           lambda: af(compute_times=T3).params),
    Bad("distributed.async_fedavg_limit", "compute_times", lambda: al(compute_times=-T3), "negative times"),
    Bad("distributed.async_fedavg_limit", "server_weights", lambda: al(server_weights=np.full(3, np.inf)), "inf"),
    Bad("distributed.async_fedavg_limit", "learning_rate", lambda: al(learning_rate=-0.1), "negative"),
    Coerce("distributed.async_fedavg_limit", lambda: al(compute_times=[1, 2, 3]), lambda: al(compute_times=T3)),
    Bad("distributed.arrival_schedule", "compute_times", lambda: D.arrival_schedule([1.0, -2.0], num_steps=4), "negative"),
    Bad("distributed.arrival_schedule", "num_steps", lambda: D.arrival_schedule([1.0, 2.0], num_steps=0), "zero"),
    Bad("distributed.arrival_schedule", "compute_times", lambda: D.arrival_schedule("ab", num_steps=3), "string"),
]
