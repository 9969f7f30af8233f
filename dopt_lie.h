/* dopt_lie.h — Lie groups for poses: SO2, SE2, SO3, SE3, Sim3, with analytic Jacobians.  (C99)
 *
 * WHAT THIS IS
 *   Every pose in pose-graph optimization, bundle adjustment, tracking and planning is an element
 *   of a Lie group.  This header gives, for each group, plain functions on plain arrays (cglm
 *   style: arrays in, arrays out, no handles):
 *     identity, exp, log, compose, inverse, between, act (transform a point), adjoint, hat/vee,
 *     normalize (project a drifted element back onto the group), geodesic interpolation,
 *     random elements from a dopt_rng stream, conversions (rotation matrix, homogeneous matrix,
 *     quaternion, angle-axis), the left/right Jacobians of exp and their inverses,
 *   each with optional analytic Jacobians on the tangent space, batched strided forms, manifold
 *   descriptors and cost functions for the least-squares layer of dopt.h, a g2o pose-graph reader
 *   and writer, and a generator of the synthetic pose graphs of the Theseus paper.
 *
 * STORAGE AND TANGENT ORDERING (the one place this is written down)
 *     group  stored reals                         tangent (local coordinates)       act on
 *     SO2    2: [c s]   (c = cos θ, s = sin θ)    1: [θ]                             R^2
 *     SE2    4: [x y c s]                         3: [vx vy θ]   [translation; rotation]  R^2
 *     SO3    4: [qx qy qz qw]  unit quaternion    3: [wx wy wz]  (angle-axis)        R^3
 *     SE3    7: [tx ty tz qx qy qz qw]            6: [vx vy vz wx wy wz] [translation; rotation]
 *     Sim3   8: [tx ty tz qx qy qz qw s]  s > 0   7: [v(3) w(3) σ], s = e^σ           R^3
 *   Quaternions are Hamilton, scalar LAST (as Eigen's coeffs(), g2o files and ROS); q and -q are
 *   the same rotation and every function accepts either.  Group actions:  SO: y = R p;
 *   SE: y = R p + t;  Sim3: y = s R p + t.  Exp of SE/Sim tangents couples translation and
 *   rotation (the true group exponential, not a separate "R^n x SO(n)").
 *
 * CONVENTIONS
 *   - RIGHT perturbations everywhere (as dopt.h's manifold descriptor): x ⊕ δ = x · Exp(δ),
 *     y ⊖ x = Log(x⁻¹ y).  The Jacobian of a group-valued f(x) is the matrix J with
 *         f(x · Exp(δ)) = f(x) · Exp(J δ + O(|δ|²)),
 *     of a vector-valued f (act, residuals) the matrix with f(x · Exp(δ)) = f(x) + J δ + O(|δ|²).
 *     Hence exp's Jacobian is Jr(ξ) (right Jacobian), log's is Jr(ξ)⁻¹, compose(a, b) has
 *     J_a = Ad(b⁻¹) and J_b = I, inverse(a) has -Ad(a), between(a, b) = a⁻¹ b has J_a = -Ad(b⁻¹ a),
 *     J_b = I.  Jl(ξ) = Jr(-ξ) are given too, for left-perturbation users.
 *   - Small matrices (Jacobians, adjoints, rotation and homogeneous matrices, hat) are ROW-MAJOR:
 *     entry (r, c) of an m x n matrix is M[r * n + c].  (dopt.h's dense kernels are column-major;
 *     a row-major m x n block is the column-major n x m transpose.)
 *   - Every Jacobian pointer is optional: pass NULL to skip it (and its cost).
 *   - Outputs may alias inputs (c = a · b with c == a is fine) unless a comment says otherwise.
 *   - Exactness: the log of SO3 (hence SE3, Sim3) takes θ = 2 atan2(|q_v|, |q_w|), exact for
 *     rotations up to and including π (a 1 - cos or acos formula loses half the digits there);
 *     Jacobian coefficients that cancel for small angles switch to their Taylor series.  Log
 *     returns θ in [0, π]; at exactly π the axis sign follows the stored quaternion.  Tested at
 *     θ = 0, 1e-12, 1e-8, 1e-4, π - 1e-6 and π.  Jr⁻¹ and log Jacobians are finite up to θ = π
 *     (they blow up only at 2π).
 *   - Speed: SO3 exp (θ <= π) evaluates sin(θ/2)/θ and cos(θ/2) as Chebyshev polynomials in θ²
 *     (no trig call, no square root, no branch at 0), and log uses its own branch-free atan2 on
 *     [0, π/2] (about 1 ulp; libm's general atan2 costs several times more); Jacobians reuse the
 *     same quantities (one division for log's Jr⁻¹).  Max deviation from libm-based formulas:
 *     4.4e-16 (exp, absolute) and 3.5 ulp (log components), measured over 4e6 inputs.
 *   - Inputs are assumed finite and (near-)normalized; single-element functions never fail.
 *     The cost functions and file readers return dopt_status.
 *
 * MINIMAL EXAMPLE (cc -std=c99 ex.c -lm)
 *       #define DOPT_IMPLEMENTATION
 *       #include "dopt_lie.h"
 *       #include <stdio.h>
 *       int main(void) {
 *           double xi[6] = {1, 0, 0, 0, 0, 1.5707963267948966};   // [v; w]: 90° about z
 *           double T[7], p[3] = {1, 0, 0}, y[3], J[18];
 *           dopt_se3_exp_d(xi, T, NULL);                   // T = Exp(xi)
 *           dopt_se3_act_d(T, p, y, J, NULL);              // y = R p + t, J = dy/dδ (3x6 row-major)
 *           printf("y = %.3f %.3f %.3f\n", y[0], y[1], y[2]);
 *           return 0;
 *       }
 *
 * LEAST SQUARES
 *   dopt_lie_manifold_se3_d() (and _so2/_se2/_so3/_sim3, _f) return dopt.h manifold descriptors
 *   (retract x·Exp(δ), local Log(x⁻¹y), project = normalize).  Cost callbacks of type
 *   dopt_cost_fn_d: priors r = Log(target⁻¹ x), between edges r = Log(meas⁻¹ · xi⁻¹ · xj) (as
 *   GTSAM and Theseus), pinhole reprojection and the BAL camera model; see "COSTS" below.
 *
 * POSE GRAPHS
 *   dopt_lie_g2o_read_d / _write_d read and write VERTEX_SE2 / EDGE_SE2 and VERTEX_SE3:QUAT /
 *   EDGE_SE3:QUAT files into a dopt_lie_pose_graph_d; dopt_lie_cube_graph_d generates the
 *   synthetic graphs of the Theseus paper.  See "POSE GRAPHS" below.
 *
 * BUNDLE ADJUSTMENT (its own entry point, built on dopt_lie_cost_bal's camera model)
 *   A dopt_lie_bal_d holds a BAL problem (Agarwal et al., "Bundle Adjustment in the Large"):
 *   cameras [angle-axis(3), t(3), f, k1, k2], points X, observations (camera, point, x, y), with
 *       r = f (1 + k1 |p|² + k2 |p|⁴) p - observed,   p = -P / P_z,   P = R(angle-axis) X + t.
 *   dopt_lie_bal_read_d / _write_d read and write BAL files (line-numbered DOPT_ERR_PARSE);
 *   dopt_lie_bal_scene_d generates synthetic ones.  dopt_lie_ba_solver_create_d analyzes the
 *   structure once; dopt_lie_ba_solve_d minimizes Ceres' cost 1/2 sum rho(|r_i|²) by
 *   Levenberg-Marquardt with Ceres' trust-region rules (radius 1e4, damping diag(JᵀJ) clamped
 *   to [1e-6, 1e32] over the radius, Jacobi scaling, stopping tolerances 1e-6 / 1e-10 / 1e-8):
 *       [U + D_c   W      ] [dc]   [-g_c]      every point block V_j + D_j (3x3) is inverted on its
 *       [Wᵀ        V + D_p] [dp] = [-g_p]      own; the reduced camera matrix
 *       S = U + D_c - sum_j W_j (V_j + D_j)⁻¹ W_jᵀ   (9x9 blocks, one per pair of cameras that
 *   share a point) is assembled block-sparse and factored through dopt.h's dopt_linear_solver
 *   (pass dopt_sparse.h's dopt_sparse_linear_solver_d, or NULL for the dense Cholesky), then
 *   dp = (V + D_p)⁻¹ (-g_p - Wᵀ dc).  Robust losses enter as Ceres does (IRLS weights sqrt(rho')).
 *   The same factorization, undamped, gives dopt_lie_ba_covariance_d (marginal covariances of
 *   chosen cameras and points, the gauge fixed by cameras held constant; read from the selected
 *   inverse of S when the linear solver offers one, as dopt_sparse.h's does) and
 *   dopt_lie_ba_backward_d / _backward_params_d (the IMPLICIT gradient of an outer loss through
 *   the solution with respect to the observations and to the fixed cameras' parameters).
 *   examples/bal.c is a complete program.
 *
 * OPTIONS: those of dopt.h (DOPT_IMPLEMENTATION, DOPT_STATIC, DOPT_NO_STDIO: without stdio the
 *   g2o and BAL readers and writers are left out), and
 *   DOPT_LIE_STREAM_BYTES  output size in bytes from which the batch forms write with
 *                          non-temporal stores on x86-64 (default 16 MiB; 0 turns streaming off)
 *
 * LICENSE: MIT (see dopt.h).
 */
#if !defined(DOPT__DRIVE)
#ifndef DOPT_LIE_H
#define DOPT_LIE_H
#include "dopt.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The groups, for pose graphs and descriptors. */
typedef enum dopt_lie_group {
    DOPT_LIE_SO2 = 0,
    DOPT_LIE_SE2,
    DOPT_LIE_SO3,
    DOPT_LIE_SE3,
    DOPT_LIE_SIM3
} dopt_lie_group;

/* dopt_lie_dim / dopt_lie_tangent_dim: stored reals / tangent reals of a group (0 if unknown). */
DOPT_API int dopt_lie_dim(dopt_lie_group g);
DOPT_API int dopt_lie_tangent_dim(dopt_lie_group g);

/* Options of the synthetic pose-graph generator (dopt_lie_cube_graph_d).  Zero means default.
 *   num_poses           poses in the chain (default 256)
 *   translation_noise   half-width of the uniform noise on measured translations (default 0.05)
 *   rotation_noise      half-width of the uniform noise on measured rotations, rad (default 0.02)
 *   loop_closure_ratio  probability that a pose closes loops to earlier poses (default 0.2;
 *                       negative: no loop closures)
 *   outlier_ratio       probability that a loop closure is an outlier, i.e. its measurement is
 *                       composed with a random pose (default 0: none; the paper uses 0.25)
 *   max_loop_closures   a closing pose links to 1..max_loop_closures random earlier poses
 *                       (default 10)
 *   step_translation    relative ground-truth motion: translation uniform in ±step_translation
 *                       per axis (default 0.5)
 *   step_rotation       and rotation vector uniform in ±step_rotation per axis (default 1.0) */
typedef struct dopt_lie_cube_options {
    int num_poses;
    double translation_noise;
    double rotation_noise;
    double loop_closure_ratio;
    double outlier_ratio;
    int max_loop_closures;
    double step_translation;
    double step_rotation;
} dopt_lie_cube_options;

/* ---- BUNDLE ADJUSTMENT (options and report; see "BUNDLE ADJUSTMENT" in the overview) ---------- */

/* Options of dopt_lie_ba_solve: Levenberg-Marquardt with the rules of Ceres' trust-region
 * minimizer (so that the two stop at the same place).  Zero means default; DOPT_OFF (negative)
 * switches a tolerance off.
 *   max_iterations        steps tried, accepted or not (default 50)
 *   function_tolerance    stop when |cost change| <= tol * cost (default 1e-6)
 *   gradient_tolerance    stop when max_i |g_i| <= tol (default 1e-10)
 *   parameter_tolerance   stop when ||step|| <= tol (||x|| + tol) (default 1e-8)
 *   initial_radius        trust radius; the damping is 1 / radius (default 1e4)
 *   max_radius            (default 1e16)
 *   min_radius            stop with NO_PROGRESS below it (default 1e-32)
 *   min_relative_decrease accept a step when actual / model decrease > it (default 1e-3)
 *   min_lm_diagonal, max_lm_diagonal   clamp of the damping diagonal diag(JᵀJ) (1e-6, 1e32)
 *   loss, loss_scale      robust loss of the squared reprojection error (dopt_loss_kind; NONE,
 *                         HUBER, CAUCHY, ...; scale a, default 1) as Ceres: IRLS weighting
 *   jacobi_scaling        0: on (columns scaled by 1 / (1 + ||J column||), from the first
 *                         linearization of the solve, as Ceres); DOPT_OFF: off
 *   timing                1: fill the report's time fields (calls clock()) */
typedef struct dopt_lie_ba_options {
    int max_iterations;
    double function_tolerance;
    double gradient_tolerance;
    double parameter_tolerance;
    double initial_radius;
    double max_radius;
    double min_radius;
    double min_relative_decrease;
    double min_lm_diagonal;
    double max_lm_diagonal;
    dopt_loss_kind loss;
    double loss_scale;
    int jacobi_scaling;
    int timing;
} dopt_lie_ba_options;

/* Outcome of dopt_lie_ba_solve.  Costs are Ceres': 1/2 sum_i rho(||r_i||²). */
typedef struct dopt_lie_ba_report {
    dopt_status status;       /* DOPT_OK, or what stopped it                                     */
    dopt_nlls_stop stop;      /* why it stopped                                                  */
    int iterations;           /* steps tried (accepted and rejected)                             */
    int accepted;             /* steps accepted                                                  */
    double initial_cost, final_cost;
    double gradient_norm;     /* max |g_i| at the last linearization                             */
    long fail_camera, fail_point; /* the block whose factorization failed, else -1             */
    double time_linearize_s;  /* with options.timing: residuals + Jacobians + normal blocks      */
    double time_schur_s;      /* point elimination, reduced camera matrix, back-substitution    */
    double time_factor_s;     /* reduced camera system: factor + solve                           */
    double time_total_s;
} dopt_lie_ba_report;

/* Options of the synthetic BAL scene generator (dopt_lie_bal_scene).  Zero means default.
 *   num_cameras        cameras on a straight track along x, 1 unit apart, centred on the origin,
 *                      looking towards +y (default 100); points 4..12 units in front of them
 *   points_per_camera  observations per camera on average (default 100)
 *   min_views, max_views   each point is seen by a run of consecutive cameras, its length uniform
 *                      in [min_views, max_views] (default 3, 10)
 *   pixel_noise        std. deviation of the observation noise, pixels (default 1; DOPT_OFF: 0)
 *   rotation_noise     std. deviation of the initial cameras' angle-axis error, rad (default 0.01)
 *   translation_noise  std. deviation of the initial cameras' centre error (default 0.05)
 *   point_noise        std. deviation of the initial points' error (default 0.1)
 *   focal              focal length in pixels (default 500; k1 = 0.01, k2 = 0.001) */
typedef struct dopt_lie_bal_scene_options {
    int num_cameras;
    int points_per_camera;
    int min_views, max_views;
    double pixel_noise;
    double rotation_noise;
    double translation_noise;
    double point_noise;
    double focal;
} dopt_lie_bal_scene_options;

#ifdef __cplusplus
}
#endif

#define DOPT_LIE__PASS_DECL
#define DOPT__DRIVE "dopt_lie.h"
#include "dopt.h"
#undef DOPT__DRIVE
#undef DOPT_LIE__PASS_DECL
#endif /* DOPT_LIE_H */
#endif /* !DOPT__DRIVE */

/* =============================================================================================== */
/* Generic declarations (one pass per precision).                                                 */
/* =============================================================================================== */
#if defined(DOPT_LIE__PASS_DECL) && defined(DOPT_REAL)
#ifdef __cplusplus
extern "C" {
#endif

/* ---- SO3: unit quaternion [qx qy qz qw], tangent w (3) ----------------------------------------- */

/* dopt_so3_identity: g = [0 0 0 1]. */
DOPT_API void DOPT_FN(dopt_so3_identity)(DOPT_REAL g[4]);
/* dopt_so3_exp: g = Exp(w), the rotation by angle |w| about w/|w| (qw >= 0 when |w| <= π).
 *   J  optional 3x3, Jr(w) (right Jacobian of exp). */
DOPT_API void DOPT_FN(dopt_so3_exp)(const DOPT_REAL w[3], DOPT_REAL g[4], DOPT_REAL *J);
/* dopt_so3_log: w = Log(g), |w| in [0, π] (exact near 0 and π; q and -q give the same w
 *   except at exactly π).  J optional 3x3, d Log(g·Exp(δ))/dδ = Jr(w)⁻¹. */
DOPT_API void DOPT_FN(dopt_so3_log)(const DOPT_REAL g[4], DOPT_REAL w[3], DOPT_REAL *J);
/* dopt_so3_compose: c = a · b.  Ja (3x3) = Ad(b⁻¹) = R_bᵀ, Jb (3x3) = I; both optional. */
DOPT_API void DOPT_FN(dopt_so3_compose)(const DOPT_REAL a[4], const DOPT_REAL b[4], DOPT_REAL c[4],
                                        DOPT_REAL *Ja, DOPT_REAL *Jb);
/* dopt_so3_inverse: b = a⁻¹ (conjugate quaternion).  J (3x3, optional) = -Ad(a) = -R_a. */
DOPT_API void DOPT_FN(dopt_so3_inverse)(const DOPT_REAL a[4], DOPT_REAL b[4], DOPT_REAL *J);
/* dopt_so3_between: c = a⁻¹ · b.  Ja (3x3) = -Ad(c⁻¹), Jb = I; both optional. */
DOPT_API void DOPT_FN(dopt_so3_between)(const DOPT_REAL a[4], const DOPT_REAL b[4], DOPT_REAL c[4],
                                        DOPT_REAL *Ja, DOPT_REAL *Jb);
/* dopt_so3_act: y = R p.  Jg (3x3) = -R [p]x, Jp (3x3) = R; both optional.  y may alias p. */
DOPT_API void DOPT_FN(dopt_so3_act)(const DOPT_REAL g[4], const DOPT_REAL p[3], DOPT_REAL y[3],
                                    DOPT_REAL *Jg, DOPT_REAL *Jp);
/* dopt_so3_adjoint: Ad (3x3) = R. */
DOPT_API void DOPT_FN(dopt_so3_adjoint)(const DOPT_REAL g[4], DOPT_REAL Ad[9]);
/* dopt_so3_hat: W (3x3) = [w]x, the skew matrix with W p = w x p.  dopt_so3_vee: its inverse
 *   (reads the skew part (W - Wᵀ)/2). */
DOPT_API void DOPT_FN(dopt_so3_hat)(const DOPT_REAL w[3], DOPT_REAL W[9]);
DOPT_API void DOPT_FN(dopt_so3_vee)(const DOPT_REAL W[9], DOPT_REAL w[3]);
/* dopt_so3_normalize: g <- g / |g| (the nearest unit quaternion; any finite non-zero g, however
 *   large or small); a zero g becomes identity; a g with a NaN or Inf entry becomes all NaN. */
DOPT_API void DOPT_FN(dopt_so3_normalize)(DOPT_REAL g[4]);
/* dopt_so3_interp: c = a · Exp(t · Log(a⁻¹ b)), the geodesic from a (t = 0) to b (t = 1). */
DOPT_API void DOPT_FN(dopt_so3_interp)(const DOPT_REAL a[4], const DOPT_REAL b[4], DOPT_REAL t,
                                       DOPT_REAL c[4]);
/* dopt_so3_random: a uniformly distributed (Haar) rotation drawn from rng. */
DOPT_API void DOPT_FN(dopt_so3_random)(dopt_rng *rng, DOPT_REAL g[4]);
/* dopt_so3_to_matrix: M (3x3 row-major) = R(g).  dopt_so3_from_matrix: g from a rotation matrix
 *   (Shepperd's method, robust for all angles), normalized; a slightly drifted M gives a nearby
 *   rotation. */
DOPT_API void DOPT_FN(dopt_so3_to_matrix)(const DOPT_REAL g[4], DOPT_REAL M[9]);
DOPT_API void DOPT_FN(dopt_so3_from_matrix)(const DOPT_REAL M[9], DOPT_REAL g[4]);
/* dopt_so3_from_angle_axis / to_angle_axis: the angle-axis vector IS the tangent (angle times unit
 *   axis), so these are exp and log without Jacobians; named for readability. */
DOPT_API void DOPT_FN(dopt_so3_from_angle_axis)(const DOPT_REAL aa[3], DOPT_REAL g[4]);
/* dopt_so3_to_angle_axis: aa (3) = Log(g), the angle times the unit axis. */
DOPT_API void DOPT_FN(dopt_so3_to_angle_axis)(const DOPT_REAL g[4], DOPT_REAL aa[3]);
/* dopt_so3_from_quaternion_wxyz / to_quaternion_wxyz: convert from/to scalar-first order. */
DOPT_API void DOPT_FN(dopt_so3_from_quaternion_wxyz)(const DOPT_REAL q[4], DOPT_REAL g[4]);
/* dopt_so3_to_quaternion_wxyz: q (4, scalar first [w x y z]) from g ([x y z w]). */
DOPT_API void DOPT_FN(dopt_so3_to_quaternion_wxyz)(const DOPT_REAL g[4], DOPT_REAL q[4]);
/* dopt_so3_jr / jl / jr_inv / jl_inv: the right and left Jacobians of exp (3x3) and their
 *   inverses:  Jr(w) = I - (1-cos θ)/θ² W + (θ - sin θ)/θ³ W²,  Jl(w) = Jr(-w) = Jr(w)ᵀ,
 *   Jr⁻¹(w) = I + W/2 + (1/θ² - cot(θ/2)/(2θ)) W²  (W = [w]x, θ = |w|; inverses need θ < 2π). */
DOPT_API void DOPT_FN(dopt_so3_jr)(const DOPT_REAL w[3], DOPT_REAL J[9]);
/* dopt_so3_jl: left Jacobian of exp, Jl(ξ) = Jr(-ξ) (3x3 row-major). */
DOPT_API void DOPT_FN(dopt_so3_jl)(const DOPT_REAL w[3], DOPT_REAL J[9]);
/* dopt_so3_jr_inv: Jr(ξ)⁻¹ (3x3 row-major). */
DOPT_API void DOPT_FN(dopt_so3_jr_inv)(const DOPT_REAL w[3], DOPT_REAL J[9]);
/* dopt_so3_jl_inv: Jl(ξ)⁻¹ = Jr(-ξ)⁻¹ (3x3 row-major). */
DOPT_API void DOPT_FN(dopt_so3_jl_inv)(const DOPT_REAL w[3], DOPT_REAL J[9]);

/* ---- SE3: [t; q] (7), tangent [v; w] (6) ---------------------------------------------------------
 * Exp([v; w]) = (Exp(w), Jl(w) v).  Ad = [[R, [t]x R], [0, R]].
 * Jr([v; w]) = [[Jr(w), Q(-v, -w)], [0, Jr(w)]] with Barfoot's Q (State Estimation for Robotics,
 * 7.86); Jl(ξ) = Jr(-ξ). */
/* dopt_se3_identity: g (7 reals, [t; q]) = the identity. */
DOPT_API void DOPT_FN(dopt_se3_identity)(DOPT_REAL g[7]);
/* dopt_se3_exp: g = Exp(xi).  J optional 6x6 = Jr(xi). */
DOPT_API void DOPT_FN(dopt_se3_exp)(const DOPT_REAL xi[6], DOPT_REAL g[7], DOPT_REAL *J);
/* dopt_se3_log: xi = Log(g) (rotation angle in [0, π]).  J optional 6x6 = Jr(xi)⁻¹. */
DOPT_API void DOPT_FN(dopt_se3_log)(const DOPT_REAL g[7], DOPT_REAL xi[6], DOPT_REAL *J);
/* dopt_se3_compose: c = a · b.  Ja (6x6) = Ad(b⁻¹), Jb (6x6) = I; optional. */
DOPT_API void DOPT_FN(dopt_se3_compose)(const DOPT_REAL a[7], const DOPT_REAL b[7], DOPT_REAL c[7],
                                        DOPT_REAL *Ja, DOPT_REAL *Jb);
/* dopt_se3_inverse: b = a⁻¹ = (Rᵀ, -Rᵀ t).  J (6x6, optional) = -Ad(a). */
DOPT_API void DOPT_FN(dopt_se3_inverse)(const DOPT_REAL a[7], DOPT_REAL b[7], DOPT_REAL *J);
/* dopt_se3_between: c = a⁻¹ · b.  Ja (6x6) = -Ad(c⁻¹), Jb = I; optional. */
DOPT_API void DOPT_FN(dopt_se3_between)(const DOPT_REAL a[7], const DOPT_REAL b[7], DOPT_REAL c[7],
                                        DOPT_REAL *Ja, DOPT_REAL *Jb);
/* dopt_se3_act: y = R p + t.  Jg (3x6) = [R, -R [p]x], Jp (3x3) = R; optional.  y may alias p. */
DOPT_API void DOPT_FN(dopt_se3_act)(const DOPT_REAL g[7], const DOPT_REAL p[3], DOPT_REAL y[3],
                                    DOPT_REAL *Jg, DOPT_REAL *Jp);
/* dopt_se3_adjoint: Ad (6x6) = [[R, [t]x R], [0, R]]. */
DOPT_API void DOPT_FN(dopt_se3_adjoint)(const DOPT_REAL g[7], DOPT_REAL Ad[36]);
/* dopt_se3_hat: X (4x4) = [[[w]x, v], [0, 0]].  dopt_se3_vee: its inverse. */
DOPT_API void DOPT_FN(dopt_se3_hat)(const DOPT_REAL xi[6], DOPT_REAL X[16]);
DOPT_API void DOPT_FN(dopt_se3_vee)(const DOPT_REAL X[16], DOPT_REAL xi[6]);
/* dopt_se3_normalize: normalize the quaternion part. */
DOPT_API void DOPT_FN(dopt_se3_normalize)(DOPT_REAL g[7]);
/* dopt_se3_interp: c = a · Exp(t · Log(a⁻¹ b)) (screw motion from a to b). */
DOPT_API void DOPT_FN(dopt_se3_interp)(const DOPT_REAL a[7], const DOPT_REAL b[7], DOPT_REAL t,
                                       DOPT_REAL c[7]);
/* dopt_se3_random: uniform rotation, translation with standard normal components. */
DOPT_API void DOPT_FN(dopt_se3_random)(dopt_rng *rng, DOPT_REAL g[7]);
/* dopt_se3_to_matrix: H (4x4 row-major homogeneous) = [[R, t], [0 0 0 1]].
 * dopt_se3_from_matrix: g from the top 3x4 of H (rotation as in dopt_so3_from_matrix). */
DOPT_API void DOPT_FN(dopt_se3_to_matrix)(const DOPT_REAL g[7], DOPT_REAL H[16]);
DOPT_API void DOPT_FN(dopt_se3_from_matrix)(const DOPT_REAL H[16], DOPT_REAL g[7]);
/* dopt_se3_jr / jl / jr_inv / jl_inv: 6x6 Jacobians of exp and inverses (rotation angle < 2π). */
DOPT_API void DOPT_FN(dopt_se3_jr)(const DOPT_REAL xi[6], DOPT_REAL J[36]);
/* dopt_se3_jl: left Jacobian of exp, Jl(ξ) = Jr(-ξ) (6x6 row-major). */
DOPT_API void DOPT_FN(dopt_se3_jl)(const DOPT_REAL xi[6], DOPT_REAL J[36]);
/* dopt_se3_jr_inv: Jr(ξ)⁻¹ (6x6 row-major). */
DOPT_API void DOPT_FN(dopt_se3_jr_inv)(const DOPT_REAL xi[6], DOPT_REAL J[36]);
/* dopt_se3_jl_inv: Jl(ξ)⁻¹ = Jr(-ξ)⁻¹ (6x6 row-major). */
DOPT_API void DOPT_FN(dopt_se3_jl_inv)(const DOPT_REAL xi[6], DOPT_REAL J[36]);

/* ---- SO2: [c s] (2), tangent θ (1) ---------------------------------------------------------------
 * All Jacobians are 1x1: exp, log, compose and between give 1 (and -1 for between's a and for
 * inverse); Ad = 1. */
/* dopt_so2_identity: g (2 reals, [c s]) = the identity. */
DOPT_API void DOPT_FN(dopt_so2_identity)(DOPT_REAL g[2]);
/* dopt_so2_exp: g = Exp(θ) = [cos θ, sin θ].  J optional 1x1 = 1. */
DOPT_API void DOPT_FN(dopt_so2_exp)(const DOPT_REAL theta[1], DOPT_REAL g[2], DOPT_REAL *J);
/* dopt_so2_log: θ = atan2(s, c) in (-π, π]. */
DOPT_API void DOPT_FN(dopt_so2_log)(const DOPT_REAL g[2], DOPT_REAL theta[1], DOPT_REAL *J);
/* dopt_so2_compose: c = a · b (angles add).  Ja = Jb = 1 (1x1, optional). */
DOPT_API void DOPT_FN(dopt_so2_compose)(const DOPT_REAL a[2], const DOPT_REAL b[2], DOPT_REAL c[2],
                                        DOPT_REAL *Ja, DOPT_REAL *Jb);
/* dopt_so2_inverse: b = a⁻¹ = [c, -s].  J optional 1x1 = -1. */
DOPT_API void DOPT_FN(dopt_so2_inverse)(const DOPT_REAL a[2], DOPT_REAL b[2], DOPT_REAL *J);
/* dopt_so2_between: c = a⁻¹ · b.  Ja = -1, Jb = 1 (1x1, optional). */
DOPT_API void DOPT_FN(dopt_so2_between)(const DOPT_REAL a[2], const DOPT_REAL b[2], DOPT_REAL c[2],
                                        DOPT_REAL *Ja, DOPT_REAL *Jb);
/* dopt_so2_act: y = R p.  Jg (2x1) = [-y1; y0], Jp (2x2) = R. */
DOPT_API void DOPT_FN(dopt_so2_act)(const DOPT_REAL g[2], const DOPT_REAL p[2], DOPT_REAL y[2],
                                    DOPT_REAL *Jg, DOPT_REAL *Jp);
/* dopt_so2_adjoint: Ad = 1 (1x1). */
DOPT_API void DOPT_FN(dopt_so2_adjoint)(const DOPT_REAL g[2], DOPT_REAL Ad[1]);
/* dopt_so2_hat: W (2x2) = [[0, -θ], [θ, 0]]; dopt_so2_vee its inverse. */
DOPT_API void DOPT_FN(dopt_so2_hat)(const DOPT_REAL theta[1], DOPT_REAL W[4]);
DOPT_API void DOPT_FN(dopt_so2_vee)(const DOPT_REAL W[4], DOPT_REAL theta[1]);
/* dopt_so2_normalize: g <- the nearest valid element (rotation part renormalized). */
DOPT_API void DOPT_FN(dopt_so2_normalize)(DOPT_REAL g[2]);
/* dopt_so2_interp: c = a · Exp(t · Log(a⁻¹ b)) (2 reals each), a at t = 0, b at t = 1. */
DOPT_API void DOPT_FN(dopt_so2_interp)(const DOPT_REAL a[2], const DOPT_REAL b[2], DOPT_REAL t,
                                       DOPT_REAL c[2]);
/* dopt_so2_random: g (2 reals) = a random element drawn from rng (uniform rotation). */
DOPT_API void DOPT_FN(dopt_so2_random)(dopt_rng *rng, DOPT_REAL g[2]);
/* dopt_so2_to_matrix: M (2x2) = [[c, -s], [s, c]].  from_matrix: from the first column, normalized. */
DOPT_API void DOPT_FN(dopt_so2_to_matrix)(const DOPT_REAL g[2], DOPT_REAL M[4]);
/* dopt_so2_from_matrix: g from its row-major matrix form (inverse of dopt_so2_to_matrix;
 * the rotation part is renormalized). */
DOPT_API void DOPT_FN(dopt_so2_from_matrix)(const DOPT_REAL M[4], DOPT_REAL g[2]);

/* ---- SE2: [x y c s] (4), tangent [vx vy θ] (3) ------------------------------------------------------
 * Exp([v; θ]) = (Rot(θ), V(θ) v) with V = [[sin θ/θ, -(1-cos θ)/θ], [(1-cos θ)/θ, sin θ/θ]].
 * Ad = [[R, (ty, -tx)ᵀ], [0, 1]].  SE2 agrees with SE3 restricted to the plane (z = 0, rotation
 * about z): tangent [vx vy θ] <-> [vx vy 0 0 0 θ]. */
/* dopt_se2_identity: g (4 reals, [x y c s]) = the identity. */
DOPT_API void DOPT_FN(dopt_se2_identity)(DOPT_REAL g[4]);
/* dopt_se2_exp: g = Exp(xi); J optional 3x3 = Jr(xi). */
DOPT_API void DOPT_FN(dopt_se2_exp)(const DOPT_REAL xi[3], DOPT_REAL g[4], DOPT_REAL *J);
/* dopt_se2_log: xi = Log(g), θ in (-π, π]; J optional 3x3 = Jr(xi)⁻¹. */
DOPT_API void DOPT_FN(dopt_se2_log)(const DOPT_REAL g[4], DOPT_REAL xi[3], DOPT_REAL *J);
/* dopt_se2_compose: c = a · b (4 reals each).  Ja (3x3 row-major) = Ad(b⁻¹), Jb = I;
 * both optional (NULL). */
DOPT_API void DOPT_FN(dopt_se2_compose)(const DOPT_REAL a[4], const DOPT_REAL b[4], DOPT_REAL c[4],
                                        DOPT_REAL *Ja, DOPT_REAL *Jb);
/* dopt_se2_inverse: b = a⁻¹ (4 reals).  J (3x3 row-major, optional) = -Ad(a). */
DOPT_API void DOPT_FN(dopt_se2_inverse)(const DOPT_REAL a[4], DOPT_REAL b[4], DOPT_REAL *J);
/* dopt_se2_between: c = a⁻¹ · b (4 reals each).  Ja (3x3 row-major) = -Ad(c⁻¹), Jb = I;
 * both optional. */
DOPT_API void DOPT_FN(dopt_se2_between)(const DOPT_REAL a[4], const DOPT_REAL b[4], DOPT_REAL c[4],
                                        DOPT_REAL *Ja, DOPT_REAL *Jb);
/* dopt_se2_act: y = R p + t.  Jg (2x3) = [R, (-(Rp)_y, (Rp)_x)ᵀ], Jp (2x2) = R. */
DOPT_API void DOPT_FN(dopt_se2_act)(const DOPT_REAL g[4], const DOPT_REAL p[2], DOPT_REAL y[2],
                                    DOPT_REAL *Jg, DOPT_REAL *Jp);
/* dopt_se2_adjoint: Ad(g) (3x3 row-major), with g · Exp(ξ) = Exp(Ad ξ) · g. */
DOPT_API void DOPT_FN(dopt_se2_adjoint)(const DOPT_REAL g[4], DOPT_REAL Ad[9]);
/* dopt_se2_hat: X (3x3) = [[0, -θ, vx], [θ, 0, vy], [0, 0, 0]]; vee its inverse. */
DOPT_API void DOPT_FN(dopt_se2_hat)(const DOPT_REAL xi[3], DOPT_REAL X[9]);
/* dopt_se2_vee: the inverse of dopt_se2_hat (reads the generator part of the matrix). */
DOPT_API void DOPT_FN(dopt_se2_vee)(const DOPT_REAL X[9], DOPT_REAL xi[3]);
/* dopt_se2_normalize: g <- the nearest valid element (rotation part renormalized). */
DOPT_API void DOPT_FN(dopt_se2_normalize)(DOPT_REAL g[4]);
/* dopt_se2_interp: c = a · Exp(t · Log(a⁻¹ b)) (4 reals each), a at t = 0, b at t = 1. */
DOPT_API void DOPT_FN(dopt_se2_interp)(const DOPT_REAL a[4], const DOPT_REAL b[4], DOPT_REAL t,
                                       DOPT_REAL c[4]);
/* dopt_se2_random: uniform angle, translation with standard normal components. */
DOPT_API void DOPT_FN(dopt_se2_random)(dopt_rng *rng, DOPT_REAL g[4]);
/* dopt_se2_to_matrix: H (3x3 homogeneous); from_matrix its inverse (rotation normalized). */
DOPT_API void DOPT_FN(dopt_se2_to_matrix)(const DOPT_REAL g[4], DOPT_REAL H[9]);
/* dopt_se2_from_matrix: g from its row-major matrix form (inverse of dopt_se2_to_matrix;
 * the rotation part is renormalized). */
DOPT_API void DOPT_FN(dopt_se2_from_matrix)(const DOPT_REAL H[9], DOPT_REAL g[4]);
/* dopt_se2_from_xytheta / to_xytheta: [x y θ] (g2o's VERTEX_SE2 form) <-> storage. */
DOPT_API void DOPT_FN(dopt_se2_from_xytheta)(const DOPT_REAL xyt[3], DOPT_REAL g[4]);
/* dopt_se2_to_xytheta: xyt (3) = [x y θ], θ = atan2(s, c). */
DOPT_API void DOPT_FN(dopt_se2_to_xytheta)(const DOPT_REAL g[4], DOPT_REAL xyt[3]);
/* dopt_se2_jr / jl / jr_inv / jl_inv: 3x3 Jacobians of exp and inverses (|θ| < 2π). */
DOPT_API void DOPT_FN(dopt_se2_jr)(const DOPT_REAL xi[3], DOPT_REAL J[9]);
/* dopt_se2_jl: left Jacobian of exp, Jl(ξ) = Jr(-ξ) (3x3 row-major). */
DOPT_API void DOPT_FN(dopt_se2_jl)(const DOPT_REAL xi[3], DOPT_REAL J[9]);
/* dopt_se2_jr_inv: Jr(ξ)⁻¹ (3x3 row-major). */
DOPT_API void DOPT_FN(dopt_se2_jr_inv)(const DOPT_REAL xi[3], DOPT_REAL J[9]);
/* dopt_se2_jl_inv: Jl(ξ)⁻¹ = Jr(-ξ)⁻¹ (3x3 row-major). */
DOPT_API void DOPT_FN(dopt_se2_jl_inv)(const DOPT_REAL xi[3], DOPT_REAL J[9]);

/* ---- Sim3: [t; q; s] (8), tangent [v; w; σ] (7) ------------------------------------------------------
 * Similarity y = s R p + t (monocular SLAM's scale-drifting pose, PyPose's Sim3).
 * Exp([v; w; σ]) = (W(w, σ) v, Exp(w), e^σ) with W = ∫₀¹ e^{σu} Exp(u w) du.
 * Ad = [[s R, [t]x R, -t], [0, R, 0], [0, 0, 1]].  Jr/Jr⁻¹ are computed from the series
 * Σ (-ad ξ)^k / (k+1)! (exact to rounding; slower than the closed forms of the other groups). */
/* dopt_sim3_identity: g (8 reals, [t; q; s]) = the identity. */
DOPT_API void DOPT_FN(dopt_sim3_identity)(DOPT_REAL g[8]);
/* dopt_sim3_exp: g = Exp(ξ) (ξ 7 reals [v; w; σ], g 8 reals).  J optional 7x7 row-major = Jr(ξ). */
DOPT_API void DOPT_FN(dopt_sim3_exp)(const DOPT_REAL xi[7], DOPT_REAL g[8], DOPT_REAL *J);
/* dopt_sim3_log: ξ = Log(g) (g 8 reals, ξ 7 reals).  J optional 7x7 row-major = Jr(ξ)⁻¹. */
DOPT_API void DOPT_FN(dopt_sim3_log)(const DOPT_REAL g[8], DOPT_REAL xi[7], DOPT_REAL *J);
/* dopt_sim3_compose: c = a · b (8 reals each).  Ja (7x7 row-major) = Ad(b⁻¹), Jb = I;
 * both optional (NULL). */
DOPT_API void DOPT_FN(dopt_sim3_compose)(const DOPT_REAL a[8], const DOPT_REAL b[8], DOPT_REAL c[8],
                                         DOPT_REAL *Ja, DOPT_REAL *Jb);
/* dopt_sim3_inverse: b = a⁻¹ (8 reals).  J (7x7 row-major, optional) = -Ad(a). */
DOPT_API void DOPT_FN(dopt_sim3_inverse)(const DOPT_REAL a[8], DOPT_REAL b[8], DOPT_REAL *J);
/* dopt_sim3_between: c = a⁻¹ · b (8 reals each).  Ja (7x7 row-major) = -Ad(c⁻¹), Jb = I;
 * both optional. */
DOPT_API void DOPT_FN(dopt_sim3_between)(const DOPT_REAL a[8], const DOPT_REAL b[8], DOPT_REAL c[8],
                                         DOPT_REAL *Ja, DOPT_REAL *Jb);
/* dopt_sim3_act: y = s R p + t.  Jg (3x7) = [s R, -s R [p]x, s R p], Jp (3x3) = s R. */
DOPT_API void DOPT_FN(dopt_sim3_act)(const DOPT_REAL g[8], const DOPT_REAL p[3], DOPT_REAL y[3],
                                     DOPT_REAL *Jg, DOPT_REAL *Jp);
/* dopt_sim3_adjoint: Ad(g) (7x7 row-major), with g · Exp(ξ) = Exp(Ad ξ) · g. */
DOPT_API void DOPT_FN(dopt_sim3_adjoint)(const DOPT_REAL g[8], DOPT_REAL Ad[49]);
/* dopt_sim3_hat: X (4x4) = [[[w]x + σ I, v], [0, 0]]; vee its inverse. */
DOPT_API void DOPT_FN(dopt_sim3_hat)(const DOPT_REAL xi[7], DOPT_REAL X[16]);
/* dopt_sim3_vee: the inverse of dopt_sim3_hat (reads the generator part of the matrix). */
DOPT_API void DOPT_FN(dopt_sim3_vee)(const DOPT_REAL X[16], DOPT_REAL xi[7]);
/* dopt_sim3_normalize: normalize the quaternion; a non-positive scale becomes |s| (or 1 if 0). */
DOPT_API void DOPT_FN(dopt_sim3_normalize)(DOPT_REAL g[8]);
/* dopt_sim3_interp: c = a · Exp(t · Log(a⁻¹ b)) (8 reals each), a at t = 0, b at t = 1. */
DOPT_API void DOPT_FN(dopt_sim3_interp)(const DOPT_REAL a[8], const DOPT_REAL b[8], DOPT_REAL t,
                                        DOPT_REAL c[8]);
/* dopt_sim3_random: uniform rotation, normal translation, s = e^{N(0, 0.25)}. */
DOPT_API void DOPT_FN(dopt_sim3_random)(dopt_rng *rng, DOPT_REAL g[8]);
/* dopt_sim3_to_matrix: H (4x4) = [[s R, t], [0 0 0 1]]; from_matrix: s = cbrt(det(top 3x3)). */
DOPT_API void DOPT_FN(dopt_sim3_to_matrix)(const DOPT_REAL g[8], DOPT_REAL H[16]);
/* dopt_sim3_from_matrix: g from its row-major matrix form (inverse of dopt_sim3_to_matrix;
 * the rotation part is renormalized). */
DOPT_API void DOPT_FN(dopt_sim3_from_matrix)(const DOPT_REAL H[16], DOPT_REAL g[8]);
/* dopt_sim3_jr / jr_inv: 7x7 right Jacobian of exp and its inverse (rotation angle < 2π). */
DOPT_API void DOPT_FN(dopt_sim3_jr)(const DOPT_REAL xi[7], DOPT_REAL J[49]);
/* dopt_sim3_jr_inv: Jr(ξ)⁻¹ (7x7 row-major). */
DOPT_API void DOPT_FN(dopt_sim3_jr_inv)(const DOPT_REAL xi[7], DOPT_REAL J[49]);

/* ---- batched strided forms ---------------------------------------------------------------------
 * Element k of each array starts at ptr + k * stride (strides in reals, >= the element size; a
 * packed batch uses the element size).  Jacobian batches (NULL to skip) are packed row-major
 * blocks of the single-element size, stride = that size.  `n` elements; n <= 0 does nothing.
 * Same results as a loop over the single-element function (to rounding: a compiler may fuse
 * multiply-adds differently in the loops).  An output may alias its input element for element
 * (same pointer and stride), not at an offset. */
/* dopt_so3_exp_batch: g_k = Exp(ξ_k), k < n; ξ_k at xi + k sx (3 reals), g_k at g + k sg
 * (4 reals), J (optional) n packed 3x3 row-major Jr blocks. */
DOPT_API void DOPT_FN(dopt_so3_exp_batch)(ptrdiff_t n, const DOPT_REAL *w, ptrdiff_t sw, DOPT_REAL *g, ptrdiff_t sg,
                                          DOPT_REAL *J);
/* dopt_so3_log_batch: ξ_k = Log(g_k), k < n; g_k at g + k sg (4 reals), ξ_k at xi + k sx
 * (3 reals), J (optional) n packed 3x3 row-major Jr⁻¹ blocks. */
DOPT_API void DOPT_FN(dopt_so3_log_batch)(ptrdiff_t n, const DOPT_REAL *g, ptrdiff_t sg, DOPT_REAL *w, ptrdiff_t sw,
                                          DOPT_REAL *J);
/* dopt_so3_compose_batch: c_k = a_k · b_k, k < n (4 reals each at a + k sa, b + k sb,
 * c + k sc); Ja, Jb (optional) n packed 3x3 row-major blocks as in dopt_so3_compose. */
DOPT_API void DOPT_FN(dopt_so3_compose_batch)(ptrdiff_t n, const DOPT_REAL *a, ptrdiff_t sa, const DOPT_REAL *b,
                                              ptrdiff_t sb, DOPT_REAL *c, ptrdiff_t sc, DOPT_REAL *Ja,
                                              DOPT_REAL *Jb);
/* dopt_so3_act_batch: y_k = g_k · p_k, k < n (g_k 4 reals at g + k sg, p_k and y_k 3 reals at
 * p + k sp, y + k sy); Jg (3x3), Jp (3x3) optional n packed row-major blocks. */
DOPT_API void DOPT_FN(dopt_so3_act_batch)(ptrdiff_t n, const DOPT_REAL *g, ptrdiff_t sg, const DOPT_REAL *p,
                                          ptrdiff_t sp, DOPT_REAL *y, ptrdiff_t sy, DOPT_REAL *Jg,
                                          DOPT_REAL *Jp);
/* dopt_se3_exp_batch: g_k = Exp(ξ_k), k < n; ξ_k at xi + k sx (6 reals), g_k at g + k sg
 * (7 reals), J (optional) n packed 6x6 row-major Jr blocks. */
DOPT_API void DOPT_FN(dopt_se3_exp_batch)(ptrdiff_t n, const DOPT_REAL *xi, ptrdiff_t sx, DOPT_REAL *g, ptrdiff_t sg,
                                          DOPT_REAL *J);
/* dopt_se3_log_batch: ξ_k = Log(g_k), k < n; g_k at g + k sg (7 reals), ξ_k at xi + k sx
 * (6 reals), J (optional) n packed 6x6 row-major Jr⁻¹ blocks. */
DOPT_API void DOPT_FN(dopt_se3_log_batch)(ptrdiff_t n, const DOPT_REAL *g, ptrdiff_t sg, DOPT_REAL *xi, ptrdiff_t sx,
                                          DOPT_REAL *J);
/* dopt_se3_compose_batch: c_k = a_k · b_k, k < n (7 reals each at a + k sa, b + k sb,
 * c + k sc); Ja, Jb (optional) n packed 6x6 row-major blocks as in dopt_se3_compose. */
DOPT_API void DOPT_FN(dopt_se3_compose_batch)(ptrdiff_t n, const DOPT_REAL *a, ptrdiff_t sa, const DOPT_REAL *b,
                                              ptrdiff_t sb, DOPT_REAL *c, ptrdiff_t sc, DOPT_REAL *Ja,
                                              DOPT_REAL *Jb);
/* dopt_se3_inverse_batch: b_k = a_k⁻¹, k < n (7 reals each at a + k sa, b + k sb). */
DOPT_API void DOPT_FN(dopt_se3_inverse_batch)(ptrdiff_t n, const DOPT_REAL *a, ptrdiff_t sa, DOPT_REAL *b,
                                              ptrdiff_t sb);
/* dopt_se3_between_batch: c_k = a_k⁻¹ · b_k, k < n (7 reals each at a + k sa, b + k sb,
 * c + k sc); Ja, Jb (optional) n packed 6x6 row-major blocks as in dopt_se3_between. */
DOPT_API void DOPT_FN(dopt_se3_between_batch)(ptrdiff_t n, const DOPT_REAL *a, ptrdiff_t sa, const DOPT_REAL *b,
                                              ptrdiff_t sb, DOPT_REAL *c, ptrdiff_t sc, DOPT_REAL *Ja,
                                              DOPT_REAL *Jb);
/* dopt_se3_act_batch: y_k = g_k · p_k, k < n (g_k 7 reals at g + k sg, p_k and y_k 3 reals at
 * p + k sp, y + k sy); Jg (3x6), Jp (3x3) optional n packed row-major blocks. */
DOPT_API void DOPT_FN(dopt_se3_act_batch)(ptrdiff_t n, const DOPT_REAL *g, ptrdiff_t sg, const DOPT_REAL *p,
                                          ptrdiff_t sp, DOPT_REAL *y, ptrdiff_t sy, DOPT_REAL *Jg,
                                          DOPT_REAL *Jp);
/* dopt_se2_exp_batch: g_k = Exp(ξ_k), k < n; ξ_k at xi + k sx (3 reals), g_k at g + k sg
 * (4 reals), J (optional) n packed 3x3 row-major Jr blocks. */
DOPT_API void DOPT_FN(dopt_se2_exp_batch)(ptrdiff_t n, const DOPT_REAL *xi, ptrdiff_t sx, DOPT_REAL *g, ptrdiff_t sg,
                                          DOPT_REAL *J);
/* dopt_se2_log_batch: ξ_k = Log(g_k), k < n; g_k at g + k sg (4 reals), ξ_k at xi + k sx
 * (3 reals), J (optional) n packed 3x3 row-major Jr⁻¹ blocks. */
DOPT_API void DOPT_FN(dopt_se2_log_batch)(ptrdiff_t n, const DOPT_REAL *g, ptrdiff_t sg, DOPT_REAL *xi, ptrdiff_t sx,
                                          DOPT_REAL *J);
/* dopt_se2_compose_batch: c_k = a_k · b_k, k < n (4 reals each at a + k sa, b + k sb,
 * c + k sc); Ja, Jb (optional) n packed 3x3 row-major blocks as in dopt_se2_compose. */
DOPT_API void DOPT_FN(dopt_se2_compose_batch)(ptrdiff_t n, const DOPT_REAL *a, ptrdiff_t sa, const DOPT_REAL *b,
                                              ptrdiff_t sb, DOPT_REAL *c, ptrdiff_t sc, DOPT_REAL *Ja,
                                              DOPT_REAL *Jb);
/* dopt_se2_act_batch: y_k = g_k · p_k, k < n (g_k 4 reals at g + k sg, p_k and y_k 2 reals at
 * p + k sp, y + k sy); Jg (2x3), Jp (2x2) optional n packed row-major blocks. */
DOPT_API void DOPT_FN(dopt_se2_act_batch)(ptrdiff_t n, const DOPT_REAL *g, ptrdiff_t sg, const DOPT_REAL *p,
                                          ptrdiff_t sp, DOPT_REAL *y, ptrdiff_t sy, DOPT_REAL *Jg,
                                          DOPT_REAL *Jp);
/* dopt_so2_exp_batch: g_k = Exp(ξ_k), k < n; ξ_k at xi + k sx (1 reals), g_k at g + k sg
 * (2 reals), J (optional) n packed 1x1 row-major Jr blocks. */
DOPT_API void DOPT_FN(dopt_so2_exp_batch)(ptrdiff_t n, const DOPT_REAL *theta, ptrdiff_t st, DOPT_REAL *g, ptrdiff_t sg,
                                          DOPT_REAL *J);
/* dopt_so2_log_batch: ξ_k = Log(g_k), k < n; g_k at g + k sg (2 reals), ξ_k at xi + k sx
 * (1 reals), J (optional) n packed 1x1 row-major Jr⁻¹ blocks. */
DOPT_API void DOPT_FN(dopt_so2_log_batch)(ptrdiff_t n, const DOPT_REAL *g, ptrdiff_t sg, DOPT_REAL *theta, ptrdiff_t st,
                                          DOPT_REAL *J);
/* dopt_so2_compose_batch: c_k = a_k · b_k, k < n (2 reals each at a + k sa, b + k sb,
 * c + k sc); Ja, Jb (optional) n packed 1x1 row-major blocks as in dopt_so2_compose. */
DOPT_API void DOPT_FN(dopt_so2_compose_batch)(ptrdiff_t n, const DOPT_REAL *a, ptrdiff_t sa, const DOPT_REAL *b,
                                              ptrdiff_t sb, DOPT_REAL *c, ptrdiff_t sc, DOPT_REAL *Ja,
                                              DOPT_REAL *Jb);
/* dopt_so2_act_batch: y_k = g_k · p_k, k < n (g_k 2 reals at g + k sg, p_k and y_k 2 reals at
 * p + k sp, y + k sy); Jg (2x1), Jp (2x2) optional n packed row-major blocks. */
DOPT_API void DOPT_FN(dopt_so2_act_batch)(ptrdiff_t n, const DOPT_REAL *g, ptrdiff_t sg, const DOPT_REAL *p,
                                          ptrdiff_t sp, DOPT_REAL *y, ptrdiff_t sy, DOPT_REAL *Jg,
                                          DOPT_REAL *Jp);
/* dopt_sim3_exp_batch: g_k = Exp(ξ_k), k < n; ξ_k at xi + k sx (7 reals), g_k at g + k sg
 * (8 reals), J (optional) n packed 7x7 row-major Jr blocks. */
DOPT_API void DOPT_FN(dopt_sim3_exp_batch)(ptrdiff_t n, const DOPT_REAL *xi, ptrdiff_t sx, DOPT_REAL *g, ptrdiff_t sg,
                                           DOPT_REAL *J);
/* dopt_sim3_log_batch: ξ_k = Log(g_k), k < n; g_k at g + k sg (8 reals), ξ_k at xi + k sx
 * (7 reals), J (optional) n packed 7x7 row-major Jr⁻¹ blocks. */
DOPT_API void DOPT_FN(dopt_sim3_log_batch)(ptrdiff_t n, const DOPT_REAL *g, ptrdiff_t sg, DOPT_REAL *xi, ptrdiff_t sx,
                                           DOPT_REAL *J);
/* dopt_sim3_compose_batch: c_k = a_k · b_k, k < n (8 reals each at a + k sa, b + k sb,
 * c + k sc); Ja, Jb (optional) n packed 7x7 row-major blocks as in dopt_sim3_compose. */
DOPT_API void DOPT_FN(dopt_sim3_compose_batch)(ptrdiff_t n, const DOPT_REAL *a, ptrdiff_t sa, const DOPT_REAL *b,
                                               ptrdiff_t sb, DOPT_REAL *c, ptrdiff_t sc, DOPT_REAL *Ja,
                                               DOPT_REAL *Jb);
/* dopt_sim3_act_batch: y_k = g_k · p_k, k < n (g_k 8 reals at g + k sg, p_k and y_k 3 reals at
 * p + k sp, y + k sy); Jg (3x7), Jp (3x3) optional n packed row-major blocks. */
DOPT_API void DOPT_FN(dopt_sim3_act_batch)(ptrdiff_t n, const DOPT_REAL *g, ptrdiff_t sg, const DOPT_REAL *p,
                                           ptrdiff_t sp, DOPT_REAL *y, ptrdiff_t sy, DOPT_REAL *Jg,
                                           DOPT_REAL *Jp);

/* ---- manifold descriptors (dopt.h) --------------------------------------------------------------
 * retract: x_out = x · Exp(δ);  local: δ = Log(x⁻¹ y);  project: normalize. */
/* dopt_lie_manifold_so2: the dopt_manifold of SO2 (dim 2, tangent_dim 1, storage [c s]). */
DOPT_API DOPT_FN(dopt_manifold) DOPT_FN(dopt_lie_manifold_so2)(void);
/* dopt_lie_manifold_se2: the dopt_manifold of SE2 (dim 4, tangent_dim 3, storage [x y c s]). */
DOPT_API DOPT_FN(dopt_manifold) DOPT_FN(dopt_lie_manifold_se2)(void);
/* dopt_lie_manifold_so3: the dopt_manifold of SO3 (dim 4, tangent_dim 3, storage [qx qy qz qw]). */
DOPT_API DOPT_FN(dopt_manifold) DOPT_FN(dopt_lie_manifold_so3)(void);
/* dopt_lie_manifold_se3: the dopt_manifold of SE3 (dim 7, tangent_dim 6, storage [t; q]). */
DOPT_API DOPT_FN(dopt_manifold) DOPT_FN(dopt_lie_manifold_se3)(void);
/* dopt_lie_manifold_sim3: the dopt_manifold of Sim3 (dim 8, tangent_dim 7, storage [t; q; s]). */
DOPT_API DOPT_FN(dopt_manifold) DOPT_FN(dopt_lie_manifold_sim3)(void);
/* dopt_lie_manifold: the descriptor of group g (name "so2", "se2", "so3", "se3", "sim3"); for an
 * unknown g an empty one (dim 0, no functions: dopt_nlls_add_variable rejects it). */
DOPT_API DOPT_FN(dopt_manifold) DOPT_FN(dopt_lie_manifold)(dopt_lie_group g);

/* ---- COSTS (dopt_cost_fn form, see dopt.h) -------------------------------------------------------
 * All residuals are unweighted; Jacobians are ROW-MAJOR rdim x tangent_dim, d r / d δ at δ = 0
 * for the right perturbation of each variable.  Each returns DOPT_OK, or DOPT_ERR_NON_FINITE when
 * the residual is not finite (e.g. a point on the camera plane).
 *
 * Prior on a group variable, vars = {x}:                 r = Log(target⁻¹ · x),  J = Jr(r)⁻¹.
 * Between (pose-graph edge), vars = {xi, xj}:           r = Log(meas⁻¹ · xi⁻¹ · xj),
 *     J_xj = Jr(r)⁻¹,  J_xi = -Jr(r)⁻¹ Ad(xj⁻¹ xi).     rdim = the group's tangent dimension.
 * The data pointer is a dopt_lie_prior_data / dopt_lie_between_data whose first dim(group)
 * entries hold the target / measurement in that group's storage. */
typedef struct DOPT_FN(dopt_lie_prior_data) {
    DOPT_REAL target[8];
} DOPT_FN(dopt_lie_prior_data);
typedef struct DOPT_FN(dopt_lie_between_data) {
    DOPT_REAL measurement[8];
} DOPT_FN(dopt_lie_between_data);

/* dopt_lie_cost_prior_so2: r = Log(target⁻¹ · x), x in SO2 (vars[0], 2 reals); rdim 1; data a
 * dopt_lie_prior_data (target in its first 2 entries); J[0] 1x1 row-major.  DOPT_OK or
 * DOPT_ERR_NON_FINITE. */
DOPT_API dopt_status DOPT_FN(dopt_lie_cost_prior_so2)(const void *data, const DOPT_REAL *const *vars,
                                                      DOPT_REAL *r, DOPT_REAL *const *J);
/* dopt_lie_cost_prior_se2: r = Log(target⁻¹ · x), x in SE2 (vars[0], 4 reals); rdim 3; data a
 * dopt_lie_prior_data (target in its first 4 entries); J[0] 3x3 row-major.  DOPT_OK or
 * DOPT_ERR_NON_FINITE. */
DOPT_API dopt_status DOPT_FN(dopt_lie_cost_prior_se2)(const void *data, const DOPT_REAL *const *vars,
                                                      DOPT_REAL *r, DOPT_REAL *const *J);
/* dopt_lie_cost_prior_so3: r = Log(target⁻¹ · x), x in SO3 (vars[0], 4 reals); rdim 3; data a
 * dopt_lie_prior_data (target in its first 4 entries); J[0] 3x3 row-major.  DOPT_OK or
 * DOPT_ERR_NON_FINITE. */
DOPT_API dopt_status DOPT_FN(dopt_lie_cost_prior_so3)(const void *data, const DOPT_REAL *const *vars,
                                                      DOPT_REAL *r, DOPT_REAL *const *J);
/* dopt_lie_cost_prior_se3: r = Log(target⁻¹ · x), x in SE3 (vars[0], 7 reals); rdim 6; data a
 * dopt_lie_prior_data (target in its first 7 entries); J[0] 6x6 row-major.  DOPT_OK or
 * DOPT_ERR_NON_FINITE. */
DOPT_API dopt_status DOPT_FN(dopt_lie_cost_prior_se3)(const void *data, const DOPT_REAL *const *vars,
                                                      DOPT_REAL *r, DOPT_REAL *const *J);
/* dopt_lie_cost_prior_sim3: r = Log(target⁻¹ · x), x in Sim3 (vars[0], 8 reals); rdim 7; data a
 * dopt_lie_prior_data (target in its first 8 entries); J[0] 7x7 row-major.  DOPT_OK or
 * DOPT_ERR_NON_FINITE. */
DOPT_API dopt_status DOPT_FN(dopt_lie_cost_prior_sim3)(const void *data, const DOPT_REAL *const *vars,
                                                       DOPT_REAL *r, DOPT_REAL *const *J);
/* dopt_lie_cost_between_so2: r = Log(meas⁻¹ · xi⁻¹ · xj), xi, xj in SO2 (vars[0], vars[1]); rdim
 * 1; data a dopt_lie_between_data (meas in its first 2 entries); J[0], J[1] 1x1 row-major.
 * DOPT_OK or DOPT_ERR_NON_FINITE. */
DOPT_API dopt_status DOPT_FN(dopt_lie_cost_between_so2)(const void *data, const DOPT_REAL *const *vars,
                                                        DOPT_REAL *r, DOPT_REAL *const *J);
/* dopt_lie_cost_between_se2: r = Log(meas⁻¹ · xi⁻¹ · xj), xi, xj in SE2 (vars[0], vars[1]); rdim
 * 3; data a dopt_lie_between_data (meas in its first 4 entries); J[0], J[1] 3x3 row-major.
 * DOPT_OK or DOPT_ERR_NON_FINITE. */
DOPT_API dopt_status DOPT_FN(dopt_lie_cost_between_se2)(const void *data, const DOPT_REAL *const *vars,
                                                        DOPT_REAL *r, DOPT_REAL *const *J);
/* dopt_lie_cost_between_so3: r = Log(meas⁻¹ · xi⁻¹ · xj), xi, xj in SO3 (vars[0], vars[1]); rdim
 * 3; data a dopt_lie_between_data (meas in its first 4 entries); J[0], J[1] 3x3 row-major.
 * DOPT_OK or DOPT_ERR_NON_FINITE. */
DOPT_API dopt_status DOPT_FN(dopt_lie_cost_between_so3)(const void *data, const DOPT_REAL *const *vars,
                                                        DOPT_REAL *r, DOPT_REAL *const *J);
/* dopt_lie_cost_between_se3: r = Log(meas⁻¹ · xi⁻¹ · xj), xi, xj in SE3 (vars[0], vars[1]); rdim
 * 6; data a dopt_lie_between_data (meas in its first 7 entries); J[0], J[1] 6x6 row-major.
 * DOPT_OK or DOPT_ERR_NON_FINITE. */
DOPT_API dopt_status DOPT_FN(dopt_lie_cost_between_se3)(const void *data, const DOPT_REAL *const *vars,
                                                        DOPT_REAL *r, DOPT_REAL *const *J);
/* dopt_lie_cost_between_sim3: r = Log(meas⁻¹ · xi⁻¹ · xj), xi, xj in Sim3 (vars[0], vars[1]); rdim
 * 7; data a dopt_lie_between_data (meas in its first 8 entries); J[0], J[1] 7x7 row-major.
 * DOPT_OK or DOPT_ERR_NON_FINITE. */
DOPT_API dopt_status DOPT_FN(dopt_lie_cost_between_sim3)(const void *data, const DOPT_REAL *const *vars,
                                                         DOPT_REAL *r, DOPT_REAL *const *J);

/* Pinhole reprojection, vars = {T_cw (SE3, 7: maps world points into the camera frame),
 * X (R^3 world point)}:  P = T_cw · X,  r = [fx Px/Pz + cx - u, fy Py/Pz + cy - v]   (rdim 2).
 * J[0] is 2x6, J[1] is 2x3. */
typedef struct DOPT_FN(dopt_lie_pinhole_data) {
    DOPT_REAL fx, fy, cx, cy;
    DOPT_REAL observed[2]; /* (u, v) in pixels */
} DOPT_FN(dopt_lie_pinhole_data);
/* dopt_lie_cost_pinhole: the pinhole residual above (rdim 2, data a dopt_lie_pinhole_data;
 * J[0] 2x6, J[1] 2x3 row-major).  DOPT_OK, or DOPT_ERR_NON_FINITE when Pz = 0 or r is not finite. */
DOPT_API dopt_status DOPT_FN(dopt_lie_cost_pinhole)(const void *data, const DOPT_REAL *const *vars,
                                                    DOPT_REAL *r, DOPT_REAL *const *J);

/* BAL reprojection (Bundle Adjustment in the Large), vars = {camera (R^9: angle-axis a(3),
 * t(3), f, k1, k2, Euclidean), X (R^3)}:  P = R(a) X + t,  p = -P / Pz,
 * r = f (1 + k1 |p|² + k2 |p|⁴) p - observed   (rdim 2).  J[0] is 2x9, J[1] is 2x3. */
typedef struct DOPT_FN(dopt_lie_bal_data) {
    DOPT_REAL observed[2];
} DOPT_FN(dopt_lie_bal_data);
/* dopt_lie_cost_bal: the BAL residual above (rdim 2, data a dopt_lie_bal_data; J[0] 2x9,
 * J[1] 2x3 row-major).  DOPT_OK, or DOPT_ERR_NON_FINITE when Pz = 0 or r is not finite. */
DOPT_API dopt_status DOPT_FN(dopt_lie_cost_bal)(const void *data, const DOPT_REAL *const *vars,
                                                DOPT_REAL *r, DOPT_REAL *const *J);

/* ---- POSE GRAPHS ---------------------------------------------------------------------------------
 * A pose graph of SE2 or SE3 poses.  Poses are stored back to back in the group's storage
 * (SE2: 4 reals [x y c s]; SE3: 7 reals [t; q]).  Each edge i -> j carries the measured relative
 * pose xi⁻¹ xj (same storage) and its information matrix, a full symmetric tangent_dim x
 * tangent_dim ROW-MAJOR matrix in OUR tangent ordering, which equals g2o's: SE2 [x y θ],
 * SE3 [x y z rx ry rz] (translation; rotation).  (g2o's rotation error is the quaternion vector
 * part, about half our angle; like GTSAM and SE-Sync we use the matrix as is.)
 * Everything is allocated through the hooks given to the reader/generator (kept in g->hooks)
 * and released by dopt_lie_pose_graph_destroy. */
typedef struct DOPT_FN(dopt_lie_pose_graph_edge) {
    ptrdiff_t i, j;
    DOPT_REAL measurement[7];  /* first dim entries used                                   */
    DOPT_REAL information[36]; /* first tangent_dim² entries used (row-major, symmetric)     */
} DOPT_FN(dopt_lie_pose_graph_edge);

typedef struct DOPT_FN(dopt_lie_pose_graph) {
    dopt_lie_group group;   /* DOPT_LIE_SE2 or DOPT_LIE_SE3                                  */
    int dim, tangent_dim;   /* 4, 3 (SE2) or 7, 6 (SE3)                                      */
    ptrdiff_t num_poses;
    DOPT_REAL *poses;       /* num_poses * dim: the initial estimate                        */
    DOPT_REAL *gt_poses;    /* ground truth (generator only), else NULL                     */
    ptrdiff_t num_edges;
    DOPT_FN(dopt_lie_pose_graph_edge) *edges;
    unsigned char *inlier;  /* generator only: 1 for inlier edges, 0 for outliers; else NULL */
    dopt_hooks hooks;       /* the allocator of the reader or generator that filled it       */
} DOPT_FN(dopt_lie_pose_graph);

/* dopt_lie_pose_graph_destroy: release what a reader or generator allocated (through g->hooks)
 * and zero *g.  Safe on a zeroed graph and on NULL. */
DOPT_API void DOPT_FN(dopt_lie_pose_graph_destroy)(DOPT_FN(dopt_lie_pose_graph) *g);

#ifndef DOPT_NO_STDIO
/* dopt_lie_g2o_read: read a g2o file with VERTEX_SE2/EDGE_SE2 or VERTEX_SE3:QUAT/EDGE_SE3:QUAT
 * lines (not both).  Line layouts:
 *     VERTEX_SE2 id x y theta                  EDGE_SE2 i j dx dy dtheta I11 I12 I13 I22 I23 I33
 *     VERTEX_SE3:QUAT id x y z qx qy qz qw     EDGE_SE3:QUAT i j x y z qx qy qz qw + 21 entries
 * (information: the upper triangle, row by row; it is mirrored into the full matrix).
 * Blank lines, '#' comments and FIX lines are skipped; a line holds at most 4095 characters
 * (before its end of line).  num_poses = largest id + 1; ids are integers in [0, 1e9], and the
 * largest must be below 2 x (VERTEX and EDGE lines) + 1024 (memory follows the lines read, not
 * the ids: DOPT_ERR_UNSUPPORTED with the line of the largest id otherwise).  Quaternions are
 * normalized (scaled first: any finite non-zero quaternion; those already unit to rounding are
 * kept digit for digit, so that a file written by dopt_lie_g2o_write reads back bit-identical).  Poses without a VERTEX line (files with only edges) are initialized by chaining
 * the odometry edges: x_k = x_{k-1} · meas(k-1 -> k) (x_0 = identity; with no such edge,
 * x_k = x_{k-1}).
 * Returns DOPT_OK; DOPT_ERR_INVALID_ARGUMENT (NULL args); DOPT_ERR_IO (the file cannot be
 * opened or read); DOPT_ERR_PARSE with info->line and info->message (unknown tag,
 * missing/extra/non-numeric/non-finite fields, a line too long, an id that is not an integer in
 * [0, 1e9], a duplicate id, a zero quaternion, mixed 2D/3D, no edges or vertices);
 * DOPT_ERR_UNSUPPORTED (ids too sparse, above); DOPT_ERR_NON_FINITE (poses chained from huge
 * edges overflow); DOPT_ERR_ALLOCATION.  On failure *g is left
 * zeroed (nothing to free). */
DOPT_API dopt_status DOPT_FN(dopt_lie_g2o_read)(const char *path, const dopt_hooks *hooks,
                                                DOPT_FN(dopt_lie_pose_graph) *g, dopt_errinfo *info);
/* dopt_lie_g2o_write: write g (its poses, not gt_poses) as a g2o file that dopt_lie_g2o_read
 * reads back (%.17g, so double round-trips exactly).  DOPT_ERR_IO if the file cannot be
 * written; DOPT_ERR_INVALID_ARGUMENT if g is not SE2/SE3. */
DOPT_API dopt_status DOPT_FN(dopt_lie_g2o_write)(const char *path, const DOPT_FN(dopt_lie_pose_graph) *g,
                                                 dopt_errinfo *info);
#endif

/* dopt_lie_cube_graph: the synthetic SE3 pose graph of the Theseus paper (§5.1 / App. C, its
 * "cube" PGO benchmark; same recipe as theseus' generate_synthetic_3D):
 *   ground truth: x_0 = identity, x_n = x_{n-1} · Exp([u; w]) with u uniform in ±step_translation,
 *       w uniform in ±step_rotation per axis;
 *   odometry edges n-1 -> n: meas = (x_{n-1}⁻¹ x_n) · Exp(noise), noise uniform with half-widths
 *       translation_noise (v) and rotation_noise (w);
 *   loop closures: with probability loop_closure_ratio pose n (n >= 2) links to 1..max distinct
 *       random earlier poses i < n-1; each is an outlier with probability outlier_ratio (its
 *       measurement composed with dopt_se3_random instead of the small noise);
 *   initial estimate: x_n · Exp(noise) for every pose;
 *   information: diag(1/translation_noise² (3x), 1/rotation_noise² (3x)).
 * Fills g (group SE3, gt_poses and inlier set).  opts may be NULL (defaults).  Deterministic for a
 * given rng state.  Returns DOPT_OK, DOPT_ERR_INVALID_ARGUMENT (NULL g/rng, num_poses < 2),
 * DOPT_ERR_ALLOCATION. */
DOPT_API dopt_status DOPT_FN(dopt_lie_cube_graph)(const dopt_lie_cube_options *opts, dopt_rng *rng,
                                                  const dopt_hooks *hooks,
                                                  DOPT_FN(dopt_lie_pose_graph) *g);


/* ---- BUNDLE ADJUSTMENT ----------------------------------------------------------------------------
 * A BAL problem (Bundle Adjustment in the Large, Agarwal et al. 2010): cameras of 9 reals
 * [angle-axis a(3), t(3), f, k1, k2] (the model of dopt_lie_cost_bal), points of 3 reals, and
 * observations (camera, point, x, y).  Everything is one object, allocated through its hooks. */
typedef struct DOPT_FN(dopt_lie_bal) {
    dopt_hooks hooks;
    ptrdiff_t num_cameras, num_points, num_observations;
    int *obs_camera;          /* num_observations camera indices                             */
    int *obs_point;           /* num_observations point indices                              */
    DOPT_REAL *observed;      /* 2 * num_observations: (x, y) of each observation            */
    DOPT_REAL *cameras;       /* 9 * num_cameras                                             */
    DOPT_REAL *points;        /* 3 * num_points                                              */
    DOPT_REAL *gt_cameras;    /* ground truth (dopt_lie_bal_scene only), else NULL           */
    DOPT_REAL *gt_points;
} DOPT_FN(dopt_lie_bal);

/* dopt_lie_bal_create: a zeroed problem of the given counts (each >= 0, observations' indices
 * 0), with ground-truth arrays when with_truth is 1.  Returns DOPT_OK, DOPT_ERR_INVALID_ARGUMENT
 * (NULL out, negative or over-INT_MAX counts), DOPT_ERR_ALLOCATION. */
DOPT_API dopt_status DOPT_FN(dopt_lie_bal_create)(const dopt_hooks *hooks, ptrdiff_t num_cameras,
                                                  ptrdiff_t num_points, ptrdiff_t num_observations,
                                                  int with_truth, DOPT_FN(dopt_lie_bal) **out);
/* dopt_lie_bal_destroy: free p (NULL is fine). */
DOPT_API void DOPT_FN(dopt_lie_bal_destroy)(DOPT_FN(dopt_lie_bal) *p);

/* dopt_lie_bal_cost: Ceres' cost 1/2 sum_i rho(||r_i||²) of p with dopt_lie_cost_bal's residual
 * and the loss (kind, scale a; 0 means 1), accumulated in double.  Returns DOPT_OK,
 * DOPT_ERR_INVALID_ARGUMENT, DOPT_ERR_NON_FINITE (info->index = the observation). */
DOPT_API dopt_status DOPT_FN(dopt_lie_bal_cost)(const DOPT_FN(dopt_lie_bal) *p, dopt_loss_kind loss,
                                                double loss_scale, double *cost, dopt_errinfo *info);

/* dopt_lie_bal_scene: a synthetic BAL problem (see dopt_lie_bal_scene_options): ground truth in
 * gt_cameras / gt_points, noisy observations of it, perturbed initial values in cameras /
 * points.  opts may be NULL.  Deterministic for a given rng state.  Returns DOPT_OK,
 * DOPT_ERR_INVALID_ARGUMENT (bad options), DOPT_ERR_ALLOCATION. */
DOPT_API dopt_status DOPT_FN(dopt_lie_bal_scene)(const dopt_hooks *hooks, const dopt_lie_bal_scene_options *opts,
                                                 dopt_rng *rng, DOPT_FN(dopt_lie_bal) **out, dopt_errinfo *info);

#ifndef DOPT_NO_STDIO
/* dopt_lie_bal_read: read a BAL file: a header line "num_cameras num_points num_observations",
 * one line "camera point x y" per observation, then the 9 parameters of every camera and the 3
 * coordinates of every point (whitespace-separated; one per line in the published files).
 * Memory follows the file: header counts that the file's size cannot hold are rejected before
 * anything is allocated.  Returns DOPT_OK; DOPT_ERR_IO (cannot open or read the file);
 * DOPT_ERR_PARSE with info->line and info->message (bad header, index out of range, missing,
 * extra or non-numeric fields, NaN/Inf, file too short or too long); DOPT_ERR_ALLOCATION;
 * DOPT_ERR_INVALID_ARGUMENT (NULL arguments).  *out is NULL on failure. */
DOPT_API dopt_status DOPT_FN(dopt_lie_bal_read)(const dopt_hooks *hooks, const char *path,
                                                DOPT_FN(dopt_lie_bal) **out, dopt_errinfo *info);
/* dopt_lie_bal_write: write p as a BAL file that dopt_lie_bal_read reads back (%.17g for double,
 * %.9g for float: exact round trip).  DOPT_ERR_IO if the file cannot be written. */
DOPT_API dopt_status DOPT_FN(dopt_lie_bal_write)(const char *path, const DOPT_FN(dopt_lie_bal) *p,
                                                 dopt_errinfo *info);
#endif

/* The bundle adjuster: Levenberg-Marquardt on the Schur complement (see "BUNDLE ADJUSTMENT" in
 * the overview).  Made once per structure; solves allocate nothing.  Opaque. */
typedef struct DOPT_FN(dopt_lie_ba_solver) DOPT_FN(dopt_lie_ba_solver);

/* dopt_lie_ba_solver_create: analyze the structure of p (its counts and observation indices;
 * values may change between solves): per-point observation lists, the block pattern of the
 * reduced camera matrix (one 9x9 block per pair of free cameras that share a point) and the
 * linear solver's analysis of it.
 *   camera_fixed  NULL, or num_cameras flags: 1 holds that camera constant (e.g. two cameras,
 *                 to fix the gauge for covariance and backward)
 *   linear        the reduced camera system's solver, e.g. dopt_sparse.h's
 *                 dopt_sparse_linear_solver_d (copied: the BA solver owns it from now on and
 *                 destroys it, also on failure), or NULL for dopt_linear_solver_dense (few
 *                 cameras)
 * Returns DOPT_OK, DOPT_ERR_INVALID_ARGUMENT (NULL p/out, index out of range, no free camera),
 * DOPT_ERR_ALLOCATION, or the linear solver's analysis error. */
DOPT_API dopt_status DOPT_FN(dopt_lie_ba_solver_create)(const dopt_hooks *hooks, const DOPT_FN(dopt_lie_bal) *p,
                                                        const unsigned char *camera_fixed,
                                                        const DOPT_FN(dopt_linear_solver) *linear,
                                                        DOPT_FN(dopt_lie_ba_solver) **out, dopt_errinfo *info);
/* dopt_lie_ba_solver_destroy: free s and its linear solver (NULL is fine). */
DOPT_API void DOPT_FN(dopt_lie_ba_solver_destroy)(DOPT_FN(dopt_lie_ba_solver) *s);

/* dopt_lie_ba_solve: minimize 1/2 sum_i rho(||r_i||²) over p's free cameras and observed
 * points, in place (p must have the structure s was made for).  opts may be NULL (defaults);
 * report may be NULL.  Per-iteration lines in Ceres' columns go to s's hooks' log at
 * DOPT_LOG_INFO.  Returns DOPT_OK when it stopped by a tolerance or the iteration limit (the
 * report says which; the values are those of the best point); DOPT_ERR_NON_FINITE (a residual
 * at the start is not finite); DOPT_ERR_NOT_POSITIVE_DEFINITE (five consecutive steps whose
 * system could not be factored; report->fail_camera / fail_point); DOPT_ERR_INVALID_ARGUMENT
 * (structure mismatch, bad options). */
DOPT_API dopt_status DOPT_FN(dopt_lie_ba_solve)(DOPT_FN(dopt_lie_ba_solver) *s, DOPT_FN(dopt_lie_bal) *p,
                                                const dopt_lie_ba_options *opts, dopt_lie_ba_report *report,
                                                dopt_errinfo *info);

/* dopt_lie_ba_covariance: marginal covariances at p's current values, the blocks of H⁻¹ with
 * H = JᵀJ (Gauss-Newton, robust weights of opts' loss; no damping), the gauge fixed by the
 * solver's fixed cameras (their covariance is zero).  H is never formed or inverted: the points
 * are eliminated, the reduced camera matrix S is factored once, and
 *   camera c:  [S⁻¹]_cc;
 *   point p:   V_p⁻¹ + T_pᵀ S⁻¹ T_p  (T_p = W_p V_p⁻¹),
 * the blocks of S⁻¹ coming from the linear solver's selected_inverse (every block of S's pattern
 * at about the cost of one factorization; dopt_sparse.h's solver offers it) when more than three
 * cameras' worth of blocks are wanted, else from solves (9 per camera, 3 per point).
 *   cameras, ncam   camera indices; cam_cov gets ncam 9x9 column-major blocks (81 reals each)
 *   points, npt     point indices; pt_cov gets npt 3x3 blocks (9 reals each)
 * (either list may be empty).  Returns DOPT_OK, DOPT_ERR_INVALID_ARGUMENT (index out of range,
 * structure mismatch), DOPT_ERR_NOT_POSITIVE_DEFINITE (H singular: gauge not fixed or a point
 * seen too little; info->index = the camera, or -2 - point), DOPT_ERR_NON_FINITE. */
DOPT_API dopt_status DOPT_FN(dopt_lie_ba_covariance)(DOPT_FN(dopt_lie_ba_solver) *s, const DOPT_FN(dopt_lie_bal) *p,
                                                     const dopt_lie_ba_options *opts,
                                                     ptrdiff_t ncam, const int *cameras, DOPT_REAL *cam_cov,
                                                     ptrdiff_t npt, const int *points, DOPT_REAL *pt_cov,
                                                     dopt_errinfo *info);

/* dopt_lie_ba_backward: the IMPLICIT gradient through the solution x* of the BA problem.  With
 * an outer loss L(x*) and its adjoints dL/dcameras (9 per camera, NULL = 0) and dL/dpoints
 * (3 per point, NULL = 0), writes dL/dobserved (2 per observation, p->observed's layout):
 *   v = H⁻¹ dL/dx  (one Schur solve),   dL/dobs_i = (rho' I + 2 rho'' r_i r_iᵀ) J_i v,
 * from the optimality condition g(x*, obs) = 0, with H the Gauss-Newton matrix of
 * dopt_lie_ba_covariance (exact where the residuals vanish at x*; the gauge fixed by the fixed
 * cameras, whose adjoints are ignored).  p holds x* (call after dopt_lie_ba_solve).  Returns
 * DOPT_OK, the statuses of dopt_lie_ba_covariance, DOPT_ERR_NON_FINITE (a gradient entry). */
DOPT_API dopt_status DOPT_FN(dopt_lie_ba_backward)(DOPT_FN(dopt_lie_ba_solver) *s, const DOPT_FN(dopt_lie_bal) *p,
                                                   const dopt_lie_ba_options *opts,
                                                   const DOPT_REAL *cam_adjoint, const DOPT_REAL *pt_adjoint,
                                                   DOPT_REAL *obs_grad, dopt_errinfo *info);
/* dopt_lie_ba_backward_params: dopt_lie_ba_backward (obs_grad may be NULL here), and the
 * gradient with respect to the cost's other parameters, the FIXED cameras (held constant in the
 * solve, e.g. known poses or a calibration being learned): with v = H⁻¹ dL/dx as above,
 *   dL/dcamera_c = -sum_{i observed by c} J_{c,i}ᵀ (rho' I + 2 rho'' r_i r_iᵀ) J_i v
 * (J_{c,i}: d r_i / d(camera c's 9 parameters), the same Gauss-Newton H).  fixed_grad: NULL, or
 * 9 * num_cameras reals out (p->cameras' layout): the fixed cameras' gradients, zero for the free
 * cameras (x* does not depend on their starting values).  Returns as dopt_lie_ba_backward. */
DOPT_API dopt_status DOPT_FN(dopt_lie_ba_backward_params)(DOPT_FN(dopt_lie_ba_solver) *s, const DOPT_FN(dopt_lie_bal) *p,
                                                          const dopt_lie_ba_options *opts,
                                                          const DOPT_REAL *cam_adjoint, const DOPT_REAL *pt_adjoint,
                                                          DOPT_REAL *obs_grad, DOPT_REAL *fixed_grad, dopt_errinfo *info);

#ifdef __cplusplus
}
#endif
#endif /* DOPT_LIE__PASS_DECL */

/* =============================================================================================== */
/* IMPLEMENTATION                                                                                  */
/* =============================================================================================== */
#if !defined(DOPT__DRIVE)
#if defined(DOPT_IMPLEMENTATION) && !defined(DOPT_LIE_IMPLEMENTED)
#define DOPT_LIE_IMPLEMENTED
/* The few tiny kernels every batch loop calls are forced inline (batches of 1e6 elements would
 * otherwise pay a call and a store-forwarding stall per element); so are the 3x3 product and the
 * SE3 Jacobian coefficients and Q that dopt_se3_log's Jacobian (every SE3 cost) is made of. */
#if defined(__GNUC__) || defined(__clang__)
#define DOPT__LIE_INLINE static __inline__ __attribute__((always_inline))
#define DOPT__LIE_FLATTEN __attribute__((flatten))
#else
#define DOPT__LIE_INLINE static
#define DOPT__LIE_FLATTEN
#endif
#include <string.h>
#include <stdlib.h>
#include <stdint.h>
#include <time.h> /* clock(): the bundle adjuster's optional timing and log lines */
/* Batches whose output exceeds the last-level cache are written with non-temporal stores on x86-64
 * (movnti, any 8-byte-aligned address): the output would be evicted before reuse anyway, and
 * streaming skips the read-for-ownership that otherwise costs a third of the memory traffic.
 * DOPT_LIE_STREAM_BYTES sets the output size from which streaming starts (0 disables it). */
#ifndef DOPT_LIE_STREAM_BYTES
#define DOPT_LIE_STREAM_BYTES (16L << 20)
#endif
#if (defined(__x86_64__) || defined(_M_X64)) && defined(__SSE2__) && DOPT_LIE_STREAM_BYTES > 0
#include <emmintrin.h>
#define DOPT__LIE_HAVE_STREAM 1
#define DOPT__LIE_SFENCE() _mm_sfence()
#else
#define DOPT__LIE_HAVE_STREAM 0
#define DOPT__LIE_SFENCE() ((void)0)
#endif
#ifndef DOPT_NO_STDIO
#include <stdio.h>
#endif
#ifdef __cplusplus
extern "C" {
#endif
DOPT_API int dopt_lie_dim(dopt_lie_group g)
{
    switch (g) {
    case DOPT_LIE_SO2: return 2;
    case DOPT_LIE_SE2: return 4;
    case DOPT_LIE_SO3: return 4;
    case DOPT_LIE_SE3: return 7;
    case DOPT_LIE_SIM3: return 8;
    }
    return 0;
}
DOPT_API int dopt_lie_tangent_dim(dopt_lie_group g)
{
    switch (g) {
    case DOPT_LIE_SO2: return 1;
    case DOPT_LIE_SE2: return 3;
    case DOPT_LIE_SO3: return 3;
    case DOPT_LIE_SE3: return 6;
    case DOPT_LIE_SIM3: return 7;
    }
    return 0;
}
#ifdef __cplusplus
}
#endif
#define DOPT_LIE__PASS_IMPL
#define DOPT__DRIVE "dopt_lie.h"
#include "dopt.h"
#undef DOPT__DRIVE
#undef DOPT_LIE__PASS_IMPL
#endif /* DOPT_IMPLEMENTATION */
#endif /* !DOPT__DRIVE */

/* =============================================================================================== */
/* Generic implementation (one pass per precision).                                               */
/* =============================================================================================== */
#if defined(DOPT_LIE__PASS_IMPL) && defined(DOPT_REAL)
#ifdef __cplusplus
extern "C" {
#endif
#define DOPT__L DOPT_REAL
#define DOPT__C(x) ((DOPT_REAL)(x))
/* θ² below which the Jacobian coefficients use their Taylor series (chosen so that both the
 * series' truncation and the closed forms' cancellation stay at rounding level). */
#define DOPT__LIE_SMALL (DOPT_IS_FLOAT ? DOPT__C(0.1) : DOPT__C(1e-3))

/* ---- small helpers (row-major 3x3) --------------------------------------------------------------- */

static void DOPT_FN(dopt__lie_skew)(const DOPT__L v[3], DOPT__L M[9])
{
    M[0] = 0;     M[1] = -v[2]; M[2] = v[1];
    M[3] = v[2];  M[4] = 0;     M[5] = -v[0];
    M[6] = -v[1]; M[7] = v[0];  M[8] = 0;
}

/* C = A B (3x3); C must not alias A or B. */
DOPT__LIE_INLINE void DOPT_FN(dopt__lie_mul3)(const DOPT__L *A, const DOPT__L *B, DOPT__L *C)
{
    int i;
    for (i = 0; i < 3; ++i) {
        C[3 * i + 0] = A[3 * i] * B[0] + A[3 * i + 1] * B[3] + A[3 * i + 2] * B[6];
        C[3 * i + 1] = A[3 * i] * B[1] + A[3 * i + 1] * B[4] + A[3 * i + 2] * B[7];
        C[3 * i + 2] = A[3 * i] * B[2] + A[3 * i + 1] * B[5] + A[3 * i + 2] * B[8];
    }
}

DOPT__LIE_INLINE void DOPT_FN(dopt__lie_cross)(const DOPT__L a[3], const DOPT__L b[3], DOPT__L c[3])
{
    DOPT__L x = a[1] * b[2] - a[2] * b[1];
    DOPT__L y = a[2] * b[0] - a[0] * b[2];
    DOPT__L z = a[0] * b[1] - a[1] * b[0];
    c[0] = x; c[1] = y; c[2] = z;
}

/* Copy the 3x3 block S into the n-column row-major matrix M at (r0, c0), scaled by s. */
static void DOPT_FN(dopt__lie_put3)(DOPT__L *M, int n, int r0, int c0, const DOPT__L *S, DOPT__L s)
{
    int i, j;
    for (i = 0; i < 3; ++i)
        for (j = 0; j < 3; ++j) M[(r0 + i) * n + c0 + j] = s * S[3 * i + j];
}

static void DOPT_FN(dopt__lie_zero)(DOPT__L *M, int n)
{
    int i;
    for (i = 0; i < n; ++i) M[i] = 0;
}

static void DOPT_FN(dopt__lie_eye)(DOPT__L *M, int n)
{
    int i;
    DOPT_FN(dopt__lie_zero)(M, n * n);
    for (i = 0; i < n; ++i) M[i * n + i] = 1;
}

/* M = a0 I + a1 W + a2 W², W = [w]x, using W² = w wᵀ - θ² I. */
DOPT__LIE_INLINE void DOPT_FN(dopt__lie_so3_poly)(const DOPT__L w[3], DOPT__L a0, DOPT__L a1, DOPT__L a2, DOPT__L M[9])
{
    DOPT__L th2 = w[0] * w[0] + w[1] * w[1] + w[2] * w[2];
    DOPT__L d = a0 - a2 * th2;
    M[0] = d + a2 * w[0] * w[0];
    M[4] = d + a2 * w[1] * w[1];
    M[8] = d + a2 * w[2] * w[2];
    M[1] = a2 * w[0] * w[1] - a1 * w[2];
    M[3] = a2 * w[0] * w[1] + a1 * w[2];
    M[2] = a2 * w[0] * w[2] + a1 * w[1];
    M[6] = a2 * w[0] * w[2] - a1 * w[1];
    M[5] = a2 * w[1] * w[2] - a1 * w[0];
    M[7] = a2 * w[1] * w[2] + a1 * w[0];
}

/* Coefficients of Jr / Jl of SO3 at θ² = th2:  A = (1 - cos θ)/θ²,  B = (θ - sin θ)/θ³. */
static void DOPT_FN(dopt__lie_so3_ab)(DOPT__L th2, DOPT__L *A, DOPT__L *B)
{
    if (th2 < DOPT__LIE_SMALL) {
        *A = DOPT__C(0.5) - th2 * (DOPT__C(1.0 / 24) - th2 * DOPT__C(1.0 / 720));
        *B = DOPT__C(1.0 / 6) - th2 * (DOPT__C(1.0 / 120) - th2 * DOPT__C(1.0 / 5040));
    } else {
        DOPT__L th = DOPT_M(sqrt)(th2), sh = DOPT_M(sin)(DOPT__C(0.5) * th), ch = DOPT_M(cos)(DOPT__C(0.5) * th);
        *A = DOPT__C(2) * sh * sh / th2;
        *B = (th - DOPT__C(2) * sh * ch) / (th2 * th);
    }
}

/* D = 1/θ² - cot(θ/2)/(2θ), the W² coefficient of Jr⁻¹ (finite up to θ < 2π). */
static DOPT__L DOPT_FN(dopt__lie_so3_d)(DOPT__L th2)
{
    if (th2 < DOPT__LIE_SMALL)
        return DOPT__C(1.0 / 12) + th2 * (DOPT__C(1.0 / 720) + th2 * DOPT__C(1.0 / 30240));
    {
        DOPT__L th = DOPT_M(sqrt)(th2), h = DOPT__C(0.5) * th;
        return DOPT__C(1) / th2 - DOPT_M(cos)(h) / (DOPT__C(2) * th * DOPT_M(sin)(h));
    }
}

/* Hamilton product c = a ⊗ b, [x y z w]; c may alias a or b. */
DOPT__LIE_INLINE void DOPT_FN(dopt__lie_qmul)(const DOPT__L *a, const DOPT__L *b, DOPT__L *c)
{
    DOPT__L x = a[3] * b[0] + a[0] * b[3] + a[1] * b[2] - a[2] * b[1];
    DOPT__L y = a[3] * b[1] - a[0] * b[2] + a[1] * b[3] + a[2] * b[0];
    DOPT__L z = a[3] * b[2] + a[0] * b[1] - a[1] * b[0] + a[2] * b[3];
    DOPT__L w = a[3] * b[3] - a[0] * b[0] - a[1] * b[1] - a[2] * b[2];
    c[0] = x; c[1] = y; c[2] = z; c[3] = w;
}

/* y = R(q) p for a unit quaternion (y may alias p): t = 2 q_v x p, y = p + w t + q_v x t. */
DOPT__LIE_INLINE void DOPT_FN(dopt__lie_qrot)(const DOPT__L *q, const DOPT__L *p, DOPT__L *y)
{
    DOPT__L tx = DOPT__C(2) * (q[1] * p[2] - q[2] * p[1]);
    DOPT__L ty = DOPT__C(2) * (q[2] * p[0] - q[0] * p[2]);
    DOPT__L tz = DOPT__C(2) * (q[0] * p[1] - q[1] * p[0]);
    DOPT__L y0 = p[0] + q[3] * tx + q[1] * tz - q[2] * ty;
    DOPT__L y1 = p[1] + q[3] * ty + q[2] * tx - q[0] * tz;
    DOPT__L y2 = p[2] + q[3] * tz + q[0] * ty - q[1] * tx;
    y[0] = y0; y[1] = y1; y[2] = y2;
}

/* y = R(q)ᵀ p. */
static void DOPT_FN(dopt__lie_qrot_t)(const DOPT__L *q, const DOPT__L *p, DOPT__L *y)
{
    DOPT__L qc[4];
    qc[0] = -q[0]; qc[1] = -q[1]; qc[2] = -q[2]; qc[3] = q[3];
    DOPT_FN(dopt__lie_qrot)(qc, p, y);
}

/* ---- SO3 ---------------------------------------------------------------------------------------- */

DOPT_API void DOPT_FN(dopt_so3_identity)(DOPT__L g[4])
{
    g[0] = g[1] = g[2] = 0;
    g[3] = 1;
}

/* Exp of SO3 and its Jacobian coefficients:  q = (k w, c) with k = sin(θ/2)/θ, c = cos(θ/2);
 * A = (1 - cos θ)/θ² = 2k²;  B = (θ - sin θ)/θ³ = (1 - 2kc)/θ² (only when want_b).
 * For θ <= π (the whole principal range) k and c come from two polynomials in z = θ²/4,
 * Chebyshev fits of sin(√z)/√z and cos(√z) on [0, (π/2)²] (fit errors 2e-19 and 4e-18): no
 * sqrt, no division, no trig call, and no small-angle branch (z = 0 is a regular point).
 * Larger angles take libm's sin/cos. */
DOPT__LIE_INLINE void DOPT_FN(dopt__lie_so3_exp_k)(const DOPT__L *w, DOPT__L *q, DOPT__L *A, DOPT__L *B, int want_b)
{
    DOPT__L th2 = w[0] * w[0] + w[1] * w[1] + w[2] * w[2], k, c;
    DOPT__L z = DOPT__C(0.25) * th2;
    if (z <= DOPT__C(2.4674011002723395)) {
        DOPT__L z2 = z * z, z4 = z2 * z2;
        k = DOPT__C(0.5) *
            ((DOPT__C(1.0) + DOPT__C(-0.16666666666666666) * z) +
             z2 * (DOPT__C(0.008333333333333186) + DOPT__C(-0.00019841269841208638) * z) +
             z4 * ((DOPT__C(2.7557319211223257e-06) + DOPT__C(-2.505210688997513e-08) * z) +
                   z2 * (DOPT__C(1.6058940847832492e-10) + DOPT__C(-7.643025738964345e-13) * z)) +
             z4 * z4 * DOPT__C(2.7215660921125597e-15));
        c = (DOPT__C(1.0) + DOPT__C(-0.4999999999999997) * z) +
            z2 * (DOPT__C(0.04166666666666388) + DOPT__C(-0.001388888888877292) * z) +
            z4 * ((DOPT__C(2.4801587277402905e-05) + DOPT__C(-2.7557316389900044e-07) * z) +
                  z2 * (DOPT__C(2.0876561781878517e-09) + DOPT__C(-1.1462900350687044e-11) * z)) +
            z4 * z4 * DOPT__C(4.6089602423243444e-14);
    } else {
        DOPT__L th = DOPT_M(sqrt)(th2);
        k = DOPT_M(sin)(DOPT__C(0.5) * th) / th;
        c = DOPT_M(cos)(DOPT__C(0.5) * th);
    }
    if (A) *A = DOPT__C(2) * k * k;
    if (want_b) {
        if (th2 < DOPT__LIE_SMALL)
            *B = DOPT__C(1.0 / 6) - th2 * (DOPT__C(1.0 / 120) - th2 * DOPT__C(1.0 / 5040));
        else
            *B = (DOPT__C(1) - DOPT__C(2) * k * c) / th2;
    }
    q[0] = k * w[0]; q[1] = k * w[1]; q[2] = k * w[2]; q[3] = c;
}

/* atan2(y, x) for y, x >= 0 (not both 0), in [0, π/2], to about 1 ulp: the quaternion log's
 * only transcendental, written out because libm's general atan2 costs several times more.
 * Reduction to |u| <= tan(π/8): u = y/x (y <= x tan(π/8)), u = x/y counted from π/2
 * (y >= x tan(3π/8)), else u = (y - x)/(y + x) counted from π/4; then atan(u) = u P(u²) with P
 * the degree-11 Chebyshev fit of atan(√z)/√z on [0, tan²(π/8)] (fit error 1.3e-18). */
DOPT__LIE_INLINE DOPT__L DOPT_FN(dopt__lie_atan2p)(DOPT__L y, DOPT__L x)
{
    DOPT__L u, base, z, z2, z4, p, num, den;
    /* branch-free selection (random inputs would mispredict a branch half of the time) */
    int lo = y <= DOPT__C(0.41421356237309503) * x, hi = y >= DOPT__C(2.414213562373095) * x;
    num = lo ? y : hi ? -x : y - x;
    den = lo ? x : hi ? y : y + x;
    base = lo ? DOPT__C(0) : hi ? DOPT__C(1.5707963267948966) : DOPT__C(0.78539816339744831);
    u = num / den;
    z = u * u;
    z2 = z * z;
    z4 = z2 * z2;
    /* Estrin's scheme: short dependency chains */
    p = (DOPT__C(1.0) + DOPT__C(-0.3333333333333312) * z) +
        z2 * (DOPT__C(0.19999999999940837) + DOPT__C(-0.14285714279244968) * z) +
        z4 * ((DOPT__C(0.11111110744657099) + DOPT__C(-0.09090896801472813) * z) +
              z2 * (DOPT__C(0.07692045194561481) + DOPT__C(-0.06662950246036792) * z)) +
        z4 * z4 * ((DOPT__C(0.05846866752275139) + DOPT__C(-0.05035049795312439) * z) +
                   z2 * (DOPT__C(0.03796390316111083) + DOPT__C(-0.017803896394812564) * z));
    return base + u * p;
}

/* Log of SO3, w = f v with v the vector part of the sign-fixed quaternion (qw >= 0) and
 * f = θ/|v|.  With v and E non-NULL it also returns v and the coefficient E of
 *     Jr⁻¹(w) = I + W/2 + D W² = (1 - E|v|²) I + W/2 + E v vᵀ,   E = D f² = (1 - f qw/2)/|v|²
 * (since cot(θ/2) = qw/|v|), which needs no division beyond 1/|v|, computed beside the atan2. */
DOPT__LIE_INLINE void DOPT_FN(dopt__lie_so3_log_k)(const DOPT__L *g, DOPT__L *w, DOPT__L *v, DOPT__L *E)
{
    DOPT__L x = g[0], y = g[1], z = g[2], qw = g[3], n2, f;
    if (qw < 0) { x = -x; y = -y; z = -z; qw = -qw; }
    n2 = x * x + y * y + z * z;
    if (n2 < DOPT_EPS * qw * qw) { /* θ/|q_v| = 2 atan(n/w)/n = (2/w)(1 - n²/(3w²) + ...) */
        f = DOPT__C(2) / qw * (DOPT__C(1) - n2 / (DOPT__C(3) * qw * qw));
        if (E) *E = (DOPT__C(1.0 / 12) + f * f * n2 * DOPT__C(1.0 / 720)) * f * f;
    } else {
        DOPT__L n = DOPT_M(sqrt)(n2), r = DOPT__C(1) / n, th = DOPT__C(2) * DOPT_FN(dopt__lie_atan2p)(n, qw);
        f = th * r; /* the same rounding with or without E: residuals do not depend on J */
        if (E) {
            DOPT__L th2 = th * th;
            if (th2 < DOPT__LIE_SMALL) /* D by its series (the closed form cancels here) */
                *E = (DOPT__C(1.0 / 12) + th2 * (DOPT__C(1.0 / 720) + th2 * DOPT__C(1.0 / 30240))) * f * f;
            else
                *E = (DOPT__C(1) - DOPT__C(0.5) * f * qw) * r * r;
        }
    }
    if (v) { v[0] = x; v[1] = y; v[2] = z; }
    w[0] = f * x; w[1] = f * y; w[2] = f * z;
}

/* J = (1 - E|v|²) I + [w]x/2 + E v vᵀ  (Jr⁻¹ from the quantities of dopt__lie_so3_log_k). */
DOPT__LIE_INLINE void DOPT_FN(dopt__lie_so3_jrinv_v)(const DOPT__L *w, const DOPT__L *v, DOPT__L E, DOPT__L *J)
{
    DOPT__L c0 = DOPT__C(1) - E * (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
    DOPT__L e0 = E * v[0], e1 = E * v[1], e2 = E * v[2];
    DOPT__L h0 = DOPT__C(0.5) * w[0], h1 = DOPT__C(0.5) * w[1], h2 = DOPT__C(0.5) * w[2];
    J[0] = c0 + e0 * v[0]; J[1] = e0 * v[1] - h2;      J[2] = e0 * v[2] + h1;
    J[3] = e0 * v[1] + h2; J[4] = c0 + e1 * v[1];      J[5] = e1 * v[2] - h0;
    J[6] = e0 * v[2] - h1; J[7] = e1 * v[2] + h0;      J[8] = c0 + e2 * v[2];
}

DOPT_API void DOPT_FN(dopt_so3_exp)(const DOPT__L w[3], DOPT__L g[4], DOPT__L *J)
{
    if (J) {
        DOPT__L A, B, wc[3];
        wc[0] = w[0]; wc[1] = w[1]; wc[2] = w[2];
        DOPT_FN(dopt__lie_so3_exp_k)(wc, g, &A, &B, 1);
        DOPT_FN(dopt__lie_so3_poly)(wc, DOPT__C(1), -A, B, J);
        return;
    }
    DOPT_FN(dopt__lie_so3_exp_k)(w, g, NULL, NULL, 0);
}

DOPT_API void DOPT_FN(dopt_so3_log)(const DOPT__L g[4], DOPT__L w[3], DOPT__L *J)
{
    if (J) {
        DOPT__L E, v[3];
        DOPT_FN(dopt__lie_so3_log_k)(g, w, v, &E);
        DOPT_FN(dopt__lie_so3_jrinv_v)(w, v, E, J);
        return;
    }
    DOPT_FN(dopt__lie_so3_log_k)(g, w, NULL, NULL);
}

DOPT_API void DOPT_FN(dopt_so3_compose)(const DOPT__L a[4], const DOPT__L b[4], DOPT__L c[4],
                                        DOPT__L *Ja, DOPT__L *Jb)
{
    if (Ja) { /* Ad(b⁻¹) = R_bᵀ */
        DOPT__L Rb[9];
        int i, j;
        DOPT_FN(dopt_so3_to_matrix)(b, Rb);
        for (i = 0; i < 3; ++i)
            for (j = 0; j < 3; ++j) Ja[3 * i + j] = Rb[3 * j + i];
    }
    if (Jb) DOPT_FN(dopt__lie_eye)(Jb, 3);
    DOPT_FN(dopt__lie_qmul)(a, b, c);
}

DOPT_API void DOPT_FN(dopt_so3_inverse)(const DOPT__L a[4], DOPT__L b[4], DOPT__L *J)
{
    if (J) {
        int i;
        DOPT_FN(dopt_so3_to_matrix)(a, J);
        for (i = 0; i < 9; ++i) J[i] = -J[i];
    }
    b[0] = -a[0]; b[1] = -a[1]; b[2] = -a[2]; b[3] = a[3];
}

DOPT_API void DOPT_FN(dopt_so3_between)(const DOPT__L a[4], const DOPT__L b[4], DOPT__L c[4],
                                        DOPT__L *Ja, DOPT__L *Jb)
{
    DOPT__L ai[4];
    ai[0] = -a[0]; ai[1] = -a[1]; ai[2] = -a[2]; ai[3] = a[3];
    DOPT_FN(dopt__lie_qmul)(ai, b, c);
    if (Ja) { /* -Ad(c⁻¹) = -R_cᵀ */
        DOPT__L Rc[9];
        int i, j;
        DOPT_FN(dopt_so3_to_matrix)(c, Rc);
        for (i = 0; i < 3; ++i)
            for (j = 0; j < 3; ++j) Ja[3 * i + j] = -Rc[3 * j + i];
    }
    if (Jb) DOPT_FN(dopt__lie_eye)(Jb, 3);
}

DOPT_API void DOPT_FN(dopt_so3_act)(const DOPT__L g[4], const DOPT__L p[3], DOPT__L y[3],
                                    DOPT__L *Jg, DOPT__L *Jp)
{
    if (Jg || Jp) {
        DOPT__L R[9], P[9], y0, y1, y2;
        DOPT_FN(dopt_so3_to_matrix)(g, R);
        y0 = R[0] * p[0] + R[1] * p[1] + R[2] * p[2];
        y1 = R[3] * p[0] + R[4] * p[1] + R[5] * p[2];
        y2 = R[6] * p[0] + R[7] * p[1] + R[8] * p[2];
        if (Jg) { /* -R [p]x */
            DOPT_FN(dopt__lie_skew)(p, P);
            DOPT_FN(dopt__lie_mul3)(R, P, Jg);
            { int i; for (i = 0; i < 9; ++i) Jg[i] = -Jg[i]; }
        }
        if (Jp) memcpy(Jp, R, sizeof R);
        y[0] = y0; y[1] = y1; y[2] = y2;
        return;
    }
    DOPT_FN(dopt__lie_qrot)(g, p, y);
}

DOPT_API void DOPT_FN(dopt_so3_adjoint)(const DOPT__L g[4], DOPT__L Ad[9])
{
    DOPT_FN(dopt_so3_to_matrix)(g, Ad);
}

DOPT_API void DOPT_FN(dopt_so3_hat)(const DOPT__L w[3], DOPT__L W[9])
{
    DOPT_FN(dopt__lie_skew)(w, W);
}

DOPT_API void DOPT_FN(dopt_so3_vee)(const DOPT__L W[9], DOPT__L w[3])
{
    DOPT__L x = DOPT__C(0.5) * (W[7] - W[5]), y = DOPT__C(0.5) * (W[2] - W[6]), z = DOPT__C(0.5) * (W[3] - W[1]);
    w[0] = x; w[1] = y; w[2] = z;
}

DOPT_API void DOPT_FN(dopt_so3_normalize)(DOPT__L g[4])
{
    DOPT__L n2 = g[0] * g[0] + g[1] * g[1] + g[2] * g[2] + g[3] * g[3], n, m = 0;
    int k;
    if (!(n2 >= DOPT__C(1e-30) && n2 <= DOPT__C(1e30))) { /* scale first: no overflow, no underflow */
        for (k = 0; k < 4; ++k)
            if (!(DOPT_M(fabs)(g[k]) <= m)) m = DOPT_M(fabs)(g[k]); /* NaN sticks */
        if (m == 0) {
            DOPT_FN(dopt_so3_identity)(g);
            return;
        }
        if (!(m - m == 0)) { /* NaN or Inf: no rotation */
            for (k = 0; k < 4; ++k) g[k] = (DOPT__L)NAN;
            return;
        }
        for (k = 0; k < 4; ++k) g[k] /= m;
        n2 = g[0] * g[0] + g[1] * g[1] + g[2] * g[2] + g[3] * g[3];
    }
    n = DOPT__C(1) / DOPT_M(sqrt)(n2);
    g[0] *= n; g[1] *= n; g[2] *= n; g[3] *= n;
}

DOPT_API void DOPT_FN(dopt_so3_interp)(const DOPT__L a[4], const DOPT__L b[4], DOPT__L t, DOPT__L c[4])
{
    DOPT__L d[4], w[3];
    DOPT_FN(dopt_so3_between)(a, b, d, NULL, NULL);
    DOPT_FN(dopt_so3_log)(d, w, NULL);
    w[0] *= t; w[1] *= t; w[2] *= t;
    DOPT_FN(dopt_so3_exp)(w, d, NULL);
    DOPT_FN(dopt__lie_qmul)(a, d, c);
}

DOPT_API void DOPT_FN(dopt_so3_random)(dopt_rng *rng, DOPT__L g[4])
{
    double q[4], n2;
    do { /* a normalized 4D Gaussian is uniform on S³, i.e. Haar-uniform on SO3 */
        q[0] = dopt_rng_normal_d(rng); q[1] = dopt_rng_normal_d(rng);
        q[2] = dopt_rng_normal_d(rng); q[3] = dopt_rng_normal_d(rng);
        n2 = q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3];
    } while (n2 < 1e-12);
    n2 = 1.0 / sqrt(n2);
    if (q[3] < 0) n2 = -n2;
    g[0] = (DOPT__L)(q[0] * n2); g[1] = (DOPT__L)(q[1] * n2);
    g[2] = (DOPT__L)(q[2] * n2); g[3] = (DOPT__L)(q[3] * n2);
}

DOPT_API void DOPT_FN(dopt_so3_to_matrix)(const DOPT__L g[4], DOPT__L M[9])
{
    DOPT__L x = g[0], y = g[1], z = g[2], w = g[3];
    DOPT__L xx = x * x, yy = y * y, zz = z * z, xy = x * y, xz = x * z, yz = y * z;
    DOPT__L wx = w * x, wy = w * y, wz = w * z;
    M[0] = DOPT__C(1) - DOPT__C(2) * (yy + zz); M[1] = DOPT__C(2) * (xy - wz); M[2] = DOPT__C(2) * (xz + wy);
    M[3] = DOPT__C(2) * (xy + wz); M[4] = DOPT__C(1) - DOPT__C(2) * (xx + zz); M[5] = DOPT__C(2) * (yz - wx);
    M[6] = DOPT__C(2) * (xz - wy); M[7] = DOPT__C(2) * (yz + wx); M[8] = DOPT__C(1) - DOPT__C(2) * (xx + yy);
}

DOPT_API void DOPT_FN(dopt_so3_from_matrix)(const DOPT__L M[9], DOPT__L g[4])
{
    /* Shepperd: pick the largest of 4w², 4x², 4y², 4z² to divide by. */
    DOPT__L tr = M[0] + M[4] + M[8], s;
    if (tr >= M[0] && tr >= M[4] && tr >= M[8]) {
        s = DOPT_M(sqrt)(DOPT__C(1) + tr) * DOPT__C(2); /* 4w */
        g[3] = DOPT__C(0.25) * s;
        g[0] = (M[7] - M[5]) / s; g[1] = (M[2] - M[6]) / s; g[2] = (M[3] - M[1]) / s;
    } else if (M[0] >= M[4] && M[0] >= M[8]) {
        s = DOPT_M(sqrt)(DOPT__C(1) + M[0] - M[4] - M[8]) * DOPT__C(2); /* 4x */
        g[0] = DOPT__C(0.25) * s;
        g[3] = (M[7] - M[5]) / s; g[1] = (M[1] + M[3]) / s; g[2] = (M[2] + M[6]) / s;
    } else if (M[4] >= M[8]) {
        s = DOPT_M(sqrt)(DOPT__C(1) + M[4] - M[0] - M[8]) * DOPT__C(2); /* 4y */
        g[1] = DOPT__C(0.25) * s;
        g[3] = (M[2] - M[6]) / s; g[0] = (M[1] + M[3]) / s; g[2] = (M[5] + M[7]) / s;
    } else {
        s = DOPT_M(sqrt)(DOPT__C(1) + M[8] - M[0] - M[4]) * DOPT__C(2); /* 4z */
        g[2] = DOPT__C(0.25) * s;
        g[3] = (M[3] - M[1]) / s; g[0] = (M[2] + M[6]) / s; g[1] = (M[5] + M[7]) / s;
    }
    DOPT_FN(dopt_so3_normalize)(g);
}

DOPT_API void DOPT_FN(dopt_so3_from_angle_axis)(const DOPT__L aa[3], DOPT__L g[4])
{
    DOPT_FN(dopt_so3_exp)(aa, g, NULL);
}

DOPT_API void DOPT_FN(dopt_so3_to_angle_axis)(const DOPT__L g[4], DOPT__L aa[3])
{
    DOPT_FN(dopt_so3_log)(g, aa, NULL);
}

DOPT_API void DOPT_FN(dopt_so3_from_quaternion_wxyz)(const DOPT__L q[4], DOPT__L g[4])
{
    DOPT__L w = q[0], x = q[1], y = q[2], z = q[3];
    g[0] = x; g[1] = y; g[2] = z; g[3] = w;
}

DOPT_API void DOPT_FN(dopt_so3_to_quaternion_wxyz)(const DOPT__L g[4], DOPT__L q[4])
{
    DOPT__L x = g[0], y = g[1], z = g[2], w = g[3];
    q[0] = w; q[1] = x; q[2] = y; q[3] = z;
}

DOPT_API void DOPT_FN(dopt_so3_jr)(const DOPT__L w[3], DOPT__L J[9])
{
    DOPT__L A, B;
    DOPT_FN(dopt__lie_so3_ab)(w[0] * w[0] + w[1] * w[1] + w[2] * w[2], &A, &B);
    DOPT_FN(dopt__lie_so3_poly)(w, DOPT__C(1), -A, B, J);
}

DOPT_API void DOPT_FN(dopt_so3_jl)(const DOPT__L w[3], DOPT__L J[9])
{
    DOPT__L A, B;
    DOPT_FN(dopt__lie_so3_ab)(w[0] * w[0] + w[1] * w[1] + w[2] * w[2], &A, &B);
    DOPT_FN(dopt__lie_so3_poly)(w, DOPT__C(1), A, B, J);
}

DOPT_API void DOPT_FN(dopt_so3_jr_inv)(const DOPT__L w[3], DOPT__L J[9])
{
    DOPT__L D = DOPT_FN(dopt__lie_so3_d)(w[0] * w[0] + w[1] * w[1] + w[2] * w[2]);
    DOPT_FN(dopt__lie_so3_poly)(w, DOPT__C(1), DOPT__C(0.5), D, J);
}

DOPT_API void DOPT_FN(dopt_so3_jl_inv)(const DOPT__L w[3], DOPT__L J[9])
{
    DOPT__L D = DOPT_FN(dopt__lie_so3_d)(w[0] * w[0] + w[1] * w[1] + w[2] * w[2]);
    DOPT_FN(dopt__lie_so3_poly)(w, DOPT__C(1), DOPT__C(-0.5), D, J);
}

/* ---- SE3 ---------------------------------------------------------------------------------------- */

/* Coefficients of SE3's Jacobians at θ² = th2, from one sincos(θ/2):
 *   A = (1 - cos θ)/θ²,  B = (θ - sin θ)/θ³,  c2 = (θ² + 2 cos θ - 2)/(2θ⁴),
 *   c3 = (2θ - 3 sin θ + θ cos θ)/(2θ⁵),  D = 1/θ² - cot(θ/2)/(2θ)  (Taylor series below
 *   DOPT__LIE_SMALL, where the closed forms cancel). */
DOPT__LIE_INLINE void DOPT_FN(dopt__lie_se3_coef_sc)(DOPT__L th2, DOPT__L sh, DOPT__L ch, DOPT__L *A,
                                                     DOPT__L *B, DOPT__L *c2, DOPT__L *c3, DOPT__L *D)
{
    if (th2 < DOPT__LIE_SMALL) {
        *A = DOPT__C(0.5) - th2 * (DOPT__C(1.0 / 24) - th2 * DOPT__C(1.0 / 720));
        *B = DOPT__C(1.0 / 6) - th2 * (DOPT__C(1.0 / 120) - th2 * DOPT__C(1.0 / 5040));
        *c2 = DOPT__C(1.0 / 24) - th2 * (DOPT__C(1.0 / 720) - th2 * DOPT__C(1.0 / 40320));
        *c3 = DOPT__C(1.0 / 120) - th2 * (DOPT__C(1.0 / 2520) - th2 * DOPT__C(1.0 / 120960));
        *D = DOPT__C(1.0 / 12) + th2 * (DOPT__C(1.0 / 720) + th2 * DOPT__C(1.0 / 30240));
    } else {
        DOPT__L th = DOPT_M(sqrt)(th2), s = DOPT__C(2) * sh * ch, c = DOPT__C(1) - DOPT__C(2) * sh * sh;
        *A = DOPT__C(2) * sh * sh / th2;
        *B = (th - s) / (th2 * th);
        *c2 = (th2 - DOPT__C(4) * sh * sh) / (DOPT__C(2) * th2 * th2);
        *c3 = (DOPT__C(2) * th - DOPT__C(3) * s + th * c) / (DOPT__C(2) * th2 * th2 * th);
        *D = DOPT__C(1) / th2 - ch / (DOPT__C(2) * th * sh);
    }
}

/* The same from θ² alone (sin and cos of θ/2 computed here when needed). */
static void DOPT_FN(dopt__lie_se3_coef)(DOPT__L th2, DOPT__L *A, DOPT__L *B, DOPT__L *c2, DOPT__L *c3, DOPT__L *D)
{
    DOPT__L sh = 0, ch = 1;
    if (th2 >= DOPT__LIE_SMALL) {
        DOPT__L h = DOPT__C(0.5) * DOPT_M(sqrt)(th2);
        sh = DOPT_M(sin)(h);
        ch = DOPT_M(cos)(h);
    }
    DOPT_FN(dopt__lie_se3_coef_sc)(th2, sh, ch, A, B, c2, c3, D);
}

/* Barfoot's Q(v, w), the upper-right block of the LEFT Jacobian of SE3 exp ([v; w] ordering),
 *   Q = V/2 + B (WV + VW + WVW) + c2 (WWV + VWW - 3 WVW) + c3 (WVWW + WWVW),
 * written without 3x3 products through [a]x[b]x = b aᵀ - (a·b) I (so WVW = -(w·v) W):
 *   Q = [s]x + B (v wᵀ + w vᵀ) - 2 c3 (w·v) w wᵀ + 2 (w·v)(c3 θ² - B) I,
 *   s = v/2 + (c2 - B)(w·v) w + c2 w x (w x v). */
DOPT__LIE_INLINE void DOPT_FN(dopt__lie_se3_q)(const DOPT__L v[3], const DOPT__L w[3], DOPT__L B,
                                               DOPT__L c2, DOPT__L c3, DOPT__L Q[9])
{
    DOPT__L th2 = w[0] * w[0] + w[1] * w[1] + w[2] * w[2], wv = w[0] * v[0] + w[1] * v[1] + w[2] * v[2];
    DOPT__L x[3], y[3], sv[3], S[9], d = DOPT__C(2) * wv * (c3 * th2 - B), e = DOPT__C(2) * c3 * wv;
    int i, j;
    DOPT_FN(dopt__lie_cross)(w, v, x);
    DOPT_FN(dopt__lie_cross)(w, x, y);
    for (i = 0; i < 3; ++i) sv[i] = DOPT__C(0.5) * v[i] + (c2 - B) * wv * w[i] + c2 * y[i];
    DOPT_FN(dopt__lie_skew)(sv, S);
    for (i = 0; i < 3; ++i)
        for (j = 0; j < 3; ++j)
            Q[3 * i + j] = S[3 * i + j] + B * (v[i] * w[j] + w[i] * v[j]) - e * w[i] * w[j] + (i == j ? d : DOPT__C(0));
}

static void DOPT_FN(dopt__lie_se3_jl_inv_c)(const DOPT__L xi[6], DOPT__L B, DOPT__L c2, DOPT__L c3,
                                            DOPT__L D, DOPT__L J[36]);

/* c = a · b (c may alias a or b). */
DOPT__LIE_INLINE void DOPT_FN(dopt__lie_se3_compose_k)(const DOPT__L *a, const DOPT__L *b, DOPT__L *c)
{
    DOPT__L t[3], a0 = a[0], a1 = a[1], a2 = a[2];
    DOPT_FN(dopt__lie_qrot)(a + 3, b, t);
    DOPT_FN(dopt__lie_qmul)(a + 3, b + 3, c + 3);
    c[0] = a0 + t[0]; c[1] = a1 + t[1]; c[2] = a2 + t[2];
}

/* y = R p + t (y may alias p). */
DOPT__LIE_INLINE void DOPT_FN(dopt__lie_se3_act_k)(const DOPT__L *g, const DOPT__L *p, DOPT__L *y)
{
    DOPT__L r[3];
    DOPT_FN(dopt__lie_qrot)(g + 3, p, r);
    y[0] = r[0] + g[0]; y[1] = r[1] + g[1]; y[2] = r[2] + g[2];
}

DOPT_API void DOPT_FN(dopt_se3_identity)(DOPT__L g[7])
{
    g[0] = g[1] = g[2] = 0;
    DOPT_FN(dopt_so3_identity)(g + 3);
}

DOPT_API void DOPT_FN(dopt_se3_exp)(const DOPT__L xi[6], DOPT__L g[7], DOPT__L *J)
{
    DOPT__L A, B, w[3], wv[3], wwv[3], v0 = xi[0], v1 = xi[1], v2 = xi[2];
    w[0] = xi[3]; w[1] = xi[4]; w[2] = xi[5];
    if (J) DOPT_FN(dopt_se3_jr)(xi, J);
    /* t = Jl(w) v = v + A w x v + B w x (w x v) */
    DOPT_FN(dopt__lie_cross)(w, xi, wv);
    DOPT_FN(dopt__lie_cross)(w, wv, wwv);
    DOPT_FN(dopt__lie_so3_exp_k)(w, g + 3, &A, &B, 1);
    g[0] = v0 + A * wv[0] + B * wwv[0];
    g[1] = v1 + A * wv[1] + B * wwv[1];
    g[2] = v2 + A * wv[2] + B * wwv[2];
}

DOPT_API void DOPT_FN(dopt_se3_log)(const DOPT__L g[7], DOPT__L xi[6], DOPT__L *J)
{
    DOPT__L w[3], q[3], E, wt[3], qt[3], qqt[3], t0 = g[0], t1 = g[1], t2 = g[2];
    DOPT_FN(dopt__lie_so3_log_k)(g + 3, w, q, &E);
    /* v = Jl(w)⁻¹ t = t - w x t / 2 + D w x (w x t),  D w x (w x .) = E q x (q x .) */
    DOPT_FN(dopt__lie_cross)(w, g, wt);
    DOPT_FN(dopt__lie_cross)(q, g, qt);
    DOPT_FN(dopt__lie_cross)(q, qt, qqt);
    xi[0] = t0 - DOPT__C(0.5) * wt[0] + E * qqt[0];
    xi[1] = t1 - DOPT__C(0.5) * wt[1] + E * qqt[1];
    xi[2] = t2 - DOPT__C(0.5) * wt[2] + E * qqt[2];
    xi[3] = w[0]; xi[4] = w[1]; xi[5] = w[2];
    if (J) { /* Jr⁻¹(xi) = Jl⁻¹(-xi); sin and cos of θ/2 are the quaternion's own |q_v|, |q_w| */
        DOPT__L m[6], qn, n, A, B, c2, c3, D, th2 = w[0] * w[0] + w[1] * w[1] + w[2] * w[2];
        int i;
        n = DOPT_M(sqrt)(q[0] * q[0] + q[1] * q[1] + q[2] * q[2]);
        qn = DOPT_M(sqrt)(n * n + g[6] * g[6]);
        DOPT_FN(dopt__lie_se3_coef_sc)(th2, n / qn, DOPT_M(fabs)(g[6]) / qn, &A, &B, &c2, &c3, &D);
        for (i = 0; i < 6; ++i) m[i] = -xi[i];
        DOPT_FN(dopt__lie_se3_jl_inv_c)(m, B, c2, c3, D, J);
    }
}

DOPT_API void DOPT_FN(dopt_se3_compose)(const DOPT__L a[7], const DOPT__L b[7], DOPT__L c[7],
                                        DOPT__L *Ja, DOPT__L *Jb)
{
    if (Ja) {
        DOPT__L bi[7];
        DOPT_FN(dopt_se3_inverse)(b, bi, NULL);
        DOPT_FN(dopt_se3_adjoint)(bi, Ja);
    }
    if (Jb) DOPT_FN(dopt__lie_eye)(Jb, 6);
    DOPT_FN(dopt__lie_se3_compose_k)(a, b, c);
}

DOPT_API void DOPT_FN(dopt_se3_inverse)(const DOPT__L a[7], DOPT__L b[7], DOPT__L *J)
{
    DOPT__L t[3];
    if (J) {
        int i;
        DOPT_FN(dopt_se3_adjoint)(a, J);
        for (i = 0; i < 36; ++i) J[i] = -J[i];
    }
    DOPT_FN(dopt__lie_qrot_t)(a + 3, a, t);
    b[0] = -t[0]; b[1] = -t[1]; b[2] = -t[2];
    b[3] = -a[3]; b[4] = -a[4]; b[5] = -a[5]; b[6] = a[6];
}

DOPT_API void DOPT_FN(dopt_se3_between)(const DOPT__L a[7], const DOPT__L b[7], DOPT__L c[7],
                                        DOPT__L *Ja, DOPT__L *Jb)
{
    /* c = a⁻¹ b in one step: rotation conj(q_a) q_b, translation R_aᵀ (t_b - t_a) (one
       rotation, where the inverse followed by a composition takes two) */
    DOPT__L qc[4], dt[3];
    qc[0] = -a[3]; qc[1] = -a[4]; qc[2] = -a[5]; qc[3] = a[6];
    dt[0] = b[0] - a[0]; dt[1] = b[1] - a[1]; dt[2] = b[2] - a[2];
    DOPT_FN(dopt__lie_qmul)(qc, b + 3, c + 3);
    DOPT_FN(dopt__lie_qrot)(qc, dt, c);
    if (Ja) {
        DOPT__L ci[7];
        int i;
        DOPT_FN(dopt_se3_inverse)(c, ci, NULL);
        DOPT_FN(dopt_se3_adjoint)(ci, Ja);
        for (i = 0; i < 36; ++i) Ja[i] = -Ja[i];
    }
    if (Jb) DOPT_FN(dopt__lie_eye)(Jb, 6);
}

DOPT_API void DOPT_FN(dopt_se3_act)(const DOPT__L g[7], const DOPT__L p[3], DOPT__L y[3],
                                    DOPT__L *Jg, DOPT__L *Jp)
{
    if (Jg || Jp) {
        DOPT__L R[9], y0, y1, y2;
        int i;
        DOPT_FN(dopt_so3_to_matrix)(g + 3, R);
        y0 = R[0] * p[0] + R[1] * p[1] + R[2] * p[2] + g[0];
        y1 = R[3] * p[0] + R[4] * p[1] + R[5] * p[2] + g[1];
        y2 = R[6] * p[0] + R[7] * p[1] + R[8] * p[2] + g[2];
        if (Jg) { /* [R, -R [p]x]; row i of -R [p]x is p x r_i (r_i = row i of R) */
            for (i = 0; i < 3; ++i) {
                const DOPT__L *r = R + 3 * i;
                DOPT__L *o = Jg + 6 * i;
                o[0] = r[0]; o[1] = r[1]; o[2] = r[2];
                o[3] = p[1] * r[2] - p[2] * r[1];
                o[4] = p[2] * r[0] - p[0] * r[2];
                o[5] = p[0] * r[1] - p[1] * r[0];
            }
        }
        if (Jp) memcpy(Jp, R, sizeof R);
        y[0] = y0; y[1] = y1; y[2] = y2;
        return;
    }
    DOPT_FN(dopt__lie_se3_act_k)(g, p, y);
}

DOPT_API void DOPT_FN(dopt_se3_adjoint)(const DOPT__L g[7], DOPT__L Ad[36])
{
    DOPT__L R[9], T[9], TR[9];
    DOPT_FN(dopt_so3_to_matrix)(g + 3, R);
    DOPT_FN(dopt__lie_skew)(g, T);
    DOPT_FN(dopt__lie_mul3)(T, R, TR);
    DOPT_FN(dopt__lie_zero)(Ad, 36);
    DOPT_FN(dopt__lie_put3)(Ad, 6, 0, 0, R, 1);
    DOPT_FN(dopt__lie_put3)(Ad, 6, 0, 3, TR, 1);
    DOPT_FN(dopt__lie_put3)(Ad, 6, 3, 3, R, 1);
}

DOPT_API void DOPT_FN(dopt_se3_hat)(const DOPT__L xi[6], DOPT__L X[16])
{
    DOPT__L W[9];
    int i, j;
    DOPT_FN(dopt__lie_skew)(xi + 3, W);
    for (i = 0; i < 3; ++i) {
        for (j = 0; j < 3; ++j) X[4 * i + j] = W[3 * i + j];
        X[4 * i + 3] = xi[i];
    }
    X[12] = X[13] = X[14] = X[15] = 0;
}

DOPT_API void DOPT_FN(dopt_se3_vee)(const DOPT__L X[16], DOPT__L xi[6])
{
    DOPT__L v0 = X[3], v1 = X[7], v2 = X[11];
    DOPT__L w0 = DOPT__C(0.5) * (X[9] - X[6]), w1 = DOPT__C(0.5) * (X[2] - X[8]), w2 = DOPT__C(0.5) * (X[4] - X[1]);
    xi[0] = v0; xi[1] = v1; xi[2] = v2; xi[3] = w0; xi[4] = w1; xi[5] = w2;
}

DOPT_API void DOPT_FN(dopt_se3_normalize)(DOPT__L g[7])
{
    DOPT_FN(dopt_so3_normalize)(g + 3);
}

DOPT_API void DOPT_FN(dopt_se3_interp)(const DOPT__L a[7], const DOPT__L b[7], DOPT__L t, DOPT__L c[7])
{
    DOPT__L d[7], xi[6];
    int i;
    DOPT_FN(dopt_se3_between)(a, b, d, NULL, NULL);
    DOPT_FN(dopt_se3_log)(d, xi, NULL);
    for (i = 0; i < 6; ++i) xi[i] *= t;
    DOPT_FN(dopt_se3_exp)(xi, d, NULL);
    DOPT_FN(dopt_se3_compose)(a, d, c, NULL, NULL);
}

DOPT_API void DOPT_FN(dopt_se3_random)(dopt_rng *rng, DOPT__L g[7])
{
    DOPT_FN(dopt_so3_random)(rng, g + 3);
    g[0] = (DOPT__L)dopt_rng_normal_d(rng);
    g[1] = (DOPT__L)dopt_rng_normal_d(rng);
    g[2] = (DOPT__L)dopt_rng_normal_d(rng);
}

DOPT_API void DOPT_FN(dopt_se3_to_matrix)(const DOPT__L g[7], DOPT__L H[16])
{
    DOPT__L R[9];
    int i, j;
    DOPT_FN(dopt_so3_to_matrix)(g + 3, R);
    for (i = 0; i < 3; ++i) {
        for (j = 0; j < 3; ++j) H[4 * i + j] = R[3 * i + j];
        H[4 * i + 3] = g[i];
    }
    H[12] = H[13] = H[14] = 0;
    H[15] = 1;
}

DOPT_API void DOPT_FN(dopt_se3_from_matrix)(const DOPT__L H[16], DOPT__L g[7])
{
    DOPT__L R[9];
    int i, j;
    for (i = 0; i < 3; ++i)
        for (j = 0; j < 3; ++j) R[3 * i + j] = H[4 * i + j];
    g[0] = H[3]; g[1] = H[7]; g[2] = H[11];
    DOPT_FN(dopt_so3_from_matrix)(R, g + 3);
}

DOPT_API void DOPT_FN(dopt_se3_jl)(const DOPT__L xi[6], DOPT__L J[36])
{
    DOPT__L Jw[9], Q[9], A, B, c2, c3, D;
    const DOPT__L *w = xi + 3;
    DOPT_FN(dopt__lie_se3_coef)(w[0] * w[0] + w[1] * w[1] + w[2] * w[2], &A, &B, &c2, &c3, &D);
    DOPT_FN(dopt__lie_so3_poly)(w, DOPT__C(1), A, B, Jw);
    DOPT_FN(dopt__lie_se3_q)(xi, w, B, c2, c3, Q);
    DOPT_FN(dopt__lie_zero)(J, 36);
    DOPT_FN(dopt__lie_put3)(J, 6, 0, 0, Jw, 1);
    DOPT_FN(dopt__lie_put3)(J, 6, 0, 3, Q, 1);
    DOPT_FN(dopt__lie_put3)(J, 6, 3, 3, Jw, 1);
}

DOPT_API void DOPT_FN(dopt_se3_jr)(const DOPT__L xi[6], DOPT__L J[36])
{
    DOPT__L m[6];
    int i;
    for (i = 0; i < 6; ++i) m[i] = -xi[i];
    DOPT_FN(dopt_se3_jl)(m, J);
}

/* Jl(xi)⁻¹ given the coefficients of dopt__lie_se3_coef at |w|²:
 * [[A, Q], [0, A]]⁻¹ = [[A⁻¹, -A⁻¹ Q A⁻¹], [0, A⁻¹]],  A⁻¹ = Jl(w)⁻¹ = I - W/2 + D W². */
static void DOPT_FN(dopt__lie_se3_jl_inv_c)(const DOPT__L xi[6], DOPT__L B, DOPT__L c2, DOPT__L c3,
                                            DOPT__L D, DOPT__L J[36])
{
    DOPT__L Ai[9], Q[9], T[9], M[9];
    const DOPT__L *w = xi + 3;
    DOPT_FN(dopt__lie_so3_poly)(w, DOPT__C(1), DOPT__C(-0.5), D, Ai);
    DOPT_FN(dopt__lie_se3_q)(xi, w, B, c2, c3, Q);
    DOPT_FN(dopt__lie_mul3)(Ai, Q, T);
    DOPT_FN(dopt__lie_mul3)(T, Ai, M);
    DOPT_FN(dopt__lie_zero)(J, 36);
    DOPT_FN(dopt__lie_put3)(J, 6, 0, 0, Ai, 1);
    DOPT_FN(dopt__lie_put3)(J, 6, 0, 3, M, -1);
    DOPT_FN(dopt__lie_put3)(J, 6, 3, 3, Ai, 1);
}

DOPT_API void DOPT_FN(dopt_se3_jl_inv)(const DOPT__L xi[6], DOPT__L J[36])
{
    DOPT__L A, B, c2, c3, D;
    DOPT_FN(dopt__lie_se3_coef)(xi[3] * xi[3] + xi[4] * xi[4] + xi[5] * xi[5], &A, &B, &c2, &c3, &D);
    DOPT_FN(dopt__lie_se3_jl_inv_c)(xi, B, c2, c3, D, J);
}

DOPT_API void DOPT_FN(dopt_se3_jr_inv)(const DOPT__L xi[6], DOPT__L J[36])
{
    DOPT__L m[6];
    int i;
    for (i = 0; i < 6; ++i) m[i] = -xi[i];
    DOPT_FN(dopt_se3_jl_inv)(m, J);
}

/* ---- SO2 ---------------------------------------------------------------------------------------- */

DOPT_API void DOPT_FN(dopt_so2_identity)(DOPT__L g[2])
{
    g[0] = 1;
    g[1] = 0;
}

DOPT_API void DOPT_FN(dopt_so2_exp)(const DOPT__L theta[1], DOPT__L g[2], DOPT__L *J)
{
    DOPT__L th = theta[0];
    g[0] = DOPT_M(cos)(th);
    g[1] = DOPT_M(sin)(th);
    if (J) J[0] = 1;
}

DOPT_API void DOPT_FN(dopt_so2_log)(const DOPT__L g[2], DOPT__L theta[1], DOPT__L *J)
{
    theta[0] = DOPT_M(atan2)(g[1] == 0 ? DOPT__C(0) : g[1], g[0]); /* s = -0: π, not -π */
    if (J) J[0] = 1;
}

DOPT_API void DOPT_FN(dopt_so2_compose)(const DOPT__L a[2], const DOPT__L b[2], DOPT__L c[2],
                                        DOPT__L *Ja, DOPT__L *Jb)
{
    DOPT__L x = a[0] * b[0] - a[1] * b[1], y = a[1] * b[0] + a[0] * b[1];
    c[0] = x; c[1] = y;
    if (Ja) Ja[0] = 1;
    if (Jb) Jb[0] = 1;
}

DOPT_API void DOPT_FN(dopt_so2_inverse)(const DOPT__L a[2], DOPT__L b[2], DOPT__L *J)
{
    b[0] = a[0];
    b[1] = -a[1];
    if (J) J[0] = -1;
}

DOPT_API void DOPT_FN(dopt_so2_between)(const DOPT__L a[2], const DOPT__L b[2], DOPT__L c[2],
                                        DOPT__L *Ja, DOPT__L *Jb)
{
    DOPT__L x = a[0] * b[0] + a[1] * b[1], y = a[0] * b[1] - a[1] * b[0];
    c[0] = x; c[1] = y;
    if (Ja) Ja[0] = -1;
    if (Jb) Jb[0] = 1;
}

DOPT_API void DOPT_FN(dopt_so2_act)(const DOPT__L g[2], const DOPT__L p[2], DOPT__L y[2],
                                    DOPT__L *Jg, DOPT__L *Jp)
{
    DOPT__L y0 = g[0] * p[0] - g[1] * p[1], y1 = g[1] * p[0] + g[0] * p[1];
    if (Jp) { Jp[0] = g[0]; Jp[1] = -g[1]; Jp[2] = g[1]; Jp[3] = g[0]; }
    y[0] = y0; y[1] = y1;
    if (Jg) { Jg[0] = -y1; Jg[1] = y0; }
}

DOPT_API void DOPT_FN(dopt_so2_adjoint)(const DOPT__L g[2], DOPT__L Ad[1])
{
    (void)g;
    Ad[0] = 1;
}

DOPT_API void DOPT_FN(dopt_so2_hat)(const DOPT__L theta[1], DOPT__L W[4])
{
    DOPT__L th = theta[0];
    W[0] = 0; W[1] = -th; W[2] = th; W[3] = 0;
}

DOPT_API void DOPT_FN(dopt_so2_vee)(const DOPT__L W[4], DOPT__L theta[1])
{
    theta[0] = DOPT__C(0.5) * (W[2] - W[1]);
}

DOPT_API void DOPT_FN(dopt_so2_normalize)(DOPT__L g[2])
{
    DOPT__L n = DOPT_M(sqrt)(g[0] * g[0] + g[1] * g[1]);
    if (!(n > 0)) {
        DOPT_FN(dopt_so2_identity)(g);
        return;
    }
    g[0] /= n;
    g[1] /= n;
}

DOPT_API void DOPT_FN(dopt_so2_interp)(const DOPT__L a[2], const DOPT__L b[2], DOPT__L t, DOPT__L c[2])
{
    DOPT__L d[2], th;
    DOPT_FN(dopt_so2_between)(a, b, d, NULL, NULL);
    DOPT_FN(dopt_so2_log)(d, &th, NULL);
    th *= t;
    DOPT_FN(dopt_so2_exp)(&th, d, NULL);
    DOPT_FN(dopt_so2_compose)(a, d, c, NULL, NULL);
}

DOPT_API void DOPT_FN(dopt_so2_random)(dopt_rng *rng, DOPT__L g[2])
{
    double th = (2.0 * dopt_rng_uniform_d(rng) - 1.0) * 3.14159265358979323846;
    g[0] = (DOPT__L)cos(th);
    g[1] = (DOPT__L)sin(th);
}

DOPT_API void DOPT_FN(dopt_so2_to_matrix)(const DOPT__L g[2], DOPT__L M[4])
{
    M[0] = g[0]; M[1] = -g[1]; M[2] = g[1]; M[3] = g[0];
}

DOPT_API void DOPT_FN(dopt_so2_from_matrix)(const DOPT__L M[4], DOPT__L g[2])
{
    /* average the two columns' estimates of (c, s), then normalize */
    g[0] = DOPT__C(0.5) * (M[0] + M[3]);
    g[1] = DOPT__C(0.5) * (M[2] - M[1]);
    DOPT_FN(dopt_so2_normalize)(g);
}

/* ---- SE2 ---------------------------------------------------------------------------------------- */

/* SE2 coefficients at angle th:  a = sin θ/θ, b = (1 - cos θ)/θ, c = (θ - sin θ)/θ²,
 * d = (1 - cos θ)/θ² (c and d only if wanted). */
static void DOPT_FN(dopt__lie_se2_coef)(DOPT__L th, DOPT__L *a, DOPT__L *b, DOPT__L *c, DOPT__L *d)
{
    DOPT__L th2 = th * th;
    if (th2 < DOPT__LIE_SMALL) {
        *a = DOPT__C(1) - th2 * (DOPT__C(1.0 / 6) - th2 * (DOPT__C(1.0 / 120) - th2 * DOPT__C(1.0 / 5040)));
        *b = th * (DOPT__C(0.5) - th2 * (DOPT__C(1.0 / 24) - th2 * (DOPT__C(1.0 / 720) - th2 * DOPT__C(1.0 / 40320))));
        if (c) *c = th * (DOPT__C(1.0 / 6) - th2 * (DOPT__C(1.0 / 120) - th2 * (DOPT__C(1.0 / 5040) - th2 * DOPT__C(1.0 / 362880))));
        if (d) *d = DOPT__C(0.5) - th2 * (DOPT__C(1.0 / 24) - th2 * (DOPT__C(1.0 / 720) - th2 * DOPT__C(1.0 / 40320)));
    } else {
        DOPT__L s = DOPT_M(sin)(th), sh = DOPT_M(sin)(DOPT__C(0.5) * th);
        *a = s / th;
        *b = DOPT__C(2) * sh * sh / th;
        if (c) *c = (th - s) / th2;
        if (d) *d = DOPT__C(2) * sh * sh / th2;
    }
}

/* hc = (θ/2) cot(θ/2): V(θ)⁻¹ = [[hc, θ/2], [-θ/2, hc]]. */
static DOPT__L DOPT_FN(dopt__lie_se2_hc)(DOPT__L th)
{
    DOPT__L th2 = th * th, h = DOPT__C(0.5) * th;
    if (th2 < DOPT__LIE_SMALL)
        return DOPT__C(1) - th2 * (DOPT__C(1.0 / 12) + th2 * (DOPT__C(1.0 / 720) + th2 * DOPT__C(1.0 / 30240)));
    return h * DOPT_M(cos)(h) / DOPT_M(sin)(h);
}

DOPT_API void DOPT_FN(dopt_se2_identity)(DOPT__L g[4])
{
    g[0] = g[1] = 0;
    g[2] = 1;
    g[3] = 0;
}

DOPT_API void DOPT_FN(dopt_se2_exp)(const DOPT__L xi[3], DOPT__L g[4], DOPT__L *J)
{
    DOPT__L th = xi[2], a, b, v0 = xi[0], v1 = xi[1];
    if (J) DOPT_FN(dopt_se2_jr)(xi, J);
    DOPT_FN(dopt__lie_se2_coef)(th, &a, &b, NULL, NULL);
    g[0] = a * v0 - b * v1;
    g[1] = b * v0 + a * v1;
    g[2] = DOPT_M(cos)(th);
    g[3] = DOPT_M(sin)(th);
}

DOPT_API void DOPT_FN(dopt_se2_log)(const DOPT__L g[4], DOPT__L xi[3], DOPT__L *J)
{
    DOPT__L th = DOPT_M(atan2)(g[3] == 0 ? DOPT__C(0) : g[3], g[2]), hc = DOPT_FN(dopt__lie_se2_hc)(th), h = DOPT__C(0.5) * th;
    DOPT__L x = g[0], y = g[1];
    xi[0] = hc * x + h * y;
    xi[1] = -h * x + hc * y;
    xi[2] = th;
    if (J) DOPT_FN(dopt_se2_jr_inv)(xi, J);
}

DOPT_API void DOPT_FN(dopt_se2_compose)(const DOPT__L a[4], const DOPT__L b[4], DOPT__L c[4],
                                        DOPT__L *Ja, DOPT__L *Jb)
{
    DOPT__L x, y, cc, ss;
    if (Ja) {
        DOPT__L bi[4];
        DOPT_FN(dopt_se2_inverse)(b, bi, NULL);
        DOPT_FN(dopt_se2_adjoint)(bi, Ja);
    }
    if (Jb) DOPT_FN(dopt__lie_eye)(Jb, 3);
    x = a[0] + a[2] * b[0] - a[3] * b[1];
    y = a[1] + a[3] * b[0] + a[2] * b[1];
    cc = a[2] * b[2] - a[3] * b[3];
    ss = a[3] * b[2] + a[2] * b[3];
    c[0] = x; c[1] = y; c[2] = cc; c[3] = ss;
}

DOPT_API void DOPT_FN(dopt_se2_inverse)(const DOPT__L a[4], DOPT__L b[4], DOPT__L *J)
{
    DOPT__L x = -(a[2] * a[0] + a[3] * a[1]), y = -(-a[3] * a[0] + a[2] * a[1]), cc = a[2], ss = -a[3];
    if (J) {
        int i;
        DOPT_FN(dopt_se2_adjoint)(a, J);
        for (i = 0; i < 9; ++i) J[i] = -J[i];
    }
    b[0] = x; b[1] = y; b[2] = cc; b[3] = ss;
}

DOPT_API void DOPT_FN(dopt_se2_between)(const DOPT__L a[4], const DOPT__L b[4], DOPT__L c[4],
                                        DOPT__L *Ja, DOPT__L *Jb)
{
    DOPT__L ai[4];
    DOPT_FN(dopt_se2_inverse)(a, ai, NULL);
    DOPT_FN(dopt_se2_compose)(ai, b, c, NULL, NULL);
    if (Ja) {
        DOPT__L ci[4];
        int i;
        DOPT_FN(dopt_se2_inverse)(c, ci, NULL);
        DOPT_FN(dopt_se2_adjoint)(ci, Ja);
        for (i = 0; i < 9; ++i) Ja[i] = -Ja[i];
    }
    if (Jb) DOPT_FN(dopt__lie_eye)(Jb, 3);
}

DOPT_API void DOPT_FN(dopt_se2_act)(const DOPT__L g[4], const DOPT__L p[2], DOPT__L y[2],
                                    DOPT__L *Jg, DOPT__L *Jp)
{
    DOPT__L r0 = g[2] * p[0] - g[3] * p[1], r1 = g[3] * p[0] + g[2] * p[1];
    if (Jg) {
        Jg[0] = g[2]; Jg[1] = -g[3]; Jg[2] = -r1;
        Jg[3] = g[3]; Jg[4] = g[2];  Jg[5] = r0;
    }
    if (Jp) { Jp[0] = g[2]; Jp[1] = -g[3]; Jp[2] = g[3]; Jp[3] = g[2]; }
    y[0] = r0 + g[0];
    y[1] = r1 + g[1];
}

DOPT_API void DOPT_FN(dopt_se2_adjoint)(const DOPT__L g[4], DOPT__L Ad[9])
{
    Ad[0] = g[2]; Ad[1] = -g[3]; Ad[2] = g[1];
    Ad[3] = g[3]; Ad[4] = g[2];  Ad[5] = -g[0];
    Ad[6] = 0;    Ad[7] = 0;     Ad[8] = 1;
}

DOPT_API void DOPT_FN(dopt_se2_hat)(const DOPT__L xi[3], DOPT__L X[9])
{
    X[0] = 0;     X[1] = -xi[2]; X[2] = xi[0];
    X[3] = xi[2]; X[4] = 0;      X[5] = xi[1];
    X[6] = 0;     X[7] = 0;      X[8] = 0;
}

DOPT_API void DOPT_FN(dopt_se2_vee)(const DOPT__L X[9], DOPT__L xi[3])
{
    DOPT__L v0 = X[2], v1 = X[5], th = DOPT__C(0.5) * (X[3] - X[1]);
    xi[0] = v0; xi[1] = v1; xi[2] = th;
}

DOPT_API void DOPT_FN(dopt_se2_normalize)(DOPT__L g[4])
{
    DOPT_FN(dopt_so2_normalize)(g + 2);
}

DOPT_API void DOPT_FN(dopt_se2_interp)(const DOPT__L a[4], const DOPT__L b[4], DOPT__L t, DOPT__L c[4])
{
    DOPT__L d[4], xi[3];
    DOPT_FN(dopt_se2_between)(a, b, d, NULL, NULL);
    DOPT_FN(dopt_se2_log)(d, xi, NULL);
    xi[0] *= t; xi[1] *= t; xi[2] *= t;
    DOPT_FN(dopt_se2_exp)(xi, d, NULL);
    DOPT_FN(dopt_se2_compose)(a, d, c, NULL, NULL);
}

DOPT_API void DOPT_FN(dopt_se2_random)(dopt_rng *rng, DOPT__L g[4])
{
    DOPT_FN(dopt_so2_random)(rng, g + 2);
    g[0] = (DOPT__L)dopt_rng_normal_d(rng);
    g[1] = (DOPT__L)dopt_rng_normal_d(rng);
}

DOPT_API void DOPT_FN(dopt_se2_to_matrix)(const DOPT__L g[4], DOPT__L H[9])
{
    H[0] = g[2]; H[1] = -g[3]; H[2] = g[0];
    H[3] = g[3]; H[4] = g[2];  H[5] = g[1];
    H[6] = 0;    H[7] = 0;     H[8] = 1;
}

DOPT_API void DOPT_FN(dopt_se2_from_matrix)(const DOPT__L H[9], DOPT__L g[4])
{
    DOPT__L M[4];
    M[0] = H[0]; M[1] = H[1]; M[2] = H[3]; M[3] = H[4];
    g[0] = H[2];
    g[1] = H[5];
    DOPT_FN(dopt_so2_from_matrix)(M, g + 2);
}

DOPT_API void DOPT_FN(dopt_se2_from_xytheta)(const DOPT__L xyt[3], DOPT__L g[4])
{
    DOPT__L th = xyt[2];
    g[0] = xyt[0];
    g[1] = xyt[1];
    g[2] = DOPT_M(cos)(th);
    g[3] = DOPT_M(sin)(th);
}

DOPT_API void DOPT_FN(dopt_se2_to_xytheta)(const DOPT__L g[4], DOPT__L xyt[3])
{
    DOPT__L th = DOPT_M(atan2)(g[3], g[2]);
    xyt[0] = g[0];
    xyt[1] = g[1];
    xyt[2] = th;
}

DOPT_API void DOPT_FN(dopt_se2_jr)(const DOPT__L xi[3], DOPT__L J[9])
{
    DOPT__L a, b, c, d, r1 = xi[0], r2 = xi[1];
    DOPT_FN(dopt__lie_se2_coef)(xi[2], &a, &b, &c, &d);
    J[0] = a;  J[1] = b; J[2] = r1 * c - r2 * d;
    J[3] = -b; J[4] = a; J[5] = r1 * d + r2 * c;
    J[6] = 0;  J[7] = 0; J[8] = 1;
}

DOPT_API void DOPT_FN(dopt_se2_jl)(const DOPT__L xi[3], DOPT__L J[9])
{
    DOPT__L m[3];
    m[0] = -xi[0]; m[1] = -xi[1]; m[2] = -xi[2];
    DOPT_FN(dopt_se2_jr)(m, J);
}

DOPT_API void DOPT_FN(dopt_se2_jr_inv)(const DOPT__L xi[3], DOPT__L J[9])
{
    /* [[M, u], [0, 1]]⁻¹ = [[M⁻¹, -M⁻¹ u], [0, 1]],  M = [[a, b], [-b, a]],
     * M⁻¹ = [[hc, -θ/2], [θ/2, hc]] */
    DOPT__L a, b, c, d, r1 = xi[0], r2 = xi[1], th = xi[2];
    DOPT__L hc = DOPT_FN(dopt__lie_se2_hc)(th), h = DOPT__C(0.5) * th, u0, u1;
    DOPT_FN(dopt__lie_se2_coef)(th, &a, &b, &c, &d);
    u0 = r1 * c - r2 * d;
    u1 = r1 * d + r2 * c;
    J[0] = hc; J[1] = -h; J[2] = -(hc * u0 - h * u1);
    J[3] = h;  J[4] = hc; J[5] = -(h * u0 + hc * u1);
    J[6] = 0;  J[7] = 0;  J[8] = 1;
}

DOPT_API void DOPT_FN(dopt_se2_jl_inv)(const DOPT__L xi[3], DOPT__L J[9])
{
    DOPT__L m[3];
    m[0] = -xi[0]; m[1] = -xi[1]; m[2] = -xi[2];
    DOPT_FN(dopt_se2_jr_inv)(m, J);
}

/* ---- Sim3 --------------------------------------------------------------------------------------- */

/* n x n row-major products for the small generic matrices of Sim3 (n <= 7). C must not alias. */
static void DOPT_FN(dopt__lie_muln)(int n, const DOPT__L *A, const DOPT__L *B, DOPT__L *C)
{
    int i, j, k;
    for (i = 0; i < n; ++i)
        for (j = 0; j < n; ++j) {
            DOPT__L s = 0;
            for (k = 0; k < n; ++k) s += A[i * n + k] * B[k * n + j];
            C[i * n + j] = s;
        }
}

/* E = exp(A) and P = φ1(A) = Σ_k A^k/(k+1)! = ∫₀¹ exp(uA) du for an n x n matrix (n <= 7), by
 * scaling and squaring: Taylor at A/2^m (norm <= 1/2), then P <- P (I + E)/2, E <- E² m times.
 * No singularities anywhere: the small-angle and near-π cases need no branches. */
static void DOPT_FN(dopt__lie_phi1)(int n, const DOPT__L *A, DOPT__L *E, DOPT__L *P)
{
    DOPT__L As[49], T[49], nrm = 0, scale = 1, fact[18];
    int i, j, m = 0, k;
    const int N = DOPT_IS_FLOAT ? 8 : 14;
    for (i = 0; i < n; ++i) {
        DOPT__L r = 0;
        for (j = 0; j < n; ++j) r += DOPT_M(fabs)(A[i * n + j]);
        if (r > nrm) nrm = r;
    }
    while (nrm * scale > DOPT__C(0.5) && m < 60) { scale *= DOPT__C(0.5); ++m; }
    for (i = 0; i < n * n; ++i) As[i] = A[i] * scale;
    fact[0] = 1;
    for (k = 1; k <= N + 1; ++k) fact[k] = fact[k - 1] / (DOPT__L)(k + 1); /* fact[k] = 1/(k+1)! */
    /* Horner: P = Σ_{k=0}^{N} As^k/(k+1)! */
    DOPT_FN(dopt__lie_eye)(P, n);
    for (i = 0; i < n; ++i) P[i * n + i] = fact[N];
    for (k = N - 1; k >= 0; --k) {
        DOPT_FN(dopt__lie_muln)(n, As, P, T);
        for (i = 0; i < n * n; ++i) P[i] = T[i];
        for (i = 0; i < n; ++i) P[i * n + i] += fact[k];
    }
    DOPT_FN(dopt__lie_muln)(n, As, P, E); /* E = I + As P */
    for (i = 0; i < n; ++i) E[i * n + i] += 1;
    for (k = 0; k < m; ++k) {
        for (i = 0; i < n * n; ++i) T[i] = E[i];
        for (i = 0; i < n; ++i) T[i * n + i] += 1;
        DOPT_FN(dopt__lie_muln)(n, P, T, As);
        for (i = 0; i < n * n; ++i) P[i] = DOPT__C(0.5) * As[i];
        DOPT_FN(dopt__lie_muln)(n, E, E, T);
        for (i = 0; i < n * n; ++i) E[i] = T[i];
    }
}

/* In-place inverse of an n x n row-major matrix by Gauss-Jordan with partial pivoting (n <= 7).
 * Returns 0 if singular. */
static int DOPT_FN(dopt__lie_invn)(int n, DOPT__L *A)
{
    DOPT__L B[49];
    int i, j, k, p;
    DOPT_FN(dopt__lie_eye)(B, n);
    for (k = 0; k < n; ++k) {
        DOPT__L piv, f;
        p = k;
        for (i = k + 1; i < n; ++i)
            if (DOPT_M(fabs)(A[i * n + k]) > DOPT_M(fabs)(A[p * n + k])) p = i;
        if (A[p * n + k] == 0) return 0;
        if (p != k)
            for (j = 0; j < n; ++j) {
                DOPT__L t = A[k * n + j]; A[k * n + j] = A[p * n + j]; A[p * n + j] = t;
                t = B[k * n + j]; B[k * n + j] = B[p * n + j]; B[p * n + j] = t;
            }
        piv = DOPT__C(1) / A[k * n + k];
        for (j = 0; j < n; ++j) { A[k * n + j] *= piv; B[k * n + j] *= piv; }
        for (i = 0; i < n; ++i) {
            if (i == k) continue;
            f = A[i * n + k];
            if (f == 0) continue;
            for (j = 0; j < n; ++j) { A[i * n + j] -= f * A[k * n + j]; B[i * n + j] -= f * B[k * n + j]; }
        }
    }
    for (i = 0; i < n * n; ++i) A[i] = B[i];
    return 1;
}

/* W(w, σ) = ∫₀¹ e^{σu} Exp(u w) du = φ1([w]x + σ I)  (3x3). */
static void DOPT_FN(dopt__lie_sim3_w)(const DOPT__L w[3], DOPT__L sigma, DOPT__L W[9])
{
    DOPT__L A[9], E[9];
    DOPT_FN(dopt__lie_skew)(w, A);
    A[0] = A[4] = A[8] = sigma;
    DOPT_FN(dopt__lie_phi1)(3, A, E, W);
}

/* ad(ξ) for Sim3 (7x7): [[[w]x + σI, [v]x, -v], [0, [w]x, 0], [0, 0, 0]]. */
static void DOPT_FN(dopt__lie_sim3_ad)(const DOPT__L xi[7], DOPT__L ad[49])
{
    DOPT__L V[9], W[9];
    int i;
    DOPT_FN(dopt__lie_skew)(xi, V);
    DOPT_FN(dopt__lie_skew)(xi + 3, W);
    DOPT_FN(dopt__lie_zero)(ad, 49);
    DOPT_FN(dopt__lie_put3)(ad, 7, 0, 0, W, 1);
    for (i = 0; i < 3; ++i) ad[i * 7 + i] = xi[6];
    DOPT_FN(dopt__lie_put3)(ad, 7, 0, 3, V, 1);
    for (i = 0; i < 3; ++i) ad[i * 7 + 6] = -xi[i];
    DOPT_FN(dopt__lie_put3)(ad, 7, 3, 3, W, 1);
}

DOPT_API void DOPT_FN(dopt_sim3_identity)(DOPT__L g[8])
{
    DOPT_FN(dopt_se3_identity)(g);
    g[7] = 1;
}

DOPT_API void DOPT_FN(dopt_sim3_jr)(const DOPT__L xi[7], DOPT__L J[49])
{
    DOPT__L ad[49], E[49];
    int i;
    DOPT_FN(dopt__lie_sim3_ad)(xi, ad);
    for (i = 0; i < 49; ++i) ad[i] = -ad[i];
    DOPT_FN(dopt__lie_phi1)(7, ad, E, J);
}

DOPT_API void DOPT_FN(dopt_sim3_jr_inv)(const DOPT__L xi[7], DOPT__L J[49])
{
    DOPT_FN(dopt_sim3_jr)(xi, J);
    DOPT_FN(dopt__lie_invn)(7, J);
}

DOPT_API void DOPT_FN(dopt_sim3_exp)(const DOPT__L xi[7], DOPT__L g[8], DOPT__L *J)
{
    DOPT__L W[9], v0 = xi[0], v1 = xi[1], v2 = xi[2], sg = xi[6];
    if (J) DOPT_FN(dopt_sim3_jr)(xi, J);
    DOPT_FN(dopt__lie_sim3_w)(xi + 3, sg, W);
    DOPT_FN(dopt_so3_exp)(xi + 3, g + 3, NULL);
    g[0] = W[0] * v0 + W[1] * v1 + W[2] * v2;
    g[1] = W[3] * v0 + W[4] * v1 + W[5] * v2;
    g[2] = W[6] * v0 + W[7] * v1 + W[8] * v2;
    g[7] = DOPT_M(exp)(sg);
}

DOPT_API void DOPT_FN(dopt_sim3_log)(const DOPT__L g[8], DOPT__L xi[7], DOPT__L *J)
{
    DOPT__L w[3], W[9], sg = DOPT_M(log)(g[7]), t0 = g[0], t1 = g[1], t2 = g[2];
    DOPT_FN(dopt_so3_log)(g + 3, w, NULL);
    DOPT_FN(dopt__lie_sim3_w)(w, sg, W);
    DOPT_FN(dopt__lie_invn)(3, W);
    xi[0] = W[0] * t0 + W[1] * t1 + W[2] * t2;
    xi[1] = W[3] * t0 + W[4] * t1 + W[5] * t2;
    xi[2] = W[6] * t0 + W[7] * t1 + W[8] * t2;
    xi[3] = w[0]; xi[4] = w[1]; xi[5] = w[2];
    xi[6] = sg;
    if (J) DOPT_FN(dopt_sim3_jr_inv)(xi, J);
}

DOPT_API void DOPT_FN(dopt_sim3_adjoint)(const DOPT__L g[8], DOPT__L Ad[49])
{
    DOPT__L R[9], T[9], TR[9];
    int i;
    DOPT_FN(dopt_so3_to_matrix)(g + 3, R);
    DOPT_FN(dopt__lie_skew)(g, T);
    DOPT_FN(dopt__lie_mul3)(T, R, TR);
    DOPT_FN(dopt__lie_zero)(Ad, 49);
    DOPT_FN(dopt__lie_put3)(Ad, 7, 0, 0, R, g[7]);
    DOPT_FN(dopt__lie_put3)(Ad, 7, 0, 3, TR, 1);
    DOPT_FN(dopt__lie_put3)(Ad, 7, 3, 3, R, 1);
    for (i = 0; i < 3; ++i) Ad[i * 7 + 6] = -g[i];
    Ad[48] = 1;
}

DOPT_API void DOPT_FN(dopt_sim3_inverse)(const DOPT__L a[8], DOPT__L b[8], DOPT__L *J)
{
    DOPT__L t[3], is = DOPT__C(1) / a[7];
    if (J) {
        int i;
        DOPT_FN(dopt_sim3_adjoint)(a, J);
        for (i = 0; i < 49; ++i) J[i] = -J[i];
    }
    DOPT_FN(dopt__lie_qrot_t)(a + 3, a, t);
    b[0] = -is * t[0]; b[1] = -is * t[1]; b[2] = -is * t[2];
    b[3] = -a[3]; b[4] = -a[4]; b[5] = -a[5]; b[6] = a[6];
    b[7] = is;
}

DOPT_API void DOPT_FN(dopt_sim3_compose)(const DOPT__L a[8], const DOPT__L b[8], DOPT__L c[8],
                                         DOPT__L *Ja, DOPT__L *Jb)
{
    DOPT__L t[3], s = a[7] * b[7];
    if (Ja) {
        DOPT__L bi[8];
        DOPT_FN(dopt_sim3_inverse)(b, bi, NULL);
        DOPT_FN(dopt_sim3_adjoint)(bi, Ja);
    }
    if (Jb) DOPT_FN(dopt__lie_eye)(Jb, 7);
    DOPT_FN(dopt__lie_qrot)(a + 3, b, t);
    c[0] = a[0] + a[7] * t[0]; c[1] = a[1] + a[7] * t[1]; c[2] = a[2] + a[7] * t[2];
    DOPT_FN(dopt__lie_qmul)(a + 3, b + 3, c + 3);
    c[7] = s;
}

DOPT_API void DOPT_FN(dopt_sim3_between)(const DOPT__L a[8], const DOPT__L b[8], DOPT__L c[8],
                                         DOPT__L *Ja, DOPT__L *Jb)
{
    DOPT__L ai[8];
    DOPT_FN(dopt_sim3_inverse)(a, ai, NULL);
    DOPT_FN(dopt_sim3_compose)(ai, b, c, NULL, NULL);
    if (Ja) {
        DOPT__L ci[8];
        int i;
        DOPT_FN(dopt_sim3_inverse)(c, ci, NULL);
        DOPT_FN(dopt_sim3_adjoint)(ci, Ja);
        for (i = 0; i < 49; ++i) Ja[i] = -Ja[i];
    }
    if (Jb) DOPT_FN(dopt__lie_eye)(Jb, 7);
}

DOPT_API void DOPT_FN(dopt_sim3_act)(const DOPT__L g[8], const DOPT__L p[3], DOPT__L y[3],
                                     DOPT__L *Jg, DOPT__L *Jp)
{
    DOPT__L R[9], s = g[7], r[3];
    int i;
    DOPT_FN(dopt_so3_to_matrix)(g + 3, R);
    for (i = 0; i < 3; ++i) r[i] = R[3 * i] * p[0] + R[3 * i + 1] * p[1] + R[3 * i + 2] * p[2];
    if (Jg) {
        for (i = 0; i < 3; ++i) {
            const DOPT__L *ri = R + 3 * i;
            DOPT__L *o = Jg + 7 * i;
            o[0] = s * ri[0]; o[1] = s * ri[1]; o[2] = s * ri[2];
            o[3] = s * (p[1] * ri[2] - p[2] * ri[1]);
            o[4] = s * (p[2] * ri[0] - p[0] * ri[2]);
            o[5] = s * (p[0] * ri[1] - p[1] * ri[0]);
            o[6] = s * r[i];
        }
    }
    if (Jp)
        for (i = 0; i < 9; ++i) Jp[i] = s * R[i];
    for (i = 0; i < 3; ++i) y[i] = s * r[i] + g[i];
}

DOPT_API void DOPT_FN(dopt_sim3_hat)(const DOPT__L xi[7], DOPT__L X[16])
{
    DOPT_FN(dopt_se3_hat)(xi, X);
    X[0] = X[5] = X[10] = xi[6];
}

DOPT_API void DOPT_FN(dopt_sim3_vee)(const DOPT__L X[16], DOPT__L xi[7])
{
    DOPT__L sg = (X[0] + X[5] + X[10]) / DOPT__C(3);
    DOPT_FN(dopt_se3_vee)(X, xi);
    xi[6] = sg;
}

DOPT_API void DOPT_FN(dopt_sim3_normalize)(DOPT__L g[8])
{
    DOPT_FN(dopt_so3_normalize)(g + 3);
    if (g[7] < 0) g[7] = -g[7];
    if (!(g[7] > 0)) g[7] = 1;
}

DOPT_API void DOPT_FN(dopt_sim3_interp)(const DOPT__L a[8], const DOPT__L b[8], DOPT__L t, DOPT__L c[8])
{
    DOPT__L d[8], xi[7];
    int i;
    DOPT_FN(dopt_sim3_between)(a, b, d, NULL, NULL);
    DOPT_FN(dopt_sim3_log)(d, xi, NULL);
    for (i = 0; i < 7; ++i) xi[i] *= t;
    DOPT_FN(dopt_sim3_exp)(xi, d, NULL);
    DOPT_FN(dopt_sim3_compose)(a, d, c, NULL, NULL);
}

DOPT_API void DOPT_FN(dopt_sim3_random)(dopt_rng *rng, DOPT__L g[8])
{
    DOPT_FN(dopt_se3_random)(rng, g);
    g[7] = (DOPT__L)exp(0.5 * dopt_rng_normal_d(rng));
}

DOPT_API void DOPT_FN(dopt_sim3_to_matrix)(const DOPT__L g[8], DOPT__L H[16])
{
    int i, j;
    DOPT_FN(dopt_se3_to_matrix)(g, H);
    for (i = 0; i < 3; ++i)
        for (j = 0; j < 3; ++j) H[4 * i + j] *= g[7];
}

DOPT_API void DOPT_FN(dopt_sim3_from_matrix)(const DOPT__L H[16], DOPT__L g[8])
{
    DOPT__L M[16], det, s;
    int i, j;
    det = H[0] * (H[5] * H[10] - H[6] * H[9]) - H[1] * (H[4] * H[10] - H[6] * H[8]) +
          H[2] * (H[4] * H[9] - H[5] * H[8]);
    s = DOPT_M(cbrt)(det);
    if (!(s > 0)) s = 1;
    for (i = 0; i < 16; ++i) M[i] = H[i];
    for (i = 0; i < 3; ++i)
        for (j = 0; j < 3; ++j) M[4 * i + j] /= s;
    DOPT_FN(dopt_se3_from_matrix)(M, g);
    g[7] = s;
}

/* ---- batched strided forms ---------------------------------------------------------------------- */

/* dst[0..m) = v[0..m), with non-temporal stores where available (batches end with
 * DOPT__LIE_SFENCE so the streamed data is visible in order). */
DOPT__LIE_INLINE void DOPT_FN(dopt__lie_stream)(DOPT__L *dst, const DOPT__L *v, int m)
{
    int j;
    for (j = 0; j < m; ++j) {
#if !DOPT__LIE_HAVE_STREAM
        dst[j] = v[j];
#elif DOPT_IS_FLOAT
        int bits;
        memcpy(&bits, v + j, sizeof bits);
        _mm_stream_si32((int *)(void *)(dst + j), bits);
#else
        long long bits;
        memcpy(&bits, v + j, sizeof bits);
        _mm_stream_si64((long long *)(void *)(dst + j), bits);
#endif
    }
}

/* Nonzero when a batch of n outputs of elem values each should stream past the caches. */
static int DOPT_FN(dopt__lie_use_stream)(ptrdiff_t n, ptrdiff_t elem)
{
    return DOPT__LIE_HAVE_STREAM &&
           (double)n * (double)elem * (double)sizeof(DOPT__L) >= (double)DOPT_LIE_STREAM_BYTES;
}

/* Nonzero when the n packed outputs out[0 .. so n) overlap neither a[0 .. sa n) nor b[0 .. sb n)
 * (the packed loops below are restrict-qualified).  Addresses compare as integers: the arrays
 * are usually distinct objects, where comparing pointers with < is undefined. */
static int DOPT_FN(dopt__lie_disjoint)(ptrdiff_t n, const DOPT__L *out, ptrdiff_t so, const DOPT__L *a, ptrdiff_t sa,
                                       const DOPT__L *b, ptrdiff_t sb)
{
    const size_t e = sizeof(DOPT__L);
    const uintptr_t o0 = (uintptr_t)out, o1 = o0 + (uintptr_t)(so * n) * e;
    const uintptr_t a0 = (uintptr_t)a, a1 = a0 + (uintptr_t)(sa * n) * e;
    const uintptr_t b0 = (uintptr_t)b, b1 = b0 + (uintptr_t)(sb * n) * e;
    return (o1 <= a0 || o0 >= a1) && (o1 <= b0 || o0 >= b1);
}

/* DOPT__LIE_PACKED(name, KERNEL, sa, sb, so) defines name(n, a, b, c): c_k = KERNEL(a_k, b_k) for
 * packed, non-overlapping arrays (element strides sa, sb, so).  restrict lets compilers keep the
 * loads ahead of the stores (and vectorize across elements); outputs beyond DOPT_LIE_STREAM_BYTES
 * are streamed. */
#ifndef DOPT__LIE_PACKED
#define DOPT__LIE_PACKED(name, KERNEL, sa, sb, so)                                                      \
    static void DOPT_FN(name)(ptrdiff_t n, const DOPT__L *DOPT_RESTRICT a, const DOPT__L *DOPT_RESTRICT b, \
                              DOPT__L *DOPT_RESTRICT c)                                               \
    {                                                                                                 \
        ptrdiff_t k;                                                                                       \
        if (DOPT_FN(dopt__lie_use_stream)(n, so)) {                                                   \
            for (k = 0; k < n; ++k) {                                                                 \
                DOPT__L t[so];                                                                        \
                KERNEL(a + (sa) * k, b + (sb) * k, t);                                                \
                DOPT_FN(dopt__lie_stream)(c + (so) * k, t, so);                                       \
            }                                                                                         \
            DOPT__LIE_SFENCE();                                                                       \
            return;                                                                                   \
        }                                                                                             \
        for (k = 0; k < n; ++k) KERNEL(a + (sa) * k, b + (sb) * k, c + (so) * k);                     \
    }
#endif

DOPT__LIE_PACKED(dopt__lie_so3_compose_packed, DOPT_FN(dopt__lie_qmul), 4, 4, 4)
DOPT__LIE_PACKED(dopt__lie_so3_act_packed, DOPT_FN(dopt__lie_qrot), 4, 3, 3)
DOPT__LIE_PACKED(dopt__lie_se3_compose_packed, DOPT_FN(dopt__lie_se3_compose_k), 7, 7, 7)
DOPT__LIE_PACKED(dopt__lie_se3_act_packed, DOPT_FN(dopt__lie_se3_act_k), 7, 3, 3)

DOPT_API void DOPT_FN(dopt_so3_exp_batch)(ptrdiff_t n, const DOPT__L *w, ptrdiff_t sw, DOPT__L *g, ptrdiff_t sg, DOPT__L *J)
{
    ptrdiff_t k;
    if (!J) {
        for (k = 0; k < n; ++k) DOPT_FN(dopt__lie_so3_exp_k)(w + k * sw, g + k * sg, NULL, NULL, 0);
        return;
    }
    for (k = 0; k < n; ++k) {
        DOPT__L A, B, wk[3];
        wk[0] = w[k * sw]; wk[1] = w[k * sw + 1]; wk[2] = w[k * sw + 2];
        DOPT_FN(dopt__lie_so3_exp_k)(wk, g + k * sg, &A, &B, 1);
        DOPT_FN(dopt__lie_so3_poly)(wk, DOPT__C(1), -A, B, J + 9 * k);
    }
}

DOPT_API void DOPT_FN(dopt_so3_log_batch)(ptrdiff_t n, const DOPT__L *g, ptrdiff_t sg, DOPT__L *w, ptrdiff_t sw, DOPT__L *J)
{
    ptrdiff_t k;
    if (!J) {
        for (k = 0; k < n; ++k) DOPT_FN(dopt__lie_so3_log_k)(g + k * sg, w + k * sw, NULL, NULL);
        return;
    }
    for (k = 0; k < n; ++k) {
        DOPT__L E, v[3], *wk = w + k * sw;
        DOPT_FN(dopt__lie_so3_log_k)(g + k * sg, wk, v, &E);
        DOPT_FN(dopt__lie_so3_jrinv_v)(wk, v, E, J + 9 * k);
    }
}

DOPT_API void DOPT_FN(dopt_so3_compose_batch)(ptrdiff_t n, const DOPT__L *a, ptrdiff_t sa, const DOPT__L *b, ptrdiff_t sb,
                                              DOPT__L *c, ptrdiff_t sc, DOPT__L *Ja, DOPT__L *Jb)
{
    ptrdiff_t k;
    if (!Ja && !Jb) {
        if (sa == 4 && sb == 4 && sc == 4 && DOPT_FN(dopt__lie_disjoint)(n, c, 4, a, 4, b, 4)) {
            DOPT_FN(dopt__lie_so3_compose_packed)(n, a, b, c); /* packed, no overlap: vectorizable */
            return;
        }
        for (k = 0; k < n; ++k) DOPT_FN(dopt__lie_qmul)(a + k * sa, b + k * sb, c + k * sc);
        return;
    }
    for (k = 0; k < n; ++k)
        DOPT_FN(dopt_so3_compose)(a + k * sa, b + k * sb, c + k * sc, Ja ? Ja + 9 * k : NULL,
                                  Jb ? Jb + 9 * k : NULL);
}

DOPT_API void DOPT_FN(dopt_so3_act_batch)(ptrdiff_t n, const DOPT__L *g, ptrdiff_t sg, const DOPT__L *p, ptrdiff_t sp,
                                          DOPT__L *y, ptrdiff_t sy, DOPT__L *Jg, DOPT__L *Jp)
{
    ptrdiff_t k;
    if (!Jg && !Jp) {
        if (sg == 4 && sp == 3 && sy == 3 && DOPT_FN(dopt__lie_disjoint)(n, y, 3, g, 4, p, 3)) {
            DOPT_FN(dopt__lie_so3_act_packed)(n, g, p, y);
            return;
        }
        for (k = 0; k < n; ++k) DOPT_FN(dopt__lie_qrot)(g + k * sg, p + k * sp, y + k * sy);
        return;
    }
    for (k = 0; k < n; ++k)
        DOPT_FN(dopt_so3_act)(g + k * sg, p + k * sp, y + k * sy, Jg ? Jg + 9 * k : NULL,
                              Jp ? Jp + 9 * k : NULL);
}

DOPT_API void DOPT_FN(dopt_se3_exp_batch)(ptrdiff_t n, const DOPT__L *xi, ptrdiff_t sx, DOPT__L *g, ptrdiff_t sg, DOPT__L *J)
{
    ptrdiff_t k;
    for (k = 0; k < n; ++k) DOPT_FN(dopt_se3_exp)(xi + k * sx, g + k * sg, J ? J + 36 * k : NULL);
}

DOPT_API void DOPT_FN(dopt_se3_log_batch)(ptrdiff_t n, const DOPT__L *g, ptrdiff_t sg, DOPT__L *xi, ptrdiff_t sx, DOPT__L *J)
{
    ptrdiff_t k;
    for (k = 0; k < n; ++k) DOPT_FN(dopt_se3_log)(g + k * sg, xi + k * sx, J ? J + 36 * k : NULL);
}

DOPT_API void DOPT_FN(dopt_se3_compose_batch)(ptrdiff_t n, const DOPT__L *a, ptrdiff_t sa, const DOPT__L *b, ptrdiff_t sb,
                                              DOPT__L *c, ptrdiff_t sc, DOPT__L *Ja, DOPT__L *Jb)
{
    ptrdiff_t k;
    if (!Ja && !Jb) {
        if (sa == 7 && sb == 7 && sc == 7 && DOPT_FN(dopt__lie_disjoint)(n, c, 7, a, 7, b, 7)) {
            DOPT_FN(dopt__lie_se3_compose_packed)(n, a, b, c);
            return;
        }
        for (k = 0; k < n; ++k) DOPT_FN(dopt__lie_se3_compose_k)(a + k * sa, b + k * sb, c + k * sc);
        return;
    }
    for (k = 0; k < n; ++k)
        DOPT_FN(dopt_se3_compose)(a + k * sa, b + k * sb, c + k * sc, Ja ? Ja + 36 * k : NULL,
                                  Jb ? Jb + 36 * k : NULL);
}

DOPT_API void DOPT_FN(dopt_se3_inverse_batch)(ptrdiff_t n, const DOPT__L *a, ptrdiff_t sa, DOPT__L *b, ptrdiff_t sb)
{
    ptrdiff_t k;
    for (k = 0; k < n; ++k) DOPT_FN(dopt_se3_inverse)(a + k * sa, b + k * sb, NULL);
}

DOPT_API void DOPT_FN(dopt_se3_between_batch)(ptrdiff_t n, const DOPT__L *a, ptrdiff_t sa, const DOPT__L *b, ptrdiff_t sb,
                                              DOPT__L *c, ptrdiff_t sc, DOPT__L *Ja, DOPT__L *Jb)
{
    ptrdiff_t k;
    for (k = 0; k < n; ++k)
        DOPT_FN(dopt_se3_between)(a + k * sa, b + k * sb, c + k * sc, Ja ? Ja + 36 * k : NULL,
                                  Jb ? Jb + 36 * k : NULL);
}

DOPT_API void DOPT_FN(dopt_se3_act_batch)(ptrdiff_t n, const DOPT__L *g, ptrdiff_t sg, const DOPT__L *p, ptrdiff_t sp,
                                          DOPT__L *y, ptrdiff_t sy, DOPT__L *Jg, DOPT__L *Jp)
{
    ptrdiff_t k;
    if (!Jg && !Jp) {
        if (sg == 7 && sp == 3 && sy == 3 && DOPT_FN(dopt__lie_disjoint)(n, y, 3, g, 7, p, 3)) {
            DOPT_FN(dopt__lie_se3_act_packed)(n, g, p, y);
            return;
        }
        for (k = 0; k < n; ++k) DOPT_FN(dopt__lie_se3_act_k)(g + k * sg, p + k * sp, y + k * sy);
        return;
    }
    for (k = 0; k < n; ++k)
        DOPT_FN(dopt_se3_act)(g + k * sg, p + k * sp, y + k * sy, Jg ? Jg + 18 * k : NULL,
                              Jp ? Jp + 9 * k : NULL);
}

DOPT_API void DOPT_FN(dopt_se2_exp_batch)(ptrdiff_t n, const DOPT__L *xi, ptrdiff_t sx, DOPT__L *g, ptrdiff_t sg, DOPT__L *J)
{
    ptrdiff_t k;
    for (k = 0; k < n; ++k) DOPT_FN(dopt_se2_exp)(xi + k * sx, g + k * sg, J ? J + 9 * k : NULL);
}

DOPT_API void DOPT_FN(dopt_se2_log_batch)(ptrdiff_t n, const DOPT__L *g, ptrdiff_t sg, DOPT__L *xi, ptrdiff_t sx, DOPT__L *J)
{
    ptrdiff_t k;
    for (k = 0; k < n; ++k) DOPT_FN(dopt_se2_log)(g + k * sg, xi + k * sx, J ? J + 9 * k : NULL);
}

DOPT_API void DOPT_FN(dopt_se2_compose_batch)(ptrdiff_t n, const DOPT__L *a, ptrdiff_t sa, const DOPT__L *b, ptrdiff_t sb,
                                              DOPT__L *c, ptrdiff_t sc, DOPT__L *Ja, DOPT__L *Jb)
{
    ptrdiff_t k;
    for (k = 0; k < n; ++k)
        DOPT_FN(dopt_se2_compose)(a + k * sa, b + k * sb, c + k * sc, Ja ? Ja + 9 * k : NULL,
                                  Jb ? Jb + 9 * k : NULL);
}

DOPT_API void DOPT_FN(dopt_se2_act_batch)(ptrdiff_t n, const DOPT__L *g, ptrdiff_t sg, const DOPT__L *p, ptrdiff_t sp,
                                          DOPT__L *y, ptrdiff_t sy, DOPT__L *Jg, DOPT__L *Jp)
{
    ptrdiff_t k;
    for (k = 0; k < n; ++k)
        DOPT_FN(dopt_se2_act)(g + k * sg, p + k * sp, y + k * sy, Jg ? Jg + 6 * k : NULL,
                              Jp ? Jp + 4 * k : NULL);
}

DOPT_API void DOPT_FN(dopt_so2_exp_batch)(ptrdiff_t n, const DOPT__L *theta, ptrdiff_t st, DOPT__L *g, ptrdiff_t sg, DOPT__L *J)
{
    ptrdiff_t k;
    for (k = 0; k < n; ++k) DOPT_FN(dopt_so2_exp)(theta + k * st, g + k * sg, J ? J + k : NULL);
}

DOPT_API void DOPT_FN(dopt_so2_log_batch)(ptrdiff_t n, const DOPT__L *g, ptrdiff_t sg, DOPT__L *theta, ptrdiff_t st, DOPT__L *J)
{
    ptrdiff_t k;
    for (k = 0; k < n; ++k) DOPT_FN(dopt_so2_log)(g + k * sg, theta + k * st, J ? J + k : NULL);
}

DOPT_API void DOPT_FN(dopt_so2_compose_batch)(ptrdiff_t n, const DOPT__L *a, ptrdiff_t sa, const DOPT__L *b, ptrdiff_t sb,
                                              DOPT__L *c, ptrdiff_t sc, DOPT__L *Ja, DOPT__L *Jb)
{
    ptrdiff_t k;
    for (k = 0; k < n; ++k)
        DOPT_FN(dopt_so2_compose)(a + k * sa, b + k * sb, c + k * sc, Ja ? Ja + k : NULL, Jb ? Jb + k : NULL);
}

DOPT_API void DOPT_FN(dopt_so2_act_batch)(ptrdiff_t n, const DOPT__L *g, ptrdiff_t sg, const DOPT__L *p, ptrdiff_t sp,
                                          DOPT__L *y, ptrdiff_t sy, DOPT__L *Jg, DOPT__L *Jp)
{
    ptrdiff_t k;
    for (k = 0; k < n; ++k)
        DOPT_FN(dopt_so2_act)(g + k * sg, p + k * sp, y + k * sy, Jg ? Jg + 2 * k : NULL,
                              Jp ? Jp + 4 * k : NULL);
}

DOPT_API void DOPT_FN(dopt_sim3_exp_batch)(ptrdiff_t n, const DOPT__L *xi, ptrdiff_t sx, DOPT__L *g, ptrdiff_t sg, DOPT__L *J)
{
    ptrdiff_t k;
    for (k = 0; k < n; ++k) DOPT_FN(dopt_sim3_exp)(xi + k * sx, g + k * sg, J ? J + 49 * k : NULL);
}

DOPT_API void DOPT_FN(dopt_sim3_log_batch)(ptrdiff_t n, const DOPT__L *g, ptrdiff_t sg, DOPT__L *xi, ptrdiff_t sx, DOPT__L *J)
{
    ptrdiff_t k;
    for (k = 0; k < n; ++k) DOPT_FN(dopt_sim3_log)(g + k * sg, xi + k * sx, J ? J + 49 * k : NULL);
}

DOPT_API void DOPT_FN(dopt_sim3_compose_batch)(ptrdiff_t n, const DOPT__L *a, ptrdiff_t sa, const DOPT__L *b, ptrdiff_t sb,
                                               DOPT__L *c, ptrdiff_t sc, DOPT__L *Ja, DOPT__L *Jb)
{
    ptrdiff_t k;
    for (k = 0; k < n; ++k)
        DOPT_FN(dopt_sim3_compose)(a + k * sa, b + k * sb, c + k * sc, Ja ? Ja + 49 * k : NULL,
                                   Jb ? Jb + 49 * k : NULL);
}

DOPT_API void DOPT_FN(dopt_sim3_act_batch)(ptrdiff_t n, const DOPT__L *g, ptrdiff_t sg, const DOPT__L *p, ptrdiff_t sp,
                                           DOPT__L *y, ptrdiff_t sy, DOPT__L *Jg, DOPT__L *Jp)
{
    ptrdiff_t k;
    for (k = 0; k < n; ++k)
        DOPT_FN(dopt_sim3_act)(g + k * sg, p + k * sp, y + k * sy, Jg ? Jg + 21 * k : NULL,
                               Jp ? Jp + 9 * k : NULL);
}

/* ---- manifold descriptors ----------------------------------------------------------------------- */

#define DOPT__LIE_MANIFOLD(grp, DIM, TDIM)                                                         \
    static void DOPT_FN(dopt__lie_retract_##grp)(const DOPT_FN(dopt_manifold) *m, const DOPT__L *x, \
                                                 const DOPT__L *delta, DOPT__L *x_out)             \
    {                                                                                              \
        DOPT__L e[DIM];                                                                            \
        (void)m;                                                                                   \
        DOPT_FN(dopt_##grp##_exp)(delta, e, NULL);                                                 \
        DOPT_FN(dopt_##grp##_compose)(x, e, x_out, NULL, NULL);                                    \
    }                                                                                              \
    static void DOPT_FN(dopt__lie_local_##grp)(const DOPT_FN(dopt_manifold) *m, const DOPT__L *x,   \
                                               const DOPT__L *y, DOPT__L *delta)                   \
    {                                                                                              \
        DOPT__L d[DIM];                                                                            \
        (void)m;                                                                                   \
        DOPT_FN(dopt_##grp##_between)(x, y, d, NULL, NULL);                                        \
        DOPT_FN(dopt_##grp##_log)(d, delta, NULL);                                                 \
    }                                                                                              \
    static void DOPT_FN(dopt__lie_project_##grp)(const DOPT_FN(dopt_manifold) *m, DOPT__L *x)       \
    {                                                                                              \
        (void)m;                                                                                   \
        DOPT_FN(dopt_##grp##_normalize)(x);                                                        \
    }                                                                                              \
    DOPT_API DOPT_FN(dopt_manifold) DOPT_FN(dopt_lie_manifold_##grp)(void)                         \
    {                                                                                              \
        DOPT_FN(dopt_manifold) m;                                                                  \
        m.name = #grp;                                                                             \
        m.dim = DIM;                                                                               \
        m.tangent_dim = TDIM;                                                                      \
        m.retract = DOPT_FN(dopt__lie_retract_##grp);                                              \
        m.local = DOPT_FN(dopt__lie_local_##grp);                                                  \
        m.project = DOPT_FN(dopt__lie_project_##grp);                                              \
        return m;                                                                                  \
    }

DOPT__LIE_MANIFOLD(so2, 2, 1)
DOPT__LIE_MANIFOLD(se2, 4, 3)
DOPT__LIE_MANIFOLD(so3, 4, 3)
DOPT__LIE_MANIFOLD(se3, 7, 6)
DOPT__LIE_MANIFOLD(sim3, 8, 7)
#undef DOPT__LIE_MANIFOLD

DOPT_API DOPT_FN(dopt_manifold) DOPT_FN(dopt_lie_manifold)(dopt_lie_group g)
{
    switch (g) {
    case DOPT_LIE_SO2: return DOPT_FN(dopt_lie_manifold_so2)();
    case DOPT_LIE_SE2: return DOPT_FN(dopt_lie_manifold_se2)();
    case DOPT_LIE_SO3: return DOPT_FN(dopt_lie_manifold_so3)();
    case DOPT_LIE_SE3: return DOPT_FN(dopt_lie_manifold_se3)();
    case DOPT_LIE_SIM3: return DOPT_FN(dopt_lie_manifold_sim3)();
    }
    { /* unknown group: an empty descriptor, which dopt_nlls_add_variable rejects */
        DOPT_FN(dopt_manifold) none;
        memset(&none, 0, sizeof none);
        return none;
    }
}

/* ---- costs -------------------------------------------------------------------------------------- */

/* C = -A B for the n x n Jacobian products of the between costs.  For SE3 (n = 6) both factors
 * are block upper triangular with equal diagonal blocks, [[P, S], [0, P]] [[R, X], [0, R]]
 * = [[P R, P X + S R], [0, P R]]: three 3x3 products instead of a 6x6 one. */
static void DOPT_FN(dopt__lie_negmul)(int n, const DOPT__L *A, const DOPT__L *B, DOPT__L *C)
{
    int a, b, k;
    if (n == 6) {
        DOPT__L P[9], S[9], R[9], X[9], PR[9], PX[9], SR[9];
        for (a = 0; a < 3; ++a)
            for (b = 0; b < 3; ++b) {
                P[3 * a + b] = A[6 * a + b]; S[3 * a + b] = A[6 * a + 3 + b];
                R[3 * a + b] = B[6 * a + b]; X[3 * a + b] = B[6 * a + 3 + b];
            }
        DOPT_FN(dopt__lie_mul3)(P, R, PR);
        DOPT_FN(dopt__lie_mul3)(P, X, PX);
        DOPT_FN(dopt__lie_mul3)(S, R, SR);
        for (a = 0; a < 3; ++a)
            for (b = 0; b < 3; ++b) {
                C[6 * a + b] = -PR[3 * a + b];
                C[6 * a + 3 + b] = -(PX[3 * a + b] + SR[3 * a + b]);
                C[6 * (a + 3) + b] = 0;
                C[6 * (a + 3) + 3 + b] = -PR[3 * a + b];
            }
        return;
    }
    for (a = 0; a < n; ++a)
        for (b = 0; b < n; ++b) {
            DOPT__L s = 0;
            for (k = 0; k < n; ++k) s += A[a * n + k] * B[k * n + b];
            C[a * n + b] = -s;
        }
}

/* Prior and between costs, written once per group with the group's own functions. */
#define DOPT__LIE_COSTS(grp, DIM, TD)                                                              \
    DOPT_API dopt_status DOPT_FN(dopt_lie_cost_prior_##grp)(const void *data,                      \
                                                            const DOPT__L *const *vars,            \
                                                            DOPT__L *r, DOPT__L *const *J)         \
    {                                                                                              \
        const DOPT_FN(dopt_lie_prior_data) *d = (const DOPT_FN(dopt_lie_prior_data) *)data;        \
        DOPT__L e[DIM];                                                                            \
        DOPT_FN(dopt_##grp##_between)(d->target, vars[0], e, NULL, NULL);                          \
        DOPT_FN(dopt_##grp##_log)(e, r, (J && J[0]) ? J[0] : NULL);                                \
        return DOPT_FN(dopt_all_finite)(TD, r) ? DOPT_OK : DOPT_ERR_NON_FINITE;                    \
    }                                                                                              \
    DOPT_API dopt_status DOPT_FN(dopt_lie_cost_between_##grp)(const void *data,                    \
                                                              const DOPT__L *const *vars,          \
                                                              DOPT__L *r, DOPT__L *const *J)       \
    {                                                                                              \
        const DOPT_FN(dopt_lie_between_data) *d = (const DOPT_FN(dopt_lie_between_data) *)data;    \
        DOPT__L rel[DIM], e[DIM], Ji[TD * TD], Ad[TD * TD], back[DIM];                             \
        int want_i = J && J[0], want_j = J && J[1];                                                \
        DOPT_FN(dopt_##grp##_between)(vars[0], vars[1], rel, NULL, NULL); /* xi⁻¹ xj */           \
        DOPT_FN(dopt_##grp##_between)(d->measurement, rel, e, NULL, NULL);                         \
        DOPT_FN(dopt_##grp##_log)(e, r, (want_i || want_j) ? Ji : NULL);                           \
        if (want_j) memcpy(J[1], Ji, sizeof Ji);                                                   \
        if (want_i) { /* -Jr⁻¹ Ad(xj⁻¹ xi) = -Jr⁻¹ Ad(rel⁻¹) */                                    \
            DOPT_FN(dopt_##grp##_inverse)(rel, back, NULL);                                        \
            DOPT_FN(dopt_##grp##_adjoint)(back, Ad);                                               \
            DOPT_FN(dopt__lie_negmul)(TD, Ji, Ad, J[0]);                                           \
        }                                                                                          \
        return DOPT_FN(dopt_all_finite)(TD, r) ? DOPT_OK : DOPT_ERR_NON_FINITE;                    \
    }

DOPT__LIE_COSTS(so2, 2, 1)
DOPT__LIE_COSTS(se2, 4, 3)
DOPT__LIE_COSTS(so3, 4, 3)
DOPT__LIE_COSTS(sim3, 8, 7)
#undef DOPT__LIE_COSTS

/* SE3, the pose-graph workhorse, with J_i formed from the blocks directly: Jr⁻¹(r) is
 * [[P, S], [0, P]] and Ad(rel⁻¹) = [[Rᵀ, -Rᵀ [t]x], [0, Rᵀ]] for rel = (R, t), so
 *   J_i = -Jr⁻¹ Ad(rel⁻¹) = [[-M, M [t]x - N], [0, -M]],   M = P Rᵀ,  N = S Rᵀ,
 * where row a of M [t]x is m_a x t (two 3x3 products instead of an adjoint and three). */
DOPT_API dopt_status DOPT_FN(dopt_lie_cost_prior_se3)(const void *data, const DOPT__L *const *vars,
                                                     DOPT__L *r, DOPT__L *const *J)
{
    const DOPT_FN(dopt_lie_prior_data) *d = (const DOPT_FN(dopt_lie_prior_data) *)data;
    DOPT__L e[7];
    DOPT_FN(dopt_se3_between)(d->target, vars[0], e, NULL, NULL);
    DOPT_FN(dopt_se3_log)(e, r, (J && J[0]) ? J[0] : NULL);
    return DOPT_FN(dopt_all_finite)(6, r) ? DOPT_OK : DOPT_ERR_NON_FINITE;
}
DOPT__LIE_FLATTEN static dopt_status DOPT_FN(dopt__lie_between_se3)(const void *data, const DOPT__L *const *vars, DOPT__L *r,
                                                   DOPT__L *const *J)
{
    const DOPT_FN(dopt_lie_between_data) *d = (const DOPT_FN(dopt_lie_between_data) *)data;
    DOPT__L rel[7], e[7], Jt[36], *Ji;
    int want_i = J && J[0], want_j = J && J[1], a, b;
    DOPT_FN(dopt_se3_between)(vars[0], vars[1], rel, NULL, NULL); /* xi⁻¹ xj */
    DOPT_FN(dopt_se3_between)(d->measurement, rel, e, NULL, NULL);
    Ji = want_j ? J[1] : Jt; /* Jr⁻¹(r) = J_j, read below for J_i */
    DOPT_FN(dopt_se3_log)(e, r, (want_i || want_j) ? Ji : NULL);
    if (want_i) {
        DOPT__L R[9], M[9], N[9], c[3], *Jo = J[0];
        DOPT_FN(dopt_so3_to_matrix)(rel + 3, R);
        for (a = 0; a < 3; ++a)
            for (b = 0; b < 3; ++b) { /* M = P Rᵀ, N = S Rᵀ (row b of R is column b of Rᵀ) */
                const DOPT__L *Pa = Ji + 6 * a, *Sa = Ji + 6 * a + 3, *Rb = R + 3 * b;
                M[3 * a + b] = Pa[0] * Rb[0] + Pa[1] * Rb[1] + Pa[2] * Rb[2];
                N[3 * a + b] = Sa[0] * Rb[0] + Sa[1] * Rb[1] + Sa[2] * Rb[2];
            }
        for (a = 0; a < 3; ++a) {
            DOPT_FN(dopt__lie_cross)(M + 3 * a, rel, c);
            for (b = 0; b < 3; ++b) {
                Jo[6 * a + b] = -M[3 * a + b];
                Jo[6 * a + 3 + b] = c[b] - N[3 * a + b];
                Jo[6 * (a + 3) + b] = 0;
                Jo[6 * (a + 3) + 3 + b] = -M[3 * a + b];
            }
        }
    }
    return DOPT_FN(dopt_all_finite)(6, r) ? DOPT_OK : DOPT_ERR_NON_FINITE;
}
/* The between cost is one function with everything it calls (between, log with its Jr⁻¹,
 * to_matrix) inlined (flatten: 0.6 of the time of the calls on the cube batch, measured by perf on
 * an AVX2 Zen 3).  In a runtime-dispatched build (dopt.h's kernel family gate: no -march) it also
 * exists as a copy compiled for AVX2 + FMA: the same source inlined into a function with that
 * target, which each call takes where the CPU has them (as dopt.h's solvers take the AVX2 + FMA
 * copy of the normal equations' products); elsewhere the one copy of the -march. */
#if DOPT__DISPATCH
__attribute__((target("avx2,fma"), flatten)) static dopt_status
DOPT_FN(dopt__lie_between_se3_avx2)(const void *data, const DOPT__L *const *vars, DOPT__L *r, DOPT__L *const *J)
{
    return DOPT_FN(dopt__lie_between_se3)(data, vars, r, J);
}
#endif
DOPT_API dopt_status DOPT_FN(dopt_lie_cost_between_se3)(const void *data, const DOPT__L *const *vars,
                                                       DOPT__L *r, DOPT__L *const *J)
{
#if DOPT__DISPATCH
    if (dopt__kernel_choice() > 0) return DOPT_FN(dopt__lie_between_se3_avx2)(data, vars, r, J);
#endif
    return DOPT_FN(dopt__lie_between_se3)(data, vars, r, J);
}

/* d(x/z, y/z)/dP for the pinhole model, scaled by (fx, fy). */
DOPT_API dopt_status DOPT_FN(dopt_lie_cost_pinhole)(const void *data, const DOPT__L *const *vars,
                                                    DOPT__L *r, DOPT__L *const *J)
{
    const DOPT_FN(dopt_lie_pinhole_data) *d = (const DOPT_FN(dopt_lie_pinhole_data) *)data;
    DOPT__L P[3], Jg[18], Jp[9], iz, D[6];
    int want_g = J && J[0], want_p = J && J[1], a, b;
    DOPT_FN(dopt_se3_act)(vars[0], vars[1], P, want_g ? Jg : NULL, want_p ? Jp : NULL);
    iz = DOPT__C(1) / P[2];
    r[0] = d->fx * P[0] * iz + d->cx - d->observed[0];
    r[1] = d->fy * P[1] * iz + d->cy - d->observed[1];
    if (!DOPT_FN(dopt_all_finite)(2, r)) return DOPT_ERR_NON_FINITE;
    D[0] = d->fx * iz; D[1] = 0;            D[2] = -d->fx * P[0] * iz * iz;
    D[3] = 0;          D[4] = d->fy * iz;   D[5] = -d->fy * P[1] * iz * iz;
    for (a = 0; a < 2; ++a) {
        if (want_g)
            for (b = 0; b < 6; ++b)
                J[0][a * 6 + b] = D[3 * a] * Jg[b] + D[3 * a + 1] * Jg[6 + b] + D[3 * a + 2] * Jg[12 + b];
        if (want_p)
            for (b = 0; b < 3; ++b)
                J[1][a * 3 + b] = D[3 * a] * Jp[b] + D[3 * a + 1] * Jp[3 + b] + D[3 * a + 2] * Jp[6 + b];
    }
    return DOPT_OK;
}

DOPT_API dopt_status DOPT_FN(dopt_lie_cost_bal)(const void *data, const DOPT__L *const *vars,
                                                DOPT__L *r, DOPT__L *const *J)
{
    const DOPT_FN(dopt_lie_bal_data) *d = (const DOPT_FN(dopt_lie_bal_data) *)data;
    const DOPT__L *cam = vars[0], *X = vars[1];
    DOPT__L q[4], R[9], P[3], p[2], n2, rho, drho, f = cam[6], k1 = cam[7], k2 = cam[8], iz;
    DOPT__L Dp[4], DpP[6], DrP[6];
    int want_c = J && J[0], want_x = J && J[1], a, b, i;
    DOPT_FN(dopt_so3_exp)(cam, q, NULL);
    DOPT_FN(dopt_so3_to_matrix)(q, R);
    for (i = 0; i < 3; ++i) P[i] = R[3 * i] * X[0] + R[3 * i + 1] * X[1] + R[3 * i + 2] * X[2] + cam[3 + i];
    iz = DOPT__C(1) / P[2];
    p[0] = -P[0] * iz;
    p[1] = -P[1] * iz;
    n2 = p[0] * p[0] + p[1] * p[1];
    rho = DOPT__C(1) + n2 * (k1 + k2 * n2);
    r[0] = f * rho * p[0] - d->observed[0];
    r[1] = f * rho * p[1] - d->observed[1];
    if (!DOPT_FN(dopt_all_finite)(2, r)) return DOPT_ERR_NON_FINITE;
    if (!want_c && !want_x) return DOPT_OK;
    /* dr/dp = f (rho I + 2 rho'(n2) p pᵀ),  rho' = k1 + 2 k2 n2 */
    drho = k1 + DOPT__C(2) * k2 * n2;
    Dp[0] = f * (rho + DOPT__C(2) * drho * p[0] * p[0]);
    Dp[1] = f * DOPT__C(2) * drho * p[0] * p[1];
    Dp[2] = Dp[1];
    Dp[3] = f * (rho + DOPT__C(2) * drho * p[1] * p[1]);
    /* dp/dP = [[-1/z, 0, x/z²], [0, -1/z, y/z²]] */
    DpP[0] = -iz; DpP[1] = 0;   DpP[2] = P[0] * iz * iz;
    DpP[3] = 0;   DpP[4] = -iz; DpP[5] = P[1] * iz * iz;
    for (a = 0; a < 2; ++a)
        for (b = 0; b < 3; ++b) DrP[a * 3 + b] = Dp[2 * a] * DpP[b] + Dp[2 * a + 1] * DpP[3 + b];
    if (want_c) {
        /* dP/da = -R [X]x Jr(a), dP/dt = I */
        DOPT__L Xs[9], RX[9], Jr[9], dPa[9];
        DOPT_FN(dopt__lie_skew)(X, Xs);
        DOPT_FN(dopt__lie_mul3)(R, Xs, RX);
        DOPT_FN(dopt_so3_jr)(cam, Jr);
        DOPT_FN(dopt__lie_mul3)(RX, Jr, dPa);
        for (a = 0; a < 2; ++a) {
            DOPT__L *o = J[0] + 9 * a;
            for (b = 0; b < 3; ++b)
                o[b] = -(DrP[3 * a] * dPa[b] + DrP[3 * a + 1] * dPa[3 + b] + DrP[3 * a + 2] * dPa[6 + b]);
            for (b = 0; b < 3; ++b) o[3 + b] = DrP[3 * a + b];
            o[6] = rho * p[a];
            o[7] = f * n2 * p[a];
            o[8] = f * n2 * n2 * p[a];
        }
    }
    if (want_x)
        for (a = 0; a < 2; ++a)
            for (b = 0; b < 3; ++b)
                J[1][3 * a + b] = DrP[3 * a] * R[b] + DrP[3 * a + 1] * R[3 + b] + DrP[3 * a + 2] * R[6 + b];
    return DOPT_OK;
}

/* ---- pose graphs -------------------------------------------------------------------------------- */

DOPT_API void DOPT_FN(dopt_lie_pose_graph_destroy)(DOPT_FN(dopt_lie_pose_graph) *g)
{
    const dopt_hooks *hooks;
    if (!g) return;
    hooks = &g->hooks;
    if (g->poses) dopt_free(hooks, g->poses, sizeof(DOPT__L) * (size_t)g->num_poses * (size_t)g->dim);
    if (g->gt_poses) dopt_free(hooks, g->gt_poses, sizeof(DOPT__L) * (size_t)g->num_poses * (size_t)g->dim);
    if (g->edges) dopt_free(hooks, g->edges, sizeof(DOPT_FN(dopt_lie_pose_graph_edge)) * (size_t)g->num_edges);
    if (g->inlier) dopt_free(hooks, g->inlier, (size_t)g->num_edges);
    memset(g, 0, sizeof *g);
}

#ifndef DOPT_NO_STDIO

/* Pose of the edge's end from its start: x_j = x_i · meas. */
static void DOPT_FN(dopt__lie_pg_chain)(dopt_lie_group grp, const DOPT__L *xi, const DOPT__L *meas, DOPT__L *xj)
{
    if (grp == DOPT_LIE_SE2) DOPT_FN(dopt_se2_compose)(xi, meas, xj, NULL, NULL);
    else DOPT_FN(dopt_se3_compose)(xi, meas, xj, NULL, NULL);
}

/* Parse exactly `n` numbers from s (after the tag); 0 on success, else 1 (too few / not a number /
 * not finite), 2 (extra tokens). */
static int DOPT_FN(dopt__lie_parse_nums)(const char *s, int n, double *out)
{
    int k;
    char *end;
    for (k = 0; k < n; ++k) {
        double v;
        while (*s == ' ' || *s == '\t') ++s;
        if (!*s || *s == '\n' || *s == '\r') return 1;
        v = strtod(s, &end);
        if (end == s || (*end && *end != ' ' && *end != '\t' && *end != '\n' && *end != '\r')) return 1;
        if (!(v == v) || v > DBL_MAX || v < -DBL_MAX) return 1;
        out[k] = v;
        s = end;
    }
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r') ++s;
    return *s ? 2 : 0;
}

/* The g2o reader: one parser per line tag fills a list of vertex records and a list of edges
 * (memory grows with the lines read, never with the ids they name); dopt__g2o_build then checks
 * the ids (duplicates, and the sparsity cap: largest id < 2 x records + 1024) and makes the
 * graph with exact-size arrays. */
typedef struct DOPT_FN(dopt__g2o_vertex) {
    long id, line;
    DOPT__L x[7];                           /* dim reals used                                   */
} DOPT_FN(dopt__g2o_vertex);

typedef struct DOPT_FN(dopt__g2o) {
    const dopt_hooks *hooks;
    dopt_errinfo *info;
    long lineno;
    int grp, dim, td;                       /* grp -1 until the first VERTEX/EDGE line          */
    long nv, vcap;
    DOPT_FN(dopt__g2o_vertex) *v;           /* the VERTEX lines, in file order                  */
    long ne, ecap;
    DOPT_FN(dopt_lie_pose_graph_edge) *edges;
    long maxid, maxid_line;
} DOPT_FN(dopt__g2o);

static dopt_status DOPT_FN(dopt__g2o_fail)(DOPT_FN(dopt__g2o) *P, dopt_status st, const char *why)
{
    return dopt_errinfo_set(P->info, st, -1, P->lineno, why);
}

/* a vertex id: an integer in [0, 1e9], range-checked before any conversion */
static dopt_status DOPT_FN(dopt__g2o_id)(DOPT_FN(dopt__g2o) *P, double v, long *id)
{
    if (!(v >= 0 && v <= 1e9) || v != floor(v))
        return DOPT_FN(dopt__g2o_fail)(P, DOPT_ERR_PARSE, "vertex id is not a non-negative integer (at most 1e9)");
    *id = (long)v;
    if (*id > P->maxid) {
        P->maxid = *id;
        P->maxid_line = P->lineno;
    }
    return DOPT_OK;
}

/* q (x y z w) normalized into out without overflow or underflow (scaled by its largest entry);
 * a quaternion already unit to rounding keeps its digits (exact round trip of written files) */
static dopt_status DOPT_FN(dopt__g2o_quat)(DOPT_FN(dopt__g2o) *P, const double *q, DOPT__L *out)
{
    double m = 0, s = 0, qn;
    int k;
    for (k = 0; k < 4; ++k)
        if (fabs(q[k]) > m) m = fabs(q[k]);
    if (!(m > 0)) return DOPT_FN(dopt__g2o_fail)(P, DOPT_ERR_PARSE, "zero quaternion");
    for (k = 0; k < 4; ++k) s += (q[k] / m) * (q[k] / m);
    qn = sqrt(s); /* |q| / m, in [1, 2] */
    if (fabs(m * qn - 1) <= 8 * DOPT_EPS) {
        for (k = 0; k < 4; ++k) out[k] = (DOPT__L)q[k];
    } else {
        for (k = 0; k < 4; ++k) out[k] = (DOPT__L)((q[k] / m) / qn);
    }
    return DOPT_OK;
}

/* the group of the file, fixed by its first VERTEX/EDGE line */
static dopt_status DOPT_FN(dopt__g2o_group)(DOPT_FN(dopt__g2o) *P, int is3d)
{
    if (P->grp < 0) {
        P->grp = is3d ? DOPT_LIE_SE3 : DOPT_LIE_SE2;
        P->dim = is3d ? 7 : 4;
        P->td = is3d ? 6 : 3;
    } else if ((P->grp == DOPT_LIE_SE3) != is3d) {
        return DOPT_FN(dopt__g2o_fail)(P, DOPT_ERR_PARSE, "mixes 2D (SE2) and 3D (SE3) lines");
    }
    return DOPT_OK;
}

/* exactly n numbers after the tag into v, else PARSE naming the tag */
static dopt_status DOPT_FN(dopt__g2o_nums)(DOPT_FN(dopt__g2o) *P, const char *tag, const char *rest, int n,
                                           double *v)
{
    char msg[160];
    int r = DOPT_FN(dopt__lie_parse_nums)(rest, n, v);
    if (!r) return DOPT_OK;
    snprintf(msg, sizeof msg, "%s: %s (expected %d numbers)", tag,
             r == 1 ? "missing or non-numeric field" : "extra fields", n);
    return DOPT_FN(dopt__g2o_fail)(P, DOPT_ERR_PARSE, msg);
}

/* the n values stored as they are (not quaternions, normalized in double) must be finite in
   DOPT_REAL: a value finite in double may overflow a float */
static dopt_status DOPT_FN(dopt__g2o_fits)(DOPT_FN(dopt__g2o) *P, const double *v, int n)
{
    int k;
    for (k = 0; k < n; ++k)
        if ((DOPT__L)v[k] - (DOPT__L)v[k] != 0)
            return DOPT_FN(dopt__g2o_fail)(P, DOPT_ERR_PARSE, "a value out of range for this precision");
    return DOPT_OK;
}

/* room for one more vertex record */
static DOPT__L *DOPT_FN(dopt__g2o_new_vertex)(DOPT_FN(dopt__g2o) *P, long id)
{
    typedef DOPT_FN(dopt__g2o_vertex) vertex_t;
    vertex_t *r;
    if (P->nv == P->vcap) {
        long nc = P->vcap ? 2 * P->vcap : 64;
        vertex_t *nr = (vertex_t *)dopt_realloc(P->hooks, P->v, sizeof(vertex_t) * (size_t)P->vcap,
                                                sizeof(vertex_t) * (size_t)nc);
        if (!nr) return NULL;
        P->v = nr;
        P->vcap = nc;
    }
    r = P->v + P->nv++;
    r->id = id;
    r->line = P->lineno;
    return r->x;
}

/* room for one more edge (zeroed), ids i -> j */
static DOPT_FN(dopt_lie_pose_graph_edge) *DOPT_FN(dopt__g2o_new_edge)(DOPT_FN(dopt__g2o) *P, long i, long j)
{
    typedef DOPT_FN(dopt_lie_pose_graph_edge) edge_t;
    edge_t *e;
    if (P->ne == P->ecap) {
        long nc = P->ecap ? 2 * P->ecap : 256;
        edge_t *ne = (edge_t *)dopt_realloc(P->hooks, P->edges, sizeof(edge_t) * (size_t)P->ecap,
                                            sizeof(edge_t) * (size_t)nc);
        if (!ne) return NULL;
        P->edges = ne;
        P->ecap = nc;
    }
    e = P->edges + P->ne++;
    memset(e, 0, sizeof *e);
    e->i = i;
    e->j = j;
    return e;
}

/* the upper triangle of the information matrix, row by row, mirrored */
static void DOPT_FN(dopt__g2o_info)(int td, const double *v, DOPT__L *info)
{ /* (not named I: <complex.h>, which cblas.h may pull in, defines I) */
    int a, b, idx = 0;
    for (a = 0; a < td; ++a)
        for (b = a; b < td; ++b) {
            info[a * td + b] = (DOPT__L)v[idx];
            info[b * td + a] = (DOPT__L)v[idx];
            ++idx;
        }
}

/* VERTEX_SE2 id x y theta */
static dopt_status DOPT_FN(dopt__g2o_vertex_se2)(DOPT_FN(dopt__g2o) *P, const char *rest)
{
    double v[4];
    long id;
    DOPT__L *x;
    dopt_status st = DOPT_FN(dopt__g2o_nums)(P, "VERTEX_SE2", rest, 4, v);
    if (st == DOPT_OK) st = DOPT_FN(dopt__g2o_id)(P, v[0], &id);
    if (st == DOPT_OK) st = DOPT_FN(dopt__g2o_fits)(P, v + 1, 2);
    if (st != DOPT_OK) return st;
    x = DOPT_FN(dopt__g2o_new_vertex)(P, id);
    if (!x) return DOPT_FN(dopt__g2o_fail)(P, DOPT_ERR_ALLOCATION, "out of memory");
    x[0] = (DOPT__L)v[1];
    x[1] = (DOPT__L)v[2];
    x[2] = (DOPT__L)cos(v[3]);
    x[3] = (DOPT__L)sin(v[3]);
    return DOPT_OK;
}

/* EDGE_SE2 i j dx dy dtheta I11 I12 I13 I22 I23 I33 */
static dopt_status DOPT_FN(dopt__g2o_edge_se2)(DOPT_FN(dopt__g2o) *P, const char *rest)
{
    double v[11];
    long i, j;
    DOPT_FN(dopt_lie_pose_graph_edge) *e;
    dopt_status st = DOPT_FN(dopt__g2o_nums)(P, "EDGE_SE2", rest, 11, v);
    if (st == DOPT_OK) st = DOPT_FN(dopt__g2o_id)(P, v[0], &i);
    if (st == DOPT_OK) st = DOPT_FN(dopt__g2o_id)(P, v[1], &j);
    if (st == DOPT_OK) st = DOPT_FN(dopt__g2o_fits)(P, v + 2, 2);
    if (st == DOPT_OK) st = DOPT_FN(dopt__g2o_fits)(P, v + 5, 6);
    if (st != DOPT_OK) return st;
    e = DOPT_FN(dopt__g2o_new_edge)(P, i, j);
    if (!e) return DOPT_FN(dopt__g2o_fail)(P, DOPT_ERR_ALLOCATION, "out of memory");
    e->measurement[0] = (DOPT__L)v[2];
    e->measurement[1] = (DOPT__L)v[3];
    e->measurement[2] = (DOPT__L)cos(v[4]);
    e->measurement[3] = (DOPT__L)sin(v[4]);
    DOPT_FN(dopt__g2o_info)(3, v + 5, e->information);
    return DOPT_OK;
}

/* VERTEX_SE3:QUAT id x y z qx qy qz qw */
static dopt_status DOPT_FN(dopt__g2o_vertex_se3)(DOPT_FN(dopt__g2o) *P, const char *rest)
{
    double v[8];
    long id;
    DOPT__L q[4], *x;
    int k;
    dopt_status st = DOPT_FN(dopt__g2o_nums)(P, "VERTEX_SE3:QUAT", rest, 8, v);
    if (st == DOPT_OK) st = DOPT_FN(dopt__g2o_id)(P, v[0], &id);
    if (st == DOPT_OK) st = DOPT_FN(dopt__g2o_fits)(P, v + 1, 3);
    if (st == DOPT_OK) st = DOPT_FN(dopt__g2o_quat)(P, v + 4, q);
    if (st != DOPT_OK) return st;
    x = DOPT_FN(dopt__g2o_new_vertex)(P, id);
    if (!x) return DOPT_FN(dopt__g2o_fail)(P, DOPT_ERR_ALLOCATION, "out of memory");
    for (k = 0; k < 3; ++k) x[k] = (DOPT__L)v[1 + k];
    for (k = 0; k < 4; ++k) x[3 + k] = q[k];
    return DOPT_OK;
}

/* EDGE_SE3:QUAT i j x y z qx qy qz qw + the 21 entries of the upper triangle */
static dopt_status DOPT_FN(dopt__g2o_edge_se3)(DOPT_FN(dopt__g2o) *P, const char *rest)
{
    double v[30];
    long i, j;
    DOPT__L q[4];
    DOPT_FN(dopt_lie_pose_graph_edge) *e;
    int k;
    dopt_status st = DOPT_FN(dopt__g2o_nums)(P, "EDGE_SE3:QUAT", rest, 30, v);
    if (st == DOPT_OK) st = DOPT_FN(dopt__g2o_id)(P, v[0], &i);
    if (st == DOPT_OK) st = DOPT_FN(dopt__g2o_id)(P, v[1], &j);
    if (st == DOPT_OK) st = DOPT_FN(dopt__g2o_fits)(P, v + 2, 3);
    if (st == DOPT_OK) st = DOPT_FN(dopt__g2o_fits)(P, v + 9, 21);
    if (st == DOPT_OK) st = DOPT_FN(dopt__g2o_quat)(P, v + 5, q);
    if (st != DOPT_OK) return st;
    e = DOPT_FN(dopt__g2o_new_edge)(P, i, j);
    if (!e) return DOPT_FN(dopt__g2o_fail)(P, DOPT_ERR_ALLOCATION, "out of memory");
    for (k = 0; k < 3; ++k) e->measurement[k] = (DOPT__L)v[2 + k];
    for (k = 0; k < 4; ++k) e->measurement[3 + k] = q[k];
    DOPT_FN(dopt__g2o_info)(6, v + 9, e->information);
    return DOPT_OK;
}

/* one line (without its end): blank, comment, FIX, or a VERTEX/EDGE line for its parser */
static dopt_status DOPT_FN(dopt__g2o_line)(DOPT_FN(dopt__g2o) *P, const char *s)
{
    char tag[32], msg[160];
    int tl = 0, is3d;
    while (*s == ' ' || *s == '\t') ++s;
    if (!*s || *s == '\n' || *s == '\r' || *s == '#') return DOPT_OK;
    while (s[tl] && s[tl] != ' ' && s[tl] != '\t' && s[tl] != '\n' && s[tl] != '\r' && tl < 31) {
        tag[tl] = s[tl];
        ++tl;
    }
    tag[tl] = 0;
    if (strcmp(tag, "FIX") == 0) return DOPT_OK;
    is3d = strcmp(tag, "VERTEX_SE3:QUAT") == 0 || strcmp(tag, "EDGE_SE3:QUAT") == 0;
    if (!is3d && strcmp(tag, "VERTEX_SE2") != 0 && strcmp(tag, "EDGE_SE2") != 0) {
        snprintf(msg, sizeof msg, "unsupported tag '%s' (expected VERTEX_SE2, EDGE_SE2, VERTEX_SE3:QUAT, EDGE_SE3:QUAT)", tag);
        return DOPT_FN(dopt__g2o_fail)(P, DOPT_ERR_PARSE, msg);
    }
    if (DOPT_FN(dopt__g2o_group)(P, is3d) != DOPT_OK) return DOPT_ERR_PARSE;
    if (strcmp(tag, "VERTEX_SE2") == 0) return DOPT_FN(dopt__g2o_vertex_se2)(P, s + tl);
    if (strcmp(tag, "EDGE_SE2") == 0) return DOPT_FN(dopt__g2o_edge_se2)(P, s + tl);
    if (strcmp(tag, "VERTEX_SE3:QUAT") == 0) return DOPT_FN(dopt__g2o_vertex_se3)(P, s + tl);
    return DOPT_FN(dopt__g2o_edge_se3)(P, s + tl);
}

/* every line of fp through dopt__g2o_line; a line holds at most 4095 characters before its end */
static dopt_status DOPT_FN(dopt__g2o_lines)(DOPT_FN(dopt__g2o) *P, FILE *fp)
{
    char line[4098]; /* 4095 characters, "\r\n", NUL */
    dopt_status st;
    while (fgets(line, (int)sizeof line, fp)) {
        size_t len = strlen(line);
        ++P->lineno;
        if (!strchr(line, '\n') && !feof(fp)) len = sizeof line; /* more follows: too long */
        while (len > 0 && len < sizeof line && (line[len - 1] == '\n' || line[len - 1] == '\r')) --len;
        if (len > 4095) return DOPT_FN(dopt__g2o_fail)(P, DOPT_ERR_PARSE, "line longer than 4095 characters");
        st = DOPT_FN(dopt__g2o_line)(P, line);
        if (st != DOPT_OK) return st;
    }
    P->lineno = 0; /* what follows concerns the whole file */
    if (ferror(fp)) return DOPT_FN(dopt__g2o_fail)(P, DOPT_ERR_IO, "read error");
    if (P->grp < 0) return DOPT_FN(dopt__g2o_fail)(P, DOPT_ERR_PARSE, "no VERTEX or EDGE lines");
    return DOPT_OK;
}

/* poses without a VERTEX line: chain the odometry edges k-1 -> k (x_0 = identity) */
static dopt_status DOPT_FN(dopt__g2o_chain)(DOPT_FN(dopt__g2o) *P, const unsigned char *seen, long n, DOPT__L *x)
{
    long *odo = (long *)dopt_alloc(P->hooks, sizeof(long) * (size_t)n), k;
    int dim = P->dim;
    if (!odo) return DOPT_FN(dopt__g2o_fail)(P, DOPT_ERR_ALLOCATION, "out of memory");
    for (k = 0; k < n; ++k) odo[k] = -1;
    for (k = 0; k < P->ne; ++k)
        if (P->edges[k].j == P->edges[k].i + 1 && odo[P->edges[k].j] < 0) odo[P->edges[k].j] = k;
    for (k = 0; k < n; ++k) {
        DOPT__L *xk = x + (size_t)k * (size_t)dim;
        if (seen[k]) continue;
        if (k == 0) {
            if (P->grp == DOPT_LIE_SE2) DOPT_FN(dopt_se2_identity)(xk);
            else DOPT_FN(dopt_se3_identity)(xk);
        } else if (odo[k] >= 0) {
            DOPT_FN(dopt__lie_pg_chain)((dopt_lie_group)P->grp, xk - dim, P->edges[odo[k]].measurement, xk);
        } else {
            memcpy(xk, xk - dim, sizeof(DOPT__L) * (size_t)dim);
        }
    }
    dopt_free(P->hooks, odo, sizeof(long) * (size_t)n);
    return DOPT_OK;
}

/* the graph from the records: ids checked, poses placed by id (num_poses = largest id + 1) */
static dopt_status DOPT_FN(dopt__g2o_build)(DOPT_FN(dopt__g2o) *P, DOPT_FN(dopt_lie_pose_graph) *g)
{
    typedef DOPT_FN(dopt_lie_pose_graph_edge) edge_t;
    long n = P->maxid + 1, k;
    unsigned char *seen;
    dopt_status st = DOPT_OK;
    if (n > 2 * (P->nv + P->ne) + 1024) {
        P->lineno = P->maxid_line;
        return DOPT_FN(dopt__g2o_fail)(P, DOPT_ERR_UNSUPPORTED,
                                       "vertex ids too sparse: the largest id must be below 2 x (VERTEX + EDGE lines) + 1024");
    }
    seen = (unsigned char *)dopt_alloc(P->hooks, (size_t)n);
    g->poses = (DOPT__L *)dopt_alloc(P->hooks, sizeof(DOPT__L) * (size_t)n * (size_t)P->dim);
    if (!seen || !g->poses) st = DOPT_FN(dopt__g2o_fail)(P, DOPT_ERR_ALLOCATION, "out of memory");
    if (st == DOPT_OK) {
        g->num_poses = n;
        memset(seen, 0, (size_t)n);
        for (k = 0; k < P->nv && st == DOPT_OK; ++k) {
            long id = P->v[k].id;
            if (seen[id]) {
                P->lineno = P->v[k].line;
                st = DOPT_FN(dopt__g2o_fail)(P, DOPT_ERR_PARSE, "duplicate vertex id");
            }
            seen[id] = 1;
            memcpy(g->poses + (size_t)id * (size_t)P->dim, P->v[k].x, sizeof(DOPT__L) * (size_t)P->dim);
        }
    }
    if (st == DOPT_OK) st = DOPT_FN(dopt__g2o_chain)(P, seen, n, g->poses);
    if (st == DOPT_OK && !DOPT_FN(dopt_all_finite)((int)(n * P->dim), g->poses))
        st = DOPT_FN(dopt__g2o_fail)(P, DOPT_ERR_NON_FINITE, "poses chained from the edges overflow");
    if (seen) dopt_free(P->hooks, seen, (size_t)n);
    if (st == DOPT_OK && P->ne) {
        g->edges = (edge_t *)dopt_alloc(P->hooks, sizeof(edge_t) * (size_t)P->ne);
        if (!g->edges) st = DOPT_FN(dopt__g2o_fail)(P, DOPT_ERR_ALLOCATION, "out of memory");
        else memcpy(g->edges, P->edges, sizeof(edge_t) * (size_t)P->ne);
    }
    if (st != DOPT_OK) {
        if (g->poses) dopt_free(P->hooks, g->poses, sizeof(DOPT__L) * (size_t)n * (size_t)P->dim);
        g->poses = NULL;
        return st;
    }
    g->num_edges = P->ne;
    g->group = (dopt_lie_group)P->grp;
    g->dim = P->dim;
    g->tangent_dim = P->td;
    return DOPT_OK;
}

DOPT_API dopt_status DOPT_FN(dopt_lie_g2o_read)(const char *path, const dopt_hooks *hooks,
                                                DOPT_FN(dopt_lie_pose_graph) *g, dopt_errinfo *info)
{
    DOPT_FN(dopt__g2o) P;
    FILE *fp;
    dopt_status st;
    if (!path || !g) return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "NULL argument");
    memset(g, 0, sizeof *g);
    if (hooks) g->hooks = *hooks; /* the graph keeps the hooks it was filled with (destroy uses them) */
    fp = dopt__fopen(path, "r");
    if (!fp) return dopt_errinfo_set(info, DOPT_ERR_IO, -1, 0, "cannot open file");
    memset(&P, 0, sizeof P);
    P.hooks = hooks;
    P.info = info;
    P.grp = -1;
    P.maxid = -1;
    st = DOPT_FN(dopt__g2o_lines)(&P, fp);
    fclose(fp);
    if (st == DOPT_OK) st = DOPT_FN(dopt__g2o_build)(&P, g);
    dopt_free(hooks, P.v, sizeof(DOPT_FN(dopt__g2o_vertex)) * (size_t)P.vcap);
    dopt_free(hooks, P.edges, sizeof(DOPT_FN(dopt_lie_pose_graph_edge)) * (size_t)P.ecap);
    if (st != DOPT_OK) memset(g, 0, sizeof *g);
    return st;
}

DOPT_API dopt_status DOPT_FN(dopt_lie_g2o_write)(const char *path, const DOPT_FN(dopt_lie_pose_graph) *g,
                                                 dopt_errinfo *info)
{
    FILE *fp;
    ptrdiff_t k;
    int a, b, td;
    if (!path || !g) return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "NULL argument");
    if (g->group != DOPT_LIE_SE2 && g->group != DOPT_LIE_SE3)
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "g2o holds SE2 or SE3 graphs only");
    fp = dopt__fopen(path, "w");
    if (!fp) return dopt_errinfo_set(info, DOPT_ERR_IO, -1, 0, "cannot open file for writing");
    td = g->group == DOPT_LIE_SE2 ? 3 : 6;
    for (k = 0; k < g->num_poses; ++k) {
        const DOPT__L *x = g->poses + (size_t)k * (size_t)g->dim;
        if (g->group == DOPT_LIE_SE2)
            fprintf(fp, "VERTEX_SE2 %lld %.17g %.17g %.17g\n", (long long)k, (double)x[0], (double)x[1],
                    atan2((double)x[3], (double)x[2]));
        else
            fprintf(fp, "VERTEX_SE3:QUAT %lld %.17g %.17g %.17g %.17g %.17g %.17g %.17g\n", (long long)k, (double)x[0],
                    (double)x[1], (double)x[2], (double)x[3], (double)x[4], (double)x[5], (double)x[6]);
    }
    for (k = 0; k < g->num_edges; ++k) {
        const DOPT_FN(dopt_lie_pose_graph_edge) *e = g->edges + k;
        const DOPT__L *m = e->measurement;
        if (g->group == DOPT_LIE_SE2)
            fprintf(fp, "EDGE_SE2 %lld %lld %.17g %.17g %.17g", (long long)e->i, (long long)e->j, (double)m[0], (double)m[1],
                    atan2((double)m[3], (double)m[2]));
        else
            fprintf(fp, "EDGE_SE3:QUAT %lld %lld %.17g %.17g %.17g %.17g %.17g %.17g %.17g", (long long)e->i, (long long)e->j,
                    (double)m[0], (double)m[1], (double)m[2], (double)m[3], (double)m[4], (double)m[5],
                    (double)m[6]);
        for (a = 0; a < td; ++a)
            for (b = a; b < td; ++b) fprintf(fp, " %.17g", (double)e->information[a * td + b]);
        fputc('\n', fp);
    }
    if (fclose(fp) != 0) return dopt_errinfo_set(info, DOPT_ERR_IO, -1, 0, "write failed");
    return DOPT_OK;
}
#endif /* DOPT_NO_STDIO */

/* Exp of a tangent vector with components uniform in ±ht (translation) and ±hr (rotation). */
static void DOPT_FN(dopt__lie_cube_noise)(dopt_rng *rng, double ht, double hr, DOPT__L g[7])
{
    DOPT__L xi[6];
    int k;
    for (k = 0; k < 3; ++k) xi[k] = (DOPT__L)(ht * (2.0 * dopt_rng_uniform_d(rng) - 1.0));
    for (k = 3; k < 6; ++k) xi[k] = (DOPT__L)(hr * (2.0 * dopt_rng_uniform_d(rng) - 1.0));
    DOPT_FN(dopt_se3_exp)(xi, g, NULL);
}

DOPT_API dopt_status DOPT_FN(dopt_lie_cube_graph)(const dopt_lie_cube_options *opts, dopt_rng *rng,
                                                  const dopt_hooks *hooks, DOPT_FN(dopt_lie_pose_graph) *g)
{
    typedef DOPT_FN(dopt_lie_pose_graph_edge) edge_t;
    dopt_lie_cube_options o;
    ptrdiff_t n, k, ne = 0, ecap, maxlc;
    edge_t *edges;
    unsigned char *inl;
    ptrdiff_t *pick;
    DOPT__L info_t, info_r;
    if (!g || !rng) return DOPT_ERR_INVALID_ARGUMENT;
    memset(g, 0, sizeof *g);
    if (hooks) g->hooks = *hooks;
    if (opts) o = *opts;
    else memset(&o, 0, sizeof o);
    if (o.num_poses == 0) o.num_poses = 256;
    if (o.translation_noise == 0) o.translation_noise = 0.05;
    if (o.rotation_noise == 0) o.rotation_noise = 0.02;
    if (o.loop_closure_ratio == 0) o.loop_closure_ratio = 0.2;
    if (o.loop_closure_ratio < 0) o.loop_closure_ratio = 0;
    if (o.outlier_ratio < 0) o.outlier_ratio = 0;
    if (o.max_loop_closures <= 0) o.max_loop_closures = 10;
    if (o.step_translation == 0) o.step_translation = 0.5;
    if (o.step_rotation == 0) o.step_rotation = 1.0;
    if (o.num_poses < 2) return DOPT_ERR_INVALID_ARGUMENT;
    n = o.num_poses;
    maxlc = o.max_loop_closures;
    ecap = (n - 1) * (1 + maxlc);
    g->poses = (DOPT__L *)dopt_alloc(hooks, sizeof(DOPT__L) * 7 * (size_t)n);
    g->gt_poses = (DOPT__L *)dopt_alloc(hooks, sizeof(DOPT__L) * 7 * (size_t)n);
    edges = (edge_t *)dopt_alloc(hooks, sizeof(edge_t) * (size_t)ecap);
    inl = (unsigned char *)dopt_alloc(hooks, (size_t)ecap);
    pick = (ptrdiff_t *)dopt_alloc(hooks, sizeof(ptrdiff_t) * (size_t)maxlc);
    g->num_poses = n;
    g->dim = 7;
    if (!g->poses || !g->gt_poses || !edges || !inl || !pick) {
        dopt_free(hooks, edges, sizeof(edge_t) * (size_t)ecap);
        dopt_free(hooks, inl, (size_t)ecap);
        dopt_free(hooks, pick, sizeof(ptrdiff_t) * (size_t)maxlc);
        DOPT_FN(dopt_lie_pose_graph_destroy)(g);
        return DOPT_ERR_ALLOCATION;
    }
    info_t = (DOPT__L)(1.0 / (o.translation_noise * o.translation_noise));
    info_r = (DOPT__L)(1.0 / (o.rotation_noise * o.rotation_noise));
    DOPT_FN(dopt_se3_identity)(g->gt_poses);
    for (k = 1; k < n; ++k) {
        DOPT__L rel[7], noise[7], *xk = g->gt_poses + 7 * k;
        edge_t *e;
        DOPT_FN(dopt__lie_cube_noise)(rng, o.step_translation, o.step_rotation, rel);
        DOPT_FN(dopt_se3_compose)(xk - 7, rel, xk, NULL, NULL);
        DOPT_FN(dopt_se3_normalize)(xk); /* keep the ptrdiff_t chain on the group */
        DOPT_FN(dopt__lie_cube_noise)(rng, o.translation_noise, o.rotation_noise, noise);
        e = edges + ne;
        memset(e, 0, sizeof *e);
        e->i = k - 1;
        e->j = k;
        DOPT_FN(dopt_se3_compose)(rel, noise, e->measurement, NULL, NULL);
        inl[ne++] = 1;
        if (k >= 2 && dopt_rng_uniform_d(rng) < o.loop_closure_ratio) {
            ptrdiff_t cnt = 1 + (ptrdiff_t)dopt_rng_below(rng, (uint64_t)maxlc), c, np = 0;
            for (c = 0; c < cnt; ++c) { /* distinct earlier poses i in [0, k-1) */
                ptrdiff_t i = (ptrdiff_t)dopt_rng_below(rng, (uint64_t)(k - 1)), q;
                int dup = 0;
                for (q = 0; q < np; ++q) dup |= pick[q] == i;
                if (!dup) pick[np++] = i;
            }
            for (c = 0; c < np; ++c) {
                DOPT__L gtrel[7];
                int outlier = dopt_rng_uniform_d(rng) < o.outlier_ratio;
                DOPT_FN(dopt_se3_between)(g->gt_poses + 7 * pick[c], xk, gtrel, NULL, NULL);
                if (outlier) DOPT_FN(dopt_se3_random)(rng, noise);
                else DOPT_FN(dopt__lie_cube_noise)(rng, o.translation_noise, o.rotation_noise, noise);
                e = edges + ne;
                memset(e, 0, sizeof *e);
                e->i = pick[c];
                e->j = k;
                DOPT_FN(dopt_se3_compose)(gtrel, noise, e->measurement, NULL, NULL);
                inl[ne++] = (unsigned char)!outlier;
            }
        }
    }
    for (k = 0; k < ne; ++k) {
        int a;
        for (a = 0; a < 6; ++a) edges[k].information[a * 6 + a] = a < 3 ? info_t : info_r;
        DOPT_FN(dopt_se3_normalize)(edges[k].measurement);
    }
    for (k = 0; k < n; ++k) {
        DOPT__L noise[7];
        DOPT_FN(dopt__lie_cube_noise)(rng, o.translation_noise, o.rotation_noise, noise);
        DOPT_FN(dopt_se3_compose)(g->gt_poses + 7 * k, noise, g->poses + 7 * k, NULL, NULL);
        DOPT_FN(dopt_se3_normalize)(g->poses + 7 * k);
    }
    dopt_free(hooks, pick, sizeof(ptrdiff_t) * (size_t)maxlc);
    /* shrink to the exact edge count so that free() is told the right sizes */
    g->edges = (edge_t *)dopt_realloc(hooks, edges, sizeof(edge_t) * (size_t)ecap, sizeof(edge_t) * (size_t)ne);
    if (!g->edges) {
        dopt_free(hooks, edges, sizeof(edge_t) * (size_t)ecap);
        dopt_free(hooks, inl, (size_t)ecap);
        DOPT_FN(dopt_lie_pose_graph_destroy)(g);
        return DOPT_ERR_ALLOCATION;
    }
    g->num_edges = ne;
    g->inlier = (unsigned char *)dopt_realloc(hooks, inl, (size_t)ecap, (size_t)ne);
    if (!g->inlier) {
        dopt_free(hooks, inl, (size_t)ecap);
        DOPT_FN(dopt_lie_pose_graph_destroy)(g);
        return DOPT_ERR_ALLOCATION;
    }
    g->num_edges = ne;
    g->group = DOPT_LIE_SE3;
    g->tangent_dim = 6;
    return DOPT_OK;
}


/* =============================================================================================== */
/* ---- BUNDLE ADJUSTMENT: BAL problems, Schur-complement LM, covariance, implicit backward ------- */
/* =============================================================================================== */

#define DOPT__BA_IMAX ((ptrdiff_t)0x7fffffff)

static int DOPT_FN(dopt__ba_finite)(ptrdiff_t n, const DOPT__L *x)
{
    ptrdiff_t i;
    for (i = 0; i < n; ++i)
        if (!(x[i] == x[i] && x[i] - x[i] == 0)) return 0;
    return 1;
}

DOPT_API void DOPT_FN(dopt_lie_bal_destroy)(DOPT_FN(dopt_lie_bal) *p)
{
    dopt_hooks h;
    size_t nc, np, no, r = sizeof(DOPT__L);
    if (!p) return;
    h = p->hooks;
    nc = (size_t)p->num_cameras; np = (size_t)p->num_points; no = (size_t)p->num_observations;
    dopt_free(&h, p->obs_camera, no * sizeof(int));
    dopt_free(&h, p->obs_point, no * sizeof(int));
    dopt_free(&h, p->observed, 2 * no * r);
    dopt_free(&h, p->cameras, 9 * nc * r);
    dopt_free(&h, p->points, 3 * np * r);
    dopt_free(&h, p->gt_cameras, 9 * nc * r);
    dopt_free(&h, p->gt_points, 3 * np * r);
    dopt_free(&h, p, sizeof *p);
}

DOPT_API dopt_status DOPT_FN(dopt_lie_bal_create)(const dopt_hooks *hooks, ptrdiff_t num_cameras,
                                                  ptrdiff_t num_points, ptrdiff_t num_observations,
                                                  int with_truth, DOPT_FN(dopt_lie_bal) **out)
{
    DOPT_FN(dopt_lie_bal) *p;
    size_t nc, np, no, r = sizeof(DOPT__L);
    if (!out) return DOPT_ERR_INVALID_ARGUMENT;
    *out = NULL;
    if (num_cameras < 0 || num_points < 0 || num_observations < 0 || num_cameras > DOPT__BA_IMAX ||
        num_points > DOPT__BA_IMAX || num_observations > DOPT__BA_IMAX || (with_truth != 0 && with_truth != 1))
        return DOPT_ERR_INVALID_ARGUMENT;
    p = (DOPT_FN(dopt_lie_bal) *)dopt_alloc(hooks, sizeof *p);
    if (!p) return DOPT_ERR_ALLOCATION;
    memset(p, 0, sizeof *p);
    if (hooks) p->hooks = *hooks;
    nc = (size_t)num_cameras; np = (size_t)num_points; no = (size_t)num_observations;
    p->obs_camera = (int *)dopt_alloc(hooks, no * sizeof(int));
    p->obs_point = (int *)dopt_alloc(hooks, no * sizeof(int));
    p->observed = (DOPT__L *)dopt_alloc(hooks, 2 * no * r);
    p->cameras = (DOPT__L *)dopt_alloc(hooks, 9 * nc * r);
    p->points = (DOPT__L *)dopt_alloc(hooks, 3 * np * r);
    if (with_truth) {
        p->gt_cameras = (DOPT__L *)dopt_alloc(hooks, 9 * nc * r);
        p->gt_points = (DOPT__L *)dopt_alloc(hooks, 3 * np * r);
    }
    /* counts are set before the check so that destroy frees with the right sizes */
    p->num_cameras = num_cameras; p->num_points = num_points; p->num_observations = num_observations;
    if (!p->obs_camera || !p->obs_point || !p->observed || !p->cameras || !p->points ||
        (with_truth && (!p->gt_cameras || !p->gt_points))) {
        DOPT_FN(dopt_lie_bal_destroy)(p);
        return DOPT_ERR_ALLOCATION;
    }
    memset(p->obs_camera, 0, no * sizeof(int));
    memset(p->obs_point, 0, no * sizeof(int));
    memset(p->observed, 0, 2 * no * r);
    memset(p->cameras, 0, 9 * nc * r);
    memset(p->points, 0, 3 * np * r);
    if (with_truth) {
        memset(p->gt_cameras, 0, 9 * nc * r);
        memset(p->gt_points, 0, 3 * np * r);
    }
    *out = p;
    return DOPT_OK;
}

/* Per camera: R (row-major) of its angle-axis and, when A is wanted, A = R Jr(a), so that the
 * reprojection's rotation Jacobian is dP/da = -R [X]x Jr(a) = -[R X]x A. */
DOPT__LIE_INLINE void DOPT_FN(dopt__ba_camera_prep)(const DOPT__L *cam, DOPT__L R[9], DOPT__L *A)
{
    DOPT__L q[4], Jr[9];
    DOPT_FN(dopt_so3_exp)(cam, q, NULL);
    DOPT_FN(dopt_so3_to_matrix)(q, R);
    if (A) {
        DOPT_FN(dopt_so3_jr)(cam, Jr);
        DOPT_FN(dopt__lie_mul3)(R, Jr, A);
    }
}

/* The BAL reprojection of dopt_lie_cost_bal with the camera's R and A precomputed:
 * r = f (1 + k1 |p|² + k2 |p|⁴) p - obs, p = -P / Pz, P = R X + t.  Jc (2x9) and Jx (2x3),
 * row-major, when Jc is non-NULL. */
DOPT__LIE_INLINE void DOPT_FN(dopt__ba_project)(const DOPT__L *cam, const DOPT__L *R, const DOPT__L *A,
                                                const DOPT__L *X, const DOPT__L *obs, DOPT__L r[2],
                                                DOPT__L *Jc, DOPT__L *Jx)
{
    DOPT__L RX[3], P[3], p[2], iz, n2, rho, drho, f = cam[6], Dp[4], D[6];
    int a, b;
    for (a = 0; a < 3; ++a) {
        RX[a] = R[3 * a] * X[0] + R[3 * a + 1] * X[1] + R[3 * a + 2] * X[2];
        P[a] = RX[a] + cam[3 + a];
    }
    iz = DOPT__C(1) / P[2];
    p[0] = -P[0] * iz;
    p[1] = -P[1] * iz;
    n2 = p[0] * p[0] + p[1] * p[1];
    rho = DOPT__C(1) + n2 * (cam[7] + cam[8] * n2);
    r[0] = f * rho * p[0] - obs[0];
    r[1] = f * rho * p[1] - obs[1];
    if (!Jc) return;
    drho = cam[7] + DOPT__C(2) * cam[8] * n2;
    Dp[0] = f * (rho + DOPT__C(2) * drho * p[0] * p[0]);
    Dp[1] = f * DOPT__C(2) * drho * p[0] * p[1];
    Dp[3] = f * (rho + DOPT__C(2) * drho * p[1] * p[1]);
    Dp[2] = Dp[1];
    /* D = dr/dP = Dp dp/dP, dp/dP = [[-1/z, 0, x/z²], [0, -1/z, y/z²]] */
    for (a = 0; a < 2; ++a) {
        D[3 * a] = -Dp[2 * a] * iz;
        D[3 * a + 1] = -Dp[2 * a + 1] * iz;
        D[3 * a + 2] = (Dp[2 * a] * P[0] + Dp[2 * a + 1] * P[1]) * iz * iz;
    }
    for (a = 0; a < 2; ++a) {
        const DOPT__L *d = D + 3 * a;
        DOPT__L B[3], *o = Jc + 9 * a;
        /* d [RX]x = (d x RX)ᵀ, so dr/da = -(d x RX)ᵀ A */
        B[0] = d[1] * RX[2] - d[2] * RX[1];
        B[1] = d[2] * RX[0] - d[0] * RX[2];
        B[2] = d[0] * RX[1] - d[1] * RX[0];
        for (b = 0; b < 3; ++b) o[b] = -(B[0] * A[b] + B[1] * A[3 + b] + B[2] * A[6 + b]);
        o[3] = d[0]; o[4] = d[1]; o[5] = d[2];
        o[6] = rho * p[a];
        o[7] = f * n2 * p[a];
        o[8] = f * n2 * n2 * p[a];
        for (b = 0; b < 3; ++b) Jx[3 * a + b] = d[0] * R[b] + d[1] * R[3 + b] + d[2] * R[6 + b];
    }
}

DOPT_API dopt_status DOPT_FN(dopt_lie_bal_cost)(const DOPT_FN(dopt_lie_bal) *p, dopt_loss_kind loss,
                                                double loss_scale, double *cost, dopt_errinfo *info)
{
    ptrdiff_t i;
    double c = 0;
    int last = -1;
    DOPT__L R[9], r[2], rho[3];
    if (!p || !cost || (int)loss < (int)DOPT_LOSS_NONE || (int)loss > (int)DOPT_LOSS_SOFT_L1 || !(loss_scale >= 0))
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "bal cost: bad argument");
    for (i = 0; i < p->num_observations; ++i) {
        const int cm = p->obs_camera[i], pt = p->obs_point[i];
        DOPT__L s;
        if (cm < 0 || cm >= p->num_cameras || pt < 0 || pt >= p->num_points)
            return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, (long)i, 0, "bal cost: index out of range");
        if (cm != last) DOPT_FN(dopt__ba_camera_prep)(p->cameras + 9 * (size_t)cm, R, NULL);
        last = cm;
        DOPT_FN(dopt__ba_project)(p->cameras + 9 * (size_t)cm, R, NULL, p->points + 3 * (size_t)pt,
                                  p->observed + 2 * i, r, NULL, NULL);
        s = r[0] * r[0] + r[1] * r[1];
        if (loss != DOPT_LOSS_NONE) {
            DOPT_FN(dopt_nlls_loss_eval)(loss, (DOPT__L)loss_scale, s, rho);
            s = rho[0];
        }
        if (!(s == s && s - s == 0))
            return dopt_errinfo_set(info, DOPT_ERR_NON_FINITE, (long)i, 0, "bal cost: residual not finite");
        c += 0.5 * (double)s;
    }
    *cost = c;
    return DOPT_OK;
}

/* ---- synthetic scenes ---------------------------------------------------------------------------- */

DOPT_API dopt_status DOPT_FN(dopt_lie_bal_scene)(const dopt_hooks *hooks, const dopt_lie_bal_scene_options *opts,
                                                 dopt_rng *rng, DOPT_FN(dopt_lie_bal) **out, dopt_errinfo *info)
{
    dopt_lie_bal_scene_options o;
    DOPT_FN(dopt_lie_bal) *p = NULL;
    int *views = NULL, *start = NULL;
    ptrdiff_t nc, np, no = 0, j, i, k;
    double sig_px, sig_rot, sig_t, sig_x;
    /* camera frame in world coordinates: x_c = world x, y_c = world z, z_c = -world y (BAL cameras
     * look along their -z axis, so every camera looks towards world +y) */
    static const double R0[9] = {1, 0, 0, 0, 0, 1, 0, -1, 0};
    dopt_status st;
    if (!out || !rng) return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "bal scene: NULL argument");
    *out = NULL;
    memset(&o, 0, sizeof o);
    if (opts) o = *opts;
    if (o.num_cameras == 0) o.num_cameras = 100;
    if (o.points_per_camera == 0) o.points_per_camera = 100;
    if (o.min_views == 0) o.min_views = 3;
    if (o.max_views == 0) o.max_views = 10;
    if (o.max_views > o.num_cameras) o.max_views = o.num_cameras;
    if (o.min_views > o.max_views) o.min_views = o.max_views;
    sig_px = o.pixel_noise == 0 ? 1 : o.pixel_noise < 0 ? 0 : o.pixel_noise;
    sig_rot = o.rotation_noise == 0 ? 0.01 : o.rotation_noise < 0 ? 0 : o.rotation_noise;
    sig_t = o.translation_noise == 0 ? 0.05 : o.translation_noise < 0 ? 0 : o.translation_noise;
    sig_x = o.point_noise == 0 ? 0.1 : o.point_noise < 0 ? 0 : o.point_noise;
    if (o.focal == 0) o.focal = 500;
    if (o.num_cameras < 2 || o.num_cameras > 10000000 || o.points_per_camera < 1 || o.min_views < 2 ||
        !(o.focal > 0) || !(sig_px < 1e300 && sig_rot < 1e300 && sig_t < 1e300 && sig_x < 1e300))
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "bal scene: bad options");
    nc = o.num_cameras;
    np = (ptrdiff_t)((double)nc * o.points_per_camera * 2.0 / (o.min_views + o.max_views));
    if (np < 1) np = 1;
    if (np > DOPT__BA_IMAX / 16) return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "bal scene: too many points");
    views = (int *)dopt_alloc(hooks, (size_t)np * sizeof(int));
    start = (int *)dopt_alloc(hooks, (size_t)np * sizeof(int));
    if (!views || !start) { st = DOPT_ERR_ALLOCATION; goto done; }
    for (j = 0; j < np; ++j) {
        views[j] = o.min_views + (int)dopt_rng_below(rng, (uint64_t)(o.max_views - o.min_views + 1));
        start[j] = (int)dopt_rng_below(rng, (uint64_t)(nc - views[j] + 1));
        no += views[j];
    }
    st = DOPT_FN(dopt_lie_bal_create)(hooks, nc, np, no, 1, &p);
    if (st != DOPT_OK) goto done;
    for (k = 0; k < nc; ++k) { /* ground-truth cameras: centre (k, jitter, jitter), small yaw/pitch/roll */
        DOPT__L w[3], qj[4], q0[4], q[4], M[9], C[3], *cam = p->gt_cameras + 9 * k;
        int a;
        for (a = 0; a < 9; ++a) M[a] = (DOPT__L)R0[a];
        DOPT_FN(dopt_so3_from_matrix)(M, q0);
        for (a = 0; a < 3; ++a) w[a] = (DOPT__L)(0.05 * dopt_rng_normal_d(rng));
        DOPT_FN(dopt_so3_exp)(w, qj, NULL);
        DOPT_FN(dopt_so3_compose)(qj, q0, q, NULL, NULL); /* R_cw = Exp(w) R0 */
        DOPT_FN(dopt_so3_to_angle_axis)(q, cam);
        DOPT_FN(dopt_so3_to_matrix)(q, M);
        C[0] = (DOPT__L)k - (DOPT__L)(0.5 * (double)(nc - 1)); /* the track is centred on the origin */
        C[1] = (DOPT__L)(0.1 * dopt_rng_normal_d(rng));
        C[2] = (DOPT__L)(0.1 * dopt_rng_normal_d(rng));
        for (a = 0; a < 3; ++a) cam[3 + a] = -(M[3 * a] * C[0] + M[3 * a + 1] * C[1] + M[3 * a + 2] * C[2]);
        cam[6] = (DOPT__L)o.focal;
        cam[7] = DOPT__C(0.01);
        cam[8] = DOPT__C(0.001);
    }
    for (j = 0, i = 0; j < np; ++j) { /* points in front of their run of cameras, and their observations */
        DOPT__L *X = p->gt_points + 3 * j;
        X[0] = (DOPT__L)(start[j] - 0.5 * (double)(nc - 1) + (views[j] - 1) * dopt_rng_uniform_d(rng));
        X[1] = (DOPT__L)(4 + 8 * dopt_rng_uniform_d(rng));
        X[2] = (DOPT__L)(-2 + 4 * dopt_rng_uniform_d(rng));
        for (k = start[j]; k < start[j] + views[j]; ++k, ++i) {
            DOPT__L R[9], r[2], zero[2] = {0, 0};
            DOPT_FN(dopt__ba_camera_prep)(p->gt_cameras + 9 * k, R, NULL);
            DOPT_FN(dopt__ba_project)(p->gt_cameras + 9 * k, R, NULL, X, zero, r, NULL, NULL);
            p->obs_camera[i] = (int)k;
            p->obs_point[i] = (int)j;
            p->observed[2 * i] = r[0] + (DOPT__L)(sig_px * dopt_rng_normal_d(rng));
            p->observed[2 * i + 1] = r[1] + (DOPT__L)(sig_px * dopt_rng_normal_d(rng));
        }
    }
    for (k = 0; k < nc; ++k) { /* perturbed initial values: rotation about the camera centre, centre moved */
        DOPT__L R[9], C[3], *cam = p->cameras + 9 * k;
        int a;
        for (a = 0; a < 9; ++a) cam[a] = p->gt_cameras[9 * k + a];
        DOPT_FN(dopt__ba_camera_prep)(cam, R, NULL);
        for (a = 0; a < 3; ++a) /* C = -Rᵀ t */
            C[a] = -(R[a] * cam[3] + R[3 + a] * cam[4] + R[6 + a] * cam[5]) + (DOPT__L)(sig_t * dopt_rng_normal_d(rng));
        for (a = 0; a < 3; ++a) cam[a] += (DOPT__L)(sig_rot * dopt_rng_normal_d(rng));
        DOPT_FN(dopt__ba_camera_prep)(cam, R, NULL);
        for (a = 0; a < 3; ++a) cam[3 + a] = -(R[3 * a] * C[0] + R[3 * a + 1] * C[1] + R[3 * a + 2] * C[2]);
    }
    for (j = 0; j < 3 * np; ++j) p->points[j] = p->gt_points[j] + (DOPT__L)(sig_x * dopt_rng_normal_d(rng));
    *out = p;
    p = NULL;
done:
    dopt_free(hooks, views, views ? (size_t)np * sizeof(int) : 0);
    dopt_free(hooks, start, start ? (size_t)np * sizeof(int) : 0);
    DOPT_FN(dopt_lie_bal_destroy)(p);
    if (st != DOPT_OK) return dopt_errinfo_set(info, st, -1, 0, "bal scene: out of memory");
    return DOPT_OK;
}

/* ---- BAL files ------------------------------------------------------------------------------------- */
#ifndef DOPT_NO_STDIO

/* A cursor over the file's text (NUL-terminated) that counts lines. */
typedef struct DOPT_FN(dopt__bal_cursor) {
    const char *s;
    long line;
} DOPT_FN(dopt__bal_cursor);

/* Next number of the stream: 0 = read, 1 = end of file, 2 = not a number / not finite.  With
 * same_line, a newline before the number counts as "missing" (returns 3). */
static int DOPT_FN(dopt__bal_next)(DOPT_FN(dopt__bal_cursor) *c, int same_line, double *v)
{
    char *end;
    while (*c->s == ' ' || *c->s == '\t' || *c->s == '\r' || *c->s == '\n') {
        if (*c->s == '\n') {
            if (same_line) return 3;
            c->line++;
        }
        c->s++;
    }
    if (!*c->s) return 1;
    *v = strtod(c->s, &end);
    if (end == c->s || (*end && *end != ' ' && *end != '\t' && *end != '\r' && *end != '\n')) return 2;
    c->s = end;
    if (!(*v == *v) || *v > DBL_MAX || *v < -DBL_MAX) return 2;
    return 0;
}

/* Only blanks up to the end of the line (or file)? */
static int DOPT_FN(dopt__bal_line_ends)(const DOPT_FN(dopt__bal_cursor) *c)
{
    const char *s = c->s;
    while (*s == ' ' || *s == '\t' || *s == '\r') ++s;
    return !*s || *s == '\n';
}

static int DOPT_FN(dopt__bal_is_index)(double v, double limit) { return v >= 0 && v < limit && v == (double)(long)v; }

DOPT_API dopt_status DOPT_FN(dopt_lie_bal_read)(const dopt_hooks *hooks, const char *path,
                                                DOPT_FN(dopt_lie_bal) **out, dopt_errinfo *info)
{
    FILE *fp;
    long size;
    char *text = NULL, msg[160];
    DOPT_FN(dopt__bal_cursor) c;
    DOPT_FN(dopt_lie_bal) *p = NULL;
    double h[3], v[4], need;
    ptrdiff_t i, n;
    int k, e;
    dopt_status st = DOPT_OK;
    if (!path || !out) return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "bal read: NULL argument");
    *out = NULL;
    fp = dopt__fopen(path, "rb");
    if (!fp) return dopt_errinfo_set(info, DOPT_ERR_IO, -1, 0, "bal read: cannot open file");
    if (fseek(fp, 0, SEEK_END) != 0 || (size = ftell(fp)) < 0 || fseek(fp, 0, SEEK_SET) != 0) {
        fclose(fp);
        return dopt_errinfo_set(info, DOPT_ERR_IO, -1, 0, "bal read: cannot determine the file size");
    }
    text = (char *)dopt_alloc(hooks, (size_t)size + 1);
    if (!text) {
        fclose(fp);
        return dopt_errinfo_set(info, DOPT_ERR_ALLOCATION, -1, 0, "bal read: out of memory for the file");
    }
    if (fread(text, 1, (size_t)size, fp) != (size_t)size) {
        fclose(fp);
        dopt_free(hooks, text, (size_t)size + 1);
        return dopt_errinfo_set(info, DOPT_ERR_IO, -1, 0, "bal read: read error");
    }
    fclose(fp);
    text[size] = 0;
    if (strlen(text) != (size_t)size) {
        dopt_free(hooks, text, (size_t)size + 1);
        return dopt_errinfo_set(info, DOPT_ERR_PARSE, 1, 1, "bal read: NUL byte in the file (not a text file)");
    }
    c.s = text;
    c.line = 1;
#define DOPT__BAL_FAIL(why)                                                                      \
    do {                                                                                         \
        st = dopt_errinfo_set(info, DOPT_ERR_PARSE, -1, c.line, why);                            \
        goto done;                                                                               \
    } while (0)
    for (k = 0; k < 3; ++k) {
        e = DOPT_FN(dopt__bal_next)(&c, k > 0, &h[k]);
        if (e) DOPT__BAL_FAIL("header: expected 'num_cameras num_points num_observations'");
        if (!(h[k] >= 0 && h[k] <= (double)DOPT__BA_IMAX && h[k] == (double)(long)h[k]))
            DOPT__BAL_FAIL("header: counts must be integers in 0 .. 2^31-1");
    }
    if (!DOPT_FN(dopt__bal_line_ends)(&c)) DOPT__BAL_FAIL("header: extra fields after the three counts");
    /* every observation line needs at least 8 bytes ("0 0 0 0\n"), every parameter 2 ("0\n") */
    need = 8 * h[2] + 2 * (9 * h[0] + 3 * h[1]) - 1;
    if (need > (double)size) {
        snprintf(msg, sizeof msg, "header: %.0f cameras, %.0f points, %.0f observations need at least %.0f bytes; the file has %ld",
                 h[0], h[1], h[2], need, size);
        DOPT__BAL_FAIL(msg);
    }
    st = DOPT_FN(dopt_lie_bal_create)(hooks, (ptrdiff_t)h[0], (ptrdiff_t)h[1], (ptrdiff_t)h[2], 0, &p);
    if (st != DOPT_OK) {
        st = dopt_errinfo_set(info, st, -1, 0, "bal read: out of memory");
        goto done;
    }
    for (i = 0; i < p->num_observations; ++i) {
        for (k = 0; k < 4; ++k) {
            e = DOPT_FN(dopt__bal_next)(&c, k > 0, &v[k]);
            if (e == 1) {
                snprintf(msg, sizeof msg, "file ends after %ld of %ld observations", (long)i, (long)p->num_observations);
                DOPT__BAL_FAIL(msg);
            }
            if (e) {
                snprintf(msg, sizeof msg, "observation %ld: expected 'camera point x y' (%s)", (long)i,
                         e == 3 ? "missing field" : "non-numeric or non-finite field");
                DOPT__BAL_FAIL(msg);
            }
        }
        if (!DOPT_FN(dopt__bal_line_ends)(&c)) {
            snprintf(msg, sizeof msg, "observation %ld: extra fields after 'camera point x y'", (long)i);
            DOPT__BAL_FAIL(msg);
        }
        if (!DOPT_FN(dopt__bal_is_index)(v[0], (double)p->num_cameras)) {
            snprintf(msg, sizeof msg, "observation %ld: camera index %.17g not in 0 .. %ld", (long)i, v[0], (long)p->num_cameras - 1);
            DOPT__BAL_FAIL(msg);
        }
        if (!DOPT_FN(dopt__bal_is_index)(v[1], (double)p->num_points)) {
            snprintf(msg, sizeof msg, "observation %ld: point index %.17g not in 0 .. %ld", (long)i, v[1], (long)p->num_points - 1);
            DOPT__BAL_FAIL(msg);
        }
        p->obs_camera[i] = (int)v[0];
        p->obs_point[i] = (int)v[1];
        p->observed[2 * i] = (DOPT__L)v[2];
        p->observed[2 * i + 1] = (DOPT__L)v[3];
    }
    n = 9 * p->num_cameras + 3 * p->num_points;
    for (i = 0; i < n; ++i) {
        const int is_cam = i < 9 * p->num_cameras;
        const ptrdiff_t blk = is_cam ? i / 9 : (i - 9 * p->num_cameras) / 3;
        e = DOPT_FN(dopt__bal_next)(&c, 0, &v[0]);
        if (e) {
            snprintf(msg, sizeof msg, "%s %ld: %s", is_cam ? "camera" : "point", (long)blk,
                     e == 1 ? "file ends before all parameters were read" : "non-numeric or non-finite parameter");
            DOPT__BAL_FAIL(msg);
        }
        if (is_cam) p->cameras[i] = (DOPT__L)v[0];
        else p->points[i - 9 * p->num_cameras] = (DOPT__L)v[0];
    }
    if (DOPT_FN(dopt__bal_next)(&c, 0, &v[0]) != 1) DOPT__BAL_FAIL("extra data after the last point");
#undef DOPT__BAL_FAIL
    *out = p;
    p = NULL;
done:
    DOPT_FN(dopt_lie_bal_destroy)(p);
    dopt_free(hooks, text, (size_t)size + 1);
    return st;
}

DOPT_API dopt_status DOPT_FN(dopt_lie_bal_write)(const char *path, const DOPT_FN(dopt_lie_bal) *p,
                                                 dopt_errinfo *info)
{
    FILE *fp;
    ptrdiff_t i;
    int ok = 1, prec = DOPT_IS_FLOAT ? 9 : 17;
    if (!path || !p) return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "bal write: NULL argument");
    fp = dopt__fopen(path, "w");
    if (!fp) return dopt_errinfo_set(info, DOPT_ERR_IO, -1, 0, "bal write: cannot open file");
    ok &= fprintf(fp, "%ld %ld %ld\n", (long)p->num_cameras, (long)p->num_points, (long)p->num_observations) > 0;
    for (i = 0; i < p->num_observations && ok; ++i)
        ok &= fprintf(fp, "%d %d %.*g %.*g\n", p->obs_camera[i], p->obs_point[i], prec, (double)p->observed[2 * i],
                      prec, (double)p->observed[2 * i + 1]) > 0;
    for (i = 0; i < 9 * p->num_cameras && ok; ++i) ok &= fprintf(fp, "%.*g\n", prec, (double)p->cameras[i]) > 0;
    for (i = 0; i < 3 * p->num_points && ok; ++i) ok &= fprintf(fp, "%.*g\n", prec, (double)p->points[i]) > 0;
    if (fclose(fp) != 0) ok = 0;
    return ok ? DOPT_OK : dopt_errinfo_set(info, DOPT_ERR_IO, -1, 0, "bal write: write error");
}
#endif /* DOPT_NO_STDIO */

/* ---- the bundle adjuster ------------------------------------------------------------------------- */

/* options with the defaults filled in */
typedef struct DOPT_FN(dopt__ba_opts) {
    int max_it, jacobi, timing;
    double ftol, gtol, ptol, r0, rmax, rmin, mrd, dmin, dmax, a;
    dopt_loss_kind loss;
} DOPT_FN(dopt__ba_opts);

static dopt_status DOPT_FN(dopt__ba_resolve)(const dopt_lie_ba_options *in, DOPT_FN(dopt__ba_opts) *o)
{
    dopt_lie_ba_options z;
    memset(&z, 0, sizeof z);
    if (!in) in = &z;
    o->max_it = in->max_iterations ? in->max_iterations : 50;
    o->ftol = in->function_tolerance != 0 ? in->function_tolerance : 1e-6;
    o->gtol = in->gradient_tolerance != 0 ? in->gradient_tolerance : 1e-10;
    o->ptol = in->parameter_tolerance != 0 ? in->parameter_tolerance : 1e-8;
    o->r0 = in->initial_radius != 0 ? in->initial_radius : 1e4;
    o->rmax = in->max_radius != 0 ? in->max_radius : 1e16;
    o->rmin = in->min_radius != 0 ? in->min_radius : 1e-32;
    o->mrd = in->min_relative_decrease != 0 ? in->min_relative_decrease : 1e-3;
    o->dmin = in->min_lm_diagonal != 0 ? in->min_lm_diagonal : 1e-6;
    o->dmax = in->max_lm_diagonal != 0 ? in->max_lm_diagonal : 1e32;
    o->loss = in->loss;
    o->a = in->loss_scale != 0 ? in->loss_scale : 1;
    o->jacobi = in->jacobi_scaling == 0 || in->jacobi_scaling == 1 ? 1 : in->jacobi_scaling == DOPT_OFF ? 0 : -1;
    o->timing = in->timing;
    if (o->max_it < 0 || !(o->ftol == o->ftol && o->gtol == o->gtol && o->ptol == o->ptol) || !(o->r0 > 0) ||
        !(o->rmax >= o->r0) || !(o->rmin > 0 && o->rmin <= o->r0) || !(o->mrd >= 0 && o->mrd < 1) ||
        !(o->dmin > 0) || !(o->dmax >= o->dmin) || (int)o->loss < (int)DOPT_LOSS_NONE ||
        (int)o->loss > (int)DOPT_LOSS_SOFT_L1 || !(o->a > 0 && o->a < 1e300) || o->jacobi < 0 ||
        (o->timing != 0 && o->timing != 1))
        return DOPT_ERR_INVALID_ARGUMENT;
    return DOPT_OK;
}

#define DOPT__BA_MAX_ALLOCS 40
#define DOPT__BA_NONE ((size_t)-1)

struct DOPT_FN(dopt_lie_ba_solver) {
    dopt_hooks hooks;
    DOPT_FN(dopt_linear_solver) ls;
    ptrdiff_t nc, np, no, npairs;
    int ncf, max_k;
    int *cam, *pt;            /* copies of the observations' camera and point indices          */
    int *cam_free, *free_cam; /* camera -> free index (-1: fixed) and back                     */
    ptrdiff_t *pt_ptr;        /* observations of point j: pt_obs[pt_ptr[j] .. pt_ptr[j+1]-1]  */
    int *pt_obs;
    ptrdiff_t *pair_ptr;      /* point j's pairs (a <= b of its list), row by row              */
    size_t *pair_val;         /* offset of the pair's 9x9 block in S, or DOPT__BA_NONE        */
    int *block_dim, *block_start, *col_start, *row_block;
    size_t *value_start;
    dopt_block_pattern pat;
    /* numbers, in Jacobi-scaled variables */
    DOPT__L *Jc, *Jp, *res;   /* per observation: 2x9, 2x3 (row-major), 2: weighted            */
    DOPT__L *T;               /* per observation: T = W V⁻¹ (9x3 row-major), W = Jcᵀ Jp        */
    DOPT__L *W;               /* max_k W blocks of the point being eliminated                  */
    DOPT__L *R, *A;           /* per camera: rotation and R Jr                                 */
    DOPT__L *U, *gc, *sc, *xc; /* per camera: JcᵀJc (9x9), gradient, column scale, step       */
    DOPT__L *V, *Vi, *gp, *sp, *xp; /* per point: JpᵀJp, (damped) inverse, gradient, scale, step */
    DOPT__L *Sv, *rhs;        /* reduced camera matrix (pattern values), 3 right-hand sides    */
    DOPT__L *cam_new, *pt_new;
    void *allocs[DOPT__BA_MAX_ALLOCS];
    size_t alloc_bytes[DOPT__BA_MAX_ALLOCS];
    int nalloc;
};

static void *DOPT_FN(dopt__ba_take)(DOPT_FN(dopt_lie_ba_solver) *s, size_t bytes)
{
    void *q;
    if (s->nalloc >= DOPT__BA_MAX_ALLOCS) return NULL;
    q = dopt_alloc(&s->hooks, bytes);
    if (!q) return NULL;
    s->allocs[s->nalloc] = q;
    s->alloc_bytes[s->nalloc++] = bytes;
    return q;
}

DOPT_API void DOPT_FN(dopt_lie_ba_solver_destroy)(DOPT_FN(dopt_lie_ba_solver) *s)
{
    dopt_hooks h;
    int k;
    if (!s) return;
    h = s->hooks;
    if (s->ls.destroy) s->ls.destroy(s->ls.self);
    for (k = 0; k < s->nalloc; ++k) dopt_free(&h, s->allocs[k], s->alloc_bytes[k]);
    dopt_free(&h, s, sizeof *s);
}

/* The block pattern of the reduced camera matrix: block column f holds the free cameras >= f
 * that share a point with camera f.  Two passes over cameras -> points -> cameras (count, then
 * fill); mark[] keeps each row once per column. */
static dopt_status DOPT_FN(dopt__ba_pattern)(DOPT_FN(dopt_lie_ba_solver) *s, const ptrdiff_t *cam_ptr,
                                             const int *cam_obs, int *mark)
{
    int pass, f, k;
    size_t nb = 0;
    for (pass = 0; pass < 2; ++pass) {
        nb = 0;
        for (f = 0; f < s->ncf; ++f) mark[f] = -1;
        for (f = 0; f < s->ncf; ++f) {
            const int c = s->free_cam[f];
            const size_t first = nb;
            ptrdiff_t q, u;
            if (pass) s->col_start[f] = (int)nb;
            mark[f] = f; /* the diagonal block, also for a camera that sees no point */
            if (pass) s->row_block[nb] = f;
            ++nb;
            for (q = cam_ptr[c]; q < cam_ptr[c + 1]; ++q) {
                const int j = s->pt[cam_obs[q]];
                for (u = s->pt_ptr[j]; u < s->pt_ptr[j + 1]; ++u) {
                    const int g = s->cam_free[s->cam[s->pt_obs[u]]];
                    if (g < f || mark[g] == f) continue;
                    mark[g] = f;
                    if (pass) s->row_block[nb] = g;
                    ++nb;
                }
            }
            if (pass) { /* rows ascending (insertion sort: columns are short), diagonal first */
                size_t a, b;
                for (a = first + 1; a < nb; ++a) {
                    const int v = s->row_block[a];
                    for (b = a; b > first && s->row_block[b - 1] > v; --b) s->row_block[b] = s->row_block[b - 1];
                    s->row_block[b] = v;
                }
            }
        }
        if (nb > (size_t)DOPT__BA_IMAX) return DOPT_ERR_ALLOCATION;
        if (!pass) {
            s->col_start = (int *)DOPT_FN(dopt__ba_take)(s, ((size_t)s->ncf + 1) * sizeof(int));
            s->row_block = (int *)DOPT_FN(dopt__ba_take)(s, nb * sizeof(int));
            s->value_start = (size_t *)DOPT_FN(dopt__ba_take)(s, nb * sizeof(size_t));
            if (!s->col_start || !s->row_block || !s->value_start) return DOPT_ERR_ALLOCATION;
        }
    }
    s->col_start[s->ncf] = (int)nb;
    for (k = 0; k < (int)nb; ++k) s->value_start[k] = 81 * (size_t)k;
    for (f = 0; f < s->ncf; ++f) {
        s->block_dim[f] = 9;
        s->block_start[f] = 9 * f;
    }
    s->block_start[s->ncf] = 9 * s->ncf;
    s->pat.nblocks = s->ncf;
    s->pat.n = 9 * s->ncf;
    s->pat.block_dim = s->block_dim;
    s->pat.block_start = s->block_start;
    s->pat.col_start = s->col_start;
    s->pat.row_block = s->row_block;
    s->pat.value_start = s->value_start;
    s->pat.nvalues = 81 * nb;
    return DOPT_OK;
}

/* offset of block (row g, column f), g >= f, in S */
static size_t DOPT_FN(dopt__ba_block)(const DOPT_FN(dopt_lie_ba_solver) *s, int g, int f)
{
    int lo = s->col_start[f], hi = s->col_start[f + 1] - 1;
    while (lo < hi) {
        const int mid = (lo + hi) / 2;
        if (s->row_block[mid] < g) lo = mid + 1;
        else hi = mid;
    }
    DOPT_ASSERT(s->row_block[lo] == g);
    return s->value_start[lo];
}

DOPT_API dopt_status DOPT_FN(dopt_lie_ba_solver_create)(const dopt_hooks *hooks, const DOPT_FN(dopt_lie_bal) *p,
                                                        const unsigned char *camera_fixed,
                                                        const DOPT_FN(dopt_linear_solver) *linear,
                                                        DOPT_FN(dopt_lie_ba_solver) **out, dopt_errinfo *info)
{
    DOPT_FN(dopt_lie_ba_solver) *s;
    ptrdiff_t i, j, *cam_ptr = NULL, nc, np, no, q;
    int *cam_obs = NULL, *mark = NULL;
    size_t r = sizeof(DOPT__L), tmp_bytes = 0;
    dopt_status st;
    const char *why = "ba solver: out of memory";
    if (out) *out = NULL;
    if (!p || !out) {
        if (linear && linear->destroy) linear->destroy(linear->self);
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "ba solver: NULL argument");
    }
    s = (DOPT_FN(dopt_lie_ba_solver) *)dopt_alloc(hooks, sizeof *s);
    if (!s) {
        if (linear && linear->destroy) linear->destroy(linear->self);
        return dopt_errinfo_set(info, DOPT_ERR_ALLOCATION, -1, 0, why);
    }
    memset(s, 0, sizeof *s);
    if (hooks) s->hooks = *hooks;
    if (linear) s->ls = *linear;
    else if ((st = DOPT_FN(dopt_linear_solver_dense)(hooks, &s->ls)) != DOPT_OK) goto fail;
    st = DOPT_ERR_INVALID_ARGUMENT;
    if (!s->ls.analyze || !s->ls.factor || !s->ls.solve) { why = "ba solver: incomplete linear solver"; goto fail; }
    nc = s->nc = p->num_cameras; np = s->np = p->num_points; no = s->no = p->num_observations;
    if (nc < 1 || np < 0 || no < 0 || nc > DOPT__BA_IMAX || np > DOPT__BA_IMAX || no > DOPT__BA_IMAX ||
        (no > 0 && (!p->obs_camera || !p->obs_point))) { why = "ba solver: bad problem counts"; goto fail; }
    for (i = 0; i < no; ++i)
        if (p->obs_camera[i] < 0 || p->obs_camera[i] >= nc || p->obs_point[i] < 0 || p->obs_point[i] >= np) {
            why = "ba solver: observation index out of range";
            st = dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, (long)i, 0, why);
            DOPT_FN(dopt_lie_ba_solver_destroy)(s);
            return st;
        }
    st = DOPT_ERR_ALLOCATION;
    s->cam = (int *)DOPT_FN(dopt__ba_take)(s, (size_t)no * sizeof(int));
    s->pt = (int *)DOPT_FN(dopt__ba_take)(s, (size_t)no * sizeof(int));
    s->cam_free = (int *)DOPT_FN(dopt__ba_take)(s, (size_t)nc * sizeof(int));
    s->free_cam = (int *)DOPT_FN(dopt__ba_take)(s, (size_t)nc * sizeof(int));
    s->pt_ptr = (ptrdiff_t *)DOPT_FN(dopt__ba_take)(s, ((size_t)np + 1) * sizeof(ptrdiff_t));
    s->pt_obs = (int *)DOPT_FN(dopt__ba_take)(s, (size_t)no * sizeof(int));
    s->pair_ptr = (ptrdiff_t *)DOPT_FN(dopt__ba_take)(s, ((size_t)np + 1) * sizeof(ptrdiff_t));
    s->block_dim = (int *)DOPT_FN(dopt__ba_take)(s, (size_t)nc * sizeof(int));
    s->block_start = (int *)DOPT_FN(dopt__ba_take)(s, ((size_t)nc + 1) * sizeof(int));
    if (!s->cam || !s->pt || !s->cam_free || !s->free_cam || !s->pt_ptr || !s->pt_obs || !s->pair_ptr ||
        !s->block_dim || !s->block_start)
        goto fail;
    memcpy(s->cam, p->obs_camera, (size_t)no * sizeof(int));
    memcpy(s->pt, p->obs_point, (size_t)no * sizeof(int));
    for (j = 0; j < nc; ++j) {
        if (camera_fixed && camera_fixed[j]) { s->cam_free[j] = -1; continue; }
        s->free_cam[s->ncf] = (int)j;
        s->cam_free[j] = s->ncf++;
    }
    if (s->ncf == 0) { st = DOPT_ERR_INVALID_ARGUMENT; why = "ba solver: every camera is fixed"; goto fail; }
    /* observations by point (counting sort keeps each point's observations in file order) */
    for (j = 0; j <= np; ++j) s->pt_ptr[j] = 0;
    for (i = 0; i < no; ++i) s->pt_ptr[s->pt[i] + 1]++;
    for (j = 0; j < np; ++j) {
        const ptrdiff_t k = s->pt_ptr[j + 1];
        if (k > s->max_k) s->max_k = (int)k;
        s->pt_ptr[j + 1] += s->pt_ptr[j];
    }
    {
        ptrdiff_t *fill = s->pair_ptr; /* borrowed as a cursor, rewritten below */
        for (j = 0; j < np; ++j) fill[j] = s->pt_ptr[j];
        for (i = 0; i < no; ++i) s->pt_obs[fill[s->pt[i]]++] = (int)i;
    }
    s->pair_ptr[0] = 0;
    for (j = 0; j < np; ++j) {
        const ptrdiff_t k = s->pt_ptr[j + 1] - s->pt_ptr[j];
        s->pair_ptr[j + 1] = s->pair_ptr[j] + k * (k + 1) / 2;
    }
    s->npairs = s->pair_ptr[np];
    /* observations by camera (temporary), for the pattern */
    tmp_bytes = ((size_t)nc + 1) * sizeof(ptrdiff_t);
    cam_ptr = (ptrdiff_t *)dopt_alloc(hooks, tmp_bytes);
    cam_obs = (int *)dopt_alloc(hooks, (size_t)no * sizeof(int));
    mark = (int *)dopt_alloc(hooks, (size_t)nc * sizeof(int));
    if (!cam_ptr || !cam_obs || !mark) goto fail;
    for (j = 0; j <= nc; ++j) cam_ptr[j] = 0;
    for (i = 0; i < no; ++i) cam_ptr[s->cam[i] + 1]++;
    for (j = 0; j < nc; ++j) cam_ptr[j + 1] += cam_ptr[j];
    for (j = 0; j < nc; ++j) mark[j] = (int)cam_ptr[j];
    for (i = 0; i < no; ++i) cam_obs[mark[s->cam[i]]++] = (int)i;
    if ((st = DOPT_FN(dopt__ba_pattern)(s, cam_ptr, cam_obs, mark)) != DOPT_OK) goto fail;
    s->pair_val = (size_t *)DOPT_FN(dopt__ba_take)(s, (size_t)s->npairs * sizeof(size_t));
    if (!s->pair_val) goto fail;
    for (j = 0, q = 0; j < np; ++j) {
        ptrdiff_t a, b;
        for (a = s->pt_ptr[j]; a < s->pt_ptr[j + 1]; ++a)
            for (b = a; b < s->pt_ptr[j + 1]; ++b, ++q) {
                const int fa = s->cam_free[s->cam[s->pt_obs[a]]], fb = s->cam_free[s->cam[s->pt_obs[b]]];
                s->pair_val[q] = fa < 0 || fb < 0 ? DOPT__BA_NONE
                                 : fa >= fb ? DOPT_FN(dopt__ba_block)(s, fa, fb) : DOPT_FN(dopt__ba_block)(s, fb, fa);
            }
    }
    s->Jc = (DOPT__L *)DOPT_FN(dopt__ba_take)(s, 18 * (size_t)no * r);
    s->Jp = (DOPT__L *)DOPT_FN(dopt__ba_take)(s, 6 * (size_t)no * r);
    s->res = (DOPT__L *)DOPT_FN(dopt__ba_take)(s, 2 * (size_t)no * r);
    s->T = (DOPT__L *)DOPT_FN(dopt__ba_take)(s, 27 * (size_t)no * r);
    s->W = (DOPT__L *)DOPT_FN(dopt__ba_take)(s, 27 * (size_t)s->max_k * r);
    s->R = (DOPT__L *)DOPT_FN(dopt__ba_take)(s, 9 * (size_t)nc * r);
    s->A = (DOPT__L *)DOPT_FN(dopt__ba_take)(s, 9 * (size_t)nc * r);
    s->U = (DOPT__L *)DOPT_FN(dopt__ba_take)(s, 81 * (size_t)nc * r);
    s->gc = (DOPT__L *)DOPT_FN(dopt__ba_take)(s, 9 * (size_t)nc * r);
    s->sc = (DOPT__L *)DOPT_FN(dopt__ba_take)(s, 9 * (size_t)nc * r);
    s->xc = (DOPT__L *)DOPT_FN(dopt__ba_take)(s, 9 * (size_t)nc * r);
    s->V = (DOPT__L *)DOPT_FN(dopt__ba_take)(s, 9 * (size_t)np * r);
    s->Vi = (DOPT__L *)DOPT_FN(dopt__ba_take)(s, 9 * (size_t)np * r);
    s->gp = (DOPT__L *)DOPT_FN(dopt__ba_take)(s, 3 * (size_t)np * r);
    s->sp = (DOPT__L *)DOPT_FN(dopt__ba_take)(s, 3 * (size_t)np * r);
    s->xp = (DOPT__L *)DOPT_FN(dopt__ba_take)(s, 3 * (size_t)np * r);
    s->Sv = (DOPT__L *)DOPT_FN(dopt__ba_take)(s, s->pat.nvalues * r);
    s->rhs = (DOPT__L *)DOPT_FN(dopt__ba_take)(s, 27 * (size_t)s->ncf * r);
    s->cam_new = (DOPT__L *)DOPT_FN(dopt__ba_take)(s, 9 * (size_t)nc * r);
    s->pt_new = (DOPT__L *)DOPT_FN(dopt__ba_take)(s, 3 * (size_t)np * r);
    if (!s->Jc || !s->Jp || !s->res || !s->T || !s->W || !s->R || !s->A || !s->U || !s->gc || !s->sc || !s->xc ||
        !s->V || !s->Vi || !s->gp || !s->sp || !s->xp || !s->Sv || !s->rhs || !s->cam_new || !s->pt_new)
        goto fail;
    dopt_free(hooks, cam_ptr, tmp_bytes);
    dopt_free(hooks, cam_obs, (size_t)no * sizeof(int));
    dopt_free(hooks, mark, (size_t)nc * sizeof(int));
    cam_ptr = NULL; cam_obs = NULL; mark = NULL;
    st = s->ls.analyze(s->ls.self, &s->pat, info);
    if (st != DOPT_OK) {
        DOPT_FN(dopt_lie_ba_solver_destroy)(s);
        return st;
    }
    *out = s;
    return DOPT_OK;
fail:
    if (cam_ptr) dopt_free(hooks, cam_ptr, tmp_bytes);
    if (cam_obs) dopt_free(hooks, cam_obs, (size_t)no * sizeof(int));
    if (mark) dopt_free(hooks, mark, (size_t)nc * sizeof(int));
    DOPT_FN(dopt_lie_ba_solver_destroy)(s);
    return dopt_errinfo_set(info, st, -1, 0, why);
}

/* Residuals at cameras C, points X; with jac also the robust-weighted (IRLS: sqrt(rho')) residuals
 * and Jacobians of every observation.  *cost = 1/2 sum rho.  A non-finite residual:
 * DOPT_ERR_NON_FINITE with *bad = the observation. */
static dopt_status DOPT_FN(dopt__ba_linearize)(DOPT_FN(dopt_lie_ba_solver) *s, const DOPT__L *obs,
                                               const DOPT_FN(dopt__ba_opts) *o, const DOPT__L *C,
                                               const DOPT__L *X, int jac, double *cost, ptrdiff_t *bad)
{
    ptrdiff_t c, i;
    double sum = 0;
    for (c = 0; c < s->nc; ++c) DOPT_FN(dopt__ba_camera_prep)(C + 9 * c, s->R + 9 * c, jac ? s->A + 9 * c : NULL);
    for (i = 0; i < s->no; ++i) {
        const int cm = s->cam[i];
        DOPT__L r[2], q, *Jc = jac ? s->Jc + 18 * i : NULL, *Jp = s->Jp + 6 * i;
        DOPT_FN(dopt__ba_project)(C + 9 * cm, s->R + 9 * cm, s->A + 9 * cm, X + 3 * (size_t)s->pt[i], obs + 2 * i, r,
                                  Jc, Jp);
        q = r[0] * r[0] + r[1] * r[1];
        if (!(q == q && q - q == 0)) {
            *bad = i;
            return DOPT_ERR_NON_FINITE;
        }
        if (o->loss != DOPT_LOSS_NONE) {
            DOPT__L rho[3];
            DOPT_FN(dopt_nlls_loss_eval)(o->loss, (DOPT__L)o->a, q, rho);
            sum += 0.5 * (double)rho[0];
            if (jac) {
                const DOPT__L w = rho[1] > 0 ? DOPT_M(sqrt)(rho[1]) : 0;
                int k;
                r[0] *= w; r[1] *= w;
                for (k = 0; k < 18; ++k) Jc[k] *= w;
                for (k = 0; k < 6; ++k) Jp[k] *= w;
            }
        } else {
            sum += 0.5 * (double)q;
        }
        if (jac) {
            s->res[2 * i] = r[0];
            s->res[2 * i + 1] = r[1];
        }
    }
    *cost = sum;
    return DOPT_OK;
}

/* Jacobi scaling (Ceres): column scale 1 / (1 + ||column of J||), or 1 when off. */
static void DOPT_FN(dopt__ba_scaling)(DOPT_FN(dopt_lie_ba_solver) *s, int jacobi)
{
    ptrdiff_t i;
    int k;
    for (i = 0; i < 9 * s->nc; ++i) s->sc[i] = 0;
    for (i = 0; i < 3 * s->np; ++i) s->sp[i] = 0;
    if (jacobi) {
        for (i = 0; i < s->no; ++i) {
            DOPT__L *c = s->sc + 9 * (size_t)s->cam[i], *x = s->sp + 3 * (size_t)s->pt[i];
            const DOPT__L *Jc = s->Jc + 18 * i, *Jp = s->Jp + 6 * i;
            for (k = 0; k < 9; ++k) c[k] += Jc[k] * Jc[k] + Jc[9 + k] * Jc[9 + k];
            for (k = 0; k < 3; ++k) x[k] += Jp[k] * Jp[k] + Jp[3 + k] * Jp[3 + k];
        }
    }
    for (i = 0; i < 9 * s->nc; ++i) s->sc[i] = DOPT__C(1) / (DOPT__C(1) + DOPT_M(sqrt)(s->sc[i]));
    for (i = 0; i < 3 * s->np; ++i) s->sp[i] = DOPT__C(1) / (DOPT__C(1) + DOPT_M(sqrt)(s->sp[i]));
}

/* Scale the Jacobians' columns, then the normal blocks U_c = JcᵀJc, V_j = JpᵀJp and the gradient
 * (all in scaled variables).  Returns max |g| of the UNSCALED gradient over the free variables. */
static double DOPT_FN(dopt__ba_normal)(DOPT_FN(dopt_lie_ba_solver) *s)
{
    ptrdiff_t i;
    int a, b;
    double gmax = 0;
    memset(s->U, 0, 81 * (size_t)s->nc * sizeof(DOPT__L));
    memset(s->gc, 0, 9 * (size_t)s->nc * sizeof(DOPT__L));
    memset(s->V, 0, 9 * (size_t)s->np * sizeof(DOPT__L));
    memset(s->gp, 0, 3 * (size_t)s->np * sizeof(DOPT__L));
    for (i = 0; i < s->no; ++i) {
        const int c = s->cam[i], j = s->pt[i];
        DOPT__L *DOPT_RESTRICT Jc = s->Jc + 18 * i, *DOPT_RESTRICT Jp = s->Jp + 6 * i;
        const DOPT__L *DOPT_RESTRICT sc = s->sc + 9 * (size_t)c, *DOPT_RESTRICT sp = s->sp + 3 * (size_t)j;
        const DOPT__L r0 = s->res[2 * i], r1 = s->res[2 * i + 1];
        DOPT__L *DOPT_RESTRICT V = s->V + 9 * (size_t)j, *DOPT_RESTRICT gp = s->gp + 3 * (size_t)j;
        for (a = 0; a < 9; ++a) { Jc[a] *= sc[a]; Jc[9 + a] *= sc[a]; }
        for (a = 0; a < 3; ++a) { Jp[a] *= sp[a]; Jp[3 + a] *= sp[a]; }
        if (s->cam_free[c] >= 0) {
            DOPT__L *DOPT_RESTRICT U = s->U + 81 * (size_t)c, *DOPT_RESTRICT gc = s->gc + 9 * (size_t)c;
            for (a = 0; a < 9; ++a) {
                for (b = 0; b < 9; ++b) U[9 * a + b] += Jc[a] * Jc[b] + Jc[9 + a] * Jc[9 + b];
                gc[a] += Jc[a] * r0 + Jc[9 + a] * r1;
            }
        }
        for (a = 0; a < 3; ++a) {
            for (b = 0; b < 3; ++b) V[3 * a + b] += Jp[a] * Jp[b] + Jp[3 + a] * Jp[3 + b];
            gp[a] += Jp[a] * r0 + Jp[3 + a] * r1;
        }
    }
    for (i = 0; i < 9 * s->nc; ++i)
        if (s->cam_free[i / 9] >= 0) {
            const double g = DOPT_M(fabs)(s->gc[i] / s->sc[i]);
            if (g > gmax || g != g) gmax = g;
        }
    for (i = 0; i < 3 * s->np; ++i)
        if (s->pt_ptr[i / 3 + 1] > s->pt_ptr[i / 3]) {
            const double g = DOPT_M(fabs)(s->gp[i] / s->sp[i]);
            if (g > gmax || g != g) gmax = g;
        }
    return gmax;
}

/* Ai = A⁻¹ of a symmetric positive definite 3x3 by Cholesky; 0 when a pivot is not positive or
 * below the rank threshold of the linear solvers (relative to its diagonal entry). */
static int DOPT_FN(dopt__ba_inv3)(const DOPT__L *A, DOPT__L *Ai)
{
    const DOPT__L tol = (DOPT_IS_FLOAT ? 30 : 3000) * DOPT_EPS;
    DOPT__L l00, l10, l20, l11, l21, l22, d, m00, m11, m22, m10, m21, m20;
    if (!(A[0] > 0)) return 0;
    l00 = DOPT_M(sqrt)(A[0]);
    l10 = A[1] / l00;
    l20 = A[2] / l00;
    d = A[4] - l10 * l10;
    if (!(d > tol * A[4])) return 0;
    l11 = DOPT_M(sqrt)(d);
    l21 = (A[5] - l20 * l10) / l11;
    d = A[8] - l20 * l20 - l21 * l21;
    if (!(d > tol * A[8])) return 0;
    l22 = DOPT_M(sqrt)(d);
    m00 = 1 / l00; m11 = 1 / l11; m22 = 1 / l22;
    m10 = -l10 * m00 * m11;
    m21 = -l21 * m11 * m22;
    m20 = -(l20 * m00 + l21 * m10) * m22;
    /* A⁻¹ = Mᵀ M, M = L⁻¹ lower */
    Ai[0] = m00 * m00 + m10 * m10 + m20 * m20;
    Ai[1] = Ai[3] = m10 * m11 + m20 * m21;
    Ai[2] = Ai[6] = m20 * m22;
    Ai[4] = m11 * m11 + m21 * m21;
    Ai[5] = Ai[7] = m21 * m22;
    Ai[8] = m22 * m22;
    return 1;
}

/* blk (9x9 column-major) -= T Wᵀ, T and W 9x3 row-major */
DOPT__LIE_INLINE void DOPT_FN(dopt__ba_sub_tw)(DOPT__L *DOPT_RESTRICT blk, const DOPT__L *DOPT_RESTRICT T,
                                               const DOPT__L *DOPT_RESTRICT W)
{
    int r, c;
    for (c = 0; c < 9; ++c) {
        const DOPT__L w0 = W[3 * c], w1 = W[3 * c + 1], w2 = W[3 * c + 2];
        DOPT__L *DOPT_RESTRICT col = blk + 9 * c;
        for (r = 0; r < 9; ++r) col[r] -= T[3 * r] * w0 + T[3 * r + 1] * w1 + T[3 * r + 2] * w2;
    }
}

/* The reduced camera system for damping mu (0: none): diagonal D = clamp(diag) * mu added to U
 * and V, every point eliminated (V_j⁻¹, T_i = W_i V_j⁻¹, S -= T_i W_kᵀ, rhs = -g_c + T_i g_j),
 * S factored.  Failure: DOPT_ERR_NOT_POSITIVE_DEFINITE (or NON_FINITE) with *fail_cam or
 * *fail_pt set. */
static dopt_status DOPT_FN(dopt__ba_eliminate)(DOPT_FN(dopt_lie_ba_solver) *s, const DOPT_FN(dopt__ba_opts) *o,
                                               double mu, long *fail_cam, long *fail_pt)
{
    ptrdiff_t j, i;
    int f, k, col = -1;
    dopt_status st;
    const DOPT__L dmin = (DOPT__L)o->dmin, dmax = (DOPT__L)o->dmax, m = (DOPT__L)mu;
    *fail_cam = *fail_pt = -1;
    memset(s->Sv, 0, s->pat.nvalues * sizeof(DOPT__L));
    for (f = 0; f < s->ncf; ++f) {
        const int c = s->free_cam[f];
        DOPT__L *D = s->Sv + s->value_start[s->col_start[f]];
        memcpy(D, s->U + 81 * (size_t)c, 81 * sizeof(DOPT__L));
        if (mu > 0)
            for (k = 0; k < 9; ++k) {
                DOPT__L d = D[10 * k];
                d = d < dmin ? dmin : d > dmax ? dmax : d;
                D[10 * k] += d * m;
            }
        for (k = 0; k < 9; ++k) s->rhs[9 * f + k] = -s->gc[9 * (size_t)c + k];
    }
    for (j = 0; j < s->np; ++j) {
        const ptrdiff_t p0 = s->pt_ptr[j], kk = s->pt_ptr[j + 1] - p0;
        const DOPT__L *gp = s->gp + 3 * j;
        DOPT__L Vd[9], *Vi = s->Vi + 9 * j;
        const size_t *pv = s->pair_val + s->pair_ptr[j];
        ptrdiff_t a, b;
        if (kk == 0) continue;
        memcpy(Vd, s->V + 9 * j, sizeof Vd);
        if (mu > 0)
            for (k = 0; k < 3; ++k) {
                DOPT__L d = Vd[4 * k];
                d = d < dmin ? dmin : d > dmax ? dmax : d;
                Vd[4 * k] += d * m;
            }
        if (!DOPT_FN(dopt__ba_inv3)(Vd, Vi)) {
            *fail_pt = (long)j;
            return DOPT_ERR_NOT_POSITIVE_DEFINITE;
        }
        for (a = 0; a < kk; ++a) {
            const int ob = s->pt_obs[p0 + a], fa = s->cam_free[s->cam[ob]];
            const DOPT__L *Jc = s->Jc + 18 * (size_t)ob, *Jp = s->Jp + 6 * (size_t)ob;
            DOPT__L *DOPT_RESTRICT Wa = s->W + 27 * a, *DOPT_RESTRICT Ta = s->T + 27 * (size_t)ob;
            int r;
            if (fa < 0) continue;
            for (r = 0; r < 9; ++r) {
                for (k = 0; k < 3; ++k) Wa[3 * r + k] = Jc[r] * Jp[k] + Jc[9 + r] * Jp[3 + k];
                for (k = 0; k < 3; ++k)
                    Ta[3 * r + k] = Wa[3 * r] * Vi[k] + Wa[3 * r + 1] * Vi[3 + k] + Wa[3 * r + 2] * Vi[6 + k];
                s->rhs[9 * fa + r] += Ta[3 * r] * gp[0] + Ta[3 * r + 1] * gp[1] + Ta[3 * r + 2] * gp[2];
            }
        }
        for (a = 0; a < kk; ++a) {
            const int oa = s->pt_obs[p0 + a], fa = s->cam_free[s->cam[oa]];
            for (b = a; b < kk; ++b, ++pv) {
                const int ob = s->pt_obs[p0 + b], fb = s->cam_free[s->cam[ob]];
                DOPT__L *blk;
                if (*pv == DOPT__BA_NONE) continue;
                blk = s->Sv + *pv;
                if (a == b || fa > fb) {
                    DOPT_FN(dopt__ba_sub_tw)(blk, s->T + 27 * (size_t)oa, s->W + 27 * b);
                } else if (fa < fb) {
                    DOPT_FN(dopt__ba_sub_tw)(blk, s->T + 27 * (size_t)ob, s->W + 27 * a);
                } else { /* one camera observes the point twice: both halves of the symmetric sum */
                    DOPT_FN(dopt__ba_sub_tw)(blk, s->T + 27 * (size_t)oa, s->W + 27 * b);
                    DOPT_FN(dopt__ba_sub_tw)(blk, s->T + 27 * (size_t)ob, s->W + 27 * a);
                }
            }
        }
    }
    (void)i;
    st = s->ls.factor(s->ls.self, s->Sv, NULL, &col);
    if (st != DOPT_OK) {
        *fail_cam = col >= 0 && col < 9 * s->ncf ? (long)s->free_cam[col / 9] : -1;
        return st;
    }
    return DOPT_OK;
}

/* Back-substitution y_j = V_j⁻¹ (sgn b_j) - sum_i T_iᵀ x_{c_i} for every observed point, with
 * x the reduced system's solution (free-camera numbering). */
static void DOPT_FN(dopt__ba_backsub)(DOPT_FN(dopt_lie_ba_solver) *s, const DOPT__L *x, const DOPT__L *bp,
                                      DOPT__L sgn, DOPT__L *y)
{
    ptrdiff_t j, q;
    for (j = 0; j < s->np; ++j) {
        const DOPT__L *Vi = s->Vi + 9 * j, *b = bp + 3 * j;
        DOPT__L t[3];
        int k, r;
        if (s->pt_ptr[j + 1] == s->pt_ptr[j]) {
            y[3 * j] = y[3 * j + 1] = y[3 * j + 2] = 0;
            continue;
        }
        for (k = 0; k < 3; ++k) t[k] = sgn * (Vi[3 * k] * b[0] + Vi[3 * k + 1] * b[1] + Vi[3 * k + 2] * b[2]);
        for (q = s->pt_ptr[j]; q < s->pt_ptr[j + 1]; ++q) {
            const int ob = s->pt_obs[q], f = s->cam_free[s->cam[ob]];
            const DOPT__L *T = s->T + 27 * (size_t)ob, *xc = x + 9 * (size_t)f;
            if (f < 0) continue;
            for (r = 0; r < 9; ++r)
                for (k = 0; k < 3; ++k) t[k] -= T[3 * r + k] * xc[r];
        }
        for (k = 0; k < 3; ++k) y[3 * j + k] = t[k];
    }
}

static double DOPT_FN(dopt__ba_clock)(void) { return (double)clock() / (double)CLOCKS_PER_SEC; }

static dopt_status DOPT_FN(dopt__ba_check)(const DOPT_FN(dopt_lie_ba_solver) *s, const DOPT_FN(dopt_lie_bal) *p,
                                           dopt_errinfo *info)
{
    if (!s || !p) return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "ba: NULL argument");
    if (p->num_cameras != s->nc || p->num_points != s->np || p->num_observations != s->no ||
        !p->cameras || (s->np > 0 && !p->points) || (s->no > 0 && !p->observed))
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "ba: problem differs from the solver's structure");
    return DOPT_OK;
}

/* Solve the reduced system in place (rhs, free-camera numbering), timed into *t when t. */
static dopt_status DOPT_FN(dopt__ba_rsolve)(DOPT_FN(dopt_lie_ba_solver) *s, DOPT__L *rhs)
{
    return s->ls.solve(s->ls.self, rhs);
}

/* The LM step for damping mu: x (scaled camera step, in s->rhs), y (scaled point step, s->xp),
 * and Ceres' model decrease -(gᵀd + 1/2 ||J d||²) in *model. */
static dopt_status DOPT_FN(dopt__ba_step)(DOPT_FN(dopt_lie_ba_solver) *s, const DOPT_FN(dopt__ba_opts) *o, double mu,
                                          double *model, long *fail_cam, long *fail_pt, double *t_factor)
{
    ptrdiff_t i;
    double gd = 0, jd = 0, t0;
    int k;
    dopt_status st = DOPT_FN(dopt__ba_eliminate)(s, o, mu, fail_cam, fail_pt);
    if (st != DOPT_OK) return st;
    t0 = t_factor ? DOPT_FN(dopt__ba_clock)() : 0;
    st = DOPT_FN(dopt__ba_rsolve)(s, s->rhs);
    if (t_factor) *t_factor += DOPT_FN(dopt__ba_clock)() - t0;
    if (st != DOPT_OK) return st;
    DOPT_FN(dopt__ba_backsub)(s, s->rhs, s->gp, DOPT__C(-1), s->xp);
    for (i = 0; i < s->ncf; ++i) {
        const DOPT__L *g = s->gc + 9 * (size_t)s->free_cam[i], *x = s->rhs + 9 * i;
        for (k = 0; k < 9; ++k) gd += (double)g[k] * (double)x[k];
    }
    for (i = 0; i < 3 * s->np; ++i) gd += (double)s->gp[i] * (double)s->xp[i];
    for (i = 0; i < s->no; ++i) {
        const int f = s->cam_free[s->cam[i]];
        const DOPT__L *Jc = s->Jc + 18 * i, *Jp = s->Jp + 6 * i, *y = s->xp + 3 * (size_t)s->pt[i];
        DOPT__L e0 = Jp[0] * y[0] + Jp[1] * y[1] + Jp[2] * y[2], e1 = Jp[3] * y[0] + Jp[4] * y[1] + Jp[5] * y[2];
        if (f >= 0) {
            const DOPT__L *x = s->rhs + 9 * (size_t)f;
            for (k = 0; k < 9; ++k) { e0 += Jc[k] * x[k]; e1 += Jc[9 + k] * x[k]; }
        }
        jd += (double)e0 * e0 + (double)e1 * e1;
    }
    *model = -(gd + 0.5 * jd);
    return DOPT_OK;
}

static void DOPT_FN(dopt__ba_log_line)(const dopt_hooks *h, int it, double cost, double change, double g, double step,
                                       double ratio, double radius, double t_it, double t_all)
{
    dopt_log(h, DOPT_LOG_INFO, "%4d % 14.6e % 11.2e % 11.2e % 10.2e % 10.2e % 10.2e %7d % 10.2e % 10.2e", it, cost,
             change, g, step, ratio, radius, 0, t_it, t_all);
}

DOPT_API dopt_status DOPT_FN(dopt_lie_ba_solve)(DOPT_FN(dopt_lie_ba_solver) *s, DOPT_FN(dopt_lie_bal) *p,
                                                const dopt_lie_ba_options *opts, dopt_lie_ba_report *report,
                                                dopt_errinfo *info)
{
    DOPT_FN(dopt__ba_opts) o;
    dopt_lie_ba_report rep;
    dopt_status st;
    ptrdiff_t bad = -1, i;
    double cost, gnorm, radius, decrease = 2, t_start = 0, t_it = 0, t_lin = 0, t_fac = 0, t0;
    int invalid = 0, logging, clocking, k;
    memset(&rep, 0, sizeof rep);
    rep.fail_camera = rep.fail_point = -1;
    if (report) *report = rep;
    if ((st = DOPT_FN(dopt__ba_check)(s, p, info)) != DOPT_OK) return st;
    if (DOPT_FN(dopt__ba_resolve)(opts, &o) != DOPT_OK)
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "ba solve: bad options");
    logging = dopt_log_enabled(&s->hooks, DOPT_LOG_INFO);
    clocking = logging || o.timing;
    if (clocking) t_start = t_it = DOPT_FN(dopt__ba_clock)();
    st = DOPT_FN(dopt__ba_linearize)(s, p->observed, &o, p->cameras, p->points, 1, &cost, &bad);
    if (st != DOPT_OK) {
        rep.status = st;
        rep.stop = DOPT_STOP_FAILED;
        if (report) *report = rep;
        return dopt_errinfo_set(info, st, (long)bad, 0, "ba solve: residual not finite at the initial values");
    }
    DOPT_FN(dopt__ba_scaling)(s, o.jacobi);
    gnorm = DOPT_FN(dopt__ba_normal)(s);
    if (clocking) t_lin += DOPT_FN(dopt__ba_clock)() - t_start;
    rep.initial_cost = rep.final_cost = cost;
    rep.gradient_norm = gnorm;
    radius = o.r0;
    if (logging) {
        dopt_log(&s->hooks, DOPT_LOG_INFO, "iter      cost      cost_change  |gradient|   |step|    tr_ratio  tr_radius  ls_iter  iter_time  total_time");
        DOPT_FN(dopt__ba_log_line)(&s->hooks, 0, cost, 0, gnorm, 0, 0, radius, DOPT_FN(dopt__ba_clock)() - t_start,
                                   DOPT_FN(dopt__ba_clock)() - t_start);
    }
    if (o.gtol >= 0 && gnorm <= o.gtol) rep.stop = DOPT_STOP_GRADIENT;
    while (rep.stop == DOPT_STOP_NONE) {
        double model = 0, new_cost, change, ratio = 0, xn = 0, dn = 0;
        long fc, fp;
        int accept = 0;
        if (rep.iterations >= o.max_it) {
            rep.stop = DOPT_STOP_MAX_ITERATIONS;
            break;
        }
        rep.iterations++;
        if (clocking) t_it = DOPT_FN(dopt__ba_clock)();
        st = DOPT_FN(dopt__ba_step)(s, &o, 1.0 / radius, &model, &fc, &fp, clocking ? &t_fac : NULL);
        if (st != DOPT_OK || !(model > 0)) { /* invalid step: shrink the region (Ceres) */
            if (st != DOPT_OK) { rep.fail_camera = fc; rep.fail_point = fp; }
            if (++invalid >= 5) {
                rep.status = st != DOPT_OK ? st : DOPT_ERR_NOT_POSITIVE_DEFINITE;
                rep.stop = DOPT_STOP_FAILED;
                break;
            }
            radius /= decrease;
            decrease *= 2;
            if (radius < o.rmin) rep.stop = DOPT_STOP_NO_PROGRESS;
            if (logging)
                DOPT_FN(dopt__ba_log_line)(&s->hooks, rep.iterations, cost, 0, gnorm, 0, 0, radius,
                                           DOPT_FN(dopt__ba_clock)() - t_it, DOPT_FN(dopt__ba_clock)() - t_start);
            continue;
        }
        invalid = 0;
        rep.fail_camera = rep.fail_point = -1;
        /* candidate x + S d (unscaled step) */
        for (i = 0; i < s->nc; ++i) {
            const int f = s->cam_free[i];
            for (k = 0; k < 9; ++k) {
                const DOPT__L x = p->cameras[9 * i + k], d = f < 0 ? 0 : s->sc[9 * i + k] * s->rhs[9 * (size_t)f + k];
                s->cam_new[9 * i + k] = x + d;
                if (f >= 0) { xn += (double)x * x; dn += (double)d * d; }
            }
        }
        for (i = 0; i < s->np; ++i) {
            const int seen = s->pt_ptr[i + 1] > s->pt_ptr[i];
            for (k = 0; k < 3; ++k) {
                const DOPT__L x = p->points[3 * i + k], d = seen ? s->sp[3 * i + k] * s->xp[3 * i + k] : 0;
                s->pt_new[3 * i + k] = x + d;
                if (seen) { xn += (double)x * x; dn += (double)d * d; }
            }
        }
        t0 = clocking ? DOPT_FN(dopt__ba_clock)() : 0;
        if (DOPT_FN(dopt__ba_linearize)(s, p->observed, &o, s->cam_new, s->pt_new, 0, &new_cost, &bad) != DOPT_OK)
            new_cost = HUGE_VAL;
        if (clocking) t_lin += DOPT_FN(dopt__ba_clock)() - t0;
        change = cost - new_cost;
        xn = sqrt(xn);
        dn = sqrt(dn);
        if (o.ptol >= 0 && dn <= o.ptol * (xn + o.ptol)) rep.stop = DOPT_STOP_STEP;
        else if (o.ftol >= 0 && fabs(change) <= o.ftol * cost) rep.stop = DOPT_STOP_FUNCTION_TOLERANCE;
        ratio = change / model;
        /* a step that ends the solve is still taken when it lowers the cost */
        accept = rep.stop != DOPT_STOP_NONE ? change > 0 : ratio > o.mrd;
        if (accept) {
            memcpy(p->cameras, s->cam_new, 9 * (size_t)s->nc * sizeof(DOPT__L));
            memcpy(p->points, s->pt_new, 3 * (size_t)s->np * sizeof(DOPT__L));
            cost = new_cost;
            rep.accepted++;
        }
        if (accept && rep.stop == DOPT_STOP_NONE) {
            const double tt = 1 - (2 * ratio - 1) * (2 * ratio - 1) * (2 * ratio - 1);
            t0 = clocking ? DOPT_FN(dopt__ba_clock)() : 0;
            st = DOPT_FN(dopt__ba_linearize)(s, p->observed, &o, p->cameras, p->points, 1, &new_cost, &bad);
            if (st != DOPT_OK) { /* cannot happen: the same point was just evaluated */
                rep.status = st;
                rep.stop = DOPT_STOP_FAILED;
                break;
            }
            gnorm = DOPT_FN(dopt__ba_normal)(s);
            if (clocking) t_lin += DOPT_FN(dopt__ba_clock)() - t0;
            radius = radius / (tt > 1.0 / 3 ? tt : 1.0 / 3);
            if (radius > o.rmax) radius = o.rmax;
            decrease = 2;
            if (o.gtol >= 0 && gnorm <= o.gtol) rep.stop = DOPT_STOP_GRADIENT;
        } else if (!accept && rep.stop == DOPT_STOP_NONE) {
            radius /= decrease;
            decrease *= 2;
            if (radius < o.rmin) rep.stop = DOPT_STOP_NO_PROGRESS;
        }
        if (logging)
            DOPT_FN(dopt__ba_log_line)(&s->hooks, rep.iterations, cost, change, gnorm, dn, ratio, radius,
                                       DOPT_FN(dopt__ba_clock)() - t_it, DOPT_FN(dopt__ba_clock)() - t_start);
    }
    rep.final_cost = cost;
    rep.gradient_norm = gnorm;
    if (o.timing) {
        rep.time_total_s = DOPT_FN(dopt__ba_clock)() - t_start;
        rep.time_linearize_s = t_lin;
        rep.time_factor_s = t_fac;
        rep.time_schur_s = rep.time_total_s - t_lin - t_fac;
    }
    if (report) *report = rep;
    if (rep.status != DOPT_OK)
        return dopt_errinfo_set(info, rep.status, rep.fail_camera >= 0 ? rep.fail_camera : -2 - rep.fail_point, 0,
                                "ba solve: the damped system could not be factored in five consecutive steps");
    return DOPT_OK;
}

/* Linearize at p's values (robust weights, Jacobi scaling) and factor the undamped system. */
static dopt_status DOPT_FN(dopt__ba_undamped)(DOPT_FN(dopt_lie_ba_solver) *s, const DOPT_FN(dopt_lie_bal) *p,
                                              const DOPT_FN(dopt__ba_opts) *o, dopt_errinfo *info)
{
    double cost;
    ptrdiff_t bad = -1;
    long fc, fp;
    dopt_status st = DOPT_FN(dopt__ba_linearize)(s, p->observed, o, p->cameras, p->points, 1, &cost, &bad);
    if (st != DOPT_OK) return dopt_errinfo_set(info, st, (long)bad, 0, "ba: residual not finite");
    DOPT_FN(dopt__ba_scaling)(s, 1);
    (void)DOPT_FN(dopt__ba_normal)(s);
    st = DOPT_FN(dopt__ba_eliminate)(s, o, 0, &fc, &fp);
    if (st != DOPT_OK)
        return dopt_errinfo_set(info, st, fc >= 0 ? fc : -2 - fp, 0,
                                fp >= 0 ? "ba: a point block is singular (point seen too little)"
                                        : "ba: the reduced camera matrix is singular (gauge not fixed?)");
    return DOPT_OK;
}

/* M (9x9, column-major) <- block (fa, fb) of S⁻¹ from the selected inverse in s->Sv (which holds
 * the blocks below the diagonal and the lower triangles of the diagonal blocks). */
static void DOPT_FN(dopt__ba_sinv_block)(const DOPT_FN(dopt_lie_ba_solver) *s, int fa, int fb, DOPT__L *M)
{
    const DOPT__L *B = s->Sv + DOPT_FN(dopt__ba_block)(s, fa > fb ? fa : fb, fa > fb ? fb : fa);
    int r, c;
    for (c = 0; c < 9; ++c)
        for (r = 0; r < 9; ++r)
            M[9 * c + r] = fa == fb ? (r >= c ? B[9 * c + r] : B[9 * r + c]) : fa > fb ? B[9 * c + r] : B[9 * r + c];
}

/* Covariances from the selected inverse S⁻¹ (no solves): camera blocks are its diagonal blocks;
 * point j's is V_j⁻¹ + sum_ab T_aᵀ [S⁻¹]_{f_a f_b} T_b over the pairs of free cameras that see
 * it (blocks of S's pattern, so the selected inverse holds them). */
static void DOPT_FN(dopt__ba_cov_selected)(DOPT_FN(dopt_lie_ba_solver) *s, ptrdiff_t ncam, const int *cameras,
                                           DOPT__L *cam_cov, ptrdiff_t npt, const int *points, DOPT__L *pt_cov)
{
    DOPT__L M[81], Y[9], MT[27];
    ptrdiff_t q, u, v;
    int k, l, r, c;
    for (q = 0; q < ncam; ++q) {
        const int f = s->cam_free[cameras[q]];
        const DOPT__L *sc = s->sc + 9 * (size_t)cameras[q];
        DOPT__L *C = cam_cov + 81 * q;
        if (f < 0) {
            memset(C, 0, 81 * sizeof(DOPT__L));
            continue;
        }
        DOPT_FN(dopt__ba_sinv_block)(s, f, f, M);
        for (k = 0; k < 9; ++k)
            for (r = 0; r < 9; ++r) C[9 * k + r] = sc[r] * M[9 * k + r] * sc[k];
    }
    for (q = 0; q < npt; ++q) {
        const int j = points[q];
        const DOPT__L *sp = s->sp + 3 * (size_t)j, *Vi = s->Vi + 9 * (size_t)j;
        DOPT__L *P = pt_cov + 9 * q;
        for (k = 0; k < 9; ++k) Y[k] = Vi[k];
        for (u = s->pt_ptr[j]; u < s->pt_ptr[j + 1]; ++u) {
            const int oa = s->pt_obs[u], fa = s->cam_free[s->cam[oa]];
            const DOPT__L *Ta = s->T + 27 * (size_t)oa;
            if (fa < 0) continue;
            for (v = s->pt_ptr[j]; v < s->pt_ptr[j + 1]; ++v) {
                const int ob = s->pt_obs[v], fb = s->cam_free[s->cam[ob]];
                const DOPT__L *Tb = s->T + 27 * (size_t)ob;
                if (fb < 0) continue;
                DOPT_FN(dopt__ba_sinv_block)(s, fa, fb, M);
                for (l = 0; l < 3; ++l) /* MT = M T_b (9x3) */
                    for (r = 0; r < 9; ++r) {
                        DOPT__L t = 0;
                        for (c = 0; c < 9; ++c) t += M[9 * c + r] * Tb[3 * c + l];
                        MT[9 * l + r] = t;
                    }
                for (l = 0; l < 3; ++l) /* Y += T_aᵀ MT */
                    for (k = 0; k < 3; ++k) {
                        DOPT__L t = 0;
                        for (r = 0; r < 9; ++r) t += Ta[3 * r + k] * MT[9 * l + r];
                        Y[3 * k + l] += t;
                    }
            }
        }
        for (k = 0; k < 3; ++k)
            for (l = 0; l < 3; ++l) P[3 * l + k] = sp[k] * DOPT__C(0.5) * (Y[3 * k + l] + Y[3 * l + k]) * sp[l];
    }
}

/* Covariances by solves with the reduced factor (linear solvers without selected_inverse):
 * camera c: 9 solves with unit vectors; point p: 3 solves with the columns of T_p. */
static dopt_status DOPT_FN(dopt__ba_cov_solves)(DOPT_FN(dopt_lie_ba_solver) *s, ptrdiff_t ncam, const int *cameras,
                                                DOPT__L *cam_cov, ptrdiff_t npt, const int *points, DOPT__L *pt_cov,
                                                dopt_errinfo *info)
{
    dopt_status st;
    ptrdiff_t q, u, n = 9 * (ptrdiff_t)s->ncf;
    int k, l, r;
    for (q = 0; q < ncam; ++q) { /* [S⁻¹]_cc: 9 solves with unit vectors */
        const int c = cameras[q], f = s->cam_free[c];
        DOPT__L *C = cam_cov + 81 * q;
        const DOPT__L *sc = s->sc + 9 * (size_t)c;
        memset(C, 0, 81 * sizeof(DOPT__L));
        if (f < 0) continue;
        for (k = 0; k < 9; ++k) {
            memset(s->rhs, 0, (size_t)n * sizeof(DOPT__L));
            s->rhs[9 * f + k] = 1;
            if ((st = DOPT_FN(dopt__ba_rsolve)(s, s->rhs)) != DOPT_OK)
                return dopt_errinfo_set(info, st, c, 0, "ba covariance: solve failed");
            for (r = 0; r < 9; ++r) C[9 * k + r] = sc[r] * s->rhs[9 * f + r] * sc[k];
        }
    }
    for (q = 0; q < npt; ++q) { /* V⁻¹ + Tᵀ S⁻¹ T: 3 solves */
        const int j = points[q];
        DOPT__L *P = pt_cov + 9 * q, Y[9];
        const DOPT__L *sp = s->sp + 3 * (size_t)j, *Vi = s->Vi + 9 * (size_t)j;
        for (k = 0; k < 9; ++k) Y[k] = Vi[k];
        for (l = 0; l < 3; ++l) {
            DOPT__L *z = s->rhs;
            memset(z, 0, (size_t)n * sizeof(DOPT__L));
            for (u = s->pt_ptr[j]; u < s->pt_ptr[j + 1]; ++u) {
                const int ob = s->pt_obs[u], f = s->cam_free[s->cam[ob]];
                if (f < 0) continue;
                for (r = 0; r < 9; ++r) z[9 * f + r] += s->T[27 * (size_t)ob + 3 * r + l];
            }
            if ((st = DOPT_FN(dopt__ba_rsolve)(s, z)) != DOPT_OK)
                return dopt_errinfo_set(info, st, -2 - j, 0, "ba covariance: solve failed");
            for (u = s->pt_ptr[j]; u < s->pt_ptr[j + 1]; ++u) {
                const int ob = s->pt_obs[u], f = s->cam_free[s->cam[ob]];
                if (f < 0) continue;
                for (k = 0; k < 3; ++k)
                    for (r = 0; r < 9; ++r) Y[3 * k + l] += s->T[27 * (size_t)ob + 3 * r + k] * z[9 * f + r];
            }
        }
        for (k = 0; k < 3; ++k)
            for (l = 0; l < 3; ++l) P[3 * l + k] = sp[k] * DOPT__C(0.5) * (Y[3 * k + l] + Y[3 * l + k]) * sp[l];
    }
    return DOPT_OK;
}

DOPT_API dopt_status DOPT_FN(dopt_lie_ba_covariance)(DOPT_FN(dopt_lie_ba_solver) *s, const DOPT_FN(dopt_lie_bal) *p,
                                                     const dopt_lie_ba_options *opts,
                                                     ptrdiff_t ncam, const int *cameras, DOPT_REAL *cam_cov,
                                                     ptrdiff_t npt, const int *points, DOPT_REAL *pt_cov,
                                                     dopt_errinfo *info)
{
    DOPT_FN(dopt__ba_opts) o;
    dopt_status st = DOPT_ERR_UNSUPPORTED;
    ptrdiff_t q;
    int k, r;
    if ((st = DOPT_FN(dopt__ba_check)(s, p, info)) != DOPT_OK) return st;
    if (DOPT_FN(dopt__ba_resolve)(opts, &o) != DOPT_OK || ncam < 0 || npt < 0 || (ncam > 0 && (!cameras || !cam_cov)) ||
        (npt > 0 && (!points || !pt_cov)))
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "ba covariance: bad argument");
    for (q = 0; q < ncam; ++q)
        if (cameras[q] < 0 || cameras[q] >= s->nc)
            return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, (long)q, 0, "ba covariance: camera index out of range");
    for (q = 0; q < npt; ++q)
        if (points[q] < 0 || points[q] >= s->np || s->pt_ptr[points[q] + 1] == s->pt_ptr[points[q]])
            return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, (long)q, 0,
                                    "ba covariance: point index out of range or point not observed");
    if ((st = DOPT_FN(dopt__ba_undamped)(s, p, &o, info)) != DOPT_OK) return st;
    /* the selected inverse where the linear solver offers it and more than a few blocks are
     * wanted (it costs about one factorization, a camera by solves 9 solves); its workspace
     * failing to allocate falls back to the solves */
    st = DOPT_ERR_UNSUPPORTED;
    if (s->ls.selected_inverse && 9 * ncam + 3 * npt > 27) st = s->ls.selected_inverse(s->ls.self, s->Sv);
    if (st == DOPT_OK)
        DOPT_FN(dopt__ba_cov_selected)(s, ncam, cameras, cam_cov, npt, points, pt_cov);
    else if (st != DOPT_ERR_UNSUPPORTED && st != DOPT_ERR_ALLOCATION)
        return dopt_errinfo_set(info, st, -1, 0, "ba covariance: selected inverse failed");
    else if ((st = DOPT_FN(dopt__ba_cov_solves)(s, ncam, cameras, cam_cov, npt, points, pt_cov, info)) != DOPT_OK)
        return st;
    for (q = 0; q < ncam; ++q) { /* symmetric to rounding: make it exactly so */
        DOPT__L *C = cam_cov + 81 * q;
        for (k = 0; k < 9; ++k)
            for (r = k + 1; r < 9; ++r) C[9 * k + r] = C[9 * r + k] = DOPT__C(0.5) * (C[9 * k + r] + C[9 * r + k]);
    }
    if ((ncam > 0 && !DOPT_FN(dopt__ba_finite)(81 * ncam, cam_cov)) ||
        (npt > 0 && !DOPT_FN(dopt__ba_finite)(9 * npt, pt_cov)))
        return dopt_errinfo_set(info, DOPT_ERR_NON_FINITE, -1, 0, "ba covariance: result not finite");
    return DOPT_OK;
}

DOPT_API dopt_status DOPT_FN(dopt_lie_ba_backward)(DOPT_FN(dopt_lie_ba_solver) *s, const DOPT_FN(dopt_lie_bal) *p,
                                                   const dopt_lie_ba_options *opts,
                                                   const DOPT_REAL *cam_adjoint, const DOPT_REAL *pt_adjoint,
                                                   DOPT_REAL *obs_grad, dopt_errinfo *info)
{
    if (!obs_grad) return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "ba backward: bad argument");
    return DOPT_FN(dopt_lie_ba_backward_params)(s, p, opts, cam_adjoint, pt_adjoint, obs_grad, NULL, info);
}

DOPT_API dopt_status DOPT_FN(dopt_lie_ba_backward_params)(DOPT_FN(dopt_lie_ba_solver) *s, const DOPT_FN(dopt_lie_bal) *p,
                                                          const dopt_lie_ba_options *opts,
                                                          const DOPT_REAL *cam_adjoint, const DOPT_REAL *pt_adjoint,
                                                          DOPT_REAL *obs_grad, DOPT_REAL *fixed_grad, dopt_errinfo *info)
{
    DOPT_FN(dopt__ba_opts) o;
    dopt_status st;
    ptrdiff_t i, c, j;
    int k, f;
    if ((st = DOPT_FN(dopt__ba_check)(s, p, info)) != DOPT_OK) return st;
    if (DOPT_FN(dopt__ba_resolve)(opts, &o) != DOPT_OK || (!obs_grad && !fixed_grad))
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "ba backward: bad argument");
    if (fixed_grad) memset(fixed_grad, 0, 9 * (size_t)s->nc * sizeof(DOPT__L));
    if ((st = DOPT_FN(dopt__ba_undamped)(s, p, &o, info)) != DOPT_OK) return st;
    /* H' v' = S a (scaled), by the Schur complement, then v = S v' */
    for (j = 0; j < 3 * s->np; ++j) s->xp[j] = pt_adjoint ? s->sp[j] * pt_adjoint[j] : 0;
    for (f = 0; f < s->ncf; ++f) {
        c = s->free_cam[f];
        for (k = 0; k < 9; ++k) s->rhs[9 * f + k] = cam_adjoint ? s->sc[9 * c + k] * cam_adjoint[9 * c + k] : 0;
    }
    for (i = 0; i < s->no; ++i) {
        const int fc = s->cam_free[s->cam[i]];
        const DOPT__L *T = s->T + 27 * i, *a = s->xp + 3 * (size_t)s->pt[i];
        if (fc < 0 || s->pt_ptr[s->pt[i] + 1] == s->pt_ptr[s->pt[i]]) continue;
        for (k = 0; k < 9; ++k) s->rhs[9 * fc + k] -= T[3 * k] * a[0] + T[3 * k + 1] * a[1] + T[3 * k + 2] * a[2];
    }
    if ((st = DOPT_FN(dopt__ba_rsolve)(s, s->rhs)) != DOPT_OK)
        return dopt_errinfo_set(info, st, -1, 0, "ba backward: solve failed");
    DOPT_FN(dopt__ba_backsub)(s, s->rhs, s->xp, DOPT__C(1), s->xp);
    for (c = 0; c < s->nc; ++c) {
        f = s->cam_free[c];
        for (k = 0; k < 9; ++k) s->xc[9 * c + k] = f < 0 ? 0 : s->sc[9 * c + k] * s->rhs[9 * (size_t)f + k];
    }
    for (j = 0; j < 3 * s->np; ++j) s->xp[j] *= s->sp[j];
    /* dL/dobs_i = (rho' I + 2 rho'' r rᵀ) J_i v, with the raw residual and Jacobian */
    for (c = 0; c < s->nc; ++c) DOPT_FN(dopt__ba_camera_prep)(p->cameras + 9 * c, s->R + 9 * c, s->A + 9 * c);
    for (i = 0; i < s->no; ++i) {
        const int cm = s->cam[i];
        const DOPT__L *vc = s->xc + 9 * (size_t)cm, *vp = s->xp + 3 * (size_t)s->pt[i];
        DOPT__L r[2], Jc[18], Jp[6], e0, e1, rho[3] = {0, 1, 0};
        DOPT_FN(dopt__ba_project)(p->cameras + 9 * cm, s->R + 9 * cm, s->A + 9 * cm, p->points + 3 * (size_t)s->pt[i],
                                  p->observed + 2 * i, r, Jc, Jp);
        e0 = Jp[0] * vp[0] + Jp[1] * vp[1] + Jp[2] * vp[2];
        e1 = Jp[3] * vp[0] + Jp[4] * vp[1] + Jp[5] * vp[2];
        for (k = 0; k < 9; ++k) { e0 += Jc[k] * vc[k]; e1 += Jc[9 + k] * vc[k]; }
        if (o.loss != DOPT_LOSS_NONE) DOPT_FN(dopt_nlls_loss_eval)(o.loss, (DOPT__L)o.a, r[0] * r[0] + r[1] * r[1], rho);
        {
            const DOPT__L re = DOPT__C(2) * rho[2] * (r[0] * e0 + r[1] * e1);
            const DOPT__L g0 = rho[1] * e0 + re * r[0], g1 = rho[1] * e1 + re * r[1];
            if (obs_grad) {
                obs_grad[2 * i] = g0;
                obs_grad[2 * i + 1] = g1;
            }
            if (fixed_grad && s->cam_free[cm] < 0) /* r moves with camera cm as with -obs, through J_c */
                for (k = 0; k < 9; ++k) fixed_grad[9 * (size_t)cm + k] -= Jc[k] * g0 + Jc[9 + k] * g1;
        }
    }
    if ((obs_grad && !DOPT_FN(dopt__ba_finite)(2 * s->no, obs_grad)) ||
        (fixed_grad && !DOPT_FN(dopt__ba_finite)(9 * s->nc, fixed_grad)))
        return dopt_errinfo_set(info, DOPT_ERR_NON_FINITE, -1, 0, "ba backward: gradient not finite");
    return DOPT_OK;
}

#undef DOPT__L
#undef DOPT__C
#undef DOPT__LIE_SMALL
#ifdef __cplusplus
}
#endif
#endif /* DOPT_LIE__PASS_IMPL */
