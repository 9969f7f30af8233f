/* dopt_mpc.h — model predictive control: LQR, differentiable LQR, box-constrained LQR, iLQR/SQP MPC,
 * augmented-Lagrangian MPC, a dense differentiable QP, CEM and DCEM with LML.   (C99, header-only)
 *
 * WHAT THIS IS
 *   Optimal-control and sampling-based planners whose solutions can be differentiated, so they sit
 *   as layers in learning pipelines.  It follows dopt.h's API CONVENTION (names, create/destroy,
 *   workspace size query then caller memory, ptrdiff_t batch sizes and strides, per-element
 *   status, options whose zero means "default") and its float/double generation ("FLOAT AND
 *   DOUBLE" in dopt.h).  Batches of problems of one structure are the unit of work; every forward
 *   solve has a backward pass that reuses its factorizations.
 *
 *   The module has independent parts, each documented in its own section below:
 *     LQR AND iLQR     dopt_mpc_lqr_*, dopt_mpc_ilqr_*   (Riccati forward, adjoint-LQR backward,
 *                      box-constrained controls, nonlinear MPC)
 *     DENSE QP         dopt_mpc_qp_*   (batched dense QP with the OptNet backward pass)
 *     CEM AND LML      dopt_mpc_cem_*, dopt_mpc_dcem_*, dopt_mpc_lml_*
 *
 * HOW TO USE
 *   #define DOPT_IMPLEMENTATION in one C file before including dopt.h and dopt_mpc.h.
 *
 * ---- LQR AND iLQR -------------------------------------------------------------------------------
 * ---- end LQR AND iLQR ---------------------------------------------------------------------------
 *
 * ---- DENSE QP ----------------------------------------------------------------------------------
 *   A batch of B convex QPs of one size,
 *       minimize 1/2 x^T Q x + p^T x   subject to   A x = b,  G x <= h,  l <= x <= u,
 *   any subset of the three constraint kinds (dims: n, meq, mineq, box), Q symmetric positive
 *   SEMIdefinite (only its lower triangle is read; it need not be definite when the constraints
 *   fix x), with the OptNet backward pass (Amos & Kolter 2017): dL/dQ, p, A, b, G, h, l, u from
 *   dL/dx.  Infinite entries drop a constraint: h_i = +inf, l_j = -inf, u_j = +inf.
 *
 *   Forward: a primal-dual interior point method, Mehrotra's predictor-corrector.  Every
 *   inequality (G rows and finite bounds) gets a slack s >= 0 and a multiplier z >= 0; each
 *   iteration eliminates them and factors the reduced matrix H = Q + G^T diag(z/s) G + diag(bound
 *   terms) (dopt_syrk + dopt_potrf), then the equality Schur complement A H^{-1} A^T (dopt_trsm,
 *   dopt_syrk, dopt_potrf); one factorization serves the predictor and the corrector.  A tiny
 *   diagonal regularization (1e-10 max(1, max Q_jj), grown if a Cholesky fails) makes H definite
 *   when Q is singular; the residuals are always those of the exact problem, so it changes the
 *   path, not the answer.  Stops when every KKT measure of the report (stationarity, equality
 *   and inequality violation, complementarity z_i |slack_i|) is <= options.tol (absolute,
 *   default 1e-9), on a Farkas certificate (PRIMAL_INFEASIBLE: A^T y + G^T z ~ 0, b^T y + h^T z
 *   < 0), on a ray of unbounded descent (DUAL_INFEASIBLE: Q d ~ 0, A d ~ 0, G d <= ~0,
 *   p^T d < 0), or at max_iter (MAX_ITER).  Warm start: options.warm_start takes x (and the last
 *   multipliers) as the start; an interior point method gains little from it.
 *
 *   Polish: once the interior point residuals are within 1000 tol (tried at most twice there)
 *   and again at convergence, x is recomputed from the KKT system of
 *   the active set it identified (bounds held, active G rows as equalities: Cholesky of Q_FF,
 *   regularized and refined when singular, and of the Schur complement E_F Q_FF^-1 E_F^T with
 *   E = [A; G_active]); kept when its KKT measures are within tol (report.polished), so x has
 *   the accuracy of a direct solve.  That factorization is kept for the backward.
 *
 *   Backward (dopt_mpc_qp_backward): the KKT conditions differentiated at the solution with the
 *   active set held: active inequalities become equalities, variables at a bound drop out, so the
 *   adjoint solves [Q_FF E_F^T; E_F 0] with the polishing step's factors (a backward after an
 *   unpolished solve factors at its first call; later calls reuse).  This is the exact
 *   derivative of the solution map wherever it exists (strict complementarity).  A WEAKLY ACTIVE
 *   constraint (slack and multiplier both <= degenerate_tol, counted in report.weakly_active)
 *   has no derivative; dopt differentiates it as inactive — the one-sided derivative for
 *   perturbations that move x off it — unless the polish shows the solution needs it (with it
 *   inactive the polished x violates it), then as active.  A backward never writes a NaN: an
 *   element whose adjoint is not finite is reported DOPT_ERR_NON_FINITE and contributes zero.
 *
 *   Float: the _f functions run the same method in float (default tol 1e-4).  With
 *   dims.double_inside = 1 they convert the data to double, solve and differentiate in double
 *   (tol 1e-9) and round the results: then x and every gradient are the double results to within
 *   one float rounding (relative 6e-8) plus the double solve's tolerance.
 *
 *   Memory: dopt_mpc_qp_workspace_size / create_in (or create); solve and backward allocate
 *   nothing.  Sketch (B projections onto a box, n = 3):
 *       dopt_mpc_qp_dims dims = {3, 0, 0, 1, 0};           // n, meq, mineq, box
 *       dopt_mpc_qp_d *qp;  dopt_mpc_qp_data_d d = {0};  dopt_mpc_qp_grad_d g = {0};
 *       dopt_mpc_qp_create_d(NULL, &dims, B, &qp, NULL);
 *       d.Q = I3; d.p = minus_y; d.p_stride = 3; d.l = lo; d.u = hi;     // shared Q, l, u
 *       dopt_mpc_qp_solve_d(qp, NULL, B, &d, x, 3, report, NULL);
 *       g.p = dp; g.p_stride = 3;
 *       dopt_mpc_qp_backward_d(qp, NULL, B, &d, dLdx, 3, &g, NULL, NULL);
 *       dopt_mpc_qp_destroy_d(qp);
 *   examples/qp_layer.c is a complete program; tests/test_qp.c checks KKT, certificates, an
 *   independent active-set solve and finite differences.
 * ---- end DENSE QP ------------------------------------------------------------------------------
 *
 * ---- CEM AND LML --------------------------------------------------------------------------------
 * ---- end CEM AND LML ----------------------------------------------------------------------------
 *
 * LICENSE: MIT, see dopt.h.
 */
#if !defined(DOPT__DRIVE)
#ifndef DOPT_MPC_H
#define DOPT_MPC_H
#include "dopt.h"

#ifdef __cplusplus
extern "C" {
#endif
/* ==== LQR AND iLQR: precision-independent declarations ==== */
/* ==== end LQR AND iLQR: precision-independent declarations ==== */

/* ==== DENSE QP: precision-independent declarations ==== */
/* Outcome of one QP of a batch (dopt_mpc_qp_report.result). */
typedef enum dopt_mpc_qp_result {
    DOPT_MPC_QP_SOLVED = 0,          /* KKT residuals within the tolerance                        */
    DOPT_MPC_QP_PRIMAL_INFEASIBLE,   /* a Farkas certificate was found: no x meets the constraints */
    DOPT_MPC_QP_DUAL_INFEASIBLE,     /* a ray of unbounded descent was found (objective -> -inf)   */
    DOPT_MPC_QP_MAX_ITER,            /* iteration limit (or no progress) before the tolerance      */
    DOPT_MPC_QP_INVALID_DATA,        /* NaN/Inf in the data, l > u, or h / l / u of the wrong sign
                                        of infinity                                               */
    DOPT_MPC_QP_NUMERICAL,           /* the reduced KKT matrix could not be factored (Q not PSD?)  */
    DOPT_MPC_QP_NOT_SOLVED           /* never attempted (e.g. no solve before this backward)       */
} dopt_mpc_qp_result;

/* dopt_mpc_qp_result_string: "solved", "primal infeasible", ...; never NULL. */
DOPT_API const char *dopt_mpc_qp_result_string(dopt_mpc_qp_result r);

/* Sizes of every QP of a batch.
 *   n      variables (>= 1)
 *   meq    equality rows A x = b (>= 0)
 *   mineq  inequality rows G x <= h (>= 0)
 *   box    1: bounds l <= x <= u are given (entries may be -inf / +inf), 0: no bounds
 *   double_inside  float (_f) objects only: 1 solves in double (data converted in, solution and
 *          gradients rounded out); ignored by _d objects. */
typedef struct dopt_mpc_qp_dims {
    int n, meq, mineq, box;
    int double_inside;
} dopt_mpc_qp_dims;

/* Options of dopt_mpc_qp_solve / _backward; zero means every default.
 *   tol        absolute KKT tolerance (stationarity, equality and inequality violation,
 *              complementarity |z_i (h - G x)_i|, all in the data's units); 0: 1e-9 in double and
 *              for double_inside, 1e-4 in float; must be > 0 after the default.
 *   max_iter   interior-point iterations; 0: 100.
 *   warm_start 1: the x passed to solve is the starting point and the multipliers of the last
 *              solve of the same batch element (if it solved) start the duals; 0: cold start.
 *   degenerate_tol  a constraint whose slack and multiplier are both <= this is "weakly active"
 *              (counted in the report, differentiated as inactive); 0: sqrt(tol) * 10.
 *   no_polish  1: skip the polishing step after the interior point method (x from the active-set
 *              KKT system, see the overview) and its factorization; the backward then factors
 *              at its first call.  0: polish (x to direct-solve accuracy).
 *   policy     backward, for elements whose forward did not solve: FLAG (zero gradient, status
 *              in the report, the call returns the first such status), ZERO (zero gradient,
 *              call returns DOPT_OK), FAIL (stop at the first one). */
typedef struct dopt_mpc_qp_options {
    double tol;
    int max_iter;
    int warm_start;
    double degenerate_tol;
    int no_polish;
    dopt_bwd_policy policy;
} dopt_mpc_qp_options;

/* dopt_mpc_qp_default_options: the defaults written out (tol 1e-9, the double value). */
DOPT_API dopt_mpc_qp_options dopt_mpc_qp_default_options(void);

/* Per-element outcome of a solve (and, for status, of a backward).
 *   status      DOPT_OK when result is SOLVED; DOPT_ERR_NO_CONVERGENCE for PRIMAL_INFEASIBLE,
 *               DUAL_INFEASIBLE and MAX_ITER; DOPT_ERR_NON_FINITE for INVALID_DATA;
 *               DOPT_ERR_NOT_POSITIVE_DEFINITE for NUMERICAL.
 *   primal_residual  max(|A x - b|_inf, max(G x - h)_+, max(l - x)_+, max(x - u)_+)
 *   dual_residual    |Q x + p + A^T y + G^T z + zu - zl|_inf
 *   complementarity  max_i z_i |slack_i| over every inequality (G rows and finite bounds)
 *   objective        1/2 x^T Q x + p^T x
 *   weakly_active    constraints with slack and multiplier both <= degenerate_tol
 *   polished         1 when x and the multipliers come from the polishing step */
typedef struct dopt_mpc_qp_report {
    dopt_status status;
    dopt_mpc_qp_result result;
    int iterations;
    double primal_residual, dual_residual, complementarity, objective;
    int weakly_active;
    int polished;
} dopt_mpc_qp_report;
/* ==== end DENSE QP: precision-independent declarations ==== */

/* ==== CEM AND LML: precision-independent declarations ==== */
/* ==== end CEM AND LML: precision-independent declarations ==== */
#ifdef __cplusplus
}
#endif

#define DOPT_MPC__PASS_DECL
#define DOPT__DRIVE "dopt_mpc.h"
#include "dopt.h"
#undef DOPT__DRIVE
#undef DOPT_MPC__PASS_DECL
#endif /* DOPT_MPC_H */

#if defined(DOPT_IMPLEMENTATION) && !defined(DOPT_MPC_IMPLEMENTED)
#define DOPT_MPC_IMPLEMENTED
#include <string.h>
#include <math.h>
/* ==== LQR AND iLQR: precision-independent implementation ==== */
/* ==== end LQR AND iLQR: precision-independent implementation ==== */

/* ==== DENSE QP: precision-independent implementation ==== */
DOPT_API const char *dopt_mpc_qp_result_string(dopt_mpc_qp_result r)
{
    switch (r) {
    case DOPT_MPC_QP_SOLVED: return "solved";
    case DOPT_MPC_QP_PRIMAL_INFEASIBLE: return "primal infeasible";
    case DOPT_MPC_QP_DUAL_INFEASIBLE: return "dual infeasible (unbounded)";
    case DOPT_MPC_QP_MAX_ITER: return "iteration limit";
    case DOPT_MPC_QP_INVALID_DATA: return "invalid data";
    case DOPT_MPC_QP_NUMERICAL: return "numerical failure";
    case DOPT_MPC_QP_NOT_SOLVED: return "not solved";
    }
    return "unknown result";
}

DOPT_API dopt_mpc_qp_options dopt_mpc_qp_default_options(void)
{
    dopt_mpc_qp_options o;
    memset(&o, 0, sizeof o);
    o.tol = 1e-9;
    o.max_iter = 100;
    o.degenerate_tol = 10.0 * sqrt(1e-9);
    o.policy = DOPT_BWD_FLAG;
    return o;
}

/* dopt__mpc_qp_status_of: the dopt_status that goes with a per-element result. */
static dopt_status dopt__mpc_qp_status_of(dopt_mpc_qp_result r)
{
    switch (r) {
    case DOPT_MPC_QP_SOLVED: return DOPT_OK;
    case DOPT_MPC_QP_INVALID_DATA: return DOPT_ERR_NON_FINITE;
    case DOPT_MPC_QP_NUMERICAL: return DOPT_ERR_NOT_POSITIVE_DEFINITE;
    case DOPT_MPC_QP_NOT_SOLVED: return DOPT_ERR_INVALID_ARGUMENT;
    default: return DOPT_ERR_NO_CONVERGENCE;
    }
}

/* dopt__mpc_qp_check_dims: sizes in range (and small enough that n^2 and the workspace fit). */
static dopt_status dopt__mpc_qp_check_dims(const dopt_mpc_qp_dims *d, ptrdiff_t max_batch,
                                           dopt_errinfo *info)
{
    if (!d) return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "mpc_qp: dims is NULL");
    if (d->n < 1 || d->meq < 0 || d->mineq < 0 || (d->box != 0 && d->box != 1) ||
        (d->double_inside != 0 && d->double_inside != 1) || max_batch < 1)
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0,
                                "mpc_qp: need n >= 1, meq >= 0, mineq >= 0, box and double_inside 0 or 1, max_batch >= 1");
    if (d->n > 46340 || d->meq > 46340 || d->mineq > 46340 || d->meq + d->mineq > 46340)
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "mpc_qp: dense sizes above 46340");
    return DOPT_OK;
}

/* dopt__mpc_qp_resolve: zeros to defaults, range checks.  `is_float` picks the float tolerance. */
static dopt_status dopt__mpc_qp_resolve(const dopt_mpc_qp_options *in, int is_float,
                                        dopt_mpc_qp_options *out, dopt_errinfo *info)
{
    dopt_mpc_qp_options o;
    if (in) o = *in; else memset(&o, 0, sizeof o);
    if (o.tol == 0) o.tol = is_float ? 1e-4 : 1e-9;
    if (o.max_iter == 0) o.max_iter = 100;
    if (o.degenerate_tol == 0) o.degenerate_tol = 10.0 * sqrt(o.tol);
    if (!(o.tol > 0) || !(o.tol < 1) || o.max_iter < 1 || !(o.degenerate_tol > 0) ||
        (o.warm_start != 0 && o.warm_start != 1) || (o.no_polish != 0 && o.no_polish != 1) ||
        (o.policy != DOPT_BWD_FLAG && o.policy != DOPT_BWD_ZERO && o.policy != DOPT_BWD_FAIL))
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0,
                                "mpc_qp: options out of range (tol in (0,1), max_iter >= 1, warm_start 0/1, known policy)");
    *out = o;
    return DOPT_OK;
}

/* Integer slots of an element: [0] result, [1] backward factor ready, [2] nf free variables,
 * [3] na active G rows, [4] weakly active count, [5] has multipliers (warm start),
 * then free[n], act[mi], box state[n] (0 free, +1 at u, -1 at l). */
enum { DOPT__MPC_QP_IHEAD = 6 };

/* Scratch vectors (each vlen reals) of the interior point method and the backward. */
enum {
    DOPT__QPV_ON, DOPT__QPV_D, DOPT__QPV_CX, DOPT__QPV_RD, DOPT__QPV_RE, DOPT__QPV_RI, DOPT__QPV_R1,
    DOPT__QPV_R2, DOPT__QPV_DX, DOPT__QPV_DY, DOPT__QPV_DZ, DOPT__QPV_DS, DOPT__QPV_DZA,
    DOPT__QPV_DSA, DOPT__QPV_T, DOPT__QPV_TMP, DOPT__QPV_W, DOPT__QPV_RC, DOPT__QPV_E1,
    DOPT__QPV_E2, DOPT__QPV_E3, DOPT__QPV_E4, DOPT__QPV_COUNT
};
/* ==== end DENSE QP: precision-independent implementation ==== */

/* ==== CEM AND LML: precision-independent implementation ==== */
/* ==== end CEM AND LML: precision-independent implementation ==== */
#define DOPT_MPC__PASS_IMPL
#define DOPT__DRIVE "dopt_mpc.h"
#include "dopt.h"
#undef DOPT__DRIVE
#undef DOPT_MPC__PASS_IMPL
#endif /* DOPT_IMPLEMENTATION */
#endif /* !DOPT__DRIVE */

/* =============================================================================================== */
/* Generic declarations (one pass per precision).                                                 */
/* =============================================================================================== */
#if defined(DOPT_MPC__PASS_DECL) && defined(DOPT_REAL)
#ifdef __cplusplus
extern "C" {
#endif
/* ==== LQR AND iLQR: declarations ==== */
/* ==== end LQR AND iLQR: declarations ==== */

/* ==== DENSE QP: declarations ==== */
/* The data of a batch of QPs (see DENSE QP in the overview).  Element k reads X + k * X_stride;
 * a stride of 0 shares the array across the batch.  Storage, column-major:
 *   Q  n x n (ld n), symmetric PSD: only the lower triangle is read      p  n
 *   A  meq x n (ld meq)    b  meq        (unused when meq = 0; may be NULL)
 *   G  mineq x n (ld mineq) h  mineq     (unused when mineq = 0; h_i = +inf drops row i)
 *   l, u  n each when dims.box (l_j = -inf / u_j = +inf: no bound on that side), else unused */
typedef struct DOPT_FN(dopt_mpc_qp_data) {
    const DOPT_REAL *Q, *p, *A, *b, *G, *h, *l, *u;
    ptrdiff_t Q_stride, p_stride, A_stride, b_stride, G_stride, h_stride, l_stride, u_stride;
} DOPT_FN(dopt_mpc_qp_data);

/* Gradients of the loss with respect to the data, same layout as dopt_mpc_qp_data.  A NULL
 * pointer means "not wanted"; a stride of 0 sums the batch's gradients into one array.
 * dQ is the symmetric gradient (both triangles written, 1/2 (g x^T + x g^T) form): the
 * derivative along a symmetric perturbation E is sum_ij dQ_ij E_ij. */
typedef struct DOPT_FN(dopt_mpc_qp_grad) {
    DOPT_REAL *Q, *p, *A, *b, *G, *h, *l, *u;
    ptrdiff_t Q_stride, p_stride, A_stride, b_stride, G_stride, h_stride, l_stride, u_stride;
} DOPT_FN(dopt_mpc_qp_grad);

/* A batched dense QP solver object (sizes fixed at creation, batch up to max_batch). */
typedef struct DOPT_FN(dopt_mpc_qp) DOPT_FN(dopt_mpc_qp);

/* dopt_mpc_qp_workspace_size: bytes dopt_mpc_qp_create_in needs for these sizes and batch
 * capacity (per element it keeps x, the multipliers and the backward's factors:
 * about n^2 + (n + meq + mineq)(meq + mineq) + 6(n + mineq) reals).  DOPT_ERR_INVALID_ARGUMENT
 * for bad sizes. */
DOPT_API dopt_status DOPT_FN(dopt_mpc_qp_workspace_size)(const dopt_mpc_qp_dims *dims,
                                                         ptrdiff_t max_batch, size_t *bytes,
                                                         dopt_errinfo *info);

/* dopt_mpc_qp_create_in: the object carved from `memory` (`bytes` from workspace_size; no
 * allocation now or later).  DOPT_ERR_ALLOCATION when bytes is too small. */
DOPT_API dopt_status DOPT_FN(dopt_mpc_qp_create_in)(void *memory, size_t bytes,
                                                    const dopt_mpc_qp_dims *dims,
                                                    ptrdiff_t max_batch,
                                                    DOPT_FN(dopt_mpc_qp) **out, dopt_errinfo *info);

/* dopt_mpc_qp_create: workspace_size + one allocation through the hooks (copied; NULL: libc). */
DOPT_API dopt_status DOPT_FN(dopt_mpc_qp_create)(const dopt_hooks *hooks, const dopt_mpc_qp_dims *dims,
                                                 ptrdiff_t max_batch, DOPT_FN(dopt_mpc_qp) **out,
                                                 dopt_errinfo *info);

/* dopt_mpc_qp_destroy: frees an object made by dopt_mpc_qp_create; for create_in objects it
 * does nothing (the caller owns the memory).  NULL is a no-op. */
DOPT_API void DOPT_FN(dopt_mpc_qp_destroy)(DOPT_FN(dopt_mpc_qp) *qp);

/* dopt_mpc_qp_solve: solve `batch` (1..max_batch) QPs
 *     min 1/2 x^T Q x + p^T x   s.t.  A x = b,  G x <= h,  l <= x <= u
 * by a primal-dual interior point method (Mehrotra predictor-corrector; see the overview).
 *   data     the batch's data (dopt_mpc_qp_data)
 *   x        out: n reals per element at x + k * x_stride (in: the start with options.warm_start)
 *   report   optional, batch entries: result, residuals, iterations per element
 * Every element is attempted.  Returns DOPT_OK when all solved, else the status of the first
 * element that did not (info->index = that element): DOPT_ERR_NO_CONVERGENCE (infeasible,
 * unbounded, iteration limit: see report[k].result), DOPT_ERR_NON_FINITE (bad data),
 * DOPT_ERR_NOT_POSITIVE_DEFINITE (factorization failure); DOPT_ERR_INVALID_ARGUMENT /
 * DOPT_ERR_DIMENSION for bad arguments (nothing solved).  Unsolved elements get x = 0 (never a
 * NaN).  Allocates nothing. */
DOPT_API dopt_status DOPT_FN(dopt_mpc_qp_solve)(DOPT_FN(dopt_mpc_qp) *qp,
                                                const dopt_mpc_qp_options *options, ptrdiff_t batch,
                                                const DOPT_FN(dopt_mpc_qp_data) *data,
                                                DOPT_REAL *x, ptrdiff_t x_stride,
                                                dopt_mpc_qp_report *report, dopt_errinfo *info);

/* dopt_mpc_qp_multipliers: the multipliers of element k of the last solve (each may be NULL):
 * y (meq) of A x = b, z (mineq) of G x <= h, zl / zu (n) of l <= x / x <= u (0 where the bound is
 * infinite), so that Q x + p + A^T y + G^T z + zu - zl = 0, z, zl, zu >= 0.
 * DOPT_ERR_INVALID_ARGUMENT if k was not part of the last solve or did not solve. */
DOPT_API dopt_status DOPT_FN(dopt_mpc_qp_multipliers)(const DOPT_FN(dopt_mpc_qp) *qp, ptrdiff_t k,
                                                      DOPT_REAL *y, DOPT_REAL *z, DOPT_REAL *zl,
                                                      DOPT_REAL *zu, dopt_errinfo *info);

/* dopt_mpc_qp_backward: the OptNet backward pass of the last solve.  Given dL/dx (gx, n reals
 * per element at gx + k * gx_stride), writes dL/dQ, dp, dA, db, dG, dh, dl, du into `grad`
 * (NULL pointers skipped; stride-0 arrays receive the sum over the batch).  `data` must be the
 * data of the last solve, unchanged.  The KKT system is differentiated at the solution with its
 * active set: active inequalities act as equalities, inactive ones drop out, weakly active ones
 * (slack and multiplier both <= degenerate_tol) are treated as INACTIVE — the one-sided
 * derivative for perturbations that open the constraint — unless the polish needed them active
 * (see the overview).  It reuses the solve's polishing factorization (or factors at the first
 * backward after an unpolished solve; later calls reuse it).
 *   report  optional, batch entries: status per element (DOPT_OK, the forward's failure under
 *           the policy, or DOPT_ERR_NON_FINITE when a gradient came out non-finite)
 * Returns DOPT_OK, or the first failing element's status (policy FLAG / FAIL; ZERO returns
 * DOPT_OK with zero gradients for the failed elements). */
DOPT_API dopt_status DOPT_FN(dopt_mpc_qp_backward)(DOPT_FN(dopt_mpc_qp) *qp,
                                                   const dopt_mpc_qp_options *options, ptrdiff_t batch,
                                                   const DOPT_FN(dopt_mpc_qp_data) *data,
                                                   const DOPT_REAL *gx, ptrdiff_t gx_stride,
                                                   const DOPT_FN(dopt_mpc_qp_grad) *grad,
                                                   dopt_mpc_qp_report *report, dopt_errinfo *info);
/* ==== end DENSE QP: declarations ==== */

/* ==== CEM AND LML: declarations ==== */
/* ==== end CEM AND LML: declarations ==== */
#ifdef __cplusplus
}
#endif
#endif /* DOPT_MPC__PASS_DECL */

/* =============================================================================================== */
/* Generic implementation (one pass per precision).                                               */
/* =============================================================================================== */
#if defined(DOPT_MPC__PASS_IMPL) && defined(DOPT_REAL)
#ifdef __cplusplus
extern "C" {
#endif
/* ==== LQR AND iLQR: implementation ==== */
/* ==== end LQR AND iLQR: implementation ==== */

/* ==== DENSE QP: implementation ==== */
/* The object.  Per batch element it keeps (reals) x[n], y[meq], z[m], s[m], the backward's
 * factors L[n*n], Y[n*(meq+mineq)], S[(meq+mineq)^2] and (ints) the result, the active set and
 * whether the backward factor is ready.  m = mineq + 2n with bounds (row mineq+j: x_j <= u_j,
 * row mineq+n+j: -x_j <= -l_j), else mineq; rows with an infinite right side are "off". */
struct DOPT_FN(dopt_mpc_qp) {
    dopt_hooks hooks;
    void *block;                 /* the allocation of dopt_mpc_qp_create, or NULL */
    size_t block_bytes;
    dopt_mpc_qp_dims dims;
    int n, meq, mi, m, mc;       /* mc = meq + mi: most constraint rows of the backward */
    ptrdiff_t max_batch, last_batch;
    size_t elem_reals, elem_ints;
    DOPT_REAL *elem;             /* max_batch * elem_reals */
    int *ielem;                  /* max_batch * elem_ints */
    DOPT_REAL *work;             /* scratch vectors and the interior point's matrices */
    size_t vlen;                 /* length of one scratch vector */
#if DOPT_IS_FLOAT
    dopt_mpc_qp_d *inner;        /* double_inside: the double solver */
    double *cvt;                 /* double copies of one batch's data, x, gx and gradients */
    size_t cvt_len;
#endif
};


/* Pointers into one element's storage. */
typedef struct DOPT_FN(dopt__mpc_qp_slot) {
    DOPT_REAL *x, *y, *z, *s, *L, *Y, *S;
    int *head, *fre, *act, *state;
} DOPT_FN(dopt__mpc_qp_slot);

/* One element's data with the inequalities in the single form C x <= d (G rows, then the
 * bounds as +e_j and -e_j rows); on[i] is 1 for a finite row, 0 for a dropped one. */
typedef struct DOPT_FN(dopt__mpc_qp_el) {
    int n, meq, mi, m, box;
    const DOPT_REAL *Q, *p, *A, *b, *G, *h, *l, *u;
    DOPT_REAL *on, *d;
    DOPT_REAL qscale;            /* max(1, max_j Q_jj): the scale of the regularization */
} DOPT_FN(dopt__mpc_qp_el);


static DOPT_FN(dopt__mpc_qp_slot) DOPT_FN(dopt__mpc_qp_slot_of)(const DOPT_FN(dopt_mpc_qp) *qp, ptrdiff_t k)
{
    DOPT_FN(dopt__mpc_qp_slot) sl;
    DOPT_REAL *r = qp->elem + (size_t)k * qp->elem_reals;
    int *iv = qp->ielem + (size_t)k * qp->elem_ints;
    int n = qp->n, m = qp->m, mc = qp->mc;
    sl.x = r; r += n;
    sl.y = r; r += qp->meq;
    sl.z = r; r += m;
    sl.s = r; r += m;
    sl.L = r; r += (size_t)n * n;
    sl.Y = r; r += (size_t)n * mc;
    sl.S = r;
    sl.head = iv; iv += DOPT__MPC_QP_IHEAD;
    sl.fre = iv; iv += n;
    sl.act = iv; iv += qp->mi;
    sl.state = iv;
    return sl;
}

static DOPT_REAL *DOPT_FN(dopt__mpc_qp_vec)(const DOPT_FN(dopt_mpc_qp) *qp, int which)
{
    return qp->work + (size_t)which * qp->vlen;
}

/* Sizes of everything, shared by workspace_size and create_in (DOPT_IS_FLOAT: plus the inner
 * double solver and the conversion buffers when dims->double_inside). */
static void DOPT_FN(dopt__mpc_qp_sizes)(const dopt_mpc_qp_dims *d, ptrdiff_t B, size_t *elem_reals,
                                        size_t *elem_ints, size_t *vlen, size_t *work_reals)
{
    size_t n = (size_t)d->n, meq = (size_t)d->meq, mi = (size_t)d->mineq;
    size_t m = mi + (d->box ? 2 * n : 0), mc = meq + mi;
    (void)B;
    *elem_reals = n + meq + 2 * m + n * n + n * mc + mc * mc;
    *elem_ints = DOPT__MPC_QP_IHEAD + 2 * n + mi;
    *vlen = n + m + mc + 1;
    /* vectors, then H (n*n), Yw (n*meq), Sw (meq*meq), Gs (mi*n) */
    *work_reals = (size_t)DOPT__QPV_COUNT * *vlen + n * n + n * meq + meq * meq + mi * n;
}

#if DOPT_IS_FLOAT
/* Reals of the double_inside conversion buffers: data, x, gx and the gradients of a full batch. */
static size_t dopt__mpc_qp_cvt_len_f(const dopt_mpc_qp_dims *d, ptrdiff_t B)
{
    size_t n = (size_t)d->n, meq = (size_t)d->meq, mi = (size_t)d->mineq;
    size_t data = n * n + n + meq * n + meq + mi * n + mi + (d->box ? 2 * n : 0);
    return (size_t)B * (2 * data + 2 * n);
}
#endif

DOPT_API dopt_status DOPT_FN(dopt_mpc_qp_workspace_size)(const dopt_mpc_qp_dims *dims,
                                                         ptrdiff_t max_batch, size_t *bytes,
                                                         dopt_errinfo *info)
{
    size_t er, ei, vl, wr, total;
    dopt_status st = dopt__mpc_qp_check_dims(dims, max_batch, info);
    if (st != DOPT_OK) return st;
    if (!bytes) return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "mpc_qp: bytes is NULL");
    DOPT_FN(dopt__mpc_qp_sizes)(dims, max_batch, &er, &ei, &vl, &wr);
    if ((size_t)max_batch > ((size_t)-1 / 4) / (er * sizeof(DOPT_REAL) + ei * sizeof(int) + 1))
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "mpc_qp: batch too large");
    total = DOPT_WORKSPACE_ALIGN + DOPT_WORKSPACE_ROUND(sizeof(DOPT_FN(dopt_mpc_qp))) +
            DOPT_WORKSPACE_ROUND((size_t)max_batch * er * sizeof(DOPT_REAL)) +
            DOPT_WORKSPACE_ROUND((size_t)max_batch * ei * sizeof(int)) +
            DOPT_WORKSPACE_ROUND(wr * sizeof(DOPT_REAL));
#if DOPT_IS_FLOAT
    if (dims->double_inside) {
        size_t inner = 0;
        st = dopt_mpc_qp_workspace_size_d(dims, max_batch, &inner, info);
        if (st != DOPT_OK) return st;
        total += DOPT_WORKSPACE_ROUND(inner) + DOPT_WORKSPACE_ROUND(dopt__mpc_qp_cvt_len_f(dims, max_batch) * sizeof(double));
    }
#endif
    *bytes = total;
    return DOPT_OK;
}

DOPT_API dopt_status DOPT_FN(dopt_mpc_qp_create_in)(void *memory, size_t bytes,
                                                    const dopt_mpc_qp_dims *dims,
                                                    ptrdiff_t max_batch,
                                                    DOPT_FN(dopt_mpc_qp) **out, dopt_errinfo *info)
{
    dopt_workspace ws;
    DOPT_FN(dopt_mpc_qp) *qp;
    size_t need = 0, er, ei, vl, wr;
    dopt_status st;
    if (!out) return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "mpc_qp: out is NULL");
    *out = NULL;
    st = DOPT_FN(dopt_mpc_qp_workspace_size)(dims, max_batch, &need, info);
    if (st != DOPT_OK) return st;
    if (!memory || bytes < need)
        return dopt_errinfo_set(info, DOPT_ERR_ALLOCATION, -1, 0, "mpc_qp: workspace too small");
    DOPT_FN(dopt__mpc_qp_sizes)(dims, max_batch, &er, &ei, &vl, &wr);
    dopt_workspace_init(&ws, memory, bytes);
    qp = (DOPT_FN(dopt_mpc_qp) *)dopt_workspace_take(&ws, sizeof *qp);
    memset(qp, 0, sizeof *qp);
    qp->dims = *dims;
    qp->n = dims->n;
    qp->meq = dims->meq;
    qp->mi = dims->mineq;
    qp->m = dims->mineq + (dims->box ? 2 * dims->n : 0);
    qp->mc = dims->meq + dims->mineq;
    qp->max_batch = max_batch;
    qp->elem_reals = er;
    qp->elem_ints = ei;
    qp->vlen = vl;
    qp->elem = (DOPT_REAL *)dopt_workspace_take(&ws, (size_t)max_batch * er * sizeof(DOPT_REAL));
    qp->ielem = (int *)dopt_workspace_take(&ws, (size_t)max_batch * ei * sizeof(int));
    qp->work = (DOPT_REAL *)dopt_workspace_take(&ws, wr * sizeof(DOPT_REAL));
    memset(qp->ielem, 0, (size_t)max_batch * ei * sizeof(int));
    {
        ptrdiff_t k;
        for (k = 0; k < max_batch; ++k) qp->ielem[(size_t)k * ei] = DOPT_MPC_QP_NOT_SOLVED;
    }
#if DOPT_IS_FLOAT
    if (dims->double_inside) {
        size_t inner = 0;
        void *mem;
        dopt_mpc_qp_workspace_size_d(dims, max_batch, &inner, NULL);
        mem = dopt_workspace_take(&ws, inner);
        qp->cvt_len = dopt__mpc_qp_cvt_len_f(dims, max_batch);
        qp->cvt = (double *)dopt_workspace_take(&ws, qp->cvt_len * sizeof(double));
        st = dopt_mpc_qp_create_in_d(mem, inner, dims, max_batch, &qp->inner, info);
        if (st != DOPT_OK) return st;
    }
#endif
    if (!qp->elem || !qp->ielem || !qp->work)
        return dopt_errinfo_set(info, DOPT_ERR_ALLOCATION, -1, 0, "mpc_qp: workspace too small");
    *out = qp;
    return DOPT_OK;
}

DOPT_API dopt_status DOPT_FN(dopt_mpc_qp_create)(const dopt_hooks *hooks, const dopt_mpc_qp_dims *dims,
                                                 ptrdiff_t max_batch, DOPT_FN(dopt_mpc_qp) **out,
                                                 dopt_errinfo *info)
{
    size_t bytes = 0;
    void *mem;
    dopt_status st;
    if (!out) return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "mpc_qp: out is NULL");
    *out = NULL;
    st = DOPT_FN(dopt_mpc_qp_workspace_size)(dims, max_batch, &bytes, info);
    if (st != DOPT_OK) return st;
    mem = dopt_alloc(hooks, bytes);
    if (!mem) return dopt_errinfo_set(info, DOPT_ERR_ALLOCATION, -1, 0, "mpc_qp: allocation failed");
    st = DOPT_FN(dopt_mpc_qp_create_in)(mem, bytes, dims, max_batch, out, info);
    if (st != DOPT_OK) {
        dopt_free(hooks, mem, bytes);
        return st;
    }
    if (hooks) (*out)->hooks = *hooks;
    (*out)->block = mem;
    (*out)->block_bytes = bytes;
    return DOPT_OK;
}

DOPT_API void DOPT_FN(dopt_mpc_qp_destroy)(DOPT_FN(dopt_mpc_qp) *qp)
{
    dopt_hooks h;
    if (!qp || !qp->block) return;
    h = qp->hooks;
    dopt_free(&h, qp->block, qp->block_bytes);
}

/* ---- small kernels ---------------------------------------------------------------------------- */

/* y = Q x from the lower triangle of the n x n Q (ld n). */
static void DOPT_FN(dopt__mpc_qp_symv)(int n, const DOPT_REAL *Q, const DOPT_REAL *x, DOPT_REAL *y)
{
    int i, j;
    for (i = 0; i < n; ++i) y[i] = 0;
    for (j = 0; j < n; ++j) {
        const DOPT_REAL *q = Q + (size_t)j * n;
        DOPT_REAL xj = x[j], acc = q[j] * xj;
        for (i = j + 1; i < n; ++i) {
            y[i] += q[i] * xj;
            acc += q[i] * x[i];
        }
        y[j] += acc;
    }
}

/* out = C x (all m rows; rows that are off hold meaningless values). */
static void DOPT_FN(dopt__mpc_qp_cmul)(const DOPT_FN(dopt__mpc_qp_el) *e, const DOPT_REAL *x, DOPT_REAL *out)
{
    int j;
    if (e->mi) DOPT_FN(dopt_gemv)(DOPT_NOTRANS, e->mi, e->n, 1, e->G, e->mi, x, 1, 0, out, 1);
    if (e->box)
        for (j = 0; j < e->n; ++j) {
            out[e->mi + j] = x[j];
            out[e->mi + e->n + j] = -x[j];
        }
}

/* out = C^T v + beta out (v is zero on the rows that are off). */
static void DOPT_FN(dopt__mpc_qp_ctmul)(const DOPT_FN(dopt__mpc_qp_el) *e, const DOPT_REAL *v, DOPT_REAL beta,
                                        DOPT_REAL *out)
{
    int j;
    if (e->mi) DOPT_FN(dopt_gemv)(DOPT_TRANS, e->mi, e->n, 1, e->G, e->mi, v, 1, beta, out, 1);
    else if (beta == 0) for (j = 0; j < e->n; ++j) out[j] = 0;
    else for (j = 0; j < e->n; ++j) out[j] *= beta;
    if (e->box)
        for (j = 0; j < e->n; ++j) out[j] += v[e->mi + j] - v[e->mi + e->n + j];
}

static DOPT_REAL DOPT_FN(dopt__mpc_qp_amax)(int n, const DOPT_REAL *v)
{
    DOPT_REAL a = 0;
    int i;
    for (i = 0; i < n; ++i) a = DOPT_M(fabs)(v[i]) > a ? DOPT_M(fabs)(v[i]) : a;
    return a;
}

/* dopt__mpc_qp_load: element k's data pointers, the C x <= d right side and the on mask;
 * returns 0, 1 when the data is invalid (NaN, Inf in Q p A b G, h = -inf, l = +inf, u = -inf),
 * 2 when some l_j > u_j (primal infeasible). */
static int DOPT_FN(dopt__mpc_qp_load)(const DOPT_FN(dopt_mpc_qp) *qp, const DOPT_FN(dopt_mpc_qp_data) *dt,
                                      ptrdiff_t k, DOPT_FN(dopt__mpc_qp_el) *e)
{
    int n = qp->n, i, j;
    DOPT_REAL big = DOPT_IS_FLOAT ? FLT_MAX : DBL_MAX;
    e->n = n;
    e->meq = qp->meq;
    e->mi = qp->mi;
    e->m = qp->m;
    e->box = qp->dims.box;
    e->Q = dt->Q + k * dt->Q_stride;
    e->p = dt->p + k * dt->p_stride;
    e->A = qp->meq ? dt->A + k * dt->A_stride : NULL;
    e->b = qp->meq ? dt->b + k * dt->b_stride : NULL;
    e->G = qp->mi ? dt->G + k * dt->G_stride : NULL;
    e->h = qp->mi ? dt->h + k * dt->h_stride : NULL;
    e->l = e->box ? dt->l + k * dt->l_stride : NULL;
    e->u = e->box ? dt->u + k * dt->u_stride : NULL;
    e->on = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_ON);
    e->d = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_D);
    e->qscale = 1;
    for (j = 0; j < n; ++j) {
        for (i = j; i < n; ++i)
            if (!(DOPT_M(fabs)(e->Q[i + (size_t)j * n]) <= big)) return 1;
        if (e->Q[j + (size_t)j * n] > e->qscale) e->qscale = e->Q[j + (size_t)j * n];
    }
    if (!DOPT_FN(dopt_all_finite)(n, e->p)) return 1;
    if (e->meq && (!DOPT_FN(dopt_all_finite)(e->meq * n, e->A) || !DOPT_FN(dopt_all_finite)(e->meq, e->b)))
        return 1;
    if (e->mi && !DOPT_FN(dopt_all_finite)(e->mi * n, e->G)) return 1;
    for (i = 0; i < e->mi; ++i) {
        DOPT_REAL hi = e->h[i];
        if (hi != hi || hi < -big) return 1;
        e->on[i] = hi <= big ? 1 : 0;
        e->d[i] = hi <= big ? hi : 0;
    }
    if (e->box)
        for (j = 0; j < n; ++j) {
            DOPT_REAL lj = e->l[j], uj = e->u[j];
            if (lj != lj || uj != uj || lj > big || uj < -big) return 1;
            if (lj > uj) return 2;
            e->on[e->mi + j] = uj <= big ? 1 : 0;
            e->d[e->mi + j] = uj <= big ? uj : 0;
            e->on[e->mi + n + j] = lj >= -big ? 1 : 0;
            e->d[e->mi + n + j] = lj >= -big ? -lj : 0;
        }
    return 0;
}

/* ---- the interior point method ---------------------------------------------------------------- */

/* Factor the reduced KKT matrix of one Newton step,
 *     [ H  A^T ]    H = Q + rho I + C^T diag(w) C  (w = z / s on the rows that are on),
 *     [ A  -dI ]
 * as H = L L^T (into H), Yw = L^{-1} A^T (n x meq), Sw = Yw^T Yw + d I = Ls Ls^T.  rho starts at
 * 1e-10 qscale (1e-6 in float) and grows when the Cholesky fails (Q PSD but singular on the
 * free directions).  Returns 0, or 1 when no regularization up to 1e-2 qscale helps. */
static int DOPT_FN(dopt__mpc_qp_factor_ipm)(const DOPT_FN(dopt_mpc_qp) *qp, const DOPT_FN(dopt__mpc_qp_el) *e,
                                            const DOPT_REAL *w)
{
    int n = e->n, meq = e->meq, mi = e->mi, i, j, col;
    DOPT_REAL *H = qp->work + (size_t)DOPT__QPV_COUNT * qp->vlen;
    DOPT_REAL *Yw = H + (size_t)n * n, *Sw = Yw + (size_t)n * meq, *Gs = Sw + (size_t)meq * meq;
    DOPT_REAL rho = (DOPT_IS_FLOAT ? (DOPT_REAL)1e-6 : (DOPT_REAL)1e-10) * e->qscale;
    int k = 0, kr;
    /* rows whose barrier weight is negligible (far from their bound) are left out of the
     * product; the refinement of each direction sees the exact matrix */
    DOPT_REAL wdrop = (DOPT_IS_FLOAT ? (DOPT_REAL)1e-7 : (DOPT_REAL)1e-13) * e->qscale;
    for (i = 0; i < mi; ++i)
        if (w[i] > wdrop) ++k;
    for (i = 0, kr = 0; i < mi; ++i) {
        DOPT_REAL sw;
        if (!(w[i] > wdrop)) continue;
        sw = DOPT_M(sqrt)(w[i]);
        for (j = 0; j < n; ++j) Gs[kr + (size_t)j * k] = e->G[i + (size_t)j * mi] * sw;
        ++kr;
    }
    for (;;) {
        DOPT_REAL hmax = 0;
        for (j = 0; j < n; ++j) {
            for (i = j; i < n; ++i) H[i + (size_t)j * n] = e->Q[i + (size_t)j * n];
            H[j + (size_t)j * n] += rho;
            if (e->box) H[j + (size_t)j * n] += w[mi + j] + w[mi + n + j];
        }
        if (k) DOPT_FN(dopt_syrk)(DOPT_LOWER, DOPT_TRANS, n, k, 1, Gs, k, 1, H, n);
        for (j = 0; j < n; ++j) hmax = H[j + (size_t)j * n] > hmax ? H[j + (size_t)j * n] : hmax;
        if (DOPT_FN(dopt_potrf)(n, H, n, &col) == DOPT_OK) break;
        /* rounding in the large barrier terms broke the Cholesky: regularize relative to the
         * diagonal (the residuals stay exact; the refinement of each direction repairs it) */
        rho = rho < 100 * DOPT_EPS * hmax ? 100 * DOPT_EPS * hmax : rho * 100;
        if (rho > (DOPT_REAL)1e-4 * hmax) return 1;
    }
    if (meq) {
        DOPT_REAL dmax = 0, delta;
        for (i = 0; i < meq; ++i)
            for (j = 0; j < n; ++j) Yw[j + (size_t)i * n] = e->A[i + (size_t)j * meq];
        DOPT_FN(dopt_trsm)(DOPT_LEFT, DOPT_LOWER, DOPT_NOTRANS, DOPT_NONUNIT, n, meq, 1, H, n, Yw, n);
        DOPT_FN(dopt_syrk)(DOPT_LOWER, DOPT_TRANS, meq, n, 1, Yw, n, 0, Sw, meq);
        for (i = 0; i < meq; ++i) dmax = Sw[i + (size_t)i * meq] > dmax ? Sw[i + (size_t)i * meq] : dmax;
        delta = (DOPT_IS_FLOAT ? (DOPT_REAL)1e-6 : (DOPT_REAL)1e-13) * (1 + dmax);
        for (;;) {
            for (i = 0; i < meq; ++i) Sw[i + (size_t)i * meq] += delta;
            if (DOPT_FN(dopt_potrf)(meq, Sw, meq, &col) == DOPT_OK) break;
            if (delta > (DOPT_REAL)1e-2 * (1 + dmax)) return 1;
            DOPT_FN(dopt_syrk)(DOPT_LOWER, DOPT_TRANS, meq, n, 1, Yw, n, 0, Sw, meq);
            delta *= 1000;
        }
    }
    return 0;
}

/* Solve [L L^T  E^T; E  -dI] [dx; dy] = [r1; r2] given L (n x n, ld n), Y = L^{-1} E^T
 * (n x me, ld n) and the Cholesky factor of Y^T Y + dI (me x me, ld me). */
static void DOPT_FN(dopt__mpc_qp_schur_solve)(int n, int me, const DOPT_REAL *L, const DOPT_REAL *Y,
                                              const DOPT_REAL *S, const DOPT_REAL *r1, const DOPT_REAL *r2,
                                              DOPT_REAL *dx, DOPT_REAL *dy)
{
    int i;
    for (i = 0; i < n; ++i) dx[i] = r1[i];
    if (n) DOPT_FN(dopt_trsv)(DOPT_LOWER, DOPT_NOTRANS, DOPT_NONUNIT, n, L, n, dx, 1);
    if (me) {
        for (i = 0; i < me; ++i) dy[i] = -r2[i];
        if (n) DOPT_FN(dopt_gemv)(DOPT_TRANS, n, me, 1, Y, n, dx, 1, 1, dy, 1);
        DOPT_FN(dopt_potrs)(me, 1, S, me, dy, me);
        if (n) DOPT_FN(dopt_gemv)(DOPT_NOTRANS, n, me, -1, Y, n, dy, 1, 1, dx, 1);
    }
    if (n) DOPT_FN(dopt_trsv)(DOPT_LOWER, DOPT_TRANS, DOPT_NONUNIT, n, L, n, dx, 1);
}

/* The Newton system of the interior point method with the factors of factor_ipm. */
static void DOPT_FN(dopt__mpc_qp_solve_ipm)(const DOPT_FN(dopt_mpc_qp) *qp, int n, int meq, const DOPT_REAL *r1,
                                            const DOPT_REAL *r2, DOPT_REAL *dx, DOPT_REAL *dy)
{
    const DOPT_REAL *H = qp->work + (size_t)DOPT__QPV_COUNT * qp->vlen;
    const DOPT_REAL *Yw = H + (size_t)n * n, *Sw = Yw + (size_t)n * meq;
    DOPT_FN(dopt__mpc_qp_schur_solve)(n, meq, H, Yw, Sw, r1, r2, dx, dy);
}

/* The residuals of the iterate (x, y, z, s):
 *   rd = Q x + p + A^T y + C^T z,  re = A x - b,  ri = (C x + s - d) on the rows that are on,
 * and the KKT measures of x itself (with the true slack d - C x): *pres, *dres, *comp. */
static void DOPT_FN(dopt__mpc_qp_residuals)(const DOPT_FN(dopt_mpc_qp) *qp, const DOPT_FN(dopt__mpc_qp_el) *e,
                                            const DOPT_REAL *x, const DOPT_REAL *y, const DOPT_REAL *z,
                                            const DOPT_REAL *s, DOPT_REAL *pres, DOPT_REAL *dres,
                                            DOPT_REAL *comp)
{
    int n = e->n, meq = e->meq, m = e->m, i;
    DOPT_REAL *rd = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_RD), *re = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_RE);
    DOPT_REAL *ri = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_RI), *cx = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_CX);
    DOPT_REAL *t = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_T);
    DOPT_REAL pr = 0, cp = 0;
    DOPT_FN(dopt__mpc_qp_ctmul)(e, z, 0, rd);
    DOPT_FN(dopt__mpc_qp_symv)(n, e->Q, x, t);
    for (i = 0; i < n; ++i) rd[i] += t[i] + e->p[i];
    if (meq) {
        DOPT_FN(dopt_gemv)(DOPT_TRANS, meq, n, 1, e->A, meq, y, 1, 1, rd, 1);
        for (i = 0; i < meq; ++i) re[i] = -e->b[i];
        DOPT_FN(dopt_gemv)(DOPT_NOTRANS, meq, n, 1, e->A, meq, x, 1, 1, re, 1);
        pr = DOPT_FN(dopt__mpc_qp_amax)(meq, re);
    }
    DOPT_FN(dopt__mpc_qp_cmul)(e, x, cx);
    for (i = 0; i < m; ++i) {
        if (e->on[i] != 0) {
            DOPT_REAL viol = cx[i] - e->d[i], c = z[i] * DOPT_M(fabs)(viol);
            ri[i] = viol + s[i];
            if (viol > pr) pr = viol;
            if (c > cp) cp = c;
        } else {
            ri[i] = 0;
        }
    }
    *pres = pr;
    *dres = DOPT_FN(dopt__mpc_qp_amax)(n, rd);
    *comp = cp;
}

/* One step of iterative refinement of a Newton system solve against the unregularized matrix
 * [Q + C^T diag(w) C, A^T; A, 0] (the factor has rho and d and the rounding of large w). */
static void DOPT_FN(dopt__mpc_qp_refine)(const DOPT_FN(dopt_mpc_qp) *qp, const DOPT_FN(dopt__mpc_qp_el) *e,
                                         const DOPT_REAL *w, const DOPT_REAL *r1, const DOPT_REAL *r2,
                                         DOPT_REAL *dx, DOPT_REAL *dy)
{
    int n = e->n, meq = e->meq, m = e->m, i;
    DOPT_REAL *c = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_E1), *f1 = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_E2);
    DOPT_REAL *f2 = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_E3), *cx = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_E4);
    DOPT_REAL *ey;
    DOPT_FN(dopt__mpc_qp_cmul)(e, dx, cx);
    for (i = 0; i < m; ++i) c[i] = e->on[i] != 0 ? w[i] * cx[i] : 0;
    DOPT_FN(dopt__mpc_qp_ctmul)(e, c, 0, f1);
    DOPT_FN(dopt__mpc_qp_symv)(n, e->Q, dx, c);
    for (i = 0; i < n; ++i) f1[i] = r1[i] - f1[i] - c[i];
    if (meq) {
        DOPT_FN(dopt_gemv)(DOPT_TRANS, meq, n, -1, e->A, meq, dy, 1, 1, f1, 1);
        for (i = 0; i < meq; ++i) f2[i] = r2[i];
        DOPT_FN(dopt_gemv)(DOPT_NOTRANS, meq, n, -1, e->A, meq, dx, 1, 1, f2, 1);
    }
    ey = f2 + meq;
    DOPT_FN(dopt__mpc_qp_solve_ipm)(qp, n, meq, f1, f2, c, ey);
    for (i = 0; i < n; ++i) dx[i] += c[i];
    for (i = 0; i < meq; ++i) dy[i] += ey[i];
}

/* One Newton direction for the complementarity right side rc (s o z - target):
 *   H dx + A^T dy = -rd - C^T tmp,  A dx = -re,  tmp = (z o ri - rc) / s,
 *   dz = w o (C dx) + tmp,  ds = -ri - C dx   (zero on the rows that are off). */
static void DOPT_FN(dopt__mpc_qp_direction)(const DOPT_FN(dopt_mpc_qp) *qp, const DOPT_FN(dopt__mpc_qp_el) *e,
                                            const DOPT_REAL *z, const DOPT_REAL *s, const DOPT_REAL *w,
                                            const DOPT_REAL *rc, DOPT_REAL *dx, DOPT_REAL *dy,
                                            DOPT_REAL *dz, DOPT_REAL *ds)
{
    int n = e->n, meq = e->meq, m = e->m, i;
    const DOPT_REAL *rd = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_RD), *re = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_RE);
    const DOPT_REAL *ri = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_RI);
    DOPT_REAL *tmp = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_TMP), *r1 = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_R1);
    DOPT_REAL *r2 = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_R2), *cdx = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_T);
    for (i = 0; i < m; ++i) tmp[i] = e->on[i] != 0 ? (z[i] * ri[i] - rc[i]) / s[i] : 0;
    DOPT_FN(dopt__mpc_qp_ctmul)(e, tmp, 0, r1);
    for (i = 0; i < n; ++i) r1[i] = -rd[i] - r1[i];
    for (i = 0; i < meq; ++i) r2[i] = -re[i];
    DOPT_FN(dopt__mpc_qp_solve_ipm)(qp, n, meq, r1, r2, dx, dy);
    DOPT_FN(dopt__mpc_qp_refine)(qp, e, w, r1, r2, dx, dy);
    DOPT_FN(dopt__mpc_qp_cmul)(e, dx, cdx);
    for (i = 0; i < m; ++i) {
        if (e->on[i] != 0) {
            dz[i] = w[i] * cdx[i] + tmp[i];
            ds[i] = -ri[i] - cdx[i];
        } else {
            dz[i] = 0;
            ds[i] = 0;
        }
    }
}

/* Largest a in (0, cap] with v + a dv >= 0 on the rows that are on. */
static DOPT_REAL DOPT_FN(dopt__mpc_qp_max_step)(int m, const DOPT_REAL *on, const DOPT_REAL *v, const DOPT_REAL *dv,
                                               DOPT_REAL cap)
{
    DOPT_REAL a = cap;
    int i;
    for (i = 0; i < m; ++i)
        if (on[i] != 0 && dv[i] < 0 && -v[i] / dv[i] < a) a = -v[i] / dv[i];
    return a;
}

/* The step of the interior point method along (ds, dz): 0.995 of the way to the boundary, at
 * most 1; *mu_new is the mean s o z there. */
static DOPT_REAL DOPT_FN(dopt__mpc_qp_step)(int m, const DOPT_REAL *on, const DOPT_REAL *s, const DOPT_REAL *z,
                                           const DOPT_REAL *ds, const DOPT_REAL *dz, DOPT_REAL *mu_new)
{
    DOPT_REAL a = DOPT_FN(dopt__mpc_qp_max_step)(m, on, s, ds, (DOPT_REAL)(1 / 0.995));
    DOPT_REAL az = DOPT_FN(dopt__mpc_qp_max_step)(m, on, z, dz, (DOPT_REAL)(1 / 0.995)), mu = 0;
    int i, c = 0;
    a = (az < a ? az : a) * (DOPT_REAL)0.995;
    for (i = 0; i < m; ++i)
        if (on[i] != 0) {
            mu += (s[i] + a * ds[i]) * (z[i] + a * dz[i]);
            ++c;
        }
    *mu_new = c ? mu / c : 0;
    return a;
}

/* Is (y, z) (z >= 0 on the rows that are on) a certificate of primal infeasibility,
 * A^T y + C^T z ~ 0 and b^T y + d^T z < 0, relative to its size? */
static int DOPT_FN(dopt__mpc_qp_primal_cert)(const DOPT_FN(dopt_mpc_qp) *qp, const DOPT_FN(dopt__mpc_qp_el) *e,
                                             const DOPT_REAL *y, const DOPT_REAL *z, DOPT_REAL eps)
{
    int n = e->n, meq = e->meq, m = e->m, i;
    DOPT_REAL *t = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_E4), nu, bd = 0;
    nu = DOPT_FN(dopt__mpc_qp_amax)(meq, y);
    for (i = 0; i < m; ++i) {
        if (e->on[i] == 0) continue;
        if (z[i] < 0) return 0;
        if (z[i] > nu) nu = z[i];
        bd += e->d[i] * z[i];
    }
    if (!(nu > 0)) return 0;
    for (i = 0; i < meq; ++i) bd += e->b[i] * y[i];
    if (!(bd < -eps * nu)) return 0;
    DOPT_FN(dopt__mpc_qp_ctmul)(e, z, 0, t);
    if (meq) DOPT_FN(dopt_gemv)(DOPT_TRANS, meq, n, 1, e->A, meq, y, 1, 1, t, 1);
    return DOPT_FN(dopt__mpc_qp_amax)(n, t) <= eps * nu;
}

/* Is dx a ray of unbounded descent, Q dx ~ 0, A dx ~ 0, C dx <= ~0, p^T dx < 0 (relative)? */
static int DOPT_FN(dopt__mpc_qp_dual_cert)(const DOPT_FN(dopt_mpc_qp) *qp, const DOPT_FN(dopt__mpc_qp_el) *e,
                                           const DOPT_REAL *dx, DOPT_REAL eps)
{
    int n = e->n, meq = e->meq, m = e->m, i;
    DOPT_REAL *t = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_E4), nu = DOPT_FN(dopt__mpc_qp_amax)(n, dx), pd = 0;
    if (!(nu > 0)) return 0;
    for (i = 0; i < n; ++i) pd += e->p[i] * dx[i];
    if (!(pd < -eps * nu)) return 0;
    DOPT_FN(dopt__mpc_qp_symv)(n, e->Q, dx, t);
    if (DOPT_FN(dopt__mpc_qp_amax)(n, t) > eps * nu * e->qscale) return 0;
    if (meq) {
        DOPT_FN(dopt_gemv)(DOPT_NOTRANS, meq, n, 1, e->A, meq, dx, 1, 0, t, 1);
        if (DOPT_FN(dopt__mpc_qp_amax)(meq, t) > eps * nu) return 0;
    }
    DOPT_FN(dopt__mpc_qp_cmul)(e, dx, t);
    for (i = 0; i < m; ++i)
        if (e->on[i] != 0 && t[i] > eps * nu) return 0;
    return 1;
}

/* The starting point: x from the regularized problem with w = 1 on every row that is on
 * (min 1/2 x^T Q x + p^T x + 1/2 |C x - d|^2 s.t. A x = b), or the caller's x (warm); then
 * s = d - C x and z shifted to be positive as in Vandenberghe's CVXOPT notes. */
static int DOPT_FN(dopt__mpc_qp_start)(const DOPT_FN(dopt_mpc_qp) *qp, const DOPT_FN(dopt__mpc_qp_el) *e,
                                       int warm, int has_duals, DOPT_REAL *x, DOPT_REAL *y,
                                       DOPT_REAL *z, DOPT_REAL *s)
{
    int n = e->n, meq = e->meq, m = e->m, i;
    DOPT_REAL *w = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_W), *r1 = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_R1);
    DOPT_REAL *r2 = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_R2), *cx = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_CX);
    DOPT_REAL *tmp = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_TMP);
    DOPT_REAL shift_s = 0, shift_z = 0;
    if (!warm) {
        for (i = 0; i < m; ++i) {
            w[i] = e->on[i];
            tmp[i] = e->on[i] != 0 ? e->d[i] : 0;
        }
        if (DOPT_FN(dopt__mpc_qp_factor_ipm)(qp, e, w)) return 1;
        DOPT_FN(dopt__mpc_qp_ctmul)(e, tmp, 0, r1);
        for (i = 0; i < n; ++i) r1[i] -= e->p[i];
        for (i = 0; i < meq; ++i) r2[i] = e->b[i];
        DOPT_FN(dopt__mpc_qp_solve_ipm)(qp, n, meq, r1, r2, x, y);
    } else if (!has_duals) {
        for (i = 0; i < meq; ++i) y[i] = 0;
    }
    DOPT_FN(dopt__mpc_qp_cmul)(e, x, cx);
    for (i = 0; i < m; ++i) {
        if (e->on[i] == 0) {
            s[i] = 1;
            z[i] = 0;
            continue;
        }
        s[i] = e->d[i] - cx[i];
        if (-s[i] > shift_s) shift_s = -s[i];
    }
    if (warm) {
        /* keep a positive margin: the interior point method needs s, z > 0 well inside */
        for (i = 0; i < m; ++i)
            if (e->on[i] != 0) {
                if (s[i] < (DOPT_REAL)1e-2) s[i] = (DOPT_REAL)1e-2;
                if (!has_duals || z[i] < (DOPT_REAL)1e-2) z[i] = has_duals ? (DOPT_REAL)1e-2 : 1;
            }
        return 0;
    }
    for (i = 0; i < m; ++i)
        if (e->on[i] != 0) {
            z[i] = -s[i];
            if (-z[i] > shift_z) shift_z = -z[i];
        }
    /* CVXOPT: s += (1 + max(0, -min s)), likewise z, when the minimum is not positive */
    for (i = 0; i < m; ++i)
        if (e->on[i] != 0) {
            s[i] += 1 + shift_s;
            z[i] += 1 + shift_z;
        }
    return 0;
}

/* Count of constraints with slack and multiplier both <= dtol (weakly active). */
static int DOPT_FN(dopt__mpc_qp_weak)(const DOPT_FN(dopt__mpc_qp_el) *e, const DOPT_REAL *z, const DOPT_REAL *s,
                                      DOPT_REAL dtol)
{
    int i, c = 0;
    for (i = 0; i < e->m; ++i) c += e->on[i] != 0 && s[i] <= dtol && z[i] <= dtol;
    return c;
}

/* ---- the backward pass ------------------------------------------------------------------------ */

/* Factor the KKT matrix of the active set of a solved element, into its slot:
 *   free variables F (no bound active), active G rows (slack < multiplier, not weakly active),
 *   L L^T = Q_FF + rho I,  Y = L^{-1} E_F^T with E = [A; G_act],  Ls Ls^T = Y^T Y + d I.
 * Returns 0, or 1 when the regularization cannot make Q_FF + rho I positive definite. */
static int DOPT_FN(dopt__mpc_qp_factor_bwd)(const DOPT_FN(dopt__mpc_qp_el) *e, DOPT_REAL dtol, int weak_active,
                                            DOPT_FN(dopt__mpc_qp_slot) *sl)
{
    int n = e->n, meq = e->meq, mi = e->mi, nf = 0, na = 0, me, i, j, r, col;
    const DOPT_REAL *z = sl->z, *s = sl->s;
    DOPT_REAL rho = (DOPT_IS_FLOAT ? (DOPT_REAL)1e-6 : (DOPT_REAL)1e-11) * e->qscale, dmax = 0, delta;
#define DOPT__QP_ACTIVE(i) (e->on[i] != 0 && ((s[i] <= dtol && z[i] <= dtol) ? weak_active : z[i] > s[i]))
    for (i = 0; i < mi; ++i)
        if (DOPT__QP_ACTIVE(i)) sl->act[na++] = i;
    for (j = 0; j < n; ++j) {
        int iu = mi + j, il = mi + n + j, up = 0, lo = 0;
        if (e->box) {
            up = DOPT__QP_ACTIVE(iu);
            lo = DOPT__QP_ACTIVE(il);
        }
        sl->state[j] = up && (!lo || z[iu] >= z[il]) ? 1 : lo ? -1 : 0;
        if (sl->state[j] == 0) sl->fre[nf++] = j;
    }
#undef DOPT__QP_ACTIVE
    me = meq + na;
    sl->head[2] = nf;
    sl->head[3] = na;
    for (;;) {
        for (j = 0; j < nf; ++j) {
            for (i = j; i < nf; ++i) sl->L[i + (size_t)j * nf] = e->Q[sl->fre[i] + (size_t)sl->fre[j] * n];
            sl->L[j + (size_t)j * nf] += rho;
        }
        if (nf == 0 || DOPT_FN(dopt_potrf)(nf, sl->L, nf, &col) == DOPT_OK) break;
        rho *= 1000;
        if (rho > (DOPT_REAL)1e-2 * e->qscale) return 1;
    }
    if (!me) return 0;
    for (r = 0; r < me; ++r)
        for (j = 0; j < nf; ++j)
            sl->Y[j + (size_t)r * nf] = r < meq ? e->A[r + (size_t)sl->fre[j] * meq]
                                                : e->G[sl->act[r - meq] + (size_t)sl->fre[j] * mi];
    if (nf) {
        DOPT_FN(dopt_trsm)(DOPT_LEFT, DOPT_LOWER, DOPT_NOTRANS, DOPT_NONUNIT, nf, me, 1, sl->L, nf, sl->Y, nf);
        DOPT_FN(dopt_syrk)(DOPT_LOWER, DOPT_TRANS, me, nf, 1, sl->Y, nf, 0, sl->S, me);
    } else {
        for (j = 0; j < me; ++j) for (i = j; i < me; ++i) sl->S[i + (size_t)j * me] = 0;
    }
    for (i = 0; i < me; ++i) dmax = sl->S[i + (size_t)i * me] > dmax ? sl->S[i + (size_t)i * me] : dmax;
    delta = (DOPT_IS_FLOAT ? (DOPT_REAL)1e-6 : (DOPT_REAL)1e-13) * (1 + dmax);
    for (;;) {
        for (i = 0; i < me; ++i) sl->S[i + (size_t)i * me] += delta;
        if (DOPT_FN(dopt_potrf)(me, sl->S, me, &col) == DOPT_OK) return 0;
        if (delta > (DOPT_REAL)1e-2 * (1 + dmax)) return 1;
        if (nf) DOPT_FN(dopt_syrk)(DOPT_LOWER, DOPT_TRANS, me, nf, 1, sl->Y, nf, 0, sl->S, me);
        else for (j = 0; j < me; ++j) for (i = j; i < me; ++i) sl->S[i + (size_t)j * me] = 0;
        delta *= 1000;
    }
}

/* Solve the active-set KKT system of a solved element with its factors,
 *     [Q_FF  E_F^T] [v_F]   [r1_F]
 *     [E_F   0    ] [lam] = [r2  ]      E = [A; G_active],
 * with two steps of iterative refinement against the unregularized matrix.  r1 has n entries
 * (only the free ones are read), r2 meq + na.  Out: v (n, zero on the variables at a bound) and
 * lam (equality rows, then the active G rows).  The backward's adjoint (r1 = dL/dx, r2 = 0) and
 * the forward's polishing step both use it. */
static void DOPT_FN(dopt__mpc_qp_active_solve)(const DOPT_FN(dopt_mpc_qp) *qp, const DOPT_FN(dopt__mpc_qp_el) *e,
                                               const DOPT_FN(dopt__mpc_qp_slot) *sl, const DOPT_REAL *r1,
                                               const DOPT_REAL *r2, DOPT_REAL *v, DOPT_REAL *lam)
{
    int n = e->n, meq = e->meq, mi = e->mi, nf = sl->head[2], na = sl->head[3], me = meq + na, i, r, step;
    DOPT_REAL *f1 = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_E1), *f2 = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_E2);
    DOPT_REAL *cf = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_E3), *cl = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_DZA);
    DOPT_REAL *t = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_T), *u = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_TMP);
    for (i = 0; i < n; ++i) v[i] = 0;
    for (r = 0; r < me; ++r) lam[r] = 0;
    for (i = 0; i < nf; ++i) f1[i] = r1[sl->fre[i]];
    for (r = 0; r < me; ++r) f2[r] = r2[r];
    for (step = 0; step < 3; ++step) {
        DOPT_FN(dopt__mpc_qp_schur_solve)(nf, me, sl->L, sl->Y, sl->S, f1, f2, cf, cl);
        for (i = 0; i < nf; ++i) v[sl->fre[i]] += cf[i];
        for (r = 0; r < me; ++r) lam[r] += cl[r];
        if (step == 2) break;
        /* residual: f1 = r1_F - (Q v + A^T lam_A + G_act^T lam_G)_F,  f2 = r2 - E v */
        DOPT_FN(dopt__mpc_qp_symv)(n, e->Q, v, t);
        if (meq) DOPT_FN(dopt_gemv)(DOPT_TRANS, meq, n, 1, e->A, meq, lam, 1, 1, t, 1);
        for (r = 0; r < na; ++r) DOPT_FN(dopt_axpy)(n, lam[meq + r], e->G + sl->act[r], mi, t, 1);
        for (i = 0; i < nf; ++i) f1[i] = r1[sl->fre[i]] - t[sl->fre[i]];
        if (meq) DOPT_FN(dopt_gemv)(DOPT_NOTRANS, meq, n, 1, e->A, meq, v, 1, 0, u, 1);
        for (r = 0; r < meq; ++r) f2[r] = r2[r] - u[r];
        for (r = 0; r < na; ++r) f2[meq + r] = r2[meq + r] - DOPT_FN(dopt_dot)(n, e->G + sl->act[r], mi, v, 1);
    }
}

/* Polish a solved element: x from the active-set KKT system (bounds held at l or u, active G
 * rows as equalities), the multipliers from its solution; kept when its KKT measures are
 * within the tolerance (x then has the accuracy of a direct solve, not of the interior point
 * iterate).  The factors stay for the backward either way.  Returns 1 when kept. */
static int DOPT_FN(dopt__mpc_qp_polish)(const DOPT_FN(dopt_mpc_qp) *qp, const DOPT_FN(dopt__mpc_qp_el) *e,
                                        DOPT_FN(dopt__mpc_qp_slot) *sl, DOPT_REAL tol, dopt_mpc_qp_report *rep)
{
    int n = e->n, meq = e->meq, mi = e->mi, m = e->m, na = sl->head[3], i, j, r;
    DOPT_REAL *xb = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_DX), *r1 = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_R1);
    DOPT_REAL *r2 = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_R2), *xn = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_DY);
    DOPT_REAL *lam = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_DS), *zn = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_DZ);
    DOPT_REAL *sn = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_DSA), *t = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_W);
    DOPT_REAL *yn = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_RC), *cx = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_CX);
    DOPT_REAL pres, dres, comp;
    for (j = 0; j < n; ++j) xb[j] = sl->state[j] > 0 ? e->u[j] : sl->state[j] < 0 ? e->l[j] : 0;
    DOPT_FN(dopt__mpc_qp_symv)(n, e->Q, xb, t);
    for (j = 0; j < n; ++j) r1[j] = -e->p[j] - t[j];
    if (meq) {
        for (r = 0; r < meq; ++r) r2[r] = e->b[r];
        DOPT_FN(dopt_gemv)(DOPT_NOTRANS, meq, n, -1, e->A, meq, xb, 1, 1, r2, 1);
    }
    for (r = 0; r < na; ++r) r2[meq + r] = e->h[sl->act[r]] - DOPT_FN(dopt_dot)(n, e->G + sl->act[r], mi, xb, 1);
    DOPT_FN(dopt__mpc_qp_active_solve)(qp, e, sl, r1, r2, xn, lam);
    for (j = 0; j < n; ++j) xn[j] += xb[j];
    for (r = 0; r < meq; ++r) yn[r] = lam[r];
    for (i = 0; i < m; ++i) zn[i] = 0;
    for (r = 0; r < na; ++r) zn[sl->act[r]] = lam[meq + r];
    /* bound multipliers from stationarity on the fixed variables: zu - zl = -(Q x + p + A^T y + G^T z) */
    DOPT_FN(dopt__mpc_qp_symv)(n, e->Q, xn, t);
    for (j = 0; j < n; ++j) t[j] += e->p[j];
    if (meq) DOPT_FN(dopt_gemv)(DOPT_TRANS, meq, n, 1, e->A, meq, yn, 1, 1, t, 1);
    if (mi) DOPT_FN(dopt_gemv)(DOPT_TRANS, mi, n, 1, e->G, mi, zn, 1, 1, t, 1);
    for (j = 0; j < n; ++j) {
        if (sl->state[j] > 0) zn[mi + j] = -t[j];
        if (sl->state[j] < 0) zn[mi + n + j] = t[j];
    }
    for (i = 0; i < m; ++i)
        if (e->on[i] != 0 && zn[i] < 0) {
            if (zn[i] < -tol) {
#ifdef DOPT_QP_TRACE
                fprintf(stderr, "polish: multiplier %d = %g\n", i, (double)zn[i]);
#endif
                return 0; /* wrong active set: keep the interior point solution */
            }
            zn[i] = 0;
        }
    DOPT_FN(dopt__mpc_qp_cmul)(e, xn, cx);
    for (i = 0; i < m; ++i) sn[i] = e->on[i] != 0 ? (e->d[i] - cx[i] > 0 ? e->d[i] - cx[i] : 0) : 1;
    DOPT_FN(dopt__mpc_qp_residuals)(qp, e, xn, yn, zn, sn, &pres, &dres, &comp);
#ifdef DOPT_QP_TRACE
    fprintf(stderr, "polish: pres %g dres %g comp %g\n", (double)pres, (double)dres, (double)comp);
#endif
    if (!(pres <= tol && dres <= tol && comp <= tol)) return 0;
    for (j = 0; j < n; ++j) sl->x[j] = xn[j];
    for (r = 0; r < meq; ++r) sl->y[r] = yn[r];
    for (i = 0; i < m; ++i) {
        sl->z[i] = zn[i];
        sl->s[i] = sn[i];
    }
    if (rep) {
        rep->primal_residual = pres;
        rep->dual_residual = dres;
        rep->complementarity = comp;
    }
    return 1;
}

/* The polishing step with its two readings of the weakly active constraints (inactive first;
 * held active when the solution needs them).  Leaves the active-set factors for the backward
 * (head[1]); returns 1 when x and the multipliers were replaced. */
static int DOPT_FN(dopt__mpc_qp_try_polish)(const DOPT_FN(dopt_mpc_qp) *qp, const DOPT_FN(dopt__mpc_qp_el) *e,
                                            const dopt_mpc_qp_options *o, DOPT_FN(dopt__mpc_qp_slot) *sl,
                                            dopt_mpc_qp_report *rep)
{
    /* at the interior point's mu a weakly active pair has slack and multiplier near sqrt(mu) */
    DOPT_REAL dtol = (DOPT_REAL)o->degenerate_tol, mu = 0;
    int done = 0, i, c = 0;
    for (i = 0; i < e->m; ++i)
        if (e->on[i] != 0) {
            mu += sl->s[i] * sl->z[i];
            ++c;
        }
    mu = c ? mu / c : 0;
    if (10 * DOPT_M(sqrt)(mu) > dtol) dtol = 10 * DOPT_M(sqrt)(mu);
    sl->head[1] = 0;
    if (DOPT_FN(dopt__mpc_qp_factor_bwd)(e, dtol, 0, sl) == 0) {
        sl->head[1] = 1;
        done = DOPT_FN(dopt__mpc_qp_polish)(qp, e, sl, (DOPT_REAL)o->tol, rep);
    }
    if (!done && DOPT_FN(dopt__mpc_qp_weak)(e, sl->z, sl->s, dtol) > 0 &&
        DOPT_FN(dopt__mpc_qp_factor_bwd)(e, dtol, 1, sl) == 0) {
        done = DOPT_FN(dopt__mpc_qp_polish)(qp, e, sl, (DOPT_REAL)o->tol, rep);
        sl->head[1] = done;
    }
    return done;
}

/* Solve element e into slot sl (x, y, z, s); returns the result and fills the report. */
static dopt_mpc_qp_result DOPT_FN(dopt__mpc_qp_ipm)(const DOPT_FN(dopt_mpc_qp) *qp, const DOPT_FN(dopt__mpc_qp_el) *e,
                                                    const dopt_mpc_qp_options *o, int warm, int has_duals,
                                                    DOPT_FN(dopt__mpc_qp_slot) *sl, dopt_mpc_qp_report *rep)
{
    int n = e->n, meq = e->meq, m = e->m, i, it, stalls = 0, mon = 0, early = 0;
    DOPT_REAL *x = sl->x, *y = sl->y, *z = sl->z, *s = sl->s;
    DOPT_REAL *w = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_W), *rc = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_RC);
    DOPT_REAL *dx = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_DX), *dy = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_DY);
    DOPT_REAL *dz = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_DZ), *ds = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_DS);
    DOPT_REAL *dza = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_DZA), *dsa = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_DSA);
    DOPT_REAL tol = (DOPT_REAL)o->tol, pres = 0, dres = 0, comp = 0;
    DOPT_REAL eps_inf = DOPT_IS_FLOAT ? (DOPT_REAL)1e-5 : (DOPT_REAL)1e-9;
    DOPT_REAL wmax = DOPT_IS_FLOAT ? (DOPT_REAL)(1 / (256 * DOPT_EPS)) * e->qscale : (DOPT_REAL)1e300;
    DOPT_REAL mu0 = 0, r0 = 0;
    dopt_mpc_qp_result res = DOPT_MPC_QP_MAX_ITER;
    for (i = 0; i < m; ++i) mon += e->on[i] != 0;
    if (DOPT_FN(dopt__mpc_qp_start)(qp, e, warm, has_duals, x, y, z, s)) return DOPT_MPC_QP_NUMERICAL;
    for (it = 0;; ++it) {
        DOPT_REAL mu = 0, mu_aff = 0, mu_new = 0, a_aff, a, sigma = 0, mu_floor;
        DOPT_FN(dopt__mpc_qp_residuals)(qp, e, x, y, z, s, &pres, &dres, &comp);
        if (!(pres == pres && dres == dres && comp == comp)) { res = DOPT_MPC_QP_NUMERICAL; break; }
        if (pres <= tol && dres <= tol && comp <= tol) { res = DOPT_MPC_QP_SOLVED; break; }
        if (!o->no_polish && early < 2 && pres <= 1000 * tol && dres <= 1000 * tol && comp <= 1000 * tol) {
            /* close enough to know the active set: a polishing step may finish now */
            ++early;
            if (DOPT_FN(dopt__mpc_qp_try_polish)(qp, e, o, sl, rep)) {
                rep->polished = 1;
                res = DOPT_MPC_QP_SOLVED;
                break;
            }
            DOPT_FN(dopt__mpc_qp_residuals)(qp, e, x, y, z, s, &pres, &dres, &comp);
        }
        if (it >= o->max_iter || stalls >= 3) {
            /* no progress: on an infeasible problem the steps collapse while the multipliers
             * grow along a Farkas direction; accept that direction at a looser tolerance here */
            if (pres > tol && DOPT_FN(dopt__mpc_qp_primal_cert)(qp, e, y, z, (DOPT_REAL)1e-2)) res = DOPT_MPC_QP_PRIMAL_INFEASIBLE;
            break;
        }
        if (it > 0 && DOPT_FN(dopt__mpc_qp_primal_cert)(qp, e, y, z, eps_inf)) { res = DOPT_MPC_QP_PRIMAL_INFEASIBLE; break; }
        for (i = 0; i < m; ++i) {
            w[i] = e->on[i] != 0 ? z[i] / s[i] : 0;
            if (w[i] > wmax) w[i] = wmax; /* float: keep H factorable (the residuals stay exact) */
            mu += e->on[i] != 0 ? s[i] * z[i] : 0;
        }
        mu = mon ? mu / mon : 0;
        {
            /* infeasibility of the iterate (ri, re), kept proportional to mu (Kojima, Megiddo and
             * Mizuno's neighbourhood): mu may not fall much faster than the residual, so on an
             * infeasible problem the steps stay long and the multipliers grow into a certificate */
            DOPT_REAL rinf = DOPT_FN(dopt__mpc_qp_amax)(m, DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_RI));
            DOPT_REAL reinf = DOPT_FN(dopt__mpc_qp_amax)(meq, DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_RE));
            if (reinf > rinf) rinf = reinf;
            if (it == 0) { mu0 = mu; r0 = rinf; }
            mu_floor = r0 > 0 ? (DOPT_REAL)0.1 * mu0 * rinf / r0 : 0;
        }
        if (DOPT_FN(dopt__mpc_qp_factor_ipm)(qp, e, w)) { res = DOPT_MPC_QP_NUMERICAL; break; }
        /* predictor (affine scaling): target s o z = 0 */
        for (i = 0; i < m; ++i) rc[i] = e->on[i] != 0 ? s[i] * z[i] : 0;
        DOPT_FN(dopt__mpc_qp_direction)(qp, e, z, s, w, rc, dx, dy, dza, dsa);
        if (it > 0 && (DOPT_FN(dopt__mpc_qp_dual_cert)(qp, e, dx, eps_inf) ||
                       DOPT_FN(dopt__mpc_qp_dual_cert)(qp, e, x, eps_inf))) {
            res = DOPT_MPC_QP_DUAL_INFEASIBLE;
            break;
        }
        if (mon) {
            a_aff = DOPT_FN(dopt__mpc_qp_max_step)(m, e->on, s, dsa, 1);
            a = DOPT_FN(dopt__mpc_qp_max_step)(m, e->on, z, dza, 1);
            if (a < a_aff) a_aff = a;
            for (i = 0; i < m; ++i)
                if (e->on[i] != 0) mu_aff += (s[i] + a_aff * dsa[i]) * (z[i] + a_aff * dza[i]);
            mu_aff /= mon;
            sigma = mu > 0 ? mu_aff / mu : 0;
            sigma = sigma * sigma * sigma;
            if (sigma > 1) sigma = 1;
            /* complementarity far below the tolerance only makes H worse conditioned */
            if (mu > (DOPT_REAL)0.01 * tol && sigma * mu < (DOPT_REAL)0.01 * tol) sigma = (DOPT_REAL)0.01 * tol / mu;
            if (mu > 0 && sigma * mu < mu_floor) sigma = mu_floor / mu < 1 ? mu_floor / mu : 1;
            /* corrector: target s o z = sigma mu - dsa o dza */
            for (i = 0; i < m; ++i) rc[i] = e->on[i] != 0 ? s[i] * z[i] + dsa[i] * dza[i] - sigma * mu : 0;
            DOPT_FN(dopt__mpc_qp_direction)(qp, e, z, s, w, rc, dx, dy, dz, ds);
            a = DOPT_FN(dopt__mpc_qp_step)(m, e->on, s, z, ds, dz, &mu_new);
            if (a < (DOPT_REAL)0.1 || mu_new > mu) {
                /* the second-order term misled the step (Mehrotra's method can cycle): take the
                 * centred direction without it this time */
                if (sigma < (DOPT_REAL)0.1) sigma = (DOPT_REAL)0.1;
                for (i = 0; i < m; ++i) rc[i] = e->on[i] != 0 ? s[i] * z[i] - sigma * mu : 0;
                DOPT_FN(dopt__mpc_qp_direction)(qp, e, z, s, w, rc, dx, dy, dz, ds);
                a = DOPT_FN(dopt__mpc_qp_step)(m, e->on, s, z, ds, dz, &mu_new);
            }
        } else {
            a = 1;
        }
        stalls = a < (DOPT_REAL)1e-8 ? stalls + 1 : 0;
#ifdef DOPT_QP_TRACE
        fprintf(stderr, "it %d mu %g sigma %g a %g pres %g dres %g comp %g\n", it, (double)mu, (double)sigma, (double)a, (double)pres, (double)dres, (double)comp);
#endif
        for (i = 0; i < n; ++i) x[i] += a * dx[i];
        for (i = 0; i < meq; ++i) y[i] += a * dy[i];
        for (i = 0; i < m; ++i)
            if (e->on[i] != 0) {
                z[i] += a * dz[i];
                s[i] += a * ds[i];
            }
    }
    if (rep) {
        DOPT_REAL obj = 0;
        DOPT_REAL *t = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_T);
        DOPT_FN(dopt__mpc_qp_symv)(n, e->Q, x, t);
        for (i = 0; i < n; ++i) obj += x[i] * ((DOPT_REAL)0.5 * t[i] + e->p[i]);
        rep->iterations = it;
        if (!rep->polished) {
            rep->primal_residual = pres;
            rep->dual_residual = dres;
            rep->complementarity = comp;
        }
        rep->objective = obj;
    }
    return res;
}

/* dopt__mpc_qp_check_data: the pointers a solve or backward needs. */
static dopt_status DOPT_FN(dopt__mpc_qp_check_data)(const DOPT_FN(dopt_mpc_qp) *qp, ptrdiff_t batch,
                                                    const DOPT_FN(dopt_mpc_qp_data) *dt, dopt_errinfo *info)
{
    if (!dt || !dt->Q || !dt->p || (qp->meq && (!dt->A || !dt->b)) || (qp->mi && (!dt->G || !dt->h)) ||
        (qp->dims.box && (!dt->l || !dt->u)))
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "mpc_qp: data array missing");
    if (dt->Q_stride < 0 || dt->p_stride < 0 || dt->A_stride < 0 || dt->b_stride < 0 || dt->G_stride < 0 ||
        dt->h_stride < 0 || dt->l_stride < 0 || dt->u_stride < 0)
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "mpc_qp: negative stride");
    if (batch < 1 || batch > qp->max_batch)
        return dopt_errinfo_set(info, DOPT_ERR_DIMENSION, -1, 0, "mpc_qp: batch outside 1..max_batch");
    return DOPT_OK;
}

#if DOPT_IS_FLOAT
static dopt_status dopt__mpc_qp_solve_inner_f(dopt_mpc_qp_f *qp, const dopt_mpc_qp_options *options,
                                              ptrdiff_t batch, const dopt_mpc_qp_data_f *data, float *x,
                                              ptrdiff_t x_stride, dopt_mpc_qp_report *report, dopt_errinfo *info);
static dopt_status dopt__mpc_qp_backward_inner_f(dopt_mpc_qp_f *qp, const dopt_mpc_qp_options *options,
                                                 ptrdiff_t batch, const float *gx, ptrdiff_t gx_stride,
                                                 const dopt_mpc_qp_grad_f *grad, dopt_mpc_qp_report *report,
                                                 dopt_errinfo *info);
#endif

DOPT_API dopt_status DOPT_FN(dopt_mpc_qp_solve)(DOPT_FN(dopt_mpc_qp) *qp,
                                                const dopt_mpc_qp_options *options, ptrdiff_t batch,
                                                const DOPT_FN(dopt_mpc_qp_data) *data,
                                                DOPT_REAL *x, ptrdiff_t x_stride,
                                                dopt_mpc_qp_report *report, dopt_errinfo *info)
{
    dopt_mpc_qp_options o;
    dopt_status st, first = DOPT_OK;
    ptrdiff_t k;
    int n, i;
    if (!qp || !x) return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "mpc_qp: qp or x is NULL");
    st = dopt__mpc_qp_resolve(options, DOPT_IS_FLOAT && !qp->dims.double_inside, &o, info);
    if (st != DOPT_OK) return st;
    st = DOPT_FN(dopt__mpc_qp_check_data)(qp, batch, data, info);
    if (st != DOPT_OK) return st;
    n = qp->n;
    if (batch > 1 && x_stride < n)
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "mpc_qp: x_stride < n");
#if DOPT_IS_FLOAT
    if (qp->dims.double_inside) return dopt__mpc_qp_solve_inner_f(qp, &o, batch, data, x, x_stride, report, info);
#endif
    if (info) info->status = DOPT_OK;
    qp->last_batch = batch;
    for (k = 0; k < batch; ++k) {
        DOPT_FN(dopt__mpc_qp_slot) sl = DOPT_FN(dopt__mpc_qp_slot_of)(qp, k);
        DOPT_FN(dopt__mpc_qp_el) e;
        dopt_mpc_qp_report rep;
        dopt_mpc_qp_result res;
        DOPT_REAL *xk = x + k * x_stride;
        sl.head[1] = 0;
        int load, warm = o.warm_start;
        memset(&rep, 0, sizeof rep);
        load = DOPT_FN(dopt__mpc_qp_load)(qp, data, k, &e);
        if (warm && !DOPT_FN(dopt_all_finite)(n, xk)) warm = 0;
        if (warm) for (i = 0; i < n; ++i) sl.x[i] = xk[i];
        if (load == 1) res = DOPT_MPC_QP_INVALID_DATA;
        else if (load == 2) res = DOPT_MPC_QP_PRIMAL_INFEASIBLE;
        else res = DOPT_FN(dopt__mpc_qp_ipm)(qp, &e, &o, warm, warm && sl.head[5], &sl, &rep);
        if (res == DOPT_MPC_QP_SOLVED && !o.no_polish && !rep.polished)
            rep.polished = DOPT_FN(dopt__mpc_qp_try_polish)(qp, &e, &o, &sl, &rep);
        sl.head[0] = (int)res;
        sl.head[5] = res == DOPT_MPC_QP_SOLVED;
        if (res == DOPT_MPC_QP_SOLVED) rep.weakly_active = DOPT_FN(dopt__mpc_qp_weak)(&e, sl.z, sl.s, (DOPT_REAL)o.degenerate_tol);
        if (load == 0 && DOPT_FN(dopt_all_finite)(n, sl.x)) for (i = 0; i < n; ++i) xk[i] = sl.x[i];
        else for (i = 0; i < n; ++i) xk[i] = 0;
        rep.result = res;
        rep.status = dopt__mpc_qp_status_of(res);
        if (report) report[k] = rep;
        if (rep.status != DOPT_OK && first == DOPT_OK) {
            first = rep.status;
            dopt_errinfo_set(info, first, (long)k, 0, dopt_mpc_qp_result_string(res));
        }
    }
    return first;
}

DOPT_API dopt_status DOPT_FN(dopt_mpc_qp_multipliers)(const DOPT_FN(dopt_mpc_qp) *qp, ptrdiff_t k,
                                                      DOPT_REAL *y, DOPT_REAL *z, DOPT_REAL *zl,
                                                      DOPT_REAL *zu, dopt_errinfo *info)
{
    DOPT_FN(dopt__mpc_qp_slot) sl;
    int i, n, mi;
    if (!qp || k < 0 || k >= qp->last_batch)
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "mpc_qp: element not in the last solve");
#if DOPT_IS_FLOAT
    if (qp->dims.double_inside) {
        const dopt_mpc_qp_d *in = qp->inner;
        double *buf = qp->cvt;
        dopt_status st;
        n = qp->n; mi = qp->mi;
        st = dopt_mpc_qp_multipliers_d(in, k, buf, buf + qp->meq, buf + qp->meq + mi, buf + qp->meq + mi + n, info);
        if (st != DOPT_OK) return st;
        for (i = 0; i < qp->meq; ++i) if (y) y[i] = (float)buf[i];
        for (i = 0; i < mi; ++i) if (z) z[i] = (float)buf[qp->meq + i];
        for (i = 0; i < n; ++i) {
            if (zl) zl[i] = (float)buf[qp->meq + mi + i];
            if (zu) zu[i] = (float)buf[qp->meq + mi + n + i];
        }
        return DOPT_OK;
    }
#endif
    sl = DOPT_FN(dopt__mpc_qp_slot_of)(qp, k);
    if (sl.head[0] != DOPT_MPC_QP_SOLVED)
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, (long)k, 0, "mpc_qp: element did not solve");
    n = qp->n;
    mi = qp->mi;
    if (y) for (i = 0; i < qp->meq; ++i) y[i] = sl.y[i];
    if (z) for (i = 0; i < mi; ++i) z[i] = sl.z[i];
    for (i = 0; i < n; ++i) {
        if (zu) zu[i] = qp->dims.box ? sl.z[mi + i] : 0;
        if (zl) zl[i] = qp->dims.box ? sl.z[mi + n + i] : 0;
    }
    return DOPT_OK;
}

/* Zero the gradient arrays the caller asked for (every element's block; stride 0: one block). */
static void DOPT_FN(dopt__mpc_qp_zero_grad)(const DOPT_FN(dopt_mpc_qp) *qp, ptrdiff_t batch,
                                            const DOPT_FN(dopt_mpc_qp_grad) *g)
{
    size_t n = (size_t)qp->n, meq = (size_t)qp->meq, mi = (size_t)qp->mi;
    ptrdiff_t k;
    for (k = 0; k < batch; ++k) {
        if (g->Q) memset(g->Q + k * g->Q_stride, 0, n * n * sizeof(DOPT_REAL));
        if (g->p) memset(g->p + k * g->p_stride, 0, n * sizeof(DOPT_REAL));
        if (meq && g->A) memset(g->A + k * g->A_stride, 0, meq * n * sizeof(DOPT_REAL));
        if (meq && g->b) memset(g->b + k * g->b_stride, 0, meq * sizeof(DOPT_REAL));
        if (mi && g->G) memset(g->G + k * g->G_stride, 0, mi * n * sizeof(DOPT_REAL));
        if (mi && g->h) memset(g->h + k * g->h_stride, 0, mi * sizeof(DOPT_REAL));
        if (qp->dims.box && g->l) memset(g->l + k * g->l_stride, 0, n * sizeof(DOPT_REAL));
        if (qp->dims.box && g->u) memset(g->u + k * g->u_stride, 0, n * sizeof(DOPT_REAL));
    }
}

/* Element k's gradients from the adjoint (wx, lam):  with dz = lam on the active G rows (0
 * elsewhere), wy = lam_A and the bound multipliers' adjoint bres = gx - (Q wx + A^T wy + G^T dz):
 *   dp = -wx,  dQ = -(wx x^T + x wx^T)/2,  db = wy,  dA = -(y wx^T + wy x^T),
 *   dh = dz,  dG = -(z wx^T + dz x^T),  du_j = bres_j at u,  dl_j = bres_j at l.
 * Returns 0, or 1 when something is not finite (nothing accumulated then). */
static int DOPT_FN(dopt__mpc_qp_accumulate)(const DOPT_FN(dopt_mpc_qp) *qp, const DOPT_FN(dopt__mpc_qp_el) *e,
                                            const DOPT_FN(dopt__mpc_qp_slot) *sl, ptrdiff_t k,
                                            const DOPT_REAL *gx, const DOPT_REAL *wx, const DOPT_REAL *lam,
                                            const DOPT_FN(dopt_mpc_qp_grad) *g)
{
    int n = e->n, meq = e->meq, mi = e->mi, na = sl->head[3], i, j, r;
    DOPT_REAL *dz = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_DZ), *bres = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_DX);
    const DOPT_REAL *x = sl->x, *y = sl->y, *z = sl->z;
    for (i = 0; i < mi; ++i) dz[i] = 0;
    for (r = 0; r < na; ++r) dz[sl->act[r]] = lam[meq + r];
    if (!DOPT_FN(dopt_all_finite)(n, wx) || !DOPT_FN(dopt_all_finite)(meq + na, lam)) return 1;
    DOPT_FN(dopt__mpc_qp_symv)(n, e->Q, wx, bres);
    if (meq) DOPT_FN(dopt_gemv)(DOPT_TRANS, meq, n, 1, e->A, meq, lam, 1, 1, bres, 1);
    if (mi) DOPT_FN(dopt_gemv)(DOPT_TRANS, mi, n, 1, e->G, mi, dz, 1, 1, bres, 1);
    for (j = 0; j < n; ++j) bres[j] = gx[j] - bres[j];
    if (!DOPT_FN(dopt_all_finite)(n, bres)) return 1;
    if (g->p) {
        DOPT_REAL *gp = g->p + k * g->p_stride;
        for (j = 0; j < n; ++j) gp[j] -= wx[j];
    }
    if (g->Q) {
        DOPT_REAL *gq = g->Q + k * g->Q_stride;
        for (j = 0; j < n; ++j)
            for (i = 0; i < n; ++i) gq[i + (size_t)j * n] -= (DOPT_REAL)0.5 * (wx[i] * x[j] + x[i] * wx[j]);
    }
    if (meq && g->b) {
        DOPT_REAL *gb = g->b + k * g->b_stride;
        for (r = 0; r < meq; ++r) gb[r] += lam[r];
    }
    if (meq && g->A) {
        DOPT_REAL *ga = g->A + k * g->A_stride;
        for (j = 0; j < n; ++j)
            for (r = 0; r < meq; ++r) ga[r + (size_t)j * meq] -= y[r] * wx[j] + lam[r] * x[j];
    }
    if (mi && g->h) {
        DOPT_REAL *gh = g->h + k * g->h_stride;
        for (i = 0; i < mi; ++i) gh[i] += dz[i];
    }
    if (mi && g->G) {
        DOPT_REAL *gg = g->G + k * g->G_stride;
        for (j = 0; j < n; ++j)
            for (i = 0; i < mi; ++i) gg[i + (size_t)j * mi] -= z[i] * wx[j] + dz[i] * x[j];
    }
    if (e->box) {
        DOPT_REAL *gl = g->l ? g->l + k * g->l_stride : NULL, *gu = g->u ? g->u + k * g->u_stride : NULL;
        for (j = 0; j < n; ++j) {
            if (sl->state[j] > 0 && gu) gu[j] += bres[j];
            if (sl->state[j] < 0 && gl) gl[j] += bres[j];
        }
    }
    return 0;
}

DOPT_API dopt_status DOPT_FN(dopt_mpc_qp_backward)(DOPT_FN(dopt_mpc_qp) *qp,
                                                   const dopt_mpc_qp_options *options, ptrdiff_t batch,
                                                   const DOPT_FN(dopt_mpc_qp_data) *data,
                                                   const DOPT_REAL *gx, ptrdiff_t gx_stride,
                                                   const DOPT_FN(dopt_mpc_qp_grad) *grad,
                                                   dopt_mpc_qp_report *report, dopt_errinfo *info)
{
    dopt_mpc_qp_options o;
    dopt_status st, first = DOPT_OK;
    ptrdiff_t k;
    if (!qp || !gx || !grad)
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "mpc_qp: qp, gx or grad is NULL");
    st = dopt__mpc_qp_resolve(options, DOPT_IS_FLOAT && !qp->dims.double_inside, &o, info);
    if (st != DOPT_OK) return st;
    st = DOPT_FN(dopt__mpc_qp_check_data)(qp, batch, data, info);
    if (st != DOPT_OK) return st;
    if (batch > qp->last_batch)
        return dopt_errinfo_set(info, DOPT_ERR_DIMENSION, -1, 0, "mpc_qp: backward batch larger than the last solve's");
    if ((batch > 1 && gx_stride < qp->n) || grad->Q_stride < 0 || grad->p_stride < 0 || grad->A_stride < 0 ||
        grad->b_stride < 0 || grad->G_stride < 0 || grad->h_stride < 0 || grad->l_stride < 0 || grad->u_stride < 0)
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "mpc_qp: bad gx or gradient stride");
#if DOPT_IS_FLOAT
    if (qp->dims.double_inside) return dopt__mpc_qp_backward_inner_f(qp, &o, batch, gx, gx_stride, grad, report, info);
#endif
    if (info) info->status = DOPT_OK;
    DOPT_FN(dopt__mpc_qp_zero_grad)(qp, batch, grad);
    for (k = 0; k < batch; ++k) {
        DOPT_FN(dopt__mpc_qp_slot) sl = DOPT_FN(dopt__mpc_qp_slot_of)(qp, k);
        DOPT_FN(dopt__mpc_qp_el) e;
        const DOPT_REAL *g = gx + k * gx_stride;
        dopt_status est = DOPT_OK;
        dopt_mpc_qp_report rep;
        memset(&rep, 0, sizeof rep);
        rep.result = (dopt_mpc_qp_result)sl.head[0];
        if (sl.head[0] != DOPT_MPC_QP_SOLVED) {
            est = dopt__mpc_qp_status_of((dopt_mpc_qp_result)sl.head[0]);
        } else if (DOPT_FN(dopt__mpc_qp_load)(qp, data, k, &e) != 0 || !DOPT_FN(dopt_all_finite)(qp->n, g)) {
            est = DOPT_ERR_NON_FINITE;
        } else {
            DOPT_REAL *wx = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_RD), *lam = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_RI);
            DOPT_REAL *zero = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_R2);
            int r;
            for (r = 0; r < qp->mc; ++r) zero[r] = 0;
            if (!sl.head[1]) {
                if (DOPT_FN(dopt__mpc_qp_factor_bwd)(&e, (DOPT_REAL)o.degenerate_tol, 0, &sl)) est = DOPT_ERR_NOT_POSITIVE_DEFINITE;
                else sl.head[1] = 1;
            }
            if (est == DOPT_OK) {
                DOPT_FN(dopt__mpc_qp_active_solve)(qp, &e, &sl, g, DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_R2), wx, lam);
                if (DOPT_FN(dopt__mpc_qp_accumulate)(qp, &e, &sl, k, g, wx, lam, grad)) est = DOPT_ERR_NON_FINITE;
            }
            rep.weakly_active = DOPT_FN(dopt__mpc_qp_weak)(&e, sl.z, sl.s, (DOPT_REAL)o.degenerate_tol);
        }
        rep.status = est;
        if (report) report[k] = rep;
        if (est != DOPT_OK && first == DOPT_OK) {
            first = est;
            dopt_errinfo_set(info, est, (long)k, 0, "mpc_qp: backward of an element that did not solve or went non-finite");
            if (o.policy == DOPT_BWD_FAIL) return first;
        }
    }
    if (o.policy == DOPT_BWD_ZERO) {
        if (info) info->status = DOPT_OK;
        return DOPT_OK;
    }
    return first;
}

#if DOPT_IS_FLOAT
/* ---- float data, double inside ---------------------------------------------------------------- */

/* Copy `count` blocks of len floats (at src + k * stride) into doubles at dst (contiguous blocks,
 * or one block when stride is 0); returns the double stride (0 or len). */
static ptrdiff_t dopt__mpc_qp_to_double(const float *src, ptrdiff_t stride, ptrdiff_t count, size_t len,
                                        double *dst)
{
    ptrdiff_t k, nb = stride ? count : 1;
    size_t i;
    for (k = 0; k < nb; ++k)
        for (i = 0; i < len; ++i) dst[(size_t)k * len + i] = (double)src[k * stride + i];
    return stride ? (ptrdiff_t)len : 0;
}

static void dopt__mpc_qp_to_float(const double *src, ptrdiff_t stride, ptrdiff_t count, size_t len, float *dst)
{
    ptrdiff_t k, nb = stride ? count : 1;
    size_t i;
    for (k = 0; k < nb; ++k)
        for (i = 0; i < len; ++i) dst[k * stride + i] = (float)src[(size_t)k * len + i];
}

/* The double buffers of the conversion area, in the order of dopt__mpc_qp_cvt_len_f. */
typedef struct dopt__mpc_qp_cvt_f {
    double *Q, *p, *A, *b, *G, *h, *l, *u, *x, *gx;
    double *gQ, *gp, *gA, *gb, *gG, *gh, *gl, *gu;
} dopt__mpc_qp_cvt_f;

static dopt__mpc_qp_cvt_f dopt__mpc_qp_cvt_of_f(const dopt_mpc_qp_f *qp)
{
    dopt__mpc_qp_cvt_f c;
    size_t B = (size_t)qp->max_batch, n = (size_t)qp->n, meq = (size_t)qp->meq, mi = (size_t)qp->mi;
    size_t nb = qp->dims.box ? n : 0;
    double *r = qp->cvt;
    c.Q = r; r += B * n * n;
    c.p = r; r += B * n;
    c.A = r; r += B * meq * n;
    c.b = r; r += B * meq;
    c.G = r; r += B * mi * n;
    c.h = r; r += B * mi;
    c.l = r; r += B * nb;
    c.u = r; r += B * nb;
    c.x = r; r += B * n;
    c.gx = r; r += B * n;
    c.gQ = r; r += B * n * n;
    c.gp = r; r += B * n;
    c.gA = r; r += B * meq * n;
    c.gb = r; r += B * meq;
    c.gG = r; r += B * mi * n;
    c.gh = r; r += B * mi;
    c.gl = r; r += B * nb;
    c.gu = r;
    return c;
}

static dopt_status dopt__mpc_qp_solve_inner_f(dopt_mpc_qp_f *qp, const dopt_mpc_qp_options *options,
                                              ptrdiff_t batch, const dopt_mpc_qp_data_f *data, float *x,
                                              ptrdiff_t x_stride, dopt_mpc_qp_report *report, dopt_errinfo *info)
{
    dopt__mpc_qp_cvt_f c = dopt__mpc_qp_cvt_of_f(qp);
    dopt_mpc_qp_data_d dd;
    size_t n = (size_t)qp->n, meq = (size_t)qp->meq, mi = (size_t)qp->mi;
    dopt_status st;
    memset(&dd, 0, sizeof dd);
    dd.Q = c.Q; dd.Q_stride = dopt__mpc_qp_to_double(data->Q, data->Q_stride, batch, n * n, c.Q);
    dd.p = c.p; dd.p_stride = dopt__mpc_qp_to_double(data->p, data->p_stride, batch, n, c.p);
    if (meq) {
        dd.A = c.A; dd.A_stride = dopt__mpc_qp_to_double(data->A, data->A_stride, batch, meq * n, c.A);
        dd.b = c.b; dd.b_stride = dopt__mpc_qp_to_double(data->b, data->b_stride, batch, meq, c.b);
    }
    if (mi) {
        dd.G = c.G; dd.G_stride = dopt__mpc_qp_to_double(data->G, data->G_stride, batch, mi * n, c.G);
        dd.h = c.h; dd.h_stride = dopt__mpc_qp_to_double(data->h, data->h_stride, batch, mi, c.h);
    }
    if (qp->dims.box) {
        dd.l = c.l; dd.l_stride = dopt__mpc_qp_to_double(data->l, data->l_stride, batch, n, c.l);
        dd.u = c.u; dd.u_stride = dopt__mpc_qp_to_double(data->u, data->u_stride, batch, n, c.u);
    }
    dopt__mpc_qp_to_double(x, batch > 1 ? x_stride : 1, batch, n, c.x);
    st = dopt_mpc_qp_solve_d(qp->inner, options, batch, &dd, c.x, (ptrdiff_t)n, report, info);
    dopt__mpc_qp_to_float(c.x, batch > 1 ? x_stride : 1, batch, n, x);
    qp->last_batch = batch;
    return st;
}

static dopt_status dopt__mpc_qp_backward_inner_f(dopt_mpc_qp_f *qp, const dopt_mpc_qp_options *options,
                                                 ptrdiff_t batch, const float *gx, ptrdiff_t gx_stride,
                                                 const dopt_mpc_qp_grad_f *grad, dopt_mpc_qp_report *report,
                                                 dopt_errinfo *info)
{
    dopt__mpc_qp_cvt_f c = dopt__mpc_qp_cvt_of_f(qp);
    dopt_mpc_qp_data_d dd;
    dopt_mpc_qp_grad_d gd;
    size_t n = (size_t)qp->n, meq = (size_t)qp->meq, mi = (size_t)qp->mi;
    size_t B = (size_t)batch;
    dopt_status st;
    /* the data converted by the solve (the caller keeps it unchanged between the two calls) */
    memset(&dd, 0, sizeof dd);
    memset(&gd, 0, sizeof gd);
    dd.Q = c.Q; dd.p = c.p; dd.A = c.A; dd.b = c.b; dd.G = c.G; dd.h = c.h; dd.l = c.l; dd.u = c.u;
    dd.Q_stride = (ptrdiff_t)(n * n); dd.p_stride = (ptrdiff_t)n; dd.A_stride = (ptrdiff_t)(meq * n);
    dd.b_stride = (ptrdiff_t)meq; dd.G_stride = (ptrdiff_t)(mi * n); dd.h_stride = (ptrdiff_t)mi;
    dd.l_stride = (ptrdiff_t)n; dd.u_stride = (ptrdiff_t)n;
    (void)B;
    dopt__mpc_qp_to_double(gx, batch > 1 ? gx_stride : 1, batch, n, c.gx);
#define DOPT__QP_GSET(F, len) if (grad->F) { gd.F = c.g##F; gd.F##_stride = grad->F##_stride ? (ptrdiff_t)(len) : 0; }
    DOPT__QP_GSET(Q, n * n)
    DOPT__QP_GSET(p, n)
    DOPT__QP_GSET(A, meq * n)
    DOPT__QP_GSET(b, meq)
    DOPT__QP_GSET(G, mi * n)
    DOPT__QP_GSET(h, mi)
    DOPT__QP_GSET(l, n)
    DOPT__QP_GSET(u, n)
#undef DOPT__QP_GSET
    st = dopt_mpc_qp_backward_d(qp->inner, options, batch, &dd, c.gx, (ptrdiff_t)n, &gd, report, info);
    if (grad->Q) dopt__mpc_qp_to_float(gd.Q, grad->Q_stride, batch, n * n, grad->Q);
    if (grad->p) dopt__mpc_qp_to_float(gd.p, grad->p_stride, batch, n, grad->p);
    if (meq && grad->A) dopt__mpc_qp_to_float(gd.A, grad->A_stride, batch, meq * n, grad->A);
    if (meq && grad->b) dopt__mpc_qp_to_float(gd.b, grad->b_stride, batch, meq, grad->b);
    if (mi && grad->G) dopt__mpc_qp_to_float(gd.G, grad->G_stride, batch, mi * n, grad->G);
    if (mi && grad->h) dopt__mpc_qp_to_float(gd.h, grad->h_stride, batch, mi, grad->h);
    if (qp->dims.box && grad->l) dopt__mpc_qp_to_float(gd.l, grad->l_stride, batch, n, grad->l);
    if (qp->dims.box && grad->u) dopt__mpc_qp_to_float(gd.u, grad->u_stride, batch, n, grad->u);
    return st;
}
#endif
/* ==== end DENSE QP: implementation ==== */

/* ==== CEM AND LML: implementation ==== */
/* ==== end CEM AND LML: implementation ==== */
#ifdef __cplusplus
}
#endif
#endif /* DOPT_MPC__PASS_IMPL */
