/* jiio.c — input optimization through a deep-equilibrium layer, by JIIO and by nested optimization.
 *
 *   cc -std=c99 -O2 -I.. jiio.c -o jiio -lm && ./jiio      (from examples/)
 *
 * An inverse problem: a DEQ layer z*(x) = tanh(W z* + U x + b) (n = 64, input p = 16) maps a latent
 * input x to an output; given observed outputs y (made from hidden inputs, plus noise) for a
 * batch of 8, recover the inputs:
 *       minimize_x  l(x) = 1/2 ||z*(x) - y||^2 + rho/2 ||x||^2
 *   nested   gradient descent on x, x+ = x - 0.25 grad l(x), accelerated by Anderson (the outer
 *            fixed point is solved by dopt_deq_solve too); every outer step solves the layer's
 *            fixed point and the adjoint (implicit backward): two inner solves per step;
 *   JIIO     one fixed point of the joint primal-dual map on (z, mu, x) (Gurumurthy's thesis
 *            sec. 3.3), accelerated by Anderson: inference and optimization at once.
 * Both reach the same optimum; the program prints the objective, the distance between the two
 * solutions, the time and the number of layer evaluations (f, or J^T products) of each. */
#define _POSIX_C_SOURCE 199309L
#define DOPT_IMPLEMENTATION
#include "dopt_deq.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define N 64
#define P 16
#define B 8
#define RHO 0.01
#define STEP 0.25 /* the gradient step on x of both methods */

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* the inner loss for JIIO: gz = z - y, gx = rho x */
static dopt_status loss_grad(const void *ctx, int n, int p, ptrdiff_t batch, const double *z, const double *x, double *gz,
                             double *gx)
{
    const double *y = (const double *)ctx;
    ptrdiff_t i;
    for (i = 0; i < (ptrdiff_t)n * batch; ++i) gz[i] = z[i] - y[i];
    for (i = 0; i < (ptrdiff_t)p * batch; ++i) gx[i] = RHO * x[i];
    return DOPT_OK;
}
typedef struct jctx { dopt_deq_tanh_d *layer; const double *y; } jctx;
static dopt_status jmap(void *c, int n, int p, ptrdiff_t batch, const double *z, const double *x, double *fz)
{
    return dopt_deq_tanh_jiio_map_d(((jctx *)c)->layer, n, p, batch, z, x, fz);
}
static dopt_status jvjp(void *c, int n, int p, ptrdiff_t batch, const double *z, const double *x, const double *fz,
                        const double *mu, double *jz, double *jx)
{
    return dopt_deq_tanh_jiio_vjp_d(((jctx *)c)->layer, n, p, batch, z, x, fz, mu, jz, jx);
}
static dopt_status jloss(void *c, int n, int p, ptrdiff_t batch, const double *z, const double *x, double *gz, double *gx)
{
    return loss_grad(((jctx *)c)->y, n, p, batch, z, x, gz, gx);
}

/* the nested outer map: x -> x - STEP grad l(x), grad by a forward solve and an implicit backward */
typedef struct nctx {
    dopt_deq_tanh_d *layer;
    dopt_deq_solver_d *inner;
    const double *W, *U, *bias, *y;
    double *z, *g;           /* the inner fixed point (warm start) and dl/dz */
    long evals;
} nctx;
static dopt_status nested_step(void *c, int p, ptrdiff_t batch, const double *x, double *out, const unsigned char *active)
{
    nctx *q = (nctx *)c;
    dopt_status st;
    ptrdiff_t i;
    (void)active;
    dopt_deq_tanh_set_d(q->layer, q->W, q->U, q->bias, x, p, NULL);
    st = dopt_deq_solve_d(q->inner, dopt_deq_tanh_map_d, q->layer, q->z, N, NULL, NULL, 0, NULL);
    q->evals += dopt_deq_solver_map_calls_d(q->inner);
    if (st != DOPT_OK) return st;
    loss_grad(q->y, N, p, batch, q->z, x, q->g, out);          /* out = rho x for now */
    st = dopt_deq_tanh_backward_d(q->layer, q->inner, NULL, q->z, N, q->g, N, NULL, NULL, NULL, out, p, NULL, NULL);
    q->evals += dopt_deq_solver_map_calls_d(q->inner) + 1;
    if (st != DOPT_OK) return st;
    for (i = 0; i < (ptrdiff_t)p * batch; ++i) out[i] = x[i] - STEP * out[i];
    return DOPT_OK;
}

static double objective(const double *z, const double *x, const double *y)
{
    double l = 0;
    int i;
    for (i = 0; i < N * B; ++i) l += 0.5 * (z[i] - y[i]) * (z[i] - y[i]);
    for (i = 0; i < P * B; ++i) l += 0.5 * RHO * x[i] * x[i];
    return l / B;
}

int main(void)
{
    static double W[N * N], U[N * P], bias[N], xtrue[P * B], y[N * B];
    static double xn[P * B], zn[N * B], g[N * B];
    static double xj[P * B], zj[N * B], mu[N * B];
    dopt_rng rng;
    dopt_deq_options o = {0};
    dopt_deq_jiio_options jo;
    dopt_deq_solver_d *s;
    dopt_deq_tanh_d *layer;
    dopt_deq_jiio_d *J;
    dopt_deq_jiio_problem_d prob;
    dopt_deq_report rep[B];
    jctx ctx;
    long nested_evals = 0;
    double t_nested, t_jiio, gnorm = 0, diff = 0, scale, nrm = 0;
    int i, steps = 0;

    /* a random contractive layer (||W||_F = 0.8 bounds the spectral norm) and the observations */
    dopt_rng_seed(&rng, 3, 0);
    for (i = 0; i < N * N; ++i) { W[i] = dopt_rng_normal_d(&rng); nrm += W[i] * W[i]; }
    scale = 0.8 / sqrt(nrm);
    for (i = 0; i < N * N; ++i) W[i] *= scale;
    for (i = 0; i < N * P; ++i) U[i] = dopt_rng_normal_d(&rng) / sqrt((double)P);
    for (i = 0; i < N; ++i) bias[i] = 0.1 * dopt_rng_normal_d(&rng);
    for (i = 0; i < P * B; ++i) xtrue[i] = dopt_rng_normal_d(&rng);
    o.rel_tol = 1e-12;
    o.max_iters = 300;
    dopt_deq_solver_create_d(NULL, N, B, &o, &s, NULL);
    dopt_deq_tanh_create_d(NULL, N, P, B, &layer, NULL);
    dopt_deq_tanh_set_d(layer, W, U, bias, xtrue, P, NULL);
    memset(y, 0, sizeof y);
    dopt_deq_solve_d(s, dopt_deq_tanh_map_d, layer, y, N, NULL, NULL, 0, NULL);
    for (i = 0; i < N * B; ++i) y[i] += 0.01 * dopt_rng_normal_d(&rng);

    /* nested: Anderson on the gradient-descent map of x, each evaluation two inner solves */
    {
        dopt_deq_options oo = {0};
        dopt_deq_solver_d *outer;
        nctx q;
        oo.memory = 10;
        oo.max_iters = 2000;
        oo.rel_tol = 1e-8;
        dopt_deq_solver_create_d(NULL, P, B, &oo, &outer, NULL);
        q.layer = layer; q.inner = s; q.W = W; q.U = U; q.bias = bias; q.y = y; q.z = zn; q.g = g; q.evals = 0;
        memset(xn, 0, sizeof xn);
        memset(zn, 0, sizeof zn);
        t_nested = now();
        if (dopt_deq_solve_d(outer, nested_step, &q, xn, P, rep, NULL, 0, NULL) != DOPT_OK) {
            for (i = 0; i < B; ++i) fprintf(stderr, "nested: element %d %s after %d, residual %g rel %g\n", i, dopt_status_string(rep[i].status), rep[i].iterations, rep[i].residual, rep[i].rel_residual);
            return 1;
        }
        t_nested = now() - t_nested;
        for (i = 0; i < B; ++i) steps = rep[i].iterations > steps ? rep[i].iterations : steps;
        nested_evals = q.evals;
        gnorm = rep[0].residual / STEP; /* the residual of x - STEP grad is STEP |grad| */
        /* the inner state at the optimum, for the objective */
        dopt_deq_tanh_set_d(layer, W, U, bias, xn, P, NULL);
        dopt_deq_solve_d(s, dopt_deq_tanh_map_d, layer, zn, N, NULL, NULL, 0, NULL);
        dopt_deq_solver_destroy_d(outer);
    }

    /* JIIO: the joint fixed point, Anderson with memory 10 */
    memset(&jo, 0, sizeof jo);
    jo.alpha_x = STEP;
    jo.solver.memory = 10;
    jo.solver.max_iters = 2000;
    jo.solver.rel_tol = 1e-10;
    dopt_deq_jiio_create_d(NULL, N, P, B, &jo, &J, NULL);
    ctx.layer = layer;
    ctx.y = y;
    prob.map = jmap; prob.vjp = jvjp; prob.loss_grad = jloss; prob.ctx = &ctx;
    memset(xj, 0, sizeof xj); memset(zj, 0, sizeof zj); memset(mu, 0, sizeof mu);
    t_jiio = now();
    if (dopt_deq_jiio_solve_d(J, &prob, zj, N, mu, N, xj, P, rep, NULL) != DOPT_OK) {
        fprintf(stderr, "JIIO did not converge (residual %g)\n", rep[0].residual);
        return 1;
    }
    t_jiio = now() - t_jiio;
    for (i = 0; i < P * B; ++i) diff = fmax(diff, fabs(xj[i] - xn[i]));

    printf("inverse problem: n = %d, input %d, batch %d, rho = %g\n", N, P, B, RHO);
    printf("nested  %5d outer iterations %7ld layer evaluations  %8.2f ms  objective %.10f  |grad l| %.1e\n", steps,
           nested_evals, 1e3 * t_nested, objective(zn, xn, y), gnorm);
    printf("JIIO    %5d joint iterations %7ld layer evaluations  %8.2f ms  objective %.10f\n", rep[0].iterations,
           3 * dopt_deq_jiio_evaluations_d(J), 1e3 * t_jiio, objective(zj, xj, y));
    printf("        (a JIIO iteration evaluates f, J_z^T mu and J_x^T mu: counted as 3 evaluations)\n");
    printf("max |x_JIIO - x_nested| = %.2e; speed-up %.1fx\n", diff, t_nested / t_jiio);
    dopt_deq_solver_destroy_d(s);
    dopt_deq_tanh_destroy_d(layer);
    dopt_deq_jiio_destroy_d(J);
    return diff < 1e-5 ? 0 : 1;
}
