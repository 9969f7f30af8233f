/* motion_planning.c — GPMP2-style motion planning (as in Theseus' motion-planning example) with
 * dopt: a 2-D point robot, states s_k = (p_k, v_k) in R^4 at times k dt, k = 0..T-1.
 *
 *   Gaussian-process motion prior (constant-velocity, white-noise acceleration Qc) between
 *   consecutive states:  r = L [p_{k+1} - p_k - dt v_k ; v_{k+1} - v_k],  L L^T... whitened by
 *   Q(dt)^-1/2 with Q = Qc [dt^3/3 I, dt^2/2 I; dt^2/2 I, dt I]; learnable weight w_gp (scalar).
 *   Collision cost per state: r = max(0, eps - d(p_k)), d the signed distance field of the map
 *   (a grid, bilinear interpolation with its gradient); learnable weight w_obs (scalar).
 *   Start and goal states are held fixed.
 * The map (random circular obstacles on a 64 x 64 grid) is generated here.  The plan starts from
 * the straight line and is optimized by Levenberg-Marquardt; the SVG motion_planning.svg shows the
 * obstacles, the initial and the optimized paths.  Finally the implicit gradient of an outer loss
 * (the path length of the plan) with respect to the two weights is printed: what a learning loop
 * would use to tune them.
 * Build: cc -std=c99 -O2 -I. examples/motion_planning.c -lm */
#define DOPT_IMPLEMENTATION
#include "dopt.h"
#include "svg_plot.h"
#include <stdio.h>
#include <math.h>

#define G 64            /* grid cells per side; the map is [0, 1]^2 */
#define T 40            /* states */
#define NOBS 6

static double sdf[G * G];          /* signed distance at cell centers ((i + 0.5) / G, ...) */
static double obs[NOBS][3];        /* circles: x, y, r */

/* bilinear interpolation of the grid and its gradient at p */
static double sdf_eval(const double p[2], double grad[2])
{
    double gx = p[0] * G - 0.5, gy = p[1] * G - 0.5, fx, fy, v00, v10, v01, v11;
    int ix, iy;
    if (gx < 0) gx = 0;
    if (gy < 0) gy = 0;
    if (gx > G - 1.001) gx = G - 1.001;
    if (gy > G - 1.001) gy = G - 1.001;
    ix = (int)gx; iy = (int)gy;
    fx = gx - ix; fy = gy - iy;
    v00 = sdf[iy * G + ix]; v10 = sdf[iy * G + ix + 1];
    v01 = sdf[(iy + 1) * G + ix]; v11 = sdf[(iy + 1) * G + ix + 1];
    grad[0] = ((v10 - v00) * (1 - fy) + (v11 - v01) * fy) * G;
    grad[1] = ((v01 - v00) * (1 - fx) + (v11 - v10) * fx) * G;
    return (v00 * (1 - fx) + v10 * fx) * (1 - fy) + (v01 * (1 - fx) + v11 * fx) * fy;
}

typedef struct gp_data { double dt, Linv[16]; } gp_data; /* Linv: 4x4 row-major Q^-1/2 */

/* GP prior between s_k and s_{k+1}: the whitened error, Jacobians 4x4 */
static dopt_status gp_cost(const void *data, const double *const *x, double *r, double *const *J)
{
    const gp_data *d = (const gp_data *)data;
    const double *a = x[0], *b = x[1];
    double e[4], Ea[16], Eb[16];
    int i, j, l;
    e[0] = b[0] - a[0] - d->dt * a[2];
    e[1] = b[1] - a[1] - d->dt * a[3];
    e[2] = b[2] - a[2];
    e[3] = b[3] - a[3];
    for (i = 0; i < 4; ++i) {
        r[i] = 0;
        for (j = 0; j < 4; ++j) r[i] += d->Linv[i * 4 + j] * e[j];
    }
    if (!J) return DOPT_OK;
    for (i = 0; i < 16; ++i) { Ea[i] = 0; Eb[i] = 0; }
    for (i = 0; i < 4; ++i) { Ea[i * 4 + i] = -1; Eb[i * 4 + i] = 1; }
    Ea[0 * 4 + 2] = -d->dt;
    Ea[1 * 4 + 3] = -d->dt;
    for (i = 0; i < 4; ++i)
        for (j = 0; j < 4; ++j) {
            double sa = 0, sb = 0;
            for (l = 0; l < 4; ++l) { sa += d->Linv[i * 4 + l] * Ea[l * 4 + j]; sb += d->Linv[i * 4 + l] * Eb[l * 4 + j]; }
            if (J[0]) J[0][i * 4 + j] = sa;
            if (J[1]) J[1][i * 4 + j] = sb;
        }
    return DOPT_OK;
}

/* collision hinge: r = max(0, eps - d(p)) */
static const double obs_eps = 0.08;
static dopt_status obs_cost(const void *data, const double *const *x, double *r, double *const *J)
{
    double g[2], dd = sdf_eval(x[0], g);
    (void)data;
    if (dd < obs_eps) {
        r[0] = obs_eps - dd;
        if (J && J[0]) { J[0][0] = -g[0]; J[0][1] = -g[1]; J[0][2] = 0; J[0][3] = 0; }
    } else {
        r[0] = 0;
        if (J && J[0]) { J[0][0] = J[0][1] = J[0][2] = J[0][3] = 0; }
    }
    return DOPT_OK;
}

static void make_map(void)
{
    dopt_rng rng;
    int i, j, k;
    dopt_rng_seed(&rng, 3, 0);
    for (k = 0; k < NOBS; ++k) { /* obstacles away from the start and goal corners */
        obs[k][0] = 0.2 + 0.6 * dopt_rng_uniform_d(&rng);
        obs[k][1] = 0.2 + 0.6 * dopt_rng_uniform_d(&rng);
        obs[k][2] = 0.06 + 0.06 * dopt_rng_uniform_d(&rng);
    }
    for (i = 0; i < G; ++i)
        for (j = 0; j < G; ++j) {
            double px = (j + 0.5) / G, py = (i + 0.5) / G, best = 1e9;
            for (k = 0; k < NOBS; ++k) {
                double dx = px - obs[k][0], dy = py - obs[k][1], dist = sqrt(dx * dx + dy * dy) - obs[k][2];
                if (dist < best) best = dist;
            }
            sdf[i * G + j] = best;
        }
}

static double path_length(const double *x)
{
    double L = 0;
    int k;
    for (k = 0; k + 1 < T; ++k) {
        double dx = x[4 * (k + 1)] - x[4 * k], dy = x[4 * (k + 1) + 1] - x[4 * k + 1];
        L += sqrt(dx * dx + dy * dy);
    }
    return L;
}

int main(void)
{
    static gp_data gpd;
    static double x[4 * T], x_init[4 * T], xbar[4 * T];
    double w_gp = 1.0, w_obs = 100.0, dt = 1.0 / (T - 1), Qc = 1.0, Q[16], minclear = 1e9, minclear0 = 1e9;
    dopt_nlls_problem_d *prob;
    dopt_nlls_solver_d *solver;
    dopt_nlls_diff_d *D;
    dopt_nlls_report rep;
    dopt_manifold_d R4 = dopt_manifold_euclidean_d(4);
    dopt_nlls_options_d opt;
    dopt_nlls_diff_options_d bo;
    int k, v, pgp = -1, pobs = -1, first_gp = -1, first_obs = -1, c;
    svg_plot plot;

    make_map();
    /* Q(dt)^-1/2: Q = Qc [[dt^3/3, dt^2/2], [dt^2/2, dt]] per axis; invert the 2x2 and take the
       Cholesky factor of the inverse (upper, so that |U e|^2 = e^T Q^-1 e) */
    {
        double a = Qc * dt * dt * dt / 3, b = Qc * dt * dt / 2, cc = Qc * dt, det = a * cc - b * b;
        double ia = cc / det, ib = -b / det, ic = a / det, u11 = sqrt(ia), u12 = ib / u11, u22 = sqrt(ic - u12 * u12);
        for (k = 0; k < 16; ++k) Q[k] = 0;
        /* ordering (px, py, vx, vy): U = [[u11 0 u12 0], [0 u11 0 u12], [0 0 u22 0], [0 0 0 u22]] */
        Q[0] = u11; Q[2] = u12; Q[5] = u11; Q[7] = u12; Q[10] = u22; Q[15] = u22;
        for (k = 0; k < 16; ++k) gpd.Linv[k] = Q[k];
        gpd.dt = dt;
    }
    for (k = 0; k < T; ++k) { /* nearly straight line from (0.05, 0.05) to (0.95, 0.95) (a slight bend
                                 breaks the symmetry at obstacle centers), constant velocity */
        double s = (double)k / (T - 1), g[2];
        x[4 * k] = 0.05 + 0.9 * s + 0.02 * sin(3.14159265358979 * s);
        x[4 * k + 1] = 0.05 + 0.9 * s - 0.02 * sin(3.14159265358979 * s);
        x[4 * k + 2] = 0.9;
        x[4 * k + 3] = 0.9;
        if (sdf_eval(x + 4 * k, g) < minclear0) minclear0 = sdf_eval(x + 4 * k, g);
    }
    memcpy(x_init, x, sizeof x);
    dopt_nlls_problem_create_d(NULL, 1, &prob);
    for (k = 0; k < T; ++k) dopt_nlls_add_variable_d(prob, &R4, &v);
    dopt_nlls_set_constant_d(prob, 0, 1);
    dopt_nlls_set_constant_d(prob, T - 1, 1);
    for (k = 0; k + 1 < T; ++k) {
        dopt_nlls_cost_desc_d d = {0};
        int vars[2];
        vars[0] = k; vars[1] = k + 1;
        d.fn = gp_cost; d.data = &gpd; d.rdim = 4; d.nvars = 2; d.vars = vars;
        d.weight_kind = DOPT_WEIGHT_SCALAR; d.weight = &w_gp;
        dopt_nlls_add_cost_d(prob, &d, &c);
        if (first_gp < 0) first_gp = c;
    }
    for (k = 1; k + 1 < T; ++k) {
        dopt_nlls_cost_desc_d d = {0};
        d.fn = obs_cost; d.rdim = 1; d.nvars = 1; d.vars = &k;
        d.weight_kind = DOPT_WEIGHT_SCALAR; d.weight = &w_obs;
        dopt_nlls_add_cost_d(prob, &d, &c);
        if (first_obs < 0) first_obs = c;
    }
    if (dopt_nlls_solver_create_d(prob, NULL, &solver, NULL) != DOPT_OK) return 1;
    dopt_nlls_diff_create_d(solver, &D);
    /* the two learnable weights: each is shared by all costs of its kind (declared on the first
       cost's weight memory, attached to the others as DATA: the same reals) */
    dopt_nlls_diff_add_param_d(D, DOPT_PARAM_DATA, &w_gp, 1, 0, &pgp);
    dopt_nlls_diff_add_param_d(D, DOPT_PARAM_DATA, &w_obs, 1, 0, &pobs);
    for (k = 0; k + 1 < T; ++k) dopt_nlls_diff_attach_d(D, first_gp + k, pgp, NULL);
    for (k = 0; k + 2 < T; ++k) dopt_nlls_diff_attach_d(D, first_obs + k, pobs, NULL);
    opt = dopt_nlls_default_options_d();
    opt.max_iterations = 200;
    if (dopt_nlls_diff_solve_d(D, &opt, x, 0, &rep, NULL) != DOPT_OK) return 1;
    for (k = 0; k < T; ++k) {
        double g[2], dd = sdf_eval(x + 4 * k, g);
        if (dd < minclear) minclear = dd;
    }
    printf("GPMP2-style plan: %d states, %d obstacles; LM %d iterations (%s), cost %.4e -> %.4e\n", T, NOBS,
           rep.iterations, dopt_nlls_stop_string(rep.stop), rep.initial_cost, rep.final_cost);
    printf("path length %.4f (initial %.4f), smallest clearance %.4f (initial %.4f; safety margin %.2f)\n",
           path_length(x), path_length(x_init), minclear, minclear0, obs_eps);
    /* outer loss: the path length; its gradient w.r.t. the free states, then IMPLICIT */
    memset(xbar, 0, sizeof xbar);
    for (k = 0; k + 1 < T; ++k) {
        double dx = x[4 * (k + 1)] - x[4 * k], dy = x[4 * (k + 1) + 1] - x[4 * k + 1], l = sqrt(dx * dx + dy * dy);
        int oa = dopt_nlls_diff_tangent_offset_d(D, k), ob = dopt_nlls_diff_tangent_offset_d(D, k + 1);
        if (oa >= 0) { xbar[oa] -= dx / l; xbar[oa + 1] -= dy / l; }
        if (ob >= 0) { xbar[ob] += dx / l; xbar[ob + 1] += dy / l; }
    }
    memset(&bo, 0, sizeof bo);
    bo.mode = DOPT_NLLS_DIFF_IMPLICIT;
    if (dopt_nlls_diff_backward_d(D, &bo, xbar, NULL, NULL, NULL) == DOPT_OK)
        printf("d(path length)/d w_gp = % .5e   d(path length)/d w_obs = % .5e\n",
               dopt_nlls_diff_param_grad_d(D, pgp)[0], dopt_nlls_diff_param_grad_d(D, pobs)[0]);
    if (svg_open(&plot, "motion_planning.svg", 540, 560, "GP motion planning: path through obstacles", "x", "y") == 0) {
        svg_axes_equal(&plot, 0, 1, 0, 1);
        for (k = 0; k < NOBS; ++k) svg_circle(&plot, obs[k][0], obs[k][1], obs[k][2], SVG_GREY, k ? NULL : "obstacles");
        svg_line_strided(&plot, x_init, 4, x_init + 1, 4, T, SVG_RED, "initial path", 1);
        svg_line_strided(&plot, x, 4, x + 1, 4, T, SVG_BLUE, "optimized (GP prior + SDF)", 0);
        svg_points(&plot, x, 4, x + 1, 4, T, 2.5, SVG_BLUE, NULL);
        if (svg_close(&plot) == 0) printf("wrote motion_planning.svg\n");
    }
    dopt_nlls_diff_destroy_d(D);
    dopt_nlls_solver_destroy_d(solver);
    dopt_nlls_problem_destroy_d(prob);
    return 0;
}
