/* bench/qp_daqp.c — dopt's forward and DAQP 0.11.0 through its C API side by side, for
 * `make bench-qp` (bench/qp.sh builds it against DAQP's own sources, fetched outside the tree;
 * nothing of DAQP is in this repository).  Reads DIR/qp_<n>_<box>.bin (the 128 QPs
 * bench/qp_dopt.c wrote) and, in this one process, times dopt_mpc_qp_solve_d on the batch and
 * daqp_quadprog on each QP of it (setup: factorization and transformation, then the solve, as
 * the Python binding's daqp.solve does) alternately, pair after pair (the order flips each
 * pair), at tolerances 1e-9, so that both see the same machine load.  Both sides' data are put
 * in their layouts before any clock starts.  Writes DIR/daqp_c_<n>_<box>.bin (DAQP's
 * solutions) for bench/qp_peer.py, which measures their KKT residual and distance to dopt's.
 * Usage: qp_daqp DIR.  Prints per case
 *   daqp_c n=.. box=.. fwd_us=.. solved=.. dopt_fwd_us=.. ratio=.. pair_min=.. pair_med=.. pair_max=..
 *   pairs=.. max_dx=..
 * fwd_us, dopt_fwd_us: the best of the pairs, us per QP; ratio = their quotient (dopt / DAQP);
 * pair_*: the spread of the per-pair ratios.  DOPT_QP_PAIRS=N: N pairs per case. */
#define _POSIX_C_SOURCE 199309L
#define DOPT_IMPLEMENTATION
#include "dopt.h"
#include "dopt_mpc.h"
#include "api.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NB 128

/* DOPT_BENCH_CPU_TIME=1: process CPU time (one thread runs), for a machine shared with other jobs */
static double now_s(void)
{
    struct timespec ts;
    const char *e = getenv("DOPT_BENCH_CPU_TIME");
    clock_gettime(e && atoi(e) == 1 ? CLOCK_PROCESS_CPUTIME_ID : CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* One QP in DAQP's layout. */
typedef struct daqp_qp {
    double *H, *f, *A, *bu, *bl;
    int *sense;
    DAQPProblem prob;
} daqp_qp;

/* The case file's arrays (column-major Q, A, G, contiguous per element, as bench/qp_dopt.c
 * writes them). */
typedef struct case_data {
    const double *Q, *p, *A, *b, *G, *h, *l, *u;
} case_data;

static const double *take(const double **c, size_t len)
{
    const double *r = *c;
    *c += len;
    return r;
}

/* Element k of the case into q. */
static void build(daqp_qp *q, const case_data *cd, int n, int box, int k)
{
    int meq = n / 4, mi = n, ms = box ? n : 0, m = ms + meq + mi, i, j;
    const double *Q = cd->Q + (size_t)k * n * n, *p = cd->p + (size_t)k * n, *A = cd->A + (size_t)k * meq * n;
    const double *b = cd->b + (size_t)k * meq, *G = cd->G + (size_t)k * mi * n, *h = cd->h + (size_t)k * mi;
    const double *l = cd->l + (size_t)k * n, *u = cd->u + (size_t)k * n;
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

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The batch through DAQP; returns the number solved. */
static int run_daqp(daqp_qp *qs, const DAQPSettings *set, int n, double *x, double *lam)
{
    int k, solved = 0;
    for (k = 0; k < NB; ++k) {
        DAQPResult res;
        memset(&res, 0, sizeof res);
        res.x = x + (size_t)k * n;
        res.lam = lam;
        daqp_quadprog(&res, &qs[k].prob, (DAQPSettings *)set);
        solved += res.exitflag == DAQP_EXIT_OPTIMAL;
    }
    return solved;
}

/* One case, side by side; returns 0 or 1 on an error. */
static int one_case(const char *dir, int n, int box, int pairs)
{
    int meq = n / 4, k, r, solved = 0;
    size_t len = (size_t)NB * (n * n + 4 * n + meq * n + meq + n * n + n), got;
    double *raw = malloc(sizeof(double) * len), *x = malloc(sizeof(double) * NB * n);
    double *xd = malloc(sizeof(double) * NB * n), *lam = malloc(sizeof(double) * (2 * n + meq + n));
    double *ratio = malloc(sizeof(double) * pairs), best_q = 1e30, best_d = 1e30, dx = 0;
    daqp_qp *qs = malloc(sizeof(daqp_qp) * NB);
    const double *c;
    case_data cd;
    DAQPSettings set;
    dopt_mpc_qp_dims dims = {0, 0, 0, 0, 0};
    dopt_mpc_qp_d *qp;
    dopt_mpc_qp_data_d d;
    dopt_mpc_qp_options opt;
    dopt_mpc_qp_report *rep = malloc(sizeof(dopt_mpc_qp_report) * NB);
    char path[512];
    FILE *f;
    snprintf(path, sizeof path, "%s/qp_%d_%d.bin", dir, n, box);
    f = fopen(path, "rb");
    if (!f) return 1;
    got = fread(raw, sizeof(double), len, f);
    fclose(f);
    if (got != len) return 1;
    c = raw;
    cd.Q = take(&c, (size_t)NB * n * n); cd.p = take(&c, (size_t)NB * n);
    cd.A = take(&c, (size_t)NB * meq * n); cd.b = take(&c, (size_t)NB * meq);
    cd.G = take(&c, (size_t)NB * n * n); cd.h = take(&c, (size_t)NB * n);
    cd.l = take(&c, (size_t)NB * n); cd.u = take(&c, (size_t)NB * n);
    for (k = 0; k < NB; ++k) build(&qs[k], &cd, n, box, k);
    daqp_default_settings(&set);
    set.primal_tol = 1e-9;
    set.dual_tol = 1e-9;
    dims.n = n; dims.meq = meq; dims.mineq = n; dims.box = box;
    if (dopt_mpc_qp_create_d(NULL, &dims, NB, &qp, NULL) != DOPT_OK) return 1;
    memset(&d, 0, sizeof d);
    d.Q = cd.Q; d.Q_stride = n * n; d.p = cd.p; d.p_stride = n;
    d.A = cd.A; d.A_stride = meq * n; d.b = cd.b; d.b_stride = meq;
    d.G = cd.G; d.G_stride = n * n; d.h = cd.h; d.h_stride = n;
    d.l = cd.l; d.l_stride = n; d.u = cd.u; d.u_stride = n;
    memset(&opt, 0, sizeof opt);
    if (getenv("DOPT_QP_METHOD")) opt.method = atoi(getenv("DOPT_QP_METHOD"));
    for (r = 0; r < pairs; ++r) {
        double t0, tq = 0, td = 0;
        int side;
        for (side = 0; side < 2; ++side) {
            if ((side ^ (r & 1)) == 0) {
                t0 = now_s();
                solved = run_daqp(qs, &set, n, x, lam);
                tq = now_s() - t0;
            } else {
                t0 = now_s();
                dopt_mpc_qp_solve_d(qp, &opt, NB, &d, xd, n, rep, NULL);
                td = now_s() - t0;
            }
        }
        ratio[r] = td / tq;
        if (tq < best_q) best_q = tq;
        if (td < best_d) best_d = td;
    }
    for (k = 0; k < NB * n; ++k) {
        double e = x[k] > xd[k] ? x[k] - xd[k] : xd[k] - x[k];
        if (e > dx) dx = e;
    }
    qsort(ratio, (size_t)pairs, sizeof(double), cmp_d);
    printf("daqp_c n=%d box=%d fwd_us=%.2f solved=%d dopt_fwd_us=%.2f ratio=%.3f pair_min=%.3f pair_med=%.3f "
           "pair_max=%.3f pairs=%d max_dx=%.1e\n", n, box, 1e6 * best_q / NB, solved, 1e6 * best_d / NB,
           best_d / best_q, ratio[0], ratio[pairs / 2], ratio[pairs - 1], pairs, dx);
    fflush(stdout);
    snprintf(path, sizeof path, "%s/daqp_c_%d_%d.bin", dir, n, box);
    f = fopen(path, "wb");
    if (!f) return 1;
    fwrite(x, sizeof(double), (size_t)NB * n, f);
    fclose(f);
    for (k = 0; k < NB; ++k) {
        free(qs[k].H); free(qs[k].f); free(qs[k].A); free(qs[k].bu); free(qs[k].bl); free(qs[k].sense);
    }
    dopt_mpc_qp_destroy_d(qp);
    free(qs); free(raw); free(x); free(xd); free(lam); free(ratio); free(rep);
    return 0;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : ".";
    int sizes[3] = {10, 50, 100}, si, box;
    for (si = 0; si < 3; ++si)
        for (box = 0; box < 2; ++box) {
            int n = sizes[si], pairs = n <= 10 ? 30 : n <= 50 ? 11 : 9;
            if (getenv("DOPT_QP_PAIRS")) pairs = atoi(getenv("DOPT_QP_PAIRS"));
            if (pairs < 1) pairs = 1;
            if (getenv("DOPT_QP_CASE")) {
                int cn = 0, cb = 0;
                if (sscanf(getenv("DOPT_QP_CASE"), "%d,%d", &cn, &cb) == 2 && (cn != n || cb != box)) continue;
            }
            if (one_case(dir, n, box, pairs)) return 1;
        }
    return 0;
}
