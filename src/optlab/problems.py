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
from typing import Any, Callable, Optional

import jax
import jax.numpy as jnp
import numpy as np

from . import _checks

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

Array = Any


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
    """

    name: str
    value: Callable[[Array], Array]
    dim: int
    L: Optional[float] = None
    mu: Optional[float] = None
    x_star: Optional[Array] = None
    f_star: Optional[float] = None
    x0: Optional[Array] = None
    n_samples: Optional[int] = None
    sample_value: Optional[Callable[[Array, Array], Array]] = None

    def grad(self, x: Array) -> Array:
        """``∇f(x)``, by reverse-mode differentiation of :attr:`value`."""
        return jax.grad(self.value)(x)

    def value_and_grad(self, x: Array) -> tuple[Array, Array]:
        return jax.value_and_grad(self.value)(x)

    def sample_grad(self, x: Array, idx: Array) -> Array:
        """Mini-batch gradient ``(1/|idx|) Σ_{i∈idx} ∇f_i(x)``."""
        if self.sample_value is None:
            raise ValueError(f"problem {self.name!r} is not a finite sum")
        return jax.grad(self.sample_value)(x, idx)

    @property
    def condition_number(self) -> Optional[float]:
        if self.L is None or not self.mu:
            return None
        return self.L / self.mu

    def suboptimality(self, xs: Array) -> Array:
        """``f(x) − f*`` for a single point or a stack of points (last axis ``d``)."""
        if self.f_star is None:
            raise ValueError(f"f_star is not known for problem {self.name!r}")
        values = jnp.vectorize(self.value, signature="(d)->()")(xs)
        return values - self.f_star


def quadratic(
    kappa: float = 10.0,
    dim: int = 2,
    *,
    L: float = 1.0,
    key: Array | None = None,
) -> Problem:
    """``f(x) = ½ xᵀ A x`` with eigenvalues spread log-uniformly in ``[L/κ, L]``.

    With ``key=None`` ``A`` is diagonal (axis-aligned contours, handy in 2-D);
    otherwise ``A = Q diag(λ) Qᵀ`` with a random orthogonal ``Q``.  The minimiser
    is ``x* = 0``, ``f* = 0``, and ``μ = L/κ``.
    """
    _checks.require_positive("kappa", kappa)
    _checks.require_positive("L", L)
    _checks.require_int("dim", dim, minimum=1)
    if kappa < 1:
        raise ValueError(f"kappa must be at least 1, got {kappa}")
    mu = L / kappa
    if dim == 1:
        eigs = jnp.array([L])
        mu = L
    else:
        eigs = jnp.geomspace(mu, L, dim)[::-1]
    if key is None:
        A = jnp.diag(eigs)
    else:
        q, _ = jnp.linalg.qr(jax.random.normal(key, (dim, dim)))
        A = (q * eigs) @ q.T
    x0 = jnp.ones(dim) / jnp.sqrt(dim)

    def value(x):
        return 0.5 * x @ (A @ x)

    return Problem(
        name=f"quadratic(κ={kappa:g}, d={dim})",
        value=value,
        dim=dim,
        L=float(L),
        mu=float(mu),
        x_star=jnp.zeros(dim),
        f_star=0.0,
        x0=x0,
    )


def least_squares(A: Array, b: Array, *, reg: float = 0.0) -> Problem:
    """``f(x) = (1/2n) ‖Ax − b‖² + (reg/2) ‖x‖²`` with its exact solution.

    ``L = λ_max(AᵀA)/n + reg`` and ``μ = λ_min(AᵀA)/n + reg``; ``x*`` solves the
    normal equations.  A finite sum over the ``n`` rows of ``A``.
    """
    _checks.require_ndim("A", A, 2)
    _checks.require_ndim("b", b, 1)
    if A.shape[0] != b.shape[0]:
        raise ValueError(f"A has {A.shape[0]} rows but b has {b.shape[0]} entries")
    _checks.require_finite("A", A)
    _checks.require_finite("b", b)
    _checks.require_nonnegative("reg", reg)
    A = jnp.asarray(A)
    b = jnp.asarray(b)
    n, d = A.shape
    eigs = np.linalg.eigvalsh(np.asarray(A.T @ A, dtype=np.float64)) / n
    H = A.T @ A / n + reg * jnp.eye(d, dtype=A.dtype)
    x_star = jnp.linalg.solve(H, A.T @ b / n)

    def value(x):
        r = A @ x - b
        return 0.5 * jnp.mean(r**2) + 0.5 * reg * x @ x

    def sample_value(x, idx):
        r = A[idx] @ x - b[idx]
        return 0.5 * jnp.mean(r**2) + 0.5 * reg * x @ x

    return Problem(
        name=f"least_squares(n={n}, d={d})",
        value=value,
        dim=d,
        L=float(eigs[-1] + reg),
        mu=float(max(eigs[0], 0.0) + reg),
        x_star=x_star,
        f_star=float(value(x_star)),
        x0=jnp.zeros(d, dtype=A.dtype),
        n_samples=n,
        sample_value=sample_value,
    )


def logistic_regression(X: Array, y: Array, *, reg: float = 0.0) -> Problem:
    """``f(x) = (1/n) Σ log(1 + exp(−yᵢ ⟨aᵢ, x⟩)) + (reg/2)‖x‖²``, labels ``yᵢ ∈ {−1, +1}``.

    ``L = λ_max(XᵀX)/(4n) + reg``, ``μ = reg``.  The minimiser has no closed
    form; with ``reg > 0`` it is computed once by Newton's method (quadratic
    convergence, to machine precision) and stored as ``x_star``.
    """
    _checks.require_ndim("X", X, 2)
    _checks.require_ndim("y", y, 1)
    if X.shape[0] != y.shape[0]:
        raise ValueError(f"X has {X.shape[0]} rows but y has {y.shape[0]} labels")
    _checks.require_finite("X", X)
    if _checks.is_concrete(y) and not np.all(np.isin(np.asarray(y), [-1, 1])):
        raise ValueError("y must contain only labels -1 and +1")
    _checks.require_nonnegative("reg", reg)
    X = jnp.asarray(X)
    y = jnp.asarray(y, dtype=X.dtype)
    n, d = X.shape
    L = float(np.linalg.eigvalsh(np.asarray(X.T @ X, dtype=np.float64))[-1] / (4 * n) + reg)

    def value(x):
        return jnp.mean(jnp.logaddexp(0.0, -y * (X @ x))) + 0.5 * reg * x @ x

    def sample_value(x, idx):
        return jnp.mean(jnp.logaddexp(0.0, -y[idx] * (X[idx] @ x))) + 0.5 * reg * x @ x

    x_star = f_star = None
    if reg > 0:
        hess = jax.hessian(value)
        grad = jax.grad(value)
        x = jnp.zeros(d, dtype=X.dtype)
        for _ in range(50):
            step = jnp.linalg.solve(hess(x), grad(x))
            x = x - step
            if float(jnp.linalg.norm(step)) < 1e-14 * (1 + float(jnp.linalg.norm(x))):
                break
        x_star, f_star = x, float(value(x))

    return Problem(
        name=f"logistic_regression(n={n}, d={d})",
        value=value,
        dim=d,
        L=L,
        mu=float(reg),
        x_star=x_star,
        f_star=f_star,
        x0=jnp.zeros(d, dtype=X.dtype),
        n_samples=n,
        sample_value=sample_value,
    )


def rosenbrock(a: float = 1.0, b: float = 100.0) -> Problem:
    """``f(x, y) = (a − x)² + b (y − x²)²``: non-convex, minimiser ``(a, a²)``, ``f* = 0``.

    It is not globally smooth (``L = None``); near the minimiser the Hessian's
    largest eigenvalue is about ``2b(1 + 4a²)``.
    """
    _checks.require_positive("b", b)

    def value(z):
        return (a - z[0]) ** 2 + b * (z[1] - z[0] ** 2) ** 2

    return Problem(
        name=f"rosenbrock(a={a:g}, b={b:g})",
        value=value,
        dim=2,
        L=None,
        mu=None,
        x_star=jnp.array([a, a * a]),
        f_star=0.0,
        x0=jnp.array([-1.2, 1.0]),
    )


def abs_1d(scale: float = 1.0) -> Problem:
    """``f(x) = scale·|x|`` on ``R``: convex, Lipschitz (constant ``scale``), not smooth.

    The minimiser is ``0``.  Gradient descent with a constant step oscillates
    around it; decaying or Polyak steps converge.
    """
    _checks.require_positive("scale", scale)

    def value(x):
        return scale * jnp.abs(x[0])

    return Problem(
        name=f"abs_1d(scale={scale:g})",
        value=value,
        dim=1,
        L=None,
        mu=0.0,
        x_star=jnp.zeros(1),
        f_star=0.0,
        x0=jnp.ones(1),
    )


def worst_case_quadratic(dim: int = 200, L: float = 1.0) -> Problem:
    """Nesterov's worst function for first-order methods (Nesterov 2018, §2.1.2).

    ``f(x) = (L/8) [x₁² + Σ_{i<d} (x_i − x_{i+1})² + x_d²] − (L/4) x₁``: convex,
    ``L``-smooth, not strongly convex as ``d → ∞`` (``μ ≈ L π² / (4 (d+1)²)``).
    The minimiser is the ramp ``x*_i = 1 − i/(d+1)`` with
    ``f* = (L/8)(−1 + 1/(d+1))``.
    """
    _checks.require_int("dim", dim, minimum=2)
    _checks.require_positive("L", L)
    i = jnp.arange(1, dim + 1)
    x_star = 1.0 - i / (dim + 1.0)

    def value(x):
        quad = x[0] ** 2 + jnp.sum((x[:-1] - x[1:]) ** 2) + x[-1] ** 2
        return L / 8.0 * quad - L / 4.0 * x[0]

    lam = L / 2.0 * (1.0 - np.cos(np.arange(1, dim + 1) * np.pi / (dim + 1)))
    return Problem(
        name=f"worst_case_quadratic(d={dim})",
        value=value,
        dim=dim,
        L=float(L),
        mu=float(lam.min()),
        x_star=x_star,
        f_star=float(L / 8.0 * (-1.0 + 1.0 / (dim + 1.0))),
        x0=jnp.zeros(dim),
    )


def pl_sine(dim: int = 1) -> Problem:
    """``f(x) = Σ_i x_i² + 3 sin²(x_i)``: non-convex but Polyak–Łojasiewicz.

    The example of Karimi, Nutini and Schmidt (2016): ``f* = 0`` at ``x* = 0``,
    ``L = 8`` (``f'' = 2 + 6 cos 2x ∈ [−4, 8]``) and the PL inequality
    ``½‖∇f(x)‖² ≥ μ (f(x) − f*)`` holds with ``μ = 1/32``.
    """
    _checks.require_int("dim", dim, minimum=1)

    def value(x):
        return jnp.sum(x**2 + 3.0 * jnp.sin(x) ** 2)

    return Problem(
        name=f"pl_sine(d={dim})",
        value=value,
        dim=dim,
        L=8.0,
        mu=None,
        x_star=jnp.zeros(dim),
        f_star=0.0,
        x0=jnp.full(dim, 3.0),
    )
