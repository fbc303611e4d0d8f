"""Test problems with known constants and, where known, known optima.

Every problem is a :class:`Problem`: the objective ``value(x)``, its gradient
(by JAX), the smoothness constant ``L`` (so that ``∇f`` is ``L``-Lipschitz),
the strong-convexity constant ``mu`` where it exists, and ``x_star`` /
``f_star`` when they are known in closed form.  Finite-sum problems
``f(x) = (1/n) Σ_i f_i(x)`` also expose ``sample_value(x, idx)`` and
``sample_grad(x, idx)`` for a batch of indices, so stochastic methods can share
them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.tree_util import Partial
from jax.typing import ArrayLike

from . import _checks
from ._types import Array, Float, Int, PRNGKeyArray

__all__ = [
    "Problem",
    "quadratic",
    "least_squares",
    "logistic_regression",
    "rosenbrock",
    "abs_1d",
    "worst_case_quadratic",
    "pl_sine",
]


@dataclasses.dataclass(frozen=True)
class Problem:
    """An objective ``f: R^d → R`` with what is known about it.

    Attributes:
      name: short human-readable name.
      value: ``x ↦ f(x)``, a JAX-traceable function of a 1-D array.
      dim: dimension ``d`` of ``x``.
      L: smoothness constant (``‖∇f(x) − ∇f(y)‖ ≤ L‖x − y‖``), or ``None`` if
        ``f`` is not globally smooth.
      mu: strong-convexity constant, ``0.0`` for convex but not strongly convex,
        ``None`` if ``f`` is not convex.
      x_star, f_star: a minimiser and the minimum, when known.
      x0: a suggested starting point.
      n_samples: number of terms ``n`` for finite sums, else ``None``.
      sample_value: ``(x, idx) ↦ (1/|idx|) Σ_{i∈idx} f_i(x)`` for finite sums.

    The built-in problems store ``value`` as a ``jax.tree_util.Partial`` of a
    module-level function and the problem's data, so :mod:`optlab.runner` treats the
    data as an argument of its compiled loop (new data of the same shape: no recompile).

    Raises:
      TypeError: ``value``/``sample_value`` not callable, ``dim``/``n_samples`` not integers.
      ValueError: ``dim < 1``, ``L ≤ 0``, ``mu < 0`` or ``n_samples < 1``.
    """

    name: str
    value: Callable[[Array], Array]
    dim: int
    L: float | jax.Array | None = None
    mu: float | jax.Array | None = None
    x_star: Array | None = None
    f_star: float | None = None
    x0: Array | None = None
    n_samples: int | None = None
    sample_value: Callable[[Array, Array], Array] | None = None

    def __post_init__(self):
        if not isinstance(self.name, str):
            raise TypeError(f"name must be a string, got {type(self.name).__name__}")
        _checks.require_callable("value", self.value)
        _checks.require_int("dim", self.dim, minimum=1)
        if self.L is not None:
            _checks.require_positive("L", self.L)
        if self.mu is not None:
            _checks.require_nonnegative("mu", self.mu)
        if self.n_samples is not None:
            _checks.require_int("n_samples", self.n_samples, minimum=1)
        if self.sample_value is not None:
            _checks.require_callable("sample_value", self.sample_value)

    def grad(self, x: Float[Array, " d"]) -> Float[Array, " d"]:
        """``∇f(x)``, by reverse-mode differentiation of :attr:`value`."""
        return jax.grad(self.value)(x)

    def value_and_grad(self, x: Float[Array, " d"]) -> tuple[Float[Array, ""], Float[Array, " d"]]:
        return jax.value_and_grad(self.value)(x)

    def sample_grad(self, x: Float[Array, " d"], idx: Int[Array, " B"]) -> Float[Array, " d"]:
        """Mini-batch gradient ``(1/|idx|) Σ_{i∈idx} ∇f_i(x)``."""
        if self.sample_value is None:
            raise ValueError(f"problem {self.name!r} is not a finite sum")
        return jax.grad(self.sample_value)(x, idx)

    @property
    def condition_number(self) -> float | jax.Array | None:
        if self.L is None or not self.mu:
            return None
        return self.L / self.mu

    def suboptimality(self, xs: Float[Array, "*batch d"]) -> Float[Array, "*batch"]:
        """``f(x) − f*`` for a single point or a stack of points (last axis ``d``)."""
        if self.f_star is None:
            raise ValueError(f"f_star is not known for problem {self.name!r}")
        values = jnp.vectorize(self.value, signature="(d)->()")(xs)
        return values - self.f_star


def _concrete_float(v: Any) -> Any:
    """``float(v)`` for a concrete value, ``v`` itself when traced."""
    return float(v) if _checks.is_concrete(v) else v


def _fmt(v: Any) -> str:
    return f"{float(v):g}" if _checks.is_concrete(v) else "traced"


def _scalar(name: str, v: Any) -> jax.Array:
    if isinstance(v, (bool, np.bool_)):
        raise TypeError(f"{name} must be a real number, got bool {v!r}")
    return _checks.as_float_array(name, v, ndim=0)


def _quadratic_value(A, x):
    return 0.5 * x @ jnp.matmul(A, x, precision=jax.lax.Precision.HIGHEST)


def quadratic(
    kappa: float = 10.0,
    dim: int = 2,
    *,
    L: float = 1.0,
    key: PRNGKeyArray | None = None,
) -> Problem:
    """``f(x) = ½ xᵀ A x`` with eigenvalues spread log-uniformly in ``[L/κ, L]``.

    With ``key=None`` ``A`` is diagonal (axis-aligned contours, handy in 2-D);
    otherwise ``A = Q diag(λ) Qᵀ`` with a random orthogonal ``Q``.  The minimiser
    is ``x* = 0``, ``f* = 0``, and ``μ = L/κ``.

    Args:
      kappa: condition number ``κ ≥ 1``.
      dim: dimension ``d ≥ 1`` (a Python integer).
      L: largest eigenvalue ``L > 0``.
      key: optional PRNG key for a random rotation.

    Returns:
      A :class:`Problem`.

    Raises:
      TypeError: ``kappa``/``L`` not real scalars, ``dim`` not an integer, ``key`` not a PRNG key.
      ValueError: ``kappa < 1``, ``L ≤ 0`` or ``dim < 1``.
    """
    kappa_a = _scalar("kappa", kappa)
    L_a = _scalar("L", L)
    _checks.require_positive("kappa", kappa_a)
    _checks.require_positive("L", L_a)
    _checks.require_int("dim", dim, minimum=1)
    if key is not None:
        _checks.require_key("key", key)
    if _checks.is_concrete(kappa_a) and float(kappa_a) < 1:
        raise ValueError(f"kappa must be at least 1, got {kappa}")
    concrete = _checks.is_concrete((kappa_a, L_a))
    # the advertised constants in Python precision when concrete (μ = L/κ exactly)
    mu = float(L) / float(kappa) if concrete else L_a / kappa_a
    if dim == 1:
        eigs = jnp.reshape(L_a, (1,))
        mu = float(L) if concrete else L_a
    else:
        eigs = jnp.geomspace(jnp.asarray(mu, L_a.dtype), L_a, dim)[::-1]
    if key is None:
        A = jnp.diag(eigs)
    else:
        q, _ = jnp.linalg.qr(jax.random.normal(key, (dim, dim), dtype=eigs.dtype))
        A = jnp.matmul(q * eigs, q.T, precision=jax.lax.Precision.HIGHEST)
    x0 = jnp.ones(dim, eigs.dtype) / jnp.sqrt(dim)

    return Problem(
        name=f"quadratic(κ={_fmt(kappa_a)}, d={dim})",
        value=Partial(_quadratic_value, A),
        dim=dim,
        L=float(L) if concrete else L_a,
        mu=mu,
        x_star=jnp.zeros(dim, eigs.dtype),
        f_star=0.0,
        x0=x0,
    )


def _lsq_value(A, b, reg, x):
    r = jnp.matmul(A, x, precision=jax.lax.Precision.HIGHEST) - b
    return 0.5 * jnp.mean(r**2) + 0.5 * reg * x @ x


def _lsq_sample_value(A, b, reg, x, idx):
    r = jnp.matmul(A[idx], x, precision=jax.lax.Precision.HIGHEST) - b[idx]
    return 0.5 * jnp.mean(r**2) + 0.5 * reg * x @ x


@jax.jit
def _lsq_solve(A, b, reg):
    n, d = A.shape
    hi = jax.lax.Precision.HIGHEST
    gram = jnp.matmul(A.T, A, precision=hi) / n
    eigs = jnp.linalg.eigvalsh(gram)
    H = gram + reg * jnp.eye(d, dtype=A.dtype)
    x_star = jnp.linalg.solve(H, jnp.matmul(A.T, b, precision=hi) / n)
    return eigs, x_star, _lsq_value(A, b, reg, x_star)


def least_squares(
    A: Float[Array, "n d"], b: Float[Array, " n"], *, reg: Float[ArrayLike, ""] = 0.0
) -> Problem:
    """``f(x) = (1/2n) ‖Ax − b‖² + (reg/2) ‖x‖²`` with its exact solution.

    ``L = λ_max(AᵀA)/n + reg`` and ``μ = λ_min(AᵀA)/n + reg``; ``x*`` solves the
    normal equations.  A finite sum over the ``n`` rows of ``A``.  Traceable:
    under ``jit`` the constants are arrays.

    Args:
      A: design matrix, shape ``(n, d)`` with ``n, d ≥ 1``; lists and integers are converted.
      b: targets, shape ``(n,)``.
      reg: ridge parameter ``≥ 0``.

    Returns:
      A finite-sum :class:`Problem` with ``x_star``, ``f_star``, ``L`` and ``mu``.

    Raises:
      TypeError: ``A``, ``b`` or ``reg`` is not real-numeric.
      ValueError: wrong dimensions, mismatched rows, an empty ``A``, NaN/inf, or ``reg < 0``.
    """
    A = _checks.as_float_array("A", A, ndim=2)
    b = _checks.as_float_array("b", b, ndim=1)
    reg = _scalar("reg", reg)
    _checks.require_nonnegative("reg", reg)
    n, d = A.shape
    if n == 0 or d == 0:
        raise ValueError(f"A must have at least one row and one column, got shape {(n, d)}")
    if b.shape[0] != n:
        raise ValueError(f"A has {n} rows but b has {b.shape[0]} entries")
    dt = jnp.result_type(A.dtype, b.dtype)
    A, b, reg = A.astype(dt), b.astype(dt), reg.astype(dt)
    eigs, x_star, f_star = _lsq_solve(A, b, reg)
    return Problem(
        name=f"least_squares(n={n}, d={d})",
        value=Partial(_lsq_value, A, b, reg),
        dim=d,
        L=_concrete_float(eigs[-1] + reg),
        mu=_concrete_float(jnp.maximum(eigs[0], 0.0) + reg),
        x_star=x_star,
        f_star=_concrete_float(f_star),
        x0=jnp.zeros(d, dtype=dt),
        n_samples=n,
        sample_value=Partial(_lsq_sample_value, A, b, reg),
    )


def _logreg_value(X, y, reg, x):
    z = jnp.matmul(X, x, precision=jax.lax.Precision.HIGHEST)
    return jnp.mean(jnp.logaddexp(0.0, -y * z)) + 0.5 * reg * x @ x


def _logreg_sample_value(X, y, reg, x, idx):
    z = jnp.matmul(X[idx], x, precision=jax.lax.Precision.HIGHEST)
    return jnp.mean(jnp.logaddexp(0.0, -y[idx] * z)) + 0.5 * reg * x @ x


@jax.jit
def _logreg_L(X, reg):
    gram = jnp.matmul(X.T, X, precision=jax.lax.Precision.HIGHEST)
    return jnp.linalg.eigvalsh(gram)[-1] / (4 * X.shape[0]) + reg


@jax.jit
def _logreg_newton(X, y, reg):
    d = X.shape[1]
    value = Partial(_logreg_value, X, y, reg)
    hess, grad = jax.hessian(value), jax.grad(value)
    tol = 10 * jnp.finfo(X.dtype).eps

    def cond(c):
        k, x, step_norm = c
        return (k < 50) & (step_norm > tol * (1 + jnp.linalg.norm(x)))

    def body(c):
        k, x, _ = c
        step = jnp.linalg.solve(hess(x), grad(x))
        return k + 1, x - step, jnp.linalg.norm(step)

    x0 = jnp.zeros(d, X.dtype)
    _, x_star, _ = jax.lax.while_loop(cond, body, (0, x0, jnp.asarray(jnp.inf, X.dtype)))
    return x_star, value(x_star)


def logistic_regression(
    X: Float[Array, "n d"], y: Float[Array, " n"], *, reg: Float[ArrayLike, ""] = 0.0
) -> Problem:
    """``f(x) = (1/n) Σ log(1 + exp(−yᵢ ⟨aᵢ, x⟩)) + (reg/2)‖x‖²``, labels ``yᵢ ∈ {−1, +1}``.

    ``L = λ_max(XᵀX)/(4n) + reg``, ``μ = reg``.  The minimiser has no closed
    form; with ``reg > 0`` it is computed once by Newton's method (quadratic
    convergence, to machine precision) and stored as ``x_star``.

    Args:
      X: features, shape ``(n, d)``, ``n, d ≥ 1``.
      y: labels in ``{−1, +1}``, shape ``(n,)``.
      reg: ridge parameter ``≥ 0``.

    Returns:
      A finite-sum :class:`Problem` (``x_star``/``f_star`` only when ``reg > 0``).

    Raises:
      TypeError: an argument is not real-numeric.
      ValueError: wrong dimensions, mismatched rows, empty ``X``, NaN/inf, labels
        other than ±1, or ``reg < 0``.
    """
    X = _checks.as_float_array("X", X, ndim=2)
    y = _checks.as_float_array("y", y, ndim=1)
    reg = _scalar("reg", reg)
    _checks.require_nonnegative("reg", reg)
    n, d = X.shape
    if n == 0 or d == 0:
        raise ValueError(f"X must have at least one row and one column, got shape {(n, d)}")
    if y.shape[0] != n:
        raise ValueError(f"X has {n} rows but y has {y.shape[0]} labels")
    if _checks.is_concrete(y) and not np.all(np.isin(np.asarray(y), [-1, 1])):
        raise ValueError("y must contain only labels -1 and +1")
    y = y.astype(X.dtype)
    reg = reg.astype(X.dtype)
    L = _logreg_L(X, reg)
    known = _checks.is_concrete(reg) and float(reg) > 0
    x_star, f_star = _logreg_newton(X, y, reg) if known else (None, None)

    return Problem(
        name=f"logistic_regression(n={n}, d={d})",
        value=Partial(_logreg_value, X, y, reg),
        dim=d,
        L=_concrete_float(L),
        mu=_concrete_float(reg),
        x_star=x_star if known else None,
        f_star=_concrete_float(f_star) if known else None,
        x0=jnp.zeros(d, dtype=X.dtype),
        n_samples=n,
        sample_value=Partial(_logreg_sample_value, X, y, reg),
    )


def _rosenbrock_value(a, b, z):
    return (a - z[0]) ** 2 + b * (z[1] - z[0] ** 2) ** 2


def rosenbrock(a: float = 1.0, b: float = 100.0) -> Problem:
    """``f(x, y) = (a − x)² + b (y − x²)²``: non-convex, minimiser ``(a, a²)``, ``f* = 0``.

    It is not globally smooth (``L = None``); near the minimiser the Hessian's
    largest eigenvalue is about ``2b(1 + 4a²)``.

    Args:
      a: a finite real number.
      b: ``b > 0``.

    Returns:
      A :class:`Problem` in ``d = 2``.

    Raises:
      TypeError: ``a`` or ``b`` is not a real scalar.
      ValueError: ``a`` is not finite or ``b ≤ 0``.
    """
    a_a = _scalar("a", a)
    b_a = _scalar("b", b)
    _checks.require_positive("b", b_a)
    dt = jnp.result_type(a_a.dtype, b_a.dtype)
    a_a, b_a = a_a.astype(dt), b_a.astype(dt)

    return Problem(
        name=f"rosenbrock(a={_fmt(a_a)}, b={_fmt(b_a)})",
        value=Partial(_rosenbrock_value, a_a, b_a),
        dim=2,
        L=None,
        mu=None,
        x_star=jnp.stack([a_a, a_a * a_a]),
        f_star=0.0,
        x0=jnp.array([-1.2, 1.0], dtype=dt),
    )


def _abs_value(scale, x):
    return scale * jnp.abs(x[0])


def abs_1d(scale: float = 1.0) -> Problem:
    """``f(x) = scale·|x|`` on ``R``: convex, Lipschitz (constant ``scale``), not smooth.

    The minimiser is ``0``.  Gradient descent with a constant step oscillates
    around it; decaying or Polyak steps converge.

    Args:
      scale: ``> 0``.

    Returns:
      A :class:`Problem` in ``d = 1``.

    Raises:
      TypeError: ``scale`` is not a real scalar.
      ValueError: ``scale ≤ 0`` or not finite.
    """
    scale_a = _scalar("scale", scale)
    _checks.require_positive("scale", scale_a)

    return Problem(
        name=f"abs_1d(scale={_fmt(scale_a)})",
        value=Partial(_abs_value, scale_a),
        dim=1,
        L=None,
        mu=0.0,
        x_star=jnp.zeros(1, scale_a.dtype),
        f_star=0.0,
        x0=jnp.ones(1, scale_a.dtype),
    )


def _worst_value(L, x):
    quad = x[0] ** 2 + jnp.sum((x[:-1] - x[1:]) ** 2) + x[-1] ** 2
    return L / 8.0 * quad - L / 4.0 * x[0]


def worst_case_quadratic(dim: int = 200, L: float = 1.0) -> Problem:
    """Nesterov's worst function for first-order methods (Nesterov 2018, §2.1.2).

    ``f(x) = (L/8) [x₁² + Σ_{i<d} (x_i − x_{i+1})² + x_d²] − (L/4) x₁``: convex,
    ``L``-smooth, not strongly convex as ``d → ∞`` (``μ ≈ L π² / (4 (d+1)²)``).
    The minimiser is the ramp ``x*_i = 1 − i/(d+1)`` with
    ``f* = (L/8)(−1 + 1/(d+1))``.

    Args:
      dim: ``d ≥ 2`` (a Python integer).
      L: ``L > 0``.

    Returns:
      A :class:`Problem`.

    Raises:
      TypeError: ``dim`` is not an integer or ``L`` not a real scalar.
      ValueError: ``dim < 2`` or ``L ≤ 0``.
    """
    _checks.require_int("dim", dim, minimum=2)
    L_a = _scalar("L", L)
    _checks.require_positive("L", L_a)
    dt = L_a.dtype
    i = jnp.arange(1, dim + 1, dtype=dt)
    x_star = 1.0 - i / (dim + 1.0)
    lam_min = float(0.5 * (1.0 - np.cos(np.pi / (dim + 1))))  # of the L = 1 matrix
    return Problem(
        name=f"worst_case_quadratic(d={dim})",
        value=Partial(_worst_value, L_a),
        dim=dim,
        L=_concrete_float(L_a),
        mu=_concrete_float(L_a * lam_min),
        x_star=x_star,
        f_star=_concrete_float(L_a / 8.0 * (-1.0 + 1.0 / (dim + 1.0))),
        x0=jnp.zeros(dim, dt),
    )


def _pl_sine_value(x):
    return jnp.sum(x**2 + 3.0 * jnp.sin(x) ** 2)


def pl_sine(dim: int = 1) -> Problem:
    """``f(x) = Σ_i x_i² + 3 sin²(x_i)``: non-convex but Polyak–Łojasiewicz.

    The example of Karimi, Nutini and Schmidt (2016): ``f* = 0`` at ``x* = 0``,
    ``L = 8`` (``f'' = 2 + 6 cos 2x ∈ [−4, 8]``) and the PL inequality
    ``½‖∇f(x)‖² ≥ μ (f(x) − f*)`` holds with ``μ = 1/32``.

    Args:
      dim: ``d ≥ 1`` (a Python integer).

    Returns:
      A :class:`Problem` (``mu=None``: not convex).

    Raises:
      TypeError: ``dim`` is not an integer.
      ValueError: ``dim < 1``.
    """
    _checks.require_int("dim", dim, minimum=1)

    return Problem(
        name=f"pl_sine(d={dim})",
        value=Partial(_pl_sine_value),
        dim=dim,
        L=8.0,
        mu=None,
        x_star=jnp.zeros(dim),
        f_star=0.0,
        x0=jnp.full(dim, 3.0),
    )
