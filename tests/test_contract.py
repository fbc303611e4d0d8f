"""The library contract of CONTRIBUTING.md, checked on every public callable.

* one vocabulary: ``learning_rate``, ``num_steps``, ``tol``, ``key`` (keyword-only), never the
  synonyms the modules used to use;
* one result protocol: results carry the final point as ``params`` and the history as
  ``iterates``; ``converged`` and ``n_iters`` come together;
* one meaning per public name across modules; ``optlab.viz`` submodules import public names only.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import jax
import jax.numpy as jnp
import pytest

import optlab

ROOT = Path(optlab.__file__).resolve().parent

BANNED = {
    # step size
    "eta": "learning_rate",
    "step": "learning_rate",
    "lr": "learning_rate",
    "step_size": "learning_rate",
    "stepsize": "learning_rate",
    # number of steps
    "num_iters": "num_steps",
    "steps": "num_steps",
    "iters": "num_steps",
    "n_iters": "num_steps",
    "n_steps": "num_steps",
    "max_iter": "num_steps",
    "maxiter": "num_steps",
    "max_iters": "num_steps",
    # tolerance and randomness
    "tolerance": "tol",
    "seed": "key",
    "rng": "key",
    "prng_key": "key",
}
BANNED_SUFFIXES = {
    "_lr": "_learning_rate",
    "_step_size": "_learning_rate",
    "_eta": "_learning_rate",
    "_iters": "_num_steps",
    "_maxiter": "_num_steps",
    "_max_iter": "_num_steps",
    "_steps": "_num_steps",
}
# Names optax itself uses for the same parameter (optax.contrib.muon, optax schedules).
OPTAX_NAMES = {"ns_steps", "decay_steps", "transition_steps", "warmup_steps"}
KEYWORD_ONLY = ("learning_rate", "num_steps", "tol", "key")
HISTORY_SYNONYMS = {"xs", "path", "thetas", "snapshots", "history", "trajectory", "params_history"}
RESULT_SUFFIXES = ("Output", "Result", "Trace", "Run")

# A result type that is a report rather than a run (a certificate, a table, an exact solve)
# is listed, with the reason, in its module's ``_NOT_A_RUN = {"IntervalResult": "why"}``.
# Result and state fields follow the step-size names; they may hold ``n_iters`` (the steps
# taken) and ``steps`` (the indices of recorded steps).
FIELD_ALLOWED = {"n_iters", "steps"}


def _modules():
    names = []
    for info in pkgutil.walk_packages(optlab.__path__, prefix="optlab."):
        leaf = info.name.rsplit(".", 1)[-1]
        if leaf.startswith("_") or ".viz" in info.name or info.name.endswith("._mystnb"):
            continue
        names.append(info.name)
    return sorted(names)


MODULES = _modules()


def _public(module_name):
    module = importlib.import_module(module_name)
    for name in getattr(module, "__all__", []):
        obj = getattr(module, name)
        if getattr(obj, "__module__", "").startswith("optlab") or inspect.isclass(obj) or callable(obj):
            yield name, obj


def _is_result_type(obj) -> bool:
    return (
        inspect.isclass(obj)
        and issubclass(obj, tuple)
        and hasattr(obj, "_fields")
        and (obj.__name__.endswith(RESULT_SUFFIXES))
    )


def _returns_transformation(fn) -> bool:
    annotation = inspect.signature(fn).return_annotation
    return "GradientTransformation" in str(annotation)


@pytest.mark.parametrize("module_name", MODULES)
def test_vocabulary(module_name):
    problems = []
    for name, obj in _public(module_name):
        if not callable(obj):
            continue
        try:
            parameters = inspect.signature(obj).parameters
        except (TypeError, ValueError):
            continue
        is_class = inspect.isclass(obj)
        for p in parameters:
            if (is_class and p in FIELD_ALLOWED) or p in OPTAX_NAMES:
                continue
            if p in BANNED:
                problems.append(f"{name}({p}=...): call it {BANNED[p]}")
                continue
            for suffix, better in BANNED_SUFFIXES.items():
                if p.endswith(suffix) and not p.endswith(better.lstrip("_")):
                    problems.append(f"{name}({p}=...): call it {p[: -len(suffix)]}{better}")
    assert not problems, f"{module_name}: " + "; ".join(problems)


@pytest.mark.parametrize("module_name", MODULES)
def test_vocabulary_is_keyword_only(module_name):
    problems = []
    for name, obj in _public(module_name):
        if inspect.isclass(obj) or not callable(obj):
            continue
        try:
            parameters = inspect.signature(obj).parameters
        except (TypeError, ValueError):
            continue
        for p in KEYWORD_ONLY:
            if p not in parameters or parameters[p].kind is inspect.Parameter.KEYWORD_ONLY:
                continue
            if p == "learning_rate" and _returns_transformation(obj):
                continue  # optax style: gd(0.1)
            problems.append(f"{name}: {p} must be keyword-only")
    assert not problems, f"{module_name}: " + "; ".join(problems)


@pytest.mark.parametrize("module_name", MODULES)
def test_result_protocol(module_name):
    problems = []
    not_a_run = getattr(importlib.import_module(module_name), "_NOT_A_RUN", {})
    for name, obj in _public(module_name):
        if not _is_result_type(obj):
            continue
        fields = set(obj._fields)
        for f in fields & HISTORY_SYNONYMS:
            problems.append(f"{name}.{f}: the history is called iterates")
        if ("converged" in fields) != ("n_iters" in fields):
            problems.append(f"{name}: converged and n_iters come together")
        has_params = "params" in fields or isinstance(inspect.getattr_static(obj, "params", None), property)
        if not has_params and name not in not_a_run:
            problems.append(f"{name}: no params (the final point)")
        if "plan" in fields:
            problems.append(f"{name}.plan: a derived quantity is a method, plan()")
    assert not problems, f"{module_name}: " + "; ".join(problems)


def test_one_meaning_per_public_name():
    seen: dict[str, tuple[str, object]] = {}
    clashes = []
    for module_name in MODULES:
        for name, obj in _public(module_name):
            if inspect.ismodule(obj):
                continue
            if name in seen and seen[name][1] is not obj:
                clashes.append(f"{name}: {seen[name][0]} and {module_name}")
            seen.setdefault(name, (module_name, obj))
    assert not clashes, "public names with two meanings: " + "; ".join(clashes)


def test_viz_submodules_import_public_names_only():
    problems = []
    for path in sorted((ROOT / "viz").glob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module is not None:
                for alias in node.names:
                    if alias.name.startswith("_") and alias.name != "__future__":
                        problems.append(f"{path.name}: from {node.module} import {alias.name}")
    assert not problems, "; ".join(problems)


# Optax transformations that read the parameters, f(x) or the objective itself refuse a call without
# them through one check each (_checks.require_update_params / _value / _fun): a clear error naming
# the transformation and showing the call, before any compute.
def _needs_extra_args():
    from optlab import accel, adaptive, dynamics, first_order, second_order

    key = jax.random.key(0)
    return {
        "adamw with weight_decay": (adaptive.adamw(0.1), "params"),
        "lion with weight_decay": (adaptive.lion(0.1), "params"),
        "dog": (adaptive.dog(), "params"),
        "triple_momentum": (accel.triple_momentum(10.0, 1.0), "params"),
        "polyak_heavy_ball": (accel.polyak_heavy_ball(), "value"),
        "ogm_g": (accel.ogm_g(0.1, num_steps=5), "params"),
        "schedule_free_sgd": (accel.schedule_free_sgd(), "params"),
        "nesterov_restart": (accel.nesterov_restart(0.1), "params"),
        "nesterov_restart with restart='function'": (accel.nesterov_restart(0.1, "function"), "value"),
        "scale_by_adahessian": (second_order.scale_by_adahessian(key=key), "params"),
        "scale_by_sam": (dynamics.scale_by_sam(0.1), "params"),
        "polyak": (first_order.polyak(), "value"),
    }


@pytest.mark.parametrize("name", list(_needs_extra_args()))
def test_update_without_its_extra_arguments_names_the_transformation(name):
    opt, missing = _needs_extra_args()[name]
    x = jnp.ones(3)
    g = jnp.full(3, 0.5)
    state = opt.init(x)
    if missing == "params":
        with pytest.raises(ValueError, match=re.escape(f"{name} needs params: call update(")):
            opt.update(g, state)
    else:  # f(x) is missing; params are given
        with pytest.raises(
            ValueError, match=re.escape(f"{name} needs the objective value: call update(..., value=f(x))")
        ):
            opt.update(g, state, x)


@pytest.mark.parametrize("make", ["scale_by_sam", "scale_by_adahessian"])
def test_update_without_a_callable_fun_is_a_type_error(make):
    from optlab import dynamics, second_order

    opt = (
        dynamics.scale_by_sam(0.1)
        if make == "scale_by_sam"
        else second_order.scale_by_adahessian(key=jax.random.key(0))
    )
    x = jnp.ones(3)
    for fun in (None, "loss"):
        with pytest.raises(
            TypeError,
            match=re.escape(f"{make} needs the objective: call update(grads, state, params, fun=loss)"),
        ):
            opt.update(jnp.ones(3), opt.init(x), x, fun=fun)
