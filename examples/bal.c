/* examples/bal.c — bundle adjustment of a BAL problem with dopt_lie.h's Schur-complement
 * Levenberg-Marquardt, printing Ceres-style iteration lines, and two SVGs of the camera centres
 * and points seen from above (before and after).
 *
 *     cc -std=c99 -O2 -I. examples/bal.c -o bal -lm
 *     ./bal                          # a generated scene: 40 cameras on a track, noisy start
 *     ./bal problem-49-7776-pre.txt  # a BAL file (e.g. ../shared/data/bal/)
 *
 * Writes bal_before.svg and bal_after.svg ("above": the two world axes along which the camera
 * centres spread most).  The reduced camera system goes to dopt_sparse.h's Cholesky. */
#define DOPT_IMPLEMENTATION
#include "dopt_lie.h"
#include "dopt_sparse.h"
#include "svg_plot.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void print_line(void *user, dopt_log_level level, const char *line)
{
    (void)user; (void)level;
    printf("%s\n", line);
}

/* camera centre C = -Rᵀ t of a BAL camera */
static void camera_centre(const double *cam, double C[3])
{
    double q[4], R[9];
    int a;
    dopt_so3_exp_d(cam, q, NULL);
    dopt_so3_to_matrix_d(q, R);
    for (a = 0; a < 3; ++a) C[a] = -(R[a] * cam[3] + R[3 + a] * cam[4] + R[6 + a] * cam[5]);
}

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* the q-quantile of n values read with stride (sorted copy) */
static double quantile(const double *x, long n, int stride, double q)
{
    double *t = (double *)malloc(sizeof(double) * (size_t)n), v;
    long i;
    for (i = 0; i < n; ++i) t[i] = x[i * stride];
    qsort(t, (size_t)n, sizeof(double), cmp_double);
    v = t[(long)(q * (double)(n - 1))];
    free(t);
    return v;
}

/* plot camera centres and points on axes (u, v) */
static void plot(const dopt_lie_bal_d *p, int u, int v, const char *path, const char *title)
{
    svg_plot s;
    long c, n = (long)p->num_cameras, np = (long)p->num_points;
    double *C = (double *)malloc(sizeof(double) * 3 * (size_t)n);
    double x0 = HUGE_VAL, x1 = -HUGE_VAL, y0 = HUGE_VAL, y1 = -HUGE_VAL;
    for (c = 0; c < n; ++c) camera_centre(p->cameras + 9 * c, C + 3 * c);
    svg_range(C + u, (int)n, 3, &x0, &x1);
    svg_range(C + v, (int)n, 3, &y0, &y1);
    /* the bulk of the points (2%..98%): a few points far away would shrink everything else */
    if (quantile(p->points + u, np, 3, 0.02) < x0) x0 = quantile(p->points + u, np, 3, 0.02);
    if (quantile(p->points + u, np, 3, 0.98) > x1) x1 = quantile(p->points + u, np, 3, 0.98);
    if (quantile(p->points + v, np, 3, 0.02) < y0) y0 = quantile(p->points + v, np, 3, 0.02);
    if (quantile(p->points + v, np, 3, 0.98) > y1) y1 = quantile(p->points + v, np, 3, 0.98);
    if (svg_open(&s, path, 720, 560, title, u == 0 ? "x" : u == 1 ? "y" : "z", v == 0 ? "x" : v == 1 ? "y" : "z") == 0) {
        svg_axes_equal(&s, x0, x1, y0, y1);
        svg_points(&s, p->points + u, 3, p->points + v, 3, (int)(np < 20000 ? np : 20000), 1.0, SVG_GREY, "points");
        svg_points(&s, C + u, 3, C + v, 3, (int)n, 3.0, SVG_RED, "camera centres");
        svg_close(&s);
        printf("wrote %s\n", path);
    }
    free(C);
}

int main(int argc, char **argv)
{
    dopt_lie_bal_d *p = NULL;
    dopt_lie_ba_solver_d *s = NULL;
    dopt_linear_solver_d ls;
    dopt_lie_ba_report rep;
    dopt_errinfo info;
    dopt_hooks hooks;
    dopt_status st;
    double var[3] = {0, 0, 0}, mean[3] = {0, 0, 0}, C[3];
    int u = 0, v = 1, a;
    long c;
    if (argc > 1) {
        st = dopt_lie_bal_read_d(NULL, argv[1], &p, &info);
        if (st != DOPT_OK) {
            fprintf(stderr, "%s: %s (line %ld: %s)\n", argv[1], dopt_status_string(st), info.line, info.message);
            return 1;
        }
    } else {
        dopt_lie_bal_scene_options so;
        dopt_rng rng;
        memset(&so, 0, sizeof so);
        so.num_cameras = 40;
        so.rotation_noise = 0.02;
        so.point_noise = 0.3;
        dopt_rng_seed(&rng, 7, 0);
        if (dopt_lie_bal_scene_d(NULL, &so, &rng, &p, &info) != DOPT_OK) return 1;
    }
    printf("%ld cameras, %ld points, %ld observations\n", (long)p->num_cameras, (long)p->num_points,
           (long)p->num_observations);
    /* "from above": the two axes with the largest spread of camera centres */
    for (c = 0; c < p->num_cameras; ++c) {
        camera_centre(p->cameras + 9 * c, C);
        for (a = 0; a < 3; ++a) { mean[a] += C[a]; var[a] += C[a] * C[a]; }
    }
    for (a = 0; a < 3; ++a) var[a] = var[a] / (double)p->num_cameras - mean[a] * mean[a] / ((double)p->num_cameras * (double)p->num_cameras);
    if (var[2] > var[u] && var[2] > var[v]) { if (var[u] < var[v]) u = 2; else v = 2; }
    else if (var[2] > (var[0] < var[1] ? var[0] : var[1])) { if (var[0] < var[1]) u = 2; else v = 2; }
    if (u > v) { a = u; u = v; v = a; }
    plot(p, u, v, "bal_before.svg", "bundle adjustment: before");

    memset(&hooks, 0, sizeof hooks);
    hooks.log = print_line;          /* the iteration lines */
    hooks.log_level = DOPT_LOG_INFO;
    if (dopt_sparse_linear_solver_d(NULL, NULL, &ls) != DOPT_OK) return 1;
    st = dopt_lie_ba_solver_create_d(&hooks, p, NULL, &ls, &s, &info);
    if (st != DOPT_OK) { fprintf(stderr, "solver: %s\n", info.message); return 1; }
    st = dopt_lie_ba_solve_d(s, p, NULL, &rep, &info);   /* Ceres' defaults, squared loss */
    printf("%s: %s after %d iterations, cost %.6e -> %.6e\n", dopt_status_string(st), dopt_nlls_stop_string(rep.stop),
           rep.iterations, rep.initial_cost, rep.final_cost);
    plot(p, u, v, "bal_after.svg", "bundle adjustment: after");
    dopt_lie_ba_solver_destroy_d(s);
    dopt_lie_bal_destroy_d(p);
    return st == DOPT_OK ? 0 : 1;
}
