/* test_reliability.c — no DOPT_OK on a wrong answer (issue 24): one regression test per defect
 * found by probing, each failing on the code before its fix, plus allocation-failure injection
 * through the least-squares create / solve / backward and the readers (every allocation k fails
 * in turn: the allocation status, no leak, the exact size told to free, user data intact).
 *   exp fit whose residuals turn NaN after the first linearization: LM must not claim convergence
 *   NaN options and unknown enum values: DOPT_ERR_INVALID_ARGUMENT
 *   UNROLL / TRUNCATED without the trace they need: DOPT_ERR_INVALID_ARGUMENT
 *   a VJP that writes NaN, fd_step = 1e10: never OK with a non-finite gradient
 *   solver create failing right after the linear solver: nothing leaks
 *   add_param's third allocation failing: destroy frees grad with its true size
 * The g2o and Matrix Market defects are in test_lie.c / test_sparse.c and here (injection). */
#if !defined(DOPT__DRIVE)
#define DOPT_IMPLEMENTATION
#include "dopt.h"
#include "dopt_sparse.h"
#include "dopt_lie.h"
#include "dopt_test.h"
#include "tests/fail_alloc.h"

static fail_alloc rel_fa; /* 64 KB of block table: static, not on the stack */

#define TEST_REL_PASS
#define DOPT__DRIVE "tests/test_reliability.c"
#include "dopt.h"
#undef DOPT__DRIVE
#undef TEST_REL_PASS

/* the readers and the generator with every allocation failing in turn: ALLOCATION, the result
 * left zeroed, nothing leaked, exact sizes */
static void test_inject_readers(void)
{
    char path[512];
    long k, total = 0;
    int which;
    dopt_hooks h = fa_hooks(&rel_fa);
    for (which = 0; which < 4; ++which) {
        for (k = 0;; ++k) {
            dopt_status st;
            int zeroed;
            fa_reset(&rel_fa, k);
            if (which <= 1) {
                dopt_lie_pose_graph_d g;
                if (k == 0 && !dopt_test_write_text(strcpy(path, dopt_test_temp_path("rel.g2o")),
                                         which == 0 ? "VERTEX_SE2 0 0 0 0\nVERTEX_SE2 1 1 0 0\nEDGE_SE2 0 1 1 0 0 1 0 0 1 0 1\n"
                                                      "EDGE_SE2 1 2 1 0 0.1 1 0 0 1 0 1\n"
                                                    : "EDGE_SE3:QUAT 0 1 1 0 0 0 0 0 1 1 0 0 0 0 0 1 0 0 0 0 1 0 0 0 1 0 0 1 0 1\n"))
                    DOPT_SKIP("cannot write a temp file");
                st = dopt_lie_g2o_read_d(path, &h, &g, NULL);
                zeroed = g.poses == NULL && g.edges == NULL && g.num_poses == 0;
                if (st == DOPT_OK) {
                    DOPT_CHECK(g.num_poses == 3 - which && g.num_edges == 2 - which, "g2o %d: counts", which);
                    dopt_lie_pose_graph_destroy_d(&g);
                }
            } else if (which == 2) {
                dopt_sparse_csc_d A;
                if (k == 0 && !dopt_test_write_text(strcpy(path, dopt_test_temp_path("rel.mtx")),
                                         "%%MatrixMarket matrix coordinate real symmetric\n3 3 4\n1 1 4\n2 1 1\n3 3 2\n3 2 1\n"))
                    DOPT_SKIP("cannot write a temp file");
                st = dopt_sparse_read_mm_d(&h, path, &A, NULL);
                zeroed = A.p == NULL && A.i == NULL && A.x == NULL;
                if (st == DOPT_OK) {
                    DOPT_CHECK(A.p[3] == 4, "mm: entries");
                    dopt_sparse_csc_destroy_d(&A);
                }
            } else {
                dopt_lie_pose_graph_d g;
                dopt_lie_cube_options o;
                dopt_rng rng;
                memset(&o, 0, sizeof o);
                o.num_poses = 12;
                o.loop_closure_ratio = 0.5;
                o.outlier_ratio = 0.2;
                dopt_rng_seed(&rng, 3, 0);
                st = dopt_lie_cube_graph_d(&o, &rng, &h, &g);
                zeroed = g.poses == NULL && g.edges == NULL && g.inlier == NULL && g.gt_poses == NULL;
                if (st == DOPT_OK) dopt_lie_pose_graph_destroy_d(&g);
            }
            if (k == 0) {
                total = rel_fa.calls;
                DOPT_CHECK(st == DOPT_OK && total > 0, "reader %d: clean run %s, %ld allocations", which,
                           dopt_status_string(st), total);
            } else {
                DOPT_CHECK(st == DOPT_ERR_ALLOCATION && zeroed, "reader %d: fail at %ld of %ld: %s%s", which, k, total,
                           dopt_status_string(st), zeroed ? "" : ", result not zeroed");
            }
            DOPT_CHECK(fa_clean(&rel_fa), "reader %d fail at %ld: %ld live, %ld bad sizes, %ld bad ptrs", which, k,
                       rel_fa.live, rel_fa.bad_size, rel_fa.bad_ptr);
            if (k >= total) break;
        }
        remove(path);
    }
}

static void suite(void)
{
    DOPT_TEST_RUN(test_lm_no_accepted_step_f);
    DOPT_TEST_RUN(test_lm_no_accepted_step_d);
    DOPT_TEST_RUN(test_bad_options_f);
    DOPT_TEST_RUN(test_bad_options_d);
    DOPT_TEST_RUN(test_trace_required_f);
    DOPT_TEST_RUN(test_trace_required_d);
    DOPT_TEST_RUN(test_nonfinite_gradient_f);
    DOPT_TEST_RUN(test_nonfinite_gradient_d);
    DOPT_TEST_RUN(test_create_leak_sparse_d);
    DOPT_TEST_RUN(test_add_param_free_size_d);
    DOPT_TEST_RUN(test_inject_readers);
    DOPT_TEST_RUN(test_inject_nlls_f);
    DOPT_TEST_RUN(test_inject_nlls_d);
}
DOPT_TEST_MAIN(suite)

#elif defined(TEST_REL_PASS) && defined(DOPT_REAL)

#define REL_NP 20

/* r_i = exp(m t_i + c) - y_i; after `ok_calls` evaluations every residual is NaN (nan_after > 0) */
typedef struct DOPT_FN(rel_exp) {
    DOPT_REAL t, y;
    long *calls, nan_after;
    int vjp_nan;
} DOPT_FN(rel_exp);

static dopt_status DOPT_FN(rel_exp_fn)(const void *data, const DOPT_REAL *const *x, DOPT_REAL *r,
                                       DOPT_REAL *const *J)
{
    const DOPT_FN(rel_exp) *d = (const DOPT_FN(rel_exp) *)data;
    DOPT_REAL e = DOPT_M(exp)(x[0][0] * d->t + x[0][1]);
    long k = ++*d->calls;
    r[0] = e - d->y;
    if (d->nan_after > 0 && k > d->nan_after) r[0] = (DOPT_REAL)NAN;
    if (J && J[0]) { J[0][0] = e * d->t; J[0][1] = e; }
    return DOPT_OK;
}

static dopt_status DOPT_FN(rel_exp_vjp)(const void *data, const DOPT_REAL *const *x, const DOPT_REAL *rbar,
                                        int slot, DOPT_REAL *pbar)
{
    const DOPT_FN(rel_exp) *d = (const DOPT_FN(rel_exp) *)data;
    (void)x; (void)slot;
    pbar[0] -= d->vjp_nan ? (DOPT_REAL)NAN : rbar[0];
    return DOPT_OK;
}

typedef struct DOPT_FN(rel_fit) {
    DOPT_FN(rel_exp) data[REL_NP];
    long calls;
    DOPT_REAL x[2];
    dopt_nlls_problem_d *unused;
    DOPT_FN(dopt_nlls_problem) *p;
    DOPT_FN(dopt_nlls_solver) *s;
    DOPT_FN(dopt_nlls_diff) *D;
    int param;
} DOPT_FN(rel_fit);

/* the 20-point fit of exp(0.3 t + 0.1), start (0, 0); one learnable datum (y of point 0) */
static dopt_status DOPT_FN(rel_fit_build)(DOPT_FN(rel_fit) *F, const dopt_hooks *hooks, int sparse,
                                          int with_diff)
{
    DOPT_FN(dopt_linear_solver) ls;
    dopt_status st;
    DOPT_FN(dopt_manifold) m = DOPT_FN(dopt_manifold_euclidean)(2);
    int v, c;
    memset(F, 0, sizeof *F);
    for (c = 0; c < REL_NP; ++c) {
        F->data[c].t = (DOPT_REAL)(c * 0.1);
        F->data[c].y = DOPT_M(exp)((DOPT_REAL)(0.3 * c * 0.1 + 0.1)) + (DOPT_REAL)(0.01 * ((c % 3) - 1));
        F->data[c].calls = &F->calls;
    }
    st = DOPT_FN(dopt_nlls_problem_create)(hooks, 1, &F->p);
    if (st != DOPT_OK) return st;
    st = DOPT_FN(dopt_nlls_add_variable)(F->p, &m, &v);
    for (c = 0; c < REL_NP && st == DOPT_OK; ++c) {
        DOPT_FN(dopt_nlls_cost_desc) d;
        memset(&d, 0, sizeof d);
        d.fn = DOPT_FN(rel_exp_fn);
        d.data = &F->data[c];
        d.rdim = 1;
        d.nvars = 1;
        d.vars = &v;
        st = DOPT_FN(dopt_nlls_add_cost)(F->p, &d, NULL);
    }
    if (st == DOPT_OK && sparse) st = DOPT_FN(dopt_sparse_linear_solver)(hooks, NULL, &ls);
    if (st == DOPT_OK) st = DOPT_FN(dopt_nlls_solver_create)(F->p, sparse ? &ls : NULL, &F->s, NULL);
    if (st == DOPT_OK && with_diff) st = DOPT_FN(dopt_nlls_diff_create)(F->s, &F->D);
    if (st == DOPT_OK && with_diff)
        st = DOPT_FN(dopt_nlls_diff_add_param)(F->D, DOPT_PARAM_DATA, &F->data[0].y, 1, 0, &F->param);
    if (st == DOPT_OK && with_diff) st = DOPT_FN(dopt_nlls_diff_attach)(F->D, 0, F->param, DOPT_FN(rel_exp_vjp));
    return st;
}

static void DOPT_FN(rel_fit_free)(DOPT_FN(rel_fit) *F)
{
    DOPT_FN(dopt_nlls_diff_destroy)(F->D);
    DOPT_FN(dopt_nlls_solver_destroy)(F->s);
    DOPT_FN(dopt_nlls_problem_destroy)(F->p);
    F->D = NULL; F->s = NULL; F->p = NULL;
}

static int DOPT_FN(rel_claims_convergence)(const dopt_nlls_report *r)
{
    return r->stop == DOPT_STOP_STEP || r->stop == DOPT_STOP_FUNCTION_TOLERANCE ||
           r->stop == DOPT_STOP_GRADIENT || r->stop == DOPT_STOP_COST_CHANGE;
}

/* defect 3: residuals NaN after the first linearization (every trial rejected): LM shrank its
 * step below the step tolerance and reported STOP_STEP with OK, 0 accepted; the backward then
 * treated the element as converged.  Also step_size = 1e300 (every trial point overflows). */
static void DOPT_FN(test_lm_no_accepted_step)(void)
{
    DOPT_FN(rel_fit) F;
    DOPT_FN(dopt_nlls_options) o;
    DOPT_FN(dopt_nlls_diff_options) bo;
    dopt_nlls_report rep;
    dopt_nlls_diff_report brep;
    DOPT_REAL xbar[2] = {1, 0};
    int c, method;
    dopt_status st;
    for (method = 0; method < 2; ++method) {
        DOPT_CHECK(DOPT_FN(rel_fit_build)(&F, NULL, 0, 1) == DOPT_OK, "build");
        for (c = 0; c < REL_NP; ++c) F.data[c].nan_after = REL_NP;
        memset(&o, 0, sizeof o);
        o.method = method ? DOPT_NLLS_DOGLEG : DOPT_NLLS_LM;
        st = DOPT_FN(dopt_nlls_diff_solve)(F.D, &o, F.x, 0, &rep, NULL);
        DOPT_CHECK(rep.accepted == 0, "no step can be accepted (%d)", rep.accepted);
        DOPT_CHECK(st != DOPT_OK || !DOPT_FN(rel_claims_convergence)(&rep),
                   "method %d: status OK, stop %s with no accepted step", method, dopt_nlls_stop_string(rep.stop));
        memset(&bo, 0, sizeof bo);
        bo.policy = DOPT_NLLS_DIFF_FAIL;
        st = DOPT_FN(dopt_nlls_diff_backward)(F.D, &bo, xbar, NULL, &brep, NULL);
        DOPT_CHECK(st != DOPT_OK && !brep.converged, "IMPLICIT/FAIL on an unmoved start: %s", dopt_status_string(st));
        bo.mode = DOPT_NLLS_DIFF_DLM;
        st = DOPT_FN(dopt_nlls_diff_backward)(F.D, &bo, xbar, NULL, &brep, NULL);
        DOPT_CHECK(st != DOPT_OK && !brep.converged, "DLM/FAIL on an unmoved start: %s", dopt_status_string(st));
        DOPT_FN(rel_fit_free)(&F);
    }
    /* step_size 1e300: every trial point overflows */
    DOPT_CHECK(DOPT_FN(rel_fit_build)(&F, NULL, 0, 0) == DOPT_OK, "build");
    memset(&o, 0, sizeof o);
    o.step_size = (DOPT_REAL)(DOPT_IS_FLOAT ? 1e30 : 1e300);
    st = DOPT_FN(dopt_nlls_solve)(F.s, &o, F.x, 0, &rep, NULL, NULL);
    DOPT_CHECK(st != DOPT_OK || rep.accepted > 0 || !DOPT_FN(rel_claims_convergence)(&rep),
               "step_size huge: OK, stop %s, %d accepted", dopt_nlls_stop_string(rep.stop), rep.accepted);
    /* a healthy solve still converges */
    F.x[0] = F.x[1] = 0;
    st = DOPT_FN(dopt_nlls_solve)(F.s, NULL, F.x, 0, &rep, NULL, NULL);
    DOPT_CHECK(st == DOPT_OK && DOPT_FN(rel_claims_convergence)(&rep) && rep.accepted > 0, "healthy fit: %s %s",
               dopt_status_string(st), dopt_nlls_stop_string(rep.stop));
    DOPT_CHECK_CLOSE(F.x[0], 0.3, DOPT_TEST_TOL(0.05, 0.05), "slope");
    DOPT_FN(rel_fit_free)(&F);
}

/* minor: NaN options were taken (min_relative_decrease = NaN never accepts; NaN initial_lambda was
 * blamed on a cost) and unknown enum values were accepted silently */
static void DOPT_FN(test_bad_options)(void)
{
    DOPT_FN(rel_fit) F;
    DOPT_FN(dopt_nlls_options) o;
    DOPT_FN(dopt_nlls_diff_options) bo;
    DOPT_FN(dopt_nlls_cost_desc) d;
    dopt_nlls_report rep;
    DOPT_REAL xbar[2] = {1, 0}, w = 1;
    int v = 0, k, idx;
    dopt_errinfo info;
    DOPT_CHECK(DOPT_FN(rel_fit_build)(&F, NULL, 0, 1) == DOPT_OK, "build");
    for (k = 0; k < 8; ++k) {
        memset(&o, 0, sizeof o);
        switch (k) {
        case 0: o.min_relative_decrease = (DOPT_REAL)NAN; break;
        case 1: o.initial_lambda = (DOPT_REAL)NAN; break;
        case 2: o.step_size = (DOPT_REAL)NAN; break;
        case 3: o.method = (dopt_nlls_method)7; break;
        case 4: o.lm_damping = (dopt_lm_damping)5; break;
        case 5: o.lm_update = (dopt_lm_update)3; break;
        case 6: o.robust_mode = (dopt_robust_mode)9; break;
        default: o.function_tolerance = (DOPT_REAL)INFINITY; break;
        }
        F.x[0] = F.x[1] = 0;
        DOPT_CHECK(DOPT_FN(dopt_nlls_solve)(F.s, &o, F.x, 0, &rep, NULL, &info) == DOPT_ERR_INVALID_ARGUMENT,
                   "bad option %d accepted", k);
        DOPT_CHECK(DOPT_FN(dopt_nlls_diff_solve)(F.D, &o, F.x, 0, &rep, NULL) == DOPT_ERR_INVALID_ARGUMENT,
                   "bad option %d accepted by diff_solve", k);
        DOPT_CHECK(F.x[0] == 0 && F.x[1] == 0, "x touched by a rejected call");
    }
    DOPT_CHECK(DOPT_FN(dopt_nlls_diff_solve)(F.D, NULL, F.x, 0, &rep, NULL) == DOPT_OK, "solve");
    memset(&bo, 0, sizeof bo);
    bo.mode = (dopt_nlls_diff_mode)9;
    DOPT_CHECK(DOPT_FN(dopt_nlls_diff_backward)(F.D, &bo, xbar, NULL, NULL, NULL) == DOPT_ERR_INVALID_ARGUMENT,
               "backward mode 9 accepted");
    bo.mode = DOPT_NLLS_DIFF_IMPLICIT;
    bo.policy = (dopt_nlls_diff_policy)9;
    DOPT_CHECK(DOPT_FN(dopt_nlls_diff_backward)(F.D, &bo, xbar, NULL, NULL, NULL) == DOPT_ERR_INVALID_ARGUMENT,
               "policy 9 accepted");
    DOPT_CHECK(DOPT_FN(dopt_nlls_diff_add_param)(F.D, (dopt_param_kind)7, xbar, 1, 0, &idx) == DOPT_ERR_INVALID_ARGUMENT,
               "param kind 7 accepted");
    memset(&d, 0, sizeof d);
    d.fn = DOPT_FN(rel_exp_fn);
    d.data = &F.data[0];
    d.rdim = 1;
    d.nvars = 1;
    d.vars = &v;
    d.loss = (dopt_loss_kind)99;
    DOPT_CHECK(DOPT_FN(dopt_nlls_add_cost)(F.p, &d, NULL) == DOPT_ERR_INVALID_ARGUMENT, "loss 99 accepted");
    d.loss = DOPT_LOSS_NONE;
    d.weight_kind = (dopt_weight_kind)17;
    d.weight = &w;
    DOPT_CHECK(DOPT_FN(dopt_nlls_add_cost)(F.p, &d, NULL) == DOPT_ERR_INVALID_ARGUMENT, "weight kind 17 accepted");
    DOPT_FN(rel_fit_free)(&F);
}

/* defect 4: after keep_trace(0) UNROLL and TRUNCATED returned OK with zero gradients and
 * steps = 0; with a trace of 1, TRUNCATED K = 5 silently used the one kept step (here K = 3: the
 * fit takes 5 iterations) */
static void DOPT_FN(test_trace_required)(void)
{
    DOPT_FN(rel_fit) F;
    DOPT_FN(dopt_nlls_diff_options) bo;
    dopt_nlls_report rep;
    dopt_nlls_diff_report brep;
    DOPT_REAL xbar[2] = {1, 0.5};
    dopt_status st;
    int keep;
    for (keep = 0; keep <= 3; ++keep) {
        DOPT_CHECK(DOPT_FN(rel_fit_build)(&F, NULL, 0, 1) == DOPT_OK, "build");
        DOPT_CHECK(DOPT_FN(dopt_nlls_diff_keep_trace)(F.D, keep) == DOPT_OK, "keep_trace");
        DOPT_CHECK(DOPT_FN(dopt_nlls_diff_solve)(F.D, NULL, F.x, 0, &rep, NULL) == DOPT_OK, "solve");
        DOPT_CHECK(rep.iterations > 3, "the fit takes more than 3 iterations (%d)", rep.iterations);
        memset(&bo, 0, sizeof bo);
        bo.mode = DOPT_NLLS_DIFF_UNROLL;
        st = DOPT_FN(dopt_nlls_diff_backward)(F.D, &bo, xbar, NULL, &brep, NULL);
        DOPT_CHECK(st == DOPT_ERR_INVALID_ARGUMENT, "UNROLL with keep_trace(%d): %s, %d steps", keep,
                   dopt_status_string(st), brep.steps);
        bo.mode = DOPT_NLLS_DIFF_TRUNCATED;
        bo.truncate = 3;
        st = DOPT_FN(dopt_nlls_diff_backward)(F.D, &bo, xbar, NULL, &brep, NULL);
        if (keep < 3) {
            DOPT_CHECK(st == DOPT_ERR_INVALID_ARGUMENT, "TRUNCATED K=3 with keep_trace(%d): %s, %d steps", keep,
                       dopt_status_string(st), brep.steps);
        } else {
            const DOPT_REAL *g = DOPT_FN(dopt_nlls_diff_param_grad)(F.D, F.param);
            DOPT_CHECK(st == DOPT_OK && brep.steps == 3, "TRUNCATED K=3 with keep_trace(3): %s, %d steps",
                       dopt_status_string(st), brep.steps);
            DOPT_CHECK(g && g[0] != 0 && g[0] == g[0], "TRUNCATED gradient %g", g ? (double)g[0] : 0.0);
        }
        DOPT_FN(rel_fit_free)(&F);
    }
}

/* defect 5: a VJP that writes NaN gave NaN gradients with OK (IMPLICIT, exact IMPLICIT, DLM under
 * every policy); fd_step = 1e10 gave -inf / NaN with OK.  Rule: OK only with finite gradients. */
static void DOPT_FN(test_nonfinite_gradient)(void)
{
    DOPT_FN(rel_fit) F;
    DOPT_FN(dopt_nlls_diff_options) bo;
    dopt_nlls_report rep;
    dopt_nlls_diff_report brep;
    DOPT_REAL xbar[2] = {1, 0.5}, x0bar[2];
    int mode, pol, exact, huge;
    DOPT_CHECK(DOPT_FN(rel_fit_build)(&F, NULL, 0, 1) == DOPT_OK, "build");
    DOPT_CHECK(DOPT_FN(dopt_nlls_diff_solve)(F.D, NULL, F.x, 0, &rep, NULL) == DOPT_OK, "solve");
    for (huge = 0; huge < 2; ++huge)
        for (mode = 0; mode < 4; ++mode)
            for (pol = 0; pol < 3; ++pol)
                for (exact = 0; exact < 2; ++exact) {
                    dopt_status st;
                    const DOPT_REAL *g;
                    F.data[0].vjp_nan = !huge;
                    memset(&bo, 0, sizeof bo);
                    bo.mode = (dopt_nlls_diff_mode)mode;
                    bo.policy = (dopt_nlls_diff_policy)pol;
                    bo.implicit_exact = exact;
                    if (huge) bo.fd_step = (DOPT_REAL)1e10;
                    st = DOPT_FN(dopt_nlls_diff_backward)(F.D, &bo, xbar, x0bar, &brep, NULL);
                    g = DOPT_FN(dopt_nlls_diff_param_grad)(F.D, F.param);
                    if (st == DOPT_OK)
                        DOPT_CHECK(g[0] == g[0] && DOPT_M(fabs)(g[0]) < (DOPT_REAL)HUGE_VAL &&
                                       DOPT_FN(dopt_all_finite)(2, x0bar),
                                   "mode %d policy %d exact %d fd_step %s: OK with gradient %g", mode, pol, exact,
                                   huge ? "1e10" : "default", (double)g[0]);
                    if (!huge && mode != DOPT_NLLS_DIFF_UNROLL && mode != DOPT_NLLS_DIFF_TRUNCATED)
                        DOPT_CHECK(st == DOPT_ERR_NON_FINITE && brep.status == DOPT_ERR_NON_FINITE,
                                   "NaN vjp, mode %d policy %d: %s", mode, pol, dopt_status_string(st));
                }
    /* and healthy again */
    F.data[0].vjp_nan = 0;
    memset(&bo, 0, sizeof bo);
    DOPT_CHECK(DOPT_FN(dopt_nlls_diff_backward)(F.D, &bo, xbar, NULL, &brep, NULL) == DOPT_OK, "healthy backward");
    DOPT_FN(rel_fit_free)(&F);
}

#if !DOPT_IS_FLOAT
/* defect 6: solver create with a sparse linear solver, failing the first allocation after it:
 * the linear solver's state was never freed */
static void DOPT_FN(test_create_leak_sparse)(void)
{
    DOPT_FN(rel_fit) F;
    long k, total;
    dopt_hooks h = fa_hooks(&rel_fa);
    /* count the allocations of the whole build, then fail each one in turn */
    fa_reset(&rel_fa, 0);
    DOPT_CHECK(DOPT_FN(rel_fit_build)(&F, &h, 1, 1) == DOPT_OK, "build");
    DOPT_FN(rel_fit_free)(&F);
    total = rel_fa.calls;
    DOPT_CHECK(fa_clean(&rel_fa), "clean run: %ld live, %ld bad sizes", rel_fa.live, rel_fa.bad_size);
    for (k = 1; k <= total; ++k) {
        dopt_status st;
        fa_reset(&rel_fa, k);
        st = DOPT_FN(rel_fit_build)(&F, &h, 1, 1);
        DOPT_CHECK(st == DOPT_ERR_ALLOCATION, "fail at %ld: %s", k, dopt_status_string(st));
        DOPT_FN(rel_fit_free)(&F);
        DOPT_CHECK(fa_clean(&rel_fa), "fail at %ld of %ld: %ld live, %ld bad sizes, %ld bad pointers", k, total,
                   rel_fa.live, rel_fa.bad_size, rel_fa.bad_ptr);
    }
}

/* defect 7: add_param's third allocation (the pg realloc) failing left grad grown but grad_len
 * old, so destroy told the free hook the wrong size */
static void DOPT_FN(test_add_param_free_size)(void)
{
    DOPT_FN(rel_fit) F;
    dopt_hooks h = fa_hooks(&rel_fa);
    long base, k;
    DOPT_REAL vals[4] = {1, 2, 3, 4};
    int idx;
    fa_reset(&rel_fa, 0);
    DOPT_CHECK(DOPT_FN(rel_fit_build)(&F, &h, 0, 1) == DOPT_OK, "build");
    base = rel_fa.calls;
    for (k = 1; k <= 2; ++k) { /* grad, then pg (the parameter table has room): fail each */
        dopt_status st;
        rel_fa.fail_at = rel_fa.calls + k;
        st = DOPT_FN(dopt_nlls_diff_add_param)(F.D, DOPT_PARAM_DATA, vals, 4, 0, &idx);
        DOPT_CHECK(st == DOPT_ERR_ALLOCATION, "fail at +%ld: %s", k, dopt_status_string(st));
        rel_fa.fail_at = 0;
        st = DOPT_FN(dopt_nlls_diff_add_param)(F.D, DOPT_PARAM_DATA, vals, 4, 0, &idx);
        DOPT_CHECK(st == DOPT_OK, "add_param after a failure: %s", dopt_status_string(st));
    }
    (void)base;
    DOPT_FN(rel_fit_free)(&F);
    DOPT_CHECK(fa_clean(&rel_fa), "%ld live, %ld bad sizes", rel_fa.live, rel_fa.bad_size);
}
#endif

/* every allocation of build + solve + backward failing in turn: ALLOCATION, nothing leaked, exact
 * sizes, the caller's x untouched when a solve cannot start */
static void DOPT_FN(test_inject_nlls)(void)
{
    DOPT_FN(rel_fit) F;
    dopt_hooks h = fa_hooks(&rel_fa);
    long k, total;
    int sparse;
    for (sparse = 0; sparse < 2; ++sparse) {
        int mode;
        for (mode = 0; mode < 4; ++mode) {
            for (k = 0;; ++k) {
                DOPT_FN(dopt_nlls_diff_options) bo;
                dopt_nlls_report rep;
                DOPT_REAL xbar[2] = {1, 0.5};
                dopt_status st = DOPT_OK;
                fa_reset(&rel_fa, k);
                st = DOPT_FN(rel_fit_build)(&F, &h, sparse, 1);
                if (st == DOPT_OK) st = DOPT_FN(dopt_nlls_solver_keep_factors)(F.s, 1);
                if (st == DOPT_OK) {
                    st = DOPT_FN(dopt_nlls_diff_solve)(F.D, NULL, F.x, 0, &rep, NULL);
                    if (st != DOPT_OK) DOPT_CHECK(F.x[0] == 0 && F.x[1] == 0, "x changed by a failed solve");
                }
                if (st == DOPT_OK) {
                    memset(&bo, 0, sizeof bo);
                    bo.mode = (dopt_nlls_diff_mode)mode;
                    st = DOPT_FN(dopt_nlls_diff_backward)(F.D, &bo, xbar, NULL, NULL, NULL);
                }
                DOPT_FN(rel_fit_free)(&F);
                if (k == 0) {
                    total = rel_fa.calls;
                    DOPT_CHECK(st == DOPT_OK, "clean run: %s", dopt_status_string(st));
                } else {
                    DOPT_CHECK(st == DOPT_ERR_ALLOCATION, "sparse %d mode %d fail at %ld of %ld: %s", sparse, mode, k,
                               total, dopt_status_string(st));
                }
                DOPT_CHECK(fa_clean(&rel_fa), "sparse %d mode %d fail at %ld: %ld live, %ld bad sizes, %ld bad ptrs",
                           sparse, mode, k, rel_fa.live, rel_fa.bad_size, rel_fa.bad_ptr);
                if (k >= total) break;
            }
        }
    }
}

#undef REL_NP
#endif
