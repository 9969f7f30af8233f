/* bench/ba_dopt.c — dopt side of `make bench-ba` (bundle adjustment, dopt_lie.h).
 *
 *   ba_dopt FILE [--loss none|huber|cauchy] [--repeat N] [--covariance] [--log] [--dense]
 *   ba_dopt --write-scene NUM_CAMERAS SEED OUT   (a synthetic BAL file: dopt_lie_bal_scene)
 *
 * Solves the BAL file with dopt_lie_ba_solve (Schur complement, reduced camera system on
 * dopt_sparse.h's supernodal Cholesky; --dense: the dense Cholesky) from the file's values with
 * Ceres' default stopping rules, and prints
 *   result solver=dopt iterations=N accepted=A initial_cost=X final_cost=Y time_s=T stop=...
 *          t_linearize=.. t_schur=.. t_factor=..
 * time_s: CPU time of solver creation (structure analysis, symbolic factorization) + solve, the
 * best of --repeat runs (each from the file's values); file reading excluded.  --covariance: then
 * fixes cameras 0 and 1 (the gauge) and times the marginal covariance of every camera block:
 *   covariance solver=dopt cameras=N time_s=T trace_cam2=...
 * (CPU time of solver creation + dopt_lie_ba_covariance). */
#define _POSIX_C_SOURCE 199309L
#define DOPT_IMPLEMENTATION
#include "dopt_lie.h"
#include "dopt_sparse.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t); /* CPU time: one thread, a shared machine */
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void log_line(void *user, dopt_log_level level, const char *line)
{
    (void)user; (void)level;
    printf("%s\n", line);
}

static dopt_lie_ba_solver_d *make_solver(const dopt_lie_bal_d *p, const unsigned char *fixed, int dense,
                                         const dopt_hooks *h)
{
    dopt_linear_solver_d ls;
    dopt_lie_ba_solver_d *s = NULL;
    dopt_errinfo info;
    dopt_status st;
    if (!dense && dopt_sparse_linear_solver_d(NULL, NULL, &ls) != DOPT_OK) return NULL;
    st = dopt_lie_ba_solver_create_d(h, p, fixed, dense ? NULL : &ls, &s, &info);
    if (st != DOPT_OK) fprintf(stderr, "ba_dopt: solver: %s (%s)\n", dopt_status_string(st), info.message);
    return s;
}

int main(int argc, char **argv)
{
    const char *file = NULL;
    dopt_loss_kind loss = DOPT_LOSS_NONE;
    int repeat = 1, cov = 0, logit = 0, dense = 0, a, r;
    dopt_lie_bal_d *p = NULL;
    dopt_errinfo info;
    dopt_status st;
    double *cam0, *pt0, best = 1e300;
    dopt_lie_ba_report rep, best_rep;
    dopt_lie_ba_options o;
    dopt_hooks hooks;
    if (argc == 5 && !strcmp(argv[1], "--write-scene")) {
        dopt_lie_bal_scene_options so;
        dopt_rng rng;
        memset(&so, 0, sizeof so);
        so.num_cameras = atoi(argv[2]);
        dopt_rng_seed(&rng, (uint64_t)atoi(argv[3]), 0);
        st = dopt_lie_bal_scene_d(NULL, &so, &rng, &p, &info);
        if (st == DOPT_OK) st = dopt_lie_bal_write_d(argv[4], p, &info);
        if (st != DOPT_OK) { fprintf(stderr, "ba_dopt: %s\n", info.message); return 1; }
        printf("scene cameras=%ld points=%ld observations=%ld\n", (long)p->num_cameras, (long)p->num_points,
               (long)p->num_observations);
        dopt_lie_bal_destroy_d(p);
        return 0;
    }
    for (a = 1; a < argc; ++a) {
        if (!strcmp(argv[a], "--loss") && a + 1 < argc) {
            ++a;
            loss = !strcmp(argv[a], "huber") ? DOPT_LOSS_HUBER : !strcmp(argv[a], "cauchy") ? DOPT_LOSS_CAUCHY : DOPT_LOSS_NONE;
        } else if (!strcmp(argv[a], "--repeat") && a + 1 < argc) repeat = atoi(argv[++a]);
        else if (!strcmp(argv[a], "--covariance")) cov = 1;
        else if (!strcmp(argv[a], "--log")) logit = 1;
        else if (!strcmp(argv[a], "--dense")) dense = 1;
        else file = argv[a];
    }
    if (!file) { fprintf(stderr, "usage: ba_dopt FILE [--loss none|huber|cauchy] [--repeat N] [--covariance] [--log]\n"); return 2; }
    st = dopt_lie_bal_read_d(NULL, file, &p, &info);
    if (st != DOPT_OK) { fprintf(stderr, "ba_dopt: %s: %s (line %ld: %s)\n", file, dopt_status_string(st), info.line, info.message); return 1; }
    memset(&hooks, 0, sizeof hooks);
    if (logit) { hooks.log = log_line; hooks.log_level = DOPT_LOG_INFO; }
    cam0 = (double *)malloc(sizeof(double) * 9 * (size_t)p->num_cameras);
    pt0 = (double *)malloc(sizeof(double) * 3 * (size_t)p->num_points);
    memcpy(cam0, p->cameras, sizeof(double) * 9 * (size_t)p->num_cameras);
    memcpy(pt0, p->points, sizeof(double) * 3 * (size_t)p->num_points);
    memset(&o, 0, sizeof o);
    o.loss = loss;
    o.timing = 1;
    memset(&best_rep, 0, sizeof best_rep);
    for (r = 0; r < (repeat < 1 ? 1 : repeat); ++r) {
        double t0, t;
        dopt_lie_ba_solver_d *s;
        memcpy(p->cameras, cam0, sizeof(double) * 9 * (size_t)p->num_cameras);
        memcpy(p->points, pt0, sizeof(double) * 3 * (size_t)p->num_points);
        t0 = now();
        s = make_solver(p, NULL, dense, &hooks);
        if (!s) return 1;
        st = dopt_lie_ba_solve_d(s, p, &o, &rep, &info);
        t = now() - t0;
        dopt_lie_ba_solver_destroy_d(s);
        if (st != DOPT_OK) { fprintf(stderr, "ba_dopt: solve: %s (%s)\n", dopt_status_string(st), info.message); return 1; }
        if (t < best) { best = t; best_rep = rep; }
        hooks.log = NULL; /* log the first run only */
    }
    printf("result solver=dopt iterations=%d accepted=%d initial_cost=%.17g final_cost=%.17g time_s=%.6f stop=%s "
           "t_linearize=%.4f t_schur=%.4f t_factor=%.4f\n",
           best_rep.iterations, best_rep.accepted, best_rep.initial_cost, best_rep.final_cost, best,
           dopt_nlls_stop_string(best_rep.stop), best_rep.time_linearize_s, best_rep.time_schur_s, best_rep.time_factor_s);
    if (cov) {
        unsigned char *fixed = (unsigned char *)calloc((size_t)p->num_cameras, 1);
        int *cams = (int *)malloc(sizeof(int) * (size_t)p->num_cameras), c;
        double *C = (double *)malloc(sizeof(double) * 81 * (size_t)p->num_cameras), t0, t, tr = 0;
        dopt_lie_ba_solver_d *s;
        fixed[0] = fixed[1] = 1;
        for (c = 0; c < p->num_cameras; ++c) cams[c] = c;
        best = 1e300;
        for (r = 0; r < (repeat < 1 ? 1 : repeat); ++r) {
            t0 = now();
            s = make_solver(p, fixed, dense, NULL);
            if (!s) return 1;
            st = dopt_lie_ba_covariance_d(s, p, &o, p->num_cameras, cams, C, 0, NULL, NULL, &info);
            t = now() - t0;
            dopt_lie_ba_solver_destroy_d(s);
            if (st != DOPT_OK) { fprintf(stderr, "ba_dopt: covariance: %s (%s)\n", dopt_status_string(st), info.message); return 1; }
            if (t < best) best = t;
        }
        for (c = 0; c < 9 && p->num_cameras > 2; ++c) tr += C[81 * 2 + 10 * c];
        printf("covariance solver=dopt cameras=%ld time_s=%.6f trace_cam2=%.10g cam2_00=%.10g cam2_66=%.10g\n",
               (long)p->num_cameras, best, tr, C[81 * 2], C[81 * 2 + 60]);
        free(fixed); free(cams); free(C);
    }
    free(cam0); free(pt0);
    dopt_lie_bal_destroy_d(p);
    return 0;
}
