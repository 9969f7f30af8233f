/* examples/lie_pgo.c — pose-graph optimization with dopt_lie.h and dopt.h's least-squares layer.
 *
 * Generates the synthetic SE3 pose graph of the Theseus paper (odometry + loop closures), puts
 * one SE3 variable per pose (manifold retraction x·Exp(δ)) and one between cost per edge
 * (r = Log(meas⁻¹ · xi⁻¹ · xj), weighted by the square root of the edge's diagonal information),
 * fixes the first pose, starts from dead reckoning (chained odometry), runs Levenberg-Marquardt
 * and compares the trajectory with the ground truth before and after.  Build and run:
 *     cc -std=c99 -O2 -I. examples/lie_pgo.c -o lie_pgo -lm && ./lie_pgo
 */
#define DOPT_IMPLEMENTATION
#include "dopt_lie.h"
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>

/* RMS position error (after fixing the gauge by pose 0) and RMS rotation error in radians. */
static void trajectory_error(const dopt_lie_pose_graph_d *g, const double *x, double *rms_t, double *rms_r)
{
    double st = 0, sr = 0;
    long k;
    for (k = 0; k < g->num_poses; ++k) {
        double d[7], xi[6];
        dopt_se3_between_d(g->gt_poses + 7 * k, x + 7 * k, d, NULL, NULL);
        dopt_se3_log_d(d, xi, NULL);
        st += d[0] * d[0] + d[1] * d[1] + d[2] * d[2];
        sr += xi[3] * xi[3] + xi[4] * xi[4] + xi[5] * xi[5];
    }
    *rms_t = sqrt(st / (double)g->num_poses);
    *rms_r = sqrt(sr / (double)g->num_poses);
}

int main(void)
{
    dopt_lie_cube_options opt;
    dopt_lie_pose_graph_d g;
    dopt_rng rng;
    dopt_nlls_problem_d *p = NULL;
    dopt_nlls_solver_d *s = NULL;
    dopt_lie_between_data_d *meas;
    double *sqrt_info, *x, t0, r0, t1, r1;
    dopt_manifold_d se3 = dopt_lie_manifold_se3_d();
    dopt_nlls_report report;
    long k;
    int a, status = 1;

    memset(&opt, 0, sizeof opt); /* zero = defaults */
    opt.num_poses = 200; /* Theseus' defaults otherwise: noise 0.05 / 0.02, loop closures 0.2 */
    dopt_rng_seed(&rng, 42, 0);
    if (dopt_lie_cube_graph_d(&opt, &rng, NULL, &g) != DOPT_OK) return 1;
    printf("cube graph: %ld poses, %ld edges\n", (long)g.num_poses, (long)g.num_edges);

    meas = (dopt_lie_between_data_d *)malloc(sizeof *meas * (size_t)g.num_edges);
    sqrt_info = (double *)malloc(sizeof(double) * 6 * (size_t)g.num_edges);
    x = (double *)malloc(sizeof(double) * 7 * (size_t)g.num_poses);
    if (!meas || !sqrt_info || !x || dopt_nlls_problem_create_d(NULL, 1, &p) != DOPT_OK) goto done;
    for (k = 0; k < g.num_poses; ++k)
        if (dopt_nlls_add_variable_d(p, &se3, NULL) != DOPT_OK) goto done;
    dopt_nlls_set_constant_d(p, 0, 1);
    for (k = 0; k < g.num_edges; ++k) {
        dopt_nlls_cost_desc_d d;
        int vars[2];
        memset(&d, 0, sizeof d);
        vars[0] = (int)g.edges[k].i;
        vars[1] = (int)g.edges[k].j;
        for (a = 0; a < 7; ++a) meas[k].measurement[a] = g.edges[k].measurement[a];
        for (a = 0; a < 6; ++a) sqrt_info[6 * k + a] = sqrt(g.edges[k].information[7 * a]);
        d.fn = dopt_lie_cost_between_se3_d;
        d.data = &meas[k];
        d.rdim = 6;
        d.nvars = 2;
        d.vars = vars;
        d.weight_kind = DOPT_WEIGHT_DIAGONAL;
        d.weight = sqrt_info + 6 * k;
        if (dopt_nlls_add_cost_d(p, &d, NULL) != DOPT_OK) goto done;
    }
    /* the state vector: poses back to back.  Start from dead reckoning: pose 0 at its ground
     * truth (it is held fixed: the gauge), then chain the odometry measurements, so that the
     * drift grows along the trajectory and only the loop closures can correct it. */
    for (a = 0; a < 7; ++a) x[a] = g.gt_poses[a];
    for (k = 0; k < g.num_edges; ++k)
        if (g.edges[k].j == g.edges[k].i + 1)
            dopt_se3_compose_d(x + 7 * g.edges[k].i, g.edges[k].measurement, x + 7 * g.edges[k].j, NULL, NULL);
    trajectory_error(&g, x, &t0, &r0);
    if (dopt_nlls_solver_create_d(p, NULL, &s, NULL) != DOPT_OK) goto done;
    if (dopt_nlls_solve_d(s, NULL, x, 0, &report, NULL, NULL) != DOPT_OK) goto done;
    trajectory_error(&g, x, &t1, &r1);
    printf("cost %.4g -> %.4g in %d iterations (%s)\n", report.initial_cost, report.final_cost,
           report.iterations, dopt_nlls_stop_string(report.stop));
    printf("RMS error to ground truth: position %.4f -> %.4f, rotation %.4f -> %.4f rad\n", t0, t1, r0, r1);
    status = 0;
done:
    dopt_nlls_solver_destroy_d(s);
    dopt_nlls_problem_destroy_d(p);
    dopt_lie_pose_graph_destroy_d(&g);
    free(meas);
    free(sqrt_info);
    free(x);
    return status;
}
