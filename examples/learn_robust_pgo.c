/* learn_robust_pgo.c — the Theseus paper's pose-graph experiment with dopt: learn the radius of
 * a Welsch robust loss on synthetic "cube" SE3 pose graphs with outlier loop closures.
 *
 *   inner:  x*(a) = argmin_x 1/2 sum_edges rho_a(|| W Log(meas⁻¹ x_i⁻¹ x_j) ||²)   (Welsch, radius
 *           a = exp(l), LM with 10 iterations, pose 0 held fixed)
 *   outer:  L(l) = mean over poses of |Log(gt_k⁻¹ x*_k)|²  (pose error to the ground truth),
 *           l <- Adam(l, dL/dl),  dL/dl = a dL/da
 * dL/da comes from dopt_nlls_diff_backward; the whole training is run once per backward mode
 * (IMPLICIT, UNROLL, TRUNCATED(3), DLM) and the outer loss is printed per epoch.  The start radius
 * is far too large (outliers pull the solution away); learning shrinks it.
 * Build: cc -std=c99 -O2 -I. examples/learn_robust_pgo.c -lm */
#define DOPT_IMPLEMENTATION
#include "dopt.h"
#include "dopt_lie.h"
#include <stdio.h>
#include <math.h>

#define NGRAPH 3
#define NPOSES 24
#define EPOCHS 12

typedef struct graph {
    dopt_lie_pose_graph_d g;
    dopt_lie_between_data_d *meas;
    double sqrt_info[6];
    double radius;                   /* the learnable Welsch radius (shared by its edges) */
    dopt_nlls_problem_d *prob;
    dopt_nlls_solver_d *solver;
    dopt_nlls_diff_d *D;
    int pa;                          /* its parameter index */
    double *x, *xbar;
} graph;

static void build(graph *G, int seed)
{
    dopt_lie_cube_options co;
    dopt_rng rng;
    dopt_manifold_d se3 = dopt_lie_manifold_se3_d();
    long k;
    int v;
    memset(&co, 0, sizeof co);
    co.num_poses = NPOSES;
    co.outlier_ratio = 0.25; /* the paper's outlier rate */
    co.loop_closure_ratio = 0.3;
    dopt_rng_seed(&rng, 2022, (uint64_t)seed);
    dopt_lie_cube_graph_d(&co, &rng, NULL, &G->g);
    G->meas = (dopt_lie_between_data_d *)malloc(sizeof *G->meas * (size_t)G->g.num_edges);
    G->x = (double *)malloc(sizeof(double) * 7 * (size_t)NPOSES);
    G->xbar = (double *)malloc(sizeof(double) * 6 * (size_t)NPOSES);
    for (k = 0; k < 6; ++k) G->sqrt_info[k] = sqrt(G->g.edges[0].information[k * 7]);
    dopt_nlls_problem_create_d(NULL, 1, &G->prob);
    for (k = 0; k < NPOSES; ++k) dopt_nlls_add_variable_d(G->prob, &se3, &v);
    dopt_nlls_set_constant_d(G->prob, 0, 1);
    for (k = 0; k < G->g.num_edges; ++k) {
        dopt_nlls_cost_desc_d d;
        int vars[2];
        memset(&d, 0, sizeof d);
        vars[0] = (int)G->g.edges[k].i;
        vars[1] = (int)G->g.edges[k].j;
        memcpy(G->meas[k].measurement, G->g.edges[k].measurement, 7 * sizeof(double));
        d.fn = dopt_lie_cost_between_se3_d;
        d.data = &G->meas[k];
        d.rdim = 6;
        d.nvars = 2;
        d.vars = vars;
        d.weight_kind = DOPT_WEIGHT_DIAGONAL;
        d.weight = G->sqrt_info;
        d.loss = DOPT_LOSS_WELSCH;
        d.loss_scale = 1;
        dopt_nlls_add_cost_d(G->prob, &d, NULL);
    }
    dopt_nlls_solver_create_d(G->prob, NULL, &G->solver, NULL);
    dopt_nlls_diff_create_d(G->solver, &G->D);
    dopt_nlls_diff_learn_loss_scale_d(G->D, &G->radius, &G->pa);
    for (k = 0; k < G->g.num_edges; ++k) dopt_nlls_diff_attach_d(G->D, (int)k, G->pa, NULL);
}

static void release(graph *G)
{
    dopt_nlls_diff_destroy_d(G->D);
    dopt_nlls_solver_destroy_d(G->solver);
    dopt_nlls_problem_destroy_d(G->prob);
    dopt_lie_pose_graph_destroy_d(&G->g);
    free(G->meas);
    free(G->x);
    free(G->xbar);
}

/* mean pose error to the ground truth and its tangent gradient (free poses 1..N-1) */
static double pose_error(graph *G)
{
    double L = 0;
    int k, i, j;
    memset(G->xbar, 0, sizeof(double) * 6 * (size_t)NPOSES);
    for (k = 1; k < NPOSES; ++k) {
        dopt_lie_prior_data_d gt;
        const double *vars[1];
        double r[6], J[36], *Jp[1];
        int off = dopt_nlls_diff_tangent_offset_d(G->D, k);
        memcpy(gt.target, G->g.gt_poses + 7 * k, 7 * sizeof(double));
        vars[0] = G->x + 7 * k;
        Jp[0] = J;
        dopt_lie_cost_prior_se3_d(&gt, vars, r, Jp); /* r = Log(gt⁻¹ x), J = dr/dδ */
        for (i = 0; i < 6; ++i) {
            L += r[i] * r[i] / (NPOSES - 1);
            for (j = 0; j < 6; ++j) G->xbar[off + j] += 2 * r[i] * J[i * 6 + j] / (NPOSES - 1);
        }
    }
    return L;
}

int main(void)
{
    static graph G[NGRAPH];
    dopt_nlls_options_d opt;
    int mode, gi, epoch;
    double inliers = 0, edges = 0;
    for (gi = 0; gi < NGRAPH; ++gi) {
        long k;
        build(&G[gi], gi);
        for (k = 0; k < G[gi].g.num_edges; ++k) inliers += G[gi].g.inlier[k];
        edges += (double)G[gi].g.num_edges;
    }
    printf("learn the Welsch radius: %d cube graphs of %d SE3 poses, %.0f edges, %.0f outliers\n", NGRAPH,
           NPOSES, edges, edges - inliers);
    opt = dopt_nlls_default_options_d();
    opt.method = DOPT_NLLS_LM;
    opt.max_iterations = 10;
    for (mode = 0; mode < 4; ++mode) {
        double l = log(100.0), m1 = 0, m2 = 0; /* log radius, Adam moments */
        dopt_nlls_diff_options_d bo;
        memset(&bo, 0, sizeof bo);
        bo.mode = (dopt_nlls_diff_mode)mode;
        bo.truncate = 3;
        printf("backward mode %s\n", dopt_nlls_diff_mode_string(bo.mode));
        for (epoch = 0; epoch < EPOCHS; ++epoch) {
            double loss = 0, grad = 0, a = exp(l), mh, vh;
            for (gi = 0; gi < NGRAPH; ++gi) {
                graph *g = &G[gi];
                dopt_status st;
                g->radius = a;
                memcpy(g->x, g->g.poses, sizeof(double) * 7 * NPOSES);
                dopt_nlls_diff_solve_d(g->D, &opt, g->x, 0, NULL, NULL);
                loss += pose_error(g) / NGRAPH;
                st = dopt_nlls_diff_backward_d(g->D, &bo, g->xbar, NULL, NULL, NULL);
                if (st != DOPT_OK) {
                    printf("  graph %d: backward: %s\n", gi, dopt_status_string(st));
                    continue;
                }
                grad += a * dopt_nlls_diff_param_grad_d(g->D, g->pa)[0] / NGRAPH; /* dL/dl */
            }
            printf("  epoch %d  outer_loss %.6e  radius %8.4f  dL/dlog(radius) % .4e\n", epoch, loss, a, grad);
            m1 = 0.9 * m1 + 0.1 * grad; /* Adam, lr 0.3 */
            m2 = 0.999 * m2 + 0.001 * grad * grad;
            mh = m1 / (1 - pow(0.9, epoch + 1));
            vh = m2 / (1 - pow(0.999, epoch + 1));
            l -= 0.3 * mh / (sqrt(vh) + 1e-12);
        }
    }
    for (gi = 0; gi < NGRAPH; ++gi) release(&G[gi]);
    return 0;
}
