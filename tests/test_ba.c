/* Bundle adjustment tests (dopt_lie.h's BUNDLE ADJUSTMENT section): BAL files (real files from
 * ../shared/data/bal when present, a bit-exact round trip, malformed files with their line and
 * reason, absurd headers rejected before allocating), the Schur-complement LM step against the
 * full normal equations formed densely here, convergence of synthetic scenes to the noise level,
 * marginal covariances against the dense inverse, and the IMPLICIT gradient through the solve
 * against central finite differences.  Float and double. */
#if !defined(DOPT__DRIVE)
#define DOPT_IMPLEMENTATION
#include "dopt_lie.h"
#include "dopt_sparse.h"
#include "dopt_test.h"
#include "tests/fail_alloc.h"

/* the float pass's backward test compares with the double solve (defined in the double pass) */
static double tight_solve_d(dopt_lie_ba_solver_d *s, dopt_lie_bal_d *p, const double *wc, const double *wp,
                            dopt_loss_kind loss);

#define TEST_BA_PASS
#define DOPT__DRIVE "tests/test_ba.c"
#include "dopt.h"
#undef DOPT__DRIVE
#undef TEST_BA_PASS

/* ---- precision-independent: files ---- */

static void test_bal_data_files(void)
{
    static const struct { const char *file; long c, p, o; } files[] = {
        {"bal/problem-49-7776-pre.txt", 49, 7776, 31843}, {"bal/problem-21-11315-pre.txt", 21, 11315, 36455}};
    char path[1024];
    int k, found = 0;
    for (k = 0; k < 2; ++k) {
        dopt_lie_bal_d *p = NULL;
        dopt_lie_bal_f *pf = NULL;
        dopt_errinfo info;
        dopt_status st;
        double cost = 0;
        FILE *f;
        snprintf(path, sizeof path, "%s/%s", dopt_test_data_dir(), files[k].file);
        f = fopen(path, "r");
        if (!f) continue;
        fclose(f);
        found++;
        st = dopt_lie_bal_read_d(NULL, path, &p, &info);
        DOPT_CHECK(st == DOPT_OK, "%s: %s (line %ld: %s)", files[k].file, dopt_status_string(st), info.line, info.message);
        if (st != DOPT_OK) continue;
        DOPT_CHECK(p->num_cameras == files[k].c && p->num_points == files[k].p && p->num_observations == files[k].o,
                   "%s: counts %ld %ld %ld", files[k].file, (long)p->num_cameras, (long)p->num_points,
                   (long)p->num_observations);
        DOPT_CHECK(dopt_lie_bal_cost_d(p, DOPT_LOSS_NONE, 0, &cost, NULL) == DOPT_OK && cost > 0, "%s cost", files[k].file);
        st = dopt_lie_bal_read_f(NULL, path, &pf, &info);
        DOPT_CHECK(st == DOPT_OK && pf->num_observations == files[k].o, "%s: float read", files[k].file);
        if (st == DOPT_OK) /* same numbers, rounded */
            DOPT_CHECK(fabs((double)pf->cameras[6] - p->cameras[6]) <= 1e-6 * fabs(p->cameras[6]), "%s: float focal", files[k].file);
        dopt_lie_bal_destroy_f(pf);
        dopt_lie_bal_destroy_d(p);
    }
    if (!found) DOPT_SKIP("no bal/ data under DOPT_DATA_DIR");
}

static void test_bal_errors(void)
{
    static const char P12[] = "0\n0\n0\n0\n0\n0\n500\n0\n0\n1\n2\n-8\n"; /* one camera, one point */
    static char full[12][256];
    struct { const char *text; long line; const char *why; } bad[] = {
        {"", 1, "header"},
        {"1 1\n", 1, "header"},
        {"1 1 1 7\n0 0 1 2\n", 1, "extra fields"},
        {"1 -1 1\n", 1, "integers"},
        {"1000000000 1000000000 1000000000\n", 1, "bytes"},
        {full[4], 2, "missing field"},
        {full[5], 2, "point index"},
        {full[6], 2, "camera index"},
        {full[7], 2, "camera index"},
        {full[8], 2, "extra fields"},
        {full[9], 2, "non-finite"},
        {full[10], 2, "non-numeric"},
        {full[11], 3, "missing field"},
        {full[0], 13, "file ends"},
        {full[1], 9, "non-numeric"},
        {full[2], 15, "extra data"},
    };
    fail_alloc cnt;
    dopt_hooks h = fa_hooks(&cnt);
    const char *tmp = dopt_test_temp_path("ba_bad.txt");
    int k;
    dopt_lie_bal_d *p = (dopt_lie_bal_d *)1;
    dopt_errinfo info;
    fa_reset(&cnt, 0);
    /* full[0]: parameters cut short; full[1]: a non-number among them; full[2]: a 13th value */
    snprintf(full[0], sizeof full[0], "1 1 1\n0 0 1 2\n%.*s", 22, P12);
    snprintf(full[1], sizeof full[1], "1 1 1\n0 0 1 2\n0\n0\n0\n0\n0\n0\nabc\n0\n0\n1\n2\n-8\n");
    snprintf(full[2], sizeof full[2], "1 1 1\n0 0 1 2\n%s7\n", P12);
    { /* bad observation lines, followed by valid parameters so that the size check passes */
        static const char *obs[8] = {"1 1 1\n0 0 1.5\n", "1 1 1\n0 5 1 2\n", "1 1 1\n-1 0 1 2\n", "1 1 1\n0.5 0 1 2\n",
                                     "1 1 1\n0 0 1 2 3\n", "1 1 1\n0 0 1 nan\n", "1 1 1\n0 0 1 x2\n", "1 1 2\n0 0 1 2\n"};
        for (k = 0; k < 8; ++k) snprintf(full[4 + k], sizeof full[4 + k], "%s%s%s", obs[k], P12, k == 7 ? "0\n0\n0\n0\n" : "");
    }
    for (k = 0; k < (int)(sizeof bad / sizeof bad[0]); ++k) {
        dopt_status st;
        if (!dopt_test_write_text(tmp, bad[k].text)) DOPT_SKIP("cannot write temp file");
        memset(&info, 0, sizeof info);
        st = dopt_lie_bal_read_d(&h, tmp, &p, &info);
        DOPT_CHECK(st == DOPT_ERR_PARSE && p == NULL, "case %d: status %s", k, dopt_status_string(st));
        DOPT_CHECK(bad[k].line == 0 || info.line == bad[k].line, "case %d: line %ld, want %ld (%s)", k, info.line,
                   bad[k].line, info.message);
        DOPT_CHECK(strstr(info.message, bad[k].why) != NULL, "case %d: message '%s' lacks '%s'", k, info.message, bad[k].why);
        DOPT_CHECK(cnt.live == 0, "case %d: %ld blocks leaked", k, cnt.live);
        DOPT_CHECK(cnt.largest < 4096, "case %d: asked for %lu bytes", k, (unsigned long)cnt.largest);
    }
    /* the minimal valid file reads */
    snprintf(full[3], sizeof full[3], "1 1 1\n0 0 1 2\n%s", P12);
    if (dopt_test_write_text(tmp, full[3])) {
        dopt_status st = dopt_lie_bal_read_d(&h, tmp, &p, &info);
        DOPT_CHECK(st == DOPT_OK && p && p->cameras[6] == 500 && p->points[2] == -8 && p->observed[1] == 2,
                   "minimal file: %s (%s)", dopt_status_string(st), info.message);
        if (st == DOPT_OK) dopt_lie_bal_destroy_d(p);
    }
    remove(tmp);
    DOPT_CHECK(dopt_lie_bal_read_d(NULL, "/nonexistent/dir/x.txt", &p, &info) == DOPT_ERR_IO, "missing file: IO");
    DOPT_CHECK(dopt_lie_bal_read_d(NULL, NULL, &p, &info) == DOPT_ERR_INVALID_ARGUMENT, "NULL path");
    DOPT_CHECK(fa_clean(&cnt), "leak: %ld blocks, %ld wrong sizes", cnt.live, cnt.bad_size);
}

static void suite(void)
{
    DOPT_TEST_RUN(test_bal_errors);
    DOPT_TEST_RUN(test_bal_data_files);
    DOPT_TEST_RUN(test_bal_roundtrip_d);
    DOPT_TEST_RUN(test_bal_roundtrip_f);
    DOPT_TEST_RUN(test_schur_step_d);
    DOPT_TEST_RUN(test_schur_step_f);
    DOPT_TEST_RUN(test_converges_to_noise_d);
    DOPT_TEST_RUN(test_converges_to_noise_f);
    DOPT_TEST_RUN(test_covariance_d);
    DOPT_TEST_RUN(test_covariance_f);
    DOPT_TEST_RUN(test_backward_d);
    DOPT_TEST_RUN(test_backward_f);
    DOPT_TEST_RUN(test_ba_errors_d);
    DOPT_TEST_RUN(test_ba_errors_f);
}
DOPT_TEST_MAIN(suite)

#elif defined(TEST_BA_PASS) && defined(DOPT_REAL)
/* ================================ precision-generic tests ================================ */
#define R_ DOPT_REAL
#define BAL_ DOPT_FN(dopt_lie_bal)

static BAL_ *DOPT_FN(scene)(int nc, int ppc, double noise, uint64_t seed)
{
    dopt_lie_bal_scene_options o;
    dopt_rng rng;
    BAL_ *p = NULL;
    memset(&o, 0, sizeof o);
    o.num_cameras = nc;
    o.points_per_camera = ppc;
    o.max_views = 5;
    o.pixel_noise = noise;
    dopt_rng_seed(&rng, seed, 0);
    if (DOPT_FN(dopt_lie_bal_scene)(NULL, &o, &rng, &p, NULL) != DOPT_OK) return NULL;
    return p;
}

static void DOPT_FN(test_bal_roundtrip)(void)
{
    BAL_ *p = DOPT_FN(scene)(6, 10, 1, 3), *q = NULL;
    const char *tmp = dopt_test_temp_path(DOPT_IS_FLOAT ? "ba_rtf.txt" : "ba_rtd.txt");
    dopt_errinfo info;
    dopt_status st;
    DOPT_CHECK(p != NULL, "scene");
    if (!p) return;
    st = DOPT_FN(dopt_lie_bal_write)(tmp, p, &info);
    DOPT_CHECK(st == DOPT_OK, "write: %s", dopt_status_string(st));
    st = DOPT_FN(dopt_lie_bal_read)(NULL, tmp, &q, &info);
    DOPT_CHECK(st == DOPT_OK, "read back: %s (line %ld: %s)", dopt_status_string(st), info.line, info.message);
    if (st == DOPT_OK) {
        DOPT_CHECK(q->num_cameras == p->num_cameras && q->num_points == p->num_points &&
                   q->num_observations == p->num_observations, "counts");
        DOPT_CHECK(!memcmp(q->obs_camera, p->obs_camera, sizeof(int) * (size_t)p->num_observations) &&
                   !memcmp(q->obs_point, p->obs_point, sizeof(int) * (size_t)p->num_observations), "indices");
        DOPT_CHECK(!memcmp(q->observed, p->observed, sizeof(R_) * 2 * (size_t)p->num_observations) &&
                   !memcmp(q->cameras, p->cameras, sizeof(R_) * 9 * (size_t)p->num_cameras) &&
                   !memcmp(q->points, p->points, sizeof(R_) * 3 * (size_t)p->num_points), "values bit-identical");
    }
    remove(tmp);
    DOPT_FN(dopt_lie_bal_destroy)(q);
    DOPT_FN(dopt_lie_bal_destroy)(p);
}

/* The dense Jacobian of the problem at its values, robust-weighted as the solver does
 * (sqrt(rho')), over the free cameras (9 each, in order) then all points (3 each): m x n
 * column-major; r the weighted residuals.  Uses dopt_lie_cost_bal, independent of the solver. */
static int DOPT_FN(dense_jacobian)(const BAL_ *p, const unsigned char *fixed, dopt_loss_kind loss, R_ *J, R_ *r,
                                   int *n_out)
{
    ptrdiff_t i;
    int c, f = 0, n, *col = (int *)malloc(sizeof(int) * (size_t)p->num_cameras);
    const ptrdiff_t m = 2 * p->num_observations;
    for (c = 0; c < p->num_cameras; ++c) col[c] = fixed && fixed[c] ? -1 : 9 * f++;
    n = 9 * f + 3 * (int)p->num_points;
    memset(J, 0, sizeof(R_) * (size_t)m * (size_t)n);
    for (i = 0; i < p->num_observations; ++i) {
        DOPT_FN(dopt_lie_bal_data) d;
        const R_ *vars[2];
        R_ Jc[18], Jp[6], *Js[2], rr[2], rho[3] = {0, 1, 0}, w;
        int a, b;
        const int cm = p->obs_camera[i], pt = p->obs_point[i];
        d.observed[0] = p->observed[2 * i];
        d.observed[1] = p->observed[2 * i + 1];
        vars[0] = p->cameras + 9 * cm;
        vars[1] = p->points + 3 * pt;
        Js[0] = Jc;
        Js[1] = Jp;
        if (DOPT_FN(dopt_lie_cost_bal)(&d, vars, rr, Js) != DOPT_OK) { free(col); return 0; }
        if (loss != DOPT_LOSS_NONE) DOPT_FN(dopt_nlls_loss_eval)(loss, 1, rr[0] * rr[0] + rr[1] * rr[1], rho);
        w = (R_)sqrt((double)rho[1]);
        for (a = 0; a < 2; ++a) {
            r[2 * i + a] = w * rr[a];
            if (col[cm] >= 0)
                for (b = 0; b < 9; ++b) J[(size_t)(col[cm] + b) * (size_t)m + (size_t)(2 * i + a)] = w * Jc[9 * a + b];
            for (b = 0; b < 3; ++b)
                J[(size_t)(9 * f + 3 * pt + b) * (size_t)m + (size_t)(2 * i + a)] = w * Jp[3 * a + b];
        }
    }
    free(col);
    *n_out = n;
    return 1;
}

/* H = JᵀJ (n x n), g = Jᵀr */
static void DOPT_FN(normal_eq)(const R_ *J, const R_ *r, ptrdiff_t m, int n, R_ *H, R_ *g)
{
    int a, b;
    ptrdiff_t i;
    for (a = 0; a < n; ++a) {
        double s = 0;
        for (i = 0; i < m; ++i) s += (double)J[(size_t)a * (size_t)m + (size_t)i] * r[i];
        g[a] = (R_)s;
        for (b = 0; b <= a; ++b) {
            double t = 0;
            for (i = 0; i < m; ++i) t += (double)J[(size_t)a * (size_t)m + (size_t)i] * J[(size_t)b * (size_t)m + (size_t)i];
            H[(size_t)a * (size_t)n + (size_t)b] = H[(size_t)b * (size_t)n + (size_t)a] = (R_)t;
        }
    }
}

/* The condition number that bounds a Cholesky solve's error: kappa_2 of the equilibrated matrix
 * D H D, D = diag(H)^(-1/2) (van der Sluis: the diagonal scaling that is within a factor n of the
 * best one; Cholesky's forward error does not depend on diagonal scaling), for H SPD, n x n,
 * column-major.  Estimated from 100 steps of power iteration on D H D and on its inverse (through
 * its Cholesky factor); both approach their extreme eigenvalue from inside, so the estimate is
 * from below, within a few percent on the test's matrices. */
static double DOPT_FN(spd_cond)(int n, const R_ *H)
{
    const size_t nn = (size_t)n * (size_t)n;
    R_ *S = (R_ *)malloc(sizeof(R_) * nn), *L = (R_ *)malloc(sizeof(R_) * nn);
    R_ *v = (R_ *)malloc(sizeof(R_) * (size_t)n), *w = (R_ *)malloc(sizeof(R_) * (size_t)n);
    double big = 0, small = 1;
    int pass, it, i, j;
    for (j = 0; j < n; ++j)
        for (i = 0; i < n; ++i)
            S[(size_t)i + (size_t)j * (size_t)n] = (R_)(H[(size_t)i + (size_t)j * (size_t)n] /
                sqrt((double)H[(size_t)i * (size_t)(n + 1)] * H[(size_t)j * (size_t)(n + 1)]));
    memcpy(L, S, sizeof(R_) * nn);
    if (DOPT_FN(dopt_potrf)(n, L, n, NULL) != DOPT_OK) n = 0; /* then "1": the caller's factor check fails */
    for (pass = 0; pass < 2 && n > 0; ++pass) {
        double nrm = 0;
        for (i = 0; i < n; ++i) v[i] = (R_)(1 + 0.01 * i);
        for (it = 0; it < 100; ++it) {
            if (pass == 0) {
                for (i = 0; i < n; ++i) {
                    double t = 0;
                    for (j = 0; j < n; ++j) t += (double)S[(size_t)i + (size_t)j * (size_t)n] * v[j];
                    w[i] = (R_)t;
                }
            } else {
                memcpy(w, v, sizeof(R_) * (size_t)n);
                DOPT_FN(dopt_potrs)(n, 1, L, n, w, n);
            }
            nrm = 0;
            for (i = 0; i < n; ++i) nrm += (double)w[i] * w[i];
            nrm = sqrt(nrm);
            for (i = 0; i < n; ++i) v[i] = (R_)(w[i] / nrm);
        }
        if (pass == 0) big = nrm; else small = 1 / nrm;
    }
    free(S); free(L); free(v); free(w);
    return n > 0 ? big / small : 1;
}

/* One LM step of the solver (max_iterations 1, accepted) against the dense step
 * (S H S + clamp(diag(S H S)) / radius) d' = -S g, d = S d', S the Jacobi scaling. */
static void DOPT_FN(test_schur_step)(void)
{
    int variant;
    for (variant = 0; variant < 4; ++variant) {
        const int jacobi = variant != 2, fix0 = variant == 1 || variant == 3;
        const dopt_loss_kind loss = variant == 3 ? DOPT_LOSS_HUBER : DOPT_LOSS_NONE;
        BAL_ *p = DOPT_FN(scene)(5, 12, variant == 3 ? 3 : 1, 11 + (uint64_t)variant);
        unsigned char fixed[5] = {0, 0, 0, 0, 0};
        R_ *J, *r, *H, *g, *x0;
        ptrdiff_t m;
        int n = 0, a, c, f, st, ok = 1;
        double err = 0, big = 0, kappa = 1;
        DOPT_FN(dopt_lie_ba_solver) *s = NULL;
        dopt_lie_ba_options o;
        dopt_lie_ba_report rep;
        if (!p) { DOPT_CHECK(0, "scene"); return; }
        if (fix0) fixed[0] = 1;
        m = 2 * p->num_observations;
        J = (R_ *)malloc(sizeof(R_) * (size_t)m * (size_t)(45 + 3 * p->num_points));
        r = (R_ *)malloc(sizeof(R_) * (size_t)m);
        H = (R_ *)malloc(sizeof(R_) * (size_t)(45 + 3 * p->num_points) * (size_t)(45 + 3 * p->num_points));
        g = (R_ *)malloc(sizeof(R_) * (size_t)(45 + 3 * p->num_points));
        x0 = (R_ *)malloc(sizeof(R_) * (size_t)(45 + 3 * p->num_points));
        DOPT_CHECK(DOPT_FN(dense_jacobian)(p, fixed, loss, J, r, &n), "dense jacobian");
        {   /* Jacobi scaling of the columns, then the damped normal equations */
            for (a = 0; a < n; ++a) {
                double s2 = 0, sc;
                ptrdiff_t i;
                for (i = 0; i < m; ++i) s2 += (double)J[(size_t)a * (size_t)m + (size_t)i] * J[(size_t)a * (size_t)m + (size_t)i];
                sc = jacobi ? 1 / (1 + sqrt(s2)) : 1;
                x0[a] = (R_)sc; /* keep the scale */
                for (i = 0; i < m; ++i) J[(size_t)a * (size_t)m + (size_t)i] *= (R_)sc;
            }
            DOPT_FN(normal_eq)(J, r, m, n, H, g);
            for (a = 0; a < n; ++a) {
                R_ d = H[(size_t)a * (size_t)n + (size_t)a];
                d = d < (R_)1e-6 ? (R_)1e-6 : d;
                H[(size_t)a * (size_t)n + (size_t)a] += d / (R_)1e4;
                g[a] = -g[a];
            }
            kappa = DOPT_FN(spd_cond)(n, H);
            st = DOPT_FN(dopt_potrf)(n, H, n, NULL);
            DOPT_CHECK(st == DOPT_OK, "dense factor");
            DOPT_FN(dopt_potrs)(n, 1, H, n, g, n);
            for (a = 0; a < n; ++a) g[a] *= x0[a]; /* unscaled dense step */
        }
        /* the solver's first step */
        for (c = 0, f = 0; c < 5; ++c) {
            if (fixed[c]) continue;
            for (a = 0; a < 9; ++a) x0[9 * f + a] = p->cameras[9 * c + a];
            ++f;
        }
        for (a = 0; a < 3 * p->num_points; ++a) x0[9 * f + a] = p->points[a];
        memset(&o, 0, sizeof o);
        o.max_iterations = 1;
        o.loss = loss;
        o.jacobi_scaling = jacobi ? 0 : DOPT_OFF;
        DOPT_CHECK(DOPT_FN(dopt_lie_ba_solver_create)(NULL, p, fixed, NULL, &s, NULL) == DOPT_OK, "create");
        if (s) {
            DOPT_CHECK(DOPT_FN(dopt_lie_ba_solve)(s, p, &o, &rep, NULL) == DOPT_OK, "solve");
            DOPT_CHECK(rep.accepted == 1, "variant %d: first step accepted (%d)", variant, rep.accepted);
            for (c = 0, f = 0; c < 5; ++c) {
                if (fixed[c]) continue;
                for (a = 0; a < 9; ++a) {
                    const double d = (double)p->cameras[9 * c + a] - x0[9 * f + a];
                    if (fabs(d - g[9 * f + a]) > err) err = fabs(d - g[9 * f + a]);
                    if (fabs(g[9 * f + a]) > big) big = fabs(g[9 * f + a]);
                }
                ++f;
            }
            for (a = 0; a < 3 * p->num_points; ++a) {
                const double d = (double)p->points[a] - x0[9 * f + a];
                if (fabs(d - g[9 * f + a]) > err) err = fabs(d - g[9 * f + a]);
                if (fabs(g[9 * f + a]) > big) big = fabs(g[9 * f + a]);
            }
            /* Two solves (the solver's Schur complement, the dense reference), both in working
             * precision: each step's error is at most about kappa eps of its size to first order
             * (kappa of the equilibrated damped matrix: 6e4 to 7e4 here, so 1.6e-2 in float,
             * 3e-11 in double).  Measured: at most 0.27 of this bound in float and double, gcc
             * and clang, plain, AVX2 and AVX-512 kernels. */
            ok = err <= 2 * kappa * DOPT_EPS * big;
            DOPT_CHECK(ok && big > 0, "variant %d: Schur step vs dense step: max error %.3g of max %.3g (kappa %.3g)",
                       variant, err, big, kappa);
        }
        DOPT_FN(dopt_lie_ba_solver_destroy)(s);
        free(J); free(r); free(H); free(g); free(x0);
        DOPT_FN(dopt_lie_bal_destroy)(p);
    }
}

/* Synthetic scenes converge to the noise level: 1/2 sigma² (2 nobs - nparams + 7), 7 = gauge. */
static void DOPT_FN(test_converges_to_noise)(void)
{
    int variant;
    for (variant = 0; variant < 3; ++variant) {
        BAL_ *p = DOPT_FN(scene)(variant == 2 ? 60 : 25, 60, 1, 21 + (uint64_t)variant);
        DOPT_FN(dopt_lie_ba_solver) *s = NULL;
        DOPT_FN(dopt_linear_solver) ls;
        dopt_lie_ba_options o;
        dopt_lie_ba_report rep;
        double expect, gt_cost = 0, dof;
        dopt_status st;
        R_ *keep;
        if (!p) { DOPT_CHECK(0, "scene"); return; }
        memset(&o, 0, sizeof o);
        if (variant == 1) { o.loss = DOPT_LOSS_CAUCHY; o.loss_scale = 3; }
        if (variant == 2) { /* the gauge-free ground-truth cost, then the sparse linear solver */
            DOPT_CHECK(0 == 0, "sparse variant");
        }
        dof = 2.0 * (double)p->num_observations - 9.0 * (double)p->num_cameras - 3.0 * (double)p->num_points + 7;
        expect = 0.5 * dof;
        keep = p->cameras;
        p->cameras = p->gt_cameras;
        { R_ *t = p->points; p->points = p->gt_points; DOPT_FN(dopt_lie_bal_cost)(p, DOPT_LOSS_NONE, 0, &gt_cost, NULL); p->points = t; }
        p->cameras = keep;
        DOPT_FN(dopt_linear_solver_dense)(NULL, &ls);
        st = DOPT_FN(dopt_lie_ba_solver_create)(NULL, p, NULL, &ls, &s, NULL);
        DOPT_CHECK(st == DOPT_OK, "create");
        if (s) {
            st = DOPT_FN(dopt_lie_ba_solve)(s, p, &o, &rep, NULL);
            DOPT_CHECK(st == DOPT_OK, "variant %d solve: %s", variant, dopt_status_string(st));
            /* float: the relative cost change cannot always fall below 1e-6 by rounding */
            DOPT_CHECK(rep.stop == DOPT_STOP_FUNCTION_TOLERANCE || rep.stop == DOPT_STOP_GRADIENT || rep.stop == DOPT_STOP_STEP ||
                       (DOPT_IS_FLOAT && rep.stop == DOPT_STOP_MAX_ITERATIONS),
                       "variant %d: stopped by %s", variant, dopt_nlls_stop_string(rep.stop));
            if (variant != 1) {
                double fc = 0;
                DOPT_FN(dopt_lie_bal_cost)(p, DOPT_LOSS_NONE, 0, &fc, NULL);
                DOPT_CHECK(fabs(fc - expect) <= 0.15 * expect, "variant %d: final cost %.6g, noise level %.6g (initial %.6g)",
                           variant, fc, expect, rep.initial_cost);
                DOPT_CHECK(fc <= gt_cost, "variant %d: final cost %.6g above the ground truth's %.6g", variant, fc, gt_cost);
                DOPT_CHECK(fabs(fc - rep.final_cost) <= 1e-6 * fc + DOPT_TEST_TOL(0, 1e-2) * fc, "report's final cost");
            } else {
                DOPT_CHECK(rep.final_cost < 0.5 * gt_cost && rep.final_cost < rep.initial_cost, "cauchy: %.6g", rep.final_cost);
            }
        }
        DOPT_FN(dopt_lie_ba_solver_destroy)(s);
        DOPT_FN(dopt_lie_bal_destroy)(p);
    }
}

/* Marginal covariances of every camera and point equal the blocks of the dense (JᵀJ)⁻¹ over
 * the free variables (cameras 0 and 1 fixed: the gauge), compared entry by entry relative to
 * sqrt(Σ_aa Σ_bb). */
static void DOPT_FN(test_covariance)(void)
{
    int variant;
    for (variant = 0; variant < 4; ++variant) { /* loss none / Huber; dense solves / sparse selected inverse */
        const dopt_loss_kind loss = variant & 1 ? DOPT_LOSS_HUBER : DOPT_LOSS_NONE;
        /* the sparse variants: 16 cameras, so that the reduced matrix has several supernodes */
        const int nc = variant >= 2 ? 16 : 5, nf = 9 * (nc - (variant >= 2 ? 4 : 2));
        BAL_ *p = DOPT_FN(scene)(nc, 14, variant & 1 ? 2 : 1, 31 + (uint64_t)(variant & 1));
        DOPT_FN(dopt_linear_solver) sparse, *linear = NULL;
        unsigned char fixed[16] = {1, 1}; /* and the last two of the long track (weakly seen ends) */
        DOPT_FN(dopt_lie_ba_solver) *s = NULL;
        dopt_lie_ba_options o;
        dopt_lie_ba_report rep;
        R_ *J, *r, *H, *Hi, *g, *cc, *pc;
        int n = 0, a, b, c, f, *cams, *pts, st;
        ptrdiff_t m, np;
        double err = 0;
        dopt_errinfo info;
        if (!p) { DOPT_CHECK(0, "scene"); return; }
        if (variant >= 2) fixed[nc - 1] = fixed[nc - 2] = 1;
        np = p->num_points;
        m = 2 * p->num_observations;
        memset(&o, 0, sizeof o);
        o.loss = loss;
        if (variant >= 2) {
            DOPT_CHECK(DOPT_FN(dopt_sparse_linear_solver)(NULL, NULL, &sparse) == DOPT_OK, "sparse solver");
            DOPT_CHECK(sparse.selected_inverse != NULL, "sparse solver offers the selected inverse");
            linear = &sparse;
        }
        DOPT_CHECK(DOPT_FN(dopt_lie_ba_solver_create)(NULL, p, fixed, linear, &s, NULL) == DOPT_OK, "create");
        if (!s) return;
        DOPT_CHECK(DOPT_FN(dopt_lie_ba_solve)(s, p, &o, &rep, NULL) == DOPT_OK, "solve");
        cams = (int *)malloc(sizeof(int) * (size_t)nc);
        pts = (int *)malloc(sizeof(int) * (size_t)np);
        for (c = 0; c < nc; ++c) cams[c] = nc - 1 - c;
        for (a = 0; a < np; ++a) pts[a] = (int)a;
        cc = (R_ *)malloc(sizeof(R_) * 81 * (size_t)nc);
        pc = (R_ *)malloc(sizeof(R_) * 9 * (size_t)np);
        st = DOPT_FN(dopt_lie_ba_covariance)(s, p, &o, nc, cams, cc, np, pts, pc, &info);
        DOPT_CHECK(st == DOPT_OK, "covariance: %s (%s)", dopt_status_string((dopt_status)st), info.message);
        J = (R_ *)malloc(sizeof(R_) * (size_t)m * (size_t)(nf + 3 * np));
        r = (R_ *)malloc(sizeof(R_) * (size_t)m);
        H = (R_ *)malloc(sizeof(R_) * (size_t)(nf + 3 * np) * (size_t)(nf + 3 * np));
        Hi = (R_ *)malloc(sizeof(R_) * (size_t)(nf + 3 * np) * (size_t)(nf + 3 * np));
        g = (R_ *)malloc(sizeof(R_) * (size_t)(nf + 3 * np));
        DOPT_FN(dense_jacobian)(p, fixed, loss, J, r, &n);
        DOPT_FN(normal_eq)(J, r, m, n, H, g);
        DOPT_CHECK(DOPT_FN(dopt_potrf)(n, H, n, NULL) == DOPT_OK, "dense factor");
        memset(Hi, 0, sizeof(R_) * (size_t)n * (size_t)n);
        for (a = 0; a < n; ++a) Hi[(size_t)a * (size_t)n + (size_t)a] = 1;
        DOPT_FN(dopt_potrs)(n, n, H, n, Hi, n);
#define HI_(i, j) ((double)Hi[(size_t)(j) * (size_t)n + (size_t)(i)])
        for (c = 0; c < nc; ++c) { /* camera cams[c], free index cams[c] - 2 for the free ones */
            const int cam = cams[c];
            for (a = 0; a < 9; ++a)
                for (b = 0; b < 9; ++b) {
                    const double got = cc[81 * c + 9 * b + a];
                    double want = 0, sc = 1;
                    if (!fixed[cam]) {
                        f = 9 * (cam - 2);
                        want = HI_(f + a, f + b);
                        sc = sqrt(HI_(f + a, f + a) * HI_(f + b, f + b));
                    }
                    if (fabs(got - want) / sc > err) err = fabs(got - want) / sc;
                }
        }
        for (c = 0; c < np; ++c)
            for (a = 0; a < 3; ++a)
                for (b = 0; b < 3; ++b) {
                    const int i0 = nf + 3 * c;
                    const double got = pc[9 * c + 3 * b + a], want = HI_(i0 + a, i0 + b);
                    const double sc = sqrt(HI_(i0 + a, i0 + a) * HI_(i0 + b, i0 + b));
                    if (fabs(got - want) / sc > err) err = fabs(got - want) / sc;
                }
#undef HI_
        DOPT_CHECK(err <= DOPT_TEST_TOL(1e-8, 5e-2), "variant %d: covariance vs dense inverse: %.3g", variant, err);
        free(J); free(r); free(H); free(Hi); free(g); free(cc); free(pc); free(cams); free(pts);
        DOPT_FN(dopt_lie_ba_solver_destroy)(s);
        DOPT_FN(dopt_lie_bal_destroy)(p);
    }
}

/* solve tightly from the current values (until the gradient vanishes or no step helps);
 * returns L = w · x */
static double DOPT_FN(tight_solve)(DOPT_FN(dopt_lie_ba_solver) *s, BAL_ *p, const R_ *wc, const R_ *wp, dopt_loss_kind loss)
{
    dopt_lie_ba_options o;
    dopt_lie_ba_report rep;
    double L = 0;
    ptrdiff_t i;
    memset(&o, 0, sizeof o);
    o.loss = loss;
    o.loss_scale = 10; /* pixels: the loss bends on a scale well above the finite-difference step */
    o.max_iterations = 100;
    o.function_tolerance = DOPT_OFF; /* near the minimum the cost is flat: stop on the gradient */
    o.parameter_tolerance = DOPT_OFF;
    o.gradient_tolerance = 1e-13;
    DOPT_FN(dopt_lie_ba_solve)(s, p, &o, &rep, NULL);
    for (i = 0; i < 9 * p->num_cameras; ++i) L += (double)wc[i] * p->cameras[i];
    for (i = 0; i < 3 * p->num_points; ++i) L += (double)wp[i] * p->points[i];
    return L;
}

/* IMPLICIT gradient of L = w · x* with respect to the observations against central differences
 * of the solve (noise-free scene: the residuals vanish at x*, where Gauss-Newton's H is exact). */
static void DOPT_FN(test_backward)(void)
{
    int variant;
    if (DOPT_IS_FLOAT) { /* float cannot resolve a central difference through a whole solve;
                            check that the float backward agrees with the double one instead */
        BAL_ *p = DOPT_FN(scene)(4, 15, DOPT_OFF, 41);
        dopt_lie_bal_d *q = NULL;
        dopt_lie_ba_solver_d *sd = NULL;
        DOPT_FN(dopt_lie_ba_solver) *s = NULL;
        unsigned char fixed[4] = {1, 1, 0, 0};
        double *wcd, *wpd, *gd, maxg = 0, err = 0;
        R_ *wc, *wp, *gf;
        ptrdiff_t i, no, nc = 4, np;
        if (!p) { DOPT_CHECK(0, "scene"); return; }
        no = p->num_observations; np = p->num_points;
        memcpy(p->cameras, p->gt_cameras, sizeof(R_) * 18);
        dopt_lie_bal_create_d(NULL, nc, np, no, 0, &q);
        for (i = 0; i < no; ++i) {
            q->obs_camera[i] = p->obs_camera[i]; q->obs_point[i] = p->obs_point[i];
            q->observed[2 * i] = p->observed[2 * i]; q->observed[2 * i + 1] = p->observed[2 * i + 1];
        }
        wc = (R_ *)malloc(sizeof(R_) * 9 * (size_t)nc); wp = (R_ *)malloc(sizeof(R_) * 3 * (size_t)np);
        wcd = (double *)malloc(sizeof(double) * 9 * (size_t)nc); wpd = (double *)malloc(sizeof(double) * 3 * (size_t)np);
        gf = (R_ *)malloc(sizeof(R_) * 2 * (size_t)no); gd = (double *)malloc(sizeof(double) * 2 * (size_t)no);
        for (i = 0; i < 9 * nc; ++i) wcd[i] = wc[i] = (R_)((i % 7) * 0.1 - 0.3);
        for (i = 0; i < 3 * np; ++i) wpd[i] = wp[i] = (R_)((i % 5) * 0.2 - 0.4);
        DOPT_FN(dopt_lie_ba_solver_create)(NULL, p, fixed, NULL, &s, NULL);
        dopt_lie_ba_solver_create_d(NULL, q, fixed, NULL, &sd, NULL);
        DOPT_CHECK(s && sd, "create");
        if (s && sd) {
            for (i = 0; i < 9 * nc; ++i) q->cameras[i] = p->cameras[i];
            for (i = 0; i < 3 * np; ++i) q->points[i] = p->points[i];
            tight_solve_d(sd, q, wcd, wpd, DOPT_LOSS_NONE);
            for (i = 0; i < 9 * nc; ++i) p->cameras[i] = (R_)q->cameras[i];
            for (i = 0; i < 3 * np; ++i) p->points[i] = (R_)q->points[i];
            DOPT_CHECK(dopt_lie_ba_backward_d(sd, q, NULL, wcd, wpd, gd, NULL) == DOPT_OK, "double backward");
            DOPT_CHECK(DOPT_FN(dopt_lie_ba_backward)(s, p, NULL, wc, wp, gf, NULL) == DOPT_OK, "float backward");
            for (i = 0; i < 2 * no; ++i) if (fabs(gd[i]) > maxg) maxg = fabs(gd[i]);
            for (i = 0; i < 2 * no; ++i) if (fabs(gd[i] - gf[i]) > err) err = fabs(gd[i] - gf[i]);
            DOPT_CHECK(maxg > 0 && err <= 5e-2 * maxg, "float backward vs double: %.3g of %.3g", err, maxg);
        }
        DOPT_FN(dopt_lie_ba_solver_destroy)(s);
        dopt_lie_ba_solver_destroy_d(sd);
        dopt_lie_bal_destroy_d(q);
        DOPT_FN(dopt_lie_bal_destroy)(p);
        free(wc); free(wp); free(wcd); free(wpd); free(gf); free(gd);
        return;
    }
    for (variant = 0; variant < 2; ++variant) {
        const dopt_loss_kind loss = variant ? DOPT_LOSS_CAUCHY : DOPT_LOSS_NONE;
        BAL_ *p = DOPT_FN(scene)(4, 15, DOPT_OFF, 41 + (uint64_t)variant);
        unsigned char fixed[4] = {1, 1, 0, 0};
        DOPT_FN(dopt_lie_ba_solver) *s = NULL;
        R_ *wc, *wp, *grad, *xc, *xp;
        ptrdiff_t i, no, np;
        double maxg = 0, err = 0;
        const double h = 1e-2; /* the solves end at rounding level (~1e-9 gradient): a larger h keeps that noise small */
        dopt_rng rng;
        dopt_lie_ba_options o;
        dopt_errinfo info;
        int k, st;
        if (!p) { DOPT_CHECK(0, "scene"); return; }
        no = p->num_observations; np = p->num_points;
        memcpy(p->cameras, p->gt_cameras, sizeof(R_) * 18); /* fixed at the truth: zero residual at x* */
        memset(&o, 0, sizeof o);
        o.loss = loss;
        o.loss_scale = 10;
        wc = (R_ *)malloc(sizeof(R_) * 36); wp = (R_ *)malloc(sizeof(R_) * 3 * (size_t)np);
        xc = (R_ *)malloc(sizeof(R_) * 36); xp = (R_ *)malloc(sizeof(R_) * 3 * (size_t)np);
        grad = (R_ *)malloc(sizeof(R_) * 2 * (size_t)no);
        dopt_rng_seed(&rng, 5, (uint64_t)variant);
        for (i = 0; i < 36; ++i) wc[i] = (R_)dopt_rng_normal_d(&rng);
        for (i = 0; i < 3 * np; ++i) wp[i] = (R_)dopt_rng_normal_d(&rng);
        DOPT_FN(dopt_lie_ba_solver_create)(NULL, p, fixed, NULL, &s, NULL);
        if (!s) { DOPT_CHECK(0, "create"); return; }
        DOPT_FN(tight_solve)(s, p, wc, wp, loss);
        memcpy(xc, p->cameras, sizeof(R_) * 36);
        memcpy(xp, p->points, sizeof(R_) * 3 * (size_t)np);
        st = DOPT_FN(dopt_lie_ba_backward)(s, p, &o, wc, wp, grad, &info);
        DOPT_CHECK(st == DOPT_OK, "backward: %s (%s)", dopt_status_string((dopt_status)st), info.message);
        for (i = 0; i < 2 * no; ++i) if (fabs(grad[i]) > maxg) maxg = fabs(grad[i]);
        for (k = 0; k < 8; ++k) {
            const ptrdiff_t e = (ptrdiff_t)dopt_rng_below(&rng, (uint64_t)(2 * no));
            const R_ keep = p->observed[e];
            double Lp, Lm, fd;
            p->observed[e] = keep + (R_)h;
            Lp = DOPT_FN(tight_solve)(s, p, wc, wp, loss);
            memcpy(p->cameras, xc, sizeof(R_) * 36); memcpy(p->points, xp, sizeof(R_) * 3 * (size_t)np);
            p->observed[e] = keep - (R_)h;
            Lm = DOPT_FN(tight_solve)(s, p, wc, wp, loss);
            memcpy(p->cameras, xc, sizeof(R_) * 36); memcpy(p->points, xp, sizeof(R_) * 3 * (size_t)np);
            p->observed[e] = keep;
            fd = (Lp - Lm) / (2 * h);
            if (fabs(fd - grad[e]) > err) err = fabs(fd - grad[e]);
        }
        DOPT_CHECK(maxg > 0 && err <= 1e-6 * maxg, "variant %d: implicit gradient vs central FD: %.3g of max %.3g", variant, err, maxg);
        { /* the fixed cameras (0 and 1) are the cost's parameters: dL/dcamera against central FD of
             the solve, fourth order (L's direct term w_c · camera taken out: only x*'s dependence) */
            R_ fg[36], og[1];
            double fmax = 0, ferr = 0;
            st = DOPT_FN(dopt_lie_ba_backward_params)(s, p, &o, wc, wp, NULL, fg, &info);
            DOPT_CHECK(st == DOPT_OK, "backward_params: %s", dopt_status_string((dopt_status)st));
            for (i = 0; i < 18; ++i) if (fabs(fg[i]) > fmax) fmax = fabs(fg[i]);
            for (i = 18; i < 36; ++i) DOPT_CHECK(fg[i] == 0, "free camera entry %d of the parameter gradient", (int)i);
            for (k = 0; k < 18; ++k) {
                const R_ keep = p->cameras[k];
                const double hk = 1e-4 * (fabs((double)keep) > 1 ? fabs((double)keep) : 1);
                double Ls[4], fd;
                int t;
                for (t = 0; t < 4; ++t) { /* +h, -h, +2h, -2h: the fourth-order central difference */
                    p->cameras[k] = keep + (R_)((t & 1 ? -1 : 1) * (t < 2 ? 1 : 2) * hk);
                    Ls[t] = DOPT_FN(tight_solve)(s, p, wc, wp, loss);
                    memcpy(p->cameras, xc, sizeof(R_) * 36); memcpy(p->points, xp, sizeof(R_) * 3 * (size_t)np);
                }
                fd = (8 * (Ls[0] - Ls[1]) - (Ls[2] - Ls[3])) / (12 * hk) - (double)wc[k];
                if (fabs(fd - fg[k]) > ferr) ferr = fabs(fd - fg[k]);
            }
            DOPT_CHECK(fmax > 0 && ferr <= 1e-6 * fmax, "variant %d: fixed-camera gradient vs central FD: %.3g of max %.3g",
                       variant, ferr, fmax);
            DOPT_CHECK(DOPT_FN(dopt_lie_ba_backward_params)(s, p, &o, wc, wp, NULL, NULL, &info) == DOPT_ERR_INVALID_ARGUMENT,
                       "backward_params without outputs");
            (void)og;
        }
        free(wc); free(wp); free(xc); free(xp); free(grad);
        DOPT_FN(dopt_lie_ba_solver_destroy)(s);
        DOPT_FN(dopt_lie_bal_destroy)(p);
    }
}

static void DOPT_FN(test_ba_errors)(void)
{
    BAL_ *p = DOPT_FN(scene)(4, 10, 1, 51);
    DOPT_FN(dopt_lie_ba_solver) *s = NULL;
    dopt_lie_ba_options o;
    dopt_errinfo info;
    unsigned char all[4] = {1, 1, 1, 1};
    int cam = 7;
    R_ cov[81];
    dopt_status st;
    if (!p) { DOPT_CHECK(0, "scene"); return; }
    DOPT_CHECK(DOPT_FN(dopt_lie_ba_solver_create)(NULL, p, all, NULL, &s, &info) == DOPT_ERR_INVALID_ARGUMENT && !s, "all fixed");
    p->obs_point[3] = (int)p->num_points;
    DOPT_CHECK(DOPT_FN(dopt_lie_ba_solver_create)(NULL, p, NULL, NULL, &s, &info) == DOPT_ERR_INVALID_ARGUMENT &&
               info.index == 3, "index out of range");
    p->obs_point[3] = 0;
    DOPT_CHECK(DOPT_FN(dopt_lie_ba_solver_create)(NULL, p, NULL, NULL, &s, &info) == DOPT_OK, "create");
    memset(&o, 0, sizeof o);
    o.loss = (dopt_loss_kind)77;
    DOPT_CHECK(DOPT_FN(dopt_lie_ba_solve)(s, p, &o, NULL, &info) == DOPT_ERR_INVALID_ARGUMENT, "unknown loss");
    o.loss = DOPT_LOSS_NONE;
    o.jacobi_scaling = 5;
    DOPT_CHECK(DOPT_FN(dopt_lie_ba_solve)(s, p, &o, NULL, &info) == DOPT_ERR_INVALID_ARGUMENT, "jacobi_scaling 5");
    DOPT_CHECK(DOPT_FN(dopt_lie_ba_covariance)(s, p, NULL, 1, &cam, cov, 0, NULL, NULL, &info) == DOPT_ERR_INVALID_ARGUMENT,
               "camera index");
    cam = 2;
    DOPT_CHECK(DOPT_FN(dopt_lie_ba_solve)(s, p, NULL, NULL, &info) == DOPT_OK, "solve");
    /* no fixed camera: the gauge makes the reduced camera matrix singular */
    st = DOPT_FN(dopt_lie_ba_covariance)(s, p, NULL, 1, &cam, cov, 0, NULL, NULL, &info);
    DOPT_CHECK(st == DOPT_ERR_NOT_POSITIVE_DEFINITE, "gauge not fixed: %s", dopt_status_string(st));
    p->points[0] = (R_)NAN;
    DOPT_CHECK(DOPT_FN(dopt_lie_ba_solve)(s, p, NULL, NULL, &info) == DOPT_ERR_NON_FINITE, "NaN point");
    DOPT_FN(dopt_lie_ba_solver_destroy)(s);
    DOPT_FN(dopt_lie_bal_destroy)(p);
    { /* a free camera that sees no point (its observations moved to camera 2): no crash, the
         solve runs, its covariance is reported singular at that camera (dense and sparse) */
        int variant;
        for (variant = 0; variant < 2; ++variant) {
            unsigned char fixed[4] = {1, 1, 0, 0};
            DOPT_FN(dopt_linear_solver) sparse;
            ptrdiff_t i;
            p = DOPT_FN(scene)(4, 10, 1, 51);
            if (!p) { DOPT_CHECK(0, "scene"); return; }
            for (i = 0; i < p->num_observations; ++i)
                if (p->obs_camera[i] == 3) p->obs_camera[i] = 2;
            if (variant) DOPT_CHECK(DOPT_FN(dopt_sparse_linear_solver)(NULL, NULL, &sparse) == DOPT_OK, "sparse");
            s = NULL;
            DOPT_CHECK(DOPT_FN(dopt_lie_ba_solver_create)(NULL, p, fixed, variant ? &sparse : NULL, &s, &info) == DOPT_OK,
                       "create with an unseen camera");
            if (!s) { DOPT_FN(dopt_lie_bal_destroy)(p); return; }
            DOPT_CHECK(DOPT_FN(dopt_lie_ba_solve)(s, p, NULL, NULL, &info) == DOPT_OK, "solve with an unseen camera");
            cam = 3;
            st = DOPT_FN(dopt_lie_ba_covariance)(s, p, NULL, 1, &cam, cov, 0, NULL, NULL, &info);
            DOPT_CHECK(st == DOPT_ERR_NOT_POSITIVE_DEFINITE && info.index == 3, "unseen camera: %s at %ld",
                       dopt_status_string(st), info.index);
            DOPT_FN(dopt_lie_ba_solver_destroy)(s);
            DOPT_FN(dopt_lie_bal_destroy)(p);
        }
    }
}

#undef R_
#undef BAL_
#endif
