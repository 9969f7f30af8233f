/* CEM, DCEM and the LML projection of dopt_mpc.h, float and double.
 *   LML: sums to k, lies in [0, 1], equals an independent long-double bisection (1e-12 double),
 *        ties / huge / tiny inputs / k = 1, n - 1 / fractional k; ../shared/reference/
 *        lml_reference.json (the VJP to 1e-10; the forward to the reference's own bisection
 *        tolerance, see test_lml_reference); VJP against central differences (1e-7).
 *   CEM: the ziggurat sampler's table, moments, tail and chi-square, and its block routine (the
 *        AVX2 vectors or the plain loop) against a one-draw reading of the algorithm, bit for bit;
 *        a shifted quadratic and Rosenbrock in 10-D for
 *        10 seeds within stated tolerances; bit-identical results whatever the batch size and
 *        however a batch is split between solvers (threads); box bounds; a receding-horizon
 *        CEM-MPC loop (plan, apply, shift) with zero heap allocations counted through the hook.
 *   DCEM: the VJP of the unrolled map (noise held fixed) against central differences (1e-6) for
 *        the initial mean and std and the objective's parameters, standardized and raw costs,
 *        momentum and box bounds. */
#if !defined(DOPT__DRIVE)
#define DOPT_IMPLEMENTATION
#include "dopt.h"
#include "dopt_mpc.h"
#include "dopt_test.h"

/* ---- counting allocator for the zero-allocation loop ---- */
typedef struct counting { long allocs, live; } counting;
static void *count_alloc(void *u, size_t n)
{
    ((counting *)u)->allocs++;
    ((counting *)u)->live++;
    return malloc(n);
}
static void count_free(void *u, void *p, size_t n)
{
    (void)n;
    ((counting *)u)->live--;
    free(p);
}
static void *fail_alloc(void *u, size_t n)
{
    (void)u;
    (void)n;
    return NULL;
}

/* DCEM tests run at dim 4 (whole vectors) and 11 (a vector family's row blocks end in an
 * overlapping block: 4 + 4 + 3 doubles on avx2, 8 + 3 on avx512 and in float on avx2) */
#define DCEM_DMAX 11
#define TEST_CEM_PASS
#define DOPT__DRIVE "tests/test_cem.c"
#include "dopt.h"
#undef DOPT__DRIVE
#undef TEST_CEM_PASS

/* ---- the LML reference file: a tiny reader for the few flat number lists it holds ---- */

/* The first `count` numbers after "key": in text; returns how many were read. */
static int read_numbers(const char *text, const char *key, double *out, int count)
{
    char pat[64];
    const char *p;
    int got = 0;
    snprintf(pat, sizeof pat, "\"%s\":", key);
    p = strstr(text, pat);
    if (!p) return 0;
    p += strlen(pat);
    while (got < count && *p) {
        char *end;
        double v;
        if (*p == '-' || *p == '+' || (*p >= '0' && *p <= '9')) {
            v = strtod(p, &end);
            if (end == p) return got;
            out[got++] = v;
            p = end;
        } else if (*p == '"') {
            return got; /* next key */
        } else {
            ++p;
        }
    }
    return got;
}

static void test_lml_reference(void)
{
    char path[512], *text;
    double k, x[16], y[16], v[16], vjp[16], mine[16], g[16], nu[2], ref_nu;
    int b, i;
    const char *dir = getenv("DOPT_REFERENCE_DIR");
    snprintf(path, sizeof path, "%s/lml_reference.json", dir && *dir ? dir : "../shared/reference");
    text = dopt_test_read_text(path);
    if (!text) DOPT_SKIP("../shared/reference/lml_reference.json not found");
    DOPT_CHECK(read_numbers(text, "k", &k, 1) == 1 && read_numbers(text, "x", x, 16) == 16 &&
                   read_numbers(text, "y", y, 16) == 16 && read_numbers(text, "v", v, 16) == 16 &&
                   read_numbers(text, "vjp", vjp, 16) == 16,
               "reference file parsed");
    free(text);
    DOPT_CHECK(dopt_mpc_lml_d(2, 8, k, x, 8, mine, 8, nu, NULL, NULL) == DOPT_OK, "lml ok");
    for (b = 0; b < 2; ++b) {
        double s = 0, sref = 0;
        /* The reference's dual comes from a bisection stopped at its own tolerance: its y sums to
         * k only within ~2e-5 (3.000017 for row 0), while every entry is sigmoid(x_i + nu_ref)
         * with ONE nu_ref to 1e-15.  So: the shared dual is checked to 1e-12, the forward to the
         * reference's constraint error, and the VJP (a function of y alone) to 1e-10. */
        ref_nu = log(y[8 * b] / (1 - y[8 * b])) - x[8 * b];
        for (i = 0; i < 8; ++i) {
            double nui = log(y[8 * b + i] / (1 - y[8 * b + i])) - x[8 * b + i];
            DOPT_CHECK_CLOSE(nui, ref_nu, 1e-12, "reference is sigmoid(x + one nu)");
            s += mine[8 * b + i];
            sref += y[8 * b + i];
        }
        DOPT_CHECK(fabs(s - k) <= 1e-13, "ours sums to k: %.17g", s);
        for (i = 0; i < 8; ++i)
            DOPT_CHECK(fabs(mine[8 * b + i] - y[8 * b + i]) <= 2 * fabs(sref - k) + 1e-12,
                       "forward vs reference %d: %.17g vs %.17g (reference sum error %.3g)", i, mine[8 * b + i],
                       y[8 * b + i], fabs(sref - k));
        DOPT_CHECK(fabs(nu[b] - ref_nu) <= 1e-4, "dual %.17g vs reference %.17g", nu[b], ref_nu);
    }
    DOPT_CHECK(dopt_mpc_lml_backward_d(2, 8, y, 8, v, 8, g, 8, NULL) == DOPT_OK, "vjp ok");
    for (i = 0; i < 16; ++i) DOPT_CHECK_CLOSE(g[i], vjp[i], 1e-10, "vjp vs reference");
}

/* LML's VJP against central differences of the forward (double). */
static void test_lml_vjp_fd(void)
{
    static const int ns[] = {2, 5, 8, 50};
    static const double ks[] = {1, 1.5, 3, -1}; /* -1: n - 1 */
    dopt_rng rng;
    int a, c, i, j;
    dopt_rng_seed(&rng, 7, 0);
    for (a = 0; a < 4; ++a)
        for (c = 0; c < 4; ++c) {
            int n = ns[a];
            double k = ks[c] < 0 ? n - 1 : ks[c], x[50], y[50], yp[50], ym[50], gy[50], gx[50];
            if (k >= n) continue;
            for (i = 0; i < n; ++i) x[i] = 2 * dopt_rng_normal_d(&rng), gy[i] = dopt_rng_normal_d(&rng);
            DOPT_CHECK(dopt_mpc_lml_d(1, n, k, x, n, y, n, NULL, NULL, NULL) == DOPT_OK, "lml");
            DOPT_CHECK(dopt_mpc_lml_backward_d(1, n, y, n, gy, n, gx, n, NULL) == DOPT_OK, "vjp");
            for (i = 0; i < n; ++i) {
                double h = 1e-5, xi = x[i], fd = 0;
                x[i] = xi + h;
                dopt_mpc_lml_d(1, n, k, x, n, yp, n, NULL, NULL, NULL);
                x[i] = xi - h;
                dopt_mpc_lml_d(1, n, k, x, n, ym, n, NULL, NULL, NULL);
                x[i] = xi;
                for (j = 0; j < n; ++j) fd += gy[j] * (yp[j] - ym[j]) / (2 * h);
                DOPT_CHECK(fabs(fd - gx[i]) <= 1e-7 * (1 + fabs(fd)), "n %d k %g i %d: fd %.12g vjp %.12g", n, k, i, fd,
                           gx[i]);
            }
        }
}

/* The ziggurat sampler: its tables (the layers stack up to the peak), moments, tail mass and a
 * 40-bin chi-square against the normal CDF, and the block routine (the copy of the kernel family
 * the CPU runs: vector code in avx2 and avx512; a dispatched build's plain copy too) against a
 * one-draw-at-a-time reading of the documented algorithm, bit for bit. */
/* The documented algorithm read one draw at a time: per 64 blocks of 8 draws, lane l draws
 * candidate u of draw 8 b + l; then the rejected candidates, in order, go through the slow path
 * on their own lane.  Fills out[0 .. 8 blocks). */
static void zig_reference(const dopt__mpc_zig *z, dopt__mpc_lanes *L, int blocks, double *out)
{
    static uint64_t u[64 * DOPT__MPC_LANES];
    static int ok[64 * DOPT__MPC_LANES];
    int first, q, layer;
    for (first = 0; first < blocks; first += 64) {
        int n = DOPT__MPC_LANES * (blocks - first < 64 ? blocks - first : 64);
        double *o = out + (size_t)DOPT__MPC_LANES * first;
        for (q = 0; q < n; ++q) {
            u[q] = dopt__mpc_lane_next(L, q % DOPT__MPC_LANES);
            ok[q] = dopt__mpc_zig_try(z, u[q], &layer, &o[q]);
        }
        for (q = 0; q < n; ++q)
            if (!ok[q]) o[q] = dopt__mpc_zig_slow(z, L, q % DOPT__MPC_LANES, u[q]);
    }
}

static void test_ziggurat(void)
{
    static double x[1 << 16], xr[1 << 16];
    dopt__mpc_zig z;
    dopt__mpc_lanes L, ref;
    dopt_rng rng;
    const int N = 2000000, nb = 40, chunk = 1 << 16;
    double m1 = 0, m2 = 0, m4 = 0, tail = 0, chi = 0, top;
    long bins[40] = {0};
    int i, q, same = 1, same_plain = 1;
#if DOPT__DISPATCH
    static double xp[1 << 16];
    dopt__mpc_lanes plain, refp;
#endif
    dopt__mpc_zig_init(&z);
    /* the top layer x_1: its rectangle (width x_1, height 1 - f(x_1)) has the area v */
    top = 0.5 * z.wi[1][0];
    DOPT_CHECK(fabs(top * (1 - exp(-0.5 * top * top)) / DOPT__MPC_ZIG_V - 1) < 1e-6, "top layer area %g",
               top * (1 - exp(-0.5 * top * top)) / DOPT__MPC_ZIG_V);
    dopt_rng_seed(&rng, 3, 1);
    dopt__mpc_lanes_seed(&L, &rng);
    ref = L;
#if DOPT__DISPATCH
    refp = L;
#endif
    for (q = 0; q < N; q += chunk) {
        DOPT__KSEL(dopt__mpc_zig_blocks_d)(&z, &L, chunk / DOPT__MPC_LANES, x);
        if (q < 4 * chunk) {
            zig_reference(&z, &ref, chunk / DOPT__MPC_LANES, xr);
            if (memcmp(x, xr, sizeof x) != 0) same = 0;
#if DOPT__DISPATCH
            plain = refp, dopt__mpc_zig_blocks_d_plain(&z, &plain, chunk / DOPT__MPC_LANES, xp);
            refp = plain;
            if (memcmp(xp, xr, sizeof x) != 0) same_plain = 0;
#endif
        }
        for (i = 0; i < chunk; ++i) {
            double v = x[i];
            int bin = (int)floor((v + 4) / 8 * nb);
            if (q + i >= N) break;
            m1 += v, m2 += v * v, m4 += v * v * v * v;
            if (fabs(v) > DOPT__MPC_ZIG_R) tail += 1;
            if (bin >= 0 && bin < nb) bins[bin]++;
        }
    }
    DOPT_CHECK(same, "block sampler == the one-draw reference, bit for bit (%s kernels)", dopt_kernel_family());
    DOPT_CHECK(same_plain, "plain-C block sampler == the one-draw reference, bit for bit");
    m1 /= N, m2 /= N, m4 /= N, tail /= N;
    DOPT_CHECK(fabs(m1) < 4e-3, "mean %g", m1);
    DOPT_CHECK(fabs(m2 - 1) < 6e-3, "variance %g", m2);
    DOPT_CHECK(fabs(m4 - 3) < 4e-2, "fourth moment %g", m4);
    DOPT_CHECK(fabs(tail - 5.3714e-5) < 2.6e-5, "tail mass beyond r %g (expected 5.37e-5, sd 5.2e-6)", tail);
    for (i = 0; i < nb; ++i) {
        double lo = -4 + 8.0 * i / nb, hi = lo + 8.0 / nb;
        double p = 0.5 * (erf(hi / sqrt(2.0)) - erf(lo / sqrt(2.0))), e = p * N;
        chi += (bins[i] - e) * (bins[i] - e) / e;
    }
    DOPT_CHECK(chi < 80, "chi-square over %d bins %g (99.9%% quantile of chi2(39) is 72)", nb, chi);
}

/* DCEM in float follows DCEM in double from the same noise (the sampler draws in double). */
static void test_dcem_float_vs_double(void)
{
    enum { D = 4 };
    dopt_mpc_cem_dims one = {1, D, 30, 6, 0, 5};
    dopt_mpc_cem_d *cd;
    dopt_mpc_cem_f *cf;
    dopt_mpc_cem_options_d od = dopt_mpc_cem_default_options_d();
    dopt_mpc_cem_options_f of = dopt_mpc_cem_default_options_f();
    dcem_obj_d qd = dcem_obj_make_d(D);
    dcem_obj_f qf = dcem_obj_make_f(D);
    dopt_mpc_cem_objective_d objd;
    dopt_mpc_cem_objective_f objf;
    double md[D], sd[D], gmd[D], wd[D];
    float mf[D], sf[D], gmf[D], wf[D];
    int i;
    objd.cost = dcem_cost_d, objd.cost_vjp = dcem_vjp_d, objd.user = &qd;
    objf.cost = dcem_cost_f, objf.cost_vjp = dcem_vjp_f, objf.user = &qf;
    od.iterations = 5, of.iterations = 5;
    dopt_mpc_cem_create_d(NULL, &one, &cd, NULL);
    dopt_mpc_cem_create_f(NULL, &one, &cf, NULL);
    for (i = 0; i < D; ++i) md[i] = 0.1 * i, sd[i] = 1, wd[i] = 1 + 0.5 * (i % 3);
    for (i = 0; i < D; ++i) mf[i] = (float)md[i], sf[i] = 1, wf[i] = (float)wd[i];
    DOPT_CHECK(dopt_mpc_dcem_forward_d(cd, &od, &objd, md, D, sd, D, NULL, NULL) == DOPT_OK &&
                   dopt_mpc_dcem_forward_f(cf, &of, &objf, mf, D, sf, D, NULL, NULL) == DOPT_OK, "forwards");
    DOPT_CHECK(dopt_mpc_dcem_backward_d(cd, &objd, wd, D, NULL, 0, gmd, D, NULL, 0, NULL) == DOPT_OK &&
                   dopt_mpc_dcem_backward_f(cf, &objf, wf, D, NULL, 0, gmf, D, NULL, 0, NULL) == DOPT_OK, "backwards");
    for (i = 0; i < D; ++i) {
        DOPT_CHECK_CLOSE(mf[i], md[i], 1e-4, "float mean vs double");
        DOPT_CHECK_CLOSE(gmf[i], gmd[i], 1e-3, "float gradient vs double");
        DOPT_CHECK_CLOSE(qf.g_theta[i], qd.g_theta[i], 1e-3, "float theta gradient vs double");
    }
    dopt_mpc_cem_destroy_d(cd);
    dopt_mpc_cem_destroy_f(cf);
}

static void suite(void)
{
#define RUN2(name) DOPT_TEST_RUN(name##_d); DOPT_TEST_RUN(name##_f)
    DOPT_TEST_RUN(test_lml_reference);
    DOPT_TEST_RUN(test_lml_vjp_fd);
    RUN2(test_lml_properties);
    RUN2(test_lml_bad_input);
    DOPT_TEST_RUN(test_ziggurat);
    RUN2(test_cem_quadratic);
    RUN2(test_cem_rosenbrock);
    RUN2(test_cem_batch_invariance);
    RUN2(test_cem_bounds);
    RUN2(test_cem_errors);
    RUN2(test_cem_mpc_loop);
    DOPT_TEST_RUN(test_dcem_fd);
    RUN2(test_dcem_batch_and_precision);
    DOPT_TEST_RUN(test_dcem_float_vs_double);
#undef RUN2
}
DOPT_TEST_MAIN(suite)

#elif defined(TEST_CEM_PASS) && defined(DOPT_REAL)
/* ================================ generic tests (per precision) ============================= */
#define R DOPT_REAL

/* independent LML: bisection on nu in long double, 300 halvings of a wide bracket */
static void DOPT_FN(lml_bisect)(int n, double k, const R *x, long double *y)
{
    long double lo = -1e4L, hi = 1e4L, mid = 0;
    int it, i;
    for (it = 0; it < 300; ++it) {
        long double s = 0;
        mid = 0.5L * (lo + hi);
        for (i = 0; i < n; ++i) s += 1.0L / (1.0L + expl(-((long double)x[i] + mid)));
        if (s < (long double)k) lo = mid;
        else hi = mid;
    }
    for (i = 0; i < n; ++i) y[i] = 1.0L / (1.0L + expl(-((long double)x[i] + mid)));
}

static void DOPT_FN(test_lml_properties)(void)
{
    static const double scales[] = {1, 1e-30, 30, 1e6, 1e30};
    double tol = DOPT_TEST_TOL(1e-12, 2e-5);
    dopt_rng rng;
    int s, n, kk, i, tie;
    dopt_rng_seed(&rng, 11, DOPT_IS_FLOAT);
    for (s = 0; s < 5; ++s)
        for (n = 2; n <= 40; n += 19)
            for (kk = 0; kk < 3; ++kk)
                for (tie = 0; tie < 3; ++tie) {
                    double k = kk == 0 ? 1 : kk == 1 ? n - 1 : 0.37 * n;
                    R x[40], y[40], nu;
                    long double yr[40];
                    double sum = 0;
                    dopt_status st;
                    for (i = 0; i < n; ++i) {
                        double v = dopt_rng_normal_d(&rng);
                        if (tie == 1) v = 0.5;                         /* all tied */
                        if (tie == 2) v = (double)(i % 3);             /* groups of ties */
                        x[i] = (R)(scales[s] * v);
                    }
                    st = DOPT_FN(dopt_mpc_lml)(1, n, (R)k, x, n, y, n, &nu, NULL, NULL);
                    DOPT_CHECK(st == DOPT_OK, "status %d (scale %g n %d k %g tie %d)", st, scales[s], n, k, tie);
                    for (i = 0; i < n; ++i) {
                        DOPT_CHECK(y[i] >= 0 && y[i] <= 1, "in [0,1]: %g", (double)y[i]);
                        sum += y[i];
                    }
                    DOPT_CHECK(fabs(sum - k) <= 64.0 * n * (DOPT_IS_FLOAT ? 1.2e-7 : 2.3e-16) * (k > 1 ? k : 1),
                               "sums to k: %.17g vs %g (scale %g n %d tie %d)", sum, k, scales[s], n, tie);
                    for (i = 0; i + 1 < n; ++i)
                        if (x[i] < x[i + 1]) DOPT_CHECK(y[i] <= y[i + 1], "order kept");
                    if (scales[s] <= 30) { /* where a fixed-bracket bisection is itself exact */
                        DOPT_FN(lml_bisect)(n, k, x, yr);
                        for (i = 0; i < n; ++i)
                            DOPT_CHECK(fabs((double)(y[i] - (R)yr[i])) <= tol, "vs bisection %.17g vs %.17g (scale %g)",
                                       (double)y[i], (double)yr[i], scales[s]);
                    }
                }
    /* extremes: a huge spread, one huge value, tiny k */
    {
        R x[6] = {(R)1e30, (R)-1e30, 0, 1, (R)-1e30, (R)1e30}, y[6];
        double sum = 0;
        DOPT_CHECK(DOPT_FN(dopt_mpc_lml)(1, 6, 3, x, 6, y, 6, NULL, NULL, NULL) == DOPT_OK, "spread ok");
        for (i = 0; i < 6; ++i) sum += y[i];
        DOPT_CHECK(fabs(sum - 3) < 1e-5 && y[0] > (R)0.999 && y[1] < (R)1e-3 && y[3] > (R)0.5,
                   "spread: sum %g y %g %g %g", sum, (double)y[0], (double)y[1], (double)y[3]);
        DOPT_CHECK(DOPT_FN(dopt_mpc_lml)(1, 6, (R)1e-3, x, 6, y, 6, NULL, NULL, NULL) == DOPT_OK, "tiny k ok");
        for (sum = 0, i = 0; i < 6; ++i) sum += y[i];
        DOPT_CHECK(fabs(sum - 1e-3) < 1e-6, "tiny k sum %g", sum);
    }
}

static void DOPT_FN(test_lml_bad_input)(void)
{
    R x[4] = {1, 2, 3, 4}, y[8], gx[4];
    dopt_status es[2];
    dopt_errinfo info;
    R xb[8] = {1, 2, 3, 4, 1, (R)NAN, 3, 4};
    DOPT_CHECK(DOPT_FN(dopt_mpc_lml)(1, 4, 0, x, 4, y, 4, NULL, NULL, &info) == DOPT_ERR_INVALID_ARGUMENT, "k = 0");
    DOPT_CHECK(DOPT_FN(dopt_mpc_lml)(1, 4, 4, x, 4, y, 4, NULL, NULL, &info) == DOPT_ERR_INVALID_ARGUMENT, "k = n");
    DOPT_CHECK(DOPT_FN(dopt_mpc_lml)(1, 1, (R)0.5, x, 4, y, 4, NULL, NULL, &info) == DOPT_ERR_INVALID_ARGUMENT, "n = 1");
    DOPT_CHECK(DOPT_FN(dopt_mpc_lml)(2, 4, 2, xb, 4, y, 4, NULL, es, &info) == DOPT_ERR_NON_FINITE && info.index == 1 &&
                   es[0] == DOPT_OK && es[1] == DOPT_ERR_NON_FINITE && y[5] == (R)0.5,
               "NaN element flagged (index %ld)", info.index);
    DOPT_CHECK(DOPT_FN(dopt_mpc_lml_backward)(1, 4, y, 4, xb + 4, 4, gx, 4, &info) == DOPT_ERR_NON_FINITE, "NaN g");
}

/* ---- CEM objectives ---- */

typedef struct DOPT_FN(quad_data) {
    const R *shift;   /* per element, dim reals */
    int bound_hits;   /* samples seen outside the box (must stay 0) */
    const R *lower, *upper;
} DOPT_FN(quad_data);

/* f = sum_i (i + 1) (x_i - shift_bi)^2 */
static dopt_status DOPT_FN(quad_cost)(void *user, ptrdiff_t first, ptrdiff_t count, int P, int D, const R *X, R *f)
{
    DOPT_FN(quad_data) *q = (DOPT_FN(quad_data) *)user;
    ptrdiff_t e;
    int j, i;
    for (e = 0; e < count; ++e)
        for (j = 0; j < P; ++j) {
            const R *x = X + ((size_t)e * P + j) * D, *c = q->shift + (size_t)(first + e) * D;
            R s = 0;
            for (i = 0; i < D; ++i) {
                s += (R)(i + 1) * (x[i] - c[i]) * (x[i] - c[i]);
                if ((q->lower && x[i] < q->lower[i]) || (q->upper && x[i] > q->upper[i])) q->bound_hits++;
            }
            f[(size_t)e * P + j] = s;
        }
    return DOPT_OK;
}

static dopt_status DOPT_FN(rosen_cost)(void *user, ptrdiff_t first, ptrdiff_t count, int P, int D, const R *X, R *f)
{
    ptrdiff_t s;
    int i;
    (void)user, (void)first;
    for (s = 0; s < count * P; ++s) {
        const R *x = X + (size_t)s * D;
        R acc = 0;
        for (i = 0; i + 1 < D; ++i)
            acc += 100 * (x[i + 1] - x[i] * x[i]) * (x[i + 1] - x[i] * x[i]) + (1 - x[i]) * (1 - x[i]);
        f[s] = acc;
    }
    return DOPT_OK;
}

static void DOPT_FN(test_cem_quadratic)(void)
{
    enum { D = 10, B = 4 };
    dopt_mpc_cem_dims dims = {B, D, 200, 20, 0, 0};
    DOPT_FN(dopt_mpc_cem) *c;
    DOPT_FN(dopt_mpc_cem_options) o = DOPT_FN(dopt_mpc_cem_default_options)();
    DOPT_FN(quad_data) q = {NULL, 0, NULL, NULL};
    DOPT_FN(dopt_mpc_cem_objective) obj;
    R shift[B * D], mean[B * D], std[B * D], best[B * D], bc[B];
    dopt_mpc_cem_report rep[B];
    double worst = 0;
    int seed, i;
    DOPT_CHECK(DOPT_FN(dopt_mpc_cem_create)(NULL, &dims, &c, NULL) == DOPT_OK, "create");
    for (i = 0; i < B * D; ++i) shift[i] = (R)(0.5 * ((i * 7) % 11) - 2.0);
    q.shift = shift;
    obj.cost = DOPT_FN(quad_cost), obj.cost_vjp = NULL, obj.user = &q;
    o.iterations = 100;
    o.momentum = (R)0.4;
    for (seed = 0; seed < 10; ++seed) {
        DOPT_FN(dopt_mpc_cem_seed)(c, (uint64_t)seed, 0);
        for (i = 0; i < B * D; ++i) mean[i] = 0, std[i] = 3;
        DOPT_CHECK(DOPT_FN(dopt_mpc_cem_solve)(c, &o, &obj, mean, D, std, D, best, D, bc, rep, NULL) == DOPT_OK, "solve");
        for (i = 0; i < B * D; ++i) worst = fabs((double)(mean[i] - shift[i])) > worst ? fabs((double)(mean[i] - shift[i])) : worst;
        DOPT_CHECK(rep[0].iterations == 100 && rep[0].status == DOPT_OK && rep[0].best_cost <= (double)bc[0] + 1e-30 &&
                       rep[0].bad_samples == 0, "report");
    }
    /* stated tolerance: the mean lands within 1e-8 (float: 1e-4) of the minimizer in every
     * coordinate.  Momentum 0.4 keeps the std from collapsing before the mean arrives: without it,
     * about 1 run in 100 of plain CEM stalls 1e-2 away in the lightest coordinate (measured over
     * 800 runs; with it, all 800 ended within 1e-11 after 100 iterations). */
    DOPT_CHECK(worst <= (DOPT_IS_FLOAT ? 1e-4 : 1e-8), "worst |mean - x*| over 10 seeds %g", worst);
    DOPT_FN(dopt_mpc_cem_destroy)(c);
}

/* Rosenbrock in 10-D: a diagonal Gaussian collapses in the curved valley within a few dozen
 * iterations (the mean stalls near f = 8 whatever momentum or floor), so the test runs CEM the way
 * it is used on such valleys: short solves (20 iterations) restarted from the current mean with the
 * std reset on a decaying schedule 0.5 * 0.99^r, 700 restarts (1.4 million samples). */
static void DOPT_FN(test_cem_rosenbrock)(void)
{
    enum { D = 10 };
    dopt_mpc_cem_dims dims = {1, D, 100, 10, 0, 0};
    DOPT_FN(dopt_mpc_cem) *c;
    DOPT_FN(dopt_mpc_cem_options) o = DOPT_FN(dopt_mpc_cem_default_options)();
    DOPT_FN(dopt_mpc_cem_objective) obj;
    R mean[D], std[D], best[D], bc;
    double worst = 0, worst_cost = 0;
    int seed, i, r;
    if (dopt_test_quick() && DOPT_IS_FLOAT) DOPT_SKIP("quick run: the double run covers it");
    DOPT_CHECK(DOPT_FN(dopt_mpc_cem_create)(NULL, &dims, &c, NULL) == DOPT_OK, "create");
    obj.cost = DOPT_FN(rosen_cost), obj.cost_vjp = NULL, obj.user = NULL;
    o.iterations = 20;
    for (seed = 0; seed < 10; ++seed) {
        double sr = 0.5;
        DOPT_FN(dopt_mpc_cem_seed)(c, (uint64_t)seed + 100, 0);
        for (i = 0; i < D; ++i) mean[i] = 0;
        for (r = 0; r < 700; ++r, sr *= 0.99) {
            for (i = 0; i < D; ++i) std[i] = (R)sr;
            DOPT_CHECK(DOPT_FN(dopt_mpc_cem_solve)(c, &o, &obj, mean, D, std, D, best, D, &bc, NULL, NULL) == DOPT_OK, "solve");
        }
        for (i = 0; i < D; ++i) worst = fabs((double)mean[i] - 1) > worst ? fabs((double)mean[i] - 1) : worst;
        worst_cost = (double)bc > worst_cost ? (double)bc : worst_cost;
    }
    /* stated tolerance: every coordinate of the mean within 1e-2 of (1, ..., 1), f(best) <= 1e-4 */
    DOPT_CHECK(worst <= 1e-2 && worst_cost <= 1e-4, "Rosenbrock-10: worst |mean - 1| %g, worst best f %g", worst, worst_cost);
    DOPT_FN(dopt_mpc_cem_destroy)(c);
}

/* Same seed, same results bit for bit: batch of 7 vs each element alone (its stream id as
 * first_stream) vs the batch split over two solvers (two threads' worth). */
static void DOPT_FN(test_cem_batch_invariance)(void)
{
    enum { D = 6, B = 7 };
    dopt_mpc_cem_dims dims = {B, D, 50, 7, 0, 0}, one = {1, D, 50, 7, 0, 0}, part = {3, D, 50, 7, 0, 0};
    DOPT_FN(dopt_mpc_cem) *c, *c1, *c3, *c4;
    DOPT_FN(dopt_mpc_cem_options) o = DOPT_FN(dopt_mpc_cem_default_options)();
    DOPT_FN(quad_data) q = {NULL, 0, NULL, NULL};
    DOPT_FN(dopt_mpc_cem_objective) obj;
    R shift[B * D], mean[B * D], std[B * D], m1[B * D], s1[B * D], best[B * D], b1[B * D];
    int b, i;
    dims.batch = B;
    part.batch = 4;
    DOPT_FN(dopt_mpc_cem_create)(NULL, &dims, &c, NULL);
    DOPT_FN(dopt_mpc_cem_create)(NULL, &one, &c1, NULL);
    part.batch = 3;
    DOPT_FN(dopt_mpc_cem_create)(NULL, &part, &c3, NULL);
    part.batch = 4;
    DOPT_FN(dopt_mpc_cem_create)(NULL, &part, &c4, NULL);
    for (i = 0; i < B * D; ++i) shift[i] = (R)(0.3 * (i % 5)), mean[i] = 0, std[i] = 1;
    q.shift = shift;
    obj.cost = DOPT_FN(quad_cost), obj.cost_vjp = NULL, obj.user = &q;
    o.iterations = 8;
    o.momentum = (R)0.1;
    DOPT_FN(dopt_mpc_cem_seed)(c, 42, 0);
    DOPT_CHECK(DOPT_FN(dopt_mpc_cem_solve)(c, &o, &obj, mean, D, std, D, best, D, NULL, NULL, NULL) == DOPT_OK, "batch");
    for (b = 0; b < B; ++b) {
        DOPT_FN(quad_data) qb = {NULL, 0, NULL, NULL};
        DOPT_FN(dopt_mpc_cem_objective) ob = obj;
        qb.shift = shift + b * D;
        ob.user = &qb;
        for (i = 0; i < D; ++i) m1[b * D + i] = 0, s1[b * D + i] = 1;
        DOPT_FN(dopt_mpc_cem_seed)(c1, 42, (uint64_t)b);
        DOPT_FN(dopt_mpc_cem_solve)(c1, &o, &ob, m1 + b * D, D, s1 + b * D, D, b1 + b * D, D, NULL, NULL, NULL);
    }
    DOPT_CHECK(memcmp(mean, m1, sizeof mean) == 0 && memcmp(std, s1, sizeof std) == 0 && memcmp(best, b1, sizeof best) == 0,
               "batch of 7 == 7 batches of 1, bit for bit");
    /* split 3 + 4 */
    {
        DOPT_FN(quad_data) qa = {NULL, 0, NULL, NULL}, qb = {NULL, 0, NULL, NULL};
        DOPT_FN(dopt_mpc_cem_objective) oa = obj, ob = obj;
        qa.shift = shift, qb.shift = shift + 3 * D;
        oa.user = &qa, ob.user = &qb;
        for (i = 0; i < B * D; ++i) m1[i] = 0, s1[i] = 1;
        DOPT_FN(dopt_mpc_cem_seed)(c3, 42, 0);
        DOPT_FN(dopt_mpc_cem_seed)(c4, 42, 3);
        DOPT_FN(dopt_mpc_cem_solve)(c3, &o, &oa, m1, D, s1, D, NULL, 0, NULL, NULL, NULL);
        DOPT_FN(dopt_mpc_cem_solve)(c4, &o, &ob, m1 + 3 * D, D, s1 + 3 * D, D, NULL, 0, NULL, NULL, NULL);
        DOPT_CHECK(memcmp(mean, m1, sizeof mean) == 0 && memcmp(std, s1, sizeof std) == 0, "split 3 + 4 identical");
    }
    DOPT_FN(dopt_mpc_cem_destroy)(c);
    DOPT_FN(dopt_mpc_cem_destroy)(c1);
    DOPT_FN(dopt_mpc_cem_destroy)(c3);
    DOPT_FN(dopt_mpc_cem_destroy)(c4);
}

static void DOPT_FN(test_cem_bounds)(void)
{
    enum { D = 3 };
    dopt_mpc_cem_dims dims = {1, D, 100, 10, 0, 0};
    DOPT_FN(dopt_mpc_cem) *c;
    DOPT_FN(dopt_mpc_cem_options) o = DOPT_FN(dopt_mpc_cem_default_options)();
    R lo[D] = {-1, -1, -1}, hi[D] = {1, 1, (R)0.5}, shift[D] = {3, (R)0.2, -4}, mean[D] = {0, 0, 0}, std[D] = {2, 2, 2};
    DOPT_FN(quad_data) q = {NULL, 0, NULL, NULL};
    DOPT_FN(dopt_mpc_cem_objective) obj;
    q.shift = shift, q.lower = lo, q.upper = hi;
    obj.cost = DOPT_FN(quad_cost), obj.cost_vjp = NULL, obj.user = &q;
    o.lower = lo, o.upper = hi, o.iterations = 30;
    DOPT_FN(dopt_mpc_cem_create)(NULL, &dims, &c, NULL);
    DOPT_CHECK(DOPT_FN(dopt_mpc_cem_solve)(c, &o, &obj, mean, D, std, D, NULL, 0, NULL, NULL, NULL) == DOPT_OK, "solve");
    DOPT_CHECK(q.bound_hits == 0, "every sample inside the box (%d outside)", q.bound_hits);
    DOPT_CHECK(fabs(mean[0] - 1) < 1e-3 && fabs(mean[1] - (R)0.2) < 1e-2 && fabs(mean[2] + 1) < 1e-3,
               "box minimum (1, 0.2, -1): %g %g %g", (double)mean[0], (double)mean[1], (double)mean[2]);
    DOPT_FN(dopt_mpc_cem_destroy)(c);
}

static dopt_status DOPT_FN(nan_cost)(void *user, ptrdiff_t first, ptrdiff_t count, int P, int D, const R *X, R *f)
{
    ptrdiff_t s;
    (void)X, (void)D, (void)first;
    for (s = 0; s < count * P; ++s) f[s] = (s / P == 1 || s % 3 == 0) ? (R)NAN : (R)s; /* element 1: all NaN */
    return user ? DOPT_ERR_IO : DOPT_OK; /* user != NULL: fail like a broken rollout */
}

static void DOPT_FN(test_cem_errors)(void)
{
    dopt_mpc_cem_dims dims = {2, 3, 10, 2, 0, 0}, bad;
    DOPT_FN(dopt_mpc_cem) *c = NULL;
    DOPT_FN(dopt_mpc_cem_options) o;
    DOPT_FN(dopt_mpc_cem_objective) obj;
    dopt_errinfo info;
    dopt_mpc_cem_report rep[2];
    R mean[6] = {0}, std[6] = {1, 1, 1, 1, 1, 1}, lo[3] = {1, 1, 1}, hi[3] = {0, 0, 0};
    size_t bytes;
    unsigned char *mem;
    int dummy = 1;
    dopt_hooks h;
    bad = dims, bad.elites = 10;
    DOPT_CHECK(DOPT_FN(dopt_mpc_cem_workspace_size)(&bad, &bytes, &info) == DOPT_ERR_INVALID_ARGUMENT, "elites == P");
    bad = dims, bad.population = 1;
    DOPT_CHECK(DOPT_FN(dopt_mpc_cem_create)(NULL, &bad, &c, &info) == DOPT_ERR_INVALID_ARGUMENT && !c, "P = 1");
    bad = dims, bad.batch = (ptrdiff_t)1 << 40, bad.population = 1 << 30, bad.elites = 2;
    DOPT_CHECK(DOPT_FN(dopt_mpc_cem_workspace_size)(&bad, &bytes, &info) == DOPT_ERR_ALLOCATION, "absurd size");
    /* caller memory: exact size works, one byte less fails */
    DOPT_CHECK(DOPT_FN(dopt_mpc_cem_workspace_size)(&dims, &bytes, NULL) == DOPT_OK, "size");
    mem = (unsigned char *)malloc(bytes);
    DOPT_CHECK(DOPT_FN(dopt_mpc_cem_create_in)(mem, bytes - 1, &dims, &c, &info) == DOPT_ERR_ALLOCATION, "too small");
    DOPT_CHECK(DOPT_FN(dopt_mpc_cem_create_in)(mem, bytes, &dims, &c, &info) == DOPT_OK && c, "create_in");
    obj.cost = DOPT_FN(nan_cost), obj.cost_vjp = NULL, obj.user = NULL;
    o = DOPT_FN(dopt_mpc_cem_default_options)();
    o.momentum = 1;
    DOPT_CHECK(DOPT_FN(dopt_mpc_cem_solve)(c, &o, &obj, mean, 3, std, 3, NULL, 0, NULL, NULL, &info) == DOPT_ERR_INVALID_ARGUMENT, "momentum 1");
    o.momentum = 0, o.temperature = -1;
    DOPT_CHECK(DOPT_FN(dopt_mpc_cem_solve)(c, &o, &obj, mean, 3, std, 3, NULL, 0, NULL, NULL, &info) == DOPT_ERR_INVALID_ARGUMENT, "tau < 0");
    o.temperature = 0, o.lower = lo, o.upper = hi;
    DOPT_CHECK(DOPT_FN(dopt_mpc_cem_solve)(c, &o, &obj, mean, 3, std, 3, NULL, 0, NULL, NULL, &info) == DOPT_ERR_INVALID_ARGUMENT, "lower > upper");
    o.lower = o.upper = NULL, o.iterations = -2;
    DOPT_CHECK(DOPT_FN(dopt_mpc_cem_solve)(c, &o, &obj, mean, 3, std, 3, NULL, 0, NULL, NULL, &info) == DOPT_ERR_INVALID_ARGUMENT, "iterations < 0");
    o.iterations = 3;
    std[4] = -1;
    DOPT_CHECK(DOPT_FN(dopt_mpc_cem_solve)(c, &o, &obj, mean, 3, std, 3, NULL, 0, NULL, NULL, &info) == DOPT_ERR_INVALID_ARGUMENT && info.index == 1, "std < 0");
    std[4] = 1;
    mean[0] = (R)NAN;
    DOPT_CHECK(DOPT_FN(dopt_mpc_cem_solve)(c, &o, &obj, mean, 3, std, 3, NULL, 0, NULL, NULL, &info) == DOPT_ERR_INVALID_ARGUMENT && info.index == 0, "NaN mean");
    mean[0] = 0;
    DOPT_CHECK(DOPT_FN(dopt_mpc_cem_solve)(c, &o, &obj, mean, 3, std, 3, NULL, 0, NULL, rep, &info) == DOPT_ERR_NON_FINITE &&
                   info.index == 1 && rep[0].status == DOPT_OK && rep[1].status == DOPT_ERR_NON_FINITE && rep[0].bad_samples > 0 &&
                   DOPT_FN(dopt_all_finite)(6, mean),
               "all-NaN element flagged, the other solved (index %ld)", info.index);
    obj.user = &dummy;
    DOPT_CHECK(DOPT_FN(dopt_mpc_cem_solve)(c, &o, &obj, mean, 3, std, 3, NULL, 0, NULL, NULL, &info) == DOPT_ERR_IO, "objective error passed on");
    DOPT_CHECK(DOPT_FN(dopt_mpc_dcem_forward)(c, &o, &obj, mean, 3, std, 3, NULL, &info) == DOPT_ERR_INVALID_ARGUMENT, "no DCEM tape");
    DOPT_FN(dopt_mpc_cem_destroy)(c); /* no-op on caller memory */
    free(mem);
    memset(&h, 0, sizeof h);
    h.allocator.alloc = fail_alloc;
    DOPT_CHECK(DOPT_FN(dopt_mpc_cem_create)(&h, &dims, &c, &info) == DOPT_ERR_ALLOCATION && !c, "allocation failure");
}

/* ---- CEM-MPC: a unicycle driving to the origin ---- */

/* state (px, py, heading, speed), control (acceleration, turn rate), dt = 0.1 */
static dopt_status DOPT_FN(car_step)(void *user, ptrdiff_t element, int t, int count, const R *x, const R *u, int ldu,
                                     R *xn, R *cost)
{
    int j;
    (void)user, (void)element, (void)t;
    for (j = 0; j < count; ++j) {
        const R *s = x + 4 * j, *a = u + (size_t)j * ldu;
        R *n = xn + 4 * j;
        n[0] = s[0] + (R)0.1 * s[3] * DOPT_M(cos)(s[2]);
        n[1] = s[1] + (R)0.1 * s[3] * DOPT_M(sin)(s[2]);
        n[2] = s[2] + (R)0.1 * a[1];
        n[3] = s[3] + (R)0.1 * a[0];
        cost[j] += n[0] * n[0] + n[1] * n[1] + (R)0.1 * n[3] * n[3] + (R)0.01 * (a[0] * a[0] + a[1] * a[1]);
    }
    return DOPT_OK;
}

static void DOPT_FN(test_cem_mpc_loop)(void)
{
    enum { H = 15, NU = 2 };
    dopt_mpc_cem_dims dims = {2, H * NU, 200, 20, 4, 0};
    counting cnt = {0, 0};
    dopt_hooks h;
    DOPT_FN(dopt_mpc_cem) *c;
    DOPT_FN(dopt_mpc_cem_options) o = DOPT_FN(dopt_mpc_cem_default_options)();
    DOPT_FN(dopt_mpc_cem_dynamics) dyn;
    R x[2 * 4] = {3, 2, 0, 0, -2, 3, 1, 0}, mean[2 * H * NU], std[2 * H * NU], lo[H * NU], hi[H * NU], xn[4];
    int step, i, b;
    long before;
    double d0 = 0, d1 = 0;
    memset(&h, 0, sizeof h);
    h.allocator.alloc = count_alloc, h.allocator.free = count_free, h.allocator.user = &cnt;
    DOPT_CHECK(DOPT_FN(dopt_mpc_cem_create)(&h, &dims, &c, NULL) == DOPT_OK, "create");
    for (i = 0; i < H * NU; ++i) lo[i] = -2, hi[i] = 2;
    for (i = 0; i < 2 * H * NU; ++i) mean[i] = 0, std[i] = 1;
    o.lower = lo, o.upper = hi, o.iterations = 5, o.momentum = (R)0.1;
    dyn.control_dim = NU, dyn.step = DOPT_FN(car_step), dyn.terminal = NULL, dyn.user = NULL;
    for (b = 0; b < 2; ++b) d0 += sqrt((double)(x[4 * b] * x[4 * b] + x[4 * b + 1] * x[4 * b + 1]));
    before = cnt.allocs;
    for (step = 0; step < 60; ++step) {
        DOPT_CHECK(DOPT_FN(dopt_mpc_cem_plan)(c, &o, &dyn, x, 4, mean, H * NU, std, H * NU, NULL, 0, NULL, NULL, NULL) == DOPT_OK,
                   "plan");
        for (b = 0; b < 2; ++b) { /* apply the first action to the true system */
            R cost = 0;
            DOPT_FN(car_step)(NULL, b, 0, 1, x + 4 * b, mean + b * H * NU, NU, xn, &cost);
            memcpy(x + 4 * b, xn, sizeof xn);
        }
        DOPT_FN(dopt_mpc_cem_shift)(2, H, NU, mean, H * NU, std, H * NU, 1);
    }
    DOPT_CHECK(cnt.allocs == before, "receding-horizon loop allocated %ld times", cnt.allocs - before);
    for (b = 0; b < 2; ++b) d1 += sqrt((double)(x[4 * b] * x[4 * b] + x[4 * b + 1] * x[4 * b + 1]));
    DOPT_CHECK(d1 < 0.1 * d0, "cars reached the goal: distance %g -> %g", d0, d1);
    DOPT_FN(dopt_mpc_cem_destroy)(c);
    DOPT_CHECK(cnt.live == 0, "freed");
}

/* ---- DCEM ---- */

/* f(x) = sum_i theta_i (x_i - c_i)^2 + 0.1 (sum_i x_i)^2 with learnable theta and c per problem
 * (shared by the batch); cost_vjp accumulates g_theta, g_c. */
typedef struct DOPT_FN(dcem_obj) {
    R theta[DCEM_DMAX], c[DCEM_DMAX];
    double g_theta[DCEM_DMAX], g_c[DCEM_DMAX];
} DOPT_FN(dcem_obj);

/* theta and c of the first D coordinates: (1, 2, 0.5, 1.5, ...) and (0.3, -0.2, 0.1, 0.4, ...) */
static DOPT_FN(dcem_obj) DOPT_FN(dcem_obj_make)(int D)
{
    static const double th[4] = {1, 2, 0.5, 1.5}, cc[4] = {0.3, -0.2, 0.1, 0.4};
    DOPT_FN(dcem_obj) q;
    int i;
    memset(&q, 0, sizeof q);
    for (i = 0; i < D; ++i) q.theta[i] = (R)(th[i % 4] + 0.25 * (i / 4)), q.c[i] = (R)(cc[i % 4] - 0.1 * (i / 4));
    return q;
}

static dopt_status DOPT_FN(dcem_cost)(void *user, ptrdiff_t first, ptrdiff_t count, int P, int D, const R *X, R *f)
{
    const DOPT_FN(dcem_obj) *q = (const DOPT_FN(dcem_obj) *)user;
    ptrdiff_t s;
    int i;
    (void)first;
    for (s = 0; s < count * P; ++s) {
        const R *x = X + (size_t)s * D;
        R acc = 0, sum = 0;
        for (i = 0; i < D; ++i) acc += q->theta[i] * (x[i] - q->c[i]) * (x[i] - q->c[i]), sum += x[i];
        f[s] = acc + (R)0.1 * sum * sum;
    }
    return DOPT_OK;
}

static dopt_status DOPT_FN(dcem_vjp)(void *user, ptrdiff_t first, ptrdiff_t count, int P, int D, const R *X, const R *gf,
                                     R *gX)
{
    DOPT_FN(dcem_obj) *q = (DOPT_FN(dcem_obj) *)user;
    ptrdiff_t s;
    int i;
    (void)first;
    for (s = 0; s < count * P; ++s) {
        const R *x = X + (size_t)s * D;
        R sum = 0;
        for (i = 0; i < D; ++i) sum += x[i];
        for (i = 0; i < D; ++i) {
            R r = x[i] - q->c[i];
            gX[(size_t)s * D + i] += gf[s] * (2 * q->theta[i] * r + (R)0.2 * sum);
            q->g_theta[i] += (double)(gf[s] * r * r);
            q->g_c[i] += (double)(gf[s] * (-2 * q->theta[i] * r));
        }
    }
    return DOPT_OK;
}

#if !DOPT_IS_FLOAT
/* L = w . mean_T + v . std_T after a fixed-noise forward from (mean0, std0) with parameters q
 * (B problems of dim D, n = B D) */
static double dcem_loss(dopt_mpc_cem_d *c, const dopt_mpc_cem_options_d *o, dcem_obj_d *q, const double *mean0,
                        const double *std0, const double *w, const double *v, int D, int n)
{
    double mean[2 * DCEM_DMAX], std[2 * DCEM_DMAX], L = 0;
    dopt_mpc_cem_objective_d obj;
    int i;
    obj.cost = dcem_cost_d, obj.cost_vjp = dcem_vjp_d, obj.user = q;
    memcpy(mean, mean0, (size_t)n * sizeof(double));
    memcpy(std, std0, (size_t)n * sizeof(double));
    dopt_mpc_cem_seed_d(c, 5, 0);
    if (dopt_mpc_dcem_forward_d(c, o, &obj, mean, D, std, D, NULL, NULL) != DOPT_OK) return NAN;
    for (i = 0; i < n; ++i) L += w[i] * mean[i] + v[i] * std[i];
    return L;
}

/* DCEM's gradients (initial mean, std, the objective's theta and c) against central differences
 * of the unrolled map, noise fixed by the seed: dims 4 and 11, three option variants. */
static void test_dcem_fd(void)
{
    enum { B = 2, NMAX = B * DCEM_DMAX };
    static const int dims_d[2] = {4, DCEM_DMAX};
    int variant, i, p, dd;
    for (dd = 0; dd < 2; ++dd) {
        int D = dims_d[dd], N = B * D;
        dopt_mpc_cem_dims dims = {B, 0, 24, 5, 0, 6};
        dopt_mpc_cem_d *c;
        double lo[DCEM_DMAX], hi[DCEM_DMAX];
        dims.dim = D;
        for (i = 0; i < D; ++i) lo[i] = i % 4 == 2 ? -0.6 : -3, hi[i] = 3;
        DOPT_CHECK(dopt_mpc_cem_create_d(NULL, &dims, &c, NULL) == DOPT_OK, "create");
        for (variant = 0; variant < 3; ++variant) {
            dopt_mpc_cem_options_d o = dopt_mpc_cem_default_options_d();
            dcem_obj_d q = dcem_obj_make_d(D);
            dopt_mpc_cem_objective_d obj;
            double mean0[NMAX], std0[NMAX], w[NMAX], v[NMAX], mean[NMAX], std[NMAX], gm0[NMAX], gs0[NMAX], L0, h = 1e-6;
            dopt_rng rng;
            dopt_rng_seed(&rng, 99, (uint64_t)variant);
            o.iterations = 6;
            o.temperature = variant == 1 ? 0.5 : 1;
            o.momentum = variant == 2 ? 0.3 : 0.1;
            if (variant == 1) o.normalize = DOPT_OFF;
            if (variant == 2) o.lower = lo, o.upper = hi;
            for (i = 0; i < N; ++i) {
                mean0[i] = 0.5 * dopt_rng_normal_d(&rng), std0[i] = 0.5 + 0.5 * dopt_rng_uniform_d(&rng);
                w[i] = dopt_rng_normal_d(&rng), v[i] = dopt_rng_normal_d(&rng);
            }
            obj.cost = dcem_cost_d, obj.cost_vjp = dcem_vjp_d, obj.user = &q;
            memcpy(mean, mean0, sizeof mean), memcpy(std, std0, sizeof std);
            dopt_mpc_cem_seed_d(c, 5, 0);
            DOPT_CHECK(dopt_mpc_dcem_forward_d(c, &o, &obj, mean, D, std, D, NULL, NULL) == DOPT_OK, "forward");
            L0 = 0;
            for (i = 0; i < N; ++i) L0 += w[i] * mean[i] + v[i] * std[i];
            DOPT_CHECK(fabs(L0 - dcem_loss(c, &o, &q, mean0, std0, w, v, D, N)) == 0, "forward repeatable with the same seed");
            DOPT_CHECK(dopt_mpc_dcem_backward_d(c, &obj, w, D, v, D, gm0, D, gs0, D, NULL) == DOPT_OK, "backward");
            /* central differences of the whole unrolled map, noise fixed by the seed */
            for (p = 0; p < 2 * N + 2 * D; ++p) {
                double *target = p < N ? &mean0[p] : p < 2 * N ? &std0[p - N] : NULL, save, fd, an;
                dcem_obj_d qq = q;
                if (!target) target = p - 2 * N < D ? &qq.theta[p - 2 * N] : &qq.c[p - 2 * N - D];
                save = *target;
                *target = save + h;
                fd = dcem_loss(c, &o, &qq, mean0, std0, w, v, D, N);
                *target = save - h;
                fd -= dcem_loss(c, &o, &qq, mean0, std0, w, v, D, N);
                *target = save;
                fd /= 2 * h;
                an = p < N ? gm0[p] : p < 2 * N ? gs0[p - N] : p - 2 * N < D ? q.g_theta[p - 2 * N] : q.g_c[p - 2 * N - D];
                DOPT_CHECK(fabs(fd - an) <= 1e-6 * (1 + fabs(fd)), "dim %d variant %d parameter %d: fd %.10g analytic %.10g",
                           D, variant, p, fd, an);
            }
        }
        dopt_mpc_cem_destroy_d(c);
    }
}
#endif

/* DCEM in this precision: batch of 3 equals each element alone (bit for bit, gradients too), at
 * dims 4 and 11. */
static void DOPT_FN(test_dcem_batch_and_precision)(void)
{
    enum { B = 3, NMAX = B * DCEM_DMAX };
    static const int dims_d[2] = {4, DCEM_DMAX};
    int b, i, dd, same = 1;
    for (dd = 0; dd < 2; ++dd) {
        int D = dims_d[dd];
        dopt_mpc_cem_dims dims = {B, 0, 30, 6, 0, 5}, one = {1, 0, 30, 6, 0, 5};
        DOPT_FN(dopt_mpc_cem) *c, *c1;
        DOPT_FN(dopt_mpc_cem_options) o = DOPT_FN(dopt_mpc_cem_default_options)();
        DOPT_FN(dcem_obj) q = DOPT_FN(dcem_obj_make)(D);
        DOPT_FN(dopt_mpc_cem_objective) obj;
        R mean[NMAX], std[NMAX], gm[NMAX], gs[NMAX], m1[DCEM_DMAX], s1[DCEM_DMAX], g1[DCEM_DMAX], gs1[DCEM_DMAX], w[NMAX];
        size_t row = (size_t)D * sizeof(R);
        dims.dim = one.dim = D;
        obj.cost = DOPT_FN(dcem_cost), obj.cost_vjp = DOPT_FN(dcem_vjp), obj.user = &q;
        o.iterations = 5;
        DOPT_FN(dopt_mpc_cem_create)(NULL, &dims, &c, NULL);
        DOPT_FN(dopt_mpc_cem_create)(NULL, &one, &c1, NULL);
        for (i = 0; i < B * D; ++i) mean[i] = (R)(0.1 * i), std[i] = 1, w[i] = (R)(1 + 0.5 * (i % 3));
        DOPT_FN(dopt_mpc_cem_seed)(c, 8, 0);
        DOPT_CHECK(DOPT_FN(dopt_mpc_dcem_forward)(c, &o, &obj, mean, D, std, D, NULL, NULL) == DOPT_OK, "forward");
        DOPT_CHECK(DOPT_FN(dopt_mpc_dcem_backward)(c, &obj, w, D, NULL, 0, gm, D, gs, D, NULL) == DOPT_OK, "backward");
        for (b = 0; b < B; ++b) {
            for (i = 0; i < D; ++i) m1[i] = (R)(0.1 * (b * D + i)), s1[i] = 1;
            DOPT_FN(dopt_mpc_cem_seed)(c1, 8, (uint64_t)b);
            DOPT_FN(dopt_mpc_dcem_forward)(c1, &o, &obj, m1, D, s1, D, NULL, NULL);
            DOPT_FN(dopt_mpc_dcem_backward)(c1, &obj, w + b * D, D, NULL, 0, g1, D, gs1, D, NULL);
            if (memcmp(m1, mean + b * D, row) || memcmp(s1, std + b * D, row) || memcmp(g1, gm + b * D, row) ||
                memcmp(gs1, gs + b * D, row))
                same = 0;
        }
        DOPT_CHECK(same, "DCEM dim %d: batch of 3 == 3 batches of 1, bit for bit", D);
        DOPT_FN(dopt_mpc_cem_destroy)(c);
        DOPT_FN(dopt_mpc_cem_destroy)(c1);
    }
}

#undef R
#endif
