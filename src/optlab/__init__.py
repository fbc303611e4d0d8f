"""OptLab: the library behind the OptLab book.

Modules (one per topic): :mod:`optlab.problems` (test problems with known
constants), :mod:`optlab.first_order` (GD, Polyak, heavy ball, Nesterov as
optax transformations), :mod:`optlab.runner` (``lax.scan`` runner and
``vmap`` sweeps), :mod:`optlab.accel` (momentum and acceleration), :mod:`optlab.adaptive`
(AdaGrad to Lion), :mod:`optlab.stochastic` (SGD, variance reduction, clipping),
:mod:`optlab.second_order` (Newton to Muon), :mod:`optlab.ot` (optimal transport),
:mod:`optlab.lipschitz` and :mod:`optlab.smoothing` (Lipschitz bounds, certificates),
:mod:`optlab.viz` (plotly figures).
"""

from . import accel, adaptive, first_order, lipschitz, ot, problems, runner, second_order, smoothing, stochastic

__version__ = "0.1.0"

__all__ = ["accel", "adaptive", "first_order", "lipschitz", "ot", "problems", "runner", "second_order", "smoothing", "stochastic", "__version__"]
