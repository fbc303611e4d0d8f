"""Bad-input cases for optlab.linear_solvers (see README.md here)."""

import jax
import jax.numpy as jnp
import numpy as np

from badinput import Bad, Coerce
from optlab import linear_solvers as ls

KEY = jax.random.key(0)
NAN = float("nan")
INF = float("inf")

CASES = [
    # ------------------------------------------------------------ SOR helpers
    Bad("linear_solvers.laplacian_1d", "n", lambda: ls.laplacian_1d(0), "zero n"),
    Bad("linear_solvers.laplacian_1d", "n", lambda: ls.laplacian_1d(3.0), "float n"),
    Bad("linear_solvers.laplacian_1d", "dtype", lambda: ls.laplacian_1d(3, jnp.int32), "integer dtype"),
    Bad("linear_solvers.laplacian_1d", "dtype", lambda: ls.laplacian_1d(3, "banana"), "not a dtype"),
    Bad("linear_solvers.jacobi_radius", "A", lambda: ls.jacobi_radius(np.ones(3)), "1-D"),
    Bad("linear_solvers.jacobi_radius", "A", lambda: ls.jacobi_radius(np.ones((2, 3))), "not square"),
    Bad("linear_solvers.jacobi_radius", "A", lambda: ls.jacobi_radius(np.array([[1.0, NAN], [0, 1]])), "NaN"),
    Bad("linear_solvers.jacobi_radius", "A", lambda: ls.jacobi_radius(np.array([[0.0, 1], [1, 0]])), "zero diagonal"),
    Bad("linear_solvers.jacobi_radius", "A", lambda: ls.jacobi_radius(np.zeros((0, 0))), "empty"),
    Bad("linear_solvers.jacobi_radius", "A", lambda: ls.jacobi_radius("A"), "string"),
    Coerce("linear_solvers.jacobi_radius", lambda: ls.jacobi_radius([[2, -1], [-1, 2]]),
           lambda: ls.jacobi_radius(np.array([[2.0, -1], [-1, 2]]))),
    Bad("linear_solvers.young_omega", "rho_jacobi", lambda: ls.young_omega(1.0), "rho = 1"),
    Bad("linear_solvers.young_omega", "rho_jacobi", lambda: ls.young_omega(-0.1), "negative rho"),
    Bad("linear_solvers.young_omega", "rho_jacobi", lambda: ls.young_omega(NAN), "NaN rho"),
    Bad("linear_solvers.young_omega", "rho_jacobi", lambda: ls.young_omega("0.5"), "string rho"),
    Coerce("linear_solvers.young_omega", lambda: ls.young_omega(0), lambda: ls.young_omega(0.0)),
    Bad("linear_solvers.sor_spectral_radius", "omega", lambda: ls.sor_spectral_radius(2.0, 0.5), "omega = 2"),
    Bad("linear_solvers.sor_spectral_radius", "omega", lambda: ls.sor_spectral_radius(0.0, 0.5), "omega = 0"),
    Bad("linear_solvers.sor_spectral_radius", "omega", lambda: ls.sor_spectral_radius(None, 0.5), "None omega"),
    Bad("linear_solvers.sor_spectral_radius", "rho_jacobi", lambda: ls.sor_spectral_radius(1.2, 1.5), "rho > 1"),
    Coerce("linear_solvers.sor_spectral_radius", lambda: ls.sor_spectral_radius(1, 0),
           lambda: ls.sor_spectral_radius(1.0, 0.0)),
    # ------------------------------------------------------------ sor
    Bad("linear_solvers.sor", "A", lambda: ls.sor(np.ones((3, 2)), np.ones(3), 1.0), "not square"),
    Bad("linear_solvers.sor", "A", lambda: ls.sor(np.ones(3), np.ones(3), 1.0), "1-D A"),
    Bad("linear_solvers.sor", "A", lambda: ls.sor(np.array([[1.0, NAN], [0, 1]]), np.ones(2), 1.0), "NaN A"),
    Bad("linear_solvers.sor", "A", lambda: ls.sor(np.array([[0.0, 1], [1, 0]]), np.ones(2), 1.0), "zero diagonal"),
    Bad("linear_solvers.sor", "A", lambda: ls.sor("A", np.ones(2), 1.0), "string A"),
    Bad("linear_solvers.sor", "b", lambda: ls.sor(np.eye(2), np.ones(3), 1.0), "b length"),
    Bad("linear_solvers.sor", "b", lambda: ls.sor(np.eye(2), np.zeros(2), 1.0), "zero b"),
    Bad("linear_solvers.sor", "b", lambda: ls.sor(np.eye(2), np.array([INF, 1.0]), 1.0), "inf b"),
    Bad("linear_solvers.sor", "omega", lambda: ls.sor(np.eye(2), np.ones(2), 2.0), "omega = 2"),
    Bad("linear_solvers.sor", "omega", lambda: ls.sor(np.eye(2), np.ones(2), np.ones(2)), "array omega"),
    Bad("linear_solvers.sor", "tol", lambda: ls.sor(np.eye(2), np.ones(2), 1.0, tol=0.0), "zero tol"),
    Bad("linear_solvers.sor", "num_steps", lambda: ls.sor(np.eye(2), np.ones(2), 1.0, num_steps=0), "zero num_steps"),
    Bad("linear_solvers.sor", "num_steps", lambda: ls.sor(np.eye(2), np.ones(2), 1.0, num_steps=5.5), "float num_steps"),
    Bad("linear_solvers.sor", "x0", lambda: ls.sor(np.eye(2), np.ones(2), 1.0, x0=np.zeros(3)), "x0 length"),
    Bad("linear_solvers.sor", "x0", lambda: ls.sor(np.eye(2), np.ones(2), 1.0, x0=np.array([NAN, 0])), "NaN x0"),
    Coerce("linear_solvers.sor", lambda: ls.sor([[2, -1], [-1, 2]], [1, 0], 1),
           lambda: ls.sor(np.array([[2.0, -1], [-1, 2]]), np.array([1.0, 0.0]), 1.0)),
    # ------------------------------------------------------------ sor_cost_table
    Bad("linear_solvers.sor_cost_table", "key", lambda: ls.sor_cost_table(4, 2, [1.0, 1.5], key=1), "integer key"),
    Bad("linear_solvers.sor_cost_table", "n", lambda: ls.sor_cost_table(1, 2, [1.0, 1.5], key=KEY), "n = 1"),
    Bad("linear_solvers.sor_cost_table", "num_systems", lambda: ls.sor_cost_table(4, 0, [1.0], key=KEY), "zero systems"),
    Bad("linear_solvers.sor_cost_table", "omegas", lambda: ls.sor_cost_table(4, 2, [1.0, 2.5], key=KEY), "omega > 2"),
    Bad("linear_solvers.sor_cost_table", "omegas", lambda: ls.sor_cost_table(4, 2, [], key=KEY), "no arms"),
    Bad("linear_solvers.sor_cost_table", "omegas", lambda: ls.sor_cost_table(4, 2, "1.5", key=KEY), "string omegas"),
    Bad("linear_solvers.sor_cost_table", "shift_range",
        lambda: ls.sor_cost_table(4, 2, [1.0], key=KEY, shift_range=(0.5, 0.1)), "low > high"),
    Bad("linear_solvers.sor_cost_table", "shift_range",
        lambda: ls.sor_cost_table(4, 2, [1.0], key=KEY, shift_range=(-0.5, 0.1)), "negative"),
    Bad("linear_solvers.sor_cost_table", "shift_range",
        lambda: ls.sor_cost_table(4, 2, [1.0], key=KEY, shift_range=(0.1, 0.2, 0.3)), "triple"),
    Bad("linear_solvers.sor_cost_table", "tol", lambda: ls.sor_cost_table(4, 2, [1.0], key=KEY, tol=-1.0), "negative tol"),
    Bad("linear_solvers.sor_cost_table", "num_steps",
        lambda: ls.sor_cost_table(4, 2, [1.0], key=KEY, num_steps=0), "zero num_steps"),
    Coerce("linear_solvers.sor_cost_table", lambda: ls.sor_cost_table(4, 2, [1, 1.5], key=KEY, num_steps=50),
           lambda: ls.sor_cost_table(4, 2, np.array([1.0, 1.5], np.float32), key=KEY, num_steps=50)),
    Bad("linear_solvers.sor_cost_table", "key", lambda: ls.sor_cost_table(4, 2, [1.0], key="k"), "string key"),
    Bad("linear_solvers.sor_cost_table", "num_steps",
        lambda: ls.sor_cost_table(4, 2, [1.0], key=KEY, num_steps=2.5), "float num_steps"),
]

EXEMPT = {
    "SORResult": "NamedTuple result type",
    "SORSequence": "NamedTuple result type",
}
