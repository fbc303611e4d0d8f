r"""Optimal transport: geometries, entropic OT (Sinkhorn, Sinkhorn-Newton-Sparse),
exact OT, sparsity-constrained OT and doubly stochastic attention.

The split follows OTT-JAX: a *geometry* holds the cost (explicit matrix
:class:`Geometry`, or :class:`PointCloud` computing ``c(x_i, y_j) = ‖x_i − y_j‖^p``
on demand), a *problem* is ``(geometry, a, b)`` and a *solver* returns a small
``NamedTuple`` of diagnostics.

Notation (chapter 6). Marginals ``a ∈ ℝⁿ₊``, ``b ∈ ℝᵐ₊`` of equal mass, cost
``C ∈ ℝⁿˣᵐ``, regularisation ``ε > 0``.  Entropic OT

    OT_ε(a, b) = min_{P ≥ 0, P1 = a, Pᵀ1 = b} ⟨C, P⟩ + ε KL(P ‖ a⊗b),

whose dual (the concave *Lyapunov potential* of Tang et al. 2024) is

    L(f, g) = ⟨f, a⟩ + ⟨g, b⟩ − ε Σ_ij exp((f_i + g_j − C_ij)/ε) + const.

In the potentials convention used here the plan is
``P_ij = exp((f_i + g_j − C_ij)/ε)`` (no ``a_i b_j`` factor), which is exactly
the plan of POT's ``ot.sinkhorn`` (entropy ``Σ P log P``) and of OTT-JAX.

References: Cuturi (2013); Peyré & Cuturi (2019); Tang, Shavlovsky, Rahmanian,
Tardini, Thekumparampil, Xiao, Ying (2024) "Accelerating Sinkhorn algorithm with
sparse Newton iterations"; Liu, Puigcerver, Blondel (2023) "Sparsity-constrained
optimal transport"; Sander, Ablin, Blondel, Peyré (2022) "Sinkformers";
Pooladian & Niles-Weed (2021) "Entropic estimation of optimal transport maps";
Asano, Rupprecht, Vedaldi (2020) "Self-labelling via simultaneous clustering and
representation learning"; Peña, Medeiros, Dubail, Aminbeidokhti, Granger, Pedersoli
(2023) "Re-basin via implicit Sinkhorn differentiation".

One module per topic, every public name re-exported here:

- :mod:`~optlab.ot.geometry`: :class:`Geometry` and :class:`PointCloud`;
- :mod:`~optlab.ot.marginals`: marginal checks, the plan of a pair of potentials, its marginal error;
- :mod:`~optlab.ot.entropic`: Sinkhorn (log domain) and the naive (scaling) iteration;
- :mod:`~optlab.ot.newton_sparse`: Sinkhorn-Newton-Sparse;
- :mod:`~optlab.ot.exact`: exact OT as a linear program;
- :mod:`~optlab.ot.sparse`: sparsity-constrained OT and the sparse simplex projection;
- :mod:`~optlab.ot.attention`: Sinkformer (doubly stochastic) attention;
- :mod:`~optlab.ot.maps`: the entropic map estimator;
- :mod:`~optlab.ot.labelling`: equipartition self-labelling;
- :mod:`~optlab.ot.permutations`: soft permutations for re-basin.
"""

from __future__ import annotations

from .attention import (
    sinkhorn_attention,
)
from .entropic import (
    SinkhornOutput,
    sinkhorn,
    sinkhorn_naive,
)
from .exact import _NOT_A_RUN as _NOT_A_RUN
from .exact import (
    EMDOutput,
    emd,
)
from .geometry import (
    Geometry,
    PointCloud,
)
from .labelling import (
    equipartition_labels,
)
from .maps import (
    entropic_map,
)
from .marginals import (
    check_marginals,
    marginal_error,
    plan_from_potentials,
)
from .newton_sparse import (
    SNS_STATUS,
    SNSOutput,
    sinkhorn_newton_sparse,
)
from .permutations import (
    soft_permutation,
)
from .sparse import (
    SparseOTOutput,
    sparse_ot,
    sparse_simplex_projection,
)

__all__ = [
    "Geometry",
    "PointCloud",
    "SinkhornOutput",
    "SNSOutput",
    "EMDOutput",
    "SparseOTOutput",
    "SNS_STATUS",
    "sinkhorn",
    "sinkhorn_naive",
    "sinkhorn_newton_sparse",
    "emd",
    "sparse_ot",
    "sparse_simplex_projection",
    "sinkhorn_attention",
    "entropic_map",
    "equipartition_labels",
    "soft_permutation",
    "plan_from_potentials",
    "marginal_error",
    "check_marginals",
]
