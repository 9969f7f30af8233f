/* bench/mpc_dopt.c — dopt's side of `make bench-mpc`.
 *
 *   mpc_dopt riccati n m T          one LQR forward of one problem: GFLOP/s against the Riccati
 *                                   flop count (dopt_mpc_lqr_flops) next to the dgemm rate of the
 *                                   same run (dopt_gemm_d and OpenBLAS, n = 256)
 *   mpc_dopt lqr DIR n m T B box PEERS...
 *                                   the problem bench/mpc_peer.py wrote to DIR (mpc.pytorch's
 *                                   tensors, read in place through strides), solved and
 *                                   differentiated by dopt; compared with each peer's solution and
 *                                   gradients; PEERS are "name fwd_ms bwd_ms" triples.
 * Times are CPU time of the thread (the machine may be shared; the peers measure the same way),
 * the best of 5 batches of calls that each run >= 0.1 s. */
#define _POSIX_C_SOURCE 199309L
#define DOPT_IMPLEMENTATION
#include "dopt.h"
#include "dopt_mpc.h"
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t); /* CPU time: the bench machine may be shared */
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

typedef void (*job_fn)(void *);
/* Seconds per call: best over 5 batches of calls that each last >= 0.1 s. */
static double time_job(job_fn fn, void *arg)
{
    double best = 1e30;
    int r;
    long reps = 1;
    for (r = 0; r < 6; ++r) {
        double t0 = now(), dt;
        long i;
        for (i = 0; i < reps; ++i) fn(arg);
        dt = now() - t0;
        if (dt < 0.1 && r == 0) { /* calibrate */
            reps = (long)(reps * 0.12 / (dt > 1e-7 ? dt : 1e-7)) + 1;
            --r;
            continue;
        }
        if (r > 0 && dt / reps < best) best = dt / reps;
        if (r == 0 && dt / reps < best) best = dt / reps;
    }
    return best;
}

typedef struct lqr_job {
    dopt_mpc_lqr_d *s;
    dopt_mpc_lqr_data_d d;
    dopt_mpc_seq_d tau, none;
    dopt_mpc_cseq_d dtau;
    dopt_mpc_lqr_grad_d g;
    dopt_status st;
} lqr_job;
static void job_fwd(void *a)
{
    lqr_job *j = (lqr_job *)a;
    j->st |= dopt_mpc_lqr_solve_d(j->s, &j->d, NULL, j->tau, j->none, NULL, NULL);
}
static void job_bwd(void *a)
{
    lqr_job *j = (lqr_job *)a;
    j->st |= dopt_mpc_lqr_backward_d(j->s, j->dtau, NULL, &j->g, NULL, NULL);
}

typedef struct gemm_job { int n, blas; double *A, *B, *C; } gemm_job;
static void job_gemm(void *a)
{
    gemm_job *j = (gemm_job *)a;
    if (j->blas)
        cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, j->n, j->n, j->n, 1, j->A, j->n, j->B, j->n, 0, j->C, j->n);
    else
        dopt_gemm_d(DOPT_NOTRANS, DOPT_NOTRANS, j->n, j->n, j->n, 1, j->A, j->n, j->B, j->n, 0, j->C, j->n);
}

static int riccati(int n, int m, int T)
{
    int N = n + m, i, gn = 256;
    dopt_rng rng;
    double *C = malloc(sizeof(double) * N * N), *c = malloc(sizeof(double) * T * N);
    double *F = malloc(sizeof(double) * n * N), *f = malloc(sizeof(double) * n), *x0 = malloc(sizeof(double) * n);
    double *tau = malloc(sizeof(double) * T * N), *M = malloc(sizeof(double) * N * N);
    double t_lqr, t_gemm, t_blas, flops = dopt_mpc_lqr_flops_d(n, m, T), lqr_gf, gemm_gf, blas_gf;
    lqr_job j;
    gemm_job g;
    memset(&j, 0, sizeof j);
    dopt_rng_seed(&rng, 1, 1);
    dopt_rng_fill_uniform_d(&rng, N * N, M, -1, 1);
    dopt_gemm_d(DOPT_TRANS, DOPT_NOTRANS, N, N, N, 1.0 / N, M, N, M, N, 0, C, N);
    for (i = 0; i < N; ++i) C[i + i * N] += 0.5;
    dopt_rng_fill_uniform_d(&rng, T * N, c, -1, 1);
    dopt_rng_fill_uniform_d(&rng, n * N, F, -0.3, 0.3);
    for (i = 0; i < n; ++i) F[i + i * n] += 0.9;
    dopt_rng_fill_uniform_d(&rng, n, f, -0.1, 0.1);
    dopt_rng_fill_uniform_d(&rng, n, x0, -1, 1);
    /* time-varying data in the solver's eyes: C, c per step (the same C repeated costs the same) */
    j.d.C.p = C; j.d.C.ts = 0;
    j.d.c.p = c; j.d.c.ts = N;
    j.d.F.p = F; j.d.F.ts = 0;
    j.d.f.p = f; j.d.f.ts = 0;
    j.d.x_init.p = x0;
    j.tau.p = tau; j.tau.ts = N;
    if (dopt_mpc_lqr_create_d(NULL, n, m, T, 1, &j.s, NULL) != DOPT_OK) return 1;
    t_lqr = time_job(job_fwd, &j);
    g.n = gn;
    g.A = malloc(sizeof(double) * gn * gn); g.B = malloc(sizeof(double) * gn * gn); g.C = malloc(sizeof(double) * gn * gn);
    dopt_rng_fill_uniform_d(&rng, gn * gn, g.A, -1, 1);
    dopt_rng_fill_uniform_d(&rng, gn * gn, g.B, -1, 1);
    g.blas = 0;
    t_gemm = time_job(job_gemm, &g);
    g.blas = 1;
    t_blas = time_job(job_gemm, &g);
    lqr_gf = flops / t_lqr * 1e-9;
    gemm_gf = 2.0 * gn * gn * gn / t_gemm * 1e-9;
    blas_gf = 2.0 * gn * gn * gn / t_blas * 1e-9;
    printf("bench mpc riccati n=%d m=%d T=%d B=1 fwd_us=%.3f mflop=%.3f gflops=%.2f dopt_gemm_gflops=%.2f "
           "openblas_gemm_gflops=%.2f frac_of_dopt_gemm=%.2f frac_of_openblas_gemm=%.2f status=%s\n",
           n, m, T, t_lqr * 1e6, flops * 1e-6, lqr_gf, gemm_gf, blas_gf, lqr_gf / gemm_gf, lqr_gf / blas_gf,
           dopt_status_string((dopt_status)j.st));
    dopt_mpc_lqr_destroy_d(j.s);
    free(C); free(c); free(F); free(f); free(x0); free(tau); free(M); free(g.A); free(g.B); free(g.C);
    return j.st != DOPT_OK;
}

static double *load(const char *dir, const char *name, size_t count)
{
    char path[1024];
    FILE *fp;
    double *p = malloc(sizeof(double) * (count ? count : 1));
    snprintf(path, sizeof path, "%s_%s.bin", dir, name);
    fp = fopen(path, "rb");
    if (!fp || fread(p, sizeof(double), count, fp) != count) {
        if (fp) fclose(fp);
        free(p);
        return NULL;
    }
    fclose(fp);
    return p;
}

static double maxdiff(const double *a, const double *b, size_t n)
{
    double e = 0;
    size_t i;
    for (i = 0; i < n; ++i) {
        double d = fabs(a[i] - b[i]) / (1 + fabs(b[i]));
        if (!(d <= e)) e = d;
    }
    return e;
}

/* maxdiff over the (T, B, blk) array's elements b with ok[b] != 0 (ok NULL: all) */
static double maxdiff_tb(const double *a, const double *b, int T, int B, size_t blk, const double *ok)
{
    double e = 0;
    int t, k;
    for (t = 0; t < T; ++t)
        for (k = 0; k < B; ++k)
            if (!ok || ok[k] != 0) e = fmax(e, maxdiff(a + ((size_t)t * B + k) * blk, b + ((size_t)t * B + k) * blk, blk));
    return e;
}

/* The optimality certificate of box-LQR solutions (a convex QP in the controls once the dynamics
 * eliminate the states): the costate sweep lam_t = (C_t tau_t + c_t + F_t^T lam_{t+1})_x gives
 * the reduced gradient g_t = (C_t tau_t + c_t + F_t^T lam_{t+1})_u; its projection on the box
 * (g_i where u_i is free, its part pushing outward where u_i sits on a bound) must vanish, and
 * the dynamics must hold.  Largest of both over the batch, relative to 1 + |g_i|. */
static double box_kkt(const double *C, const double *c, const double *F, const double *f, const double *x0,
                      const double *tau, int n, int m, int T, int B, double lo, double hi)
{
    int N = n + m, b, t, i, k;
    double e = 0, g[64], lam[64];
    for (b = 0; b < B; ++b) {
        for (i = 0; i < n; ++i) e = fmax(e, fabs(tau[(size_t)b * N + i] - x0[(size_t)b * n + i]));
        for (t = T - 1; t >= 0; --t) {
            const double *Ct = C + ((size_t)t * B + b) * N * N, *ct = c + ((size_t)t * B + b) * N;
            const double *tt = tau + ((size_t)t * B + b) * N, *Fb = F + (size_t)b * n * N;
            for (i = 0; i < N; ++i) {
                double s = ct[i];
                for (k = 0; k < N; ++k) s += Ct[(size_t)i * N + k] * tt[k];
                if (t < T - 1)
                    for (k = 0; k < n; ++k) s += Fb[k + (size_t)i * n] * lam[k];
                g[i] = s;
            }
            for (i = 0; i < n; ++i) lam[i] = g[i];
            for (i = n; i < N; ++i) {
                double u = tt[i], gi = g[i], r = fabs(gi);
                if (u <= lo + 1e-12 * (1 + fabs(lo))) r = gi < 0 ? -gi : 0;
                if (u >= hi - 1e-12 * (1 + fabs(hi))) r = gi > 0 ? gi : 0;
                if (u < lo - 1e-12 || u > hi + 1e-12) r = 1e300; /* infeasible */
                e = fmax(e, r / (1 + fabs(gi)));
            }
            if (t < T - 1) {
                const double *tn = tau + ((size_t)(t + 1) * B + b) * N;
                for (i = 0; i < n; ++i) {
                    double s = f[(size_t)b * n + i] - tn[i];
                    for (k = 0; k < N; ++k) s += Fb[i + (size_t)k * n] * tt[k];
                    e = fmax(e, fabs(s));
                }
            }
        }
    }
    return e;
}

static int lqr(const char *dir, int n, int m, int T, int B, int box, int npeer, char **peer)
{
    char prefix[1024];
    int N = n + m, i, b, t, p, k;
    size_t nC = (size_t)T * B * N * N, nc = (size_t)T * B * N, nF = (size_t)B * n * N, nf = (size_t)B * n;
    double *C, *c, *Frm, *f, *x0, *F, *tau, *dtau, *gC, *gc, *gF, *gf, *gx, lo[64], hi[64];
    double t_fwd, t_bwd, flops, best_peer = 1e30;
    lqr_job j;
    snprintf(prefix, sizeof prefix, "%s/%d_%d_%d_%d_%d", dir, n, m, T, B, box);
    C = load(prefix, "C", nC); c = load(prefix, "c", nc); Frm = load(prefix, "F", nF);
    f = load(prefix, "f", nf); x0 = load(prefix, "x0", nf);
    if (!C || !c || !Frm || !f || !x0) { fprintf(stderr, "mpc_dopt: problem files missing in %s\n", dir); return 1; }
    F = malloc(sizeof(double) * nF);
    for (b = 0; b < B; ++b) /* torch's row-major n x N -> column-major */
        for (i = 0; i < n; ++i)
            for (k = 0; k < N; ++k) F[(size_t)b * n * N + i + k * n] = Frm[(size_t)b * n * N + i * N + k];
    tau = malloc(sizeof(double) * nc); dtau = malloc(sizeof(double) * nc);
    gC = malloc(sizeof(double) * nC); gc = malloc(sizeof(double) * nc); gF = malloc(sizeof(double) * nF);
    gf = malloc(sizeof(double) * nf); gx = malloc(sizeof(double) * nf);
    memset(&j, 0, sizeof j);
    /* mpc.pytorch's (T, B, ...) tensors as they are: ts = B * block, bs = block */
    j.d.C.p = C; j.d.C.ts = (ptrdiff_t)B * N * N; j.d.C.bs = N * N;
    j.d.c.p = c; j.d.c.ts = (ptrdiff_t)B * N; j.d.c.bs = N;
    j.d.F.p = F; j.d.F.ts = 0; j.d.F.bs = n * N; /* time-invariant dynamics */
    j.d.f.p = f; j.d.f.ts = 0; j.d.f.bs = n;
    j.d.x_init.p = x0; j.d.x_init.bs = n;
    for (i = 0; i < m && i < 64; ++i) { lo[i] = -0.5; hi[i] = 0.5; }
    if (box) { j.d.u_lower.p = lo; j.d.u_upper.p = hi; }
    j.tau.p = tau; j.tau.ts = (ptrdiff_t)B * N; j.tau.bs = N;
    j.dtau.p = dtau; j.dtau.ts = j.tau.ts; j.dtau.bs = j.tau.bs;
    j.g.C.p = gC; j.g.C.ts = j.d.C.ts; j.g.C.bs = j.d.C.bs;
    j.g.c.p = gc; j.g.c.ts = j.d.c.ts; j.g.c.bs = j.d.c.bs;
    j.g.F.p = gF; j.g.F.ts = 0; j.g.F.bs = n * N;
    j.g.f.p = gf; j.g.f.ts = 0; j.g.f.bs = n;
    j.g.x_init.p = gx; j.g.x_init.bs = n;
    if (dopt_mpc_lqr_create_d(NULL, n, m, T, B, &j.s, NULL) != DOPT_OK) return 1;
    job_fwd(&j);
    for (i = 0; i < (int)nc; ++i) dtau[i] = 2 * tau[i]; /* loss = sum |x_t|^2 + |u_t|^2 */
    job_bwd(&j);
    t_fwd = time_job(job_fwd, &j);
    t_bwd = time_job(job_bwd, &j);
    flops = dopt_mpc_lqr_flops_d(n, m, T) * B;
    printf("bench mpc lqr n=%d m=%d T=%d B=%d box=%d fwd_us=%.2f bwd_us=%.2f gflops_fwd=%.2f status=%s kkt=%.1e",
           n, m, T, B, box, t_fwd * 1e6, t_bwd * 1e6, box ? 0.0 : flops / t_fwd * 1e-9,
           dopt_status_string((dopt_status)j.st),
           box_kkt(C, c, F, f, x0, tau, n, m, T, B, box ? -0.5 : -HUGE_VAL, box ? 0.5 : HUGE_VAL));
    for (p = 0; p + 2 < npeer; p += 3) {
        const char *name = peer[p];
        double pf = atof(peer[p + 1]), pb = atof(peer[p + 2]), ex = 0, eg = 0;
        char pre[1100];
        double *x, *u, *pgC, *pgc, *pgF, *pgf, *pgx, *ok, eg_all = -1;
        int nok = B;
        snprintf(pre, sizeof pre, "%s_%s", prefix, name);
        x = load(pre, "x", (size_t)T * B * n); u = load(pre, "u", (size_t)T * B * m);
        pgC = load(pre, "gC", nC); pgc = load(pre, "gc", nc); pgF = load(pre, "gF", nF);
        pgf = load(pre, "gf", nf); pgx = load(pre, "gx", nf);
        ok = load(pre, "conv", (size_t)B); /* the peer's own convergence flags, where it has them */
        if (ok)
            for (nok = 0, b = 0; b < B; ++b) nok += ok[b] != 0;
        if (x && u)
            for (t = 0; t < T; ++t)
                for (b = 0; b < B; ++b) {
                    if (ok && ok[b] == 0) continue;
                    ex = fmax(ex, maxdiff(tau + ((size_t)t * B + b) * N, x + ((size_t)t * B + b) * n, (size_t)n));
                    ex = fmax(ex, maxdiff(tau + ((size_t)t * B + b) * N + n, u + ((size_t)t * B + b) * m, (size_t)m));
                }
        if (pgC && pgc && pgF && pgf && pgx) {
            int pass;
            for (pass = 0; pass < (ok ? 2 : 1); ++pass) { /* over the converged elements, then all */
                const double *use = pass ? NULL : ok;
                double e = 0;
                for (b = 0; b < B; ++b)
                    if (!use || use[b] != 0)
                        for (i = 0; i < n; ++i)
                            for (k = 0; k < N; ++k) {
                                double ref = pgF[(size_t)b * n * N + i * N + k], mine = gF[(size_t)b * n * N + i + k * n];
                                e = fmax(e, fabs(mine - ref) / (1 + fabs(ref)));
                            }
                e = fmax(e, maxdiff_tb(gC, pgC, T, B, (size_t)N * N, use));
                e = fmax(e, maxdiff_tb(gc, pgc, T, B, (size_t)N, use));
                e = fmax(e, maxdiff_tb(gf, pgf, 1, B, (size_t)n, use));
                e = fmax(e, maxdiff_tb(gx, pgx, 1, B, (size_t)n, use));
                if (pass) eg_all = e; else eg = e;
            }
        }
        printf(" %s_fwd_ms=%.3f %s_bwd_ms=%.3f", name, pf, name, pb);
        if (ok) printf(" %s_conv=%d/%d", name, nok, B);
        printf(" %s_dsol=%.1e %s_dgrad=%.1e", name, ex, name, eg);
        if (ok && nok < B) printf(" %s_dgrad_all=%.1e", name, eg_all);
        if (pf + pb < best_peer) best_peer = pf + pb;
        free(x); free(u); free(ok); free(pgC); free(pgc); free(pgF); free(pgf); free(pgx);
    }
    if (best_peer < 1e30)
        printf(" speedup=%.0f ratio=%.2e", best_peer * 1e-3 / (t_fwd + t_bwd), (t_fwd + t_bwd) / (best_peer * 1e-3));
    printf("\n");
    dopt_mpc_lqr_destroy_d(j.s);
    free(C); free(c); free(Frm); free(f); free(x0); free(F); free(tau); free(dtau);
    free(gC); free(gc); free(gF); free(gf); free(gx);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 5 && !strcmp(argv[1], "riccati")) return riccati(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]));
    if (argc >= 8 && !strcmp(argv[1], "lqr"))
        return lqr(argv[2], atoi(argv[3]), atoi(argv[4]), atoi(argv[5]), atoi(argv[6]), atoi(argv[7]), argc - 8, argv + 8);
    fprintf(stderr, "usage: mpc_dopt riccati n m T | mpc_dopt lqr DIR n m T B box [name fwd_ms bwd_ms]...\n");
    return 2;
}
