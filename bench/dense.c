/* bench/dense.c — dopt's built-in dense kernels against OpenBLAS (one thread), side by side.
 * One line per measurement: bench dense <kernel> n=... dopt_gflops=... openblas_gflops=... ratio=...
 * ratio = dopt time / OpenBLAS time (process CPU time, best of several repetitions each, the two
 * called in turn); pair_min / pair_max: the range of the ratios of back-to-back calls (the noise). */
#define _POSIX_C_SOURCE 199309L
#define DOPT_IMPLEMENTATION
#include "dopt.h"
#include <cblas.h>
#include <lapacke.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t); /* CPU time (one thread): robust on a shared machine */
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

typedef struct job { const char *name; int n; double *A, *B, *C, *work; } job;

static void spd(int n, double *A, dopt_rng *rng)
{
    double *M = (double *)malloc(sizeof(double) * (size_t)n * n);
    int i;
    dopt_rng_fill_uniform_d(rng, n * n, M, -1, 1);
    dopt_gemm_d(DOPT_NOTRANS, DOPT_TRANS, n, n, n, 1.0 / n, M, n, M, n, 0, A, n);
    for (i = 0; i < n; ++i) A[i + (size_t)i * n] += 1;
    free(M);
}

/* the caller memory of dopt_gemm_ws (allocated once, outside the timings) */
static void *gemm_work;
static size_t gemm_work_bytes;

/* run kernel k (0 dopt, 1 openblas) once on fresh copies; returns seconds */
static double run_once(const char *kernel, int who, int n, const double *A, const double *B, double *C, double *W)
{
    double t = 0;
    int col;
    memcpy(W, A, sizeof(double) * (size_t)n * n);
    memcpy(C, B, sizeof(double) * (size_t)n * n);
    t = now();
    if (!strcmp(kernel, "gemm")) {
        if (who == 0) dopt_gemm_d(DOPT_NOTRANS, DOPT_TRANS, n, n, n, -1, W, n, B, n, 1, C, n);
        else cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, n, n, n, -1, W, n, B, n, 1, C, n);
    } else if (!strcmp(kernel, "gemm_ws")) { /* dopt_gemm_ws: op(B) packed into caller memory */
        if (who == 0) dopt_gemm_ws_d(DOPT_NOTRANS, DOPT_TRANS, n, n, n, -1, W, n, B, n, 1, C, n, gemm_work, gemm_work_bytes);
        else cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, n, n, n, -1, W, n, B, n, 1, C, n);
    } else if (!strcmp(kernel, "syrk")) {
        if (who == 0) dopt_syrk_d(DOPT_LOWER, DOPT_NOTRANS, n, n, -1, W, n, 1, C, n);
        else cblas_dsyrk(CblasColMajor, CblasLower, CblasNoTrans, n, n, -1, W, n, 1, C, n);
    } else if (!strcmp(kernel, "trsm")) {
        if (who == 0) dopt_trsm_d(DOPT_RIGHT, DOPT_LOWER, DOPT_TRANS, DOPT_NONUNIT, n, n, 1, W, n, C, n);
        else cblas_dtrsm(CblasColMajor, CblasRight, CblasLower, CblasTrans, CblasNonUnit, n, n, 1, W, n, C, n);
    } else if (!strcmp(kernel, "potrf")) {
        if (who == 0) dopt_potrf_d(n, W, n, &col);
        else LAPACKE_dpotrf(LAPACK_COL_MAJOR, 'L', n, W, n);
    }
    return now() - t;
}

/* The DEQ layer's product (dopt_deq.h, issue 26): C (m x n) -= A (m x k) B (k x n), with a short n. */
static void skinny(dopt_rng *rng)
{
    static const int shapes[][3] = {{1024, 32, 1024}, {256, 32, 256}, {64, 32, 64}};
    unsigned s;
    for (s = 0; s < sizeof shapes / sizeof shapes[0]; ++s) {
        int m = shapes[s][0], n = shapes[s][1], k = shapes[s][2], r, who;
        double *A = (double *)malloc(sizeof(double) * (size_t)m * k), *B = (double *)malloc(sizeof(double) * (size_t)k * n);
        double *C = (double *)calloc((size_t)m * n, sizeof(double)), best[2] = {1e30, 1e30}, flops = 2.0 * m * n * k;
        dopt_rng_fill_uniform_d(rng, m * k, A, -1, 1);
        dopt_rng_fill_uniform_d(rng, k * n, B, -1, 1);
        for (r = 0; r < 20; ++r)
            for (who = 0; who < 2; ++who) {
                double t = now();
                if (who == 0) dopt_gemm_d(DOPT_NOTRANS, DOPT_NOTRANS, m, n, k, -1, A, m, B, k, 1, C, m);
                else cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, m, n, k, -1, A, m, B, k, 1, C, m);
                t = now() - t;
                if (t < best[who]) best[who] = t;
            }
        printf("bench dense gemm m=%d n=%d k=%d dopt_gflops=%.2f openblas_gflops=%.2f ratio=%.3f\n", m, n, k,
               flops / best[0] * 1e-9, flops / best[1] * 1e-9, best[0] / best[1]);
        free(A); free(B); free(C);
    }
}

int main(void)
{
    static const char *kernels[] = {"gemm", "gemm_ws", "syrk", "trsm", "potrf"};
    static const int sizes[] = {32, 96, 256, 600, 1200};
    dopt_rng rng;
    unsigned s, k;
    dopt_rng_seed(&rng, 1, 0);
    gemm_work_bytes = dopt_gemm_workspace_size_d();
    gemm_work = malloc(gemm_work_bytes);
    printf("# dopt kernel family: %s\n", dopt_kernel_family());
    skinny(&rng);
    for (s = 0; s < sizeof sizes / sizeof sizes[0]; ++s) {
        int n = sizes[s];
        size_t nn = (size_t)n * n;
        double *A = (double *)malloc(sizeof(double) * nn), *B = (double *)malloc(sizeof(double) * nn);
        double *C = (double *)malloc(sizeof(double) * nn), *W = (double *)malloc(sizeof(double) * nn);
        spd(n, A, &rng);
        {   /* a factor for trsm: the Cholesky of A */
            int col;
            memcpy(B, A, sizeof(double) * nn);
            dopt_potrf_d(n, B, n, &col);
        }
        for (k = 0; k < sizeof kernels / sizeof kernels[0]; ++k) {
            const char *kern = kernels[k];
            const double *in = !strcmp(kern, "trsm") ? B : A;
            double flops = !strncmp(kern, "gemm", 4) ? 2.0 * n * n * n
                         : !strcmp(kern, "potrf") ? n * (double)n * n / 3.0 : (double)n * n * n;
            double best[2] = {1e30, 1e30}, pmin = 1e30, pmax = 0;
            int reps = n <= 96 ? 200 : (n <= 600 ? 10 : 6), r, who;
            double elapsed = 0;
            for (r = 0; r < reps || elapsed < 0.2; ++r) {
                double t[2];
                for (who = 0; who < 2; ++who) {
                    t[who] = run_once(kern, who, n, in, A, C, W);
                    elapsed += t[who];
                    if (t[who] < best[who]) best[who] = t[who];
                }
                if (t[0] / t[1] < pmin) pmin = t[0] / t[1];
                if (t[0] / t[1] > pmax) pmax = t[0] / t[1];
            }
            /* pair_min/pair_max: the spread of the ratios of calls made back to back */
            printf("bench dense %s n=%d dopt_gflops=%.2f openblas_gflops=%.2f pair_min=%.3f pair_max=%.3f ratio=%.3f\n",
                   kern, n, flops / best[0] * 1e-9, flops / best[1] * 1e-9, pmin, pmax, best[0] / best[1]);
            fflush(stdout);
        }
        free(A); free(B); free(C); free(W);
    }
    free(gemm_work);
    return 0;
}
