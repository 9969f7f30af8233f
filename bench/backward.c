/* bench/backward.c — `make bench-backward`: time and memory of the backward pass of the
 * least-squares layer per backward mode against the number of inner iterations (the shape of the
 * Theseus paper's Fig. 4: flat for IMPLICIT and DLM, linear for UNROLL).
 *
 * Problem: a synthetic cube SE3 pose graph (dopt_lie_cube_graph, 64 poses, 25% outlier loop
 * closures), Welsch between costs with a learnable radius, pose 0 fixed, LM with exactly K
 * iterations (tolerances off), dopt_sparse.h's supernodal Cholesky.  Outer loss: squared pose
 * error to the ground truth.  For K in 2 5 10 20 50 and each mode (IMPLICIT, UNROLL, TRUNCATED
 * with 5 steps, DLM) it prints
 *   bench backward <mode>_K<k> backward_s=... forward_s=... mem_kb=... ratio=backward_s/forward_s
 * mem_kb: bytes held by the dopt_nlls_diff object for that mode (its trace kept as the mode needs:
 * dopt_nlls_diff_keep_trace -1 / 5 / 0) — the backward itself allocates nothing (checked through a
 * counting allocator).  Times are the best of several runs (one thread).  Writes an SVG chart to
 * argv[1] (default backward.svg). */
#define _POSIX_C_SOURCE 199309L
#define DOPT_IMPLEMENTATION
#include "dopt.h"
#include "dopt_lie.h"
#include "dopt_sparse.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct counter { size_t cur, peak, calls; } counter;
static void *c_alloc(void *u, size_t n)
{
    counter *c = (counter *)u;
    size_t *p = (size_t *)malloc(n + 16);
    if (!p) return NULL;
    c->cur += n; c->calls++;
    if (c->cur > c->peak) c->peak = c->cur;
    return (char *)p + 16;
}
static void c_free(void *u, void *ptr, size_t n)
{
    counter *c = (counter *)u;
    if (!ptr) return;
    c->cur -= n;
    free((char *)ptr - 16);
}
static void *c_realloc(void *u, void *ptr, size_t o, size_t n)
{
    void *q = c_alloc(u, n);
    if (q && ptr) memcpy(q, ptr, o < n ? o : n);
    c_free(u, ptr, o);
    return q;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

#define NPOSES 64
static const int Ks[5] = {2, 5, 10, 20, 50};
static const char *mode_name[4] = {"implicit", "unroll", "truncated5", "dlm"};

int main(int argc, char **argv)
{
    counter cnt = {0, 0, 0};
    dopt_hooks hooks;
    dopt_lie_pose_graph_d g;
    dopt_lie_cube_options co;
    dopt_lie_between_data_d *meas;
    dopt_nlls_problem_d *prob;
    dopt_nlls_solver_d *solver;
    dopt_nlls_diff_d *D;
    dopt_linear_solver_d ls;
    dopt_manifold_d se3 = dopt_lie_manifold_se3_d();
    dopt_rng rng;
    double sqrt_info[6], radius = 5, *x, *xbar, T[4][5], M[4][5];
    int k, v, pa, ki, mode, n;
    const char *svg = argc > 1 ? argv[1] : "backward.svg";
    FILE *f;

    memset(&hooks, 0, sizeof hooks);
    hooks.allocator.alloc = c_alloc;
    hooks.allocator.realloc = c_realloc;
    hooks.allocator.free = c_free;
    hooks.allocator.user = &cnt;
    memset(&co, 0, sizeof co);
    co.num_poses = NPOSES;
    co.outlier_ratio = 0.25;
    dopt_rng_seed(&rng, 7, 0);
    if (dopt_lie_cube_graph_d(&co, &rng, NULL, &g) != DOPT_OK) return 1;
    meas = (dopt_lie_between_data_d *)malloc(sizeof *meas * (size_t)g.num_edges);
    for (k = 0; k < 6; ++k) sqrt_info[k] = sqrt(g.edges[0].information[k * 7]);
    dopt_nlls_problem_create_d(&hooks, 1, &prob);
    for (k = 0; k < NPOSES; ++k) dopt_nlls_add_variable_d(prob, &se3, &v);
    dopt_nlls_set_constant_d(prob, 0, 1);
    for (k = 0; k < g.num_edges; ++k) {
        dopt_nlls_cost_desc_d d;
        int vars[2];
        memset(&d, 0, sizeof d);
        vars[0] = (int)g.edges[k].i;
        vars[1] = (int)g.edges[k].j;
        memcpy(meas[k].measurement, g.edges[k].measurement, 7 * sizeof(double));
        d.fn = dopt_lie_cost_between_se3_d;
        d.data = &meas[k];
        d.rdim = 6; d.nvars = 2; d.vars = vars;
        d.weight_kind = DOPT_WEIGHT_DIAGONAL;
        d.weight = sqrt_info;
        d.loss = DOPT_LOSS_WELSCH;
        d.loss_scale = radius;
        dopt_nlls_add_cost_d(prob, &d, NULL);
    }
    dopt_sparse_linear_solver_d(&hooks, NULL, &ls);
    if (dopt_nlls_solver_create_d(prob, &ls, &solver, NULL) != DOPT_OK) return 1;
    dopt_nlls_diff_create_d(solver, &D);
    dopt_nlls_diff_learn_loss_scale_d(D, &radius, &pa);
    for (k = 0; k < g.num_edges; ++k) dopt_nlls_diff_attach_d(D, k, pa, NULL);
    n = dopt_nlls_diff_tangent_size_d(D);
    x = (double *)malloc(sizeof(double) * 7 * NPOSES);
    xbar = (double *)malloc(sizeof(double) * (size_t)n);
    printf("# cube pose graph: %d SE3 poses, %ld edges, n = %d unknowns; LM, K iterations; "
           "dopt_sparse supernodal Cholesky; %s\n", NPOSES, g.num_edges, n, "one thread");
    for (ki = 0; ki < 5; ++ki) {
        for (mode = 0; mode < 4; ++mode) {
            dopt_nlls_options_d o = dopt_nlls_default_options_d();
            dopt_nlls_diff_options_d bo;
            double tf = 1e30, tb = 1e30, gr = 0;
            size_t calls0;
            int rep, reps = Ks[ki] >= 20 ? 3 : 5;
            o.max_iterations = Ks[ki];
            o.function_tolerance = -1;
            o.gradient_tolerance = -1;
            o.step_tolerance = -1;
            memset(&bo, 0, sizeof bo);
            bo.mode = mode == 0 ? DOPT_NLLS_DIFF_IMPLICIT : mode == 1 ? DOPT_NLLS_DIFF_UNROLL : mode == 2 ? DOPT_NLLS_DIFF_TRUNCATED : DOPT_NLLS_DIFF_DLM;
            bo.truncate = 5;
            dopt_nlls_diff_keep_trace_d(D, mode == 1 ? -1 : mode == 2 ? 5 : 0);
            for (rep = 0; rep < reps; ++rep) {
                double t0, t1, t2;
                int j;
                memcpy(x, g.poses, sizeof(double) * 7 * NPOSES);
                t0 = now();
                dopt_nlls_diff_solve_d(D, &o, x, 0, NULL, NULL);
                t1 = now();
                memset(xbar, 0, sizeof(double) * (size_t)n);
                for (j = 1; j < NPOSES; ++j) { /* d/dδ of |t - t_gt|^2 for x ⊕ δ: 2 R^T (t - t_gt) on v */
                    const double *xj = x + 7 * j, *gt = g.gt_poses + 7 * j;
                    double dt[3], qx = xj[3], qy = xj[4], qz = xj[5], qw = xj[6], Rm[9];
                    int off = dopt_nlls_diff_tangent_offset_d(D, j), a, b;
                    Rm[0] = 1 - 2 * (qy * qy + qz * qz); Rm[1] = 2 * (qx * qy - qz * qw); Rm[2] = 2 * (qx * qz + qy * qw);
                    Rm[3] = 2 * (qx * qy + qz * qw); Rm[4] = 1 - 2 * (qx * qx + qz * qz); Rm[5] = 2 * (qy * qz - qx * qw);
                    Rm[6] = 2 * (qx * qz - qy * qw); Rm[7] = 2 * (qy * qz + qx * qw); Rm[8] = 1 - 2 * (qx * qx + qy * qy);
                    for (a = 0; a < 3; ++a) dt[a] = xj[a] - gt[a];
                    for (b = 0; b < 3; ++b) {
                        double acc = 0;
                        for (a = 0; a < 3; ++a) acc += Rm[a * 3 + b] * dt[a];
                        xbar[off + b] = 2 * acc;
                    }
                }
                calls0 = cnt.calls;
                t2 = now();
                if (dopt_nlls_diff_backward_d(D, &bo, xbar, NULL, NULL, NULL) != DOPT_OK) {
                    printf("# %s K=%d: backward failed\n", mode_name[mode], Ks[ki]);
                }
                t0 = t1 - t0;
                t2 = now() - t2;
                if (cnt.calls != calls0) printf("# warning: the backward pass allocated\n");
                if (t0 < tf) tf = t0;
                if (t2 < tb) tb = t2;
                gr = dopt_nlls_diff_param_grad_d(D, pa)[0];
            }
            T[mode][ki] = tb;
            M[mode][ki] = (double)dopt_nlls_diff_bytes_d(D) / 1024.0;
            printf("bench backward %s_K%d backward_s=%.6f forward_s=%.6f mem_kb=%.1f dL_dradius=%.6e ratio=%.4f\n",
                   mode_name[mode], Ks[ki], tb, tf, M[mode][ki], gr, tb / tf);
            fflush(stdout);
        }
    }
    /* the chart: two panels, log-scaled y, K on x */
    f = fopen(svg, "w");
    if (f) {
        static const char *col[4] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd"};
        int panel;
        fprintf(f, "<svg xmlns='http://www.w3.org/2000/svg' width='900' height='380' font-family='sans-serif' font-size='12'>\n");
        fprintf(f, "<rect width='900' height='380' fill='white'/>\n");
        for (panel = 0; panel < 2; ++panel) {
            double (*Y)[5] = panel ? M : T, lo = 1e300, hi = 0, x0 = 60 + panel * 440, w = 360, y0 = 40, h = 280;
            int m, q;
            for (m = 0; m < 4; ++m)
                for (q = 0; q < 5; ++q) { if (Y[m][q] < lo) lo = Y[m][q]; if (Y[m][q] > hi) hi = Y[m][q]; }
            lo = log10(lo) - 0.1; hi = log10(hi) + 0.1;
            fprintf(f, "<text x='%g' y='25'>%s (log scale) vs inner iterations K</text>\n", x0,
                    panel ? "memory of the layer, KiB" : "backward time, s");
            fprintf(f, "<rect x='%g' y='%g' width='%g' height='%g' fill='none' stroke='#888'/>\n", x0, y0, w, h);
            for (q = 0; q < 5; ++q)
                fprintf(f, "<text x='%g' y='%g' text-anchor='middle'>%d</text>\n", x0 + w * q / 4.0, y0 + h + 16, Ks[q]);
            fprintf(f, "<text x='%g' y='%g' text-anchor='end'>%.3g</text>\n", x0 - 4, y0 + 4, pow(10, hi));
            fprintf(f, "<text x='%g' y='%g' text-anchor='end'>%.3g</text>\n", x0 - 4, y0 + h, pow(10, lo));
            for (m = 0; m < 4; ++m) {
                fprintf(f, "<polyline fill='none' stroke='%s' stroke-width='2' points='", col[m]);
                for (q = 0; q < 5; ++q)
                    fprintf(f, "%.1f,%.1f ", x0 + w * q / 4.0, y0 + h - h * (log10(Y[m][q]) - lo) / (hi - lo));
                fprintf(f, "'/>\n");
                fprintf(f, "<text x='%g' y='%g' fill='%s'>%s</text>\n", x0 + 10, y0 + 16 + 14 * m, col[m], mode_name[m]);
            }
        }
        fprintf(f, "</svg>\n");
        fclose(f);
        printf("# chart: %s\n", svg);
    }
    dopt_nlls_diff_destroy_d(D);
    dopt_nlls_solver_destroy_d(solver);
    dopt_nlls_problem_destroy_d(prob);
    dopt_lie_pose_graph_destroy_d(&g);
    free(meas); free(x); free(xbar);
    return 0;
}
