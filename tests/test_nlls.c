/* test_nlls.c — the least-squares layer of dopt.h: objects, LM / GN / Dogleg, weights, robust
 * losses, numeric differentiation, Jacobian checks, batches, small pose graphs against an
 * independent dense solver, the gauge-freedom status, and Levenberg-Marquardt in lockstep over
 * batch groups (tests/lane_solver.h: bit-identical to sequential).  Float and double. */
#if !defined(DOPT_REAL)
#define DOPT_IMPLEMENTATION
#define DOPT_SPARSE_PLAIN_LANES /* test the plain-C lane batch too */
#include "dopt.h"
#include "dopt_lie.h"
#include "dopt_sparse.h"
#include "dopt_test.h"

/* ---- shared data types for the costs (precision-generic costs below use them via DOPT_REAL) --- */
typedef struct lin_cost_d { int rdim, cols; double A[4 * 6]; double b[4]; } lin_cost_d;
typedef struct lin_cost_f { int rdim, cols; float A[4 * 6]; float b[4]; } lin_cost_f;

/* Captured log: line counts, and from the iteration lines ("iter cost ...") whether the
 * iteration numbers run 0, 1, 2, ... (bad_order) and the last line's iteration and cost. */
typedef struct log_capture { int lines, header, iter_lines, bad_order, last_iter; double last_cost; } log_capture;
static void capture_log(void *user, dopt_log_level level, const char *line)
{
    log_capture *c = (log_capture *)user;
    int it;
    double cost;
    (void)level;
    c->lines++;
    if (strstr(line, "iter") && strstr(line, "cost_change")) c->header++;
    else if (sscanf(line, "%d %lf", &it, &cost) == 2) {
        if (it != c->iter_lines) c->bad_order++;
        c->iter_lines++;
        c->last_iter = it;
        c->last_cost = cost;
    }
}

/* ---- independent reference for the SE(2) pose-graph tests (double, no dopt least squares) ---- */
/* pose [x y theta]; x ⊕ d = x · Exp(d); between residual r = W Log(z^-1 · xi^-1 · xj) */
#define REF_MAXN 16
#define REF_MAXE 24
static double ref_wrap(double t)
{
    while (t > 3.14159265358979323846) t -= 2 * 3.14159265358979323846;
    while (t <= -3.14159265358979323846) t += 2 * 3.14159265358979323846;
    return t;
}
static void ref_compose(const double a[3], const double b[3], double c[3])
{
    double t0 = a[0] + cos(a[2]) * b[0] - sin(a[2]) * b[1];
    double t1 = a[1] + sin(a[2]) * b[0] + cos(a[2]) * b[1];
    c[0] = t0; c[1] = t1; c[2] = ref_wrap(a[2] + b[2]);
}
static void ref_inverse(const double a[3], double b[3])
{
    b[0] = -(cos(a[2]) * a[0] + sin(a[2]) * a[1]);
    b[1] = -(-sin(a[2]) * a[0] + cos(a[2]) * a[1]);
    b[2] = -a[2];
}
static void ref_ab(double w, double *a, double *b)
{
    if (fabs(w) < 1e-5) { *a = 1 - w * w / 6; *b = w / 2 - w * w * w / 24; }
    else { *a = sin(w) / w; *b = (1 - cos(w)) / w; }
}
static void ref_retract(const double x[3], const double d[3], double out[3])
{
    double a, b, e[3];
    ref_ab(d[2], &a, &b);
    e[0] = a * d[0] - b * d[1]; e[1] = b * d[0] + a * d[1]; e[2] = d[2];
    ref_compose(x, e, out);
}
static void ref_between(const double z[3], const double xi[3], const double xj[3], double r[3])
{
    double zi[3], ii[3], t[3], e[3], a, b, den, w;
    ref_inverse(z, zi); ref_inverse(xi, ii);
    ref_compose(ii, xj, t); ref_compose(zi, t, e);
    w = ref_wrap(e[2]);
    ref_ab(w, &a, &b);
    den = a * a + b * b;
    r[0] = (a * e[0] + b * e[1]) / den; r[1] = (-b * e[0] + a * e[1]) / den; r[2] = w;
}
static void ref_residuals(int ne, const double *z, const int *ij, const double *w, const double *x,
                          double *r)
{
    int e, i;
    for (e = 0; e < ne; ++e) {
        ref_between(z + 3 * e, x + 3 * ij[2 * e], x + 3 * ij[2 * e + 1], r + 3 * e);
        for (i = 0; i < 3; ++i) r[3 * e + i] *= w[3 * e + i];
    }
}
/* Gauss-Newton on the stacked residual, pose 0 fixed, dense central-difference Jacobian, dense
 * normal equations; returns the final cost 1/2 ||r||^2 and overwrites x. */
static double ref_pose_graph(int nposes, int ne, const double *z, const int *ij, const double *w,
                             double *x)
{
    static double J[3 * REF_MAXE * 3 * REF_MAXN], N[9 * REF_MAXN * REF_MAXN];
    double r[3 * REF_MAXE], rp[3 * REF_MAXE], rm[3 * REF_MAXE], rhs[3 * REF_MAXN], xs[3 * REF_MAXN];
    double cost = 0;
    int nu = 3 * (nposes - 1), nr = 3 * ne, it, i, j, k, fc;
    for (it = 0; it < 40; ++it) {
        ref_residuals(ne, z, ij, w, x, r);
        for (k = 0; k < nu; ++k) {
            double d[3] = {0, 0, 0}, h = 1e-6;
            int pose = 1 + k / 3;
            memcpy(xs, x, sizeof(double) * 3 * (size_t)nposes);
            d[k % 3] = h;
            ref_retract(x + 3 * pose, d, xs + 3 * pose);
            ref_residuals(ne, z, ij, w, xs, rp);
            d[k % 3] = -h;
            ref_retract(x + 3 * pose, d, xs + 3 * pose);
            ref_residuals(ne, z, ij, w, xs, rm);
            for (i = 0; i < nr; ++i) J[i + nr * k] = (rp[i] - rm[i]) / (2 * h);
        }
        cost = 0;
        for (i = 0; i < nr; ++i) cost += r[i] * r[i] / 2;
        for (i = 0; i < nu; ++i) {
            rhs[i] = 0;
            for (k = 0; k < nr; ++k) rhs[i] -= J[k + nr * i] * r[k];
            for (j = 0; j < nu; ++j) {
                double acc = 0;
                for (k = 0; k < nr; ++k) acc += J[k + nr * i] * J[k + nr * j];
                N[i + nu * j] = acc;
            }
        }
        dopt_spd_solve_d(NULL, nu, 1, N, nu, rhs, nu, &fc);
        for (i = 1; i < nposes; ++i) {
            double out[3];
            ref_retract(x + 3 * i, rhs + 3 * (i - 1), out);
            x[3 * i] = out[0]; x[3 * i + 1] = out[1]; x[3 * i + 2] = out[2];
        }
    }
    ref_residuals(ne, z, ij, w, x, r);
    cost = 0;
    for (i = 0; i < nr; ++i) cost += r[i] * r[i] / 2;
    return cost;
}

/* ---- independent reference for the SE(3) pose-graph test: Gauss-Newton in double on the
 * stacked residual r_e = W Log(z^-1 xi^-1 xj) built from dopt_lie.h's group operations, dense
 * central-difference Jacobian over poses 1..N-1 (x ⊕ d = x Exp(d)), dense normal equations. */
#define REF3_MAXN 8
#define REF3_MAXE 12
static void ref3_residuals(int ne, const double *z, const int *ij, const double *w, const double *x,
                           double *r)
{
    int e, i;
    for (e = 0; e < ne; ++e) {
        double rel[7], err[7], zi[7];
        dopt_se3_between_d(x + 7 * ij[2 * e], x + 7 * ij[2 * e + 1], rel, NULL, NULL);
        dopt_se3_inverse_d(z + 7 * e, zi, NULL);
        dopt_se3_compose_d(zi, rel, err, NULL, NULL);
        dopt_se3_log_d(err, r + 6 * e, NULL);
        for (i = 0; i < 6; ++i) r[6 * e + i] *= w[6 * e + i];
    }
}
static void ref3_retract(const double *x, const double *d, double *out)
{
    double ex[7];
    dopt_se3_exp_d(d, ex, NULL);
    dopt_se3_compose_d(x, ex, out, NULL, NULL);
}
static double ref3_pose_graph(int nposes, int ne, const double *z, const int *ij, const double *w,
                              double *x)
{
    static double J[6 * REF3_MAXE * 6 * REF3_MAXN], N[36 * REF3_MAXN * REF3_MAXN];
    double r[6 * REF3_MAXE], rp[6 * REF3_MAXE], rm[6 * REF3_MAXE], rhs[6 * REF3_MAXN], xs[7 * REF3_MAXN];
    double cost = 0;
    int nu = 6 * (nposes - 1), nr = 6 * ne, it, i, j, k, fc;
    for (it = 0; it < 30; ++it) {
        ref3_residuals(ne, z, ij, w, x, r);
        for (k = 0; k < nu; ++k) {
            double d[6] = {0, 0, 0, 0, 0, 0}, h = 1e-6;
            int pose = 1 + k / 6;
            memcpy(xs, x, sizeof(double) * 7 * (size_t)nposes);
            d[k % 6] = h;
            ref3_retract(x + 7 * pose, d, xs + 7 * pose);
            ref3_residuals(ne, z, ij, w, xs, rp);
            d[k % 6] = -h;
            ref3_retract(x + 7 * pose, d, xs + 7 * pose);
            ref3_residuals(ne, z, ij, w, xs, rm);
            for (i = 0; i < nr; ++i) J[i + nr * k] = (rp[i] - rm[i]) / (2 * h);
        }
        for (i = 0; i < nu; ++i) {
            rhs[i] = 0;
            for (k = 0; k < nr; ++k) rhs[i] -= J[k + nr * i] * r[k];
            for (j = 0; j < nu; ++j) {
                double acc = 0;
                for (k = 0; k < nr; ++k) acc += J[k + nr * i] * J[k + nr * j];
                N[i + nu * j] = acc;
            }
        }
        dopt_spd_solve_d(NULL, nu, 1, N, nu, rhs, nu, &fc);
        for (i = 1; i < nposes; ++i) {
            double out[7];
            ref3_retract(x + 7 * i, rhs + 6 * (i - 1), out);
            memcpy(x + 7 * i, out, sizeof out);
        }
    }
    ref3_residuals(ne, z, ij, w, x, r);
    for (i = 0; i < nr; ++i) cost += r[i] * r[i] / 2;
    return cost;
}

#define TEST_NLLS_PASS
#define DOPT_GENERIC "tests/test_nlls.c"
#include "dopt.h"
#undef DOPT_GENERIC
#undef TEST_NLLS_PASS

static void suite(void)
{
    DOPT_TEST_RUN(test_loss_derivatives_d);
    DOPT_TEST_RUN(test_linear_ls_d);
    DOPT_TEST_RUN(test_linear_ls_f);
    DOPT_TEST_RUN(test_weights_d);
    DOPT_TEST_RUN(test_weights_f);
    DOPT_TEST_RUN(test_robust_gradient_d);
    DOPT_TEST_RUN(test_robust_fit_d);
    DOPT_TEST_RUN(test_robust_fit_f);
    DOPT_TEST_RUN(test_curve_methods_d);
    DOPT_TEST_RUN(test_curve_methods_f);
    DOPT_TEST_RUN(test_numeric_diff_d);
    DOPT_TEST_RUN(test_numeric_diff_f);
    DOPT_TEST_RUN(test_check_jacobian_d);
    DOPT_TEST_RUN(test_batch_d);
    DOPT_TEST_RUN(test_batch_f);
    DOPT_TEST_RUN(test_pose_graph_se2_d);
    DOPT_TEST_RUN(test_pose_graph_se2_f);
    DOPT_TEST_RUN(test_pose_graph_se3_d);
    DOPT_TEST_RUN(test_pose_graph_se3_f);
    DOPT_TEST_RUN(test_gauge_status_d);
    DOPT_TEST_RUN(test_gauge_status_f);
    DOPT_TEST_RUN(test_unconstrained_status_d);
    DOPT_TEST_RUN(test_sparse_solver_d);
    DOPT_TEST_RUN(test_log_lines_d);
    DOPT_TEST_RUN(test_bad_input_d);
    DOPT_TEST_RUN(test_lm_scaled_projected_d);
    DOPT_TEST_RUN(test_lm_scaled_projected_f);
    DOPT_TEST_RUN(test_sqrt_info6_d);
    DOPT_TEST_RUN(test_sqrt_info6_f);
    DOPT_TEST_RUN(test_robust_step_d);
    DOPT_TEST_RUN(test_robust_step_f);
    DOPT_TEST_RUN(test_lockstep_curve_d);
    DOPT_TEST_RUN(test_lockstep_curve_f);
    DOPT_TEST_RUN(test_lockstep_pose_graph_d);
    DOPT_TEST_RUN(test_lockstep_pose_graph_f);
    DOPT_TEST_RUN(test_lockstep_sparse_lanes_d);
    DOPT_TEST_RUN(test_lockstep_sparse_lanes_f);
}
DOPT_TEST_MAIN(suite)

#elif defined(TEST_NLLS_PASS) && defined(DOPT_REAL)
#define LIN DOPT_FN(lin_cost)

/* ---- a linear cost r = A [x_0; x_1] - b over two Euclidean variables ----------------------- */
static dopt_status DOPT_FN(lin_fn)(const void *data, const DOPT_REAL *const *x, DOPT_REAL *r,
                                   DOPT_REAL *const *J)
{
    const LIN *c = (const LIN *)data;
    int i, j, d0 = 2, d1 = c->cols - 2;
    for (i = 0; i < c->rdim; ++i) {
        DOPT_REAL acc = -c->b[i];
        for (j = 0; j < d0; ++j) acc += c->A[i * c->cols + j] * x[0][j];
        for (j = 0; j < d1; ++j) acc += c->A[i * c->cols + d0 + j] * x[1][j];
        r[i] = acc;
    }
    if (J) {
        for (i = 0; i < c->rdim; ++i) {
            if (J[0]) for (j = 0; j < d0; ++j) J[0][i * d0 + j] = c->A[i * c->cols + j];
            if (J[1]) for (j = 0; j < d1; ++j) J[1][i * d1 + j] = c->A[i * c->cols + d0 + j];
        }
    }
    return DOPT_OK;
}

/* Three variables R^2, R^3 (wait: lin costs touch var pairs (0,1): dims 2,cols-2), built so that
 * the weighted normal equations can be formed densely by hand. */
#define NLIN 6
typedef struct DOPT_FN(lin_setup) {
    LIN cost[NLIN];
    int pairs[NLIN][2];
    DOPT_REAL w[NLIN][16];
} DOPT_FN(lin_setup);

/* variables: v0 in R^2, v1 in R^2, v2 in R^2 (each cost: A is rdim x 4 over two of them) */
static void DOPT_FN(lin_make)(DOPT_FN(lin_setup) *S, dopt_rng *rng)
{
    int c, i;
    for (c = 0; c < NLIN; ++c) {
        S->cost[c].rdim = 3 + (c % 2);
        S->cost[c].cols = 4;
        DOPT_FN(dopt_rng_fill_normal)(rng, 16, S->cost[c].A, 0, 1);
        DOPT_FN(dopt_rng_fill_normal)(rng, 4, S->cost[c].b, 0, 1);
        S->pairs[c][0] = c % 3;
        S->pairs[c][1] = (c + 1) % 3;
        for (i = 0; i < 16; ++i) S->w[c][i] = 0;
    }
}

/* dense reference: sum_c (W A_c)^T (W A_c) x = sum_c (W A_c)^T W b_c in double; kind = weight */
static void DOPT_FN(lin_reference)(const DOPT_FN(lin_setup) *S, dopt_weight_kind kind, double xref[6])
{
    double N[36], rhs[6];
    int c, i, j, k, l, fc;
    memset(N, 0, sizeof N);
    memset(rhs, 0, sizeof rhs);
    for (c = 0; c < NLIN; ++c) {
        const LIN *L = &S->cost[c];
        double WA[4][4], Wb[4];
        int col[4];
        col[0] = 2 * S->pairs[c][0]; col[1] = col[0] + 1;
        col[2] = 2 * S->pairs[c][1]; col[3] = col[2] + 1;
        for (i = 0; i < L->rdim; ++i) {
            for (j = 0; j < 4; ++j) {
                double acc = 0;
                for (l = 0; l < L->rdim; ++l) {
                    double wil = kind == DOPT_WEIGHT_SQRT_INFO ? (double)S->w[c][i * L->rdim + l]
                               : kind == DOPT_WEIGHT_DIAGONAL ? (i == l ? (double)S->w[c][i] : 0)
                               : kind == DOPT_WEIGHT_SCALAR ? (i == l ? (double)S->w[c][0] : 0)
                               : (i == l ? 1.0 : 0.0);
                    acc += wil * (double)L->A[l * 4 + j];
                    if (j == 0) Wb[i] = (l == 0 ? 0 : Wb[i]) + wil * (double)L->b[l];
                }
                WA[i][j] = acc;
            }
        }
        for (j = 0; j < 4; ++j) {
            for (k = 0; k < 4; ++k) {
                double acc = 0;
                for (i = 0; i < L->rdim; ++i) acc += WA[i][j] * WA[i][k];
                N[col[j] + 6 * col[k]] += acc;
            }
            {
                double acc = 0;
                for (i = 0; i < L->rdim; ++i) acc += WA[i][j] * Wb[i];
                rhs[col[j]] += acc;
            }
        }
    }
    dopt_spd_solve_d(NULL, 6, 1, N, 6, rhs, 6, &fc);
    for (i = 0; i < 6; ++i) xref[i] = rhs[i];
}

static DOPT_FN(dopt_nlls_problem) *DOPT_FN(lin_problem)(DOPT_FN(lin_setup) *S, dopt_weight_kind kind)
{
    DOPT_FN(dopt_nlls_problem) *p;
    DOPT_FN(dopt_manifold) m = DOPT_FN(dopt_manifold_euclidean)(2);
    int c, v;
    if (DOPT_FN(dopt_nlls_problem_create)(NULL, 1, &p) != DOPT_OK) return NULL;
    for (v = 0; v < 3; ++v) DOPT_FN(dopt_nlls_add_variable)(p, &m, NULL);
    for (c = 0; c < NLIN; ++c) {
        DOPT_FN(dopt_nlls_cost_desc) d;
        memset(&d, 0, sizeof d);
        d.fn = DOPT_FN(lin_fn);
        d.data = &S->cost[c];
        d.rdim = S->cost[c].rdim;
        d.nvars = 2;
        d.vars = S->pairs[c];
        d.weight_kind = kind;
        d.weight = S->w[c];
        DOPT_FN(dopt_nlls_add_cost)(p, &d, NULL);
    }
    return p;
}

static void DOPT_FN(test_linear_ls)(void)
{
    DOPT_FN(lin_setup) S;
    dopt_rng rng;
    int method, i;
    double xref[6];
    dopt_rng_seed(&rng, 11, 0);
    DOPT_FN(lin_make)(&S, &rng);
    DOPT_FN(lin_reference)(&S, DOPT_WEIGHT_NONE, xref);
    for (method = 0; method < 3; ++method) {
        DOPT_FN(dopt_nlls_problem) *p = DOPT_FN(lin_problem)(&S, DOPT_WEIGHT_NONE);
        DOPT_FN(dopt_nlls_solver) *s = NULL;
        DOPT_FN(dopt_nlls_options) o;
        dopt_nlls_report rep;
        DOPT_REAL x[6] = {0, 0, 0, 0, 0, 0};
        dopt_status st;
        memset(&o, 0, sizeof o);
        o.method = (dopt_nlls_method)method;
        o.max_iterations = 100;
        o.function_tolerance = (DOPT_REAL)DOPT_TEST_TOL(1e-15, 1e-7);
        o.gradient_tolerance = (DOPT_REAL)DOPT_TEST_TOL(1e-13, 1e-6);
        o.step_tolerance = (DOPT_REAL)DOPT_TEST_TOL(1e-14, 1e-7);
        DOPT_CHECK(p != NULL, "problem");
        if (!p) return;
        st = DOPT_FN(dopt_nlls_solver_create)(p, NULL, &s, NULL);
        DOPT_CHECK(st == DOPT_OK, "solver_create: %s", dopt_status_string(st));
        st = DOPT_FN(dopt_nlls_solve)(s, &o, x, 0, &rep, NULL, NULL);
        DOPT_CHECK(st == DOPT_OK, "solve (method %d): %s", method, dopt_status_string(st));
        for (i = 0; i < 6; ++i)
            DOPT_CHECK_CLOSE(x[i], xref[i], DOPT_TEST_TOL(1e-9, 2e-3), method == 0 ? "LM x vs normal equations" : method == 1 ? "GN x vs normal equations" : "Dogleg x vs normal equations");
        DOPT_CHECK(rep.final_cost <= rep.initial_cost, "cost decreased");
        if (getenv("NLLS_DEBUG")) printf("method %d: %d it, stop %s, cost %.17g -> %.17g\n", method, rep.iterations, dopt_nlls_stop_string(rep.stop), rep.initial_cost, rep.final_cost);
        if (method == DOPT_NLLS_GN) DOPT_CHECK(rep.iterations <= 3, "GN on a linear problem: %d iterations", rep.iterations);
        DOPT_FN(dopt_nlls_solver_destroy)(s);
        DOPT_FN(dopt_nlls_problem_destroy)(p);
    }
}

static void DOPT_FN(test_weights)(void)
{
    DOPT_FN(lin_setup) S;
    dopt_rng rng;
    int kind, c, i, j;
    dopt_rng_seed(&rng, 12, 0);
    DOPT_FN(lin_make)(&S, &rng);
    for (kind = DOPT_WEIGHT_SCALAR; kind <= DOPT_WEIGHT_SQRT_INFO; ++kind) {
        DOPT_FN(dopt_nlls_problem) *p;
        DOPT_FN(dopt_nlls_solver) *s = NULL;
        DOPT_FN(dopt_nlls_options) o;
        DOPT_REAL x[6] = {0, 0, 0, 0, 0, 0};
        double xref[6];
        for (c = 0; c < NLIN; ++c)
            for (i = 0; i < 4; ++i)
                for (j = 0; j < 4; ++j) {
                    int rd = S.cost[c].rdim;
                    if (i < rd && j < rd)
                        S.w[c][i * rd + j] = (DOPT_REAL)(j < i ? 0 : (i == j ? 0.5 + 0.3 * (c + i) : 0.2 * (i - j + c)));
                }
        if (kind != DOPT_WEIGHT_SQRT_INFO)
            for (c = 0; c < NLIN; ++c)
                for (i = 0; i < 4; ++i) S.w[c][i] = (DOPT_REAL)(0.5 + 0.25 * (c + i));
        DOPT_FN(lin_reference)(&S, (dopt_weight_kind)kind, xref);
        p = DOPT_FN(lin_problem)(&S, (dopt_weight_kind)kind);
        memset(&o, 0, sizeof o);
        o.method = DOPT_NLLS_GN; /* linear: one Gauss-Newton step is the normal-equations solve */
        DOPT_CHECK(DOPT_FN(dopt_nlls_solver_create)(p, NULL, &s, NULL) == DOPT_OK, "create");
        DOPT_CHECK(DOPT_FN(dopt_nlls_solve)(s, &o, x, 0, NULL, NULL, NULL) == DOPT_OK, "solve");
        for (i = 0; i < 6; ++i)
            DOPT_CHECK_CLOSE(x[i], xref[i], DOPT_TEST_TOL(1e-9, 2e-3), "weighted x vs normal equations");
        DOPT_FN(dopt_nlls_solver_destroy)(s);
        DOPT_FN(dopt_nlls_problem_destroy)(p);
    }
}

/* ---- robust losses -------------------------------------------------------------------------- */

#if !DOPT_IS_FLOAT
static void DOPT_FN(test_loss_derivatives)(void)
{
    int kind, k;
    const double svals[6] = {1e-3, 0.3, 0.9, 1.7, 4.0, 30.0};
    for (kind = DOPT_LOSS_NONE; kind <= DOPT_LOSS_SOFT_L1; ++kind)
        for (k = 0; k < 6; ++k) {
            double s = svals[k], a = 1.3, h = 1e-5 * (s > 1 ? s : 1), rho[3], rp[3], rm[3];
            dopt_nlls_loss_eval_d((dopt_loss_kind)kind, a, s, rho);
            dopt_nlls_loss_eval_d((dopt_loss_kind)kind, a, s + h, rp);
            dopt_nlls_loss_eval_d((dopt_loss_kind)kind, a, s - h, rm);
            if (fabs(s - a * a) < 2 * h) continue; /* Huber/Tukey kink */
            DOPT_CHECK_CLOSE(rho[1], (rp[0] - rm[0]) / (2 * h), 1e-7, "rho' vs FD");
            DOPT_CHECK_CLOSE(rho[2], (rp[1] - rm[1]) / (2 * h), 1e-6, "rho'' vs FD");
            if (k == 0) DOPT_CHECK(fabs(rho[1] - 1) < 1e-2, "rho'(0) ~ 1 (kind %d)", kind);
        }
}

/* gradient of the robust, weighted objective (dopt_nlls_evaluate) vs central differences */
static void DOPT_FN(test_robust_gradient)(void)
{
    DOPT_FN(lin_setup) S;
    dopt_rng rng;
    int kind, c, i;
    dopt_rng_seed(&rng, 13, 0);
    DOPT_FN(lin_make)(&S, &rng);
    for (c = 0; c < NLIN; ++c)
        for (i = 0; i < 4; ++i) S.w[c][i] = 0.7 + 0.1 * i;
    for (kind = DOPT_LOSS_HUBER; kind <= DOPT_LOSS_SOFT_L1; ++kind) {
        DOPT_FN(dopt_nlls_problem) *p;
        DOPT_FN(dopt_nlls_solver) *s = NULL;
        double x[6], g[6], f0;
        p = DOPT_FN(lin_problem)(&S, DOPT_WEIGHT_DIAGONAL);
        for (c = 0; c < NLIN; ++c) { /* set the losses directly: rebuild with loss */
            (void)c;
        }
        DOPT_FN(dopt_nlls_problem_destroy)(p);
        DOPT_FN(dopt_nlls_problem_create)(NULL, 1, &p);
        {
            DOPT_FN(dopt_manifold) m = DOPT_FN(dopt_manifold_euclidean)(2);
            for (i = 0; i < 3; ++i) DOPT_FN(dopt_nlls_add_variable)(p, &m, NULL);
            for (c = 0; c < NLIN; ++c) {
                DOPT_FN(dopt_nlls_cost_desc) d;
                memset(&d, 0, sizeof d);
                d.fn = DOPT_FN(lin_fn);
                d.data = &S.cost[c];
                d.rdim = S.cost[c].rdim;
                d.nvars = 2;
                d.vars = S.pairs[c];
                d.weight_kind = DOPT_WEIGHT_DIAGONAL;
                d.weight = S.w[c];
                d.loss = (dopt_loss_kind)kind;
                d.loss_scale = 1.5;
                DOPT_FN(dopt_nlls_add_cost)(p, &d, NULL);
            }
        }
        DOPT_CHECK(DOPT_FN(dopt_nlls_solver_create)(p, NULL, &s, NULL) == DOPT_OK, "create");
        for (i = 0; i < 6; ++i) x[i] = 0.3 * i - 0.7;
        DOPT_CHECK(DOPT_FN(dopt_nlls_evaluate)(s, 0, x, &f0, g) == DOPT_OK, "evaluate");
        for (i = 0; i < 6; ++i) {
            double h = 1e-6, fp, fm, save = x[i];
            x[i] = save + h; DOPT_FN(dopt_nlls_evaluate)(s, 0, x, &fp, NULL);
            x[i] = save - h; DOPT_FN(dopt_nlls_evaluate)(s, 0, x, &fm, NULL);
            x[i] = save;
            DOPT_CHECK_CLOSE(g[i], (fp - fm) / (2 * h), 1e-6, "robust gradient vs FD");
        }
        DOPT_FN(dopt_nlls_solver_destroy)(s);
        DOPT_FN(dopt_nlls_problem_destroy)(p);
    }
}
#endif

/* ---- a scalar curve fit y = exp(m t + c) ------------------------------------------------------ */

typedef struct DOPT_FN(curve_pt) { DOPT_REAL t, y; } DOPT_FN(curve_pt);

static dopt_status DOPT_FN(curve_fn)(const void *data, const DOPT_REAL *const *x, DOPT_REAL *r,
                                     DOPT_REAL *const *J)
{
    const DOPT_FN(curve_pt) *q = (const DOPT_FN(curve_pt) *)data;
    DOPT_REAL e = DOPT_M(exp)(x[0][0] * q->t + x[0][1]);
    r[0] = q->y - e;
    if (J && J[0]) {
        J[0][0] = -q->t * e;
        J[0][1] = -e;
    }
    return DOPT_OK;
}

#if !DOPT_IS_FLOAT
/* a cost with a deliberately wrong Jacobian (sign of the second column) */
static dopt_status DOPT_FN(curve_bad_fn)(const void *data, const DOPT_REAL *const *x, DOPT_REAL *r,
                                         DOPT_REAL *const *J)
{
    dopt_status st = DOPT_FN(curve_fn)(data, x, r, J);
    if (J && J[0]) J[0][1] = -J[0][1];
    return st;
}
#endif

#define NCURVE 40
static void DOPT_FN(curve_data)(DOPT_FN(curve_pt) *pts, int n, dopt_rng *rng, DOPT_REAL m, DOPT_REAL c,
                                int outliers)
{
    int i;
    for (i = 0; i < n; ++i) {
        pts[i].t = (DOPT_REAL)i / (DOPT_REAL)n * 5;
        pts[i].y = DOPT_M(exp)(m * pts[i].t + c) + (DOPT_REAL)0.05 * (DOPT_REAL)dopt_rng_normal_d(rng);
        if (outliers && i % 7 == 3) pts[i].y += 3;
    }
}

static DOPT_FN(dopt_nlls_problem) *DOPT_FN(curve_problem)(DOPT_FN(curve_pt) *pts, int n, int batch,
                                                           size_t stride, dopt_loss_kind loss,
                                                           int numeric)
{
    DOPT_FN(dopt_nlls_problem) *p;
    DOPT_FN(dopt_manifold) m = DOPT_FN(dopt_manifold_euclidean)(2);
    int i, v = 0;
    if (DOPT_FN(dopt_nlls_problem_create)(NULL, batch, &p) != DOPT_OK) return NULL;
    DOPT_FN(dopt_nlls_add_variable)(p, &m, NULL);
    for (i = 0; i < n; ++i) {
        DOPT_FN(dopt_nlls_cost_desc) d;
        memset(&d, 0, sizeof d);
        d.fn = DOPT_FN(curve_fn);
        d.data = pts + i;
        d.data_stride = stride;
        d.rdim = 1;
        d.nvars = 1;
        d.vars = &v;
        d.loss = loss;
        d.loss_scale = (DOPT_REAL)0.3;
        d.numeric_diff = numeric;
        DOPT_FN(dopt_nlls_add_cost)(p, &d, NULL);
    }
    return p;
}

static void DOPT_FN(test_curve_methods)(void)
{
    DOPT_FN(curve_pt) pts[NCURVE];
    dopt_rng rng;
    DOPT_REAL xs[3][2];
    double costs[3];
    int method;
    dopt_rng_seed(&rng, 21, 0);
    DOPT_FN(curve_data)(pts, NCURVE, &rng, (DOPT_REAL)0.3, (DOPT_REAL)0.1, 0);
    for (method = 0; method < 3; ++method) {
        DOPT_FN(dopt_nlls_problem) *p = DOPT_FN(curve_problem)(pts, NCURVE, 1, 0, DOPT_LOSS_NONE, 0);
        DOPT_FN(dopt_nlls_solver) *s = NULL;
        DOPT_FN(dopt_nlls_options) o;
        dopt_nlls_report rep;
        dopt_status st;
        memset(&o, 0, sizeof o);
        o.method = (dopt_nlls_method)method;
        o.max_iterations = 200;
        o.line_search = 1;
        xs[method][0] = 0;
        xs[method][1] = 0;
        DOPT_FN(dopt_nlls_solver_create)(p, NULL, &s, NULL);
        st = DOPT_FN(dopt_nlls_solve)(s, &o, xs[method], 0, &rep, NULL, NULL);
        DOPT_CHECK(st == DOPT_OK, "method %d: %s", method, dopt_status_string(st));
        DOPT_CHECK(rep.stop != DOPT_STOP_FAILED && rep.stop != DOPT_STOP_MAX_ITERATIONS,
                   "method %d stopped: %s", method, dopt_nlls_stop_string(rep.stop));
        costs[method] = rep.final_cost;
        DOPT_CHECK(rep.final_cost < rep.initial_cost, "decrease");
        DOPT_CHECK(DOPT_M(fabs)(xs[method][0] - (DOPT_REAL)0.3) < 0.01, "m recovered: %g", (double)xs[method][0]);
        DOPT_FN(dopt_nlls_solver_destroy)(s);
        DOPT_FN(dopt_nlls_problem_destroy)(p);
    }
    for (method = 1; method < 3; ++method) {
        DOPT_CHECK_CLOSE(xs[method][0], xs[0][0], DOPT_TEST_TOL(1e-6, 2e-3), "same minimizer (m)");
        DOPT_CHECK_CLOSE(xs[method][1], xs[0][1], DOPT_TEST_TOL(1e-6, 2e-3), "same minimizer (c)");
        DOPT_CHECK_CLOSE(costs[method], costs[0], DOPT_TEST_TOL(1e-8, 1e-3), "same cost");
    }
}

/* robust fit: outliers are down-weighted; IRLS and Triggs reach a stationary point */
static void DOPT_FN(test_robust_fit)(void)
{
    DOPT_FN(curve_pt) pts[NCURVE];
    dopt_rng rng;
    int kind, mode;
    dopt_rng_seed(&rng, 22, 0);
    DOPT_FN(curve_data)(pts, NCURVE, &rng, (DOPT_REAL)0.3, (DOPT_REAL)0.1, 1);
    for (kind = DOPT_LOSS_HUBER; kind <= DOPT_LOSS_SOFT_L1; ++kind)
        for (mode = 0; mode < 2; ++mode) {
            DOPT_FN(dopt_nlls_problem) *p = DOPT_FN(curve_problem)(pts, NCURVE, 1, 0, (dopt_loss_kind)kind, 0);
            DOPT_FN(dopt_nlls_solver) *s = NULL;
            DOPT_FN(dopt_nlls_options) o;
            dopt_nlls_report rep;
            DOPT_REAL x[2] = {(DOPT_REAL)0.28, (DOPT_REAL)0.12}; /* redescending losses need a start near */
            memset(&o, 0, sizeof o);
            o.max_iterations = 200;
            o.robust_mode = (dopt_robust_mode)mode;
            if (!DOPT_IS_FLOAT) { /* run to stationarity: only the gradient test stops it */
                o.function_tolerance = DOPT_OFF;
                o.gradient_tolerance = (DOPT_REAL)1e-10;
                o.step_tolerance = DOPT_OFF;
            }
            DOPT_FN(dopt_nlls_solver_create)(p, NULL, &s, NULL);
            DOPT_CHECK(DOPT_FN(dopt_nlls_solve)(s, &o, x, 0, &rep, NULL, NULL) == DOPT_OK, "solve");
            DOPT_CHECK(DOPT_M(fabs)(x[0] - (DOPT_REAL)0.3) < 0.02, "loss %d mode %d: m = %g", kind, mode, (double)x[0]);
            DOPT_CHECK(rep.final_cost <= rep.initial_cost, "decrease");
            {   /* stationarity: central differences of S itself, and the solver's own gradient */
                DOPT_REAL g[2], S0, Sp, Sm, xp[2], h = (DOPT_REAL)1e-6, fd[2], gmax = 0;
                int i;
                DOPT_FN(dopt_nlls_evaluate)(s, 0, x, &S0, g);
                if (DOPT_IS_FLOAT) { /* float: the solver's gradient (S's rounding defeats differences) */
                    DOPT_CHECK(DOPT_M(fabs)(g[0]) + DOPT_M(fabs)(g[1]) <= 1e-2 * (1 + S0),
                               "loss %d mode %d: |g| = %g", kind, mode, (double)(DOPT_M(fabs)(g[0]) + DOPT_M(fabs)(g[1])));
                }
                for (i = 0; i < 2 && !DOPT_IS_FLOAT; ++i) {
                    memcpy(xp, x, sizeof xp);
                    xp[i] = x[i] + h;
                    DOPT_FN(dopt_nlls_evaluate)(s, 0, xp, &Sp, NULL);
                    xp[i] = x[i] - h;
                    DOPT_FN(dopt_nlls_evaluate)(s, 0, xp, &Sm, NULL);
                    fd[i] = (Sp - Sm) / (2 * h);
                    if (DOPT_M(fabs)(fd[i]) > gmax) gmax = DOPT_M(fabs)(fd[i]);
                    DOPT_CHECK_CLOSE(g[i], fd[i], 1e-6, "solver gradient vs central differences");
                }
                DOPT_CHECK(DOPT_IS_FLOAT || gmax <= 1e-7 * (1 + S0), "loss %d mode %d: not stationary, |dS/dx| = %g (S = %g)",
                           kind, mode, (double)gmax, (double)S0);
            }
            DOPT_FN(dopt_nlls_solver_destroy)(s);
            DOPT_FN(dopt_nlls_problem_destroy)(p);
        }
}

static void DOPT_FN(test_numeric_diff)(void)
{
    DOPT_FN(curve_pt) pts[NCURVE];
    dopt_rng rng;
    DOPT_REAL xa[2] = {0, 0}, xn[2] = {0, 0};
    dopt_nlls_report ra, rn;
    int numeric;
    dopt_rng_seed(&rng, 23, 0);
    DOPT_FN(curve_data)(pts, NCURVE, &rng, (DOPT_REAL)-0.4, (DOPT_REAL)0.5, 0);
    for (numeric = 0; numeric < 2; ++numeric) {
        DOPT_FN(dopt_nlls_problem) *p = DOPT_FN(curve_problem)(pts, NCURVE, 1, 0, DOPT_LOSS_NONE, numeric);
        DOPT_FN(dopt_nlls_solver) *s = NULL;
        DOPT_FN(dopt_nlls_solver_create)(p, NULL, &s, NULL);
        DOPT_CHECK(DOPT_FN(dopt_nlls_solve)(s, NULL, numeric ? xn : xa, 0, numeric ? &rn : &ra, NULL, NULL) == DOPT_OK, "solve");
        DOPT_FN(dopt_nlls_solver_destroy)(s);
        DOPT_FN(dopt_nlls_problem_destroy)(p);
    }
    DOPT_CHECK_CLOSE(xn[0], xa[0], DOPT_TEST_TOL(1e-7, 5e-3), "numeric vs analytic (m)");
    DOPT_CHECK_CLOSE(xn[1], xa[1], DOPT_TEST_TOL(1e-7, 5e-3), "numeric vs analytic (c)");
    DOPT_CHECK_CLOSE(rn.final_cost, ra.final_cost, DOPT_TEST_TOL(1e-9, 1e-3), "numeric vs analytic (cost)");
}

/* ---- SE(2) pose graph (own manifold and between cost; dopt_lie.h has the library ones) ------- */
/* pose [x y theta]; x ⊕ d = x · Exp(d); r = Log(z^-1 · xi^-1 · xj) */

static void DOPT_FN(se2_exp)(const DOPT_REAL d[3], DOPT_REAL out[3])
{
    DOPT_REAL w = d[2], a, b;
    if (DOPT_M(fabs)(w) < (DOPT_REAL)1e-5) { a = 1 - w * w / 6; b = w / 2 - w * w * w / 24; }
    else { a = DOPT_M(sin)(w) / w; b = (1 - DOPT_M(cos)(w)) / w; }
    out[0] = a * d[0] - b * d[1];
    out[1] = b * d[0] + a * d[1];
    out[2] = w;
}
static DOPT_REAL DOPT_FN(wrap)(DOPT_REAL t)
{
    const DOPT_REAL pi = (DOPT_REAL)3.14159265358979323846;
    while (t > pi) t -= 2 * pi;
    while (t <= -pi) t += 2 * pi;
    return t;
}
static void DOPT_FN(se2_log)(const DOPT_REAL g[3], DOPT_REAL d[3])
{
    DOPT_REAL w = DOPT_FN(wrap)(g[2]), a, b, den;
    if (DOPT_M(fabs)(w) < (DOPT_REAL)1e-5) { a = 1 - w * w / 6; b = w / 2 - w * w * w / 24; }
    else { a = DOPT_M(sin)(w) / w; b = (1 - DOPT_M(cos)(w)) / w; }
    den = a * a + b * b;
    d[0] = (a * g[0] + b * g[1]) / den;
    d[1] = (-b * g[0] + a * g[1]) / den;
    d[2] = w;
}
static void DOPT_FN(se2_compose)(const DOPT_REAL a[3], const DOPT_REAL b[3], DOPT_REAL c[3])
{
    DOPT_REAL cs = DOPT_M(cos)(a[2]), sn = DOPT_M(sin)(a[2]), t0, t1;
    t0 = a[0] + cs * b[0] - sn * b[1];
    t1 = a[1] + sn * b[0] + cs * b[1];
    c[0] = t0; c[1] = t1; c[2] = DOPT_FN(wrap)(a[2] + b[2]);
}
static void DOPT_FN(se2_inverse)(const DOPT_REAL a[3], DOPT_REAL b[3])
{
    DOPT_REAL cs = DOPT_M(cos)(a[2]), sn = DOPT_M(sin)(a[2]);
    b[0] = -(cs * a[0] + sn * a[1]);
    b[1] = -(-sn * a[0] + cs * a[1]);
    b[2] = -a[2];
}
static void DOPT_FN(se2_retract)(const DOPT_FN(dopt_manifold) *m, const DOPT_REAL *x, const DOPT_REAL *d, DOPT_REAL *out)
{
    DOPT_REAL e[3];
    (void)m;
    DOPT_FN(se2_exp)(d, e);
    DOPT_FN(se2_compose)(x, e, out);
}
static void DOPT_FN(se2_local)(const DOPT_FN(dopt_manifold) *m, const DOPT_REAL *x, const DOPT_REAL *y, DOPT_REAL *d)
{
    DOPT_REAL xi[3], e[3];
    (void)m;
    DOPT_FN(se2_inverse)(x, xi);
    DOPT_FN(se2_compose)(xi, y, e);
    DOPT_FN(se2_log)(e, d);
}
static DOPT_FN(dopt_manifold) DOPT_FN(se2_manifold)(void)
{
    DOPT_FN(dopt_manifold) m;
    memset(&m, 0, sizeof m);
    m.name = "test-se2";
    m.dim = 3;
    m.tangent_dim = 3;
    m.retract = DOPT_FN(se2_retract);
    m.local = DOPT_FN(se2_local);
    return m;
}
static dopt_status DOPT_FN(se2_between_fn)(const void *data, const DOPT_REAL *const *x, DOPT_REAL *r,
                                           DOPT_REAL *const *J)
{
    const DOPT_REAL *z = (const DOPT_REAL *)data;
    DOPT_REAL zi[3], xi[3], t[3], e[3];
    (void)J; /* numeric differentiation */
    DOPT_FN(se2_inverse)(z, zi);
    DOPT_FN(se2_inverse)(x[0], xi);
    DOPT_FN(se2_compose)(xi, x[1], t);
    DOPT_FN(se2_compose)(zi, t, e);
    DOPT_FN(se2_log)(e, r);
    return DOPT_OK;
}

#define PG_N 10
#define PG_E 14
typedef struct DOPT_FN(pg) {
    DOPT_REAL x0[PG_N * 3];
    DOPT_REAL z[PG_E][3];
    int ij[PG_E][2];
    DOPT_REAL w[PG_E][3];
} DOPT_FN(pg);

static void DOPT_FN(pg_make)(DOPT_FN(pg) *G, unsigned seed)
{
    DOPT_REAL truth[PG_N][3];
    dopt_rng rng;
    int i, e = 0;
    dopt_rng_seed(&rng, seed, 0);
    for (i = 0; i < PG_N; ++i) { /* a loop */
        DOPT_REAL ang = (DOPT_REAL)(2 * 3.14159265358979 * i / PG_N);
        truth[i][0] = 3 * DOPT_M(cos)(ang);
        truth[i][1] = 3 * DOPT_M(sin)(ang);
        truth[i][2] = DOPT_FN(wrap)(ang + (DOPT_REAL)1.5707963);
    }
    for (i = 0; i < PG_N; ++i, ++e) { G->ij[e][0] = i; G->ij[e][1] = (i + 1) % PG_N; }
    for (i = 0; e < PG_E; i += 2, ++e) { G->ij[e][0] = i; G->ij[e][1] = (i + 3) % PG_N; }
    for (e = 0; e < PG_E; ++e) {
        DOPT_REAL inv[3], k;
        DOPT_FN(se2_inverse)(truth[G->ij[e][0]], inv);
        DOPT_FN(se2_compose)(inv, truth[G->ij[e][1]], G->z[e]);
        for (k = 0; k < 3; k += 1) G->z[e][(int)k] += (DOPT_REAL)(0.05 * dopt_rng_normal_d(&rng));
        G->w[e][0] = G->w[e][1] = 10;
        G->w[e][2] = 20;
    }
    for (i = 0; i < PG_N; ++i) { /* a poor start: truth plus noise */
        G->x0[3 * i] = truth[i][0] + (DOPT_REAL)(0.3 * dopt_rng_normal_d(&rng));
        G->x0[3 * i + 1] = truth[i][1] + (DOPT_REAL)(0.3 * dopt_rng_normal_d(&rng));
        G->x0[3 * i + 2] = DOPT_FN(wrap)(truth[i][2] + (DOPT_REAL)(0.2 * dopt_rng_normal_d(&rng)));
    }
    G->x0[0] = truth[0][0]; G->x0[1] = truth[0][1]; G->x0[2] = truth[0][2];
}

static DOPT_FN(dopt_nlls_problem) *DOPT_FN(pg_problem)(DOPT_FN(pg) *G, int fix_first)
{
    DOPT_FN(dopt_nlls_problem) *p;
    DOPT_FN(dopt_manifold) m = DOPT_FN(se2_manifold)();
    int i, e;
    DOPT_FN(dopt_nlls_problem_create)(NULL, 1, &p);
    for (i = 0; i < PG_N; ++i) DOPT_FN(dopt_nlls_add_variable)(p, &m, NULL);
    if (fix_first) DOPT_FN(dopt_nlls_set_constant)(p, 0, 1);
    for (e = 0; e < PG_E; ++e) {
        DOPT_FN(dopt_nlls_cost_desc) d;
        memset(&d, 0, sizeof d);
        d.fn = DOPT_FN(se2_between_fn);
        d.data = G->z[e];
        d.rdim = 3;
        d.nvars = 2;
        d.vars = G->ij[e];
        d.weight_kind = DOPT_WEIGHT_DIAGONAL;
        d.weight = G->w[e];
        d.numeric_diff = 1;
        DOPT_FN(dopt_nlls_add_cost)(p, &d, NULL);
    }
    return p;
}

/* the independent reference (top of the file) on this graph, in double */
static double DOPT_FN(pg_reference)(const DOPT_FN(pg) *G, double *x /* PG_N*3 */)
{
    double z[PG_E][3], w[PG_E][3];
    int e, k;
    for (e = 0; e < PG_E; ++e)
        for (k = 0; k < 3; ++k) {
            z[e][k] = (double)G->z[e][k];
            w[e][k] = (double)G->w[e][k];
        }
    return ref_pose_graph(PG_N, PG_E, z[0], G->ij[0], w[0], x);
}

static void DOPT_FN(test_pose_graph_se2)(void)
{
    DOPT_FN(pg) G;
    double xref[PG_N * 3], cref;
    int i, method;
    DOPT_FN(pg_make)(&G, 31);
    for (i = 0; i < PG_N * 3; ++i) xref[i] = (double)G.x0[i];
    cref = DOPT_FN(pg_reference)(&G, xref);
    for (method = 0; method < 3; ++method) {
        DOPT_FN(dopt_nlls_problem) *p = DOPT_FN(pg_problem)(&G, 1);
        DOPT_FN(dopt_nlls_solver) *s = NULL;
        DOPT_FN(dopt_nlls_options) o;
        dopt_nlls_report rep;
        DOPT_REAL x[PG_N * 3];
        memcpy(x, G.x0, sizeof x);
        memset(&o, 0, sizeof o);
        o.method = (dopt_nlls_method)method;
        o.max_iterations = 100;
        o.function_tolerance = (DOPT_REAL)DOPT_TEST_TOL(1e-12, 1e-6);
        DOPT_FN(dopt_nlls_solver_create)(p, NULL, &s, NULL);
        DOPT_CHECK(DOPT_FN(dopt_nlls_solve)(s, &o, x, 0, &rep, NULL, NULL) == DOPT_OK, "solve");
        DOPT_CHECK_CLOSE(rep.final_cost, cref, DOPT_TEST_TOL(1e-7, 1e-3), "final cost vs reference");
        for (i = 0; i < PG_N * 3; ++i) {
            double dv = (double)x[i] - xref[i];
            if (i % 3 == 2) dv = (double)DOPT_FN(wrap)((DOPT_REAL)dv);
            DOPT_CHECK(fabs(dv) < DOPT_TEST_TOL(1e-6, 2e-3), "method %d pose %d: %g vs %g", method, i / 3, (double)x[i], xref[i]);
        }
        DOPT_CHECK(fabs(x[0] - G.x0[0]) == 0, "pose 0 held constant");
        DOPT_FN(dopt_nlls_solver_destroy)(s);
        DOPT_FN(dopt_nlls_problem_destroy)(p);
    }
}

/* ---- SE(3) pose graph with dopt_lie.h's manifold and between cost vs the reference ---------- */
#define PG3_N 6
#define PG3_E 8
static void DOPT_FN(test_pose_graph_se3)(void)
{
    DOPT_FN(dopt_lie_between_data) meas[PG3_E];
    DOPT_REAL w[PG3_E][6], x[7 * PG3_N], xi[6];
    double truth[7 * PG3_N], zd[7 * PG3_E], wd[6 * PG3_E], xref[7 * PG3_N], cref;
    int ij[PG3_E][2], e, i, k, method;
    dopt_rng rng;
    dopt_rng_seed(&rng, 61, 0);
    for (i = 0; i < PG3_N; ++i) { /* a twisted loop */
        double d[6];
        d[0] = 1; d[1] = 0.2; d[2] = 0.1; d[3] = 0.1; d[4] = -0.05; d[5] = 1.0;
        if (i == 0) { double id[6] = {0, 0, 0, 0, 0, 0}; dopt_se3_exp_d(id, truth, NULL); }
        else ref3_retract(truth + 7 * (i - 1), d, truth + 7 * i);
    }
    for (e = 0; e < PG3_E; ++e) {
        double rel[7], ex[7], n[6];
        ij[e][0] = e < PG3_N - 1 ? e : (e == PG3_N - 1 ? 0 : 1);
        ij[e][1] = e < PG3_N - 1 ? e + 1 : (e == PG3_N - 1 ? PG3_N - 1 : 4);
        dopt_se3_between_d(truth + 7 * ij[e][0], truth + 7 * ij[e][1], rel, NULL, NULL);
        for (k = 0; k < 6; ++k) n[k] = (k < 3 ? 0.05 : 0.02) * dopt_rng_normal_d(&rng);
        dopt_se3_exp_d(n, ex, NULL);
        dopt_se3_compose_d(rel, ex, zd + 7 * e, NULL, NULL);
        for (k = 0; k < 7; ++k) meas[e].measurement[k] = (DOPT_REAL)zd[7 * e + k];
        for (k = 0; k < 7; ++k) zd[7 * e + k] = (double)meas[e].measurement[k]; /* what the layer sees */
        for (k = 0; k < 6; ++k) w[e][k] = (DOPT_REAL)(k < 3 ? 20 : 50);
        for (k = 0; k < 6; ++k) wd[6 * e + k] = (double)w[e][k];
    }
    for (i = 0; i < PG3_N; ++i) { /* start: truth perturbed (pose 0 exact) */
        double n[6], out[7];
        for (k = 0; k < 6; ++k) n[k] = i ? 0.15 * dopt_rng_normal_d(&rng) : 0;
        ref3_retract(truth + 7 * i, n, out);
        for (k = 0; k < 7; ++k) xref[7 * i + k] = (double)(DOPT_REAL)out[k];
    }
    for (k = 0; k < 7 * PG3_N; ++k) x[k] = (DOPT_REAL)xref[k];
    cref = ref3_pose_graph(PG3_N, PG3_E, zd, ij[0], wd, xref);
    (void)xi;
    for (method = 0; method < 3; ++method) {
        DOPT_FN(dopt_nlls_problem) *p;
        DOPT_FN(dopt_nlls_solver) *s = NULL;
        DOPT_FN(dopt_manifold) m = DOPT_FN(dopt_lie_manifold_se3)();
        DOPT_FN(dopt_nlls_options) o;
        dopt_nlls_report rep;
        DOPT_REAL xs[7 * PG3_N];
        memcpy(xs, x, sizeof xs);
        DOPT_FN(dopt_nlls_problem_create)(NULL, 1, &p);
        for (i = 0; i < PG3_N; ++i) DOPT_FN(dopt_nlls_add_variable)(p, &m, NULL);
        DOPT_FN(dopt_nlls_set_constant)(p, 0, 1);
        for (e = 0; e < PG3_E; ++e) {
            DOPT_FN(dopt_nlls_cost_desc) d;
            memset(&d, 0, sizeof d);
            d.fn = DOPT_FN(dopt_lie_cost_between_se3);
            d.data = &meas[e];
            d.rdim = 6;
            d.nvars = 2;
            d.vars = ij[e];
            d.weight_kind = DOPT_WEIGHT_DIAGONAL;
            d.weight = w[e];
            DOPT_FN(dopt_nlls_add_cost)(p, &d, NULL);
        }
        memset(&o, 0, sizeof o);
        o.method = (dopt_nlls_method)method;
        o.max_iterations = 100;
        o.function_tolerance = (DOPT_REAL)DOPT_TEST_TOL(1e-12, 1e-6);
        DOPT_FN(dopt_nlls_solver_create)(p, NULL, &s, NULL);
        DOPT_CHECK(DOPT_FN(dopt_nlls_solve)(s, &o, xs, 0, &rep, NULL, NULL) == DOPT_OK, "solve");
        DOPT_CHECK_CLOSE(rep.final_cost, cref, DOPT_TEST_TOL(1e-7, 2e-3), "SE3 final cost vs reference");
        for (i = 0; i < PG3_N; ++i) {
            double dq = 0, dt = 0, sgn;
            for (k = 0; k < 3; ++k) dt += fabs((double)xs[7 * i + k] - xref[7 * i + k]);
            sgn = (double)xs[7 * i + 6] * xref[7 * i + 6] < 0 ? -1 : 1; /* q and -q */
            for (k = 3; k < 7; ++k) dq += fabs((double)xs[7 * i + k] - sgn * xref[7 * i + k]);
            DOPT_CHECK(dt < DOPT_TEST_TOL(1e-6, 2e-3) && dq < DOPT_TEST_TOL(1e-6, 2e-3),
                       "method %d pose %d: |dt| %g |dq| %g", method, i, dt, dq);
        }
        DOPT_FN(dopt_nlls_solver_destroy)(s);
        DOPT_FN(dopt_nlls_problem_destroy)(p);
    }
}

/* no pose held fixed: GN and Dogleg must name the gauge freedom, LM regularizes it */
static void DOPT_FN(test_gauge_status)(void)
{
    DOPT_FN(pg) G;
    int method;
    DOPT_FN(pg_make)(&G, 32);
    for (method = 0; method < 3; ++method) {
        DOPT_FN(dopt_nlls_problem) *p = DOPT_FN(pg_problem)(&G, 0);
        DOPT_FN(dopt_nlls_solver) *s = NULL;
        DOPT_FN(dopt_nlls_options) o;
        dopt_nlls_report rep;
        dopt_errinfo info;
        dopt_status st;
        DOPT_REAL x[PG_N * 3];
        memcpy(x, G.x0, sizeof x);
        memset(&o, 0, sizeof o);
        memset(&info, 0, sizeof info);
        o.method = (dopt_nlls_method)method;
        DOPT_FN(dopt_nlls_solver_create)(p, NULL, &s, NULL);
        st = DOPT_FN(dopt_nlls_solve)(s, &o, x, 0, &rep, NULL, &info);
        if (method == DOPT_NLLS_LM) {
            DOPT_CHECK(st == DOPT_OK, "LM with gauge freedom: %s", dopt_status_string(st));
            DOPT_CHECK(rep.final_cost < rep.initial_cost, "LM decreases the cost");
        } else {
            DOPT_CHECK(st == DOPT_ERR_NOT_POSITIVE_DEFINITE, "method %d: status %s", method, dopt_status_string(st));
            DOPT_CHECK(rep.stop == DOPT_STOP_FAILED, "stop failed");
            DOPT_CHECK(rep.fail_variable >= 0 && rep.fail_variable < PG_N, "failing variable named: %d", rep.fail_variable);
            DOPT_CHECK(info.index == rep.fail_variable, "info names the variable");
            DOPT_CHECK(strstr(info.message, "gauge") != NULL, "cause named: %s", info.message);
        }
        DOPT_FN(dopt_nlls_solver_destroy)(s);
        DOPT_FN(dopt_nlls_problem_destroy)(p);
    }
}

#if !DOPT_IS_FLOAT
/* a variable whose Jacobian is zero in every cost */
static dopt_status DOPT_FN(ignore_second_fn)(const void *data, const DOPT_REAL *const *x, DOPT_REAL *r,
                                             DOPT_REAL *const *J)
{
    (void)data;
    r[0] = x[0][0] - 1;
    if (J) {
        if (J[0]) J[0][0] = 1;
        if (J[1]) J[1][0] = 0;
    }
    return DOPT_OK;
}
static void DOPT_FN(test_unconstrained_status)(void)
{
    DOPT_FN(dopt_nlls_problem) *p;
    DOPT_FN(dopt_nlls_solver) *s = NULL;
    DOPT_FN(dopt_manifold) m = DOPT_FN(dopt_manifold_euclidean)(1);
    DOPT_FN(dopt_nlls_cost_desc) d;
    DOPT_FN(dopt_nlls_options) o;
    dopt_nlls_report rep;
    dopt_errinfo info;
    int vars[2] = {0, 1};
    DOPT_REAL x[2] = {0, 0};
    dopt_status st;
    DOPT_FN(dopt_nlls_problem_create)(NULL, 1, &p);
    DOPT_FN(dopt_nlls_add_variable)(p, &m, NULL);
    DOPT_FN(dopt_nlls_add_variable)(p, &m, NULL);
    memset(&d, 0, sizeof d);
    d.fn = DOPT_FN(ignore_second_fn);
    d.rdim = 1;
    d.nvars = 2;
    d.vars = vars;
    DOPT_FN(dopt_nlls_add_cost)(p, &d, NULL);
    DOPT_FN(dopt_nlls_solver_create)(p, NULL, &s, NULL);
    memset(&o, 0, sizeof o);
    o.method = DOPT_NLLS_GN;
    st = DOPT_FN(dopt_nlls_solve)(s, &o, x, 0, &rep, NULL, &info);
    DOPT_CHECK(st == DOPT_ERR_NOT_POSITIVE_DEFINITE, "status %s", dopt_status_string(st));
    DOPT_CHECK(rep.fail_variable == 1 && info.index == 1, "variable 1 named (%d)", rep.fail_variable);
    DOPT_CHECK(strstr(info.message, "no cost constrains") != NULL, "cause: %s", info.message);
    /* LM still solves for x0 */
    x[0] = x[1] = 0;
    o.method = DOPT_NLLS_LM;
    st = DOPT_FN(dopt_nlls_solve)(s, &o, x, 0, &rep, NULL, NULL);
    DOPT_CHECK(st == DOPT_OK && fabs(x[0] - 1) < 1e-6, "LM: x0 = %g", (double)x[0]);
    DOPT_FN(dopt_nlls_solver_destroy)(s);
    DOPT_FN(dopt_nlls_problem_destroy)(p);
}

/* the sparse supernodal solver through the interface: same answers as the dense one, and the
 * gauge freedom named the same way */
static void DOPT_FN(test_sparse_solver)(void)
{
    DOPT_FN(pg) G;
    int fix, method, i;
    DOPT_FN(pg_make)(&G, 33);
    for (fix = 1; fix >= 0; --fix)
        for (method = 0; method < 3; ++method) {
            DOPT_REAL xd[PG_N * 3], xs[PG_N * 3];
            dopt_nlls_report rd, rs;
            dopt_errinfo info;
            dopt_status sd = DOPT_OK, ss = DOPT_OK;
            int which;
            for (which = 0; which < 2; ++which) {
                DOPT_FN(dopt_nlls_problem) *p = DOPT_FN(pg_problem)(&G, fix);
                DOPT_FN(dopt_nlls_solver) *s = NULL;
                DOPT_FN(dopt_linear_solver) ls;
                DOPT_FN(dopt_nlls_options) o;
                DOPT_REAL *x = which ? xs : xd;
                memcpy(x, G.x0, sizeof xd);
                memset(&o, 0, sizeof o);
                o.method = (dopt_nlls_method)method;
                o.function_tolerance = 1e-12;
                if (which) {
                    DOPT_CHECK(dopt_sparse_linear_solver_d(NULL, NULL, &ls) == DOPT_OK, "sparse solver");
                    DOPT_CHECK(DOPT_FN(dopt_nlls_solver_create)(p, &ls, &s, NULL) == DOPT_OK, "create");
                } else {
                    DOPT_FN(dopt_nlls_solver_create)(p, NULL, &s, NULL);
                }
                memset(&info, 0, sizeof info);
                *(which ? &ss : &sd) = DOPT_FN(dopt_nlls_solve)(s, &o, x, 0, which ? &rs : &rd, NULL, &info);
                if (which && !fix && method != DOPT_NLLS_LM)
                    DOPT_CHECK(strstr(info.message, "gauge") != NULL, "sparse: cause named: %s", info.message);
                DOPT_FN(dopt_nlls_solver_destroy)(s);
                DOPT_FN(dopt_nlls_problem_destroy)(p);
            }
            DOPT_CHECK(sd == ss, "fix %d method %d: same status (%s / %s)", fix, method,
                       dopt_status_string(sd), dopt_status_string(ss));
            if (sd != DOPT_OK) {
                DOPT_CHECK(rs.fail_variable >= 0, "sparse names a variable");
                continue;
            }
            DOPT_CHECK_CLOSE(rs.final_cost, rd.final_cost, 1e-9, "sparse vs dense final cost");
            if (fix)
                for (i = 0; i < PG_N * 3; ++i)
                    DOPT_CHECK(fabs(xs[i] - xd[i]) < 1e-7, "method %d: x[%d] %g vs %g", method, i, xs[i], xd[i]);
        }
}

static void DOPT_FN(test_check_jacobian)(void)
{
    DOPT_FN(curve_pt) q;
    DOPT_FN(dopt_manifold) m = DOPT_FN(dopt_manifold_euclidean)(2), sm = DOPT_FN(se2_manifold)();
    const DOPT_FN(dopt_manifold) *mp[2];
    DOPT_REAL x[2] = {(DOPT_REAL)0.3, (DOPT_REAL)-0.2};
    const DOPT_REAL *vp[2];
    dopt_jacobian_check chk;
    q.t = (DOPT_REAL)1.5;
    q.y = 2;
    mp[0] = &m;
    vp[0] = x;
    DOPT_CHECK(DOPT_FN(dopt_nlls_check_jacobian)(DOPT_FN(curve_fn), &q, 1, 1, mp, vp, 0, NULL, &chk) == DOPT_OK, "check");
    DOPT_CHECK(chk.max_error < 1e-8, "correct Jacobian passes: %g", chk.max_error);
    DOPT_CHECK(DOPT_FN(dopt_nlls_check_jacobian)(DOPT_FN(curve_bad_fn), &q, 1, 1, mp, vp, 0, NULL, &chk) == DOPT_OK, "check");
    DOPT_CHECK(chk.max_error > 0.1 && chk.var == 0 && chk.row == 0 && chk.col == 1,
               "wrong column found: err %g at var %d row %d col %d", chk.max_error, chk.var, chk.row, chk.col);
    { /* numeric Jacobian of the SE2 between cost on the manifold vs an analytic one at identity-ish */
        DOPT_REAL z[3] = {(DOPT_REAL)0.5, (DOPT_REAL)0.1, (DOPT_REAL)0.2};
        DOPT_REAL a[3] = {1, 2, (DOPT_REAL)0.3}, b[3] = {(DOPT_REAL)1.4, (DOPT_REAL)2.3, (DOPT_REAL)0.5};
        DOPT_REAL J[9], scr[3 * 2 + 3 + 3];
        const DOPT_REAL *vv[2];
        const DOPT_FN(dopt_manifold) *mm[2];
        vv[0] = a; vv[1] = b; mm[0] = &sm; mm[1] = &sm;
        DOPT_CHECK(DOPT_FN(dopt_nlls_numeric_jacobian)(DOPT_FN(se2_between_fn), z, 3, 2, mm, vv, 1, 0, J, scr) == DOPT_OK, "numjac");
        /* d Log(E Exp(d)) / d d at d=0 is Jr^{-1}(Log E): close to I for a small error E */
        DOPT_CHECK(fabs(J[8] - 1) < 1e-6 && fabs(J[6]) < 1e-6, "rotation row of d r / d xj = [0 0 1]: %g %g", J[6], J[8]);
        DOPT_CHECK(vv[1] == b, "vars restored");
    }
}

static void DOPT_FN(test_log_lines)(void)
{
    DOPT_FN(curve_pt) pts[NCURVE];
    dopt_rng rng;
    log_capture cap;
    dopt_hooks hooks;
    DOPT_FN(dopt_nlls_problem) *p;
    DOPT_FN(dopt_nlls_solver) *s = NULL;
    DOPT_FN(dopt_manifold) m = DOPT_FN(dopt_manifold_euclidean)(2);
    dopt_nlls_report rep;
    dopt_nlls_timing tm;
    DOPT_FN(dopt_nlls_options) o;
    DOPT_REAL x[2] = {0, 0};
    int i, v = 0;
    dopt_rng_seed(&rng, 41, 0);
    DOPT_FN(curve_data)(pts, NCURVE, &rng, (DOPT_REAL)0.3, (DOPT_REAL)0.1, 0);
    memset(&cap, 0, sizeof cap);
    memset(&hooks, 0, sizeof hooks);
    hooks.log = capture_log;
    hooks.log_user = &cap;
    hooks.log_level = DOPT_LOG_INFO;
    DOPT_FN(dopt_nlls_problem_create)(&hooks, 1, &p);
    DOPT_FN(dopt_nlls_add_variable)(p, &m, NULL);
    for (i = 0; i < NCURVE; ++i) {
        DOPT_FN(dopt_nlls_cost_desc) d;
        memset(&d, 0, sizeof d);
        d.fn = DOPT_FN(curve_fn);
        d.data = pts + i;
        d.rdim = 1;
        d.nvars = 1;
        d.vars = &v;
        DOPT_FN(dopt_nlls_add_cost)(p, &d, NULL);
    }
    DOPT_FN(dopt_nlls_solver_create)(p, NULL, &s, NULL);
    memset(&o, 0, sizeof o);
    o.timing = 1;
    DOPT_CHECK(DOPT_FN(dopt_nlls_solve)(s, &o, x, 0, &rep, &tm, NULL) == DOPT_OK, "solve");
    DOPT_CHECK(cap.header == 1, "one header line (%d)", cap.header);
    DOPT_CHECK(cap.lines == rep.iterations + 2, "one line per iteration plus header and iteration 0: %d lines, %d iterations", cap.lines, rep.iterations);
    DOPT_CHECK(cap.iter_lines == rep.iterations + 1 && cap.bad_order == 0 && cap.last_iter == rep.iterations,
               "iteration lines 0 .. %d in order (%d lines, %d out of order)", rep.iterations, cap.iter_lines, cap.bad_order);
    DOPT_CHECK_CLOSE(cap.last_cost, rep.final_cost, 1e-5, "the last line's cost is the final cost");
    DOPT_CHECK(rep.final_cost < rep.initial_cost && rep.iterations >= 2, "the logged solve did work (%d iterations)", rep.iterations);
    DOPT_CHECK(tm.linearizations >= 1 && tm.factorizations >= rep.iterations - 0, "counts");
    DOPT_CHECK(tm.linearize_s >= 0 && tm.solve_s >= 0 && tm.total_s >= 0, "times");
    DOPT_FN(dopt_nlls_solver_destroy)(s);
    DOPT_FN(dopt_nlls_problem_destroy)(p);
}

static void DOPT_FN(test_bad_input)(void)
{
    DOPT_FN(dopt_nlls_problem) *p = NULL;
    DOPT_FN(dopt_manifold) m = DOPT_FN(dopt_manifold_euclidean)(2);
    DOPT_FN(dopt_nlls_cost_desc) d;
    int vars[2] = {0, 0};
    DOPT_CHECK(DOPT_FN(dopt_nlls_problem_create)(NULL, 0, &p) == DOPT_ERR_INVALID_ARGUMENT, "batch 0");
    DOPT_FN(dopt_nlls_problem_create)(NULL, 1, &p);
    DOPT_FN(dopt_nlls_add_variable)(p, &m, NULL);
    memset(&d, 0, sizeof d);
    d.fn = DOPT_FN(curve_fn);
    d.rdim = 1;
    d.nvars = 2;
    d.vars = vars;
    DOPT_CHECK(DOPT_FN(dopt_nlls_add_cost)(p, &d, NULL) == DOPT_ERR_INVALID_ARGUMENT, "variable listed twice / out of range");
    d.nvars = 1;
    vars[0] = 5;
    DOPT_CHECK(DOPT_FN(dopt_nlls_add_cost)(p, &d, NULL) == DOPT_ERR_INVALID_ARGUMENT, "bad index");
    vars[0] = 0;
    d.weight_kind = DOPT_WEIGHT_SCALAR;
    DOPT_CHECK(DOPT_FN(dopt_nlls_add_cost)(p, &d, NULL) == DOPT_ERR_INVALID_ARGUMENT, "NULL weight");
    DOPT_FN(dopt_nlls_problem_destroy)(p);
}
#endif

/* a batch of curve fits gives exactly what solving each member alone gives */
static void DOPT_FN(test_batch)(void)
{
    enum { B = 5 };
    DOPT_FN(curve_pt) pts[B][NCURVE];
    DOPT_REAL xb[B][2], x1[2];
    dopt_nlls_report reps[B], r1;
    DOPT_FN(dopt_nlls_problem) *p;
    DOPT_FN(dopt_nlls_solver) *s = NULL;
    dopt_rng rng;
    int b;
    dopt_rng_seed(&rng, 51, 0);
    for (b = 0; b < B; ++b) DOPT_FN(curve_data)(pts[b], NCURVE, &rng, (DOPT_REAL)(0.1 * b - 0.2), (DOPT_REAL)0.3, 0);
    p = DOPT_FN(curve_problem)(pts[0], NCURVE, B, sizeof pts[0], DOPT_LOSS_CAUCHY, 0);
    DOPT_FN(dopt_nlls_solver_create)(p, NULL, &s, NULL);
    memset(xb, 0, sizeof xb);
    DOPT_CHECK(DOPT_FN(dopt_nlls_solve)(s, NULL, xb[0], 2, reps, NULL, NULL) == DOPT_OK, "batch solve");
    DOPT_FN(dopt_nlls_solver_destroy)(s);
    DOPT_FN(dopt_nlls_problem_destroy)(p);
    for (b = 0; b < B; ++b) {
        p = DOPT_FN(curve_problem)(pts[b], NCURVE, 1, 0, DOPT_LOSS_CAUCHY, 0);
        DOPT_FN(dopt_nlls_solver_create)(p, NULL, &s, NULL);
        x1[0] = x1[1] = 0;
        DOPT_CHECK(DOPT_FN(dopt_nlls_solve)(s, NULL, x1, 0, &r1, NULL, NULL) == DOPT_OK, "single solve");
        DOPT_CHECK(x1[0] == xb[b][0] && x1[1] == xb[b][1], "element %d identical: %g vs %g", b, (double)x1[0], (double)xb[b][0]);
        DOPT_CHECK(r1.iterations == reps[b].iterations && r1.final_cost == reps[b].final_cost &&
                   r1.stop == reps[b].stop, "element %d report identical", b);
        DOPT_CHECK(DOPT_M(fabs)(xb[b][0] - (DOPT_REAL)(0.1 * b - 0.2)) < 0.05, "element %d fit", b);
        DOPT_FN(dopt_nlls_solver_destroy)(s);
        DOPT_FN(dopt_nlls_problem_destroy)(p);
    }
    /* a warm re-solve reuses the analysis and stops at once */
    p = DOPT_FN(curve_problem)(pts[0], NCURVE, B, sizeof pts[0], DOPT_LOSS_CAUCHY, 0);
    DOPT_FN(dopt_nlls_solver_create)(p, NULL, &s, NULL);
    DOPT_CHECK(DOPT_FN(dopt_nlls_solve)(s, NULL, xb[0], 2, reps, NULL, NULL) == DOPT_OK, "warm solve");
    for (b = 0; b < B; ++b)
        DOPT_CHECK(DOPT_IS_FLOAT ? reps[b].final_cost <= reps[b].initial_cost * (1 + 1e-5) : reps[b].iterations <= 3,
                   "warm start: %d iterations", reps[b].iterations);
    DOPT_FN(dopt_nlls_solver_destroy)(s);
    DOPT_FN(dopt_nlls_problem_destroy)(p);
}

/* ---- LM with a scaled step on a manifold with a projection ------------------------------------ */
/* The variable lives on the unit circle stored as a point of R^2: retract x + d, then project
 * back (normalize).  Costs: r0 = x - c (J = I) and r1 = A x - b (J = A), so H = I + A^T A is
 * constant and only g depends on the point.  LM with fixed damping lambda I and step t = 0.75
 * (Theseus' settings) is then x_{k+1} = normalize(x_k - t (H + lambda I)^{-1} g(x_k)) when the
 * cost drops; the solver linearizes each trial point along with its cost, so this checks that
 * it evaluates the PROJECTED trial point and reuses that linearization after acceptance. */
static void DOPT_FN(circ_retract)(const DOPT_FN(dopt_manifold) *m, const DOPT_REAL *x, const DOPT_REAL *d, DOPT_REAL *y)
{
    (void)m;
    y[0] = x[0] + d[0];
    y[1] = x[1] + d[1];
}
static void DOPT_FN(circ_project)(const DOPT_FN(dopt_manifold) *m, DOPT_REAL *x)
{
    DOPT_REAL n = DOPT_M(sqrt)(x[0] * x[0] + x[1] * x[1]);
    (void)m;
    x[0] /= n;
    x[1] /= n;
}
static dopt_status DOPT_FN(circ_fn)(const void *data, const DOPT_REAL *const *x, DOPT_REAL *r, DOPT_REAL *const *J)
{
    const DOPT_REAL *q = (const DOPT_REAL *)data; /* [A (2x2 row-major), b (2)] */
    r[0] = q[0] * x[0][0] + q[1] * x[0][1] - q[4];
    r[1] = q[2] * x[0][0] + q[3] * x[0][1] - q[5];
    if (J && J[0]) memcpy(J[0], q, 4 * sizeof(DOPT_REAL));
    return DOPT_OK;
}
static void DOPT_FN(test_lm_scaled_projected)(void)
{
    DOPT_REAL q0[6] = {1, 0, 0, 1, (DOPT_REAL)0.2, (DOPT_REAL)-0.9};      /* r0 = x - c          */
    DOPT_REAL q1[6] = {2, (DOPT_REAL)0.5, (DOPT_REAL)-0.3, 1, 1, (DOPT_REAL)0.4};
    DOPT_REAL x[2], xr[2], xt[2], g[2], F, Ft, H[4], H0[4], lam, lambda = (DOPT_REAL)0.05, t = (DOPT_REAL)0.75;
    DOPT_FN(dopt_manifold) m;
    DOPT_FN(dopt_nlls_problem) *p;
    DOPT_FN(dopt_nlls_solver) *s = NULL;
    DOPT_FN(dopt_nlls_options) o = DOPT_FN(dopt_nlls_default_options)();
    DOPT_FN(dopt_nlls_cost_desc) d;
    dopt_nlls_report rep;
    int v = 0, k, it;
    double tol = DOPT_IS_FLOAT ? 2e-5 : 1e-12;
    memset(&m, 0, sizeof m);
    m.name = "circle";
    m.dim = 2;
    m.tangent_dim = 2;
    m.retract = DOPT_FN(circ_retract);
    m.project = DOPT_FN(circ_project);
    DOPT_FN(dopt_nlls_problem_create)(NULL, 1, &p);
    DOPT_FN(dopt_nlls_add_variable)(p, &m, &v);
    memset(&d, 0, sizeof d);
    d.fn = DOPT_FN(circ_fn);
    d.rdim = 2;
    d.nvars = 1;
    d.vars = &v;
    d.data = q0;
    DOPT_FN(dopt_nlls_add_cost)(p, &d, NULL);
    d.data = q1;
    DOPT_FN(dopt_nlls_add_cost)(p, &d, NULL);
    DOPT_CHECK(DOPT_FN(dopt_nlls_solver_create)(p, NULL, &s, NULL) == DOPT_OK, "solver");
    /* H = I + A^T A, 2 x 2 (lambda added per iteration) */
    H0[0] = 1 + q1[0] * q1[0] + q1[2] * q1[2];
    H[1] = H[2] = q1[0] * q1[1] + q1[2] * q1[3];
    H0[3] = 1 + q1[1] * q1[1] + q1[3] * q1[3];
    o.method = DOPT_NLLS_LM;
    o.step_size = t;
    o.lm_damping = DOPT_LM_DAMP_IDENTITY;
    o.lm_update = DOPT_LM_UPDATE_FACTOR;
    o.lm_factor = (DOPT_REAL)1.5;
    o.initial_lambda = lambda;
    o.min_relative_decrease = (DOPT_REAL)1e-30;
    o.function_tolerance = -1;
    o.gradient_tolerance = -1;
    o.step_tolerance = -1;
    for (it = 1; it <= 5; ++it) {
        x[0] = (DOPT_REAL)0.6; x[1] = (DOPT_REAL)0.8;
        xr[0] = x[0]; xr[1] = x[1];
        lam = lambda;
        for (k = 0; k < it; ++k) { /* the reference iteration (lambda /= f on acceptance) */
            DOPT_REAL det, d0, d1;
            H[0] = H0[0] + lam;
            H[3] = H0[3] + lam;
            det = H[0] * H[3] - H[1] * H[2];
            DOPT_FN(dopt_nlls_evaluate)(s, 0, xr, &F, g);
            d0 = -(H[3] * g[0] - H[1] * g[1]) / det;
            d1 = -(-H[2] * g[0] + H[0] * g[1]) / det;
            xt[0] = xr[0] + t * d0;
            xt[1] = xr[1] + t * d1;
            DOPT_FN(circ_project)(&m, xt);
            DOPT_FN(dopt_nlls_evaluate)(s, 0, xt, &Ft, NULL);
            if (Ft < F) { xr[0] = xt[0]; xr[1] = xt[1]; lam /= o.lm_factor; }
            else lam *= o.lm_factor;
        }
        o.max_iterations = it;
        DOPT_CHECK(DOPT_FN(dopt_nlls_solve)(s, &o, x, 0, &rep, NULL, NULL) == DOPT_OK, "solve");
        DOPT_CHECK(rep.iterations == it, "%d iterations run: %d", it, rep.iterations);
        DOPT_CHECK(fabs((double)(x[0] - xr[0])) < tol && fabs((double)(x[1] - xr[1])) < tol,
                   "%d iterations: (%.15g, %.15g) vs reference (%.15g, %.15g)", it, (double)x[0], (double)x[1],
                   (double)xr[0], (double)xr[1]);
        DOPT_CHECK(fabs((double)(x[0] * x[0] + x[1] * x[1]) - 1) < tol, "on the circle");
    }
    DOPT_CHECK(rep.accepted >= 3, "steps accepted: %d", rep.accepted);
    DOPT_FN(dopt_nlls_solver_destroy)(s);
    DOPT_FN(dopt_nlls_problem_destroy)(p);
}

/* ---- 6-dimensional blocks with dense square-root information weights ------------------------ */
/* Three variables in R^6, costs r = W (A [x_a; x_b] - b) with rdim 6, A 6 x 12 and W a dense
 * 6 x 6 matrix: the pose-graph sizes, whose weighting W J and products J_a^T J_b take the
 * 6-wide register paths, several costs meeting in each block (the first one clears it).  One
 * Gauss-Newton step must equal the dense normal-equations solution, formed here in double. */
typedef struct DOPT_FN(lin6) { DOPT_REAL A[72], b[6]; } DOPT_FN(lin6);
static dopt_status DOPT_FN(lin6_fn)(const void *data, const DOPT_REAL *const *x, DOPT_REAL *r, DOPT_REAL *const *J)
{
    const DOPT_FN(lin6) *c = (const DOPT_FN(lin6) *)data;
    int i, j;
    for (i = 0; i < 6; ++i) {
        DOPT_REAL acc = -c->b[i];
        for (j = 0; j < 6; ++j) acc += c->A[12 * i + j] * x[0][j] + c->A[12 * i + 6 + j] * x[1][j];
        r[i] = acc;
        for (j = 0; j < 6 && J; ++j) {
            if (J[0]) J[0][6 * i + j] = c->A[12 * i + j];
            if (J[1]) J[1][6 * i + j] = c->A[12 * i + 6 + j];
        }
    }
    return DOPT_OK;
}
static void DOPT_FN(test_sqrt_info6)(void)
{
    enum { NC = 5, NV = 3, N = 18 };
    static const int pairs[NC][2] = {{0, 1}, {1, 2}, {2, 0}, {1, 0}, {0, 2}};
    DOPT_FN(lin6) cost[NC];
    DOPT_REAL W[NC][36], x[N];
    double M[N][N + 1], WA[6][12], Wb[6];
    DOPT_FN(dopt_manifold) m = DOPT_FN(dopt_manifold_euclidean)(6);
    DOPT_FN(dopt_nlls_problem) *p;
    DOPT_FN(dopt_nlls_solver) *s = NULL;
    DOPT_FN(dopt_nlls_options) o;
    dopt_rng rng;
    int c, i, j, k, l, rep;
    dopt_rng_seed(&rng, 66, 0);
    memset(M, 0, sizeof M);
    for (c = 0; c < NC; ++c) {
        DOPT_FN(dopt_rng_fill_normal)(&rng, 72, cost[c].A, 0, 1);
        DOPT_FN(dopt_rng_fill_normal)(&rng, 6, cost[c].b, 0, 1);
        DOPT_FN(dopt_rng_fill_normal)(&rng, 36, W[c], 0, (DOPT_REAL)0.3);
        for (i = 0; i < 6; ++i) W[c][7 * i] += 1 + (DOPT_REAL)(0.1 * c);
        for (i = 0; i < 6; ++i) { /* W A and W b in double */
            Wb[i] = 0;
            for (j = 0; j < 12; ++j) WA[i][j] = 0;
            for (l = 0; l < 6; ++l) {
                Wb[i] += (double)W[c][6 * i + l] * (double)cost[c].b[l];
                for (j = 0; j < 12; ++j) WA[i][j] += (double)W[c][6 * i + l] * (double)cost[c].A[12 * l + j];
            }
        }
        for (j = 0; j < 12; ++j) { /* M += (W A)^T (W A) scattered; rhs += (W A)^T W b */
            int gj = 6 * pairs[c][j / 6] + j % 6;
            for (k = 0; k < 12; ++k) {
                int gk = 6 * pairs[c][k / 6] + k % 6;
                for (i = 0; i < 6; ++i) M[gj][gk] += WA[i][j] * WA[i][k];
            }
            for (i = 0; i < 6; ++i) M[gj][N] += WA[i][j] * Wb[i];
        }
    }
    for (k = 0; k < N; ++k) /* Gauss-Jordan on the SPD system */
        for (i = 0; i < N; ++i) {
            double f;
            if (i == k) continue;
            f = M[i][k] / M[k][k];
            for (j = k; j <= N; ++j) M[i][j] -= f * M[k][j];
        }
    DOPT_FN(dopt_nlls_problem_create)(NULL, 1, &p);
    for (i = 0; i < NV; ++i) DOPT_FN(dopt_nlls_add_variable)(p, &m, NULL);
    for (c = 0; c < NC; ++c) {
        DOPT_FN(dopt_nlls_cost_desc) d;
        memset(&d, 0, sizeof d);
        d.fn = DOPT_FN(lin6_fn);
        d.data = &cost[c];
        d.rdim = 6;
        d.nvars = 2;
        d.vars = pairs[c];
        d.weight_kind = DOPT_WEIGHT_SQRT_INFO;
        d.weight = W[c];
        DOPT_FN(dopt_nlls_add_cost)(p, &d, NULL);
    }
    DOPT_CHECK(DOPT_FN(dopt_nlls_solver_create)(p, NULL, &s, NULL) == DOPT_OK, "create");
    memset(&o, 0, sizeof o);
    o.method = DOPT_NLLS_GN;
    o.max_iterations = 1;
    for (rep = 0; rep < 2; ++rep) { /* twice: the second linearization starts from stale blocks */
        for (i = 0; i < N; ++i) x[i] = (DOPT_REAL)(0.1 * i - 0.5);
        DOPT_CHECK(DOPT_FN(dopt_nlls_solve)(s, &o, x, 0, NULL, NULL, NULL) == DOPT_OK, "solve");
        for (i = 0; i < N; ++i)
            DOPT_CHECK_CLOSE(x[i], M[i][N] / M[i][i], DOPT_TEST_TOL(1e-9, 2e-3), "6-d blocks vs normal equations");
    }
    DOPT_FN(dopt_nlls_solver_destroy)(s);
    DOPT_FN(dopt_nlls_problem_destroy)(p);
}

/* ---- the Gauss-Newton model of weighted robust costs ---------------------------------------- */
/* One Gauss-Newton step on the linear costs of lin_setup with a Cauchy loss, for every weight
 * kind and both robust modes, against the model formed here in double from its definition:
 *   g = sum rho' J~^T r~,   H = sum rho' J~^T (I - k r~ r~^T) J~,   J~ = W A, r~ = W (A x - b),
 * k = 0 (IRLS) or (1 - D) / s with D = max(0.05, 1 + 2 s rho'' / rho') (TRIGGS).  The layer
 * folds row weights and sqrt(rho') into J in one pass (IRLS) or weighs J first (TRIGGS, and
 * square-root information); this pins every branch. */
static void DOPT_FN(test_robust_step)(void)
{
    DOPT_FN(lin_setup) S;
    dopt_rng rng;
    int kind, mode, c, i, j, l, q, fc;
    dopt_rng_seed(&rng, 77, 0);
    DOPT_FN(lin_make)(&S, &rng);
    for (kind = DOPT_WEIGHT_NONE; kind <= DOPT_WEIGHT_SQRT_INFO; ++kind)
        for (mode = 0; mode < 2; ++mode) {
            DOPT_FN(dopt_nlls_problem) *p;
            DOPT_FN(dopt_nlls_solver) *s = NULL;
            DOPT_FN(dopt_nlls_options) o;
            DOPT_FN(dopt_manifold) m = DOPT_FN(dopt_manifold_euclidean)(2);
            DOPT_REAL x[6];
            double x0[6], N[36], rhs[6];
            for (c = 0; c < NLIN; ++c) { /* weights of this kind */
                int rd = S.cost[c].rdim;
                for (i = 0; i < 16; ++i) S.w[c][i] = 0;
                for (i = 0; i < rd; ++i)
                    for (j = 0; j < rd; ++j)
                        if (kind == DOPT_WEIGHT_SQRT_INFO)
                            S.w[c][i * rd + j] = (DOPT_REAL)(j < i ? 0.1 * (i - j) : (i == j ? 0.8 + 0.2 * i : -0.15 * (j + c)));
                        else if (j == 0)
                            S.w[c][i] = (DOPT_REAL)(0.6 + 0.2 * i + 0.1 * c);
            }
            DOPT_FN(dopt_nlls_problem_create)(NULL, 1, &p);
            for (i = 0; i < 3; ++i) DOPT_FN(dopt_nlls_add_variable)(p, &m, NULL);
            for (c = 0; c < NLIN; ++c) {
                DOPT_FN(dopt_nlls_cost_desc) d;
                memset(&d, 0, sizeof d);
                d.fn = DOPT_FN(lin_fn);
                d.data = &S.cost[c];
                d.rdim = S.cost[c].rdim;
                d.nvars = 2;
                d.vars = S.pairs[c];
                d.weight_kind = (dopt_weight_kind)kind;
                d.weight = S.w[c];
                d.loss = DOPT_LOSS_CAUCHY;
                d.loss_scale = (DOPT_REAL)0.8;
                DOPT_FN(dopt_nlls_add_cost)(p, &d, NULL);
            }
            for (i = 0; i < 6; ++i) x0[i] = 0.35 * i - 0.6;
            memset(N, 0, sizeof N);
            memset(rhs, 0, sizeof rhs);
            for (c = 0; c < NLIN; ++c) { /* the model in double */
                const LIN *L = &S.cost[c];
                int rd = L->rdim, col[4];
                double WA[4][4], rt[4], raw[4], sq = 0, rho1, rho2, a2 = 0.64, kap = 0;
                col[0] = 2 * S.pairs[c][0]; col[1] = col[0] + 1;
                col[2] = 2 * S.pairs[c][1]; col[3] = col[2] + 1;
                for (i = 0; i < rd; ++i) {
                    raw[i] = -(double)L->b[i];
                    for (j = 0; j < 4; ++j) raw[i] += (double)L->A[i * 4 + j] * x0[col[j]];
                }
                for (i = 0; i < rd; ++i) {
                    rt[i] = 0;
                    for (j = 0; j < 4; ++j) WA[i][j] = 0;
                    for (l = 0; l < rd; ++l) {
                        double wil = kind == DOPT_WEIGHT_SQRT_INFO ? (double)S.w[c][i * rd + l]
                                   : kind == DOPT_WEIGHT_DIAGONAL ? (i == l ? (double)S.w[c][i] : 0)
                                   : kind == DOPT_WEIGHT_SCALAR ? (i == l ? (double)S.w[c][0] : 0)
                                   : (i == l ? 1.0 : 0.0);
                        rt[i] += wil * raw[l];
                        for (j = 0; j < 4; ++j) WA[i][j] += wil * (double)L->A[l * 4 + j];
                    }
                    sq += rt[i] * rt[i];
                }
                rho1 = 1 / (1 + sq / a2); /* Cauchy: rho' = 1 / (1 + s/a^2), rho'' = -rho'^2 / a^2 */
                rho2 = -rho1 * rho1 / a2;
                if (mode == 1 && sq > 0) {
                    double D = 1 + 2 * sq * rho2 / rho1;
                    if (D < 0.05) D = 0.05;
                    kap = (1 - D) / sq;
                }
                for (j = 0; j < 4; ++j) {
                    double jr = 0;
                    for (i = 0; i < rd; ++i) jr += WA[i][j] * rt[i];
                    rhs[col[j]] -= rho1 * jr;
                    for (q = 0; q < 4; ++q) {
                        double acc = 0, jq = 0;
                        for (i = 0; i < rd; ++i) {
                            acc += WA[i][j] * WA[i][q];
                            jq += WA[i][q] * rt[i];
                        }
                        N[col[j] + 6 * col[q]] += rho1 * (acc - kap * jr * jq);
                    }
                }
            }
            dopt_spd_solve_d(NULL, 6, 1, N, 6, rhs, 6, &fc);
            DOPT_CHECK(DOPT_FN(dopt_nlls_solver_create)(p, NULL, &s, NULL) == DOPT_OK, "create");
            memset(&o, 0, sizeof o);
            o.method = DOPT_NLLS_GN;
            o.max_iterations = 1;
            o.robust_mode = mode ? DOPT_ROBUST_TRIGGS : DOPT_ROBUST_IRLS;
            o.gradient_tolerance = -1;
            o.step_tolerance = -1;
            for (i = 0; i < 6; ++i) x[i] = (DOPT_REAL)x0[i];
            DOPT_CHECK(DOPT_FN(dopt_nlls_solve)(s, &o, x, 0, NULL, NULL, NULL) == DOPT_OK, "solve");
            for (i = 0; i < 6; ++i)
                DOPT_CHECK_CLOSE(x[i], x0[i] + rhs[i], DOPT_TEST_TOL(1e-9, 2e-3),
                                 "weight kind / robust mode: Gauss-Newton step vs the model");
            DOPT_FN(dopt_nlls_solver_destroy)(s);
            DOPT_FN(dopt_nlls_problem_destroy)(p);
        }
}

/* ---- Levenberg-Marquardt in lockstep (the lane batch) ------------------------------------------ */
/* tests/lane_solver.h's lane solver wraps the dense one, so lockstep must give BIT-IDENTICAL
 * results to sequential_batch = 1 and to solving each element alone.  A curve fit
 * y = exp(m t + c) whose elements differ: far starts (rejected steps), an element whose t are all
 * 1 (m and c enter only as m + c: with a tiny initial lambda its damped system fails to factor
 * as NOT_POSITIVE_DEFINITE until the damping grows), an element whose cost returns an error once
 * m passes a limit (it fails mid-run), and one with a NaN datum (it fails at once). */
#include "tests/lane_solver.h"

typedef struct DOPT_FN(lk_pt) { DOPT_REAL t, y, limit; } DOPT_FN(lk_pt);
#define LK_NPT 12
#define LK_MAXB 9

static dopt_status DOPT_FN(lk_fn)(const void *data, const DOPT_REAL *const *x, DOPT_REAL *r,
                                  DOPT_REAL *const *J)
{
    const DOPT_FN(lk_pt) *q = (const DOPT_FN(lk_pt) *)data;
    DOPT_REAL e;
    if (x[0][0] > q->limit) return DOPT_ERR_UNSUPPORTED;
    e = DOPT_M(exp)(x[0][0] * q->t + x[0][1]);
    r[0] = q->y - e;
    if (J && J[0]) {
        J[0][0] = -q->t * e;
        J[0][1] = -e;
    }
    return DOPT_OK;
}

/* element b's data and start */
static void DOPT_FN(lk_make)(int b, DOPT_FN(lk_pt) *pts, DOPT_REAL *x0)
{
    dopt_rng rng;
    DOPT_REAL m = (DOPT_REAL)(0.25 + 0.08 * b * (b % 2 ? -1 : 1)), c = (DOPT_REAL)(0.3 - 0.05 * b);
    int i;
    if (b == 3) m = (DOPT_REAL)0.6;
    dopt_rng_seed(&rng, 700 + (unsigned)b, 0);
    for (i = 0; i < LK_NPT; ++i) {
        pts[i].t = b == 1 ? 1 : (DOPT_REAL)i / LK_NPT * 3;
        pts[i].y = DOPT_M(exp)(m * pts[i].t + c) + (DOPT_REAL)(0.05 * dopt_rng_normal_d(&rng));
        pts[i].limit = b == 3 ? m / 2 : (DOPT_REAL)1e30;
    }
    if (b == 5) pts[4].y = (DOPT_REAL)NAN;
    x0[0] = b % 3 == 2 ? (DOPT_REAL)1.5 : 0;
    x0[1] = b % 3 == 2 ? (DOPT_REAL)-1 : 0;
}

static DOPT_FN(dopt_nlls_problem) *DOPT_FN(lk_problem)(DOPT_FN(lk_pt) (*pts)[LK_NPT], int batch)
{
    DOPT_FN(dopt_nlls_problem) *p;
    DOPT_FN(dopt_manifold) m = DOPT_FN(dopt_manifold_euclidean)(2);
    int i, v = 0;
    if (DOPT_FN(dopt_nlls_problem_create)(NULL, batch, &p) != DOPT_OK) return NULL;
    DOPT_FN(dopt_nlls_add_variable)(p, &m, NULL);
    for (i = 0; i < LK_NPT; ++i) {
        DOPT_FN(dopt_nlls_cost_desc) d;
        memset(&d, 0, sizeof d);
        d.fn = DOPT_FN(lk_fn);
        d.data = &pts[0][i];
        d.data_stride = sizeof pts[0];
        d.rdim = 1;
        d.nvars = 1;
        d.vars = &v;
        d.loss = DOPT_LOSS_CAUCHY;
        d.loss_scale = (DOPT_REAL)0.5;
        DOPT_FN(dopt_nlls_add_cost)(p, &d, NULL);
    }
    return p;
}

/* reports bit for bit */
static int DOPT_FN(lk_same_report)(const dopt_nlls_report *a, const dopt_nlls_report *b)
{
    return a->status == b->status && a->stop == b->stop && a->iterations == b->iterations &&
           a->accepted == b->accepted && a->fail_variable == b->fail_variable &&
           memcmp(&a->initial_cost, &b->initial_cost, sizeof(double)) == 0 &&
           memcmp(&a->final_cost, &b->final_cost, sizeof(double)) == 0 &&
           memcmp(&a->gradient_norm, &b->gradient_norm, sizeof(double)) == 0;
}

/* one batch size B and one option set: lockstep = sequential = alone */
static void DOPT_FN(lk_run)(int B, const DOPT_FN(dopt_nlls_options) *opt, const char *what)
{
    static DOPT_FN(lk_pt) pts[LK_MAXB][LK_NPT];
    DOPT_REAL x0[LK_MAXB][2], xl[LK_MAXB][2], xs[LK_MAXB][2], x1[2];
    dopt_nlls_report rl[LK_MAXB], rs[LK_MAXB], r1;
    dopt_nlls_timing tl, ts;
    dopt_errinfo il, is;
    dopt_status stl, sts, expect = B > 3 ? DOPT_ERR_UNSUPPORTED : DOPT_OK;
    DOPT_FN(dopt_nlls_options) o = *opt;
    DOPT_FN(dopt_nlls_problem) *p;
    DOPT_FN(dopt_nlls_solver) *s = NULL;
    DOPT_FN(dopt_linear_solver) ls;
    DOPT_FN(lane_ls) *w = NULL;
    long calls;
    int b, fail_reserve;
    for (b = 0; b < B; ++b) DOPT_FN(lk_make)(b, pts[b], x0[b]);
    p = DOPT_FN(lk_problem)(pts, B);
    DOPT_CHECK(p && DOPT_FN(lane_solver)(0, &ls, &w) == DOPT_OK, "%s: setup", what);
    DOPT_CHECK(DOPT_FN(dopt_nlls_solver_create)(p, &ls, &s, NULL) == DOPT_OK, "%s: create", what);
    if (!s) return;
    /* lockstep */
    memcpy(xl, x0, sizeof x0);
    memset(&il, 0, sizeof il);
    o.sequential_batch = 0;
    stl = DOPT_FN(dopt_nlls_solve)(s, &o, xl[0], 2, rl, &tl, &il);
    calls = w->batch_calls;
    DOPT_CHECK(calls > 0 && w->solve_calls > 0, "%s: B = %d: factor_batch used (%ld calls)", what, B, calls);
    DOPT_CHECK(w->max_count == (B < LANE_W ? B : LANE_W), "%s: B = %d: full groups (%d)", what, B, w->max_count);
    DOPT_CHECK(w->lanes_failed > 0, "%s: B = %d: a lane failed to factor first", what, B);
    DOPT_CHECK(stl == expect, "%s: B = %d: lockstep status %s", what, B, dopt_status_string(stl));
    /* sequential, same solver */
    memcpy(xs, x0, sizeof x0);
    memset(&is, 0, sizeof is);
    o.sequential_batch = 1;
    sts = DOPT_FN(dopt_nlls_solve)(s, &o, xs[0], 2, rs, &ts, &is);
    DOPT_CHECK(w->batch_calls == calls, "%s: sequential_batch: no factor_batch", what);
    DOPT_CHECK(sts == stl, "%s: B = %d: status %s vs %s", what, B, dopt_status_string(sts), dopt_status_string(stl));
    DOPT_CHECK(memcmp(xl, xs, (size_t)B * sizeof xl[0]) == 0, "%s: B = %d: x identical to sequential", what, B);
    for (b = 0; b < B; ++b)
        DOPT_CHECK(DOPT_FN(lk_same_report)(rl + b, rs + b), "%s: B = %d: element %d report (it %d/%d acc %d/%d stop %d/%d)",
                   what, B, b, rl[b].iterations, rs[b].iterations, rl[b].accepted, rs[b].accepted,
                   (int)rl[b].stop, (int)rs[b].stop);
    DOPT_CHECK(tl.linearizations == ts.linearizations && tl.factorizations == ts.factorizations,
               "%s: B = %d: counters %ld/%ld, %ld/%ld", what, B, tl.linearizations, ts.linearizations,
               tl.factorizations, ts.factorizations);
    if (expect != DOPT_OK) {
        DOPT_CHECK(il.status == is.status && il.index == is.index && strcmp(il.message, is.message) == 0,
                   "%s: errinfo %ld \"%s\" vs %ld \"%s\"", what, il.index, il.message, is.index, is.message);
        /* element 5 fails first in time (its first evaluation), element 3 first in element order */
        DOPT_CHECK(il.index == 3, "%s: the first failing element in element order (3), not %ld", what, il.index);
        DOPT_CHECK(rl[3].stop == DOPT_STOP_FAILED && rl[3].iterations >= 1, "%s: element 3 fails in an iteration (%d)", what,
                   rl[3].iterations);
        if (B > 5) DOPT_CHECK(rl[5].status == DOPT_ERR_NON_FINITE && rl[5].iterations == 0, "%s: element 5 fails at once", what);
    }
    DOPT_FN(dopt_nlls_solver_destroy)(s);
    /* each element alone (dense solver) */
    for (b = 0; b < B; ++b) {
        DOPT_FN(dopt_nlls_problem) *p1 = DOPT_FN(lk_problem)(pts + b, 1);
        DOPT_FN(dopt_nlls_solver) *s1 = NULL;
        DOPT_FN(dopt_nlls_solver_create)(p1, NULL, &s1, NULL);
        memcpy(x1, x0[b], sizeof x1);
        DOPT_FN(dopt_nlls_solve)(s1, &o, x1, 0, &r1, NULL, NULL);
        DOPT_CHECK(memcmp(x1, xl[b], sizeof x1) == 0, "%s: B = %d: element %d alone: x %.9g vs %.9g", what, B, b,
                   (double)x1[0], (double)xl[b][0]);
        DOPT_CHECK(DOPT_FN(lk_same_report)(&r1, rl + b), "%s: B = %d: element %d alone: report", what, B, b);
        DOPT_FN(dopt_nlls_solver_destroy)(s1);
        DOPT_FN(dopt_nlls_problem_destroy)(p1);
    }
    /* a solver whose reserve_batch fails stays sequential, same results */
    for (fail_reserve = 1; fail_reserve < 2; ++fail_reserve) {
        DOPT_CHECK(DOPT_FN(lane_solver)(fail_reserve, &ls, &w) == DOPT_OK, "lane solver");
        DOPT_CHECK(DOPT_FN(dopt_nlls_solver_create)(p, &ls, &s, NULL) == DOPT_OK, "%s: create", what);
        memcpy(xs, x0, sizeof x0);
        o.sequential_batch = 0;
        DOPT_CHECK(DOPT_FN(dopt_nlls_solve)(s, &o, xs[0], 2, rs, NULL, NULL) == stl, "%s: no lanes: status", what);
        DOPT_CHECK(w->batch_calls == 0, "%s: no lanes: sequential", what);
        DOPT_CHECK(memcmp(xl, xs, (size_t)B * sizeof xl[0]) == 0, "%s: no lanes: x identical", what);
        DOPT_FN(dopt_nlls_solver_destroy)(s);
    }
    DOPT_FN(dopt_nlls_problem_destroy)(p);
}

static void DOPT_FN(test_lockstep_curve)(void)
{
    DOPT_FN(dopt_nlls_options) o;
    int v, B;
    for (v = 0; v < 3; ++v) {
        const char *what = v == 0 ? "nielsen" : v == 1 ? "factor, identity, step 0.75" : "max_iterations 5";
        memset(&o, 0, sizeof o);
        o.initial_lambda = (DOPT_REAL)(DOPT_IS_FLOAT ? 1e-9 : 1e-14);
        if (v == 1) {
            o.lm_update = DOPT_LM_UPDATE_FACTOR;
            o.lm_damping = DOPT_LM_DAMP_IDENTITY;
            o.step_size = (DOPT_REAL)0.75;
            o.initial_lambda = (DOPT_REAL)(DOPT_IS_FLOAT ? 1e-8 : 1e-14);
        }
        if (v == 2) o.max_iterations = 5;
        for (B = 2; B <= LK_MAXB; B += B == 2 ? 5 : 2) DOPT_FN(lk_run)(B, &o, what); /* 2, 7, 9 */
    }
}

/* small SE(2) pose graphs (the loop of test_pose_graph_se2, a different seed per element, first
 * pose held), batch of 7 and 9: lockstep = sequential = alone, bit for bit */
/* the SE(2) graphs G[0..B-1] (one structure, pose 0 fixed) as one batch problem */
static DOPT_FN(dopt_nlls_problem) *DOPT_FN(lk_pg_problem)(DOPT_FN(pg) *G, int B)
{
    DOPT_FN(dopt_manifold) m = DOPT_FN(se2_manifold)();
    DOPT_FN(dopt_nlls_problem) *p = NULL;
    int i, e;
    DOPT_FN(dopt_nlls_problem_create)(NULL, B, &p);
    for (i = 0; i < PG_N; ++i) DOPT_FN(dopt_nlls_add_variable)(p, &m, NULL);
    DOPT_FN(dopt_nlls_set_constant)(p, 0, 1);
    for (e = 0; e < PG_E; ++e) {
        DOPT_FN(dopt_nlls_cost_desc) d;
        memset(&d, 0, sizeof d);
        d.fn = DOPT_FN(se2_between_fn);
        d.data = G[0].z[e];
        d.data_stride = sizeof G[0];
        d.rdim = 3;
        d.nvars = 2;
        d.vars = G[0].ij[e];
        d.weight_kind = DOPT_WEIGHT_DIAGONAL;
        d.weight = G[0].w[e];
        d.weight_stride = (ptrdiff_t)(sizeof G[0] / sizeof(DOPT_REAL));
        d.numeric_diff = 1;
        DOPT_FN(dopt_nlls_add_cost)(p, &d, NULL);
    }
    return p;
}

static void DOPT_FN(test_lockstep_pose_graph)(void)
{
    static DOPT_FN(pg) G[LK_MAXB];
    int B, b;
    for (b = 0; b < LK_MAXB; ++b) DOPT_FN(pg_make)(&G[b], 90 + (unsigned)b);
    for (B = 7; B <= 9; B += 2) {
        DOPT_FN(dopt_nlls_problem) *p;
        DOPT_FN(dopt_nlls_solver) *s = NULL;
        DOPT_FN(dopt_linear_solver) ls;
        DOPT_FN(lane_ls) *w = NULL;
        DOPT_FN(dopt_nlls_options) o;
        DOPT_REAL xl[LK_MAXB][PG_N * 3], xs[LK_MAXB][PG_N * 3], x1[PG_N * 3];
        dopt_nlls_report rl[LK_MAXB], rs[LK_MAXB], r1;
        p = DOPT_FN(lk_pg_problem)(G, B);
        DOPT_FN(lane_solver)(0, &ls, &w);
        DOPT_CHECK(DOPT_FN(dopt_nlls_solver_create)(p, &ls, &s, NULL) == DOPT_OK, "create");
        memset(&o, 0, sizeof o);
        o.function_tolerance = (DOPT_REAL)(DOPT_IS_FLOAT ? 1e-5 : 1e-10);
        o.initial_lambda = (DOPT_REAL)1e-6;
        for (b = 0; b < B; ++b) memcpy(xl[b], G[b].x0, sizeof xl[b]);
        memcpy(xs, xl, sizeof xl);
        DOPT_CHECK(DOPT_FN(dopt_nlls_solve)(s, &o, xl[0], PG_N * 3, rl, NULL, NULL) == DOPT_OK, "lockstep");
        DOPT_CHECK(w->batch_calls > 0, "B = %d: factor_batch used", B);
        o.sequential_batch = 1;
        DOPT_CHECK(DOPT_FN(dopt_nlls_solve)(s, &o, xs[0], PG_N * 3, rs, NULL, NULL) == DOPT_OK, "sequential");
        DOPT_CHECK(memcmp(xl, xs, (size_t)B * sizeof xl[0]) == 0, "B = %d: x identical", B);
        for (b = 0; b < B; ++b) {
            DOPT_FN(dopt_nlls_problem) *p1 = DOPT_FN(pg_problem)(&G[b], 1);
            DOPT_FN(dopt_nlls_solver) *s1 = NULL;
            DOPT_CHECK(DOPT_FN(lk_same_report)(rl + b, rs + b), "B = %d: element %d report", B, b);
            DOPT_FN(dopt_nlls_solver_create)(p1, NULL, &s1, NULL);
            memcpy(x1, G[b].x0, sizeof x1);
            DOPT_FN(dopt_nlls_solve)(s1, &o, x1, 0, &r1, NULL, NULL);
            DOPT_CHECK(memcmp(x1, xl[b], sizeof x1) == 0 && DOPT_FN(lk_same_report)(&r1, rl + b),
                       "B = %d: element %d alone identical (it %d vs %d)", B, b, r1.iterations, rl[b].iterations);
            DOPT_CHECK(rl[b].stop != DOPT_STOP_FAILED && rl[b].final_cost < rl[b].initial_cost,
                       "B = %d: element %d converges", B, b);
            DOPT_FN(dopt_nlls_solver_destroy)(s1);
            DOPT_FN(dopt_nlls_problem_destroy)(p1);
        }
        DOPT_FN(dopt_nlls_solver_destroy)(s);
        DOPT_FN(dopt_nlls_problem_destroy)(p);
    }
}

/* The sparse solver's own lane batch (dopt_sparse.h: W = 8 doubles / 16 floats with AVX-512,
 * else 4) under lockstep LM: B = 19 SE(2) graphs (full groups and a partial last one) agree with
 * sequential_batch = 1 to rounding (the lane factor sums in another order), with the same
 * iterations and accepted steps; a counting wrapper shows factor_batch really ran. */
typedef struct DOPT_FN(lk_count) {
    DOPT_FN(dopt_linear_solver) in;
    long batch_calls;
} DOPT_FN(lk_count);
static dopt_status DOPT_FN(lk_c_analyze)(void *self, const dopt_block_pattern *pat, dopt_errinfo *info)
{
    DOPT_FN(lk_count) *c = (DOPT_FN(lk_count) *)self;
    return c->in.analyze(c->in.self, pat, info);
}
static dopt_status DOPT_FN(lk_c_factor)(void *self, const DOPT_REAL *v, const DOPT_REAL *d, int *fc)
{
    DOPT_FN(lk_count) *c = (DOPT_FN(lk_count) *)self;
    return c->in.factor(c->in.self, v, d, fc);
}
static dopt_status DOPT_FN(lk_c_solve)(void *self, DOPT_REAL *rhs)
{
    DOPT_FN(lk_count) *c = (DOPT_FN(lk_count) *)self;
    return c->in.solve(c->in.self, rhs);
}
static void DOPT_FN(lk_c_destroy)(void *self)
{
    DOPT_FN(lk_count) *c = (DOPT_FN(lk_count) *)self;
    c->in.destroy(c->in.self);
    free(c);
}
static dopt_status DOPT_FN(lk_c_reserve_batch)(void *self)
{
    DOPT_FN(lk_count) *c = (DOPT_FN(lk_count) *)self;
    return c->in.reserve_batch(c->in.self);
}
static dopt_status DOPT_FN(lk_c_factor_batch)(void *self, int count, const DOPT_REAL *const *v,
                                             const DOPT_REAL *const *d, dopt_status *st, int *fc)
{
    DOPT_FN(lk_count) *c = (DOPT_FN(lk_count) *)self;
    c->batch_calls++;
    return c->in.factor_batch(c->in.self, count, v, d, st, fc);
}
static void DOPT_FN(lk_c_solve_batch)(void *self, int count, DOPT_REAL *const *rhs)
{
    DOPT_FN(lk_count) *c = (DOPT_FN(lk_count) *)self;
    c->in.solve_batch(c->in.self, count, rhs);
}

static void DOPT_FN(test_lockstep_sparse_lanes)(void)
{
    enum { B = 19 };
    static DOPT_FN(pg) G[B];
    static DOPT_REAL xl[B][PG_N * 3], xs[B][PG_N * 3];
    DOPT_FN(dopt_nlls_problem) *p;
    DOPT_FN(dopt_nlls_solver) *s = NULL;
    DOPT_FN(dopt_linear_solver) ls;
    DOPT_FN(lk_count) *c = (DOPT_FN(lk_count) *)calloc(1, sizeof *c);
    DOPT_FN(dopt_nlls_options) o;
    dopt_nlls_report rl[B], rs[B];
    const double tol = DOPT_IS_FLOAT ? 2e-3 : 1e-8;
    int b, i, run;
    for (b = 0; b < B; ++b) DOPT_FN(pg_make)(&G[b], 300 + (unsigned)b);
    p = DOPT_FN(lk_pg_problem)(G, B);
    DOPT_CHECK(c != NULL && DOPT_FN(dopt_sparse_linear_solver)(NULL, NULL, &c->in) == DOPT_OK, "sparse solver");
    DOPT_CHECK(c->in.batch_width >= 2 && c->in.factor_batch != NULL, "sparse solver offers a lane batch");
    memset(&ls, 0, sizeof ls);
    ls.self = c;
    ls.analyze = DOPT_FN(lk_c_analyze);
    ls.factor = DOPT_FN(lk_c_factor);
    ls.solve = DOPT_FN(lk_c_solve);
    ls.destroy = DOPT_FN(lk_c_destroy);
    ls.batch_width = c->in.batch_width;
    ls.reserve_batch = DOPT_FN(lk_c_reserve_batch);
    ls.factor_batch = DOPT_FN(lk_c_factor_batch);
    ls.solve_batch = DOPT_FN(lk_c_solve_batch);
    DOPT_CHECK(DOPT_FN(dopt_nlls_solver_create)(p, &ls, &s, NULL) == DOPT_OK, "create");
    for (run = 0; run < 2; ++run) {
        /* 3 iterations: still far from the minimum, so every step decision is the same; 12: near
           it the gain ratio is rounding noise and an accept/reject may flip, the result may not */
        memset(&o, 0, sizeof o);
        o.max_iterations = run ? 12 : 3;
        o.function_tolerance = -1;
        o.gradient_tolerance = -1;
        o.step_tolerance = -1;
        for (b = 0; b < B; ++b) memcpy(xl[b], G[b].x0, sizeof xl[b]);
        memcpy(xs, xl, sizeof xl);
        c->batch_calls = 0;
        DOPT_CHECK(DOPT_FN(dopt_nlls_solve)(s, &o, xl[0], PG_N * 3, rl, NULL, NULL) == DOPT_OK, "lockstep");
        DOPT_CHECK(c->batch_calls > 0, "factor_batch ran (%ld calls)", c->batch_calls);
        o.sequential_batch = 1;
        c->batch_calls = 0;
        DOPT_CHECK(DOPT_FN(dopt_nlls_solve)(s, &o, xs[0], PG_N * 3, rs, NULL, NULL) == DOPT_OK, "sequential");
        DOPT_CHECK(c->batch_calls == 0, "sequential_batch: no factor_batch");
        for (b = 0; b < B; ++b) {
            if (!run)
                DOPT_CHECK(rl[b].iterations == rs[b].iterations && rl[b].accepted == rs[b].accepted &&
                               rl[b].stop == rs[b].stop,
                           "element %d: same steps (it %d/%d, accepted %d/%d)", b, rl[b].iterations,
                           rs[b].iterations, rl[b].accepted, rs[b].accepted);
            DOPT_CHECK(rl[b].final_cost < rl[b].initial_cost, "element %d descends", b);
            DOPT_CHECK(fabs(rl[b].final_cost - rs[b].final_cost) <= tol * (1 + fabs(rs[b].final_cost)),
                       "run %d element %d: final cost %.17g vs %.17g", run, b, rl[b].final_cost, rs[b].final_cost);
            for (i = 0; i < PG_N * 3; ++i)
                DOPT_CHECK(fabs((double)(xl[b][i] - xs[b][i])) <= tol * (1 + fabs((double)xs[b][i])),
                           "run %d element %d: x[%d] %g vs %g", run, b, i, (double)xl[b][i], (double)xs[b][i]);
        }
    }
    DOPT_FN(dopt_nlls_solver_destroy)(s);
    DOPT_FN(dopt_nlls_problem_destroy)(p);
}

#undef LIN
#endif
