/* bench/constrained_pgo.h — the boxed pose graph of bench/constrained.sh, shared by dopt's and
 * Ceres' programs (plain C): which poses are boxed and how wide their box is.
 *
 * Representation (both sides): every SE(3) pose is TWO variables, its translation p in R^3
 * (Euclidean, so a box on it is an ordinary bound) and its rotation q (unit quaternion
 * [qx qy qz qw], a 3-dimensional manifold: dopt_lie_manifold_so3 / ceres::EigenQuaternionManifold),
 * the layout of Ceres' pose_graph_3d example.  The residual of edge i -> j (measurement p_z, q_z,
 * information Lambda = U^T U, U its upper Cholesky factor) is that example's
 *     U [ R(q_i)^T (p_j - p_i) - p_z ;  2 vec(q_z (q_i^-1 q_j)^-1) ],
 * cost 1/2 sum ||.||^2.  Pose 0 is held constant (both variables: the gauge).
 *
 * Boxes: pose k with k % CP_BOX_EVERY == CP_BOX_OFFSET (10% of the poses) has each translation
 * component boxed to [p0 - CP_BOX_HALF, p0 + CP_BOX_HALF] around its initial value p0 (so the
 * start is feasible, as Ceres requires); the other translations and every rotation are free.
 * Measured: on cube1000 (initial values = ground truth moved by up to 0.05 per axis) 198 of the
 * 300 boxed components end on a bound, on parking-garage 476 of 498. */
#ifndef BENCH_CONSTRAINED_PGO_H
#define BENCH_CONSTRAINED_PGO_H
#define CP_BOX_EVERY 10
#define CP_BOX_OFFSET 5
#define CP_BOX_HALF 0.02
#define CP_REPEAT 5 /* timed solves per side; the fastest is reported */
static int cp_boxed(long k) { return k % CP_BOX_EVERY == CP_BOX_OFFSET; }
#endif
