r"""Loss landscapes and implicit bias (chapter 13): neural collapse in the unconstrained
feature model, over-parameterised matrix sensing, Hessian spectra and the edge of stability,
and the max-margin bias of attention.

One module per topic, every public name re-exported here:

- :mod:`~optlab.landscape.neural_collapse`: the simplex ETF, class means, the NC1–NC4
  metrics, the unconstrained feature model's loss, its training and its bias-free optimum;
- :mod:`~optlab.landscape.matrix_sensing`: low-rank targets, the sensing loss
  ``¼‖XXᵀ − M*‖²_F`` and gradient descent on it;
- :mod:`~optlab.landscape.rates`: log-log slopes and linear rates fitted to an error curve;
- :mod:`~optlab.landscape.sharpness`: small MLPs, dense Hessians and their spectra, the top
  eigenvalue by power iteration, gradient descent that tracks its sharpness;
- :mod:`~optlab.landscape.attention`: one-layer attention with a trainable query, its loss,
  token scores, the optimal tokens, the attention SVM and gradient descent.

References: Papyan, Han & Donoho (2020) "Prevalence of neural collapse during the terminal
phase of deep learning training"; Dang et al. (2023) "Neural collapse in deep linear networks:
from balanced to imbalanced data"; Tirer, Huang & Niles-Weed (2023) "Perturbation analysis of
neural collapse"; Xiong, Ding & Du (2023) "How over-parameterization slows down gradient
descent in matrix sensing"; Tarzanagh, Li, Thrampoulidis & Oymak (2023) "Transformers as
support vector machines".
"""

from __future__ import annotations

from .attention import (
    AttentionGDOutput,
    attention_gd,
    attention_loss,
    attention_output,
    attention_svm,
    optimal_tokens,
    token_scores,
)
from .matrix_sensing import (
    SensingOutput,
    low_rank_psd,
    sensing_gd,
    sensing_loss,
)
from .neural_collapse import (
    BiasFreeOptimum,
    NCMetrics,
    UFMOutput,
    UFMParams,
    class_means,
    classifier_mean_cosines,
    etf_gram,
    max_offdiag_cosine,
    nc_metrics,
    simplex_etf,
    train_ufm,
    ufm_bias_free_optimum,
    ufm_loss,
)
from .rates import (
    log_linear_rate,
    loglog_slope,
)
from .sharpness import (
    EoSOutput,
    gd_with_sharpness,
    hessian_matrix,
    hessian_spectrum,
    mlp_batch_apply,
    mlp_init,
    top_eigenvalue,
)

__all__ = [
    "etf_gram",
    "simplex_etf",
    "class_means",
    "NCMetrics",
    "nc_metrics",
    "max_offdiag_cosine",
    "classifier_mean_cosines",
    "UFMParams",
    "UFMOutput",
    "ufm_loss",
    "train_ufm",
    "BiasFreeOptimum",
    "ufm_bias_free_optimum",
    "low_rank_psd",
    "sensing_loss",
    "SensingOutput",
    "sensing_gd",
    "loglog_slope",
    "log_linear_rate",
    "mlp_init",
    "mlp_batch_apply",
    "hessian_matrix",
    "hessian_spectrum",
    "top_eigenvalue",
    "EoSOutput",
    "gd_with_sharpness",
    "attention_output",
    "attention_loss",
    "token_scores",
    "optimal_tokens",
    "attention_svm",
    "AttentionGDOutput",
    "attention_gd",
]
