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
 * ---- end LQR AND iLQR ---------------------------------------------------------------------------
 *
 * ---- DENSE QP ----------------------------------------------------------------------------------
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
 *   Samples are N(0,1) by a ziggurat on the element's stream; elites by a partial selection (O(P),
 *   ties by sample index).  Solves, plans and backward passes allocate nothing, so a receding-
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
/* ==== end LQR AND iLQR: precision-independent declarations ==== */

/* ==== DENSE QP: precision-independent declarations ==== */
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
/* ==== end LQR AND iLQR: precision-independent implementation ==== */

/* ==== DENSE QP: precision-independent implementation ==== */
/* ==== end DENSE QP: precision-independent implementation ==== */

/* ==== CEM AND LML: precision-independent implementation ==== */
/* Ziggurat tables for N(0,1) (Marsaglia & Tsang 2000, 128 layers, r = 3.442619855899, strip
 * area v = 9.91256303526217e-3), scaled for 53-bit signed integers: a draw h in [-2^52, 2^52)
 * from layer i is x = h w[i], accepted at once when |h| < k[i] (inside the next narrower layer,
 * 98.8% of draws); otherwise the wedge (or, for layer 0, the tail beyond r) is sampled exactly.
 * Built into each solver at creation (no global tables). */
typedef struct dopt__mpc_zig {
    int64_t k[128];
    double w[128];
    double f[128];
} dopt__mpc_zig;

static void dopt__mpc_zig_init(dopt__mpc_zig *z)
{
    const double scale = 4503599627370496.0; /* 2^52 */
    const double v = 9.91256303526217e-3;
    double d = 3.442619855899, prev = d, q = v / exp(-0.5 * d * d);
    int i;
    z->k[0] = (int64_t)((d / q) * scale);
    z->k[1] = 0;
    z->w[0] = q / scale;
    z->w[127] = d / scale;
    z->f[0] = 1.0;
    z->f[127] = exp(-0.5 * d * d);
    for (i = 126; i >= 1; --i) {
        d = sqrt(-2.0 * log(v / d + exp(-0.5 * d * d)));
        z->k[i + 1] = (int64_t)((d / prev) * scale);
        prev = d;
        z->f[i] = exp(-0.5 * d * d);
        z->w[i] = d / scale;
    }
}

/* The rare draws (1.2%) of the ziggurat: the wedge of layer i, or the tail beyond r for layer 0,
 * for the first draw u, then fresh draws until one is accepted. */
static double dopt__mpc_zig_slow(const dopt__mpc_zig *z, dopt_rng *rng, uint64_t u)
{
    const double r = 3.442619855899;
    for (;;) {
        int i = (int)(u & 127u);
        int64_t h = (int64_t)(u >> 11) - ((int64_t)1 << 52);
        int64_t a = h < 0 ? -h : h;
        double x = (double)h * z->w[i];
        if (a < z->k[i]) return x;
        if (i == 0) { /* tail |x| > r: Marsaglia's exponential rejection */
            double t, e;
            do {
                t = -log(1.0 - dopt_rng_uniform_d(rng)) / r;
                e = -log(1.0 - dopt_rng_uniform_d(rng));
            } while (e + e < t * t);
            return h > 0 ? r + t : -(r + t);
        }
        if (z->f[i] + dopt_rng_uniform_d(rng) * (z->f[i - 1] - z->f[i]) < exp(-0.5 * x * x)) return x;
        u = dopt_rng_u64(rng);
    }
}

/* n N(0,1) draws from stream rng into out (deterministic for a given build).  The stream is
 * copied to a local so that the fast path runs in registers; the rare draws go through
 * dopt__mpc_zig_slow on the stream itself. */
static void dopt__mpc_zig_fill(const dopt__mpc_zig *z, dopt_rng *rng, int n, double *out)
{
    dopt_rng r = *rng;
    int j;
    for (j = 0; j < n; ++j) {
        uint64_t u = dopt_rng_u64(&r);
        int i = (int)(u & 127u);
        int64_t h = (int64_t)(u >> 11) - ((int64_t)1 << 52);
        int64_t a = h < 0 ? -h : h;
        if (a < z->k[i]) {
            out[j] = (double)h * z->w[i];
        } else {
            *rng = r;
            out[j] = dopt__mpc_zig_slow(z, rng, u);
            r = *rng;
        }
    }
    *rng = r;
}

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
#if defined(DOPT_MPC__PASS_DECL) && defined(DOPT_REAL)
#ifdef __cplusplus
extern "C" {
#endif
/* ==== LQR AND iLQR: declarations ==== */
/* ==== end LQR AND iLQR: declarations ==== */

/* ==== DENSE QP: declarations ==== */
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
/* ==== end LQR AND iLQR: implementation ==== */

/* ==== DENSE QP: implementation ==== */
/* ==== end DENSE QP: implementation ==== */

/* ==== CEM AND LML: implementation ==== */
/* ---- LML ---- */

#define DOPT__MPC_LESS(ka, ia, kb, ib) ((ka) < (kb) || ((ka) == (kb) && (ia) < (ib)))

/* Partial selection (Hoare's FIND): rearrange key[0..n) (with idx[] alongside) so that the kth
 * smallest pairs (key, idx) occupy positions 0 .. kth-1, in no particular order, 1 <= kth <= n.
 * Ties are ordered by idx, so the outcome is a function of the values alone. */
static void DOPT_FN(dopt__mpc_select)(int n, int kth, DOPT_REAL *key, int *idx)
{
    int lo = 0, hi = n - 1, p = kth - 1;
    while (hi > lo) {
        int mid = lo + (hi - lo) / 2, i = lo, j = hi, pi;
        DOPT_REAL pk;
        { /* median of three as pivot */
            int a = lo, b = mid, c = hi, t;
            if (DOPT__MPC_LESS(key[b], idx[b], key[a], idx[a])) { t = a; a = b; b = t; }
            if (DOPT__MPC_LESS(key[c], idx[c], key[b], idx[b])) { t = b; b = c; c = t; }
            if (DOPT__MPC_LESS(key[b], idx[b], key[a], idx[a])) { t = a; a = b; b = t; }
            pk = key[b];
            pi = idx[b];
            (void)c;
        }
        while (i <= j) {
            while (DOPT__MPC_LESS(key[i], idx[i], pk, pi)) ++i;
            while (DOPT__MPC_LESS(pk, pi, key[j], idx[j])) --j;
            if (i <= j) {
                DOPT_REAL tk = key[i];
                int ti = idx[i];
                key[i] = key[j]; idx[i] = idx[j];
                key[j] = tk; idx[j] = ti;
                ++i;
                --j;
            }
        }
        if (p <= j) hi = j;
        else if (p >= i) lo = i;
        else break;
    }
}

static DOPT_REAL DOPT_FN(dopt__mpc_sigmoid)(DOPT_REAL t)
{
    return (DOPT_REAL)1 / ((DOPT_REAL)1 + DOPT_M(exp)(-t));
}

/* sum_i sigmoid(x_i - c + mu) - k and its derivative */
static DOPT_REAL DOPT_FN(dopt__mpc_lml_gap)(int n, const DOPT_REAL *x, DOPT_REAL c, DOPT_REAL mu,
                                             DOPT_REAL k, DOPT_REAL *slope)
{
    DOPT_REAL s = 0, d = 0;
    int i;
    for (i = 0; i < n; ++i) {
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
static void DOPT_FN(dopt__mpc_lml_dual)(int n, const DOPT_REAL *x, DOPT_REAL k, DOPT_REAL c, DOPT_REAL xmin,
                                        DOPT_REAL xmax, DOPT_REAL *mu_io)
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
        g = DOPT_FN(dopt__mpc_lml_gap)(n, x, c, mu, k, &slope);
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

/* One LML projection; y (n reals, not overlapping x) doubles as the selection scratch.  The dual
 * is solved twice: first with x shifted by c (between the r-th and (r+1)-th largest x, found by
 * a partial selection), then, when the dual moved far (|mu| > 16), polished with x shifted by
 * the input nearest to the solution's 50% point, so an active entry sits at exactly 0 and huge
 * inputs lose no precision. */
static dopt_status DOPT_FN(dopt__mpc_lml_one)(int n, DOPT_REAL k, const DOPT_REAL *x, DOPT_REAL *y,
                                              DOPT_REAL *nu_out)
{
    DOPT_REAL xmax = x[0], xmin = x[0], c, c2, t, mu = 0, g = 0;
    int i, r;
    for (i = 0; i < n; ++i) {
        if (!(x[i] - x[i] == 0)) return DOPT_ERR_NON_FINITE;
        if (x[i] > xmax) xmax = x[i];
        if (x[i] < xmin) xmin = x[i];
    }
    r = (int)DOPT_M(ceil)(k);
    if (r < 1) r = 1;
    if (r > n - 1) r = n - 1;
    for (i = 0; i < n; ++i) y[i] = -x[i];
    { /* Hoare's FIND on -x: position r-1 gets the r-th largest x */
        int lo_i = 0, hi_i = n - 1, p = r - 1;
        while (hi_i > lo_i) {
            DOPT_REAL pk = y[lo_i + (hi_i - lo_i) / 2];
            int a = lo_i, b = hi_i;
            while (a <= b) {
                while (y[a] < pk) ++a;
                while (pk < y[b]) --b;
                if (a <= b) { DOPT_REAL tmp = y[a]; y[a] = y[b]; y[b] = tmp; ++a; --b; }
            }
            if (p <= b) hi_i = b;
            else if (p >= a) lo_i = a;
            else break;
        }
    }
    {
        DOPT_REAL next = y[r]; /* the (r+1)-th largest x: the smallest -x from position r on */
        for (i = r + 1; i < n; ++i)
            if (y[i] < next) next = y[i];
        c = (DOPT_REAL)0.5 * (-y[r - 1]) + (DOPT_REAL)0.5 * (-next);
    }
    DOPT_FN(dopt__mpc_lml_dual)(n, x, k, c, xmin, xmax, &mu);
    t = c - mu; /* y_i = 1/2 where x_i = t */
    c2 = x[0];
    for (i = 1; i < n; ++i)
        if (DOPT_M(fabs)(x[i] - t) < DOPT_M(fabs)(c2 - t)) c2 = x[i];
    if (c2 != c && DOPT_M(fabs)(mu) > 16) { /* only a large shift loses digits */
        mu = (mu - c) + c2;
        c = c2;
        DOPT_FN(dopt__mpc_lml_dual)(n, x, k, c, xmin, xmax, &mu);
    }
    for (i = 0; i < n; ++i) {
        y[i] = DOPT_FN(dopt__mpc_sigmoid)((x[i] - c) + mu);
        g += y[i];
    }
    if (nu_out) *nu_out = mu - c;
    if (!(DOPT_M(fabs)(g - k) <= (DOPT_REAL)(64 * n) * DOPT_EPS * (k > 1 ? k : 1))) return DOPT_ERR_NO_CONVERGENCE;
    return DOPT_OK;
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

/* ---- CEM and DCEM ---- */

struct DOPT_FN(dopt_mpc_cem) {
    dopt_hooks hooks;
    int owned;                  /* 1: one block allocated through hooks, freed by destroy        */
    void *block;                /* that block's start                                            */
    size_t bytes;
    dopt_mpc_cem_dims dims;
    dopt__mpc_zig zig;
    dopt_rng *rng;              /* batch streams                                                   */
    dopt_status *est;           /* batch element statuses of the current solve                     */
    DOPT_REAL *X;               /* B P D samples (sample j of element b at (b P + j) D)            */
    DOPT_REAL *cost;            /* B P                                                             */
    DOPT_REAL *key;             /* P: selection keys / scratch                                     */
    int *idx;                   /* P                                                               */
    DOPT_REAL *tmp;             /* 2 D                                                             */
    double *zd;                 /* D normal draws (float solvers)                                  */
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

/* Lay the solver's arrays out after the struct (cv->base NULL: count only). */
static void DOPT_FN(dopt__mpc_cem_layout)(const dopt_mpc_cem_dims *d, DOPT_FN(dopt_mpc_cem) *c,
                                          dopt__mpc_carver *cv)
{
    size_t B = (size_t)d->batch, P = (size_t)d->population, D = (size_t)d->dim;
    size_t S = (size_t)d->state_dim, T = (size_t)d->dcem_iterations, R = sizeof(DOPT_REAL);
    size_t BPD = dopt__mpc_count3(B, P, D), BP = dopt__mpc_count3(B, P, 1), BD = dopt__mpc_count3(B, D, 1);
    DOPT_FN(dopt_mpc_cem) dummy, *o = c ? c : &dummy;
    o->rng = (dopt_rng *)dopt__mpc_carve(cv, B, sizeof(dopt_rng));
    o->est = (dopt_status *)dopt__mpc_carve(cv, B, sizeof(dopt_status));
    o->X = (DOPT_REAL *)dopt__mpc_carve(cv, BPD, R);
    o->cost = (DOPT_REAL *)dopt__mpc_carve(cv, BP, R);
    o->key = (DOPT_REAL *)dopt__mpc_carve(cv, P, R);
    o->idx = (int *)dopt__mpc_carve(cv, P, sizeof(int));
    o->tmp = (DOPT_REAL *)dopt__mpc_carve(cv, 2 * D, R);
    o->zd = (double *)dopt__mpc_carve(cv, D, sizeof(double));
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
    for (b = 0; b < c->dims.batch; ++b) dopt_rng_seed(&c->rng[b], seed, first_stream + (uint64_t)b);
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
    c->bytes = bytes;
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
    size_t bytes;
    void *mem;
    dopt_status st;
    if (!out) return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "cem: out is NULL");
    *out = NULL;
    st = DOPT_FN(dopt_mpc_cem_workspace_size)(dims, &bytes, info);
    if (st != DOPT_OK) return st;
    mem = dopt_alloc(hooks, bytes);
    if (!mem) return dopt_errinfo_set(info, DOPT_ERR_ALLOCATION, -1, 0, "cem: allocation failed");
    st = DOPT_FN(dopt_mpc_cem_create_in)(mem, bytes, dims, out, info);
    if (st != DOPT_OK) {
        dopt_free(hooks, mem, bytes);
        return st;
    }
    (*out)->owned = 1;
    (*out)->block = mem;
    if (hooks) (*out)->hooks = *hooks;
    return DOPT_OK;
}

DOPT_API void DOPT_FN(dopt_mpc_cem_destroy)(DOPT_FN(dopt_mpc_cem) *c)
{
    dopt_hooks h;
    if (!c || !c->owned) return;
    h = c->hooks;
    dopt_free(&h, c->block, c->bytes);
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

/* sample value mean + std e clamped to the box; *clamped = 1 when a bound was hit */
static DOPT_REAL DOPT_FN(dopt__mpc_cem_value)(const DOPT_FN(dopt_mpc_cem_options) *o, int i, DOPT_REAL mean,
                                              DOPT_REAL std, DOPT_REAL e, int *clamped)
{
    DOPT_REAL v = mean + std * e;
    *clamped = 0;
    if (o->lower && v < o->lower[i]) { v = o->lower[i]; *clamped = 1; }
    if (o->upper && v > o->upper[i]) { v = o->upper[i]; *clamped = 1; }
    return v;
}

/* Draw element b's population into c->X (and its noise into eps when not NULL). */
static void DOPT_FN(dopt__mpc_cem_sample)(DOPT_FN(dopt_mpc_cem) *c, ptrdiff_t b,
                                          const DOPT_FN(dopt_mpc_cem_options) *o, const DOPT_REAL *mean,
                                          const DOPT_REAL *std, DOPT_REAL *eps)
{
    int P = c->dims.population, D = c->dims.dim, j, i;
    DOPT_REAL *X = c->X + (size_t)b * (size_t)P * (size_t)D;
    for (j = 0; j < P; ++j) {
        DOPT_REAL *x = X + (size_t)j * (size_t)D, *e = eps ? eps + (size_t)j * (size_t)D : x;
#if DOPT_IS_FLOAT
        dopt__mpc_zig_fill(&c->zig, &c->rng[b], D, c->zd);
        for (i = 0; i < D; ++i) e[i] = (DOPT_REAL)c->zd[i];
#else
        dopt__mpc_zig_fill(&c->zig, &c->rng[b], D, e);
#endif
        /* dopt__mpc_cem_value, as three loops that vectorize */
        for (i = 0; i < D; ++i) x[i] = mean[i] + std[i] * e[i];
        if (o->lower)
            for (i = 0; i < D; ++i) x[i] = x[i] < o->lower[i] ? o->lower[i] : x[i];
        if (o->upper)
            for (i = 0; i < D; ++i) x[i] = x[i] > o->upper[i] ? o->upper[i] : x[i];
    }
}

/* Smoothed, floored update of (mean, std) from the elite statistics (m, s). */
static void DOPT_FN(dopt__mpc_cem_update)(int D, const DOPT_FN(dopt_mpc_cem_options) *o, const DOPT_REAL *m,
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
static void DOPT_FN(dopt__mpc_cem_refit)(int D, int K, const DOPT_REAL *X, const int *idx, DOPT_REAL *m,
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

/* Objective as a plain function pointer and user data (plan substitutes its rollout). */
typedef dopt_status (*DOPT_FN(dopt__mpc_cost_fn))(void *user, ptrdiff_t first, ptrdiff_t count, int population,
                                                  int dim, const DOPT_REAL *X, DOPT_REAL *cost);

/* The CEM iteration loop behind solve and plan. */
static dopt_status DOPT_FN(dopt__mpc_cem_run)(DOPT_FN(dopt_mpc_cem) *c, const DOPT_FN(dopt_mpc_cem_options) *o,
                                              DOPT_FN(dopt__mpc_cost_fn) fn, void *user, DOPT_REAL *mean,
                                              ptrdiff_t sm, DOPT_REAL *std, ptrdiff_t ss, DOPT_REAL *best_x,
                                              ptrdiff_t sb, DOPT_REAL *best_cost, dopt_mpc_cem_report *report,
                                              dopt_errinfo *info)
{
    const DOPT_REAL big = DOPT_IS_FLOAT ? (DOPT_REAL)FLT_MAX : (DOPT_REAL)DBL_MAX;
    ptrdiff_t B = c->dims.batch, b;
    int P = c->dims.population, D = c->dims.dim, K = c->dims.elites, it, j, i;
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
        for (b = 0; b < B; ++b) DOPT_FN(dopt__mpc_cem_sample)(c, b, o, mean + b * sm, std + b * ss, NULL);
        st = fn(user, 0, B, P, D, c->X, c->cost);
        if (st != DOPT_OK) return dopt_errinfo_set(info, st, -1, 0, "cem: the objective returned an error");
        for (b = 0; b < B; ++b) {
            const DOPT_REAL *f = c->cost + (size_t)b * (size_t)P, *X = c->X + (size_t)b * PD;
            int bad = 0;
            if (c->est[b] != DOPT_OK) continue;
            for (j = 0; j < P; ++j) {
                c->idx[j] = j;
                c->key[j] = f[j];
                if (!(f[j] - f[j] == 0)) c->key[j] = big, ++bad;
            }
            if (report) report[b].bad_samples += bad, report[b].iterations = it + 1;
            if (bad == P) {
                c->est[b] = DOPT_ERR_NON_FINITE;
                continue;
            }
            DOPT_FN(dopt__mpc_select)(P, K, c->key, c->idx);
            for (j = 0; j < K; ++j)
                if (c->key[j] < c->bestc[b] && f[c->idx[j]] - f[c->idx[j]] == 0) {
                    c->bestc[b] = c->key[j];
                    memcpy(c->best + (size_t)b * (size_t)D, X + (size_t)c->idx[j] * (size_t)D, (size_t)D * sizeof(DOPT_REAL));
                }
            DOPT_FN(dopt__mpc_cem_refit)(D, K, X, c->idx, c->tmp, c->tmp + D);
            DOPT_FN(dopt__mpc_cem_update)(D, o, c->tmp, c->tmp + D, mean + b * sm, std + b * ss);
        }
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
    return DOPT_FN(dopt__mpc_cem_run)(c, &o, obj->cost, obj->user, mean, stride_mean, std, stride_std, best_x,
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
    return DOPT_FN(dopt__mpc_cem_run)(c, &o, DOPT_FN(dopt__mpc_rollout_cost), &r, mean, stride_mean, std, stride_std,
                                      best_x, stride_best, best_cost, report, info);
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

/* Standardize costs f (P reals): z = (f - mean f) / std f (population std; z = 0 when all equal).
 * Returns the std. */
static DOPT_REAL DOPT_FN(dopt__mpc_standardize)(int P, const DOPT_REAL *f, DOPT_REAL *z)
{
    DOPT_REAL mu = 0, v = 0, sd;
    int j;
    for (j = 0; j < P; ++j) mu += f[j];
    mu /= (DOPT_REAL)P;
    for (j = 0; j < P; ++j) v += (f[j] - mu) * (f[j] - mu);
    sd = DOPT_M(sqrt)(v / (DOPT_REAL)P);
    for (j = 0; j < P; ++j) z[j] = sd > 0 ? (f[j] - mu) / sd : 0;
    return sd;
}

/* Soft refit: m = sum_j w_j x_j / K, s = sqrt(sum_j w_j (x_j - m)^2 / K) per coordinate. */
static void DOPT_FN(dopt__mpc_dcem_refit)(int P, int D, int K, const DOPT_REAL *X, const DOPT_REAL *w, DOPT_REAL *m,
                                          DOPT_REAL *s)
{
    DOPT_REAL inv = (DOPT_REAL)1 / (DOPT_REAL)K;
    int j, i;
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

#define DOPT__MPC_TAPE(arr, t, b, n) ((arr) + ((size_t)(t) * (size_t)c->dims.batch + (size_t)(b)) * (size_t)(n))

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

/* One element's reverse step through iteration t before the objective: from the adjoints of the
 * next mean and std (c->gmean, c->gstd of b, replaced by their direct share alpha * g) to the
 * gradient of the samples (c->gX) and of the costs (c->gf). */
static void DOPT_FN(dopt__mpc_dcem_back_refit)(DOPT_FN(dopt_mpc_cem) *c, int t, ptrdiff_t b)
{
    const DOPT_FN(dopt_mpc_cem_options) *o = &c->tape_opt;
    int P = c->dims.population, D = c->dims.dim, K = c->dims.elites, j, i, cl;
    size_t PD = (size_t)P * (size_t)D;
    const DOPT_REAL *mu = DOPT__MPC_TAPE(c->t_mean, t, b, D), *sd = DOPT__MPC_TAPE(c->t_std, t, b, D);
    const DOPT_REAL *e = DOPT__MPC_TAPE(c->t_eps, t, b, PD), *f = DOPT__MPC_TAPE(c->t_cost, t, b, P);
    const DOPT_REAL *w = DOPT__MPC_TAPE(c->t_w, t, b, P), *m = DOPT__MPC_TAPE(c->t_m, t, b, D);
    const DOPT_REAL *s = DOPT__MPC_TAPE(c->t_s, t, b, D);
    DOPT_REAL *X = c->X + (size_t)b * PD, *gX = c->gX + (size_t)b * PD, *gf = c->gf + (size_t)b * (size_t)P;
    DOPT_REAL *gmean = c->gmean + (size_t)b * (size_t)D, *gstd = c->gstd + (size_t)b * (size_t)D;
    DOPT_REAL *gm = c->tmp, *gV = c->tmp + D, *gw = c->key, a = o->momentum, invK = (DOPT_REAL)1 / (DOPT_REAL)K;
    DOPT_REAL hs = 0, hg = 0, dd;
    for (j = 0; j < P; ++j)
        for (i = 0; i < D; ++i)
            X[(size_t)j * D + i] = DOPT_FN(dopt__mpc_cem_value)(o, i, mu[i], sd[i], e[(size_t)j * D + i], &cl);
    /* through the smoothing and the floor */
    for (i = 0; i < D; ++i) {
        DOPT_REAL gs = (1 - a) * gstd[i];
        gm[i] = (1 - a) * gmean[i];
        if (s[i] < o->min_std) gs = 0;
        gV[i] = s[i] > 0 ? gs / (2 * s[i]) : 0;
        gmean[i] *= a;
        gstd[i] *= a;
    }
    /* V depends on m: gm += gV dV/dm, dV_i/dm_i = -2 sum_j w_j (x_ji - m_i) / K */
    {
        DOPT_REAL *dv = gX; /* first row of gX as scratch for the sums */
        for (i = 0; i < D; ++i) dv[i] = 0;
        for (j = 0; j < P; ++j)
            for (i = 0; i < D; ++i) dv[i] += w[j] * (X[(size_t)j * D + i] - m[i]);
        for (i = 0; i < D; ++i) gm[i] += gV[i] * (-2 * dv[i] * invK);
    }
    for (j = 0; j < P; ++j) {
        const DOPT_REAL *x = X + (size_t)j * D;
        DOPT_REAL *gx = gX + (size_t)j * D, acc = 0;
        for (i = 0; i < D; ++i) {
            DOPT_REAL r = x[i] - m[i];
            acc += gV[i] * r * r + gm[i] * x[i];
            gx[i] = (2 * gV[i] * w[j] * r + gm[i] * w[j]) * invK;
        }
        gw[j] = acc * invK;
    }
    /* through the soft top-k: LML's VJP, then a = -z / tau */
    for (j = 0; j < P; ++j) {
        DOPT_REAL h = w[j] * (1 - w[j]);
        hs += h;
        hg += h * gw[j];
    }
    dd = hs > 0 ? hg / hs : 0;
    for (j = 0; j < P; ++j) gf[j] = -(w[j] * (1 - w[j]) * (gw[j] - dd)) / o->temperature;
    /* through the standardization: gf = (gz - mean gz - z mean(gz z)) / std */
    if (o->normalize) {
        DOPT_REAL *z = c->key, mg = 0, mgz = 0, sdev = DOPT_FN(dopt__mpc_standardize)(P, f, z);
        for (j = 0; j < P; ++j) mg += gf[j], mgz += gf[j] * z[j];
        mg /= (DOPT_REAL)P;
        mgz /= (DOPT_REAL)P;
        for (j = 0; j < P; ++j) gf[j] = sdev > 0 ? (gf[j] - mg - z[j] * mgz) / sdev : 0;
    }
}

/* The samples' gradient (c->gX, objective share included) into the mean and std of iteration t. */
static void DOPT_FN(dopt__mpc_dcem_back_sample)(DOPT_FN(dopt_mpc_cem) *c, int t, ptrdiff_t b)
{
    const DOPT_FN(dopt_mpc_cem_options) *o = &c->tape_opt;
    int P = c->dims.population, D = c->dims.dim, j, i, cl;
    size_t PD = (size_t)P * (size_t)D;
    const DOPT_REAL *mu = DOPT__MPC_TAPE(c->t_mean, t, b, D), *sd = DOPT__MPC_TAPE(c->t_std, t, b, D);
    const DOPT_REAL *e = DOPT__MPC_TAPE(c->t_eps, t, b, PD), *gX = c->gX + (size_t)b * PD;
    DOPT_REAL *gmean = c->gmean + (size_t)b * (size_t)D, *gstd = c->gstd + (size_t)b * (size_t)D;
    for (j = 0; j < P; ++j)
        for (i = 0; i < D; ++i) {
            size_t q = (size_t)j * D + i;
            DOPT_FN(dopt__mpc_cem_value)(o, i, mu[i], sd[i], e[q], &cl);
            if (cl) continue;
            gmean[i] += gX[q];
            gstd[i] += gX[q] * e[q];
        }
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
                int j, cl;
                const DOPT_REAL *mu = DOPT__MPC_TAPE(c->t_mean, t, b, D), *sd = DOPT__MPC_TAPE(c->t_std, t, b, D);
                const DOPT_REAL *e = DOPT__MPC_TAPE(c->t_eps, t, b, PD);
                for (j = 0; j < P; ++j)
                    for (i = 0; i < D; ++i)
                        c->X[(size_t)b * PD + (size_t)j * D + i] =
                            DOPT_FN(dopt__mpc_cem_value)(&c->tape_opt, i, mu[i], sd[i], e[(size_t)j * D + i], &cl);
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
#ifdef __cplusplus
}
#endif
#endif /* DOPT_MPC__PASS_IMPL */
