"""Library source shown in the book, through public names only.

A chapter shows the code it derives with :func:`show_source`: a public function or
class whole (optionally without its docstring), or a region of a public module marked
in the library by a pair of comments::

    # region: sinkhorn-step
    ...the lines to show...
    # endregion: sinkhorn-step

so a listing never depends on private names or on slicing source text, and a
refactor that moves or renames the code fails loudly (a missing region raises).
"""

from __future__ import annotations

import ast
import inspect
import re
import textwrap
import types
from typing import Any

__all__ = ["source_text", "show_source"]

_REGION = re.compile(r"^\s*# (region|endregion): ([A-Za-z0-9_.-]+)\s*$")


def _public_name(obj: Any) -> str:
    """The dotted public name of ``obj``; raises when any part is private."""
    if isinstance(obj, types.ModuleType):
        name = obj.__name__
    else:
        module = getattr(obj, "__module__", None)
        qualname = getattr(obj, "__qualname__", None)
        if module is None or qualname is None:
            raise TypeError(f"obj must be a module, function or class, got {type(obj).__name__}")
        name = f"{module}.{qualname}"
    if not name.startswith("optlab."):
        raise ValueError(f"obj must belong to optlab, got {name}")
    private = [part for part in name.split(".") if part.startswith("_")]
    if private:
        raise ValueError(
            f"obj must be public, got {name} (mark a region in its module instead: "
            "'# region: <name>' ... '# endregion: <name>')"
        )
    return name


def _strip_docstring(source: str) -> str:
    tree = ast.parse(source)
    node = tree.body[0] if tree.body else None
    if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) or not node.body:
        return source
    first = node.body[0]
    if not (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)):
        return source
    if not isinstance(first.value.value, str):
        return source
    lines = source.splitlines(keepends=True)
    assert first.end_lineno is not None
    return "".join(lines[: first.lineno - 1] + lines[first.end_lineno :])


def source_text(obj: Any, *, region: str | None = None, docstring: bool = True) -> str:
    """The source of a public optlab function, class or module, or of a marked region.

    Args:
      obj: a public function or class of optlab, or a public optlab module.
      region: name of a ``# region: <name>`` ... ``# endregion: <name>`` block in the
        source file of ``obj`` (the markers themselves are left out).
      docstring: keep the docstring of a function or class (ignored with ``region``).

    Returns:
      The source text, dedented.

    Raises:
      TypeError: ``obj`` is not a module, function or class; ``region`` not a string.
      ValueError: ``obj`` is private or not optlab's, or ``region`` is not marked exactly
        once in the file.
    """
    name = _public_name(obj)
    if region is None:
        source = textwrap.dedent(inspect.getsource(obj))
        return source if docstring else _strip_docstring(source)
    if not isinstance(region, str):
        raise TypeError(f"region must be a string, got {type(region).__name__}")
    module = obj if isinstance(obj, types.ModuleType) else inspect.getmodule(obj)
    if module is None:
        raise ValueError(f"the module of {name} cannot be found")
    lines = inspect.getsource(module).splitlines(keepends=True)
    marks = [(i, m.groups()) for i, line in enumerate(lines) if (m := _REGION.match(line))]
    starts = [i for i, groups in marks if groups == ("region", region)]
    ends = [i for i, groups in marks if groups == ("endregion", region)]
    if len(starts) != 1 or len(ends) != 1 or ends[0] <= starts[0]:
        raise ValueError(
            f"region {region!r} must be marked exactly once in the module of {name} "
            f"('# region: {region}' ... '# endregion: {region}'); found {len(starts)} start(s), "
            f"{len(ends)} end(s)"
        )
    return textwrap.dedent("".join(lines[starts[0] + 1 : ends[0]]))


def show_source(obj: Any, *, region: str | None = None, docstring: bool = True) -> Any:
    """Display :func:`source_text` as a highlighted Python listing (book and JupyterLab).

    Args:
      obj, region, docstring: as in :func:`source_text`.

    Returns:
      An ``IPython.display.Markdown`` object holding a fenced ``python`` code block.

    Raises:
      The errors of :func:`source_text`.
    """
    from IPython.display import Markdown

    text = source_text(obj, region=region, docstring=docstring).rstrip("\n")
    fence = "````" if "```" in text else "```"
    return Markdown(f"{fence}python\n{text}\n{fence}")
