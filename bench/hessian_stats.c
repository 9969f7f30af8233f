/* bench/hessian_stats.c — the sparse factorization and solve of one exported Theseus pose-graph
 * problem's Hessian pattern, timed on their own (no least-squares layer around them).
 *
 * Reads a problem file written by bench/theseus_pgo.py (`make bench-theseus` leaves them in
 * build/bench/theseus/theseus_<N>.txt), builds the 6x6-block pattern of H = J^T J (a diagonal
 * block per pose, one block per edge), fills it with synthetic SPD values (diagonal 100, small
 * off-diagonal entries), analyzes it once (AMD) and times dopt_sparse_factor_d and a
 * one-right-hand-side dopt_sparse_solve_d (best of REPS, default 50).  Prints
 *   hessian <file> n=... nnzA=... nnzL=... flops=... nsuper=... max_cols=...
 *           factor_ms=... gflops=... solve_us=...
 * Used to measure the sparse kernels on the supernode shapes of random-loop-closure pose
 * graphs (many 6-12-column supernodes and one dense root).
 * Usage: hessian_stats FILE...   (build: see bench/common.sh's bench_cflags) */
#define _POSIX_C_SOURCE 199309L
#define DOPT_IMPLEMENTATION
#include "dopt.h"
#include "dopt_sparse.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Skips the rest of the current line; returns 0 at end of file. */
static int skip_line(FILE *f)
{
    int c;
    while ((c = fgetc(f)) != EOF && c != '\n') {}
    return c != EOF;
}

/* Reads the pose count and the edge list of a theseus_<N>.txt file into adj (N x N, upper
 * triangle marked, diagonal set).  Returns N, or -1 on a malformed file. */
static int read_graph(const char *path, char **adj_out)
{
    FILE *f = fopen(path, "r");
    int N, B, E, b, k, e, i, j;
    char *adj;
    double v;
    if (!f) return -1;
    if (fscanf(f, "%d %d %d", &N, &B, &E) != 3 || N <= 0 || B <= 0 || E < 0) { fclose(f); return -1; }
    skip_line(f); /* rest of the header line */
    skip_line(f); /* weights */
    for (b = 0; b < B; ++b)
        for (k = 0; k < 2 * N; ++k) skip_line(f); /* initial and ground-truth poses */
    adj = (char *)calloc((size_t)N * (size_t)N, 1);
    if (!adj) { fclose(f); return -1; }
    for (e = 0; e < E; ++e) {
        if (fscanf(f, "%d %d", &i, &j) != 2 || i < 0 || j < 0 || i >= N || j >= N) { free(adj); fclose(f); return -1; }
        for (k = 0; k < 7 * B; ++k)
            if (fscanf(f, "%lf", &v) != 1) { free(adj); fclose(f); return -1; }
        if (i > j) { int t = i; i = j; j = t; }
        adj[(size_t)i * N + j] = 1;
    }
    fclose(f);
    for (i = 0; i < N; ++i) adj[(size_t)i * N + i] = 1;
    *adj_out = adj;
    return N;
}

static int run(const char *path, int reps)
{
    enum { BS = 6 };
    char *adj = NULL;
    const int N = read_graph(path, &adj);
    int n, nnz = 0, i, j, c, r, rep, s, maxc = 0, *Ap, *Ai;
    double *Ax, *x, tf = 1e30, ts = 1e30;
    dopt_sparse_symbolic *S = NULL;
    dopt_sparse_numeric_d *F = NULL;
    dopt_errinfo info;
    if (N < 0) { fprintf(stderr, "hessian_stats: cannot read %s\n", path); return 1; }
    n = N * BS;
    for (j = 0; j < N; ++j)
        for (i = j; i < N; ++i) nnz += adj[(size_t)j * N + i] ? BS * BS : 0;
    Ap = (int *)malloc(sizeof(int) * ((size_t)n + 1));
    Ai = (int *)malloc(sizeof(int) * (size_t)nnz);
    Ax = (double *)malloc(sizeof(double) * (size_t)nnz);
    x = (double *)malloc(sizeof(double) * (size_t)n);
    if (!Ap || !Ai || !Ax || !x) return 1;
    nnz = 0;
    Ap[0] = 0;
    for (j = 0; j < N; ++j) /* lower triangle, column by column */
        for (c = 0; c < BS; ++c) {
            for (i = j; i < N; ++i) {
                if (!adj[(size_t)j * N + i]) continue;
                for (r = 0; r < BS; ++r) {
                    const int row = i * BS + r, col = j * BS + c;
                    if (row < col) continue;
                    Ai[nnz] = row;
                    Ax[nnz++] = row == col ? 100.0 : 0.1 * (double)((row * 7 + col * 3) % 5 - 2);
                }
            }
            Ap[j * BS + c + 1] = nnz;
        }
    if (dopt_sparse_analyze(NULL, n, Ap, Ai, DOPT_LOWER, NULL, &S, &info) != DOPT_OK ||
        dopt_sparse_numeric_create_d(S, 1, &F) != DOPT_OK) {
        fprintf(stderr, "hessian_stats: analysis failed\n");
        return 1;
    }
    for (rep = 0; rep < reps; ++rep) {
        double t0 = now_s(), t;
        if (dopt_sparse_factor_d(F, Ax, &info) != DOPT_OK) {
            fprintf(stderr, "hessian_stats: %s\n", info.message);
            return 1;
        }
        t = now_s() - t0;
        if (t < tf) tf = t;
        for (i = 0; i < n; ++i) x[i] = 1.0 + (double)(i % 7);
        t0 = now_s();
        dopt_sparse_solve_d(F, 1, x, n);
        t = now_s() - t0;
        if (t < ts) ts = t;
    }
    for (s = 0; s < S->nsuper; ++s)
        if (S->super[s + 1] - S->super[s] > maxc) maxc = S->super[s + 1] - S->super[s];
    printf("hessian %s n=%d nnzA=%d nnzL=%.0f flops=%.3g nsuper=%d max_cols=%d factor_ms=%.3f gflops=%.2f "
           "solve_us=%.2f\n",
           path, n, nnz, S->nnz_l, S->flops, S->nsuper, maxc, tf * 1e3, S->flops / tf * 1e-9, ts * 1e6);
    dopt_sparse_numeric_destroy_d(F);
    dopt_sparse_symbolic_destroy(S);
    free(Ap); free(Ai); free(Ax); free(x); free(adj);
    return 0;
}

int main(int argc, char **argv)
{
    int k, rc = 0, reps = getenv("REPS") ? atoi(getenv("REPS")) : 50;
    if (argc < 2) {
        fprintf(stderr, "usage: hessian_stats FILE...  (build/bench/theseus/theseus_<N>.txt)\n");
        return 2;
    }
    if (reps < 1) reps = 1;
    for (k = 1; k < argc; ++k) rc |= run(argv[k], reps);
    return rc;
}
