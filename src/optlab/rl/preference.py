r"""Preference alignment under a KL constraint: the closed-form optimum and DPO (chapter 21).

Notation (chapter 21). Contexts ``x ∈ {0..X−1}`` (uniform), responses ``y ∈ {0..Y−1}``, a
reference policy ``π_ref`` and a reward ``r``, both ``X × Y``, a KL weight ``β > 0``.

* The KL-regularised objective ``J_β(π) = E_x[E_{y∼π(·|x)} r(x, y) − β KL(π(·|x) ‖ π_ref(·|x))]``
  is maximised by ``π*(y|x) ∝ π_ref(y|x) exp(r(x, y)/β)`` (the Gibbs variational principle),
  with value ``β E_x log Σ_y π_ref(y|x) exp(r(x, y)/β)``.
* Bradley–Terry preferences: ``Pr(y ≻ y' | x) = σ(r(x, y) − r(x, y'))``.
* DPO (Rafailov et al. 2023) fits ``π`` to preference pairs ``(x, y_w, y_l)`` by
  ``−E log σ(β [h(x, y_w) − h(x, y_l)])`` with the log-ratio ``h = log π − log π_ref``: the
  reward implied by ``π`` is ``β h`` up to a function of ``x``.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .._checks import (
    as_float_array,
    is_concrete,
    require_int,
    require_key,
    require_nonnegative,
    require_positive,
    require_shape,
)
from .._types import Array, Float, Int, PRNGKeyArray
from ._common import _as_scalar, _kl_rows

__all__ = [
    "kl_regularized_policy",
    "kl_regularized_objective",
    "Preferences",
    "sample_preferences",
    "preference_counts",
    "dpo_loss",
    "DPOOutput",
    "dpo",
    "IterativeDPOOutput",
    "iterative_dpo",
]


def _table(name: str, x, shape=None) -> jax.Array:
    arr = as_float_array(name, x, ndim=2)
    if 0 in arr.shape:
        raise ValueError(f"{name} must have shape (X, Y) with X, Y >= 1, got {tuple(arr.shape)}")
    if shape is not None:
        require_shape(name, arr, shape)
    return arr


def _policy_table(name: str, pi, shape=None) -> jax.Array:
    pi = _table(name, pi, shape)
    if is_concrete(pi):
        arr = np.asarray(pi, np.float64)
        if np.any(arr <= 0):
            raise ValueError(
                f"{name} must have positive entries (a log-ratio is taken), got a minimum of {arr.min()!r}"
            )
        sums = arr.sum(axis=1)
        tol = max(1e-6, 4.0 * float(jnp.finfo(pi.dtype).eps) * arr.shape[1])
        if np.any(np.abs(sums - 1.0) > tol):
            i = int(np.argmax(np.abs(sums - 1.0)))
            raise ValueError(f"each row of {name} must sum to 1; row {i} sums to {sums[i]:.6g}")
    return pi


def _beta(beta) -> jax.Array:
    b = _as_scalar("beta", beta)
    require_positive("beta", b)
    return b


@jax.jit
def _gibbs(reward, ref_policy, beta):
    # region: rl-kl-optimum
    logits = jnp.log(ref_policy) + reward / beta
    return jax.nn.softmax(logits, axis=1)
    # endregion: rl-kl-optimum


def kl_regularized_policy(
    reward: Float[Array, "X Y"], ref_policy: Float[Array, "X Y"], beta: float | Float[Array, ""]
) -> Float[Array, "X Y"]:
    """The maximiser ``π*(y|x) ∝ π_ref(y|x) exp(r(x, y)/β)`` of the KL-regularised objective
    ``E_{y∼π} r − β KL(π ‖ π_ref)``, computed in log space (a softmax of ``log π_ref + r/β``).

    Args:
      reward: ``r``, shape ``(X, Y)``, finite.
      ref_policy: ``π_ref``, shape ``(X, Y)``, positive rows summing to 1.
      beta: the KL weight ``β > 0``.

    Returns:
      ``π*``, shape ``(X, Y)``.

    Raises:
      TypeError: non-numeric arguments.
      ValueError: wrong shapes, a non-positive entry or a row of ``ref_policy`` not summing
        to 1, a non-positive ``beta``.
    """
    reward = _table("reward", reward)
    ref_policy = _policy_table("ref_policy", ref_policy, reward.shape)
    beta = _beta(beta)
    dt = jnp.result_type(reward, ref_policy)
    return _gibbs(reward.astype(dt), ref_policy.astype(dt), beta.astype(dt))


@jax.jit
def _objective(policy, reward, ref_policy, beta):
    return jnp.sum(policy * reward, axis=1) - beta * _kl_rows(policy, ref_policy)


def kl_regularized_objective(
    policy: Float[Array, "X Y"],
    reward: Float[Array, "X Y"],
    ref_policy: Float[Array, "X Y"],
    beta: float | Float[Array, ""],
) -> Float[Array, " X"]:
    """``J_β(π)(x) = Σ_y π(y|x) r(x, y) − β KL(π(·|x) ‖ π_ref(·|x))``, one value per context.

    Args:
      policy: ``π``, shape ``(X, Y)``, non-negative rows summing to 1 (zeros allowed).
      reward: ``r``, shape ``(X, Y)``.
      ref_policy: ``π_ref``, shape ``(X, Y)``, positive rows summing to 1.
      beta: the KL weight ``β > 0``.

    Returns:
      ``J_β(π)(x)``, shape ``(X,)``.

    Raises:
      TypeError: non-numeric arguments.
      ValueError: wrong shapes, rows not on the simplex, a non-positive ``beta``.
    """
    reward = _table("reward", reward)
    ref_policy = _policy_table("ref_policy", ref_policy, reward.shape)
    policy = _table("policy", policy, reward.shape)
    if is_concrete(policy):
        arr = np.asarray(policy, np.float64)
        if np.any(arr < 0) or np.any(np.abs(arr.sum(axis=1) - 1.0) > 1e-4):
            raise ValueError("policy must have non-negative rows summing to 1")
    beta = _beta(beta)
    dt = jnp.result_type(policy, reward, ref_policy)
    return _objective(policy.astype(dt), reward.astype(dt), ref_policy.astype(dt), beta.astype(dt))


class Preferences(NamedTuple):
    """Preference pairs: in context ``x[i]`` the response ``y_w[i]`` was preferred to ``y_l[i]``.

    Attributes:
      x: contexts, shape ``(N,)`` (integers).
      y_w: preferred responses, shape ``(N,)`` (integers).
      y_l: dispreferred responses, shape ``(N,)`` (integers).
    """

    x: Int[Array, " N"]
    y_w: Int[Array, " N"]
    y_l: Int[Array, " N"]


@functools.partial(jax.jit, static_argnames=("num_pairs",))
def _sample(key, reward, ref_policy, num_pairs):
    X, _ = reward.shape
    kx, k1, k2, kb = jax.random.split(key, 4)
    x = jax.random.randint(kx, (num_pairs,), 0, X)
    logp = jnp.log(ref_policy[x])
    y1 = jax.random.categorical(k1, logp)
    y2 = jax.random.categorical(k2, logp)
    first_wins = jax.random.uniform(kb, (num_pairs,)) < jax.nn.sigmoid(reward[x, y1] - reward[x, y2])
    return Preferences(x, jnp.where(first_wins, y1, y2), jnp.where(first_wins, y2, y1))


def sample_preferences(
    reward: Float[Array, "X Y"], ref_policy: Float[Array, "X Y"], *, key: PRNGKeyArray, num_pairs: int
) -> Preferences:
    """Synthetic preference data: ``x`` uniform, two responses drawn independently from
    ``π_ref(·|x)``, labelled by the Bradley–Terry model ``Pr(y ≻ y') = σ(r(x, y) − r(x, y'))``.

    Args:
      reward: the true reward ``r``, shape ``(X, Y)``.
      ref_policy: ``π_ref``, shape ``(X, Y)``, positive rows summing to 1.
      key: a JAX PRNG key.
      num_pairs: ``N ≥ 1`` (static).

    Returns:
      :class:`Preferences` with ``N`` pairs.

    Raises:
      TypeError: non-numeric arrays, an integer seed for ``key``, a non-integer ``num_pairs``.
      ValueError: wrong shapes, ``ref_policy`` not stochastic, ``num_pairs < 1``.
    """
    reward = _table("reward", reward)
    ref_policy = _policy_table("ref_policy", ref_policy, reward.shape)
    require_key("key", key)
    require_int("num_pairs", num_pairs, minimum=1)
    return _sample(key, reward, ref_policy.astype(reward.dtype), num_pairs)


def preference_counts(prefs: Preferences, n_contexts: int, n_responses: int) -> Float[Array, "X Y Y"]:
    """The win counts ``W[x, y, y'] = #{i : x_i = x, y_w,i = y, y_l,i = y'}``: a sufficient
    statistic of the pairs for every loss of the form ``Σ_i ℓ(x_i, y_w,i, y_l,i)``, with a fixed
    shape whatever ``N`` (so runs over several ``N`` share one compilation).

    Args:
      prefs: :class:`Preferences`.
      n_contexts: ``X ≥ 1``.
      n_responses: ``Y ≥ 1``.

    Returns:
      ``W``, shape ``(X, Y, Y)``, in the default float dtype.

    Raises:
      TypeError: ``prefs`` not :class:`Preferences`, non-integer sizes.
      ValueError: sizes below 1, indices out of range.
    """
    if not isinstance(prefs, Preferences):
        raise TypeError(f"prefs must be optlab.rl.Preferences, got {type(prefs).__name__}")
    require_int("n_contexts", n_contexts, minimum=1)
    require_int("n_responses", n_responses, minimum=1)
    x, yw, yl = (jnp.asarray(v) for v in prefs)
    if is_concrete((x, yw, yl)):
        for name, v, hi in (
            ("prefs.x", x, n_contexts),
            ("prefs.y_w", yw, n_responses),
            ("prefs.y_l", yl, n_responses),
        ):
            if not jnp.issubdtype(v.dtype, jnp.integer):
                raise TypeError(f"{name} must hold integers, got dtype {v.dtype}")
            if v.size and (int(jnp.min(v)) < 0 or int(jnp.max(v)) >= hi):
                raise ValueError(f"{name} must lie in 0..{hi - 1}")
    dt = jnp.result_type(float)
    return jnp.zeros((n_contexts, n_responses, n_responses), dt).at[x, yw, yl].add(1.0)


@jax.jit
def _dpo_loss(logits, log_ref, counts, beta):
    # region: rl-dpo-loss
    h = jax.nn.log_softmax(logits, axis=1) - log_ref  # log π − log π_ref, in log space
    margins = beta * (h[:, :, None] - h[:, None, :])  # β(h(x, y_w) − h(x, y_l))
    return -jnp.sum(counts * jax.nn.log_sigmoid(margins)) / jnp.sum(counts)
    # endregion: rl-dpo-loss


def _counts(counts, X, Y) -> jax.Array:
    W = as_float_array("counts", counts, ndim=3)
    require_shape("counts", W, (X, Y, Y))
    require_nonnegative("counts", W)
    if is_concrete(W) and float(jnp.sum(W)) <= 0:
        raise ValueError("counts must contain at least one preference pair")
    return W


def dpo_loss(
    logits: Float[Array, "X Y"],
    ref_policy: Float[Array, "X Y"],
    counts: Float[Array, "X Y Y"],
    *,
    beta: float | Float[Array, ""],
) -> Float[Array, ""]:
    """The DPO loss of the policy ``π = softmax(logits)`` (rows) on the pairs summarised by
    ``counts``: ``−(1/N) Σ W[x, y, y'] log σ(β [h(x, y) − h(x, y')])`` with
    ``h = log π − log π_ref`` (Rafailov et al. 2023). ``log π`` is a log-softmax and
    ``log σ`` is :func:`jax.nn.log_sigmoid`, so the loss stays finite for any logits.

    Args:
      logits: the policy's logits, shape ``(X, Y)``.
      ref_policy: ``π_ref``, shape ``(X, Y)``, positive rows summing to 1.
      counts: win counts ``W`` from :func:`preference_counts`, shape ``(X, Y, Y)``, non-negative,
        not all zero.
      beta: the KL weight ``β > 0``.

    Returns:
      The mean loss per pair, a scalar.

    Raises:
      TypeError: non-numeric arguments.
      ValueError: wrong shapes, ``ref_policy`` not stochastic, negative or all-zero counts,
        a non-positive ``beta``.
    """
    logits = _table("logits", logits)
    ref_policy = _policy_table("ref_policy", ref_policy, logits.shape)
    W = _counts(counts, *logits.shape)
    beta = _beta(beta)
    dt = jnp.result_type(logits, ref_policy)
    return _dpo_loss(logits.astype(dt), jnp.log(ref_policy.astype(dt)), W.astype(dt), beta.astype(dt))


class DPOOutput(NamedTuple):
    """Result of :func:`dpo`.

    Attributes:
      params: the final logits, shape ``(X, Y)``.
      values: the loss at every iterate, shape ``(K + 1,)``.
      grad_norms: the gradient norm at every iterate, shape ``(K + 1,)``.
    """

    params: Float[Array, "X Y"]
    values: Float[Array, " K+1"]
    grad_norms: Float[Array, " K+1"]

    def policy(self) -> Float[Array, "X Y"]:
        """``π = softmax(params)`` row by row."""
        return jax.nn.softmax(self.params, axis=-1)


def _logit_steps(objective, z0, args, step, num_steps):
    """``num_steps`` steps ``z ← z + step · ∇objective(z, *args)`` on a logit table (``step < 0``
    descends), with the objective and the gradient norm at every iterate, ``k = 0..K``.
    Shared by :func:`dpo` and :func:`optlab.rl.ppo`; called inside their compiled runs."""
    vg = jax.value_and_grad(objective)

    def body(z, _):
        v, g = vg(z, *args)
        return z + step * g, (v, jnp.sqrt(jnp.sum(g * g)))

    z, (vals, norms) = jax.lax.scan(body, z0, None, length=num_steps)
    v, g = vg(z, *args)
    return z, jnp.append(vals, v), jnp.append(norms, jnp.sqrt(jnp.sum(g * g)))


@functools.partial(jax.jit, static_argnames=("num_steps",))
def _dpo_run(logits0, log_ref, counts, beta, lr, *, num_steps):
    return DPOOutput(*_logit_steps(_dpo_loss, logits0, (log_ref, counts, beta), -lr, num_steps))


def dpo(
    counts: Float[Array, "X Y Y"],
    ref_policy: Float[Array, "X Y"],
    *,
    beta: float | Float[Array, ""],
    learning_rate: float | Float[Array, ""],
    num_steps: int,
) -> DPOOutput:
    """Direct preference optimisation of a tabular policy: gradient descent on :func:`dpo_loss`
    over the logits, started at ``log π_ref``. The loss is convex in the logits (it depends on
    them through the differences ``logits(x, y) − logits(x, y')``, inside ``−log σ``), and
    responses never compared keep their reference log-ratio.

    Args:
      counts: win counts, shape ``(X, Y, Y)`` (:func:`preference_counts`).
      ref_policy: ``π_ref``, shape ``(X, Y)``, positive rows summing to 1.
      beta: the KL weight ``β > 0``.
      learning_rate: the constant step ``> 0``.
      num_steps: the gradient steps ``K ≥ 1`` (static).

    Returns:
      :class:`DPOOutput`; ``.policy()`` is the fitted ``π``.

    Raises:
      TypeError: non-numeric arguments, a non-integer ``num_steps``.
      ValueError: wrong shapes, ``ref_policy`` not stochastic, bad counts, a non-positive
        ``beta`` or ``learning_rate``, ``num_steps < 1``.
    """
    ref_policy = _policy_table("ref_policy", ref_policy)
    W = _counts(counts, *ref_policy.shape)
    beta = _beta(beta)
    lr = _as_scalar("learning_rate", learning_rate)
    require_positive("learning_rate", lr)
    require_int("num_steps", num_steps, minimum=1)
    dt = ref_policy.dtype
    log_ref = jnp.log(ref_policy)
    return _dpo_run(log_ref, log_ref, W.astype(dt), beta.astype(dt), lr.astype(dt), num_steps=num_steps)


class IterativeDPOOutput(NamedTuple):
    """Result of :func:`iterative_dpo`.

    Attributes:
      params: the final logits, shape ``(X, Y)``.
      iterates: the logits after each round, round ``0`` (``log π_ref``) included, shape
        ``(T + 1, X, Y)``.
      values: the KL-regularised objective ``J_β(π_t)`` (mean over contexts) after each round,
        shape ``(T + 1,)``.
      errors: the total-variation distance to ``π*``, ``E_x ½ Σ_y |π_t(y|x) − π*(y|x)|``, after
        each round, shape ``(T + 1,)``.
      counts: the win counts of all the pairs labelled, shape ``(X, Y, Y)``.
    """

    params: Float[Array, "X Y"]
    iterates: Float[Array, "T+1 X Y"]
    values: Float[Array, " T+1"]
    errors: Float[Array, " T+1"]
    counts: Float[Array, "X Y Y"]

    def policy(self) -> Float[Array, "X Y"]:
        """``π = softmax(params)`` row by row."""
        return jax.nn.softmax(self.params, axis=-1)


def _sample_from(key, reward, log_policy, num_pairs):
    """``num_pairs`` Bradley–Terry-labelled pairs, ``x`` uniform and ``y, y' ∼ π(·|x)`` i.i.d., as
    win counts; one draw of uniforms, responses by inverse CDF (a cheap compilation)."""
    X, Y = reward.shape
    u = jax.random.uniform(key, (4, num_pairs), dtype=reward.dtype)
    # region: rl-iterative-dpo-sample
    x = jnp.minimum((u[0] * X).astype(jnp.int32), X - 1)
    cdf = jnp.cumsum(jnp.exp(log_policy), axis=1)[x]  # (N, Y): the policy of this round
    y1 = jnp.minimum(jnp.sum(cdf < u[1, :, None] * cdf[:, -1:], axis=1), Y - 1)
    y2 = jnp.minimum(jnp.sum(cdf < u[2, :, None] * cdf[:, -1:], axis=1), Y - 1)
    r1, r2 = reward[x, y1], reward[x, y2]
    first_wins = u[3] < jax.nn.sigmoid(r1 - r2)  # Bradley–Terry
    yw, yl = jnp.where(first_wins, y1, y2), jnp.where(first_wins, y2, y1)
    # endregion: rl-iterative-dpo-sample
    return jnp.zeros((X, Y, Y), reward.dtype).at[x, yw, yl].add(1.0)


@functools.partial(jax.jit, static_argnames=("num_rounds", "pairs_per_round", "num_steps"))
def _iterative_dpo_run(key, reward, ref_policy, beta, lr, online, *, num_rounds, pairs_per_round, num_steps):
    log_ref = jnp.log(ref_policy)
    star = _gibbs(reward, ref_policy, beta)

    def score(z):
        pi = jax.nn.softmax(z, axis=1)
        tv = 0.5 * jnp.mean(jnp.sum(jnp.abs(pi - star), axis=1))  # total variation to π*
        return jnp.mean(_objective(pi, reward, ref_policy, beta)), tv

    # region: rl-iterative-dpo-round
    def round_(carry, k):
        z, W = carry
        sampler = jnp.where(online, jax.nn.log_softmax(z, axis=1), log_ref)  # online: π_t; offline: π_ref
        W = W + _sample_from(k, reward, sampler, pairs_per_round)  # every pair labelled so far
        z, _, _ = _logit_steps(_dpo_loss, z, (log_ref, W, beta), -lr, num_steps)  # warm start
        return (z, W), (z, *score(z))

    # endregion: rl-iterative-dpo-round

    W0 = jnp.zeros(reward.shape + reward.shape[1:], reward.dtype)
    keys = jax.random.split(key, num_rounds)
    (z, W), (zs, vals, errs) = jax.lax.scan(round_, (log_ref, W0), keys)
    v0, e0 = score(log_ref)
    return IterativeDPOOutput(
        z,
        jnp.concatenate([log_ref[None], zs]),
        jnp.append(v0, vals),
        jnp.append(e0, errs),
        W,
    )


def iterative_dpo(
    reward: Float[Array, "X Y"],
    ref_policy: Float[Array, "X Y"],
    *,
    beta: float | Float[Array, ""],
    key: PRNGKeyArray,
    num_rounds: int,
    pairs_per_round: int,
    learning_rate: float | Float[Array, ""],
    num_steps: int,
    online: bool = True,
) -> IterativeDPOOutput:
    """Iterative (online) DPO (Xiong et al. 2024): ``T`` rounds, each drawing ``n`` contexts
    uniformly and two responses ``y, y' ∼ π_t(·|x)`` from the *current* policy, labelling them by
    Bradley–Terry with the true reward ``r``, and taking ``K`` gradient steps on the DPO loss
    (:func:`dpo_loss`) of all the pairs labelled so far, from the current logits (warm start); the
    reference ``π_ref`` in the loss stays fixed and ``π_0 = π_ref``. With ``online=False`` every
    round draws its pairs from ``π_ref`` instead: offline DPO on the same number ``T n`` of
    pairs, with the same optimisation schedule.

    Args:
      reward: the true reward ``r`` of the labeller, shape ``(X, Y)``.
      ref_policy: ``π_ref``, shape ``(X, Y)``, positive rows summing to 1.
      beta: the KL weight ``β > 0``.
      key: a JAX PRNG key.
      num_rounds: the rounds ``T ≥ 1`` (static).
      pairs_per_round: the pairs ``n ≥ 1`` labelled per round (static).
      learning_rate: the constant gradient step ``> 0`` on the logits.
      num_steps: the gradient steps ``K ≥ 1`` per round (static).
      online: draw the pairs from the current policy (``True``) or from ``π_ref``; a bool or a
        boolean scalar array (traced: both settings share one compilation, and can be ``vmap``-ed).

    Returns:
      :class:`IterativeDPOOutput`, with ``J_β(π_t)`` and the total-variation distance to
      ``π* ∝ π_ref exp(r/β)`` after every round.

    Raises:
      TypeError: non-numeric arrays, an integer seed for ``key``, non-integer counts, a
        non-boolean ``online``.
      ValueError: wrong shapes, ``ref_policy`` not stochastic, a non-positive ``beta`` or
        ``learning_rate``, counts below 1.
    """
    reward = _table("reward", reward)
    ref_policy = _policy_table("ref_policy", ref_policy, reward.shape)
    beta = _beta(beta)
    require_key("key", key)
    require_int("num_rounds", num_rounds, minimum=1)
    require_int("pairs_per_round", pairs_per_round, minimum=1)
    lr = _as_scalar("learning_rate", learning_rate)
    require_positive("learning_rate", lr)
    require_int("num_steps", num_steps, minimum=1)
    is_flag = isinstance(online, (bool, np.bool_)) or (
        isinstance(online, (jax.Array, np.ndarray)) and online.dtype == jnp.bool_ and online.ndim == 0
    )
    if not is_flag:
        raise TypeError(f"online must be a bool or a boolean scalar array, got {type(online).__name__}")
    dt = jnp.result_type(reward, ref_policy)
    return _iterative_dpo_run(
        key,
        reward.astype(dt),
        ref_policy.astype(dt),
        beta.astype(dt),
        lr.astype(dt),
        jnp.asarray(online, bool),
        num_rounds=num_rounds,
        pairs_per_round=pairs_per_round,
        num_steps=num_steps,
    )
