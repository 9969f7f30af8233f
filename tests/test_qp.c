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
#if 0
static long qp_test_allocs;
static void *qp_test_alloc(void *u, size_t s) { (void)u; qp_test_allocs++; return malloc(s); }
static void qp_test_free(void *u, void *p, size_t s) { (void)u; (void)s; free(p); }
#endif

#define TEST_QP_PASS
#define DOPT__DRIVE "tests/test_qp.c"
#include "dopt.h"
#undef DOPT__DRIVE
#undef TEST_QP_PASS

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
/*TODO*/
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
#undef R
#undef QPF
#endif
