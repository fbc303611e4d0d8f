"""OptLab: the library behind the OptLab book.

Modules (one per topic): :mod:`optlab.problems` (test problems with known
constants), :mod:`optlab.first_order` (GD, Polyak, heavy ball, Nesterov as
optax transformations), :mod:`optlab.runner` (``lax.scan`` runner and
``vmap`` sweeps), :mod:`optlab.viz` (plotly figures).
"""

from . import first_order, problems, runner

__version__ = "0.1.0"

__all__ = ["first_order", "problems", "runner", "__version__"]
