/* dopt_deq.h tests: fixed points of Picard, Anderson and Broyden checked against an independent
 * naive iteration; abs and rel tolerances; batch invariance; non-contractive maps; singular
 * Anderson systems; memory independent of max_iters and no allocation in a solve; implicit,
 * phantom and Jacobian-free gradients against central finite differences (double) and
 * ../shared/reference/deq_reference.json; Hutchinson Jacobian regularization against a dense
 * Jacobian and finite differences; JIIO against nested optimization and its shortcut gradient
 * against finite differences of the optimum.  Float and double. */
#if !defined(DOPT__DRIVE)
#define DOPT_IMPLEMENTATION
#include "dopt_deq.h"
#include "dopt_test.h"
#include "tests/fail_alloc.h"

/* ---- precision-independent helpers (plain loops, independent of the library) ---- */

/* A random tanh-layer problem: W n x n with spectral norm `snorm`, U n x p, b n, x p x B. */
typedef struct problem {
    int n, p, B;
    double *W, *U, *b, *x;
} problem;

static double spectral_norm(int n, const double *W)
{
    double v[64], w[64], nrm = 0;
    int i, j, it;
    for (i = 0; i < n; ++i) v[i] = 1.0 + 0.01 * i;
    for (it = 0; it < 300; ++it) {
        double s = 0;
        for (i = 0; i < n; ++i) { w[i] = 0; for (j = 0; j < n; ++j) w[i] += W[i + j * n] * v[j]; }
        for (j = 0; j < n; ++j) { v[j] = 0; for (i = 0; i < n; ++i) v[j] += W[i + j * n] * w[i]; }
        for (j = 0; j < n; ++j) s += v[j] * v[j];
        s = sqrt(s);
        for (j = 0; j < n; ++j) v[j] /= s;
        nrm = sqrt(s);
    }
    return nrm;
}

static problem make_problem(int n, int p, int B, double snorm, double bscale, uint64_t seed)
{
    problem P;
    dopt_rng rng;
    int i;
    double s;
    P.n = n; P.p = p; P.B = B;
    P.W = (double *)malloc(sizeof(double) * (size_t)(n * n));
    P.U = (double *)malloc(sizeof(double) * (size_t)(n * p));
    P.b = (double *)malloc(sizeof(double) * (size_t)n);
    P.x = (double *)malloc(sizeof(double) * (size_t)(p * B));
    dopt_rng_seed(&rng, seed, 0);
    for (i = 0; i < n * n; ++i) P.W[i] = dopt_rng_normal_d(&rng);
    s = snorm / spectral_norm(n, P.W);
    for (i = 0; i < n * n; ++i) P.W[i] *= s;
    for (i = 0; i < n * p; ++i) P.U[i] = dopt_rng_normal_d(&rng) / sqrt((double)p);
    for (i = 0; i < n; ++i) P.b[i] = bscale * dopt_rng_normal_d(&rng);
    for (i = 0; i < p * B; ++i) P.x[i] = dopt_rng_normal_d(&rng);
    return P;
}

static void free_problem(problem *P) { free(P->W); free(P->U); free(P->b); free(P->x); }

/* f(z) of element bb by plain loops */
static void naive_f(const problem *P, int bb, const double *z, double *f)
{
    int i, j;
    for (i = 0; i < P->n; ++i) {
        double s = P->b[i];
        for (j = 0; j < P->n; ++j) s += P->W[i + j * P->n] * z[j];
        for (j = 0; j < P->p; ++j) s += P->U[i + j * P->n] * P->x[bb * P->p + j];
        f[i] = tanh(s);
    }
}

/* the fixed point of element bb by plain Picard to rounding (contractive problems only) */
static void naive_fixed_point(const problem *P, int bb, double *z)
{
    double f[64];
    int i, it;
    for (i = 0; i < P->n; ++i) z[i] = 0;
    for (it = 0; it < 5000; ++it) {
        double d = 0;
        naive_f(P, bb, z, f);
        for (i = 0; i < P->n; ++i) { d += (f[i] - z[i]) * (f[i] - z[i]); z[i] = f[i]; }
        if (d < 1e-34) break;
    }
}


/* ---- a tiny reader for deq_reference.json: the numbers after "key": in order ---- */
/* Reads up to max numbers of the array under "key" (nested lists flattened, row-major). */
static int json_numbers(const char *text, const char *key, double *out, int max)
{
    char pat[64];
    const char *s;
    int depth = 0, count = 0;
    snprintf(pat, sizeof pat, "\"%s\"", key);
    s = strstr(text, pat);
    if (!s) return -1;
    s = strchr(s + strlen(pat), ':');
    if (!s) return -1;
    ++s;
    while (*s) {
        if (*s == '[') { depth++; s++; }
        else if (*s == ']') { depth--; s++; if (depth <= 0) break; }
        else if (*s == '-' || *s == '+' || *s == '.' || (*s >= '0' && *s <= '9')) {
            char *end;
            double v = strtod(s, &end);
            if (end == s) return -1;
            if (count < max) out[count] = v;
            count++;
            s = end;
            if (depth == 0) break;
        } else s++;
    }
    return count;
}

/* JIIO callbacks in double for the reference optimum */
typedef struct djctx { dopt_deq_tanh_d *L; const double *y; double rho; } djctx;
static dopt_status dj_map(void *c, int n, int p, ptrdiff_t B, const double *z, const double *x, double *fz)
{
    return dopt_deq_tanh_jiio_map_d(((djctx *)c)->L, n, p, B, z, x, fz);
}
static dopt_status dj_vjp(void *c, int n, int p, ptrdiff_t B, const double *z, const double *x, const double *fz,
                          const double *mu, double *jz, double *jx)
{
    return dopt_deq_tanh_jiio_vjp_d(((djctx *)c)->L, n, p, B, z, x, fz, mu, jz, jx);
}
static dopt_status dj_loss(void *c, int n, int p, ptrdiff_t B, const double *z, const double *x, double *gz, double *gx)
{
    const djctx *j = (const djctx *)c;
    ptrdiff_t i;
    for (i = 0; i < (ptrdiff_t)n * B; ++i) gz[i] = z[i] - j->y[i];
    for (i = 0; i < (ptrdiff_t)p * B; ++i) gx[i] = j->rho * x[i];
    return DOPT_OK;
}

/* L = sum_b c_b . z*_b.  The loss by a tight solve (double), for finite differences. */
static double loss_of(problem *P, const double *c)
{
    dopt_deq_options o = {0};
    dopt_deq_solver_d *s;
    dopt_deq_tanh_d *L;
    double *z = (double *)calloc((size_t)(P->n * P->B), sizeof(double)), l = 0;
    int i;
    o.abs_tol = 1e-15;
    o.rel_tol = DOPT_OFF;
    o.max_iters = 500;
    dopt_deq_solver_create_d(NULL, P->n, P->B, &o, &s, NULL);
    dopt_deq_tanh_create_d(NULL, P->n, P->p, P->B, &L, NULL);
    dopt_deq_tanh_set_d(L, P->W, P->U, P->b, P->x, P->p, NULL);
    if (dopt_deq_solve_d(s, dopt_deq_tanh_map_d, L, z, P->n, NULL, NULL, 0, NULL) != DOPT_OK) l = (double)NAN;
    for (i = 0; i < P->n * P->B; ++i) l += c[i] * z[i];
    dopt_deq_solver_destroy_d(s);
    dopt_deq_tanh_destroy_d(L);
    free(z);
    return l;
}

/* central differences of loss_of over every entry of arr (length len): grad[i] */
static void fd_grad(problem *P, const double *c, double *arr, int len, double *grad)
{
    const double h = 1e-6;
    int i;
    for (i = 0; i < len; ++i) {
        double a = arr[i], lp, lm;
        arr[i] = a + h; lp = loss_of(P, c);
        arr[i] = a - h; lm = loss_of(P, c);
        arr[i] = a;
        grad[i] = (lp - lm) / (2 * h);
    }
}

static double jacreg_value(problem *P, const double *z, uint64_t seed)
{
    dopt_deq_tanh_d *L;
    dopt_rng rng;
    double R[4], s = 0;
    int b;
    dopt_deq_tanh_create_d(NULL, P->n, P->p, P->B, &L, NULL);
    dopt_deq_tanh_set_d(L, P->W, P->U, P->b, P->x, P->p, NULL);
    dopt_rng_seed(&rng, seed, 0);
    dopt_deq_tanh_jacreg_d(L, z, P->n, &rng, 1, R, NULL, NULL, NULL, NULL, 0, NULL, 0);
    for (b = 0; b < P->B; ++b) s += R[b];
    dopt_deq_tanh_destroy_d(L);
    return s;
}
/* Nested optimization: gradient descent on x, each step a forward solve and an implicit
 * backward (double). */
static void nested(problem *P, const double *y, double rho, double *x, double *zout, int iters)
{
    dopt_deq_options o = {0};
    dopt_deq_solver_d *s;
    dopt_deq_tanh_d *L;
    double z[64], g[64], dx[16];
    int it, i;
    o.rel_tol = 1e-13;
    o.max_iters = 300;
    dopt_deq_solver_create_d(NULL, P->n, P->B, &o, &s, NULL);
    dopt_deq_tanh_create_d(NULL, P->n, P->p, P->B, &L, NULL);
    for (i = 0; i < P->n * P->B; ++i) z[i] = 0;
    for (it = 0; it < iters; ++it) {
        dopt_deq_tanh_set_d(L, P->W, P->U, P->b, x, P->p, NULL);
        dopt_deq_solve_d(s, dopt_deq_tanh_map_d, L, z, P->n, NULL, NULL, 0, NULL);
        for (i = 0; i < P->n * P->B; ++i) g[i] = z[i] - y[i];
        for (i = 0; i < P->p * P->B; ++i) dx[i] = rho * x[i];
        dopt_deq_tanh_backward_d(L, s, NULL, z, P->n, g, P->n, NULL, NULL, NULL, dx, P->p, NULL, NULL);
        for (i = 0; i < P->p * P->B; ++i) x[i] -= 0.15 * dx[i];
    }
    for (i = 0; i < P->n * P->B; ++i) zout[i] = z[i];
    dopt_deq_solver_destroy_d(s);
    dopt_deq_tanh_destroy_d(L);
}

/* JIIO's optimum in double for the given b (for finite differences of the optimal loss). */
static double jiio_optimal_loss(problem *P, const double *y, double rho, double *xio, double *zio,
                                         double *muio)
{
    dopt_deq_jiio_options jo;
    dopt_deq_jiio_d *J;
    dopt_deq_tanh_d *L;
    dopt_deq_jiio_problem_d prob;
    djctx ctx;
    double l = 0;
    int i;
    memset(&jo, 0, sizeof jo);
    jo.alpha_x = 0.5;
    jo.solver.rel_tol = 1e-13;
    jo.solver.max_iters = 3000;
    jo.solver.memory = 10;
    dopt_deq_jiio_create_d(NULL, P->n, P->p, P->B, &jo, &J, NULL);
    dopt_deq_tanh_create_d(NULL, P->n, P->p, P->B, &L, NULL);
    dopt_deq_tanh_set_d(L, P->W, P->U, P->b, P->x, P->p, NULL);
    ctx.L = L; ctx.y = y; ctx.rho = rho;
    prob.map = dj_map; prob.vjp = dj_vjp; prob.loss_grad = dj_loss; prob.ctx = &ctx;
    if (dopt_deq_jiio_solve_d(J, &prob, zio, P->n, muio, P->n, xio, P->p, NULL, NULL) != DOPT_OK) l = (double)NAN;
    for (i = 0; i < P->n * P->B; ++i) l += 0.5 * (zio[i] - y[i]) * (zio[i] - y[i]);
    for (i = 0; i < P->p * P->B; ++i) l += 0.5 * rho * xio[i] * xio[i];
    dopt_deq_jiio_destroy_d(J);
    dopt_deq_tanh_destroy_d(L);
    return l;
}

#define TEST_DEQ_PASS
#define DOPT__DRIVE "tests/test_deq.c"
#include "dopt.h"
#undef DOPT__DRIVE
#undef TEST_DEQ_PASS

/* A map with no fixed point: f(z) = z + 1. */
static dopt_status shift_map_d(void *ctx, int n, ptrdiff_t B, const double *in, double *out,
                               const unsigned char *active)
{
    ptrdiff_t i;
    (void)ctx; (void)active;
    for (i = 0; i < (ptrdiff_t)n * B; ++i) out[i] = in[i] + 1;
    return DOPT_OK;
}
/* Picard diverges: f(z) = 1.5 z + 1. */
static dopt_status expand_map_d(void *ctx, int n, ptrdiff_t B, const double *in, double *out,
                                const unsigned char *active)
{
    ptrdiff_t i;
    (void)ctx; (void)active;
    for (i = 0; i < (ptrdiff_t)n * B; ++i) out[i] = 1.5 * in[i] + 1;
    return DOPT_OK;
}
static dopt_status failing_map_d(void *ctx, int n, ptrdiff_t B, const double *in, double *out,
                                 const unsigned char *active)
{
    (void)ctx; (void)n; (void)B; (void)in; (void)out; (void)active;
    return DOPT_ERR_UNSUPPORTED;
}
static dopt_status nan_map_d(void *ctx, int n, ptrdiff_t B, const double *in, double *out,
                             const unsigned char *active)
{
    ptrdiff_t i;
    (void)ctx; (void)active;
    for (i = 0; i < (ptrdiff_t)n * B; ++i) out[i] = 0.5 * in[i];
    out[n] = (double)NAN; /* element 1 */
    return DOPT_OK;
}

static void test_nonconvergence(void)
{
    dopt_deq_method methods[3] = {DOPT_DEQ_PICARD, DOPT_DEQ_ANDERSON, DOPT_DEQ_BROYDEN};
    int k;
    for (k = 0; k < 3; ++k) {
        dopt_deq_options o = {0};
        dopt_deq_solver_d *s;
        dopt_deq_report rep[2];
        dopt_errinfo info;
        double z[8] = {0};
        dopt_status st;
        int i;
        o.method = methods[k];
        o.max_iters = 40;
        DOPT_CHECK(dopt_deq_solver_create_d(NULL, 4, 2, &o, &s, NULL) == DOPT_OK, "create");
        st = dopt_deq_solve_d(s, shift_map_d, NULL, z, 4, rep, NULL, 0, &info);
        DOPT_CHECK(st == DOPT_ERR_NO_CONVERGENCE, "%s: z+1 gives %s", dopt_deq_method_string(methods[k]),
                   dopt_status_string(st));
        DOPT_CHECK(info.index == 0 && strstr(info.message, "residual") != NULL, "errinfo: %ld %s", info.index,
                   info.message);
        DOPT_CHECK(rep[1].status == DOPT_ERR_NO_CONVERGENCE && rep[1].iterations == 40, "report %d iters",
                   rep[1].iterations);
        DOPT_CHECK_CLOSE(rep[0].residual, 2.0, 1e-12, "residual of z+1 is sqrt(n)");
        DOPT_CHECK(dopt_deq_solver_map_calls_d(s) == 40, "map calls %ld", dopt_deq_solver_map_calls_d(s));
        for (i = 0; i < 8; ++i) DOPT_CHECK(z[i] == z[i] && fabs(z[i]) < 1e300, "finite z");
        dopt_deq_solver_destroy_d(s);
    }
    { /* Picard on an expanding map: no convergence, finite; Anderson solves the linear map */
        dopt_deq_options o = {0};
        dopt_deq_solver_d *s;
        dopt_deq_report rep[1];
        double z[3] = {0, 0, 0};
        o.method = DOPT_DEQ_PICARD;
        o.max_iters = 60;
        dopt_deq_solver_create_d(NULL, 3, 1, &o, &s, NULL);
        DOPT_CHECK(dopt_deq_solve_d(s, expand_map_d, NULL, z, 3, rep, NULL, 0, NULL) == DOPT_ERR_NO_CONVERGENCE,
                   "Picard on 1.5 z + 1");
        DOPT_CHECK(rep[0].residual == 1.0 * sqrt(3.0), "best iterate is the start (residual %g)", rep[0].residual);
        dopt_deq_solver_destroy_d(s);
        o.method = DOPT_DEQ_ANDERSON;
        z[0] = z[1] = z[2] = 0;
        dopt_deq_solver_create_d(NULL, 3, 1, &o, &s, NULL);
        DOPT_CHECK(dopt_deq_solve_d(s, expand_map_d, NULL, z, 3, rep, NULL, 0, NULL) == DOPT_OK,
                   "Anderson on 1.5 z + 1 finds z = -2");
        DOPT_CHECK_CLOSE(z[0], -2.0, 1e-6, "z");
        dopt_deq_solver_destroy_d(s);
    }
    { /* errors: NaN from the map, a failing map, NaN start, bad options */
        dopt_deq_options o = {0};
        dopt_deq_solver_d *s;
        dopt_deq_report rep[2];
        dopt_errinfo info;
        double z[4] = {1, 1, 1, 1};
        size_t bytes;
        dopt_deq_solver_create_d(NULL, 2, 2, &o, &s, NULL);
        DOPT_CHECK(dopt_deq_solve_d(s, nan_map_d, NULL, z, 2, rep, NULL, 0, &info) == DOPT_ERR_NON_FINITE,
                   "NaN in f");
        DOPT_CHECK(info.index == 1 && rep[0].status == DOPT_OK && rep[1].status == DOPT_ERR_NON_FINITE,
                   "element 0 converges, element 1 is flagged");
        DOPT_CHECK(z[2] == 1 && z[3] == 1, "element 1 keeps its last finite iterate");
        DOPT_CHECK(dopt_deq_solve_d(s, failing_map_d, NULL, z, 2, rep, NULL, 0, NULL) == DOPT_ERR_UNSUPPORTED,
                   "map status passes through");
        z[0] = (double)NAN;
        DOPT_CHECK(dopt_deq_solve_d(s, shift_map_d, NULL, z, 2, rep, NULL, 0, NULL) == DOPT_ERR_NON_FINITE,
                   "NaN start");
        DOPT_CHECK(dopt_deq_solve_d(s, shift_map_d, NULL, z, 1, rep, NULL, 0, NULL) == DOPT_ERR_INVALID_ARGUMENT,
                   "stride < n");
        dopt_deq_solver_destroy_d(s);
        o.method = (dopt_deq_method)7;
        DOPT_CHECK(dopt_deq_solver_workspace_size_d(2, 2, &o, &bytes, NULL) == DOPT_ERR_INVALID_ARGUMENT, "method 7");
        o.method = DOPT_DEQ_ANDERSON; o.memory = 100;
        DOPT_CHECK(dopt_deq_solver_workspace_size_d(2, 2, &o, &bytes, NULL) == DOPT_ERR_INVALID_ARGUMENT, "memory 100");
        o.memory = 0; o.mixing = 1.5;
        DOPT_CHECK(dopt_deq_solver_workspace_size_d(2, 2, &o, &bytes, NULL) == DOPT_ERR_INVALID_ARGUMENT, "mixing 1.5");
        o.mixing = 0;
        DOPT_CHECK(dopt_deq_solver_workspace_size_d(0, 2, &o, &bytes, NULL) == DOPT_ERR_INVALID_ARGUMENT, "n = 0");
    }
}

static void test_allocation(void)
{
    fail_alloc c;
    dopt_hooks h = fa_hooks(&c);
    dopt_deq_solver_d *s = NULL;
    dopt_deq_tanh_d *L = NULL;
    dopt_deq_jiio_d *J = NULL;
    fa_reset(&c, 1); /* every allocation fails */
    c.fail_all_after = 1;
    DOPT_CHECK(dopt_deq_solver_create_d(&h, 4, 2, NULL, &s, NULL) == DOPT_ERR_ALLOCATION && !s, "solver alloc fail");
    DOPT_CHECK(dopt_deq_tanh_create_d(&h, 4, 2, 2, &L, NULL) == DOPT_ERR_ALLOCATION && !L, "layer alloc fail");
    DOPT_CHECK(dopt_deq_jiio_create_d(&h, 4, 2, 2, NULL, &J, NULL) == DOPT_ERR_ALLOCATION && !J, "jiio alloc fail");
    DOPT_CHECK(fa_clean(&c), "failed creates leave nothing");
    fa_reset(&c, 0);
    DOPT_CHECK(dopt_deq_solver_create_d(&h, 4, 2, NULL, &s, NULL) == DOPT_OK, "solver");
    DOPT_CHECK(dopt_deq_tanh_create_d(&h, 4, 2, 2, &L, NULL) == DOPT_OK, "layer");
    DOPT_CHECK(dopt_deq_jiio_create_d(&h, 4, 2, 2, NULL, &J, NULL) == DOPT_OK, "jiio");
    DOPT_CHECK(c.calls == 3 && c.live == 3, "one allocation each (%ld)", c.calls);
    dopt_deq_solver_destroy_d(s);
    dopt_deq_tanh_destroy_d(L);
    dopt_deq_jiio_destroy_d(J);
    dopt_deq_solver_destroy_d(NULL);
    DOPT_CHECK(fa_clean(&c), "destroy frees each block with its size (%ld live, %ld wrong sizes)", c.live, c.bad_size);
}


/* The vectorizable tanh against libm's: a few ulps over a sweep, odd, saturating, NaN kept. */
static void test_tanh_kernel(void)
{
    double worst = 0, x;
    int k;
    for (k = -200000; k <= 200000; ++k) {
        double ref, got, err;
        x = k * 1e-4 * (1 + 1e-3 * (k % 7));
        ref = tanh(x);
        got = dopt__deq_tanh_scalar(x);
        err = fabs(got - ref) / (fabs(ref) > 1e-300 ? fabs(ref) : 1e-300);
        worst = err > worst ? err : worst;
        if (dopt__deq_tanh_scalar(-x) != -got) { DOPT_CHECK(0, "odd at %g", x); break; }
    }
    for (x = 1e-300; x < 1e-3; x *= 3.7) {
        double err = fabs(dopt__deq_tanh_scalar(x) - tanh(x)) / tanh(x);
        worst = err > worst ? err : worst;
    }
    DOPT_CHECK(worst <= 8 * DBL_EPSILON, "max relative error %g", worst);
    DOPT_CHECK(dopt__deq_tanh_scalar(25) == 1 && dopt__deq_tanh_scalar(1e300) == 1 &&
                   dopt__deq_tanh_scalar(-1e300) == -1, "saturation");
    DOPT_CHECK(dopt__deq_tanh_scalar(0.0) == 0, "tanh 0");
    x = (double)NAN;
    DOPT_CHECK(dopt__deq_tanh_scalar(x) != dopt__deq_tanh_scalar(x), "NaN stays NaN");
    x = (double)HUGE_VAL;
    DOPT_CHECK(dopt__deq_tanh_scalar(x) != dopt__deq_tanh_scalar(x), "Inf input is flagged as NaN");
}

static void test_reference_file_d(void);
static void test_reference_file_f(void);
static void test_solvers_d(void);
static void test_solvers_f(void);
static void test_tolerances_d(void);
static void test_tolerances_f(void);
static void test_batch_invariance_d(void);
static void test_batch_invariance_f(void);
static void test_active_columns_d(void);
static void test_active_columns_f(void);
static void test_memory_d(void);
static void test_memory_f(void);
static void test_singular_anderson_d(void);
static void test_singular_anderson_f(void);
static void test_implicit_fd_d(void);
static void test_implicit_fd_f(void);
static void test_phantom_d(void);
static void test_phantom_f(void);
static void test_jacreg_d(void);
static void test_jacreg_f(void);
static void test_jiio_d(void);
static void test_jiio_f(void);

static void suite(void)
{
    DOPT_TEST_RUN(test_tanh_kernel);
    DOPT_TEST_RUN(test_solvers_d);
    DOPT_TEST_RUN(test_solvers_f);
    DOPT_TEST_RUN(test_tolerances_d);
    DOPT_TEST_RUN(test_tolerances_f);
    DOPT_TEST_RUN(test_batch_invariance_d);
    DOPT_TEST_RUN(test_batch_invariance_f);
    DOPT_TEST_RUN(test_active_columns_d);
    DOPT_TEST_RUN(test_active_columns_f);
    DOPT_TEST_RUN(test_memory_d);
    DOPT_TEST_RUN(test_memory_f);
    DOPT_TEST_RUN(test_singular_anderson_d);
    DOPT_TEST_RUN(test_singular_anderson_f);
    DOPT_TEST_RUN(test_nonconvergence);
    DOPT_TEST_RUN(test_allocation);
    DOPT_TEST_RUN(test_implicit_fd_d);
    DOPT_TEST_RUN(test_implicit_fd_f);
    DOPT_TEST_RUN(test_reference_file_d);
    DOPT_TEST_RUN(test_reference_file_f);
    DOPT_TEST_RUN(test_phantom_d);
    DOPT_TEST_RUN(test_phantom_f);
    DOPT_TEST_RUN(test_jacreg_d);
    DOPT_TEST_RUN(test_jacreg_f);
    DOPT_TEST_RUN(test_jiio_d);
    DOPT_TEST_RUN(test_jiio_f);
}
DOPT_TEST_MAIN(suite)

#elif defined(TEST_DEQ_PASS) && defined(DOPT_REAL)
/* ================================ precision-generic tests ================================ */
#define R_ DOPT_REAL

/* The problem's arrays in this precision, and a layer bound to them. */
typedef struct DOPT_FN(bound) {
    R_ *W, *U, *b, *x;
    DOPT_FN(dopt_deq_tanh) *L;
} DOPT_FN(bound);

static R_ *DOPT_FN(conv)(const double *a, int n)
{
    R_ *r = (R_ *)malloc(sizeof(R_) * (size_t)n);
    int i;
    for (i = 0; i < n; ++i) r[i] = (R_)a[i];
    return r;
}

static DOPT_FN(bound) DOPT_FN(bind)(const problem *P)
{
    DOPT_FN(bound) q;
    q.W = DOPT_FN(conv)(P->W, P->n * P->n);
    q.U = DOPT_FN(conv)(P->U, P->n * P->p);
    q.b = DOPT_FN(conv)(P->b, P->n);
    q.x = DOPT_FN(conv)(P->x, P->p * P->B);
    DOPT_FN(dopt_deq_tanh_create)(NULL, P->n, P->p, P->B, &q.L, NULL);
    DOPT_FN(dopt_deq_tanh_set)(q.L, q.W, q.U, q.b, q.x, P->p, NULL);
    return q;
}
static void DOPT_FN(unbind)(DOPT_FN(bound) *q)
{
    DOPT_FN(dopt_deq_tanh_destroy)(q->L);
    free(q->W); free(q->U); free(q->b); free(q->x);
}

/* Every method converges to the independent fixed point, each element's true residual within
 * its tolerance; Anderson and Broyden need fewer evaluations than Picard. */
static void DOPT_FN(test_solvers)(void)
{
    problem P = make_problem(16, 4, 5, 0.95, 0.5, 11);
    DOPT_FN(bound) q = DOPT_FN(bind)(&P);
    dopt_deq_method methods[3] = {DOPT_DEQ_PICARD, DOPT_DEQ_ANDERSON, DOPT_DEQ_BROYDEN};
    long calls[3] = {0, 0, 0};
    double zref[16 * 5];
    int k, bb, i;
    for (bb = 0; bb < P.B; ++bb) naive_fixed_point(&P, bb, zref + bb * P.n);
    for (k = 0; k < 3; ++k) {
        dopt_deq_options o = {0};
        DOPT_FN(dopt_deq_solver) *s;
        dopt_deq_report rep[5];
        R_ z[16 * 5], trace[5 * 300];
        dopt_status st;
        o.method = methods[k];
        o.max_iters = 300;
        DOPT_FN(dopt_deq_solver_create)(NULL, P.n, P.B, &o, &s, NULL);
        memset(z, 0, sizeof z);
        st = DOPT_FN(dopt_deq_solve)(s, DOPT_FN(dopt_deq_tanh_map), q.L, z, P.n, rep, trace, 300, NULL);
        DOPT_CHECK(st == DOPT_OK, "%s: %s", dopt_deq_method_string(methods[k]), dopt_status_string(st));
        calls[k] = DOPT_FN(dopt_deq_solver_map_calls)(s);
        for (bb = 0; bb < P.B && st == DOPT_OK; ++bb) {
            double zd[16], f[16], r = 0, fn = 0, err = 0;
            double tol = (DOPT_IS_FLOAT ? 1e-6 : 1e-12) + (DOPT_IS_FLOAT ? 1e-4 : 1e-6) * 0; /* set below */
            for (i = 0; i < P.n; ++i) zd[i] = (double)z[bb * P.n + i];
            naive_f(&P, bb, zd, f);
            for (i = 0; i < P.n; ++i) {
                r += (f[i] - zd[i]) * (f[i] - zd[i]);
                fn += f[i] * f[i];
                err = fmax(err, fabs(zd[i] - zref[bb * P.n + i]));
            }
            r = sqrt(r); fn = sqrt(fn);
            tol += (DOPT_IS_FLOAT ? 1e-4 : 1e-6) * fn;
            DOPT_CHECK(r <= tol * 1.001 + (DOPT_IS_FLOAT ? 2e-6 : 1e-14), "%s element %d: true residual %g > %g",
                       dopt_deq_method_string(methods[k]), bb, r, tol);
            DOPT_CHECK(rep[bb].status == DOPT_OK && rep[bb].iterations >= 2, "report");
            DOPT_CHECK(fabs(rep[bb].residual - r) <= DOPT_TEST_TOL(1e-13, 1e-5), "reported residual %g vs %g",
                       rep[bb].residual, r);
            DOPT_CHECK(err <= DOPT_TEST_TOL(1e-4, 2e-3), "%s element %d: |z - z_ref| = %g",
                       dopt_deq_method_string(methods[k]), bb, err);
            DOPT_CHECK(trace[bb * 300] > 0 && (double)trace[bb * 300 + rep[bb].iterations - 1] == (double)(R_)rep[bb].residual &&
                           trace[bb * 300 + rep[bb].iterations] == -1, "trace");
        }
        DOPT_FN(dopt_deq_solver_destroy)(s);
    }
    DOPT_CHECK(calls[1] < calls[0] && calls[2] < calls[0], "evaluations: picard %ld anderson %ld broyden %ld",
               calls[0], calls[1], calls[2]);
    DOPT_FN(unbind)(&q);
    free_problem(&P);
}

/* abs_tol and rel_tol each honoured alone: rel-only stops earlier (loose in absolute terms),
 * abs-only goes on to its absolute threshold. */
static void DOPT_FN(test_tolerances)(void)
{
    problem P = make_problem(16, 4, 3, 0.9, 2.0, 5);
    DOPT_FN(bound) q = DOPT_FN(bind)(&P);
    const dopt_deq_method methods[3] = {DOPT_DEQ_PICARD, DOPT_DEQ_ANDERSON, DOPT_DEQ_BROYDEN};
    const double rtol = DOPT_TEST_TOL(1e-5, 1e-3), atol = DOPT_TEST_TOL(1e-10, 1e-5);
    int k, bb;
    for (k = 0; k < 3; ++k) {
        dopt_deq_options o = {0};
        DOPT_FN(dopt_deq_solver) *s;
        dopt_deq_report ra[3], rr[3];
        R_ z[16 * 3];
        o.method = methods[k];
        o.max_iters = 400;
        o.abs_tol = DOPT_OFF;
        o.rel_tol = rtol;
        DOPT_FN(dopt_deq_solver_create)(NULL, P.n, P.B, &o, &s, NULL);
        memset(z, 0, sizeof z);
        DOPT_CHECK(DOPT_FN(dopt_deq_solve)(s, DOPT_FN(dopt_deq_tanh_map), q.L, z, P.n, rr, NULL, 0, NULL) == DOPT_OK, "rel");
        DOPT_FN(dopt_deq_solver_destroy)(s);
        o.abs_tol = atol;
        o.rel_tol = DOPT_OFF;
        DOPT_FN(dopt_deq_solver_create)(NULL, P.n, P.B, &o, &s, NULL);
        memset(z, 0, sizeof z);
        DOPT_CHECK(DOPT_FN(dopt_deq_solve)(s, DOPT_FN(dopt_deq_tanh_map), q.L, z, P.n, ra, NULL, 0, NULL) == DOPT_OK, "abs");
        DOPT_FN(dopt_deq_solver_destroy)(s);
        for (bb = 0; bb < P.B; ++bb) {
            DOPT_CHECK(rr[bb].rel_residual <= rtol, "rel %g", rr[bb].rel_residual);
            DOPT_CHECK(rr[bb].residual > atol, "rel-only stops above the abs threshold (%g)", rr[bb].residual);
            DOPT_CHECK(ra[bb].residual <= atol, "abs %g", ra[bb].residual);
            DOPT_CHECK(ra[bb].iterations > rr[bb].iterations, "%s: abs-only %d iterations, rel-only %d",
                       dopt_deq_method_string(methods[k]), ra[bb].iterations, rr[bb].iterations);
        }
    }
    { /* both off: nothing converges */
        dopt_deq_options o = {0};
        DOPT_FN(dopt_deq_solver) *s;
        dopt_deq_report r[3];
        R_ z[16 * 3];
        o.abs_tol = DOPT_OFF; o.rel_tol = DOPT_OFF; o.max_iters = 10;
        DOPT_FN(dopt_deq_solver_create)(NULL, P.n, P.B, &o, &s, NULL);
        memset(z, 0, sizeof z);
        DOPT_CHECK(DOPT_FN(dopt_deq_solve)(s, DOPT_FN(dopt_deq_tanh_map), q.L, z, P.n, r, NULL, 0, NULL) ==
                       DOPT_ERR_NO_CONVERGENCE, "both tolerances off");
        DOPT_FN(dopt_deq_solver_destroy)(s);
    }
    DOPT_FN(unbind)(&q);
    free_problem(&P);
}

/* Each element's iterations and solution are the same solved alone or in a batch where others
 * need longer (their x is scaled up), and with a strided z. */
static void DOPT_FN(test_batch_invariance)(void)
{
    problem P = make_problem(12, 3, 4, 0.9, 0.5, 21);
    const dopt_deq_method methods[3] = {DOPT_DEQ_PICARD, DOPT_DEQ_ANDERSON, DOPT_DEQ_BROYDEN};
    int k, bb, i;
    for (i = 0; i < P.p; ++i) P.x[2 * P.p + i] *= 4;
    for (k = 0; k < 3; ++k) {
        DOPT_FN(bound) q = DOPT_FN(bind)(&P);
        dopt_deq_options o = {0};
        DOPT_FN(dopt_deq_solver) *s;
        dopt_deq_report rb[4];
        R_ zb[20 * 4];
        o.method = methods[k];
        o.max_iters = 300;
        DOPT_FN(dopt_deq_solver_create)(NULL, P.n, P.B, &o, &s, NULL);
        memset(zb, 0, sizeof zb);
        DOPT_CHECK(DOPT_FN(dopt_deq_solve)(s, DOPT_FN(dopt_deq_tanh_map), q.L, zb, 20, rb, NULL, 0, NULL) == DOPT_OK, "batch");
        DOPT_FN(dopt_deq_solver_destroy)(s);
        for (bb = 0; bb < P.B; ++bb) {
            problem P1 = P;
            DOPT_FN(bound) q1;
            dopt_deq_report r1[1];
            R_ z1[12];
            double err = 0;
            P1.B = 1;
            P1.x = P.x + bb * P.p;
            q1 = DOPT_FN(bind)(&P1);
            DOPT_FN(dopt_deq_solver_create)(NULL, P.n, 1, &o, &s, NULL);
            memset(z1, 0, sizeof z1);
            DOPT_FN(dopt_deq_solve)(s, DOPT_FN(dopt_deq_tanh_map), q1.L, z1, P.n, r1, NULL, 0, NULL);
            for (i = 0; i < P.n; ++i) err = fmax(err, fabs((double)z1[i] - (double)zb[bb * 20 + i]));
            DOPT_CHECK(r1[0].iterations == rb[bb].iterations, "%s element %d: %d alone, %d in the batch",
                       dopt_deq_method_string(methods[k]), bb, r1[0].iterations, rb[bb].iterations);
            DOPT_CHECK(err <= DOPT_TEST_TOL(1e-13, 1e-6), "%s element %d: alone vs batch %g",
                       dopt_deq_method_string(methods[k]), bb, err);
            DOPT_FN(dopt_deq_solver_destroy)(s);
            DOPT_FN(unbind)(&q1);
        }
        DOPT_CHECK(rb[2].iterations != rb[0].iterations || rb[2].iterations != rb[1].iterations,
                   "elements stop at different iterations (%d, %d, %d): freezing is exercised",
                   rb[0].iterations, rb[1].iterations, rb[2].iterations);
        DOPT_FN(unbind)(&q);
    }
    free_problem(&P);
}

/* A map that counts the columns it is asked for (active ones) and forwards to the tanh layer. */
typedef struct DOPT_FN(counting) {
    DOPT_FN(dopt_deq_tanh) *L;
    long columns, calls;
} DOPT_FN(counting);
static dopt_status DOPT_FN(counting_map)(void *ctx, int n, ptrdiff_t B, const R_ *in, R_ *out, const unsigned char *active)
{
    DOPT_FN(counting) *c = (DOPT_FN(counting) *)ctx;
    ptrdiff_t b;
    for (b = 0; b < B; ++b) c->columns += !active || active[b];
    c->calls++;
    return DOPT_FN(dopt_deq_tanh_map)(c->L, n, B, in, out, active);
}

/* The tanh layer's map and VJP on part of the batch (n = 45: more than one 32-row tile of the
 * transposed product): the active columns equal the plain formulas, the others are untouched.
 * In a solve, the map is asked for each element exactly its iteration count (a converged element
 * leaves the product), and for all elements at the first call. */
static void DOPT_FN(test_active_columns)(void)
{
    enum { N = 45, NB = 7 };
    problem P = make_problem(N, 3, NB, 0.9, 0.5, 31);
    DOPT_FN(bound) q;
    const unsigned char active[NB] = {1, 0, 1, 1, 0, 0, 1};
    R_ *z = (R_ *)malloc(sizeof(R_) * N * NB), *u = (R_ *)malloc(sizeof(R_) * N * NB);
    R_ *out = (R_ *)malloc(sizeof(R_) * N * NB);
    double zd[N], f[N];
    int i, j, bb, maxit = 0;
    long sum_it = 0;
    for (i = 0; i < P.p; ++i) P.x[3 * P.p + i] *= 4; /* element 3 stops at another iteration */
    q = DOPT_FN(bind)(&P);
    for (i = 0; i < N * NB; ++i) {
        z[i] = (R_)(0.3 * sin(0.7 * i + 0.1));
        u[i] = (R_)(0.5 * cos(1.3 * i));
        out[i] = 7777;
    }
    DOPT_CHECK(DOPT_FN(dopt_deq_tanh_map)(q.L, N, NB, z, out, active) == DOPT_OK, "map");
    for (bb = 0; bb < NB; ++bb) {
        double err = 0;
        int untouched = 1;
        for (i = 0; i < N; ++i) zd[i] = (double)z[bb * N + i];
        naive_f(&P, bb, zd, f);
        for (i = 0; i < N; ++i) {
            err = fmax(err, fabs((double)out[bb * N + i] - f[i]));
            untouched &= out[bb * N + i] == 7777;
        }
        if (active[bb]) DOPT_CHECK(err <= DOPT_TEST_TOL(1e-14, 1e-5), "map column %d: error %g", bb, err);
        else DOPT_CHECK(untouched, "map column %d (inactive) was written", bb);
    }
    DOPT_FN(dopt_deq_tanh_linearize)(q.L, z, N);
    for (i = 0; i < N * NB; ++i) out[i] = 7777;
    DOPT_CHECK(DOPT_FN(dopt_deq_tanh_vjp)(q.L, N, NB, u, out, active) == DOPT_OK, "vjp");
    for (bb = 0; bb < NB; ++bb) {
        double err = 0;
        int untouched = 1;
        for (i = 0; i < N; ++i) zd[i] = (double)z[bb * N + i];
        naive_f(&P, bb, zd, f);
        for (j = 0; j < N; ++j) { /* (W^T (d .* u))_j, d = 1 - f^2 */
            double r = 0;
            for (i = 0; i < N; ++i) r += P.W[i + j * N] * (1 - f[i] * f[i]) * (double)u[bb * N + i];
            err = fmax(err, fabs((double)out[bb * N + j] - r));
            untouched &= out[bb * N + j] == 7777;
        }
        if (active[bb]) DOPT_CHECK(err <= DOPT_TEST_TOL(1e-14, 1e-5), "vjp column %d: error %g", bb, err);
        else DOPT_CHECK(untouched, "vjp column %d (inactive) was written", bb);
    }
    { /* the columns a solve asks for */
        dopt_deq_options o = {0};
        DOPT_FN(dopt_deq_solver) *s;
        dopt_deq_report rep[NB];
        DOPT_FN(counting) c;
        c.L = q.L; c.columns = 0; c.calls = 0;
        DOPT_FN(dopt_deq_solver_create)(NULL, N, NB, &o, &s, NULL);
        memset(z, 0, sizeof(R_) * N * NB);
        DOPT_CHECK(DOPT_FN(dopt_deq_solve)(s, DOPT_FN(counting_map), &c, z, N, rep, NULL, 0, NULL) == DOPT_OK, "solve");
        for (bb = 0; bb < NB; ++bb) {
            sum_it += rep[bb].iterations;
            maxit = rep[bb].iterations > maxit ? rep[bb].iterations : maxit;
        }
        DOPT_CHECK(c.columns == sum_it && c.calls == maxit && DOPT_FN(dopt_deq_solver_map_calls)(s) == maxit,
                   "columns asked %ld vs iterations %ld; calls %ld vs %d", c.columns, sum_it, c.calls, maxit);
        DOPT_CHECK(rep[3].iterations != rep[0].iterations, "elements stop at different iterations (%d, %d): "
                   "columns leave the product", rep[3].iterations, rep[0].iterations);
        DOPT_FN(dopt_deq_solver_destroy)(s);
    }
    free(z); free(u); free(out);
    DOPT_FN(unbind)(&q);
    free_problem(&P);
}

/* Workspace independent of max_iters; create_in on exact bytes works, one byte less does not;
 * solves on caller memory allocate nothing (there are no hooks to call). */
static void DOPT_FN(test_memory)(void)
{
    dopt_deq_options o = {0};
    size_t b1 = 0, b2 = 0, b3 = 0;
    void *mem;
    DOPT_FN(dopt_deq_solver) *s;
    int k;
    for (k = 0; k < 3; ++k) {
        o.method = (dopt_deq_method)k;
        o.max_iters = 10;
        DOPT_FN(dopt_deq_solver_workspace_size)(64, 8, &o, &b1, NULL);
        o.max_iters = 100000;
        DOPT_FN(dopt_deq_solver_workspace_size)(64, 8, &o, &b2, NULL);
        DOPT_CHECK(b1 == b2, "workspace independent of max_iters (%lu vs %lu)", (unsigned long)b1, (unsigned long)b2);
        o.memory = 12;
        DOPT_FN(dopt_deq_solver_workspace_size)(64, 8, &o, &b3, NULL);
        o.memory = 0;
        if (k != DOPT_DEQ_PICARD)
            DOPT_CHECK(b3 > b1 && b3 < 4 * b1, "grows with memory: %lu -> %lu", (unsigned long)b1, (unsigned long)b3);
        DOPT_CHECK(b1 < (size_t)(64 * 8 * sizeof(R_)) * 24 + 4096, "O(m n B): %lu", (unsigned long)b1);
        mem = malloc(b1);
        DOPT_CHECK(DOPT_FN(dopt_deq_solver_create_in)(mem, b1 - 1, 64, 8, &o, &s, NULL) == DOPT_ERR_ALLOCATION,
                   "one byte short");
        DOPT_CHECK(DOPT_FN(dopt_deq_solver_create_in)(mem, b1, 64, 8, &o, &s, NULL) == DOPT_OK, "exact bytes");
        DOPT_FN(dopt_deq_solver_destroy)(s);
        free(mem);
    }
}

/* Linear map with n = 2 and memory 6: the residual history is rank 2, the Gram matrix singular;
 * Tikhonov regularization and the restart keep the solve going to the fixed point. */
static dopt_status DOPT_FN(lin2_map)(void *ctx, int n, ptrdiff_t B, const R_ *in, R_ *out, const unsigned char *active)
{
    ptrdiff_t b;
    (void)ctx; (void)active; (void)n;
    for (b = 0; b < B; ++b) {
        out[2 * b] = (R_)0.9 * in[2 * b] - (R_)0.3 * in[2 * b + 1] + 1;
        out[2 * b + 1] = (R_)0.2 * in[2 * b] + (R_)0.8 * in[2 * b + 1] - 1;
    }
    return DOPT_OK;
}
static void DOPT_FN(test_singular_anderson)(void)
{
    dopt_deq_options o = {0};
    DOPT_FN(dopt_deq_solver) *s;
    dopt_deq_report r[1];
    R_ z[2] = {0, 0};
    /* fixed point: (I - A) z = c with I - A = [.1 .3; -.2 .2] (det 0.08), c = (1, -1) */
    double det = 0.1 * 0.2 + 0.3 * 0.2, z0 = (0.2 * 1 - 0.3 * (-1)) / det, z1 = (0.2 * 1 + 0.1 * (-1)) / det;
    o.lambda = DOPT_OFF;
    o.max_iters = 200;
    DOPT_FN(dopt_deq_solver_create)(NULL, 2, 1, &o, &s, NULL);
    DOPT_CHECK(DOPT_FN(dopt_deq_solve)(s, DOPT_FN(lin2_map), NULL, z, 2, r, NULL, 0, NULL) == DOPT_OK,
               "singular mixing system still converges");
    DOPT_CHECK_CLOSE(z[0], z0, DOPT_TEST_TOL(1e-8, 1e-3), "z0");
    DOPT_CHECK_CLOSE(z[1], z1, DOPT_TEST_TOL(1e-8, 1e-3), "z1");
    DOPT_FN(dopt_deq_solver_destroy)(s);
    /* the restart option clears the history every step (Picard steps) and still converges */
    o.restart = 1;
    o.method = DOPT_DEQ_ANDERSON;
    z[0] = z[1] = 0;
    DOPT_FN(dopt_deq_solver_create)(NULL, 2, 1, &o, &s, NULL);
    DOPT_CHECK(DOPT_FN(dopt_deq_solve)(s, DOPT_FN(lin2_map), NULL, z, 2, r, NULL, 0, NULL) == DOPT_OK && r[0].restarts > 0,
               "restart: %s, %d restarts", dopt_status_string(r[0].status), r[0].restarts);
    DOPT_CHECK_CLOSE(z[0], z0, DOPT_TEST_TOL(1e-4, 1e-2), "z0 with restarts");
    DOPT_FN(dopt_deq_solver_destroy)(s);
}

/* Gradients of the layer (IMPLICIT, every solver method) against central differences of a
 * tight double solve: 1e-6 relative in double, 1e-3 in float. */
static void DOPT_FN(test_implicit_fd)(void)
{
    problem P = make_problem(6, 3, 2, 0.8, 0.5, 3);
    DOPT_FN(bound) q = DOPT_FN(bind)(&P);
    double c[12], gW[36], gU[18], gb[6], gx[6];
    dopt_rng rng;
    int i, k;
    dopt_rng_seed(&rng, 99, 0);
    for (i = 0; i < 12; ++i) c[i] = dopt_rng_normal_d(&rng);
    fd_grad(&P, c, P.W, 36, gW);
    fd_grad(&P, c, P.U, 18, gU);
    fd_grad(&P, c, P.b, 6, gb);
    fd_grad(&P, c, P.x, 6, gx);
    for (k = 0; k < 3; ++k) {
        dopt_deq_options o = {0};
        dopt_deq_backward_options bo = {0};
        DOPT_FN(dopt_deq_solver) *s;
        dopt_deq_report rep[2], brep[2];
        R_ z[12], g[12], dW[36], dU[18], db[6], dx[6];
        double tol = DOPT_TEST_TOL(1e-6, 2e-3);
        dopt_status st;
        o.method = (dopt_deq_method)k;
        o.max_iters = 400;
        o.rel_tol = DOPT_TEST_TOL(1e-12, 1e-6);
        DOPT_FN(dopt_deq_solver_create)(NULL, 6, 2, &o, &s, NULL);
        memset(z, 0, sizeof z);
        DOPT_CHECK(DOPT_FN(dopt_deq_solve)(s, DOPT_FN(dopt_deq_tanh_map), q.L, z, 6, rep, NULL, 0, NULL) == DOPT_OK, "forward");
        for (i = 0; i < 12; ++i) g[i] = (R_)c[i];
        memset(dW, 0, sizeof dW); memset(dU, 0, sizeof dU); memset(db, 0, sizeof db); memset(dx, 0, sizeof dx);
        st = DOPT_FN(dopt_deq_tanh_backward)(q.L, s, &bo, z, 6, g, 6, dW, dU, db, dx, 3, brep, NULL);
        DOPT_CHECK(st == DOPT_OK && brep[0].status == DOPT_OK && brep[1].iterations > 1, "backward %s",
                   dopt_status_string(st));
        for (i = 0; i < 36; ++i) DOPT_CHECK_CLOSE(dW[i], gW[i], tol, "dW");
        for (i = 0; i < 18; ++i) DOPT_CHECK_CLOSE(dU[i], gU[i], tol, "dU");
        for (i = 0; i < 6; ++i) DOPT_CHECK_CLOSE(db[i], gb[i], tol, "db");
        for (i = 0; i < 6; ++i) DOPT_CHECK_CLOSE(dx[i], gx[i], tol, "dx");
        DOPT_FN(dopt_deq_solver_destroy)(s);
    }
    { /* the adjoint solve's status is reported: max_iters 2 cannot converge */
        dopt_deq_options o = {0};
        DOPT_FN(dopt_deq_solver) *s;
        dopt_deq_report brep[2];
        dopt_errinfo info;
        R_ z[12], g[12], db[6];
        o.max_iters = 2;
        for (i = 0; i < 12; ++i) { g[i] = (R_)c[i]; z[i] = 0; }
        memset(db, 0, sizeof db);
        DOPT_FN(dopt_deq_solver_create)(NULL, 6, 2, &o, &s, NULL);
        DOPT_CHECK(DOPT_FN(dopt_deq_tanh_backward)(q.L, s, NULL, z, 6, g, 6, NULL, NULL, db, NULL, 0, brep, &info) ==
                       DOPT_ERR_NO_CONVERGENCE && brep[0].status == DOPT_ERR_NO_CONVERGENCE && brep[0].residual > 0,
                   "adjoint non-convergence is reported");
        for (i = 0; i < 6; ++i) DOPT_CHECK(db[i] == db[i], "finite gradient from the best iterate");
        DOPT_FN(dopt_deq_solver_destroy)(s);
    }
    DOPT_FN(unbind)(&q);
    free_problem(&P);
}

/* deq_reference.json: fixed point and implicit gradients of sum z*^2. */
static void DOPT_FN(test_reference_file)(void)
{
    char path[512];
    char *text;
    double W[64], U[32], b[8], x[8], z[16], gW[64], gU[32], gb[8], gx[8];
    R_ Wc[64], Uc[32], bc[8], xc[8], zs[16], g[16], dW[64], dU[32], db[8], dx[8];
    int i, j, k;
    snprintf(path, sizeof path, "%s/../reference/deq_reference.json", dopt_test_data_dir());
    text = dopt_test_read_text(path);
    if (!text) DOPT_SKIP("../shared/reference/deq_reference.json not found");
    if (json_numbers(text, "W", W, 64) != 64 || json_numbers(text, "U", U, 32) != 32 ||
        json_numbers(text, "b", b, 8) != 8 || json_numbers(text, "x", x, 8) != 8 ||
        json_numbers(text, "z", z, 16) != 16 || json_numbers(text, "grad_W", gW, 64) != 64 ||
        json_numbers(text, "grad_U", gU, 32) != 32 || json_numbers(text, "grad_b", gb, 8) != 8 ||
        json_numbers(text, "grad_x", gx, 8) != 8) {
        free(text);
        DOPT_CHECK(0, "malformed deq_reference.json");
        return;
    }
    free(text);
    /* row-major nested lists -> column-major; x and z are [batch][dim] = columns already */
    for (i = 0; i < 8; ++i) {
        for (j = 0; j < 8; ++j) Wc[i + 8 * j] = (R_)W[i * 8 + j];
        for (j = 0; j < 4; ++j) Uc[i + 8 * j] = (R_)U[i * 4 + j];
        bc[i] = (R_)b[i];
        xc[i] = (R_)x[i];
    }
    for (k = 0; k < 3; ++k) {
        dopt_deq_options o = {0};
        DOPT_FN(dopt_deq_solver) *s;
        DOPT_FN(dopt_deq_tanh) *L;
        double tolz = DOPT_TEST_TOL(1e-10, 1e-5), tolg = DOPT_TEST_TOL(1e-8, 1e-4);
        o.method = (dopt_deq_method)k;
        o.rel_tol = DOPT_TEST_TOL(1e-13, 1e-6);
        o.max_iters = 300;
        DOPT_FN(dopt_deq_solver_create)(NULL, 8, 2, &o, &s, NULL);
        DOPT_FN(dopt_deq_tanh_create)(NULL, 8, 4, 2, &L, NULL);
        DOPT_CHECK(DOPT_FN(dopt_deq_tanh_set)(L, Wc, Uc, bc, xc, 4, NULL) == DOPT_OK, "set");
        memset(zs, 0, sizeof zs);
        DOPT_CHECK(DOPT_FN(dopt_deq_solve)(s, DOPT_FN(dopt_deq_tanh_map), L, zs, 8, NULL, NULL, 0, NULL) == DOPT_OK, "solve");
        for (i = 0; i < 16; ++i) DOPT_CHECK_CLOSE(zs[i], z[i], tolz, "z* vs reference");
        for (i = 0; i < 16; ++i) g[i] = 2 * zs[i];
        memset(dW, 0, sizeof dW); memset(dU, 0, sizeof dU); memset(db, 0, sizeof db); memset(dx, 0, sizeof dx);
        DOPT_CHECK(DOPT_FN(dopt_deq_tanh_backward)(L, s, NULL, zs, 8, g, 8, dW, dU, db, dx, 4, NULL, NULL) == DOPT_OK,
                   "backward");
        for (i = 0; i < 8; ++i) {
            for (j = 0; j < 8; ++j) DOPT_CHECK_CLOSE(dW[i + 8 * j], gW[i * 8 + j], tolg, "grad_W vs reference");
            for (j = 0; j < 4; ++j) DOPT_CHECK_CLOSE(dU[i + 8 * j], gU[i * 4 + j], tolg, "grad_U vs reference");
            DOPT_CHECK_CLOSE(db[i], gb[i], tolg, "grad_b vs reference");
            DOPT_CHECK_CLOSE(dx[i], gx[i], tolg, "grad_x vs reference");
        }
        DOPT_FN(dopt_deq_solver_destroy)(s);
        DOPT_FN(dopt_deq_tanh_destroy)(L);
    }
}

/* Phantom gradients approach the implicit one as k grows; Jacobian-free gives u = g. */
static void DOPT_FN(test_phantom)(void)
{
    problem P = make_problem(10, 3, 3, 0.8, 0.5, 8);
    DOPT_FN(bound) q = DOPT_FN(bind)(&P);
    dopt_deq_options o = {0};
    dopt_deq_backward_options bo = {0};
    DOPT_FN(dopt_deq_solver) *s;
    R_ z[30], g[30], ui[30], up[30];
    const int ks[5] = {1, 3, 10, 40, 200};
    double prev = HUGE_VAL;
    int i, t;
    o.rel_tol = DOPT_TEST_TOL(1e-12, 1e-6);
    DOPT_FN(dopt_deq_solver_create)(NULL, 10, 3, &o, &s, NULL);
    memset(z, 0, sizeof z);
    DOPT_FN(dopt_deq_solve)(s, DOPT_FN(dopt_deq_tanh_map), q.L, z, 10, NULL, NULL, 0, NULL);
    for (i = 0; i < 30; ++i) g[i] = (R_)(0.1 * (i % 7) - 0.3);
    DOPT_FN(dopt_deq_tanh_linearize)(q.L, z, 10);
    DOPT_CHECK(DOPT_FN(dopt_deq_backward)(s, &bo, DOPT_FN(dopt_deq_tanh_vjp), q.L, g, 10, ui, 10, NULL, NULL) == DOPT_OK,
               "implicit");
    bo.mode = DOPT_DEQ_PHANTOM;
    for (t = 0; t < 5; ++t) {
        double err = 0, nrm = 0;
        bo.phantom_steps = ks[t];
        DOPT_CHECK(DOPT_FN(dopt_deq_backward)(s, &bo, DOPT_FN(dopt_deq_tanh_vjp), q.L, g, 10, up, 10, NULL, NULL) == DOPT_OK,
                   "phantom");
        for (i = 0; i < 30; ++i) { err += ((double)up[i] - ui[i]) * ((double)up[i] - ui[i]); nrm += (double)ui[i] * ui[i]; }
        err = sqrt(err / nrm);
        DOPT_CHECK(err < prev, "phantom k = %d: error %g not below %g", ks[t], err, prev);
        prev = err;
    }
    DOPT_CHECK(prev < DOPT_TEST_TOL(1e-8, 1e-4), "phantom k = 200 equals implicit (%g)", prev);
    bo.mode = DOPT_DEQ_JACOBIAN_FREE;
    DOPT_CHECK(DOPT_FN(dopt_deq_backward)(s, &bo, NULL, NULL, g, 10, up, 10, NULL, NULL) == DOPT_OK, "jfb");
    for (i = 0; i < 30; ++i) DOPT_CHECK(up[i] == g[i], "Jacobian-free u = g");
    bo.mode = (dopt_deq_backward_mode)9;
    DOPT_CHECK(DOPT_FN(dopt_deq_backward)(s, &bo, DOPT_FN(dopt_deq_tanh_vjp), q.L, g, 10, up, 10, NULL, NULL) ==
                   DOPT_ERR_INVALID_ARGUMENT, "unknown mode");
    DOPT_FN(dopt_deq_solver_destroy)(s);
    DOPT_FN(unbind)(&q);
    free_problem(&P);
}

/* Jacobian regularization: R against a dense J^T eps, its mean against ||J||_F^2, and the
 * gradient of w sum R against central differences (double, same noise). */
static void DOPT_FN(test_jacreg)(void)
{
    problem P = make_problem(5, 2, 2, 0.9, 0.5, 17);
    DOPT_FN(bound) q = DOPT_FN(bind)(&P);
    double zd[10], fro[2] = {0, 0}, mean[2] = {0, 0};
    R_ z[10], R[2], dW[25], dU[10], db[5], dx[4], dz[10];
    dopt_rng rng, rng2;
    const double w = 0.7, h = 1e-6;
    int i, j, bb, t;
    for (i = 0; i < 10; ++i) { zd[i] = 0.3 * sin(1.0 + i); z[i] = (R_)zd[i]; }
    /* dense J_b = diag(1 - f^2) W and the same eps the layer draws */
    dopt_rng_seed(&rng, 5, 0);
    rng2 = rng;
    DOPT_FN(dopt_deq_tanh_jacreg)(q.L, z, 5, &rng, 1, R, NULL, NULL, NULL, NULL, 0, NULL, 0);
    for (bb = 0; bb < 2; ++bb) {
        double f[5], eps[5], r = 0;
        naive_f(&P, bb, zd + 5 * bb, f);
        for (i = 0; i < 5; ++i) eps[i] = dopt_rng_normal_d(&rng2);
        if (bb == 0) { /* the layer draws element 0 first, then element 1 */ }
        for (j = 0; j < 5; ++j) {
            double v = 0;
            for (i = 0; i < 5; ++i) v += (1 - f[i] * f[i]) * P.W[i + 5 * j] * eps[i];
            r += v * v;
            for (i = 0; i < 5; ++i) fro[bb] += pow((1 - f[i] * f[i]) * P.W[i + 5 * j], 2);
        }
        DOPT_CHECK_CLOSE(R[bb], r, DOPT_TEST_TOL(1e-12, 1e-5), "R vs dense J^T eps");
    }
    for (t = 0; t < 4000; ++t) {
        DOPT_FN(dopt_deq_tanh_jacreg)(q.L, z, 5, &rng, 1, R, NULL, NULL, NULL, NULL, 0, NULL, 0);
        mean[0] += (double)R[0] / 4000; mean[1] += (double)R[1] / 4000;
    }
    for (bb = 0; bb < 2; ++bb)
        DOPT_CHECK(fabs(mean[bb] - fro[bb]) < 0.08 * fro[bb], "E R = ||J||_F^2: %g vs %g", mean[bb], fro[bb]);
    /* gradient */
    memset(dW, 0, sizeof dW); memset(dU, 0, sizeof dU); memset(db, 0, sizeof db); memset(dx, 0, sizeof dx);
    memset(dz, 0, sizeof dz);
    dopt_rng_seed(&rng, 77, 0);
    DOPT_FN(dopt_deq_tanh_jacreg)(q.L, z, 5, &rng, (R_)w, NULL, dW, dU, db, dx, 2, dz, 5);
    {
        double *arrs[5];
        R_ *grads[5];
        int lens[5] = {25, 10, 5, 4, 10}, a;
        const char *names[5] = {"dW", "dU", "db", "dx", "dz"};
        arrs[0] = P.W; arrs[1] = P.U; arrs[2] = P.b; arrs[3] = P.x; arrs[4] = zd;
        grads[0] = dW; grads[1] = dU; grads[2] = db; grads[3] = dx; grads[4] = dz;
        for (a = 0; a < 5; ++a)
            for (i = 0; i < lens[a]; ++i) {
                double v = arrs[a][i], lp, lm;
                arrs[a][i] = v + h; lp = jacreg_value(&P, zd, 77);
                arrs[a][i] = v - h; lm = jacreg_value(&P, zd, 77);
                arrs[a][i] = v;
                DOPT_CHECK_CLOSE(grads[a][i], w * (lp - lm) / (2 * h), DOPT_TEST_TOL(1e-6, 1e-3), names[a]);
            }
    }
    DOPT_FN(unbind)(&q);
    free_problem(&P);
}

/* JIIO: inverse problem min_x 1/2 ||z*(x) - y||^2 + rho/2 ||x||^2 with y from a known x. */
typedef struct DOPT_FN(jiio_ctx) {
    DOPT_FN(dopt_deq_tanh) *L;
    const R_ *y;
    R_ rho;
} DOPT_FN(jiio_ctx);
static dopt_status DOPT_FN(jmap)(void *c, int n, int p, ptrdiff_t B, const R_ *z, const R_ *x, R_ *fz)
{
    return DOPT_FN(dopt_deq_tanh_jiio_map)(((DOPT_FN(jiio_ctx) *)c)->L, n, p, B, z, x, fz);
}
static dopt_status DOPT_FN(jvjp)(void *c, int n, int p, ptrdiff_t B, const R_ *z, const R_ *x, const R_ *fz,
                                 const R_ *mu, R_ *jz, R_ *jx)
{
    return DOPT_FN(dopt_deq_tanh_jiio_vjp)(((DOPT_FN(jiio_ctx) *)c)->L, n, p, B, z, x, fz, mu, jz, jx);
}
static dopt_status DOPT_FN(jloss)(void *c, int n, int p, ptrdiff_t B, const R_ *z, const R_ *x, R_ *gz, R_ *gx)
{
    const DOPT_FN(jiio_ctx) *j = (const DOPT_FN(jiio_ctx) *)c;
    ptrdiff_t i;
    for (i = 0; i < (ptrdiff_t)n * B; ++i) gz[i] = z[i] - j->y[i];
    for (i = 0; i < (ptrdiff_t)p * B; ++i) gx[i] = j->rho * x[i];
    return DOPT_OK;
}

static void DOPT_FN(test_jiio)(void)
{
    problem P = make_problem(8, 3, 2, 0.7, 0.3, 31);
    const double rho = 0.05;
    double y[16], xn[6], zn[16], xj[6], zj[16], mj[16];
    R_ z[16], mu[16], x[6], yr[16], db[8];
    DOPT_FN(dopt_deq_jiio) *J;
    DOPT_FN(dopt_deq_tanh) *L;
    DOPT_FN(dopt_deq_jiio_problem) prob;
    DOPT_FN(jiio_ctx) ctx;
    dopt_deq_jiio_options jo;
    dopt_deq_report rep[2];
    dopt_status st;
    int i;
    /* targets: the fixed point at the problem's x, plus a little noise; start from x = 0 */
    for (i = 0; i < 2; ++i) naive_fixed_point(&P, i, y + 8 * i);
    for (i = 0; i < 16; ++i) y[i] += 0.02 * cos(3.0 * i);
    for (i = 0; i < 6; ++i) xn[i] = 0;
    nested(&P, y, rho, xn, zn, 1500);
    memset(&jo, 0, sizeof jo);
    jo.alpha_x = 0.5;
    jo.solver.memory = 10;
    jo.solver.max_iters = 2000;
    jo.solver.rel_tol = DOPT_TEST_TOL(1e-12, 1e-6);
    DOPT_CHECK(DOPT_FN(dopt_deq_jiio_create)(NULL, 8, 3, 2, &jo, &J, NULL) == DOPT_OK, "create");
    DOPT_FN(dopt_deq_tanh_create)(NULL, 8, 3, 2, &L, NULL);
    {
        R_ Wr[64], Ur[24], br[8], x0[6];
        for (i = 0; i < 64; ++i) Wr[i] = (R_)P.W[i];
        for (i = 0; i < 24; ++i) Ur[i] = (R_)P.U[i];
        for (i = 0; i < 8; ++i) br[i] = (R_)P.b[i];
        for (i = 0; i < 6; ++i) x0[i] = 0;
        DOPT_FN(dopt_deq_tanh_set)(L, Wr, Ur, br, x0, 3, NULL);
        for (i = 0; i < 16; ++i) { yr[i] = (R_)y[i]; z[i] = 0; mu[i] = 0; }
        for (i = 0; i < 6; ++i) x[i] = 0;
        ctx.L = L; ctx.y = yr; ctx.rho = (R_)rho;
        prob.map = DOPT_FN(jmap); prob.vjp = DOPT_FN(jvjp); prob.loss_grad = DOPT_FN(jloss); prob.ctx = &ctx;
        st = DOPT_FN(dopt_deq_jiio_solve)(J, &prob, z, 8, mu, 8, x, 3, rep, NULL);
        DOPT_CHECK(st == DOPT_OK, "jiio: %s (residual %g after %d)", dopt_status_string(st), rep[0].residual,
                   rep[0].iterations);
        DOPT_CHECK(DOPT_FN(dopt_deq_jiio_evaluations)(J) > 3, "evaluations counted");
        for (i = 0; i < 6; ++i) DOPT_CHECK_CLOSE(x[i], xn[i], DOPT_TEST_TOL(1e-6, 2e-3), "x* JIIO vs nested");
        for (i = 0; i < 16; ++i) DOPT_CHECK_CLOSE(z[i], zn[i], DOPT_TEST_TOL(1e-6, 2e-3), "z* JIIO vs nested");
        /* shortcut gradient (sec. 3.3.4): d l_opt / d b = (df/db)^T mu at the optimum */
        DOPT_FN(dopt_deq_tanh_set)(L, Wr, Ur, br, x, 3, NULL);
        DOPT_FN(dopt_deq_tanh_linearize)(L, z, 8);
        memset(db, 0, sizeof db);
        DOPT_FN(dopt_deq_tanh_param_vjp)(L, z, 8, mu, 8, NULL, NULL, db, NULL, 0);
    }
    if (!DOPT_IS_FLOAT) {
        const double h = 1e-5;
        for (i = 0; i < 8; ++i) {
            double v = P.b[i], lp, lm;
            memcpy(xj, xn, sizeof xj); memcpy(zj, zn, sizeof zj); memset(mj, 0, sizeof mj);
            P.b[i] = v + h; lp = jiio_optimal_loss(&P, y, rho, xj, zj, mj);
            memcpy(xj, xn, sizeof xj); memcpy(zj, zn, sizeof zj); memset(mj, 0, sizeof mj);
            P.b[i] = v - h; lm = jiio_optimal_loss(&P, y, rho, xj, zj, mj);
            P.b[i] = v;
            DOPT_CHECK_CLOSE(db[i], (lp - lm) / (2 * h), 1e-6, "shortcut gradient vs d l*/db");
        }
    }
    DOPT_FN(dopt_deq_jiio_destroy)(J);
    DOPT_FN(dopt_deq_tanh_destroy)(L);
    free_problem(&P);
}

#undef R_
#endif
