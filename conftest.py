"""Shared pytest configuration.

Notebook budget: nbval runs every notebook cell as a test item.  This plugin adds
up the time of each notebook's items (kernel start-up included) and fails the run if
any notebook takes 60 s or more, the book's budget on a 2-core CPU.  The timings are
written to ``_build/notebook-times.json`` (used by the execution-status report).
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent
NOTEBOOK_BUDGET_S = 60.0
_times: dict[str, float] = defaultdict(float)


def pytest_configure(config):
    config.addinivalue_line("markers", "book: needs the built book in _build/html")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_logreport(report):
    yield
    path = report.nodeid.split("::", 1)[0]
    if path.endswith(".ipynb"):
        _times[path] += report.duration


def pytest_sessionfinish(session, exitstatus):
    if not _times:
        return
    out = ROOT / "_build" / "notebook-times.json"
    out.parent.mkdir(exist_ok=True)
    previous = json.loads(out.read_text()) if out.exists() else {}
    previous.update({k: round(v, 2) for k, v in _times.items()})
    out.write_text(json.dumps(previous, indent=2, sort_keys=True))
    over = {k: v for k, v in _times.items() if v >= NOTEBOOK_BUDGET_S}
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_sep("-", "notebook run times (budget 60 s each)")
        for k, v in sorted(_times.items(), key=lambda kv: -kv[1]):
            reporter.write_line(f"{v:6.1f} s  {k}")
    if over:
        if reporter is not None:
            reporter.write_line(f"notebooks over budget: {over}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
