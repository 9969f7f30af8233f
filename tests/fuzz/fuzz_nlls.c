/* fuzz_nlls.c — least-squares solve and backward on small random problems with hostile
 * callbacks (NaN residuals after k evaluations, error statuses, Inf Jacobians, huge values) and
 * hostile options (NaN / Inf / huge tolerances and steps, unknown enum values), dense or sparse
 * linear solver, batches of 1..2 (lockstep LM with the sparse one), every backward mode and policy.
 * Rule checked: an element whose report says OK has a finite state and cost, and claims
 * convergence on a step / cost test only after an accepted step; a backward OK means finite
 * gradients; nothing leaked, exact free sizes. */
#define DOPT_IMPLEMENTATION
#include "dopt.h"
#include "dopt_sparse.h"
#include "tests/fuzz/fuzz_common.h"

#define MAXC 4
#define MAXB 2

typedef struct cdata {
    double A[9], y[3];
    int rdim, nv, dims[2], kind, behave;
    long *calls, at;
} cdata;

/* r = A x - y (linear) or exp(A x) - y, over the cost's variables (their entries concatenated) */
static dopt_status cost_fn(const void *data, const double *const *x, double *r, double *const *J)
{
    const cdata *d = (const cdata *)data;
    double xs[6];
    int i, j, k = 0, v;
    long c = ++*d->calls;
    for (v = 0; v < d->nv; ++v)
        for (j = 0; j < d->dims[v]; ++j) xs[k++] = x[v][j];
    if (d->behave == 2 && c >= d->at) return DOPT_ERR_NON_FINITE;
    for (i = 0; i < d->rdim; ++i) {
        double s = 0;
        for (j = 0; j < k && j < 3; ++j) s += d->A[i * 3 + j] * xs[j];
        r[i] = (d->kind ? exp(s > 50 ? 50 : s) : s) - d->y[i];
        if (d->behave == 1 && c >= d->at) r[i] = NAN;
        if (d->behave == 4) r[i] *= 1e300;
    }
    if (J) {
        k = 0;
        for (v = 0; v < d->nv; ++v) {
            for (j = 0; j < d->dims[v]; ++j, ++k)
                if (J[v])
                    for (i = 0; i < d->rdim; ++i) {
                        double s = 0, g;
                        int q;
                        for (q = 0; q < k + 1 && q < 3; ++q) s += d->A[i * 3 + q] * xs[q];
                        g = k < 3 ? d->A[i * 3 + k] : 0;
                        if (d->kind) g *= exp(s > 50 ? 50 : s);
                        if (d->behave == 3 && c >= d->at) g = INFINITY;
                        J[v][i * d->dims[v] + j] = g;
                    }
        }
    }
    return DOPT_OK;
}

static dopt_status vjp_fn(const void *data, const double *const *x, const double *rbar, int slot, double *pbar)
{
    const cdata *d = (const cdata *)data;
    int i;
    (void)x; (void)slot;
    for (i = 0; i < d->rdim; ++i) pbar[i] -= d->behave == 5 ? NAN : rbar[i];
    return DOPT_OK;
}

static int claims_convergence(dopt_nlls_stop s)
{
    return s == DOPT_STOP_STEP || s == DOPT_STOP_FUNCTION_TOLERANCE || s == DOPT_STOP_COST_CHANGE;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    fz_in in = {data, size, 0};
    static cdata cd[MAXB][MAXC];
    long calls = 0;
    int B = 1 + (int)(fz_u8(&in) % MAXB), nvar = 1 + (int)(fz_u8(&in) % 2), nc = 1 + (int)(fz_u8(&in) % MAXC);
    int dims[2], vid[2], c, b, k, sparse = (int)(fz_u8(&in) & 1), param = -1;
    double x[MAXB * 6], xbar[MAXB * 6], x0bar[MAXB * 6], wt[MAXC][9];
    dopt_hooks h = fz_hooks(0);
    dopt_nlls_problem_d *p = NULL;
    dopt_nlls_solver_d *s = NULL;
    dopt_nlls_diff_d *D = NULL;
    dopt_nlls_options_d o;
    dopt_nlls_diff_options_d bo;
    dopt_nlls_report rep[MAXB];
    dopt_nlls_diff_report brep[MAXB];
    dopt_errinfo info;
    dopt_status st;
    memset(cd, 0, sizeof cd);
    if (dopt_nlls_problem_create_d(&h, B, &p) != DOPT_OK) goto out;
    for (k = 0; k < nvar; ++k) {
        dopt_manifold_d m;
        dims[k] = 1 + (int)(fz_u8(&in) % 3);
        m = dopt_manifold_euclidean_d(dims[k]);
        if (dopt_nlls_add_variable_d(p, &m, &vid[k]) != DOPT_OK) goto out;
    }
    for (c = 0; c < nc; ++c) {
        dopt_nlls_cost_desc_d d;
        int vars[2], nv = nvar == 2 ? 1 + (int)(fz_u8(&in) % 2) : 1, first = (int)(fz_u8(&in) % (unsigned)nvar);
        unsigned beh = fz_u8(&in);
        vars[0] = first;
        vars[1] = 1 - first;
        for (b = 0; b < B; ++b) {
            cdata *e = &cd[b][c];
            e->rdim = 1 + (int)(fz_u8(&in) % 3);
            e->nv = nv;
            e->dims[0] = dims[vars[0]];
            e->dims[1] = nv > 1 ? dims[vars[1]] : 0;
            e->kind = (int)(beh >> 4) & 1;
            e->behave = (int)(beh % 8) < 6 ? (int)(beh % 8) : 0;
            e->at = 1 + (long)fz_u8(&in);
            e->calls = &calls;
            for (k = 0; k < 9; ++k) e->A[k] = fz_mild(&in) / 4;
            for (k = 0; k < 3; ++k) e->y[k] = (beh & 0x80) ? fz_real(&in) : fz_mild(&in);
            if (b > 0) e->rdim = cd[0][c].rdim;
        }
        for (k = 0; k < 9; ++k) wt[c][k] = (beh & 0x40) ? fz_real(&in) : 1 + fz_mild(&in) / 16;
        memset(&d, 0, sizeof d);
        d.fn = cost_fn;
        d.data = &cd[0][c];
        d.data_stride = sizeof cd[0];
        d.rdim = cd[0][c].rdim;
        d.nvars = nv;
        d.vars = vars;
        d.weight_kind = (dopt_weight_kind)(fz_u8(&in) % 5);
        d.weight = wt[c];
        d.loss = (dopt_loss_kind)(fz_u8(&in) % 8);
        d.loss_scale = (beh & 0x20) ? fz_real(&in) : 1;
        d.numeric_diff = (int)(fz_u8(&in) % 4 == 0);
        st = dopt_nlls_add_cost_d(p, &d, NULL);
        if (d.weight_kind > DOPT_WEIGHT_SQRT_INFO || d.loss > DOPT_LOSS_SOFT_L1)
            FZ_ASSERT(st == DOPT_ERR_INVALID_ARGUMENT, "unknown weight kind or loss accepted");
    }
    if (dopt_nlls_num_costs_d(p) == 0) goto out;
    {
        dopt_linear_solver_d ls;
        if (sparse && dopt_sparse_linear_solver_d(&h, NULL, &ls) != DOPT_OK) goto out;
        if (dopt_nlls_solver_create_d(p, sparse ? &ls : NULL, &s, &info) != DOPT_OK) goto out;
    }
    if (dopt_nlls_diff_create_d(s, &D) != DOPT_OK) goto out;
    if (dopt_nlls_diff_add_param_d(D, DOPT_PARAM_DATA, cd[0][0].y, 3, (ptrdiff_t)(sizeof cd[0] / (sizeof(double))), &param) != DOPT_OK)
        goto out;
    dopt_nlls_diff_attach_d(D, 0, param, (fz_u8(&in) & 1) ? vjp_fn : NULL);
    dopt_nlls_diff_keep_trace_d(D, (int)(fz_u8(&in) % 5) - 1);
    memset(&o, 0, sizeof o);
    {
        unsigned f = fz_u8(&in);
        o.method = (dopt_nlls_method)(fz_u8(&in) % 4);
        o.max_iterations = (int)(fz_u8(&in) % 30);
        if (f & 1) o.function_tolerance = fz_real(&in);
        if (f & 2) o.step_tolerance = fz_real(&in);
        if (f & 4) o.gradient_tolerance = fz_real(&in);
        if (f & 8) o.initial_lambda = fz_real(&in);
        if (f & 16) o.min_relative_decrease = fz_real(&in);
        if (f & 32) o.step_size = fz_real(&in);
        if (f & 64) o.initial_radius = fz_real(&in);
        o.line_search = (int)(f >> 7);
        o.robust_mode = (dopt_robust_mode)(fz_u8(&in) % 3);
        o.sequential_batch = (int)(fz_u8(&in) & 1);
    }
    for (k = 0; k < B * 6; ++k) x[k] = fz_mild(&in) / 8;
    st = dopt_nlls_diff_solve_d(D, &o, x, 6, rep, &info);
    if (st == DOPT_ERR_INVALID_ARGUMENT) goto out;
    for (b = 0; b < B; ++b) {
        if (st == DOPT_OK) FZ_ASSERT(rep[b].status == DOPT_OK, "solve OK with a failed element");
        if (rep[b].status != DOPT_OK) continue;
        FZ_ASSERT(dopt_all_finite_d(dopt_nlls_state_size_d(p), x + b * 6), "OK element with a non-finite state");
        FZ_ASSERT(rep[b].final_cost == rep[b].final_cost && fabs(rep[b].final_cost) <= DBL_MAX, "OK element with a non-finite cost");
        if (claims_convergence(rep[b].stop)) FZ_ASSERT(rep[b].accepted > 0, "convergence claimed without an accepted step");
    }
    memset(&bo, 0, sizeof bo);
    bo.mode = (dopt_nlls_diff_mode)(fz_u8(&in) % 5);
    bo.policy = (dopt_nlls_diff_policy)(fz_u8(&in) % 4);
    bo.truncate = (int)(fz_u8(&in) % 6);
    if (fz_u8(&in) & 1) bo.fd_step = fz_real(&in);
    bo.implicit_exact = (int)(fz_u8(&in) & 1);
    for (k = 0; k < B * 6; ++k) xbar[k] = (k % 7 == 3 && (fz_u8(&in) & 1)) ? fz_real(&in) : fz_mild(&in);
    st = dopt_nlls_diff_backward_d(D, &bo, xbar, x0bar, brep, &info);
    if (st == DOPT_OK) {
        const double *g = dopt_nlls_diff_param_grad_d(D, param);
        FZ_ASSERT(g && dopt_all_finite_d(3 * B, g), "backward OK with a non-finite gradient");
        FZ_ASSERT(dopt_all_finite_d(B * dopt_nlls_diff_tangent_size_d(D), x0bar), "backward OK with a non-finite x0bar");
    }
out:
    dopt_nlls_diff_destroy_d(D);
    dopt_nlls_solver_destroy_d(s);
    dopt_nlls_problem_destroy_d(p);
    FZ_ASSERT(fa_clean(&fz_fa), "leak or wrong free size");
    return 0;
}
