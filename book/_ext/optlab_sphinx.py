"""Sphinx extension that makes the built book self-contained.

- Serves plotly.js from the installed ``plotly`` package (no CDN).  It is loaded
  in ``<head>`` before any AMD loader, so it defines the global ``Plotly`` used by
  the figures that :mod:`optlab.viz` emits.
- Serves MathJax 3 from the ``django-static-mathjax`` wheel and points Sphinx's
  ``mathjax_path`` at it, so formulas render offline.
- Fails the build (as a warning, hence an error under ``-W``) if a page would
  still load a script or stylesheet from the network.
- Sets the book's TeX macros (``\\R``, ``\\E``, ``\\norm``, ...) in ``mathjax3_config`` from
  ``book/_ext/tex_macros.json``, their one definition: JupyterLab gets the same file
  through ``tools/jupyter/jupyter_server_config.py`` (jupyterlab-myst's ``math``
  frontmatter), so a chapter reads the same in the HTML and in JupyterLab.
- Drops sphinx-thebe's assets from every page: the book has no live-code cells (the
  launch buttons open JupyterLab instead), and jupyter-book 1 added thebe's inline
  configuration twice, so every page threw "Identifier 'THEBE_JS_URL' has already been
  declared" in the browser console (and named a CDN URL).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)

TEX_MACROS = Path(__file__).with_name("tex_macros.json")
"""The book's TeX macros, in MathJax 3's form: ``name: body`` or ``name: [body, n_args]``."""

MATHJAX_PARTS = ("tex-chtml.js", "input", "output", "a11y", "ui", "sre", "adaptors")
_REMOTE = re.compile(r"""<(?:script|link)\b[^>]*(?:src|href)=["'](?:https?:)?//[^"']+\.(?:js|css)(?:\?[^"']*)?["']""")


def _plotly_js() -> Path:
    import plotly

    path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    if not path.exists():
        raise FileNotFoundError(f"plotly.min.js not found at {path}")
    return path


def _mathjax_dir() -> Path:
    import mathjax  # provided by the django-static-mathjax wheel

    path = Path(mathjax.__file__).parent / "static" / "mathjax" / "es5"
    if not (path / "tex-chtml.js").exists():
        raise FileNotFoundError(f"MathJax 3 not found at {path}")
    return path


def tex_macros() -> dict:
    """The book's TeX macros (``book/_ext/tex_macros.json``), in MathJax 3's form."""
    return json.loads(TEX_MACROS.read_text(encoding="utf-8"))


def _on_config_inited(app: Sphinx, config) -> None:
    mathjax = dict(config.mathjax3_config or {})
    tex = dict(mathjax.get("tex", {}))
    tex["macros"] = {**tex.get("macros", {}), **tex_macros()}
    mathjax["tex"] = tex
    config.mathjax3_config = mathjax


def _on_builder_inited(app: Sphinx) -> None:
    if app.builder.format != "html":
        return
    app.add_js_file("optlab/plotly.min.js", priority=100)
    app.config.mathjax_path = "optlab/mathjax/tex-chtml.js"


def _on_build_finished(app: Sphinx, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    static = Path(app.outdir) / "_static" / "optlab"
    static.mkdir(parents=True, exist_ok=True)
    shutil.copy2(_plotly_js(), static / "plotly.min.js")
    src = _mathjax_dir()
    for part in MATHJAX_PARTS:
        s, d = src / part, static / "mathjax" / part
        if s.is_dir():
            shutil.copytree(s, d, dirs_exist_ok=True)
        elif s.exists():
            d.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(s, d)
    for page in Path(app.outdir).rglob("*.html"):
        for match in _REMOTE.finditer(page.read_text(encoding="utf-8", errors="replace")):
            logger.warning("%s loads a remote asset: %s", page.relative_to(app.outdir), match.group(0))


def _is_thebe(asset) -> bool:
    body = getattr(asset, "attributes", {}).get("body", "") or ""
    return "thebe" in str(asset) or "THEBE_JS_URL" in body or "thebe_selector" in body


def _on_html_page_context(app: Sphinx, pagename, templatename, context, doctree) -> None:
    for key in ("script_files", "css_files"):
        if key in context:
            context[key] = [asset for asset in context[key] if not _is_thebe(asset)]


def setup(app: Sphinx) -> dict:
    app.connect("config-inited", _on_config_inited)
    app.connect("builder-inited", _on_builder_inited)
    # after sphinx-thebe and jupyter-book have added their assets
    app.connect("html-page-context", _on_html_page_context, priority=900)
    app.connect("build-finished", _on_build_finished)
    return {"version": "0.1", "parallel_read_safe": True, "parallel_write_safe": True}
