/* bench/qp_daqp.c — DAQP 0.11.0 through its C API, for `make bench-qp` (bench/qp.sh builds it
 * against DAQP's own sources, fetched outside the tree; nothing of DAQP is in this repository).
 * Reads DIR/qp_<n>_<box>.bin (the 128 QPs bench/qp_dopt.c wrote), solves each with
 * daqp_quadprog (setup: factorization and transformation, then the solve; as the Python
 * binding's daqp.solve does) at primal_tol = dual_tol = 1e-9, best of several repeats, and
 * writes DIR/daqp_c_<n>_<box>.bin (the solutions) for bench/qp_peer.py, which measures their KKT
 * residual and distance to dopt's.  The problems are put in DAQP's layout (row-major
 * [A; G], bounds first) before the clock starts.
 * Usage: qp_daqp DIR.  Prints `daqp_c n=.. box=.. fwd_us=.. solved=..` per case. */
#define _POSIX_C_SOURCE 199309L
#include "api.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NB 128

/* DOPT_BENCH_CPU_TIME=1: thread CPU time (as bench/qp_dopt.c and bench/qp_peer.py) */
static double now_s(void)
{
    struct timespec ts;
    const char *e = getenv("DOPT_BENCH_CPU_TIME");
    clock_gettime(e && atoi(e) == 1 ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* One QP in DAQP's layout. */
typedef struct daqp_qp {
    double *H, *f, *A, *bu, *bl;
    int *sense;
    DAQPProblem prob;
} daqp_qp;

static double *take(const double **p, size_t len)
{
    const double *r = *p;
    *p += len;
    return (double *)r;
}

/* Element k of the case file (column-major Q, A, G as bench/qp_dopt.c writes them) into q. */
static void build(daqp_qp *q, const double *raw, int n, int box, int k)
{
    int meq = n / 4, mi = n, ms = box ? n : 0, m = ms + meq + mi, i, j;
    const double *c = raw;
    const double *Q = take(&c, (size_t)NB * n * n) + (size_t)k * n * n;
    const double *p = take(&c, (size_t)NB * n) + (size_t)k * n;
    const double *A = take(&c, (size_t)NB * meq * n) + (size_t)k * meq * n;
    const double *b = take(&c, (size_t)NB * meq) + (size_t)k * meq;
    const double *G = take(&c, (size_t)NB * mi * n) + (size_t)k * mi * n;
    const double *h = take(&c, (size_t)NB * mi) + (size_t)k * mi;
    const double *l = take(&c, (size_t)NB * n) + (size_t)k * n;
    const double *u = take(&c, (size_t)NB * n) + (size_t)k * n;
    q->H = malloc(sizeof(double) * n * n);
    q->f = malloc(sizeof(double) * n);
    q->A = malloc(sizeof(double) * (meq + mi) * n);
    q->bu = malloc(sizeof(double) * m);
    q->bl = malloc(sizeof(double) * m);
    q->sense = calloc((size_t)m, sizeof(int));
    for (j = 0; j < n; ++j)
        for (i = 0; i < n; ++i) q->H[i * n + j] = i >= j ? Q[i + j * n] : Q[j + i * n]; /* lower triangle */
    memcpy(q->f, p, sizeof(double) * n);
    for (i = 0; i < meq; ++i)
        for (j = 0; j < n; ++j) q->A[i * n + j] = A[i + j * meq];
    for (i = 0; i < mi; ++i)
        for (j = 0; j < n; ++j) q->A[(meq + i) * n + j] = G[i + j * mi];
    for (j = 0; j < ms; ++j) {
        q->bu[j] = u[j];
        q->bl[j] = l[j];
    }
    for (i = 0; i < meq; ++i) {
        q->bu[ms + i] = q->bl[ms + i] = b[i];
        q->sense[ms + i] = DAQP_ACTIVE + DAQP_IMMUTABLE; /* an equality (5) */
    }
    for (i = 0; i < mi; ++i) {
        q->bu[ms + meq + i] = h[i];
        q->bl[ms + meq + i] = -DAQP_INF;
    }
    memset(&q->prob, 0, sizeof q->prob);
    q->prob.n = n;
    q->prob.m = m;
    q->prob.ms = ms;
    q->prob.H = q->H;
    q->prob.f = q->f;
    q->prob.A = q->A;
    q->prob.bupper = q->bu;
    q->prob.blower = q->bl;
    q->prob.sense = q->sense;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : ".";
    int sizes[3] = {10, 50, 100}, si, box;
    DAQPSettings set;
    daqp_default_settings(&set);
    set.primal_tol = 1e-9;
    set.dual_tol = 1e-9;
    for (si = 0; si < 3; ++si)
        for (box = 0; box < 2; ++box) {
            int n = sizes[si], meq = n / 4, reps = n <= 10 ? 20 : n <= 50 ? 5 : 3, rep, k, solved = 0;
            size_t len = (size_t)NB * (n * n + 4 * n + meq * n + meq + n * n + n), got;
            double *raw = malloc(sizeof(double) * len), *x = malloc(sizeof(double) * NB * n), best = 1e30;
            double *lam = malloc(sizeof(double) * (2 * n + meq + n));
            daqp_qp *qs = malloc(sizeof(daqp_qp) * NB);
            char path[512];
            FILE *f;
            snprintf(path, sizeof path, "%s/qp_%d_%d.bin", dir, n, box);
            f = fopen(path, "rb");
            if (!f) return 1;
            got = fread(raw, sizeof(double), len, f);
            fclose(f);
            if (got != len) return 1;
            for (k = 0; k < NB; ++k) build(&qs[k], raw, n, box, k);
            for (rep = 0; rep < reps; ++rep) {
                double t0 = now_s(), t;
                solved = 0;
                for (k = 0; k < NB; ++k) {
                    DAQPResult res;
                    memset(&res, 0, sizeof res);
                    res.x = x + (size_t)k * n;
                    res.lam = lam;
                    daqp_quadprog(&res, &qs[k].prob, &set);
                    solved += res.exitflag == DAQP_EXIT_OPTIMAL;
                }
                t = now_s() - t0;
                if (t < best) best = t;
            }
            printf("daqp_c n=%d box=%d fwd_us=%.2f solved=%d\n", n, box, 1e6 * best / NB, solved);
            snprintf(path, sizeof path, "%s/daqp_c_%d_%d.bin", dir, n, box);
            f = fopen(path, "wb");
            if (!f) return 1;
            fwrite(x, sizeof(double), (size_t)NB * n, f);
            fclose(f);
            for (k = 0; k < NB; ++k) {
                free(qs[k].H); free(qs[k].f); free(qs[k].A); free(qs[k].bu); free(qs[k].bl); free(qs[k].sense);
            }
            free(qs); free(raw); free(x); free(lam);
        }
    return 0;
}
