"""Sharpness-aware minimisation (SAM) as an optax transformation: the ascent step
``ε = ρ g/‖g‖`` (zero at ``g = 0``) and the gradient at ``w + ε``.

Notation (chapter 20).  SAM (Foret et al. 2021) minimises ``max_{‖ε‖ ≤ ρ} f(w + ε)``; one step
linearises the inner maximisation, ``ε(w) = ρ ∇f(w)/‖∇f(w)‖``, and descends along the gradient
taken at the perturbed point, ``w ← w − η ∇f(w + ε(w))``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import optax

from .. import _checks
from ._common import check_learning_rate, check_scalar

__all__ = ["ascent_direction", "scale_by_sam", "sam"]


def ascent_direction(g: Any, rho: float | Any) -> Any:
    """SAM's ascent step ``ε = ρ g/‖g‖`` for a gradient pytree ``g`` (global norm), and
    ``ε = 0`` at ``g = 0`` (no division by zero, no NaN, also under ``jax.grad``).

    Args:
      g: a gradient, an array or pytree of finite arrays.
      rho: the radius ``ρ ≥ 0``.

    Returns:
      ``ε``, with the structure of ``g``; ``‖ε‖ = ρ`` unless ``g = 0``.

    Raises:
      TypeError: non-numeric ``g`` or ``rho``.
      ValueError: NaN/inf in ``g`` or an empty ``g``, ``rho`` negative or not finite.
    """
    g = _checks.as_float_tree("g", g)
    check_scalar("rho", rho, positive=False)
    return _ascent(g, rho)


def _ascent(g, rho):
    sq = sum(jnp.vdot(t, t).real for t in jax.tree_util.tree_leaves(g))
    nonzero = sq > 0
    # the inner where keeps the square root, and the gradient of this function, finite at g = 0
    scale = jnp.where(nonzero, rho / jnp.sqrt(jnp.where(nonzero, sq, 1.0)), 0.0)
    return jax.tree.map(lambda t: (scale * t).astype(t.dtype), g)


def scale_by_sam(rho: float | Any) -> optax.GradientTransformationExtraArgs:
    """SAM's direction: replaces the gradient ``g = ∇f(w)`` by ``∇f(w + ε)``,
    ``ε = ρ g/‖g‖`` (:func:`ascent_direction`; ``ε = 0`` when ``g = 0``).

    The gradient at the perturbed point needs the objective: ``update`` takes it as the extra
    argument ``fun=`` (a scalar function of the params pytree), and ``params``, as
    :func:`optlab.runner.run_loss` and :func:`optlab.runner.run` pass them.  Chain it with any
    optimizer (``optax.chain(scale_by_sam(ρ), optax.adam(η))``); :func:`sam` chains gradient
    descent.  ``optax.contrib.sam`` either exposes the ascent and descent steps to the training
    loop as alternating updates, or (opaque mode) takes a ``grad_fn`` extra argument; here one
    ``update`` is one whole SAM step (two gradient evaluations) and the extra argument is the
    loss itself, which the library's runners already pass.

    Args:
      rho: the radius ``ρ ≥ 0`` (``ρ = 0``: the gradient itself).

    Returns:
      An ``optax.GradientTransformationExtraArgs`` with an empty state.

    Raises:
      TypeError: ``rho`` not a number; at ``update``, ``fun`` missing or not callable.
      ValueError: ``rho`` negative or not finite; at ``update``, ``params`` missing.
    """
    check_scalar("rho", rho, positive=False)

    def init_fn(params):
        del params
        return optax.EmptyState()

    def update_fn(updates, state, params=None, *, fun=None, **extra):
        del extra
        _checks.require_update_params("scale_by_sam", params, with_fun=True)
        _checks.require_update_fun("scale_by_sam", fun)
        # region: sam-step
        eps = _ascent(updates, rho)
        perturbed = jax.tree.map(lambda w, e: w + e, params, eps)
        return jax.grad(fun)(perturbed), state
        # endregion: sam-step

    return optax.GradientTransformationExtraArgs(init_fn, update_fn)


def sam(
    learning_rate: float | Callable[[Any], Any], rho: float | Any
) -> optax.GradientTransformationExtraArgs:
    """SAM with gradient descent (Foret et al. 2021): ``w ← w − η ∇f(w + ρ ∇f(w)/‖∇f(w)‖)``.

    ``optax.chain(scale_by_sam(ρ), optax.scale_by_learning_rate(η))``; its ``update`` needs
    ``params`` and ``fun=`` (see :func:`scale_by_sam`).

    Args:
      learning_rate: ``η > 0`` or an optax schedule.
      rho: the radius ``ρ ≥ 0`` (``ρ = 0`` is gradient descent).

    Returns:
      An ``optax.GradientTransformationExtraArgs`` (a chain).

    Raises:
      TypeError: a non-numeric ``learning_rate`` (not a schedule) or ``rho``.
      ValueError: ``learning_rate <= 0``, ``rho < 0``, either not finite.
    """
    check_learning_rate(learning_rate)
    return optax.chain(scale_by_sam(rho), optax.scale_by_learning_rate(learning_rate))
