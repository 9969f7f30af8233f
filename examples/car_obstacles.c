/* car_obstacles.c — augmented-Lagrangian MPC steers a car around circular obstacles (dopt_mpc.h,
 * dopt_mpc_al_*): control limits, obstacle constraints, receding horizon with warm starts.
 *
 *   cc -std=c99 -O2 -I.. car_obstacles.c -lm && ./a.out
 *       (writes car_obstacles.svg: the path, the obstacles and the first plan, and
 *        car_obstacles_violation.svg: the constraint violation and the iterations per step)
 *
 * The car: state (px, py, heading, speed), controls (acceleration a, heading rate w), explicit
 * Euler with dt = 0.1; |a| <= 2 and |w| <= 1 are control limits (kept exactly by the box-DDP
 * primal steps), the three obstacles are inequality constraints r^2 - |p - o|^2 <= 0 at every
 * step of the horizon (T = 50), handled by the augmented Lagrangian.  Stage cost
 * |p - goal|^2 + 0.1 |u|^2.  Each control step solves the problem from the current state, warm
 * started from the previous plan shifted by one step with its multipliers kept, applies u_0, and
 * moves on; nothing is allocated in the loop. */
#define DOPT_IMPLEMENTATION
#include "dopt.h"
#include "dopt_mpc.h"
#include "svg_plot.h"
#include <stdio.h>
#include <string.h>

enum { T = 50, STEPS = 70, NOBS = 3 };
static const double goal[2] = {5, 5}, dt = 0.1, r_u = 0.1;
static const double obs[NOBS][3] = {{1.5, 1.2, 0.8}, {3, 3.2, 0.8}, {4, 1.8, 0.8}}; /* x, y, radius */

/* x' = x + dt (v cos th, v sin th, w, a); F = [df/dx df/du], 4 x 6 column-major. */
static dopt_status car_dyn(void *user, ptrdiff_t b, int t, const double *x, const double *u, double *xn, double *F)
{
    double c = cos(x[2]), s = sin(x[2]);
    int i;
    (void)user; (void)b; (void)t;
    xn[0] = x[0] + dt * x[3] * c;
    xn[1] = x[1] + dt * x[3] * s;
    xn[2] = x[2] + dt * u[1];
    xn[3] = x[3] + dt * u[0];
    if (F) {
        memset(F, 0, 24 * sizeof *F);
        for (i = 0; i < 4; ++i) F[i + 4 * i] = 1;
        F[0 + 4 * 2] = -dt * x[3] * s;  F[0 + 4 * 3] = dt * c;
        F[1 + 4 * 2] = dt * x[3] * c;   F[1 + 4 * 3] = dt * s;
        F[3 + 4 * 4] = dt;              F[2 + 4 * 5] = dt;
    }
    return DOPT_OK;
}

/* l = |p - goal|^2 + r_u |u|^2, its gradient (6) and Hessian (6 x 6). */
static dopt_status car_cost(void *user, ptrdiff_t b, int t, const double *z, double *l, double *g, double *H)
{
    double ex = z[0] - goal[0], ey = z[1] - goal[1];
    (void)user; (void)b; (void)t;
    *l = ex * ex + ey * ey + r_u * (z[4] * z[4] + z[5] * z[5]);
    if (g) {
        memset(g, 0, 6 * sizeof *g);
        memset(H, 0, 36 * sizeof *H);
        g[0] = 2 * ex; g[1] = 2 * ey; g[4] = 2 * r_u * z[4]; g[5] = 2 * r_u * z[5];
        H[0] = H[7] = 2; H[28] = H[35] = 2 * r_u;
    }
    return DOPT_OK;
}

/* h_k = r_k^2 - |p - o_k|^2 <= 0, J: NOBS x 6 column-major. */
static dopt_status car_obstacles(void *user, ptrdiff_t b, int t, const double *z, double *h, double *J)
{
    int k;
    (void)user; (void)b; (void)t;
    if (J) memset(J, 0, NOBS * 6 * sizeof *J);
    for (k = 0; k < NOBS; ++k) {
        double dx = z[0] - obs[k][0], dy = z[1] - obs[k][1];
        h[k] = obs[k][2] * obs[k][2] - dx * dx - dy * dy;
        if (J) { J[k] = -2 * dx; J[k + NOBS] = -2 * dy; }
    }
    return DOPT_OK;
}

int main(void)
{
    static const double lo[2] = {-2, -1}, hi[2] = {2, 1};
    static double tau[T * 6], plan0[T * 6], path[(STEPS + 1) * 4], viol[STEPS], clear[STEPS], its[STEPS], step[STEPS];
    double x[4] = {0, 0, 0, 0}, worst = 1e30;
    dopt_mpc_al_problem_d p;
    dopt_mpc_al_options_d o;
    dopt_mpc_al_report_d r;
    dopt_mpc_al_d *s;
    dopt_mpc_cseq_d xs;
    dopt_mpc_seq_d ts;
    dopt_errinfo info;
    svg_plot sp;
    int k, i, total = 0;

    memset(&p, 0, sizeof p);
    p.n_state = 4; p.n_ctrl = 2; p.n_ineq = NOBS;
    p.dynamics = car_dyn; p.dynamics_jacobian = 1;
    p.cost = car_cost; p.cost_derivatives = 1;
    p.ineq = car_obstacles; p.constraint_jacobians = 1;
    p.u_lower.p = lo; p.u_upper.p = hi;              /* strides 0: the same limits at every step */
    if (dopt_mpc_al_create_d(NULL, 4, 2, T, NOBS, 0, 1, &s, &info) != DOPT_OK) {
        printf("create failed: %s\n", info.message);
        return 1;
    }
    xs.p = x; xs.ts = 0; xs.bs = 4;
    ts.p = tau; ts.ts = 6; ts.bs = 0;
    memset(&o, 0, sizeof o);
    memcpy(path, x, sizeof x);
    for (k = 0; k < STEPS; ++k) {
        dopt_status st = dopt_mpc_al_solve_d(s, &p, xs, &o, ts, &r, &info);
        if (st != DOPT_OK) printf("step %d: %s (violation %.2e)\n", k, info.message, r.violation);
        if (k == 0) {
            memcpy(plan0, tau, sizeof tau);
            printf("first solve (cold): cost %.6f, violation %.2e, %d outer / %d inner iterations\n", r.cost,
                   r.violation, r.outer_iterations, r.inner_iterations);
        }
        viol[k] = r.violation > 1e-16 ? log10(r.violation) : -16;
        its[k] = r.inner_iterations;
        step[k] = k;
        total += r.inner_iterations;
        car_dyn(NULL, 0, 0, x, tau + 4, x, NULL);     /* apply u_0: the car moves one step */
        memcpy(path + 4 * (k + 1), x, sizeof x);
        clear[k] = 1e30;
        for (i = 0; i < NOBS; ++i) {
            double d = sqrt((x[0] - obs[i][0]) * (x[0] - obs[i][0]) + (x[1] - obs[i][1]) * (x[1] - obs[i][1])) - obs[i][2];
            if (d < clear[k]) clear[k] = d;
        }
        if (clear[k] < worst) worst = clear[k];
        o.warm_start = DOPT_MPC_WARM_SHIFT;            /* next step: the plan shifted by one step, */
        o.keep_duals = 1;                              /* with its multipliers and penalty */
    }
    printf("after %d steps: car at (%.3f, %.3f), speed %.3f; closest approach to an obstacle %.2e; "
           "%.1f inner iterations per warm step\n",
           STEPS, x[0], x[1], x[3], worst, (double)(total - (int)its[0]) / (STEPS - 1));

    if (svg_open(&sp, "car_obstacles.svg", 640, 640, "AL-MPC: car around obstacles", "x", "y") == 0) {
        svg_axes_equal(&sp, -0.5, 6, -0.5, 6);
        for (i = 0; i < NOBS; ++i) svg_circle(&sp, obs[i][0], obs[i][1], obs[i][2], SVG_RED, i ? "" : "obstacles");
        svg_line_strided(&sp, plan0, 6, plan0 + 1, 6, T, SVG_GREY, "first plan (T = 50)", 1);
        svg_poses(&sp, path, path + 1, path + 2, 4, STEPS + 1, 5, 0.25, SVG_BLUE, "driven path");
        svg_points(&sp, goal, 1, goal + 1, 1, 1, 6, SVG_GREEN, "goal");
        svg_close(&sp);
    }
    if (svg_open(&sp, "car_obstacles_violation.svg", 640, 400, "per control step", "step",
                 "log10 violation / inner iterations / 10") == 0) {
        for (k = 0; k < STEPS; ++k) its[k] /= 10;
        svg_axes(&sp, 0, STEPS - 1, -17, 2 + its[0]);
        svg_line(&sp, step, viol, STEPS, SVG_RED, "log10 max constraint violation of the plan");
        svg_line(&sp, step, its, STEPS, SVG_BLUE, "iLQR iterations / 10");
        svg_close(&sp);
    }
    dopt_mpc_al_destroy_d(s);
    return worst >= -1e-6 ? 0 : 1;
}
