"""Matrix-free curvature (chapter 5, second part): Hessian–vector products, Hutchinson's
diagonal and AdaHessian, the Gauss–Newton direction by Woodbury, M-FAC inverse-Fisher
products (static and sliding window), the K-FAC / MKOR rank-1 inverse update and the
thermodynamic natural-gradient solve."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.flatten_util import ravel_pytree

from .. import _checks
from .._types import Array, Float, Int, PRNGKeyArray
from ._common import (
    _check_learning_rate,
    _check_matrix,
    _check_vector,
    _highest_precision,
    _in_range,
    _nonnegative,
    _positive,
)

__all__ = [
    "AdaHessianState",
    "MFACState",
    "MFACWindow",
    "TNGDResult",
    "adahessian",
    "empirical_fisher",
    "gauss_newton_direction",
    "hutchinson_diagonal",
    "hutchinson_samples",
    "hvp",
    "mfac_ihvp",
    "mfac_static",
    "mfac_window_ihvp",
    "mfac_window_init",
    "mfac_window_push",
    "rank1_ema_inverse_update",
    "scale_by_adahessian",
    "scale_by_mfac",
    "thermodynamic_solve",
]


# ---------------------------------------------------------------------------
# 2. Matrix-free curvature
# ---------------------------------------------------------------------------


def hvp(fun: Callable[[Array], Array], x: Any, v: Any) -> Any:
    """Hessian–vector product ``∇²f(x)v`` by forward-over-reverse differentiation
    (one extra gradient's cost, never forming ``∇²f``).  ``x`` and ``v`` may be pytrees.

    Args:
      fun: scalar objective ``f``, JAX-traceable.
      x: the point, an array or pytree (finite).
      v: the direction, with the structure and shapes of ``x``.

    Returns:
      ``∇²f(x)v``, with the structure of ``x``.

    Raises:
      TypeError: ``fun`` not callable or failing at ``x``, non-numeric input.
      ValueError: ``v`` not shaped like ``x``, an empty pytree, non-finite entries, ``fun`` not
        returning a real scalar.
    """
    _checks.require_callable("fun", fun)
    x, v = _checks.as_float_tree("x", x), _checks.as_float_tree("v", v)
    _checks.require_same_shape("x", x, "v", v)
    _checks.require_scalar_function("fun", fun, x)
    return jax.jvp(jax.grad(fun), (x,), (v,))[1]


def hutchinson_samples(
    fun: Callable[[Array], Array], x: Float[Array, " d"], *, key: PRNGKeyArray, num_samples: int
) -> Float[Array, "num_samples d"]:
    """``num_samples`` independent unbiased estimates ``z ⊙ ∇²f(x)z`` of ``diag ∇²f(x)``,
    ``z`` Rademacher (AdaHessian's curvature estimate), shape ``(num_samples, d)``.

    Args:
      fun: scalar objective; x: point ``(d,)``; key: a JAX PRNG key;
      num_samples: number of probes, ``>= 1``.

    Returns:
      Array of shape ``(num_samples, d)``.

    Raises:
      TypeError: ``fun`` not callable, ``key`` not a PRNG key (e.g. an integer seed).
      ValueError: ``x`` not a finite non-empty vector, ``num_samples < 1``.
    """
    _checks.require_callable("fun", fun)
    x = _check_vector("x", x)
    _checks.require_key("key", key)
    _checks.require_int("num_samples", num_samples, minimum=1)
    _checks.require_scalar_function("fun", fun, x)
    z = jax.random.rademacher(key, (num_samples, x.shape[0]), dtype=x.dtype)
    hz = jax.vmap(lambda v: jax.jvp(jax.grad(fun), (x,), (v,))[1])(z)
    return z * hz


def hutchinson_diagonal(
    fun: Callable[[Array], Array], x: Float[Array, " d"], *, key: PRNGKeyArray, num_samples: int
) -> Float[Array, " d"]:
    """Hutchinson's estimate of ``diag ∇²f(x)``: the mean of :func:`hutchinson_samples`
    (same arguments and errors); shape ``(d,)``.

    Args:
      fun: scalar objective, JAX-traceable.
      x: the point, shape ``(d,)``.
      key: a JAX PRNG key (keyword-only).
      num_samples: number of Rademacher probes ``z``, ``>= 1``.

    Returns:
      The estimate of ``diag ∇²f(x)``, shape ``(d,)``.

    Raises:
      TypeError: ``fun`` not callable, ``key`` not a PRNG key (e.g. an integer seed).
      ValueError: ``x`` not a finite non-empty vector, ``num_samples < 1``.
    """
    return jnp.mean(hutchinson_samples(fun, x, key=key, num_samples=num_samples), axis=0)


class AdaHessianState(NamedTuple):
    """State of :func:`scale_by_adahessian`.

    Attributes:
      count: the step count ``t``.
      key: the PRNG key of the next Rademacher probe.
      mu: the moving average ``m`` of the gradients (a pytree like the params).
      nu: the moving average ``v`` of the squared, block-averaged Hessian diagonals.
    """

    count: Int[Array, ""]  # type: ignore[assignment]  # a field named like tuple.count
    key: PRNGKeyArray
    mu: Any
    nu: Any


def _block_average(d: Array, block_size: int) -> Array:
    """AdaHessian's spatial averaging: ``D⁽ˢ⁾[ib+j] = (1/b) Σ_{l=1..b} D[ib+l]`` over the
    flattened leaf (``b = block_size`` divides its size)."""
    if block_size == 1:
        return d
    means = d.reshape(-1, block_size).mean(axis=1)
    return jnp.repeat(means, block_size).reshape(d.shape)


def _check_block_sizes(tree: Any, block_size: int) -> None:
    for leaf in jax.tree_util.tree_leaves(tree):
        if np.size(leaf) % block_size:
            raise ValueError(
                f"block_size must divide the size of every parameter leaf, got block_size={block_size} "
                f"for a leaf of shape {np.shape(leaf)}"
            )


def scale_by_adahessian(
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-4,
    hessian_power: float = 1.0,
    block_size: int = 1,
    *,
    key: PRNGKeyArray,
) -> optax.GradientTransformationExtraArgs:
    """AdaHessian's direction (Yao et al. 2021): Adam with the squared gradient replaced by
    the squared Hutchinson estimate of the Hessian diagonal.

    At step ``t`` (``g_t`` the gradient, ``z_t`` a fresh Rademacher probe):
    ``D_t = z_t ⊙ ∇²f(x_t) z_t`` (:func:`hutchinson_samples`, one probe), spatially averaged
    over blocks of ``b`` consecutive entries, ``D⁽ˢ⁾_t``;
    ``m_t = β₁m_{t−1} + (1−β₁)g_t``, ``v_t = β₂v_{t−1} + (1−β₂)D⁽ˢ⁾_t ⊙ D⁽ˢ⁾_t``;
    the update is ``m̂_t / (v̂_t + ε)`` with ``m̂_t = m_t/(1−β₁ᵗ)`` and
    ``v̂_t = (√(v_t/(1−β₂ᵗ)))^k`` (``k`` the Hessian power).

    The Hessian-vector product needs the objective: ``update`` takes it as the extra
    argument ``fun=`` (a function of the params pytree), and ``params``.

    Args:
      b1: ``β₁`` in [0, 1).
      b2: ``β₂`` in [0, 1).
      eps: ``ε > 0``.
      hessian_power: ``k`` in [0, 1] (``k = 1``: Newton-like scaling, ``k = 0``: momentum SGD
        up to the factor ``1/(1+ε)``).
      block_size: ``b >= 1``, the spatial-averaging block; must divide every leaf's size.
      key: a JAX PRNG key (keyword-only), split at every step for the probe.

    Returns:
      An ``optax.GradientTransformationExtraArgs`` with state :class:`AdaHessianState`
      (no learning rate: see :func:`adahessian`).

    Raises:
      TypeError: ``key`` not a PRNG key (an integer seed), a non-numeric hyper-parameter;
        at ``update``, ``fun`` missing or not callable.
      ValueError: a hyper-parameter out of range; at ``init``, ``block_size`` not dividing a
        leaf's size; at ``update``, ``params`` missing.
    """
    _in_range("b1", b1, 0.0, 1.0, high_inclusive=False)
    _in_range("b2", b2, 0.0, 1.0, high_inclusive=False)
    _positive("eps", eps)
    _in_range("hessian_power", hessian_power, 0.0, 1.0)
    _checks.require_int("block_size", block_size, minimum=1)
    _checks.require_key("key", key)
    block = int(block_size)

    def init_fn(params):
        params = _checks.as_float_tree("params", params)
        _check_block_sizes(params, block)
        zeros = jax.tree.map(jnp.zeros_like, params)
        return AdaHessianState(jnp.zeros([], jnp.int32), jnp.asarray(key), zeros, zeros)

    def update_fn(updates, state, params=None, *, fun=None, **extra):
        del extra
        _checks.require_update_params("scale_by_adahessian", params, with_fun=True)
        _checks.require_update_fun("scale_by_adahessian", fun)
        next_key, probe_key = jax.random.split(state.key)
        flat, unravel = ravel_pytree(params)
        diag = hutchinson_samples(lambda v: fun(unravel(v)), flat, key=probe_key, num_samples=1)[0]
        diag = jax.tree.map(lambda d: _block_average(d, block), unravel(diag))
        mu = jax.tree.map(lambda m, g: b1 * m + (1 - b1) * g, state.mu, updates)
        nu = jax.tree.map(lambda v, d: b2 * v + (1 - b2) * d * d, state.nu, diag)
        t = state.count + 1

        def direction(m, v):
            tt = t.astype(m.dtype)
            m_hat = m / (1 - jnp.asarray(b1, m.dtype) ** tt)
            v_hat = jnp.sqrt(v / (1 - jnp.asarray(b2, v.dtype) ** tt)) ** hessian_power
            return m_hat / (v_hat + eps)

        out = jax.tree.map(direction, mu, nu)
        return out, AdaHessianState(t, next_key, mu, nu)

    return optax.GradientTransformationExtraArgs(init_fn, update_fn)


def adahessian(
    learning_rate: float | Callable[[Array], Array],
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-4,
    hessian_power: float = 1.0,
    block_size: int = 1,
    *,
    key: PRNGKeyArray,
) -> optax.GradientTransformationExtraArgs:
    """AdaHessian (Yao et al. 2021): :func:`scale_by_adahessian` then the learning rate,
    ``x_{t+1} = x_t − η m̂_t/(v̂_t + ε)``.  Its ``update`` needs ``params`` and the
    objective as ``fun=`` (:func:`optlab.runner.run_loss` and :func:`optlab.runner.run` pass both).

    Args:
      learning_rate: ``η > 0`` or an optax schedule.
      b1, b2, eps, hessian_power, block_size: as in :func:`scale_by_adahessian`.
      key: a JAX PRNG key (keyword-only) for the Rademacher probes.

    Returns:
      An ``optax.GradientTransformationExtraArgs`` (a chain).

    Raises:
      TypeError, ValueError: ``learning_rate <= 0`` (when not a schedule) and the errors
        of :func:`scale_by_adahessian`.
    """
    _check_learning_rate(learning_rate)
    return optax.chain(
        scale_by_adahessian(b1, b2, eps, hessian_power, block_size, key=key),
        optax.scale_by_learning_rate(learning_rate),
    )


@_highest_precision
def gauss_newton_direction(
    J: Float[Array, "b p"], r: Float[Array, " b"], damping: float
) -> Float[Array, " p"]:
    """Damped Gauss–Newton direction ``(JᵀJ + λI)⁻¹Jᵀr`` computed as ``Jᵀ(JJᵀ + λI)⁻¹r``.

    ``J`` is the ``b × p`` Jacobian of the residuals ``r`` (``b`` = batch size);
    the Duncan–Guttman / Woodbury identity replaces a ``p × p`` solve by a
    ``b × b`` Cholesky solve: cost ``O(b²p + b³)`` (exact Gauss–Newton, EGN).

    Args:
      J: ``(b, p)`` Jacobian; r: ``(b,)`` residuals; damping: ``λ > 0``.

    Returns:
      The direction, shape ``(p,)``.

    Raises:
      TypeError: non-numeric input.
      ValueError: wrong shapes, non-finite entries, ``damping <= 0``.
    """
    J = _check_matrix("J", J)
    r = _check_vector("r", r)
    _positive("damping", damping)
    if r.shape[0] != J.shape[0]:
        raise ValueError(f"r must have length J.shape[0]={J.shape[0]}, got {r.shape[0]}")
    K = J @ J.T + damping * jnp.eye(J.shape[0], dtype=J.dtype)
    c = jax.scipy.linalg.cho_factor(K)
    return J.T @ jax.scipy.linalg.cho_solve(c, r)


class MFACState(NamedTuple):
    """Static M-FAC factorisation of ``F = λI + (1/m)Σᵢ gᵢgᵢᵀ``.

    ``F⁻¹x = x/λ − Σᵢ vᵢ (vᵢᵀx)/(m + gᵢᵀvᵢ)`` with ``vᵢ = F_{i−1}⁻¹gᵢ``.

    Attributes:
      inv_grads: the vectors ``vᵢ``, shape ``(m, d)``.
      denoms: ``m + gᵢᵀvᵢ``, shape ``(m,)``.
      damping: ``λ``, a scalar.
    """

    inv_grads: Float[Array, "m d"]  # (m, d): v_i
    denoms: Float[Array, " m"]  # (m,): m + g_i^T v_i
    damping: Float[Array, ""]


@_highest_precision
def empirical_fisher(grads: Float[Array, "m d"], damping: float) -> Float[Array, "d d"]:
    """Dense ``λI + (1/m)GᵀG`` for ``grads = G`` of shape ``(m, d)`` (reference only: O(d²) memory).

    Args:
      grads: the ``m`` gradients ``gᵢ`` as rows, shape ``(m, d)``.
      damping: ``λ > 0``.

    Returns:
      The empirical Fisher ``F``, shape ``(d, d)``.

    Raises:
      TypeError: non-numeric input.  ValueError: ``grads`` not a finite 2-D array, ``damping <= 0``.
    """
    grads = _check_matrix("grads", grads)
    _positive("damping", damping)
    m, d = grads.shape
    return damping * jnp.eye(d, dtype=grads.dtype) + grads.T @ grads / m


@_highest_precision
def mfac_static(grads: Float[Array, "m d"], damping: float) -> MFACState:
    """M-FAC precomputation (Frantar et al. 2021) by the recursive Sherman–Morrison
    (Woodbury) update, ``O(dm²)`` time and ``O(dm)`` memory.

    Adding ``gᵢ/√m`` to ``F_{i−1}`` gives
    ``F_i⁻¹ = F_{i−1}⁻¹ − vᵢvᵢᵀ/(m + gᵢᵀvᵢ)``, ``vᵢ = F_{i−1}⁻¹gᵢ``, and ``vᵢ``
    itself is an inverse-Hessian-vector product of the previous factorisation.

    Args:
      grads: the ``m`` gradients ``gᵢ`` as rows, shape ``(m, d)``.
      damping: ``λ > 0`` of ``F = λI + (1/m)Σᵢ gᵢgᵢᵀ``.

    Returns:
      An :class:`MFACState` for :func:`mfac_ihvp`.

    Raises:
      TypeError: non-numeric input.
      ValueError: ``grads`` not a finite non-empty 2-D array, ``damping <= 0``.
    """
    grads = _check_matrix("grads", grads)
    _positive("damping", damping)
    m, d = grads.shape
    lam = jnp.asarray(damping, grads.dtype)

    def body(carry, i):
        V, den = carry
        g = grads[i]
        mask = (jnp.arange(m) < i).astype(grads.dtype)
        coef = mask * (V @ g) / den
        v = g / lam - V.T @ coef
        V = V.at[i].set(v)
        den = den.at[i].set(m + g @ v)
        return (V, den), None

    V0 = jnp.zeros_like(grads)
    den0 = jnp.ones((m,), grads.dtype)
    (V, den), _ = jax.lax.scan(body, (V0, den0), jnp.arange(m))
    return MFACState(V, den, lam)


@_highest_precision
def mfac_ihvp(state: MFACState, x: Float[Array, " d"]) -> Float[Array, " d"]:
    """Inverse-Fisher-vector product ``F⁻¹x`` from :func:`mfac_static`: ``O(dm)``.

    Args:
      state: the factorisation from :func:`mfac_static`.
      x: the vector, shape ``(d,)``.

    Returns:
      ``F⁻¹x``, shape ``(d,)``.

    Raises:
      TypeError: ``state`` not an :class:`MFACState`.  ValueError: ``x`` of the wrong shape or non-finite.
    """
    if not isinstance(state, MFACState):
        raise TypeError(f"state must be an MFACState (from mfac_static), got {type(state).__name__}")
    x = _checks.as_float_array("x", x)
    _checks.require_shape("x", x, (state.inv_grads.shape[1],))
    return x / state.damping - state.inv_grads.T @ ((state.inv_grads @ x) / state.denoms)


class MFACWindow(NamedTuple):
    """Sliding-window M-FAC: the last ``m`` gradients (a ring buffer) and their Gram matrix.

    Attributes:
      grads: the window's gradients as rows, shape ``(m, d)`` (zero rows until filled).
      gram: ``grads @ grads.T``, shape ``(m, m)``.
      count: the number of gradients pushed so far (the next row written is ``count mod m``).
      damping: ``λ``, a scalar.
    """

    grads: Float[Array, "m d"]  # (m, d), zero rows until filled
    gram: Float[Array, "m m"]  # (m, m) = grads @ grads.T
    count: Int[Array, ""]  # type: ignore[assignment]  # number of gradients pushed so far
    damping: Float[Array, ""]


def mfac_window_init(dim: int, window: int, damping: float, dtype=jnp.float32) -> MFACWindow:
    """An empty window of ``window`` gradients of dimension ``dim``.

    Args:
      dim: the dimension ``d`` of a gradient, ``>= 1``.
      window: the number ``m`` of gradients kept, ``>= 1``.
      damping: ``λ > 0``.
      dtype: a floating dtype for the buffers.

    Returns:
      An :class:`MFACWindow` of zeros with ``count = 0``.

    Raises:
      TypeError: ``dim``/``window`` not integers, ``dtype`` not a floating dtype.
      ValueError: ``dim``/``window`` < 1, ``damping <= 0``.
    """
    _checks.require_int("dim", dim, minimum=1)
    _checks.require_int("window", window, minimum=1)
    _positive("damping", damping)
    try:
        floating = jnp.issubdtype(dtype, jnp.floating)
    except TypeError:
        floating = False
    if not floating:
        raise TypeError(f"dtype must be a floating dtype such as jnp.float32, got {dtype!r}")
    return MFACWindow(
        jnp.zeros((window, dim), dtype),
        jnp.zeros((window, window), dtype),
        jnp.zeros((), jnp.int32),
        jnp.asarray(damping, dtype),
    )


def _check_window(state: Any) -> None:
    if not isinstance(state, MFACWindow):
        raise TypeError(f"state must be an MFACWindow (from mfac_window_init), got {type(state).__name__}")


@_highest_precision
def mfac_window_push(state: MFACWindow, g: Float[Array, " d"]) -> MFACWindow:
    """Replace the oldest gradient by ``g``: ``O(dm)`` (one new Gram row/column).

    Args:
      state: the window, from :func:`mfac_window_init` or a previous push.
      g: the new gradient, shape ``(d,)``.

    Returns:
      The updated :class:`MFACWindow` (``count`` increased by one).

    Raises:
      TypeError: ``state`` not an :class:`MFACWindow`.  ValueError: ``g`` of the wrong shape or non-finite.
    """
    _check_window(state)
    g = _checks.as_float_array("g", g)
    _checks.require_shape("g", g, (state.grads.shape[1],))
    m = state.grads.shape[0]
    i = state.count % m
    grads = state.grads.at[i].set(g.astype(state.grads.dtype))
    row = grads @ g.astype(state.grads.dtype)
    gram = state.gram.at[i, :].set(row).at[:, i].set(row)
    return MFACWindow(grads, gram, state.count + 1, state.damping)


@_highest_precision
def mfac_window_ihvp(state: MFACWindow, x: Float[Array, " d"]) -> Float[Array, " d"]:
    """``F⁻¹x`` for ``F = λI + (1/m)GᵀG`` over the window, by Woodbury:
    ``F⁻¹x = (x − Gᵀ(mλI + GGᵀ)⁻¹Gx)/λ``; cost ``O(dm + m³)``.

    Args:
      state: the window (its ``m`` rows are used, zero rows included before it fills).
      x: the vector, shape ``(d,)``.

    Returns:
      ``F⁻¹x``, shape ``(d,)``.

    Raises:
      TypeError: ``state`` not an :class:`MFACWindow`.  ValueError: ``x`` of the wrong shape or non-finite.
    """
    _check_window(state)
    x = _checks.as_float_array("x", x)
    _checks.require_shape("x", x, (state.grads.shape[1],))
    m = state.grads.shape[0]
    lam = state.damping
    K = state.gram + m * lam * jnp.eye(m, dtype=state.gram.dtype)
    c = jax.scipy.linalg.cho_factor(K)
    return (x - state.grads.T @ jax.scipy.linalg.cho_solve(c, state.grads @ x)) / lam


def scale_by_mfac(window: int, damping: float) -> optax.GradientTransformation:
    """Precondition each gradient by the sliding-window M-FAC inverse Fisher
    ``F⁻¹g`` of the last ``window`` gradients (current one included).  Works on
    any pytree by flattening it; the output has the input's structure.

    Args:
      window: the number ``m`` of gradients kept, ``>= 1``.
      damping: ``λ > 0``.

    Returns:
      An ``optax.GradientTransformation`` whose state is an :class:`MFACWindow`.

    Raises:
      TypeError: ``window`` not an integer.  ValueError: ``window < 1``, ``damping <= 0``.
    """
    _checks.require_int("window", window, minimum=1)
    _positive("damping", damping)

    def init_fn(params):
        flat, _ = ravel_pytree(params)
        return mfac_window_init(flat.shape[0], window, damping, flat.dtype)

    def update_fn(updates, state, params=None):
        del params
        flat, unravel = ravel_pytree(updates)
        _checks.require_finite("updates", flat)
        state = mfac_window_push(state, flat)
        return unravel(mfac_window_ihvp(state, flat)), state

    return optax.GradientTransformation(init_fn, update_fn)


@_highest_precision
def rank1_ema_inverse_update(
    inv: Float[Array, "n n"], a: Float[Array, " n"], beta: float
) -> Float[Array, "n n"]:
    """Inverse of ``βX + (1−β)aaᵀ`` from ``inv = X⁻¹`` by Sherman–Morrison, ``O(n²)``.

    This is the MKOR update of a K-FAC factor ``X = E[aaᵀ]`` (Mozaffari et al. 2023):
    ``(βX + (1−β)aaᵀ)⁻¹ = (1/β)[X⁻¹ − c X⁻¹aaᵀX⁻¹ / (1 + c aᵀX⁻¹a)]``, ``c = (1−β)/β``.

    Args:
      inv: ``X⁻¹``, shape ``(n, n)``.
      a: the new vector, shape ``(n,)``.
      beta: the EMA weight ``β`` in (0, 1).

    Returns:
      ``(βX + (1−β)aaᵀ)⁻¹``, shape ``(n, n)``.

    Raises:
      TypeError: non-numeric input.  ValueError: wrong shapes, non-finite input, ``beta`` outside (0, 1).
    """
    inv = _check_matrix("inv", inv)
    a = _check_vector("a", a)
    _in_range("beta", beta, 0.0, 1.0, low_inclusive=False, high_inclusive=False)
    if inv.shape != (a.shape[0], a.shape[0]):
        raise ValueError(f"inv must have shape ({a.shape[0]}, {a.shape[0]}), got {inv.shape}")
    c = (1.0 - beta) / beta
    u = inv @ a
    w = inv.T @ a
    return (inv - c * jnp.outer(u, w) / (1.0 + c * a @ u)) / beta


class TNGDResult(NamedTuple):
    """Output of :func:`thermodynamic_solve`.

    Attributes:
      params: the solver's answer, the time average of ``x`` over the sampling
        window (after ``burn_in``): the estimate of ``F⁻¹g``.
      final: the last state of the simulated process.
      num_samples: the number of states averaged.
    """

    params: Array
    final: Array
    num_samples: Array


@jax.jit
def _tngd(F, g, key, x, dt, num_steps, burn_in, temperature):
    """Euler–Maruyama for the OU process; one compile per shape (``num_steps`` is traced:
    a ``fori_loop`` with a traced bound)."""
    with jax.default_matmul_precision("highest"):
        noise_scale = jnp.sqrt(2.0 * temperature * dt).astype(g.dtype)

        def body(k, carry):
            x, total = carry
            xi = jax.random.normal(jax.random.fold_in(key, k), g.shape, g.dtype)
            x = x - dt * (F @ x - g) + noise_scale * xi
            total = total + jnp.where(k >= burn_in, x, jnp.zeros_like(x))
            return x, total

        x, total = jax.lax.fori_loop(0, num_steps, body, (x, jnp.zeros_like(g)))
        n = num_steps - burn_in
        return TNGDResult(total / n.astype(g.dtype), x, n)


def thermodynamic_solve(
    F: Float[Array, "d d"],
    g: Float[Array, " d"],
    *,
    key: PRNGKeyArray,
    dt: float,
    num_steps: int,
    burn_in: int = 0,
    temperature: float = 1e-3,
    x0: Float[Array, " d"] | None = None,
) -> TNGDResult:
    """Simulated thermodynamic linear solve (Thermodynamic Natural Gradient Descent):
    Euler–Maruyama for the Ornstein–Uhlenbeck process
    ``dx = −(Fx − g)dt + √(2T) dW``, whose stationary law is ``N(F⁻¹g, T·F⁻¹)``,
    so the time average after ``burn_in`` steps estimates the natural-gradient
    direction ``F⁻¹g``.  Stable for ``dt < 2/λ_max(F)``; ``temperature = 0``
    gives plain gradient descent on ``½xᵀFx − gᵀx``.  A *digital simulation* of
    the analog process: it says nothing about the hardware's cost.

    Compiled once per shape; ``num_steps``, ``dt``, ``burn_in``, ``temperature``,
    the data and the key are traced.

    Args:
      F: ``(d, d)`` matrix; g: ``(d,)`` vector; key: a JAX PRNG key.
      dt: step ``> 0``; num_steps: ``>= 1``; burn_in: ``0 <= burn_in < num_steps``.
      temperature: ``T >= 0``; x0: start ``(d,)`` (default zeros).

    Returns:
      A :class:`TNGDResult`.

    Raises:
      TypeError: ``key`` not a PRNG key (e.g. an integer seed), non-numeric input.
      ValueError: wrong shapes, non-finite input, out-of-range hyper-parameters.
    """
    F = _check_matrix("F", F)
    g = _check_vector("g", g)
    if F.shape != (g.shape[0], g.shape[0]):
        raise ValueError(f"F must have shape ({g.shape[0]}, {g.shape[0]}), got {F.shape}")
    _checks.require_key("key", key)
    _positive("dt", dt)
    _checks.require_int("num_steps", num_steps, minimum=1)
    _checks.require_int("burn_in", burn_in, minimum=0)
    if burn_in >= num_steps:
        raise ValueError(f"burn_in must be smaller than num_steps={num_steps}, got {burn_in}")
    _nonnegative("temperature", temperature)
    if x0 is None:
        x = jnp.zeros_like(g)
    else:
        x = _checks.as_float_array("x0", x0).astype(g.dtype)
        _checks.require_shape("x0", x, g.shape)
    return _tngd(
        F,
        g,
        key,
        x,
        jnp.asarray(dt, g.dtype),
        jnp.asarray(num_steps, jnp.int32),
        jnp.asarray(burn_in, jnp.int32),
        jnp.asarray(temperature, g.dtype),
    )
