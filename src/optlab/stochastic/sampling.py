"""Index sampling over a finite sum: with replacement, reshuffling every epoch, a single shuffle and
cyclic order (chapter 3)."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from .. import _checks
from .._types import Array, Int, PRNGKeyArray
from ._common import _check_batch, _check_sampling, _require_key

# ----------------------------------------------------------------------------
# sampling
# ----------------------------------------------------------------------------


def sample_indices(
    n: int,
    *,
    num_steps: int,
    key: PRNGKeyArray | None = None,
    batch_size: int = 1,
    sampling: str = "replacement",
) -> Int[Array, "num_steps batch_size"]:
    """Component indices for ``num_steps`` mini-batch steps, shape ``(num_steps, batch_size)``.

    - ``"replacement"``: every index i.i.d. uniform on ``{0, …, n−1}``;
    - ``"reshuffle"`` (random reshuffling): a fresh uniform permutation per
      epoch of ``n / b`` steps, so every index is used exactly once per epoch;
    - ``"single_shuffle"``: one permutation, reused every epoch;
    - ``"cyclic"``: the order ``0, 1, …, n−1`` every epoch.

    Args:
      n: the number of components ``f_i``, ``>= 1``.
      num_steps: number of steps, ``>= 1`` (keyword-only).
      key: a JAX PRNG key (required; an integer seed is refused).
      batch_size: ``b``, ``1 <= b <= n``; must divide ``n`` unless ``sampling="replacement"``.
      sampling: one of :data:`SAMPLING_SCHEMES`.

    Returns:
      Integer indices, shape ``(num_steps, batch_size)``.

    Raises:
      TypeError: ``key`` not a PRNG key, non-integer sizes.
      ValueError: missing key, sizes out of range, an unknown ``sampling`` or a ``batch_size``
        that does not divide ``n`` for the shuffling schemes.
    """
    _require_key(key, "sample_indices")
    _checks.require_int("n", n, minimum=1)
    _checks.require_int("num_steps", num_steps, minimum=1)
    _check_batch(batch_size, n)
    _check_sampling(sampling, n, batch_size)
    return _sample_indices(key, int(n), int(num_steps), int(batch_size), sampling)


@functools.partial(jax.jit, static_argnames=("n", "num_steps", "batch_size", "sampling"))
def _sample_indices(key, n, num_steps, batch_size, sampling):
    if sampling == "replacement":
        return jax.random.randint(key, (num_steps, batch_size), 0, n, dtype=jnp.int32)
    per_epoch = n // batch_size
    num_epochs = -(-num_steps // per_epoch)
    if sampling == "reshuffle":
        perms = jax.vmap(lambda k: jax.random.permutation(k, n))(jax.random.split(key, num_epochs))
    elif sampling == "single_shuffle":
        perms = jnp.tile(jax.random.permutation(key, n), (num_epochs, 1))
    else:
        perms = jnp.tile(jnp.arange(n), (num_epochs, 1))
    return perms.reshape(num_epochs * per_epoch, batch_size)[:num_steps].astype(jnp.int32)
