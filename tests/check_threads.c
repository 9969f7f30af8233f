/* check_threads.c — what `make check-threads` runs under ThreadSanitizer (tests/check_threads.sh):
 * dopt has no global mutable state, so objects used by one thread each, and read-only objects
 * shared between threads, race with nothing.  Checked, with 4 threads:
 *   - one nlls problem shared read-only by 4 solvers (one per thread, dense and sparse linear
 *     solvers, lockstep LM for the sparse one), each solving the whole batch of 8 exp fits:
 *     every thread's result bit-identical to the serial solve;
 *   - one sparse symbolic analysis shared by 4 factor objects, and the slices of one batch
 *     factor object (dopt_sparse_numeric_slice) factored and solved on 4 threads: bit-identical
 *     to the serial batch factorization.
 * Prints `N passed, N failed, N skipped` like the tests. */
#define _POSIX_C_SOURCE 200809L
#define DOPT_IMPLEMENTATION
#include <pthread.h>
#include "dopt.h"
#include "dopt_sparse.h"
#include "tests/dopt_test.h"

#define NT 4
#define NB 8
#define NP 12

typedef struct pt { double t, y; } pt;
static pt data[NB][NP];

static dopt_status exp_fn(const void *d0, const double *const *x, double *r, double *const *J)
{
    const pt *d = (const pt *)d0;
    double e = exp(x[0][0] * d->t + x[0][1]);
    r[0] = e - d->y;
    if (J && J[0]) { J[0][0] = e * d->t; J[0][1] = e; }
    return DOPT_OK;
}

static dopt_nlls_problem_d *build_problem(void)
{
    dopt_nlls_problem_d *p = NULL;
    dopt_manifold_d m = dopt_manifold_euclidean_d(2);
    int b, c, v;
    for (b = 0; b < NB; ++b)
        for (c = 0; c < NP; ++c) {
            data[b][c].t = 0.1 * c;
            data[b][c].y = exp((0.2 + 0.05 * b) * 0.1 * c + 0.1) + 0.01 * ((c * 7 + b) % 5 - 2);
        }
    if (dopt_nlls_problem_create_d(NULL, NB, &p) != DOPT_OK) return NULL;
    dopt_nlls_add_variable_d(p, &m, &v);
    for (c = 0; c < NP; ++c) {
        dopt_nlls_cost_desc_d d;
        memset(&d, 0, sizeof d);
        d.fn = exp_fn;
        d.data = &data[0][c];
        d.data_stride = sizeof data[0];
        d.rdim = 1;
        d.nvars = 1;
        d.vars = &v;
        dopt_nlls_add_cost_d(p, &d, NULL);
    }
    return p;
}

typedef struct job {
    dopt_nlls_problem_d *p;
    int sparse;
    double x[NB * 2];
    dopt_status st;
} job;

static void *solve_job(void *arg)
{
    job *J = (job *)arg;
    dopt_nlls_solver_d *s = NULL;
    dopt_linear_solver_d ls;
    int k;
    for (k = 0; k < NB * 2; ++k) J->x[k] = 0;
    if (J->sparse && dopt_sparse_linear_solver_d(NULL, NULL, &ls) != DOPT_OK) { J->st = DOPT_ERR_ALLOCATION; return NULL; }
    J->st = dopt_nlls_solver_create_d(J->p, J->sparse ? &ls : NULL, &s, NULL);
    if (J->st == DOPT_OK) J->st = dopt_nlls_solve_d(s, NULL, J->x, 0, NULL, NULL, NULL);
    dopt_nlls_solver_destroy_d(s);
    return NULL;
}

static void test_nlls_threads(void)
{
    dopt_nlls_problem_d *p = build_problem();
    job serial[2], par[NT];
    pthread_t th[NT];
    int t, k;
    DOPT_CHECK(p != NULL, "problem");
    if (!p) return;
    for (k = 0; k < 2; ++k) {
        serial[k].p = p;
        serial[k].sparse = k;
        solve_job(&serial[k]);
        DOPT_CHECK(serial[k].st == DOPT_OK, "serial solve %d", k);
    }
    for (t = 0; t < NT; ++t) {
        par[t].p = p;
        par[t].sparse = t & 1;
        DOPT_CHECK(pthread_create(&th[t], NULL, solve_job, &par[t]) == 0, "thread");
    }
    for (t = 0; t < NT; ++t) pthread_join(th[t], NULL);
    for (t = 0; t < NT; ++t) {
        DOPT_CHECK(par[t].st == DOPT_OK, "thread %d: %s", t, dopt_status_string(par[t].st));
        DOPT_CHECK(memcmp(par[t].x, serial[t & 1].x, sizeof par[t].x) == 0, "thread %d differs from the serial solve", t);
    }
    DOPT_CHECK(fabs(serial[0].x[0] - 0.2) < 0.05, "the fit: slope %g", serial[0].x[0]);
    dopt_nlls_problem_destroy_d(p);
}

/* a 2-D Laplacian (+ shift) on a g x g grid, lower CSC, one value set per batch element */
#define G 12
#define N (G * G)
static int Ap[N + 1], Ai[3 * N];
static double Ax[NT * 2][3 * N];

typedef struct fjob {
    dopt_sparse_numeric_d *F;
    int first, count;
    double B[2][N];
    dopt_status st;
} fjob;

static void *factor_job(void *arg)
{
    fjob *J = (fjob *)arg;
    dopt_sparse_numeric_d slice;
    size_t bytes = dopt_sparse_numeric_slice_size_d(J->F->sym);
    void *mem = malloc(bytes);
    int b, i;
    J->st = mem ? dopt_sparse_numeric_slice_d(&slice, J->F, J->first, J->count, mem, bytes) : DOPT_ERR_ALLOCATION;
    if (J->st == DOPT_OK)
        J->st = dopt_sparse_factor_batch_d(&slice, J->count, Ax[J->first], 3 * N, NULL);
    for (b = 0; b < J->count && J->st == DOPT_OK; ++b) {
        for (i = 0; i < N; ++i) J->B[b][i] = 1 + i % 3;
        dopt_sparse_solve_element_d(&slice, b, 1, J->B[b], N);
    }
    free(mem);
    return NULL;
}

static void test_sparse_threads(void)
{
    dopt_sparse_symbolic *S = NULL;
    dopt_sparse_numeric_d *F = NULL, *Fs = NULL;
    fjob jobs[NT];
    pthread_t th[NT];
    double ref[NT * 2][N];
    int i, j, t, b, nz = 0;
    for (j = 0; j < N; ++j) {
        Ap[j] = nz;
        Ai[nz++] = j;
        if ((j % G) + 1 < G) Ai[nz++] = j + 1;
        if (j + G < N) Ai[nz++] = j + G;
    }
    Ap[N] = nz;
    for (b = 0; b < NT * 2; ++b)
        for (j = 0; j < N; ++j)
            for (i = Ap[j]; i < Ap[j + 1]; ++i) Ax[b][i] = Ai[i] == j ? 4.1 + 0.01 * b : -1;
    DOPT_CHECK(dopt_sparse_analyze(NULL, N, Ap, Ai, DOPT_LOWER, NULL, &S, NULL) == DOPT_OK, "analyze");
    if (!S) return;
    DOPT_CHECK(dopt_sparse_numeric_create_d(S, NT * 2, &F) == DOPT_OK, "create");
    DOPT_CHECK(dopt_sparse_numeric_create_d(S, NT * 2, &Fs) == DOPT_OK, "create serial");
    if (!F || !Fs) goto out;
    DOPT_CHECK(dopt_sparse_factor_batch_d(Fs, NT * 2, Ax[0], 3 * N, NULL) == DOPT_OK, "serial factor");
    for (b = 0; b < NT * 2; ++b) {
        for (i = 0; i < N; ++i) ref[b][i] = 1 + i % 3;
        dopt_sparse_solve_element_d(Fs, b, 1, ref[b], N);
    }
    for (t = 0; t < NT; ++t) {
        jobs[t].F = F;
        jobs[t].first = 2 * t;
        jobs[t].count = 2;
        DOPT_CHECK(pthread_create(&th[t], NULL, factor_job, &jobs[t]) == 0, "thread");
    }
    for (t = 0; t < NT; ++t) pthread_join(th[t], NULL);
    for (t = 0; t < NT; ++t) {
        DOPT_CHECK(jobs[t].st == DOPT_OK, "slice %d: %s", t, dopt_status_string(jobs[t].st));
        for (b = 0; b < 2; ++b)
            DOPT_CHECK(memcmp(jobs[t].B[b], ref[2 * t + b], sizeof ref[0]) == 0, "slice %d element %d differs", t, b);
    }
    DOPT_CHECK(memcmp(F->x, Fs->x, NT * 2 * S->nnz_storage * sizeof(double)) == 0, "factors differ from the serial batch");
out:
    dopt_sparse_numeric_destroy_d(F);
    dopt_sparse_numeric_destroy_d(Fs);
    dopt_sparse_symbolic_destroy(S);
}

static void suite(void)
{
    DOPT_TEST_RUN(test_nlls_threads);
    DOPT_TEST_RUN(test_sparse_threads);
}
DOPT_TEST_MAIN(suite)
