/* cem_car.c — CEM-MPC drives a 2-D car to a goal around obstacles (dopt_mpc.h).
 *
 *   cc -std=c99 -O2 -I.. cem_car.c -lm && ./a.out        (writes cem_car.svg)
 *
 * The car: state (px, py, heading, speed), controls (acceleration, steering) in [-2, 2], dt = 0.1.
 * Every control step, dopt_mpc_cem_plan samples 300 action sequences of 20 steps, rolls them all
 * out through car_step (one call per time step for the whole population), keeps the 30 cheapest
 * and refits its Gaussian, 6 times; the car applies the first action of the mean and the plan is
 * shifted one step for the next call (dopt_mpc_cem_shift).  Nothing is allocated in the loop.
 * The SVG shows the obstacles, the elite rollouts of a few planning steps and the driven path. */
#define DOPT_IMPLEMENTATION
#include "dopt.h"
#include "dopt_mpc.h"
#include "svg_plot.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { H = 20, NU = 2, POP = 300, ELITES = 30, STEPS = 90 };
static const double goal[2] = {5, 5};
static const double obst[3][3] = {{2, 2, 0.8}, {3.5, 1.2, 0.6}, {1.2, 3.5, 0.6}}; /* x, y, radius */

/* what the step callback saw in the last CEM iteration: every sample's positions and cost */
typedef struct recorder {
    double px[POP][H], py[POP][H], cost[POP];
} recorder;

static dopt_status car_step(void *user, ptrdiff_t element, int t, int count, const double *x, const double *u,
                            int ldu, double *xn, double *cost)
{
    recorder *rec = (recorder *)user;
    int j, o;
    (void)element;
    for (j = 0; j < count; ++j) {
        const double *s = x + 4 * j, *a = u + (size_t)j * ldu;
        double *n = xn + 4 * j, dx, dy, c;
        n[0] = s[0] + 0.1 * s[3] * cos(s[2]);
        n[1] = s[1] + 0.1 * s[3] * sin(s[2]);
        n[2] = s[2] + 0.1 * s[3] * a[1];
        n[3] = s[3] + 0.1 * a[0];
        dx = n[0] - goal[0], dy = n[1] - goal[1];
        c = dx * dx + dy * dy + 0.1 * n[3] * n[3] * (dx * dx + dy * dy < 0.5) + 0.01 * (a[0] * a[0] + a[1] * a[1]);
        for (o = 0; o < 3; ++o) { /* quadratic penalty inside an obstacle plus a 0.2 margin */
            double ex = n[0] - obst[o][0], ey = n[1] - obst[o][1], pen = obst[o][2] + 0.2 - sqrt(ex * ex + ey * ey);
            if (pen > 0) c += 200 * pen * pen;
        }
        cost[j] += c;
        if (rec && j < POP) rec->px[j][t] = n[0], rec->py[j][t] = n[1], rec->cost[j] = cost[j];
    }
    return DOPT_OK;
}

static int by_cost(const void *a, const void *b)
{
    double ca = **(const double *const *)a, cb = **(const double *const *)b;
    return ca < cb ? -1 : ca > cb;
}

int main(void)
{
    dopt_mpc_cem_dims dims = {1, H * NU, POP, ELITES, 4, 0};
    dopt_mpc_cem_d *cem;
    dopt_mpc_cem_options_d opt = dopt_mpc_cem_default_options_d();
    dopt_mpc_cem_dynamics_d dyn = {NU, car_step, NULL, NULL};
    static recorder rec;
    double x[4] = {0, 0, 0.3, 0}, mean[H * NU], std[H * NU], lo[H * NU], hi[H * NU], path_x[STEPS + 1], path_y[STEPS + 1];
    double clearance = 1e9;
    int step, i, o;
    svg_plot svg;
    if (svg_open(&svg, "cem_car.svg", 600, 600, "CEM-MPC around obstacles", "x", "y") != 0 ||
        dopt_mpc_cem_create_d(NULL, &dims, &cem, NULL) != DOPT_OK)
        return 1;
    dopt_mpc_cem_seed_d(cem, 2024, 0);
    for (i = 0; i < H * NU; ++i) mean[i] = 0, std[i] = 1, lo[i] = -2, hi[i] = 2;
    opt.iterations = 6, opt.momentum = 0.1, opt.lower = lo, opt.upper = hi;
    dyn.user = &rec;
    svg_axes_equal(&svg, -0.5, 6, -0.5, 6);
    for (o = 0; o < 3; ++o) svg_circle(&svg, obst[o][0], obst[o][1], obst[o][2], SVG_GREY, o == 0 ? "obstacles" : NULL);
    path_x[0] = x[0], path_y[0] = x[1];
    for (step = 0; step < STEPS; ++step) {
        double xn[4], c = 0;
        if (dopt_mpc_cem_plan_d(cem, &opt, &dyn, x, 4, mean, H * NU, std, H * NU, NULL, 0, NULL, NULL, NULL) != DOPT_OK) return 1;
        if (step % 15 == 0) { /* draw the elites of the last CEM iteration of this plan */
            const double *order[POP];
            for (i = 0; i < POP; ++i) order[i] = &rec.cost[i];
            qsort(order, POP, sizeof order[0], by_cost);
            for (i = 0; i < ELITES; ++i) {
                int j = (int)(order[i] - rec.cost);
                svg_line(&svg, rec.px[j], rec.py[j], H, SVG_BLUE, step == 0 && i == 0 ? "elite rollouts" : NULL);
            }
        }
        car_step(NULL, 0, 0, 1, x, mean, NU, xn, &c); /* apply the first action */
        memcpy(x, xn, sizeof x);
        path_x[step + 1] = x[0], path_y[step + 1] = x[1];
        for (o = 0; o < 3; ++o) {
            double d = sqrt((x[0] - obst[o][0]) * (x[0] - obst[o][0]) + (x[1] - obst[o][1]) * (x[1] - obst[o][1])) - obst[o][2];
            if (d < clearance) clearance = d;
        }
        dopt_mpc_cem_shift_d(1, H, NU, mean, H * NU, std, H * NU, 1.0);
    }
    svg_line(&svg, path_x, path_y, STEPS + 1, SVG_RED, "driven path");
    svg_circle(&svg, goal[0], goal[1], 0.08, SVG_GREEN, "goal");
    if (svg_close(&svg) != 0) return 1;
    printf("cem_car: %d MPC steps of %d x %d samples; final position (%.3f, %.3f), distance to goal %.3f, "
           "closest approach to an obstacle %.3f; wrote cem_car.svg\n",
           STEPS, opt.iterations, POP, x[0], x[1], sqrt((x[0] - goal[0]) * (x[0] - goal[0]) + (x[1] - goal[1]) * (x[1] - goal[1])),
           clearance);
    dopt_mpc_cem_destroy_d(cem);
    return 0;
}
