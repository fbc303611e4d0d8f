r"""Two-layer ReLU networks: the convex reformulation over activation patterns, ADMM on it,
and plain gradient descent on the non-convex network for comparison (chapter 11).

References: Boyd et al. (2011) (ADMM); Pilanci & Ergen (2020), Bai, Gautam, Sojoudi (2023)
(convex two-layer ReLU training).
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .._checks import is_concrete, require_int, require_key, require_shape
from .._types import Array, ArrayLike, Bool, Float, Int, PRNGKeyArray
from ._common import _HIGHEST, _array, _nonneg_scalar, _pos_scalar, _tiny, _tol

__all__ = [
    "ReLUADMMOutput",
    "ReLUTrainOutput",
    "relu_patterns",
    "convex_relu_objective",
    "relu_admm",
    "relu_from_convex",
    "relu_network_objective",
    "relu_predict",
    "train_relu_nonconvex",
]


def relu_patterns(
    X: Float[ArrayLike, "n d"], *, num_samples: int = 0, key: PRNGKeyArray | None = None
) -> Float[Array, "P n"]:
    """Activation patterns ``D = 1[Xu ≥ 0]`` (rows, ``(P, n)``, as floats).

    For ``d = 2`` and ``num_samples = 0`` *all* patterns are enumerated exactly:
    they change only where ``u ⟂ x_i``, so one direction inside each arc between
    consecutive critical angles suffices. Otherwise ``num_samples`` Gaussian
    directions are drawn with ``key`` and duplicates removed. The all-zero
    pattern is dropped (its block never contributes). Runs on the host (NumPy).

    Args:
      X: ``(n, d)`` finite data (concrete). num_samples: a non-negative int.
      key: a JAX PRNG key, required when ``num_samples > 0``.

    Returns:
      ``(P, n)`` float array of 0/1 patterns.

    Raises:
      TypeError: traced or non-numeric ``X``, a non-int ``num_samples``, an integer seed
        for ``key``.
      ValueError: wrong shape, empty or non-finite ``X``; ``d ≠ 2`` without sampling;
        a missing ``key``.
    """
    if not is_concrete(X):
        raise TypeError("X must be concrete: relu_patterns enumerates patterns on the host")
    X = np.asarray(_array("X", X, ndim=2), dtype=float)
    require_int("num_samples", num_samples, minimum=0)
    n, d = X.shape
    if num_samples == 0:
        if d != 2:
            raise ValueError(
                f"exact enumeration needs d = 2 (got X with d = {d}); pass "
                "num_samples > 0 and a key to sample patterns"
            )
        ang = np.arctan2(X[:, 1], X[:, 0])
        crit = np.sort(np.mod(np.concatenate([ang + np.pi / 2, ang - np.pi / 2]), 2 * np.pi))
        mids = (
            crit + np.roll(crit, -1) + np.where(np.arange(crit.size) == crit.size - 1, 2 * np.pi, 0.0)
        ) / 2
        U = np.stack([np.cos(mids), np.sin(mids)])
    else:
        if key is None:
            raise ValueError("sampling patterns needs an explicit key (key=jax.random.key(seed))")
        require_key("key", key)
        U = np.asarray(jax.random.normal(key, (d, num_samples)))
    D = (X @ U >= 0).T.astype(float)
    D = np.unique(D, axis=0)
    D = D[D.sum(1) > 0]
    return jnp.asarray(D)


def _relu_mats(X, D):
    P, n = D.shape
    d = X.shape[1]
    DX = D[:, :, None] * X[None, :, :]  # (P, n, d)
    F = jnp.concatenate(
        [jnp.transpose(DX, (1, 0, 2)).reshape(n, P * d), -jnp.transpose(DX, (1, 0, 2)).reshape(n, P * d)],
        axis=1,
    )
    S = (2 * D - 1)[:, :, None] * X[None, :, :]  # (P, n, d)
    Gb = jax.scipy.linalg.block_diag(*[S[j] for j in range(P)])  # (P n, P d)
    G = jax.scipy.linalg.block_diag(Gb, Gb)  # (2 P n, 2 P d)
    return F, G


def _relu_data(X, y, *, y_name="y"):
    X = _array("X", X, ndim=2)
    n = X.shape[0]
    y = _array(y_name, y, ndim=1).astype(X.dtype)
    require_shape(y_name, y, (n,))
    return X, y


def _patterns(D, n, dtype):
    D = _array("D", D, ndim=2).astype(dtype)
    if D.shape[1] != n:
        raise ValueError(f"D must have shape (P, n={n}), got {tuple(D.shape)}")
    if is_concrete(D) and not bool(jnp.all((D == 0) | (D == 1))):
        raise ValueError("D must hold 0/1 activation patterns")
    return D


def convex_relu_objective(
    X: Float[Array, "n d"],
    y: Float[Array, " n"],
    D: Float[Array, "P n"],
    v: Float[Array, "P d"],
    w: Float[Array, "P d"],
    beta: float,
) -> Float[Array, ""]:
    """``½‖Σ_j D_j X(v_j − w_j) − y‖² + β Σ_j (‖v_j‖ + ‖w_j‖)`` (``v, w``: ``(P, d)``).

    Args:
      X: ``(n, d)``. y: ``(n,)``. D: ``(P, n)`` 0/1 patterns. v, w: ``(P, d)``.
      beta: ``β ≥ 0``.

    Returns:
      The scalar objective.

    Raises:
      TypeError / ValueError: naming the argument (shapes, NaN/inf, negative β).
    """
    X, y = _relu_data(X, y)
    n, d = X.shape
    D = _patterns(D, n, X.dtype)
    P = D.shape[0]
    v = _array("v", v, ndim=2).astype(X.dtype)
    require_shape("v", v, (P, d))
    w = _array("w", w, ndim=2).astype(X.dtype)
    require_shape("w", w, (P, d))
    _nonneg_scalar("beta", beta)
    return _convex_relu_objective(X, y, D, v, w, beta)


def _convex_relu_objective(X, y, D, v, w, beta):
    pred = jnp.einsum("pn,nd,pd->n", D, X, v - w, precision=_HIGHEST)
    return 0.5 * jnp.sum((pred - y) ** 2) + beta * (
        jnp.sum(jnp.linalg.norm(v, axis=1)) + jnp.sum(jnp.linalg.norm(w, axis=1))
    )


class ReLUADMMOutput(NamedTuple):
    """Result of :func:`relu_admm`; its final point ``params`` is the pair ``(v, w)``.

    Attributes:
      v: ``(P, d)``, the group-sparse copy (first half).
      w: ``(P, d)``, the group-sparse copy (second half).
      objectives: ``objectives[k]``, the convex objective at iteration ``k``.
      violations: ``violations[k] = max(0, −min (2D_j − I)X{v_j, w_j})``.
      residuals: ``residuals[k]``, the primal residual ``‖u − v‖ + ‖Gu − s‖``.
      converged: all finite and the last primal residual at most ``tol·max(1, ‖y‖)`` (a
        boolean array, valid under ``jit``).
      n_iters: the iterations taken.
    """

    v: Float[Array, "P d"]
    w: Float[Array, "P d"]
    objectives: jax.Array
    violations: jax.Array
    residuals: jax.Array
    converged: Bool[Array, ""]
    n_iters: Int[Array, ""]

    @property
    def params(self) -> tuple[jax.Array, jax.Array]:
        """The final point ``(v, w)``."""
        return self.v, self.w


class ReLUTrainOutput(NamedTuple):
    """Result of :func:`train_relu_nonconvex`; its final point ``params`` is the pair
    ``(U, alpha)``.

    Attributes:
      U: the first-layer weights, ``(d, width)``.
      alpha: the output weights, ``(width,)``.
      objectives: ``(num_steps,)``, the objective before each step.
    """

    U: Float[Array, "d width"]
    alpha: Float[Array, " width"]
    objectives: Float[Array, " num_steps"]

    @property
    def params(self) -> tuple[jax.Array, jax.Array]:
        """The final network ``(U, alpha)``."""
        return self.U, self.alpha


def relu_admm(
    X: Float[Array, "n d"],
    y: Float[Array, " n"],
    D: Float[Array, "P n"],
    beta: float,
    *,
    rho: float = 1.0,
    num_steps: int = 500,
    tol: float = 1e-6,
) -> ReLUADMMOutput:
    """ADMM for the convex two-layer ReLU program (Pilanci & Ergen 2020; Bai et al. 2023)

        min ½‖F u − y‖² + β Σ_blocks ‖u_b‖₂   s.t.  G u ≥ 0,

    split as ``u = v`` (group soft-threshold) and ``Gu = s``, ``s ≥ 0`` (clip); the
    ``u``-step solves one fixed linear system (``FᵀF + ρI + ρGᵀG``, factored once).
    Compiled once per ``num_steps`` and shape.

    Args:
      X: ``(n, d)`` finite data. y: ``(n,)`` targets. D: ``(P, n)`` 0/1 patterns.
      beta: ``β > 0``. rho: ADMM penalty ``ρ > 0``. num_steps: positive int.
      tol: tolerance of the ``converged`` flag.

    Returns:
      A :class:`ReLUADMMOutput`.

    Raises:
      TypeError / ValueError: naming the argument.
    """
    X, y = _relu_data(X, y)
    D = _patterns(D, X.shape[0], X.dtype)
    _pos_scalar("beta", beta)
    _pos_scalar("rho", rho)
    require_int("num_steps", num_steps, minimum=1)
    _tol("tol", tol)
    return _relu_admm(X, y, D, beta, rho, tol, num_steps)


@functools.partial(jax.jit, static_argnames=("num_steps",))
def _relu_admm(X, y, D, beta, rho, tol, num_steps):
    n, d = X.shape
    P = D.shape[0]
    hp = functools.partial(jnp.matmul, precision=_HIGHEST)
    F, G = _relu_mats(X, D)
    nv = 2 * P * d
    A = hp(F.T, F) + rho * jnp.eye(nv, dtype=X.dtype) + rho * hp(G.T, G)
    cho = jax.scipy.linalg.cho_factor(A)
    Fty = hp(F.T, y)

    # region: constrained-relu-admm-step
    def group_shrink(z, t):
        zb = z.reshape(2 * P, d)
        nrm = jnp.linalg.norm(zb, axis=1, keepdims=True)
        return (zb * jnp.maximum(0.0, 1.0 - t / jnp.maximum(nrm, _tiny(X.dtype)))).ravel()

    def body(carry, _):
        u, v, s, lam, nu = carry
        u = jax.scipy.linalg.cho_solve(cho, Fty + rho * (v - lam) + rho * hp(G.T, s - nu))
        v = group_shrink(u + lam, beta / rho)
        Gu = hp(G, u)
        s = jnp.maximum(0.0, Gu + nu)
        lam = lam + u - v
        nu = nu + Gu - s
        vb = v.reshape(2, P, d)
        obj = _convex_relu_objective(X, y, D, vb[0], vb[1], beta)
        viol = jnp.maximum(0.0, -jnp.min(hp(G, v)))
        resid = jnp.linalg.norm(u - v) + jnp.linalg.norm(Gu - s)
        return (u, v, s, lam, nu), (obj, viol, resid)

    # endregion: constrained-relu-admm-step

    z = jnp.zeros(nv, X.dtype)
    zs = jnp.zeros(G.shape[0], X.dtype)
    (u, v, s, lam, nu), (objs, viols, resids) = jax.lax.scan(body, (z, z, zs, z, zs), None, length=num_steps)
    vb = v.reshape(2, P, d)
    converged = (
        jnp.all(jnp.isfinite(objs))
        & jnp.all(jnp.isfinite(v))
        & (resids[-1] <= tol * jnp.maximum(1.0, jnp.linalg.norm(y)))
    )
    return ReLUADMMOutput(vb[0], vb[1], objs, viols, resids, converged, jnp.asarray(num_steps))


def relu_from_convex(v: Float[Array, "P d"], w: Float[Array, "P d"], *, tol: float = 1e-8):
    """Network ``(U, α)`` (``U``: ``(d, m)``) from a convex solution: each nonzero
    ``v_j`` gives a neuron ``u = v_j/√‖v_j‖``, ``α = √‖v_j‖`` (``−√‖w_j‖`` for ``w_j``).
    Runs on the host (the number of neurons depends on the values).

    Args:
      v, w: ``(P, d)`` finite, concrete arrays of the same shape. tol: ``≥ 0``, the
        norm below which a block counts as zero.

    Returns:
      ``(U, alpha)``.

    Raises:
      TypeError: traced or non-numeric input. ValueError: shapes, NaN/inf, negative ``tol``.
    """
    if not is_concrete((v, w)):
        raise TypeError("v and w must be concrete: relu_from_convex picks neurons on the host")
    v = _array("v", v, ndim=2)
    w = _array("w", w, ndim=2)
    require_shape("w", w, v.shape)
    _tol("tol", tol)
    V = np.concatenate([np.asarray(v), np.asarray(w)])
    sign = np.concatenate([np.ones(len(v)), -np.ones(len(w))])
    nrm = np.linalg.norm(V, axis=1)
    keep = nrm > tol
    U = (V[keep] / np.sqrt(nrm[keep])[:, None]).T
    alpha = sign[keep] * np.sqrt(nrm[keep])
    return jnp.asarray(U, v.dtype), jnp.asarray(alpha, v.dtype)


def _network(X, U, alpha):
    X = _array("X", X, ndim=2)
    U = _array("U", U, ndim=2).astype(X.dtype)
    require_shape("U", U, (X.shape[1], None))
    alpha = _array("alpha", alpha, ndim=1).astype(X.dtype)
    require_shape("alpha", alpha, (U.shape[1],))
    return X, U, alpha


def relu_predict(
    X: Float[Array, "n d"], U: Float[Array, "d m"], alpha: Float[Array, " m"]
) -> Float[Array, " n"]:
    """``Σ_k relu(X u_k) α_k``.

    Args:
      X: ``(n, d)``. U: ``(d, m)``. alpha: ``(m,)`` (all finite).

    Returns:
      ``(n,)`` predictions.

    Raises:
      TypeError / ValueError: naming the argument.
    """
    X, U, alpha = _network(X, U, alpha)
    return _relu_predict(X, U, alpha)


def _relu_predict(X, U, alpha):
    return jnp.matmul(jax.nn.relu(jnp.matmul(X, U, precision=_HIGHEST)), alpha, precision=_HIGHEST)


def relu_network_objective(
    X: Float[Array, "n d"],
    y: Float[Array, " n"],
    U: Float[Array, "d m"],
    alpha: Float[Array, " m"],
    beta: float,
) -> Float[Array, ""]:
    """``½‖Σ_k relu(Xu_k)α_k − y‖² + (β/2)(‖U‖_F² + ‖α‖²)`` (weight decay).

    Args:
      X: ``(n, d)``. y: ``(n,)``. U: ``(d, m)``. alpha: ``(m,)``. beta: ``β ≥ 0``.

    Returns:
      The scalar objective.

    Raises:
      TypeError / ValueError: naming the argument.
    """
    X, U, alpha = _network(X, U, alpha)
    X, y = _relu_data(X, y)
    _nonneg_scalar("beta", beta)
    return _relu_network_objective(X, y, U, alpha, beta)


def _relu_network_objective(X, y, U, alpha, beta):
    r = _relu_predict(X, U, alpha) - y
    return 0.5 * jnp.sum(r**2) + 0.5 * beta * (jnp.sum(U**2) + jnp.sum(alpha**2))


def train_relu_nonconvex(
    X: Float[Array, "n d"],
    y: Float[Array, " n"],
    width: int,
    beta: float,
    *,
    key: PRNGKeyArray,
    learning_rate: float = 1e-2,
    num_steps: int = 3000,
    init_scale: float = 1.0,
) -> ReLUTrainOutput:
    """Gradient descent on :func:`relu_network_objective` from a random init
    (``U ~ init_scale·N(0, 1/d)``, ``α ~ init_scale·N(0, 1/width)``). ``vmap`` over
    ``key`` for several seeds. Compiled once per ``(width, num_steps)`` and shape.

    Args:
      X: ``(n, d)``. y: ``(n,)``. width: positive int. beta: ``β ≥ 0``.
      key: a JAX PRNG key. learning_rate, init_scale: positive. num_steps: positive int.

    Returns:
      A :class:`ReLUTrainOutput` ``(U, alpha, objectives)``, ``objectives`` of shape ``(num_steps,)``.

    Raises:
      TypeError: an integer seed for ``key``, non-numeric arrays, non-int sizes.
      ValueError: naming the argument that is out of range.
    """
    X, y = _relu_data(X, y)
    require_int("width", width, minimum=1)
    _nonneg_scalar("beta", beta)
    require_key("key", key)
    _pos_scalar("learning_rate", learning_rate)
    require_int("num_steps", num_steps, minimum=1)
    _pos_scalar("init_scale", init_scale)
    return _train_relu(X, y, beta, key, learning_rate, init_scale, width, num_steps)


@functools.partial(jax.jit, static_argnames=("width", "num_steps"))
def _train_relu(X, y, beta, key, learning_rate, init_scale, width, num_steps):
    d = X.shape[1]
    k1, k2 = jax.random.split(key)
    U = init_scale * jax.random.normal(k1, (d, width), X.dtype) / jnp.sqrt(d)
    a = init_scale * jax.random.normal(k2, (width,), X.dtype) / jnp.sqrt(width)
    vg = jax.value_and_grad(lambda p: _relu_network_objective(X, y, p[0], p[1], beta))

    def body(p, _):
        v, g = vg(p)
        return jax.tree_util.tree_map(lambda q, h: q - learning_rate * h, p, g), v

    (U, a), vals = jax.lax.scan(body, (U, a), None, length=num_steps)
    return ReLUTrainOutput(U, a, vals)
