"""List the public callables of optlab whose docstring lacks Google-style sections.

Every public function (a name in its module's ``__all__``, or a public name defined in a
module without ``__all__``) of every ``optlab`` module but ``optlab.viz.*`` must have a
docstring with ``Args:`` (when it takes arguments) and ``Returns:`` or ``Yields:`` (unless it
is annotated ``-> None``); every public class whose constructor takes arguments must document
them (``Args:``) or its fields (``Attributes:``).
Each callable is counted once, under the module that defines it.

    python tools/check_docstrings.py          # counts per module and the missing names
    python tools/check_docstrings.py --quiet  # counts only

Exits 1 when something is missing; ``tests/test_docstrings.py`` runs :func:`missing`.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import pkgutil
import re
import sys
from collections import defaultdict

import optlab


def modules() -> list[str]:
    """The public modules of optlab but ``optlab.viz.*``, sorted by name."""
    names = ["optlab"]
    for info in pkgutil.walk_packages(optlab.__path__, prefix="optlab."):
        parts = info.name.split(".")
        if any(p.startswith("_") for p in parts[1:]) or parts[1] == "viz":
            continue
        names.append(info.name)
    return sorted(names)


def _public_names(module) -> list[str]:
    if hasattr(module, "__all__"):
        return list(module.__all__)
    return [
        name
        for name, obj in vars(module).items()
        if not name.startswith("_") and getattr(obj, "__module__", None) == module.__name__
    ]


def _section(doc: str, *names: str) -> bool:
    return any(re.search(rf"^\s*{name}:\s*$", doc, re.MULTILINE) for name in names)


def _takes_arguments(obj) -> bool:
    try:
        parameters = inspect.signature(obj).parameters
    except (TypeError, ValueError):
        return True
    return any(p not in ("self", "cls") for p in parameters)


def _returns_none(obj) -> bool:
    """Whether ``obj`` is annotated ``-> None`` (a check that raises or returns nothing)."""
    try:
        annotation = inspect.signature(obj).return_annotation
    except (TypeError, ValueError):
        return False
    return annotation is None or annotation == "None"


def problems_of(obj) -> list[str]:
    """The sections ``obj``'s docstring lacks (empty when it is complete)."""
    doc = inspect.getdoc(obj) or ""
    if inspect.isclass(obj):
        if _takes_arguments(obj) and not _section(doc, "Args", "Attributes"):
            return ["Args/Attributes"]
        return []
    missing = []
    if _takes_arguments(obj) and not _section(doc, "Args"):
        missing.append("Args")
    if not _returns_none(obj) and not _section(doc, "Returns", "Yields"):
        missing.append("Returns")
    return missing


def missing() -> dict[str, list[str]]:
    """Map each defining module to ``"name: Args, Returns"`` for its incomplete callables.

    Modules whose public callables are all documented map to an empty list.
    """
    seen: set[tuple[str, str]] = set()
    found: dict[str, list[str]] = defaultdict(list)
    for module_name in modules():
        module = importlib.import_module(module_name)
        for name in _public_names(module):
            obj = getattr(module, name, None)
            if obj is None or inspect.ismodule(obj) or not callable(obj):
                continue
            home = getattr(obj, "__module__", None) or module_name
            if not home.startswith("optlab") or home.startswith("optlab.viz"):
                continue
            key = (home, getattr(obj, "__qualname__", name))
            if key in seen:
                continue
            seen.add(key)
            found.setdefault(home, [])
            lacks = problems_of(obj)
            if lacks:
                found[home].append(f"{name}: {', '.join(lacks)}")
    return dict(sorted(found.items()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quiet", action="store_true", help="print the counts only")
    args = parser.parse_args(argv)
    found = missing()
    total = sum(len(v) for v in found.values())
    for module_name, names in found.items():
        if names:
            print(f"{module_name}: {len(names)}")
            if not args.quiet:
                for entry in names:
                    print(f"    {entry}")
    print(f"missing: {total}")
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main())
