"""The generic scan every method of :mod:`optlab.minimax.methods` runs in."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import jax.scipy.linalg

from .._checks import (
    as_float_array,
    require_callable,
    require_int,
    require_nonnegative,
    require_positive,
)
from ._common import _check_scalar
from .operators import AffineOperator, FiniteSumOperator
from .results import MinimaxOutput

# ---------------------------------------------------------------------------
# the generic scan
# ---------------------------------------------------------------------------


def _validate(F, z0, learning_rate, num_steps, tol, name="F"):
    require_callable(name, F)
    z0 = as_float_array("z0", z0, ndim=1)
    if z0.shape[0] < 1:
        raise ValueError("z0 must have at least one coordinate, got shape (0,)")
    _check_scalar("learning_rate", learning_rate)
    require_positive("learning_rate", learning_rate)
    require_int("num_steps", num_steps, minimum=1)
    _check_scalar("tol", tol)
    require_nonnegative("tol", tol)
    if isinstance(F, (AffineOperator, FiniteSumOperator)):
        d = F.Ms.shape[1] if isinstance(F, FiniteSumOperator) else F.dim
        if d != z0.shape[0]:
            raise ValueError(f"z0 must have shape ({d},) to match the operator, got {tuple(z0.shape)}")
    elif name == "F":
        try:
            out = jax.eval_shape(F, z0)
        except (TypeError, ValueError, IndexError) as err:
            raise ValueError(f"F cannot be evaluated at z0 of shape {tuple(z0.shape)}: {err}") from None
        if tuple(getattr(out, "shape", ())) != tuple(z0.shape):
            raise ValueError(
                f"F must map z0 of shape {tuple(z0.shape)} to the same shape, "
                f"got {getattr(out, 'shape', None)}"
            )
    return z0


def _dispatch(impl, F, z0, learning_rate, tol, num_steps, return_iterates, statics=(), dyn=()):
    """Run ``impl`` under one module-level ``jax.jit``: operators that are pytrees
    (:class:`AffineOperator`, :class:`FiniteSumOperator`) are traced arguments, plain
    callables are static (hashed by identity), so a solver compiles once per operator
    function, shape and static configuration."""
    dt = z0.dtype
    learning_rate = jnp.asarray(learning_rate, dt)
    tol = jnp.asarray(tol, dt)
    if isinstance(F, (AffineOperator, FiniteSumOperator)):
        F_static, F_dyn = None, F
    else:
        try:
            hash(F)
        except TypeError:  # an unhashable callable: run without the compile cache
            return impl(F, z0, learning_rate, tol, num_steps, bool(return_iterates), statics, dyn)
        F_static, F_dyn = F, None
    return _solve(
        impl, F_static, F_dyn, z0, learning_rate, tol, num_steps, bool(return_iterates), statics, dyn
    )


@functools.partial(jax.jit, static_argnums=(0, 1, 6, 7, 8))
def _solve(impl, F_static, F_dyn, z0, learning_rate, tol, num_steps, return_iterates, statics, dyn):
    F = F_static if F_static is not None else F_dyn
    return impl(F, z0, learning_rate, tol, num_steps, return_iterates, statics, dyn)


def _residual_norm(v):
    """``‖v‖₂`` computed as ``s‖v/s‖₂``, ``s = max|vᵢ|``: finite for float32 entries beyond
    1e19 (whose squares overflow) and non-zero for entries below 1e-23 (squares underflow);
    NaN or inf entries give a non-finite norm, as ``jnp.linalg.norm`` does."""
    s = jnp.max(jnp.abs(v))
    safe = jnp.where(s > 0, s, 1.0)
    # s = 0: the zero vector; s NaN (a diverged iterate): stays NaN, never reads as converged
    return jnp.where(s > 0, safe * jnp.linalg.norm(v / safe), jnp.where(s == 0, 0.0, s))


def _run(F, state0, z_of, step_fn, num_steps, tol, return_iterates):
    """Scan ``state ← step_fn(state, k)``; record ``‖F(z_k)‖`` and the iterates."""

    def body(state, k):
        state, calls = step_fn(state, k)
        z = z_of(state)
        out = (_residual_norm(F(z)), calls)
        if return_iterates:
            out = out + (z,)
        return state, out

    state, outs = jax.lax.scan(body, state0, jnp.arange(num_steps))
    z0 = z_of(state0)
    r0 = _residual_norm(F(z0))
    residuals = jnp.concatenate([r0[None], outs[0]])
    calls = jnp.concatenate(
        [jnp.zeros((1,), jnp.result_type(float)), jnp.cumsum(outs[1].astype(jnp.result_type(float)))]
    )
    iterates = jnp.concatenate([z0[None], outs[2]]) if return_iterates else None
    met = residuals <= tol
    n_iters = jnp.where(jnp.any(met), jnp.argmax(met), num_steps).astype(jnp.int32)
    return MinimaxOutput(z_of(state), residuals, met[-1], n_iters, calls, iterates)


def _const(c):
    return jnp.asarray(c, dtype=jnp.result_type(float))
