"""Whole-book build time from a cold and from a warm execution cache, and the slowest notebooks.

    python benchmarks/bench_book_build.py [--out /tmp/optlab-book-bench]

Builds the book three times into a scratch folder with `jupyter-book build -W --keep-going`:
1. cold: an empty jupyter-cache and an empty JAX compilation cache (a fresh clone);
2. re-executed: an empty jupyter-cache again, but JAX's persistent compilation cache
   left by build 1 (what nbval and a reader's second run see: compile once per shape);
3. warm: the jupyter-cache left by build 2 (nothing executes).
Prints the wall times and the five slowest notebooks of the cold build.  Targets
(issue 18): a cold build under 150 s, no notebook over 60 s.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def build(config: Path, out: Path, env: dict) -> tuple[float, str]:
    cmd = [str(Path(sys.executable).parent / "jupyter-book"), "build", str(ROOT), "--config", str(config),
           "--path-output", str(out), "-W", "--keep-going"]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env)
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        print(proc.stdout[-3000:], proc.stderr[-3000:])
        raise SystemExit(f"book build failed ({proc.returncode})")
    return elapsed, proc.stdout + proc.stderr


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="optlab-book-bench-"))
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    config["execute"]["cache"] = str(out / "jupyter_cache")
    config["sphinx"]["local_extensions"] = {k: str(ROOT / v) for k, v in config["sphinx"]["local_extensions"].items()}
    config["bibtex_bibfiles"] = [str(ROOT / b) for b in config["bibtex_bibfiles"]]
    cfg = out / "_config.yml"
    cfg.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True))

    env = dict(os.environ, JAX_COMPILATION_CACHE_DIR=str(out / "jax-cache"),
               JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0.1")
    cold, log = build(cfg, out / "cold", env)
    shutil.rmtree(out / "jupyter_cache")
    recompiled, _ = build(cfg, out / "recompiled", env)
    # a fresh Sphinx build (no doctrees, no HTML) that finds every notebook in the cache
    warm, _ = build(cfg, out / "warm", env)
    times = sorted(((float(t), Path(p).name) for p, t in
                    re.findall(r"(\S+\.ipynb): Executed notebook in ([\d.]+) seconds", log)), reverse=True)
    print(f"cold build (every notebook executed, empty caches): {cold:7.1f} s   "
          f"target <= 150 s: {'met' if cold <= 150 else 'MISSED'}")
    print(f"re-executed with the JAX compilation cache warm:    {recompiled:7.1f} s")
    print(f"warm build (execution cache hit):                   {warm:7.1f} s")
    print(f"notebooks executed in the cold build: {len(times)}")
    print("slowest five:")
    for t, name in times[:5]:
        print(f"  {t:6.1f} s  {name}")
    worst = times[0][0] if times else 0.0
    print(f"slowest notebook {worst:.1f} s   target < 60 s: {'met' if worst < 60 else 'MISSED'}")


if __name__ == "__main__":
    main()
