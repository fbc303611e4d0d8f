"""OptLab: the library behind the OptLab book.

Modules (one per topic): :mod:`optlab.problems` (test problems with known
constants), :mod:`optlab.first_order` (GD, Polyak, heavy ball, Nesterov as
optax transformations), :mod:`optlab.runner` (``lax.scan`` runner and
``vmap`` sweeps), :mod:`optlab.accel` (momentum and acceleration), :mod:`optlab.adaptive`
(AdaGrad to Lion), :mod:`optlab.stochastic` (SGD, variance reduction, clipping),
:mod:`optlab.second_order` (Newton to Muon), :mod:`optlab.ot` (optimal transport),
:mod:`optlab.lipschitz` and :mod:`optlab.smoothing` (Lipschitz bounds, certificates),
:mod:`optlab.minimax` (games and monotone operators), :mod:`optlab.online` (online learning:
OGD, optimistic OMD, Hedge, coin betting, EXP3), :mod:`optlab.constrained` (projections,
Frank–Wolfe, duality, augmented Lagrangians, ADMM), :mod:`optlab.bilevel` (hypergradients,
hyperparameter learning), :mod:`optlab.landscape` (neural collapse, sharpness, implicit bias),
:mod:`optlab.zeroth_order` (gradient estimators, consensus-based optimisation),
:mod:`optlab.distributed` (compressed communication over JAX devices), :mod:`optlab.rl`
(MDPs, KL-regularised value iteration, policy gradient), :mod:`optlab.privacy` (DP-SGD and
its accountant), :mod:`optlab.prox` (proximal operators, ISTA/FISTA and the lasso, subgradient
and coordinate methods, Bradley–Terry rankings), :mod:`optlab.sampling` (Langevin samplers,
MALA, SVGD and JKO), :mod:`optlab.dynamics` (sharpness-aware minimisation, learning-rate
schedules, the SDE of SGD), :mod:`optlab.viz` (plotly figures).
"""

import importlib
from importlib.metadata import PackageNotFoundError, version

try:  # the version is declared once, in pyproject.toml
    __version__ = version("optlab")
except PackageNotFoundError:  # pragma: no cover - running from a source tree that is not installed
    __version__ = "0+unknown"

_SUBMODULES = (
    "accel",
    "adaptive",
    "bilevel",
    "constrained",
    "distributed",
    "first_order",
    "landscape",
    "linear_solvers",
    "lipschitz",
    "minimax",
    "online",
    "ot",
    "privacy",
    "problems",
    "prox",
    "dynamics",
    "rl",
    "runner",
    "sampling",
    "second_order",
    "smoothing",
    "stochastic",
    "viz",
    "zeroth_order",
)

__all__ = [*_SUBMODULES, "__version__"]


def __getattr__(name: str):
    """Import a topic module on first use (``optlab.ot`` after ``import optlab``).

    A chapter that uses two modules does not pay for importing the other seventeen
    (SciPy's statistics, plotly) at start-up.
    """
    if name in _SUBMODULES:
        module = importlib.import_module(f"{__name__}.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *_SUBMODULES])
