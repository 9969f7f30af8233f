/* examples/learn_mpc.c — imitation learning through the MPC layer (Amos et al. 2018, section 5):
 * recover unknown cost weights of a pendulum controller from its trajectories.
 *
 * The expert is iLQR on the pendulum with the stage cost
 *     l_t(tau) = 1/2 sum_i w_i (tau_i - goal_i)^2,   tau = [theta, omega, u],  goal = [1, 0, 0]
 * and weights w* = (4, 0.5, 1).  The learner has the same controller with unknown w (it starts
 * from (0.5, 2, 1)), solves its own batch of problems (B = 4 starting states), and descends the
 * imitation loss  L(w) = sum ||tau(w) - tau_expert||^2  with the gradient from
 * dopt_mpc_ilqr_backward.  The backward gives dL/dC_t and dL/dc_t of the final LQR approximation,
 * where C_t = diag(w) (the cost Hessian) and c_t = grad l_t - C_t tau_t = -w . goal, so
 *     dL/dw_i = sum_t dC_t[i,i] - dc_t[i] goal_i.
 * The loss is printed per epoch and falls by orders of magnitude.  u's weight is held at 1 (only
 * ratios of the weights change the controller).  cc -std=c99 -O2 -I.. learn_mpc.c -lm */
#define DOPT_IMPLEMENTATION
#include "dopt.h"
#include "dopt_mpc.h"
#include <stdio.h>
#include <string.h>

#define T 30
#define B 4
#define N 3

typedef struct learner { dopt_mpc_pendulum_d P; double w[N]; } learner;
static const double goal[N] = {1, 0, 0};

static dopt_status cost(void *user, ptrdiff_t b, int t, const double *z, double *l, double *g, double *H)
{
    const learner *L = (const learner *)user;
    int i;
    (void)b; (void)t;
    *l = 0;
    if (H) for (i = 0; i < N * N; ++i) H[i] = 0;
    for (i = 0; i < N; ++i) {
        double e = z[i] - goal[i];
        *l += 0.5 * L->w[i] * e * e;
        if (g) { g[i] = L->w[i] * e; H[i + i * N] = L->w[i]; }
    }
    return DOPT_OK;
}

/* Solve the batch for weights w; the trajectories land in tau (B x T x N). */
static dopt_status plan(dopt_mpc_ilqr_d *s, learner *L, const double *x0, double *tau)
{
    dopt_mpc_ilqr_problem_d pr = {0};
    dopt_mpc_ilqr_options_d o = {0};
    dopt_mpc_cseq_d xi = {0};
    dopt_mpc_seq_d st = {0};
    pr.n_state = 2; pr.n_ctrl = 1;
    pr.dynamics = dopt_mpc_pendulum_dynamics_d; pr.dynamics_jacobian = 1;
    pr.cost = cost; pr.cost_derivatives = 1;
    pr.user = L;
    xi.p = x0; xi.bs = 2;
    st.p = tau; st.ts = N; st.bs = T * N;
    o.tol = 1e-10;
    return dopt_mpc_ilqr_solve_d(s, &pr, xi, &o, st, NULL, NULL);
}

int main(void)
{
    static double expert[B * T * N], tau[B * T * N], dtau[B * T * N], gC[B * T * N * N], gc[B * T * N];
    const double x0[B * 2] = {0, 0, -0.5, 1, 2, 0, 1.5, -2};
    learner L = {{9.81, 1.0, 1.0, 0.1, 0.05}, {4, 0.5, 1}};
    double logw[2] = {log(0.5), log(2.0)}, first = 0, loss = 0, lr = 0.05;
    dopt_mpc_ilqr_d *s;
    dopt_mpc_lqr_grad_d g;
    dopt_mpc_cseq_d dt = {0};
    int epoch, i, t, b;
    memset(&g, 0, sizeof g);
    if (dopt_mpc_ilqr_create_d(NULL, 2, 1, T, B, &s, NULL) != DOPT_OK) return 1;
    if (plan(s, &L, x0, expert) != DOPT_OK) return 1; /* the expert's demonstrations */
    g.C.p = gC; g.C.ts = N * N; g.C.bs = T * N * N;
    g.c.p = gc; g.c.ts = N; g.c.bs = T * N;
    dt.p = dtau; dt.ts = N; dt.bs = T * N;
    for (epoch = 0; epoch <= 200; ++epoch) {
        double grad[2] = {0, 0};
        dopt_status st;
        L.w[0] = exp(logw[0]);
        L.w[1] = exp(logw[1]);
        st = plan(s, &L, x0, tau);
        if (st != DOPT_OK) { printf("epoch %d: %s\n", epoch, dopt_status_string(st)); return 1; }
        loss = 0;
        for (i = 0; i < B * T * N; ++i) {
            double e = tau[i] - expert[i];
            loss += e * e;
            dtau[i] = 2 * e;
        }
        if (epoch == 0) first = loss;
        if (epoch % 20 == 0)
            printf("epoch %3d  imitation loss %.3e  w = (%.4f, %.4f, 1)\n", epoch, loss, L.w[0], L.w[1]);
        if (dopt_mpc_ilqr_backward_d(s, dt, NULL, &g, NULL, NULL) != DOPT_OK) return 1;
        for (b = 0; b < B; ++b)
            for (t = 0; t < T; ++t)
                for (i = 0; i < 2; ++i) {
                    double dw = gC[(b * T + t) * N * N + i * (N + 1)] - gc[(b * T + t) * N + i] * goal[i];
                    grad[i] += dw * L.w[i]; /* chain through w = exp(logw) */
                }
        for (i = 0; i < 2; ++i) logw[i] -= lr * grad[i] / (1e-12 + sqrt(grad[0] * grad[0] + grad[1] * grad[1]));
        if (epoch > 0 && epoch % 40 == 0) lr *= 0.5; /* normalized steps, shrinking */
    }
    printf("loss fell %.1e-fold; recovered w = (%.4f, %.4f, 1), true (4, 0.5, 1)\n", first / loss, L.w[0], L.w[1]);
    dopt_mpc_ilqr_destroy_d(s);
    return first / loss >= 100 ? 0 : 1;
}
