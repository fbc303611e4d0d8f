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


def _learner_cases(name, fn, eta=True):
    f = f"online.{name}"
    args = (0.3,) if eta else ()
    cases = [
        Bad(f, "loss", lambda: fn("quad", C, X0, *args), "loss not callable"),
        Bad(f, "loss", lambda: fn(vec, C, X0, *args), "loss not scalar"),
        Bad(f, "thetas", lambda: fn(quad, np.array([[NAN, 0.0]]), X0, *args), "NaN thetas"),
        Bad(f, "thetas", lambda: fn(quad, np.zeros((0, 2)), X0, *args), "empty thetas"),
        Bad(f, "thetas", lambda: fn(quad, "C", X0, *args), "string thetas"),
        Bad(f, "thetas", lambda: fn(quad, None, X0, *args), "None thetas"),
        Bad(f, "x0", lambda: fn(quad, C, np.zeros((2, 1)), *args), "2-D x0"),
        Bad(f, "x0", lambda: fn(quad, C, np.array([INF, 0.0]), *args), "inf x0"),
        Bad(f, "x0", lambda: fn(quad, C, np.zeros(0), *args), "empty x0"),
        Bad(f, "x0", lambda: fn(quad, C, np.zeros(2) * 1j, *args), "complex x0"),
        Bad(f, "loss", lambda: fn(quad, C, np.zeros(3), *args), "x0 of the wrong length"),
        Coerce(f, lambda: fn(quad, C_INT, [0, 0], *args),
               lambda: fn(quad, np.array(C_INT, np.float32), np.zeros(2, np.float32), *args)),
    ]
    if eta:
        cases += [
            Bad(f, "eta", lambda: fn(quad, C, X0, 0.0), "zero eta"),
            Bad(f, "eta", lambda: fn(quad, C, X0, -1.0), "negative eta"),
            Bad(f, "eta", lambda: fn(quad, C, X0, NAN), "NaN eta"),
            Bad(f, "eta", lambda: fn(quad, C, X0, "0.1"), "string eta"),
            Bad(f, "eta", lambda: fn(quad, C, X0, np.ones(2)), "array eta"),
            Bad(f, "radius", lambda: fn(quad, C, X0, 0.3, radius=0.0), "zero radius"),
            Bad(f, "radius", lambda: fn(quad, C, X0, 0.3, radius=-1.0), "negative radius"),
            Bad(f, "radius", lambda: fn(quad, C, X0, 0.3, radius="big"), "string radius"),
        ]
    return cases


def _ogd_extra(name, fn):
    f = f"online.{name}"
    return [
        Bad(f, "schedule", lambda: fn(quad, C, X0, 0.3, schedule="cosine"), "unknown schedule"),
        Bad(f, "schedule", lambda: fn(quad, C, X0, 0.3, schedule=None), "None schedule"),
        Bad(f, "eta_max", lambda: fn(quad, C, X0, 0.3, eta_max=0.0), "zero eta_max"),
        Bad(f, "eta_max", lambda: fn(quad, C, X0, 0.3, eta_max=np.ones(2)), "array eta_max"),
    ]


OUT = None


def _out():
    return ol.ogd(quad, C, X0, 0.3)


CASES = (
    _learner_cases("ogd", ol.ogd) + _ogd_extra("ogd", ol.ogd)
    + _learner_cases("optimistic_ogd", ol.optimistic_ogd) + _ogd_extra("optimistic_ogd", ol.optimistic_ogd)
    + [Bad("online.optimistic_ogd", "hint", lambda: ol.optimistic_ogd(quad, C, X0, 0.3, hint="mean"), "unknown hint")]
    + _learner_cases("adagrad_omd", ol.adagrad_omd)
    + [Bad("online.adagrad_omd", "delta", lambda: ol.adagrad_omd(quad, C, X0, 0.3, delta=0.0), "zero delta"),
       Bad("online.adagrad_omd", "delta", lambda: ol.adagrad_omd(quad, C, X0, 0.3, delta=NAN), "NaN delta")]
    + _learner_cases("coin_betting", ol.coin_betting, eta=False)
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
        Bad("online.sea_centers", "key", lambda: ol.sea_centers(0, 5, 2, 0.1, 0.1), "integer key"),
        Bad("online.sea_centers", "key", lambda: ol.sea_centers("k", 5, 2, 0.1, 0.1), "string key"),
        Bad("online.sea_centers", "num_rounds", lambda: ol.sea_centers(KEY, 0, 2, 0.1, 0.1), "zero rounds"),
        Bad("online.sea_centers", "num_rounds", lambda: ol.sea_centers(KEY, 5.0, 2, 0.1, 0.1), "float rounds"),
        Bad("online.sea_centers", "dim", lambda: ol.sea_centers(KEY, 5, -2, 0.1, 0.1), "negative dim"),
        Bad("online.sea_centers", "noise", lambda: ol.sea_centers(KEY, 5, 2, -0.1, 0.1), "negative noise"),
        Bad("online.sea_centers", "noise", lambda: ol.sea_centers(KEY, 5, 2, "0.1", 0.1), "string noise"),
        Bad("online.sea_centers", "drift", lambda: ol.sea_centers(KEY, 5, 2, 0.1, NAN), "NaN drift"),
        Bad("online.sea_centers", "period", lambda: ol.sea_centers(KEY, 5, 2, 0.1, 0.1, period=0), "zero period"),
        Bad("online.sea_centers", "center", lambda: ol.sea_centers(KEY, 5, 2, 0.1, 0.1, center=INF), "inf center"),
        Bad("online.sea_centers", "center", lambda: ol.sea_centers(KEY, 5, 2, 0.1, 0.1, center=np.ones(3)),
            "array center"),
        Coerce("online.sea_centers", lambda: ol.sea_centers(KEY, 5, 2, 1, 0),
               lambda: ol.sea_centers(KEY, 5, 2, 1.0, 0.0)),
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
        Bad("online.best_fixed", "num_iters", lambda: ol.best_fixed(quad, C, num_iters=0), "zero iterations"),
        Coerce("online.best_fixed", lambda: ol.best_fixed(quad, C_INT, num_iters=5),
               lambda: ol.best_fixed(quad, np.array(C_INT, np.float32), num_iters=5)),
        Bad("online.regret_at", "result", lambda: ol.regret_at(np.zeros(3), quad, C), "array result"),
        Bad("online.regret_at", "thetas", lambda: ol.regret_at(_out(), quad, C[:2]), "thetas too short"),
        Bad("online.regret_at", "horizons", lambda: ol.regret_at(_out(), quad, C, [5]), "horizon > T"),
        Bad("online.regret_at", "loss", lambda: ol.regret_at(_out(), 3.0, C), "loss not callable"),
        Bad("online.regret_at", "radius", lambda: ol.regret_at(_out(), quad, C, radius=0.0), "zero radius"),
        Coerce("online.regret_at", lambda: ol.regret_at(_out(), quad, C_INT, [1, 3], num_iters=5),
               lambda: ol.regret_at(_out(), quad, np.array(C_INT, np.float32), np.array([1, 3]), num_iters=5)),
        # ------------------------------------------------------------ hedge / optimistic_hedge
        Bad("online.hedge", "losses", lambda: ol.hedge(np.zeros(3), 0.1), "1-D losses"),
        Bad("online.hedge", "losses", lambda: ol.hedge(np.zeros((0, 2)), 0.1), "empty losses"),
        Bad("online.hedge", "losses", lambda: ol.hedge(np.array([[NAN, 0.0]]), 0.1), "NaN losses"),
        Bad("online.hedge", "losses", lambda: ol.hedge("L", 0.1), "string losses"),
        Bad("online.hedge", "losses", lambda: ol.hedge([[0.1, 0.2], [0.3]], 0.1), "ragged losses"),
        Bad("online.hedge", "eta", lambda: ol.hedge(L, 0.0), "zero eta"),
        Bad("online.hedge", "eta", lambda: ol.hedge(L, -0.5), "negative eta"),
        Bad("online.hedge", "eta", lambda: ol.hedge(L, None), "None eta"),
        Bad("online.hedge", "eta", lambda: ol.hedge(L, np.ones(2)), "array eta"),
        Bad("online.hedge", "prior", lambda: ol.hedge(L, 0.1, prior=np.array([0.5, 0.6])), "prior sum"),
        Bad("online.hedge", "prior", lambda: ol.hedge(L, 0.1, prior=np.array([1.5, -0.5])), "negative prior"),
        Bad("online.hedge", "prior", lambda: ol.hedge(L, 0.1, prior=np.ones(3) / 3), "prior length"),
        Bad("online.hedge", "prior", lambda: ol.hedge(L, 0.1, prior="uniform"), "string prior"),
        Coerce("online.hedge", lambda: ol.hedge(L_INT, 1), lambda: ol.hedge(np.array(L_INT, np.float32), 1.0)),
        Bad("online.optimistic_hedge", "hints", lambda: ol.optimistic_hedge(L, 0.1, hints="mean"), "unknown hints"),
        Bad("online.optimistic_hedge", "hints", lambda: ol.optimistic_hedge(L, 0.1, hints=np.zeros((2, 2))),
            "hints shape"),
        Bad("online.optimistic_hedge", "hints",
            lambda: ol.optimistic_hedge(L, 0.1, hints=np.full((3, 2), INF)), "inf hints"),
        Bad("online.optimistic_hedge", "eta", lambda: ol.optimistic_hedge(L, INF), "inf eta"),
        Bad("online.optimistic_hedge", "losses", lambda: ol.optimistic_hedge(None, 0.1), "None losses"),
        Coerce("online.optimistic_hedge", lambda: ol.optimistic_hedge(L_INT, 1, hints=[[0, 0], [1, 0], [0, 1]]),
               lambda: ol.optimistic_hedge(np.array(L_INT, np.float32), 1.0,
                                           hints=np.array([[0.0, 0], [1, 0], [0, 1]], np.float32))),
        Bad("online.hedge_regret_bound", "num_experts", lambda: ol.hedge_regret_bound(0, 10, 0.1), "zero experts"),
        Bad("online.hedge_regret_bound", "num_experts", lambda: ol.hedge_regret_bound(2.5, 10, 0.1), "float"),
        Bad("online.hedge_regret_bound", "num_rounds", lambda: ol.hedge_regret_bound(2, -10, 0.1), "negative T"),
        Bad("online.hedge_regret_bound", "num_rounds", lambda: ol.hedge_regret_bound(2, "T", 0.1), "string T"),
        Bad("online.hedge_regret_bound", "eta", lambda: ol.hedge_regret_bound(2, 10, 0.0), "zero eta"),
        # ------------------------------------------------------------ exp3
        Bad("online.exp3", "key", lambda: ol.exp3(0, L, 0.1), "integer key"),
        Bad("online.exp3", "key", lambda: ol.exp3(np.int64(3), L, 0.1), "numpy integer key"),
        Bad("online.exp3", "key", lambda: ol.exp3(np.zeros(2), L, 0.1), "float array key"),
        Bad("online.exp3", "losses", lambda: ol.exp3(KEY, 2 * L, 0.1), "losses above 1"),
        Bad("online.exp3", "losses", lambda: ol.exp3(KEY, -L, 0.1), "negative losses"),
        Bad("online.exp3", "losses", lambda: ol.exp3(KEY, np.zeros(3), 0.1), "1-D losses"),
        Bad("online.exp3", "losses", lambda: ol.exp3(KEY, np.array([[NAN, 0.5]]), 0.1), "NaN losses"),
        Bad("online.exp3", "eta", lambda: ol.exp3(KEY, L, 0.0), "zero eta"),
        Bad("online.exp3", "eta", lambda: ol.exp3(KEY, L, "0.1"), "string eta"),
        Bad("online.exp3", "gamma", lambda: ol.exp3(KEY, L, 0.1, gamma=1.0), "gamma = 1"),
        Bad("online.exp3", "gamma", lambda: ol.exp3(KEY, L, 0.1, gamma=-0.1), "negative gamma"),
        Bad("online.exp3", "gamma", lambda: ol.exp3(KEY, L, 0.1, gamma=np.ones(2) / 4), "array gamma"),
        Coerce("online.exp3", lambda: ol.exp3(KEY, L_INT, 1), lambda: ol.exp3(KEY, np.array(L_INT, np.float32), 1.0)),
        # ------------------------------------------------------------ SOR helpers
        Bad("online.laplacian_1d", "n", lambda: ol.laplacian_1d(0), "zero n"),
        Bad("online.laplacian_1d", "n", lambda: ol.laplacian_1d(3.0), "float n"),
        Bad("online.laplacian_1d", "dtype", lambda: ol.laplacian_1d(3, jnp.int32), "integer dtype"),
        Bad("online.laplacian_1d", "dtype", lambda: ol.laplacian_1d(3, "banana"), "not a dtype"),
        Bad("online.jacobi_radius", "A", lambda: ol.jacobi_radius(np.ones(3)), "1-D"),
        Bad("online.jacobi_radius", "A", lambda: ol.jacobi_radius(np.ones((2, 3))), "not square"),
        Bad("online.jacobi_radius", "A", lambda: ol.jacobi_radius(np.array([[1.0, NAN], [0, 1]])), "NaN"),
        Bad("online.jacobi_radius", "A", lambda: ol.jacobi_radius(np.array([[0.0, 1], [1, 0]])), "zero diagonal"),
        Bad("online.jacobi_radius", "A", lambda: ol.jacobi_radius(np.zeros((0, 0))), "empty"),
        Bad("online.jacobi_radius", "A", lambda: ol.jacobi_radius("A"), "string"),
        Coerce("online.jacobi_radius", lambda: ol.jacobi_radius([[2, -1], [-1, 2]]),
               lambda: ol.jacobi_radius(np.array([[2.0, -1], [-1, 2]]))),
        Bad("online.young_omega", "rho_jacobi", lambda: ol.young_omega(1.0), "rho = 1"),
        Bad("online.young_omega", "rho_jacobi", lambda: ol.young_omega(-0.1), "negative rho"),
        Bad("online.young_omega", "rho_jacobi", lambda: ol.young_omega(NAN), "NaN rho"),
        Bad("online.young_omega", "rho_jacobi", lambda: ol.young_omega("0.5"), "string rho"),
        Coerce("online.young_omega", lambda: ol.young_omega(0), lambda: ol.young_omega(0.0)),
        Bad("online.sor_spectral_radius", "omega", lambda: ol.sor_spectral_radius(2.0, 0.5), "omega = 2"),
        Bad("online.sor_spectral_radius", "omega", lambda: ol.sor_spectral_radius(0.0, 0.5), "omega = 0"),
        Bad("online.sor_spectral_radius", "omega", lambda: ol.sor_spectral_radius(None, 0.5), "None omega"),
        Bad("online.sor_spectral_radius", "rho_jacobi", lambda: ol.sor_spectral_radius(1.2, 1.5), "rho > 1"),
        Coerce("online.sor_spectral_radius", lambda: ol.sor_spectral_radius(1, 0),
               lambda: ol.sor_spectral_radius(1.0, 0.0)),
        # ------------------------------------------------------------ sor
        Bad("online.sor", "A", lambda: ol.sor(np.ones((3, 2)), np.ones(3), 1.0), "not square"),
        Bad("online.sor", "A", lambda: ol.sor(np.ones(3), np.ones(3), 1.0), "1-D A"),
        Bad("online.sor", "A", lambda: ol.sor(np.array([[1.0, NAN], [0, 1]]), np.ones(2), 1.0), "NaN A"),
        Bad("online.sor", "A", lambda: ol.sor(np.array([[0.0, 1], [1, 0]]), np.ones(2), 1.0), "zero diagonal"),
        Bad("online.sor", "A", lambda: ol.sor("A", np.ones(2), 1.0), "string A"),
        Bad("online.sor", "b", lambda: ol.sor(np.eye(2), np.ones(3), 1.0), "b length"),
        Bad("online.sor", "b", lambda: ol.sor(np.eye(2), np.zeros(2), 1.0), "zero b"),
        Bad("online.sor", "b", lambda: ol.sor(np.eye(2), np.array([INF, 1.0]), 1.0), "inf b"),
        Bad("online.sor", "omega", lambda: ol.sor(np.eye(2), np.ones(2), 2.0), "omega = 2"),
        Bad("online.sor", "omega", lambda: ol.sor(np.eye(2), np.ones(2), np.ones(2)), "array omega"),
        Bad("online.sor", "tol", lambda: ol.sor(np.eye(2), np.ones(2), 1.0, tol=0.0), "zero tol"),
        Bad("online.sor", "max_iter", lambda: ol.sor(np.eye(2), np.ones(2), 1.0, max_iter=0), "zero max_iter"),
        Bad("online.sor", "max_iter", lambda: ol.sor(np.eye(2), np.ones(2), 1.0, max_iter=5.5), "float max_iter"),
        Bad("online.sor", "x0", lambda: ol.sor(np.eye(2), np.ones(2), 1.0, x0=np.zeros(3)), "x0 length"),
        Bad("online.sor", "x0", lambda: ol.sor(np.eye(2), np.ones(2), 1.0, x0=np.array([NAN, 0])), "NaN x0"),
        Coerce("online.sor", lambda: ol.sor([[2, -1], [-1, 2]], [1, 0], 1),
               lambda: ol.sor(np.array([[2.0, -1], [-1, 2]]), np.array([1.0, 0.0]), 1.0)),
        # ------------------------------------------------------------ sor_cost_table
        Bad("online.sor_cost_table", "key", lambda: ol.sor_cost_table(1, 4, 2, [1.0, 1.5]), "integer key"),
        Bad("online.sor_cost_table", "n", lambda: ol.sor_cost_table(KEY, 1, 2, [1.0, 1.5]), "n = 1"),
        Bad("online.sor_cost_table", "num_systems", lambda: ol.sor_cost_table(KEY, 4, 0, [1.0]), "zero systems"),
        Bad("online.sor_cost_table", "omegas", lambda: ol.sor_cost_table(KEY, 4, 2, [1.0, 2.5]), "omega > 2"),
        Bad("online.sor_cost_table", "omegas", lambda: ol.sor_cost_table(KEY, 4, 2, []), "no arms"),
        Bad("online.sor_cost_table", "omegas", lambda: ol.sor_cost_table(KEY, 4, 2, "1.5"), "string omegas"),
        Bad("online.sor_cost_table", "shift_range",
            lambda: ol.sor_cost_table(KEY, 4, 2, [1.0], shift_range=(0.5, 0.1)), "low > high"),
        Bad("online.sor_cost_table", "shift_range",
            lambda: ol.sor_cost_table(KEY, 4, 2, [1.0], shift_range=(-0.5, 0.1)), "negative"),
        Bad("online.sor_cost_table", "shift_range",
            lambda: ol.sor_cost_table(KEY, 4, 2, [1.0], shift_range=(0.1, 0.2, 0.3)), "triple"),
        Bad("online.sor_cost_table", "tol", lambda: ol.sor_cost_table(KEY, 4, 2, [1.0], tol=-1.0), "negative tol"),
        Bad("online.sor_cost_table", "max_iter",
            lambda: ol.sor_cost_table(KEY, 4, 2, [1.0], max_iter=0), "zero max_iter"),
        Coerce("online.sor_cost_table", lambda: ol.sor_cost_table(KEY, 4, 2, [1, 1.5], max_iter=50),
               lambda: ol.sor_cost_table(KEY, 4, 2, np.array([1.0, 1.5], np.float32), max_iter=50)),
    ]
)

EXEMPT = {
    "OnlineResult": "NamedTuple result type",
    "CoinResult": "NamedTuple result type",
    "ExpertsResult": "NamedTuple result type",
    "BanditResult": "NamedTuple result type",
    "SORResult": "NamedTuple result type",
    "SORSequence": "NamedTuple result type",
}
