"""A myst-nb mime renderer for plotly figures (registered as an entry point).

Out of the box myst-nb does not know ``application/vnd.plotly.v1+json`` and
drops it with a warning.  This plugin renders it as a ``<div>`` plus a
``Plotly.newPlot`` call; plotly.js itself is served locally by the book
(``book/_ext/optlab_sphinx.py``).  For the HTML builder the plotly JSON is
preferred over any ``text/html`` fallback in the same bundle, so a figure
renders whichever plotly renderer produced it.
"""

from __future__ import annotations

PLOTLY_MIME = "application/vnd.plotly.v1+json"


class PlotlyMimeRenderer:
    """myst-nb ``MimeRenderPlugin`` for plotly JSON outputs."""

    mime_priority_overrides = [
        ("html", PLOTLY_MIME, 5),
        ("dirhtml", PLOTLY_MIME, 5),
        ("singlehtml", PLOTLY_MIME, 5),
    ]

    @staticmethod
    def handle_mime(renderer, data, inline):
        if data.mime_type != PLOTLY_MIME:
            return None
        import plotly.io as pio
        from docutils import nodes

        fig = dict(data.content)
        config = fig.pop("config", None) or {"displaylogo": False, "responsive": True}
        html = pio.to_html(
            fig, include_plotlyjs=False, include_mathjax=False, full_html=False, config=config, validate=False
        )
        return [nodes.raw(text=html, format="html", classes=["output", "text_html", "plotly"])]
