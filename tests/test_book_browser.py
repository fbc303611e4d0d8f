"""The built book, as a reader sees it, in headless Chromium with the network cut off.

Needs ``_build/html`` (``make book``; ``make test`` builds it first).  For every
chapter page: each plotly figure must have drawn its SVG, MathJax must have
typeset the formulas, no asset may come from the network, and a screenshot is
saved to ``test-artifacts/``.
"""

from __future__ import annotations

import functools
import http.server
import re
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHAPTERS = sorted(p.stem for p in (ROOT / "book").glob("*.ipynb"))

pytestmark = [
    pytest.mark.book,
    pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (make system-deps)"),
]

FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
    "--disable-default-apps", "--mute-audio",
    # the network is cut off: every host but the local server fails to resolve
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]


@pytest.fixture(scope="module")
def server():
    if not (HTML / "book").is_dir():
        pytest.fail("the book is not built: run `make book` first")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(HTML))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    handler.log_message = lambda *a, **k: None
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def _chromium(tmp_path, *args, timeout=120):
    profile = tmp_path / "profile"
    cmd = [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def _built_chapters():
    return [c for c in CHAPTERS if (HTML / "book" / f"{c}.html").exists()]


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_figures_and_math_render_offline(chapter, server, tmp_path):
    page = HTML / "book" / f"{chapter}.html"
    assert page.exists(), f"{chapter} was not built"
    source = page.read_text()
    remote = re.findall(r"<(?:script|link)\b[^>]*(?:src|href)=\"(?:https?:)?//[^\"]+\.(?:js|css)", source)
    assert not remote, f"remote assets in {chapter}: {remote}"
    n_figures = source.count("Plotly.newPlot(")
    assert n_figures >= 1, f"{chapter} has no plotly figure"

    url = f"{server}/book/{chapter}.html"
    dom = _chromium(tmp_path, "--virtual-time-budget=30000", "--dump-dom", url).stdout
    graph_divs = len(re.findall(r'class="[^"]*js-plotly-plot', dom))
    svgs = len(re.findall(r'<svg class="main-svg"', dom))
    assert graph_divs == n_figures, f"{graph_divs} of {n_figures} plotly figures initialised"
    assert svgs >= n_figures, f"only {svgs} plotly SVGs for {n_figures} figures"
    assert "<mjx-container" in dom, "MathJax did not typeset the page"
    assert "Plotly is not defined" not in dom

    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / f"{chapter}.png"
    _chromium(tmp_path, "--virtual-time-budget=30000", "--window-size=1280,2400",
              "--hide-scrollbars", f"--screenshot={shot}", url)
    assert shot.exists() and shot.stat().st_size > 20_000, "the screenshot is missing or blank"


def test_every_chapter_was_built():
    assert set(_built_chapters()) == set(CHAPTERS)


def _rgb(css: str) -> tuple[float, float, float, float]:
    """``white`` / ``rgb(r, g, b)`` / ``rgba(r, g, b, a)`` / ``#rrggbb`` → (r, g, b, alpha)."""
    css = css.strip().lower()
    named = {"white": (255, 255, 255, 1.0), "black": (0, 0, 0, 1.0), "transparent": (0, 0, 0, 0.0)}
    if css in named:
        return named[css]
    if css.startswith("#") and len(css) == 7:
        return (int(css[1:3], 16), int(css[3:5], 16), int(css[5:7], 16), 1.0)
    m = re.match(r"rgba?\(([^)]*)\)", css)
    assert m, f"unparsed colour {css!r}"
    parts = [float(p) for p in m.group(1).split(",")]
    return (*parts[:3], parts[3] if len(parts) > 3 else 1.0)


def _contrast(a, b) -> float:
    """WCAG 2 contrast ratio of two opaque colours."""
    def lum(c):
        ch = [v / 255 for v in c[:3]]
        ch = [v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4 for v in ch]
        return 0.2126 * ch[0] + 0.7152 * ch[1] + 0.0722 * ch[2]
    hi, lo = sorted((lum(a), lum(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_figures_stay_legible_in_the_dark_theme(chapter, server, tmp_path):
    """With the reader's system in dark mode the theme turns dark; every figure must keep an
    opaque background of its own, and its text must contrast with that background (WCAG ≥ 4.5)."""
    url = f"{server}/book/{chapter}.html"
    dom = _chromium(tmp_path, "--force-dark-mode", "--virtual-time-budget=30000", "--dump-dom", url).stdout
    assert re.search(r'<html[^>]*data-theme="dark"', dom), "the page did not switch to the dark theme"
    n_figures = (HTML / "book" / f"{chapter}.html").read_text().count("Plotly.newPlot(")
    # each figure's first <svg class="main-svg"> carries the paper background; the text of the
    # figure follows it until the next figure's background-bearing svg
    pieces = re.split(r'<svg class="main-svg"[^>]*style="background: ([^;"]+);', dom)
    backgrounds, segments = pieces[1::2], pieces[2::2]
    assert len(backgrounds) == n_figures, f"{len(backgrounds)} figure backgrounds for {n_figures} figures"
    for bg_css, segment in zip(backgrounds, segments):
        bg = _rgb(bg_css)
        assert bg[3] == 1.0, f"a figure has a see-through background ({bg_css}): dark page shows through"
        # heatmap cell labels sit on their cell's colour (plotly picks black or white per cell)
        segment = re.sub(r'<g class="heatmap-label".*?</g>', "", segment, flags=re.S)
        for fill in set(re.findall(r'<text[^>]*?fill: (rgba?\([^)]*\)|#[0-9a-f]{6})', segment)):
            assert _contrast(_rgb(fill), bg) >= 4.5, f"text colour {fill} on {bg_css} is not legible"
    if chapter == CHAPTERS[0]:
        ARTIFACTS.mkdir(exist_ok=True)
        shot = ARTIFACTS / f"{chapter}-dark.png"
        _chromium(tmp_path, "--force-dark-mode", "--virtual-time-budget=30000", "--window-size=1280,2400",
                  "--hide-scrollbars", f"--screenshot={shot}", url)
        assert shot.exists() and shot.stat().st_size > 20_000, "the dark screenshot is missing or blank"
