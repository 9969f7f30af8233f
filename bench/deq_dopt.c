/* bench/deq_dopt.c — dopt's side of `make bench-deq`.
 *   deq_dopt OUTDIR N...
 * For each n: the tanh layer z = tanh(W z + U x + b), batch 32, input p = 32, W Gaussian rescaled
 * to spectral norm 0.9, U, b, x Gaussian (seeded).  Forward to relative residual 1e-6 (per
 * element, abs off) by Picard, Anderson (m = 6) and Broyden (m = 6); implicit backward of
 * L = sum z*^2 (Anderson adjoint, relative 1e-6) giving dW, dU, db, dx.  Times are the best of
 * several runs (process CPU time, one thread: the machine may be shared).  Writes OUTDIR/deq_<n>.bin (the problem, float64) for
 * the peers, OUTDIR/deq_<n>_grad.bin (dW of a tight solve, 1e-12, for the gradient comparison)
 * and OUTDIR/deq_<n>_dopt_<DEQ_BACKEND>.txt (the times, read by deq_peer.py for the ratios).
 * The gemm line times the map's product in its two shapes, W z (nn_ms) and z^T W^T (tn_ms; the
 * tanh layer calls W z on the AVX-512 kernels, z^T W^T elsewhere); dgemm_gflops is the faster
 * one's rate.  anderson_solve_gflops counts only the map's products (2 n^2 per element per map
 * call after the first, at z = 0, which has none; converged elements leave the product): its
 * fraction of that dgemm rate is the share of the solve spent in dgemm. */
#define _POSIX_C_SOURCE 199309L
#define DOPT_IMPLEMENTATION
#include "dopt_deq.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define B 32
#define P 32

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static double spectral_norm(int n, const double *W, double *v, double *w)
{
    double nrm = 0;
    int i, it;
    for (i = 0; i < n; ++i) v[i] = 1.0 / sqrt((double)n);
    for (it = 0; it < 200; ++it) {
        double s;
        dopt_gemv_d(DOPT_NOTRANS, n, n, 1, W, n, v, 1, 0, w, 1);
        dopt_gemv_d(DOPT_TRANS, n, n, 1, W, n, w, 1, 0, v, 1);
        s = sqrt(dopt_dot_d(n, v, 1, v, 1));
        for (i = 0; i < n; ++i) v[i] /= s;
        nrm = sqrt(s);
    }
    return nrm;
}

typedef struct run {
    dopt_deq_solver_d *s;
    dopt_deq_tanh_d *L;
    double *z;
    int n;
} run;

static int forward(run *r, dopt_deq_report *rep)
{
    memset(r->z, 0, sizeof(double) * (size_t)r->n * B);
    return dopt_deq_solve_d(r->s, dopt_deq_tanh_map_d, r->L, r->z, r->n, rep, NULL, 0, NULL) == DOPT_OK;
}

int main(int argc, char **argv)
{
    int a;
    if (argc < 3) {
        fprintf(stderr, "usage: %s OUTDIR N...\n", argv[0]);
        return 2;
    }
    for (a = 2; a < argc; ++a) {
        const int n = atoi(argv[a]);
        const size_t nn = (size_t)n * n;
        double *W = malloc(nn * sizeof(double)), *U = malloc((size_t)n * P * sizeof(double));
        double *bias = malloc((size_t)n * sizeof(double)), *x = malloc((size_t)P * B * sizeof(double));
        double *z = malloc((size_t)n * B * sizeof(double)), *g = malloc((size_t)n * B * sizeof(double));
        double *dW = malloc(nn * sizeof(double)), *dU = malloc((size_t)n * P * sizeof(double));
        double *db = malloc((size_t)n * sizeof(double)), *dx = malloc((size_t)P * B * sizeof(double));
        double *C = malloc((size_t)n * B * sizeof(double));
        double *WT = malloc(nn * sizeof(double));
        double fwd_ms[3], bwd_ms = 1e300, gemm_ms = 1e300, gemm_shape_ms[2], s;
        int iters_max[3], it_total[3], bwd_iters = 0, m, k;
        long cols_done = 0; /* element products of the Anderson solve */
        const char *names[3] = {"picard", "anderson", "broyden"};
        const char *backend = getenv("DEQ_BACKEND") ? getenv("DEQ_BACKEND") : "builtin";
        dopt_rng rng;
        dopt_deq_tanh_d *L;
        char path[1024];
        FILE *fp;
        run r;
        size_t i;
        dopt_rng_seed(&rng, 2024, (uint64_t)n);
        for (i = 0; i < nn; ++i) W[i] = dopt_rng_normal_d(&rng);
        s = 0.9 / spectral_norm(n, W, g, z);
        for (i = 0; i < nn; ++i) W[i] *= s;
        for (i = 0; i < nn; ++i) WT[(i % n) * n + i / n] = W[i];
        for (i = 0; i < (size_t)n * P; ++i) U[i] = 0.2 * dopt_rng_normal_d(&rng) / sqrt((double)P);
        for (i = 0; i < (size_t)n; ++i) bias[i] = 0.1 * dopt_rng_normal_d(&rng);
        for (i = 0; i < (size_t)P * B; ++i) x[i] = dopt_rng_normal_d(&rng);
        snprintf(path, sizeof path, "%s/deq_%d.bin", argv[1], n);
        fp = fopen(path, "wb");
        if (!fp) { perror(path); return 1; }
        fwrite(W, sizeof(double), nn, fp);                 /* column-major n x n          */
        fwrite(U, sizeof(double), (size_t)n * P, fp);      /* column-major n x P          */
        fwrite(bias, sizeof(double), (size_t)n, fp);
        fwrite(x, sizeof(double), (size_t)P * B, fp);      /* column b = element b        */
        fclose(fp);
        dopt_deq_tanh_create_d(NULL, n, P, B, &L, NULL);
        dopt_deq_tanh_set_d(L, W, U, bias, x, P, NULL);
        r.L = L; r.z = z; r.n = n;
        for (m = 0; m < 3; ++m) {
            dopt_deq_options o = {0};
            dopt_deq_report rep[B];
            double t0, best = 1e300, spent = 0;
            int reps = 0;
            o.method = (dopt_deq_method)(m == 0 ? DOPT_DEQ_PICARD : m == 1 ? DOPT_DEQ_ANDERSON : DOPT_DEQ_BROYDEN);
            o.abs_tol = DOPT_OFF;
            o.rel_tol = 1e-6;
            o.memory = 6;
            o.max_iters = 500;
            dopt_deq_solver_create_d(NULL, n, B, &o, &r.s, NULL);
            while ((reps < 3 || spent < 0.3) && reps < 200) {
                int ok;
                t0 = now();
                ok = forward(&r, rep);
                t0 = now() - t0;
                if (!ok) { fprintf(stderr, "n=%d %s did not converge\n", n, names[m]); return 1; }
                best = t0 < best ? t0 : best;
                spent += t0;
                reps++;
            }
            fwd_ms[m] = 1e3 * best;
            iters_max[m] = 0;
            it_total[m] = (int)dopt_deq_solver_map_calls_d(r.s);
            for (k = 0; k < B; ++k) iters_max[m] = rep[k].iterations > iters_max[m] ? rep[k].iterations : iters_max[m];
            if (m == 1)
                for (k = 0; k < B; ++k) cols_done += rep[k].iterations - 1;
            if (m == 1) { /* implicit backward with the Anderson solver, from this z* */
                dopt_deq_report brep[B];
                spent = 0;
                reps = 0;
                while ((reps < 3 || spent < 0.3) && reps < 200) {
                    for (i = 0; i < (size_t)n * B; ++i) g[i] = 2 * z[i];
                    memset(dW, 0, nn * sizeof(double)); memset(dU, 0, (size_t)n * P * sizeof(double));
                    memset(db, 0, (size_t)n * sizeof(double)); memset(dx, 0, (size_t)P * B * sizeof(double));
                    t0 = now();
                    if (dopt_deq_tanh_backward_d(L, r.s, NULL, z, n, g, n, dW, dU, db, dx, P, brep, NULL) != DOPT_OK) {
                        fprintf(stderr, "backward failed\n");
                        return 1;
                    }
                    t0 = now() - t0;
                    bwd_ms = 1e3 * t0 < bwd_ms ? 1e3 * t0 : bwd_ms;
                    spent += t0;
                    reps++;
                }
                bwd_iters = 0;
                for (k = 0; k < B; ++k) bwd_iters = brep[k].iterations > bwd_iters ? brep[k].iterations : bwd_iters;
            }
            dopt_deq_solver_destroy_d(r.s);
        }
        { /* the dgemm rate of the map's product W z (n x n times n x 32), the best of its two
           * shapes: W z (NN) and z^T W^T (TN, 32 x n x n); dopt_deq_tanh_map calls NN on the
           * AVX-512 kernels, TN elsewhere */
            int shape;
            for (shape = 0; shape < 2; ++shape) {
                double spent = 0, t0, best = 1e300;
                int reps = 0;
                while ((reps < 5 || spent < 0.2) && reps < 2000) {
                    t0 = now();
                    if (shape == 0) dopt_gemm_d(DOPT_NOTRANS, DOPT_NOTRANS, n, B, n, 1, W, n, g, n, 0, C, n);
                    else dopt_gemm_d(DOPT_TRANS, DOPT_NOTRANS, B, n, n, 1, g, n, WT, n, 0, C, B);
                    t0 = now() - t0;
                    best = t0 < best ? t0 : best;
                    spent += t0;
                    reps++;
                }
                gemm_shape_ms[shape] = 1e3 * best;
            }
            gemm_ms = gemm_shape_ms[0] < gemm_shape_ms[1] ? gemm_shape_ms[0] : gemm_shape_ms[1];
        }
        { /* tight solve for the gradient comparison */
            dopt_deq_options o = {0};
            dopt_deq_report rep[B];
            o.abs_tol = DOPT_OFF;
            o.rel_tol = 1e-12;
            o.max_iters = 500;
            dopt_deq_solver_create_d(NULL, n, B, &o, &r.s, NULL);
            if (!forward(&r, rep)) { fprintf(stderr, "tight solve failed\n"); return 1; }
            for (i = 0; i < (size_t)n * B; ++i) g[i] = 2 * z[i];
            memset(dW, 0, nn * sizeof(double));
            if (dopt_deq_tanh_backward_d(L, r.s, NULL, z, n, g, n, dW, NULL, NULL, NULL, 0, NULL, NULL) != DOPT_OK) {
                fprintf(stderr, "tight backward failed\n");
                return 1;
            }
            dopt_deq_solver_destroy_d(r.s);
            snprintf(path, sizeof path, "%s/deq_%d_grad.bin", argv[1], n);
            fp = fopen(path, "wb");
            if (!fp) { perror(path); return 1; }
            fwrite(dW, sizeof(double), nn, fp);
            fclose(fp);
        }
        {
            double gflops = 2.0 * n * n * B / (gemm_ms * 1e-3) * 1e-9;
            double solve_rate = 2.0 * n * n * (double)cols_done / (fwd_ms[1] * 1e-3) * 1e-9;
            for (m = 0; m < 3; ++m)
                printf("bench deq forward_n%d_%s lib=dopt backend=%s n=%d batch=%d iters=%d map_calls=%d ms=%.3f\n", n, names[m],
                       backend, n, B, iters_max[m], it_total[m], fwd_ms[m]);
            printf("bench deq backward_n%d lib=dopt backend=%s n=%d batch=%d adjoint=anderson iters=%d ms=%.3f\n", n, backend, n,
                   B, bwd_iters, bwd_ms);
            printf("bench deq gemm_n%d lib=dopt backend=%s m=%d n=%d k=%d nn_ms=%.4f tn_ms=%.4f dgemm_gflops=%.2f "
                   "anderson_solve_gflops=%.2f fraction_of_dgemm=%.2f\n", n, backend, n, B, n, gemm_shape_ms[0],
                   gemm_shape_ms[1], gflops, solve_rate, solve_rate / gflops);
            snprintf(path, sizeof path, "%s/deq_%d_dopt_%s.txt", argv[1], n, backend);
            fp = fopen(path, "w");
            if (!fp) { perror(path); return 1; }
            fprintf(fp, "picard %.6f\nanderson %.6f\nbroyden %.6f\nbackward %.6f\n", fwd_ms[0], fwd_ms[1], fwd_ms[2], bwd_ms);
            fclose(fp);
        }
        fflush(stdout);
        dopt_deq_tanh_destroy_d(L);
        free(W); free(U); free(bias); free(x); free(z); free(g); free(dW); free(dU); free(db); free(dx); free(C); free(WT);
    }
    return 0;
}
