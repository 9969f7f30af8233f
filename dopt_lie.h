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
 * OPTIONS: those of dopt.h (DOPT_IMPLEMENTATION, DOPT_STATIC, DOPT_NO_STDIO: without stdio the
 *   g2o reader and writer are left out), and
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
/* dopt_so3_normalize: g <- g / |g| (the nearest unit quaternion); a zero g becomes identity. */
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
/* dopt_lie_manifold: the descriptor of group g (name "so2", "se2", "so3", "se3", "sim3"). */
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
 * Blank lines, '#' comments and FIX lines are skipped.  num_poses = largest id + 1.  Quaternions
 * are normalized (those already unit to rounding are kept digit for digit, so that a file written
 * by dopt_lie_g2o_write reads back bit-identical).  Poses without a VERTEX line (files with only edges) are initialized by chaining
 * the odometry edges: x_k = x_{k-1} · meas(k-1 -> k) (x_0 = identity; with no such edge,
 * x_k = x_{k-1}).
 * Returns DOPT_OK; DOPT_ERR_INVALID_ARGUMENT (NULL args, file cannot be opened);
 * DOPT_ERR_PARSE with info->line and info->message (unknown tag, missing/extra/non-numeric
 * fields, negative or duplicate id, zero quaternion, mixed 2D/3D, no edges or vertices);
 * DOPT_ERR_ALLOCATION.  On failure *g is left zeroed (nothing to free). */
DOPT_API dopt_status DOPT_FN(dopt_lie_g2o_read)(const char *path, const dopt_hooks *hooks,
                                                DOPT_FN(dopt_lie_pose_graph) *g, dopt_errinfo *info);
/* dopt_lie_g2o_write: write g (its poses, not gt_poses) as a g2o file that dopt_lie_g2o_read
 * reads back (%.17g, so double round-trips exactly).  DOPT_ERR_INVALID_ARGUMENT if the file
 * cannot be written or g is not SE2/SE3. */
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
#else
#define DOPT__LIE_INLINE static
#endif
#include <string.h>
#include <stdlib.h>
#include <stdint.h>
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
    DOPT__L n = DOPT_M(sqrt)(g[0] * g[0] + g[1] * g[1] + g[2] * g[2] + g[3] * g[3]);
    if (!(n > 0)) {
        DOPT_FN(dopt_so3_identity)(g);
        return;
    }
    n = DOPT__C(1) / n;
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
    theta[0] = DOPT_M(atan2)(g[1], g[0]);
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
    DOPT__L th = DOPT_M(atan2)(g[3], g[2]), hc = DOPT_FN(dopt__lie_se2_hc)(th), h = DOPT__C(0.5) * th;
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
    return DOPT_FN(dopt_lie_manifold_se3)();
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
DOPT_API dopt_status DOPT_FN(dopt_lie_cost_between_se3)(const void *data, const DOPT__L *const *vars,
                                                       DOPT__L *r, DOPT__L *const *J)
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

DOPT_API dopt_status DOPT_FN(dopt_lie_g2o_read)(const char *path, const dopt_hooks *hooks,
                                                DOPT_FN(dopt_lie_pose_graph) *g, dopt_errinfo *info)
{
    typedef DOPT_FN(dopt_lie_pose_graph_edge) edge_t;
    FILE *fp;
    char line[4096], msg[160];
    long lineno = 0, ecap = 0, ne = 0, pcap = 0, scap = 0, maxid = -1, k;
    edge_t *edges = NULL;
    DOPT__L *poses = NULL;
    unsigned char *seen = NULL;
    int grp = -1, dim = 0, td = 0;
    dopt_status st = DOPT_OK;
    double v[40];
    if (!path || !g) return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "NULL argument");
    memset(g, 0, sizeof *g);
    if (hooks) g->hooks = *hooks;
    fp = fopen(path, "r");
    if (!fp) return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "cannot open file");
#define DOPT__G2O_FAIL(status, why)                                                              \
    do {                                                                                         \
        st = dopt_errinfo_set(info, status, -1, lineno, why);                                    \
        goto done;                                                                               \
    } while (0)
    while (fgets(line, (int)sizeof line, fp)) {
        char tag[32];
        const char *s = line, *rest;
        int is_vertex = -1, is3d = 0, nnum, tl = 0, r;
        ++lineno;
        if (!strchr(line, '\n') && !feof(fp)) DOPT__G2O_FAIL(DOPT_ERR_PARSE, "line longer than 4095 characters");
        while (*s == ' ' || *s == '\t') ++s;
        if (!*s || *s == '\n' || *s == '\r' || *s == '#') continue;
        while (s[tl] && s[tl] != ' ' && s[tl] != '\t' && s[tl] != '\n' && s[tl] != '\r' && tl < 31) {
            tag[tl] = s[tl];
            ++tl;
        }
        tag[tl] = 0;
        rest = s + tl;
        if (strcmp(tag, "FIX") == 0) continue;
        if (strcmp(tag, "VERTEX_SE2") == 0) { is_vertex = 1; is3d = 0; nnum = 4; }
        else if (strcmp(tag, "EDGE_SE2") == 0) { is_vertex = 0; is3d = 0; nnum = 2 + 3 + 6; }
        else if (strcmp(tag, "VERTEX_SE3:QUAT") == 0) { is_vertex = 1; is3d = 1; nnum = 8; }
        else if (strcmp(tag, "EDGE_SE3:QUAT") == 0) { is_vertex = 0; is3d = 1; nnum = 2 + 7 + 21; }
        else {
            snprintf(msg, sizeof msg, "unsupported tag '%s' (expected VERTEX_SE2, EDGE_SE2, VERTEX_SE3:QUAT, EDGE_SE3:QUAT)", tag);
            DOPT__G2O_FAIL(DOPT_ERR_PARSE, msg);
        }
        if (grp < 0) {
            grp = is3d ? DOPT_LIE_SE3 : DOPT_LIE_SE2;
            dim = is3d ? 7 : 4;
            td = is3d ? 6 : 3;
        } else if ((grp == DOPT_LIE_SE3) != is3d) {
            DOPT__G2O_FAIL(DOPT_ERR_PARSE, "mixes 2D (SE2) and 3D (SE3) lines");
        }
        r = DOPT_FN(dopt__lie_parse_nums)(rest, nnum, v);
        if (r) {
            snprintf(msg, sizeof msg, "%s: %s (expected %d numbers)", tag,
                     r == 1 ? "missing or non-numeric field" : "extra fields", nnum);
            DOPT__G2O_FAIL(DOPT_ERR_PARSE, msg);
        }
        {
            int nid = is_vertex ? 1 : 2, q;
            for (q = 0; q < nid; ++q)
                if (v[q] < 0 || v[q] != (double)(long)v[q] || v[q] > 1e9)
                    DOPT__G2O_FAIL(DOPT_ERR_PARSE, "vertex id is not a non-negative integer");
            for (q = 0; q < nid; ++q)
                if ((long)v[q] > maxid) maxid = (long)v[q];
        }
        if (maxid + 1 > pcap) { /* grow poses (7 reals each, whatever the group) and seen flags */
            long nc = pcap ? pcap : 64;
            DOPT__L *np;
            unsigned char *ns;
            while (nc < maxid + 1) nc *= 2;
            np = (DOPT__L *)dopt_realloc(hooks, poses, sizeof(DOPT__L) * (size_t)pcap * 7, sizeof(DOPT__L) * (size_t)nc * 7);
            if (!np) DOPT__G2O_FAIL(DOPT_ERR_ALLOCATION, "out of memory");
            poses = np;
            pcap = nc;
            ns = (unsigned char *)dopt_realloc(hooks, seen, (size_t)scap, (size_t)nc);
            if (!ns) DOPT__G2O_FAIL(DOPT_ERR_ALLOCATION, "out of memory");
            seen = ns;
            memset(seen + scap, 0, (size_t)(nc - scap));
            scap = nc;
        }
        if (is_vertex) {
            long id = (long)v[0];
            DOPT__L *x = poses + (size_t)id * 7;
            if (seen[id]) DOPT__G2O_FAIL(DOPT_ERR_PARSE, "duplicate vertex id");
            seen[id] = 1;
            if (is3d) {
                double qn = sqrt(v[4] * v[4] + v[5] * v[5] + v[6] * v[6] + v[7] * v[7]);
                int q;
                if (!(qn > 0)) DOPT__G2O_FAIL(DOPT_ERR_PARSE, "zero quaternion");
                if (fabs(qn - 1) <= 8 * DOPT_EPS) qn = 1; /* already unit: keep the digits (exact round trip) */
                for (q = 0; q < 3; ++q) x[q] = (DOPT__L)v[1 + q];
                for (q = 0; q < 4; ++q) x[3 + q] = (DOPT__L)(v[4 + q] / qn);
            } else {
                x[0] = (DOPT__L)v[1];
                x[1] = (DOPT__L)v[2];
                x[2] = (DOPT__L)cos(v[3]);
                x[3] = (DOPT__L)sin(v[3]);
            }
        } else {
            edge_t *e;
            int a, b, idx = 0;
            if (ne == ecap) {
                long nc = ecap ? 2 * ecap : 256;
                edge_t *nedges = (edge_t *)dopt_realloc(hooks, edges, sizeof(edge_t) * (size_t)ecap, sizeof(edge_t) * (size_t)nc);
                if (!nedges) DOPT__G2O_FAIL(DOPT_ERR_ALLOCATION, "out of memory");
                edges = nedges;
                ecap = nc;
            }
            e = edges + ne;
            memset(e, 0, sizeof *e);
            e->i = (long)v[0];
            e->j = (long)v[1];
            if (is3d) {
                double qn = sqrt(v[5] * v[5] + v[6] * v[6] + v[7] * v[7] + v[8] * v[8]);
                if (!(qn > 0)) DOPT__G2O_FAIL(DOPT_ERR_PARSE, "zero quaternion");
                if (fabs(qn - 1) <= 8 * DOPT_EPS) qn = 1;
                for (a = 0; a < 3; ++a) e->measurement[a] = (DOPT__L)v[2 + a];
                for (a = 0; a < 4; ++a) e->measurement[3 + a] = (DOPT__L)(v[5 + a] / qn);
                idx = 9;
            } else {
                e->measurement[0] = (DOPT__L)v[2];
                e->measurement[1] = (DOPT__L)v[3];
                e->measurement[2] = (DOPT__L)cos(v[4]);
                e->measurement[3] = (DOPT__L)sin(v[4]);
                idx = 5;
            }
            for (a = 0; a < td; ++a)
                for (b = a; b < td; ++b) {
                    e->information[a * td + b] = (DOPT__L)v[idx];
                    e->information[b * td + a] = (DOPT__L)v[idx];
                    ++idx;
                }
            ++ne;
        }
    }
    lineno = 0; /* what follows concerns the whole file */
    if (ferror(fp)) DOPT__G2O_FAIL(DOPT_ERR_PARSE, "read error");
    if (grp < 0) DOPT__G2O_FAIL(DOPT_ERR_PARSE, "no VERTEX or EDGE lines");
    /* poses without a VERTEX line: chain the odometry edges k-1 -> k */
    {
        long n = maxid + 1;
        long *odo = (long *)dopt_alloc(hooks, sizeof(long) * (size_t)n);
        if (!odo) DOPT__G2O_FAIL(DOPT_ERR_ALLOCATION, "out of memory");
        for (k = 0; k < n; ++k) odo[k] = -1;
        for (k = 0; k < ne; ++k)
            if (edges[k].j == edges[k].i + 1 && odo[edges[k].j] < 0) odo[edges[k].j] = k;
        for (k = 0; k < n; ++k) {
            DOPT__L *x = poses + (size_t)k * 7;
            if (seen[k]) continue;
            if (k == 0) {
                if (grp == DOPT_LIE_SE2) DOPT_FN(dopt_se2_identity)(x);
                else DOPT_FN(dopt_se3_identity)(x);
            } else if (odo[k] >= 0) {
                DOPT_FN(dopt__lie_pg_chain)((dopt_lie_group)grp, x - 7, edges[odo[k]].measurement, x);
            } else {
                memcpy(x, x - 7, sizeof(DOPT__L) * 7);
            }
        }
        dopt_free(hooks, odo, sizeof(long) * (size_t)n);
        /* pack poses from the 7-real scratch layout to dim reals each, exact size */
        g->poses = (DOPT__L *)dopt_alloc(hooks, sizeof(DOPT__L) * (size_t)n * (size_t)dim);
        if (!g->poses) DOPT__G2O_FAIL(DOPT_ERR_ALLOCATION, "out of memory");
        for (k = 0; k < n; ++k) memcpy(g->poses + (size_t)k * dim, poses + (size_t)k * 7, sizeof(DOPT__L) * (size_t)dim);
        g->num_poses = n;
    }
    if (ne) {
        g->edges = (edge_t *)dopt_alloc(hooks, sizeof(edge_t) * (size_t)ne);
        if (!g->edges) DOPT__G2O_FAIL(DOPT_ERR_ALLOCATION, "out of memory");
        memcpy(g->edges, edges, sizeof(edge_t) * (size_t)ne);
    }
    g->num_edges = ne;
    g->group = (dopt_lie_group)grp;
    g->dim = dim;
    g->tangent_dim = td;
#undef DOPT__G2O_FAIL
done:
    fclose(fp);
    dopt_free(hooks, edges, sizeof(edge_t) * (size_t)ecap);
    dopt_free(hooks, poses, sizeof(DOPT__L) * (size_t)pcap * 7);
    dopt_free(hooks, seen, (size_t)scap);
    if (st != DOPT_OK) {
        if (g->poses) dopt_free(hooks, g->poses, sizeof(DOPT__L) * (size_t)g->num_poses * (size_t)dim);
        if (g->edges) dopt_free(hooks, g->edges, sizeof(edge_t) * (size_t)ne);
        memset(g, 0, sizeof *g);
    }
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
    if (!fp) return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "cannot open file for writing");
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
    if (fclose(fp) != 0) return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "write failed");
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

#undef DOPT__L
#undef DOPT__C
#undef DOPT__LIE_SMALL
#ifdef __cplusplus
}
#endif
#endif /* DOPT_LIE__PASS_IMPL */
