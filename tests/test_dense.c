/* Dense kernels of dopt.h against naive reference implementations written here, float and double,
 * random sizes 1..200.  Solves are judged by the backward error ||A x - b|| / (||A|| ||x||)
 * (1e-13 double, 1e-5 float, as issue 3 asks); products by |C - C_ref| against |A||B| bounds.
 * The same program built with -DDOPT_USE_CBLAS checks the OpenBLAS backend against the same
 * references, so both backends agree with each other to these tolerances. */
#if !defined(DOPT_REAL)
#define DOPT_IMPLEMENTATION
#include "dopt.h"
#include "dopt_test.h"

#define TEST_DENSE_PASS
#define DOPT_GENERIC "tests/test_dense.c"
#include "dopt.h"
#undef DOPT_GENERIC
#undef TEST_DENSE_PASS

static void test_nrm2_scaling(void)
{
    double big[2] = {1e200, 1e200}, tiny[2] = {1e-200, 1e-200};
    float fbig[2] = {1e30f, 1e30f};
    DOPT_CHECK_CLOSE(dopt_nrm2_d(2, big, 1), sqrt(2.0) * 1e200, 1e-15, "no overflow");
    DOPT_CHECK_CLOSE(dopt_nrm2_d(2, tiny, 1) / 1e-200, sqrt(2.0), 1e-15, "no underflow");
    DOPT_CHECK_CLOSE(dopt_nrm2_f(2, fbig, 1) / 1e30f, sqrt(2.0), 1e-6, "float no overflow");
}

/* The family dopt_kernel_family reports is the one the build and the CPU call for: the target
 * flags' family where they give one, else (x86-64 runtime dispatch) the best of avx512 / avx2 /
 * plain the CPU offers, read here from /proc/cpuinfo's flags (not from cpuid, as dopt does). */
static DOPT_TEST_UNUSED int cpu_flag(const char *flags, const char *name)
{
    size_t n = strlen(name);
    const char *p = flags;
    while ((p = strstr(p, name)) != NULL) {
        if ((p == flags || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\n' || p[n] == 0)) return 1;
        p += n;
    }
    return 0;
}

static void test_kernel_family(void)
{
    const char *fam = dopt_kernel_family();
    const char *want = NULL;
    printf("  kernel family: %s\n", fam);
    DOPT_CHECK(!strcmp(fam, "avx512") || !strcmp(fam, "avx2") || !strcmp(fam, "neon") || !strcmp(fam, "plain"),
               "unknown family %s", fam);
#if defined(DOPT_NO_SIMD) || defined(DOPT_NO_VECTOR_EXT) || !(defined(__GNUC__) || defined(__clang__))
    want = "plain";
#elif defined(__AVX512F__)
    want = "avx512";
#elif defined(__AVX2__) && defined(__FMA__)
    want = "avx2";
#elif defined(__aarch64__)
    want = "neon";
#elif !defined(__x86_64__) || defined(DOPT_NO_DISPATCH)
    want = "plain";
#else
    {   /* runtime dispatch: the CPU's flags decide */
        char line[8192];
        FILE *f = fopen("/proc/cpuinfo", "r");
        if (!f) DOPT_SKIP("runtime dispatch, and no /proc/cpuinfo to read the CPU's flags from");
        while (fgets(line, sizeof line, f))
            if (!strncmp(line, "flags", 5)) break;
        fclose(f);
        want = cpu_flag(line, "avx512f") && cpu_flag(line, "avx512vl") && cpu_flag(line, "avx512bw") &&
                       cpu_flag(line, "avx512dq") && cpu_flag(line, "fma")
                   ? "avx512"
               : cpu_flag(line, "avx2") && cpu_flag(line, "fma") ? "avx2"
                                                                  : "plain";
    }
#endif
    DOPT_CHECK(!strcmp(fam, want), "kernel family %s, expected %s", fam, want);
}

static void suite(void)
{
#define RUN2(name) DOPT_TEST_RUN(name##_d); DOPT_TEST_RUN(name##_f)
    DOPT_TEST_RUN(test_kernel_family);
    RUN2(test_level1);
    DOPT_TEST_RUN(test_nrm2_scaling);
    RUN2(test_gemv);
    RUN2(test_gemm);
    RUN2(test_gemm_direct);
    RUN2(test_gemm_ws);
    RUN2(test_gemm_fixed);
    RUN2(test_syrk);
    RUN2(test_trsm);
    RUN2(test_potrf);
    RUN2(test_potrf_failures);
    RUN2(test_getrf);
    RUN2(test_sytrf);
    RUN2(test_batched);
#undef RUN2
}
DOPT_TEST_MAIN(suite)

#elif defined(TEST_DENSE_PASS) && defined(DOPT_REAL)
/* ================================ generic tests (per precision) ============================= */
#define R DOPT_REAL

#define TOL_SOLVE DOPT_TEST_TOL(1e-13, 1e-5)

static R *DOPT_FN(tmat)(size_t n) { return (R *)calloc(n ? n : 1, sizeof(R)); }

static void DOPT_FN(fill)(dopt_rng *rng, size_t n, R *x)
{
    size_t i;
    for (i = 0; i < n; ++i) x[i] = (R)(2 * dopt_rng_uniform_d(rng) - 1);
}

/* Frobenius norm of an m x n block (double accumulation, independent of the library). */
static double DOPT_FN(fro)(int m, int n, const R *A, int lda)
{
    double s = 0;
    int i, j;
    for (j = 0; j < n; ++j)
        for (i = 0; i < m; ++i) s += (double)A[i + (size_t)j * lda] * A[i + (size_t)j * lda];
    return sqrt(s);
}

static R DOPT_FN(op)(const R *A, int lda, dopt_trans t, int i, int j)
{
    return t == DOPT_NOTRANS ? A[i + (size_t)j * lda] : A[j + (size_t)i * lda];
}

/* random size in 1..max with a bias toward small and block-boundary sizes */
static int DOPT_FN(rsize)(dopt_rng *rng, int max)
{
    static const int special[] = {1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 129};
    if (dopt_rng_uniform_d(rng) < 0.4) {
        int s = special[dopt_rng_below(rng, sizeof special / sizeof special[0])];
        return s <= max ? s : max;
    }
    return 1 + (int)dopt_rng_below(rng, (uint64_t)max);
}

static int DOPT_FN(nmax)(void) { return dopt_test_quick() ? 70 : 200; }

static void DOPT_FN(test_level1)(void)
{
    R x[7] = {1, -2, 3, -4, 5, -6, 7}, y[7] = {1, 1, 1, 1, 1, 1, 1}, z[7];
    R bad[3] = {1, 0, 2};
    DOPT_CHECK_CLOSE(DOPT_FN(dopt_dot)(7, x, 1, y, 1), 4, 1e-6, "dot");
    DOPT_CHECK_CLOSE(DOPT_FN(dopt_dot)(3, x, 2, y, 3), 1 + 3 + 5, 1e-6, "strided dot");
    DOPT_FN(dopt_copy)(7, x, 1, z, 1);
    DOPT_FN(dopt_axpy)(7, 2, y, 1, z, 1);
    DOPT_CHECK_CLOSE(z[3], -2, 1e-6, "axpy");
    DOPT_FN(dopt_scal)(7, -1, z, 1);
    DOPT_CHECK_CLOSE(z[0], -3, 1e-6, "scal");
    DOPT_CHECK_CLOSE(DOPT_FN(dopt_nrm2)(7, x, 1), sqrt(140.0), 1e-6, "nrm2");
    DOPT_CHECK_CLOSE(DOPT_FN(dopt_amax)(7, x, 1), 7, 0, "amax");
    DOPT_CHECK(DOPT_FN(dopt_all_finite)(7, x), "finite");
    bad[1] = (R)NAN;
    DOPT_CHECK(!DOPT_FN(dopt_all_finite)(3, bad), "NaN detected");
    bad[1] = (R)INFINITY;
    DOPT_CHECK(!DOPT_FN(dopt_all_finite)(3, bad), "Inf detected");
    DOPT_CHECK(!DOPT_FN(dopt_matrix_all_finite)(1, 3, bad, 1), "matrix Inf detected");
}

static void DOPT_FN(test_gemv)(void)
{
    dopt_rng rng;
    int trial;
    dopt_rng_seed(&rng, 11, DOPT_IS_FLOAT);
    for (trial = 0; trial < 40; ++trial) {
        int m = DOPT_FN(rsize)(&rng, DOPT_FN(nmax)()), n = DOPT_FN(rsize)(&rng, DOPT_FN(nmax)());
        int lda = m + (int)dopt_rng_below(&rng, 3), t, i, j;
        R *A = DOPT_FN(tmat)((size_t)lda * n), *x = DOPT_FN(tmat)(2 * (size_t)(m + n)),
          *y = DOPT_FN(tmat)(2 * (size_t)(m + n)), *y0 = DOPT_FN(tmat)(2 * (size_t)(m + n));
        DOPT_FN(fill)(&rng, (size_t)lda * n, A);
        DOPT_FN(fill)(&rng, 2 * (size_t)(m + n), x);
        DOPT_FN(fill)(&rng, 2 * (size_t)(m + n), y0);
        for (t = 0; t < 2; ++t) {
            dopt_trans tr = t ? DOPT_TRANS : DOPT_NOTRANS;
            int rows = t ? n : m, cols = t ? m : n;
            double worst = 0;
            memcpy(y, y0, 2 * (size_t)(m + n) * sizeof(R));
            DOPT_FN(dopt_gemv)(tr, m, n, (R)0.5, A, lda, x, 2, (R)-1.5, y, 2);
            for (i = 0; i < rows; ++i) {
                double ref = -1.5 * y0[2 * i], bound = fabs(ref);
                for (j = 0; j < cols; ++j) {
                    double a = DOPT_FN(op)(A, lda, tr, i, j);
                    ref += 0.5 * a * x[2 * j];
                    bound += fabs(0.5 * a * x[2 * j]);
                }
                if (fabs(y[2 * i] - ref) / (bound + 1e-300) > worst) worst = fabs(y[2 * i] - ref) / (bound + 1e-300);
            }
            DOPT_CHECK(worst < 10 * (cols + 2) * DOPT_EPS, "gemv t=%d m=%d n=%d err %g", t, m, n, worst);
        }
        free(A); free(x); free(y); free(y0);
    }
}

/* C = alpha op(A) op(B) + beta C against the triple loop, bound-relative error per entry. */
static double DOPT_FN(gemm_err)(dopt_trans ta, dopt_trans tb, int m, int n, int k, R alpha,
                                const R *A, int lda, const R *B, int ldb, R beta, const R *C0,
                                const R *C, int ldc)
{
    double worst = 0;
    int i, j, p;
    for (j = 0; j < n; ++j)
        for (i = 0; i < m; ++i) {
            double ref = beta == 0 ? 0 : (double)beta * C0[i + (size_t)j * ldc], bound = fabs(ref);
            for (p = 0; p < k; ++p) {
                double t = (double)alpha * DOPT_FN(op)(A, lda, ta, i, p) * DOPT_FN(op)(B, ldb, tb, p, j);
                ref += t;
                bound += fabs(t);
            }
            ref = fabs(C[i + (size_t)j * ldc] - ref) / (bound + 1e-300);
            if (ref > worst || ref != ref) worst = ref;
        }
    return worst;
}

/* One product on random operands (leading dimensions padded by pa, pb, pc) against the triple
 * loop: the worst bound-relative error.  With beta = 0 the first entry of C starts as NaN: gemm
 * must not read C then. */
static double DOPT_FN(gemm_trial)(dopt_rng *rng, dopt_trans ta, dopt_trans tb, int m, int n, int k, int pa, int pb,
                                  int pc, R alpha, R beta)
{
    const int lda = (ta == DOPT_NOTRANS ? m : k) + pa, ldb = (tb == DOPT_NOTRANS ? k : n) + pb, ldc = m + pc;
    const size_t na = (size_t)lda * (size_t)(ta == DOPT_NOTRANS ? k : m), nb = (size_t)ldb * (size_t)(tb == DOPT_NOTRANS ? n : k);
    R *A = DOPT_FN(tmat)(na), *B = DOPT_FN(tmat)(nb), *C = DOPT_FN(tmat)((size_t)ldc * n), *C0 = DOPT_FN(tmat)((size_t)ldc * n);
    double err;
    DOPT_FN(fill)(rng, na, A);
    DOPT_FN(fill)(rng, nb, B);
    DOPT_FN(fill)(rng, (size_t)ldc * n, C0);
    if (beta == 0) C0[0] = (R)NAN;
    memcpy(C, C0, (size_t)ldc * n * sizeof(R));
    DOPT_FN(dopt_gemm)(ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
    err = DOPT_FN(gemm_err)(ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C0, C, ldc);
    free(A); free(B); free(C); free(C0);
    return err;
}

static void DOPT_FN(test_gemm)(void)
{
    dopt_rng rng;
    int trial, trials = dopt_test_quick() ? 24 : 60;
    dopt_rng_seed(&rng, 12, DOPT_IS_FLOAT);
    for (trial = 0; trial < trials; ++trial) {
        int m = DOPT_FN(rsize)(&rng, DOPT_FN(nmax)()), n = DOPT_FN(rsize)(&rng, DOPT_FN(nmax)()),
            k = DOPT_FN(rsize)(&rng, DOPT_FN(nmax)());
        dopt_trans ta = (trial & 1) ? DOPT_TRANS : DOPT_NOTRANS, tb = (trial & 2) ? DOPT_TRANS : DOPT_NOTRANS;
        int pa = (int)dopt_rng_below(&rng, 3), pb = (int)dopt_rng_below(&rng, 3), pc = (int)dopt_rng_below(&rng, 3);
        R alpha = (R)(trial % 3 == 0 ? 1 : -0.75), beta = (R)(trial % 4 == 0 ? 0 : (trial % 4 == 1 ? 1 : 0.5));
        double err = DOPT_FN(gemm_trial)(&rng, ta, tb, m, n, k, pa, pb, pc, alpha, beta);
        DOPT_CHECK(err < 4 * (k + 2) * DOPT_EPS, "gemm ta=%d tb=%d m=%d n=%d k=%d beta=%g err %g",
                   ta, tb, m, n, k, (double)beta, err);
    }
}

static void DOPT_FN(rand_spd)(dopt_rng *rng, int n, R *A, int lda);

/* dopt_gemm_ws (op(B) packed into caller memory, KC x NC blocks) against the triple loop and,
 * bit for bit, against dopt_gemm (the same slabs in the same order), for every op pair; shapes
 * across the column blocks (NC = 192: 193 and 400 columns make balanced blocks with a narrow
 * last sliver) and slabs (k over every family's KC); a workspace one real short falls back.  Then
 * dopt_syrk_ws, dopt_trsm_ws (both sides) and dopt_potrf_ws against their plain forms, bit for bit. */
static void DOPT_FN(test_gemm_ws)(void)
{
    static const int shapes[][3] = {{130, 193, 150}, {97, 400, 300}, {200, 61, 257}, {33, 205, 129}};
    const size_t wbytes = DOPT_FN(dopt_gemm_workspace_size)();
    R *work = DOPT_FN(tmat)(wbytes / sizeof(R) + 1);
    dopt_rng rng;
    int s, t;
    dopt_rng_seed(&rng, 28, DOPT_IS_FLOAT);
    DOPT_CHECK(wbytes >= 64 * 192 * sizeof(R) && wbytes <= 256 * 192 * sizeof(R), "workspace %zu bytes", wbytes);
    for (s = 0; s < (int)(sizeof shapes / sizeof *shapes); ++s)
        for (t = 0; t < 4; ++t) {
            const int m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
            const dopt_trans ta = (t & 2) ? DOPT_TRANS : DOPT_NOTRANS, tb = (t & 1) ? DOPT_TRANS : DOPT_NOTRANS;
            const int lda = (ta == DOPT_NOTRANS ? m : k) + 1, ldb = (tb == DOPT_NOTRANS ? k : n) + 2, ldc = m + 3;
            const size_t na = (size_t)lda * (size_t)(ta == DOPT_NOTRANS ? k : m),
                         nb = (size_t)ldb * (size_t)(tb == DOPT_NOTRANS ? n : k), nc = (size_t)ldc * (size_t)n;
            R *A = DOPT_FN(tmat)(na), *B = DOPT_FN(tmat)(nb), *C0 = DOPT_FN(tmat)(nc), *C1 = DOPT_FN(tmat)(nc),
              *C2 = DOPT_FN(tmat)(nc), *C3 = DOPT_FN(tmat)(nc);
            const R alpha = (R)(t == 1 ? 1 : -0.75), beta = (R)(s == 1 ? 0 : 0.5);
            double err;
            DOPT_FN(fill)(&rng, na, A);
            DOPT_FN(fill)(&rng, nb, B);
            DOPT_FN(fill)(&rng, nc, C0);
            memcpy(C1, C0, nc * sizeof(R));
            memcpy(C2, C0, nc * sizeof(R));
            memcpy(C3, C0, nc * sizeof(R));
            DOPT_FN(dopt_gemm)(ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C1, ldc);
            DOPT_FN(dopt_gemm_ws)(ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C2, ldc, work, wbytes);
            DOPT_FN(dopt_gemm_ws)(ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C3, ldc, work, wbytes - 1);
            err = DOPT_FN(gemm_err)(ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C0, C2, ldc);
            DOPT_CHECK(err < 4 * (k + 2) * DOPT_EPS, "gemm_ws ta=%d tb=%d m=%d n=%d k=%d err %g", ta, tb, m, n, k, err);
            DOPT_CHECK(!memcmp(C1, C2, nc * sizeof(R)), "gemm_ws ta=%d tb=%d m=%d n=%d k=%d: not dopt_gemm's bits", ta,
                       tb, m, n, k);
            DOPT_CHECK(!memcmp(C1, C3, nc * sizeof(R)), "gemm_ws short workspace ta=%d tb=%d m=%d n=%d k=%d", ta, tb,
                       m, n, k);
            free(A); free(B); free(C0); free(C1); free(C2); free(C3);
        }
    { /* syrk, trsm and potrf with the workspace: dopt_syrk's, dopt_trsm's and dopt_potrf's bits */
        const int n = 310, k = 230, ld = n + 1;
        R *A = DOPT_FN(tmat)((size_t)ld * n), *C1 = DOPT_FN(tmat)((size_t)ld * n), *C2 = DOPT_FN(tmat)((size_t)ld * n);
        int side, col1, col2;
        dopt_status st1, st2;
        DOPT_FN(fill)(&rng, (size_t)ld * n, A);
        DOPT_FN(fill)(&rng, (size_t)ld * n, C1);
        memcpy(C2, C1, (size_t)ld * n * sizeof(R));
        DOPT_FN(dopt_syrk)(DOPT_LOWER, DOPT_NOTRANS, n, k, -1, A, ld, (R)0.5, C1, ld);
        DOPT_FN(dopt_syrk_ws)(DOPT_LOWER, DOPT_NOTRANS, n, k, -1, A, ld, (R)0.5, C2, ld, work, wbytes);
        DOPT_CHECK(!memcmp(C1, C2, (size_t)ld * n * sizeof(R)), "syrk_ws: not dopt_syrk's bits");
        DOPT_FN(rand_spd)(&rng, n, A, ld);
        for (side = 0; side < 2; ++side) {
            const dopt_side sd = side ? DOPT_RIGHT : DOPT_LEFT;
            DOPT_FN(fill)(&rng, (size_t)ld * n, C1);
            memcpy(C2, C1, (size_t)ld * n * sizeof(R));
            DOPT_FN(dopt_trsm)(sd, DOPT_LOWER, DOPT_TRANS, DOPT_NONUNIT, n, n, 1, A, ld, C1, ld);
            DOPT_FN(dopt_trsm_ws)(sd, DOPT_LOWER, DOPT_TRANS, DOPT_NONUNIT, n, n, 1, A, ld, C2, ld, work, wbytes);
            DOPT_CHECK(!memcmp(C1, C2, (size_t)ld * n * sizeof(R)), "trsm_ws side %d: not dopt_trsm's bits", side);
        }
        memcpy(C1, A, (size_t)ld * n * sizeof(R));
        memcpy(C2, A, (size_t)ld * n * sizeof(R));
        st1 = DOPT_FN(dopt_potrf)(n, C1, ld, &col1);
        st2 = DOPT_FN(dopt_potrf_ws)(n, C2, ld, &col2, work, wbytes);
        DOPT_CHECK(st1 == DOPT_OK && st2 == DOPT_OK && col1 == col2, "potrf_ws status %d %d", (int)st1, (int)st2);
        DOPT_CHECK(!memcmp(C1, C2, (size_t)ld * n * sizeof(R)), "potrf_ws: not dopt_potrf's bits");
        free(A); free(C1); free(C2);
    }
    free(work);
}

/* The direct path of dopt_gemm (op(A) = A, k <= 128, n <= 96, A within 512 KB: the supernodal
 * updates' shapes) against the triple loop, for both op(B): row counts on and off every family's
 * tile height (8, 16, 24, 48 rows), column counts on and off the tile widths (4, 6), inner
 * dimensions under, at and over the AVX-512 slab depth (64 in double, 72 in float).  The same
 * shapes with op(A) = A^T take the blocked path: both must agree with the loop. */
static void DOPT_FN(test_gemm_direct)(void)
{
    static const int ms[] = {17, 23, 24, 25, 47, 49, 130, 200}, ns[] = {1, 17, 18, 24, 61, 64, 96},
                     ks[] = {1, 12, 24, 63, 64, 65, 72, 73, 100, 128};
    dopt_rng rng;
    int im, in, ik, t;
    dopt_rng_seed(&rng, 27, DOPT_IS_FLOAT);
    for (im = 0; im < (int)(sizeof ms / sizeof *ms); ++im)
        for (in = 0; in < (int)(sizeof ns / sizeof *ns); ++in)
            for (ik = 0; ik < (int)(sizeof ks / sizeof *ks); ++ik)
                for (t = 0; t < 4; ++t) {
                    const int m = ms[im], n = ns[in], k = ks[ik];
                    const dopt_trans ta = (t & 2) ? DOPT_TRANS : DOPT_NOTRANS, tb = (t & 1) ? DOPT_TRANS : DOPT_NOTRANS;
                    const R alpha = (R)((ik & 1) ? -1 : 0.75), beta = (R)(in % 3 == 0 ? 0 : in % 3 == 1 ? 1 : -0.5);
                    const double err = DOPT_FN(gemm_trial)(&rng, ta, tb, m, n, k, 1, 2, 3, alpha, beta);
                    DOPT_CHECK(err < 4 * (k + 2) * DOPT_EPS, "gemm direct ta=%d tb=%d m=%d n=%d k=%d err %g", ta, tb,
                               m, n, k, err);
                }
}

static void DOPT_FN(test_gemm_fixed)(void)
{
    static const int sizes[] = {2, 3, 4, 5, 6, 7, 9};
    dopt_rng rng;
    R A[81], B[81], C[81], C0[81];
    unsigned s;
    int acc;
    dopt_rng_seed(&rng, 13, DOPT_IS_FLOAT);
    for (s = 0; s < sizeof sizes / sizeof sizes[0]; ++s)
        for (acc = 0; acc < 2; ++acc) {
            int N = sizes[s];
            double err;
            DOPT_FN(fill)(&rng, 81, A);
            DOPT_FN(fill)(&rng, 81, B);
            DOPT_FN(fill)(&rng, 81, C0);
            memcpy(C, C0, sizeof C);
            DOPT_FN(dopt_gemm_fixed)(N, A, B, C, acc);
            err = DOPT_FN(gemm_err)(DOPT_NOTRANS, DOPT_NOTRANS, N, N, N, 1, A, N, B, N, (R)acc, C0, C, N);
            DOPT_CHECK(err < 4 * (N + 2) * DOPT_EPS, "fixed N=%d acc=%d err %g", N, acc, err);
            /* the general gemm takes the fixed path for these shapes: same answer */
            memcpy(C, C0, sizeof C);
            DOPT_FN(dopt_gemm)(DOPT_NOTRANS, DOPT_NOTRANS, N, N, N, 1, A, N, B, N, (R)acc, C, N);
            err = DOPT_FN(gemm_err)(DOPT_NOTRANS, DOPT_NOTRANS, N, N, N, 1, A, N, B, N, (R)acc, C0, C, N);
            DOPT_CHECK(err < 4 * (N + 2) * DOPT_EPS, "gemm N=%d acc=%d err %g", N, acc, err);
        }
}

static void DOPT_FN(test_syrk)(void)
{
    dopt_rng rng;
    int trial;
    dopt_rng_seed(&rng, 14, DOPT_IS_FLOAT);
    for (trial = 0; trial < 32; ++trial) {
        int n = DOPT_FN(rsize)(&rng, DOPT_FN(nmax)()), k = DOPT_FN(rsize)(&rng, DOPT_FN(nmax)());
        dopt_uplo ul = (trial & 1) ? DOPT_UPPER : DOPT_LOWER;
        dopt_trans tr = (trial & 2) ? DOPT_TRANS : DOPT_NOTRANS;
        int lda = (tr == DOPT_NOTRANS ? n : k) + 1, ldc = n + 2, i, j;
        R *A = DOPT_FN(tmat)((size_t)lda * (tr == DOPT_NOTRANS ? k : n));
        R *C = DOPT_FN(tmat)((size_t)ldc * n), *C0 = DOPT_FN(tmat)((size_t)ldc * n);
        R *Cfull = DOPT_FN(tmat)((size_t)ldc * n);
        double err;
        int untouched = 1;
        DOPT_FN(fill)(&rng, (size_t)lda * (tr == DOPT_NOTRANS ? k : n), A);
        DOPT_FN(fill)(&rng, (size_t)ldc * n, C0);
        memcpy(C, C0, (size_t)ldc * n * sizeof(R));
        memcpy(Cfull, C0, (size_t)ldc * n * sizeof(R));
        DOPT_FN(dopt_syrk)(ul, tr, n, k, (R)-1, A, lda, (R)0.5, C, ldc);
        /* reference: the full product via the naive check, on the referenced triangle only */
        for (j = 0; j < n; ++j)
            for (i = 0; i < n; ++i) {
                int in = ul == DOPT_LOWER ? i >= j : i <= j;
                if (!in) {
                    if (C[i + (size_t)j * ldc] != C0[i + (size_t)j * ldc]) untouched = 0;
                    C[i + (size_t)j * ldc] = 0;
                    Cfull[i + (size_t)j * ldc] = 0;
                    C0[i + (size_t)j * ldc] = 0;
                }
            }
        /* compare only the triangle: emulate with gemm_err on a masked copy */
        err = 0;
        for (j = 0; j < n; ++j)
            for (i = 0; i < n; ++i) {
                int p, in = ul == DOPT_LOWER ? i >= j : i <= j;
                double ref, bound, e;
                if (!in) continue;
                ref = 0.5 * C0[i + (size_t)j * ldc];
                bound = fabs(ref);
                for (p = 0; p < k; ++p) {
                    double a1 = tr == DOPT_NOTRANS ? A[i + (size_t)p * lda] : A[p + (size_t)i * lda];
                    double a2 = tr == DOPT_NOTRANS ? A[j + (size_t)p * lda] : A[p + (size_t)j * lda];
                    ref -= a1 * a2;
                    bound += fabs(a1 * a2);
                }
                e = fabs(C[i + (size_t)j * ldc] - ref) / (bound + 1e-300);
                if (e > err) err = e;
            }
        DOPT_CHECK(err < 4 * (k + 2) * DOPT_EPS, "syrk ul=%d tr=%d n=%d k=%d err %g", ul, tr, n, k, err);
        DOPT_CHECK(untouched, "syrk wrote the other triangle (ul=%d n=%d)", ul, n);
        free(A); free(C); free(C0); free(Cfull);
    }
}

/* Well-conditioned random triangular matrix: unit-ish diagonal dominance. */
static void DOPT_FN(rand_tri)(dopt_rng *rng, int n, R *T, int ldt)
{
    int i, j;
    DOPT_FN(fill)(rng, (size_t)ldt * n, T);
    for (j = 0; j < n; ++j) {
        for (i = 0; i < n; ++i) T[i + (size_t)j * ldt] *= (R)(1.0 / sqrt((double)n));
        T[j + (size_t)j * ldt] = (R)(T[j + (size_t)j * ldt] >= 0 ? 2 : -2) + T[j + (size_t)j * ldt];
    }
}

static void DOPT_FN(test_trsm)(void)
{
    dopt_rng rng;
    int trial;
    dopt_rng_seed(&rng, 15, DOPT_IS_FLOAT);
    for (trial = 0; trial < 64; ++trial) {
        dopt_side side = (trial & 1) ? DOPT_RIGHT : DOPT_LEFT;
        dopt_uplo ul = (trial & 2) ? DOPT_UPPER : DOPT_LOWER;
        dopt_trans tr = (trial & 4) ? DOPT_TRANS : DOPT_NOTRANS;
        dopt_diag dg = (trial & 8) ? DOPT_UNIT : DOPT_NONUNIT;
        int m = DOPT_FN(rsize)(&rng, DOPT_FN(nmax)()), n = DOPT_FN(rsize)(&rng, dopt_test_quick() ? 20 : 70);
        int nt = side == DOPT_LEFT ? m : n, ldt = nt + 1, ldb = m + 3, i, j, p;
        R *T = DOPT_FN(tmat)((size_t)ldt * nt), *X = DOPT_FN(tmat)((size_t)ldb * n), *B = DOPT_FN(tmat)((size_t)ldb * n);
        double res = 0, tn = 0, xn;
        DOPT_FN(rand_tri)(&rng, nt, T, ldt);
        DOPT_FN(fill)(&rng, (size_t)ldb * n, B);
        memcpy(X, B, (size_t)ldb * n * sizeof(R));
        DOPT_FN(dopt_trsm)(side, ul, tr, dg, m, n, (R)2, T, ldt, X, ldb);
        /* residual: op(T) X - 2 B (LEFT) or X op(T) - 2 B (RIGHT), with op(T) as referenced */
        for (j = 0; j < n; ++j)
            for (i = 0; i < m; ++i) {
                double s = -2.0 * B[i + (size_t)j * ldb];
                for (p = 0; p < nt; ++p) {
                    int r = side == DOPT_LEFT ? i : p, c = side == DOPT_LEFT ? p : j; /* op(T)(r,c) */
                    int tr_ = tr == DOPT_NOTRANS ? r : c, tc = tr == DOPT_NOTRANS ? c : r;
                    double t;
                    if (ul == DOPT_LOWER ? tr_ < tc : tr_ > tc) continue;
                    t = (tr_ == tc && dg == DOPT_UNIT) ? 1.0 : T[tr_ + (size_t)tc * ldt];
                    s += t * (side == DOPT_LEFT ? X[p + (size_t)j * ldb] : X[i + (size_t)p * ldb]);
                }
                res += s * s;
            }
        for (j = 0; j < nt; ++j)
            for (i = 0; i < nt; ++i) {
                double t = (i == j && dg == DOPT_UNIT) ? 1.0 : T[i + (size_t)j * ldt];
                if (ul == DOPT_LOWER ? i >= j : i <= j) tn += t * t;
            }
        xn = DOPT_FN(fro)(m, n, X, ldb);
        res = sqrt(res) / (sqrt(tn) * xn + 1e-300);
        DOPT_CHECK(res < TOL_SOLVE, "trsm side=%d ul=%d tr=%d diag=%d m=%d n=%d backward err %g", side, ul,
                   tr, dg, m, n, res);
        free(T); free(X); free(B);
    }
}

/* Random SPD A = M M^T / n + I (lower and upper stored). */
static void DOPT_FN(rand_spd)(dopt_rng *rng, int n, R *A, int lda)
{
    R *M = DOPT_FN(tmat)((size_t)n * n);
    int i, j, p;
    DOPT_FN(fill)(rng, (size_t)n * n, M);
    for (j = 0; j < n; ++j)
        for (i = 0; i < n; ++i) {
            double s = i == j ? 1.0 : 0.0;
            for (p = 0; p < n; ++p) s += (double)M[i + (size_t)p * n] * M[j + (size_t)p * n] / n;
            A[i + (size_t)j * lda] = (R)s;
        }
    free(M);
}

/* ||A x - b|| / (||A|| ||x||) for column-major full A (both triangles). */
static double DOPT_FN(backward_err)(int n, int nrhs, const R *A, int lda, const R *X, int ldx,
                                    const R *Bv, int ldb, int trans)
{
    double r = 0;
    int i, j, c;
    for (c = 0; c < nrhs; ++c)
        for (i = 0; i < n; ++i) {
            double s = -(double)Bv[i + (size_t)c * ldb];
            for (j = 0; j < n; ++j)
                s += (double)(trans ? A[j + (size_t)i * lda] : A[i + (size_t)j * lda]) * X[j + (size_t)c * ldx];
            r += s * s;
        }
    return sqrt(r) / (DOPT_FN(fro)(n, n, A, lda) * DOPT_FN(fro)(n, nrhs, X, ldx) + 1e-300);
}

static void DOPT_FN(test_potrf)(void)
{
    dopt_rng rng;
    int trial;
    dopt_rng_seed(&rng, 16, DOPT_IS_FLOAT);
    for (trial = 0; trial < 24; ++trial) {
        int n = DOPT_FN(rsize)(&rng, DOPT_FN(nmax)()), nrhs = 1 + trial % 3, lda = n + trial % 2, col;
        R *A = DOPT_FN(tmat)((size_t)lda * n), *L = DOPT_FN(tmat)((size_t)lda * n);
        R *B = DOPT_FN(tmat)((size_t)n * nrhs), *X = DOPT_FN(tmat)((size_t)n * nrhs);
        dopt_status st;
        double err;
        DOPT_FN(rand_spd)(&rng, n, A, lda);
        memcpy(L, A, (size_t)lda * n * sizeof(R));
        DOPT_FN(fill)(&rng, (size_t)n * nrhs, B);
        memcpy(X, B, (size_t)n * nrhs * sizeof(R));
        st = DOPT_FN(dopt_potrf)(n, L, lda, &col);
        DOPT_CHECK(st == DOPT_OK && col == -1, "potrf n=%d: %s", n, dopt_status_string(st));
        DOPT_FN(dopt_potrs)(n, nrhs, L, lda, X, n);
        err = DOPT_FN(backward_err)(n, nrhs, A, lda, X, n, B, n, 0);
        DOPT_CHECK(err < TOL_SOLVE, "potrf/potrs n=%d nrhs=%d backward err %g", n, nrhs, err);
        free(A); free(L); free(B); free(X);
    }
}

static void DOPT_FN(test_potrf_failures)(void)
{
    dopt_rng rng;
    int trial, col;
    R two[4] = {1, 2, 2, 1};
    dopt_rng_seed(&rng, 17, DOPT_IS_FLOAT);
    /* A = L L^T with a known L; lowering A[k][k] by L[k][k]^2 + 1 makes pivot k exactly -1 while
     * columns before k stay valid: the reported column must be k. */
    for (trial = 0; trial < 16; ++trial) {
        int n = 1 + DOPT_FN(rsize)(&rng, DOPT_FN(nmax)() - 1), k = (int)dopt_rng_below(&rng, (uint64_t)n), i, j, p;
        R *Lk = DOPT_FN(tmat)((size_t)n * n), *A = DOPT_FN(tmat)((size_t)n * n);
        dopt_status st;
        for (j = 0; j < n; ++j)
            for (i = j; i < n; ++i)
                Lk[i + (size_t)j * n] = (R)(i == j ? 1 + dopt_rng_uniform_d(&rng) : 0.3 * (2 * dopt_rng_uniform_d(&rng) - 1) / sqrt((double)n));
        for (j = 0; j < n; ++j)
            for (i = j; i < n; ++i) {
                double s = 0;
                for (p = 0; p <= j; ++p) s += (double)Lk[i + (size_t)p * n] * Lk[j + (size_t)p * n];
                A[i + (size_t)j * n] = (R)s;
            }
        A[k + (size_t)k * n] -= Lk[k + (size_t)k * n] * Lk[k + (size_t)k * n] + 1;
        st = DOPT_FN(dopt_potrf)(n, A, n, &col);
        DOPT_CHECK(st == DOPT_ERR_NOT_POSITIVE_DEFINITE && col == k, "non-SPD n=%d: status %s col %d, want %d",
                   n, dopt_status_string(st), col, k);
        free(Lk); free(A);
    }
    DOPT_CHECK(DOPT_FN(dopt_potrf)(2, two, 2, &col) == DOPT_ERR_NOT_POSITIVE_DEFINITE && col == 1, "2x2 indefinite col %d", col);
    two[0] = (R)NAN;
    DOPT_CHECK(DOPT_FN(dopt_potrf)(2, two, 2, &col) == DOPT_ERR_NON_FINITE && col == 0, "NaN pivot");
    DOPT_CHECK(DOPT_FN(dopt_potrf)(2, two, 1, &col) == DOPT_ERR_INVALID_ARGUMENT, "lda < n");
    DOPT_CHECK(DOPT_FN(dopt_potrf)(0, two, 1, &col) == DOPT_OK, "n = 0 is fine");
}

static void DOPT_FN(test_getrf)(void)
{
    dopt_rng rng;
    int trial, col, ipiv[3];
    R sing[9] = {1, 2, 3, 0, 0, 0, 0, 1, 1}; /* column 1 is zero: exact under any FP contraction */
    dopt_rng_seed(&rng, 18, DOPT_IS_FLOAT);
    for (trial = 0; trial < 24; ++trial) {
        int n = DOPT_FN(rsize)(&rng, DOPT_FN(nmax)()), nrhs = 1 + trial % 3, lda = n + 1;
        R *A = DOPT_FN(tmat)((size_t)lda * n), *LU = DOPT_FN(tmat)((size_t)lda * n);
        R *B = DOPT_FN(tmat)((size_t)n * nrhs), *X = DOPT_FN(tmat)((size_t)n * nrhs);
        int *piv = (int *)calloc((size_t)n, sizeof(int));
        dopt_status st;
        double err;
        int t = trial & 1;
        DOPT_FN(fill)(&rng, (size_t)lda * n, A);
        memcpy(LU, A, (size_t)lda * n * sizeof(R));
        DOPT_FN(fill)(&rng, (size_t)n * nrhs, B);
        memcpy(X, B, (size_t)n * nrhs * sizeof(R));
        st = DOPT_FN(dopt_getrf)(n, LU, lda, piv, &col);
        DOPT_CHECK(st == DOPT_OK, "getrf n=%d: %s", n, dopt_status_string(st));
        DOPT_FN(dopt_getrs)(t ? DOPT_TRANS : DOPT_NOTRANS, n, nrhs, LU, lda, piv, X, n);
        err = DOPT_FN(backward_err)(n, nrhs, A, lda, X, n, B, n, t);
        /* LU with partial pivoting: growth is small on random matrices */
        DOPT_CHECK(err < 10 * TOL_SOLVE, "getrs n=%d trans=%d backward err %g", n, t, err);
        free(A); free(LU); free(B); free(X); free(piv);
    }
    DOPT_CHECK(DOPT_FN(dopt_getrf)(3, sing, 3, ipiv, &col) == DOPT_ERR_SINGULAR && col == 1, "singular col %d", col);
    sing[4] = (R)INFINITY;
    DOPT_CHECK(DOPT_FN(dopt_getrf)(3, sing, 3, ipiv, &col) == DOPT_ERR_NON_FINITE, "Inf input");
}

static void DOPT_FN(test_sytrf)(void)
{
    dopt_rng rng;
    int trial, col, ipiv[4];
    /* KKT-like matrix with a zero diagonal block forces 2x2 pivots */
    R kkt[16] = {0, 0, 1, 2, 0, 0, 3, 1, 1, 3, 0, 0, 2, 1, 0, 0};
    R kb[4] = {1, 2, 3, 4}, kx[4], kkt0[16];
    R zero[4] = {0, 0, 0, 0};
    double err;
    dopt_rng_seed(&rng, 19, DOPT_IS_FLOAT);
    for (trial = 0; trial < 24; ++trial) {
        int n = DOPT_FN(rsize)(&rng, DOPT_FN(nmax)()), nrhs = 1 + trial % 2, lda = n + 2, i, j, twos = 0;
        R *A = DOPT_FN(tmat)((size_t)lda * n), *LD = DOPT_FN(tmat)((size_t)lda * n);
        R *B = DOPT_FN(tmat)((size_t)n * nrhs), *X = DOPT_FN(tmat)((size_t)n * nrhs);
        int *piv = (int *)calloc((size_t)n, sizeof(int));
        dopt_status st;
        DOPT_FN(fill)(&rng, (size_t)lda * n, A);
        for (j = 0; j < n; ++j)
            for (i = 0; i < j; ++i) A[i + (size_t)j * lda] = A[j + (size_t)i * lda]; /* symmetric, indefinite */
        if (trial % 3 == 0)
            for (j = 0; j < n; ++j) A[j + (size_t)j * lda] *= (R)0.01; /* small diagonal: 2x2 pivots */
        memcpy(LD, A, (size_t)lda * n * sizeof(R));
        DOPT_FN(fill)(&rng, (size_t)n * nrhs, B);
        memcpy(X, B, (size_t)n * nrhs * sizeof(R));
        st = DOPT_FN(dopt_sytrf)(n, LD, lda, piv, &col);
        DOPT_CHECK(st == DOPT_OK, "sytrf n=%d: %s", n, dopt_status_string(st));
        DOPT_FN(dopt_sytrs)(n, nrhs, LD, lda, piv, X, n);
        err = DOPT_FN(backward_err)(n, nrhs, A, lda, X, n, B, n, 0);
        for (i = 0; i < n; ++i) twos += piv[i] < 0;
        DOPT_CHECK(err < 10 * TOL_SOLVE, "sytrs n=%d backward err %g (%d 2x2 pivot rows)", n, err, twos);
        free(A); free(LD); free(B); free(X); free(piv);
    }
    memcpy(kkt0, kkt, sizeof kkt);
    memcpy(kx, kb, sizeof kb);
    DOPT_CHECK(DOPT_FN(dopt_sytrf)(4, kkt, 4, ipiv, &col) == DOPT_OK && ipiv[0] < 0, "KKT uses a 2x2 pivot");
    DOPT_FN(dopt_sytrs)(4, 1, kkt, 4, ipiv, kx, 4);
    err = DOPT_FN(backward_err)(4, 1, kkt0, 4, kx, 4, kb, 4, 0);
    DOPT_CHECK(err < 10 * TOL_SOLVE, "KKT solve err %g", err);
    DOPT_CHECK(DOPT_FN(dopt_sytrf)(2, zero, 2, ipiv, &col) == DOPT_ERR_SINGULAR && col == 0, "zero matrix singular");
}

static void DOPT_FN(test_batched)(void)
{
    enum { NB = 5, N = 7 };
    dopt_rng rng;
    R A[NB * N * N], L[NB * N * N], L1[N * N], B[NB * N * 2], X[NB * N * 2], X1[N * 2];
    R C[NB * N * N], C1[N * N];
    int ipiv[NB * N], ipiv1[N], fails[NB], b, col;
    dopt_status st;
    dopt_rng_seed(&rng, 20, DOPT_IS_FLOAT);
    for (b = 0; b < NB; ++b) DOPT_FN(rand_spd)(&rng, N, A + b * N * N, N);
    DOPT_FN(fill)(&rng, NB * N * 2, B);
    /* potrf/potrs batched == one by one, bit for bit */
    memcpy(L, A, sizeof A);
    memcpy(X, B, sizeof B);
    L[3 * N * N + 2 + 2 * N] = -50; /* element 3 fails at column 2 */
    st = DOPT_FN(dopt_potrf_batched)(NB, N, L, N, N * N, fails);
    DOPT_CHECK(st == DOPT_ERR_NOT_POSITIVE_DEFINITE && fails[3] == 2 && fails[0] == -1 && fails[4] == -1,
               "batch failure reported per element");
    for (b = 0; b < NB; ++b) {
        if (b == 3) continue;
        memcpy(L1, A + b * N * N, sizeof L1);
        DOPT_FN(dopt_potrf)(N, L1, N, &col);
        DOPT_CHECK(memcmp(L1, L + b * N * N, sizeof L1) == 0, "potrf batch element %d identical", b);
    }
    memcpy(L + 3 * N * N, A, sizeof L1);
    DOPT_FN(dopt_potrf)(N, L + 3 * N * N, N, &col);
    DOPT_FN(dopt_potrs_batched)(NB, N, 2, L, N, N * N, X, N, N * 2);
    memcpy(X1, B + 2 * N * 2, sizeof X1);
    DOPT_FN(dopt_potrs)(N, 2, L + 2 * N * N, N, X1, N);
    DOPT_CHECK(memcmp(X1, X + 2 * N * 2, sizeof X1) == 0, "potrs batch identical");
    /* getrf/getrs and sytrf/sytrs batched */
    memcpy(L, A, sizeof A);
    memcpy(X, B, sizeof B);
    DOPT_CHECK(DOPT_FN(dopt_getrf_batched)(NB, N, L, N, N * N, ipiv, N, fails) == DOPT_OK, "getrf batch");
    DOPT_FN(dopt_getrs_batched)(NB, DOPT_NOTRANS, N, 2, L, N, N * N, ipiv, N, X, N, N * 2);
    memcpy(L1, A + 4 * N * N, sizeof L1);
    memcpy(X1, B + 4 * N * 2, sizeof X1);
    DOPT_FN(dopt_getrf)(N, L1, N, ipiv1, &col);
    DOPT_FN(dopt_getrs)(DOPT_NOTRANS, N, 2, L1, N, ipiv1, X1, N);
    DOPT_CHECK(memcmp(X1, X + 4 * N * 2, sizeof X1) == 0, "getrs batch identical");
    memcpy(L, A, sizeof A);
    memcpy(X, B, sizeof B);
    DOPT_CHECK(DOPT_FN(dopt_sytrf_batched)(NB, N, L, N, N * N, ipiv, N, fails) == DOPT_OK, "sytrf batch");
    DOPT_FN(dopt_sytrs_batched)(NB, N, 2, L, N, N * N, ipiv, N, X, N, N * 2);
    memcpy(L1, A + 1 * N * N, sizeof L1);
    memcpy(X1, B + 1 * N * 2, sizeof X1);
    DOPT_FN(dopt_sytrf)(N, L1, N, ipiv1, &col);
    DOPT_FN(dopt_sytrs)(N, 2, L1, N, ipiv1, X1, N);
    DOPT_CHECK(memcmp(X1, X + 1 * N * 2, sizeof X1) == 0, "sytrs batch identical");
    /* gemm/gemv batched */
    DOPT_FN(dopt_gemm_batched)(NB, DOPT_NOTRANS, DOPT_TRANS, N, N, N, 1, A, N, N * N, L, N, N * N, 0, C, N, N * N);
    DOPT_FN(dopt_gemm)(DOPT_NOTRANS, DOPT_TRANS, N, N, N, 1, A + 2 * N * N, N, L + 2 * N * N, N, 0, C1, N);
    DOPT_CHECK(memcmp(C1, C + 2 * N * N, sizeof C1) == 0, "gemm batch identical");
    DOPT_FN(dopt_gemv_batched)(NB, DOPT_TRANS, N, N, 1, A, N, N * N, B, N * 2, 0, X, N * 2);
    DOPT_FN(dopt_gemv)(DOPT_TRANS, N, N, 1, A + 3 * N * N, N, B + 3 * N * 2, 1, 0, X1, 1);
    DOPT_CHECK(memcmp(X1, X + 3 * N * 2, N * sizeof(R)) == 0, "gemv batch identical");
}

#undef R
#endif
