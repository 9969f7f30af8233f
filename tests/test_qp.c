/* The dense QP of dopt_mpc.h (issue 28), float and double:
 *   - KKT optimality (stationarity, feasibility, complementarity, z >= 0, recomputed here from x
 *     and the multipliers) on random feasible QPs of all 8 constraint combinations, 1e-9 in double;
 *   - the solution equals an independent solve written here: enumeration of active sets with a
 *     Gaussian-elimination KKT solve for tiny n (1e-9);
 *   - infeasible (G rows, l > u, equalities against bounds) and unbounded problems get their result;
 *   - singular Q whose constraints fix x; bad data and options; no allocation in solve/backward;
 *   - the backward against central differences of the solution map (1e-6), stride-0 sums, the
 *     one-sided derivative at a weakly active bound, and float with double inside. */
#if !defined(DOPT__DRIVE)
#define DOPT_IMPLEMENTATION
#include "dopt.h"
#include "dopt_mpc.h"
#include "dopt_test.h"

/* counting allocator: solve and backward must not allocate */
static long qp_test_allocs;
static void *qp_test_alloc(void *u, size_t s) { (void)u; qp_test_allocs++; return malloc(s); }
static void qp_test_free(void *u, void *p, size_t s) { (void)u; (void)s; free(p); }

/* The finite-difference side of the backward test, in double whatever the tested precision:
 * a QP held in double arrays and L = c^T x of its solution at a tight tolerance. */
typedef struct fd_qp {
    int n, meq, mi, box;
    double Q[64], p[8], A[16], b[2], G[40], h[5], l[8], u[8];
} fd_qp;

static double fd_qp_loss(const fd_qp *q, const double *c, int *ok)
{
    dopt_mpc_qp_dims dims = {0, 0, 0, 0, 0};
    dopt_mpc_qp_d *qp = NULL;
    dopt_mpc_qp_data_d d;
    dopt_mpc_qp_options o;
    double x[8], L = 0;
    int j;
    dims.n = q->n; dims.meq = q->meq; dims.mineq = q->mi; dims.box = q->box;
    memset(&d, 0, sizeof d);
    d.Q = q->Q; d.p = q->p; d.A = q->A; d.b = q->b; d.G = q->G; d.h = q->h; d.l = q->l; d.u = q->u;
    memset(&o, 0, sizeof o);
    o.tol = 1e-12;
    *ok = dopt_mpc_qp_create_d(NULL, &dims, 1, &qp, NULL) == DOPT_OK &&
          dopt_mpc_qp_solve_d(qp, &o, 1, &d, x, q->n, NULL, NULL) == DOPT_OK;
    for (j = 0; j < q->n; ++j) L += c[j] * x[j];
    dopt_mpc_qp_destroy_d(qp);
    return L;
}

#define TEST_QP_PASS
#define DOPT__DRIVE "tests/test_qp.c"
#include "dopt.h"
#undef DOPT__DRIVE
#undef TEST_QP_PASS

/* float data, double inside: equals the double solve of the same (float-rounded) data to one
 * float rounding, x and gradients */
static void test_qp_double_inside_f(void)
{
    dopt_rng rng;
    static tqp_d qd;
    float Qf[64 * 64], pf[64], Af[16 * 64], bf[16], Gf[64 * 64], hf[64], lf[64], uf[64], xf[64], gf[64], dpf[64], dhf[64];
    double xd[64], gd[64], dpd[64], dhd[64];
    dopt_mpc_qp_dims dims = {12, 3, 12, 1, 1};
    dopt_mpc_qp_f *qf = NULL;
    dopt_mpc_qp_d *qdd = NULL;
    dopt_mpc_qp_data_f df;
    dopt_mpc_qp_data_d dd;
    dopt_mpc_qp_grad_f gradf;
    dopt_mpc_qp_grad_d gradd;
    int i, n = 12;
    dopt_rng_seed(&rng, 28, 9);
    tqp_random_d(&rng, &qd, 12, 3, 12, 1, 0.1);
    /* round the data to float, and use the rounded values in double too */
    for (i = 0; i < n * n; ++i) { Qf[i] = (float)qd.Q[i]; qd.Q[i] = Qf[i]; }
    for (i = 0; i < 3 * n; ++i) { Af[i] = (float)qd.A[i]; qd.A[i] = Af[i]; }
    for (i = 0; i < 12 * n; ++i) { Gf[i] = (float)qd.G[i]; qd.G[i] = Gf[i]; }
    for (i = 0; i < n; ++i) {
        pf[i] = (float)qd.p[i]; qd.p[i] = pf[i]; hf[i] = (float)qd.h[i]; qd.h[i] = hf[i];
        lf[i] = (float)qd.l[i]; qd.l[i] = lf[i]; uf[i] = (float)qd.u[i]; qd.u[i] = uf[i];
        gf[i] = (float)(i % 3) - 1.0f; gd[i] = gf[i];
    }
    for (i = 0; i < 3; ++i) { bf[i] = (float)qd.b[i]; qd.b[i] = bf[i]; }
    memset(&df, 0, sizeof df);
    df.Q = Qf; df.p = pf; df.A = Af; df.b = bf; df.G = Gf; df.h = hf; df.l = lf; df.u = uf;
    dd = tqp_data_d(&qd);
    DOPT_CHECK(dopt_mpc_qp_create_f(NULL, &dims, 1, &qf, NULL) == DOPT_OK, "create f");
    dims.double_inside = 0;
    DOPT_CHECK(dopt_mpc_qp_create_d(NULL, &dims, 1, &qdd, NULL) == DOPT_OK, "create d");
    if (!qf || !qdd) return;
    DOPT_CHECK(dopt_mpc_qp_solve_f(qf, NULL, 1, &df, xf, n, NULL, NULL) == DOPT_OK, "solve f inside");
    DOPT_CHECK(dopt_mpc_qp_solve_d(qdd, NULL, 1, &dd, xd, n, NULL, NULL) == DOPT_OK, "solve d");
    memset(&gradf, 0, sizeof gradf);
    memset(&gradd, 0, sizeof gradd);
    gradf.p = dpf; gradf.h = dhf; gradd.p = dpd; gradd.h = dhd;
    DOPT_CHECK(dopt_mpc_qp_backward_f(qf, NULL, 1, &df, gf, n, &gradf, NULL, NULL) == DOPT_OK, "backward f inside");
    DOPT_CHECK(dopt_mpc_qp_backward_d(qdd, NULL, 1, &dd, gd, n, &gradd, NULL, NULL) == DOPT_OK, "backward d");
    for (i = 0; i < n; ++i) {
        DOPT_CHECK_CLOSE(xf[i], xd[i], 2e-7, "x");
        DOPT_CHECK_CLOSE(dpf[i], dpd[i], 2e-7, "dp");
        DOPT_CHECK_CLOSE(dhf[i], dhd[i], 2e-7, "dh");
    }
    dopt_mpc_qp_destroy_f(qf);
    dopt_mpc_qp_destroy_d(qdd);
}

static void test_result_strings(void)
{
    DOPT_CHECK(strcmp(dopt_mpc_qp_result_string(DOPT_MPC_QP_SOLVED), "solved") == 0, "solved string");
    DOPT_CHECK(strcmp(dopt_mpc_qp_result_string((dopt_mpc_qp_result)99), "unknown result") == 0, "unknown");
    DOPT_CHECK(dopt_mpc_qp_default_options().tol == 1e-9, "default tol");
}

static void suite(void)
{
#define RUN2(name) DOPT_TEST_RUN(name##_d); DOPT_TEST_RUN(name##_f)
    DOPT_TEST_RUN(test_result_strings);
    RUN2(test_qp_kkt_random);
    RUN2(test_qp_enumeration);
    RUN2(test_qp_infeasible);
    RUN2(test_qp_unbounded);
    RUN2(test_qp_singular_q);
    RUN2(test_qp_bad_input);
    RUN2(test_qp_no_alloc);
    RUN2(test_qp_warm_start);
    RUN2(test_qp_methods_agree);
    RUN2(test_qp_active_set_cases);
    RUN2(test_qp_backward_fd);
    RUN2(test_qp_backward_shared);
    RUN2(test_qp_backward_degenerate);
    DOPT_TEST_RUN(test_qp_double_inside_f);
}
DOPT_TEST_MAIN(suite)

#elif defined(TEST_QP_PASS) && defined(DOPT_REAL)
#define R DOPT_REAL
#define QPF(name) DOPT_FN(name)

/* A random feasible QP: Q = M M^T / n + qd I (qd may be 0: PSD when M is thin), a feasible x0,
 * b = A x0, h = G x0 + slack (a third of the rows tight at x0), l <= x0 <= u. */
typedef struct QPF(tqp) {
    int n, meq, mi, box;
    R Q[64 * 64], p[64], A[16 * 64], b[16], G[64 * 64], h[64], l[64], u[64];
} QPF(tqp);

static void QPF(tqp_random)(dopt_rng *rng, QPF(tqp) *q, int n, int meq, int mi, int box, R qd)
{
    R M[64 * 64], x0[64];
    int i, j, k;
    q->n = n; q->meq = meq; q->mi = mi; q->box = box;
    DOPT_FN(dopt_rng_fill_normal)(rng, n * n, M, 0, 1);
    for (j = 0; j < n; ++j)
        for (i = 0; i < n; ++i) {
            double s = 0;
            for (k = 0; k < n; ++k) s += (double)M[i + k * n] * M[j + k * n];
            q->Q[i + j * n] = (R)(s / n) + (i == j ? qd : 0);
        }
    DOPT_FN(dopt_rng_fill_normal)(rng, n, q->p, 0, 1);
    DOPT_FN(dopt_rng_fill_normal)(rng, n, x0, 0, 0.5);
    DOPT_FN(dopt_rng_fill_normal)(rng, meq * n, q->A, 0, 1);
    DOPT_FN(dopt_rng_fill_normal)(rng, mi * n, q->G, 0, 1);
    for (i = 0; i < meq; ++i) {
        double s = 0;
        for (j = 0; j < n; ++j) s += (double)q->A[i + j * meq] * x0[j];
        q->b[i] = (R)s;
    }
    for (i = 0; i < mi; ++i) {
        double s = 0;
        for (j = 0; j < n; ++j) s += (double)q->G[i + j * mi] * x0[j];
        q->h[i] = (R)(s + (i % 3 == 0 ? 0 : dopt_rng_uniform_d(rng)));
    }
    for (j = 0; j < n; ++j) {
        q->l[j] = x0[j] - (R)(0.1 + dopt_rng_uniform_d(rng));
        q->u[j] = x0[j] + (R)(0.1 + dopt_rng_uniform_d(rng));
    }
}

static QPF(dopt_mpc_qp_data) QPF(tqp_data)(const QPF(tqp) *q)
{
    QPF(dopt_mpc_qp_data) d;
    memset(&d, 0, sizeof d);
    d.Q = q->Q; d.p = q->p; d.A = q->A; d.b = q->b; d.G = q->G; d.h = q->h; d.l = q->l; d.u = q->u;
    return d;
}

/* The KKT measures recomputed here in double from x and the multipliers: the worst of
 * stationarity, equality and inequality violation, complementarity and multiplier sign. */
static double QPF(tqp_kkt)(const QPF(tqp) *q, const R *x, const R *y, const R *z, const R *zl, const R *zu)
{
    int n = q->n, i, j;
    double worst = 0, g[64];
    for (j = 0; j < n; ++j) {
        g[j] = q->p[j];
        for (i = 0; i < n; ++i) g[j] += (double)q->Q[(i > j ? i : j) + (i > j ? j : i) * n] * x[i];
        for (i = 0; i < q->meq; ++i) g[j] += (double)q->A[i + j * q->meq] * y[i];
        for (i = 0; i < q->mi; ++i) g[j] += (double)q->G[i + j * q->mi] * z[i];
        if (q->box) g[j] += (double)zu[j] - zl[j];
        if (fabs(g[j]) > worst) worst = fabs(g[j]);
    }
    for (i = 0; i < q->meq; ++i) {
        double r = -q->b[i];
        for (j = 0; j < n; ++j) r += (double)q->A[i + j * q->meq] * x[j];
        if (fabs(r) > worst) worst = fabs(r);
    }
    for (i = 0; i < q->mi; ++i) {
        double r = -q->h[i];
        for (j = 0; j < n; ++j) r += (double)q->G[i + j * q->mi] * x[j];
        if (r > worst) worst = r;
        if (-z[i] > worst) worst = -z[i];
        if (fabs(z[i] * r) > worst) worst = fabs(z[i] * r);
    }
    if (q->box)
        for (j = 0; j < n; ++j) {
            double ru = x[j] - (double)q->u[j], rl = (double)q->l[j] - x[j];
            if (ru > worst) worst = ru;
            if (rl > worst) worst = rl;
            if (-zu[j] > worst) worst = -zu[j];
            if (-zl[j] > worst) worst = -zl[j];
            if (fabs(zu[j] * ru) > worst) worst = fabs(zu[j] * ru);
            if (fabs(zl[j] * rl) > worst) worst = fabs(zl[j] * rl);
        }
    return worst;
}

static void QPF(test_qp_kkt_random)(void)
{
    dopt_rng rng;
    static QPF(tqp) q;
    int combo, rep, sizes[3] = {3, 10, 40};
    double tol = DOPT_TEST_TOL(1e-9, 2e-3);
    dopt_mpc_qp_options opt;
    memset(&opt, 0, sizeof opt);
    opt.tol = DOPT_TEST_TOL(0, 5e-4); /* float: the default 1e-4 is near float's floor at n = 40 */
    dopt_rng_seed(&rng, 28, 1);
    for (combo = 0; combo < 8; ++combo)
        for (rep = 0; rep < 6; ++rep) {
            int n = sizes[rep % 3], meq = (combo & 1) ? n / 4 + 1 : 0, mi = (combo & 2) ? n : 0, box = (combo & 4) ? 1 : 0;
            dopt_mpc_qp_dims dims;
            QPF(dopt_mpc_qp) *qp = NULL;
            QPF(dopt_mpc_qp_data) d;
            dopt_mpc_qp_report r;
            memset(&r, 0, sizeof r);
            R x[64], y[64], z[64], zl[64], zu[64];
            dopt_status st;
            double kkt;
            memset(&dims, 0, sizeof dims);
            dims.n = n; dims.meq = meq; dims.mineq = mi; dims.box = box;
            QPF(tqp_random)(&rng, &q, n, meq, mi, box, (R)(rep < 3 ? 0.1 : 0.0) + (combo == 0 ? (R)0.1 : 0));
            d = QPF(tqp_data)(&q);
            st = QPF(dopt_mpc_qp_create)(NULL, &dims, 1, &qp, NULL);
            DOPT_CHECK(st == DOPT_OK, "create");
            if (st != DOPT_OK) continue;
            st = QPF(dopt_mpc_qp_solve)(qp, &opt, 1, &d, x, n, &r, NULL);
            DOPT_CHECK(st == DOPT_OK && r.result == DOPT_MPC_QP_SOLVED, "combo %d rep %d n %d: %s (%s) it %d res %g %g %g",
                       combo, rep, n, dopt_status_string(st), dopt_mpc_qp_result_string(r.result), r.iterations,
                       r.primal_residual, r.dual_residual, r.complementarity);
            if (st == DOPT_OK) {
                QPF(dopt_mpc_qp_multipliers)(qp, 0, y, z, zl, zu, NULL);
                kkt = QPF(tqp_kkt)(&q, x, y, z, zl, zu);
                DOPT_CHECK(kkt <= tol, "combo %d rep %d n %d: KKT %g (report %g %g %g, %d it)", combo, rep, n, kkt,
                           r.primal_residual, r.dual_residual, r.complementarity, r.iterations);
            }
            QPF(dopt_mpc_qp_destroy)(qp);
        }
}

/* Gaussian elimination with partial pivoting on the k x k system M v = r (column-major, in
 * double); returns 0 when singular. */
static int QPF(tqp_gauss)(int k, double *M, double *r)
{
    int i, j, c;
    for (c = 0; c < k; ++c) {
        int piv = c;
        double best = fabs(M[c + c * k]);
        for (i = c + 1; i < k; ++i)
            if (fabs(M[i + c * k]) > best) { best = fabs(M[i + c * k]); piv = i; }
        if (best < 1e-12) return 0;
        if (piv != c) {
            for (j = 0; j < k; ++j) { double tmp = M[c + j * k]; M[c + j * k] = M[piv + j * k]; M[piv + j * k] = tmp; }
            { double tmp = r[c]; r[c] = r[piv]; r[piv] = tmp; }
        }
        for (i = c + 1; i < k; ++i) {
            double f = M[i + c * k] / M[c + c * k];
            for (j = c; j < k; ++j) M[i + j * k] -= f * M[c + j * k];
            r[i] -= f * r[c];
        }
    }
    for (c = k - 1; c >= 0; --c) {
        for (j = c + 1; j < k; ++j) r[c] -= M[c + j * k] * r[j];
        r[c] /= M[c + c * k];
    }
    return 1;
}

/* The independent solve: every active set S of the inequality rows (G rows, then x <= u, then
 * -x <= -l) with |S| <= n - meq; the KKT system of the equality-constrained QP on S by Gaussian
 * elimination; the one whose x is feasible and whose multipliers are >= 0 is the solution
 * (Q positive definite: unique).  Returns 1 and x, or 0. */
static int QPF(tqp_enumerate)(const QPF(tqp) *q, double *xout)
{
    int n = q->n, meq = q->meq, m = q->mi + (q->box ? 2 * n : 0), mask, i, j;
    double C[16 * 8], d[16];
    for (i = 0; i < m; ++i)
        for (j = 0; j < n; ++j) {
            if (i < q->mi) C[i + j * 16] = q->G[i + j * q->mi];
            else if (i < q->mi + n) C[i + j * 16] = (i - q->mi == j) ? 1 : 0;
            else C[i + j * 16] = (i - q->mi - n == j) ? -1 : 0;
        }
    for (i = 0; i < m; ++i) d[i] = i < q->mi ? q->h[i] : i < q->mi + n ? q->u[i - q->mi] : -(double)q->l[i - q->mi - n];
    for (mask = 0; mask < (1 << m); ++mask) {
        int S[16], ns = 0, k, ok = 1;
        double M[32 * 32], r[32];
        for (i = 0; i < m; ++i) if (mask & (1 << i)) S[ns++] = i;
        if (ns > n - meq) continue;
        k = n + meq + ns;
        memset(M, 0, sizeof M);
        for (j = 0; j < n; ++j) {
            for (i = 0; i < n; ++i) M[i + j * k] = q->Q[(i > j ? i : j) + (i > j ? j : i) * n];
            for (i = 0; i < meq; ++i) { M[n + i + j * k] = q->A[i + j * meq]; M[j + (n + i) * k] = q->A[i + j * meq]; }
            for (i = 0; i < ns; ++i) { M[n + meq + i + j * k] = C[S[i] + j * 16]; M[j + (n + meq + i) * k] = C[S[i] + j * 16]; }
            r[j] = -q->p[j];
        }
        for (i = 0; i < meq; ++i) r[n + i] = q->b[i];
        for (i = 0; i < ns; ++i) r[n + meq + i] = d[S[i]];
        if (!QPF(tqp_gauss)(k, M, r)) continue;
        for (i = 0; i < ns && ok; ++i) ok = r[n + meq + i] >= -1e-12;
        for (i = 0; i < m && ok; ++i) {
            double cx = 0;
            for (j = 0; j < n; ++j) cx += C[i + j * 16] * r[j];
            ok = cx <= d[i] + 1e-12;
        }
        if (!ok) continue;
        for (j = 0; j < n; ++j) xout[j] = r[j];
        return 1;
    }
    return 0;
}

static void QPF(test_qp_enumeration)(void)
{
    dopt_rng rng;
    static QPF(tqp) q;
    int rep, found = 0;
    double tol = DOPT_TEST_TOL(1e-9, 5e-3); /* float: the interior point's accuracy in float */
    dopt_rng_seed(&rng, 28, 2);
    for (rep = 0; rep < 30; ++rep) {
        int n = 4, meq = rep % 2, mi = 3, box = 1, j;
        dopt_mpc_qp_dims dims = {0, 0, 0, 0, 0};
        QPF(dopt_mpc_qp) *qp = NULL;
        QPF(dopt_mpc_qp_data) d;
        R x[8];
        double xe[8];
        dims.n = n; dims.meq = meq; dims.mineq = mi; dims.box = box;
        QPF(tqp_random)(&rng, &q, n, meq, mi, box, (R)0.3);
        /* move the linear term so that several constraints bind */
        for (j = 0; j < n; ++j) q.p[j] *= 3;
        d = QPF(tqp_data)(&q);
        if (!QPF(tqp_enumerate)(&q, xe)) continue;
        ++found;
        DOPT_CHECK(QPF(dopt_mpc_qp_create)(NULL, &dims, 1, &qp, NULL) == DOPT_OK, "create");
        if (!qp) continue;
        DOPT_CHECK(QPF(dopt_mpc_qp_solve)(qp, NULL, 1, &d, x, n, NULL, NULL) == DOPT_OK, "solve rep %d", rep);
        for (j = 0; j < n; ++j) DOPT_CHECK(fabs(x[j] - xe[j]) <= tol, "rep %d x[%d] %.15g vs enumeration %.15g", rep, j, (double)x[j], xe[j]);
        QPF(dopt_mpc_qp_destroy)(qp);
    }
    DOPT_CHECK(found >= 25, "the enumeration found %d of 30 solutions", found);
}

/* Solve one small QP given by arrays; returns the report's result. */
static dopt_mpc_qp_result QPF(tqp_solve_small)(int n, int meq, int mi, int box, const R *Q, const R *p, const R *A,
                                               const R *b, const R *G, const R *h, const R *l, const R *u, R *x,
                                               dopt_status *st)
{
    dopt_mpc_qp_dims dims = {0, 0, 0, 0, 0};
    QPF(dopt_mpc_qp) *qp = NULL;
    QPF(dopt_mpc_qp_data) d;
    dopt_mpc_qp_report r;
    dims.n = n; dims.meq = meq; dims.mineq = mi; dims.box = box;
    memset(&d, 0, sizeof d);
    memset(&r, 0, sizeof r);
    d.Q = Q; d.p = p; d.A = A; d.b = b; d.G = G; d.h = h; d.l = l; d.u = u;
    if (QPF(dopt_mpc_qp_create)(NULL, &dims, 1, &qp, NULL) != DOPT_OK) return DOPT_MPC_QP_NOT_SOLVED;
    *st = QPF(dopt_mpc_qp_solve)(qp, NULL, 1, &d, x, n, &r, NULL);
    QPF(dopt_mpc_qp_destroy)(qp);
    return r.result;
}

static void QPF(test_qp_infeasible)(void)
{
    R Q[4] = {1, 0, 0, 1}, p[2] = {1, -1}, G[4] = {1, -1, 0, 0}, h[2] = {-1, -1}, x[2] = {7, 7};
    R A[2] = {1, 1}, b[1] = {5}, l[2] = {0, 0}, u[2] = {1, 1}, l2[2] = {0, 2}, u2[2] = {1, 1};
    dopt_status st = DOPT_OK;
    dopt_mpc_qp_result r;
    /* x1 <= -1 and -x1 <= -1 */
    r = QPF(tqp_solve_small)(2, 0, 2, 0, Q, p, NULL, NULL, G, h, NULL, NULL, x, &st);
    DOPT_CHECK(r == DOPT_MPC_QP_PRIMAL_INFEASIBLE && st == DOPT_ERR_NO_CONVERGENCE, "G rows: %s", dopt_mpc_qp_result_string(r));
    DOPT_CHECK(DOPT_FN(dopt_all_finite)(2, x), "finite x");
    /* x1 + x2 = 5 within the unit box */
    r = QPF(tqp_solve_small)(2, 1, 0, 1, Q, p, A, b, NULL, NULL, l, u, x, &st);
    DOPT_CHECK(r == DOPT_MPC_QP_PRIMAL_INFEASIBLE, "equality vs box: %s", dopt_mpc_qp_result_string(r));
    /* l > u */
    r = QPF(tqp_solve_small)(2, 0, 0, 1, Q, p, NULL, NULL, NULL, NULL, l2, u2, x, &st);
    DOPT_CHECK(r == DOPT_MPC_QP_PRIMAL_INFEASIBLE, "l > u: %s", dopt_mpc_qp_result_string(r));
}

static void QPF(test_qp_unbounded)(void)
{
    R Q[4] = {1, 0, 0, 0}, p[2] = {0, -1}, G[2] = {1, 0}, h[1] = {1}, x[2];
    R Z[1] = {0}, p1[1] = {-1}, l[1] = {0}, u[1] = {INFINITY};
    dopt_status st = DOPT_OK;
    dopt_mpc_qp_result r;
    r = QPF(tqp_solve_small)(2, 0, 1, 0, Q, p, NULL, NULL, G, h, NULL, NULL, x, &st);
    DOPT_CHECK(r == DOPT_MPC_QP_DUAL_INFEASIBLE && st == DOPT_ERR_NO_CONVERGENCE, "singular Q, free direction: %s",
               dopt_mpc_qp_result_string(r));
    /* an LP with a half-infinite box */
    r = QPF(tqp_solve_small)(1, 0, 0, 1, Z, p1, NULL, NULL, NULL, NULL, l, u, x, &st);
    DOPT_CHECK(r == DOPT_MPC_QP_DUAL_INFEASIBLE, "LP on [0, inf): %s", dopt_mpc_qp_result_string(r));
    /* no constraints, Q = 0 */
    r = QPF(tqp_solve_small)(1, 0, 0, 0, Z, p1, NULL, NULL, NULL, NULL, NULL, NULL, x, &st);
    DOPT_CHECK(r == DOPT_MPC_QP_DUAL_INFEASIBLE || r == DOPT_MPC_QP_NUMERICAL, "Q = 0, p != 0: %s",
               dopt_mpc_qp_result_string(r));
    DOPT_CHECK(st != DOPT_OK && DOPT_FN(dopt_all_finite)(1, x), "status and finite x");
}

static void QPF(test_qp_singular_q)(void)
{
    /* an LP in a box: x = -sign(p) */
    R Z[9] = {0}, p[3] = {1, -2, 0.5}, l[3] = {-1, -1, -1}, u[3] = {1, 1, 1}, x[3];
    /* Q = diag(1, 1, 0) with x3 fixed by an equality */
    R Q[9] = {1, 0, 0, 0, 1, 0, 0, 0, 0}, A[3] = {0, 0, 1}, b[1] = {2}, p2[3] = {1, 2, 3};
    dopt_status st = DOPT_ERR_INVALID_ARGUMENT;
    dopt_mpc_qp_result r;
    double tol = DOPT_TEST_TOL(1e-8, 2e-3);
    r = QPF(tqp_solve_small)(3, 0, 0, 1, Z, p, NULL, NULL, NULL, NULL, l, u, x, &st);
    DOPT_CHECK(r == DOPT_MPC_QP_SOLVED && st == DOPT_OK, "LP: %s", dopt_mpc_qp_result_string(r));
    DOPT_CHECK(fabs(x[0] + 1) <= tol && fabs(x[1] - 1) <= tol && fabs(x[2] + 1) <= tol, "LP x = %g %g %g",
               (double)x[0], (double)x[1], (double)x[2]);
    r = QPF(tqp_solve_small)(3, 1, 0, 0, Q, p2, A, b, NULL, NULL, NULL, NULL, x, &st);
    DOPT_CHECK(r == DOPT_MPC_QP_SOLVED, "singular Q + equality: %s", dopt_mpc_qp_result_string(r));
    DOPT_CHECK(fabs(x[0] + 1) <= tol && fabs(x[1] + 2) <= tol && fabs(x[2] - 2) <= tol, "x = %g %g %g",
               (double)x[0], (double)x[1], (double)x[2]);
}

static void QPF(test_qp_bad_input)(void)
{
    R Q[4] = {1, 0, 0, 1}, p[2] = {1, 1}, x[2] = {3, 3}, h[1] = {-INFINITY}, G[2] = {1, 1};
    dopt_mpc_qp_dims dims = {2, 0, 0, 0, 0}, bad = {0, 0, 0, 0, 0};
    QPF(dopt_mpc_qp) *qp = NULL;
    QPF(dopt_mpc_qp_data) d;
    dopt_mpc_qp_options o;
    dopt_mpc_qp_report r;
    dopt_errinfo info;
    dopt_status st = DOPT_OK;
    size_t bytes = 0;
    unsigned char small[64];
    memset(&d, 0, sizeof d);
    d.Q = Q; d.p = p;
    DOPT_CHECK(QPF(dopt_mpc_qp_create)(NULL, &bad, 1, &qp, &info) == DOPT_ERR_INVALID_ARGUMENT && !qp, "n = 0");
    DOPT_CHECK(QPF(dopt_mpc_qp_workspace_size)(&dims, 0, &bytes, NULL) == DOPT_ERR_INVALID_ARGUMENT, "max_batch 0");
    DOPT_CHECK(QPF(dopt_mpc_qp_create_in)(small, sizeof small, &dims, 1, &qp, NULL) == DOPT_ERR_ALLOCATION, "small workspace");
    DOPT_CHECK(QPF(dopt_mpc_qp_create)(NULL, &dims, 1, &qp, NULL) == DOPT_OK, "create");
    if (!qp) return;
    Q[3] = NAN;
    st = QPF(dopt_mpc_qp_solve)(qp, NULL, 1, &d, x, 2, &r, &info);
    DOPT_CHECK(st == DOPT_ERR_NON_FINITE && r.result == DOPT_MPC_QP_INVALID_DATA && info.index == 0, "NaN in Q: %s",
               dopt_status_string(st));
    DOPT_CHECK(x[0] == 0 && x[1] == 0, "x zeroed");
    Q[3] = 1;
    memset(&o, 0, sizeof o);
    o.tol = -1;
    DOPT_CHECK(QPF(dopt_mpc_qp_solve)(qp, &o, 1, &d, x, 2, NULL, NULL) == DOPT_ERR_INVALID_ARGUMENT, "tol < 0");
    o.tol = 0;
    o.policy = (dopt_nlls_diff_policy)7;
    DOPT_CHECK(QPF(dopt_mpc_qp_solve)(qp, &o, 1, &d, x, 2, NULL, NULL) == DOPT_ERR_INVALID_ARGUMENT, "unknown policy");
    DOPT_CHECK(QPF(dopt_mpc_qp_solve)(qp, NULL, 2, &d, x, 2, NULL, NULL) == DOPT_ERR_DIMENSION, "batch > max");
    DOPT_CHECK(QPF(dopt_mpc_qp_multipliers)(qp, 0, NULL, NULL, NULL, NULL, NULL) == DOPT_ERR_INVALID_ARGUMENT,
               "multipliers of a failed element");
    QPF(dopt_mpc_qp_destroy)(qp);
    qp = NULL;
    /* h = -inf is invalid data */
    dims.mineq = 1;
    d.G = G; d.h = h;
    DOPT_CHECK(QPF(dopt_mpc_qp_create)(NULL, &dims, 1, &qp, NULL) == DOPT_OK, "create");
    if (!qp) return;
    DOPT_CHECK(QPF(dopt_mpc_qp_solve)(qp, NULL, 1, &d, x, 2, &r, NULL) == DOPT_ERR_NON_FINITE, "h = -inf");
    QPF(dopt_mpc_qp_destroy)(qp);
    QPF(dopt_mpc_qp_destroy)(NULL);
}

static void QPF(test_qp_no_alloc)(void)
{
    dopt_rng rng;
    static QPF(tqp) q;
    dopt_hooks hooks;
    dopt_mpc_qp_dims dims = {8, 2, 8, 1, 0};
    QPF(dopt_mpc_qp) *qp = NULL;
    QPF(dopt_mpc_qp_data) d;
    QPF(dopt_mpc_qp_grad) g;
    R x[8], gx[8], dQ[64], dp[8];
    long before;
    int j;
    memset(&hooks, 0, sizeof hooks);
    hooks.allocator.alloc = qp_test_alloc;
    hooks.allocator.free = qp_test_free;
    dopt_rng_seed(&rng, 28, 3);
    QPF(tqp_random)(&rng, &q, 8, 2, 8, 1, (R)0.1);
    d = QPF(tqp_data)(&q);
    qp_test_allocs = 0;
    DOPT_CHECK(QPF(dopt_mpc_qp_create)(&hooks, &dims, 1, &qp, NULL) == DOPT_OK && qp_test_allocs == 1, "one allocation");
    if (!qp) return;
    before = qp_test_allocs;
    for (j = 0; j < 8; ++j) gx[j] = 1;
    memset(&g, 0, sizeof g);
    g.Q = dQ; g.p = dp;
    DOPT_CHECK(QPF(dopt_mpc_qp_solve)(qp, NULL, 1, &d, x, 8, NULL, NULL) == DOPT_OK, "solve");
    DOPT_CHECK(QPF(dopt_mpc_qp_backward)(qp, NULL, 1, &d, gx, 8, &g, NULL, NULL) == DOPT_OK, "backward");
    DOPT_CHECK(qp_test_allocs == before, "solve and backward allocate nothing (%ld)", qp_test_allocs - before);
    QPF(dopt_mpc_qp_destroy)(qp);
}

static void QPF(test_qp_warm_start)(void)
{
    dopt_rng rng;
    static QPF(tqp) q;
    dopt_mpc_qp_dims dims = {10, 2, 10, 1, 0};
    QPF(dopt_mpc_qp) *qp = NULL;
    QPF(dopt_mpc_qp_data) d;
    dopt_mpc_qp_options o;
    dopt_mpc_qp_report r1, r2;
    R x[10], x2[10];
    int j;
    double tol = DOPT_TEST_TOL(1e-8, 5e-3);
    dopt_rng_seed(&rng, 28, 4);
    QPF(tqp_random)(&rng, &q, 10, 2, 10, 1, (R)0.1);
    d = QPF(tqp_data)(&q);
    DOPT_CHECK(QPF(dopt_mpc_qp_create)(NULL, &dims, 1, &qp, NULL) == DOPT_OK, "create");
    if (!qp) return;
    DOPT_CHECK(QPF(dopt_mpc_qp_solve)(qp, NULL, 1, &d, x, 10, &r1, NULL) == DOPT_OK, "cold");
    memcpy(x2, x, sizeof x);
    for (j = 0; j < 10; ++j) q.p[j] += (R)0.01; /* a nearby problem */
    memset(&o, 0, sizeof o);
    o.warm_start = 1;
    DOPT_CHECK(QPF(dopt_mpc_qp_solve)(qp, &o, 1, &d, x2, 10, &r2, NULL) == DOPT_OK, "warm: %s", dopt_mpc_qp_result_string(r2.result));
    DOPT_CHECK(QPF(dopt_mpc_qp_solve)(qp, NULL, 1, &d, x, 10, &r1, NULL) == DOPT_OK, "cold again");
    for (j = 0; j < 10; ++j) DOPT_CHECK(fabs(x[j] - x2[j]) <= tol, "warm = cold at %d: %g %g", j, (double)x[j], (double)x2[j]);
    QPF(dopt_mpc_qp_destroy)(qp);
}

/* The dual active-set method and the interior point method on the same random QPs of every
 * constraint combination: the same x (1e-9 in double) and the same backward (the active-set
 * method's J, R adjoint against the interior point's active-set factorization). */
static void QPF(test_qp_methods_agree)(void)
{
    dopt_rng rng, rng61;
    static QPF(tqp) q;
    static R gq[2][64 * 64], gg[2][64 * 64], ga[2][16 * 64];
    R gp[2][64], gh[2][64], gb[2][16], gl[2][64], gu[2][64], x[2][64], c[64];
    int combo, rep, mth, j, compared = 0;
    double tol = DOPT_TEST_TOL(1e-9, 2e-3), gtol = DOPT_TEST_TOL(1e-7, 5e-2);
    dopt_rng_seed(&rng, 28, 7);
    dopt_rng_seed(&rng61, 28, 8);
    for (combo = 0; combo < 8; ++combo)
        for (rep = 0; rep < 4; ++rep) {
            /* n = 61 (double; its own stream): the active-set kernels' 4-column blocks and vector tails */
            int n = rep == 0 ? 5 : rep == 1 ? 12 : rep == 2 ? 30 : 61, meq = (combo & 1) ? n / 4 + 1 : 0;
            int mi = (combo & 2) ? n : 0;
            int box = (combo & 4) ? 1 : 0, ok = 1, weak = 0;
            dopt_mpc_qp_dims dims = {0, 0, 0, 0, 0};
            dims.n = n; dims.meq = meq; dims.mineq = mi; dims.box = box;
            if (rep == 3 && DOPT_IS_FLOAT) continue;
            QPF(tqp_random)(rep == 3 ? &rng61 : &rng, &q, n, meq, mi, box, (R)0.1);
            for (j = 0; j < n; ++j) q.p[j] *= 2;
            DOPT_FN(dopt_rng_fill_normal)(rep == 3 ? &rng61 : &rng, n, c, 0, 1);
            for (mth = 0; mth < 2; ++mth) {
                QPF(dopt_mpc_qp) *qp = NULL;
                QPF(dopt_mpc_qp_data) d = QPF(tqp_data)(&q);
                QPF(dopt_mpc_qp_grad) g;
                dopt_mpc_qp_options o;
                dopt_mpc_qp_report r;
                memset(&o, 0, sizeof o);
                memset(&r, 0, sizeof r);
                memset(&g, 0, sizeof g);
                o.method = mth ? DOPT_MPC_QP_INTERIOR_POINT : DOPT_MPC_QP_ACTIVE_SET;
                g.Q = gq[mth]; g.p = gp[mth]; g.A = ga[mth]; g.b = gb[mth]; g.G = gg[mth]; g.h = gh[mth];
                g.l = gl[mth]; g.u = gu[mth];
                ok = ok && QPF(dopt_mpc_qp_create)(NULL, &dims, 1, &qp, NULL) == DOPT_OK &&
                     QPF(dopt_mpc_qp_solve)(qp, &o, 1, &d, x[mth], n, &r, NULL) == DOPT_OK &&
                     r.method == (dopt_mpc_qp_method)o.method &&
                     QPF(dopt_mpc_qp_backward)(qp, &o, 1, &d, c, n, &g, NULL, NULL) == DOPT_OK;
                DOPT_CHECK(ok, "combo %d n %d method %d: %s", combo, n, o.method, dopt_mpc_qp_result_string(r.result));
                weak += r.weakly_active;
                QPF(dopt_mpc_qp_destroy)(qp);
            }
            if (!ok) continue;
            for (j = 0; j < n; ++j)
                DOPT_CHECK(fabs(x[0][j] - x[1][j]) <= tol, "combo %d n %d x[%d]: %.15g vs %.15g", combo, n, j,
                           (double)x[0][j], (double)x[1][j]);
            if (weak) continue; /* a weakly active constraint: the documented one-sided choice may differ */
            ++compared;
            for (j = 0; j < n; ++j) {
                DOPT_CHECK(fabs(gp[0][j] - gp[1][j]) <= gtol * (1 + fabs(gp[1][j])), "combo %d n %d dp[%d]: %g vs %g",
                           combo, n, j, (double)gp[0][j], (double)gp[1][j]);
                if (box) DOPT_CHECK(fabs(gl[0][j] - gl[1][j]) + fabs(gu[0][j] - gu[1][j]) <= gtol * (1 + fabs(gl[1][j]) + fabs(gu[1][j])),
                                    "combo %d n %d dl, du[%d]", combo, n, j);
            }
            for (j = 0; j < mi; ++j)
                DOPT_CHECK(fabs(gh[0][j] - gh[1][j]) <= gtol * (1 + fabs(gh[1][j])), "combo %d n %d dh[%d]: %g vs %g",
                           combo, n, j, (double)gh[0][j], (double)gh[1][j]);
            for (j = 0; j < meq; ++j)
                DOPT_CHECK(fabs(gb[0][j] - gb[1][j]) <= gtol * (1 + fabs(gb[1][j])), "combo %d n %d db[%d]: %g vs %g",
                           combo, n, j, (double)gb[0][j], (double)gb[1][j]);
            for (j = 0; j < n * n; ++j)
                DOPT_CHECK(fabs(gq[0][j] - gq[1][j]) <= gtol * (1 + fabs(gq[1][j])), "combo %d n %d dQ[%d]", combo, n, j);
            for (j = 0; j < mi * n; ++j)
                DOPT_CHECK(fabs(gg[0][j] - gg[1][j]) <= gtol * (1 + fabs(gg[1][j])), "combo %d n %d dG[%d]", combo, n, j);
            for (j = 0; j < meq * n; ++j)
                DOPT_CHECK(fabs(ga[0][j] - ga[1][j]) <= gtol * (1 + fabs(ga[1][j])), "combo %d n %d dA[%d]", combo, n, j);
        }
    DOPT_CHECK(compared >= DOPT_TEST_TOL(26, 8), "gradients compared on %d of %d problems", compared,
               DOPT_IS_FLOAT ? 24 : 32);
}

/* The active-set method's own statuses and degenerate structures: a duplicated binding G row
 * and a duplicated (consistent) equality solve; a duplicated inconsistent equality and crossed
 * inequalities are PRIMAL_INFEASIBLE; a singular Q is NUMERICAL under ACTIVE_SET and goes to the
 * interior point method under AUTO. */
static void QPF(test_qp_active_set_cases)(void)
{
    R Q[4] = {1, 0, 0, 1}, p[2] = {-2, -2}, x[2];
    R G2[4] = {1, 1, 1, 1}, h2[2] = {1, 1};             /* x1 + x2 <= 1 twice */
    R A2[4] = {1, 1, 1, 1}, b2[2] = {1, 1}, b3[2] = {1, 2};
    R Gx[4] = {1, -1, 0, 0}, hx[2] = {-1, -1};          /* x1 <= -1, -x1 <= -1 */
    R Qs[4] = {1, 0, 0, 0}, ps[2] = {0, 1}, ls[2] = {-1, -1}, us[2] = {1, 1};
    double tol = DOPT_TEST_TOL(1e-9, 1e-4);
    int mth;
    for (mth = 0; mth < 2; ++mth) {
        dopt_mpc_qp_options o;
        dopt_mpc_qp_report r;
        dopt_mpc_qp_dims dims = {2, 0, 2, 0, 0};
        QPF(dopt_mpc_qp) *qp = NULL;
        QPF(dopt_mpc_qp_data) d;
        memset(&o, 0, sizeof o);
        memset(&d, 0, sizeof d);
        o.method = mth ? DOPT_MPC_QP_AUTO : DOPT_MPC_QP_ACTIVE_SET;
        /* duplicated binding row: x = (1/2, 1/2) */
        d.Q = Q; d.p = p; d.G = G2; d.h = h2;
        if (QPF(dopt_mpc_qp_create)(NULL, &dims, 1, &qp, NULL) != DOPT_OK) { DOPT_CHECK(0, "create"); return; }
        DOPT_CHECK(QPF(dopt_mpc_qp_solve)(qp, &o, 1, &d, x, 2, &r, NULL) == DOPT_OK && r.method == DOPT_MPC_QP_ACTIVE_SET,
                   "duplicated row: %s", dopt_mpc_qp_result_string(r.result));
        DOPT_CHECK(fabs(x[0] - 0.5) <= tol && fabs(x[1] - 0.5) <= tol, "duplicated row x = %g %g", (double)x[0], (double)x[1]);
        d.G = Gx; d.h = hx;
        DOPT_CHECK(QPF(dopt_mpc_qp_solve)(qp, &o, 1, &d, x, 2, &r, NULL) == DOPT_ERR_NO_CONVERGENCE &&
                   r.result == DOPT_MPC_QP_PRIMAL_INFEASIBLE && r.method == DOPT_MPC_QP_ACTIVE_SET,
                   "crossed rows: %s", dopt_mpc_qp_result_string(r.result));
        DOPT_CHECK(DOPT_FN(dopt_all_finite)(2, x), "unsolved x is finite");
        QPF(dopt_mpc_qp_destroy)(qp);
        /* equalities: a duplicated consistent row, then an inconsistent one */
        dims.meq = 2; dims.mineq = 0;
        memset(&d, 0, sizeof d);
        d.Q = Q; d.p = p; d.A = A2; d.b = b2;
        if (QPF(dopt_mpc_qp_create)(NULL, &dims, 1, &qp, NULL) != DOPT_OK) { DOPT_CHECK(0, "create"); return; }
        DOPT_CHECK(QPF(dopt_mpc_qp_solve)(qp, &o, 1, &d, x, 2, &r, NULL) == DOPT_OK, "duplicated equality: %s",
                   dopt_mpc_qp_result_string(r.result));
        DOPT_CHECK(fabs(x[0] - 0.5) <= tol && fabs(x[1] - 0.5) <= tol, "duplicated equality x = %g %g", (double)x[0], (double)x[1]);
        d.b = b3;
        DOPT_CHECK(QPF(dopt_mpc_qp_solve)(qp, &o, 1, &d, x, 2, &r, NULL) == DOPT_ERR_NO_CONVERGENCE &&
                   r.result == DOPT_MPC_QP_PRIMAL_INFEASIBLE, "inconsistent equalities: %s", dopt_mpc_qp_result_string(r.result));
        QPF(dopt_mpc_qp_destroy)(qp);
        /* singular Q in a box */
        dims.meq = 0; dims.box = 1;
        memset(&d, 0, sizeof d);
        d.Q = Qs; d.p = ps; d.l = ls; d.u = us;
        if (QPF(dopt_mpc_qp_create)(NULL, &dims, 1, &qp, NULL) != DOPT_OK) { DOPT_CHECK(0, "create"); return; }
        if (mth == 0) {
            DOPT_CHECK(QPF(dopt_mpc_qp_solve)(qp, &o, 1, &d, x, 2, &r, NULL) == DOPT_ERR_NOT_POSITIVE_DEFINITE &&
                       r.result == DOPT_MPC_QP_NUMERICAL, "singular Q, ACTIVE_SET: %s", dopt_mpc_qp_result_string(r.result));
        } else {
            DOPT_CHECK(QPF(dopt_mpc_qp_solve)(qp, &o, 1, &d, x, 2, &r, NULL) == DOPT_OK &&
                       r.method == DOPT_MPC_QP_INTERIOR_POINT, "singular Q, AUTO: %s", dopt_mpc_qp_result_string(r.result));
            DOPT_CHECK(fabs(x[0]) <= DOPT_TEST_TOL(1e-8, 1e-3) && fabs(x[1] + 1) <= DOPT_TEST_TOL(1e-8, 1e-3),
                       "singular Q x = %g %g", (double)x[0], (double)x[1]);
        }
        QPF(dopt_mpc_qp_destroy)(qp);
    }
}

/* The backward of the problem q (this precision) for dL/dx = c, into the arrays of g. */
static int QPF(tqp_backward)(const QPF(tqp) *q, const R *c, QPF(dopt_mpc_qp_grad) *g, int *weak, dopt_mpc_qp_report *rout)
{
    dopt_mpc_qp_dims dims = {0, 0, 0, 0, 0};
    QPF(dopt_mpc_qp) *qp = NULL;
    QPF(dopt_mpc_qp_data) d = QPF(tqp_data)(q);
    dopt_mpc_qp_report r;
    R x[64];
    int ok;
    dims.n = q->n; dims.meq = q->meq; dims.mineq = q->mi; dims.box = q->box;
    memset(&r, 0, sizeof r);
    ok = QPF(dopt_mpc_qp_create)(NULL, &dims, 1, &qp, NULL) == DOPT_OK &&
         QPF(dopt_mpc_qp_solve)(qp, NULL, 1, &d, x, q->n, &r, NULL) == DOPT_OK &&
         QPF(dopt_mpc_qp_backward)(qp, NULL, 1, &d, c, q->n, g, &r, NULL) == DOPT_OK;
    *weak = r.weakly_active;
    if (rout) *rout = r;
    QPF(dopt_mpc_qp_destroy)(qp);
    return ok;
}

/* Central differences of L = c^T x(data) for every entry of every input (Q: the lower-triangle
 * entry, whose derivative is dQ_ij + dQ_ji), against the backward; float compares its backward with
 * the double backward of the same data. */
static void QPF(test_qp_backward_fd)(void)
{
    dopt_rng rng;
    static QPF(tqp) q;
    static fd_qp qd;
    R dQ[64], dp[8], dA[16], db[2], dG[40], dh[5], dl[8], du[8], c[8];
    double cd[8];
    QPF(dopt_mpc_qp_grad) g;
    dopt_mpc_qp_report r;
    int n = 6, meq = 2, mi = 5, i, j, rep, tested = 0, weak = 0;
    dopt_rng_seed(&rng, 28, 5);
    for (rep = 0; rep < 8 && tested < 3; ++rep) {
        int ok;
        QPF(tqp_random)(&rng, &q, n, meq, mi, 1, (R)0.2);
        for (j = 0; j < n; ++j) { q.p[j] *= 2; c[j] = (R)(j % 2 ? 1 : -0.5) + (R)0.1 * j; cd[j] = c[j]; }
        /* the tight rows of the generator sit at x0, not at the solution: strict complementarity is
         * likely; skip draws with a weakly active constraint */
        memset(&g, 0, sizeof g);
        g.Q = dQ; g.p = dp; g.A = dA; g.b = db; g.G = dG; g.h = dh; g.l = dl; g.u = du;
        ok = QPF(tqp_backward)(&q, c, &g, &weak, &r);
        /* float: the plain-float interior point may stop short on a hard draw (reported, no NaN);
         * the backward is what is tested here */
        if (DOPT_IS_FLOAT && !ok && r.result == DOPT_MPC_QP_MAX_ITER) continue;
        DOPT_CHECK(ok, "backward rep %d: %s %s it %d res %g %g %g", rep, dopt_status_string(r.status), dopt_mpc_qp_result_string(r.result), r.iterations, r.primal_residual, r.dual_residual, r.complementarity);
        if (!ok || weak) continue;
        ++tested;
        /* the same data in double */
        qd.n = n; qd.meq = meq; qd.mi = mi; qd.box = 1;
        for (i = 0; i < n * n; ++i) qd.Q[i] = q.Q[i];
        for (i = 0; i < n; ++i) { qd.p[i] = q.p[i]; qd.l[i] = q.l[i]; qd.u[i] = q.u[i]; }
        for (i = 0; i < meq * n; ++i) qd.A[i] = q.A[i];
        for (i = 0; i < meq; ++i) qd.b[i] = q.b[i];
        for (i = 0; i < mi * n; ++i) qd.G[i] = q.G[i];
        for (i = 0; i < mi; ++i) qd.h[i] = q.h[i];
        {
            double hstep = 1e-5, tol = DOPT_TEST_TOL(1e-6, 2e-2);
#define FD_ENTRY(arr, idx, analytic, what)                                                               \
            do {                                                                                         \
                double keep = qd.arr[idx], Lp, Lm, fd;                                                   \
                int ok1, ok2;                                                                            \
                qd.arr[idx] = keep + hstep; Lp = fd_qp_loss(&qd, cd, &ok1);                           \
                qd.arr[idx] = keep - hstep; Lm = fd_qp_loss(&qd, cd, &ok2);                           \
                qd.arr[idx] = keep;                                                                      \
                fd = (Lp - Lm) / (2 * hstep);                                                            \
                DOPT_CHECK(ok1 && ok2 && fabs(fd - (double)(analytic)) <= tol * (1 + fabs(fd)),          \
                           "rep %d %s[%d]: fd %.10g backward %.10g", rep, what, (int)(idx), fd, (double)(analytic)); \
            } while (0)
            for (j = 0; j < n; ++j)
                for (i = j; i < n; ++i) FD_ENTRY(Q, i + j * n, i == j ? dQ[i + j * n] : dQ[i + j * n] + dQ[j + i * n], "Q");
            for (i = 0; i < n; ++i) FD_ENTRY(p, i, dp[i], "p");
            for (i = 0; i < meq * n; ++i) FD_ENTRY(A, i, dA[i], "A");
            for (i = 0; i < meq; ++i) FD_ENTRY(b, i, db[i], "b");
            for (i = 0; i < mi * n; ++i) FD_ENTRY(G, i, dG[i], "G");
            for (i = 0; i < mi; ++i) FD_ENTRY(h, i, dh[i], "h");
            for (i = 0; i < n; ++i) FD_ENTRY(l, i, dl[i], "l");
            for (i = 0; i < n; ++i) FD_ENTRY(u, i, du[i], "u");
#undef FD_ENTRY
        }
    }
    DOPT_CHECK(tested >= 2, "only %d draws without weakly active constraints", tested);
}

/* Stride 0 (shared Q and G across a batch of 3) sums the per-element gradients. */
static void QPF(test_qp_backward_shared)(void)
{
    dopt_rng rng;
    static QPF(tqp) q;
    dopt_mpc_qp_dims dims = {5, 1, 5, 1, 0};
    QPF(dopt_mpc_qp) *qp = NULL;
    QPF(dopt_mpc_qp_data) d;
    QPF(dopt_mpc_qp_grad) g, g1;
    R P[15], x[15], gx[15], dQ[25], dQ1[25], sum[25], dp[15], dp1[5];
    int i, k, weak;
    double tol = DOPT_TEST_TOL(1e-9, 1e-3);
    dopt_rng_seed(&rng, 28, 6);
    QPF(tqp_random)(&rng, &q, 5, 1, 5, 1, (R)0.2);
    for (i = 0; i < 15; ++i) { P[i] = q.p[i % 5] + (R)(0.3 * (i / 5)); gx[i] = (R)((i * 7) % 5) - 2; }
    d = QPF(tqp_data)(&q);
    d.p = P; d.p_stride = 5;
    DOPT_CHECK(QPF(dopt_mpc_qp_create)(NULL, &dims, 3, &qp, NULL) == DOPT_OK, "create");
    if (!qp) return;
    DOPT_CHECK(QPF(dopt_mpc_qp_solve)(qp, NULL, 3, &d, x, 5, NULL, NULL) == DOPT_OK, "solve batch");
    memset(&g, 0, sizeof g);
    g.Q = dQ; g.p = dp; g.p_stride = 5;
    DOPT_CHECK(QPF(dopt_mpc_qp_backward)(qp, NULL, 3, &d, gx, 5, &g, NULL, NULL) == DOPT_OK, "backward batch");
    for (i = 0; i < 25; ++i) sum[i] = 0;
    for (k = 0; k < 3; ++k) {
        for (i = 0; i < 5; ++i) q.p[i] = P[5 * k + i];
        memset(&g1, 0, sizeof g1);
        g1.Q = dQ1; g1.p = dp1;
        DOPT_CHECK(QPF(tqp_backward)(&q, gx + 5 * k, &g1, &weak, NULL), "single %d", k);
        for (i = 0; i < 25; ++i) sum[i] += dQ1[i];
        for (i = 0; i < 5; ++i) DOPT_CHECK_CLOSE(dp[5 * k + i], dp1[i], tol, "dp per element");
    }
    for (i = 0; i < 25; ++i) DOPT_CHECK_CLOSE(dQ[i], sum[i], tol, "shared dQ = sum");
    QPF(dopt_mpc_qp_destroy)(qp);
}

/* Projection onto [0, 1]^3 of y = (1, 0.5, 2): x0 sits on u with a zero multiplier (weakly
 * active), x1 inside, x2 on u with multiplier 1.  x0 is differentiated as inactive. */
static void QPF(test_qp_backward_degenerate)(void)
{
    R Q[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1}, p[3] = {-1, -0.5, -2}, l[3] = {0, 0, 0}, u[3] = {1, 1, 1};
    R x[3], gx[3] = {1, 1, 1}, dp[3], du[3], dl[3], dQ[9];
    dopt_mpc_qp_dims dims = {3, 0, 0, 1, 0};
    QPF(dopt_mpc_qp) *qp = NULL;
    QPF(dopt_mpc_qp_data) d;
    QPF(dopt_mpc_qp_grad) g;
    dopt_mpc_qp_report r;
    double tol = DOPT_TEST_TOL(1e-7, 1e-3);
    memset(&d, 0, sizeof d);
    d.Q = Q; d.p = p; d.l = l; d.u = u;
    DOPT_CHECK(QPF(dopt_mpc_qp_create)(NULL, &dims, 1, &qp, NULL) == DOPT_OK, "create");
    if (!qp) return;
    DOPT_CHECK(QPF(dopt_mpc_qp_solve)(qp, NULL, 1, &d, x, 3, &r, NULL) == DOPT_OK, "solve");
    DOPT_CHECK(r.weakly_active == 1, "one weakly active bound, got %d", r.weakly_active);
    memset(&g, 0, sizeof g);
    g.p = dp; g.u = du; g.l = dl; g.Q = dQ;
    DOPT_CHECK(QPF(dopt_mpc_qp_backward)(qp, NULL, 1, &d, gx, 3, &g, &r, NULL) == DOPT_OK, "backward");
    DOPT_CHECK(DOPT_FN(dopt_all_finite)(3, dp) && DOPT_FN(dopt_all_finite)(3, du) && DOPT_FN(dopt_all_finite)(9, dQ), "finite");
    DOPT_CHECK(fabs(dp[0] + 1) <= tol && fabs(du[0]) <= tol, "weakly active: inactive side, dp0 %g du0 %g", (double)dp[0], (double)du[0]);
    DOPT_CHECK(fabs(dp[1] + 1) <= tol && fabs(dp[2]) <= tol && fabs(du[2] - 1) <= tol, "interior and active: %g %g %g",
               (double)dp[1], (double)dp[2], (double)du[2]);
    DOPT_CHECK(fabs(dl[0]) + fabs(dl[1]) + fabs(dl[2]) <= tol, "no lower bound active");
    QPF(dopt_mpc_qp_destroy)(qp);
}
#undef R
#undef QPF
#endif
