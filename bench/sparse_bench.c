/* bench/sparse_bench.c — dopt_sparse.h against CHOLMOD (supernodal, AMD, OpenBLAS, one thread).
 * Built and run by bench/sparse.sh.  Prints one line per measurement:
 *   bench sparse <case> n=.. nnzA=.. lnz_dopt=.. lnz_chol=.. analyze_ms=.. ... ratio=<factor ratio>
 * Matrices: every $DOPT_DATA_DIR/spd/*.mtx; the Gauss-Newton Hessian of every pose graph in
 * pgo2d/ and pgo3d/ (block pattern from the edges, values J^T J of random blocks plus a diagonal
 * shift, the same matrix for both); 3-D 7-point grid Laplacians (30^3, 50^3) with GFLOP/s and
 * the OpenBLAS dgemm rate of this run; a 64-matrix batch refactorization on each pose graph.
 * Times are process CPU seconds, the best of several repetitions (the machine is shared).
 * A dense 1002-column supernode against the dgemm rates of the same run (section dense).
 * Environment: SPARSE_BENCH_ONLY=grid|spd|pgo|dense (one section), SPARSE_BENCH_FILES=word,word (only the
 * files whose names contain one), SPARSE_BENCH_NO_BATCH=1, SPARSE_BENCH_BACKEND (label). */
#define DOPT_IMPLEMENTATION
#define _POSIX_C_SOURCE 200809L
#include "dopt_sparse.h"
#include <cholmod.h>
#include <cblas.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

extern char *openblas_get_config(void);

/* Process CPU time: both sides run on one thread, and the machine is shared, so wall-clock
 * time would mostly measure the neighbours. */
static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static const char *backend_label(void)
{
    const char *b = getenv("SPARSE_BENCH_BACKEND");
    return b && *b ? b : "builtin";
}

static int section_on(const char *name)
{
    const char *o = getenv("SPARSE_BENCH_ONLY");
    return !o || !*o || strstr(o, name) != NULL;
}

/* SPARSE_BENCH_FILES=a,b: only the files whose names contain one of the comma-separated words */
static int file_on(const char *name)
{
    const char *o = getenv("SPARSE_BENCH_FILES");
    char word[256];
    if (!o || !*o) return 1;
    while (*o) {
        size_t k = strcspn(o, ",");
        if (k > 0 && k < sizeof word) {
            memcpy(word, o, k);
            word[k] = 0;
            if (strstr(name, word)) return 1;
        }
        o += k + (o[k] == ',');
    }
    return 0;
}

/* repetitions so that one measurement takes roughly 0.3 s in total (3..15) */
static int reps_for(double one)
{
    int r = one > 0 ? (int)(0.3 / one) : 15;
    return r < 3 ? 3 : r > 15 ? 15 : r;
}

/* One matrix, lower triangle in CSC, measured on both sides. */
typedef struct result {
    double an_d, fa_d, so_d, an_c, fa_c, so_c, lnz_d, lnz_c, st_d, st_c, fl_d, fl_c;
    int ok;
} result;

static result run_pair(cholmod_common *cc, int n, int *Ap, int *Ai, double *Ax)
{
    result R;
    dopt_sparse_symbolic *S = NULL;
    dopt_sparse_numeric_d *F = NULL;
    cholmod_sparse A;
    cholmod_factor *L = NULL;
    cholmod_dense *B, *X = NULL, *Y = NULL, *E = NULL;
    double t, *b, *x;
    int r, reps, i;
    dopt_errinfo info;
    memset(&R, 0, sizeof R);
    b = (double *)malloc(sizeof(double) * (size_t)n);
    x = (double *)malloc(sizeof(double) * (size_t)n);
    for (i = 0; i < n; ++i) b[i] = 1.0 + (double)(i % 7);
    memset(&A, 0, sizeof A);
    A.nrow = A.ncol = (size_t)n;
    A.nzmax = (size_t)Ap[n];
    A.p = Ap;
    A.i = Ai;
    A.x = Ax;
    A.stype = -1;
    A.itype = CHOLMOD_INT;
    A.xtype = CHOLMOD_REAL;
    A.dtype = CHOLMOD_DOUBLE;
    A.sorted = 0;
    A.packed = 1;
    /* analyze */
    R.an_d = R.an_c = 1e30;
    for (r = 0; r < 3; ++r) {
        t = now();
        if (dopt_sparse_analyze(NULL, n, Ap, Ai, DOPT_LOWER, NULL, &S, &info) != DOPT_OK) {
            printf("# dopt analyze failed: %s\n", info.message);
            goto out;
        }
        t = now() - t;
        if (t < R.an_d) R.an_d = t;
        if (r < 2) dopt_sparse_symbolic_destroy(S);
        t = now();
        L = cholmod_analyze(&A, cc);
        t = now() - t;
        if (!L) { printf("# cholmod_analyze failed\n"); goto out; }
        if (t < R.an_c) R.an_c = t;
        if (r < 2) cholmod_free_factor(&L, cc);
    }
    R.lnz_d = S->nnz_l;
    R.lnz_c = cc->lnz;
    R.fl_d = S->flops;
    R.fl_c = cc->fl;
    /* factor (first call sets up, then refactorizations are timed) */
    if (dopt_sparse_numeric_create_d(S, 1, &F) != DOPT_OK || dopt_sparse_factor_d(F, Ax, &info) != DOPT_OK) {
        printf("# dopt factor failed: %s\n", info.message);
        goto out;
    }
    if (!cholmod_factorize(&A, L, cc) || cc->status != CHOLMOD_OK) { printf("# cholmod_factorize failed\n"); goto out; }
    R.st_d = (double)S->nnz_storage;
    R.st_c = (double)L->xsize;
    t = now();
    dopt_sparse_factor_d(F, Ax, NULL);
    reps = reps_for(now() - t);
    R.fa_d = R.fa_c = 1e30;
    for (r = 0; r < reps; ++r) {
        t = now();
        dopt_sparse_factor_d(F, Ax, NULL);
        t = now() - t;
        if (t < R.fa_d) R.fa_d = t;
        t = now();
        cholmod_factorize(&A, L, cc);
        t = now() - t;
        if (t < R.fa_c) R.fa_c = t;
    }
    /* solve, one right-hand side */
    B = cholmod_allocate_dense((size_t)n, 1, (size_t)n, CHOLMOD_REAL, cc);
    memcpy(B->x, b, sizeof(double) * (size_t)n);
    R.so_d = R.so_c = 1e30;
    for (r = 0; r < 3 * reps; ++r) {
        memcpy(x, b, sizeof(double) * (size_t)n);
        t = now();
        dopt_sparse_solve_d(F, 1, x, n);
        t = now() - t;
        if (t < R.so_d) R.so_d = t;
        t = now();
        cholmod_solve2(CHOLMOD_A, L, B, NULL, &X, NULL, &Y, &E, cc);
        t = now() - t;
        if (t < R.so_c) R.so_c = t;
    }
    {   /* both solutions agree */
        double d = 0, s = 0;
        for (i = 0; i < n; ++i) {
            double e = x[i] - ((double *)X->x)[i];
            d = fabs(e) > d ? fabs(e) : d;
            s = fabs(x[i]) > s ? fabs(x[i]) : s;
        }
        if (d > 1e-6 * s) printf("# WARNING: dopt and CHOLMOD solutions differ by %g (scale %g)\n", d, s);
    }
    cholmod_free_dense(&B, cc);
    cholmod_free_dense(&X, cc);
    cholmod_free_dense(&Y, cc);
    cholmod_free_dense(&E, cc);
    R.ok = 1;
out:
    cholmod_free_factor(&L, cc);
    dopt_sparse_numeric_destroy_d(F);
    dopt_sparse_symbolic_destroy(S);
    free(b);
    free(x);
    return R;
}

static void print_result(const char *kase, int n, int nnz, const result *R, int gflops)
{
    printf("bench sparse %s backend=%s n=%d nnzA=%d lnz_dopt=%.0f lnz_chol=%.0f lnz_ratio=%.3f store_dopt=%.0f "
           "store_chol=%.0f analyze_ms=%.3f analyze_chol_ms=%.3f analyze_ratio=%.2f factor_ms=%.3f "
           "factor_chol_ms=%.3f solve_ms=%.3f solve_chol_ms=%.3f solve_ratio=%.2f",
           kase, backend_label(), n, nnz, R->lnz_d, R->lnz_c, R->lnz_d / R->lnz_c, R->st_d, R->st_c, 1e3 * R->an_d,
           1e3 * R->an_c, R->an_d / R->an_c, 1e3 * R->fa_d, 1e3 * R->fa_c, 1e3 * R->so_d, 1e3 * R->so_c,
           R->so_d / R->so_c);
    if (gflops)
        printf(" gflops_dopt=%.2f gflops_chol=%.2f", R->fl_d / R->fa_d * 1e-9, R->fl_c / R->fa_c * 1e-9);
    printf(" ratio=%.3f\n", R->fa_d / R->fa_c);
    fflush(stdout);
}

/* ---- Matrix Market files ---------------------------------------------------------------------- */
static void bench_spd(cholmod_common *cc, const char *dir)
{
    char path[2048];
    DIR *d;
    struct dirent *e;
    snprintf(path, sizeof path, "%s/spd", dir);
    d = opendir(path);
    if (!d) { printf("# no %s: SPD files skipped\n", path); return; }
    while ((e = readdir(d)) != NULL) {
        dopt_sparse_csc_d A;
        dopt_errinfo info;
        size_t len = strlen(e->d_name);
        char kase[300];
        result R;
        if (len < 5 || strcmp(e->d_name + len - 4, ".mtx") != 0) continue;
        if (!file_on(e->d_name)) continue;
        snprintf(path, sizeof path, "%s/spd/%s", dir, e->d_name);
        if (dopt_sparse_read_mm_d(NULL, path, &A, &info) != DOPT_OK) {
            printf("# %s: %s (line %ld)\n", path, info.message, info.line);
            continue;
        }
        R = run_pair(cc, A.ncols, A.p, A.i, A.x);
        snprintf(kase, sizeof kase, "spd/%.*s", (int)(len - 4), e->d_name);
        if (R.ok) print_result(kase, A.ncols, A.p[A.ncols], &R, 0);
        dopt_sparse_csc_destroy_d(&A);
    }
    closedir(d);
}

/* ---- pose graphs: Gauss-Newton Hessians ------------------------------------------------------- */

/* Read the edges (i, j) of a g2o file; returns the number of edges, poses in *npose. */
static int read_g2o_edges(const char *path, int **ei, int **ej, int *npose)
{
    FILE *f = fopen(path, "r");
    char line[4096];
    int m = 0, cap = 1024, maxid = -1;
    if (!f) return -1;
    *ei = (int *)malloc(sizeof(int) * (size_t)cap);
    *ej = (int *)malloc(sizeof(int) * (size_t)cap);
    while (fgets(line, sizeof line, f)) {
        int a, b;
        if (strncmp(line, "EDGE_", 5) != 0) continue;
        if (sscanf(line, "%*s %d %d", &a, &b) != 2 || a == b) continue;
        if (m == cap) {
            cap *= 2;
            *ei = (int *)realloc(*ei, sizeof(int) * (size_t)cap);
            *ej = (int *)realloc(*ej, sizeof(int) * (size_t)cap);
        }
        (*ei)[m] = a;
        (*ej)[m++] = b;
        if (a > maxid) maxid = a;
        if (b > maxid) maxid = b;
    }
    fclose(f);
    *npose = maxid + 1;
    return m;
}

/* The Gauss-Newton Hessian H = sum over edges of J^T J + I of a pose graph with bs x bs blocks
 * (random J: edge k's Jacobian is bs x 2bs, its two bs x bs ROW-MAJOR blocks for ei[k] then
 * ej[k], N(0,1) from dopt_rng with this seed), stored as the lower block triangle in CSC with
 * full diagonal blocks and sorted block rows: the layout dopt's least-squares layer hands its
 * linear solver, the same matrix for dopt and CHOLMOD. */
typedef struct pgo_matrix {
    int n, *Hp, *Hi;
    double *Hx;
} pgo_matrix;

static void pgo_matrix_free(pgo_matrix *H)
{
    free(H->Hp); free(H->Hi); free(H->Hx);
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* Offset of block row hi inside block column lo (hi >= lo), from the sorted block rows. */
static int pgo_block_row(const int *bp, const int *brow, int bs, int hi, int lo)
{
    int l = bp[lo], u = bp[lo + 1] - 1;
    if (hi == lo) return 0;
    while (l < u) {
        int mid = (l + u) / 2;
        if (brow[mid] < hi) l = mid + 1;
        else u = mid;
    }
    return bs * (1 + l - bp[lo]);
}

/* Pattern of H: bp/brow the distinct block rows below the diagonal of each block column. */
static void pgo_pattern(int npose, int m, const int *ei, const int *ej, int bs, int *bp, int *brow, pgo_matrix *H)
{
    int *fill = (int *)malloc(sizeof(int) * ((size_t)npose + 1)), k, v, p, q = 0, c, r, pos = 0;
    for (v = 0; v <= npose; ++v) bp[v] = 0;
    for (k = 0; k < m; ++k) bp[(ei[k] < ej[k] ? ei[k] : ej[k]) + 1]++;
    for (v = 0; v < npose; ++v) bp[v + 1] += bp[v];
    for (v = 0; v <= npose; ++v) fill[v] = bp[v];
    for (k = 0; k < m; ++k) brow[fill[ei[k] < ej[k] ? ei[k] : ej[k]]++] = ei[k] < ej[k] ? ej[k] : ei[k];
    for (v = 0; v < npose; ++v) { /* sort and deduplicate each block column */
        int start = q;
        qsort(brow + bp[v], (size_t)(bp[v + 1] - bp[v]), sizeof(int), cmp_int);
        for (p = bp[v]; p < bp[v + 1]; ++p)
            if (q == start || brow[q - 1] != brow[p]) brow[q++] = brow[p];
        bp[v] = start;
    }
    bp[npose] = q;
    H->n = npose * bs;
    H->Hp = (int *)malloc(sizeof(int) * ((size_t)H->n + 1));
    H->Hi = (int *)malloc(sizeof(int) * ((size_t)bs * bs * ((size_t)npose + (size_t)q)));
    for (v = 0; v < npose; ++v)
        for (c = 0; c < bs; ++c) {
            H->Hp[v * bs + c] = pos;
            for (r = 0; r < bs; ++r) H->Hi[pos++] = v * bs + r;
            for (p = bp[v]; p < bp[v + 1]; ++p)
                for (r = 0; r < bs; ++r) H->Hi[pos++] = brow[p] * bs + r;
        }
    H->Hp[H->n] = pos;
    free(fill);
}

/* Returns 0 (nothing allocated) when an edge joins a pose to itself or leaves 0..npose-1. */
static int pgo_hessian(int npose, int m, const int *ei, const int *ej, int bs, unsigned seed, pgo_matrix *H)
{
    int *bp, *brow, k, v, a, b, c, ra, q;
    double *J;
    dopt_rng rng;
    memset(H, 0, sizeof *H);
    for (k = 0; k < m; ++k)
        if (ei[k] == ej[k] || ei[k] < 0 || ej[k] < 0 || ei[k] >= npose || ej[k] >= npose) return 0;
    bp = (int *)malloc(sizeof(int) * ((size_t)npose + 1));
    brow = (int *)malloc(sizeof(int) * ((size_t)m + 1));
    pgo_pattern(npose, m, ei, ej, bs, bp, brow, H);
    J = (double *)malloc(sizeof(double) * 2 * (size_t)bs * bs * (size_t)m);
    dopt_rng_seed(&rng, seed, 0);
    dopt_rng_fill_normal_d(&rng, 2 * bs * bs * m, J, 0, 1);
    H->Hx = (double *)calloc((size_t)H->Hp[H->n], sizeof(double));
    for (k = 0; k < m; ++k) { /* block (va, vb), va >= vb, += J_a^T J_b, one entry at a time */
        const int vars[2] = {ei[k], ej[k]};
        for (b = 0; b < 2; ++b)
            for (a = 0; a < 2; ++a) {
                const int va = vars[a], vb = vars[b];
                const double *Ja = J + (size_t)(2 * k + a) * bs * bs, *Jb = J + (size_t)(2 * k + b) * bs * bs;
                const int roff = va >= vb ? pgo_block_row(bp, brow, bs, va, vb) : 0;
                if (va < vb) continue;
                for (c = 0; c < bs; ++c) {
                    double *Hcol = H->Hx + H->Hp[vb * bs + c] + roff;
                    for (ra = 0; ra < bs; ++ra) {
                        double acc = 0;
                        for (q = 0; q < bs; ++q) acc += Ja[q * bs + ra] * Jb[q * bs + c];
                        Hcol[ra] += acc;
                    }
                }
            }
    }
    for (v = 0; v < H->n; ++v) H->Hx[H->Hp[v] + v % bs] += 1.0; /* diagonal shift: H + I */
    free(bp); free(brow); free(J);
    return 1;
}

/* 64 matrices with one pattern: dopt batch refactorization vs 64 CHOLMOD refactorizations. */
static void bench_batch(cholmod_common *cc, const char *kase, int n, int *Ap, int *Ai, const double *Ax)
{
    enum { NB = 64 };
    int nnz = Ap[n], b, q, r;
    dopt_sparse_symbolic *S = NULL;
    dopt_sparse_numeric_d *F = NULL;
    cholmod_sparse A;
    cholmod_factor *L;
    double *vals, td = 1e30, tc = 1e30, t;
    if (dopt_sparse_analyze(NULL, n, Ap, Ai, DOPT_LOWER, NULL, &S, NULL) != DOPT_OK) return;
    /* 64 factors of the largest 3-D graphs (torus3D, cubicle) take a few GB: allowed up to 8 GB
       (SPARSE_BENCH_BATCH_GB overrides), skipped above with the size printed */
    if ((double)S->nnz_storage * NB * 8 > 1e9 * (getenv("SPARSE_BENCH_BATCH_GB") ? atof(getenv("SPARSE_BENCH_BATCH_GB")) : 8.0)) {
        printf("# %s: batch skipped (%.0f MB)\n", kase, (double)S->nnz_storage * NB * 8 / 1e6);
        dopt_sparse_symbolic_destroy(S);
        return;
    }
    vals = (double *)malloc(sizeof(double) * (size_t)nnz * NB);
    for (b = 0; b < NB; ++b)
        for (q = 0; q < nnz; ++q) vals[(size_t)b * nnz + q] = Ax[q] * (1.0 + 0.01 * b);
    if (dopt_sparse_numeric_create_d(S, NB, &F) != DOPT_OK) { free(vals); dopt_sparse_symbolic_destroy(S); return; }
    memset(&A, 0, sizeof A);
    A.nrow = A.ncol = (size_t)n;
    A.nzmax = (size_t)nnz;
    A.p = Ap;
    A.i = Ai;
    A.stype = -1;
    A.itype = CHOLMOD_INT;
    A.xtype = CHOLMOD_REAL;
    A.dtype = CHOLMOD_DOUBLE;
    A.packed = 1;
    A.x = vals;
    L = cholmod_analyze(&A, cc);
    cholmod_factorize(&A, L, cc);
    dopt_sparse_factor_batch_d(F, NB, vals, nnz, NULL);
    for (r = 0; r < 3; ++r) {
        t = now();
        dopt_sparse_factor_batch_d(F, NB, vals, nnz, NULL);
        t = now() - t;
        if (t < td) td = t;
        t = now();
        for (b = 0; b < NB; ++b) {
            A.x = vals + (size_t)b * nnz;
            cholmod_factorize(&A, L, cc);
        }
        t = now() - t;
        if (t < tc) tc = t;
    }
    printf("bench sparse batch64/%s backend=%s n=%d batch=%d factor_ms=%.3f factor_chol_ms=%.3f speedup=%.2f ratio=%.3f\n",
           kase, backend_label(), n, NB, 1e3 * td, 1e3 * tc, tc / td, td / tc);
    fflush(stdout);
    cholmod_free_factor(&L, cc);
    dopt_sparse_numeric_destroy_d(F);
    dopt_sparse_symbolic_destroy(S);
    free(vals);
}

static void bench_pgo(cholmod_common *cc, const char *dir, const char *sub, int bs)
{
    char path[2048];
    DIR *d;
    struct dirent *e;
    snprintf(path, sizeof path, "%s/%s", dir, sub);
    d = opendir(path);
    if (!d) { printf("# no %s: pose graphs skipped\n", path); return; }
    while ((e = readdir(d)) != NULL) {
        int *ei = NULL, *ej = NULL, npose = 0, m;
        size_t len = strlen(e->d_name);
        char kase[300];
        pgo_matrix H;
        result R;
        if (len < 5 || strcmp(e->d_name + len - 4, ".g2o") != 0) continue;
        if (!file_on(e->d_name)) continue;
        snprintf(path, sizeof path, "%s/%s/%s", dir, sub, e->d_name);
        m = read_g2o_edges(path, &ei, &ej, &npose);
        if (m <= 0) { free(ei); free(ej); continue; }
        snprintf(kase, sizeof kase, "%s/%.*s", sub, (int)(len - 4), e->d_name);
        if (pgo_hessian(npose, m, ei, ej, bs, 7, &H)) {
            R = run_pair(cc, H.n, H.Hp, H.Hi, H.Hx);
            if (R.ok) print_result(kase, H.n, H.Hp[H.n], &R, 0);
            if (!getenv("SPARSE_BENCH_NO_BATCH")) bench_batch(cc, kase, H.n, H.Hp, H.Hi, H.Hx);
            pgo_matrix_free(&H);
        }
        free(ei); free(ej);
    }
    closedir(d);
}

/* ---- grid Laplacians and the dgemm rate --------------------------------------------------------- */
static void bench_grid(cholmod_common *cc, int g)
{
    int n = g * g * g, x, y, z, q = 0, *Ap = (int *)malloc(sizeof(int) * ((size_t)n + 1));
    int *Ai = (int *)malloc(sizeof(int) * 4 * (size_t)n);
    double *Ax = (double *)malloc(sizeof(double) * 4 * (size_t)n);
    char kase[64];
    result R;
    for (x = 0; x < g; ++x)
        for (y = 0; y < g; ++y)
            for (z = 0; z < g; ++z) {
                int id = (x * g + y) * g + z;
                Ap[id] = q;
                Ai[q] = id; Ax[q++] = 6.0 + 1e-2;
                if (z + 1 < g) { Ai[q] = id + 1; Ax[q++] = -1; }
                if (y + 1 < g) { Ai[q] = id + g; Ax[q++] = -1; }
                if (x + 1 < g) { Ai[q] = id + g * g; Ax[q++] = -1; }
            }
    Ap[n] = q;
    R = run_pair(cc, n, Ap, Ai, Ax);
    snprintf(kase, sizeof kase, "grid3d_%d", g);
    if (R.ok) print_result(kase, n, q, &R, 1);
    free(Ap); free(Ai); free(Ax);
}

/* A dense SPD matrix of n = 1002 through the sparse factorization: one supernode of 1002 columns
 * (the Theseus 1024-pose Hessian ends in one, issue 27).  Its factor rate is set beside the dgemm
 * rates of the same run, dopt_gemm and OpenBLAS (n = 1002, C -= A B^T), and dense dopt_potrf on
 * the same matrix, each the best of several calls taken in turn.  frac_* = factor GFLOP/s over
 * that gemm's GFLOP/s (the target is >= 0.8); ratio = OpenBLAS dgemm rate / factor rate. */
static void bench_dense_supernode(void)
{
    const int n = 1002;
    const size_t nn = (size_t)n * n, nnz = (size_t)n * (n + 1) / 2;
    int *Ap = (int *)malloc(sizeof(int) * ((size_t)n + 1)), *Ai = (int *)malloc(sizeof(int) * nnz);
    double *Ax = (double *)malloc(sizeof(double) * nnz), *M = (double *)malloc(sizeof(double) * nn);
    double *G = (double *)malloc(sizeof(double) * nn), *W = (double *)malloc(sizeof(double) * nn);
    double *C = (double *)malloc(sizeof(double) * nn), best[4] = {1e30, 1e30, 1e30, 1e30}, spread[4] = {0, 0, 0, 0};
    double fl_f, fl_g = 2.0 * n * n * n, fl_p = (double)n * n * n / 3.0, t;
    dopt_sparse_symbolic *S = NULL;
    dopt_sparse_numeric_d *F = NULL;
    dopt_errinfo info;
    dopt_rng rng;
    int i, j, r, who, q = 0, col;
    dopt_rng_seed(&rng, 7, 0);
    dopt_rng_fill_uniform_d(&rng, (int)nn, M, -1, 1);
    dopt_gemm_d(DOPT_NOTRANS, DOPT_TRANS, n, n, n, 1.0 / n, M, n, M, n, 0, G, n); /* G = M M^T / n + I */
    for (j = 0; j < n; ++j) {
        G[j + (size_t)j * n] += 1;
        Ap[j] = q;
        for (i = j; i < n; ++i) { Ai[q] = i; Ax[q++] = G[i + (size_t)j * n]; }
    }
    Ap[n] = q;
    if (dopt_sparse_analyze(NULL, n, Ap, Ai, DOPT_LOWER, NULL, &S, &info) != DOPT_OK ||
        dopt_sparse_numeric_create_d(S, 1, &F) != DOPT_OK || dopt_sparse_factor_d(F, Ax, &info) != DOPT_OK) {
        printf("# dense supernode: %s\n", info.message);
        goto out;
    }
    fl_f = S->flops;
    for (r = 0; r < 8; ++r)
        for (who = 0; who < 4; ++who) {
            if (who == 3) memcpy(W, G, sizeof(double) * nn);
            t = now();
            if (who == 0) dopt_sparse_factor_d(F, Ax, NULL);
            else if (who == 1) dopt_gemm_d(DOPT_NOTRANS, DOPT_TRANS, n, n, n, -1, M, n, G, n, 1, C, n);
            else if (who == 2) cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, n, n, n, -1, M, n, G, n, 1, C, n);
            else dopt_potrf_d(n, W, n, &col);
            t = now() - t;
            if (r == 0 || t < best[who]) best[who] = t;
            if (r == 0 || t > spread[who]) spread[who] = t; /* the slowest call, for the spread */
        }
    printf("bench sparse dense_supernode backend=%s n=%d nsuper=%d gflops_factor=%.2f gflops_potrf=%.2f "
           "gflops_dopt_gemm=%.2f gflops_openblas=%.2f frac_dopt_gemm=%.3f frac_openblas=%.3f "
           "spread_factor=%.2f spread_openblas=%.2f ratio=%.3f\n",
           backend_label(), n, S->nsuper, fl_f / best[0] * 1e-9, fl_p / best[3] * 1e-9, fl_g / best[1] * 1e-9,
           fl_g / best[2] * 1e-9, (fl_f / best[0]) / (fl_g / best[1]), (fl_f / best[0]) / (fl_g / best[2]),
           spread[0] / best[0], spread[2] / best[2], (fl_g / best[2]) / (fl_f / best[0]));
    fflush(stdout);
out:
    dopt_sparse_numeric_destroy_d(F);
    dopt_sparse_symbolic_destroy(S);
    free(Ap); free(Ai); free(Ax); free(M); free(G); free(W); free(C);
}

static void bench_dgemm_peak(void)
{
    int n = 1200, i, r;
    double *A = (double *)malloc(sizeof(double) * (size_t)n * n), *B = (double *)malloc(sizeof(double) * (size_t)n * n);
    double *C = (double *)malloc(sizeof(double) * (size_t)n * n), best = 1e30, bestd = 1e30, t;
    for (i = 0; i < n * n; ++i) { A[i] = (double)(i % 13) / 13; B[i] = (double)(i % 7) / 7; C[i] = 0; }
    for (r = 0; r < 3; ++r) {
        t = now();
        cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, n, n, n, 1.0, A, n, B, n, 0.0, C, n);
        t = now() - t;
        if (t < best) best = t;
        t = now();
        dopt_gemm_d(DOPT_NOTRANS, DOPT_TRANS, n, n, n, 1.0, A, n, B, n, 0.0, C, n);
        t = now() - t;
        if (t < bestd) bestd = t;
    }
    printf("bench sparse dgemm_peak backend=%s n=%d gflops_openblas=%.2f gflops_dopt_gemm=%.2f ratio=%.3f\n",
           backend_label(), n, 2.0 * n * n * n / best * 1e-9, 2.0 * n * n * n / bestd * 1e-9, bestd / best);
    fflush(stdout);
    free(A); free(B); free(C);
}

int main(void)
{
    cholmod_common c;
    const char *dir = getenv("DOPT_DATA_DIR");
    if (!dir || !*dir) dir = "../shared/data";
    cholmod_start(&c);
    c.supernodal = CHOLMOD_SUPERNODAL;
    c.nmethods = 1;               /* AMD only: both sides factor with the same kind of ordering */
    c.method[0].ordering = CHOLMOD_AMD;
    c.postorder = 1;
    c.final_asis = 1;
    printf("# CHOLMOD %d.%d.%d (supernodal, AMD ordering, postordered), BLAS: OpenBLAS %s\n", CHOLMOD_MAIN_VERSION,
           CHOLMOD_SUB_VERSION, CHOLMOD_SUBSUB_VERSION, openblas_get_config());
    printf("# dopt %s, kernel family %s, dense kernels: %s\n", DOPT_VERSION_STRING, dopt_kernel_family(),
#ifdef DOPT_USE_CBLAS
           "OpenBLAS (DOPT_USE_CBLAS)"
#else
           "built-in"
#endif
    );
    if (section_on("grid")) bench_dgemm_peak();
    if (section_on("dense")) bench_dense_supernode();
    if (section_on("spd")) bench_spd(&c, dir);
    if (section_on("pgo")) {
        bench_pgo(&c, dir, "pgo2d", 3);
        bench_pgo(&c, dir, "pgo3d", 6);
    }
    if (section_on("grid")) {
        bench_grid(&c, 30);
        bench_grid(&c, 50);
    }
    cholmod_finish(&c);
    return 0;
}
