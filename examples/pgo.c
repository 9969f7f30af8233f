/* examples/pgo.c — pose-graph optimization with dopt's least-squares layer.
 *
 *   cc -std=c99 -O2 -I. examples/pgo.c -o pgo -lm
 *   ./pgo                      # the synthetic "cube" graph of the Theseus paper (256 SE3 poses)
 *   ./pgo file.g2o [out.g2o]   # any 2D or 3D g2o file (e.g. ../shared/data/pgo2d/intel.g2o)
 *
 * Builds the objective S(x) = 1/2 sum_edges ||W Log(z^-1 xi^-1 xj)||^2 (W^T W = the edge's
 * information), holds the first pose constant (the gauge), and minimizes it with
 * Levenberg-Marquardt and dopt_sparse.h's supernodal Cholesky.  Prints Ceres-style iteration
 * lines (dopt's log hook), the report, and writes pgo_before_after.svg: the x-y trajectory
 * before (grey) and after (blue) the solve, plus the ground truth (green) for the cube. */
#define DOPT_IMPLEMENTATION
#include "dopt.h"
#include "dopt_sparse.h"
#include "dopt_lie.h"
#include "pgo_graph.h"

static void print_line(void *user, dopt_log_level level, const char *line)
{
    (void)user; (void)level;
    printf("%s\n", line);
}

/* the cube graph of dopt_lie.h as a pgo_graph (edges with square-root information) */
static int cube_graph(pgo_graph *g, double **truth)
{
    dopt_lie_cube_options co;
    dopt_lie_pose_graph_d lg;
    dopt_rng rng;
    long k;
    memset(&co, 0, sizeof co);
    co.num_poses = 256;
    dopt_rng_seed(&rng, 2022, 0);
    memset(&lg, 0, sizeof lg);
    if (dopt_lie_cube_graph_d(&co, &rng, NULL, &lg) != DOPT_OK) return -1;
    memset(g, 0, sizeof *g);
    g->dim = 3; g->sd = 7; g->td = 6;
    g->nv = (int)lg.num_poses;
    g->ne = (int)lg.num_edges;
    g->id = (int *)malloc(sizeof(int) * (size_t)g->nv);
    g->x = (double *)malloc(sizeof(double) * 7 * (size_t)g->nv);
    g->e = (pgo_edge *)calloc((size_t)g->ne, sizeof(pgo_edge));
    *truth = (double *)malloc(sizeof(double) * 7 * (size_t)g->nv);
    memcpy(g->x, lg.poses, sizeof(double) * 7 * (size_t)g->nv);
    memcpy(*truth, lg.gt_poses, sizeof(double) * 7 * (size_t)g->nv);
    for (k = 0; k < g->nv; ++k) g->id[k] = (int)k;
    for (k = 0; k < g->ne; ++k) {
        pgo_edge *e = g->e + k;
        int r;
        e->i = (int)lg.edges[k].i;
        e->j = (int)lg.edges[k].j;
        memcpy(e->z, lg.edges[k].measurement, sizeof e->z);
        memcpy(e->info, lg.edges[k].information, sizeof e->info);
        pgo_sqrt_info(6, e->info, e->W);
        for (r = 0; r < 6; ++r) e->wdiag[r] = e->W[7 * r];
    }
    dopt_lie_pose_graph_destroy_d(&lg);
    return 0;
}

static void svg_polyline(FILE *f, const pgo_graph *g, const double *x, double x0, double y0,
                         double sc, double ox, double H, const char *color)
{
    int v;
    fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1\" points=\"", color);
    for (v = 0; v < g->nv; ++v) {
        const double *p = x + (size_t)v * g->sd;
        fprintf(f, "%.1f,%.1f ", ox + (p[0] - x0) * sc, H - (p[1] - y0) * sc);
    }
    fprintf(f, "\"/>\n");
}

static void write_svg(const char *path, const pgo_graph *g, const double *before, const double *after,
                      const double *truth)
{
    const double W = 480, H = 480, pad = 20;
    double lo[2] = {1e300, 1e300}, hi[2] = {-1e300, -1e300}, sc;
    const double *sets[3];
    int v, k, s;
    FILE *f = fopen(path, "w");
    if (!f) return;
    sets[0] = before; sets[1] = after; sets[2] = truth;
    for (s = 0; s < 3; ++s)
        for (v = 0; sets[s] && v < g->nv; ++v) {
            const double *p = sets[s] + (size_t)v * g->sd;
            for (k = 0; k < 2; ++k) {
                if (p[k] < lo[k]) lo[k] = p[k];
                if (p[k] > hi[k]) hi[k] = p[k];
            }
        }
    sc = (W - 2 * pad) / (hi[0] - lo[0] > hi[1] - lo[1] ? hi[0] - lo[0] : hi[1] - lo[1] + 1e-12);
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\">\n", 2 * W, H + 30);
    fprintf(f, "<text x=\"20\" y=\"%.0f\">before (grey)</text><text x=\"%.0f\" y=\"%.0f\">after (blue)%s</text>\n",
            H + 20, W + 20, H + 20, truth ? ", ground truth (green)" : "");
    svg_polyline(f, g, before, lo[0], lo[1], sc, pad, H - pad, "#888");
    if (truth) svg_polyline(f, g, truth, lo[0], lo[1], sc, W + pad, H - pad, "#3a3");
    svg_polyline(f, g, after, lo[0], lo[1], sc, W + pad, H - pad, "#25c");
    fprintf(f, "</svg>\n");
    fclose(f);
}

int main(int argc, char **argv)
{
    pgo_graph g;
    double *truth = NULL, *before;
    char msg[256];
    dopt_hooks hooks;
    dopt_nlls_problem_d *p = NULL;
    dopt_nlls_solver_d *s = NULL;
    dopt_linear_solver_d ls;
    dopt_nlls_options_d opt;
    dopt_nlls_report rep;
    dopt_nlls_timing tm;
    dopt_errinfo info;
    dopt_status st;
    if (argc > 1) {
        if (pgo_read(argv[1], &g, msg, sizeof msg) != 0) {
            fprintf(stderr, "%s: %s\n", argv[1], msg);
            return 1;
        }
    } else if (cube_graph(&g, &truth) != 0) {
        fprintf(stderr, "cube generator failed\n");
        return 1;
    }
    printf("%s: %dD pose graph, %d poses, %d edges\n", argc > 1 ? argv[1] : "synthetic cube",
           g.dim, g.nv, g.ne);
    before = (double *)malloc(sizeof(double) * (size_t)g.nv * (size_t)g.sd);
    memcpy(before, g.x, sizeof(double) * (size_t)g.nv * (size_t)g.sd);

    /* the objective: one variable per pose (SE2/SE3 manifold), one between cost per edge
       (examples/pgo_graph.h: r = Log(z^-1 xi^-1 xj), weight = square-root information), pose 0
       constant; the log hook prints one line per iteration */
    memset(&hooks, 0, sizeof hooks);
    hooks.log = print_line;
    hooks.log_level = DOPT_LOG_INFO;
    if (pgo_problem(&hooks, &g, g.e, 1, 1, &p) != DOPT_OK) return 1;

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
    st = dopt_nlls_solve_d(s, &opt, g.x, 0, &rep, &tm, &info);
    if (st != DOPT_OK) {
        fprintf(stderr, "solve: %s (%s)\n", dopt_status_string(st), info.message);
        return 1;
    }
    printf("cost %.6g -> %.6g in %d iterations (%d accepted), stopped: %s\n", rep.initial_cost,
           rep.final_cost, rep.iterations, rep.accepted, dopt_nlls_stop_string(rep.stop));
    printf("time: linearization %.3f s, linear solver %.3f s, total %.3f s\n", tm.linearize_s,
           tm.solve_s, tm.total_s);
    write_svg("pgo_before_after.svg", &g, before, g.x, truth);
    printf("wrote pgo_before_after.svg\n");
    if (argc > 2 && pgo_write(argv[2], &g, g.x, 1) == 0) printf("wrote %s\n", argv[2]);
    dopt_nlls_solver_destroy_d(s);
    dopt_nlls_problem_destroy_d(p);
    pgo_free(&g);
    free(before);
    free(truth);
    return 0;
}
