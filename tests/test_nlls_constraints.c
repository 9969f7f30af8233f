/* test_nlls_constraints.c — bounds and equality constraints in the least-squares layer
 * (dopt_nlls_set_bounds, dopt_nlls_add_constraint; CONSTRAINED LEAST SQUARES in dopt.h).
 *
 *   - bound-constrained linear least squares, and with a linear equality on top, against a dense
 *     reference written here: enumeration of every active pattern (free / at lower / at upper per
 *     coordinate), each solved by its KKT system with Gaussian elimination, the one that is
 *     feasible with multipliers of the right signs kept (1e-9), on random problems;
 *   - bound-constrained NONLINEAR least squares (dense and sparse linear solvers) against the same
 *     enumeration with a projected Gauss-Newton solve per pattern (1e-9), on random problems;
 *   - a nonlinear problem with a nonlinear equality (a circle) and bounds: c(x) = 0 to 1e-10 and
 *     the KKT conditions (projected Lagrangian gradient, computed here, to 1e-8);
 *   - IMPLICIT gradients through active bounds and equalities against central differences of
 *     the constrained solution map (1e-6);
 *   - editing costs between solves against a fresh solver; learnable damping against central
 *     differences of the unrolled map; a ragged batch against each element's solo solve, and
 *     IMPLICIT gradients through a ragged batch against central differences;
 *   - a float smoke test and the bad-argument statuses. */
#define DOPT_IMPLEMENTATION
#include "dopt.h"
#include "dopt_sparse.h"
#include "dopt_lie.h"
#include "dopt_test.h"

/* ---- a linear problem: 2 variables of R^2, NR costs r_i = a_i . x - Y_i ------------------------- */

#define TC_NR 6
#define TC_B 3

typedef struct tc_cost {
    double a[4];
    const double *Y; /* this element's data (the learnable Y parameter), Y[i] */
    int i;
} tc_cost;

static dopt_status tc_lin(const void *data, const double *const *x, double *r, double *const *J)
{
    const tc_cost *c = (const tc_cost *)data;
    r[0] = c->a[0] * x[0][0] + c->a[1] * x[0][1] + c->a[2] * x[1][0] + c->a[3] * x[1][1] - c->Y[c->i];
    if (J) {
        if (J[0]) { J[0][0] = c->a[0]; J[0][1] = c->a[1]; }
        if (J[1]) { J[1][0] = c->a[2]; J[1][1] = c->a[3]; }
    }
    return DOPT_OK;
}

static dopt_status tc_lin_vjp(const void *data, const double *const *x, const double *rbar, int slot, double *pbar)
{
    const tc_cost *c = (const tc_cost *)data;
    (void)x; (void)slot;
    pbar[c->i] -= rbar[0];
    return DOPT_OK;
}

/* the linear equality e . x = f */
typedef struct tc_eq { double e[4], f; } tc_eq;

static dopt_status tc_lineq(const void *data, const double *const *x, double *r, double *const *J)
{
    const tc_eq *q = (const tc_eq *)data;
    r[0] = q->e[0] * x[0][0] + q->e[1] * x[0][1] + q->e[2] * x[1][0] + q->e[3] * x[1][1] - q->f;
    if (J) {
        if (J[0]) { J[0][0] = q->e[0]; J[0][1] = q->e[1]; }
        if (J[1]) { J[1][0] = q->e[2]; J[1][1] = q->e[3]; }
    }
    return DOPT_OK;
}

static uint64_t tc_seed = 88172645463325252ULL;
static double tc_rand(void) /* uniform in [-1, 1) */
{
    tc_seed ^= tc_seed << 13; tc_seed ^= tc_seed >> 7; tc_seed ^= tc_seed << 17;
    return (double)(tc_seed >> 11) / 4503599627370496.0 - 1.0;
}

/* Gaussian elimination with partial pivoting: M (k x k, row-major) z = rhs; 0 when singular */
static int tc_gauss(int k, double *M, double *z)
{
    int i, j, r, p;
    for (j = 0; j < k; ++j) {
        p = j;
        for (r = j + 1; r < k; ++r) if (fabs(M[r * k + j]) > fabs(M[p * k + j])) p = r;
        if (fabs(M[p * k + j]) < 1e-14) return 0;
        for (i = 0; i < k; ++i) { double t = M[j * k + i]; M[j * k + i] = M[p * k + i]; M[p * k + i] = t; }
        { double t = z[j]; z[j] = z[p]; z[p] = t; }
        for (r = j + 1; r < k; ++r) {
            double f = M[r * k + j] / M[j * k + j];
            for (i = j; i < k; ++i) M[r * k + i] -= f * M[j * k + i];
            z[r] -= f * z[j];
        }
    }
    for (j = k - 1; j >= 0; --j) {
        for (i = j + 1; i < k; ++i) z[j] -= M[j * k + i] * z[i];
        z[j] /= M[j * k + j];
    }
    return 1;
}

/* Reference: min 1/2 |A x - Y|^2 s.t. lo <= x <= hi (and e . x = f when neq), by enumerating the
 * 3^4 active patterns.  Returns 1 and x when exactly one pattern satisfies the KKT conditions. */
static int tc_reference(double A[TC_NR][4], const double *Y, const double *lo, const double *hi,
                        int neq, const tc_eq *q, double x[4])
{
    int pat, found = 0;
    for (pat = 0; pat < 81; ++pat) {
        int st[4], fr[4], nf = 0, i, j, r, ok = 1, t = pat;
        double xx[4], M[25], z[5], g[4], y = 0;
        for (i = 0; i < 4; ++i) { st[i] = t % 3; t /= 3; }
        for (i = 0; i < 4 && ok; ++i) {
            if (st[i] == 1) { if (!isfinite(lo[i])) ok = 0; xx[i] = lo[i]; }
            else if (st[i] == 2) { if (!isfinite(hi[i])) ok = 0; xx[i] = hi[i]; }
            else { fr[nf++] = i; xx[i] = 0; }
        }
        if (!ok) continue;
        {
            int k = nf + (neq ? 1 : 0);
            for (i = 0; i < k * k; ++i) M[i] = 0;
            for (i = 0; i < nf; ++i) {
                z[i] = 0;
                for (r = 0; r < TC_NR; ++r) {
                    double rr = Y[r];
                    for (j = 0; j < 4; ++j) if (st[j]) rr -= A[r][j] * xx[j];
                    z[i] += A[r][fr[i]] * rr;
                    for (j = 0; j < nf; ++j) M[i * k + j] += A[r][fr[i]] * A[r][fr[j]];
                }
                if (neq) { M[i * k + nf] = q->e[fr[i]]; M[nf * k + i] = q->e[fr[i]]; }
            }
            if (neq) {
                z[nf] = q->f;
                for (j = 0; j < 4; ++j) if (st[j]) z[nf] -= q->e[j] * xx[j];
            }
            if (k && !tc_gauss(k, M, z)) continue;
            for (i = 0; i < nf; ++i) xx[fr[i]] = z[i];
            if (neq) y = z[nf];
        }
        for (i = 0; i < 4; ++i) {
            g[i] = neq ? y * q->e[i] : 0;
            for (r = 0; r < TC_NR; ++r) {
                double rr = -Y[r];
                for (j = 0; j < 4; ++j) rr += A[r][j] * xx[j];
                g[i] += A[r][i] * rr;
            }
            if (xx[i] < lo[i] - 1e-12 || xx[i] > hi[i] + 1e-12) ok = 0;
            if (st[i] == 1 && g[i] < -1e-12) ok = 0;
            if (st[i] == 2 && g[i] > 1e-12) ok = 0;
        }
        if (!ok) continue;
        for (i = 0; i < 4; ++i) x[i] = xx[i];
        found++;
    }
    return found == 1;
}

/* One random batch: A per element (shared structure), Y, bounds (some infinite); x0 random. */
typedef struct tc_setup {
    double A[TC_B][TC_NR][4];
    double Y[TC_B][TC_NR];
    double lo[TC_B][4], hi[TC_B][4];
    tc_cost cost[TC_B][TC_NR];
    tc_eq eq[TC_B];
    double x[TC_B][4];
} tc_setup;

static void tc_fill(tc_setup *S)
{
    int b, i, j;
    for (b = 0; b < TC_B; ++b) {
        for (i = 0; i < TC_NR; ++i) {
            for (j = 0; j < 4; ++j) S->A[b][i][j] = S->cost[b][i].a[j] = tc_rand();
            S->Y[b][i] = 2 * tc_rand();
            S->cost[b][i].Y = S->Y[b];
            S->cost[b][i].i = i;
        }
        for (j = 0; j < 4; ++j) {
            S->lo[b][j] = -0.6 + 0.3 * tc_rand();
            S->hi[b][j] = 0.6 + 0.3 * tc_rand();
            S->x[b][j] = 0.5 * tc_rand();
        }
        S->lo[b][3] = -HUGE_VAL; /* the second variable's second coordinate: one-sided */
        for (j = 0; j < 4; ++j) S->eq[b].e[j] = tc_rand();
        S->eq[b].f = 0.3 * tc_rand();
    }
}

/* problem over S (element b's costs at stride sizeof one element's cost row) */
static dopt_nlls_problem_d *tc_problem(tc_setup *S, int neq, int *cost_index)
{
    dopt_nlls_problem_d *p = NULL;
    dopt_manifold_d R2 = dopt_manifold_euclidean_d(2);
    int v[2], i;
    if (dopt_nlls_problem_create_d(NULL, TC_B, &p)) return NULL;
    dopt_nlls_add_variable_d(p, &R2, &v[0]);
    dopt_nlls_add_variable_d(p, &R2, &v[1]);
    for (i = 0; i < TC_NR; ++i) {
        dopt_nlls_cost_desc_d d;
        memset(&d, 0, sizeof d);
        d.fn = tc_lin; d.data = &S->cost[0][i]; d.data_stride = sizeof S->cost[0];
        d.rdim = 1; d.nvars = 2; d.vars = v;
        dopt_nlls_add_cost_d(p, &d, cost_index ? cost_index + i : NULL);
    }
    dopt_nlls_set_bounds_d(p, 0, S->lo[0], S->hi[0], 4);
    dopt_nlls_set_bounds_d(p, 1, S->lo[0] + 2, S->hi[0] + 2, 4);
    if (neq) {
        dopt_nlls_cost_desc_d d;
        memset(&d, 0, sizeof d);
        d.fn = tc_lineq; d.data = &S->eq[0]; d.data_stride = sizeof S->eq[0];
        d.rdim = 1; d.nvars = 2; d.vars = v;
        dopt_nlls_add_constraint_d(p, &d, NULL);
    }
    return p;
}

static dopt_nlls_options_d tc_options(void)
{
    dopt_nlls_options_d o;
    memset(&o, 0, sizeof o);
    o.max_iterations = 200;
    o.gradient_tolerance = 1e-12;
    o.function_tolerance = DOPT_OFF;
    o.step_tolerance = DOPT_OFF;
    o.constraint_tolerance = 1e-12;
    return o;
}

static void test_bounds_vs_reference(void)
{
    int trial, neq, ntr = getenv("DOPT_TEST_QUICK") ? 4 : 25;
    for (neq = 0; neq <= 1; ++neq)
        for (trial = 0; trial < ntr; ++trial) {
            static tc_setup S;
            dopt_nlls_problem_d *p;
            dopt_nlls_solver_d *s = NULL;
            dopt_nlls_report rep[TC_B];
            dopt_nlls_options_d o = tc_options();
            dopt_status st;
            int b, j, nact = 0;
            tc_fill(&S);
            p = tc_problem(&S, neq, NULL);
            DOPT_CHECK(p && dopt_nlls_solver_create_d(p, NULL, &s, NULL) == DOPT_OK, "create");
            if (!s) { dopt_nlls_problem_destroy_d(p); return; }
            st = dopt_nlls_solve_d(s, &o, &S.x[0][0], 4, rep, NULL, NULL);
            DOPT_CHECK(st == DOPT_OK, "solve status %d", (int)st);
            for (b = 0; b < TC_B; ++b) {
                double xr[4];
                int ok = tc_reference(S.A[b], S.Y[b], S.lo[b], S.hi[b], neq, &S.eq[b], xr);
                DOPT_CHECK(ok, "reference found no unique KKT point (trial %d, b %d)", trial, b);
                DOPT_CHECK(rep[b].stop == DOPT_STOP_GRADIENT || rep[b].stop == DOPT_STOP_STEP, "neq %d: stop %d after %d iterations (trial %d b %d)", neq,
                           (int)rep[b].stop, rep[b].iterations, trial, b);
                for (j = 0; j < 4 && ok; ++j) DOPT_CHECK_CLOSE(S.x[b][j], xr[j], 1e-9, "x vs the reference");
                for (j = 0; j < 4; ++j)
                    DOPT_CHECK(S.x[b][j] >= S.lo[b][j] && S.x[b][j] <= S.hi[b][j], "x outside the box");
                if (neq) {
                    double c = -S.eq[b].f;
                    for (j = 0; j < 4; ++j) c += S.eq[b].e[j] * S.x[b][j];
                    DOPT_CHECK(fabs(c) <= 1e-10, "c(x) = %g", c);
                    DOPT_CHECK(dopt_nlls_multipliers_d(s, b) != NULL, "multipliers");
                }
                nact += rep[b].active_bounds;
            }
            if (trial == ntr - 1) DOPT_CHECK(nact > 0 || trial < 3, "no bound was ever active: the test tests nothing");
            dopt_nlls_solver_destroy_d(s);
            dopt_nlls_problem_destroy_d(p);
        }
}

/* ---- nonlinear bound-constrained least squares vs a dense projected-Newton reference ---------- */
/* r_i = a_i . x + TB_S sin(c_i . x) - Y_i on the R^4 of tc_setup (two R^2 variables), boxed.  The
 * reference, written here: for every active pattern (3^4), Gauss-Newton with halving on the free
 * coordinates (the others held at their bound) to a stationary point, kept when it is inside the
 * box and the gradient at each held coordinate points out of the box; exactly one such point is
 * required (the trial is skipped otherwise, and most trials must be checked). */
#define TB_S 0.3

typedef struct tb_cost { double a[4], c[4], Y; } tb_cost;

static dopt_status tb_res(const void *data, const double *const *x, double *r, double *const *J)
{
    const tb_cost *q = (const tb_cost *)data;
    double xv[4], ax = 0, cx = 0;
    int j;
    xv[0] = x[0][0]; xv[1] = x[0][1]; xv[2] = x[1][0]; xv[3] = x[1][1];
    for (j = 0; j < 4; ++j) { ax += q->a[j] * xv[j]; cx += q->c[j] * xv[j]; }
    r[0] = ax + TB_S * sin(cx) - q->Y;
    if (J)
        for (j = 0; j < 4; ++j) {
            double d = q->a[j] + TB_S * cos(cx) * q->c[j];
            if (J[j / 2]) J[j / 2][j % 2] = d;
        }
    return DOPT_OK;
}

/* S(x) and its gradient g (4) and Gauss-Newton matrix M (4 x 4) over the TC_NR costs */
static double tb_eval(const tb_cost *q, const double *x, double *g, double *M)
{
    double S = 0;
    int i, j, k;
    for (j = 0; j < 4; ++j) { g[j] = 0; for (k = 0; k < 4; ++k) M[j * 4 + k] = 0; }
    for (i = 0; i < TC_NR; ++i) {
        double r, Jr[4], J0[2], J1[2];
        const double *xv[2]; double *Jv[2];
        xv[0] = x; xv[1] = x + 2; Jv[0] = J0; Jv[1] = J1;
        tb_res(q + i, xv, &r, Jv);
        Jr[0] = J0[0]; Jr[1] = J0[1]; Jr[2] = J1[0]; Jr[3] = J1[1];
        S += 0.5 * r * r;
        for (j = 0; j < 4; ++j) {
            g[j] += Jr[j] * r;
            for (k = 0; k < 4; ++k) M[j * 4 + k] += Jr[j] * Jr[k];
        }
    }
    return S;
}

/* Gauss-Newton on the free coordinates fr[0..nf-1] of x (the others fixed); 1 when it reached a
 * stationary point (free gradient <= 1e-13) */
static int tb_gauss_newton(const tb_cost *q, const int *fr, int nf, double *x)
{
    int it, i, j;
    for (it = 0; it < 1000; ++it) {
        double g[4], M[16], Mf[16], z[4], gmax = 0, S0, t = 1, xt[4];
        S0 = tb_eval(q, x, g, M);
        for (i = 0; i < nf; ++i) {
            if (fabs(g[fr[i]]) > gmax) gmax = fabs(g[fr[i]]);
            z[i] = -g[fr[i]];
            for (j = 0; j < nf; ++j) Mf[i * nf + j] = M[fr[i] * 4 + fr[j]];
        }
        if (gmax <= 1e-13) return 1;
        if (!tc_gauss(nf, Mf, z)) return 0;
        for (;;) { /* halving until S does not grow */
            double gt[4], Mt[16];
            memcpy(xt, x, sizeof xt);
            for (i = 0; i < nf; ++i) xt[fr[i]] += t * z[i];
            if (tb_eval(q, xt, gt, Mt) <= S0 || t < 1e-12) break;
            t /= 2;
        }
        memcpy(x, xt, sizeof xt);
    }
    return 0;
}

static int tb_reference(const tb_cost *q, const double *lo, const double *hi, double x[4])
{
    int pat, found = 0;
    for (pat = 0; pat < 81; ++pat) {
        int st[4], fr[4], nf = 0, i, ok = 1, t = pat;
        double xx[4], g[4], M[16];
        for (i = 0; i < 4; ++i) { st[i] = t % 3; t /= 3; }
        for (i = 0; i < 4 && ok; ++i) {
            if (st[i] == 1) { if (!isfinite(lo[i])) ok = 0; xx[i] = lo[i]; }
            else if (st[i] == 2) { if (!isfinite(hi[i])) ok = 0; xx[i] = hi[i]; }
            else { fr[nf++] = i; xx[i] = 0; }
        }
        if (!ok || !tb_gauss_newton(q, fr, nf, xx)) continue;
        tb_eval(q, xx, g, M);
        for (i = 0; i < 4; ++i) {
            if (xx[i] < lo[i] - 1e-12 || xx[i] > hi[i] + 1e-12) ok = 0;
            if (st[i] == 1 && g[i] < -1e-12) ok = 0;
            if (st[i] == 2 && g[i] > 1e-12) ok = 0;
        }
        if (!ok) continue;
        memcpy(x, xx, sizeof xx);
        found++;
    }
    return found == 1;
}

static dopt_status tb_sparse_maker(void *user, const dopt_nlls_problem_d *p, dopt_linear_solver_d *out);

static void test_nonlinear_bounds_vs_reference(void)
{
    int trial, sparse, checked = 0, active = 0, ntr = getenv("DOPT_TEST_QUICK") ? 6 : 30;
    for (trial = 0; trial < ntr; ++trial) {
        static tb_cost q[TC_B][TC_NR];
        double lo[TC_B][4], hi[TC_B][4], x0[TC_B][4], xr[TC_B][4];
        int ok[TC_B], b, i, j;
        for (b = 0; b < TC_B; ++b) {
            for (i = 0; i < TC_NR; ++i) {
                for (j = 0; j < 4; ++j) { q[b][i].a[j] = tc_rand(); q[b][i].c[j] = tc_rand(); }
                q[b][i].Y = 2 * tc_rand();
            }
            for (j = 0; j < 4; ++j) {
                lo[b][j] = -0.6 + 0.3 * tc_rand();
                hi[b][j] = 0.6 + 0.3 * tc_rand();
                x0[b][j] = 0.5 * tc_rand();
            }
            hi[b][1] = HUGE_VAL; /* one-sided */
            ok[b] = tb_reference(q[b], lo[b], hi[b], xr[b]);
        }
        for (sparse = 0; sparse <= 1; ++sparse) {
            dopt_nlls_problem_d *p = NULL;
            dopt_nlls_solver_d *s = NULL;
            dopt_manifold_d R2 = dopt_manifold_euclidean_d(2);
            dopt_linear_solver_d ls;
            dopt_nlls_report rep[TC_B];
            dopt_nlls_options_d o = tc_options();
            double x[TC_B][4];
            o.max_iterations = 1000; /* large residuals: Gauss-Newton's linear rate, slow at times */
            int v[2];
            dopt_nlls_problem_create_d(NULL, TC_B, &p);
            dopt_nlls_add_variable_d(p, &R2, &v[0]);
            dopt_nlls_add_variable_d(p, &R2, &v[1]);
            for (i = 0; i < TC_NR; ++i) {
                dopt_nlls_cost_desc_d d;
                memset(&d, 0, sizeof d);
                d.fn = tb_res; d.data = &q[0][i]; d.data_stride = sizeof q[0];
                d.rdim = 1; d.nvars = 2; d.vars = v;
                dopt_nlls_add_cost_d(p, &d, NULL);
            }
            dopt_nlls_set_bounds_d(p, 0, lo[0], hi[0], 4);
            dopt_nlls_set_bounds_d(p, 1, lo[0] + 2, hi[0] + 2, 4);
            if (sparse) tb_sparse_maker(NULL, p, &ls);
            DOPT_CHECK(dopt_nlls_solver_create_d(p, sparse ? &ls : NULL, &s, NULL) == DOPT_OK, "create");
            memcpy(x, x0, sizeof x);
            DOPT_CHECK(s && dopt_nlls_solve_d(s, &o, &x[0][0], 4, rep, NULL, NULL) == DOPT_OK, "solve");
            for (b = 0; b < TC_B && s; ++b) {
                for (j = 0; j < 4; ++j) DOPT_CHECK(x[b][j] >= lo[b][j] && x[b][j] <= hi[b][j], "x outside the box");
                if (!ok[b]) continue; /* (the reference's Gauss-Newton did not converge either) */
                DOPT_CHECK(rep[b].stop == DOPT_STOP_GRADIENT || rep[b].stop == DOPT_STOP_STEP, "stop %d, gradient %g (trial %d b %d sparse %d)",
                           (int)rep[b].stop, rep[b].gradient_norm, trial, b, sparse);
                for (j = 0; j < 4; ++j)
                    DOPT_CHECK(fabs(x[b][j] - xr[b][j]) <= 1e-9, "x vs the projected-Newton reference: %.17g vs %.17g (trial %d b %d sparse %d)",
                               x[b][j], xr[b][j], trial, b, sparse);
                checked++;
                active += rep[b].active_bounds;
            }
            dopt_nlls_solver_destroy_d(s);
            dopt_nlls_problem_destroy_d(p);
        }
    }
    DOPT_CHECK(checked >= ntr * TC_B, "too few elements with a unique reference (%d of %d)", checked, 2 * ntr * TC_B);
    DOPT_CHECK(active > checked / 4, "bounds were rarely active (%d over %d solves): the test tests little", active, checked);
}

/* ---- a nonlinear problem: point p in R^2 on the unit circle, q in a box, fitting targets ------ */

typedef struct tn_data { double t[2], w; } tn_data;

/* r = w (sin-warped p + q - t) */
static dopt_status tn_res(const void *data, const double *const *x, double *r, double *const *J)
{
    const tn_data *d = (const tn_data *)data;
    r[0] = d->w * (x[0][0] + 0.3 * sin(x[0][1]) + x[1][0] - d->t[0]);
    r[1] = d->w * (x[0][1] + 0.3 * x[0][0] * x[0][0] + x[1][1] - d->t[1]);
    if (J) {
        if (J[0]) { J[0][0] = d->w; J[0][1] = d->w * 0.3 * cos(x[0][1]); J[0][2] = d->w * 0.6 * x[0][0]; J[0][3] = d->w; }
        if (J[1]) { J[1][0] = d->w; J[1][1] = 0; J[1][2] = 0; J[1][3] = d->w; }
    }
    return DOPT_OK;
}

/* r = q - 0.2 (a weak prior keeping q determined) */
static dopt_status tn_prior(const void *data, const double *const *x, double *r, double *const *J)
{
    (void)data;
    r[0] = x[0][0] - 0.2; r[1] = x[0][1] - 0.2;
    if (J && J[0]) { J[0][0] = 1; J[0][1] = 0; J[0][2] = 0; J[0][3] = 1; }
    return DOPT_OK;
}

/* c = |p|^2 - 1 */
static dopt_status tn_circle(const void *data, const double *const *x, double *r, double *const *J)
{
    (void)data;
    r[0] = x[0][0] * x[0][0] + x[0][1] * x[0][1] - 1;
    if (J && J[0]) { J[0][0] = 2 * x[0][0]; J[0][1] = 2 * x[0][1]; }
    return DOPT_OK;
}

static void test_nonlinear_kkt(void)
{
    tn_data d[3] = {{{1.5, 0.4}, 1}, {{1.2, -0.3}, 0.7}, {{0.9, 1.1}, 1.3}};
    double lo[2] = {-0.1, -0.05}, hi[2] = {0.1, 0.3}, x[4] = {0.3, 0.2, 0, 0};
    dopt_nlls_problem_d *p;
    dopt_nlls_solver_d *s = NULL;
    dopt_nlls_report rep;
    dopt_nlls_options_d o = tc_options();
    dopt_manifold_d R2 = dopt_manifold_euclidean_d(2);
    int v[2], i, j;
    const double *y;
    dopt_nlls_problem_create_d(NULL, 1, &p);
    dopt_nlls_add_variable_d(p, &R2, &v[0]);
    dopt_nlls_add_variable_d(p, &R2, &v[1]);
    for (i = 0; i < 3; ++i) {
        dopt_nlls_cost_desc_d c;
        memset(&c, 0, sizeof c);
        c.fn = tn_res; c.data = &d[i]; c.rdim = 2; c.nvars = 2; c.vars = v;
        dopt_nlls_add_cost_d(p, &c, NULL);
    }
    {
        dopt_nlls_cost_desc_d c;
        memset(&c, 0, sizeof c);
        c.fn = tn_prior; c.rdim = 2; c.nvars = 1; c.vars = &v[1];
        dopt_nlls_add_cost_d(p, &c, NULL);
        c.fn = tn_circle; c.rdim = 1; c.vars = &v[0];
        DOPT_CHECK(dopt_nlls_add_constraint_d(p, &c, NULL) == DOPT_OK, "add_constraint");
        c.weight_kind = DOPT_WEIGHT_SCALAR; c.weight = lo;
        DOPT_CHECK(dopt_nlls_add_constraint_d(p, &c, NULL) == DOPT_ERR_INVALID_ARGUMENT, "weighted constraint refused");
    }
    DOPT_CHECK(dopt_nlls_set_bounds_d(p, 1, lo, hi, 0) == DOPT_OK, "set_bounds");
    DOPT_CHECK(dopt_nlls_set_bounds_d(p, 7, lo, hi, 0) == DOPT_ERR_INVALID_ARGUMENT, "bad variable");
    DOPT_CHECK(dopt_nlls_num_constraint_rows_d(p) == 1, "rows");
    DOPT_CHECK(dopt_nlls_solver_create_d(p, NULL, &s, NULL) == DOPT_OK, "create");
    if (!s) { dopt_nlls_problem_destroy_d(p); return; }
    DOPT_CHECK(dopt_nlls_solve_d(s, &o, x, 0, &rep, NULL, NULL) == DOPT_OK, "solve");
    DOPT_CHECK(rep.stop == DOPT_STOP_GRADIENT || rep.stop == DOPT_STOP_STEP, "stop %d", (int)rep.stop);
    DOPT_CHECK(fabs(x[0] * x[0] + x[1] * x[1] - 1) <= 1e-10, "c(x) = %g", x[0] * x[0] + x[1] * x[1] - 1);
    DOPT_CHECK(rep.active_bounds >= 1, "an active bound expected (%d)", rep.active_bounds);
    y = dopt_nlls_multipliers_d(s, 0);
    DOPT_CHECK(y != NULL, "multipliers");
    if (y) { /* KKT: the gradient of S + y c, projected on the box, vanishes; computed here */
        double g[4] = {0, 0, 0, 0};
        for (i = 0; i < 3; ++i) {
            double r[2], J0[4], J1[4];
            const double *xv[2]; double *Jv[2];
            xv[0] = x; xv[1] = x + 2; Jv[0] = J0; Jv[1] = J1;
            tn_res(&d[i], xv, r, Jv);
            for (j = 0; j < 2; ++j) {
                g[j] += J0[0 * 2 + j] * r[0] + J0[1 * 2 + j] * r[1];
                g[2 + j] += J1[0 * 2 + j] * r[0] + J1[1 * 2 + j] * r[1];
            }
        }
        g[2] += x[2] - 0.2; g[3] += x[3] - 0.2;
        g[0] += y[0] * 2 * x[0]; g[1] += y[0] * 2 * x[1];
        for (j = 0; j < 4; ++j) {
            double gp = g[j];
            if (j >= 2 && x[j] <= lo[j - 2] && gp > 0) gp = 0;
            if (j >= 2 && x[j] >= hi[j - 2] && gp < 0) gp = 0;
            DOPT_CHECK(fabs(gp) <= 1e-8, "projected Lagrangian gradient %d: %g", j, gp);
            if (j >= 2) DOPT_CHECK(x[j] >= lo[j - 2] && x[j] <= hi[j - 2], "box");
        }
    }
    dopt_nlls_solver_destroy_d(s);
    dopt_nlls_problem_destroy_d(p);
}

/* The nonlinear problem with learnable scalar weights wt[0..2] of its three fitting costs (the
 * tn_data weights set to 1): solve from x0; *s_out / *p_out keep the solver when asked. */
static int tn_solve(double *wt, double x[4], dopt_nlls_solver_d **s_out, dopt_nlls_problem_d **p_out,
                    dopt_nlls_diff_d **D_out, int *kw)
{
    static tn_data d[3] = {{{1.5, 0.4}, 1}, {{1.2, -0.3}, 1}, {{0.9, 1.1}, 1}};
    static double lo[2] = {-0.1, -0.05}, hi[2] = {0.1, 0.3};
    dopt_nlls_problem_d *p;
    dopt_nlls_solver_d *s = NULL;
    dopt_nlls_diff_d *D = NULL;
    dopt_nlls_options_d o = tc_options();
    dopt_manifold_d R2 = dopt_manifold_euclidean_d(2);
    int v[2], i, c[3], ok;
    x[0] = 0.3; x[1] = 0.2; x[2] = 0; x[3] = 0;
    dopt_nlls_problem_create_d(NULL, 1, &p);
    dopt_nlls_add_variable_d(p, &R2, &v[0]);
    dopt_nlls_add_variable_d(p, &R2, &v[1]);
    for (i = 0; i < 3; ++i) {
        dopt_nlls_cost_desc_d cd;
        memset(&cd, 0, sizeof cd);
        cd.fn = tn_res; cd.data = &d[i]; cd.rdim = 2; cd.nvars = 2; cd.vars = v;
        cd.weight_kind = DOPT_WEIGHT_SCALAR; cd.weight = wt + i;
        dopt_nlls_add_cost_d(p, &cd, &c[i]);
    }
    {
        dopt_nlls_cost_desc_d cd;
        memset(&cd, 0, sizeof cd);
        cd.fn = tn_prior; cd.rdim = 2; cd.nvars = 1; cd.vars = &v[1];
        dopt_nlls_add_cost_d(p, &cd, NULL);
        cd.fn = tn_circle; cd.rdim = 1; cd.vars = &v[0];
        dopt_nlls_add_constraint_d(p, &cd, NULL);
    }
    dopt_nlls_set_bounds_d(p, 1, lo, hi, 0);
    ok = dopt_nlls_solver_create_d(p, NULL, &s, NULL) == DOPT_OK;
    if (ok && D_out) {
        ok = dopt_nlls_diff_create_d(s, &D) == DOPT_OK;
        for (i = 0; i < 3 && ok; ++i) ok = dopt_nlls_diff_learn_weight_d(D, c[i], kw + i) == DOPT_OK;
        ok = ok && dopt_nlls_diff_solve_d(D, &o, x, 0, NULL, NULL) == DOPT_OK;
    } else if (ok) {
        ok = dopt_nlls_solve_d(s, &o, x, 0, NULL, NULL, NULL) == DOPT_OK;
    }
    if (D_out) *D_out = D; else dopt_nlls_diff_destroy_d(D);
    if (s_out) *s_out = s; else dopt_nlls_solver_destroy_d(s);
    if (p_out) *p_out = p; else dopt_nlls_problem_destroy_d(p);
    return ok;
}

/* implicit_exact through a curved equality (the circle) and an active bound: the exact
 * Lagrangian Hessian; the Gauss-Newton one (implicit_exact 0) must differ here */
static void test_implicit_nonlinear(void)
{
    double wt[3] = {1, 0.7, 1.3}, x[4], xp[4], xm[4], xbar[4] = {0.3, -1.1, 0.7, 0.4};
    dopt_nlls_solver_d *s = NULL;
    dopt_nlls_problem_d *p = NULL;
    dopt_nlls_diff_d *D = NULL;
    dopt_nlls_diff_options_d bo;
    int kw[3], k, j, differs = 0;
    double g_exact[3], g_gn[3];
    DOPT_CHECK(tn_solve(wt, x, &s, &p, &D, kw), "forward");
    if (!D) { dopt_nlls_solver_destroy_d(s); dopt_nlls_problem_destroy_d(p); return; }
    {
        const unsigned char *act = dopt_nlls_active_set_d(s, 0);
        DOPT_CHECK(act && act[2] + act[3] >= 1, "an active bound expected");
    }
    memset(&bo, 0, sizeof bo);
    bo.implicit_exact = 1;
    DOPT_CHECK(dopt_nlls_diff_backward_d(D, &bo, xbar, NULL, NULL, NULL) == DOPT_OK, "backward exact");
    for (k = 0; k < 3; ++k) g_exact[k] = dopt_nlls_diff_param_grad_d(D, kw[k])[0];
    bo.implicit_exact = 0;
    DOPT_CHECK(dopt_nlls_diff_backward_d(D, &bo, xbar, NULL, NULL, NULL) == DOPT_OK, "backward GN");
    for (k = 0; k < 3; ++k) g_gn[k] = dopt_nlls_diff_param_grad_d(D, kw[k])[0];
    for (k = 0; k < 3; ++k) {
        double h = 1e-6, w0 = wt[k], Lp = 0, Lm = 0, fd;
        wt[k] = w0 + h; tn_solve(wt, xp, NULL, NULL, NULL, NULL);
        wt[k] = w0 - h; tn_solve(wt, xm, NULL, NULL, NULL, NULL);
        wt[k] = w0;
        for (j = 0; j < 4; ++j) { Lp += xbar[j] * xp[j]; Lm += xbar[j] * xm[j]; }
        fd = (Lp - Lm) / (2 * h);
        DOPT_CHECK(fabs(g_exact[k] - fd) <= 1e-6 * (1 + fabs(fd)), "dL/dw%d: implicit_exact %.12g vs FD %.12g", k, g_exact[k], fd);
        if (fabs(g_gn[k] - fd) > 1e-4 * (1 + fabs(fd))) differs = 1;
    }
    DOPT_CHECK(differs, "the Gauss-Newton adjoint matched a curved problem: the test tests nothing");
    dopt_nlls_diff_destroy_d(D);
    dopt_nlls_solver_destroy_d(s);
    dopt_nlls_problem_destroy_d(p);
}

/* ---- a manifold variable: an SE(2) pose near a prior, its body point (1, 0) on a line ---------- */

typedef struct tm_prior { double g0[4]; } tm_prior;

/* r = Log(g0^-1 g), J = Jr^-1(r) (between's Jb = I) */
static dopt_status tm_prior_fn(const void *data, const double *const *x, double *r, double *const *J)
{
    const tm_prior *q = (const tm_prior *)data;
    double d[4];
    dopt_se2_between_d(q->g0, x[0], d, NULL, NULL);
    dopt_se2_log_d(d, r, J && J[0] ? J[0] : NULL);
    return DOPT_OK;
}

/* c = n . (g p) - 1 with n = (1, 1) / sqrt 2 scaled, p = (1, 0): the tangent Jacobian n^T Jg */
static dopt_status tm_line(const void *data, const double *const *x, double *r, double *const *J)
{
    const double p[2] = {1, 0}, n[2] = {0.6, 0.8};
    double y[2], Jg[6];
    int k;
    (void)data;
    dopt_se2_act_d(x[0], p, y, Jg, NULL);
    r[0] = n[0] * y[0] + n[1] * y[1] - 1;
    if (J && J[0])
        for (k = 0; k < 3; ++k) J[0][k] = n[0] * Jg[k] + n[1] * Jg[3 + k];
    return DOPT_OK;
}

static void test_manifold_constraint(void)
{
    tm_prior pr[2];
    double x[8], A[3], cv, r[3];
    dopt_nlls_problem_d *p;
    dopt_nlls_solver_d *s = NULL;
    dopt_nlls_report rep[2];
    dopt_nlls_options_d o = tc_options();
    dopt_manifold_d SE2 = dopt_lie_manifold_se2_d();
    int v, b, k;
    {
        double xi0[3] = {0.2, -0.3, 0.4}, xi1[3] = {-0.5, 0.1, -1.0};
        dopt_se2_exp_d(xi0, pr[0].g0, NULL);
        dopt_se2_exp_d(xi1, pr[1].g0, NULL);
    }
    dopt_nlls_problem_create_d(NULL, 2, &p);
    dopt_nlls_add_variable_d(p, &SE2, &v);
    {
        dopt_nlls_cost_desc_d d;
        memset(&d, 0, sizeof d);
        d.fn = tm_prior_fn; d.data = pr; d.data_stride = sizeof pr[0]; d.rdim = 3; d.nvars = 1; d.vars = &v;
        dopt_nlls_add_cost_d(p, &d, NULL);
        d.fn = tm_line; d.data = NULL; d.data_stride = 0; d.rdim = 1;
        dopt_nlls_add_constraint_d(p, &d, NULL);
    }
    DOPT_CHECK(dopt_nlls_solver_create_d(p, NULL, &s, NULL) == DOPT_OK, "create");
    if (!s) { dopt_nlls_problem_destroy_d(p); return; }
    for (b = 0; b < 2; ++b) memcpy(x + 4 * b, pr[b].g0, sizeof pr[b].g0);
    DOPT_CHECK(dopt_nlls_solve_d(s, &o, x, 0, rep, NULL, NULL) == DOPT_OK, "solve");
    for (b = 0; b < 2; ++b) {
        const double *xv[1], *y = dopt_nlls_multipliers_d(s, b);
        double Jp[9], *Jv[1], *Av[1], g[3];
        xv[0] = x + 4 * b; Jv[0] = Jp; Av[0] = A;
        DOPT_CHECK(rep[b].stop == DOPT_STOP_GRADIENT || rep[b].stop == DOPT_STOP_STEP, "stop %d", (int)rep[b].stop);
        tm_line(NULL, xv, &cv, Av);
        DOPT_CHECK(fabs(cv) <= 1e-10, "c(x) = %g", cv);
        DOPT_CHECK(fabs(x[4 * b + 2] * x[4 * b + 2] + x[4 * b + 3] * x[4 * b + 3] - 1) <= 1e-12, "on the manifold");
        tm_prior_fn(&pr[b], xv, r, Jv); /* KKT on the tangent space: Jp^T r + A^T y = 0 */
        for (k = 0; k < 3; ++k) g[k] = Jp[k] * r[0] + Jp[3 + k] * r[1] + Jp[6 + k] * r[2] + (y ? y[0] * A[k] : 0);
        for (k = 0; k < 3; ++k) DOPT_CHECK(fabs(g[k]) <= 1e-9, "element %d: Lagrangian gradient %d = %g", b, k, g[k]);
        DOPT_CHECK(fabs(r[0]) + fabs(r[1]) + fabs(r[2]) > 1e-2, "the constraint is not active: the test tests nothing");
    }
    dopt_nlls_solver_destroy_d(s);
    dopt_nlls_problem_destroy_d(p);
}

/* ---- IMPLICIT through active bounds and the equality, vs central differences ----------------- */

static void tc_solve_map(tc_setup *S, double x0[TC_B][4], double out[TC_B][4], int neq)
{
    dopt_nlls_problem_d *p = tc_problem(S, neq, NULL);
    dopt_nlls_solver_d *s = NULL;
    dopt_nlls_options_d o = tc_options();
    memcpy(out, x0, sizeof(double) * TC_B * 4);
    if (p && dopt_nlls_solver_create_d(p, NULL, &s, NULL) == DOPT_OK)
        dopt_nlls_solve_d(s, &o, &out[0][0], 4, NULL, NULL, NULL);
    dopt_nlls_solver_destroy_d(s);
    dopt_nlls_problem_destroy_d(p);
}

static void test_implicit_vs_fd(void)
{
    int trial, neq, checked = 0;
    for (neq = 0; neq <= 1; ++neq)
        for (trial = 0; trial < 6; ++trial) {
            static tc_setup S;
            double x0[TC_B][4], xs[TC_B][4], xp[TC_B][4], xm[TC_B][4], xbar[TC_B][4];
            dopt_nlls_problem_d *p;
            dopt_nlls_solver_d *s = NULL;
            dopt_nlls_diff_d *D = NULL;
            dopt_nlls_options_d o = tc_options();
            dopt_nlls_diff_report brep[TC_B];
            int ci[TC_NR], k, b, i, j, nact = 0;
            tc_fill(&S);
            memcpy(x0, S.x, sizeof x0);
            p = tc_problem(&S, neq, ci);
            if (!p || dopt_nlls_solver_create_d(p, NULL, &s, NULL) != DOPT_OK || dopt_nlls_diff_create_d(s, &D) != DOPT_OK) {
                DOPT_CHECK(0, "setup");
                dopt_nlls_solver_destroy_d(s); dopt_nlls_problem_destroy_d(p);
                return;
            }
            dopt_nlls_diff_add_param_d(D, DOPT_PARAM_DATA, &S.Y[0][0], TC_NR, TC_NR, &k);
            for (i = 0; i < TC_NR; ++i) dopt_nlls_diff_attach_d(D, ci[i], k, tc_lin_vjp);
            DOPT_CHECK(dopt_nlls_diff_solve_d(D, &o, &S.x[0][0], 4, NULL, NULL) == DOPT_OK, "forward");
            memcpy(xs, S.x, sizeof xs);
            for (b = 0; b < TC_B; ++b) {
                const unsigned char *act = dopt_nlls_active_set_d(s, b);
                for (j = 0; j < 4; ++j) { xbar[b][j] = 1 + 0.5 * tc_rand(); nact += act ? act[j] : 0; }
            }
            DOPT_CHECK(dopt_nlls_diff_backward_d(D, NULL, &xbar[0][0], NULL, brep, NULL) == DOPT_OK, "backward");
            {
                const double *gY = dopt_nlls_diff_param_grad_d(D, k);
                for (b = 0; b < TC_B; ++b) {
                    int degenerate = 0;
                    /* skip elements near degeneracy: a coordinate at a bound with a tiny multiplier
                       or a free one within the FD step of a bound */
                    for (j = 0; j < 4; ++j)
                        if ((fabs(xs[b][j] - S.lo[b][j]) < 1e-4 && xs[b][j] != S.lo[b][j]) ||
                            (fabs(xs[b][j] - S.hi[b][j]) < 1e-4 && xs[b][j] != S.hi[b][j])) degenerate = 1;
                    DOPT_CHECK(brep[b].status == DOPT_OK, "backward element status %d", (int)brep[b].status);
                    if (degenerate) continue;
                    for (i = 0; i < TC_NR; ++i) {
                        double h = 1e-6, Lp = 0, Lm = 0, y0 = S.Y[b][i];
                        S.Y[b][i] = y0 + h; tc_solve_map(&S, x0, xp, neq);
                        S.Y[b][i] = y0 - h; tc_solve_map(&S, x0, xm, neq);
                        S.Y[b][i] = y0;
                        for (j = 0; j < 4; ++j) { Lp += xbar[b][j] * xp[b][j]; Lm += xbar[b][j] * xm[b][j]; }
                        DOPT_CHECK(fabs(gY[b * TC_NR + i] - (Lp - Lm) / (2 * h)) <= 1e-6 * (1 + fabs(gY[b * TC_NR + i])), "dL/dY vs central differences: %.12g vs %.12g (neq %d trial %d b %d i %d)", gY[b * TC_NR + i], (Lp - Lm) / (2 * h), neq, trial, b, i);
                        checked++;
                    }
                }
            }
            dopt_nlls_diff_destroy_d(D);
            dopt_nlls_solver_destroy_d(s);
            dopt_nlls_problem_destroy_d(p);
            if (trial == 5) DOPT_CHECK(nact > 0, "no active bound in the gradient test");
        }
    DOPT_CHECK(checked > 40, "too few gradient entries checked (%d)", checked);
}

/* ---- editing costs between solves vs a fresh solver --------------------------------------------- */

typedef struct te_pt { double t, y; } te_pt;

static dopt_status te_exp(const void *data, const double *const *x, double *r, double *const *J)
{
    const te_pt *q = (const te_pt *)data;
    double e = exp(x[0][0] * q->t + x[0][1]);
    r[0] = q->y - e;
    if (J && J[0]) { J[0][0] = -q->t * e; J[0][1] = -e; }
    return DOPT_OK;
}

#define TE_N 12

/* problem over the points pts[i] with weights w[i] (scalar), leaving out the costs with
 * skip[i]; with bounds when lo is not NULL; cost i gets index idx[i] */
static dopt_nlls_problem_d *te_problem(te_pt *const *pts, double *const *w, const int *skip, const double *lo,
                                       const double *hi, int *idx)
{
    dopt_nlls_problem_d *p;
    dopt_manifold_d R2 = dopt_manifold_euclidean_d(2);
    int v, i;
    dopt_nlls_problem_create_d(NULL, 1, &p);
    dopt_nlls_add_variable_d(p, &R2, &v);
    for (i = 0; i < TE_N; ++i) {
        dopt_nlls_cost_desc_d d;
        idx[i] = -1;
        if (skip && skip[i]) continue;
        memset(&d, 0, sizeof d);
        d.fn = te_exp; d.data = pts[i]; d.rdim = 1; d.nvars = 1; d.vars = &v;
        d.weight_kind = DOPT_WEIGHT_SCALAR; d.weight = w[i];
        dopt_nlls_add_cost_d(p, &d, &idx[i]);
    }
    if (lo) dopt_nlls_set_bounds_d(p, v, lo, hi, 0);
    return p;
}

static void test_edit_vs_fresh(void)
{
    te_pt A[TE_N], B[TE_N];
    double wa[TE_N], wb[TE_N], lo[2] = {-HUGE_VAL, 0.05}, hi[2] = {0.25, HUGE_VAL};
    te_pt *pa[TE_N], *pe[TE_N];
    double *wpa[TE_N], *wpe[TE_N];
    int skip_e[TE_N], idx[TE_N], idx2[TE_N], i, bounded;
    for (i = 0; i < TE_N; ++i) {
        A[i].t = 0.1 * i; A[i].y = exp(0.3 * A[i].t + 0.1) + 0.05 * tc_rand();
        B[i].t = 0.1 * i + 0.05; B[i].y = exp(0.5 * B[i].t) + 0.05 * tc_rand();
        wa[i] = 1 + 0.5 * tc_rand(); wb[i] = 2 + 0.5 * tc_rand();
        pa[i] = &A[i]; wpa[i] = &wa[i];
        pe[i] = &A[i]; wpe[i] = &wa[i]; skip_e[i] = 0;
    }
    /* the edits: cost 3 reads B[3], cost 5 weighs wb[5], costs 7, 8 off, cost 11 (a placeholder
       made disabled) on with B[11] */
    pe[3] = &B[3]; wpe[5] = &wb[5]; skip_e[7] = skip_e[8] = 1; pe[11] = &B[11];
    for (bounded = 0; bounded <= 1; ++bounded) {
        dopt_nlls_problem_d *p = te_problem(pa, wpa, NULL, bounded ? lo : NULL, hi, idx), *q;
        dopt_nlls_solver_d *s = NULL, *s2 = NULL;
        dopt_nlls_report r1, r2;
        dopt_nlls_options_d o = tc_options();
        double x1[2] = {0, 0}, x2[2] = {0, 0};
        dopt_nlls_set_cost_enabled_d(p, idx[11], 0); /* the placeholder */
        DOPT_CHECK(dopt_nlls_solver_create_d(p, NULL, &s, NULL) == DOPT_OK, "create");
        if (!s) { dopt_nlls_problem_destroy_d(p); return; }
        DOPT_CHECK(dopt_nlls_solve_d(s, &o, x1, 0, &r1, NULL, NULL) == DOPT_OK, "first solve");
        x1[0] = x1[1] = 0;
        DOPT_CHECK(dopt_nlls_set_cost_data_d(p, idx[3], &B[3], 0) == DOPT_OK, "set data");
        DOPT_CHECK(dopt_nlls_set_cost_weight_d(p, idx[5], DOPT_WEIGHT_SCALAR, &wb[5], 0) == DOPT_OK, "set weight");
        DOPT_CHECK(dopt_nlls_set_cost_enabled_d(p, idx[7], 0) == DOPT_OK, "disable");
        DOPT_CHECK(dopt_nlls_set_cost_enabled_d(p, idx[8], 0) == DOPT_OK, "disable");
        DOPT_CHECK(dopt_nlls_set_cost_data_d(p, idx[11], &B[11], 0) == DOPT_OK, "placeholder data");
        DOPT_CHECK(dopt_nlls_set_cost_enabled_d(p, idx[11], 1) == DOPT_OK, "enable");
        DOPT_CHECK(dopt_nlls_set_cost_enabled_d(p, 99, 1) == DOPT_ERR_INVALID_ARGUMENT, "bad index");
        DOPT_CHECK(dopt_nlls_solve_d(s, &o, x1, 0, &r1, NULL, NULL) == DOPT_OK, "edited solve");
        q = te_problem(pe, wpe, skip_e, bounded ? lo : NULL, hi, idx2);
        DOPT_CHECK(dopt_nlls_solver_create_d(q, NULL, &s2, NULL) == DOPT_OK, "fresh");
        if (s2) DOPT_CHECK(dopt_nlls_solve_d(s2, &o, x2, 0, &r2, NULL, NULL) == DOPT_OK, "fresh solve");
        DOPT_CHECK(memcmp(x1, x2, sizeof x1) == 0, "edited vs fresh not bit-identical (bounded %d): %.17g %.17g vs %.17g %.17g",
                   bounded, x1[0], x1[1], x2[0], x2[1]);
        DOPT_CHECK(r1.iterations == r2.iterations && r1.final_cost == r2.final_cost, "reports differ");
        DOPT_CHECK(fabs(x1[0] - 0.3) > 1e-3, "the edits changed nothing visible");
        dopt_nlls_solver_destroy_d(s2);
        dopt_nlls_problem_destroy_d(q);
        dopt_nlls_solver_destroy_d(s);
        dopt_nlls_problem_destroy_d(p);
    }
}

/* ---- learnable damping: UNROLL's d L / d log λ0 vs central differences of the unrolled map ----- */

static void tl_run(double lam0, int K, te_pt *const *pts, double *const *w, double x[2], dopt_nlls_diff_d **Dout,
                   dopt_nlls_solver_d **sout, dopt_nlls_problem_d **pout)
{
    int idx[TE_N];
    dopt_nlls_problem_d *p = te_problem(pts, w, NULL, NULL, NULL, idx);
    dopt_nlls_solver_d *s = NULL;
    dopt_nlls_diff_d *D = NULL;
    dopt_nlls_options_d o;
    memset(&o, 0, sizeof o);
    o.max_iterations = K;
    o.function_tolerance = DOPT_OFF; o.gradient_tolerance = DOPT_OFF; o.step_tolerance = DOPT_OFF;
    o.lm_update = DOPT_LM_UPDATE_FACTOR; o.lm_factor = 3;
    o.initial_lambda = lam0;
    x[0] = 1.2; x[1] = -0.8;
    dopt_nlls_solver_create_d(p, NULL, &s, NULL);
    if (Dout) { dopt_nlls_diff_create_d(s, &D); dopt_nlls_diff_solve_d(D, &o, x, 0, NULL, NULL); }
    else dopt_nlls_solve_d(s, &o, x, 0, NULL, NULL, NULL);
    if (Dout) *Dout = D;
    if (sout) *sout = s; else dopt_nlls_solver_destroy_d(s);
    if (pout) *pout = p; else dopt_nlls_problem_destroy_d(p);
}

static void test_learnable_damping(void)
{
    te_pt A[TE_N];
    double wa[TE_N], x[2], xp[2], xm[2], xbar[2] = {0.7, -1.3};
    te_pt *pa[TE_N];
    double *wpa[TE_N];
    int i, K;
    double fdmax = 0;
    for (i = 0; i < TE_N; ++i) {
        A[i].t = 0.1 * i; A[i].y = exp(0.3 * A[i].t + 0.1) + 0.05 * tc_rand();
        wa[i] = 1; pa[i] = &A[i]; wpa[i] = &wa[i];
    }
    for (K = 2; K <= 6; K += 2) {
        dopt_nlls_diff_d *D = NULL;
        dopt_nlls_solver_d *s = NULL;
        dopt_nlls_problem_d *p = NULL;
        dopt_nlls_diff_options_d bo;
        double lam0 = 0.3, h = 1e-6, Lp, Lm, fd, g;
        const double *dl;
        tl_run(lam0, K, pa, wpa, x, &D, &s, &p);
        memset(&bo, 0, sizeof bo);
        bo.mode = DOPT_NLLS_DIFF_UNROLL;
        DOPT_CHECK(D && dopt_nlls_diff_backward_d(D, &bo, xbar, NULL, NULL, NULL) == DOPT_OK, "unroll backward");
        dl = D ? dopt_nlls_diff_damping_grad_d(D) : NULL;
        g = dl ? dl[0] : 0;
        tl_run(lam0 * exp(h), K, pa, wpa, xp, NULL, NULL, NULL);
        tl_run(lam0 * exp(-h), K, pa, wpa, xm, NULL, NULL, NULL);
        Lp = xbar[0] * xp[0] + xbar[1] * xp[1];
        Lm = xbar[0] * xm[0] + xbar[1] * xm[1];
        fd = (Lp - Lm) / (2 * h);
        DOPT_CHECK(fabs(g - fd) <= 1e-6 * (1 + fabs(fd)), "K %d: dL/dlog lambda0 %.12g vs FD %.12g", K, g, fd);
        if (fabs(fd) > fdmax) fdmax = fabs(fd);
        bo.mode = DOPT_NLLS_DIFF_TRUNCATED; bo.truncate = K;
        DOPT_CHECK(D && dopt_nlls_diff_backward_d(D, &bo, xbar, NULL, NULL, NULL) == DOPT_OK, "truncated backward");
        if (dl) DOPT_CHECK_CLOSE(dl[0], g, 1e-12, "TRUNCATED with every iteration equals UNROLL");
        dopt_nlls_diff_destroy_d(D);
        dopt_nlls_solver_destroy_d(s);
        dopt_nlls_problem_destroy_d(p);
    }
    DOPT_CHECK(fdmax > 1e-2, "the damping does not matter here: the test tests nothing (%g)", fdmax);
}

/* ---- ragged batches: each element equals its solo solve --------------------------------------- */

/* a chain of points p_i in R^2: odometry p_{i+1} - p_i - u_i, range |p_i| - rho_i, prior p_0 */
typedef struct tr_data { double u[2], rho; } tr_data;

static dopt_status tr_odo(const void *data, const double *const *x, double *r, double *const *J)
{
    const tr_data *d = (const tr_data *)data;
    r[0] = x[1][0] - x[0][0] - d->u[0];
    r[1] = x[1][1] - x[0][1] - d->u[1];
    if (J) {
        if (J[0]) { J[0][0] = -1; J[0][1] = 0; J[0][2] = 0; J[0][3] = -1; }
        if (J[1]) { J[1][0] = 1; J[1][1] = 0; J[1][2] = 0; J[1][3] = 1; }
    }
    return DOPT_OK;
}

static dopt_status tr_range(const void *data, const double *const *x, double *r, double *const *J)
{
    const tr_data *d = (const tr_data *)data;
    double n = sqrt(x[0][0] * x[0][0] + x[0][1] * x[0][1]);
    r[0] = n - d->rho;
    if (J && J[0]) { J[0][0] = x[0][0] / n; J[0][1] = x[0][1] / n; }
    return DOPT_OK;
}

static dopt_status tr_prior(const void *data, const double *const *x, double *r, double *const *J)
{
    (void)data;
    r[0] = x[0][0] - 1; r[1] = x[0][1];
    if (J && J[0]) { J[0][0] = 1; J[0][1] = 0; J[0][2] = 0; J[0][3] = 1; }
    return DOPT_OK;
}

#define TR_MAXN 16
#define TR_MAXB 3

static dopt_nlls_problem_d *tr_problem_w(int n, int batch, tr_data *data, double *w, int *ridx);

/* chain of n points for `batch` elements, data[b * TR_MAXN + i] (stride one row of TR_MAXN) */
static dopt_nlls_problem_d *tr_problem(int n, int batch, tr_data *data)
{
    return tr_problem_w(n, batch, data, NULL, NULL);
}

/* the same, the range cost of point i weighted by the scalar w[b * TR_MAXN + i] (w NULL: none)
 * and its cost index in ridx[i] (ridx may be NULL) */
static dopt_nlls_problem_d *tr_problem_w(int n, int batch, tr_data *data, double *w, int *ridx)
{
    dopt_nlls_problem_d *p;
    dopt_manifold_d R2 = dopt_manifold_euclidean_d(2);
    int i, v[2];
    dopt_nlls_problem_create_d(NULL, batch, &p);
    for (i = 0; i < n; ++i) dopt_nlls_add_variable_d(p, &R2, NULL);
    for (i = 0; i < n; ++i) {
        dopt_nlls_cost_desc_d d;
        memset(&d, 0, sizeof d);
        d.data = data + i; d.data_stride = TR_MAXN * sizeof *data;
        if (i + 1 < n) { v[0] = i; v[1] = i + 1; d.fn = tr_odo; d.rdim = 2; d.nvars = 2; d.vars = v; dopt_nlls_add_cost_d(p, &d, NULL); }
        v[0] = i; d.fn = tr_range; d.rdim = 1; d.nvars = 1; d.vars = v;
        if (w) { d.weight_kind = DOPT_WEIGHT_SCALAR; d.weight = w + i; d.weight_stride = TR_MAXN; }
        dopt_nlls_add_cost_d(p, &d, ridx ? ridx + i : NULL);
    }
    {
        dopt_nlls_cost_desc_d d;
        memset(&d, 0, sizeof d);
        v[0] = 0; d.fn = tr_prior; d.rdim = 2; d.nvars = 1; d.vars = v;
        dopt_nlls_add_cost_d(p, &d, NULL);
    }
    return p;
}

static dopt_status tr_sparse_maker(void *user, const dopt_nlls_problem_d *p, dopt_linear_solver_d *out)
{
    (void)user; (void)p;
    return dopt_sparse_linear_solver_d(NULL, NULL, out);
}

static dopt_status tb_sparse_maker(void *user, const dopt_nlls_problem_d *p, dopt_linear_solver_d *out)
{
    return tr_sparse_maker(user, p, out);
}

static void test_ragged(void)
{
    enum { NP = 3 };
    static const int len[NP] = {5, 9, 14}, bat[NP] = {2, 1, 3};
    static tr_data data[NP][TR_MAXB * TR_MAXN];
    double x[2 * (2 * 5 + 9 + 3 * 14)], x0[sizeof x / sizeof x[0]];
    dopt_nlls_problem_d *prob[NP];
    dopt_nlls_report rep[6];
    dopt_nlls_options_d o = tc_options();
    int k, b, i, sparse, pass;
    o.function_tolerance = 0; o.step_tolerance = 0; o.gradient_tolerance = 0; o.max_iterations = 0;
    for (k = 0; k < NP; ++k) {
        for (b = 0; b < bat[k]; ++b)
            for (i = 0; i < len[k]; ++i) {
                tr_data *d = &data[k][b * TR_MAXN + i];
                double a = 0.3 * i + 0.1 * b, a1 = 0.3 * (i + 1) + 0.1 * b;
                d->u[0] = cos(a1) - cos(a) + 0.02 * tc_rand(); d->u[1] = sin(a1) - sin(a) + 0.02 * tc_rand();
                d->rho = 1 + 0.02 * tc_rand();
            }
        prob[k] = tr_problem(len[k], bat[k], data[k]);
    }
    for (i = 0; i < (int)(sizeof x / sizeof x[0]); ++i) x0[i] = (i % 2 ? 0.2 : 1.0) + 0.1 * tc_rand();
    for (sparse = 0; sparse <= 1; ++sparse) {
        dopt_nlls_ragged_d *R = NULL;
        DOPT_CHECK(dopt_nlls_ragged_create_d(NULL, NP, prob, sparse ? tr_sparse_maker : NULL, NULL, &R, NULL) == DOPT_OK, "create");
        if (!R) break;
        DOPT_CHECK(dopt_nlls_ragged_count_d(R) == 6 && dopt_nlls_ragged_offset_d(R, NP) == (ptrdiff_t)(sizeof x / sizeof x[0]), "packing");
        /* twice: on the second pass every solver starts on the shared areas as the others left
           them (a buffer read before it is written would show) */
        for (pass = 0; pass < 2; ++pass) {
            memcpy(x, x0, sizeof x);
            DOPT_CHECK(dopt_nlls_ragged_solve_d(R, &o, x, rep, NULL) == DOPT_OK, "ragged solve");
        }
        for (k = 0; k < NP; ++k)
            for (b = 0; b < bat[k]; ++b) { /* element (k, b) alone: a batch of one over its data */
                dopt_nlls_problem_d *p1 = tr_problem(len[k], 1, data[k] + b * TR_MAXN);
                dopt_nlls_solver_d *s1 = NULL;
                dopt_nlls_report r1;
                double xs[2 * TR_MAXN];
                ptrdiff_t off = dopt_nlls_ragged_offset_d(R, k) + (ptrdiff_t)b * 2 * len[k];
                memcpy(xs, x0 + off, sizeof(double) * 2 * (size_t)len[k]);
                if (sparse) { dopt_linear_solver_d ls; dopt_sparse_linear_solver_d(NULL, NULL, &ls); dopt_nlls_solver_create_d(p1, &ls, &s1, NULL); }
                else dopt_nlls_solver_create_d(p1, NULL, &s1, NULL);
                DOPT_CHECK(s1 && dopt_nlls_solve_d(s1, &o, xs, 0, &r1, NULL, NULL) == DOPT_OK, "solo");
                if (!sparse)
                    DOPT_CHECK(memcmp(xs, x + off, sizeof(double) * 2 * (size_t)len[k]) == 0, "dense ragged (%d, %d) not bit-identical", k, b);
                for (i = 0; i < 2 * len[k]; ++i) DOPT_CHECK(fabs(xs[i] - x[off + i]) <= 1e-12, "ragged (%d, %d) vs solo: %g", k, b, xs[i] - x[off + i]);
                DOPT_CHECK(rep[dopt_nlls_ragged_first_d(R, k) + b].iterations == r1.iterations, "iterations differ");
                dopt_nlls_solver_destroy_d(s1);
                dopt_nlls_problem_destroy_d(p1);
            }
        dopt_nlls_ragged_destroy_d(R);
    }
    for (k = 0; k < NP; ++k) dopt_nlls_problem_destroy_d(prob[k]);
}

/* The backward modes on a ragged batch (a dopt_nlls_diff on each dopt_nlls_ragged_solver): IMPLICIT
 * gradients of L = sum x (each element's solution) with respect to a learnable range weight,
 * against central differences of the ragged solve map (1e-6), sparse lockstep solvers. */
static void test_ragged_backward(void)
{
    enum { NP = 2, NX = 2 * (2 * 4 + 3 * 7) };
    static const int len[NP] = {4, 7}, bat[NP] = {2, 3};
    static tr_data data[NP][TR_MAXB * TR_MAXN];
    static double w[NP][TR_MAXB * TR_MAXN];
    double x0[NX], x[NX], xbar[NX];
    dopt_nlls_problem_d *prob[NP];
    dopt_nlls_ragged_d *R = NULL;
    dopt_nlls_options_d o = tc_options();
    int ridx[NP][TR_MAXN], k, b, i, checked = 0;
    for (k = 0; k < NP; ++k) {
        for (b = 0; b < bat[k]; ++b)
            for (i = 0; i < len[k]; ++i) {
                tr_data *d = &data[k][b * TR_MAXN + i];
                double a = 0.4 * i + 0.1 * b, a1 = 0.4 * (i + 1) + 0.1 * b;
                d->u[0] = cos(a1) - cos(a) + 0.05 * tc_rand(); d->u[1] = sin(a1) - sin(a) + 0.05 * tc_rand();
                d->rho = 1 + 0.1 * tc_rand();
                w[k][b * TR_MAXN + i] = 1 + 0.3 * tc_rand();
            }
        prob[k] = tr_problem_w(len[k], bat[k], data[k], w[k], ridx[k]);
    }
    for (i = 0; i < NX; ++i) { x0[i] = (i % 2 ? 0.2 : 1.0) + 0.1 * tc_rand(); xbar[i] = 1; }
    DOPT_CHECK(dopt_nlls_ragged_create_d(NULL, NP, prob, tr_sparse_maker, NULL, &R, NULL) == DOPT_OK, "create");
    for (k = 0; k < NP && R; ++k) {
        dopt_nlls_diff_d *D = NULL;
        dopt_nlls_diff_report brep[TR_MAXB];
        ptrdiff_t off = dopt_nlls_ragged_offset_d(R, k), nk = dopt_nlls_ragged_offset_d(R, k + 1) - off;
        dopt_nlls_diff_options_d bo;
        const double *gw;
        int pk = -1;
        memset(&bo, 0, sizeof bo);
        bo.mode = DOPT_NLLS_DIFF_IMPLICIT;
        bo.implicit_exact = 1; /* non-zero residuals: the exact Hessian, so that FD agrees */
        DOPT_CHECK(dopt_nlls_diff_create_d(dopt_nlls_ragged_solver_d(R, k), &D) == DOPT_OK, "diff on a ragged solver");
        if (!D) break;
        DOPT_CHECK(dopt_nlls_diff_learn_weight_d(D, ridx[k][1], &pk) == DOPT_OK, "learn weight");
        memcpy(x, x0, sizeof x);
        DOPT_CHECK(dopt_nlls_diff_solve_d(D, &o, x + off, 0, NULL, NULL) == DOPT_OK, "forward");
        DOPT_CHECK(dopt_nlls_diff_backward_d(D, &bo, xbar + off, NULL, brep, NULL) == DOPT_OK, "backward");
        gw = dopt_nlls_diff_param_grad_d(D, pk);
        for (b = 0; b < bat[k] && gw; ++b) {
            double *wb = &w[k][b * TR_MAXN + 1], w0 = *wb, h = 1e-6, Lp = 0, Lm = 0, fd;
            ptrdiff_t e0 = off + b * nk / bat[k], j;
            memcpy(x, x0, sizeof x); *wb = w0 + h;
            dopt_nlls_ragged_solve_d(R, &o, x, NULL, NULL);
            for (j = 0; j < nk / bat[k]; ++j) Lp += x[e0 + j];
            memcpy(x, x0, sizeof x); *wb = w0 - h;
            dopt_nlls_ragged_solve_d(R, &o, x, NULL, NULL);
            for (j = 0; j < nk / bat[k]; ++j) Lm += x[e0 + j];
            *wb = w0;
            fd = (Lp - Lm) / (2 * h);
            DOPT_CHECK(brep[b].status == DOPT_OK, "backward element status");
            DOPT_CHECK(fabs(gw[b] - fd) <= 1e-6 * (1 + fabs(fd)), "ragged (%d, %d): dL/dw %.12g vs central differences %.12g", k, b, gw[b], fd);
            if (fabs(fd) > 1e-3) checked++;
        }
        dopt_nlls_diff_destroy_d(D);
    }
    DOPT_CHECK(checked >= 4, "too few non-zero gradients (%d): the test tests little", checked);
    dopt_nlls_ragged_destroy_d(R);
    for (k = 0; k < NP; ++k) dopt_nlls_problem_destroy_d(prob[k]);
}

/* ---- float ------------------------------------------------------------------------------------ */

static dopt_status tf_res(const void *data, const float *const *x, float *r, float *const *J)
{
    const float *t = (const float *)data;
    r[0] = x[0][0] - t[0]; r[1] = x[0][1] - t[1];
    if (J && J[0]) { J[0][0] = 1; J[0][1] = 0; J[0][2] = 0; J[0][3] = 1; }
    return DOPT_OK;
}

static dopt_status tf_sum(const void *data, const float *const *x, float *r, float *const *J)
{
    (void)data;
    r[0] = x[0][0] + x[0][1] - 1;
    if (J && J[0]) { J[0][0] = 1; J[0][1] = 1; }
    return DOPT_OK;
}

static void test_float_smoke(void)
{
    /* min |x - (2, -1)|^2, x0 + x1 = 1, x1 >= -0.5 -> x = (1.5, -0.5) */
    float t[2] = {2, -1}, lo[2] = {-INFINITY, -0.5f}, x[2] = {0, 0};
    dopt_nlls_problem_f *p;
    dopt_nlls_solver_f *s = NULL;
    dopt_nlls_report rep;
    dopt_manifold_f R2 = dopt_manifold_euclidean_f(2);
    dopt_nlls_cost_desc_f c;
    int v;
    dopt_nlls_problem_create_f(NULL, 1, &p);
    dopt_nlls_add_variable_f(p, &R2, &v);
    memset(&c, 0, sizeof c);
    c.fn = tf_res; c.data = t; c.rdim = 2; c.nvars = 1; c.vars = &v;
    dopt_nlls_add_cost_f(p, &c, NULL);
    c.fn = tf_sum; c.rdim = 1;
    dopt_nlls_add_constraint_f(p, &c, NULL);
    dopt_nlls_set_bounds_f(p, v, lo, NULL, 0);
    DOPT_CHECK(dopt_nlls_solver_create_f(p, NULL, &s, NULL) == DOPT_OK, "create");
    if (s) {
        DOPT_CHECK(dopt_nlls_solve_f(s, NULL, x, 0, &rep, NULL, NULL) == DOPT_OK, "solve");
        DOPT_CHECK(fabs(x[0] - 1.5) < 1e-5 && fabs(x[1] + 0.5) < 1e-5, "x = %g %g", x[0], x[1]);
        DOPT_CHECK(rep.active_bounds == 1, "active %d", rep.active_bounds);
    }
    dopt_nlls_solver_destroy_f(s);
    dopt_nlls_problem_destroy_f(p);
}

static void suite(void)
{
    DOPT_TEST_RUN(test_bounds_vs_reference);
    DOPT_TEST_RUN(test_nonlinear_bounds_vs_reference);
    DOPT_TEST_RUN(test_nonlinear_kkt);
    DOPT_TEST_RUN(test_manifold_constraint);
    DOPT_TEST_RUN(test_implicit_vs_fd);
    DOPT_TEST_RUN(test_implicit_nonlinear);
    DOPT_TEST_RUN(test_edit_vs_fresh);
    DOPT_TEST_RUN(test_ragged);
    DOPT_TEST_RUN(test_ragged_backward);
    DOPT_TEST_RUN(test_learnable_damping);
    DOPT_TEST_RUN(test_float_smoke);
}

DOPT_TEST_MAIN(suite)
