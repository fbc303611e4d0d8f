"""Shapes in the types: the rule of CONTRIBUTING.md, checked on every public callable.

An array in a public signature carries its shape as a jaxtyping type
(``Float[Array, "N d"]``, ``Float[Array, " d"]``, ``Float[Array, ""]``, ``Int[...]``, ``Key[...]``,
``PRNGKeyArray``), in the docstring's notation. Concretely, for every public function of every
``optlab`` module but ``optlab.viz`` (walked as in ``tests/test_contract.py``):

1. no parameter or return annotation names a bare array type (``Array``, ``jax.Array``,
   ``ArrayLike``, ``np.ndarray``), alone, in a union or inside ``tuple[...]`` /
   ``list[...]`` / ``Sequence[...]``: an array type appears only as the first argument of a
   jaxtyping dtype (``Float[Array, "n d"]``). The signatures of callables passed in
   (``Callable[[Array], Array]``, a loss or an operator) are the caller's and are not checked;
2. a parameter whose ``Args:`` entry, or a result whose ``Returns:`` entry, states a shape
   (``(d,)``, ``(n, d)``, ``n × m``, ``shape ...``, or in words: "1-D", "a matrix", "an
   array", "same shape", "integer labels") is not left unannotated or ``Any``
   (pytrees, which keep ``Any``/``optax.Params``, say "pytree" or "leaves" in their entry);
3. every annotation evaluates (``typing.get_type_hints``), so each shape string parses;
4. no module defines its own ``Array`` alias: ``optlab._types`` holds the one definition;
5. rules 1 and 2 hold for the public methods of public classes too;
6. a field of a public result or state ``NamedTuple`` whose ``Attributes:`` entry states a shape
   is annotated with it (not a bare array type nor ``Any``), and the fields' annotations
   evaluate. (Fields whose entry gives no shape, e.g. ``values[t] = f(x_t)``, are not checked.)

The shapes are documentation: nothing is decorated with ``jaxtyping.jaxtyped`` (checked too).
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import inspect
import re
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import optlab
from optlab._types import Array, ArrayLike, Float

ROOT = Path(optlab.__file__).resolve().parent
_spec = importlib.util.spec_from_file_location(
    "check_docstrings", ROOT.parent.parent / "tools" / "check_docstrings.py"
)
check_docstrings = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(check_docstrings)

MODULES = [m for m in check_docstrings.modules() if m != "optlab"]
ARRAY_TYPES = {
    "Array",
    "jax.Array",
    "ArrayLike",
    "jax.typing.ArrayLike",
    "np.ndarray",
    "numpy.ndarray",
    "jnp.ndarray",
}
JAXTYPING_DTYPES = {"Float", "Int", "Bool", "Key", "Shaped", "Real", "Num", "UInt", "Integer", "Inexact"}
PYTREE_WORDS = re.compile(r"pytree|leaves|structure of|a trace with", re.IGNORECASE)

# A stated shape: ``(d,)``, ``(n, d)``, ``(T + 1, d)``, ``n × m``, "shape (B, d)". Pairs of
# objects written like shapes (``(W, b)``, ``(x, y)``) are not shapes.
_DIM = r"(?:[^\W\d]\w*(?: ?[+−-] ?\d)?|\d+|…|\.\.\.)"
_SHAPE = re.compile(
    rf"``\({_DIM},\)``|``\({_DIM}(?:, {_DIM})+\)``|``{_DIM} × {_DIM}(?: × {_DIM})*``|"
    rf"\bshape ``?\(|^\({_DIM}(?:, {_DIM})*,?\)"
)
_NOT_SHAPES = re.compile(
    r"``\((?:W, b|f, g|x, y|w, θ|v, w|U, alpha|a, b, c|inner, outer|row, col|low, high|ε, δ|ε, α|"
    r"C, σ|P, errors|estimate, y, z|0, 1|0, 2)\)``"
)


def _public_functions(module_name):
    module = importlib.import_module(module_name)
    for name in check_docstrings._public_names(module):
        obj = getattr(module, name)
        if inspect.isclass(obj) or not callable(obj):
            continue
        fn = inspect.unwrap(obj)
        if getattr(fn, "__module__", None) != module_name:
            continue  # counted under the module that defines it
        yield name, fn


def _entries(doc: str, params) -> tuple[dict[str, str], str]:
    """The ``Args:`` entries by parameter name (``a, b: ...`` and ``x: ... y: ...`` split) and
    the ``Returns:`` text."""
    args: dict[str, str] = {}
    ret, mode, cur = "", None, None
    for line in doc.splitlines():
        if re.match(r"^(Args|Arguments):\s*$", line):
            mode, cur = "args", None
        elif re.match(r"^(Returns|Yields):\s*$", line):
            mode = "ret"
        elif re.match(r"^[A-Z][A-Za-z ]+:\s*$", line):
            mode = None
        elif mode == "args":
            m = re.match(r"^  ([\w, *]+?)(?: \(.*?\))?:\s*(.*)$", line)
            if m:
                cur = m.group(1).replace("*", "")
                args[cur] = m.group(2)
            elif cur and line.strip():
                args[cur] += " " + line.strip()
        elif mode == "ret" and line.strip():
            ret += " " + line.strip()
    names = "|".join(sorted(map(re.escape, params), key=len, reverse=True))
    out: dict[str, str] = {}
    for key, text in args.items():
        pieces = (
            re.split(rf"(?:(?<=\. )|(?<=; ))((?:{names})(?:, (?:{names}))*): ", text) if names else [text]
        )
        for n in key.split(", "):
            out.setdefault(n, pieces[0])
        for i in range(1, len(pieces) - 1, 2):
            for n in pieces[i].split(", "):
                out.setdefault(n, pieces[i + 1])
    return out, ret.strip()


# Shapes stated in words: "1-D", "a vector", "same shape", "N integer labels", "scalar or 1-D".
_SHAPE_WORDS = re.compile(
    r"\b[123]-D\b|\b(?:an? |1-D |2-D )?(?:array|vector|matrix)\b|same shape|any shape|"
    r"\binteger labels\b|broadcastable|of the shape of"
)


def states_shape(text: str) -> bool:
    """Whether a docstring entry states an array shape (in symbols or in words)."""
    if PYTREE_WORDS.search(text):
        return False
    text = _NOT_SHAPES.sub("", text)
    return bool(_SHAPE.search(text) or _SHAPE_WORDS.search(text))


def bare_array_types(annotation: str) -> list[str]:
    """The array types that ``annotation`` names outside a jaxtyping dtype (and outside
    ``Callable[...]``)."""
    tree = ast.parse(annotation, mode="eval")
    skip: set[int] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Subscript):
            continue
        head = ast.unparse(node.value).split(".")[-1]
        if head in JAXTYPING_DTYPES and isinstance(node.slice, ast.Tuple) and node.slice.elts:
            skip.add(id(node.slice.elts[0]))
        elif head == "Callable":
            skip.update(id(n) for n in ast.walk(node.slice))
    return [
        ast.unparse(node)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Name, ast.Attribute))
        and id(node) not in skip
        and ast.unparse(node) in ARRAY_TYPES
    ]


def problems_of(fn) -> list[str]:
    """What ``fn``'s signature breaks of rules 1 and 2 (empty when it follows them)."""
    sig = inspect.signature(fn)
    args, ret = _entries(inspect.getdoc(fn) or "", list(sig.parameters))
    items = [(p, v.annotation, args.get(p, "")) for p, v in sig.parameters.items()]
    items.append(("return", sig.return_annotation, ret[:80]))
    problems = []
    for p, annotation, text in items:
        if annotation is inspect.Parameter.empty:
            if states_shape(text):
                problems.append(f"{p}: unannotated, but the docstring gives a shape")
            continue
        annotation = annotation if isinstance(annotation, str) else inspect.formatannotation(annotation)
        for bare in bare_array_types(annotation):
            problems.append(f"{p}: bare {bare} in {annotation!r}, give the shape (Float[{bare}, ...])")
        if annotation in ("Any", "Any | None", "typing.Any") and states_shape(text):
            problems.append(f"{p}: Any, but the docstring gives a shape")
    return problems


def test_the_rule_flags_bare_arrays_and_unannotated_shapes():
    def bare(x: Array, y, z: Any, f: Callable[[Array], Array]) -> tuple[Float[Array, " d"], Array]:
        """Mutant.

        Args:
          x: a point, shape ``(d,)``.
          y: ``(n, d)`` data.
          z: ``n × m`` matrix.
          f: a map of arrays (its signature is the caller's).

        Returns:
          A pair.
        """

    def good(x: Float[Array, " d"], y: Float[ArrayLike, "n d"] | None, z: Any) -> Float[Array, ""]:
        """Fine.

        Args:
          x: a point, shape ``(d,)``.
          y: ``(n, d)`` data.
          z: a pytree of parameters, leaves ``(n, d)``.

        Returns:
          The scalar loss.
        """

    returned = inspect.signature(bare).return_annotation
    assert problems_of(bare) == [
        "x: bare Array in 'Array', give the shape (Float[Array, ...])",
        "y: unannotated, but the docstring gives a shape",
        "z: Any, but the docstring gives a shape",
        f"return: bare Array in {returned!r}, give the shape (Float[Array, ...])",
    ]
    assert problems_of(good) == []
    assert not states_shape("a pair ``(W, b)`` of arrays") and states_shape("``(T + 1, d)`` iterates")


@pytest.mark.parametrize("module_name", MODULES)
def test_public_signatures_carry_shapes(module_name):
    problems = [f"{name}.{p}" for name, fn in _public_functions(module_name) for p in problems_of(fn)]
    assert not problems, f"{module_name}: " + "; ".join(problems)


@pytest.mark.parametrize("module_name", MODULES)
def test_public_methods_carry_shapes(module_name):
    """Rules 1 and 2 for the public methods of public classes (``Trace.distances``,
    ``SinkhornOutput.plan``, ``Problem.grad``, ...)."""
    module = importlib.import_module(module_name)
    problems = []
    for name in check_docstrings._public_names(module):
        cls = getattr(module, name)
        if not inspect.isclass(cls) or cls.__module__ != module_name:
            continue
        for attr, fn in vars(cls).items():
            if not attr.startswith("_") and inspect.isfunction(fn):
                typing.get_type_hints(fn)
                problems += [f"{name}.{attr}.{p}" for p in problems_of(fn)]
    assert not problems, f"{module_name}: " + "; ".join(problems)


@pytest.mark.parametrize("module_name", MODULES)
def test_annotations_evaluate(module_name):
    for name, fn in _public_functions(module_name):
        typing.get_type_hints(fn)  # raises on a shape string jaxtyping cannot parse
        assert not hasattr(fn, "__jaxtyping__"), f"{name}: shapes are documentation, no runtime check"


def _attributes(doc: str) -> dict[str, str]:
    out: dict[str, str] = {}
    mode, cur = False, None
    for line in doc.splitlines():
        if re.match(r"^Attributes:\s*$", line):
            mode = True
        elif re.match(r"^[A-Z][A-Za-z ]+:\s*$", line):
            mode = False
        elif mode:
            m = re.match(r"^  ([\w, ]+?)(?: \(.*?\))?:\s*(.*)$", line)
            if m:
                cur = m.group(1)
                for name in cur.split(", "):
                    out[name] = m.group(2)
            elif cur and line.strip():
                for name in cur.split(", "):
                    out[name] += " " + line.strip()
    return out


def field_problems(cls) -> list[str]:
    """Rule 5 for one ``NamedTuple`` class."""
    typing.get_type_hints(cls)
    entries = _attributes(inspect.getdoc(cls) or "")
    problems = []
    for name in cls._fields:
        annotation = cls.__annotations__.get(name, "Any")
        annotation = getattr(annotation, "__forward_arg__", annotation)
        annotation = annotation if isinstance(annotation, str) else inspect.formatannotation(annotation)
        if not states_shape(entries.get(name, "")):
            continue
        bare = bare_array_types(annotation)
        if bare or annotation in ("Any", "Any | None"):
            problems.append(f"{cls.__name__}.{name}: {annotation!r}, but the docstring gives a shape")
    return problems


@pytest.mark.parametrize("module_name", MODULES)
def test_result_fields_carry_shapes(module_name):
    module = importlib.import_module(module_name)
    problems = []
    for name in check_docstrings._public_names(module):
        obj = getattr(module, name)
        if (
            inspect.isclass(obj)
            and issubclass(obj, tuple)
            and hasattr(obj, "_fields")
            and obj.__module__ == module_name
        ):
            problems += field_problems(obj)
    assert not problems, f"{module_name}: " + "; ".join(problems)


def test_the_field_rule_flags_a_bare_field():
    from typing import NamedTuple

    class Out(NamedTuple):
        """A mutant.

        Attributes:
          params: the final point, shape ``(d,)``.
          values: ``values[t] = f(x_t)``.
        """

        params: Array
        values: Array

    assert field_problems(Out) == ["Out.params: 'Array', but the docstring gives a shape"]


def test_one_array_alias():
    problems = []
    for path in sorted(ROOT.rglob("*.py")):
        if path.name == "_types.py" or "viz" in path.relative_to(ROOT).parts:
            continue
        source = path.read_text()
        for node in ast.parse(source).body:
            if isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                if any(isinstance(t, ast.Name) and t.id == "Array" for t in targets):
                    problems.append(f"{path.relative_to(ROOT)}:{node.lineno}: {ast.unparse(node)}")
        if "jaxtyped" in source:
            problems.append(f"{path.relative_to(ROOT)}: jaxtyped (no runtime shape checks)")
    assert not problems, "define Array once, in optlab._types: " + "; ".join(problems)
