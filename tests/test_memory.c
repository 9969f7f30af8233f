/* tests/test_memory.c — the memory promise of the least-squares layer, counted through the hooks.
 *
 * The promise (README, "Memory"): a solver and its differentiable view allocate when they are
 * created (and the trace at dopt_nlls_diff_solve); dopt_nlls_solve and dopt_nlls_diff_backward
 * allocate nothing.  Checked here with a counting allocator, and with fail-at-k injection: the
 * k-th allocation of the whole pipeline (problem, solver, differentiable view, forward solve,
 * backward in IMPLICIT and UNROLL) fails, for every k until the pipeline runs through; each call
 * then returns DOPT_OK or DOPT_ERR_ALLOCATION, never crashes, and nothing leaks. */
#if !defined(DOPT_REAL)
#define DOPT_IMPLEMENTATION
#include "dopt.h"
#include "tests/dopt_test.h"

/* Counting allocator: fails every allocation after the first `fail_after` (< 0: never). */
typedef struct counting {
    long calls, live, fail_after;
    size_t bytes;
} counting;

static void *cnt_alloc(void *user, size_t size)
{
    counting *c = (counting *)user;
    void *p;
    if (c->fail_after >= 0 && c->calls >= c->fail_after) return NULL;
    c->calls++;
    p = malloc(size);
    if (p) {
        c->live++;
        c->bytes += size;
    }
    return p;
}

static void cnt_free(void *user, void *p, size_t size)
{
    counting *c = (counting *)user;
    if (p) {
        c->live--;
        c->bytes -= size;
    }
    free(p);
}

static dopt_hooks counting_hooks(counting *c, long fail_after)
{
    dopt_hooks h;
    memset(&h, 0, sizeof h);
    memset(c, 0, sizeof *c);
    c->fail_after = fail_after;
    h.allocator.alloc = cnt_alloc;
    h.allocator.free = cnt_free;
    h.allocator.user = c;
    return h;
}

typedef struct sample { double t, y; } sample;
#define NPTS 12
#define NB 2 /* batch */

#define DOPT_GENERIC "tests/test_memory.c"
#include "dopt.h"
#undef DOPT_GENERIC

static void suite(void)
{
    DOPT_TEST_RUN(test_solve_backward_allocate_nothing_d);
    DOPT_TEST_RUN(test_solve_backward_allocate_nothing_f);
    DOPT_TEST_RUN(test_fail_at_k_d);
    DOPT_TEST_RUN(test_fail_at_k_f);
}
DOPT_TEST_MAIN(suite)

#else /* ---- one pass per precision ---- */

/* r = y - exp(m t + c), J = dr / d[m c] (1 x 2 row-major) */
static dopt_status DOPT_FN(mem_residual)(const void *data, const DOPT_REAL *const *x, DOPT_REAL *r,
                                         DOPT_REAL *const *J)
{
    const sample *q = (const sample *)data;
    DOPT_REAL e = DOPT_M(exp)(x[0][0] * (DOPT_REAL)q->t + x[0][1]);
    r[0] = (DOPT_REAL)q->y - e;
    if (J && J[0]) {
        J[0][0] = -(DOPT_REAL)q->t * e;
        J[0][1] = -e;
    }
    return DOPT_OK;
}

/* Everything the pipeline creates, so that a failure at any step can release the rest. */
typedef struct DOPT_FN(mem_run) {
    DOPT_FN(dopt_nlls_problem) *p;
    DOPT_FN(dopt_nlls_solver) *s;
    DOPT_FN(dopt_nlls_diff) *D;
    DOPT_REAL x[2 * NB], xbar[2 * NB], scale;
    sample pts[NB * NPTS];
} DOPT_FN(mem_run);

static void DOPT_FN(mem_release)(DOPT_FN(mem_run) *R)
{
    DOPT_FN(dopt_nlls_diff_destroy)(R->D);
    DOPT_FN(dopt_nlls_solver_destroy)(R->s);
    DOPT_FN(dopt_nlls_problem_destroy)(R->p);
    R->D = NULL; R->s = NULL; R->p = NULL;
}

/* Problem, solver and differentiable view (Cauchy loss whose radius is learnable), through h. */
static dopt_status DOPT_FN(mem_create)(const dopt_hooks *h, DOPT_FN(mem_run) *R)
{
    DOPT_FN(dopt_manifold) R2 = DOPT_FN(dopt_manifold_euclidean)(2);
    dopt_status st;
    int i, b, v, k;
    memset(R, 0, sizeof *R);
    for (b = 0; b < NB; ++b)
        for (i = 0; i < NPTS; ++i) {
            sample *q = R->pts + b * NPTS + i;
            q->t = 0.1 * i;
            q->y = exp((0.3 + 0.1 * b) * q->t + 0.2) + (i % 4 == 1 ? 0.05 : -0.02);
        }
    R->scale = (DOPT_REAL)0.5;
    st = DOPT_FN(dopt_nlls_problem_create)(h, NB, &R->p);
    if (st == DOPT_OK) st = DOPT_FN(dopt_nlls_add_variable)(R->p, &R2, &v);
    for (i = 0; i < NPTS && st == DOPT_OK; ++i) {
        DOPT_FN(dopt_nlls_cost_desc) d;
        memset(&d, 0, sizeof d);
        d.fn = DOPT_FN(mem_residual);
        d.data = R->pts + i;
        d.data_stride = NPTS * sizeof(sample);
        d.rdim = 1;
        d.nvars = 1;
        d.vars = &v;
        d.loss = DOPT_LOSS_CAUCHY;
        d.loss_scale = R->scale;
        st = DOPT_FN(dopt_nlls_add_cost)(R->p, &d, NULL);
    }
    if (st == DOPT_OK) st = DOPT_FN(dopt_nlls_solver_create)(R->p, NULL, &R->s, NULL);
    if (st == DOPT_OK) st = DOPT_FN(dopt_nlls_diff_create)(R->s, &R->D);
    if (st == DOPT_OK) st = DOPT_FN(dopt_nlls_diff_learn_loss_scale)(R->D, &R->scale, &k);
    for (i = 0; i < NPTS && st == DOPT_OK; ++i) st = DOPT_FN(dopt_nlls_diff_attach)(R->D, i, k, NULL);
    return st;
}

static DOPT_FN(dopt_nlls_options) DOPT_FN(mem_options)(void)
{
    DOPT_FN(dopt_nlls_options) o;
    memset(&o, 0, sizeof o);
    o.max_iterations = 20;
    return o;
}

static void DOPT_FN(test_solve_backward_allocate_nothing)(void)
{
    counting c;
    dopt_hooks h = counting_hooks(&c, -1);
    DOPT_FN(mem_run) R;
    DOPT_FN(dopt_nlls_options) o = DOPT_FN(mem_options)();
    DOPT_FN(dopt_nlls_diff_options) bo;
    dopt_nlls_report rep[NB];
    dopt_nlls_diff_report brep[NB];
    dopt_status st = DOPT_FN(mem_create)(&h, &R);
    long after_create;
    int i, mode;
    DOPT_CHECK(st == DOPT_OK && c.calls > 0, "create: %s (%ld allocations)", dopt_status_string(st), c.calls);
    if (st != DOPT_OK) { DOPT_FN(mem_release)(&R); return; }
    after_create = c.calls;
    for (i = 0; i < 2 * NB; ++i) R.x[i] = 0;
    st = DOPT_FN(dopt_nlls_solve)(R.s, &o, R.x, 2, rep, NULL, NULL);
    DOPT_CHECK(st == DOPT_OK && rep[0].stop != DOPT_STOP_FAILED && rep[0].accepted > 0 && rep[1].accepted > 0, "solve: %s", dopt_status_string(st));
    DOPT_CHECK(c.calls == after_create, "dopt_nlls_solve allocated %ld times", c.calls - after_create);
    for (i = 0; i < 2 * NB; ++i) R.x[i] = 0;
    st = DOPT_FN(dopt_nlls_diff_solve)(R.D, &o, R.x, 2, rep, NULL);
    DOPT_CHECK(st == DOPT_OK, "diff_solve: %s", dopt_status_string(st));
    after_create = c.calls; /* the trace is allocated by diff_solve (documented) */
    for (mode = 0; mode < 2; ++mode) {
        memset(&bo, 0, sizeof bo);
        bo.mode = mode == 0 ? DOPT_NLLS_DIFF_IMPLICIT : DOPT_NLLS_DIFF_UNROLL;
        for (i = 0; i < 2 * NB; ++i) R.xbar[i] = 1;
        st = DOPT_FN(dopt_nlls_diff_backward)(R.D, &bo, R.xbar, NULL, brep, NULL);
        DOPT_CHECK(st == DOPT_OK, "backward %s: %s", dopt_nlls_diff_mode_string(bo.mode), dopt_status_string(st));
        DOPT_CHECK(c.calls == after_create, "backward %s allocated %ld times", dopt_nlls_diff_mode_string(bo.mode),
                   c.calls - after_create);
    }
    DOPT_FN(mem_release)(&R);
    DOPT_CHECK(c.live == 0 && c.bytes == 0, "leak: %ld blocks, %lu bytes", c.live, (unsigned long)c.bytes);
}

/* The pipeline with the k-th allocation failing: statuses, no crash, no leak; returns 1 when
 * no allocation failed (the pipeline ran through). */
static int DOPT_FN(mem_pipeline)(long k, int *bad_status, int *leak)
{
    counting c;
    dopt_hooks h = counting_hooks(&c, k);
    DOPT_FN(mem_run) R;
    DOPT_FN(dopt_nlls_options) o = DOPT_FN(mem_options)();
    DOPT_FN(dopt_nlls_diff_options) bo;
    dopt_status st = DOPT_FN(mem_create)(&h, &R);
    int i, j, failed = 0;
    if (st != DOPT_OK) failed = 1, *bad_status |= st != DOPT_ERR_ALLOCATION;
    if (!failed) {
        for (i = 0; i < 2 * NB; ++i) R.x[i] = 0;
        st = DOPT_FN(dopt_nlls_solve)(R.s, &o, R.x, 2, NULL, NULL, NULL);
        if (st != DOPT_OK) failed = 1, *bad_status |= st != DOPT_ERR_ALLOCATION;
    }
    if (!failed) {
        for (i = 0; i < 2 * NB; ++i) R.x[i] = 0;
        st = DOPT_FN(dopt_nlls_diff_solve)(R.D, &o, R.x, 2, NULL, NULL);
        if (st != DOPT_OK) failed = 1, *bad_status |= st != DOPT_ERR_ALLOCATION;
    }
    for (i = 0; i < 2 && !failed; ++i) {
        memset(&bo, 0, sizeof bo);
        bo.mode = i == 0 ? DOPT_NLLS_DIFF_IMPLICIT : DOPT_NLLS_DIFF_UNROLL;
        for (j = 0; j < 2 * NB; ++j) R.xbar[j] = 1;
        st = DOPT_FN(dopt_nlls_diff_backward)(R.D, &bo, R.xbar, NULL, NULL, NULL);
        if (st != DOPT_OK) failed = 1, *bad_status |= st != DOPT_ERR_ALLOCATION;
    }
    DOPT_FN(mem_release)(&R);
    *leak |= c.live != 0 || c.bytes != 0;
    return !failed && (k < 0 || c.calls < k);
}

static void DOPT_FN(test_fail_at_k)(void)
{
    int bad_status = 0, leak = 0, done = 0;
    long k;
    for (k = 0; k < 400 && !done; ++k) done = DOPT_FN(mem_pipeline)(k, &bad_status, &leak);
    DOPT_CHECK(done && k > 10, "the pipeline ran through with %ld allocations allowed", k - 1);
    DOPT_CHECK(!bad_status, "a failed allocation gave a status other than DOPT_ERR_ALLOCATION");
    DOPT_CHECK(!leak, "a failed allocation leaked memory");
}
#endif
