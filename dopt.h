/* dopt.h — differentiable optimization kit, core module.                      (C99, header-only)
 *
 * WHAT THIS IS
 *   dopt is a set of single-header STB-style C99 modules for differentiable optimization: solvers
 *   whose solutions you can also differentiate.  This header is the core every other module
 *   stands on:
 *     - status codes and error details            (dopt_status, dopt_status_string, dopt_errinfo)
 *     - user hooks: allocator, log callback       (dopt_hooks), assert macro (DOPT_ASSERT)
 *     - the workspace convention                  (size query, then caller memory; dopt_workspace)
 *     - a seedable, platform-independent RNG      (dopt_rng: xoshiro256**, polar normals)
 *     - dense kernels in float and double         (BLAS/LAPACK-like: gemm, syrk, trsm, potrf, ...)
 *     - the manifold descriptor that other modules (dopt_lie.h) fill in for the least-squares layer.
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
 * OPTIONS (define before including)
 *   DOPT_IMPLEMENTATION   emit the implementation in this translation unit
 *   DOPT_STATIC           make every function static (private copy per translation unit)
 *   DOPT_ASSERT(x)        assertion hook (default: assert from <assert.h>)
 *   DOPT_USE_CBLAS        route gemm/gemv/syrk/trsm/potrf/getrf to CBLAS + LAPACKE (e.g. OpenBLAS;
 *                         link -lopenblas or -lcblas -llapacke); results agree with the built-ins
 *                         to rounding.
 *   DOPT_NO_STDIO         leave out the helpers that need <stdio.h> (file readers, vsnprintf logs)
 *
 * LICENSE: MIT, see the end of the file.
 */

/* =============================================================================================== */
/* Precision driver: re-entered by any dopt header that defines DOPT__DRIVE to instantiate its    */
/* generic pass blocks for float and then double (DOPT_REAL is defined only inside a pass).       */
/* =============================================================================================== */
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

#ifdef DOPT_STATIC
#if defined(__GNUC__) || defined(__clang__)
#define DOPT_API static __attribute__((unused))
#else
#define DOPT_API static
#endif
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
    DOPT_STATUS_COUNT
} dopt_status;

/* dopt_status_string: a short constant English description of s ("ok", "not positive definite",
 * ...).  Never NULL; unknown values give "unknown status". */
DOPT_API const char *dopt_status_string(dopt_status s);

/* Optional details of a failure, filled by functions that take a `dopt_errinfo *` (may be NULL).
 *   index    the failing column / variable / element (-1 when not applicable)
 *   line     1-based line of a malformed file (0 when not applicable)
 *   message  a NUL-terminated human-readable reason */
typedef struct dopt_errinfo {
    dopt_status status;
    long index;
    long line;
    char message[160];
} dopt_errinfo;

/* dopt_errinfo_set: fill *info (if non-NULL) and return status, for one-line error returns.
 * `message` is copied (truncated to fit). */
DOPT_API dopt_status dopt_errinfo_set(dopt_errinfo *info, dopt_status status, long index,
                                      long line, const char *message);

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
    /* optional: project a drifted x back onto the manifold in place (NULL: nothing to do). */
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

/* dopt_gemm_fixed: C = A B (+ C when accumulate) for N x N contiguous column-major matrices,
 * N in {2,3,4,5,6,9} (fully unrolled per N); other N fall back to dopt_gemm.  The fast path
 * used by the Lie and block-sparse code. */
DOPT_API void DOPT_FN(dopt_gemm_fixed)(int N, const DOPT_REAL *A, const DOPT_REAL *B, DOPT_REAL *C,
                                       int accumulate);

/* dopt_syrk: C = alpha A A^T + beta C (trans = NOTRANS, A is n x k) or C = alpha A^T A + beta C
 * (trans = TRANS, A is k x n); only the `uplo` triangle of the n x n matrix C is referenced. */
DOPT_API void DOPT_FN(dopt_syrk)(dopt_uplo uplo, dopt_trans trans, int n, int k, DOPT_REAL alpha,
                                 const DOPT_REAL *A, int lda, DOPT_REAL beta, DOPT_REAL *C, int ldc);

/* dopt_trsv: x = op(T)^{-1} x for the n x n triangular T (uplo, unit or non-unit diagonal). */
DOPT_API void DOPT_FN(dopt_trsv)(dopt_uplo uplo, dopt_trans trans, dopt_diag diag, int n,
                                 const DOPT_REAL *T, int ldt, DOPT_REAL *x, int incx);

/* dopt_trsm: B = alpha op(T)^{-1} B (side LEFT, T is m x m) or B = alpha B op(T)^{-1}
 * (side RIGHT, T is n x n); B is m x n. */
DOPT_API void DOPT_FN(dopt_trsm)(dopt_side side, dopt_uplo uplo, dopt_trans trans, dopt_diag diag,
                                 int m, int n, DOPT_REAL alpha, const DOPT_REAL *T, int ldt,
                                 DOPT_REAL *B, int ldb);

/* ---- factorizations -------------------------------------------------------------------------- */

/* dopt_potrf: Cholesky A = L L^T in place (lower triangle of the n x n column-major A; the
 * strict upper triangle is not referenced or changed).  Blocked, right-looking.
 * Returns DOPT_OK; DOPT_ERR_NOT_POSITIVE_DEFINITE with *fail_col (0-based, may be NULL) set to
 * the first column whose pivot is <= 0; DOPT_ERR_NON_FINITE with *fail_col when a pivot is NaN
 * or Inf; DOPT_ERR_INVALID_ARGUMENT for n < 0 or lda < n.  On failure columns before fail_col
 * hold the partial factor. */
DOPT_API dopt_status DOPT_FN(dopt_potrf)(int n, DOPT_REAL *A, int lda, int *fail_col);

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
 * with fail_col[b] (batch ints, may be NULL) = the failing column of element b, or -1. */

DOPT_API void DOPT_FN(dopt_gemm_batched)(int batch, dopt_trans transa, dopt_trans transb, int m, int n,
                                         int k, DOPT_REAL alpha, const DOPT_REAL *A, int lda,
                                         ptrdiff_t strideA, const DOPT_REAL *B, int ldb,
                                         ptrdiff_t strideB, DOPT_REAL beta, DOPT_REAL *C, int ldc,
                                         ptrdiff_t strideC);
DOPT_API void DOPT_FN(dopt_gemv_batched)(int batch, dopt_trans trans, int m, int n, DOPT_REAL alpha,
                                         const DOPT_REAL *A, int lda, ptrdiff_t strideA,
                                         const DOPT_REAL *x, ptrdiff_t stridex, DOPT_REAL beta,
                                         DOPT_REAL *y, ptrdiff_t stridey);
DOPT_API dopt_status DOPT_FN(dopt_potrf_batched)(int batch, int n, DOPT_REAL *A, int lda,
                                                 ptrdiff_t strideA, int *fail_col);
DOPT_API void DOPT_FN(dopt_potrs_batched)(int batch, int n, int nrhs, const DOPT_REAL *L, int ldl,
                                          ptrdiff_t strideL, DOPT_REAL *B, int ldb, ptrdiff_t strideB);
DOPT_API dopt_status DOPT_FN(dopt_getrf_batched)(int batch, int n, DOPT_REAL *A, int lda,
                                                 ptrdiff_t strideA, int *ipiv, ptrdiff_t strideipiv,
                                                 int *fail_col);
DOPT_API void DOPT_FN(dopt_getrs_batched)(int batch, dopt_trans trans, int n, int nrhs,
                                          const DOPT_REAL *LU, int ldlu, ptrdiff_t strideLU,
                                          const int *ipiv, ptrdiff_t strideipiv, DOPT_REAL *B,
                                          int ldb, ptrdiff_t strideB);
DOPT_API dopt_status DOPT_FN(dopt_sytrf_batched)(int batch, int n, DOPT_REAL *A, int lda,
                                                 ptrdiff_t strideA, int *ipiv, ptrdiff_t strideipiv,
                                                 int *fail_col);
DOPT_API void DOPT_FN(dopt_sytrs_batched)(int batch, int n, int nrhs, const DOPT_REAL *LD, int ldld,
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
/* IMPLEMENTATION                                                                                  */
/* =============================================================================================== */
#if defined(DOPT_IMPLEMENTATION) && !defined(DOPT__DRIVE)
#ifndef DOPT_H_IMPLEMENTED
#define DOPT_H_IMPLEMENTED

#include <stdlib.h>
#include <string.h>
#include <stdarg.h>
#ifndef DOPT_NO_STDIO
#include <stdio.h>
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
    default: return "unknown status";
    }
}

DOPT_API dopt_status dopt_errinfo_set(dopt_errinfo *info, dopt_status status, long index,
                                      long line, const char *message)
{
    if (info) {
        size_t len = message ? strlen(message) : 0;
        if (len >= sizeof info->message) len = sizeof info->message - 1;
        info->status = status;
        info->index = index;
        info->line = line;
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
#if defined(DOPT__CORE_PASS_IMPL) && defined(DOPT_REAL)
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
/* Structure (the classic Goto/BLIS layering): C is scaled by beta once; then for each NC-wide
 * column panel of C, each KC-deep slab of the product packs op(B) into NR-column slivers and, per
 * MC-row block, op(A) into MR-row slivers (any transpose folded into the packing, edges padded
 * with zeros); an MR x NR register-tile micro-kernel runs over the packed slivers.  The packing
 * buffers live on the stack: KC * (MC + NC) reals, at most 128 KiB (AVX-512, double).
 * The micro-kernel uses GCC/Clang vector extensions on AVX-512 targets (measured 27-30 GFLOP/s
 * against 17 for the plain-C kernel on this project's Zen 4 bench machine) and plain C elsewhere
 * (the compiler vectorizes it: 21 GFLOP/s with -mavx2 -mfma there, where the vector-extension
 * form was slower).  Build with -march=native (or the target's flags) for speed. */

#if (defined(__GNUC__) || defined(__clang__)) && !defined(__CUDACC__) && !defined(DOPT_NO_VECTOR_EXT) && \
    defined(__AVX512F__)
#define DOPT__VEC_EXT 1
#define DOPT__VBYTES 64
#define DOPT__VLEN ((int)(DOPT__VBYTES / sizeof(DOPT_REAL)))
#define DOPT__MV 4 /* vectors per A sliver: 4 x NR = 16 accumulators of the 32 registers */
#define DOPT__MR (DOPT__MV * DOPT__VLEN)
#else
#define DOPT__VEC_EXT 0
#define DOPT__MR 8
#endif
#define DOPT__NR 4
#define DOPT__KC 128
#define DOPT__MC (2 * DOPT__MR)
#define DOPT__NC 64

/* Pack the mc x kc block of op(A) starting at (i0, p0) into MR-row slivers, zero-padded. */
static void DOPT_FN(dopt__pack_a)(dopt_trans ta, const DOPT_REAL *A, int lda, int i0, int p0, int mc,
                                  int kc, DOPT_REAL *DOPT_RESTRICT buf)
{
    int i, p, r;
    for (i = 0; i < mc; i += DOPT__MR) {
        int rows = mc - i < DOPT__MR ? mc - i : DOPT__MR;
        if (ta == DOPT_NOTRANS) {
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
static void DOPT_FN(dopt__pack_b)(dopt_trans tb, const DOPT_REAL *B, int ldb, int p0, int j0, int kc,
                                  int nc, DOPT_REAL *DOPT_RESTRICT buf)
{
    int j, p, c;
    for (j = 0; j < nc; j += DOPT__NR) {
        int cols = nc - j < DOPT__NR ? nc - j : DOPT__NR;
        for (p = 0; p < kc; ++p) {
            for (c = 0; c < cols; ++c) {
                int gp = p0 + p, gj = j0 + j + c;
                buf[c] = tb == DOPT_NOTRANS ? B[(size_t)gp + (size_t)gj * ldb]
                                            : B[(size_t)gj + (size_t)gp * ldb];
            }
            for (; c < DOPT__NR; ++c) buf[c] = 0;
            buf += DOPT__NR;
        }
    }
}

/* Write back an MR x NR tile of sums: C[0:rows, 0:cols] += alpha * acc. */
static void DOPT_FN(dopt__tile_store)(const DOPT_REAL *acc, DOPT_REAL alpha, DOPT_REAL *C, int ldc,
                                      int rows, int cols)
{
    int i, j;
    for (j = 0; j < cols; ++j)
        for (i = 0; i < rows; ++i) C[i + (size_t)j * ldc] += alpha * acc[i + j * DOPT__MR];
}

#if DOPT__VEC_EXT
#if DOPT_IS_FLOAT
typedef float dopt__vreal_f __attribute__((vector_size(DOPT__VBYTES), aligned(sizeof(float))));
#define DOPT__V dopt__vreal_f
#else
typedef double dopt__vreal_d __attribute__((vector_size(DOPT__VBYTES), aligned(sizeof(double))));
#define DOPT__V dopt__vreal_d
#endif
/* C[0:rows, 0:cols] += alpha * (packed A sliver) * (packed B sliver), kc long: 3 vectors of rows
 * times 4 columns = 12 independent accumulators, enough to hide the FMA latency. */
static void DOPT_FN(dopt__gemm_micro)(int kc, DOPT_REAL alpha, const DOPT_REAL *DOPT_RESTRICT a,
                                      const DOPT_REAL *DOPT_RESTRICT b, DOPT_REAL *C, int ldc,
                                      int rows, int cols)
{
    /* loads and stores go through memcpy: no alignment or aliasing assumptions, one vector move */
    DOPT__V c[DOPT__MV][DOPT__NR], av[DOPT__MV];
    DOPT_REAL acc[DOPT__MR * DOPT__NR];
    int p, i, j;
    memset(c, 0, sizeof c);
    for (p = 0; p < kc; ++p) {
        for (i = 0; i < DOPT__MV; ++i) memcpy(&av[i], a + i * DOPT__VLEN, sizeof av[i]);
        for (j = 0; j < DOPT__NR; ++j) {
            DOPT_REAL bj = b[j];
            for (i = 0; i < DOPT__MV; ++i) c[i][j] += av[i] * bj;
        }
        a += DOPT__MR;
        b += DOPT__NR;
    }
    if (rows == DOPT__MR && cols == DOPT__NR) {
        for (j = 0; j < DOPT__NR; ++j)
            for (i = 0; i < DOPT__MV; ++i) {
                DOPT__V t;
                DOPT_REAL *dst = C + (size_t)j * ldc + i * DOPT__VLEN;
                memcpy(&t, dst, sizeof t);
                t += alpha * c[i][j];
                memcpy(dst, &t, sizeof t);
            }
        return;
    }
    for (j = 0; j < DOPT__NR; ++j)
        for (i = 0; i < DOPT__MV; ++i) memcpy(acc + j * DOPT__MR + i * DOPT__VLEN, &c[i][j], sizeof c[i][j]);
    DOPT_FN(dopt__tile_store)(acc, alpha, C, ldc, rows, cols);
}
#undef DOPT__V
#else
/* Portable micro-kernel: the same tile in plain C (compilers vectorize the inner loop). */
static void DOPT_FN(dopt__gemm_micro)(int kc, DOPT_REAL alpha, const DOPT_REAL *DOPT_RESTRICT a,
                                      const DOPT_REAL *DOPT_RESTRICT b, DOPT_REAL *C, int ldc,
                                      int rows, int cols)
{
    DOPT_REAL acc[DOPT__MR * DOPT__NR];
    int p, i, j;
    for (i = 0; i < DOPT__MR * DOPT__NR; ++i) acc[i] = 0;
    for (p = 0; p < kc; ++p) {
        for (j = 0; j < DOPT__NR; ++j) {
            DOPT_REAL bj = b[j];
            for (i = 0; i < DOPT__MR; ++i) acc[i + j * DOPT__MR] += a[i] * bj;
        }
        a += DOPT__MR;
        b += DOPT__NR;
    }
    DOPT_FN(dopt__tile_store)(acc, alpha, C, ldc, rows, cols);
}
#endif

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

DOPT_API void DOPT_FN(dopt_gemm)(dopt_trans transa, dopt_trans transb, int m, int n, int k,
                                 DOPT_REAL alpha, const DOPT_REAL *A, int lda, const DOPT_REAL *B,
                                 int ldb, DOPT_REAL beta, DOPT_REAL *C, int ldc)
{
    int i, j;
    if (m <= 0 || n <= 0) return;
#ifdef DOPT_USE_CBLAS
    if (m * n * (size_t)k >= 4096) {
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
    {
        DOPT_REAL abuf[DOPT__MC * DOPT__KC];
        DOPT_REAL bbuf[DOPT__KC * DOPT__NC];
        int jc, pc, ic, jr, ir;
        for (jc = 0; jc < n; jc += DOPT__NC) {
            int nc = n - jc < DOPT__NC ? n - jc : DOPT__NC;
            for (pc = 0; pc < k; pc += DOPT__KC) {
                int kc = k - pc < DOPT__KC ? k - pc : DOPT__KC;
                DOPT_FN(dopt__pack_b)(transb, B, ldb, pc, jc, kc, nc, bbuf);
                for (ic = 0; ic < m; ic += DOPT__MC) {
                    int mc = m - ic < DOPT__MC ? m - ic : DOPT__MC;
                    DOPT_FN(dopt__pack_a)(transa, A, lda, ic, pc, mc, kc, abuf);
                    for (jr = 0; jr < nc; jr += DOPT__NR) {
                        int cols = nc - jr < DOPT__NR ? nc - jr : DOPT__NR;
                        for (ir = 0; ir < mc; ir += DOPT__MR) {
                            int rows = mc - ir < DOPT__MR ? mc - ir : DOPT__MR;
                            DOPT_FN(dopt__gemm_micro)(kc, alpha, abuf + (size_t)ir * kc,
                                                      bbuf + (size_t)jr * kc,
                                                      C + (size_t)(ic + ir) + (size_t)(jc + jr) * ldc,
                                                      ldc, rows, cols);
                        }
                    }
                }
            }
        }
    }
}

/* ---- syrk ------------------------------------------------------------------------------------ */
/* Column blocks of width DOPT__NC: the diagonal block by straight loops, the rest by gemm. */

DOPT_API void DOPT_FN(dopt_syrk)(dopt_uplo uplo, dopt_trans trans, int n, int k, DOPT_REAL alpha,
                                 const DOPT_REAL *A, int lda, DOPT_REAL beta, DOPT_REAL *C, int ldc)
{
    int j0, i, j, p;
    const int nb = 32;
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
    for (j0 = 0; j0 < n; j0 += nb) {
        int jb = n - j0 < nb ? n - j0 : nb;
        /* diagonal block: only the requested triangle */
        for (j = j0; j < j0 + jb; ++j) {
            int ilo = uplo == DOPT_LOWER ? j : j0, ihi = uplo == DOPT_LOWER ? j0 + jb : j + 1;
            for (i = ilo; i < ihi; ++i) {
                DOPT_REAL s = 0;
                if (trans == DOPT_NOTRANS)
                    for (p = 0; p < k; ++p) s += DOPT__A(i, p) * DOPT__A(j, p);
                else
                    s = DOPT_FN(dopt_dot)(k, A + (size_t)i * lda, 1, A + (size_t)j * lda, 1);
                C[i + (size_t)j * ldc] = alpha * s + (beta == 0 ? 0 : beta * C[i + (size_t)j * ldc]);
            }
        }
        /* off-diagonal block below (LOWER) or above (UPPER) */
        if (uplo == DOPT_LOWER && j0 + jb < n) {
            int r0 = j0 + jb;
            if (trans == DOPT_NOTRANS)
                DOPT_FN(dopt_gemm)(DOPT_NOTRANS, DOPT_TRANS, n - r0, jb, k, alpha, A + r0, lda,
                                   A + j0, lda, beta, C + r0 + (size_t)j0 * ldc, ldc);
            else
                DOPT_FN(dopt_gemm)(DOPT_TRANS, DOPT_NOTRANS, n - r0, jb, k, alpha,
                                   A + (size_t)r0 * lda, lda, A + (size_t)j0 * lda, lda, beta,
                                   C + r0 + (size_t)j0 * ldc, ldc);
        } else if (uplo == DOPT_UPPER && j0 > 0) {
            if (trans == DOPT_NOTRANS)
                DOPT_FN(dopt_gemm)(DOPT_NOTRANS, DOPT_TRANS, j0, jb, k, alpha, A, lda, A + j0, lda,
                                   beta, C + (size_t)j0 * ldc, ldc);
            else
                DOPT_FN(dopt_gemm)(DOPT_TRANS, DOPT_NOTRANS, j0, jb, k, alpha, A, lda,
                                   A + (size_t)j0 * lda, lda, beta, C + (size_t)j0 * ldc, ldc);
        }
    }
}

/* ---- triangular solves ----------------------------------------------------------------------- */

DOPT_API void DOPT_FN(dopt_trsv)(dopt_uplo uplo, dopt_trans trans, dopt_diag diag, int n,
                                 const DOPT_REAL *T, int ldt, DOPT_REAL *x, int incx)
{
    int i, j;
    /* effective lower: (LOWER, N) and (UPPER, T) solve forward; the others backward */
    int forward = (uplo == DOPT_LOWER) == (trans == DOPT_NOTRANS);
#define DOPT__T(i_, j_) T[(size_t)(i_) + (size_t)(j_) * (size_t)ldt]
#define DOPT__X(i_) x[(size_t)(i_) * (size_t)incx]
    if (trans == DOPT_NOTRANS) { /* column-oriented (axpy) */
        if (forward) {
            for (j = 0; j < n; ++j) {
                if (diag == DOPT_NONUNIT) DOPT__X(j) /= DOPT__T(j, j);
                for (i = j + 1; i < n; ++i) DOPT__X(i) -= DOPT__T(i, j) * DOPT__X(j);
            }
        } else {
            for (j = n - 1; j >= 0; --j) {
                if (diag == DOPT_NONUNIT) DOPT__X(j) /= DOPT__T(j, j);
                for (i = 0; i < j; ++i) DOPT__X(i) -= DOPT__T(i, j) * DOPT__X(j);
            }
        }
    } else { /* row of op(T) = column of T (dot) */
        if (forward) { /* UPPER^T */
            for (j = 0; j < n; ++j) {
                DOPT_REAL s = DOPT__X(j);
                for (i = 0; i < j; ++i) s -= DOPT__T(i, j) * DOPT__X(i);
                DOPT__X(j) = diag == DOPT_NONUNIT ? s / DOPT__T(j, j) : s;
            }
        } else { /* LOWER^T */
            for (j = n - 1; j >= 0; --j) {
                DOPT_REAL s = DOPT__X(j);
                for (i = j + 1; i < n; ++i) s -= DOPT__T(i, j) * DOPT__X(i);
                DOPT__X(j) = diag == DOPT_NONUNIT ? s / DOPT__T(j, j) : s;
            }
        }
    }
#undef DOPT__T
#undef DOPT__X
}

/* trsm by blocks of DOPT__TRSM_NB: solve a diagonal block with trsv-style loops, update the rest
 * of B with one gemm.  All eight (side, uplo, trans) cases reduce to "forward" or "backward"
 * sweeps over the blocks of op(T). */
#define DOPT__TRSM_NB 32

/* Solve the LEFT case on columns of B one block row at a time. */
static void DOPT_FN(dopt__trsm_left)(dopt_uplo uplo, dopt_trans trans, dopt_diag diag, int m, int n,
                                     const DOPT_REAL *T, int ldt, DOPT_REAL *B, int ldb)
{
    int forward = (uplo == DOPT_LOWER) == (trans == DOPT_NOTRANS);
    int nblk = (m + DOPT__TRSM_NB - 1) / DOPT__TRSM_NB, bi, j;
    for (bi = 0; bi < nblk; ++bi) {
        int blk = forward ? bi : nblk - 1 - bi;
        int r0 = blk * DOPT__TRSM_NB;
        int rb = m - r0 < DOPT__TRSM_NB ? m - r0 : DOPT__TRSM_NB;
        const DOPT_REAL *Tdiag = T + r0 + (size_t)r0 * ldt;
        for (j = 0; j < n; ++j)
            DOPT_FN(dopt_trsv)(uplo, trans, diag, rb, Tdiag, ldt, B + r0 + (size_t)j * ldb, 1);
        /* update the rows still to be solved: B_rest -= op(T)[rest, blk] * B_blk */
        if (forward && r0 + rb < m) {
            int s0 = r0 + rb;
            if (trans == DOPT_NOTRANS) /* LOWER: T[s0:, r0:r0+rb] */
                DOPT_FN(dopt_gemm)(DOPT_NOTRANS, DOPT_NOTRANS, m - s0, n, rb, -1,
                                   T + s0 + (size_t)r0 * ldt, ldt, B + r0, ldb, 1, B + s0, ldb);
            else /* UPPER^T: op(T)[s0:, blk] = T[r0:r0+rb, s0:]^T */
                DOPT_FN(dopt_gemm)(DOPT_TRANS, DOPT_NOTRANS, m - s0, n, rb, -1,
                                   T + r0 + (size_t)s0 * ldt, ldt, B + r0, ldb, 1, B + s0, ldb);
        } else if (!forward && r0 > 0) {
            if (trans == DOPT_NOTRANS) /* UPPER: T[0:r0, r0:r0+rb] */
                DOPT_FN(dopt_gemm)(DOPT_NOTRANS, DOPT_NOTRANS, r0, n, rb, -1,
                                   T + (size_t)r0 * ldt, ldt, B + r0, ldb, 1, B, ldb);
            else /* LOWER^T: op(T)[0:r0, blk] = T[r0:r0+rb, 0:r0]^T */
                DOPT_FN(dopt_gemm)(DOPT_TRANS, DOPT_NOTRANS, r0, n, rb, -1, T + r0, ldt, B + r0,
                                   ldb, 1, B, ldb);
        }
    }
}

/* RIGHT case: X op(T) = B  <=>  op(T)^T X^T = B^T, solved row by row of B via trsv on rows
 * for the diagonal blocks and gemm updates between column blocks of B. */
static void DOPT_FN(dopt__trsm_right)(dopt_uplo uplo, dopt_trans trans, dopt_diag diag, int m, int n,
                                      const DOPT_REAL *T, int ldt, DOPT_REAL *B, int ldb)
{
    /* op(T)^T is lower-equivalent iff op(T) is upper-equivalent; sweep columns of B forward when
     * op(T) is upper (X_j depends on X_0..j-1). */
    dopt_trans tt = trans == DOPT_NOTRANS ? DOPT_TRANS : DOPT_NOTRANS;
    int forward = (uplo == DOPT_LOWER) == (tt == DOPT_NOTRANS);
    int nblk = (n + DOPT__TRSM_NB - 1) / DOPT__TRSM_NB, bi, i;
    for (bi = 0; bi < nblk; ++bi) {
        int blk = forward ? bi : nblk - 1 - bi;
        int c0 = blk * DOPT__TRSM_NB;
        int cb = n - c0 < DOPT__TRSM_NB ? n - c0 : DOPT__TRSM_NB;
        const DOPT_REAL *Tdiag = T + c0 + (size_t)c0 * ldt;
        for (i = 0; i < m; ++i) /* row i of B block: x^T op(Td) = b^T <=> op(Td)^T x = b */
            DOPT_FN(dopt_trsv)(uplo, tt, diag, cb, Tdiag, ldt, B + i + (size_t)c0 * ldb, ldb);
        if (forward && c0 + cb < n) {
            int s0 = c0 + cb;
            /* B[:, s0:] -= X_blk * op(T)[blk, s0:] */
            if (trans == DOPT_NOTRANS) /* UPPER: T[c0:c0+cb, s0:] */
                DOPT_FN(dopt_gemm)(DOPT_NOTRANS, DOPT_NOTRANS, m, n - s0, cb, -1,
                                   B + (size_t)c0 * ldb, ldb, T + c0 + (size_t)s0 * ldt, ldt, 1,
                                   B + (size_t)s0 * ldb, ldb);
            else /* LOWER^T: op(T)[blk, s0:] = T[s0:, c0:c0+cb]^T */
                DOPT_FN(dopt_gemm)(DOPT_NOTRANS, DOPT_TRANS, m, n - s0, cb, -1,
                                   B + (size_t)c0 * ldb, ldb, T + s0 + (size_t)c0 * ldt, ldt, 1,
                                   B + (size_t)s0 * ldb, ldb);
        } else if (!forward && c0 > 0) {
            /* B[:, 0:c0] -= X_blk * op(T)[blk, 0:c0] */
            if (trans == DOPT_NOTRANS) /* LOWER: T[c0:c0+cb, 0:c0] */
                DOPT_FN(dopt_gemm)(DOPT_NOTRANS, DOPT_NOTRANS, m, c0, cb, -1,
                                   B + (size_t)c0 * ldb, ldb, T + c0, ldt, 1, B, ldb);
            else /* UPPER^T: op(T)[blk, 0:c0] = T[0:c0, c0:c0+cb]^T */
                DOPT_FN(dopt_gemm)(DOPT_NOTRANS, DOPT_TRANS, m, c0, cb, -1,
                                   B + (size_t)c0 * ldb, ldb, T + (size_t)c0 * ldt, ldt, 1, B, ldb);
        }
    }
}

DOPT_API void DOPT_FN(dopt_trsm)(dopt_side side, dopt_uplo uplo, dopt_trans trans, dopt_diag diag,
                                 int m, int n, DOPT_REAL alpha, const DOPT_REAL *T, int ldt,
                                 DOPT_REAL *B, int ldb)
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
    if (side == DOPT_LEFT)
        DOPT_FN(dopt__trsm_left)(uplo, trans, diag, m, n, T, ldt, B, ldb);
    else
        DOPT_FN(dopt__trsm_right)(uplo, trans, diag, m, n, T, ldt, B, ldb);
}

/* ---- Cholesky -------------------------------------------------------------------------------- */

/* Unblocked left-looking Cholesky of the n x n lower triangle; col0 offsets the reported column. */
static dopt_status DOPT_FN(dopt__potrf_unblocked)(int n, DOPT_REAL *A, int lda, int col0, int *fail_col)
{
    int j, i, p;
    for (j = 0; j < n; ++j) {
        DOPT_REAL d = DOPT__A(j, j);
        for (p = 0; p < j; ++p) d -= DOPT__A(j, p) * DOPT__A(j, p);
        if (!(d > 0) || d - d != 0) {
            if (fail_col) *fail_col = col0 + j;
            return (d != d || d - d != 0) ? DOPT_ERR_NON_FINITE : DOPT_ERR_NOT_POSITIVE_DEFINITE;
        }
        d = DOPT_M(sqrt)(d);
        DOPT__A(j, j) = d;
        /* column j below the diagonal: (A[j+1:, j] - A[j+1:, 0:j] A[j, 0:j]^T) / d */
        for (p = 0; p < j; ++p) {
            DOPT_REAL ljp = DOPT__A(j, p);
            for (i = j + 1; i < n; ++i) DOPT__A(i, j) -= DOPT__A(i, p) * ljp;
        }
        for (i = j + 1; i < n; ++i) DOPT__A(i, j) /= d;
    }
    return DOPT_OK;
}

DOPT_API dopt_status DOPT_FN(dopt_potrf)(int n, DOPT_REAL *A, int lda, int *fail_col)
{
    const int nb = 64;
    int j;
    dopt_status st;
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
    for (j = 0; j < n; j += nb) {
        int jb = n - j < nb ? n - j : nb;
        /* A[j:j+jb, j:j+jb] -= A[j:j+jb, 0:j] A[j:j+jb, 0:j]^T was done by earlier updates */
        st = DOPT_FN(dopt__potrf_unblocked)(jb, A + j + (size_t)j * lda, lda, j, fail_col);
        if (st != DOPT_OK) return st;
        if (j + jb < n) {
            int r = j + jb;
            /* panel: A[r:, j:j+jb] = A[r:, j:j+jb] L_jj^{-T} */
            DOPT_FN(dopt_trsm)(DOPT_RIGHT, DOPT_LOWER, DOPT_TRANS, DOPT_NONUNIT, n - r, jb, 1,
                               A + j + (size_t)j * lda, lda, A + r + (size_t)j * lda, lda);
            /* trailing update: A[r:, r:] -= panel panel^T (lower) */
            DOPT_FN(dopt_syrk)(DOPT_LOWER, DOPT_NOTRANS, n - r, jb, -1, A + r + (size_t)j * lda, lda,
                               1, A + r + (size_t)r * lda, lda);
        }
    }
    return DOPT_OK;
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

DOPT_API void DOPT_FN(dopt_gemm_batched)(int batch, dopt_trans transa, dopt_trans transb, int m, int n,
                                         int k, DOPT_REAL alpha, const DOPT_REAL *A, int lda,
                                         ptrdiff_t strideA, const DOPT_REAL *B, int ldb,
                                         ptrdiff_t strideB, DOPT_REAL beta, DOPT_REAL *C, int ldc,
                                         ptrdiff_t strideC)
{
    int b;
    for (b = 0; b < batch; ++b)
        DOPT_FN(dopt_gemm)(transa, transb, m, n, k, alpha, A + b * strideA, lda, B + b * strideB, ldb,
                           beta, C + b * strideC, ldc);
}

DOPT_API void DOPT_FN(dopt_gemv_batched)(int batch, dopt_trans trans, int m, int n, DOPT_REAL alpha,
                                         const DOPT_REAL *A, int lda, ptrdiff_t strideA,
                                         const DOPT_REAL *x, ptrdiff_t stridex, DOPT_REAL beta,
                                         DOPT_REAL *y, ptrdiff_t stridey)
{
    int b;
    for (b = 0; b < batch; ++b)
        DOPT_FN(dopt_gemv)(trans, m, n, alpha, A + b * strideA, lda, x + b * stridex, 1, beta,
                           y + b * stridey, 1);
}

/* Keep the first failure's status; record every element's failing column. */
static dopt_status DOPT_FN(dopt__batch_status)(dopt_status first, dopt_status st, int *fail_col,
                                               int b, int col)
{
    if (fail_col) fail_col[b] = st == DOPT_OK ? -1 : col;
    return first != DOPT_OK ? first : st;
}

DOPT_API dopt_status DOPT_FN(dopt_potrf_batched)(int batch, int n, DOPT_REAL *A, int lda,
                                                 ptrdiff_t strideA, int *fail_col)
{
    dopt_status first = DOPT_OK;
    int b;
    for (b = 0; b < batch; ++b) {
        int col;
        dopt_status st = DOPT_FN(dopt_potrf)(n, A + b * strideA, lda, &col);
        first = DOPT_FN(dopt__batch_status)(first, st, fail_col, b, col);
    }
    return first;
}

DOPT_API void DOPT_FN(dopt_potrs_batched)(int batch, int n, int nrhs, const DOPT_REAL *L, int ldl,
                                          ptrdiff_t strideL, DOPT_REAL *B, int ldb, ptrdiff_t strideB)
{
    int b;
    for (b = 0; b < batch; ++b)
        DOPT_FN(dopt_potrs)(n, nrhs, L + b * strideL, ldl, B + b * strideB, ldb);
}

DOPT_API dopt_status DOPT_FN(dopt_getrf_batched)(int batch, int n, DOPT_REAL *A, int lda,
                                                 ptrdiff_t strideA, int *ipiv, ptrdiff_t strideipiv,
                                                 int *fail_col)
{
    dopt_status first = DOPT_OK;
    int b;
    for (b = 0; b < batch; ++b) {
        int col;
        dopt_status st = DOPT_FN(dopt_getrf)(n, A + b * strideA, lda, ipiv + b * strideipiv, &col);
        first = DOPT_FN(dopt__batch_status)(first, st, fail_col, b, col);
    }
    return first;
}

DOPT_API void DOPT_FN(dopt_getrs_batched)(int batch, dopt_trans trans, int n, int nrhs,
                                          const DOPT_REAL *LU, int ldlu, ptrdiff_t strideLU,
                                          const int *ipiv, ptrdiff_t strideipiv, DOPT_REAL *B,
                                          int ldb, ptrdiff_t strideB)
{
    int b;
    for (b = 0; b < batch; ++b)
        DOPT_FN(dopt_getrs)(trans, n, nrhs, LU + b * strideLU, ldlu, ipiv + b * strideipiv,
                            B + b * strideB, ldb);
}

DOPT_API dopt_status DOPT_FN(dopt_sytrf_batched)(int batch, int n, DOPT_REAL *A, int lda,
                                                 ptrdiff_t strideA, int *ipiv, ptrdiff_t strideipiv,
                                                 int *fail_col)
{
    dopt_status first = DOPT_OK;
    int b;
    for (b = 0; b < batch; ++b) {
        int col;
        dopt_status st = DOPT_FN(dopt_sytrf)(n, A + b * strideA, lda, ipiv + b * strideipiv, &col);
        first = DOPT_FN(dopt__batch_status)(first, st, fail_col, b, col);
    }
    return first;
}

DOPT_API void DOPT_FN(dopt_sytrs_batched)(int batch, int n, int nrhs, const DOPT_REAL *LD, int ldld,
                                          ptrdiff_t strideLD, const int *ipiv, ptrdiff_t strideipiv,
                                          DOPT_REAL *B, int ldb, ptrdiff_t strideB)
{
    int b;
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
