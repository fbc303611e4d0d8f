"""Shared pieces of :mod:`optlab.lipschitz`: the :class:`Bound` type, full-precision products
and the argument checks (private to the subpackage)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from .._checks import (
    as_float_array,
    is_concrete,
    require_positive,
)
from .._types import Array

#: An MLP: a non-empty sequence of ``(W, b)`` pairs, ``W`` of shape ``(out, in)``.
Params = Sequence[tuple[ArrayLike, ArrayLike]]


ACTIVATIONS: dict[str, Callable] = {"relu": jax.nn.relu, "tanh": jnp.tanh}
KINDS = ("LOWER", "UPPER", "EXACT")
_HI = jax.lax.Precision.HIGHEST


def _mm(a: Array, b: Array) -> Array:
    """``a @ b`` at full float32 precision (no TF32 on GPUs)."""
    return jnp.matmul(a, b, precision=_HI)


def _safe(x: Array) -> Array:
    """``x`` where positive, else 1: a divisor that leaves zero numerators at zero."""
    return jnp.where(x > 0, x, jnp.ones_like(x))


def _fro(W: Array) -> Array:
    """‖W‖_F computed as m·‖W/m‖_F with m = max|W|, so float32 entries up to 1e38 do not
    overflow the sum of squares (m is a constant for differentiation: the result is
    invariant in it)."""
    m = jax.lax.stop_gradient(jnp.max(jnp.abs(W)))
    m = _safe(m)
    return m * jnp.linalg.norm(W / m)


def _value(v: Array) -> float | Array:
    """A Python float when ``v`` is concrete, the traced value otherwise."""
    return float(v) if is_concrete(v) else v


class Bound(NamedTuple):
    """A number with its meaning: a bound on the Lipschitz constant of a network.

    Attributes:
      value: the number, a Python float, or a traced scalar when the bound was computed
        inside ``jit``/``grad``.
      kind: ``LOWER``, ``UPPER`` or ``EXACT``.
      norm: ``"l2"`` or ``"linf"``.
      scope: ``"global"`` or ``"local box ..."``.
      method: the method that computed it.
      seconds: the time it took (0 when not measured).
    """

    value: float | Array
    kind: str
    norm: str
    scope: str
    method: str
    seconds: float = 0.0

    def __str__(self) -> str:  # pragma: no cover - cosmetic
        return f"{self.kind:5s} {self.value:.6g}  [{self.norm}, {self.scope}] {self.method}"


# ---------------------------------------------------------------------------
# validation helpers
# ---------------------------------------------------------------------------


def _check_matrix(name: str, W: Any) -> Array:
    """``W`` as a finite, non-empty 2-D float array."""
    W = as_float_array(name, W, ndim=2)
    if 0 in W.shape:
        raise ValueError(f"{name} must be a non-empty matrix, got shape {tuple(W.shape)}")
    return W


def _check_norm(norm: Any) -> None:
    if not isinstance(norm, str) or norm not in ("l2", "linf"):
        raise ValueError(f"norm must be 'l2' or 'linf', got {norm!r}")


def _check_activation(activation: Any) -> None:
    if not isinstance(activation, str) or activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")


def _check_positive_scalar(name: str, value: Any) -> Array:
    """A positive finite scalar (checked when concrete), as a float array."""
    value = as_float_array(name, value, ndim=0)
    require_positive(name, value)
    return value


def _check_params(params: Any, name: str = "params") -> list[tuple[Array, Array]]:
    """An MLP as a list of ``(W, b)`` float pairs whose shapes chain; tracer-safe."""
    if not isinstance(params, (list, tuple)):
        raise TypeError(f"{name} must be a non-empty list of (W, b) pairs, got {type(params).__name__}")
    if len(params) == 0:
        raise ValueError(f"{name} must be a non-empty list of (W, b) pairs, got an empty list")
    out = []
    prev = None
    for i, layer in enumerate(params):
        if not isinstance(layer, (list, tuple)) or len(layer) != 2:
            raise ValueError(f"{name}[{i}] must be a pair (W, b), got {type(layer).__name__}")
        W = _check_matrix(f"{name}[{i}][0] (W)", layer[0])
        b = as_float_array(f"{name}[{i}][1] (b)", layer[1], ndim=1)
        if b.shape[0] != W.shape[0]:
            raise ValueError(f"{name}[{i}]: b has length {b.shape[0]} but W has {W.shape[0]} rows")
        if prev is not None and W.shape[1] != prev:
            raise ValueError(
                f"{name}[{i}]: W has {W.shape[1]} columns but the previous layer has {prev} outputs"
            )
        prev = W.shape[0]
        out.append((W, b))
    return out


def _check_points(name: str, x: Any, n_in: int, *, ndim: int = 2, nonempty: bool = False) -> Array:
    """Input point(s) of an MLP with ``n_in`` inputs: ``(n_in,)`` or ``(N, n_in)``."""
    x = as_float_array(name, x, ndim=ndim)
    if x.shape[-1] != n_in:
        want = f"(N, {n_in})" if ndim == 2 else f"({n_in},)"
        raise ValueError(
            f"{name} must have shape {want} (the network has {n_in} inputs), got {tuple(x.shape)}"
        )
    if nonempty and x.shape[0] == 0:
        raise ValueError(f"{name} must hold at least one point, got shape {tuple(x.shape)}")
    return x


def _require_concrete(name: str, x: Any, why: str) -> None:
    if not is_concrete(x):
        raise TypeError(f"{name} must be concrete (not traced by jit/vmap/grad): {why}")
