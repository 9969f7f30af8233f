/* quickstart.c — the README's first example: fit y = exp(m t + c) to noisy samples with
 * Levenberg-Marquardt, then solve a small SPD system with the dense kernels.
 *   cc -std=c99 -O2 -I. examples/quickstart.c -o quickstart -lm && ./quickstart */
#define DOPT_IMPLEMENTATION
#include "dopt.h"
#include <stdio.h>
#include <string.h>

typedef struct { double t, y; } sample;

/* residual r = exp(m t + c) - y and its 1x2 Jacobian d r / d(m, c) */
static dopt_status exp_residual(const void *data, const double *const *vars, double *r, double *const *J)
{
    const sample *s = (const sample *)data;
    double e = exp(vars[0][0] * s->t + vars[0][1]);
    r[0] = e - s->y;
    if (J && J[0]) { J[0][0] = e * s->t; J[0][1] = e; }
    return DOPT_OK;
}

int main(void)
{
    enum { N = 50 };
    sample pts[N];
    dopt_rng rng;
    dopt_nlls_problem_d *prob;
    dopt_nlls_solver_d *solver;
    dopt_nlls_report report;
    dopt_manifold_d R2 = dopt_manifold_euclidean_d(2);
    double x[2] = {0, 0}, A[4] = {4, 2, 2, 3}, b[2] = {2, 1};
    int i, v, col;

    dopt_rng_seed(&rng, 1, 0);
    for (i = 0; i < N; ++i) {
        pts[i].t = i / (double)N;
        pts[i].y = exp(0.3 * pts[i].t + 0.1) + 0.01 * dopt_rng_normal_d(&rng);
    }
    dopt_nlls_problem_create_d(NULL, 1, &prob);
    dopt_nlls_add_variable_d(prob, &R2, &v);
    for (i = 0; i < N; ++i) {
        dopt_nlls_cost_desc_d d;
        memset(&d, 0, sizeof d);
        d.fn = exp_residual; d.data = &pts[i]; d.rdim = 1; d.nvars = 1; d.vars = &v;
        dopt_nlls_add_cost_d(prob, &d, NULL);
    }
    if (dopt_nlls_solver_create_d(prob, NULL, &solver, NULL) != DOPT_OK) return 1;
    dopt_nlls_solve_d(solver, NULL, x, 0, &report, NULL, NULL);
    printf("fit: m = %.4f (true 0.3), c = %.4f (true 0.1), %d iterations, cost %.3g -> %.3g\n",
           x[0], x[1], report.iterations, report.initial_cost, report.final_cost);
    dopt_nlls_solver_destroy_d(solver);
    dopt_nlls_problem_destroy_d(prob);

    if (dopt_potrf_d(2, A, 2, &col) != DOPT_OK) return 1;   /* A = L L^T, column-major */
    dopt_potrs_d(2, 1, A, 2, b, 2);                         /* b <- A^{-1} b */
    printf("solve: x = %g %g\n", b[0], b[1]);
    return 0;
}
