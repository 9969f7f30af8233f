/* lib/dopt_bridge.c — flat entry points for language bindings (python/dopt): plain pointers to
 * contiguous batch-major arrays, ints and a trailing dopt_errinfo, so a foreign-function layer
 * (ctypes) needs no struct passed by value.  Part of libdopt.so only (included by lib/dopt_lib.c
 * after every module's implementation); header-only users never see it.  Float and double from
 * one source through dopt.h's driver (DOPT_GENERIC).
 *
 * Layout rule: every array is batch-major and contiguous; "element b" starts at b * (its per-element
 * size).  Matrices are column-major inside an element (as everywhere in dopt).
 *
 *   LQR      dopt_bridge_lqr_solve / _backward on a dopt_mpc_lqr made by dopt_mpc_lqr_create.
 *   MPC      dopt_bridge_pendulum_mpc_solve / _backward: iLQR on the damped pendulum with the
 *            quadratic stage cost 1/2 tau^T C_t tau + c_t^T tau (C, c per element and step).
 *   QP       dopt_bridge_qp_solve / _backward on a dopt_mpc_qp made by dopt_mpc_qp_create.
 *   NLLS     dopt_bridge_nlls_create / _solve / _backward / _destroy: the least-squares layer on
 *            two built-in costs (exponential curve fit, SE2 pose graph), IMPLICIT backward. */
#ifndef DOPT_REAL
#include "dopt.h"
#include "dopt_lie.h"
#include "dopt_mpc.h"
#include <string.h>

/* Kinds of dopt_bridge_nlls problems. */
#define DOPT_BRIDGE_CURVE_EXP 0 /* y = exp(m t + c): data (t_i, y_i), 2 per point; x = [m c]       */
#define DOPT_BRIDGE_PGO_SE2 1   /* SE2 pose graph: data = edge measurements [x y theta], 3 per
                                   edge; x = poses [x y theta], pose 0 held fixed                   */

#define DOPT_GENERIC "lib/dopt_bridge.c"
#include "dopt.h"
#undef DOPT_GENERIC
#else /* ---- one precision pass ---------------------------------------------------------------- */

typedef DOPT_REAL DOPT_FN(dopt__br_real);
#define R_ DOPT_FN(dopt__br_real)

/* ---- LQR ------------------------------------------------------------------------------------- */

/* dopt_bridge_lqr_solve: dopt_mpc_lqr_solve on contiguous arrays (nm = n + m):
 *   C B x T x nm x nm (symmetric), c B x T x nm, F B x (T-1) x n x nm (column-major), f B x (T-1)
 *   x n or NULL, x0 B x n, ulo / uhi B x T x m or NULL; out: tau B x T x nm, lam B x T x n (or
 *   NULL), status B.  The input arrays must stay unchanged until the backward. */
DOPT_API dopt_status DOPT_FN(dopt_bridge_lqr_solve)(DOPT_FN(dopt_mpc_lqr) *s, int n, int m, int T,
                                                    ptrdiff_t B, const R_ *C, const R_ *c, const R_ *F,
                                                    const R_ *f, const R_ *x0, const R_ *ulo,
                                                    const R_ *uhi, R_ *tau, R_ *lam, int *status,
                                                    dopt_errinfo *info)
{
    DOPT_FN(dopt_mpc_lqr_data) d;
    DOPT_FN(dopt_mpc_lqr_options) o;
    DOPT_FN(dopt_mpc_seq) st, sl;
    DOPT_FN(dopt_mpc_lqr_report) stack[32], *rep;
    ptrdiff_t nm = n + m, k;
    dopt_status r;
    if (!s || n < 1 || m < 1 || T < 1 || B < 1 || !C || !c || !F || !x0 || !tau)
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "dopt_bridge_lqr_solve: bad argument");
    rep = B <= 32 ? stack : (DOPT_FN(dopt_mpc_lqr_report) *)malloc(sizeof *rep * (size_t)B);
    if (!rep) return dopt_errinfo_set(info, DOPT_ERR_ALLOCATION, -1, 0, "dopt_bridge_lqr_solve: out of memory");
    memset(&o, 0, sizeof o);
    memset(&d, 0, sizeof d);
    memset(&st, 0, sizeof st);
    memset(&sl, 0, sizeof sl);
    d.C.p = C; d.C.ts = nm * nm; d.C.bs = T * nm * nm;
    d.c.p = c; d.c.ts = nm; d.c.bs = T * nm;
    d.F.p = F; d.F.ts = n * nm; d.F.bs = (T - 1) * n * nm;
    if (f) { d.f.p = f; d.f.ts = n; d.f.bs = (T - 1) * n; }
    d.x_init.p = x0; d.x_init.bs = n;
    if (ulo) { d.u_lower.p = ulo; d.u_lower.ts = m; d.u_lower.bs = T * m; }
    if (uhi) { d.u_upper.p = uhi; d.u_upper.ts = m; d.u_upper.bs = T * m; }
    st.p = tau; st.ts = nm; st.bs = T * nm;
    if (lam) { sl.p = lam; sl.ts = n; sl.bs = T * n; }
    r = DOPT_FN(dopt_mpc_lqr_solve)(s, &d, &o, st, sl, rep, info);
    if (status) for (k = 0; k < B; ++k) status[k] = (int)rep[k].status;
    if (rep != stack) free(rep);
    return r;
}

/* dopt_bridge_lqr_backward: dopt_mpc_lqr_backward for dtau (B x T x nm) after
 * dopt_bridge_lqr_solve; gradients in the input layouts (dC symmetric), any may be NULL;
 * status B (the backward status per element). */
DOPT_API dopt_status DOPT_FN(dopt_bridge_lqr_backward)(DOPT_FN(dopt_mpc_lqr) *s, int n, int m, int T,
                                                       ptrdiff_t B, const R_ *dtau, R_ *dC, R_ *dc,
                                                       R_ *dF, R_ *df, R_ *dx0, int *status,
                                                       dopt_errinfo *info)
{
    DOPT_FN(dopt_mpc_lqr_grad) g;
    DOPT_FN(dopt_mpc_cseq) dt;
    dopt_status r, stack[32], *bs;
    ptrdiff_t nm = n + m, k;
    if (!s || !dtau || B < 1)
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "dopt_bridge_lqr_backward: bad argument");
    memset(&g, 0, sizeof g);
    dt.p = dtau; dt.ts = nm; dt.bs = T * nm;
    if (dC) { g.C.p = dC; g.C.ts = nm * nm; g.C.bs = T * nm * nm; }
    if (dc) { g.c.p = dc; g.c.ts = nm; g.c.bs = T * nm; }
    if (dF) { g.F.p = dF; g.F.ts = n * nm; g.F.bs = (T - 1) * n * nm; }
    if (df) { g.f.p = df; g.f.ts = n; g.f.bs = (T - 1) * n; }
    if (dx0) { g.x_init.p = dx0; g.x_init.bs = n; }
    bs = B <= 32 ? stack : (dopt_status *)malloc(sizeof *bs * (size_t)B);
    if (!bs) return dopt_errinfo_set(info, DOPT_ERR_ALLOCATION, -1, 0, "dopt_bridge_lqr_backward: out of memory");
    r = DOPT_FN(dopt_mpc_lqr_backward)(s, dt, NULL, &g, bs, info);
    if (status) for (k = 0; k < B; ++k) status[k] = (int)bs[k];
    if (bs != stack) free(bs);
    return r;
}

/* ---- nonlinear MPC: the pendulum with a quadratic cost ----------------------------------------- */

typedef struct DOPT_FN(dopt__br_mpc) {
    DOPT_FN(dopt_mpc_pendulum) P;
    const R_ *C, *c;
    int T;
} DOPT_FN(dopt__br_mpc);

static dopt_status DOPT_FN(dopt__br_quad_cost)(void *user, ptrdiff_t b, int t, const R_ *z, R_ *l,
                                               R_ *g, R_ *H)
{
    const DOPT_FN(dopt__br_mpc) *u = (const DOPT_FN(dopt__br_mpc) *)user;
    const R_ *Ct = u->C + (b * u->T + t) * 9, *ct = u->c + (b * u->T + t) * 3;
    R_ Cz[3];
    int i, j;
    *l = 0;
    for (i = 0; i < 3; ++i) {
        Cz[i] = 0;
        for (j = 0; j < 3; ++j) Cz[i] += (R_)0.5 * (Ct[i + 3 * j] + Ct[j + 3 * i]) * z[j];
        *l += (R_)0.5 * z[i] * Cz[i] + ct[i] * z[i];
    }
    if (g) for (i = 0; i < 3; ++i) g[i] = Cz[i] + ct[i];
    if (H) for (i = 0; i < 3; ++i) for (j = 0; j < 3; ++j) H[i + 3 * j] = (R_)0.5 * (Ct[i + 3 * j] + Ct[j + 3 * i]);
    return DOPT_OK;
}

/* dopt_bridge_pendulum_mpc_solve: iLQR (dopt_mpc_ilqr_solve) on the pendulum
 * (dopt_mpc_pendulum_dynamics with params = g, l, m, damping, dt) with the stage cost
 * 1/2 tau^T C_t tau + c_t^T tau, tau = [theta, omega, u]:  C B x T x 3 x 3, c B x T x 3, x0 B x 2,
 * ulo / uhi B x T (or NULL: unbounded); out tau B x T x 3 (read first when warm != 0), status B;
 * tol: dopt_mpc_ilqr_options.tol (0: its default), max_iter likewise.
 * s: a dopt_mpc_ilqr for (2, 1, T, B).  C and c must stay unchanged until the backward. */
DOPT_API dopt_status DOPT_FN(dopt_bridge_pendulum_mpc_solve)(DOPT_FN(dopt_mpc_ilqr) *s, const R_ *params,
                                                             int T, ptrdiff_t B, const R_ *C, const R_ *c,
                                                             const R_ *x0, const R_ *ulo, const R_ *uhi,
                                                             int warm, R_ tol, int max_iter, R_ *tau,
                                                             int *status, dopt_errinfo *info)
{
    static const int n_ctrl = 1;
    DOPT_FN(dopt__br_mpc) u;
    DOPT_FN(dopt_mpc_ilqr_problem) pr;
    DOPT_FN(dopt_mpc_ilqr_options) o;
    DOPT_FN(dopt_mpc_cseq) xi;
    DOPT_FN(dopt_mpc_seq) st;
    DOPT_FN(dopt_mpc_lqr_report) stack[32], *rep;
    dopt_status r;
    ptrdiff_t k;
    if (!s || !params || T < 1 || B < 1 || !C || !c || !x0 || !tau)
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0,
                                "dopt_bridge_pendulum_mpc_solve: bad argument");
    rep = B <= 32 ? stack : (DOPT_FN(dopt_mpc_lqr_report) *)malloc(sizeof *rep * (size_t)B);
    if (!rep) return dopt_errinfo_set(info, DOPT_ERR_ALLOCATION, -1, 0, "dopt_bridge_pendulum_mpc_solve: out of memory");
    u.P.g = params[0]; u.P.l = params[1]; u.P.m = params[2]; u.P.damping = params[3]; u.P.dt = params[4];
    u.C = C; u.c = c; u.T = T;
    memset(&pr, 0, sizeof pr);
    memset(&o, 0, sizeof o);
    memset(&xi, 0, sizeof xi);
    memset(&st, 0, sizeof st);
    pr.n_state = 2; pr.n_ctrl = n_ctrl;
    pr.dynamics = DOPT_FN(dopt_mpc_pendulum_dynamics); pr.dynamics_jacobian = 1;
    pr.cost = DOPT_FN(dopt__br_quad_cost); pr.cost_derivatives = 1;
    pr.user = &u;
    if (ulo) { pr.u_lower.p = ulo; pr.u_lower.ts = 1; pr.u_lower.bs = T; }
    if (uhi) { pr.u_upper.p = uhi; pr.u_upper.ts = 1; pr.u_upper.bs = T; }
    xi.p = x0; xi.bs = 2;
    st.p = tau; st.ts = 3; st.bs = (ptrdiff_t)T * 3;
    o.tol = tol;
    o.max_iter = max_iter;
    o.warm_start = warm ? DOPT_MPC_WARM_AS_IS : DOPT_MPC_WARM_NONE;
    r = DOPT_FN(dopt_mpc_ilqr_solve)(s, &pr, xi, &o, st, rep, info);
    if (status) for (k = 0; k < B; ++k) status[k] = (int)rep[k].status;
    if (rep != stack) free(rep);
    return r;
}

/* dopt_bridge_pendulum_mpc_backward: dopt_mpc_ilqr_backward after the solve above; the final
 * approximation's C_t and c_t ARE the inputs (the cost is quadratic), so dC (B x T x 3 x 3,
 * symmetric), dc (B x T x 3) and dx0 (B x 2) are the gradients of the inputs (the dynamics'
 * curvature left out, as mpc.pytorch).  Any output may be NULL. */
DOPT_API dopt_status DOPT_FN(dopt_bridge_pendulum_mpc_backward)(DOPT_FN(dopt_mpc_ilqr) *s, int T,
                                                                ptrdiff_t B, const R_ *dtau, R_ *dC,
                                                                R_ *dc, R_ *dx0, dopt_errinfo *info)
{
    DOPT_FN(dopt_mpc_lqr_grad) g;
    DOPT_FN(dopt_mpc_cseq) dt;
    if (!s || !dtau || T < 1 || B < 1)
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0,
                                "dopt_bridge_pendulum_mpc_backward: bad argument");
    memset(&g, 0, sizeof g);
    dt.p = dtau; dt.ts = 3; dt.bs = (ptrdiff_t)T * 3;
    if (dC) { g.C.p = dC; g.C.ts = 9; g.C.bs = (ptrdiff_t)T * 9; }
    if (dc) { g.c.p = dc; g.c.ts = 3; g.c.bs = (ptrdiff_t)T * 3; }
    if (dx0) { g.x_init.p = dx0; g.x_init.bs = 2; }
    return DOPT_FN(dopt_mpc_ilqr_backward)(s, dt, NULL, &g, NULL, info);
}

/* ---- dense QP ---------------------------------------------------------------------------------- */

/* the contiguous batch layout of the QP arrays (in: Q p A b G h l u, NULL where absent) */
static void DOPT_FN(dopt__br_qp_data)(const dopt_mpc_qp_dims *dm, const R_ *const *in,
                                      DOPT_FN(dopt_mpc_qp_data) *d)
{
    ptrdiff_t n = dm->n;
    d->Q = in[0]; d->p = in[1]; d->A = in[2]; d->b = in[3];
    d->G = in[4]; d->h = in[5]; d->l = in[6]; d->u = in[7];
    d->Q_stride = n * n; d->p_stride = n; d->A_stride = (ptrdiff_t)dm->meq * n; d->b_stride = dm->meq;
    d->G_stride = (ptrdiff_t)dm->mineq * n; d->h_stride = dm->mineq; d->l_stride = n; d->u_stride = n;
}

/* dopt_bridge_qp_solve: dopt_mpc_qp_solve on contiguous arrays: Q B x n x n (lower triangle read),
 * p B x n, A B x meq x n (column-major), b B x meq, G B x mineq x n (column-major), h B x mineq,
 * l, u B x n (each NULL where absent); out x B x n, result B (dopt_mpc_qp_result), status B. */
DOPT_API dopt_status DOPT_FN(dopt_bridge_qp_solve)(DOPT_FN(dopt_mpc_qp) *qp, int n, int meq, int mineq,
                                                   int box, ptrdiff_t B, const R_ *Q, const R_ *p,
                                                   const R_ *A, const R_ *b, const R_ *G, const R_ *h,
                                                   const R_ *l, const R_ *u, R_ *x, int *result,
                                                   int *status, dopt_errinfo *info)
{
    dopt_mpc_qp_dims dm;
    DOPT_FN(dopt_mpc_qp_data) d;
    dopt_mpc_qp_report stack[16], *rep;
    const R_ *in[8];
    ptrdiff_t k;
    dopt_status r;
    if (!qp || B < 1 || !x)
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "dopt_bridge_qp_solve: bad argument");
    dm.n = n; dm.meq = meq; dm.mineq = mineq; dm.box = box; dm.double_inside = 0;
    in[0] = Q; in[1] = p; in[2] = A; in[3] = b; in[4] = G; in[5] = h; in[6] = l; in[7] = u;
    DOPT_FN(dopt__br_qp_data)(&dm, in, &d);
    rep = B <= 16 ? stack : (dopt_mpc_qp_report *)malloc(sizeof *rep * (size_t)B);
    if (!rep) return dopt_errinfo_set(info, DOPT_ERR_ALLOCATION, -1, 0, "dopt_bridge_qp_solve: out of memory");
    r = DOPT_FN(dopt_mpc_qp_solve)(qp, NULL, B, &d, x, n, rep, info);
    for (k = 0; k < B; ++k) {
        if (result) result[k] = (int)rep[k].result;
        if (status) status[k] = (int)rep[k].status;
    }
    if (rep != stack) free(rep);
    return r;
}

/* dopt_bridge_qp_backward: dopt_mpc_qp_backward for gx (B x n) after dopt_bridge_qp_solve with the
 * same inputs; gradients in the inputs' layouts (dQ symmetric; NULL: not wanted); status B. */
DOPT_API dopt_status DOPT_FN(dopt_bridge_qp_backward)(DOPT_FN(dopt_mpc_qp) *qp, int n, int meq, int mineq,
                                                      int box, ptrdiff_t B, const R_ *Q, const R_ *p,
                                                      const R_ *A, const R_ *b, const R_ *G, const R_ *h,
                                                      const R_ *l, const R_ *u, const R_ *gx, R_ *dQ,
                                                      R_ *dp, R_ *dA, R_ *db, R_ *dG, R_ *dh, R_ *dl,
                                                      R_ *du, int *status, dopt_errinfo *info)
{
    dopt_mpc_qp_dims dm;
    DOPT_FN(dopt_mpc_qp_data) d;
    DOPT_FN(dopt_mpc_qp_grad) g;
    dopt_mpc_qp_report stack[16], *rep;
    const R_ *in[8];
    ptrdiff_t k;
    dopt_status r;
    if (!qp || B < 1 || !gx)
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "dopt_bridge_qp_backward: bad argument");
    dm.n = n; dm.meq = meq; dm.mineq = mineq; dm.box = box; dm.double_inside = 0;
    in[0] = Q; in[1] = p; in[2] = A; in[3] = b; in[4] = G; in[5] = h; in[6] = l; in[7] = u;
    DOPT_FN(dopt__br_qp_data)(&dm, in, &d);
    g.Q = dQ; g.p = dp; g.A = dA; g.b = db; g.G = dG; g.h = dh; g.l = dl; g.u = du;
    g.Q_stride = (ptrdiff_t)n * n; g.p_stride = n; g.A_stride = (ptrdiff_t)meq * n; g.b_stride = meq;
    g.G_stride = (ptrdiff_t)mineq * n; g.h_stride = mineq; g.l_stride = n; g.u_stride = n;
    rep = B <= 16 ? stack : (dopt_mpc_qp_report *)malloc(sizeof *rep * (size_t)B);
    if (!rep) return dopt_errinfo_set(info, DOPT_ERR_ALLOCATION, -1, 0, "dopt_bridge_qp_backward: out of memory");
    r = DOPT_FN(dopt_mpc_qp_backward)(qp, NULL, B, &d, gx, n, &g, rep, info);
    if (status) for (k = 0; k < B; ++k) status[k] = (int)rep[k].status;
    if (rep != stack) free(rep);
    return r;
}

/* ---- least squares: built-in costs ------------------------------------------------------------ */

/* Cost data of one term of one element: where its (learnable) data sits and its term index. */
typedef struct DOPT_FN(dopt__br_term) {
    R_ *data;
    int k;
} DOPT_FN(dopt__br_term);

/* r = y - exp(m t + c) at data (t, y) */
static dopt_status DOPT_FN(dopt__br_exp_cost)(const void *data, const R_ *const *x, R_ *r, R_ *const *J)
{
    const DOPT_FN(dopt__br_term) *q = (const DOPT_FN(dopt__br_term) *)data;
    R_ t = q->data[0], e = DOPT_M(exp)(x[0][0] * t + x[0][1]);
    r[0] = q->data[1] - e;
    if (J && J[0]) { J[0][0] = -t * e; J[0][1] = -e; }
    return DOPT_OK;
}

/* d r / d (t, y) = (-m e, 1) */
static dopt_status DOPT_FN(dopt__br_exp_vjp)(const void *data, const R_ *const *x, const R_ *rbar,
                                             int slot, R_ *pbar)
{
    const DOPT_FN(dopt__br_term) *q = (const DOPT_FN(dopt__br_term) *)data;
    R_ e = DOPT_M(exp)(x[0][0] * q->data[0] + x[0][1]);
    (void)slot;
    pbar[2 * q->k] += -x[0][0] * e * rbar[0];
    pbar[2 * q->k + 1] += rbar[0];
    return DOPT_OK;
}

/* SE2 between edge with the measurement given as [x y theta] */
static dopt_status DOPT_FN(dopt__br_se2_cost)(const void *data, const R_ *const *x, R_ *r, R_ *const *J)
{
    const DOPT_FN(dopt__br_term) *q = (const DOPT_FN(dopt__br_term) *)data;
    DOPT_FN(dopt_lie_between_data) m;
    memset(&m, 0, sizeof m);
    DOPT_FN(dopt_se2_from_xytheta)(q->data, m.measurement);
    return DOPT_FN(dopt_lie_cost_between_se2)(&m, x, r, J);
}

/* r = Log(meas^-1 E) with meas = (R(th), t): a right perturbation delta of meas gives
 * dr/ddelta = -Jl(r)^-1 ... taken here as -Jr(-r)^-1 = -Jl(r)^-1, and (x, y, th) -> delta is
 * [R^T 0; 0 1]. */
static dopt_status DOPT_FN(dopt__br_se2_vjp)(const void *data, const R_ *const *x, const R_ *rbar,
                                             int slot, R_ *pbar)
{
    const DOPT_FN(dopt__br_term) *q = (const DOPT_FN(dopt__br_term) *)data;
    R_ r[3], Jli[9], v[3], co = DOPT_M(cos)(q->data[2]), si = DOPT_M(sin)(q->data[2]);
    int i;
    dopt_status st = DOPT_FN(dopt__br_se2_cost)(data, x, r, NULL);
    (void)slot;
    if (st != DOPT_OK) return st;
    DOPT_FN(dopt_se2_jl_inv)(r, Jli);
    for (i = 0; i < 3; ++i) /* v = -(Jl^-1)^T rbar */
        v[i] = -(Jli[0 * 3 + i] * rbar[0] + Jli[1 * 3 + i] * rbar[1] + Jli[2 * 3 + i] * rbar[2]);
    pbar[3 * q->k] += co * v[0] - si * v[1];
    pbar[3 * q->k + 1] += si * v[0] + co * v[1];
    pbar[3 * q->k + 2] += v[2];
    return DOPT_OK;
}

/* The layer object: problem, solver, differentiable view and its own copies of the data. */
typedef struct DOPT_FN(dopt_bridge_nlls) {
    int kind, batch, nterms, nvars, dd, xdim, ntan, exact;
    DOPT_FN(dopt_nlls_problem) *prob;
    DOPT_FN(dopt_nlls_solver) *solver;
    DOPT_FN(dopt_nlls_diff) *D;
    R_ *data;                   /* batch x nterms x dd (the learnable parameter)               */
    R_ *x;                      /* batch x (storage of all variables)                           */
    R_ *xbar;                   /* batch x ntan                                                 */
    DOPT_FN(dopt__br_term) *terms; /* batch x nterms                                           */
    dopt_nlls_report *reports;
    dopt_nlls_diff_report *breports;
    int param;
} DOPT_FN(dopt_bridge_nlls);

/* dopt_bridge_nlls_destroy: free the object (NULL: no-op). */
DOPT_API void DOPT_FN(dopt_bridge_nlls_destroy)(DOPT_FN(dopt_bridge_nlls) *L)
{
    if (!L) return;
    DOPT_FN(dopt_nlls_diff_destroy)(L->D);
    DOPT_FN(dopt_nlls_solver_destroy)(L->solver);
    DOPT_FN(dopt_nlls_problem_destroy)(L->prob);
    free(L->data); free(L->x); free(L->xbar); free(L->terms); free(L->reports); free(L->breports);
    free(L);
}

static dopt_status DOPT_FN(dopt__br_nlls_build)(DOPT_FN(dopt_bridge_nlls) *L, int npoints_or_poses,
                                                const int *edges, dopt_errinfo *info)
{
    DOPT_FN(dopt_manifold) M = L->kind == DOPT_BRIDGE_CURVE_EXP ? DOPT_FN(dopt_manifold_euclidean)(2)
                                                                 : DOPT_FN(dopt_lie_manifold_se2)();
    int v, k, nv = L->kind == DOPT_BRIDGE_CURVE_EXP ? 1 : npoints_or_poses, b;
    dopt_status st;
    if ((st = DOPT_FN(dopt_nlls_problem_create)(NULL, L->batch, &L->prob)) != DOPT_OK) return st;
    for (v = 0; v < nv; ++v)
        if ((st = DOPT_FN(dopt_nlls_add_variable)(L->prob, &M, NULL)) != DOPT_OK) return st;
    if (L->kind == DOPT_BRIDGE_PGO_SE2) DOPT_FN(dopt_nlls_set_constant)(L->prob, 0, 1);
    for (b = 0; b < L->batch; ++b)
        for (k = 0; k < L->nterms; ++k) {
            L->terms[b * L->nterms + k].data = L->data + ((ptrdiff_t)b * L->nterms + k) * L->dd;
            L->terms[b * L->nterms + k].k = k;
        }
    for (k = 0; k < L->nterms; ++k) {
        DOPT_FN(dopt_nlls_cost_desc) d;
        int vars[2] = {0, 0};
        memset(&d, 0, sizeof d);
        d.data = L->terms + k;
        d.data_stride = sizeof(DOPT_FN(dopt__br_term)) * (size_t)L->nterms;
        d.vars = vars;
        if (L->kind == DOPT_BRIDGE_CURVE_EXP) {
            d.fn = DOPT_FN(dopt__br_exp_cost); d.rdim = 1; d.nvars = 1;
        } else {
            if (edges[2 * k] < 0 || edges[2 * k] >= nv || edges[2 * k + 1] < 0 || edges[2 * k + 1] >= nv)
                return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, k, 0, "dopt_bridge_nlls_create: edge index out of range");
            vars[0] = edges[2 * k]; vars[1] = edges[2 * k + 1];
            d.fn = DOPT_FN(dopt__br_se2_cost); d.rdim = 3; d.nvars = 2;
        }
        if ((st = DOPT_FN(dopt_nlls_add_cost)(L->prob, &d, NULL)) != DOPT_OK)
            return dopt_errinfo_set(info, st, k, 0, "dopt_bridge_nlls_create: bad term");
    }
    if ((st = DOPT_FN(dopt_nlls_solver_create)(L->prob, NULL, &L->solver, info)) != DOPT_OK) return st;
    if ((st = DOPT_FN(dopt_nlls_diff_create)(L->solver, &L->D)) != DOPT_OK) return st;
    DOPT_FN(dopt_nlls_diff_keep_trace)(L->D, 0);
    if ((st = DOPT_FN(dopt_nlls_diff_add_param)(L->D, DOPT_PARAM_DATA, L->data, L->nterms * L->dd,
                                                (ptrdiff_t)L->nterms * L->dd, &L->param)) != DOPT_OK)
        return st;
    for (k = 0; k < L->nterms; ++k)
        if ((st = DOPT_FN(dopt_nlls_diff_attach)(L->D, k, L->param,
                                                 L->kind == DOPT_BRIDGE_CURVE_EXP ? DOPT_FN(dopt__br_exp_vjp)
                                                                                  : DOPT_FN(dopt__br_se2_vjp))) != DOPT_OK)
            return st;
    L->ntan = DOPT_FN(dopt_nlls_diff_tangent_size)(L->D);
    return DOPT_OK;
}

/* dopt_bridge_nlls_create: a least-squares layer of `kind` for `batch` problems.
 *   DOPT_BRIDGE_CURVE_EXP  size = points N; data B x N x 2 (t, y); x B x 2 (m, c); edges unused
 *   DOPT_BRIDGE_PGO_SE2    size = poses N; nterms = edges E, edges E x 2 (i, j) ints; data
 *                          B x E x 3 (measured [x y theta] of pose j in pose i's frame);
 *                          x B x N x 3 ([x y theta]); pose 0 is held at its initial value.
 * exact: 1 = the backward uses the exact Hessian (dopt_nlls_diff_options.implicit_exact), 0 =
 * the Gauss-Newton matrix (Theseus' choice).  Allocates through libc. */
DOPT_API dopt_status DOPT_FN(dopt_bridge_nlls_create)(int kind, int batch, int size, int nterms,
                                                      const int *edges, int exact,
                                                      DOPT_FN(dopt_bridge_nlls) **out, dopt_errinfo *info)
{
    DOPT_FN(dopt_bridge_nlls) *L;
    dopt_status st;
    if (!out || batch < 1 || size < 1 || (kind != DOPT_BRIDGE_CURVE_EXP && kind != DOPT_BRIDGE_PGO_SE2) ||
        (kind == DOPT_BRIDGE_PGO_SE2 && (nterms < 1 || !edges)))
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "dopt_bridge_nlls_create: bad argument");
    *out = NULL;
    L = (DOPT_FN(dopt_bridge_nlls) *)calloc(1, sizeof *L);
    if (!L) return dopt_errinfo_set(info, DOPT_ERR_ALLOCATION, -1, 0, "dopt_bridge_nlls_create: out of memory");
    L->kind = kind; L->batch = batch; L->exact = exact != 0;
    L->nterms = kind == DOPT_BRIDGE_CURVE_EXP ? size : nterms;
    L->dd = kind == DOPT_BRIDGE_CURVE_EXP ? 2 : 3;
    L->nvars = kind == DOPT_BRIDGE_CURVE_EXP ? 1 : size;
    L->xdim = kind == DOPT_BRIDGE_CURVE_EXP ? 2 : 4 * size;
    L->data = (R_ *)calloc((size_t)batch * (size_t)L->nterms * (size_t)L->dd, sizeof(R_));
    L->x = (R_ *)calloc((size_t)batch * (size_t)L->xdim, sizeof(R_));
    L->xbar = (R_ *)calloc((size_t)batch * (size_t)(3 * L->nvars + 2), sizeof(R_));
    L->terms = (DOPT_FN(dopt__br_term) *)calloc((size_t)batch * (size_t)L->nterms, sizeof *L->terms);
    L->reports = (dopt_nlls_report *)calloc((size_t)batch, sizeof *L->reports);
    L->breports = (dopt_nlls_diff_report *)calloc((size_t)batch, sizeof *L->breports);
    if (!L->data || !L->x || !L->xbar || !L->terms || !L->reports || !L->breports) {
        DOPT_FN(dopt_bridge_nlls_destroy)(L);
        return dopt_errinfo_set(info, DOPT_ERR_ALLOCATION, -1, 0, "dopt_bridge_nlls_create: out of memory");
    }
    st = DOPT_FN(dopt__br_nlls_build)(L, size, edges, info);
    if (st != DOPT_OK) { DOPT_FN(dopt_bridge_nlls_destroy)(L); return st; }
    *out = L;
    return DOPT_OK;
}

/* dopt_bridge_nlls_solve: copy data (layout of create) into the layer, start from x0 (B x xdim of
 * create: [m c] or N poses [x y theta]) and solve (Levenberg-Marquardt, tight tolerances); x
 * (same layout) gets the solution, status B the per-element status (DOPT_ERR_NO_CONVERGENCE for
 * an element stopped by the iteration limit or without progress before the gradient was small). */
DOPT_API dopt_status DOPT_FN(dopt_bridge_nlls_solve)(DOPT_FN(dopt_bridge_nlls) *L, const R_ *data,
                                                     const R_ *x0, int max_iterations, R_ *x,
                                                     int *status, dopt_errinfo *info)
{
    DOPT_FN(dopt_nlls_options) o;
    ptrdiff_t b, i, nt = (ptrdiff_t)L->nterms * L->dd;
    dopt_status st, ret = DOPT_OK;
    if (!L || !data || !x0 || !x)
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "dopt_bridge_nlls_solve: bad argument");
    memcpy(L->data, data, sizeof(R_) * (size_t)(L->batch * nt));
    for (b = 0; b < L->batch; ++b)
        if (L->kind == DOPT_BRIDGE_CURVE_EXP) {
            L->x[2 * b] = x0[2 * b]; L->x[2 * b + 1] = x0[2 * b + 1];
        } else
            for (i = 0; i < L->nvars; ++i)
                DOPT_FN(dopt_se2_from_xytheta)(x0 + (b * L->nvars + i) * 3, L->x + (b * L->nvars + i) * 4);
    memset(&o, 0, sizeof o);
    o.max_iterations = max_iterations > 0 ? max_iterations : 100;
    o.function_tolerance = DOPT_IS_FLOAT ? (R_)1e-7 : (R_)1e-15;
    o.gradient_tolerance = DOPT_IS_FLOAT ? (R_)1e-6 : (R_)1e-12;
    o.step_tolerance = DOPT_IS_FLOAT ? (R_)1e-7 : (R_)1e-14;
    st = DOPT_FN(dopt_nlls_diff_solve)(L->D, &o, L->x, L->xdim, L->reports, info);
    for (b = 0; b < L->batch; ++b) {
        dopt_status e = L->reports[b].status;
        if (e == DOPT_OK && L->reports[b].stop == DOPT_STOP_MAX_ITERATIONS) e = DOPT_ERR_NO_CONVERGENCE;
        if (status) status[b] = (int)e;
        if (e != DOPT_OK && ret == DOPT_OK) {
            ret = e;
            if (st == DOPT_OK)
                dopt_errinfo_set(info, e, (long)b, 0, "dopt_bridge_nlls_solve: iteration limit");
        }
        if (L->kind == DOPT_BRIDGE_CURVE_EXP) {
            x[2 * b] = L->x[2 * b]; x[2 * b + 1] = L->x[2 * b + 1];
        } else
            for (i = 0; i < L->nvars; ++i)
                DOPT_FN(dopt_se2_to_xytheta)(L->x + (b * L->nvars + i) * 4, x + (b * L->nvars + i) * 3);
    }
    return st != DOPT_OK ? st : ret;
}

/* dopt_bridge_nlls_backward: IMPLICIT backward of the last solve: xbar = dL/dx (layout of x),
 * ddata (layout of data) gets dL/ddata; status B per element (dopt_nlls_diff_report.status). */
DOPT_API dopt_status DOPT_FN(dopt_bridge_nlls_backward)(DOPT_FN(dopt_bridge_nlls) *L, const R_ *xbar,
                                                        R_ *ddata, int *status, dopt_errinfo *info)
{
    DOPT_FN(dopt_nlls_diff_options) o;
    ptrdiff_t b, i, nt;
    const R_ *g;
    dopt_status st;
    if (!L || !xbar || !ddata)
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "dopt_bridge_nlls_backward: bad argument");
    nt = (ptrdiff_t)L->nterms * L->dd;
    for (b = 0; b < L->batch; ++b) {
        R_ *tb = L->xbar + b * L->ntan;
        if (L->kind == DOPT_BRIDGE_CURVE_EXP) { tb[0] = xbar[2 * b]; tb[1] = xbar[2 * b + 1]; continue; }
        for (i = 0; i < L->nvars; ++i) {
            /* right perturbation of pose i: d(xy) = R(th) rho, d th = phi */
            int off = DOPT_FN(dopt_nlls_diff_tangent_offset)(L->D, (int)i);
            const R_ *gi = xbar + (b * L->nvars + i) * 3, *p = L->x + (b * L->nvars + i) * 4;
            if (off < 0) continue;
            tb[off] = p[2] * gi[0] + p[3] * gi[1];
            tb[off + 1] = -p[3] * gi[0] + p[2] * gi[1];
            tb[off + 2] = gi[2];
        }
    }
    memset(&o, 0, sizeof o);
    o.mode = DOPT_NLLS_DIFF_IMPLICIT;
    o.implicit_exact = L->exact;
    st = DOPT_FN(dopt_nlls_diff_backward)(L->D, &o, L->xbar, NULL, L->breports, info);
    g = DOPT_FN(dopt_nlls_diff_param_grad)(L->D, L->param);
    for (b = 0; b < L->batch; ++b) if (status) status[b] = (int)L->breports[b].status;
    if (!g) return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "dopt_bridge_nlls_backward: no gradient");
    memcpy(ddata, g, sizeof(R_) * (size_t)(L->batch * nt));
    return st;
}

#undef R_
#endif
