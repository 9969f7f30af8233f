/* bench/pgo_dopt.c — dopt's side of the pose-graph bench (bench/pgo.sh).
 *
 *   pgo_dopt IN.g2o OUT.g2o [--method lm|gn|dogleg] [--dense] [--max-iter N] [--ftol X] [-v]
 *       Solves the pose graph of IN (2D or 3D) with dopt's least-squares layer, writes the final
 *       poses to OUT (VERTEX lines, same ids) and prints one line
 *         result solver=dopt iterations=N initial_cost=X final_cost=Y time_s=T converged=yes|no
 *       cost = 1/2 sum ||Log(z^-1 xi^-1 xj)||^2_info (dopt's metric, the group-log residual);
 *       time_s = solver creation (block pattern, symbolic analysis) + solve, file I/O excluded.
 *       Gauge: pose 0 (the lowest id) is held constant, as Ceres' example does with
 *       SetParameterBlockConstant.  Initial values: the file's vertices, else chained odometry.
 *       Linear solver: dopt_sparse.h's supernodal Cholesky (AMD ordering) through
 *       dopt_sparse_linear_solver_d; --dense for the built-in dense Cholesky.  LM with damping
 *       lambda I, Nielsen's update, lambda0 1e-7 (--damping identity --update nielsen --lambda0
 *       1e-7; --damping diag --lambda0 1e-4 gives dopt's Ceres-style defaults, --update factor
 *       GTSAM's x10 / /10), function tolerance 1e-5 (--ftol; GTSAM's default relative-decrease
 *       stop: over the 14 files it ends at or below GTSAM's cost in dopt's metric, e.g. torus3D in
 *       69 iterations instead of 100, MIT 17 instead of 23), at most 100 iterations.  Graphs of at
 *       most 50 poses use the dense Cholesky.
 *       --residual ceres minimizes the residual of Ceres' pose_graph_2d/3d examples,
 *       [R_i^T (p_j - p_i) - p_z; wrap(th_j - th_i - th_z)] / [..; 2 vec(q_z (q_i^-1 q_j)^-1)],
 *       instead of the group log: final_cost is then in Ceres' metric (on torus3D it reaches the
 *       basin Ceres reaches, 22556).  --residual ceres-log: that first, then the group log from
 *       its minimizer (final_cost in dopt's metric; the better basin on torus3D and
 *       sphere_bignoise).
 *   pgo_dopt --cube-batch DIR           (or --cube-batch COUNT [--poses N] [--seed S]: generate as
 *                                        --write-cube does, then solve)
 *       Solves every .g2o file of DIR (the bench's 256 cube problems) with 10 LM iterations each
 *       (tolerances off, as the anchors run).  Problems of one structure (same vertices and edge
 *       endpoints) form ONE batch problem: one solver, one symbolic analysis for all of them.
 *       Prints `result solver=dopt problems=P batches=K iterations=10 initial_cost=X final_cost=Y
 *       time_s=T` (costs summed over the problems; time = solver creation + solves).
 *   pgo_dopt --write-cube DIR [--count C] [--poses N] [--seed S]
 *       Writes C (256) synthetic cube problems DIR/cube_000.g2o ... of ONE structure, as a
 *       Theseus batch is: dopt_lie_cube_graph_d (seed S, N poses, default options: noise ±0.05
 *       translation / ±0.02 rad rotation, loop closures 0.2, no outliers) makes the graph and
 *       its ground truth; element b > 0 keeps the edges and draws new measurement noise and new
 *       initial values (gt · Exp(noise)) from rng stream b.  VERTEX and EDGE lines.
 *   pgo_dopt --write-ragged DIR [--count C] [--sizes LO HI] [--seed S]
 *       Writes C (256) cube problems DIR/ragged_000.g2o ... of random sizes LO..HI (64..256)
 *       poses, each its own graph from rng stream b + 1 (the ragged case).
 *   pgo_dopt --ragged-batch DIR
 *       As --cube-batch, through one dopt_nlls_ragged over every structure (one create, one
 *       solve; no padding).  Prints the same result line.
 *   --cpu-time times with the process CPU time instead of the wall clock (the ragged case: on a
 *       loaded machine the wall clock counts other processes' time slices).
 *   -v prints the per-iteration summary (dopt's log hook) to stderr.
 * Build: cc $(bench_cflags) bench/pgo_dopt.c -o build/bench/pgo_dopt -lm */
#define _POSIX_C_SOURCE 200809L
#define DOPT_IMPLEMENTATION
#include "dopt.h"
#include "dopt_sparse.h"
#include "dopt_lie.h"
#include "bench/pgo_graph.h"
#include <dirent.h>
#include <time.h>

static int g_cpu_time; /* --cpu-time: process CPU time instead of wall time (the ragged case) */
static double now_s(void)
{
    struct timespec ts;
    clock_gettime(g_cpu_time ? CLOCK_PROCESS_CPUTIME_ID : CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void log_stderr(void *user, dopt_log_level level, const char *line)
{
    (void)user; (void)level;
    fprintf(stderr, "%s\n", line);
}

static int converged(dopt_nlls_stop s)
{
    return s == DOPT_STOP_FUNCTION_TOLERANCE || s == DOPT_STOP_GRADIENT || s == DOPT_STOP_STEP ||
           s == DOPT_STOP_COST_CHANGE;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static dopt_status make_solver(dopt_nlls_problem_d *p, int dense, dopt_nlls_solver_d **s, dopt_errinfo *info)
{
    dopt_linear_solver_d ls;
    /* small graphs (up to ~50 poses: 300 unknowns) are faster with the dense Cholesky */
    if (dense || dopt_nlls_num_variables_d(p) <= 50) return dopt_nlls_solver_create_d(p, NULL, s, info);
    if (dopt_sparse_linear_solver_d(NULL, NULL, &ls) != DOPT_OK) return DOPT_ERR_ALLOCATION;
    return dopt_nlls_solver_create_d(p, &ls, s, info);
}

static dopt_nlls_options_d g_opt; /* --damping / --update / --lambda0 (defaults set in main) */
static int g_quat;                /* --residual: 0 group log, 1 ceres, 2 ceres-log */

static int solve_file(const char *in, const char *out, dopt_nlls_method method, int dense,
                      int max_iter, double ftol, int verbose)
{
    pgo_graph g;
    dopt_nlls_problem_d *p = NULL;
    dopt_nlls_solver_d *s = NULL;
    dopt_nlls_options_d o;
    dopt_nlls_report rep;
    dopt_errinfo info;
    dopt_status st;
    double t0, t1;
    memset(&info, 0, sizeof info);
    if (pgo_read(in, &g, &info) != DOPT_OK) {
        fprintf(stderr, "pgo_dopt: %s: line %ld: %s\n", in, (long)info.line, info.message);
        return 1;
    }
    g.quat_residual = g_quat != 0;
    {
        dopt_hooks h; /* -v: the per-iteration summary through the log hook */
        memset(&h, 0, sizeof h);
        h.log = log_stderr;
        h.log_level = verbose ? DOPT_LOG_INFO : DOPT_LOG_ERROR;
        if (pgo_problem(&h, &g, g.g.edges, g.W, g.wdiag, 1, 1, &p) != DOPT_OK) return 1;
    }
    o = g_opt;
    o.method = method;
    o.max_iterations = max_iter;
    o.function_tolerance = ftol;
    t0 = now_s();
    st = make_solver(p, dense, &s, &info);
    if (st == DOPT_OK) st = dopt_nlls_solve_d(s, &o, g.g.poses, 0, &rep, NULL, &info);
    if (st == DOPT_OK && g_quat == 2) { /* ceres-log: polish the Ceres-form minimizer with the group log */
        dopt_nlls_problem_d *p2 = NULL;
        dopt_nlls_solver_d *s2 = NULL;
        dopt_nlls_report rep2;
        g.quat_residual = 0;
        st = pgo_problem(NULL, &g, g.g.edges, g.W, g.wdiag, 1, 1, &p2);
        if (st == DOPT_OK) st = make_solver(p2, dense, &s2, &info);
        if (st == DOPT_OK) st = dopt_nlls_solve_d(s2, &o, g.g.poses, 0, &rep2, NULL, &info);
        if (st == DOPT_OK) {
            rep2.iterations += rep.iterations;
            rep2.initial_cost = rep.initial_cost; /* (in Ceres' metric) */
            rep = rep2;
        }
        dopt_nlls_solver_destroy_d(s2);
        dopt_nlls_problem_destroy_d(p2);
    }
    t1 = now_s();
    if (st != DOPT_OK) {
        fprintf(stderr, "pgo_dopt: %s: %s (%s)\n", in, dopt_status_string(st), info.message);
        return 1;
    }
    if (dopt_lie_g2o_write_d(out, &g.g, &info) != DOPT_OK) {
        fprintf(stderr, "pgo_dopt: cannot write %s (%s)\n", out, info.message);
        return 1;
    }
    {   /* key=value output: the stop reason's spaces become underscores */
        char why[64];
        size_t i;
        strncpy(why, dopt_nlls_stop_string(rep.stop), sizeof why - 1);
        why[sizeof why - 1] = '\0';
        for (i = 0; why[i]; ++i)
            if (why[i] == ' ') why[i] = '_';
        printf("result solver=dopt iterations=%d initial_cost=%.10g final_cost=%.10g time_s=%.6f converged=%s stop=%s kernel_family=%s\n",
               rep.iterations, rep.initial_cost, rep.final_cost, t1 - t0,
               converged(rep.stop) ? "yes" : "no", why, dopt_kernel_family());
    }
    dopt_nlls_solver_destroy_d(s);
    dopt_nlls_problem_destroy_d(p);
    pgo_free(&g);
    return 0;
}

static int same_structure(const dopt_lie_pose_graph_d *a, const dopt_lie_pose_graph_d *b)
{
    ptrdiff_t k;
    if (a->group != b->group || a->num_poses != b->num_poses || a->num_edges != b->num_edges) return 0;
    for (k = 0; k < a->num_edges; ++k)
        if (a->edges[k].i != b->edges[k].i || a->edges[k].j != b->edges[k].j) return 0;
    return 1;
}

static void uniform_tangent(dopt_rng *rng, double ht, double hr, double xi[6])
{
    int k;
    for (k = 0; k < 3; ++k) xi[k] = ht * (2 * dopt_rng_uniform_d(rng) - 1);
    for (k = 3; k < 6; ++k) xi[k] = hr * (2 * dopt_rng_uniform_d(rng) - 1);
}

/* the ragged case: C cube problems of random sizes in [lo, hi] poses, each its own graph (seed S,
 * stream b + 1 for problem b: its pose count, loop closures, noise and initial values) */
static int write_ragged(const char *dir, int count, int lo, int hi, unsigned long long seed)
{
    int b;
    for (b = 0; b < count; ++b) {
        dopt_lie_cube_options co;
        dopt_lie_pose_graph_d g;
        dopt_rng rng;
        dopt_errinfo info;
        char path[4096];
        dopt_rng_seed(&rng, seed, (uint64_t)b + 1);
        memset(&co, 0, sizeof co);
        co.num_poses = lo + (int)(dopt_rng_u64(&rng) % (uint64_t)(hi - lo + 1));
        co.translation_noise = 0.05;
        co.rotation_noise = 0.02;
        memset(&g, 0, sizeof g);
        if (dopt_lie_cube_graph_d(&co, &rng, NULL, &g) != DOPT_OK) { fprintf(stderr, "pgo_dopt: cube generator failed\n"); return 1; }
        snprintf(path, sizeof path, "%s/ragged_%03d.g2o", dir, b);
        if (dopt_lie_g2o_write_d(path, &g, &info) != DOPT_OK) { fprintf(stderr, "pgo_dopt: %s: %s\n", path, info.message); return 1; }
        dopt_lie_pose_graph_destroy_d(&g);
    }
    return 0;
}

static dopt_status ragged_maker(void *user, const dopt_nlls_problem_d *p, dopt_linear_solver_d *out)
{
    int dense = *(const int *)user;
    if (dense || dopt_nlls_num_variables_d(p) <= 50) return dopt_linear_solver_dense_d(NULL, out);
    return dopt_sparse_linear_solver_d(NULL, NULL, out);
}

static int write_cube(const char *dir, int count, int poses, unsigned long long seed)
{
    dopt_lie_cube_options co;
    dopt_lie_pose_graph_d g;
    dopt_rng rng;
    dopt_errinfo info;
    int b;
    long k, v;
    memset(&co, 0, sizeof co);
    co.num_poses = poses;
    co.translation_noise = 0.05;
    co.rotation_noise = 0.02;
    dopt_rng_seed(&rng, seed, 0);
    memset(&g, 0, sizeof g);
    if (dopt_lie_cube_graph_d(&co, &rng, NULL, &g) != DOPT_OK) { fprintf(stderr, "pgo_dopt: cube generator failed\n"); return 1; }
    for (b = 0; b < count; ++b) {
        char path[4096];
        FILE *f;
        dopt_rng r2;
        dopt_rng_seed(&r2, seed, (uint64_t)b + 1);
        if (b > 0) { /* same graph, new noise */
            for (k = 0; k < g.num_edges; ++k) {
                dopt_lie_pose_graph_edge_d *e = g.edges + k;
                double rel[7], xi[6], ex[7];
                dopt_se3_between_d(g.gt_poses + 7 * e->i, g.gt_poses + 7 * e->j, rel, NULL, NULL);
                if (g.inlier && !g.inlier[k]) dopt_se3_random_d(&r2, ex);
                else { uniform_tangent(&r2, co.translation_noise, co.rotation_noise, xi); dopt_se3_exp_d(xi, ex, NULL); }
                dopt_se3_compose_d(rel, ex, e->measurement, NULL, NULL);
            }
            for (v = 0; v < g.num_poses; ++v) {
                double xi[6], ex[7];
                uniform_tangent(&r2, co.translation_noise, co.rotation_noise, xi);
                dopt_se3_exp_d(xi, ex, NULL);
                dopt_se3_compose_d(g.gt_poses + 7 * v, ex, g.poses + 7 * v, NULL, NULL);
            }
        }
        snprintf(path, sizeof path, "%s/cube_%03d.g2o", dir, b);
        if (dopt_lie_g2o_write_d(path, &g, &info) != DOPT_OK) { fprintf(stderr, "pgo_dopt: %s: %s\n", path, info.message); return 1; }
        (void)f;
    }
    dopt_lie_pose_graph_destroy_d(&g);
    return 0;
}

/* The cube batch's options: exactly `iters` iterations (no stopping rule), lambda unbounded. */
static void cube_options(dopt_nlls_options_d *o, int iters)
{
    memset(o, 0, sizeof *o);
    o->max_iterations = iters;
    o->function_tolerance = -1;
    o->gradient_tolerance = -1;
    o->step_tolerance = -1;
    o->max_lambda = 1e300;
}

static int cube_batch(const char *dir, int dense, int verbose, int ragged)
{
    DIR *d = opendir(dir);
    struct dirent *ent;
    char **names = NULL, path[4096];
    int nf = 0, cap = 0, k, b0, batches = 0, iters = 10;
    pgo_graph *g;
    dopt_errinfo info;
    double t = 0, c0 = 0, c1 = 0, t_create = -1;
    long acc = 0;
    (void)verbose;
    if (!d) { fprintf(stderr, "pgo_dopt: cannot open %s\n", dir); return 1; }
    while ((ent = readdir(d)) != NULL) {
        size_t len = strlen(ent->d_name);
        if (len < 5 || strcmp(ent->d_name + len - 4, ".g2o") != 0) continue;
        if (nf == cap) { cap = cap ? 2 * cap : 256; names = (char **)realloc(names, sizeof(char *) * (size_t)cap); }
        names[nf] = (char *)malloc(len + 1);
        memcpy(names[nf], ent->d_name, len + 1);
        nf++;
    }
    closedir(d);
    if (!nf) { fprintf(stderr, "pgo_dopt: no .g2o files in %s\n", dir); return 1; }
    qsort(names, (size_t)nf, sizeof(char *), cmp_str);
    g = (pgo_graph *)calloc((size_t)nf, sizeof *g);
    memset(&info, 0, sizeof info);
    for (k = 0; k < nf; ++k) {
        snprintf(path, sizeof path, "%s/%s", dir, names[k]);
        if (pgo_read(path, g + k, &info) != DOPT_OK) {
            fprintf(stderr, "pgo_dopt: %s: line %ld: %s\n", path, (long)info.line, info.message);
            return 1;
        }
    }
    if (ragged) { /* every structure one problem of a dopt_nlls_ragged: one create, one solve */
        dopt_nlls_problem_d **P = (dopt_nlls_problem_d **)calloc((size_t)nf, sizeof *P);
        dopt_lie_pose_graph_edge_d **E = (dopt_lie_pose_graph_edge_d **)calloc((size_t)nf, sizeof *E);
        double **Wk = (double **)calloc((size_t)nf, sizeof *Wk), **Dk = (double **)calloc((size_t)nf, sizeof *Dk);
        dopt_nlls_ragged_d *R = NULL;
        dopt_nlls_options_d o;
        dopt_nlls_report *rep = (dopt_nlls_report *)calloc((size_t)nf, sizeof *rep);
        double *x, ts;
        ptrdiff_t tot = 0;
        int np = 0;
        for (b0 = 0; b0 < nf;) {
            const dopt_lie_pose_graph_d *g0 = &g[b0].g;
            int b1 = b0 + 1, B, td = g0->tangent_dim;
            size_t ne = (size_t)g0->num_edges;
            while (b1 < nf && same_structure(g0, &g[b1].g)) b1++;
            B = b1 - b0;
            E[np] = (dopt_lie_pose_graph_edge_d *)malloc(sizeof **E * (size_t)B * ne);
            Wk[np] = (double *)malloc(sizeof(double) * (size_t)(td * td * B) * ne);
            Dk[np] = (double *)malloc(sizeof(double) * (size_t)(td * B) * ne);
            for (k = 0; k < B; ++k) {
                memcpy(E[np] + k * ne, g[b0 + k].g.edges, sizeof **E * ne);
                memcpy(Wk[np] + k * ne * (size_t)(td * td), g[b0 + k].W, sizeof(double) * ne * (size_t)(td * td));
                memcpy(Dk[np] + k * ne * (size_t)td, g[b0 + k].wdiag, sizeof(double) * ne * (size_t)td);
            }
            if (pgo_problem(NULL, g + b0, E[np], Wk[np], Dk[np], B, 1, &P[np]) != DOPT_OK) return 1;
            tot += (ptrdiff_t)B * g0->num_poses * g0->dim;
            np++;
            b0 = b1;
        }
        x = (double *)malloc(sizeof(double) * (size_t)tot);
        for (k = 0, tot = 0; k < nf; ++k) { /* the packed states: the files in order */
            const ptrdiff_t nx = (ptrdiff_t)g[k].g.num_poses * g[k].g.dim;
            memcpy(x + tot, g[k].g.poses, sizeof(double) * (size_t)nx);
            tot += nx;
        }
        cube_options(&o, iters);
        memset(&info, 0, sizeof info);
        ts = now_s();
        if (dopt_nlls_ragged_create_d(NULL, np, P, ragged_maker, &dense, &R, &info) != DOPT_OK) {
            fprintf(stderr, "pgo_dopt: ragged: %s\n", info.message);
            return 1;
        }
        t_create = now_s() - ts;
        if (dopt_nlls_ragged_solve_d(R, &o, x, rep, &info) != DOPT_OK) {
            fprintf(stderr, "pgo_dopt: ragged: %s\n", info.message);
            return 1;
        }
        t = now_s() - ts;
        for (k = 0; k < nf; ++k) { c0 += rep[k].initial_cost; c1 += rep[k].final_cost; acc += rep[k].accepted; }
        dopt_nlls_ragged_destroy_d(R);
        for (k = 0; k < np; ++k) { dopt_nlls_problem_destroy_d(P[k]); free(E[k]); free(Wk[k]); free(Dk[k]); }
        free(P); free(E); free(Wk); free(Dk); free(rep); free(x);
        batches = np;
    }
    /* consecutive runs of one structure form one batch */
    for (b0 = ragged ? nf : 0; b0 < nf;) {
        const dopt_lie_pose_graph_d *g0 = &g[b0].g;
        int b1 = b0 + 1, B, td = g0->tangent_dim;
        size_t ne = (size_t)g0->num_edges, nx = (size_t)g0->num_poses * (size_t)g0->dim;
        dopt_lie_pose_graph_edge_d *edges;
        double *x, *W, *wdiag, ts;
        dopt_nlls_problem_d *p = NULL;
        dopt_nlls_solver_d *s = NULL;
        dopt_nlls_options_d o;
        dopt_nlls_report *rep;
        dopt_status st;
        while (b1 < nf && same_structure(g0, &g[b1].g)) b1++;
        B = b1 - b0;
        edges = (dopt_lie_pose_graph_edge_d *)malloc(sizeof *edges * (size_t)B * ne);
        W = (double *)malloc(sizeof(double) * (size_t)(td * td * B) * ne);
        wdiag = (double *)malloc(sizeof(double) * (size_t)(td * B) * ne);
        x = (double *)malloc(sizeof(double) * (size_t)B * nx);
        rep = (dopt_nlls_report *)calloc((size_t)B, sizeof *rep);
        for (k = 0; k < B; ++k) {
            memcpy(edges + k * ne, g[b0 + k].g.edges, sizeof *edges * ne);
            memcpy(W + k * ne * (size_t)(td * td), g[b0 + k].W, sizeof(double) * ne * (size_t)(td * td));
            memcpy(wdiag + k * ne * (size_t)td, g[b0 + k].wdiag, sizeof(double) * ne * (size_t)td);
            memcpy(x + k * nx, g[b0 + k].g.poses, sizeof(double) * nx);
        }
        if (pgo_problem(NULL, g + b0, edges, W, wdiag, B, 1, &p) != DOPT_OK) return 1;
        cube_options(&o, iters);
        ts = now_s();
        st = make_solver(p, dense, &s, &info);
        if (st == DOPT_OK) st = dopt_nlls_solve_d(s, &o, x, 0, rep, NULL, &info);
        t += now_s() - ts;
        if (st != DOPT_OK) { fprintf(stderr, "pgo_dopt: batch at %s: %s (%s)\n", names[b0], dopt_status_string(st), info.message); return 1; }
        for (k = 0; k < B; ++k) { c0 += rep[k].initial_cost; c1 += rep[k].final_cost; acc += rep[k].accepted; }
        dopt_nlls_solver_destroy_d(s);
        dopt_nlls_problem_destroy_d(p);
        free(edges); free(W); free(wdiag); free(x); free(rep);
        batches++;
        b0 = b1;
    }
    printf("result solver=dopt problems=%d batches=%d iterations=%d accepted=%ld initial_cost=%.10g final_cost=%.10g time_s=%.6f kernel_family=%s",
           nf, batches, iters, acc, c0, c1, t, dopt_kernel_family());
    if (t_create >= 0) printf(" create_s=%.6f", t_create); /* the ragged case: of time_s, the analyses */
    printf("\n");
    for (k = 0; k < nf; ++k) { pgo_free(g + k); free(names[k]); }
    free(g); free(names);
    return 0;
}

int main(int argc, char **argv)
{
    const char *in = NULL, *out = NULL, *cube_dir = NULL, *write_dir = NULL, *ragged_dir = NULL, *write_ragged_dir = NULL;
    int rag_lo = 64, rag_hi = 256;
    int count = 256, poses = 256;
    unsigned long long seed = 1;
    dopt_nlls_method method = DOPT_NLLS_LM;
    int dense = 0, verbose = 0, max_iter = 100, i;
    double ftol = 1e-5;
    /* LM with damping lambda I (as GTSAM), Nielsen's update (as Ceres), lambda0 = 1e-7: over
       the 14 files this needs the fewest iterations of the schedules tried (GTSAM's x10 / /10
       oscillates for 100 iterations on ais2klinik; diagonal damping crawls on parking-garage) */
    g_opt.lm_damping = DOPT_LM_DAMP_IDENTITY;
    g_opt.lm_update = DOPT_LM_UPDATE_NIELSEN;
    g_opt.initial_lambda = 1e-7;
    for (i = 1; i < argc; ++i) {
        if (!strcmp(argv[i], "--dense")) dense = 1;
        else if (!strcmp(argv[i], "-v")) verbose = 1;
        else if (!strcmp(argv[i], "--cpu-time")) g_cpu_time = 1;
        else if (!strcmp(argv[i], "--method") && i + 1 < argc) {
            ++i;
            method = !strcmp(argv[i], "gn") ? DOPT_NLLS_GN : !strcmp(argv[i], "dogleg") ? DOPT_NLLS_DOGLEG : DOPT_NLLS_LM;
        } else if (!strcmp(argv[i], "--max-iter") && i + 1 < argc) max_iter = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--ftol") && i + 1 < argc) ftol = atof(argv[++i]);
        else if (!strcmp(argv[i], "--damping") && i + 1 < argc)
            g_opt.lm_damping = !strcmp(argv[++i], "identity") ? DOPT_LM_DAMP_IDENTITY : DOPT_LM_DAMP_DIAGONAL;
        else if (!strcmp(argv[i], "--update") && i + 1 < argc)
            g_opt.lm_update = !strcmp(argv[++i], "factor") ? DOPT_LM_UPDATE_FACTOR : DOPT_LM_UPDATE_NIELSEN;
        else if (!strcmp(argv[i], "--lambda0") && i + 1 < argc) g_opt.initial_lambda = atof(argv[++i]);
        else if (!strcmp(argv[i], "--residual") && i + 1 < argc) {
            ++i;
            g_quat = !strcmp(argv[i], "ceres") ? 1 : !strcmp(argv[i], "ceres-log") ? 2 : 0;
        }
        else if (!strcmp(argv[i], "--cube-batch") && i + 1 < argc) cube_dir = argv[++i];
        else if (!strcmp(argv[i], "--write-cube") && i + 1 < argc) write_dir = argv[++i];
        else if (!strcmp(argv[i], "--ragged-batch") && i + 1 < argc) ragged_dir = argv[++i];
        else if (!strcmp(argv[i], "--write-ragged") && i + 1 < argc) write_ragged_dir = argv[++i];
        else if (!strcmp(argv[i], "--sizes") && i + 2 < argc) { rag_lo = atoi(argv[++i]); rag_hi = atoi(argv[++i]); }
        else if (!strcmp(argv[i], "--count") && i + 1 < argc) count = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--poses") && i + 1 < argc) poses = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--seed") && i + 1 < argc) seed = strtoull(argv[++i], NULL, 10);
        else if (!in) in = argv[i];
        else if (!out) out = argv[i];
    }
    if (write_dir) return write_cube(write_dir, count, poses, seed);
    if (write_ragged_dir) return write_ragged(write_ragged_dir, count, rag_lo, rag_hi, seed);
    if (ragged_dir) return cube_batch(ragged_dir, dense, verbose, 1);
    if (cube_dir && strspn(cube_dir, "0123456789") == strlen(cube_dir)) {
        /* --cube-batch COUNT [--poses N --seed S]: generate the problems (as --write-cube) in a
           temporary folder, solve them as above, remove the folder */
        char tmpl[] = "/tmp/pgo_dopt_cubeXXXXXX", path[4096];
        int rc, k;
        if (!mkdtemp(tmpl)) { fprintf(stderr, "pgo_dopt: cannot make a temporary folder\n"); return 1; }
        rc = write_cube(tmpl, atoi(cube_dir), poses, seed);
        if (rc == 0) rc = cube_batch(tmpl, dense, verbose, 0);
        for (k = 0; k < atoi(cube_dir); ++k) {
            snprintf(path, sizeof path, "%s/cube_%03d.g2o", tmpl, k);
            remove(path);
        }
        remove(tmpl);
        return rc;
    }
    if (cube_dir) return cube_batch(cube_dir, dense, verbose, 0);
    if (!in || !out) {
        fprintf(stderr, "usage: pgo_dopt IN.g2o OUT.g2o [--method lm|gn|dogleg] [--dense] [--max-iter N] [--ftol X] [-v]\n"
                        "       pgo_dopt --cube-batch DIR | COUNT [--poses N] [--seed S]\n"
                        "       pgo_dopt --write-cube DIR [--count C] [--poses N] [--seed S]\n");
        return 2;
    }
    return solve_file(in, out, method, dense, max_iter, ftol, verbose);
}
