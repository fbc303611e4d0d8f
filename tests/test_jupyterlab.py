"""A chapter and a lab in a real JupyterLab, driven by headless Chromium (issue 17).

One JupyterLab server for the module, on 127.0.0.1 with a random token, serving a
temporary copy of the notebooks (nothing is saved into the checkout), with its
configuration, settings and workspaces isolated in a temporary directory; the
project's JupyterLab configuration (``tools/jupyter``: settings overrides, the book's TeX
macros for jupyterlab-myst, the cell toolbar off) is on ``JUPYTER_CONFIG_PATH`` as
``make lab`` installs it.  Any uncaught error in the page fails the test, with its stack:
that is how JupyterLab's cell toolbar was found throwing on jupyterlab-myst's Markdown
cells (``_markdownOverlapsToolbar`` reads ``inputArea.renderedInput``, which they lack).  Playwright drives the system chromium (``executable_path``: no browser
download).

* A chapter and a lab: Run All, no error output, the ``viz.Explorer`` rendered (ipywidgets
  controls above a plotly figure), its first slider moved with the keyboard, the plot's
  data changed; the round-trip latency (key press to new data in the page, measured
  with ``performance.now()`` in the browser) is recorded in
  ``test-artifacts/jupyterlab_latency.json`` (target: a warm median under 100 ms; asserted:
  under a second).
* The lab, saved (widget state included: settings override ``saveState``) with its kernel
  shut down, reopens trusted and shows its explorer from the saved state.
* A chapter with theorems reads well: jupyterlab-myst renders the ``{prf:...}``
  directives, no raw ``{prf:`` text, no KaTeX/MathJax error (the book's macros are known).

Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
JUPYTER_CONFIG = ROOT / "tools" / "jupyter"
CHAPTER = "book/01_gradient_descent.ipynb"
LAB = "labs/lab01_gd/lab01_gd.ipynb"
THEOREMS = "book/01_gradient_descent.ipynb"
WARM_BUDGET_MS = 100.0  # the target, recorded beside each measurement
RESPONSIVE_MS = 1000.0  # asserted: a warm move answers within a second
N_MOVES = 7  # the first (cold) move and six warm ones

pytestmark = [
    pytest.mark.book,
    pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (make system-deps)"),
    pytest.mark.skipif(
        shutil.which("jupyter-lab", path=str(Path(sys.executable).parent)) is None,
        reason="JupyterLab is not installed (the labs extra)",
    ),
]


def _load() -> tuple[float, int]:
    """The 1-minute load average and the number of cores."""
    return os.getloadavg()[0], os.cpu_count() or 1


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """(base URL, token, root): a JupyterLab server on a temporary copy of the notebooks."""
    tmp = tmp_path_factory.mktemp("jupyterlab")
    root = tmp / "root"
    for rel in (CHAPTER, LAB, THEOREMS):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, root / rel)
    port, token = _free_port(), secrets.token_hex(16)
    env = dict(os.environ)
    env.pop("OPTLAB_STATIC_FIGURES", None)  # the kernels show the live widgets
    for var, sub in [
        ("JUPYTER_CONFIG_DIR", "config"),
        ("JUPYTER_DATA_DIR", "data"),
        ("JUPYTER_RUNTIME_DIR", "runtime"),
        ("JUPYTERLAB_SETTINGS_DIR", "settings"),
        ("JUPYTERLAB_WORKSPACES_DIR", "workspaces"),
        ("IPYTHONDIR", "ipython"),
    ]:
        env[var] = str(tmp / sub)
    env["JUPYTER_CONFIG_PATH"] = str(JUPYTER_CONFIG)
    # the kernels load what the book build compiled, as under nbval (the Makefile exports these)
    env.setdefault("JAX_COMPILATION_CACHE_DIR", str(ROOT / "_build" / "jax-cache"))
    env.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0.1")
    env["JUPYTER_PLATFORM_DIRS"] = "1"
    log = open(tmp / "jupyterlab.log", "w")  # noqa: SIM115 (closed at teardown)
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "jupyter-lab"),
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={root}",
            "--LabApp.expose_app_in_browser=True",  # window.jupyterapp: run commands, read models
            "--LabApp.news_url=",
            "--LabServerApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            *(["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []),
        ],
        cwd=root,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while True:
        try:
            with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"JupyterLab did not start:\n{(tmp / 'jupyterlab.log').read_text()[-3000:]}")
        time.sleep(0.25)
    yield base, token, root
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    log.close()


@pytest.fixture(scope="module")
def browser():
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        yield b
        b.close()


@pytest.fixture(scope="module")
def latencies():
    """Every explorer's latencies, written to test-artifacts/jupyterlab_latency.json at the end."""
    out: dict = {}
    yield out
    if out:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / "jupyterlab_latency.json"
        old = json.loads(path.read_text()) if path.exists() else {}
        path.write_text(json.dumps(old | out, indent=2) + "\n")


def _open(browser, lab, rel):
    base, token, _ = lab
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(f"{e}\n{(e.stack or '')[:1500]}"))
    page.goto(f"{base}/lab/tree/{rel}?reset&token={token}")
    page.wait_for_function(
        "() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
        " && window.jupyterapp.shell.currentWidget.context"
        " && window.jupyterapp.shell.currentWidget.context.isReady",
        timeout=60_000,
    )
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
    return page, errors


_KERNEL_STATUS = """() => {
  const w = window.jupyterapp.shell.currentWidget;
  const k = w && w.sessionContext.session && w.sessionContext.session.kernel;
  return k ? k.status : null;
}"""

_ERROR_OUTPUTS = """() => {
  const nb = window.jupyterapp.shell.currentWidget.content;
  const errors = [];
  for (const cell of nb.widgets) {
    if (cell.model.type !== 'code') continue;
    const outputs = cell.model.outputs;
    for (let i = 0; i < outputs.length; i++) {
      const o = outputs.get(i).toJSON();
      if (o.output_type === 'error') errors.push(o.ename + ': ' + o.evalue);
      if (o.output_type === 'stream' && o.name === 'stderr' && /Traceback|\\bError\\b/.test(o.text))
        errors.push('stderr: ' + String(o.text).slice(0, 500));
    }
  }
  const stderr = '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]';
  for (const el of document.querySelectorAll(stderr))
    if (/Traceback|\\w+Error\\b/.test(el.textContent)) errors.push('shown: ' + el.textContent.slice(0, 500));
  return errors;
}"""


def _run_all(page, timeout_s=240):
    page.wait_for_function(f"() => ({_KERNEL_STATUS})() === 'idle'", timeout=120_000)
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    # every code cell executed (none left queued "[*]") and the kernel idle
    page.wait_for_function(
        """() => {
          const nb = window.jupyterapp.shell.currentWidget.content;
          const busy = nb.widgets.some(c => c.model.type === 'code' && c.promptNode
                                            && c.promptNode.textContent.includes('*'));
          const k = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
          return !busy && k.status === 'idle';
        }""",
        timeout=timeout_s * 1000,
        polling=500,
    )
    errors = page.evaluate(_ERROR_OUTPUTS)
    assert not errors, f"error outputs after Run All: {errors}"


# In the page: a key press starts the clock (capture phase, before the slider sees it);
# the clock stops at the first plotly event (restyle, update, redraw) or animation frame
# at which the plot's data differ from those at the key press.
_INSTALL_PROBE = """(explorer) => {
  const gd = explorer.querySelector('.js-plotly-plot');
  // plotly's restyle replaces a trace's arrays: comparing them by identity costs nothing
  const refs = () => (gd.data || []).flatMap(t => [t.x, t.y, t.z]);
  const changed = before => {
    const now = refs();
    return now.length !== before.length || now.some((a, i) => a !== before[i]);
  };
  const probe = {t0: null, before: null, pending: false, results: []};
  window.__optlabProbe = probe;
  const check = () => {
    if (!probe.pending) return true;
    if (changed(probe.before)) {
      probe.pending = false;
      probe.results.push(performance.now() - probe.t0);
      return true;
    }
    if (performance.now() - probe.t0 > 20000) {
      probe.pending = false;
      probe.results.push(null);
      return true;
    }
    return false;
  };
  for (const ev of ['plotly_restyle', 'plotly_update', 'plotly_redraw', 'plotly_afterplot'])
    gd.on(ev, check);
  explorer.addEventListener('keydown', () => {
    probe.t0 = performance.now();
    probe.before = refs();
    probe.pending = true;
    const poll = () => { if (!check()) requestAnimationFrame(poll); };
    requestAnimationFrame(poll);
  }, true);
  return true;
}"""


def _move_slider(page, name, latencies):
    explorer = page.locator(".optlab-explorer").first
    explorer.wait_for(timeout=60_000)
    explorer.locator(".js-plotly-plot").first.wait_for(timeout=60_000)
    page.wait_for_function(
        "() => { const g = document.querySelector('.optlab-explorer .js-plotly-plot');"
        " return g && g.data && g.data.length > 0; }",
        timeout=60_000,
    )
    explorer.scroll_into_view_if_needed()
    assert explorer.locator(".widget-slider, .widget-dropdown").count() >= 1, "no control in the explorer"
    before = page.evaluate(
        "() => JSON.stringify(document.querySelector('.optlab-explorer .js-plotly-plot').data)"
    )
    page.evaluate(_INSTALL_PROBE, explorer.element_handle())
    handle = explorer.locator(".noUi-handle").first
    handle.focus()
    for i in range(N_MOVES):
        page.keyboard.press("ArrowRight")
        page.wait_for_function(f"() => window.__optlabProbe.results.length > {i}", timeout=30_000)
        page.wait_for_timeout(250)  # let the figure settle before the next move
    results = page.evaluate("() => window.__optlabProbe.results")
    after = page.evaluate(
        "() => JSON.stringify(document.querySelector('.optlab-explorer .js-plotly-plot').data)"
    )
    assert after != before, "moving the slider did not change the plot's data"
    assert all(r is not None for r in results), f"some moves never changed the plot: {results}"
    cold, warm = results[0], results[1:]
    median = statistics.median(warm)
    load, cores = _load()
    latencies[name] = {
        "cold_first_move_ms": round(cold, 1),
        "warm_moves_ms": [round(r, 1) for r in warm],
        "warm_median_ms": round(median, 1),
        "budget_ms": WARM_BUDGET_MS,
        "browser": "chromium (headless, playwright)",
        "load_average_1min": round(load, 2),
        "cores": cores,
    }
    return median


def _screenshot(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"jupyterlab_{name}.png"), full_page=False)


def _explorer_test(browser, lab, latencies, rel, name, save=False):
    page, page_errors = _open(browser, lab, rel)
    try:
        _run_all(page)
        median = _move_slider(page, name, latencies)
        page.locator(".optlab-explorer").first.scroll_into_view_if_needed()
        _screenshot(page, name)
        if save:  # into the temporary copy, with the widget state; the kernel is shut down
            page.evaluate("""async () => {
              const w = window.jupyterapp.shell.currentWidget;
              await window.jupyterapp.commands.execute('docmanager:save');
              await w.sessionContext.shutdown();
            }""")
        assert not page_errors, f"uncaught errors in the page: {page_errors}"
        # The round trip is recorded (test-artifacts/jupyterlab_latency.json, and with the
        # command in benchmarks/RESULTS.md), not judged against the 100 ms target: a timed
        # assert depends on what else the machine runs. What is asserted is that a move
        # answers at all within a second, which a blocking or recompiling widget does not.
        assert median < RESPONSIVE_MS, (
            f"warm median round trip {median:.1f} ms >= {RESPONSIVE_MS} ms (target {WARM_BUDGET_MS} ms)"
        )
    except Exception:
        _screenshot(page, f"{name}_failure")
        raise
    finally:
        page.close()


def test_chapter_explorer_in_jupyterlab(browser, lab, latencies):
    cells = json.loads((ROOT / CHAPTER).read_text())["cells"]
    if not any("explorer" in "".join(c["source"]).lower() for c in cells if c["cell_type"] == "code"):
        pytest.skip(f"{CHAPTER} has no viz.Explorer yet")
    _explorer_test(browser, lab, latencies, CHAPTER, "chapter01")


def test_lab_explorer_in_jupyterlab(browser, lab, latencies):
    _explorer_test(browser, lab, latencies, LAB, "lab01", save=True)


def test_saved_lab_reopens_with_its_explorer(browser, lab):
    """The lab, run and saved by the lab test (with its widget state: settings override
    saveState) and its kernel shut down, reopens trusted (the server signed it when it
    saved it) and shows the explorer's controls and plot from the saved state, before any
    cell runs again."""
    _, _, root = lab
    if "widgets" not in json.loads((root / LAB).read_text())["metadata"]:
        pytest.fail("the lab was not saved with its widget state (did the lab test run first?)")
    page, page_errors = _open(browser, lab, LAB)
    try:
        trusted = page.evaluate(
            "() => window.jupyterapp.shell.currentWidget.content.widgets"
            ".filter(c => c.model.type === 'code' && c.model.outputs.length).every(c => c.model.trusted)"
        )
        assert trusted, "the notebook saved by JupyterLab reopens untrusted"
        explorer = page.locator(".optlab-explorer").first
        explorer.wait_for(timeout=60_000)
        explorer.locator(".js-plotly-plot").first.wait_for(timeout=60_000)
        assert explorer.locator(".noUi-handle").count() >= 1, "no slider in the restored explorer"
        explorer.scroll_into_view_if_needed()
        _screenshot(page, "lab01_reopened")
        # plotly drops an ``x`` equal to its implicit default (0, 1, ..., n-1) from the widget
        # state (the trace deltas of the view remove it), so a restored trace may have ``y``
        # alone; what it must have is its points, and an ``x`` where it has one of their number
        sizes = page.evaluate("""() => document.querySelector('.optlab-explorer .js-plotly-plot').data
            .map(d => [d.x ? d.x.length : -1, d.y ? d.y.length : 0])""")
        assert sizes and all(ny >= 1 for _, ny in sizes), f"a restored trace has no points: {sizes}"
        assert max(ny for _, ny in sizes) > 1, f"the restored plot has no curve: {sizes}"
        assert all(nx in (-1, ny) for nx, ny in sizes), f"restored x and y differ in length: {sizes}"
    finally:
        page.close()


# jupyterlab-myst renders Markdown cells into `.myst` elements: theorems and proofs as
# `aside.myst-proof`, math with KaTeX; a formula KaTeX cannot parse (an unknown macro) is shown
# as its source in a yellow (inline) or red (display) span whose title is KaTeX's message, and
# an unknown directive as a "... - Unknown Directive" box.
_READING = r"""() => {
  const mysts = [...document.querySelectorAll('.jp-Notebook .myst')];
  const text = mysts.map(e => e.textContent).join('\n');
  const tex = /control sequence|Unexpected|Expected|KaTeX|parse error|Undefined|Missing|Unknown/i;
  const errors = [...document.querySelectorAll(
      '.jp-Notebook .myst [title], .jp-Notebook .katex-error, .jp-Notebook mjx-merror')]
    .filter(el => el.matches('.katex-error, mjx-merror') || tex.test(el.getAttribute('title') || ''))
    .map(el => (el.getAttribute('title') || el.textContent).slice(0, 200));
  const raw = [];
  for (const m of text.matchAll(/\{prf:[a-z]+\}|\{cite[a-z:]*\}|Unknown Directive|\{eq\}`/g))
    raw.push(text.slice(Math.max(0, m.index - 60), m.index + 80));
  const nb = window.jupyterapp.shell.currentWidget.content;
  return {
    errors, raw,
    markdown_cells: nb.widgets.filter(c => c.model.type === 'markdown').length,
    rendered: mysts.length,
    proofs: document.querySelectorAll('.jp-Notebook .myst aside.myst-proof').length,
    katex: document.querySelectorAll('.jp-Notebook .myst .katex').length,
  };
}"""


def test_chapter_reads_well_in_jupyterlab(browser, lab):
    """jupyterlab-myst renders the theorems and proofs; the book's macros are known to KaTeX."""
    page, page_errors = _open(browser, lab, THEOREMS)
    try:
        page.wait_for_selector(".jp-Notebook .myst .katex", timeout=60_000)
        page.wait_for_function(
            "() => { const nb = window.jupyterapp.shell.currentWidget.content;"
            " return document.querySelectorAll('.jp-Notebook .myst').length"
            " >= nb.widgets.filter(c => c.model.type === 'markdown').length; }",
            timeout=60_000,
        )
        page.wait_for_timeout(500)
        info = page.evaluate(_READING)
        _screenshot(page, "chapter01_reading")
        theorem = page.locator(".jp-Notebook .myst aside.myst-proof").nth(2)
        theorem.scroll_into_view_if_needed()
        _screenshot(page, "chapter01_theorem")
        assert info["rendered"] >= info["markdown_cells"] > 0, info
        assert not info["raw"], f"MyST shown raw instead of rendered: {info['raw'][:5]}"
        assert not info["errors"], f"formulas KaTeX could not typeset: {info['errors'][:5]}"
        assert info["proofs"] >= 3, f"theorem/proof blocks not rendered: {info}"
        assert info["katex"] > 50, f"math not typeset: {info}"
    finally:
        page.close()
