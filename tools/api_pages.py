"""Write the API reference pages of the book (``book/api/``), one per public module.

Each page documents the module with Sphinx autodoc (Google-style ``Args`` / ``Returns`` /
``Raises`` through napoleon) and links back to the chapter that derives it; each chapter
links to its page (``{ref}`api-<module>```).  ``tests/test_project.py`` checks that the
pages are in step with the modules: run ``python tools/api_pages.py`` after adding a module.
"""

from __future__ import annotations

import argparse
import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
API = ROOT / "book" / "api"

# module -> (one-line topic, label of the chapter that derives it)
MODULES: dict[str, tuple[str, str]] = {
    "problems": ("Test problems with known constants", "ch-gradient-descent"),
    "first_order": (
        "Gradient descent, Polyak, heavy ball and Nesterov as optax transformations",
        "ch-gradient-descent",
    ),
    "runner": ("Running any optimizer in one compiled loop, and sweeps", "ch-gradient-descent"),
    "accel": ("Momentum and acceleration", "ch-acceleration"),
    "stochastic": ("Stochastic gradients, variance reduction and clipping", "ch-stochastic"),
    "adaptive": ("Adaptive methods, from AdaGrad to Lion", "ch-adaptive"),
    "second_order": ("Newton's method to Muon", "ch-second-order"),
    "ot": ("Optimal transport", "ch-optimal-transport"),
    "lipschitz": ("Lipschitz constants of networks", "ch-lipschitz"),
    "smoothing": ("Certified robustness by randomized smoothing", "ch-certified-robustness"),
    "minimax": ("Games and monotone operators", "ch-minimax"),
    "online": ("Online learning and bandits", "ch-online"),
    "linear_solvers": ("Iterative linear solvers (successive over-relaxation)", "ch-online"),
    "constrained": ("Constrained optimization", "ch-constrained"),
    "bilevel": ("Bilevel optimization and hypergradients", "ch-bilevel"),
    "landscape": ("Loss landscapes, neural collapse and implicit bias", "ch-landscape"),
    "zeroth_order": ("Zeroth-order optimization", "ch-zeroth-order"),
    "distributed": ("Compressed and distributed optimization", "ch-distributed"),
    "rl": ("Reinforcement learning as optimization", "ch-rl"),
    "privacy": ("Differentially private optimization", "ch-privacy"),
    "prox": ("Nonsmooth, proximal and composite optimization", "ch-proximal"),
    "sampling": ("Sampling as optimization: Langevin, MALA and SVGD", "ch-sampling"),
    "dynamics": ("Training dynamics: sharpness-aware minimization and learning-rate schedules", "ch-dynamics"),
    "viz": ("Figures", "ch-gradient-descent"),
}


def viz_submodules() -> list[str]:
    """The topic figure modules of ``optlab.viz`` (every ``viz/<topic>.py`` but ``core``)."""
    folder = ROOT / "src" / "optlab" / "viz"
    return sorted(p.stem for p in folder.glob("*.py") if not p.stem.startswith("_") and p.stem != "core")


def package_modules(module: str) -> list[tuple[str, str]]:
    """``(name, summary)`` of the public modules of a subpackage (empty for a plain module).

    The summary is the first paragraph of the module's docstring, read without importing it."""
    folder = ROOT / "src" / "optlab" / module
    if module == "viz" or not (folder / "__init__.py").is_file():
        return []
    out = []
    for path in sorted(folder.glob("*.py")):
        if path.stem.startswith("_"):
            continue
        doc = ast.get_docstring(ast.parse(path.read_text())) or ""
        summary = " ".join(doc.split("\n\n", 1)[0].split())
        out.append((path.stem, re.sub(r":\w+:`~?", "`", summary)))  # Sphinx roles as plain code
    return out


def page(module: str) -> str:
    topic, chapter = MODULES[module]
    text = f"""(api-{module.replace("_", "-")})=
# `optlab.{module}`

{topic}. Derived in {{ref}}`{chapter}`.
"""
    subs = package_modules(module)
    if subs:
        rows = "\n".join(f"- `optlab.{module}.{name}`: {summary}" for name, summary in subs)
        text += f"""
A package of one module per topic; every public name below is re-exported by `optlab.{module}`.

{rows}
"""
    text += f"""
```{{eval-rst}}
.. automodule:: optlab.{module}
   :members:
   :imported-members:
```
"""
    if module == "viz":
        for sub in viz_submodules():
            link = f"{{ref}}`optlab.{sub} <api-{sub.replace('_', '-')}>`"
            about = {
                "listing": "Library source shown in the chapters.",
                "explorer": "Interactive figures: one update function, live in a kernel, slider frames in the book.",
                "policy": "Figures of {ref}`optlab.rl <api-rl>` for {ref}`ch-policy-optimization`.",
            }.get(sub, f"Figures of {link}.")
            text += f"""
## `optlab.viz.{sub}`

{about}

```{{eval-rst}}
.. automodule:: optlab.viz.{sub}
   :members:
```
"""
    return text


def index() -> str:
    rows = "\n".join(
        f"| {{ref}}`optlab.{m} <api-{m.replace('_', '-')}>` | {t} | {{ref}}`{c}` |"
        for m, (t, c) in MODULES.items()
    )
    return f"""(api-reference)=
# API reference

Every public function of `optlab`, generated from its docstring. The library speaks one
vocabulary (`learning_rate`, `num_steps`, `tol`, `key`) and returns one result protocol
(`params`, `iterates`, `converged`, `n_iters`); see `CONTRIBUTING.md`.

| module | topic | chapter |
| --- | --- | --- |
{rows}
"""


def expected() -> dict[Path, str]:
    pages = {API / "index.md": index()}
    pages.update({API / f"{m}.md": page(m) for m in MODULES})
    return pages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if a page is out of date")
    args = parser.parse_args()
    stale = []
    API.mkdir(parents=True, exist_ok=True)
    for path, text in expected().items():
        if not path.exists() or path.read_text() != text:
            stale.append(path.relative_to(ROOT))
            if not args.check:
                path.write_text(text)
    if args.check and stale:
        raise SystemExit(f"API pages out of date (run python tools/api_pages.py): {stale}")


if __name__ == "__main__":
    main()
