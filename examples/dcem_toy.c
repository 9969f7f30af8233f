/* dcem_toy.c — learning a cost parameter through the differentiable cross-entropy method.
 *
 *   cc -std=c99 -O2 -I.. dcem_toy.c -lm && ./a.out        (writes dcem_toy.svg)
 *
 * A point on a line, x_{t+1} = x_t + u_t from x_0 = 0, plans H = 8 actions with the cost
 *     f_theta(u) = sum_t (x_t - theta)^2 + 0.1 sum_t u_t^2,
 * theta being the goal it steers to — which we do not know.  We only see an expert's actions
 * (the exact minimizer of f at theta = 1.5).  DCEM (dopt_mpc_dcem_forward, 15 iterations of 200
 * samples, soft top-20 by LML) gives actions mu_T(theta) from a fresh noise seed each epoch;
 * the loss |mu_T - u_expert|^2 is differentiated through the unrolled DCEM
 * (dopt_mpc_dcem_backward), whose objective VJP (cost_vjp) accumulates dL/dtheta, and theta
 * takes a gradient step.  The loss per epoch falls (noisily: each epoch draws new samples) and
 * theta climbs from 0.2 to about 1.7 — above the expert's 1.5 because DCEM's soft, finite-sample
 * solution falls short of the exact minimizer, and the learned goal makes up for it, which is
 * the point of learning through the solver.  The SVG plots the loss. */
#define DOPT_IMPLEMENTATION
#include "dopt.h"
#include "dopt_mpc.h"
#include "svg_plot.h"
#include <stdio.h>

enum { H = 8, EPOCHS = 60 };

typedef struct goal_cost {
    double theta;      /* the learnable goal */
    double g_theta;    /* dL/dtheta, accumulated by cost_vjp */
} goal_cost;

static double rollout_cost(const double *u, double theta)
{
    double x = 0, f = 0;
    int t;
    for (t = 0; t < H; ++t) {
        x += u[t];
        f += (x - theta) * (x - theta) + 0.1 * u[t] * u[t];
    }
    return f;
}

static dopt_status cost(void *user, ptrdiff_t first, ptrdiff_t count, int P, int D, const double *U, double *f)
{
    const goal_cost *g = (const goal_cost *)user;
    ptrdiff_t s;
    (void)first;
    for (s = 0; s < count * P; ++s) f[s] = rollout_cost(U + (size_t)s * D, g->theta);
    return DOPT_OK;
}

/* g_U += g_f * df/du (a reverse sweep over the rollout), g_theta += g_f * df/dtheta */
static dopt_status cost_vjp(void *user, ptrdiff_t first, ptrdiff_t count, int P, int D, const double *U,
                            const double *gf, double *gU)
{
    goal_cost *g = (goal_cost *)user;
    ptrdiff_t s;
    (void)first;
    for (s = 0; s < count * P; ++s) {
        const double *u = U + (size_t)s * D;
        double x[H], acc = 0;
        int t;
        x[0] = u[0];
        for (t = 1; t < H; ++t) x[t] = x[t - 1] + u[t];
        for (t = H - 1; t >= 0; --t) { /* acc = sum_{r >= t} 2 (x_r - theta) = df/dx_t through the future */
            acc += 2 * (x[t] - g->theta);
            gU[(size_t)s * D + t] += gf[s] * (acc + 0.2 * u[t]);
            g->g_theta -= gf[s] * 2 * (x[t] - g->theta);
        }
    }
    return DOPT_OK;
}

/* the exact minimizer of the quadratic f at theta: solve (J^T J + 0.1 I) u = J^T theta 1 with J
 * the lower-triangular ones matrix (x = J u), by dopt's dense Cholesky */
static void expert_actions(double theta, double *u)
{
    double A[H * H], b[H];
    int i, j, r, col;
    for (i = 0; i < H; ++i) {
        for (j = 0; j < H; ++j) {
            double s = 0;
            for (r = 0; r < H; ++r) s += (r >= i && r >= j) ? 1 : 0;
            A[i + j * H] = s + (i == j ? 0.1 : 0);
        }
        b[i] = theta * (H - i);
    }
    dopt_potrf_d(H, A, H, &col);
    dopt_potrs_d(H, 1, A, H, b, H);
    for (i = 0; i < H; ++i) u[i] = b[i];
}

int main(void)
{
    dopt_mpc_cem_dims dims = {1, H, 200, 20, 0, 15};
    dopt_mpc_cem_d *dcem;
    dopt_mpc_cem_options_d opt = dopt_mpc_cem_default_options_d();
    goal_cost g = {0.2, 0};
    dopt_mpc_cem_objective_d obj = {cost, cost_vjp, NULL};
    double expert[H], loss[EPOCHS], epochs[EPOCHS], lr = 0.1, lmax = 0;
    int epoch, t;
    svg_plot svg;
    obj.user = &g;
    opt.iterations = 15;
    opt.temperature = 0.5;
    expert_actions(1.5, expert);
    if (dopt_mpc_cem_create_d(NULL, &dims, &dcem, NULL) != DOPT_OK) return 1;
    for (epoch = 0; epoch < EPOCHS; ++epoch) {
        double mean[H], std[H], gmean[H];
        dopt_mpc_cem_seed_d(dcem, (uint64_t)epoch, 0);
        for (t = 0; t < H; ++t) mean[t] = 0, std[t] = 1;
        if (dopt_mpc_dcem_forward_d(dcem, &opt, &obj, mean, H, std, H, NULL, NULL) != DOPT_OK) return 1;
        loss[epoch] = 0;
        for (t = 0; t < H; ++t) {
            loss[epoch] += (mean[t] - expert[t]) * (mean[t] - expert[t]);
            gmean[t] = 2 * (mean[t] - expert[t]);
        }
        g.g_theta = 0;
        if (dopt_mpc_dcem_backward_d(dcem, &obj, gmean, H, NULL, 0, NULL, 0, NULL, 0, NULL) != DOPT_OK) return 1;
        g.theta -= lr * g.g_theta;
        if (epoch % 10 == 0 || epoch == EPOCHS - 1)
            printf("epoch %2d  loss %.5f  theta %.4f  dL/dtheta %+.4f\n", epoch, loss[epoch], g.theta, g.g_theta);
        if (loss[epoch] > lmax) lmax = loss[epoch];
    }
    for (epoch = 0; epoch < EPOCHS; ++epoch) epochs[epoch] = epoch;
    if (svg_open(&svg, "dcem_toy.svg", 520, 320, "DCEM imitation loss", "epoch", "loss") != 0) return 1;
    svg_axes(&svg, 0, EPOCHS - 1, 0, lmax);
    svg_line(&svg, epochs, loss, EPOCHS, SVG_RED, "imitation loss");
    if (svg_close(&svg) != 0) return 1;
    {
        double first = 0, last = 0;
        for (epoch = 0; epoch < 10; ++epoch) first += loss[epoch] / 10, last += loss[EPOCHS - 1 - epoch] / 10;
        printf("dcem_toy: mean loss of the first 10 epochs %.4f, of the last 10 %.4f; theta 0.2 -> %.4f "
               "(expert's 1.5); wrote dcem_toy.svg\n", first, last, g.theta);
    }
    dopt_mpc_cem_destroy_d(dcem);
    return 0;
}
