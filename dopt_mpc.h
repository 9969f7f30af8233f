/* dopt_mpc.h — model predictive control: LQR, differentiable LQR, box-constrained LQR, iLQR/SQP MPC,
 * augmented-Lagrangian MPC, a dense differentiable QP, CEM and DCEM with LML.   (C99, header-only)
 *
 * WHAT THIS IS
 *   Optimal-control and sampling-based planners whose solutions can be differentiated, so they sit
 *   as layers in learning pipelines.  It follows dopt.h's API CONVENTION (names, create/destroy,
 *   workspace size query then caller memory, ptrdiff_t batch sizes and strides, per-element
 *   status, options whose zero means "default") and its float/double generation ("FLOAT AND
 *   DOUBLE" in dopt.h).  Batches of problems of one structure are the unit of work; every forward
 *   solve has a backward pass that reuses its factorizations.
 *
 *   The module has independent parts, each documented in its own section below:
 *     LQR AND iLQR     dopt_mpc_lqr_*, dopt_mpc_ilqr_*   (Riccati forward, adjoint-LQR backward,
 *                      box-constrained controls, nonlinear MPC)
 *     DENSE QP         dopt_mpc_qp_*   (batched dense QP with the OptNet backward pass)
 *     CEM AND LML      dopt_mpc_cem_*, dopt_mpc_dcem_*, dopt_mpc_lml_*
 *
 * HOW TO USE
 *   #define DOPT_IMPLEMENTATION in one C file before including dopt.h and dopt_mpc.h.
 *
 * ---- LQR AND iLQR -------------------------------------------------------------------------------
 *   LQR (dopt_mpc_lqr_*): B problems with n states, m controls and horizon T, tau_t = [x_t; u_t]:
 *       minimize   sum_{t<T} 1/2 tau_t^T C_t tau_t + c_t^T tau_t
 *       subject to x_{t+1} = F_t tau_t + f_t (t < T-1),  x_0 = x_init,  u_lower_t <= u_t <= u_upper_t
 *   DATA LAYOUT.  Every array is a dopt_mpc_cseq {p, ts, bs}: block t of element b starts at
 *   p + b*bs + t*ts (strides in reals; 0 shares the block across time or across the batch).
 *   Blocks: C_t (n+m)x(n+m) column-major symmetric, c_t n+m, F_t = [A_t B_t] n x (n+m)
 *   column-major (T-1 of them), f_t n, x_init n, bounds m (NULL: none; +-inf allowed).
 *   mpc.pytorch's tensors map on directly: C (T,B,N,N) is {C, B*N*N, N*N}, c (T,B,N) is
 *   {c, B*N, N}, x_init (B,n) is {x, 0, n}; its F (T-1,B,n,N) is row-major per block, so its
 *   F.transpose(-1,-2).contiguous() is dopt's {F, B*n*N, n*N}; a time-invariant F (B,n,N) is
 *   {F, 0, n*N} likewise transposed.
 *   Solutions tau (T vectors n+m per element) and multipliers lam (T vectors n) use the same
 *   sequence type; gradients (dopt_mpc_lqr_grad) have the data's shapes and, where a stride is 0,
 *   sum the contributions that share the block.
 *   FORWARD: the Riccati recursion from V_T = 0:  Q_t = C_t + F_t^T V_{t+1} F_t,
 *   q_t = c_t + F_t^T (V_{t+1} f_t + v_{t+1}), K_t = -Q_uu^{-1} Q_ux, k_t = -Q_uu^{-1} q_u,
 *   V_t = Q_xx + Q_xu K_t, v_t = q_x + Q_xu k_t; then the rollout u_t = K_t x_t + k_t.  The
 *   products run on columns padded to a multiple of 4 with a register-tiled kernel, the
 *   solver's workspace holds everything (no allocation in a solve).  A Q_uu that is not
 *   positive definite stops that element with DOPT_ERR_NOT_POSITIVE_DEFINITE and its time step.
 *   BOX LIMITS (box-DDP, Tassa et al. 2014, as mpc.pytorch): passes of the backward sweep around
 *   the current trajectory, each step's controls from a box QP solved by projected Newton; the
 *   gains act on the free controls (K rows of clamped controls are zero; V_t = Q_xx + Q_xu K_t
 *   and v_t = q_x + Q_xu k_t still hold because the free rows satisfy the QP's stationarity);
 *   a forward rollout with clamping and a line search on the cost; repeated until the steps
 *   vanish (options.tol).
 *   BACKWARD (Amos et al. 2018, "Differentiable MPC for End-to-end Planning and Control"): the
 *   KKT system K z = -[c; f; x_init] of the problem is symmetric, so dL/d(data) comes from one
 *   more solve of the same system with right-hand side -dL/dtau: an LQR with the forward's
 *   factors and linear term dL/dtau, f = 0, x_init = 0, giving (d_tau, d_lam); then dL/dC_t =
 *   sym(d_tau_t tau_t^T), dL/dc_t = d_tau_t, dL/dF_t = d_lam_{t+1} tau_t^T + lam_{t+1} d_tau_t^T,
 *   dL/df_t = d_lam_{t+1}, dL/dx_init = d_lam_0.  With box limits the clamped controls are held
 *   (d_u = 0 there): the derivative of the solution with its active set fixed.
 *   NONLINEAR MPC (dopt_mpc_ilqr_*): dynamics x' = f(x, u) and stage costs l_t(tau) as callbacks
 *   (with analytic derivatives, or central differences); iLQR/box-DDP iterations, each the LQR
 *   step of the local approximation followed by a line search on the true rollout; warm start
 *   as-is or shifted by one step (receding horizon).  Its backward is the LQR backward of the
 *   final approximation at the fixed point (the dynamics' curvature left out, as mpc.pytorch).
 *   Example systems: dopt_mpc_{pendulum,cartpole,bicycle,quadrotor}_dynamics.
 *   NON-CONVERGENCE: every element has its own status in its report; the backward's policy
 *   (dopt_bwd_policy) FLAG returns such an element's gradient and marks it, ZERO leaves it out,
 *   FAIL fails the call naming it (mpc.pytorch silently detaches it).
 *   Sketch (one problem, time-invariant data):
 *       dopt_mpc_lqr_d *s;  dopt_mpc_lqr_data_d d = {0};  dopt_mpc_seq_d tau = {0}, none = {0};
 *       d.C.p = C;  d.c.p = c;  d.F.p = F;  d.x_init.p = x0;      // all strides 0: shared
 *       tau.p = out;  tau.ts = n + m;
 *       dopt_mpc_lqr_create_d(NULL, n, m, T, 1, &s, NULL);
 *       dopt_mpc_lqr_solve_d(s, &d, NULL, tau, none, NULL, NULL);
 *       dopt_mpc_lqr_backward_d(s, dtau, NULL, &grad, NULL, NULL);   // dtau: a dopt_mpc_cseq_d
 *   examples/pendulum_mpc.c and examples/learn_mpc.c are complete programs.
 * ---- end LQR AND iLQR ---------------------------------------------------------------------------
 *
 * ---- DENSE QP ----------------------------------------------------------------------------------
 * ---- end DENSE QP ------------------------------------------------------------------------------
 *
 * ---- CEM AND LML --------------------------------------------------------------------------------
 * ---- end CEM AND LML ----------------------------------------------------------------------------
 *
 * LICENSE: MIT, see dopt.h.
 */
#if !defined(DOPT__DRIVE)
#ifndef DOPT_MPC_H
#define DOPT_MPC_H
#include "dopt.h"

#ifdef __cplusplus
extern "C" {
#endif
/* ==== LQR AND iLQR: precision-independent declarations ==== */
/* The policy for elements whose forward solve did not converge is dopt.h's dopt_bwd_policy
 * (FLAG / ZERO / FAIL), used by dopt_mpc_lqr_backward_options. */

/* Warm start of the nonlinear MPC solver (dopt_mpc_ilqr_options.warm_start). */
typedef enum dopt_mpc_warm {
    DOPT_MPC_WARM_NONE = 0, /* start from u = 0 (clamped into the box)                             */
    DOPT_MPC_WARM_AS_IS,    /* start from the controls already in the tau array                    */
    DOPT_MPC_WARM_SHIFT     /* receding horizon: u_t <- u_{t+1} of the tau array, last one repeated */
} dopt_mpc_warm;
/* ==== end LQR AND iLQR: precision-independent declarations ==== */

/* ==== DENSE QP: precision-independent declarations ==== */
/* ==== end DENSE QP: precision-independent declarations ==== */

/* ==== CEM AND LML: precision-independent declarations ==== */
/* ==== end CEM AND LML: precision-independent declarations ==== */
#ifdef __cplusplus
}
#endif

#define DOPT_MPC__PASS_DECL
#define DOPT__DRIVE "dopt_mpc.h"
#include "dopt.h"
#undef DOPT__DRIVE
#undef DOPT_MPC__PASS_DECL
#endif /* DOPT_MPC_H */

#if defined(DOPT_IMPLEMENTATION) && !defined(DOPT_MPC_IMPLEMENTED)
#define DOPT_MPC_IMPLEMENTED
#include <string.h>
#include <math.h>
/* ==== LQR AND iLQR: precision-independent implementation ==== */
/* Append text and a decimal integer to an error message without stdio. */
static void dopt__mpc_msg(char *buf, size_t cap, const char *a, long i, const char *z)
{
    char num[24];
    size_t len = 0, k = 0;
    unsigned long u = i < 0 ? (unsigned long)(-i) : (unsigned long)i;
    while (*a && len + 1 < cap) buf[len++] = *a++;
    do { num[k++] = (char)('0' + u % 10); u /= 10; } while (u && k < sizeof num - 1);
    if (i < 0 && len + 1 < cap) buf[len++] = '-';
    while (k && len + 1 < cap) buf[len++] = num[--k];
    while (z && *z && len + 1 < cap) buf[len++] = *z++;
    buf[len] = 0;
}
/* ==== end LQR AND iLQR: precision-independent implementation ==== */

/* ==== DENSE QP: precision-independent implementation ==== */
/* ==== end DENSE QP: precision-independent implementation ==== */

/* ==== CEM AND LML: precision-independent implementation ==== */
/* ==== end CEM AND LML: precision-independent implementation ==== */
#define DOPT_MPC__PASS_IMPL
#define DOPT__DRIVE "dopt_mpc.h"
#include "dopt.h"
#undef DOPT__DRIVE
#undef DOPT_MPC__PASS_IMPL
#endif /* DOPT_IMPLEMENTATION */
#endif /* !DOPT__DRIVE */

/* =============================================================================================== */
/* Generic declarations (one pass per precision).                                                 */
/* =============================================================================================== */
#if defined(DOPT_MPC__PASS_DECL) && defined(DOPT_REAL)
#ifdef __cplusplus
extern "C" {
#endif
/* ==== LQR AND iLQR: declarations ==== */
/* A batched sequence: element b at time step t starts at p + b*bs + t*ts (strides in reals).
 * A stride of 0 shares the block across the batch (bs) or across time (ts).  p == NULL means
 * "absent" where the field's comment allows it. */
typedef struct DOPT_FN(dopt_mpc_cseq) {
    const DOPT_REAL *p;
    ptrdiff_t ts, bs;
} DOPT_FN(dopt_mpc_cseq);
typedef struct DOPT_FN(dopt_mpc_seq) {
    DOPT_REAL *p;
    ptrdiff_t ts, bs;
} DOPT_FN(dopt_mpc_seq);

/* The data of B LQR problems with n states, m controls, horizon T (see the overview):
 *   minimize  sum_{t<T} 1/2 tau_t^T C_t tau_t + c_t^T tau_t,  tau_t = [x_t; u_t]
 *   s.t.      x_{t+1} = F_t tau_t + f_t (t < T-1),  x_0 = x_init,  u_lower_t <= u_t <= u_upper_t */
typedef struct DOPT_FN(dopt_mpc_lqr_data) {
    DOPT_FN(dopt_mpc_cseq) C;       /* T blocks (n+m)x(n+m), column-major, symmetric            */
    DOPT_FN(dopt_mpc_cseq) c;       /* T vectors n+m                                           */
    DOPT_FN(dopt_mpc_cseq) F;       /* T-1 blocks n x (n+m), column-major: [A B]                */
    DOPT_FN(dopt_mpc_cseq) f;       /* T-1 vectors n; p NULL: zero                              */
    DOPT_FN(dopt_mpc_cseq) x_init;  /* one vector n per element (ts unused)                     */
    DOPT_FN(dopt_mpc_cseq) u_lower; /* T vectors m; p NULL: no lower bound; -inf allowed        */
    DOPT_FN(dopt_mpc_cseq) u_upper; /* T vectors m; p NULL: no upper bound; +inf allowed        */
} DOPT_FN(dopt_mpc_lqr_data);

/* Gradients of a loss with respect to the data, same shapes as dopt_mpc_lqr_data; usually the
 * same strides.  Where a stride is 0 the contributions of the elements / steps that share the
 * block are summed; otherwise the blocks must not overlap.  p NULL: not wanted. */
typedef struct DOPT_FN(dopt_mpc_lqr_grad) {
    DOPT_FN(dopt_mpc_seq) C, c, F, f, x_init;
} DOPT_FN(dopt_mpc_lqr_grad);

/* Options of dopt_mpc_lqr_solve; zero-initialize for the defaults. */
typedef struct DOPT_FN(dopt_mpc_lqr_options) {
    int max_iter;      /* box limits: box-DDP passes (backward sweep with box QPs, forward
                          rollout with line search); 0: 100                                     */
    DOPT_REAL tol;     /* box limits: converged when every box-QP step has max |du| <=
                          tol * (1 + max |u|); 0: 1e-11 (double), 1e-5 (float)                  */
    int qp_max_iter;   /* projected-Newton iterations of one box QP; 0: 50                      */
    int warm_start;    /* box limits: 1 = start from the controls in the tau output array
                          (clamped into the box); 0: from u = 0 clamped                          */
} DOPT_FN(dopt_mpc_lqr_options);

/* Outcome of one batch element. */
typedef struct DOPT_FN(dopt_mpc_lqr_report) {
    dopt_status status; /* DOPT_OK, DOPT_ERR_NOT_POSITIVE_DEFINITE (fail_t), NON_FINITE,
                           INVALID_ARGUMENT (lower > upper), NO_CONVERGENCE (box limits)         */
    int fail_t;         /* time step of a failed Q_uu factorization or bad bound; -1 otherwise    */
    int iterations;     /* backward sweeps (1 without box limits)                                */
    int converged;      /* 1 when the solution is optimal to tol                                 */
    int n_clamped;      /* controls at a bound at the solution (the backward pass holds them)    */
    DOPT_REAL cost;     /* the objective at the solution                                         */
} DOPT_FN(dopt_mpc_lqr_report);

/* Options of dopt_mpc_lqr_backward; zero-initialize for the defaults. */
typedef struct DOPT_FN(dopt_mpc_lqr_backward_options) {
    dopt_bwd_policy policy; /* elements whose forward did not converge: FLAG (default: gradient
                               computed, status NO_CONVERGENCE in bwd_status, call DOPT_OK),
                               ZERO (gradient left out, same status), FAIL (left out, the call
                               returns DOPT_ERR_NO_CONVERGENCE naming the first such element)  */
} DOPT_FN(dopt_mpc_lqr_backward_options);

/* The LQR solver of B problems of one size.  Opaque. */
typedef struct DOPT_FN(dopt_mpc_lqr) DOPT_FN(dopt_mpc_lqr);

/* dopt_mpc_lqr_workspace_size: bytes that dopt_mpc_lqr_create_in needs for (n, m, T, B).
 * DOPT_ERR_INVALID_ARGUMENT if n < 1, m < 1, T < 1, B < 1, n + m > 32768 or the size overflows. */
DOPT_API dopt_status DOPT_FN(dopt_mpc_lqr_workspace_size)(int n, int m, int T, ptrdiff_t B,
                                                          size_t *bytes, dopt_errinfo *info);
/* dopt_mpc_lqr_create_in: the solver carved from `bytes` bytes at `memory` (no allocation);
 * DOPT_ERR_ALLOCATION if bytes is too small.  The memory must outlive the solver; destroy is a
 * no-op for the memory. */
DOPT_API dopt_status DOPT_FN(dopt_mpc_lqr_create_in)(void *memory, size_t bytes, int n, int m, int T,
                                                     ptrdiff_t B, DOPT_FN(dopt_mpc_lqr) **out,
                                                     dopt_errinfo *info);
/* dopt_mpc_lqr_create: workspace_size + one allocation through hooks (NULL: libc) + create_in. */
DOPT_API dopt_status DOPT_FN(dopt_mpc_lqr_create)(const dopt_hooks *hooks, int n, int m, int T,
                                                  ptrdiff_t B, DOPT_FN(dopt_mpc_lqr) **out,
                                                  dopt_errinfo *info);
/* dopt_mpc_lqr_destroy: release a solver made by create (NULL and create_in solvers: no-op). */
DOPT_API void DOPT_FN(dopt_mpc_lqr_destroy)(DOPT_FN(dopt_mpc_lqr) *s);

/* dopt_mpc_lqr_solve: solve the B problems of `data`.
 *   tau  out: T vectors n+m per element ([x_t; u_t]); with options.warm_start also read
 *        (its controls start the box-DDP iteration).  p NULL: not written.
 *   lam  out: T vectors n per element, the multipliers of the KKT system, lam_0 for x_0 = x_init
 *        and lam_{t+1} for x_{t+1} = F_t tau_t + f_t, signed so that
 *        C_t tau_t + c_t + F_t^T lam_{t+1} - [lam_t; 0] (+ bound multipliers on u) = 0.  p NULL: skip.
 *   reports  B reports or NULL.
 * Without u_lower/u_upper the problem is solved exactly by one Riccati sweep (backward:
 * Q_t = C_t + F_t^T V_{t+1} F_t, K_t = -Q_uu^{-1} Q_ux; forward rollout).  With bounds,
 * box-DDP: the backward sweep solves a box QP in the controls at every step by projected
 * Newton and the gains act on the free controls only; passes repeat until the steps vanish.
 * The solver keeps the factors, the solution and a reference to `data` for
 * dopt_mpc_lqr_backward: the data arrays must not change in between.  Allocates nothing.
 * Returns the first failing element's status (errinfo.index = that element; the message names
 * the time step): DOPT_ERR_NOT_POSITIVE_DEFINITE when Q_uu (of the free controls) is not
 * positive definite, DOPT_ERR_NON_FINITE for NaN/Inf data, DOPT_ERR_INVALID_ARGUMENT for a
 * lower bound above the upper one, DOPT_ERR_NO_CONVERGENCE when box-DDP ran out of passes
 * (that element's outputs are the last iterate). */
DOPT_API dopt_status DOPT_FN(dopt_mpc_lqr_solve)(DOPT_FN(dopt_mpc_lqr) *s,
                                                 const DOPT_FN(dopt_mpc_lqr_data) *data,
                                                 const DOPT_FN(dopt_mpc_lqr_options) *options,
                                                 DOPT_FN(dopt_mpc_seq) tau, DOPT_FN(dopt_mpc_seq) lam,
                                                 DOPT_FN(dopt_mpc_lqr_report) *reports,
                                                 dopt_errinfo *info);

/* dopt_mpc_lqr_backward: gradients of a loss L(tau*) given dtau = dL/dtau* (T vectors n+m per
 * element) by the adjoint LQR (Amos et al. 2018): one more Riccati sweep with the forward's
 * factors and linear term dtau gives (d_tau, d_lam); then
 *   dL/dC_t = 1/2 (d_tau_t tau_t^T + tau_t d_tau_t^T)     dL/dc_t = d_tau_t
 *   dL/dF_t = d_lam_{t+1} tau_t^T + lam_{t+1} d_tau_t^T   dL/df_t = d_lam_{t+1}
 *   dL/dx_init = d_lam_0.
 * With box limits the controls at a bound are held (d_u = 0 there): the gradient of the
 * active-set-fixed solution.  grad's arrays are overwritten (zeroed first, shared blocks
 * summed).  bwd_status: B statuses or NULL.  Allocates nothing.  Returns
 * DOPT_ERR_INVALID_ARGUMENT without a successful solve; elements whose solve failed get no
 * gradient and their status; non-converged elements follow options->policy. */
DOPT_API dopt_status DOPT_FN(dopt_mpc_lqr_backward)(DOPT_FN(dopt_mpc_lqr) *s, DOPT_FN(dopt_mpc_cseq) dtau,
                                                    const DOPT_FN(dopt_mpc_lqr_backward_options) *options,
                                                    const DOPT_FN(dopt_mpc_lqr_grad) *grad,
                                                    dopt_status *bwd_status, dopt_errinfo *info);

/* dopt_mpc_lqr_flops: floating-point operations of one unconstrained forward solve of one
 * element as implemented (Riccati sweep and rollout), for GFLOP/s figures. */
DOPT_API double DOPT_FN(dopt_mpc_lqr_flops)(int n, int m, int T);

/* ---- nonlinear MPC (iLQR / box-DDP) ---------------------------------------------------------- */

/* Dynamics x_{t+1} = f(x_t, u_t) of element b at step t.  x: n, u: m, x_next: n (out).
 * F: NULL, or out: the n x (n+m) column-major Jacobian [df/dx df/du] (when the problem says it
 * provides one).  Return DOPT_OK, or a status that stops this element. */
typedef dopt_status (*DOPT_FN(dopt_mpc_dynamics_fn))(void *user, ptrdiff_t b, int t, const DOPT_REAL *x,
                                                     const DOPT_REAL *u, DOPT_REAL *x_next, DOPT_REAL *F);
/* Stage cost l_t(tau) of element b at step t (t < T, tau = [x; u], n+m).  grad (n+m) and hess
 * ((n+m) x (n+m) column-major, symmetric) are NULL or out (when the problem says it provides
 * them). */
typedef dopt_status (*DOPT_FN(dopt_mpc_cost_fn))(void *user, ptrdiff_t b, int t, const DOPT_REAL *tau,
                                                 DOPT_REAL *cost, DOPT_REAL *grad, DOPT_REAL *hess);

/* A nonlinear optimal-control problem: minimize sum_t l_t(tau_t) subject to
 * x_{t+1} = f(x_t, u_t), x_0 = x_init, u_lower <= u <= u_upper. */
typedef struct DOPT_FN(dopt_mpc_ilqr_problem) {
    int n_state, n_ctrl;                  /* must equal the solver's (DOPT_ERR_DIMENSION)        */
    DOPT_FN(dopt_mpc_dynamics_fn) dynamics;
    int dynamics_jacobian;                /* 1: dynamics fills F; 0: central differences          */
    DOPT_FN(dopt_mpc_cost_fn) cost;
    int cost_derivatives;                 /* 1: cost fills grad and hess; 0: central differences  */
    void *user;
    DOPT_FN(dopt_mpc_cseq) u_lower, u_upper; /* as in dopt_mpc_lqr_data; p NULL: unbounded        */
} DOPT_FN(dopt_mpc_ilqr_problem);

/* Options of dopt_mpc_ilqr_solve; zero-initialize for the defaults. */
typedef struct DOPT_FN(dopt_mpc_ilqr_options) {
    int max_iter;           /* iLQR iterations; 0: 100                                             */
    DOPT_REAL tol;          /* converged when the LQR step has max |du| <= tol (1 + max |u|);
                               0: 1e-8 (double), 1e-4 (float)                                      */
    int max_linesearch;     /* step halvings per iteration; 0: 12                                  */
    int qp_max_iter;        /* projected-Newton iterations of one box QP; 0: 50                    */
    dopt_mpc_warm warm_start; /* NONE (default), AS_IS or SHIFT (receding horizon): read tau    */
    DOPT_REAL fd_step;      /* central-difference step scale; 0: cbrt(eps) (Jacobians), eps^(1/4)
                               (cost Hessians)                                                    */
} DOPT_FN(dopt_mpc_ilqr_options);

/* The nonlinear MPC solver.  Opaque; holds an LQR solver for the final approximation. */
typedef struct DOPT_FN(dopt_mpc_ilqr) DOPT_FN(dopt_mpc_ilqr);

/* dopt_mpc_ilqr_workspace_size / create_in / create / destroy: as for dopt_mpc_lqr. */
DOPT_API dopt_status DOPT_FN(dopt_mpc_ilqr_workspace_size)(int n, int m, int T, ptrdiff_t B,
                                                           size_t *bytes, dopt_errinfo *info);
DOPT_API dopt_status DOPT_FN(dopt_mpc_ilqr_create_in)(void *memory, size_t bytes, int n, int m, int T,
                                                      ptrdiff_t B, DOPT_FN(dopt_mpc_ilqr) **out,
                                                      dopt_errinfo *info);
DOPT_API dopt_status DOPT_FN(dopt_mpc_ilqr_create)(const dopt_hooks *hooks, int n, int m, int T,
                                                   ptrdiff_t B, DOPT_FN(dopt_mpc_ilqr) **out,
                                                   dopt_errinfo *info);
DOPT_API void DOPT_FN(dopt_mpc_ilqr_destroy)(DOPT_FN(dopt_mpc_ilqr) *s);

/* dopt_mpc_ilqr_solve: iLQR with control limits (box-DDP, Tassa et al. 2014) for each element.
 * An iteration linearizes the dynamics and quadratizes the cost along the current trajectory,
 * takes the LQR step of that approximation (box QPs on the controls, as dopt_mpc_lqr_solve) and
 * rolls the true dynamics forward under u = clamp(u_bar + alpha k + K (x - x_bar)), halving
 * alpha until the cost decreases.  x_init: one n-vector per element (bs).  tau: out, T vectors
 * n+m per element; read first for a warm start.  reports: B reports (iterations, converged,
 * cost, n_clamped) or NULL.  Allocates nothing.  Returns the first failing element's status:
 * DOPT_ERR_DIMENSION (problem's n_state/n_ctrl differ from the solver's), NON_FINITE (a
 * callback produced NaN/Inf), NOT_POSITIVE_DEFINITE (a Q_uu of the approximation, with the time
 * step), NO_CONVERGENCE (iteration limit or no descent), or a callback's own status. */
DOPT_API dopt_status DOPT_FN(dopt_mpc_ilqr_solve)(DOPT_FN(dopt_mpc_ilqr) *s,
                                                  const DOPT_FN(dopt_mpc_ilqr_problem) *problem,
                                                  DOPT_FN(dopt_mpc_cseq) x_init,
                                                  const DOPT_FN(dopt_mpc_ilqr_options) *options,
                                                  DOPT_FN(dopt_mpc_seq) tau,
                                                  DOPT_FN(dopt_mpc_lqr_report) *reports,
                                                  dopt_errinfo *info);

/* dopt_mpc_ilqr_approximation: the LQR data of the last solve's final approximation at the
 * solution tau* (C_t = hess l_t, c_t = grad l_t - C_t tau*_t, F_t = Jacobian of f,
 * f_t = f(tau*_t) - F_t tau*_t; contiguous per element), whose solution is tau* itself. */
DOPT_API dopt_status DOPT_FN(dopt_mpc_ilqr_approximation)(const DOPT_FN(dopt_mpc_ilqr) *s,
                                                          DOPT_FN(dopt_mpc_lqr_data) *data,
                                                          dopt_errinfo *info);

/* dopt_mpc_ilqr_backward: dopt_mpc_lqr_backward of the final approximation (Amos et al. 2018:
 * differentiate the LQR at the fixed point), so grad receives dL/dC, dc, dF, df, dx_init of the
 * approximation's data (layout of dopt_mpc_ilqr_approximation, or any strides you choose).
 * Chain them to your parameters theta with tau* held fixed: dL/dtheta = sum_t dC_t : dC_t/dtheta
 * + dc_t . (d grad l_t/dtheta - dC_t/dtheta tau*_t) + dF_t : dF_t/dtheta + df_t . (d f/dtheta -
 * dF_t/dtheta tau*_t).  (Like mpc.pytorch, the dynamics' curvature is left out.)  Non-converged
 * elements follow options->policy. */
DOPT_API dopt_status DOPT_FN(dopt_mpc_ilqr_backward)(DOPT_FN(dopt_mpc_ilqr) *s, DOPT_FN(dopt_mpc_cseq) dtau,
                                                     const DOPT_FN(dopt_mpc_lqr_backward_options) *options,
                                                     const DOPT_FN(dopt_mpc_lqr_grad) *grad,
                                                     dopt_status *bwd_status, dopt_errinfo *info);

/* Example systems (dynamics callbacks with analytic Jacobians; user = the parameter struct,
 * explicit Euler steps of dt; F may be NULL).
 *   pendulum   x = [theta, omega], u = [torque]; theta = 0 hangs down:
 *              omega' = -g/l sin(theta) + u/(m l^2) - d omega
 *   cartpole   x = [p, v, theta, omega], u = [force]; theta = 0 upright (Barto et al. 1983)
 *   bicycle    x = [px, py, yaw, v], u = [acceleration, steering angle]; kinematic bicycle
 *              with wheelbase L: px' = v cos yaw, py' = v sin yaw, yaw' = v tan(steer)/L
 *   quadrotor  x = [p (3), roll pitch yaw (3), v (3), body rates (3)], u = [thrust, 3 torques];
 *              diagonal inertia, ZYX Euler angles, rates integrated as Euler-angle rates
 *              (the small-angle model: angles' = body rates). */
typedef struct DOPT_FN(dopt_mpc_pendulum) { DOPT_REAL g, l, m, damping, dt; } DOPT_FN(dopt_mpc_pendulum);
typedef struct DOPT_FN(dopt_mpc_cartpole) { DOPT_REAL g, m_cart, m_pole, l, dt; } DOPT_FN(dopt_mpc_cartpole);
typedef struct DOPT_FN(dopt_mpc_bicycle) { DOPT_REAL wheelbase, dt; } DOPT_FN(dopt_mpc_bicycle);
typedef struct DOPT_FN(dopt_mpc_quadrotor) { DOPT_REAL g, mass, Ixx, Iyy, Izz, dt; } DOPT_FN(dopt_mpc_quadrotor);
DOPT_API dopt_status DOPT_FN(dopt_mpc_pendulum_dynamics)(void *user, ptrdiff_t b, int t, const DOPT_REAL *x,
                                                         const DOPT_REAL *u, DOPT_REAL *x_next, DOPT_REAL *F);
DOPT_API dopt_status DOPT_FN(dopt_mpc_cartpole_dynamics)(void *user, ptrdiff_t b, int t, const DOPT_REAL *x,
                                                         const DOPT_REAL *u, DOPT_REAL *x_next, DOPT_REAL *F);
DOPT_API dopt_status DOPT_FN(dopt_mpc_bicycle_dynamics)(void *user, ptrdiff_t b, int t, const DOPT_REAL *x,
                                                        const DOPT_REAL *u, DOPT_REAL *x_next, DOPT_REAL *F);
DOPT_API dopt_status DOPT_FN(dopt_mpc_quadrotor_dynamics)(void *user, ptrdiff_t b, int t, const DOPT_REAL *x,
                                                          const DOPT_REAL *u, DOPT_REAL *x_next, DOPT_REAL *F);
/* ==== end LQR AND iLQR: declarations ==== */

/* ==== DENSE QP: declarations ==== */
/* ==== end DENSE QP: declarations ==== */

/* ==== CEM AND LML: declarations ==== */
/* ==== end CEM AND LML: declarations ==== */
#ifdef __cplusplus
}
#endif
#endif /* DOPT_MPC__PASS_DECL */

/* =============================================================================================== */
/* Generic implementation (one pass per precision).                                               */
/* =============================================================================================== */
#if defined(DOPT_MPC__PASS_IMPL) && defined(DOPT_REAL)
#ifdef __cplusplus
extern "C" {
#endif
/* ==== LQR AND iLQR: implementation ==== */
#define R_ DOPT_REAL
struct DOPT_FN(dopt_mpc_lqr) {
    dopt_hooks hooks;
    void *owned;
    size_t owned_bytes;
    int n, m, T, NP; /* NP: n + m rounded up to a multiple of 4 (scratch column length) */
    ptrdiff_t B;
    /* per element, contiguous per element then per time step */
    R_ *L;             /* B*T*m*m  Cholesky factor of Q_uu of the free controls (ld = nfree) */
    R_ *K;             /* B*T*n*m  gains K^T, n x m column-major, zero columns for held controls */
    R_ *k;             /* B*T*m    feedforward                                                */
    unsigned char *fr; /* B*T*m    1 = free control                                           */
    int *nf;           /* B*T      number of free controls                                    */
    R_ *tau, *lam;     /* B*T*(n+m), B*T*n: the solution                                      */
    dopt_status *st;   /* B                                                                   */
    int *conv;         /* B                                                                   */
    /* scratch shared by the elements (solved one after the other) */
    R_ *Q, *Ft, *W, *V, *v, *y, *q, *KT, *Kf, *trial, *dk, *dtau, *dlam, *lo, *hi, *qg, *qd, *qx, *qL;
    int *qidx;
    DOPT_FN(dopt_mpc_lqr_data) data;
    const R_ *Ft_of;   /* the F block whose transpose Ft holds (NULL: none)                    */
    int solved;
    int lam_valid;     /* the multipliers of the last solve are in lam                        */
};

static size_t DOPT_FN(dopt__lqr_layout)(DOPT_FN(dopt_mpc_lqr) *s, dopt_workspace *ws, int n, int m,
                                        int T, ptrdiff_t B)
{
    /* With ws NULL: add up sizes; otherwise take the blocks. */
    size_t N = (size_t)(n + m), NP = (N + 3) & ~(size_t)3, tot = 0, bt = (size_t)B * (size_t)T;
    size_t sz[32];
    void **dst[32];
    int i, cnt = 0;
#define DOPT__LQR_BLK(ptr, bytes) (dst[cnt] = (void **)(void *)&(ptr), sz[cnt++] = (bytes))
    DOPT__LQR_BLK(s->L, bt * (size_t)m * (size_t)m * sizeof(R_));
    DOPT__LQR_BLK(s->K, bt * (size_t)m * (size_t)n * sizeof(R_));
    DOPT__LQR_BLK(s->k, bt * (size_t)m * sizeof(R_));
    DOPT__LQR_BLK(s->fr, bt * (size_t)m);
    DOPT__LQR_BLK(s->nf, bt * sizeof(int));
    DOPT__LQR_BLK(s->tau, bt * N * sizeof(R_));
    DOPT__LQR_BLK(s->lam, bt * (size_t)n * sizeof(R_));
    DOPT__LQR_BLK(s->st, (size_t)B * sizeof(dopt_status));
    DOPT__LQR_BLK(s->conv, (size_t)B * sizeof(int));
    DOPT__LQR_BLK(s->Q, NP * NP * sizeof(R_));
    DOPT__LQR_BLK(s->Ft, NP * (size_t)n * sizeof(R_));
    DOPT__LQR_BLK(s->W, NP * (size_t)n * sizeof(R_));
    DOPT__LQR_BLK(s->V, NP * (size_t)n * sizeof(R_));
    DOPT__LQR_BLK(s->v, NP * sizeof(R_));
    DOPT__LQR_BLK(s->y, NP * sizeof(R_));
    DOPT__LQR_BLK(s->q, NP * sizeof(R_));
    DOPT__LQR_BLK(s->KT, NP * (size_t)m * sizeof(R_));
    DOPT__LQR_BLK(s->Kf, (size_t)n * (size_t)m * sizeof(R_));
    DOPT__LQR_BLK(s->trial, (size_t)T * N * sizeof(R_));
    DOPT__LQR_BLK(s->dk, (size_t)T * (size_t)m * sizeof(R_));
    DOPT__LQR_BLK(s->dtau, (size_t)T * N * sizeof(R_));
    DOPT__LQR_BLK(s->dlam, (size_t)T * (size_t)n * sizeof(R_));
    DOPT__LQR_BLK(s->lo, 5 * (size_t)m * sizeof(R_)); /* lo, hi, qg, qd, qx */
    DOPT__LQR_BLK(s->qL, (size_t)m * (size_t)m * sizeof(R_));
    DOPT__LQR_BLK(s->qidx, (size_t)m * sizeof(int));
#undef DOPT__LQR_BLK
    for (i = 0; i < cnt; ++i) {
        if (ws) {
            *dst[i] = dopt_workspace_take(ws, sz[i]);
            if (!*dst[i]) return 0;
        }
        tot += DOPT_WORKSPACE_ROUND(sz[i]);
    }
    if (ws) {
        s->hi = s->lo + m;
        s->qg = s->hi + m;
        s->qd = s->qg + m;
        s->qx = s->qd + m;
    }
    return tot;
}

DOPT_API dopt_status DOPT_FN(dopt_mpc_lqr_workspace_size)(int n, int m, int T, ptrdiff_t B,
                                                          size_t *bytes, dopt_errinfo *info)
{
    DOPT_FN(dopt_mpc_lqr) tmp;
    double est;
    if (!bytes) return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "mpc lqr: NULL bytes");
    *bytes = 0;
    if (n < 1 || m < 1 || T < 1 || B < 1)
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "mpc lqr: n, m, T, B must be >= 1");
    est = (double)B * T * ((double)m * m + (double)m * n + 3.0 * ((double)n + m) + 8) * sizeof(R_) +
          ((double)n + m) * ((double)n + m) * 8 * sizeof(R_) + (double)T * ((double)n + m) * 4 * sizeof(R_);
    if ((double)n + m > 32768 || est > (double)((size_t)-1 / 4)) /* blocks are indexed with int */
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "mpc lqr: sizes too large");
    memset(&tmp, 0, sizeof tmp);
    *bytes = DOPT_FN(dopt__lqr_layout)(&tmp, NULL, n, m, T, B) + DOPT_WORKSPACE_ROUND(sizeof tmp) +
             DOPT_WORKSPACE_ALIGN;
    return DOPT_OK;
}

DOPT_API dopt_status DOPT_FN(dopt_mpc_lqr_create_in)(void *memory, size_t bytes, int n, int m, int T,
                                                     ptrdiff_t B, DOPT_FN(dopt_mpc_lqr) **out,
                                                     dopt_errinfo *info)
{
    dopt_workspace ws;
    DOPT_FN(dopt_mpc_lqr) *s;
    size_t need;
    dopt_status st;
    if (!out) return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "mpc lqr: NULL out");
    *out = NULL;
    st = DOPT_FN(dopt_mpc_lqr_workspace_size)(n, m, T, B, &need, info);
    if (st != DOPT_OK) return st;
    if (!memory || bytes < need)
        return dopt_errinfo_set(info, DOPT_ERR_ALLOCATION, -1, 0, "mpc lqr: workspace too small");
    dopt_workspace_init(&ws, memory, bytes);
    s = (DOPT_FN(dopt_mpc_lqr) *)dopt_workspace_take(&ws, sizeof *s);
    if (!s) return dopt_errinfo_set(info, DOPT_ERR_ALLOCATION, -1, 0, "mpc lqr: workspace too small");
    memset(s, 0, sizeof *s);
    s->n = n;
    s->m = m;
    s->T = T;
    s->B = B;
    s->NP = (n + m + 3) & ~3;
    if (!DOPT_FN(dopt__lqr_layout)(s, &ws, n, m, T, B))
        return dopt_errinfo_set(info, DOPT_ERR_ALLOCATION, -1, 0, "mpc lqr: workspace too small");
    *out = s;
    return DOPT_OK;
}

DOPT_API dopt_status DOPT_FN(dopt_mpc_lqr_create)(const dopt_hooks *hooks, int n, int m, int T,
                                                  ptrdiff_t B, DOPT_FN(dopt_mpc_lqr) **out,
                                                  dopt_errinfo *info)
{
    size_t bytes;
    void *mem;
    dopt_status st;
    if (!out) return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "mpc lqr: NULL out");
    *out = NULL;
    st = DOPT_FN(dopt_mpc_lqr_workspace_size)(n, m, T, B, &bytes, info);
    if (st != DOPT_OK) return st;
    mem = dopt_alloc(hooks, bytes);
    if (!mem) return dopt_errinfo_set(info, DOPT_ERR_ALLOCATION, -1, 0, "mpc lqr: out of memory");
    st = DOPT_FN(dopt_mpc_lqr_create_in)(mem, bytes, n, m, T, B, out, info);
    if (st != DOPT_OK) {
        dopt_free(hooks, mem, bytes);
        return st;
    }
    if (hooks) (*out)->hooks = *hooks;
    (*out)->owned = mem;
    (*out)->owned_bytes = bytes;
    return DOPT_OK;
}

DOPT_API void DOPT_FN(dopt_mpc_lqr_destroy)(DOPT_FN(dopt_mpc_lqr) *s)
{
    dopt_hooks h;
    if (!s || !s->owned) return;
    h = s->hooks;
    dopt_free(&h, s->owned, s->owned_bytes);
}

DOPT_API double DOPT_FN(dopt_mpc_lqr_flops)(int n, int m, int T)
{
    double N = n + m, dn = n, dm = m, step, last;
    /* W = V F, lower(Q) += F^T W, q += F^T (V f + v): the dynamics-coupled steps */
    step = 2 * dn * dn * N + dn * N * (N + 1) + 2 * dn * N + 2 * dn * dn;
    /* Cholesky of Q_uu, K and k, lower(V) = Q_xx + Q_xu K, v; rollout u = K x + k, x' = F tau + f */
    last = dm * dm * dm / 3 + 2 * dm * dm * (dn + 1) + dn * (dn + 1) * dm + 2 * dn * dm + 2 * dm * dn;
    return (double)(T - 1) * (step + 2 * dn * N) + (double)T * last;
}

/* Cholesky factorization of the nf x nf matrix A (ld nf) in place (lower triangle).  A pivot
 * below 1e2 * nf * eps * (largest diagonal) or not finite fails at that column (*bad). */
static dopt_status DOPT_FN(dopt__lqr_chol)(int nf, R_ *A, int *bad)
{
    int i, j, p;
    R_ dmax = 0, thr;
    for (j = 0; j < nf; ++j)
        if (A[j + j * nf] > dmax) dmax = A[j + j * nf];
    thr = (R_)100 * (R_)nf * DOPT_EPS * dmax;
    for (j = 0; j < nf; ++j) {
        R_ d = A[j + j * nf], inv;
        for (p = 0; p < j; ++p) d -= A[j + p * nf] * A[j + p * nf];
        if (!(d > thr) || !(d < HUGE_VAL)) {
            *bad = j;
            return d != d ? DOPT_ERR_NON_FINITE : DOPT_ERR_NOT_POSITIVE_DEFINITE;
        }
        d = DOPT_M(sqrt)(d);
        A[j + j * nf] = d;
        inv = 1 / d;
        for (i = j + 1; i < nf; ++i) {
            R_ a = A[i + j * nf];
            for (p = 0; p < j; ++p) a -= A[i + p * nf] * A[j + p * nf];
            A[i + j * nf] = a * inv;
        }
    }
    return DOPT_OK;
}

/* x <- (L L^T)^{-1} x for the nf x nf factor L (ld nf). */
static void DOPT_FN(dopt__lqr_cholsolve)(int nf, const R_ *L, R_ *x)
{
    int i, p;
    for (i = 0; i < nf; ++i) {
        R_ a = x[i];
        for (p = 0; p < i; ++p) a -= L[i + p * nf] * x[p];
        x[i] = a / L[i + i * nf];
    }
    for (i = nf - 1; i >= 0; --i) {
        R_ a = x[i];
        for (p = i + 1; p < nf; ++p) a -= L[p + i * nf] * x[p];
        x[i] = a / L[i + i * nf];
    }
}

static R_ DOPT_FN(dopt__lqr_clamp)(R_ x, R_ lo, R_ hi) { return x < lo ? lo : (x > hi ? hi : x); }

/* Value of 1/2 x^T H x + g^T x for the m x m matrix H (ld ldh). */
static R_ DOPT_FN(dopt__lqr_quad)(int m, const R_ *H, int ldh, const R_ *g, const R_ *x)
{
    int i, j;
    R_ f = 0;
    for (j = 0; j < m; ++j) {
        R_ hx = 0;
        for (i = 0; i < m; ++i) hx += H[i + j * ldh] * x[i];
        f += x[j] * ((R_)0.5 * hx + g[j]);
    }
    return f;
}

/* Gather the free rows/columns of H (ld ldh) into L (nf x nf) and factor it. */
static dopt_status DOPT_FN(dopt__lqr_factor_free)(int m, const R_ *H, int ldh, const unsigned char *fr,
                                                  R_ *L, int *nf_out, int *idx, int *bad)
{
    int i, j, nf = 0;
    dopt_status st;
    for (i = 0; i < m; ++i)
        if (fr[i]) idx[nf++] = i;
    for (j = 0; j < nf; ++j)
        for (i = 0; i < nf; ++i) L[i + j * nf] = H[idx[i] + idx[j] * ldh];
    *nf_out = nf;
    st = DOPT_FN(dopt__lqr_chol)(nf, L, bad);
    if (st != DOPT_OK) *bad = idx[*bad];
    return st;
}

/* Box QP by projected Newton (Bertsekas 1982), as in box-DDP (Tassa et al. 2014):
 *   minimize 1/2 x^T H x + g^T x  subject to lo <= x <= hi,  H m x m (ld ldh).
 * x: in: start, out: solution.  On return fr marks the free variables of the final active set
 * and L holds the Cholesky factor of H restricted to them (nf x nf). */
static dopt_status DOPT_FN(dopt__lqr_boxqp)(DOPT_FN(dopt_mpc_lqr) *s, int m, const R_ *H, int ldh,
                                            const R_ *g, const R_ *lo, const R_ *hi, int maxit, R_ *x,
                                            unsigned char *fr, R_ *L, int *nf, int *bad)
{
    R_ *grad = s->qg, *d = s->qd, *xn = s->qx;
    int i, j, it, ls, *idx = s->qidx;
    dopt_status st;
    R_ fval, gscale = 0;
    for (i = 0; i < m; ++i) {
        x[i] = DOPT_FN(dopt__lqr_clamp)(x[i], lo[i], hi[i]);
        if (DOPT_M(fabs)(g[i]) > gscale) gscale = DOPT_M(fabs)(g[i]);
    }
    fval = DOPT_FN(dopt__lqr_quad)(m, H, ldh, g, x);
    for (it = 0;; ++it) {
        R_ gmax = 0, slope = 0, step;
        for (i = 0; i < m; ++i) {
            R_ a = g[i];
            for (j = 0; j < m; ++j) a += H[i + j * ldh] * x[j];
            grad[i] = a;
            fr[i] = !((x[i] <= lo[i] && a > 0) || (x[i] >= hi[i] && a < 0));
        }
        st = DOPT_FN(dopt__lqr_factor_free)(m, H, ldh, fr, L, nf, idx, bad);
        if (st != DOPT_OK) return st;
        for (i = 0; i < m; ++i)
            if (fr[i] && DOPT_M(fabs)(grad[i]) > gmax) gmax = DOPT_M(fabs)(grad[i]);
        if (gmax <= (R_)10 * DOPT_EPS * (1 + gscale) || it >= maxit) break;
        /* Newton step on the free variables, zero on the held ones */
        for (i = 0; i < *nf; ++i) d[i] = -grad[idx[i]];
        DOPT_FN(dopt__lqr_cholsolve)(*nf, L, d);
        for (i = m - 1; i >= 0; --i) xn[i] = 0;
        for (i = 0; i < *nf; ++i) xn[idx[i]] = d[i];
        for (i = 0; i < m; ++i) d[i] = xn[i];
        /* projected Armijo search */
        step = 1;
        for (ls = 0; ls < 40; ++ls) {
            R_ fn;
            slope = 0;
            for (i = 0; i < m; ++i) {
                xn[i] = DOPT_FN(dopt__lqr_clamp)(x[i] + step * d[i], lo[i], hi[i]);
                slope += grad[i] * (xn[i] - x[i]);
            }
            fn = DOPT_FN(dopt__lqr_quad)(m, H, ldh, g, xn);
            if (fn <= fval + (R_)1e-4 * slope) {
                fval = fn;
                break;
            }
            step *= (R_)0.5;
        }
        if (ls == 40) break; /* no decrease left: optimal to rounding */
        for (i = 0; i < m; ++i) x[i] = xn[i];
    }
    return DOPT_OK;
}

/* Pointer of block t of sequence q for element b. */
#define DOPT__LQR_AT(q, b, t) ((q).p + (ptrdiff_t)(b) * (q).bs + (ptrdiff_t)(t) * (q).ts)

#if defined(__GNUC__) || defined(__clang__)
#define DOPT__LQR_INLINE static __inline__ __attribute__((always_inline))
#else
#define DOPT__LQR_INLINE static
#endif

#if (defined(__GNUC__) || defined(__clang__)) && !defined(DOPT_MPC_NO_VECTOR_EXT)
#define DOPT__LQR_VEC 1
#else
#define DOPT__LQR_VEC 0
#endif

/* D[:, j] (+)= sum_k A[:, k] B[k + j ldb] for j < ncol, k < nk: A is NP x nk and D NP x ncol
 * (both ld NP, NP a multiple of 4).  With GCC/Clang and NP <= 32 a compile-time constant, each
 * column of D is held in NP/4 vector registers of 4 reals (GNU vector extension; two columns at
 * a time when they fit) while the k loop streams A: the register-tiled kernel of the Riccati
 * products.  Elsewhere (or with DOPT_MPC_NO_VECTOR_EXT) plain loops. */
DOPT__LQR_INLINE void DOPT_FN(dopt__lqr_gemm)(const int NP, int ncol, int nk, const R_ *DOPT_RESTRICT A,
                                              const R_ *DOPT_RESTRICT B, int ldb, R_ *DOPT_RESTRICT D,
                                              int accumulate)
{
    int i, j, k;
#if DOPT__LQR_VEC
    typedef R_ v4 __attribute__((vector_size(4 * sizeof(R_))));
    if (NP <= 32) {
        const int nv = NP / 4;
        int r;
        j = 0;
        if (nv <= 4)
            for (; j + 1 < ncol; j += 2) {
                v4 a0[4], a1[4];
                R_ *d0 = D + j * NP, *d1 = d0 + NP;
                const R_ *b0 = B + j * ldb, *b1 = b0 + ldb;
                for (r = 0; r < nv; ++r) {
                    v4 t0, t1;
                    if (accumulate) {
                        memcpy(&t0, d0 + 4 * r, sizeof t0);
                        memcpy(&t1, d1 + 4 * r, sizeof t1);
                    } else {
                        v4 z = {0, 0, 0, 0};
                        t0 = z;
                        t1 = z;
                    }
                    a0[r] = t0;
                    a1[r] = t1;
                }
                for (k = 0; k < nk; ++k) {
                    const R_ s0 = b0[k], s1 = b1[k];
                    const v4 bb0 = {s0, s0, s0, s0}, bb1 = {s1, s1, s1, s1};
                    const R_ *ak = A + k * NP;
                    for (r = 0; r < nv; ++r) {
                        v4 t;
                        memcpy(&t, ak + 4 * r, sizeof t);
                        a0[r] += t * bb0;
                        a1[r] += t * bb1;
                    }
                }
                for (r = 0; r < nv; ++r) {
                    v4 t0 = a0[r], t1 = a1[r];
                    memcpy(d0 + 4 * r, &t0, sizeof t0);
                    memcpy(d1 + 4 * r, &t1, sizeof t1);
                }
            }
        for (; j < ncol; ++j) {
            v4 a0[8];
            R_ *d0 = D + j * NP;
            const R_ *b0 = B + j * ldb;
            for (r = 0; r < nv; ++r) {
                v4 t0;
                if (accumulate) {
                    memcpy(&t0, d0 + 4 * r, sizeof t0);
                } else {
                    v4 z = {0, 0, 0, 0};
                    t0 = z;
                }
                a0[r] = t0;
            }
            for (k = 0; k < nk; ++k) {
                const R_ s0 = b0[k];
                const v4 bb0 = {s0, s0, s0, s0};
                const R_ *ak = A + k * NP;
                for (r = 0; r < nv; ++r) {
                    v4 t;
                    memcpy(&t, ak + 4 * r, sizeof t);
                    a0[r] += t * bb0;
                }
            }
            for (r = 0; r < nv; ++r) {
                v4 t0 = a0[r];
                memcpy(d0 + 4 * r, &t0, sizeof t0);
            }
        }
        return;
    }
#endif
    for (j = 0; j < ncol; ++j) {
        R_ *DOPT_RESTRICT dj = D + j * NP;
        const R_ *DOPT_RESTRICT bj = B + j * ldb;
        if (!accumulate)
            for (i = 0; i < NP; ++i) dj[i] = 0;
        for (k = 0; k < nk; ++k) {
            const R_ bkj = bj[k];
            const R_ *DOPT_RESTRICT ak = A + k * NP;
            for (i = 0; i < NP; ++i) dj[i] += ak[i] * bkj;
        }
    }
}

/* One backward Riccati step.  On entry V, v hold the value function of step t+1 (unused when F
 * is NULL, the last step); on exit those of step t.  Absolute form (tb NULL): the linear term
 * is c_t + F^T (V f + v).  Delta form around the nominal tau-bar tb with a consistent rollout:
 * c_t + C tb + F^T v, and the controls are steps du with lo <= du <= hi (lo/hi NULL: none).
 * Writes the factor L, the gains (K^T, n x m column-major), k and the free flags of this step.
 * Scratch columns have NP >= n + m rows (a multiple of 4; the rows past n + m are zero, or past
 * n finite and unused), so every inner loop runs over NP: with NP a compile-time constant
 * (dopt__lqr_step dispatches on it) those loops unroll into whole vector registers. */
DOPT__LQR_INLINE dopt_status DOPT_FN(dopt__lqr_step_np)(DOPT_FN(dopt_mpc_lqr) *s, const int NP, const R_ *C,
                                                        const R_ *c, const R_ *F, const R_ *f, const R_ *tb,
                                                        const R_ *lo, const R_ *hi, int qp_iter, R_ *L, R_ *Kt,
                                                        R_ *k, unsigned char *fr, int *nf, int *bad)
{
    const int n = s->n, m = s->m, N = n + m;
    R_ *DOPT_RESTRICT Q = s->Q, *DOPT_RESTRICT q = s->q, *DOPT_RESTRICT V = s->V, *DOPT_RESTRICT v = s->v;
    R_ *DOPT_RESTRICT Z = s->W, *DOPT_RESTRICT Ft = s->Ft, *DOPT_RESTRICT y = s->y, *DOPT_RESTRICT KT = s->KT;
    int i, j, p;
    dopt_status st;
    for (j = 0; j < N; ++j) {
        for (i = 0; i < N; ++i) Q[i + j * NP] = C[i + j * N];
        for (i = N; i < NP; ++i) Q[i + j * NP] = 0;
    }
    for (i = 0; i < N; ++i) q[i] = c[i];
    for (i = N; i < NP; ++i) q[i] = 0;
    if (tb)
        for (j = 0; j < N; ++j) {
            const R_ tj = tb[j];
            for (i = 0; i < NP; ++i) q[i] += Q[i + j * NP] * tj;
        }
    if (F) {
        /* y = V f + v (absolute form) or v (delta form) */
        for (i = 0; i < NP; ++i) y[i] = v[i];
        if (!tb && f)
            for (p = 0; p < n; ++p) {
                const R_ fp = f[p];
                for (i = 0; i < NP; ++i) y[i] += V[i + p * NP] * fp;
            }
        /* Ft = F^T (NP x n), Z = F^T V (NP x n), Q += Z F, q += F^T y */
        if (s->Ft_of != F) { /* time-invariant dynamics: transposed once per sweep */
            for (p = 0; p < n; ++p) {
                R_ *DOPT_RESTRICT ft = Ft + p * NP;
                for (i = 0; i < N; ++i) ft[i] = F[p + i * n];
                for (i = N; i < NP; ++i) ft[i] = 0;
            }
            s->Ft_of = F;
        }
        DOPT_FN(dopt__lqr_gemm)(NP, n, n, Ft, V, NP, Z, 0);
        DOPT_FN(dopt__lqr_gemm)(NP, N, n, Z, F, n, Q, 1);
        for (p = 0; p < n; ++p) {
            const R_ yp = y[p];
            const R_ *ft = Ft + p * NP;
            for (i = 0; i < NP; ++i) q[i] += ft[i] * yp;
        }
    }
    /* controls: k = argmin of the quadratic in u (box QP with limits), gains on free controls */
    if (lo) {
        for (i = 0; i < m; ++i) k[i] = 0;
        st = DOPT_FN(dopt__lqr_boxqp)(s, m, Q + n + n * NP, NP, q + n, lo, hi, qp_iter, k, fr, L, nf, bad);
        if (st != DOPT_OK) return st;
    } else {
        for (i = 0; i < m; ++i) fr[i] = 1;
        st = DOPT_FN(dopt__lqr_factor_free)(m, Q + n + n * NP, NP, fr, L, nf, s->qidx, bad);
        if (st != DOPT_OK) return st;
        for (i = 0; i < m; ++i) k[i] = -q[n + i];
        DOPT_FN(dopt__lqr_cholsolve)(m, L, k);
    }
    {
        /* K^T = -Q_xu(free) (L L^T)^{-1}: both triangular solves act on whole columns */
        const int nfree = *nf;
        const int *idx = s->qidx;
        for (p = 0; p < nfree; ++p) {
            R_ *DOPT_RESTRICT kp = KT + p * NP;
            const R_ *qp = Q + (n + idx[p]) * NP;
            for (i = 0; i < NP; ++i) kp[i] = -qp[i];
            for (j = 0; j < p; ++j) {
                const R_ l = L[p + j * nfree];
                const R_ *kj = KT + j * NP;
                for (i = 0; i < NP; ++i) kp[i] -= l * kj[i];
            }
            {
                const R_ inv = 1 / L[p + p * nfree];
                for (i = 0; i < NP; ++i) kp[i] *= inv;
            }
        }
        for (p = nfree - 1; p >= 0; --p) {
            R_ *DOPT_RESTRICT kp = KT + p * NP;
            for (j = p + 1; j < nfree; ++j) {
                const R_ l = L[j + p * nfree];
                const R_ *kj = KT + j * NP;
                for (i = 0; i < NP; ++i) kp[i] -= l * kj[i];
            }
            {
                const R_ inv = 1 / L[p + p * nfree];
                for (i = 0; i < NP; ++i) kp[i] *= inv;
            }
        }
        for (p = 0; p < m; ++p)
            for (i = 0; i < n; ++i) Kt[i + p * n] = 0;
        for (p = 0; p < nfree; ++p)
            for (i = 0; i < n; ++i) Kt[i + idx[p] * n] = KT[i + p * NP];
        /* V = Q_xx + Q_xu K,  v = q_x + Q_xu k  (valid for any free set: see the overview) */
        {
            R_ *DOPT_RESTRICT Qf = Z, *DOPT_RESTRICT Kf = s->Kf; /* free columns of Q_.u, rows of K */
            for (p = 0; p < nfree; ++p) {
                const R_ *Qp = Q + (n + idx[p]) * NP;
                for (i = 0; i < NP; ++i) Qf[i + p * NP] = Qp[i];
                for (j = 0; j < n; ++j) Kf[p + j * nfree] = KT[j + p * NP];
            }
            for (i = 0; i < NP * n; ++i) V[i] = Q[i];
            DOPT_FN(dopt__lqr_gemm)(NP, n, nfree, Qf, Kf, nfree, V, 1);
        }
        for (i = 0; i < NP; ++i) v[i] = q[i];
        for (p = 0; p < m; ++p) {
            const R_ kp = k[p];
            const R_ *Qp = Q + (n + p) * NP;
            for (i = 0; i < NP; ++i) v[i] += Qp[i] * kp;
        }
    }
    return DOPT_OK;
}

/* dopt__lqr_step_np with NP a constant for n + m <= 32 (see there). */
static dopt_status DOPT_FN(dopt__lqr_step)(DOPT_FN(dopt_mpc_lqr) *s, const R_ *C, const R_ *c,
                                           const R_ *F, const R_ *f, const R_ *tb, const R_ *lo,
                                           const R_ *hi, int qp_iter, R_ *L, R_ *Kt, R_ *k,
                                           unsigned char *fr, int *nf, int *bad)
{
#define DOPT__LQR_NP(np) \
    DOPT_FN(dopt__lqr_step_np)(s, np, C, c, F, f, tb, lo, hi, qp_iter, L, Kt, k, fr, nf, bad)
    switch (s->NP) {
    case 4: return DOPT__LQR_NP(4);
    case 8: return DOPT__LQR_NP(8);
    case 12: return DOPT__LQR_NP(12);
    case 16: return DOPT__LQR_NP(16);
    case 20: return DOPT__LQR_NP(20);
    case 24: return DOPT__LQR_NP(24);
    case 28: return DOPT__LQR_NP(28);
    case 32: return DOPT__LQR_NP(32);
    default: return DOPT__LQR_NP(s->NP);
    }
#undef DOPT__LQR_NP
}

/* x' = F tau + f (n). */
static void DOPT_FN(dopt__lqr_dyn)(int n, int N, const R_ *F, const R_ *f, const R_ *tau, R_ *xn)
{
    int i, j;
    for (i = 0; i < n; ++i) xn[i] = f ? f[i] : 0;
    for (j = 0; j < N; ++j) {
        const R_ tj = tau[j];
        const R_ *Fj = F + j * n;
        for (i = 0; i < n; ++i) xn[i] += Fj[i] * tj;
    }
}

/* Objective of element b at trajectory tau (T x N contiguous). */
static R_ DOPT_FN(dopt__lqr_cost)(const DOPT_FN(dopt_mpc_lqr) *s, const DOPT_FN(dopt_mpc_lqr_data) *d,
                                  ptrdiff_t b, const R_ *tau)
{
    const int N = s->n + s->m;
    int t;
    R_ J = 0;
    for (t = 0; t < s->T; ++t) {
        const R_ *C = DOPT__LQR_AT(d->C, b, t), *c = DOPT__LQR_AT(d->c, b, t), *x = tau + (size_t)t * N;
        J += DOPT_FN(dopt__lqr_quad)(N, C, N, c, x);
    }
    return J;
}

/* Backward sweep for element b (absolute form when tb is NULL). */
static dopt_status DOPT_FN(dopt__lqr_sweep)(DOPT_FN(dopt_mpc_lqr) *s, const DOPT_FN(dopt_mpc_lqr_data) *d,
                                            ptrdiff_t b, const R_ *tb, int qp_iter, int *fail_t, int *bad)
{
    const int n = s->n, m = s->m, T = s->T, N = n + m;
    const size_t bt = (size_t)b * (size_t)T;
    int t, i;
    s->Ft_of = NULL;
    for (i = 0; i < s->NP * n; ++i) s->V[i] = 0;
    for (i = 0; i < s->NP; ++i) s->v[i] = 0;
    for (t = T - 1; t >= 0; --t) {
        const R_ *F = t < T - 1 ? DOPT__LQR_AT(d->F, b, t) : NULL;
        const R_ *f = t < T - 1 && d->f.p ? DOPT__LQR_AT(d->f, b, t) : NULL;
        const R_ *lo = NULL, *hi = NULL;
        dopt_status st;
        if (tb) {
            const R_ *ub = tb + (size_t)t * N + n;
            for (i = 0; i < m; ++i) {
                s->lo[i] = (d->u_lower.p ? DOPT__LQR_AT(d->u_lower, b, t)[i] : -(R_)HUGE_VAL) - ub[i];
                s->hi[i] = (d->u_upper.p ? DOPT__LQR_AT(d->u_upper, b, t)[i] : (R_)HUGE_VAL) - ub[i];
            }
            lo = s->lo;
            hi = s->hi;
        }
        st = DOPT_FN(dopt__lqr_step)(s, DOPT__LQR_AT(d->C, b, t), DOPT__LQR_AT(d->c, b, t), F, f,
                                     tb ? tb + (size_t)t * N : NULL, lo, hi, qp_iter,
                                     s->L + (bt + t) * (size_t)m * m, s->K + (bt + t) * (size_t)m * n,
                                     s->k + (bt + t) * (size_t)m, s->fr + (bt + t) * (size_t)m,
                                     s->nf + bt + t, bad);
        if (st != DOPT_OK) {
            *fail_t = t;
            return st;
        }
    }
    return DOPT_OK;
}

/* Forward rollout of element b: u_t = clamp(ub_t + K (x_t - xb_t) + alpha k_t) (delta form,
 * tb non-NULL) or u_t = K x_t + k_t (absolute), x_{t+1} = F tau_t + f. */
static void DOPT_FN(dopt__lqr_rollout)(DOPT_FN(dopt_mpc_lqr) *s, const DOPT_FN(dopt_mpc_lqr_data) *d,
                                       ptrdiff_t b, const R_ *tb, R_ alpha, R_ *out)
{
    const int n = s->n, m = s->m, T = s->T, N = n + m;
    const size_t bt = (size_t)b * (size_t)T;
    const R_ *x0 = DOPT__LQR_AT(d->x_init, b, 0);
    int t, i, j;
    for (i = 0; i < n; ++i) out[i] = x0[i];
    for (t = 0; t < T; ++t) {
        R_ *x = out + (size_t)t * N, *u = x + n;
        const R_ *K = s->K + (bt + t) * (size_t)m * n, *k = s->k + (bt + t) * (size_t)m;
        if (tb) {
            const R_ *xb = tb + (size_t)t * N, *ub = xb + n;
            const R_ *lo = d->u_lower.p ? DOPT__LQR_AT(d->u_lower, b, t) : NULL;
            const R_ *hi = d->u_upper.p ? DOPT__LQR_AT(d->u_upper, b, t) : NULL;
            for (i = 0; i < m; ++i) {
                R_ a = ub[i] + alpha * k[i];
                const R_ *Ki = K + i * n;
                for (j = 0; j < n; ++j) a += Ki[j] * (x[j] - xb[j]);
                u[i] = a;
            }
            for (i = 0; i < m; ++i) {
                if (lo && u[i] < lo[i]) u[i] = lo[i];
                if (hi && u[i] > hi[i]) u[i] = hi[i];
            }
        } else {
            for (i = 0; i < m; ++i) {
                R_ a = k[i];
                const R_ *Ki = K + i * n;
                for (j = 0; j < n; ++j) a += Ki[j] * x[j];
                u[i] = a;
            }
        }
        if (t < T - 1)
            DOPT_FN(dopt__lqr_dyn)(n, N, DOPT__LQR_AT(d->F, b, t),
                                   d->f.p ? DOPT__LQR_AT(d->f, b, t) : NULL, x, x + N);
    }
}

/* Multipliers from the state rows of the stationarity conditions, backward in time:
 * lam_t = [C_t tau_t + g_t + F_t^T lam_{t+1}]_x  (g = c, or the adjoint's linear term). */
static void DOPT_FN(dopt__lqr_multipliers)(const DOPT_FN(dopt_mpc_lqr) *s, const DOPT_FN(dopt_mpc_lqr_data) *d,
                                           ptrdiff_t b, const R_ *tau, DOPT_FN(dopt_mpc_cseq) g, R_ *lam)
{
    const int n = s->n, T = s->T, N = n + s->m;
    int t, i, j;
    for (t = T - 1; t >= 0; --t) {
        const R_ *C = DOPT__LQR_AT(d->C, b, t), *gt = DOPT__LQR_AT(g, b, t), *x = tau + (size_t)t * N;
        R_ *l = lam + (size_t)t * n;
        for (i = 0; i < n; ++i) l[i] = gt[i];
        for (j = 0; j < N; ++j)
            for (i = 0; i < n; ++i) l[i] += C[i + j * N] * x[j];
        if (t < T - 1) {
            const R_ *F = DOPT__LQR_AT(d->F, b, t), *ln = l + n;
            for (i = 0; i < n; ++i) {
                R_ a = 0;
                for (j = 0; j < n; ++j) a += F[j + i * n] * ln[j];
                l[i] += a;
            }
        }
    }
}

/* The first non-finite number of element b's data, or DOPT_OK; *where = time step. */
static dopt_status DOPT_FN(dopt__lqr_check_data)(const DOPT_FN(dopt_mpc_lqr) *s, const DOPT_FN(dopt_mpc_lqr_data) *d,
                                                 ptrdiff_t b, int *where)
{
    const int n = s->n, N = n + s->m;
    int t;
    for (t = 0; t < s->T; ++t) {
        *where = t;
        if (!DOPT_FN(dopt_all_finite)(N * N, DOPT__LQR_AT(d->C, b, t)) ||
            !DOPT_FN(dopt_all_finite)(N, DOPT__LQR_AT(d->c, b, t)))
            return DOPT_ERR_NON_FINITE;
        if (t < s->T - 1 && (!DOPT_FN(dopt_all_finite)(n * N, DOPT__LQR_AT(d->F, b, t)) ||
                             (d->f.p && !DOPT_FN(dopt_all_finite)(n, DOPT__LQR_AT(d->f, b, t)))))
            return DOPT_ERR_NON_FINITE;
    }
    *where = 0;
    if (!DOPT_FN(dopt_all_finite)(n, DOPT__LQR_AT(d->x_init, b, 0))) return DOPT_ERR_NON_FINITE;
    return DOPT_OK;
}

/* Bounds of element b: no NaN, lower <= upper. */
static dopt_status DOPT_FN(dopt__lqr_check_bounds)(const DOPT_FN(dopt_mpc_lqr) *s, const DOPT_FN(dopt_mpc_lqr_data) *d,
                                                   ptrdiff_t b, int *where)
{
    int t, i;
    for (t = 0; t < s->T; ++t) {
        const R_ *lo = d->u_lower.p ? DOPT__LQR_AT(d->u_lower, b, t) : NULL;
        const R_ *hi = d->u_upper.p ? DOPT__LQR_AT(d->u_upper, b, t) : NULL;
        *where = t;
        for (i = 0; i < s->m; ++i) {
            R_ l = lo ? lo[i] : -(R_)HUGE_VAL, h = hi ? hi[i] : (R_)HUGE_VAL;
            if (l != l || h != h || l == (R_)HUGE_VAL || h == -(R_)HUGE_VAL) return DOPT_ERR_NON_FINITE;
            if (l > h) return DOPT_ERR_INVALID_ARGUMENT;
        }
    }
    return DOPT_OK;
}

/* Solve element b into s->tau (+ s->lam); fills rep. */
static dopt_status DOPT_FN(dopt__lqr_solve_one)(DOPT_FN(dopt_mpc_lqr) *s, const DOPT_FN(dopt_mpc_lqr_data) *d,
                                                const DOPT_FN(dopt_mpc_lqr_options) *o, ptrdiff_t b,
                                                DOPT_FN(dopt_mpc_seq) tau_in, int want_cost,
                                                DOPT_FN(dopt_mpc_lqr_report) *rep)
{
    const int n = s->n, m = s->m, T = s->T, N = n + m;
    R_ *tau = s->tau + (size_t)b * T * N;
    int box = d->u_lower.p || d->u_upper.p, bad = 0, t, i;
    dopt_status st;
    rep->fail_t = -1;
    if (box) {
        st = DOPT_FN(dopt__lqr_check_bounds)(s, d, b, &rep->fail_t);
        if (st != DOPT_OK) return st;
    }
    if (!box) {
        st = DOPT_FN(dopt__lqr_sweep)(s, d, b, NULL, 0, &rep->fail_t, &bad);
        if (st != DOPT_OK) return st;
        DOPT_FN(dopt__lqr_rollout)(s, d, b, NULL, 0, tau);
        rep->iterations = 1;
        rep->converged = 1;
    } else {
        R_ J, *trial = s->trial;
        int it;
        /* starting controls: the caller's (warm start) or zero, clamped; then the rollout */
        memset(trial, 0, (size_t)T * N * sizeof(R_));
        for (t = 0; t < T; ++t)
            for (i = 0; i < m; ++i) {
                R_ u = o->warm_start && tau_in.p ? DOPT__LQR_AT(tau_in, b, t)[n + i] : 0;
                trial[(size_t)t * N + n + i] = u;
                s->k[((size_t)b * T + t) * m + i] = 0;
            }
        for (i = 0; i < n * m * T; ++i) s->K[(size_t)b * T * m * n + i] = 0;
        for (i = 0; i < N * T; ++i) tau[i] = trial[i];
        DOPT_FN(dopt__lqr_rollout)(s, d, b, tau, 0, trial); /* K = 0, k = 0: clamp + rollout */
        for (i = 0; i < N * T; ++i) tau[i] = trial[i];
        J = DOPT_FN(dopt__lqr_cost)(s, d, b, tau);
        rep->converged = 0;
        for (it = 0; it < o->max_iter; ++it) {
            R_ kmax = 0, umax = 0, alpha = 1, Jt = 0;
            int ls;
            st = DOPT_FN(dopt__lqr_sweep)(s, d, b, tau, o->qp_max_iter, &rep->fail_t, &bad);
            rep->iterations = it + 1;
            if (st != DOPT_OK) return st;
            for (t = 0; t < T; ++t)
                for (i = 0; i < m; ++i) {
                    R_ ka = DOPT_M(fabs)(s->k[((size_t)b * T + t) * m + i]);
                    R_ ua = DOPT_M(fabs)(tau[(size_t)t * N + n + i]);
                    if (ka > kmax) kmax = ka;
                    if (ua > umax) umax = ua;
                }
            if (!(kmax == kmax)) return DOPT_ERR_NON_FINITE;
            if (kmax <= o->tol * (1 + umax)) {
                rep->converged = 1;
                break;
            }
            for (ls = 0; ls < 30; ++ls, alpha *= (R_)0.5) {
                DOPT_FN(dopt__lqr_rollout)(s, d, b, tau, alpha, trial);
                Jt = DOPT_FN(dopt__lqr_cost)(s, d, b, trial);
                if (Jt <= J + 8 * DOPT_EPS * (1 + DOPT_M(fabs)(J))) break;
            }
            if (ls == 30) break; /* no descent along the box-DDP step */
            J = Jt;
            for (i = 0; i < N * T; ++i) tau[i] = trial[i];
        }
        rep->n_clamped = 0;
        for (t = 0; t < T; ++t)
            for (i = 0; i < m; ++i) rep->n_clamped += !s->fr[((size_t)b * T + t) * m + i];
    }
    /* NaN/Inf anywhere in the data reaches tau or the value function of step 0 (V_0, v_0 hold
     * the only terms, C_0's state block and c_0's state part, that tau does not see) */
    if (!DOPT_FN(dopt_all_finite)(N * T, tau) || !DOPT_FN(dopt_all_finite)(s->NP * n, s->V) ||
        !DOPT_FN(dopt_all_finite)(n, s->v))
        return DOPT_ERR_NON_FINITE;
    if (want_cost) {
        rep->cost = DOPT_FN(dopt__lqr_cost)(s, d, b, tau);
        if (!(rep->cost - rep->cost == 0)) return DOPT_ERR_NON_FINITE;
    }
    return rep->converged ? DOPT_OK : DOPT_ERR_NO_CONVERGENCE;
}

static dopt_status DOPT_FN(dopt__lqr_fail)(dopt_errinfo *info, dopt_status st, ptrdiff_t b, int t, const char *what)
{
    char msg[160];
    dopt__mpc_msg(msg, sizeof msg, what, t, "");
    return dopt_errinfo_set(info, st, (long)b, 0, msg);
}

DOPT_API dopt_status DOPT_FN(dopt_mpc_lqr_solve)(DOPT_FN(dopt_mpc_lqr) *s,
                                                 const DOPT_FN(dopt_mpc_lqr_data) *data,
                                                 const DOPT_FN(dopt_mpc_lqr_options) *options,
                                                 DOPT_FN(dopt_mpc_seq) tau, DOPT_FN(dopt_mpc_seq) lam,
                                                 DOPT_FN(dopt_mpc_lqr_report) *reports,
                                                 dopt_errinfo *info)
{
    DOPT_FN(dopt_mpc_lqr_options) o;
    dopt_status first = DOPT_OK;
    ptrdiff_t b;
    int n, m, T, N, t, i;
    if (!s || !data) return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "mpc lqr: NULL argument");
    if (!data->C.p || !data->c.p || !data->x_init.p || (s->T > 1 && !data->F.p))
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "mpc lqr: C, c, F and x_init are required");
    if (options) o = *options; else memset(&o, 0, sizeof o);
    if (o.max_iter < 0 || o.qp_max_iter < 0 || o.tol < 0 || (o.warm_start != 0 && o.warm_start != 1))
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "mpc lqr: bad option value");
    if (o.max_iter == 0) o.max_iter = 100;
    if (o.qp_max_iter == 0) o.qp_max_iter = 50;
    if (o.tol == 0) o.tol = DOPT_IS_FLOAT ? (R_)1e-5 : (R_)1e-11;
    n = s->n;
    m = s->m;
    T = s->T;
    N = n + m;
    s->data = *data;
    s->solved = 0;
    s->lam_valid = lam.p != NULL;
    for (b = 0; b < s->B; ++b) {
        DOPT_FN(dopt_mpc_lqr_report) rep;
        dopt_status st;
        memset(&rep, 0, sizeof rep);
        st = DOPT_FN(dopt__lqr_solve_one)(s, data, &o, b, tau, reports != NULL, &rep);
        if (st == DOPT_ERR_NON_FINITE || st == DOPT_ERR_NOT_POSITIVE_DEFINITE) {
            int where;
            if (DOPT_FN(dopt__lqr_check_data)(s, data, b, &where) != DOPT_OK) {
                st = DOPT_ERR_NON_FINITE;
                rep.fail_t = where;
            }
        }
        rep.status = st;
        s->st[b] = st;
        s->conv[b] = rep.converged;
        if ((st == DOPT_OK || st == DOPT_ERR_NO_CONVERGENCE) && lam.p)
            DOPT_FN(dopt__lqr_multipliers)(s, data, b, s->tau + (size_t)b * T * N, data->c,
                                           s->lam + (size_t)b * T * n);
        if (st == DOPT_OK || st == DOPT_ERR_NO_CONVERGENCE) {
            const R_ *tb = s->tau + (size_t)b * T * N, *lb = s->lam + (size_t)b * T * n;
            for (t = 0; t < T; ++t) {
                if (tau.p)
                    for (i = 0; i < N; ++i) DOPT__LQR_AT(tau, b, t)[i] = tb[(size_t)t * N + i];
                if (lam.p)
                    for (i = 0; i < n; ++i) DOPT__LQR_AT(lam, b, t)[i] = lb[(size_t)t * n + i];
            }
        }
        if (reports) reports[b] = rep;
        if (st != DOPT_OK && first == DOPT_OK) {
            first = st;
            if (st == DOPT_ERR_NOT_POSITIVE_DEFINITE)
                DOPT_FN(dopt__lqr_fail)(info, st, b, rep.fail_t, "mpc lqr: Q_uu is not positive definite at time step ");
            else if (st == DOPT_ERR_NON_FINITE)
                DOPT_FN(dopt__lqr_fail)(info, st, b, rep.fail_t, "mpc lqr: NaN or Inf in the data or the solution, time step ");
            else if (st == DOPT_ERR_INVALID_ARGUMENT)
                DOPT_FN(dopt__lqr_fail)(info, st, b, rep.fail_t, "mpc lqr: u_lower > u_upper at time step ");
            else
                DOPT_FN(dopt__lqr_fail)(info, st, b, rep.iterations, "mpc lqr: box-DDP did not converge; passes: ");
        }
    }
    s->solved = 1;
    (void)m;
    return first;
}

/* A gradient array is "shared" when a stride of 0 makes elements or steps add into one block;
 * otherwise every (element, step) block is its own and is written, not accumulated (the blocks
 * of different elements and steps must not overlap then). */
#define DOPT__LQR_SHARED(q) ((q).ts == 0 || (q).bs == 0)
#define DOPT__LQR_SHARED_X(q) ((q).bs == 0)

/* Zero element b's blocks of the shared arrays (which = 0) or of the unshared ones (which = 1:
 * an element that gets no gradient).  Shared blocks are zeroed repeatedly: harmless. */
static void DOPT_FN(dopt__lqr_grad_zero)(const DOPT_FN(dopt_mpc_lqr) *s, const DOPT_FN(dopt_mpc_lqr_grad) *g,
                                         ptrdiff_t b, int which)
{
    const int n = s->n, N = n + s->m;
    int t;
    for (t = 0; t < s->T; ++t) {
        if (g->C.p && DOPT__LQR_SHARED(g->C) == !which) memset(DOPT__LQR_AT(g->C, b, t), 0, (size_t)N * N * sizeof(R_));
        if (g->c.p && DOPT__LQR_SHARED(g->c) == !which) memset(DOPT__LQR_AT(g->c, b, t), 0, (size_t)N * sizeof(R_));
        if (t < s->T - 1 && g->F.p && DOPT__LQR_SHARED(g->F) == !which)
            memset(DOPT__LQR_AT(g->F, b, t), 0, (size_t)n * N * sizeof(R_));
        if (t < s->T - 1 && g->f.p && DOPT__LQR_SHARED(g->f) == !which)
            memset(DOPT__LQR_AT(g->f, b, t), 0, (size_t)n * sizeof(R_));
    }
    if (g->x_init.p && DOPT__LQR_SHARED_X(g->x_init) == !which)
        memset(DOPT__LQR_AT(g->x_init, b, 0), 0, (size_t)n * sizeof(R_));
}

/* The adjoint LQR of element b: d_tau, d_lam into s->dtau, s->dlam. */
static void DOPT_FN(dopt__lqr_adjoint)(DOPT_FN(dopt_mpc_lqr) *s, ptrdiff_t b, DOPT_FN(dopt_mpc_cseq) dtau)
{
    const DOPT_FN(dopt_mpc_lqr_data) *d = &s->data;
    const int n = s->n, m = s->m, T = s->T, N = n + m;
    const size_t bt = (size_t)b * (size_t)T;
    R_ *v = s->v, *q = s->q, *dk = s->dk, *dt = s->dtau;
    int t, i, j;
    for (i = 0; i < n; ++i) v[i] = 0;
    for (t = T - 1; t >= 0; --t) {
        const R_ *g = DOPT__LQR_AT(dtau, b, t);
        const R_ *K = s->K + (bt + t) * (size_t)m * n, *L = s->L + (bt + t) * (size_t)m * m;
        const unsigned char *fr = s->fr + (bt + t) * (size_t)m;
        R_ *k = dk + (size_t)t * m, *tmp = s->qd;
        int nf = 0;
        for (i = 0; i < N; ++i) q[i] = g[i];
        if (t < T - 1) {
            const R_ *F = DOPT__LQR_AT(d->F, b, t);
            for (j = 0; j < N; ++j) {
                R_ a = 0;
                const R_ *Fj = F + j * n;
                for (i = 0; i < n; ++i) a += Fj[i] * v[i];
                q[j] += a;
            }
        }
        for (i = 0; i < m; ++i)
            if (fr[i]) tmp[nf++] = -q[n + i];
        DOPT_FN(dopt__lqr_cholsolve)(nf, L, tmp);
        for (i = m - 1, j = nf - 1; i >= 0; --i) k[i] = fr[i] ? tmp[j--] : 0;
        /* v = q_x + K^T q_u (K has zero rows on held controls) */
        for (j = 0; j < n; ++j) v[j] = q[j];
        for (i = 0; i < m; ++i) {
            const R_ qu = q[n + i];
            const R_ *Ki = K + i * n;
            for (j = 0; j < n; ++j) v[j] += Ki[j] * qu;
        }
    }
    /* rollout from d_x0 = 0 */
    for (i = 0; i < n; ++i) dt[i] = 0;
    for (t = 0; t < T; ++t) {
        R_ *x = dt + (size_t)t * N, *u = x + n;
        const R_ *K = s->K + (bt + t) * (size_t)m * n;
        for (i = 0; i < m; ++i) {
            R_ a = dk[(size_t)t * m + i];
            const R_ *Ki = K + i * n;
            for (j = 0; j < n; ++j) a += Ki[j] * x[j];
            u[i] = a;
        }
        if (t < T - 1) DOPT_FN(dopt__lqr_dyn)(n, N, DOPT__LQR_AT(d->F, b, t), NULL, x, x + N);
    }
    DOPT_FN(dopt__lqr_multipliers)(s, d, b, dt, dtau, s->dlam);
}

/* Element b's gradients from (tau, lam, d_tau, d_lam): added into shared arrays, written into
 * unshared ones. */
static void DOPT_FN(dopt__lqr_grad_add)(const DOPT_FN(dopt_mpc_lqr) *s, const DOPT_FN(dopt_mpc_lqr_grad) *g, ptrdiff_t b)
{
    const int n = s->n, T = s->T, N = n + s->m;
    const R_ *tau = s->tau + (size_t)b * T * N, *lam = s->lam + (size_t)b * T * n;
    const R_ *dt = s->dtau, *dl = s->dlam;
    const int aC = DOPT__LQR_SHARED(g->C), ac = DOPT__LQR_SHARED(g->c), aF = DOPT__LQR_SHARED(g->F);
    const int af = DOPT__LQR_SHARED(g->f), ax = DOPT__LQR_SHARED_X(g->x_init);
    int t, i, j;
    for (t = 0; t < T; ++t) {
        const R_ *x = tau + (size_t)t * N, *dx = dt + (size_t)t * N;
        if (g->C.p) {
            R_ *G = DOPT__LQR_AT(g->C, b, t);
            for (j = 0; j < N; ++j) {
                const R_ xj = (R_)0.5 * x[j], dxj = (R_)0.5 * dx[j];
                R_ *Gj = G + j * N;
                if (aC)
                    for (i = 0; i < N; ++i) Gj[i] += dx[i] * xj + x[i] * dxj;
                else
                    for (i = 0; i < N; ++i) Gj[i] = dx[i] * xj + x[i] * dxj;
            }
        }
        if (g->c.p) {
            R_ *G = DOPT__LQR_AT(g->c, b, t);
            for (i = 0; i < N; ++i) G[i] = (ac ? G[i] : 0) + dx[i];
        }
        if (t < T - 1) {
            const R_ *ln = lam + (size_t)(t + 1) * n, *dln = dl + (size_t)(t + 1) * n;
            if (g->F.p) {
                R_ *G = DOPT__LQR_AT(g->F, b, t);
                for (j = 0; j < N; ++j) {
                    const R_ xj = x[j], dxj = dx[j];
                    R_ *Gj = G + j * n;
                    if (aF)
                        for (i = 0; i < n; ++i) Gj[i] += dln[i] * xj + ln[i] * dxj;
                    else
                        for (i = 0; i < n; ++i) Gj[i] = dln[i] * xj + ln[i] * dxj;
                }
            }
            if (g->f.p) {
                R_ *G = DOPT__LQR_AT(g->f, b, t);
                for (i = 0; i < n; ++i) G[i] = (af ? G[i] : 0) + dln[i];
            }
        }
    }
    if (g->x_init.p) {
        R_ *G = DOPT__LQR_AT(g->x_init, b, 0);
        for (i = 0; i < n; ++i) G[i] = (ax ? G[i] : 0) + dl[i];
    }
}

DOPT_API dopt_status DOPT_FN(dopt_mpc_lqr_backward)(DOPT_FN(dopt_mpc_lqr) *s, DOPT_FN(dopt_mpc_cseq) dtau,
                                                    const DOPT_FN(dopt_mpc_lqr_backward_options) *options,
                                                    const DOPT_FN(dopt_mpc_lqr_grad) *grad,
                                                    dopt_status *bwd_status, dopt_errinfo *info)
{
    dopt_bwd_policy policy = options ? options->policy : DOPT_BWD_FLAG;
    dopt_status first = DOPT_OK;
    ptrdiff_t b;
    int t;
    if (!s || !grad || !dtau.p) return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "mpc lqr backward: NULL argument");
    if (!s->solved) return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "mpc lqr backward: no forward solve");
    if (policy != DOPT_BWD_FLAG && policy != DOPT_BWD_ZERO && policy != DOPT_BWD_FAIL)
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "mpc lqr backward: unknown policy");
    for (b = 0; b < s->B; ++b) DOPT_FN(dopt__lqr_grad_zero)(s, grad, b, 0);
    for (b = 0; b < s->B; ++b) {
        dopt_status st = s->st[b];
        int finite = 1;
        for (t = 0; t < s->T && finite; ++t) finite = DOPT_FN(dopt_all_finite)(s->n + s->m, DOPT__LQR_AT(dtau, b, t));
        if (st == DOPT_OK || (st == DOPT_ERR_NO_CONVERGENCE && policy == DOPT_BWD_FLAG)) {
            if (!finite) {
                st = DOPT_ERR_NON_FINITE;
            } else {
                if (!s->lam_valid && grad->F.p) /* dL/dF is the only user of the multipliers */
                    DOPT_FN(dopt__lqr_multipliers)(s, &s->data, b, s->tau + (size_t)b * s->T * (s->n + s->m),
                                                   s->data.c, s->lam + (size_t)b * s->T * s->n);
                DOPT_FN(dopt__lqr_adjoint)(s, b, dtau);
                if (!DOPT_FN(dopt_all_finite)(s->T * (s->n + s->m), s->dtau) ||
                    !DOPT_FN(dopt_all_finite)(s->T * s->n, s->dlam))
                    st = DOPT_ERR_NON_FINITE;
                else
                    DOPT_FN(dopt__lqr_grad_add)(s, grad, b);
            }
        }
        if (st != DOPT_OK && !(st == DOPT_ERR_NO_CONVERGENCE && policy == DOPT_BWD_FLAG))
            DOPT_FN(dopt__lqr_grad_zero)(s, grad, b, 1); /* no gradient: its own blocks read 0 */
        if (bwd_status) bwd_status[b] = st;
        if (st == DOPT_ERR_NO_CONVERGENCE && policy != DOPT_BWD_FAIL) continue;
        if (st != DOPT_OK && first == DOPT_OK) {
            first = st;
            DOPT_FN(dopt__lqr_fail)(info, st, b, b, st == DOPT_ERR_NO_CONVERGENCE
                                    ? "mpc lqr backward: forward did not converge (policy FAIL), element "
                                    : "mpc lqr backward: no gradient for element ");
        }
    }
    if (grad->F.p) s->lam_valid = 1;
    return first;
}
#undef R_

/* ---- nonlinear MPC ---------------------------------------------------------------------------- */
#define R_ DOPT_REAL
struct DOPT_FN(dopt_mpc_ilqr) {
    dopt_hooks hooks;
    void *owned;
    size_t owned_bytes;
    int n, m, T;
    ptrdiff_t B;
    DOPT_FN(dopt_mpc_lqr) *lqr;   /* factors and solution of the final approximation          */
    R_ *C, *c, *F, *f;            /* the approximation, contiguous per element                 */
    R_ *trial, *work;             /* T*(n+m); 4*(n+m) + (n+m)^2 finite-difference scratch       */
    DOPT_FN(dopt_mpc_lqr_data) approx;
};

static size_t DOPT_FN(dopt__ilqr_layout)(DOPT_FN(dopt_mpc_ilqr) *s, dopt_workspace *ws, int n, int m, int T,
                                         ptrdiff_t B)
{
    size_t N = (size_t)(n + m), bt = (size_t)B * (size_t)T, tot = 0, sz[6];
    void **dst[6];
    int i, cnt = 0;
#define DOPT__ILQR_BLK(ptr, bytes) (dst[cnt] = (void **)(void *)&(ptr), sz[cnt++] = (bytes))
    DOPT__ILQR_BLK(s->C, bt * N * N * sizeof(R_));
    DOPT__ILQR_BLK(s->c, bt * N * sizeof(R_));
    DOPT__ILQR_BLK(s->F, bt * (size_t)n * N * sizeof(R_));
    DOPT__ILQR_BLK(s->f, bt * (size_t)n * sizeof(R_));
    DOPT__ILQR_BLK(s->trial, (size_t)T * N * sizeof(R_));
    DOPT__ILQR_BLK(s->work, (4 * N + N * N + 4) * sizeof(R_));
#undef DOPT__ILQR_BLK
    for (i = 0; i < cnt; ++i) {
        if (ws) {
            *dst[i] = dopt_workspace_take(ws, sz[i]);
            if (!*dst[i]) return 0;
        }
        tot += DOPT_WORKSPACE_ROUND(sz[i]);
    }
    return tot;
}

DOPT_API dopt_status DOPT_FN(dopt_mpc_ilqr_workspace_size)(int n, int m, int T, ptrdiff_t B,
                                                           size_t *bytes, dopt_errinfo *info)
{
    DOPT_FN(dopt_mpc_ilqr) tmp;
    size_t lq;
    dopt_status st;
    if (!bytes) return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "mpc ilqr: NULL bytes");
    *bytes = 0;
    st = DOPT_FN(dopt_mpc_lqr_workspace_size)(n, m, T, B, &lq, info);
    if (st != DOPT_OK) return st;
    memset(&tmp, 0, sizeof tmp);
    *bytes = DOPT_WORKSPACE_ROUND(lq) + DOPT_FN(dopt__ilqr_layout)(&tmp, NULL, n, m, T, B) + DOPT_WORKSPACE_ROUND(sizeof tmp) +
             DOPT_WORKSPACE_ALIGN;
    return DOPT_OK;
}

DOPT_API dopt_status DOPT_FN(dopt_mpc_ilqr_create_in)(void *memory, size_t bytes, int n, int m, int T,
                                                      ptrdiff_t B, DOPT_FN(dopt_mpc_ilqr) **out,
                                                      dopt_errinfo *info)
{
    dopt_workspace ws;
    DOPT_FN(dopt_mpc_ilqr) *s;
    size_t need, lq;
    dopt_status st;
    void *lmem;
    if (!out) return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "mpc ilqr: NULL out");
    *out = NULL;
    st = DOPT_FN(dopt_mpc_ilqr_workspace_size)(n, m, T, B, &need, info);
    if (st != DOPT_OK) return st;
    if (!memory || bytes < need)
        return dopt_errinfo_set(info, DOPT_ERR_ALLOCATION, -1, 0, "mpc ilqr: workspace too small");
    DOPT_FN(dopt_mpc_lqr_workspace_size)(n, m, T, B, &lq, NULL);
    dopt_workspace_init(&ws, memory, bytes);
    s = (DOPT_FN(dopt_mpc_ilqr) *)dopt_workspace_take(&ws, sizeof *s);
    if (!s) return dopt_errinfo_set(info, DOPT_ERR_ALLOCATION, -1, 0, "mpc ilqr: workspace too small");
    memset(s, 0, sizeof *s);
    s->n = n;
    s->m = m;
    s->T = T;
    s->B = B;
    lmem = dopt_workspace_take(&ws, lq);
    if (!lmem || !DOPT_FN(dopt__ilqr_layout)(s, &ws, n, m, T, B))
        return dopt_errinfo_set(info, DOPT_ERR_ALLOCATION, -1, 0, "mpc ilqr: workspace too small");
    st = DOPT_FN(dopt_mpc_lqr_create_in)(lmem, lq, n, m, T, B, &s->lqr, info);
    if (st != DOPT_OK) return st;
    s->approx.C.p = s->C; s->approx.C.ts = (ptrdiff_t)(n + m) * (n + m); s->approx.C.bs = s->approx.C.ts * T;
    s->approx.c.p = s->c; s->approx.c.ts = n + m; s->approx.c.bs = (ptrdiff_t)(n + m) * T;
    s->approx.F.p = s->F; s->approx.F.ts = (ptrdiff_t)n * (n + m); s->approx.F.bs = s->approx.F.ts * T;
    s->approx.f.p = s->f; s->approx.f.ts = n; s->approx.f.bs = (ptrdiff_t)n * T;
    *out = s;
    return DOPT_OK;
}

DOPT_API dopt_status DOPT_FN(dopt_mpc_ilqr_create)(const dopt_hooks *hooks, int n, int m, int T,
                                                   ptrdiff_t B, DOPT_FN(dopt_mpc_ilqr) **out,
                                                   dopt_errinfo *info)
{
    size_t bytes;
    void *mem;
    dopt_status st;
    if (!out) return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "mpc ilqr: NULL out");
    *out = NULL;
    st = DOPT_FN(dopt_mpc_ilqr_workspace_size)(n, m, T, B, &bytes, info);
    if (st != DOPT_OK) return st;
    mem = dopt_alloc(hooks, bytes);
    if (!mem) return dopt_errinfo_set(info, DOPT_ERR_ALLOCATION, -1, 0, "mpc ilqr: out of memory");
    st = DOPT_FN(dopt_mpc_ilqr_create_in)(mem, bytes, n, m, T, B, out, info);
    if (st != DOPT_OK) {
        dopt_free(hooks, mem, bytes);
        return st;
    }
    if (hooks) (*out)->hooks = *hooks;
    (*out)->owned = mem;
    (*out)->owned_bytes = bytes;
    return DOPT_OK;
}

DOPT_API void DOPT_FN(dopt_mpc_ilqr_destroy)(DOPT_FN(dopt_mpc_ilqr) *s)
{
    dopt_hooks h;
    if (!s || !s->owned) return;
    h = s->hooks;
    dopt_free(&h, s->owned, s->owned_bytes);
}

/* Dynamics value and Jacobian F (n x N) at tau = [x; u]: the callback's, or central differences. */
static dopt_status DOPT_FN(dopt__ilqr_dyn)(DOPT_FN(dopt_mpc_ilqr) *s, const DOPT_FN(dopt_mpc_ilqr_problem) *p,
                                           ptrdiff_t b, int t, const R_ *tau, R_ *xn, R_ *F, R_ h0)
{
    const int n = s->n, N = n + s->m;
    R_ *z = s->work, *fp = z + N, *fm = fp + N;
    dopt_status st;
    int i, j;
    if (!F || p->dynamics_jacobian) {
        st = p->dynamics(p->user, b, t, tau, tau + n, xn, F);
        if (st != DOPT_OK) return st;
        return DOPT_FN(dopt_all_finite)(n, xn) && (!F || DOPT_FN(dopt_all_finite)(n * N, F)) ? DOPT_OK : DOPT_ERR_NON_FINITE;
    }
    st = p->dynamics(p->user, b, t, tau, tau + n, xn, NULL);
    if (st != DOPT_OK) return st;
    for (i = 0; i < N; ++i) z[i] = tau[i];
    for (j = 0; j < N; ++j) {
        R_ h = h0 * (1 + DOPT_M(fabs)(tau[j]));
        z[j] = tau[j] + h;
        if ((st = p->dynamics(p->user, b, t, z, z + n, fp, NULL)) != DOPT_OK) return st;
        z[j] = tau[j] - h;
        if ((st = p->dynamics(p->user, b, t, z, z + n, fm, NULL)) != DOPT_OK) return st;
        z[j] = tau[j];
        for (i = 0; i < n; ++i) F[i + j * n] = (fp[i] - fm[i]) / (2 * h);
    }
    return DOPT_FN(dopt_all_finite)(n, xn) && DOPT_FN(dopt_all_finite)(n * N, F) ? DOPT_OK : DOPT_ERR_NON_FINITE;
}

/* Stage cost, gradient and Hessian (N x N) at tau: the callback's, or central differences. */
static dopt_status DOPT_FN(dopt__ilqr_cost)(DOPT_FN(dopt_mpc_ilqr) *s, const DOPT_FN(dopt_mpc_ilqr_problem) *p,
                                            ptrdiff_t b, int t, const R_ *tau, R_ *l, R_ *g, R_ *H, R_ h0)
{
    const int N = s->n + s->m;
    R_ *z = s->work, v[4];
    dopt_status st;
    int i, j, k;
    if (!g || p->cost_derivatives) {
        st = p->cost(p->user, b, t, tau, l, g, H);
        if (st != DOPT_OK) return st;
        return (*l - *l == 0) && (!g || (DOPT_FN(dopt_all_finite)(N, g) && DOPT_FN(dopt_all_finite)(N * N, H)))
                   ? DOPT_OK : DOPT_ERR_NON_FINITE;
    }
    if ((st = p->cost(p->user, b, t, tau, l, NULL, NULL)) != DOPT_OK) return st;
    for (i = 0; i < N; ++i) z[i] = tau[i];
    for (i = 0; i < N; ++i) {
        R_ hi = h0 * (1 + DOPT_M(fabs)(tau[i]));
        z[i] = tau[i] + hi;
        if ((st = p->cost(p->user, b, t, z, v, NULL, NULL)) != DOPT_OK) return st;
        z[i] = tau[i] - hi;
        if ((st = p->cost(p->user, b, t, z, v + 1, NULL, NULL)) != DOPT_OK) return st;
        z[i] = tau[i];
        g[i] = (v[0] - v[1]) / (2 * hi);
        H[i + i * N] = (v[0] - 2 * *l + v[1]) / (hi * hi);
        for (j = 0; j < i; ++j) {
            R_ hj = h0 * (1 + DOPT_M(fabs)(tau[j]));
            for (k = 0; k < 4; ++k) {
                z[i] = tau[i] + ((k & 1) ? -hi : hi);
                z[j] = tau[j] + ((k & 2) ? -hj : hj);
                if ((st = p->cost(p->user, b, t, z, v + k, NULL, NULL)) != DOPT_OK) return st;
            }
            z[i] = tau[i];
            z[j] = tau[j];
            H[i + j * N] = H[j + i * N] = (v[0] - v[1] - v[2] + v[3]) / (4 * hi * hj);
        }
    }
    return (*l - *l == 0) && DOPT_FN(dopt_all_finite)(N, g) && DOPT_FN(dopt_all_finite)(N * N, H)
               ? DOPT_OK : DOPT_ERR_NON_FINITE;
}

/* Roll element b's true dynamics forward: u_t = clamp(u_bar + alpha k + K (x - x_bar)) (nominal
 * tb, gains of the LQR solver) or, with tb NULL, u_t as already in out; returns the cost. */
static dopt_status DOPT_FN(dopt__ilqr_rollout)(DOPT_FN(dopt_mpc_ilqr) *s, const DOPT_FN(dopt_mpc_ilqr_problem) *p,
                                               ptrdiff_t b, const R_ *x0, const R_ *tb, R_ alpha, R_ *out,
                                               R_ *J, int *fail_t)
{
    const int n = s->n, m = s->m, T = s->T, N = n + m;
    const DOPT_FN(dopt_mpc_lqr) *L = s->lqr;
    const size_t bt = (size_t)b * (size_t)T;
    dopt_status st;
    int t, i, j;
    R_ l;
    *J = 0;
    for (i = 0; i < n; ++i) out[i] = x0[i];
    for (t = 0; t < T; ++t) {
        R_ *x = out + (size_t)t * N, *u = x + n;
        const R_ *lo = p->u_lower.p ? DOPT__LQR_AT(p->u_lower, b, t) : NULL;
        const R_ *hi = p->u_upper.p ? DOPT__LQR_AT(p->u_upper, b, t) : NULL;
        *fail_t = t;
        if (tb) {
            const R_ *xb = tb + (size_t)t * N, *K = L->K + (bt + t) * (size_t)m * n, *k = L->k + (bt + t) * (size_t)m;
            for (i = 0; i < m; ++i) {
                R_ a = xb[n + i] + alpha * k[i];
                const R_ *Ki = K + i * n;
                for (j = 0; j < n; ++j) a += Ki[j] * (x[j] - xb[j]);
                u[i] = a;
            }
        }
        for (i = 0; i < m; ++i) {
            if (lo && u[i] < lo[i]) u[i] = lo[i];
            if (hi && u[i] > hi[i]) u[i] = hi[i];
        }
        if ((st = DOPT_FN(dopt__ilqr_cost)(s, p, b, t, x, &l, NULL, NULL, 0)) != DOPT_OK) return st;
        *J += l;
        if (t < T - 1 && (st = DOPT_FN(dopt__ilqr_dyn)(s, p, b, t, x, x + N, NULL, 0)) != DOPT_OK) return st;
    }
    return DOPT_OK;
}

/* The LQR approximation of element b along tau (absolute form, see dopt_mpc_ilqr_approximation). */
static dopt_status DOPT_FN(dopt__ilqr_approximate)(DOPT_FN(dopt_mpc_ilqr) *s, const DOPT_FN(dopt_mpc_ilqr_problem) *p,
                                                   ptrdiff_t b, const R_ *tau, R_ hd, R_ hc, int *fail_t)
{
    const int n = s->n, T = s->T, N = n + s->m;
    dopt_status st;
    int t, i, j;
    R_ l;
    for (t = 0; t < T; ++t) {
        const R_ *z = tau + (size_t)t * N;
        R_ *C = s->C + ((size_t)b * T + t) * N * N, *c = s->c + ((size_t)b * T + t) * N;
        *fail_t = t;
        if ((st = DOPT_FN(dopt__ilqr_cost)(s, p, b, t, z, &l, c, C, hc)) != DOPT_OK) return st;
        for (j = 0; j < N; ++j) /* symmetrize, then c = grad - C tau */
            for (i = j + 1; i < N; ++i) C[i + j * N] = C[j + i * N] = (R_)0.5 * (C[i + j * N] + C[j + i * N]);
        for (j = 0; j < N; ++j)
            for (i = 0; i < N; ++i) c[i] -= C[i + j * N] * z[j];
        if (t < T - 1) {
            R_ *F = s->F + ((size_t)b * T + t) * n * N, *f = s->f + ((size_t)b * T + t) * n;
            if ((st = DOPT_FN(dopt__ilqr_dyn)(s, p, b, t, z, f, F, hd)) != DOPT_OK) return st;
            for (j = 0; j < N; ++j)
                for (i = 0; i < n; ++i) f[i] -= F[i + j * n] * z[j];
        }
    }
    return DOPT_OK;
}

/* iLQR of element b; the solution stays in s->lqr->tau, its approximation in s->C.. */
static dopt_status DOPT_FN(dopt__ilqr_one)(DOPT_FN(dopt_mpc_ilqr) *s, const DOPT_FN(dopt_mpc_ilqr_problem) *p,
                                           ptrdiff_t b, const R_ *x0, const DOPT_FN(dopt_mpc_ilqr_options) *o,
                                           DOPT_FN(dopt_mpc_seq) tau_io, DOPT_FN(dopt_mpc_lqr_report) *rep)
{
    const int n = s->n, m = s->m, T = s->T, N = n + m;
    DOPT_FN(dopt_mpc_lqr) *L = s->lqr;
    R_ *tau = L->tau + (size_t)b * T * N, *trial = s->trial, J, hd, hc;
    dopt_status st;
    int t, i, it, bad = 0;
    hd = o->fd_step > 0 ? o->fd_step : DOPT_M(cbrt)(DOPT_EPS);
    hc = o->fd_step > 0 ? o->fd_step : DOPT_M(sqrt)(DOPT_M(sqrt)(DOPT_EPS));
    L->data = s->approx;
    L->data.x_init.p = x0;
    L->data.x_init.ts = L->data.x_init.bs = 0;
    L->data.u_lower = p->u_lower;
    L->data.u_upper = p->u_upper;
    for (t = 0; t < T; ++t)
        for (i = 0; i < m; ++i) {
            R_ u = 0;
            if (tau_io.p && o->warm_start == DOPT_MPC_WARM_AS_IS) u = DOPT__LQR_AT(tau_io, b, t)[n + i];
            if (tau_io.p && o->warm_start == DOPT_MPC_WARM_SHIFT)
                u = DOPT__LQR_AT(tau_io, b, t + 1 < T ? t + 1 : T - 1)[n + i];
            tau[(size_t)t * N + n + i] = u == u ? u : 0;
        }
    if ((st = DOPT_FN(dopt__ilqr_rollout)(s, p, b, x0, NULL, 0, tau, &J, &rep->fail_t)) != DOPT_OK) return st;
    rep->converged = 0;
    for (it = 0; it < o->max_iter; ++it) {
        R_ kmax = 0, umax = 0, alpha = 1, Jt = 0;
        int ls;
        rep->iterations = it + 1;
        if ((st = DOPT_FN(dopt__ilqr_approximate)(s, p, b, tau, hd, hc, &rep->fail_t)) != DOPT_OK) return st;
        st = DOPT_FN(dopt__lqr_sweep)(L, &L->data, b, tau, o->qp_max_iter, &rep->fail_t, &bad);
        if (st != DOPT_OK) return st;
        for (t = 0; t < T; ++t)
            for (i = 0; i < m; ++i) {
                R_ ka = DOPT_M(fabs)(L->k[((size_t)b * T + t) * m + i]);
                R_ ua = DOPT_M(fabs)(tau[(size_t)t * N + n + i]);
                if (ka > kmax) kmax = ka;
                if (ua > umax) umax = ua;
            }
        if (!(kmax == kmax)) return DOPT_ERR_NON_FINITE;
        if (kmax <= o->tol * (1 + umax)) {
            rep->converged = 1;
            break;
        }
        for (ls = 0; ls < o->max_linesearch; ++ls, alpha *= (R_)0.5) {
            st = DOPT_FN(dopt__ilqr_rollout)(s, p, b, x0, tau, alpha, trial, &Jt, &rep->fail_t);
            if (st == DOPT_OK && Jt <= J + 8 * DOPT_EPS * (1 + DOPT_M(fabs)(J))) break;
        }
        if (ls == o->max_linesearch) break; /* no descent: not a fixed point within tol */
        J = Jt;
        for (i = 0; i < N * T; ++i) tau[i] = trial[i];
    }
    rep->cost = J;
    rep->n_clamped = 0;
    for (t = 0; t < T; ++t)
        for (i = 0; i < m; ++i) rep->n_clamped += !L->fr[((size_t)b * T + t) * m + i];
    if (!DOPT_FN(dopt_all_finite)(N * T, tau)) return DOPT_ERR_NON_FINITE;
    return rep->converged ? DOPT_OK : DOPT_ERR_NO_CONVERGENCE;
}

DOPT_API dopt_status DOPT_FN(dopt_mpc_ilqr_solve)(DOPT_FN(dopt_mpc_ilqr) *s,
                                                  const DOPT_FN(dopt_mpc_ilqr_problem) *problem,
                                                  DOPT_FN(dopt_mpc_cseq) x_init,
                                                  const DOPT_FN(dopt_mpc_ilqr_options) *options,
                                                  DOPT_FN(dopt_mpc_seq) tau,
                                                  DOPT_FN(dopt_mpc_lqr_report) *reports,
                                                  dopt_errinfo *info)
{
    DOPT_FN(dopt_mpc_ilqr_options) o;
    DOPT_FN(dopt_mpc_lqr) *L;
    dopt_status first = DOPT_OK;
    ptrdiff_t b;
    int n, N, T, t, i;
    if (!s || !problem || !x_init.p || !problem->dynamics || !problem->cost)
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "mpc ilqr: NULL argument");
    if (problem->n_state != s->n || problem->n_ctrl != s->m)
        return dopt_errinfo_set(info, DOPT_ERR_DIMENSION, -1, 0,
                                "mpc ilqr: the problem's n_state / n_ctrl differ from the solver's");
    if (options) o = *options; else memset(&o, 0, sizeof o);
    if (o.max_iter < 0 || o.max_linesearch < 0 || o.qp_max_iter < 0 || o.tol < 0 || o.fd_step < 0 ||
        (o.warm_start != DOPT_MPC_WARM_NONE && o.warm_start != DOPT_MPC_WARM_AS_IS && o.warm_start != DOPT_MPC_WARM_SHIFT))
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "mpc ilqr: bad option value");
    if (o.max_iter == 0) o.max_iter = 100;
    if (o.max_linesearch == 0) o.max_linesearch = 12;
    if (o.qp_max_iter == 0) o.qp_max_iter = 50;
    if (o.tol == 0) o.tol = DOPT_IS_FLOAT ? (R_)1e-4 : (R_)1e-8;
    L = s->lqr;
    n = s->n;
    N = n + s->m;
    T = s->T;
    L->solved = 0;
    L->lam_valid = 0;
    for (b = 0; b < s->B; ++b) {
        DOPT_FN(dopt_mpc_lqr_report) rep;
        const R_ *x0 = DOPT__LQR_AT(x_init, b, 0);
        dopt_status st;
        memset(&rep, 0, sizeof rep);
        rep.fail_t = -1;
        if (problem->u_lower.p || problem->u_upper.p) {
            L->data.u_lower = problem->u_lower;
            L->data.u_upper = problem->u_upper;
            st = DOPT_FN(dopt__lqr_check_bounds)(L, &L->data, b, &rep.fail_t);
        } else {
            st = DOPT_OK;
        }
        if (st == DOPT_OK) st = DOPT_FN(dopt_all_finite)(n, x0) ? DOPT_OK : DOPT_ERR_NON_FINITE;
        if (st == DOPT_OK) st = DOPT_FN(dopt__ilqr_one)(s, problem, b, x0, &o, tau, &rep);
        rep.status = st;
        L->st[b] = st;
        L->conv[b] = rep.converged;
        if ((st == DOPT_OK || st == DOPT_ERR_NO_CONVERGENCE) && tau.p)
            for (t = 0; t < T; ++t)
                for (i = 0; i < N; ++i) DOPT__LQR_AT(tau, b, t)[i] = L->tau[((size_t)b * T + t) * N + i];
        if (reports) reports[b] = rep;
        if (st != DOPT_OK && first == DOPT_OK) {
            first = st;
            if (st == DOPT_ERR_NOT_POSITIVE_DEFINITE)
                DOPT_FN(dopt__lqr_fail)(info, st, b, rep.fail_t, "mpc ilqr: Q_uu of the approximation is not positive definite at time step ");
            else if (st == DOPT_ERR_NO_CONVERGENCE)
                DOPT_FN(dopt__lqr_fail)(info, st, b, rep.iterations, "mpc ilqr: not converged; iterations: ");
            else
                DOPT_FN(dopt__lqr_fail)(info, st, b, rep.fail_t, "mpc ilqr: a callback failed or gave NaN/Inf (or bad bounds / x_init), time step ");
        }
    }
    /* the backward differentiates the approximation; x_init is per element there */
    L->data = s->approx;
    L->data.x_init = x_init;
    L->data.u_lower = problem->u_lower;
    L->data.u_upper = problem->u_upper;
    L->solved = 1;
    return first;
}

DOPT_API dopt_status DOPT_FN(dopt_mpc_ilqr_approximation)(const DOPT_FN(dopt_mpc_ilqr) *s,
                                                          DOPT_FN(dopt_mpc_lqr_data) *data,
                                                          dopt_errinfo *info)
{
    if (!s || !data) return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "mpc ilqr: NULL argument");
    if (!s->lqr->solved) return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "mpc ilqr: no solve yet");
    *data = s->lqr->data;
    return DOPT_OK;
}

DOPT_API dopt_status DOPT_FN(dopt_mpc_ilqr_backward)(DOPT_FN(dopt_mpc_ilqr) *s, DOPT_FN(dopt_mpc_cseq) dtau,
                                                     const DOPT_FN(dopt_mpc_lqr_backward_options) *options,
                                                     const DOPT_FN(dopt_mpc_lqr_grad) *grad,
                                                     dopt_status *bwd_status, dopt_errinfo *info)
{
    if (!s) return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "mpc ilqr backward: NULL solver");
    return DOPT_FN(dopt_mpc_lqr_backward)(s->lqr, dtau, options, grad, bwd_status, info);
}

/* ---- example systems ---- */
DOPT_API dopt_status DOPT_FN(dopt_mpc_pendulum_dynamics)(void *user, ptrdiff_t b, int t, const R_ *x,
                                                         const R_ *u, R_ *xn, R_ *F)
{
    const DOPT_FN(dopt_mpc_pendulum) *P = (const DOPT_FN(dopt_mpc_pendulum) *)user;
    const R_ dt = P->dt, gl = P->g / P->l, iml2 = 1 / (P->m * P->l * P->l);
    (void)b; (void)t;
    xn[0] = x[0] + dt * x[1];
    xn[1] = x[1] + dt * (-gl * DOPT_M(sin)(x[0]) + iml2 * u[0] - P->damping * x[1]);
    if (F) { /* 2 x 3 */
        F[0] = 1; F[1] = -dt * gl * DOPT_M(cos)(x[0]);
        F[2] = dt; F[3] = 1 - dt * P->damping;
        F[4] = 0; F[5] = dt * iml2;
    }
    return DOPT_OK;
}

DOPT_API dopt_status DOPT_FN(dopt_mpc_cartpole_dynamics)(void *user, ptrdiff_t b, int t, const R_ *x,
                                                         const R_ *u, R_ *xn, R_ *F)
{
    const DOPT_FN(dopt_mpc_cartpole) *P = (const DOPT_FN(dopt_mpc_cartpole) *)user;
    const R_ M = P->m_cart + P->m_pole, ml = P->m_pole * P->l, dt = P->dt;
    const R_ s_ = DOPT_M(sin)(x[2]), c_ = DOPT_M(cos)(x[2]), w = x[3];
    const R_ temp = (u[0] + ml * w * w * s_) / M;
    const R_ den = P->l * ((R_)4 / 3 - P->m_pole * c_ * c_ / M), num = P->g * s_ - c_ * temp;
    const R_ tha = num / den, xa = temp - ml * tha * c_ / M;
    (void)b; (void)t;
    xn[0] = x[0] + dt * x[1];
    xn[1] = x[1] + dt * xa;
    xn[2] = x[2] + dt * w;
    xn[3] = w + dt * tha;
    if (F) { /* 4 x 5, columns p v theta omega force */
        const R_ dtmp_th = ml * w * w * c_ / M, dtmp_w = 2 * ml * w * s_ / M, dtmp_u = 1 / M;
        const R_ dnum_th = P->g * c_ + s_ * temp - c_ * dtmp_th, dnum_w = -c_ * dtmp_w, dnum_u = -c_ * dtmp_u;
        const R_ dden_th = P->l * 2 * P->m_pole * c_ * s_ / M;
        const R_ dtha_th = (dnum_th * den - num * dden_th) / (den * den), dtha_w = dnum_w / den, dtha_u = dnum_u / den;
        const R_ dxa_th = dtmp_th - ml / M * (dtha_th * c_ - tha * s_);
        const R_ dxa_w = dtmp_w - ml / M * c_ * dtha_w, dxa_u = dtmp_u - ml / M * c_ * dtha_u;
        int i;
        for (i = 0; i < 20; ++i) F[i] = 0;
        F[0 + 0 * 4] = 1; F[0 + 1 * 4] = dt;
        F[1 + 1 * 4] = 1; F[1 + 2 * 4] = dt * dxa_th; F[1 + 3 * 4] = dt * dxa_w; F[1 + 4 * 4] = dt * dxa_u;
        F[2 + 2 * 4] = 1; F[2 + 3 * 4] = dt;
        F[3 + 2 * 4] = dt * dtha_th; F[3 + 3 * 4] = 1 + dt * dtha_w; F[3 + 4 * 4] = dt * dtha_u;
    }
    return DOPT_OK;
}

DOPT_API dopt_status DOPT_FN(dopt_mpc_bicycle_dynamics)(void *user, ptrdiff_t b, int t, const R_ *x,
                                                        const R_ *u, R_ *xn, R_ *F)
{
    const DOPT_FN(dopt_mpc_bicycle) *P = (const DOPT_FN(dopt_mpc_bicycle) *)user;
    const R_ dt = P->dt, cy = DOPT_M(cos)(x[2]), sy = DOPT_M(sin)(x[2]), v = x[3];
    const R_ cd = DOPT_M(cos)(u[1]), td = DOPT_M(tan)(u[1]);
    (void)b; (void)t;
    xn[0] = x[0] + dt * v * cy;
    xn[1] = x[1] + dt * v * sy;
    xn[2] = x[2] + dt * v * td / P->wheelbase;
    xn[3] = v + dt * u[0];
    if (F) { /* 4 x 6 */
        int i;
        for (i = 0; i < 24; ++i) F[i] = 0;
        for (i = 0; i < 4; ++i) F[i + i * 4] = 1;
        F[0 + 2 * 4] = -dt * v * sy; F[0 + 3 * 4] = dt * cy;
        F[1 + 2 * 4] = dt * v * cy; F[1 + 3 * 4] = dt * sy;
        F[2 + 3 * 4] = dt * td / P->wheelbase; F[2 + 5 * 4] = dt * v / (P->wheelbase * cd * cd);
        F[3 + 4 * 4] = dt;
    }
    return DOPT_OK;
}

DOPT_API dopt_status DOPT_FN(dopt_mpc_quadrotor_dynamics)(void *user, ptrdiff_t b, int t, const R_ *x,
                                                          const R_ *u, R_ *xn, R_ *F)
{
    const DOPT_FN(dopt_mpc_quadrotor) *P = (const DOPT_FN(dopt_mpc_quadrotor) *)user;
    const R_ dt = P->dt, th = u[0] / P->mass;
    const R_ cf = DOPT_M(cos)(x[3]), sf = DOPT_M(sin)(x[3]), ct = DOPT_M(cos)(x[4]), st = DOPT_M(sin)(x[4]);
    const R_ cp = DOPT_M(cos)(x[5]), sp = DOPT_M(sin)(x[5]);
    const R_ wx = x[9], wy = x[10], wz = x[11], Ix = P->Ixx, Iy = P->Iyy, Iz = P->Izz;
    /* thrust direction R e3 for R = Rz(yaw) Ry(pitch) Rx(roll) */
    const R_ a0 = cp * st * cf + sp * sf, a1 = sp * st * cf - cp * sf, a2 = ct * cf;
    int i;
    (void)b; (void)t;
    for (i = 0; i < 3; ++i) {
        xn[i] = x[i] + dt * x[6 + i];
        xn[3 + i] = x[3 + i] + dt * x[9 + i];
    }
    xn[6] = x[6] + dt * th * a0;
    xn[7] = x[7] + dt * th * a1;
    xn[8] = x[8] + dt * (th * a2 - P->g);
    xn[9] = wx + dt * (u[1] + (Iy - Iz) * wy * wz) / Ix;
    xn[10] = wy + dt * (u[2] + (Iz - Ix) * wz * wx) / Iy;
    xn[11] = wz + dt * (u[3] + (Ix - Iy) * wx * wy) / Iz;
    if (F) { /* 12 x 16 */
        const int n = 12;
        const R_ da[3][3] = {{-cp * st * sf + sp * cf, -sp * st * sf - cp * cf, -ct * sf},  /* d/droll  */
                             {cp * ct * cf, sp * ct * cf, -st * cf},                      /* d/dpitch */
                             {-sp * st * cf + cp * sf, cp * st * cf + sp * sf, 0}};        /* d/dyaw   */
        int j;
        for (i = 0; i < n * 16; ++i) F[i] = 0;
        for (i = 0; i < n; ++i) F[i + i * n] = 1;
        for (i = 0; i < 3; ++i) {
            F[i + (6 + i) * n] = dt;
            F[3 + i + (9 + i) * n] = dt;
        }
        for (j = 0; j < 3; ++j)
            for (i = 0; i < 3; ++i) F[6 + i + (3 + j) * n] = dt * th * da[j][i];
        F[6 + 12 * n] = dt * a0 / P->mass;
        F[7 + 12 * n] = dt * a1 / P->mass;
        F[8 + 12 * n] = dt * a2 / P->mass;
        F[9 + 10 * n] = dt * (Iy - Iz) * wz / Ix;  F[9 + 11 * n] = dt * (Iy - Iz) * wy / Ix;
        F[10 + 9 * n] = dt * (Iz - Ix) * wz / Iy;  F[10 + 11 * n] = dt * (Iz - Ix) * wx / Iy;
        F[11 + 9 * n] = dt * (Ix - Iy) * wy / Iz;  F[11 + 10 * n] = dt * (Ix - Iy) * wx / Iz;
        F[9 + 13 * n] = dt / Ix;
        F[10 + 14 * n] = dt / Iy;
        F[11 + 15 * n] = dt / Iz;
    }
    return DOPT_OK;
}
#undef R_
/* ==== end LQR AND iLQR: implementation ==== */

/* ==== DENSE QP: implementation ==== */
/* ==== end DENSE QP: implementation ==== */

/* ==== CEM AND LML: implementation ==== */
/* ==== end CEM AND LML: implementation ==== */
#ifdef __cplusplus
}
#endif
#endif /* DOPT_MPC__PASS_IMPL */
