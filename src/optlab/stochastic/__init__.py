r"""Stochastic and variance-reduced methods for finite sums (Chapter 3).

Notation of the chapter: ``f(x) = (1/n) Σ_i f_i(x)``, step ``η``
(``learning_rate``), mini-batch ``B`` of size ``b``, gradient estimate ``v_k``.

Two kinds of routine live here.

*Per-step transformations*, optax-compatible (they chain with any optax
transformation and run in :func:`optlab.runner.run` or :func:`run_finite_sum`):

- :func:`clip` / :func:`clipped_sgd`: ``x ← x − η clip_c(g)``,
  ``clip_c(g) = min(1, c/‖g‖) g`` (Koloskova et al., 2023);
- schedules :func:`linear_decay`, :func:`inverse_time` and
  :func:`refined_schedule` (Defazio et al., 2023), plain callables
  ``k ↦ η_k`` usable by optax and by :func:`optlab.first_order.gd`.

*Finite-sum methods*, pure functions that run inside ``lax.scan`` with an
explicit PRNG key and return a :class:`StochasticTrace` (iterates, exact
``f`` values and gradient norms, and the cumulative number of component
gradients ``∇f_i`` evaluated, so plots can use passes over the data on the
x-axis):

- :func:`run_finite_sum`: any optax transformation fed mini-batch gradients,
  with indices drawn with replacement, by random reshuffling, a single
  shuffle, or cyclically (:func:`sample_indices`);
- :func:`svrg` (Johnson & Zhang, 2013), :func:`sarah` (Nguyen et al., 2017),
  :func:`ai_sarah` (Shi et al., 2023);
- :func:`run_additive_noise`: ``g = ∇f(x) + ξ`` with ``ξ`` from
  :func:`gaussian_noise`, :func:`student_t_noise`, :func:`pareto_noise` (heavy tails) or
  :func:`discrete_noise` (skewed), for the clipping-bias experiments.

:func:`sgd_noise_floor` gives the exact stationary ``E[f(x) − f*]`` of
constant-step SGD on a quadratic finite sum; :func:`over_seeds` runs any of
the above for a batch of keys in one compiled call.

Compilation: every run goes through a module-level ``jax.jit`` whose static
arguments are the optimizer, the problem's functions (not its data: the built-in
problems carry their data as ``jax.tree_util.Partial`` leaves), the noise model and
the loop's sizes; ``x0``, the key, the data and numeric step sizes are traced.  A
second call with new data of the same shape does not trace or compile again.

One module per topic, every public name re-exported here:

- :mod:`~optlab.stochastic.results`: the run record and the vocabulary (schedules, sampling
  schemes);
- :mod:`~optlab.stochastic.sampling`: index sampling;
- :mod:`~optlab.stochastic.clipping`: clipping and schedules;
- :mod:`~optlab.stochastic.sgd`: SGD on finite sums and runs over seeds;
- :mod:`~optlab.stochastic.variance_reduction`: SVRG, SARAH, AI-SARAH;
- :mod:`~optlab.stochastic.noise_models`: additive-noise oracles and their runs;
- :mod:`~optlab.stochastic.noise_floor`: the exact noise floor of constant-step SGD.
"""

from __future__ import annotations

from .clipping import (
    clip,
    clip_by_norm,
    clipped_sgd,
    inverse_time,
    linear_decay,
    refined_schedule,
    refined_weights,
)
from .noise_floor import (
    NoiseFloor,
    sgd_noise_floor,
)
from .noise_models import (
    discrete_noise,
    gaussian_noise,
    pareto_noise,
    run_additive_noise,
    student_t_noise,
)
from .results import (
    SAMPLING_SCHEMES,
    StochasticTrace,
)
from .sampling import (
    sample_indices,
)
from .sgd import (
    over_seeds,
    run_finite_sum,
)
from .variance_reduction import (
    ai_sarah,
    ai_sarah_step,
    sarah,
    svrg,
    svrg_estimator,
)

__all__ = [
    "StochasticTrace",
    "NoiseFloor",
    "SAMPLING_SCHEMES",
    "sample_indices",
    "clip_by_norm",
    "clip",
    "clipped_sgd",
    "linear_decay",
    "inverse_time",
    "refined_weights",
    "refined_schedule",
    "run_finite_sum",
    "svrg_estimator",
    "svrg",
    "sarah",
    "ai_sarah",
    "ai_sarah_step",
    "gaussian_noise",
    "student_t_noise",
    "pareto_noise",
    "discrete_noise",
    "run_additive_noise",
    "sgd_noise_floor",
    "over_seeds",
]
