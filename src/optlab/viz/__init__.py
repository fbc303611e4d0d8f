"""Plotly figures for the book and the labs.

``from optlab import viz`` registers the ``"optlab"`` plotly renderer (see
:mod:`optlab.viz.core`) without making it plotly's default: a notebook calls
:func:`use_book_renderer` for that.  It also exposes the generic figure builders.  Topic-specific
figures live in submodules (``optlab.viz.ot``, ...), built on these.
"""

from .core import (
    COLORS,
    contour_trajectories,
    convergence_figure,
    convergence_slider,
    grid_values,
    heatmap_slider,
    live,
    stepped_figure,
    trajectory_explorer,
    use_book_renderer,
)

__all__ = [
    "COLORS",
    "contour_trajectories",
    "convergence_figure",
    "convergence_slider",
    "grid_values",
    "heatmap_slider",
    "live",
    "stepped_figure",
    "trajectory_explorer",
    "use_book_renderer",
]
