"""GPU parity check: the unit tests and every chapter on JAX's default device.

``make gpu-check`` runs this script.  It prints the device, runs the unit tests
(without the lab, browser and project-hygiene tests) on the default backend, then
executes every chapter notebook in a fresh kernel (the same way the book build
and nbval do) and prints one Markdown table: chapter, seconds, result, and the
seconds recorded for the same chapter on the 2-core CPU (``_build/notebook-times.json``
written by ``make test``), so that a chapter slower on the accelerator stands out.

Usage::

    python tools/gpu_check.py [--chapters 01 10] [--no-unit] [--timeout 600]

Exit status 0 when every unit test passes and every chapter runs.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def device_line() -> str:
    import jax

    devs = jax.devices()
    return f"JAX {jax.__version__}, backend {jax.default_backend()}, devices {[str(d) for d in devs]}"


def run_unit_tests(timeout: float) -> tuple[dict, float]:
    junit = ROOT / "_build" / "gpu-check-unit.xml"
    junit.parent.mkdir(exist_ok=True)
    cmd = [
        sys.executable, "-m", "pytest", "tests", "-q", "-p", "no:cacheprovider",
        "--ignore=tests/test_labs.py", "--ignore=tests/test_book_browser.py",
        "--ignore=tests/test_project.py", f"--junitxml={junit}",
    ]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, timeout=timeout, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    print(proc.stdout[-4000:])
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    if junit.exists():
        suite = ET.parse(junit).getroot()
        suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
        for k in counts:
            counts[k] = int(suite.get(k, 0))
    counts["returncode"] = proc.returncode
    return counts, seconds


def run_chapter(path: Path, timeout: float) -> tuple[str, float]:
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    t0 = time.perf_counter()
    try:
        client.execute()
        result = "ok"
    except CellExecutionError as err:
        lines = [ln for ln in str(err).splitlines() if ln.strip()]
        result = "FAIL: " + (lines[-1][:120] if lines else "error")
    except Exception as err:  # noqa: BLE001 - a timeout or a dead kernel is a failure too
        result = f"FAIL: {type(err).__name__}: {str(err)[:100]}"
    return result, time.perf_counter() - t0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chapters", nargs="*", help="chapter number prefixes (default: all)")
    parser.add_argument("--no-unit", action="store_true", help="skip the unit tests")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per notebook cell")
    args = parser.parse_args()

    os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    print(device_line(), flush=True)
    ok = True
    if not args.no_unit:
        counts, secs = run_unit_tests(timeout=3000)
        print(f"\nunit tests: {counts['tests']} run, {counts['failures']} failed, {counts['errors']} errors, "
              f"{counts['skipped']} skipped in {secs:.0f} s", flush=True)
        ok &= counts["returncode"] == 0

    cpu_path = ROOT / "_build" / "notebook-times.json"
    cpu = json.loads(cpu_path.read_text()) if cpu_path.exists() else {}
    chapters = sorted((ROOT / "book").glob("[0-9][0-9]_*.ipynb"))
    if args.chapters:
        chapters = [c for c in chapters if any(c.name.startswith(p) for p in args.chapters)]
    rows = []
    for nb in chapters:
        result, secs = run_chapter(nb, args.timeout)
        cpu_s = cpu.get(f"book/{nb.name}")
        rows.append((nb.name, secs, result, cpu_s))
        print(f"{nb.name}: {result} in {secs:.1f} s", flush=True)
        ok &= result == "ok"

    print("\n| chapter | seconds on this device | result | seconds on 2-core CPU (nbval) |")
    print("| --- | ---: | --- | ---: |")
    for name, secs, result, cpu_s in rows:
        print(f"| {name} | {secs:.1f} | {result} | {'' if cpu_s is None else f'{cpu_s:.1f}'} |")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
