/* dopt.h — differentiable optimization kit, core module.                      (C99, header-only)
 *
 * WHAT THIS IS
 *   dopt is a set of single-header STB-style C99 modules for differentiable optimization: solvers
 *   whose solutions you can also differentiate.  This header is the core every other module
 *   stands on:
 *     - status codes and error details            (dopt_status, dopt_status_string, dopt_errinfo)
 *     - user hooks: allocator, log callback       (dopt_hooks), assert macro (DOPT_ASSERT)
 *     - the workspace convention                  (size query, caller memory; dopt_workspace, dopt_owned)
 *     - a seedable, platform-independent RNG      (dopt_rng: xoshiro256**, polar normals)
 *     - dense kernels in float and double         (BLAS/LAPACK-like: gemm, syrk, trsm, potrf, ...)
 *     - the manifold descriptor that other modules (dopt_lie.h) fill in for the least-squares layer.
 *     - the nonlinear least-squares layer           (dopt_nlls_*: GN / LM / Dogleg, see below)
 *     - its backward modes                          (dopt_nlls_diff_*: IMPLICIT, UNROLL, TRUNCATED,
 *       DLM; learnable data, weights, loss radii)   (the DIFFERENTIABLE LEAST SQUARES section)
 *
 * NONLINEAR LEAST SQUARES (dopt_nlls_*, near the end of this file)
 *   minimize S(x) = 1/2 sum_i rho_i( ||W_i c_i(x^i)||^2 ) over variables that live on manifolds
 *   (dopt_manifold: R^n, or the Lie groups of dopt_lie.h), for a BATCH of B problems that share
 *   one structure.  You describe variables (dopt_nlls_add_variable) and cost terms
 *   (dopt_nlls_add_cost: a dopt_cost_fn callback returning the residual and tangent Jacobians —
 *   or numeric differentiation —, a weight W: scalar, diagonal or square-root information, a
 *   robust loss rho: Huber, Cauchy, Welsch, Tukey, Geman-McClure, soft-L1), create a solver once
 *   (the block pattern of J^T J and the linear solver's symbolic analysis are made there, shared
 *   by the batch and every later solve) and call dopt_nlls_solve as often as you like: it
 *   allocates nothing.  Methods: Levenberg-Marquardt (Ceres' or GTSAM's damping), Gauss-Newton
 *   (optional line search), Powell's dogleg.  Linear solvers plug in through
 *   dopt_linear_solver (dense Cholesky built in; dopt_sparse.h's supernodal Cholesky for large
 *   problems: dopt_sparse_linear_solver_d).  With a linear solver that has the LANE BATCH
 *   (factor_batch: several matrices per call, one vector lane each), Levenberg-Marquardt runs a
 *   batch in lockstep groups, one factorization call per iteration for the whole group, each
 *   element still taking exactly its own steps (dopt_nlls_options.sequential_batch).
 *   Beyond unconstrained problems: BOUNDS on Euclidean variables (dopt_nlls_set_bounds) and
 *   EQUALITY CONSTRAINTS c(x) = 0 on any variables (dopt_nlls_add_constraint), solved by a
 *   projected Levenberg-Marquardt whose step is the damped KKT step with the active bounds
 *   pinned (the method, and why, at dopt_nlls_solve: CONSTRAINED LEAST SQUARES), and
 *   differentiated through the active set (IMPLICIT); cost data, weights and enabled flags
 *   edited between solves without a new analysis (dopt_nlls_set_cost_*); RAGGED batches of
 *   problems of different sizes, no padding (dopt_nlls_ragged_*); the LM damping as a
 *   learnable quantity of the unrolled solve (dopt_nlls_diff_damping_grad).
 *   A failed factorization names the variable and the likely cause (gauge freedom,
 *   an unconstrained variable).  dopt_nlls_check_jacobian compares a cost's analytic Jacobians with
 *   central differences on the tangent space.  Example (fit y = exp(m t + c); cc ex.c -lm):
 *       #define DOPT_IMPLEMENTATION
 *       #include "dopt.h"
 *       #include <stdio.h>
 *       typedef struct point { double t, y; } point;
 *       // r = y - exp(m t + c), J = dr / d[m c] (1 x 2, row-major)
 *       static dopt_status exp_residual(const void *data, const double *const *x, double *r,
 *                                       double *const *J) {
 *           const point *q = (const point *)data;
 *           double e = exp(x[0][0] * q->t + x[0][1]);
 *           r[0] = q->y - e;
 *           if (J && J[0]) { J[0][0] = -q->t * e; J[0][1] = -e; }
 *           return DOPT_OK;
 *       }
 *       int main(void) {
 *           point pts[20];  double x[2] = {0, 0};  int i, v;
 *           dopt_nlls_problem_d *p;  dopt_nlls_solver_d *s;  dopt_nlls_report report;
 *           dopt_manifold_d R2 = dopt_manifold_euclidean_d(2);
 *           for (i = 0; i < 20; ++i) { pts[i].t = 0.05 * i; pts[i].y = exp(0.3 * pts[i].t + 0.1); }
 *           if (dopt_nlls_problem_create_d(NULL, 1, &p)) return 1;   // a batch of one problem
 *           dopt_nlls_add_variable_d(p, &R2, &v);
 *           for (i = 0; i < 20; ++i) {                                 // one cost per data point
 *               dopt_nlls_cost_desc_d d = {0};
 *               d.fn = exp_residual; d.data = &pts[i]; d.rdim = 1; d.nvars = 1; d.vars = &v;
 *               dopt_nlls_add_cost_d(p, &d, NULL);
 *           }
 *           if (dopt_nlls_solver_create_d(p, NULL, &s, NULL)) return 1;     // NULL: dense Cholesky
 *           if (dopt_nlls_solve_d(s, NULL, x, 0, &report, NULL, NULL)) return 1;
 *           printf("m = %g, c = %g\n", x[0], x[1]);
 *           dopt_nlls_solver_destroy_d(s);  dopt_nlls_problem_destroy_d(p);
 *           return 0;
 *       }
 *   examples/curve_fit_ls.c and examples/pgo.c are longer programs.
 *
 * HOW TO USE
 *   In exactly one C (or C++) file:          #define DOPT_IMPLEMENTATION
 *                                            #include "dopt.h"
 *   Everywhere else just #include "dopt.h".  Link with -lm.  Other modules (dopt_lie.h, ...)
 *   follow the same rule; define DOPT_IMPLEMENTATION once before including all of them.
 *
 *   Minimal example (cc -std=c99 ex.c -lm):
 *       #define DOPT_IMPLEMENTATION
 *       #include "dopt.h"
 *       #include <stdio.h>
 *       int main(void) {
 *           double A[4] = {4, 2, 2, 3};              // column-major 2x2 SPD matrix
 *           double b[2] = {2, 1};
 *           int bad_col;
 *           if (dopt_potrf_d(2, A, 2, &bad_col) != DOPT_OK) return 1;   // A = L L^T in place
 *           dopt_potrs_d(2, 1, A, 2, b, 2);                              // b <- A^{-1} b
 *           printf("x = %g %g\n", b[0], b[1]);
 *           return 0;
 *       }
 *
 * FLOAT AND DOUBLE: THE ONE MECHANISM
 *   Every numeric function exists twice, with suffix _f (float) and _d (double), generated from one
 *   source by SELF-INCLUSION: a header keeps its precision-generic code in blocks written with the
 *   macros below, and asks dopt.h's "driver" to include that block once per precision:
 *       DOPT_REAL      the real type (float or double)
 *       DOPT_FN(name)  name##_f or name##_d: every generic function and type name goes through it
 *       DOPT_M(fn)     the libm function of that precision: DOPT_M(sqrt) is sqrtf or sqrt
 *       DOPT_EPS       machine epsilon of DOPT_REAL;  DOPT_IS_FLOAT is 1 for float, 0 for double
 *   The code is ordinary C in the header, so compiler errors and gdb point at real lines, and the
 *   float copy can never drift from the double one.  A module header does:
 *       #define DOPT_LIE__PASS_DECL           (which block of mine to emit)
 *       #define DOPT__DRIVE "dopt_lie.h"      (which file holds it)
 *       #include "dopt.h"                     (driver: includes "dopt_lie.h" for float, then double)
 *       #undef DOPT__DRIVE
 *       #undef DOPT_LIE__PASS_DECL
 *   and the pass block itself starts with `#if defined(DOPT_LIE__PASS_DECL)`.  The macros exist only
 *   inside pass blocks.  Quoted includes search the including file's folder first, so the headers
 *   only need to sit together.  C11 users may add _Generic front macros of their own; the API does
 *   not depend on them.
 *   User code uses the same driver under its public name DOPT_GENERIC (DOPT__DRIVE and the
 *   DOPT_<MODULE>__PASS_* macros are the headers' own):
 *       // my_fit.c: one source, my_residual_f and my_residual_d
 *       #ifndef DOPT_REAL                              (ordinary inclusion)
 *       #include "dopt.h"
 *       #define DOPT_GENERIC "my_fit.c"
 *       #include "dopt.h"                              (includes my_fit.c for float, then double)
 *       #undef DOPT_GENERIC
 *       ... code using my_residual_d ...
 *       #else                                          (a pass: DOPT_REAL, DOPT_FN, ... defined)
 *       static DOPT_REAL DOPT_FN(my_residual)(const DOPT_REAL *x) { return DOPT_M(exp)(x[0]); }
 *       #endif
 *   The pass macros (DOPT_REAL, DOPT_FN, DOPT_M, DOPT_EPS, DOPT_IS_FLOAT) are undefined again
 *   after each pass; the tests are written this way.
 *
 * CONVENTIONS
 *   - Dense matrices are COLUMN-MAJOR with a leading dimension (lda >= rows), as in BLAS/LAPACK, so
 *     the optional CBLAS backend maps one to one.  (Small Jacobians in dopt_lie.h are row-major and
 *     say so.)  Sizes are int; indices are 0-based; batched forms take a batch count and strides.
 *   - Every fallible function returns dopt_status; failures that have a location report it
 *     (e.g. the failing column of a Cholesky factorization, the line of a malformed file).
 *   - Memory: functions that need scratch take a caller-provided workspace whose size in bytes is
 *     queried first (`*_workspace_size`); allocating convenience wrappers route through dopt_hooks.
 *     A zeroed dopt_hooks (or NULL) means: libc malloc/realloc/free, no logging.
 *   - No global mutable state: all state lives in objects the caller owns, so different problems
 *     may be solved concurrently from different threads.
 *
 * API CONVENTION (every module follows it; new modules copy it)
 *   - Names: dopt_<module>_<verb> or dopt_<module>_<object>_<verb> (dopt_nlls_solve,
 *     dopt_sparse_factor, dopt_mpc_lqr_solve), with the precision suffix _f / _d on everything
 *     precision-generic; private helpers dopt__<module>_*; macros DOPT_<MODULE>_*.
 *   - Objects: dopt_X_create(hooks, ..., &out) and dopt_X_destroy(obj).  Hooks come first, are
 *     copied into the object, and the object uses them until destroy (destroy takes no hooks;
 *     NULL is a valid no-op argument).  Plain-data results that a reader fills (a parsed file)
 *     are objects too: created by the reader, released with their own _destroy.
 *   - Caller memory: an object whose size is known from its dimensions also offers
 *     dopt_X_workspace_size(dims..., &bytes) and dopt_X_create_in(memory, bytes, dims..., &out),
 *     which carves everything from `memory` (no allocation, DOPT_ERR_ALLOCATION if `bytes` is too
 *     small); dopt_X_create is that plus one allocation through the hooks (dopt_owned).  Objects
 *     whose size follows a structure built call by call or analyzed at creation (the
 *     least-squares problem, solver and diff view, the sparse factorization, the BA solver, a
 *     reader's result) have no create_in: they allocate through their hooks when created.  Solves
 *     and backward passes on a created object never allocate.
 *   - Integers: int for the dimensions of one small dense block (n, m, lda, a state size);
 *     ptrdiff_t for batch counts, element strides, nonzero counts and anything that can pass
 *     2^31 (long is 32-bit on Windows); dopt_errinfo's index and line stay long, printable with
 *     %ld everywhere, and saturate at LONG_MAX (dopt_errinfo_set).  Strides count elements (reals), never bytes, except a
 *     user-data stride documented as opaque bytes.  A stride of 0 means "shared by the batch"
 *     where the doc comment says so.
 *   - Batches: every solver takes a batch of B problems of one structure; element b reads
 *     A + b * strideA.  Each element gets its own status in the report (dopt_status per element);
 *     the call's return is the first failing element's status (errinfo.index = that element),
 *     unless the element policy (FLAG / ZERO / FAIL, as dopt_nlls_diff_policy) says otherwise.
 *   - Statuses: every fallible call returns dopt_status and takes a trailing dopt_errinfo *info
 *     (may be NULL).  I/O failures (missing, unreadable file) are DOPT_ERR_IO; malformed content
 *     is DOPT_ERR_PARSE with the line.  DOPT_OK is returned only with finite outputs that mean
 *     what the status says: a solve that claims convergence moved or was already optimal, and a
 *     backward pass checks its own gradients and reports DOPT_ERR_NON_FINITE per element.
 *   - Options: a struct whose zero value means "all defaults"; each field's 0 is its default,
 *     and "off" has a named value (DOPT_OFF, a negative number, for tolerances and limits);
 *     dopt_X_default_options() writes the defaults out; one private resolve step per struct
 *     turns zeros into defaults and rejects out-of-range values (an unknown enum value is
 *     DOPT_ERR_INVALID_ARGUMENT, never silently accepted).
 *   - Forward and backward: dopt_X_solve fills the solution and keeps what the backward needs
 *     (factorizations) in the object; dopt_X_backward takes the adjoint of the outputs and writes
 *     the gradients of the inputs with the same layout and strides as the inputs, reusing the
 *     forward's factors.  A NULL gradient pointer means "not wanted".
 *
 * OPTIONS (define before including)
 *   DOPT_IMPLEMENTATION   emit the implementation in this translation unit
 *   DOPT_STATIC           make every function static (private copy per translation unit)
 *   DOPT_SHARED           building or using libdopt.so (`make lib`): public functions get default
 *                         visibility, so a library built with -fvisibility=hidden exports dopt_*
 *                         and nothing else
 *   DOPT_ASSERT(x)        assertion hook (default: assert from <assert.h>)
 *   DOPT_USE_CBLAS        route gemm/gemv/syrk/trsm/potrf/getrf to CBLAS + LAPACKE (e.g. OpenBLAS;
 *                         link -lopenblas or -lcblas -llapacke); results agree with the built-ins
 *                         to rounding.
 *   DOPT_NO_STDIO         leave out the helpers that need <stdio.h> (file readers, vsnprintf logs)
 *   DOPT_NO_SIMD          use the plain-C micro-kernels even where GCC/Clang vector extensions
 *                         (AVX-512, AVX2 + FMA, NEON) would be used (dopt.h's gemm tile,
 *                         dopt_sparse.h's kernels); DOPT_NO_VECTOR_EXT is the older spelling.
 *                         dopt_kernel_family() says which kernels a build runs.
 *   DOPT_NO_DISPATCH      keep the compile-time kernel family only.  By default, GCC and Clang
 *                         on x86-64 building without AVX2 + FMA in the target flags (plain
 *                         `cc -O2`, no -march) compile the kernels for avx512, avx2 and plain C
 *                         and every call runs the best family the CPU has (cpuid, as libgcc
 *                         reads it at startup; no state in dopt), so one binary runs at full
 *                         speed on every x86-64 CPU.  A -march with AVX2 + FMA or AVX-512
 *                         compiles that family alone (-march=x86-64-v3 runs AVX2 kernels on an
 *                         AVX-512 CPU).  MSVC gets the compile-time choice: plain C (it has no
 *                         GCC vector extensions).  The lane batch of dopt_sparse.h keeps the
 *                         compile-time family.
 *
 * LICENSE: MIT, see the end of the file.
 */

/* =============================================================================================== */
/* Precision driver: re-entered by any dopt header that defines DOPT__DRIVE to instantiate its    */
/* generic pass blocks for float and then double (DOPT_REAL is defined only inside a pass).       */
/* =============================================================================================== */
#if defined(DOPT_GENERIC) && !defined(DOPT__DRIVE) && !defined(DOPT_REAL)
#define DOPT__DRIVE DOPT_GENERIC /* user code: the public spelling of the driver (see above) */
#define DOPT__DRIVE_USER
#endif
#if defined(DOPT__DRIVE) && !defined(DOPT_REAL)
#define DOPT_REAL float
#define DOPT_FN(name) name##_f
#define DOPT_M(fn) fn##f
#define DOPT_EPS FLT_EPSILON
#define DOPT_IS_FLOAT 1
#include DOPT__DRIVE
#undef DOPT_REAL
#undef DOPT_FN
#undef DOPT_M
#undef DOPT_EPS
#undef DOPT_IS_FLOAT
#define DOPT_REAL double
#define DOPT_FN(name) name##_d
#define DOPT_M(fn) fn
#define DOPT_EPS DBL_EPSILON
#define DOPT_IS_FLOAT 0
#include DOPT__DRIVE
#undef DOPT_REAL
#undef DOPT_FN
#undef DOPT_M
#undef DOPT_EPS
#undef DOPT_IS_FLOAT
#ifdef DOPT__DRIVE_USER
#undef DOPT__DRIVE
#undef DOPT__DRIVE_USER
#endif
#endif

/* =============================================================================================== */
/* Kernel-family driver: re-entered, inside a precision pass, by a header that defines DOPT__KDRIVE */
/* (the file) to instantiate its kernel region once per kernel family (DOPT__KPASS is defined in   */
/* it).  With runtime dispatch: avx512, avx2, then plain (which leaves the compile-time family's   */
/* base macros as they were); otherwise the compile-time family alone.  See the family gate.      */
/* =============================================================================================== */
#if defined(DOPT__KDRIVE) && defined(DOPT_REAL) && !defined(DOPT__KPASS)
#define DOPT__KPASS
#if DOPT__DISPATCH
#undef DOPT__VBYTES
#undef DOPT__MV
#undef DOPT__KSUF
#undef DOPT__KTARGET
#define DOPT__VBYTES 64
#define DOPT__MV 3
#define DOPT__KSUF _avx512
#define DOPT__KTARGET __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")))
#include DOPT__KDRIVE
#undef DOPT__VBYTES
#undef DOPT__MV
#undef DOPT__KSUF
#undef DOPT__KTARGET
#undef DOPT__VPIN
#define DOPT__VBYTES 32
#define DOPT__MV 2
#define DOPT__KSUF _avx2
#define DOPT__KTARGET __attribute__((target("avx2,fma")))
#define DOPT__VPIN(v) __asm__("" : "+x"(v))
#include DOPT__KDRIVE
#undef DOPT__VBYTES
#undef DOPT__MV
#undef DOPT__KSUF
#undef DOPT__KTARGET
#undef DOPT__VPIN
#define DOPT__VBYTES 0
#define DOPT__MV 0
#define DOPT__KSUF _plain
#define DOPT__KTARGET
#define DOPT__VPIN(v) ((void)0)
#endif
#include DOPT__KDRIVE
#undef DOPT__KPASS
#endif

/* =============================================================================================== */
/* Ordinary inclusion: the precision-independent API.                                             */
/* =============================================================================================== */
#if !defined(DOPT__DRIVE)
#ifndef DOPT_H
#define DOPT_H

#include <stddef.h>
#include <stdint.h>
#include <float.h>
#include <math.h>

#define DOPT_VERSION_MAJOR 0
#define DOPT_VERSION_MINOR 1
#define DOPT_VERSION_PATCH 0
#define DOPT_VERSION_STRING "0.1.0"

/* DOPT_OFF: the named "off" value of an options field whose 0 means "default" (tolerances,
 * limits, penalties): any negative value switches the test or feature off. */
#define DOPT_OFF (-1)

/* DOPT__RANK_TOL(n): the one rank tolerance of the Cholesky-based linear solvers (dense here,
 * supernodal in dopt_sparse.h): a pivot whose square is at most DOPT__RANK_TOL(n) times its
 * matrix's diagonal entry counts as a rank deficiency.  Expands inside a precision pass only. */
#define DOPT__RANK_TOL(n) ((DOPT_REAL)(DOPT_IS_FLOAT ? 10 : 1000) * (DOPT_REAL)(n) * DOPT_EPS)

#ifdef DOPT_STATIC
#if defined(__GNUC__) || defined(__clang__)
#define DOPT_API static __attribute__((unused))
#else
#define DOPT_API static
#endif
#elif defined(DOPT_SHARED) && (defined(__GNUC__) || defined(__clang__))
#define DOPT_API extern __attribute__((visibility("default")))
#else
#define DOPT_API extern
#endif

#ifndef DOPT_ASSERT
#include <assert.h>
#define DOPT_ASSERT(x) assert(x)
#endif

#if defined(__cplusplus)
#define DOPT_RESTRICT
#elif defined(__STDC_VERSION__) && __STDC_VERSION__ >= 199901L
#define DOPT_RESTRICT restrict
#else
#define DOPT_RESTRICT
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- status ---------------------------------------------------------------------------------- */

/* Result of every fallible dopt function.  DOPT_OK is 0; everything else is an error. */
typedef enum dopt_status {
    DOPT_OK = 0,
    DOPT_ERR_INVALID_ARGUMENT,       /* NULL pointer, negative size, bad option value          */
    DOPT_ERR_DIMENSION,              /* sizes of the arguments do not agree                   */
    DOPT_ERR_NOT_POSITIVE_DEFINITE,  /* Cholesky met a pivot <= 0 (column reported)           */
    DOPT_ERR_SINGULAR,               /* exactly singular pivot in LU/LDL^T (column reported)  */
    DOPT_ERR_NON_FINITE,             /* NaN or Inf in the input or produced by it             */
    DOPT_ERR_NO_CONVERGENCE,         /* iteration limit reached before the tolerance          */
    DOPT_ERR_ALLOCATION,             /* allocator returned NULL, or workspace too small       */
    DOPT_ERR_PARSE,                  /* malformed file or string (line reported)              */
    DOPT_ERR_UNSUPPORTED,            /* valid request that this build cannot serve            */
    DOPT_ERR_IO,                     /* a file could not be opened, read or written           */
    DOPT_STATUS_COUNT
} dopt_status;

/* dopt_status_string: a short constant English description of s ("ok", "not positive definite",
 * ...).  Never NULL; unknown values give "unknown status". */
DOPT_API const char *dopt_status_string(dopt_status s);

/* dopt_kernel_family: which built-in dense kernels run: "avx512", "avx2", "neon" (GCC or Clang
 * vector extensions, chosen by the target flags: -march=native, -march=x86-64-v3, aarch64, or on
 * x86-64 without such flags by the CPU at run time, see DOPT_NO_DISPATCH) or "plain" (portable C:
 * other compilers, baseline targets, DOPT_NO_SIMD).  With DOPT_USE_CBLAS the large products go to
 * CBLAS whatever this says.  A constant string, never NULL. */
DOPT_API const char *dopt_kernel_family(void);

/* Optional details of a failure, filled by functions that take a `dopt_errinfo *` (may be NULL).
 *   index    the failing column / variable / element (-1 when not applicable)
 *   line     1-based line of a malformed file (0 when not applicable)
 *   (both long, so `%ld` prints them on every platform; a value above LONG_MAX, possible only
 *   where long is 32-bit, is stored as LONG_MAX)
 *   message  a NUL-terminated human-readable reason */
typedef struct dopt_errinfo {
    dopt_status status;
    long index;
    long line;
    char message[160];
} dopt_errinfo;

/* dopt_errinfo_set: fill *info (if non-NULL) and return status, for one-line error returns.
 * `message` is copied (truncated to fit). */
DOPT_API dopt_status dopt_errinfo_set(dopt_errinfo *info, dopt_status status, ptrdiff_t index,
                                      ptrdiff_t line, const char *message);

/* ---- hooks: allocator and log ---------------------------------------------------------------- */

/* Allocator: all three take the user pointer; sizes are in bytes.  The free and realloc calls are
 * told the size that was allocated (handy for arenas and counting allocators).  A NULL function
 * pointer means the libc default. */
typedef struct dopt_allocator {
    void *(*alloc)(void *user, size_t size);
    void *(*realloc)(void *user, void *ptr, size_t old_size, size_t new_size);
    void (*free)(void *user, void *ptr, size_t size);
    void *user;
} dopt_allocator;

typedef enum dopt_log_level { DOPT_LOG_ERROR = 0, DOPT_LOG_WARN, DOPT_LOG_INFO, DOPT_LOG_DEBUG } dopt_log_level;

/* Log callback: receives one NUL-terminated line (no trailing newline). */
typedef void (*dopt_log_fn)(void *user, dopt_log_level level, const char *line);

/* Hooks handed to every function that may allocate or log.  Zero-initialize for the defaults
 * (libc allocation, no logging); NULL pointers to dopt_hooks mean the same. */
typedef struct dopt_hooks {
    dopt_allocator allocator;
    dopt_log_fn log;
    void *log_user;
    dopt_log_level log_level; /* lines above this level are dropped; 0 (ERROR) unless set */
} dopt_hooks;

/* dopt_alloc / dopt_realloc / dopt_free: allocate through hooks (NULL = libc).  dopt_alloc(h, 0)
 * returns a valid unique pointer or NULL; dopt_free(h, NULL, ...) does nothing. */
DOPT_API void *dopt_alloc(const dopt_hooks *hooks, size_t size);
DOPT_API void *dopt_realloc(const dopt_hooks *hooks, void *ptr, size_t old_size, size_t new_size);
DOPT_API void dopt_free(const dopt_hooks *hooks, void *ptr, size_t size);

/* dopt_log: printf-style line to the hook's log callback if one is installed and level is
 * enabled; does nothing otherwise (and formats nothing).  Lines are truncated at 511 chars. */
DOPT_API void dopt_log(const dopt_hooks *hooks, dopt_log_level level, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* dopt_log_enabled: 1 when dopt_log(hooks, level, ...) would emit, so callers skip the work of
 * building a line nobody reads. */
DOPT_API int dopt_log_enabled(const dopt_hooks *hooks, dopt_log_level level);

/* ---- workspace ------------------------------------------------------------------------------- */

/* Alignment of every block carved from a workspace (bytes). */
#define DOPT_WORKSPACE_ALIGN 64
/* Bytes a block of `bytes` occupies in a workspace, alignment padding included.  Size queries
 * add these up, so query and use always agree. */
#define DOPT_WORKSPACE_ROUND(bytes) \
    ((((size_t)(bytes)) + (DOPT_WORKSPACE_ALIGN - 1)) & ~(size_t)(DOPT_WORKSPACE_ALIGN - 1))

/* A bump allocator over caller memory.  Initialize with dopt_workspace_init; take blocks with
 * dopt_workspace_take; nothing is freed individually.  The first block starts at the first
 * 64-byte boundary of `memory`, so query sizes include DOPT_WORKSPACE_ALIGN of slack. */
typedef struct dopt_workspace {
    unsigned char *base;
    size_t size;
    size_t used;
} dopt_workspace;

/* dopt_workspace_init: wrap `size` bytes at `memory` (may be NULL with size 0). */
DOPT_API void dopt_workspace_init(dopt_workspace *ws, void *memory, size_t size);
/* dopt_workspace_take: a 64-byte aligned block of `bytes`, or NULL if the workspace is too
 * small (callers turn NULL into DOPT_ERR_ALLOCATION). */
DOPT_API void *dopt_workspace_take(dopt_workspace *ws, size_t bytes);

/* An object made by an allocating dopt_X_create lives in one block taken through the caller's
 * hooks; it keeps that block and those hooks in a dopt_owned, and dopt_X_destroy hands the
 * block back (an object made by dopt_X_create_in owns nothing: block NULL).  Every allocating
 * create is the same four steps over these helpers:
 *     st = dopt_X_workspace_size(dims..., &bytes, info);
 *     mem = dopt_owned_alloc(hooks, bytes, &st, info);
 *     if (mem) st = dopt_X_create_in(mem, bytes, dims..., out, info);
 *     return dopt_owned_keep(st, hooks, mem, bytes, st == DOPT_OK ? &(*out)->own : NULL);   */
typedef struct dopt_owned {
    dopt_hooks hooks; /* the allocator the block came from */
    void *block;      /* NULL: nothing owned */
    size_t bytes;
} dopt_owned;
/* dopt_owned_alloc: `bytes` through hooks when *st (a size query's status) is DOPT_OK; NULL when
 * *st is not, or with *st = DOPT_ERR_ALLOCATION (and info) when the allocator fails. */
DOPT_API void *dopt_owned_alloc(const dopt_hooks *hooks, size_t bytes, dopt_status *st, dopt_errinfo *info);
/* dopt_owned_keep: after create_in on `block` returned st: DOPT_OK records hooks, block and bytes
 * in *own; any other status frees the block (own unused then, may be NULL).  Returns st. */
DOPT_API dopt_status dopt_owned_keep(dopt_status st, const dopt_hooks *hooks, void *block, size_t bytes,
                                     dopt_owned *own);
/* dopt_owned_release: free own's block through its hooks (nothing when own or its block is NULL). */
DOPT_API void dopt_owned_release(dopt_owned *own);

/* ---- random numbers -------------------------------------------------------------------------- */

/* Random stream: xoshiro256** seeded by splitmix64.  Identical sequences on every platform
 * (integers and uniforms are exact; normals use only +,-,*,/ and sqrt with a built-in
 * logarithm, so they are bit-identical too).  One state per stream; no globals. */
typedef struct dopt_rng {
    uint64_t s[4];
} dopt_rng;

/* dopt_rng_seed: start the stream for (seed, stream); different stream ids give independent
 * sequences for the same seed (e.g. one per thread or batch element). */
DOPT_API void dopt_rng_seed(dopt_rng *rng, uint64_t seed, uint64_t stream);
/* dopt_rng_u64: next 64 random bits. */
DOPT_API uint64_t dopt_rng_u64(dopt_rng *rng);
/* dopt_rng_uniform_d / _f: uniform in [0, 1) (53 / 24 random bits). */
DOPT_API double dopt_rng_uniform_d(dopt_rng *rng);
DOPT_API float dopt_rng_uniform_f(dopt_rng *rng);
/* dopt_rng_normal_d / _f: standard normal N(0, 1) (Marsaglia polar method). */
DOPT_API double dopt_rng_normal_d(dopt_rng *rng);
DOPT_API float dopt_rng_normal_f(dopt_rng *rng);
/* dopt_rng_below: uniform integer in [0, n) without modulo bias; n > 0. */
DOPT_API uint64_t dopt_rng_below(dopt_rng *rng, uint64_t n);

/* ---- dense kernel flags ---------------------------------------------------------------------- */

typedef enum dopt_trans { DOPT_NOTRANS = 0, DOPT_TRANS = 1 } dopt_trans;
typedef enum dopt_uplo { DOPT_LOWER = 0, DOPT_UPPER = 1 } dopt_uplo;
typedef enum dopt_side { DOPT_LEFT = 0, DOPT_RIGHT = 1 } dopt_side;
typedef enum dopt_diag { DOPT_NONUNIT = 0, DOPT_UNIT = 1 } dopt_diag;

#ifdef __cplusplus
}
#endif

/* Precision-generic declarations (the DOPT__CORE_PASS_DECL block below), for float and double. */
#define DOPT__CORE_PASS_DECL
#define DOPT__DRIVE "dopt.h"
#include "dopt.h"
#undef DOPT__DRIVE
#undef DOPT__CORE_PASS_DECL

#endif /* DOPT_H */
#endif /* ordinary inclusion */

/* =============================================================================================== */
/* Generic declarations (one pass per precision).                                                 */
/* =============================================================================================== */
#if defined(DOPT__CORE_PASS_DECL) && defined(DOPT_REAL)
#ifdef __cplusplus
extern "C" {
#endif

/* ---- manifold descriptor --------------------------------------------------------------------- */

/* How the least-squares layer moves a variable that lives on a manifold (a Lie group, a unit
 * vector, plain R^n).  Stored form has `dim` reals; steps live in the `tangent_dim` tangent
 * space.  Convention (all of dopt): RIGHT perturbation, x ⊕ δ = x · Exp(δ) for groups, and
 * y ⊖ x = Log(x⁻¹ · y), so that (x ⊕ δ) ⊖ x = δ.  Jacobians handed to the least-squares layer
 * are d residual / d δ at δ = 0, tangent-sized, never padded to `dim`. */
typedef struct DOPT_FN(dopt_manifold) DOPT_FN(dopt_manifold);
struct DOPT_FN(dopt_manifold) {
    const char *name;   /* "euclidean", "se3", ...                                         */
    int dim;            /* reals stored per variable                                       */
    int tangent_dim;    /* reals per step                                                  */
    /* x_out = x ⊕ delta; x_out may alias x. */
    void (*retract)(const DOPT_FN(dopt_manifold) *m, const DOPT_REAL *x, const DOPT_REAL *delta,
                    DOPT_REAL *x_out);
    /* delta = y ⊖ x (inverse of retract near x). */
    void (*local)(const DOPT_FN(dopt_manifold) *m, const DOPT_REAL *x, const DOPT_REAL *y,
                  DOPT_REAL *delta);
    /* optional: project a drifted x back onto the manifold in place (NULL: nothing to do); the
     * least-squares layer applies it to every trial point x ⊕ d before evaluating it. */
    void (*project)(const DOPT_FN(dopt_manifold) *m, DOPT_REAL *x);
};

/* dopt_manifold_euclidean: descriptor of R^n (retract: x + delta; local: y - x). */
DOPT_API DOPT_FN(dopt_manifold) DOPT_FN(dopt_manifold_euclidean)(int n);

/* ---- cost callback ---------------------------------------------------------------------------- */

/* The residual of one cost term, as the least-squares layer calls it:
 *   data   the cost's own constant data (a measurement, a point, ...), as registered
 *   vars   vars[k] points at the stored values of the k-th variable the cost touches
 *   r      output residual, rdim reals (unweighted: weights and robust losses are applied by the
 *          least-squares layer)
 *   J      J[k] is NULL (not wanted) or an output rdim x tangent_dim_k ROW-MAJOR block,
 *          d r / d delta_k at delta_k = 0 for the right perturbation vars[k] ⊕ delta_k;
 *          J itself may be NULL when no Jacobian is wanted.
 * Returns DOPT_OK, or a status (e.g. DOPT_ERR_NON_FINITE) that stops the solve. */
typedef dopt_status (*DOPT_FN(dopt_cost_fn))(const void *data, const DOPT_REAL *const *vars,
                                            DOPT_REAL *r, DOPT_REAL *const *J);

/* ---- random fills ---------------------------------------------------------------------------- */

/* dopt_rng_fill_uniform: x[i] uniform in [lo, hi), i < n. */
DOPT_API void DOPT_FN(dopt_rng_fill_uniform)(dopt_rng *rng, int n, DOPT_REAL *x, DOPT_REAL lo,
                                              DOPT_REAL hi);
/* dopt_rng_fill_normal: x[i] = mean + stddev * N(0,1), i < n. */
DOPT_API void DOPT_FN(dopt_rng_fill_normal)(dopt_rng *rng, int n, DOPT_REAL *x, DOPT_REAL mean,
                                             DOPT_REAL stddev);

/* ---- level 1 --------------------------------------------------------------------------------- */
/* Vectors have n entries spaced by inc (> 0). */

/* dopt_dot: sum x[i] y[i]. */
DOPT_API DOPT_REAL DOPT_FN(dopt_dot)(int n, const DOPT_REAL *x, int incx, const DOPT_REAL *y, int incy);
/* dopt_axpy: y += a x. */
DOPT_API void DOPT_FN(dopt_axpy)(int n, DOPT_REAL a, const DOPT_REAL *x, int incx, DOPT_REAL *y, int incy);
/* dopt_scal: x *= a. */
DOPT_API void DOPT_FN(dopt_scal)(int n, DOPT_REAL a, DOPT_REAL *x, int incx);
/* dopt_copy: y = x. */
DOPT_API void DOPT_FN(dopt_copy)(int n, const DOPT_REAL *x, int incx, DOPT_REAL *y, int incy);
/* dopt_nrm2: Euclidean norm, scaled so it neither overflows nor underflows. */
DOPT_API DOPT_REAL DOPT_FN(dopt_nrm2)(int n, const DOPT_REAL *x, int incx);
/* dopt_amax: max |x[i]| (0 for n = 0; NaN if any entry is NaN). */
DOPT_API DOPT_REAL DOPT_FN(dopt_amax)(int n, const DOPT_REAL *x, int incx);
/* dopt_all_finite: 1 if no entry of the n-vector x is NaN or Inf, else 0. */
DOPT_API int DOPT_FN(dopt_all_finite)(int n, const DOPT_REAL *x);
/* dopt_matrix_all_finite: 1 if the m x n column-major block (leading dim lda) is finite. */
DOPT_API int DOPT_FN(dopt_matrix_all_finite)(int m, int n, const DOPT_REAL *A, int lda);

/* ---- level 2 and 3 --------------------------------------------------------------------------- */

/* dopt_gemv: y = alpha op(A) x + beta y; A is m x n column-major (lda >= m); op(A) = A or A^T.
 * With beta = 0, y is not read (NaN in y does not propagate). */
DOPT_API void DOPT_FN(dopt_gemv)(dopt_trans trans, int m, int n, DOPT_REAL alpha, const DOPT_REAL *A,
                                 int lda, const DOPT_REAL *x, int incx, DOPT_REAL beta, DOPT_REAL *y,
                                 int incy);

/* dopt_gemm: C = alpha op(A) op(B) + beta C; op(A) is m x k, op(B) is k x n, C is m x n, all
 * column-major.  Cache-blocked with a register-tiled inner kernel; square products of size
 * 2..6 and 9 with contiguous storage take unrolled fixed-size paths.  With beta = 0, C is not
 * read.  C must not overlap A or B. */
DOPT_API void DOPT_FN(dopt_gemm)(dopt_trans transa, dopt_trans transb, int m, int n, int k,
                                 DOPT_REAL alpha, const DOPT_REAL *A, int lda, const DOPT_REAL *B,
                                 int ldb, DOPT_REAL beta, DOPT_REAL *C, int ldc);

/* dopt_gemm_ws: dopt_gemm with caller memory for its packed blocks: `work` (aligned for DOPT_REAL,
 * as malloc and dopt_workspace_take give) of work_bytes >= dopt_gemm_workspace_size() bytes; big
 * products then pack each KC x NC block of op(B) there once, contiguous, instead of reading it in
 * place (NT products on Zen 3, AVX2: 1.1-1.3x faster at n = 600..1200).  Same results, bit for
 * bit, as dopt_gemm, which is dopt_gemm_ws with no workspace (NULL, or too few bytes) and then
 * uses at most 16 KB of stack. */
DOPT_API void DOPT_FN(dopt_gemm_ws)(dopt_trans transa, dopt_trans transb, int m, int n, int k,
                                    DOPT_REAL alpha, const DOPT_REAL *A, int lda, const DOPT_REAL *B,
                                    int ldb, DOPT_REAL beta, DOPT_REAL *C, int ldc, void *work,
                                    size_t work_bytes);
/* dopt_gemm_workspace_size: the bytes dopt_gemm_ws needs, the same for every shape (the kernel
 * family's KC x NC block of reals: 216 KB in double with AVX2). */
DOPT_API size_t DOPT_FN(dopt_gemm_workspace_size)(void);

/* dopt_gemm_fixed: C = A B (+ C when accumulate) for N x N contiguous column-major matrices,
 * N in {2,3,4,5,6,9} (fully unrolled per N); other N fall back to dopt_gemm.  The fast path
 * used by the Lie and block-sparse code. */
DOPT_API void DOPT_FN(dopt_gemm_fixed)(int N, const DOPT_REAL *A, const DOPT_REAL *B, DOPT_REAL *C,
                                       int accumulate);

/* dopt_syrk: C = alpha A A^T + beta C (trans = NOTRANS, A is n x k) or C = alpha A^T A + beta C
 * (trans = TRANS, A is k x n); only the `uplo` triangle of the n x n matrix C is referenced. */
DOPT_API void DOPT_FN(dopt_syrk)(dopt_uplo uplo, dopt_trans trans, int n, int k, DOPT_REAL alpha,
                                 const DOPT_REAL *A, int lda, DOPT_REAL beta, DOPT_REAL *C, int ldc);
/* dopt_syrk_ws: dopt_syrk with the caller memory of dopt_gemm_ws (work_bytes >=
 * dopt_gemm_workspace_size(); NULL or fewer: as dopt_syrk); the same results, bit for bit. */
DOPT_API void DOPT_FN(dopt_syrk_ws)(dopt_uplo uplo, dopt_trans trans, int n, int k, DOPT_REAL alpha,
                                    const DOPT_REAL *A, int lda, DOPT_REAL beta, DOPT_REAL *C, int ldc,
                                    void *work, size_t work_bytes);

/* dopt_trsv: x = op(T)^{-1} x for the n x n triangular T (uplo, unit or non-unit diagonal). */
DOPT_API void DOPT_FN(dopt_trsv)(dopt_uplo uplo, dopt_trans trans, dopt_diag diag, int n,
                                 const DOPT_REAL *T, int ldt, DOPT_REAL *x, int incx);

/* dopt_trsm: B = alpha op(T)^{-1} B (side LEFT, T is m x m) or B = alpha B op(T)^{-1}
 * (side RIGHT, T is n x n); B is m x n. */
DOPT_API void DOPT_FN(dopt_trsm)(dopt_side side, dopt_uplo uplo, dopt_trans trans, dopt_diag diag,
                                 int m, int n, DOPT_REAL alpha, const DOPT_REAL *T, int ldt,
                                 DOPT_REAL *B, int ldb);
/* dopt_trsm_ws: dopt_trsm whose gemm updates run in dopt_gemm_ws with `work` (as there; NULL or
 * too few bytes: as dopt_trsm); the same results, bit for bit. */
DOPT_API void DOPT_FN(dopt_trsm_ws)(dopt_side side, dopt_uplo uplo, dopt_trans trans, dopt_diag diag,
                                    int m, int n, DOPT_REAL alpha, const DOPT_REAL *T, int ldt,
                                    DOPT_REAL *B, int ldb, void *work, size_t work_bytes);

/* ---- factorizations -------------------------------------------------------------------------- */

/* dopt_potrf: Cholesky A = L L^T in place (lower triangle of the n x n column-major A; the
 * strict upper triangle is not referenced or changed).  Recursive blocked (gemm-speed syrk/trsm).
 * Returns DOPT_OK; DOPT_ERR_NOT_POSITIVE_DEFINITE with *fail_col (0-based, may be NULL) set to
 * the first column whose pivot is <= 0; DOPT_ERR_NON_FINITE with *fail_col when a pivot is NaN
 * or Inf; DOPT_ERR_INVALID_ARGUMENT for n < 0 or lda < n.  On failure columns before fail_col
 * hold the partial factor. */
DOPT_API dopt_status DOPT_FN(dopt_potrf)(int n, DOPT_REAL *A, int lda, int *fail_col);
/* dopt_potrf_ws: dopt_potrf whose trsm and syrk run with the caller memory of dopt_gemm_ws
 * (work_bytes >= dopt_gemm_workspace_size(); NULL or fewer: as dopt_potrf); the same results
 * and statuses, bit for bit. */
DOPT_API dopt_status DOPT_FN(dopt_potrf_ws)(int n, DOPT_REAL *A, int lda, int *fail_col, void *work,
                                            size_t work_bytes);

/* dopt_potrs: B = A^{-1} B using the factor L from dopt_potrf; B is n x nrhs. */
DOPT_API void DOPT_FN(dopt_potrs)(int n, int nrhs, const DOPT_REAL *L, int ldl, DOPT_REAL *B, int ldb);

/* dopt_getrf: LU with partial pivoting, P A = L U in place for the n x n A (unit-diagonal L
 * below, U on and above the diagonal); ipiv[i] (n ints) is the row swapped with row i at step
 * i.  Returns DOPT_ERR_SINGULAR with *fail_col at the first exactly-zero pivot (the
 * factorization still completes, as LAPACK's does), DOPT_ERR_NON_FINITE for NaN/Inf input. */
DOPT_API dopt_status DOPT_FN(dopt_getrf)(int n, DOPT_REAL *A, int lda, int *ipiv, int *fail_col);

/* dopt_getrs: B = op(A)^{-1} B from dopt_getrf's factor; B is n x nrhs. */
DOPT_API void DOPT_FN(dopt_getrs)(dopt_trans trans, int n, int nrhs, const DOPT_REAL *LU, int ldlu,
                                  const int *ipiv, DOPT_REAL *B, int ldb);

/* dopt_sytrf: LDL^T with symmetric (Bunch-Kaufman) pivoting of the symmetric, possibly
 * indefinite n x n A given by its lower triangle: P A P^T = L D L^T, D block diagonal with 1x1
 * and 2x2 blocks.  In place (lower triangle).  ipiv (n ints), LAPACK's encoding: ipiv[k] >= 0
 * for a 1x1 pivot, row/col k swapped with ipiv[k]; ipiv[k] = ipiv[k+1] = -(r+1) for a 2x2
 * pivot at k, k+1 with row/col k+1 swapped with r.  Returns DOPT_ERR_SINGULAR with *fail_col
 * when D has an exactly zero block (factor still completes), DOPT_ERR_NON_FINITE for NaN/Inf. */
DOPT_API dopt_status DOPT_FN(dopt_sytrf)(int n, DOPT_REAL *A, int lda, int *ipiv, int *fail_col);

/* dopt_sytrs: B = A^{-1} B from dopt_sytrf's factor; B is n x nrhs. */
DOPT_API void DOPT_FN(dopt_sytrs)(int n, int nrhs, const DOPT_REAL *LD, int ldld, const int *ipiv,
                                  DOPT_REAL *B, int ldb);

/* ---- strided batches ------------------------------------------------------------------------- */
/* Batch element b uses A + b*strideA (and likewise for every array); strides are in reals (or
 * ints for ipiv).  Factorizations factor every element and return the first failure's status,
 * with fail_col[b] (batch ints, may be NULL) = the failing column of element b, or -1.
 * Each function below is its single-matrix form (same argument meanings, column-major with a
 * leading dimension) applied to elements b = 0 .. batch-1; batch <= 0 does nothing. */

/* dopt_gemm_batched: C_b = alpha op(A_b) op(B_b) + beta C_b (m x n, op(A) m x k), as dopt_gemm. */
DOPT_API void DOPT_FN(dopt_gemm_batched)(ptrdiff_t batch, dopt_trans transa, dopt_trans transb, int m, int n,
                                         int k, DOPT_REAL alpha, const DOPT_REAL *A, int lda,
                                         ptrdiff_t strideA, const DOPT_REAL *B, int ldb,
                                         ptrdiff_t strideB, DOPT_REAL beta, DOPT_REAL *C, int ldc,
                                         ptrdiff_t strideC);
/* dopt_gemv_batched: y_b = alpha op(A_b) x_b + beta y_b (A m x n), as dopt_gemv. */
DOPT_API void DOPT_FN(dopt_gemv_batched)(ptrdiff_t batch, dopt_trans trans, int m, int n, DOPT_REAL alpha,
                                         const DOPT_REAL *A, int lda, ptrdiff_t strideA,
                                         const DOPT_REAL *x, ptrdiff_t stridex, DOPT_REAL beta,
                                         DOPT_REAL *y, ptrdiff_t stridey);
/* dopt_potrf_batched: A_b = L_b L_b^T in place (n x n, lower), as dopt_potrf.  Returns DOPT_OK
 * or the first failing element's status (DOPT_ERR_NOT_POSITIVE_DEFINITE, DOPT_ERR_NON_FINITE). */
DOPT_API dopt_status DOPT_FN(dopt_potrf_batched)(ptrdiff_t batch, int n, DOPT_REAL *A, int lda,
                                                 ptrdiff_t strideA, int *fail_col);
/* dopt_potrs_batched: B_b = (L_b L_b^T)^{-1} B_b (n x nrhs) from dopt_potrf_batched's factors. */
DOPT_API void DOPT_FN(dopt_potrs_batched)(ptrdiff_t batch, int n, int nrhs, const DOPT_REAL *L, int ldl,
                                          ptrdiff_t strideL, DOPT_REAL *B, int ldb, ptrdiff_t strideB);
/* dopt_getrf_batched: A_b = P_b L_b U_b in place with pivots ipiv_b (n ints), as dopt_getrf.
 * Returns DOPT_OK or the first failing element's status (DOPT_ERR_SINGULAR, DOPT_ERR_NON_FINITE). */
DOPT_API dopt_status DOPT_FN(dopt_getrf_batched)(ptrdiff_t batch, int n, DOPT_REAL *A, int lda,
                                                 ptrdiff_t strideA, int *ipiv, ptrdiff_t strideipiv,
                                                 int *fail_col);
/* dopt_getrs_batched: B_b = op(A_b)^{-1} B_b (n x nrhs) from dopt_getrf_batched's factors. */
DOPT_API void DOPT_FN(dopt_getrs_batched)(ptrdiff_t batch, dopt_trans trans, int n, int nrhs,
                                          const DOPT_REAL *LU, int ldlu, ptrdiff_t strideLU,
                                          const int *ipiv, ptrdiff_t strideipiv, DOPT_REAL *B,
                                          int ldb, ptrdiff_t strideB);
/* dopt_sytrf_batched: A_b = L_b D_b L_b^T in place with pivots ipiv_b (n ints), as dopt_sytrf.
 * Returns DOPT_OK or the first failing element's status (DOPT_ERR_SINGULAR, DOPT_ERR_NON_FINITE). */
DOPT_API dopt_status DOPT_FN(dopt_sytrf_batched)(ptrdiff_t batch, int n, DOPT_REAL *A, int lda,
                                                 ptrdiff_t strideA, int *ipiv, ptrdiff_t strideipiv,
                                                 int *fail_col);
/* dopt_sytrs_batched: B_b = A_b^{-1} B_b (n x nrhs) from dopt_sytrf_batched's factors. */
DOPT_API void DOPT_FN(dopt_sytrs_batched)(ptrdiff_t batch, int n, int nrhs, const DOPT_REAL *LD, int ldld,
                                          ptrdiff_t strideLD, const int *ipiv, ptrdiff_t strideipiv,
                                          DOPT_REAL *B, int ldb, ptrdiff_t strideB);

/* ---- allocating convenience ------------------------------------------------------------------ */

/* dopt_spd_solve: x = A^{-1} b for an SPD n x n A (column-major, not modified) and nrhs
 * right-hand sides in B (overwritten by the solution).  Allocates n*n reals through hooks.
 * Returns potrf's statuses, or DOPT_ERR_ALLOCATION. */
DOPT_API dopt_status DOPT_FN(dopt_spd_solve)(const dopt_hooks *hooks, int n, int nrhs,
                                             const DOPT_REAL *A, int lda, DOPT_REAL *B, int ldb,
                                             int *fail_col);

#ifdef __cplusplus
}
#endif
#endif /* DOPT__CORE_PASS_DECL */

/* =============================================================================================== */
/* NONLINEAR LEAST SQUARES — the least-squares layer (precision-independent part).                 */
/*                                                                                                 */
/*   minimize  S(x) = 1/2 sum_i rho_i( || W_i c_i(x^i) ||^2 )   over variables on manifolds,       */
/* for a batch of B problems that share one structure.  See the overview at the top of the file.   */
/* =============================================================================================== */
#if !defined(DOPT__DRIVE)
#ifndef DOPT_NLLS_H
#define DOPT_NLLS_H
#ifdef __cplusplus
extern "C" {
#endif

/* Most variables one cost may touch. */
#define DOPT_NLLS_MAX_COST_VARS 8

/* Second-order method.  All three minimize the Gauss-Newton model q(d) = S + g^T d + d^T H d / 2
 * with g = J^T r and H = J^T J (robust losses and weights folded in). */
typedef enum dopt_nlls_method {
    DOPT_NLLS_LM = 0,   /* Levenberg-Marquardt: (H + lambda D) d = -g, adaptive lambda (default)   */
    DOPT_NLLS_GN,       /* Gauss-Newton: H d = -g, every step taken (optional line search)        */
    DOPT_NLLS_DOGLEG    /* Powell's dogleg between the Cauchy point and the GN step, trust region */
} dopt_nlls_method;

/* LM damping matrix D. */
typedef enum dopt_lm_damping {
    DOPT_LM_DAMP_DIAGONAL = 0, /* D = diag(H) clamped to [1e-6, 1e32] (Ceres; scale invariant)  */
    DOPT_LM_DAMP_IDENTITY      /* D = I (GTSAM's default)                                        */
} dopt_lm_damping;

/* LM damping update after a step with gain ratio rho = actual / predicted decrease. */
typedef enum dopt_lm_update {
    DOPT_LM_UPDATE_NIELSEN = 0, /* accept: lambda *= max(1/3, 1 - (2 rho - 1)^3), nu = 2;
                                   reject: lambda *= nu, nu *= 2   (Nielsen; what Ceres does)   */
    DOPT_LM_UPDATE_FACTOR       /* accept: lambda /= f; reject: lambda *= f (f = lm_factor;
                                   GTSAM's default with f = 10)                                 */
} dopt_lm_update;

/* Robust loss rho(s) of the squared weighted residual norm s = ||W r||^2, scale a > 0.  Every loss
 * is normalized so that rho(s) ~ s near 0 (rho'(0) = 1):
 *   NONE            s
 *   HUBER           s                        (s <= a^2),   2 a sqrt(s) - a^2       (s > a^2)
 *   CAUCHY          a^2 log(1 + s / a^2)
 *   WELSCH          a^2 (1 - exp(-s / a^2))
 *   TUKEY           a^2/3 (1 - (1 - s/a^2)^3)  (s <= a^2),   a^2 / 3               (s > a^2)
 *   GEMAN_MCCLURE   a^2 s / (a^2 + s)
 *   SOFT_L1         2 a^2 (sqrt(1 + s / a^2) - 1) */
typedef enum dopt_loss_kind {
    DOPT_LOSS_NONE = 0,
    DOPT_LOSS_HUBER,
    DOPT_LOSS_CAUCHY,
    DOPT_LOSS_WELSCH,
    DOPT_LOSS_TUKEY,
    DOPT_LOSS_GEMAN_MCCLURE,
    DOPT_LOSS_SOFT_L1
} dopt_loss_kind;

/* How a robust loss enters the Gauss-Newton system.  Both give the exact gradient
 * g = rho'(s) J^T W^T W r; they differ in the model Hessian of the term:
 *   IRLS (default)  H = rho'(s) J~^T J~ (iteratively reweighted least squares; what Ceres does for
 *                   these losses, whose rho'' <= 0, and what GTSAM's m-estimators do)
 *   TRIGGS          H = J~^T (rho' I + 2 rho'' r~ r~^T) J~, the second-order correction of Triggs
 *                   et al. ("Bundle adjustment, a modern synthesis" §4.3), realized by rescaling r~
 *                   and J~; where 1 + 2 s rho''/rho' < 0.05 it is clamped there so H stays
 *                   positive definite.  (J~ = W J, r~ = W r.) */
typedef enum dopt_robust_mode { DOPT_ROBUST_IRLS = 0, DOPT_ROBUST_TRIGGS } dopt_robust_mode;

/* Cost weight W (residual r~ = W r): NONE (W = I), SCALAR (1 real w, W = w I), DIAGONAL (rdim
 * reals), SQRT_INFO (rdim x rdim row-major square root of the information matrix,
 * Omega = W^T W; e.g. the upper Cholesky factor of a g2o information block). */
typedef enum dopt_weight_kind {
    DOPT_WEIGHT_NONE = 0,
    DOPT_WEIGHT_SCALAR,
    DOPT_WEIGHT_DIAGONAL,
    DOPT_WEIGHT_SQRT_INFO
} dopt_weight_kind;

/* Why a solve stopped (per batch element). */
typedef enum dopt_nlls_stop {
    DOPT_STOP_NONE = 0,           /* not run                                                      */
    DOPT_STOP_MAX_ITERATIONS,     /* iteration limit                                              */
    DOPT_STOP_FUNCTION_TOLERANCE, /* |dS| <= function_tolerance * S after an accepted step        */
    DOPT_STOP_COST_CHANGE,        /* |dS| <= cost_change_tolerance (absolute)                     */
    DOPT_STOP_GRADIENT,           /* max_i |g_i| <= gradient_tolerance                            */
    DOPT_STOP_STEP,               /* ||d|| <= step_tolerance (||x|| + step_tolerance), after at
                                     least one accepted step (else NO_PROGRESS)                    */
    DOPT_STOP_NO_PROGRESS,        /* damping / trust radius / line search limit: no step lowers S */
    DOPT_STOP_FAILED              /* an error stopped it; see the report's status                 */
} dopt_nlls_stop;

/* dopt_nlls_stop_string: short constant description of s ("gradient tolerance", ...). */
DOPT_API const char *dopt_nlls_stop_string(dopt_nlls_stop s);

/* Block-sparse structure of the symmetric Gauss-Newton matrix H, handed once to a linear
 * solver's analyze().  The scalar unknowns are grouped in nblocks blocks (one per free variable);
 * block j has block_dim[j] tangent columns starting at scalar column block_start[j]
 * (block_start[nblocks] = n).  Only the LOWER block triangle is stored, in block compressed
 * columns: the blocks of block column j are k = col_start[j] .. col_start[j+1]-1, block row
 * row_block[k] >= j ascending, the diagonal block first.  Block k's values are a dense
 * column-major block_dim[row] x block_dim[col] matrix at values + value_start[k]; a diagonal block
 * stores the full symmetric square.  nvalues = total reals. */
typedef struct dopt_block_pattern {
    int nblocks;
    int n;
    const int *block_dim;
    const int *block_start;
    const int *col_start;
    const int *row_block;
    const size_t *value_start;
    size_t nvalues;
} dopt_block_pattern;

/* Outcome of one batch element's solve. */
typedef struct dopt_nlls_report {
    dopt_status status;     /* DOPT_OK, or the error that stopped this element                   */
    dopt_nlls_stop stop;    /* why it stopped                                                      */
    int iterations;         /* iterations made (accepted and rejected steps)                       */
    int accepted;           /* steps accepted                                                      */
    double initial_cost;    /* S at the start                                                      */
    double final_cost;      /* S at the end                                                        */
    double gradient_norm;   /* max |g_i| at the end (last linearization)                           */
    int fail_variable;      /* variable whose block made the factorization fail, or -1             */
    double constraint_norm; /* max |c_i(x)| over the equality constraints at the end (0: none)     */
    int active_bounds;      /* bound coordinates held at their bound at the end (0: no bounds)     */
} dopt_nlls_report;

/* Time spent in one dopt_nlls_solve call (seconds of processor time from clock(); collected only
 * when options.timing is set or iteration logging is on). */
typedef struct dopt_nlls_timing {
    double linearize_s;     /* residuals, Jacobians, robust/weight folding, forming g and H        */
    double solve_s;         /* linear solver: factor + solve                                       */
    double total_s;
    long linearizations, factorizations;
} dopt_nlls_timing;

/* Result of a Jacobian check: the worst entry of |analytic - numeric| / max(1, |analytic|,
 * |numeric|) over every block of the cost. */
typedef struct dopt_jacobian_check {
    double max_error;       /* the worst scaled error                                              */
    double analytic, numeric; /* the two values at the worst entry                                 */
    int var, row, col;      /* cost-local variable index, residual row, tangent column            */
} dopt_jacobian_check;

#ifdef __cplusplus
}
#endif

/* Precision-generic declarations of the least-squares layer (DOPT__NLLS_PASS_DECL below). */
#define DOPT__NLLS_PASS_DECL
#define DOPT__DRIVE "dopt.h"
#include "dopt.h"
#undef DOPT__DRIVE
#undef DOPT__NLLS_PASS_DECL
#endif /* DOPT_NLLS_H */
#endif /* !DOPT__DRIVE */

/* =============================================================================================== */
/* Least-squares layer: generic declarations (one pass per precision).                            */
/* =============================================================================================== */
#if defined(DOPT__NLLS_PASS_DECL) && defined(DOPT_REAL)
#ifdef __cplusplus
extern "C" {
#endif

/* dopt_nlls_loss_eval: rho[0..2] = rho(s), rho'(s), rho''(s) of the loss `kind` (see dopt_loss_kind)
 * at the squared norm s >= 0 with scale a > 0 (a <= 0 is taken as 1).  Never fails. */
DOPT_API void DOPT_FN(dopt_nlls_loss_eval)(dopt_loss_kind kind, DOPT_REAL a, DOPT_REAL s, DOPT_REAL rho[3]);

/* ---- linear solver interface ----------------------------------------------------------------- */

/* A solver of (H + diag(diag_add)) d = rhs for the block-sparse SPD matrix H described by a
 * dopt_block_pattern.  The least-squares layer calls analyze() ONCE per structure (when the nlls
 * solver is created), then factor()/solve() as often as it needs, for every batch element; no
 * analysis is repeated.  Fill one in to plug in any factorization:
 *   self      the solver's own state
 *   analyze   symbolic phase for `pattern` (which stays valid until destroy); may allocate.
 *   factor    numeric phase from the pattern's block values (lower block triangle, see
 *             dopt_block_pattern) plus diag_add (n reals added to the diagonal; NULL for none).
 *             Must not change `values`.  On failure returns DOPT_ERR_NOT_POSITIVE_DEFINITE (or
 *             NON_FINITE) and sets *fail_col to the failing SCALAR column in the pattern's own
 *             numbering (undo any fill-reducing permutation), so the caller can name the variable.
 *             A factor whose pivot is tiny relative to its original diagonal entry should be
 *             reported as a failure too (a rank-deficient H: gauge freedom).
 *   solve     rhs (n reals) <- (H + diag_add)^{-1} rhs with the last factor.
 *   destroy   free everything (self included); may be NULL.
 *   reserve   optional (NULL: the solver holds one factor): hold `count` (>= 1) factors side by
 *             side, slots 0 .. count-1, slot 0 current; the factors held before are lost.
 *             Called outside any iteration (dopt_nlls_solver_keep_factors); may allocate.
 *             DOPT_ERR_ALLOCATION leaves the solver as it was.
 *   select    optional, with reserve: factor() and solve() act on slot `slot` (< count) until
 *             the next select; selecting changes no factor.
 *   batch_width, reserve_batch, factor_batch, solve_batch   optional (batch_width 0 / NULL:
 *             none), the LANE BATCH: factor several matrices of the pattern at once (one vector
 *             lane per matrix), which the layer uses to run Levenberg-Marquardt on up to
 *             batch_width batch elements in lockstep (see dopt_nlls_options.sequential_batch).
 *             batch_width     the most matrices one factor_batch takes (the lane count, >= 2).
 *             reserve_batch   hold the storage for factor_batch (called once, when the
 *                             least-squares solver is made; may allocate).  DOPT_ERR_ALLOCATION
 *                             leaves the solver usable without the lane batch.
 *             factor_batch    factor matrices l = 0 .. count-1 (1 <= count <= batch_width):
 *                             values[l] (laid out as for factor()) + diag(diag_add[l]) (diag_add
 *                             NULL, or an entry NULL: no addition).  status[l] and fail_col[l]
 *                             are what factor() would return and set for that matrix alone; the
 *                             return is DOPT_OK (results in status) or an error of the call
 *                             itself (DOPT_ERR_INVALID_ARGUMENT: no reserve, bad count).  These
 *                             factors live apart from factor()'s slots (no slot changes) and
 *                             replace the last factor_batch's.
 *             solve_batch     rhs[l] (n reals) <- (matrix l)^{-1} rhs[l] for every l < count of
 *                             the last factor_batch whose status was DOPT_OK (others untouched).
 *   selected_inverse  optional (NULL: not offered): after a successful factor() of the current
 *             slot, out (pattern.nvalues reals, laid out as factor()'s values) <- the entries of
 *             (H + diag_add)^{-1} at the positions factor() reads: the blocks below the
 *             diagonal and the lower triangle (row >= column) of each diagonal block (the
 *             strict upper triangles are left as they were), at about the cost of a
 *             factorization (no dense inverse).  Marginal covariances read their blocks here
 *             instead of solving with unit vectors.  May allocate its workspace on the first
 *             call.  Returns DOPT_OK, DOPT_ERR_INVALID_ARGUMENT (no successful factor),
 *             DOPT_ERR_ALLOCATION, DOPT_ERR_NON_FINITE.
 *   work_bytes, share_work  optional, both or neither (NULL: the solver keeps its own memory):
 *             work_bytes() is the size of the memory factor() and solve() use for the current
 *             slot (the factor and its workspace), after analyze(); share_work(self, mem, bytes)
 *             makes them use caller memory instead (bytes >= work_bytes(), DOPT_WORKSPACE_ALIGN
 *             aligned or not; it must outlive the solver or the next share_work), releasing
 *             the solver's own; the factor held is lost.  Several solvers may share one area
 *             (the ragged batch does) when one factor() and the solve()s after it are never
 *             interleaved with another's factor(): each factor() may overwrite all of it.
 *             reserve() and analyze() go back to memory of the solver's own.  Returns DOPT_OK,
 *             DOPT_ERR_INVALID_ARGUMENT (no analysis, bytes too small).
 * factor() must be a function of (values, diag_add) alone: the layer reuses a kept factor when
 * it is asked for a factor of a bit-identical undamped matrix (see dopt_nlls_solver_keep_factors).
 * dopt_linear_solver_dense builds the dense Cholesky one; dopt_sparse.h's
 * dopt_sparse_linear_solver_{f,d} provides its supernodal Cholesky (AMD ordering, analysis once)
 * for large problems such as pose graphs, and is the model for plugging in another solver. */
typedef struct DOPT_FN(dopt_linear_solver) {
    void *self;
    dopt_status (*analyze)(void *self, const dopt_block_pattern *pattern, dopt_errinfo *info);
    dopt_status (*factor)(void *self, const DOPT_REAL *values, const DOPT_REAL *diag_add,
                          int *fail_col);
    dopt_status (*solve)(void *self, DOPT_REAL *rhs);
    void (*destroy)(void *self);
    dopt_status (*reserve)(void *self, int count);
    void (*select)(void *self, int slot);
    int batch_width;
    dopt_status (*reserve_batch)(void *self);
    dopt_status (*factor_batch)(void *self, int count, const DOPT_REAL *const *values,
                                const DOPT_REAL *const *diag_add, dopt_status *status, int *fail_col);
    void (*solve_batch)(void *self, int count, DOPT_REAL *const *rhs);
    dopt_status (*selected_inverse)(void *self, DOPT_REAL *out);
    size_t (*work_bytes)(void *self);
    dopt_status (*share_work)(void *self, void *mem, size_t bytes);
} DOPT_FN(dopt_linear_solver);

/* dopt_linear_solver_dense: a linear solver that scatters the blocks into a dense n x n matrix
 * and factors it with dopt_potrf (O(n^3): for problems up to a few hundred unknowns).  A pivot
 * whose square falls below (DOPT_IS_FLOAT ? 10 : 1000) n eps times its original diagonal entry
 * is reported as a failure at that column (rank deficiency).  Supports reserve/select (each
 * slot: n x n + n reals).  Memory through hooks (copied; NULL for libc).  Returns
 * DOPT_ERR_ALLOCATION or DOPT_OK. */
DOPT_API dopt_status DOPT_FN(dopt_linear_solver_dense)(const dopt_hooks *hooks,
                                                       DOPT_FN(dopt_linear_solver) *out);

/* ---- problem --------------------------------------------------------------------------------- */

/* One cost term r = c(x^i) (rdim residuals) of the objective.  Zero-initialize, then fill:
 *   fn            the residual (+ tangent Jacobian) callback, see dopt_cost_fn (required)
 *   data          handed to fn; batch element b gets (const char *)data + b * data_stride
 *   data_stride   bytes between batch elements' data (0: all elements share `data`)
 *   rdim          residual dimension, >= 1
 *   nvars, vars   the variables touched (1..DOPT_NLLS_MAX_COST_VARS distinct indices; copied);
 *                 fn sees them in this order
 *   weight_kind, weight, weight_stride   the weight W (dopt_weight_kind); element b reads
 *                 weight + b * weight_stride (reals; 0: shared).  Not copied: keep it alive.
 *   loss, loss_scale                     robust loss and its scale a (0 means 1)
 *   numeric_diff  1: fn computes no Jacobian (it is always called with J = NULL) and the layer
 *                 uses central differences on the tangent space */
typedef struct DOPT_FN(dopt_nlls_cost_desc) {
    DOPT_FN(dopt_cost_fn) fn;
    const void *data;
    size_t data_stride;
    int rdim;
    int nvars;
    const int *vars;
    dopt_weight_kind weight_kind;
    const DOPT_REAL *weight;
    ptrdiff_t weight_stride;
    dopt_loss_kind loss;
    DOPT_REAL loss_scale;
    int numeric_diff;
} DOPT_FN(dopt_nlls_cost_desc);

/* The objective: variables (with their manifolds) and cost terms, for a batch of B problems that
 * share this structure.  Opaque; build it with the calls below, then create a solver. */
typedef struct DOPT_FN(dopt_nlls_problem) DOPT_FN(dopt_nlls_problem);

/* dopt_nlls_problem_create: an empty problem for `batch` (>= 1) elements; hooks copied (NULL:
 * libc, no log).  Returns DOPT_ERR_INVALID_ARGUMENT or DOPT_ERR_ALLOCATION on failure. */
DOPT_API dopt_status DOPT_FN(dopt_nlls_problem_create)(const dopt_hooks *hooks, int batch,
                                                       DOPT_FN(dopt_nlls_problem) **out);
/* dopt_nlls_problem_destroy: free the problem (NULL is fine). */
DOPT_API void DOPT_FN(dopt_nlls_problem_destroy)(DOPT_FN(dopt_nlls_problem) *p);

/* dopt_nlls_add_variable: add a variable living on manifold m (the descriptor is copied; use
 * dopt_manifold_euclidean(n) for R^n).  *index (may be NULL) receives its index (0, 1, ...).
 * Its stored values sit at offset dopt_nlls_variable_offset() in each element's state vector. */
DOPT_API dopt_status DOPT_FN(dopt_nlls_add_variable)(DOPT_FN(dopt_nlls_problem) *p,
                                                     const DOPT_FN(dopt_manifold) *m, int *index);
/* dopt_nlls_set_constant: hold variable v fixed (1) or free it (0) — e.g. the first pose of a
 * pose graph, to remove the gauge freedom.  Takes effect for solvers created afterwards. */
DOPT_API dopt_status DOPT_FN(dopt_nlls_set_constant)(DOPT_FN(dopt_nlls_problem) *p, int v, int constant);
/* dopt_nlls_add_cost: add a cost term (see dopt_nlls_cost_desc); *index (may be NULL) gets its
 * index.  DOPT_ERR_INVALID_ARGUMENT for a bad variable index, a variable listed twice, rdim < 1,
 * a NULL fn or weight; DOPT_ERR_ALLOCATION. */
DOPT_API dopt_status DOPT_FN(dopt_nlls_add_cost)(DOPT_FN(dopt_nlls_problem) *p,
                                                 const DOPT_FN(dopt_nlls_cost_desc) *desc, int *index);
/* dopt_nlls_state_size: reals in one element's state vector (sum of the variables' `dim`). */
DOPT_API int DOPT_FN(dopt_nlls_state_size)(const DOPT_FN(dopt_nlls_problem) *p);
/* dopt_nlls_variable_offset: offset of variable v's stored values in the state vector. */
DOPT_API int DOPT_FN(dopt_nlls_variable_offset)(const DOPT_FN(dopt_nlls_problem) *p, int v);
/* dopt_nlls_num_variables / dopt_nlls_num_costs / dopt_nlls_batch: counts. */
DOPT_API int DOPT_FN(dopt_nlls_num_variables)(const DOPT_FN(dopt_nlls_problem) *p);
DOPT_API int DOPT_FN(dopt_nlls_num_costs)(const DOPT_FN(dopt_nlls_problem) *p);
DOPT_API int DOPT_FN(dopt_nlls_batch)(const DOPT_FN(dopt_nlls_problem) *p);

/* ---- bounds and equality constraints (CONSTRAINED LEAST SQUARES, see dopt_nlls_solve) -------- */

/* dopt_nlls_set_bounds: box lower <= x <= upper on the stored values of Euclidean variable v
 * (made with dopt_manifold_euclidean).  lower, upper: dim reals each for element b at
 * lower + b * stride (stride 0: shared by the batch); NULL means -inf / +inf, and -INFINITY /
 * INFINITY entries are allowed.  Not copied: keep them alive; their values may change between
 * solves.  Takes effect for solvers created afterwards.  DOPT_ERR_INVALID_ARGUMENT for a bad
 * index or a variable that is not Euclidean. */
DOPT_API dopt_status DOPT_FN(dopt_nlls_set_bounds)(DOPT_FN(dopt_nlls_problem) *p, int v,
                                                   const DOPT_REAL *lower, const DOPT_REAL *upper,
                                                   ptrdiff_t stride);
/* dopt_nlls_add_constraint: add the equality constraint c(x^i) = 0 (rdim rows) described like a
 * cost (fn, data, data_stride, rdim, nvars, vars, numeric_diff; weight_kind and loss must be
 * NONE): on any variables, manifold ones included (fn returns tangent Jacobians).  *index (may
 * be NULL) gets its index 0, 1, ...; its rows follow those of the constraints added before it.
 * Only variables that some cost touches are moved (a variable only constraints touch is left
 * out, like an untouched one, and keeps its value).  Takes effect for solvers created
 * afterwards.  DOPT_ERR_INVALID_ARGUMENT, DOPT_ERR_ALLOCATION. */
DOPT_API dopt_status DOPT_FN(dopt_nlls_add_constraint)(DOPT_FN(dopt_nlls_problem) *p,
                                                       const DOPT_FN(dopt_nlls_cost_desc) *desc, int *index);
/* ---- editing costs between solves (no new analysis) ----------------------------------------- */
/* A solver's analysis depends only on which variables each cost touches; these edits keep that,
 * so they take effect at the next dopt_nlls_solve of every solver made from p, with no new
 * analysis (a cost touching other variables is a new structure: create a new solver, one
 * analysis).  Warm start: dopt_nlls_solve starts from whatever x holds.  To add a cost later
 * without a new analysis, add it disabled before the solver is made (a slot in the pattern) and
 * enable it, with its data, when it is needed. */

/* dopt_nlls_set_cost_data: cost c reads `data` (element b at data + b * data_stride bytes) from
 * now on.  DOPT_ERR_INVALID_ARGUMENT for a bad index. */
DOPT_API dopt_status DOPT_FN(dopt_nlls_set_cost_data)(DOPT_FN(dopt_nlls_problem) *p, int c, const void *data,
                                                      size_t data_stride);
/* dopt_nlls_set_cost_weight: cost c's weight becomes (kind, weight, stride), as in
 * dopt_nlls_cost_desc (not copied).  A disabled cost keeps it for when it is enabled.
 * DOPT_ERR_INVALID_ARGUMENT for a bad index or kind, a NULL weight with a kind other than NONE. */
DOPT_API dopt_status DOPT_FN(dopt_nlls_set_cost_weight)(DOPT_FN(dopt_nlls_problem) *p, int c,
                                                        dopt_weight_kind kind, const DOPT_REAL *weight,
                                                        ptrdiff_t weight_stride);
/* dopt_nlls_set_cost_enabled: enabled = 0 takes cost c out of the objective, 1 puts it back.  A
 * disabled cost is weighted by 0 (its callback is still called and must return finite values:
 * point its data at any valid datum), so its terms in S, g and H are exact zeros and a solve
 * equals that of the problem without it (tests/test_nlls_constraints.c: bit-identical for the
 * dense solver).  Learnable weights (dopt_nlls_diff_learn_weight) of a disabled cost get no
 * gradient.  DOPT_ERR_INVALID_ARGUMENT for a bad index. */
DOPT_API dopt_status DOPT_FN(dopt_nlls_set_cost_enabled)(DOPT_FN(dopt_nlls_problem) *p, int c, int enabled);

/* dopt_nlls_num_constraint_rows: total rows m of the equality constraints. */
DOPT_API int DOPT_FN(dopt_nlls_num_constraint_rows)(const DOPT_FN(dopt_nlls_problem) *p);

/* ---- solver ---------------------------------------------------------------------------------- */

/* Options: zero-initialize for the defaults (a 0 field means its default; dopt_nlls_default_options
 * fills them in explicitly).  Tolerances below 0 switch that test off. */
typedef struct DOPT_FN(dopt_nlls_options) {
    dopt_nlls_method method;            /* LM (default), GN, DOGLEG                               */
    int max_iterations;                 /* 0: 50                                                  */
    DOPT_REAL function_tolerance;       /* stop when |dS| <= tol * S; 0: 1e-6                     */
    DOPT_REAL cost_change_tolerance;    /* stop when |dS| <= tol (absolute); 0: off               */
    DOPT_REAL gradient_tolerance;       /* stop when max |g_i| <= tol; 0: 1e-10                   */
    DOPT_REAL step_tolerance;           /* stop when ||d|| <= tol (||x|| + tol); 0: 1e-8          */
    dopt_lm_damping lm_damping;         /* LM: D = clamped diag(H) (default) or I                 */
    dopt_lm_update lm_update;           /* LM: Nielsen's update (default) or fixed factor         */
    DOPT_REAL initial_lambda;           /* LM: 0: 1e-4 (Ceres' initial radius 1e4)               */
    DOPT_REAL max_lambda;               /* LM: stop with NO_PROGRESS above it; 0: 1e32            */
    DOPT_REAL lm_factor;                /* LM with DOPT_LM_UPDATE_FACTOR: 0: 10                   */
    DOPT_REAL min_relative_decrease;    /* LM/Dogleg: accept when gain ratio > it; 0: 1e-3        */
    DOPT_REAL initial_radius;           /* Dogleg trust radius; 0: 1e4                            */
    DOPT_REAL min_radius;               /* Dogleg: stop with NO_PROGRESS below it; 0: 1e-32       */
    dopt_robust_mode robust_mode;       /* IRLS (default) or TRIGGS, see dopt_robust_mode         */
    int line_search;                    /* GN: 1 = backtracking (Armijo) line search on the step  */
    int max_line_search_steps;          /* 0: 20 halvings                                         */
    DOPT_REAL numeric_diff_step;        /* central-difference step h; 0: cbrt(eps); relative
                                           (h max(1,|x_j|)) on Euclidean variables              */
    int timing;                         /* 1: fill dopt_nlls_timing (calls clock())               */
    /* Added for the backward modes (DIFFERENTIABLE LEAST SQUARES section): */
    DOPT_REAL step_size;                /* every trial point is x ⊕ step_size d (Theseus'
                                           step_size; the model decrease is scaled to match);
                                           0: 1                                                  */
    /* Optional iteration hook (NULL: off, costs nothing): called once per step decision of
     * element b with the state x BEFORE the step, the step direction d (n tangent reals), the
     * scale t actually applied (x ⊕ t d), the LM damping lambda and dogleg radius the step was
     * computed with, and whether it was accepted.  dopt_nlls_diff uses it to record UNROLL's
     * trace; it must not allocate or change the solver. */
    void (*iteration_hook)(void *user, int b, const DOPT_REAL *x, const DOPT_REAL *d, DOPT_REAL t,
                           DOPT_REAL lambda, DOPT_REAL radius, int accepted);
    void *hook_user;
    /* Batches and the lane batch: with method LM, a batch of two or more elements and a linear
     * solver that offers factor_batch (dopt_sparse_linear_solver does), the elements run in
     * LOCKSTEP, in consecutive groups of batch_width (elements 0..W-1, then W..2W-1, ...): each
     * iteration, every running element of the group builds its damped system, one
     * factor_batch call factors them all (one vector lane per element), one solve_batch call
     * solves them, then each element takes its trial point, accepts or rejects and updates its
     * damping on its own.  An element that stops leaves the group's later factorizations.
     * Every element runs the very iteration it runs alone (the same code: its own damping,
     * decisions, stopping, report); results are bit-identical to a sequential solve when the
     * linear solver's factor_batch rounds as its factor() does (a vectorized lane factor may
     * differ in the last bits).  Reports, the returned status and info are those of the
     * sequential loop (the first failing element in element order).  Logging, an
     * iteration_hook and the GN / Dogleg methods make the solve sequential.
     * sequential_batch = 1 solves the elements one after another instead. */
    int sequential_batch;
    /* Constrained problems (dopt_nlls_set_bounds, dopt_nlls_add_constraint): converged needs
     * max |c_i(x)| <= constraint_tolerance; 0: 1e-10 (double), 1e-4 (float). */
    DOPT_REAL constraint_tolerance;
} DOPT_FN(dopt_nlls_options);

/* dopt_nlls_default_options: the options with every default written out. */
DOPT_API DOPT_FN(dopt_nlls_options) DOPT_FN(dopt_nlls_default_options)(void);

/* A solver for one problem structure: the block pattern, the linear solver's analysis and all
 * iteration memory are made once here; solves allocate nothing.  Opaque. */
typedef struct DOPT_FN(dopt_nlls_solver) DOPT_FN(dopt_nlls_solver);

/* dopt_nlls_solver_create: analyze problem p (which must stay alive and unchanged in structure;
 * cost data and weights may change between solves).  Free variables that no cost touches are
 * left out of the system (they keep their values).  With a batch of two or more and a linear
 * solver with the lane batch (factor_batch), it also calls reserve_batch and takes the lockstep
 * lanes: min(batch_width, batch) x (2 pattern->nvalues + 5 n) reals; if either fails the
 * solver just stays sequential (no error).  `linear` is the linear solver (copied; the
 * nlls solver owns it from now on and destroys it), or NULL for dopt_linear_solver_dense.
 * Returns the linear solver's analyze() status, DOPT_ERR_ALLOCATION, DOPT_ERR_INVALID_ARGUMENT. */
DOPT_API dopt_status DOPT_FN(dopt_nlls_solver_create)(DOPT_FN(dopt_nlls_problem) *p,
                                                      const DOPT_FN(dopt_linear_solver) *linear,
                                                      DOPT_FN(dopt_nlls_solver) **out,
                                                      dopt_errinfo *info);
/* dopt_nlls_solver_destroy: free the solver and its linear solver (NULL is fine). */
DOPT_API void DOPT_FN(dopt_nlls_solver_destroy)(DOPT_FN(dopt_nlls_solver) *s);
/* dopt_nlls_solver_pattern: the block pattern handed to the linear solver (valid while s is). */
DOPT_API const dopt_block_pattern *DOPT_FN(dopt_nlls_solver_pattern)(const DOPT_FN(dopt_nlls_solver) *s);
/* dopt_nlls_solver_keep_factors: keep = 1: keep every batch element's last UNDAMPED
 * factorization (Gauss-Newton, dogleg) in a slot of its own, so it outlives the solves of the
 * elements after it and any later damped (LM) factorization, which all share one more slot;
 * keep = 0 (the default): one factor for everything.  What it is for: dopt_nlls_diff_backward
 * (IMPLICIT) needs the undamped Gauss-Newton factor at the recorded solution and reuses a kept
 * factor instead of refactoring when it is of exactly that matrix — e.g. after a dopt_nlls_solve
 * Gauss-Newton step from the solution (Theseus' flow: the step factors H(x*), the backward would
 * factor it again).  With one factor for everything only a batch of 1 gets that.  Memory,
 * allocated here (nothing in the iterations): the linear solver's reserve(batch + 1) — batch + 1
 * factors — plus (batch + 1) x pattern->nvalues reals (the matrices they were made from); the
 * factors held so far are dropped.  Returns DOPT_OK, DOPT_ERR_UNSUPPORTED (the linear solver has
 * no reserve/select), DOPT_ERR_ALLOCATION (the solver is left as it was),
 * DOPT_ERR_INVALID_ARGUMENT. */
DOPT_API dopt_status DOPT_FN(dopt_nlls_solver_keep_factors)(DOPT_FN(dopt_nlls_solver) *s, int keep);

/* dopt_nlls_solve: minimize every batch element, starting from and overwriting x.
 *   opt       options (NULL: defaults)
 *   x         batch state vectors; element b at x + b * x_stride (x_stride 0: the state size)
 *   reports   batch entries (may be NULL): per-element outcome
 *   timing    may be NULL; times summed over the batch (see dopt_nlls_timing)
 *   info      may be NULL; the first failure's details: index = the batch element for a cost
 *             error, or the VARIABLE whose block failed to factor, with the likely cause
 * Each element is solved on its own (its own damping, stopping and report), either to the end
 * before the next one starts, or, for Levenberg-Marquardt with a linear solver that has the
 * lane batch, in lockstep groups that share each iteration's factorization call (see
 * dopt_nlls_options.sequential_batch: same steps, same reports); all share the structure, the
 * symbolic analysis and the memory.  A failing element does not stop the others.
 * Per-iteration lines (Ceres' summary columns) go to the problem's log hook at DOPT_LOG_INFO.  Returns DOPT_OK when every element finished without error (stopping at
 * max_iterations is not an error; see the reports), else the first element's error:
 * DOPT_ERR_NOT_POSITIVE_DEFINITE (GN / Dogleg on a rank-deficient H: gauge freedom or an
 * unconstrained variable, named in info), DOPT_ERR_NON_FINITE (NaN/Inf cost), a callback's
 * status, DOPT_ERR_INVALID_ARGUMENT (an unknown enum value or a NaN/Inf real in opt; x untouched).
 *
 * CONSTRAINED LEAST SQUARES.  With bounds (dopt_nlls_set_bounds) or equality constraints
 * (dopt_nlls_add_constraint) every element runs a PROJECTED LEVENBERG-MARQUARDT method with a
 * KKT step, whatever opt->method says (GN and Dogleg are served by it too), one element after
 * the other:
 *   - x starts projected onto the box.  Each iteration solves the damped QP
 *         min g.d + d.K d / 2,  K = H + lambda D,  s.t.  A d = -c,  lo - x <= d <= hi - x
 *     (A: m x n constraint Jacobian, tangent columns) by a primal-dual active-set loop: the
 *     pinned coordinates (first: those on a bound that the Lagrangian gradient g + A^T y pushes
 *     outward) are held at their bound by replacing their rows and columns of K with the
 *     identity's, so the block pattern and the linear solver's analysis stay as they are; the
 *     others take the range-space KKT step (m + 1 solves with K's factor, S = A K^-1 A^T dense,
 *     m x m); a free coordinate that leaves the box is pinned at the bound it crosses, a pinned
 *     one whose multiplier has the wrong sign is released, until the set repeats.  Every step
 *     thus meets the linearized constraints inside the box.
 *   - The trial point x ⊕ d (clipped at the box) is accepted on the exact l1 merit
 *     S(x) + mu ||c(x)||_1 (mu >= 1.5 max |y_i|, never decreasing) by the gain-ratio test, with
 *     up to three backtracks (t / 4) along d before more damping (a full step on a curved
 *     constraint far from it overshoots); Nielsen's or the factor update of lambda as unconstrained.
 *   - Converged (stop GRADIENT) when the projected Lagrangian gradient is <= gradient_tolerance
 *     and max |c_i| <= constraint_tolerance; STEP when the QP step is below x's rounding or the
 *     step test holds; the function test needs the constraint test too.  The reports carry
 *     constraint_norm and active_bounds; dopt_nlls_multipliers and dopt_nlls_active_set give y
 *     and the active set of each element's last solve.
 * Why this method: equalities by the KKT step rather than an augmented-Lagrangian outer loop,
 * because every step then satisfies the linearized constraints (c(x) = 0 to rounding in a few
 * Newton steps, where a penalty reaches it only as mu grows), the multipliers come out exact
 * for the implicit backward, and the same pinned K serves bounds; pinning rows and columns
 * (instead of removing them) keeps one symbolic analysis for every active set.
 * Backward (dopt_nlls_diff, IMPLICIT only; the other modes return DOPT_ERR_UNSUPPORTED): the
 * adjoint solves the KKT system of the solution with the forward's final active set held fixed
 * (those coordinates get no gradient), with the Gauss-Newton H, or with implicit_exact the exact
 * Hessian of the Lagrangian S + y^T c (curved constraints).  A coordinate on its bound with a
 * zero multiplier (degenerate) counts as free: its gradient is the one-sided one of moving off
 * the bound.  Memory: made with the solver (m x (3n + m + 4) + nvalues + 7n + xdim reals, batch
 * x (n bytes + m reals)); the solve allocates nothing.  Additional statuses: DOPT_ERR_SINGULAR
 * (constraint rows dependent on the free coordinates: S not positive definite). */
DOPT_API dopt_status DOPT_FN(dopt_nlls_solve)(DOPT_FN(dopt_nlls_solver) *s,
                                              const DOPT_FN(dopt_nlls_options) *opt, DOPT_REAL *x,
                                              ptrdiff_t x_stride, dopt_nlls_report *reports,
                                              dopt_nlls_timing *timing, dopt_errinfo *info);

/* dopt_nlls_evaluate: the objective S of batch element b at state x (one element's vector) and,
 * if g is non-NULL, its gradient in the free tangent columns (n reals, the pattern's order).
 * Returns a callback's status or DOPT_ERR_NON_FINITE. */
DOPT_API dopt_status DOPT_FN(dopt_nlls_evaluate)(DOPT_FN(dopt_nlls_solver) *s, int b,
                                                 const DOPT_REAL *x, DOPT_REAL *cost, DOPT_REAL *g);
/* dopt_nlls_multipliers: the Lagrange multipliers y (m reals, constraint rows in order) of
 * element b's last constrained solve, with g + A^T y = 0 on the free coordinates; NULL when the
 * problem has no equality constraints or b is out of range.  Valid until the next solve. */
DOPT_API const DOPT_REAL *DOPT_FN(dopt_nlls_multipliers)(const DOPT_FN(dopt_nlls_solver) *s, int b);
/* dopt_nlls_active_set: n flags (tangent columns, the pattern's order), 1 where element b's last
 * constrained solve ended with that coordinate held at a bound; NULL without bounds. */
DOPT_API const unsigned char *DOPT_FN(dopt_nlls_active_set)(const DOPT_FN(dopt_nlls_solver) *s, int b);

/* ---- ragged batches ---------------------------------------------------------------------------- */
/* RAGGED BATCH: elements whose variable and cost counts differ (pose graphs of different
 * lengths), without padding.  Give one problem per structure, its batch holding the elements of
 * that structure; the ragged solver makes one nlls solver per problem (its own analysis, made
 * once) and solves the problems one after the other, the elements of one problem in lockstep
 * where its linear solver has the lane batch (dopt_nlls_options.sequential_batch).  The solvers
 * share one area of iteration buffers (H, g, step vectors, cost scratch) and, where the linear
 * solver offers share_work (dopt_sparse_linear_solver does), one factor's memory, each sized for
 * the largest problem: that memory once, not once per problem (bench-pgo's ragged256, 256 cube
 * graphs of 64..256 poses: the process holds 344 MB after creation instead of 734 MB, and far
 * fewer fresh pages are faulted in).  So use its solvers
 * one at a time, never on several threads at once.  Each element gets exactly the solve it gets
 * alone (the same code; every buffer is written before it is read: tests/test_nlls_constraints.c
 * checks bit-identity, also after the other problems used the areas).  States are packed back to back: problem k's
 * element b at x + dopt_nlls_ragged_offset(R, k) + b * dopt_nlls_state_size(problem k); reports
 * likewise, problem k's element b at reports[dopt_nlls_ragged_first(R, k) + b].  For the
 * backward modes make a dopt_nlls_diff on each dopt_nlls_ragged_solver(R, k). */
typedef struct DOPT_FN(dopt_nlls_ragged) DOPT_FN(dopt_nlls_ragged);
/* Makes the linear solver of problem p (e.g. dopt_sparse_linear_solver for large ones); user is
 * the pointer given to dopt_nlls_ragged_create. */
typedef dopt_status (*DOPT_FN(dopt_linear_solver_maker))(void *user, const DOPT_FN(dopt_nlls_problem) *p,
                                                         DOPT_FN(dopt_linear_solver) *out);
/* dopt_nlls_ragged_create: a ragged solver over problems[0 .. nproblems-1] (which must outlive
 * it), each problem's linear solver made by `maker` (NULL: dopt_linear_solver_dense).  Hooks
 * copied.  Returns the first failing dopt_nlls_solver_create status (info.index = the problem),
 * DOPT_ERR_ALLOCATION, DOPT_ERR_INVALID_ARGUMENT. */
DOPT_API dopt_status DOPT_FN(dopt_nlls_ragged_create)(const dopt_hooks *hooks, int nproblems,
                                                      DOPT_FN(dopt_nlls_problem) *const *problems,
                                                      DOPT_FN(dopt_linear_solver_maker) maker, void *maker_user,
                                                      DOPT_FN(dopt_nlls_ragged) **out, dopt_errinfo *info);
/* dopt_nlls_ragged_destroy: free it and its solvers (NULL is fine); the problems stay. */
DOPT_API void DOPT_FN(dopt_nlls_ragged_destroy)(DOPT_FN(dopt_nlls_ragged) *R);
/* dopt_nlls_ragged_solve: dopt_nlls_solve of every problem on its packed states (see above);
 * reports (dopt_nlls_ragged_count entries, may be NULL).  Returns the first failing element's
 * status (info.index: the element's packed index), else DOPT_OK. */
DOPT_API dopt_status DOPT_FN(dopt_nlls_ragged_solve)(DOPT_FN(dopt_nlls_ragged) *R,
                                                     const DOPT_FN(dopt_nlls_options) *opt, DOPT_REAL *x,
                                                     dopt_nlls_report *reports, dopt_errinfo *info);
/* dopt_nlls_ragged_solver: problem k's nlls solver (NULL for a bad k). */
DOPT_API DOPT_FN(dopt_nlls_solver) *DOPT_FN(dopt_nlls_ragged_solver)(const DOPT_FN(dopt_nlls_ragged) *R, int k);
/* dopt_nlls_ragged_offset: where problem k's first state starts in x (k = nproblems: the total
 * reals); dopt_nlls_ragged_first: its first element's packed index (k = nproblems: the count). */
DOPT_API ptrdiff_t DOPT_FN(dopt_nlls_ragged_offset)(const DOPT_FN(dopt_nlls_ragged) *R, int k);
DOPT_API ptrdiff_t DOPT_FN(dopt_nlls_ragged_first)(const DOPT_FN(dopt_nlls_ragged) *R, int k);
/* dopt_nlls_ragged_count: the elements of all problems. */
DOPT_API ptrdiff_t DOPT_FN(dopt_nlls_ragged_count)(const DOPT_FN(dopt_nlls_ragged) *R);

/* ---- Jacobian help --------------------------------------------------------------------------- */

/* dopt_nlls_numeric_jacobian: central-difference tangent Jacobian of cost fn with respect to its k-th
 * variable: J (rdim x tangent_dim, row-major) with column j = (r(x_k ⊕ h e_j) - r(x_k ⊕ -h e_j))
 * / 2h, h = step (0: cbrt(eps)), times max(1, |x_kj|) when the manifold is "euclidean".
 * scratch: 2 rdim + dim_k + tangent_dim_k reals.  Returns fn's status. */
DOPT_API dopt_status DOPT_FN(dopt_nlls_numeric_jacobian)(DOPT_FN(dopt_cost_fn) fn, const void *data,
                                                    int rdim, int nvars,
                                                    const DOPT_FN(dopt_manifold) *const *manifolds,
                                                    const DOPT_REAL **vars, int k, DOPT_REAL step,
                                                    DOPT_REAL *J, DOPT_REAL *scratch);

/* dopt_nlls_check_jacobian: compare fn's analytic tangent Jacobians with central differences on the
 * tangent space at vars (manifold conventions: right perturbation x ⊕ d, see dopt_manifold) and
 * report the worst entry in *out.  Use it in a test of every cost you write: a max_error above
 * ~1e-6 (double) means the Jacobian or its convention is wrong.  Allocates scratch through hooks.
 * Returns fn's status, DOPT_ERR_INVALID_ARGUMENT, DOPT_ERR_ALLOCATION. */
DOPT_API dopt_status DOPT_FN(dopt_nlls_check_jacobian)(DOPT_FN(dopt_cost_fn) fn, const void *data,
                                                  int rdim, int nvars,
                                                  const DOPT_FN(dopt_manifold) *const *manifolds,
                                                  const DOPT_REAL *const *vars, DOPT_REAL step,
                                                  const dopt_hooks *hooks, dopt_jacobian_check *out);

#ifdef __cplusplus
}
#endif
#endif /* DOPT__NLLS_PASS_DECL */

/* =============================================================================================== */
/* DIFFERENTIABLE LEAST SQUARES — backward modes of the least-squares layer (dopt_nlls_diff_*).     */
/*                                                                                                 */
/* The layer θ* = argmin_θ S(θ; φ) of the section above becomes a differentiable function: given    */
/* ∂L/∂θ* for an outer loss L, dopt_nlls_diff_backward returns ∂L/∂φ for every LEARNABLE PARAMETER  */
/* φ that shaped the problem, and (UNROLL) ∂L/∂θ0 for the initial values — TheseusLayer's four      */
/* backward modes (Pineda et al. 2022, §4.3 and App. E):                                           */
/*                                                                                                 */
/*   IMPLICIT   the implicit function theorem at the solution.  At θ* the gradient g(θ*, φ) = 0,    */
/*              so dθ* / dφ = -H⁻¹ ∂g/∂φ.  H is the UNDAMPED GAUSS-NEWTON matrix J~ᵀJ~ at θ* (robust   */
/*              and weight folding as in the forward solve): the forward solver's own matrix without */
/*              its damping (one linearization + factorization at θ*, no iteration: the forward's   */
/*              last factor belongs to the previous iterate and a damped matrix); it is positive     */
/*              semidefinite by construction (a Newton Hessian need not be away from the minimum);  */
/*              and it equals the exact Hessian when the residuals vanish at θ* or are linear (and  */
/*              for robust losses folded by TRIGGS inside their convex region) — the same choice as */
/*              Theseus.  One solve w = H⁻¹ ∂L/∂θ*, then ∂L/∂φ = -∂/∂φ (wᵀ g(θ*, φ)) which is taken  */
/*              as the t-derivative of ∂S/∂φ(θ* ⊕ t w) by a central difference (mixed partials       */
/*              commute), so only FIRST-order parameter Jacobian products are needed.  Time and      */
/*              memory do not depend on the number of inner iterations.  A singular or non-finite   */
/*              H gives DOPT_ERR_SINGULAR / DOPT_ERR_NON_FINITE for that element, never NaN.        */
/*              FACTOR REUSE: when the solver still holds a factor of exactly that matrix, no       */
/*              second factorization is made.  That is Theseus' flow: a dopt_nlls_solve             */
/*              Gauss-Newton step from θ* between the forward and the backward factors H(θ*)        */
/*              undamped (for a batch, dopt_nlls_solver_keep_factors keeps one factor per element). */
/*              The decision is automatic and never rests on the caller: every factorization        */
/*              records the matrix it factored and whether it was undamped and succeeded; the       */
/*              backward still linearizes at θ* (its checks need that) and reuses the factor only   */
/*              when the new matrix is bit-identical to the recorded one, so a changed point,       */
/*              parameter, weight, loss scale, cost data, robust mode or any damping means a fresh  */
/*              factorization.  Gradient and statuses are those of a refactorization (the kept      */
/*              factor passed the same rank and finiteness checks); dopt_nlls_diff_report.factor_reused   */
/*              says it happened, option no_factor_reuse turns it off.                              */
/*              Option implicit_exact: the exact Hessian instead (conjugate gradients on            */
/*              Hessian-vector products, preconditioned by the Gauss-Newton factor) for problems    */
/*              whose residuals do not vanish or whose robust loss is folded by IRLS.               */
/*   UNROLL     reverse mode through every recorded iteration θ_{k+1} = θ_k ⊕ t_k Δ_k exactly as it */
/*              was run: the step Δ_k(θ_k, φ) of GN, LM ((H + λD)Δ = -g, D = clamped diag H, its    */
/*              dependence on θ included) or Dogleg (Gauss-Newton, Cauchy or blended step),         */
/*              rejected steps as identities.  The discrete decisions and the schedule (accept/      */
/*              reject, λ_k, trust radius, line-search scale t_k) are constants of the recorded      */
/*              trace (exact for GN, LM with DOPT_LM_UPDATE_FACTOR — Theseus' and GTSAM's schedule, */
/*              piecewise constant — and fixed radii; Nielsen's λ update and the dogleg radius vary */
/*              continuously with the gain ratio, a dependence UNROLL leaves out; tests compare with */
/*              dopt_nlls_diff_replay, the map with the recorded schedule).  Per iteration: one      */
/*              factorization, then the second-order terms (∂J/∂θ, ∂J/∂φ) by central differences of */
/*              each cost's Jacobian over its own variables and parameters (local, O(cost size):     */
/*              2 (tangent + parameter dims) evaluations per cost).  Memory grows with the          */
/*              iterations (one state per step).  Also gives ∂L/∂θ0.                                */
/*   TRUNCATED  UNROLL through the last K recorded iterations only.                                 */
/*   DLM        direct loss minimization (paper eq. 4): θd = argmin S(θ) + ||ε δ - ½ ∂L/∂θ*||²,    */
/*              δ = θ ⊖ θ*, solved by Gauss-Newton from θ*, then ∂L/∂φ ≈ (∂S/∂φ(θ*) - ∂S/∂φ(θd))/ε. */
/*              (S = ½ Σ ρ as above.)  Tends to the exact implicit gradient as ε → 0.               */
/*                                                                                                 */
/* LEARNABLE PARAMETERS (declared on a dopt_nlls_diff made from a solver):                          */
/*   DATA        reals in YOUR memory that a cost's data reads (a measurement, auxiliary data):      */
/*               dopt_nlls_diff_add_param + dopt_nlls_diff_attach(cost, param, vjp).  vjp returns    */
/*               (∂r/∂φ)ᵀ r̄ for the raw residual; NULL means central differences (the value is       */
/*               perturbed in place and the cost re-evaluated).                                     */
/*   WEIGHT      the entries of a cost's weight W (dopt_nlls_diff_learn_weight).                    */
/*   LOSS_SCALE  a robust-loss radius a shared by the costs attached to it                          */
/*               (dopt_nlls_diff_learn_loss_scale; dopt_nlls_diff_solve copies it into the costs).  */
/*   A parameter has `dim` reals per batch element at values + b * stride, or stride 0: one value    */
/*   shared by the batch (its gradient is summed over the batch).                                   */
/*                                                                                                 */
/* TANGENT CONVENTION: ∂L/∂θ* and ∂L/∂θ0 are n-vectors in the solver's tangent columns (free       */
/* variables in index order, dopt_nlls_diff_tangent_offset), the right perturbation θ ⊕ δ of        */
/* dopt_manifold: (∂L/∂θ)_j = dL(θ ⊕ δ)/dδ_j at δ = 0.                                              */
/*                                                                                                 */
/* STATUS PER ELEMENT: every element gets a dopt_nlls_diff_report (forward stop, converged flag, status). */
/* IMPLICIT and DLM assume optimality; for an element that did not converge (iteration limit, no   */
/* progress) the policy decides: FLAG (default: compute and flag), ZERO (contribute nothing), FAIL  */
/* (contribute nothing, return DOPT_ERR_NO_CONVERGENCE).  An element whose forward solve failed    */
/* contributes nothing and is flagged under every policy.  Sketch:                                  */
/*     dopt_nlls_diff_create_d(solver, &D);                                                         */
/*     dopt_nlls_diff_add_param_d(D, DOPT_PARAM_DATA, meas, 1, 0, &k);                              */
/*     dopt_nlls_diff_attach_d(D, cost, k, my_vjp);                                                 */
/*     dopt_nlls_diff_solve_d(D, &opt, x, 0, reports, NULL);       // forward, records the trace    */
/*     ...  xbar = dL/dx at x (tangent columns) ...                                                 */
/*     bo.mode = DOPT_NLLS_DIFF_IMPLICIT;  dopt_nlls_diff_backward_d(D, &bo, xbar, NULL, brep, NULL);     */
/*     grad = dopt_nlls_diff_param_grad_d(D, k);                                                    */
/* examples/curve_fit.c and examples/learn_robust_pgo.c are complete programs.                     */
/* =============================================================================================== */
#if !defined(DOPT__DRIVE)
#ifndef DOPT_NLLSBWD_H
#define DOPT_NLLSBWD_H
#ifdef __cplusplus
extern "C" {
#endif

/* Backward mode, see above. */
typedef enum dopt_nlls_diff_mode { DOPT_NLLS_DIFF_IMPLICIT = 0, DOPT_NLLS_DIFF_UNROLL, DOPT_NLLS_DIFF_TRUNCATED, DOPT_NLLS_DIFF_DLM } dopt_nlls_diff_mode;
/* What to do with an element whose forward solve did not converge (IMPLICIT, DLM). */
typedef enum dopt_nlls_diff_policy { DOPT_NLLS_DIFF_FLAG = 0, DOPT_NLLS_DIFF_ZERO, DOPT_NLLS_DIFF_FAIL } dopt_nlls_diff_policy;
/* Kind of a learnable parameter. */
typedef enum dopt_param_kind { DOPT_PARAM_DATA = 0, DOPT_PARAM_WEIGHT, DOPT_PARAM_LOSS_SCALE } dopt_param_kind;

/* Outcome of the backward pass for one batch element. */
typedef struct dopt_nlls_diff_report {
    dopt_status status;         /* DOPT_OK, or why this element contributed nothing / was flagged */
    int converged;              /* 1 when the forward solve met a tolerance (not the iteration
                                   limit, no-progress, or an error)                                */
    dopt_nlls_stop forward_stop;
    int steps;                  /* UNROLL/TRUNCATED: recorded iterations differentiated            */
    int factor_reused;          /* factorizations this element skipped because the solver still
                                   held the factor of the bit-identical undamped matrix (IMPLICIT:
                                   0 or 1; see dopt_nlls_solver_keep_factors)                    */
} dopt_nlls_diff_report;

/* dopt_nlls_diff_mode_string: "implicit", "unroll", "truncated", "dlm". */
DOPT_API const char *dopt_nlls_diff_mode_string(dopt_nlls_diff_mode m);

/* Most learnable parameters one cost may depend on. */
#define DOPT_NLLS_DIFF_MAX_COST_PARAMS 4

#ifdef __cplusplus
}
#endif

#define DOPT__NLLSBWD_PASS_DECL
#define DOPT__DRIVE "dopt.h"
#include "dopt.h"
#undef DOPT__DRIVE
#undef DOPT__NLLSBWD_PASS_DECL
#endif /* DOPT_NLLSBWD_H */
#endif /* !DOPT__DRIVE */

/* ---- differentiable least squares: generic declarations --------------------------------------- */
#if defined(DOPT__NLLSBWD_PASS_DECL) && defined(DOPT_REAL)
#ifdef __cplusplus
extern "C" {
#endif

/* Vector-Jacobian product of a cost's RAW residual (before weight and loss) with respect to the
 * learnable parameter in attachment `slot` (0.., in dopt_nlls_diff_attach order for this cost):
 *   pbar[j] += sum_i rbar[i] d r_i / d phi_j,  j < the parameter's dim.
 * data and vars as in dopt_cost_fn (data of the current batch element). */
typedef dopt_status (*DOPT_FN(dopt_param_vjp_fn))(const void *data, const DOPT_REAL *const *vars,
                                                 const DOPT_REAL *rbar, int slot, DOPT_REAL *pbar);

/* Backward options; zero-initialize for the defaults. */
typedef struct DOPT_FN(dopt_nlls_diff_options) {
    dopt_nlls_diff_mode mode;         /* IMPLICIT (default), UNROLL, TRUNCATED, DLM                    */
    int truncate;               /* TRUNCATED: the last K iterations; 0: 5                        */
    DOPT_REAL dlm_epsilon;      /* DLM: ε; 0: 1e-2 (Theseus' default)                             */
    int dlm_iterations;         /* DLM: Gauss-Newton iterations for θd; 0: 10                     */
    dopt_nlls_diff_policy policy;     /* non-converged elements (IMPLICIT, DLM): FLAG (default)         */
    DOPT_REAL fd_step;          /* step of the second-order central differences; 0: cbrt(eps)    */
    int implicit_exact;         /* IMPLICIT: 1 = solve with the exact Hessian of S instead of the
                                   Gauss-Newton matrix (Hessian-vector products by central
                                   differences of the gradient, conjugate gradients preconditioned
                                   by the Gauss-Newton factorization): exact also for robust losses
                                   (IRLS) and non-zero residuals; DOPT_ERR_NOT_POSITIVE_DEFINITE if
                                   that Hessian is not positive definite (not a strict minimum) */
    int no_factor_reuse;        /* 1: always factor the undamped Gauss-Newton matrix again, even
                                   when the solver holds the factor of the identical matrix (the
                                   default reuses it; the gradient is the same either way)       */
} DOPT_FN(dopt_nlls_diff_options);

/* A differentiable view of one nlls solver.  Opaque. */
typedef struct DOPT_FN(dopt_nlls_diff) DOPT_FN(dopt_nlls_diff);

/* dopt_nlls_diff_create: wrap solver s (which must outlive it; its problem may not gain costs).
 * Memory through the problem's hooks.  DOPT_ERR_INVALID_ARGUMENT, DOPT_ERR_ALLOCATION. */
DOPT_API dopt_status DOPT_FN(dopt_nlls_diff_create)(DOPT_FN(dopt_nlls_solver) *s,
                                                    DOPT_FN(dopt_nlls_diff) **out);
/* dopt_nlls_diff_destroy: free it (NULL is fine); the solver is not touched. */
DOPT_API void DOPT_FN(dopt_nlls_diff_destroy)(DOPT_FN(dopt_nlls_diff) *D);

/* dopt_nlls_diff_add_param: declare a learnable parameter of `dim` reals; element b's values at
 * values + b * stride (stride 0: shared by the batch).  kind DATA: the memory your cost data reads
 * (attach it to its costs with dopt_nlls_diff_attach).  *index gets its index.
 * DOPT_ERR_INVALID_ARGUMENT, DOPT_ERR_ALLOCATION. */
DOPT_API dopt_status DOPT_FN(dopt_nlls_diff_add_param)(DOPT_FN(dopt_nlls_diff) *D, dopt_param_kind kind,
                                                       DOPT_REAL *values, int dim, ptrdiff_t stride,
                                                       int *index);
/* dopt_nlls_diff_attach: cost `cost` depends on parameter `param`; vjp (DATA only) computes its
 * residual's VJP (NULL: central differences; NULL for WEIGHT and LOSS_SCALE parameters, whose
 * derivatives are built in).  At most DOPT_NLLS_DIFF_MAX_COST_PARAMS per cost;
 * the slot handed to vjp is the attachment's position among this cost's attachments. */
DOPT_API dopt_status DOPT_FN(dopt_nlls_diff_attach)(DOPT_FN(dopt_nlls_diff) *D, int cost, int param,
                                                    DOPT_FN(dopt_param_vjp_fn) vjp);
/* dopt_nlls_diff_learn_weight: make the weight entries of `cost` learnable (1 real for SCALAR,
 * rdim for DIAGONAL, rdim x rdim row-major for SQRT_INFO; element b at weight + b *
 * weight_stride, the cost's own weight memory, which must be writable).  *param gets the index.
 * Costs that share that weight memory (same pointer, stride and kind) join the same parameter
 * with dopt_nlls_diff_attach(D, other_cost, *param, NULL): its gradient then sums over them. */
DOPT_API dopt_status DOPT_FN(dopt_nlls_diff_learn_weight)(DOPT_FN(dopt_nlls_diff) *D, int cost, int *param);
/* dopt_nlls_diff_learn_loss_scale: a learnable robust-loss radius a = *value (> 0, shared by the
 * batch); attach it to the costs it scales with dopt_nlls_diff_attach(D, c, param, NULL). */
DOPT_API dopt_status DOPT_FN(dopt_nlls_diff_learn_loss_scale)(DOPT_FN(dopt_nlls_diff) *D, DOPT_REAL *value,
                                                              int *param);
/* dopt_nlls_diff_tangent_offset: first tangent column of variable v in ∂L/∂θ vectors, or -1 when v
 * is constant or untouched (then it has no gradient). */
DOPT_API int DOPT_FN(dopt_nlls_diff_tangent_offset)(const DOPT_FN(dopt_nlls_diff) *D, int v);
/* dopt_nlls_diff_tangent_size: n, the length of ∂L/∂θ vectors. */
DOPT_API int DOPT_FN(dopt_nlls_diff_tangent_size)(const DOPT_FN(dopt_nlls_diff) *D);
/* dopt_nlls_diff_keep_trace: how much of the iteration trace the next dopt_nlls_diff_solve keeps:
 * -1 every iteration (the default; needed by UNROLL and by dopt_nlls_diff_replay), 0 none (enough
 * for IMPLICIT and DLM: their memory then does not grow with the iterations), K > 0 the last K
 * (a ring: enough for TRUNCATED with K).  DOPT_ERR_INVALID_ARGUMENT for keep < -1. */
DOPT_API dopt_status DOPT_FN(dopt_nlls_diff_keep_trace)(DOPT_FN(dopt_nlls_diff) *D, int keep);

/* dopt_nlls_diff_solve: dopt_nlls_solve (same arguments) after copying learnable loss scales into
 * their costs, recording the iteration trace (for UNROLL/TRUNCATED) and the solution.  The
 * trace holds opt->max_iterations states per element (allocated here, outside the iterations).
 * Returns dopt_nlls_solve's status or DOPT_ERR_ALLOCATION. */
DOPT_API dopt_status DOPT_FN(dopt_nlls_diff_solve)(DOPT_FN(dopt_nlls_diff) *D,
                                                   const DOPT_FN(dopt_nlls_options) *opt, DOPT_REAL *x,
                                                   ptrdiff_t x_stride, dopt_nlls_report *reports,
                                                   dopt_errinfo *info);

/* dopt_nlls_diff_backward: ∂L/∂φ for every parameter (read with dopt_nlls_diff_param_grad) from
 * xbar = ∂L/∂θ* (batch x n, element b at xbar + b n, tangent columns) for the last
 * dopt_nlls_diff_solve.  x0bar (batch x n, may be NULL) gets ∂L/∂θ0 (UNROLL, and TRUNCATED when K
 * covers every iteration; zero otherwise).  reports (batch entries, may be NULL): see
 * dopt_nlls_diff_report.  Parameters must hold the values of the forward solve.  An undamped
 * Gauss-Newton factorization is skipped when the solver holds the factor of the bit-identical
 * matrix (FACTOR REUSE in the overview above; option no_factor_reuse).  Returns DOPT_OK, or
 * the first element's error: DOPT_ERR_SINGULAR (IMPLICIT/DLM: H singular at θ*; info names the
 * variable), DOPT_ERR_NON_FINITE (also when this element's gradient came out NaN/Inf: every
 * element's output is checked), DOPT_ERR_NO_CONVERGENCE (policy FAIL), a cost's status,
 * DOPT_ERR_INVALID_ARGUMENT (no forward solve recorded; unknown mode or policy; UNROLL, or
 * TRUNCATED with K, for an element whose kept trace (dopt_nlls_diff_keep_trace) lacks iterations
 * it needs). */
DOPT_API dopt_status DOPT_FN(dopt_nlls_diff_backward)(DOPT_FN(dopt_nlls_diff) *D,
                                                      const DOPT_FN(dopt_nlls_diff_options) *opt,
                                                      const DOPT_REAL *xbar, DOPT_REAL *x0bar,
                                                      dopt_nlls_diff_report *reports, dopt_errinfo *info);

/* dopt_nlls_diff_param_grad: the gradient of parameter k from the last backward: dim reals
 * (shared parameter) or batch x dim (element b at + b dim).  NULL for a bad k. */
DOPT_API const DOPT_REAL *DOPT_FN(dopt_nlls_diff_param_grad)(const DOPT_FN(dopt_nlls_diff) *D, int k);

/* dopt_nlls_diff_damping_grad: LEARNABLE DAMPING.  After an UNROLL or TRUNCATED backward of a
 * Levenberg-Marquardt forward: batch reals, element b's ∂L/∂log λ0, the derivative of L with
 * respect to one common scale of the element's damping schedule λ_k = λ0 c_k over the
 * iterations the backward covered, the ratios c_k held as the accept / reject decisions are
 * (each step Δ_k = -(H + λ_k D)⁻¹ g contributes -w_kᵀ (λ_k D) Δ_k, w_k the step's adjoint
 * solve).  That is the derivative of the unrolled map with respect to log(initial_lambda) for
 * lm_update FACTOR (λ_k = λ0 f^n_k); with Nielsen's update the ratios' own dependence on λ0
 * is not followed.  ∂L/∂λ0 = that / λ0: an outer loop can tune initial_lambda with it.  Zero for
 * the other modes and methods and for failed elements; NULL before the first forward solve. */
DOPT_API const DOPT_REAL *DOPT_FN(dopt_nlls_diff_damping_grad)(const DOPT_FN(dopt_nlls_diff) *D);

/* dopt_nlls_diff_replay: re-run element b's recorded iterations (same λ, radius, step scales and
 * accept decisions) from state x (overwritten) with the current parameter values: the
 * K-iteration map that UNROLL differentiates (tests compare against its finite differences).
 * Returns a cost's status or DOPT_ERR_NOT_POSITIVE_DEFINITE. */
DOPT_API dopt_status DOPT_FN(dopt_nlls_diff_replay)(DOPT_FN(dopt_nlls_diff) *D, int b, DOPT_REAL *x);

/* dopt_nlls_diff_bytes: bytes the object holds (its trace included), for memory reports. */
DOPT_API size_t DOPT_FN(dopt_nlls_diff_bytes)(const DOPT_FN(dopt_nlls_diff) *D);

#ifdef __cplusplus
}
#endif
#endif /* DOPT__NLLSBWD_PASS_DECL */

/* =============================================================================================== */
/* IMPLEMENTATION                                                                                  */
/* =============================================================================================== */
#if defined(DOPT_IMPLEMENTATION) && !defined(DOPT__DRIVE)
#ifndef DOPT_H_IMPLEMENTED
#define DOPT_H_IMPLEMENTED

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <stdarg.h>
#ifndef DOPT_NO_STDIO
#include <stdio.h>
/* dopt__fopen: fopen for every module's file functions, spelled fopen_s under MSVC (where fopen
 * is deprecated and an error with /sdl); NULL on failure. */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((unused))
#endif
static FILE *dopt__fopen(const char *path, const char *mode)
{
#if defined(_MSC_VER)
    FILE *fp = NULL;
    return fopen_s(&fp, path, mode) == 0 ? fp : NULL;
#else
    return fopen(path, mode);
#endif
}
#endif

#ifdef DOPT_USE_CBLAS
#include <cblas.h>
#include <lapacke.h>
#endif

#ifdef __cplusplus
extern "C" {
#endif

DOPT_API const char *dopt_status_string(dopt_status s)
{
    switch (s) {
    case DOPT_OK: return "ok";
    case DOPT_ERR_INVALID_ARGUMENT: return "invalid argument";
    case DOPT_ERR_DIMENSION: return "dimension mismatch";
    case DOPT_ERR_NOT_POSITIVE_DEFINITE: return "not positive definite";
    case DOPT_ERR_SINGULAR: return "singular";
    case DOPT_ERR_NON_FINITE: return "non-finite value (NaN or Inf)";
    case DOPT_ERR_NO_CONVERGENCE: return "no convergence";
    case DOPT_ERR_ALLOCATION: return "allocation failure";
    case DOPT_ERR_PARSE: return "parse error";
    case DOPT_ERR_UNSUPPORTED: return "unsupported";
    case DOPT_ERR_IO: return "i/o error";
    default: return "unknown status";
    }
}

DOPT_API dopt_status dopt_errinfo_set(dopt_errinfo *info, dopt_status status, ptrdiff_t index,
                                      ptrdiff_t line, const char *message)
{
    if (info) {
        size_t len = message ? strlen(message) : 0;
        if (len >= sizeof info->message) len = sizeof info->message - 1;
        info->status = status;
#if PTRDIFF_MAX > LONG_MAX /* long is 32-bit (LLP64): saturate */
        if (index > LONG_MAX) index = LONG_MAX;
        if (line > LONG_MAX) line = LONG_MAX;
#endif
        info->index = (long)index;
        info->line = (long)line;
        if (len) memcpy(info->message, message, len);
        info->message[len] = '\0';
    }
    return status;
}

/* ---- hooks ---------------------------------------------------------------------------------- */

DOPT_API void *dopt_alloc(const dopt_hooks *hooks, size_t size)
{
    if (size == 0) size = 1;
    if (hooks && hooks->allocator.alloc) return hooks->allocator.alloc(hooks->allocator.user, size);
    return malloc(size);
}

DOPT_API void *dopt_realloc(const dopt_hooks *hooks, void *ptr, size_t old_size, size_t new_size)
{
    if (new_size == 0) new_size = 1;
    if (hooks && hooks->allocator.realloc)
        return hooks->allocator.realloc(hooks->allocator.user, ptr, old_size, new_size);
    if (hooks && hooks->allocator.alloc) { /* user gave alloc/free only: emulate realloc */
        void *q = hooks->allocator.alloc(hooks->allocator.user, new_size);
        if (!q) return NULL;
        if (ptr) {
            memcpy(q, ptr, old_size < new_size ? old_size : new_size);
            dopt_free(hooks, ptr, old_size);
        }
        return q;
    }
    return realloc(ptr, new_size);
}

DOPT_API void dopt_free(const dopt_hooks *hooks, void *ptr, size_t size)
{
    if (!ptr) return;
    if (hooks && hooks->allocator.free) {
        hooks->allocator.free(hooks->allocator.user, ptr, size ? size : 1);
        return;
    }
    free(ptr);
}

DOPT_API int dopt_log_enabled(const dopt_hooks *hooks, dopt_log_level level)
{
    return hooks && hooks->log && level <= hooks->log_level;
}

DOPT_API void dopt_log(const dopt_hooks *hooks, dopt_log_level level, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    if (!dopt_log_enabled(hooks, level)) return;
    va_start(ap, fmt);
#ifndef DOPT_NO_STDIO
    vsnprintf(line, sizeof line, fmt, ap);
#else
    { /* no formatting available: pass the format itself */
        size_t len = strlen(fmt);
        if (len >= sizeof line) len = sizeof line - 1;
        memcpy(line, fmt, len);
        line[len] = '\0';
    }
#endif
    va_end(ap);
    hooks->log(hooks->log_user, level, line);
}

/* ---- workspace ------------------------------------------------------------------------------ */

DOPT_API void dopt_workspace_init(dopt_workspace *ws, void *memory, size_t size)
{
    size_t pad = 0;
    if (memory) {
        uintptr_t p = (uintptr_t)memory;
        pad = (size_t)((DOPT_WORKSPACE_ALIGN - (p % DOPT_WORKSPACE_ALIGN)) % DOPT_WORKSPACE_ALIGN);
    }
    if (!memory || pad > size) {
        ws->base = NULL;
        ws->size = 0;
    } else {
        ws->base = (unsigned char *)memory + pad;
        ws->size = size - pad;
    }
    ws->used = 0;
}

DOPT_API void *dopt_workspace_take(dopt_workspace *ws, size_t bytes)
{
    size_t need = DOPT_WORKSPACE_ROUND(bytes);
    void *p;
    if (!ws->base || need > ws->size - ws->used) return NULL;
    p = ws->base + ws->used;
    ws->used += need;
    return p;
}

DOPT_API void *dopt_owned_alloc(const dopt_hooks *hooks, size_t bytes, dopt_status *st, dopt_errinfo *info)
{
    void *p;
    if (*st != DOPT_OK) return NULL;
    p = dopt_alloc(hooks, bytes);
    if (!p) *st = dopt_errinfo_set(info, DOPT_ERR_ALLOCATION, -1, 0, "create: allocation failed");
    return p;
}

DOPT_API dopt_status dopt_owned_keep(dopt_status st, const dopt_hooks *hooks, void *block, size_t bytes,
                                     dopt_owned *own)
{
    if (st != DOPT_OK) {
        dopt_free(hooks, block, bytes);
        return st;
    }
    if (hooks) own->hooks = *hooks;
    else memset(&own->hooks, 0, sizeof own->hooks);
    own->block = block;
    own->bytes = bytes;
    return DOPT_OK;
}

DOPT_API void dopt_owned_release(dopt_owned *own)
{
    dopt_hooks h;
    if (!own || !own->block) return;
    h = own->hooks;
    dopt_free(&h, own->block, own->bytes);
}

/* ---- RNG ------------------------------------------------------------------------------------ */

static uint64_t dopt__splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint64_t dopt__rotl64(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

DOPT_API void dopt_rng_seed(dopt_rng *rng, uint64_t seed, uint64_t stream)
{
    uint64_t mix = seed;
    uint64_t h = stream;
    int i;
    /* fold the stream id through splitmix so that neighbouring ids give unrelated states */
    mix ^= dopt__splitmix64(&h) * 0xD1342543DE82EF95ull;
    for (i = 0; i < 4; ++i) rng->s[i] = dopt__splitmix64(&mix);
    if (!(rng->s[0] | rng->s[1] | rng->s[2] | rng->s[3])) rng->s[0] = 1; /* never all zero */
}

DOPT_API uint64_t dopt_rng_u64(dopt_rng *rng)
{
    uint64_t *s = rng->s;
    uint64_t result = dopt__rotl64(s[1] * 5u, 7) * 9u;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = dopt__rotl64(s[3], 45);
    return result;
}

DOPT_API double dopt_rng_uniform_d(dopt_rng *rng)
{
    return (double)(dopt_rng_u64(rng) >> 11) * (1.0 / 9007199254740992.0); /* 2^-53 */
}

DOPT_API float dopt_rng_uniform_f(dopt_rng *rng)
{
    return (float)(dopt_rng_u64(rng) >> 40) * (1.0f / 16777216.0f); /* 2^-24 */
}

DOPT_API uint64_t dopt_rng_below(dopt_rng *rng, uint64_t n)
{
    uint64_t limit, x;
    DOPT_ASSERT(n > 0);
    limit = (~(uint64_t)0) - ((~(uint64_t)0) % n + 1) % n; /* largest multiple of n, minus 1 */
    do {
        x = dopt_rng_u64(rng);
    } while (x > limit);
    return x % n;
}

/* Natural logarithm of x in (0, 1] using only + - * / (bit-identical on every IEEE platform, unlike
 * libm's log).  x = m 2^e with m in [sqrt(1/2), sqrt(2)); log m = 2 atanh(s), s = (m-1)/(m+1),
 * |s| < 0.172, series to s^25 leaves < 1e-17 relative error. */
static double dopt__portable_log(double x)
{
    int e = 0;
    double m = x, s, s2, term, sum;
    int k;
    while (m < 0.70710678118654752440) { m *= 2.0; --e; }
    while (m >= 1.41421356237309504880) { m *= 0.5; ++e; }
    s = (m - 1.0) / (m + 1.0);
    s2 = s * s;
    term = s;
    sum = 0.0;
    for (k = 1; k <= 25; k += 2) {
        sum += term / (double)k;
        term *= s2;
    }
    return 2.0 * sum + (double)e * 0.69314718055994530942;
}

DOPT_API double dopt_rng_normal_d(dopt_rng *rng)
{
    double u, v, s;
    do {
        u = 2.0 * dopt_rng_uniform_d(rng) - 1.0;
        v = 2.0 * dopt_rng_uniform_d(rng) - 1.0;
        s = u * u + v * v;
    } while (s >= 1.0 || s == 0.0);
    /* the second variate of the pair is dropped: the state stays one plain stream */
    return u * sqrt(-2.0 * dopt__portable_log(s) / s);
}

DOPT_API float dopt_rng_normal_f(dopt_rng *rng) { return (float)dopt_rng_normal_d(rng); }

#ifdef __cplusplus
}
#endif

/* The kernel family: one gate chooses the vector width and the register tile of every kernel
 * (this gemm, dopt_sparse.h's supernodal and lane kernels).  Each family is one configuration
 * of the same vector-extension code:
 *   avx512  (AVX-512F)      64-byte vectors, 3 x 6 vector tile (18 of 32 registers)
 *   avx2    (AVX2 + FMA)    32-byte vectors, 2 x 6 vector tile (12 of 16 registers)
 *   neon    (aarch64)       16-byte vectors, 4 x 6 vector tile (24 of 32 registers)
 *   plain   (anything else, MSVC, DOPT_NO_SIMD or DOPT_NO_VECTOR_EXT): the plain-C 8 x 4 tile.
 * The compiler's target flags give the compile-time family (DOPT__KERNEL_FAMILY).  Runtime
 * dispatch (DOPT__DISPATCH): on x86-64 with GCC or Clang, when the flags give no vector family
 * (a build with no -march), the kernel regions are compiled once per x86 family (the family
 * driver below: avx512 and avx2 copies carry a target attribute, names end in _avx512, _avx2,
 * _plain) and each call into them picks the copy the CPU runs (dopt__kernel_choice: cpuid, as
 * libgcc's startup code recorded it; dopt keeps no state of its own).  DOPT_NO_DISPATCH keeps
 * the compile-time family only.
 * Base macros, set here for the compile-time family and by the driver for each pass:
 *   DOPT__VBYTES (0: plain), DOPT__MV (vectors per tile column), DOPT__KSUF (name suffix),
 *   DOPT__KTARGET (the target attribute of the pass's functions), DOPT__VPIN (see the gemm).
 * The derived macros (DOPT__VEC_EXT, DOPT__VLEN, DOPT__MR, DOPT__KFN, DOPT__VLD) read them when
 * they expand, so they follow the pass. */
#if (defined(__GNUC__) || defined(__clang__)) && !defined(__CUDACC__) && !defined(DOPT_NO_VECTOR_EXT) && \
    !defined(DOPT_NO_SIMD)
#if defined(__AVX512F__)
#define DOPT__VBYTES 64
#define DOPT__MV 3
#define DOPT__KSUF _avx512
#define DOPT__KERNEL_FAMILY "avx512"
#elif defined(__AVX2__) && defined(__FMA__)
#define DOPT__VBYTES 32
#define DOPT__MV 2
#define DOPT__KSUF _avx2
#define DOPT__KERNEL_FAMILY "avx2"
#elif defined(__aarch64__) && defined(__ARM_NEON)
#define DOPT__VBYTES 16
#define DOPT__MV 4
#define DOPT__KSUF _neon
#define DOPT__KERNEL_FAMILY "neon"
#elif defined(__x86_64__) && !defined(_MSC_VER) && !defined(DOPT_NO_DISPATCH)
#define DOPT__DISPATCH 1
#endif
#endif
#ifndef DOPT__VBYTES
#define DOPT__VBYTES 0
#define DOPT__MV 0
#define DOPT__KSUF _plain
#define DOPT__KERNEL_FAMILY "plain"
#endif
#ifndef DOPT__DISPATCH
#define DOPT__DISPATCH 0
#endif
#define DOPT__KTARGET
/* DOPT__VPIN(v): keep v in a register (one load, not one folded into each multiply-add), AVX2 only:
 * GCC otherwise re-reads the last A vector of the tile from memory for each column. */
#if DOPT__VBYTES == 32
#define DOPT__VPIN(v) __asm__("" : "+x"(v))
#else
#define DOPT__VPIN(v) ((void)0)
#endif
#define DOPT__VEC_EXT (DOPT__VBYTES > 0)
#define DOPT__VLEN ((int)(DOPT__VBYTES / sizeof(DOPT_REAL)))
#define DOPT__MR (DOPT__VEC_EXT ? DOPT__MV * DOPT__VLEN : 8)
/* DOPT__MR_MAX: the tallest tile of the families this build holds (sizes of shared buffers). */
#if DOPT__DISPATCH
#define DOPT__MR_MAX (3 * (int)(64 / sizeof(DOPT_REAL)))
#else
#define DOPT__MR_MAX DOPT__MR
#endif
/* DOPT__KFN(name): the current family's copy of a kernel-region function, e.g. dopt__gemm_micro_d_avx2
 * (DOPT_FN's name with the family suffix). */
#define DOPT__KCAT(a, b) DOPT__KCAT2(a, b)
#define DOPT__KCAT2(a, b) a##b
#define DOPT__KFN(name) DOPT__KCAT(DOPT_FN(name), DOPT__KSUF)
/* Unaligned vector load and store at p (a DOPT_REAL pointer): one vector move, as the intrinsics'
 * loadu/storeu are (the type may alias reals and is aligned to one real).  memcpy into a vector
 * let GCC split 32-byte moves into 16-byte halves through the stack on AVX2 targets (0.2 of the
 * kernel's speed on Zen 3); the AVX-512 code is the same either way. */
#define DOPT__VLD(p) (*(const DOPT__KFN(dopt__vreal) *)(const void *)(p))
#define DOPT__VST(p, v) (*(DOPT__KFN(dopt__vreal) *)(void *)(p) = (v))

#if DOPT__DISPATCH
/* The family the CPU runs: 2 avx512 (with VL, BW, DQ), 1 avx2 (with FMA), 0 plain.
 * __builtin_cpu_supports reads the model libgcc's startup code fills (it checks the OS saves
 * the vector registers too). */
static int dopt__kernel_choice(void)
{
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("fma"))
        return 2;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return 1;
    return 0;
}
/* DOPT__KSEL(name): the copy of kernel-region function `name` (its DOPT_FN name) the CPU runs. */
#define DOPT__KSEL(name) DOPT__KSEL2(name)
#define DOPT__KSEL2(name)                                                                               \
    (dopt__kernel_choice() == 2 ? name##_avx512 : dopt__kernel_choice() == 1 ? name##_avx2 : name##_plain)
DOPT_API const char *dopt_kernel_family(void)
{
    static const char *const names[3] = {"plain", "avx2", "avx512"};
    return names[dopt__kernel_choice()];
}
#else
#define DOPT__KSEL(name) DOPT__KCAT(name, DOPT__KSUF)
DOPT_API const char *dopt_kernel_family(void)
{
    return DOPT__KERNEL_FAMILY;
}
#endif

/* Precision-generic implementation (the DOPT__CORE_PASS_IMPL block below). */
#define DOPT__CORE_PASS_IMPL
#define DOPT__DRIVE "dopt.h"
#include "dopt.h"
#undef DOPT__DRIVE
#undef DOPT__CORE_PASS_IMPL

#endif /* DOPT_H_IMPLEMENTED */
#endif /* DOPT_IMPLEMENTATION */

/* =============================================================================================== */
/* Generic implementation (one pass per precision).                                               */
/* =============================================================================================== */
#if defined(DOPT__CORE_PASS_IMPL) && defined(DOPT_REAL) && !defined(DOPT__KDRIVE)
#ifdef __cplusplus
extern "C" {
#endif

#define DOPT__A(i, j) A[(size_t)(i) + (size_t)(j) * (size_t)lda]

/* ---- manifold: Euclidean --------------------------------------------------------------------- */

static void DOPT_FN(dopt__euclid_retract)(const DOPT_FN(dopt_manifold) *m, const DOPT_REAL *x,
                                          const DOPT_REAL *delta, DOPT_REAL *x_out)
{
    int i;
    for (i = 0; i < m->dim; ++i) x_out[i] = x[i] + delta[i];
}

static void DOPT_FN(dopt__euclid_local)(const DOPT_FN(dopt_manifold) *m, const DOPT_REAL *x,
                                        const DOPT_REAL *y, DOPT_REAL *delta)
{
    int i;
    for (i = 0; i < m->dim; ++i) delta[i] = y[i] - x[i];
}

DOPT_API DOPT_FN(dopt_manifold) DOPT_FN(dopt_manifold_euclidean)(int n)
{
    DOPT_FN(dopt_manifold) m;
    m.name = "euclidean";
    m.dim = n;
    m.tangent_dim = n;
    m.retract = DOPT_FN(dopt__euclid_retract);
    m.local = DOPT_FN(dopt__euclid_local);
    m.project = NULL;
    return m;
}

/* ---- random fills ---------------------------------------------------------------------------- */

DOPT_API void DOPT_FN(dopt_rng_fill_uniform)(dopt_rng *rng, int n, DOPT_REAL *x, DOPT_REAL lo,
                                              DOPT_REAL hi)
{
    int i;
    for (i = 0; i < n; ++i) x[i] = lo + (hi - lo) * DOPT_FN(dopt_rng_uniform)(rng);
}

DOPT_API void DOPT_FN(dopt_rng_fill_normal)(dopt_rng *rng, int n, DOPT_REAL *x, DOPT_REAL mean,
                                             DOPT_REAL stddev)
{
    int i;
    for (i = 0; i < n; ++i) x[i] = mean + stddev * DOPT_FN(dopt_rng_normal)(rng);
}

/* ---- level 1 --------------------------------------------------------------------------------- */

DOPT_API DOPT_REAL DOPT_FN(dopt_dot)(int n, const DOPT_REAL *x, int incx, const DOPT_REAL *y, int incy)
{
    DOPT_REAL s = 0;
    int i;
    if (incx == 1 && incy == 1) {
        DOPT_REAL s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (i = 0; i + 3 < n; i += 4) {
            s0 += x[i] * y[i];
            s1 += x[i + 1] * y[i + 1];
            s2 += x[i + 2] * y[i + 2];
            s3 += x[i + 3] * y[i + 3];
        }
        for (; i < n; ++i) s0 += x[i] * y[i];
        return (s0 + s1) + (s2 + s3);
    }
    for (i = 0; i < n; ++i) s += x[(size_t)i * incx] * y[(size_t)i * incy];
    return s;
}

DOPT_API void DOPT_FN(dopt_axpy)(int n, DOPT_REAL a, const DOPT_REAL *x, int incx, DOPT_REAL *y, int incy)
{
    int i;
    if (incx == 1 && incy == 1) {
        for (i = 0; i < n; ++i) y[i] += a * x[i];
        return;
    }
    for (i = 0; i < n; ++i) y[(size_t)i * incy] += a * x[(size_t)i * incx];
}

DOPT_API void DOPT_FN(dopt_scal)(int n, DOPT_REAL a, DOPT_REAL *x, int incx)
{
    int i;
    for (i = 0; i < n; ++i) x[(size_t)i * incx] *= a;
}

DOPT_API void DOPT_FN(dopt_copy)(int n, const DOPT_REAL *x, int incx, DOPT_REAL *y, int incy)
{
    int i;
    for (i = 0; i < n; ++i) y[(size_t)i * incy] = x[(size_t)i * incx];
}

DOPT_API DOPT_REAL DOPT_FN(dopt_nrm2)(int n, const DOPT_REAL *x, int incx)
{
    DOPT_REAL scale = 0, ssq = 1;
    int i;
    for (i = 0; i < n; ++i) {
        DOPT_REAL v = DOPT_M(fabs)(x[(size_t)i * incx]);
        if (v != 0) {
            if (scale < v) {
                ssq = 1 + ssq * (scale / v) * (scale / v);
                scale = v;
            } else {
                ssq += (v / scale) * (v / scale);
            }
        } else if (v != v) {
            return v;
        }
    }
    return scale * DOPT_M(sqrt)(ssq);
}

DOPT_API DOPT_REAL DOPT_FN(dopt_amax)(int n, const DOPT_REAL *x, int incx)
{
    DOPT_REAL m = 0;
    int i;
    for (i = 0; i < n; ++i) {
        DOPT_REAL v = DOPT_M(fabs)(x[(size_t)i * incx]);
        if (v != v) return v;
        if (v > m) m = v;
    }
    return m;
}

DOPT_API int DOPT_FN(dopt_all_finite)(int n, const DOPT_REAL *x)
{
    int i;
    DOPT_REAL acc = 0;
    /* x - x is 0 for finite x and NaN for NaN/Inf; the sum tells in one pass */
    for (i = 0; i < n; ++i) acc += x[i] - x[i];
    return acc == 0;
}

DOPT_API int DOPT_FN(dopt_matrix_all_finite)(int m, int n, const DOPT_REAL *A, int lda)
{
    int j;
    for (j = 0; j < n; ++j)
        if (!DOPT_FN(dopt_all_finite)(m, A + (size_t)j * lda)) return 0;
    return 1;
}

/* ---- gemv ------------------------------------------------------------------------------------ */

DOPT_API void DOPT_FN(dopt_gemv)(dopt_trans trans, int m, int n, DOPT_REAL alpha, const DOPT_REAL *A,
                                 int lda, const DOPT_REAL *x, int incx, DOPT_REAL beta, DOPT_REAL *y,
                                 int incy)
{
    int i, j;
    int ylen = trans == DOPT_NOTRANS ? m : n;
    if (beta == 0) {
        for (i = 0; i < ylen; ++i) y[(size_t)i * incy] = 0;
    } else if (beta != 1) {
        for (i = 0; i < ylen; ++i) y[(size_t)i * incy] *= beta;
    }
    if (alpha == 0) return;
    if (trans == DOPT_NOTRANS) {
        for (j = 0; j < n; ++j) {
            DOPT_REAL t = alpha * x[(size_t)j * incx];
            const DOPT_REAL *a = A + (size_t)j * lda;
            if (incy == 1)
                for (i = 0; i < m; ++i) y[i] += t * a[i];
            else
                for (i = 0; i < m; ++i) y[(size_t)i * incy] += t * a[i];
        }
    } else {
        for (j = 0; j < n; ++j) {
            const DOPT_REAL *a = A + (size_t)j * lda;
            y[(size_t)j * incy] += alpha * DOPT_FN(dopt_dot)(m, a, 1, x, incx);
        }
    }
}

/* ---- gemm ------------------------------------------------------------------------------------ */
/* Structure (the Goto/BLIS layering, with op(B) read in place): C is scaled by beta once;
 * then for each NC-wide column block of C and each KC-deep slab of the product, every MR-row
 * sliver of op(A) (packed: MR x KC, contiguous) passes over the block's
 * NR-column slivers of op(B), read in place (the micro-kernel broadcasts B's entries one by one,
 * so packing them buys nothing but contiguity); an MR x NR register-tile micro-kernel runs on
 * each pair.  The slab of B (KC x NC) stays in the L2 cache, the A sliver (MR x KC) in L1.
 * The only buffers are one packed A sliver and one zero-padded B sliver for the edges: at most
 * 16 KB of stack (DOPT__KC is chosen so), no allocation.  dopt_gemm_ws adds caller memory for one
 * KC x NC block of op(B), packed once per block in NR-column slivers (contiguous: no page per
 * step of k when op(B) = B^T), and otherwise runs the same loops.  Short products with
 * op(A) = A (small k, narrow op(B)) take the same loops turned inside out (dopt__gemm_direct:
 * column strips outside, A's slivers inside, no column blocks).
 * The micro-kernel uses GCC/Clang vector extensions where the target has AVX-512, AVX2 + FMA or
 * NEON (the kernel family, see dopt_kernel_family) and plain C elsewhere.  Build with
 * -march=native (or the target's flags) for speed. */

/* The register tile (DOPT__MV, DOPT__VLEN, DOPT__MR) comes from the kernel family's gate above
 * dopt_kernel_family. */
/* The micro-kernels are compiled with floating-point contraction on, so a*b+c becomes one fused
 * multiply-add where the target has it (-std=c99 turns contraction off in GCC, which halves the
 * kernel's speed); only these kernels are affected.  Clang takes the pragma inside the body. */
#if defined(__GNUC__) && !defined(__clang__) && !defined(__CUDACC__)
#define DOPT__FMA_KERNEL __attribute__((optimize("fp-contract=fast")))
#else
#define DOPT__FMA_KERNEL
#endif
#if defined(__GNUC__) || defined(__clang__)
#define DOPT__PREFETCH(p) __builtin_prefetch(p)
#define DOPT__PREFETCH_W(p) __builtin_prefetch(p, 1)
#define DOPT__PREFETCH_L2(p) __builtin_prefetch(p, 0, 2)
#else
#define DOPT__PREFETCH_L2(p) ((void)0)
#define DOPT__PREFETCH(p) ((void)0)
#define DOPT__PREFETCH_W(p) ((void)0)
#endif
#if defined(__clang__)
#define DOPT__FMA_BODY _Pragma("clang fp contract(fast)")
#else
#define DOPT__FMA_BODY
#endif
/* NR: the AVX-512 3 x 6 vector tile measured best with FMA (42 GFLOP/s at n = 1000, OpenBLAS 50);
 * the plain-C tile stays 8 x 4, which compilers keep in registers on AVX2 (21 GFLOP/s). */
#ifndef DOPT__NR
#define DOPT__NR (DOPT__VEC_EXT ? 6 : 4)
#endif
/* KC: the slab depth, as deep as the 16 KB stack block of one A sliver and one B sliver allows
 * (MR + NR) * KC reals: 64 with AVX-512 in double, 144 with AVX2, 168 in plain C; at most 256. */
#define DOPT__GEMM_STACK_BYTES 16384
#define DOPT__KC_FIT ((int)(DOPT__GEMM_STACK_BYTES / sizeof(DOPT_REAL)) / (DOPT__MR + DOPT__NR) / 8 * 8)
#define DOPT__KC (DOPT__KC_FIT < 256 ? DOPT__KC_FIT : 256)
#ifndef DOPT__NC
/* columns of a B block: KC x NC reals stay in the L2 cache (a multiple of NR); each packed A
 * sliver serves NC / NR tiles.  192 against 96 with the packed slivers, avx2 on Zen 3, ratio to
 * OpenBLAS in pairs of runs: n = 600 1.31-1.38 against 1.55-1.74, n = 1200 1.35-1.58 against 1.53-1.78 */
#define DOPT__NC 192
#endif
/* The direct path (dopt__gemm_direct): products with op(A) = A, an inner dimension of at most
 * DOPT__GEMM_DIRECT_K, at most DOPT__GEMM_DIRECT_N columns and an A of at most
 * DOPT__GEMM_DIRECT_BYTES (it is read once per column strip: from L2, not memory) -- the
 * supernodal updates of dopt_sparse.h (k = 12 to 64, n <= 64).  Measured on Zen 4 (plain C,
 * m x 64, k = 64): equal to the blocked path up to m = 1000 (512 KB), 0.6 of its speed at 4000. */
#ifndef DOPT__GEMM_DIRECT_K
#define DOPT__GEMM_DIRECT_K 128
#endif
#ifndef DOPT__GEMM_DIRECT_N
#define DOPT__GEMM_DIRECT_N 96
#endif
#ifndef DOPT__GEMM_DIRECT_BYTES
#define DOPT__GEMM_DIRECT_BYTES 524288
#endif

#undef DOPT__A

#ifdef __cplusplus
}
#endif
#endif /* DOPT__CORE_PASS_IMPL (continued after the gemm kernels) */

/* =============================================================================================== */
/* The gemm kernel region: one pass per kernel family (the family driver; DOPT__KFN names,         */
/* DOPT__KTARGET on every function), inside each precision pass.                                  */
/* =============================================================================================== */
#if defined(DOPT__KPASS) && defined(DOPT__GEMM_KERNELS) && defined(DOPT_REAL)
/* (DOPT__A as in the precision pass that includes this region) */
/* Pack the mc x kc block of op(A) starting at (i0, p0) into MR-row slivers, zero-padded. */
DOPT__KTARGET static void DOPT__KFN(dopt__pack_a)(dopt_trans ta, const DOPT_REAL *A, int lda, int i0, int p0, int mc,
                                                  int kc, DOPT_REAL *DOPT_RESTRICT buf)
{
    int i, p, r;
    for (i = 0; i < mc; i += DOPT__MR) {
        int rows = mc - i < DOPT__MR ? mc - i : DOPT__MR;
        if (ta == DOPT_NOTRANS && rows == DOPT__MR) { /* a constant count: vector moves */
            for (p = 0; p < kc; ++p) {
                const DOPT_REAL *col = A + (size_t)(i0 + i) + (size_t)(p0 + p) * lda;
                for (r = 0; r < DOPT__MR; ++r) buf[r] = col[r];
                buf += DOPT__MR;
            }
        } else if (ta == DOPT_NOTRANS) {
            for (p = 0; p < kc; ++p) {
                const DOPT_REAL *col = A + (size_t)(i0 + i) + (size_t)(p0 + p) * lda;
                for (r = 0; r < rows; ++r) buf[r] = col[r];
                for (; r < DOPT__MR; ++r) buf[r] = 0;
                buf += DOPT__MR;
            }
        } else {
            for (p = 0; p < kc; ++p) {
                for (r = 0; r < rows; ++r) buf[r] = DOPT__A(p0 + p, i0 + i + r);
                for (; r < DOPT__MR; ++r) buf[r] = 0;
                buf += DOPT__MR;
            }
        }
    }
}

/* Pack the kc x nc block of op(B) starting at (p0, j0) into NR-column slivers, zero-padded. */
DOPT__KTARGET static void DOPT__KFN(dopt__pack_b)(dopt_trans tb, const DOPT_REAL *B, int ldb, int p0, int j0, int kc,
                                                  int nc, DOPT_REAL *DOPT_RESTRICT buf)
{
    int j, p, c;
    for (j = 0; j < nc; j += DOPT__NR) {
        int cols = nc - j < DOPT__NR ? nc - j : DOPT__NR;
        if (cols == DOPT__NR) { /* constant counts: op(B)'s row of NR entries, contiguous when transposed */
            for (p = 0; p < kc; ++p) {
                const DOPT_REAL *src = tb == DOPT_NOTRANS ? B + (size_t)(p0 + p) + (size_t)(j0 + j) * ldb
                                                          : B + (size_t)(j0 + j) + (size_t)(p0 + p) * ldb;
                const ptrdiff_t step = tb == DOPT_NOTRANS ? ldb : 1;
                for (c = 0; c < DOPT__NR; ++c) buf[c] = src[c * step];
                buf += DOPT__NR;
            }
            continue;
        }
        for (p = 0; p < kc; ++p) {
            for (c = 0; c < DOPT__NR; ++c) { /* a constant count (no call to memset for the padding) */
                int gp = p0 + p, gj = j0 + j + c;
                buf[c] = c >= cols ? 0
                       : tb == DOPT_NOTRANS ? B[(size_t)gp + (size_t)gj * ldb] : B[(size_t)gj + (size_t)gp * ldb];
            }
            buf += DOPT__NR;
        }
    }
}

/* Write back an MR x NR tile of sums: C[i, j] += alpha * acc[i, j] for i < rows, j < cols and
 * dlo <= i - j <= dhi (the band a triangular product keeps; DOPT__BAND_ALL: every entry). */
#define DOPT__BAND_ALL (1 << 30)
DOPT__KTARGET static void DOPT__KFN(dopt__tile_store)(const DOPT_REAL *acc, DOPT_REAL alpha, DOPT_REAL *C, int ldc,
                                                      int rows, int cols, int dlo, int dhi)
{
    int i, j;
    for (j = 0; j < cols; ++j) {
        const int ilo = j + dlo > 0 ? j + dlo : 0, ihi = j + dhi + 1 < rows ? j + dhi + 1 : rows;
        for (i = ilo; i < ihi; ++i) C[i + (size_t)j * ldc] += alpha * acc[i + j * DOPT__MR];
    }
}

#if DOPT__VEC_EXT
/* DOPT__KFN(dopt__vreal): one vector register of DOPT_REAL (dopt_sparse.h's kernels use it too). */
typedef DOPT_REAL DOPT__KFN(dopt__vreal) __attribute__((vector_size(DOPT__VBYTES), aligned(sizeof(DOPT_REAL)),
                                                       __may_alias__));
/* C[0:rows, 0:cols] += alpha * A-sliver * B-sliver, kc long: MV vectors of rows times NR columns
 * of independent accumulators, enough to hide the FMA latency.  The slivers are read with strides:
 * A's MR rows of step p at a + p*as (as = MR when packed, lda when read in place), B's entry (p, j)
 * at b[p*bps + j*bjs] (packed: bps = NR, bjs = 1).  Full tiles only read in place.  Only the
 * entries with dlo <= i - j <= dhi are written (dopt__tile_store). */
DOPT__KTARGET DOPT__FMA_KERNEL static void DOPT__KFN(dopt__gemm_micro)(int kc, DOPT_REAL alpha, const DOPT_REAL *DOPT_RESTRICT a,
                                                      ptrdiff_t as, const DOPT_REAL *DOPT_RESTRICT b, ptrdiff_t bps,
                                                      ptrdiff_t bjs, DOPT_REAL *C, int ldc, int rows, int cols,
                                                      int dlo, int dhi)
{
    DOPT__FMA_BODY
    /* loads and stores: DOPT__VLD / DOPT__VST, no alignment or aliasing assumptions, one vector move */
    DOPT__KFN(dopt__vreal) c[DOPT__MV][DOPT__NR], av[DOPT__MV];
    DOPT_REAL acc[DOPT__MR * DOPT__NR];
    int p, i, j;
    const DOPT__KFN(dopt__vreal) zero = {0};
    for (j = 0; j < DOPT__NR; ++j) /* register zeros (a memset here became rep stos through the stack) */
        for (i = 0; i < DOPT__MV; ++i) c[i][j] = zero;
    for (j = 0; j < cols; ++j) { /* the tile of C, on its way while the sums run */
        DOPT__PREFETCH_W(C + (size_t)j * ldc);
        DOPT__PREFETCH_W(C + (size_t)j * ldc + rows - 1);
    }
    for (p = 0; p < kc; ++p) {
        /* B read in place with a row stride: its rows come from L2, fetched ahead */
        if (bps != 1) DOPT__PREFETCH(b + 8 * bps);
        for (i = 0; i < DOPT__MV; ++i) av[i] = DOPT__VLD(a + i * DOPT__VLEN);
        DOPT__VPIN(av[DOPT__MV - 1]);
        for (j = 0; j < DOPT__NR; ++j) {
            DOPT_REAL bj = b[j * bjs];
            for (i = 0; i < DOPT__MV; ++i) c[i][j] += av[i] * bj;
        }
        a += as;
        b += bps;
    }
    if (rows == DOPT__MR && cols == DOPT__NR && dlo <= 1 - DOPT__NR && dhi >= DOPT__MR - 1) {
        for (j = 0; j < DOPT__NR; ++j)
            for (i = 0; i < DOPT__MV; ++i) {
                DOPT__KFN(dopt__vreal) t;
                DOPT_REAL *dst = C + (size_t)j * ldc + i * DOPT__VLEN;
                t = DOPT__VLD(dst);
                t += alpha * c[i][j];
                DOPT__VST(dst, t);
            }
        return;
    }
    for (j = 0; j < DOPT__NR; ++j)
        for (i = 0; i < DOPT__MV; ++i) DOPT__VST(acc + j * DOPT__MR + i * DOPT__VLEN, c[i][j]);
    DOPT__KFN(dopt__tile_store)(acc, alpha, C, ldc, rows, cols, dlo, dhi);
}
#else
/* Portable micro-kernel: the same tile in plain C (compilers vectorize the inner loop).  No
 * contraction attribute here: GCC's optimize attribute costs this loop its vectorization. */
DOPT__KTARGET static void DOPT__KFN(dopt__gemm_micro)(int kc, DOPT_REAL alpha, const DOPT_REAL *DOPT_RESTRICT a,
                                                      ptrdiff_t as, const DOPT_REAL *DOPT_RESTRICT b, ptrdiff_t bps,
                                                      ptrdiff_t bjs, DOPT_REAL *C, int ldc, int rows, int cols,
                                                      int dlo, int dhi)
{
    DOPT__FMA_BODY
    DOPT_REAL acc[DOPT__MR * DOPT__NR];
    int p, i, j;
    for (i = 0; i < DOPT__MR * DOPT__NR; ++i) acc[i] = 0;
    for (p = 0; p < kc; ++p) {
        for (j = 0; j < DOPT__NR; ++j) {
            DOPT_REAL bj = b[j * bjs];
            for (i = 0; i < DOPT__MR; ++i) acc[i + j * DOPT__MR] += a[i] * bj;
        }
        a += as;
        b += bps;
    }
    DOPT__KFN(dopt__tile_store)(acc, alpha, C, ldc, rows, cols, dlo, dhi);
}
#endif

/* C += alpha op(A) op(B), k > 0, in the blocks described above, on the band of C that tri names:
 * -1 all of C, DOPT_LOWER the entries with i >= j, DOPT_UPPER those with i <= j (syrk: the tiles
 * off the band are skipped, those across the diagonal write their band only).  Each A sliver is
 * packed into apack (MR x kc, contiguous) and reused by the block's nc / NR tiles.  With bwork
 * (DOPT__KC x DOPT__NC reals, dopt_gemm_ws) each KC x NC block of op(B) is packed there once, in
 * NR-column slivers; without it a B sliver is read in place (entry (p, j) of op(B) at
 * b[p*bps + j*bjs]) when it has NR columns, else packed into bpack.  The column blocks are
 * balanced (n = 600: four of 150, not three of 192 and one of 24, whose packed A slivers would
 * serve 4 tiles each). */
DOPT__KTARGET static void DOPT__KFN(dopt__gemm_band)(dopt_trans ta, dopt_trans tb, int m, int n, int k, DOPT_REAL alpha,
                                                     const DOPT_REAL *A, int lda, const DOPT_REAL *B, int ldb, DOPT_REAL *C,
                                                     int ldc, int tri, DOPT_REAL *bwork)
{
    DOPT_REAL apack[DOPT__MR * DOPT__KC], bpack[DOPT__KC * DOPT__NR];
    const ptrdiff_t bps = tb == DOPT_NOTRANS ? 1 : ldb, bjs = tb == DOPT_NOTRANS ? ldb : 1;
    const int nblocks = (n + DOPT__NC - 1) / DOPT__NC;
    const int ncb = ((n + nblocks - 1) / nblocks + DOPT__NR - 1) / DOPT__NR * DOPT__NR; /* <= DOPT__NC */
    int jc, pc, ir, jr;
    for (jc = 0; jc < n; jc += ncb) {
        const int nc = n - jc < ncb ? n - jc : ncb;
        for (pc = 0; pc < k; pc += DOPT__KC) {
            const int kc = k - pc < DOPT__KC ? k - pc : DOPT__KC, nfull = nc - nc % DOPT__NR;
            if (bwork)
                DOPT__KFN(dopt__pack_b)(tb, B, ldb, pc, jc, kc, nc, bwork);
            else if (nfull < nc)
                DOPT__KFN(dopt__pack_b)(tb, B, ldb, pc, jc + nfull, kc, nc - nfull, bpack);
            for (ir = 0; ir < m; ir += DOPT__MR) {
                const int rows = m - ir < DOPT__MR ? m - ir : DOPT__MR;
                if ((tri == DOPT_LOWER && ir + rows <= jc) || (tri == DOPT_UPPER && ir >= jc + nc))
                    continue; /* the sliver's tiles of this block all lie off the band */
                /* always packed: read in place, a sliver's kc columns lie on kc pages (lda >= 512
                 * doubles), which the TLB does not hold across the nc / NR tiles that reuse it;
                 * packed, it is 1.2-1.4x faster at n = 256..1200 on Zen 3 (avx2, x86-64-v3) */
                DOPT__KFN(dopt__pack_a)(ta, A, lda, ir, pc, rows, kc, apack);
                if (ta == DOPT_NOTRANS && ir + 2 * DOPT__MR <= m) { /* the next sliver, on its way to L2:
                    both lines of each column (MR doubles straddle two); the packing waited on
                    them (perf, Zen 3: 10-16% of the samples of n = 600 on the copy) */
                    int p;
                    for (p = 0; p < kc; ++p) {
                        const DOPT_REAL *next = A + (size_t)(ir + DOPT__MR) + (size_t)(pc + p) * lda;
                        DOPT__PREFETCH_L2(next);
                        DOPT__PREFETCH_L2(next + DOPT__MR - 1);
                    }
                }
                for (jr = jc; jr < jc + nc; jr += DOPT__NR) {
                    const int cols = jc + nc - jr < DOPT__NR ? jc + nc - jr : DOPT__NR;
                    /* the band in tile coordinates: i - j >= jr - ir (lower), <= jr - ir (upper) */
                    const int dlo = tri == DOPT_LOWER ? jr - ir : -DOPT__BAND_ALL;
                    const int dhi = tri == DOPT_UPPER ? jr - ir : DOPT__BAND_ALL;
                    DOPT_REAL *c = C + (size_t)ir + (size_t)jr * ldc;
                    if (dlo > rows - 1 || dhi < 1 - cols) continue; /* off the band */
                    if (bwork)
                        DOPT__KFN(dopt__gemm_micro)(kc, alpha, apack, DOPT__MR, bwork + (size_t)(jr - jc) * kc, DOPT__NR, 1,
                                                    c, ldc, rows, cols, dlo, dhi);
                    else if (cols == DOPT__NR)
                        DOPT__KFN(dopt__gemm_micro)(kc, alpha, apack, DOPT__MR, B + (size_t)pc * bps + (size_t)jr * bjs, bps, bjs,
                                                  c, ldc, rows, cols, dlo, dhi);
                    else
                        DOPT__KFN(dopt__gemm_micro)(kc, alpha, apack, DOPT__MR, bpack, DOPT__NR, 1, c, ldc, rows, cols, dlo, dhi);
                }
            }
        }
    }
}

/* C += alpha op(A) op(B), k > 0, all of C (dopt__gemm_band; bwork as there). */
DOPT__KTARGET static void DOPT__KFN(dopt__gemm_blocked)(dopt_trans ta, dopt_trans tb, int m, int n, int k, DOPT_REAL alpha,
                                                        const DOPT_REAL *A, int lda, const DOPT_REAL *B, int ldb, DOPT_REAL *C,
                                                        int ldc, DOPT_REAL *bwork)
{
    DOPT__KFN(dopt__gemm_band)(ta, tb, m, n, k, alpha, A, lda, B, ldb, C, ldc, -1, bwork);
}

/* Reals of the B block dopt__gemm_band packs into bwork (the family's KC x NC). */
DOPT__KTARGET static size_t DOPT__KFN(dopt__gemm_work_len)(void)
{
    return (size_t)DOPT__KC * DOPT__NC;
}

/* The direct path: C += alpha A op(B) for short products (op(A) = A, k <= DOPT__GEMM_DIRECT_K,
 * n <= DOPT__GEMM_DIRECT_N; dopt_gemm picks it).  The loops of dopt__gemm_blocked turned inside
 * out, without its column blocks: each NR-column strip of op(B), read in place, passes over all
 * the MR-row slivers of A, read in place, so C is written strip by strip down its columns and
 * the strip stays in L1.  Only the edges are packed: the last short sliver of A once per slab
 * (not once per column block), the last narrow strip of op(B) once.  With a short inner
 * dimension, packing would copy about as much as the product computes.  Each tile sums the same
 * KC-deep slabs in the same order as the blocked path, so both give the same bits.
 * (The Theseus pose graph at 256 poses, plain C on Zen 4: 0.60-0.64 CPU s, 0.72 without this
 * path; its updates are m x n x k = up to 200 x 64 x 12 or 24.) */
DOPT__KTARGET static void DOPT__KFN(dopt__gemm_direct)(dopt_trans tb, int m, int n, int k, DOPT_REAL alpha,
                                                       const DOPT_REAL *A, int lda, const DOPT_REAL *B, int ldb,
                                                       DOPT_REAL *C, int ldc)
{
    DOPT_REAL apack[DOPT__MR * DOPT__KC], bpack[DOPT__KC * DOPT__NR];
    const ptrdiff_t bps = tb == DOPT_NOTRANS ? 1 : ldb, bjs = tb == DOPT_NOTRANS ? ldb : 1;
    const int mfull = m - m % DOPT__MR;
    int pc, j0, i0;
    for (pc = 0; pc < k; pc += DOPT__KC) {
        const int kc = k - pc < DOPT__KC ? k - pc : DOPT__KC;
        const DOPT_REAL *a = A + (size_t)pc * lda;
        if (mfull < m) DOPT__KFN(dopt__pack_a)(DOPT_NOTRANS, A, lda, mfull, pc, m - mfull, kc, apack);
        for (j0 = 0; j0 < n; j0 += DOPT__NR) {
            const int cols = n - j0 < DOPT__NR ? n - j0 : DOPT__NR;
            const DOPT_REAL *b = B + (size_t)pc * bps + (size_t)j0 * bjs;
            ptrdiff_t bp = bps, bj = bjs;
            DOPT_REAL *c = C + (size_t)j0 * ldc;
            if (cols < DOPT__NR) {
                DOPT__KFN(dopt__pack_b)(tb, B, ldb, pc, j0, kc, cols, bpack);
                b = bpack;
                bp = DOPT__NR;
                bj = 1;
            }
            for (i0 = 0; i0 < m; i0 += DOPT__MR) { /* one call site, rows not a constant: GCC keeps the
                                                       plain tile vectorized (inlined with rows = MR it
                                                       went scalar, 3x slower) */
                const int rows = m - i0 < DOPT__MR ? m - i0 : DOPT__MR;
                DOPT__KFN(dopt__gemm_micro)(kc, alpha, i0 < mfull ? a + i0 : apack, i0 < mfull ? lda : DOPT__MR, b,
                                            bp, bj, c + i0, ldc, rows, cols, -DOPT__BAND_ALL,
                                            DOPT__BAND_ALL);
            }
        }
    }
}

/* trsm by recursive halving of the triangle: solve one half, subtract its product from the other
 * half's right-hand sides with one gemm, solve the other half; so nearly all flops run in gemm,
 * with inner dimensions n/2, n/4, ...  Triangles of at most DOPT__TRSM_BASE columns (right
 * side) or DOPT__TRSM_BASE_LEFT rows (left side) are the leaves.  U = op(T) below; "upper" means
 * U is upper triangular.  DOPT__OPTB(r, c): the block of U from (r, c) on, as a gemm operand
 * whose op is `trans`. */
#define DOPT__TRSM_BASE 16
/* DOPT__WORK(work): the workspace arguments of a _ws call, from work (NULL or the gemm's bytes) */
#define DOPT__WORK(work) (work), ((work) ? DOPT_FN(dopt_gemm_workspace_size)() : 0)
#define DOPT__TRSM_BASE_LEFT 32
#define DOPT__OPTB(r, c) (trans == DOPT_NOTRANS ? T + (size_t)(r) + (size_t)(c) * ldt : T + (size_t)(c) + (size_t)(r) * ldt)

/* The split of a triangle of n > base: near the middle, on a multiple of the base. */
DOPT__KTARGET static int DOPT__KFN(dopt__trsm_split)(int n, int base)
{
    return n > 2 * base ? (n / 2 + base / 2) / base * base : n / 2;
}

/* Left-side leaf: op(T) X = B for m <= DOPT__TRSM_BASE_LEFT rows, one trsv per column of B. */
DOPT__KTARGET static void DOPT__KFN(dopt__trsm_left_leaf)(dopt_uplo uplo, dopt_trans trans, dopt_diag diag, int m, int n,
                                                          const DOPT_REAL *T, int ldt, DOPT_REAL *B, int ldb)
{
    int j;
    for (j = 0; j < n; ++j) DOPT_FN(dopt_trsv)(uplo, trans, diag, m, T, ldt, B + (size_t)j * ldb, 1);
}

/* LEFT case, op(T) X = B (T m x m): recursive halving over the rows of B. */
DOPT__KTARGET static void DOPT__KFN(dopt__trsm_left)(dopt_uplo uplo, dopt_trans trans, dopt_diag diag, int m, int n,
                                                     const DOPT_REAL *T, int ldt, DOPT_REAL *B, int ldb, void *work)
{
    const int upper = (uplo == DOPT_UPPER) == (trans == DOPT_NOTRANS);
    int m1, m2;
    if (m <= DOPT__TRSM_BASE_LEFT) {
        DOPT__KFN(dopt__trsm_left_leaf)(uplo, trans, diag, m, n, T, ldt, B, ldb);
        return;
    }
    m1 = DOPT__KFN(dopt__trsm_split)(m, DOPT__TRSM_BASE_LEFT);
    m2 = m - m1;
    if (!upper) { /* forward: X1 = U11^-1 B1, B2 -= U21 X1, X2 = U22^-1 B2 */
        DOPT__KFN(dopt__trsm_left)(uplo, trans, diag, m1, n, T, ldt, B, ldb, work);
        DOPT_FN(dopt_gemm_ws)(trans, DOPT_NOTRANS, m2, n, m1, -1, DOPT__OPTB(m1, 0), ldt, B, ldb, 1, B + m1, ldb, DOPT__WORK(work));
        DOPT__KFN(dopt__trsm_left)(uplo, trans, diag, m2, n, T + m1 + (size_t)m1 * ldt, ldt, B + m1, ldb, work);
    } else { /* backward: X2 first, B1 -= U12 X2, then X1 */
        DOPT__KFN(dopt__trsm_left)(uplo, trans, diag, m2, n, T + m1 + (size_t)m1 * ldt, ldt, B + m1, ldb, work);
        DOPT_FN(dopt_gemm_ws)(trans, DOPT_NOTRANS, m1, n, m2, -1, DOPT__OPTB(0, m1), ldt, B + m1, ldb, 1, B, ldb, DOPT__WORK(work));
        DOPT__KFN(dopt__trsm_left)(uplo, trans, diag, m1, n, T, ldt, B, ldb, work);
    }
}

/* Right-side leaf: X U = B for n <= DOPT__TRSM_BASE columns, MR rows of B at a time, each column
 * left-looking in registers: X[:, j] = (B[:, j] - sum over the columns q solved before j of
 * X[:, q] U[q, j]) * (1 / U[j, j]).  The coefficients are gathered first in solve order. */
DOPT__KTARGET DOPT__FMA_KERNEL static void DOPT__KFN(dopt__trsm_right_leaf)(int upper, dopt_trans trans, dopt_diag diag, int m,
                                                                          int n, const DOPT_REAL *T, int ldt, DOPT_REAL *B,
                                                                          int ldb)
{
    DOPT__FMA_BODY
    DOPT_REAL w[DOPT__TRSM_BASE * DOPT__TRSM_BASE], dinv[DOPT__TRSM_BASE];
    int col[DOPT__TRSM_BASE], i0 = 0, i, jj, qq;
    for (jj = 0; jj < n; ++jj) { /* solve order: forward when U is upper, else backward */
        const int j = upper ? jj : n - 1 - jj;
        col[jj] = j;
        for (qq = 0; qq < jj; ++qq) {
            const int q = upper ? qq : n - 1 - qq;
            w[qq + jj * DOPT__TRSM_BASE] = trans == DOPT_NOTRANS ? T[q + (size_t)j * ldt] : T[j + (size_t)q * ldt];
        }
        dinv[jj] = diag == DOPT_NONUNIT ? 1 / T[j + (size_t)j * ldt] : 1;
    }
#if DOPT__VEC_EXT
    for (; i0 + DOPT__MR <= m; i0 += DOPT__MR) {
        for (jj = 0; jj < n; ++jj) {
            DOPT_REAL *xj = B + i0 + (size_t)col[jj] * ldb;
            DOPT__KFN(dopt__vreal) acc[DOPT__MV];
            for (i = 0; i < DOPT__MV; ++i) acc[i] = DOPT__VLD(xj + i * DOPT__VLEN);
            for (qq = 0; qq < jj; ++qq) {
                const DOPT_REAL *xq = B + i0 + (size_t)col[qq] * ldb, u = w[qq + jj * DOPT__TRSM_BASE];
                for (i = 0; i < DOPT__MV; ++i) acc[i] -= DOPT__VLD(xq + i * DOPT__VLEN) * u;
            }
            for (i = 0; i < DOPT__MV; ++i) DOPT__VST(xj + i * DOPT__VLEN, acc[i] * dinv[jj]);
        }
    }
#else
    for (; i0 + DOPT__MR <= m; i0 += DOPT__MR) /* the same in plain loops the compiler vectorizes */
        for (jj = 0; jj < n; ++jj) {
            DOPT_REAL *xj = B + i0 + (size_t)col[jj] * ldb, acc[DOPT__MR];
            for (i = 0; i < DOPT__MR; ++i) acc[i] = xj[i];
            for (qq = 0; qq < jj; ++qq) {
                const DOPT_REAL *xq = B + i0 + (size_t)col[qq] * ldb, u = w[qq + jj * DOPT__TRSM_BASE];
                for (i = 0; i < DOPT__MR; ++i) acc[i] -= xq[i] * u;
            }
            for (i = 0; i < DOPT__MR; ++i) xj[i] = acc[i] * dinv[jj];
        }
#endif
    for (; i0 < m; ++i0) /* the rows left over */
        for (jj = 0; jj < n; ++jj) {
            DOPT_REAL *xj = B + i0 + (size_t)col[jj] * ldb, acc = *xj;
            for (qq = 0; qq < jj; ++qq) acc -= B[i0 + (size_t)col[qq] * ldb] * w[qq + jj * DOPT__TRSM_BASE];
            *xj = acc * dinv[jj];
        }
}

/* RIGHT case, X op(T) = B (T n x n): recursive halving over the columns of B. */
DOPT__KTARGET static void DOPT__KFN(dopt__trsm_right_rec)(int upper, dopt_trans trans, dopt_diag diag, int m, int n,
                                                          const DOPT_REAL *T, int ldt, DOPT_REAL *B, int ldb, void *work)
{
    int n1, n2;
    if (n <= DOPT__TRSM_BASE) {
        DOPT__KFN(dopt__trsm_right_leaf)(upper, trans, diag, m, n, T, ldt, B, ldb);
        return;
    }
    n1 = DOPT__KFN(dopt__trsm_split)(n, DOPT__TRSM_BASE);
    n2 = n - n1;
    if (upper) { /* forward: X1 U11 = B1, B2 -= X1 U12, X2 U22 = B2 */
        DOPT__KFN(dopt__trsm_right_rec)(upper, trans, diag, m, n1, T, ldt, B, ldb, work);
        DOPT_FN(dopt_gemm_ws)(DOPT_NOTRANS, trans, m, n2, n1, -1, B, ldb, DOPT__OPTB(0, n1), ldt, 1, B + (size_t)n1 * ldb,
                              ldb, DOPT__WORK(work));
        DOPT__KFN(dopt__trsm_right_rec)(upper, trans, diag, m, n2, T + n1 + (size_t)n1 * ldt, ldt, B + (size_t)n1 * ldb, ldb, work);
    } else { /* backward: X2 first, B1 -= X2 U21, then X1 */
        DOPT__KFN(dopt__trsm_right_rec)(upper, trans, diag, m, n2, T + n1 + (size_t)n1 * ldt, ldt, B + (size_t)n1 * ldb, ldb, work);
        DOPT_FN(dopt_gemm_ws)(DOPT_NOTRANS, trans, m, n1, n2, -1, B + (size_t)n1 * ldb, ldb, DOPT__OPTB(n1, 0), ldt, 1, B,
                              ldb, DOPT__WORK(work));
        DOPT__KFN(dopt__trsm_right_rec)(upper, trans, diag, m, n1, T, ldt, B, ldb, work);
    }
}

/* RIGHT case entry: U = op(T) is upper iff (uplo is UPPER) == (trans is NOTRANS). */
DOPT__KTARGET static void DOPT__KFN(dopt__trsm_right)(dopt_uplo uplo, dopt_trans trans, dopt_diag diag, int m, int n,
                                                      const DOPT_REAL *T, int ldt, DOPT_REAL *B, int ldb, void *work)
{
    DOPT__KFN(dopt__trsm_right_rec)((uplo == DOPT_UPPER) == (trans == DOPT_NOTRANS), trans, diag, m, n, T, ldt, B, ldb,
                                    work);
}

/* Unblocked left-looking Cholesky of the n x n lower triangle; col0 offsets the reported column. */
DOPT__KTARGET static dopt_status DOPT__KFN(dopt__potrf_unblocked)(int n, DOPT_REAL *A, int lda, int col0, int *fail_col)
{
    /* right-looking: pivot j is final when reached; the updates run down contiguous columns */
    int j, i, q;
    for (j = 0; j < n; ++j) {
        DOPT_REAL *cj = A + (size_t)j * lda, d = cj[j];
        if (!(d > 0) || d - d != 0) {
            if (fail_col) *fail_col = col0 + j;
            return (d != d || d - d != 0) ? DOPT_ERR_NON_FINITE : DOPT_ERR_NOT_POSITIVE_DEFINITE;
        }
        d = DOPT_M(sqrt)(d);
        cj[j] = d;
        for (i = j + 1; i < n; ++i) cj[i] /= d;
        for (q = j + 1; q < n; ++q) {
            DOPT_REAL *cq = A + (size_t)q * lda, f = cj[q];
            for (i = q; i < n; ++i) cq[i] -= cj[i] * f;
        }
    }
    return DOPT_OK;
}

/* Recursive Cholesky: factor A11, solve the panel A21 L11^{-T}, update A22 -= A21 A21^T with
 * syrk, factor A22.  Nearly all flops land in gemm-based syrk/trsm at every size; columns are
 * still completed in order, so the first failing pivot is the one reported. */
DOPT__KTARGET static dopt_status DOPT__KFN(dopt__potrf_recursive)(int n, DOPT_REAL *A, int lda, int col0, int *fail_col,
                                                                  void *work)
{
    int n1, n2;
    dopt_status st;
    if (n <= 48) return DOPT__KFN(dopt__potrf_unblocked)(n, A, lda, col0, fail_col);
    n1 = n / 2 > 64 ? (n / 2 + 31) / 32 * 32 : n / 2;
    n2 = n - n1;
    st = DOPT__KFN(dopt__potrf_recursive)(n1, A, lda, col0, fail_col, work);
    if (st != DOPT_OK) return st;
    DOPT_FN(dopt_trsm_ws)(DOPT_RIGHT, DOPT_LOWER, DOPT_TRANS, DOPT_NONUNIT, n2, n1, 1, A, lda, A + n1, lda, DOPT__WORK(work));
    DOPT_FN(dopt_syrk_ws)(DOPT_LOWER, DOPT_NOTRANS, n2, n1, -1, A + n1, lda, 1, A + n1 + (size_t)n1 * lda, lda,
                          DOPT__WORK(work));
    return DOPT__KFN(dopt__potrf_recursive)(n2, A + n1 + (size_t)n1 * lda, lda, col0 + n1, fail_col, work);
}

#endif /* DOPT__GEMM_KERNELS */

#if defined(DOPT__CORE_PASS_IMPL) && defined(DOPT_REAL) && !defined(DOPT__KDRIVE)
#ifdef __cplusplus
extern "C" {
#endif
#define DOPT__A(i, j) A[(size_t)(i) + (size_t)(j) * (size_t)lda]

/* the gemm kernels of every family this build holds (the region above) */
#define DOPT__GEMM_KERNELS
#define DOPT__KDRIVE "dopt.h"
#include "dopt.h"
#undef DOPT__KDRIVE
#undef DOPT__GEMM_KERNELS

/* Fixed-size N x N products, fully unrolled by the compiler for each constant N. */
#define DOPT__GEMM_FIXED_BODY(N)                                                              \
    {                                                                                         \
        int i_, j_, p_;                                                                       \
        for (j_ = 0; j_ < (N); ++j_) {                                                        \
            DOPT_REAL col_[N];                                                                \
            for (i_ = 0; i_ < (N); ++i_) col_[i_] = accumulate ? C[i_ + (N) * j_] : 0;        \
            for (p_ = 0; p_ < (N); ++p_) {                                                    \
                DOPT_REAL b_ = B[p_ + (N) * j_];                                              \
                for (i_ = 0; i_ < (N); ++i_) col_[i_] += A[i_ + (N) * p_] * b_;               \
            }                                                                                 \
            for (i_ = 0; i_ < (N); ++i_) C[i_ + (N) * j_] = col_[i_];                         \
        }                                                                                     \
    }

DOPT_API void DOPT_FN(dopt_gemm_fixed)(int N, const DOPT_REAL *A, const DOPT_REAL *B, DOPT_REAL *C,
                                       int accumulate)
{
    switch (N) {
    case 2: DOPT__GEMM_FIXED_BODY(2) return;
    case 3: DOPT__GEMM_FIXED_BODY(3) return;
    case 4: DOPT__GEMM_FIXED_BODY(4) return;
    case 5: DOPT__GEMM_FIXED_BODY(5) return;
    case 6: DOPT__GEMM_FIXED_BODY(6) return;
    case 9: DOPT__GEMM_FIXED_BODY(9) return;
    default:
        DOPT_FN(dopt_gemm)(DOPT_NOTRANS, DOPT_NOTRANS, N, N, N, 1, A, N, B, N,
                           (DOPT_REAL)(accumulate ? 1 : 0), C, N);
    }
}

/* Small products (every dimension <= 16): straight loops beat packing. */
static void DOPT_FN(dopt__gemm_small)(dopt_trans ta, dopt_trans tb, int m, int n, int k,
                                      DOPT_REAL alpha, const DOPT_REAL *A, int lda,
                                      const DOPT_REAL *B, int ldb, DOPT_REAL *C, int ldc)
{
    int i, j, p;
    for (j = 0; j < n; ++j) {
        DOPT_REAL *c = C + (size_t)j * ldc;
        for (p = 0; p < k; ++p) {
            DOPT_REAL b = alpha * (tb == DOPT_NOTRANS ? B[p + (size_t)j * ldb] : B[j + (size_t)p * ldb]);
            if (ta == DOPT_NOTRANS) {
                const DOPT_REAL *a = A + (size_t)p * lda;
                for (i = 0; i < m; ++i) c[i] += a[i] * b;
            } else {
                for (i = 0; i < m; ++i) c[i] += A[p + (size_t)i * lda] * b;
            }
        }
    }
}

DOPT_API size_t DOPT_FN(dopt_gemm_workspace_size)(void)
{
    return DOPT__KSEL(DOPT_FN(dopt__gemm_work_len))() * sizeof(DOPT_REAL);
}

DOPT_API void DOPT_FN(dopt_gemm)(dopt_trans transa, dopt_trans transb, int m, int n, int k,
                                 DOPT_REAL alpha, const DOPT_REAL *A, int lda, const DOPT_REAL *B,
                                 int ldb, DOPT_REAL beta, DOPT_REAL *C, int ldc)
{
    DOPT_FN(dopt_gemm_ws)(transa, transb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc, NULL, 0);
}

DOPT_API void DOPT_FN(dopt_gemm_ws)(dopt_trans transa, dopt_trans transb, int m, int n, int k,
                                    DOPT_REAL alpha, const DOPT_REAL *A, int lda, const DOPT_REAL *B,
                                    int ldb, DOPT_REAL beta, DOPT_REAL *C, int ldc, void *work,
                                    size_t work_bytes)
{
    int i, j;
    if (m <= 0 || n <= 0) return;
#ifdef DOPT_USE_CBLAS
    if ((size_t)m * (size_t)n * (size_t)k >= 4096) {
#if DOPT_IS_FLOAT
        cblas_sgemm
#else
        cblas_dgemm
#endif
            (CblasColMajor, transa == DOPT_NOTRANS ? CblasNoTrans : CblasTrans,
             transb == DOPT_NOTRANS ? CblasNoTrans : CblasTrans, m, n, k, alpha, A, lda, B, ldb,
             beta, C, ldc);
        return;
    }
#endif
    if (m == n && n == k && transa == DOPT_NOTRANS && transb == DOPT_NOTRANS && alpha == 1 &&
        (beta == 0 || beta == 1) && lda == m && ldb == m && ldc == m &&
        (m <= 6 || m == 9) && m >= 2) {
        DOPT_FN(dopt_gemm_fixed)(m, A, B, C, beta == 1);
        return;
    }
    for (j = 0; j < n; ++j) {
        DOPT_REAL *c = C + (size_t)j * ldc;
        if (beta == 0)
            for (i = 0; i < m; ++i) c[i] = 0;
        else if (beta != 1)
            for (i = 0; i < m; ++i) c[i] *= beta;
    }
    if (k <= 0 || alpha == 0) return;
    if (m <= 16 && n <= 16 && k <= 16) {
        DOPT_FN(dopt__gemm_small)(transa, transb, m, n, k, alpha, A, lda, B, ldb, C, ldc);
        return;
    }
    if (transa == DOPT_NOTRANS && k <= DOPT__GEMM_DIRECT_K && n <= DOPT__GEMM_DIRECT_N &&
        (size_t)m * (size_t)k * sizeof(DOPT_REAL) <= DOPT__GEMM_DIRECT_BYTES) {
        DOPT__KSEL(DOPT_FN(dopt__gemm_direct))(transb, m, n, k, alpha, A, lda, B, ldb, C, ldc);
        return;
    }
    if (work && work_bytes < DOPT_FN(dopt_gemm_workspace_size)()) work = NULL;
    DOPT__KSEL(DOPT_FN(dopt__gemm_blocked))(transa, transb, m, n, k, alpha, A, lda, B, ldb, C, ldc, (DOPT_REAL *)work);
}

/* ---- syrk ------------------------------------------------------------------------------------ */
/* The requested triangle of C is scaled by beta, then the product runs in dopt__gemm_band, the
 * gemm's blocks restricted to that triangle: the tiles off it are skipped, those across the
 * diagonal write their triangle part only.  So syrk does half a gemm's work at the gemm's speed
 * and never writes the other triangle. */
DOPT_API void DOPT_FN(dopt_syrk)(dopt_uplo uplo, dopt_trans trans, int n, int k, DOPT_REAL alpha,
                                 const DOPT_REAL *A, int lda, DOPT_REAL beta, DOPT_REAL *C, int ldc)
{
    DOPT_FN(dopt_syrk_ws)(uplo, trans, n, k, alpha, A, lda, beta, C, ldc, NULL, 0);
}

DOPT_API void DOPT_FN(dopt_syrk_ws)(dopt_uplo uplo, dopt_trans trans, int n, int k, DOPT_REAL alpha,
                                    const DOPT_REAL *A, int lda, DOPT_REAL beta, DOPT_REAL *C, int ldc,
                                    void *work, size_t work_bytes)
{
    int i, j;
    dopt_trans other = trans == DOPT_NOTRANS ? DOPT_TRANS : DOPT_NOTRANS;
    if (n <= 0) return;
#ifdef DOPT_USE_CBLAS
    if (n * (size_t)n * k >= 4096) {
#if DOPT_IS_FLOAT
        cblas_ssyrk
#else
        cblas_dsyrk
#endif
            (CblasColMajor, uplo == DOPT_LOWER ? CblasLower : CblasUpper,
             trans == DOPT_NOTRANS ? CblasNoTrans : CblasTrans, n, k, alpha, A, lda, beta, C, ldc);
        return;
    }
#endif
    for (j = 0; j < n; ++j) {
        DOPT_REAL *c = C + (size_t)j * ldc;
        const int ilo = uplo == DOPT_LOWER ? j : 0, ihi = uplo == DOPT_LOWER ? n : j + 1;
        if (beta == 0)
            for (i = ilo; i < ihi; ++i) c[i] = 0;
        else if (beta != 1)
            for (i = ilo; i < ihi; ++i) c[i] *= beta;
    }
    if (k <= 0 || alpha == 0) return;
    if (work && work_bytes < DOPT_FN(dopt_gemm_workspace_size)()) work = NULL;
    DOPT__KSEL(DOPT_FN(dopt__gemm_band))(trans, other, n, n, k, alpha, A, lda, A, lda, C, ldc, (int)uplo,
                                         (DOPT_REAL *)work);
}

/* ---- triangular solves ----------------------------------------------------------------------- */

DOPT_API void DOPT_FN(dopt_trsv)(dopt_uplo uplo, dopt_trans trans, dopt_diag diag, int n,
                                 const DOPT_REAL *T, int ldt, DOPT_REAL *x, int incx)
{
    int j;
    /* effective lower: (LOWER, N) and (UPPER, T) solve forward; the others backward.  NOTRANS
     * sweeps columns of T with axpy, TRANS takes dots with them: both run on contiguous columns
     * through the level-1 kernels (which have unit-stride fast paths). */
    int forward = (uplo == DOPT_LOWER) == (trans == DOPT_NOTRANS);
    for (j = 0; j < n; ++j) {
        int c = forward ? j : n - 1 - j;               /* the unknown solved at this step */
        const DOPT_REAL *col = T + (size_t)c * ldt;    /* column c of T */
        DOPT_REAL *xc = x + (size_t)c * incx;
        /* entries of column c on the side already solved (TRANS) or still to update (NOTRANS) */
        int lo = uplo == DOPT_LOWER ? c + 1 : 0, len = uplo == DOPT_LOWER ? n - c - 1 : c;
        if (trans == DOPT_NOTRANS) {
            if (diag == DOPT_NONUNIT) *xc /= col[c];
            DOPT_FN(dopt_axpy)(len, -*xc, col + lo, 1, x + (size_t)lo * incx, incx);
        } else {
            DOPT_REAL s = *xc - DOPT_FN(dopt_dot)(len, col + lo, 1, x + (size_t)lo * incx, incx);
            *xc = diag == DOPT_NONUNIT ? s / col[c] : s;
        }
    }
}

DOPT_API void DOPT_FN(dopt_trsm)(dopt_side side, dopt_uplo uplo, dopt_trans trans, dopt_diag diag,
                                 int m, int n, DOPT_REAL alpha, const DOPT_REAL *T, int ldt,
                                 DOPT_REAL *B, int ldb)
{
    DOPT_FN(dopt_trsm_ws)(side, uplo, trans, diag, m, n, alpha, T, ldt, B, ldb, NULL, 0);
}

DOPT_API void DOPT_FN(dopt_trsm_ws)(dopt_side side, dopt_uplo uplo, dopt_trans trans, dopt_diag diag,
                                    int m, int n, DOPT_REAL alpha, const DOPT_REAL *T, int ldt,
                                    DOPT_REAL *B, int ldb, void *work, size_t work_bytes)
{
    int j;
    if (m <= 0 || n <= 0) return;
#ifdef DOPT_USE_CBLAS
#if DOPT_IS_FLOAT
    cblas_strsm
#else
    cblas_dtrsm
#endif
        (CblasColMajor, side == DOPT_LEFT ? CblasLeft : CblasRight,
         uplo == DOPT_LOWER ? CblasLower : CblasUpper, trans == DOPT_NOTRANS ? CblasNoTrans : CblasTrans,
         diag == DOPT_UNIT ? CblasUnit : CblasNonUnit, m, n, alpha, T, ldt, B, ldb);
    return;
#endif
    if (alpha != 1)
        for (j = 0; j < n; ++j) DOPT_FN(dopt_scal)(m, alpha, B + (size_t)j * ldb, 1);
    if (work && work_bytes < DOPT_FN(dopt_gemm_workspace_size)()) work = NULL;
    if (side == DOPT_LEFT)
        DOPT__KSEL(DOPT_FN(dopt__trsm_left))(uplo, trans, diag, m, n, T, ldt, B, ldb, work);
    else
        DOPT__KSEL(DOPT_FN(dopt__trsm_right))(uplo, trans, diag, m, n, T, ldt, B, ldb, work);
}

/* ---- Cholesky -------------------------------------------------------------------------------- */

DOPT_API dopt_status DOPT_FN(dopt_potrf)(int n, DOPT_REAL *A, int lda, int *fail_col)
{
    return DOPT_FN(dopt_potrf_ws)(n, A, lda, fail_col, NULL, 0);
}

DOPT_API dopt_status DOPT_FN(dopt_potrf_ws)(int n, DOPT_REAL *A, int lda, int *fail_col, void *work, size_t work_bytes)
{
    if (fail_col) *fail_col = -1;
    if (n < 0 || lda < (n > 1 ? n : 1) || (n > 0 && !A)) return DOPT_ERR_INVALID_ARGUMENT;
#ifdef DOPT_USE_CBLAS
    if (n >= 32) {
        int info =
#if DOPT_IS_FLOAT
            LAPACKE_spotrf
#else
            LAPACKE_dpotrf
#endif
            (LAPACK_COL_MAJOR, 'L', n, A, lda);
        if (info == 0) return DOPT_OK;
        if (info > 0) {
            DOPT_REAL d = DOPT__A(info - 1, info - 1);
            if (fail_col) *fail_col = info - 1;
            return (d != d || d - d != 0) ? DOPT_ERR_NON_FINITE : DOPT_ERR_NOT_POSITIVE_DEFINITE;
        }
        return DOPT_ERR_INVALID_ARGUMENT;
    }
#endif
    if (work && work_bytes < DOPT_FN(dopt_gemm_workspace_size)()) work = NULL;
    return DOPT__KSEL(DOPT_FN(dopt__potrf_recursive))(n, A, lda, 0, fail_col, work);
}

DOPT_API void DOPT_FN(dopt_potrs)(int n, int nrhs, const DOPT_REAL *L, int ldl, DOPT_REAL *B, int ldb)
{
    if (nrhs == 1) {
        DOPT_FN(dopt_trsv)(DOPT_LOWER, DOPT_NOTRANS, DOPT_NONUNIT, n, L, ldl, B, 1);
        DOPT_FN(dopt_trsv)(DOPT_LOWER, DOPT_TRANS, DOPT_NONUNIT, n, L, ldl, B, 1);
        return;
    }
    DOPT_FN(dopt_trsm)(DOPT_LEFT, DOPT_LOWER, DOPT_NOTRANS, DOPT_NONUNIT, n, nrhs, 1, L, ldl, B, ldb);
    DOPT_FN(dopt_trsm)(DOPT_LEFT, DOPT_LOWER, DOPT_TRANS, DOPT_NONUNIT, n, nrhs, 1, L, ldl, B, ldb);
}

/* ---- LU -------------------------------------------------------------------------------------- */

static void DOPT_FN(dopt__swap_rows)(int ncols, DOPT_REAL *A, int lda, int r1, int r2)
{
    int j;
    if (r1 == r2) return;
    for (j = 0; j < ncols; ++j) {
        DOPT_REAL t = DOPT__A(r1, j);
        DOPT__A(r1, j) = DOPT__A(r2, j);
        DOPT__A(r2, j) = t;
    }
}

DOPT_API dopt_status DOPT_FN(dopt_getrf)(int n, DOPT_REAL *A, int lda, int *ipiv, int *fail_col)
{
    int j, i, k;
    dopt_status st = DOPT_OK;
    if (fail_col) *fail_col = -1;
    if (n < 0 || lda < (n > 1 ? n : 1) || (n > 0 && (!A || !ipiv))) return DOPT_ERR_INVALID_ARGUMENT;
    if (!DOPT_FN(dopt_matrix_all_finite)(n, n, A, lda)) return DOPT_ERR_NON_FINITE;
    /* right-looking, column by column (kji form); the rank-1 update is a gemm-shaped loop */
    for (k = 0; k < n; ++k) {
        int p = k;
        DOPT_REAL best = DOPT_M(fabs)(DOPT__A(k, k));
        for (i = k + 1; i < n; ++i) {
            DOPT_REAL v = DOPT_M(fabs)(DOPT__A(i, k));
            if (v > best) { best = v; p = i; }
        }
        ipiv[k] = p;
        DOPT_FN(dopt__swap_rows)(n, A, lda, k, p);
        if (DOPT__A(k, k) == 0) {
            if (st == DOPT_OK) {
                st = DOPT_ERR_SINGULAR;
                if (fail_col) *fail_col = k;
            }
            continue;
        }
        {
            DOPT_REAL inv = 1 / DOPT__A(k, k);
            for (i = k + 1; i < n; ++i) DOPT__A(i, k) *= inv;
        }
        for (j = k + 1; j < n; ++j) {
            DOPT_REAL ukj = DOPT__A(k, j);
            if (ukj != 0)
                for (i = k + 1; i < n; ++i) DOPT__A(i, j) -= DOPT__A(i, k) * ukj;
        }
    }
    return st;
}

DOPT_API void DOPT_FN(dopt_getrs)(dopt_trans trans, int n, int nrhs, const DOPT_REAL *LU, int ldlu,
                                  const int *ipiv, DOPT_REAL *B, int ldb)
{
    int k;
    if (trans == DOPT_NOTRANS) {
        for (k = 0; k < n; ++k) DOPT_FN(dopt__swap_rows)(nrhs, B, ldb, k, ipiv[k]);
        DOPT_FN(dopt_trsm)(DOPT_LEFT, DOPT_LOWER, DOPT_NOTRANS, DOPT_UNIT, n, nrhs, 1, LU, ldlu, B, ldb);
        DOPT_FN(dopt_trsm)(DOPT_LEFT, DOPT_UPPER, DOPT_NOTRANS, DOPT_NONUNIT, n, nrhs, 1, LU, ldlu, B, ldb);
    } else {
        /* A^T = U^T L^T P */
        DOPT_FN(dopt_trsm)(DOPT_LEFT, DOPT_UPPER, DOPT_TRANS, DOPT_NONUNIT, n, nrhs, 1, LU, ldlu, B, ldb);
        DOPT_FN(dopt_trsm)(DOPT_LEFT, DOPT_LOWER, DOPT_TRANS, DOPT_UNIT, n, nrhs, 1, LU, ldlu, B, ldb);
        for (k = n - 1; k >= 0; --k) DOPT_FN(dopt__swap_rows)(nrhs, B, ldb, k, ipiv[k]);
    }
}

/* ---- LDL^T with Bunch-Kaufman pivoting -------------------------------------------------------- */
/* Lower-triangle storage only.  Symmetric swap of rows/cols a < b inside the active lower block
 * A[k:, k:]: exchanges every stored entry of a with the matching entry of b.  Columns before k
 * are left alone: the factor is kept in LAPACK's product form L = P1 L1 P2 L2 ..., which
 * dopt_sytrs applies step by step. */
static void DOPT_FN(dopt__sym_swap)(int n, DOPT_REAL *A, int lda, int k, int a, int b)
{
    int i;
    DOPT_REAL t;
    if (a == b) return;
    t = DOPT__A(a, a); DOPT__A(a, a) = DOPT__A(b, b); DOPT__A(b, b) = t;
    for (i = k; i < a; ++i) { t = DOPT__A(a, i); DOPT__A(a, i) = DOPT__A(b, i); DOPT__A(b, i) = t; }
    for (i = a + 1; i < b; ++i) { t = DOPT__A(i, a); DOPT__A(i, a) = DOPT__A(b, i); DOPT__A(b, i) = t; }
    for (i = b + 1; i < n; ++i) { t = DOPT__A(i, a); DOPT__A(i, a) = DOPT__A(i, b); DOPT__A(i, b) = t; }
}

DOPT_API dopt_status DOPT_FN(dopt_sytrf)(int n, DOPT_REAL *A, int lda, int *ipiv, int *fail_col)
{
    const DOPT_REAL alpha = (DOPT_REAL)0.6403882032022076; /* (1 + sqrt(17)) / 8 */
    dopt_status st = DOPT_OK;
    int k = 0, i, j;
    if (fail_col) *fail_col = -1;
    if (n < 0 || lda < (n > 1 ? n : 1) || (n > 0 && (!A || !ipiv))) return DOPT_ERR_INVALID_ARGUMENT;
    for (j = 0; j < n; ++j)
        if (!DOPT_FN(dopt_all_finite)(n - j, A + j + (size_t)j * lda)) return DOPT_ERR_NON_FINITE;
    while (k < n) {
        DOPT_REAL akk = DOPT_M(fabs)(DOPT__A(k, k)), colmax = 0;
        int r = k, size = 1;
        for (i = k + 1; i < n; ++i) {
            DOPT_REAL v = DOPT_M(fabs)(DOPT__A(i, k));
            if (v > colmax) { colmax = v; r = i; }
        }
        if (akk == 0 && colmax == 0) { /* zero column: singular D block, keep going */
            if (st == DOPT_OK) { st = DOPT_ERR_SINGULAR; if (fail_col) *fail_col = k; }
            ipiv[k] = k;
            k += 1;
            continue;
        }
        if (akk >= alpha * colmax) {
            ipiv[k] = k;
        } else {
            /* rowmax: largest off-diagonal magnitude in row/col r of the active block */
            DOPT_REAL rowmax = 0;
            for (j = k; j < r; ++j) { DOPT_REAL v = DOPT_M(fabs)(DOPT__A(r, j)); if (v > rowmax) rowmax = v; }
            for (i = r + 1; i < n; ++i) { DOPT_REAL v = DOPT_M(fabs)(DOPT__A(i, r)); if (v > rowmax) rowmax = v; }
            if (akk * rowmax >= alpha * colmax * colmax) {
                ipiv[k] = k;
            } else if (DOPT_M(fabs)(DOPT__A(r, r)) >= alpha * rowmax) {
                DOPT_FN(dopt__sym_swap)(n, A, lda, k, k, r);
                ipiv[k] = r;
            } else {
                DOPT_FN(dopt__sym_swap)(n, A, lda, k, k + 1, r);
                ipiv[k] = ipiv[k + 1] = -(r + 1);
                size = 2;
            }
        }
        if (size == 1) {
            DOPT_REAL d = DOPT__A(k, k), inv = 1 / d;
            /* trailing update A22 -= l l^T d, with l = a21 / d */
            for (j = k + 1; j < n; ++j) {
                DOPT_REAL t = DOPT__A(j, k) * inv;
                for (i = j; i < n; ++i) DOPT__A(i, j) -= DOPT__A(i, k) * t;
            }
            for (i = k + 1; i < n; ++i) DOPT__A(i, k) *= inv;
        } else {
            /* 2x2 pivot D = [d11 d21; d21 d22]; L cols = A[:, k:k+2] D^{-1} */
            DOPT_REAL d11 = DOPT__A(k, k), d21 = DOPT__A(k + 1, k), d22 = DOPT__A(k + 1, k + 1);
            DOPT_REAL det = d11 * d22 - d21 * d21;
            if (det == 0) {
                if (st == DOPT_OK) { st = DOPT_ERR_SINGULAR; if (fail_col) *fail_col = k; }
            } else {
                DOPT_REAL i11 = d22 / det, i21 = -d21 / det, i22 = d11 / det;
                for (j = k + 2; j < n; ++j) {
                    DOPT_REAL wj1 = DOPT__A(j, k) * i11 + DOPT__A(j, k + 1) * i21;
                    DOPT_REAL wj2 = DOPT__A(j, k) * i21 + DOPT__A(j, k + 1) * i22;
                    for (i = j; i < n; ++i)
                        DOPT__A(i, j) -= DOPT__A(i, k) * wj1 + DOPT__A(i, k + 1) * wj2;
                }
                for (i = k + 2; i < n; ++i) {
                    DOPT_REAL a1 = DOPT__A(i, k), a2 = DOPT__A(i, k + 1);
                    DOPT__A(i, k) = a1 * i11 + a2 * i21;
                    DOPT__A(i, k + 1) = a1 * i21 + a2 * i22;
                }
            }
        }
        k += size;
    }
    return st;
}

DOPT_API void DOPT_FN(dopt_sytrs)(int n, int nrhs, const DOPT_REAL *LD, int ldld, const int *ipiv,
                                  DOPT_REAL *B, int ldb)
{
    int k, i, c;
    const DOPT_REAL *A = LD;
    int lda = ldld;
    /* forward: apply P and L^{-1} in factorization order */
    for (k = 0; k < n;) {
        if (ipiv[k] >= 0) {
            DOPT_FN(dopt__swap_rows)(nrhs, B, ldb, k, ipiv[k]);
            for (c = 0; c < nrhs; ++c) {
                DOPT_REAL bk = B[k + (size_t)c * ldb];
                for (i = k + 1; i < n; ++i) B[i + (size_t)c * ldb] -= DOPT__A(i, k) * bk;
            }
            k += 1;
        } else {
            DOPT_FN(dopt__swap_rows)(nrhs, B, ldb, k + 1, -ipiv[k] - 1);
            for (c = 0; c < nrhs; ++c) {
                DOPT_REAL b1 = B[k + (size_t)c * ldb], b2 = B[k + 1 + (size_t)c * ldb];
                for (i = k + 2; i < n; ++i)
                    B[i + (size_t)c * ldb] -= DOPT__A(i, k) * b1 + DOPT__A(i, k + 1) * b2;
            }
            k += 2;
        }
    }
    /* D^{-1} */
    for (k = 0; k < n;) {
        if (ipiv[k] >= 0) {
            DOPT_REAL inv = 1 / DOPT__A(k, k);
            for (c = 0; c < nrhs; ++c) B[k + (size_t)c * ldb] *= inv;
            k += 1;
        } else {
            DOPT_REAL d11 = DOPT__A(k, k), d21 = DOPT__A(k + 1, k), d22 = DOPT__A(k + 1, k + 1);
            DOPT_REAL det = d11 * d22 - d21 * d21;
            for (c = 0; c < nrhs; ++c) {
                DOPT_REAL b1 = B[k + (size_t)c * ldb], b2 = B[k + 1 + (size_t)c * ldb];
                B[k + (size_t)c * ldb] = (d22 * b1 - d21 * b2) / det;
                B[k + 1 + (size_t)c * ldb] = (d11 * b2 - d21 * b1) / det;
            }
            k += 2;
        }
    }
    /* backward: L^{-T} and P^T in reverse order */
    for (k = n - 1; k >= 0;) {
        if (ipiv[k] >= 0) {
            for (c = 0; c < nrhs; ++c) {
                DOPT_REAL s = B[k + (size_t)c * ldb];
                for (i = k + 1; i < n; ++i) s -= DOPT__A(i, k) * B[i + (size_t)c * ldb];
                B[k + (size_t)c * ldb] = s;
            }
            DOPT_FN(dopt__swap_rows)(nrhs, B, ldb, k, ipiv[k]);
            k -= 1;
        } else { /* 2x2 block occupies k-1, k */
            int k0 = k - 1;
            for (c = 0; c < nrhs; ++c) {
                DOPT_REAL s1 = B[k0 + (size_t)c * ldb], s2 = B[k + (size_t)c * ldb];
                for (i = k + 1; i < n; ++i) {
                    s1 -= DOPT__A(i, k0) * B[i + (size_t)c * ldb];
                    s2 -= DOPT__A(i, k) * B[i + (size_t)c * ldb];
                }
                B[k0 + (size_t)c * ldb] = s1;
                B[k + (size_t)c * ldb] = s2;
            }
            DOPT_FN(dopt__swap_rows)(nrhs, B, ldb, k, -ipiv[k] - 1);
            k -= 2;
        }
    }
}

/* ---- batches --------------------------------------------------------------------------------- */

DOPT_API void DOPT_FN(dopt_gemm_batched)(ptrdiff_t batch, dopt_trans transa, dopt_trans transb, int m, int n,
                                         int k, DOPT_REAL alpha, const DOPT_REAL *A, int lda,
                                         ptrdiff_t strideA, const DOPT_REAL *B, int ldb,
                                         ptrdiff_t strideB, DOPT_REAL beta, DOPT_REAL *C, int ldc,
                                         ptrdiff_t strideC)
{
    ptrdiff_t b;
    for (b = 0; b < batch; ++b)
        DOPT_FN(dopt_gemm)(transa, transb, m, n, k, alpha, A + b * strideA, lda, B + b * strideB, ldb,
                           beta, C + b * strideC, ldc);
}

DOPT_API void DOPT_FN(dopt_gemv_batched)(ptrdiff_t batch, dopt_trans trans, int m, int n, DOPT_REAL alpha,
                                         const DOPT_REAL *A, int lda, ptrdiff_t strideA,
                                         const DOPT_REAL *x, ptrdiff_t stridex, DOPT_REAL beta,
                                         DOPT_REAL *y, ptrdiff_t stridey)
{
    ptrdiff_t b;
    for (b = 0; b < batch; ++b)
        DOPT_FN(dopt_gemv)(trans, m, n, alpha, A + b * strideA, lda, x + b * stridex, 1, beta,
                           y + b * stridey, 1);
}

/* Keep the first failure's status; record every element's failing column. */
static dopt_status DOPT_FN(dopt__batch_status)(dopt_status first, dopt_status st, int *fail_col,
                                               ptrdiff_t b, int col)
{
    if (fail_col) fail_col[b] = st == DOPT_OK ? -1 : col;
    return first != DOPT_OK ? first : st;
}

DOPT_API dopt_status DOPT_FN(dopt_potrf_batched)(ptrdiff_t batch, int n, DOPT_REAL *A, int lda,
                                                 ptrdiff_t strideA, int *fail_col)
{
    dopt_status first = DOPT_OK;
    ptrdiff_t b;
    for (b = 0; b < batch; ++b) {
        int col;
        dopt_status st = DOPT_FN(dopt_potrf)(n, A + b * strideA, lda, &col);
        first = DOPT_FN(dopt__batch_status)(first, st, fail_col, b, col);
    }
    return first;
}

DOPT_API void DOPT_FN(dopt_potrs_batched)(ptrdiff_t batch, int n, int nrhs, const DOPT_REAL *L, int ldl,
                                          ptrdiff_t strideL, DOPT_REAL *B, int ldb, ptrdiff_t strideB)
{
    ptrdiff_t b;
    for (b = 0; b < batch; ++b)
        DOPT_FN(dopt_potrs)(n, nrhs, L + b * strideL, ldl, B + b * strideB, ldb);
}

DOPT_API dopt_status DOPT_FN(dopt_getrf_batched)(ptrdiff_t batch, int n, DOPT_REAL *A, int lda,
                                                 ptrdiff_t strideA, int *ipiv, ptrdiff_t strideipiv,
                                                 int *fail_col)
{
    dopt_status first = DOPT_OK;
    ptrdiff_t b;
    for (b = 0; b < batch; ++b) {
        int col;
        dopt_status st = DOPT_FN(dopt_getrf)(n, A + b * strideA, lda, ipiv + b * strideipiv, &col);
        first = DOPT_FN(dopt__batch_status)(first, st, fail_col, b, col);
    }
    return first;
}

DOPT_API void DOPT_FN(dopt_getrs_batched)(ptrdiff_t batch, dopt_trans trans, int n, int nrhs,
                                          const DOPT_REAL *LU, int ldlu, ptrdiff_t strideLU,
                                          const int *ipiv, ptrdiff_t strideipiv, DOPT_REAL *B,
                                          int ldb, ptrdiff_t strideB)
{
    ptrdiff_t b;
    for (b = 0; b < batch; ++b)
        DOPT_FN(dopt_getrs)(trans, n, nrhs, LU + b * strideLU, ldlu, ipiv + b * strideipiv,
                            B + b * strideB, ldb);
}

DOPT_API dopt_status DOPT_FN(dopt_sytrf_batched)(ptrdiff_t batch, int n, DOPT_REAL *A, int lda,
                                                 ptrdiff_t strideA, int *ipiv, ptrdiff_t strideipiv,
                                                 int *fail_col)
{
    dopt_status first = DOPT_OK;
    ptrdiff_t b;
    for (b = 0; b < batch; ++b) {
        int col;
        dopt_status st = DOPT_FN(dopt_sytrf)(n, A + b * strideA, lda, ipiv + b * strideipiv, &col);
        first = DOPT_FN(dopt__batch_status)(first, st, fail_col, b, col);
    }
    return first;
}

DOPT_API void DOPT_FN(dopt_sytrs_batched)(ptrdiff_t batch, int n, int nrhs, const DOPT_REAL *LD, int ldld,
                                          ptrdiff_t strideLD, const int *ipiv, ptrdiff_t strideipiv,
                                          DOPT_REAL *B, int ldb, ptrdiff_t strideB)
{
    ptrdiff_t b;
    for (b = 0; b < batch; ++b)
        DOPT_FN(dopt_sytrs)(n, nrhs, LD + b * strideLD, ldld, ipiv + b * strideipiv, B + b * strideB,
                            ldb);
}

/* ---- allocating convenience ------------------------------------------------------------------ */

DOPT_API dopt_status DOPT_FN(dopt_spd_solve)(const dopt_hooks *hooks, int n, int nrhs,
                                             const DOPT_REAL *A, int lda, DOPT_REAL *B, int ldb,
                                             int *fail_col)
{
    size_t bytes = (size_t)n * (size_t)n * sizeof(DOPT_REAL);
    DOPT_REAL *L;
    dopt_status st;
    int j;
    if (fail_col) *fail_col = -1;
    if (n < 0 || nrhs < 0 || lda < (n > 1 ? n : 1) || ldb < (n > 1 ? n : 1))
        return DOPT_ERR_INVALID_ARGUMENT;
    L = (DOPT_REAL *)dopt_alloc(hooks, bytes);
    if (!L) return DOPT_ERR_ALLOCATION;
    for (j = 0; j < n; ++j) memcpy(L + (size_t)j * n, A + (size_t)j * lda, (size_t)n * sizeof(DOPT_REAL));
    st = DOPT_FN(dopt_potrf)(n, L, n, fail_col);
    if (st == DOPT_OK) DOPT_FN(dopt_potrs)(n, nrhs, L, n, B, ldb);
    dopt_free(hooks, L, bytes);
    return st;
}

#undef DOPT__A

#ifdef __cplusplus
}
#endif
#endif /* DOPT__CORE_PASS_IMPL */

/* ---- least-squares layer: implementation (precision-independent part) ---------------------- */
#if !defined(DOPT__DRIVE)
#if defined(DOPT_IMPLEMENTATION) && !defined(DOPT_NLLS_IMPLEMENTED)
#define DOPT_NLLS_IMPLEMENTED
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifndef DOPT_NO_STDIO
#include <stdio.h>
#endif
#ifdef __cplusplus
extern "C" {
#endif

DOPT_API const char *dopt_nlls_stop_string(dopt_nlls_stop s)
{
    switch (s) {
    case DOPT_STOP_NONE: return "not run";
    case DOPT_STOP_MAX_ITERATIONS: return "max iterations";
    case DOPT_STOP_FUNCTION_TOLERANCE: return "function tolerance";
    case DOPT_STOP_COST_CHANGE: return "cost change tolerance";
    case DOPT_STOP_GRADIENT: return "gradient tolerance";
    case DOPT_STOP_STEP: return "step tolerance";
    case DOPT_STOP_NO_PROGRESS: return "no progress";
    case DOPT_STOP_FAILED: return "failed";
    default: return "unknown";
    }
}

static double dopt__nlls_clock(void) { return (double)clock() / (double)CLOCKS_PER_SEC; }

static int dopt__nlls_cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : (x > y ? 1 : 0);
}

#ifdef __cplusplus
}
#endif

/* Precision-generic implementation of the least-squares layer (DOPT__NLLS_PASS_IMPL below). */
#define DOPT__NLLS_PASS_IMPL
#define DOPT__DRIVE "dopt.h"
#include "dopt.h"
#undef DOPT__DRIVE
#undef DOPT__NLLS_PASS_IMPL
#endif /* DOPT_IMPLEMENTATION */
#endif /* !DOPT__DRIVE */

/* =============================================================================================== */
/* Least-squares layer: generic implementation (one pass per precision).                          */
/* =============================================================================================== */
#if defined(DOPT__NLLS_PASS_IMPL) && defined(DOPT_REAL)
#ifdef __cplusplus
extern "C" {
#endif

/* ---- robust losses --------------------------------------------------------------------------- */

DOPT_API void DOPT_FN(dopt_nlls_loss_eval)(dopt_loss_kind kind, DOPT_REAL a, DOPT_REAL s, DOPT_REAL rho[3])
{
    DOPT_REAL a2, t, e;
    if (!(a > 0)) a = 1;
    a2 = a * a;
    switch (kind) {
    case DOPT_LOSS_HUBER:
        if (s <= a2) {
            rho[0] = s; rho[1] = 1; rho[2] = 0;
        } else {
            t = DOPT_M(sqrt)(s);
            rho[0] = 2 * a * t - a2; rho[1] = a / t; rho[2] = -rho[1] / (2 * s);
        }
        break;
    case DOPT_LOSS_CAUCHY:
        t = 1 + s / a2; /* log1p: rho keeps its digits for s << a^2 (near a zero-residual optimum) */
        rho[0] = a2 * DOPT_M(log1p)(s / a2); rho[1] = 1 / t; rho[2] = -rho[1] * rho[1] / a2;
        break;
    case DOPT_LOSS_WELSCH:
        e = DOPT_M(exp)(-s / a2);
        rho[0] = -a2 * DOPT_M(expm1)(-s / a2); rho[1] = e; rho[2] = -e / a2;
        break;
    case DOPT_LOSS_TUKEY:
        if (s <= a2) {
            t = 1 - s / a2;
            rho[0] = a2 / 3 * (1 - t * t * t); rho[1] = t * t; rho[2] = -2 * t / a2;
        } else {
            rho[0] = a2 / 3; rho[1] = 0; rho[2] = 0;
        }
        break;
    case DOPT_LOSS_GEMAN_MCCLURE:
        t = a2 + s;
        rho[0] = a2 * s / t; rho[1] = a2 * a2 / (t * t); rho[2] = -2 * a2 * a2 / (t * t * t);
        break;
    case DOPT_LOSS_SOFT_L1:
        t = DOPT_M(sqrt)(1 + s / a2);
        rho[0] = 2 * s / (t + 1); rho[1] = 1 / t; /* = 2 a^2 (t - 1) without the cancellation */ rho[2] = -1 / (2 * a2 * t * t * t);
        break;
    default:
        rho[0] = s; rho[1] = 1; rho[2] = 0;
        break;
    }
}

/* ---- dense linear solver --------------------------------------------------------------------- */

typedef struct DOPT_FN(dopt__dense_ls) {
    dopt_hooks hooks;
    const dopt_block_pattern *pat;
    int n;
    DOPT_REAL *L;   /* the current slot: n x n factor, then the n original diagonal entries */
    DOPT_REAL *base;/* nslots such slots (base, bytes: the allocation)                       */
    int nslots;
    size_t bytes;
} DOPT_FN(dopt__dense_ls);

static dopt_status DOPT_FN(dopt__dense_analyze)(void *self, const dopt_block_pattern *pat,
                                                dopt_errinfo *info)
{
    DOPT_FN(dopt__dense_ls) *d = (DOPT_FN(dopt__dense_ls) *)self;
    size_t n = (size_t)pat->n;
    dopt_free(&d->hooks, d->base, d->bytes);
    d->pat = pat;
    d->n = pat->n;
    d->nslots = 1;
    d->bytes = (n * n + n) * sizeof(DOPT_REAL);
    d->base = d->L = (DOPT_REAL *)dopt_alloc(&d->hooks, d->bytes);
    if (!d->L) {
        d->bytes = 0;
        return dopt_errinfo_set(info, DOPT_ERR_ALLOCATION, -1, 0, "dense linear solver: n x n matrix");
    }
    return DOPT_OK;
}

static dopt_status DOPT_FN(dopt__dense_reserve)(void *self, int count)
{
    DOPT_FN(dopt__dense_ls) *d = (DOPT_FN(dopt__dense_ls) *)self;
    size_t n = (size_t)d->n, bytes = (size_t)count * (n * n + n) * sizeof(DOPT_REAL);
    DOPT_REAL *q;
    if (count < 1 || !d->pat) return DOPT_ERR_INVALID_ARGUMENT;
    q = (DOPT_REAL *)dopt_alloc(&d->hooks, bytes);
    if (!q) return DOPT_ERR_ALLOCATION;
    dopt_free(&d->hooks, d->base, d->bytes);
    d->base = d->L = q;
    d->bytes = bytes;
    d->nslots = count;
    return DOPT_OK;
}

static void DOPT_FN(dopt__dense_select)(void *self, int slot)
{
    DOPT_FN(dopt__dense_ls) *d = (DOPT_FN(dopt__dense_ls) *)self;
    size_t n = (size_t)d->n;
    DOPT_ASSERT(slot >= 0 && slot < d->nslots);
    d->L = d->base + (size_t)slot * (n * n + n);
}

static dopt_status DOPT_FN(dopt__dense_factor)(void *self, const DOPT_REAL *values,
                                               const DOPT_REAL *diag_add, int *fail_col)
{
    DOPT_FN(dopt__dense_ls) *d = (DOPT_FN(dopt__dense_ls) *)self;
    const dopt_block_pattern *pat = d->pat;
    int n = d->n, j, bc, k, ii, jj, col;
    DOPT_REAL *L = d->L, *d0 = d->L + (size_t)n * n, tol;
    dopt_status st;
    for (j = 0; j < n; ++j) memset(L + (size_t)j * n + j, 0, (size_t)(n - j) * sizeof(DOPT_REAL));
    for (bc = 0; bc < pat->nblocks; ++bc) {
        int cs = pat->block_start[bc], cd = pat->block_dim[bc];
        for (k = pat->col_start[bc]; k < pat->col_start[bc + 1]; ++k) {
            int br = pat->row_block[k], rs = pat->block_start[br], rd = pat->block_dim[br];
            const DOPT_REAL *v = values + pat->value_start[k];
            for (jj = 0; jj < cd; ++jj)
                for (ii = 0; ii < rd; ++ii) L[(size_t)(rs + ii) + (size_t)(cs + jj) * n] = v[ii + jj * rd];
        }
    }
    for (j = 0; j < n; ++j) {
        if (diag_add) L[(size_t)j * n + j] += diag_add[j];
        d0[j] = L[(size_t)j * n + j];
    }
    /* dopt_potrf factors small orders (<= 48) with plain right-looking loops, no blocking */
    st = DOPT_FN(dopt_potrf)(n, L, n > 0 ? n : 1, &col);
    if (st != DOPT_OK) {
        if (fail_col) *fail_col = col;
        return st;
    }
    tol = DOPT__RANK_TOL(n);
    for (j = 0; j < n; ++j) {
        DOPT_REAL p = L[(size_t)j * n + j];
        if (p * p <= tol * d0[j]) {
            if (fail_col) *fail_col = j;
            return DOPT_ERR_NOT_POSITIVE_DEFINITE;
        }
    }
    return DOPT_OK;
}

static dopt_status DOPT_FN(dopt__dense_solve)(void *self, DOPT_REAL *rhs)
{
    DOPT_FN(dopt__dense_ls) *d = (DOPT_FN(dopt__dense_ls) *)self;
    if (d->n > 0) DOPT_FN(dopt_potrs)(d->n, 1, d->L, d->n, rhs, d->n);
    return DOPT_OK;
}

static void DOPT_FN(dopt__dense_destroy)(void *self)
{
    DOPT_FN(dopt__dense_ls) *d = (DOPT_FN(dopt__dense_ls) *)self;
    dopt_hooks h;
    if (!d) return;
    h = d->hooks;
    dopt_free(&h, d->base, d->bytes);
    dopt_free(&h, d, sizeof *d);
}

DOPT_API dopt_status DOPT_FN(dopt_linear_solver_dense)(const dopt_hooks *hooks,
                                                       DOPT_FN(dopt_linear_solver) *out)
{
    DOPT_FN(dopt__dense_ls) *d;
    if (!out) return DOPT_ERR_INVALID_ARGUMENT;
    memset(out, 0, sizeof *out);
    d = (DOPT_FN(dopt__dense_ls) *)dopt_alloc(hooks, sizeof *d);
    if (!d) return DOPT_ERR_ALLOCATION;
    memset(d, 0, sizeof *d);
    if (hooks) d->hooks = *hooks;
    out->self = d;
    out->analyze = DOPT_FN(dopt__dense_analyze);
    out->factor = DOPT_FN(dopt__dense_factor);
    out->solve = DOPT_FN(dopt__dense_solve);
    out->destroy = DOPT_FN(dopt__dense_destroy);
    out->reserve = DOPT_FN(dopt__dense_reserve);
    out->select = DOPT_FN(dopt__dense_select);
    return DOPT_OK;
}

/* ---- problem --------------------------------------------------------------------------------- */

typedef struct DOPT_FN(dopt__nlls_var) {
    DOPT_FN(dopt_manifold) m;
    int constant;
    int offset;
    const DOPT_REAL *lo, *hi;  /* bounds (dopt_nlls_set_bounds), NULL: none; element b at + b bstride */
    ptrdiff_t bstride;
} DOPT_FN(dopt__nlls_var);

typedef struct DOPT_FN(dopt__nlls_cost) {
    DOPT_FN(dopt_nlls_cost_desc) d;        /* d.vars points at `vars` below */
    int vars[DOPT_NLLS_MAX_COST_VARS];
    int off;                               /* disabled: d's weight is the problem's zero, the
                                              user's is kept in wkind, w, wstride            */
    dopt_weight_kind wkind;
    const DOPT_REAL *w;
    ptrdiff_t wstride;
} DOPT_FN(dopt__nlls_cost);

struct DOPT_FN(dopt_nlls_problem) {
    dopt_hooks hooks;
    int batch;
    int nvar, cap_var, xdim;
    DOPT_FN(dopt__nlls_var) *var;
    int ncost, cap_cost;
    DOPT_FN(dopt__nlls_cost) *cost;
    int ncon, cap_con, mcon, nbounded; /* equality constraints (their rows), bounded variables */
    DOPT_REAL zero;                    /* the weight of disabled costs                          */
    DOPT_FN(dopt__nlls_cost) *con;
};

DOPT_API dopt_status DOPT_FN(dopt_nlls_problem_create)(const dopt_hooks *hooks, int batch,
                                                       DOPT_FN(dopt_nlls_problem) **out)
{
    DOPT_FN(dopt_nlls_problem) *p;
    if (!out) return DOPT_ERR_INVALID_ARGUMENT;
    *out = NULL;
    if (batch < 1) return DOPT_ERR_INVALID_ARGUMENT;
    p = (DOPT_FN(dopt_nlls_problem) *)dopt_alloc(hooks, sizeof *p);
    if (!p) return DOPT_ERR_ALLOCATION;
    memset(p, 0, sizeof *p);
    if (hooks) p->hooks = *hooks;
    p->batch = batch;
    *out = p;
    return DOPT_OK;
}

DOPT_API void DOPT_FN(dopt_nlls_problem_destroy)(DOPT_FN(dopt_nlls_problem) *p)
{
    dopt_hooks h;
    if (!p) return;
    h = p->hooks;
    dopt_free(&h, p->var, (size_t)p->cap_var * sizeof *p->var);
    dopt_free(&h, p->cost, (size_t)p->cap_cost * sizeof *p->cost);
    dopt_free(&h, p->con, (size_t)p->cap_con * sizeof *p->con);
    dopt_free(&h, p, sizeof *p);
}

DOPT_API dopt_status DOPT_FN(dopt_nlls_add_variable)(DOPT_FN(dopt_nlls_problem) *p,
                                                     const DOPT_FN(dopt_manifold) *m, int *index)
{
    if (!p || !m || m->dim < 1 || m->tangent_dim < 1 || !m->retract) return DOPT_ERR_INVALID_ARGUMENT;
    if (p->nvar == p->cap_var) {
        int cap = p->cap_var ? 2 * p->cap_var : 16;
        void *q = dopt_realloc(&p->hooks, p->var, (size_t)p->cap_var * sizeof *p->var,
                               (size_t)cap * sizeof *p->var);
        if (!q) return DOPT_ERR_ALLOCATION;
        p->var = (DOPT_FN(dopt__nlls_var) *)q;
        p->cap_var = cap;
    }
    p->var[p->nvar].m = *m;
    p->var[p->nvar].constant = 0;
    p->var[p->nvar].offset = p->xdim;
    p->var[p->nvar].lo = p->var[p->nvar].hi = NULL;
    p->var[p->nvar].bstride = 0;
    p->xdim += m->dim;
    if (index) *index = p->nvar;
    p->nvar++;
    return DOPT_OK;
}

DOPT_API dopt_status DOPT_FN(dopt_nlls_set_constant)(DOPT_FN(dopt_nlls_problem) *p, int v, int constant)
{
    if (!p || v < 0 || v >= p->nvar) return DOPT_ERR_INVALID_ARGUMENT;
    p->var[v].constant = constant != 0;
    return DOPT_OK;
}

/* append a validated copy of desc to the array (*arr, *n, *cap): costs and constraints */
static dopt_status DOPT_FN(dopt__nlls_append)(DOPT_FN(dopt_nlls_problem) *p, DOPT_FN(dopt__nlls_cost) **arr,
                                              int *n, int *cap, const DOPT_FN(dopt_nlls_cost_desc) *desc,
                                              int *index)
{
    DOPT_FN(dopt__nlls_cost) *c;
    int k, l;
    if (!p || !desc || !desc->fn || desc->rdim < 1 || desc->nvars < 1 ||
        desc->nvars > DOPT_NLLS_MAX_COST_VARS || !desc->vars)
        return DOPT_ERR_INVALID_ARGUMENT;
    if (desc->weight_kind != DOPT_WEIGHT_NONE && !desc->weight) return DOPT_ERR_INVALID_ARGUMENT;
    if ((unsigned)desc->weight_kind > (unsigned)DOPT_WEIGHT_SQRT_INFO || (unsigned)desc->loss > (unsigned)DOPT_LOSS_SOFT_L1)
        return DOPT_ERR_INVALID_ARGUMENT;
    for (k = 0; k < desc->nvars; ++k) {
        if (desc->vars[k] < 0 || desc->vars[k] >= p->nvar) return DOPT_ERR_INVALID_ARGUMENT;
        for (l = 0; l < k; ++l)
            if (desc->vars[l] == desc->vars[k]) return DOPT_ERR_INVALID_ARGUMENT;
    }
    if (*n == *cap) {
        int nc = *cap ? 2 * *cap : 16;
        void *q = dopt_realloc(&p->hooks, *arr, (size_t)*cap * sizeof **arr, (size_t)nc * sizeof **arr);
        if (!q) return DOPT_ERR_ALLOCATION;
        *arr = (DOPT_FN(dopt__nlls_cost) *)q;
        *cap = nc;
    }
    c = *arr + *n;
    c->d = *desc;
    for (k = 0; k < desc->nvars; ++k) c->vars[k] = desc->vars[k];
    c->d.vars = NULL; /* re-pointed at use: the cost array may move when it grows */
    c->off = 0;
    if (index) *index = *n;
    (*n)++;
    return DOPT_OK;
}

DOPT_API dopt_status DOPT_FN(dopt_nlls_add_cost)(DOPT_FN(dopt_nlls_problem) *p,
                                                 const DOPT_FN(dopt_nlls_cost_desc) *desc, int *index)
{
    if (!p) return DOPT_ERR_INVALID_ARGUMENT;
    return DOPT_FN(dopt__nlls_append)(p, &p->cost, &p->ncost, &p->cap_cost, desc, index);
}

DOPT_API dopt_status DOPT_FN(dopt_nlls_add_constraint)(DOPT_FN(dopt_nlls_problem) *p,
                                                       const DOPT_FN(dopt_nlls_cost_desc) *desc, int *index)
{
    dopt_status st;
    if (!p || !desc || desc->weight_kind != DOPT_WEIGHT_NONE || desc->loss != DOPT_LOSS_NONE)
        return DOPT_ERR_INVALID_ARGUMENT;
    st = DOPT_FN(dopt__nlls_append)(p, &p->con, &p->ncon, &p->cap_con, desc, index);
    if (st == DOPT_OK) p->mcon += desc->rdim;
    return st;
}

DOPT_API int DOPT_FN(dopt_nlls_num_constraint_rows)(const DOPT_FN(dopt_nlls_problem) *p) { return p ? p->mcon : 0; }

DOPT_API dopt_status DOPT_FN(dopt_nlls_set_cost_data)(DOPT_FN(dopt_nlls_problem) *p, int c, const void *data,
                                                      size_t data_stride)
{
    if (!p || c < 0 || c >= p->ncost) return DOPT_ERR_INVALID_ARGUMENT;
    p->cost[c].d.data = data;
    p->cost[c].d.data_stride = data_stride;
    return DOPT_OK;
}

DOPT_API dopt_status DOPT_FN(dopt_nlls_set_cost_weight)(DOPT_FN(dopt_nlls_problem) *p, int c,
                                                        dopt_weight_kind kind, const DOPT_REAL *weight,
                                                        ptrdiff_t weight_stride)
{
    DOPT_FN(dopt__nlls_cost) *cs;
    if (!p || c < 0 || c >= p->ncost || (unsigned)kind > (unsigned)DOPT_WEIGHT_SQRT_INFO ||
        (kind != DOPT_WEIGHT_NONE && !weight))
        return DOPT_ERR_INVALID_ARGUMENT;
    cs = p->cost + c;
    if (cs->off) { cs->wkind = kind; cs->w = weight; cs->wstride = weight_stride; return DOPT_OK; }
    cs->d.weight_kind = kind;
    cs->d.weight = weight;
    cs->d.weight_stride = weight_stride;
    return DOPT_OK;
}

DOPT_API dopt_status DOPT_FN(dopt_nlls_set_cost_enabled)(DOPT_FN(dopt_nlls_problem) *p, int c, int enabled)
{
    DOPT_FN(dopt__nlls_cost) *cs;
    if (!p || c < 0 || c >= p->ncost) return DOPT_ERR_INVALID_ARGUMENT;
    cs = p->cost + c;
    if ((enabled == 0) == (cs->off != 0)) return DOPT_OK;
    if (!enabled) { /* keep the user's weight; weigh by the problem's zero */
        cs->wkind = cs->d.weight_kind; cs->w = cs->d.weight; cs->wstride = cs->d.weight_stride;
        p->zero = 0;
        cs->d.weight_kind = DOPT_WEIGHT_SCALAR; cs->d.weight = &p->zero; cs->d.weight_stride = 0;
    } else {
        cs->d.weight_kind = cs->wkind; cs->d.weight = cs->w; cs->d.weight_stride = cs->wstride;
    }
    cs->off = !enabled;
    return DOPT_OK;
}

DOPT_API dopt_status DOPT_FN(dopt_nlls_set_bounds)(DOPT_FN(dopt_nlls_problem) *p, int v,
                                                   const DOPT_REAL *lower, const DOPT_REAL *upper,
                                                   ptrdiff_t stride)
{
    DOPT_FN(dopt__nlls_var) *vv;
    if (!p || v < 0 || v >= p->nvar) return DOPT_ERR_INVALID_ARGUMENT;
    vv = p->var + v;
    if (vv->m.retract != DOPT_FN(dopt__euclid_retract) || vv->m.dim != vv->m.tangent_dim)
        return DOPT_ERR_INVALID_ARGUMENT;
    if (vv->lo || vv->hi) p->nbounded--;
    vv->lo = lower;
    vv->hi = upper;
    vv->bstride = stride;
    if (lower || upper) p->nbounded++;
    return DOPT_OK;
}

DOPT_API int DOPT_FN(dopt_nlls_state_size)(const DOPT_FN(dopt_nlls_problem) *p) { return p->xdim; }
DOPT_API int DOPT_FN(dopt_nlls_variable_offset)(const DOPT_FN(dopt_nlls_problem) *p, int v)
{
    return (v >= 0 && v < p->nvar) ? p->var[v].offset : -1;
}
DOPT_API int DOPT_FN(dopt_nlls_num_variables)(const DOPT_FN(dopt_nlls_problem) *p) { return p->nvar; }
DOPT_API int DOPT_FN(dopt_nlls_num_costs)(const DOPT_FN(dopt_nlls_problem) *p) { return p->ncost; }
DOPT_API int DOPT_FN(dopt_nlls_batch)(const DOPT_FN(dopt_nlls_problem) *p) { return p->batch; }

/* ---- Jacobian help --------------------------------------------------------------------------- */

DOPT_API dopt_status DOPT_FN(dopt_nlls_numeric_jacobian)(DOPT_FN(dopt_cost_fn) fn, const void *data,
                                                    int rdim, int nvars,
                                                    const DOPT_FN(dopt_manifold) *const *manifolds,
                                                    const DOPT_REAL **vars, int k, DOPT_REAL step,
                                                    DOPT_REAL *J, DOPT_REAL *scratch)
{
    const DOPT_FN(dopt_manifold) *m;
    const DOPT_REAL *x0;
    DOPT_REAL *rp, *rm, *xp, *dl;
    int t, i, j, euclid;
    dopt_status st = DOPT_OK;
    if (!fn || !manifolds || !vars || !J || !scratch || k < 0 || k >= nvars || rdim < 1)
        return DOPT_ERR_INVALID_ARGUMENT;
    m = manifolds[k];
    x0 = vars[k];
    t = m->tangent_dim;
    rp = scratch;
    rm = rp + rdim;
    xp = rm + rdim;
    dl = xp + m->dim;
    euclid = m->name && strcmp(m->name, "euclidean") == 0;
    if (!(step > 0)) step = DOPT_M(cbrt)(DOPT_EPS);
    for (j = 0; j < t; ++j) dl[j] = 0;
    for (j = 0; j < t; ++j) {
        DOPT_REAL h = step;
        if (euclid && DOPT_M(fabs)(x0[j]) > 1) h *= DOPT_M(fabs)(x0[j]);
        dl[j] = h;
        m->retract(m, x0, dl, xp);
        vars[k] = xp;
        st = fn(data, vars, rp, NULL);
        if (st == DOPT_OK) {
            dl[j] = -h;
            m->retract(m, x0, dl, xp);
            st = fn(data, vars, rm, NULL);
        }
        dl[j] = 0;
        vars[k] = x0;
        if (st != DOPT_OK) return st;
        for (i = 0; i < rdim; ++i) J[i * t + j] = (rp[i] - rm[i]) / (2 * h);
    }
    return DOPT_OK;
}

DOPT_API dopt_status DOPT_FN(dopt_nlls_check_jacobian)(DOPT_FN(dopt_cost_fn) fn, const void *data,
                                                  int rdim, int nvars,
                                                  const DOPT_FN(dopt_manifold) *const *manifolds,
                                                  const DOPT_REAL *const *vars, DOPT_REAL step,
                                                  const dopt_hooks *hooks, dopt_jacobian_check *out)
{
    const DOPT_REAL *vp[DOPT_NLLS_MAX_COST_VARS];
    DOPT_REAL *jp[DOPT_NLLS_MAX_COST_VARS];
    size_t total = 0, tmax = 0, dmax = 0, bytes, off = 0;
    DOPT_REAL *mem, *r, *Ja, *Jn, *scr;
    dopt_status st;
    int k, i, j;
    if (!fn || !manifolds || !vars || !out || rdim < 1 || nvars < 1 || nvars > DOPT_NLLS_MAX_COST_VARS)
        return DOPT_ERR_INVALID_ARGUMENT;
    out->max_error = 0;
    out->analytic = out->numeric = 0;
    out->var = out->row = out->col = -1;
    for (k = 0; k < nvars; ++k) {
        size_t t = (size_t)manifolds[k]->tangent_dim, d = (size_t)manifolds[k]->dim;
        total += t;
        if (t > tmax) tmax = t;
        if (d > dmax) dmax = d;
        vp[k] = vars[k];
    }
    bytes = ((size_t)rdim * (total + tmax + 3) + dmax + tmax) * sizeof(DOPT_REAL);
    mem = (DOPT_REAL *)dopt_alloc(hooks, bytes);
    if (!mem) return DOPT_ERR_ALLOCATION;
    r = mem;
    Ja = r + rdim;
    Jn = Ja + (size_t)rdim * total;
    scr = Jn + (size_t)rdim * tmax;
    for (k = 0; k < nvars; ++k) {
        jp[k] = Ja + off;
        off += (size_t)rdim * (size_t)manifolds[k]->tangent_dim;
    }
    st = fn(data, vp, r, jp);
    for (k = 0; st == DOPT_OK && k < nvars; ++k) {
        int t = manifolds[k]->tangent_dim;
        st = DOPT_FN(dopt_nlls_numeric_jacobian)(fn, data, rdim, nvars, manifolds, vp, k, step, Jn, scr);
        if (st != DOPT_OK) break;
        for (i = 0; i < rdim; ++i)
            for (j = 0; j < t; ++j) {
                double a = (double)jp[k][i * t + j], nu = (double)Jn[i * t + j];
                double sc = fabs(a) > fabs(nu) ? fabs(a) : fabs(nu), err;
                if (sc < 1) sc = 1;
                err = fabs(a - nu) / sc;
                if (out->max_error == out->max_error && !(err <= out->max_error)) { /* NaN: worst */
                    out->max_error = err;
                    out->analytic = a;
                    out->numeric = nu;
                    out->var = k;
                    out->row = i;
                    out->col = j;
                }
            }
    }
    dopt_free(hooks, mem, bytes);
    return st;
}

/* ---- solver ---------------------------------------------------------------------------------- */

#define DOPT__NLLS_NONE ((size_t)-1)
#define DOPT__NLLS_MAXMEM 40

/* Sizes the solver's buffers need, gathered over the costs (dopt_nlls_solver_create). */
typedef struct DOPT_FN(dopt__nlls_dims) {
    size_t maxkeys, npair, maxJ, nval;
    int maxr, maxdim, maxt, nnzb;
} DOPT_FN(dopt__nlls_dims);

/* what a phase of one element's iteration (dopt__nlls_begin ... dopt__nlls_finish) asks for next */
#define DOPT__NLLS_GO 0     /* go on: the next phase (or, after finish, the next iteration)   */
#define DOPT__NLLS_AGAIN 1  /* the step was rejected before a trial point: the next iteration */
#define DOPT__NLLS_STOP 2   /* the element is done (report filled, or `failed` set)           */
#define DOPT__NLLS_FAIL_FACTOR 1
#define DOPT__NLLS_FAIL_EVAL 2

/* One batch element's iteration state: what dopt__nlls_solve_one keeps from one iteration to the
 * next, so that the lockstep driver (dopt__nlls_lockstep) can hold a group of elements at once.
 * The phases read and write the solver's buffers s->H, s->g, s->H2, s->g2, s->d, s->dscale,
 * s->dadd; in lockstep those are pointed at the element's own lane buffers (the fields below)
 * around every phase (dopt__nlls_bind / dopt__nlls_unbind). */
typedef struct DOPT_FN(dopt__nlls_elem) {
    DOPT_REAL *x;            /* the element's state vector (overwritten)                         */
    dopt_nlls_report *rep;
    int b, it, have_gn, fail_col, lin_t, last_acc, logging, timed;
    int failed;              /* 0, DOPT__NLLS_FAIL_FACTOR or DOPT__NLLS_FAIL_EVAL (status in st) */
    int phase;               /* lockstep: the last phase's answer (DOPT__NLLS_GO ...)            */
    long bad;                /* the failing cost of an evaluation error, or -1                   */
    dopt_status st;
    DOPT_REAL F, lambda, nu, radius, gHg, gmax, xnorm, pred;
    double t_start, t_iter;
    DOPT_REAL *H, *g, *H2, *g2, *d, *dscale, *dadd; /* lockstep: this lane's buffers         */
    dopt_nlls_report rep_own;/* lockstep: the report until it is copied out                     */
} DOPT_FN(dopt__nlls_elem);

struct DOPT_FN(dopt_nlls_solver) {
    DOPT_FN(dopt_nlls_problem) *p;
    DOPT_FN(dopt_linear_solver) ls;
    dopt_block_pattern pat;
    int n, nblocks, maxr;    /* maxr: largest residual dimension                                  */
    int *var_block;          /* per variable: its block, or -1 (constant or untouched)            */
    int *block_var;          /* per block: its variable                                            */
    int *block_dim, *block_start, *col_start, *row_block;
    size_t *value_start;
    size_t *pair;            /* per cost, nvars x nvars value offsets of H blocks (or NONE)       */
    size_t *cost_pair;       /* per cost: where its table starts in `pair`                        */
    unsigned char *pfirst;   /* parallel to `pair`: 1 where this cost is the first (in cost order)
                                to reach that block of H (it then overwrites the block instead of
                                adding to it, and so for its g block: no clearing pass over H)   */
    DOPT_REAL *H, *g, *d, *dscale, *dadd, *gn, *hv, *xt;
    DOPT_REAL *H2, *g2;      /* LM: the trial point's H and g (linearized with its cost; swapped in
                                on acceptance, which saves the re-evaluation there)            */
    DOPT_REAL *r, *J, *Jt, *scr;
    /* The iteration buffers above lie in one area (dopt__nlls_carve): the solver's own (buf,
       buf_bytes), or, in a ragged batch, an area its solvers share (buf NULL), used one solver
       at a time, as is the linear solver's factor memory (share_work); then *owner names the
       solver whose factor that memory holds (dopt__nlls_factor sets it, dopt__nlls_reuse
       checks it).  dm: the sizes (dopt__nlls_buf_bytes). */
    DOPT_FN(dopt__nlls_dims) dm;
    void *buf;
    size_t buf_bytes;
    const void **owner;
    /* Factor slots (dopt__nlls_factor, dopt__nlls_reuse): with nslots = batch + 1
       (dopt_nlls_solver_keep_factors) element b's undamped factorizations go to slot b and every
       damped one to the shared slot `batch` (only undamped factors are ever reused, and LM's
       many damped ones keep one hot buffer); with nslots = 1 all go to slot 0.  slot_H[k] is the
       matrix slot k's factor was made from, slot_ok[k] = 1 while that factor is the successful,
       UNDAMPED factor of slot_H[k]; every factorization of the layer updates them first. */
    int nslots;
    DOPT_REAL *slot_H;       /* nslots x pat.nvalues                                             */
    unsigned char *slot_ok;  /* nslots                                                           */
    DOPT_REAL *slot_H1;      /* the one-slot records (made with the solver)                     */
    unsigned char *slot_ok1;
    void *keep_mem;          /* the batch-slot records of keep_factors (keep_bytes), or NULL    */
    size_t keep_bytes;
    /* The lane batch (lockstep LM, dopt__nlls_lockstep): lanes (>= 2) elements at once when the
       linear solver's factor_batch is usable, else 0.  Per lane an element state whose H, g,
       H2, g2, d, dscale, dadd point into lane_real; the pointer and status arrays hand a group
       to factor_batch / solve_batch.  None of it touches the factor slots above. */
    int lanes;
    int vec6; /* the normal equations' 6-wide products in vector registers (DOPT__NLLS_VEC6) */
    DOPT_FN(dopt__nlls_elem) *lane;
    DOPT_REAL *lane_real;
    const DOPT_REAL **lane_values, **lane_dadd;
    DOPT_REAL **lane_rhs;
    dopt_status *lane_status;
    int *lane_fail, *lane_index;
    struct DOPT_FN(dopt__nlls_con) *con; /* bounds / equality constraints, or NULL (dopt__nlls_con_make) */
    void *mem[DOPT__NLLS_MAXMEM];
    size_t memsz[DOPT__NLLS_MAXMEM];
    int nmem;
};

static void *DOPT_FN(dopt__nlls_take)(DOPT_FN(dopt_nlls_solver) *s, size_t bytes)
{
    void *q;
    if (s->nmem == DOPT__NLLS_MAXMEM) return NULL;
    q = dopt_alloc(&s->p->hooks, bytes);
    if (!q) return NULL;
    memset(q, 0, bytes);
    s->mem[s->nmem] = q;
    s->memsz[s->nmem] = bytes;
    s->nmem++;
    return q;
}

/* DOPT__NLLS_VEC6: the 6-wide products of the normal equations (dopt__nlls_ata6_vec,
 * dopt__nlls_atr6_vec) use GCC/Clang vector extensions, a row or column of 6 reals being one
 * 4-wide and one 2-wide register (GCC leaves the plain loops of these products scalar): with AVX
 * at compile time, and in a runtime-dispatched build (dopt.h's kernel family gate) as a copy
 * compiled for AVX2 + FMA (DOPT__NLLS_VTARGET) that a solver takes where the CPU has them (its
 * vec6 field, chosen once at creation). */
#if (defined(__GNUC__) || defined(__clang__)) && (defined(__AVX__) || DOPT__DISPATCH)
#define DOPT__NLLS_VEC6 1
typedef DOPT_REAL DOPT_FN(dopt__nlls_v4) __attribute__((vector_size(4 * sizeof(DOPT_REAL))));
typedef DOPT_REAL DOPT_FN(dopt__nlls_v2) __attribute__((vector_size(2 * sizeof(DOPT_REAL))));
#else
#define DOPT__NLLS_VEC6 0
#endif
#if DOPT__NLLS_VEC6 && !defined(__AVX__)
#define DOPT__NLLS_VTARGET __attribute__((target("avx2,fma")))
#else
#define DOPT__NLLS_VTARGET
#endif
/* A solver's vec6: 1 where the 6-wide vector products run (see DOPT__NLLS_VEC6). */
static int DOPT_FN(dopt__nlls_vec6)(void)
{
#if DOPT__NLLS_VEC6 && !defined(__AVX__)
    return dopt__kernel_choice() > 0; /* the dispatched build: AVX2 + FMA or AVX-512 */
#else
    return DOPT__NLLS_VEC6;
#endif
}

/* The lane batch for lockstep LM (see the solver's `lanes`): when the batch has two or more
 * elements and the linear solver offers factor_batch, take min(batch_width, batch) lanes of
 * element buffers (H, H2: nvalues reals each; g, g2, d, dscale, dadd: n each) and reserve the
 * linear solver's batch storage.  Any failure leaves lanes = 0: the solver stays sequential. */
static void DOPT_FN(dopt__nlls_make_lanes)(DOPT_FN(dopt_nlls_solver) *s)
{
    const DOPT_FN(dopt_linear_solver) *ls = &s->ls;
    int W = ls->batch_width < s->p->batch ? ls->batch_width : s->p->batch, l;
    size_t R = sizeof(DOPT_REAL), hs, ns, per, eb, rb, pb, sb, ib;
    unsigned char *m;
    if (W < 2 || !ls->reserve_batch || !ls->factor_batch || !ls->solve_batch) return;
    hs = DOPT_WORKSPACE_ROUND((s->pat.nvalues + 1) * R) / R;
    ns = DOPT_WORKSPACE_ROUND(((size_t)s->n + 1) * R) / R;
    per = 2 * hs + 5 * ns;
    eb = DOPT_WORKSPACE_ROUND((size_t)W * sizeof(DOPT_FN(dopt__nlls_elem)));
    rb = DOPT_WORKSPACE_ROUND((size_t)W * per * R);
    pb = DOPT_WORKSPACE_ROUND((size_t)W * sizeof(DOPT_REAL *));
    sb = DOPT_WORKSPACE_ROUND((size_t)W * sizeof(dopt_status));
    ib = DOPT_WORKSPACE_ROUND((size_t)W * sizeof(int));
    m = (unsigned char *)DOPT_FN(dopt__nlls_take)(s, eb + rb + 3 * pb + sb + 2 * ib);
    if (!m) return;
    if (ls->reserve_batch(ls->self) != DOPT_OK) { /* give the memory back: stay sequential */
        s->nmem--;
        dopt_free(&s->p->hooks, s->mem[s->nmem], s->memsz[s->nmem]);
        return;
    }
    s->lane = (DOPT_FN(dopt__nlls_elem) *)m; m += eb;
    s->lane_real = (DOPT_REAL *)m; m += rb;
    s->lane_values = (const DOPT_REAL **)m; m += pb;
    s->lane_dadd = (const DOPT_REAL **)m; m += pb;
    s->lane_rhs = (DOPT_REAL **)m; m += pb;
    s->lane_status = (dopt_status *)m; m += sb;
    s->lane_fail = (int *)m; m += ib;
    s->lane_index = (int *)m;
    for (l = 0; l < W; ++l) {
        DOPT_FN(dopt__nlls_elem) *e = s->lane + l;
        DOPT_REAL *q = s->lane_real + (size_t)l * per;
        e->H = q; e->H2 = q + hs;
        q += 2 * hs;
        e->g = q; e->g2 = q + ns; e->d = q + 2 * ns; e->dscale = q + 3 * ns; e->dadd = q + 4 * ns;
    }
    s->lanes = W;
}

DOPT_API void DOPT_FN(dopt_nlls_solver_destroy)(DOPT_FN(dopt_nlls_solver) *s)
{
    int i;
    dopt_hooks h;
    if (!s) return;
    h = s->p->hooks;
    if (s->ls.destroy) s->ls.destroy(s->ls.self);
    dopt_free(&h, s->keep_mem, s->keep_bytes);
    dopt_free(&h, s->buf, s->buf_bytes);
    dopt_free(&h, s->slot_H1, (s->dm.nval + 1) * sizeof(DOPT_REAL));
    for (i = 0; i < s->nmem; ++i) dopt_free(&h, s->mem[i], s->memsz[i]);
    dopt_free(&h, s, sizeof *s);
}

DOPT_API const dopt_block_pattern *DOPT_FN(dopt_nlls_solver_pattern)(const DOPT_FN(dopt_nlls_solver) *s)
{
    return &s->pat;
}

/* index of block (row, col), row >= col, in the pattern, or -1 */
static int DOPT_FN(dopt__nlls_find_block)(const DOPT_FN(dopt_nlls_solver) *s, int row, int col)
{
    int lo = s->col_start[col], hi = s->col_start[col + 1] - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (s->row_block[mid] == row) return mid;
        if (s->row_block[mid] < row) lo = mid + 1; else hi = mid - 1;
    }
    return -1;
}

/* Solver phase 1: the blocks, i.e. the free variables some cost touches, in index order
 * (var_block, block_var, block_dim, block_start, n), and the sizes of the cost loops. */
static int DOPT_FN(dopt__nlls_make_blocks)(DOPT_FN(dopt_nlls_solver) *s, DOPT_FN(dopt__nlls_dims) *dm)
{
    const DOPT_FN(dopt_nlls_problem) *p = s->p;
    int v, c, k, nb = 0;
    s->var_block = (int *)DOPT_FN(dopt__nlls_take)(s, ((size_t)p->nvar + 1) * sizeof(int));
    if (!s->var_block) return 0;
    for (v = 0; v < p->nvar; ++v) s->var_block[v] = -1;
    for (c = 0; c < p->ncost; ++c) {
        const DOPT_FN(dopt__nlls_cost) *cs = p->cost + c;
        size_t T = 0;
        for (k = 0; k < cs->d.nvars; ++k) {
            const DOPT_FN(dopt_manifold) *m = &p->var[cs->vars[k]].m;
            if (!p->var[cs->vars[k]].constant) s->var_block[cs->vars[k]] = -2;
            T += (size_t)m->tangent_dim;
            if (m->dim > dm->maxdim) dm->maxdim = m->dim;
            if (m->tangent_dim > dm->maxt) dm->maxt = m->tangent_dim;
        }
        if (cs->d.rdim > dm->maxr) dm->maxr = cs->d.rdim;
        if ((size_t)cs->d.rdim * T > dm->maxJ) dm->maxJ = (size_t)cs->d.rdim * T;
        dm->maxkeys += (size_t)cs->d.nvars * (size_t)(cs->d.nvars + 1) / 2;
        dm->npair += (size_t)cs->d.nvars * (size_t)cs->d.nvars;
    }
    for (v = 0; v < p->nvar; ++v)
        if (s->var_block[v] == -2) s->var_block[v] = nb++;
    s->nblocks = nb;
    s->block_var = (int *)DOPT_FN(dopt__nlls_take)(s, ((size_t)nb + 1) * sizeof(int));
    s->block_dim = (int *)DOPT_FN(dopt__nlls_take)(s, ((size_t)nb + 1) * sizeof(int));
    s->block_start = (int *)DOPT_FN(dopt__nlls_take)(s, ((size_t)nb + 1) * sizeof(int));
    s->col_start = (int *)DOPT_FN(dopt__nlls_take)(s, ((size_t)nb + 1) * sizeof(int));
    if (!s->block_var || !s->block_dim || !s->block_start || !s->col_start) return 0;
    for (v = 0; v < p->nvar; ++v)
        if (s->var_block[v] >= 0) {
            int j = s->var_block[v];
            s->block_var[j] = v;
            s->block_dim[j] = p->var[v].m.tangent_dim;
        }
    s->block_start[0] = 0;
    for (k = 0; k < nb; ++k) s->block_start[k + 1] = s->block_start[k] + s->block_dim[k];
    s->n = s->block_start[nb];
    return 1;
}

/* Solver phase 2: the lower block triangle of H (col_start, row_block, value_start; dm->nnzb
 * blocks, dm->nval reals): one key col * nb + row per touched pair, sorted and unique. */
static int DOPT_FN(dopt__nlls_make_pattern)(DOPT_FN(dopt_nlls_solver) *s, DOPT_FN(dopt__nlls_dims) *dm)
{
    const DOPT_FN(dopt_nlls_problem) *p = s->p;
    size_t keybytes = (dm->maxkeys + 1) * sizeof(uint64_t), nkeys = 0, nval = 0;
    uint64_t *keys = (uint64_t *)dopt_alloc(&p->hooks, keybytes);
    int c, a, bb, k, nb = s->nblocks, nnzb = 0;
    if (!keys) return 0;
    for (c = 0; c < p->ncost; ++c) {
        const DOPT_FN(dopt__nlls_cost) *cs = p->cost + c;
        for (a = 0; a < cs->d.nvars; ++a)
            for (bb = 0; bb < cs->d.nvars; ++bb) {
                int ra = s->var_block[cs->vars[a]], cb = s->var_block[cs->vars[bb]];
                if (ra < 0 || cb < 0 || ra < cb || (ra == cb && a != bb)) continue;
                keys[nkeys++] = (uint64_t)cb * (uint64_t)nb + (uint64_t)ra;
            }
    }
    qsort(keys, nkeys, sizeof *keys, dopt__nlls_cmp_u64);
    for (k = 0; (size_t)k < nkeys; ++k)
        if (k == 0 || keys[k] != keys[nnzb - 1]) keys[nnzb++] = keys[k];
    s->row_block = (int *)DOPT_FN(dopt__nlls_take)(s, ((size_t)nnzb + 1) * sizeof(int));
    s->value_start = (size_t *)DOPT_FN(dopt__nlls_take)(s, ((size_t)nnzb + 1) * sizeof(size_t));
    if (!s->row_block || !s->value_start) {
        dopt_free(&p->hooks, keys, keybytes);
        return 0;
    }
    for (k = 0; k <= nb; ++k) s->col_start[k] = 0;
    for (k = 0; k < nnzb; ++k) {
        int col = (int)(keys[k] / (uint64_t)nb), row = (int)(keys[k] % (uint64_t)nb);
        s->row_block[k] = row;
        s->col_start[col + 1]++;
        s->value_start[k] = nval;
        nval += (size_t)s->block_dim[row] * (size_t)s->block_dim[col];
    }
    for (k = 0; k < nb; ++k) s->col_start[k + 1] += s->col_start[k];
    s->value_start[nnzb] = nval;
    dopt_free(&p->hooks, keys, keybytes);
    dm->nnzb = nnzb;
    dm->nval = nval;
    return 1;
}

/* Solver phase 3: per cost, where each J_a^T J_b lands in H (cost_pair, pair) and whether the
 * cost is the first to reach that block (pfirst). */
static int DOPT_FN(dopt__nlls_make_pairs)(DOPT_FN(dopt_nlls_solver) *s, const DOPT_FN(dopt__nlls_dims) *dm)
{
    const DOPT_FN(dopt_nlls_problem) *p = s->p;
    size_t seenbytes = (size_t)dm->nnzb + 1, npair = 0;
    unsigned char *seen;
    int c, a, bb;
    s->cost_pair = (size_t *)DOPT_FN(dopt__nlls_take)(s, ((size_t)p->ncost + 1) * sizeof(size_t));
    s->pair = (size_t *)DOPT_FN(dopt__nlls_take)(s, (dm->npair + 1) * sizeof(size_t));
    s->pfirst = (unsigned char *)DOPT_FN(dopt__nlls_take)(s, dm->npair + 1);
    if (!s->cost_pair || !s->pair || !s->pfirst) return 0;
    seen = (unsigned char *)dopt_alloc(&p->hooks, seenbytes);
    if (!seen) return 0;
    memset(seen, 0, seenbytes);
    for (c = 0; c < p->ncost; ++c) {
        const DOPT_FN(dopt__nlls_cost) *cs = p->cost + c;
        s->cost_pair[c] = npair;
        for (a = 0; a < cs->d.nvars; ++a)
            for (bb = 0; bb < cs->d.nvars; ++bb) {
                int ra = s->var_block[cs->vars[a]], cb = s->var_block[cs->vars[bb]], blk;
                size_t o = DOPT__NLLS_NONE;
                if (ra >= 0 && cb >= 0 && ra >= cb && !(ra == cb && a != bb)) {
                    blk = DOPT_FN(dopt__nlls_find_block)(s, ra, cb);
                    if (blk >= 0) {
                        o = s->value_start[blk];
                        s->pfirst[npair] = !seen[blk];
                        seen[blk] = 1;
                    }
                }
                s->pair[npair++] = o;
            }
    }
    dopt_free(&p->hooks, seen, seenbytes);
    return 1;
}

/* Bytes of the iteration buffers' area (H, g and the vectors of a step; cost scratch), as
 * dopt__nlls_carve lays it out. */
static size_t DOPT_FN(dopt__nlls_buf_bytes)(const DOPT_FN(dopt_nlls_solver) *s)
{
    const DOPT_FN(dopt__nlls_dims) *dm = &s->dm;
    size_t n1 = (size_t)s->n + 1, R = sizeof(DOPT_REAL), hb = DOPT_WORKSPACE_ROUND((dm->nval + 1) * R);
    return DOPT_WORKSPACE_ALIGN + 2 * hb + 7 * DOPT_WORKSPACE_ROUND(n1 * R) +
           DOPT_WORKSPACE_ROUND(((size_t)s->p->xdim + 1) * R) + DOPT_WORKSPACE_ROUND((size_t)dm->maxr * R) +
           2 * DOPT_WORKSPACE_ROUND(dm->maxJ * R) + DOPT_WORKSPACE_ROUND((size_t)(2 * dm->maxr + dm->maxdim + dm->maxt) * R);
}

/* Point the iteration buffers into `area` (dopt__nlls_buf_bytes of it): every one is written
 * before it is read in a solve, so an area other solvers used works as well as a fresh one. */
static void DOPT_FN(dopt__nlls_carve)(DOPT_FN(dopt_nlls_solver) *s, void *area)
{
    const DOPT_FN(dopt__nlls_dims) *dm = &s->dm;
    size_t n1 = (size_t)s->n + 1, R = sizeof(DOPT_REAL), nval = dm->nval;
    dopt_workspace ws;
    dopt_workspace_init(&ws, area, DOPT_FN(dopt__nlls_buf_bytes)(s));
    s->H = (DOPT_REAL *)dopt_workspace_take(&ws, (nval + 1) * R);
    s->H2 = (DOPT_REAL *)dopt_workspace_take(&ws, (nval + 1) * R);
    s->g = (DOPT_REAL *)dopt_workspace_take(&ws, n1 * R);
    s->g2 = (DOPT_REAL *)dopt_workspace_take(&ws, n1 * R);
    s->d = (DOPT_REAL *)dopt_workspace_take(&ws, n1 * R);
    s->dscale = (DOPT_REAL *)dopt_workspace_take(&ws, n1 * R);
    s->dadd = (DOPT_REAL *)dopt_workspace_take(&ws, n1 * R);
    s->gn = (DOPT_REAL *)dopt_workspace_take(&ws, n1 * R);
    s->hv = (DOPT_REAL *)dopt_workspace_take(&ws, n1 * R);
    s->xt = (DOPT_REAL *)dopt_workspace_take(&ws, ((size_t)s->p->xdim + 1) * R);
    s->r = (DOPT_REAL *)dopt_workspace_take(&ws, (size_t)dm->maxr * R);
    s->J = (DOPT_REAL *)dopt_workspace_take(&ws, dm->maxJ * R);
    s->Jt = (DOPT_REAL *)dopt_workspace_take(&ws, dm->maxJ * R);
    s->scr = (DOPT_REAL *)dopt_workspace_take(&ws, (size_t)(2 * dm->maxr + dm->maxdim + dm->maxt) * R);
    DOPT_ASSERT(s->scr != NULL);
}

/* Solver phase 4: the iteration memory, one zeroed area of the solver's own (dopt__nlls_carve;
 * none with `shared`: the ragged batch points the solver at its shared area next), and the
 * one-slot record slot_H1 (its own, not cleared: read only after a factor wrote it, so its
 * pages are touched only by solvers that keep undamped factors). */
static int DOPT_FN(dopt__nlls_make_buffers)(DOPT_FN(dopt_nlls_solver) *s, const DOPT_FN(dopt__nlls_dims) *dm,
                                            int shared)
{
    s->dm = *dm;
    s->maxr = dm->maxr; /* scr also holds eval's two row-factor vectors (2 maxr reals) */
    s->buf_bytes = shared ? 0 : DOPT_FN(dopt__nlls_buf_bytes)(s);
    s->buf = shared ? NULL : dopt_alloc(&s->p->hooks, s->buf_bytes);
    s->slot_H1 = (DOPT_REAL *)dopt_alloc(&s->p->hooks, (dm->nval + 1) * sizeof(DOPT_REAL));
    s->slot_ok1 = (unsigned char *)DOPT_FN(dopt__nlls_take)(s, 1);
    if ((!shared && !s->buf) || !s->slot_H1 || !s->slot_ok1) return 0;
    s->nslots = 1;
    s->slot_H = s->slot_H1;
    s->slot_ok = s->slot_ok1;
    if (!shared) {
        memset(s->buf, 0, s->buf_bytes);
        DOPT_FN(dopt__nlls_carve)(s, s->buf);
    }
    return 1;
}

/* dopt_nlls_solver_create: a driver over the phases above, then the linear solver's analysis of
 * the block pattern and (batch >= 2) the lane batch. */
/* ---- bounds and equality constraints: the memory (CONSTRAINED LEAST SQUARES at dopt_nlls_solve) */

typedef struct DOPT_FN(dopt__nlls_con) {
    int m;                     /* constraint rows                                                  */
    DOPT_REAL *A, *Z;          /* m x n row-major: A = dc/d delta at x; row i of Z = K^-1 A_f,i     */
    DOPT_REAL *A0;             /* m x n: A at the solution while the exact adjoint moves off it    */
    DOPT_REAL *S;              /* m x m: A_f K^-1 A_f^T, then its Cholesky factor                  */
    DOPT_REAL *c, *ct, *yn, *ad; /* m: c(x), c(trial point), the step's multipliers, A dp          */
    DOPT_REAL *lo, *hi;        /* n: the bounds of each tangent column for this element (+-inf)    */
    DOPT_REAL *gl, *z0, *dp, *hd; /* n: Lagrangian gradient, K^-1 g_f, projected step, H dp       */
    DOPT_REAL *del;            /* n: the step of the pinned coordinates (0, or to the bound hit)   */
    DOPT_REAL *Hp;             /* nvalues: H with the active rows and columns pinned to identity's */
    DOPT_REAL *xt;             /* xdim: the trial point                                            */
    DOPT_REAL *r, *J, *scr;    /* one constraint: residual, Jacobian blocks, numeric-J scratch     */
    int *bx;                   /* n: state offset of a bounded tangent column, else -1             */
    unsigned char *act;        /* batch x n: each element's active set (current, then final)      */
    DOPT_REAL *mult;           /* batch x m: each element's multipliers y                          */
} DOPT_FN(dopt__nlls_con);

/* the constrained solve's memory, made with the solver; 0 when out of memory */
static int DOPT_FN(dopt__nlls_con_make)(DOPT_FN(dopt_nlls_solver) *s)
{
    const DOPT_FN(dopt_nlls_problem) *p = s->p;
    DOPT_FN(dopt__nlls_con) *C;
    size_t R = sizeof(DOPT_REAL), n = (size_t)s->n + 1, m = (size_t)p->mcon + 1, B = (size_t)p->batch;
    size_t maxr = 1, maxj = 1, maxd = 1, bytes;
    unsigned char *q;
    int k, l, j, i;
    for (k = 0; k < p->ncon; ++k) {
        const DOPT_FN(dopt__nlls_cost) *cs = p->con + k;
        size_t jt = 0, dd = 0;
        for (l = 0; l < cs->d.nvars; ++l) {
            const DOPT_FN(dopt_manifold) *mf = &p->var[cs->vars[l]].m;
            jt += (size_t)mf->tangent_dim;
            dd += (size_t)(mf->dim + mf->tangent_dim);
        }
        if ((size_t)cs->d.rdim > maxr) maxr = (size_t)cs->d.rdim;
        if (jt * (size_t)cs->d.rdim > maxj) maxj = jt * (size_t)cs->d.rdim;
        if (dd > maxd) maxd = dd;
    }
    bytes = DOPT_WORKSPACE_ROUND(sizeof *C) + DOPT_WORKSPACE_ROUND((3 * m * n + m * m + 4 * m) * R) +
            DOPT_WORKSPACE_ROUND((7 * n + s->pat.nvalues + 1 + (size_t)p->xdim + 3 * maxr + maxj + maxd) * R) +
            DOPT_WORKSPACE_ROUND(n * sizeof(int)) + DOPT_WORKSPACE_ROUND(B * n) + DOPT_WORKSPACE_ROUND(B * m * R);
    q = (unsigned char *)DOPT_FN(dopt__nlls_take)(s, bytes);
    if (!q) return 0;
    C = (DOPT_FN(dopt__nlls_con) *)q; q += DOPT_WORKSPACE_ROUND(sizeof *C);
    C->m = p->mcon;
    C->A = (DOPT_REAL *)q; C->Z = C->A + m * n; C->A0 = C->Z + m * n; C->S = C->A0 + m * n; C->c = C->S + m * m;
    C->ct = C->c + m; C->yn = C->ct + m; C->ad = C->yn + m;
    q += DOPT_WORKSPACE_ROUND((3 * m * n + m * m + 4 * m) * R);
    C->lo = (DOPT_REAL *)q; C->hi = C->lo + n; C->gl = C->hi + n; C->z0 = C->gl + n; C->dp = C->z0 + n;
    C->hd = C->dp + n; C->del = C->hd + n; C->Hp = C->del + n; C->xt = C->Hp + s->pat.nvalues + 1; C->r = C->xt + p->xdim;
    C->J = C->r + maxr; C->scr = C->J + maxj;
    q += DOPT_WORKSPACE_ROUND((7 * n + s->pat.nvalues + 1 + (size_t)p->xdim + 3 * maxr + maxj + maxd) * R);
    C->bx = (int *)q; q += DOPT_WORKSPACE_ROUND(n * sizeof(int));
    C->act = q; q += DOPT_WORKSPACE_ROUND(B * n);
    C->mult = (DOPT_REAL *)q;
    for (j = 0; j < s->nblocks; ++j) {
        const DOPT_FN(dopt__nlls_var) *vv = p->var + s->block_var[j];
        for (i = 0; i < s->block_dim[j]; ++i)
            C->bx[s->block_start[j] + i] = (vv->lo || vv->hi) ? vv->offset + i : -1;
    }
    s->con = C;
    return 1;
}

/* dopt_nlls_solver_create, or with `shared` one without iteration buffers (the ragged batch's) */
static dopt_status DOPT_FN(dopt__nlls_create)(DOPT_FN(dopt_nlls_problem) *p, const DOPT_FN(dopt_linear_solver) *linear,
                                              int shared, DOPT_FN(dopt_nlls_solver) **out, dopt_errinfo *info)
{
    DOPT_FN(dopt_nlls_solver) *s;
    DOPT_FN(dopt__nlls_dims) dm;
    dopt_status st;
    if (!out) return DOPT_ERR_INVALID_ARGUMENT;
    *out = NULL;
    if (!p) return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "nlls: NULL problem");
    s = (DOPT_FN(dopt_nlls_solver) *)dopt_alloc(&p->hooks, sizeof *s);
    if (!s) { /* the linear solver is ours from the call on: release it here too */
        if (linear && linear->destroy) linear->destroy(linear->self);
        return dopt_errinfo_set(info, DOPT_ERR_ALLOCATION, -1, 0, "nlls: solver");
    }
    memset(s, 0, sizeof *s);
    s->p = p;
    if (linear) {
        s->ls = *linear;
    } else {
        st = DOPT_FN(dopt_linear_solver_dense)(&p->hooks, &s->ls);
        if (st != DOPT_OK) {
            dopt_free(&p->hooks, s, sizeof *s);
            return dopt_errinfo_set(info, st, -1, 0, "nlls: dense linear solver");
        }
    }
    if (!s->ls.analyze || !s->ls.factor || !s->ls.solve) {
        DOPT_FN(dopt_nlls_solver_destroy)(s);
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "nlls: incomplete linear solver");
    }
    memset(&dm, 0, sizeof dm);
    dm.maxJ = 1;
    dm.maxr = dm.maxdim = dm.maxt = 1;
    if (!DOPT_FN(dopt__nlls_make_blocks)(s, &dm) || !DOPT_FN(dopt__nlls_make_pattern)(s, &dm) ||
        !DOPT_FN(dopt__nlls_make_pairs)(s, &dm) || !DOPT_FN(dopt__nlls_make_buffers)(s, &dm, shared)) {
        DOPT_FN(dopt_nlls_solver_destroy)(s);
        return dopt_errinfo_set(info, DOPT_ERR_ALLOCATION, -1, 0, "nlls: out of memory building the solver");
    }
    s->pat.nblocks = s->nblocks;
    s->pat.n = s->n;
    s->pat.block_dim = s->block_dim;
    s->pat.block_start = s->block_start;
    s->pat.col_start = s->col_start;
    s->pat.row_block = s->row_block;
    s->pat.value_start = s->value_start;
    s->pat.nvalues = dm.nval;
    st = s->ls.analyze(s->ls.self, &s->pat, info);
    if (st != DOPT_OK) {
        DOPT_FN(dopt_nlls_solver_destroy)(s);
        return st;
    }
    if ((p->ncon || p->nbounded) && !DOPT_FN(dopt__nlls_con_make)(s)) {
        DOPT_FN(dopt_nlls_solver_destroy)(s);
        return dopt_errinfo_set(info, DOPT_ERR_ALLOCATION, -1, 0, "nlls: out of memory for the constraints");
    }
    if (p->batch >= 2) DOPT_FN(dopt__nlls_make_lanes)(s);
    s->vec6 = DOPT_FN(dopt__nlls_vec6)();
    *out = s;
    return DOPT_OK;
}

DOPT_API dopt_status DOPT_FN(dopt_nlls_solver_create)(DOPT_FN(dopt_nlls_problem) *p,
                                                      const DOPT_FN(dopt_linear_solver) *linear,
                                                      DOPT_FN(dopt_nlls_solver) **out,
                                                      dopt_errinfo *info)
{
    return DOPT_FN(dopt__nlls_create)(p, linear, 0, out, info);
}


/* M (rdim x cols, row-major) <- W M for the weight of one cost; tmp holds rdim x cols reals. */
static void DOPT_FN(dopt__nlls_weigh)(dopt_weight_kind kind, const DOPT_REAL *w, int rdim, int cols,
                                      DOPT_REAL *M, DOPT_REAL *tmp)
{
    int i, j, l;
    switch (kind) {
    case DOPT_WEIGHT_SCALAR:
        for (i = 0; i < rdim * cols; ++i) M[i] *= w[0];
        break;
    case DOPT_WEIGHT_DIAGONAL:
        for (i = 0; i < rdim; ++i)
            for (j = 0; j < cols; ++j) M[i * cols + j] *= w[i];
        break;
    case DOPT_WEIGHT_SQRT_INFO:
#if (defined(__GNUC__) || defined(__clang__)) && defined(__AVX__)
        if (cols == 6) { /* row i of W M = sum_l w_il (row l of M): 6-wide register rows */
            DOPT_FN(dopt__nlls_v4) a4, m4, z4 = {0, 0, 0, 0};
            DOPT_FN(dopt__nlls_v2) a2, m2, z2 = {0, 0};
            for (i = 0; i < rdim; ++i) {
                a4 = z4;
                a2 = z2;
                for (l = 0; l < rdim; ++l) {
                    DOPT_REAL wl = w[i * rdim + l];
                    memcpy(&m4, M + 6 * l, sizeof m4);
                    memcpy(&m2, M + 6 * l + 4, sizeof m2);
                    a4 += m4 * wl;
                    a2 += m2 * wl;
                }
                memcpy(tmp + 6 * i, &a4, sizeof a4);
                memcpy(tmp + 6 * i + 4, &a2, sizeof a2);
            }
            memcpy(M, tmp, (size_t)rdim * 6 * sizeof(DOPT_REAL));
            break;
        }
#endif
        for (i = 0; i < rdim; ++i)
            for (j = 0; j < cols; ++j) {
                DOPT_REAL acc = 0;
                for (l = 0; l < rdim; ++l) acc += w[i * rdim + l] * M[l * cols + j];
                tmp[i * cols + j] = acc;
            }
        memcpy(M, tmp, (size_t)rdim * (size_t)cols * sizeof(DOPT_REAL));
        break;
    default:
        break;
    }
}

/* Hb (ta x tb, column-major) += Ja^T Jb for row-major rdim x ta / rdim x tb blocks, or Hb = Ja^T Jb
 * with `first` (the first cost to reach the block: Hb is not read, so no clearing store has to
 * reach it first); the sizes of pose graphs (3, 6) take constant-size loops over a local
 * accumulator (kept in registers: the products are summed over the rows before Hb is touched
 * once), which the compiler unrolls and vectorizes.  A diagonal block (Ja == Jb) is the full
 * square too: 6-wide column updates beat a triangle of scalar products and mirroring. */
#if DOPT__NLLS_VEC6
/* 6-wide register columns (see DOPT__NLLS_VEC6): half the time of the plain loops under GCC */
DOPT__NLLS_VTARGET static void DOPT_FN(dopt__nlls_ata6_vec)(int rdim, const DOPT_REAL *DOPT_RESTRICT Ja,
                                     const DOPT_REAL *DOPT_RESTRICT Jb, const DOPT_REAL *DOPT_RESTRICT fw,
                                     DOPT_REAL *DOPT_RESTRICT Hb, int first)
{
    DOPT_FN(dopt__nlls_v4) c4[6], a4, h4, z4 = {0, 0, 0, 0};
    DOPT_FN(dopt__nlls_v2) c2[6], a2, h2, z2 = {0, 0};
    int q, j;
    for (j = 0; j < 6; ++j) {
        c4[j] = z4;
        c2[j] = z2;
    }
    for (q = 0; q < rdim; ++q) {
        memcpy(&a4, Ja + 6 * q, sizeof a4);
        memcpy(&a2, Ja + 6 * q + 4, sizeof a2);
        a4 *= fw[q];
        a2 *= fw[q];
        for (j = 0; j < 6; ++j) {
            DOPT_REAL bj = Jb[6 * q + j];
            c4[j] += a4 * bj;
            c2[j] += a2 * bj;
        }
    }
    for (j = 0; j < 6; ++j) {
        h4 = c4[j];
        h2 = c2[j];
        if (!first) {
            DOPT_FN(dopt__nlls_v4) o4;
            DOPT_FN(dopt__nlls_v2) o2;
            memcpy(&o4, Hb + 6 * j, sizeof o4);
            memcpy(&o2, Hb + 6 * j + 4, sizeof o2);
            h4 += o4;
            h2 += o2;
        }
        memcpy(Hb + 6 * j, &h4, sizeof h4);
        memcpy(Hb + 6 * j + 4, &h2, sizeof h2);
    }
}
#endif
/* Hb (T x T, column-major) += Ja^T diag(fw) Jb (or = with first) for row-major rdim x T blocks of
 * a small T (<= 6) that the callers below pass as a constant, so that each gets loops of fixed
 * length (the plain-C 6-wide and 3-wide products: one definition). */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((always_inline))
#endif
static inline void DOPT_FN(dopt__nlls_ata_small)(int rdim, const int T, const DOPT_REAL *DOPT_RESTRICT Ja,
                                                 const DOPT_REAL *DOPT_RESTRICT Jb,
                                                 const DOPT_REAL *DOPT_RESTRICT fw, DOPT_REAL *DOPT_RESTRICT Hb,
                                                 int first)
{
    DOPT_REAL t[36];
    int q, i, j;
    for (i = 0; i < T * T; ++i) t[i] = 0;
    for (q = 0; q < rdim; ++q)
        for (j = 0; j < T; ++j) {
            DOPT_REAL bj = Jb[T * q + j] * fw[q];
            for (i = 0; i < T; ++i) t[i + T * j] += Ja[T * q + i] * bj;
        }
    for (i = 0; i < T * T; ++i) Hb[i] = first ? t[i] : Hb[i] + t[i];
}
static void DOPT_FN(dopt__nlls_ata6)(int rdim, const DOPT_REAL *DOPT_RESTRICT Ja,
                                     const DOPT_REAL *DOPT_RESTRICT Jb, const DOPT_REAL *DOPT_RESTRICT fw,
                                     DOPT_REAL *DOPT_RESTRICT Hb, int first)
{
    DOPT_FN(dopt__nlls_ata_small)(rdim, 6, Ja, Jb, fw, Hb, first);
}
static void DOPT_FN(dopt__nlls_ata3)(int rdim, const DOPT_REAL *DOPT_RESTRICT Ja,
                                     const DOPT_REAL *DOPT_RESTRICT Jb, const DOPT_REAL *DOPT_RESTRICT fw,
                                     DOPT_REAL *DOPT_RESTRICT Hb, int first)
{
    DOPT_FN(dopt__nlls_ata_small)(rdim, 3, Ja, Jb, fw, Hb, first);
}
#if DOPT__NLLS_VEC6
/* ga (6 reals) += Ja^T diag(fw) r for a row-major rdim x 6 block (with first, =), in registers. */
DOPT__NLLS_VTARGET static void DOPT_FN(dopt__nlls_atr6_vec)(int rdim, const DOPT_REAL *DOPT_RESTRICT Ja,
                                                            const DOPT_REAL *DOPT_RESTRICT fw,
                                                            const DOPT_REAL *DOPT_RESTRICT r, DOPT_REAL *DOPT_RESTRICT ga,
                                                            int first)
{
    DOPT_FN(dopt__nlls_v4) c4 = {0, 0, 0, 0}, a4;
    DOPT_FN(dopt__nlls_v2) c2 = {0, 0}, a2;
    int i;
    for (i = 0; i < rdim; ++i) {
        memcpy(&a4, Ja + 6 * i, sizeof a4);
        memcpy(&a2, Ja + 6 * i + 4, sizeof a2);
        c4 += a4 * (fw[i] * r[i]);
        c2 += a2 * (fw[i] * r[i]);
    }
    if (!first) {
        memcpy(&a4, ga, sizeof a4);
        memcpy(&a2, ga + 4, sizeof a2);
        c4 += a4;
        c2 += a2;
    }
    memcpy(ga, &c4, sizeof c4);
    memcpy(ga + 4, &c2, sizeof c2);
}
#endif
/* ga (t reals) += Ja^T diag(fw) r for a row-major rdim x t block (with first, ga = Ja^T diag(fw) r);
 * vec: the solver's vec6 (the vector form for t = 6). */
static void DOPT_FN(dopt__nlls_atr)(int rdim, int t, const DOPT_REAL *DOPT_RESTRICT Ja,
                                    const DOPT_REAL *DOPT_RESTRICT fw, const DOPT_REAL *DOPT_RESTRICT r,
                                    DOPT_REAL *DOPT_RESTRICT ga, int first, int vec)
{
    int i, j;
#if DOPT__NLLS_VEC6
    if (t == 6 && vec) {
        DOPT_FN(dopt__nlls_atr6_vec)(rdim, Ja, fw, r, ga, first);
        return;
    }
#endif
    (void)vec;
    for (i = 0; i < rdim; ++i) { /* with first, row 0 stores (no clearing pass; rdim >= 1) */
        DOPT_REAL ri = fw[i] * r[i];
        if (first && i == 0)
            for (j = 0; j < t; ++j) ga[j] = Ja[j] * ri;
        else
            for (j = 0; j < t; ++j) ga[j] += Ja[i * t + j] * ri;
    }
}
/* Hb (ta x tb, column-major) += Ja^T diag(fw) Jb; with first, Hb = Ja^T diag(fw) Jb; vec: the
 * solver's vec6 (the vector form for 6 x 6 blocks). */
static void DOPT_FN(dopt__nlls_ata)(int rdim, int ta, int tb, const DOPT_REAL *Ja, const DOPT_REAL *Jb,
                                    const DOPT_REAL *fw, DOPT_REAL *Hb, int first, int vec)
{
    int q, i, j;
#if DOPT__NLLS_VEC6
    if (ta == 6 && tb == 6 && vec) {
        DOPT_FN(dopt__nlls_ata6_vec)(rdim, Ja, Jb, fw, Hb, first);
        return;
    }
#endif
    (void)vec;
    if (ta == 6 && tb == 6) {
        DOPT_FN(dopt__nlls_ata6)(rdim, Ja, Jb, fw, Hb, first);
        return;
    }
    if (ta == 3 && tb == 3) {
        DOPT_FN(dopt__nlls_ata3)(rdim, Ja, Jb, fw, Hb, first);
        return;
    }
    for (q = 0; q < rdim; ++q) { /* with first, row 0 stores (no clearing pass; rdim >= 1) */
        const DOPT_REAL *ja = Ja + q * ta, *jb = Jb + q * tb;
        for (j = 0; j < tb; ++j) {
            DOPT_REAL bj = jb[j] * fw[q], *hc = Hb + j * ta;
            if (first && q == 0)
                for (i = 0; i < ta; ++i) hc[i] = ja[i] * bj;
            else
                for (i = 0; i < ta; ++i) hc[i] += ja[i] * bj;
        }
    }
}

/* Cost cs's user data for batch element b (data + b * data_stride), or NULL. */
static const void *DOPT_FN(dopt__nlls_cost_data)(const DOPT_FN(dopt__nlls_cost) *cs, int b)
{
    return cs->d.data ? (const void *)((const char *)cs->d.data + (size_t)b * cs->d.data_stride) : NULL;
}

/* Residual r of cost cs at the variables vp and, when want, the Jacobian blocks jp[k] (rdim x
 * tangent_dim row-major; NULL entries are not wanted): the callback's own, or central
 * differences of step hstep for a numeric_diff cost (scr: the numeric Jacobian's scratch).  The
 * forward solve and the backward modes evaluate costs only through here. */
static dopt_status DOPT_FN(dopt__nlls_cost_call)(const DOPT_FN(dopt__nlls_cost) *cs, const void *data,
                                                 const DOPT_REAL **vp, const DOPT_FN(dopt_manifold) **mp,
                                                 DOPT_REAL **jp, int want, DOPT_REAL hstep, DOPT_REAL *r,
                                                 DOPT_REAL *scr)
{
    int k;
    dopt_status st = cs->d.fn(data, vp, r, (want && !cs->d.numeric_diff) ? jp : NULL);
    if (st != DOPT_OK || !want || !cs->d.numeric_diff) return st;
    for (k = 0; k < cs->d.nvars; ++k)
        if (jp[k]) {
            st = DOPT_FN(dopt_nlls_numeric_jacobian)(cs->d.fn, data, cs->d.rdim, cs->d.nvars, mp, vp, k, hstep,
                                                     jp[k], scr);
            if (st != DOPT_OK) return st;
        }
    return DOPT_OK;
}

/* The robust loss folded into the Gauss-Newton system, one definition for the forward solve and
 * the backward modes: from rho = (rho, rho', rho'') at s = |W r|^2, the Jacobian factor
 * sq1 = sqrt(rho'), the TRIGGS correction alpha (0 with IRLS) and the residual factor
 * rs = sq1 / (1 - alpha):  r~ = rs W r,  J~ = sq1 (I - (alpha / s) W r (W r)^T) W J. */
static void DOPT_FN(dopt__nlls_robust_coefs)(const DOPT_REAL rho[3], DOPT_REAL sq, dopt_robust_mode mode,
                                             DOPT_REAL *sq1, DOPT_REAL *alpha, DOPT_REAL *rs)
{
    DOPT_REAL f = rho[1] > 0 ? DOPT_M(sqrt)(rho[1]) : 0, a = 0;
    if (mode == DOPT_ROBUST_TRIGGS && sq > 0 && rho[1] > 0) {
        DOPT_REAL D = 1 + 2 * sq * rho[2] / rho[1];
        if (D < (DOPT_REAL)0.05) D = (DOPT_REAL)0.05;
        a = 1 - DOPT_M(sqrt)(D);
    }
    *sq1 = f;
    *alpha = a;
    *rs = f / (1 - a);
}

/* J~ of dopt__nlls_robust_coefs for one weighted block J (rdim x t row-major, in place), with
 * r the weighted residual W r and sq = |W r|^2. */
static void DOPT_FN(dopt__nlls_robust_jacobian)(int rdim, int t, const DOPT_REAL *r, DOPT_REAL sq,
                                                DOPT_REAL alpha, DOPT_REAL sq1, DOPT_REAL *J)
{
    int i, j;
    if (alpha != 0) /* J <- J - (alpha / s) r (r^T J) */
        for (j = 0; j < t; ++j) {
            DOPT_REAL u = 0;
            for (i = 0; i < rdim; ++i) u += r[i] * J[i * t + j];
            u *= alpha / sq;
            for (i = 0; i < rdim; ++i) J[i * t + j] -= u * r[i];
        }
    for (i = 0; i < rdim * t; ++i) J[i] *= sq1;
}

/* LM's damping, one definition for the forward solve and the backward modes: D = clamped
 * diag(H) (to [1e-6, 1e32]) or I, dadd = lambda D; dscale (may be NULL) gets D, clamp (may be
 * NULL) 1 where D is not diag(H) itself. */
static void DOPT_FN(dopt__nlls_damping)(DOPT_FN(dopt_nlls_solver) *s, dopt_lm_damping kind, DOPT_REAL lambda,
                                        DOPT_REAL *dscale, unsigned char *clamp)
{
    int j, i;
    for (j = 0; j < s->nblocks; ++j) {
        const DOPT_REAL *D = s->H + s->value_start[s->col_start[j]];
        int dd = s->block_dim[j], c0 = s->block_start[j];
        for (i = 0; i < dd; ++i) {
            DOPT_REAL h = D[i + i * dd];
            unsigned char cl = 0;
            if (kind == DOPT_LM_DAMP_IDENTITY) { h = 1; cl = 1; }
            else if (h < (DOPT_REAL)1e-6) { h = (DOPT_REAL)1e-6; cl = 1; }
            else if (h > (DOPT_REAL)1e32) { h = (DOPT_REAL)1e32; cl = 1; }
            if (dscale) dscale[c0 + i] = h;
            if (clamp) clamp[c0 + i] = cl;
            s->dadd[c0 + i] = lambda * h;
        }
    }
}

/* Powell's dogleg step d (n) within radius, one definition for the forward solve and the
 * backward modes: the Gauss-Newton step gn when |gn| <= radius (returns 0), else the Cauchy
 * step -(radius / |g|) g when the steepest-descent minimizer -alpha g (alpha = g.g / gHg, gHg =
 * g^T H g) reaches the radius (returns 1), else -alpha g + beta (gn + alpha g) on the boundary
 * (returns 2).  *alpha and *beta (may be NULL) get the factors of the last two cases. */
static int DOPT_FN(dopt__nlls_dogleg_step)(int n, const DOPT_REAL *g, const DOPT_REAL *gn, DOPT_REAL gHg,
                                           DOPT_REAL radius, DOPT_REAL *d, DOPT_REAL *alpha_out,
                                           DOPT_REAL *beta_out)
{
    DOPT_REAL gnn = DOPT_FN(dopt_nrm2)(n, gn, 1), gg, g2, alpha, beta = 0;
    int i;
    if (gnn <= radius) {
        memcpy(d, gn, (size_t)n * sizeof(DOPT_REAL));
        return 0;
    }
    gg = DOPT_FN(dopt_dot)(n, g, 1, g, 1);
    g2 = DOPT_M(sqrt)(gg);
    alpha = gHg > 0 ? gg / gHg : radius / g2 * 2;
    if (alpha_out) *alpha_out = alpha;
    if (alpha * g2 >= radius) {
        for (i = 0; i < n; ++i) d[i] = -(radius / g2) * g[i];
        return 1;
    } else { /* a + beta (gn - a), a = -alpha g, with norm = radius */
        DOPT_REAL ac = 0, cc = 0, aa = alpha * alpha * gg;
        for (i = 0; i < n; ++i) {
            DOPT_REAL ai = -alpha * g[i], ci = gn[i] - ai;
            ac += ai * ci;
            cc += ci * ci;
        }
        beta = cc > 0 ? (-ac + DOPT_M(sqrt)(ac * ac + cc * (radius * radius - aa))) / cc : 0;
        for (i = 0; i < n; ++i) {
            DOPT_REAL ai = -alpha * g[i];
            d[i] = ai + beta * (gn[i] - ai);
        }
    }
    if (beta_out) *beta_out = beta;
    return 2;
}

/* Evaluate S at the state x of batch element b; with lin, also g and the blocks of H (the
 * weight and the robust loss folded in).  *bad gets the failing cost on a callback error. */
static dopt_status DOPT_FN(dopt__nlls_eval)(DOPT_FN(dopt_nlls_solver) *s, int b, const DOPT_REAL *x,
                                            int lin, dopt_robust_mode mode, DOPT_REAL hstep,
                                            DOPT_REAL *cost_out, long *bad)
{
    const DOPT_FN(dopt_nlls_problem) *p = s->p;
    const DOPT_REAL *vp[DOPT_NLLS_MAX_COST_VARS];
    const DOPT_FN(dopt_manifold) *mp[DOPT_NLLS_MAX_COST_VARS];
    DOPT_REAL *jp[DOPT_NLLS_MAX_COST_VARS];
    int tk[DOPT_NLLS_MAX_COST_VARS];
    DOPT_REAL cost = 0, *r = s->r, *fr = s->scr, *fr2 = s->scr + s->maxr;
    int c, k, l, i;
    /* no clearing of H and g: the first cost reaching a block clears it (pfirst) */
    for (c = 0; c < p->ncost; ++c) {
        const DOPT_FN(dopt__nlls_cost) *cs = p->cost + c;
        const void *data = DOPT_FN(dopt__nlls_cost_data)(cs, b);
        int nv = cs->d.nvars, rdim = cs->d.rdim, nfree = 0;
        size_t T = 0;
        DOPT_REAL sq = 0;
        dopt_status st;
        for (k = 0; k < nv; ++k) {
            int v = cs->vars[k];
            vp[k] = x + p->var[v].offset;
            mp[k] = &p->var[v].m;
            tk[k] = p->var[v].m.tangent_dim;
            jp[k] = NULL;
            if (lin && s->var_block[v] >= 0) {
                jp[k] = s->J + (size_t)rdim * T;
                T += (size_t)tk[k];
                nfree++;
            }
        }
        st = DOPT_FN(dopt__nlls_cost_call)(cs, data, vp, mp, jp, nfree, hstep, r, s->scr);
        if (st != DOPT_OK) {
            *bad = c;
            return st;
        }
        /* weight and robust loss.  Row weights (scalar, diagonal) are applied to r at once and
           to J together with sqrt(rho') in one pass below (IRLS); a square-root information
           weight (and the TRIGGS correction, which needs W J) goes through dopt__nlls_weigh. */
        {
            const dopt_weight_kind wk = cs->d.weight_kind;
            const DOPT_REAL *w = wk != DOPT_WEIGHT_NONE ? cs->d.weight + (ptrdiff_t)b * cs->d.weight_stride : NULL;
            DOPT_REAL sq1 = 1, alpha = 0, rs = 1;
            int rowwise = wk != DOPT_WEIGHT_SQRT_INFO, jdone = !rowwise;
            if (wk == DOPT_WEIGHT_SCALAR)
                for (i = 0; i < rdim; ++i) r[i] *= w[0];
            else if (wk == DOPT_WEIGHT_DIAGONAL)
                for (i = 0; i < rdim; ++i) r[i] *= w[i];
            else if (wk == DOPT_WEIGHT_SQRT_INFO) {
                DOPT_FN(dopt__nlls_weigh)(wk, w, rdim, 1, r, s->Jt);
                for (k = 0; k < nv; ++k)
                    if (jp[k]) DOPT_FN(dopt__nlls_weigh)(wk, w, rdim, tk[k], jp[k], s->Jt);
            }
            for (i = 0; i < rdim; ++i) sq += r[i] * r[i];
            if (cs->d.loss != DOPT_LOSS_NONE) {
                DOPT_REAL rho[3];
                DOPT_FN(dopt_nlls_loss_eval)(cs->d.loss, cs->d.loss_scale, sq, rho);
                cost += rho[0] / 2;
                DOPT_FN(dopt__nlls_robust_coefs)(rho, sq, mode, &sq1, &alpha, &rs);
            } else {
                cost += sq / 2;
            }
            if (nfree && rowwise && alpha != 0) { /* the correction below needs W J first */
                if (wk != DOPT_WEIGHT_NONE)
                    for (k = 0; k < nv; ++k)
                        if (jp[k]) DOPT_FN(dopt__nlls_weigh)(wk, w, rdim, tk[k], jp[k], s->Jt);
                jdone = 1;
            }
            if (nfree && !jdone) { /* J~ = diag(fr) J, fr = sqrt(rho') W: kept as row factors */
                for (i = 0; i < rdim; ++i) {
                    fr[i] = sq1 * (wk == DOPT_WEIGHT_SCALAR ? w[0] : wk == DOPT_WEIGHT_DIAGONAL ? w[i] : 1);
                    fr2[i] = fr[i] * fr[i];
                }
            } else if (nfree && jdone && (alpha != 0 || sq1 != 1)) {
                for (k = 0; k < nv; ++k)
                    if (jp[k]) DOPT_FN(dopt__nlls_robust_jacobian)(rdim, tk[k], r, sq, alpha, sq1, jp[k]);
            }
            if (nfree && jdone)
                for (i = 0; i < rdim; ++i) fr[i] = fr2[i] = 1;
            if (nfree && rs != 1)
                for (i = 0; i < rdim; ++i) r[i] *= rs;
        }
        if (!nfree) continue;
        /* g_a += J_a^T r;  H(a, b) += J_a^T J_b for the stored (lower) blocks; the first cost
           to reach a block clears it (the diagonal block's flag also stands for g_a) */
        for (k = 0; k < nv; ++k) {
            const DOPT_REAL *Ja = jp[k];
            const size_t *pk = s->pair + s->cost_pair[c] + (size_t)k * nv;
            const unsigned char *fk = s->pfirst + s->cost_pair[c] + (size_t)k * nv;
            DOPT_REAL *ga;
            int ta = tk[k];
            if (!Ja) continue;
            ga = s->g + s->block_start[s->var_block[cs->vars[k]]];
            DOPT_FN(dopt__nlls_atr)(rdim, ta, Ja, fr, r, ga, fk[k], s->vec6);
            for (l = 0; l < nv; ++l) {
                DOPT_REAL *Hb;
                if (pk[l] == DOPT__NLLS_NONE || !jp[l]) continue;
                Hb = s->H + pk[l];
                DOPT_FN(dopt__nlls_ata)(rdim, ta, tk[l], Ja, jp[l], fr2, Hb, fk[l], s->vec6);
            }
        }
    }
    if (!(cost - cost == 0)) {
        *bad = -1;
        return DOPT_ERR_NON_FINITE;
    }
    *cost_out = cost;
    return DOPT_OK;
}

/* y = H v for the block lower-triangle storage of H. */
static void DOPT_FN(dopt__nlls_hv)(const DOPT_FN(dopt_nlls_solver) *s, const DOPT_REAL *v, DOPT_REAL *y)
{
    int bc, k, ii, jj;
    memset(y, 0, (size_t)s->n * sizeof(DOPT_REAL));
    for (bc = 0; bc < s->nblocks; ++bc) {
        int cs = s->block_start[bc], cd = s->block_dim[bc];
        for (k = s->col_start[bc]; k < s->col_start[bc + 1]; ++k) {
            int br = s->row_block[k], rs = s->block_start[br], rd = s->block_dim[br];
            const DOPT_REAL *B = s->H + s->value_start[k];
            for (jj = 0; jj < cd; ++jj) {
                DOPT_REAL vj = v[cs + jj], acc = 0;
                for (ii = 0; ii < rd; ++ii) {
                    y[rs + ii] += B[ii + jj * rd] * vj;
                    acc += B[ii + jj * rd] * v[rs + ii];
                }
                if (br != bc) y[cs + jj] += acc;
            }
        }
    }
}

/* xt = x ⊕ (scale d) for every block variable, projected back onto its manifold (so a trial
 * point is evaluated exactly where an accepted step leaves x); other variables copied. */
static void DOPT_FN(dopt__nlls_retract)(DOPT_FN(dopt_nlls_solver) *s, const DOPT_REAL *x,
                                        const DOPT_REAL *d, DOPT_REAL scale, DOPT_REAL *xt)
{
    const DOPT_FN(dopt_nlls_problem) *p = s->p;
    int j, i;
    memcpy(xt, x, (size_t)p->xdim * sizeof(DOPT_REAL));
    if (scale != 1) {
        for (i = 0; i < s->n; ++i) s->hv[i] = scale * d[i];
        d = s->hv;
    }
    for (j = 0; j < s->nblocks; ++j) {
        const DOPT_FN(dopt__nlls_var) *vv = p->var + s->block_var[j];
        vv->m.retract(&vv->m, x + vv->offset, d + s->block_start[j], xt + vv->offset);
        if (vv->m.project) vv->m.project(&vv->m, xt + vv->offset);
    }
}

static DOPT_REAL DOPT_FN(dopt__nlls_xnorm)(const DOPT_FN(dopt_nlls_solver) *s, const DOPT_REAL *x)
{
    const DOPT_FN(dopt_nlls_problem) *p = s->p;
    DOPT_REAL acc = 0;
    int j, i;
    for (j = 0; j < s->nblocks; ++j) {
        const DOPT_FN(dopt__nlls_var) *vv = p->var + s->block_var[j];
        for (i = 0; i < vv->m.dim; ++i) acc += x[vv->offset + i] * x[vv->offset + i];
    }
    return DOPT_M(sqrt)(acc);
}

DOPT_API DOPT_FN(dopt_nlls_options) DOPT_FN(dopt_nlls_default_options)(void)
{
    DOPT_FN(dopt_nlls_options) o;
    memset(&o, 0, sizeof o);
    o.method = DOPT_NLLS_LM;
    o.max_iterations = 50;
    o.function_tolerance = (DOPT_REAL)1e-6;
    o.cost_change_tolerance = -1;
    o.gradient_tolerance = (DOPT_REAL)1e-10;
    o.step_tolerance = (DOPT_REAL)1e-8;
    o.lm_damping = DOPT_LM_DAMP_DIAGONAL;
    o.lm_update = DOPT_LM_UPDATE_NIELSEN;
    o.initial_lambda = (DOPT_REAL)1e-4;
    o.max_lambda = (DOPT_REAL)1e32;
    o.lm_factor = 10;
    o.min_relative_decrease = (DOPT_REAL)1e-3;
    o.initial_radius = (DOPT_REAL)1e4;
    o.min_radius = (DOPT_REAL)1e-32;
    o.robust_mode = DOPT_ROBUST_IRLS;
    o.line_search = 0;
    o.max_line_search_steps = 20;
    o.numeric_diff_step = DOPT_M(cbrt)(DOPT_EPS);
    o.timing = 0;
    o.step_size = 1;
    o.constraint_tolerance = (DOPT_REAL)(DOPT_IS_FLOAT ? 1e-4 : 1e-10);
    return o;
}

/* the options with zeros replaced by defaults */
static DOPT_FN(dopt_nlls_options) DOPT_FN(dopt__nlls_resolve)(const DOPT_FN(dopt_nlls_options) *in)
{
    DOPT_FN(dopt_nlls_options) d = DOPT_FN(dopt_nlls_default_options)(), o;
    if (!in) return d;
    o = *in;
    if (o.max_iterations <= 0) o.max_iterations = d.max_iterations;
    if (o.function_tolerance == 0) o.function_tolerance = d.function_tolerance;
    if (o.gradient_tolerance == 0) o.gradient_tolerance = d.gradient_tolerance;
    if (o.step_tolerance == 0) o.step_tolerance = d.step_tolerance;
    if (o.initial_lambda <= 0) o.initial_lambda = d.initial_lambda;
    if (o.max_lambda <= 0) o.max_lambda = d.max_lambda;
    if (o.lm_factor <= 1) o.lm_factor = d.lm_factor;
    if (o.min_relative_decrease <= 0) o.min_relative_decrease = d.min_relative_decrease;
    if (o.initial_radius <= 0) o.initial_radius = d.initial_radius;
    if (o.min_radius <= 0) o.min_radius = d.min_radius;
    if (o.max_line_search_steps <= 0) o.max_line_search_steps = d.max_line_search_steps;
    if (o.numeric_diff_step <= 0) o.numeric_diff_step = d.numeric_diff_step;
    if (!(o.step_size > 0)) o.step_size = 1;
    if (o.constraint_tolerance == 0) o.constraint_tolerance = d.constraint_tolerance;
    return o;
}

/* 1 when the options (as given, and resolved) hold an unknown enum value or a NaN/Inf real */
static int DOPT_FN(dopt__nlls_bad_options)(const DOPT_FN(dopt_nlls_options) *in, const DOPT_FN(dopt_nlls_options) *o)
{
    const DOPT_REAL r[13] = {o->function_tolerance, o->cost_change_tolerance, o->gradient_tolerance,
                             o->step_tolerance, o->initial_lambda, o->max_lambda, o->lm_factor,
                             o->min_relative_decrease, o->initial_radius, o->min_radius,
                             o->numeric_diff_step, o->step_size, o->constraint_tolerance};
    if ((unsigned)o->method > (unsigned)DOPT_NLLS_DOGLEG || (unsigned)o->lm_damping > (unsigned)DOPT_LM_DAMP_IDENTITY ||
        (unsigned)o->lm_update > (unsigned)DOPT_LM_UPDATE_FACTOR || (unsigned)o->robust_mode > (unsigned)DOPT_ROBUST_TRIGGS)
        return 1;
    if (in && in->step_size != in->step_size) return 1; /* resolve would turn NaN into 1 */
    return !DOPT_FN(dopt_all_finite)(13, r);
}

/* Factor s->H + diag(diag_add) (NULL: undamped) for batch element b, in b's slot.  Every
 * factorization of the layer goes through here, so the slot's record is never stale: it is
 * cleared first and set again only for a successful UNDAMPED factor (slot_H = the matrix). */
static dopt_status DOPT_FN(dopt__nlls_factor)(DOPT_FN(dopt_nlls_solver) *s, int b, const DOPT_REAL *diag_add,
                                              int *fail_col)
{
    int k = s->nslots == 1 ? 0 : diag_add ? s->nslots - 1 : b;
    dopt_status st;
    if (s->ls.select) s->ls.select(s->ls.self, k);
    s->slot_ok[k] = 0;
    if (s->owner) *s->owner = s; /* the shared memory of a ragged batch now holds s's factor */
    st = s->ls.factor(s->ls.self, s->H, diag_add, fail_col);
    if (st == DOPT_OK && !diag_add) {
        memcpy(s->slot_H + (size_t)k * s->pat.nvalues, s->H, s->pat.nvalues * sizeof(DOPT_REAL));
        s->slot_ok[k] = 1;
    }
    return st;
}

/* 1 when element b's slot holds the successful undamped factor of exactly the matrix now in s->H
 * (bit for bit; factor() is a function of its input, so factoring again would give the same
 * factor): the slot is selected and no factorization is needed.  0 otherwise (nothing changed). */
static int DOPT_FN(dopt__nlls_reuse)(DOPT_FN(dopt_nlls_solver) *s, int b)
{
    int k = s->nslots == 1 ? 0 : b;
    if (!s->slot_ok[k] || (s->owner && s->nslots == 1 && *s->owner != s) ||
        memcmp(s->slot_H + (size_t)k * s->pat.nvalues, s->H, s->pat.nvalues * sizeof(DOPT_REAL)) != 0)
        return 0;
    if (s->ls.select) s->ls.select(s->ls.self, k);
    return 1;
}

DOPT_API dopt_status DOPT_FN(dopt_nlls_solver_keep_factors)(DOPT_FN(dopt_nlls_solver) *s, int keep)
{
    int count;
    size_t hb, bytes;
    void *m = NULL;
    dopt_status st;
    if (!s) return DOPT_ERR_INVALID_ARGUMENT;
    count = keep ? s->p->batch + 1 : 1;
    if (count == s->nslots) return DOPT_OK;
    if (!s->ls.reserve || !s->ls.select) return DOPT_ERR_UNSUPPORTED;
    hb = DOPT_WORKSPACE_ROUND((size_t)count * (s->pat.nvalues + 1) * sizeof(DOPT_REAL));
    bytes = count > 1 ? hb + DOPT_WORKSPACE_ROUND((size_t)count) : 0;
    if (bytes) {
        m = dopt_alloc(&s->p->hooks, bytes);
        if (!m) return DOPT_ERR_ALLOCATION;
    }
    st = s->ls.reserve(s->ls.self, count);
    if (st != DOPT_OK) {
        dopt_free(&s->p->hooks, m, bytes);
        return st;
    }
    dopt_free(&s->p->hooks, s->keep_mem, s->keep_bytes);
    s->keep_mem = m;
    s->keep_bytes = bytes;
    s->nslots = count;
    s->slot_H = m ? (DOPT_REAL *)m : s->slot_H1;
    s->slot_ok = m ? (unsigned char *)m + hb : s->slot_ok1;
    memset(s->slot_ok, 0, (size_t)count); /* the factors went with the reallocation */
    return DOPT_OK;
}

/* Name the variable behind a failed factorization and the likely cause. */
static dopt_status DOPT_FN(dopt__nlls_factor_failure)(DOPT_FN(dopt_nlls_solver) *s, dopt_status st,
                                                      int col, int b, dopt_nlls_report *rep,
                                                      dopt_errinfo *info)
{
    int lo = 0, hi = s->nblocks - 1, blk = -1, v, i, zero = 1;
    const DOPT_REAL *D;
    char msg[160];
    while (lo <= hi) { /* the block holding scalar column col */
        int mid = (lo + hi) / 2;
        if (col < s->block_start[mid]) hi = mid - 1;
        else if (col >= s->block_start[mid + 1]) lo = mid + 1;
        else { blk = mid; break; }
    }
    if (blk < 0) return dopt_errinfo_set(info, st, -1, 0, "nlls: linear solver failed");
    v = s->block_var[blk];
    rep->fail_variable = v;
    D = s->H + s->value_start[s->col_start[blk]];
    for (i = 0; i < s->block_dim[blk] * s->block_dim[blk]; ++i)
        if (D[i] != 0) zero = 0;
#ifndef DOPT_NO_STDIO
    if (st == DOPT_ERR_NON_FINITE)
        snprintf(msg, sizeof msg, "element %d, variable %d: NaN/Inf in its block of the normal "
                 "equations (a cost returned a non-finite Jacobian)", b, v);
    else if (zero)
        snprintf(msg, sizeof msg, "element %d, variable %d: no cost constrains it (its block of "
                 "J^T J is zero); hold it constant or add a cost", b, v);
    else
        snprintf(msg, sizeof msg, "element %d, variable %d (tangent column %d): J^T J is rank "
                 "deficient: likely gauge freedom (fix one variable or add a prior)", b, v,
                 col - s->block_start[blk]);
    return dopt_errinfo_set(info, st, v, 0, msg);
#else
    (void)b;
    (void)msg;
    return dopt_errinfo_set(info, st, v, 0, zero ? "no cost constrains the variable in index" :
                            "J^T J rank deficient at the variable in index: likely gauge freedom");
#endif
}

static void DOPT_FN(dopt__nlls_logline)(const dopt_hooks *h, int it, double cost, double dcost,
                                        double gmax, double step, double ratio, double radius,
                                        int ls, double titer, double ttotal)
{
    dopt_log(h, DOPT_LOG_INFO, "%4d % 14.6e % 11.2e % 11.2e % 10.2e % 10.2e % 10.2e %7d % 10.2e % 10.2e",
             it, cost, dcost, gmax, step, ratio, radius, ls, titer, ttotal);
}

/* exchange (H, g) with the trial buffers (H2, g2) */
static void DOPT_FN(dopt__nlls_swap_lin)(DOPT_FN(dopt_nlls_solver) *s)
{
    DOPT_REAL *t = s->H;
    s->H = s->H2;
    s->H2 = t;
    t = s->g;
    s->g = s->g2;
    s->g2 = t;
}

/* ---- one element's iteration, in phases ------------------------------------------------------ */
/* dopt__nlls_solve_one runs an element start to end by calling the phases in turn:
 *     begin; then per iteration: iter, step (LM: lm_damp, factor, lm_factored, solve, lm_pred),
 *     finish; end.
 * The lockstep driver calls the same phases for a group of elements, with one factor_batch and
 * one solve_batch in place of the per-element factor and solve, so an element takes the very
 * same steps in both.  Each phase returns DOPT__NLLS_GO, _AGAIN or _STOP (see their defines). */

static void DOPT_FN(dopt__nlls_elem_init)(const DOPT_FN(dopt_nlls_solver) *s, const DOPT_FN(dopt_nlls_options) *o,
                                          DOPT_FN(dopt__nlls_elem) *e, DOPT_REAL *x, int b,
                                          dopt_nlls_report *rep)
{
    e->logging = dopt_log_enabled(&s->p->hooks, DOPT_LOG_INFO);
    e->timed = o->timing || e->logging;
    e->t_start = e->timed ? dopt__nlls_clock() : 0;
    e->t_iter = 0;
    e->x = x;
    e->b = b;
    e->rep = rep;
    e->it = e->have_gn = e->lin_t = e->failed = 0;
    e->fail_col = -1;
    e->last_acc = 1;
    e->phase = DOPT__NLLS_GO;
    e->bad = -1;
    e->st = DOPT_OK;
    e->F = e->gHg = e->gmax = e->xnorm = e->pred = 0;
    e->lambda = o->initial_lambda;
    e->nu = 2;
    e->radius = o->initial_radius;
    memset(rep, 0, sizeof *rep);
    rep->fail_variable = -1;
}

/* record a failure of kind `kind` (DOPT__NLLS_FAIL_*) with status st; the element stops */
static int DOPT_FN(dopt__nlls_fail)(DOPT_FN(dopt__nlls_elem) *e, int kind, dopt_status st)
{
    e->failed = kind;
    e->st = st;
    return DOPT__NLLS_STOP;
}

/* the first linearization (LM linearizes each trial point along with its cost, into H2, g2, and
   keeps that on acceptance: trial points are already projected onto their manifolds) */
static int DOPT_FN(dopt__nlls_begin)(DOPT_FN(dopt_nlls_solver) *s, const DOPT_FN(dopt_nlls_options) *o,
                                     DOPT_FN(dopt__nlls_elem) *e, dopt_nlls_timing *tm)
{
    const dopt_hooks *hooks = &s->p->hooks;
    dopt_nlls_report *rep = e->rep;
    double t0 = 0;
    if (e->timed) t0 = dopt__nlls_clock();
    e->st = DOPT_FN(dopt__nlls_eval)(s, e->b, e->x, 1, o->robust_mode, o->numeric_diff_step, &e->F, &e->bad);
    if (e->timed) tm->linearize_s += dopt__nlls_clock() - t0;
    tm->linearizations++;
    if (e->st != DOPT_OK) return DOPT_FN(dopt__nlls_fail)(e, DOPT__NLLS_FAIL_EVAL, e->st);
    rep->initial_cost = rep->final_cost = (double)e->F;
    e->gmax = DOPT_FN(dopt_amax)(s->n, s->g, 1);
    rep->gradient_norm = (double)e->gmax;
    e->xnorm = DOPT_FN(dopt__nlls_xnorm)(s, e->x);
    if (e->logging) {
        if (s->p->batch > 1) dopt_log(hooks, DOPT_LOG_INFO, "batch element %d of %d", e->b, s->p->batch);
        dopt_log(hooks, DOPT_LOG_INFO, "iter      cost      cost_change  |gradient|   |step|    tr_ratio  tr_radius  ls_iter  iter_time  total_time");
        DOPT_FN(dopt__nlls_logline)(hooks, 0, (double)e->F, 0, (double)e->gmax, 0, 0,
                                    o->method == DOPT_NLLS_LM ? 1.0 / (double)e->lambda : (double)e->radius,
                                    0, dopt__nlls_clock() - e->t_start, dopt__nlls_clock() - e->t_start);
    }
    if (s->n == 0 || (o->gradient_tolerance >= 0 && e->gmax <= o->gradient_tolerance)) {
        rep->stop = DOPT_STOP_GRADIENT;
        return DOPT__NLLS_STOP;
    }
    return DOPT__NLLS_GO;
}

/* the start of an iteration: stop at max_iterations, else count it */
static int DOPT_FN(dopt__nlls_iter)(const DOPT_FN(dopt_nlls_options) *o, DOPT_FN(dopt__nlls_elem) *e)
{
    if (e->it >= o->max_iterations) {
        e->rep->stop = DOPT_STOP_MAX_ITERATIONS;
        return DOPT__NLLS_STOP;
    }
    e->it++;
    e->rep->iterations = e->it;
    if (e->logging) e->t_iter = dopt__nlls_clock();
    return DOPT__NLLS_GO;
}

/* LM: the damping D (dscale: clamped diag H, or I) and dadd = lambda D */
static void DOPT_FN(dopt__nlls_lm_damp)(DOPT_FN(dopt_nlls_solver) *s, const DOPT_FN(dopt_nlls_options) *o,
                                        const DOPT_FN(dopt__nlls_elem) *e)
{
    DOPT_FN(dopt__nlls_damping)(s, o->lm_damping, e->lambda, s->dscale, NULL);
}

/* LM's damping update after a step of gain ratio `ratio` (accepted or not; a failed
   factorization counts as rejected): Nielsen's (lambda *= max(1/3, 1 - (2 ratio - 1)^3), nu = 2;
   rejected: lambda *= nu, nu *= 2) or the fixed factor's.  One definition for every caller. */
static void DOPT_FN(dopt__nlls_lm_update)(const DOPT_FN(dopt_nlls_options) *o, DOPT_FN(dopt__nlls_elem) *e,
                                          int accept, DOPT_REAL ratio)
{
    if (accept) {
        if (o->lm_update == DOPT_LM_UPDATE_NIELSEN) {
            DOPT_REAL q = 2 * ratio - 1, f = 1 - q * q * q;
            e->lambda *= f > (DOPT_REAL)(1.0 / 3.0) ? f : (DOPT_REAL)(1.0 / 3.0);
            e->nu = 2;
        } else {
            e->lambda /= o->lm_factor;
        }
        if (e->lambda < (DOPT_REAL)1e-16) e->lambda = (DOPT_REAL)1e-16;
    } else if (o->lm_update == DOPT_LM_UPDATE_NIELSEN) {
        e->lambda *= e->nu;
        e->nu *= 2;
    } else {
        e->lambda *= o->lm_factor;
    }
}

/* LM: the outcome st of factoring H + diag(dadd).  NOT_POSITIVE_DEFINITE is a rejected step
   (more damping: AGAIN, or STOP above max_lambda); another error stops the element; on success
   d = -g, the right-hand side of the solve (GO). */
static int DOPT_FN(dopt__nlls_lm_factored)(DOPT_FN(dopt_nlls_solver) *s, const DOPT_FN(dopt_nlls_options) *o,
                                           DOPT_FN(dopt__nlls_elem) *e, dopt_status st, dopt_nlls_timing *tm)
{
    int i;
    tm->factorizations++;
    if (st == DOPT_ERR_NOT_POSITIVE_DEFINITE) {
        DOPT_FN(dopt__nlls_lm_update)(o, e, 0, 0);
        if (e->logging)
            DOPT_FN(dopt__nlls_logline)(&s->p->hooks, e->it, (double)e->F, 0, (double)e->gmax, 0, 0,
                                        1.0 / (double)e->lambda, 0, dopt__nlls_clock() - e->t_iter,
                                        dopt__nlls_clock() - e->t_start);
        if (e->lambda > o->max_lambda) {
            e->rep->stop = DOPT_STOP_NO_PROGRESS;
            return DOPT__NLLS_STOP;
        }
        return DOPT__NLLS_AGAIN;
    }
    if (st != DOPT_OK) return DOPT_FN(dopt__nlls_fail)(e, DOPT__NLLS_FAIL_FACTOR, st);
    for (i = 0; i < s->n; ++i) s->d[i] = -s->g[i];
    return DOPT__NLLS_GO;
}

/* the model decrease of a scaled step t d (step_size t != 1): -t g.d - t^2 d.Hd / 2 */
static void DOPT_FN(dopt__nlls_pred_scaled)(DOPT_FN(dopt_nlls_solver) *s, const DOPT_FN(dopt_nlls_options) *o,
                                            DOPT_FN(dopt__nlls_elem) *e)
{
    int n = s->n, i;
    DOPT_REAL tstep = o->step_size, gd = DOPT_FN(dopt_dot)(n, s->g, 1, s->d, 1), dHd;
    if (o->method == DOPT_NLLS_LM) { /* (H + lambda D) d = -g: d.Hd = -g.d - lambda d.Dd */
        DOPT_REAL dDd = 0;
        for (i = 0; i < n; ++i) dDd += s->dscale[i] * s->d[i] * s->d[i];
        dHd = -gd - e->lambda * dDd;
    } else if (o->method == DOPT_NLLS_GN) { /* H d = -g */
        dHd = -gd;
    } else {
        DOPT_FN(dopt__nlls_hv)(s, s->d, s->hv);
        dHd = DOPT_FN(dopt_dot)(n, s->d, 1, s->hv, 1);
    }
    e->pred = -tstep * gd - tstep * tstep * dHd / 2;
}

/* LM: the model decrease of the solved step d, (H + lambda D) d = -g */
static void DOPT_FN(dopt__nlls_lm_pred)(DOPT_FN(dopt_nlls_solver) *s, const DOPT_FN(dopt_nlls_options) *o,
                                        DOPT_FN(dopt__nlls_elem) *e)
{
    DOPT_REAL pred = 0, lambda = e->lambda;
    int i;
    for (i = 0; i < s->n; ++i) pred += -s->g[i] * s->d[i] + lambda * s->dscale[i] * s->d[i] * s->d[i];
    e->pred = pred / 2;
    if (o->step_size != 1) DOPT_FN(dopt__nlls_pred_scaled)(s, o, e);
}

/* the Gauss-Newton step out = -H^{-1} g (H undamped, factored in the element's slot): GO, or
   STOP with the element failed (Gauss-Newton's step, and dogleg's once per linearization) */
static int DOPT_FN(dopt__nlls_gn_step)(DOPT_FN(dopt_nlls_solver) *s, DOPT_FN(dopt__nlls_elem) *e,
                                       dopt_nlls_timing *tm, DOPT_REAL *out)
{
    dopt_status st = DOPT_FN(dopt__nlls_factor)(s, e->b, NULL, &e->fail_col);
    int i;
    tm->factorizations++;
    if (st != DOPT_OK) return DOPT_FN(dopt__nlls_fail)(e, DOPT__NLLS_FAIL_FACTOR, st);
    for (i = 0; i < s->n; ++i) out[i] = -s->g[i];
    st = s->ls.solve(s->ls.self, out);
    if (st != DOPT_OK) return DOPT_FN(dopt__nlls_fail)(e, DOPT__NLLS_FAIL_FACTOR, st);
    return DOPT__NLLS_GO;
}

/* Powell's dogleg step within the trust radius, from the Gauss-Newton step (factored once per
   linearization) and the steepest-descent step */
static int DOPT_FN(dopt__nlls_dogleg)(DOPT_FN(dopt_nlls_solver) *s, DOPT_FN(dopt__nlls_elem) *e,
                                      dopt_nlls_timing *tm)
{
    int n = s->n, i;
    DOPT_REAL pred = 0;
    if (!e->have_gn) {
        if (DOPT_FN(dopt__nlls_gn_step)(s, e, tm, s->gn) != DOPT__NLLS_GO) return DOPT__NLLS_STOP;
        DOPT_FN(dopt__nlls_hv)(s, s->g, s->hv);
        e->gHg = DOPT_FN(dopt_dot)(n, s->g, 1, s->hv, 1);
        e->have_gn = 1;
    }
    DOPT_FN(dopt__nlls_dogleg_step)(n, s->g, s->gn, e->gHg, e->radius, s->d, NULL, NULL);
    DOPT_FN(dopt__nlls_hv)(s, s->d, s->hv);
    for (i = 0; i < n; ++i) pred -= s->g[i] * s->d[i] + s->d[i] * s->hv[i] / 2;
    e->pred = pred;
    return DOPT__NLLS_GO;
}

/* the step d and its model decrease e->pred, by the method of o (sequential: LM factors and
   solves here itself) */
static int DOPT_FN(dopt__nlls_step)(DOPT_FN(dopt_nlls_solver) *s, const DOPT_FN(dopt_nlls_options) *o,
                                    DOPT_FN(dopt__nlls_elem) *e, dopt_nlls_timing *tm)
{
    int n = s->n, i, r;
    dopt_status st;
    if (o->method == DOPT_NLLS_LM) {
        DOPT_FN(dopt__nlls_lm_damp)(s, o, e);
        st = DOPT_FN(dopt__nlls_factor)(s, e->b, s->dadd, &e->fail_col);
        r = DOPT_FN(dopt__nlls_lm_factored)(s, o, e, st, tm);
        if (r != DOPT__NLLS_GO) return r;
        st = s->ls.solve(s->ls.self, s->d);
        if (st != DOPT_OK) return DOPT_FN(dopt__nlls_fail)(e, DOPT__NLLS_FAIL_FACTOR, st);
        DOPT_FN(dopt__nlls_lm_pred)(s, o, e);
        return DOPT__NLLS_GO;
    }
    if (o->method == DOPT_NLLS_GN) {
        DOPT_REAL pred = 0;
        if (DOPT_FN(dopt__nlls_gn_step)(s, e, tm, s->d) != DOPT__NLLS_GO) return DOPT__NLLS_STOP;
        for (i = 0; i < n; ++i) pred -= s->g[i] * s->d[i];
        e->pred = pred / 2;
    } else {
        r = DOPT_FN(dopt__nlls_dogleg)(s, e, tm);
        if (r != DOPT__NLLS_GO) return r;
    }
    if (o->step_size != 1) DOPT_FN(dopt__nlls_pred_scaled)(s, o, e);
    return DOPT__NLLS_GO;
}

/* the rest of an iteration, given the step d and e->pred: step tolerance, the trial point (GN's
   line search), acceptance, the damping / radius update, then on acceptance the stopping tests
   and the new linearization.  GO: next iteration; STOP: done. */
static int DOPT_FN(dopt__nlls_finish)(DOPT_FN(dopt_nlls_solver) *s, const DOPT_FN(dopt_nlls_options) *o,
                                      DOPT_FN(dopt__nlls_elem) *e, dopt_nlls_timing *tm)
{
    const dopt_hooks *hooks = &s->p->hooks;
    dopt_nlls_report *rep = e->rep;
    int n = s->n, accept, ls_iter = 0, fuse = o->method == DOPT_NLLS_LM;
    DOPT_REAL F = e->F, Fnew = 0, pred = e->pred, dnorm, tstep = o->step_size, ratio = 0, dF;
    DOPT_REAL lam_step = e->lambda, rad_step = e->radius; /* for iteration_hook */
    double t0 = 0;
    dnorm = DOPT_FN(dopt_nrm2)(n, s->d, 1);
    if (o->step_tolerance >= 0 && dnorm <= o->step_tolerance * (e->xnorm + o->step_tolerance)) {
        /* a step that shrank below the tolerance only through rejections (no step accepted
           yet, the start not optimal) is no convergence: say so */
        rep->stop = rep->accepted > 0 ? DOPT_STOP_STEP : DOPT_STOP_NO_PROGRESS;
        if (e->logging)
            DOPT_FN(dopt__nlls_logline)(hooks, e->it, (double)F, 0, (double)e->gmax, (double)dnorm, 0,
                                        o->method == DOPT_NLLS_LM ? 1.0 / (double)e->lambda : (double)e->radius,
                                        0, dopt__nlls_clock() - e->t_iter, dopt__nlls_clock() - e->t_start);
        return DOPT__NLLS_STOP;
    }
    /* ---- the trial point ---- */
    for (;;) {
        if (e->timed) t0 = dopt__nlls_clock();
        DOPT_FN(dopt__nlls_retract)(s, e->x, s->d, tstep, s->xt);
        /* only after an accepted step (after a rejection, the next is often rejected too: its
           Jacobians would be wasted); never at the last iteration's point */
        e->lin_t = fuse && e->last_acc && e->it < o->max_iterations;
        if (e->lin_t) DOPT_FN(dopt__nlls_swap_lin)(s);
        e->st = DOPT_FN(dopt__nlls_eval)(s, e->b, s->xt, e->lin_t, o->robust_mode, o->numeric_diff_step, &Fnew, &e->bad);
        if (e->lin_t) DOPT_FN(dopt__nlls_swap_lin)(s); /* the trial's H, g now in H2, g2 */
        if (e->timed) tm->linearize_s += dopt__nlls_clock() - t0;
        if (e->st == DOPT_ERR_NON_FINITE && e->bad < 0) { e->st = DOPT_OK; Fnew = (DOPT_REAL)HUGE_VAL; }
        if (e->st != DOPT_OK) return DOPT_FN(dopt__nlls_fail)(e, DOPT__NLLS_FAIL_EVAL, e->st);
        if (o->method != DOPT_NLLS_GN || !o->line_search) break;
        {
            DOPT_REAL slope = DOPT_FN(dopt_dot)(n, s->g, 1, s->d, 1);
            if (Fnew <= F + (DOPT_REAL)1e-4 * tstep * slope) break;
        }
        if (ls_iter >= o->max_line_search_steps) break;
        tstep /= 2;
        ls_iter++;
    }
    dF = F - Fnew;
    if (o->method == DOPT_NLLS_GN) {
        accept = !o->line_search || Fnew <= F;
        ratio = pred > 0 ? dF / pred : 0;
    } else {
        /* a predicted decrease below the rounding of S cannot be measured: accept such a
           step when S does not grow beyond rounding (else LM stalls just short of the
           minimum, rejecting steps on noise) */
        DOPT_REAL noise = 16 * DOPT_EPS * DOPT_M(fabs)(F);
        ratio = (pred > 0 && Fnew - Fnew == 0) ? dF / pred : -1;
        if (pred > 0 && pred <= noise && dF >= -noise) ratio = 1;
        accept = ratio > o->min_relative_decrease;
    }
    if (o->method == DOPT_NLLS_LM) {
        DOPT_FN(dopt__nlls_lm_update)(o, e, accept, ratio);
    } else if (o->method == DOPT_NLLS_DOGLEG) {
        if (ratio > (DOPT_REAL)0.75) {
            if (3 * dnorm > e->radius) e->radius = 3 * dnorm;
        } else if (ratio < (DOPT_REAL)0.25) {
            e->radius = (dnorm < e->radius ? dnorm : e->radius) / 2;
        }
    }
    if (e->logging)
        DOPT_FN(dopt__nlls_logline)(hooks, e->it, (double)(accept ? Fnew : F), (double)dF, (double)e->gmax,
                                    (double)(tstep * dnorm), (double)ratio,
                                    o->method == DOPT_NLLS_LM ? 1.0 / (double)e->lambda : (double)e->radius,
                                    ls_iter, dopt__nlls_clock() - e->t_iter, dopt__nlls_clock() - e->t_start);
    if (o->iteration_hook) o->iteration_hook(o->hook_user, e->b, e->x, s->d, tstep, lam_step, rad_step, accept);
    e->last_acc = accept;
    if (!accept) {
        if ((o->method == DOPT_NLLS_LM && e->lambda > o->max_lambda) ||
            (o->method == DOPT_NLLS_DOGLEG && e->radius < o->min_radius) || o->method == DOPT_NLLS_GN) {
            rep->stop = DOPT_STOP_NO_PROGRESS;
            return DOPT__NLLS_STOP;
        }
        return DOPT__NLLS_GO;
    }
    /* ---- accept ---- */
    memcpy(e->x, s->xt, (size_t)s->p->xdim * sizeof(DOPT_REAL)); /* projected by retract */
    rep->accepted++;
    rep->final_cost = (double)Fnew;
    if (o->function_tolerance >= 0 && DOPT_M(fabs)(dF) <= o->function_tolerance * F) {
        e->F = Fnew;
        rep->stop = DOPT_STOP_FUNCTION_TOLERANCE;
        return DOPT__NLLS_STOP;
    }
    if (o->cost_change_tolerance > 0 && DOPT_M(fabs)(dF) <= o->cost_change_tolerance) {
        e->F = Fnew;
        rep->stop = DOPT_STOP_COST_CHANGE;
        return DOPT__NLLS_STOP;
    }
    if (e->it >= o->max_iterations) { /* no linearization at the last point: nothing would use it */
        e->F = Fnew;
        rep->stop = DOPT_STOP_MAX_ITERATIONS;
        return DOPT__NLLS_STOP;
    }
    if (e->lin_t) { /* linearized with the trial cost */
        DOPT_FN(dopt__nlls_swap_lin)(s);
        e->F = Fnew;
    } else {
        if (e->timed) t0 = dopt__nlls_clock();
        e->st = DOPT_FN(dopt__nlls_eval)(s, e->b, e->x, 1, o->robust_mode, o->numeric_diff_step, &e->F, &e->bad);
        if (e->timed) tm->linearize_s += dopt__nlls_clock() - t0;
        if (e->st != DOPT_OK) return DOPT_FN(dopt__nlls_fail)(e, DOPT__NLLS_FAIL_EVAL, e->st);
    }
    tm->linearizations++;
    e->have_gn = 0;
    e->gmax = DOPT_FN(dopt_amax)(n, s->g, 1);
    rep->gradient_norm = (double)e->gmax;
    e->xnorm = DOPT_FN(dopt__nlls_xnorm)(s, e->x);
    if (o->gradient_tolerance >= 0 && e->gmax <= o->gradient_tolerance) {
        rep->stop = DOPT_STOP_GRADIENT;
        return DOPT__NLLS_STOP;
    }
    return DOPT__NLLS_GO;
}

/* the element's outcome once it stopped: its report's last fields, and for a failure the errinfo
   (info) and the returned status */
static dopt_status DOPT_FN(dopt__nlls_end)(DOPT_FN(dopt_nlls_solver) *s, DOPT_FN(dopt__nlls_elem) *e,
                                           dopt_errinfo *info)
{
    dopt_nlls_report *rep = e->rep;
    if (!e->failed) {
        rep->final_cost = (double)e->F;
        return DOPT_OK;
    }
    rep->stop = DOPT_STOP_FAILED;
    rep->status = e->st;
    if (e->failed == DOPT__NLLS_FAIL_FACTOR) {
        rep->final_cost = (double)e->F;
        return DOPT_FN(dopt__nlls_factor_failure)(s, e->st, e->fail_col, e->b, rep, info);
    }
#ifndef DOPT_NO_STDIO
    {
        char msg[160];
        if (e->bad >= 0)
            snprintf(msg, sizeof msg, "element %d: cost %ld returned \"%s\"", e->b, e->bad, dopt_status_string(e->st));
        else
            snprintf(msg, sizeof msg, "element %d: the objective is NaN or Inf", e->b);
        return dopt_errinfo_set(info, e->st, e->b, 0, msg);
    }
#else
    return dopt_errinfo_set(info, e->st, e->b, 0, "a cost failed or the objective is not finite");
#endif
}

/* one batch element, start to end */
static dopt_status DOPT_FN(dopt__nlls_solve_one)(DOPT_FN(dopt_nlls_solver) *s,
                                                 const DOPT_FN(dopt_nlls_options) *o, DOPT_REAL *x,
                                                 int b, dopt_nlls_report *rep, dopt_nlls_timing *tm,
                                                 dopt_errinfo *info)
{
    DOPT_FN(dopt__nlls_elem) e;
    double t0 = 0;
    int r;
    DOPT_FN(dopt__nlls_elem_init)(s, o, &e, x, b, rep);
    r = DOPT_FN(dopt__nlls_begin)(s, o, &e, tm);
    while (r != DOPT__NLLS_STOP) {
        r = DOPT_FN(dopt__nlls_iter)(o, &e);
        if (r == DOPT__NLLS_STOP) break;
        if (e.timed) t0 = dopt__nlls_clock();
        r = DOPT_FN(dopt__nlls_step)(s, o, &e, tm);
        if (e.timed) tm->solve_s += dopt__nlls_clock() - t0;
        if (r == DOPT__NLLS_GO) r = DOPT_FN(dopt__nlls_finish)(s, o, &e, tm);
    }
    return DOPT_FN(dopt__nlls_end)(s, &e, info);
}

/* ---- lockstep Levenberg-Marquardt over a group of elements ----------------------------------- */

/* point the solver's iteration buffers at element e's lane buffers, and back (the trial
   linearization swaps H, H2 and g, g2: the element keeps whichever it holds now) */
static void DOPT_FN(dopt__nlls_bind)(DOPT_FN(dopt_nlls_solver) *s, const DOPT_FN(dopt__nlls_elem) *e)
{
    s->H = e->H; s->g = e->g; s->H2 = e->H2; s->g2 = e->g2;
    s->d = e->d; s->dscale = e->dscale; s->dadd = e->dadd;
}
static void DOPT_FN(dopt__nlls_unbind)(const DOPT_FN(dopt_nlls_solver) *s, DOPT_FN(dopt__nlls_elem) *e)
{
    e->H = s->H; e->g = s->g; e->H2 = s->H2; e->g2 = s->g2;
}

/* One lockstep iteration of the running lanes 0 .. cnt-1: each builds its damping, ONE
 * factor_batch factors them all, each handles its outcome, ONE solve_batch solves the factored
 * ones' d = -g, then each finishes its iteration.  Returns the number of lanes still running. */
static int DOPT_FN(dopt__nlls_lockstep_iter)(DOPT_FN(dopt_nlls_solver) *s, const DOPT_FN(dopt_nlls_options) *o,
                                             int cnt, dopt_nlls_timing *tm)
{
    const DOPT_FN(dopt_linear_solver) *ls = &s->ls;
    int l, k = 0, j, solved = 0, running = 0;
    double t0 = 0;
    dopt_status st;
    if (o->timing) t0 = dopt__nlls_clock();
    for (l = 0; l < cnt; ++l) { /* the damping of every running lane, packed */
        DOPT_FN(dopt__nlls_elem) *e = s->lane + l;
        if (e->phase == DOPT__NLLS_STOP) continue;
        e->phase = DOPT_FN(dopt__nlls_iter)(o, e);
        if (e->phase == DOPT__NLLS_STOP) continue;
        DOPT_FN(dopt__nlls_bind)(s, e);
        DOPT_FN(dopt__nlls_lm_damp)(s, o, e);
        s->lane_values[k] = e->H;
        s->lane_dadd[k] = e->dadd;
        s->lane_rhs[k] = e->d;
        s->lane_index[k++] = l;
    }
    if (k == 0) return 0;
    st = ls->factor_batch(ls->self, k, s->lane_values, s->lane_dadd, s->lane_status, s->lane_fail);
    for (j = 0; j < k; ++j) {
        DOPT_FN(dopt__nlls_elem) *e = s->lane + s->lane_index[j];
        if (st != DOPT_OK) { s->lane_status[j] = st; s->lane_fail[j] = -1; } /* the call failed */
        e->fail_col = s->lane_fail[j];
        DOPT_FN(dopt__nlls_bind)(s, e);
        e->phase = DOPT_FN(dopt__nlls_lm_factored)(s, o, e, s->lane_status[j], tm);
        solved += e->phase == DOPT__NLLS_GO;
    }
    if (solved) ls->solve_batch(ls->self, k, s->lane_rhs);
    for (j = 0; j < k; ++j) {
        DOPT_FN(dopt__nlls_elem) *e = s->lane + s->lane_index[j];
        if (e->phase != DOPT__NLLS_GO) continue;
        DOPT_FN(dopt__nlls_bind)(s, e);
        DOPT_FN(dopt__nlls_lm_pred)(s, o, e);
    }
    if (o->timing) tm->solve_s += dopt__nlls_clock() - t0;
    for (j = 0; j < k; ++j) {
        DOPT_FN(dopt__nlls_elem) *e = s->lane + s->lane_index[j];
        if (e->phase == DOPT__NLLS_GO) {
            DOPT_FN(dopt__nlls_bind)(s, e);
            e->phase = DOPT_FN(dopt__nlls_finish)(s, o, e, tm);
            DOPT_FN(dopt__nlls_unbind)(s, e);
        }
        running += e->phase != DOPT__NLLS_STOP;
    }
    return running;
}

/* Levenberg-Marquardt on the batch in consecutive groups of s->lanes elements, each group in
 * lockstep (dopt__nlls_lockstep_iter); reports, errinfo and status as the sequential loop
 * gives them (the outcomes are taken in element order once a group is done). */
static dopt_status DOPT_FN(dopt__nlls_lockstep)(DOPT_FN(dopt_nlls_solver) *s, const DOPT_FN(dopt_nlls_options) *o,
                                                DOPT_REAL *x, ptrdiff_t x_stride, dopt_nlls_report *reports,
                                                dopt_nlls_timing *tm, dopt_errinfo *info)
{
    DOPT_REAL *H = s->H, *g = s->g, *H2 = s->H2, *g2 = s->g2, *d = s->d, *dscale = s->dscale, *dadd = s->dadd;
    dopt_status first = DOPT_OK;
    int g0, l, batch = s->p->batch;
    for (g0 = 0; g0 < batch; g0 += s->lanes) {
        int cnt = batch - g0 < s->lanes ? batch - g0 : s->lanes, running = 0;
        for (l = 0; l < cnt; ++l) {
            DOPT_FN(dopt__nlls_elem) *e = s->lane + l;
            DOPT_FN(dopt__nlls_elem_init)(s, o, e, x + (ptrdiff_t)(g0 + l) * x_stride, g0 + l, &e->rep_own);
            DOPT_FN(dopt__nlls_bind)(s, e);
            e->phase = DOPT_FN(dopt__nlls_begin)(s, o, e, tm);
            running += e->phase != DOPT__NLLS_STOP;
        }
        while (running) running = DOPT_FN(dopt__nlls_lockstep_iter)(s, o, cnt, tm);
        for (l = 0; l < cnt; ++l) {
            DOPT_FN(dopt__nlls_elem) *e = s->lane + l;
            dopt_errinfo local;
            dopt_status st;
            DOPT_FN(dopt__nlls_bind)(s, e); /* a factor failure names its variable from e's H */
            st = DOPT_FN(dopt__nlls_end)(s, e, first == DOPT_OK ? info : &local);
            if (reports) reports[g0 + l] = e->rep_own;
            if (st != DOPT_OK && first == DOPT_OK) first = st;
        }
    }
    s->H = H; s->g = g; s->H2 = H2; s->g2 = g2; s->d = d; s->dscale = dscale; s->dadd = dadd;
    return first;
}

/* ---- bounds and equality constraints: the projected LM with a KKT step -------------------------- */
/* (the method is written down at dopt_nlls_solve's declaration, CONSTRAINED LEAST SQUARES)          */

/* this element's bounds per tangent column (+-inf where a column has none) */
static void DOPT_FN(dopt__nlls_con_bounds)(DOPT_FN(dopt_nlls_solver) *s, int b)
{
    const DOPT_FN(dopt_nlls_problem) *p = s->p;
    DOPT_FN(dopt__nlls_con) *C = s->con;
    int j, i;
    for (j = 0; j < s->nblocks; ++j) {
        const DOPT_FN(dopt__nlls_var) *vv = p->var + s->block_var[j];
        int c0 = s->block_start[j];
        for (i = 0; i < s->block_dim[j]; ++i) {
            C->lo[c0 + i] = vv->lo ? vv->lo[(ptrdiff_t)b * vv->bstride + i] : -(DOPT_REAL)HUGE_VAL;
            C->hi[c0 + i] = vv->hi ? vv->hi[(ptrdiff_t)b * vv->bstride + i] : (DOPT_REAL)HUGE_VAL;
        }
    }
}

/* clip the bounded coordinates of state x into the box */
static void DOPT_FN(dopt__nlls_con_clip)(const DOPT_FN(dopt_nlls_solver) *s, DOPT_REAL *x)
{
    const DOPT_FN(dopt__nlls_con) *C = s->con;
    int i;
    for (i = 0; i < s->n; ++i) {
        int o = C->bx[i];
        if (o < 0) continue;
        if (x[o] < C->lo[i]) x[o] = C->lo[i];
        if (x[o] > C->hi[i]) x[o] = C->hi[i];
    }
}

/* c (m reals) = the constraints of element b at x and, when wantA, C->A = dc / d delta (free
 * tangent columns; the columns of constant variables are left out).  *bad: failing constraint. */
static dopt_status DOPT_FN(dopt__nlls_con_eval)(DOPT_FN(dopt_nlls_solver) *s, int b, const DOPT_REAL *x,
                                                DOPT_REAL *c, int wantA, DOPT_REAL hstep, long *bad)
{
    const DOPT_FN(dopt_nlls_problem) *p = s->p;
    DOPT_FN(dopt__nlls_con) *C = s->con;
    const DOPT_REAL *vp[DOPT_NLLS_MAX_COST_VARS];
    const DOPT_FN(dopt_manifold) *mp[DOPT_NLLS_MAX_COST_VARS];
    DOPT_REAL *jp[DOPT_NLLS_MAX_COST_VARS];
    int k, l, i, t, row = 0, n = s->n;
    if (wantA && C->m) memset(C->A, 0, (size_t)C->m * (size_t)n * sizeof(DOPT_REAL));
    for (k = 0; k < p->ncon; ++k) {
        const DOPT_FN(dopt__nlls_cost) *cs = p->con + k;
        DOPT_REAL *J = C->J;
        int rd = cs->d.rdim;
        dopt_status st;
        for (l = 0; l < cs->d.nvars; ++l) {
            const DOPT_FN(dopt__nlls_var) *vv = p->var + cs->vars[l];
            vp[l] = x + vv->offset;
            mp[l] = &vv->m;
            jp[l] = (wantA && s->var_block[cs->vars[l]] >= 0) ? J : NULL;
            J += rd * vv->m.tangent_dim;
        }
        st = DOPT_FN(dopt__nlls_cost_call)(cs, DOPT_FN(dopt__nlls_cost_data)(cs, b), vp, mp, jp, wantA,
                                           hstep, c + row, C->scr);
        if (st == DOPT_OK && !DOPT_FN(dopt_all_finite)(rd, c + row)) st = DOPT_ERR_NON_FINITE;
        if (st != DOPT_OK) { *bad = k; return st; }
        for (l = 0; l < cs->d.nvars && wantA; ++l) {
            int vb = s->var_block[cs->vars[l]], td = p->var[cs->vars[l]].m.tangent_dim;
            if (vb < 0) continue;
            for (i = 0; i < rd; ++i)
                for (t = 0; t < td; ++t)
                    C->A[(size_t)(row + i) * (size_t)n + (size_t)(s->block_start[vb] + t)] = jp[l][i * td + t];
            if (!DOPT_FN(dopt_all_finite)(rd * td, jp[l])) { *bad = k; return DOPT_ERR_NON_FINITE; }
        }
        row += rd;
    }
    return DOPT_OK;
}

/* gl = g + A^T y; act[i] = 1 where a coordinate sits on its bound and gl pushes it outward (a
 * fixed coordinate, lo = hi, always); returns the max |projected gl| over the coordinates */
static DOPT_REAL DOPT_FN(dopt__nlls_con_active)(DOPT_FN(dopt_nlls_solver) *s, const DOPT_REAL *x,
                                                const DOPT_REAL *y, unsigned char *act)
{
    DOPT_FN(dopt__nlls_con) *C = s->con;
    DOPT_REAL gmax = 0;
    int n = s->n, i, k;
    memcpy(C->gl, s->g, (size_t)n * sizeof(DOPT_REAL));
    for (k = 0; k < C->m; ++k)
        if (y[k] != 0) DOPT_FN(dopt_axpy)(n, y[k], C->A + (size_t)k * (size_t)n, 1, C->gl, 1);
    for (i = 0; i < n; ++i) {
        DOPT_REAL v = C->gl[i];
        int o = C->bx[i], lo = o >= 0 && x[o] <= C->lo[i], hi = o >= 0 && x[o] >= C->hi[i];
        act[i] = (unsigned char)((lo && hi) || (lo && v > 0) || (hi && v < 0));
        if (act[i] || (lo && v > 0) || (hi && v < 0)) v = 0;
        if (DOPT_M(fabs)(v) > gmax) gmax = DOPT_M(fabs)(v);
    }
    return gmax;
}

/* factor K = H + lambda D with the active rows and columns replaced by the identity's */
static dopt_status DOPT_FN(dopt__nlls_con_factor)(DOPT_FN(dopt_nlls_solver) *s, int b, dopt_lm_damping damp,
                                                  DOPT_REAL lambda, const unsigned char *act, int *fail_col)
{
    DOPT_FN(dopt__nlls_con) *C = s->con;
    DOPT_REAL *H = s->H;
    int bc, k, ii, jj;
    dopt_status st;
    memcpy(C->Hp, s->H, s->pat.nvalues * sizeof(DOPT_REAL));
    for (bc = 0; bc < s->nblocks; ++bc) {
        int cs = s->block_start[bc], cd = s->block_dim[bc];
        for (k = s->col_start[bc]; k < s->col_start[bc + 1]; ++k) {
            int br = s->row_block[k], rs = s->block_start[br], rd = s->block_dim[br];
            DOPT_REAL *B = C->Hp + s->value_start[k];
            for (jj = 0; jj < cd; ++jj)
                for (ii = 0; ii < rd; ++ii)
                    if (act[cs + jj] || act[rs + ii]) B[ii + jj * rd] = (br == bc && ii == jj) ? 1 : 0;
        }
    }
    DOPT_FN(dopt__nlls_damping)(s, damp, lambda, NULL, NULL); /* pinned: 1 + lambda D, rhs 0 */
    s->H = C->Hp; /* a damped factor: it goes to the shared slot and is never reused */
    st = DOPT_FN(dopt__nlls_factor)(s, b, s->dadd, fail_col);
    s->H = H;
    return st;
}

/* With K factored: the range-space solve of [K A_f^T; A_f 0] [out; y] = [-rhs_f; -cv]:
 * y = S^-1 (cv - A_f K^-1 rhs_f), out = -K^-1 (rhs_f + A_f^T y), S = A_f K^-1 A_f^T.
 * DOPT_ERR_SINGULAR when S is not positive definite (dependent constraint rows). */
static dopt_status DOPT_FN(dopt__nlls_con_range)(DOPT_FN(dopt_nlls_solver) *s, const unsigned char *act,
                                                 const DOPT_REAL *rhs, const DOPT_REAL *cv, DOPT_REAL *out,
                                                 DOPT_REAL *y)
{
    DOPT_FN(dopt__nlls_con) *C = s->con;
    int n = s->n, m = C->m, i, k, fc = -1;
    dopt_status st;
    for (i = 0; i < n; ++i) C->z0[i] = act[i] ? 0 : rhs[i];
    st = s->ls.solve(s->ls.self, C->z0);
    for (k = 0; k < m && st == DOPT_OK; ++k) {
        DOPT_REAL *Zk = C->Z + (size_t)k * (size_t)n;
        const DOPT_REAL *Ak = C->A + (size_t)k * (size_t)n;
        for (i = 0; i < n; ++i) Zk[i] = act[i] ? 0 : Ak[i];
        st = s->ls.solve(s->ls.self, Zk);
    }
    if (st != DOPT_OK) return st;
    for (k = 0; k < m; ++k) {
        const DOPT_REAL *Ak = C->A + (size_t)k * (size_t)n;
        for (i = k; i < m; ++i) C->S[i + k * m] = DOPT_FN(dopt_dot)(n, C->A + (size_t)i * (size_t)n, 1, C->Z + (size_t)k * (size_t)n, 1);
        y[k] = cv[k] - DOPT_FN(dopt_dot)(n, Ak, 1, C->z0, 1);
    }
    if (m) {
        if (DOPT_FN(dopt_potrf)(m, C->S, m, &fc) != DOPT_OK) return DOPT_ERR_SINGULAR;
        DOPT_FN(dopt_potrs)(m, 1, C->S, m, y, m);
    }
    for (i = 0; i < n; ++i) out[i] = -C->z0[i];
    for (k = 0; k < m; ++k) DOPT_FN(dopt_axpy)(n, -y[k], C->Z + (size_t)k * (size_t)n, 1, out, 1);
    return DOPT_FN(dopt_all_finite)(n, out) && DOPT_FN(dopt_all_finite)(m, y) ? DOPT_OK : DOPT_ERR_NON_FINITE;
}

/* the trial point xt = P(x ⊕ t d) and the step dp actually taken (t d clipped at the box) */
static void DOPT_FN(dopt__nlls_con_trial)(DOPT_FN(dopt_nlls_solver) *s, const DOPT_REAL *x, DOPT_REAL t)
{
    DOPT_FN(dopt__nlls_con) *C = s->con;
    int i;
    DOPT_FN(dopt__nlls_retract)(s, x, s->d, t, C->xt);
    DOPT_FN(dopt__nlls_con_clip)(s, C->xt);
    for (i = 0; i < s->n; ++i) { /* a coordinate that steps onto its bound lands on it exactly */
        int o = C->bx[i];
        if (o < 0) continue;
        if (DOPT_M(fabs)(C->xt[o] - C->lo[i]) <= 4 * DOPT_EPS * DOPT_M(fabs)(C->lo[i]) &&
            C->lo[i] > -(DOPT_REAL)HUGE_VAL) C->xt[o] = C->lo[i];
        if (DOPT_M(fabs)(C->xt[o] - C->hi[i]) <= 4 * DOPT_EPS * DOPT_M(fabs)(C->hi[i]) &&
            C->hi[i] < (DOPT_REAL)HUGE_VAL) C->xt[o] = C->hi[i];
    }
    for (i = 0; i < s->n; ++i) C->dp[i] = C->bx[i] >= 0 ? C->xt[C->bx[i]] - x[C->bx[i]] : t * s->d[i];
}

static DOPT_REAL DOPT_FN(dopt__nlls_con_l1)(int m, const DOPT_REAL *c)
{
    DOPT_REAL a = 0;
    int i;
    for (i = 0; i < m; ++i) a += DOPT_M(fabs)(c[i]);
    return a;
}

/* linearize at x: S, g, H and c, A */
static dopt_status DOPT_FN(dopt__nlls_con_lin)(DOPT_FN(dopt_nlls_solver) *s, const DOPT_FN(dopt_nlls_options) *o,
                                               int b, const DOPT_REAL *x, DOPT_REAL *F, long *bad)
{
    dopt_status st = DOPT_FN(dopt__nlls_eval)(s, b, x, 1, o->robust_mode, o->numeric_diff_step, F, bad);
    if (st == DOPT_OK) st = DOPT_FN(dopt__nlls_con_eval)(s, b, x, s->con->c, 1, o->numeric_diff_step, bad);
    return st;
}

/* the model decrease of the l1 merit for the step dp: -(g.dp + dp.H dp / 2) + mu (|c| - |c + A dp|) */
static DOPT_REAL DOPT_FN(dopt__nlls_con_pred)(DOPT_FN(dopt_nlls_solver) *s, DOPT_REAL mu)
{
    DOPT_FN(dopt__nlls_con) *C = s->con;
    int n = s->n, k;
    DOPT_REAL q;
    DOPT_FN(dopt__nlls_hv)(s, C->dp, C->hd);
    q = DOPT_FN(dopt_dot)(n, s->g, 1, C->dp, 1) + DOPT_FN(dopt_dot)(n, C->dp, 1, C->hd, 1) / 2;
    for (k = 0; k < C->m; ++k)
        C->ad[k] = C->c[k] + DOPT_FN(dopt_dot)(n, C->A + (size_t)k * (size_t)n, 1, C->dp, 1);
    return -q + mu * (DOPT_FN(dopt__nlls_con_l1)(C->m, C->c) - DOPT_FN(dopt__nlls_con_l1)(C->m, C->ad));
}

/* The step s->d of one iteration and its multipliers C->yn: the solution of the damped QP
 *     min g.d + d.K d / 2   subject to   A d = -c,   lo - x <= d <= hi - x
 * by a primal-dual active-set loop (Hintermüller, Ito & Kunisch's PDAS): with the pinned
 * coordinates P held at their bound (del = bound - x; act 1 at the lower, 2 at the upper), the
 * KKT step on the others (rhs g_f + H_fa del_a, target c + A del); then a pinned coordinate
 * whose bound multiplier z = g + K d + A^T y has the wrong sign is released and a free one that
 * leaves the box is pinned at the bound it crosses, until P repeats (at most 2 n + 2 rounds).
 * The first P is the caller's (the active set at x); when it leaves the constraints no free
 * coordinate (S singular) every coordinate starts free; a later such P keeps the step before
 * it, which the trial point then clips at the box. */
static dopt_status DOPT_FN(dopt__nlls_con_step)(DOPT_FN(dopt_nlls_solver) *s, int b, dopt_lm_damping damp,
                                                DOPT_REAL lambda, const DOPT_REAL *x, unsigned char *act,
                                                int *fail_col)
{
    DOPT_FN(dopt__nlls_con) *C = s->con;
    int n = s->n, m = C->m, round, i, k, change, ok = 0;
    dopt_status st;
    for (i = 0; i < n; ++i) {
        int o = C->bx[i];
        C->del[i] = 0;
        if (act[i]) act[i] = (unsigned char)(o >= 0 && x[o] >= C->hi[i] && x[o] > C->lo[i] ? 2 : 1);
    }
    for (round = 0; round < 2 * n + 2; ++round) {
        DOPT_FN(dopt__nlls_hv)(s, C->del, C->hd); /* rhs g + H del (free rows), target c + A del */
        for (i = 0; i < n; ++i) C->gl[i] = s->g[i] + C->hd[i];
        for (k = 0; k < m; ++k)
            C->ct[k] = C->c[k] + DOPT_FN(dopt_dot)(n, C->A + (size_t)k * (size_t)n, 1, C->del, 1);
        st = DOPT_FN(dopt__nlls_con_factor)(s, b, damp, lambda, act, fail_col);
        if (st == DOPT_OK) st = DOPT_FN(dopt__nlls_con_range)(s, act, C->gl, C->ct, C->z0, C->ad);
        if (st == DOPT_ERR_SINGULAR && m && ok) { /* this round's pins leave no freedom */
            int first = -1, nnew = 0;
            for (i = 0; i < n; ++i)
                if (act[i] >= 3) {
                    nnew++;
                    if (first < 0 || C->dp[i] < C->dp[first]) first = i;
                }
            for (i = 0; i < n; ++i)
                if (act[i] >= 3 && (i != first || nnew == 1)) { act[i] = 0; C->del[i] = 0; }
            if (nnew <= 1) return DOPT_OK; /* keep the last step (clipped by the trial) */
            continue;                      /* pin only the first coordinate the step blocks on */
        }
        if (st == DOPT_ERR_SINGULAR && m && round == 0) { /* start with every one free */
            memset(act, 0, (size_t)n);
            memset(C->del, 0, (size_t)n * sizeof(DOPT_REAL));
            continue;
        }
        if (st != DOPT_OK) return st;
        for (i = 0; i < n; ++i)
            if (act[i] >= 3) act[i] = (unsigned char)(act[i] - 2);
        for (i = 0; i < n; ++i) s->d[i] = C->z0[i] + C->del[i];
        if (m) memcpy(C->yn, C->ad, (size_t)m * sizeof(DOPT_REAL));
        ok = 1;
        /* z = g + (H + lambda D) d + A^T y on the pinned coordinates */
        DOPT_FN(dopt__nlls_hv)(s, s->d, C->hd);
        for (k = 0; k < m; ++k) DOPT_FN(dopt_axpy)(n, C->yn[k], C->A + (size_t)k * (size_t)n, 1, C->hd, 1);
        for (i = 0, change = 0; i < n; ++i) {
            int o = C->bx[i];
            DOPT_REAL z = s->g[i] + C->hd[i] + s->dadd[i] * s->d[i];
            if (o < 0 || C->lo[i] >= C->hi[i]) continue;
            if ((act[i] == 1 && z < 0) || (act[i] == 2 && z > 0)) { act[i] = 0; C->del[i] = 0; change = 1; }
            else if (!act[i] && (x[o] + s->d[i] < C->lo[i] || x[o] + s->d[i] > C->hi[i])) {
                int lo = x[o] + s->d[i] < C->lo[i];
                act[i] = (unsigned char)(lo ? 3 : 4); /* new this round (1 / 2 once kept) */
                C->del[i] = (lo ? C->lo[i] : C->hi[i]) - x[o];
                C->dp[i] = C->del[i] / s->d[i];      /* the fraction of the step that reaches it */
                change = 1;
            }
        }
        if (!change) return DOPT_OK;
    }
    return DOPT_OK;
}

/* Try the step t d from x (merit phi = F + mu |c|_1 there): *Ft gets the trial point's merit
 * (+inf where the costs are not finite), *pred the model's decrease.  1 when the trial point is
 * accepted: the gain ratio exceeds min_relative_decrease, or the decrease is below the merit's
 * rounding (16 eps phi) and the merit did not rise beyond it (the last Newton steps). */
static int DOPT_FN(dopt__nlls_con_try)(DOPT_FN(dopt_nlls_solver) *s, const DOPT_FN(dopt_nlls_options) *o, int b,
                                       const DOPT_REAL *x, DOPT_REAL t, DOPT_REAL mu, DOPT_REAL phi,
                                       DOPT_REAL *Ft, DOPT_REAL *pred, long *bad, dopt_status *st)
{
    DOPT_FN(dopt__nlls_con) *C = s->con;
    DOPT_REAL round = 16 * DOPT_EPS * DOPT_M(fabs)(phi);
    DOPT_FN(dopt__nlls_con_trial)(s, x, t);
    *pred = DOPT_FN(dopt__nlls_con_pred)(s, mu);
    *st = DOPT_FN(dopt__nlls_eval)(s, b, C->xt, 0, o->robust_mode, o->numeric_diff_step, Ft, bad);
    if (*st == DOPT_OK) *st = DOPT_FN(dopt__nlls_con_eval)(s, b, C->xt, C->ct, 0, o->numeric_diff_step, bad);
    if (*st == DOPT_ERR_NON_FINITE) { *st = DOPT_OK; *Ft = (DOPT_REAL)HUGE_VAL; return 0; }
    if (*st != DOPT_OK) return 0;
    *Ft += mu * DOPT_FN(dopt__nlls_con_l1)(C->m, C->ct);
    if (DOPT_FN(dopt_amax)(s->n, C->dp, 1) == 0) return 0; /* clipped to nothing */
    if (DOPT_M(fabs)(*pred) <= round) return phi - *Ft >= -round;
    return *pred > 0 && phi - *Ft > o->min_relative_decrease * *pred;
}

/* one element's constrained solve, start to end */
static dopt_status DOPT_FN(dopt__nlls_con_one)(DOPT_FN(dopt_nlls_solver) *s, const DOPT_FN(dopt_nlls_options) *o,
                                               DOPT_REAL *x, int b, dopt_nlls_report *rep, dopt_errinfo *info)
{
    DOPT_FN(dopt__nlls_con) *C = s->con;
    int n = s->n, m = C->m, it = 0, fc = -1, i;
    unsigned char *act = C->act + (size_t)b * (size_t)n;
    DOPT_REAL *y = C->mult + (size_t)b * (size_t)m, F, Ft, lambda = o->initial_lambda, nu = 2, mu = 0;
    DOPT_REAL ctol = o->constraint_tolerance, gmax = 0, cn = 0;
    long bad = -1;
    dopt_status st;
    memset(rep, 0, sizeof *rep);
    rep->fail_variable = -1;
    if (m) memset(y, 0, (size_t)m * sizeof(DOPT_REAL));
    DOPT_FN(dopt__nlls_con_bounds)(s, b);
    DOPT_FN(dopt__nlls_con_clip)(s, x);
    st = DOPT_FN(dopt__nlls_con_lin)(s, o, b, x, &F, &bad);
    rep->initial_cost = F;
    while (st == DOPT_OK) {
        gmax = DOPT_FN(dopt__nlls_con_active)(s, x, y, act);
        cn = m ? DOPT_FN(dopt_amax)(m, C->c, 1) : 0;
        st = DOPT_FN(dopt__nlls_con_step)(s, b, o->lm_damping, lambda, x, act, &fc);
        if (st == DOPT_ERR_SINGULAR && m) { /* the guessed active set pins what the constraints
                                               need: take this step with every coordinate free */
            memset(act, 0, (size_t)n);
            st = DOPT_FN(dopt__nlls_con_step)(s, b, o->lm_damping, lambda, x, act, &fc);
        }
        if (st == DOPT_OK) { /* converged: the projected Lagrangian gradient with the new y */
            DOPT_REAL g2 = DOPT_FN(dopt__nlls_con_active)(s, x, C->yn, act);
            if (g2 <= o->gradient_tolerance && cn <= ctol) {
                if (m) memcpy(y, C->yn, (size_t)m * sizeof(DOPT_REAL));
                gmax = g2;
                rep->stop = DOPT_STOP_GRADIENT;
                break;
            }
            if (cn <= ctol && DOPT_FN(dopt_nrm2)(n, s->d, 1) <=
                                  8 * DOPT_EPS * (DOPT_FN(dopt__nlls_xnorm)(s, x) + DOPT_EPS)) {
                if (m) memcpy(y, C->yn, (size_t)m * sizeof(DOPT_REAL)); /* the QP step is below */
                gmax = g2;                                              /* x's resolution      */
                rep->stop = DOPT_STOP_STEP;
                break;
            }
        }
        if (it >= o->max_iterations) { rep->stop = DOPT_STOP_MAX_ITERATIONS; st = DOPT_OK; break; }
        ++it;
        if (st == DOPT_OK) {
            DOPT_REAL ymax = m ? DOPT_FN(dopt_amax)(m, C->yn, 1) : 0, phi, pred = 0, dn, t = 1;
            int acc = 0, ls;
            if (m) memcpy(y, C->yn, (size_t)m * sizeof(DOPT_REAL)); /* the next active set's y */
            if ((DOPT_REAL)1.5 * ymax > mu) mu = (DOPT_REAL)1.5 * ymax;
            phi = F + mu * DOPT_FN(dopt__nlls_con_l1)(m, C->c);
            /* backtracking along the step before more damping: the damped KKT step meets the
               linearized constraints in full, which overshoots curved ones far from them */
            for (ls = 0; ls < 4 && !acc && st == DOPT_OK; ++ls, t /= 4)
                acc = DOPT_FN(dopt__nlls_con_try)(s, o, b, x, t, mu, phi, &Ft, &pred, &bad, &st);
            if (st != DOPT_OK) break;
            if (acc) { /* accept; a step accepted on rounding (its decrease below the merit's
                          rounding) has no meaningful gain ratio: as a full one (else a ratio of
                          noise, e.g. -300, multiplies lambda by 1e8 and stalls the last steps) */
                DOPT_REAL r = DOPT_M(fabs)(pred) <= 16 * DOPT_EPS * DOPT_M(fabs)(phi) ? 1 : (phi - Ft) / pred;
                DOPT_REAL f = 1 - (2 * r - 1) * (2 * r - 1) * (2 * r - 1);
                dn = DOPT_FN(dopt_nrm2)(n, C->dp, 1);
                memcpy(x, C->xt, (size_t)s->p->xdim * sizeof(DOPT_REAL));
                rep->accepted++;
                if (o->lm_update == DOPT_LM_UPDATE_FACTOR) lambda /= o->lm_factor;
                else lambda *= f > (DOPT_REAL)(1.0 / 3) ? f : (DOPT_REAL)(1.0 / 3);
                nu = 2;
                st = DOPT_FN(dopt__nlls_con_lin)(s, o, b, x, &F, &bad);
                if (st != DOPT_OK) break;
                cn = m ? DOPT_FN(dopt_amax)(m, C->c, 1) : 0;
                if (cn <= ctol && o->step_tolerance >= 0 &&
                    dn <= o->step_tolerance * (DOPT_FN(dopt__nlls_xnorm)(s, x) + o->step_tolerance)) {
                    rep->stop = DOPT_STOP_STEP;
                    gmax = DOPT_FN(dopt__nlls_con_active)(s, x, y, act);
                    break;
                }
                if (cn <= ctol && o->function_tolerance >= 0 && phi - Ft <= o->function_tolerance * phi) {
                    rep->stop = DOPT_STOP_FUNCTION_TOLERANCE;
                    gmax = DOPT_FN(dopt__nlls_con_active)(s, x, y, act);
                    break;
                }
                continue;
            }
        } else if (st != DOPT_ERR_NOT_POSITIVE_DEFINITE && st != DOPT_ERR_NON_FINITE) {
            break; /* dependent constraints: no damping helps */
        }
        st = DOPT_OK; /* rejected step or failed damped factor: more damping */
        if (o->lm_update == DOPT_LM_UPDATE_FACTOR) lambda *= o->lm_factor;
        else { lambda *= nu; nu *= 2; }
        if (lambda > o->max_lambda) { rep->stop = DOPT_STOP_NO_PROGRESS; break; }
    }
    rep->iterations = it;
    rep->final_cost = F;
    rep->gradient_norm = gmax;
    rep->constraint_norm = cn;
    for (i = 0; i < n; ++i) rep->active_bounds += act[i];
    rep->status = st;
    if (st != DOPT_OK) {
        rep->stop = DOPT_STOP_FAILED;
        if (st == DOPT_ERR_SINGULAR)
            return dopt_errinfo_set(info, st, b, 0, "nlls: the constraint rows are linearly dependent on the free coordinates");
        return dopt_errinfo_set(info, st, bad >= 0 ? bad : b, 0, "nlls: a cost or constraint failed in a constrained solve");
    }
    return DOPT_OK;
}

/* the constrained solve of every element, one after the other */
static dopt_status DOPT_FN(dopt__nlls_con_solve)(DOPT_FN(dopt_nlls_solver) *s, const DOPT_FN(dopt_nlls_options) *o,
                                                 DOPT_REAL *x, ptrdiff_t x_stride, dopt_nlls_report *reports,
                                                 dopt_errinfo *info)
{
    dopt_status first = DOPT_OK;
    int b;
    for (b = 0; b < s->p->batch; ++b) {
        dopt_nlls_report rep;
        dopt_errinfo local;
        dopt_status st = DOPT_FN(dopt__nlls_con_one)(s, o, x + (ptrdiff_t)b * x_stride, b, &rep,
                                                      first == DOPT_OK ? info : &local);
        if (reports) reports[b] = rep;
        if (st != DOPT_OK && first == DOPT_OK) first = st;
    }
    return first;
}

/* v = (∇²L - H) w at xs for the Lagrangian L = S + y^T c: central differences of its gradient
 * g + A^T y along w (the exact Hessian-vector product, as implicit_exact's for S) less the
 * Gauss-Newton part H w (hv: the solver's H at xs on entry, and again on return; C->A0 holds A
 * at xs and is copied back into C->A) */
static dopt_status DOPT_FN(dopt__nlls_con_curv)(DOPT_FN(dopt_nlls_solver) *s, int b, dopt_robust_mode mode,
                                                DOPT_REAL hstep, const DOPT_REAL *xs, const DOPT_REAL *y,
                                                const DOPT_REAL *w, DOPT_REAL *v)
{
    DOPT_FN(dopt__nlls_con) *C = s->con;
    DOPT_REAL wmax = DOPT_FN(dopt_amax)(s->n, w, 1), h, F, sg;
    int n = s->n, i, k, side;
    long bad = -1;
    dopt_status st = DOPT_OK;
    DOPT_FN(dopt__nlls_hv)(s, w, v);
    for (i = 0; i < n; ++i) v[i] = -v[i];
    if (wmax == 0) return DOPT_OK;
    h = DOPT_M(cbrt)(DOPT_EPS) / wmax;
    for (side = 0, sg = 1; side < 2 && st == DOPT_OK; ++side, sg = -1) {
        DOPT_FN(dopt__nlls_retract)(s, xs, w, sg * h, C->xt);
        st = DOPT_FN(dopt__nlls_eval)(s, b, C->xt, 1, mode, hstep, &F, &bad);
        if (st == DOPT_OK) st = DOPT_FN(dopt__nlls_con_eval)(s, b, C->xt, C->ct, 1, hstep, &bad);
        if (st != DOPT_OK) break;
        for (k = 0; k < C->m; ++k) DOPT_FN(dopt_axpy)(n, y[k], C->A + (size_t)k * (size_t)n, 1, s->g, 1);
        for (i = 0; i < n; ++i) v[i] += sg * s->g[i] / (2 * h);
    }
    if (st == DOPT_OK) st = DOPT_FN(dopt__nlls_eval)(s, b, xs, 1, mode, hstep, &F, &bad);
    memcpy(C->A, C->A0, (size_t)C->m * (size_t)n * sizeof(DOPT_REAL));
    if (C->m) memset(C->ct, 0, (size_t)C->m * sizeof(DOPT_REAL));
    return st;
}

/* IMPLICIT's adjoint through the active set: w solves [∇²L_f A_f^T; A_f 0] [w; mu] = [xbar_f; 0]
 * at element b's solution xs, the active set of the forward solve held (w = 0 there).  ∇²L is
 * the Gauss-Newton H (exact = 0), or the exact Hessian of the Lagrangian S + y^T c (exact = 1:
 * iterative refinement on the Gauss-Newton KKT factor with dopt__nlls_con_curv's products, at
 * most 30 sweeps; DOPT_ERR_NO_CONVERGENCE if they do not settle). */
static dopt_status DOPT_FN(dopt__nlls_con_adjoint)(DOPT_FN(dopt_nlls_solver) *s, int b, dopt_robust_mode mode,
                                                   DOPT_REAL hstep, const DOPT_REAL *xs, const DOPT_REAL *xbar,
                                                   int exact, DOPT_REAL *w, int *fail_col)
{
    DOPT_FN(dopt__nlls_con) *C = s->con;
    const unsigned char *act = C->act + (size_t)b * (size_t)s->n;
    const DOPT_REAL *y = C->mult + (size_t)b * (size_t)C->m;
    DOPT_REAL F, tol = (DOPT_REAL)(DOPT_IS_FLOAT ? 1e-5 : 1e-11);
    long bad = -1;
    int i, n = s->n, it;
    dopt_status st = DOPT_FN(dopt__nlls_eval)(s, b, xs, 1, mode, hstep, &F, &bad);
    if (st == DOPT_OK) st = DOPT_FN(dopt__nlls_con_eval)(s, b, xs, C->c, 1, hstep, &bad);
    if (st == DOPT_OK) st = DOPT_FN(dopt__nlls_con_factor)(s, b, DOPT_LM_DAMP_IDENTITY, 0, act, fail_col);
    if (st != DOPT_OK) return st;
    for (i = 0; i < n; ++i) C->gl[i] = -xbar[i];
    if (C->m) memset(C->ct, 0, (size_t)C->m * sizeof(DOPT_REAL));
    st = DOPT_FN(dopt__nlls_con_range)(s, act, C->gl, C->ct, w, C->ad);
    if (st != DOPT_OK || !exact) return st;
    memcpy(C->A0, C->A, (size_t)C->m * (size_t)n * sizeof(DOPT_REAL));
    for (it = 0; it < 30; ++it) { /* w <- M_GN^-1 [xbar - (∇²L - H) w; 0] */
        DOPT_REAL diff = 0, wn;
        st = DOPT_FN(dopt__nlls_con_curv)(s, b, mode, hstep, xs, y, w, C->hd);
        for (i = 0; i < n && st == DOPT_OK; ++i) C->gl[i] = C->hd[i] - xbar[i];
        if (st == DOPT_OK) st = DOPT_FN(dopt__nlls_con_range)(s, act, C->gl, C->ct, C->dp, C->ad);
        if (st != DOPT_OK) return st;
        for (i = 0; i < n; ++i) {
            DOPT_REAL e = DOPT_M(fabs)(C->dp[i] - w[i]);
            if (e > diff) diff = e;
            w[i] = C->dp[i];
        }
        wn = DOPT_FN(dopt_amax)(n, w, 1);
        if (diff <= tol * (wn > 0 ? wn : 1)) return DOPT_OK;
    }
    return DOPT_ERR_NO_CONVERGENCE;
}

DOPT_API const DOPT_REAL *DOPT_FN(dopt_nlls_multipliers)(const DOPT_FN(dopt_nlls_solver) *s, int b)
{
    if (!s || !s->con || !s->con->m || b < 0 || b >= s->p->batch) return NULL;
    return s->con->mult + (size_t)b * (size_t)s->con->m;
}

DOPT_API const unsigned char *DOPT_FN(dopt_nlls_active_set)(const DOPT_FN(dopt_nlls_solver) *s, int b)
{
    if (!s || !s->con || !s->p->nbounded || b < 0 || b >= s->p->batch) return NULL;
    return s->con->act + (size_t)b * (size_t)s->n;
}

/* ---- ragged batches ---------------------------------------------------------------------------- */

struct DOPT_FN(dopt_nlls_ragged) {
    dopt_hooks hooks;
    int np;
    DOPT_FN(dopt_nlls_solver) **s; /* np solvers                                                     */
    ptrdiff_t *off, *first;        /* np + 1 each: packed state offsets and element indices       */
    void *area, *work;             /* the shared iteration buffers and linear-solver memory      */
    size_t area_bytes, work_bytes; /* (each sized for the largest solver; dopt__nlls_ragged_share) */
    const void *owner;             /* the solver whose factor `work` holds (dopt_nlls_solver.owner) */
};

/* Bytes of the linear-solver memory solver s can share (0: its linear solver cannot). */
static size_t DOPT_FN(dopt__nlls_ls_work)(const DOPT_FN(dopt_nlls_solver) *s)
{
    return s->ls.work_bytes && s->ls.share_work ? s->ls.work_bytes(s->ls.self) : 0;
}

/* Point solver s at the ragged batch's shared areas (its own iteration area is freed). */
static dopt_status DOPT_FN(dopt__nlls_ragged_point)(DOPT_FN(dopt_nlls_ragged) *R, DOPT_FN(dopt_nlls_solver) *s)
{
    if (DOPT_FN(dopt__nlls_ls_work)(s) > 0) {
        dopt_status st = s->ls.share_work(s->ls.self, R->work, R->work_bytes);
        if (st != DOPT_OK) return st;
    }
    dopt_free(&s->p->hooks, s->buf, s->buf_bytes);
    s->buf = NULL;
    s->buf_bytes = 0;
    DOPT_FN(dopt__nlls_carve)(s, R->area);
    s->owner = &R->owner;
    return DOPT_OK;
}

/* Solver k (just made) joins the shared memory: the areas grow to its needs when it is larger
 * than every solver before it (those are pointed at the new areas), then it is pointed there.
 * Freeing each solver's own memory as soon as it is made lets the next one reuse those pages. */
static dopt_status DOPT_FN(dopt__nlls_ragged_share)(DOPT_FN(dopt_nlls_ragged) *R, int k)
{
    size_t nb = DOPT_FN(dopt__nlls_buf_bytes)(R->s[k]), nw = DOPT_FN(dopt__nlls_ls_work)(R->s[k]);
    dopt_status st = DOPT_OK;
    int j;
    if (nb > R->area_bytes || nw > R->work_bytes) {
        void *a0 = R->area, *w0 = R->work;
        size_t ab0 = R->area_bytes, wb0 = R->work_bytes;
        size_t ab = nb > ab0 ? nb : ab0, wb = nw > wb0 ? nw : wb0;
        void *a = dopt_alloc(&R->hooks, ab), *w = wb ? dopt_alloc(&R->hooks, wb) : NULL;
        if (!a || (wb && !w)) {
            dopt_free(&R->hooks, a, ab);
            dopt_free(&R->hooks, w, wb);
            return DOPT_ERR_ALLOCATION;
        }
        R->area = a; R->area_bytes = ab;
        R->work = w; R->work_bytes = wb;
        for (j = 0; j < k && st == DOPT_OK; ++j) st = DOPT_FN(dopt__nlls_ragged_point)(R, R->s[j]);
        dopt_free(&R->hooks, a0, ab0);
        dopt_free(&R->hooks, w0, wb0);
        if (st != DOPT_OK) return st;
    }
    return DOPT_FN(dopt__nlls_ragged_point)(R, R->s[k]);
}

DOPT_API void DOPT_FN(dopt_nlls_ragged_destroy)(DOPT_FN(dopt_nlls_ragged) *R)
{
    dopt_hooks h;
    int k;
    if (!R) return;
    h = R->hooks;
    for (k = 0; k < R->np; ++k) DOPT_FN(dopt_nlls_solver_destroy)(R->s[k]);
    dopt_free(&h, R->area, R->area_bytes);
    dopt_free(&h, R->work, R->work_bytes);
    dopt_free(&h, R->s, (size_t)R->np * sizeof *R->s);
    dopt_free(&h, R->off, 2 * ((size_t)R->np + 1) * sizeof *R->off);
    dopt_free(&h, R, sizeof *R);
}

DOPT_API dopt_status DOPT_FN(dopt_nlls_ragged_create)(const dopt_hooks *hooks, int nproblems,
                                                      DOPT_FN(dopt_nlls_problem) *const *problems,
                                                      DOPT_FN(dopt_linear_solver_maker) maker, void *maker_user,
                                                      DOPT_FN(dopt_nlls_ragged) **out, dopt_errinfo *info)
{
    DOPT_FN(dopt_nlls_ragged) *R;
    int k;
    if (!out) return DOPT_ERR_INVALID_ARGUMENT;
    *out = NULL;
    if (nproblems < 1 || !problems) return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "nlls ragged: no problems");
    for (k = 0; k < nproblems; ++k)
        if (!problems[k]) return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, k, 0, "nlls ragged: NULL problem");
    R = (DOPT_FN(dopt_nlls_ragged) *)dopt_alloc(hooks, sizeof *R);
    if (!R) return dopt_errinfo_set(info, DOPT_ERR_ALLOCATION, -1, 0, "nlls ragged");
    memset(R, 0, sizeof *R);
    if (hooks) R->hooks = *hooks;
    R->s = (DOPT_FN(dopt_nlls_solver) **)dopt_alloc(hooks, (size_t)nproblems * sizeof *R->s);
    R->off = (ptrdiff_t *)dopt_alloc(hooks, 2 * ((size_t)nproblems + 1) * sizeof *R->off);
    if (!R->s || !R->off) {
        dopt_free(hooks, R->s, (size_t)nproblems * sizeof *R->s);
        dopt_free(hooks, R->off, 2 * ((size_t)nproblems + 1) * sizeof *R->off);
        dopt_free(hooks, R, sizeof *R);
        return dopt_errinfo_set(info, DOPT_ERR_ALLOCATION, -1, 0, "nlls ragged");
    }
    memset(R->s, 0, (size_t)nproblems * sizeof *R->s);
    R->first = R->off + nproblems + 1;
    R->off[0] = R->first[0] = 0;
    for (k = 0; k < nproblems; ++k) {
        const DOPT_FN(dopt_nlls_problem) *p = problems[k];
        R->off[k + 1] = R->off[k] + (ptrdiff_t)p->batch * p->xdim;
        R->first[k + 1] = R->first[k] + p->batch;
    }
    for (k = 0; k < nproblems; ++k) {
        DOPT_FN(dopt_linear_solver) ls;
        dopt_status st = DOPT_OK;
        R->np = k + 1;
        if (maker) st = maker(maker_user, problems[k], &ls);
        if (st == DOPT_OK) st = DOPT_FN(dopt__nlls_create)(problems[k], maker ? &ls : NULL, 1, &R->s[k], info);
        if (st == DOPT_OK) {
            st = DOPT_FN(dopt__nlls_ragged_share)(R, k);
            if (st != DOPT_OK) dopt_errinfo_set(info, st, k, 0, "nlls ragged: shared memory");
        }
        if (st != DOPT_OK) {
            DOPT_FN(dopt_nlls_ragged_destroy)(R);
            if (info) info->index = k;
            return st;
        }
    }
    *out = R;
    return DOPT_OK;
}

DOPT_API dopt_status DOPT_FN(dopt_nlls_ragged_solve)(DOPT_FN(dopt_nlls_ragged) *R,
                                                     const DOPT_FN(dopt_nlls_options) *opt, DOPT_REAL *x,
                                                     dopt_nlls_report *reports, dopt_errinfo *info)
{
    dopt_status first = DOPT_OK;
    int k;
    if (!R || !x) return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "nlls ragged: NULL argument");
    for (k = 0; k < R->np; ++k) {
        dopt_errinfo local;
        dopt_status st = DOPT_FN(dopt_nlls_solve)(R->s[k], opt, x + R->off[k], 0, reports ? reports + R->first[k] : NULL,
                                                  NULL, first == DOPT_OK ? info : &local);
        if (st != DOPT_OK && first == DOPT_OK) {
            first = st;
            if (info && reports) { /* name the packed element */
                ptrdiff_t b;
                for (b = R->first[k]; b < R->first[k + 1]; ++b)
                    if (reports[b].status != DOPT_OK) { info->index = (long)b; break; }
            }
        }
    }
    return first;
}

DOPT_API DOPT_FN(dopt_nlls_solver) *DOPT_FN(dopt_nlls_ragged_solver)(const DOPT_FN(dopt_nlls_ragged) *R, int k)
{
    return (R && k >= 0 && k < R->np) ? R->s[k] : NULL;
}

DOPT_API ptrdiff_t DOPT_FN(dopt_nlls_ragged_offset)(const DOPT_FN(dopt_nlls_ragged) *R, int k)
{
    return (R && k >= 0 && k <= R->np) ? R->off[k] : -1;
}

DOPT_API ptrdiff_t DOPT_FN(dopt_nlls_ragged_first)(const DOPT_FN(dopt_nlls_ragged) *R, int k)
{
    return (R && k >= 0 && k <= R->np) ? R->first[k] : -1;
}

DOPT_API ptrdiff_t DOPT_FN(dopt_nlls_ragged_count)(const DOPT_FN(dopt_nlls_ragged) *R)
{
    return R ? R->first[R->np] : 0;
}


DOPT_API dopt_status DOPT_FN(dopt_nlls_solve)(DOPT_FN(dopt_nlls_solver) *s,
                                              const DOPT_FN(dopt_nlls_options) *opt, DOPT_REAL *x,
                                              ptrdiff_t x_stride, dopt_nlls_report *reports,
                                              dopt_nlls_timing *timing, dopt_errinfo *info)
{
    DOPT_FN(dopt_nlls_options) o;
    dopt_nlls_timing tm;
    dopt_status first = DOPT_OK;
    double t_start;
    int b;
    if (!s || !x) return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "nlls: NULL argument");
    o = DOPT_FN(dopt__nlls_resolve)(opt);
    if (DOPT_FN(dopt__nlls_bad_options)(opt, &o))
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "nlls: unknown enum value or NaN/Inf in the options");
    if (x_stride == 0) x_stride = s->p->xdim;
    memset(&tm, 0, sizeof tm);
    t_start = o.timing ? dopt__nlls_clock() : 0;
    if (s->con) {
        first = DOPT_FN(dopt__nlls_con_solve)(s, &o, x, x_stride, reports, info);
    } else if (o.method == DOPT_NLLS_LM && s->lanes >= 2 && s->p->batch >= 2 && !o.sequential_batch &&
        !o.iteration_hook && !dopt_log_enabled(&s->p->hooks, DOPT_LOG_INFO)) {
        first = DOPT_FN(dopt__nlls_lockstep)(s, &o, x, x_stride, reports, &tm, info);
    } else {
        for (b = 0; b < s->p->batch; ++b) {
            dopt_nlls_report rep;
            dopt_errinfo local;
            dopt_status st = DOPT_FN(dopt__nlls_solve_one)(s, &o, x + (ptrdiff_t)b * x_stride, b, &rep,
                                                            &tm, first == DOPT_OK ? info : &local);
            if (reports) reports[b] = rep;
            if (st != DOPT_OK && first == DOPT_OK) first = st;
        }
    }
    if (o.timing) tm.total_s = dopt__nlls_clock() - t_start;
    if (timing) *timing = tm;
    return first;
}

DOPT_API dopt_status DOPT_FN(dopt_nlls_evaluate)(DOPT_FN(dopt_nlls_solver) *s, int b,
                                                 const DOPT_REAL *x, DOPT_REAL *cost, DOPT_REAL *g)
{
    long bad = -1;
    dopt_status st;
    if (!s || !x || !cost || b < 0 || b >= s->p->batch) return DOPT_ERR_INVALID_ARGUMENT;
    st = DOPT_FN(dopt__nlls_eval)(s, b, x, g != NULL, DOPT_ROBUST_IRLS, DOPT_M(cbrt)(DOPT_EPS), cost, &bad);
    if (st == DOPT_OK && g) memcpy(g, s->g, (size_t)s->n * sizeof(DOPT_REAL));
    return st;
}

#undef DOPT__NLLS_NONE
#undef DOPT__NLLS_MAXMEM
#undef DOPT__NLLS_GO
#undef DOPT__NLLS_AGAIN
#undef DOPT__NLLS_STOP
#undef DOPT__NLLS_FAIL_FACTOR
#undef DOPT__NLLS_FAIL_EVAL

#ifdef __cplusplus
}
#endif
#endif /* DOPT__NLLS_PASS_IMPL */

/* ---- differentiable least squares: implementation (precision-independent part) ------------- */
#if !defined(DOPT__DRIVE)
#if defined(DOPT_IMPLEMENTATION) && !defined(DOPT_NLLSBWD_IMPLEMENTED)
#define DOPT_NLLSBWD_IMPLEMENTED
#ifdef __cplusplus
extern "C" {
#endif
DOPT_API const char *dopt_nlls_diff_mode_string(dopt_nlls_diff_mode m)
{
    switch (m) {
    case DOPT_NLLS_DIFF_IMPLICIT: return "implicit";
    case DOPT_NLLS_DIFF_UNROLL: return "unroll";
    case DOPT_NLLS_DIFF_TRUNCATED: return "truncated";
    case DOPT_NLLS_DIFF_DLM: return "dlm";
    }
    return "unknown";
}
#ifdef __cplusplus
}
#endif
#define DOPT__NLLSBWD_PASS_IMPL
#define DOPT__DRIVE "dopt.h"
#include "dopt.h"
#undef DOPT__DRIVE
#undef DOPT__NLLSBWD_PASS_IMPL
#endif /* DOPT_IMPLEMENTATION */
#endif /* !DOPT__DRIVE */

/* ---- differentiable least squares: generic implementation ------------------------------------ */
#if defined(DOPT__NLLSBWD_PASS_IMPL) && defined(DOPT_REAL)
#ifdef __cplusplus
extern "C" {
#endif

typedef struct DOPT_FN(dopt__diff_param) {
    dopt_param_kind kind;
    DOPT_REAL *values;
    int dim;
    ptrdiff_t stride;
    size_t goff;                /* offset of its gradient in D->grad                              */
    int poff;                   /* offset in a per-element parameter vector                       */
} DOPT_FN(dopt__diff_param);

struct DOPT_FN(dopt_nlls_diff) {
    DOPT_FN(dopt_nlls_solver) *s;
    dopt_hooks hooks;
    int batch, n, xdim, ncost;
    int nparam, cap_param, ptotal;
    DOPT_FN(dopt__diff_param) *param;
    int *att_n;                                 /* per cost: attachments                          */
    int *att_param;                             /* per cost x MAX: parameter                      */
    DOPT_FN(dopt_param_vjp_fn) *att_vjp;
    DOPT_REAL *grad;
    size_t grad_len;
    /* the recorded forward solve */
    int recorded, cap_iter, keep;               /* keep: -1 every iteration, K >= 0 the last K   */
    DOPT_FN(dopt_nlls_options) fo;              /* resolved forward options                       */
    int *count;                                 /* per element: recorded iterations              */
    DOPT_REAL *tx, *tt, *tl, *tr;               /* per element x cap: state, scale, λ, radius     */
    int *tacc;
    DOPT_REAL *xsol;                            /* batch x xdim: the solutions                    */
    dopt_nlls_report *frep;
    DOPT_REAL *dlam;                            /* batch: ∂L/∂log λ0 (dopt_nlls_diff_damping_grad) */
    /* scratch */
    int maxr, maxT, maxdim;
    DOPT_REAL *v[14];                           /* n-vectors                                      */
    DOPT_REAL *y0, *y1, *y2;                    /* states                                         */
    DOPT_REAL *cr, *cJ, *ctmp, *cz;             /* per-cost scratch: r~, J~, blocks, coefficients */
    DOPT_REAL *cvars, *cdelta, *cr0, *crbar, *cscr, *cretr;
    int *icols;
    DOPT_REAL *pg0, *pg1;                       /* per-element parameter vectors                  */
    unsigned char *clamp;                       /* n: LM damping entry clamped                    */
    int reuse, reused;                          /* backward: kept factors may be reused; count    */
    size_t bytes_trace, bytes_scratch;
    void *scratch;
};

#ifndef DOPT__DV_DEFINED /* indices of the n-vectors in v[] (defined once for both precisions) */
#define DOPT__DV_DEFINED
enum { DOPT__DV_XBAR = 0, DOPT__DV_W, DOPT__DV_GBAR, DOPT__DV_Q, DOPT__DV_U0, DOPT__DV_V0 = 7,
       DOPT__DV_STEP = 10, DOPT__DV_GN, DOPT__DV_T1, DOPT__DV_T2 };
#endif

#define DOPT__DIFF_MAXP DOPT_NLLS_DIFF_MAX_COST_PARAMS

DOPT_API dopt_status DOPT_FN(dopt_nlls_diff_create)(DOPT_FN(dopt_nlls_solver) *s,
                                                    DOPT_FN(dopt_nlls_diff) **out)
{
    DOPT_FN(dopt_nlls_diff) *D;
    const DOPT_FN(dopt_nlls_problem) *p;
    int c, k;
    size_t R = sizeof(DOPT_REAL), bytes, n1;
    unsigned char *m;
    if (!out) return DOPT_ERR_INVALID_ARGUMENT;
    *out = NULL;
    if (!s) return DOPT_ERR_INVALID_ARGUMENT;
    p = s->p;
    D = (DOPT_FN(dopt_nlls_diff) *)dopt_alloc(&p->hooks, sizeof *D);
    if (!D) return DOPT_ERR_ALLOCATION;
    memset(D, 0, sizeof *D);
    D->s = s;
    D->hooks = p->hooks;
    D->batch = p->batch;
    D->n = s->n;
    D->xdim = p->xdim;
    D->ncost = p->ncost;
    D->keep = -1;
    D->maxr = 1; D->maxT = 1; D->maxdim = 1;
    for (c = 0; c < p->ncost; ++c) {
        const DOPT_FN(dopt__nlls_cost) *cs = p->cost + c;
        int T = 0, dsum = 0;
        for (k = 0; k < cs->d.nvars; ++k) {
            T += p->var[cs->vars[k]].m.tangent_dim;
            dsum += p->var[cs->vars[k]].m.dim;
        }
        if (cs->d.rdim > D->maxr) D->maxr = cs->d.rdim;
        if (T > D->maxT) D->maxT = T;
        if (dsum > D->maxdim) D->maxdim = dsum;
    }
    n1 = (size_t)D->n + 1;
    bytes = DOPT_WORKSPACE_ROUND((size_t)p->ncost * sizeof(int) + 1) +
            DOPT_WORKSPACE_ROUND((size_t)p->ncost * DOPT__DIFF_MAXP * sizeof(int) + 1) +
            DOPT_WORKSPACE_ROUND((size_t)p->ncost * DOPT__DIFF_MAXP * sizeof(DOPT_FN(dopt_param_vjp_fn)) + 1) +
            14 * DOPT_WORKSPACE_ROUND(n1 * R) + 3 * DOPT_WORKSPACE_ROUND(((size_t)D->xdim + 1) * R) +
            DOPT_WORKSPACE_ROUND((size_t)D->maxr * R) +
            3 * DOPT_WORKSPACE_ROUND(((size_t)D->maxr + 8) * (size_t)D->maxT * R + R) +
            DOPT_WORKSPACE_ROUND((size_t)(8 * D->maxdim + 8 * D->maxT + 8 * D->maxr + 8) * R) +
            DOPT_WORKSPACE_ROUND((size_t)D->maxT * sizeof(int) + 1) +
            DOPT_WORKSPACE_ROUND(n1) + DOPT_WORKSPACE_ALIGN;
    D->scratch = dopt_alloc(&D->hooks, bytes);
    if (!D->scratch) {
        dopt_free(&D->hooks, D, sizeof *D);
        return DOPT_ERR_ALLOCATION;
    }
    memset(D->scratch, 0, bytes);
    D->bytes_scratch = bytes;
    {
        dopt_workspace ws;
        dopt_workspace_init(&ws, D->scratch, bytes);
        D->att_n = (int *)dopt_workspace_take(&ws, (size_t)p->ncost * sizeof(int) + 1);
        D->att_param = (int *)dopt_workspace_take(&ws, (size_t)p->ncost * DOPT__DIFF_MAXP * sizeof(int) + 1);
        D->att_vjp = (DOPT_FN(dopt_param_vjp_fn) *)dopt_workspace_take(
            &ws, (size_t)p->ncost * DOPT__DIFF_MAXP * sizeof(DOPT_FN(dopt_param_vjp_fn)) + 1);
        for (k = 0; k < 14; ++k) D->v[k] = (DOPT_REAL *)dopt_workspace_take(&ws, n1 * R);
        D->y0 = (DOPT_REAL *)dopt_workspace_take(&ws, ((size_t)D->xdim + 1) * R);
        D->y1 = (DOPT_REAL *)dopt_workspace_take(&ws, ((size_t)D->xdim + 1) * R);
        D->y2 = (DOPT_REAL *)dopt_workspace_take(&ws, ((size_t)D->xdim + 1) * R);
        D->cr = (DOPT_REAL *)dopt_workspace_take(&ws, (size_t)D->maxr * R);
        D->cJ = (DOPT_REAL *)dopt_workspace_take(&ws, ((size_t)D->maxr + 8) * (size_t)D->maxT * R + R);
        D->ctmp = (DOPT_REAL *)dopt_workspace_take(&ws, ((size_t)D->maxr + 8) * (size_t)D->maxT * R + R);
        D->cz = (DOPT_REAL *)dopt_workspace_take(&ws, ((size_t)D->maxr + 8) * (size_t)D->maxT * R + R);
        D->cvars = (DOPT_REAL *)dopt_workspace_take(&ws, (size_t)(8 * D->maxdim + 8 * D->maxT + 8 * D->maxr + 8) * R);
        D->icols = (int *)dopt_workspace_take(&ws, (size_t)D->maxT * sizeof(int) + 1);
        DOPT_ASSERT(D->cvars != NULL && D->icols != NULL);
        D->cdelta = D->cvars + D->maxdim;            /* maxT                                   */
        D->cr0 = D->cdelta + D->maxT;                /* maxr                                   */
        D->crbar = D->cr0 + D->maxr;                 /* maxr                                   */
        D->cscr = D->crbar + D->maxr;                /* 2 maxr + maxdim + maxT (numeric J)     */
        D->cretr = D->cscr + 2 * D->maxr + D->maxdim + D->maxT; /* 3 maxdim + 4 maxT           */
        m = (unsigned char *)dopt_workspace_take(&ws, n1);
        D->clamp = m;
        DOPT_ASSERT(D->clamp != NULL);
    }
    *out = D;
    return DOPT_OK;
}

static void DOPT_FN(dopt__diff_free_trace)(DOPT_FN(dopt_nlls_diff) *D)
{
    if (D->count) dopt_free(&D->hooks, D->count, D->bytes_trace);
    D->count = NULL;
    D->bytes_trace = 0;
    D->cap_iter = 0;
    D->recorded = 0;
}

DOPT_API void DOPT_FN(dopt_nlls_diff_destroy)(DOPT_FN(dopt_nlls_diff) *D)
{
    dopt_hooks h;
    if (!D) return;
    h = D->hooks;
    DOPT_FN(dopt__diff_free_trace)(D);
    dopt_free(&h, D->param, (size_t)D->cap_param * sizeof *D->param);
    dopt_free(&h, D->grad, D->grad_len * sizeof(DOPT_REAL));
    dopt_free(&h, D->pg0, 2 * ((size_t)D->ptotal + 1) * sizeof(DOPT_REAL));
    dopt_free(&h, D->scratch, D->bytes_scratch);
    dopt_free(&h, D, sizeof *D);
}

DOPT_API size_t DOPT_FN(dopt_nlls_diff_bytes)(const DOPT_FN(dopt_nlls_diff) *D)
{
    return D ? sizeof *D + D->bytes_trace + D->bytes_scratch + D->grad_len * sizeof(DOPT_REAL) +
                   2 * ((size_t)D->ptotal + 1) * sizeof(DOPT_REAL) : 0;
}

DOPT_API dopt_status DOPT_FN(dopt_nlls_diff_add_param)(DOPT_FN(dopt_nlls_diff) *D, dopt_param_kind kind,
                                                       DOPT_REAL *values, int dim, ptrdiff_t stride,
                                                       int *index)
{
    DOPT_FN(dopt__diff_param) *P;
    size_t glen, pbytes_old, pbytes_new;
    DOPT_REAL *g, *pg;
    if (!D || !values || dim < 1 || stride < 0 || (unsigned)kind > (unsigned)DOPT_PARAM_LOSS_SCALE)
        return DOPT_ERR_INVALID_ARGUMENT;
    if (D->nparam == D->cap_param) {
        int cap = D->cap_param ? 2 * D->cap_param : 8;
        void *q = dopt_realloc(&D->hooks, D->param, (size_t)D->cap_param * sizeof *D->param,
                               (size_t)cap * sizeof *D->param);
        if (!q) return DOPT_ERR_ALLOCATION;
        D->param = (DOPT_FN(dopt__diff_param) *)q;
        D->cap_param = cap;
    }
    glen = D->grad_len + (size_t)dim * (stride ? (size_t)D->batch : 1);
    g = (DOPT_REAL *)dopt_realloc(&D->hooks, D->grad, D->grad_len * sizeof(DOPT_REAL), glen * sizeof(DOPT_REAL));
    if (!g) return DOPT_ERR_ALLOCATION;
    pbytes_old = 2 * ((size_t)D->ptotal + 1) * sizeof(DOPT_REAL);
    pbytes_new = 2 * ((size_t)D->ptotal + (size_t)dim + 1) * sizeof(DOPT_REAL);
    pg = (DOPT_REAL *)dopt_realloc(&D->hooks, D->pg0, D->pg0 ? pbytes_old : 0, pbytes_new);
    if (!pg) { /* grad already grew: keep its true length (destroy frees that size) */
        memset(g + D->grad_len, 0, (glen - D->grad_len) * sizeof(DOPT_REAL));
        D->grad = g;
        D->grad_len = glen;
        return DOPT_ERR_ALLOCATION;
    }
    P = D->param + D->nparam;
    P->kind = kind;
    P->values = values;
    P->dim = dim;
    P->stride = stride;
    P->goff = D->grad_len;
    P->poff = D->ptotal;
    memset(g + D->grad_len, 0, (glen - D->grad_len) * sizeof(DOPT_REAL));
    D->grad = g;
    D->grad_len = glen;
    D->ptotal += dim;
    D->pg0 = pg;
    D->pg1 = pg + D->ptotal + 1;
    if (index) *index = D->nparam;
    D->nparam++;
    return DOPT_OK;
}

DOPT_API dopt_status DOPT_FN(dopt_nlls_diff_attach)(DOPT_FN(dopt_nlls_diff) *D, int cost, int param,
                                                    DOPT_FN(dopt_param_vjp_fn) vjp)
{
    int a;
    if (!D || cost < 0 || cost >= D->ncost || param < 0 || param >= D->nparam) return DOPT_ERR_INVALID_ARGUMENT;
    a = D->att_n[cost];
    if (a >= DOPT__DIFF_MAXP) return DOPT_ERR_INVALID_ARGUMENT;
    if (D->param[param].kind == DOPT_PARAM_WEIGHT) { /* another cost sharing the same weight memory */
        const DOPT_FN(dopt_nlls_cost_desc) *d = &D->s->p->cost[cost].d;
        const DOPT_FN(dopt__diff_param) *P = D->param + param;
        int dim = d->weight_kind == DOPT_WEIGHT_SCALAR ? 1 : d->weight_kind == DOPT_WEIGHT_DIAGONAL ? d->rdim : d->rdim * d->rdim;
        if (d->weight_kind == DOPT_WEIGHT_NONE || d->weight != P->values || d->weight_stride != P->stride || dim != P->dim)
            return DOPT_ERR_INVALID_ARGUMENT;
    }
    if (D->param[param].kind == DOPT_PARAM_LOSS_SCALE && D->s->p->cost[cost].d.loss == DOPT_LOSS_NONE)
        return DOPT_ERR_INVALID_ARGUMENT;
    D->att_param[cost * DOPT__DIFF_MAXP + a] = param;
    D->att_vjp[cost * DOPT__DIFF_MAXP + a] = vjp;
    D->att_n[cost] = a + 1;
    return DOPT_OK;
}

DOPT_API dopt_status DOPT_FN(dopt_nlls_diff_learn_weight)(DOPT_FN(dopt_nlls_diff) *D, int cost, int *param)
{
    const DOPT_FN(dopt_nlls_cost_desc) *d;
    int dim, k, a;
    dopt_status st;
    if (!D || cost < 0 || cost >= D->ncost) return DOPT_ERR_INVALID_ARGUMENT;
    d = &D->s->p->cost[cost].d;
    if (d->weight_kind == DOPT_WEIGHT_NONE || !d->weight) return DOPT_ERR_INVALID_ARGUMENT;
    if (D->att_n[cost] >= DOPT__DIFF_MAXP) return DOPT_ERR_INVALID_ARGUMENT;
    dim = d->weight_kind == DOPT_WEIGHT_SCALAR ? 1 : d->weight_kind == DOPT_WEIGHT_DIAGONAL ? d->rdim : d->rdim * d->rdim;
    st = DOPT_FN(dopt_nlls_diff_add_param)(D, DOPT_PARAM_WEIGHT, (DOPT_REAL *)(uintptr_t)d->weight, dim,
                                            d->weight_stride, &k);
    if (st != DOPT_OK) return st;
    a = D->att_n[cost];
    D->att_param[cost * DOPT__DIFF_MAXP + a] = k;
    D->att_vjp[cost * DOPT__DIFF_MAXP + a] = NULL;
    D->att_n[cost] = a + 1;
    if (param) *param = k;
    return DOPT_OK;
}

DOPT_API dopt_status DOPT_FN(dopt_nlls_diff_learn_loss_scale)(DOPT_FN(dopt_nlls_diff) *D, DOPT_REAL *value,
                                                              int *param)
{
    return DOPT_FN(dopt_nlls_diff_add_param)(D, DOPT_PARAM_LOSS_SCALE, value, 1, 0, param);
}

DOPT_API int DOPT_FN(dopt_nlls_diff_tangent_offset)(const DOPT_FN(dopt_nlls_diff) *D, int v)
{
    int j;
    if (!D || v < 0 || v >= D->s->p->nvar) return -1;
    j = D->s->var_block[v];
    return j < 0 ? -1 : D->s->block_start[j];
}

DOPT_API int DOPT_FN(dopt_nlls_diff_tangent_size)(const DOPT_FN(dopt_nlls_diff) *D) { return D ? D->n : 0; }

DOPT_API dopt_status DOPT_FN(dopt_nlls_diff_keep_trace)(DOPT_FN(dopt_nlls_diff) *D, int keep)
{
    if (!D || keep < -1) return DOPT_ERR_INVALID_ARGUMENT;
    D->keep = keep;
    return DOPT_OK;
}

DOPT_API const DOPT_REAL *DOPT_FN(dopt_nlls_diff_param_grad)(const DOPT_FN(dopt_nlls_diff) *D, int k)
{
    if (!D || k < 0 || k >= D->nparam) return NULL;
    return D->grad + D->param[k].goff;
}

/* the recording hook handed to the forward solver */
static void DOPT_FN(dopt__diff_hook)(void *user, int b, const DOPT_REAL *x, const DOPT_REAL *d, DOPT_REAL t,
                                     DOPT_REAL lambda, DOPT_REAL radius, int accepted)
{
    DOPT_FN(dopt_nlls_diff) *D = (DOPT_FN(dopt_nlls_diff) *)user;
    size_t k;
    (void)d;
    k = (size_t)b * (size_t)D->cap_iter + (size_t)(D->count[b] % D->cap_iter); /* a ring of the last cap */
    memcpy(D->tx + k * (size_t)D->xdim, x, (size_t)D->xdim * sizeof(DOPT_REAL));
    D->tt[k] = t;
    D->tl[k] = lambda;
    D->tr[k] = radius;
    D->tacc[k] = accepted;
    D->count[b]++;
}

/* copy learnable loss scales into the costs they are attached to */
static void DOPT_FN(dopt__diff_sync)(DOPT_FN(dopt_nlls_diff) *D)
{
    int c, a;
    for (c = 0; c < D->ncost; ++c)
        for (a = 0; a < D->att_n[c]; ++a) {
            const DOPT_FN(dopt__diff_param) *P = D->param + D->att_param[c * DOPT__DIFF_MAXP + a];
            if (P->kind == DOPT_PARAM_LOSS_SCALE) D->s->p->cost[c].d.loss_scale = P->values[0];
        }
}

DOPT_API dopt_status DOPT_FN(dopt_nlls_diff_solve)(DOPT_FN(dopt_nlls_diff) *D,
                                                   const DOPT_FN(dopt_nlls_options) *opt, DOPT_REAL *x,
                                                   ptrdiff_t x_stride, dopt_nlls_report *reports,
                                                   dopt_errinfo *info)
{
    DOPT_FN(dopt_nlls_options) o;
    dopt_status st;
    int b, cap;
    if (!D || !x) return DOPT_ERR_INVALID_ARGUMENT;
    o = DOPT_FN(dopt__nlls_resolve)(opt);
    if (DOPT_FN(dopt__nlls_bad_options)(opt, &o))
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "nlls: unknown enum value or NaN/Inf in the options");
    cap = (D->keep < 0 || D->keep > o.max_iterations) ? o.max_iterations : D->keep;
    if (cap != D->cap_iter || !D->count) {
        size_t B = (size_t)D->batch, C = (size_t)cap, X = (size_t)D->xdim, R = sizeof(DOPT_REAL), bytes;
        unsigned char *m;
        DOPT_FN(dopt__diff_free_trace)(D);
        bytes = DOPT_WORKSPACE_ROUND(B * sizeof(int)) + DOPT_WORKSPACE_ROUND(B * C * X * R + R) +
                4 * DOPT_WORKSPACE_ROUND(B * C * R + R) + DOPT_WORKSPACE_ROUND(B * C * sizeof(int) + 1) +
                DOPT_WORKSPACE_ROUND(B * X * R + R) + DOPT_WORKSPACE_ROUND(B * sizeof(dopt_nlls_report)) +
                DOPT_WORKSPACE_ROUND(B * R);
        m = (unsigned char *)dopt_alloc(&D->hooks, bytes);
        if (!m) return dopt_errinfo_set(info, DOPT_ERR_ALLOCATION, -1, 0, "nlls diff: iteration trace");
        memset(m, 0, bytes);
        D->bytes_trace = bytes;
        D->count = (int *)m;
        m += DOPT_WORKSPACE_ROUND(B * sizeof(int));
        D->tx = (DOPT_REAL *)m; m += DOPT_WORKSPACE_ROUND(B * C * X * R + R);
        D->tt = (DOPT_REAL *)m; m += DOPT_WORKSPACE_ROUND(B * C * R + R);
        D->tl = (DOPT_REAL *)m; m += DOPT_WORKSPACE_ROUND(B * C * R + R);
        D->tr = (DOPT_REAL *)m; m += DOPT_WORKSPACE_ROUND(B * C * R + R);
        D->tacc = (int *)m; m += DOPT_WORKSPACE_ROUND(B * C * sizeof(int) + 1);
        D->xsol = (DOPT_REAL *)m; m += DOPT_WORKSPACE_ROUND(B * X * R + R);
        D->frep = (dopt_nlls_report *)m; m += DOPT_WORKSPACE_ROUND(B * sizeof(dopt_nlls_report));
        D->dlam = (DOPT_REAL *)m;
        D->cap_iter = cap;
    }
    for (b = 0; b < D->batch; ++b) D->count[b] = 0;
    DOPT_FN(dopt__diff_sync)(D);
    o.iteration_hook = cap > 0 ? DOPT_FN(dopt__diff_hook) : NULL;
    o.hook_user = D;
    D->fo = o;
    if (x_stride == 0) x_stride = D->xdim;
    st = DOPT_FN(dopt_nlls_solve)(D->s, &o, x, x_stride, D->frep, NULL, info);
    if (reports) memcpy(reports, D->frep, (size_t)D->batch * sizeof *reports);
    for (b = 0; b < D->batch; ++b)
        memcpy(D->xsol + (size_t)b * (size_t)D->xdim, x + (ptrdiff_t)b * x_stride, (size_t)D->xdim * sizeof(DOPT_REAL));
    D->recorded = 1;
    return st;
}

/* ---- per-cost evaluation ---------------------------------------------------------------------- */

/* loss scale of cost c (a learnable one if attached) */
static DOPT_REAL DOPT_FN(dopt__diff_scale)(const DOPT_FN(dopt_nlls_diff) *D, int c)
{
    int a;
    for (a = 0; a < D->att_n[c]; ++a) {
        const DOPT_FN(dopt__diff_param) *P = D->param + D->att_param[c * DOPT__DIFF_MAXP + a];
        if (P->kind == DOPT_PARAM_LOSS_SCALE) return P->values[0];
    }
    return D->s->p->cost[c].d.loss_scale;
}

/* Cost c of element b at state x, its free variables moved to x ⊕ delta (delta: the cost's free
 * tangent columns stacked in cost order; NULL: not moved).  Out: rw = W r (rdim), raw r in r0 (may
 * be NULL), rho[3] of s = |W r|^2; with J non-NULL also the folded r~ (into rw) and J~ (rdim x T
 * row-major over the free columns), exactly as the forward solver folds them (mode). */
static dopt_status DOPT_FN(dopt__diff_cost)(DOPT_FN(dopt_nlls_diff) *D, int c, int b, const DOPT_REAL *x,
                                            const DOPT_REAL *delta, dopt_robust_mode mode, DOPT_REAL *rw,
                                            DOPT_REAL *r0, DOPT_REAL *J, DOPT_REAL rho[3], int *Tout)
{
    const DOPT_FN(dopt_nlls_solver) *s = D->s;
    const DOPT_FN(dopt_nlls_problem) *p = s->p;
    const DOPT_FN(dopt__nlls_cost) *cs = p->cost + c;
    const void *data = DOPT_FN(dopt__nlls_cost_data)(cs, b);
    const DOPT_REAL *vp[DOPT_NLLS_MAX_COST_VARS];
    const DOPT_FN(dopt_manifold) *mp[DOPT_NLLS_MAX_COST_VARS];
    DOPT_REAL *jp[DOPT_NLLS_MAX_COST_VARS];
    int tk[DOPT_NLLS_MAX_COST_VARS];
    int nv = cs->d.nvars, rdim = cs->d.rdim, k, i, j, T = 0, nfree = 0;
    DOPT_REAL *cx = D->cvars, *scr = D->cscr, sq = 0;
    dopt_status st;
    for (k = 0; k < nv; ++k) {
        const DOPT_FN(dopt__nlls_var) *vv = p->var + cs->vars[k];
        vp[k] = x + vv->offset;
        mp[k] = &vv->m;
        tk[k] = vv->m.tangent_dim;
        jp[k] = NULL;
        if (s->var_block[cs->vars[k]] >= 0) {
            if (delta) {
                vv->m.retract(&vv->m, x + vv->offset, delta + T, cx);
                vp[k] = cx;
                cx += vv->m.dim;
            }
            if (J) jp[k] = J + (size_t)rdim * (size_t)T; /* stacked blocks, fixed below */
            T += tk[k];
            nfree++;
        }
    }
    *Tout = T;
    /* the callback writes block k as rdim x tk row-major at jp[k]; stack them side by side after */
    if (J && nfree) {
        int off = 0;
        for (k = 0; k < nv; ++k)
            if (jp[k]) { jp[k] = D->ctmp + (size_t)rdim * (size_t)off; off += tk[k]; }
    }
    st = DOPT_FN(dopt__nlls_cost_call)(cs, data, vp, mp, jp, J && nfree, D->fo.numeric_diff_step, rw, scr);
    if (st != DOPT_OK) return st;
    if (J) { /* side-by-side blocks -> one rdim x T row-major matrix */
        int off = 0;
        for (k = 0; k < nv; ++k) {
            if (!jp[k]) continue;
            for (i = 0; i < rdim; ++i)
                for (j = 0; j < tk[k]; ++j) J[i * T + off + j] = jp[k][i * tk[k] + j];
            off += tk[k];
        }
    }
    if (r0) memcpy(r0, rw, (size_t)rdim * sizeof(DOPT_REAL));
    if (cs->d.weight_kind != DOPT_WEIGHT_NONE) {
        const DOPT_REAL *w = cs->d.weight + (ptrdiff_t)b * cs->d.weight_stride;
        DOPT_FN(dopt__nlls_weigh)(cs->d.weight_kind, w, rdim, 1, rw, D->ctmp);
        if (J && T) DOPT_FN(dopt__nlls_weigh)(cs->d.weight_kind, w, rdim, T, J, D->ctmp);
    }
    for (i = 0; i < rdim; ++i) sq += rw[i] * rw[i];
    if (cs->d.loss != DOPT_LOSS_NONE) {
        DOPT_FN(dopt_nlls_loss_eval)(cs->d.loss, DOPT_FN(dopt__diff_scale)(D, c), sq, rho);
        if (J) { /* the forward solver's folding (see dopt__nlls_eval) */
            DOPT_REAL sq1, alpha, rs;
            DOPT_FN(dopt__nlls_robust_coefs)(rho, sq, mode, &sq1, &alpha, &rs);
            DOPT_FN(dopt__nlls_robust_jacobian)(rdim, T, rw, sq, alpha, sq1, J);
            for (i = 0; i < rdim; ++i) rw[i] *= rs;
        }
    } else {
        rho[0] = sq; rho[1] = 1; rho[2] = 0;
    }
    return DOPT_OK;
}

/* the first tangent column of each free variable of cost c, stacked (cols: T entries) */
static int DOPT_FN(dopt__diff_cols)(const DOPT_FN(dopt_nlls_diff) *D, int c, int *cols)
{
    const DOPT_FN(dopt_nlls_solver) *s = D->s;
    const DOPT_FN(dopt__nlls_cost) *cs = s->p->cost + c;
    int k, j, T = 0;
    for (k = 0; k < cs->d.nvars; ++k) {
        int blk = s->var_block[cs->vars[k]];
        if (blk < 0) continue;
        for (j = 0; j < s->block_dim[blk]; ++j) cols[T++] = s->block_start[blk] + j;
    }
    return T;
}

/* derivative of rho(s; a) with respect to the scale a */
static DOPT_REAL DOPT_FN(dopt__diff_drho_da)(dopt_loss_kind kind, DOPT_REAL a, DOPT_REAL s)
{
    DOPT_REAL a2, t, e;
    if (!(a > 0)) return 0;
    a2 = a * a;
    switch (kind) {
    case DOPT_LOSS_HUBER: return s <= a2 ? 0 : 2 * DOPT_M(sqrt)(s) - 2 * a;
    case DOPT_LOSS_CAUCHY: t = 1 + s / a2; return 2 * a * DOPT_M(log)(t) - 2 * s / (a * t);
    case DOPT_LOSS_WELSCH: e = DOPT_M(exp)(-s / a2); return 2 * a * (1 - e) - 2 * s * e / a;
    case DOPT_LOSS_TUKEY:
        if (s > a2) return 2 * a / 3;
        t = 1 - s / a2;
        return 2 * a / 3 * (1 - t * t * t) - 2 * t * t * s / a;
    case DOPT_LOSS_GEMAN_MCCLURE: t = a2 + s; return 2 * a * s * s / (t * t);
    case DOPT_LOSS_SOFT_L1: t = DOPT_M(sqrt)(1 + s / a2); return 4 * a * (t - 1) - 2 * s / (a * t);
    default: return 0;
    }
}

/* pg (ptotal reals) += ∂S/∂φ of element b at state x: first order (weights, loss scales analytic;
 * DATA through the cost's vjp or central differences of S_c). */
static dopt_status DOPT_FN(dopt__diff_dS_dphi)(DOPT_FN(dopt_nlls_diff) *D, int b, const DOPT_REAL *x,
                                               DOPT_REAL h0, DOPT_REAL *pg)
{
    const DOPT_FN(dopt_nlls_problem) *p = D->s->p;
    DOPT_REAL rho[3], *rw = D->cr, *r0 = D->cr0, *rbar = D->crbar;
    int c, a, i, j, T;
    dopt_status st;
    for (c = 0; c < D->ncost; ++c) {
        const DOPT_FN(dopt__nlls_cost) *cs = p->cost + c;
        int rdim = cs->d.rdim;
        if (!D->att_n[c] || cs->off) continue; /* a disabled cost: no gradient */
        st = DOPT_FN(dopt__diff_cost)(D, c, b, x, NULL, DOPT_ROBUST_IRLS, rw, r0, NULL, rho, &T);
        if (st != DOPT_OK) return st;
        for (a = 0; a < D->att_n[c]; ++a) {
            const DOPT_FN(dopt__diff_param) *P = D->param + D->att_param[c * DOPT__DIFF_MAXP + a];
            DOPT_FN(dopt_param_vjp_fn) vjp = D->att_vjp[c * DOPT__DIFF_MAXP + a];
            DOPT_REAL *out = pg + P->poff, *pv = P->values + (ptrdiff_t)b * P->stride;
            if (P->kind == DOPT_PARAM_LOSS_SCALE) {
                DOPT_REAL s2 = 0;
                for (i = 0; i < rdim; ++i) s2 += rw[i] * rw[i];
                out[0] += DOPT_FN(dopt__diff_drho_da)(cs->d.loss, pv[0], s2) / 2;
            } else if (P->kind == DOPT_PARAM_WEIGHT) {
                if (cs->d.weight_kind == DOPT_WEIGHT_SCALAR) {
                    DOPT_REAL q = 0;
                    for (i = 0; i < rdim; ++i) q += r0[i] * r0[i];
                    out[0] += rho[1] * pv[0] * q;
                } else if (cs->d.weight_kind == DOPT_WEIGHT_DIAGONAL) {
                    for (i = 0; i < rdim; ++i) out[i] += rho[1] * pv[i] * r0[i] * r0[i];
                } else {
                    for (i = 0; i < rdim; ++i)
                        for (j = 0; j < rdim; ++j) out[i * rdim + j] += rho[1] * rw[i] * r0[j];
                }
            } else if (vjp) {
                const void *data = cs->d.data ? (const void *)((const char *)cs->d.data + (size_t)b * cs->d.data_stride) : NULL;
                const DOPT_REAL *vp[DOPT_NLLS_MAX_COST_VARS];
                int k;
                /* rbar = rho' W^T (W r) */
                for (i = 0; i < rdim; ++i) rbar[i] = rw[i];
                if (cs->d.weight_kind != DOPT_WEIGHT_NONE) {
                    const DOPT_REAL *w = cs->d.weight + (ptrdiff_t)b * cs->d.weight_stride;
                    if (cs->d.weight_kind == DOPT_WEIGHT_SCALAR) for (i = 0; i < rdim; ++i) rbar[i] *= w[0];
                    else if (cs->d.weight_kind == DOPT_WEIGHT_DIAGONAL) for (i = 0; i < rdim; ++i) rbar[i] *= w[i];
                    else
                        for (j = 0; j < rdim; ++j) {
                            DOPT_REAL acc = 0;
                            for (i = 0; i < rdim; ++i) acc += w[i * rdim + j] * rw[i];
                            rbar[j] = acc;
                        }
                }
                for (i = 0; i < rdim; ++i) rbar[i] *= rho[1];
                for (k = 0; k < cs->d.nvars; ++k) vp[k] = x + p->var[cs->vars[k]].offset;
                st = vjp(data, vp, rbar, a, out);
                if (st != DOPT_OK) return st;
            } else { /* central differences of S_c = rho(s) / 2 in the parameter's memory */
                for (j = 0; j < P->dim; ++j) {
                    DOPT_REAL v0 = pv[j], h = h0 * (DOPT_M(fabs)(v0) > 1 ? DOPT_M(fabs)(v0) : 1), rp[3], rm[3];
                    pv[j] = v0 + h;
                    st = DOPT_FN(dopt__diff_cost)(D, c, b, x, NULL, DOPT_ROBUST_IRLS, rw, NULL, NULL, rp, &T);
                    pv[j] = v0 - h;
                    if (st == DOPT_OK) st = DOPT_FN(dopt__diff_cost)(D, c, b, x, NULL, DOPT_ROBUST_IRLS, rw, NULL, NULL, rm, &T);
                    pv[j] = v0;
                    if (st != DOPT_OK) return st;
                    out[j] += (rp[0] - rm[0]) / (4 * h);
                }
                st = DOPT_FN(dopt__diff_cost)(D, c, b, x, NULL, DOPT_ROBUST_IRLS, rw, r0, NULL, rho, &T);
                if (st != DOPT_OK) return st;
            }
        }
    }
    return DOPT_OK;
}

/* y = x ⊕ (t d) over the free variables; other values copied */
static void DOPT_FN(dopt__diff_retract)(const DOPT_FN(dopt_nlls_diff) *D, const DOPT_REAL *x, const DOPT_REAL *d,
                                        DOPT_REAL t, DOPT_REAL *y, DOPT_REAL *tmp)
{
    const DOPT_FN(dopt_nlls_solver) *s = D->s;
    int j, i;
    memcpy(y, x, (size_t)D->xdim * sizeof(DOPT_REAL));
    for (i = 0; i < s->n; ++i) tmp[i] = t * d[i];
    for (j = 0; j < s->nblocks; ++j) {
        const DOPT_FN(dopt__nlls_var) *vv = s->p->var + s->block_var[j];
        vv->m.retract(&vv->m, x + vv->offset, tmp + s->block_start[j], y + vv->offset);
    }
}

/* add per-element parameter vector pg into the gradients (scaled) */
static void DOPT_FN(dopt__diff_accum)(DOPT_FN(dopt_nlls_diff) *D, int b, const DOPT_REAL *pg, DOPT_REAL scale)
{
    int k, j;
    for (k = 0; k < D->nparam; ++k) {
        const DOPT_FN(dopt__diff_param) *P = D->param + k;
        DOPT_REAL *g = D->grad + P->goff + (P->stride ? (size_t)b * (size_t)P->dim : 0);
        for (j = 0; j < P->dim; ++j) g[j] += scale * pg[P->poff + j];
    }
}

/* Linearize element b at x and factor H (+ λ D for LM when lm > 0); on success s->H, s->g hold
 * the system and s->ls the factor.  A failed factor gives *fail_col.  Undamped (lm <= 0), during
 * a backward that allows it (D->reuse), a kept factor of the bit-identical matrix is used instead
 * of a new one (dopt__nlls_reuse; D->reused counts): the linearization, its finiteness check and
 * the factor's own checks (rank deficiency included, which that factor passed) are the same. */
static dopt_status DOPT_FN(dopt__diff_linearize)(DOPT_FN(dopt_nlls_diff) *D, int b, const DOPT_REAL *x,
                                                 DOPT_REAL lm, int *fail_col)
{
    DOPT_FN(dopt_nlls_solver) *s = D->s;
    DOPT_REAL F;
    long bad = -1;
    dopt_status st = DOPT_FN(dopt__nlls_eval)(s, b, x, 1, D->fo.robust_mode, D->fo.numeric_diff_step, &F, &bad);
    if (st != DOPT_OK) return st;
    if (!DOPT_FN(dopt_all_finite)((int)s->pat.nvalues, s->H) || !DOPT_FN(dopt_all_finite)(s->n, s->g))
        return DOPT_ERR_NON_FINITE;
    if (lm > 0) DOPT_FN(dopt__nlls_damping)(s, D->fo.lm_damping, lm, NULL, D->clamp);
    *fail_col = -1;
    if (lm <= 0 && D->reuse && DOPT_FN(dopt__nlls_reuse)(s, b)) {
        D->reused++;
        return DOPT_OK;
    }
    return DOPT_FN(dopt__nlls_factor)(s, b, lm > 0 ? s->dadd : NULL, fail_col);
}

/* The step of recorded iteration (b, k) at state x: linearize, factor, Δ into v[STEP]; for the
 * dogleg also gn into v[GN]; *branch = 0 (GN / LM), 1 (Cauchy), 2 (blend); *beta, *cc (the
 * Cauchy factor gg / gHg) for the blend. */
static dopt_status DOPT_FN(dopt__diff_step)(DOPT_FN(dopt_nlls_diff) *D, int b, size_t k, const DOPT_REAL *x,
                                            int *branch, DOPT_REAL *beta, DOPT_REAL *cc, int *fail_col)
{
    DOPT_FN(dopt_nlls_solver) *s = D->s;
    int n = s->n, i;
    DOPT_REAL *step = D->v[DOPT__DV_STEP], *gn = D->v[DOPT__DV_GN];
    dopt_status st;
    *branch = 0; *beta = 0; *cc = 0;
    st = DOPT_FN(dopt__diff_linearize)(D, b, x, D->fo.method == DOPT_NLLS_LM ? D->tl[k] : 0, fail_col);
    if (st != DOPT_OK) return st;
    for (i = 0; i < n; ++i) gn[i] = -s->g[i];
    st = s->ls.solve(s->ls.self, gn);
    if (st != DOPT_OK) return st;
    if (D->fo.method != DOPT_NLLS_DOGLEG) {
        memcpy(step, gn, (size_t)n * sizeof(DOPT_REAL));
        return DOPT_OK;
    } else {
        DOPT_REAL radius = D->tr[k], gHg = 0;
        if (DOPT_FN(dopt_nrm2)(n, gn, 1) > radius) { /* g^T H g only when the dogleg needs it */
            DOPT_FN(dopt__nlls_hv)(s, s->g, s->hv);
            gHg = DOPT_FN(dopt_dot)(n, s->g, 1, s->hv, 1);
        }
        *branch = DOPT_FN(dopt__nlls_dogleg_step)(n, s->g, gn, gHg, radius, step, cc, beta);
    }
    return DOPT_OK;
}

DOPT_API const DOPT_REAL *DOPT_FN(dopt_nlls_diff_damping_grad)(const DOPT_FN(dopt_nlls_diff) *D)
{
    return (D && D->recorded) ? D->dlam : NULL;
}

DOPT_API dopt_status DOPT_FN(dopt_nlls_diff_replay)(DOPT_FN(dopt_nlls_diff) *D, int b, DOPT_REAL *x)
{
    int k, branch, fail_col;
    DOPT_REAL beta, cc;
    dopt_status st;
    if (!D || !x || !D->recorded || b < 0 || b >= D->batch) return DOPT_ERR_INVALID_ARGUMENT;
    if (D->count[b] > D->cap_iter) return DOPT_ERR_INVALID_ARGUMENT; /* the trace kept only the last K */
    DOPT_FN(dopt__diff_sync)(D);
    for (k = 0; k < D->count[b]; ++k) {
        size_t kk = (size_t)b * (size_t)D->cap_iter + (size_t)k;
        if (!D->tacc[kk]) continue;
        st = DOPT_FN(dopt__diff_step)(D, b, kk, x, &branch, &beta, &cc, &fail_col);
        if (st != DOPT_OK) return st;
        DOPT_FN(dopt__diff_retract)(D, x, D->v[DOPT__DV_STEP], D->tt[kk], D->y2, D->v[DOPT__DV_T1]);
        memcpy(x, D->y2, (size_t)D->xdim * sizeof(DOPT_REAL));
    }
    return DOPT_OK;
}

/* ψ_c = gbᵀ J~ᵀ r~ + Σ_m (J~ u_m)ᵀ (J~ v_m) + Σ_j q_j |J~_{:,j}|² for cost c at x ⊕ delta.  The
 * coefficient vectors are gathered onto the cost's T free columns in cx-independent storage. */
static dopt_status DOPT_FN(dopt__diff_psi)(DOPT_FN(dopt_nlls_diff) *D, int c, int b, const DOPT_REAL *x,
                                           const DOPT_REAL *delta, const DOPT_REAL *coef, int nr1,
                                           DOPT_REAL *out)
{
    const DOPT_FN(dopt__nlls_cost) *cs = D->s->p->cost + c;
    int rdim = cs->d.rdim, T, i, j, m;
    DOPT_REAL rho[3], acc = 0, *J = D->cJ, *r = D->cr;
    const DOPT_REAL *gb, *q;
    dopt_status st = DOPT_FN(dopt__diff_cost)(D, c, b, x, delta, D->fo.robust_mode, r, NULL, J, rho, &T);
    if (st != DOPT_OK) return st;
    gb = coef;
    q = coef + T;
    for (i = 0; i < rdim; ++i) {
        const DOPT_REAL *Ji = J + (size_t)i * T;
        DOPT_REAL jg = 0;
        for (j = 0; j < T; ++j) {
            jg += Ji[j] * gb[j];
            acc += q[j] * Ji[j] * Ji[j];
        }
        acc += jg * r[i];
        for (m = 0; m < nr1; ++m) {
            const DOPT_REAL *u = coef + (2 + 2 * m) * T, *v = u + T;
            DOPT_REAL ju = 0, jv = 0;
            for (j = 0; j < T; ++j) { ju += Ji[j] * u[j]; jv += Ji[j] * v[j]; }
            acc += ju * jv;
        }
    }
    *out = acc;
    return DOPT_OK;
}

/* xbar += ∂ψ/∂θ and pg += ∂ψ/∂φ over every cost, by central differences of each cost over its own
 * free tangent columns and parameter entries.  ψ's coefficients: gbar = v[GBAR], q = v[Q],
 * u_m = v[U0 + m], v_m = v[V0 + m], m < nr1. */
static dopt_status DOPT_FN(dopt__diff_psi_grad)(DOPT_FN(dopt_nlls_diff) *D, int b, const DOPT_REAL *x, int nr1,
                                                DOPT_REAL h0, DOPT_REAL *xbar, DOPT_REAL *pg)
{
    const DOPT_FN(dopt_nlls_solver) *s = D->s;
    const DOPT_FN(dopt_nlls_problem) *p = s->p;
    int *cols = D->icols;
    DOPT_REAL *coef = D->cz, *delta = D->cdelta;
    int c, T, j, m, a;
    dopt_status st;
    for (c = 0; c < D->ncost; ++c) {
        const DOPT_FN(dopt__nlls_cost) *cs = p->cost + c;
        T = DOPT_FN(dopt__diff_cols)(D, c, cols);
        if (T == 0) continue;
        /* gather coefficients: [gbar | q | u0 v0 | u1 v1 | ...] */
        for (j = 0; j < T; ++j) {
            coef[j] = D->v[DOPT__DV_GBAR][cols[j]];
            coef[T + j] = D->v[DOPT__DV_Q][cols[j]];
            for (m = 0; m < nr1; ++m) {
                coef[(2 + 2 * m) * T + j] = D->v[DOPT__DV_U0 + m][cols[j]];
                coef[(3 + 2 * m) * T + j] = D->v[DOPT__DV_V0 + m][cols[j]];
            }
        }
        for (j = 0; j < T; ++j) delta[j] = 0;
        for (j = 0; j < T; ++j) { /* tangent columns */
            DOPT_REAL h = h0, fp, fm;
            /* scale like dopt_nlls_numeric_jacobian on Euclidean variables */
            {
                int k, t0 = 0;
                for (k = 0; k < cs->d.nvars; ++k) {
                    const DOPT_FN(dopt__nlls_var) *vv = p->var + cs->vars[k];
                    int blk = s->var_block[cs->vars[k]];
                    if (blk < 0) continue;
                    if (j < t0 + vv->m.tangent_dim) {
                        if (vv->m.name && strcmp(vv->m.name, "euclidean") == 0) {
                            DOPT_REAL xv = DOPT_M(fabs)(x[vv->offset + (j - t0)]);
                            if (xv > 1) h *= xv;
                        }
                        break;
                    }
                    t0 += vv->m.tangent_dim;
                }
            }
            delta[j] = h;
            st = DOPT_FN(dopt__diff_psi)(D, c, b, x, delta, coef, nr1, &fp);
            if (st == DOPT_OK) {
                delta[j] = -h;
                st = DOPT_FN(dopt__diff_psi)(D, c, b, x, delta, coef, nr1, &fm);
            }
            delta[j] = 0;
            if (st != DOPT_OK) return st;
            xbar[cols[j]] += (fp - fm) / (2 * h);
        }
        for (a = 0; pg && a < D->att_n[c]; ++a) { /* parameter entries */
            const DOPT_FN(dopt__diff_param) *P = D->param + D->att_param[c * DOPT__DIFF_MAXP + a];
            DOPT_REAL *pv = P->values + (ptrdiff_t)b * P->stride;
            for (j = 0; j < P->dim; ++j) {
                DOPT_REAL v0 = pv[j], h = h0 * (DOPT_M(fabs)(v0) > 1 ? DOPT_M(fabs)(v0) : 1), fp, fm;
                pv[j] = v0 + h;
                st = DOPT_FN(dopt__diff_psi)(D, c, b, x, NULL, coef, nr1, &fp);
                if (st == DOPT_OK) {
                    pv[j] = v0 - h;
                    st = DOPT_FN(dopt__diff_psi)(D, c, b, x, NULL, coef, nr1, &fm);
                }
                pv[j] = v0;
                if (st != DOPT_OK) return st;
                pg[P->poff + j] += (fp - fm) / (2 * h);
            }
        }
    }
    return DOPT_OK;
}

/* adjoint of y = x ⊕ u over the free variables: xbar_out = (∂y/∂x)ᵀ ybar, ubar = (∂y/∂u)ᵀ ybar
 * (tangent at y); identity for Euclidean variables, central differences of retract/local
 * otherwise. */
static void DOPT_FN(dopt__diff_retract_adj)(DOPT_FN(dopt_nlls_diff) *D, const DOPT_REAL *x, const DOPT_REAL *u,
                                            const DOPT_REAL *ybar, DOPT_REAL h0, DOPT_REAL *xbar, DOPT_REAL *ubar)
{
    const DOPT_FN(dopt_nlls_solver) *s = D->s;
    int blk, i, j;
    for (blk = 0; blk < s->nblocks; ++blk) {
        const DOPT_FN(dopt__nlls_var) *vv = s->p->var + s->block_var[blk];
        const DOPT_FN(dopt_manifold) *m = &vv->m;
        int t = m->tangent_dim, o = s->block_start[blk];
        const DOPT_REAL *xv = x + vv->offset, *uv = u + o;
        DOPT_REAL *yv = D->cretr, *zp = D->cretr + m->dim, *zm = zp + m->dim, *e = zm + m->dim,
                  *lp = e + t, *lm = lp + t, *uu = lm + t;
        if (m->name && strcmp(m->name, "euclidean") == 0) {
            for (i = 0; i < t; ++i) { xbar[o + i] = ybar[o + i]; ubar[o + i] = ybar[o + i]; }
            continue;
        }
        m->retract(m, xv, uv, yv);
        for (j = 0; j < t; ++j) {
            DOPT_REAL accx = 0, accu = 0;
            /* column j of ∂y/∂x: ((x ⊕ h e_j) ⊕ u) ⊖ y */
            for (i = 0; i < t; ++i) e[i] = 0;
            e[j] = h0;
            m->retract(m, xv, e, zp);
            m->retract(m, zp, uv, zp);
            e[j] = -h0;
            m->retract(m, xv, e, zm);
            m->retract(m, zm, uv, zm);
            m->local(m, yv, zp, lp);
            m->local(m, yv, zm, lm);
            for (i = 0; i < t; ++i) accx += ybar[o + i] * (lp[i] - lm[i]) / (2 * h0);
            /* column j of ∂y/∂u: (x ⊕ (u + h e_j)) ⊖ y */
            for (i = 0; i < t; ++i) uu[i] = uv[i];
            uu[j] = uv[j] + h0;
            m->retract(m, xv, uu, zp);
            uu[j] = uv[j] - h0;
            m->retract(m, xv, uu, zm);
            m->local(m, yv, zp, lp);
            m->local(m, yv, zm, lm);
            for (i = 0; i < t; ++i) accu += ybar[o + i] * (lp[i] - lm[i]) / (2 * h0);
            xbar[o + j] = accx;
            ubar[o + j] = accu;
        }
    }
}

/* converged: stopped on a tolerance without error */
static int DOPT_FN(dopt__diff_converged)(const dopt_nlls_report *r)
{
    return r->status == DOPT_OK && (r->stop == DOPT_STOP_FUNCTION_TOLERANCE || r->stop == DOPT_STOP_COST_CHANGE ||
                                    r->stop == DOPT_STOP_GRADIENT || r->stop == DOPT_STOP_STEP);
}

static dopt_status DOPT_FN(dopt__diff_singular)(DOPT_FN(dopt_nlls_diff) *D, dopt_status st, int b, int col,
                                                dopt_errinfo *info)
{
    const DOPT_FN(dopt_nlls_solver) *s = D->s;
    int blk;
    if (st == DOPT_ERR_NOT_POSITIVE_DEFINITE || st == DOPT_ERR_SINGULAR) {
        for (blk = 0; blk < s->nblocks; ++blk)
            if (col >= s->block_start[blk] && col < s->block_start[blk + 1]) break;
#ifndef DOPT_NO_STDIO
        if (info) {
            char msg[160];
            snprintf(msg, sizeof msg, "element %d: the Gauss-Newton matrix at the solution is singular "
                     "(variable %d): no implicit gradient", b, blk < s->nblocks ? s->block_var[blk] : -1);
            return dopt_errinfo_set(info, DOPT_ERR_SINGULAR, b, 0, msg);
        }
#endif
        return dopt_errinfo_set(info, DOPT_ERR_SINGULAR, b, 0, "singular Gauss-Newton matrix at the solution");
    }
    return dopt_errinfo_set(info, st, b, 0, "nlls diff: a cost failed or a non-finite system");
}

/* IMPLICIT for element b; pg gets ∂L/∂φ (zeroed here) */
/* y = ∇²S(xs) p by central differences of the gradient along p (at a minimum the gradient is ~0,
 * so the tangent spaces of xs ⊕ ±h p need no transport to first order) */
static dopt_status DOPT_FN(dopt__diff_hess_vec)(DOPT_FN(dopt_nlls_diff) *D, int b, const DOPT_REAL *xs,
                                                const DOPT_REAL *p, DOPT_REAL h0, DOPT_REAL *y)
{
    DOPT_FN(dopt_nlls_solver) *s = D->s;
    DOPT_REAL pmax = DOPT_FN(dopt_amax)(s->n, p, 1), h, F;
    long bad = -1;
    int i;
    dopt_status st;
    if (pmax == 0) { memset(y, 0, (size_t)s->n * sizeof(DOPT_REAL)); return DOPT_OK; }
    h = h0 / pmax;
    DOPT_FN(dopt__diff_retract)(D, xs, p, h, D->y0, D->v[DOPT__DV_T1]);
    st = DOPT_FN(dopt__nlls_eval)(s, b, D->y0, 1, D->fo.robust_mode, D->fo.numeric_diff_step, &F, &bad);
    if (st != DOPT_OK) return st;
    memcpy(y, s->g, (size_t)s->n * sizeof(DOPT_REAL));
    DOPT_FN(dopt__diff_retract)(D, xs, p, -h, D->y0, D->v[DOPT__DV_T1]);
    st = DOPT_FN(dopt__nlls_eval)(s, b, D->y0, 1, D->fo.robust_mode, D->fo.numeric_diff_step, &F, &bad);
    if (st != DOPT_OK) return st;
    for (i = 0; i < s->n; ++i) y[i] = (y[i] - s->g[i]) / (2 * h);
    return DOPT_OK;
}

/* w = ∇²S⁻¹ xbar by conjugate gradients preconditioned with the Gauss-Newton factor (in s->ls) */
static dopt_status DOPT_FN(dopt__diff_exact_solve)(DOPT_FN(dopt_nlls_diff) *D, int b, const DOPT_REAL *xs,
                                                   const DOPT_REAL *xbar, DOPT_REAL h0, DOPT_REAL *w)
{
    DOPT_FN(dopt_nlls_solver) *s = D->s;
    DOPT_REAL *r = D->v[DOPT__DV_GBAR], *z = D->v[DOPT__DV_Q], *p = D->v[DOPT__DV_U0], *hp = D->v[DOPT__DV_V0];
    DOPT_REAL rz, r0 = DOPT_FN(dopt_nrm2)(s->n, xbar, 1), tol = (DOPT_REAL)(DOPT_IS_FLOAT ? 1e-5 : 1e-11);
    int n = s->n, it, i, maxit = n < 200 ? n + 5 : 200;
    dopt_status st;
    memset(w, 0, (size_t)n * sizeof(DOPT_REAL));
    if (r0 == 0) return DOPT_OK;
    memcpy(r, xbar, (size_t)n * sizeof(DOPT_REAL));
    memcpy(z, r, (size_t)n * sizeof(DOPT_REAL));
    st = s->ls.solve(s->ls.self, z);
    if (st != DOPT_OK) return st;
    memcpy(p, z, (size_t)n * sizeof(DOPT_REAL));
    rz = DOPT_FN(dopt_dot)(n, r, 1, z, 1);
    for (it = 0; it < maxit; ++it) {
        DOPT_REAL php, alpha, rz1;
        st = DOPT_FN(dopt__diff_hess_vec)(D, b, xs, p, h0, hp);
        if (st != DOPT_OK) return st;
        php = DOPT_FN(dopt_dot)(n, p, 1, hp, 1);
        if (!(php > 0)) return DOPT_ERR_NOT_POSITIVE_DEFINITE;
        alpha = rz / php;
        for (i = 0; i < n; ++i) { w[i] += alpha * p[i]; r[i] -= alpha * hp[i]; }
        if (DOPT_FN(dopt_nrm2)(n, r, 1) <= tol * r0) break;
        memcpy(z, r, (size_t)n * sizeof(DOPT_REAL));
        st = s->ls.solve(s->ls.self, z);
        if (st != DOPT_OK) return st;
        rz1 = DOPT_FN(dopt_dot)(n, r, 1, z, 1);
        for (i = 0; i < n; ++i) p[i] = z[i] + (rz1 / rz) * p[i];
        rz = rz1;
    }
    return DOPT_FN(dopt_all_finite)(n, w) ? DOPT_OK : DOPT_ERR_NON_FINITE;
}

static dopt_status DOPT_FN(dopt__diff_implicit)(DOPT_FN(dopt_nlls_diff) *D, int b, const DOPT_REAL *xbar,
                                                DOPT_REAL h0, int exact, DOPT_REAL *pg, dopt_errinfo *info)
{
    DOPT_FN(dopt_nlls_solver) *s = D->s;
    const DOPT_REAL *xs = D->xsol + (size_t)b * (size_t)D->xdim;
    DOPT_REAL *w = D->v[DOPT__DV_W], wmax, ht;
    int n = s->n, fail_col = -1, j;
    dopt_status st;
    if (D->ptotal) memset(pg, 0, (size_t)D->ptotal * sizeof(DOPT_REAL));
    if (s->con) { /* through the active bounds and the equality constraints */
        st = DOPT_FN(dopt__nlls_con_adjoint)(s, b, D->fo.robust_mode, D->fo.numeric_diff_step, xs, xbar, exact, w,
                                             &fail_col);
        if (st == DOPT_ERR_NO_CONVERGENCE)
            return dopt_errinfo_set(info, st, b, 0, "nlls diff: the exact Lagrangian adjoint did not settle (implicit_exact)");
        if (st != DOPT_OK) return DOPT_FN(dopt__diff_singular)(D, st, b, fail_col, info);
    } else if ((st = DOPT_FN(dopt__diff_linearize)(D, b, xs, 0, &fail_col)) != DOPT_OK) {
        return DOPT_FN(dopt__diff_singular)(D, st, b, fail_col, info);
    } else if (exact) {
        st = DOPT_FN(dopt__diff_exact_solve)(D, b, xs, xbar, h0, w);
        if (st == DOPT_ERR_NOT_POSITIVE_DEFINITE)
            return dopt_errinfo_set(info, st, b, 0, "nlls diff: the Hessian at the solution is not positive definite");
        if (st != DOPT_OK) return DOPT_FN(dopt__diff_singular)(D, st, b, -1, info);
    } else {
        memcpy(w, xbar, (size_t)n * sizeof(DOPT_REAL));
        st = s->ls.solve(s->ls.self, w);
    }
    if (st != DOPT_OK || !DOPT_FN(dopt_all_finite)(n, w))
        return DOPT_FN(dopt__diff_singular)(D, DOPT_ERR_NON_FINITE, b, -1, info);
    if (!D->ptotal) return DOPT_OK;
    wmax = DOPT_FN(dopt_amax)(n, w, 1);
    if (wmax == 0) return DOPT_OK;
    ht = h0 / wmax;
    DOPT_FN(dopt__diff_retract)(D, xs, w, ht, D->y0, D->v[DOPT__DV_T1]);
    DOPT_FN(dopt__diff_retract)(D, xs, w, -ht, D->y1, D->v[DOPT__DV_T1]);
    memset(D->pg1, 0, (size_t)D->ptotal * sizeof(DOPT_REAL));
    st = DOPT_FN(dopt__diff_dS_dphi)(D, b, D->y0, h0, pg);
    if (st == DOPT_OK) st = DOPT_FN(dopt__diff_dS_dphi)(D, b, D->y1, h0, D->pg1);
    if (st != DOPT_OK) return dopt_errinfo_set(info, st, b, 0, "nlls diff: a cost or vjp failed");
    for (j = 0; j < D->ptotal; ++j) pg[j] = -(pg[j] - D->pg1[j]) / (2 * ht);
    return DOPT_OK;
}

/* DLM for element b */
static dopt_status DOPT_FN(dopt__diff_dlm)(DOPT_FN(dopt_nlls_diff) *D, int b, const DOPT_REAL *xbar,
                                           DOPT_REAL eps, int iters, DOPT_REAL h0, DOPT_REAL *pg,
                                           dopt_errinfo *info)
{
    DOPT_FN(dopt_nlls_solver) *s = D->s;
    const DOPT_REAL *xs = D->xsol + (size_t)b * (size_t)D->xdim;
    DOPT_REAL *y = D->y0, *e = D->v[DOPT__DV_W], *dl = D->v[DOPT__DV_T2], *dadd = D->v[DOPT__DV_Q];
    int n = s->n, it, i, fail_col = -1, blk;
    dopt_status st;
    memcpy(y, xs, (size_t)D->xdim * sizeof(DOPT_REAL));
    for (i = 0; i < n; ++i) dl[i] = 0;
    for (it = 0; it < iters; ++it) {
        DOPT_REAL F, enorm;
        long bad = -1;
        st = DOPT_FN(dopt__nlls_eval)(s, b, y, 1, D->fo.robust_mode, D->fo.numeric_diff_step, &F, &bad);
        if (st != DOPT_OK) return dopt_errinfo_set(info, st, b, 0, "nlls diff (dlm): a cost failed");
        /* S + ||eps dl - xbar/2||^2: gradient g + 2 eps (eps dl - xbar/2), GN matrix H + 2 eps^2 I */
        for (i = 0; i < n; ++i) {
            e[i] = -(s->g[i] + 2 * eps * (eps * dl[i] - xbar[i] / 2));
            dadd[i] = 2 * eps * eps;
        }
        st = DOPT_FN(dopt__nlls_factor)(s, b, dadd, &fail_col);
        if (st == DOPT_OK) st = s->ls.solve(s->ls.self, e);
        if (st != DOPT_OK || !DOPT_FN(dopt_all_finite)(n, e)) return DOPT_FN(dopt__diff_singular)(D, st, b, fail_col, info);
        DOPT_FN(dopt__diff_retract)(D, y, e, 1, D->y1, D->v[DOPT__DV_T1]);
        memcpy(y, D->y1, (size_t)D->xdim * sizeof(DOPT_REAL));
        for (blk = 0; blk < s->nblocks; ++blk) { /* dl = y ⊖ x* */
            const DOPT_FN(dopt__nlls_var) *vv = s->p->var + s->block_var[blk];
            vv->m.local(&vv->m, xs + vv->offset, y + vv->offset, dl + s->block_start[blk]);
        }
        enorm = DOPT_FN(dopt_amax)(n, e, 1);
        if (enorm <= 64 * DOPT_EPS * (1 + DOPT_FN(dopt_amax)(n, dl, 1))) break;
    }
    if (D->ptotal) memset(pg, 0, (size_t)D->ptotal * sizeof(DOPT_REAL));
    memset(D->pg1, 0, (size_t)D->ptotal * sizeof(DOPT_REAL));
    st = DOPT_FN(dopt__diff_dS_dphi)(D, b, xs, h0, pg);
    if (st == DOPT_OK) st = DOPT_FN(dopt__diff_dS_dphi)(D, b, y, h0, D->pg1);
    if (st != DOPT_OK) return dopt_errinfo_set(info, st, b, 0, "nlls diff (dlm): a cost or vjp failed");
    for (i = 0; i < D->ptotal; ++i) pg[i] = (pg[i] - D->pg1[i]) / eps;
    return DOPT_OK;
}

/* UNROLL / TRUNCATED for element b over the last `last` recorded iterations */
static dopt_status DOPT_FN(dopt__diff_unroll)(DOPT_FN(dopt_nlls_diff) *D, int b, const DOPT_REAL *xbar_in,
                                              int last, DOPT_REAL h0, DOPT_REAL *pg, DOPT_REAL *x0bar,
                                              int *steps, dopt_errinfo *info)
{
    DOPT_FN(dopt_nlls_solver) *s = D->s;
    DOPT_REAL *xbar = D->v[DOPT__DV_XBAR], *w = D->v[DOPT__DV_W], *gbar = D->v[DOPT__DV_GBAR],
              *q = D->v[DOPT__DV_Q], *step = D->v[DOPT__DV_STEP], *gn = D->v[DOPT__DV_GN],
              *sbar = D->v[DOPT__DV_T1], *t2 = D->v[DOPT__DV_T2];
    int n = s->n, k, first, i, nr1, branch, fail_col = -1;
    DOPT_REAL beta, cc;
    dopt_status st;
    memcpy(xbar, xbar_in, (size_t)n * sizeof(DOPT_REAL));
    if (D->ptotal) memset(pg, 0, (size_t)D->ptotal * sizeof(DOPT_REAL));
    D->dlam[b] = 0;
    first = D->count[b] - last;
    if (first < D->count[b] - D->cap_iter) first = D->count[b] - D->cap_iter; /* what the ring kept */
    if (first < 0) first = 0;
    *steps = D->count[b] - first;
    for (k = D->count[b] - 1; k >= first; --k) {
        size_t kk = (size_t)b * (size_t)D->cap_iter + (size_t)(k % D->cap_iter);
        const DOPT_REAL *xk = D->tx + kk * (size_t)D->xdim;
        DOPT_REAL t = D->tt[kk];
        if (!D->tacc[kk]) continue;
        st = DOPT_FN(dopt__diff_step)(D, b, kk, xk, &branch, &beta, &cc, &fail_col);
        if (st != DOPT_OK) return DOPT_FN(dopt__diff_singular)(D, st, b, fail_col, info);
        /* through the retraction y = x ⊕ t Δ */
        for (i = 0; i < n; ++i) t2[i] = t * step[i];
        DOPT_FN(dopt__diff_retract_adj)(D, xk, t2, xbar, h0, w, sbar);
        memcpy(xbar, w, (size_t)n * sizeof(DOPT_REAL));
        for (i = 0; i < n; ++i) { sbar[i] *= t; gbar[i] = 0; q[i] = 0; }
        nr1 = 0;
        if (branch == 0) { /* Δ = -A⁻¹ g: gbar = -A⁻¹ sbar, Hbar = -w Δᵀ, diag(λD) */
            memcpy(w, sbar, (size_t)n * sizeof(DOPT_REAL));
            st = s->ls.solve(s->ls.self, w);
            if (st != DOPT_OK) return DOPT_FN(dopt__diff_singular)(D, st, b, -1, info);
            for (i = 0; i < n; ++i) {
                gbar[i] = -w[i];
                D->v[DOPT__DV_U0][i] = -w[i];
                D->v[DOPT__DV_V0][i] = step[i];
                if (D->fo.method == DOPT_NLLS_LM && !D->clamp[i]) q[i] = -D->tl[kk] * w[i] * step[i];
            }
            if (D->fo.method == DOPT_NLLS_LM) /* learnable damping: ∂L/∂log λ_k = -wᵀ (λ_k D) Δ */
                for (i = 0; i < n; ++i) D->dlam[b] -= w[i] * s->dadd[i] * step[i];
            nr1 = 1;
        } else if (branch == 1) { /* Δ = -(R / |g|) g */
            DOPT_REAL g2 = DOPT_FN(dopt_nrm2)(n, s->g, 1), R = D->tr[kk], gs = 0;
            for (i = 0; i < n; ++i) gs += s->g[i] * sbar[i];
            for (i = 0; i < n; ++i) gbar[i] = -(R / g2) * (sbar[i] - s->g[i] * gs / (g2 * g2));
        } else { /* blend Δ = a + β (gn - a), |Δ| = R */
            DOPT_REAL pz = 0, dp = 0, eg = 0, gHg, gg;
            DOPT_REAL *hg = D->v[DOPT__DV_U0 + 2];
            for (i = 0; i < n; ++i) {
                DOPT_REAL pi = gn[i] + cc * s->g[i];
                pz += pi * sbar[i];
                dp += step[i] * pi;
            }
            for (i = 0; i < n; ++i) { /* z = sbar - Δ (pᵀ sbar) / (Δᵀ p) */
                DOPT_REAL z = sbar[i] - step[i] * pz / dp;
                t2[i] = (1 - beta) * z;  /* e */
                w[i] = beta * z;
            }
            st = s->ls.solve(s->ls.self, w); /* H⁻¹ (β z) */
            if (st != DOPT_OK) return DOPT_FN(dopt__diff_singular)(D, st, b, -1, info);
            DOPT_FN(dopt__nlls_hv)(s, s->g, hg);
            gHg = DOPT_FN(dopt_dot)(n, s->g, 1, hg, 1);
            gg = DOPT_FN(dopt_dot)(n, s->g, 1, s->g, 1);
            for (i = 0; i < n; ++i) eg += t2[i] * s->g[i];
            for (i = 0; i < n; ++i) {
                gbar[i] = -w[i] - cc * t2[i] - eg * (2 * s->g[i] / gHg - 2 * gg * hg[i] / (gHg * gHg));
                D->v[DOPT__DV_U0][i] = -w[i];
                D->v[DOPT__DV_V0][i] = gn[i];
                D->v[DOPT__DV_U0 + 1][i] = eg * gg / (gHg * gHg) * s->g[i];
                D->v[DOPT__DV_V0 + 1][i] = s->g[i];
            }
            nr1 = 2;
        }
        st = DOPT_FN(dopt__diff_psi_grad)(D, b, xk, nr1, h0, xbar, pg);
        if (st != DOPT_OK) return dopt_errinfo_set(info, st, b, 0, "nlls diff (unroll): a cost failed");
    }
    if (x0bar && first == 0) memcpy(x0bar, xbar, (size_t)n * sizeof(DOPT_REAL));
    return DOPT_OK;
}

/* 1 when the recorded trace of element b holds its last `last` iterations: with no trace kept
   (keep_trace 0) only an element that took no iteration qualifies; a ring of K that wrapped
   holds the last K only */
static int DOPT_FN(dopt__diff_trace_covers)(const DOPT_FN(dopt_nlls_diff) *D, int b, const dopt_nlls_report *fr,
                                            int last)
{
    if (D->cap_iter == 0) return fr->iterations == 0;
    if (D->count[b] <= D->cap_iter) return 1;
    return last <= D->cap_iter;
}

/* the element's own output check: its parameter gradient (and x0bar) finite, else NON_FINITE */
static dopt_status DOPT_FN(dopt__diff_check_output)(DOPT_FN(dopt_nlls_diff) *D, int b, const DOPT_REAL *x0bar,
                                                    dopt_errinfo *info)
{
    if (DOPT_FN(dopt_all_finite)(D->ptotal, D->pg0) &&
        (!x0bar || DOPT_FN(dopt_all_finite)(D->n, x0bar + (size_t)b * (size_t)D->n)))
        return DOPT_OK;
    return dopt_errinfo_set(info, DOPT_ERR_NON_FINITE, b, 0,
                            "nlls diff: the gradient is NaN or Inf (a vjp, a cost or fd_step)");
}

DOPT_API dopt_status DOPT_FN(dopt_nlls_diff_backward)(DOPT_FN(dopt_nlls_diff) *D,
                                                      const DOPT_FN(dopt_nlls_diff_options) *opt,
                                                      const DOPT_REAL *xbar, DOPT_REAL *x0bar,
                                                      dopt_nlls_diff_report *reports, dopt_errinfo *info)
{
    DOPT_FN(dopt_nlls_diff_options) o;
    dopt_status first = DOPT_OK;
    int b, n;
    DOPT_REAL h0;
    if (!D || !xbar) return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "nlls diff: NULL argument");
    if (!D->recorded) return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "nlls diff: no forward solve recorded");
    if (opt) o = *opt; else memset(&o, 0, sizeof o);
    if ((unsigned)o.mode > (unsigned)DOPT_NLLS_DIFF_DLM || (unsigned)o.policy > (unsigned)DOPT_NLLS_DIFF_FAIL)
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "nlls diff: unknown mode or policy");
    if (o.truncate <= 0) o.truncate = 5;
    if (!(o.dlm_epsilon > 0)) o.dlm_epsilon = (DOPT_REAL)1e-2;
    if (o.dlm_iterations <= 0) o.dlm_iterations = 10;
    h0 = o.fd_step > 0 ? o.fd_step : DOPT_M(cbrt)(DOPT_EPS);
    n = D->n;
    DOPT_FN(dopt__diff_sync)(D);
    if (D->grad_len) memset(D->grad, 0, D->grad_len * sizeof(DOPT_REAL));
    memset(D->dlam, 0, (size_t)D->batch * sizeof(DOPT_REAL));
    if (x0bar) memset(x0bar, 0, (size_t)D->batch * (size_t)n * sizeof(DOPT_REAL));
    D->reuse = !o.no_factor_reuse;
    for (b = 0; b < D->batch; ++b) {
        dopt_nlls_diff_report rep;
        dopt_errinfo local;
        dopt_errinfo *inf = first == DOPT_OK ? info : &local;
        const dopt_nlls_report *fr = D->frep + b;
        dopt_status st = DOPT_OK;
        int optimal_mode = o.mode == DOPT_NLLS_DIFF_IMPLICIT || o.mode == DOPT_NLLS_DIFF_DLM;
        memset(&rep, 0, sizeof rep);
        D->reused = 0;
        rep.converged = DOPT_FN(dopt__diff_converged)(fr);
        rep.forward_stop = fr->stop;
        if (fr->status != DOPT_OK) {
            st = dopt_errinfo_set(inf, fr->status, b, 0, "nlls diff: the forward solve of this element failed");
        } else if (optimal_mode && !rep.converged && o.policy != DOPT_NLLS_DIFF_FLAG) {
            st = DOPT_ERR_NO_CONVERGENCE;
        } else {
            const DOPT_REAL *xb = xbar + (size_t)b * (size_t)n;
            if (!DOPT_FN(dopt_all_finite)(n, xb)) {
                st = dopt_errinfo_set(inf, DOPT_ERR_NON_FINITE, b, 0, "nlls diff: dL/dx is not finite");
            } else if (D->s->con && o.mode != DOPT_NLLS_DIFF_IMPLICIT) {
                st = dopt_errinfo_set(inf, DOPT_ERR_UNSUPPORTED, b, 0, "nlls diff: with bounds or constraints only IMPLICIT");
            } else if (o.mode == DOPT_NLLS_DIFF_IMPLICIT) {
                st = DOPT_FN(dopt__diff_implicit)(D, b, xb, h0, o.implicit_exact, D->pg0, inf);
            } else if (o.mode == DOPT_NLLS_DIFF_DLM) {
                st = DOPT_FN(dopt__diff_dlm)(D, b, xb, o.dlm_epsilon, o.dlm_iterations, h0, D->pg0, inf);
            } else {
                int last = o.mode == DOPT_NLLS_DIFF_UNROLL ? D->count[b] : o.truncate;
                DOPT_REAL *x0 = x0bar ? x0bar + (size_t)b * (size_t)n : NULL;
                if (!DOPT_FN(dopt__diff_trace_covers)(D, b, fr, last))
                    st = dopt_errinfo_set(inf, DOPT_ERR_INVALID_ARGUMENT, b, 0,
                                          o.mode == DOPT_NLLS_DIFF_UNROLL
                                              ? "nlls diff: UNROLL needs every iteration (dopt_nlls_diff_keep_trace)"
                                              : "nlls diff: TRUNCATED needs the last K iterations (dopt_nlls_diff_keep_trace)");
                else
                    st = DOPT_FN(dopt__diff_unroll)(D, b, xb, last, h0, D->pg0, x0, &rep.steps, inf);
            }
            if (st == DOPT_OK) st = DOPT_FN(dopt__diff_check_output)(D, b, x0bar, inf);
            if (st == DOPT_OK) DOPT_FN(dopt__diff_accum)(D, b, D->pg0, 1);
            else if (x0bar) memset(x0bar + (size_t)b * (size_t)n, 0, (size_t)n * sizeof(DOPT_REAL));
        }
        rep.status = st;
        rep.factor_reused = D->reused;
        if (st == DOPT_ERR_NO_CONVERGENCE && o.policy == DOPT_NLLS_DIFF_ZERO) st = DOPT_OK;
        if (reports) reports[b] = rep;
        if (st != DOPT_OK && first == DOPT_OK) {
            first = st;
            if (st == DOPT_ERR_NO_CONVERGENCE)
                dopt_errinfo_set(info, st, b, 0, "nlls diff: the forward solve did not converge (policy FAIL)");
        }
    }
    D->reuse = 0;
    return first;
}

#undef DOPT__DIFF_MAXP

#ifdef __cplusplus
}
#endif
#endif /* DOPT__NLLSBWD_PASS_IMPL */

/*
 * ------------------------------------------------------------------------------------------------
 * MIT License.  Copyright (c) 2026 the dopt authors.
 * Permission is hereby granted, free of charge, to any person obtaining a copy of this software and
 * associated documentation files (the "Software"), to deal in the Software without restriction,
 * including without limitation the rights to use, copy, modify, merge, publish, distribute,
 * sublicense, and/or sell copies of the Software, and to permit persons to whom the Software is
 * furnished to do so, subject to the following conditions: The above copyright notice and this
 * permission notice shall be included in all copies or substantial portions of the Software.
 * THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED.
 * ------------------------------------------------------------------------------------------------
 */
