"""Bad-input cases for optlab.online (see README.md here)."""

import jax
import jax.numpy as jnp
import numpy as np

from badinput import Bad, Coerce
from optlab import online as ol

KEY = jax.random.key(0)
NAN = float("nan")
INF = float("inf")
C = np.array([[0.5, -0.5], [1.0, 0.0], [0.0, 1.0]])  # T = 3 rounds, d = 2
C_INT = [[1, 0], [1, 1], [0, 1]]
X0 = np.zeros(2)
L = np.array([[0.1, 0.9], [0.5, 0.5], [1.0, 0.0]])  # (T, n) losses in [0, 1]
L_INT = [[0, 1], [1, 0], [1, 1]]


def quad(x, c):
    return 0.5 * jnp.sum((x - c) ** 2)


def vec(x, c):
    return x - c


def _learner_cases(name, fn, learning_rate=True):
    f = f"online.{name}"
    kw = dict(learning_rate=0.3) if learning_rate else {}
    cases = [
        Bad(f, "loss", lambda: fn("quad", C, X0, **kw), "loss not callable"),
        Bad(f, "loss", lambda: fn(vec, C, X0, **kw), "loss not scalar"),
        Bad(f, "thetas", lambda: fn(quad, np.array([[NAN, 0.0]]), X0, **kw), "NaN thetas"),
        Bad(f, "thetas", lambda: fn(quad, np.zeros((0, 2)), X0, **kw), "empty thetas"),
        Bad(f, "thetas", lambda: fn(quad, "C", X0, **kw), "string thetas"),
        Bad(f, "thetas", lambda: fn(quad, None, X0, **kw), "None thetas"),
        Bad(f, "x0", lambda: fn(quad, C, np.zeros((2, 1)), **kw), "2-D x0"),
        Bad(f, "x0", lambda: fn(quad, C, np.array([INF, 0.0]), **kw), "inf x0"),
        Bad(f, "x0", lambda: fn(quad, C, np.zeros(0), **kw), "empty x0"),
        Bad(f, "x0", lambda: fn(quad, C, np.zeros(2) * 1j, **kw), "complex x0"),
        Bad(f, "loss", lambda: fn(quad, C, np.zeros(3), **kw), "x0 of the wrong length"),
        Coerce(f, lambda: fn(quad, C_INT, [0, 0], **kw),
               lambda: fn(quad, np.array(C_INT, np.float32), np.zeros(2, np.float32), **kw)),
    ]
    if learning_rate:
        cases += [
            Bad(f, "learning_rate", lambda: fn(quad, C, X0, learning_rate=0.0), "zero learning_rate"),
            Bad(f, "learning_rate", lambda: fn(quad, C, X0, learning_rate=-1.0), "negative learning_rate"),
            Bad(f, "learning_rate", lambda: fn(quad, C, X0, learning_rate=NAN), "NaN learning_rate"),
            Bad(f, "learning_rate", lambda: fn(quad, C, X0, learning_rate="0.1"), "string learning_rate"),
            Bad(f, "learning_rate", lambda: fn(quad, C, X0, learning_rate=np.ones(2)), "array learning_rate"),
            Bad(f, "radius", lambda: fn(quad, C, X0, learning_rate=0.3, radius=0.0), "zero radius"),
            Bad(f, "radius", lambda: fn(quad, C, X0, learning_rate=0.3, radius=-1.0), "negative radius"),
            Bad(f, "radius", lambda: fn(quad, C, X0, learning_rate=0.3, radius="big"), "string radius"),
        ]
    return cases


def _ogd_extra(name, fn):
    f = f"online.{name}"
    return [
        Bad(f, "schedule", lambda: fn(quad, C, X0, learning_rate=0.3, schedule="cosine"), "unknown schedule"),
        Bad(f, "schedule", lambda: fn(quad, C, X0, learning_rate=0.3, schedule=None), "None schedule"),
        Bad(f, "max_learning_rate", lambda: fn(quad, C, X0, learning_rate=0.3, max_learning_rate=0.0), "zero max_learning_rate"),
        Bad(f, "max_learning_rate", lambda: fn(quad, C, X0, learning_rate=0.3, max_learning_rate=np.ones(2)), "array max_learning_rate"),
    ]


OUT = None


def _out():
    return ol.ogd(quad, C, X0, learning_rate=0.3)


CASES = (
    _learner_cases("ogd", ol.ogd) + _ogd_extra("ogd", ol.ogd)
    + _learner_cases("optimistic_ogd", ol.optimistic_ogd) + _ogd_extra("optimistic_ogd", ol.optimistic_ogd)
    + [Bad("online.optimistic_ogd", "hint", lambda: ol.optimistic_ogd(quad, C, X0, learning_rate=0.3, hint="mean"), "unknown hint")]
    + _learner_cases("adagrad_omd", ol.adagrad_omd)
    + [Bad("online.adagrad_omd", "delta", lambda: ol.adagrad_omd(quad, C, X0, learning_rate=0.3, delta=0.0), "zero delta"),
       Bad("online.adagrad_omd", "delta", lambda: ol.adagrad_omd(quad, C, X0, learning_rate=0.3, delta=NAN), "NaN delta")]
    + _learner_cases("coin_betting", ol.coin_betting, learning_rate=False)
    + [Bad("online.coin_betting", "initial_wealth",
           lambda: ol.coin_betting(quad, C, X0, initial_wealth=0.0), "zero wealth"),
       Bad("online.coin_betting", "initial_wealth",
           lambda: ol.coin_betting(quad, C, X0, initial_wealth="1"), "string wealth"),
       Bad("online.coin_betting", "lipschitz", lambda: ol.coin_betting(quad, C, X0, lipschitz=-1.0), "negative"),
       Bad("online.coin_betting", "lipschitz",
           lambda: ol.coin_betting(quad, 10 * C, X0, lipschitz=0.1), "gradients above the bound")]
    + [
        # ------------------------------------------------------------ logcosh_loss
        Bad("online.logcosh_loss", "x", lambda: ol.logcosh_loss("x", X0), "string x"),
        Bad("online.logcosh_loss", "x", lambda: ol.logcosh_loss(np.array([NAN, 0.0]), X0), "NaN x"),
        Bad("online.logcosh_loss", "c", lambda: ol.logcosh_loss(X0, None), "None c"),
        Bad("online.logcosh_loss", "c", lambda: ol.logcosh_loss(X0, np.zeros(3)), "mismatched c"),
        Coerce("online.logcosh_loss", lambda: ol.logcosh_loss([1, 2], [0, 1]),
               lambda: ol.logcosh_loss(np.array([1.0, 2.0]), np.array([0.0, 1.0]))),
        # ------------------------------------------------------------ sea_centers
        Bad("online.sea_centers", "key", lambda: ol.sea_centers(5, 2, 0.1, 0.1, key=0), "integer key"),
        Bad("online.sea_centers", "key", lambda: ol.sea_centers(5, 2, 0.1, 0.1, key="k"), "string key"),
        Bad("online.sea_centers", "num_rounds", lambda: ol.sea_centers(0, 2, 0.1, 0.1, key=KEY), "zero rounds"),
        Bad("online.sea_centers", "num_rounds", lambda: ol.sea_centers(5.0, 2, 0.1, 0.1, key=KEY), "float rounds"),
        Bad("online.sea_centers", "dim", lambda: ol.sea_centers(5, -2, 0.1, 0.1, key=KEY), "negative dim"),
        Bad("online.sea_centers", "noise", lambda: ol.sea_centers(5, 2, -0.1, 0.1, key=KEY), "negative noise"),
        Bad("online.sea_centers", "noise", lambda: ol.sea_centers(5, 2, "0.1", 0.1, key=KEY), "string noise"),
        Bad("online.sea_centers", "drift", lambda: ol.sea_centers(5, 2, 0.1, NAN, key=KEY), "NaN drift"),
        Bad("online.sea_centers", "period", lambda: ol.sea_centers(5, 2, 0.1, 0.1, key=KEY, period=0), "zero period"),
        Bad("online.sea_centers", "center", lambda: ol.sea_centers(5, 2, 0.1, 0.1, key=KEY, center=INF), "inf center"),
        Bad("online.sea_centers", "center", lambda: ol.sea_centers(5, 2, 0.1, 0.1, key=KEY, center=np.ones(3)),
            "array center"),
        Coerce("online.sea_centers", lambda: ol.sea_centers(5, 2, 1, 0, key=KEY),
               lambda: ol.sea_centers(5, 2, 1.0, 0.0, key=KEY)),
        # ------------------------------------------------------------ best_fixed / regret_at
        Bad("online.best_fixed", "loss", lambda: ol.best_fixed(None, C), "loss None"),
        Bad("online.best_fixed", "thetas", lambda: ol.best_fixed(quad, np.zeros(3)), "1-D thetas"),
        Bad("online.best_fixed", "thetas", lambda: ol.best_fixed(quad, np.zeros((0, 2))), "empty thetas"),
        Bad("online.best_fixed", "thetas", lambda: ol.best_fixed(quad, np.array([[NAN, 1.0]])), "NaN thetas"),
        Bad("online.best_fixed", "radius", lambda: ol.best_fixed(quad, C, radius=-1.0), "negative radius"),
        Bad("online.best_fixed", "horizons", lambda: ol.best_fixed(quad, C, horizons=[0]), "zero horizon"),
        Bad("online.best_fixed", "horizons", lambda: ol.best_fixed(quad, C, horizons=[4]), "horizon > T"),
        Bad("online.best_fixed", "horizons", lambda: ol.best_fixed(quad, C, horizons=[1.5]), "float horizon"),
        Bad("online.best_fixed", "horizons", lambda: ol.best_fixed(quad, C, horizons="all"), "string horizons"),
        Bad("online.best_fixed", "smoothness", lambda: ol.best_fixed(quad, C, smoothness=0.0), "zero smoothness"),
        Bad("online.best_fixed", "num_steps", lambda: ol.best_fixed(quad, C, num_steps=0), "zero iterations"),
        Coerce("online.best_fixed", lambda: ol.best_fixed(quad, C_INT, num_steps=5),
               lambda: ol.best_fixed(quad, np.array(C_INT, np.float32), num_steps=5)),
        Bad("online.regret_at", "result", lambda: ol.regret_at(np.zeros(3), quad, C), "array result"),
        Bad("online.regret_at", "thetas", lambda: ol.regret_at(_out(), quad, C[:2]), "thetas too short"),
        Bad("online.regret_at", "horizons", lambda: ol.regret_at(_out(), quad, C, [5]), "horizon > T"),
        Bad("online.regret_at", "loss", lambda: ol.regret_at(_out(), 3.0, C), "loss not callable"),
        Bad("online.regret_at", "radius", lambda: ol.regret_at(_out(), quad, C, radius=0.0), "zero radius"),
        Coerce("online.regret_at", lambda: ol.regret_at(_out(), quad, C_INT, [1, 3], num_steps=5),
               lambda: ol.regret_at(_out(), quad, np.array(C_INT, np.float32), np.array([1, 3]), num_steps=5)),
        # ------------------------------------------------------------ hedge / optimistic_hedge
        Bad("online.hedge", "losses", lambda: ol.hedge(np.zeros(3), learning_rate=0.1), "1-D losses"),
        Bad("online.hedge", "losses", lambda: ol.hedge(np.zeros((0, 2)), learning_rate=0.1), "empty losses"),
        Bad("online.hedge", "losses", lambda: ol.hedge(np.array([[NAN, 0.0]]), learning_rate=0.1), "NaN losses"),
        Bad("online.hedge", "losses", lambda: ol.hedge("L", learning_rate=0.1), "string losses"),
        Bad("online.hedge", "losses", lambda: ol.hedge([[0.1, 0.2], [0.3]], learning_rate=0.1), "ragged losses"),
        Bad("online.hedge", "learning_rate", lambda: ol.hedge(L, learning_rate=0.0), "zero learning_rate"),
        Bad("online.hedge", "learning_rate", lambda: ol.hedge(L, learning_rate=-0.5), "negative learning_rate"),
        Bad("online.hedge", "learning_rate", lambda: ol.hedge(L, learning_rate=None), "None learning_rate"),
        Bad("online.hedge", "learning_rate", lambda: ol.hedge(L, learning_rate=np.ones(2)), "array learning_rate"),
        Bad("online.hedge", "prior", lambda: ol.hedge(L, learning_rate=0.1, prior=np.array([0.5, 0.6])), "prior sum"),
        Bad("online.hedge", "prior", lambda: ol.hedge(L, learning_rate=0.1, prior=np.array([1.5, -0.5])), "negative prior"),
        Bad("online.hedge", "prior", lambda: ol.hedge(L, learning_rate=0.1, prior=np.ones(3) / 3), "prior length"),
        Bad("online.hedge", "prior", lambda: ol.hedge(L, learning_rate=0.1, prior="uniform"), "string prior"),
        Coerce("online.hedge", lambda: ol.hedge(L_INT, learning_rate=1), lambda: ol.hedge(np.array(L_INT, np.float32), learning_rate=1.0)),
        Bad("online.optimistic_hedge", "hints", lambda: ol.optimistic_hedge(L, learning_rate=0.1, hints="mean"), "unknown hints"),
        Bad("online.optimistic_hedge", "hints", lambda: ol.optimistic_hedge(L, learning_rate=0.1, hints=np.zeros((2, 2))),
            "hints shape"),
        Bad("online.optimistic_hedge", "hints",
            lambda: ol.optimistic_hedge(L, learning_rate=0.1, hints=np.full((3, 2), INF)), "inf hints"),
        Bad("online.optimistic_hedge", "learning_rate", lambda: ol.optimistic_hedge(L, learning_rate=INF), "inf learning_rate"),
        Bad("online.optimistic_hedge", "losses", lambda: ol.optimistic_hedge(None, learning_rate=0.1), "None losses"),
        Coerce("online.optimistic_hedge", lambda: ol.optimistic_hedge(L_INT, learning_rate=1, hints=[[0, 0], [1, 0], [0, 1]]),
               lambda: ol.optimistic_hedge(np.array(L_INT, np.float32), learning_rate=1.0,
                                           hints=np.array([[0.0, 0], [1, 0], [0, 1]], np.float32))),
        Bad("online.hedge_regret_bound", "num_experts", lambda: ol.hedge_regret_bound(0, 10, learning_rate=0.1), "zero experts"),
        Bad("online.hedge_regret_bound", "num_experts", lambda: ol.hedge_regret_bound(2.5, 10, learning_rate=0.1), "float"),
        Bad("online.hedge_regret_bound", "num_rounds", lambda: ol.hedge_regret_bound(2, -10, learning_rate=0.1), "negative T"),
        Bad("online.hedge_regret_bound", "num_rounds", lambda: ol.hedge_regret_bound(2, "T", learning_rate=0.1), "string T"),
        Bad("online.hedge_regret_bound", "learning_rate", lambda: ol.hedge_regret_bound(2, 10, learning_rate=0.0), "zero learning_rate"),
        # ------------------------------------------------------------ exp3
        Bad("online.exp3", "key", lambda: ol.exp3(L, learning_rate=0.1, key=0), "integer key"),
        Bad("online.exp3", "key", lambda: ol.exp3(L, learning_rate=0.1, key=np.int64(3)), "numpy integer key"),
        Bad("online.exp3", "key", lambda: ol.exp3(L, learning_rate=0.1, key=np.zeros(2)), "float array key"),
        Bad("online.exp3", "losses", lambda: ol.exp3(2 * L, learning_rate=0.1, key=KEY), "losses above 1"),
        Bad("online.exp3", "losses", lambda: ol.exp3(-L, learning_rate=0.1, key=KEY), "negative losses"),
        Bad("online.exp3", "losses", lambda: ol.exp3(np.zeros(3), learning_rate=0.1, key=KEY), "1-D losses"),
        Bad("online.exp3", "losses", lambda: ol.exp3(np.array([[NAN, 0.5]]), learning_rate=0.1, key=KEY), "NaN losses"),
        Bad("online.exp3", "learning_rate", lambda: ol.exp3(L, learning_rate=0.0, key=KEY), "zero learning_rate"),
        Bad("online.exp3", "learning_rate", lambda: ol.exp3(L, learning_rate="0.1", key=KEY), "string learning_rate"),
        Bad("online.exp3", "gamma", lambda: ol.exp3(L, learning_rate=0.1, key=KEY, gamma=1.0), "gamma = 1"),
        Bad("online.exp3", "gamma", lambda: ol.exp3(L, learning_rate=0.1, key=KEY, gamma=-0.1), "negative gamma"),
        Bad("online.exp3", "gamma", lambda: ol.exp3(L, learning_rate=0.1, key=KEY, gamma=np.ones(2) / 4), "array gamma"),
        Coerce("online.exp3", lambda: ol.exp3(L_INT, learning_rate=1, key=KEY), lambda: ol.exp3(np.array(L_INT, np.float32), learning_rate=1.0, key=KEY)),
    ]
)

EXEMPT = {
    "OnlineResult": "NamedTuple result type",
    "CoinResult": "NamedTuple result type",
    "ExpertsResult": "NamedTuple result type",
    "BanditResult": "NamedTuple result type",
}
