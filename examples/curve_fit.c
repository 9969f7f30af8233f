/* curve_fit.c — the Theseus paper's Listing 1 with dopt: learn the inputs x of the model
 * y = v exp(x) by an outer gradient loop around an inner Gauss-Newton solve for v.
 *
 *   inner:  v*(phi) = argmin_v 1/2 sum_i (y_i - v exp(phi_i))^2     (10 Gauss-Newton iterations)
 *   outer:  L(phi) = (v*(phi) - v_true)^2,   phi <- RMSprop(phi, dL/dphi)
 * dL/dphi comes from dopt_nlls_diff_backward in IMPLICIT mode (the listing's backward_mode); the
 * residual's vector-Jacobian product with respect to phi_i is written by hand (vjp below).
 * At the end the four backward modes' gradients at the learned phi are printed side by side.
 * Build: cc -std=c99 -O2 -I. examples/curve_fit.c -lm */
#define DOPT_IMPLEMENTATION
#include "dopt.h"
#include <stdio.h>
#include <math.h>

#define N 32

typedef struct point { const double *phi; double y; int i; } point;

/* r = y - v exp(phi_i); J = d r / d v */
static dopt_status residual(const void *data, const double *const *x, double *r, double *const *J)
{
    const point *p = (const point *)data;
    double e = exp(p->phi[p->i]);
    r[0] = p->y - x[0][0] * e;
    if (J && J[0]) J[0][0] = -e;
    return DOPT_OK;
}

/* pbar[i] += rbar d r / d phi_i = rbar (-v exp(phi_i)) */
static dopt_status vjp(const void *data, const double *const *x, const double *rbar, int slot, double *pbar)
{
    const point *p = (const point *)data;
    (void)slot;
    pbar[p->i] += rbar[0] * (-x[0][0] * exp(p->phi[p->i]));
    return DOPT_OK;
}

int main(void)
{
    double x_true[N], phi[N], v_true = 2.0, v, ms[N];
    point pts[N];
    dopt_nlls_problem_d *prob;
    dopt_nlls_solver_d *solver;
    dopt_nlls_diff_d *D;
    dopt_manifold_d R1 = dopt_manifold_euclidean_d(1);
    dopt_nlls_options_d opt;
    dopt_nlls_diff_options_d bo;
    dopt_rng rng;
    int var, k, i, epoch, mode;
    const double lr = 1e-3, alpha = 0.99;

    /* data: x_true uniform, y = v_true exp(x_true); phi starts at x_true + 0.1 */
    dopt_rng_seed(&rng, 0, 0);
    for (i = 0; i < N; ++i) {
        x_true[i] = dopt_rng_uniform_d(&rng);
        phi[i] = x_true[i] + 0.1;
        ms[i] = 0;
        pts[i].phi = phi;
        pts[i].y = v_true * exp(x_true[i]);
        pts[i].i = i;
    }
    /* the inner problem: one variable v, one cost per point, phi learnable */
    dopt_nlls_problem_create_d(NULL, 1, &prob);
    dopt_nlls_add_variable_d(prob, &R1, &var);
    for (i = 0; i < N; ++i) {
        dopt_nlls_cost_desc_d d = {0};
        d.fn = residual;
        d.data = &pts[i];
        d.rdim = 1;
        d.nvars = 1;
        d.vars = &var;
        d.weight_kind = DOPT_WEIGHT_NONE;
        dopt_nlls_add_cost_d(prob, &d, NULL);
    }
    if (dopt_nlls_solver_create_d(prob, NULL, &solver, NULL) != DOPT_OK) return 1;
    dopt_nlls_diff_create_d(solver, &D);
    dopt_nlls_diff_add_param_d(D, DOPT_PARAM_DATA, phi, N, 0, &k);
    for (i = 0; i < N; ++i) dopt_nlls_diff_attach_d(D, i, k, vjp);

    opt = dopt_nlls_default_options_d();
    opt.method = DOPT_NLLS_GN;
    opt.max_iterations = 10;
    memset(&bo, 0, sizeof bo);
    bo.mode = DOPT_NLLS_DIFF_IMPLICIT;
    printf("Theseus Listing 1: learn x in y = v exp(x); inner Gauss-Newton, outer RMSprop (lr %g)\n", lr);
    for (epoch = 0; epoch < 20; ++epoch) {
        double loss, xbar;
        const double *g;
        v = 1.0; /* the listing's initial value */
        if (dopt_nlls_diff_solve_d(D, &opt, &v, 0, NULL, NULL) != DOPT_OK) return 1;
        loss = (v - v_true) * (v - v_true);
        xbar = 2 * (v - v_true); /* dL/dv* */
        if (dopt_nlls_diff_backward_d(D, &bo, &xbar, NULL, NULL, NULL) != DOPT_OK) return 1;
        g = dopt_nlls_diff_param_grad_d(D, k);
        printf("epoch %2d  outer_loss %.6e  v* %.6f\n", epoch, loss, v);
        for (i = 0; i < N; ++i) { /* RMSprop, as torch.optim.RMSprop(lr, alpha = 0.99, eps = 1e-8) */
            ms[i] = alpha * ms[i] + (1 - alpha) * g[i] * g[i];
            phi[i] -= lr * g[i] / (sqrt(ms[i]) + 1e-8);
        }
    }
    /* every backward mode at the learned phi: dL/dphi_0 */
    v = 1.0;
    dopt_nlls_diff_solve_d(D, &opt, &v, 0, NULL, NULL);
    printf("dL/dphi_0 at the learned phi by backward mode:\n");
    for (mode = 0; mode < 4; ++mode) {
        double xbar = 2 * (v - v_true), x0bar;
        bo.mode = (dopt_nlls_diff_mode)mode;
        bo.truncate = 2;
        bo.dlm_epsilon = 1e-4;
        dopt_nlls_diff_backward_d(D, &bo, &xbar, &x0bar, NULL, NULL);
        printf("  %-9s % .9e\n", dopt_nlls_diff_mode_string(bo.mode), dopt_nlls_diff_param_grad_d(D, k)[0]);
    }
    dopt_nlls_diff_destroy_d(D);
    dopt_nlls_solver_destroy_d(solver);
    dopt_nlls_problem_destroy_d(prob);
    return 0;
}
