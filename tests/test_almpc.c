/* dopt_mpc.h, part AUGMENTED-LAGRANGIAN MPC: constraint violation at convergence (the obstacle car,
 * random feasible problems), the solution of random convex problems against an independent dense
 * QP solve (dopt_mpc_qp, an interior point method), equality with the box-DDP / LQR solvers when
 * only control limits or no constraints are given, an infeasible problem ending with a status,
 * warm starts cutting iterations, zero allocation in a receding-horizon loop, the backward pass
 * at a fixed iterate against central finite differences of the solver's map (dopt_mpc_al_step),
 * finite-difference fallbacks, argument errors; float smoke test. */
#define DOPT_IMPLEMENTATION
#include "dopt.h"
#include "dopt_mpc.h"
#include "dopt_test.h"

#define ALMPC_REAL double
#define ALMPC_FN(x) x##_d
#include "almpc_problems.h"
#undef ALMPC_REAL
#undef ALMPC_FN
#define ALMPC_REAL float
#define ALMPC_FN(x) x##_f
#include "almpc_problems.h"
#undef ALMPC_REAL
#undef ALMPC_FN

typedef struct al_count { long allocs, frees; } al_count;
static void *al_count_alloc(void *u, size_t n) { ((al_count *)u)->allocs++; return malloc(n); }
static void al_count_free(void *u, void *p, size_t n) { (void)n; if (p) ((al_count *)u)->frees++; free(p); }

static double al_rand(unsigned *s) { *s = *s * 1103515245u + 12345u; return ((*s >> 8) & 0xffff) / 65535.0 * 2 - 1; }

#define CAR_T 50
static const double car_lo[2] = {-2, -1}, car_hi[2] = {2, 1};

/* Solve the car from x0 (cold unless warm); returns the status. */
static dopt_status car_solve(dopt_mpc_al_d *s, const dopt_mpc_al_problem_d *p, const double *x0,
                             const dopt_mpc_al_options_d *o, double *tau, dopt_mpc_al_report_d *r)
{
    dopt_mpc_cseq_d xs;
    dopt_mpc_seq_d ts;
    xs.p = x0; xs.ts = 0; xs.bs = 4;
    ts.p = tau; ts.ts = 6; ts.bs = 6 * CAR_T;
    return dopt_mpc_al_solve_d(s, p, xs, o, ts, r, NULL);
}

static double car_min_clearance(const almpc_car_d *c, const double *tau, int T)
{
    double worst = 1e300;
    int t, k;
    for (t = 0; t < T; ++t)
        for (k = 0; k < c->n_obs; ++k) {
            double dx = tau[t * 6] - c->ox[k], dy = tau[t * 6 + 1] - c->oy[k];
            double d = sqrt(dx * dx + dy * dy) - c->rad[k];
            if (d < worst) worst = d;
        }
    return worst;
}

static void test_car_converges(void)
{
    almpc_car_d car;
    dopt_mpc_al_problem_d p;
    dopt_mpc_al_d *s;
    dopt_mpc_al_report_d r;
    double x0[4] = {0, 0, 0, 0}, tau[6 * CAR_T], umax = 0;
    dopt_status st;
    int t;
    almpc_car_default_d(&car);
    almpc_car_problem_d(&car, car_lo, car_hi, &p);
    DOPT_CHECK(dopt_mpc_al_create_d(NULL, 4, 2, CAR_T, 3, 0, 1, &s, NULL) == DOPT_OK, "create");
    st = car_solve(s, &p, x0, NULL, tau, &r);
    DOPT_CHECK(st == DOPT_OK && r.status == DOPT_OK && r.converged, "car: status %d converged %d", st, r.converged);
    DOPT_CHECK(r.violation <= 1e-6, "car: violation %g", r.violation);
    DOPT_CHECK(car_min_clearance(&car, tau, CAR_T) >= -1e-6, "car: clearance %g", car_min_clearance(&car, tau, CAR_T));
    for (t = 0; t < CAR_T; ++t) {
        if (fabs(tau[t * 6 + 4]) / 2 > umax) umax = fabs(tau[t * 6 + 4]) / 2;
        if (fabs(tau[t * 6 + 5]) > umax) umax = fabs(tau[t * 6 + 5]);
    }
    DOPT_CHECK(umax <= 1 + 1e-12, "car: control limits exceeded by %g", umax - 1);
    DOPT_CHECK(r.cost > 0 && r.cost < 2000 && r.outer_iterations > 1, "car: cost %g outer %d", r.cost, r.outer_iterations);
    /* the path ends near the goal */
    DOPT_CHECK(fabs(tau[(CAR_T - 1) * 6] - 5) < 0.6 && fabs(tau[(CAR_T - 1) * 6 + 1] - 5) < 0.6, "car: end (%g, %g)",
               tau[(CAR_T - 1) * 6], tau[(CAR_T - 1) * 6 + 1]);
    dopt_mpc_al_destroy_d(s);
}

/* Batch of 3 cars with different starts: each element equals its own solve. */
static void test_car_batch(void)
{
    almpc_car_d car;
    dopt_mpc_al_problem_d p;
    dopt_mpc_al_d *s3, *s1;
    dopt_mpc_al_report_d r[3], r1;
    double x0[12] = {0, 0, 0, 0, 0, 0.5, 0.3, 0.5, 0.5, -0.2, 0.1, 1}, tau[3 * 6 * CAR_T], one[6 * CAR_T], err = 0;
    int b, i;
    almpc_car_default_d(&car);
    almpc_car_problem_d(&car, car_lo, car_hi, &p);
    dopt_mpc_al_create_d(NULL, 4, 2, CAR_T, 3, 0, 3, &s3, NULL);
    dopt_mpc_al_create_d(NULL, 4, 2, CAR_T, 3, 0, 1, &s1, NULL);
    DOPT_CHECK(car_solve(s3, &p, x0, NULL, tau, r) == DOPT_OK, "batch solve");
    for (b = 0; b < 3; ++b) {
        car_solve(s1, &p, x0 + 4 * b, NULL, one, &r1);
        DOPT_CHECK(r[b].violation <= 1e-6 && r[b].status == DOPT_OK, "element %d violation %g status %d inner %d outer %d", b, r[b].violation, r[b].status, r[b].inner_iterations, r[b].outer_iterations);
        DOPT_CHECK(r[b].inner_iterations == r1.inner_iterations, "element %d iterations %d vs %d", b,
                   r[b].inner_iterations, r1.inner_iterations);
        for (i = 0; i < 6 * CAR_T; ++i) err = fmax(err, fabs(one[i] - tau[b * 6 * CAR_T + i]));
    }
    DOPT_CHECK(err == 0, "batch elements differ from single solves by %g", err);
    dopt_mpc_al_destroy_d(s3);
    dopt_mpc_al_destroy_d(s1);
}

/* ---- random linear-quadratic problems with state limits and an equality ---------------------- */
#define LQ_N 3
#define LQ_M 2
typedef struct lq_prob {
    int T;
    double A[LQ_N * LQ_N], Bm[LQ_N * LQ_M], q[LQ_N], r[LQ_M], target[LQ_N], bound, eq_rhs;
    int with_eq;
} lq_prob;

static dopt_status lq_dyn(void *user, ptrdiff_t b, int t, const double *x, const double *u, double *xn, double *F)
{
    const lq_prob *p = (const lq_prob *)user;
    int i, j;
    (void)b; (void)t;
    for (i = 0; i < LQ_N; ++i) {
        xn[i] = 0;
        for (j = 0; j < LQ_N; ++j) xn[i] += p->A[i + j * LQ_N] * x[j];
        for (j = 0; j < LQ_M; ++j) xn[i] += p->Bm[i + j * LQ_N] * u[j];
    }
    if (F) {
        for (j = 0; j < LQ_N; ++j)
            for (i = 0; i < LQ_N; ++i) F[i + j * LQ_N] = p->A[i + j * LQ_N];
        for (j = 0; j < LQ_M; ++j)
            for (i = 0; i < LQ_N; ++i) F[i + (LQ_N + j) * LQ_N] = p->Bm[i + j * LQ_N];
    }
    return DOPT_OK;
}
static dopt_status lq_cost(void *user, ptrdiff_t b, int t, const double *z, double *l, double *g, double *H)
{
    const lq_prob *p = (const lq_prob *)user;
    const int N = LQ_N + LQ_M;
    int i;
    (void)b; (void)t;
    *l = 0;
    for (i = 0; i < LQ_N; ++i) *l += 0.5 * p->q[i] * (z[i] - p->target[i]) * (z[i] - p->target[i]);
    for (i = 0; i < LQ_M; ++i) *l += 0.5 * p->r[i] * z[LQ_N + i] * z[LQ_N + i];
    if (g) {
        for (i = 0; i < N * N; ++i) H[i] = 0;
        for (i = 0; i < LQ_N; ++i) { g[i] = p->q[i] * (z[i] - p->target[i]); H[i * (N + 1)] = p->q[i]; }
        for (i = 0; i < LQ_M; ++i) { g[LQ_N + i] = p->r[i] * z[LQ_N + i]; H[(LQ_N + i) * (N + 1)] = p->r[i]; }
    }
    return DOPT_OK;
}
/* |x_j| <= bound: h = [x - bound; -x - bound] (2 LQ_N rows). */
static dopt_status lq_ineq(void *user, ptrdiff_t b, int t, const double *z, double *h, double *J)
{
    const lq_prob *p = (const lq_prob *)user;
    const int nc = 2 * LQ_N, N = LQ_N + LQ_M;
    int i;
    (void)b; (void)t;
    for (i = 0; i < LQ_N; ++i) { h[i] = z[i] - p->bound; h[LQ_N + i] = -z[i] - p->bound; }
    if (J) {
        for (i = 0; i < nc * N; ++i) J[i] = 0;
        for (i = 0; i < LQ_N; ++i) { J[i + i * nc] = 1; J[LQ_N + i + i * nc] = -1; }
    }
    return DOPT_OK;
}
/* u_0 + u_1 = eq_rhs at every step but the last. */
static dopt_status lq_eq(void *user, ptrdiff_t b, int t, const double *z, double *g, double *J)
{
    const lq_prob *p = (const lq_prob *)user;
    int i, on = t < p->T - 1;
    (void)b;
    g[0] = on ? z[LQ_N] + z[LQ_N + 1] - p->eq_rhs : 0;
    if (J) {
        for (i = 0; i < LQ_N + LQ_M; ++i) J[i] = 0;
        if (on) J[LQ_N] = J[LQ_N + 1] = 1;
    }
    return DOPT_OK;
}

static void lq_random(lq_prob *p, int T, unsigned seed, int with_eq)
{
    int i;
    memset(p, 0, sizeof *p);
    p->T = T;
    for (i = 0; i < LQ_N * LQ_N; ++i) p->A[i] = 0.25 * al_rand(&seed);
    for (i = 0; i < LQ_N; ++i) p->A[i * (LQ_N + 1)] += 0.6;  /* |A|_inf < 1: u = 0 stays in the box */
    for (i = 0; i < LQ_N * LQ_M; ++i) p->Bm[i] = al_rand(&seed);
    for (i = 0; i < LQ_N; ++i) { p->q[i] = 1 + 0.5 * al_rand(&seed); p->target[i] = 3 * al_rand(&seed); }
    for (i = 0; i < LQ_M; ++i) p->r[i] = 0.2 + 0.1 * al_rand(&seed);
    p->bound = 1;
    p->with_eq = with_eq;
    p->eq_rhs = with_eq ? 0.05 : 0;
}

static void lq_problem(lq_prob *q, dopt_mpc_al_problem_d *p)
{
    memset(p, 0, sizeof *p);
    p->n_state = LQ_N; p->n_ctrl = LQ_M; p->n_ineq = 2 * LQ_N; p->n_eq = q->with_eq;
    p->dynamics = lq_dyn; p->dynamics_jacobian = 1;
    p->cost = lq_cost; p->cost_derivatives = 1;
    p->ineq = lq_ineq; p->eq = q->with_eq ? lq_eq : NULL; p->constraint_jacobians = 1;
    p->user = q;
}

/* The same problem as one dense QP over z = [tau_0; ...; tau_{T-1}], solved by dopt_mpc_qp. */
static int lq_dense(const lq_prob *p, const double *x0, double *z)
{
    const int N = LQ_N + LQ_M, T = p->T, nv = N * T;
    const int meq = LQ_N * T + (p->with_eq ? T - 1 : 0), mi = 2 * LQ_N * T;
    double *Q = (double *)calloc((size_t)nv * nv, sizeof(double)), *pv = (double *)calloc((size_t)nv, sizeof(double));
    double *A = (double *)calloc((size_t)meq * nv, sizeof(double)), *bb = (double *)calloc((size_t)meq, sizeof(double));
    double *G = (double *)calloc((size_t)mi * nv, sizeof(double)), *h = (double *)calloc((size_t)mi, sizeof(double));
    dopt_mpc_qp_dims dims;
    dopt_mpc_qp_d *qp;
    dopt_mpc_qp_data_d d;
    dopt_mpc_qp_report rep;
    dopt_mpc_qp_options o = dopt_mpc_qp_default_options();
    int t, i, j, row = 0, ok;
    for (t = 0; t < T; ++t) {
        for (i = 0; i < LQ_N; ++i) {
            Q[(t * N + i) * (nv + 1)] = p->q[i];
            pv[t * N + i] = -p->q[i] * p->target[i];
            G[(2 * LQ_N * t + i) + (size_t)(t * N + i) * mi] = 1;
            G[(2 * LQ_N * t + LQ_N + i) + (size_t)(t * N + i) * mi] = -1;
            h[2 * LQ_N * t + i] = h[2 * LQ_N * t + LQ_N + i] = p->bound;
        }
        for (i = 0; i < LQ_M; ++i) Q[(t * N + LQ_N + i) * (nv + 1)] = p->r[i];
    }
    for (i = 0; i < LQ_N; ++i, ++row) { A[row + (size_t)i * meq] = 1; bb[row] = x0[i]; }
    for (t = 0; t + 1 < T; ++t)
        for (i = 0; i < LQ_N; ++i, ++row) {
            A[row + (size_t)((t + 1) * N + i) * meq] = 1;
            for (j = 0; j < LQ_N; ++j) A[row + (size_t)(t * N + j) * meq] = -p->A[i + j * LQ_N];
            for (j = 0; j < LQ_M; ++j) A[row + (size_t)(t * N + LQ_N + j) * meq] = -p->Bm[i + j * LQ_N];
        }
    if (p->with_eq)
        for (t = 0; t + 1 < T; ++t, ++row) {
            A[row + (size_t)(t * N + LQ_N) * meq] = A[row + (size_t)(t * N + LQ_N + 1) * meq] = 1;
            bb[row] = p->eq_rhs;
        }
    dims.n = nv; dims.meq = meq; dims.mineq = mi; dims.box = 0; dims.double_inside = 0;
    memset(&d, 0, sizeof d);
    d.Q = Q; d.p = pv; d.A = A; d.b = bb; d.G = G; d.h = h;
    o.tol = 1e-11;
    dopt_mpc_qp_create_d(NULL, &dims, 1, &qp, NULL);
    ok = dopt_mpc_qp_solve_d(qp, &o, 1, &d, z, nv, &rep, NULL) == DOPT_OK;
    dopt_mpc_qp_destroy_d(qp);
    free(Q); free(pv); free(A); free(bb); free(G); free(h);
    return ok;
}

static void test_random_vs_dense_qp(void)
{
    const int T = 8, N = LQ_N + LQ_M, cases = getenv("DOPT_TEST_QUICK") ? 4 : 12;
    int k, i, with_eq;
    for (with_eq = 0; with_eq < 2; ++with_eq)
        for (k = 0; k < cases; ++k) {
            lq_prob q;
            dopt_mpc_al_problem_d p;
            dopt_mpc_al_d *s;
            dopt_mpc_al_report_d r;
            dopt_mpc_al_options_d o;
            double x0[LQ_N], tau[(LQ_N + LQ_M) * 8], z[(LQ_N + LQ_M) * 8], err = 0;
            unsigned seed = 77u + 13u * (unsigned)k;
            dopt_mpc_cseq_d xs;
            dopt_mpc_seq_d ts;
            lq_random(&q, T, 1000u + 7u * (unsigned)k + 500u * (unsigned)with_eq, with_eq);
            for (i = 0; i < LQ_N; ++i) x0[i] = 0.9 * al_rand(&seed);
            lq_problem(&q, &p);
            memset(&o, 0, sizeof o);
            o.tol_violation = 1e-10;
            o.inner_tol = 1e-12;
            xs.p = x0; xs.ts = 0; xs.bs = LQ_N;
            ts.p = tau; ts.ts = N; ts.bs = N * T;
            dopt_mpc_al_create_d(NULL, LQ_N, LQ_M, T, 2 * LQ_N, with_eq, 1, &s, NULL);
            DOPT_CHECK(dopt_mpc_al_solve_d(s, &p, xs, &o, ts, &r, NULL) == DOPT_OK, "case %d/%d: status %d", with_eq, k, r.status);
            DOPT_CHECK(r.violation <= 1e-6, "case %d/%d: violation %g", with_eq, k, r.violation);
            DOPT_CHECK(lq_dense(&q, x0, z), "case %d/%d: dense QP failed", with_eq, k);
            for (i = 0; i < N * T; ++i) err = fmax(err, fabs(z[i] - tau[i]));
            DOPT_CHECK(err <= 1e-6, "case %d/%d: AL vs dense QP %g", with_eq, k, err);
            dopt_mpc_al_destroy_d(s);
        }
}

/* Only control limits: the AL solver is the box-DDP iLQR; no constraints at all: LQR's solution. */
static void test_box_only_and_none(void)
{
    const int T = 8, N = LQ_N + LQ_M;
    lq_prob q;
    dopt_mpc_al_problem_d p;
    dopt_mpc_al_d *s;
    dopt_mpc_al_report_d r;
    dopt_mpc_ilqr_d *il;
    dopt_mpc_ilqr_problem_d ip;
    dopt_mpc_lqr_d *lq;
    dopt_mpc_lqr_data_d d;
    double x0[LQ_N] = {0.5, -0.4, 0.8}, lo[LQ_M] = {-0.3, -0.2}, hi[LQ_M] = {0.3, 0.25};
    double tau[40], ref[40], lref[40], C[25], c[5], F[15], e1 = 0, e2 = 0, e3 = 0;
    dopt_mpc_cseq_d xs;
    dopt_mpc_seq_d ts, rs, ls, none;
    int i, j, box;
    lq_random(&q, T, 4242u, 0);
    for (i = 0; i < LQ_N; ++i) q.target[i] *= 3; /* pushes the controls onto their limits */
    lq_problem(&q, &p);
    p.n_ineq = 0; p.ineq = NULL;
    xs.p = x0; xs.ts = 0; xs.bs = LQ_N;
    ts.p = tau; ts.ts = N; ts.bs = N * T;
    rs = ts; rs.p = ref;
    ls = ts; ls.p = lref;
    memset(&none, 0, sizeof none);
    /* LQR data of the same problem */
    memset(C, 0, sizeof C);
    for (i = 0; i < LQ_N; ++i) { C[i * 6] = q.q[i]; c[i] = -q.q[i] * q.target[i]; }
    for (i = 0; i < LQ_M; ++i) { C[(LQ_N + i) * 6] = q.r[i]; c[LQ_N + i] = 0; }
    for (j = 0; j < LQ_N; ++j) for (i = 0; i < LQ_N; ++i) F[i + j * LQ_N] = q.A[i + j * LQ_N];
    for (j = 0; j < LQ_M; ++j) for (i = 0; i < LQ_N; ++i) F[i + (LQ_N + j) * LQ_N] = q.Bm[i + j * LQ_N];
    memset(&d, 0, sizeof d);
    d.C.p = C; d.c.p = c; d.F.p = F; d.x_init = xs;
    dopt_mpc_al_create_d(NULL, LQ_N, LQ_M, T, 0, 0, 1, &s, NULL);
    dopt_mpc_ilqr_create_d(NULL, LQ_N, LQ_M, T, 1, &il, NULL);
    dopt_mpc_lqr_create_d(NULL, LQ_N, LQ_M, T, 1, &lq, NULL);
    for (box = 0; box < 2; ++box) {
        dopt_mpc_lqr_report_d lr;
        p.u_lower.p = box ? lo : NULL; p.u_upper.p = box ? hi : NULL;
        d.u_lower.p = p.u_lower.p; d.u_upper.p = p.u_upper.p;
        memset(&ip, 0, sizeof ip);
        ip.n_state = LQ_N; ip.n_ctrl = LQ_M; ip.dynamics = lq_dyn; ip.dynamics_jacobian = 1;
        ip.cost = lq_cost; ip.cost_derivatives = 1; ip.user = &q; ip.u_lower = p.u_lower; ip.u_upper = p.u_upper;
        DOPT_CHECK(dopt_mpc_al_solve_d(s, &p, xs, NULL, ts, &r, NULL) == DOPT_OK, "box %d: AL status", box);
        DOPT_CHECK(dopt_mpc_ilqr_solve_d(il, &ip, xs, NULL, rs, &lr, NULL) == DOPT_OK, "box %d: iLQR status", box);
        DOPT_CHECK(dopt_mpc_lqr_solve_d(lq, &d, NULL, ls, none, &lr, NULL) == DOPT_OK, "box %d: LQR status", box);
        DOPT_CHECK(!box || lr.n_clamped > 0, "box: no control at a limit, the test is vacuous");
        for (i = 0; i < N * T; ++i) {
            e1 = fmax(e1, fabs(tau[i] - ref[i]));
            e2 = fmax(e2, fabs(tau[i] - lref[i]));
        }
        DOPT_CHECK(e1 <= 1e-8, "box %d: AL vs iLQR %g", box, e1);
        DOPT_CHECK(e2 <= 1e-8, "box %d: AL vs LQR %g", box, e2);
        DOPT_CHECK(r.outer_iterations == 1 && r.violation == 0, "box %d: outer %d", box, r.outer_iterations);
    }
    /* the obstacle car with its obstacles moved out of the way: the box-DDP iLQR's solution */
    {
        almpc_car_d car;
        dopt_mpc_al_problem_d cp;
        dopt_mpc_lqr_report_d lr;
        dopt_mpc_al_d *cs;
        dopt_mpc_ilqr_d *ci;
        double x0c[4] = {0, 0, 0, 0}, a[6 * CAR_T], bref[6 * CAR_T];
        dopt_mpc_cseq_d xc;
        dopt_mpc_seq_d tc, rc;
        almpc_car_default_d(&car);
        for (i = 0; i < 3; ++i) car.ox[i] = 50 + i;
        almpc_car_problem_d(&car, car_lo, car_hi, &cp);
        xc.p = x0c; xc.ts = 0; xc.bs = 4;
        tc.p = a; tc.ts = 6; tc.bs = 0;
        rc = tc; rc.p = bref;
        memset(&ip, 0, sizeof ip);
        ip.n_state = 4; ip.n_ctrl = 2; ip.dynamics = almpc_car_dyn_d; ip.dynamics_jacobian = 1;
        ip.cost = almpc_car_cost_d; ip.cost_derivatives = 1; ip.user = &car;
        ip.u_lower = cp.u_lower; ip.u_upper = cp.u_upper;
        dopt_mpc_al_create_d(NULL, 4, 2, CAR_T, 3, 0, 1, &cs, NULL);
        dopt_mpc_ilqr_create_d(NULL, 4, 2, CAR_T, 1, &ci, NULL);
        {
            dopt_mpc_al_options_d ao;
            dopt_mpc_ilqr_options_d io;
            memset(&ao, 0, sizeof ao);
            memset(&io, 0, sizeof io);
            /* iLQR converges slowly on this car (linearly: the dynamics' curvature is left out),
             * so both run the same 30 iterations: one primal step of MPC-1 */
            ao.inner_max_iter = io.max_iter = 30;
            ao.inner_tol = ao.inner_tol_start = io.tol = 1e-9;
            ao.max_outer = 1;
            ao.fixed_iterations = 1;
            DOPT_CHECK(dopt_mpc_al_solve_d(cs, &cp, xc, &ao, tc, &r, NULL) == DOPT_OK, "car, far obstacles: status %d", r.status);
            dopt_mpc_ilqr_solve_d(ci, &ip, xc, &io, rc, &lr, NULL);
            DOPT_CHECK(lr.iterations == 30 && r.inner_iterations == 30, "car: iterations %d / %d", lr.iterations, r.inner_iterations);
        }
        for (i = 0; i < 6 * CAR_T; ++i) e3 = fmax(e3, fabs(a[i] - bref[i]));
        DOPT_CHECK(e3 <= 1e-8, "car, far obstacles: AL vs iLQR %g", e3);
        dopt_mpc_al_destroy_d(cs);
        dopt_mpc_ilqr_destroy_d(ci);
    }
    dopt_mpc_al_destroy_d(s);
    dopt_mpc_ilqr_destroy_d(il);
    dopt_mpc_lqr_destroy_d(lq);
}

/* An obstacle over the start: infeasible, ends with NO_CONVERGENCE and its violation.  An
 * obstacle over the goal: feasible (the car stops at its rim). */
static void test_infeasible(void)
{
    almpc_car_d car;
    dopt_mpc_al_problem_d p;
    dopt_mpc_al_d *s;
    dopt_mpc_al_report_d r;
    dopt_mpc_al_options_d o;
    dopt_errinfo info;
    double x0[4] = {0, 0, 0, 0}, tau[6 * CAR_T];
    dopt_mpc_cseq_d xs;
    dopt_mpc_seq_d ts;
    dopt_status st;
    almpc_car_default_d(&car);
    car.ox[0] = 0.2; car.oy[0] = 0.1;   /* x_0 = 0 is inside: no trajectory is feasible */
    almpc_car_problem_d(&car, car_lo, car_hi, &p);
    memset(&o, 0, sizeof o);
    o.max_outer = 20;
    xs.p = x0; xs.ts = 0; xs.bs = 4;
    ts.p = tau; ts.ts = 6; ts.bs = 0;
    dopt_mpc_al_create_d(NULL, 4, 2, CAR_T, 3, 0, 1, &s, NULL);
    st = dopt_mpc_al_solve_d(s, &p, xs, &o, ts, &r, &info);
    DOPT_CHECK(st == DOPT_ERR_NO_CONVERGENCE && r.status == st && !r.converged, "infeasible: status %d", st);
    DOPT_CHECK(r.outer_iterations == 20 && r.violation > 0.4, "infeasible: outer %d violation %g", r.outer_iterations,
               r.violation);
    DOPT_CHECK(info.index == 0, "infeasible: errinfo index %ld", (long)info.index);
    DOPT_CHECK(dopt_all_finite_d(6 * CAR_T, tau), "infeasible: tau not finite");
    almpc_car_default_d(&car);
    car.ox[2] = 5; car.oy[2] = 5;       /* over the goal */
    st = dopt_mpc_al_solve_d(s, &p, xs, NULL, ts, &r, NULL);
    DOPT_CHECK(st == DOPT_OK && r.violation <= 1e-6, "obstacle over the goal: status %d violation %g", st, r.violation);
    dopt_mpc_al_destroy_d(s);
}

/* Receding horizon: after a one-step shift the warm start with the duals and penalty kept needs
 * fewer iterations than a cold start (with the duals reset, as the thesis does, it gains little
 * on this car: printed, not asserted). */
static void test_warm_start(void)
{
    almpc_car_d car;
    dopt_mpc_al_problem_d p;
    dopt_mpc_al_d *s;
    dopt_mpc_al_report_d r, rc, rk;
    dopt_mpc_al_options_d o;
    double x0[4] = {0, 0, 0, 0}, x1[4], tau[6 * CAR_T], cold[6 * CAR_T], keep[6 * CAR_T], e = 0;
    int i;
    almpc_car_default_d(&car);
    almpc_car_problem_d(&car, car_lo, car_hi, &p);
    dopt_mpc_al_create_d(NULL, 4, 2, CAR_T, 3, 0, 1, &s, NULL);
    car_solve(s, &p, x0, NULL, tau, &r);
    for (i = 0; i < 4; ++i) x1[i] = tau[6 + i];
    memcpy(keep, tau, sizeof tau);
    memset(&o, 0, sizeof o);
    o.warm_start = DOPT_MPC_WARM_SHIFT;
    DOPT_CHECK(car_solve(s, &p, x1, &o, tau, &r) == DOPT_OK, "warm: status");
    o.keep_duals = 1;
    car_solve(s, &p, x0, NULL, keep, &rk);      /* restore the first solve's duals */
    DOPT_CHECK(car_solve(s, &p, x1, &o, keep, &rk) == DOPT_OK, "warm, kept duals: status");
    DOPT_CHECK(car_solve(s, &p, x1, NULL, cold, &rc) == DOPT_OK, "cold: status");
    DOPT_CHECK(rk.inner_iterations < rc.inner_iterations, "warm with duals %d vs cold %d inner iterations",
               rk.inner_iterations, rc.inner_iterations);
    DOPT_CHECK(r.violation <= 1e-6 && rk.violation <= 1e-6, "warm: violation %g / %g", r.violation, rk.violation);
    for (i = 0; i < 6 * CAR_T; ++i) e = fmax(e, fabs(tau[i] - cold[i]));
    DOPT_CHECK(e <= 1e-3 && fabs(r.cost - rc.cost) <= 1e-6 * rc.cost, "warm vs cold: tau %g, cost %.12g vs %.12g", e,
               r.cost, rc.cost);
    printf("    warm start: inner iterations cold %d, warm %d, warm with duals %d\n", rc.inner_iterations,
           r.inner_iterations, rk.inner_iterations);
    dopt_mpc_al_destroy_d(s);
}

/* A receding-horizon loop (warm starts with the duals reset, then kept) allocates nothing after
 * create. */
static void test_zero_alloc(void)
{
    almpc_car_d car;
    dopt_mpc_al_problem_d p;
    dopt_mpc_al_d *s;
    dopt_mpc_al_report_d r;
    dopt_mpc_al_options_d o;
    dopt_hooks hooks;
    al_count cnt = {0, 0};
    double x[4] = {0, 0, 0, 0}, tau[6 * CAR_T], dtau[6 * CAR_T], gx[4], lam[3 * CAR_T];
    dopt_mpc_al_grad_d g;
    dopt_mpc_cseq_d xs, dt;
    int k, i;
    long after;
    almpc_car_default_d(&car);
    almpc_car_problem_d(&car, car_lo, car_hi, &p);
    memset(&hooks, 0, sizeof hooks);
    hooks.allocator.alloc = al_count_alloc;
    hooks.allocator.free = al_count_free;
    hooks.allocator.user = &cnt;
    DOPT_CHECK(dopt_mpc_al_create_d(&hooks, 4, 2, CAR_T, 3, 0, 1, &s, NULL) == DOPT_OK, "create");
    after = cnt.allocs;
    memset(&o, 0, sizeof o);
    for (k = 0; k < 4; ++k) {
        car_solve(s, &p, x, k ? &o : NULL, tau, &r);
        DOPT_CHECK(r.status == DOPT_OK, "step %d status %d", k, r.status);
        for (i = 0; i < 4; ++i) x[i] = tau[6 + i];
        o.warm_start = DOPT_MPC_WARM_SHIFT;
        o.keep_duals = k >= 1; /* steps 2, 3: the duals and penalty carried over and shifted */
    }
    for (i = 0; i < 6 * CAR_T; ++i) dtau[i] = 1;
    memset(&g, 0, sizeof g);
    g.x_init.p = gx;
    xs.p = x; xs.ts = 0; xs.bs = 4;
    dt.p = dtau; dt.ts = 6; dt.bs = 0;
    DOPT_CHECK(dopt_mpc_al_backward_d(s, &p, xs, dt, &g, NULL, NULL) == DOPT_OK, "backward");
    DOPT_CHECK(dopt_mpc_al_multipliers_d(s, 0, lam, NULL, NULL, NULL) == DOPT_OK, "multipliers");
    DOPT_CHECK(cnt.allocs == after && after == 1, "allocations: %ld after create, %ld after the loop", after, cnt.allocs);
    dopt_mpc_al_destroy_d(s);
    DOPT_CHECK(cnt.frees == cnt.allocs, "frees %ld allocs %ld", cnt.frees, cnt.allocs);
}

/* ---- gradients at a fixed iterate vs central differences of dopt_mpc_al_step ---------------- */
/* Parameters: goal (2), obstacle centers (6), radii (3), x_init (4). */
#define GP 15
static void car_set_params(almpc_car_d *c, double *x0, const double *th)
{
    int k;
    c->gx = th[0]; c->gy = th[1];
    for (k = 0; k < 3; ++k) { c->ox[k] = th[2 + 2 * k]; c->oy[k] = th[3 + 2 * k]; c->rad[k] = th[8 + k]; }
    for (k = 0; k < 4; ++k) x0[k] = th[11 + k];
}

static double car_step_loss(dopt_mpc_al_d *s, almpc_car_d *c, const double *th, const double *w)
{
    dopt_mpc_al_problem_d p;
    double x0[4], out[6 * CAR_T], L = 0;
    dopt_mpc_cseq_d xs;
    dopt_mpc_seq_d ts;
    int i;
    car_set_params(c, x0, th);
    almpc_car_problem_d(c, car_lo, car_hi, &p);
    xs.p = x0; xs.ts = 0; xs.bs = 4;
    ts.p = out; ts.ts = 6; ts.bs = 0;
    if (dopt_mpc_al_step_d(s, &p, xs, ts, NULL) != DOPT_OK) return NAN;
    for (i = 0; i < 6 * CAR_T; ++i) L += w[i] * out[i];
    return L;
}

static void car_grad_case(int outer, double x0_speed)
{
    almpc_car_d car;
    dopt_mpc_al_problem_d p;
    dopt_mpc_al_d *s;
    dopt_mpc_al_report_d r;
    dopt_mpc_al_options_d o;
    dopt_mpc_al_grad_d g;
    double th[GP] = {5, 5, 1.5, 1.2, 3, 3.2, 4, 1.8, 0.8, 0.8, 0.8, 0, 0, 0, 0}, x0[4], tau[6 * CAR_T], w[6 * CAR_T];
    double dcg[6 * CAR_T], dh[3 * CAR_T], dJ[18 * CAR_T], dx0[4], an[GP], worst = 0;
    dopt_mpc_cseq_d xs, dt;
    unsigned seed = 99;
    int i, t, k, nact = 0;
    th[14] = x0_speed;
    almpc_car_default_d(&car);
    car_set_params(&car, x0, th);
    almpc_car_problem_d(&car, car_lo, car_hi, &p);
    memset(&o, 0, sizeof o);
    o.max_outer = outer;
    o.fixed_iterations = outer < 50;
    dopt_mpc_al_create_d(NULL, 4, 2, CAR_T, 3, 0, 1, &s, NULL);
    DOPT_CHECK(car_solve(s, &p, x0, &o, tau, &r) == DOPT_OK, "solve (outer %d): status %d violation %g inner %d", outer, r.status, r.violation, r.inner_iterations);
    for (i = 0; i < 6 * CAR_T; ++i) w[i] = al_rand(&seed);
    memset(&g, 0, sizeof g);
    g.cost_grad.p = dcg; g.cost_grad.ts = 6;
    g.ineq.p = dh; g.ineq.ts = 3;
    g.ineq_jac.p = dJ; g.ineq_jac.ts = 18;
    g.x_init.p = dx0;
    xs.p = x0; xs.ts = 0; xs.bs = 4;
    dt.p = w; dt.ts = 6; dt.bs = 0;
    DOPT_CHECK(dopt_mpc_al_backward_d(s, &p, xs, dt, &g, NULL, NULL) == DOPT_OK, "backward");
    /* chain rule to the parameters: grad l = [2(px-gx), 2(py-gy), 0, 0, 2 r a, 2 r w];
     * h_k = r_k^2 - (px-ox)^2 - (py-oy)^2, J_k = [-2(px-ox), -2(py-oy), 0...] */
    for (i = 0; i < GP; ++i) an[i] = 0;
    for (t = 0; t < CAR_T; ++t) {
        const double *z = tau + 6 * t;
        an[0] -= 2 * dcg[6 * t];
        an[1] -= 2 * dcg[6 * t + 1];
        for (k = 0; k < 3; ++k) {
            double dx = z[0] - car.ox[k], dy = z[1] - car.oy[k];
            if (dh[3 * t + k] != 0) nact++;
            an[2 + 2 * k] += dh[3 * t + k] * 2 * dx + dJ[18 * t + k + 0 * 3] * 2;
            an[3 + 2 * k] += dh[3 * t + k] * 2 * dy + dJ[18 * t + k + 1 * 3] * 2;
            an[8 + k] += dh[3 * t + k] * 2 * car.rad[k];
        }
    }
    for (i = 0; i < 4; ++i) an[11 + i] = dx0[i];
    DOPT_CHECK(nact > 0, "no active obstacle constraint: the test is vacuous");
    for (i = 0; i < GP; ++i) {
        double tp[GP], tm[GP], hstep = 1e-6, fd;
        memcpy(tp, th, sizeof th);
        memcpy(tm, th, sizeof th);
        tp[i] += hstep;
        tm[i] -= hstep;
        fd = (car_step_loss(s, &car, tp, w) - car_step_loss(s, &car, tm, w)) / (2 * hstep);
        worst = fmax(worst, fabs(fd - an[i]) / fmax(1, fabs(fd)));
        DOPT_CHECK(fabs(fd - an[i]) <= 1e-6 * fmax(1, fabs(fd)), "outer %d param %d: IFT %.10g vs FD %.10g", outer, i,
                   an[i], fd);
    }
    printf("    gradient at outer iteration %d (converged %d): worst relative error %.2e\n", r.outer_iterations,
           r.converged, worst);
    dopt_mpc_al_destroy_d(s);
}

static void test_grad_fd(void)
{
    car_grad_case(2, 0);    /* MPC-m: an unconverged iterate, moderate mu */
    car_grad_case(50, 0.3); /* converged */
}

/* The equality constraint's and the state limit's gradients on the linear-quadratic problem. */
static void test_grad_fd_eq(void)
{
    const int T = 8, N = LQ_N + LQ_M;
    lq_prob q;
    dopt_mpc_al_problem_d p;
    dopt_mpc_al_d *s;
    dopt_mpc_al_options_d o;
    dopt_mpc_al_grad_d g;
    double x0[LQ_N] = {0.5, -0.6, 0.7}, tau[40], w[40], out[40], deq[8], dh[6 * 8], an[2] = {0, 0};
    dopt_mpc_cseq_d xs, dt;
    dopt_mpc_seq_d ts, os;
    unsigned seed = 5;
    int i, t, j;
    lq_random(&q, T, 31337u, 1);
    for (i = 0; i < LQ_N; ++i) q.target[i] *= 2; /* the state limits become active */
    lq_problem(&q, &p);
    memset(&o, 0, sizeof o);
    o.max_outer = 3;
    o.fixed_iterations = 1;
    xs.p = x0; xs.ts = 0; xs.bs = LQ_N;
    ts.p = tau; ts.ts = N; ts.bs = 0;
    os = ts; os.p = out;
    dopt_mpc_al_create_d(NULL, LQ_N, LQ_M, T, 2 * LQ_N, 1, 1, &s, NULL);
    DOPT_CHECK(dopt_mpc_al_solve_d(s, &p, xs, &o, ts, NULL, NULL) == DOPT_OK, "solve");
    for (i = 0; i < N * T; ++i) w[i] = al_rand(&seed);
    memset(&g, 0, sizeof g);
    g.eq.p = deq; g.eq.ts = 1;
    g.ineq.p = dh; g.ineq.ts = 2 * LQ_N;
    dt.p = w; dt.ts = N; dt.bs = 0;
    DOPT_CHECK(dopt_mpc_al_backward_d(s, &p, xs, dt, &g, NULL, NULL) == DOPT_OK, "backward");
    for (t = 0; t < T; ++t) {
        an[0] -= deq[t] * (t < T - 1);                       /* d g / d eq_rhs = -1 */
        for (j = 0; j < 2 * LQ_N; ++j) an[1] -= dh[2 * LQ_N * t + j]; /* d h / d bound = -1 */
    }
    for (j = 0; j < 2; ++j) {
        double L[2], hs = 1e-6, fd;
        int sgn;
        for (sgn = 0; sgn < 2; ++sgn) {
            double d = sgn ? -hs : hs;
            if (j == 0) q.eq_rhs += d; else q.bound += d;
            dopt_mpc_al_step_d(s, &p, xs, os, NULL);
            if (j == 0) q.eq_rhs -= d; else q.bound -= d;
            L[sgn] = 0;
            for (i = 0; i < N * T; ++i) L[sgn] += w[i] * out[i];
        }
        fd = (L[0] - L[1]) / (2 * hs);
        DOPT_CHECK(fabs(fd - an[j]) <= 1e-6 * fmax(1, fabs(fd)), "param %d: IFT %.10g vs FD %.10g", j, an[j], fd);
        DOPT_CHECK(an[j] != 0, "param %d: zero gradient, the test is vacuous", j);
    }
    dopt_mpc_al_destroy_d(s);
}

/* Finite-difference fallbacks give the analytic-Jacobian solution. */
static void test_fd_fallback(void)
{
    almpc_car_d car;
    dopt_mpc_al_problem_d p;
    dopt_mpc_al_d *s;
    dopt_mpc_al_report_d r;
    double x0[4] = {0, 0, 0, 0}, a[6 * CAR_T], b[6 * CAR_T], e = 0;
    int i;
    almpc_car_default_d(&car);
    almpc_car_problem_d(&car, car_lo, car_hi, &p);
    dopt_mpc_al_create_d(NULL, 4, 2, CAR_T, 3, 0, 1, &s, NULL);
    car_solve(s, &p, x0, NULL, a, &r);
    p.dynamics_jacobian = 0;
    p.constraint_jacobians = 0;
    DOPT_CHECK(car_solve(s, &p, x0, NULL, b, &r) == DOPT_OK && r.violation <= 1e-6, "FD fallback: status %d", r.status);
    for (i = 0; i < 6 * CAR_T; ++i) e = fmax(e, fabs(a[i] - b[i]));
    DOPT_CHECK(e <= 1e-5, "FD fallback vs analytic: %g", e);
    dopt_mpc_al_destroy_d(s);
}

static void test_errors(void)
{
    almpc_car_d car;
    dopt_mpc_al_problem_d p;
    dopt_mpc_al_d *s;
    dopt_mpc_al_report_d r[2];
    dopt_mpc_al_options_d o;
    double x0[8] = {0, 0, 0, 0, NAN, 0, 0, 0}, tau[2 * 6 * CAR_T];
    dopt_mpc_cseq_d xs;
    dopt_mpc_seq_d ts;
    size_t bytes;
    dopt_errinfo info;
    almpc_car_default_d(&car);
    almpc_car_problem_d(&car, car_lo, car_hi, &p);
    DOPT_CHECK(dopt_mpc_al_workspace_size_d(4, 2, CAR_T, -1, 0, 1, &bytes, NULL) == DOPT_ERR_INVALID_ARGUMENT, "n_ineq < 0");
    DOPT_CHECK(dopt_mpc_al_workspace_size_d(0, 2, CAR_T, 1, 0, 1, &bytes, NULL) == DOPT_ERR_INVALID_ARGUMENT, "n = 0");
    dopt_mpc_al_create_d(NULL, 4, 2, CAR_T, 3, 0, 2, &s, NULL);
    xs.p = x0; xs.ts = 0; xs.bs = 4;
    ts.p = tau; ts.ts = 6; ts.bs = 6 * CAR_T;
    p.n_ineq = 2;
    DOPT_CHECK(dopt_mpc_al_solve_d(s, &p, xs, NULL, ts, r, NULL) == DOPT_ERR_DIMENSION, "dimension");
    p.n_ineq = 3;
    p.ineq = NULL;
    DOPT_CHECK(dopt_mpc_al_solve_d(s, &p, xs, NULL, ts, r, NULL) == DOPT_ERR_INVALID_ARGUMENT, "NULL ineq");
    p.ineq = almpc_car_obs_d;
    memset(&o, 0, sizeof o);
    o.gamma = 0.5;
    DOPT_CHECK(dopt_mpc_al_solve_d(s, &p, xs, &o, ts, r, NULL) == DOPT_ERR_INVALID_ARGUMENT, "gamma < 1");
    DOPT_CHECK(dopt_mpc_al_solve_d(s, &p, xs, NULL, ts, r, &info) == DOPT_ERR_NON_FINITE, "NaN x_init");
    DOPT_CHECK(r[0].status == DOPT_OK && r[1].status == DOPT_ERR_NON_FINITE && info.index == 1,
               "per-element statuses %d %d, index %ld", r[0].status, r[1].status, (long)info.index);
    DOPT_CHECK(dopt_mpc_al_step_d(s, &p, xs, ts, NULL) == DOPT_ERR_INVALID_ARGUMENT, "step without an iterate");
    dopt_mpc_al_destroy_d(s);
}

static void test_car_float(void)
{
    almpc_car_f car;
    dopt_mpc_al_problem_f p;
    dopt_mpc_al_f *s;
    dopt_mpc_al_report_f r;
    static const float lo[2] = {-2, -1}, hi[2] = {2, 1};
    float x0[4] = {0, 0, 0, 0}, tau[6 * CAR_T];
    dopt_mpc_cseq_f xs;
    dopt_mpc_seq_f ts;
    dopt_status st;
    almpc_car_default_f(&car);
    almpc_car_problem_f(&car, lo, hi, &p);
    xs.p = x0; xs.ts = 0; xs.bs = 4;
    ts.p = tau; ts.ts = 6; ts.bs = 0;
    dopt_mpc_al_create_f(NULL, 4, 2, CAR_T, 3, 0, 1, &s, NULL);
    st = dopt_mpc_al_solve_f(s, &p, xs, NULL, ts, &r, NULL);
    DOPT_CHECK(st == DOPT_OK && r.violation <= 1e-3f, "float car: status %d violation %g", st, (double)r.violation);
    DOPT_CHECK(dopt_all_finite_f(6 * CAR_T, tau), "float car: tau not finite");
    dopt_mpc_al_destroy_f(s);
}

/* The bench's starting states (bench/almpc_dopt.c), car and cart-pole: (nearly) all converge. */
static void test_many_starts(void)
{
    static const double clo[1] = {-10}, chi[1] = {10};
    const int B = getenv("DOPT_TEST_QUICK") ? 4 : 64;
    almpc_car_d car;
    almpc_cartpole_d cp;
    dopt_mpc_al_problem_d p[2];
    int which, b, bad = 0;
    almpc_car_default_d(&car);
    almpc_car_problem_d(&car, car_lo, car_hi, &p[0]);
    almpc_cartpole_default_d(&cp);
    almpc_cartpole_problem_d(&cp, clo, chi, &p[1]);
    for (which = 0; which < 2; ++which) {
        const int T = which ? 100 : 50, m = which ? 1 : 2;
        dopt_mpc_al_d *s;
        dopt_mpc_al_report_d r;
        double *tau = (double *)malloc(sizeof(double) * (size_t)(T * (4 + m)));
        dopt_mpc_al_create_d(NULL, 4, m, T, which ? 2 : 3, 0, 1, &s, NULL);
        for (b = 0; b < B; ++b) {
            double x0[4], sn = b ? 0.1 * sin(1.7 * b + 0.3) : 0, c = b ? 0.1 * cos(2.3 * b + 0.1) : 0;
            dopt_mpc_cseq_d xs;
            dopt_mpc_seq_d ts;
            x0[0] = sn; x0[1] = which ? 0 : c; x0[2] = which ? 3.14159265358979323846 + c : 0; x0[3] = 0;
            xs.p = x0; xs.ts = 0; xs.bs = 4;
            ts.p = tau; ts.ts = 4 + m; ts.bs = 0;
            dopt_mpc_al_solve_d(s, &p[which], xs, NULL, ts, &r, NULL);
            if (r.status != DOPT_OK || r.violation > 1e-6) {
                bad++;
                printf("    %s start %d: status %d, violation %.2e after %d outer iterations\n",
                       which ? "cartpole" : "car", b, r.status, r.violation, r.outer_iterations);
                DOPT_CHECK(r.status == DOPT_ERR_NO_CONVERGENCE && !r.converged && r.violation > 1e-7,
                           "start %d: a failure must say so (status %d, violation %g)", b, r.status, r.violation);
            }
        }
        dopt_mpc_al_destroy_d(s);
        free(tau);
    }
    /* Known weakness: on about 1 start in 64 (which one depends on the rounding: -march=native,
     * FMA) the Gauss-Newton primal steps stall at a large penalty before the violation reaches
     * tol; such a start ends with NO_CONVERGENCE and its violation (checked above). */
    DOPT_CHECK(bad <= (B >= 64 ? 3 : 1), "%d of %d starts did not converge", bad, 2 * B);
}

static void suite(void)
{
    DOPT_TEST_RUN(test_car_converges);
    DOPT_TEST_RUN(test_car_batch);
    DOPT_TEST_RUN(test_many_starts);
    DOPT_TEST_RUN(test_random_vs_dense_qp);
    DOPT_TEST_RUN(test_box_only_and_none);
    DOPT_TEST_RUN(test_infeasible);
    DOPT_TEST_RUN(test_warm_start);
    DOPT_TEST_RUN(test_zero_alloc);
    DOPT_TEST_RUN(test_grad_fd);
    DOPT_TEST_RUN(test_grad_fd_eq);
    DOPT_TEST_RUN(test_fd_fallback);
    DOPT_TEST_RUN(test_errors);
    DOPT_TEST_RUN(test_car_float);
}
DOPT_TEST_MAIN(suite)
