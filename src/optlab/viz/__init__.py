"""Plotly figures for the book and the labs.

``from optlab import viz`` registers the ``"optlab"`` plotly renderer (see
:mod:`optlab.viz.core`) without making it plotly's default: a notebook calls
:func:`use_book_renderer` for that.  It also exposes the generic figure builders and the
building blocks every figure shares (:func:`style_figure`, :func:`slider_menu`,
:func:`level_set_contour`, ...).  Topic-specific figures live in submodules
(``optlab.viz.ot``, ...), built on these.  :class:`Explorer` (:mod:`optlab.viz.explorer`)
defines an interactive figure once: live ipywidgets controls in a kernel, static slider
frames in the book.
"""

from . import core, explorer
from .core import *  # noqa: F403 (core's __all__ is the public surface of optlab.viz)
from .explorer import *  # noqa: F403 (the interactive figures: Explorer, slider, Frame, ...)

__all__ = list(core.__all__) + list(explorer.__all__)
