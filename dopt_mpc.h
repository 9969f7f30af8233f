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
 *     AUGMENTED-LAGRANGIAN MPC  dopt_mpc_al_*  (state / obstacle / general constraints, MPC-m)
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
 *   solver's workspace holds everything (no allocation in a solve).  Without box limits, whole
 *   groups of 8 elements (16 in float) run in lockstep lanes: blocks stored lane-interleaved, so
 *   every scalar step of the recursion is one vector operation across the group whatever n and
 *   m are; the backward follows the forward's grouping, and the remaining B mod 8 (16) run
 *   one at a time (DOPT_MPC_LANE_BYTES, default 64, sets the group width).  The lane kernels
 *   and the one-element Riccati step are a kernel region of dopt.h's families, so a build without
 *   -march runs the AVX2 or AVX-512 copy the CPU has (runtime dispatch, as dopt.h's gemm).  The lane solve keeps
 *   each step's value function V_t, v_t, so the multipliers are lam_t = V_t x_t + v_t (and
 *   d_lam_t = V_t d_x_t + the adjoint's v_t) without a second pass over C.  A Q_uu that is not
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
 *   dL/df_t = d_lam_{t+1}, dL/dx_init = d_lam_0.  Unshared dL/dC and dL/dF arrays of
 *   DOPT_MPC_STREAM_BYTES (default 16 MB) or more are written with non-temporal stores on x86-64.  With box limits the clamped controls are held
 *   (d_u = 0 there): the derivative of the solution with its active set fixed.
 *   NONLINEAR MPC (dopt_mpc_ilqr_*): dynamics x' = f(x, u) and stage costs l_t(tau) as callbacks
 *   (with analytic derivatives, or central differences); iLQR/box-DDP iterations, each the LQR
 *   step of the local approximation followed by a line search on the true rollout; warm start
 *   as-is or shifted by one step (receding horizon).  Its backward is the LQR backward of the
 *   final approximation at the fixed point (the dynamics' curvature left out, as mpc.pytorch).
 *   SLEW-RATE PENALTY (problem.slew_weight w, problem.u_prev = u_{-1}, e.g. the control applied
 *   last): the cost gains sum_{t<T} w/2 |u_t - u_{t-1}|^2.  It couples neighbouring steps, so
 *   the solver carries the previous control in the state: x~_t = [x_t; u_{t-1}] (n + m states),
 *   dynamics [f(x, u); u], stage cost l_t + w/2 |u - p|^2, x~_0 = [x_init; u_prev], solved by
 *   the same iLQR (a solver from dopt_mpc_ilqr_slew_create holds that second, larger solver).
 *   The backward is the adjoint LQR of the augmented approximation, mapped back: the usual
 *   dL/dC, dc, dF, df, dx_init of the caller's stage data, plus dL/dw (the penalty's Hessian
 *   block w [[I, -I]; [-I, I]] on (u_{t-1}, u_t) is the only place w enters, since the penalty
 *   adds nothing to c_t = grad - C_t tau_t) and dL/du_prev (the last m entries of dL/dx~_0).
 *   Example systems: dopt_mpc_{pendulum,cartpole,bicycle,quadrotor}_dynamics.
 *   NON-CONVERGENCE: every element has its own status in its report; the backward's policy
 *   (dopt_nlls_diff_policy) FLAG returns such an element's gradient and marks it, ZERO leaves it out,
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
 *   A batch of B convex QPs of one size,
 *       minimize 1/2 x^T Q x + p^T x   subject to   A x = b,  G x <= h,  l <= x <= u,
 *   any subset of the three constraint kinds (dims: n, meq, mineq, box), Q symmetric positive
 *   SEMIdefinite (only its lower triangle is read; it need not be definite when the constraints
 *   fix x), with the OptNet backward pass (Amos & Kolter 2017): dL/dQ, p, A, b, G, h, l, u from
 *   dL/dx.  Infinite entries drop a constraint: h_i = +inf, l_j = -inf, u_j = +inf.
 *
 *   Forward, two methods (options.method; AUTO picks):
 *   - the dual active-set method of Goldfarb and Idnani (1983), DAQP's family, when Q is
 *     positive definite (Cholesky pivots above 1e-10 max(1, max Q_jj)).  Q = L L^T; J = L^{-T}
 *     (column by column from J L^T = I, n^3/6 multiply-adds in matrix-vector products); from
 *     the unconstrained minimizer -Q^{-1} p it adds the equality rows, then repeatedly the most
 *     violated inequality or bound (violation > tol/2; most violated after dividing by the
 *     row's norm, as DAQP normalizes its rows), stepping x and the multipliers so that every iterate stays dual
 *     feasible, dropping a constraint whose multiplier reaches 0; the working set's normals N
 *     are kept as J^T N = [R; 0] with R upper triangular, updated without refactorization: an
 *     addition by one Householder reflection of J's last n - q columns (a rank-one update,
 *     2 n (n - q) flops), a removal by Givens rotations.  J^T n and J2 v run through 4-column
 *     kernels (GCC/Clang vector extensions where the target has them); these level-2 loops are a
 *     kernel region of dopt.h's families, so a build without -march runs the AVX2/AVX-512 copy.  A violated
 *     constraint that depends on the working set with no multiplier left to drop proves the
 *     problem infeasible (PRIMAL_INFEASIBLE); a dependent equality row is skipped when
 *     consistent.  Ends with the exact KKT point of its working set (no polishing needed; if
 *     rounding leaves a measure above tol, the polishing step below refines it).  Warm start:
 *     options.warm_start tries the last working set of that batch element first.
 *   - the interior point method below, when Q is singular (PSD), when the active-set method
 *     hits its limit of 5 (n + meq + m) + 10 steps or misses the tolerance; ACTIVE_SET or
 *     INTERIOR_POINT force one (report.method says which produced the result).
 *   Measured (bench/qp.sh's random QPs, batch 128, thread CPU time, loaded 2-core AVX-512 EPYC,
 *   -march=native), us per QP, without / with bounds: active set 2.0 / 2.9 (n = 10), 56 / 75
 *   (n = 50), 337 / 427 (n = 100); DAQP 0.11.0 through its C API (same run) 2.1 / 4.1, 63 / 87,
 *   278 / 441.  The interior point is 3-9x slower than the active set at every size measured,
 *   so AUTO uses the active set whenever Q is definite.  DAQP and dopt timed in one process,
 *   alternating (the shared machine's load moves between separate runs): 0.69-0.96x DAQP with
 *   -march=native, 0.72-0.96x with -march=x86-64-v3.
 *
 *   Interior point: a primal-dual method, Mehrotra's predictor-corrector.  Every
 *   inequality (G rows and finite bounds) gets a slack s >= 0 and a multiplier z >= 0; each
 *   iteration eliminates them and factors the reduced matrix H = Q + G^T diag(z/s) G + diag(bound
 *   terms) (dopt_syrk + dopt_potrf), then the equality Schur complement A H^{-1} A^T (dopt_trsm,
 *   dopt_syrk, dopt_potrf); one factorization serves the predictor and the corrector.  A tiny
 *   diagonal regularization (1e-10 max(1, max Q_jj), grown if a Cholesky fails) makes H definite
 *   when Q is singular; the residuals are always those of the exact problem, so it changes the
 *   path, not the answer.  Stops when every KKT measure of the report (stationarity, equality
 *   and inequality violation, complementarity z_i |slack_i|) is <= options.tol (absolute,
 *   default 1e-9), on a Farkas certificate (PRIMAL_INFEASIBLE: A^T y + G^T z ~ 0, b^T y + h^T z
 *   < 0), on a ray of unbounded descent (DUAL_INFEASIBLE: Q d ~ 0, A d ~ 0, G d <= ~0,
 *   p^T d < 0), or at max_iter (MAX_ITER).  Warm start: options.warm_start takes x (and the last
 *   multipliers) as the start; an interior point method gains little from it.
 *
 *   Polish: once the interior point residuals are within 1000 tol (tried at most twice there)
 *   and again at convergence, x is recomputed from the KKT system of
 *   the active set it identified (bounds held, active G rows as equalities: Cholesky of Q_FF,
 *   regularized and refined when singular, and of the Schur complement E_F Q_FF^-1 E_F^T with
 *   E = [A; G_active]); kept when its KKT measures are within tol (report.polished), so x has
 *   the accuracy of a direct solve.  That factorization is kept for the backward.
 *
 *   Backward (dopt_mpc_qp_backward): the KKT conditions differentiated at the solution with the
 *   active set held: active inequalities become equalities, variables at a bound drop out, so the
 *   adjoint solves [Q_FF E_F^T; E_F 0].  After the active-set method it reuses J and R
 *   (v = J2 J2^T dL/dx, R mu = J1^T dL/dx: O(n^2) per element, no factorization) unless a
 *   working-set multiplier is <= degenerate_tol; otherwise with the polishing step's factors (a
 *   backward after an unpolished solve factors at its first call; later calls reuse).  This is the exact
 *   derivative of the solution map wherever it exists (strict complementarity).  A WEAKLY ACTIVE
 *   constraint (slack and multiplier both <= degenerate_tol, counted in report.weakly_active)
 *   has no derivative; dopt differentiates it as inactive — the one-sided derivative for
 *   perturbations that move x off it — unless the polish shows the solution needs it (with it
 *   inactive the polished x violates it), then as active.  A backward never writes a NaN: an
 *   element whose adjoint is not finite is reported DOPT_ERR_NON_FINITE and contributes zero.
 *
 *   Float: the _f functions run the same method in float (default tol 1e-4).  With
 *   dims.double_inside = 1 they convert the data to double, solve and differentiate in double
 *   (tol 1e-9) and round the results: then x and every gradient are the double results to within
 *   one float rounding (relative 6e-8) plus the double solve's tolerance.
 *
 *   Memory: dopt_mpc_qp_workspace_size / create_in (or create); solve and backward allocate
 *   nothing.  Sketch (B projections onto a box, n = 3):
 *       dopt_mpc_qp_dims dims = {3, 0, 0, 1, 0};           // n, meq, mineq, box
 *       dopt_mpc_qp_d *qp;  dopt_mpc_qp_data_d d = {0};  dopt_mpc_qp_grad_d g = {0};
 *       dopt_mpc_qp_create_d(NULL, &dims, B, &qp, NULL);
 *       d.Q = I3; d.p = minus_y; d.p_stride = 3; d.l = lo; d.u = hi;     // shared Q, l, u
 *       dopt_mpc_qp_solve_d(qp, NULL, B, &d, x, 3, report, NULL);
 *       g.p = dp; g.p_stride = 3;
 *       dopt_mpc_qp_backward_d(qp, NULL, B, &d, dLdx, 3, &g, NULL, NULL);
 *       dopt_mpc_qp_destroy_d(qp);
 *   examples/qp_layer.c is a complete program; tests/test_qp.c checks KKT, certificates, an
 *   independent active-set solve and finite differences.
 * ---- end DENSE QP ------------------------------------------------------------------------------
 *
 * ---- CEM AND LML --------------------------------------------------------------------------------
 *   The cross-entropy method (CEM) minimizes a black-box cost f(x), x in R^dim, by sampling: keep a
 *   Gaussian N(mean, diag(std^2)); each iteration draw `population` samples, score them all in ONE
 *   objective call (the whole batch of problems at once: batched rollouts), keep the `elites`
 *   cheapest, refit mean and std to them (optionally smoothed: momentum, floored: min_std,
 *   clamped to box bounds).  Functions:
 *     dopt_mpc_cem_create(hooks, &dims, &c, info)      dims: batch, dim, population, elites,
 *                                                      state_dim (CEM-MPC), dcem_iterations (DCEM)
 *     dopt_mpc_cem_workspace_size / _create_in         the same on caller memory
 *     dopt_mpc_cem_seed(c, seed, first_stream)         element b draws from dopt_rng stream
 *                                                      (seed, first_stream + b): results are
 *                                                      bit-identical whatever the batch size or the
 *                                                      split of a batch between threads
 *     dopt_mpc_cem_solve(c, &opt, &objective, mean, .., std, .., best_x, .., best_cost, report, info)
 *     dopt_mpc_cem_plan(c, &opt, &dynamics, x0, .., mean, .., std, ..)   CEM-MPC: the decision is
 *                                                      an action sequence rolled out through user
 *                                                      dynamics (whole population per call)
 *     dopt_mpc_cem_shift(batch, horizon, nu, mean, .., std, .., std_reset)   receding-horizon warm
 *                                                      start (drop u_0, repeat the last action)
 *   Samples are N(0,1) by a 1024-layer ziggurat on 8 xoshiro256+ lanes seeded from the element's
 *   stream (vectorized in the avx2 and avx512 kernel families, the same bits in plain C; a build
 *   with no -march picks the family at run time, see dopt.h's DOPT_NO_DISPATCH); elites by a one-pass heap
 *   selection (ties by sample index).  Plans sample and roll out element by element.  Solves, plans and backward passes allocate nothing, so a receding-
 *   horizon loop plan -> apply mean[0..nu) -> shift runs without a single heap allocation.
 *
 *   The LML projection (Amos, Koltun, Kolter 2019) is the soft top-k:
 *       LML_k(x) = argmin_{0 <= y <= 1, 1^T y = k}  -x^T y - H_b(y)  =  sigmoid(x + nu),
 *   nu the scalar dual with sum sigmoid(x + nu) = k (dopt_mpc_lml; a bracketed, safeguarded
 *   Newton solve that never fails on finite input), and its VJP (dopt_mpc_lml_backward):
 *       (dy/dx)^T g = h .* (g - (h^T g) / (1^T h)),   h = y .* (1 - y).
 *
 *   The differentiable CEM (DCEM, Amos & Yarats 2020) replaces the hard elite choice by
 *   w = LML_elites(-z / tau) of the standardized costs z, samples x_j = mean + std .* e_j with the
 *   noise e_j recorded, and refits m = sum_j w_j x_j / elites, s^2 = sum_j w_j (x_j - m)^2 / elites.
 *   The whole unrolled map (initial mean, std, objective parameters) -> final mean is then
 *   differentiable: dopt_mpc_dcem_forward records a tape, dopt_mpc_dcem_backward runs reverse
 *   mode through it, calling the objective's VJP (objective.cost_vjp) once per iteration so the
 *   user accumulates d loss / d theta of the cost's own parameters, and returns d loss / d initial
 *   mean and std.  Memory is linear in the iterations: per element and iteration
 *   population * dim (noise) + 2 population + 4 dim reals (dopt_mpc_cem_workspace_size).
 *
 *   Minimal CEM (cc -std=c99 ex.c -lm):
 *       static dopt_status sphere(void *u, ptrdiff_t first, ptrdiff_t count, int P, int D,
 *                                 const double *X, double *f) {
 *           ptrdiff_t s; int i;
 *           for (s = 0; s < count * P; ++s) {                 // every sample of every element
 *               f[s] = 0;
 *               for (i = 0; i < D; ++i) f[s] += (X[s * D + i] - 1) * (X[s * D + i] - 1);
 *           }
 *           (void)u; (void)first; return DOPT_OK;
 *       }
 *       dopt_mpc_cem_dims dims = {1, 4, 100, 10, 0, 0};      // batch, dim, population, elites
 *       dopt_mpc_cem_objective_d obj = {sphere, NULL, NULL};
 *       double mean[4] = {0}, std[4] = {2, 2, 2, 2};
 *       dopt_mpc_cem_d *c;
 *       dopt_mpc_cem_create_d(NULL, &dims, &c, NULL);
 *       dopt_mpc_cem_solve_d(c, NULL, &obj, mean, 4, std, 4, NULL, 0, NULL, NULL, NULL);
 *       dopt_mpc_cem_destroy_d(c);                            // mean is now close to (1,1,1,1)
 *   examples/cem_car.c (CEM-MPC around obstacles) and examples/dcem_toy.c (learning a cost
 *   parameter through DCEM) are complete programs.
 * ---- end CEM AND LML ----------------------------------------------------------------------------
 *
 * ---- AUGMENTED-LAGRANGIAN MPC -------------------------------------------------------------------
 *   Constrained nonlinear MPC (Gurumurthy's thesis, CMU-RI-TR-25-90, ch. 8, Eq. 8.11, Algorithm 2):
 *       minimize sum_{t<T} l_t(tau_t)   s.t.  x_{t+1} = f(x_t, u_t), x_0 = x_init,
 *                h_t(tau_t) <= 0 (n_ineq per step), g_t(tau_t) = 0 (n_eq per step), u in [lo, hi]
 *   with l, f, h, g user callbacks (analytic derivatives, or central differences).  The dynamics
 *   are kept by shooting and the control limits by box-DDP, exactly; h and g enter the augmented
 *   Lagrangian  L_A = sum_t l_t + [|max(0, lam + mu h)|^2 - |lam|^2] / (2 mu) + eta.g + mu/2 |g|^2.
 *   One outer iteration: the primal step minimizes L_A over the controls with dopt_mpc_ilqr_solve
 *   (Riccati sweeps of the LQR code; Hessian hess l + mu J^T D J, D the active rows: Gauss-Newton
 *   in the constraints), then lam <- max(0, lam + mu h), eta <- eta + mu g, mu <- min(gamma mu,
 *   mu_max) (always, as the thesis, or when the violation fell less than 4x; mu <- mu / gamma
 *   instead when the primal step stalled, its line search finding no descent).  Early primal
 *   steps are inexact (iLQR tolerance 1e-2, then 0.01 x the last violation, down to inner_tol;
 *   a warm start with kept duals starts at inner_tol).  It stops when the violation
 *   max(h)_+, |g| is <= tol_violation and the last primal step converged, or after max_outer
 *   iterations (NO_CONVERGENCE with the violation in the report: an infeasible problem ends
 *   there); MPC-m (fixed_iterations) runs exactly m iterations.  Warm start: the controls as-is
 *   or shifted by one step (receding horizon); the multipliers and penalty reset (the thesis'
 *   advice) or kept and shifted (keep_duals; much faster on a slowly moving problem).
 *   GRADIENTS at any iterate (thesis Eq. 8.12): with (tau_bar, lam, eta, mu) of the last primal
 *   step held, the solver's map is one Gauss-Newton step tau+ = argmin of the LQR model of L_A at
 *   tau_bar (dopt_mpc_al_step; tau+ = tau_bar at convergence).  dopt_mpc_al_backward runs
 *   dopt_mpc_lqr_backward on that model and maps dL/d(C, c, F, f) to the problem's quantities
 *   at tau_bar: dL/d grad l_t, d hess l_t, d h_t, d Jh_t, d g_t, d Jg_t, d f_t, d F_t, d x_init,
 *   which the caller chains to its own parameters (obstacle positions, cost weights...).  Early
 *   iterates (small mu) give the smoothed gradients the thesis trains with (Eq. 8.13).
 *   Memory: create (one allocation) or create_in; solve, step and backward allocate nothing, so a
 *   receding-horizon loop runs without heap traffic.  Sketch:
 *       dopt_mpc_al_problem_d p = {0};   // n_state, n_ctrl, n_ineq, callbacks, u_lower/u_upper
 *       dopt_mpc_al_d *s;  dopt_mpc_al_report_d r;  dopt_mpc_al_options_d o = {0};
 *       dopt_mpc_al_create_d(NULL, n, m, T, n_ineq, 0, 1, &s, NULL);
 *       dopt_mpc_al_solve_d(s, &p, x_init, NULL, tau, &r, NULL);          // cold
 *       o.warm_start = DOPT_MPC_WARM_SHIFT; o.keep_duals = 1;
 *       dopt_mpc_al_solve_d(s, &p, x_next, &o, tau, &r, NULL);            // next step
 *   examples/car_obstacles.c is a complete program; tests/test_almpc.c checks violation, a dense
 *   QP reference, box-DDP / LQR equality, infeasibility, warm starts, allocations and gradients.
 * ---- end AUGMENTED-LAGRANGIAN MPC ---------------------------------------------------------------
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
/* The policy for elements whose forward solve did not converge is dopt.h's dopt_nlls_diff_policy
 * (FLAG / ZERO / FAIL), used by dopt_mpc_lqr_backward_options. */

/* Warm start of the nonlinear MPC solver (dopt_mpc_ilqr_options.warm_start). */
typedef enum dopt_mpc_warm {
    DOPT_MPC_WARM_NONE = 0, /* start from u = 0 (clamped into the box)                             */
    DOPT_MPC_WARM_AS_IS,    /* start from the controls already in the tau array                    */
    DOPT_MPC_WARM_SHIFT     /* receding horizon: u_t <- u_{t+1} of the tau array, last one repeated */
} dopt_mpc_warm;
/* ==== end LQR AND iLQR: precision-independent declarations ==== */

/* ==== DENSE QP: precision-independent declarations ==== */
/* Outcome of one QP of a batch (dopt_mpc_qp_report.result). */
typedef enum dopt_mpc_qp_result {
    DOPT_MPC_QP_SOLVED = 0,          /* KKT residuals within the tolerance                        */
    DOPT_MPC_QP_PRIMAL_INFEASIBLE,   /* a Farkas certificate was found: no x meets the constraints */
    DOPT_MPC_QP_DUAL_INFEASIBLE,     /* a ray of unbounded descent was found (objective -> -inf)   */
    DOPT_MPC_QP_MAX_ITER,            /* iteration limit (or no progress) before the tolerance      */
    DOPT_MPC_QP_INVALID_DATA,        /* NaN/Inf in the data, l > u, or h / l / u of the wrong sign
                                        of infinity                                               */
    DOPT_MPC_QP_NUMERICAL,           /* the reduced KKT matrix could not be factored (Q not PSD?)  */
    DOPT_MPC_QP_NOT_SOLVED           /* never attempted (e.g. no solve before this backward)       */
} dopt_mpc_qp_result;

/* dopt_mpc_qp_result_string: "solved", "primal infeasible", ...; never NULL. */
DOPT_API const char *dopt_mpc_qp_result_string(dopt_mpc_qp_result r);

/* The forward method (dopt_mpc_qp_options.method, dopt_mpc_qp_report.method). */
typedef enum dopt_mpc_qp_method {
    DOPT_MPC_QP_AUTO = 0,            /* the active-set method, the interior point as a fallback    */
    DOPT_MPC_QP_ACTIVE_SET,          /* the dual active-set method (Goldfarb-Idnani)               */
    DOPT_MPC_QP_INTERIOR_POINT       /* the primal-dual interior point method (Mehrotra)           */
} dopt_mpc_qp_method;

/* Sizes of every QP of a batch.
 *   n      variables (>= 1)
 *   meq    equality rows A x = b (>= 0)
 *   mineq  inequality rows G x <= h (>= 0)
 *   box    1: bounds l <= x <= u are given (entries may be -inf / +inf), 0: no bounds
 *   double_inside  float (_f) objects only: 1 solves in double (data converted in, solution and
 *          gradients rounded out); ignored by _d objects. */
typedef struct dopt_mpc_qp_dims {
    int n, meq, mineq, box;
    int double_inside;
} dopt_mpc_qp_dims;

/* Options of dopt_mpc_qp_solve / _backward; zero means every default.
 *   tol        absolute KKT tolerance (stationarity, equality and inequality violation,
 *              complementarity |z_i (h - G x)_i|, all in the data's units); 0: 1e-9 in double and
 *              for double_inside, 1e-4 in float; must be > 0 after the default.
 *   max_iter   interior-point iterations; 0: 100.  (The active-set method stops after
 *              5 (n + meq + m) + 10 additions and removals, m the inequality and bound rows.)
 *   method     DOPT_MPC_QP_AUTO (0): the dual active-set method when Q is positive definite,
 *              the interior point method otherwise or when the active-set method fails (see
 *              the overview); DOPT_MPC_QP_ACTIVE_SET or DOPT_MPC_QP_INTERIOR_POINT: only that
 *              one (ACTIVE_SET on a singular Q reports NUMERICAL).
 *   warm_start 1: the x passed to solve is the starting point and the multipliers of the last
 *              solve of the same batch element (if it solved) start the duals; 0: cold start.
 *   degenerate_tol  a constraint whose slack and multiplier are both <= this is "weakly active"
 *              (counted in the report, differentiated as inactive); 0: min(10 sqrt(tol), 1000 tol)
 *              (1e-6 at the double default, 0.1 in float).  Larger values call constraints with a
 *              small but real multiplier weakly active, and give the inactive side's derivative
 *              where the solution map is differentiable.
 *   no_polish  1: skip the polishing step after the interior point method (x from the active-set
 *              KKT system, see the overview) and its factorization; the backward then factors
 *              at its first call.  0: polish (x to direct-solve accuracy).
 *   policy     backward, for elements whose forward did not solve: FLAG (zero gradient, status
 *              in the report, the call returns the first such status), ZERO (zero gradient,
 *              call returns DOPT_OK), FAIL (stop at the first one). */
typedef struct dopt_mpc_qp_options {
    double tol;
    int max_iter;
    int method;
    int warm_start;
    double degenerate_tol;
    int no_polish;
    dopt_nlls_diff_policy policy;
} dopt_mpc_qp_options;

/* dopt_mpc_qp_default_options: the defaults written out (tol 1e-9, the double value). */
DOPT_API dopt_mpc_qp_options dopt_mpc_qp_default_options(void);

/* Per-element outcome of a solve (and, for status, of a backward).
 *   status      DOPT_OK when result is SOLVED; DOPT_ERR_NO_CONVERGENCE for PRIMAL_INFEASIBLE,
 *               DUAL_INFEASIBLE and MAX_ITER; DOPT_ERR_NON_FINITE for INVALID_DATA;
 *               DOPT_ERR_NOT_POSITIVE_DEFINITE for NUMERICAL.
 *   primal_residual  max(|A x - b|_inf, max(G x - h)_+, max(l - x)_+, max(x - u)_+)
 *   dual_residual    |Q x + p + A^T y + G^T z + zu - zl|_inf
 *   complementarity  max_i z_i |slack_i| over every inequality (G rows and finite bounds)
 *   objective        1/2 x^T Q x + p^T x
 *   weakly_active    constraints with slack and multiplier both <= degenerate_tol
 *   polished         1 when x and the multipliers come from the polishing step
 *   method           the method whose result this is (ACTIVE_SET or INTERIOR_POINT)
 *   iterations       interior point iterations, or active-set additions and removals */
typedef struct dopt_mpc_qp_report {
    dopt_status status;
    dopt_mpc_qp_result result;
    int iterations;
    double primal_residual, dual_residual, complementarity, objective;
    int weakly_active;
    int polished;
    dopt_mpc_qp_method method;
} dopt_mpc_qp_report;
/* ==== end DENSE QP: precision-independent declarations ==== */

/* ==== CEM AND LML: precision-independent declarations ==== */
/* Sizes of a CEM / DCEM object, fixed at creation (see the CEM AND LML section above). */
typedef struct dopt_mpc_cem_dims {
    ptrdiff_t batch;        /* problems solved together, >= 1                                     */
    int dim;                /* decision variables per problem (CEM-MPC: horizon * control_dim)   */
    int population;         /* samples per iteration, >= 2                                        */
    int elites;             /* samples the mean and std are refit to, 1 <= elites < population   */
    int state_dim;          /* CEM-MPC rollouts (dopt_mpc_cem_plan): reals per state; 0: none    */
    int dcem_iterations;    /* DCEM: most iterations dopt_mpc_dcem_forward may record; 0: no DCEM */
} dopt_mpc_cem_dims;

/* Outcome of one batch element of a CEM / DCEM solve. */
typedef struct dopt_mpc_cem_report {
    dopt_status status;     /* DOPT_OK, or DOPT_ERR_NON_FINITE (no sample had a finite cost)     */
    int iterations;         /* iterations made                                                    */
    int bad_samples;        /* samples whose cost was NaN or Inf (CEM ranks them last)            */
    double best_cost;       /* lowest cost of any sample of the solve                             */
    double max_std;         /* largest entry of the final std                                     */
} dopt_mpc_cem_report;
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
/* Lanes of the lockstep LQR: one 64-byte vector of reals (R_ is the pass's real type). */
#ifndef DOPT_MPC_LANE_BYTES /* bytes of one lockstep lane block (see "lockstep lanes"); 64: 8 doubles */
#define DOPT_MPC_LANE_BYTES 64
#endif
#define DOPT__LW ((int)(DOPT_MPC_LANE_BYTES / sizeof(R_)))

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
DOPT_API const char *dopt_mpc_qp_result_string(dopt_mpc_qp_result r)
{
    switch (r) {
    case DOPT_MPC_QP_SOLVED: return "solved";
    case DOPT_MPC_QP_PRIMAL_INFEASIBLE: return "primal infeasible";
    case DOPT_MPC_QP_DUAL_INFEASIBLE: return "dual infeasible (unbounded)";
    case DOPT_MPC_QP_MAX_ITER: return "iteration limit";
    case DOPT_MPC_QP_INVALID_DATA: return "invalid data";
    case DOPT_MPC_QP_NUMERICAL: return "numerical failure";
    case DOPT_MPC_QP_NOT_SOLVED: return "not solved";
    }
    return "unknown result";
}

DOPT_API dopt_mpc_qp_options dopt_mpc_qp_default_options(void)
{
    dopt_mpc_qp_options o;
    memset(&o, 0, sizeof o);
    o.tol = 1e-9;
    o.max_iter = 100;
    o.degenerate_tol = 1e-6;
    o.policy = DOPT_NLLS_DIFF_FLAG;
    return o;
}

/* dopt__mpc_qp_status_of: the dopt_status that goes with a per-element result. */
static dopt_status dopt__mpc_qp_status_of(dopt_mpc_qp_result r)
{
    switch (r) {
    case DOPT_MPC_QP_SOLVED: return DOPT_OK;
    case DOPT_MPC_QP_INVALID_DATA: return DOPT_ERR_NON_FINITE;
    case DOPT_MPC_QP_NUMERICAL: return DOPT_ERR_NOT_POSITIVE_DEFINITE;
    case DOPT_MPC_QP_NOT_SOLVED: return DOPT_ERR_INVALID_ARGUMENT;
    default: return DOPT_ERR_NO_CONVERGENCE;
    }
}

/* dopt__mpc_qp_check_dims: sizes in range (and small enough that n^2 and the workspace fit). */
static dopt_status dopt__mpc_qp_check_dims(const dopt_mpc_qp_dims *d, ptrdiff_t max_batch,
                                           dopt_errinfo *info)
{
    if (!d) return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "mpc_qp: dims is NULL");
    if (d->n < 1 || d->meq < 0 || d->mineq < 0 || (d->box != 0 && d->box != 1) ||
        (d->double_inside != 0 && d->double_inside != 1) || max_batch < 1)
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0,
                                "mpc_qp: need n >= 1, meq >= 0, mineq >= 0, box and double_inside 0 or 1, max_batch >= 1");
    if (d->n > 46340 || d->meq > 46340 || d->mineq > 46340 || d->meq + d->mineq > 46340)
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "mpc_qp: dense sizes above 46340");
    return DOPT_OK;
}

/* dopt__mpc_qp_resolve: zeros to defaults, range checks.  `is_float` picks the float tolerance. */
static dopt_status dopt__mpc_qp_resolve(const dopt_mpc_qp_options *in, int is_float,
                                        dopt_mpc_qp_options *out, dopt_errinfo *info)
{
    dopt_mpc_qp_options o;
    if (in) o = *in; else memset(&o, 0, sizeof o);
    if (o.tol == 0) o.tol = is_float ? 1e-4 : 1e-9;
    if (o.max_iter == 0) o.max_iter = 100;
    if (o.degenerate_tol == 0) o.degenerate_tol = 10.0 * sqrt(o.tol) < 1000.0 * o.tol ? 10.0 * sqrt(o.tol) : 1000.0 * o.tol;
    if (!(o.tol > 0) || !(o.tol < 1) || o.max_iter < 1 || !(o.degenerate_tol > 0) ||
        (o.warm_start != 0 && o.warm_start != 1) || (o.no_polish != 0 && o.no_polish != 1) ||
        o.method < DOPT_MPC_QP_AUTO || o.method > DOPT_MPC_QP_INTERIOR_POINT ||
        (o.policy != DOPT_NLLS_DIFF_FLAG && o.policy != DOPT_NLLS_DIFF_ZERO && o.policy != DOPT_NLLS_DIFF_FAIL))
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0,
                                "mpc_qp: options out of range (tol in (0,1), max_iter >= 1, warm_start 0/1, known policy)");
    *out = o;
    return DOPT_OK;
}

/* Integer slots of an element: [0] result, [1] backward factor ready, [2] nf free variables,
 * [3] na active G rows, [4] weakly active count, [5] has multipliers (warm start),
 * [6] q, the size of the active-set method's working set (0 after an interior point solve),
 * then free[n], act[mi], box state[n] (0 free, +1 at u, -1 at l), working set[n]. */
enum { DOPT__MPC_QP_IHEAD = 7 };

/* Scratch vectors (each vlen reals) of the interior point method and the backward. */
enum {
    DOPT__QPV_ON, DOPT__QPV_D, DOPT__QPV_CX, DOPT__QPV_RD, DOPT__QPV_RE, DOPT__QPV_RI, DOPT__QPV_R1,
    DOPT__QPV_R2, DOPT__QPV_DX, DOPT__QPV_DY, DOPT__QPV_DZ, DOPT__QPV_DS, DOPT__QPV_DZA,
    DOPT__QPV_DSA, DOPT__QPV_T, DOPT__QPV_TMP, DOPT__QPV_W, DOPT__QPV_RC, DOPT__QPV_E1,
    DOPT__QPV_E2, DOPT__QPV_E3, DOPT__QPV_E4, DOPT__QPV_COUNT
};
/* ==== end DENSE QP: precision-independent implementation ==== */

/* ==== CEM AND LML: precision-independent implementation ==== */
/* ---- the normal sampler: a 1024-layer ziggurat on 8 xoshiro256+ lanes per element ----
 * Element b's draws come from 8 lanes, each a xoshiro256+ generator (Blackman & Vigna 2018, the
 * variant for floating point: output s0 + s3) whose 256-bit state is 4 outputs of the element's
 * dopt_rng stream.  Normals are made 8 at a time, normal q of a fill by lane q mod 8, so the
 * sequence depends on the element's stream only; the avx2 and avx512 kernel families run the
 * lanes as two 4-wide vectors (AVX2 intrinsics, in the CEM kernel region of the implementation
 * pass), the others as a plain loop: the same bits either way.
 * A lane's 64-bit draw u picks layer i = bits 3..12 and c = (bits 13..63 as the mantissa of a
 * double in [1, 2)) - 3/2 in [-1/2, 1/2); x = c * width[i] is accepted at once when
 * |x| < inner[i] (the next narrower layer's edge: 99.57% of draws; Marsaglia & Tsang 2000 with
 * 1024 layers, r = 4.0388498461095045, layer area v = 1.2263246463530881e-3: the rejections
 * cost far more than the table's 24 KB).  Otherwise the lane samples the wedge (or, for the
 * base layer 0, the tail beyond r) exactly with further draws of its own.  Tables are built
 * into each solver at creation (no global tables). */
#define DOPT__MPC_LANES 8
typedef struct dopt__mpc_lanes {
    uint64_t s[4][DOPT__MPC_LANES]; /* xoshiro256+ state word k of lane l at s[k][l] */
} dopt__mpc_lanes;

typedef struct dopt__mpc_zig {
    double wi[1024][2]; /* layer i: {width: x = c * width, inner: fast accept when |x| < inner}    */
    double f[1024];     /* exp(-x_i^2 / 2) at layer i's outer edge x_i; f[0] = 1 (x_0 = 0)        */
} dopt__mpc_zig;

#define DOPT__MPC_ZIG_N 1024
#define DOPT__MPC_ZIG_R 4.0388498461095045
#define DOPT__MPC_ZIG_V 1.2263246463530881e-3

static void dopt__mpc_zig_init(dopt__mpc_zig *z)
{
    double x = DOPT__MPC_ZIG_R, q = DOPT__MPC_ZIG_V / exp(-0.5 * x * x);
    int i;
    z->wi[0][0] = 2 * q; /* base strip: width q, the tail beyond r */
    z->wi[0][1] = x;
    z->wi[DOPT__MPC_ZIG_N - 1][0] = 2 * x;
    z->f[0] = 1.0;
    z->f[DOPT__MPC_ZIG_N - 1] = exp(-0.5 * x * x);
    for (i = DOPT__MPC_ZIG_N - 2; i >= 1; --i) { /* x_i from x_{i+1}: every layer has area v */
        x = sqrt(-2.0 * log(DOPT__MPC_ZIG_V / x + exp(-0.5 * x * x)));
        z->wi[i][0] = 2 * x;
        z->wi[i + 1][1] = x;
        z->f[i] = exp(-0.5 * x * x);
    }
    z->wi[1][1] = 0; /* the top layer is all wedge */
}

/* Seed element lanes from its dopt_rng stream (4 draws per lane). */
static void dopt__mpc_lanes_seed(dopt__mpc_lanes *L, dopt_rng *rng)
{
    int l, k;
    for (l = 0; l < DOPT__MPC_LANES; ++l) {
        for (k = 0; k < 4; ++k) L->s[k][l] = dopt_rng_u64(rng);
        if (!(L->s[0][l] | L->s[1][l] | L->s[2][l] | L->s[3][l])) L->s[0][l] = 1;
    }
}

/* Next 64 bits of lane l (xoshiro256+). */
static uint64_t dopt__mpc_lane_next(dopt__mpc_lanes *L, int l)
{
    uint64_t s0 = L->s[0][l], s1 = L->s[1][l], s2 = L->s[2][l], s3 = L->s[3][l], r = s0 + s3, t = s1 << 17;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = (s3 << 45) | (s3 >> 19);
    L->s[0][l] = s0, L->s[1][l] = s1, L->s[2][l] = s2, L->s[3][l] = s3;
    return r;
}

/* The candidate of draw u: *layer and x = c * width; returns 1 when accepted at once. */
static int dopt__mpc_zig_try(const dopt__mpc_zig *z, uint64_t u, int *layer, double *x)
{
    uint64_t bits = ((u >> 12) & ~(uint64_t)1) | 0x3FF0000000000000ull;
    double m;
    int i = (int)((u >> 3) & 1023u);
    memcpy(&m, &bits, sizeof m);
    *layer = i;
    *x = (m - 1.5) * z->wi[i][0];
    return fabs(*x) < z->wi[i][1];
}

/* The rare draws (0.43%): lane l's candidate u was not accepted at once; sample the wedge of its
 * layer, or the tail beyond r for the base layer, then fresh draws until one is accepted. */
static double dopt__mpc_zig_slow(const dopt__mpc_zig *z, dopt__mpc_lanes *L, int l, uint64_t u)
{
    const double r = DOPT__MPC_ZIG_R, ulp = 1.0 / 9007199254740992.0; /* 2^-53 */
    for (;;) {
        int i;
        double x;
        if (dopt__mpc_zig_try(z, u, &i, &x)) return x;
        if (i == 0) { /* tail |x| > r: Marsaglia's exponential rejection */
            double t, e;
            do {
                t = -log(1.0 - (double)(dopt__mpc_lane_next(L, l) >> 11) * ulp) / r;
                e = -log(1.0 - (double)(dopt__mpc_lane_next(L, l) >> 11) * ulp);
            } while (e + e < t * t);
            return x > 0 ? r + t : -(r + t);
        }
        if (z->f[i] + (double)(dopt__mpc_lane_next(L, l) >> 11) * ulp * (z->f[i - 1] - z->f[i]) < exp(-0.5 * x * x))
            return x;
        u = dopt__mpc_lane_next(L, l);
    }
}

/* The sampler's fast pass and the LML sums use AVX2 intrinsics in the kernel families that have
 * them (the CEM kernel region of the implementation pass); the header is included once here. */
#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__)) && \
    !defined(DOPT_NO_SIMD) && !defined(DOPT_NO_VECTOR_EXT) && !defined(__CUDACC__)
#include <immintrin.h>
#define DOPT__MPC_X86_INTRIN 1
#else
#define DOPT__MPC_X86_INTRIN 0
#endif
/* LQR backward: unshared dL/dC or dL/dF arrays of at least this many bytes are written with
 * non-temporal stores on x86-64 (they outgrow the caches: streaming skips the read for ownership
 * of every line); 0 disables it. */
#ifndef DOPT_MPC_STREAM_BYTES
#define DOPT_MPC_STREAM_BYTES (16L << 20)
#endif
#if DOPT__MPC_X86_INTRIN && defined(__x86_64__) && DOPT_MPC_STREAM_BYTES > 0
#define DOPT__LQR_HAVE_STREAM 1
#else
#define DOPT__LQR_HAVE_STREAM 0
#endif

/* *out = a * b; 0 when it overflows size_t. */
static int dopt__mpc_mul(size_t a, size_t b, size_t *out)
{
    if (a && b > (size_t)-1 / a) return 0;
    *out = a * b;
    return 1;
}

/* The double halfway between lo < hi in their ORDERING (counting representable doubles), so a
 * bisection over any finite bracket ends within 64 halvings (32 for floats). */
static double dopt__mpc_ordered_mid(double lo, double hi)
{
    int64_t a, b, m;
    double r;
    memcpy(&a, &lo, sizeof a);
    memcpy(&b, &hi, sizeof b);
    if (a < 0) a = INT64_MIN - a; /* negative doubles: reverse their order */
    if (b < 0) b = INT64_MIN - b;
    m = a / 2 + b / 2 + ((a % 2 + b % 2) / 2);
    if (m < 0) m = INT64_MIN - m;
    memcpy(&r, &m, sizeof r);
    return r;
}

static float dopt__mpc_ordered_mid_float(float lo, float hi)
{
    int32_t a, b, m;
    float r;
    memcpy(&a, &lo, sizeof a);
    memcpy(&b, &hi, sizeof b);
    if (a < 0) a = INT32_MIN - a;
    if (b < 0) b = INT32_MIN - b;
    m = a / 2 + b / 2 + ((a % 2 + b % 2) / 2);
    if (m < 0) m = INT32_MIN - m;
    memcpy(&r, &m, sizeof r);
    return r;
}

/* Carves consecutive 64-byte aligned blocks (base NULL: only counts the bytes). */
typedef struct dopt__mpc_carver {
    unsigned char *base;
    size_t off;
    int ok;
} dopt__mpc_carver;

static void *dopt__mpc_carve(dopt__mpc_carver *cv, size_t count, size_t elem)
{
    size_t bytes, r;
    unsigned char *p;
    if (!cv->ok || !dopt__mpc_mul(count, elem, &bytes) || bytes > (size_t)-1 / 2) {
        cv->ok = 0;
        return NULL;
    }
    r = DOPT_WORKSPACE_ROUND(bytes);
    if (cv->off > (size_t)-1 / 2 - r) {
        cv->ok = 0;
        return NULL;
    }
    p = cv->base ? cv->base + cv->off : NULL;
    cv->off += r;
    return p;
}

/* a * b * c, or (size_t)-1 when it overflows (the carver then fails) */
static size_t dopt__mpc_count3(size_t a, size_t b, size_t c)
{
    size_t ab, abc;
    if (!dopt__mpc_mul(a, b, &ab) || !dopt__mpc_mul(ab, c, &abc)) return (size_t)-1;
    return abc;
}

static dopt_status dopt__mpc_cem_check_dims(const dopt_mpc_cem_dims *d, dopt_errinfo *info)
{
    if (!d || d->batch < 1 || d->dim < 1 || d->population < 2 || d->elites < 1 ||
        d->elites >= d->population || d->state_dim < 0 || d->dcem_iterations < 0)
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0,
                                "cem: need batch >= 1, dim >= 1, population >= 2, 1 <= elites < population, "
                                "state_dim >= 0, dcem_iterations >= 0");
    return DOPT_OK;
}
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
#if defined(DOPT_MPC__PASS_DECL) && defined(DOPT_REAL) && !defined(DOPT__KDRIVE)
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
    /* dopt_mpc_ilqr_backward after a solve with a slew penalty only (dopt_mpc_lqr_backward never
     * reads them): dL/dw, one real per element (bs; 0 sums), and dL/du_prev, m per element. */
    DOPT_FN(dopt_mpc_seq) slew_weight, u_prev;
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
    dopt_nlls_diff_policy policy; /* elements whose forward did not converge: FLAG (default: gradient
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
    /* Slew-rate penalty sum_{t<T} w/2 |u_t - u_{t-1}|^2 added to the cost (see the overview);
     * needs a solver made by dopt_mpc_ilqr_slew_create (or _slew_create_in). */
    DOPT_FN(dopt_mpc_cseq) slew_weight;   /* w >= 0: one real per element (bs; 0 shares it; ts
                                             unused); p NULL: no slew penalty                      */
    DOPT_FN(dopt_mpc_cseq) u_prev;        /* u_{-1}, e.g. the control applied last: one m-vector
                                             per element (bs); p NULL: zero                        */
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
/* dopt_mpc_ilqr_slew_workspace_size / slew_create_in / slew_create: a solver that also accepts
 * problems with a slew-rate penalty (problem.slew_weight).  It holds a second iLQR solver for
 * the augmented state [x_t; u_{t-1}] (n + m states), so it needs about 3x the memory of the
 * plain solver; destroy it with dopt_mpc_ilqr_destroy.  Statuses as the plain functions. */
DOPT_API dopt_status DOPT_FN(dopt_mpc_ilqr_slew_workspace_size)(int n, int m, int T, ptrdiff_t B,
                                                                size_t *bytes, dopt_errinfo *info);
DOPT_API dopt_status DOPT_FN(dopt_mpc_ilqr_slew_create_in)(void *memory, size_t bytes, int n, int m, int T,
                                                           ptrdiff_t B, DOPT_FN(dopt_mpc_ilqr) **out,
                                                           dopt_errinfo *info);
DOPT_API dopt_status DOPT_FN(dopt_mpc_ilqr_slew_create)(const dopt_hooks *hooks, int n, int m, int T,
                                                        ptrdiff_t B, DOPT_FN(dopt_mpc_ilqr) **out,
                                                        dopt_errinfo *info);

/* dopt_mpc_ilqr_solve: iLQR with control limits (box-DDP, Tassa et al. 2014) for each element.
 * An iteration linearizes the dynamics and quadratizes the cost along the current trajectory,
 * takes the LQR step of that approximation (box QPs on the controls, as dopt_mpc_lqr_solve) and
 * rolls the true dynamics forward under u = clamp(u_bar + alpha k + K (x - x_bar)), halving
 * alpha until the cost decreases.  x_init: one n-vector per element (bs).  tau: out, T vectors
 * n+m per element; read first for a warm start.  reports: B reports (iterations, converged,
 * cost, n_clamped) or NULL.  Allocates nothing.  Returns the first failing element's status:
 * DOPT_ERR_DIMENSION (problem's n_state/n_ctrl differ from the solver's), NON_FINITE (a
 * callback produced NaN/Inf), NOT_POSITIVE_DEFINITE (a Q_uu of the approximation, with the time
 * step), NO_CONVERGENCE (iteration limit or no descent), or a callback's own status; with a
 * slew penalty also INVALID_ARGUMENT (a solver without slew room, or a weight < 0) and
 * NON_FINITE (a weight or u_prev not finite), errinfo.index naming the element.  The reported
 * cost includes the slew penalty. */
DOPT_API dopt_status DOPT_FN(dopt_mpc_ilqr_solve)(DOPT_FN(dopt_mpc_ilqr) *s,
                                                  const DOPT_FN(dopt_mpc_ilqr_problem) *problem,
                                                  DOPT_FN(dopt_mpc_cseq) x_init,
                                                  const DOPT_FN(dopt_mpc_ilqr_options) *options,
                                                  DOPT_FN(dopt_mpc_seq) tau,
                                                  DOPT_FN(dopt_mpc_lqr_report) *reports,
                                                  dopt_errinfo *info);

/* dopt_mpc_ilqr_approximation: the LQR data of the last solve's final approximation at the
 * solution tau* (C_t = hess l_t, c_t = grad l_t - C_t tau*_t, F_t = Jacobian of f,
 * f_t = f(tau*_t) - F_t tau*_t; contiguous per element), whose solution is tau* itself.  After
 * a solve with a slew penalty: the augmented problem's (state [x_t; u_{t-1}], n + m states,
 * tau = [x_t; u_{t-1}; u_t]; see the overview). */
DOPT_API dopt_status DOPT_FN(dopt_mpc_ilqr_approximation)(const DOPT_FN(dopt_mpc_ilqr) *s,
                                                          DOPT_FN(dopt_mpc_lqr_data) *data,
                                                          dopt_errinfo *info);

/* dopt_mpc_ilqr_backward: dopt_mpc_lqr_backward of the final approximation (Amos et al. 2018:
 * differentiate the LQR at the fixed point), so grad receives dL/dC, dc, dF, df, dx_init of the
 * approximation's data (layout of dopt_mpc_ilqr_approximation, or any strides you choose).
 * Chain them to your parameters theta with tau* held fixed: dL/dtheta = sum_t dC_t : dC_t/dtheta
 * + dc_t . (d grad l_t/dtheta - dC_t/dtheta tau*_t) + dF_t : dF_t/dtheta + df_t . (d f/dtheta -
 * dF_t/dtheta tau*_t).  (Like mpc.pytorch, the dynamics' curvature is left out.)  Non-converged
 * elements follow options->policy.  After a solve with a slew penalty grad keeps these shapes
 * (C_t = hess l_t without the penalty) and also receives dL/d slew_weight and dL/d u_prev
 * (grad.slew_weight, grad.u_prev; p NULL: not wanted). */
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
/* The data of a batch of QPs (see DENSE QP in the overview).  Element k reads X + k * X_stride;
 * a stride of 0 shares the array across the batch.  Storage, column-major:
 *   Q  n x n (ld n), symmetric PSD: only the lower triangle is read      p  n
 *   A  meq x n (ld meq)    b  meq        (unused when meq = 0; may be NULL)
 *   G  mineq x n (ld mineq) h  mineq     (unused when mineq = 0; h_i = +inf drops row i)
 *   l, u  n each when dims.box (l_j = -inf / u_j = +inf: no bound on that side), else unused */
typedef struct DOPT_FN(dopt_mpc_qp_data) {
    const DOPT_REAL *Q, *p, *A, *b, *G, *h, *l, *u;
    ptrdiff_t Q_stride, p_stride, A_stride, b_stride, G_stride, h_stride, l_stride, u_stride;
} DOPT_FN(dopt_mpc_qp_data);

/* Gradients of the loss with respect to the data, same layout as dopt_mpc_qp_data.  A NULL
 * pointer means "not wanted"; a stride of 0 sums the batch's gradients into one array.
 * dQ is the symmetric gradient (both triangles written, 1/2 (g x^T + x g^T) form): the
 * derivative along a symmetric perturbation E is sum_ij dQ_ij E_ij. */
typedef struct DOPT_FN(dopt_mpc_qp_grad) {
    DOPT_REAL *Q, *p, *A, *b, *G, *h, *l, *u;
    ptrdiff_t Q_stride, p_stride, A_stride, b_stride, G_stride, h_stride, l_stride, u_stride;
} DOPT_FN(dopt_mpc_qp_grad);

/* A batched dense QP solver object (sizes fixed at creation, batch up to max_batch). */
typedef struct DOPT_FN(dopt_mpc_qp) DOPT_FN(dopt_mpc_qp);

/* dopt_mpc_qp_workspace_size: bytes dopt_mpc_qp_create_in needs for these sizes and batch
 * capacity (per element it keeps x, the multipliers and the backward's factors:
 * about n^2 + (n + meq + mineq)(meq + mineq) + 6(n + mineq) reals).  DOPT_ERR_INVALID_ARGUMENT
 * for bad sizes. */
DOPT_API dopt_status DOPT_FN(dopt_mpc_qp_workspace_size)(const dopt_mpc_qp_dims *dims,
                                                         ptrdiff_t max_batch, size_t *bytes,
                                                         dopt_errinfo *info);

/* dopt_mpc_qp_create_in: the object carved from `memory` (`bytes` from workspace_size; no
 * allocation now or later).  DOPT_ERR_ALLOCATION when bytes is too small. */
DOPT_API dopt_status DOPT_FN(dopt_mpc_qp_create_in)(void *memory, size_t bytes,
                                                    const dopt_mpc_qp_dims *dims,
                                                    ptrdiff_t max_batch,
                                                    DOPT_FN(dopt_mpc_qp) **out, dopt_errinfo *info);

/* dopt_mpc_qp_create: workspace_size + one allocation through the hooks (copied; NULL: libc). */
DOPT_API dopt_status DOPT_FN(dopt_mpc_qp_create)(const dopt_hooks *hooks, const dopt_mpc_qp_dims *dims,
                                                 ptrdiff_t max_batch, DOPT_FN(dopt_mpc_qp) **out,
                                                 dopt_errinfo *info);

/* dopt_mpc_qp_destroy: frees an object made by dopt_mpc_qp_create; for create_in objects it
 * does nothing (the caller owns the memory).  NULL is a no-op. */
DOPT_API void DOPT_FN(dopt_mpc_qp_destroy)(DOPT_FN(dopt_mpc_qp) *qp);

/* dopt_mpc_qp_solve: solve `batch` (1..max_batch) QPs
 *     min 1/2 x^T Q x + p^T x   s.t.  A x = b,  G x <= h,  l <= x <= u
 * by the dual active-set method (Q definite) or a primal-dual interior point method (see the
 * overview and options.method).
 *   data     the batch's data (dopt_mpc_qp_data)
 *   x        out: n reals per element at x + k * x_stride (in: the start with options.warm_start)
 *   report   optional, batch entries: result, residuals, iterations per element
 * Every element is attempted.  Returns DOPT_OK when all solved, else the status of the first
 * element that did not (info->index = that element): DOPT_ERR_NO_CONVERGENCE (infeasible,
 * unbounded, iteration limit: see report[k].result), DOPT_ERR_NON_FINITE (bad data),
 * DOPT_ERR_NOT_POSITIVE_DEFINITE (factorization failure); DOPT_ERR_INVALID_ARGUMENT /
 * DOPT_ERR_DIMENSION for bad arguments (nothing solved).  Unsolved elements get the method's last
 * iterate when finite, else 0 (never a NaN).  Allocates nothing. */
DOPT_API dopt_status DOPT_FN(dopt_mpc_qp_solve)(DOPT_FN(dopt_mpc_qp) *qp,
                                                const dopt_mpc_qp_options *options, ptrdiff_t batch,
                                                const DOPT_FN(dopt_mpc_qp_data) *data,
                                                DOPT_REAL *x, ptrdiff_t x_stride,
                                                dopt_mpc_qp_report *report, dopt_errinfo *info);

/* dopt_mpc_qp_multipliers: the multipliers of element k of the last solve (each may be NULL):
 * y (meq) of A x = b, z (mineq) of G x <= h, zl / zu (n) of l <= x / x <= u (0 where the bound is
 * infinite), so that Q x + p + A^T y + G^T z + zu - zl = 0, z, zl, zu >= 0.
 * DOPT_ERR_INVALID_ARGUMENT if k was not part of the last solve or did not solve. */
DOPT_API dopt_status DOPT_FN(dopt_mpc_qp_multipliers)(const DOPT_FN(dopt_mpc_qp) *qp, ptrdiff_t k,
                                                      DOPT_REAL *y, DOPT_REAL *z, DOPT_REAL *zl,
                                                      DOPT_REAL *zu, dopt_errinfo *info);

/* dopt_mpc_qp_backward: the OptNet backward pass of the last solve.  Given dL/dx (gx, n reals
 * per element at gx + k * gx_stride), writes dL/dQ, dp, dA, db, dG, dh, dl, du into `grad`
 * (NULL pointers skipped; stride-0 arrays receive the sum over the batch).  `data` must be the
 * data of the last solve, unchanged.  The KKT system is differentiated at the solution with its
 * active set: active inequalities act as equalities, inactive ones drop out, weakly active ones
 * (slack and multiplier both <= degenerate_tol) are treated as INACTIVE — the one-sided
 * derivative for perturbations that open the constraint — unless the polish needed them active
 * (see the overview).  It reuses the solve's polishing factorization (or factors at the first
 * backward after an unpolished solve; later calls reuse it).
 *   report  optional, batch entries: status per element (DOPT_OK, the forward's failure under
 *           the policy, or DOPT_ERR_NON_FINITE when a gradient came out non-finite)
 * Returns DOPT_OK, or the first failing element's status (policy FLAG / FAIL; ZERO returns
 * DOPT_OK with zero gradients for the failed elements). */
DOPT_API dopt_status DOPT_FN(dopt_mpc_qp_backward)(DOPT_FN(dopt_mpc_qp) *qp,
                                                   const dopt_mpc_qp_options *options, ptrdiff_t batch,
                                                   const DOPT_FN(dopt_mpc_qp_data) *data,
                                                   const DOPT_REAL *gx, ptrdiff_t gx_stride,
                                                   const DOPT_FN(dopt_mpc_qp_grad) *grad,
                                                   dopt_mpc_qp_report *report, dopt_errinfo *info);
/* ==== end DENSE QP: declarations ==== */

/* ==== CEM AND LML: declarations ==== */
/* ---- LML: the limited multi-label projection ------------------------------------------------- */

/* dopt_mpc_lml: y = argmin_y -x^T y - H_b(y)  s.t.  0 <= y <= 1, 1^T y = k, for a batch of
 * vectors, where H_b(y) = -sum_i y_i log y_i + (1 - y_i) log(1 - y_i) (Amos, Koltun, Kolter 2019).
 * The solution is y_i = sigmoid(x_i + nu) with the scalar dual nu solving sum_i y_i = k; nu is
 * found by a safeguarded Newton iteration inside a bracket (bisection when a Newton step leaves
 * it, over the ordering of the reals when the bracket is wide), started between the k-th and
 * (k+1)-th largest x (a partial selection), with x shifted by that value so huge inputs keep
 * their precision.  Ties, inputs of any finite magnitude, k near 0 or n are all fine.
 *   batch      vectors, >= 0               n   entries per vector, >= 2
 *   k          the sum, 0 < k < n (need not be an integer)
 *   x          element b at x + b*stride_x, n reals;  y  output, same layout (must not overlap x)
 *   nu         optional (NULL): the dual of element b at nu[b]
 *   element_status  optional (NULL): batch statuses (DOPT_OK, DOPT_ERR_NON_FINITE for a NaN/Inf
 *              input, DOPT_ERR_NO_CONVERGENCE, never seen in the tests)
 * Returns the first failing element's status (info->index = that element); a failed element's y
 * is filled with k/n.  DOPT_ERR_INVALID_ARGUMENT for bad sizes or k.  Allocates nothing. */
DOPT_API dopt_status DOPT_FN(dopt_mpc_lml)(ptrdiff_t batch, int n, DOPT_REAL k, const DOPT_REAL *x,
                                           ptrdiff_t stride_x, DOPT_REAL *y, ptrdiff_t stride_y,
                                           DOPT_REAL *nu, dopt_status *element_status,
                                           dopt_errinfo *info);

/* dopt_mpc_lml_backward: the vector-Jacobian product g_x = (dy/dx)^T g_y of dopt_mpc_lml, from
 * its output y alone: with h_i = y_i (1 - y_i), dy/dx = diag(h) - h h^T / (1^T h) (symmetric), so
 * g_x_i = h_i (g_y_i - (h^T g_y) / (1^T h)); g_x = 0 when every y_i is exactly 0 or 1.
 * Layouts as in dopt_mpc_lml; g_x may alias g_y.  DOPT_ERR_NON_FINITE (per call, first element
 * in info->index) when g_y is not finite.  Allocates nothing. */
DOPT_API dopt_status DOPT_FN(dopt_mpc_lml_backward)(ptrdiff_t batch, int n, const DOPT_REAL *y,
                                                    ptrdiff_t stride_y, const DOPT_REAL *g_y,
                                                    ptrdiff_t stride_gy, DOPT_REAL *g_x,
                                                    ptrdiff_t stride_gx, dopt_errinfo *info);

/* ---- CEM and DCEM ---------------------------------------------------------------------------- */

/* The objective, scoring whole populations at once.
 *   cost      required.  For the `count` batch elements first .. first+count-1: sample j of
 *             element first+i is the `dim` reals at X + ((size_t)i*population + j)*dim; write its
 *             cost to cost[(size_t)i*population + j].  A NaN or Inf cost ranks the sample last
 *             (CEM; DCEM fails the element).  Return DOPT_OK or an error, which stops the solve
 *             and is returned as is.  Must depend on the element index and the sample only (not on
 *             `count`), so that results do not depend on the batch size.
 *   cost_vjp  DCEM backward only (NULL otherwise).  Same X and layout; ADD g_cost[i*pop+j] *
 *             d cost_{ij} / d X_{ij} into g_X (same layout as X), and add g_cost . d cost / d theta
 *             into the user's own gradient of any parameters theta the cost has.
 *   user      handed to both. */
typedef struct DOPT_FN(dopt_mpc_cem_objective) {
    dopt_status (*cost)(void *user, ptrdiff_t first, ptrdiff_t count, int population, int dim,
                        const DOPT_REAL *X, DOPT_REAL *cost);
    dopt_status (*cost_vjp)(void *user, ptrdiff_t first, ptrdiff_t count, int population, int dim,
                            const DOPT_REAL *X, const DOPT_REAL *g_cost, DOPT_REAL *g_X);
    void *user;
} DOPT_FN(dopt_mpc_cem_objective);

/* User dynamics for CEM-MPC (dopt_mpc_cem_plan): the decision vector of a problem is an action
 * sequence u_0 .. u_{H-1} of control_dim reals each (dim = H * control_dim, u_t at offset
 * t * control_dim), rolled out from the element's state x0 for a whole population at once.
 *   step      required.  For `count` samples of batch element `element` at time t: state j at
 *             x + j*state_dim, action j at u + j*ldu (control_dim reals); write the next state to
 *             x_next + j*state_dim and ADD the stage cost to cost[j].  Return DOPT_OK or an error.
 *   terminal  optional (NULL): ADD the terminal cost of state j (x + j*state_dim) to cost[j].
 *   user      handed to both. */
typedef struct DOPT_FN(dopt_mpc_cem_dynamics) {
    int control_dim;
    dopt_status (*step)(void *user, ptrdiff_t element, int t, int count, const DOPT_REAL *x,
                        const DOPT_REAL *u, int ldu, DOPT_REAL *x_next, DOPT_REAL *cost);
    dopt_status (*terminal)(void *user, ptrdiff_t element, int count, const DOPT_REAL *x,
                            DOPT_REAL *cost);
    void *user;
} DOPT_FN(dopt_mpc_cem_dynamics);

/* Options of CEM and DCEM: zero-initialize for the defaults. */
typedef struct DOPT_FN(dopt_mpc_cem_options) {
    int iterations;          /* 0: 10                                                             */
    DOPT_REAL momentum;      /* alpha in [0, 1): mean <- alpha mean + (1 - alpha) elite mean,
                                likewise the std; 0: 0 (no smoothing)                              */
    DOPT_REAL min_std;       /* floor of the refitted std; 0 or DOPT_OFF: none                     */
    const DOPT_REAL *lower;  /* box bounds, dim reals shared by the batch: samples are clamped to */
    const DOPT_REAL *upper;  /*   [lower, upper] (DCEM: no gradient through a clamped entry); NULL:
                                unbounded on that side                                            */
    DOPT_REAL temperature;   /* DCEM: tau of the soft top-k LML(-z / tau, elites); 0: 1            */
    int normalize;           /* DCEM: z = costs standardized per population (0: default, on);
                                DOPT_OFF: z = raw costs                                           */
} DOPT_FN(dopt_mpc_cem_options);

/* dopt_mpc_cem_default_options: the options with every default written out. */
DOPT_API DOPT_FN(dopt_mpc_cem_options) DOPT_FN(dopt_mpc_cem_default_options)(void);

/* A CEM / DCEM solver for one set of dims: all sample, selection, rollout and DCEM tape memory is
 * made at creation; solves, plans and backward passes allocate nothing.  Opaque. */
typedef struct DOPT_FN(dopt_mpc_cem) DOPT_FN(dopt_mpc_cem);

/* dopt_mpc_cem_workspace_size: bytes dopt_mpc_cem_create_in needs for these dims.  Memory, in
 * reals (B = batch, P = population, D = dim, T = dcem_iterations):
 *   B P D (samples) + B P (costs) + B D (best sample) + 2 P state_dim (rollouts)
 *   + DCEM: B P D (gradient of the samples) + T B (P D + 2 P + 4 D) (the tape: noise, costs,
 *     soft elite weights, mean, std, elite mean and std of every iteration) + 4 B D,
 * so DCEM's memory is linear in the number of iterations.
 * DOPT_ERR_INVALID_ARGUMENT for bad dims (NULL, batch < 1, dim < 1, population < 2, elites out of
 * [1, population), negative state_dim or dcem_iterations), DOPT_ERR_ALLOCATION when the size
 * does not fit in size_t. */
DOPT_API dopt_status DOPT_FN(dopt_mpc_cem_workspace_size)(const dopt_mpc_cem_dims *dims, size_t *bytes,
                                                          dopt_errinfo *info);
/* dopt_mpc_cem_create_in: a solver carved from `bytes` of caller memory (kept until the caller
 * frees it; destroy is a no-op for it).  DOPT_ERR_ALLOCATION when bytes is too small.  The random
 * streams start as dopt_mpc_cem_seed(c, 0, 0). */
DOPT_API dopt_status DOPT_FN(dopt_mpc_cem_create_in)(void *memory, size_t bytes,
                                                     const dopt_mpc_cem_dims *dims,
                                                     DOPT_FN(dopt_mpc_cem) **out, dopt_errinfo *info);
/* dopt_mpc_cem_create: the same with one allocation through hooks (NULL: libc). */
DOPT_API dopt_status DOPT_FN(dopt_mpc_cem_create)(const dopt_hooks *hooks, const dopt_mpc_cem_dims *dims,
                                                  DOPT_FN(dopt_mpc_cem) **out, dopt_errinfo *info);
/* dopt_mpc_cem_destroy: release a solver (NULL: nothing). */
DOPT_API void DOPT_FN(dopt_mpc_cem_destroy)(DOPT_FN(dopt_mpc_cem) *c);

/* dopt_mpc_cem_seed: restart the random streams: element b draws from dopt_rng stream
 * (seed, first_stream + b), so a problem's samples depend on its seed and stream id only —
 * never on the batch size, the other elements or how a batch is split between threads (give each
 * thread its own solver and first_stream).  Streams continue across solves until reseeded. */
DOPT_API void DOPT_FN(dopt_mpc_cem_seed)(DOPT_FN(dopt_mpc_cem) *c, uint64_t seed, uint64_t first_stream);

/* dopt_mpc_cem_solve: minimize cost(x) over x in R^dim (within the box bounds) for every batch
 * element by the cross-entropy method: each iteration samples `population` points
 * x_j = clamp(mean + std .* e_j), e_j ~ N(0, I) (a ziggurat sampler on the element's stream),
 * scores them in one objective call for the whole batch, picks the `elites` lowest (a partial
 * selection, ties broken by sample index) and refits mean and std (per coordinate, population
 * std of the elites), smoothed by options.momentum and floored at options.min_std.
 *   mean, std   in: the initial Gaussian, out: the final one; element b at mean + b*stride_mean
 *               (dim reals; std likewise, entries >= 0)
 *   best_x      optional: the lowest-cost sample seen (dim reals at best_x + b*stride_best)
 *   best_cost   optional: its cost, batch reals
 *   report      optional: batch reports
 * Returns DOPT_OK, the objective's error, DOPT_ERR_INVALID_ARGUMENT (bad options, NaN or negative
 * std, lower > upper) or the first element's DOPT_ERR_NON_FINITE (every sample of some iteration
 * had a non-finite cost: that element's mean and std stop changing).  Allocates nothing. */
DOPT_API dopt_status DOPT_FN(dopt_mpc_cem_solve)(DOPT_FN(dopt_mpc_cem) *c,
                                                 const DOPT_FN(dopt_mpc_cem_options) *opt,
                                                 const DOPT_FN(dopt_mpc_cem_objective) *obj,
                                                 DOPT_REAL *mean, ptrdiff_t stride_mean,
                                                 DOPT_REAL *std, ptrdiff_t stride_std,
                                                 DOPT_REAL *best_x, ptrdiff_t stride_best,
                                                 DOPT_REAL *best_cost, dopt_mpc_cem_report *report,
                                                 dopt_errinfo *info);

/* dopt_mpc_cem_plan: one CEM-MPC planning step: dopt_mpc_cem_solve over action sequences whose
 * cost is the rollout of dyn from x0 (element b's state at x0 + b*stride_x0, dims.state_dim
 * reals), stage costs plus the terminal cost, the whole population of an element rolled out
 * together.  Requires dims.state_dim >= 1 and dim a multiple of dyn->control_dim.  The action to
 * apply is mean[0 .. control_dim) (or best_x's); then call dopt_mpc_cem_shift for a warm start.
 * Other arguments and statuses as dopt_mpc_cem_solve.  Allocates nothing. */
DOPT_API dopt_status DOPT_FN(dopt_mpc_cem_plan)(DOPT_FN(dopt_mpc_cem) *c,
                                                const DOPT_FN(dopt_mpc_cem_options) *opt,
                                                const DOPT_FN(dopt_mpc_cem_dynamics) *dyn,
                                                const DOPT_REAL *x0, ptrdiff_t stride_x0,
                                                DOPT_REAL *mean, ptrdiff_t stride_mean,
                                                DOPT_REAL *std, ptrdiff_t stride_std,
                                                DOPT_REAL *best_x, ptrdiff_t stride_best,
                                                DOPT_REAL *best_cost, dopt_mpc_cem_report *report,
                                                dopt_errinfo *info);

/* dopt_mpc_cem_shift: the receding-horizon warm start.  Each element's mean (horizon *
 * control_dim reals) moves one step earlier (u_t <- u_{t+1}) and the last step repeats; its std
 * is reset to std_reset everywhere (std_reset < 0: shifted like the mean).  Never fails. */
DOPT_API void DOPT_FN(dopt_mpc_cem_shift)(ptrdiff_t batch, int horizon, int control_dim,
                                          DOPT_REAL *mean, ptrdiff_t stride_mean, DOPT_REAL *std,
                                          ptrdiff_t stride_std, DOPT_REAL std_reset);

/* dopt_mpc_dcem_forward: the differentiable cross-entropy method (Amos & Yarats 2020): CEM whose
 * hard elite choice is the soft top-k w = LML(-z / tau, elites) of the (standardized) costs z,
 * with reparameterized samples x_j = clamp(mean + std .* e_j):
 *     m = sum_j w_j x_j / elites,   s^2 = sum_j w_j (x_j - m)^2 / elites   (per coordinate)
 *     mean <- alpha mean + (1 - alpha) m,   std <- alpha std + (1 - alpha) max(s, min_std).
 * It records a tape (noise, costs, weights, means and stds: memory linear in the iterations, see
 * dopt_mpc_cem_workspace_size) for dopt_mpc_dcem_backward.  options.iterations must not exceed
 * dims.dcem_iterations.  mean and std are in/out as in dopt_mpc_cem_solve; the final mean is the
 * DCEM solution.  A non-finite cost is DOPT_ERR_NON_FINITE for its element.  Allocates nothing. */
DOPT_API dopt_status DOPT_FN(dopt_mpc_dcem_forward)(DOPT_FN(dopt_mpc_cem) *c,
                                                    const DOPT_FN(dopt_mpc_cem_options) *opt,
                                                    const DOPT_FN(dopt_mpc_cem_objective) *obj,
                                                    DOPT_REAL *mean, ptrdiff_t stride_mean,
                                                    DOPT_REAL *std, ptrdiff_t stride_std,
                                                    dopt_mpc_cem_report *report, dopt_errinfo *info);

/* dopt_mpc_dcem_backward: the exact gradient of the unrolled map recorded by the last
 * dopt_mpc_dcem_forward (noise held fixed), by reverse-mode through every iteration.
 *   g_mean, g_std     adjoints of the final mean and std (layout of the forward's mean/std;
 *                     g_std may be NULL: zero)
 *   g_mean0, g_std0   optional outputs: gradients wrt the initial mean and std (same layout)
 *   obj->cost_vjp     called once per iteration with the whole batch: it receives the gradient
 *                     of the costs and accumulates the objective parameters' gradient itself.
 * Returns DOPT_ERR_INVALID_ARGUMENT without a recorded forward or cost_vjp, the callback's error,
 * or DOPT_ERR_NON_FINITE (first element, info->index) for a non-finite gradient.  Allocates
 * nothing. */
DOPT_API dopt_status DOPT_FN(dopt_mpc_dcem_backward)(DOPT_FN(dopt_mpc_cem) *c,
                                                     const DOPT_FN(dopt_mpc_cem_objective) *obj,
                                                     const DOPT_REAL *g_mean, ptrdiff_t stride_gmean,
                                                     const DOPT_REAL *g_std, ptrdiff_t stride_gstd,
                                                     DOPT_REAL *g_mean0, ptrdiff_t stride_gmean0,
                                                     DOPT_REAL *g_std0, ptrdiff_t stride_gstd0,
                                                     dopt_errinfo *info);
/* ==== end CEM AND LML: declarations ==== */

/* ==== AUGMENTED-LAGRANGIAN MPC: declarations ==== */
/* Stage constraints of element b at step t (t < T): out = c_t(tau) (count values: n_ineq for
 * h_t(tau) <= 0, n_eq for g_t(tau) = 0), J NULL or out: the count x (n+m) column-major Jacobian
 * d c_t / d tau (when the problem says it provides one).  A constraint that does not apply at a
 * step returns a negative value (inequality) or 0 (equality) with a zero Jacobian row. */
typedef dopt_status (*DOPT_FN(dopt_mpc_constraint_fn))(void *user, ptrdiff_t b, int t, const DOPT_REAL *tau,
                                                       DOPT_REAL *out, DOPT_REAL *J);

/* A constrained nonlinear optimal-control problem (see AUGMENTED-LAGRANGIAN MPC in the overview):
 *   minimize sum_t l_t(tau_t)  s.t.  x_{t+1} = f(x_t, u_t), x_0 = x_init,
 *            h_t(tau_t) <= 0 (n_ineq per step), g_t(tau_t) = 0 (n_eq per step),
 *            u_lower_t <= u_t <= u_upper_t (held exactly by the box-DDP primal steps). */
typedef struct DOPT_FN(dopt_mpc_al_problem) {
    int n_state, n_ctrl;                  /* must equal the solver's (DOPT_ERR_DIMENSION)          */
    int n_ineq, n_eq;                     /* must equal the solver's                               */
    DOPT_FN(dopt_mpc_dynamics_fn) dynamics;
    int dynamics_jacobian;                /* 1: dynamics fills F; 0: central differences            */
    DOPT_FN(dopt_mpc_cost_fn) cost;
    int cost_derivatives;                 /* 1: cost fills grad and hess; 0: central differences of
                                             the whole augmented stage cost (step/backward need 1) */
    DOPT_FN(dopt_mpc_constraint_fn) ineq; /* NULL when n_ineq = 0                                   */
    DOPT_FN(dopt_mpc_constraint_fn) eq;   /* NULL when n_eq = 0                                     */
    int constraint_jacobians;             /* 1: ineq / eq fill J; 0: central differences            */
    void *user;
    DOPT_FN(dopt_mpc_cseq) u_lower, u_upper; /* as in dopt_mpc_lqr_data; p NULL: unbounded          */
} DOPT_FN(dopt_mpc_al_problem);

/* Options of dopt_mpc_al_solve; zero-initialize for the defaults.
 *   max_outer        augmented-Lagrangian (outer) iterations; 0: 50
 *   fixed_iterations 1: MPC-m, run exactly max_outer iterations, no stopping test (status DOPT_OK
 *                    unless a callback or a factorization failed; report.converged still says
 *                    whether the tolerances hold); 0: stop at the tolerances
 *   tol_violation    stop when max violation <= this (and the primal step converged); 0: 1e-7
 *                    (double), 1e-3 (float)
 *   inner_max_iter   iLQR iterations per primal step; 0: 50
 *   inner_tol        the iLQR's step tolerance (dopt_mpc_ilqr_options.tol) of the final primal
 *                    steps; 0: 1e-6 (double), 1e-4 (float)
 *   inner_tol_start  the first primal step's (inexact early steps; inner_tol instead when nothing
 *                    is constrained or keep_duals carries the duals over); outer iteration k > 0
 *                    uses 0.01 x the violation after step k-1, clamped to [inner_tol,
 *                    inner_tol_start]; 0: 1e-2
 *   mu0, gamma, mu_max  penalty: start, growth factor (mu <- min(gamma mu, mu_max)), cap;
 *                    0: 1, 10, 1e7 (float: 1e4)
 *   penalty_always   1: grow mu every iteration (the thesis' Algorithm 2); 0: only when the
 *                    violation did not fall below 1/4 of the previous one.  Either way a primal
 *                    step that stalled (no descent before its tolerance) sets mu <- max(mu0,
 *                    mu / gamma) instead
 *   warm_start       NONE (u = 0), AS_IS or SHIFT (receding horizon) of the tau array's controls
 *   keep_duals       1: start from the multipliers and penalty of the previous solve of this
 *                    object (shifted by one step with SHIFT); 0: lambda = eta = 0, mu = mu0 (the
 *                    thesis' choice for receding-horizon warm starts) */
typedef struct DOPT_FN(dopt_mpc_al_options) {
    int max_outer;
    int fixed_iterations;
    DOPT_REAL tol_violation;
    int inner_max_iter;
    DOPT_REAL inner_tol, inner_tol_start;
    DOPT_REAL mu0, gamma, mu_max;
    int penalty_always;
    dopt_mpc_warm warm_start;
    int keep_duals;
} DOPT_FN(dopt_mpc_al_options);

/* Outcome of one batch element. */
typedef struct DOPT_FN(dopt_mpc_al_report) {
    dopt_status status;   /* DOPT_OK; NO_CONVERGENCE (max_outer reached with violation above tol:
                             an infeasible problem ends here, with its violation); NON_FINITE,
                             NOT_POSITIVE_DEFINITE, DIMENSION or a callback's status            */
    int outer_iterations; /* augmented-Lagrangian iterations made                              */
    int inner_iterations; /* iLQR iterations (Riccati sweeps) over all primal steps            */
    int converged;        /* 1 when violation <= tol_violation and the last primal step converged */
    DOPT_REAL violation;  /* max over steps of max(h_t)_+ and |g_t|                             */
    DOPT_REAL cost;       /* sum_t l_t(tau_t), the original objective                          */
    DOPT_REAL mu;         /* the penalty at the end                                            */
} DOPT_FN(dopt_mpc_al_report);

/* Gradients of a loss with respect to the quantities of the primal step's model at the iterate
 * tau_bar (see dopt_mpc_al_backward), per element b and step t at p + b*bs + t*ts; p NULL: not
 * wanted; blocks must not overlap (no stride 0).  Chain them to your parameters theta:
 * dL/dtheta = sum_t cost_grad_t . d(grad l_t)/dtheta + cost_hess_t : d(hess l_t)/dtheta
 *   + ineq_t . dh_t/dtheta + ineq_jac_t : dJh_t/dtheta + (eq likewise)
 *   + dyn_t . df_t/dtheta + dyn_jac_t : dF_t/dtheta, and x_init directly. */
typedef struct DOPT_FN(dopt_mpc_al_grad) {
    DOPT_FN(dopt_mpc_seq) x_init;     /* one vector n per element                               */
    DOPT_FN(dopt_mpc_seq) cost_grad;  /* T vectors n+m: dL/d(grad l_t(tau_bar_t))               */
    DOPT_FN(dopt_mpc_seq) cost_hess;  /* T blocks (n+m)^2 column-major symmetric: dL/d(hess l_t)  */
    DOPT_FN(dopt_mpc_seq) ineq;       /* T vectors n_ineq: dL/dh_t(tau_bar_t)                    */
    DOPT_FN(dopt_mpc_seq) ineq_jac;   /* T blocks n_ineq x (n+m) column-major: dL/dJh_t          */
    DOPT_FN(dopt_mpc_seq) eq;         /* T vectors n_eq                                          */
    DOPT_FN(dopt_mpc_seq) eq_jac;     /* T blocks n_eq x (n+m)                                   */
    DOPT_FN(dopt_mpc_seq) dyn;        /* T-1 vectors n: dL/df(tau_bar_t) (the dynamics' value)   */
    DOPT_FN(dopt_mpc_seq) dyn_jac;    /* T-1 blocks n x (n+m): dL/dF_t                           */
} DOPT_FN(dopt_mpc_al_grad);

/* The augmented-Lagrangian MPC solver of B problems of one size.  Opaque. */
typedef struct DOPT_FN(dopt_mpc_al) DOPT_FN(dopt_mpc_al);

/* dopt_mpc_al_workspace_size / create_in / create / destroy: as for dopt_mpc_lqr, for n states,
 * m controls, horizon T, n_ineq and n_eq constraints per step (>= 0) and B elements.
 * DOPT_ERR_INVALID_ARGUMENT on sizes out of range. */
DOPT_API dopt_status DOPT_FN(dopt_mpc_al_workspace_size)(int n, int m, int T, int n_ineq, int n_eq, ptrdiff_t B,
                                                         size_t *bytes, dopt_errinfo *info);
DOPT_API dopt_status DOPT_FN(dopt_mpc_al_create_in)(void *memory, size_t bytes, int n, int m, int T, int n_ineq,
                                                    int n_eq, ptrdiff_t B, DOPT_FN(dopt_mpc_al) **out,
                                                    dopt_errinfo *info);
DOPT_API dopt_status DOPT_FN(dopt_mpc_al_create)(const dopt_hooks *hooks, int n, int m, int T, int n_ineq,
                                                 int n_eq, ptrdiff_t B, DOPT_FN(dopt_mpc_al) **out,
                                                 dopt_errinfo *info);
DOPT_API void DOPT_FN(dopt_mpc_al_destroy)(DOPT_FN(dopt_mpc_al) *s);

/* dopt_mpc_al_solve: the augmented-Lagrangian method (thesis Algorithm 2) for each element: the
 * primal step minimizes the augmented Lagrangian over the controls (dynamics by shooting) with
 * dopt_mpc_ilqr_solve (Gauss-Newton Hessian l'' + mu J^T J of the active rows, box-DDP on the
 * control limits), then lambda <- max(0, lambda + mu h), eta <- eta + mu g, and mu grows.
 * x_init: one n-vector per element.  tau: out, T vectors n+m per element ([x_t; u_t]); read
 * first for a warm start (options.warm_start).  reports: B reports or NULL.  The solver keeps
 * the final iterate and the multipliers and penalty its last primal step used, for
 * dopt_mpc_al_step / _backward and for keep_duals.  Allocates nothing.  Returns the first
 * failing element's status (errinfo.index = that element); every element is attempted. */
DOPT_API dopt_status DOPT_FN(dopt_mpc_al_solve)(DOPT_FN(dopt_mpc_al) *s,
                                                const DOPT_FN(dopt_mpc_al_problem) *problem,
                                                DOPT_FN(dopt_mpc_cseq) x_init,
                                                const DOPT_FN(dopt_mpc_al_options) *options,
                                                DOPT_FN(dopt_mpc_seq) tau,
                                                DOPT_FN(dopt_mpc_al_report) *reports,
                                                dopt_errinfo *info);

/* dopt_mpc_al_multipliers: element b's multipliers, lambda (T vectors n_ineq, >= 0) and eta
 * (T vectors n_eq), after the last solve's dual update (either pointer NULL: skip), and mu. */
DOPT_API dopt_status DOPT_FN(dopt_mpc_al_multipliers)(const DOPT_FN(dopt_mpc_al) *s, ptrdiff_t b,
                                                      DOPT_REAL *lambda, DOPT_REAL *eta, DOPT_REAL *mu,
                                                      dopt_errinfo *info);

/* dopt_mpc_al_step: the solver's map at its stored iterate (tau_bar, lambda, eta, mu of the last
 * primal step): one Gauss-Newton step, the solution tau+ of the LQR model of the augmented
 * Lagrangian at tau_bar (C_t = hess l_t + mu J^T D J, c_t = grad - C_t tau_bar_t, dynamics
 * linearized at tau_bar; box limits kept) by dopt_mpc_lqr_solve, no line search.  At a
 * converged iterate tau+ = tau_bar.  `problem` may differ from the solve's in its parameters
 * (this is how the map is probed); it needs cost_derivatives = 1.  x_init as in solve.
 * tau_out: T vectors n+m per element.  Allocates nothing. */
DOPT_API dopt_status DOPT_FN(dopt_mpc_al_step)(DOPT_FN(dopt_mpc_al) *s, const DOPT_FN(dopt_mpc_al_problem) *problem,
                                               DOPT_FN(dopt_mpc_cseq) x_init, DOPT_FN(dopt_mpc_seq) tau_out,
                                               dopt_errinfo *info);

/* dopt_mpc_al_backward: gradients by the implicit function theorem on the augmented Lagrangian
 * (thesis Eq. 8.12, Gauss-Newton Hessian) at the stored iterate, at convergence or not: runs
 * dopt_mpc_al_step, then dopt_mpc_lqr_backward of its model with dtau = dL/dtau+ (T vectors
 * n+m per element), and maps the model's gradients to the problem's quantities (grad, see
 * dopt_mpc_al_grad).  The active set (h_i + lambda_i / mu > 0) and the clamped controls are
 * held.  bwd_status: B statuses or NULL.  Allocates nothing. */
DOPT_API dopt_status DOPT_FN(dopt_mpc_al_backward)(DOPT_FN(dopt_mpc_al) *s,
                                                   const DOPT_FN(dopt_mpc_al_problem) *problem,
                                                   DOPT_FN(dopt_mpc_cseq) x_init, DOPT_FN(dopt_mpc_cseq) dtau,
                                                   const DOPT_FN(dopt_mpc_al_grad) *grad,
                                                   dopt_status *bwd_status, dopt_errinfo *info);
/* ==== end AUGMENTED-LAGRANGIAN MPC: declarations ==== */
#ifdef __cplusplus
}
#endif
#endif /* DOPT_MPC__PASS_DECL */

/* =============================================================================================== */
/* Generic implementation (one pass per precision).                                               */
/* =============================================================================================== */
#if defined(DOPT_MPC__PASS_IMPL) && defined(DOPT_REAL) && !defined(DOPT__KDRIVE)
#ifdef __cplusplus
extern "C" {
#endif
/* ==== LQR AND iLQR: implementation ==== */
#define R_ DOPT_REAL
struct DOPT_FN(dopt_mpc_lqr) {
    dopt_owned own;      /* the block of create (dopt_owned_keep), or none */
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
    /* lockstep lanes (see "lockstep lanes"): lane-interleaved scratch of one group */
    R_ *lQ, *lq, *lV, *lv, *lZ, *ly, *lF, *lf, *ltau, *ldtau, *llam, *llam2;
    R_ *Vs;            /* B*T*n*(n+1): the lane groups' V_t, v_t (lane-interleaved), for the
                          multipliers lam_t = V_t x_t + v_t                                   */
    ptrdiff_t nlane;   /* elements 0 .. nlane-1 were solved in lanes by the last solve          */
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
    size_t sz[48];
    void **dst[48];
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
    DOPT__LQR_BLK(s->dtau, (size_t)T * N * DOPT__LW * sizeof(R_));         /* a lane group's adjoints, */
    DOPT__LQR_BLK(s->dlam, (size_t)T * (size_t)n * DOPT__LW * sizeof(R_)); /* element by element     */
    DOPT__LQR_BLK(s->lo, 5 * (size_t)m * sizeof(R_)); /* lo, hi, qg, qd, qx */
    DOPT__LQR_BLK(s->qL, (size_t)m * (size_t)m * sizeof(R_));
    DOPT__LQR_BLK(s->qidx, (size_t)m * sizeof(int));
    DOPT__LQR_BLK(s->lQ, N * N * DOPT__LW * sizeof(R_));
    DOPT__LQR_BLK(s->lq, N * DOPT__LW * sizeof(R_));
    DOPT__LQR_BLK(s->lV, (size_t)n * (size_t)n * DOPT__LW * sizeof(R_));
    DOPT__LQR_BLK(s->lv, (size_t)n * DOPT__LW * sizeof(R_));
    DOPT__LQR_BLK(s->lZ, (size_t)n * N * DOPT__LW * sizeof(R_));
    DOPT__LQR_BLK(s->ly, (size_t)n * DOPT__LW * sizeof(R_));
    DOPT__LQR_BLK(s->lF, (size_t)n * N * DOPT__LW * sizeof(R_));
    DOPT__LQR_BLK(s->lf, (size_t)n * DOPT__LW * sizeof(R_));
    DOPT__LQR_BLK(s->ltau, (size_t)T * N * DOPT__LW * sizeof(R_));
    DOPT__LQR_BLK(s->ldtau, (size_t)T * N * DOPT__LW * sizeof(R_));
    DOPT__LQR_BLK(s->llam, (size_t)T * (size_t)n * DOPT__LW * sizeof(R_));
    DOPT__LQR_BLK(s->llam2, (size_t)T * (size_t)n * DOPT__LW * sizeof(R_));
    DOPT__LQR_BLK(s->Vs, bt * (size_t)n * (size_t)(n + 1) * sizeof(R_));
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
    size_t bytes = 0;
    void *mem;
    dopt_status st;
    if (!out) return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "mpc lqr: NULL out");
    *out = NULL;
    st = DOPT_FN(dopt_mpc_lqr_workspace_size)(n, m, T, B, &bytes, info);
    mem = dopt_owned_alloc(hooks, bytes, &st, info);
    if (mem) st = DOPT_FN(dopt_mpc_lqr_create_in)(mem, bytes, n, m, T, B, out, info);
    return dopt_owned_keep(st, hooks, mem, bytes, st == DOPT_OK ? &(*out)->own : NULL);
}

DOPT_API void DOPT_FN(dopt_mpc_lqr_destroy)(DOPT_FN(dopt_mpc_lqr) *s)
{
    if (s) dopt_owned_release(&s->own);
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

/* Delta-form feedback of one step: u = ub + alpha k + K (x - xb), where tau_b = [xb; ub] is the
 * reference step (length n + m), K is m x n row-major, k length m. */
static void DOPT_FN(dopt__lqr_feedback)(int n, int m, const R_ *tau_b, const R_ *K, const R_ *k, R_ alpha,
                                        const R_ *x, R_ *u)
{
    int i, j;
    for (i = 0; i < m; ++i) {
        R_ a = tau_b[n + i] + alpha * k[i];
        const R_ *Ki = K + i * n;
        for (j = 0; j < n; ++j) a += Ki[j] * (x[j] - tau_b[j]);
        u[i] = a;
    }
}

/* u = min(max(u, lo), hi) elementwise over m entries; lo or hi NULL means unbounded on that side. */
static void DOPT_FN(dopt__lqr_clamp_u)(int m, const R_ *lo, const R_ *hi, R_ *u)
{
    int i;
    for (i = 0; i < m; ++i) {
        if (lo && u[i] < lo[i]) u[i] = lo[i];
        if (hi && u[i] > hi[i]) u[i] = hi[i];
    }
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
            const R_ *lo = d->u_lower.p ? DOPT__LQR_AT(d->u_lower, b, t) : NULL;
            const R_ *hi = d->u_upper.p ? DOPT__LQR_AT(d->u_upper, b, t) : NULL;
            DOPT_FN(dopt__lqr_feedback)(n, m, tb + (size_t)t * N, K, k, alpha, x, u);
            DOPT_FN(dopt__lqr_clamp_u)(m, lo, hi, u);
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

/* 1 if no entry of x (n reals) is NaN or Inf: an OR of comparisons, which vectorizes (a sum
 * of x - x would be one serial chain of additions). */
static int DOPT_FN(dopt__lqr_finite)(int n, const R_ *x)
{
    int i, bad = 0;
    for (i = 0; i < n; ++i) bad |= !(x[i] - x[i] == 0);
    return !bad;
}

/* Ask for the len reals at p in the cache (the next step's data while this step computes: the
 * time steps of one element lie B blocks apart, a stride no hardware prefetcher follows). */
static void DOPT_FN(dopt__lqr_prefetch)(const R_ *p, int len)
{
#if defined(__GNUC__) || defined(__clang__)
    const char *c = (const char *)(const void *)p;
    size_t o, bytes = (size_t)len * sizeof(R_);
    for (o = 0; o < bytes; o += 64) __builtin_prefetch(c + o);
    __builtin_prefetch(c + bytes - 1);
#else
    (void)p;
    (void)len;
#endif
}

/* ---- lockstep lanes: W = DOPT_MPC_LANE_BYTES / sizeof(real) elements at once (default 64
 * bytes: 8 doubles, 16 floats; a multiple of 32).  One configuration for every vector width:
 * each lane block is DOPT__LP 32-byte vectors.  On AVX2 (Zen 3, no AVX-512) 64 bytes measured
 * as fast as or faster than 32 and 128 at every bench-mpc size (e.g. (4,2,20,64): forward 181
 * us, 212 us with 32, 199 us with 128), since two 32-byte halves give the 2 x 2 kernel of
 * dopt__lqr_lane_gemm the 8 independent accumulators that hide the FMA latency. ----
 * The unconstrained solve and its backward run a group of W elements side by side: every
 * block is stored lane-interleaved (entry i of lane l at [i W + l]), so each scalar operation of
 * the recursion becomes one W-wide vector operation whatever n and m are (the "lane batch" of
 * dopt_sparse.h).  A group's factors L, K, k are kept in the elements' own blocks, interleaved
 * (s->nlane says how many leading elements were solved so; the backward follows).  Elements
 * past the last whole group take the one-element path. */
#define DOPT__LQR_LN(a, i) ((a) + (size_t)(i) * DOPT__LW)

#ifdef __cplusplus
}
#endif
#endif /* DOPT_MPC__PASS_IMPL (continued after the LQR lane kernels) */

/* =============================================================================================== */
/* The LQR lane kernel region: the lockstep-lane Riccati sweep, rollout and adjoint, one pass per  */
/* kernel family (dopt.h's family driver: DOPT__KFN names, DOPT__KTARGET on every function), so    */
/* the dispatched build (no -march) runs the AVX2 or AVX-512 copy the CPU has.  The lane width W   */
/* (DOPT__LW) and the storage are the same in every family; only the register blocking differs.   */
/* =============================================================================================== */
#if defined(DOPT__KPASS) && defined(DOPT__MPC_LQR_LANE_KERNELS) && defined(DOPT_REAL)
/* The one-element Riccati step (dopt__lqr_sweep: box-DDP, elements past the last lane group,
 * B < W) is in the region too, so the dispatched build runs it in the CPU's family. */
/* D[:, j] (+)= sum_k A[:, k] B[k + j ldb] for j < ncol, k < nk: A is NP x nk and D NP x ncol
 * (both ld NP, NP a multiple of 4).  With GCC/Clang and NP <= 32 a compile-time constant, each
 * column of D is held in NP/4 vector registers of 4 reals (GNU vector extension; two columns at
 * a time when they fit) while the k loop streams A: the register-tiled kernel of the Riccati
 * products.  Elsewhere (or with DOPT_MPC_NO_VECTOR_EXT) plain loops. */
DOPT__KTARGET DOPT__FMA_KERNEL DOPT__LQR_INLINE void DOPT__KFN(dopt__lqr_gemm)(const int NP, int ncol, int nk, const R_ *DOPT_RESTRICT A,
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
DOPT__KTARGET DOPT__FMA_KERNEL DOPT__LQR_INLINE dopt_status DOPT__KFN(dopt__lqr_step_np)(DOPT_FN(dopt_mpc_lqr) *s, const int NP, const R_ *C,
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
        DOPT__KFN(dopt__lqr_gemm)(NP, n, n, Ft, V, NP, Z, 0);
        DOPT__KFN(dopt__lqr_gemm)(NP, N, n, Z, F, n, Q, 1);
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
            DOPT__KFN(dopt__lqr_gemm)(NP, n, nfree, Qf, Kf, nfree, V, 1);
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
DOPT__KTARGET DOPT__FMA_KERNEL static dopt_status DOPT__KFN(dopt__lqr_step)(DOPT_FN(dopt_mpc_lqr) *s, const R_ *C, const R_ *c,
                                           const R_ *F, const R_ *f, const R_ *tb, const R_ *lo,
                                           const R_ *hi, int qp_iter, R_ *L, R_ *Kt, R_ *k,
                                           unsigned char *fr, int *nf, int *bad)
{
#define DOPT__LQR_NP(np) \
    DOPT__KFN(dopt__lqr_step_np)(s, np, C, c, F, f, tb, lo, hi, qp_iter, L, Kt, k, fr, nf, bad)
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

/* dst[i W + l] = src[l][i] for i0 <= i < i1 and every lane l: the lane interleave (a transpose
 * of W columns).  Families with AVX move 4 x 4 blocks (4 entries of 4 lanes) by vector loads,
 * shuffles and stores; the rest, and the last i1 - i0 mod 4 entries, entry by entry. */
DOPT__KTARGET static void DOPT__KFN(dopt__lqr_lane_tr)(R_ *DOPT_RESTRICT dst, const R_ *const *src, int i0, int i1)
{
    enum { W = DOPT__LW };
    int i = i0, l;
#if DOPT__MPC_X86_INTRIN && DOPT__VBYTES >= 32 && DOPT_MPC_LANE_BYTES % 32 == 0
    for (; i + 4 <= i1; i += 4) {
        R_ *d0 = dst + (size_t)i * W;
        for (l = 0; l < W; l += 4) {
#if DOPT_IS_FLOAT
            __m128 r0 = _mm_loadu_ps(src[l] + i), r1 = _mm_loadu_ps(src[l + 1] + i);
            __m128 r2 = _mm_loadu_ps(src[l + 2] + i), r3 = _mm_loadu_ps(src[l + 3] + i);
            _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
            _mm_storeu_ps(d0 + l, r0);
            _mm_storeu_ps(d0 + W + l, r1);
            _mm_storeu_ps(d0 + 2 * W + l, r2);
            _mm_storeu_ps(d0 + 3 * W + l, r3);
#else
            const __m256d r0 = _mm256_loadu_pd(src[l] + i), r1 = _mm256_loadu_pd(src[l + 1] + i);
            const __m256d r2 = _mm256_loadu_pd(src[l + 2] + i), r3 = _mm256_loadu_pd(src[l + 3] + i);
            const __m256d a = _mm256_unpacklo_pd(r0, r1), b = _mm256_unpackhi_pd(r0, r1); /* entries 0 2, 1 3 */
            const __m256d c = _mm256_unpacklo_pd(r2, r3), e = _mm256_unpackhi_pd(r2, r3);
            _mm256_storeu_pd(d0 + l, _mm256_permute2f128_pd(a, c, 0x20));
            _mm256_storeu_pd(d0 + W + l, _mm256_permute2f128_pd(b, e, 0x20));
            _mm256_storeu_pd(d0 + 2 * W + l, _mm256_permute2f128_pd(a, c, 0x31));
            _mm256_storeu_pd(d0 + 3 * W + l, _mm256_permute2f128_pd(b, e, 0x31));
#endif
        }
    }
#endif
    for (; i < i1; ++i)
        for (l = 0; l < W; ++l) dst[(size_t)i * W + l] = src[l][i];
}

/* dst[l][i] = src[i W + l] for i0 <= i < i1 and every lane l: the inverse of dopt__lqr_lane_tr,
 * by the same 4 x 4 blocks. */
DOPT__KTARGET static void DOPT__KFN(dopt__lqr_lane_untr)(R_ *const *dst, const R_ *DOPT_RESTRICT src, int i0, int i1)
{
    enum { W = DOPT__LW };
    int i = i0, l;
#if DOPT__MPC_X86_INTRIN && DOPT__VBYTES >= 32 && DOPT_MPC_LANE_BYTES % 32 == 0
    for (; i + 4 <= i1; i += 4) {
        const R_ *s0 = src + (size_t)i * W;
        for (l = 0; l < W; l += 4) {
#if DOPT_IS_FLOAT
            __m128 r0 = _mm_loadu_ps(s0 + l), r1 = _mm_loadu_ps(s0 + W + l);
            __m128 r2 = _mm_loadu_ps(s0 + 2 * W + l), r3 = _mm_loadu_ps(s0 + 3 * W + l);
            _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
            _mm_storeu_ps(dst[l] + i, r0);
            _mm_storeu_ps(dst[l + 1] + i, r1);
            _mm_storeu_ps(dst[l + 2] + i, r2);
            _mm_storeu_ps(dst[l + 3] + i, r3);
#else
            const __m256d r0 = _mm256_loadu_pd(s0 + l), r1 = _mm256_loadu_pd(s0 + W + l);
            const __m256d r2 = _mm256_loadu_pd(s0 + 2 * W + l), r3 = _mm256_loadu_pd(s0 + 3 * W + l);
            const __m256d a = _mm256_unpacklo_pd(r0, r1), b = _mm256_unpackhi_pd(r0, r1);
            const __m256d c = _mm256_unpacklo_pd(r2, r3), e = _mm256_unpackhi_pd(r2, r3);
            _mm256_storeu_pd(dst[l] + i, _mm256_permute2f128_pd(a, c, 0x20));
            _mm256_storeu_pd(dst[l + 1] + i, _mm256_permute2f128_pd(b, e, 0x20));
            _mm256_storeu_pd(dst[l + 2] + i, _mm256_permute2f128_pd(a, c, 0x31));
            _mm256_storeu_pd(dst[l + 3] + i, _mm256_permute2f128_pd(b, e, 0x31));
#endif
        }
    }
#endif
    for (; i < i1; ++i)
        for (l = 0; l < W; ++l) dst[l][i] = src[(size_t)i * W + l];
}

/* dst[i W + l] = block t of sequence q for element b0 + l, i < len (len entries from offset 0). */
DOPT__KTARGET static void DOPT__KFN(dopt__lqr_lane_gather)(R_ *DOPT_RESTRICT dst, DOPT_FN(dopt_mpc_cseq) q, ptrdiff_t b0,
                                                           int t, int len)
{
    const R_ *src[DOPT__LW];
    int l;
    for (l = 0; l < DOPT__LW; ++l) src[l] = DOPT__LQR_AT(q, b0 + l, t);
    DOPT__KFN(dopt__lqr_lane_tr)(dst, src, 0, len);
}

/* The dynamics block of step t for the group at b0 into s->lF (and f into s->lf, zero when
 * absent); a time-invariant block (ts 0) is gathered once per call (*have). */
DOPT__KTARGET static void DOPT__KFN(dopt__lqr_lane_dyn_data)(DOPT_FN(dopt_mpc_lqr) *s, const DOPT_FN(dopt_mpc_lqr_data) *d,
                                                             ptrdiff_t b0, int t, int *have, int want_f)
{
    const int n = s->n, N = n + s->m;
    int i;
    if (*have && d->F.ts == 0 && (!want_f || !d->f.p || d->f.ts == 0)) return;
    DOPT__KFN(dopt__lqr_lane_gather)(s->lF, d->F, b0, t, n * N);
    if (want_f) {
        if (d->f.p) DOPT__KFN(dopt__lqr_lane_gather)(s->lf, d->f, b0, t, n);
        else for (i = 0; i < n * DOPT__LW; ++i) s->lf[i] = 0;
    }
    *have = 1;
}

/* DOPT__LQR_BLK4: the family runs dopt__lqr_lane_blk's register blocks of whole lane blocks
 * (AVX-512: a 64-byte lane block is one register); the others run dopt__lqr_lane_gemm2. */
#if DOPT__VBYTES == 64 && DOPT__LQR_VEC
#define DOPT__LQR_BLK4 1
#else
#define DOPT__LQR_BLK4 0
#endif
#if DOPT__LQR_BLK4
/* One lane block as one GNU vector: a zmm register with AVX-512. */
typedef R_ DOPT__KFN(dopt__lqr_lv) __attribute__((vector_size(DOPT_MPC_LANE_BYTES)));

/* One RI x RJ register block of dopt__lqr_lane_gemm (RI <= 8, RJ <= 4, constants once inlined):
 * D(ii, jj) (+)= sum_p A(ii, p) B(p, jj) with A(ii, p) at ap + ii si + p sa, B(p, jj) at
 * bp + p W + jj db, D(ii, jj) at D + (ii + jj dd) W.  diag: a block on the diagonal of a lower
 * triangular product, only its entries ii >= jj are formed and stored. */
DOPT__KTARGET DOPT__FMA_KERNEL DOPT__LQR_INLINE void DOPT__KFN(dopt__lqr_lane_blk)(const int RI, const int RJ, const int diag, int np,
                                                  const R_ *DOPT_RESTRICT ap, size_t sa, size_t si,
                                                  const R_ *DOPT_RESTRICT bp, size_t db, R_ *DOPT_RESTRICT D,
                                                  size_t dd, int accumulate)
{
    enum { W = DOPT__LW };
    typedef DOPT__KFN(dopt__lqr_lv) lv;
    lv c[8][4], a[8], b[4], z;
    int ii, jj, p;
    memset(&z, 0, sizeof z);
    for (jj = 0; jj < RJ; ++jj)
        for (ii = 0; ii < RI; ++ii) {
            c[ii][jj] = z;
            if (accumulate && (!diag || ii >= jj)) memcpy(&c[ii][jj], D + (ii + jj * dd) * W, sizeof z);
        }
    for (p = 0; p < np; ++p, ap += sa, bp += W) {
        for (ii = 0; ii < RI; ++ii) memcpy(&a[ii], ap + ii * si, sizeof z);
        for (jj = 0; jj < RJ; ++jj) memcpy(&b[jj], bp + jj * db, sizeof z);
        for (jj = 0; jj < RJ; ++jj)
            for (ii = 0; ii < RI; ++ii)
                if (!diag || ii >= jj) c[ii][jj] += a[ii] * b[jj];
    }
    for (jj = 0; jj < RJ; ++jj)
        for (ii = 0; ii < RI; ++ii)
            if (!diag || ii >= jj) memcpy(D + (ii + jj * dd) * W, &c[ii][jj], sizeof z);
}
#endif

/* Register block edge of dopt__lqr_lane_gemm: DOPT__LQR_RB x DOPT__LQR_RB lane blocks (4 x 4,
 * 16 accumulators, where AVX-512 has 32 vector registers and a lane block is one of them;
 * 2 x 2 elsewhere, the 16 registers of AVX2 holding 4 two-register blocks); a single column
 * (a product with a vector) takes 8 rows at a time. */
#if DOPT__LQR_BLK4 && DOPT_MPC_LANE_BYTES <= 64
#define DOPT__LQR_RB 4
#else
#define DOPT__LQR_RB 2
#endif

#if !DOPT__LQR_BLK4
/* Without AVX-512: the 2 x 2 kernel of 32-byte halves (a 64-byte GNU vector on AVX2 is lowered
 * through the stack 16 bytes at a time, a store-forwarding stall on every access).  With lower
 * set, a 2 x 2 block touching the diagonal also writes its entry (j, j+1) (finite, unused). */
DOPT__KTARGET DOPT__FMA_KERNEL static void DOPT__KFN(dopt__lqr_lane_gemm2)(int ni, int nj, int np, const R_ *A, int lda, int at, const R_ *Bm,
                                         int ldb, R_ *D, int ldd, int accumulate, int lower)
{
    enum { W = DOPT__LW };
    const size_t sa = (size_t)(at ? 1 : lda) * W, si = (size_t)(at ? lda : 1) * W; /* A: step in p, in i */
    int i, j, p, l;
    for (j = 0; j < nj; j += 2) {
        const int two_j = j + 1 < nj;
        for (i = lower ? j & ~1 : 0; i < ni; i += 2) {
            const R_ *DOPT_RESTRICT ap = A + (size_t)i * si, *DOPT_RESTRICT bp = Bm + (size_t)j * ldb * W;
            if (two_j && i + 1 < ni) {
#if DOPT__LQR_VEC
                typedef R_ lv __attribute__((vector_size(32))); /* 1 / (DOPT_MPC_LANE_BYTES / 32) of a lane block */
                lv c00[(DOPT_MPC_LANE_BYTES / 32)], c10[(DOPT_MPC_LANE_BYTES / 32)], c01[(DOPT_MPC_LANE_BYTES / 32)], c11[(DOPT_MPC_LANE_BYTES / 32)], x0, x1, y0, y1;
                R_ *d0 = DOPT__LQR_LN(D, i + j * ldd), *d1 = DOPT__LQR_LN(D, i + (j + 1) * ldd);
                const size_t db = (size_t)ldb * W, hw = (size_t)W / (DOPT_MPC_LANE_BYTES / 32);
                int h;
                for (h = 0; h < (DOPT_MPC_LANE_BYTES / 32); ++h) {
                    if (accumulate) {
                        memcpy(&c00[h], d0 + h * hw, sizeof x0);
                        memcpy(&c10[h], d0 + W + h * hw, sizeof x0);
                        memcpy(&c01[h], d1 + h * hw, sizeof x0);
                        memcpy(&c11[h], d1 + W + h * hw, sizeof x0);
                    } else {
                        memset(&c00[h], 0, sizeof x0);
                        c10[h] = c01[h] = c11[h] = c00[h];
                    }
                }
                for (p = 0; p < np; ++p, ap += sa, bp += W)
                    for (h = 0; h < (DOPT_MPC_LANE_BYTES / 32); ++h) {
                        memcpy(&x0, ap + h * hw, sizeof x0);
                        memcpy(&x1, ap + si + h * hw, sizeof x1);
                        memcpy(&y0, bp + h * hw, sizeof y0);
                        memcpy(&y1, bp + db + h * hw, sizeof y1);
                        c00[h] += x0 * y0;
                        c10[h] += x1 * y0;
                        c01[h] += x0 * y1;
                        c11[h] += x1 * y1;
                    }
                for (h = 0; h < (DOPT_MPC_LANE_BYTES / 32); ++h) {
                    memcpy(d0 + h * hw, &c00[h], sizeof x0);
                    memcpy(d0 + W + h * hw, &c10[h], sizeof x0);
                    memcpy(d1 + h * hw, &c01[h], sizeof x0);
                    memcpy(d1 + W + h * hw, &c11[h], sizeof x0);
                }
#else
                R_ a00[DOPT__LW], a10[DOPT__LW], a01[DOPT__LW], a11[DOPT__LW];
                R_ *DOPT_RESTRICT d0 = DOPT__LQR_LN(D, i + j * ldd), *DOPT_RESTRICT d1 = DOPT__LQR_LN(D, i + (j + 1) * ldd);
                const size_t db = (size_t)ldb * W;
                for (l = 0; l < W; ++l) {
                    a00[l] = accumulate ? d0[l] : 0;
                    a10[l] = accumulate ? d0[W + l] : 0;
                    a01[l] = accumulate ? d1[l] : 0;
                    a11[l] = accumulate ? d1[W + l] : 0;
                }
                for (p = 0; p < np; ++p, ap += sa, bp += W)
                    for (l = 0; l < W; ++l) {
                        const R_ x0 = ap[l], x1 = ap[si + l], y0 = bp[l], y1 = bp[db + l];
                        a00[l] += x0 * y0;
                        a10[l] += x1 * y0;
                        a01[l] += x0 * y1;
                        a11[l] += x1 * y1;
                    }
                for (l = 0; l < W; ++l) {
                    d0[l] = a00[l];
                    d0[W + l] = a10[l];
                    d1[l] = a01[l];
                    d1[W + l] = a11[l];
                }
#endif
            } else {
                int ii, jj;
                for (jj = j; jj < j + 2 && jj < nj; ++jj)
                    for (ii = i; ii < i + 2 && ii < ni; ++ii) {
                        R_ acc[DOPT__LW];
                        R_ *DOPT_RESTRICT d = DOPT__LQR_LN(D, ii + jj * ldd);
                        const R_ *DOPT_RESTRICT a = A + (size_t)ii * si, *DOPT_RESTRICT b = Bm + (size_t)jj * ldb * W;
                        for (l = 0; l < W; ++l) acc[l] = accumulate ? d[l] : 0;
                        for (p = 0; p < np; ++p, a += sa, b += W)
                            for (l = 0; l < W; ++l) acc[l] += a[l] * b[l];
                        for (l = 0; l < W; ++l) d[l] = acc[l];
                    }
            }
        }
    }
}

#endif

/* D[i + j ldd] (+)= sum_p A(i, p) B[p + j ldb] lane-wise for i < ni, j < nj, p < np, where A(i, p)
 * is A[i + p lda] (at = 0) or A[p + i lda] (at = 1); with lower set (ni = nj), only i >= j is
 * formed and written.  ldd, lda, ldb count lane blocks.  Register blocks of dopt__lqr_lane_blk
 * (GNU vector extension), plain loops without it. */
DOPT__KTARGET DOPT__FMA_KERNEL static void DOPT__KFN(dopt__lqr_lane_gemm)(int ni, int nj, int np, const R_ *A, int lda, int at, const R_ *Bm,
                                         int ldb, R_ *D, int ldd, int accumulate, int lower)
{
#if DOPT__LQR_BLK4
    enum { W = DOPT__LW };
    const size_t sa = (size_t)(at ? 1 : lda) * W, si = (size_t)(at ? lda : 1) * W; /* A: step in p, in i */
    const size_t db = (size_t)ldb * W;
    int i, j;
    const int rb = nj == 1 ? 8 : DOPT__LQR_RB;
    for (j = 0; j < nj; j += rb) {
        const int rj = nj - j < rb ? nj - j : rb;
        for (i = lower ? j : 0; i < ni; i += rb) {
            const int ri = ni - i < rb ? ni - i : rb, dg = lower && i == j;
            const R_ *ap = A + (size_t)i * si, *bp = Bm + (size_t)j * db;
            R_ *dp = D + (size_t)(i + (size_t)j * ldd) * W;
#define DOPT__LQR_B(RI, RJ, DG) DOPT__KFN(dopt__lqr_lane_blk)(RI, RJ, DG, np, ap, sa, si, bp, db, dp, (size_t)ldd, accumulate)
            if (rj == 1) {
                switch (ri) {
                case 8: DOPT__LQR_B(8, 1, 0); break;
                case 7: DOPT__LQR_B(7, 1, 0); break;
                case 6: DOPT__LQR_B(6, 1, 0); break;
                case 5: DOPT__LQR_B(5, 1, 0); break;
                case 4: DOPT__LQR_B(4, 1, 0); break;
                case 3: DOPT__LQR_B(3, 1, 0); break;
                case 2: DOPT__LQR_B(2, 1, 0); break;
                default: if (dg) DOPT__LQR_B(1, 1, 1); else DOPT__LQR_B(1, 1, 0); break;
                }
            } else if (dg) {
                switch (ri) {
                case 4: DOPT__LQR_B(4, 4, 1); break;
                case 3: DOPT__LQR_B(3, 3, 1); break;
                default: DOPT__LQR_B(2, 2, 1); break;
                }
            } else {
                switch (ri * 8 + rj) {
                case 4 * 8 + 4: DOPT__LQR_B(4, 4, 0); break;
                case 3 * 8 + 4: DOPT__LQR_B(3, 4, 0); break;
                case 2 * 8 + 4: DOPT__LQR_B(2, 4, 0); break;
                case 1 * 8 + 4: DOPT__LQR_B(1, 4, 0); break;
                case 4 * 8 + 3: DOPT__LQR_B(4, 3, 0); break;
                case 3 * 8 + 3: DOPT__LQR_B(3, 3, 0); break;
                case 2 * 8 + 3: DOPT__LQR_B(2, 3, 0); break;
                case 1 * 8 + 3: DOPT__LQR_B(1, 3, 0); break;
                case 4 * 8 + 2: DOPT__LQR_B(4, 2, 0); break;
                case 3 * 8 + 2: DOPT__LQR_B(3, 2, 0); break;
                case 2 * 8 + 2: DOPT__LQR_B(2, 2, 0); break;
                default: DOPT__LQR_B(1, 2, 0); break;
                }
            }
#undef DOPT__LQR_B
        }
    }
#else
    DOPT__KFN(dopt__lqr_lane_gemm2)(ni, nj, np, A, lda, at, Bm, ldb, D, ldd, accumulate, lower);
#endif
}

/* One triangular solve of dopt__lqr_lane_cholsolve on NC columns at once (1 to 4, a constant
 * once inlined): the columns' sums are independent chains.  up = 0: x <- L^{-1} x, row i from
 * rows p < i (L(i, p) at L[i + p m]); up = 1: x <- L^{-T} x, row i from rows p > i (L(p, i)). */
DOPT__KTARGET DOPT__FMA_KERNEL DOPT__LQR_INLINE void DOPT__KFN(dopt__lqr_lane_trsv)(const int NC, int m, const R_ *DOPT_RESTRICT L, int up,
                                                   R_ *DOPT_RESTRICT X)
{
    enum { W = DOPT__LW };
    int i, k, c, l;
    for (k = 0; k < m; ++k) {
        const int i0 = up ? m - 1 - k : k;
        R_ acc[4][DOPT__LW];
        const R_ *dg = DOPT__LQR_LN(L, i0 + i0 * m);
        for (c = 0; c < NC; ++c)
            for (l = 0; l < W; ++l) acc[c][l] = DOPT__LQR_LN(X, i0 + c * m)[l];
        for (i = 0; i < k; ++i) {
            const int pp = up ? m - 1 - i : i;
            const R_ *a = up ? DOPT__LQR_LN(L, pp + i0 * m) : DOPT__LQR_LN(L, i0 + pp * m);
            for (c = 0; c < NC; ++c) {
                const R_ *xp = DOPT__LQR_LN(X, pp + c * m);
                for (l = 0; l < W; ++l) acc[c][l] -= a[l] * xp[l];
            }
        }
        for (c = 0; c < NC; ++c)
            for (l = 0; l < W; ++l) DOPT__LQR_LN(X, i0 + c * m)[l] = acc[c][l] * dg[l];
    }
}

/* x <- (L L^T)^{-1} x lane-wise for the m x m lane factor L (its diagonal holds 1 / L_ii, see
 * dopt__lqr_lane_chol), ncol columns of x (ld m), four at a time. */
DOPT__KTARGET DOPT__FMA_KERNEL static void DOPT__KFN(dopt__lqr_lane_cholsolve)(int m, const R_ *L, int ncol, R_ *X)
{
    int c, up;
    for (c = 0; c < ncol; c += 4) {
        R_ *x = DOPT__LQR_LN(X, c * m);
        for (up = 0; up < 2; ++up)
            switch (ncol - c) {
            case 1: DOPT__KFN(dopt__lqr_lane_trsv)(1, m, L, up, x); break;
            case 2: DOPT__KFN(dopt__lqr_lane_trsv)(2, m, L, up, x); break;
            case 3: DOPT__KFN(dopt__lqr_lane_trsv)(3, m, L, up, x); break;
            default: DOPT__KFN(dopt__lqr_lane_trsv)(4, m, L, up, x); break;
            }
    }
}

/* Lane Cholesky of the m x m lane matrix A (lower triangle, in place; the diagonal receives the
 * reciprocals 1 / L_ii, so the solves multiply), with dopt__lqr_chol's pivot test per lane: a lane whose pivot fails gets st[l] (first failure only: fail_t[l] = t)
 * and continues on a unit pivot, so the other lanes are unaffected. */
DOPT__KTARGET DOPT__FMA_KERNEL static void DOPT__KFN(dopt__lqr_lane_chol)(int m, R_ *A, int t, dopt_status *st, int *fail_t)
{
    enum { W = DOPT__LW };
    R_ thr[DOPT__LW], d[DOPT__LW];
    int i, j, p, l;
    for (l = 0; l < W; ++l) thr[l] = 0;
    for (j = 0; j < m; ++j)
        for (l = 0; l < W; ++l) {
            R_ a = DOPT__LQR_LN(A, j + j * m)[l];
            thr[l] = a > thr[l] ? a : thr[l];
        }
    for (l = 0; l < W; ++l) thr[l] *= (R_)100 * (R_)m * DOPT_EPS;
    for (j = 0; j < m; ++j) {
        R_ *DOPT_RESTRICT ajj = DOPT__LQR_LN(A, j + j * m);
        for (l = 0; l < W; ++l) d[l] = ajj[l];
        for (p = 0; p < j; ++p) {
            const R_ *DOPT_RESTRICT a = DOPT__LQR_LN(A, j + p * m);
            for (l = 0; l < W; ++l) d[l] -= a[l] * a[l];
        }
        for (l = 0; l < W; ++l)
            if (!(d[l] > thr[l]) || !(d[l] < HUGE_VAL)) {
                if (st[l] == DOPT_OK) {
                    st[l] = d[l] != d[l] ? DOPT_ERR_NON_FINITE : DOPT_ERR_NOT_POSITIVE_DEFINITE;
                    fail_t[l] = t;
                }
                d[l] = 1;
            }
        for (l = 0; l < W; ++l) d[l] = 1 / DOPT_M(sqrt)(d[l]);
        for (l = 0; l < W; ++l) ajj[l] = d[l]; /* kept inverted: the solves multiply */
        for (i = j + 1; i < m; ++i) {
            R_ *DOPT_RESTRICT aij = DOPT__LQR_LN(A, i + j * m);
            for (p = 0; p < j; ++p) {
                const R_ *DOPT_RESTRICT a = DOPT__LQR_LN(A, i + p * m), *DOPT_RESTRICT b = DOPT__LQR_LN(A, j + p * m);
                for (l = 0; l < W; ++l) aij[l] -= a[l] * b[l];
            }
            for (l = 0; l < W; ++l) aij[l] *= d[l];
        }
    }
}

/* Unconstrained Riccati sweep and rollout of the W elements from b0 (see dopt__lqr_step_np for
 * the recursion; Q and V are formed on their lower triangles).  Per lane status and failing
 * step into st, fail_t; the trajectories go to s->tau. */
DOPT__KTARGET DOPT__FMA_KERNEL static void DOPT__KFN(dopt__lqr_lane_solve)(DOPT_FN(dopt_mpc_lqr) *s, const DOPT_FN(dopt_mpc_lqr_data) *d,
                                          ptrdiff_t b0, dopt_status *st, int *fail_t)
{
    enum { W = DOPT__LW };
    const int n = s->n, m = s->m, T = s->T, N = n + m;
    R_ *Q = s->lQ, *q = s->lq, *V = s->lV, *v = s->lv, *Z = s->lZ, *y = s->ly, *Fl = s->lF, *fl = s->lf;
    R_ *Lg = s->L + (size_t)b0 * T * m * m, *Kg = s->K + (size_t)b0 * T * m * n, *kg = s->k + (size_t)b0 * T * m;
    R_ *Vg = s->Vs + (size_t)b0 * T * n * (n + 1);
    int t, i, j, p, l, have = 0;
    for (l = 0; l < W; ++l) st[l] = DOPT_OK, fail_t[l] = -1;
    for (i = 0; i < N * N * W; ++i) Q[i] = 0; /* the upper triangle stays finite (lane_gemm) */
    for (i = 0; i < n * n * W; ++i) V[i] = 0;
    for (i = 0; i < n * W; ++i) v[i] = 0;
    for (t = T - 1; t >= 0; --t) {
        R_ *L = Lg + (size_t)t * m * m * W, *K = Kg + (size_t)t * m * n * W, *k = kg + (size_t)t * m * W;
        { /* lower triangle of C_t; C_{t-1} and c_{t-1} requested into the cache meanwhile */
            const R_ *C[DOPT__LW];
            for (l = 0; l < W; ++l) C[l] = DOPT__LQR_AT(d->C, b0 + l, t);
            if (t > 0)
                for (l = 0; l < W; ++l) {
                    DOPT_FN(dopt__lqr_prefetch)(DOPT__LQR_AT(d->C, b0 + l, t - 1), N * N);
                    DOPT_FN(dopt__lqr_prefetch)(DOPT__LQR_AT(d->c, b0 + l, t - 1), N);
                }
            for (j = 0; j < N; ++j) { /* from the 4-block holding the diagonal (C is symmetric) */
                const R_ *col[DOPT__LW];
                for (l = 0; l < W; ++l) col[l] = C[l] + (size_t)j * N;
                DOPT__KFN(dopt__lqr_lane_tr)(Q + (size_t)j * N * W, col, j & ~3, N);
            }
        }
        DOPT__KFN(dopt__lqr_lane_gather)(q, d->c, b0, t, N);
        if (t < T - 1) {
            DOPT__KFN(dopt__lqr_lane_dyn_data)(s, d, b0, t, &have, 1);
            for (i = 0; i < n * W; ++i) y[i] = v[i];
            DOPT__KFN(dopt__lqr_lane_gemm)(n, 1, n, V, n, 0, fl, n, y, n, 1, 0);       /* y = V f + v  */
            DOPT__KFN(dopt__lqr_lane_gemm)(n, N, n, V, n, 0, Fl, n, Z, n, 0, 0);       /* Z = V F      */
            DOPT__KFN(dopt__lqr_lane_gemm)(N, N, n, Fl, n, 1, Z, n, Q, N, 1, 1);       /* Q += F^T Z   */
            DOPT__KFN(dopt__lqr_lane_gemm)(N, 1, n, Fl, n, 1, y, n, q, N, 1, 0);       /* q += F^T y   */
        }
        for (j = 0; j < m; ++j)
            for (i = j; i < m; ++i)
                for (l = 0; l < W; ++l) DOPT__LQR_LN(L, i + j * m)[l] = DOPT__LQR_LN(Q, n + i + (n + j) * N)[l];
        DOPT__KFN(dopt__lqr_lane_chol)(m, L, t, st, fail_t);
        /* k = -Q_uu^{-1} q_u, K = -Q_uu^{-1} Q_ux (m x n, ld m) */
        for (p = 0; p < m; ++p)
            for (l = 0; l < W; ++l) DOPT__LQR_LN(k, p)[l] = -DOPT__LQR_LN(q, n + p)[l];
        for (j = 0; j < n; ++j)
            for (p = 0; p < m; ++p)
                for (l = 0; l < W; ++l) DOPT__LQR_LN(K, p + j * m)[l] = -DOPT__LQR_LN(Q, n + p + j * N)[l];
        DOPT__KFN(dopt__lqr_lane_cholsolve)(m, L, 1, k);
        DOPT__KFN(dopt__lqr_lane_cholsolve)(m, L, n, K);
        /* V = Q_xx + Q_xu K (lower, then mirrored), v = q_x + Q_xu k; Q_xu = (rows n.. of Q)^T */
        for (j = 0; j < n; ++j)
            for (i = j; i < n; ++i)
                for (l = 0; l < W; ++l) DOPT__LQR_LN(V, i + j * n)[l] = DOPT__LQR_LN(Q, i + j * N)[l];
        DOPT__KFN(dopt__lqr_lane_gemm)(n, n, m, Q + (size_t)n * W, N, 1, K, m, V, n, 1, 1);
        for (j = 0; j < n; ++j)
            for (i = j + 1; i < n; ++i)
                for (l = 0; l < W; ++l) DOPT__LQR_LN(V, j + i * n)[l] = DOPT__LQR_LN(V, i + j * n)[l];
        for (i = 0; i < n * W; ++i) v[i] = q[i];
        DOPT__KFN(dopt__lqr_lane_gemm)(n, 1, m, Q + (size_t)n * W, N, 1, k, m, v, n, 1, 0);
        memcpy(Vg + (size_t)t * n * (n + 1) * W, V, (size_t)n * n * W * sizeof(R_)); /* V_t, v_t kept */
        memcpy(Vg + ((size_t)t * (n + 1) + n) * n * W, v, (size_t)n * W * sizeof(R_));
    }
    /* the value function of step 0 carries the data tau does not see (see dopt__lqr_solve_one) */
    for (l = 0; l < W; ++l)
        if (st[l] == DOPT_OK) {
            for (i = 0; i < n * n; ++i)
                if (!(V[(size_t)i * W + l] - V[(size_t)i * W + l] == 0)) st[l] = DOPT_ERR_NON_FINITE;
            for (i = 0; i < n; ++i)
                if (!(v[(size_t)i * W + l] - v[(size_t)i * W + l] == 0)) st[l] = DOPT_ERR_NON_FINITE;
        }
    /* rollout u_t = K_t x_t + k_t, x_{t+1} = F_t tau_t + f_t, lane-interleaved in s->ltau */
    DOPT__KFN(dopt__lqr_lane_gather)(s->ltau, d->x_init, b0, 0, n);
    have = 0;
    for (t = 0; t < T; ++t) {
        R_ *x = s->ltau + (size_t)t * N * W;
        const R_ *K = Kg + (size_t)t * m * n * W, *k = kg + (size_t)t * m * W;
        for (i = 0; i < m * W; ++i) x[n * W + i] = k[i];
        DOPT__KFN(dopt__lqr_lane_gemm)(m, 1, n, K, m, 0, x, n, x + (size_t)n * W, m, 1, 0);
        if (t < T - 1) {
            R_ *xn = x + (size_t)N * W;
            DOPT__KFN(dopt__lqr_lane_dyn_data)(s, d, b0, t, &have, 1);
            for (i = 0; i < n * W; ++i) xn[i] = fl[i];
            DOPT__KFN(dopt__lqr_lane_gemm)(n, 1, N, Fl, n, 0, x, N, xn, n, 1, 0);
        }
    }
    {
        R_ *taus[DOPT__LW];
        for (l = 0; l < W; ++l) taus[l] = s->tau + (size_t)(b0 + l) * T * N;
        DOPT__KFN(dopt__lqr_lane_untr)(taus, s->ltau, 0, T * N);
    }
    for (l = 0; l < W; ++l) {
        for (i = 0; i < T * m; ++i) s->fr[(size_t)(b0 + l) * T * m + i] = 1;
        for (t = 0; t < T; ++t) s->nf[(size_t)(b0 + l) * T + t] = m;
    }
}

/* Lane multipliers from the value functions the lane solve kept: lam_t = V_t x_t + g_t for
 * t < T (x: T lane blocks of N, lam: of n).  g_t is v_t (the forward's multipliers; lam
 * holds nothing on entry) or, with lam already holding the adjoint's v_t, itself (add 1). */
DOPT__KTARGET DOPT__FMA_KERNEL static void DOPT__KFN(dopt__lqr_lane_value_lam)(const DOPT_FN(dopt_mpc_lqr) *s, ptrdiff_t b0, const R_ *x, R_ *lam, int add)
{
    const int n = s->n, T = s->T, N = n + s->m, W = DOPT__LW;
    const R_ *Vg = s->Vs + (size_t)b0 * T * n * (n + 1);
    int t;
    for (t = 0; t < T; ++t) {
        const R_ *V = Vg + (size_t)t * n * (n + 1) * W;
        R_ *lt = lam + (size_t)t * n * W;
        if (!add) memcpy(lt, V + (size_t)n * n * W, (size_t)n * W * sizeof(R_));
        DOPT__KFN(dopt__lqr_lane_gemm)(n, 1, n, V, n, 0, x + (size_t)t * N * W, N, lt, n, 1, 0);
    }
}

/* The adjoint LQR of the group at b0 (dopt__lqr_adjoint in lanes): d_tau into s->ldtau and
 * d_lam_t = V_t d_x_t + v_t (v_t of the adjoint sweep) into s->llam, lane-interleaved. */
DOPT__KTARGET DOPT__FMA_KERNEL static void DOPT__KFN(dopt__lqr_lane_adjoint)(DOPT_FN(dopt_mpc_lqr) *s, ptrdiff_t b0, DOPT_FN(dopt_mpc_cseq) dtau)
{
    enum { W = DOPT__LW };
    const DOPT_FN(dopt_mpc_lqr_data) *d = &s->data;
    const int n = s->n, m = s->m, T = s->T, N = n + m;
    const R_ *Lg = s->L + (size_t)b0 * T * m * m, *Kg = s->K + (size_t)b0 * T * m * n;
    R_ *v = s->lv, *dt = s->ldtau;
    int t, i, have = 0;
    for (i = 0; i < n * W; ++i) v[i] = 0;
    for (t = T - 1; t >= 0; --t) {
        R_ *q = dt + (size_t)t * N * W;
        const R_ *K = Kg + (size_t)t * m * n * W;
        DOPT__KFN(dopt__lqr_lane_gather)(q, dtau, b0, t, N);
        if (t < T - 1) {
            DOPT__KFN(dopt__lqr_lane_dyn_data)(s, d, b0, t, &have, 0);
            DOPT__KFN(dopt__lqr_lane_gemm)(N, 1, n, s->lF, n, 1, v, n, q, N, 1, 0); /* q += F^T v */
        }
        for (i = 0; i < n * W; ++i) v[i] = q[i];                                   /* v = q_x + K^T q_u */
        DOPT__KFN(dopt__lqr_lane_gemm)(n, 1, m, K, m, 1, q + (size_t)n * W, m, v, n, 1, 0);
        memcpy(s->llam + (size_t)t * n * W, v, (size_t)n * W * sizeof(R_));
        for (i = 0; i < m * W; ++i) q[n * W + i] = -q[n * W + i];                  /* dk, kept in u_t */
        DOPT__KFN(dopt__lqr_lane_cholsolve)(m, Lg + (size_t)t * m * m * W, 1, q + (size_t)n * W);
    }
    for (i = 0; i < n * W; ++i) dt[i] = 0;
    have = 0;
    for (t = 0; t < T; ++t) {
        R_ *x = dt + (size_t)t * N * W;
        DOPT__KFN(dopt__lqr_lane_gemm)(m, 1, n, Kg + (size_t)t * m * n * W, m, 0, x, n, x + (size_t)n * W, m, 1, 0);
        if (t < T - 1) {
            R_ *xn = x + (size_t)N * W;
            DOPT__KFN(dopt__lqr_lane_dyn_data)(s, d, b0, t, &have, 0);
            DOPT__KFN(dopt__lqr_lane_gemm)(n, 1, N, s->lF, n, 0, x, N, xn, n, 0, 0);
        }
    }
    DOPT__KFN(dopt__lqr_lane_value_lam)(s, b0, dt, s->llam, 1);
}

#undef DOPT__LQR_RB
#undef DOPT__LQR_BLK4
#endif /* DOPT__MPC_LQR_LANE_KERNELS */

#if defined(DOPT_MPC__PASS_IMPL) && defined(DOPT_REAL) && !defined(DOPT__KDRIVE)
#ifdef __cplusplus
extern "C" {
#endif

/* the LQR lane kernels of every family this build holds (the region above) */
#define DOPT__MPC_LQR_LANE_KERNELS
#define DOPT__KDRIVE "dopt_mpc.h"
#include "dopt.h"
#undef DOPT__KDRIVE
#undef DOPT__MPC_LQR_LANE_KERNELS

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
        st = DOPT__KSEL(DOPT_FN(dopt__lqr_step))(s, DOPT__LQR_AT(d->C, b, t), DOPT__LQR_AT(d->c, b, t), F, f,
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
    dopt_status first = DOPT_OK, lst[DOPT__LW];
    ptrdiff_t b;
    int n, m, T, N, t, i, lfail[DOPT__LW];
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
    /* whole groups of DOPT__LW elements without bounds run in lockstep lanes */
    s->nlane = data->u_lower.p || data->u_upper.p ? 0 : s->B / DOPT__LW * DOPT__LW;
    for (b = 0; b < s->B; ++b) {
        DOPT_FN(dopt_mpc_lqr_report) rep;
        dopt_status st;
        memset(&rep, 0, sizeof rep);
        if (b < s->nlane) {
            if (b % DOPT__LW == 0) DOPT__KSEL(DOPT_FN(dopt__lqr_lane_solve))(s, data, b, lst, lfail);
            st = lst[b % DOPT__LW];
            rep.fail_t = lfail[b % DOPT__LW];
            rep.iterations = rep.converged = st == DOPT_OK;
            if (st == DOPT_OK && !DOPT_FN(dopt__lqr_finite)(N * T, s->tau + (size_t)b * T * N)) st = DOPT_ERR_NON_FINITE;
            if (st == DOPT_OK && reports) {
                rep.cost = DOPT_FN(dopt__lqr_cost)(s, data, b, s->tau + (size_t)b * T * N);
                if (!(rep.cost - rep.cost == 0)) st = DOPT_ERR_NON_FINITE;
            }
        } else {
            st = DOPT_FN(dopt__lqr_solve_one)(s, data, &o, b, tau, reports != NULL, &rep);
        }
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

/* The lane backward of the group at b0: the multipliers (when the forward did not keep them and
 * dL/dF is wanted) and the adjoint, lane-interleaved in s->llam / s->ldtau. */
static void DOPT_FN(dopt__lqr_lane_backward)(DOPT_FN(dopt_mpc_lqr) *s, ptrdiff_t b0, DOPT_FN(dopt_mpc_cseq) dtau,
                                             const DOPT_FN(dopt_mpc_lqr_grad) *grad)
{
    const int n = s->n, T = s->T, N = n + s->m, W = DOPT__LW, need_lam = !s->lam_valid && grad->F.p;
    int l, i;
    DOPT__KSEL(DOPT_FN(dopt__lqr_lane_adjoint))(s, b0, dtau);
    if (need_lam)
        for (l = 0; l < W; ++l)
            for (i = 0; i < T * N; ++i) s->ltau[(size_t)i * W + l] = s->tau[(size_t)(b0 + l) * T * N + i];
    if (need_lam) DOPT__KSEL(DOPT_FN(dopt__lqr_lane_value_lam))(s, b0, s->ltau, s->llam2, 0);
    if (need_lam)
        for (l = 0; l < W; ++l)
            for (i = 0; i < T * n; ++i) s->lam[(size_t)(b0 + l) * T * n + i] = s->llam2[(size_t)i * W + l];
}

/* The group's adjoints element by element: lane l's d_tau, d_lam into s->dtau + l T (n+m),
 * s->dlam + l T n. */
static void DOPT_FN(dopt__lqr_lane_take)(DOPT_FN(dopt_mpc_lqr) *s)
{
    const int n = s->n, T = s->T, N = n + s->m, W = DOPT__LW;
    int i, l;
    for (l = 0; l < W; ++l) {
        R_ *dt = s->dtau + (size_t)l * T * N, *dl = s->dlam + (size_t)l * T * n;
        for (i = 0; i < T * N; ++i) dt[i] = s->ldtau[(size_t)i * W + l];
        for (i = 0; i < T * n; ++i) dl[i] = s->llam[(size_t)i * W + l];
    }
}

/* dst[0 .. len) = src[0 .. len) with non-temporal stores where the target has them (x86-64:
 * 16-byte aligned vectors, single reals by movnti at the ends; a backward that streams ends
 * with a store fence), a plain copy elsewhere. */
static void DOPT_FN(dopt__lqr_stream)(R_ *DOPT_RESTRICT dst, const R_ *DOPT_RESTRICT src, int len)
{
    int i = 0;
#if DOPT__LQR_HAVE_STREAM && DOPT_IS_FLOAT
    int bits;
    for (; i < len && ((uintptr_t)(void *)(dst + i) & 15); ++i) {
        memcpy(&bits, src + i, sizeof bits);
        _mm_stream_si32((int *)(void *)(dst + i), bits);
    }
    for (; i + 4 <= len; i += 4) _mm_stream_ps(dst + i, _mm_loadu_ps(src + i));
    for (; i < len; ++i) {
        memcpy(&bits, src + i, sizeof bits);
        _mm_stream_si32((int *)(void *)(dst + i), bits);
    }
#elif DOPT__LQR_HAVE_STREAM
    long long bits;
    for (; i < len && ((uintptr_t)(void *)(dst + i) & 15); ++i) {
        memcpy(&bits, src + i, sizeof bits);
        _mm_stream_si64((long long *)(void *)(dst + i), bits);
    }
    for (; i + 2 <= len; i += 2) _mm_stream_pd(dst + i, _mm_loadu_pd(src + i));
    for (; i < len; ++i) {
        memcpy(&bits, src + i, sizeof bits);
        _mm_stream_si64((long long *)(void *)(dst + i), bits);
    }
#endif
    for (; i < len; ++i) dst[i] = src[i];
}

/* G (rows x cols, column-major) = or += (add) sc * (u v^T + w z^T): the rank-2 gradient blocks of C
 * (sc = 1/2, symmetrized) and F (sc = 1).  stream (with add 0): written past the caches, 64
 * reals at a time (see DOPT_MPC_STREAM_BYTES). */
static void DOPT_FN(dopt__lqr_outer2)(R_ *G, int rows, int cols, const R_ *u, const R_ *v, const R_ *w, const R_ *z,
                                      R_ sc, int add, int stream)
{
    int i, j, i0;
    for (j = 0; j < cols; ++j) {
        const R_ vj = sc * v[j], zj = sc * z[j];
        R_ *DOPT_RESTRICT Gj = G + (size_t)j * rows;
        if (add)
            for (i = 0; i < rows; ++i) Gj[i] += u[i] * vj + w[i] * zj;
        else if (stream)
            for (i0 = 0; i0 < rows; i0 += 64) {
                R_ tmp[64];
                const int len = rows - i0 < 64 ? rows - i0 : 64;
                for (i = 0; i < len; ++i) tmp[i] = u[i0 + i] * vj + w[i0 + i] * zj;
                DOPT_FN(dopt__lqr_stream)(Gj + i0, tmp, len);
            }
        else
            for (i = 0; i < rows; ++i) Gj[i] = u[i] * vj + w[i] * zj;
    }
}

/* Element b's gradients of step t from (tau, lam, d_tau = dt, d_lam = dl, its whole
 * trajectories): added into shared arrays, written into unshared ones (streamed past the caches:
 * stream bit 1 for dL/dC, bit 2 for dL/dF, see dopt__lqr_stream_bits). */
static void DOPT_FN(dopt__lqr_grad_step)(const DOPT_FN(dopt_mpc_lqr) *s, const DOPT_FN(dopt_mpc_lqr_grad) *g,
                                         ptrdiff_t b, int t, const R_ *dt, const R_ *dl, int stream)
{
    const int n = s->n, T = s->T, N = n + s->m;
    const R_ *x = s->tau + ((size_t)b * T + t) * N, *lam = s->lam + (size_t)b * T * n, *dx = dt + (size_t)t * N;
    int i;
    if (g->C.p) {
        const int aC = DOPT__LQR_SHARED(g->C);
        DOPT_FN(dopt__lqr_outer2)(DOPT__LQR_AT(g->C, b, t), N, N, dx, x, x, dx, (R_)0.5, aC, stream & 1);
    }
    if (g->c.p) {
        const int ac = DOPT__LQR_SHARED(g->c);
        R_ *G = DOPT__LQR_AT(g->c, b, t);
        for (i = 0; i < N; ++i) G[i] = (ac ? G[i] : 0) + dx[i];
    }
    if (t < T - 1) {
        const R_ *ln = lam + (size_t)(t + 1) * n, *dln = dl + (size_t)(t + 1) * n;
        if (g->F.p) {
            const int aF = DOPT__LQR_SHARED(g->F);
            DOPT_FN(dopt__lqr_outer2)(DOPT__LQR_AT(g->F, b, t), n, N, dln, x, ln, dx, 1, aF, stream & 2);
        }
        if (g->f.p) {
            const int af = DOPT__LQR_SHARED(g->f);
            R_ *G = DOPT__LQR_AT(g->f, b, t);
            for (i = 0; i < n; ++i) G[i] = (af ? G[i] : 0) + dln[i];
        }
    }
    if (t == 0 && g->x_init.p) {
        const int ax = DOPT__LQR_SHARED_X(g->x_init);
        R_ *G = DOPT__LQR_AT(g->x_init, b, 0);
        for (i = 0; i < n; ++i) G[i] = (ax ? G[i] : 0) + dl[i];
    }
}

/* Which unshared gradient arrays a backward writes with non-temporal stores (bit 1: dL/dC, bit 2:
 * dL/dF): those of DOPT_MPC_STREAM_BYTES or more, larger than the caches that would keep them. */
static int DOPT_FN(dopt__lqr_stream_bits)(const DOPT_FN(dopt_mpc_lqr) *s, const DOPT_FN(dopt_mpc_lqr_grad) *g)
{
    const double N = s->n + s->m, bt = (double)s->B * s->T, lim = (double)DOPT_MPC_STREAM_BYTES;
    int bits = 0;
    if (!DOPT__LQR_HAVE_STREAM || lim <= 0) return 0;
    if (g->C.p && !DOPT__LQR_SHARED(g->C) && bt * N * N * sizeof(R_) >= lim) bits |= 1;
    if (g->F.p && !DOPT__LQR_SHARED(g->F) && bt * N * s->n * sizeof(R_) >= lim) bits |= 2;
    return bits;
}

/* The adjoint of the cnt elements from b0 (a lane group, or one element) into s->dtau, s->dlam
 * (element b0 + l at l T (n+m), l T n), and each element's status: st[l] on entry is its forward
 * status; want[l] = 1 where a gradient is to be added. */
static void DOPT_FN(dopt__lqr_bwd_group)(DOPT_FN(dopt_mpc_lqr) *s, ptrdiff_t b0, int cnt, DOPT_FN(dopt_mpc_cseq) dtau,
                                         const DOPT_FN(dopt_mpc_lqr_grad) *grad, dopt_nlls_diff_policy policy,
                                         dopt_status *st, int *want)
{
    const int n = s->n, T = s->T, N = n + s->m, stream = DOPT_FN(dopt__lqr_stream_bits)(s, grad);
    int l, t;
    if (cnt > 1) {
        DOPT_FN(dopt__lqr_lane_backward)(s, b0, dtau, grad);
        DOPT_FN(dopt__lqr_lane_take)(s);
    }
    for (l = 0; l < cnt; ++l) {
        const ptrdiff_t b = b0 + l;
        int finite = 1;
        want[l] = 0;
        for (t = 0; t < T && finite; ++t) finite = DOPT_FN(dopt__lqr_finite)(N, DOPT__LQR_AT(dtau, b, t));
        if (!(st[l] == DOPT_OK || (st[l] == DOPT_ERR_NO_CONVERGENCE && policy == DOPT_NLLS_DIFF_FLAG))) continue;
        if (!finite) {
            st[l] = DOPT_ERR_NON_FINITE;
            continue;
        }
        if (cnt == 1) {
            if (!s->lam_valid && grad->F.p) /* dL/dF is the only user of the multipliers */
                DOPT_FN(dopt__lqr_multipliers)(s, &s->data, b, s->tau + (size_t)b * T * N, s->data.c,
                                               s->lam + (size_t)b * T * n);
            DOPT_FN(dopt__lqr_adjoint)(s, b, dtau);
        }
        if (!DOPT_FN(dopt__lqr_finite)(T * N, s->dtau + (size_t)l * T * N) ||
            !DOPT_FN(dopt__lqr_finite)(T * n, s->dlam + (size_t)l * T * n))
            st[l] = DOPT_ERR_NON_FINITE;
        else
            want[l] = 1;
    }
    /* time step outside, elements inside: the blocks of one step of neighbouring elements are
     * usually neighbours in memory (mpc.pytorch's (T, B, ...) layout) */
    for (t = 0; t < T; ++t)
        for (l = 0; l < cnt; ++l)
            if (want[l])
                DOPT_FN(dopt__lqr_grad_step)(s, grad, b0 + l, t, s->dtau + (size_t)l * T * N, s->dlam + (size_t)l * T * n,
                                             stream);
}

DOPT_API dopt_status DOPT_FN(dopt_mpc_lqr_backward)(DOPT_FN(dopt_mpc_lqr) *s, DOPT_FN(dopt_mpc_cseq) dtau,
                                                    const DOPT_FN(dopt_mpc_lqr_backward_options) *options,
                                                    const DOPT_FN(dopt_mpc_lqr_grad) *grad,
                                                    dopt_status *bwd_status, dopt_errinfo *info)
{
    dopt_nlls_diff_policy policy = options ? options->policy : DOPT_NLLS_DIFF_FLAG;
    dopt_status first = DOPT_OK, gst[DOPT__LW];
    ptrdiff_t b, b0;
    int l, cnt, want[DOPT__LW];
    if (!s || !grad || !dtau.p) return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "mpc lqr backward: NULL argument");
    if (!s->solved) return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "mpc lqr backward: no forward solve");
    if (policy != DOPT_NLLS_DIFF_FLAG && policy != DOPT_NLLS_DIFF_ZERO && policy != DOPT_NLLS_DIFF_FAIL)
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "mpc lqr backward: unknown policy");
    for (b = 0; b < s->B; ++b) DOPT_FN(dopt__lqr_grad_zero)(s, grad, b, 0);
    for (b0 = 0; b0 < s->B; b0 += cnt) {
        cnt = b0 < s->nlane ? DOPT__LW : 1; /* the forward's grouping */
        for (l = 0; l < cnt; ++l) gst[l] = s->st[b0 + l];
        DOPT_FN(dopt__lqr_bwd_group)(s, b0, cnt, dtau, grad, policy, gst, want);
        for (l = 0; l < cnt; ++l) {
            const dopt_status st = gst[l];
            b = b0 + l;
            if (st != DOPT_OK && !(st == DOPT_ERR_NO_CONVERGENCE && policy == DOPT_NLLS_DIFF_FLAG))
                DOPT_FN(dopt__lqr_grad_zero)(s, grad, b, 1); /* no gradient: its own blocks read 0 */
            if (bwd_status) bwd_status[b] = st;
            if (st == DOPT_ERR_NO_CONVERGENCE && policy != DOPT_NLLS_DIFF_FAIL) continue;
            if (st != DOPT_OK && first == DOPT_OK) {
                first = st;
                DOPT_FN(dopt__lqr_fail)(info, st, b, b, st == DOPT_ERR_NO_CONVERGENCE
                                        ? "mpc lqr backward: forward did not converge (policy FAIL), element "
                                        : "mpc lqr backward: no gradient for element ");
            }
        }
    }
    if (grad->F.p) s->lam_valid = 1;
#if DOPT__LQR_HAVE_STREAM
    if (DOPT_FN(dopt__lqr_stream_bits)(s, grad)) _mm_sfence(); /* the streamed blocks, in order */
#endif
    return first;
}
#undef R_

/* ---- nonlinear MPC ---------------------------------------------------------------------------- */
#define R_ DOPT_REAL
struct DOPT_FN(dopt_mpc_ilqr) {
    dopt_owned own;      /* the block of create (dopt_owned_keep), or none */
    int n, m, T;
    ptrdiff_t B;
    DOPT_FN(dopt_mpc_lqr) *lqr;   /* factors and solution of the final approximation          */
    R_ *C, *c, *F, *f;            /* the approximation, contiguous per element                 */
    R_ *trial, *work;             /* T*(n+m); 4*(n+m) + (n+m)^2 finite-difference scratch       */
    DOPT_FN(dopt_mpc_lqr_data) approx;
    /* slew room (dopt_mpc_ilqr_slew_create; NULL otherwise): the solver of the augmented state
     * [x; u_prev] and its data: initial states B*(n+m), controls / dtau B*T*(n+2m), callback
     * scratch, the augmented gradients (B*T blocks) */
    struct DOPT_FN(dopt_mpc_ilqr) *aug;
    R_ *xa, *ta, *wz, *gC, *gc, *gF, *gf, *gx;
    const DOPT_FN(dopt_mpc_ilqr_problem) *up; /* the caller's problem during a slew solve      */
    R_ hd, hc;                    /* its finite-difference steps                               */
    int slew_used;                /* the last solve had a slew penalty                          */
};

static size_t DOPT_FN(dopt__ilqr_layout)(DOPT_FN(dopt_mpc_ilqr) *s, dopt_workspace *ws, int n, int m, int T,
                                         ptrdiff_t B, int slew)
{
    size_t N = (size_t)(n + m), bt = (size_t)B * (size_t)T, tot = 0, sz[14];
    size_t na = N, Na = N + (size_t)m; /* the augmented problem's states and n + m */
    void **dst[14];
    int i, cnt = 0;
#define DOPT__ILQR_BLK(ptr, bytes) (dst[cnt] = (void **)(void *)&(ptr), sz[cnt++] = (bytes))
    DOPT__ILQR_BLK(s->C, bt * N * N * sizeof(R_));
    DOPT__ILQR_BLK(s->c, bt * N * sizeof(R_));
    DOPT__ILQR_BLK(s->F, bt * (size_t)n * N * sizeof(R_));
    DOPT__ILQR_BLK(s->f, bt * (size_t)n * sizeof(R_));
    DOPT__ILQR_BLK(s->trial, (size_t)T * N * sizeof(R_));
    DOPT__ILQR_BLK(s->work, (4 * N + N * N + 4) * sizeof(R_));
    if (slew) {
        DOPT__ILQR_BLK(s->xa, (size_t)B * na * sizeof(R_));
        DOPT__ILQR_BLK(s->ta, bt * Na * sizeof(R_));
        DOPT__ILQR_BLK(s->wz, (2 * N + (size_t)n * N + N * N) * sizeof(R_));
        DOPT__ILQR_BLK(s->gC, bt * Na * Na * sizeof(R_));
        DOPT__ILQR_BLK(s->gc, bt * Na * sizeof(R_));
        DOPT__ILQR_BLK(s->gF, bt * na * Na * sizeof(R_));
        DOPT__ILQR_BLK(s->gf, bt * na * sizeof(R_));
        DOPT__ILQR_BLK(s->gx, (size_t)B * na * sizeof(R_));
    }
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

/* Bytes of a solver, with room for the slew penalty's augmented solver when slew is set. */
static dopt_status DOPT_FN(dopt__ilqr_size)(int n, int m, int T, ptrdiff_t B, int slew, size_t *bytes,
                                            dopt_errinfo *info)
{
    DOPT_FN(dopt_mpc_ilqr) tmp;
    size_t lq, aug = 0;
    dopt_status st;
    if (!bytes) return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "mpc ilqr: NULL bytes");
    *bytes = 0;
    st = DOPT_FN(dopt_mpc_lqr_workspace_size)(n, m, T, B, &lq, info);
    if (st == DOPT_OK && slew) st = DOPT_FN(dopt__ilqr_size)(n + m, m, T, B, 0, &aug, info);
    if (st != DOPT_OK) return st;
    memset(&tmp, 0, sizeof tmp);
    *bytes = DOPT_WORKSPACE_ROUND(lq) + DOPT_WORKSPACE_ROUND(aug) + DOPT_FN(dopt__ilqr_layout)(&tmp, NULL, n, m, T, B, slew) +
             DOPT_WORKSPACE_ROUND(sizeof tmp) + DOPT_WORKSPACE_ALIGN;
    return DOPT_OK;
}

DOPT_API dopt_status DOPT_FN(dopt_mpc_ilqr_workspace_size)(int n, int m, int T, ptrdiff_t B,
                                                           size_t *bytes, dopt_errinfo *info)
{
    return DOPT_FN(dopt__ilqr_size)(n, m, T, B, 0, bytes, info);
}

DOPT_API dopt_status DOPT_FN(dopt_mpc_ilqr_slew_workspace_size)(int n, int m, int T, ptrdiff_t B,
                                                                size_t *bytes, dopt_errinfo *info)
{
    return DOPT_FN(dopt__ilqr_size)(n, m, T, B, 1, bytes, info);
}

/* create_in of a plain (slew 0) or slew-capable (slew 1) solver. */
static dopt_status DOPT_FN(dopt__ilqr_create_in)(void *memory, size_t bytes, int n, int m, int T, ptrdiff_t B,
                                                 int slew, DOPT_FN(dopt_mpc_ilqr) **out, dopt_errinfo *info)
{
    dopt_workspace ws;
    DOPT_FN(dopt_mpc_ilqr) *s;
    size_t need, lq, aug = 0;
    dopt_status st;
    void *lmem, *amem = NULL;
    if (!out) return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "mpc ilqr: NULL out");
    *out = NULL;
    st = DOPT_FN(dopt__ilqr_size)(n, m, T, B, slew, &need, info);
    if (st != DOPT_OK) return st;
    if (!memory || bytes < need)
        return dopt_errinfo_set(info, DOPT_ERR_ALLOCATION, -1, 0, "mpc ilqr: workspace too small");
    DOPT_FN(dopt_mpc_lqr_workspace_size)(n, m, T, B, &lq, NULL);
    if (slew) DOPT_FN(dopt__ilqr_size)(n + m, m, T, B, 0, &aug, NULL);
    dopt_workspace_init(&ws, memory, bytes);
    s = (DOPT_FN(dopt_mpc_ilqr) *)dopt_workspace_take(&ws, sizeof *s);
    if (!s) return dopt_errinfo_set(info, DOPT_ERR_ALLOCATION, -1, 0, "mpc ilqr: workspace too small");
    memset(s, 0, sizeof *s);
    s->n = n;
    s->m = m;
    s->T = T;
    s->B = B;
    lmem = dopt_workspace_take(&ws, lq);
    if (slew) amem = dopt_workspace_take(&ws, aug);
    if (!lmem || (slew && !amem) || !DOPT_FN(dopt__ilqr_layout)(s, &ws, n, m, T, B, slew))
        return dopt_errinfo_set(info, DOPT_ERR_ALLOCATION, -1, 0, "mpc ilqr: workspace too small");
    st = DOPT_FN(dopt_mpc_lqr_create_in)(lmem, lq, n, m, T, B, &s->lqr, info);
    if (st == DOPT_OK && slew) st = DOPT_FN(dopt__ilqr_create_in)(amem, aug, n + m, m, T, B, 0, &s->aug, info);
    if (st != DOPT_OK) return st;
    s->approx.C.p = s->C; s->approx.C.ts = (ptrdiff_t)(n + m) * (n + m); s->approx.C.bs = s->approx.C.ts * T;
    s->approx.c.p = s->c; s->approx.c.ts = n + m; s->approx.c.bs = (ptrdiff_t)(n + m) * T;
    s->approx.F.p = s->F; s->approx.F.ts = (ptrdiff_t)n * (n + m); s->approx.F.bs = s->approx.F.ts * T;
    s->approx.f.p = s->f; s->approx.f.ts = n; s->approx.f.bs = (ptrdiff_t)n * T;
    *out = s;
    return DOPT_OK;
}

DOPT_API dopt_status DOPT_FN(dopt_mpc_ilqr_create_in)(void *memory, size_t bytes, int n, int m, int T,
                                                      ptrdiff_t B, DOPT_FN(dopt_mpc_ilqr) **out,
                                                      dopt_errinfo *info)
{
    return DOPT_FN(dopt__ilqr_create_in)(memory, bytes, n, m, T, B, 0, out, info);
}

DOPT_API dopt_status DOPT_FN(dopt_mpc_ilqr_slew_create_in)(void *memory, size_t bytes, int n, int m, int T,
                                                           ptrdiff_t B, DOPT_FN(dopt_mpc_ilqr) **out,
                                                           dopt_errinfo *info)
{
    return DOPT_FN(dopt__ilqr_create_in)(memory, bytes, n, m, T, B, 1, out, info);
}

/* create of a plain or slew-capable solver: size query, one allocation, create_in. */
static dopt_status DOPT_FN(dopt__ilqr_create)(const dopt_hooks *hooks, int n, int m, int T, ptrdiff_t B, int slew,
                                              DOPT_FN(dopt_mpc_ilqr) **out, dopt_errinfo *info)
{
    size_t bytes = 0;
    void *mem;
    dopt_status st;
    if (!out) return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "mpc ilqr: NULL out");
    *out = NULL;
    st = DOPT_FN(dopt__ilqr_size)(n, m, T, B, slew, &bytes, info);
    mem = dopt_owned_alloc(hooks, bytes, &st, info);
    if (mem) st = DOPT_FN(dopt__ilqr_create_in)(mem, bytes, n, m, T, B, slew, out, info);
    return dopt_owned_keep(st, hooks, mem, bytes, st == DOPT_OK ? &(*out)->own : NULL);
}

DOPT_API dopt_status DOPT_FN(dopt_mpc_ilqr_create)(const dopt_hooks *hooks, int n, int m, int T,
                                                   ptrdiff_t B, DOPT_FN(dopt_mpc_ilqr) **out,
                                                   dopt_errinfo *info)
{
    return DOPT_FN(dopt__ilqr_create)(hooks, n, m, T, B, 0, out, info);
}

DOPT_API dopt_status DOPT_FN(dopt_mpc_ilqr_slew_create)(const dopt_hooks *hooks, int n, int m, int T,
                                                        ptrdiff_t B, DOPT_FN(dopt_mpc_ilqr) **out,
                                                        dopt_errinfo *info)
{
    return DOPT_FN(dopt__ilqr_create)(hooks, n, m, T, B, 1, out, info);
}

DOPT_API void DOPT_FN(dopt_mpc_ilqr_destroy)(DOPT_FN(dopt_mpc_ilqr) *s)
{
    if (s) dopt_owned_release(&s->own);
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
    int t, i;
    R_ l;
    *J = 0;
    for (i = 0; i < n; ++i) out[i] = x0[i];
    for (t = 0; t < T; ++t) {
        R_ *x = out + (size_t)t * N, *u = x + n;
        const R_ *lo = p->u_lower.p ? DOPT__LQR_AT(p->u_lower, b, t) : NULL;
        const R_ *hi = p->u_upper.p ? DOPT__LQR_AT(p->u_upper, b, t) : NULL;
        *fail_t = t;
        if (tb)
            DOPT_FN(dopt__lqr_feedback)(n, m, tb + (size_t)t * N, L->K + (bt + t) * (size_t)m * n,
                                        L->k + (bt + t) * (size_t)m, alpha, x, u);
        DOPT_FN(dopt__lqr_clamp_u)(m, lo, hi, u);
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

/* ---- slew-rate penalty: the augmented problem ----------------------------------------------
 * State [x; p] with p_t = u_{t-1}: dynamics [f(x, u); u], stage cost l(x, u) + w/2 |u - p|^2,
 * tau_aug = [x; p; u] (n + 2m), initial state [x_init; u_prev].  The callbacks below wrap the
 * caller's (analytic or central differences, through the outer solver s) for the augmented
 * solver s->aug. */

/* Index of entry k of tau = [x; u] in tau_aug = [x; p; u]. */
#define DOPT__SLEW_AT(k) ((k) < n ? (k) : (k) + m)

static R_ DOPT_FN(dopt__slew_weight)(const DOPT_FN(dopt_mpc_ilqr_problem) *p, ptrdiff_t b)
{
    return p->slew_weight.p[b * p->slew_weight.bs];
}

/* Augmented dynamics: [x'; p'] = [f(x, u); u], Jacobian [[A 0 B]; [0 0 I]]. */
static dopt_status DOPT_FN(dopt__slew_dyn)(void *user, ptrdiff_t b, int t, const R_ *xa, const R_ *u, R_ *xn, R_ *Fa)
{
    DOPT_FN(dopt_mpc_ilqr) *s = (DOPT_FN(dopt_mpc_ilqr) *)user;
    const int n = s->n, m = s->m, N = n + m, na = N, Na = N + m;
    R_ *z = s->wz, *F = z + N;
    dopt_status st;
    int i, j;
    for (i = 0; i < n; ++i) z[i] = xa[i];
    for (i = 0; i < m; ++i) z[n + i] = u[i];
    st = DOPT_FN(dopt__ilqr_dyn)(s, s->up, b, t, z, xn, Fa ? F : NULL, s->hd);
    if (st != DOPT_OK) return st;
    for (i = 0; i < m; ++i) xn[n + i] = u[i];
    if (Fa) {
        for (i = 0; i < na * Na; ++i) Fa[i] = 0;
        for (j = 0; j < N; ++j)
            for (i = 0; i < n; ++i) Fa[i + DOPT__SLEW_AT(j) * na] = F[i + j * n];
        for (i = 0; i < m; ++i) Fa[n + i + (N + i) * na] = 1;
    }
    return DOPT_OK;
}

/* Augmented stage cost l(x, u) + w/2 |u - p|^2 with its gradient and Hessian. */
static dopt_status DOPT_FN(dopt__slew_cost)(void *user, ptrdiff_t b, int t, const R_ *ta, R_ *l, R_ *ga, R_ *Ha)
{
    DOPT_FN(dopt_mpc_ilqr) *s = (DOPT_FN(dopt_mpc_ilqr) *)user;
    const int n = s->n, m = s->m, N = n + m, Na = N + m;
    const R_ w = DOPT_FN(dopt__slew_weight)(s->up, b), *pv = ta + n, *u = ta + N;
    R_ *z = s->wz, *g = z + N + n * N, *H = g + N;
    dopt_status st;
    int i, j;
    for (i = 0; i < n; ++i) z[i] = ta[i];
    for (i = 0; i < m; ++i) z[n + i] = u[i];
    st = DOPT_FN(dopt__ilqr_cost)(s, s->up, b, t, z, l, ga ? g : NULL, ga ? H : NULL, s->hc);
    if (st != DOPT_OK) return st;
    for (i = 0; i < m; ++i) *l += (R_)0.5 * w * (u[i] - pv[i]) * (u[i] - pv[i]);
    if (ga) {
        for (i = 0; i < N; ++i) ga[DOPT__SLEW_AT(i)] = g[i];
        for (i = 0; i < Na * Na; ++i) Ha[i] = 0;
        for (j = 0; j < N; ++j)
            for (i = 0; i < N; ++i) Ha[DOPT__SLEW_AT(i) + DOPT__SLEW_AT(j) * Na] = H[i + j * N];
        for (i = 0; i < m; ++i) {
            const int pi = n + i, ui = N + i;
            ga[pi] = -w * (u[i] - pv[i]);
            ga[ui] += w * (u[i] - pv[i]);
            Ha[pi + pi * Na] += w;
            Ha[ui + ui * Na] += w;
            Ha[pi + ui * Na] -= w;
            Ha[ui + pi * Na] -= w;
        }
    }
    return DOPT_OK;
}

/* The slew data of element b: weight finite and >= 0, u_prev finite. */
static dopt_status DOPT_FN(dopt__slew_check)(const DOPT_FN(dopt_mpc_ilqr) *s, const DOPT_FN(dopt_mpc_ilqr_problem) *p,
                                             ptrdiff_t b)
{
    const R_ w = DOPT_FN(dopt__slew_weight)(p, b);
    if (!(w - w == 0)) return DOPT_ERR_NON_FINITE;
    if (w < 0) return DOPT_ERR_INVALID_ARGUMENT;
    if (p->u_prev.p && !DOPT_FN(dopt_all_finite)(s->m, p->u_prev.p + b * p->u_prev.bs)) return DOPT_ERR_NON_FINITE;
    return DOPT_OK;
}

/* dopt_mpc_ilqr_solve with a slew penalty (options resolved): the augmented solve, its
 * solution copied back without the p block. */
static dopt_status DOPT_FN(dopt__slew_solve)(DOPT_FN(dopt_mpc_ilqr) *s, const DOPT_FN(dopt_mpc_ilqr_problem) *problem,
                                             DOPT_FN(dopt_mpc_cseq) x_init, const DOPT_FN(dopt_mpc_ilqr_options) *o,
                                             DOPT_FN(dopt_mpc_seq) tau, DOPT_FN(dopt_mpc_lqr_report) *reports,
                                             dopt_errinfo *info)
{
    const int n = s->n, m = s->m, T = s->T, N = n + m, Na = N + m;
    DOPT_FN(dopt_mpc_ilqr_problem) ap;
    DOPT_FN(dopt_mpc_cseq) xs = {0, 0, 0};
    DOPT_FN(dopt_mpc_seq) ts = {0, 0, 0};
    dopt_status st;
    ptrdiff_t b;
    int t, i;
    if (!s->aug)
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0,
                                "mpc ilqr: a slew penalty needs a solver from dopt_mpc_ilqr_slew_create");
    for (b = 0; b < s->B; ++b) {
        const R_ *x0 = DOPT__LQR_AT(x_init, b, 0);
        if ((st = DOPT_FN(dopt__slew_check)(s, problem, b)) != DOPT_OK)
            return dopt_errinfo_set(info, st, (long)b, 0, "mpc ilqr: slew_weight < 0 or not finite, or u_prev not finite");
        for (i = 0; i < n; ++i) s->xa[(size_t)b * N + i] = x0[i];
        for (i = 0; i < m; ++i) s->xa[(size_t)b * N + n + i] = problem->u_prev.p ? problem->u_prev.p[b * problem->u_prev.bs + i] : 0;
        if (tau.p) /* the warm start's controls */
            for (t = 0; t < T; ++t)
                for (i = 0; i < m; ++i) s->ta[((size_t)b * T + t) * Na + N + i] = DOPT__LQR_AT(tau, b, t)[n + i];
    }
    memset(&ap, 0, sizeof ap);
    ap.n_state = N;
    ap.n_ctrl = m;
    ap.dynamics = DOPT_FN(dopt__slew_dyn);
    ap.dynamics_jacobian = 1;
    ap.cost = DOPT_FN(dopt__slew_cost);
    ap.cost_derivatives = 1;
    ap.user = s;
    ap.u_lower = problem->u_lower;
    ap.u_upper = problem->u_upper;
    s->up = problem;
    s->hd = o->fd_step > 0 ? o->fd_step : DOPT_M(cbrt)(DOPT_EPS);
    s->hc = o->fd_step > 0 ? o->fd_step : DOPT_M(sqrt)(DOPT_M(sqrt)(DOPT_EPS));
    xs.p = s->xa;
    xs.bs = N;
    if (tau.p) {
        ts.p = s->ta;
        ts.ts = Na;
        ts.bs = (ptrdiff_t)T * Na;
    }
    s->lqr->solved = 0;
    st = DOPT_FN(dopt_mpc_ilqr_solve)(s->aug, &ap, xs, o, ts, reports, info);
    for (b = 0; b < s->B && tau.p; ++b) {
        const dopt_status sb = s->aug->lqr->st[b];
        if (sb == DOPT_OK || sb == DOPT_ERR_NO_CONVERGENCE)
            for (t = 0; t < T; ++t)
                for (i = 0; i < N; ++i)
                    DOPT__LQR_AT(tau, b, t)[i] = s->aug->lqr->tau[((size_t)b * T + t) * Na + DOPT__SLEW_AT(i)];
    }
    s->slew_used = 1;
    return st;
}

/* Element b's caller-shaped gradients from the augmented ones (the arrays were zeroed first). */
static void DOPT_FN(dopt__slew_grad_add)(const DOPT_FN(dopt_mpc_ilqr) *s, const DOPT_FN(dopt_mpc_lqr_grad) *g,
                                         ptrdiff_t b)
{
    const int n = s->n, m = s->m, T = s->T, N = n + m, na = N, Na = N + m;
    int t, i, j;
    R_ dw = 0;
    for (t = 0; t < T; ++t) {
        const size_t bt = (size_t)b * T + t;
        const R_ *GC = s->gC + bt * Na * Na;
        if (g->C.p)
            for (j = 0; j < N; ++j)
                for (i = 0; i < N; ++i) DOPT__LQR_AT(g->C, b, t)[i + j * N] += GC[DOPT__SLEW_AT(i) + DOPT__SLEW_AT(j) * Na];
        if (g->c.p)
            for (i = 0; i < N; ++i) DOPT__LQR_AT(g->c, b, t)[i] += s->gc[bt * Na + DOPT__SLEW_AT(i)];
        if (g->F.p && t < T - 1)
            for (j = 0; j < N; ++j)
                for (i = 0; i < n; ++i) DOPT__LQR_AT(g->F, b, t)[i + j * n] += s->gF[bt * na * Na + i + DOPT__SLEW_AT(j) * na];
        if (g->f.p && t < T - 1)
            for (i = 0; i < n; ++i) DOPT__LQR_AT(g->f, b, t)[i] += s->gf[bt * na + i];
        if (g->slew_weight.p) /* the penalty's Hessian block w [[I -I]; [-I I]] on (p, u) */
            for (i = 0; i < m; ++i)
                dw += GC[(n + i) * (Na + 1)] + GC[(N + i) * (Na + 1)] - GC[n + i + (N + i) * Na] - GC[N + i + (n + i) * Na];
    }
    if (g->x_init.p)
        for (i = 0; i < n; ++i) g->x_init.p[b * g->x_init.bs + i] += s->gx[(size_t)b * na + i];
    if (g->u_prev.p)
        for (i = 0; i < m; ++i) g->u_prev.p[b * g->u_prev.bs + i] += s->gx[(size_t)b * na + n + i];
    if (g->slew_weight.p) g->slew_weight.p[b * g->slew_weight.bs] += dw;
}

/* dopt_mpc_ilqr_backward after a slew solve: the augmented LQR's backward, mapped back. */
static dopt_status DOPT_FN(dopt__slew_backward)(DOPT_FN(dopt_mpc_ilqr) *s, DOPT_FN(dopt_mpc_cseq) dtau,
                                                const DOPT_FN(dopt_mpc_lqr_backward_options) *options,
                                                const DOPT_FN(dopt_mpc_lqr_grad) *grad, dopt_status *bwd_status,
                                                dopt_errinfo *info)
{
    const int n = s->n, m = s->m, T = s->T, N = n + m, na = N, Na = N + m;
    DOPT_FN(dopt_mpc_lqr_grad) ga;
    DOPT_FN(dopt_mpc_cseq) dta = {0, 0, 0};
    dopt_status st;
    ptrdiff_t b;
    int t, i;
    if (!grad || !dtau.p) return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "mpc ilqr backward: NULL argument");
    for (b = 0; b < s->B; ++b)
        for (t = 0; t < T; ++t) {
            R_ *d = s->ta + ((size_t)b * T + t) * Na;
            for (i = 0; i < m; ++i) d[n + i] = 0;
            for (i = 0; i < N; ++i) d[DOPT__SLEW_AT(i)] = DOPT__LQR_AT(dtau, b, t)[i];
        }
    dta.p = s->ta;
    dta.ts = Na;
    dta.bs = (ptrdiff_t)T * Na;
    memset(&ga, 0, sizeof ga);
    if (grad->C.p || grad->slew_weight.p) { ga.C.p = s->gC; ga.C.ts = (ptrdiff_t)Na * Na; ga.C.bs = ga.C.ts * T; }
    if (grad->c.p) { ga.c.p = s->gc; ga.c.ts = Na; ga.c.bs = (ptrdiff_t)Na * T; }
    if (grad->F.p) { ga.F.p = s->gF; ga.F.ts = (ptrdiff_t)na * Na; ga.F.bs = ga.F.ts * T; }
    if (grad->f.p) { ga.f.p = s->gf; ga.f.ts = na; ga.f.bs = (ptrdiff_t)na * T; }
    if (grad->x_init.p || grad->u_prev.p) { ga.x_init.p = s->gx; ga.x_init.bs = na; }
    st = DOPT_FN(dopt_mpc_lqr_backward)(s->aug->lqr, dta, options, &ga, bwd_status, info);
    for (b = 0; b < s->B; ++b) {
        DOPT_FN(dopt__lqr_grad_zero)(s->lqr, grad, b, 0);
        DOPT_FN(dopt__lqr_grad_zero)(s->lqr, grad, b, 1);
        if (grad->u_prev.p)
            for (i = 0; i < m; ++i) grad->u_prev.p[b * grad->u_prev.bs + i] = 0;
        if (grad->slew_weight.p) grad->slew_weight.p[b * grad->slew_weight.bs] = 0;
    }
    for (b = 0; b < s->B; ++b) DOPT_FN(dopt__slew_grad_add)(s, grad, b);
    return st;
}
#undef DOPT__SLEW_AT

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
    s->slew_used = 0;
    if (problem->slew_weight.p) return DOPT_FN(dopt__slew_solve)(s, problem, x_init, &o, tau, reports, info);
    L = s->lqr;
    n = s->n;
    N = n + s->m;
    T = s->T;
    L->solved = 0;
    L->lam_valid = 0;
    L->nlane = 0; /* the delta-form sweeps below run one element at a time */
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
    if (s->slew_used) return DOPT_FN(dopt_mpc_ilqr_approximation)(s->aug, data, info);
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
    if (s->slew_used) return DOPT_FN(dopt__slew_backward)(s, dtau, options, grad, bwd_status, info);
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

#ifdef __cplusplus
}
#endif
#endif /* DOPT_MPC__PASS_IMPL (continued after the QP kernels) */

/* =============================================================================================== */
/* The QP kernel region: the dense QP's level-2 loops (Q x, A^T x, A x, the active-set method's   */
/* J = L^{-T}, Householder additions and Givens rotations), one pass per kernel family (dopt.h's  */
/* family driver), so the dispatched build (no -march) runs the AVX2 or AVX-512 copy the CPU has.  */
/* =============================================================================================== */
#if defined(DOPT__KPASS) && defined(DOPT__MPC_QP_KERNELS) && defined(DOPT_REAL)
/* y = Q x from the lower triangle of the n x n Q (ld n). */
DOPT__KTARGET static void DOPT__KFN(dopt__mpc_qp_symv)(int n, const DOPT_REAL *Q, const DOPT_REAL *x, DOPT_REAL *y)
{
    int i, j;
    for (i = 0; i < n; ++i) y[i] = 0;
    for (j = 0; j < n; ++j) {
        const DOPT_REAL *q = Q + (size_t)j * n;
        DOPT_REAL xj = x[j], acc = q[j] * xj;
        for (i = j + 1; i < n; ++i) {
            y[i] += q[i] * xj;
            acc += q[i] * x[i];
        }
        y[j] += acc;
    }
}

/* y = A^T x for the m x k column-major A (ld lda): dopt_gemv's TRANS case with four columns per
 * pass, each summed in two vector accumulators where the vector extensions exist (dopt_gemv takes
 * one latency-bound dot per column); the sums are formed in another order than dopt_dot's. */
DOPT__KTARGET DOPT__FMA_KERNEL static void DOPT__KFN(dopt__mpc_qp_gemv_t)(int m, int k, const DOPT_REAL *A, int lda,
                                                          const DOPT_REAL *x, DOPT_REAL *y)
{
    DOPT__FMA_BODY
    int j = 0;
#if DOPT__VEC_EXT
    for (; j + 3 < k; j += 4) {
        int i, c;
        const DOPT_REAL *a = A + (size_t)j * lda;
        DOPT__KFN(dopt__vreal) s[4][2], xv0, xv1;
        DOPT_REAL tail[4] = {0, 0, 0, 0};
        memset(s, 0, sizeof s);
        for (i = 0; i + 2 * DOPT__VLEN <= m; i += 2 * DOPT__VLEN) {
            xv0 = DOPT__VLD(x + i);
            xv1 = DOPT__VLD(x + i + DOPT__VLEN);
            for (c = 0; c < 4; ++c) {
                s[c][0] += DOPT__VLD(a + (size_t)c * lda + i) * xv0;
                s[c][1] += DOPT__VLD(a + (size_t)c * lda + i + DOPT__VLEN) * xv1;
            }
        }
        for (; i < m; ++i)
            for (c = 0; c < 4; ++c) tail[c] += a[(size_t)c * lda + i] * x[i];
        for (c = 0; c < 4; ++c) {
            DOPT__KFN(dopt__vreal) v = s[c][0] + s[c][1];
            DOPT_REAL t = tail[c];
            for (i = 0; i < DOPT__VLEN; ++i) t += v[i];
            y[j + c] = t;
        }
    }
#endif
    for (; j < k; ++j) y[j] = DOPT_FN(dopt_dot)(m, A + (size_t)j * lda, 1, x, 1);
}

/* y = A x for the m x k column-major A (ld lda): four columns per pass over y where the vector
 * extensions exist (dopt_gemv's NOTRANS case passes over y once per column). */
DOPT__KTARGET DOPT__FMA_KERNEL static void DOPT__KFN(dopt__mpc_qp_gemv_n)(int m, int k, const DOPT_REAL *A, int lda,
                                                          const DOPT_REAL *x, DOPT_REAL *y)
{
    DOPT__FMA_BODY
    int j = 0, i;
    for (i = 0; i < m; ++i) y[i] = 0;
#if DOPT__VEC_EXT
    for (; j + 3 < k; j += 4) {
        const DOPT_REAL *a0 = A + (size_t)j * lda, *a1 = a0 + lda, *a2 = a1 + lda, *a3 = a2 + lda;
        DOPT_REAL x0 = x[j], x1 = x[j + 1], x2 = x[j + 2], x3 = x[j + 3];
        for (i = 0; i + DOPT__VLEN <= m; i += DOPT__VLEN) {
            DOPT__KFN(dopt__vreal) v = DOPT__VLD(y + i);
            v += DOPT__VLD(a0 + i) * x0 + DOPT__VLD(a1 + i) * x1;
            v += DOPT__VLD(a2 + i) * x2 + DOPT__VLD(a3 + i) * x3;
            DOPT__VST(y + i, v);
        }
        for (; i < m; ++i) y[i] += a0[i] * x0 + a1[i] * x1 + a2[i] * x2 + a3[i] * x3;
    }
#endif
    for (; j < k; ++j) {
        const DOPT_REAL *a = A + (size_t)j * lda;
        DOPT_REAL xj = x[j];
        for (i = 0; i < m; ++i) y[i] += a[i] * xj;
    }
}
/* Apply the rotation [c s; -s c] to columns a and b of the n x n J (ld n). */
DOPT__KTARGET static void DOPT__KFN(dopt__mpc_qp_as_rot)(int n, DOPT_REAL *J, int a, int b, DOPT_REAL c, DOPT_REAL s)
{
    DOPT_REAL *ja = J + (size_t)a * n, *jb = J + (size_t)b * n;
    int i;
    for (i = 0; i < n; ++i) {
        DOPT_REAL t = ja[i];
        ja[i] = c * t + s * jb[i];
        jb[i] = c * jb[i] - s * t;
    }
}

/* jc -= sc y over n entries, and returns the updated jc's dot with g (0 when g is NULL): the
 * Householder update of one column of J fused with that column's part of the next J^T n, so
 * that J is read once for both (two vector accumulators where the vector extensions exist). */
DOPT__KTARGET DOPT__FMA_KERNEL static DOPT_REAL DOPT__KFN(dopt__mpc_qp_axpy_dot)(int n, DOPT_REAL sc, const DOPT_REAL *y,
                                                                 DOPT_REAL *jc, const DOPT_REAL *g)
{
    DOPT__FMA_BODY
    int i = 0;
    DOPT_REAL acc = 0;
#if DOPT__VEC_EXT
    if (g) {
        DOPT__KFN(dopt__vreal) a0, a1, t0, t1;
        memset(&a0, 0, sizeof a0);
        memset(&a1, 0, sizeof a1);
        for (; i + 2 * DOPT__VLEN <= n; i += 2 * DOPT__VLEN) {
            t0 = DOPT__VLD(jc + i) - sc * DOPT__VLD(y + i);
            t1 = DOPT__VLD(jc + i + DOPT__VLEN) - sc * DOPT__VLD(y + i + DOPT__VLEN);
            DOPT__VST(jc + i, t0);
            DOPT__VST(jc + i + DOPT__VLEN, t1);
            a0 += t0 * DOPT__VLD(g + i);
            a1 += t1 * DOPT__VLD(g + i + DOPT__VLEN);
        }
        a0 += a1;
        for (i = 0; i < DOPT__VLEN; ++i) acc += a0[i];
        i = n - n % (2 * DOPT__VLEN);
    }
#endif
    for (; i < n; ++i) {
        jc[i] -= sc * y[i];
        if (g) acc += jc[i] * g[i];
    }
    return acc;
}

/* Add a normal with dv = J^T n to the working set of q, zd = J2 dv2 its step from as_dir: one
 * Householder reflection H of J's columns q.. folds dv[q+1..] into dv[q] (J2 <- J2 H with
 * J2 w = zd - alpha J[:, q] for the reflector w, so a rank-one update, 2 n (n - q) flops), and
 * dv[0..q] becomes column q of R (its diagonal made positive).  y is scratch (n).  With g not
 * NULL, jg = J^T g of the updated J as well, in the same pass over J (the next step's normal:
 * J^T n costs a read of J as large as the update's); jg may be zd (read before it is written). */
DOPT__KTARGET static void DOPT__KFN(dopt__mpc_qp_as_add)(int n, int q, DOPT_REAL *J, DOPT_REAL *R, DOPT_REAL *dv, const DOPT_REAL *zd,
                                         DOPT_REAL *y, const DOPT_REAL *g, DOPT_REAL *jg)
{
    int i, c;
    DOPT_REAL nrm = DOPT_M(sqrt)(DOPT_FN(dopt_dot)(n - q, dv + q, 1, dv + q, 1));
    DOPT_REAL alpha = dv[q] < 0 ? nrm : -nrm, beta = 1 / (nrm * (nrm + DOPT_M(fabs)(dv[q])));
    DOPT_REAL *jq = J + (size_t)q * n;
    dv[q] -= alpha;
    for (i = 0; i < n; ++i) y[i] = zd[i] - alpha * jq[i];
    if (g && q) DOPT__KFN(dopt__mpc_qp_gemv_t)(n, q, J, n, g, jg);
    for (c = q; c < n; ++c) {
        DOPT_REAL sc = beta * dv[c], *jc = J + (size_t)c * n;
        if (g) jg[c] = DOPT__KFN(dopt__mpc_qp_axpy_dot)(n, sc, y, jc, g);
        else if (sc != 0) DOPT__KFN(dopt__mpc_qp_axpy_dot)(n, sc, y, jc, NULL);
    }
    if (alpha < 0) {
        alpha = -alpha;
        for (i = 0; i < n; ++i) jq[i] = -jq[i];
        if (g) jg[q] = -jg[q];
    }
    for (i = 0; i < q; ++i) R[i + (size_t)q * n] = dv[i];
    R[q + (size_t)q * n] = alpha;
}

/* J = L^{-T} (upper triangular) from the Cholesky factor L (lower, ld n), column by column:
 * L^T J = I gives J[0:c, c] = -J[0:c, 0:c] L[c, 0:c]^T / L_cc and J_cc = 1 / L_cc (a
 * matrix-vector product over the columns already made: no chain of dependent divisions).
 * t is scratch (n). */
DOPT__KTARGET static void DOPT__KFN(dopt__mpc_qp_jinv)(int n, const DOPT_REAL *L, DOPT_REAL *J, DOPT_REAL *t)
{
    int col, i;
    for (col = 0; col < n; ++col) {
        DOPT_REAL *jc = J + (size_t)col * n, r = 1 / L[col + (size_t)col * n];
        for (i = 0; i < col; ++i) t[i] = -r * L[col + (size_t)i * n];
        DOPT__KFN(dopt__mpc_qp_gemv_n)(col, col, J, n, t, jc);
        jc[col] = r;
        for (i = col + 1; i < n; ++i) jc[i] = 0;
    }
}
#endif /* DOPT__MPC_QP_KERNELS */

#if defined(DOPT_MPC__PASS_IMPL) && defined(DOPT_REAL) && !defined(DOPT__KDRIVE)
#ifdef __cplusplus
extern "C" {
#endif
/* the QP kernels of every family this build holds (the region above) */
#define DOPT__MPC_QP_KERNELS
#define DOPT__KDRIVE "dopt_mpc.h"
#include "dopt.h"
#undef DOPT__KDRIVE
#undef DOPT__MPC_QP_KERNELS

/* The region's entry points in the kernel family the CPU runs. */
static void DOPT_FN(dopt__mpc_qp_symv)(int n, const DOPT_REAL *Q, const DOPT_REAL *x, DOPT_REAL *y)
{
    DOPT__KSEL(DOPT_FN(dopt__mpc_qp_symv))(n, Q, x, y);
}
static void DOPT_FN(dopt__mpc_qp_gemv_t)(int m, int k, const DOPT_REAL *A, int lda, const DOPT_REAL *x, DOPT_REAL *y)
{
    DOPT__KSEL(DOPT_FN(dopt__mpc_qp_gemv_t))(m, k, A, lda, x, y);
}
static void DOPT_FN(dopt__mpc_qp_gemv_n)(int m, int k, const DOPT_REAL *A, int lda, const DOPT_REAL *x, DOPT_REAL *y)
{
    DOPT__KSEL(DOPT_FN(dopt__mpc_qp_gemv_n))(m, k, A, lda, x, y);
}
static void DOPT_FN(dopt__mpc_qp_as_rot)(int n, DOPT_REAL *J, int a, int b, DOPT_REAL c, DOPT_REAL s)
{
    DOPT__KSEL(DOPT_FN(dopt__mpc_qp_as_rot))(n, J, a, b, c, s);
}
static void DOPT_FN(dopt__mpc_qp_as_add)(int n, int q, DOPT_REAL *J, DOPT_REAL *R, DOPT_REAL *dv, const DOPT_REAL *zd,
                                         DOPT_REAL *y, const DOPT_REAL *g, DOPT_REAL *jg)
{
    DOPT__KSEL(DOPT_FN(dopt__mpc_qp_as_add))(n, q, J, R, dv, zd, y, g, jg);
}
static void DOPT_FN(dopt__mpc_qp_jinv)(int n, const DOPT_REAL *L, DOPT_REAL *J, DOPT_REAL *t)
{
    DOPT__KSEL(DOPT_FN(dopt__mpc_qp_jinv))(n, L, J, t);
}

/* ==== DENSE QP: implementation ==== */
/* The object.  Per batch element it keeps (reals) x[n], y[meq], z[m], s[m], the backward's
 * factors L[n*n], Y[n*(meq+mineq)], S[(meq+mineq)^2], the active-set method's R[n*n] (its J
 * lives in L) and (ints) the result, the active set and whether the backward factor is ready.  m = mineq + 2n with bounds (row mineq+j: x_j <= u_j,
 * row mineq+n+j: -x_j <= -l_j), else mineq; rows with an infinite right side are "off". */
struct DOPT_FN(dopt_mpc_qp) {
    dopt_owned own;              /* the block of dopt_mpc_qp_create, or none */
    dopt_mpc_qp_dims dims;
    int n, meq, mi, m, mc;       /* mc = meq + mi: most constraint rows of the backward */
    ptrdiff_t max_batch, last_batch;
    size_t elem_reals, elem_ints;
    DOPT_REAL *elem;             /* max_batch * elem_reals */
    int *ielem;                  /* max_batch * elem_ints */
    DOPT_REAL *work;             /* scratch vectors and the interior point's matrices */
    int *iwork;                  /* the active-set method's ints (inside work's last reals) */
    size_t vlen;                 /* length of one scratch vector */
#if DOPT_IS_FLOAT
    dopt_mpc_qp_d *inner;        /* double_inside: the double solver */
    double *cvt;                 /* double copies of one batch's data, x, gx and gradients */
    size_t cvt_len;
#endif
};


/* Pointers into one element's storage. */
typedef struct DOPT_FN(dopt__mpc_qp_slot) {
    DOPT_REAL *x, *y, *z, *s, *L, *Y, *S, *R;
    int *head, *fre, *act, *state, *aset;
} DOPT_FN(dopt__mpc_qp_slot);

/* One element's data with the inequalities in the single form C x <= d (G rows, then the
 * bounds as +e_j and -e_j rows); on[i] is 1 for a finite row, 0 for a dropped one. */
typedef struct DOPT_FN(dopt__mpc_qp_el) {
    int n, meq, mi, m, box;
    const DOPT_REAL *Q, *p, *A, *b, *G, *h, *l, *u;
    DOPT_REAL *on, *d;
    const DOPT_REAL *Gt;         /* the active-set method's row-major copy of G (n x mi), or NULL */
    DOPT_REAL qscale;            /* max(1, max_j Q_jj): the scale of the regularization */
} DOPT_FN(dopt__mpc_qp_el);


static DOPT_FN(dopt__mpc_qp_slot) DOPT_FN(dopt__mpc_qp_slot_of)(const DOPT_FN(dopt_mpc_qp) *qp, ptrdiff_t k)
{
    DOPT_FN(dopt__mpc_qp_slot) sl;
    DOPT_REAL *r = qp->elem + (size_t)k * qp->elem_reals;
    int *iv = qp->ielem + (size_t)k * qp->elem_ints;
    int n = qp->n, m = qp->m, mc = qp->mc;
    sl.x = r; r += n;
    sl.y = r; r += qp->meq;
    sl.z = r; r += m;
    sl.s = r; r += m;
    sl.L = r; r += (size_t)n * n;
    sl.Y = r; r += (size_t)n * mc;
    sl.S = r; r += (size_t)mc * mc;
    sl.R = r;
    sl.head = iv; iv += DOPT__MPC_QP_IHEAD;
    sl.fre = iv; iv += n;
    sl.act = iv; iv += qp->mi;
    sl.state = iv; iv += n;
    sl.aset = iv;
    return sl;
}

static DOPT_REAL *DOPT_FN(dopt__mpc_qp_vec)(const DOPT_FN(dopt_mpc_qp) *qp, int which)
{
    return qp->work + (size_t)which * qp->vlen;
}

/* Sizes of everything, shared by workspace_size and create_in (DOPT_IS_FLOAT: plus the inner
 * double solver and the conversion buffers when dims->double_inside). */
static void DOPT_FN(dopt__mpc_qp_sizes)(const dopt_mpc_qp_dims *d, ptrdiff_t B, size_t *elem_reals,
                                        size_t *elem_ints, size_t *vlen, size_t *work_reals)
{
    size_t n = (size_t)d->n, meq = (size_t)d->meq, mi = (size_t)d->mineq;
    size_t m = mi + (d->box ? 2 * n : 0), mc = meq + mi;
    (void)B;
    *elem_reals = n + meq + 2 * m + 2 * n * n + n * mc + mc * mc;
    *elem_ints = DOPT__MPC_QP_IHEAD + 3 * n + mi;
    *vlen = n + m + mc + 1;
    /* vectors, then H (n*n), Yw (n*meq), Sw (meq*meq), Gs (mi*n); then the active-set
     * method's ints: the warm-start list (n) and the working-set flags (m) */
    *work_reals = (size_t)DOPT__QPV_COUNT * *vlen + n * n + n * meq + meq * meq + mi * n;
    *work_reals += ((n + m) * sizeof(int) + sizeof(DOPT_REAL) - 1) / sizeof(DOPT_REAL);
}

#if DOPT_IS_FLOAT
/* Reals of the double_inside conversion buffers: data, x, gx and the gradients of a full batch. */
static size_t dopt__mpc_qp_cvt_len_f(const dopt_mpc_qp_dims *d, ptrdiff_t B)
{
    size_t n = (size_t)d->n, meq = (size_t)d->meq, mi = (size_t)d->mineq;
    size_t data = n * n + n + meq * n + meq + mi * n + mi + (d->box ? 2 * n : 0);
    return (size_t)B * (2 * data + 2 * n);
}
#endif

DOPT_API dopt_status DOPT_FN(dopt_mpc_qp_workspace_size)(const dopt_mpc_qp_dims *dims,
                                                         ptrdiff_t max_batch, size_t *bytes,
                                                         dopt_errinfo *info)
{
    size_t er, ei, vl, wr, total;
    dopt_status st = dopt__mpc_qp_check_dims(dims, max_batch, info);
    if (st != DOPT_OK) return st;
    if (!bytes) return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "mpc_qp: bytes is NULL");
    DOPT_FN(dopt__mpc_qp_sizes)(dims, max_batch, &er, &ei, &vl, &wr);
    if ((size_t)max_batch > ((size_t)-1 / 4) / (er * sizeof(DOPT_REAL) + ei * sizeof(int) + 1))
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "mpc_qp: batch too large");
    total = DOPT_WORKSPACE_ALIGN + DOPT_WORKSPACE_ROUND(sizeof(DOPT_FN(dopt_mpc_qp))) +
            DOPT_WORKSPACE_ROUND((size_t)max_batch * er * sizeof(DOPT_REAL)) +
            DOPT_WORKSPACE_ROUND((size_t)max_batch * ei * sizeof(int)) +
            DOPT_WORKSPACE_ROUND(wr * sizeof(DOPT_REAL));
#if DOPT_IS_FLOAT
    if (dims->double_inside) {
        size_t inner = 0;
        st = dopt_mpc_qp_workspace_size_d(dims, max_batch, &inner, info);
        if (st != DOPT_OK) return st;
        total += DOPT_WORKSPACE_ROUND(inner) + DOPT_WORKSPACE_ROUND(dopt__mpc_qp_cvt_len_f(dims, max_batch) * sizeof(double));
    }
#endif
    *bytes = total;
    return DOPT_OK;
}

DOPT_API dopt_status DOPT_FN(dopt_mpc_qp_create_in)(void *memory, size_t bytes,
                                                    const dopt_mpc_qp_dims *dims,
                                                    ptrdiff_t max_batch,
                                                    DOPT_FN(dopt_mpc_qp) **out, dopt_errinfo *info)
{
    dopt_workspace ws;
    DOPT_FN(dopt_mpc_qp) *qp;
    size_t need = 0, er, ei, vl, wr;
    dopt_status st;
    if (!out) return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "mpc_qp: out is NULL");
    *out = NULL;
    st = DOPT_FN(dopt_mpc_qp_workspace_size)(dims, max_batch, &need, info);
    if (st != DOPT_OK) return st;
    if (!memory || bytes < need)
        return dopt_errinfo_set(info, DOPT_ERR_ALLOCATION, -1, 0, "mpc_qp: workspace too small");
    DOPT_FN(dopt__mpc_qp_sizes)(dims, max_batch, &er, &ei, &vl, &wr);
    dopt_workspace_init(&ws, memory, bytes);
    qp = (DOPT_FN(dopt_mpc_qp) *)dopt_workspace_take(&ws, sizeof *qp);
    memset(qp, 0, sizeof *qp);
    qp->dims = *dims;
    qp->n = dims->n;
    qp->meq = dims->meq;
    qp->mi = dims->mineq;
    qp->m = dims->mineq + (dims->box ? 2 * dims->n : 0);
    qp->mc = dims->meq + dims->mineq;
    qp->max_batch = max_batch;
    qp->elem_reals = er;
    qp->elem_ints = ei;
    qp->vlen = vl;
    qp->elem = (DOPT_REAL *)dopt_workspace_take(&ws, (size_t)max_batch * er * sizeof(DOPT_REAL));
    qp->ielem = (int *)dopt_workspace_take(&ws, (size_t)max_batch * ei * sizeof(int));
    qp->work = (DOPT_REAL *)dopt_workspace_take(&ws, wr * sizeof(DOPT_REAL));
    if (qp->work)
        qp->iwork = (int *)(qp->work + wr - (((size_t)qp->n + qp->m) * sizeof(int) + sizeof(DOPT_REAL) - 1) /
                                                sizeof(DOPT_REAL));
    memset(qp->ielem, 0, (size_t)max_batch * ei * sizeof(int));
    {
        ptrdiff_t k;
        for (k = 0; k < max_batch; ++k) qp->ielem[(size_t)k * ei] = DOPT_MPC_QP_NOT_SOLVED;
    }
#if DOPT_IS_FLOAT
    if (dims->double_inside) {
        size_t inner = 0;
        void *mem;
        dopt_mpc_qp_workspace_size_d(dims, max_batch, &inner, NULL);
        mem = dopt_workspace_take(&ws, inner);
        qp->cvt_len = dopt__mpc_qp_cvt_len_f(dims, max_batch);
        qp->cvt = (double *)dopt_workspace_take(&ws, qp->cvt_len * sizeof(double));
        st = dopt_mpc_qp_create_in_d(mem, inner, dims, max_batch, &qp->inner, info);
        if (st != DOPT_OK) return st;
    }
#endif
    if (!qp->elem || !qp->ielem || !qp->work)
        return dopt_errinfo_set(info, DOPT_ERR_ALLOCATION, -1, 0, "mpc_qp: workspace too small");
    *out = qp;
    return DOPT_OK;
}

DOPT_API dopt_status DOPT_FN(dopt_mpc_qp_create)(const dopt_hooks *hooks, const dopt_mpc_qp_dims *dims,
                                                 ptrdiff_t max_batch, DOPT_FN(dopt_mpc_qp) **out,
                                                 dopt_errinfo *info)
{
    size_t bytes = 0;
    void *mem;
    dopt_status st;
    if (!out) return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "mpc_qp: out is NULL");
    *out = NULL;
    st = DOPT_FN(dopt_mpc_qp_workspace_size)(dims, max_batch, &bytes, info);
    mem = dopt_owned_alloc(hooks, bytes, &st, info);
    if (mem) st = DOPT_FN(dopt_mpc_qp_create_in)(mem, bytes, dims, max_batch, out, info);
    return dopt_owned_keep(st, hooks, mem, bytes, st == DOPT_OK ? &(*out)->own : NULL);
}

DOPT_API void DOPT_FN(dopt_mpc_qp_destroy)(DOPT_FN(dopt_mpc_qp) *qp)
{
    if (qp) dopt_owned_release(&qp->own);
}

/* ---- small kernels ---------------------------------------------------------------------------- */

/* x = T^{-1} x for the q x q upper triangular T (ld ldt): back substitution in axpy form, inline
 * (dopt_trsv's call per column costs as much as the column at the working-set sizes here). */
static void DOPT_FN(dopt__mpc_qp_utrsv)(int q, const DOPT_REAL *T, int ldt, DOPT_REAL *x)
{
    int c, i;
    for (c = q - 1; c >= 0; --c) {
        const DOPT_REAL *tc = T + (size_t)c * ldt;
        DOPT_REAL xc = x[c] / tc[c];
        x[c] = xc;
        for (i = 0; i < c; ++i) x[i] -= xc * tc[i];
    }
}

/* out = C x (all m rows; rows that are off hold meaningless values). */
static void DOPT_FN(dopt__mpc_qp_cmul)(const DOPT_FN(dopt__mpc_qp_el) *e, const DOPT_REAL *x, DOPT_REAL *out)
{
    int j;
    if (e->mi) DOPT_FN(dopt__mpc_qp_gemv_n)(e->mi, e->n, e->G, e->mi, x, out);
    if (e->box)
        for (j = 0; j < e->n; ++j) {
            out[e->mi + j] = x[j];
            out[e->mi + e->n + j] = -x[j];
        }
}

/* out = C^T v + beta out (v is zero on the rows that are off). */
static void DOPT_FN(dopt__mpc_qp_ctmul)(const DOPT_FN(dopt__mpc_qp_el) *e, const DOPT_REAL *v, DOPT_REAL beta,
                                        DOPT_REAL *out)
{
    int j;
    if (e->mi && beta == 0) DOPT_FN(dopt__mpc_qp_gemv_t)(e->mi, e->n, e->G, e->mi, v, out);
    else if (e->mi) DOPT_FN(dopt_gemv)(DOPT_TRANS, e->mi, e->n, 1, e->G, e->mi, v, 1, beta, out, 1);
    else if (beta == 0) for (j = 0; j < e->n; ++j) out[j] = 0;
    else for (j = 0; j < e->n; ++j) out[j] *= beta;
    if (e->box)
        for (j = 0; j < e->n; ++j) out[j] += v[e->mi + j] - v[e->mi + e->n + j];
}

static DOPT_REAL DOPT_FN(dopt__mpc_qp_amax)(int n, const DOPT_REAL *v)
{
    DOPT_REAL a = 0;
    int i;
    for (i = 0; i < n; ++i) a = DOPT_M(fabs)(v[i]) > a ? DOPT_M(fabs)(v[i]) : a;
    return a;
}

/* dopt__mpc_qp_load: element k's data pointers, the C x <= d right side and the on mask;
 * returns 0, 1 when the data is invalid (NaN, Inf in Q p A b G, h = -inf, l = +inf, u = -inf),
 * 2 when some l_j > u_j (primal infeasible). */
static int DOPT_FN(dopt__mpc_qp_load)(const DOPT_FN(dopt_mpc_qp) *qp, const DOPT_FN(dopt_mpc_qp_data) *dt,
                                      ptrdiff_t k, DOPT_FN(dopt__mpc_qp_el) *e)
{
    int n = qp->n, i, j;
    DOPT_REAL big = DOPT_IS_FLOAT ? FLT_MAX : DBL_MAX;
    e->n = n;
    e->meq = qp->meq;
    e->mi = qp->mi;
    e->m = qp->m;
    e->box = qp->dims.box;
    e->Q = dt->Q + k * dt->Q_stride;
    e->p = dt->p + k * dt->p_stride;
    e->A = qp->meq ? dt->A + k * dt->A_stride : NULL;
    e->b = qp->meq ? dt->b + k * dt->b_stride : NULL;
    e->G = qp->mi ? dt->G + k * dt->G_stride : NULL;
    e->h = qp->mi ? dt->h + k * dt->h_stride : NULL;
    e->l = e->box ? dt->l + k * dt->l_stride : NULL;
    e->u = e->box ? dt->u + k * dt->u_stride : NULL;
    e->Gt = NULL;
    e->on = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_ON);
    e->d = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_D);
    e->qscale = 1;
    for (j = 0; j < n; ++j) {
        for (i = j; i < n; ++i)
            if (!(DOPT_M(fabs)(e->Q[i + (size_t)j * n]) <= big)) return 1;
        if (e->Q[j + (size_t)j * n] > e->qscale) e->qscale = e->Q[j + (size_t)j * n];
    }
    if (!DOPT_FN(dopt_all_finite)(n, e->p)) return 1;
    if (e->meq && (!DOPT_FN(dopt_all_finite)(e->meq * n, e->A) || !DOPT_FN(dopt_all_finite)(e->meq, e->b)))
        return 1;
    if (e->mi && !DOPT_FN(dopt_all_finite)(e->mi * n, e->G)) return 1;
    for (i = 0; i < e->mi; ++i) {
        DOPT_REAL hi = e->h[i];
        if (hi != hi || hi < -big) return 1;
        e->on[i] = hi <= big ? 1 : 0;
        e->d[i] = hi <= big ? hi : 0;
    }
    if (e->box)
        for (j = 0; j < n; ++j) {
            DOPT_REAL lj = e->l[j], uj = e->u[j];
            if (lj != lj || uj != uj || lj > big || uj < -big) return 1;
            if (lj > uj) return 2;
            e->on[e->mi + j] = uj <= big ? 1 : 0;
            e->d[e->mi + j] = uj <= big ? uj : 0;
            e->on[e->mi + n + j] = lj >= -big ? 1 : 0;
            e->d[e->mi + n + j] = lj >= -big ? -lj : 0;
        }
    return 0;
}

/* ---- the interior point method ---------------------------------------------------------------- */

/* Factor the reduced KKT matrix of one Newton step,
 *     [ H  A^T ]    H = Q + rho I + C^T diag(w) C  (w = z / s on the rows that are on),
 *     [ A  -dI ]
 * as H = L L^T (into H), Yw = L^{-1} A^T (n x meq), Sw = Yw^T Yw + d I = Ls Ls^T.  rho starts at
 * 1e-10 qscale (1e-6 in float) and grows when the Cholesky fails (Q PSD but singular on the
 * free directions).  Returns 0, or 1 when no regularization up to 1e-2 qscale helps. */
static int DOPT_FN(dopt__mpc_qp_factor_ipm)(const DOPT_FN(dopt_mpc_qp) *qp, const DOPT_FN(dopt__mpc_qp_el) *e,
                                            const DOPT_REAL *w)
{
    int n = e->n, meq = e->meq, mi = e->mi, i, j, col;
    DOPT_REAL *H = qp->work + (size_t)DOPT__QPV_COUNT * qp->vlen;
    DOPT_REAL *Yw = H + (size_t)n * n, *Sw = Yw + (size_t)n * meq, *Gs = Sw + (size_t)meq * meq;
    DOPT_REAL rho = (DOPT_IS_FLOAT ? (DOPT_REAL)1e-6 : (DOPT_REAL)1e-10) * e->qscale;
    int k = 0, kr;
    /* rows whose barrier weight is negligible (far from their bound) are left out of the
     * product; the refinement of each direction sees the exact matrix */
    DOPT_REAL wdrop = (DOPT_IS_FLOAT ? (DOPT_REAL)1e-7 : (DOPT_REAL)1e-13) * e->qscale;
    for (i = 0; i < mi; ++i)
        if (w[i] > wdrop) ++k;
    for (i = 0, kr = 0; i < mi; ++i) {
        DOPT_REAL sw;
        if (!(w[i] > wdrop)) continue;
        sw = DOPT_M(sqrt)(w[i]);
        for (j = 0; j < n; ++j) Gs[kr + (size_t)j * k] = e->G[i + (size_t)j * mi] * sw;
        ++kr;
    }
    for (;;) {
        DOPT_REAL hmax = 0;
        for (j = 0; j < n; ++j) {
            for (i = j; i < n; ++i) H[i + (size_t)j * n] = e->Q[i + (size_t)j * n];
            H[j + (size_t)j * n] += rho;
            if (e->box) H[j + (size_t)j * n] += w[mi + j] + w[mi + n + j];
        }
        if (k) DOPT_FN(dopt_syrk)(DOPT_LOWER, DOPT_TRANS, n, k, 1, Gs, k, 1, H, n);
        for (j = 0; j < n; ++j) hmax = H[j + (size_t)j * n] > hmax ? H[j + (size_t)j * n] : hmax;
        if (DOPT_FN(dopt_potrf)(n, H, n, &col) == DOPT_OK) break;
        /* rounding in the large barrier terms broke the Cholesky: regularize relative to the
         * diagonal (the residuals stay exact; the refinement of each direction repairs it) */
        rho = rho < 100 * DOPT_EPS * hmax ? 100 * DOPT_EPS * hmax : rho * 100;
        if (rho > (DOPT_REAL)1e-4 * hmax) return 1;
    }
    if (meq) {
        DOPT_REAL dmax = 0, delta;
        for (i = 0; i < meq; ++i)
            for (j = 0; j < n; ++j) Yw[j + (size_t)i * n] = e->A[i + (size_t)j * meq];
        DOPT_FN(dopt_trsm)(DOPT_LEFT, DOPT_LOWER, DOPT_NOTRANS, DOPT_NONUNIT, n, meq, 1, H, n, Yw, n);
        DOPT_FN(dopt_syrk)(DOPT_LOWER, DOPT_TRANS, meq, n, 1, Yw, n, 0, Sw, meq);
        for (i = 0; i < meq; ++i) dmax = Sw[i + (size_t)i * meq] > dmax ? Sw[i + (size_t)i * meq] : dmax;
        delta = (DOPT_IS_FLOAT ? (DOPT_REAL)1e-6 : (DOPT_REAL)1e-13) * (1 + dmax);
        for (;;) {
            for (i = 0; i < meq; ++i) Sw[i + (size_t)i * meq] += delta;
            if (DOPT_FN(dopt_potrf)(meq, Sw, meq, &col) == DOPT_OK) break;
            if (delta > (DOPT_REAL)1e-2 * (1 + dmax)) return 1;
            DOPT_FN(dopt_syrk)(DOPT_LOWER, DOPT_TRANS, meq, n, 1, Yw, n, 0, Sw, meq);
            delta *= 1000;
        }
    }
    return 0;
}

/* Solve [L L^T  E^T; E  -dI] [dx; dy] = [r1; r2] given L (n x n, ld n), Y = L^{-1} E^T
 * (n x me, ld n) and the Cholesky factor of Y^T Y + dI (me x me, ld me). */
static void DOPT_FN(dopt__mpc_qp_schur_solve)(int n, int me, const DOPT_REAL *L, const DOPT_REAL *Y,
                                              const DOPT_REAL *S, const DOPT_REAL *r1, const DOPT_REAL *r2,
                                              DOPT_REAL *dx, DOPT_REAL *dy)
{
    int i;
    for (i = 0; i < n; ++i) dx[i] = r1[i];
    if (n) DOPT_FN(dopt_trsv)(DOPT_LOWER, DOPT_NOTRANS, DOPT_NONUNIT, n, L, n, dx, 1);
    if (me) {
        for (i = 0; i < me; ++i) dy[i] = -r2[i];
        if (n) DOPT_FN(dopt_gemv)(DOPT_TRANS, n, me, 1, Y, n, dx, 1, 1, dy, 1);
        DOPT_FN(dopt_potrs)(me, 1, S, me, dy, me);
        if (n) DOPT_FN(dopt_gemv)(DOPT_NOTRANS, n, me, -1, Y, n, dy, 1, 1, dx, 1);
    }
    if (n) DOPT_FN(dopt_trsv)(DOPT_LOWER, DOPT_TRANS, DOPT_NONUNIT, n, L, n, dx, 1);
}

/* The Newton system of the interior point method with the factors of factor_ipm. */
static void DOPT_FN(dopt__mpc_qp_solve_ipm)(const DOPT_FN(dopt_mpc_qp) *qp, int n, int meq, const DOPT_REAL *r1,
                                            const DOPT_REAL *r2, DOPT_REAL *dx, DOPT_REAL *dy)
{
    const DOPT_REAL *H = qp->work + (size_t)DOPT__QPV_COUNT * qp->vlen;
    const DOPT_REAL *Yw = H + (size_t)n * n, *Sw = Yw + (size_t)n * meq;
    DOPT_FN(dopt__mpc_qp_schur_solve)(n, meq, H, Yw, Sw, r1, r2, dx, dy);
}

/* The residuals of the iterate (x, y, z, s):
 *   rd = Q x + p + A^T y + C^T z,  re = A x - b,  ri = (C x + s - d) on the rows that are on,
 * and the KKT measures of x itself (with the true slack d - C x): *pres, *dres, *comp; Q x is
 * left in the T vector. */
static void DOPT_FN(dopt__mpc_qp_residuals)(const DOPT_FN(dopt_mpc_qp) *qp, const DOPT_FN(dopt__mpc_qp_el) *e,
                                            const DOPT_REAL *x, const DOPT_REAL *y, const DOPT_REAL *z,
                                            const DOPT_REAL *s, DOPT_REAL *pres, DOPT_REAL *dres,
                                            DOPT_REAL *comp)
{
    int n = e->n, meq = e->meq, m = e->m, i;
    DOPT_REAL *rd = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_RD), *re = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_RE);
    DOPT_REAL *ri = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_RI), *cx = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_CX);
    DOPT_REAL *t = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_T);
    DOPT_REAL pr = 0, cp = 0;
    DOPT_FN(dopt__mpc_qp_ctmul)(e, z, 0, rd);
    DOPT_FN(dopt__mpc_qp_symv)(n, e->Q, x, t);
    for (i = 0; i < n; ++i) rd[i] += t[i] + e->p[i];
    if (meq) {
        DOPT_FN(dopt_gemv)(DOPT_TRANS, meq, n, 1, e->A, meq, y, 1, 1, rd, 1);
        for (i = 0; i < meq; ++i) re[i] = -e->b[i];
        DOPT_FN(dopt_gemv)(DOPT_NOTRANS, meq, n, 1, e->A, meq, x, 1, 1, re, 1);
        pr = DOPT_FN(dopt__mpc_qp_amax)(meq, re);
    }
    DOPT_FN(dopt__mpc_qp_cmul)(e, x, cx);
    for (i = 0; i < m; ++i) {
        if (e->on[i] != 0) {
            DOPT_REAL viol = cx[i] - e->d[i], c = z[i] * DOPT_M(fabs)(viol);
            ri[i] = viol + s[i];
            if (viol > pr) pr = viol;
            if (c > cp) cp = c;
        } else {
            ri[i] = 0;
        }
    }
    *pres = pr;
    *dres = DOPT_FN(dopt__mpc_qp_amax)(n, rd);
    *comp = cp;
}

/* One step of iterative refinement of a Newton system solve against the unregularized matrix
 * [Q + C^T diag(w) C, A^T; A, 0] (the factor has rho and d and the rounding of large w). */
static void DOPT_FN(dopt__mpc_qp_refine)(const DOPT_FN(dopt_mpc_qp) *qp, const DOPT_FN(dopt__mpc_qp_el) *e,
                                         const DOPT_REAL *w, const DOPT_REAL *r1, const DOPT_REAL *r2,
                                         DOPT_REAL *dx, DOPT_REAL *dy)
{
    int n = e->n, meq = e->meq, m = e->m, i;
    DOPT_REAL *c = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_E1), *f1 = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_E2);
    DOPT_REAL *f2 = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_E3), *cx = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_E4);
    DOPT_REAL *ey;
    DOPT_FN(dopt__mpc_qp_cmul)(e, dx, cx);
    for (i = 0; i < m; ++i) c[i] = e->on[i] != 0 ? w[i] * cx[i] : 0;
    DOPT_FN(dopt__mpc_qp_ctmul)(e, c, 0, f1);
    DOPT_FN(dopt__mpc_qp_symv)(n, e->Q, dx, c);
    for (i = 0; i < n; ++i) f1[i] = r1[i] - f1[i] - c[i];
    if (meq) {
        DOPT_FN(dopt_gemv)(DOPT_TRANS, meq, n, -1, e->A, meq, dy, 1, 1, f1, 1);
        for (i = 0; i < meq; ++i) f2[i] = r2[i];
        DOPT_FN(dopt_gemv)(DOPT_NOTRANS, meq, n, -1, e->A, meq, dx, 1, 1, f2, 1);
    }
    ey = f2 + meq;
    DOPT_FN(dopt__mpc_qp_solve_ipm)(qp, n, meq, f1, f2, c, ey);
    for (i = 0; i < n; ++i) dx[i] += c[i];
    for (i = 0; i < meq; ++i) dy[i] += ey[i];
}

/* One Newton direction for the complementarity right side rc (s o z - target):
 *   H dx + A^T dy = -rd - C^T tmp,  A dx = -re,  tmp = (z o ri - rc) / s,
 *   dz = w o (C dx) + tmp,  ds = -ri - C dx   (zero on the rows that are off). */
static void DOPT_FN(dopt__mpc_qp_direction)(const DOPT_FN(dopt_mpc_qp) *qp, const DOPT_FN(dopt__mpc_qp_el) *e,
                                            const DOPT_REAL *z, const DOPT_REAL *s, const DOPT_REAL *w,
                                            const DOPT_REAL *rc, DOPT_REAL *dx, DOPT_REAL *dy,
                                            DOPT_REAL *dz, DOPT_REAL *ds)
{
    int n = e->n, meq = e->meq, m = e->m, i;
    const DOPT_REAL *rd = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_RD), *re = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_RE);
    const DOPT_REAL *ri = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_RI);
    DOPT_REAL *tmp = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_TMP), *r1 = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_R1);
    DOPT_REAL *r2 = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_R2), *cdx = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_T);
    for (i = 0; i < m; ++i) tmp[i] = e->on[i] != 0 ? (z[i] * ri[i] - rc[i]) / s[i] : 0;
    DOPT_FN(dopt__mpc_qp_ctmul)(e, tmp, 0, r1);
    for (i = 0; i < n; ++i) r1[i] = -rd[i] - r1[i];
    for (i = 0; i < meq; ++i) r2[i] = -re[i];
    DOPT_FN(dopt__mpc_qp_solve_ipm)(qp, n, meq, r1, r2, dx, dy);
    DOPT_FN(dopt__mpc_qp_refine)(qp, e, w, r1, r2, dx, dy);
    DOPT_FN(dopt__mpc_qp_cmul)(e, dx, cdx);
    for (i = 0; i < m; ++i) {
        if (e->on[i] != 0) {
            dz[i] = w[i] * cdx[i] + tmp[i];
            ds[i] = -ri[i] - cdx[i];
        } else {
            dz[i] = 0;
            ds[i] = 0;
        }
    }
}

/* Largest a in (0, cap] with v + a dv >= 0 on the rows that are on. */
static DOPT_REAL DOPT_FN(dopt__mpc_qp_max_step)(int m, const DOPT_REAL *on, const DOPT_REAL *v, const DOPT_REAL *dv,
                                               DOPT_REAL cap)
{
    DOPT_REAL a = cap;
    int i;
    for (i = 0; i < m; ++i)
        if (on[i] != 0 && dv[i] < 0 && -v[i] / dv[i] < a) a = -v[i] / dv[i];
    return a;
}

/* The step of the interior point method along (ds, dz): 0.995 of the way to the boundary, at
 * most 1; *mu_new is the mean s o z there. */
static DOPT_REAL DOPT_FN(dopt__mpc_qp_step)(int m, const DOPT_REAL *on, const DOPT_REAL *s, const DOPT_REAL *z,
                                           const DOPT_REAL *ds, const DOPT_REAL *dz, DOPT_REAL *mu_new)
{
    DOPT_REAL a = DOPT_FN(dopt__mpc_qp_max_step)(m, on, s, ds, (DOPT_REAL)(1 / 0.995));
    DOPT_REAL az = DOPT_FN(dopt__mpc_qp_max_step)(m, on, z, dz, (DOPT_REAL)(1 / 0.995)), mu = 0;
    int i, c = 0;
    a = (az < a ? az : a) * (DOPT_REAL)0.995;
    for (i = 0; i < m; ++i)
        if (on[i] != 0) {
            mu += (s[i] + a * ds[i]) * (z[i] + a * dz[i]);
            ++c;
        }
    *mu_new = c ? mu / c : 0;
    return a;
}

/* Is (y, z) (z >= 0 on the rows that are on) a certificate of primal infeasibility,
 * A^T y + C^T z ~ 0 and b^T y + d^T z < 0, relative to its size? */
static int DOPT_FN(dopt__mpc_qp_primal_cert)(const DOPT_FN(dopt_mpc_qp) *qp, const DOPT_FN(dopt__mpc_qp_el) *e,
                                             const DOPT_REAL *y, const DOPT_REAL *z, DOPT_REAL eps)
{
    int n = e->n, meq = e->meq, m = e->m, i;
    DOPT_REAL *t = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_E4), nu, bd = 0;
    nu = DOPT_FN(dopt__mpc_qp_amax)(meq, y);
    for (i = 0; i < m; ++i) {
        if (e->on[i] == 0) continue;
        if (z[i] < 0) return 0;
        if (z[i] > nu) nu = z[i];
        bd += e->d[i] * z[i];
    }
    if (!(nu > 0)) return 0;
    for (i = 0; i < meq; ++i) bd += e->b[i] * y[i];
    if (!(bd < -eps * nu)) return 0;
    DOPT_FN(dopt__mpc_qp_ctmul)(e, z, 0, t);
    if (meq) DOPT_FN(dopt_gemv)(DOPT_TRANS, meq, n, 1, e->A, meq, y, 1, 1, t, 1);
    return DOPT_FN(dopt__mpc_qp_amax)(n, t) <= eps * nu;
}

/* Is dx a ray of unbounded descent, Q dx ~ 0, A dx ~ 0, C dx <= ~0, p^T dx < 0 (relative)? */
static int DOPT_FN(dopt__mpc_qp_dual_cert)(const DOPT_FN(dopt_mpc_qp) *qp, const DOPT_FN(dopt__mpc_qp_el) *e,
                                           const DOPT_REAL *dx, DOPT_REAL eps)
{
    int n = e->n, meq = e->meq, m = e->m, i;
    DOPT_REAL *t = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_E4), nu = DOPT_FN(dopt__mpc_qp_amax)(n, dx), pd = 0;
    if (!(nu > 0)) return 0;
    for (i = 0; i < n; ++i) pd += e->p[i] * dx[i];
    if (!(pd < -eps * nu)) return 0;
    DOPT_FN(dopt__mpc_qp_symv)(n, e->Q, dx, t);
    if (DOPT_FN(dopt__mpc_qp_amax)(n, t) > eps * nu * e->qscale) return 0;
    if (meq) {
        DOPT_FN(dopt_gemv)(DOPT_NOTRANS, meq, n, 1, e->A, meq, dx, 1, 0, t, 1);
        if (DOPT_FN(dopt__mpc_qp_amax)(meq, t) > eps * nu) return 0;
    }
    DOPT_FN(dopt__mpc_qp_cmul)(e, dx, t);
    for (i = 0; i < m; ++i)
        if (e->on[i] != 0 && t[i] > eps * nu) return 0;
    return 1;
}

/* The starting point: x from the regularized problem with w = 1 on every row that is on
 * (min 1/2 x^T Q x + p^T x + 1/2 |C x - d|^2 s.t. A x = b), or the caller's x (warm); then
 * s = d - C x and z shifted to be positive as in Vandenberghe's CVXOPT notes. */
static int DOPT_FN(dopt__mpc_qp_start)(const DOPT_FN(dopt_mpc_qp) *qp, const DOPT_FN(dopt__mpc_qp_el) *e,
                                       int warm, int has_duals, DOPT_REAL *x, DOPT_REAL *y,
                                       DOPT_REAL *z, DOPT_REAL *s)
{
    int n = e->n, meq = e->meq, m = e->m, i;
    DOPT_REAL *w = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_W), *r1 = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_R1);
    DOPT_REAL *r2 = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_R2), *cx = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_CX);
    DOPT_REAL *tmp = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_TMP);
    DOPT_REAL shift_s = 0, shift_z = 0;
    if (!warm) {
        for (i = 0; i < m; ++i) {
            w[i] = e->on[i];
            tmp[i] = e->on[i] != 0 ? e->d[i] : 0;
        }
        if (DOPT_FN(dopt__mpc_qp_factor_ipm)(qp, e, w)) return 1;
        DOPT_FN(dopt__mpc_qp_ctmul)(e, tmp, 0, r1);
        for (i = 0; i < n; ++i) r1[i] -= e->p[i];
        for (i = 0; i < meq; ++i) r2[i] = e->b[i];
        DOPT_FN(dopt__mpc_qp_solve_ipm)(qp, n, meq, r1, r2, x, y);
    } else if (!has_duals) {
        for (i = 0; i < meq; ++i) y[i] = 0;
    }
    DOPT_FN(dopt__mpc_qp_cmul)(e, x, cx);
    for (i = 0; i < m; ++i) {
        if (e->on[i] == 0) {
            s[i] = 1;
            z[i] = 0;
            continue;
        }
        s[i] = e->d[i] - cx[i];
        if (-s[i] > shift_s) shift_s = -s[i];
    }
    if (warm) {
        /* keep a positive margin: the interior point method needs s, z > 0 well inside */
        for (i = 0; i < m; ++i)
            if (e->on[i] != 0) {
                if (s[i] < (DOPT_REAL)1e-2) s[i] = (DOPT_REAL)1e-2;
                if (!has_duals || z[i] < (DOPT_REAL)1e-2) z[i] = has_duals ? (DOPT_REAL)1e-2 : 1;
            }
        return 0;
    }
    for (i = 0; i < m; ++i)
        if (e->on[i] != 0) {
            z[i] = -s[i];
            if (-z[i] > shift_z) shift_z = -z[i];
        }
    /* CVXOPT: s += (1 + max(0, -min s)), likewise z, when the minimum is not positive */
    for (i = 0; i < m; ++i)
        if (e->on[i] != 0) {
            s[i] += 1 + shift_s;
            z[i] += 1 + shift_z;
        }
    return 0;
}

/* Count of constraints with slack and multiplier both <= dtol (weakly active). */
static int DOPT_FN(dopt__mpc_qp_weak)(const DOPT_FN(dopt__mpc_qp_el) *e, const DOPT_REAL *z, const DOPT_REAL *s,
                                      DOPT_REAL dtol)
{
    int i, c = 0;
    for (i = 0; i < e->m; ++i) c += e->on[i] != 0 && s[i] <= dtol && z[i] <= dtol;
    return c;
}

/* ---- the backward pass ------------------------------------------------------------------------ */

/* Factor the KKT matrix of the active set of a solved element, into its slot:
 *   free variables F (no bound active), active G rows (slack < multiplier, not weakly active),
 *   L L^T = Q_FF + rho I,  Y = L^{-1} E_F^T with E = [A; G_act],  Ls Ls^T = Y^T Y + d I.
 * Returns 0, or 1 when the regularization cannot make Q_FF + rho I positive definite. */
static int DOPT_FN(dopt__mpc_qp_factor_bwd)(const DOPT_FN(dopt__mpc_qp_el) *e, DOPT_REAL dtol, int weak_active,
                                            DOPT_FN(dopt__mpc_qp_slot) *sl)
{
    int n = e->n, meq = e->meq, mi = e->mi, nf = 0, na = 0, me, i, j, r, col;
    const DOPT_REAL *z = sl->z, *s = sl->s;
    DOPT_REAL rho = (DOPT_IS_FLOAT ? (DOPT_REAL)1e-6 : (DOPT_REAL)1e-11) * e->qscale, dmax = 0, delta;
#define DOPT__QP_ACTIVE(i) (e->on[i] != 0 && ((s[i] <= dtol && z[i] <= dtol) ? weak_active : z[i] > s[i]))
    for (i = 0; i < mi; ++i)
        if (DOPT__QP_ACTIVE(i)) sl->act[na++] = i;
    for (j = 0; j < n; ++j) {
        int iu = mi + j, il = mi + n + j, up = 0, lo = 0;
        if (e->box) {
            up = DOPT__QP_ACTIVE(iu);
            lo = DOPT__QP_ACTIVE(il);
        }
        sl->state[j] = up && (!lo || z[iu] >= z[il]) ? 1 : lo ? -1 : 0;
        if (sl->state[j] == 0) sl->fre[nf++] = j;
    }
#undef DOPT__QP_ACTIVE
    me = meq + na;
    sl->head[2] = nf;
    sl->head[3] = na;
    for (;;) {
        for (j = 0; j < nf; ++j) {
            for (i = j; i < nf; ++i) sl->L[i + (size_t)j * nf] = e->Q[sl->fre[i] + (size_t)sl->fre[j] * n];
            sl->L[j + (size_t)j * nf] += rho;
        }
        if (nf == 0 || DOPT_FN(dopt_potrf)(nf, sl->L, nf, &col) == DOPT_OK) break;
        rho *= 1000;
        if (rho > (DOPT_REAL)1e-2 * e->qscale) return 1;
    }
    if (!me) return 0;
    for (r = 0; r < me; ++r)
        for (j = 0; j < nf; ++j)
            sl->Y[j + (size_t)r * nf] = r < meq ? e->A[r + (size_t)sl->fre[j] * meq]
                                                : e->G[sl->act[r - meq] + (size_t)sl->fre[j] * mi];
    if (nf) {
        DOPT_FN(dopt_trsm)(DOPT_LEFT, DOPT_LOWER, DOPT_NOTRANS, DOPT_NONUNIT, nf, me, 1, sl->L, nf, sl->Y, nf);
        DOPT_FN(dopt_syrk)(DOPT_LOWER, DOPT_TRANS, me, nf, 1, sl->Y, nf, 0, sl->S, me);
    } else {
        for (j = 0; j < me; ++j) for (i = j; i < me; ++i) sl->S[i + (size_t)j * me] = 0;
    }
    for (i = 0; i < me; ++i) dmax = sl->S[i + (size_t)i * me] > dmax ? sl->S[i + (size_t)i * me] : dmax;
    delta = (DOPT_IS_FLOAT ? (DOPT_REAL)1e-6 : (DOPT_REAL)1e-13) * (1 + dmax);
    for (;;) {
        for (i = 0; i < me; ++i) sl->S[i + (size_t)i * me] += delta;
        if (DOPT_FN(dopt_potrf)(me, sl->S, me, &col) == DOPT_OK) return 0;
        if (delta > (DOPT_REAL)1e-2 * (1 + dmax)) return 1;
        if (nf) DOPT_FN(dopt_syrk)(DOPT_LOWER, DOPT_TRANS, me, nf, 1, sl->Y, nf, 0, sl->S, me);
        else for (j = 0; j < me; ++j) for (i = j; i < me; ++i) sl->S[i + (size_t)j * me] = 0;
        delta *= 1000;
    }
}

/* Solve the active-set KKT system of a solved element with its factors,
 *     [Q_FF  E_F^T] [v_F]   [r1_F]
 *     [E_F   0    ] [lam] = [r2  ]      E = [A; G_active],
 * with two steps of iterative refinement against the unregularized matrix.  r1 has n entries
 * (only the free ones are read), r2 meq + na.  Out: v (n, zero on the variables at a bound) and
 * lam (equality rows, then the active G rows).  The backward's adjoint (r1 = dL/dx, r2 = 0) and
 * the forward's polishing step both use it. */
static void DOPT_FN(dopt__mpc_qp_active_solve)(const DOPT_FN(dopt_mpc_qp) *qp, const DOPT_FN(dopt__mpc_qp_el) *e,
                                               const DOPT_FN(dopt__mpc_qp_slot) *sl, const DOPT_REAL *r1,
                                               const DOPT_REAL *r2, DOPT_REAL *v, DOPT_REAL *lam)
{
    int n = e->n, meq = e->meq, mi = e->mi, nf = sl->head[2], na = sl->head[3], me = meq + na, i, r, step;
    DOPT_REAL *f1 = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_E1), *f2 = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_E2);
    DOPT_REAL *cf = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_E3), *cl = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_DZA);
    DOPT_REAL *t = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_T), *u = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_TMP);
    for (i = 0; i < n; ++i) v[i] = 0;
    for (r = 0; r < me; ++r) lam[r] = 0;
    for (i = 0; i < nf; ++i) f1[i] = r1[sl->fre[i]];
    for (r = 0; r < me; ++r) f2[r] = r2[r];
    for (step = 0; step < 3; ++step) {
        DOPT_FN(dopt__mpc_qp_schur_solve)(nf, me, sl->L, sl->Y, sl->S, f1, f2, cf, cl);
        for (i = 0; i < nf; ++i) v[sl->fre[i]] += cf[i];
        for (r = 0; r < me; ++r) lam[r] += cl[r];
        if (step == 2) break;
        /* residual: f1 = r1_F - (Q v + A^T lam_A + G_act^T lam_G)_F,  f2 = r2 - E v */
        DOPT_FN(dopt__mpc_qp_symv)(n, e->Q, v, t);
        if (meq) DOPT_FN(dopt_gemv)(DOPT_TRANS, meq, n, 1, e->A, meq, lam, 1, 1, t, 1);
        for (r = 0; r < na; ++r) DOPT_FN(dopt_axpy)(n, lam[meq + r], e->G + sl->act[r], mi, t, 1);
        for (i = 0; i < nf; ++i) f1[i] = r1[sl->fre[i]] - t[sl->fre[i]];
        if (meq) DOPT_FN(dopt_gemv)(DOPT_NOTRANS, meq, n, 1, e->A, meq, v, 1, 0, u, 1);
        for (r = 0; r < meq; ++r) f2[r] = r2[r] - u[r];
        for (r = 0; r < na; ++r) f2[meq + r] = r2[meq + r] - DOPT_FN(dopt_dot)(n, e->G + sl->act[r], mi, v, 1);
    }
}

/* Polish a solved element: x from the active-set KKT system (bounds held at l or u, active G
 * rows as equalities), the multipliers from its solution; kept when its KKT measures are
 * within the tolerance (x then has the accuracy of a direct solve, not of the interior point
 * iterate).  The factors stay for the backward either way.  Returns 1 when kept. */
static int DOPT_FN(dopt__mpc_qp_polish)(const DOPT_FN(dopt_mpc_qp) *qp, const DOPT_FN(dopt__mpc_qp_el) *e,
                                        DOPT_FN(dopt__mpc_qp_slot) *sl, DOPT_REAL tol, dopt_mpc_qp_report *rep)
{
    int n = e->n, meq = e->meq, mi = e->mi, m = e->m, na = sl->head[3], i, j, r;
    DOPT_REAL *xb = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_DX), *r1 = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_R1);
    DOPT_REAL *r2 = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_R2), *xn = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_DY);
    DOPT_REAL *lam = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_DS), *zn = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_DZ);
    DOPT_REAL *sn = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_DSA), *t = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_W);
    DOPT_REAL *yn = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_RC), *cx = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_CX);
    DOPT_REAL pres, dres, comp;
    for (j = 0; j < n; ++j) xb[j] = sl->state[j] > 0 ? e->u[j] : sl->state[j] < 0 ? e->l[j] : 0;
    DOPT_FN(dopt__mpc_qp_symv)(n, e->Q, xb, t);
    for (j = 0; j < n; ++j) r1[j] = -e->p[j] - t[j];
    if (meq) {
        for (r = 0; r < meq; ++r) r2[r] = e->b[r];
        DOPT_FN(dopt_gemv)(DOPT_NOTRANS, meq, n, -1, e->A, meq, xb, 1, 1, r2, 1);
    }
    for (r = 0; r < na; ++r) r2[meq + r] = e->h[sl->act[r]] - DOPT_FN(dopt_dot)(n, e->G + sl->act[r], mi, xb, 1);
    DOPT_FN(dopt__mpc_qp_active_solve)(qp, e, sl, r1, r2, xn, lam);
    for (j = 0; j < n; ++j) xn[j] += xb[j];
    for (r = 0; r < meq; ++r) yn[r] = lam[r];
    for (i = 0; i < m; ++i) zn[i] = 0;
    for (r = 0; r < na; ++r) zn[sl->act[r]] = lam[meq + r];
    /* bound multipliers from stationarity on the fixed variables: zu - zl = -(Q x + p + A^T y + G^T z) */
    DOPT_FN(dopt__mpc_qp_symv)(n, e->Q, xn, t);
    for (j = 0; j < n; ++j) t[j] += e->p[j];
    if (meq) DOPT_FN(dopt_gemv)(DOPT_TRANS, meq, n, 1, e->A, meq, yn, 1, 1, t, 1);
    if (mi) DOPT_FN(dopt_gemv)(DOPT_TRANS, mi, n, 1, e->G, mi, zn, 1, 1, t, 1);
    for (j = 0; j < n; ++j) {
        if (sl->state[j] > 0) zn[mi + j] = -t[j];
        if (sl->state[j] < 0) zn[mi + n + j] = t[j];
    }
    for (i = 0; i < m; ++i)
        if (e->on[i] != 0 && zn[i] < 0) {
            if (zn[i] < -tol) {
                return 0; /* wrong active set: keep the interior point solution */
            }
            zn[i] = 0;
        }
    DOPT_FN(dopt__mpc_qp_cmul)(e, xn, cx);
    for (i = 0; i < m; ++i) sn[i] = e->on[i] != 0 ? (e->d[i] - cx[i] > 0 ? e->d[i] - cx[i] : 0) : 1;
    DOPT_FN(dopt__mpc_qp_residuals)(qp, e, xn, yn, zn, sn, &pres, &dres, &comp);
    if (!(pres <= tol && dres <= tol && comp <= tol)) return 0;
    for (j = 0; j < n; ++j) sl->x[j] = xn[j];
    for (r = 0; r < meq; ++r) sl->y[r] = yn[r];
    for (i = 0; i < m; ++i) {
        sl->z[i] = zn[i];
        sl->s[i] = sn[i];
    }
    if (rep) {
        rep->primal_residual = pres;
        rep->dual_residual = dres;
        rep->complementarity = comp;
    }
    return 1;
}

/* The polishing step with its two readings of the weakly active constraints (inactive first;
 * held active when the solution needs them).  Leaves the active-set factors for the backward
 * (head[1]); returns 1 when x and the multipliers were replaced. */
static int DOPT_FN(dopt__mpc_qp_try_polish)(const DOPT_FN(dopt_mpc_qp) *qp, const DOPT_FN(dopt__mpc_qp_el) *e,
                                            const dopt_mpc_qp_options *o, DOPT_FN(dopt__mpc_qp_slot) *sl,
                                            dopt_mpc_qp_report *rep)
{
    /* at the interior point's mu a weakly active pair has slack and multiplier near sqrt(mu) */
    DOPT_REAL dtol = (DOPT_REAL)o->degenerate_tol, mu = 0;
    int done = 0, i, c = 0;
    for (i = 0; i < e->m; ++i)
        if (e->on[i] != 0) {
            mu += sl->s[i] * sl->z[i];
            ++c;
        }
    mu = c ? mu / c : 0;
    if (10 * DOPT_M(sqrt)(mu) > dtol) dtol = 10 * DOPT_M(sqrt)(mu);
    sl->head[1] = 0;
    if (DOPT_FN(dopt__mpc_qp_factor_bwd)(e, dtol, 0, sl) == 0) {
        sl->head[1] = 1;
        done = DOPT_FN(dopt__mpc_qp_polish)(qp, e, sl, (DOPT_REAL)o->tol, rep);
    }
    if (!done && DOPT_FN(dopt__mpc_qp_weak)(e, sl->z, sl->s, dtol) > 0 &&
        DOPT_FN(dopt__mpc_qp_factor_bwd)(e, dtol, 1, sl) == 0) {
        done = DOPT_FN(dopt__mpc_qp_polish)(qp, e, sl, (DOPT_REAL)o->tol, rep);
        sl->head[1] = done;
    }
    return done;
}

/* Solve element e into slot sl (x, y, z, s); returns the result and fills the report. */
static dopt_mpc_qp_result DOPT_FN(dopt__mpc_qp_ipm)(const DOPT_FN(dopt_mpc_qp) *qp, const DOPT_FN(dopt__mpc_qp_el) *e,
                                                    const dopt_mpc_qp_options *o, int warm, int has_duals,
                                                    DOPT_FN(dopt__mpc_qp_slot) *sl, dopt_mpc_qp_report *rep)
{
    int n = e->n, meq = e->meq, m = e->m, i, it, stalls = 0, mon = 0, early = 0;
    DOPT_REAL *x = sl->x, *y = sl->y, *z = sl->z, *s = sl->s;
    DOPT_REAL *w = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_W), *rc = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_RC);
    DOPT_REAL *dx = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_DX), *dy = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_DY);
    DOPT_REAL *dz = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_DZ), *ds = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_DS);
    DOPT_REAL *dza = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_DZA), *dsa = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_DSA);
    DOPT_REAL tol = (DOPT_REAL)o->tol, pres = 0, dres = 0, comp = 0;
    DOPT_REAL eps_inf = DOPT_IS_FLOAT ? (DOPT_REAL)1e-5 : (DOPT_REAL)1e-9;
    DOPT_REAL wmax = DOPT_IS_FLOAT ? (DOPT_REAL)(1 / (256 * DOPT_EPS)) * e->qscale : (DOPT_REAL)1e300;
    DOPT_REAL mu0 = 0, r0 = 0;
    dopt_mpc_qp_result res = DOPT_MPC_QP_MAX_ITER;
    for (i = 0; i < m; ++i) mon += e->on[i] != 0;
    if (DOPT_FN(dopt__mpc_qp_start)(qp, e, warm, has_duals, x, y, z, s)) return DOPT_MPC_QP_NUMERICAL;
    for (it = 0;; ++it) {
        DOPT_REAL mu = 0, mu_aff = 0, mu_new = 0, a_aff, a, sigma = 0, mu_floor;
        DOPT_FN(dopt__mpc_qp_residuals)(qp, e, x, y, z, s, &pres, &dres, &comp);
        if (!(pres == pres && dres == dres && comp == comp)) { res = DOPT_MPC_QP_NUMERICAL; break; }
        if (pres <= tol && dres <= tol && comp <= tol) { res = DOPT_MPC_QP_SOLVED; break; }
        if (!o->no_polish && early < 2 && pres <= 1000 * tol && dres <= 1000 * tol && comp <= 1000 * tol) {
            /* close enough to know the active set: a polishing step may finish now */
            ++early;
            if (DOPT_FN(dopt__mpc_qp_try_polish)(qp, e, o, sl, rep)) {
                rep->polished = 1;
                res = DOPT_MPC_QP_SOLVED;
                break;
            }
            DOPT_FN(dopt__mpc_qp_residuals)(qp, e, x, y, z, s, &pres, &dres, &comp);
        }
        if (it >= o->max_iter || stalls >= 3) {
            /* no progress: on an infeasible problem the steps collapse while the multipliers
             * grow along a Farkas direction; accept that direction at a looser tolerance here */
            if (pres > tol && DOPT_FN(dopt__mpc_qp_primal_cert)(qp, e, y, z, (DOPT_REAL)1e-2)) res = DOPT_MPC_QP_PRIMAL_INFEASIBLE;
            break;
        }
        if (it > 0 && DOPT_FN(dopt__mpc_qp_primal_cert)(qp, e, y, z, eps_inf)) { res = DOPT_MPC_QP_PRIMAL_INFEASIBLE; break; }
        for (i = 0; i < m; ++i) {
            w[i] = e->on[i] != 0 ? z[i] / s[i] : 0;
            if (w[i] > wmax) w[i] = wmax; /* float: keep H factorable (the residuals stay exact) */
            mu += e->on[i] != 0 ? s[i] * z[i] : 0;
        }
        mu = mon ? mu / mon : 0;
        {
            /* infeasibility of the iterate (ri, re), kept proportional to mu (Kojima, Megiddo and
             * Mizuno's neighbourhood): mu may not fall much faster than the residual, so on an
             * infeasible problem the steps stay long and the multipliers grow into a certificate */
            DOPT_REAL rinf = DOPT_FN(dopt__mpc_qp_amax)(m, DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_RI));
            DOPT_REAL reinf = DOPT_FN(dopt__mpc_qp_amax)(meq, DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_RE));
            if (reinf > rinf) rinf = reinf;
            if (it == 0) { mu0 = mu; r0 = rinf; }
            mu_floor = r0 > 0 ? (DOPT_REAL)0.1 * mu0 * rinf / r0 : 0;
        }
        if (DOPT_FN(dopt__mpc_qp_factor_ipm)(qp, e, w)) { res = DOPT_MPC_QP_NUMERICAL; break; }
        /* predictor (affine scaling): target s o z = 0 */
        for (i = 0; i < m; ++i) rc[i] = e->on[i] != 0 ? s[i] * z[i] : 0;
        DOPT_FN(dopt__mpc_qp_direction)(qp, e, z, s, w, rc, dx, dy, dza, dsa);
        if (it > 0 && (DOPT_FN(dopt__mpc_qp_dual_cert)(qp, e, dx, eps_inf) ||
                       DOPT_FN(dopt__mpc_qp_dual_cert)(qp, e, x, eps_inf))) {
            res = DOPT_MPC_QP_DUAL_INFEASIBLE;
            break;
        }
        if (mon) {
            a_aff = DOPT_FN(dopt__mpc_qp_max_step)(m, e->on, s, dsa, 1);
            a = DOPT_FN(dopt__mpc_qp_max_step)(m, e->on, z, dza, 1);
            if (a < a_aff) a_aff = a;
            for (i = 0; i < m; ++i)
                if (e->on[i] != 0) mu_aff += (s[i] + a_aff * dsa[i]) * (z[i] + a_aff * dza[i]);
            mu_aff /= mon;
            sigma = mu > 0 ? mu_aff / mu : 0;
            sigma = sigma * sigma * sigma;
            if (sigma > 1) sigma = 1;
            /* complementarity far below the tolerance only makes H worse conditioned */
            if (mu > (DOPT_REAL)0.01 * tol && sigma * mu < (DOPT_REAL)0.01 * tol) sigma = (DOPT_REAL)0.01 * tol / mu;
            if (mu > 0 && sigma * mu < mu_floor) sigma = mu_floor / mu < 1 ? mu_floor / mu : 1;
            /* corrector: target s o z = sigma mu - dsa o dza */
            for (i = 0; i < m; ++i) rc[i] = e->on[i] != 0 ? s[i] * z[i] + dsa[i] * dza[i] - sigma * mu : 0;
            DOPT_FN(dopt__mpc_qp_direction)(qp, e, z, s, w, rc, dx, dy, dz, ds);
            a = DOPT_FN(dopt__mpc_qp_step)(m, e->on, s, z, ds, dz, &mu_new);
            if (a < (DOPT_REAL)0.1 || mu_new > mu) {
                /* the second-order term misled the step (Mehrotra's method can cycle): take the
                 * centred direction without it this time */
                if (sigma < (DOPT_REAL)0.1) sigma = (DOPT_REAL)0.1;
                for (i = 0; i < m; ++i) rc[i] = e->on[i] != 0 ? s[i] * z[i] - sigma * mu : 0;
                DOPT_FN(dopt__mpc_qp_direction)(qp, e, z, s, w, rc, dx, dy, dz, ds);
                a = DOPT_FN(dopt__mpc_qp_step)(m, e->on, s, z, ds, dz, &mu_new);
            }
        } else {
            a = 1;
        }
        stalls = a < (DOPT_REAL)1e-8 ? stalls + 1 : 0;
        for (i = 0; i < n; ++i) x[i] += a * dx[i];
        for (i = 0; i < meq; ++i) y[i] += a * dy[i];
        for (i = 0; i < m; ++i)
            if (e->on[i] != 0) {
                z[i] += a * dz[i];
                s[i] += a * ds[i];
            }
    }
    if (rep) {
        DOPT_REAL obj = 0;
        DOPT_REAL *t = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_T);
        DOPT_FN(dopt__mpc_qp_symv)(n, e->Q, x, t);
        for (i = 0; i < n; ++i) obj += x[i] * ((DOPT_REAL)0.5 * t[i] + e->p[i]);
        rep->iterations = it;
        if (!rep->polished) {
            rep->primal_residual = pres;
            rep->dual_residual = dres;
            rep->complementarity = comp;
        }
        rep->objective = obj;
    }
    return res;
}

/* ---- the dual active-set method (Goldfarb and Idnani 1983) ----------------------------------- */

/* The method works on constraints n_k^T x >= b_k.  A working-set code k names one:
 *   0 <= k < meq     equality row k of A:  n = a_k,  b = b_k  (-1 - k: the same row negated)
 *   k >= meq         row i = k - meq of C x <= d:  n = -c_i,  b = -d_i
 * Its factors: J (n x n) with J^T Q J = I and J^T N = [R; 0], N the normals of the q codes of the
 * working set as columns, R (q x q, ld n) upper triangular; J starts as L^{-T} (Q = L L^T). */

/* dv = J^T n_code (a row of J for a bound; an equality row is gathered into zd first, for the
 * unit-stride dots). */
static void DOPT_FN(dopt__mpc_qp_as_jtn)(const DOPT_FN(dopt__mpc_qp_el) *e, const DOPT_REAL *J, int code,
                                         DOPT_REAL *dv, DOPT_REAL *zd)
{
    int n = e->n, i, k;
    if (code < e->meq) {
        k = code < 0 ? -1 - code : code;
        for (i = 0; i < n; ++i) zd[i] = code < 0 ? -e->A[k + (size_t)i * e->meq] : e->A[k + (size_t)i * e->meq];
        DOPT_FN(dopt__mpc_qp_gemv_t)(n, n, J, n, zd, dv);
        return;
    }
    i = code - e->meq;
    if (i < e->mi) {
        DOPT_FN(dopt__mpc_qp_gemv_t)(n, n, J, n, e->Gt + (size_t)i * n, dv);
        for (k = 0; k < n; ++k) dv[k] = -dv[k];
    } else if (i < e->mi + n) {
        for (k = 0; k < n; ++k) dv[k] = -J[(i - e->mi) + (size_t)k * n];
    } else {
        for (k = 0; k < n; ++k) dv[k] = J[(i - e->mi - n) + (size_t)k * n];
    }
}

/* n_code^T x - b_code: negative when the constraint is violated. */
static DOPT_REAL DOPT_FN(dopt__mpc_qp_as_slack)(const DOPT_FN(dopt__mpc_qp_el) *e, int code, const DOPT_REAL *x)
{
    int n = e->n, i;
    if (code < e->meq) {
        int k = code < 0 ? -1 - code : code;
        DOPT_REAL v = DOPT_FN(dopt_dot)(n, e->A + k, e->meq, x, 1) - e->b[k];
        return code < 0 ? -v : v;
    }
    i = code - e->meq;
    if (i < e->mi) return e->h[i] - DOPT_FN(dopt_dot)(n, e->Gt + (size_t)i * n, 1, x, 1);
    if (i < e->mi + n) return e->u[i - e->mi] - x[i - e->mi];
    return x[i - e->mi - n] - e->l[i - e->mi - n];
}

/* The step of constraint `code` against a working set of q: dv = J^T n (given when have_dv), the primal direction
 * zd = J2 dv2 (J2 = columns q.. of J), the dual one rv = R^{-1} dv1, *zn = zd^T n = |dv2|^2 and
 * *dd = |dv|^2 (zn <= eps dd: n depends on the working set's normals). */
static void DOPT_FN(dopt__mpc_qp_as_dir)(const DOPT_FN(dopt__mpc_qp_el) *e, const DOPT_REAL *J, const DOPT_REAL *R,
                                         int q, int code, int have_dv, DOPT_REAL *dv, DOPT_REAL *zd,
                                         DOPT_REAL *rv, DOPT_REAL *zn, DOPT_REAL *dd)
{
    int n = e->n, i;
    if (!have_dv) DOPT_FN(dopt__mpc_qp_as_jtn)(e, J, code, dv, zd);
    DOPT_FN(dopt__mpc_qp_gemv_n)(n, n - q, J + (size_t)q * n, n, dv + q, zd);
    for (i = 0; i < q; ++i) rv[i] = dv[i];
    DOPT_FN(dopt__mpc_qp_utrsv)(q, R, n, rv);
    *zn = q < n ? DOPT_FN(dopt_dot)(n - q, dv + q, 1, dv + q, 1) : 0;
    *dd = *zn + (q ? DOPT_FN(dopt_dot)(q, dv, 1, dv, 1) : 0);
}

/* Remove position kk from a working set of q: R loses column kk and rotations of rows kk..q-1
 * (and of J's columns alike) restore its triangle. */
static void DOPT_FN(dopt__mpc_qp_as_drop)(int n, int q, DOPT_REAL *J, DOPT_REAL *R, int kk)
{
    int j, l, i;
    for (j = kk; j < q - 1; ++j)
        for (i = 0; i <= j + 1; ++i) R[i + (size_t)j * n] = R[i + (size_t)(j + 1) * n];
    for (j = kk; j < q - 1; ++j) {
        DOPT_REAL a = R[j + (size_t)j * n], b = R[j + 1 + (size_t)j * n], h, c, s;
        if (b == 0) continue;
        h = DOPT_M(sqrt)(a * a + b * b);
        c = a / h;
        s = b / h;
        R[j + (size_t)j * n] = h;
        R[j + 1 + (size_t)j * n] = 0;
        for (l = j + 1; l < q - 1; ++l) {
            DOPT_REAL t = R[j + (size_t)l * n];
            R[j + (size_t)l * n] = c * t + s * R[j + 1 + (size_t)l * n];
            R[j + 1 + (size_t)l * n] = c * R[j + 1 + (size_t)l * n] - s * t;
        }
        DOPT_FN(dopt__mpc_qp_as_rot)(n, J, j, j + 1, c, s);
    }
}

/* Q = L L^T (L in R's storage), then J = L^{-T} and the unconstrained minimizer x = -J J^T p.
 * Returns 1 when Q is not safely positive definite (a pivot below 1e-10 max(1, max Q_jj),
 * 1e-5 in float): the interior point method handles it. */
static int DOPT_FN(dopt__mpc_qp_as_init)(const DOPT_FN(dopt__mpc_qp_el) *e, DOPT_REAL *J, DOPT_REAL *R,
                                         DOPT_REAL *x, DOPT_REAL *t)
{
    int n = e->n, i, j, col;
    DOPT_REAL piv = (DOPT_IS_FLOAT ? (DOPT_REAL)1e-5 : (DOPT_REAL)1e-10) * e->qscale;
    for (j = 0; j < n; ++j)
        for (i = j; i < n; ++i) R[i + (size_t)j * n] = e->Q[i + (size_t)j * n];
    if (DOPT_FN(dopt_potrf)(n, R, n, &col) != DOPT_OK) return 1;
    for (j = 0; j < n; ++j)
        if (!(R[j + (size_t)j * n] * R[j + (size_t)j * n] > piv)) return 1;
    DOPT_FN(dopt__mpc_qp_jinv)(n, R, J, t);
    DOPT_FN(dopt__mpc_qp_gemv_t)(n, n, J, n, e->p, t);
    DOPT_FN(dopt__mpc_qp_gemv_n)(n, n, J, n, t, x);
    for (i = 0; i < n; ++i) x[i] = -x[i];
    return 0;
}

/* The working set's multipliers u as y, z, the slacks s, and the backward's view of the active
 * set (act, state, head[2], head[3]) into the slot; head[6] = q. */
static void DOPT_FN(dopt__mpc_qp_as_store)(const DOPT_FN(dopt__mpc_qp_el) *e, int q, const DOPT_REAL *u,
                                           const DOPT_REAL *cx, DOPT_FN(dopt__mpc_qp_slot) *sl)
{
    int n = e->n, meq = e->meq, mi = e->mi, i, j, na = 0, nf = 0;
    for (i = 0; i < meq; ++i) sl->y[i] = 0;
    for (i = 0; i < e->m; ++i) {
        DOPT_REAL sk = e->d[i] - cx[i];
        sl->z[i] = 0;
        sl->s[i] = e->on[i] != 0 ? (sk > 0 ? sk : 0) : 1;
    }
    for (j = 0; j < n; ++j) sl->state[j] = 0;
    for (j = 0; j < q; ++j) {
        int c = sl->aset[j];
        if (c < meq) {
            sl->y[c < 0 ? -1 - c : c] = c < 0 ? u[j] : -u[j];
            continue;
        }
        i = c - meq;
        sl->z[i] = u[j] > 0 ? u[j] : 0;
        if (i < mi) sl->act[na++] = i;
        else if (i < mi + n) sl->state[i - mi] = 1;
        else sl->state[i - mi - n] = -1;
    }
    for (j = 0; j < n; ++j)
        if (sl->state[j] == 0) sl->fre[nf++] = j;
    sl->head[2] = nf;
    sl->head[3] = na;
    sl->head[6] = q;
}

/* Add the equality rows to the working set (before any inequality: no partial steps).  A row
 * that depends on the earlier ones is skipped when consistent (|residual| <= tol).  Returns 0,
 * or 1 when they are inconsistent (primal infeasible). */
static int DOPT_FN(dopt__mpc_qp_as_equalities)(const DOPT_FN(dopt__mpc_qp_el) *e, DOPT_REAL tol, DOPT_REAL *J,
                                               DOPT_REAL *R, DOPT_REAL *x, DOPT_REAL *u, DOPT_REAL *dv,
                                               DOPT_REAL *zd, DOPT_REAL *rv, DOPT_REAL *y, int *aset, int *q)
{
    int n = e->n, k, j;
    DOPT_REAL eps = 100 * DOPT_EPS;
    for (k = 0; k < e->meq; ++k) {
        DOPT_REAL s = DOPT_FN(dopt__mpc_qp_as_slack)(e, k, x), zn, dd, t;
        int code = s > 0 ? -1 - k : k;
        DOPT_FN(dopt__mpc_qp_as_dir)(e, J, R, *q, code, 0, dv, zd, rv, &zn, &dd);
        if (!(zn > eps * dd)) {
            if (DOPT_M(fabs)(s) <= tol) continue;
            return 1;
        }
        t = DOPT_M(fabs)(s) / zn;
        for (j = 0; j < n; ++j) x[j] += t * zd[j];
        for (j = 0; j < *q; ++j) u[j] -= t * rv[j];
        u[*q] = t;
        DOPT_FN(dopt__mpc_qp_as_add)(n, *q, J, R, dv, zd, y, NULL, NULL);
        aset[(*q)++] = code;
    }
    return 0;
}

/* The choice of the constraint to add: the most violated in the scaled measure
 * (c_i^T x - d_i - tol_add) sc_i with sc_i = 1 / |c_i| (DAQP normalizes its constraint rows too:
 * a bound and a G row of norm sqrt(n) violated alike compete alike; on bench/qp.sh's QPs with
 * bounds this takes 18-27% fewer steps than the raw violation).  Fills the row-major copy Gt of
 * G, sc and the thresholds et_i = (d_i + tol_add) sc_i (the largest real for rows that are off),
 * so that row i is a candidate when c_i^T x sc_i - et_i > 0. */
static void DOPT_FN(dopt__mpc_qp_as_scales)(const DOPT_FN(dopt__mpc_qp_el) *e, DOPT_REAL tol_add, DOPT_REAL *Gt,
                                            DOPT_REAL *sc, DOPT_REAL *et)
{
    int n = e->n, i, j;
    DOPT_REAL big = DOPT_IS_FLOAT ? FLT_MAX : DBL_MAX;
    for (i = 0; i < e->mi; ++i) {
        DOPT_REAL nn = 0, *gi = Gt + (size_t)i * n;
        for (j = 0; j < n; ++j) gi[j] = e->G[i + (size_t)j * e->mi];
        for (j = 0; j < n; ++j) nn += gi[j] * gi[j];
        sc[i] = nn > 0 ? 1 / DOPT_M(sqrt)(nn) : 1;
    }
    for (i = e->mi; i < e->m; ++i) sc[i] = 1;
    for (i = 0; i < e->m; ++i) et[i] = e->on[i] != 0 ? (e->d[i] + tol_add) * sc[i] : big;
}

/* The row of largest cx_i sc_i - et_i when it is positive, else -1 (rows in the working set
 * have et_i = the largest real).  One multiply-subtract and a rarely taken branch per row. */
static int DOPT_FN(dopt__mpc_qp_as_pick)(int m, const DOPT_REAL *cx, const DOPT_REAL *sc, const DOPT_REAL *et)
{
    int i, p = -1;
    DOPT_REAL best = 0;
    for (i = 0; i < m; ++i) {
        DOPT_REAL v = cx[i] * sc[i] - et[i];
        if (v > best) {
            best = v;
            p = i;
        }
    }
    return p;
}

/* Solve element e by the dual active-set method of Goldfarb and Idnani: from the unconstrained
 * minimizer, repeatedly pick the most violated inequality (or the next one of the warm-start
 * list) and move x and the multipliers toward it, dropping a constraint whose multiplier would
 * turn negative, until nothing is violated by more than tol/2.  Every iterate is dual feasible;
 * a violated constraint that depends on the working set with nothing left to drop proves the
 * problem infeasible.  Returns SOLVED (x, multipliers, J and R in the slot), PRIMAL_INFEASIBLE,
 * MAX_ITER or NUMERICAL (Q not positive definite). */
static dopt_mpc_qp_result DOPT_FN(dopt__mpc_qp_dual_as)(const DOPT_FN(dopt_mpc_qp) *qp, DOPT_FN(dopt__mpc_qp_el) *e,
                                                        const dopt_mpc_qp_options *o, int warm,
                                                        DOPT_FN(dopt__mpc_qp_slot) *sl, int *iters)
{
    int n = e->n, meq = e->meq, m = e->m, q = 0, i, j, it = 0, wn = 0, wpos = 0, lim = 5 * (n + meq + m) + 10;
    int pend = -1; /* the position of an add whose update of J and R is still to be made */
    DOPT_REAL *J = sl->L, *R = sl->R, *x = sl->x;
    DOPT_REAL *dv = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_DX), *zd = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_DY);
    DOPT_REAL *rv = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_DZ), *u = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_DS);
    DOPT_REAL *cx = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_CX), *y = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_E1);
    DOPT_REAL *sc = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_W), *et = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_RC);
    int *wlist = qp->iwork, *isact = qp->iwork + n;
    DOPT_REAL tol_add = (DOPT_REAL)(0.5 * o->tol), eps = 100 * DOPT_EPS, big = DOPT_IS_FLOAT ? FLT_MAX : DBL_MAX;
    DOPT_REAL *Gt = qp->work + (size_t)DOPT__QPV_COUNT * qp->vlen + (size_t)n * n + (size_t)n * meq + (size_t)meq * meq;
    *iters = 0;
    DOPT_FN(dopt__mpc_qp_as_scales)(e, tol_add, Gt, sc, et);
    e->Gt = Gt;
    if (warm) {
        wn = sl->head[6];
        for (j = 0; j < wn; ++j) wlist[j] = sl->aset[j];
    }
    sl->head[6] = 0;
    if (DOPT_FN(dopt__mpc_qp_as_init)(e, J, R, x, dv)) return DOPT_MPC_QP_NUMERICAL;
    for (i = 0; i < m; ++i) isact[i] = 0;
    if (DOPT_FN(dopt__mpc_qp_as_equalities)(e, (DOPT_REAL)o->tol, J, R, x, u, dv, zd, rv, y, sl->aset, &q))
        return DOPT_MPC_QP_PRIMAL_INFEASIBLE;
    it = q;
    for (;;) {
        int p = -1;
        DOPT_REAL uplus = 0;
        DOPT_FN(dopt__mpc_qp_cmul)(e, x, cx);
        while (p < 0 && wpos < wn) {
            int c = wlist[wpos++] - meq;
            if (c >= 0 && c < m && e->on[c] != 0 && !isact[c] && cx[c] - e->d[c] > tol_add) p = c;
        }
        if (p < 0) p = DOPT_FN(dopt__mpc_qp_as_pick)(m, cx, sc, et);
        if (p < 0) {
            if (pend >= 0) DOPT_FN(dopt__mpc_qp_as_add)(n, pend, J, R, dv, zd, y, NULL, NULL);
            break;
        }
        for (;;) {
            int kk = -1, full;
            DOPT_REAL zn, dd, t1 = 0, t2 = 0, t;
            int have = 0;
            if (++it > lim) { *iters = it; return DOPT_MPC_QP_MAX_ITER; }
            if (pend >= 0) { /* the last add's update of J, fused with J^T n of a G row */
                int grow = p < e->mi;
                DOPT_FN(dopt__mpc_qp_as_add)(n, pend, J, R, dv, zd, y, grow ? Gt + (size_t)p * n : NULL, zd);
                if (grow)
                    for (j = 0; j < n; ++j) dv[j] = -zd[j];
                pend = -1;
                have = grow;
            }
            DOPT_FN(dopt__mpc_qp_as_dir)(e, J, R, q, meq + p, have, dv, zd, rv, &zn, &dd);
            for (j = 0; j < q; ++j)
                if (sl->aset[j] >= meq && rv[j] > 0 && (kk < 0 || u[j] < t1 * rv[j])) {
                    t1 = u[j] / rv[j];
                    kk = j;
                }
            full = zn > eps * dd;
            if (!full && kk < 0) { *iters = it; return DOPT_MPC_QP_PRIMAL_INFEASIBLE; }
            if (full) {
                t2 = -DOPT_FN(dopt__mpc_qp_as_slack)(e, meq + p, x) / zn;
                if (t2 < 0) t2 = 0;
            }
            t = full && (kk < 0 || t2 <= t1) ? t2 : t1;
            if (full) for (j = 0; j < n; ++j) x[j] += t * zd[j];
            for (j = 0; j < q; ++j) u[j] -= t * rv[j];
            uplus += t;
            if (full && (kk < 0 || t2 <= t1)) {
                u[q] = uplus;
                pend = q; /* J and R updated at the next step (or the exit) */
                sl->aset[q++] = meq + p;
                isact[p] = 1;
                et[p] = big;
                break;
            }
            i = sl->aset[kk] - meq;
            isact[i] = 0;
            et[i] = (e->d[i] + tol_add) * sc[i];
            DOPT_FN(dopt__mpc_qp_as_drop)(n, q, J, R, kk);
            for (j = kk; j < q - 1; ++j) {
                u[j] = u[j + 1];
                sl->aset[j] = sl->aset[j + 1];
            }
            --q;
        }
    }
    *iters = it;
    e->Gt = NULL;
    DOPT_FN(dopt__mpc_qp_as_store)(e, q, u, cx, sl);
    return DOPT_MPC_QP_SOLVED;
}

/* The backward's adjoint from the active-set method's factors: with N the working set's
 * normals, [Q N; N^T 0] [v; mu] = [g; 0] gives v = J2 J2^T g and R mu = J1^T g; lam is mu in
 * the layout of active_solve (equality rows, then the active G rows in act's order). */
static void DOPT_FN(dopt__mpc_qp_as_adjoint)(const DOPT_FN(dopt_mpc_qp) *qp, const DOPT_FN(dopt__mpc_qp_el) *e,
                                             const DOPT_FN(dopt__mpc_qp_slot) *sl, const DOPT_REAL *g,
                                             DOPT_REAL *v, DOPT_REAL *lam)
{
    int n = e->n, meq = e->meq, q = sl->head[6], j, na = 0;
    DOPT_REAL *t = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_T);
    DOPT_FN(dopt__mpc_qp_gemv_t)(n, n, sl->L, n, g, t);
    DOPT_FN(dopt__mpc_qp_gemv_n)(n, n - q, sl->L + (size_t)q * n, n, t + q, v);
    for (j = 0; j < n; ++j)
        if (sl->state[j] != 0) v[j] = 0;
    DOPT_FN(dopt__mpc_qp_utrsv)(q, sl->R, n, t);
    for (j = 0; j < meq; ++j) lam[j] = 0;
    for (j = 0; j < q; ++j) {
        int c = sl->aset[j];
        if (c < meq) lam[c < 0 ? -1 - c : c] = c < 0 ? -t[j] : t[j];
        else if (c - meq < e->mi) lam[meq + na++] = -t[j];
    }
}

/* Whether the backward may use the active-set method's factors: none of the working set's
 * inequalities is weakly active (multiplier <= dtol), since those are differentiated as inactive. */
static int DOPT_FN(dopt__mpc_qp_as_usable)(const DOPT_FN(dopt__mpc_qp_el) *e, const DOPT_FN(dopt__mpc_qp_slot) *sl,
                                           DOPT_REAL dtol)
{
    int j;
    for (j = 0; j < sl->head[6]; ++j)
        if (sl->aset[j] >= e->meq && !(sl->z[sl->aset[j] - e->meq] > dtol)) return 0;
    return 1;
}

/* The forward of one loaded element: the method of options.method (AUTO: the active-set
 * method, then the interior point method when Q is not definite or the active-set method hits
 * its limit or misses the tolerance).  Fills rep's method, iterations and residuals. */
static dopt_mpc_qp_result DOPT_FN(dopt__mpc_qp_forward)(const DOPT_FN(dopt_mpc_qp) *qp, DOPT_FN(dopt__mpc_qp_el) *e,
                                                        const dopt_mpc_qp_options *o, int warm,
                                                        DOPT_FN(dopt__mpc_qp_slot) *sl, dopt_mpc_qp_report *rep)
{
    dopt_mpc_qp_result res = DOPT_MPC_QP_NUMERICAL;
    int i, n = e->n;
    if (o->method != DOPT_MPC_QP_INTERIOR_POINT) {
        DOPT_REAL pres, dres, comp, obj = 0;
        const DOPT_REAL *t = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_T);
        rep->method = DOPT_MPC_QP_ACTIVE_SET;
        res = DOPT_FN(dopt__mpc_qp_dual_as)(qp, e, o, warm, sl, &rep->iterations);
        if (res == DOPT_MPC_QP_SOLVED) {
            DOPT_FN(dopt__mpc_qp_residuals)(qp, e, sl->x, sl->y, sl->z, sl->s, &pres, &dres, &comp);
            rep->primal_residual = pres;
            rep->dual_residual = dres;
            rep->complementarity = comp;
            for (i = 0; i < n; ++i) obj += sl->x[i] * ((DOPT_REAL)0.5 * t[i] + e->p[i]); /* t = Q x (residuals) */
            rep->objective = obj;
            if (pres <= o->tol && dres <= o->tol && comp <= o->tol) {
                sl->head[1] = DOPT_FN(dopt__mpc_qp_as_usable)(e, sl, (DOPT_REAL)o->degenerate_tol) ? 2 : 0;
                return res;
            }
            /* rounding left the KKT measures above tol: refine on the active set it found */
            if (DOPT_FN(dopt__mpc_qp_try_polish)(qp, e, o, sl, rep)) {
                rep->polished = 1;
                return res;
            }
            res = DOPT_MPC_QP_MAX_ITER;
        }
        sl->head[6] = 0;
        if (o->method == DOPT_MPC_QP_ACTIVE_SET || res == DOPT_MPC_QP_PRIMAL_INFEASIBLE) return res;
        memset(rep, 0, sizeof *rep);
        warm = 0; /* x now holds the active-set method's iterate, not the caller's start */
    }
    rep->method = DOPT_MPC_QP_INTERIOR_POINT;
    return DOPT_FN(dopt__mpc_qp_ipm)(qp, e, o, warm, warm && sl->head[5], sl, rep);
}

/* dopt__mpc_qp_check_data: the pointers a solve or backward needs. */
static dopt_status DOPT_FN(dopt__mpc_qp_check_data)(const DOPT_FN(dopt_mpc_qp) *qp, ptrdiff_t batch,
                                                    const DOPT_FN(dopt_mpc_qp_data) *dt, dopt_errinfo *info)
{
    if (!dt || !dt->Q || !dt->p || (qp->meq && (!dt->A || !dt->b)) || (qp->mi && (!dt->G || !dt->h)) ||
        (qp->dims.box && (!dt->l || !dt->u)))
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "mpc_qp: data array missing");
    if (dt->Q_stride < 0 || dt->p_stride < 0 || dt->A_stride < 0 || dt->b_stride < 0 || dt->G_stride < 0 ||
        dt->h_stride < 0 || dt->l_stride < 0 || dt->u_stride < 0)
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "mpc_qp: negative stride");
    if (batch < 1 || batch > qp->max_batch)
        return dopt_errinfo_set(info, DOPT_ERR_DIMENSION, -1, 0, "mpc_qp: batch outside 1..max_batch");
    return DOPT_OK;
}

#if DOPT_IS_FLOAT
static dopt_status dopt__mpc_qp_solve_inner_f(dopt_mpc_qp_f *qp, const dopt_mpc_qp_options *options,
                                              ptrdiff_t batch, const dopt_mpc_qp_data_f *data, float *x,
                                              ptrdiff_t x_stride, dopt_mpc_qp_report *report, dopt_errinfo *info);
static dopt_status dopt__mpc_qp_backward_inner_f(dopt_mpc_qp_f *qp, const dopt_mpc_qp_options *options,
                                                 ptrdiff_t batch, const float *gx, ptrdiff_t gx_stride,
                                                 const dopt_mpc_qp_grad_f *grad, dopt_mpc_qp_report *report,
                                                 dopt_errinfo *info);
#endif

DOPT_API dopt_status DOPT_FN(dopt_mpc_qp_solve)(DOPT_FN(dopt_mpc_qp) *qp,
                                                const dopt_mpc_qp_options *options, ptrdiff_t batch,
                                                const DOPT_FN(dopt_mpc_qp_data) *data,
                                                DOPT_REAL *x, ptrdiff_t x_stride,
                                                dopt_mpc_qp_report *report, dopt_errinfo *info)
{
    dopt_mpc_qp_options o;
    dopt_status st, first = DOPT_OK;
    ptrdiff_t k;
    int n, i;
    if (!qp || !x) return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "mpc_qp: qp or x is NULL");
    st = dopt__mpc_qp_resolve(options, DOPT_IS_FLOAT && !qp->dims.double_inside, &o, info);
    if (st != DOPT_OK) return st;
    st = DOPT_FN(dopt__mpc_qp_check_data)(qp, batch, data, info);
    if (st != DOPT_OK) return st;
    n = qp->n;
    if (batch > 1 && x_stride < n)
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "mpc_qp: x_stride < n");
#if DOPT_IS_FLOAT
    if (qp->dims.double_inside) return dopt__mpc_qp_solve_inner_f(qp, &o, batch, data, x, x_stride, report, info);
#endif
    if (info) info->status = DOPT_OK;
    qp->last_batch = batch;
    for (k = 0; k < batch; ++k) {
        DOPT_FN(dopt__mpc_qp_slot) sl = DOPT_FN(dopt__mpc_qp_slot_of)(qp, k);
        DOPT_FN(dopt__mpc_qp_el) e;
        dopt_mpc_qp_report rep;
        dopt_mpc_qp_result res;
        DOPT_REAL *xk = x + k * x_stride;
        sl.head[1] = 0;
        int load, warm = o.warm_start;
        memset(&rep, 0, sizeof rep);
        load = DOPT_FN(dopt__mpc_qp_load)(qp, data, k, &e);
        if (warm && !DOPT_FN(dopt_all_finite)(n, xk)) warm = 0;
        if (warm) for (i = 0; i < n; ++i) sl.x[i] = xk[i];
        if (load == 1) res = DOPT_MPC_QP_INVALID_DATA;
        else if (load == 2) res = DOPT_MPC_QP_PRIMAL_INFEASIBLE;
        else res = DOPT_FN(dopt__mpc_qp_forward)(qp, &e, &o, warm, &sl, &rep);
        if (res == DOPT_MPC_QP_SOLVED && rep.method == DOPT_MPC_QP_INTERIOR_POINT && !o.no_polish && !rep.polished)
            rep.polished = DOPT_FN(dopt__mpc_qp_try_polish)(qp, &e, &o, &sl, &rep);
        sl.head[0] = (int)res;
        sl.head[5] = res == DOPT_MPC_QP_SOLVED;
        if (res == DOPT_MPC_QP_SOLVED) rep.weakly_active = DOPT_FN(dopt__mpc_qp_weak)(&e, sl.z, sl.s, (DOPT_REAL)o.degenerate_tol);
        if (load == 0 && DOPT_FN(dopt_all_finite)(n, sl.x)) for (i = 0; i < n; ++i) xk[i] = sl.x[i];
        else for (i = 0; i < n; ++i) xk[i] = 0;
        rep.result = res;
        rep.status = dopt__mpc_qp_status_of(res);
        if (report) report[k] = rep;
        if (rep.status != DOPT_OK && first == DOPT_OK) {
            first = rep.status;
            dopt_errinfo_set(info, first, (long)k, 0, dopt_mpc_qp_result_string(res));
        }
    }
    return first;
}

DOPT_API dopt_status DOPT_FN(dopt_mpc_qp_multipliers)(const DOPT_FN(dopt_mpc_qp) *qp, ptrdiff_t k,
                                                      DOPT_REAL *y, DOPT_REAL *z, DOPT_REAL *zl,
                                                      DOPT_REAL *zu, dopt_errinfo *info)
{
    DOPT_FN(dopt__mpc_qp_slot) sl;
    int i, n, mi;
    if (!qp || k < 0 || k >= qp->last_batch)
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "mpc_qp: element not in the last solve");
#if DOPT_IS_FLOAT
    if (qp->dims.double_inside) {
        const dopt_mpc_qp_d *in = qp->inner;
        double *buf = qp->cvt;
        dopt_status st;
        n = qp->n; mi = qp->mi;
        st = dopt_mpc_qp_multipliers_d(in, k, buf, buf + qp->meq, buf + qp->meq + mi, buf + qp->meq + mi + n, info);
        if (st != DOPT_OK) return st;
        for (i = 0; i < qp->meq; ++i) if (y) y[i] = (float)buf[i];
        for (i = 0; i < mi; ++i) if (z) z[i] = (float)buf[qp->meq + i];
        for (i = 0; i < n; ++i) {
            if (zl) zl[i] = (float)buf[qp->meq + mi + i];
            if (zu) zu[i] = (float)buf[qp->meq + mi + n + i];
        }
        return DOPT_OK;
    }
#endif
    sl = DOPT_FN(dopt__mpc_qp_slot_of)(qp, k);
    if (sl.head[0] != DOPT_MPC_QP_SOLVED)
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, (long)k, 0, "mpc_qp: element did not solve");
    n = qp->n;
    mi = qp->mi;
    if (y) for (i = 0; i < qp->meq; ++i) y[i] = sl.y[i];
    if (z) for (i = 0; i < mi; ++i) z[i] = sl.z[i];
    for (i = 0; i < n; ++i) {
        if (zu) zu[i] = qp->dims.box ? sl.z[mi + i] : 0;
        if (zl) zl[i] = qp->dims.box ? sl.z[mi + n + i] : 0;
    }
    return DOPT_OK;
}

/* Zero the gradient arrays the caller asked for (every element's block; stride 0: one block). */
static void DOPT_FN(dopt__mpc_qp_zero_grad)(const DOPT_FN(dopt_mpc_qp) *qp, ptrdiff_t batch,
                                            const DOPT_FN(dopt_mpc_qp_grad) *g)
{
    size_t n = (size_t)qp->n, meq = (size_t)qp->meq, mi = (size_t)qp->mi;
    ptrdiff_t k;
    for (k = 0; k < batch; ++k) {
        if (g->Q) memset(g->Q + k * g->Q_stride, 0, n * n * sizeof(DOPT_REAL));
        if (g->p) memset(g->p + k * g->p_stride, 0, n * sizeof(DOPT_REAL));
        if (meq && g->A) memset(g->A + k * g->A_stride, 0, meq * n * sizeof(DOPT_REAL));
        if (meq && g->b) memset(g->b + k * g->b_stride, 0, meq * sizeof(DOPT_REAL));
        if (mi && g->G) memset(g->G + k * g->G_stride, 0, mi * n * sizeof(DOPT_REAL));
        if (mi && g->h) memset(g->h + k * g->h_stride, 0, mi * sizeof(DOPT_REAL));
        if (qp->dims.box && g->l) memset(g->l + k * g->l_stride, 0, n * sizeof(DOPT_REAL));
        if (qp->dims.box && g->u) memset(g->u + k * g->u_stride, 0, n * sizeof(DOPT_REAL));
    }
}

/* Element k's gradients from the adjoint (wx, lam):  with dz = lam on the active G rows (0
 * elsewhere), wy = lam_A and the bound multipliers' adjoint bres = gx - (Q wx + A^T wy + G^T dz):
 *   dp = -wx,  dQ = -(wx x^T + x wx^T)/2,  db = wy,  dA = -(y wx^T + wy x^T),
 *   dh = dz,  dG = -(z wx^T + dz x^T),  du_j = bres_j at u,  dl_j = bres_j at l.
 * Returns 0, or 1 when something is not finite (nothing accumulated then). */
static int DOPT_FN(dopt__mpc_qp_accumulate)(const DOPT_FN(dopt_mpc_qp) *qp, const DOPT_FN(dopt__mpc_qp_el) *e,
                                            const DOPT_FN(dopt__mpc_qp_slot) *sl, ptrdiff_t k,
                                            const DOPT_REAL *gx, const DOPT_REAL *wx, const DOPT_REAL *lam,
                                            const DOPT_FN(dopt_mpc_qp_grad) *g)
{
    int n = e->n, meq = e->meq, mi = e->mi, na = sl->head[3], i, j, r;
    DOPT_REAL *dz = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_DZ), *bres = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_DX);
    const DOPT_REAL *x = sl->x, *y = sl->y, *z = sl->z;
    for (i = 0; i < mi; ++i) dz[i] = 0;
    for (r = 0; r < na; ++r) dz[sl->act[r]] = lam[meq + r];
    if (!DOPT_FN(dopt_all_finite)(n, wx) || !DOPT_FN(dopt_all_finite)(meq + na, lam)) return 1;
    DOPT_FN(dopt__mpc_qp_symv)(n, e->Q, wx, bres);
    if (meq) DOPT_FN(dopt_gemv)(DOPT_TRANS, meq, n, 1, e->A, meq, lam, 1, 1, bres, 1);
    if (mi) DOPT_FN(dopt_gemv)(DOPT_TRANS, mi, n, 1, e->G, mi, dz, 1, 1, bres, 1);
    for (j = 0; j < n; ++j) bres[j] = gx[j] - bres[j];
    if (!DOPT_FN(dopt_all_finite)(n, bres)) return 1;
    if (g->p) {
        DOPT_REAL *gp = g->p + k * g->p_stride;
        for (j = 0; j < n; ++j) gp[j] -= wx[j];
    }
    if (g->Q) {
        DOPT_REAL *gq = g->Q + k * g->Q_stride;
        for (j = 0; j < n; ++j)
            for (i = 0; i < n; ++i) gq[i + (size_t)j * n] -= (DOPT_REAL)0.5 * (wx[i] * x[j] + x[i] * wx[j]);
    }
    if (meq && g->b) {
        DOPT_REAL *gb = g->b + k * g->b_stride;
        for (r = 0; r < meq; ++r) gb[r] += lam[r];
    }
    if (meq && g->A) {
        DOPT_REAL *ga = g->A + k * g->A_stride;
        for (j = 0; j < n; ++j)
            for (r = 0; r < meq; ++r) ga[r + (size_t)j * meq] -= y[r] * wx[j] + lam[r] * x[j];
    }
    if (mi && g->h) {
        DOPT_REAL *gh = g->h + k * g->h_stride;
        for (i = 0; i < mi; ++i) gh[i] += dz[i];
    }
    if (mi && g->G) {
        DOPT_REAL *gg = g->G + k * g->G_stride;
        for (j = 0; j < n; ++j)
            for (i = 0; i < mi; ++i) gg[i + (size_t)j * mi] -= z[i] * wx[j] + dz[i] * x[j];
    }
    if (e->box) {
        DOPT_REAL *gl = g->l ? g->l + k * g->l_stride : NULL, *gu = g->u ? g->u + k * g->u_stride : NULL;
        for (j = 0; j < n; ++j) {
            if (sl->state[j] > 0 && gu) gu[j] += bres[j];
            if (sl->state[j] < 0 && gl) gl[j] += bres[j];
        }
    }
    return 0;
}

DOPT_API dopt_status DOPT_FN(dopt_mpc_qp_backward)(DOPT_FN(dopt_mpc_qp) *qp,
                                                   const dopt_mpc_qp_options *options, ptrdiff_t batch,
                                                   const DOPT_FN(dopt_mpc_qp_data) *data,
                                                   const DOPT_REAL *gx, ptrdiff_t gx_stride,
                                                   const DOPT_FN(dopt_mpc_qp_grad) *grad,
                                                   dopt_mpc_qp_report *report, dopt_errinfo *info)
{
    dopt_mpc_qp_options o;
    dopt_status st, first = DOPT_OK;
    ptrdiff_t k;
    if (!qp || !gx || !grad)
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "mpc_qp: qp, gx or grad is NULL");
    st = dopt__mpc_qp_resolve(options, DOPT_IS_FLOAT && !qp->dims.double_inside, &o, info);
    if (st != DOPT_OK) return st;
    st = DOPT_FN(dopt__mpc_qp_check_data)(qp, batch, data, info);
    if (st != DOPT_OK) return st;
    if (batch > qp->last_batch)
        return dopt_errinfo_set(info, DOPT_ERR_DIMENSION, -1, 0, "mpc_qp: backward batch larger than the last solve's");
    if ((batch > 1 && gx_stride < qp->n) || grad->Q_stride < 0 || grad->p_stride < 0 || grad->A_stride < 0 ||
        grad->b_stride < 0 || grad->G_stride < 0 || grad->h_stride < 0 || grad->l_stride < 0 || grad->u_stride < 0)
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "mpc_qp: bad gx or gradient stride");
#if DOPT_IS_FLOAT
    if (qp->dims.double_inside) return dopt__mpc_qp_backward_inner_f(qp, &o, batch, gx, gx_stride, grad, report, info);
#endif
    if (info) info->status = DOPT_OK;
    DOPT_FN(dopt__mpc_qp_zero_grad)(qp, batch, grad);
    for (k = 0; k < batch; ++k) {
        DOPT_FN(dopt__mpc_qp_slot) sl = DOPT_FN(dopt__mpc_qp_slot_of)(qp, k);
        DOPT_FN(dopt__mpc_qp_el) e;
        const DOPT_REAL *g = gx + k * gx_stride;
        dopt_status est = DOPT_OK;
        dopt_mpc_qp_report rep;
        memset(&rep, 0, sizeof rep);
        rep.result = (dopt_mpc_qp_result)sl.head[0];
        if (sl.head[0] != DOPT_MPC_QP_SOLVED) {
            est = dopt__mpc_qp_status_of((dopt_mpc_qp_result)sl.head[0]);
        } else if (DOPT_FN(dopt__mpc_qp_load)(qp, data, k, &e) != 0 || !DOPT_FN(dopt_all_finite)(qp->n, g)) {
            est = DOPT_ERR_NON_FINITE;
        } else {
            DOPT_REAL *wx = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_RD), *lam = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_RI);
            DOPT_REAL *zero = DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_R2);
            int r;
            for (r = 0; r < qp->mc; ++r) zero[r] = 0;
            if (sl.head[1] == 2 && !DOPT_FN(dopt__mpc_qp_as_usable)(&e, &sl, (DOPT_REAL)o.degenerate_tol)) sl.head[1] = 0;
            if (!sl.head[1]) {
                if (DOPT_FN(dopt__mpc_qp_factor_bwd)(&e, (DOPT_REAL)o.degenerate_tol, 0, &sl)) est = DOPT_ERR_NOT_POSITIVE_DEFINITE;
                else sl.head[1] = 1;
            }
            if (est == DOPT_OK && sl.head[1] == 2) {
                DOPT_FN(dopt__mpc_qp_as_adjoint)(qp, &e, &sl, g, wx, lam);
                if (DOPT_FN(dopt__mpc_qp_accumulate)(qp, &e, &sl, k, g, wx, lam, grad)) est = DOPT_ERR_NON_FINITE;
            } else if (est == DOPT_OK) {
                DOPT_FN(dopt__mpc_qp_active_solve)(qp, &e, &sl, g, DOPT_FN(dopt__mpc_qp_vec)(qp, DOPT__QPV_R2), wx, lam);
                if (DOPT_FN(dopt__mpc_qp_accumulate)(qp, &e, &sl, k, g, wx, lam, grad)) est = DOPT_ERR_NON_FINITE;
            }
            rep.weakly_active = DOPT_FN(dopt__mpc_qp_weak)(&e, sl.z, sl.s, (DOPT_REAL)o.degenerate_tol);
        }
        rep.status = est;
        if (report) report[k] = rep;
        if (est != DOPT_OK && first == DOPT_OK) {
            first = est;
            dopt_errinfo_set(info, est, (long)k, 0, "mpc_qp: backward of an element that did not solve or went non-finite");
            if (o.policy == DOPT_NLLS_DIFF_FAIL) return first;
        }
    }
    if (o.policy == DOPT_NLLS_DIFF_ZERO) {
        if (info) info->status = DOPT_OK;
        return DOPT_OK;
    }
    return first;
}

#if DOPT_IS_FLOAT
/* ---- float data, double inside ---------------------------------------------------------------- */

/* Copy `count` blocks of len floats (at src + k * stride) into doubles at dst (contiguous blocks,
 * or one block when stride is 0); returns the double stride (0 or len). */
static ptrdiff_t dopt__mpc_qp_to_double(const float *src, ptrdiff_t stride, ptrdiff_t count, size_t len,
                                        double *dst)
{
    ptrdiff_t k, nb = stride ? count : 1;
    size_t i;
    for (k = 0; k < nb; ++k)
        for (i = 0; i < len; ++i) dst[(size_t)k * len + i] = (double)src[k * stride + i];
    return stride ? (ptrdiff_t)len : 0;
}

static void dopt__mpc_qp_to_float(const double *src, ptrdiff_t stride, ptrdiff_t count, size_t len, float *dst)
{
    ptrdiff_t k, nb = stride ? count : 1;
    size_t i;
    for (k = 0; k < nb; ++k)
        for (i = 0; i < len; ++i) dst[k * stride + i] = (float)src[(size_t)k * len + i];
}

/* The double buffers of the conversion area, in the order of dopt__mpc_qp_cvt_len_f. */
typedef struct dopt__mpc_qp_cvt_f {
    double *Q, *p, *A, *b, *G, *h, *l, *u, *x, *gx;
    double *gQ, *gp, *gA, *gb, *gG, *gh, *gl, *gu;
} dopt__mpc_qp_cvt_f;

static dopt__mpc_qp_cvt_f dopt__mpc_qp_cvt_of_f(const dopt_mpc_qp_f *qp)
{
    dopt__mpc_qp_cvt_f c;
    size_t B = (size_t)qp->max_batch, n = (size_t)qp->n, meq = (size_t)qp->meq, mi = (size_t)qp->mi;
    size_t nb = qp->dims.box ? n : 0;
    double *r = qp->cvt;
    c.Q = r; r += B * n * n;
    c.p = r; r += B * n;
    c.A = r; r += B * meq * n;
    c.b = r; r += B * meq;
    c.G = r; r += B * mi * n;
    c.h = r; r += B * mi;
    c.l = r; r += B * nb;
    c.u = r; r += B * nb;
    c.x = r; r += B * n;
    c.gx = r; r += B * n;
    c.gQ = r; r += B * n * n;
    c.gp = r; r += B * n;
    c.gA = r; r += B * meq * n;
    c.gb = r; r += B * meq;
    c.gG = r; r += B * mi * n;
    c.gh = r; r += B * mi;
    c.gl = r; r += B * nb;
    c.gu = r;
    return c;
}

static dopt_status dopt__mpc_qp_solve_inner_f(dopt_mpc_qp_f *qp, const dopt_mpc_qp_options *options,
                                              ptrdiff_t batch, const dopt_mpc_qp_data_f *data, float *x,
                                              ptrdiff_t x_stride, dopt_mpc_qp_report *report, dopt_errinfo *info)
{
    dopt__mpc_qp_cvt_f c = dopt__mpc_qp_cvt_of_f(qp);
    dopt_mpc_qp_data_d dd;
    size_t n = (size_t)qp->n, meq = (size_t)qp->meq, mi = (size_t)qp->mi;
    dopt_status st;
    memset(&dd, 0, sizeof dd);
    dd.Q = c.Q; dd.Q_stride = dopt__mpc_qp_to_double(data->Q, data->Q_stride, batch, n * n, c.Q);
    dd.p = c.p; dd.p_stride = dopt__mpc_qp_to_double(data->p, data->p_stride, batch, n, c.p);
    if (meq) {
        dd.A = c.A; dd.A_stride = dopt__mpc_qp_to_double(data->A, data->A_stride, batch, meq * n, c.A);
        dd.b = c.b; dd.b_stride = dopt__mpc_qp_to_double(data->b, data->b_stride, batch, meq, c.b);
    }
    if (mi) {
        dd.G = c.G; dd.G_stride = dopt__mpc_qp_to_double(data->G, data->G_stride, batch, mi * n, c.G);
        dd.h = c.h; dd.h_stride = dopt__mpc_qp_to_double(data->h, data->h_stride, batch, mi, c.h);
    }
    if (qp->dims.box) {
        dd.l = c.l; dd.l_stride = dopt__mpc_qp_to_double(data->l, data->l_stride, batch, n, c.l);
        dd.u = c.u; dd.u_stride = dopt__mpc_qp_to_double(data->u, data->u_stride, batch, n, c.u);
    }
    dopt__mpc_qp_to_double(x, batch > 1 ? x_stride : 1, batch, n, c.x);
    st = dopt_mpc_qp_solve_d(qp->inner, options, batch, &dd, c.x, (ptrdiff_t)n, report, info);
    dopt__mpc_qp_to_float(c.x, batch > 1 ? x_stride : 1, batch, n, x);
    qp->last_batch = batch;
    return st;
}

static dopt_status dopt__mpc_qp_backward_inner_f(dopt_mpc_qp_f *qp, const dopt_mpc_qp_options *options,
                                                 ptrdiff_t batch, const float *gx, ptrdiff_t gx_stride,
                                                 const dopt_mpc_qp_grad_f *grad, dopt_mpc_qp_report *report,
                                                 dopt_errinfo *info)
{
    dopt__mpc_qp_cvt_f c = dopt__mpc_qp_cvt_of_f(qp);
    dopt_mpc_qp_data_d dd;
    dopt_mpc_qp_grad_d gd;
    size_t n = (size_t)qp->n, meq = (size_t)qp->meq, mi = (size_t)qp->mi;
    size_t B = (size_t)batch;
    dopt_status st;
    /* the data converted by the solve (the caller keeps it unchanged between the two calls) */
    memset(&dd, 0, sizeof dd);
    memset(&gd, 0, sizeof gd);
    dd.Q = c.Q; dd.p = c.p; dd.A = c.A; dd.b = c.b; dd.G = c.G; dd.h = c.h; dd.l = c.l; dd.u = c.u;
    dd.Q_stride = (ptrdiff_t)(n * n); dd.p_stride = (ptrdiff_t)n; dd.A_stride = (ptrdiff_t)(meq * n);
    dd.b_stride = (ptrdiff_t)meq; dd.G_stride = (ptrdiff_t)(mi * n); dd.h_stride = (ptrdiff_t)mi;
    dd.l_stride = (ptrdiff_t)n; dd.u_stride = (ptrdiff_t)n;
    (void)B;
    dopt__mpc_qp_to_double(gx, batch > 1 ? gx_stride : 1, batch, n, c.gx);
#define DOPT__QP_GSET(F, len) if (grad->F) { gd.F = c.g##F; gd.F##_stride = grad->F##_stride ? (ptrdiff_t)(len) : 0; }
    DOPT__QP_GSET(Q, n * n)
    DOPT__QP_GSET(p, n)
    DOPT__QP_GSET(A, meq * n)
    DOPT__QP_GSET(b, meq)
    DOPT__QP_GSET(G, mi * n)
    DOPT__QP_GSET(h, mi)
    DOPT__QP_GSET(l, n)
    DOPT__QP_GSET(u, n)
#undef DOPT__QP_GSET
    st = dopt_mpc_qp_backward_d(qp->inner, options, batch, &dd, c.gx, (ptrdiff_t)n, &gd, report, info);
    if (grad->Q) dopt__mpc_qp_to_float(gd.Q, grad->Q_stride, batch, n * n, grad->Q);
    if (grad->p) dopt__mpc_qp_to_float(gd.p, grad->p_stride, batch, n, grad->p);
    if (meq && grad->A) dopt__mpc_qp_to_float(gd.A, grad->A_stride, batch, meq * n, grad->A);
    if (meq && grad->b) dopt__mpc_qp_to_float(gd.b, grad->b_stride, batch, meq, grad->b);
    if (mi && grad->G) dopt__mpc_qp_to_float(gd.G, grad->G_stride, batch, mi * n, grad->G);
    if (mi && grad->h) dopt__mpc_qp_to_float(gd.h, grad->h_stride, batch, mi, grad->h);
    if (qp->dims.box && grad->l) dopt__mpc_qp_to_float(gd.l, grad->l_stride, batch, n, grad->l);
    if (qp->dims.box && grad->u) dopt__mpc_qp_to_float(gd.u, grad->u_stride, batch, n, grad->u);
    return st;
}
#endif
/* ==== end DENSE QP: implementation ==== */

/* ==== CEM AND LML: implementation ==== */
/* ---- LML ---- */

#define DOPT__MPC_LESS(ka, ia, kb, ib) ((ka) < (kb) || ((ka) == (kb) && (ia) < (ib)))

/* Restore the max-heap order (by (key, idx), DOPT__MPC_LESS) of the n pairs below position p. */
static void DOPT_FN(dopt__mpc_heap_down)(int n, int p, DOPT_REAL *key, int *idx)
{
    DOPT_REAL k = key[p];
    int i = idx[p];
    for (;;) {
        int ch = 2 * p + 1;
        if (ch >= n) break;
        if (ch + 1 < n && DOPT__MPC_LESS(key[ch], idx[ch], key[ch + 1], idx[ch + 1])) ++ch;
        if (!DOPT__MPC_LESS(k, i, key[ch], idx[ch])) break;
        key[p] = key[ch], idx[p] = idx[ch];
        p = ch;
    }
    key[p] = k, idx[p] = i;
}

/* Partial selection: the kth smallest pairs (key[j], idx[j]) of the n given (ties ordered by idx,
 * so the outcome is a function of the values alone) end up in positions 0 .. kth-1, in heap
 * order; positions kth.. are only read.  One pass with a max-heap of the kth smallest so far:
 * a later pair enters only when below the heap's largest (about kth ln(n / kth) times for costs
 * in random order), so the pass is n mostly predictable comparisons.  1 <= kth <= n. */
static void DOPT_FN(dopt__mpc_select)(int n, int kth, DOPT_REAL *key, int *idx)
{
    int j;
    for (j = kth / 2 - 1; j >= 0; --j) DOPT_FN(dopt__mpc_heap_down)(kth, j, key, idx);
    for (j = kth; j < n; ++j)
        if (DOPT__MPC_LESS(key[j], idx[j], key[0], idx[0])) {
            key[0] = key[j], idx[0] = idx[j];
            DOPT_FN(dopt__mpc_heap_down)(kth, 0, key, idx);
        }
}

static DOPT_REAL DOPT_FN(dopt__mpc_sigmoid)(DOPT_REAL t)
{
    return (DOPT_REAL)1 / ((DOPT_REAL)1 + DOPT_M(exp)(-t));
}

/* ---- the product form of the LML sums ----
 * With a_i = exp(c - x_i) computed once, sigmoid(x_i - c + mu) = 1 / (1 + a_i E), E = exp(-mu):
 * every dual iteration then costs one division per entry instead of one exponential.  Used when
 * (xmax - xmin) + |log(k / (n - k))| stays below DOPT__MPC_LML_SPAN, so that neither factor
 * overflows or underflows (a product that does gives the right limit, 0 or 1). */
#define DOPT__MPC_LML_SPAN (DOPT_IS_FLOAT ? (DOPT_REAL)80 : (DOPT_REAL)690)

/* Restore the min-heap order of h[0..n) below position p. */
static void DOPT_FN(dopt__mpc_minheap_down)(int n, int p, DOPT_REAL *h)
{
    DOPT_REAL v = h[p];
    for (;;) {
        int ch = 2 * p + 1;
        if (ch >= n) break;
        if (ch + 1 < n && h[ch + 1] < h[ch]) ++ch;
        if (!(h[ch] < v)) break;
        h[p] = h[ch];
        p = ch;
    }
    h[p] = v;
}

/* The r-th largest of x[0..n) (1 <= r < n), and in *next the (r+1)-th (ties count as often as
 * they occur).  One pass with a min-heap of the r largest so far in h[0..r) (scratch): a later
 * entry enters only when above the heap's smallest, which then leaves for *next. */
static DOPT_REAL DOPT_FN(dopt__mpc_rth_largest)(int n, int r, const DOPT_REAL *x, DOPT_REAL *h, DOPT_REAL *next)
{
    DOPT_REAL nx;
    int j;
    memcpy(h, x, (size_t)r * sizeof(DOPT_REAL));
    for (j = r / 2 - 1; j >= 0; --j) DOPT_FN(dopt__mpc_minheap_down)(r, j, h);
    nx = x[r];
    for (j = r; j < n; ++j) {
        if (x[j] > h[0]) {
            nx = h[0] > nx ? h[0] : nx;
            h[0] = x[j];
            DOPT_FN(dopt__mpc_minheap_down)(r, 0, h);
        } else if (x[j] > nx) {
            nx = x[j];
        }
    }
    *next = nx;
    return h[0];
}

/* The product form's shift: midway between the r-th and (r+1)-th largest of an evenly strided
 * sample of 64 entries (rank scaled to the sample; all of x when n <= 128), copied to h
 * (scratch, n reals).  Only a start: the bracketed Newton solve and the polish fix the dual. */
static DOPT_REAL DOPT_FN(dopt__mpc_lml_start)(int n, int r, const DOPT_REAL *x, DOPT_REAL *h)
{
    int m = 64, j, rs;
    DOPT_REAL next, top;
    if (n <= 128) {
        top = DOPT_FN(dopt__mpc_rth_largest)(n, r, x, h, &next);
        return (DOPT_REAL)0.5 * top + (DOPT_REAL)0.5 * next;
    }
    for (j = 0; j < m; ++j) h[m + j] = x[(size_t)j * (size_t)n / (size_t)m];
    rs = (int)(((double)r * m) / n + 0.5);
    rs = rs < 1 ? 1 : rs > m - 1 ? m - 1 : rs;
    top = DOPT_FN(dopt__mpc_rth_largest)(m, rs, h + m, h, &next);
    return (DOPT_REAL)0.5 * top + (DOPT_REAL)0.5 * next;
}

/* ---- CEM and DCEM ---- */

struct DOPT_FN(dopt_mpc_cem) {
    dopt_owned own;             /* the block of create (dopt_owned_keep), or none                 */
    dopt_mpc_cem_dims dims;
    dopt__mpc_zig zig;
    dopt__mpc_lanes *lanes;     /* batch samplers (8 lanes each, seeded from the element's stream) */
    dopt_status *est;           /* batch element statuses of the current solve                     */
    DOPT_REAL *X;               /* B P D samples (sample j of element b at (b P + j) D)            */
    DOPT_REAL *cost;            /* B P                                                             */
    DOPT_REAL *key;             /* P: selection keys / scratch                                     */
    int *idx;                   /* P                                                               */
    DOPT_REAL *tmp;             /* 2 D                                                             */
    DOPT_REAL *best;            /* B D lowest-cost samples                                         */
    DOPT_REAL *bestc;           /* B                                                               */
    DOPT_REAL *state;           /* 2 P state_dim rollout states                                    */
    /* DCEM (dcem_iterations > 0) */
    DOPT_REAL *gX;              /* B P D                                                           */
    DOPT_REAL *gf;              /* B P                                                             */
    DOPT_REAL *gmean, *gstd;    /* B D running adjoints of the mean and std                        */
    DOPT_REAL *t_eps;           /* T B P D noise                                                   */
    DOPT_REAL *t_cost, *t_w;    /* T B P costs and LML weights                                     */
    DOPT_REAL *t_mean, *t_std;  /* T B D mean and std at the start of each iteration               */
    DOPT_REAL *t_m, *t_s;       /* T B D elite mean and std (before floor and smoothing)           */
    int recorded;               /* iterations on the tape; 0: none                                 */
    DOPT_FN(dopt_mpc_cem_options) tape_opt;
};

/* Objective as a plain function pointer and user data (plan substitutes its rollout). */
typedef dopt_status (*DOPT_FN(dopt__mpc_cost_fn))(void *user, ptrdiff_t first, ptrdiff_t count, int population,
                                                  int dim, const DOPT_REAL *X, DOPT_REAL *cost);

#define DOPT__MPC_TAPE(arr, t, b, n) ((arr) + ((size_t)(t) * (size_t)c->dims.batch + (size_t)(b)) * (size_t)(n))

#ifdef __cplusplus
}
#endif
#endif /* DOPT_MPC__PASS_IMPL (continued after the CEM kernels) */

/* =============================================================================================== */
/* The CEM kernel region: the LML sums and dual solve, the sampler's fast pass, the samples' affine */
/* map, the refits and DCEM's reverse steps, one pass per kernel family (dopt.h's family driver:  */
/* DOPT__KFN names, DOPT__KTARGET on every function) inside each precision pass, so a build with  */
/* no -march runs them in the vector family the CPU has.                                         */
/* =============================================================================================== */
#if defined(DOPT__KPASS) && defined(DOPT__MPC_CEM_KERNELS) && defined(DOPT_REAL)
#if DOPT__VEC_EXT /* an integer vector of the reals' width: comparison masks and bit tricks */
#if DOPT_IS_FLOAT
typedef unsigned int DOPT__KFN(dopt__mpc_vmask) __attribute__((vector_size(DOPT__VBYTES), __may_alias__));
#else
typedef unsigned long long DOPT__KFN(dopt__mpc_vmask) __attribute__((vector_size(DOPT__VBYTES), __may_alias__));
#endif
#endif
#if DOPT__VEC_EXT && !DOPT_IS_FLOAT
typedef unsigned long long DOPT__KFN(dopt__mpc_vu64) __attribute__((vector_size(DOPT__VBYTES), __may_alias__));
/* exp(a) for one vector, |a| <= 700: a = n ln 2 + r, |r| <= ln2 / 2, Taylor series to r^13
 * (truncation 4e-18), 2^n put into the exponent bits (the AVX2 dopt__mpc_exp4, at any width). */
DOPT__KTARGET static DOPT__KFN(dopt__vreal) DOPT__KFN(dopt__mpc_vexp)(DOPT__KFN(dopt__vreal) a)
{
    static const double cf[14] = {1.0, 1.0, 1.0 / 2, 1.0 / 6, 1.0 / 24, 1.0 / 120, 1.0 / 720, 1.0 / 5040,
                                  1.0 / 40320, 1.0 / 362880, 1.0 / 3628800, 1.0 / 39916800,
                                  1.0 / 479001600, 1.0 / 6227020800.0};
    typedef DOPT__KFN(dopt__vreal) V;
    typedef DOPT__KFN(dopt__mpc_vu64) U;
    const V zero = a - a, magic = zero + 6755399441055744.0; /* 1.5 * 2^52 */
    V kd = a * 1.4426950408889634 + magic, nn = kd - magic, r, p;
    int j;
    r = a - nn * 6.93147180369123816490e-01;
    r = r - nn * 1.90821492927058770002e-10;
    p = zero + cf[13];
    for (j = 12; j >= 0; --j) p = p * r + cf[j];
    return (V)((U)p + (((U)kd - (U)magic) << 52));
}
#endif

#if DOPT__VEC_EXT && !DOPT_IS_FLOAT
/* y_i = sigmoid((x_i - c) + mu) for i < n, written to y when not NULL; adds sum y_i to *s and
 * sum y_i (1 - y_i) to *d (one vector of partial sums each, then added).  The exponent is clamped
 * to [-700, 700] (no overflow: the sigmoid is then 0 or 1 to the last bit).  The last n % VLEN
 * entries go through the same vector code (padded), so every y_i comes from one function of x_i. */
DOPT__KTARGET static void DOPT__KFN(dopt__mpc_sigmoids)(int n, const double *x, double c, double mu, double *y,
                                                        double *s, double *d)
{
    typedef DOPT__KFN(dopt__vreal) V;
    typedef DOPT__KFN(dopt__mpc_vmask) M;
    V zero, one, hi, lo, vs, vd;
    double pad[8];
    int i, j, l;
    memset(&zero, 0, sizeof zero);
    one = zero + 1, hi = zero + 700.0, lo = zero - 700.0, vs = vd = zero;
    for (i = 0; i < n; i += DOPT__VLEN) {
        const double *xi = x + i;
        V a, v;
        M m;
        if (i + DOPT__VLEN > n) { /* the last entries, padded with zero-weight copies */
            for (j = 0; j < DOPT__VLEN; ++j) pad[j] = x[i + j < n ? i + j : n - 1];
            xi = pad;
        }
        a = zero - ((DOPT__VLD(xi) - c) + mu); /* sigmoid(t) = 1 / (1 + exp(-t)) */
        m = (M)(a > hi);
        a = (V)(((M)a & ~m) | ((M)hi & m));
        m = (M)(a < lo);
        a = (V)(((M)a & ~m) | ((M)lo & m));
        v = one / (one + DOPT__KFN(dopt__mpc_vexp)(a));
        if (i + DOPT__VLEN > n) {
            DOPT__VST(pad, v);
            for (j = 0; j < DOPT__VLEN; ++j) pad[j] = i + j < n ? pad[j] : 0;
            if (y) for (j = 0; i + j < n; ++j) y[i + j] = pad[j];
            v = DOPT__VLD(pad);
        } else if (y) {
            DOPT__VST(y + i, v);
        }
        vs += v;
        vd += v * (one - v);
    }
    for (l = 0; l < DOPT__VLEN; ++l) *s += vs[l], *d += vd[l];
}
#endif

/* a_i = exp(c - x_i), i < n (a may be y's memory; not x's). */
DOPT__KTARGET static void DOPT__KFN(dopt__mpc_lml_factors)(int n, const DOPT_REAL *x, DOPT_REAL c, DOPT_REAL *a)
{
    int i = 0;
#if DOPT__VEC_EXT && !DOPT_IS_FLOAT
    for (; i + DOPT__VLEN <= n; i += DOPT__VLEN)
        DOPT__VST(a + i, DOPT__KFN(dopt__mpc_vexp)(c - DOPT__VLD(x + i)));
#endif
    for (; i < n; ++i) a[i] = DOPT_M(exp)(c - x[i]);
}

/* sum_i y_i and (return) sum_i y_i (1 - y_i) of y_i = 1 / (1 + a_i E); y (may equal a) gets the
 * y_i when not NULL.  Two vectors of partial sums, then the tail. */
DOPT__KTARGET static DOPT_REAL DOPT__KFN(dopt__mpc_lml_terms)(int n, const DOPT_REAL *a, DOPT_REAL E, DOPT_REAL *y, DOPT_REAL *sum)
{
    DOPT_REAL s = 0, d = 0;
    int i = 0;
#if DOPT__VEC_EXT
    {
        typedef DOPT__KFN(dopt__vreal) V;
        V zero, one, ve, s0, s1, d0, d1;
        int l;
        memset(&zero, 0, sizeof zero);
        one = zero + 1, ve = zero + E, s0 = s1 = d0 = d1 = zero;
        for (; i + 2 * DOPT__VLEN <= n; i += 2 * DOPT__VLEN) {
            V y0 = one / (one + DOPT__VLD(a + i) * ve), y1 = one / (one + DOPT__VLD(a + i + DOPT__VLEN) * ve);
            if (y) DOPT__VST(y + i, y0), DOPT__VST(y + i + DOPT__VLEN, y1);
            s0 += y0, s1 += y1;
            d0 += y0 * (one - y0), d1 += y1 * (one - y1);
        }
        s0 += s1, d0 += d1;
        for (l = 0; l < DOPT__VLEN; ++l) s += s0[l], d += d0[l];
    }
#endif
    for (; i < n; ++i) {
        DOPT_REAL v = 1 / (1 + a[i] * E);
        if (y) y[i] = v;
        s += v;
        d += v * (1 - v);
    }
    *sum = s;
    return d;
}

/* sum_i sigmoid(x_i - c + mu) - k and its derivative; a not NULL: the product form on a_i =
 * exp(c - x_i) (dopt__mpc_lml_factors) instead of x. */
DOPT__KTARGET static DOPT_REAL DOPT__KFN(dopt__mpc_lml_gap)(int n, const DOPT_REAL *x, const DOPT_REAL *a, DOPT_REAL c,
                                             DOPT_REAL mu, DOPT_REAL k, DOPT_REAL *slope)
{
    DOPT_REAL s = 0, d = 0;
    int i = 0;
    if (a) {
        *slope = DOPT__KFN(dopt__mpc_lml_terms)(n, a, DOPT_M(exp)(-mu), NULL, &s);
        return s - k;
    }
#if DOPT__VEC_EXT && !DOPT_IS_FLOAT
    i = n;
    DOPT__KFN(dopt__mpc_sigmoids)(n, x, c, mu, NULL, &s, &d);
#endif
    for (; i < n; ++i) {
        DOPT_REAL y = DOPT_FN(dopt__mpc_sigmoid)((x[i] - c) + mu);
        s += y;
        d += y * (1 - y);
    }
    *slope = d;
    return s - k;
}

/* Solve sum_i sigmoid(x_i - c + mu) = k for mu by Newton's method safeguarded by the bracket
 * (rtsafe-style: bisect when a step leaves the bracket or does not halve the last step; bisect over
 * the ordering of the reals while the bracket is wider than 128, so any finite bracket takes at
 * most ~64 + 60 halvings).  mu holds the start and the result. */
DOPT__KTARGET static void DOPT__KFN(dopt__mpc_lml_dual)(int n, const DOPT_REAL *x, const DOPT_REAL *a, DOPT_REAL k, DOPT_REAL c,
                                        DOPT_REAL xmin, DOPT_REAL xmax, DOPT_REAL *mu_io)
{
    const DOPT_REAL big = DOPT_IS_FLOAT ? (DOPT_REAL)FLT_MAX : (DOPT_REAL)DBL_MAX;
    DOPT_REAL L = DOPT_M(log)(k / ((DOPT_REAL)n - k)), lo, hi, mu = *mu_io, g, slope, dx_old;
    int it;
    /* bracket: n sigmoid(xmin - c + mu) <= sum <= n sigmoid(xmax - c + mu) */
    lo = L - (xmax - c);
    hi = L - (xmin - c);
    if (!(lo > -big)) lo = -big;
    if (!(hi < big)) hi = big;
    if (!(mu >= lo && mu <= hi)) mu = (DOPT_REAL)0.5 * lo + (DOPT_REAL)0.5 * hi;
    dx_old = big;
    for (it = 0; it < 300; ++it) {
        DOPT_REAL step, next;
        g = DOPT__KFN(dopt__mpc_lml_gap)(n, x, a, c, mu, k, &slope);
        if (g == 0) break;
        if (g < 0) lo = mu;
        else hi = mu;
        step = slope > 0 ? g / slope : big;
        next = mu - step;
        if (slope > 0 && next > lo && next < hi && DOPT_M(fabs)(2 * step) <= DOPT_M(fabs)(dx_old)) {
            dx_old = step;
            mu = next;
            /* Newton converges quadratically: after a step below sqrt(eps) the error is ~eps */
            if (DOPT_M(fabs)(step) <= (DOPT_IS_FLOAT ? (DOPT_REAL)1e-4 : (DOPT_REAL)1e-8) *
                                          (DOPT_M(fabs)(mu) > 1 ? DOPT_M(fabs)(mu) : 1))
                break;
        } else {
            DOPT_REAL half = (DOPT_REAL)0.5 * hi - (DOPT_REAL)0.5 * lo;
            next = half <= 64        ? lo + half
                   : DOPT_IS_FLOAT ? (DOPT_REAL)dopt__mpc_ordered_mid_float((float)lo, (float)hi)
                                   : (DOPT_REAL)dopt__mpc_ordered_mid((double)lo, (double)hi);
            dx_old = half;
            if (!(next > lo && next < hi)) { /* no real left inside the bracket */
                mu = g < 0 ? lo : hi;
                break;
            }
            mu = next;
        }
    }
    *mu_io = mu;
}

/* Smallest and largest of x[0..n); 0 when some x_i is NaN or Inf (vector min / max by masks). */
DOPT__KTARGET static int DOPT__KFN(dopt__mpc_lml_range)(int n, const DOPT_REAL *x, DOPT_REAL *xmin, DOPT_REAL *xmax)
{
    DOPT_REAL lo = x[0], hi = x[0], bad = 0;
    int i = 0;
#if DOPT__VEC_EXT
    if (n >= DOPT__VLEN) {
        typedef DOPT__KFN(dopt__vreal) V;
        typedef DOPT__KFN(dopt__mpc_vmask) M;
        V vlo = DOPT__VLD(x), vhi = vlo, vbad = vlo - vlo;
        int l;
        for (i = DOPT__VLEN; i + DOPT__VLEN <= n; i += DOPT__VLEN) {
            V v = DOPT__VLD(x + i);
            M below = (M)(v < vlo), above = (M)(v > vhi);
            vbad += v - v;
            vlo = (V)(((M)v & below) | ((M)vlo & ~below));
            vhi = (V)(((M)v & above) | ((M)vhi & ~above));
        }
        for (l = 0; l < DOPT__VLEN; ++l) {
            bad += vbad[l];
            lo = vlo[l] < lo ? vlo[l] : lo;
            hi = vhi[l] > hi ? vhi[l] : hi;
        }
    }
#endif
    for (; i < n; ++i) {
        bad += x[i] - x[i];
        lo = x[i] < lo ? x[i] : lo;
        hi = x[i] > hi ? x[i] : hi;
    }
    *xmin = lo, *xmax = hi;
    return bad == 0;
}

/* How many x_i exceed t (vector compares, no branches). */
DOPT__KTARGET static int DOPT__KFN(dopt__mpc_count_above)(int n, const DOPT_REAL *x, DOPT_REAL t)
{
    int i = 0, cnt = 0;
#if DOPT__VEC_EXT
    typedef DOPT__KFN(dopt__vreal) V;
    typedef DOPT__KFN(dopt__mpc_vmask) M;
    V vt;
    M acc;
    int l;
    memset(&vt, 0, sizeof vt);
    vt += t;
    acc = (M)(vt - vt);
    for (; i + DOPT__VLEN <= n; i += DOPT__VLEN) acc -= (M)(DOPT__VLD(x + i) > vt); /* true = all ones = -1 */
    for (l = 0; l < DOPT__VLEN; ++l) cnt += (int)acc[l];
#endif
    for (; i < n; ++i) cnt += x[i] > t;
    return cnt;
}

/* The product form's shift: a value c with exactly r of the x_i above it (between the r-th and
 * (r+1)-th largest), by bisection of [xmin, xmax] on counts (at most 12 counting passes; the
 * bracket's midpoint when ties or a narrow gap leave none found).  Only a start: the bracketed
 * Newton solve and the polish fix the dual. */
DOPT__KTARGET static DOPT_REAL DOPT__KFN(dopt__mpc_lml_split)(int n, int r, const DOPT_REAL *x, DOPT_REAL lo,
                                                              DOPT_REAL hi)
{
    int pass;
    for (pass = 0; pass < 12; ++pass) {
        DOPT_REAL mid = (DOPT_REAL)0.5 * lo + (DOPT_REAL)0.5 * hi;
        int cnt = DOPT__KFN(dopt__mpc_count_above)(n, x, mid);
        if (cnt == r) return mid;
        if (cnt > r) lo = mid;
        else hi = mid;
    }
    return (DOPT_REAL)0.5 * lo + (DOPT_REAL)0.5 * hi;
}

/* One LML projection; y (n reals, not overlapping x) doubles as the selection scratch and then
 * holds the factors a_i of the product form.  The dual is solved twice: first with x shifted by
 * c (between the r-th and (r+1)-th largest x, r = ceil(k) clamped to [1, n-1], found by
 * dopt__mpc_rth_largest), then, when the dual moved far (|mu| > 16), polished with x shifted by
 * the input nearest to the solution's 50% point, so an active entry sits at exactly 0 and huge
 * inputs lose no precision.  Inputs whose spread allows it (DOPT__MPC_LML_SPAN) take the product
 * form (one exponential per entry, then one division per entry and dual iteration); the others
 * the sigmoid sums (vectors in double, dopt__mpc_sigmoids). */
DOPT__KTARGET static dopt_status DOPT__KFN(dopt__mpc_lml_one)(int n, DOPT_REAL k, const DOPT_REAL *x, DOPT_REAL *y,
                                              DOPT_REAL *nu_out)
{
    DOPT_REAL xmax, xmin, c, c2, t, mu = 0, g = 0, next, *a = NULL;
    int i, r;
    if (!DOPT__KFN(dopt__mpc_lml_range)(n, x, &xmin, &xmax)) return DOPT_ERR_NON_FINITE;
    r = (int)DOPT_M(ceil)(k);
    if (r < 1) r = 1;
    if (r > n - 1) r = n - 1;
    if ((xmax - xmin) + DOPT_M(fabs)(DOPT_M(log)(k / ((DOPT_REAL)n - k))) < DOPT__MPC_LML_SPAN) {
        c = n <= 128 ? DOPT__KFN(dopt__mpc_lml_split)(n, r, x, xmin, xmax) : DOPT_FN(dopt__mpc_lml_start)(n, r, x, y);
        a = y;
        DOPT__KFN(dopt__mpc_lml_factors)(n, x, c, a);
    } else {
        c = (DOPT_REAL)0.5 * DOPT_FN(dopt__mpc_rth_largest)(n, r, x, y, &next) + (DOPT_REAL)0.5 * next;
    }
    DOPT__KFN(dopt__mpc_lml_dual)(n, x, a, k, c, xmin, xmax, &mu);
    t = c - mu; /* y_i = 1/2 where x_i = t */
    c2 = c;
    if (DOPT_M(fabs)(mu) > 16) { /* only a large shift loses digits */
        c2 = x[0];
        for (i = 1; i < n; ++i)
            if (DOPT_M(fabs)(x[i] - t) < DOPT_M(fabs)(c2 - t)) c2 = x[i];
    }
    if (c2 != c) {
        mu = (mu - c) + c2;
        c = c2;
        if (a) DOPT__KFN(dopt__mpc_lml_factors)(n, x, c, a);
        DOPT__KFN(dopt__mpc_lml_dual)(n, x, a, k, c, xmin, xmax, &mu);
    }
    if (a) {
        DOPT__KFN(dopt__mpc_lml_terms)(n, a, DOPT_M(exp)(-mu), y, &g);
    } else {
        i = 0;
#if DOPT__VEC_EXT && !DOPT_IS_FLOAT
        {
            double dd = 0;
            i = n;
            DOPT__KFN(dopt__mpc_sigmoids)(n, x, c, mu, y, &g, &dd);
        }
#endif
        for (; i < n; ++i) {
            y[i] = DOPT_FN(dopt__mpc_sigmoid)((x[i] - c) + mu);
            g += y[i];
        }
    }
    if (nu_out) *nu_out = mu - c;
    if (!(DOPT_M(fabs)(g - k) <= (DOPT_REAL)(64 * n) * DOPT_EPS * (k > 1 ? k : 1))) return DOPT_ERR_NO_CONVERGENCE;
    return DOPT_OK;
}

/* ---- the sampler's fast pass (see the normal sampler in the precision-independent part) ----
 * dopt__mpc_zig_fast: nb <= 64 blocks of 8 draws: lane l of block b draws u[b][l], writes its
 * candidate x to out[8 b + l] and sets bit l of bad[b] when it is not accepted at once.  Families
 * with AVX2 (avx2, avx512) run the 8 lanes as two 4-wide vectors, the others a plain loop: the
 * same bits either way (tests/test_cem.c checks every family this build holds). */
#if DOPT__MPC_X86_INTRIN && DOPT__VBYTES >= 32
DOPT__KTARGET static void DOPT__KFN(dopt__mpc_zig_fast)(const dopt__mpc_zig *z, dopt__mpc_lanes *L, int nb, double *out,
                                                        uint64_t (*u)[DOPT__MPC_LANES], unsigned char *bad)
{
    const __m256i one = _mm256_set1_epi64x(0x3FF0000000000000ll), low = _mm256_set1_epi64x(-2);
    const __m256d half3 = _mm256_set1_pd(1.5), sign = _mm256_set1_pd(-0.0);
    __m256i s[4][2];
    int b, h, k;
    for (k = 0; k < 4; ++k)
        for (h = 0; h < 2; ++h) s[k][h] = _mm256_loadu_si256((const __m256i *)(const void *)&L->s[k][4 * h]);
    for (b = 0; b < nb; ++b) {
        int mask = 0;
        for (h = 0; h < 2; ++h) {
            __m256i r = _mm256_add_epi64(s[0][h], s[3][h]), t = _mm256_slli_epi64(s[1][h], 17);
            const uint64_t *ub = &u[b][4 * h];
            __m256d c, lo, hi, w, in, x;
            s[2][h] = _mm256_xor_si256(s[2][h], s[0][h]);
            s[3][h] = _mm256_xor_si256(s[3][h], s[1][h]);
            s[1][h] = _mm256_xor_si256(s[1][h], s[2][h]);
            s[0][h] = _mm256_xor_si256(s[0][h], s[3][h]);
            s[2][h] = _mm256_xor_si256(s[2][h], t);
            s[3][h] = _mm256_or_si256(_mm256_slli_epi64(s[3][h], 45), _mm256_srli_epi64(s[3][h], 19));
            _mm256_storeu_si256((__m256i *)(void *)&u[b][4 * h], r);
            c = _mm256_sub_pd(
                _mm256_castsi256_pd(_mm256_or_si256(_mm256_and_si256(_mm256_srli_epi64(r, 12), low), one)), half3);
            /* {width, inner} of the 4 layers: lanes 0, 2 and 1, 3 paired, then split */
            lo = _mm256_insertf128_pd(_mm256_castpd128_pd256(_mm_loadu_pd(z->wi[(ub[0] >> 3) & 1023u])),
                                      _mm_loadu_pd(z->wi[(ub[2] >> 3) & 1023u]), 1);
            hi = _mm256_insertf128_pd(_mm256_castpd128_pd256(_mm_loadu_pd(z->wi[(ub[1] >> 3) & 1023u])),
                                      _mm_loadu_pd(z->wi[(ub[3] >> 3) & 1023u]), 1);
            w = _mm256_unpacklo_pd(lo, hi);
            in = _mm256_unpackhi_pd(lo, hi);
            x = _mm256_mul_pd(c, w);
            _mm256_storeu_pd(out + 8 * b + 4 * h, x);
            mask |= _mm256_movemask_pd(_mm256_cmp_pd(_mm256_andnot_pd(sign, x), in, _CMP_GE_OQ)) << (4 * h);
        }
        bad[b] = (unsigned char)mask;
    }
    for (k = 0; k < 4; ++k)
        for (h = 0; h < 2; ++h) _mm256_storeu_si256((__m256i *)(void *)&L->s[k][4 * h], s[k][h]);
}
#else
DOPT__KTARGET static void DOPT__KFN(dopt__mpc_zig_fast)(const dopt__mpc_zig *z, dopt__mpc_lanes *L, int nb, double *out,
                                                        uint64_t (*u)[DOPT__MPC_LANES], unsigned char *bad)
{
    int b, l, i;
    for (b = 0; b < nb; ++b) {
        int mask = 0;
        for (l = 0; l < DOPT__MPC_LANES; ++l) u[b][l] = dopt__mpc_lane_next(L, l);
        for (l = 0; l < DOPT__MPC_LANES; ++l)
            if (!dopt__mpc_zig_try(z, u[b][l], &i, &out[8 * b + l])) mask |= 1 << l;
        bad[b] = (unsigned char)mask;
    }
}
#endif

/* blocks x 8 normals into out, 64 blocks at a time: the fast pass, then each candidate that was
 * not accepted at once is replaced, in order, by dopt__mpc_zig_slow on its lane (continuing that
 * lane's stream after the 64 blocks). */
DOPT__KTARGET static void DOPT__KFN(dopt__mpc_zig_blocks)(const dopt__mpc_zig *z, dopt__mpc_lanes *L, int blocks, double *out)
{
    uint64_t u[64][DOPT__MPC_LANES];
    unsigned char bad[64];
    while (blocks > 0) {
        int nb = blocks < 64 ? blocks : 64, b, l;
        DOPT__KFN(dopt__mpc_zig_fast)(z, L, nb, out, u, bad);
        for (b = 0; b < nb; ++b)
            if (bad[b])
                for (l = 0; l < DOPT__MPC_LANES; ++l)
                    if (bad[b] & (1 << l)) out[DOPT__MPC_LANES * b + l] = dopt__mpc_zig_slow(z, L, l, u[b][l]);
        out += DOPT__MPC_LANES * nb;
        blocks -= nb;
    }
}

/* n N(0,1) draws from element sampler L into out (whole blocks of 8 draws: the draws past n of
 * the last block are dropped). */
DOPT__KTARGET static void DOPT__KFN(dopt__mpc_cem_normals)(const dopt__mpc_zig *z, dopt__mpc_lanes *L, size_t n, DOPT_REAL *out)
{
    double buf[64];
    size_t done = 0, i;
#if !DOPT_IS_FLOAT
    done = n / DOPT__MPC_LANES * DOPT__MPC_LANES;
    DOPT__KFN(dopt__mpc_zig_blocks)(z, L, (int)(done / DOPT__MPC_LANES), out);
#endif
    while (done < n) {
        size_t m = n - done < 64 ? n - done : 64;
        DOPT__KFN(dopt__mpc_zig_blocks)(z, L, (int)((m + DOPT__MPC_LANES - 1) / DOPT__MPC_LANES), buf);
        for (i = 0; i < m; ++i) out[done + i] = (DOPT_REAL)buf[i];
        done += m;
    }
}

/* The samples' affine map and its reverse run over the flat P x D array in tiles of r rows, r D
 * reals, with mean, std and the box repeated r times on the stack: r = VLEN when r D <=
 * DOPT__MPC_TILE (every tile then a whole number of vectors, whatever D), 1 otherwise. */
#ifndef DOPT__MPC_TILE
#define DOPT__MPC_TILE 80
#endif
DOPT__KTARGET static int DOPT__KFN(dopt__mpc_tile_rows)(int D)
{
#if DOPT__VEC_EXT
    if (D * DOPT__VLEN <= DOPT__MPC_TILE) return DOPT__VLEN;
#endif
    (void)D;
    return 1;
}

/* tile = r copies of the D reals v */
DOPT__KTARGET static void DOPT__KFN(dopt__mpc_tile_fill)(int r, int D, const DOPT_REAL *v, DOPT_REAL *tile)
{
    int j;
    for (j = 0; j < r; ++j) memcpy(tile + (size_t)j * (size_t)D, v, (size_t)D * sizeof(DOPT_REAL));
}

/* The P samples x_j = clamp(mean + std .* e_j) to the box (lo, hi; NULL: unbounded on that side)
 * into X (P x D); e NULL: in place (e is X). */
DOPT__KTARGET static void DOPT__KFN(dopt__mpc_cem_affine)(int P, int D, const DOPT_REAL *mu, const DOPT_REAL *sd,
                                                          const DOPT_REAL *lo, const DOPT_REAL *hi, const DOPT_REAL *e,
                                                          DOPT_REAL *X)
{
    DOPT_REAL tile[4][DOPT__MPC_TILE];
    const DOPT_REAL *DOPT_RESTRICT mt = mu, *DOPT_RESTRICT st = sd, *DOPT_RESTRICT lt = lo, *DOPT_RESTRICT ht = hi;
    int r = DOPT__KFN(dopt__mpc_tile_rows)(D), T = r * D, q;
    size_t N = (size_t)P * (size_t)D, q0;
    if (r > 1) {
        DOPT__KFN(dopt__mpc_tile_fill)(r, D, mu, tile[0]), mt = tile[0];
        DOPT__KFN(dopt__mpc_tile_fill)(r, D, sd, tile[1]), st = tile[1];
        if (lo) DOPT__KFN(dopt__mpc_tile_fill)(r, D, lo, tile[2]), lt = tile[2];
        if (hi) DOPT__KFN(dopt__mpc_tile_fill)(r, D, hi, tile[3]), ht = tile[3];
    }
    for (q0 = 0; q0 < N; q0 += (size_t)T) {
        int n = N - q0 < (size_t)T ? (int)(N - q0) : T;
        DOPT_REAL *DOPT_RESTRICT x = X + q0;
        if (e) {
            const DOPT_REAL *DOPT_RESTRICT eq = e + q0;
            for (q = 0; q < n; ++q) x[q] = mt[q] + st[q] * eq[q];
        } else {
            for (q = 0; q < n; ++q) x[q] = mt[q] + st[q] * x[q];
        }
        if (lt) for (q = 0; q < n; ++q) x[q] = x[q] < lt[q] ? lt[q] : x[q];
        if (ht) for (q = 0; q < n; ++q) x[q] = x[q] > ht[q] ? ht[q] : x[q];
    }
}

/* Draw element b's population into c->X (and its noise into eps when not NULL): the P D normals
 * of one fill, sample j's coordinate i from draw j D + i. */
DOPT__KTARGET static void DOPT__KFN(dopt__mpc_cem_sample)(DOPT_FN(dopt_mpc_cem) *c, ptrdiff_t b,
                                          const DOPT_FN(dopt_mpc_cem_options) *o, const DOPT_REAL *mean,
                                          const DOPT_REAL *std, DOPT_REAL *eps)
{
    int P = c->dims.population, D = c->dims.dim;
    DOPT_REAL *X = c->X + (size_t)b * (size_t)P * (size_t)D;
    DOPT__KFN(dopt__mpc_cem_normals)(&c->zig, &c->lanes[b], (size_t)P * (size_t)D, eps ? eps : X);
    DOPT__KFN(dopt__mpc_cem_affine)(P, D, mean, std, o->lower, o->upper, eps, X);
}

/* Smoothed, floored update of (mean, std) from the elite statistics (m, s). */
DOPT__KTARGET static void DOPT__KFN(dopt__mpc_cem_update)(int D, const DOPT_FN(dopt_mpc_cem_options) *o, const DOPT_REAL *m,
                                          const DOPT_REAL *s, DOPT_REAL *mean, DOPT_REAL *std)
{
    DOPT_REAL a = o->momentum;
    int i;
    for (i = 0; i < D; ++i) {
        DOPT_REAL si = s[i] > o->min_std ? s[i] : o->min_std;
        mean[i] = a == 0 ? m[i] : a * mean[i] + (1 - a) * m[i];
        std[i] = a == 0 ? si : a * std[i] + (1 - a) * si;
    }
}

/* Hard refit: m, s = mean and population std of the K samples X[idx[0..K)]. */
DOPT__KTARGET static void DOPT__KFN(dopt__mpc_cem_refit)(int D, int K, const DOPT_REAL *X, const int *idx, DOPT_REAL *m,
                                         DOPT_REAL *s)
{
    int e, i;
    DOPT_REAL inv = (DOPT_REAL)1 / (DOPT_REAL)K;
    for (i = 0; i < D; ++i) m[i] = 0, s[i] = 0;
    for (e = 0; e < K; ++e) {
        const DOPT_REAL *x = X + (size_t)idx[e] * (size_t)D;
        for (i = 0; i < D; ++i) m[i] += x[i];
    }
    for (i = 0; i < D; ++i) m[i] *= inv;
    for (e = 0; e < K; ++e) {
        const DOPT_REAL *x = X + (size_t)idx[e] * (size_t)D;
        for (i = 0; i < D; ++i) s[i] += (x[i] - m[i]) * (x[i] - m[i]);
    }
    for (i = 0; i < D; ++i) s[i] = DOPT_M(sqrt)(s[i] * inv);
}

/* Element b after its costs are in: rank the samples (non-finite last), keep the best sample,
 * refit and update mean and std (ms, ss: element b's).  An element whose samples all failed is
 * marked DOPT_ERR_NON_FINITE and stops changing. */
DOPT__KTARGET static void DOPT__KFN(dopt__mpc_cem_elites)(DOPT_FN(dopt_mpc_cem) *c, const DOPT_FN(dopt_mpc_cem_options) *o,
                                         ptrdiff_t b, int it, DOPT_REAL *ms, DOPT_REAL *ss,
                                         dopt_mpc_cem_report *report)
{
    const DOPT_REAL big = DOPT_IS_FLOAT ? (DOPT_REAL)FLT_MAX : (DOPT_REAL)DBL_MAX;
    int P = c->dims.population, D = c->dims.dim, K = c->dims.elites, j, bad = 0;
    const DOPT_REAL *f = c->cost + (size_t)b * (size_t)P, *X = c->X + (size_t)b * (size_t)P * (size_t)D;
    if (c->est[b] != DOPT_OK) return;
    for (j = 0; j < P; ++j) {
        c->idx[j] = j;
        c->key[j] = f[j];
        if (!(f[j] - f[j] == 0)) c->key[j] = big, ++bad;
    }
    if (report) report[b].bad_samples += bad, report[b].iterations = it + 1;
    if (bad == P) {
        c->est[b] = DOPT_ERR_NON_FINITE;
        return;
    }
    DOPT_FN(dopt__mpc_select)(P, K, c->key, c->idx);
    for (j = 0; j < K; ++j)
        if (c->key[j] < c->bestc[b] && f[c->idx[j]] - f[c->idx[j]] == 0) {
            c->bestc[b] = c->key[j];
            memcpy(c->best + (size_t)b * (size_t)D, X + (size_t)c->idx[j] * (size_t)D, (size_t)D * sizeof(DOPT_REAL));
        }
    DOPT__KFN(dopt__mpc_cem_refit)(D, K, X, c->idx, c->tmp, c->tmp + D);
    DOPT__KFN(dopt__mpc_cem_update)(D, o, c->tmp, c->tmp + D, ms, ss);
}

/* Standardize costs f (P reals): z = (f - mean f) / std f (population std; z = 0 when all equal).
 * Returns the std. */
/* sum_j a_j b_j (b NULL: sum_j a_j) in four interleaved sums (no chain of P dependent adds). */
DOPT__KTARGET static DOPT_REAL DOPT__KFN(dopt__mpc_dot4)(int P, const DOPT_REAL *DOPT_RESTRICT a, const DOPT_REAL *DOPT_RESTRICT b)
{
    DOPT_REAL s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    int j;
    for (j = 0; j + 3 < P; j += 4) {
        s0 += b ? a[j] * b[j] : a[j];
        s1 += b ? a[j + 1] * b[j + 1] : a[j + 1];
        s2 += b ? a[j + 2] * b[j + 2] : a[j + 2];
        s3 += b ? a[j + 3] * b[j + 3] : a[j + 3];
    }
    for (; j < P; ++j) s0 += b ? a[j] * b[j] : a[j];
    return (s0 + s1) + (s2 + s3);
}

DOPT__KTARGET static DOPT_REAL DOPT__KFN(dopt__mpc_standardize)(int P, const DOPT_REAL *DOPT_RESTRICT f, DOPT_REAL *DOPT_RESTRICT z)
{
    DOPT_REAL mu, v, sd, inv;
    int j;
    mu = DOPT__KFN(dopt__mpc_dot4)(P, f, NULL) / (DOPT_REAL)P;
    for (j = 0; j < P; ++j) z[j] = f[j] - mu;
    v = DOPT__KFN(dopt__mpc_dot4)(P, z, z);
    sd = DOPT_M(sqrt)(v / (DOPT_REAL)P);
    inv = sd > 0 ? 1 / sd : 0; /* one division, then products (z = 0 when all costs are equal) */
    for (j = 0; j < P; ++j) z[j] *= inv;
    return sd;
}

#if DOPT__VEC_EXT
/* ---- row kernels over a P x D array (D >= VLEN) ----
 * Coordinate block v of a row is the vector at dopt__mpc_voff(v, D) = v VLEN, except the last
 * one, which ends at the row's end (D - VLEN) and so overlaps the block before when VLEN does
 * not divide D: no access leaves the row, whatever D.  The lanes it shares with that block
 * recompute the same values from the same inputs in the same order, so stores of them are
 * idempotent; sums across a row, or added into an accumulator, keep only the block's fresh lanes
 * (dopt__mpc_fresh). */
DOPT__KTARGET static int DOPT__KFN(dopt__mpc_voff)(int v, int D)
{
    int o = v * DOPT__VLEN;
    return o + DOPT__VLEN > D ? D - DOPT__VLEN : o;
}

/* The lanes of block v (at offset o) that no earlier block covers: all ones, else zero. */
DOPT__KTARGET static DOPT__KFN(dopt__mpc_vmask) DOPT__KFN(dopt__mpc_fresh)(int v, int o)
{
    DOPT__KFN(dopt__mpc_vmask) f;
    int l;
    memset(&f, 0, sizeof f);
    for (l = 0; l < DOPT__VLEN; ++l)
        if (o + l >= v * DOPT__VLEN) f[l] = ~f[l];
    return f;
}

/* The sum of a vector's lanes. */
DOPT__KTARGET static DOPT_REAL DOPT__KFN(dopt__mpc_vsum)(DOPT__KFN(dopt__vreal) a)
{
    DOPT_REAL s = 0;
    int l;
    for (l = 0; l < DOPT__VLEN; ++l) s += a[l];
    return s;
}
#endif

/* Soft refit: m = sum_j w_j x_j / K, s = sqrt(sum_j w_j (x_j - m)^2 / K) per coordinate (two
 * passes: the second centred at m).  Vector families with D >= VLEN: per coordinate block, the
 * rows in four interleaved sums (no reduction across lanes). */
DOPT__KTARGET static void DOPT__KFN(dopt__mpc_dcem_refit)(int P, int D, int K, const DOPT_REAL *DOPT_RESTRICT X,
                                          const DOPT_REAL *DOPT_RESTRICT w, DOPT_REAL *DOPT_RESTRICT m,
                                          DOPT_REAL *DOPT_RESTRICT s)
{
    DOPT_REAL inv = (DOPT_REAL)1 / (DOPT_REAL)K;
    int j, i;
#if DOPT__VEC_EXT
    if (D >= DOPT__VLEN) {
        typedef DOPT__KFN(dopt__vreal) V;
        size_t Dz = (size_t)D;
        int v, nv = (D + DOPT__VLEN - 1) / DOPT__VLEN;
        for (v = 0; v < nv; ++v) {
            int o = DOPT__KFN(dopt__mpc_voff)(v, D);
            const DOPT_REAL *x = X + o;
            V a0, a1, a2, a3, mv;
            memset(&a0, 0, sizeof a0);
            a1 = a2 = a3 = a0;
            for (j = 0; j + 3 < P; j += 4) {
                a0 += w[j] * DOPT__VLD(x + (size_t)j * Dz);
                a1 += w[j + 1] * DOPT__VLD(x + (size_t)(j + 1) * Dz);
                a2 += w[j + 2] * DOPT__VLD(x + (size_t)(j + 2) * Dz);
                a3 += w[j + 3] * DOPT__VLD(x + (size_t)(j + 3) * Dz);
            }
            for (; j < P; ++j) a0 += w[j] * DOPT__VLD(x + (size_t)j * Dz);
            mv = ((a0 + a1) + (a2 + a3)) * inv;
            DOPT__VST(m + o, mv);
            a0 = a1 = a2 = a3 = mv - mv;
            for (j = 0; j + 3 < P; j += 4) {
                V r0 = DOPT__VLD(x + (size_t)j * Dz) - mv, r1 = DOPT__VLD(x + (size_t)(j + 1) * Dz) - mv;
                V r2 = DOPT__VLD(x + (size_t)(j + 2) * Dz) - mv, r3 = DOPT__VLD(x + (size_t)(j + 3) * Dz) - mv;
                a0 += (w[j] * r0) * r0;
                a1 += (w[j + 1] * r1) * r1;
                a2 += (w[j + 2] * r2) * r2;
                a3 += (w[j + 3] * r3) * r3;
            }
            for (; j < P; ++j) {
                V r0 = DOPT__VLD(x + (size_t)j * Dz) - mv;
                a0 += (w[j] * r0) * r0;
            }
            DOPT__VST(s + o, ((a0 + a1) + (a2 + a3)) * inv);
        }
        for (i = 0; i < D; ++i) s[i] = DOPT_M(sqrt)(s[i]);
        return;
    }
#endif
    for (i = 0; i < D; ++i) m[i] = 0, s[i] = 0;
    for (j = 0; j < P; ++j) {
        const DOPT_REAL *x = X + (size_t)j * (size_t)D;
        for (i = 0; i < D; ++i) m[i] += w[j] * x[i];
    }
    for (i = 0; i < D; ++i) m[i] *= inv;
    for (j = 0; j < P; ++j) {
        const DOPT_REAL *x = X + (size_t)j * (size_t)D;
        for (i = 0; i < D; ++i) s[i] += w[j] * (x[i] - m[i]) * (x[i] - m[i]);
    }
    for (i = 0; i < D; ++i) s[i] = DOPT_M(sqrt)(s[i] * inv);
}

/* The P samples x_j = clamp(mean + std .* e_j) of noise e (P x D) into X. */
DOPT__KTARGET static void DOPT__KFN(dopt__mpc_cem_samples)(const DOPT_FN(dopt_mpc_cem_options) *o, int P, int D, const DOPT_REAL *mu,
                                           const DOPT_REAL *sd, const DOPT_REAL *e, DOPT_REAL *X)
{
    DOPT__KFN(dopt__mpc_cem_affine)(P, D, mu, sd, o->lower, o->upper, e, X);
}

/* Reverse of the soft moments m = sum_j w_j x_j / K, V = sum_j w_j (x_j - m)^2 / K at fixed m
 * (its dependence on m is already in gm): gX_j = (2 gV (x_j - m) + gm) w_j / K and
 * gw_j = sum_i (gV_i (x_ji - m_i)^2 + gm_i x_ji) / K.  Vector families with D >= VLEN: row by
 * row in coordinate blocks, the row sum over the blocks' fresh lanes. */
DOPT__KTARGET static void DOPT__KFN(dopt__mpc_dcem_back_moments)(int P, int D, DOPT_REAL invK, const DOPT_REAL *DOPT_RESTRICT X,
                                                 const DOPT_REAL *DOPT_RESTRICT w, const DOPT_REAL *DOPT_RESTRICT m,
                                                 const DOPT_REAL *DOPT_RESTRICT gm, const DOPT_REAL *DOPT_RESTRICT gV,
                                                 DOPT_REAL *DOPT_RESTRICT gX, DOPT_REAL *DOPT_RESTRICT gw)
{
    int j, i;
#if DOPT__VEC_EXT
    if (D >= DOPT__VLEN) {
        typedef DOPT__KFN(dopt__vreal) V;
        typedef DOPT__KFN(dopt__mpc_vmask) M;
        int nv = (D + DOPT__VLEN - 1) / DOPT__VLEN, ol = D - DOPT__VLEN, v;
        M last = DOPT__KFN(dopt__mpc_fresh)(nv - 1, ol);
        for (j = 0; j < P; ++j) {
            const DOPT_REAL *x = X + (size_t)j * (size_t)D;
            DOPT_REAL *gx = gX + (size_t)j * (size_t)D, wj = w[j] * invK;
            V acc, xv, r, g2, g1, t;
            memset(&acc, 0, sizeof acc);
            for (v = 0; v + 1 < nv; ++v) {
                int o = v * DOPT__VLEN;
                xv = DOPT__VLD(x + o), r = xv - DOPT__VLD(m + o), g2 = DOPT__VLD(gV + o), g1 = DOPT__VLD(gm + o);
                DOPT__VST(gx + o, ((g2 + g2) * r + g1) * wj);
                acc += g2 * r * r + g1 * xv;
            }
            xv = DOPT__VLD(x + ol), r = xv - DOPT__VLD(m + ol), g2 = DOPT__VLD(gV + ol), g1 = DOPT__VLD(gm + ol);
            DOPT__VST(gx + ol, ((g2 + g2) * r + g1) * wj);
            t = g2 * r * r + g1 * xv;
            acc += (V)((M)t & last);
            gw[j] = DOPT__KFN(dopt__mpc_vsum)(acc) * invK;
        }
        return;
    }
#endif
    for (j = 0; j < P; ++j) {
        const DOPT_REAL *x = X + (size_t)j * D;
        DOPT_REAL *gx = gX + (size_t)j * D, acc0 = 0, acc1 = 0, wj = w[j] * invK;
        for (i = 0; i < D; ++i) gx[i] = (2 * gV[i] * (x[i] - m[i]) + gm[i]) * wj;
        for (i = 0; i + 1 < D; i += 2) {
            DOPT_REAL r0 = x[i] - m[i], r1 = x[i + 1] - m[i + 1];
            acc0 += gV[i] * r0 * r0 + gm[i] * x[i];
            acc1 += gV[i + 1] * r1 * r1 + gm[i + 1] * x[i + 1];
        }
        if (i < D) acc0 += gV[i] * (x[i] - m[i]) * (x[i] - m[i]) + gm[i] * x[i];
        gw[j] = (acc0 + acc1) * invK;
    }
}

/* One element's reverse step through iteration t before the objective: from the adjoints of the
 * next mean and std (c->gmean, c->gstd of b, replaced by their direct share alpha * g) to the
 * gradient of the samples (c->gX) and of the costs (c->gf). */
DOPT__KTARGET static void DOPT__KFN(dopt__mpc_dcem_back_refit)(DOPT_FN(dopt_mpc_cem) *c, int t, ptrdiff_t b)
{
    const DOPT_FN(dopt_mpc_cem_options) *o = &c->tape_opt;
    int P = c->dims.population, D = c->dims.dim, K = c->dims.elites, j, i;
    size_t PD = (size_t)P * (size_t)D;
    const DOPT_REAL *mu = DOPT__MPC_TAPE(c->t_mean, t, b, D), *sd = DOPT__MPC_TAPE(c->t_std, t, b, D);
    const DOPT_REAL *e = DOPT__MPC_TAPE(c->t_eps, t, b, PD), *f = DOPT__MPC_TAPE(c->t_cost, t, b, P);
    const DOPT_REAL *w = DOPT__MPC_TAPE(c->t_w, t, b, P), *m = DOPT__MPC_TAPE(c->t_m, t, b, D);
    const DOPT_REAL *s = DOPT__MPC_TAPE(c->t_s, t, b, D);
    DOPT_REAL *X = c->X + (size_t)b * PD, *gX = c->gX + (size_t)b * PD, *gf = c->gf + (size_t)b * (size_t)P;
    DOPT_REAL *gmean = c->gmean + (size_t)b * (size_t)D, *gstd = c->gstd + (size_t)b * (size_t)D;
    DOPT_REAL *gm = c->tmp, *gV = c->tmp + D, *gw = c->key, a = o->momentum, invK = (DOPT_REAL)1 / (DOPT_REAL)K;
    DOPT_REAL hs, hg, dd, sw;
    DOPT__KFN(dopt__mpc_cem_samples)(o, P, D, mu, sd, e, X);
    /* through the smoothing and the floor */
    for (i = 0; i < D; ++i) {
        DOPT_REAL gs = (1 - a) * gstd[i];
        gm[i] = (1 - a) * gmean[i];
        if (s[i] < o->min_std) gs = 0;
        gV[i] = s[i] > 0 ? gs / (2 * s[i]) : 0;
        gmean[i] *= a;
        gstd[i] *= a;
    }
    /* V depends on m: gm += gV dV/dm, dV_i/dm_i = -2 sum_j w_j (x_ji - m_i) / K, where
     * sum_j w_j x_ji = K m_i: -2 m_i (K - sum_j w_j) / K (no pass over the samples) */
    sw = DOPT__KFN(dopt__mpc_dot4)(P, w, NULL);
    for (i = 0; i < D; ++i) gm[i] += gV[i] * (-2 * m[i] * ((DOPT_REAL)K - sw) * invK);
    DOPT__KFN(dopt__mpc_dcem_back_moments)(P, D, invK, X, w, m, gm, gV, gX, gw);
    /* through the soft top-k: LML's VJP, then a = -z / tau */
    for (j = 0; j < P; ++j) gf[j] = w[j] * (1 - w[j]); /* h */
    hs = DOPT__KFN(dopt__mpc_dot4)(P, gf, NULL);
    hg = DOPT__KFN(dopt__mpc_dot4)(P, gf, gw);
    dd = hs > 0 ? hg / hs : 0;
    for (j = 0; j < P; ++j) gf[j] = -(gf[j] * (gw[j] - dd)) / o->temperature;
    /* through the standardization: gf = (gz - mean gz - z mean(gz z)) / std */
    if (o->normalize) {
        DOPT_REAL *z = c->key, mg, mgz, sdev = DOPT__KFN(dopt__mpc_standardize)(P, f, z);
        mg = DOPT__KFN(dopt__mpc_dot4)(P, gf, NULL) / (DOPT_REAL)P;
        mgz = DOPT__KFN(dopt__mpc_dot4)(P, gf, z) / (DOPT_REAL)P;
        sdev = sdev > 0 ? 1 / sdev : 0;
        for (j = 0; j < P; ++j) gf[j] = (gf[j] - mg - z[j] * mgz) * sdev;
    }
}

/* The samples' gradient (c->gX, objective share included) into the mean and std of iteration t. */
DOPT__KTARGET static void DOPT__KFN(dopt__mpc_dcem_back_sample)(DOPT_FN(dopt_mpc_cem) *c, int t, ptrdiff_t b)
{
    const DOPT_FN(dopt_mpc_cem_options) *o = &c->tape_opt;
    int P = c->dims.population, D = c->dims.dim, r = DOPT__KFN(dopt__mpc_tile_rows)(D), T = r * D, q, j, i;
    size_t N = (size_t)P * (size_t)D, q0;
    const DOPT_REAL *mu = DOPT__MPC_TAPE(c->t_mean, t, b, D), *sd = DOPT__MPC_TAPE(c->t_std, t, b, D);
    const DOPT_REAL *DOPT_RESTRICT e = DOPT__MPC_TAPE(c->t_eps, t, b, N), *DOPT_RESTRICT gX = c->gX + (size_t)b * N;
    DOPT_REAL *gmean = c->gmean + (size_t)b * (size_t)D, *gstd = c->gstd + (size_t)b * (size_t)D;
    /* tiled (r > 1): per tile position the sums of g and g e, then folded into the D coordinates;
     * r = 1: straight into gmean and gstd, the box in c->tmp */
    DOPT_REAL tile[6][DOPT__MPC_TILE];
    DOPT_REAL *DOPT_RESTRICT gm = r > 1 ? tile[0] : gmean, *DOPT_RESTRICT gs = r > 1 ? tile[1] : gstd;
    if (r > 1) for (q = 0; q < T; ++q) gm[q] = 0, gs[q] = 0;
    if (!o->lower && !o->upper) {
        for (q0 = 0; q0 < N; q0 += (size_t)T) {
            int n = N - q0 < (size_t)T ? (int)(N - q0) : T;
            for (q = 0; q < n; ++q) gm[q] += gX[q0 + q], gs[q] += gX[q0 + q] * e[q0 + q];
        }
    } else { /* a sample entry off the box (v < lo or v > hi) was clamped: no gradient */
        const DOPT_REAL *DOPT_RESTRICT mt = r > 1 ? tile[2] : mu, *DOPT_RESTRICT st = r > 1 ? tile[3] : sd;
        DOPT_REAL *DOPT_RESTRICT lt = r > 1 ? tile[4] : c->tmp, *DOPT_RESTRICT ht = r > 1 ? tile[5] : c->tmp + D;
        for (q = 0; q < T; ++q) {
            if (r > 1) tile[2][q] = mu[q % D], tile[3][q] = sd[q % D];
            lt[q] = o->lower ? o->lower[q % D] : -(DOPT_REAL)HUGE_VAL;
            ht[q] = o->upper ? o->upper[q % D] : (DOPT_REAL)HUGE_VAL;
        }
        for (q0 = 0; q0 < N; q0 += (size_t)T) {
            int n = N - q0 < (size_t)T ? (int)(N - q0) : T;
            for (q = 0; q < n; ++q) {
                DOPT_REAL v = mt[q] + st[q] * e[q0 + q], g = v < lt[q] || v > ht[q] ? 0 : gX[q0 + q];
                gm[q] += g, gs[q] += g * e[q0 + q];
            }
        }
    }
    if (r > 1)
        for (j = 0; j < r; ++j)
            for (i = 0; i < D; ++i) gmean[i] += gm[j * D + i], gstd[i] += gs[j * D + i];
}

#endif /* DOPT__MPC_CEM_KERNELS */

#if defined(DOPT_MPC__PASS_IMPL) && defined(DOPT_REAL) && !defined(DOPT__KDRIVE)
#ifdef __cplusplus
extern "C" {
#endif
/* the CEM kernels of every family this build holds (the region above) */
#define DOPT__MPC_CEM_KERNELS
#define DOPT__KDRIVE "dopt_mpc.h"
#include "dopt.h"
#undef DOPT__KDRIVE
#undef DOPT__MPC_CEM_KERNELS

/* The region's entry points in the kernel family the CPU runs. */
static dopt_status DOPT_FN(dopt__mpc_lml_one)(int n, DOPT_REAL k, const DOPT_REAL *x, DOPT_REAL *y, DOPT_REAL *nu_out)
{
    return DOPT__KSEL(DOPT_FN(dopt__mpc_lml_one))(n, k, x, y, nu_out);
}
static void DOPT_FN(dopt__mpc_cem_sample)(DOPT_FN(dopt_mpc_cem) *c, ptrdiff_t b, const DOPT_FN(dopt_mpc_cem_options) *o,
                                          const DOPT_REAL *mean, const DOPT_REAL *std, DOPT_REAL *eps)
{
    DOPT__KSEL(DOPT_FN(dopt__mpc_cem_sample))(c, b, o, mean, std, eps);
}
static void DOPT_FN(dopt__mpc_cem_elites)(DOPT_FN(dopt_mpc_cem) *c, const DOPT_FN(dopt_mpc_cem_options) *o,
                                          ptrdiff_t b, int it, DOPT_REAL *ms, DOPT_REAL *ss, dopt_mpc_cem_report *report)
{
    DOPT__KSEL(DOPT_FN(dopt__mpc_cem_elites))(c, o, b, it, ms, ss, report);
}
static DOPT_REAL DOPT_FN(dopt__mpc_standardize)(int P, const DOPT_REAL *f, DOPT_REAL *z)
{
    return DOPT__KSEL(DOPT_FN(dopt__mpc_standardize))(P, f, z);
}
static void DOPT_FN(dopt__mpc_dcem_refit)(int P, int D, int K, const DOPT_REAL *X, const DOPT_REAL *w, DOPT_REAL *m,
                                          DOPT_REAL *s)
{
    DOPT__KSEL(DOPT_FN(dopt__mpc_dcem_refit))(P, D, K, X, w, m, s);
}
static void DOPT_FN(dopt__mpc_cem_update)(int D, const DOPT_FN(dopt_mpc_cem_options) *o, const DOPT_REAL *m,
                                          const DOPT_REAL *s, DOPT_REAL *mean, DOPT_REAL *std)
{
    DOPT__KSEL(DOPT_FN(dopt__mpc_cem_update))(D, o, m, s, mean, std);
}
static void DOPT_FN(dopt__mpc_cem_samples)(const DOPT_FN(dopt_mpc_cem_options) *o, int P, int D, const DOPT_REAL *mu,
                                           const DOPT_REAL *sd, const DOPT_REAL *e, DOPT_REAL *X)
{
    DOPT__KSEL(DOPT_FN(dopt__mpc_cem_samples))(o, P, D, mu, sd, e, X);
}
static void DOPT_FN(dopt__mpc_dcem_back_refit)(DOPT_FN(dopt_mpc_cem) *c, int t, ptrdiff_t b)
{
    DOPT__KSEL(DOPT_FN(dopt__mpc_dcem_back_refit))(c, t, b);
}
static void DOPT_FN(dopt__mpc_dcem_back_sample)(DOPT_FN(dopt_mpc_cem) *c, int t, ptrdiff_t b)
{
    DOPT__KSEL(DOPT_FN(dopt__mpc_dcem_back_sample))(c, t, b);
}

DOPT_API dopt_status DOPT_FN(dopt_mpc_lml)(ptrdiff_t batch, int n, DOPT_REAL k, const DOPT_REAL *x,
                                           ptrdiff_t stride_x, DOPT_REAL *y, ptrdiff_t stride_y,
                                           DOPT_REAL *nu, dopt_status *element_status,
                                           dopt_errinfo *info)
{
    dopt_status first = DOPT_OK;
    ptrdiff_t b;
    if (batch < 0 || n < 2 || !(k > 0 && k < (DOPT_REAL)n) || (batch > 0 && (!x || !y)))
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0,
                                "lml: need batch >= 0, n >= 2, 0 < k < n, x and y");
    for (b = 0; b < batch; ++b) {
        DOPT_REAL *yb = y + b * stride_y;
        dopt_status st = DOPT_FN(dopt__mpc_lml_one)(n, k, x + b * stride_x, yb, nu ? nu + b : NULL);
        if (st != DOPT_OK) {
            int i;
            for (i = 0; i < n; ++i) yb[i] = k / (DOPT_REAL)n;
            if (first == DOPT_OK) {
                first = st;
                dopt_errinfo_set(info, st, (long)b, 0,
                                 st == DOPT_ERR_NON_FINITE ? "lml: NaN or Inf in x" : "lml: dual solve did not converge");
            }
        }
        if (element_status) element_status[b] = st;
    }
    return first;
}

DOPT_API dopt_status DOPT_FN(dopt_mpc_lml_backward)(ptrdiff_t batch, int n, const DOPT_REAL *y,
                                                    ptrdiff_t stride_y, const DOPT_REAL *g_y,
                                                    ptrdiff_t stride_gy, DOPT_REAL *g_x,
                                                    ptrdiff_t stride_gx, dopt_errinfo *info)
{
    ptrdiff_t b;
    if (batch < 0 || n < 1 || (batch > 0 && (!y || !g_y || !g_x)))
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "lml_backward: bad arguments");
    for (b = 0; b < batch; ++b) {
        const DOPT_REAL *yb = y + b * stride_y, *gy = g_y + b * stride_gy;
        DOPT_REAL *gx = g_x + b * stride_gx, hs = 0, hg = 0, d;
        int i;
        for (i = 0; i < n; ++i) {
            DOPT_REAL h = yb[i] * (1 - yb[i]);
            hs += h;
            hg += h * gy[i];
        }
        if (!(hg - hg == 0)) return dopt_errinfo_set(info, DOPT_ERR_NON_FINITE, (long)b, 0, "lml_backward: non-finite g_y");
        d = hs > 0 ? hg / hs : 0;
        for (i = 0; i < n; ++i) gx[i] = yb[i] * (1 - yb[i]) * (gy[i] - d);
    }
    return DOPT_OK;
}

/* Lay the solver's arrays out after the struct (cv->base NULL: count only). */
static void DOPT_FN(dopt__mpc_cem_layout)(const dopt_mpc_cem_dims *d, DOPT_FN(dopt_mpc_cem) *c,
                                          dopt__mpc_carver *cv)
{
    size_t B = (size_t)d->batch, P = (size_t)d->population, D = (size_t)d->dim;
    size_t S = (size_t)d->state_dim, T = (size_t)d->dcem_iterations, R = sizeof(DOPT_REAL);
    size_t BPD = dopt__mpc_count3(B, P, D), BP = dopt__mpc_count3(B, P, 1), BD = dopt__mpc_count3(B, D, 1);
    DOPT_FN(dopt_mpc_cem) dummy, *o = c ? c : &dummy;
    o->lanes = (dopt__mpc_lanes *)dopt__mpc_carve(cv, B, sizeof(dopt__mpc_lanes));
    o->est = (dopt_status *)dopt__mpc_carve(cv, B, sizeof(dopt_status));
    o->X = (DOPT_REAL *)dopt__mpc_carve(cv, BPD, R);
    o->cost = (DOPT_REAL *)dopt__mpc_carve(cv, BP, R);
    o->key = (DOPT_REAL *)dopt__mpc_carve(cv, P, R);
    o->idx = (int *)dopt__mpc_carve(cv, P, sizeof(int));
    o->tmp = (DOPT_REAL *)dopt__mpc_carve(cv, 2 * D, R);
    o->best = (DOPT_REAL *)dopt__mpc_carve(cv, BD, R);
    o->bestc = (DOPT_REAL *)dopt__mpc_carve(cv, B, R);
    o->state = S ? (DOPT_REAL *)dopt__mpc_carve(cv, dopt__mpc_count3(2, P, S), R) : NULL;
    if (T) {
        o->gX = (DOPT_REAL *)dopt__mpc_carve(cv, BPD, R);
        o->gf = (DOPT_REAL *)dopt__mpc_carve(cv, BP, R);
        o->gmean = (DOPT_REAL *)dopt__mpc_carve(cv, BD, R);
        o->gstd = (DOPT_REAL *)dopt__mpc_carve(cv, BD, R);
        o->t_eps = (DOPT_REAL *)dopt__mpc_carve(cv, dopt__mpc_count3(T, BPD, 1), R);
        o->t_cost = (DOPT_REAL *)dopt__mpc_carve(cv, dopt__mpc_count3(T, BP, 1), R);
        o->t_w = (DOPT_REAL *)dopt__mpc_carve(cv, dopt__mpc_count3(T, BP, 1), R);
        o->t_mean = (DOPT_REAL *)dopt__mpc_carve(cv, dopt__mpc_count3(T, BD, 1), R);
        o->t_std = (DOPT_REAL *)dopt__mpc_carve(cv, dopt__mpc_count3(T, BD, 1), R);
        o->t_m = (DOPT_REAL *)dopt__mpc_carve(cv, dopt__mpc_count3(T, BD, 1), R);
        o->t_s = (DOPT_REAL *)dopt__mpc_carve(cv, dopt__mpc_count3(T, BD, 1), R);
    }
}

DOPT_API dopt_status DOPT_FN(dopt_mpc_cem_workspace_size)(const dopt_mpc_cem_dims *dims, size_t *bytes,
                                                          dopt_errinfo *info)
{
    dopt__mpc_carver cv;
    dopt_status st = dopt__mpc_cem_check_dims(dims, info);
    if (st != DOPT_OK) return st;
    if (!bytes) return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "cem: bytes is NULL");
    cv.base = NULL;
    cv.ok = 1;
    cv.off = DOPT_WORKSPACE_ROUND(sizeof(DOPT_FN(dopt_mpc_cem)));
    DOPT_FN(dopt__mpc_cem_layout)(dims, NULL, &cv);
    if (!cv.ok) return dopt_errinfo_set(info, DOPT_ERR_ALLOCATION, -1, 0, "cem: size overflows size_t");
    *bytes = cv.off + DOPT_WORKSPACE_ALIGN;
    return DOPT_OK;
}

DOPT_API void DOPT_FN(dopt_mpc_cem_seed)(DOPT_FN(dopt_mpc_cem) *c, uint64_t seed, uint64_t first_stream)
{
    ptrdiff_t b;
    if (!c) return;
    for (b = 0; b < c->dims.batch; ++b) {
        dopt_rng r;
        dopt_rng_seed(&r, seed, first_stream + (uint64_t)b);
        dopt__mpc_lanes_seed(&c->lanes[b], &r);
    }
}

DOPT_API dopt_status DOPT_FN(dopt_mpc_cem_create_in)(void *memory, size_t bytes,
                                                     const dopt_mpc_cem_dims *dims,
                                                     DOPT_FN(dopt_mpc_cem) **out, dopt_errinfo *info)
{
    size_t need, pad;
    dopt__mpc_carver cv;
    DOPT_FN(dopt_mpc_cem) *c;
    dopt_status st;
    if (!out) return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "cem: out is NULL");
    *out = NULL;
    st = DOPT_FN(dopt_mpc_cem_workspace_size)(dims, &need, info);
    if (st != DOPT_OK) return st;
    if (!memory || bytes < need)
        return dopt_errinfo_set(info, DOPT_ERR_ALLOCATION, -1, 0, "cem: workspace too small");
    pad = (size_t)((DOPT_WORKSPACE_ALIGN - ((uintptr_t)memory % DOPT_WORKSPACE_ALIGN)) % DOPT_WORKSPACE_ALIGN);
    c = (DOPT_FN(dopt_mpc_cem) *)(void *)((unsigned char *)memory + pad);
    memset(c, 0, sizeof *c);
    c->dims = *dims;
    cv.base = (unsigned char *)c;
    cv.ok = 1;
    cv.off = DOPT_WORKSPACE_ROUND(sizeof(DOPT_FN(dopt_mpc_cem)));
    DOPT_FN(dopt__mpc_cem_layout)(dims, c, &cv);
    dopt__mpc_zig_init(&c->zig);
    DOPT_FN(dopt_mpc_cem_seed)(c, 0, 0);
    *out = c;
    return DOPT_OK;
}

DOPT_API dopt_status DOPT_FN(dopt_mpc_cem_create)(const dopt_hooks *hooks, const dopt_mpc_cem_dims *dims,
                                                  DOPT_FN(dopt_mpc_cem) **out, dopt_errinfo *info)
{
    size_t bytes = 0;
    void *mem;
    dopt_status st;
    if (!out) return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "cem: out is NULL");
    *out = NULL;
    st = DOPT_FN(dopt_mpc_cem_workspace_size)(dims, &bytes, info);
    mem = dopt_owned_alloc(hooks, bytes, &st, info);
    if (mem) st = DOPT_FN(dopt_mpc_cem_create_in)(mem, bytes, dims, out, info);
    return dopt_owned_keep(st, hooks, mem, bytes, st == DOPT_OK ? &(*out)->own : NULL);
}

DOPT_API void DOPT_FN(dopt_mpc_cem_destroy)(DOPT_FN(dopt_mpc_cem) *c)
{
    if (c) dopt_owned_release(&c->own);
}

DOPT_API DOPT_FN(dopt_mpc_cem_options) DOPT_FN(dopt_mpc_cem_default_options)(void)
{
    DOPT_FN(dopt_mpc_cem_options) o;
    memset(&o, 0, sizeof o);
    o.iterations = 10;
    o.momentum = 0;
    o.min_std = 0;
    o.lower = NULL;
    o.upper = NULL;
    o.temperature = 1;
    o.normalize = 1;
    return o;
}

/* the options with zeros replaced by defaults; bad values rejected */
static dopt_status DOPT_FN(dopt__mpc_cem_resolve)(const DOPT_FN(dopt_mpc_cem_options) *in, int dim,
                                                  DOPT_FN(dopt_mpc_cem_options) *o, dopt_errinfo *info)
{
    DOPT_FN(dopt_mpc_cem_options) d = DOPT_FN(dopt_mpc_cem_default_options)();
    int i;
    if (!in) {
        *o = d;
        return DOPT_OK;
    }
    *o = *in;
    if (o->iterations == 0) o->iterations = d.iterations;
    if (o->iterations < 0) return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "cem: iterations < 0");
    if (!(o->momentum >= 0 && o->momentum < 1))
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "cem: momentum must be in [0, 1)");
    if (o->min_std != o->min_std) return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "cem: min_std is NaN");
    if (o->min_std < 0) o->min_std = 0;
    if (o->temperature == 0) o->temperature = d.temperature;
    if (!(o->temperature > 0 && o->temperature - o->temperature == 0))
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "cem: temperature must be > 0 and finite");
    o->normalize = o->normalize >= 0 ? 1 : 0;
    for (i = 0; i < dim; ++i) {
        DOPT_REAL lo = o->lower ? o->lower[i] : -1, hi = o->upper ? o->upper[i] : 1;
        if (lo != lo || hi != hi || (o->lower && o->upper && lo > hi))
            return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, i, 0, "cem: bound is NaN or lower > upper");
    }
    return DOPT_OK;
}

/* Inputs shared by solve, plan and DCEM: finite mean, finite std >= 0. */
static dopt_status DOPT_FN(dopt__mpc_cem_check_in)(const DOPT_FN(dopt_mpc_cem) *c, const DOPT_REAL *mean,
                                                   ptrdiff_t sm, const DOPT_REAL *std, ptrdiff_t ss,
                                                   dopt_errinfo *info)
{
    ptrdiff_t b;
    int i, D = c->dims.dim;
    if (!mean || !std) return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "cem: mean or std is NULL");
    for (b = 0; b < c->dims.batch; ++b)
        for (i = 0; i < D; ++i) {
            DOPT_REAL mu = mean[b * sm + i], sd = std[b * ss + i];
            if (!(mu - mu == 0) || !(sd - sd == 0) || sd < 0)
                return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, (long)b, 0,
                                        "cem: mean or std not finite, or std < 0");
        }
    return DOPT_OK;
}

/* The CEM iteration loop behind solve and plan.  per_element = 0: each iteration samples the
 * whole batch and calls fn once for it (solve's contract); 1: element by element, fn(first = b,
 * count = 1) right after b's samples are drawn, while they are in cache (plan's rollouts, which
 * run per element anyway).  Both give the same results. */
static dopt_status DOPT_FN(dopt__mpc_cem_run)(DOPT_FN(dopt_mpc_cem) *c, const DOPT_FN(dopt_mpc_cem_options) *o,
                                              DOPT_FN(dopt__mpc_cost_fn) fn, void *user, int per_element,
                                              DOPT_REAL *mean, ptrdiff_t sm, DOPT_REAL *std, ptrdiff_t ss,
                                              DOPT_REAL *best_x, ptrdiff_t sb, DOPT_REAL *best_cost,
                                              dopt_mpc_cem_report *report, dopt_errinfo *info)
{
    const DOPT_REAL big = DOPT_IS_FLOAT ? (DOPT_REAL)FLT_MAX : (DOPT_REAL)DBL_MAX;
    ptrdiff_t B = c->dims.batch, b;
    int P = c->dims.population, D = c->dims.dim, it, i;
    size_t PD = (size_t)P * (size_t)D;
    dopt_status st = DOPT_OK;
    for (b = 0; b < B; ++b) {
        c->est[b] = DOPT_OK;
        c->bestc[b] = big;
        memcpy(c->best + (size_t)b * (size_t)D, mean + b * sm, (size_t)D * sizeof(DOPT_REAL));
        if (report) {
            report[b].status = DOPT_OK;
            report[b].iterations = 0;
            report[b].bad_samples = 0;
        }
    }
    for (it = 0; it < o->iterations; ++it) {
        if (per_element) {
            for (b = 0; b < B; ++b) {
                DOPT_FN(dopt__mpc_cem_sample)(c, b, o, mean + b * sm, std + b * ss, NULL);
                st = fn(user, b, 1, P, D, c->X + (size_t)b * PD, c->cost + (size_t)b * (size_t)P);
                if (st != DOPT_OK) return dopt_errinfo_set(info, st, (long)b, 0, "cem: the objective returned an error");
                DOPT_FN(dopt__mpc_cem_elites)(c, o, b, it, mean + b * sm, std + b * ss, report);
            }
            continue;
        }
        for (b = 0; b < B; ++b) DOPT_FN(dopt__mpc_cem_sample)(c, b, o, mean + b * sm, std + b * ss, NULL);
        st = fn(user, 0, B, P, D, c->X, c->cost);
        if (st != DOPT_OK) return dopt_errinfo_set(info, st, -1, 0, "cem: the objective returned an error");
        for (b = 0; b < B; ++b) DOPT_FN(dopt__mpc_cem_elites)(c, o, b, it, mean + b * sm, std + b * ss, report);
    }
    st = DOPT_OK;
    for (b = 0; b < B; ++b) {
        if (best_x) memcpy(best_x + b * sb, c->best + (size_t)b * (size_t)D, (size_t)D * sizeof(DOPT_REAL));
        if (best_cost) best_cost[b] = c->bestc[b] < big ? c->bestc[b] : (DOPT_REAL)HUGE_VAL;
        if (report) {
            DOPT_REAL mx = 0;
            for (i = 0; i < D; ++i) mx = std[b * ss + i] > mx ? std[b * ss + i] : mx;
            report[b].status = c->est[b];
            report[b].best_cost = c->bestc[b] < big ? (double)c->bestc[b] : HUGE_VAL;
            report[b].max_std = (double)mx;
        }
        if (c->est[b] != DOPT_OK && st == DOPT_OK) {
            st = c->est[b];
            dopt_errinfo_set(info, st, (long)b, 0, "cem: every sample of an iteration had a non-finite cost");
        }
    }
    return st;
}

DOPT_API dopt_status DOPT_FN(dopt_mpc_cem_solve)(DOPT_FN(dopt_mpc_cem) *c,
                                                 const DOPT_FN(dopt_mpc_cem_options) *opt,
                                                 const DOPT_FN(dopt_mpc_cem_objective) *obj,
                                                 DOPT_REAL *mean, ptrdiff_t stride_mean,
                                                 DOPT_REAL *std, ptrdiff_t stride_std,
                                                 DOPT_REAL *best_x, ptrdiff_t stride_best,
                                                 DOPT_REAL *best_cost, dopt_mpc_cem_report *report,
                                                 dopt_errinfo *info)
{
    DOPT_FN(dopt_mpc_cem_options) o;
    dopt_status st;
    if (!c || !obj || !obj->cost) return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "cem: solver or objective missing");
    if ((st = DOPT_FN(dopt__mpc_cem_resolve)(opt, c->dims.dim, &o, info)) != DOPT_OK) return st;
    if ((st = DOPT_FN(dopt__mpc_cem_check_in)(c, mean, stride_mean, std, stride_std, info)) != DOPT_OK) return st;
    return DOPT_FN(dopt__mpc_cem_run)(c, &o, obj->cost, obj->user, 0, mean, stride_mean, std, stride_std, best_x,
                                      stride_best, best_cost, report, info);
}

/* ---- CEM-MPC ---- */

typedef struct DOPT_FN(dopt__mpc_rollout) {
    DOPT_FN(dopt_mpc_cem) *c;
    const DOPT_FN(dopt_mpc_cem_dynamics) *dyn;
    const DOPT_REAL *x0;
    ptrdiff_t stride_x0;
} DOPT_FN(dopt__mpc_rollout);

/* The population cost of action sequences: roll each element's population out from its x0. */
static dopt_status DOPT_FN(dopt__mpc_rollout_cost)(void *user, ptrdiff_t first, ptrdiff_t count, int P, int D,
                                                   const DOPT_REAL *X, DOPT_REAL *cost)
{
    const DOPT_FN(dopt__mpc_rollout) *r = (const DOPT_FN(dopt__mpc_rollout) *)user;
    const DOPT_FN(dopt_mpc_cem_dynamics) *dyn = r->dyn;
    int S = r->c->dims.state_dim, nu = dyn->control_dim, H = D / nu, t, j;
    ptrdiff_t e;
    for (e = 0; e < count; ++e) {
        ptrdiff_t b = first + e;
        DOPT_REAL *xa = r->c->state, *xb = xa + (size_t)P * (size_t)S, *f = cost + (size_t)e * (size_t)P, *sw;
        const DOPT_REAL *U = X + (size_t)e * (size_t)P * (size_t)D;
        dopt_status st;
        for (j = 0; j < P; ++j) {
            memcpy(xa + (size_t)j * (size_t)S, r->x0 + b * r->stride_x0, (size_t)S * sizeof(DOPT_REAL));
            f[j] = 0;
        }
        for (t = 0; t < H; ++t) {
            st = dyn->step(dyn->user, b, t, P, xa, U + (size_t)t * (size_t)nu, D, xb, f);
            if (st != DOPT_OK) return st;
            sw = xa, xa = xb, xb = sw;
        }
        if (dyn->terminal && (st = dyn->terminal(dyn->user, b, P, xa, f)) != DOPT_OK) return st;
    }
    return DOPT_OK;
}

DOPT_API dopt_status DOPT_FN(dopt_mpc_cem_plan)(DOPT_FN(dopt_mpc_cem) *c,
                                                const DOPT_FN(dopt_mpc_cem_options) *opt,
                                                const DOPT_FN(dopt_mpc_cem_dynamics) *dyn,
                                                const DOPT_REAL *x0, ptrdiff_t stride_x0,
                                                DOPT_REAL *mean, ptrdiff_t stride_mean,
                                                DOPT_REAL *std, ptrdiff_t stride_std,
                                                DOPT_REAL *best_x, ptrdiff_t stride_best,
                                                DOPT_REAL *best_cost, dopt_mpc_cem_report *report,
                                                dopt_errinfo *info)
{
    DOPT_FN(dopt_mpc_cem_options) o;
    DOPT_FN(dopt__mpc_rollout) r;
    dopt_status st;
    if (!c || !dyn || !dyn->step || !x0 || dyn->control_dim < 1 || c->dims.state_dim < 1 ||
        c->dims.dim % dyn->control_dim != 0)
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0,
                                "cem_plan: need dynamics with step, x0, dims.state_dim >= 1, dim a multiple of control_dim");
    if ((st = DOPT_FN(dopt__mpc_cem_resolve)(opt, c->dims.dim, &o, info)) != DOPT_OK) return st;
    if ((st = DOPT_FN(dopt__mpc_cem_check_in)(c, mean, stride_mean, std, stride_std, info)) != DOPT_OK) return st;
    r.c = c;
    r.dyn = dyn;
    r.x0 = x0;
    r.stride_x0 = stride_x0;
    return DOPT_FN(dopt__mpc_cem_run)(c, &o, DOPT_FN(dopt__mpc_rollout_cost), &r, 1, mean, stride_mean, std,
                                      stride_std, best_x, stride_best, best_cost, report, info);
}

DOPT_API void DOPT_FN(dopt_mpc_cem_shift)(ptrdiff_t batch, int horizon, int control_dim,
                                          DOPT_REAL *mean, ptrdiff_t stride_mean, DOPT_REAL *std,
                                          ptrdiff_t stride_std, DOPT_REAL std_reset)
{
    ptrdiff_t b;
    size_t n = (size_t)horizon * (size_t)control_dim, nu = (size_t)control_dim;
    if (horizon < 1 || control_dim < 1) return;
    for (b = 0; b < batch; ++b) {
        DOPT_REAL *m = mean + b * stride_mean, *s = std ? std + b * stride_std : NULL;
        size_t i;
        memmove(m, m + nu, (n - nu) * sizeof(DOPT_REAL));
        if (!s) continue;
        if (std_reset >= 0) {
            for (i = 0; i < n; ++i) s[i] = std_reset;
        } else {
            memmove(s, s + nu, (n - nu) * sizeof(DOPT_REAL));
        }
    }
}

/* ---- DCEM ---- */

DOPT_API dopt_status DOPT_FN(dopt_mpc_dcem_forward)(DOPT_FN(dopt_mpc_cem) *c,
                                                    const DOPT_FN(dopt_mpc_cem_options) *opt,
                                                    const DOPT_FN(dopt_mpc_cem_objective) *obj,
                                                    DOPT_REAL *mean, ptrdiff_t stride_mean,
                                                    DOPT_REAL *std, ptrdiff_t stride_std,
                                                    dopt_mpc_cem_report *report, dopt_errinfo *info)
{
    DOPT_FN(dopt_mpc_cem_options) o;
    ptrdiff_t B, b;
    int P, D, K, it, j, i;
    size_t PD;
    dopt_status st;
    if (!c || !obj || !obj->cost) return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "dcem: solver or objective missing");
    if ((st = DOPT_FN(dopt__mpc_cem_resolve)(opt, c->dims.dim, &o, info)) != DOPT_OK) return st;
    if (o.iterations > c->dims.dcem_iterations)
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "dcem: iterations exceed dims.dcem_iterations");
    if ((st = DOPT_FN(dopt__mpc_cem_check_in)(c, mean, stride_mean, std, stride_std, info)) != DOPT_OK) return st;
    B = c->dims.batch, P = c->dims.population, D = c->dims.dim, K = c->dims.elites;
    PD = (size_t)P * (size_t)D;
    c->recorded = 0;
    c->tape_opt = o;
    for (b = 0; b < B; ++b) {
        c->est[b] = DOPT_OK;
        if (report) report[b].status = DOPT_OK, report[b].iterations = 0, report[b].bad_samples = 0,
                    report[b].best_cost = HUGE_VAL;
    }
    for (it = 0; it < o.iterations; ++it) {
        for (b = 0; b < B; ++b) {
            memcpy(DOPT__MPC_TAPE(c->t_mean, it, b, D), mean + b * stride_mean, (size_t)D * sizeof(DOPT_REAL));
            memcpy(DOPT__MPC_TAPE(c->t_std, it, b, D), std + b * stride_std, (size_t)D * sizeof(DOPT_REAL));
            DOPT_FN(dopt__mpc_cem_sample)(c, b, &o, mean + b * stride_mean, std + b * stride_std,
                                          DOPT__MPC_TAPE(c->t_eps, it, b, PD));
        }
        st = obj->cost(obj->user, 0, B, P, D, c->X, c->cost);
        if (st != DOPT_OK) return dopt_errinfo_set(info, st, -1, 0, "dcem: the objective returned an error");
        for (b = 0; b < B; ++b) {
            DOPT_REAL *f = DOPT__MPC_TAPE(c->t_cost, it, b, P), *w = DOPT__MPC_TAPE(c->t_w, it, b, P);
            DOPT_REAL *m = DOPT__MPC_TAPE(c->t_m, it, b, D), *s = DOPT__MPC_TAPE(c->t_s, it, b, D);
            memcpy(f, c->cost + (size_t)b * (size_t)P, (size_t)P * sizeof(DOPT_REAL));
            if (c->est[b] != DOPT_OK) continue;
            for (j = 0; j < P; ++j)
                if (!(f[j] - f[j] == 0)) c->est[b] = DOPT_ERR_NON_FINITE;
            if (c->est[b] != DOPT_OK) continue;
            if (report) {
                report[b].iterations = it + 1;
                for (j = 0; j < P; ++j)
                    if (f[j] < report[b].best_cost) report[b].best_cost = f[j];
            }
            if (o.normalize) DOPT_FN(dopt__mpc_standardize)(P, f, c->key);
            else memcpy(c->key, f, (size_t)P * sizeof(DOPT_REAL));
            for (j = 0; j < P; ++j) c->key[j] = -c->key[j] / o.temperature;
            st = DOPT_FN(dopt__mpc_lml_one)(P, (DOPT_REAL)K, c->key, w, NULL);
            if (st != DOPT_OK) {
                c->est[b] = st;
                continue;
            }
            DOPT_FN(dopt__mpc_dcem_refit)(P, D, K, c->X + (size_t)b * PD, w, m, s);
            DOPT_FN(dopt__mpc_cem_update)(D, &o, m, s, mean + b * stride_mean, std + b * stride_std);
        }
    }
    c->recorded = o.iterations;
    st = DOPT_OK;
    for (b = 0; b < B; ++b) {
        if (report) {
            DOPT_REAL mx = 0;
            for (i = 0; i < D; ++i) mx = std[b * stride_std + i] > mx ? std[b * stride_std + i] : mx;
            report[b].status = c->est[b];
            report[b].max_std = (double)mx;
        }
        if (c->est[b] != DOPT_OK && st == DOPT_OK) {
            st = c->est[b];
            dopt_errinfo_set(info, st, (long)b, 0, "dcem: non-finite cost (or the soft top-k failed)");
        }
    }
    return st;
}

DOPT_API dopt_status DOPT_FN(dopt_mpc_dcem_backward)(DOPT_FN(dopt_mpc_cem) *c,
                                                     const DOPT_FN(dopt_mpc_cem_objective) *obj,
                                                     const DOPT_REAL *g_mean, ptrdiff_t stride_gmean,
                                                     const DOPT_REAL *g_std, ptrdiff_t stride_gstd,
                                                     DOPT_REAL *g_mean0, ptrdiff_t stride_gmean0,
                                                     DOPT_REAL *g_std0, ptrdiff_t stride_gstd0,
                                                     dopt_errinfo *info)
{
    ptrdiff_t B, b;
    int P, D, t, i;
    size_t PD;
    dopt_status st;
    if (!c || !obj || !obj->cost_vjp || !g_mean || c->dims.dcem_iterations < 1)
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0,
                                "dcem_backward: need a DCEM solver, cost_vjp and g_mean");
    if (c->recorded < 1)
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "dcem_backward: no recorded forward");
    B = c->dims.batch, P = c->dims.population, D = c->dims.dim;
    PD = (size_t)P * (size_t)D;
    for (b = 0; b < B; ++b)
        for (i = 0; i < D; ++i) {
            c->gmean[(size_t)b * D + i] = c->est[b] == DOPT_OK ? g_mean[b * stride_gmean + i] : 0;
            c->gstd[(size_t)b * D + i] = c->est[b] == DOPT_OK && g_std ? g_std[b * stride_gstd + i] : 0;
        }
    for (t = c->recorded - 1; t >= 0; --t) {
        for (b = 0; b < B; ++b) {
            if (c->est[b] == DOPT_OK) {
                DOPT_FN(dopt__mpc_dcem_back_refit)(c, t, b);
            } else { /* a failed element contributes nothing; its samples stay valid inputs */
                DOPT_FN(dopt__mpc_cem_samples)(&c->tape_opt, P, D, DOPT__MPC_TAPE(c->t_mean, t, b, D),
                                               DOPT__MPC_TAPE(c->t_std, t, b, D), DOPT__MPC_TAPE(c->t_eps, t, b, PD),
                                               c->X + (size_t)b * PD);
                memset(c->gX + (size_t)b * PD, 0, PD * sizeof(DOPT_REAL));
                memset(c->gf + (size_t)b * P, 0, (size_t)P * sizeof(DOPT_REAL));
            }
        }
        st = obj->cost_vjp(obj->user, 0, B, P, D, c->X, c->gf, c->gX);
        if (st != DOPT_OK) return dopt_errinfo_set(info, st, -1, 0, "dcem_backward: cost_vjp returned an error");
        for (b = 0; b < B; ++b)
            if (c->est[b] == DOPT_OK) DOPT_FN(dopt__mpc_dcem_back_sample)(c, t, b);
    }
    for (b = 0; b < B; ++b) {
        if (!DOPT_FN(dopt_all_finite)(D, c->gmean + (size_t)b * D) || !DOPT_FN(dopt_all_finite)(D, c->gstd + (size_t)b * D))
            return dopt_errinfo_set(info, DOPT_ERR_NON_FINITE, (long)b, 0, "dcem_backward: non-finite gradient");
        if (g_mean0) memcpy(g_mean0 + b * stride_gmean0, c->gmean + (size_t)b * D, (size_t)D * sizeof(DOPT_REAL));
        if (g_std0) memcpy(g_std0 + b * stride_gstd0, c->gstd + (size_t)b * D, (size_t)D * sizeof(DOPT_REAL));
    }
    return DOPT_OK;
}
#undef DOPT__MPC_TAPE

/* ==== end CEM AND LML: implementation ==== */

/* ==== AUGMENTED-LAGRANGIAN MPC: implementation ==== */
#define R_ DOPT_REAL
struct DOPT_FN(dopt_mpc_al) {
    dopt_hooks hooks;
    void *owned;
    size_t owned_bytes;
    int n, m, T, ni, ne;
    ptrdiff_t B;
    DOPT_FN(dopt_mpc_ilqr) *ilqr;     /* batch 1: the primal steps, one element at a time          */
    DOPT_FN(dopt_mpc_lqr) *lqr;       /* batch B: the model of dopt_mpc_al_step / _backward         */
    R_ *lam, *lam_used, *eta, *eta_used, *mu, *mu_used; /* B*T*ni, B*T*ne, B                      */
    R_ *tau;                          /* B*T*(n+m): the iterate of the last solve                  */
    int *have;                        /* B: 1 when the element has a stored iterate                */
    R_ *C, *c, *F, *f;                /* the model, contiguous per element                          */
    R_ *dC, *dc, *dF, *df, *dx0;      /* its gradients                                              */
    R_ *cv, *cJ, *z, *cp, *cm, *tstep; /* constraint value/Jacobian and FD scratch, step output    */
    /* the primal step's problem: the current element, its multipliers */
    const DOPT_FN(dopt_mpc_al_problem) *prob;
    ptrdiff_t cur;
    const R_ *clam, *ceta;
    R_ cmu;
};

static size_t DOPT_FN(dopt__al_layout)(DOPT_FN(dopt_mpc_al) *s, dopt_workspace *ws, int n, int m, int T,
                                       int ni, int ne, ptrdiff_t B)
{
    size_t N = (size_t)(n + m), bt = (size_t)B * (size_t)T, tot = 0, sz[24], r = sizeof(R_);
    size_t nc = (size_t)(ni > ne ? ni : ne) + 1;
    void **dst[24];
    int i, cnt = 0;
#define DOPT__AL_BLK(ptr, bytes) (dst[cnt] = (void **)(void *)&(ptr), sz[cnt++] = (bytes))
    DOPT__AL_BLK(s->lam, bt * (size_t)ni * r + r);
    DOPT__AL_BLK(s->lam_used, bt * (size_t)ni * r + r);
    DOPT__AL_BLK(s->eta, bt * (size_t)ne * r + r);
    DOPT__AL_BLK(s->eta_used, bt * (size_t)ne * r + r);
    DOPT__AL_BLK(s->mu, (size_t)B * r);
    DOPT__AL_BLK(s->mu_used, (size_t)B * r);
    DOPT__AL_BLK(s->tau, bt * N * r);
    DOPT__AL_BLK(s->have, (size_t)B * sizeof(int));
    DOPT__AL_BLK(s->C, bt * N * N * r);
    DOPT__AL_BLK(s->c, bt * N * r);
    DOPT__AL_BLK(s->F, bt * (size_t)n * N * r);
    DOPT__AL_BLK(s->f, bt * (size_t)n * r);
    DOPT__AL_BLK(s->dC, bt * N * N * r);
    DOPT__AL_BLK(s->dc, bt * N * r);
    DOPT__AL_BLK(s->dF, bt * (size_t)n * N * r);
    DOPT__AL_BLK(s->df, bt * (size_t)n * r);
    DOPT__AL_BLK(s->dx0, (size_t)B * (size_t)n * r);
    DOPT__AL_BLK(s->cv, nc * r);
    DOPT__AL_BLK(s->cJ, nc * N * r);
    DOPT__AL_BLK(s->z, N * r);
    DOPT__AL_BLK(s->cp, (nc + N) * r);
    DOPT__AL_BLK(s->cm, (nc + N) * r);
    DOPT__AL_BLK(s->tstep, bt * N * r);
#undef DOPT__AL_BLK
    for (i = 0; i < cnt; ++i) {
        if (ws) {
            *dst[i] = dopt_workspace_take(ws, sz[i]);
            if (!*dst[i]) return 0;
        }
        tot += DOPT_WORKSPACE_ROUND(sz[i]);
    }
    return tot;
}

DOPT_API dopt_status DOPT_FN(dopt_mpc_al_workspace_size)(int n, int m, int T, int n_ineq, int n_eq, ptrdiff_t B,
                                                         size_t *bytes, dopt_errinfo *info)
{
    DOPT_FN(dopt_mpc_al) tmp;
    size_t il, lq;
    dopt_status st;
    if (!bytes) return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "mpc al: NULL bytes");
    *bytes = 0;
    if (n_ineq < 0 || n_eq < 0 || n_ineq > 65536 || n_eq > 65536)
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "mpc al: n_ineq, n_eq must be in [0, 65536]");
    if ((st = DOPT_FN(dopt_mpc_ilqr_workspace_size)(n, m, T, 1, &il, info)) != DOPT_OK) return st;
    if ((st = DOPT_FN(dopt_mpc_lqr_workspace_size)(n, m, T, B, &lq, info)) != DOPT_OK) return st;
    memset(&tmp, 0, sizeof tmp);
    *bytes = DOPT_WORKSPACE_ROUND(il) + DOPT_WORKSPACE_ROUND(lq) +
             DOPT_FN(dopt__al_layout)(&tmp, NULL, n, m, T, n_ineq, n_eq, B) + DOPT_WORKSPACE_ROUND(sizeof tmp) +
             DOPT_WORKSPACE_ALIGN;
    return DOPT_OK;
}

DOPT_API dopt_status DOPT_FN(dopt_mpc_al_create_in)(void *memory, size_t bytes, int n, int m, int T, int n_ineq,
                                                    int n_eq, ptrdiff_t B, DOPT_FN(dopt_mpc_al) **out,
                                                    dopt_errinfo *info)
{
    dopt_workspace ws;
    DOPT_FN(dopt_mpc_al) *s;
    size_t need, il, lq;
    void *imem, *lmem;
    dopt_status st;
    if (!out) return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "mpc al: NULL out");
    *out = NULL;
    if ((st = DOPT_FN(dopt_mpc_al_workspace_size)(n, m, T, n_ineq, n_eq, B, &need, info)) != DOPT_OK) return st;
    if (!memory || bytes < need)
        return dopt_errinfo_set(info, DOPT_ERR_ALLOCATION, -1, 0, "mpc al: workspace too small");
    DOPT_FN(dopt_mpc_ilqr_workspace_size)(n, m, T, 1, &il, NULL);
    DOPT_FN(dopt_mpc_lqr_workspace_size)(n, m, T, B, &lq, NULL);
    dopt_workspace_init(&ws, memory, bytes);
    s = (DOPT_FN(dopt_mpc_al) *)dopt_workspace_take(&ws, sizeof *s);
    if (!s) return dopt_errinfo_set(info, DOPT_ERR_ALLOCATION, -1, 0, "mpc al: workspace too small");
    memset(s, 0, sizeof *s);
    s->n = n; s->m = m; s->T = T; s->ni = n_ineq; s->ne = n_eq; s->B = B;
    imem = dopt_workspace_take(&ws, il);
    lmem = dopt_workspace_take(&ws, lq);
    if (!imem || !lmem || !DOPT_FN(dopt__al_layout)(s, &ws, n, m, T, n_ineq, n_eq, B))
        return dopt_errinfo_set(info, DOPT_ERR_ALLOCATION, -1, 0, "mpc al: workspace too small");
    if ((st = DOPT_FN(dopt_mpc_ilqr_create_in)(imem, il, n, m, T, 1, &s->ilqr, info)) != DOPT_OK) return st;
    if ((st = DOPT_FN(dopt_mpc_lqr_create_in)(lmem, lq, n, m, T, B, &s->lqr, info)) != DOPT_OK) return st;
    memset(s->have, 0, (size_t)B * sizeof(int));
    *out = s;
    return DOPT_OK;
}

DOPT_API dopt_status DOPT_FN(dopt_mpc_al_create)(const dopt_hooks *hooks, int n, int m, int T, int n_ineq,
                                                 int n_eq, ptrdiff_t B, DOPT_FN(dopt_mpc_al) **out,
                                                 dopt_errinfo *info)
{
    size_t bytes;
    void *mem;
    dopt_status st;
    if (!out) return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "mpc al: NULL out");
    *out = NULL;
    if ((st = DOPT_FN(dopt_mpc_al_workspace_size)(n, m, T, n_ineq, n_eq, B, &bytes, info)) != DOPT_OK) return st;
    mem = dopt_alloc(hooks, bytes);
    if (!mem) return dopt_errinfo_set(info, DOPT_ERR_ALLOCATION, -1, 0, "mpc al: out of memory");
    st = DOPT_FN(dopt_mpc_al_create_in)(mem, bytes, n, m, T, n_ineq, n_eq, B, out, info);
    if (st != DOPT_OK) {
        dopt_free(hooks, mem, bytes);
        return st;
    }
    if (hooks) (*out)->hooks = *hooks;
    (*out)->owned = mem;
    (*out)->owned_bytes = bytes;
    return DOPT_OK;
}

DOPT_API void DOPT_FN(dopt_mpc_al_destroy)(DOPT_FN(dopt_mpc_al) *s)
{
    dopt_hooks h;
    if (!s || !s->owned) return;
    h = s->hooks;
    dopt_free(&h, s->owned, s->owned_bytes);
}

/* Constraint values (kind 0: ineq, 1: eq) of element b at step t and, with J, their Jacobian
 * (count x N column-major): the callback's, or central differences. */
static dopt_status DOPT_FN(dopt__al_con)(DOPT_FN(dopt_mpc_al) *s, const DOPT_FN(dopt_mpc_al_problem) *p, int kind,
                                         ptrdiff_t b, int t, const R_ *tau, R_ *v, R_ *J)
{
    const int N = s->n + s->m, nc = kind ? s->ne : s->ni;
    DOPT_FN(dopt_mpc_constraint_fn) fn = kind ? p->eq : p->ineq;
    R_ *z = s->z, h0 = DOPT_M(cbrt)(DOPT_EPS);
    dopt_status st;
    int i, j;
    if (!J || p->constraint_jacobians) {
        if ((st = fn(p->user, b, t, tau, v, J)) != DOPT_OK) return st;
        return DOPT_FN(dopt_all_finite)(nc, v) && (!J || DOPT_FN(dopt_all_finite)(nc * N, J)) ? DOPT_OK : DOPT_ERR_NON_FINITE;
    }
    if ((st = fn(p->user, b, t, tau, v, NULL)) != DOPT_OK) return st;
    for (i = 0; i < N; ++i) z[i] = tau[i];
    for (j = 0; j < N; ++j) {
        R_ h = h0 * (1 + DOPT_M(fabs)(tau[j]));
        z[j] = tau[j] + h;
        if ((st = fn(p->user, b, t, z, s->cp, NULL)) != DOPT_OK) return st;
        z[j] = tau[j] - h;
        if ((st = fn(p->user, b, t, z, s->cm, NULL)) != DOPT_OK) return st;
        z[j] = tau[j];
        for (i = 0; i < nc; ++i) J[i + j * nc] = (s->cp[i] - s->cm[i]) / (2 * h);
    }
    return DOPT_FN(dopt_all_finite)(nc, v) && DOPT_FN(dopt_all_finite)(nc * N, J) ? DOPT_OK : DOPT_ERR_NON_FINITE;
}

/* The augmented stage cost of element b at step t with multipliers lam, eta and penalty mu:
 *   l_t + sum_i [max(0, lam_i + mu h_i)^2 - lam_i^2] / (2 mu) + sum_i eta_i g_i + mu/2 g_i^2,
 * its gradient and (g non-NULL) Gauss-Newton Hessian hess l_t + mu J^T D J (D: active rows). */
static dopt_status DOPT_FN(dopt__al_stage)(DOPT_FN(dopt_mpc_al) *s, const DOPT_FN(dopt_mpc_al_problem) *p,
                                           ptrdiff_t b, int t, const R_ *tau, const R_ *lam, const R_ *eta, R_ mu,
                                           R_ *val, R_ *g, R_ *H)
{
    const int N = s->n + s->m;
    dopt_status st;
    int kind, i, j, k;
    if ((st = p->cost(p->user, b, t, tau, val, g, H)) != DOPT_OK) return st;
    for (kind = 0; kind < 2; ++kind) {
        const int nc = kind ? s->ne : s->ni;
        const R_ *mult = kind ? eta : lam;
        R_ *v = s->cv, *J = s->cJ;
        if (!nc) continue;
        if ((st = DOPT_FN(dopt__al_con)(s, p, kind, b, t, tau, v, g ? J : NULL)) != DOPT_OK) return st;
        for (i = 0; i < nc; ++i) {
            R_ y = mult[i] + mu * v[i];
            if (kind) *val += mult[i] * v[i] + (R_)0.5 * mu * v[i] * v[i];
            else if (y > 0) *val += (y * y - mult[i] * mult[i]) / (2 * mu);
            else { *val -= mult[i] * mult[i] / (2 * mu); continue; }
            if (!g) continue;
            for (j = 0; j < N; ++j) {
                R_ Jij = J[i + j * nc], a = mu * Jij;
                g[j] += y * Jij;
                if (a != 0)
                    for (k = 0; k < N; ++k) H[k + j * N] += a * J[i + k * nc];
            }
        }
    }
    return DOPT_OK;
}

/* The primal step's callbacks: element s->cur of the user's problem, the current multipliers. */
static dopt_status DOPT_FN(dopt__al_dyn_cb)(void *user, ptrdiff_t b, int t, const R_ *x, const R_ *u, R_ *xn, R_ *F)
{
    DOPT_FN(dopt_mpc_al) *s = (DOPT_FN(dopt_mpc_al) *)user;
    (void)b;
    return s->prob->dynamics(s->prob->user, s->cur, t, x, u, xn, F);
}
static dopt_status DOPT_FN(dopt__al_cost_cb)(void *user, ptrdiff_t b, int t, const R_ *tau, R_ *l, R_ *g, R_ *H)
{
    DOPT_FN(dopt_mpc_al) *s = (DOPT_FN(dopt_mpc_al) *)user;
    (void)b;
    return DOPT_FN(dopt__al_stage)(s, s->prob, s->cur, t, tau, s->clam + (size_t)t * s->ni,
                                   s->ceta + (size_t)t * s->ne, s->cmu, l, g, H);
}

/* Violation max_t max(max h_t, |g_t|)_+ along element b's trajectory tau (contiguous); with
 * update, also the dual update lambda <- max(0, lambda + mu h), eta <- eta + mu g. */
static dopt_status DOPT_FN(dopt__al_violation)(DOPT_FN(dopt_mpc_al) *s, const DOPT_FN(dopt_mpc_al_problem) *p,
                                               ptrdiff_t b, const R_ *tau, int update, R_ *viol)
{
    const int N = s->n + s->m, T = s->T;
    R_ *lam = s->lam + (size_t)b * T * s->ni, *eta = s->eta + (size_t)b * T * s->ne, mu = s->mu[b];
    dopt_status st;
    int t, i, kind;
    *viol = 0;
    for (t = 0; t < T; ++t)
        for (kind = 0; kind < 2; ++kind) {
            const int nc = kind ? s->ne : s->ni;
            R_ *mult = (kind ? eta : lam) + (size_t)t * nc;
            if (!nc) continue;
            if ((st = DOPT_FN(dopt__al_con)(s, p, kind, b, t, tau + (size_t)t * N, s->cv, NULL)) != DOPT_OK) return st;
            for (i = 0; i < nc; ++i) {
                R_ v = kind ? DOPT_M(fabs)(s->cv[i]) : s->cv[i];
                if (v > *viol) *viol = v;
                if (update) {
                    R_ y = mult[i] + mu * s->cv[i];
                    mult[i] = kind || y > 0 ? y : 0;
                }
            }
        }
    return DOPT_OK;
}

/* Resolved options (zeros to defaults). */
static dopt_status DOPT_FN(dopt__al_options)(const DOPT_FN(dopt_mpc_al_options) *in, DOPT_FN(dopt_mpc_al_options) *o)
{
    if (in) *o = *in; else memset(o, 0, sizeof *o);
    if (o->max_outer < 0 || o->inner_max_iter < 0 || o->tol_violation < 0 || o->inner_tol < 0 || o->inner_tol_start < 0 || o->mu0 < 0 ||
        o->gamma < 0 || o->mu_max < 0 ||
        (o->warm_start != DOPT_MPC_WARM_NONE && o->warm_start != DOPT_MPC_WARM_AS_IS && o->warm_start != DOPT_MPC_WARM_SHIFT))
        return DOPT_ERR_INVALID_ARGUMENT;
    if (o->max_outer == 0) o->max_outer = 50;
    if (o->inner_max_iter == 0) o->inner_max_iter = 50;
    if (o->tol_violation == 0) o->tol_violation = DOPT_IS_FLOAT ? (R_)1e-3 : (R_)1e-7;
    if (o->inner_tol == 0) o->inner_tol = DOPT_IS_FLOAT ? (R_)1e-4 : (R_)1e-6;
    if (o->inner_tol_start == 0) o->inner_tol_start = (R_)1e-2;
    if (o->mu0 == 0) o->mu0 = 1;
    if (o->gamma == 0) o->gamma = 10;
    if (o->mu_max == 0) o->mu_max = DOPT_IS_FLOAT ? (R_)1e4 : (R_)1e7;
    if (o->gamma < 1 || o->mu0 > o->mu_max) return DOPT_ERR_INVALID_ARGUMENT;
    return DOPT_OK;
}

/* Start element b's multipliers: reset, or keep (shifted by one step with SHIFT). */
static void DOPT_FN(dopt__al_start_duals)(DOPT_FN(dopt_mpc_al) *s, ptrdiff_t b, const DOPT_FN(dopt_mpc_al_options) *o)
{
    const int T = s->T;
    int kind, t, i;
    if (!o->keep_duals || !s->have[b]) {
        memset(s->lam + (size_t)b * T * s->ni, 0, (size_t)T * s->ni * sizeof(R_));
        memset(s->eta + (size_t)b * T * s->ne, 0, (size_t)T * s->ne * sizeof(R_));
        s->mu[b] = o->mu0;
        return;
    }
    if (o->warm_start != DOPT_MPC_WARM_SHIFT) return;
    for (kind = 0; kind < 2; ++kind) {
        const int nc = kind ? s->ne : s->ni;
        R_ *mult = (kind ? s->eta : s->lam) + (size_t)b * T * nc;
        for (t = 0; t + 1 < T; ++t)
            for (i = 0; i < nc; ++i) mult[(size_t)t * nc + i] = mult[(size_t)(t + 1) * nc + i];
    }
}

/* The primal step's iLQR tolerance at outer iteration k (inexact early steps): the first
 * inner_tol_start, or inner_tol when tight (nothing constrained, or the duals carried over from
 * the last solve); later 0.01 x the violation after the previous step; always within
 * [inner_tol, inner_tol_start]. */
static R_ DOPT_FN(dopt__al_inner_tol)(const DOPT_FN(dopt_mpc_al_options) *o, int k, int tight, R_ prev_violation)
{
    R_ tol = k ? (R_)0.01 * prev_violation : (tight ? 0 : o->inner_tol_start);
    if (tol > o->inner_tol_start) tol = o->inner_tol_start;
    return tol > o->inner_tol ? tol : o->inner_tol;
}

/* The penalty after outer iteration's dual update: back by 1/gamma (not below mu0) when the
 * primal step stalled (its line search found no descent before it converged: the model at this
 * penalty is too stiff), else grown by gamma (always, or when the violation fell less than 4x),
 * capped at mu_max. */
static void DOPT_FN(dopt__al_penalty)(DOPT_FN(dopt_mpc_al) *s, ptrdiff_t b, const DOPT_FN(dopt_mpc_al_options) *o,
                                      int stalled, R_ violation, R_ prev_violation)
{
    if (stalled) {
        s->mu[b] /= o->gamma;
        if (s->mu[b] < o->mu0) s->mu[b] = o->mu0;
    } else if (o->penalty_always || violation > (R_)0.25 * prev_violation) {
        s->mu[b] *= o->gamma;
        if (s->mu[b] > o->mu_max) s->mu[b] = o->mu_max;
    }
}

/* The augmented-Lagrangian iterations of element b; tau_b: its slice of the output (read for the
 * warm start); the final iterate is copied to s->tau. */
static dopt_status DOPT_FN(dopt__al_one)(DOPT_FN(dopt_mpc_al) *s, const DOPT_FN(dopt_mpc_al_problem) *p, ptrdiff_t b,
                                         const R_ *x0, const DOPT_FN(dopt_mpc_al_options) *o, DOPT_FN(dopt_mpc_seq) tau_b,
                                         DOPT_FN(dopt_mpc_al_report) *rep)
{
    const int n = s->n, T = s->T, N = n + s->m;
    DOPT_FN(dopt_mpc_ilqr_problem) ip;
    DOPT_FN(dopt_mpc_ilqr_options) io;
    DOPT_FN(dopt_mpc_lqr_report) lr;
    DOPT_FN(dopt_mpc_cseq) xs;
    R_ *tb = s->tau + (size_t)b * T * N, prev = (R_)HUGE_VAL, l;
    dopt_status st;
    int k, t, i, inner_ok = 0, tight = !(s->ni + s->ne) || (o->keep_duals && s->have[b]);
    memset(&ip, 0, sizeof ip);
    ip.n_state = n;
    ip.n_ctrl = s->m;
    ip.dynamics = DOPT_FN(dopt__al_dyn_cb);
    ip.dynamics_jacobian = p->dynamics_jacobian;
    ip.cost = DOPT_FN(dopt__al_cost_cb);
    ip.cost_derivatives = p->cost_derivatives;
    ip.user = s;
    if (p->u_lower.p) { ip.u_lower = p->u_lower; ip.u_lower.p += b * p->u_lower.bs; ip.u_lower.bs = 0; }
    if (p->u_upper.p) { ip.u_upper = p->u_upper; ip.u_upper.p += b * p->u_upper.bs; ip.u_upper.bs = 0; }
    memset(&io, 0, sizeof io);
    io.max_iter = o->inner_max_iter;
    io.max_linesearch = 30;     /* stiff steps at large mu need short steps */
    io.tol = o->inner_tol;
    xs.p = x0; xs.ts = xs.bs = 0;
    s->prob = p;
    s->cur = b;
    s->clam = s->lam_used + (size_t)b * T * s->ni;
    s->ceta = s->eta_used + (size_t)b * T * s->ne;
    DOPT_FN(dopt__al_start_duals)(s, b, o);
    for (k = 0; k < o->max_outer; ++k) {
        memcpy(s->lam_used + (size_t)b * T * s->ni, s->lam + (size_t)b * T * s->ni, (size_t)T * s->ni * sizeof(R_));
        memcpy(s->eta_used + (size_t)b * T * s->ne, s->eta + (size_t)b * T * s->ne, (size_t)T * s->ne * sizeof(R_));
        s->cmu = s->mu_used[b] = s->mu[b];
        io.warm_start = k ? DOPT_MPC_WARM_AS_IS : o->warm_start;
        io.tol = DOPT_FN(dopt__al_inner_tol)(o, k, tight, rep->violation);
        st = DOPT_FN(dopt_mpc_ilqr_solve)(s->ilqr, &ip, xs, &io, tau_b, &lr, NULL);
        rep->inner_iterations += lr.iterations;
        rep->outer_iterations = k + 1;
        if (st != DOPT_OK && st != DOPT_ERR_NO_CONVERGENCE) return st;
        /* converged, or no descent left, at the final tolerance */
        inner_ok = io.tol <= o->inner_tol && (lr.converged || lr.iterations < o->inner_max_iter);
        for (t = 0; t < T; ++t)
            for (i = 0; i < N; ++i) tb[(size_t)t * N + i] = DOPT__LQR_AT(tau_b, 0, t)[i];
        s->have[b] = 1;
        if ((st = DOPT_FN(dopt__al_violation)(s, p, b, tb, 0, &rep->violation)) != DOPT_OK) return st;
        rep->converged = rep->violation <= o->tol_violation && inner_ok;
        if (rep->converged && !o->fixed_iterations) break;
        if ((st = DOPT_FN(dopt__al_violation)(s, p, b, tb, 1, &l)) != DOPT_OK) return st;
        DOPT_FN(dopt__al_penalty)(s, b, o, !lr.converged && lr.iterations < io.max_iter, rep->violation, prev);
        prev = rep->violation;
    }
    rep->mu = s->mu[b];
    rep->cost = 0;
    for (t = 0; t < T; ++t) {
        if ((st = p->cost(p->user, b, t, tb + (size_t)t * N, &l, NULL, NULL)) != DOPT_OK) return st;
        rep->cost += l;
    }
    return rep->converged || o->fixed_iterations ? DOPT_OK : DOPT_ERR_NO_CONVERGENCE;
}

/* Arguments shared by solve / step / backward. */
static dopt_status DOPT_FN(dopt__al_check)(const DOPT_FN(dopt_mpc_al) *s, const DOPT_FN(dopt_mpc_al_problem) *p,
                                           const R_ *x_init, dopt_errinfo *info)
{
    if (!s || !p || !x_init || !p->dynamics || !p->cost || (s->ni && !p->ineq) || (s->ne && !p->eq))
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "mpc al: NULL argument or callback");
    if (p->n_state != s->n || p->n_ctrl != s->m || p->n_ineq != s->ni || p->n_eq != s->ne)
        return dopt_errinfo_set(info, DOPT_ERR_DIMENSION, -1, 0,
                                "mpc al: the problem's n_state / n_ctrl / n_ineq / n_eq differ from the solver's");
    return DOPT_OK;
}

DOPT_API dopt_status DOPT_FN(dopt_mpc_al_solve)(DOPT_FN(dopt_mpc_al) *s,
                                                const DOPT_FN(dopt_mpc_al_problem) *problem,
                                                DOPT_FN(dopt_mpc_cseq) x_init,
                                                const DOPT_FN(dopt_mpc_al_options) *options,
                                                DOPT_FN(dopt_mpc_seq) tau,
                                                DOPT_FN(dopt_mpc_al_report) *reports,
                                                dopt_errinfo *info)
{
    DOPT_FN(dopt_mpc_al_options) o;
    dopt_status first = DOPT_OK, st;
    ptrdiff_t b;
    if ((st = DOPT_FN(dopt__al_check)(s, problem, x_init.p, info)) != DOPT_OK) return st;
    if (!tau.p) return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "mpc al: NULL tau");
    if (DOPT_FN(dopt__al_options)(options, &o) != DOPT_OK)
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "mpc al: bad option value");
    for (b = 0; b < s->B; ++b) {
        DOPT_FN(dopt_mpc_al_report) rep;
        DOPT_FN(dopt_mpc_seq) tb = tau;
        const R_ *x0 = DOPT__LQR_AT(x_init, b, 0);
        memset(&rep, 0, sizeof rep);
        tb.p += b * tau.bs;
        tb.bs = 0;
        st = DOPT_FN(dopt_all_finite)(s->n, x0) ? DOPT_OK : DOPT_ERR_NON_FINITE;
        if (st == DOPT_OK) st = DOPT_FN(dopt__al_one)(s, problem, b, x0, &o, tb, &rep);
        if (st != DOPT_OK && st != DOPT_ERR_NO_CONVERGENCE) s->have[b] = 0;
        rep.status = st;
        if (reports) reports[b] = rep;
        if (st != DOPT_OK && first == DOPT_OK) {
            first = st;
            if (st == DOPT_ERR_NO_CONVERGENCE)
                DOPT_FN(dopt__lqr_fail)(info, st, b, rep.outer_iterations,
                                        "mpc al: constraint violation above tol after outer iterations: ");
            else
                DOPT_FN(dopt__lqr_fail)(info, st, b, rep.outer_iterations,
                                        "mpc al: a primal step failed (callback, NaN/Inf or Q_uu), outer iteration ");
        }
    }
    return first;
}

DOPT_API dopt_status DOPT_FN(dopt_mpc_al_multipliers)(const DOPT_FN(dopt_mpc_al) *s, ptrdiff_t b,
                                                      R_ *lambda, R_ *eta, R_ *mu, dopt_errinfo *info)
{
    if (!s || b < 0 || b >= s->B)
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "mpc al: NULL solver or element out of range");
    if (!s->have[b]) return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, b, 0, "mpc al: element not solved");
    if (lambda) memcpy(lambda, s->lam + (size_t)b * s->T * s->ni, (size_t)s->T * s->ni * sizeof(R_));
    if (eta) memcpy(eta, s->eta + (size_t)b * s->T * s->ne, (size_t)s->T * s->ne * sizeof(R_));
    if (mu) *mu = s->mu[b];
    return DOPT_OK;
}

/* The LQR model of element b's augmented Lagrangian at the stored iterate (see dopt_mpc_al_step). */
static dopt_status DOPT_FN(dopt__al_model)(DOPT_FN(dopt_mpc_al) *s, const DOPT_FN(dopt_mpc_al_problem) *p, ptrdiff_t b)
{
    const int n = s->n, T = s->T, N = n + s->m;
    const R_ *tb = s->tau + (size_t)b * T * N;
    R_ l, h0 = DOPT_M(cbrt)(DOPT_EPS);
    dopt_status st;
    int t, i, j;
    for (t = 0; t < T; ++t) {
        const R_ *z = tb + (size_t)t * N;
        R_ *C = s->C + ((size_t)b * T + t) * N * N, *c = s->c + ((size_t)b * T + t) * N;
        st = DOPT_FN(dopt__al_stage)(s, p, b, t, z, s->lam_used + ((size_t)b * T + t) * s->ni,
                                     s->eta_used + ((size_t)b * T + t) * s->ne, s->mu_used[b], &l, c, C);
        if (st != DOPT_OK) return st;
        for (j = 0; j < N; ++j)
            for (i = 0; i < N; ++i) c[i] -= C[i + j * N] * z[j];
        if (t < T - 1) {
            R_ *F = s->F + ((size_t)b * T + t) * n * N, *f = s->f + ((size_t)b * T + t) * n;
            if ((st = p->dynamics(p->user, b, t, z, z + n, f, p->dynamics_jacobian ? F : NULL)) != DOPT_OK) return st;
            if (!p->dynamics_jacobian) {
                R_ *zz = s->z;
                for (i = 0; i < N; ++i) zz[i] = z[i];
                for (j = 0; j < N; ++j) {
                    R_ h = h0 * (1 + DOPT_M(fabs)(z[j]));
                    zz[j] = z[j] + h;
                    if ((st = p->dynamics(p->user, b, t, zz, zz + n, s->cp, NULL)) != DOPT_OK) return st;
                    zz[j] = z[j] - h;
                    if ((st = p->dynamics(p->user, b, t, zz, zz + n, s->cm, NULL)) != DOPT_OK) return st;
                    zz[j] = z[j];
                    for (i = 0; i < n; ++i) F[i + j * n] = (s->cp[i] - s->cm[i]) / (2 * h);
                }
            }
            for (j = 0; j < N; ++j)
                for (i = 0; i < n; ++i) f[i] -= F[i + j * n] * z[j];
        }
    }
    return DOPT_FN(dopt_all_finite)(N * N * T, s->C + (size_t)b * T * N * N) ? DOPT_OK : DOPT_ERR_NON_FINITE;
}

DOPT_API dopt_status DOPT_FN(dopt_mpc_al_step)(DOPT_FN(dopt_mpc_al) *s, const DOPT_FN(dopt_mpc_al_problem) *problem,
                                               DOPT_FN(dopt_mpc_cseq) x_init, DOPT_FN(dopt_mpc_seq) tau_out,
                                               dopt_errinfo *info)
{
    const int n = s ? s->n : 0, T = s ? s->T : 0, N = n + (s ? s->m : 0);
    DOPT_FN(dopt_mpc_lqr_data) d;
    DOPT_FN(dopt_mpc_seq) none;
    dopt_status st;
    ptrdiff_t b;
    if ((st = DOPT_FN(dopt__al_check)(s, problem, x_init.p, info)) != DOPT_OK) return st;
    if (!problem->cost_derivatives)
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "mpc al step: needs cost_derivatives = 1");
    for (b = 0; b < s->B; ++b) {
        if (!s->have[b]) return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, b, 0, "mpc al step: element has no iterate");
        if ((st = DOPT_FN(dopt__al_model)(s, problem, b)) != DOPT_OK)
            return dopt_errinfo_set(info, st, b, 0, "mpc al step: a callback failed or gave NaN/Inf");
    }
    memset(&d, 0, sizeof d);
    memset(&none, 0, sizeof none);
    d.C.p = s->C; d.C.ts = (ptrdiff_t)N * N; d.C.bs = d.C.ts * T;
    d.c.p = s->c; d.c.ts = N; d.c.bs = (ptrdiff_t)N * T;
    d.F.p = s->F; d.F.ts = (ptrdiff_t)n * N; d.F.bs = d.F.ts * T;
    d.f.p = s->f; d.f.ts = n; d.f.bs = (ptrdiff_t)n * T;
    d.x_init = x_init;
    d.u_lower = problem->u_lower;
    d.u_upper = problem->u_upper;
    return DOPT_FN(dopt_mpc_lqr_solve)(s->lqr, &d, NULL, tau_out, none, NULL, info);
}

/* Map the model's gradients of element b (dC, dc, dF, df) to the problem's quantities. */
static dopt_status DOPT_FN(dopt__al_grad_map)(DOPT_FN(dopt_mpc_al) *s, const DOPT_FN(dopt_mpc_al_problem) *p, ptrdiff_t b,
                                              const DOPT_FN(dopt_mpc_al_grad) *g)
{
    const int n = s->n, T = s->T, N = n + s->m;
    const R_ *tb = s->tau + (size_t)b * T * N;
    R_ *G = s->C + (size_t)b * T * N * N; /* the model is not needed any more: G_t overwrites C_t */
    dopt_status st;
    int t, i, j, k, kind;
    for (t = 0; t < T; ++t) {
        const R_ *z = tb + (size_t)t * N, *dc = s->dc + ((size_t)b * T + t) * N, *dC = s->dC + ((size_t)b * T + t) * N * N;
        R_ *Gt = G + (size_t)t * N * N;
        for (j = 0; j < N; ++j) /* G = sym(dC) - 1/2 (dc z^T + z dc^T): dL/dH through C and c */
            for (i = 0; i < N; ++i)
                Gt[i + j * N] = (R_)0.5 * (dC[i + j * N] + dC[j + i * N] - dc[i] * z[j] - z[i] * dc[j]);
        if (g->cost_grad.p) memcpy(DOPT__LQR_AT(g->cost_grad, b, t), dc, (size_t)N * sizeof(R_));
        if (g->cost_hess.p) memcpy(DOPT__LQR_AT(g->cost_hess, b, t), Gt, (size_t)N * N * sizeof(R_));
        for (kind = 0; kind < 2; ++kind) {
            const int nc = kind ? s->ne : s->ni;
            const R_ *mult = (kind ? s->eta_used : s->lam_used) + ((size_t)b * T + t) * nc;
            const R_ mu = s->mu_used[b];
            R_ *dv = kind ? (g->eq.p ? DOPT__LQR_AT(g->eq, b, t) : NULL) : (g->ineq.p ? DOPT__LQR_AT(g->ineq, b, t) : NULL);
            R_ *dJ = kind ? (g->eq_jac.p ? DOPT__LQR_AT(g->eq_jac, b, t) : NULL)
                          : (g->ineq_jac.p ? DOPT__LQR_AT(g->ineq_jac, b, t) : NULL);
            if (!nc || (!dv && !dJ)) continue;
            if ((st = DOPT_FN(dopt__al_con)(s, p, kind, b, t, z, s->cv, s->cJ)) != DOPT_OK) return st;
            for (i = 0; i < nc; ++i) {
                R_ y = mult[i] + mu * s->cv[i], act = kind || y > 0 ? 1 : 0, Jdc = 0;
                if (!act) y = 0;
                for (j = 0; j < N; ++j) Jdc += s->cJ[i + j * nc] * dc[j];
                if (dv) dv[i] = act * mu * Jdc;
                if (dJ)
                    for (j = 0; j < N; ++j) {
                        R_ GJ = 0;
                        for (k = 0; k < N; ++k) GJ += Gt[j + k * N] * s->cJ[i + k * nc];
                        dJ[i + j * nc] = y * dc[j] + 2 * act * mu * GJ;
                    }
            }
        }
        if (t < T - 1) {
            const R_ *df = s->df + ((size_t)b * T + t) * n, *dF = s->dF + ((size_t)b * T + t) * n * N;
            if (g->dyn.p) memcpy(DOPT__LQR_AT(g->dyn, b, t), df, (size_t)n * sizeof(R_));
            if (g->dyn_jac.p) {
                R_ *o = DOPT__LQR_AT(g->dyn_jac, b, t);
                for (j = 0; j < N; ++j)
                    for (i = 0; i < n; ++i) o[i + j * n] = dF[i + j * n] - df[i] * z[j];
            }
        }
    }
    if (g->x_init.p) memcpy(DOPT__LQR_AT(g->x_init, b, 0), s->dx0 + (size_t)b * n, (size_t)n * sizeof(R_));
    return DOPT_OK;
}

DOPT_API dopt_status DOPT_FN(dopt_mpc_al_backward)(DOPT_FN(dopt_mpc_al) *s,
                                                   const DOPT_FN(dopt_mpc_al_problem) *problem,
                                                   DOPT_FN(dopt_mpc_cseq) x_init, DOPT_FN(dopt_mpc_cseq) dtau,
                                                   const DOPT_FN(dopt_mpc_al_grad) *grad,
                                                   dopt_status *bwd_status, dopt_errinfo *info)
{
    const int n = s ? s->n : 0, T = s ? s->T : 0, N = n + (s ? s->m : 0);
    DOPT_FN(dopt_mpc_lqr_grad) mg;
    DOPT_FN(dopt_mpc_seq) out;
    dopt_status st;
    ptrdiff_t b;
    if (!grad || !dtau.p) return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "mpc al backward: NULL argument");
    out.p = s ? s->tstep : NULL; out.ts = N; out.bs = (ptrdiff_t)N * T;
    if ((st = DOPT_FN(dopt_mpc_al_step)(s, problem, x_init, out, info)) != DOPT_OK &&
        st != DOPT_ERR_NO_CONVERGENCE) return st;
    mg.C.p = s->dC; mg.C.ts = (ptrdiff_t)N * N; mg.C.bs = mg.C.ts * T;
    mg.c.p = s->dc; mg.c.ts = N; mg.c.bs = (ptrdiff_t)N * T;
    mg.F.p = s->dF; mg.F.ts = (ptrdiff_t)n * N; mg.F.bs = mg.F.ts * T;
    mg.f.p = s->df; mg.f.ts = n; mg.f.bs = (ptrdiff_t)n * T;
    mg.x_init.p = s->dx0; mg.x_init.ts = 0; mg.x_init.bs = n;
    if ((st = DOPT_FN(dopt_mpc_lqr_backward)(s->lqr, dtau, NULL, &mg, bwd_status, info)) != DOPT_OK) return st;
    for (b = 0; b < s->B; ++b)
        if ((st = DOPT_FN(dopt__al_grad_map)(s, problem, b, grad)) != DOPT_OK)
            return dopt_errinfo_set(info, st, b, 0, "mpc al backward: a constraint callback failed or gave NaN/Inf");
    return DOPT_OK;
}
#undef R_
/* ==== end AUGMENTED-LAGRANGIAN MPC: implementation ==== */
#ifdef __cplusplus
}
#endif
#endif /* DOPT_MPC__PASS_IMPL */
