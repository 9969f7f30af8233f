/* examples/pendulum_mpc.c — receding-horizon swing-up of a pendulum with a torque limit.
 *
 * At every control step dopt_mpc_ilqr_solve plans T = 40 steps ahead (iLQR with box-limited
 * torque, warm-started from the previous plan shifted by one step), the first torque is applied
 * to the pendulum, and the loop moves on.  The torque limit (3 N m) is below m g l (9.81 N m):
 * the controller has to pump energy.  Writes pendulum_mpc.svg (angle and torque over time).
 *   cc -std=c99 -O2 -I.. pendulum_mpc.c -lm && ./a.out */
#define DOPT_IMPLEMENTATION
#include "dopt.h"
#include "dopt_mpc.h"
#include "svg_plot.h"
#include <stdio.h>

#define HORIZON 40
#define STEPS 160
#define PI 3.14159265358979323846

typedef struct swing { dopt_mpc_pendulum_d P; } swing;

/* Stage cost: 1/2 (wa (theta - pi)^2 + wv omega^2 + r u^2), heavier at the end of the horizon. */
static dopt_status cost(void *user, ptrdiff_t b, int t, const double *z, double *l, double *g, double *H)
{
    double e = z[0] - PI, wa = t == HORIZON - 1 ? 100 : 2, wv = t == HORIZON - 1 ? 10 : 0.1, r = 0.02;
    int i;
    (void)user; (void)b;
    *l = 0.5 * (wa * e * e + wv * z[1] * z[1] + r * z[2] * z[2]);
    if (g) {
        g[0] = wa * e; g[1] = wv * z[1]; g[2] = r * z[2];
        for (i = 0; i < 9; ++i) H[i] = 0;
        H[0] = wa; H[4] = wv; H[8] = r;
    }
    return DOPT_OK;
}

int main(void)
{
    swing S = {{9.81, 1.0, 1.0, 0.05, 0.05}};
    dopt_mpc_ilqr_problem_d pr = {0};
    dopt_mpc_ilqr_options_d opt = {0};
    dopt_mpc_ilqr_d *solver;
    dopt_mpc_lqr_report_d rep;
    double lo = -3, hi = 3, x[2] = {0, 0}, tau[HORIZON * 3] = {0}, hist[STEPS][2], torque[STEPS];
    double time_s[STEPS], angle[STEPS];
    dopt_mpc_cseq_d x0 = {0};
    dopt_mpc_seq_d plan = {0};
    dopt_errinfo info;
    int k, iters = 0, not_conv = 0;
    svg_plot svg;
    pr.n_state = 2; pr.n_ctrl = 1;
    pr.dynamics = dopt_mpc_pendulum_dynamics_d; pr.dynamics_jacobian = 1;
    pr.cost = cost; pr.cost_derivatives = 1;
    pr.user = &S.P;
    pr.u_lower.p = &lo; pr.u_upper.p = &hi; /* one bound for every step: strides 0 */
    x0.p = x;
    plan.p = tau; plan.ts = 3;
    opt.max_iter = 50;
    if (dopt_mpc_ilqr_create_d(NULL, 2, 1, HORIZON, 1, &solver, &info) != DOPT_OK) return 1;
    for (k = 0; k < STEPS; ++k) {
        double xn[2];
        dopt_status st = dopt_mpc_ilqr_solve_d(solver, &pr, x0, &opt, plan, &rep, &info);
        if (st != DOPT_OK && st != DOPT_ERR_NO_CONVERGENCE) {
            printf("step %d: %s (%s)\n", k, dopt_status_string(st), info.message);
            return 1;
        }
        not_conv += st != DOPT_OK;
        iters += rep.iterations;
        hist[k][0] = x[0];
        hist[k][1] = x[1];
        torque[k] = tau[2];
        dopt_mpc_pendulum_dynamics_d(&S.P, 0, 0, x, tau + 2, xn, NULL); /* apply u_0 */
        x[0] = xn[0];
        x[1] = xn[1];
        opt.warm_start = DOPT_MPC_WARM_SHIFT;
    }
    printf("swing-up: final angle %.4f rad (target pi = %.4f), speed %.4f rad/s\n", x[0], PI, x[1]);
    printf("%d MPC solves, %.1f iLQR iterations per solve, %d hit the iteration limit, |torque| <= %.1f\n",
           STEPS, (double)iters / STEPS, not_conv, hi);
    for (k = 0; k < STEPS; ++k) time_s[k] = k * S.P.dt, angle[k] = hist[k][0];
    if (svg_open(&svg, "pendulum_mpc.svg", 640, 360, "pendulum swing-up by receding-horizon iLQR", "time (s)",
                 "angle (rad) / torque (N m)") != 0)
        return 1;
    svg_axes(&svg, 0, time_s[STEPS - 1], -hi, 2 * PI);
    svg_line(&svg, time_s, angle, STEPS, SVG_BLUE, "angle");
    svg_line(&svg, time_s, torque, STEPS, SVG_RED, "torque");
    if (svg_close(&svg) != 0) return 1;
    printf("wrote pendulum_mpc.svg\n");
    dopt_mpc_ilqr_destroy_d(solver);
    return fabs(x[0] - PI) < 0.05 ? 0 : 1;
}
