/* bench/pgo_graph.h — the pose-graph benches' problem builder (bench/pgo_dopt.c, bench/latency.c)
 * on dopt_lie.h: its g2o reader and writer (dopt_lie_pose_graph_d), its manifolds (x ⊕ d =
 * x · Exp(d)) and its between cost r = Log(z^-1 · xi^-1 · xj) with analytic tangent Jacobians.
 * Double.
 *
 * What is added here: each edge's weight, the square root of its information (upper Cholesky
 * factor; an indefinite information is replaced by its positive semidefinite part, as the
 * bench's Ceres anchor does), and the residuals of Ceres' pose_graph_2d/3d examples (the
 * bench's --residual ceres), which read an edge's measurement in dopt_lie's storage as the
 * group-log costs do. */
#ifndef BENCH_PGO_GRAPH_H
#define BENCH_PGO_GRAPH_H
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "dopt_lie.h"

#if defined(__GNUC__) || defined(__clang__)
#define PGO_UNUSED __attribute__((unused))
#else
#define PGO_UNUSED
#endif

typedef struct pgo_graph {
    dopt_lie_pose_graph_d g; /* poses and edges, as dopt_lie_g2o_read_d fills them */
    double *W;               /* num_edges x td x td: square-root information, row-major upper */
    double *wdiag;           /* num_edges x td: the diagonal of W */
    int quat_residual;       /* 1 = Ceres' example residuals instead of the group log */
} pgo_graph;

static PGO_UNUSED void pgo_free(pgo_graph *g)
{
    dopt_lie_pose_graph_destroy_d(&g->g);
    free(g->W);
    free(g->wdiag);
    memset(g, 0, sizeof *g);
}

/* Ceres' pose_graph_2d residual: e = [R(th_i)^T (p_j - p_i) - p_z ; wrap(th_j - th_i - th_z)].
 * Right-perturbation Jacobians, d = R(th_i)^T (p_j - p_i):
 *   d e_t / d v_i = -I,  d e_t / d w_i = (d_y, -d_x),  d e_t / d v_j = R(th_j - th_i),
 *   d e_th / d w_i = -1,  d e_th / d w_j = 1.  data: the measurement (dopt_lie SE2 storage). */
static dopt_status pgo_se2_between_ceres(const void *data, const double *const *x, double *r,
                                         double *const *J)
{
    const double *a = x[0], *b = x[1], *z = (const double *)data;
    double ca = a[2], sa = a[3], dx = b[0] - a[0], dy = b[1] - a[1];
    double d0 = ca * dx + sa * dy, d1 = -sa * dx + ca * dy;
    double c = b[2] * ca + b[3] * sa, s = b[3] * ca - b[2] * sa; /* rotation th_j - th_i */
    r[0] = d0 - z[0];
    r[1] = d1 - z[1];
    r[2] = atan2(s * z[2] - c * z[3], c * z[2] + s * z[3]); /* wrap(th_j - th_i - th_z) */
    if (J && J[0]) {
        double *Jo = J[0];
        Jo[0] = -1; Jo[1] = 0; Jo[2] = d1;
        Jo[3] = 0; Jo[4] = -1; Jo[5] = -d0;
        Jo[6] = 0; Jo[7] = 0; Jo[8] = -1;
    }
    if (J && J[1]) {
        double *Jo = J[1];
        Jo[0] = c; Jo[1] = -s; Jo[2] = 0;
        Jo[3] = s; Jo[4] = c; Jo[5] = 0;
        Jo[6] = 0; Jo[7] = 0; Jo[8] = 1;
    }
    return DOPT_OK;
}

/* Ceres' pose_graph_3d residual (its quaternion-vector form, an alternative to the group log):
 *   e = [R_i^T (p_j - p_i) - p_z ;  2 vec(q_z ⊗ (q_i^-1 ⊗ q_j)^-1)]
 * Right-perturbation Jacobians (v, w per pose), with (u, s) = q_z ⊗ q_j^-1 ⊗ q_i:
 *   d e_t / d v_i = -I,   d e_t / d w_i = [R_i^T (p_j - p_i)]x,   d e_t / d v_j = R_i^T R_j,  d e_t / d w_j = 0
 *   d e_r / d w_i = s I + [u]x,   d e_r / d w_j = -(s I - [u]x) R_z,   d e_r / d v = 0.
 * Minimizing it reaches the basin Ceres reaches (e.g. torus3D); scored in dopt's metric it is
 * a different objective.  data: the measurement (dopt_lie SE3 storage [t; q]). */
static dopt_status pgo_se3_between_quat(const void *data, const double *const *x, double *r,
                                        double *const *J)
{
    const double *a = x[0], *b = x[1], *z = (const double *)data;
    double Ra[9], dt[3], tA[3], qbi[4], t1[4], dq[4], U[9], M[9], Rb[9], Rz[9];
    int i, k, l;
    dopt_so3_to_matrix_d(a + 3, Ra);
    for (i = 0; i < 3; ++i) dt[i] = b[i] - a[i];
    for (i = 0; i < 3; ++i) tA[i] = Ra[i] * dt[0] + Ra[3 + i] * dt[1] + Ra[6 + i] * dt[2];
    dopt_so3_inverse_d(b + 3, qbi, NULL);
    dopt_so3_compose_d(z + 3, qbi, t1, NULL, NULL);
    dopt_so3_compose_d(t1, a + 3, dq, NULL, NULL); /* q_z ⊗ q_j^-1 ⊗ q_i = q_z ⊗ (q_i^-1 ⊗ q_j)^-1 */
    for (i = 0; i < 3; ++i) r[i] = tA[i] - z[i];
    for (i = 0; i < 3; ++i) r[3 + i] = 2 * dq[i];
    if (!J) return DOPT_OK;
    dopt_so3_hat_d(dq, U);
    if (J[0]) {
        double *Jo = J[0];
        memset(Jo, 0, sizeof(double) * 36);
        dopt_so3_hat_d(tA, M);
        for (i = 0; i < 3; ++i)
            for (k = 0; k < 3; ++k) {
                Jo[i * 6 + k] = i == k ? -1 : 0;
                Jo[i * 6 + 3 + k] = M[i * 3 + k];
                Jo[(3 + i) * 6 + 3 + k] = (i == k ? dq[3] : 0) + U[i * 3 + k];
            }
    }
    if (J[1]) {
        double *Jo = J[1];
        memset(Jo, 0, sizeof(double) * 36);
        dopt_so3_to_matrix_d(b + 3, Rb);
        dopt_so3_to_matrix_d(z + 3, Rz);
        for (i = 0; i < 3; ++i)
            for (k = 0; k < 3; ++k) {
                double rr = 0, mm = 0;
                for (l = 0; l < 3; ++l) {
                    rr += Ra[l * 3 + i] * Rb[l * 3 + k];
                    mm += ((i == l ? dq[3] : 0) - U[i * 3 + l]) * Rz[l * 3 + k];
                }
                Jo[i * 6 + k] = rr;
                Jo[(3 + i) * 6 + 3 + k] = -mm;
            }
    }
    return DOPT_OK;
}

/* W = diag(sqrt(max(l_k, 0))) V^T from a Jacobi eigen-decomposition V diag(l) V^T of the
 * symmetric n x n A (overwritten): the positive semidefinite part's square root. */
static PGO_UNUSED void pgo_sqrt_psd(int n, double *A, double *W)
{
    double V[36];
    int i, j, k, sweep;
    memset(V, 0, sizeof V);
    for (i = 0; i < n; ++i) V[i * n + i] = 1;
    for (sweep = 0; sweep < 60; ++sweep) {
        double off = 0;
        for (i = 0; i < n; ++i)
            for (j = i + 1; j < n; ++j) off += A[i * n + j] * A[i * n + j];
        if (off < 1e-30) break;
        for (i = 0; i < n; ++i)
            for (j = i + 1; j < n; ++j) {
                double aij = A[i * n + j], th, t, c, s;
                if (fabs(aij) < 1e-300) continue;
                th = (A[j * n + j] - A[i * n + i]) / (2 * aij);
                t = (th >= 0 ? 1 : -1) / (fabs(th) + sqrt(th * th + 1));
                c = 1 / sqrt(t * t + 1);
                s = t * c;
                for (k = 0; k < n; ++k) { /* A <- G^T A G, V <- V G */
                    double akp = A[k * n + i], akq = A[k * n + j];
                    A[k * n + i] = c * akp - s * akq;
                    A[k * n + j] = s * akp + c * akq;
                }
                for (k = 0; k < n; ++k) {
                    double apk = A[i * n + k], aqk = A[j * n + k];
                    A[i * n + k] = c * apk - s * aqk;
                    A[j * n + k] = s * apk + c * aqk;
                }
                for (k = 0; k < n; ++k) {
                    double vkp = V[k * n + i], vkq = V[k * n + j];
                    V[k * n + i] = c * vkp - s * vkq;
                    V[k * n + j] = s * vkp + c * vkq;
                }
            }
    }
    for (i = 0; i < n; ++i) {
        double l = A[i * n + i], sl = l > 0 ? sqrt(l) : 0;
        for (k = 0; k < n; ++k) W[i * n + k] = sl * V[k * n + i];
    }
}

/* W (n x n row-major, n <= 6) with W^T W = the PSD part of the symmetric info: the upper
 * Cholesky factor (dopt_potrf's column-major lower factor, read row-major) when info is positive
 * definite, else pgo_sqrt_psd.  Returns 1 when the information was not positive definite. */
static PGO_UNUSED int pgo_sqrt_info(int n, const double *info, double *W)
{
    double A[36];
    int i, k;
    memcpy(W, info, sizeof(double) * (size_t)(n * n));
    if (dopt_potrf_d(n, W, n, NULL) == DOPT_OK) {
        for (i = 0; i < n; ++i)
            for (k = 0; k < i; ++k) W[i * n + k] = 0;
        return 0;
    }
    memcpy(A, info, sizeof(double) * (size_t)(n * n));
    pgo_sqrt_psd(n, A, W);
    return 1;
}

/* pgo_weights: W and wdiag (malloc'd) for every edge of g->g.  0 or -1 (out of memory). */
static PGO_UNUSED int pgo_weights(pgo_graph *g)
{
    int td = g->g.tangent_dim, r;
    ptrdiff_t k, ne = g->g.num_edges;
    g->W = (double *)malloc(sizeof(double) * (size_t)(td * td) * (size_t)(ne + 1));
    g->wdiag = (double *)malloc(sizeof(double) * (size_t)td * (size_t)(ne + 1));
    if (!g->W || !g->wdiag) return -1;
    for (k = 0; k < ne; ++k) {
        double *W = g->W + k * td * td;
        pgo_sqrt_info(td, g->g.edges[k].information, W);
        for (r = 0; r < td; ++r) g->wdiag[k * td + r] = W[r * td + r];
    }
    return 0;
}

/* pgo_read: dopt_lie_g2o_read_d, then the edge weights.  DOPT_OK or the reader's status (info). */
static PGO_UNUSED dopt_status pgo_read(const char *path, pgo_graph *g, dopt_errinfo *info)
{
    dopt_status st;
    memset(g, 0, sizeof *g);
    st = dopt_lie_g2o_read_d(path, NULL, &g->g, info);
    if (st == DOPT_OK && pgo_weights(g) != 0) st = DOPT_ERR_ALLOCATION;
    if (st != DOPT_OK) pgo_free(g);
    return st;
}

/* pgo_problem: a least-squares problem over `batch` graphs of g's structure, whose edges, W and
 * wdiag lie at edges + b * ne, W + b * ne * td², wdiag + b * ne * td (same i/j for every b);
 * hooks copied into the problem (logging).  With fix_first, pose 0 is held constant (the gauge). */
static PGO_UNUSED dopt_status pgo_problem(const dopt_hooks *hooks, const pgo_graph *g,
                                          const dopt_lie_pose_graph_edge_d *edges, const double *W,
                                          const double *wdiag, int batch, int fix_first,
                                          dopt_nlls_problem_d **out)
{
    dopt_nlls_problem_d *p;
    int se2 = g->g.group == DOPT_LIE_SE2, td = g->g.tangent_dim, r, c, diagonal = 1;
    dopt_manifold_d m = se2 ? dopt_lie_manifold_se2_d() : dopt_lie_manifold_se3_d();
    ptrdiff_t v, k, ne = g->g.num_edges;
    dopt_status st;
    for (k = 0; k < ne * batch && diagonal; ++k) /* diagonal weights are cheaper to apply */
        for (r = 0; r < td; ++r)
            for (c = 0; c < td; ++c)
                if (r != c && W[k * td * td + r * td + c] != 0) diagonal = 0;
    st = dopt_nlls_problem_create_d(hooks, batch, &p);
    if (st != DOPT_OK) return st;
    for (v = 0; v < g->g.num_poses && st == DOPT_OK; ++v) st = dopt_nlls_add_variable_d(p, &m, NULL);
    if (fix_first && g->g.num_poses) dopt_nlls_set_constant_d(p, 0, 1);
    for (k = 0; k < ne && st == DOPT_OK; ++k) {
        dopt_nlls_cost_desc_d d;
        int vars[2];
        vars[0] = (int)edges[k].i;
        vars[1] = (int)edges[k].j;
        memset(&d, 0, sizeof d);
        d.fn = se2 ? (g->quat_residual ? pgo_se2_between_ceres : dopt_lie_cost_between_se2_d)
                   : (g->quat_residual ? pgo_se3_between_quat : dopt_lie_cost_between_se3_d);
        d.data = edges[k].measurement; /* dopt_lie_between_data_d's layout */
        d.data_stride = sizeof(dopt_lie_pose_graph_edge_d) * (size_t)ne;
        d.rdim = td;
        d.nvars = 2;
        d.vars = vars;
        d.weight_kind = diagonal ? DOPT_WEIGHT_DIAGONAL : DOPT_WEIGHT_SQRT_INFO;
        d.weight = diagonal ? wdiag + k * td : W + k * td * td;
        d.weight_stride = (diagonal ? td : td * td) * ne;
        st = dopt_nlls_add_cost_d(p, &d, NULL);
    }
    if (st != DOPT_OK) { dopt_nlls_problem_destroy_d(p); return st; }
    *out = p;
    return DOPT_OK;
}
#endif
