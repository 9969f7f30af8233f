/* examples/pgo.c — pose-graph optimization with dopt's least-squares layer.
 *
 *   cc -std=c99 -O2 -I. examples/pgo.c -o pgo -lm
 *   ./pgo                      # the synthetic "cube" graph of the Theseus paper (256 SE3 poses)
 *   ./pgo file.g2o [out.g2o]   # any 2D or 3D g2o file (e.g. ../shared/data/pgo2d/intel.g2o)
 *
 * Reads the graph with dopt_lie_g2o_read_d (or makes it with dopt_lie_cube_graph_d), builds the
 * objective S(x) = 1/2 sum_edges ||W Log(z^-1 xi^-1 xj)||^2 (W^T W = the edge's information,
 * dopt_lie_cost_between_se2/se3 as the residual), holds the first pose constant (the gauge), and minimizes it with
 * Levenberg-Marquardt and dopt_sparse.h's supernodal Cholesky.  Prints Ceres-style iteration
 * lines (dopt's log hook), the report, and writes pgo_before_after.svg: the x-y trajectory
 * before (grey) and after (blue) the solve, plus the ground truth (green) for the cube. */
#define DOPT_IMPLEMENTATION
#include "dopt.h"
#include "dopt_sparse.h"
#include "dopt_lie.h"
#include "svg_plot.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void print_line(void *user, dopt_log_level level, const char *line)
{
    (void)user; (void)level;
    printf("%s\n", line);
}

/* W (n x n row-major) with W^T W = info: the upper Cholesky factor (dopt_potrf's column-major
 * lower factor is the row-major upper one).  An information that is not positive definite
 * (cubicle.g2o has some) is weighted here by the square roots of its non-negative diagonal. */
static void sqrt_info(int n, const double *info, double *W)
{
    int i, k;
    memcpy(W, info, sizeof(double) * (size_t)(n * n));
    if (dopt_potrf_d(n, W, n, NULL) == DOPT_OK) {
        for (i = 0; i < n; ++i)
            for (k = 0; k < i; ++k) W[i * n + k] = 0;
        return;
    }
    memset(W, 0, sizeof(double) * (size_t)(n * n));
    for (i = 0; i < n; ++i) W[i * n + i] = info[i * n + i] > 0 ? sqrt(info[i * n + i]) : 0;
}

/* the objective: one variable per pose (SE2/SE3 manifold), one between cost per edge
   (r = Log(z^-1 xi^-1 xj), weighted by the square-root information W), pose 0 constant */
static dopt_status build_problem(const dopt_hooks *hooks, const dopt_lie_pose_graph_d *g, double *W,
                                 dopt_nlls_problem_d **out)
{
    dopt_nlls_problem_d *p;
    int se2 = g->group == DOPT_LIE_SE2, td = g->tangent_dim;
    dopt_manifold_d m = se2 ? dopt_lie_manifold_se2_d() : dopt_lie_manifold_se3_d();
    ptrdiff_t k;
    dopt_status st = dopt_nlls_problem_create_d(hooks, 1, &p);
    if (st != DOPT_OK) return st;
    for (k = 0; k < g->num_poses && st == DOPT_OK; ++k) st = dopt_nlls_add_variable_d(p, &m, NULL);
    if (st == DOPT_OK) st = dopt_nlls_set_constant_d(p, 0, 1);
    for (k = 0; k < g->num_edges && st == DOPT_OK; ++k) {
        dopt_nlls_cost_desc_d d;
        int vars[2];
        vars[0] = (int)g->edges[k].i;
        vars[1] = (int)g->edges[k].j;
        sqrt_info(td, g->edges[k].information, W + k * td * td);
        memset(&d, 0, sizeof d);
        d.fn = se2 ? dopt_lie_cost_between_se2_d : dopt_lie_cost_between_se3_d;
        d.data = g->edges[k].measurement; /* dopt_lie_between_data_d's layout */
        d.rdim = td;
        d.nvars = 2;
        d.vars = vars;
        d.weight_kind = DOPT_WEIGHT_SQRT_INFO;
        d.weight = W + k * td * td;
        st = dopt_nlls_add_cost_d(p, &d, NULL);
    }
    if (st != DOPT_OK) { dopt_nlls_problem_destroy_d(p); return st; }
    *out = p;
    return DOPT_OK;
}

/* The x-y trajectories before and after (and the ground truth where the file has one), overlaid
 * on equal axes through examples/svg_plot.h. */
static void write_svg(const char *path, const dopt_lie_pose_graph_d *g, const double *before,
                      const double *after, const double *truth)
{
    const int n = (int)g->num_poses, sd = (int)g->dim;
    double xlo = 1e300, xhi = -1e300, ylo = 1e300, yhi = -1e300;
    svg_plot sp;
    svg_range(before, n, sd, &xlo, &xhi);
    svg_range(after, n, sd, &xlo, &xhi);
    svg_range(before + 1, n, sd, &ylo, &yhi);
    svg_range(after + 1, n, sd, &ylo, &yhi);
    if (truth) {
        svg_range(truth, n, sd, &xlo, &xhi);
        svg_range(truth + 1, n, sd, &ylo, &yhi);
    }
    if (svg_open(&sp, path, 640, 640, "pose graph: x-y trajectory", "x", "y") != 0) return;
    svg_axes_equal(&sp, xlo, xhi, ylo, yhi);
    svg_line_strided(&sp, before, sd, before + 1, sd, n, SVG_GREY, "before", 1);
    if (truth) svg_line_strided(&sp, truth, sd, truth + 1, sd, n, SVG_GREEN, "ground truth", 0);
    svg_line_strided(&sp, after, sd, after + 1, sd, n, SVG_BLUE, "after", 0);
    svg_close(&sp);
}

int main(int argc, char **argv)
{
    dopt_lie_pose_graph_d g;
    double *before, *W;
    size_t nx;
    dopt_hooks hooks;
    dopt_nlls_problem_d *p = NULL;
    dopt_nlls_solver_d *s = NULL;
    dopt_linear_solver_d ls;
    dopt_nlls_options_d opt;
    dopt_nlls_report rep;
    dopt_nlls_timing tm;
    dopt_errinfo info;
    dopt_status st;
    memset(&info, 0, sizeof info);
    if (argc > 1) {
        st = dopt_lie_g2o_read_d(argv[1], NULL, &g, &info);
        if (st != DOPT_OK) {
            fprintf(stderr, "%s: %s (line %ld: %s)\n", argv[1], dopt_status_string(st), (long)info.line, info.message);
            return 1;
        }
    } else {
        dopt_lie_cube_options co; /* the Theseus paper's synthetic graph, 256 poses */
        dopt_rng rng;
        memset(&co, 0, sizeof co);
        co.num_poses = 256;
        dopt_rng_seed(&rng, 2022, 0);
        if (dopt_lie_cube_graph_d(&co, &rng, NULL, &g) != DOPT_OK) {
            fprintf(stderr, "cube generator failed\n");
            return 1;
        }
    }
    printf("%s: %dD pose graph, %ld poses, %ld edges\n", argc > 1 ? argv[1] : "synthetic cube",
           g.group == DOPT_LIE_SE2 ? 2 : 3, (long)g.num_poses, (long)g.num_edges);
    nx = (size_t)g.num_poses * (size_t)g.dim;
    before = (double *)malloc(sizeof(double) * nx);
    W = (double *)malloc(sizeof(double) * 36 * (size_t)(g.num_edges + 1));
    if (!before || !W) return 1;
    memcpy(before, g.poses, sizeof(double) * nx);

    /* the log hook prints one line per iteration */
    memset(&hooks, 0, sizeof hooks);
    hooks.log = print_line;
    hooks.log_level = DOPT_LOG_INFO;
    if (build_problem(&hooks, &g, W, &p) != DOPT_OK) return 1;

    /* the solver: sparse Cholesky, symbolic analysis done here once */
    dopt_sparse_linear_solver_d(NULL, NULL, &ls);
    st = dopt_nlls_solver_create_d(p, &ls, &s, &info);
    if (st != DOPT_OK) {
        fprintf(stderr, "solver: %s (%s)\n", dopt_status_string(st), info.message);
        return 1;
    }
    opt = dopt_nlls_default_options_d();
    opt.lm_damping = DOPT_LM_DAMP_IDENTITY;   /* damping lambda I (as GTSAM), Nielsen's update */
    opt.initial_lambda = 1e-7;
    opt.function_tolerance = 1e-8;
    opt.max_iterations = 100;
    opt.timing = 1;
    st = dopt_nlls_solve_d(s, &opt, g.poses, 0, &rep, &tm, &info);
    if (st != DOPT_OK) {
        fprintf(stderr, "solve: %s (%s)\n", dopt_status_string(st), info.message);
        return 1;
    }
    printf("cost %.6g -> %.6g in %d iterations (%d accepted), stopped: %s\n", rep.initial_cost,
           rep.final_cost, rep.iterations, rep.accepted, dopt_nlls_stop_string(rep.stop));
    printf("time: linearization %.3f s, linear solver %.3f s, total %.3f s\n", tm.linearize_s,
           tm.solve_s, tm.total_s);
    write_svg("pgo_before_after.svg", &g, before, g.poses, g.gt_poses);
    printf("wrote pgo_before_after.svg\n");
    if (argc > 2 && dopt_lie_g2o_write_d(argv[2], &g, &info) == DOPT_OK) printf("wrote %s\n", argv[2]);
    dopt_nlls_solver_destroy_d(s);
    dopt_nlls_problem_destroy_d(p);
    dopt_lie_pose_graph_destroy_d(&g);
    free(before);
    free(W);
    return 0;
}
