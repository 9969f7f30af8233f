/* constrained_arm.c — learning cost weights through a constrained least-squares solve.
 *
 * A planar arm of 5 unit links, joint angles q_0..q_4.  The posture solves
 *     minimize   1/2 sum_i (w_i q_i)^2                      (each joint's "comfort" cost)
 *     subject to FK(q) = target                             (the hand on a fixed point: 2 rows)
 *                -1.2 <= q_i <= 1.2, i >= 1                 (joint limits: dopt_nlls_set_bounds)
 * with dopt's constrained least squares (a projected Levenberg-Marquardt with a KKT step, see
 * CONSTRAINED LEAST SQUARES in dopt.h).  A teacher's posture comes from weights w_true we do not
 * know; we learn w from it: the loss L = 1/2 |q*(w) - q_demo|^2 is differentiated through the
 * solve with dopt_nlls_diff (IMPLICIT, implicit_exact: the exact Hessian of the Lagrangian,
 * because the end-point constraint is curved), through the active joint limits, and
 * log w follows the gradient.  Writes constrained_arm.svg (demonstration, start, learned).
 *
 *     cc -std=c99 -O2 -I. examples/constrained_arm.c -o constrained_arm -lm && ./constrained_arm
 */
#define DOPT_IMPLEMENTATION
#include "dopt.h"
#include "svg_plot.h"
#include <stdio.h>

#define NJ 5

static const double target[2] = {2.2, 2.4};

/* comfort: r = q_i (the weight w_i is the cost's scalar weight, learnable) */
static dopt_status comfort(const void *data, const double *const *x, double *r, double *const *J)
{
    (void)data;
    r[0] = x[0][0];
    if (J && J[0]) J[0][0] = 1;
    return DOPT_OK;
}

/* the hand: FK(q) - target, with q_k the k-th variable (one angle each) */
static dopt_status hand(const void *data, const double *const *x, double *r, double *const *J)
{
    double a = 0, px = 0, py = 0, ca[NJ], sa[NJ];
    int k, l;
    (void)data;
    for (k = 0; k < NJ; ++k) {
        a += x[k][0];
        ca[k] = cos(a); sa[k] = sin(a);
        px += ca[k]; py += sa[k];
    }
    r[0] = px - target[0];
    r[1] = py - target[1];
    if (J)
        for (k = 0; k < NJ; ++k) { /* joint k turns every link l >= k */
            double jx = 0, jy = 0;
            for (l = k; l < NJ; ++l) { jx -= sa[l]; jy += ca[l]; }
            if (J[k]) { J[k][0] = jx; J[k][1] = jy; }
        }
    return DOPT_OK;
}

typedef struct arm {
    dopt_nlls_problem_d *p;
    dopt_nlls_solver_d *s;
    dopt_nlls_diff_d *D;
    double w[NJ];      /* the comfort weights (the solver reads them in place) */
    int kw[NJ];        /* their learnable parameters */
} arm;

static double lo[1] = {-1.2}, hi[1] = {1.2};

static int arm_make(arm *A, int learn)
{
    dopt_manifold_d R1 = dopt_manifold_euclidean_d(1);
    int v[NJ], c[NJ], k;
    if (dopt_nlls_problem_create_d(NULL, 1, &A->p)) return 0;
    for (k = 0; k < NJ; ++k) {
        dopt_nlls_cost_desc_d d;
        dopt_nlls_add_variable_d(A->p, &R1, &v[k]);
        if (k >= 1) dopt_nlls_set_bounds_d(A->p, v[k], lo, hi, 0);
        memset(&d, 0, sizeof d);
        d.fn = comfort; d.rdim = 1; d.nvars = 1; d.vars = &v[k];
        d.weight_kind = DOPT_WEIGHT_SCALAR; d.weight = &A->w[k];
        dopt_nlls_add_cost_d(A->p, &d, &c[k]);
    }
    {
        dopt_nlls_cost_desc_d d;
        memset(&d, 0, sizeof d);
        d.fn = hand; d.rdim = 2; d.nvars = NJ; d.vars = v;
        if (dopt_nlls_add_constraint_d(A->p, &d, NULL)) return 0;
    }
    if (dopt_nlls_solver_create_d(A->p, NULL, &A->s, NULL)) return 0;
    A->D = NULL;
    if (!learn) return 1;
    if (dopt_nlls_diff_create_d(A->s, &A->D)) return 0;
    for (k = 0; k < NJ; ++k)
        if (dopt_nlls_diff_learn_weight_d(A->D, c[k], &A->kw[k])) return 0;
    return 1;
}

static void arm_free(arm *A)
{
    dopt_nlls_diff_destroy_d(A->D);
    dopt_nlls_solver_destroy_d(A->s);
    dopt_nlls_problem_destroy_d(A->p);
}

static void arm_start(double q[NJ])
{
    int k;
    for (k = 0; k < NJ; ++k) q[k] = 0.3;
}

/* link end points of posture q: X[0..NJ], Y[0..NJ] */
static void arm_points(const double q[NJ], double *X, double *Y)
{
    double a = 0;
    int k;
    X[0] = Y[0] = 0;
    for (k = 0; k < NJ; ++k) { a += q[k]; X[k + 1] = X[k] + cos(a); Y[k + 1] = Y[k] + sin(a); }
}

int main(void)
{
    static const double w_true[NJ] = {3.0, 0.4, 2.0, 0.3, 1.5};
    arm teacher, student;
    dopt_nlls_options_d o;
    dopt_nlls_report rep;
    dopt_nlls_diff_options_d bo;
    double q_demo[NJ], q[NJ], q_first[NJ], logw[NJ], L = 0, L0 = -1;
    int k, epoch, nact = 0;
    memset(&o, 0, sizeof o);
    o.max_iterations = 200;
    o.function_tolerance = DOPT_OFF;
    o.gradient_tolerance = 1e-12;
    /* the demonstration */
    for (k = 0; k < NJ; ++k) teacher.w[k] = w_true[k];
    if (!arm_make(&teacher, 0)) { fprintf(stderr, "setup failed\n"); return 1; }
    arm_start(q_demo);
    if (dopt_nlls_solve_d(teacher.s, &o, q_demo, 0, &rep, NULL, NULL) != DOPT_OK) return 1;
    {
        const unsigned char *act = dopt_nlls_active_set_d(teacher.s, 0);
        for (k = 0; k < NJ; ++k) nact += act ? act[k] : 0;
    }
    printf("demonstration: |c| = %.1e, %d joint(s) at a limit, stop: %s\n", rep.constraint_norm, nact,
           dopt_nlls_stop_string(rep.stop));
    arm_free(&teacher);
    /* the student learns log w */
    for (k = 0; k < NJ; ++k) { student.w[k] = 1; logw[k] = 0; }
    if (!arm_make(&student, 1)) { fprintf(stderr, "setup failed\n"); return 1; }
    memset(&bo, 0, sizeof bo);
    bo.implicit_exact = 1;
    for (epoch = 0; epoch < 60; ++epoch) {
        double qbar[NJ], step = 2.0;
        arm_start(q);
        if (dopt_nlls_diff_solve_d(student.D, &o, q, 0, &rep, NULL) != DOPT_OK) { fprintf(stderr, "solve failed\n"); return 1; }
        if (epoch == 0) memcpy(q_first, q, sizeof q);
        for (L = 0, k = 0; k < NJ; ++k) { qbar[k] = q[k] - q_demo[k]; L += 0.5 * qbar[k] * qbar[k]; }
        if (L0 < 0) L0 = L;
        if (epoch % 10 == 0) printf("epoch %2d  loss %.3e  (|c| %.1e)\n", epoch, L, rep.constraint_norm);
        if (dopt_nlls_diff_backward_d(student.D, &bo, qbar, NULL, NULL, NULL) != DOPT_OK) { fprintf(stderr, "backward failed\n"); return 1; }
        for (k = 0; k < NJ; ++k) { /* dL/dlog w = w dL/dw */
            double g = dopt_nlls_diff_param_grad_d(student.D, student.kw[k])[0] * student.w[k];
            logw[k] -= step * g;
            student.w[k] = exp(logw[k]);
        }
    }
    printf("final loss %.3e (start %.3e)\n", L, L0);
    /* the posture has 5 - 2 (end point) - active limits degrees of freedom, so many weight
       vectors give the demonstrated posture: the loss, not w itself, is what is recovered */
    printf("learned w:");
    for (k = 0; k < NJ; ++k) printf(" %.3f", student.w[k]);
    printf("  (w_true:");
    for (k = 0; k < NJ; ++k) printf(" %.1f", w_true[k]);
    printf("; not identifiable beyond the posture)\n");
    {
        svg_plot P;
        double X[3][NJ + 1], Y[3][NJ + 1];
        arm_points(q_demo, X[0], Y[0]);
        arm_points(q_first, X[1], Y[1]);
        arm_points(q, X[2], Y[2]);
        if (svg_open(&P, "constrained_arm.svg", 560, 560, "arm posture: learned weights through the constrained solve", "x", "y") == 0) {
            svg_axes_equal(&P, -1.0, 3.5, -1.0, 3.5);
            svg_line(&P, X[1], Y[1], NJ + 1, SVG_GREY, "start (w = 1)");
            svg_line(&P, X[0], Y[0], NJ + 1, SVG_BLUE, "demonstration");
            svg_line(&P, X[2], Y[2], NJ + 1, SVG_ORANGE, "learned");
            svg_circle(&P, target[0], target[1], 0.08, SVG_RED, "fixed end point");
            svg_close(&P);
            printf("wrote constrained_arm.svg\n");
        }
    }
    arm_free(&student);
    return L < 0.01 * L0 ? 0 : 1;
}
