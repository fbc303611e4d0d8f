"""Bad-input cases for optlab.ot (see README.md in this folder)."""

import jax
import numpy as np

import badinput
from optlab import ot

Bad, Coerce = badinput.Bad, badinput.Coerce

C = np.array([[0.0, 1.0], [1.0, 0.0], [0.5, 0.5]])  # 3 x 2
A = np.array([0.25, 0.25, 0.5])
B = np.array([0.5, 0.5])
X = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
Y = np.array([[0.5, 0.5], [1.0, 1.0]])
Q = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
NAN_C = np.where(C > 0.9, np.nan, C)
INF_C = np.where(C > 0.9, np.inf, C)
F = np.zeros(3)
G = np.zeros(2)


def sk(*args, **kw):
    return ot.sinkhorn(*args, **kw)


def sns(*args, **kw):
    kw.setdefault("num_steps", 3)
    return ot.sinkhorn_newton_sparse(*args, **kw)


def _plan(out):
    return out.plan()


CASES = [
    # Geometry
    Bad("ot.Geometry", "cost_matrix", lambda: ot.Geometry("C"), "string"),
    Bad("ot.Geometry", "cost_matrix", lambda: ot.Geometry(None), "None"),
    Bad("ot.Geometry", "cost_matrix", lambda: ot.Geometry(np.ones(3)), "1-D"),
    Bad("ot.Geometry", "cost_matrix", lambda: ot.Geometry(NAN_C), "NaN"),
    Bad("ot.Geometry", "cost_matrix", lambda: ot.Geometry(INF_C), "inf"),
    Bad("ot.Geometry", "cost_matrix", lambda: ot.Geometry(np.zeros((0, 2))), "empty"),
    Bad("ot.Geometry", "cost_matrix", lambda: ot.Geometry(C + 1j), "complex"),
    Bad("ot.Geometry", "cost_matrix", lambda: ot.Geometry([[0.0, 1.0], [1.0]]), "ragged"),
    Coerce("ot.Geometry", lambda: ot.Geometry([[0, 1], [1, 0], [2, 2]]).cost_matrix,
           lambda: ot.Geometry(np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 2.0]])).cost_matrix),
    # PointCloud
    Bad("ot.PointCloud", "x", lambda: ot.PointCloud("x", Y), "string x"),
    Bad("ot.PointCloud", "y", lambda: ot.PointCloud(X, None), "None y"),
    Bad("ot.PointCloud", "x", lambda: ot.PointCloud(X[:, 0], Y), "1-D x"),
    Bad("ot.PointCloud", "x", lambda: ot.PointCloud(np.where(X > 0, np.nan, X), Y), "NaN x"),
    Bad("ot.PointCloud", "y", lambda: ot.PointCloud(X, np.full((2, 2), np.inf)), "inf y"),
    Bad("ot.PointCloud", "x", lambda: ot.PointCloud(np.zeros((0, 2)), Y), "empty x"),
    Bad("ot.PointCloud", "y", lambda: ot.PointCloud(X, np.zeros((2, 3))), "dimension mismatch"),
    Bad("ot.PointCloud", "power", lambda: ot.PointCloud(X, Y, power=0.0), "zero power"),
    Bad("ot.PointCloud", "power", lambda: ot.PointCloud(X, Y, power=-1.0), "negative power"),
    Bad("ot.PointCloud", "power", lambda: ot.PointCloud(X, Y, power="2"), "string power"),
    Bad("ot.PointCloud", "power", lambda: ot.PointCloud(X, Y, power=np.nan), "NaN power"),
    Bad("ot.PointCloud", "scale", lambda: ot.PointCloud(X, Y, scale="min"), "unknown scale"),
    Bad("ot.PointCloud", "scale", lambda: ot.PointCloud(X, Y, scale=0.0), "zero scale"),
    Bad("ot.PointCloud", "scale", lambda: ot.PointCloud(X, Y, scale=None), "None scale"),
    Bad("ot.PointCloud", "batch_size", lambda: ot.PointCloud(X, Y, batch_size=0), "zero batch"),
    Bad("ot.PointCloud", "batch_size", lambda: ot.PointCloud(X, Y, batch_size=2.5), "float batch"),
    Coerce("ot.PointCloud", lambda: ot.PointCloud([[0, 0], [1, 0], [0, 1]], [[1, 1], [2, 0]]).cost_matrix,
           lambda: ot.PointCloud(np.array([[0.0, 0], [1, 0], [0, 1]]),
                                 np.array([[1.0, 1], [2, 0]])).cost_matrix),
    # check_marginals
    Bad("ot.check_marginals", "a", lambda: ot.check_marginals(ot.Geometry(C), "a", B), "string a"),
    Bad("ot.check_marginals", "a", lambda: ot.check_marginals(ot.Geometry(C), A[:2], B), "short a"),
    Bad("ot.check_marginals", "b", lambda: ot.check_marginals(ot.Geometry(C), A, B[None]), "2-D b"),
    Bad("ot.check_marginals", "a", lambda: ot.check_marginals(ot.Geometry(C), -A, B), "negative"),
    Bad("ot.check_marginals", "a", lambda: ot.check_marginals(ot.Geometry(C), 0 * A, 0 * B), "zero mass"),
    Bad("ot.check_marginals", "sum(a)", lambda: ot.check_marginals(ot.Geometry(C), 2 * A, B), "unequal mass"),
    Bad("ot.check_marginals", "b", lambda: ot.check_marginals(ot.Geometry(C), A, [np.nan, 1.0]), "NaN b"),
    Bad("ot.check_marginals", "rtol", lambda: ot.check_marginals(ot.Geometry(C), A, B, rtol=-1.0), "negative rtol"),
    Bad("ot.check_marginals", "geom", lambda: ot.check_marginals("C", A, B), "string geometry"),
    Coerce("ot.check_marginals", lambda: ot.check_marginals(C, [1, 1, 2], [2, 2]),
           lambda: ot.check_marginals(C, np.array([1.0, 1.0, 2.0]), np.array([2.0, 2.0]))),
    # sinkhorn
    Bad("ot.sinkhorn", "geom", lambda: sk(None, A, B, 0.1), "None geometry"),
    Bad("ot.sinkhorn", "geom", lambda: sk(np.ones(3), A, B, 0.1), "1-D cost"),
    Bad("ot.sinkhorn", "cost_matrix", lambda: sk(NAN_C, A, B, 0.1), "NaN cost"),
    Bad("ot.sinkhorn", "a", lambda: sk(C, A[:2], B, 0.1), "wrong shape a"),
    Bad("ot.sinkhorn", "a", lambda: sk(C, "a", B, 0.1), "string a"),
    Bad("ot.sinkhorn", "b", lambda: sk(C, A, "b", 0.1), "string b"),
    Bad("ot.sinkhorn", "eps", lambda: sk(C, A, B, 0.0), "zero eps"),
    Bad("ot.sinkhorn", "eps", lambda: sk(C, A, B, -0.1), "negative eps"),
    Bad("ot.sinkhorn", "eps", lambda: sk(C, A, B, np.nan), "NaN eps"),
    Bad("ot.sinkhorn", "eps", lambda: sk(C, A, B, "0.1"), "string eps"),
    Bad("ot.sinkhorn", "eps", lambda: sk(C, A, B, None), "None eps"),
    Bad("ot.sinkhorn", "eps", lambda: sk(C, A, B, np.array([0.1, 0.2])), "vector eps"),
    Bad("ot.sinkhorn", "tol", lambda: sk(C, A, B, 0.1, tol=0.0), "zero tol"),
    Bad("ot.sinkhorn", "tol", lambda: sk(C, A, B, 0.1, tol="1e-6"), "string tol"),
    Bad("ot.sinkhorn", "num_steps", lambda: sk(C, A, B, 0.1, num_steps=0), "zero num_steps"),
    Bad("ot.sinkhorn", "num_steps", lambda: sk(C, A, B, 0.1, num_steps=10.5), "float num_steps"),
    Bad("ot.sinkhorn", "method", lambda: sk(C, A, B, 0.1, method="plain"), "unknown method"),
    Bad("ot.sinkhorn", "method", lambda: sk(C, A, B, 0.1, method=None), "None method"),
    Bad("ot.sinkhorn", "differentiation", lambda: sk(C, A, B, 0.1, differentiation="magic"), "unknown"),
    Bad("ot.sinkhorn", "init", lambda: sk(C, A, B, 0.1, init=F), "init not a pair"),
    Bad("ot.sinkhorn", "init", lambda: sk(C, A, B, 0.1, init=(G, F)), "init shapes swapped"),
    Bad("ot.sinkhorn", "init", lambda: sk(C, A, B, 0.1, init=(F * np.nan, G)), "NaN init"),
    Bad("ot.sinkhorn", "cg_tol", lambda: sk(C, A, B, 0.1, cg_tol=-1.0), "negative cg_tol"),
    Bad("ot.sinkhorn", "cg_num_steps", lambda: sk(C, A, B, 0.1, cg_num_steps=0), "zero cg_num_steps"),
    Coerce("ot.sinkhorn", lambda: _plan(sk([[0, 1], [1, 0], [1, 1]], [1, 1, 2], [2, 2], 1)),
           lambda: _plan(sk(np.array([[0.0, 1], [1, 0], [1, 1]]), np.array([1.0, 1, 2]),
                            np.array([2.0, 2]), 1.0)), rtol=1e-4),
    # sinkhorn_naive
    Bad("ot.sinkhorn_naive", "C", lambda: ot.sinkhorn_naive("C", A, B, 0.1), "string C"),
    Bad("ot.sinkhorn_naive", "cost_matrix", lambda: ot.sinkhorn_naive(NAN_C, A, B, 0.1), "NaN C"),
    Bad("ot.sinkhorn_naive", "eps", lambda: ot.sinkhorn_naive(C, A, B, 0.0), "zero eps"),
    Bad("ot.sinkhorn_naive", "a", lambda: ot.sinkhorn_naive(C, -A, B, 0.1), "negative a"),
    Bad("ot.sinkhorn_naive", "num_steps", lambda: ot.sinkhorn_naive(C, A, B, 0.1, num_steps=0), "zero"),
    Bad("ot.sinkhorn_naive", "num_steps", lambda: ot.sinkhorn_naive(C, A, B, 0.1, num_steps="5"), "string"),
    Coerce("ot.sinkhorn_naive", lambda: ot.sinkhorn_naive([[0, 1], [1, 0], [1, 1]], [1, 1, 2], [2, 2], 1, num_steps=20),
           lambda: ot.sinkhorn_naive(np.array([[0.0, 1], [1, 0], [1, 1]]), np.array([1.0, 1, 2]),
                                     np.array([2.0, 2]), 1.0, num_steps=20), rtol=1e-4),
    # sinkhorn_newton_sparse
    Bad("ot.sinkhorn_newton_sparse", "a", lambda: sns(C.T, A, B, 0.1), "transposed cost"),
    Bad("ot.sinkhorn_newton_sparse", "eps", lambda: sns(C, A, B, -1.0), "negative eps"),
    Bad("ot.sinkhorn_newton_sparse", "eps", lambda: sns(C, A, B, "x"), "string eps"),
    Bad("ot.sinkhorn_newton_sparse", "a", lambda: sns(C, [0.2, np.inf, 0.3], B, 0.1), "inf a"),
    Bad("ot.sinkhorn_newton_sparse", "threshold", lambda: sns(C, A, B, 0.1, threshold=1.5), "threshold > 1"),
    Bad("ot.sinkhorn_newton_sparse", "threshold", lambda: sns(C, A, B, 0.1, threshold=-0.1), "negative"),
    Bad("ot.sinkhorn_newton_sparse", "threshold", lambda: sns(C, A, B, 0.1, threshold=None), "None"),
    Bad("ot.sinkhorn_newton_sparse", "warmup", lambda: sns(C, A, B, 0.1, warmup=-1), "negative warmup"),
    Bad("ot.sinkhorn_newton_sparse", "num_steps", lambda: sns(C, A, B, 0.1, num_steps=0), "zero"),
    Bad("ot.sinkhorn_newton_sparse", "tol", lambda: sns(C, A, B, 0.1, tol=-1e-9), "negative tol"),
    Bad("ot.sinkhorn_newton_sparse", "cg_tol", lambda: sns(C, A, B, 0.1, cg_tol=0.0), "zero cg_tol"),
    Bad("ot.sinkhorn_newton_sparse", "cg_num_steps", lambda: sns(C, A, B, 0.1, cg_num_steps=1.5), "float"),
    Bad("ot.sinkhorn_newton_sparse", "max_backtracks", lambda: sns(C, A, B, 0.1, max_backtracks=0), "zero"),
    Coerce("ot.sinkhorn_newton_sparse",
           lambda: _plan(sns([[0, 1], [1, 0], [1, 1]], [1, 1, 2], [2, 2], 1, tol=1e-4)),
           lambda: _plan(sns(np.array([[0.0, 1], [1, 0], [1, 1]]), np.array([1.0, 1, 2]),
                             np.array([2.0, 2]), 1.0, tol=1e-4)), rtol=1e-4),
    # emd
    Bad("ot.emd", "C", lambda: ot.emd("C", A, B), "string C"),
    Bad("ot.emd", "C", lambda: ot.emd(None, A, B), "None C"),
    Bad("ot.emd", "cost_matrix", lambda: ot.emd(INF_C, A, B), "inf C"),
    Bad("ot.emd", "b", lambda: ot.emd(C, A, -B), "negative b"),
    Bad("ot.emd", "sum(a)", lambda: ot.emd(C, A, 3 * B), "unequal mass"),
    Bad("ot.emd", "a", lambda: ot.emd(C, B, A), "swapped marginals"),
    Bad("ot.emd", "C", lambda: jax.jit(lambda c: ot.emd(c, A, B).cost)(C), "traced C"),
    Coerce("ot.emd", lambda: ot.emd([[0, 1], [1, 0], [1, 1]], [1, 1, 2], [2, 2]).plan(),
           lambda: ot.emd(np.array([[0.0, 1], [1, 0], [1, 1]]), np.array([1.0, 1, 2]),
                          np.array([2.0, 2])).plan()),
    # sparse_ot
    Bad("ot.sparse_ot", "k", lambda: ot.sparse_ot(C, A, B, k=0), "zero k"),
    Bad("ot.sparse_ot", "k", lambda: ot.sparse_ot(C, A, B, k=1.5), "float k"),
    Bad("ot.sparse_ot", "gamma", lambda: ot.sparse_ot(C, A, B, k=1, gamma=0.0), "zero gamma"),
    Bad("ot.sparse_ot", "gamma", lambda: ot.sparse_ot(C, A, B, k=1, gamma="1"), "string gamma"),
    Bad("ot.sparse_ot", "gamma", lambda: ot.sparse_ot(C, A, B, k=1, gamma=np.inf), "inf gamma"),
    Bad("ot.sparse_ot", "tol", lambda: ot.sparse_ot(C, A, B, k=1, tol=0.0), "zero tol"),
    Bad("ot.sparse_ot", "num_steps", lambda: ot.sparse_ot(C, A, B, k=1, num_steps=0), "zero num_steps"),
    Bad("ot.sparse_ot", "C", lambda: ot.sparse_ot(np.ones((2, 2, 2)), A, B, k=1), "3-D C"),
    Bad("ot.sparse_ot", "a", lambda: ot.sparse_ot(C, [0.5, 0.5, np.nan], B, k=1), "NaN a"),
    Coerce("ot.sparse_ot", lambda: ot.sparse_ot([[0, 1], [1, 0], [1, 1]], [1, 1, 2], [2, 2], k=2,
                                                gamma=1, num_steps=30).plan(),
           lambda: ot.sparse_ot(np.array([[0.0, 1], [1, 0], [1, 1]]), np.array([1.0, 1, 2]),
                                np.array([2.0, 2]), k=2, gamma=1.0, num_steps=30).plan(),
           rtol=1e-4, atol=1e-5),
    # sparse_simplex_projection
    Bad("ot.sparse_simplex_projection", "s", lambda: ot.sparse_simplex_projection("s", 1.0, 1), "string"),
    Bad("ot.sparse_simplex_projection", "s", lambda: ot.sparse_simplex_projection(np.ones((2, 2)), 1.0, 1), "2-D"),
    Bad("ot.sparse_simplex_projection", "s", lambda: ot.sparse_simplex_projection(np.zeros(0), 1.0, 1), "empty"),
    Bad("ot.sparse_simplex_projection", "s", lambda: ot.sparse_simplex_projection([1.0, np.nan], 1.0, 1), "NaN"),
    Bad("ot.sparse_simplex_projection", "mass", lambda: ot.sparse_simplex_projection(F, -1.0, 1), "negative mass"),
    Bad("ot.sparse_simplex_projection", "mass", lambda: ot.sparse_simplex_projection(F, 0.0, 1), "zero mass"),
    Bad("ot.sparse_simplex_projection", "mass", lambda: ot.sparse_simplex_projection(F, "1", 1), "string mass"),
    Bad("ot.sparse_simplex_projection", "k", lambda: ot.sparse_simplex_projection(F, 1.0, 0), "zero k"),
    Bad("ot.sparse_simplex_projection", "k", lambda: ot.sparse_simplex_projection(F, 1.0, 1.5), "float k"),
    Bad("ot.sparse_simplex_projection", "k", lambda: ot.sparse_simplex_projection(F, 1.0, None), "None k"),
    Coerce("ot.sparse_simplex_projection", lambda: ot.sparse_simplex_projection([3, 1, 2], 1, 2),
           lambda: ot.sparse_simplex_projection(np.array([3.0, 1.0, 2.0]), 1.0, 2)),
    # sinkhorn_attention
    Bad("ot.sinkhorn_attention", "q", lambda: ot.sinkhorn_attention("q", Q, Q), "string q"),
    Bad("ot.sinkhorn_attention", "k", lambda: ot.sinkhorn_attention(Q, Q[:, 0], Q), "1-D k"),
    Bad("ot.sinkhorn_attention", "v", lambda: ot.sinkhorn_attention(Q, Q, None), "None v"),
    Bad("ot.sinkhorn_attention", "q", lambda: ot.sinkhorn_attention(np.full((3, 2), np.nan), Q, Q), "NaN q"),
    Bad("ot.sinkhorn_attention", "k", lambda: ot.sinkhorn_attention(Q, np.zeros((3, 4)), Q), "d mismatch"),
    Bad("ot.sinkhorn_attention", "v", lambda: ot.sinkhorn_attention(Q, Q, Q[:2]), "k/v mismatch"),
    Bad("ot.sinkhorn_attention", "q", lambda: ot.sinkhorn_attention(np.zeros((0, 2)), Q, Q), "empty q"),
    Bad("ot.sinkhorn_attention", "num_steps", lambda: ot.sinkhorn_attention(Q, Q, Q, num_steps=0), "zero"),
    Bad("ot.sinkhorn_attention", "temperature", lambda: ot.sinkhorn_attention(Q, Q, Q, temperature=0.0), "zero"),
    Bad("ot.sinkhorn_attention", "temperature", lambda: ot.sinkhorn_attention(Q, Q, Q, temperature="1"), "string"),
    Coerce("ot.sinkhorn_attention", lambda: ot.sinkhorn_attention([[1, 0], [0, 1], [1, 1]], [[1, 0], [0, 1], [1, 1]],
                                                                  [[1, 0], [0, 1], [1, 1]]),
           lambda: ot.sinkhorn_attention(Q, Q, Q)),
    # plan_from_potentials
    Bad("ot.plan_from_potentials", "f", lambda: ot.plan_from_potentials(ot.Geometry(C), "f", G, 0.1), "string f"),
    Bad("ot.plan_from_potentials", "f", lambda: ot.plan_from_potentials(ot.Geometry(C), G, G, 0.1), "wrong length"),
    Bad("ot.plan_from_potentials", "g", lambda: ot.plan_from_potentials(ot.Geometry(C), F, G * np.nan, 0.1), "NaN g"),
    Bad("ot.plan_from_potentials", "eps", lambda: ot.plan_from_potentials(ot.Geometry(C), F, G, 0.0), "zero eps"),
    Bad("ot.plan_from_potentials", "geom", lambda: ot.plan_from_potentials(None, F, G, 0.1), "None geometry"),
    Coerce("ot.plan_from_potentials", lambda: ot.plan_from_potentials([[0, 1], [1, 0], [1, 1]], [0, 0, 0], [0, 0], 1),
           lambda: ot.plan_from_potentials(np.array([[0.0, 1], [1, 0], [1, 1]]), F, G, 1.0)),
    # marginal_error
    Bad("ot.marginal_error", "P", lambda: ot.marginal_error("P", A, B), "string P"),
    Bad("ot.marginal_error", "P", lambda: ot.marginal_error(A, A, B), "1-D P"),
    Bad("ot.marginal_error", "a", lambda: ot.marginal_error(C, B, B), "wrong length a"),
    Bad("ot.marginal_error", "P", lambda: ot.marginal_error(NAN_C, A, B), "NaN P"),
    Bad("ot.marginal_error", "b", lambda: ot.marginal_error(C, A, None), "None b"),
    Coerce("ot.marginal_error", lambda: ot.marginal_error([[1, 0], [0, 1], [1, 1]], [1, 1, 2], [2, 2]),
           lambda: ot.marginal_error(np.array([[1.0, 0], [0, 1], [1, 1]]), np.array([1.0, 1, 2]),
                                     np.array([2.0, 2]))),
    # entropic_map
    Bad("ot.entropic_map", "x", lambda: ot.entropic_map("x", Y, 0.1), "string x"),
    Bad("ot.entropic_map", "y", lambda: ot.entropic_map(X, None, 0.1), "None y"),
    Bad("ot.entropic_map", "x", lambda: ot.entropic_map(np.where(X > 0, np.nan, X), Y, 0.1), "NaN x"),
    Bad("ot.entropic_map", "y", lambda: ot.entropic_map(X, np.zeros((2, 3)), 0.1), "dimension mismatch"),
    Bad("ot.entropic_map", "eps", lambda: ot.entropic_map(X, Y, 0.0), "zero eps"),
    Bad("ot.entropic_map", "eps", lambda: ot.entropic_map(X, Y, "0.1"), "string eps"),
    Bad("ot.entropic_map", "a", lambda: ot.entropic_map(X, Y, 0.1, A[:2]), "wrong length a"),
    Bad("ot.entropic_map", "b", lambda: ot.entropic_map(X, Y, 0.1, A, -B), "negative b"),
    Bad("ot.entropic_map", "query", lambda: ot.entropic_map(X, Y, 0.1, query=np.zeros((2, 3))), "query dimension"),
    Bad("ot.entropic_map", "query", lambda: ot.entropic_map(X, Y, 0.1, query="q"), "string query"),
    Bad("ot.entropic_map", "query", lambda: ot.entropic_map(X, Y, 0.1, query=np.full((2, 2), np.inf)), "inf query"),
    Bad("ot.entropic_map", "query", lambda: ot.entropic_map(X, Y, 0.1, query=np.zeros((0, 2))), "empty query"),
    Bad("ot.entropic_map", "tol", lambda: ot.entropic_map(X, Y, 0.1, tol=0.0), "zero tol"),
    Bad("ot.entropic_map", "num_steps", lambda: ot.entropic_map(X, Y, 0.1, num_steps=0), "zero num_steps"),
    Bad("ot.entropic_map", "method", lambda: ot.entropic_map(X, Y, 0.1, method="plain"), "unknown method"),
    Coerce("ot.entropic_map", lambda: ot.entropic_map([[0, 0], [1, 0], [0, 1]], [[1, 1], [2, 1]], 1, query=[[1, 1]]),
           lambda: ot.entropic_map(np.array([[0.0, 0], [1, 0], [0, 1]]), np.array([[1.0, 1], [2, 1]]), 1.0,
                                   query=np.array([[1.0, 1.0]]))),
    # equipartition_labels
    Bad("ot.equipartition_labels", "logits", lambda: ot.equipartition_labels("L"), "string"),
    Bad("ot.equipartition_labels", "logits", lambda: ot.equipartition_labels(None), "None"),
    Bad("ot.equipartition_labels", "logits", lambda: ot.equipartition_labels(A), "1-D"),
    Bad("ot.equipartition_labels", "logits", lambda: ot.equipartition_labels(NAN_C), "NaN"),
    Bad("ot.equipartition_labels", "logits", lambda: ot.equipartition_labels(np.zeros((0, 3))), "empty"),
    Bad("ot.equipartition_labels", "logits", lambda: ot.equipartition_labels(C + 1j), "complex"),
    Bad("ot.equipartition_labels", "eps", lambda: ot.equipartition_labels(C, 0.0), "zero eps"),
    Bad("ot.equipartition_labels", "eps", lambda: ot.equipartition_labels(C, None), "None eps"),
    Bad("ot.equipartition_labels", "tol", lambda: ot.equipartition_labels(C, tol=-1.0), "negative tol"),
    Bad("ot.equipartition_labels", "num_steps", lambda: ot.equipartition_labels(C, num_steps=1.5), "float num_steps"),
    Coerce("ot.equipartition_labels", lambda: ot.equipartition_labels([[0, 1], [1, 0], [2, 2]]),
           lambda: ot.equipartition_labels(np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 2.0]]))),
    # soft_permutation
    Bad("ot.soft_permutation", "x", lambda: ot.soft_permutation("x", X, 0.1), "string x"),
    Bad("ot.soft_permutation", "y", lambda: ot.soft_permutation(X, None, 0.1), "None y"),
    Bad("ot.soft_permutation", "y", lambda: ot.soft_permutation(X, Y, 0.1), "different row counts"),
    Bad("ot.soft_permutation", "y", lambda: ot.soft_permutation(X, np.zeros((3, 3)), 0.1), "dimension mismatch"),
    Bad("ot.soft_permutation", "x", lambda: ot.soft_permutation(np.where(X > 0, np.nan, X), X, 0.1), "NaN x"),
    Bad("ot.soft_permutation", "eps", lambda: ot.soft_permutation(X, X, -0.1), "negative eps"),
    Bad("ot.soft_permutation", "tol", lambda: ot.soft_permutation(X, X, 0.1, tol=0.0), "zero tol"),
    Bad("ot.soft_permutation", "num_steps", lambda: ot.soft_permutation(X, X, 0.1, num_steps=0), "zero num_steps"),
    Bad("ot.soft_permutation", "method", lambda: ot.soft_permutation(X, X, 0.1, method="exact"), "unknown method"),
    Coerce("ot.soft_permutation", lambda: ot.soft_permutation([[0, 0], [1, 0], [0, 1]], [[1, 0], [0, 1], [0, 0]], 1),
           lambda: ot.soft_permutation(np.array([[0.0, 0], [1, 0], [0, 1]]), np.array([[1.0, 0], [0, 1], [0, 0]]), 1.0)),
]

EXEMPT = {
    "SinkhornOutput": "NamedTuple result type (no validation)",
    "SNSOutput": "NamedTuple result type (no validation)",
    "EMDOutput": "NamedTuple result type (no validation)",
    "SparseOTOutput": "NamedTuple result type (no validation)",
    "SNS_STATUS": "constant: status code -> message",
}
