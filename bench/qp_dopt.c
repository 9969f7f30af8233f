/* bench/qp_dopt.c — dopt's side of `make bench-qp` (bench/qp.sh).  For each case (n, box) it
 * builds 128 random feasible QPs (m_eq = n/4, m_ineq = n; Q = M M^T/n + 0.1 I, a feasible x0, a
 * third of the G rows tight at x0), writes them to DIR/qp_<n>_<box>.bin for the peers, solves
 * them (forward) and differentiates L = sum(gx o x) (forward + backward), best of several
 * repeats, and writes its solutions and gradients (dp, dh) next to the data.
 * Usage: qp_dopt DIR.  Prints `dopt n=.. box=.. fwd_us=.. fwdbwd_us=.. kkt=..` per case. */
#define _POSIX_C_SOURCE 199309L
#define DOPT_IMPLEMENTATION
#include "dopt.h"
#include "dopt_mpc.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NB 128

/* DOPT_BENCH_CPU_TIME=1 (as for bench/qp_peer.py): thread CPU time instead of wall time, for a
 * machine shared with other jobs */
static double now_s(void)
{
    static int cpu = -1;
    struct timespec ts;
    if (cpu < 0) cpu = getenv("DOPT_BENCH_CPU_TIME") && atoi(getenv("DOPT_BENCH_CPU_TIME")) == 1;
    clock_gettime(cpu ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* one batch of random feasible QPs, contiguous per element */
typedef struct batch {
    int n, meq, mi, box;
    double *Q, *p, *A, *b, *G, *h, *l, *u, *gx;
} batch;

static void make_batch(batch *B, int n, int box, uint64_t seed)
{
    int meq = n / 4, mi = n, k, i, j, c;
    dopt_rng rng;
    double *M = malloc(sizeof(double) * n * n), *x0 = malloc(sizeof(double) * n);
    B->n = n; B->meq = meq; B->mi = mi; B->box = box;
    B->Q = malloc(sizeof(double) * NB * n * n);
    B->p = malloc(sizeof(double) * NB * n);
    B->A = malloc(sizeof(double) * NB * meq * n);
    B->b = malloc(sizeof(double) * NB * meq);
    B->G = malloc(sizeof(double) * NB * mi * n);
    B->h = malloc(sizeof(double) * NB * mi);
    B->l = malloc(sizeof(double) * NB * n);
    B->u = malloc(sizeof(double) * NB * n);
    B->gx = malloc(sizeof(double) * NB * n);
    dopt_rng_seed(&rng, seed, (uint64_t)n * 2 + box);
    for (k = 0; k < NB; ++k) {
        double *Q = B->Q + (size_t)k * n * n, *A = B->A + (size_t)k * meq * n, *G = B->G + (size_t)k * mi * n;
        dopt_rng_fill_normal_d(&rng, n * n, M, 0, 1);
        for (j = 0; j < n; ++j)
            for (i = 0; i < n; ++i) {
                double s = 0;
                for (c = 0; c < n; ++c) s += M[i + c * n] * M[j + c * n];
                Q[i + j * n] = s / n + (i == j ? 0.1 : 0);
            }
        dopt_rng_fill_normal_d(&rng, n, B->p + (size_t)k * n, 0, 1);
        dopt_rng_fill_normal_d(&rng, n, x0, 0, 0.5);
        dopt_rng_fill_normal_d(&rng, meq * n, A, 0, 1);
        dopt_rng_fill_normal_d(&rng, mi * n, G, 0, 1);
        for (i = 0; i < meq; ++i) {
            double s = 0;
            for (j = 0; j < n; ++j) s += A[i + j * meq] * x0[j];
            B->b[(size_t)k * meq + i] = s;
        }
        for (i = 0; i < mi; ++i) {
            double s = 0;
            for (j = 0; j < n; ++j) s += G[i + j * mi] * x0[j];
            B->h[(size_t)k * mi + i] = s + (i % 3 == 0 ? 0 : dopt_rng_uniform_d(&rng));
        }
        for (j = 0; j < n; ++j) {
            B->l[(size_t)k * n + j] = box ? x0[j] - (0.1 + dopt_rng_uniform_d(&rng)) : -INFINITY;
            B->u[(size_t)k * n + j] = box ? x0[j] + (0.1 + dopt_rng_uniform_d(&rng)) : INFINITY;
        }
        dopt_rng_fill_normal_d(&rng, n, B->gx + (size_t)k * n, 0, 1);
    }
    free(M);
    free(x0);
}

static void write_arr(FILE *f, const double *a, size_t len) { fwrite(a, sizeof(double), len, f); }

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : ".";
    int sizes[3] = {10, 50, 100}, si, box;
    for (si = 0; si < 3; ++si)
        for (box = 0; box < 2; ++box) {
            int n = sizes[si], rep, reps = n <= 10 ? 20 : n <= 50 ? 5 : 3;
            if (getenv("DOPT_QP_REPS")) reps = atoi(getenv("DOPT_QP_REPS"));
            batch B;
            dopt_mpc_qp_dims dims = {0, 0, 0, 0, 0};
            dopt_mpc_qp_d *qp;
            dopt_mpc_qp_data_d d;
            dopt_mpc_qp_grad_d g;
            dopt_mpc_qp_report *rep_ = malloc(sizeof(dopt_mpc_qp_report) * NB);
            double *x = malloc(sizeof(double) * NB * n), *gp = malloc(sizeof(double) * NB * n);
            double *gh = malloc(sizeof(double) * NB * n), *gQ = malloc(sizeof(double) * NB * n * n);
            double *gA = malloc(sizeof(double) * NB * n * (n / 4)), *gb = malloc(sizeof(double) * NB * (n / 4));
            double *gG = malloc(sizeof(double) * NB * n * n), *gl = malloc(sizeof(double) * NB * n);
            double *gu = malloc(sizeof(double) * NB * n);
            double best_f = 1e30, best_fb = 1e30, kkt = 0;
            int k, its = 0, npol = 0, nas = 0;
            char path[512];
            FILE *f;
            dopt_mpc_qp_options opt;
            memset(&opt, 0, sizeof opt);
            /* DOPT_QP_METHOD=1: the active-set method only, 2: the interior point method only */
            if (getenv("DOPT_QP_METHOD")) opt.method = (dopt_mpc_qp_method)atoi(getenv("DOPT_QP_METHOD"));
            /* DOPT_QP_CASE=N,BOX: that case only (profiling) */
            if (getenv("DOPT_QP_CASE")) {
                int cn = 0, cb = 0;
                if (sscanf(getenv("DOPT_QP_CASE"), "%d,%d", &cn, &cb) == 2 && (cn != n || cb != box)) {
                    free(rep_); free(x); free(gp); free(gh); free(gQ); free(gA); free(gb); free(gG); free(gl); free(gu);
                    continue;
                }
            }
            make_batch(&B, n, box, 2026);
            dims.n = n; dims.meq = B.meq; dims.mineq = B.mi; dims.box = box;
            if (dopt_mpc_qp_create_d(NULL, &dims, NB, &qp, NULL) != DOPT_OK) return 1;
            memset(&d, 0, sizeof d);
            d.Q = B.Q; d.Q_stride = n * n; d.p = B.p; d.p_stride = n;
            d.A = B.A; d.A_stride = B.meq * n; d.b = B.b; d.b_stride = B.meq;
            d.G = B.G; d.G_stride = B.mi * n; d.h = B.h; d.h_stride = B.mi;
            d.l = B.l; d.l_stride = n; d.u = B.u; d.u_stride = n;
            memset(&g, 0, sizeof g);
            g.Q = gQ; g.Q_stride = n * n; g.p = gp; g.p_stride = n; g.A = gA; g.A_stride = B.meq * n;
            g.b = gb; g.b_stride = B.meq; g.G = gG; g.G_stride = n * n; g.h = gh; g.h_stride = n;
            g.l = gl; g.l_stride = n; g.u = gu; g.u_stride = n;
            for (rep = 0; rep < reps; ++rep) {
                double t0 = now_s(), t1, t2;
                dopt_status st = dopt_mpc_qp_solve_d(qp, &opt, NB, &d, x, n, rep_, NULL);
                t1 = now_s();
                dopt_mpc_qp_backward_d(qp, &opt, NB, &d, B.gx, n, &g, NULL, NULL);
                t2 = now_s();
                if (st != DOPT_OK && rep == 0) for (k = 0; k < NB; ++k) if (rep_[k].result) fprintf(stderr, "n=%d box=%d k=%d: %s it %d %g %g %g\n", n, box, k, dopt_mpc_qp_result_string(rep_[k].result), rep_[k].iterations, rep_[k].primal_residual, rep_[k].dual_residual, rep_[k].complementarity);
                if (t1 - t0 < best_f) best_f = t1 - t0;
                if (t2 - t0 < best_fb) best_fb = t2 - t0;
            }
            for (k = 0; k < NB; ++k) {
                double r = rep_[k].primal_residual;
                if (rep_[k].dual_residual > r) r = rep_[k].dual_residual;
                if (rep_[k].complementarity > r) r = rep_[k].complementarity;
                if (r > kkt) kkt = r;
                its += rep_[k].iterations;
            }
            for (k = 0; k < NB; ++k) npol += rep_[k].polished;
            for (k = 0; k < NB; ++k) nas += rep_[k].method == DOPT_MPC_QP_ACTIVE_SET;
            printf("dopt n=%d box=%d fwd_us=%.2f fwdbwd_us=%.2f kkt=%.2e iters=%.1f polished=%d/%d active_set=%d/%d\n", n, box, 1e6 * best_f / NB,
                   1e6 * best_fb / NB, kkt, (double)its / NB, npol, NB, nas, NB);
            snprintf(path, sizeof path, "%s/qp_%d_%d.bin", dir, n, box);
            f = fopen(path, "wb");
            if (!f) return 1;
            write_arr(f, B.Q, (size_t)NB * n * n); write_arr(f, B.p, (size_t)NB * n);
            write_arr(f, B.A, (size_t)NB * B.meq * n); write_arr(f, B.b, (size_t)NB * B.meq);
            write_arr(f, B.G, (size_t)NB * n * n); write_arr(f, B.h, (size_t)NB * n);
            write_arr(f, B.l, (size_t)NB * n); write_arr(f, B.u, (size_t)NB * n); write_arr(f, B.gx, (size_t)NB * n);
            write_arr(f, x, (size_t)NB * n); write_arr(f, gp, (size_t)NB * n); write_arr(f, gh, (size_t)NB * n);
            write_arr(f, gb, (size_t)NB * B.meq);
            fclose(f);
            dopt_mpc_qp_destroy_d(qp);
            free(rep_); free(x); free(gp); free(gh); free(gQ); free(gA); free(gb); free(gG); free(gl); free(gu);
            free(B.Q); free(B.p); free(B.A); free(B.b); free(B.G); free(B.h); free(B.l); free(B.u); free(B.gx);
        }
    return 0;
}
