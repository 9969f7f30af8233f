/* deq_mpc.c — DEQ-MPC (Gurumurthy's thesis ch. 8): a small network and an augmented-Lagrangian
 * MPC solver iterated together to a fixed point, trained by imitation, against the one-shot
 * "network, then MPC" baseline (dopt_mpc.h's dopt_mpc_al_*, dopt_deq.h's Picard solver).
 *
 *   cc -std=c99 -O2 -I.. deq_mpc.c -lm && ./a.out
 *
 * Task: a damped pendulum (x = [angle, rate], torque |u| <= 3, rate limit |rate| <= 4 as an
 * inequality constraint), horizon T = 12, dt = 0.1, started near the top (angle pi).  The EXPERT
 * is the full AL solve of  sum_t 0.3 (angle - pi)^2 + 0.1 rate^2 + 0.5 u^2  under the constraints
 * (a cautious expert: the policy's MPC, with its small control weight, must be given waypoints
 * that slow it down to imitate it).
 * The POLICY is an MPC that tracks waypoints theta_t predicted by a network:
 *       sum_t |x_t - theta_t|^2_Q + r u^2   (same dynamics and constraints, Q = diag(1, 0.1)).
 * Both policies have the same one-hidden-layer tanh network (32 units) predicting theta
 * (T x 2) from features of x_init and of a trajectory:
 *   ONE-SHOT (Diff-MPC-NN):  theta = NN(x_init, 0); tau = MPC run to convergence; loss on tau.
 *   DEQ-MPC (Eq. 8.9-8.10):  theta^i = NN(x_init, tau^{i-1}); tau^i = MPC-m_{theta^i}(tau^{i-1})
 *                            with m = 2 AL iterations, warm-started from tau^{i-1} with the AL
 *                            multipliers and penalty carried, N = 6 iterations (a Picard
 *                            fixed-point solve of dopt_deq.h on z = tau); losses on every iterate
 *                            (Eq. 8.13).
 * Loss: the L1 distance of the states to the expert's.  Gradients: dopt_mpc_al_backward at each
 * iterate (the IFT of the augmented Lagrangian, Eq. 8.12) gives dL/d(grad l_t), which is
 * -2 Q dL/dtheta_t; the network input tau^{i-1} is held fixed (the "identity Jacobian"
 * approximation of the thesis' DEQ gradients, sec. 8.4.3).  Adam, 40 epochs over 96 starts;
 * the final tracking error of both policies on 48 new starts is printed. */
#define DOPT_IMPLEMENTATION
#include "dopt.h"
#include "dopt_mpc.h"
#include "dopt_deq.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { T = 12, NX = 2, NU = 1, N = NX + NU, HID = 32, NIN = 3 + T * NX, NOUT = T * NX,
       NTRAIN = 96, NTEST = 48, EPOCHS = 40, DEQ_N = 6, DEQ_M = 2 };
static const double PI = 3.14159265358979323846, R_U = 0.01, R_EXPERT = 0.5, QW[NX] = {1, 0.1};
static const double ulo[1] = {-3}, uhi[1] = {3};

/* ---- the problem: dynamics, expert and tracking costs, the rate limit ---------------------------- */
typedef struct task {
    dopt_mpc_pendulum_d pend;
    const double *theta;    /* waypoints T x NX of the tracking cost; NULL: the expert's cost */
} task;

static dopt_status dyn(void *u, ptrdiff_t b, int t, const double *x, const double *uu, double *xn, double *F)
{
    return dopt_mpc_pendulum_dynamics_d(&((task *)u)->pend, b, t, x, uu, xn, F);
}
static dopt_status cost(void *u, ptrdiff_t b, int t, const double *z, double *l, double *g, double *H)
{
    const task *k = (const task *)u;
    double ref[NX], w[NX] = {0.3, 0.1}, r = R_EXPERT;
    int i;
    (void)b;
    if (k->theta) { ref[0] = k->theta[t * NX]; ref[1] = k->theta[t * NX + 1]; w[0] = QW[0]; w[1] = QW[1]; r = R_U; }
    else { ref[0] = PI; ref[1] = 0; }
    *l = r * z[2] * z[2];
    for (i = 0; i < NX; ++i) *l += w[i] * (z[i] - ref[i]) * (z[i] - ref[i]);
    if (g) {
        memset(H, 0, N * N * sizeof *H);
        for (i = 0; i < NX; ++i) { g[i] = 2 * w[i] * (z[i] - ref[i]); H[i * (N + 1)] = 2 * w[i]; }
        g[2] = 2 * r * z[2]; H[8] = 2 * r;
    }
    return DOPT_OK;
}
static dopt_status rate_limit(void *u, ptrdiff_t b, int t, const double *z, double *h, double *J)
{
    (void)u; (void)b; (void)t;
    h[0] = z[1] - 4; h[1] = -z[1] - 4;
    if (J) { memset(J, 0, 2 * N * sizeof *J); J[2] = 1; J[3] = -1; }
    return DOPT_OK;
}
static void make_problem(task *k, dopt_mpc_al_problem_d *p)
{
    memset(p, 0, sizeof *p);
    p->n_state = NX; p->n_ctrl = NU; p->n_ineq = 2;
    p->dynamics = dyn; p->dynamics_jacobian = 1;
    p->cost = cost; p->cost_derivatives = 1;
    p->ineq = rate_limit; p->constraint_jacobians = 1;
    p->user = k;
    p->u_lower.p = ulo; p->u_upper.p = uhi;
}

/* ---- the network: theta = W2 tanh(W1 in + b1) + b2 + [pi, 0] -------------------------------------- */
typedef struct net { double W1[HID * NIN], b1[HID], W2[NOUT * HID], b2[NOUT]; } net;
enum { NPAR = HID * NIN + HID + NOUT * HID + NOUT };

static double urand(unsigned *s) { *s = *s * 1664525u + 1013904223u; return (*s >> 8) / 16777216.0; }

static void features(const double *x0, const double *tau, double *in)
{
    int t;
    in[0] = cos(x0[0]); in[1] = sin(x0[0]); in[2] = x0[1] / 4;
    for (t = 0; t < T; ++t) {   /* the trajectory's states relative to the top (zeros: none) */
        in[3 + t * NX] = tau ? tau[t * N] - PI : 0;
        in[4 + t * NX] = tau ? tau[t * N + 1] / 4 : 0;
    }
}
static void net_forward(const net *w, const double *in, double *hid, double *out)
{
    int i, j;
    for (i = 0; i < HID; ++i) {
        double a = w->b1[i];
        for (j = 0; j < NIN; ++j) a += w->W1[i * NIN + j] * in[j];
        hid[i] = tanh(a);
    }
    for (i = 0; i < NOUT; ++i) {
        double a = w->b2[i] + (i % NX == 0 ? PI : 0);
        for (j = 0; j < HID; ++j) a += w->W2[i * HID + j] * hid[j];
        out[i] = a;
    }
}
/* accumulate dL/dweights into gw given dL/dout */
static void net_backward(const net *w, const double *in, const double *hid, const double *dout, net *gw)
{
    double dh[HID];
    int i, j;
    for (j = 0; j < HID; ++j) dh[j] = 0;
    for (i = 0; i < NOUT; ++i) {
        gw->b2[i] += dout[i];
        for (j = 0; j < HID; ++j) { gw->W2[i * HID + j] += dout[i] * hid[j]; dh[j] += dout[i] * w->W2[i * HID + j]; }
    }
    for (j = 0; j < HID; ++j) {
        double da = dh[j] * (1 - hid[j] * hid[j]);
        gw->b1[j] += da;
        for (i = 0; i < NIN; ++i) gw->W1[j * NIN + i] += da * in[i];
    }
}
static void adam(net *w, const net *g, net *m1, net *m2, int step, double lr)
{
    double *p = (double *)w, *m = (double *)m1, *v = (double *)m2;
    const double *gg = (const double *)g, c1 = 1 - pow(0.9, step), c2 = 1 - pow(0.999, step);
    int i;
    for (i = 0; i < NPAR; ++i) {
        m[i] = 0.9 * m[i] + 0.1 * gg[i];
        v[i] = 0.999 * v[i] + 0.001 * gg[i] * gg[i];
        p[i] -= lr * (m[i] / c1) / (sqrt(v[i] / c2) + 1e-8);
    }
}

/* ---- one policy evaluation (and its gradient) ----------------------------------------------------- */
typedef struct ctx {
    dopt_mpc_al_d *al;
    dopt_mpc_al_problem_d prob;
    task tk;
    const net *w;
    net *gw;                  /* NULL: no gradient                                  */
    const double *x0, *expert;
    double theta[NOUT], in[NIN], hid[HID], last[T * N];
    int calls;
    double loss;              /* sum over the iterates of the L1 state error / (T NX) */
} ctx;

/* L1 loss of tau against the expert and, with ctx->gw, its gradient through the MPC and the net. */
static void iterate_loss(ctx *c, const double *tau)
{
    double dtau[T * N], dcg[T * N], dth[NOUT];
    dopt_mpc_al_grad_d g;
    dopt_mpc_cseq_d xs, dt;
    int t, i;
    for (t = 0; t < T; ++t)
        for (i = 0; i < N; ++i) {
            double e = i < NX ? tau[t * N + i] - c->expert[t * N + i] : 0;
            c->loss += fabs(e) / (T * NX);
            dtau[t * N + i] = i < NX ? (e > 0 ? 1.0 : e < 0 ? -1.0 : 0.0) / (T * NX) : 0;
        }
    if (!c->gw) return;
    memset(&g, 0, sizeof g);
    g.cost_grad.p = dcg; g.cost_grad.ts = N;
    xs.p = c->x0; xs.ts = 0; xs.bs = NX;
    dt.p = dtau; dt.ts = N; dt.bs = 0;
    if (dopt_mpc_al_backward_d(c->al, &c->prob, xs, dt, &g, NULL, NULL) != DOPT_OK) return;
    for (t = 0; t < T; ++t)     /* grad l_t = 2 Q (x_t - theta_t): d/dtheta_t = -2 Q */
        for (i = 0; i < NX; ++i) dth[t * NX + i] = -2 * QW[i] * dcg[t * N + i];
    net_backward(c->w, c->in, c->hid, dth, c->gw);
}

/* The DEQ-MPC map z = tau -> MPC-m_{NN(x0, tau)}(x0, warm tau), for dopt_deq_solve (batch 1). */
static dopt_status deq_map(void *vc, int n, ptrdiff_t batch, const double *in, double *out, const unsigned char *active)
{
    ctx *c = (ctx *)vc;
    dopt_mpc_al_options_d o;
    dopt_mpc_cseq_d xs;
    dopt_mpc_seq_d ts;
    (void)batch; (void)active;
    features(c->x0, c->calls ? in : NULL, c->in);
    net_forward(c->w, c->in, c->hid, c->theta);
    memcpy(out, in, (size_t)n * sizeof *out);
    memset(&o, 0, sizeof o);
    o.max_outer = DEQ_M;
    o.fixed_iterations = 1;
    o.warm_start = c->calls ? DOPT_MPC_WARM_AS_IS : DOPT_MPC_WARM_NONE;
    o.keep_duals = c->calls > 0;           /* lambda, mu carried across DEQ iterations */
    xs.p = c->x0; xs.ts = 0; xs.bs = NX;
    ts.p = out; ts.ts = N; ts.bs = 0;
    dopt_mpc_al_solve_d(c->al, &c->prob, xs, &o, ts, NULL, NULL);
    c->calls++;
    memcpy(c->last, out, sizeof c->last);
    iterate_loss(c, out);
    return DOPT_OK;
}

static double run_deq(ctx *c, dopt_deq_solver_d *deq, double *tau)
{
    memset(tau, 0, T * N * sizeof *tau);
    c->calls = 0;
    c->loss = 0;
    dopt_deq_solve_d(deq, deq_map, c, tau, T * N, NULL, NULL, 0, NULL); /* N Picard steps */
    memcpy(tau, c->last, sizeof c->last);   /* the last iterate tau^N */
    return c->loss;
}

static double run_oneshot(ctx *c, double *tau)
{
    dopt_mpc_al_options_d o;
    dopt_mpc_cseq_d xs;
    dopt_mpc_seq_d ts;
    features(c->x0, NULL, c->in);
    net_forward(c->w, c->in, c->hid, c->theta);
    memset(&o, 0, sizeof o);
    xs.p = c->x0; xs.ts = 0; xs.bs = NX;
    ts.p = tau; ts.ts = N; ts.bs = 0;
    dopt_mpc_al_solve_d(c->al, &c->prob, xs, &o, ts, NULL, NULL);
    c->loss = 0;
    iterate_loss(c, tau);
    return c->loss;
}

int main(void)
{
    static double starts[(NTRAIN + NTEST) * NX], expert[(NTRAIN + NTEST) * T * N];
    static net w[2], gw, m1[2], m2[2];
    dopt_mpc_al_d *al;
    dopt_deq_solver_d *deq;
    dopt_deq_options dq;
    task ex;
    dopt_mpc_al_problem_d ep;
    ctx c;
    unsigned seed = 7;
    int i, k, e, variant, step[2] = {0, 0};
    double tau[T * N];

    dopt_mpc_al_create_d(NULL, NX, NU, T, 2, 0, 1, &al, NULL);
    memset(&dq, 0, sizeof dq);
    dq.method = DOPT_DEQ_PICARD;          /* theta^i = NN(tau^{i-1}), tau^i = MPC-m: plain alternation */
    dq.max_iters = DEQ_N;
    dq.abs_tol = dq.rel_tol = DOPT_OFF;   /* exactly N iterations, losses on each */
    dopt_deq_solver_create_d(NULL, T * N, 1, &dq, &deq, NULL);

    /* expert demonstrations: the full AL solve of the swing-to-top cost */
    memset(&ex, 0, sizeof ex);
    ex.pend.g = 10; ex.pend.l = 1; ex.pend.m = 1; ex.pend.damping = 0.1; ex.pend.dt = 0.1;
    make_problem(&ex, &ep);
    for (k = 0; k < NTRAIN + NTEST; ++k) {
        dopt_mpc_cseq_d xs;
        dopt_mpc_seq_d ts;
        starts[k * NX] = PI + 2.4 * (urand(&seed) - 0.5);
        starts[k * NX + 1] = 4 * (urand(&seed) - 0.5);
        xs.p = starts + k * NX; xs.ts = 0; xs.bs = NX;
        ts.p = expert + k * T * N; ts.ts = N; ts.bs = 0;
        dopt_mpc_al_solve_d(al, &ep, xs, NULL, ts, NULL, NULL);
    }
    /* the same random initial network for both policies */
    for (i = 0; i < NPAR; ++i) ((double *)&w[0])[i] = 0.2 * (urand(&seed) - 0.5);
    w[1] = w[0];
    memset(m1, 0, sizeof m1);
    memset(m2, 0, sizeof m2);
    memset(&c, 0, sizeof c);
    c.al = al;
    c.tk = ex;
    c.tk.theta = c.theta;
    make_problem(&c.tk, &c.prob);
    for (e = 0; e < EPOCHS; ++e) {
        double tl[2] = {0, 0};
        for (variant = 0; variant < 2; ++variant)
            for (k = 0; k < NTRAIN; k += 8) {      /* minibatches of 8 starts */
                int j;
                memset(&gw, 0, sizeof gw);
                c.w = &w[variant];
                c.gw = &gw;
                for (j = k; j < k + 8; ++j) {
                    c.x0 = starts + j * NX;
                    c.expert = expert + j * T * N;
                    tl[variant] += variant ? run_deq(&c, deq, tau) / DEQ_N : run_oneshot(&c, tau);
                }
                for (i = 0; i < NPAR; ++i) ((double *)&gw)[i] /= 8 * (variant ? DEQ_N : 1);
                adam(&w[variant], &gw, &m1[variant], &m2[variant], ++step[variant], 3e-3);
            }
        if (e % 10 == 9 || e == 0)
            printf("epoch %2d  training loss: one-shot %.4f   DEQ-MPC (mean over iterates) %.4f\n", e + 1,
                   tl[0] / NTRAIN, tl[1] / NTRAIN);
    }
    /* final tracking error on new starts: the last iterate of each policy */
    {
        double err[2] = {0, 0};
        c.gw = NULL;
        for (k = NTRAIN; k < NTRAIN + NTEST; ++k) {
            c.x0 = starts + k * NX;
            c.expert = expert + k * T * N;
            c.w = &w[0];
            err[0] += run_oneshot(&c, tau);
            c.w = &w[1];
            run_deq(&c, deq, tau);
            c.loss = 0;
            iterate_loss(&c, tau);
            err[1] += c.loss;
        }
        printf("test tracking error (mean |x - x_expert|, %d new starts): one-shot NN + MPC %.4f, DEQ-MPC %.4f\n",
               NTEST, err[0] / NTEST, err[1] / NTEST);
    }
    dopt_deq_solver_destroy_d(deq);
    dopt_mpc_al_destroy_d(al);
    return 0;
}
