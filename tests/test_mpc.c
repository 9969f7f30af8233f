/* dopt_mpc.h, part LQR AND iLQR: the LQR against a dense solve of its KKT system written here,
 * box-constrained LQR against the KKT conditions of the bounded QP (and a dense solve with the
 * same active set), every backward output against central finite differences (double), the
 * reference results of mpc.pytorch (../shared/reference/lqr_reference.json, skipped if absent),
 * failure statuses, the non-convergence policy element by element and zero allocation in a
 * receding-horizon loop; float and double. */
#if !defined(DOPT__DRIVE)
/* Unshared dL/dC and dL/dF arrays of 4 KB or more are written with non-temporal stores (x86-64):
 * the finite-difference problems take that path, the mpc.pytorch reference case (2 KB) the plain
 * one. */
#define DOPT_MPC_STREAM_BYTES 4096
#define DOPT_IMPLEMENTATION
#include "dopt.h"
#include "dopt_mpc.h"
#include "dopt_test.h"

/* Counting allocator for the zero-allocation checks. */
typedef struct mpc_count { long allocs, frees; } mpc_count;
static void *mpc_count_alloc(void *u, size_t n) { ((mpc_count *)u)->allocs++; return malloc(n); }
static void mpc_count_free(void *u, void *p, size_t n) { (void)n; if (p) ((mpc_count *)u)->frees++; free(p); }

/* Dense solve A x = b (n x n column-major, overwritten) by Gaussian elimination with partial
 * pivoting in long double; independent of the library.  Returns 0 on a zero pivot. */
static int mpc_dense_solve(int n, double *A, double *b)
{
    int i, j, k;
    long double *M = (long double *)malloc(sizeof(long double) * (size_t)n * (size_t)(n + 1));
    for (j = 0; j < n; ++j)
        for (i = 0; i < n; ++i) M[i + (size_t)j * n] = A[i + (size_t)j * n];
    for (i = 0; i < n; ++i) M[i + (size_t)n * n] = b[i];
    for (k = 0; k < n; ++k) {
        int p = k;
        for (i = k + 1; i < n; ++i)
            if (fabsl(M[i + (size_t)k * n]) > fabsl(M[p + (size_t)k * n])) p = i;
        if (M[p + (size_t)k * n] == 0) { free(M); return 0; }
        for (j = k; j <= n; ++j) {
            long double t = M[k + (size_t)j * n];
            M[k + (size_t)j * n] = M[p + (size_t)j * n];
            M[p + (size_t)j * n] = t;
        }
        for (i = k + 1; i < n; ++i) {
            long double l = M[i + (size_t)k * n] / M[k + (size_t)k * n];
            if (l == 0) continue;
            for (j = k; j <= n; ++j) M[i + (size_t)j * n] -= l * M[k + (size_t)j * n];
        }
    }
    for (i = n - 1; i >= 0; --i) {
        long double a = M[i + (size_t)n * n];
        for (j = i + 1; j < n; ++j) a -= M[i + (size_t)j * n] * b[j];
        b[i] = (double)(a / M[i + (size_t)i * n]);
    }
    free(M);
    return 1;
}

/* Reads the flattened numbers of "key" in the case-th case of the reference file. */
static int mpc_json_numbers(const char *js, int which_case, const char *key, double *out, int count)
{
    const char *p = js;
    char pat[64];
    int k, got = 0;
    for (k = 0; k <= which_case; ++k) {
        p = strstr(p, "\"seed\"");
        if (!p) return 0;
        p += 6;
    }
    sprintf(pat, "\"%s\":", key);
    p = strstr(p, pat);
    if (!p) return 0;
    p += strlen(pat);
    while (got < count && *p) {
        if (*p == '[' || *p == ']' || *p == ',' || *p == ' ' || *p == '\n' || *p == '\r' || *p == '\t') {
            ++p;
            continue;
        }
        {
            char *end;
            double v = strtod(p, &end);
            if (end == p) return 0;
            out[got++] = v;
            p = end;
        }
    }
    return got == count;
}

#define TEST_MPC_PASS
#define DOPT__DRIVE "tests/test_mpc.c"
#include "dopt.h"
#undef DOPT__DRIVE
#undef TEST_MPC_PASS

static void suite(void)
{
#define RUN2(name) DOPT_TEST_RUN(name##_d); DOPT_TEST_RUN(name##_f)
    RUN2(test_lqr_kkt);
    RUN2(test_lqr_box_kkt);
    RUN2(test_lqr_reference);
    DOPT_TEST_RUN(test_lqr_grad_fd_d);
    DOPT_TEST_RUN(test_lqr_box_grad_fd_d);
    RUN2(test_lqr_errors);
    RUN2(test_lqr_policy);
    RUN2(test_lqr_zero_alloc);
    DOPT_TEST_RUN(test_systems_jacobians_d);
    RUN2(test_ilqr_pendulum_swingup);
    DOPT_TEST_RUN(test_ilqr_fd_derivatives_d);
    DOPT_TEST_RUN(test_ilqr_backward_fd_d);
    DOPT_TEST_RUN(test_ilqr_slew_dense_d);
    DOPT_TEST_RUN(test_ilqr_slew_fd_d);
    DOPT_TEST_RUN(test_ilqr_slew_errors_d);
    RUN2(test_ilqr_errors_policy);
    RUN2(test_ilqr_zero_alloc);
#undef RUN2
}
DOPT_TEST_MAIN(suite)

#elif defined(TEST_MPC_PASS) && defined(DOPT_REAL)
/* ================================ generic tests (per precision) ============================= */
#define R DOPT_REAL
#define SEQ DOPT_FN(dopt_mpc_seq)
#define CSEQ DOPT_FN(dopt_mpc_cseq)

/* A random batch of LQR problems, contiguous per element (bs = T * block, ts = block), with
 * optional sharing: F time-invariant (ts 0) and C shared by the batch (bs 0). */
typedef struct DOPT_FN(mpc_prob) {
    int n, m, T, B;
    R *C, *c, *F, *f, *x0, *lo, *hi;
    DOPT_FN(dopt_mpc_lqr_data) d;
} DOPT_FN(mpc_prob);

static void DOPT_FN(mpc_prob_make)(DOPT_FN(mpc_prob) *P, int n, int m, int T, int B, unsigned seed,
                                   int share, R bound)
{
    int N = n + m, b, i, j, p;
    dopt_rng rng;
    int nC = share ? 1 : B * T, nF = share ? B : B * (T - 1);
    memset(P, 0, sizeof *P);
    dopt_rng_seed(&rng, seed, 7);
    P->n = n; P->m = m; P->T = T; P->B = B;
    P->C = (R *)calloc((size_t)nC * N * N, sizeof(R));
    P->c = (R *)calloc((size_t)B * T * N, sizeof(R));
    P->F = (R *)calloc((size_t)nF * n * N + 1, sizeof(R));
    P->f = (R *)calloc((size_t)B * T * n, sizeof(R));
    P->x0 = (R *)calloc((size_t)B * n, sizeof(R));
    for (b = 0; b < nC; ++b) {
        R *C = P->C + (size_t)b * N * N, A[400];
        for (i = 0; i < N * N; ++i) A[i] = (R)dopt_rng_normal_d(&rng);
        for (j = 0; j < N; ++j)
            for (i = 0; i < N; ++i) {
                R a = i == j ? (R)0.5 : 0;
                for (p = 0; p < N; ++p) a += A[p + i * N] * A[p + j * N];
                C[i + j * N] = a;
            }
    }
    for (i = 0; i < nF * n * N; ++i) P->F[i] = (R)(0.4 * dopt_rng_normal_d(&rng));
    for (i = 0; i < B * T * N; ++i) P->c[i] = (R)dopt_rng_normal_d(&rng);
    for (i = 0; i < B * T * n; ++i) P->f[i] = (R)(0.5 * dopt_rng_normal_d(&rng));
    for (i = 0; i < B * n; ++i) P->x0[i] = (R)dopt_rng_normal_d(&rng);
    P->d.C.p = P->C; P->d.C.ts = share ? 0 : N * N; P->d.C.bs = share ? 0 : (ptrdiff_t)T * N * N;
    P->d.c.p = P->c; P->d.c.ts = N; P->d.c.bs = (ptrdiff_t)T * N;
    P->d.F.p = P->F; P->d.F.ts = share ? 0 : n * N; P->d.F.bs = share ? n * N : (ptrdiff_t)(T - 1) * n * N;
    P->d.f.p = P->f; P->d.f.ts = n; P->d.f.bs = (ptrdiff_t)T * n;
    P->d.x_init.p = P->x0; P->d.x_init.bs = n;
    if (bound > 0) {
        P->lo = (R *)calloc((size_t)B * T * m, sizeof(R));
        P->hi = (R *)calloc((size_t)B * T * m, sizeof(R));
        for (i = 0; i < B * T * m; ++i) {
            P->lo[i] = -bound * (R)(0.5 + dopt_rng_uniform_d(&rng));
            P->hi[i] = bound * (R)(0.5 + dopt_rng_uniform_d(&rng));
        }
        P->lo[1] = -(R)HUGE_VAL; /* infinite bounds are allowed */
        P->hi[2] = (R)HUGE_VAL;
        P->d.u_lower.p = P->lo; P->d.u_lower.ts = m; P->d.u_lower.bs = (ptrdiff_t)T * m;
        P->d.u_upper.p = P->hi; P->d.u_upper.ts = m; P->d.u_upper.bs = (ptrdiff_t)T * m;
    }
}
static void DOPT_FN(mpc_prob_free)(DOPT_FN(mpc_prob) *P)
{
    free(P->C); free(P->c); free(P->F); free(P->f); free(P->x0); free(P->lo); free(P->hi);
}

#define AT(q, b, t) ((q).p + (ptrdiff_t)(b) * (q).bs + (ptrdiff_t)(t) * (q).ts)

/* Dense KKT matrix of element b (double), z = [tau_0..tau_{T-1}, lam_0..lam_{T-1}]; rows of
 * controls listed in `held` (T*m flags, may be NULL) become u = bound rows. */
static void DOPT_FN(mpc_kkt_solve)(const DOPT_FN(mpc_prob) *P, int b, const unsigned char *held,
                                   const R *ubound, double *z)
{
    const DOPT_FN(dopt_mpc_lqr_data) *d = &P->d;
    int n = P->n, m = P->m, T = P->T, N = n + m, nz = T * N + T * n, t, i, j;
    double *A = (double *)calloc((size_t)nz * nz, sizeof(double));
#define KA(r, c) A[(r) + (size_t)(c) * nz]
    for (t = 0; t < T; ++t) {
        const R *C = AT(d->C, b, t), *c = AT(d->c, b, t);
        int r0 = t * N, l0 = T * N + t * n;
        for (j = 0; j < N; ++j)
            for (i = 0; i < N; ++i) KA(r0 + i, r0 + j) = C[i + j * N];
        for (i = 0; i < N; ++i) z[r0 + i] = -c[i];
        for (i = 0; i < n; ++i) { KA(r0 + i, l0 + i) = -1; KA(l0 + i, r0 + i) = -1; }
        if (t == 0) {
            for (i = 0; i < n; ++i) z[l0 + i] = -AT(d->x_init, b, 0)[i];
        }
        if (t < T - 1) {
            const R *F = AT(d->F, b, t), *f = AT(d->f, b, t);
            int ln = T * N + (t + 1) * n;
            for (j = 0; j < N; ++j)
                for (i = 0; i < n; ++i) { KA(ln + i, r0 + j) = F[i + j * n]; KA(r0 + j, ln + i) = F[i + j * n]; }
            for (i = 0; i < n; ++i) z[ln + i] = -f[i];
        }
        if (held)
            for (i = 0; i < m; ++i)
                if (held[t * m + i]) {
                    int r = r0 + n + i;
                    for (j = 0; j < nz; ++j) KA(r, j) = 0;
                    KA(r, r) = 1;
                    z[r] = ubound[t * m + i];
                }
    }
#undef KA
    DOPT_CHECK(mpc_dense_solve(nz, A, z), "dense KKT singular");
    free(A);
}

/* B = 3 runs one element at a time; B = 19 also runs lockstep lane groups (8 doubles or 16
 * floats wide) and then the remainder one at a time; the last two rounds (n = 9, m = 6) fill
 * the lane kernels' register blocks and their edges. */
static void DOPT_FN(test_lqr_kkt)(void)
{
    int share, T = 6, n = 3, m = 2, B = 3, round;
    for (round = 0; round < 6; ++round) {
        DOPT_FN(mpc_prob) P;
        DOPT_FN(dopt_mpc_lqr) *s;
        DOPT_FN(dopt_mpc_lqr_report) rep[19];
        int N = n + m, b, i, t;
        R *tau, *lam;
        SEQ st = {0}, sl = {0};
        double z[200], err = 0;
        share = round % 2;
        B = round < 2 ? 3 : 19;
        if (round >= 4) n = 9, m = 6, N = n + m;
        tau = (R *)calloc((size_t)B * T * N, sizeof(R));
        lam = (R *)calloc((size_t)B * T * n, sizeof(R));
        DOPT_FN(mpc_prob_make)(&P, n, m, T, B, 11u + (unsigned)share, share, 0);
        st.p = tau; st.ts = N; st.bs = T * N;
        sl.p = lam; sl.ts = n; sl.bs = T * n;
        DOPT_CHECK(DOPT_FN(dopt_mpc_lqr_create)(NULL, n, m, T, B, &s, NULL) == DOPT_OK, "create");
        DOPT_CHECK(DOPT_FN(dopt_mpc_lqr_solve)(s, &P.d, NULL, st, sl, rep, NULL) == DOPT_OK, "solve");
        for (b = 0; b < B; ++b) {
            double cost = 0;
            DOPT_FN(mpc_kkt_solve)(&P, b, NULL, NULL, z);
            for (t = 0; t < T; ++t) {
                for (i = 0; i < N; ++i) {
                    double e = fabs(tau[b * T * N + t * N + i] - z[t * N + i]) / (1 + fabs(z[t * N + i]));
                    if (e > err) err = e;
                }
                for (i = 0; i < n; ++i) {
                    double e = fabs(lam[b * T * n + t * n + i] - z[T * N + t * n + i]) / (1 + fabs(z[T * N + t * n + i]));
                    if (e > err) err = e;
                }
                {
                    const R *C = AT(P.d.C, b, t), *c = AT(P.d.c, b, t);
                    int j;
                    for (i = 0; i < N; ++i) {
                        cost += c[i] * z[t * N + i];
                        for (j = 0; j < N; ++j) cost += 0.5 * z[t * N + i] * C[i + j * N] * z[t * N + j];
                    }
                }
            }
            DOPT_CHECK_CLOSE(rep[b].cost, cost, DOPT_TEST_TOL(1e-12, 1e-4), "cost");
            DOPT_CHECK(rep[b].status == DOPT_OK && rep[b].converged && rep[b].iterations == 1, "report");
        }
        DOPT_CHECK(err <= DOPT_TEST_TOL(1e-12, 1e-4), "tau/lam vs dense KKT: %g (share %d, B %d)", err, share, B);
        if (B == 19 && !share) { /* per-element statuses inside a lane group */
            R *tau2 = (R *)calloc((size_t)B * T * N, sizeof(R));
            int same = 1;
            st.p = tau2;
            P.C[(2 * T + 3) * N * N + (n + 1) * (N + 1)] = -100; /* element 2, step 3: Q_uu indefinite */
            P.c[(5 * T + 1) * N] = (R)NAN;
            DOPT_CHECK(DOPT_FN(dopt_mpc_lqr_solve)(s, &P.d, NULL, st, sl, rep, NULL) != DOPT_OK, "solve fails");
            DOPT_CHECK(rep[2].status == DOPT_ERR_NOT_POSITIVE_DEFINITE && rep[2].fail_t == 3, "element 2: %d at %d",
                       (int)rep[2].status, rep[2].fail_t);
            DOPT_CHECK(rep[5].status == DOPT_ERR_NON_FINITE && rep[5].fail_t == 1, "element 5: %d at %d",
                       (int)rep[5].status, rep[5].fail_t);
            for (b = 0; b < B; ++b)
                if (b != 2 && b != 5) {
                    same &= rep[b].status == DOPT_OK;
                    for (i = 0; i < T * N; ++i) same &= tau2[b * T * N + i] == tau[b * T * N + i];
                }
            DOPT_CHECK(same, "the other elements are unaffected");
            free(tau2);
        }
        DOPT_FN(dopt_mpc_lqr_destroy)(s);
        DOPT_FN(mpc_prob_free)(&P);
        free(tau); free(lam);
    }
}

/* Box limits: the solution satisfies the KKT conditions of the bounded QP and equals the dense
 * solve with its active set held. */
static void DOPT_FN(test_lqr_box_kkt)(void)
{
    int T = 7, n = 3, m = 2, B = 4, N = 5, b, t, i, j, nclamped = 0;
    DOPT_FN(mpc_prob) P;
    DOPT_FN(dopt_mpc_lqr) *s;
    DOPT_FN(dopt_mpc_lqr_report) rep[4];
    R *tau = (R *)calloc((size_t)B * T * N, sizeof(R)), *lam = (R *)calloc((size_t)B * T * n, sizeof(R));
    SEQ st = {0}, sl = {0};
    double z[200], err = 0, kkt = 0, tol = DOPT_TEST_TOL(1e-10, 2e-3);
    DOPT_FN(mpc_prob_make)(&P, n, m, T, B, 5u, 0, (R)0.4);
    st.p = tau; st.ts = N; st.bs = T * N;
    sl.p = lam; sl.ts = n; sl.bs = T * n;
    DOPT_CHECK(DOPT_FN(dopt_mpc_lqr_create)(NULL, n, m, T, B, &s, NULL) == DOPT_OK, "create");
    DOPT_CHECK(DOPT_FN(dopt_mpc_lqr_solve)(s, &P.d, NULL, st, sl, rep, NULL) == DOPT_OK, "solve");
    for (b = 0; b < B; ++b) {
        unsigned char held[64];
        R ub[64];
        for (t = 0; t < T; ++t) {
            const R *C = AT(P.d.C, b, t), *c = AT(P.d.c, b, t), *x = tau + b * T * N + t * N;
            const R *lo = AT(P.d.u_lower, b, t), *hi = AT(P.d.u_upper, b, t);
            double r[8];
            for (i = 0; i < N; ++i) {
                r[i] = c[i];
                for (j = 0; j < N; ++j) r[i] += C[i + j * N] * x[j];
                if (i < n) r[i] -= lam[b * T * n + t * n + i];
            }
            if (t < T - 1) {
                const R *F = AT(P.d.F, b, t), *ln = lam + b * T * n + (t + 1) * n;
                for (j = 0; j < N; ++j)
                    for (i = 0; i < n; ++i) r[j] += F[i + j * n] * ln[i];
                for (i = 0; i < n; ++i) { /* dynamics */
                    double xn = AT(P.d.f, b, t)[i];
                    for (j = 0; j < N; ++j) xn += F[i + j * n] * x[j];
                    kkt = fmax(kkt, fabs(xn - x[N + i]) / (1 + fabs(xn)));
                }
            }
            for (i = 0; i < n; ++i) kkt = fmax(kkt, fabs(r[i]));
            for (i = 0; i < m; ++i) {
                double u = x[n + i], g = r[n + i];
                int atlo = u <= lo[i] + 1e-12, athi = u >= hi[i] - 1e-12;
                DOPT_CHECK(u >= lo[i] && u <= hi[i], "control within bounds");
                held[t * m + i] = (unsigned char)(atlo || athi);
                ub[t * m + i] = x[n + i];
                nclamped += atlo || athi;
                if (atlo) kkt = fmax(kkt, -g); /* pushes outward: multiplier >= 0 */
                else if (athi) kkt = fmax(kkt, g);
                else kkt = fmax(kkt, fabs(g));
            }
        }
        DOPT_CHECK(rep[b].converged && rep[b].status == DOPT_OK, "converged");
        DOPT_FN(mpc_kkt_solve)(&P, b, held, ub, z);
        for (t = 0; t < T; ++t)
            for (i = 0; i < N; ++i)
                err = fmax(err, fabs(tau[b * T * N + t * N + i] - z[t * N + i]) / (1 + fabs(z[t * N + i])));
    }
    DOPT_CHECK(nclamped > 4, "bounds active: %d", nclamped);
    DOPT_CHECK(kkt <= tol, "KKT residual of the bounded QP %g", kkt);
    DOPT_CHECK(err <= tol, "vs dense solve with the active set held %g", err);
    DOPT_FN(dopt_mpc_lqr_destroy)(s);
    DOPT_FN(mpc_prob_free)(&P);
    free(tau); free(lam);
}

/* mpc.pytorch's own results: tensors (T,B,...) map onto sequences with ts = B*block, bs = block;
 * its F is row-major n x (n+m), transposed here into dopt's column-major blocks. */
static void DOPT_FN(test_lqr_reference)(void)
{
    char path[512];
    char *js;
    int cs;
    sprintf(path, "%s/../reference/lqr_reference.json", dopt_test_data_dir());
    js = dopt_test_read_text(path);
    if (!js) DOPT_SKIP("../shared/reference/lqr_reference.json not found");
    for (cs = 0; cs < 2; ++cs) {
        enum { n = 3, m = 2, T = 5, B = 2, N = 5 };
        double C[T * B * N * N], c[T * B * N], F[(T - 1) * B * n * N], f[(T - 1) * B * n], x0[B * n];
        double x[T * B * n], u[T * B * m], cost[B], gC[T * B * N * N], gc[T * B * N];
        double gF[(T - 1) * B * n * N], gf[(T - 1) * B * n], gx0[B * n];
        R Cr[T * B * N * N], cr[T * B * N], Fr[(T - 1) * B * n * N], fr[(T - 1) * B * n], x0r[B * n];
        R lo[2] = {(R)-0.3, (R)-0.3}, hi[2] = {(R)0.3, (R)0.3};
        R tau[T * B * N], dtau[T * B * N], oC[T * B * N * N], oc[T * B * N], oF[(T - 1) * B * n * N];
        R of[(T - 1) * B * n], ox0[B * n];
        DOPT_FN(dopt_mpc_lqr_data) d;
        DOPT_FN(dopt_mpc_lqr_grad) g;
        DOPT_FN(dopt_mpc_lqr_report) rep[B];
        DOPT_FN(dopt_mpc_lqr) *s;
        SEQ st, none = {0};
        CSEQ dt;
        double e = 0, eg = 0, tol = DOPT_TEST_TOL(1e-8, 2e-3);
        int i, t, b, j, ok = 1;
        ok &= mpc_json_numbers(js, cs, "C", C, T * B * N * N);
        ok &= mpc_json_numbers(js, cs, "c", c, T * B * N);
        ok &= mpc_json_numbers(js, cs, "F", F, (T - 1) * B * n * N);
        ok &= mpc_json_numbers(js, cs, "f", f, (T - 1) * B * n);
        ok &= mpc_json_numbers(js, cs, "x_init", x0, B * n);
        ok &= mpc_json_numbers(js, cs, "x", x, T * B * n);
        ok &= mpc_json_numbers(js, cs, "u", u, T * B * m);
        ok &= mpc_json_numbers(js, cs, "cost", cost, B);
        ok &= mpc_json_numbers(js, cs, "grad_C", gC, T * B * N * N);
        ok &= mpc_json_numbers(js, cs, "grad_c", gc, T * B * N);
        ok &= mpc_json_numbers(js, cs, "grad_F", gF, (T - 1) * B * n * N);
        ok &= mpc_json_numbers(js, cs, "grad_f", gf, (T - 1) * B * n);
        ok &= mpc_json_numbers(js, cs, "grad_x_init", gx0, B * n);
        DOPT_CHECK(ok, "reference file readable (case %d)", cs);
        if (!ok) break;
        for (i = 0; i < T * B * N * N; ++i) Cr[i] = (R)C[i];
        for (i = 0; i < T * B * N; ++i) cr[i] = (R)c[i];
        for (i = 0; i < (T - 1) * B; ++i) /* row-major n x N -> column-major */
            for (t = 0; t < n; ++t)
                for (j = 0; j < N; ++j) Fr[i * n * N + t + j * n] = (R)F[i * n * N + t * N + j];
        for (i = 0; i < (T - 1) * B * n; ++i) fr[i] = (R)f[i];
        for (i = 0; i < B * n; ++i) x0r[i] = (R)x0[i];
        memset(&d, 0, sizeof d);
        d.C.p = Cr; d.C.ts = B * N * N; d.C.bs = N * N;
        d.c.p = cr; d.c.ts = B * N; d.c.bs = N;
        d.F.p = Fr; d.F.ts = B * n * N; d.F.bs = n * N;
        d.f.p = fr; d.f.ts = B * n; d.f.bs = n;
        d.x_init.p = x0r; d.x_init.bs = n;
        if (cs == 1) { /* one bound shared by everything: both strides 0 */
            d.u_lower.p = lo; d.u_upper.p = hi;
        }
        st.p = tau; st.ts = B * N; st.bs = N;
        DOPT_CHECK(DOPT_FN(dopt_mpc_lqr_create)(NULL, n, m, T, B, &s, NULL) == DOPT_OK, "create");
        DOPT_CHECK(DOPT_FN(dopt_mpc_lqr_solve)(s, &d, NULL, st, none, rep, NULL) == DOPT_OK, "solve case %d", cs);
        for (t = 0; t < T; ++t)
            for (b = 0; b < B; ++b) {
                for (i = 0; i < n; ++i) e = fmax(e, fabs(tau[(t * B + b) * N + i] - x[(t * B + b) * n + i]));
                for (i = 0; i < m; ++i) e = fmax(e, fabs(tau[(t * B + b) * N + n + i] - u[(t * B + b) * m + i]));
            }
        for (b = 0; b < B; ++b) DOPT_CHECK_CLOSE(rep[b].cost, cost[b], tol, "cost");
        DOPT_CHECK(e <= tol, "solution vs mpc.pytorch (case %d): %g", cs, e);
        /* loss = sum u^2 + sum x^2: dtau = 2 tau */
        for (i = 0; i < T * B * N; ++i) dtau[i] = 2 * tau[i];
        dt.p = dtau; dt.ts = B * N; dt.bs = N;
        g.C.p = oC; g.C.ts = d.C.ts; g.C.bs = d.C.bs;
        g.c.p = oc; g.c.ts = d.c.ts; g.c.bs = d.c.bs;
        g.F.p = oF; g.F.ts = d.F.ts; g.F.bs = d.F.bs;
        g.f.p = of; g.f.ts = d.f.ts; g.f.bs = d.f.bs;
        g.x_init.p = ox0; g.x_init.ts = 0; g.x_init.bs = n;
        DOPT_CHECK(DOPT_FN(dopt_mpc_lqr_backward)(s, dt, NULL, &g, NULL, NULL) == DOPT_OK, "backward");
        for (i = 0; i < T * B * N * N; ++i) eg = fmax(eg, fabs(oC[i] - gC[i]) / (1 + fabs(gC[i])));
        for (i = 0; i < T * B * N; ++i) eg = fmax(eg, fabs(oc[i] - gc[i]) / (1 + fabs(gc[i])));
        for (i = 0; i < (T - 1) * B; ++i)
            for (t = 0; t < n; ++t)
                for (j = 0; j < N; ++j) {
                    double ref = gF[i * n * N + t * N + j];
                    eg = fmax(eg, fabs(oF[i * n * N + t + j * n] - ref) / (1 + fabs(ref)));
                }
        for (i = 0; i < (T - 1) * B * n; ++i) eg = fmax(eg, fabs(of[i] - gf[i]) / (1 + fabs(gf[i])));
        for (i = 0; i < B * n; ++i) eg = fmax(eg, fabs(ox0[i] - gx0[i]) / (1 + fabs(gx0[i])));
        DOPT_CHECK(eg <= tol, "gradients vs mpc.pytorch (case %d): %g", cs, eg);
        DOPT_FN(dopt_mpc_lqr_destroy)(s);
    }
    free(js);
}

#if !DOPT_IS_FLOAT
/* Loss L = sum_t w_t . tau_t + 1/2 |tau|^2 of element solutions (all elements). */
static double DOPT_FN(mpc_loss)(DOPT_FN(dopt_mpc_lqr) *s, const DOPT_FN(mpc_prob) *P, const R *w, R *tau,
                                int *ok)
{
    int N = P->n + P->m, i;
    SEQ st = {0}, none = {0};
    double L = 0;
    st.p = tau; st.ts = N; st.bs = P->T * N;
    *ok &= DOPT_FN(dopt_mpc_lqr_solve)(s, &P->d, NULL, st, none, NULL, NULL) == DOPT_OK;
    for (i = 0; i < P->B * P->T * N; ++i) L += w[i] * tau[i] + 0.5 * tau[i] * tau[i];
    return L;
}

/* Central differences of every data entry (C perturbed symmetrically) against the backward. */
static void DOPT_FN(mpc_check_fd)(int share, R bound, int B, int n, int m)
{
    int T = 5, N = n + m, i, ok = 1, a, nfail = 0;
    DOPT_FN(mpc_prob) P;
    DOPT_FN(dopt_mpc_lqr) *s;
    DOPT_FN(dopt_mpc_lqr_grad) g;
    R *tau = (R *)calloc((size_t)B * T * N, sizeof(R)), *w = (R *)calloc((size_t)B * T * N, sizeof(R));
    R *dtau = (R *)calloc((size_t)B * T * N, sizeof(R));
    R *gC, *gc, *gF, *gf, *gx;
    size_t nC, nF;
    CSEQ dt;
    double h = 1e-6, worst = 0;
    dopt_rng rng;
    DOPT_FN(mpc_prob_make)(&P, n, m, T, B, 21u + (unsigned)share, share, bound);
    nC = (size_t)(share ? 1 : B * T) * N * N;
    nF = (size_t)(share ? B : B * (T - 1)) * n * N;
    gC = (R *)calloc(nC, sizeof(R)); gc = (R *)calloc((size_t)B * T * N, sizeof(R));
    gF = (R *)calloc(nF, sizeof(R)); gf = (R *)calloc((size_t)B * T * n, sizeof(R));
    gx = (R *)calloc((size_t)B * n, sizeof(R));
    dopt_rng_seed(&rng, 3, 3);
    for (i = 0; i < B * T * N; ++i) w[i] = (R)dopt_rng_normal_d(&rng);
    DOPT_CHECK(DOPT_FN(dopt_mpc_lqr_create)(NULL, n, m, T, B, &s, NULL) == DOPT_OK, "create");
    DOPT_FN(mpc_loss)(s, &P, w, tau, &ok);
    for (i = 0; i < B * T * N; ++i) dtau[i] = w[i] + tau[i];
    dt.p = dtau; dt.ts = N; dt.bs = T * N;
    g.C.p = gC; g.C.ts = P.d.C.ts; g.C.bs = P.d.C.bs;
    g.c.p = gc; g.c.ts = P.d.c.ts; g.c.bs = P.d.c.bs;
    g.F.p = gF; g.F.ts = P.d.F.ts; g.F.bs = P.d.F.bs;
    g.f.p = gf; g.f.ts = P.d.f.ts; g.f.bs = P.d.f.bs;
    g.x_init.p = gx; g.x_init.ts = 0; g.x_init.bs = n;
    DOPT_CHECK(DOPT_FN(dopt_mpc_lqr_backward)(s, dt, NULL, &g, NULL, NULL) == DOPT_OK, "backward");
    for (a = 0; a < 5; ++a) {
        R *arr = a == 0 ? P.C : a == 1 ? P.c : a == 2 ? P.F : a == 3 ? P.f : P.x0;
        R *grd = a == 0 ? gC : a == 1 ? gc : a == 2 ? gF : a == 3 ? gf : gx;
        size_t len = a == 0 ? nC : a == 1 ? (size_t)B * T * N : a == 2 ? nF : a == 3 ? (size_t)B * (T - 1) * n : (size_t)B * n;
        size_t k;
        if (a == 3) { /* f: only the T-1 used blocks of each element */
            len = (size_t)B * T * n;
        }
        for (k = 0; k < len; ++k) {
            size_t mirror = k;
            R save = arr[k], save2;
            double lp, lm, fd, an;
            if (a == 3 && (k % ((size_t)T * n)) >= (size_t)(T - 1) * n) continue;
            if (a == 0) { /* symmetric perturbation of C_ij and C_ji */
                size_t blk = k / (size_t)(N * N), ij = k % (size_t)(N * N), r = ij % N, c = ij / N;
                if (r < c) continue;
                mirror = blk * N * N + r * N + c;
            }
            save2 = arr[mirror];
            arr[k] = save + (R)h; if (mirror != k) arr[mirror] = save2 + (R)h;
            lp = DOPT_FN(mpc_loss)(s, &P, w, tau, &ok);
            arr[k] = save - (R)h; if (mirror != k) arr[mirror] = save2 - (R)h;
            lm = DOPT_FN(mpc_loss)(s, &P, w, tau, &ok);
            arr[k] = save; arr[mirror] = save2;
            fd = (lp - lm) / (2 * h);
            an = grd[k] + (mirror != k ? grd[mirror] : 0);
            if (fabs(fd - an) > 1e-6 * fmax(1, fabs(fd))) {
                if (nfail++ < 3) printf("    array %d entry %d: fd %.12g analytic %.12g\n", a, (int)k, fd, an);
            }
            worst = fmax(worst, fabs(fd - an) / fmax(1, fabs(fd)));
        }
    }
    DOPT_CHECK(ok, "solves ok");
    DOPT_CHECK(worst <= 1e-6, "backward vs central differences (share %d, bound %g): %g", share, (double)bound, worst);
    DOPT_FN(dopt_mpc_lqr_destroy)(s);
    DOPT_FN(mpc_prob_free)(&P);
    free(tau); free(w); free(dtau); free(gC); free(gc); free(gF); free(gf); free(gx);
}

static void DOPT_FN(test_lqr_grad_fd)(void)
{
    DOPT_FN(mpc_check_fd)(0, 0, 2, 3, 2);
    DOPT_FN(mpc_check_fd)(1, 0, 2, 3, 2); /* shared C and time-invariant F: summed gradients */
    DOPT_FN(mpc_check_fd)(0, 0, 9, 3, 2); /* a lockstep lane group of 8 and one more element */
    DOPT_FN(mpc_check_fd)(1, 0, 9, 3, 2);
    DOPT_FN(mpc_check_fd)(0, 0, 9, 6, 5); /* lane kernels' whole register blocks and edges */
}
static void DOPT_FN(test_lqr_box_grad_fd)(void) { DOPT_FN(mpc_check_fd)(0, (R)0.4, 2, 3, 2); }
#endif

static void DOPT_FN(test_lqr_errors)(void)
{
    int n = 3, m = 2, T = 5, B = 2, N = 5;
    DOPT_FN(mpc_prob) P;
    DOPT_FN(dopt_mpc_lqr) *s;
    DOPT_FN(dopt_mpc_lqr_report) rep[2];
    DOPT_FN(dopt_mpc_lqr_options) o;
    R tau[2 * 5 * 5], save;
    SEQ st = {0}, none = {0};
    dopt_errinfo info;
    size_t bytes;
    char mem[256];
    int i;
    CSEQ ct;
    st.p = tau; st.ts = N; st.bs = T * N;
    ct.p = tau; ct.ts = N; ct.bs = T * N;
    DOPT_FN(mpc_prob_make)(&P, n, m, T, B, 9u, 0, 0);
    DOPT_CHECK(DOPT_FN(dopt_mpc_lqr_create)(NULL, 0, m, T, B, &s, &info) == DOPT_ERR_INVALID_ARGUMENT, "n = 0");
    DOPT_CHECK(DOPT_FN(dopt_mpc_lqr_workspace_size)(n, m, T, 0, &bytes, NULL) == DOPT_ERR_INVALID_ARGUMENT, "B = 0");
    DOPT_CHECK(DOPT_FN(dopt_mpc_lqr_workspace_size)(1 << 30, 1 << 30, T, B, &bytes, NULL) == DOPT_ERR_INVALID_ARGUMENT, "absurd");
    DOPT_CHECK(DOPT_FN(dopt_mpc_lqr_create_in)(mem, sizeof mem, n, m, T, B, &s, NULL) == DOPT_ERR_ALLOCATION, "too small");
    DOPT_CHECK(DOPT_FN(dopt_mpc_lqr_create)(NULL, n, m, T, B, &s, NULL) == DOPT_OK, "create");
    DOPT_CHECK(DOPT_FN(dopt_mpc_lqr_backward)(s, ct, NULL, NULL, NULL, NULL) == DOPT_ERR_INVALID_ARGUMENT, "backward first");
    DOPT_CHECK(DOPT_FN(dopt_mpc_lqr_solve)(s, NULL, NULL, st, none, rep, NULL) == DOPT_ERR_INVALID_ARGUMENT, "NULL data");
    memset(&o, 0, sizeof o);
    o.warm_start = 3;
    DOPT_CHECK(DOPT_FN(dopt_mpc_lqr_solve)(s, &P.d, &o, st, none, rep, NULL) == DOPT_ERR_INVALID_ARGUMENT, "bad option");
    /* indefinite Q_uu at the last step of element 1 */
    {
        R *C = P.C + (size_t)(1 * T + T - 1) * N * N;
        for (i = 0; i < m; ++i) C[(n + i) + (n + i) * N] = -1;
        DOPT_CHECK(DOPT_FN(dopt_mpc_lqr_solve)(s, &P.d, NULL, st, none, rep, &info) == DOPT_ERR_NOT_POSITIVE_DEFINITE, "NPD");
        DOPT_CHECK(info.index == 1 && rep[1].fail_t == T - 1 && rep[0].status == DOPT_OK, "NPD located: element %ld, t %d", info.index, rep[1].fail_t);
        DOPT_CHECK(strstr(info.message, "time step 4") != NULL, "message names the step: %s", info.message);
        for (i = 0; i < m; ++i) C[(n + i) + (n + i) * N] = 0; /* singular */
        DOPT_CHECK(DOPT_FN(dopt_mpc_lqr_solve)(s, &P.d, NULL, st, none, rep, &info) == DOPT_ERR_NOT_POSITIVE_DEFINITE, "singular");
        DOPT_CHECK(DOPT_FN(dopt_all_finite)(N * T, tau), "no NaN written for the good element");
        DOPT_FN(mpc_prob_free)(&P);
        DOPT_FN(mpc_prob_make)(&P, n, m, T, B, 9u, 0, 0);
    }
    save = P.C[3];
    P.C[3] = (R)NAN;
    DOPT_CHECK(DOPT_FN(dopt_mpc_lqr_solve)(s, &P.d, NULL, st, none, rep, &info) == DOPT_ERR_NON_FINITE && info.index == 0, "NaN in C");
    P.C[3] = save;
    P.x0[4] = (R)HUGE_VAL;
    DOPT_CHECK(DOPT_FN(dopt_mpc_lqr_solve)(s, &P.d, NULL, st, none, rep, &info) == DOPT_ERR_NON_FINITE && info.index == 1, "Inf in x_init");
    P.x0[4] = 0;
    {
        R lo[2] = {1, -1}, hi[2] = {0, 1};
        P.d.u_lower.p = lo; P.d.u_upper.p = hi;
        DOPT_CHECK(DOPT_FN(dopt_mpc_lqr_solve)(s, &P.d, NULL, st, none, rep, &info) == DOPT_ERR_INVALID_ARGUMENT, "lower > upper");
        lo[0] = (R)NAN;
        DOPT_CHECK(DOPT_FN(dopt_mpc_lqr_solve)(s, &P.d, NULL, st, none, rep, &info) == DOPT_ERR_NON_FINITE, "NaN bound");
        P.d.u_lower.p = NULL; P.d.u_upper.p = NULL;
    }
    DOPT_CHECK(DOPT_FN(dopt_mpc_lqr_solve)(s, &P.d, NULL, st, none, rep, &info) == DOPT_OK, "recovers");
    DOPT_FN(dopt_mpc_lqr_destroy)(s);
    DOPT_FN(dopt_mpc_lqr_destroy)(NULL);
    DOPT_FN(mpc_prob_free)(&P);
}

/* Warm-started at its solution, element 0 converges in one box-DDP pass; element 1, started
 * from zero, does not: FLAG keeps
 * its gradient with the status, ZERO leaves it out, FAIL fails the call naming it. */
static void DOPT_FN(test_lqr_policy)(void)
{
    int n = 3, m = 2, T = 6, B = 2, N = 5, i, k;
    DOPT_FN(mpc_prob) P;
    DOPT_FN(dopt_mpc_lqr) *s;
    DOPT_FN(dopt_mpc_lqr_report) rep[2];
    DOPT_FN(dopt_mpc_lqr_options) o;
    DOPT_FN(dopt_mpc_lqr_backward_options) bo;
    DOPT_FN(dopt_mpc_lqr_grad) g;
    R tau[2 * 6 * 5], dtau[2 * 6 * 5], gc[2 * 6 * 5];
    SEQ st = {0}, none = {0};
    CSEQ dt;
    dopt_status bs[2];
    dopt_errinfo info;
    DOPT_FN(mpc_prob_make)(&P, n, m, T, B, 4u, 0, (R)0.3);
    st.p = tau; st.ts = N; st.bs = T * N;
    DOPT_CHECK(DOPT_FN(dopt_mpc_lqr_create)(NULL, n, m, T, B, &s, NULL) == DOPT_OK, "create");
    memset(&o, 0, sizeof o);
    DOPT_CHECK(DOPT_FN(dopt_mpc_lqr_solve)(s, &P.d, &o, st, none, rep, &info) == DOPT_OK, "full solve");
    for (i = T * N; i < 2 * T * N; ++i) tau[i] = 0;
    o.max_iter = 1;
    o.warm_start = 1;
    DOPT_CHECK(DOPT_FN(dopt_mpc_lqr_solve)(s, &P.d, &o, st, none, rep, &info) == DOPT_ERR_NO_CONVERGENCE, "not converged");
    DOPT_CHECK(rep[0].status == DOPT_OK && rep[1].status == DOPT_ERR_NO_CONVERGENCE && info.index == 1,
               "element statuses %d %d", (int)rep[0].status, (int)rep[1].status);
    for (i = 0; i < B * T * N; ++i) dtau[i] = 1;
    dt.p = dtau; dt.ts = N; dt.bs = T * N;
    memset(&g, 0, sizeof g);
    g.c.p = gc; g.c.ts = N; g.c.bs = T * N;
    for (k = 0; k < 3; ++k) {
        dopt_status ret;
        double nrm1 = 0, nrm0 = 0;
        memset(&bo, 0, sizeof bo);
        bo.policy = k == 0 ? DOPT_NLLS_DIFF_FLAG : k == 1 ? DOPT_NLLS_DIFF_ZERO : DOPT_NLLS_DIFF_FAIL;
        ret = DOPT_FN(dopt_mpc_lqr_backward)(s, dt, &bo, &g, bs, &info);
        for (i = 0; i < T * N; ++i) { nrm0 += fabs(gc[i]); nrm1 += fabs(gc[T * N + i]); }
        DOPT_CHECK(bs[0] == DOPT_OK && bs[1] == DOPT_ERR_NO_CONVERGENCE, "per-element status (policy %d)", k);
        DOPT_CHECK(nrm0 > 0, "element 0 always has its gradient (policy %d)", k);
        if (k == 0) DOPT_CHECK(ret == DOPT_OK && nrm1 > 0, "FLAG: gradient kept");
        if (k == 1) DOPT_CHECK(ret == DOPT_OK && nrm1 == 0, "ZERO: gradient zero");
        if (k == 2) DOPT_CHECK(ret == DOPT_ERR_NO_CONVERGENCE && info.index == 1 && nrm1 == 0, "FAIL: call fails");
    }
    bo.policy = (dopt_nlls_diff_policy)7;
    DOPT_CHECK(DOPT_FN(dopt_mpc_lqr_backward)(s, dt, &bo, &g, bs, &info) == DOPT_ERR_INVALID_ARGUMENT, "unknown policy");
    DOPT_FN(dopt_mpc_lqr_destroy)(s);
    DOPT_FN(mpc_prob_free)(&P);
}

/* A receding-horizon loop (shift x_init, warm-started box solve, backward) allocates nothing
 * after create. */
static void DOPT_FN(test_lqr_zero_alloc)(void)
{
    int n = 3, m = 2, T = 8, B = 2, N = 5, step, i;
    DOPT_FN(mpc_prob) P;
    DOPT_FN(dopt_mpc_lqr) *s;
    DOPT_FN(dopt_mpc_lqr_options) o;
    DOPT_FN(dopt_mpc_lqr_grad) g;
    R tau[2 * 8 * 5], gC[2 * 8 * 25];
    SEQ st = {0}, none = {0};
    CSEQ dt;
    mpc_count cnt = {0, 0};
    dopt_hooks h;
    memset(&h, 0, sizeof h);
    h.allocator.alloc = mpc_count_alloc;
    h.allocator.free = mpc_count_free;
    h.allocator.user = &cnt;
    DOPT_FN(mpc_prob_make)(&P, n, m, T, B, 8u, 0, (R)0.5);
    st.p = tau; st.ts = N; st.bs = T * N;
    DOPT_CHECK(DOPT_FN(dopt_mpc_lqr_create)(&h, n, m, T, B, &s, NULL) == DOPT_OK, "create");
    DOPT_CHECK(cnt.allocs == 1, "one allocation in create");
    memset(&o, 0, sizeof o);
    memset(&g, 0, sizeof g);
    g.C.p = gC; g.C.ts = N * N; g.C.bs = T * N * N;
    dt.p = tau; dt.ts = N; dt.bs = T * N;
    for (step = 0; step < 20; ++step) {
        DOPT_CHECK(DOPT_FN(dopt_mpc_lqr_solve)(s, &P.d, &o, st, none, NULL, NULL) == DOPT_OK, "solve");
        DOPT_CHECK(DOPT_FN(dopt_mpc_lqr_backward)(s, dt, NULL, &g, NULL, NULL) == DOPT_OK, "backward");
        for (i = 0; i < n; ++i) P.x0[i] = tau[N + i]; /* apply u_0, move on */
        o.warm_start = 1;
    }
    DOPT_CHECK(cnt.allocs == 1 && cnt.frees == 0, "no allocation in the loop: %ld", cnt.allocs);
    DOPT_FN(dopt_mpc_lqr_destroy)(s);
    DOPT_CHECK(cnt.frees == 1, "destroy frees");
    DOPT_FN(mpc_prob_free)(&P);
}
/* ---- nonlinear MPC ---------------------------------------------------------------------------- */

/* Pendulum swing-up cost: 1/2 (wa (theta - pi)^2 + wv omega^2 + r u^2) per step, heavier last. */
typedef struct DOPT_FN(mpc_swing) { DOPT_FN(dopt_mpc_pendulum) P; int T; R wa, wv, r; } DOPT_FN(mpc_swing);
static dopt_status DOPT_FN(mpc_swing_cost)(void *user, ptrdiff_t b, int t, const R *z, R *l, R *g, R *H)
{
    const DOPT_FN(mpc_swing) *S = (const DOPT_FN(mpc_swing) *)user;
    R k = t == S->T - 1 ? 50 : 1, e = z[0] - (R)3.14159265358979323846;
    int i;
    (void)b;
    *l = (R)0.5 * (k * S->wa * e * e + k * S->wv * z[1] * z[1] + S->r * z[2] * z[2]);
    if (g) {
        g[0] = k * S->wa * e; g[1] = k * S->wv * z[1]; g[2] = S->r * z[2];
        for (i = 0; i < 9; ++i) H[i] = 0;
        H[0] = k * S->wa; H[4] = k * S->wv; H[8] = S->r;
    }
    return DOPT_OK;
}

static void DOPT_FN(mpc_swing_problem)(DOPT_FN(mpc_swing) *S, DOPT_FN(dopt_mpc_ilqr_problem) *pr, int T, R *lo, R *hi)
{
    memset(S, 0, sizeof *S);
    S->P.g = (R)9.81; S->P.l = 1; S->P.m = 1; S->P.damping = (R)0.1; S->P.dt = (R)0.05;
    S->T = T; S->wa = 1; S->wv = (R)0.1; S->r = (R)0.01;
    memset(pr, 0, sizeof *pr);
    pr->n_state = 2; pr->n_ctrl = 1;
    pr->dynamics = DOPT_FN(dopt_mpc_pendulum_dynamics); pr->dynamics_jacobian = 1;
    pr->cost = DOPT_FN(mpc_swing_cost); pr->cost_derivatives = 1;
    pr->user = S;
    *lo = -4; *hi = 4; /* torque limit: less than m g l = 9.81, so it must pump */
    pr->u_lower.p = lo; pr->u_upper.p = hi;
}

static void DOPT_FN(test_ilqr_pendulum_swingup)(void)
{
    enum { T = 80 };
    DOPT_FN(mpc_swing) S;
    DOPT_FN(dopt_mpc_ilqr_problem) pr;
    DOPT_FN(dopt_mpc_ilqr) *s;
    DOPT_FN(dopt_mpc_lqr_report) rep;
    R lo, hi, x0[2] = {0, 0}, tau[T * 3], umax = 0;
    CSEQ xi = {0};
    SEQ st = {0};
    int t;
    DOPT_FN(mpc_swing_problem)(&S, &pr, T, &lo, &hi);
    xi.p = x0;
    st.p = tau; st.ts = 3;
    DOPT_CHECK(DOPT_FN(dopt_mpc_ilqr_create)(NULL, 2, 1, T, 1, &s, NULL) == DOPT_OK, "create");
    DOPT_CHECK(DOPT_FN(dopt_mpc_ilqr_solve)(s, &pr, xi, NULL, st, &rep, NULL) == DOPT_OK, "solve: status %d", (int)rep.status);
    for (t = 0; t < T; ++t) umax = fmax(umax, fabs(tau[t * 3 + 2]));
    DOPT_CHECK(rep.converged && rep.n_clamped > 0, "converged with active limits (%d clamped)", rep.n_clamped);
    DOPT_CHECK(umax <= 4 + 1e-12, "torque within limits: %g", (double)umax);
    DOPT_CHECK(fabs(tau[(T - 1) * 3] - 3.14159265358979) < 0.1 && fabs(tau[(T - 1) * 3 + 1]) < 0.5,
               "swung up: theta %g omega %g", (double)tau[(T - 1) * 3], (double)tau[(T - 1) * 3 + 1]);
    DOPT_FN(dopt_mpc_ilqr_destroy)(s);
}

#if !DOPT_IS_FLOAT
/* Each example system's analytic Jacobian against central differences at a random point. */
static void DOPT_FN(test_systems_jacobians)(void)
{
    DOPT_FN(dopt_mpc_pendulum) pe = {9.81, 0.7, 1.3, 0.2, 0.05};
    DOPT_FN(dopt_mpc_cartpole) cp = {9.81, 1.0, 0.3, 0.6, 0.02};
    DOPT_FN(dopt_mpc_bicycle) bi = {2.5, 0.1};
    DOPT_FN(dopt_mpc_quadrotor) qr = {9.81, 1.2, 0.02, 0.025, 0.04, 0.02};
    DOPT_FN(dopt_mpc_dynamics_fn) fns[4];
    void *users[4];
    int dims[4][2] = {{2, 1}, {4, 1}, {4, 2}, {12, 4}}, k;
    dopt_rng rng;
    fns[0] = DOPT_FN(dopt_mpc_pendulum_dynamics); users[0] = &pe;
    fns[1] = DOPT_FN(dopt_mpc_cartpole_dynamics); users[1] = &cp;
    fns[2] = DOPT_FN(dopt_mpc_bicycle_dynamics); users[2] = &bi;
    fns[3] = DOPT_FN(dopt_mpc_quadrotor_dynamics); users[3] = &qr;
    dopt_rng_seed(&rng, 5, 5);
    for (k = 0; k < 4; ++k) {
        int n = dims[k][0], N = n + dims[k][1], i, j;
        R z[16], xn[12], xp[12], xm[12], F[12 * 16], worst = 0;
        for (i = 0; i < N; ++i) z[i] = (R)(0.8 * dopt_rng_normal_d(&rng));
        fns[k](users[k], 0, 0, z, z + n, xn, F);
        for (j = 0; j < N; ++j) {
            R h = 1e-6, save = z[j];
            z[j] = save + h; fns[k](users[k], 0, 0, z, z + n, xp, NULL);
            z[j] = save - h; fns[k](users[k], 0, 0, z, z + n, xm, NULL);
            z[j] = save;
            for (i = 0; i < n; ++i) worst = fmax(worst, fabs((xp[i] - xm[i]) / (2 * h) - F[i + j * n]));
        }
        DOPT_CHECK(worst < 1e-8, "system %d Jacobian vs central differences: %g", k, worst);
    }
}

/* Central-difference derivatives (no callbacks' derivatives) reach the same solution. */
static void DOPT_FN(test_ilqr_fd_derivatives)(void)
{
    enum { T = 60 };
    DOPT_FN(mpc_swing) S;
    DOPT_FN(dopt_mpc_ilqr_problem) pr;
    DOPT_FN(dopt_mpc_ilqr) *s;
    DOPT_FN(dopt_mpc_lqr_report) rep;
    R lo, hi, x0[2] = {0.3, 0}, t1[T * 3], t2[T * 3];
    CSEQ xi = {0};
    SEQ st = {0};
    double e = 0;
    int i;
    DOPT_FN(mpc_swing_problem)(&S, &pr, T, &lo, &hi);
    xi.p = x0;
    st.ts = 3;
    DOPT_CHECK(DOPT_FN(dopt_mpc_ilqr_create)(NULL, 2, 1, T, 1, &s, NULL) == DOPT_OK, "create");
    st.p = t1;
    DOPT_CHECK(DOPT_FN(dopt_mpc_ilqr_solve)(s, &pr, xi, NULL, st, &rep, NULL) == DOPT_OK, "analytic");
    pr.dynamics_jacobian = 0; pr.cost_derivatives = 0;
    st.p = t2;
    DOPT_CHECK(DOPT_FN(dopt_mpc_ilqr_solve)(s, &pr, xi, NULL, st, &rep, NULL) == DOPT_OK, "finite differences");
    for (i = 0; i < T * 3; ++i) e = fmax(e, fabs(t1[i] - t2[i]));
    DOPT_CHECK(e < 1e-5, "same solution: %g", e);
    DOPT_FN(dopt_mpc_ilqr_destroy)(s);
}

/* Linear dynamics and a non-quadratic cost l = sum_i logcosh(tau_i - g_i) + 0.3/2 |tau|^2: the
 * final approximation's KKT system is the exact one, so the chained backward equals central
 * differences of the whole iLQR solve with respect to the goal g. */
typedef struct mpc_lc { double g[3], F[6]; } mpc_lc;
static dopt_status DOPT_FN(mpc_lc_dyn)(void *user, ptrdiff_t b, int t, const R *x, const R *u, R *xn, R *F)
{
    const mpc_lc *P = (const mpc_lc *)user;
    (void)b; (void)t;
    xn[0] = (R)(P->F[0] * x[0] + P->F[2] * x[1] + P->F[4] * u[0]);
    xn[1] = (R)(P->F[1] * x[0] + P->F[3] * x[1] + P->F[5] * u[0]);
    if (F) { int i; for (i = 0; i < 6; ++i) F[i] = (R)P->F[i]; }
    return DOPT_OK;
}
static dopt_status DOPT_FN(mpc_lc_cost)(void *user, ptrdiff_t b, int t, const R *z, R *l, R *g, R *H)
{
    const mpc_lc *P = (const mpc_lc *)user;
    int i;
    (void)b; (void)t;
    *l = 0;
    if (H) for (i = 0; i < 9; ++i) H[i] = 0;
    for (i = 0; i < 3; ++i) {
        double e = z[i] - P->g[i], th = tanh(e);
        *l += (R)(log(cosh(e)) + 0.15 * z[i] * z[i]);
        if (g) { g[i] = (R)(th + 0.3 * z[i]); H[i + i * 3] = (R)(1 - th * th + 0.3); }
    }
    return DOPT_OK;
}
/* Loss sum_b sum_i (i + 1 + 7 b) 0.1 tau_b,i of a converged solve of B elements (x0 and tau
 * packed per element: 2 and 3 T reals). */
static double DOPT_FN(mpc_lc_loss)(DOPT_FN(dopt_mpc_ilqr) *s, DOPT_FN(dopt_mpc_ilqr_problem) *pr, const R *x0,
                                   R *tau, int T, int B, int *ok)
{
    DOPT_FN(dopt_mpc_ilqr_options) o;
    CSEQ xi = {0};
    SEQ st = {0};
    double L = 0;
    int i;
    memset(&o, 0, sizeof o);
    o.tol = 1e-13;
    xi.p = x0; xi.bs = 2;
    st.p = tau; st.ts = 3; st.bs = 3 * T;
    *ok &= DOPT_FN(dopt_mpc_ilqr_solve)(s, pr, xi, &o, st, NULL, NULL) == DOPT_OK;
    for (i = 0; i < B * T * 3; ++i) L += (i % (3 * T) + 1 + 7 * (i / (3 * T))) * 0.1 * tau[i];
    return L;
}
static void DOPT_FN(test_ilqr_backward_fd)(void)
{
    enum { T = 8 };
    mpc_lc P = {{1.5, -0.7, 0.4}, {0.9, -0.2, 0.3, 0.95, 0.1, 0.5}};
    DOPT_FN(dopt_mpc_ilqr_problem) pr;
    DOPT_FN(dopt_mpc_ilqr) *s;
    DOPT_FN(dopt_mpc_lqr_grad) g;
    DOPT_FN(dopt_mpc_lqr_data) ap;
    R x0[2] = {0.5, -1}, tau[T * 3], dtau[T * 3], gC[T * 9], gc[T * 3], gF[T * 6], gf[T * 2], gx[2];
    CSEQ dt = {0};
    int ok = 1, i, t, k;
    memset(&pr, 0, sizeof pr);
    pr.n_state = 2; pr.n_ctrl = 1;
    pr.dynamics = DOPT_FN(mpc_lc_dyn); pr.dynamics_jacobian = 1;
    pr.cost = DOPT_FN(mpc_lc_cost); pr.cost_derivatives = 1;
    pr.user = &P;
    DOPT_CHECK(DOPT_FN(dopt_mpc_ilqr_create)(NULL, 2, 1, T, 1, &s, NULL) == DOPT_OK, "create");
    DOPT_FN(mpc_lc_loss)(s, &pr, x0, tau, T, 1, &ok);
    for (i = 0; i < T * 3; ++i) dtau[i] = (R)((i + 1) * 0.1);
    dt.p = dtau; dt.ts = 3;
    DOPT_CHECK(DOPT_FN(dopt_mpc_ilqr_approximation)(s, &ap, NULL) == DOPT_OK, "approximation");
    memset(&g, 0, sizeof g);
    g.C.p = gC; g.C.ts = 9; g.c.p = gc; g.c.ts = 3; g.F.p = gF; g.F.ts = 6; g.f.p = gf; g.f.ts = 2;
    g.x_init.p = gx;
    DOPT_CHECK(DOPT_FN(dopt_mpc_ilqr_backward)(s, dt, NULL, &g, NULL, NULL) == DOPT_OK, "backward");
    for (k = 0; k < 3; ++k) {
        double an = 0, lp, lm, h = 1e-6, save = P.g[k];
        R tmp[T * 3];
        for (t = 0; t < T; ++t) { /* chain: d grad_k/d g_k = -H_kk, d H_kk/d g_k = 2 th (1 - th^2) */
            double e = tau[t * 3 + k] - P.g[k], th = tanh(e), dH = 2 * th * (1 - th * th);
            an += gc[t * 3 + k] * (-(1 - th * th) - dH * tau[t * 3 + k]) + gC[t * 9 + k * 4] * dH;
        }
        P.g[k] = save + h; lp = DOPT_FN(mpc_lc_loss)(s, &pr, x0, tmp, T, 1, &ok);
        P.g[k] = save - h; lm = DOPT_FN(mpc_lc_loss)(s, &pr, x0, tmp, T, 1, &ok);
        P.g[k] = save;
        DOPT_CHECK(fabs((lp - lm) / (2 * h) - an) <= 1e-6 * fmax(1, fabs(an)), "dL/dgoal_%d: fd %.10g vs %.10g", k, (lp - lm) / (2 * h), an);
    }
    for (i = 0; i < 2; ++i) { /* x_init directly */
        double lp, lm, h = 1e-6;
        R tmp[T * 3], save = x0[i];
        x0[i] = save + h; lp = DOPT_FN(mpc_lc_loss)(s, &pr, x0, tmp, T, 1, &ok);
        x0[i] = save - h; lm = DOPT_FN(mpc_lc_loss)(s, &pr, x0, tmp, T, 1, &ok);
        x0[i] = save;
        DOPT_CHECK(fabs((lp - lm) / (2 * h) - gx[i]) <= 1e-6 * fmax(1, fabs(gx[i])), "dL/dx_init_%d: fd %.10g vs %.10g", i, (lp - lm) / (2 * h), gx[i]);
    }
    DOPT_CHECK(ok, "solves converged");
    DOPT_FN(dopt_mpc_ilqr_destroy)(s);
}

/* Slew-rate penalty on the linear system of mpc_lc.  (1) With the quadratic cost
 * 1/2 sum_i q_i (z_i - g_i)^2 the problem is a QP: the solution equals a dense KKT solve of
 * sum_t l_t + w/2 sum_t (u_t - u_{t-1})^2 with the dynamics as equality rows (1e-9).  (2) With
 * mpc_lc's non-quadratic cost, two elements with their own w, u_prev and x_init: dL/dw,
 * dL/du_prev, dL/dx_init and dL/dgoal (chained through dC, dc) equal central differences of the
 * whole solve (1e-6).  (3) A plain solver refuses the penalty; w < 0 and NaN give a status. */
static dopt_status DOPT_FN(mpc_lq_cost)(void *user, ptrdiff_t b, int t, const R *z, R *l, R *g, R *H)
{
    const mpc_lc *P = (const mpc_lc *)user;
    const double q[3] = {1, 0.5, 0.2};
    int i;
    (void)b; (void)t;
    *l = 0;
    if (H) for (i = 0; i < 9; ++i) H[i] = 0;
    for (i = 0; i < 3; ++i) {
        *l += (R)(0.5 * q[i] * (z[i] - P->g[i]) * (z[i] - P->g[i]));
        if (g) { g[i] = (R)(q[i] * (z[i] - P->g[i])); H[i + i * 3] = (R)q[i]; }
    }
    return DOPT_OK;
}

static void DOPT_FN(mpc_slew_problem)(DOPT_FN(dopt_mpc_ilqr_problem) *pr, mpc_lc *P, int quadratic)
{
    memset(pr, 0, sizeof *pr);
    pr->n_state = 2; pr->n_ctrl = 1;
    pr->dynamics = DOPT_FN(mpc_lc_dyn); pr->dynamics_jacobian = 1;
    pr->cost = quadratic ? DOPT_FN(mpc_lq_cost) : DOPT_FN(mpc_lc_cost); pr->cost_derivatives = 1;
    pr->user = P;
}

static void DOPT_FN(test_ilqr_slew_dense)(void)
{
    enum { T = 7, N = 3, nz = T * N + T * 2 };
    mpc_lc P = {{1.5, -0.7, 0.4}, {0.9, -0.2, 0.3, 0.95, 0.1, 0.5}};
    const double q[3] = {1, 0.5, 0.2}, w = 2.5, up = -0.8;
    DOPT_FN(dopt_mpc_ilqr_problem) pr;
    DOPT_FN(dopt_mpc_ilqr) *s;
    R x0[2] = {0.5, -1}, wr = (R)w, upr = (R)up, tau[T * N];
    CSEQ xi = {0};
    SEQ st = {0};
    DOPT_FN(dopt_mpc_ilqr_options) o;
    double *A = (double *)calloc((size_t)nz * nz, sizeof(double)), z[nz], e = 0;
    int t, i, j;
    DOPT_FN(mpc_slew_problem)(&pr, &P, 1);
    pr.slew_weight.p = &wr;
    pr.u_prev.p = &upr;
    memset(&o, 0, sizeof o);
    o.tol = DOPT_IS_FLOAT ? (R)1e-5 : (R)1e-12;
    xi.p = x0;
    st.p = tau; st.ts = N;
    DOPT_CHECK(DOPT_FN(dopt_mpc_ilqr_slew_create)(NULL, 2, 1, T, 1, &s, NULL) == DOPT_OK, "create");
    DOPT_CHECK(DOPT_FN(dopt_mpc_ilqr_solve)(s, &pr, xi, &o, st, NULL, NULL) == DOPT_OK, "solve");
    /* dense KKT: z = [tau_0..tau_{T-1}, lam_0..lam_{T-1}] */
#define KA(r, c) A[(r) + (size_t)(c) * nz]
    for (i = 0; i < nz; ++i) z[i] = 0;
    for (t = 0; t < T; ++t) {
        const int r0 = t * N, l0 = T * N + t * 2, u = r0 + 2;
        for (i = 0; i < N; ++i) { KA(r0 + i, r0 + i) = q[i]; z[r0 + i] = q[i] * P.g[i]; }
        KA(u, u) += w; /* w/2 (u_t - u_{t-1})^2 */
        if (t == 0) z[u] += w * up;
        else { KA(u - N, u - N) += w; KA(u, u - N) -= w; KA(u - N, u) -= w; }
        for (i = 0; i < 2; ++i) { KA(r0 + i, l0 + i) = -1; KA(l0 + i, r0 + i) = -1; }
        if (t == 0) for (i = 0; i < 2; ++i) z[l0 + i] = -x0[i];
        if (t < T - 1)
            for (j = 0; j < N; ++j)
                for (i = 0; i < 2; ++i) { KA(l0 + 2 + i, r0 + j) = P.F[i + j * 2]; KA(r0 + j, l0 + 2 + i) = P.F[i + j * 2]; }
    }
#undef KA
    DOPT_CHECK(mpc_dense_solve(nz, A, z), "dense KKT singular");
    for (i = 0; i < T * N; ++i) e = fmax(e, fabs(tau[i] - z[i]));
    DOPT_CHECK(e < (DOPT_IS_FLOAT ? 1e-4 : 1e-9), "slew solution vs dense KKT: %g", e);
    { /* the penalty changes the solution: without it u_0 moves away from u_prev */
        R t2[T * N];
        double e2 = 0;
        pr.slew_weight.p = NULL;
        st.p = t2;
        DOPT_CHECK(DOPT_FN(dopt_mpc_ilqr_solve)(s, &pr, xi, &o, st, NULL, NULL) == DOPT_OK, "solve without slew");
        for (i = 0; i < T * N; ++i) e2 = fmax(e2, fabs(t2[i] - z[i]));
        DOPT_CHECK(e2 > 1e-2, "the penalty mattered: %g", e2);
    }
    free(A);
    DOPT_FN(dopt_mpc_ilqr_destroy)(s);
}

static void DOPT_FN(test_ilqr_slew_errors)(void)
{
    enum { T = 5 };
    mpc_lc P = {{1.5, -0.7, 0.4}, {0.9, -0.2, 0.3, 0.95, 0.1, 0.5}};
    DOPT_FN(dopt_mpc_ilqr_problem) pr;
    DOPT_FN(dopt_mpc_ilqr) *s, *plain;
    R x0[2] = {0.5, -1}, w = 1, tau[T * 3];
    CSEQ xi = {0};
    SEQ st = {0};
    dopt_errinfo info;
    DOPT_FN(mpc_slew_problem)(&pr, &P, 1);
    pr.slew_weight.p = &w;
    xi.p = x0;
    st.p = tau; st.ts = 3;
    DOPT_CHECK(DOPT_FN(dopt_mpc_ilqr_create)(NULL, 2, 1, T, 1, &plain, NULL) == DOPT_OK, "create");
    DOPT_CHECK(DOPT_FN(dopt_mpc_ilqr_slew_create)(NULL, 2, 1, T, 1, &s, NULL) == DOPT_OK, "slew create");
    DOPT_CHECK(DOPT_FN(dopt_mpc_ilqr_solve)(plain, &pr, xi, NULL, st, NULL, NULL) == DOPT_ERR_INVALID_ARGUMENT,
               "a plain solver refuses the slew penalty");
    w = -1;
    DOPT_CHECK(DOPT_FN(dopt_mpc_ilqr_solve)(s, &pr, xi, NULL, st, NULL, &info) == DOPT_ERR_INVALID_ARGUMENT &&
               info.index == 0, "w < 0");
    w = (R)NAN;
    DOPT_CHECK(DOPT_FN(dopt_mpc_ilqr_solve)(s, &pr, xi, NULL, st, NULL, NULL) == DOPT_ERR_NON_FINITE, "w NaN");
    w = 1;
    DOPT_CHECK(DOPT_FN(dopt_mpc_ilqr_solve)(s, &pr, xi, NULL, st, NULL, NULL) == DOPT_OK, "w = 1");
    DOPT_FN(dopt_mpc_ilqr_destroy)(plain);
    DOPT_FN(dopt_mpc_ilqr_destroy)(s);
}

static void DOPT_FN(test_ilqr_slew_fd)(void)
{
    enum { T = 8 };
    mpc_lc P = {{1.5, -0.7, 0.4}, {0.9, -0.2, 0.3, 0.95, 0.1, 0.5}};
    DOPT_FN(dopt_mpc_ilqr_problem) pr;
    DOPT_FN(dopt_mpc_ilqr) *s;
    DOPT_FN(dopt_mpc_lqr_grad) g;
    R x0[4] = {0.5, -1, -0.3, 0.8}, w[2] = {0.7, 1.9}, up[2] = {0.4, -0.6}, tau[2 * T * 3], dtau[2 * T * 3];
    R gC[2 * T * 9], gc[2 * T * 3], gF[6], gf[2], gx[4], gw[2], gu[2];
    R *par[3] = {w, up, x0}, *an[3] = {gw, gu, gx};
    const char *name[3] = {"slew_weight", "u_prev", "x_init"};
    CSEQ dt = {0};
    int ok = 1, i, t, k, b, v;
    DOPT_FN(mpc_slew_problem)(&pr, &P, 0);
    pr.slew_weight.p = w; pr.slew_weight.bs = 1;
    pr.u_prev.p = up; pr.u_prev.bs = 1;
    DOPT_CHECK(DOPT_FN(dopt_mpc_ilqr_slew_create)(NULL, 2, 1, T, 2, &s, NULL) == DOPT_OK, "create");
    DOPT_FN(mpc_lc_loss)(s, &pr, x0, tau, T, 2, &ok);
    for (i = 0; i < 2 * T * 3; ++i) dtau[i] = (R)((i % (3 * T) + 1 + 7 * (i / (3 * T))) * 0.1);
    dt.p = dtau; dt.ts = 3; dt.bs = 3 * T;
    memset(&g, 0, sizeof g);
    g.C.p = gC; g.C.ts = 9; g.C.bs = 9 * T; g.c.p = gc; g.c.ts = 3; g.c.bs = 3 * T;
    g.F.p = gF; g.f.p = gf; /* time-invariant and shared by the batch: summed */
    g.x_init.p = gx; g.x_init.bs = 2;
    g.slew_weight.p = gw; g.slew_weight.bs = 1;
    g.u_prev.p = gu; g.u_prev.bs = 1;
    DOPT_CHECK(DOPT_FN(dopt_mpc_ilqr_backward)(s, dt, NULL, &g, NULL, NULL) == DOPT_OK, "backward");
    for (v = 0; v < 3; ++v) /* w, u_prev (one per element), x_init (two per element) */
        for (i = 0; i < (v == 2 ? 4 : 2); ++i) {
            double lp, lm, h = 1e-6, fd;
            R tmp[2 * T * 3], save = par[v][i];
            par[v][i] = save + h; lp = DOPT_FN(mpc_lc_loss)(s, &pr, x0, tmp, T, 2, &ok);
            par[v][i] = save - h; lm = DOPT_FN(mpc_lc_loss)(s, &pr, x0, tmp, T, 2, &ok);
            par[v][i] = save;
            fd = (lp - lm) / (2 * h);
            DOPT_CHECK(fabs(fd - an[v][i]) <= 1e-6 * fmax(1, fabs(fd)), "dL/d%s_%d: fd %.10g vs %.10g", name[v], i, fd, an[v][i]);
        }
    for (k = 0; k < 3; ++k) { /* the goal, through dC and dc (chain as in test_ilqr_backward_fd) */
        double a = 0, lp, lm, h = 1e-6, save = P.g[k], fd;
        R tmp[2 * T * 3];
        for (b = 0; b < 2; ++b)
            for (t = 0; t < T; ++t) {
                const R *z = tau + b * T * 3 + t * 3;
                double e = z[k] - P.g[k], th = tanh(e), dH = 2 * th * (1 - th * th);
                a += gc[b * T * 3 + t * 3 + k] * (-(1 - th * th) - dH * z[k]) + gC[b * T * 9 + t * 9 + k * 4] * dH;
            }
        P.g[k] = save + h; lp = DOPT_FN(mpc_lc_loss)(s, &pr, x0, tmp, T, 2, &ok);
        P.g[k] = save - h; lm = DOPT_FN(mpc_lc_loss)(s, &pr, x0, tmp, T, 2, &ok);
        P.g[k] = save;
        fd = (lp - lm) / (2 * h);
        DOPT_CHECK(fabs(fd - a) <= 1e-6 * fmax(1, fabs(fd)), "dL/dgoal_%d: fd %.10g vs %.10g", k, fd, a);
    }
    for (k = 0; k < 6; ++k) { /* the dynamics matrix F (shared): the chain dL/dF_ij directly */
        double lp, lm, h = 1e-6, save = P.F[k], fd;
        R tmp[2 * T * 3];
        P.F[k] = save + h; lp = DOPT_FN(mpc_lc_loss)(s, &pr, x0, tmp, T, 2, &ok);
        P.F[k] = save - h; lm = DOPT_FN(mpc_lc_loss)(s, &pr, x0, tmp, T, 2, &ok);
        P.F[k] = save;
        fd = (lp - lm) / (2 * h);
        /* f_t = f(tau) - F tau = 0 for linear dynamics, so dL/dF_ij (f held) is the total one */
        DOPT_CHECK(fabs(fd - gF[k]) <= 1e-6 * fmax(1, fabs(fd)), "dL/dF_%d: fd %.10g vs %.10g", k, fd, gF[k]);
    }
    DOPT_CHECK(ok, "solves converged");
    DOPT_FN(dopt_mpc_ilqr_destroy)(s);
}
#endif

static dopt_status DOPT_FN(mpc_nan_dyn)(void *user, ptrdiff_t b, int t, const R *x, const R *u, R *xn, R *F)
{
    dopt_status st = DOPT_FN(dopt_mpc_pendulum_dynamics)(user, b, t, x, u, xn, F);
    if (b == 1 && t == 3) xn[0] = (R)NAN;
    return st;
}

/* Wrong dimensions, NaN from a callback (element 1 only), bad bounds; the non-convergence policy
 * element by element on an iteration limit. */
static void DOPT_FN(test_ilqr_errors_policy)(void)
{
    enum { T = 30 };
    DOPT_FN(mpc_swing) S;
    DOPT_FN(dopt_mpc_ilqr_problem) pr;
    DOPT_FN(dopt_mpc_ilqr) *s;
    DOPT_FN(dopt_mpc_ilqr_options) o;
    DOPT_FN(dopt_mpc_lqr_report) rep[2];
    DOPT_FN(dopt_mpc_lqr_backward_options) bo;
    DOPT_FN(dopt_mpc_lqr_grad) g;
    R lo, hi, x0[4] = {3.0, 0, 0, 0}, tau[2 * T * 3], gc[2 * T * 3], blo[1] = {1}, bhi[1] = {-1};
    CSEQ xi = {0}, dt = {0};
    SEQ st = {0};
    dopt_status bs[2];
    dopt_errinfo info;
    int k, i;
    DOPT_FN(mpc_swing_problem)(&S, &pr, T, &lo, &hi);
    xi.p = x0; xi.bs = 2;
    st.p = tau; st.ts = 3; st.bs = T * 3;
    DOPT_CHECK(DOPT_FN(dopt_mpc_ilqr_create)(NULL, 2, 1, T, 2, &s, NULL) == DOPT_OK, "create");
    pr.n_state = 3;
    DOPT_CHECK(DOPT_FN(dopt_mpc_ilqr_solve)(s, &pr, xi, NULL, st, rep, &info) == DOPT_ERR_DIMENSION, "dimension");
    pr.n_state = 2;
    pr.dynamics = DOPT_FN(mpc_nan_dyn);
    DOPT_CHECK(DOPT_FN(dopt_mpc_ilqr_solve)(s, &pr, xi, NULL, st, rep, &info) == DOPT_ERR_NON_FINITE && info.index == 1 &&
               rep[0].status == DOPT_OK, "NaN from the dynamics of element 1");
    pr.dynamics = DOPT_FN(dopt_mpc_pendulum_dynamics);
    pr.u_lower.p = blo; pr.u_upper.p = bhi;
    DOPT_CHECK(DOPT_FN(dopt_mpc_ilqr_solve)(s, &pr, xi, NULL, st, rep, &info) == DOPT_ERR_INVALID_ARGUMENT, "lower > upper");
    pr.u_lower.p = &lo; pr.u_upper.p = &hi;
    memset(&o, 0, sizeof o);
    o.max_iter = 2; /* element 0 starts near the top and converges at once only when warm */
    DOPT_CHECK(DOPT_FN(dopt_mpc_ilqr_solve)(s, &pr, xi, NULL, st, rep, &info) == DOPT_OK, "full solve");
    for (i = T * 3; i < 2 * T * 3; ++i) tau[i] = 0;
    o.warm_start = DOPT_MPC_WARM_AS_IS;
    DOPT_CHECK(DOPT_FN(dopt_mpc_ilqr_solve)(s, &pr, xi, &o, st, rep, &info) == DOPT_ERR_NO_CONVERGENCE && info.index == 1,
               "iteration limit on element 1 only: %d %d", (int)rep[0].status, (int)rep[1].status);
    for (i = 0; i < 2 * T * 3; ++i) gc[i] = 1;
    dt.p = gc; dt.ts = 3; dt.bs = T * 3;
    memset(&g, 0, sizeof g);
    {
        R gcc[2 * T * 3];
        g.c.p = gcc; g.c.ts = 3; g.c.bs = T * 3;
        for (k = 0; k < 3; ++k) {
            dopt_status ret;
            double n0 = 0, n1 = 0;
            memset(&bo, 0, sizeof bo);
            bo.policy = k == 0 ? DOPT_NLLS_DIFF_FLAG : k == 1 ? DOPT_NLLS_DIFF_ZERO : DOPT_NLLS_DIFF_FAIL;
            ret = DOPT_FN(dopt_mpc_ilqr_backward)(s, dt, &bo, &g, bs, &info);
            for (i = 0; i < T * 3; ++i) { n0 += fabs(gcc[i]); n1 += fabs(gcc[T * 3 + i]); }
            DOPT_CHECK(bs[0] == DOPT_OK && bs[1] == DOPT_ERR_NO_CONVERGENCE && n0 > 0, "statuses (policy %d)", k);
            if (k == 0) DOPT_CHECK(ret == DOPT_OK && n1 > 0, "FLAG keeps the gradient");
            if (k == 1) DOPT_CHECK(ret == DOPT_OK && n1 == 0, "ZERO drops it");
            if (k == 2) DOPT_CHECK(ret == DOPT_ERR_NO_CONVERGENCE && info.index == 1 && n1 == 0, "FAIL fails");
        }
    }
    DOPT_FN(dopt_mpc_ilqr_destroy)(s);
}

/* Receding-horizon loop: solve (shifted warm start), backward, apply u_0, repeat: no allocation. */
static void DOPT_FN(test_ilqr_zero_alloc)(void)
{
    enum { T = 40 };
    DOPT_FN(mpc_swing) S;
    DOPT_FN(dopt_mpc_ilqr_problem) pr;
    DOPT_FN(dopt_mpc_ilqr) *s;
    DOPT_FN(dopt_mpc_ilqr_options) o;
    DOPT_FN(dopt_mpc_lqr_grad) g;
    R lo, hi, x0[2] = {0, 0}, tau[T * 3], gC[T * 9], xn[2];
    CSEQ xi = {0}, dt = {0};
    SEQ st = {0};
    mpc_count cnt = {0, 0};
    dopt_hooks h;
    int step;
    memset(&h, 0, sizeof h);
    h.allocator.alloc = mpc_count_alloc;
    h.allocator.free = mpc_count_free;
    h.allocator.user = &cnt;
    DOPT_FN(mpc_swing_problem)(&S, &pr, T, &lo, &hi);
    xi.p = x0;
    st.p = tau; st.ts = 3;
    dt.p = tau; dt.ts = 3;
    memset(&g, 0, sizeof g);
    g.C.p = gC; g.C.ts = 9;
    memset(&o, 0, sizeof o);
    o.max_iter = 20;
    DOPT_CHECK(DOPT_FN(dopt_mpc_ilqr_create)(&h, 2, 1, T, 1, &s, NULL) == DOPT_OK, "create");
    for (step = 0; step < 15; ++step) {
        dopt_status r = DOPT_FN(dopt_mpc_ilqr_solve)(s, &pr, xi, &o, st, NULL, NULL);
        DOPT_CHECK(r == DOPT_OK || r == DOPT_ERR_NO_CONVERGENCE, "solve");
        DOPT_FN(dopt_mpc_ilqr_backward)(s, dt, NULL, &g, NULL, NULL);
        DOPT_FN(dopt_mpc_pendulum_dynamics)(&S.P, 0, 0, x0, tau + 2, xn, NULL);
        x0[0] = xn[0]; x0[1] = xn[1];
        o.warm_start = DOPT_MPC_WARM_SHIFT;
    }
    DOPT_CHECK(cnt.allocs == 1 && cnt.frees == 0, "one allocation (create) only: %ld", cnt.allocs);
    DOPT_FN(dopt_mpc_ilqr_destroy)(s);
    DOPT_CHECK(cnt.frees == 1, "destroy frees");
}
#undef AT
#undef R
#undef SEQ
#undef CSEQ
#endif
