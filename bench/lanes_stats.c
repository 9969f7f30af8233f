/* bench/lanes_stats.c — the sparse least-squares solver's LANE BATCH against its one-at-a-time
 * factor and solve, on the Hessian pattern of a pose graph.
 *
 * Reads a g2o file (VERTEX_* lines count the poses; EDGE_SE3:QUAT i j ... lines are 6x6 blocks
 * between poses i and j), builds the dopt_block_pattern of H = J^T J (a diagonal block per pose,
 * one block per edge, lower block triangle), fills W different synthetic SPD value arrays
 * (diagonal 100, small off-diagonal entries, scaled per lane), and through
 * dopt_sparse_linear_solver_d times, best of REPS (default 100), with the two interleaved:
 *   single   factor() of one matrix (each lane's matrix in turn) and solve() of one rhs
 *   lanes    factor_batch() of W matrices and solve_batch() of W rhs, divided by W
 * Checks that the lane solutions equal the single ones.  Prints
 *   bench lanes <file> factor_ratio=<lane per-matrix / single> solve_ratio=... lanes=W gflops=...
 *         (gflops: the lane factor's, counting sym->flops per matrix) and the absolute times.
 * Usage: lanes_stats FILE.g2o...
 * Build: gcc -std=c99 -O3 -march=native -ffp-contract=fast -DNDEBUG -I. bench/lanes_stats.c -lm */
#define _POSIX_C_SOURCE 199309L
#define DOPT_IMPLEMENTATION
#include "dopt.h"
#include "dopt_sparse.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <time.h>

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Reads a g2o file: returns the pose count and fills adj (N x N, adj[i*N+j] for i >= j marks a
 * block of the lower triangle, diagonal set); -1 on a malformed file. */
static int read_g2o(const char *path, char **adj_out)
{
    FILE *f = fopen(path, "r");
    char line[4096], tag[64];
    int N = 0, i, j, cap = 0, ne = 0, *ei = NULL, *ej = NULL, e;
    char *adj;
    if (!f) return -1;
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, "%63s", tag) != 1) continue;
        if (!strncmp(tag, "VERTEX", 6)) {
            if (sscanf(line, "%*s %d", &i) == 1 && i + 1 > N) N = i + 1;
        } else if (!strcmp(tag, "EDGE_SE3:QUAT")) {
            if (sscanf(line, "%*s %d %d", &i, &j) != 2 || i < 0 || j < 0) { fclose(f); return -1; }
            if (ne == cap) {
                cap = cap ? 2 * cap : 256;
                ei = (int *)realloc(ei, sizeof(int) * (size_t)cap);
                ej = (int *)realloc(ej, sizeof(int) * (size_t)cap);
            }
            ei[ne] = i;
            ej[ne++] = j;
        }
    }
    fclose(f);
    if (N <= 0) return -1;
    adj = (char *)calloc((size_t)N * (size_t)N, 1);
    for (e = 0; e < ne; ++e) {
        i = ei[e] > ej[e] ? ei[e] : ej[e];
        j = ei[e] > ej[e] ? ej[e] : ei[e];
        if (i >= N) { free(adj); free(ei); free(ej); return -1; }
        adj[(size_t)i * N + j] = 1;
    }
    for (i = 0; i < N; ++i) adj[(size_t)i * N + i] = 1;
    free(ei);
    free(ej);
    *adj_out = adj;
    return N;
}

static int run(const char *path, int reps)
{
    enum { BS = 6, WMAX = 16 };
    char *adj = NULL;
    const int N = read_g2o(path, &adj);
    int *dim, *start, *colst, *rowb, nk = 0, b, i, j, k, l, rep, W, n, fc[WMAX], fc1;
    size_t *vst, nv = 0, q;
    double *vals[WMAX], *rhs[WMAX], *ref[WMAX], *rhs1, tf1 = 1e30, tfw = 1e30, ts1 = 1e30, tsw = 1e30, err = 0;
    dopt_block_pattern pat;
    dopt_linear_solver_d ls;
    dopt_status st[WMAX];
    const dopt_sparse_symbolic *S;
    if (N < 0) { fprintf(stderr, "lanes_stats: cannot read %s\n", path); return 1; }
    dim = (int *)malloc(sizeof(int) * (size_t)N);
    start = (int *)malloc(sizeof(int) * ((size_t)N + 1));
    colst = (int *)malloc(sizeof(int) * ((size_t)N + 1));
    for (j = 0; j < N; ++j)
        for (i = j; i < N; ++i) nk += adj[(size_t)i * N + j];
    rowb = (int *)malloc(sizeof(int) * (size_t)nk);
    vst = (size_t *)malloc(sizeof(size_t) * (size_t)nk);
    nk = 0;
    for (j = 0; j < N; ++j) {
        dim[j] = BS;
        start[j] = j * BS;
        colst[j] = nk;
        for (i = j; i < N; ++i)
            if (adj[(size_t)i * N + j]) {
                rowb[nk] = i;
                vst[nk++] = nv;
                nv += BS * BS;
            }
    }
    start[N] = n = N * BS;
    colst[N] = nk;
    pat.nblocks = N; pat.n = n; pat.block_dim = dim; pat.block_start = start;
    pat.col_start = colst; pat.row_block = rowb; pat.value_start = vst; pat.nvalues = nv;
    if (dopt_sparse_linear_solver_d(NULL, NULL, &ls) != DOPT_OK || ls.analyze(ls.self, &pat, NULL) != DOPT_OK ||
        !ls.reserve_batch || ls.reserve_batch(ls.self) != DOPT_OK) {
        fprintf(stderr, "lanes_stats: solver setup failed\n");
        return 1;
    }
    W = ls.batch_width;
    S = ((dopt__sp_ls_d *)ls.self)->sym; /* the adaptor's symbolic object, for the flop count */
    for (l = 0; l < W; ++l) {
        vals[l] = (double *)malloc(sizeof(double) * nv);
        rhs[l] = (double *)malloc(sizeof(double) * (size_t)n);
        ref[l] = (double *)malloc(sizeof(double) * (size_t)n);
        for (b = 0; b < N; ++b)
            for (k = colst[b]; k < colst[b + 1]; ++k)
                for (j = 0; j < BS; ++j)
                    for (i = 0; i < BS; ++i) {
                        const int gr = start[rowb[k]] + i, gc = start[b] + j;
                        double v = 0.1 * (double)((gr * 7 + gc * 3 + l) % 5 - 2);
                        if (rowb[k] == b) v = gr == gc ? 100.0 + l : 0.1 * (double)(((gr > gc ? gr : gc) * 7 + (gr > gc ? gc : gr) * 3) % 5 - 2);
                        vals[l][vst[k] + (size_t)i + (size_t)j * BS] = v;
                    }
    }
    rhs1 = (double *)malloc(sizeof(double) * (size_t)n);
    for (rep = 0; rep < reps; ++rep) {
        double t0, t;
        for (l = 0; l < W; ++l) { /* single: each lane's matrix on its own */
            t0 = now_s();
            if (ls.factor(ls.self, vals[l], NULL, &fc1) != DOPT_OK) { fprintf(stderr, "lanes_stats: factor failed\n"); return 1; }
            t = now_s() - t0;
            if (t < tf1) tf1 = t;
            for (i = 0; i < n; ++i) rhs1[i] = 1.0 + (double)((i + l) % 7);
            t0 = now_s();
            ls.solve(ls.self, rhs1);
            t = now_s() - t0;
            if (t < ts1) ts1 = t;
            if (rep == 0) memcpy(ref[l], rhs1, sizeof(double) * (size_t)n);
        }
        t0 = now_s();
        ls.factor_batch(ls.self, W, (const double *const *)vals, NULL, st, fc);
        t = now_s() - t0;
        if (t < tfw) tfw = t;
        for (l = 0; l < W; ++l) {
            if (st[l] != DOPT_OK) { fprintf(stderr, "lanes_stats: lane %d: %s\n", l, dopt_status_string(st[l])); return 1; }
            for (i = 0; i < n; ++i) rhs[l][i] = 1.0 + (double)((i + l) % 7);
        }
        t0 = now_s();
        ls.solve_batch(ls.self, W, rhs);
        t = now_s() - t0;
        if (t < tsw) tsw = t;
        for (l = 0; l < W; ++l) { /* normwise relative difference */
            double dmax = 0, rmax = 0;
            for (i = 0; i < n; ++i) {
                dmax = fabs(rhs[l][i] - ref[l][i]) > dmax ? fabs(rhs[l][i] - ref[l][i]) : dmax;
                rmax = fabs(ref[l][i]) > rmax ? fabs(ref[l][i]) : rmax;
            }
            if (dmax / rmax > err) err = dmax / rmax;
        }
    }
    for (q = 0, k = 0; k < S->nsuper; ++k) q = (size_t)(S->super[k + 1] - S->super[k]) > q ? (size_t)(S->super[k + 1] - S->super[k]) : q;
    printf("bench lanes %s factor_ratio=%.3f solve_ratio=%.3f lanes=%d gflops=%.2f\n", path, tfw / W / tf1,
           tsw / W / ts1, W, S->flops * W / tfw * 1e-9);
    printf("    nnz_storage=%zu nnz_l=%.0f nnz_a=%d\n", S->nnz_storage, S->nnz_l, S->nnz_a);
    printf("    n=%d nsuper=%d max_cols=%d flops=%.3g  single: factor_ms=%.4f (%.2f GFLOP/s) solve_us=%.2f  "
           "lanes: factor_ms=%.4f per matrix=%.4f solve_us per matrix=%.2f  max rel diff=%.2g\n",
           n, S->nsuper, (int)q, S->flops, tf1 * 1e3, S->flops / tf1 * 1e-9, ts1 * 1e6, tfw * 1e3, tfw / W * 1e3,
           tsw / W * 1e6, err);
    ls.destroy(ls.self);
    for (l = 0; l < W; ++l) { free(vals[l]); free(rhs[l]); free(ref[l]); }
    free(rhs1); free(dim); free(start); free(colst); free(rowb); free(vst); free(adj);
    return err > 1e-9;
}

int main(int argc, char **argv)
{
    int k, rc = 0, reps = getenv("REPS") ? atoi(getenv("REPS")) : 100;
    if (argc < 2) {
        fprintf(stderr, "usage: lanes_stats FILE.g2o...\n");
        return 2;
    }
    if (reps < 1) reps = 1;
    for (k = 1; k < argc; ++k) rc |= run(argv[k], reps);
    return rc;
}
