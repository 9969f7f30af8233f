/* bench/theseus_dopt.c — dopt's side of `make bench-theseus`: the problem Theseus generated
 * (bench/theseus_pgo.py wrote it to theseus_<N>.txt), solved and differentiated with the same
 * settings, one thread:
 *   Welsch robust SE3 Between costs (sqrt-information diagonal), one learnable radius shared by
 *   all of them (Theseus' log-radius r: its Welsch rho = r (1 - exp(-s / r)) with radius e^r, i.e.
 *   dopt's scale a = exp(r / 2)), a prior on pose 0 (scalar weight), batch of 16, float64;
 *   Theseus' IMPLICIT mode runs max_iterations - 1 = 9 LM iterations (step 0.75, damping 1e-3 I,
 *   no step rejection) without gradients, then one full undamped Gauss-Newton step x10 = x9 ⊕ Δ
 *   with gradients, its Gauss-Newton matrix detached: dx10/dφ = -H(x9)⁻¹ ∂g(x9)/∂φ, which is
 *   dopt's IMPLICIT formula evaluated at x9.  dopt runs the same two phases: dopt_nlls_diff_solve
 *   for the 9 LM iterations (it records x9), dopt_nlls_solve for the final GN step, the outer loss
 *   at x10, then dopt_nlls_diff_backward(IMPLICIT) — Theseus' convention.  grad_final is dopt's
 *   IMPLICIT gradient at x10 itself (closer to the true implicit gradient when x9 is not yet
 *   converged; not timed).  dopt_sparse.h's supernodal Cholesky in place of CHOLMOD.
 * Outer loss: sum over batch and poses of |Log(gt⁻¹ x)|²; prints
 *   bench theseus pgo_<N> dopt_s=... theseus_s=... grad_dopt=... grad_theseus=... grad_rel=...
 *         loss_rel=... ratio=dopt_s/theseus_s
 * Usage: theseus_dopt FILE... */
#define _POSIX_C_SOURCE 199309L
#define DOPT_IMPLEMENTATION
#include "dopt.h"
#include "dopt_lie.h"
#include "dopt_sparse.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts); /* process CPU time: the machine may be shared */
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int read7(FILE *f, double *v)
{
    return fscanf(f, "%lf %lf %lf %lf %lf %lf %lf", v, v + 1, v + 2, v + 3, v + 4, v + 5, v + 6) == 7;
}

static int run(const char *path)
{
    FILE *f = fopen(path, "r");
    int N, B, E, b, k, e, v, pa, rep, reused;
    double log_r, th_loss, th_grad, th_s, w[6], prior_w, *init, *gt, *x, *xbar, radius, best = 1e30;
    double loss = 0, grad = 0, grad_final = 0, *x9, *xbar10;
    dopt_lie_between_data_d *meas;
    dopt_lie_prior_data_d *prior;
    int *ei, *ej;
    dopt_nlls_problem_d *prob;
    dopt_nlls_solver_d *solver;
    dopt_nlls_diff_d *D;
    dopt_linear_solver_d ls;
    dopt_manifold_d se3 = dopt_lie_manifold_se3_d();
    dopt_nlls_options_d lm, gn;
    dopt_nlls_diff_options_d bo;
    dopt_nlls_diff_report *brep;
    dopt_errinfo info;
    if (!f) { fprintf(stderr, "cannot open %s\n", path); return 1; }
    if (fscanf(f, "%d %d %d %lf %lf %lf %lf", &N, &B, &E, &log_r, &th_loss, &th_grad, &th_s) != 7) return 1;
    if (fscanf(f, "%lf %lf %lf %lf %lf %lf %lf", w, w + 1, w + 2, w + 3, w + 4, w + 5, &prior_w) != 7) return 1;
    init = (double *)malloc(sizeof(double) * 7 * (size_t)N * (size_t)B);
    gt = (double *)malloc(sizeof(double) * 7 * (size_t)N * (size_t)B);
    x = (double *)malloc(sizeof(double) * 7 * (size_t)N * (size_t)B);
    x9 = (double *)malloc(sizeof(double) * 7 * (size_t)N * (size_t)B);
    xbar10 = (double *)malloc(sizeof(double) * 6 * (size_t)N * (size_t)B);
    xbar = (double *)malloc(sizeof(double) * 6 * (size_t)N * (size_t)B);
    meas = (dopt_lie_between_data_d *)calloc((size_t)E * (size_t)B, sizeof *meas);
    prior = (dopt_lie_prior_data_d *)calloc((size_t)B, sizeof *prior);
    brep = (dopt_nlls_diff_report *)malloc(sizeof *brep * (size_t)B);
    ei = (int *)malloc(sizeof(int) * (size_t)E);
    ej = (int *)malloc(sizeof(int) * (size_t)E);
    for (b = 0; b < B; ++b) {
        for (k = 0; k < N; ++k) if (!read7(f, init + 7 * ((size_t)b * N + k))) return 1;
        for (k = 0; k < N; ++k) if (!read7(f, gt + 7 * ((size_t)b * N + k))) return 1;
        memcpy(prior[b].target, init + 7 * (size_t)b * N, 7 * sizeof(double));
    }
    for (e = 0; e < E; ++e) {
        if (fscanf(f, "%d %d", &ei[e], &ej[e]) != 2) return 1;
        for (b = 0; b < B; ++b) if (!read7(f, meas[(size_t)b * E + e].measurement)) return 1; /* [b][e] */
    }
    fclose(f);
    radius = exp(log_r / 2);

    dopt_nlls_problem_create_d(NULL, B, &prob);
    for (k = 0; k < N; ++k) dopt_nlls_add_variable_d(prob, &se3, &v);
    {
        dopt_nlls_cost_desc_d d;
        int v0 = 0;
        memset(&d, 0, sizeof d);
        d.fn = dopt_lie_cost_prior_se3_d;
        d.data = prior;
        d.data_stride = sizeof *prior;
        d.rdim = 6; d.nvars = 1; d.vars = &v0;
        d.weight_kind = DOPT_WEIGHT_SCALAR;
        d.weight = &prior_w;
        dopt_nlls_add_cost_d(prob, &d, NULL);
    }
    for (e = 0; e < E; ++e) {
        dopt_nlls_cost_desc_d d;
        int vars[2];
        vars[0] = ei[e]; vars[1] = ej[e];
        memset(&d, 0, sizeof d);
        d.fn = dopt_lie_cost_between_se3_d;
        d.data = &meas[e];
        d.data_stride = (size_t)E * sizeof *meas;
        d.rdim = 6; d.nvars = 2; d.vars = vars;
        d.weight_kind = DOPT_WEIGHT_DIAGONAL;
        d.weight = w;
        d.loss = DOPT_LOSS_WELSCH;
        d.loss_scale = radius;
        dopt_nlls_add_cost_d(prob, &d, NULL);
    }
    dopt_sparse_linear_solver_d(NULL, NULL, &ls);
    if (dopt_nlls_solver_create_d(prob, &ls, &solver, &info) != DOPT_OK) { fprintf(stderr, "%s\n", info.message); return 1; }
    /* one factor per batch element: the backward reuses each element's undamped factor of H(x9)
       from the GN step instead of factoring it again (checked bit for bit, see FACTOR REUSE) */
    if (dopt_nlls_solver_keep_factors_d(solver, 1) != DOPT_OK) { fprintf(stderr, "keep_factors failed\n"); return 1; }
    dopt_nlls_diff_create_d(solver, &D);
    dopt_nlls_diff_keep_trace_d(D, 0); /* IMPLICIT needs no trace */
    dopt_nlls_diff_learn_loss_scale_d(D, &radius, &pa);
    for (e = 0; e < E; ++e) dopt_nlls_diff_attach_d(D, 1 + e, pa, NULL);

    lm = dopt_nlls_default_options_d();
    lm.method = DOPT_NLLS_LM;
    lm.max_iterations = 9;
    lm.step_size = 0.75;
    lm.lm_damping = DOPT_LM_DAMP_IDENTITY;
    lm.initial_lambda = 1e-3;
    lm.lm_update = DOPT_LM_UPDATE_FACTOR;
    lm.lm_factor = 1 + 1e-12;          /* lambda stays 1e-3 */
    lm.min_relative_decrease = 1e-300; /* accept every step that does not raise the cost */
    lm.function_tolerance = -1;
    lm.gradient_tolerance = -1;
    lm.step_tolerance = -1;
    gn = lm;
    gn.method = DOPT_NLLS_GN;
    gn.max_iterations = 1;
    gn.step_size = 1;
    memset(&bo, 0, sizeof bo);
    bo.mode = DOPT_NLLS_DIFF_IMPLICIT;
    for (rep = 0; rep < 3; ++rep) {
        double t0 = now(), t;
        dopt_status st;
        memcpy(x, init, sizeof(double) * 7 * (size_t)N * (size_t)B);
        dopt_nlls_diff_solve_d(D, &lm, x, 0, NULL, NULL);
        memcpy(x9, x, sizeof(double) * 7 * (size_t)N * (size_t)B);
        dopt_nlls_solve_d(solver, &gn, x, 0, NULL, NULL, NULL);
        loss = 0;
        memset(xbar, 0, sizeof(double) * 6 * (size_t)N * (size_t)B);
        for (b = 0; b < B; ++b)
            for (k = 0; k < N; ++k) {
                dopt_lie_prior_data_d g;
                const double *vars[1];
                double r[6], J[36], *Jp[1], *xb = xbar + (size_t)b * 6 * N + dopt_nlls_diff_tangent_offset_d(D, k);
                int i, j;
                memcpy(g.target, gt + 7 * ((size_t)b * N + k), 7 * sizeof(double));
                vars[0] = x + 7 * ((size_t)b * N + k);
                Jp[0] = J;
                dopt_lie_cost_prior_se3_d(&g, vars, r, Jp);
                for (i = 0; i < 6; ++i) {
                    loss += r[i] * r[i];
                    for (j = 0; j < 6; ++j) xb[j] += 2 * r[i] * J[i * 6 + j];
                }
            }
        memcpy(xbar10, xbar, sizeof(double) * 6 * (size_t)N * (size_t)B);
        /* Theseus differentiates x10 = x9 ⊕ Δ: pull dL/dx10 back to dL/dΔ (tangent at x9).
           With x10 = x9 · Exp(Δ), x9 · Exp(Δ + ε) = x10 · Exp(Jr(Δ) ε + O(ε²)), so
           dL/dΔ = Jr(Δ)ᵀ dL/dx10 (Jr: SE3's right Jacobian, row-major) */
        for (b = 0; b < B; ++b)
            for (k = 0; k < N; ++k) {
                const double *a9 = x9 + 7 * ((size_t)b * N + k), *a10 = x + 7 * ((size_t)b * N + k);
                double dl[6], Jr[36], out[6], *xb = xbar + (size_t)b * 6 * N + dopt_nlls_diff_tangent_offset_d(D, k);
                int i, j;
                se3.local(&se3, a9, a10, dl);
                dopt_se3_jr_d(dl, Jr);
                for (j = 0; j < 6; ++j) {
                    double acc = 0;
                    for (i = 0; i < 6; ++i) acc += xb[i] * Jr[6 * i + j];
                    out[j] = acc;
                }
                memcpy(xb, out, sizeof out);
            }
        st = dopt_nlls_diff_backward_d(D, &bo, xbar, NULL, brep, &info);
        t = now() - t0;
        if (st != DOPT_OK) { fprintf(stderr, "backward: %s (%s)\n", dopt_status_string(st), info.message); return 1; }
        for (b = 0, reused = 0; b < B; ++b) reused += brep[b].factor_reused;
        if (reused != B) fprintf(stderr, "warning: the backward reused %d of %d GN factors\n", reused, B);
        grad = dopt_nlls_diff_param_grad_d(D, pa)[0] * radius / 2; /* dL/dr = dL/da da/dr */
        if (t < best) best = t;
    }
    { /* IMPLICIT at x10 itself (not timed): record x10 with a zero-iteration-free GN pass */
        dopt_nlls_options_d zero = gn;
        double *x10 = (double *)malloc(sizeof(double) * 7 * (size_t)N * (size_t)B);
        memcpy(x10, x, sizeof(double) * 7 * (size_t)N * (size_t)B);
        zero.max_iterations = 1;
        zero.gradient_tolerance = 1e300; /* stops at once: records x10 as the solution */
        dopt_nlls_diff_solve_d(D, &zero, x10, 0, NULL, NULL);
        dopt_nlls_diff_backward_d(D, &bo, xbar10, NULL, NULL, NULL);
        grad_final = dopt_nlls_diff_param_grad_d(D, pa)[0] * radius / 2;
        free(x10);
    }
    printf("bench theseus pgo_%d dopt_s=%.4f theseus_s=%.4f grad_dopt=%.9e grad_theseus=%.9e grad_rel=%.2e "
           "grad_final=%.9e loss_dopt=%.9e loss_theseus=%.9e loss_rel=%.2e batch=%d edges=%d ratio=%.4f\n",
           N, best, th_s, grad, th_grad, fabs(grad - th_grad) / fabs(th_grad), grad_final, loss, th_loss,
           fabs(loss - th_loss) / fabs(th_loss), B, E, best / th_s);
    fflush(stdout);
    dopt_nlls_diff_destroy_d(D);
    dopt_nlls_solver_destroy_d(solver);
    dopt_nlls_problem_destroy_d(prob);
    free(init); free(gt); free(x); free(x9); free(xbar10); free(xbar); free(meas); free(prior); free(brep); free(ei); free(ej);
    return 0;
}

int main(int argc, char **argv)
{
    int i, bad = 0;
    for (i = 1; i < argc; ++i) bad |= run(argv[i]);
    return bad;
}
