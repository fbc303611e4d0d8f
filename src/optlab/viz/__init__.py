"""Plotly figures for the book and the labs.

``from optlab import viz`` registers the ``"optlab"`` plotly renderer (see
:mod:`optlab.viz.core`) without making it plotly's default: a notebook calls
:func:`use_book_renderer` for that.  It also exposes the generic figure builders and the
building blocks every figure shares (:func:`style_figure`, :func:`slider_menu`,
:func:`level_set_contour`, ...).  Topic-specific figures live in submodules
(``optlab.viz.ot``, ...), built on these.
"""

from .core import (
    COLORS,
    as_float_array,
    clip_path,
    contour_trajectories,
    convergence_figure,
    convergence_slider,
    format_number,
    grid_values,
    heatmap_slider,
    level_set_contour,
    live,
    mask_nonpositive,
    path_trace,
    slider_menu,
    stepped_figure,
    style_figure,
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
    "style_figure",
    "slider_menu",
    "level_set_contour",
    "path_trace",
    "clip_path",
    "format_number",
    "as_float_array",
    "mask_nonpositive",
]
