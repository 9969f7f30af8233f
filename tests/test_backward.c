/* test_backward.c — the backward modes of the least-squares layer (dopt_nlls_diff_*).
 *
 * Every derivative is checked against central finite differences in double:
 *   IMPLICIT  vs  d x* / d phi of the converged solution (re-solved at phi ± h)
 *   UNROLL    vs  the K-iteration map (dopt_nlls_diff_replay: the recorded schedule re-run at
 *                 phi ± h and x0 ± h), for phi and for the initial values
 *   TRUNCATED with K = all iterations equals UNROLL; DLM tends to IMPLICIT as eps -> 0
 * over {GN, LM, Dogleg} x {step 1, 0.5} x {linear, non-quadratic, robust} problems, plus the
 * singular-system status, the per-element policies and a float smoke test.
 * IMPLICIT's factor reuse (float and double, dense and sparse linear solver): in Theseus' flow
 * (LM forward, one GN step from the solution, backward) every element reuses its kept factor and
 * the gradient equals the refactored one; a changed weight, loss scale, cost datum or point, a
 * damped last step, or one slot for a batch must not reuse, and still give that gradient; a
 * lockstep LM forward (tests/lane_solver.h) leaves the same solution and the same reuse. */
#if !defined(DOPT_REAL)
#define DOPT_IMPLEMENTATION
#define DOPT_SPARSE_PLAIN_LANES /* test the plain-C lane batch too */
#include "dopt.h"
#include "dopt_sparse.h"
#include "dopt_test.h"

/* ---- three test problems, batch of 2, in double ------------------------------------------------ */

#define TB_B 2
#define TB_NC 6

enum { P_LINEAR = 0, P_NONQUAD, P_ROBUST };

typedef struct tb_data {
    double A[6];         /* linear: 2 x 3 row-major; nonquad: A[0] = t                          */
    const double *Y;     /* this element's learnable measurements (the Y parameter)             */
    int i;               /* cost index: measurements at Y[rdim i ..]                            */
} tb_data;

static dopt_status tb_lin(const void *data, const double *const *x, double *r, double *const *J)
{
    const tb_data *d = (const tb_data *)data;
    int i, j;
    for (i = 0; i < 2; ++i) {
        r[i] = -d->Y[2 * d->i + i];
        for (j = 0; j < 3; ++j) r[i] += d->A[i * 3 + j] * x[0][j];
    }
    if (J && J[0])
        for (i = 0; i < 6; ++i) J[0][i] = d->A[i];
    return DOPT_OK;
}

static dopt_status tb_lin_vjp(const void *data, const double *const *x, const double *rbar, int slot, double *pbar)
{
    const tb_data *d = (const tb_data *)data;
    (void)x; (void)slot;
    pbar[2 * d->i] -= rbar[0];
    pbar[2 * d->i + 1] -= rbar[1];
    return DOPT_OK;
}

/* r = exp(m t + c) - y */
static dopt_status tb_exp(const void *data, const double *const *x, double *r, double *const *J)
{
    const tb_data *d = (const tb_data *)data;
    double t = d->A[0], e = exp(x[0][0] * t + x[0][1]);
    r[0] = e - d->Y[d->i];
    if (J && J[0]) { J[0][0] = e * t; J[0][1] = e; }
    return DOPT_OK;
}

static dopt_status tb_exp_vjp(const void *data, const double *const *x, const double *rbar, int slot, double *pbar)
{
    const tb_data *d = (const tb_data *)data;
    (void)x; (void)slot;
    pbar[d->i] -= rbar[0];
    return DOPT_OK;
}

typedef struct tb_prob {
    int kind;
    tb_data data[TB_B][TB_NC];
    double Y[TB_B][2 * TB_NC];  /* parameter 0: measurements (per element)                     */
    double W[TB_B][2];          /* cost 0's diagonal weight (per element), learnable           */
    double radius;              /* shared robust radius (P_ROBUST)                             */
    double x0[TB_B][3];
    dopt_nlls_problem_d *p;
    dopt_nlls_solver_d *s;
    dopt_nlls_diff_d *D;
    int xdim, n, pY, pW, pR;
} tb_prob;

static void tb_build(tb_prob *P, int kind, int numeric_vjp)
{
    dopt_rng rng;
    int b, c, v, j;
    dopt_manifold_d m;
    memset(P, 0, sizeof *P);
    P->kind = kind;
    P->xdim = kind == P_NONQUAD ? 2 : 3;
    m = dopt_manifold_euclidean_d(P->xdim);
    dopt_rng_seed(&rng, 17, (uint64_t)kind);
    P->radius = 2.0;
    for (b = 0; b < TB_B; ++b) {
        double xt[3];
        for (j = 0; j < 3; ++j) xt[j] = dopt_rng_normal_d(&rng);
        if (kind == P_NONQUAD) { xt[0] = 0.4 + 0.1 * b; xt[1] = 0.2; }
        for (c = 0; c < TB_NC; ++c) {
            tb_data *d = &P->data[b][c];
            d->i = c;
            d->Y = P->Y[b];
            if (kind == P_NONQUAD) {
                d->A[0] = -1 + 0.4 * c;
                P->Y[b][c] = exp(xt[0] * d->A[0] + xt[1]); /* exact data: zero residual */
            } else {
                for (j = 0; j < 6; ++j) d->A[j] = dopt_rng_normal_d(&rng);
                for (j = 0; j < 2; ++j) {
                    P->Y[b][2 * c + j] = d->A[3 * j] * xt[0] + d->A[3 * j + 1] * xt[1] + d->A[3 * j + 2] * xt[2] +
                                         0.3 * dopt_rng_normal_d(&rng);
                }
                if (kind == P_ROBUST && c == 3) P->Y[b][2 * c] += 1; /* an outlier (inside the
                                                    radius where the Triggs matrix is the exact Hessian) */
            }
        }
        P->W[b][0] = 1.5 + 0.1 * b;
        P->W[b][1] = 0.8;
        for (j = 0; j < 3; ++j) /* a start where plain Gauss-Newton converges on the robust problem */
            P->x0[b][j] = (kind == P_NONQUAD ? 0.3 * (j == 0) : xt[j] + 0.1 * dopt_rng_normal_d(&rng));
    }
    dopt_nlls_problem_create_d(NULL, TB_B, &P->p);
    dopt_nlls_add_variable_d(P->p, &m, &v);
    for (c = 0; c < TB_NC; ++c) {
        dopt_nlls_cost_desc_d d;
        memset(&d, 0, sizeof d);
        d.fn = kind == P_NONQUAD ? tb_exp : tb_lin;
        d.data = &P->data[0][c];
        d.data_stride = sizeof P->data[0];
        d.rdim = kind == P_NONQUAD ? 1 : 2;
        d.nvars = 1;
        d.vars = &v;
        if (c <= 1 && kind != P_NONQUAD) { /* costs 0 and 1 share one learnable weight */
            d.weight_kind = DOPT_WEIGHT_DIAGONAL;
            d.weight = P->W[0];
            d.weight_stride = 2;
        }
        if (kind == P_ROBUST) { d.loss = DOPT_LOSS_CAUCHY; d.loss_scale = P->radius; }
        dopt_nlls_add_cost_d(P->p, &d, NULL);
    }
    dopt_nlls_solver_create_d(P->p, NULL, &P->s, NULL);
    dopt_nlls_diff_create_d(P->s, &P->D);
    P->n = dopt_nlls_diff_tangent_size_d(P->D);
    dopt_nlls_diff_add_param_d(P->D, DOPT_PARAM_DATA, P->Y[0], kind == P_NONQUAD ? TB_NC : 2 * TB_NC,
                               2 * TB_NC, &P->pY);
    for (c = 0; c < TB_NC; ++c)
        dopt_nlls_diff_attach_d(P->D, c, P->pY, numeric_vjp ? NULL : (kind == P_NONQUAD ? tb_exp_vjp : tb_lin_vjp));
    P->pW = P->pR = -1;
    if (kind != P_NONQUAD) {
        dopt_nlls_diff_learn_weight_d(P->D, 0, &P->pW);
        dopt_nlls_diff_attach_d(P->D, 1, P->pW, NULL);
    }
    if (kind == P_ROBUST) {
        dopt_nlls_diff_learn_loss_scale_d(P->D, &P->radius, &P->pR);
        for (c = 0; c < TB_NC; ++c) dopt_nlls_diff_attach_d(P->D, c, P->pR, NULL);
    }
}

static void tb_free(tb_prob *P)
{
    dopt_nlls_diff_destroy_d(P->D);
    dopt_nlls_solver_destroy_d(P->s);
    dopt_nlls_problem_destroy_d(P->p);
}

/* the learnable reals in one list: Y (both elements), W (both), radius */
static int tb_nphi(const tb_prob *P)
{
    int ny = P->kind == P_NONQUAD ? TB_NC : 2 * TB_NC;
    return TB_B * ny + (P->pW >= 0 ? 2 * TB_B : 0) + (P->pR >= 0 ? 1 : 0);
}
static double *tb_phi(tb_prob *P, int k, double *grad_out, int *elem)
{
    int ny = P->kind == P_NONQUAD ? TB_NC : 2 * TB_NC;
    *elem = -1;
    if (k < TB_B * ny) {
        *elem = k / ny;
        if (grad_out) *grad_out = dopt_nlls_diff_param_grad_d(P->D, P->pY)[k];
        return &P->Y[k / ny][k % ny];
    }
    k -= TB_B * ny;
    if (P->pW >= 0) {
        if (k < 2 * TB_B) {
            *elem = k / 2;
            if (grad_out) *grad_out = dopt_nlls_diff_param_grad_d(P->D, P->pW)[k];
            return &P->W[k / 2][k % 2];
        }
        k -= 2 * TB_B;
    }
    if (grad_out) *grad_out = dopt_nlls_diff_param_grad_d(P->D, P->pR)[0];
    return &P->radius;
}

static dopt_nlls_options_d tb_opts(int method, double step, int K)
{
    dopt_nlls_options_d o;
    memset(&o, 0, sizeof o);
    o.method = (dopt_nlls_method)method;
    o.step_size = step;
    /* Triggs: the exact Hessian of the robust linear problem (IMPLICIT then matches to 1e-6);
       the unrolled runs with step 0.5 use IRLS, so both foldings are differentiated */
    o.robust_mode = (K > 0 && step != 1) ? DOPT_ROBUST_IRLS : DOPT_ROBUST_TRIGGS;
    /* a small trust radius makes the unrolled dogleg visit its Cauchy and blended steps */
    if (method == DOPT_NLLS_DOGLEG) o.initial_radius = K > 0 ? 0.02 : 0.3;
    if (K > 0) {            /* exactly K iterations */
        o.max_iterations = K;
        o.function_tolerance = -1;
        o.gradient_tolerance = -1;
        o.step_tolerance = -1;
    } else {                /* to convergence */
        o.max_iterations = 200;   /* tight: finite differences divide the stopping error by h */
        o.function_tolerance = -1;
        o.gradient_tolerance = 1e-14;
        o.step_tolerance = -1;
    }
    return o;
}

/* L = c . x (both elements), c fixed */
static const double tb_c[TB_B][3] = {{0.7, -1.1, 0.4}, {-0.3, 0.9, 1.3}};

static void tb_solve(tb_prob *P, const dopt_nlls_options_d *o, double x[TB_B][3])
{
    int b, j;
    for (b = 0; b < TB_B; ++b)
        for (j = 0; j < 3; ++j) x[b][j] = P->x0[b][j];
    dopt_nlls_diff_solve_d(P->D, o, &x[0][0], 3, NULL, NULL);
}

static double tb_loss_solve(tb_prob *P, const dopt_nlls_options_d *o)
{
    double x[TB_B][3], L = 0;
    int b, j;
    tb_solve(P, o, x);
    for (b = 0; b < TB_B; ++b)
        for (j = 0; j < P->xdim; ++j) L += tb_c[b][j] * x[b][j];
    return L;
}

/* L of the recorded K-iteration map from x0 (element e only; all elements when e < 0) */
static double tb_loss_replay(tb_prob *P, int e)
{
    double L = 0, x[3];
    int b, j;
    for (b = 0; b < TB_B; ++b) {
        if (e >= 0 && b != e) continue;
        for (j = 0; j < 3; ++j) x[j] = P->x0[b][j];
        dopt_nlls_diff_replay_d(P->D, b, x);
        for (j = 0; j < P->xdim; ++j) L += tb_c[b][j] * x[j];
    }
    return L;
}

static void tb_xbar(const tb_prob *P, double *xbar)
{
    int b, j;
    for (b = 0; b < TB_B; ++b)
        for (j = 0; j < P->n; ++j) xbar[b * P->n + j] = tb_c[b][j];
}

static const char *tb_kind_name[] = {"linear", "non-quadratic", "robust"};
static const char *tb_method_name[] = {"LM", "GN", "Dogleg"};

/* IMPLICIT == FD of the converged solution */
static void test_implicit_fd_d(void)
{
    int kind, method, si;
    for (kind = 0; kind < 3; ++kind)
        for (method = 0; method < 3; ++method)
            for (si = 0; si < 2; ++si) {
                tb_prob P;
                dopt_nlls_options_d o = tb_opts(method, si ? 0.5 : 1.0, 0);
                /* the finite differences re-solve with full Gauss-Newton steps: the tightest
                   convergence (x* does not depend on the method that found it) */
                dopt_nlls_options_d oref = tb_opts(DOPT_NLLS_GN, 1.0, 0);
                dopt_nlls_diff_options_d bo;
                dopt_nlls_diff_report rep[TB_B];
                double xbar[TB_B * 3], g, *v, v0, h = 1e-6, Lp, Lm, worst = 0;
                int k, e, nphi;
                char what[160];
                tb_build(&P, kind, 0);
                tb_loss_solve(&P, &o);
                tb_xbar(&P, xbar);
                memset(&bo, 0, sizeof bo);
                bo.mode = DOPT_NLLS_DIFF_IMPLICIT;
                DOPT_CHECK(dopt_nlls_diff_backward_d(P.D, &bo, xbar, NULL, rep, NULL) == DOPT_OK, "implicit status");
                DOPT_CHECK(rep[0].converged && rep[1].converged, "converged flags");
                nphi = tb_nphi(&P);
                for (k = 0; k < nphi; ++k) {
                    double fd;
                    v = tb_phi(&P, k, &g, &e);
                    v0 = *v;
                    *v = v0 + h; Lp = tb_loss_solve(&P, &oref);
                    *v = v0 - h; Lm = tb_loss_solve(&P, &oref);
                    *v = v0;
                    fd = (Lp - Lm) / (2 * h);
                    if (fabs(g - fd) / (fabs(fd) > 1 ? fabs(fd) : 1) > worst) worst = fabs(g - fd) / (fabs(fd) > 1 ? fabs(fd) : 1);
                    snprintf(what, sizeof what, "implicit %s %s step %g phi %d", tb_kind_name[kind],
                             tb_method_name[method], si ? 0.5 : 1.0, k);
                    DOPT_CHECK_CLOSE(g, fd, 1e-6, what);
                }
                if (getenv("DOPT_TEST_VERBOSE"))
                    printf("  implicit %-13s %-6s step %.1f: worst rel err %.2e over %d params\n", tb_kind_name[kind],
                           tb_method_name[method], si ? 0.5 : 1.0, worst, nphi);
                tb_free(&P);
            }
}

/* IMPLICIT with the exact Hessian == FD of the converged solution also where Gauss-Newton is only an
 * approximation: non-zero residuals of a non-quadratic fit, a robust loss folded by IRLS */
static void test_implicit_exact_fd_d(void)
{
    int kind;
    for (kind = P_NONQUAD; kind <= P_ROBUST; ++kind) {
        tb_prob P;
        dopt_nlls_options_d o = tb_opts(DOPT_NLLS_LM, 1.0, 0);
        dopt_nlls_diff_options_d bo;
        double xbar[TB_B * 3], g, ggn[64], *v, v0, h = 1e-6, gap = 0;
        int k, e, c, nphi;
        char what[160];
        dopt_nlls_options_d oref = tb_opts(DOPT_NLLS_GN, 1.0, 0);
        tb_build(&P, kind, 0);
        o.robust_mode = DOPT_ROBUST_IRLS;
        oref.robust_mode = DOPT_ROBUST_IRLS;
        if (kind == P_NONQUAD)
            for (c = 0; c < TB_NC; ++c) { P.Y[0][c] *= 1 + 0.1 * (c % 3 - 1); P.Y[1][c] *= 1 - 0.05 * (c % 2); }
        tb_loss_solve(&P, &o);
        tb_xbar(&P, xbar);
        memset(&bo, 0, sizeof bo);
        bo.mode = DOPT_NLLS_DIFF_IMPLICIT;
        nphi = tb_nphi(&P);
        DOPT_CHECK(dopt_nlls_diff_backward_d(P.D, &bo, xbar, NULL, NULL, NULL) == DOPT_OK, "gauss-newton");
        for (k = 0; k < nphi; ++k) tb_phi(&P, k, &ggn[k], &e);
        bo.implicit_exact = 1;
        DOPT_CHECK(dopt_nlls_diff_backward_d(P.D, &bo, xbar, NULL, NULL, NULL) == DOPT_OK, "exact");
        for (k = 0; k < nphi; ++k) {
            double fd, Lp, Lm;
            v = tb_phi(&P, k, &g, &e);
            v0 = *v;
            *v = v0 + h; Lp = tb_loss_solve(&P, &oref);
            *v = v0 - h; Lm = tb_loss_solve(&P, &oref);
            *v = v0;
            fd = (Lp - Lm) / (2 * h);
            if (fabs(ggn[k] - fd) > gap) gap = fabs(ggn[k] - fd);
            snprintf(what, sizeof what, "implicit exact %s phi %d", tb_kind_name[kind], k);
            DOPT_CHECK_CLOSE(g, fd, 1e-6, what);
        }
        DOPT_CHECK(gap > 1e-4, "%s: the Gauss-Newton gradient should differ here (gap %g)", tb_kind_name[kind], gap);
        if (getenv("DOPT_TEST_VERBOSE"))
            printf("  implicit exact %-13s: Gauss-Newton approximation off by up to %.2e\n", tb_kind_name[kind], gap);
        tb_free(&P);
    }
}

/* UNROLL == FD of the K-iteration map (parameters and initial values); TRUNCATED(K = all) == UNROLL */
static void test_unroll_fd_d(void)
{
    int kind, method, si, K = 6;
    for (kind = 0; kind < 3; ++kind)
        for (method = 0; method < 3; ++method)
            for (si = 0; si < 2; ++si) {
                tb_prob P;
                dopt_nlls_options_d o = tb_opts(method, si ? 0.5 : 1.0, K);
                dopt_nlls_diff_options_d bo;
                dopt_nlls_diff_report rep[TB_B];
                double xbar[TB_B * 3], x0bar[TB_B * 3], x0bt[TB_B * 3], gu[64], g, *v, v0, h = 1e-6, worst = 0;
                int k, e, j, b, nphi;
                char what[160];
                tb_build(&P, kind, 0);
                tb_loss_solve(&P, &o);
                tb_xbar(&P, xbar);
                memset(&bo, 0, sizeof bo);
                bo.mode = DOPT_NLLS_DIFF_UNROLL;
                DOPT_CHECK(dopt_nlls_diff_backward_d(P.D, &bo, xbar, x0bar, rep, NULL) == DOPT_OK, "unroll status");
                nphi = tb_nphi(&P);
                for (k = 0; k < nphi; ++k) {
                    double fd, Lp, Lm;
                    v = tb_phi(&P, k, &g, &e);
                    gu[k] = g;
                    v0 = *v;
                    *v = v0 + h; Lp = tb_loss_replay(&P, e);
                    *v = v0 - h; Lm = tb_loss_replay(&P, e);
                    *v = v0;
                    fd = (Lp - Lm) / (2 * h);
                    if (fabs(g - fd) / (fabs(fd) > 1 ? fabs(fd) : 1) > worst) worst = fabs(g - fd) / (fabs(fd) > 1 ? fabs(fd) : 1);
                    snprintf(what, sizeof what, "unroll %s %s step %g phi %d", tb_kind_name[kind],
                             tb_method_name[method], si ? 0.5 : 1.0, k);
                    DOPT_CHECK_CLOSE(g, fd, 1e-6, what);
                }
                for (b = 0; b < TB_B; ++b)
                    for (j = 0; j < P.n; ++j) {
                        double fd, Lp, Lm;
                        v0 = P.x0[b][j];
                        P.x0[b][j] = v0 + h; Lp = tb_loss_replay(&P, b);
                        P.x0[b][j] = v0 - h; Lm = tb_loss_replay(&P, b);
                        P.x0[b][j] = v0;
                        fd = (Lp - Lm) / (2 * h);
                        snprintf(what, sizeof what, "unroll %s %s step %g dL/dx0[%d][%d]", tb_kind_name[kind],
                                 tb_method_name[method], si ? 0.5 : 1.0, b, j);
                        DOPT_CHECK_CLOSE(x0bar[b * P.n + j], fd, 1e-6, what);
                    }
                DOPT_CHECK(rep[0].steps == K, "recorded %d steps", rep[0].steps);
                /* TRUNCATED with K = every iteration is UNROLL */
                bo.mode = DOPT_NLLS_DIFF_TRUNCATED;
                bo.truncate = K;
                DOPT_CHECK(dopt_nlls_diff_backward_d(P.D, &bo, xbar, x0bt, rep, NULL) == DOPT_OK, "truncated status");
                for (k = 0; k < nphi; ++k) {
                    tb_phi(&P, k, &g, &e);
                    DOPT_CHECK(g == gu[k], "truncated(K=all) %g != unroll %g", g, gu[k]);
                }
                for (j = 0; j < TB_B * P.n; ++j) DOPT_CHECK(x0bt[j] == x0bar[j], "truncated x0bar");
                /* TRUNCATED with fewer steps differs and has no x0 gradient */
                bo.truncate = 2;
                DOPT_CHECK(dopt_nlls_diff_backward_d(P.D, &bo, xbar, x0bt, rep, NULL) == DOPT_OK, "truncated(2)");
                DOPT_CHECK(rep[0].steps == 2 && x0bt[0] == 0, "truncated(2) steps %d", rep[0].steps);
                if (getenv("DOPT_TEST_VERBOSE"))
                    printf("  unroll   %-13s %-6s step %.1f: worst rel err %.2e over %d params\n", tb_kind_name[kind],
                           tb_method_name[method], si ? 0.5 : 1.0, worst, nphi);
                tb_free(&P);
            }
}

/* For GN (no line search) and LM with the fixed-factor update the recorded schedule is what the
 * solver does anyway near x0: UNROLL equals FD of the real K-iteration solve too. */
static void test_unroll_vs_solver_d(void)
{
    int method;
    for (method = 0; method < 2; ++method) {
        tb_prob P;
        dopt_nlls_options_d o = tb_opts(method == 0 ? DOPT_NLLS_GN : DOPT_NLLS_LM, 0.5, 5);
        dopt_nlls_diff_options_d bo;
        double xbar[TB_B * 3], g, *v, v0, h = 1e-6;
        int k, e, nphi;
        o.lm_update = DOPT_LM_UPDATE_FACTOR;
        tb_build(&P, P_NONQUAD, 0);
        tb_loss_solve(&P, &o);
        tb_xbar(&P, xbar);
        memset(&bo, 0, sizeof bo);
        bo.mode = DOPT_NLLS_DIFF_UNROLL;
        DOPT_CHECK(dopt_nlls_diff_backward_d(P.D, &bo, xbar, NULL, NULL, NULL) == DOPT_OK, "unroll status");
        nphi = tb_nphi(&P);
        for (k = 0; k < nphi; ++k) {
            double fd, Lp, Lm, gk;
            tb_phi(&P, k, &g, &e);
            gk = g;
            v = tb_phi(&P, k, NULL, &e);
            v0 = *v;
            *v = v0 + h; Lp = tb_loss_solve(&P, &o);
            *v = v0 - h; Lm = tb_loss_solve(&P, &o);
            *v = v0;
            fd = (Lp - Lm) / (2 * h);
            DOPT_CHECK_CLOSE(gk, fd, 1e-6, method == 0 ? "unroll vs GN solve" : "unroll vs LM solve");
        }
        tb_free(&P);
    }
}

/* numeric parameter VJPs (no vjp callback) agree with the analytic ones */
static void test_numeric_vjp_d(void)
{
    int kind;
    for (kind = 0; kind < 3; ++kind) {
        tb_prob A, N;
        dopt_nlls_options_d o = tb_opts(DOPT_NLLS_LM, 1, 0);
        dopt_nlls_diff_options_d bo;
        double xbar[TB_B * 3], ga, gn;
        int k, e, nphi;
        tb_build(&A, kind, 0);
        tb_build(&N, kind, 1);
        tb_loss_solve(&A, &o);
        tb_loss_solve(&N, &o);
        tb_xbar(&A, xbar);
        memset(&bo, 0, sizeof bo);
        bo.mode = DOPT_NLLS_DIFF_IMPLICIT;
        DOPT_CHECK(dopt_nlls_diff_backward_d(A.D, &bo, xbar, NULL, NULL, NULL) == DOPT_OK, "analytic");
        DOPT_CHECK(dopt_nlls_diff_backward_d(N.D, &bo, xbar, NULL, NULL, NULL) == DOPT_OK, "numeric");
        nphi = tb_nphi(&A);
        for (k = 0; k < nphi; ++k) {
            tb_phi(&A, k, &ga, &e);
            tb_phi(&N, k, &gn, &e);
            DOPT_CHECK_CLOSE(ga, gn, 1e-5, "numeric vjp vs analytic");
        }
        tb_free(&A);
        tb_free(&N);
    }
}

/* DLM -> IMPLICIT as eps -> 0 (errors shrink with eps) */
static void test_dlm_trend_d(void)
{
    int kind;
    for (kind = 0; kind < 3; ++kind) {
        tb_prob P;
        dopt_nlls_options_d o = tb_opts(DOPT_NLLS_LM, 1, 0);
        dopt_nlls_diff_options_d bo;
        double xbar[TB_B * 3], gi[64], err[4], eps[4] = {1e-1, 1e-2, 1e-3, 1e-4}, g;
        int k, e, nphi, q;
        tb_build(&P, kind, 0);
        tb_loss_solve(&P, &o);
        tb_xbar(&P, xbar);
        memset(&bo, 0, sizeof bo);
        bo.mode = DOPT_NLLS_DIFF_IMPLICIT;
        DOPT_CHECK(dopt_nlls_diff_backward_d(P.D, &bo, xbar, NULL, NULL, NULL) == DOPT_OK, "implicit");
        nphi = tb_nphi(&P);
        for (k = 0; k < nphi; ++k) tb_phi(&P, k, &gi[k], &e);
        for (q = 0; q < 4; ++q) {
            double num = 0, den = 0;
            bo.mode = DOPT_NLLS_DIFF_DLM;
            bo.dlm_epsilon = eps[q];
            DOPT_CHECK(dopt_nlls_diff_backward_d(P.D, &bo, xbar, NULL, NULL, NULL) == DOPT_OK, "dlm");
            for (k = 0; k < nphi; ++k) {
                tb_phi(&P, k, &g, &e);
                num += (g - gi[k]) * (g - gi[k]);
                den += gi[k] * gi[k];
            }
            err[q] = sqrt(num / den);
            if (getenv("DOPT_TEST_VERBOSE"))
                printf("  dlm %-13s eps %.0e: relative distance to implicit %.3e\n", tb_kind_name[kind], eps[q], err[q]);
        }
        DOPT_CHECK(err[1] < err[0] && err[2] < err[1], "%s: DLM error does not shrink: %g %g %g", tb_kind_name[kind],
                   err[0], err[1], err[2]);
        DOPT_CHECK(err[2] < 1e-2, "%s: DLM(1e-3) far from implicit: %g", tb_kind_name[kind], err[2]);
        tb_free(&P);
    }
}

/* r = x0 + x1 - y: the Gauss-Newton matrix is singular at the solution -> status, no NaN */
static dopt_status sing_fn(const void *data, const double *const *x, double *r, double *const *J)
{
    const double *y = (const double *)data;
    r[0] = x[0][0] + x[0][1] - y[0];
    if (J && J[0]) { J[0][0] = 1; J[0][1] = 1; }
    return DOPT_OK;
}
static void test_singular_status_d(void)
{
    dopt_nlls_problem_d *p;
    dopt_nlls_solver_d *s;
    dopt_nlls_diff_d *D;
    dopt_manifold_d m = dopt_manifold_euclidean_d(2);
    dopt_nlls_cost_desc_d d;
    dopt_nlls_options_d o;
    dopt_nlls_diff_options_d bo;
    dopt_nlls_diff_report rep;
    dopt_errinfo info;
    double y = 1, x[2] = {0, 0}, xbar[2] = {1, 0};
    int v, k = 0, mode;
    dopt_nlls_problem_create_d(NULL, 1, &p);
    dopt_nlls_add_variable_d(p, &m, &v);
    memset(&d, 0, sizeof d);
    d.fn = sing_fn; d.data = &y; d.rdim = 1; d.nvars = 1; d.vars = &v;
    dopt_nlls_add_cost_d(p, &d, NULL);
    dopt_nlls_solver_create_d(p, NULL, &s, NULL);
    dopt_nlls_diff_create_d(s, &D);
    dopt_nlls_diff_add_param_d(D, DOPT_PARAM_DATA, &y, 1, 0, &k);
    dopt_nlls_diff_attach_d(D, 0, k, NULL);
    memset(&o, 0, sizeof o); /* LM: the damping makes the forward solve fine */
    DOPT_CHECK(dopt_nlls_diff_solve_d(D, &o, x, 0, NULL, NULL) == DOPT_OK, "forward LM");
    for (mode = 0; mode < 2; ++mode) {
        memset(&bo, 0, sizeof bo);
        bo.mode = mode ? DOPT_NLLS_DIFF_DLM : DOPT_NLLS_DIFF_IMPLICIT;
        bo.dlm_epsilon = 1e-9; /* the DLM system's own regularization 2 eps^2 is negligible */
        memset(&info, 0, sizeof info);
        if (mode == 0) {
            DOPT_CHECK(dopt_nlls_diff_backward_d(D, &bo, xbar, NULL, &rep, &info) == DOPT_ERR_SINGULAR,
                       "singular system gives DOPT_ERR_SINGULAR");
            DOPT_CHECK(rep.status == DOPT_ERR_SINGULAR && info.index == 0, "report and info");
        } else {
            /* DLM solves the same singular Gauss-Newton system at θ* (its ε regularizes only
               the perturbed problem): the same status, reported the same way, and a zero
               gradient for the failed element */
            DOPT_CHECK(dopt_nlls_diff_backward_d(D, &bo, xbar, NULL, &rep, &info) == DOPT_ERR_SINGULAR,
                       "DLM: singular system gives DOPT_ERR_SINGULAR");
            DOPT_CHECK(rep.status == DOPT_ERR_SINGULAR && info.index == 0, "DLM: report (%s) and info (index %ld)",
                       dopt_status_string(rep.status), info.index);
            DOPT_CHECK(dopt_nlls_diff_param_grad_d(D, k)[0] == 0, "DLM: the failed element's gradient is zero (%g)",
                       dopt_nlls_diff_param_grad_d(D, k)[0]);
        }
        DOPT_CHECK(dopt_all_finite_d(1, dopt_nlls_diff_param_grad_d(D, k)), "no NaN gradient");
    }
    dopt_nlls_diff_destroy_d(D);
    dopt_nlls_solver_destroy_d(s);
    dopt_nlls_problem_destroy_d(p);
}

/* policies for an element that did not converge */
static void test_policy_d(void)
{
    tb_prob P;
    dopt_nlls_options_d o = tb_opts(DOPT_NLLS_LM, 1, 0);
    dopt_nlls_diff_options_d bo;
    dopt_nlls_diff_report rep[TB_B];
    dopt_errinfo info;
    double xbar[TB_B * 3], x[TB_B][3];
    const double *g;
    int j, ny = TB_NC;
    tb_build(&P, P_NONQUAD, 0);
    o.max_iterations = 1; /* neither element converges in one iteration */
    tb_solve(&P, &o, x);
    tb_xbar(&P, xbar);
    memset(&bo, 0, sizeof bo);
    bo.mode = DOPT_NLLS_DIFF_IMPLICIT;
    bo.policy = DOPT_NLLS_DIFF_FLAG;
    DOPT_CHECK(dopt_nlls_diff_backward_d(P.D, &bo, xbar, NULL, rep, NULL) == DOPT_OK, "flag: computed");
    DOPT_CHECK(!rep[0].converged && rep[0].forward_stop == DOPT_STOP_MAX_ITERATIONS && rep[0].status == DOPT_OK,
               "flag: flagged");
    g = dopt_nlls_diff_param_grad_d(P.D, P.pY);
    DOPT_CHECK(g[0] != 0, "flag: gradient present");
    bo.policy = DOPT_NLLS_DIFF_ZERO;
    DOPT_CHECK(dopt_nlls_diff_backward_d(P.D, &bo, xbar, NULL, rep, NULL) == DOPT_OK, "zero: ok");
    DOPT_CHECK(rep[1].status == DOPT_ERR_NO_CONVERGENCE, "zero: flagged");
    for (j = 0; j < TB_B * ny; ++j) DOPT_CHECK(g[j] == 0, "zero: no contribution");
    bo.policy = DOPT_NLLS_DIFF_FAIL;
    DOPT_CHECK(dopt_nlls_diff_backward_d(P.D, &bo, xbar, NULL, rep, &info) == DOPT_ERR_NO_CONVERGENCE, "fail");
    DOPT_CHECK(info.index == 0, "fail names the element");
    tb_free(&P);
}

/* A manifold variable: an angle on SO(2) stored as (cos, sin), tangent = the angle. */
static void so2_retract(const dopt_manifold_d *m, const double *x, const double *d, double *y)
{
    double c = cos(d[0]), s = sin(d[0]), a = x[0] * c - x[1] * s, b = x[0] * s + x[1] * c;
    (void)m;
    y[0] = a; y[1] = b;
}
static void so2_local(const dopt_manifold_d *m, const double *x, const double *y, double *d)
{
    (void)m;
    d[0] = atan2(x[0] * y[1] - x[1] * y[0], x[0] * y[0] + x[1] * y[1]);
}
/* r = R(x) p - q (2-D point alignment), q learnable */
typedef struct so2_data { double p[2]; const double *q; } so2_data;
static dopt_status so2_fn(const void *data, const double *const *x, double *r, double *const *J)
{
    const so2_data *d = (const so2_data *)data;
    double c = x[0][0], s = x[0][1], rp0 = c * d->p[0] - s * d->p[1], rp1 = s * d->p[0] + c * d->p[1];
    r[0] = rp0 - d->q[0];
    r[1] = rp1 - d->q[1];
    if (J && J[0]) { J[0][0] = -rp1; J[0][1] = rp0; }
    return DOPT_OK;
}
static void test_manifold_unroll_d(void)
{
    dopt_nlls_problem_d *p;
    dopt_nlls_solver_d *s;
    dopt_nlls_diff_d *D;
    dopt_manifold_d m;
    so2_data dd[3];
    double q[6] = {0.1, 1.2, -0.9, 0.3, 0.5, -0.8}, x[2], x0[2] = {1, 0}, xbar = 1, x0bar, h = 1e-6;
    const double pts[6] = {1, 1, -1, 0, 0.2, -1};
    dopt_nlls_options_d o = tb_opts(DOPT_NLLS_LM, 0.5, 4);
    dopt_nlls_diff_options_d bo;
    int v, c, k = 0, j;
    memset(&m, 0, sizeof m);
    m.name = "so2"; m.dim = 2; m.tangent_dim = 1; m.retract = so2_retract; m.local = so2_local;
    dopt_nlls_problem_create_d(NULL, 1, &p);
    dopt_nlls_add_variable_d(p, &m, &v);
    for (c = 0; c < 3; ++c) {
        dopt_nlls_cost_desc_d d;
        dd[c].p[0] = pts[2 * c]; dd[c].p[1] = pts[2 * c + 1]; dd[c].q = q + 2 * c;
        memset(&d, 0, sizeof d);
        d.fn = so2_fn; d.data = &dd[c]; d.rdim = 2; d.nvars = 1; d.vars = &v;
        dopt_nlls_add_cost_d(p, &d, NULL);
    }
    dopt_nlls_solver_create_d(p, NULL, &s, NULL);
    dopt_nlls_diff_create_d(s, &D);
    dopt_nlls_diff_add_param_d(D, DOPT_PARAM_DATA, q, 6, 0, &k);
    for (c = 0; c < 3; ++c) dopt_nlls_diff_attach_d(D, c, k, NULL);
    x[0] = x0[0]; x[1] = x0[1];
    dopt_nlls_diff_solve_d(D, &o, x, 0, NULL, NULL);
    memset(&bo, 0, sizeof bo);
    bo.mode = DOPT_NLLS_DIFF_UNROLL;
    /* L = angle of the result: dL/dtheta* = 1 on the tangent */
    DOPT_CHECK(dopt_nlls_diff_backward_d(D, &bo, &xbar, &x0bar, NULL, NULL) == DOPT_OK, "so2 unroll");
    for (j = 0; j < 6; ++j) {
        double v0 = q[j], ap, am, y[2];
        q[j] = v0 + h; y[0] = x0[0]; y[1] = x0[1]; dopt_nlls_diff_replay_d(D, 0, y); ap = atan2(y[1], y[0]);
        q[j] = v0 - h; y[0] = x0[0]; y[1] = x0[1]; dopt_nlls_diff_replay_d(D, 0, y); am = atan2(y[1], y[0]);
        q[j] = v0;
        DOPT_CHECK_CLOSE(dopt_nlls_diff_param_grad_d(D, k)[j], (ap - am) / (2 * h), 1e-6, "so2 dL/dq");
    }
    { /* dL/dx0 on the tangent: x0 ⊕ ±h */
        double y[2], ap, am, dl = h;
        so2_retract(&m, x0, &dl, y); dopt_nlls_diff_replay_d(D, 0, y); ap = atan2(y[1], y[0]);
        dl = -h; so2_retract(&m, x0, &dl, y); dopt_nlls_diff_replay_d(D, 0, y); am = atan2(y[1], y[0]);
        DOPT_CHECK_CLOSE(x0bar, (ap - am) / (2 * h), 1e-6, "so2 dL/dx0");
    }
    dopt_nlls_diff_destroy_d(D);
    dopt_nlls_solver_destroy_d(s);
    dopt_nlls_problem_destroy_d(p);
}

/* a shorter trace: TRUNCATED(3) from a ring of 3 equals TRUNCATED(3) from the full trace;
 * IMPLICIT needs none; UNROLL refuses an incomplete trace */
static void test_keep_trace_d(void)
{
    tb_prob P;
    dopt_nlls_options_d o = tb_opts(DOPT_NLLS_LM, 0.5, 8);
    dopt_nlls_diff_options_d bo;
    double xbar[TB_B * 3], g[64], g2, gi[64];
    int k, e, nphi;
    tb_build(&P, P_NONQUAD, 0);
    nphi = tb_nphi(&P);
    tb_xbar(&P, xbar);
    memset(&bo, 0, sizeof bo);
    bo.mode = DOPT_NLLS_DIFF_TRUNCATED;
    bo.truncate = 3;
    tb_loss_solve(&P, &o);
    DOPT_CHECK(dopt_nlls_diff_backward_d(P.D, &bo, xbar, NULL, NULL, NULL) == DOPT_OK, "full trace");
    for (k = 0; k < nphi; ++k) tb_phi(&P, k, &g[k], &e);
    bo.mode = DOPT_NLLS_DIFF_IMPLICIT;
    DOPT_CHECK(dopt_nlls_diff_backward_d(P.D, &bo, xbar, NULL, NULL, NULL) == DOPT_OK, "implicit, full trace");
    for (k = 0; k < nphi; ++k) tb_phi(&P, k, &gi[k], &e);
    DOPT_CHECK(dopt_nlls_diff_keep_trace_d(P.D, 3) == DOPT_OK, "keep 3");
    tb_loss_solve(&P, &o);
    bo.mode = DOPT_NLLS_DIFF_TRUNCATED;
    DOPT_CHECK(dopt_nlls_diff_backward_d(P.D, &bo, xbar, NULL, NULL, NULL) == DOPT_OK, "ring trace");
    for (k = 0; k < nphi; ++k) {
        tb_phi(&P, k, &g2, &e);
        DOPT_CHECK(g2 == g[k], "ring vs full: %g %g", g2, g[k]);
    }
    bo.mode = DOPT_NLLS_DIFF_UNROLL;
    DOPT_CHECK(dopt_nlls_diff_backward_d(P.D, &bo, xbar, NULL, NULL, NULL) == DOPT_ERR_INVALID_ARGUMENT,
               "unroll needs the whole trace");
    DOPT_CHECK(dopt_nlls_diff_keep_trace_d(P.D, 0) == DOPT_OK, "keep 0");
    tb_loss_solve(&P, &o);
    bo.mode = DOPT_NLLS_DIFF_IMPLICIT;
    DOPT_CHECK(dopt_nlls_diff_backward_d(P.D, &bo, xbar, NULL, NULL, NULL) == DOPT_OK, "implicit, no trace");
    for (k = 0; k < nphi; ++k) {
        tb_phi(&P, k, &g2, &e);
        DOPT_CHECK(g2 == gi[k], "implicit without a trace");
    }
    DOPT_CHECK(dopt_nlls_diff_keep_trace_d(P.D, -2) == DOPT_ERR_INVALID_ARGUMENT, "keep -2");
    tb_free(&P);
}

static void test_bad_input_d(void)
{
    tb_prob P;
    double xbar[TB_B * 3] = {0};
    tb_build(&P, P_LINEAR, 0);
    DOPT_CHECK(dopt_nlls_diff_backward_d(P.D, NULL, xbar, NULL, NULL, NULL) == DOPT_ERR_INVALID_ARGUMENT,
               "backward before any forward solve");
    DOPT_CHECK(dopt_nlls_diff_attach_d(P.D, 99, P.pY, NULL) == DOPT_ERR_INVALID_ARGUMENT, "bad cost index");
    DOPT_CHECK(dopt_nlls_diff_attach_d(P.D, 2, P.pW, NULL) == DOPT_ERR_INVALID_ARGUMENT,
               "a weight parameter on a cost without that weight");
    DOPT_CHECK(dopt_nlls_diff_add_param_d(P.D, DOPT_PARAM_DATA, NULL, 1, 0, NULL) == DOPT_ERR_INVALID_ARGUMENT,
               "NULL values");
    DOPT_CHECK(strcmp(dopt_nlls_diff_mode_string(DOPT_NLLS_DIFF_DLM), "dlm") == 0, "mode string");
    tb_free(&P);
}

#define TEST_BWD_PASS
#define DOPT_GENERIC "tests/test_backward.c"
#include "dopt.h"
#undef DOPT_GENERIC
#undef TEST_BWD_PASS

static void suite(void)
{
    DOPT_TEST_RUN(test_implicit_fd_d);
    DOPT_TEST_RUN(test_implicit_exact_fd_d);
    DOPT_TEST_RUN(test_unroll_fd_d);
    DOPT_TEST_RUN(test_unroll_vs_solver_d);
    DOPT_TEST_RUN(test_numeric_vjp_d);
    DOPT_TEST_RUN(test_dlm_trend_d);
    DOPT_TEST_RUN(test_singular_status_d);
    DOPT_TEST_RUN(test_policy_d);
    DOPT_TEST_RUN(test_manifold_unroll_d);
    DOPT_TEST_RUN(test_keep_trace_d);
    DOPT_TEST_RUN(test_bad_input_d);
    DOPT_TEST_RUN(test_modes_smoke_f);
    DOPT_TEST_RUN(test_modes_smoke_d);
    DOPT_TEST_RUN(test_factor_reuse_f);
    DOPT_TEST_RUN(test_factor_reuse_d);
    DOPT_TEST_RUN(test_factor_reuse_lockstep_f);
    DOPT_TEST_RUN(test_factor_reuse_lockstep_d);
    DOPT_TEST_RUN(test_factor_reuse_refused_f);
    DOPT_TEST_RUN(test_factor_reuse_refused_d);
    DOPT_TEST_RUN(test_factor_reuse_singular_f);
    DOPT_TEST_RUN(test_factor_reuse_singular_d);
}
DOPT_TEST_MAIN(suite)

#elif defined(TEST_BWD_PASS) && defined(DOPT_REAL)
#include "tests/lane_solver.h"

/* every mode runs in both precisions and agrees with double to the precision's tolerance:
 * fit r_i = a t_i - y_i, learn y; dL/dy_i for L = a is t_i / sum t^2 (exactly, every mode) */
static dopt_status DOPT_FN(sm_fn)(const void *data, const DOPT_REAL *const *x, DOPT_REAL *r, DOPT_REAL *const *J)
{
    const DOPT_REAL *ty = (const DOPT_REAL *)data; /* t, then a pointer offset to y below */
    r[0] = x[0][0] * ty[0] - ty[1];
    if (J && J[0]) J[0][0] = ty[0];
    return DOPT_OK;
}
static void DOPT_FN(test_modes_smoke)(void)
{
    DOPT_FN(dopt_nlls_problem) *p;
    DOPT_FN(dopt_nlls_solver) *s;
    DOPT_FN(dopt_nlls_diff) *D;
    DOPT_FN(dopt_manifold) m = DOPT_FN(dopt_manifold_euclidean)(1);
    DOPT_FN(dopt_nlls_options) o;
    DOPT_FN(dopt_nlls_diff_options) bo;
    DOPT_REAL ty[4][2] = {{1, 2}, {2, 4.5}, {3, 5.5}, {-1, -2}}, x, xbar = 1, x0bar;
    int v, c, k[4], mode;
    double tt = 1 + 4 + 9 + 1;
    DOPT_FN(dopt_nlls_problem_create)(NULL, 1, &p);
    DOPT_FN(dopt_nlls_add_variable)(p, &m, &v);
    for (c = 0; c < 4; ++c) {
        DOPT_FN(dopt_nlls_cost_desc) d;
        memset(&d, 0, sizeof d);
        d.fn = DOPT_FN(sm_fn); d.data = ty[c]; d.rdim = 1; d.nvars = 1; d.vars = &v;
        DOPT_FN(dopt_nlls_add_cost)(p, &d, NULL);
    }
    DOPT_FN(dopt_nlls_solver_create)(p, NULL, &s, NULL);
    DOPT_FN(dopt_nlls_diff_create)(s, &D);
    for (c = 0; c < 4; ++c) {
        DOPT_FN(dopt_nlls_diff_add_param)(D, DOPT_PARAM_DATA, &ty[c][1], 1, 0, &k[c]);
        DOPT_FN(dopt_nlls_diff_attach)(D, c, k[c], NULL);
    }
    memset(&o, 0, sizeof o);
    o.method = DOPT_NLLS_GN;
    o.max_iterations = 3;
    x = 0;
    DOPT_CHECK(DOPT_FN(dopt_nlls_diff_solve)(D, &o, &x, 0, NULL, NULL) == DOPT_OK, "forward");
    for (mode = 0; mode < 4; ++mode) {
        memset(&bo, 0, sizeof bo);
        bo.mode = (dopt_nlls_diff_mode)mode;
        bo.truncate = 1;
        bo.dlm_epsilon = (DOPT_REAL)(DOPT_IS_FLOAT ? 1e-2 : 1e-4);
        DOPT_CHECK(DOPT_FN(dopt_nlls_diff_backward)(D, &bo, &xbar, &x0bar, NULL, NULL) == DOPT_OK, "mode %d", mode);
        for (c = 0; c < 4; ++c) {
            double g = (double)DOPT_FN(dopt_nlls_diff_param_grad)(D, k[c])[0];
            DOPT_CHECK_CLOSE(g, ty[c][0] / tt, DOPT_TEST_TOL(1e-6, 2e-2), dopt_nlls_diff_mode_string((dopt_nlls_diff_mode)mode));
        }
    }
    DOPT_FN(dopt_nlls_diff_destroy)(D);
    DOPT_FN(dopt_nlls_solver_destroy)(s);
    DOPT_FN(dopt_nlls_problem_destroy)(p);
}

/* ---- factor reuse in IMPLICIT ---------------------------------------------------------------- */

/* A small graph of RG_N points in the plane, batch RG_B: a prior on point 0 and RG_E edges
 * r = exp(0.2 (x_j - x_i)) - m (componentwise: nonlinear, so H depends on the point), Cauchy loss
 * with a learnable radius, a learnable diagonal weight shared by the edges, learnable
 * measurements m (central differences).  Dense or dopt_sparse.h's linear solver, or (2) the test
 * lane solver of tests/lane_solver.h (lockstep LM). */
#define RG_N 6
#define RG_E 8
#define RG_B 3
static const int DOPT_FN(rg_edges)[RG_E][2] = {{0, 1}, {1, 2}, {2, 3}, {3, 4}, {4, 5}, {5, 0}, {0, 3}, {1, 4}};

static dopt_status DOPT_FN(rg_edge_fn)(const void *data, const DOPT_REAL *const *x, DOPT_REAL *r,
                                       DOPT_REAL *const *J)
{
    const DOPT_REAL *m = (const DOPT_REAL *)data;
    int k;
    for (k = 0; k < 2; ++k) {
        DOPT_REAL e = DOPT_M(exp)((DOPT_REAL)0.2 * (x[1][k] - x[0][k]));
        r[k] = e - m[k];
        if (J && J[0]) { J[0][2 * k + k] = -(DOPT_REAL)0.2 * e; J[0][2 * k + 1 - k] = 0; }
        if (J && J[1]) { J[1][2 * k + k] = (DOPT_REAL)0.2 * e; J[1][2 * k + 1 - k] = 0; }
    }
    return DOPT_OK;
}

static dopt_status DOPT_FN(rg_prior_fn)(const void *data, const DOPT_REAL *const *x, DOPT_REAL *r,
                                        DOPT_REAL *const *J)
{
    const DOPT_REAL *t = (const DOPT_REAL *)data;
    r[0] = x[0][0] - t[0];
    r[1] = x[0][1] - t[1];
    if (J && J[0]) { J[0][0] = 1; J[0][1] = 0; J[0][2] = 0; J[0][3] = 1; }
    return DOPT_OK;
}

typedef struct DOPT_FN(rg_prob) {
    DOPT_REAL M[RG_B][RG_E][2];   /* measurements (learnable, per element)                      */
    DOPT_REAL T[RG_B][2];         /* prior targets                                              */
    DOPT_REAL W[2];               /* the edges' diagonal weight (learnable, shared)             */
    DOPT_REAL radius, prior_w;
    DOPT_REAL x0[RG_B][2 * RG_N], x9[RG_B][2 * RG_N], x10[RG_B][2 * RG_N], xbar[RG_B][2 * RG_N];
    DOPT_FN(dopt_nlls_problem) *p;
    DOPT_FN(dopt_nlls_solver) *s;
    DOPT_FN(dopt_nlls_diff) *D;
    DOPT_FN(lane_ls) *lane;       /* the lane solver's counters (linear solver 2), else NULL     */
    int pM, pW, pR, n;
} DOPT_FN(rg_prob);

static int DOPT_FN(rg_build)(DOPT_FN(rg_prob) *P, int sparse, int keep)
{
    dopt_rng rng;
    DOPT_FN(dopt_manifold) m = DOPT_FN(dopt_manifold_euclidean)(2);
    DOPT_FN(dopt_linear_solver) ls;
    DOPT_REAL truth[RG_B][RG_N][2];
    int b, e, k, v, ok = 1;
    memset(P, 0, sizeof *P);
    dopt_rng_seed(&rng, 5, 1);
    P->W[0] = (DOPT_REAL)1.5; P->W[1] = (DOPT_REAL)0.7;
    P->radius = (DOPT_REAL)0.3;
    P->prior_w = 3;
    for (b = 0; b < RG_B; ++b) {
        for (v = 0; v < RG_N; ++v) {
            truth[b][v][0] = (DOPT_REAL)(2 * cos(1.0 * v) + 0.2 * dopt_rng_normal_d(&rng));
            truth[b][v][1] = (DOPT_REAL)(2 * sin(1.0 * v) + 0.2 * dopt_rng_normal_d(&rng));
            for (k = 0; k < 2; ++k)
                P->x0[b][2 * v + k] = truth[b][v][k] + (DOPT_REAL)(0.1 * dopt_rng_normal_d(&rng));
        }
        for (k = 0; k < 2; ++k) P->T[b][k] = truth[b][0][k];
        for (e = 0; e < RG_E; ++e)
            for (k = 0; k < 2; ++k) {
                int i = DOPT_FN(rg_edges)[e][0], j = DOPT_FN(rg_edges)[e][1];
                P->M[b][e][k] = DOPT_M(exp)((DOPT_REAL)0.2 * (truth[b][j][k] - truth[b][i][k])) +
                                (DOPT_REAL)(0.05 * dopt_rng_normal_d(&rng));
            }
        for (k = 0; k < 2 * RG_N; ++k) P->xbar[b][k] = (DOPT_REAL)(0.5 + 0.1 * k - 0.3 * b);
    }
    ok &= DOPT_FN(dopt_nlls_problem_create)(NULL, RG_B, &P->p) == DOPT_OK;
    for (v = 0; v < RG_N; ++v) ok &= DOPT_FN(dopt_nlls_add_variable)(P->p, &m, NULL) == DOPT_OK;
    {
        DOPT_FN(dopt_nlls_cost_desc) d;
        int v0 = 0;
        memset(&d, 0, sizeof d);
        d.fn = DOPT_FN(rg_prior_fn); d.data = P->T[0]; d.data_stride = sizeof P->T[0];
        d.rdim = 2; d.nvars = 1; d.vars = &v0;
        d.weight_kind = DOPT_WEIGHT_SCALAR; d.weight = &P->prior_w;
        ok &= DOPT_FN(dopt_nlls_add_cost)(P->p, &d, NULL) == DOPT_OK;
    }
    for (e = 0; e < RG_E; ++e) {
        DOPT_FN(dopt_nlls_cost_desc) d;
        memset(&d, 0, sizeof d);
        d.fn = DOPT_FN(rg_edge_fn); d.data = P->M[0][e]; d.data_stride = sizeof P->M[0];
        d.rdim = 2; d.nvars = 2; d.vars = DOPT_FN(rg_edges)[e];
        d.weight_kind = DOPT_WEIGHT_DIAGONAL; d.weight = P->W;
        d.loss = DOPT_LOSS_CAUCHY; d.loss_scale = P->radius;
        ok &= DOPT_FN(dopt_nlls_add_cost)(P->p, &d, NULL) == DOPT_OK;
    }
    if (sparse == 2) ok &= DOPT_FN(lane_solver)(0, &ls, &P->lane) == DOPT_OK;
    else if (sparse) ok &= DOPT_FN(dopt_sparse_linear_solver)(NULL, NULL, &ls) == DOPT_OK;
    else ok &= DOPT_FN(dopt_linear_solver_dense)(NULL, &ls) == DOPT_OK;
    ok &= DOPT_FN(dopt_nlls_solver_create)(P->p, &ls, &P->s, NULL) == DOPT_OK;
    if (!ok) return 0;
    if (keep) ok &= DOPT_FN(dopt_nlls_solver_keep_factors)(P->s, 1) == DOPT_OK;
    ok &= DOPT_FN(dopt_nlls_diff_create)(P->s, &P->D) == DOPT_OK;
    ok &= DOPT_FN(dopt_nlls_diff_add_param)(P->D, DOPT_PARAM_DATA, &P->M[0][0][0], 2 * RG_E, 2 * RG_E, &P->pM) == DOPT_OK;
    ok &= DOPT_FN(dopt_nlls_diff_learn_weight)(P->D, 1, &P->pW) == DOPT_OK;
    ok &= DOPT_FN(dopt_nlls_diff_learn_loss_scale)(P->D, &P->radius, &P->pR) == DOPT_OK;
    for (e = 0; e < RG_E; ++e) {
        ok &= DOPT_FN(dopt_nlls_diff_attach)(P->D, 1 + e, P->pM, NULL) == DOPT_OK;
        if (e > 0) ok &= DOPT_FN(dopt_nlls_diff_attach)(P->D, 1 + e, P->pW, NULL) == DOPT_OK;
        ok &= DOPT_FN(dopt_nlls_diff_attach)(P->D, 1 + e, P->pR, NULL) == DOPT_OK;
    }
    P->n = DOPT_FN(dopt_nlls_diff_tangent_size)(P->D);
    return ok && P->n == 2 * RG_N;
}

static void DOPT_FN(rg_free)(DOPT_FN(rg_prob) *P)
{
    DOPT_FN(dopt_nlls_diff_destroy)(P->D);
    DOPT_FN(dopt_nlls_solver_destroy)(P->s);
    DOPT_FN(dopt_nlls_problem_destroy)(P->p);
}

/* The bench's flow: 4 LM iterations recorded (x9), then `last` from x9 with nlls_solve (x10):
 * 0 one GN step, 1 two GN steps, 2 one LM step (damped). */
static int DOPT_FN(rg_forward)(DOPT_FN(rg_prob) *P, int last)
{
    DOPT_FN(dopt_nlls_options) lm = DOPT_FN(dopt_nlls_default_options)(), gn;
    lm.max_iterations = 4;
    lm.function_tolerance = -1;
    lm.gradient_tolerance = -1;
    lm.step_tolerance = -1;
    lm.lm_damping = DOPT_LM_DAMP_IDENTITY;
    lm.lm_update = DOPT_LM_UPDATE_FACTOR;
    lm.min_relative_decrease = (DOPT_REAL)1e-30;
    gn = lm;
    gn.method = last == 2 ? DOPT_NLLS_LM : DOPT_NLLS_GN;
    gn.max_iterations = last == 1 ? 2 : 1;
    memcpy(P->x9, P->x0, sizeof P->x0);
    if (DOPT_FN(dopt_nlls_diff_solve)(P->D, &lm, &P->x9[0][0], 0, NULL, NULL) != DOPT_OK) return 0;
    memcpy(P->x10, P->x9, sizeof P->x9);
    return DOPT_FN(dopt_nlls_solve)(P->s, &gn, &P->x10[0][0], 0, NULL, NULL, NULL) == DOPT_OK;
}

/* IMPLICIT backward; g gets every parameter gradient (M: RG_B x 2 RG_E, W: 2, radius: 1), reused
 * the sum of the reports' factor_reused, per[b] each element's. */
static dopt_status DOPT_FN(rg_backward)(DOPT_FN(rg_prob) *P, int no_reuse, double *g, int *reused, int *per)
{
    DOPT_FN(dopt_nlls_diff_options) bo;
    dopt_nlls_diff_report rep[RG_B];
    dopt_status st;
    int k, b;
    memset(&bo, 0, sizeof bo);
    bo.mode = DOPT_NLLS_DIFF_IMPLICIT;
    bo.no_factor_reuse = no_reuse;
    st = DOPT_FN(dopt_nlls_diff_backward)(P->D, &bo, &P->xbar[0][0], NULL, rep, NULL);
    for (k = 0; k < RG_B * 2 * RG_E; ++k) g[k] = (double)DOPT_FN(dopt_nlls_diff_param_grad)(P->D, P->pM)[k];
    g[RG_B * 2 * RG_E] = (double)DOPT_FN(dopt_nlls_diff_param_grad)(P->D, P->pW)[0];
    g[RG_B * 2 * RG_E + 1] = (double)DOPT_FN(dopt_nlls_diff_param_grad)(P->D, P->pW)[1];
    g[RG_B * 2 * RG_E + 2] = (double)DOPT_FN(dopt_nlls_diff_param_grad)(P->D, P->pR)[0];
    *reused = 0;
    for (b = 0; b < RG_B; ++b) {
        *reused += rep[b].factor_reused;
        if (per) per[b] = rep[b].factor_reused;
        if (rep[b].status != DOPT_OK) st = rep[b].status;
    }
    return st;
}

#define RG_NG (RG_B * 2 * RG_E + 3)

/* the reused-factor gradient equals the refactored one, elementwise (rounding level) */
static void DOPT_FN(rg_compare)(const double *g1, const double *g2, const char *what)
{
    double gmax = 0;
    int k;
    for (k = 0; k < RG_NG; ++k) gmax = fabs(g2[k]) > gmax ? fabs(g2[k]) : gmax;
    DOPT_CHECK(gmax > 0, "%s: a nonzero gradient", what);
    for (k = 0; k < RG_NG; ++k)
        DOPT_CHECK(fabs(g1[k] - g2[k]) <= DOPT_TEST_TOL(1e-12, 1e-5) * gmax, "%s: gradient %d: %.17g vs %.17g",
                   what, k, g1[k], g2[k]);
}

/* Theseus' flow: every element reuses the GN step's factor; same gradient as refactoring */
static void DOPT_FN(test_factor_reuse)(void)
{
    int sparse;
    for (sparse = 0; sparse < 2; ++sparse) {
        DOPT_FN(rg_prob) P;
        double g1[RG_NG], g2[RG_NG], g3[RG_NG];
        int reused = -1;
        const char *what = sparse ? "sparse" : "dense";
        DOPT_CHECK(DOPT_FN(rg_build)(&P, sparse, 1), "%s: build", what);
        DOPT_CHECK(DOPT_FN(rg_forward)(&P, 0), "%s: forward", what);
        DOPT_CHECK(DOPT_FN(rg_backward)(&P, 0, g1, &reused, NULL) == DOPT_OK, "%s: backward", what);
        DOPT_CHECK(reused == RG_B, "%s: every element reused its factor (%d of %d)", what, reused, RG_B);
        DOPT_CHECK(DOPT_FN(rg_backward)(&P, 1, g2, &reused, NULL) == DOPT_OK, "%s: backward, no reuse", what);
        DOPT_CHECK(reused == 0, "%s: no_factor_reuse refactors (%d reused)", what, reused);
        DOPT_FN(rg_compare)(g1, g2, what);
        /* the refactorization left the same factors: a second backward reuses them again */
        DOPT_CHECK(DOPT_FN(rg_backward)(&P, 0, g3, &reused, NULL) == DOPT_OK && reused == RG_B,
                   "%s: reuse after a refactorization (%d)", what, reused);
        DOPT_FN(rg_compare)(g3, g2, what);
        /* keep_factors back off: one slot, so the batch cannot reuse (each element overwrites it) */
        DOPT_CHECK(DOPT_FN(dopt_nlls_solver_keep_factors)(P.s, 0) == DOPT_OK, "%s: keep off", what);
        DOPT_CHECK(DOPT_FN(rg_forward)(&P, 0), "%s: forward, one slot", what);
        DOPT_CHECK(DOPT_FN(rg_backward)(&P, 0, g1, &reused, NULL) == DOPT_OK, "%s: backward, one slot", what);
        DOPT_CHECK(reused == 0, "%s: one slot for a batch of %d: nothing reused (%d)", what, RG_B, reused);
        DOPT_FN(rg_compare)(g1, g2, "one slot");
        DOPT_FN(rg_free)(&P);
    }
    { /* a linear solver without slots cannot keep factors */
        DOPT_FN(rg_prob) P;
        DOPT_FN(dopt_linear_solver) ls;
        DOPT_FN(dopt_nlls_solver) *s2;
        DOPT_CHECK(DOPT_FN(rg_build)(&P, 0, 0), "build");
        DOPT_FN(dopt_linear_solver_dense)(NULL, &ls);
        ls.reserve = NULL;
        ls.select = NULL;
        DOPT_CHECK(DOPT_FN(dopt_nlls_solver_create)(P.p, &ls, &s2, NULL) == DOPT_OK, "create");
        DOPT_CHECK(DOPT_FN(dopt_nlls_solver_keep_factors)(s2, 1) == DOPT_ERR_UNSUPPORTED, "no reserve: unsupported");
        DOPT_CHECK(DOPT_FN(dopt_nlls_solver_keep_factors)(s2, 0) == DOPT_OK, "keep 0: nothing to do");
        DOPT_FN(dopt_nlls_solver_destroy)(s2);
        DOPT_FN(rg_free)(&P);
    }
}

/* The forward LM in lockstep (the lane solver, no trace kept, so no iteration hook): the same
 * solution as the dense solver's sequential forward, bit for bit, and IMPLICIT still reuses every
 * element's kept GN factor (lockstep touches no slot) and gives the same gradient.  With the
 * whole trace kept (UNROLL's iteration hook) the forward stays sequential. */
static void DOPT_FN(test_factor_reuse_lockstep)(void)
{
    DOPT_FN(rg_prob) P, Q;
    double g1[RG_NG], g2[RG_NG];
    int reused = -1, k;
    long calls;
    DOPT_CHECK(DOPT_FN(rg_build)(&P, 2, 1) && DOPT_FN(rg_build)(&Q, 0, 1), "build");
    DOPT_CHECK(DOPT_FN(dopt_nlls_diff_keep_trace)(P.D, 0) == DOPT_OK &&
               DOPT_FN(dopt_nlls_diff_keep_trace)(Q.D, 0) == DOPT_OK, "keep no trace");
    DOPT_CHECK(DOPT_FN(rg_forward)(&P, 0) && DOPT_FN(rg_forward)(&Q, 0), "forward");
    DOPT_CHECK(P.lane->batch_calls > 0 && P.lane->max_count == RG_B, "the forward ran in lockstep (%ld calls)",
               P.lane->batch_calls);
    DOPT_CHECK(memcmp(P.x9, Q.x9, sizeof P.x9) == 0 && memcmp(P.x10, Q.x10, sizeof P.x10) == 0,
               "lockstep forward = sequential forward");
    DOPT_CHECK(DOPT_FN(rg_backward)(&P, 0, g1, &reused, NULL) == DOPT_OK, "backward");
    DOPT_CHECK(reused == RG_B, "every element reused its factor after a lockstep forward (%d)", reused);
    DOPT_CHECK(DOPT_FN(rg_backward)(&Q, 0, g2, &reused, NULL) == DOPT_OK && reused == RG_B, "dense backward");
    for (k = 0; k < RG_NG; ++k) DOPT_CHECK(g1[k] == g2[k], "gradient %d: %.17g vs %.17g", k, g1[k], g2[k]);
    /* one slot: the lockstep LM leaves slot 0 alone, the backward refactors (no reuse: the GN
       steps of the batch overwrote it), same gradient */
    DOPT_CHECK(DOPT_FN(dopt_nlls_solver_keep_factors)(P.s, 0) == DOPT_OK, "keep off");
    DOPT_CHECK(DOPT_FN(rg_forward)(&P, 0), "forward, one slot");
    DOPT_CHECK(DOPT_FN(rg_backward)(&P, 0, g1, &reused, NULL) == DOPT_OK && reused == 0, "backward, one slot (%d)", reused);
    DOPT_FN(rg_compare)(g1, g2, "lockstep, one slot");
    /* the whole trace: the iteration hook makes the forward sequential */
    DOPT_CHECK(DOPT_FN(dopt_nlls_diff_keep_trace)(P.D, -1) == DOPT_OK, "keep the trace");
    calls = P.lane->batch_calls;
    DOPT_CHECK(DOPT_FN(rg_forward)(&P, 0), "forward with trace");
    DOPT_CHECK(P.lane->batch_calls == calls, "a recorded trace keeps the forward sequential");
    DOPT_CHECK(memcmp(P.x10, Q.x10, sizeof P.x10) == 0, "same solution");
    DOPT_FN(rg_free)(&P);
    DOPT_FN(rg_free)(&Q);
}

/* Reuse must not happen when the system changed between the GN step and the backward; the
 * gradient is then the refactored one of the changed system. */
static void DOPT_FN(test_factor_reuse_refused)(void)
{
    int sparse, c;
    static const char *names[] = {"weight changed", "loss scale changed", "element 1's datum changed",
                                  "point moved (two GN steps)", "damped last step (LM)"};
    for (sparse = 0; sparse < 2; ++sparse)
        for (c = 0; c < 5; ++c) {
            DOPT_FN(rg_prob) P;
            double g1[RG_NG], g2[RG_NG];
            int reused = -1, per[RG_B], b;
            char what[96];
            snprintf(what, sizeof what, "%s, %s", sparse ? "sparse" : "dense", names[c]);
            DOPT_CHECK(DOPT_FN(rg_build)(&P, sparse, 1), "%s: build", what);
            DOPT_CHECK(DOPT_FN(rg_forward)(&P, c == 3 ? 1 : c == 4 ? 2 : 0), "%s: forward", what);
            if (c == 0) P.W[1] *= (DOPT_REAL)1.25;
            if (c == 1) P.radius *= (DOPT_REAL)1.25;
            if (c == 2) P.M[1][3][0] += (DOPT_REAL)0.01;
            DOPT_CHECK(DOPT_FN(rg_backward)(&P, 0, g1, &reused, per) == DOPT_OK, "%s: backward", what);
            for (b = 0; b < RG_B; ++b)
                DOPT_CHECK(per[b] == (c == 2 && b != 1), "%s: element %d reused %d", what, b, per[b]);
            DOPT_CHECK(DOPT_FN(rg_backward)(&P, 1, g2, &reused, NULL) == DOPT_OK && reused == 0,
                       "%s: backward, no reuse", what);
            DOPT_FN(rg_compare)(g1, g2, what);
            DOPT_FN(rg_free)(&P);
        }
}

/* A singular Gauss-Newton matrix: the GN step fails, nothing is kept, the backward reports
 * DOPT_ERR_SINGULAR as before (r = x0 + x1 - y) */
static dopt_status DOPT_FN(rs_fn)(const void *data, const DOPT_REAL *const *x, DOPT_REAL *r, DOPT_REAL *const *J)
{
    r[0] = x[0][0] + x[0][1] - *(const DOPT_REAL *)data;
    if (J && J[0]) { J[0][0] = 1; J[0][1] = 1; }
    return DOPT_OK;
}
static void DOPT_FN(test_factor_reuse_singular)(void)
{
    DOPT_FN(dopt_nlls_problem) *p;
    DOPT_FN(dopt_nlls_solver) *s;
    DOPT_FN(dopt_nlls_diff) *D;
    DOPT_FN(dopt_manifold) m = DOPT_FN(dopt_manifold_euclidean)(2);
    DOPT_FN(dopt_nlls_cost_desc) d;
    DOPT_FN(dopt_nlls_options) o;
    DOPT_FN(dopt_nlls_diff_options) bo;
    dopt_nlls_diff_report rep;
    DOPT_REAL y = 1, x[2] = {0, 0}, xbar[2] = {1, 0};
    int v, k = 0;
    DOPT_FN(dopt_nlls_problem_create)(NULL, 1, &p);
    DOPT_FN(dopt_nlls_add_variable)(p, &m, &v);
    memset(&d, 0, sizeof d);
    d.fn = DOPT_FN(rs_fn); d.data = &y; d.rdim = 1; d.nvars = 1; d.vars = &v;
    DOPT_FN(dopt_nlls_add_cost)(p, &d, NULL);
    DOPT_FN(dopt_nlls_solver_create)(p, NULL, &s, NULL);
    DOPT_FN(dopt_nlls_diff_create)(s, &D);
    DOPT_FN(dopt_nlls_diff_add_param)(D, DOPT_PARAM_DATA, &y, 1, 0, &k);
    DOPT_FN(dopt_nlls_diff_attach)(D, 0, k, NULL);
    memset(&o, 0, sizeof o); /* LM: the damping makes the forward solve fine */
    DOPT_CHECK(DOPT_FN(dopt_nlls_diff_solve)(D, &o, x, 0, NULL, NULL) == DOPT_OK, "forward LM");
    o.method = DOPT_NLLS_GN;
    o.max_iterations = 1;
    o.gradient_tolerance = -1; /* factor even where the gradient already vanishes */
    DOPT_CHECK(DOPT_FN(dopt_nlls_solve)(s, &o, x, 0, NULL, NULL, NULL) == DOPT_ERR_NOT_POSITIVE_DEFINITE,
               "the GN step fails on the singular matrix");
    memset(&bo, 0, sizeof bo);
    bo.mode = DOPT_NLLS_DIFF_IMPLICIT;
    DOPT_CHECK(DOPT_FN(dopt_nlls_diff_backward)(D, &bo, xbar, NULL, &rep, NULL) == DOPT_ERR_SINGULAR,
               "backward: DOPT_ERR_SINGULAR");
    DOPT_CHECK(rep.status == DOPT_ERR_SINGULAR && rep.factor_reused == 0, "report: singular, nothing reused");
    DOPT_CHECK(DOPT_FN(dopt_all_finite)(1, DOPT_FN(dopt_nlls_diff_param_grad)(D, k)), "no NaN gradient");
    DOPT_FN(dopt_nlls_diff_destroy)(D);
    DOPT_FN(dopt_nlls_solver_destroy)(s);
    DOPT_FN(dopt_nlls_problem_destroy)(p);
}
#undef RG_N
#undef RG_E
#undef RG_B
#undef RG_NG
#endif
