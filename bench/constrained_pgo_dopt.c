/* bench/constrained_pgo_dopt.c — dopt's side of bench/constrained.sh's boxed pose graph
 * (bench/constrained_pgo.h: the split layout, the residual, which poses are boxed).
 *
 *   constrained_pgo_dopt --write OUT.g2o [--poses N] [--seed S]
 *       writes one synthetic cube graph (dopt_lie_cube_graph_d, default options: noise ±0.05 /
 *       ±0.02 rad, loop closures 0.2), the problem both sides read.
 *   constrained_pgo_dopt IN.g2o OUT.g2o [--score OTHER.g2o]
 *       solves IN with the boxes of constrained_pgo.h (projected LM, dopt_sparse's supernodal
 *       Cholesky), CP_REPEAT times from IN's values (solver creation + solve timed, process CPU
 *       time, the fastest kept), writes the final poses to OUT and prints
 *         result solver=dopt poses=.. boxed=.. iterations=.. final_cost=.. time_s=.. active=..
 *                stop=.. jacobian_check=<worst scaled error of the analytic Jacobians, 40 edges>
 *       With --score, also the cost of OTHER's poses in this objective (Ceres' final poses: the
 *       two programs must agree on the objective) and their worst bound violation:
 *         score cost=.. max_violation=..
 * Options: LM, dopt's defaults (damping diag(H), lambda0 1e-4 as Ceres' initial radius 1e4),
 * at most 100 iterations, function tolerance 1e-10, gradient 1e-10, step 1e-10 (Ceres' side:
 * the same three). */
#define _POSIX_C_SOURCE 200809L
#define DOPT_IMPLEMENTATION
#include "dopt.h"
#include "dopt_sparse.h"
#include "dopt_lie.h"
#include "bench/pgo_graph.h"
#include "bench/constrained_pgo.h"
#include <stdio.h>
#include <time.h>

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Ceres' pose_graph_3d residual on the split layout: x[0] = p_i, x[1] = q_i, x[2] = p_j, x[3] = q_j;
 * data: the measurement [p_z; q_z].  e = [A (p_j - p_i) - p_z; 2 vec(d)], A = R_i^T,
 * d = q_z q_j^-1 q_i = (u, s).  Tangent Jacobians (rotations: right perturbation q Exp(w)):
 *   d e_t / d p_i = -A,  d e_t / d w_i = [A (p_j - p_i)]x,  d e_t / d p_j = A,
 *   d e_r / d w_i = s I + [u]x,  d e_r / d w_j = -(s I - [u]x) R_z. */
static dopt_status cp_residual(const void *data, const double *const *x, double *r, double *const *J)
{
    const double *z = (const double *)data;
    double Ra[9], dt[3], tA[3], qbi[4], t1[4], dq[4], U[9], M[9], Rz[9];
    int i, k, l;
    dopt_so3_to_matrix_d(x[1], Ra);
    for (i = 0; i < 3; ++i) dt[i] = x[2][i] - x[0][i];
    for (i = 0; i < 3; ++i) tA[i] = Ra[i] * dt[0] + Ra[3 + i] * dt[1] + Ra[6 + i] * dt[2];
    dopt_so3_inverse_d(x[3], qbi, NULL);
    dopt_so3_compose_d(z + 3, qbi, t1, NULL, NULL);
    dopt_so3_compose_d(t1, x[1], dq, NULL, NULL);
    for (i = 0; i < 3; ++i) r[i] = tA[i] - z[i];
    for (i = 0; i < 3; ++i) r[3 + i] = 2 * dq[i];
    if (!J) return DOPT_OK;
    dopt_so3_hat_d(dq, U);
    dopt_so3_hat_d(tA, M);
    if (J[0] || J[2])
        for (i = 0; i < 3; ++i)
            for (k = 0; k < 3; ++k) {
                if (J[0]) { J[0][i * 3 + k] = -Ra[k * 3 + i]; J[0][(3 + i) * 3 + k] = 0; }
                if (J[2]) { J[2][i * 3 + k] = Ra[k * 3 + i]; J[2][(3 + i) * 3 + k] = 0; }
            }
    if (J[1])
        for (i = 0; i < 3; ++i)
            for (k = 0; k < 3; ++k) {
                J[1][i * 3 + k] = M[i * 3 + k];
                J[1][(3 + i) * 3 + k] = (i == k ? dq[3] : 0) + U[i * 3 + k];
            }
    if (J[3]) {
        dopt_so3_to_matrix_d(z + 3, Rz);
        for (i = 0; i < 3; ++i)
            for (k = 0; k < 3; ++k) {
                double mm = 0;
                for (l = 0; l < 3; ++l) mm += ((i == l ? dq[3] : 0) - U[i * 3 + l]) * Rz[l * 3 + k];
                J[3][i * 3 + k] = 0;
                J[3][(3 + i) * 3 + k] = -mm;
            }
    }
    return DOPT_OK;
}

/* the worst scaled Jacobian error over the first 40 edges at the initial values */
static double cp_check_jacobians(const pgo_graph *g)
{
    dopt_manifold_d R3 = dopt_manifold_euclidean_d(3), SO3 = dopt_lie_manifold_so3_d();
    const dopt_manifold_d *man[4];
    double worst = 0;
    ptrdiff_t k;
    man[0] = &R3; man[1] = &SO3; man[2] = &R3; man[3] = &SO3;
    for (k = 0; k < g->g.num_edges && k < 40; ++k) {
        const dopt_lie_pose_graph_edge_d *e = g->g.edges + k;
        const double *v[4];
        dopt_jacobian_check c;
        v[0] = g->g.poses + 7 * e->i; v[1] = v[0] + 3;
        v[2] = g->g.poses + 7 * e->j; v[3] = v[2] + 3;
        if (dopt_nlls_check_jacobian_d(cp_residual, e->measurement, 6, 4, man, v, 0, NULL, &c) != DOPT_OK) return 1e30;
        if (c.max_error > worst) worst = c.max_error;
    }
    return worst;
}

/* the problem: per pose p (R^3) then q (SO3), so the state is the g2o poses' [t; q] back to
 * back; pose 0 constant; boxed poses get [x0 - h, x0 + h] (lo, hi: 3 reals per pose, filled here) */
static dopt_status cp_problem(const pgo_graph *g, double *lo, double *hi, int *nboxed, dopt_nlls_problem_d **out)
{
    dopt_nlls_problem_d *p;
    dopt_manifold_d R3 = dopt_manifold_euclidean_d(3), SO3 = dopt_lie_manifold_so3_d();
    ptrdiff_t k, v, ne = g->g.num_edges;
    int r, c, diagonal = 1;
    dopt_status st = dopt_nlls_problem_create_d(NULL, 1, &p);
    if (st != DOPT_OK) return st;
    for (k = 0; k < ne && diagonal; ++k)
        for (r = 0; r < 6; ++r)
            for (c = 0; c < 6; ++c)
                if (r != c && g->W[k * 36 + r * 6 + c] != 0) diagonal = 0;
    *nboxed = 0;
    for (v = 0; v < g->g.num_poses && st == DOPT_OK; ++v) {
        st = dopt_nlls_add_variable_d(p, &R3, NULL);
        if (st == DOPT_OK) st = dopt_nlls_add_variable_d(p, &SO3, NULL);
        if (st == DOPT_OK && v > 0 && cp_boxed((long)v)) {
            for (r = 0; r < 3; ++r) {
                lo[3 * v + r] = g->g.poses[7 * v + r] - CP_BOX_HALF;
                hi[3 * v + r] = g->g.poses[7 * v + r] + CP_BOX_HALF;
            }
            st = dopt_nlls_set_bounds_d(p, (int)(2 * v), lo + 3 * v, hi + 3 * v, 0);
            ++*nboxed;
        }
    }
    if (st == DOPT_OK) st = dopt_nlls_set_constant_d(p, 0, 1);
    if (st == DOPT_OK) st = dopt_nlls_set_constant_d(p, 1, 1);
    for (k = 0; k < ne && st == DOPT_OK; ++k) {
        dopt_nlls_cost_desc_d d;
        int vars[4];
        vars[0] = (int)(2 * g->g.edges[k].i); vars[1] = vars[0] + 1;
        vars[2] = (int)(2 * g->g.edges[k].j); vars[3] = vars[2] + 1;
        memset(&d, 0, sizeof d);
        d.fn = cp_residual;
        d.data = g->g.edges[k].measurement;
        d.rdim = 6;
        d.nvars = 4;
        d.vars = vars;
        d.weight_kind = diagonal ? DOPT_WEIGHT_DIAGONAL : DOPT_WEIGHT_SQRT_INFO;
        d.weight = diagonal ? g->wdiag + k * 6 : g->W + k * 36;
        st = dopt_nlls_add_cost_d(p, &d, NULL);
    }
    if (st != DOPT_OK) { dopt_nlls_problem_destroy_d(p); return st; }
    *out = p;
    return DOPT_OK;
}

static int cp_write(const char *path, int poses, unsigned long long seed)
{
    dopt_lie_cube_options co;
    dopt_lie_pose_graph_d g;
    dopt_rng rng;
    dopt_errinfo info;
    memset(&co, 0, sizeof co);
    co.num_poses = poses;
    dopt_rng_seed(&rng, seed, 0);
    memset(&g, 0, sizeof g);
    if (dopt_lie_cube_graph_d(&co, &rng, NULL, &g) != DOPT_OK) return 1;
    if (dopt_lie_g2o_write_d(path, &g, &info) != DOPT_OK) { fprintf(stderr, "%s: %s\n", path, info.message); return 1; }
    dopt_lie_pose_graph_destroy_d(&g);
    return 0;
}

static const char *cp_stop_name(dopt_nlls_stop s)
{
    static const char *const names[] = {"none", "max_iterations", "function", "cost_change", "gradient",
                                        "step", "no_progress", "failed"};
    return (unsigned)s < sizeof names / sizeof *names ? names[s] : "?";
}

/* the worst bound violation of the poses x (7 reals each) */
static double cp_violation(ptrdiff_t n, const double *x, const double *lo, const double *hi)
{
    double viol = 0;
    ptrdiff_t v;
    int r;
    for (v = 1; v < n; ++v)
        if (cp_boxed((long)v))
            for (r = 0; r < 3; ++r) {
                double y = x[7 * v + r], e = y < lo[3 * v + r] ? lo[3 * v + r] - y : y - hi[3 * v + r];
                if (e > viol) viol = e;
            }
    return viol;
}

/* cost of OTHER's poses in this objective, and their worst bound violation */
static int cp_score(dopt_nlls_solver_d *s, const pgo_graph *g, const double *lo, const double *hi, const char *other)
{
    pgo_graph o;
    dopt_errinfo info;
    double cost;
    memset(&info, 0, sizeof info);
    if (pgo_read(other, &o, &info) != DOPT_OK || o.g.num_poses != g->g.num_poses) {
        fprintf(stderr, "constrained_pgo_dopt: cannot score %s\n", other);
        return 1;
    }
    if (dopt_nlls_evaluate_d(s, 0, o.g.poses, &cost, NULL) != DOPT_OK) return 1;
    printf("score cost=%.12g max_violation=%.3g\n", cost, cp_violation(g->g.num_poses, o.g.poses, lo, hi));
    pgo_free(&o);
    return 0;
}

static int cp_solve(const char *in, const char *out, const char *other)
{
    pgo_graph g;
    dopt_errinfo info;
    dopt_nlls_problem_d *p = NULL;
    dopt_nlls_solver_d *s = NULL;
    dopt_nlls_options_d o;
    dopt_nlls_report rep;
    double *x, *lo, *hi, best = 1e30;
    int nboxed, k;
    size_t nx;
    memset(&info, 0, sizeof info);
    if (pgo_read(in, &g, &info) != DOPT_OK || g.g.group != DOPT_LIE_SE3) {
        fprintf(stderr, "constrained_pgo_dopt: %s: not an SE3 pose graph (%s)\n", in, info.message);
        return 1;
    }
    nx = (size_t)g.g.num_poses * 7;
    x = (double *)malloc(sizeof(double) * nx);
    lo = (double *)calloc((size_t)g.g.num_poses * 3, sizeof(double));
    hi = (double *)calloc((size_t)g.g.num_poses * 3, sizeof(double));
    if (!x || !lo || !hi || cp_problem(&g, lo, hi, &nboxed, &p) != DOPT_OK) return 1;
    memset(&o, 0, sizeof o);
    o.max_iterations = 100;
    o.function_tolerance = 1e-10;
    o.gradient_tolerance = 1e-10;
    o.step_tolerance = 1e-10;
    for (k = 0; k < CP_REPEAT; ++k) {
        dopt_linear_solver_d ls;
        double t0;
        memcpy(x, g.g.poses, sizeof(double) * nx);
        dopt_nlls_solver_destroy_d(s);
        s = NULL;
        t0 = cpu_s();
        if (dopt_sparse_linear_solver_d(NULL, NULL, &ls) != DOPT_OK ||
            dopt_nlls_solver_create_d(p, &ls, &s, &info) != DOPT_OK ||
            dopt_nlls_solve_d(s, &o, x, 0, &rep, NULL, &info) != DOPT_OK) {
            fprintf(stderr, "constrained_pgo_dopt: %s\n", info.message);
            return 1;
        }
        t0 = cpu_s() - t0;
        if (t0 < best) best = t0;
    }
    printf("result solver=dopt poses=%ld boxed=%d iterations=%d accepted=%d final_cost=%.12g time_s=%.6f active=%d "
           "stop=%s projected_gradient=%.2g max_violation=%.3g jacobian_check=%.2g\n",
           (long)g.g.num_poses, nboxed, rep.iterations, rep.accepted, rep.final_cost, best, rep.active_bounds,
           cp_stop_name(rep.stop), rep.gradient_norm, cp_violation(g.g.num_poses, x, lo, hi), cp_check_jacobians(&g));
    memcpy(g.g.poses, x, sizeof(double) * nx);
    if (dopt_lie_g2o_write_d(out, &g.g, &info) != DOPT_OK) return 1;
    if (other && cp_score(s, &g, lo, hi, other)) return 1;
    dopt_nlls_solver_destroy_d(s);
    dopt_nlls_problem_destroy_d(p);
    free(x); free(lo); free(hi);
    pgo_free(&g);
    return 0;
}

int main(int argc, char **argv)
{
    const char *write = NULL, *other = NULL, *pos[2] = {NULL, NULL};
    int poses = 1000, npos = 0, i;
    unsigned long long seed = 1;
    for (i = 1; i < argc; ++i) {
        if (!strcmp(argv[i], "--write") && i + 1 < argc) write = argv[++i];
        else if (!strcmp(argv[i], "--poses") && i + 1 < argc) poses = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--seed") && i + 1 < argc) seed = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--score") && i + 1 < argc) other = argv[++i];
        else if (npos < 2) pos[npos++] = argv[i];
        else { fprintf(stderr, "constrained_pgo_dopt: unknown argument %s\n", argv[i]); return 2; }
    }
    if (write) return cp_write(write, poses, seed);
    if (npos != 2) {
        fprintf(stderr, "usage: constrained_pgo_dopt --write OUT [--poses N] [--seed S] | IN OUT [--score OTHER]\n");
        return 2;
    }
    return cp_solve(pos[0], pos[1], other);
}
