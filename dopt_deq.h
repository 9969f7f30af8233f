/* dopt_deq.h — deep-equilibrium layers: fixed points z = f(z, x) with Picard, Anderson and Broyden,
 * implicit / phantom / Jacobian-free backward passes, Jacobian regularization and JIIO.
 *                                                                              (C99, header-only)
 * WHAT THIS IS
 *   A deep-equilibrium (DEQ) layer defines its output as a fixed point z* = f(z*, x; theta) of a
 *   map f, found by an accelerated solver and differentiated by the implicit function theorem
 *   without storing iterations (Bai, Kolter, Koltun 2019; Gurumurthy's thesis ch. 2-3).  This
 *   header gives
 *     SOLVERS      dopt_deq_solver_*: a batch of B fixed points of a user map f (one callback
 *                  for the whole batch, so it can be one matrix product), by damped Picard,
 *                  Anderson acceleration (memory m, mixing beta, relative Tikhonov lambda,
 *                  restart, Picard fallback when the mixing system is singular) or limited-
 *                  memory "good" Broyden.  Each element stops on its own (a converged element
 *                  is frozen while the others iterate, so results do not depend on the batch).
 *     BACKWARD     dopt_deq_backward_*: the adjoint u of dL/dz* through the fixed point:
 *                    IMPLICIT       u = J^T u + g solved by the same solver (J = df/dz at z*)
 *                    PHANTOM        u = tau sum_{i<k} ((1-tau) I + tau J^T)^i g: the gradient
 *                                   of k damped unrolled steps started at z* (Geng et al. 2021)
 *                    JACOBIAN_FREE  u = g (Fung et al. 2021)
 *                  then dL/dtheta = (df/dtheta)^T u and dL/dx = (df/dx)^T u by the layer's VJPs.
 *     TANH LAYER   dopt_deq_tanh_*: the built-in layer f(z, x) = tanh(W z + U x + b) with its
 *                  map, VJPs, parameter gradients and Hutchinson Jacobian regularization
 *                  R = ||J_z^T eps||^2 (E R = ||J_z||_F^2) with its gradient.  Batch products
 *                  go through dopt_gemm (one n x n x B product per map call), so
 *                  -DDOPT_USE_CBLAS runs them on OpenBLAS; tanh is a libm-free kernel the
 *                  compiler vectorizes (within 8 ulps of libm's in double, tested).
 *     JIIO         dopt_deq_jiio_*: joint inference and input optimization (thesis sec. 3.3):
 *                  min_x l(z*(x), x) solved as one fixed point of the damped primal-dual map
 *                    z+  = (1-a_z) z + a_z f(z, x)
 *                    mu+ = (1-a_mu) mu + a_mu (J_z^T mu + dl/dz)
 *                    x+  = x - a_x (J_x^T mu + dl/dx)
 *                  accelerated by Anderson.  At the solution mu* is the adjoint, so when the
 *                  outer loss is the inner one, dl/dtheta = (df/dtheta)^T mu* (the sec. 3.3.4
 *                  shortcut: dopt_deq_tanh_param_vjp with u = mu*).
 *
 * CONVENTIONS
 *   - A batch of B states is an n x B column-major matrix; user arrays take a stride (reals
 *     between consecutive elements, >= n).  Callbacks always see contiguous n x B arrays
 *     (leading dimension n), so a map can evaluate the whole batch with one gemm.
 *   - Residual of element b: r_b = ||f(z_b) - z_b||_2.  Element b converges when
 *         r_b <= abs_tol + rel_tol * ||f(z_b)||_2
 *     (either tolerance may be DOPT_OFF; with both off nothing converges).  The returned z_b is
 *     the iterate whose residual was measured, so the reported residual is that of z_b exactly.
 *     An element that does not converge returns its lowest-residual iterate and
 *     DOPT_ERR_NO_CONVERGENCE (the residual is in its report and in info's message).
 *   - Memory: O(m n B) for the solver, independent of max_iters (Anderson keeps m past f values
 *     and residuals plus an m x m Gram matrix per element, updated by one column per step;
 *     Broyden keeps m rank-one pairs).  Sizes are known up front: workspace_size, then
 *     create_in on caller memory, or create (one allocation through the hooks).  Solves and
 *     backward passes never allocate.
 *   - The report of element b: status, iterations (= evaluations of f for that element),
 *     residual, relative residual and restarts; an optional residual trace per element.
 *   - Speed (make bench-deq; n = 64 / 256 / 1024, batch 32, relative residual 1e-6, one thread,
 *     built-in kernels; OpenBLAS within 10%): Anderson forward 2.7x / 2.8x / 1.8x faster than
 *     jaxopt's AndersonAcceleration and 78x / 17x / 4.4x faster than torchdeq (18 evaluations
 *     where torchdeq takes 38-44: its absolute Tikhonov term 1e-4 swamps the Gram matrix once
 *     the residuals are small); implicit backward 0.17 / 0.20 / 0.33 of jaxopt's time; dL/dW
 *     equal to both peers' to about 1e-12.  At n = 256 about two thirds of the time is the 17
 *     products (each at about 43 GFLOP/s), so 20x torchdeq would need a faster gemm.
 *
 * EXAMPLE (the tanh layer, batch B, hidden n, input p)
 *       dopt_deq_solver_d *s;  dopt_deq_tanh_d *layer;  dopt_deq_report rep[B];
 *       dopt_deq_options o = {0};                          // Anderson, m = 6, rel_tol 1e-6
 *       dopt_deq_backward_options bo = {0};                // IMPLICIT
 *       dopt_deq_solver_create_d(NULL, n, B, &o, &s, NULL);
 *       dopt_deq_tanh_create_d(NULL, n, p, B, &layer, NULL);
 *       dopt_deq_tanh_set_d(layer, W, U, b, X, p, NULL);   // W n x n, U n x p, X p x B
 *       memset(Z, 0, sizeof Z);                            // start at 0
 *       dopt_deq_solve_d(s, dopt_deq_tanh_map_d, layer, Z, n, rep, NULL, 0, NULL);
 *       ... gZ = dL/dZ ...
 *       dopt_deq_tanh_backward_d(layer, s, &bo, Z, n, gZ, n, dW, dU, db, dX, p, rep, NULL);
 *   examples/deq_train.c trains a DEQ classifier in plain C; examples/jiio.c solves an inverse
 *   problem by JIIO and by nested optimization.
 *
 * HOW TO USE
 *   #define DOPT_IMPLEMENTATION in one C file before including dopt.h and dopt_deq.h.
 *
 * LICENSE: MIT, see dopt.h.
 */
#if !defined(DOPT__DRIVE)
#ifndef DOPT_DEQ_H
#define DOPT_DEQ_H
#include "dopt.h"

#ifdef __cplusplus
extern "C" {
#endif
/* ==== precision-independent declarations ==== */

/* Fixed-point method. */
typedef enum dopt_deq_method {
    DOPT_DEQ_ANDERSON = 0, /* Anderson acceleration (type II, Walker & Ni), the default          */
    DOPT_DEQ_PICARD,       /* z+ = (1 - damping) z + damping f(z)                                 */
    DOPT_DEQ_BROYDEN,      /* limited-memory good Broyden on g(z) = f(z) - z, H0 = -I              */
    DOPT_DEQ_METHOD_COUNT
} dopt_deq_method;

/* Solver options; zero means default, DOPT_OFF switches a tolerance off.
 *   method     DOPT_DEQ_ANDERSON
 *   max_iters  evaluations of f per element, default 100 (>= 1)
 *   abs_tol    default 1e-12 (double) / 1e-6 (float); DOPT_OFF: no absolute term
 *   rel_tol    default 1e-6 (double) / 1e-4 (float); DOPT_OFF: no relative term
 *   memory     Anderson / Broyden history m, default 6 (1..64)
 *   mixing     Anderson beta in (0, 1], default 1
 *   damping    Picard tau in (0, 1], default 1
 *   lambda     Anderson Tikhonov term, relative to the largest diagonal of the Gram matrix,
 *              default 1e-10 (raised to 100 eps); DOPT_OFF: 100 eps only
 *   restart    clear the Anderson / Broyden history every `restart` steps; 0 / DOPT_OFF: never */
typedef struct dopt_deq_options {
    dopt_deq_method method;
    int max_iters;
    double abs_tol;
    double rel_tol;
    int memory;
    double mixing;
    double damping;
    double lambda;
    int restart;
} dopt_deq_options;

/* Outcome of one batch element's fixed-point solve. */
typedef struct dopt_deq_report {
    dopt_status status;   /* DOPT_OK (converged), DOPT_ERR_NO_CONVERGENCE, DOPT_ERR_NON_FINITE    */
    int iterations;       /* evaluations of the map spent on this element                          */
    double residual;      /* ||f(z) - z||_2 at the returned z                                      */
    double rel_residual;  /* residual / ||f(z)||_2 (residual itself when f(z) = 0)                */
    int restarts;         /* history resets: singular mixing system, non-finite step, restart   */
} dopt_deq_report;

/* Backward mode (see the overview). */
typedef enum dopt_deq_backward_mode {
    DOPT_DEQ_IMPLICIT = 0,
    DOPT_DEQ_PHANTOM,
    DOPT_DEQ_JACOBIAN_FREE,
    DOPT_DEQ_BACKWARD_MODE_COUNT
} dopt_deq_backward_mode;

/* Backward options; zero means default.
 *   mode             DOPT_DEQ_IMPLICIT (the adjoint is solved by the solver passed in)
 *   phantom_steps    k >= 1, default 5
 *   phantom_damping  tau in (0, 1], default 0.5 */
typedef struct dopt_deq_backward_options {
    dopt_deq_backward_mode mode;
    int phantom_steps;
    double phantom_damping;
} dopt_deq_backward_options;

/* JIIO options; zero means default.
 *   alpha_z, alpha_mu  damping of the z and mu updates in (0, 1], default 1
 *   alpha_x            gradient step on x (> 0), default 0.1
 *   solver             options of the joint fixed-point solver (default Anderson, m = 6) */
typedef struct dopt_deq_jiio_options {
    double alpha_z;
    double alpha_mu;
    double alpha_x;
    dopt_deq_options solver;
} dopt_deq_jiio_options;

/* dopt_deq_default_options / dopt_deq_backward_default_options: the defaults written out
 * (double precision tolerances). */
DOPT_API dopt_deq_options dopt_deq_default_options(void);
DOPT_API dopt_deq_backward_options dopt_deq_backward_default_options(void);
/* dopt_deq_method_string: "anderson", "picard", "broyden", or "unknown". */
DOPT_API const char *dopt_deq_method_string(dopt_deq_method m);

/* ==== end precision-independent declarations ==== */
#ifdef __cplusplus
}
#endif

#define DOPT_DEQ__PASS_DECL
#define DOPT__DRIVE "dopt_deq.h"
#include "dopt.h"
#undef DOPT__DRIVE
#undef DOPT_DEQ__PASS_DECL
#endif /* DOPT_DEQ_H */

#if defined(DOPT_IMPLEMENTATION) && !defined(DOPT_DEQ_IMPLEMENTED)
#define DOPT_DEQ_IMPLEMENTED
#include <string.h>
#include <math.h>
#ifndef DOPT_NO_STDIO
#include <stdio.h>
#endif
/* ==== precision-independent implementation ==== */
DOPT_API dopt_deq_options dopt_deq_default_options(void)
{
    dopt_deq_options o;
    o.method = DOPT_DEQ_ANDERSON;
    o.max_iters = 100;
    o.abs_tol = 1e-12;
    o.rel_tol = 1e-6;
    o.memory = 6;
    o.mixing = 1;
    o.damping = 1;
    o.lambda = 1e-10;
    o.restart = 0;
    return o;
}

DOPT_API dopt_deq_backward_options dopt_deq_backward_default_options(void)
{
    dopt_deq_backward_options o;
    o.mode = DOPT_DEQ_IMPLICIT;
    o.phantom_steps = 5;
    o.phantom_damping = 0.5;
    return o;
}

DOPT_API const char *dopt_deq_method_string(dopt_deq_method m)
{
    switch (m) {
    case DOPT_DEQ_ANDERSON: return "anderson";
    case DOPT_DEQ_PICARD: return "picard";
    case DOPT_DEQ_BROYDEN: return "broyden";
    default: return "unknown";
    }
}
/* tanh(x) without libm, in straight-line code the compiler vectorizes over an array (libm's tanh
 * is a call per element and dominated the small layers).  With y = 2|x| clamped at 40 (where tanh
 * is 1 in double; the clamp works on the bits, which order like the values for y >= 0, because
 * a floating-point select does not vectorize without -ffast-math): y = k ln2 + r, |r| <= ln2/2,
 * expm1(r) by its Taylor series to r^13 (truncation < 1e-17), e = expm1(y) = 2^k expm1(r) +
 * (2^k - 1), tanh|x| = e / (e + 2).  NaN and Inf give NaN (x - x), so solvers see them.  Within a
 * few ulps of libm's tanh (tested). */
typedef union dopt__deq_bits { double d; uint64_t u; } dopt__deq_bits;
static inline double dopt__deq_tanh_scalar(double x)
{
    const double magic = 6755399441055744.0;          /* 1.5 * 2^52: adding it rounds to an integer */
    const uint64_t forty = (uint64_t)0x4044000000000000u, magic_bits = (uint64_t)0x4338000000000000u;
    dopt__deq_bits y, t, two_k;
    double kd, r, r2, r4, r8, p, e;
    y.d = 2 * fabs(x);
    y.u = y.u < forty ? y.u : forty;
    t.d = y.d * 1.4426950408889634 + magic;
    kd = t.d - magic;
    r = (y.d - kd * 6.93147180369123816490e-01) - kd * 1.90821492927058770002e-10;
    /* expm1(r) = r + r^2 (c2 + c3 r + ... + c13 r^11), the sum in Estrin's scheme (short
     * dependency chains: the loop over an array is throughput-bound, not latency-bound) */
    r2 = r * r;
    r4 = r2 * r2;
    r8 = r4 * r4;
    {
        const double q0 = 0.5 + r * (1.0 / 6.0), q1 = 1.0 / 24.0 + r * (1.0 / 120.0);
        const double q2 = 1.0 / 720.0 + r * (1.0 / 5040.0), q3 = 1.0 / 40320.0 + r * (1.0 / 362880.0);
        const double q4 = 1.0 / 3628800.0 + r * (1.0 / 39916800.0), q5 = 1.0 / 479001600.0 + r * (1.0 / 6227020800.0);
        p = (q0 + r2 * q1) + r4 * (q2 + r2 * q3) + r8 * (q4 + r2 * q5);
    }
    p = p * r2 + r;
    two_k.u = (t.u - magic_bits + 1023u) << 52;       /* t's low mantissa bits hold k (0..58)      */
    e = two_k.d * p + (two_k.d - 1);
    return copysign(e / (e + 2), x) + (x - x);
}
/* ==== end precision-independent implementation ==== */
#define DOPT_DEQ__PASS_IMPL
#define DOPT__DRIVE "dopt_deq.h"
#include "dopt.h"
#undef DOPT__DRIVE
#undef DOPT_DEQ__PASS_IMPL
#endif /* DOPT_IMPLEMENTATION */
#endif /* !DOPT__DRIVE */

/* =============================================================================================== */
/* Generic declarations (one pass per precision).                                                 */
/* =============================================================================================== */
#if defined(DOPT_DEQ__PASS_DECL) && defined(DOPT_REAL)
#ifdef __cplusplus
extern "C" {
#endif

/* ---- solver ------------------------------------------------------------------------------------ */

/* A batched map (the layer f, or the adjoint map of the backward pass):
 *   ctx     the user's context
 *   in      n x batch column-major, contiguous (leading dimension n)
 *   out     n x batch, contiguous: out[:, b] = map(in[:, b])
 *   active  batch flags, or NULL (all): columns with active[b] == 0 are ignored by the solver,
 *           so the map may skip them (or compute them anyway, e.g. inside one gemm)
 * Returns DOPT_OK, or a status that stops the solve (passed through to the caller). */
typedef dopt_status (*DOPT_FN(dopt_deq_map_fn))(void *ctx, int n, ptrdiff_t batch, const DOPT_REAL *in,
                                                DOPT_REAL *out, const unsigned char *active);

typedef struct DOPT_FN(dopt_deq_solver) DOPT_FN(dopt_deq_solver);

/* dopt_deq_solver_workspace_size: bytes that dopt_deq_solver_create_in needs for state size n
 * and `batch` elements under options `opt` (NULL: defaults).  O(memory * n * batch).
 * Returns DOPT_ERR_INVALID_ARGUMENT for n < 1, batch < 1, bad options, or a size that overflows. */
DOPT_API dopt_status DOPT_FN(dopt_deq_solver_workspace_size)(int n, ptrdiff_t batch,
                                                            const dopt_deq_options *opt,
                                                            size_t *bytes, dopt_errinfo *info);
/* dopt_deq_solver_create_in: a solver carved from caller memory (`bytes` from the size query,
 * at least); nothing is allocated, destroy releases nothing.  DOPT_ERR_ALLOCATION when `bytes`
 * is too small. */
DOPT_API dopt_status DOPT_FN(dopt_deq_solver_create_in)(void *memory, size_t bytes, int n,
                                                       ptrdiff_t batch, const dopt_deq_options *opt,
                                                       DOPT_FN(dopt_deq_solver) **out,
                                                       dopt_errinfo *info);
/* dopt_deq_solver_create: the same with one allocation through `hooks` (NULL: libc). */
DOPT_API dopt_status DOPT_FN(dopt_deq_solver_create)(const dopt_hooks *hooks, int n, ptrdiff_t batch,
                                                    const dopt_deq_options *opt,
                                                    DOPT_FN(dopt_deq_solver) **out,
                                                    dopt_errinfo *info);
/* dopt_deq_solver_destroy: release a solver (NULL: no-op). */
DOPT_API void DOPT_FN(dopt_deq_solver_destroy)(DOPT_FN(dopt_deq_solver) *s);

/* dopt_deq_solve: the fixed points z_b = map(z_b) of the batch.
 *   z        in: starting points, out: solutions; element b at z + b * z_stride (z_stride >= n)
 *   reports  batch reports, or NULL
 *   trace    NULL, or batch x trace_len reals: trace[b * trace_len + k] = residual of element b's
 *            k-th evaluated iterate (k < trace_len); entries after its last one are set to -1
 * Calls the map at most max_iters times.  Returns DOPT_OK when every element converged, else the
 * first failing element's status (info->index = element, the residual in info->message):
 * DOPT_ERR_NO_CONVERGENCE (z_b is the lowest-residual iterate), DOPT_ERR_NON_FINITE (f(z_b)
 * had NaN/Inf: z_b is the last finite iterate), or a status the map returned (the solve stops). */
DOPT_API dopt_status DOPT_FN(dopt_deq_solve)(DOPT_FN(dopt_deq_solver) *s, DOPT_FN(dopt_deq_map_fn) map,
                                            void *ctx, DOPT_REAL *z, ptrdiff_t z_stride,
                                            dopt_deq_report *reports, DOPT_REAL *trace, int trace_len,
                                            dopt_errinfo *info);

/* dopt_deq_solver_map_calls: number of map calls made by the last solve (or backward). */
DOPT_API long DOPT_FN(dopt_deq_solver_map_calls)(const DOPT_FN(dopt_deq_solver) *s);

/* ---- backward ---------------------------------------------------------------------------------- */

/* dopt_deq_backward: the adjoint u of g = dL/dz* through the fixed point, for a layer whose
 * Jacobian-transpose product at z* is `vjp` (a map: out = J_z^T in, J_z = df/dz at z*; the
 * caller's context holds z*).  With u, dL/dtheta = (df/dtheta)^T u and dL/dx = (df/dx)^T u.
 *   s        a solver for (n, batch); IMPLICIT solves u = J^T u + g with it (its method and
 *            tolerances), starting from u = g; the other modes use its memory as scratch
 *   g, u     n x batch, element b at g + b * g_stride, u + b * u_stride (u may alias g)
 *   reports  batch reports of the adjoint solve (IMPLICIT), or the iteration count (PHANTOM)
 * Returns DOPT_OK, DOPT_ERR_NO_CONVERGENCE (the adjoint solve did not converge: u is its best
 * iterate, the residual in the report), DOPT_ERR_NON_FINITE, DOPT_ERR_INVALID_ARGUMENT, or a
 * status the vjp returned. */
DOPT_API dopt_status DOPT_FN(dopt_deq_backward)(DOPT_FN(dopt_deq_solver) *s,
                                               const dopt_deq_backward_options *opt,
                                               DOPT_FN(dopt_deq_map_fn) vjp, void *ctx,
                                               const DOPT_REAL *g, ptrdiff_t g_stride, DOPT_REAL *u,
                                               ptrdiff_t u_stride, dopt_deq_report *reports,
                                               dopt_errinfo *info);

/* ---- the tanh layer f(z, x) = tanh(W z + U x + b) ---------------------------------------------- */

/* W n x n, U n x p column-major, b n; x p x batch.  The layer object keeps the input products
 * and the linearization; it reads W, U, b through the pointers given to _set (keep them alive). */
typedef struct DOPT_FN(dopt_deq_tanh) DOPT_FN(dopt_deq_tanh);

/* dopt_deq_tanh_workspace_size / create_in / create / destroy: as the solver's (n, p >= 1).
 * The layer holds 8 n x batch and 2 p x batch scratch arrays and a copy of W^T (n x n). */
DOPT_API dopt_status DOPT_FN(dopt_deq_tanh_workspace_size)(int n, int p, ptrdiff_t batch,
                                                          size_t *bytes, dopt_errinfo *info);
DOPT_API dopt_status DOPT_FN(dopt_deq_tanh_create_in)(void *memory, size_t bytes, int n, int p,
                                                     ptrdiff_t batch, DOPT_FN(dopt_deq_tanh) **out,
                                                     dopt_errinfo *info);
DOPT_API dopt_status DOPT_FN(dopt_deq_tanh_create)(const dopt_hooks *hooks, int n, int p,
                                                  ptrdiff_t batch, DOPT_FN(dopt_deq_tanh) **out,
                                                  dopt_errinfo *info);
DOPT_API void DOPT_FN(dopt_deq_tanh_destroy)(DOPT_FN(dopt_deq_tanh) *layer);

/* dopt_deq_tanh_set: bind the parameters W (n x n), U (n x p), b (n) and the input x (p x batch,
 * element b at x + b * x_stride, copied), form C = U x + b 1^T (one gemm) and a copy of W^T.
 * Call again whenever W, U, b or x change.  DOPT_ERR_NON_FINITE for NaN/Inf in W, U, b or x. */
DOPT_API dopt_status DOPT_FN(dopt_deq_tanh_set)(DOPT_FN(dopt_deq_tanh) *layer, const DOPT_REAL *W,
                                               const DOPT_REAL *U, const DOPT_REAL *b,
                                               const DOPT_REAL *x, ptrdiff_t x_stride,
                                               dopt_errinfo *info);

/* dopt_deq_tanh_map: the layer as a dopt_deq_map_fn (ctx = the layer): out = tanh(W in + C),
 * one gemm for the active columns (none when `in` is all zeros, the usual starting point);
 * columns with active[b] == 0 are left as they are. */
DOPT_API dopt_status DOPT_FN(dopt_deq_tanh_map)(void *layer, int n, ptrdiff_t batch,
                                               const DOPT_REAL *in, DOPT_REAL *out,
                                               const unsigned char *active);

/* dopt_deq_tanh_linearize: store the Jacobian at z (n x batch, stride): J_b = diag(d_b) W with
 * d = 1 - tanh(W z + C)^2.  Needed by dopt_deq_tanh_vjp and _param_vjp. */
DOPT_API void DOPT_FN(dopt_deq_tanh_linearize)(DOPT_FN(dopt_deq_tanh) *layer, const DOPT_REAL *z,
                                              ptrdiff_t z_stride);

/* dopt_deq_tanh_vjp: J_z^T products at the linearized point, as a dopt_deq_map_fn (ctx = the
 * layer): out = W^T (d .* in), one gemm for the active columns (the others are left as they are). */
DOPT_API dopt_status DOPT_FN(dopt_deq_tanh_vjp)(void *layer, int n, ptrdiff_t batch,
                                               const DOPT_REAL *in, DOPT_REAL *out,
                                               const unsigned char *active);

/* dopt_deq_tanh_param_vjp: ADD the products with the parameter and input Jacobians at the
 * linearized point z (the same z given to _linearize, n x batch, stride) to the gradients:
 *   a = d .* u;  dW += a z^T;  dU += a x^T;  db += a 1;  dx_b += U^T a_b
 * u is n x batch (stride); dW n x n, dU n x p, db n, dx p x batch (dx_stride); any may be NULL. */
DOPT_API void DOPT_FN(dopt_deq_tanh_param_vjp)(DOPT_FN(dopt_deq_tanh) *layer, const DOPT_REAL *z,
                                              ptrdiff_t z_stride, const DOPT_REAL *u,
                                              ptrdiff_t u_stride, DOPT_REAL *dW, DOPT_REAL *dU,
                                              DOPT_REAL *db, DOPT_REAL *dx, ptrdiff_t dx_stride);

/* dopt_deq_tanh_backward: the whole backward pass of the layer at its fixed point z (n x batch,
 * stride) for g = dL/dz (stride): linearize, the adjoint u by dopt_deq_backward (mode in opt),
 * then dopt_deq_tanh_param_vjp (gradients ADDED to dW, dU, db, dx; any may be NULL).  The
 * adjoint u is left in the layer (dopt_deq_tanh_adjoint).  Statuses of dopt_deq_backward. */
DOPT_API dopt_status DOPT_FN(dopt_deq_tanh_backward)(DOPT_FN(dopt_deq_tanh) *layer,
                                                    DOPT_FN(dopt_deq_solver) *s,
                                                    const dopt_deq_backward_options *opt,
                                                    const DOPT_REAL *z, ptrdiff_t z_stride,
                                                    const DOPT_REAL *g, ptrdiff_t g_stride,
                                                    DOPT_REAL *dW, DOPT_REAL *dU, DOPT_REAL *db,
                                                    DOPT_REAL *dx, ptrdiff_t dx_stride,
                                                    dopt_deq_report *reports, dopt_errinfo *info);

/* dopt_deq_tanh_adjoint: the n x batch contiguous adjoint u of the last dopt_deq_tanh_backward. */
DOPT_API const DOPT_REAL *DOPT_FN(dopt_deq_tanh_adjoint)(const DOPT_FN(dopt_deq_tanh) *layer);

/* dopt_deq_tanh_jacreg: Hutchinson Jacobian regularization at z (n x batch, stride; any iterate):
 * with eps_b ~ N(0, I) drawn from rng (n normals per element, element 0 first),
 *   R_b = ||J_b^T eps_b||^2,   E[R_b] = ||J_b||_F^2,   J_b = df/dz at (z_b, x_b)
 * R (batch, may be NULL) receives R_b; the gradient of weight * sum_b R_b is ADDED to dW, dU,
 * db, dx (dx_stride) and dz (n x batch, dz_stride); any may be NULL.  dz is the dependence
 * through z: add it to dL/dz* before the backward pass to include z*'s own dependence on the
 * parameters.  Uses the layer's scratch but keeps its linearization. */
DOPT_API void DOPT_FN(dopt_deq_tanh_jacreg)(DOPT_FN(dopt_deq_tanh) *layer, const DOPT_REAL *z,
                                           ptrdiff_t z_stride, dopt_rng *rng, DOPT_REAL weight,
                                           DOPT_REAL *R, DOPT_REAL *dW, DOPT_REAL *dU, DOPT_REAL *db,
                                           DOPT_REAL *dx, ptrdiff_t dx_stride, DOPT_REAL *dz,
                                           ptrdiff_t dz_stride);

/* ---- JIIO: joint inference and input optimization ---------------------------------------------- */

/* The problem of JIIO: a layer f(z, x) (z n-vector, x p-vector) and an inner loss l(z, x).  All
 * arrays are contiguous column-major with `batch` columns (z, fz, mu, jz, gz: n rows; x, jx, gx: p
 * rows).
 *   map        fz = f(z, x)
 *   vjp        jz = J_z^T mu, jx = J_x^T mu at (z, x); fz = f(z, x) is passed in (the same call's)
 *   loss_grad  gz = dl/dz, gx = dl/dx at (z, x) (gx arrives zeroed: leave it for an l of z only)
 * Each returns DOPT_OK or a status that stops the solve. */
typedef struct DOPT_FN(dopt_deq_jiio_problem) {
    dopt_status (*map)(void *ctx, int n, int p, ptrdiff_t batch, const DOPT_REAL *z, const DOPT_REAL *x,
                       DOPT_REAL *fz);
    dopt_status (*vjp)(void *ctx, int n, int p, ptrdiff_t batch, const DOPT_REAL *z, const DOPT_REAL *x,
                       const DOPT_REAL *fz, const DOPT_REAL *mu, DOPT_REAL *jz, DOPT_REAL *jx);
    dopt_status (*loss_grad)(void *ctx, int n, int p, ptrdiff_t batch, const DOPT_REAL *z,
                             const DOPT_REAL *x, DOPT_REAL *gz, DOPT_REAL *gx);
    void *ctx;
} DOPT_FN(dopt_deq_jiio_problem);

typedef struct DOPT_FN(dopt_deq_jiio) DOPT_FN(dopt_deq_jiio);

/* dopt_deq_jiio_workspace_size / create_in / create / destroy: a JIIO solver for (n, p, batch)
 * with options opt (NULL: defaults); it holds a fixed-point solver of size 2n + p. */
DOPT_API dopt_status DOPT_FN(dopt_deq_jiio_workspace_size)(int n, int p, ptrdiff_t batch,
                                                          const dopt_deq_jiio_options *opt,
                                                          size_t *bytes, dopt_errinfo *info);
DOPT_API dopt_status DOPT_FN(dopt_deq_jiio_create_in)(void *memory, size_t bytes, int n, int p,
                                                     ptrdiff_t batch, const dopt_deq_jiio_options *opt,
                                                     DOPT_FN(dopt_deq_jiio) **out, dopt_errinfo *info);
DOPT_API dopt_status DOPT_FN(dopt_deq_jiio_create)(const dopt_hooks *hooks, int n, int p,
                                                  ptrdiff_t batch, const dopt_deq_jiio_options *opt,
                                                  DOPT_FN(dopt_deq_jiio) **out, dopt_errinfo *info);
DOPT_API void DOPT_FN(dopt_deq_jiio_destroy)(DOPT_FN(dopt_deq_jiio) *j);

/* dopt_deq_jiio_solve: the joint fixed point (z*, mu*, x*) of the damped map in the overview.
 *   z, mu  n x batch (strides), x p x batch (stride): starting points in, solution out
 *   reports  batch reports of the joint solve (residual of the stacked [z; mu; x] map)
 * At the solution z* = f(z*, x*), mu* = (I - J_z^T)^{-1} dl/dz and J_x^T mu* + dl/dx = 0.
 * Statuses as dopt_deq_solve. */
DOPT_API dopt_status DOPT_FN(dopt_deq_jiio_solve)(DOPT_FN(dopt_deq_jiio) *j,
                                                 const DOPT_FN(dopt_deq_jiio_problem) *prob,
                                                 DOPT_REAL *z, ptrdiff_t z_stride, DOPT_REAL *mu,
                                                 ptrdiff_t mu_stride, DOPT_REAL *x, ptrdiff_t x_stride,
                                                 dopt_deq_report *reports, dopt_errinfo *info);
/* dopt_deq_jiio_evaluations: evaluations of f (each with one vjp and one loss gradient) made by
 * the last dopt_deq_jiio_solve. */
DOPT_API long DOPT_FN(dopt_deq_jiio_evaluations)(const DOPT_FN(dopt_deq_jiio) *j);

/* dopt_deq_tanh_jiio_map / _jiio_vjp: the tanh layer's callbacks for a JIIO problem (ctx = the
 * layer after dopt_deq_tanh_set; only W, U, b are used, x comes from JIIO):
 * fz = tanh(W z + U x + b);  jz = W^T a, jx = U^T a with a = (1 - fz^2) .* mu. */
DOPT_API dopt_status DOPT_FN(dopt_deq_tanh_jiio_map)(void *layer, int n, int p, ptrdiff_t batch,
                                                    const DOPT_REAL *z, const DOPT_REAL *x,
                                                    DOPT_REAL *fz);
DOPT_API dopt_status DOPT_FN(dopt_deq_tanh_jiio_vjp)(void *layer, int n, int p, ptrdiff_t batch,
                                                    const DOPT_REAL *z, const DOPT_REAL *x,
                                                    const DOPT_REAL *fz, const DOPT_REAL *mu,
                                                    DOPT_REAL *jz, DOPT_REAL *jx);

#ifdef __cplusplus
}
#endif
#endif /* DOPT_DEQ__PASS_DECL */

/* =============================================================================================== */
/* Generic implementation (one pass per precision).                                               */
/* =============================================================================================== */
#if defined(DOPT_DEQ__PASS_IMPL) && defined(DOPT_REAL)
#ifdef __cplusplus
extern "C" {
#endif

/* ---- small vector helpers ---------------------------------------------------------------------- */

/* Eight partial sums: compiled as two independent vector accumulators (with four, GCC kept one
 * and the loop waited on the latency of its adds). */
static DOPT_REAL DOPT_FN(dopt__deq_dot)(int n, const DOPT_REAL *DOPT_RESTRICT a,
                                        const DOPT_REAL *DOPT_RESTRICT b)
{
    DOPT_REAL s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int i = 0, l;
    for (; i + 8 <= n; i += 8)
        for (l = 0; l < 8; ++l) s[l] += a[i + l] * b[i + l];
    for (; i < n; ++i) s[0] += a[i] * b[i];
    return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

/* y += a x */
static void DOPT_FN(dopt__deq_axpy)(int n, DOPT_REAL a, const DOPT_REAL *DOPT_RESTRICT x,
                                    DOPT_REAL *DOPT_RESTRICT y)
{
    int i;
    for (i = 0; i < n; ++i) y[i] += a * x[i];
}

static int DOPT_FN(dopt__deq_finite)(DOPT_REAL v) { return v == v && v - v == 0; }

/* io[i] = tanh(io[i] + c[i]) for i < len, c NULL meaning 0 (in place, so that the loop runs
 * vectorized: an out that may alias its input made the compiler fall back to scalar code). */
static void DOPT_FN(dopt__deq_tanh_add)(ptrdiff_t len, DOPT_REAL *DOPT_RESTRICT io, const DOPT_REAL *DOPT_RESTRICT c)
{
    ptrdiff_t i;
    if (!c) {
        for (i = 0; i < len; ++i) io[i] = (DOPT_REAL)dopt__deq_tanh_scalar((double)io[i]);
        return;
    }
    for (i = 0; i < len; ++i) io[i] = (DOPT_REAL)dopt__deq_tanh_scalar((double)io[i] + (double)c[i]);
}

/* ---- solver ------------------------------------------------------------------------------------ */

struct DOPT_FN(dopt_deq_solver) {
    dopt_owned own;              /* the block of create (dopt_owned_keep), or none                  */
    int n, m;                    /* state size, history memory                                      */
    ptrdiff_t batch;
    dopt_deq_options opt;        /* resolved                                                        */
    DOPT_REAL abs_tol, rel_tol, lambda;
    long map_calls;
    DOPT_REAL *Z, *F, *best, *aux;   /* n x batch                                                   */
    DOPT_REAL *h1, *h2;              /* Anderson: past f values / residuals; Broyden: U / V; m n B  */
    DOPT_REAL *gram;                 /* Anderson: m x m per element                                 */
    DOPT_REAL *pz, *pg;              /* Broyden: previous z and residual, n x batch                 */
    DOPT_REAL *scratch;              /* 4 n + m (m + 2)                                             */
    DOPT_REAL *res, *rel, *best_res, *best_rel; /* batch                                            */
    int *count, *next, *age, *iters, *restarts, *status;
    unsigned char *active;
};

/* Resolve zeros into defaults for this precision; reject out-of-range values. */
static dopt_status DOPT_FN(dopt__deq_resolve)(const dopt_deq_options *in, dopt_deq_options *o,
                                              dopt_errinfo *info)
{
    dopt_deq_options z;
    memset(&z, 0, sizeof z);
    *o = in ? *in : z;
    if ((int)o->method < 0 || (int)o->method >= (int)DOPT_DEQ_METHOD_COUNT)
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "deq: unknown method");
    if (o->max_iters == 0) o->max_iters = 100;
    if (o->abs_tol == 0) o->abs_tol = DOPT_IS_FLOAT ? 1e-6 : 1e-12;
    if (o->rel_tol == 0) o->rel_tol = DOPT_IS_FLOAT ? 1e-4 : 1e-6;
    if (o->memory == 0) o->memory = 6;
    if (o->mixing == 0) o->mixing = 1;
    if (o->damping == 0) o->damping = 1;
    if (o->lambda == 0) o->lambda = 1e-10;
    if (o->restart < 0) o->restart = 0;
    if (o->max_iters < 1 || o->memory < 1 || o->memory > 64 || !(o->mixing > 0 && o->mixing <= 1) ||
        !(o->damping > 0 && o->damping <= 1) || o->abs_tol != o->abs_tol || o->rel_tol != o->rel_tol ||
        o->lambda != o->lambda)
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0,
                                "deq: options out of range (max_iters >= 1, memory 1..64, mixing and damping in (0, 1])");
    if (o->lambda < 0) o->lambda = 0;
    return DOPT_OK;
}

/* Block sizes of the solver, in the order they are carved; returns the total or 0 on overflow. */
static size_t DOPT_FN(dopt__deq_solver_layout)(int n, ptrdiff_t B, const dopt_deq_options *o,
                                               size_t sizes[16])
{
    size_t R = sizeof(DOPT_REAL), nb = (size_t)n * (size_t)B, m = (size_t)o->memory, total = 0;
    int k, hist = o->method != DOPT_DEQ_PICARD, bro = o->method == DOPT_DEQ_BROYDEN;
    if ((size_t)B > ((size_t)-1 / 64) / (size_t)n / R / (m + 8)) return 0;
    sizes[0] = DOPT_WORKSPACE_ROUND(sizeof(struct DOPT_FN(dopt_deq_solver)));
    sizes[1] = nb * R; sizes[2] = nb * R; sizes[3] = nb * R; sizes[4] = nb * R;         /* Z F best aux */
    sizes[5] = hist ? m * nb * R : 0; sizes[6] = hist ? m * nb * R : 0;               /* h1 h2        */
    sizes[7] = o->method == DOPT_DEQ_ANDERSON ? m * m * (size_t)B * R : 0;            /* gram         */
    sizes[8] = bro ? nb * R : 0; sizes[9] = bro ? nb * R : 0;                          /* pz pg        */
    sizes[10] = (4 * (size_t)n + m * (m + 2)) * R;                                      /* scratch      */
    sizes[11] = 4 * (size_t)B * R;                                                      /* res rel best */
    sizes[12] = 6 * (size_t)B * sizeof(int);                                            /* counters     */
    sizes[13] = (size_t)B;                                                              /* active       */
    for (k = 0; k < 14; ++k) total += DOPT_WORKSPACE_ROUND(sizes[k] ? sizes[k] : 1);
    return total + DOPT_WORKSPACE_ALIGN;
}

DOPT_API dopt_status DOPT_FN(dopt_deq_solver_workspace_size)(int n, ptrdiff_t batch,
                                                            const dopt_deq_options *opt,
                                                            size_t *bytes, dopt_errinfo *info)
{
    dopt_deq_options o;
    size_t sizes[16];
    dopt_status st;
    if (!bytes || n < 1 || batch < 1)
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "deq: need n >= 1, batch >= 1, bytes");
    st = DOPT_FN(dopt__deq_resolve)(opt, &o, info);
    if (st != DOPT_OK) return st;
    *bytes = DOPT_FN(dopt__deq_solver_layout)(n, batch, &o, sizes);
    if (*bytes == 0) return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "deq: size overflows");
    return DOPT_OK;
}

DOPT_API dopt_status DOPT_FN(dopt_deq_solver_create_in)(void *memory, size_t bytes, int n,
                                                       ptrdiff_t batch, const dopt_deq_options *opt,
                                                       DOPT_FN(dopt_deq_solver) **out,
                                                       dopt_errinfo *info)
{
    dopt_deq_options o;
    size_t sizes[16], need;
    dopt_workspace ws;
    DOPT_FN(dopt_deq_solver) *s;
    void *blk[14];
    int k;
    dopt_status st;
    if (!out) return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "deq: out is NULL");
    *out = NULL;
    st = DOPT_FN(dopt_deq_solver_workspace_size)(n, batch, opt, &need, info);
    if (st != DOPT_OK) return st;
    st = DOPT_FN(dopt__deq_resolve)(opt, &o, info);
    if (st != DOPT_OK) return st;
    if (!memory || bytes < need)
        return dopt_errinfo_set(info, DOPT_ERR_ALLOCATION, -1, 0, "deq: workspace too small");
    DOPT_FN(dopt__deq_solver_layout)(n, batch, &o, sizes);
    dopt_workspace_init(&ws, memory, bytes);
    for (k = 0; k < 14; ++k) {
        blk[k] = dopt_workspace_take(&ws, sizes[k] ? sizes[k] : 1);
        if (!blk[k]) return dopt_errinfo_set(info, DOPT_ERR_ALLOCATION, -1, 0, "deq: workspace too small");
    }
    s = (DOPT_FN(dopt_deq_solver) *)blk[0];
    memset(s, 0, sizeof *s);
    s->n = n;
    s->batch = batch;
    s->opt = o;
    s->m = o.memory;
    s->abs_tol = o.abs_tol < 0 ? 0 : (DOPT_REAL)o.abs_tol;
    s->rel_tol = o.rel_tol < 0 ? 0 : (DOPT_REAL)o.rel_tol;
    s->lambda = (DOPT_REAL)o.lambda < 100 * DOPT_EPS ? 100 * DOPT_EPS : (DOPT_REAL)o.lambda;
    s->Z = (DOPT_REAL *)blk[1]; s->F = (DOPT_REAL *)blk[2];
    s->best = (DOPT_REAL *)blk[3]; s->aux = (DOPT_REAL *)blk[4];
    s->h1 = (DOPT_REAL *)blk[5]; s->h2 = (DOPT_REAL *)blk[6];
    s->gram = (DOPT_REAL *)blk[7];
    s->pz = (DOPT_REAL *)blk[8]; s->pg = (DOPT_REAL *)blk[9];
    s->scratch = (DOPT_REAL *)blk[10];
    s->res = (DOPT_REAL *)blk[11]; s->rel = s->res + batch; s->best_res = s->rel + batch; s->best_rel = s->best_res + batch;
    s->count = (int *)blk[12]; s->next = s->count + batch; s->age = s->next + batch;
    s->iters = s->age + batch; s->restarts = s->iters + batch; s->status = s->restarts + batch;
    s->active = (unsigned char *)blk[13];
    *out = s;
    return DOPT_OK;
}

DOPT_API dopt_status DOPT_FN(dopt_deq_solver_create)(const dopt_hooks *hooks, int n, ptrdiff_t batch,
                                                    const dopt_deq_options *opt,
                                                    DOPT_FN(dopt_deq_solver) **out,
                                                    dopt_errinfo *info)
{
    size_t bytes = 0;
    void *mem;
    dopt_status st;
    if (!out) return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "deq: out is NULL");
    *out = NULL;
    st = DOPT_FN(dopt_deq_solver_workspace_size)(n, batch, opt, &bytes, info);
    mem = dopt_owned_alloc(hooks, bytes, &st, info);
    if (mem) st = DOPT_FN(dopt_deq_solver_create_in)(mem, bytes, n, batch, opt, out, info);
    return dopt_owned_keep(st, hooks, mem, bytes, st == DOPT_OK ? &(*out)->own : NULL);
}

DOPT_API void DOPT_FN(dopt_deq_solver_destroy)(DOPT_FN(dopt_deq_solver) *s)
{
    if (s) dopt_owned_release(&s->own);
}

DOPT_API long DOPT_FN(dopt_deq_solver_map_calls)(const DOPT_FN(dopt_deq_solver) *s)
{
    return s ? s->map_calls : 0;
}

/* Solve A w = w in place for a small SPD matrix (n x n, column-major, contiguous) by Cholesky;
 * returns 0 when a pivot is not positive (or not finite). */
static int DOPT_FN(dopt__deq_small_spd_solve)(int n, DOPT_REAL *A, DOPT_REAL *w)
{
    int i, j, k;
    for (j = 0; j < n; ++j) {
        DOPT_REAL d = A[j + j * n];
        for (k = 0; k < j; ++k) d -= A[j + k * n] * A[j + k * n];
        if (!(d > 0) || !DOPT_FN(dopt__deq_finite)(d)) return 0;
        d = DOPT_M(sqrt)(d);
        A[j + j * n] = d;
        for (i = j + 1; i < n; ++i) {
            DOPT_REAL v = A[i + j * n];
            for (k = 0; k < j; ++k) v -= A[i + k * n] * A[j + k * n];
            A[i + j * n] = v / d;
        }
    }
    for (i = 0; i < n; ++i) { /* L y = w */
        DOPT_REAL v = w[i];
        for (k = 0; k < i; ++k) v -= A[i + k * n] * w[k];
        w[i] = v / A[i + i * n];
    }
    for (i = n - 1; i >= 0; --i) { /* L^T x = y */
        DOPT_REAL v = w[i];
        for (k = i + 1; k < n; ++k) v -= A[k + i * n] * w[k];
        w[i] = v / A[i + i * n];
    }
    return 1;
}

/* Whether element b's Anderson / Broyden history is due for its periodic restart. */
static int DOPT_FN(dopt__deq_restart_due)(const DOPT_FN(dopt_deq_solver) *s, ptrdiff_t b)
{
    return s->opt.restart > 0 && s->age[b] >= s->opt.restart;
}

/* Anderson, element b, before its residual is judged: one pass over z and f that stores f and
 * g = f - z in the history slot the step will use (0 when a restart is due) and returns ||g||^2
 * and ||f||^2 (the residual's sums: the history is written while z and f are read anyway). */
static void DOPT_FN(dopt__deq_anderson_record)(DOPT_FN(dopt_deq_solver) *s, ptrdiff_t b, DOPT_REAL *r2,
                                               DOPT_REAL *f2)
{
    const int n = s->n, m = s->m;
    const DOPT_REAL *DOPT_RESTRICT z = s->Z + b * n, *DOPT_RESTRICT f = s->F + b * n;
    DOPT_REAL *DOPT_RESTRICT Fj, *DOPT_RESTRICT Gj;
    const int j = DOPT_FN(dopt__deq_restart_due)(s, b) ? 0 : s->next[b];
    int i;
    Fj = s->h1 + (b * (ptrdiff_t)m + j) * n;
    Gj = s->h2 + (b * (ptrdiff_t)m + j) * n;
    /* copies, then the sums as dots (from L1): GCC compiles one loop doing both as slow
     * shuffles, twice the time of these four passes */
    memcpy(Fj, f, (size_t)n * sizeof(DOPT_REAL));
    for (i = 0; i < n; ++i) Gj[i] = f[i] - z[i];
    *r2 = DOPT_FN(dopt__deq_dot)(n, Gj, Gj);
    *f2 = DOPT_FN(dopt__deq_dot)(n, Fj, Fj);
}

/* z = sum_k w_k H_k over cnt history columns of length n (two columns per pass over z). */
static void DOPT_FN(dopt__deq_combine)(int n, int cnt, const DOPT_REAL *H, const DOPT_REAL *w,
                                       DOPT_REAL *DOPT_RESTRICT z)
{
    int i, k = 1;
    const DOPT_REAL *DOPT_RESTRICT h0 = H;
    for (i = 0; i < n; ++i) z[i] = w[0] * h0[i];
    for (; k + 2 <= cnt; k += 2) {
        const DOPT_REAL *DOPT_RESTRICT ha = H + (ptrdiff_t)k * n, *DOPT_RESTRICT hb = ha + n;
        const DOPT_REAL wa = w[k], wb = w[k + 1];
        for (i = 0; i < n; ++i) z[i] += wa * ha[i] + wb * hb[i];
    }
    if (k < cnt) DOPT_FN(dopt__deq_axpy)(n, w[k], H + (ptrdiff_t)k * n, z);
}

/* Anderson, element b, after _record: update one row and column of the Gram matrix G^T G, solve
 * (G^T G + lambda max_diag I) w = 1, alpha = w / 1^T w, and set z = sum_i alpha_i (f_i - (1 -
 * beta) g_i).  A singular or non-finite mixing system restarts the history from the current pair,
 * which makes the step a damped Picard step. */
static void DOPT_FN(dopt__deq_anderson_step)(DOPT_FN(dopt_deq_solver) *s, ptrdiff_t b)
{
    const int n = s->n, m = s->m;
    DOPT_REAL *z = s->Z + b * n, *f = s->F + b * n;
    DOPT_REAL *Fh = s->h1 + b * (ptrdiff_t)m * n, *Gh = s->h2 + b * (ptrdiff_t)m * n;
    DOPT_REAL *gram = s->gram + b * (ptrdiff_t)m * m;
    DOPT_REAL *A = s->scratch + 4 * n, *w = A + m * m;
    DOPT_REAL beta = (DOPT_REAL)s->opt.mixing, dmax = 0, sw = 0;
    int j, i, k, cnt, ok = 1;
    if (DOPT_FN(dopt__deq_restart_due)(s, b)) {
        s->count[b] = 0; s->next[b] = 0; s->age[b] = 0; s->restarts[b]++;
    }
    j = s->next[b];
    cnt = s->count[b] < m ? s->count[b] + 1 : m;
    /* one new row and column of the Gram matrix: G^T g_j */
    for (i = 0; i < cnt; ++i) {
        const DOPT_REAL v = DOPT_FN(dopt__deq_dot)(n, Gh + (ptrdiff_t)i * n, Gh + (ptrdiff_t)j * n);
        gram[i + j * m] = v;
        gram[j + i * m] = v;
    }
    s->count[b] = cnt;
    s->next[b] = (j + 1) % m;
    s->age[b]++;
    if (cnt > 1) {
        for (i = 0; i < cnt; ++i) dmax = gram[i + i * m] > dmax ? gram[i + i * m] : dmax;
        for (k = 0; k < cnt; ++k)
            for (i = 0; i < cnt; ++i) A[i + k * cnt] = gram[i + k * m];
        for (i = 0; i < cnt; ++i) { A[i + i * cnt] += s->lambda * dmax; w[i] = 1; }
        ok = dmax > 0 && DOPT_FN(dopt__deq_small_spd_solve)(cnt, A, w);
        if (ok) {
            for (i = 0; i < cnt; ++i) sw += w[i];
            ok = DOPT_FN(dopt__deq_finite)(sw) && sw != 0;
        }
    }
    if (cnt == 1 || !ok) {
        if (cnt > 1) { /* restart from the newest pair */
            memmove(Fh, Fh + (ptrdiff_t)j * n, (size_t)n * sizeof(DOPT_REAL));
            memmove(Gh, Gh + (ptrdiff_t)j * n, (size_t)n * sizeof(DOPT_REAL));
            gram[0] = gram[j + j * m];
            s->count[b] = 1; s->next[b] = 1 % m; s->age[b] = 1; s->restarts[b]++;
        }
        for (i = 0; i < n; ++i) z[i] += beta * (f[i] - z[i]);
        return;
    }
    /* z = sum_k alpha_k (f_k - (1 - beta) g_k) */
    for (k = 0; k < cnt; ++k) w[k] /= sw;
    DOPT_FN(dopt__deq_combine)(n, cnt, Fh, w, z);
    if (beta != 1) {
        for (k = 0; k < cnt; ++k) w[k] *= -(1 - beta);
        for (k = 0; k < cnt; ++k) DOPT_FN(dopt__deq_axpy)(n, w[k], Gh + (ptrdiff_t)k * n, z);
    }
}

/* y = -x + P (Q^T x) for the inverse-Jacobian estimate H = -I + U V^T (P, Q = U, V for H x;
 * V, U for H^T x), cnt rank-one terms. */
static void DOPT_FN(dopt__deq_broyden_apply)(int n, int cnt, const DOPT_REAL *P, const DOPT_REAL *Q,
                                             const DOPT_REAL *x, DOPT_REAL *y)
{
    int i, k;
    for (i = 0; i < n; ++i) y[i] = -x[i];
    for (k = 0; k < cnt; ++k) {
        DOPT_REAL c = DOPT_FN(dopt__deq_dot)(n, Q + (ptrdiff_t)k * n, x);
        DOPT_FN(dopt__deq_axpy)(n, c, P + (ptrdiff_t)k * n, y);
    }
}

/* Broyden, element b: with dz = z - z_prev and dg = g - g_prev, the good Broyden update of the
 * inverse Jacobian H of g(z) = f(z) - z: v = H^T dz, u = (dz - H dg) / (v^T dg), H += u v^T
 * (kept as m rank-one pairs, the oldest overwritten); then the step z += -H g. */
static void DOPT_FN(dopt__deq_broyden_step)(DOPT_FN(dopt_deq_solver) *s, ptrdiff_t b)
{
    const int n = s->n, m = s->m;
    DOPT_REAL *z = s->Z + b * n, *f = s->F + b * n, *pz = s->pz + b * n, *pg = s->pg + b * n;
    DOPT_REAL *U = s->h1 + b * (ptrdiff_t)m * n, *V = s->h2 + b * (ptrdiff_t)m * n;
    DOPT_REAL *dz = s->scratch, *dg = dz + n, *Hdg = dg + n, *v = Hdg + n;
    int i, cnt = s->count[b];
    if (DOPT_FN(dopt__deq_restart_due)(s, b)) {
        cnt = s->count[b] = 0; s->next[b] = 0; s->age[b] = 0; s->restarts[b]++;
    }
    if (s->iters[b] > 1) {
        DOPT_REAL den, nv = 0, ng = 0;
        for (i = 0; i < n; ++i) { dz[i] = z[i] - pz[i]; dg[i] = (f[i] - z[i]) - pg[i]; }
        DOPT_FN(dopt__deq_broyden_apply)(n, cnt, U, V, dg, Hdg);
        DOPT_FN(dopt__deq_broyden_apply)(n, cnt, V, U, dz, v);
        den = DOPT_FN(dopt__deq_dot)(n, v, dg);
        nv = DOPT_M(sqrt)(DOPT_FN(dopt__deq_dot)(n, v, v));
        ng = DOPT_M(sqrt)(DOPT_FN(dopt__deq_dot)(n, dg, dg));
        if (DOPT_FN(dopt__deq_finite)(den) && DOPT_M(fabs)(den) > 1e3 * DOPT_EPS * nv * ng && den != 0) {
            int j = s->next[b];
            for (i = 0; i < n; ++i) U[(ptrdiff_t)j * n + i] = (dz[i] - Hdg[i]) / den;
            memcpy(V + (ptrdiff_t)j * n, v, (size_t)n * sizeof(DOPT_REAL));
            s->next[b] = (j + 1) % m;
            if (cnt < m) cnt = s->count[b] = cnt + 1;
            s->age[b]++;
        }
    }
    for (i = 0; i < n; ++i) { pz[i] = z[i]; pg[i] = f[i] - z[i]; }
    /* z += -H g = g - U (V^T g) */
    DOPT_FN(dopt__deq_broyden_apply)(n, cnt, U, V, pg, dz);
    for (i = 0; i < n; ++i) z[i] -= dz[i];
    for (i = 0; i < n; ++i)
        if (!DOPT_FN(dopt__deq_finite)(z[i])) break;
    if (i < n) { /* the estimate blew up: forget it and take a Picard step */
        for (i = 0; i < n; ++i) z[i] = f[i];
        s->count[b] = 0; s->next[b] = 0; s->age[b] = 0; s->restarts[b]++;
    }
}

/* ||f_b - z_b||^2 and ||f_b||^2 of element b. */
static void DOPT_FN(dopt__deq_residual_sums)(const DOPT_FN(dopt_deq_solver) *s, ptrdiff_t b, DOPT_REAL *r2,
                                             DOPT_REAL *f2)
{
    const int n = s->n;
    const DOPT_REAL *DOPT_RESTRICT z = s->Z + b * n, *DOPT_RESTRICT f = s->F + b * n;
    DOPT_REAL r[4] = {0, 0, 0, 0};
    int i = 0;
    for (; i + 4 <= n; i += 4) {
        const DOPT_REAL d0 = f[i] - z[i], d1 = f[i + 1] - z[i + 1];
        const DOPT_REAL d2 = f[i + 2] - z[i + 2], d3 = f[i + 3] - z[i + 3];
        r[0] += d0 * d0; r[1] += d1 * d1; r[2] += d2 * d2; r[3] += d3 * d3;
    }
    for (; i < n; ++i) r[0] += (f[i] - z[i]) * (f[i] - z[i]);
    *r2 = (r[0] + r[1]) + (r[2] + r[3]);
    *f2 = DOPT_FN(dopt__deq_dot)(n, f, f);
}

/* Judge element b's residual from its sums (r2 = ||f - z||^2, f2 = ||f||^2): record it, keep the
 * lowest-residual iterate; returns 1 when the element is finished (converged or non-finite). */
static int DOPT_FN(dopt__deq_judge)(DOPT_FN(dopt_deq_solver) *s, ptrdiff_t b, DOPT_REAL r2, DOPT_REAL f2,
                                    DOPT_REAL *trace, int trace_len, int it)
{
    const int n = s->n;
    const DOPT_REAL r = DOPT_M(sqrt)(r2), fn = DOPT_M(sqrt)(f2);
    s->iters[b] = it + 1;
    if (trace && it < trace_len) trace[b * trace_len + it] = r;
    if (!DOPT_FN(dopt__deq_finite)(r) || !DOPT_FN(dopt__deq_finite)(fn)) {
        s->status[b] = DOPT_ERR_NON_FINITE;
        return 1;
    }
    s->res[b] = r;
    s->rel[b] = fn > 0 ? r / fn : r;
    if (r <= s->abs_tol + s->rel_tol * fn && (s->abs_tol > 0 || s->rel_tol > 0)) {
        s->status[b] = DOPT_OK; /* the returned z is s->Z's: no copy to best */
        return 1;
    }
    if (r < s->best_res[b]) {
        s->best_res[b] = r;
        s->best_rel[b] = s->rel[b];
        memcpy(s->best + b * n, s->Z + b * n, (size_t)n * sizeof(DOPT_REAL));
    }
    return 0;
}

/* The solve loop on s->Z (already filled): evaluate, measure, step, for every active element. */
static dopt_status DOPT_FN(dopt__deq_iterate)(DOPT_FN(dopt_deq_solver) *s, DOPT_FN(dopt_deq_map_fn) map,
                                              void *ctx, DOPT_REAL *trace, int trace_len)
{
    const ptrdiff_t B = s->batch;
    ptrdiff_t b;
    int it, k;
    for (b = 0; b < B; ++b) {
        s->active[b] = 1;
        s->count[b] = s->next[b] = s->age[b] = s->iters[b] = s->restarts[b] = 0;
        s->status[b] = DOPT_ERR_NO_CONVERGENCE;
        s->best_res[b] = s->best_rel[b] = (DOPT_REAL)HUGE_VAL;
        s->res[b] = s->rel[b] = (DOPT_REAL)HUGE_VAL;
        memcpy(s->best + b * s->n, s->Z + b * s->n, (size_t)s->n * sizeof(DOPT_REAL));
        if (trace)
            for (k = 0; k < trace_len; ++k) trace[b * trace_len + k] = -1;
    }
    s->map_calls = 0;
    for (it = 0; it < s->opt.max_iters; ++it) {
        int any = 0;
        dopt_status st = map(ctx, s->n, B, s->Z, s->F, s->active);
        s->map_calls++;
        if (st != DOPT_OK) return st;
        for (b = 0; b < B; ++b) {
            DOPT_REAL r2, f2;
            if (!s->active[b]) continue;
            if (s->opt.method == DOPT_DEQ_ANDERSON) DOPT_FN(dopt__deq_anderson_record)(s, b, &r2, &f2);
            else DOPT_FN(dopt__deq_residual_sums)(s, b, &r2, &f2);
            if (DOPT_FN(dopt__deq_judge)(s, b, r2, f2, trace, trace_len, it)) {
                s->active[b] = 0;
                continue;
            }
            if (it + 1 == s->opt.max_iters) continue;
            any = 1;
            switch (s->opt.method) {
            case DOPT_DEQ_PICARD: {
                const DOPT_REAL t = (DOPT_REAL)s->opt.damping;
                DOPT_REAL *z = s->Z + b * s->n;
                const DOPT_REAL *f = s->F + b * s->n;
                int i;
                for (i = 0; i < s->n; ++i) z[i] += t * (f[i] - z[i]);
                break;
            }
            case DOPT_DEQ_BROYDEN: DOPT_FN(dopt__deq_broyden_step)(s, b); break;
            default: DOPT_FN(dopt__deq_anderson_step)(s, b); break;
            }
        }
        if (!any) break;
    }
    return DOPT_OK;
}

/* Copy the per-element outcome out: solutions, reports, the first failure's status. */
static dopt_status DOPT_FN(dopt__deq_finish)(DOPT_FN(dopt_deq_solver) *s, DOPT_REAL *z, ptrdiff_t z_stride,
                                             dopt_deq_report *reports, dopt_errinfo *info)
{
    const int n = s->n;
    ptrdiff_t b, first = -1;
    for (b = 0; b < s->batch; ++b) {
        const DOPT_REAL *src = s->status[b] == DOPT_OK ? s->Z + b * n : s->best + b * n;
        if (s->status[b] != DOPT_OK) {
            s->res[b] = s->best_res[b];
            s->rel[b] = s->best_rel[b];
            if (first < 0) first = b;
        }
        memcpy(z + b * z_stride, src, (size_t)n * sizeof(DOPT_REAL));
        if (reports) {
            reports[b].status = (dopt_status)s->status[b];
            reports[b].iterations = s->iters[b];
            reports[b].residual = (double)s->res[b];
            reports[b].rel_residual = (double)s->rel[b];
            reports[b].restarts = s->restarts[b];
        }
    }
    if (first < 0) return DOPT_OK;
    {
        char msg[160] = "deq: element did not converge";
#ifndef DOPT_NO_STDIO
        snprintf(msg, sizeof msg, "deq: element %ld: %s after %d evaluations, residual %.3g",
                 (long)first, s->status[first] == DOPT_ERR_NON_FINITE ? "NaN/Inf in f(z)" : "no convergence",
                 s->iters[first], (double)s->best_res[first]);
#endif
        return dopt_errinfo_set(info, (dopt_status)s->status[first], (long)first, 0, msg);
    }
}

static int DOPT_FN(dopt__deq_all_finite_strided)(int n, ptrdiff_t B, const DOPT_REAL *z, ptrdiff_t stride)
{
    ptrdiff_t b;
    int i;
    for (b = 0; b < B; ++b)
        for (i = 0; i < n; ++i)
            if (!DOPT_FN(dopt__deq_finite)(z[b * stride + i])) return 0;
    return 1;
}

DOPT_API dopt_status DOPT_FN(dopt_deq_solve)(DOPT_FN(dopt_deq_solver) *s, DOPT_FN(dopt_deq_map_fn) map,
                                            void *ctx, DOPT_REAL *z, ptrdiff_t z_stride,
                                            dopt_deq_report *reports, DOPT_REAL *trace, int trace_len,
                                            dopt_errinfo *info)
{
    ptrdiff_t b;
    dopt_status st;
    if (!s || !map || !z || z_stride < s->n || (trace && trace_len < 1))
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0,
                                "deq_solve: NULL solver/map/z, z_stride < n, or trace_len < 1");
    if (!DOPT_FN(dopt__deq_all_finite_strided)(s->n, s->batch, z, z_stride))
        return dopt_errinfo_set(info, DOPT_ERR_NON_FINITE, -1, 0, "deq_solve: NaN/Inf in the starting point");
    for (b = 0; b < s->batch; ++b)
        memcpy(s->Z + b * s->n, z + b * z_stride, (size_t)s->n * sizeof(DOPT_REAL));
    st = DOPT_FN(dopt__deq_iterate)(s, map, ctx, trace, trace_len);
    if (st != DOPT_OK) return dopt_errinfo_set(info, st, -1, 0, "deq_solve: the map returned an error");
    return DOPT_FN(dopt__deq_finish)(s, z, z_stride, reports, info);
}

/* ---- backward ---------------------------------------------------------------------------------- */

typedef struct DOPT_FN(dopt__deq_adjoint_ctx) {
    DOPT_FN(dopt_deq_map_fn) vjp;
    void *ctx;
    const DOPT_REAL *g; /* n x batch contiguous */
} DOPT_FN(dopt__deq_adjoint_ctx);

/* The adjoint map u -> J^T u + g. */
static dopt_status DOPT_FN(dopt__deq_adjoint_map)(void *vctx, int n, ptrdiff_t batch, const DOPT_REAL *in,
                                                  DOPT_REAL *out, const unsigned char *active)
{
    const DOPT_FN(dopt__deq_adjoint_ctx) *a = (const DOPT_FN(dopt__deq_adjoint_ctx) *)vctx;
    dopt_status st = a->vjp(a->ctx, n, batch, in, out, active);
    ptrdiff_t i, nb = (ptrdiff_t)n * batch;
    if (st != DOPT_OK) return st;
    for (i = 0; i < nb; ++i) out[i] += a->g[i];
    return DOPT_OK;
}

/* Phantom gradient: u = tau sum_{i<k} M^i g, M = (1 - tau) I + tau J^T, by k - 1 products. */
static dopt_status DOPT_FN(dopt__deq_phantom)(DOPT_FN(dopt_deq_solver) *s, DOPT_FN(dopt_deq_map_fn) vjp,
                                              void *ctx, int k, DOPT_REAL tau)
{
    const ptrdiff_t nb = (ptrdiff_t)s->n * s->batch;
    DOPT_REAL *a = s->Z, *ja = s->F, *acc = s->best;
    ptrdiff_t i;
    int step;
    memcpy(a, s->aux, (size_t)nb * sizeof(DOPT_REAL));
    memcpy(acc, a, (size_t)nb * sizeof(DOPT_REAL));
    for (step = 1; step < k; ++step) {
        dopt_status st = vjp(ctx, s->n, s->batch, a, ja, NULL);
        s->map_calls++;
        if (st != DOPT_OK) return st;
        for (i = 0; i < nb; ++i) {
            a[i] = (1 - tau) * a[i] + tau * ja[i];
            acc[i] += a[i];
        }
    }
    for (i = 0; i < nb; ++i) acc[i] *= tau;
    return DOPT_OK;
}

DOPT_API dopt_status DOPT_FN(dopt_deq_backward)(DOPT_FN(dopt_deq_solver) *s,
                                               const dopt_deq_backward_options *opt,
                                               DOPT_FN(dopt_deq_map_fn) vjp, void *ctx,
                                               const DOPT_REAL *g, ptrdiff_t g_stride, DOPT_REAL *u,
                                               ptrdiff_t u_stride, dopt_deq_report *reports,
                                               dopt_errinfo *info)
{
    dopt_deq_backward_options o = dopt_deq_backward_default_options();
    const int n = s ? s->n : 0;
    ptrdiff_t b;
    dopt_status st;
    if (opt) {
        o.mode = opt->mode;
        if (opt->phantom_steps != 0) o.phantom_steps = opt->phantom_steps;
        if (opt->phantom_damping != 0) o.phantom_damping = opt->phantom_damping;
    }
    if (!s || !g || !u || g_stride < n || u_stride < n || (!vjp && o.mode != DOPT_DEQ_JACOBIAN_FREE))
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0,
                                "deq_backward: NULL solver/vjp/g/u or a stride < n");
    if ((int)o.mode < 0 || (int)o.mode >= (int)DOPT_DEQ_BACKWARD_MODE_COUNT || o.phantom_steps < 1 ||
        !(o.phantom_damping > 0 && o.phantom_damping <= 1))
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0,
                                "deq_backward: unknown mode, phantom_steps < 1 or damping outside (0, 1]");
    if (!DOPT_FN(dopt__deq_all_finite_strided)(n, s->batch, g, g_stride))
        return dopt_errinfo_set(info, DOPT_ERR_NON_FINITE, -1, 0, "deq_backward: NaN/Inf in g");
    for (b = 0; b < s->batch; ++b) memcpy(s->aux + b * n, g + b * g_stride, (size_t)n * sizeof(DOPT_REAL));
    s->map_calls = 0;
    if (o.mode == DOPT_DEQ_IMPLICIT) {
        DOPT_FN(dopt__deq_adjoint_ctx) a;
        a.vjp = vjp;
        a.ctx = ctx;
        a.g = s->aux;
        memcpy(s->Z, s->aux, (size_t)n * (size_t)s->batch * sizeof(DOPT_REAL));
        st = DOPT_FN(dopt__deq_iterate)(s, DOPT_FN(dopt__deq_adjoint_map), &a, NULL, 0);
        if (st != DOPT_OK) return dopt_errinfo_set(info, st, -1, 0, "deq_backward: the vjp returned an error");
        return DOPT_FN(dopt__deq_finish)(s, u, u_stride, reports, info);
    }
    if (o.mode == DOPT_DEQ_PHANTOM) {
        st = DOPT_FN(dopt__deq_phantom)(s, vjp, ctx, o.phantom_steps, (DOPT_REAL)o.phantom_damping);
        if (st != DOPT_OK) return dopt_errinfo_set(info, st, -1, 0, "deq_backward: the vjp returned an error");
    } else {
        memcpy(s->best, s->aux, (size_t)n * (size_t)s->batch * sizeof(DOPT_REAL));
    }
    st = DOPT_OK;
    for (b = 0; b < s->batch; ++b) {
        int fin = DOPT_FN(dopt__deq_all_finite_strided)(n, 1, s->best + b * n, n);
        memcpy(u + b * u_stride, s->best + b * n, (size_t)n * sizeof(DOPT_REAL));
        if (reports) {
            reports[b].status = fin ? DOPT_OK : DOPT_ERR_NON_FINITE;
            reports[b].iterations = o.mode == DOPT_DEQ_PHANTOM ? o.phantom_steps - 1 : 0;
            reports[b].residual = 0;
            reports[b].rel_residual = 0;
            reports[b].restarts = 0;
        }
        if (!fin && st == DOPT_OK)
            st = dopt_errinfo_set(info, DOPT_ERR_NON_FINITE, (long)b, 0, "deq_backward: NaN/Inf in the adjoint");
    }
    return st;
}

/* ---- the tanh layer ---------------------------------------------------------------------------- */

struct DOPT_FN(dopt_deq_tanh) {
    dopt_owned own;              /* the block of create (dopt_owned_keep), or none                  */
    int n, p;
    ptrdiff_t batch;
    const DOPT_REAL *W, *U, *b;
    DOPT_REAL *X;               /* p x batch copy of the input                                    */
    DOPT_REAL *C;               /* U X + b                                                        */
    DOPT_REAL *D;               /* 1 - f^2 at the linearized point                                */
    DOPT_REAL *A, *E, *V, *T;   /* scratch, n x batch                                             */
    DOPT_REAL *Zc;              /* contiguous copy of a strided z                                 */
    DOPT_REAL *Ua;              /* the adjoint of the last backward                               */
    DOPT_REAL *Xg;              /* p x batch scratch                                              */
    DOPT_REAL *WT;              /* W^T, formed by _set (the products' other operand)              */
    int *cols;                  /* batch: the active columns of the last product                  */
    int nn;                     /* the product form (tanh_nn_form)                                */
};

/* The product form of this build's kernels: 1 when out = M in runs as gemm NN (the n x n matrix
 * read in place as the micro-kernel's A operand, the result written in place), 0 for the
 * transposed form T = in^T M^T (the batch as the kernel's rows).  The AVX-512 micro-kernel is
 * MR = 24 doubles (48 floats) tall, so a batch of 32 rows fills 2/3 of its second sliver; NN
 * runs there 1.35-1.4x faster than the transposed form (n = 64 .. 1024, double).  On AVX2 (MR =
 * 8) and OpenBLAS the transposed form is faster (n = 256: 0.078 vs 0.086 ms; n = 1024: 1.45 vs
 * 2.29 ms on AVX2). */
static int DOPT_FN(dopt__deq_tanh_nn_form)(void)
{
#ifdef DOPT_USE_CBLAS
    return 0;
#else
    return strcmp(dopt_kernel_family(), "avx512") == 0;
#endif
}

#define DOPT__DEQ_TANH_BLOCKS 13
static size_t DOPT_FN(dopt__deq_tanh_layout)(int n, int p, ptrdiff_t B, size_t sizes[DOPT__DEQ_TANH_BLOCKS])
{
    size_t R = sizeof(DOPT_REAL), nb = (size_t)n * (size_t)B, pb = (size_t)p * (size_t)B, total = 0;
    int k;
    if ((size_t)B > ((size_t)-1 / 64) / ((size_t)n + (size_t)p) / R / 16) return 0;
    sizes[0] = sizeof(struct DOPT_FN(dopt_deq_tanh));
    sizes[1] = pb * R;                                           /* X  */
    for (k = 2; k < 10; ++k) sizes[k] = nb * R;                  /* C D A E V T Zc Ua */
    sizes[10] = pb * R;                                          /* Xg */
    sizes[11] = (size_t)n * (size_t)n * R;                       /* WT */
    sizes[12] = (size_t)B * sizeof(int);                         /* cols */
    for (k = 0; k < DOPT__DEQ_TANH_BLOCKS; ++k) total += DOPT_WORKSPACE_ROUND(sizes[k]);
    return total + DOPT_WORKSPACE_ALIGN;
}

DOPT_API dopt_status DOPT_FN(dopt_deq_tanh_workspace_size)(int n, int p, ptrdiff_t batch,
                                                          size_t *bytes, dopt_errinfo *info)
{
    size_t sizes[DOPT__DEQ_TANH_BLOCKS];
    if (!bytes || n < 1 || p < 1 || batch < 1)
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "deq_tanh: need n, p, batch >= 1");
    *bytes = DOPT_FN(dopt__deq_tanh_layout)(n, p, batch, sizes);
    if (*bytes == 0) return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "deq_tanh: size overflows");
    return DOPT_OK;
}

DOPT_API dopt_status DOPT_FN(dopt_deq_tanh_create_in)(void *memory, size_t bytes, int n, int p,
                                                     ptrdiff_t batch, DOPT_FN(dopt_deq_tanh) **out,
                                                     dopt_errinfo *info)
{
    size_t sizes[DOPT__DEQ_TANH_BLOCKS], need;
    void *blk[DOPT__DEQ_TANH_BLOCKS];
    dopt_workspace ws;
    DOPT_FN(dopt_deq_tanh) *L;
    int k;
    dopt_status st;
    if (!out) return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "deq_tanh: out is NULL");
    *out = NULL;
    st = DOPT_FN(dopt_deq_tanh_workspace_size)(n, p, batch, &need, info);
    if (st != DOPT_OK) return st;
    if (!memory || bytes < need) return dopt_errinfo_set(info, DOPT_ERR_ALLOCATION, -1, 0, "deq_tanh: workspace too small");
    DOPT_FN(dopt__deq_tanh_layout)(n, p, batch, sizes);
    dopt_workspace_init(&ws, memory, bytes);
    for (k = 0; k < DOPT__DEQ_TANH_BLOCKS; ++k) {
        blk[k] = dopt_workspace_take(&ws, sizes[k]);
        if (!blk[k]) return dopt_errinfo_set(info, DOPT_ERR_ALLOCATION, -1, 0, "deq_tanh: workspace too small");
    }
    L = (DOPT_FN(dopt_deq_tanh) *)blk[0];
    memset(L, 0, sizeof *L);
    L->n = n; L->p = p; L->batch = batch;
    L->X = (DOPT_REAL *)blk[1]; L->C = (DOPT_REAL *)blk[2]; L->D = (DOPT_REAL *)blk[3];
    L->A = (DOPT_REAL *)blk[4]; L->E = (DOPT_REAL *)blk[5]; L->V = (DOPT_REAL *)blk[6];
    L->T = (DOPT_REAL *)blk[7]; L->Zc = (DOPT_REAL *)blk[8]; L->Ua = (DOPT_REAL *)blk[9];
    L->Xg = (DOPT_REAL *)blk[10];
    L->WT = (DOPT_REAL *)blk[11];
    L->cols = (int *)blk[12];
    L->nn = DOPT_FN(dopt__deq_tanh_nn_form)();
    memset(L->X, 0, sizes[1]);
    memset(L->C, 0, sizes[2]);
    memset(L->D, 0, sizes[3]);
    memset(L->Ua, 0, sizes[9]);
    *out = L;
    return DOPT_OK;
}

DOPT_API dopt_status DOPT_FN(dopt_deq_tanh_create)(const dopt_hooks *hooks, int n, int p,
                                                  ptrdiff_t batch, DOPT_FN(dopt_deq_tanh) **out,
                                                  dopt_errinfo *info)
{
    size_t bytes = 0;
    void *mem;
    dopt_status st;
    if (!out) return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "deq_tanh: out is NULL");
    *out = NULL;
    st = DOPT_FN(dopt_deq_tanh_workspace_size)(n, p, batch, &bytes, info);
    mem = dopt_owned_alloc(hooks, bytes, &st, info);
    if (mem) st = DOPT_FN(dopt_deq_tanh_create_in)(mem, bytes, n, p, batch, out, info);
    return dopt_owned_keep(st, hooks, mem, bytes, st == DOPT_OK ? &(*out)->own : NULL);
}

DOPT_API void DOPT_FN(dopt_deq_tanh_destroy)(DOPT_FN(dopt_deq_tanh) *L)
{
    if (L) dopt_owned_release(&L->own);
}

/* A contiguous view of a strided n x batch array (copied into buf when the stride is not n). */
static const DOPT_REAL *DOPT_FN(dopt__deq_contig)(int n, ptrdiff_t B, const DOPT_REAL *z, ptrdiff_t stride,
                                                  DOPT_REAL *buf)
{
    ptrdiff_t b;
    if (stride == n || B == 1) return z;
    for (b = 0; b < B; ++b) memcpy(buf + b * n, z + b * stride, (size_t)n * sizeof(DOPT_REAL));
    return buf;
}

/* dst = src^T: src rows x cols (leading dimension lds), dst cols x rows (ldd), in 32 x 32 tiles
 * (a tile of each side stays in L1 while it is read or written with a stride). */
static void DOPT_FN(dopt__deq_transpose)(int rows, int cols, const DOPT_REAL *DOPT_RESTRICT src, ptrdiff_t lds,
                                         DOPT_REAL *DOPT_RESTRICT dst, ptrdiff_t ldd)
{
    int r0, c0, r, c;
    for (c0 = 0; c0 < cols; c0 += 32)
        for (r0 = 0; r0 < rows; r0 += 32) {
            const int r1 = r0 + 32 < rows ? r0 + 32 : rows, c1 = c0 + 32 < cols ? c0 + 32 : cols;
            for (r = r0; r < r1; ++r)
                for (c = c0; c < c1; ++c) dst[c + r * ldd] = src[r + c * lds];
        }
}

/* out[:, c] = M in[:, c] for the active columns c of the batch (all when active is NULL), in and
 * out n x batch contiguous, M n x n and Mt = M^T.  Converged columns are gathered out of the
 * product.  NN form (see tanh_nn_form): one gemm M in, straight into out when every column is
 * active.  Transposed form: the active columns are transposed once into V (na x n, leading
 * dimension na: the kernel reads its row slivers in place, no packing per column block),
 * T = V Mt, and T is transposed back.  Returns the number of active columns; L->cols lists them. */
static int DOPT_FN(dopt__deq_tanh_product)(DOPT_FN(dopt_deq_tanh) *L, const DOPT_REAL *M, const DOPT_REAL *Mt,
                                           const DOPT_REAL *in, DOPT_REAL *out, const unsigned char *active)
{
    const int n = L->n;
    int b, k, na = 0, i0, i;
    for (b = 0; b < (int)L->batch; ++b)
        if (!active || active[b]) L->cols[na++] = b;
    if (na == 0) return 0;
    if (L->nn) {
        const DOPT_REAL *src = in;
        DOPT_REAL *dst = na < (int)L->batch ? L->T : out;
        if (na < (int)L->batch) {
            for (k = 0; k < na; ++k) memcpy(L->V + (ptrdiff_t)k * n, in + (ptrdiff_t)L->cols[k] * n, (size_t)n * sizeof(DOPT_REAL));
            src = L->V;
        }
        DOPT_FN(dopt_gemm)(DOPT_NOTRANS, DOPT_NOTRANS, n, na, n, 1, M, n, src, n, 0, dst, n);
        if (dst != out)
            for (k = 0; k < na; ++k) memcpy(out + (ptrdiff_t)L->cols[k] * n, L->T + (ptrdiff_t)k * n, (size_t)n * sizeof(DOPT_REAL));
        return na;
    }
    for (i0 = 0; i0 < n; i0 += 32) { /* V = in[:, cols]^T, in tiles of 32 rows */
        const int i1 = i0 + 32 < n ? i0 + 32 : n;
        for (k = 0; k < na; ++k) {
            const DOPT_REAL *DOPT_RESTRICT c = in + (ptrdiff_t)L->cols[k] * n;
            DOPT_REAL *DOPT_RESTRICT v = L->V + k;
            for (i = i0; i < i1; ++i) v[(ptrdiff_t)i * na] = c[i];
        }
    }
    DOPT_FN(dopt_gemm)(DOPT_NOTRANS, DOPT_NOTRANS, na, n, n, 1, L->V, na, Mt, n, 0, L->T, na);
    for (i0 = 0; i0 < n; i0 += 32) {
        const int i1 = i0 + 32 < n ? i0 + 32 : n;
        for (k = 0; k < na; ++k) {
            DOPT_REAL *DOPT_RESTRICT o = out + (ptrdiff_t)L->cols[k] * n;
            const DOPT_REAL *DOPT_RESTRICT t = L->T + k;
            for (i = i0; i < i1; ++i) o[i] = t[(ptrdiff_t)i * na];
        }
    }
    return na;
}

DOPT_API dopt_status DOPT_FN(dopt_deq_tanh_set)(DOPT_FN(dopt_deq_tanh) *L, const DOPT_REAL *W,
                                               const DOPT_REAL *U, const DOPT_REAL *bias,
                                               const DOPT_REAL *x, ptrdiff_t x_stride,
                                               dopt_errinfo *info)
{
    int n, p, i;
    ptrdiff_t b;
    if (!L || !W || !U || !bias || !x || x_stride < L->p)
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "deq_tanh_set: NULL argument or x_stride < p");
    n = L->n; p = L->p;
    if (!DOPT_FN(dopt_matrix_all_finite)(n, n, W, n) || !DOPT_FN(dopt_matrix_all_finite)(n, p, U, n) ||
        !DOPT_FN(dopt_all_finite)(n, bias) || !DOPT_FN(dopt__deq_all_finite_strided)(p, L->batch, x, x_stride))
        return dopt_errinfo_set(info, DOPT_ERR_NON_FINITE, -1, 0, "deq_tanh_set: NaN/Inf in W, U, b or x");
    L->W = W; L->U = U; L->b = bias;
    for (b = 0; b < L->batch; ++b) memcpy(L->X + b * p, x + b * x_stride, (size_t)p * sizeof(DOPT_REAL));
    for (b = 0; b < L->batch; ++b)
        for (i = 0; i < n; ++i) L->C[b * n + i] = bias[i];
    DOPT_FN(dopt_gemm)(DOPT_NOTRANS, DOPT_NOTRANS, n, (int)L->batch, p, 1, U, n, L->X, p, 1, L->C, n);
    DOPT_FN(dopt__deq_transpose)(n, n, W, n, L->WT, n);
    return DOPT_OK;
}

DOPT_API dopt_status DOPT_FN(dopt_deq_tanh_map)(void *layer, int n, ptrdiff_t batch, const DOPT_REAL *in,
                                               DOPT_REAL *out, const unsigned char *active)
{
    DOPT_FN(dopt_deq_tanh) *L = (DOPT_FN(dopt_deq_tanh) *)layer;
    ptrdiff_t nb = (ptrdiff_t)n * batch;
    ptrdiff_t i;
    if (!L || !L->W || n != L->n || batch != L->batch) return DOPT_ERR_DIMENSION;
    for (i = 0; i < nb && in[i] == 0; ++i) {}
    if (i == nb) { /* z = 0 (the usual start): W z = 0, no product */
        memcpy(out, L->C, (size_t)nb * sizeof(DOPT_REAL));
        DOPT_FN(dopt__deq_tanh_add)(nb, out, NULL);
        return DOPT_OK;
    }
    if (DOPT_FN(dopt__deq_tanh_product)(L, L->W, L->WT, in, out, active) == (int)batch) {
        DOPT_FN(dopt__deq_tanh_add)(nb, out, L->C);
        return DOPT_OK;
    }
    for (i = 0; i < batch; ++i)
        if (active[i]) DOPT_FN(dopt__deq_tanh_add)(n, out + i * n, L->C + i * n);
    return DOPT_OK;
}

DOPT_API void DOPT_FN(dopt_deq_tanh_linearize)(DOPT_FN(dopt_deq_tanh) *L, const DOPT_REAL *z,
                                              ptrdiff_t z_stride)
{
    const DOPT_REAL *zc = DOPT_FN(dopt__deq_contig)(L->n, L->batch, z, z_stride, L->Zc);
    ptrdiff_t i, nb = (ptrdiff_t)L->n * L->batch;
    DOPT_FN(dopt__deq_tanh_product)(L, L->W, L->WT, zc, L->D, NULL);
    DOPT_FN(dopt__deq_tanh_add)(nb, L->D, L->C);
    for (i = 0; i < nb; ++i) L->D[i] = 1 - L->D[i] * L->D[i];
}

DOPT_API dopt_status DOPT_FN(dopt_deq_tanh_vjp)(void *layer, int n, ptrdiff_t batch, const DOPT_REAL *in,
                                               DOPT_REAL *out, const unsigned char *active)
{
    DOPT_FN(dopt_deq_tanh) *L = (DOPT_FN(dopt_deq_tanh) *)layer;
    ptrdiff_t i, nb = (ptrdiff_t)n * batch;
    if (!L || !L->W || n != L->n || batch != L->batch) return DOPT_ERR_DIMENSION;
    for (i = 0; i < nb; ++i) L->A[i] = L->D[i] * in[i];
    DOPT_FN(dopt__deq_tanh_product)(L, L->WT, L->W, L->A, out, active); /* W^T A */
    return DOPT_OK;
}

/* Add the parameter and input products of a (n x batch, contiguous, = d .* u or any ds) at the
 * point zc (contiguous): dW += a z^T, dU += a x^T, db += a 1, dx += U^T a. */
static void DOPT_FN(dopt__deq_tanh_param_products)(DOPT_FN(dopt_deq_tanh) *L, const DOPT_REAL *a,
                                                   const DOPT_REAL *zc, DOPT_REAL *dW, DOPT_REAL *dU,
                                                   DOPT_REAL *db, DOPT_REAL *dx, ptrdiff_t dx_stride)
{
    const int n = L->n, p = L->p, B = (int)L->batch;
    ptrdiff_t b;
    int i;
    if (dW) DOPT_FN(dopt_gemm)(DOPT_NOTRANS, DOPT_TRANS, n, n, B, 1, a, n, zc, n, 1, dW, n);
    if (dU) DOPT_FN(dopt_gemm)(DOPT_NOTRANS, DOPT_TRANS, n, p, B, 1, a, n, L->X, p, 1, dU, n);
    if (db)
        for (b = 0; b < B; ++b)
            for (i = 0; i < n; ++i) db[i] += a[b * n + i];
    if (dx) {
        DOPT_FN(dopt_gemm)(DOPT_TRANS, DOPT_NOTRANS, p, B, n, 1, L->U, n, a, n, 0, L->Xg, p);
        for (b = 0; b < B; ++b)
            for (i = 0; i < p; ++i) dx[b * dx_stride + i] += L->Xg[b * p + i];
    }
}

DOPT_API void DOPT_FN(dopt_deq_tanh_param_vjp)(DOPT_FN(dopt_deq_tanh) *L, const DOPT_REAL *z,
                                              ptrdiff_t z_stride, const DOPT_REAL *u,
                                              ptrdiff_t u_stride, DOPT_REAL *dW, DOPT_REAL *dU,
                                              DOPT_REAL *db, DOPT_REAL *dx, ptrdiff_t dx_stride)
{
    const int n = L->n;
    const DOPT_REAL *zc = DOPT_FN(dopt__deq_contig)(n, L->batch, z, z_stride, L->Zc);
    ptrdiff_t b;
    int i;
    for (b = 0; b < L->batch; ++b)
        for (i = 0; i < n; ++i) L->A[b * n + i] = L->D[b * n + i] * u[b * u_stride + i];
    DOPT_FN(dopt__deq_tanh_param_products)(L, L->A, zc, dW, dU, db, dx, dx_stride);
}

DOPT_API dopt_status DOPT_FN(dopt_deq_tanh_backward)(DOPT_FN(dopt_deq_tanh) *L,
                                                    DOPT_FN(dopt_deq_solver) *s,
                                                    const dopt_deq_backward_options *opt,
                                                    const DOPT_REAL *z, ptrdiff_t z_stride,
                                                    const DOPT_REAL *g, ptrdiff_t g_stride,
                                                    DOPT_REAL *dW, DOPT_REAL *dU, DOPT_REAL *db,
                                                    DOPT_REAL *dx, ptrdiff_t dx_stride,
                                                    dopt_deq_report *reports, dopt_errinfo *info)
{
    dopt_status st;
    if (!L || !s || !z || !g || z_stride < (L ? L->n : 0) || !L->W)
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "deq_tanh_backward: NULL argument, z_stride < n, or _set not called");
    if (s->n != L->n || s->batch != L->batch)
        return dopt_errinfo_set(info, DOPT_ERR_DIMENSION, -1, 0, "deq_tanh_backward: solver and layer sizes differ");
    if (dx && dx_stride < L->p)
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "deq_tanh_backward: dx_stride < p");
    DOPT_FN(dopt_deq_tanh_linearize)(L, z, z_stride);
    st = DOPT_FN(dopt_deq_backward)(s, opt, DOPT_FN(dopt_deq_tanh_vjp), L, g, g_stride, L->Ua, L->n,
                                    reports, info);
    if (st != DOPT_OK && st != DOPT_ERR_NO_CONVERGENCE) return st;
    DOPT_FN(dopt_deq_tanh_param_vjp)(L, z, z_stride, L->Ua, L->n, dW, dU, db, dx, dx_stride);
    return st;
}

DOPT_API const DOPT_REAL *DOPT_FN(dopt_deq_tanh_adjoint)(const DOPT_FN(dopt_deq_tanh) *L)
{
    return L ? L->Ua : NULL;
}

DOPT_API void DOPT_FN(dopt_deq_tanh_jacreg)(DOPT_FN(dopt_deq_tanh) *L, const DOPT_REAL *z,
                                           ptrdiff_t z_stride, dopt_rng *rng, DOPT_REAL weight,
                                           DOPT_REAL *R, DOPT_REAL *dW, DOPT_REAL *dU, DOPT_REAL *db,
                                           DOPT_REAL *dx, ptrdiff_t dx_stride, DOPT_REAL *dz,
                                           ptrdiff_t dz_stride)
{
    const int n = L->n, B = (int)L->batch;
    const DOPT_REAL *zc = DOPT_FN(dopt__deq_contig)(n, L->batch, z, z_stride, L->Zc);
    DOPT_REAL *T = L->T, *A = L->A, *E = L->E, *V = L->V;
    ptrdiff_t i, nb = (ptrdiff_t)n * B, b;
    for (i = 0; i < nb; ++i) E[i] = (DOPT_REAL)dopt_rng_normal_d(rng);
    /* T = f = tanh(W z + C);  A = a = (1 - f^2) .* eps;  T = q = d(1 - f^2)/ds = -2 f (1 - f^2) */
    DOPT_FN(dopt_gemm)(DOPT_NOTRANS, DOPT_NOTRANS, n, B, n, 1, L->W, n, zc, n, 0, T, n);
    DOPT_FN(dopt__deq_tanh_add)(nb, T, L->C);
    for (i = 0; i < nb; ++i) {
        DOPT_REAL f = T[i], d = 1 - f * f;
        A[i] = d * E[i];
        T[i] = -2 * f * d;
    }
    /* V = v = W^T a;  R_b = ||v_b||^2 */
    DOPT_FN(dopt_gemm)(DOPT_TRANS, DOPT_NOTRANS, n, B, n, 1, L->W, n, A, n, 0, V, n);
    if (R)
        for (b = 0; b < B; ++b) R[b] = DOPT_FN(dopt__deq_dot)(n, V + b * n, V + b * n);
    /* through W^T directly: dW += 2 w a v^T */
    if (dW) DOPT_FN(dopt_gemm)(DOPT_NOTRANS, DOPT_TRANS, n, n, B, 2 * weight, A, n, V, n, 1, dW, n);
    /* through a: dR/da = 2 W v;  through d: r = dR/ds = 2 w (W v) .* eps .* q */
    DOPT_FN(dopt_gemm)(DOPT_NOTRANS, DOPT_NOTRANS, n, B, n, 1, L->W, n, V, n, 0, A, n);
    for (i = 0; i < nb; ++i) A[i] = 2 * weight * A[i] * E[i] * T[i];
    DOPT_FN(dopt__deq_tanh_param_products)(L, A, zc, dW, dU, db, dx, dx_stride);
    if (dz) {
        DOPT_FN(dopt_gemm)(DOPT_TRANS, DOPT_NOTRANS, n, B, n, 1, L->W, n, A, n, 0, V, n);
        for (b = 0; b < B; ++b)
            for (i = 0; i < n; ++i) dz[b * dz_stride + i] += V[b * n + i];
    }
}

/* ---- JIIO -------------------------------------------------------------------------------------- */

struct DOPT_FN(dopt_deq_jiio) {
    dopt_owned own;              /* the block of create (dopt_owned_keep), or none                  */
    int n, p, N;
    ptrdiff_t batch;
    DOPT_REAL alpha_z, alpha_mu, alpha_x;
    DOPT_FN(dopt_deq_solver) *solver;
    const DOPT_FN(dopt_deq_jiio_problem) *prob;
    long evals;
    DOPT_REAL *V;                           /* N x batch stacked [z; mu; x]                     */
    DOPT_REAL *z, *mu, *fz, *jz, *gz;       /* n x batch                                        */
    DOPT_REAL *x, *jx, *gx;                 /* p x batch                                        */
};

static dopt_status DOPT_FN(dopt__deq_jiio_resolve)(const dopt_deq_jiio_options *in, dopt_deq_jiio_options *o,
                                                   dopt_errinfo *info)
{
    dopt_deq_jiio_options zero;
    memset(&zero, 0, sizeof zero);
    *o = in ? *in : zero;
    if (o->alpha_z == 0) o->alpha_z = 1;
    if (o->alpha_mu == 0) o->alpha_mu = 1;
    if (o->alpha_x == 0) o->alpha_x = 0.1;
    if (!(o->alpha_z > 0 && o->alpha_z <= 1) || !(o->alpha_mu > 0 && o->alpha_mu <= 1) || !(o->alpha_x > 0))
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0,
                                "deq_jiio: alpha_z, alpha_mu must be in (0, 1], alpha_x > 0");
    return DOPT_OK;
}

static size_t DOPT_FN(dopt__deq_jiio_layout)(int n, int p, ptrdiff_t B, size_t solver_bytes, size_t sizes[4])
{
    size_t R = sizeof(DOPT_REAL), N = 2 * (size_t)n + (size_t)p;
    sizes[0] = sizeof(struct DOPT_FN(dopt_deq_jiio));
    sizes[1] = solver_bytes;
    sizes[2] = N * (size_t)B * R;
    sizes[3] = (5 * (size_t)n + 3 * (size_t)p) * (size_t)B * R;
    return DOPT_WORKSPACE_ROUND(sizes[0]) + DOPT_WORKSPACE_ROUND(sizes[1]) + DOPT_WORKSPACE_ROUND(sizes[2]) +
           DOPT_WORKSPACE_ROUND(sizes[3]) + DOPT_WORKSPACE_ALIGN;
}

DOPT_API dopt_status DOPT_FN(dopt_deq_jiio_workspace_size)(int n, int p, ptrdiff_t batch,
                                                          const dopt_deq_jiio_options *opt,
                                                          size_t *bytes, dopt_errinfo *info)
{
    dopt_deq_jiio_options o;
    size_t sb, sizes[4];
    dopt_status st;
    if (!bytes || n < 1 || p < 1 || batch < 1 || n > (1 << 28) || p > (1 << 28))
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "deq_jiio: need n, p, batch >= 1");
    st = DOPT_FN(dopt__deq_jiio_resolve)(opt, &o, info);
    if (st != DOPT_OK) return st;
    st = DOPT_FN(dopt_deq_solver_workspace_size)(2 * n + p, batch, &o.solver, &sb, info);
    if (st != DOPT_OK) return st;
    *bytes = DOPT_FN(dopt__deq_jiio_layout)(n, p, batch, sb, sizes);
    return DOPT_OK;
}

DOPT_API dopt_status DOPT_FN(dopt_deq_jiio_create_in)(void *memory, size_t bytes, int n, int p,
                                                     ptrdiff_t batch, const dopt_deq_jiio_options *opt,
                                                     DOPT_FN(dopt_deq_jiio) **out, dopt_errinfo *info)
{
    dopt_deq_jiio_options o;
    size_t need, sb, sizes[4];
    void *blk[4];
    dopt_workspace ws;
    DOPT_FN(dopt_deq_jiio) *J;
    DOPT_REAL *w;
    size_t nb, pb;
    int k;
    dopt_status st;
    if (!out) return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "deq_jiio: out is NULL");
    *out = NULL;
    st = DOPT_FN(dopt_deq_jiio_workspace_size)(n, p, batch, opt, &need, info);
    if (st != DOPT_OK) return st;
    DOPT_FN(dopt__deq_jiio_resolve)(opt, &o, info);
    if (!memory || bytes < need) return dopt_errinfo_set(info, DOPT_ERR_ALLOCATION, -1, 0, "deq_jiio: workspace too small");
    DOPT_FN(dopt_deq_solver_workspace_size)(2 * n + p, batch, &o.solver, &sb, info);
    DOPT_FN(dopt__deq_jiio_layout)(n, p, batch, sb, sizes);
    dopt_workspace_init(&ws, memory, bytes);
    for (k = 0; k < 4; ++k) {
        blk[k] = dopt_workspace_take(&ws, sizes[k]);
        if (!blk[k]) return dopt_errinfo_set(info, DOPT_ERR_ALLOCATION, -1, 0, "deq_jiio: workspace too small");
    }
    J = (DOPT_FN(dopt_deq_jiio) *)blk[0];
    memset(J, 0, sizeof *J);
    st = DOPT_FN(dopt_deq_solver_create_in)(blk[1], sizes[1], 2 * n + p, batch, &o.solver, &J->solver, info);
    if (st != DOPT_OK) return st;
    J->n = n; J->p = p; J->N = 2 * n + p; J->batch = batch;
    J->alpha_z = (DOPT_REAL)o.alpha_z; J->alpha_mu = (DOPT_REAL)o.alpha_mu; J->alpha_x = (DOPT_REAL)o.alpha_x;
    J->V = (DOPT_REAL *)blk[2];
    nb = (size_t)n * (size_t)batch; pb = (size_t)p * (size_t)batch;
    w = (DOPT_REAL *)blk[3];
    J->z = w; J->mu = w + nb; J->fz = w + 2 * nb; J->jz = w + 3 * nb; J->gz = w + 4 * nb;
    J->x = w + 5 * nb; J->jx = J->x + pb; J->gx = J->jx + pb;
    *out = J;
    return DOPT_OK;
}

DOPT_API dopt_status DOPT_FN(dopt_deq_jiio_create)(const dopt_hooks *hooks, int n, int p,
                                                  ptrdiff_t batch, const dopt_deq_jiio_options *opt,
                                                  DOPT_FN(dopt_deq_jiio) **out, dopt_errinfo *info)
{
    size_t bytes = 0;
    void *mem;
    dopt_status st;
    if (!out) return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "deq_jiio: out is NULL");
    *out = NULL;
    st = DOPT_FN(dopt_deq_jiio_workspace_size)(n, p, batch, opt, &bytes, info);
    mem = dopt_owned_alloc(hooks, bytes, &st, info);
    if (mem) st = DOPT_FN(dopt_deq_jiio_create_in)(mem, bytes, n, p, batch, opt, out, info);
    return dopt_owned_keep(st, hooks, mem, bytes, st == DOPT_OK ? &(*out)->own : NULL);
}

DOPT_API void DOPT_FN(dopt_deq_jiio_destroy)(DOPT_FN(dopt_deq_jiio) *J)
{
    if (J) dopt_owned_release(&J->own);
}

DOPT_API long DOPT_FN(dopt_deq_jiio_evaluations)(const DOPT_FN(dopt_deq_jiio) *J)
{
    return J ? J->evals : 0;
}

/* The joint map on v = [z; mu; x] (N x batch contiguous). */
static dopt_status DOPT_FN(dopt__deq_jiio_map)(void *vctx, int N, ptrdiff_t B, const DOPT_REAL *v,
                                               DOPT_REAL *out, const unsigned char *active)
{
    DOPT_FN(dopt_deq_jiio) *J = (DOPT_FN(dopt_deq_jiio) *)vctx;
    const DOPT_FN(dopt_deq_jiio_problem) *P = J->prob;
    const int n = J->n, p = J->p;
    ptrdiff_t b;
    int i;
    dopt_status st;
    (void)active;
    for (b = 0; b < B; ++b) {
        memcpy(J->z + b * n, v + b * N, (size_t)n * sizeof(DOPT_REAL));
        memcpy(J->mu + b * n, v + b * N + n, (size_t)n * sizeof(DOPT_REAL));
        memcpy(J->x + b * p, v + b * N + 2 * n, (size_t)p * sizeof(DOPT_REAL));
    }
    memset(J->gx, 0, (size_t)p * (size_t)B * sizeof(DOPT_REAL));
    J->evals++;
    st = P->map(P->ctx, n, p, B, J->z, J->x, J->fz);
    if (st == DOPT_OK) st = P->vjp(P->ctx, n, p, B, J->z, J->x, J->fz, J->mu, J->jz, J->jx);
    if (st == DOPT_OK) st = P->loss_grad(P->ctx, n, p, B, J->z, J->x, J->gz, J->gx);
    if (st != DOPT_OK) return st;
    for (b = 0; b < B; ++b) {
        const DOPT_REAL *z = J->z + b * n, *mu = J->mu + b * n, *x = J->x + b * p;
        DOPT_REAL *oz = out + b * N, *om = oz + n, *ox = oz + 2 * n;
        for (i = 0; i < n; ++i) {
            oz[i] = (1 - J->alpha_z) * z[i] + J->alpha_z * J->fz[b * n + i];
            om[i] = (1 - J->alpha_mu) * mu[i] + J->alpha_mu * (J->jz[b * n + i] + J->gz[b * n + i]);
        }
        for (i = 0; i < p; ++i) ox[i] = x[i] - J->alpha_x * (J->jx[b * p + i] + J->gx[b * p + i]);
    }
    return DOPT_OK;
}

DOPT_API dopt_status DOPT_FN(dopt_deq_jiio_solve)(DOPT_FN(dopt_deq_jiio) *J,
                                                 const DOPT_FN(dopt_deq_jiio_problem) *prob,
                                                 DOPT_REAL *z, ptrdiff_t z_stride, DOPT_REAL *mu,
                                                 ptrdiff_t mu_stride, DOPT_REAL *x, ptrdiff_t x_stride,
                                                 dopt_deq_report *reports, dopt_errinfo *info)
{
    ptrdiff_t b;
    int n, p, N;
    dopt_status st;
    if (!J || !prob || !prob->map || !prob->vjp || !prob->loss_grad || !z || !mu || !x ||
        z_stride < J->n || mu_stride < J->n || x_stride < J->p)
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0,
                                "deq_jiio_solve: NULL argument/callback or a stride below its size");
    n = J->n; p = J->p; N = J->N;
    for (b = 0; b < J->batch; ++b) {
        memcpy(J->V + b * N, z + b * z_stride, (size_t)n * sizeof(DOPT_REAL));
        memcpy(J->V + b * N + n, mu + b * mu_stride, (size_t)n * sizeof(DOPT_REAL));
        memcpy(J->V + b * N + 2 * n, x + b * x_stride, (size_t)p * sizeof(DOPT_REAL));
    }
    J->prob = prob;
    J->evals = 0;
    st = DOPT_FN(dopt_deq_solve)(J->solver, DOPT_FN(dopt__deq_jiio_map), J, J->V, N, reports, NULL, 0, info);
    for (b = 0; b < J->batch; ++b) {
        memcpy(z + b * z_stride, J->V + b * N, (size_t)n * sizeof(DOPT_REAL));
        memcpy(mu + b * mu_stride, J->V + b * N + n, (size_t)n * sizeof(DOPT_REAL));
        memcpy(x + b * x_stride, J->V + b * N + 2 * n, (size_t)p * sizeof(DOPT_REAL));
    }
    return st;
}

DOPT_API dopt_status DOPT_FN(dopt_deq_tanh_jiio_map)(void *layer, int n, int p, ptrdiff_t batch,
                                                    const DOPT_REAL *z, const DOPT_REAL *x,
                                                    DOPT_REAL *fz)
{
    DOPT_FN(dopt_deq_tanh) *L = (DOPT_FN(dopt_deq_tanh) *)layer;
    ptrdiff_t b;
    int i;
    if (!L || !L->W || n != L->n || p != L->p || batch != L->batch) return DOPT_ERR_DIMENSION;
    for (b = 0; b < batch; ++b)
        for (i = 0; i < n; ++i) fz[b * n + i] = L->b[i];
    DOPT_FN(dopt_gemm)(DOPT_NOTRANS, DOPT_NOTRANS, n, (int)batch, p, 1, L->U, n, x, p, 1, fz, n);
    DOPT_FN(dopt_gemm)(DOPT_NOTRANS, DOPT_NOTRANS, n, (int)batch, n, 1, L->W, n, z, n, 1, fz, n);
    for (b = 0; b < (ptrdiff_t)n * batch; ++b) fz[b] = (DOPT_REAL)dopt__deq_tanh_scalar((double)fz[b]);
    return DOPT_OK;
}

DOPT_API dopt_status DOPT_FN(dopt_deq_tanh_jiio_vjp)(void *layer, int n, int p, ptrdiff_t batch,
                                                    const DOPT_REAL *z, const DOPT_REAL *x,
                                                    const DOPT_REAL *fz, const DOPT_REAL *mu,
                                                    DOPT_REAL *jz, DOPT_REAL *jx)
{
    DOPT_FN(dopt_deq_tanh) *L = (DOPT_FN(dopt_deq_tanh) *)layer;
    ptrdiff_t i;
    (void)z;
    (void)x;
    if (!L || !L->W || n != L->n || p != L->p || batch != L->batch) return DOPT_ERR_DIMENSION;
    for (i = 0; i < (ptrdiff_t)n * batch; ++i) L->A[i] = (1 - fz[i] * fz[i]) * mu[i];
    DOPT_FN(dopt_gemm)(DOPT_TRANS, DOPT_NOTRANS, n, (int)batch, n, 1, L->W, n, L->A, n, 0, jz, n);
    DOPT_FN(dopt_gemm)(DOPT_TRANS, DOPT_NOTRANS, p, (int)batch, n, 1, L->U, n, L->A, n, 0, jx, p);
    return DOPT_OK;
}

#ifdef __cplusplus
}
#endif
#endif /* DOPT_DEQ__PASS_IMPL */
